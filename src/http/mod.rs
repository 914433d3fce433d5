//! HTTP middleware around every route: request ids and spans (`request_id`), Prometheus metrics
//! (`metrics`) and per-client rate limits (`ratelimit`).

pub mod metrics;
pub mod ratelimit;
pub mod request_id;
