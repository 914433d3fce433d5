//! HTTP handlers: thin wrappers that negotiate formats, run one unit of work on a pooled connection
//! (in `web::block`), and shape the response. The FHIR logic lives in `fhir::service`.

pub mod audit_event;
pub mod bundle;
pub mod docref;
pub mod everything;
pub mod export;
pub mod history;
pub mod metadata;
pub mod read;
pub mod search;
pub mod write;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};

use super::format::Output;
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::AnyConnection;

/// [`crate::app::db`] for FHIR handlers (errors are `ApiError`, so closures need no annotation).
pub async fn db<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
{
    crate::app::db(state, f).await
}

/// `ETag`, `Last-Modified` for a version.
pub fn version_headers(b: &mut HttpResponseBuilder, version_id: i64, last_updated: &str) {
    b.insert_header((header::ETAG, format!("W/\"{version_id}\"")));
    if let Some(d) = crate::clock::http_date(last_updated) {
        b.insert_header((header::LAST_MODIFIED, d));
    }
}

/// What `Prefer: return=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Minimal,
    Representation,
    OperationOutcome,
}

pub fn prefer_return(req: &HttpRequest) -> Return {
    for v in req.headers().get_all("prefer") {
        if let Ok(s) = v.to_str() {
            for part in s.split(',') {
                match part.trim() {
                    "return=minimal" => return Return::Minimal,
                    "return=OperationOutcome" => return Return::OperationOutcome,
                    "return=representation" => return Return::Representation,
                    _ => {}
                }
            }
        }
    }
    Return::Representation
}

/// Parses `If-Match: W/"3"` (or `"3"`, or `3`) into a version number.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else { return Ok(None) };
    let s = v.to_str().map_err(|_| ApiError::BadRequest("If-Match is not readable".into()))?;
    let t = s.trim().trim_start_matches("W/").trim_matches('"');
    t.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::BadRequest(format!("If-Match {s:?} is not a version ETag like W/\"3\"")))
}

/// The body of a write response per `Prefer`, in the negotiated format.
pub fn write_response(
    req: &HttpRequest,
    out: Output,
    mut b: HttpResponseBuilder,
    content: &[u8],
) -> Result<HttpResponse, ApiError> {
    match prefer_return(req) {
        Return::Minimal => Ok(b.finish()),
        Return::OperationOutcome => {
            let oo = crate::error::information_outcome("the interaction succeeded");
            out.respond(b, oo.to_string().as_bytes())
        }
        Return::Representation => out.respond(b, content),
    }
}

/// Reads the request body up to the configured limit (413 beyond it).
pub async fn read_body(state: &web::Data<AppState>, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    read_body_up_to(state.settings.max_body_bytes, payload).await
}

/// Reads a form body (POST `_search`) up to `--max-form-bytes` (413 beyond it).
pub async fn read_form(state: &web::Data<AppState>, payload: web::Payload) -> Result<web::Bytes, ApiError> {
    read_body_up_to(state.settings.limits.max_form_bytes, payload).await
}

/// Reads a body of at most `max` bytes, refusing it (413) as soon as it grows past the limit.
pub async fn read_body_up_to(max: usize, mut payload: web::Payload) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the request body could not be read: {e}")))?;
        if buf.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge(format!("the request body is larger than the limit of {max} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

async fn unsupported_method() -> Result<HttpResponse, crate::error::ApiError> {
    Err(crate::error::ApiError::MethodNotAllowed("this HTTP method is not supported on this URL".into()))
}

/// The route table under `/fhir`. Literal segments (`metadata`, `_history`, `_search`) come before the
/// `{type}/{id}` catch-alls, since actix matches the first route that fits.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            .wrap_fn(crate::audit::capture::record)
            // Patient data must not stay in browser or proxy caches (metadata sets its own header).
            .wrap(
                actix_web::middleware::DefaultHeaders::new().add((actix_web::http::header::CACHE_CONTROL, "no-store")),
            )
            .route("/metadata", web::get().to(metadata::metadata))
            .route("", web::post().to(bundle::process))
            .route("/", web::post().to(bundle::process))
            .route("", web::get().to(search::search_system))
            .route("/", web::get().to(search::search_system))
            .route("/_history", web::get().to(history::system))
            .configure(export::routes)
            .route("/Patient/{id}/$everything", web::get().to(everything::patient_everything))
            .route("/DocumentReference/$docref", web::get().to(docref::docref_get))
            .route("/DocumentReference/$docref", web::post().to(docref::docref_post))
            .configure(audit_event::routes)
            .route("/{type}/_search", web::post().to(search::search_post))
            .route("/{type}/_history", web::get().to(history::of_type))
            .route("/{type}/{id}/_history", web::get().to(history::instance))
            .route("/{type}/{id}/_history/{vid}", web::get().to(read::vread))
            .service(
                web::resource("/{type}")
                    .route(web::get().to(search::search_get))
                    .route(web::post().to(write::create))
                    .route(web::put().to(write::conditional_update))
                    .default_service(web::to(unsupported_method)),
            )
            .service(
                web::resource("/{type}/{id}")
                    .route(web::get().to(read::read))
                    .route(web::put().to(write::update))
                    .route(web::patch().to(write::patch))
                    .route(web::delete().to(write::delete))
                    .default_service(web::to(unsupported_method)),
            ),
    );
}
