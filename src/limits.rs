//! Per-client rate limiting (429 + `Retry-After`, as an OperationOutcome) and Prometheus metrics.
//!
//! Clients are told apart by their verified access token's `client_id`, or by IP address when a
//! request carries no valid token (the OAuth endpoints, sign-in pages, bad tokens). Each node counts on
//! its own: a limit is a guard against floods, not an accounting system, so a per-node count is enough.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{HttpResponse, HttpResponseBuilder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::smart::keys::KeySet;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Client(String),
    Address(String),
}

#[derive(Clone)]
pub struct ClientKeyExtractor {
    keys: Arc<KeySet>,
    fhir_base: String,
}

impl KeyExtractor for ClientKeyExtractor {
    type Key = ClientKey;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<ClientKey, Self::KeyExtractionError> {
        let bearer = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        if let Some(tok) = bearer {
            if let Ok(claims) = crate::smart::token::verify(&self.keys, &self.fhir_base, tok) {
                return Ok(ClientKey::Client(claims.client_id));
            }
        }
        let addr = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into());
        Ok(ClientKey::Address(addr))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now()).as_secs().max(1);
        metrics::counter!("bedside_rate_limited_total").increment(1);
        let outcome =
            ApiError::TooManyRequests(format!("too many requests from this client; retry in {wait} s")).outcome();
        response
            .insert_header(("Retry-After", wait.to_string()))
            .insert_header(("Content-Type", "application/fhir+json; charset=utf-8"))
            .body(outcome.to_string())
    }
}

pub type RateLimit = GovernorConfig<ClientKeyExtractor, NoOpMiddleware<QuantaInstant>>;

/// The limiter shared by every worker of this node; `None` when the limit is off.
pub fn rate_limit(keys: Arc<KeySet>, fhir_base: String, per_second: u64, burst: u32) -> Option<RateLimit> {
    if per_second == 0 {
        return None;
    }
    // governor takes a replenish period: one request every 1/per_second seconds.
    let nanos = (1_000_000_000 / per_second).max(1);
    GovernorConfigBuilder::default()
        .key_extractor(ClientKeyExtractor { keys, fhir_base })
        .nanoseconds_per_request(nanos)
        .burst_size(burst.max(1))
        .finish()
}

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
