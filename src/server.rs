//! The HTTP server's assembly: the route table of every endpoint, CORS, the middleware stack and the
//! health endpoints. Used by `bedside serve` and by the integration tests, so both run the same app.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::http::{metrics, ratelimit, request_id};

/// This node's rate limiter, to be built once and shared by all workers (None when off).
pub fn rate_limit(state: &AppState) -> Option<Arc<ratelimit::RateLimiter>> {
    metrics::prometheus();
    ratelimit::RateLimiter::new(
        state.settings.rate_limit,
        state.settings.rate_burst,
        state.settings.trusted_proxies.clone(),
    )
    .map(Arc::new)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let ok = web::block(move || store.conn().map(|_| ())).await.map(|r| r.is_ok()).unwrap_or(false);
    if ok {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
    }
}

async fn not_found() -> Result<HttpResponse, crate::error::ApiError> {
    Err(crate::error::ApiError::NotFound("no such endpoint; the FHIR API is under /fhir".into()))
}

/// CORS for browser SMART apps: any origin (tokens, not cookies, authorize FHIR calls), with the
/// headers FHIR clients send and read.
pub fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::ACCEPT,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::IF_MATCH,
            actix_web::http::header::IF_NONE_MATCH,
            actix_web::http::header::HeaderName::from_static("if-none-exist"),
            actix_web::http::header::HeaderName::from_static("prefer"),
            actix_web::http::header::HeaderName::from_static(request_id::HEADER),
        ])
        .expose_headers([
            actix_web::http::header::ETAG,
            actix_web::http::header::LOCATION,
            actix_web::http::header::LAST_MODIFIED,
            actix_web::http::header::CONTENT_LOCATION,
            actix_web::http::header::HeaderName::from_static(request_id::HEADER),
        ])
        .max_age(3600)
}

/// Registers every route. Used by `serve` and by the integration tests, so both run the same app.
/// `limit` is this node's rate limiter (see [`rate_limit`]); health and metrics endpoints
/// are outside it.
pub fn configure(cfg: &mut web::ServiceConfig, limit: Option<Arc<ratelimit::RateLimiter>>) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics::metrics_endpoint));
    match limit {
        Some(l) => cfg.service(
            routes(web::scope("").wrap_fn(move |req, srv| ratelimit::guard(&l, req, srv))).wrap_fn(request_id::wrap),
        ),
        None => cfg.service(routes(web::scope("")).wrap_fn(request_id::wrap)),
    };
}

fn routes<T>(scope: actix_web::Scope<T>) -> actix_web::Scope<T>
where
    T: actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Error = actix_web::Error,
        InitError = (),
    >,
{
    scope
        .configure(crate::smart::endpoints::routes)
        .configure(crate::web::routes)
        .configure(crate::fhir::handlers::routes)
        .configure(crate::web::sample_app::routes)
        .default_service(web::to(not_found))
}
