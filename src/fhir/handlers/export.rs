//! Bulk Data `$export` over HTTP: kick-off (`GET|POST [base]/$export`, `Patient/$export`,
//! `Group/[id]/$export`, with `Prefer: respond-async`), the status URL (`GET` to poll, `DELETE` to
//! cancel) and the file downloads. The work is in `fhir::export`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use super::{db, read_body};
use crate::app::AppState;
use crate::error::{information_outcome, ApiError};
use crate::fhir::export::{self, Level, Status};
use crate::smart::access::AccessContext;

/// Seconds a client is asked to wait between polls.
const RETRY_AFTER: &str = "2";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/$export", web::get().to(system_get))
        .route("/$export", web::post().to(system_post))
        .route("/Patient/$export", web::get().to(patient_get))
        .route("/Patient/$export", web::post().to(patient_post))
        .route("/Group/{id}/$export", web::get().to(group_get))
        .route("/Group/{id}/$export", web::post().to(group_post))
        .route("/$export-status/{job}", web::get().to(status))
        .route("/$export-status/{job}", web::delete().to(cancel))
        .route("/$export-file/{job}/{name}", web::get().to(download));
}

fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

async fn system_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
) -> Result<HttpResponse, ApiError> {
    kick_off(req, state, access, Level::System, None).await
}

async fn system_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    kick_off(req, state, access, Level::System, Some(body)).await
}

async fn patient_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
) -> Result<HttpResponse, ApiError> {
    kick_off(req, state, access, Level::Patient, None).await
}

async fn patient_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    kick_off(req, state, access, Level::Patient, Some(body)).await
}

async fn group_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    kick_off(req, state, access, Level::Group(path.into_inner()), None).await
}

async fn group_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    kick_off(req, state, access, Level::Group(path.into_inner()), Some(body)).await
}

fn respond_async(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

async fn kick_off(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    level: Level,
    body: Option<web::Payload>,
) -> Result<HttpResponse, ApiError> {
    if !respond_async(&req) {
        return Err(ApiError::BadRequest("$export runs asynchronously: send the header Prefer: respond-async".into()));
    }
    let mut pairs = query_pairs(&req);
    if let Some(payload) = body {
        let bytes = read_body(&state, payload).await?;
        if !bytes.is_empty() {
            let v = crate::fhir::format::parse_json(&bytes)?;
            pairs.extend(export::parameters_from_body(&v)?);
        }
    }
    let params = export::check_params(&access, &state.settings, level, &pairs)?;
    let request =
        format!("{}{}", state.settings.base_url, req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(""));
    let retention = i64::try_from(state.settings.export.retention.as_millis()).unwrap_or(i64::MAX);
    let job = db(&state, move |c| export::kick_off(c, &access, &params, &request, retention)).await?;
    let oo = information_outcome("the export has started; poll the Content-Location URL for its status");
    Ok(HttpResponse::Accepted()
        .insert_header((header::CONTENT_LOCATION, format!("{}/$export-status/{job}", state.settings.fhir_base())))
        .content_type("application/fhir+json")
        .body(oo.to_string()))
}

async fn status(
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job = path.into_inner();
    let base = state.settings.fhir_base();
    let j = job.clone();
    let st = db(&state, move |c| {
        let url = |name: &str| format!("{base}/$export-file/{j}/{name}");
        export::status(c, &access, &j, &url)
    })
    .await?;
    Ok(match st {
        Status::InProgress(progress) => HttpResponse::Accepted()
            .insert_header(("X-Progress", progress))
            .insert_header((header::RETRY_AFTER, RETRY_AFTER))
            .finish(),
        Status::Done(manifest) => HttpResponse::Ok().content_type("application/json").body(manifest.to_string()),
        Status::Failed(why) => HttpResponse::InternalServerError().content_type("application/fhir+json").body(
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing",
                "diagnostics": format!("the export job {job} stopped: {why}")}]})
            .to_string(),
        ),
    })
}

async fn cancel(
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job = path.into_inner();
    let j = job.clone();
    let names = db(&state, move |c| export::cancel(c, &access, &j)).await?;
    state.exports.delete(&job, &names).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let oo = information_outcome("the export job was cancelled and its files removed");
    Ok(HttpResponse::Accepted().content_type("application/fhir+json").body(oo.to_string()))
}

async fn download(
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (job, name) = path.into_inner();
    let (j, n) = (job.clone(), name.clone());
    db(&state, move |c| export::file(c, &access, &j, &n)).await?;
    let (size, stream) = state
        .exports
        .get(&job, &name)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("export job {job} has no file {name}")))?;
    let stream = stream.map(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
    Ok(HttpResponse::Ok().content_type("application/fhir+ndjson").no_chunking(size).streaming(stream))
}
