//! Bedside: a FHIR R4 patient-access API server with a built-in SMART-on-FHIR authorization server.
//!
//! The module tree is the architecture: `fhir` (REST, bundles, search), `smart` (tokens, scopes, the
//! access context), `store` (diesel over SQLite or PostgreSQL), plus `config`, `error`, the demo data
//! set and the importer.

pub mod audit;
pub mod bench;
pub mod config;
pub mod demo;
pub mod error;
pub mod fhir;
pub mod import;
pub mod limits;
/// The HTML pages of sign-in, consent and connected apps (sources in `src/web/`; named `pages` so it
/// does not shadow `actix_web::web`).
#[path = "web/mod.rs"]
pub mod pages;
pub mod ratelimit;
pub mod reindex;
pub mod request_span;
pub mod smart;
pub mod store;

use actix_cors::Cors;
use actix_web::{web, HttpResponse};

use config::Settings;
use smart::keys::KeySet;
use store::{Store, StoreError};

/// Everything a request may need, shared by all workers (and, through the database, by all nodes).
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    pub keys: KeySet,
    /// Access tokens already verified (signature and claims), so each is checked once, not per request.
    pub tokens: smart::token_cache::TokenCache,
    /// HMAC key for paging cursors (stored in the database so every node accepts every cursor).
    pub cursor_secret: Vec<u8>,
    /// This node's queue to the access log's background writer.
    audit: audit::AuditLog,
    /// Automatic access-log retention (`--audit-retention`), stopped when the state is dropped.
    _retention: Option<audit::retention::Retention>,
    /// Where Bulk Data export files are kept (shared by every node through object storage).
    pub exports: fhir::export::files::FileStore,
    /// This node's export worker (when `settings.export.worker`), stopped when the state is dropped.
    _export_worker: Option<fhir::export::worker::Worker>,
}

impl AppState {
    /// The access log (records are queued here and written in the background).
    pub fn audit(&self) -> &audit::AuditLog {
        &self.audit
    }

    /// This node's rate limiter, to be built once and shared by all workers (None when off).
    pub fn rate_limit(&self) -> Option<std::sync::Arc<ratelimit::RateLimiter>> {
        limits::prometheus();
        ratelimit::RateLimiter::new(
            self.settings.rate_limit,
            self.settings.rate_burst,
            self.settings.trusted_proxies.clone(),
        )
        .map(std::sync::Arc::new)
    }
}

impl AppState {
    /// Loads (or on first start creates) the keys and secrets kept in the database.
    pub fn new(store: Store, settings: Settings) -> Result<AppState, StoreError> {
        let mut conn = store.conn()?;
        let keys = KeySet::load_or_create(&mut conn)?;
        let cursor_secret = match store::meta::get(&mut conn, "cursor-secret")? {
            Some(s) => s.into_bytes(),
            None => {
                let s = uuid::Uuid::new_v4().to_string() + &uuid::Uuid::new_v4().to_string();
                store::write_tx(&mut conn, |c| -> Result<(), StoreError> {
                    if store::meta::get(c, "cursor-secret")?.is_none() {
                        store::meta::set(c, "cursor-secret", &s)?;
                    }
                    Ok(())
                })?;
                store::meta::get(&mut conn, "cursor-secret")?
                    .ok_or_else(|| StoreError::Corrupt("cursor secret missing".into()))?
                    .into_bytes()
            }
        };
        drop(conn);
        let audit = audit::AuditLog::start(store.clone(), settings.audit_queue);
        let _retention = settings.audit_retention.map(|keep| audit::retention::Retention::start(store.clone(), keep));
        let exports = fhir::export::files::FileStore::open(&settings.export.store).map_err(StoreError::Pool)?;
        let _export_worker = settings
            .export
            .worker
            .then(|| fhir::export::worker::Worker::start(store.clone(), settings.clone(), exports.clone()));
        Ok(AppState {
            store,
            settings,
            keys,
            tokens: smart::token_cache::TokenCache::default(),
            cursor_secret,
            audit,
            _retention,
            exports,
            _export_worker,
        })
    }
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

async fn not_found() -> Result<HttpResponse, error::ApiError> {
    Err(error::ApiError::NotFound("no such endpoint; the FHIR API is under /fhir".into()))
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
            actix_web::http::header::HeaderName::from_static(request_span::HEADER),
        ])
        .expose_headers([
            actix_web::http::header::ETAG,
            actix_web::http::header::LOCATION,
            actix_web::http::header::LAST_MODIFIED,
            actix_web::http::header::CONTENT_LOCATION,
            actix_web::http::header::HeaderName::from_static(request_span::HEADER),
        ])
        .max_age(3600)
}

/// Registers every route. Used by `serve` and by the integration tests, so both run the same app.
/// `limit` is this node's rate limiter (see [`AppState::rate_limit`]); health and metrics endpoints
/// are outside it.
pub fn configure(cfg: &mut web::ServiceConfig, limit: Option<std::sync::Arc<ratelimit::RateLimiter>>) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(limits::metrics_endpoint));
    match limit {
        Some(l) => cfg.service(
            routes(web::scope("").wrap_fn(move |req, srv| ratelimit::guard(&l, req, srv))).wrap_fn(request_span::wrap),
        ),
        None => cfg.service(routes(web::scope("")).wrap_fn(request_span::wrap)),
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
    scope.configure(smart::routes).configure(fhir::routes).default_service(web::to(not_found))
}
