//! One tracing span per request, under a request id: the client's `X-Request-Id` when it is short and
//! plain, otherwise a new UUID; it is returned in the response's `X-Request-Id` and logged with the
//! method, the route pattern (`/fhir/{type}/{id}`, never the path's values or the query string, which
//! can hold patient data and launch values), the status and the latency. Tokens and bodies are never
//! logged. The same place records the request's Prometheus metrics.

use std::future::Future;
use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpMessage;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// The request's id, in the request's extensions for anything that wants to name it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's id is kept when it has 1–64 characters of letters, digits and `-_.:` (so it cannot
/// forge log lines); otherwise the request gets a new one.
fn accept(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The middleware (`wrap_fn`).
pub fn wrap<S, B>(req: ServiceRequest, srv: &S) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let id = accept(req.headers().get(HEADER));
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        target: "bedside::http",
        "request",
        request_id = %id,
        method = %req.method(),
        route = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let fut = srv.call(req).instrument(span.clone());
    async move {
        let mut res = fut.await?;
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_string());
        span.record("route", route.as_str());
        span.record("status", res.status().as_u16());
        span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
        span.in_scope(|| tracing::info!(target: "bedside::http", "request finished"));
        crate::http::metrics::record(started, &res);
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(HeaderName::from_static(HEADER), v);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_others_replaced() {
        assert_eq!(accept(Some(&HeaderValue::from_static("abc-123_x.y:z"))), "abc-123_x.y:z");
        let forged = accept(Some(&HeaderValue::from_static("a b\" level=error")));
        assert!(uuid::Uuid::parse_str(&forged).is_ok(), "{forged}");
        let long = "x".repeat(65);
        assert_ne!(accept(Some(&HeaderValue::from_str(&long).unwrap())), long);
        assert!(uuid::Uuid::parse_str(&accept(None)).is_ok());
    }
}
