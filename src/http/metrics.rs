//! Prometheus metrics (rate limiting is in [`crate::http::ratelimit`]).

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::HttpResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder (metrics are process-wide by nature).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Records one finished request: count and latency by method, route pattern and status.
pub fn record<B: MessageBody>(started: Instant, res: &ServiceResponse<B>) {
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_string());
    let labels = [
        ("method", res.request().method().to_string()),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("bedside_http_requests_total", &labels).increment(1);
    metrics::histogram!("bedside_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
}

/// `GET /metrics` in the Prometheus text format.
pub async fn metrics_endpoint() -> HttpResponse {
    match prometheus() {
        Some(h) => HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(h.render()),
        None => HttpResponse::ServiceUnavailable().content_type("text/plain").body("metrics recorder unavailable"),
    }
}
