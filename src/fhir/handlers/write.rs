//! `create`, `update` (incl. conditional), `patch` and `delete`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};

use super::{db, if_match, version_headers, write_response};
use crate::app::AppState;
use crate::error::ApiError;
use crate::fhir::format::{parse_body, Output};
use crate::fhir::service::{self, Done};
use crate::smart::access::AccessContext;
use crate::store::write_tx;

/// Runs a write transaction, retrying (a few times) when another request changed the same resource
/// between our read and our write. Requests with `If-Match` are not retried: they asked for a version.
fn retrying<T>(
    c: &mut crate::store::AnyConnection,
    retry: bool,
    mut f: impl FnMut(&mut crate::store::AnyConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let attempts = if retry { 5 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        match write_tx(c, &mut f) {
            Err(ApiError::Conflict(m)) => last = Some(ApiError::Conflict(m)),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| ApiError::Conflict("concurrent update".into())))
}

fn done_response(req: &HttpRequest, state: &AppState, out: Output, done: &Done) -> Result<HttpResponse, ApiError> {
    let mut b: HttpResponseBuilder = if done.status == 201 { HttpResponse::Created() } else { HttpResponse::Ok() };
    version_headers(&mut b, done.version_id, &done.last_updated);
    let location = format!("{}/{}/{}/_history/{}", state.settings.fhir_base(), done.res_type, done.id, done.version_id);
    b.insert_header((header::LOCATION, location.clone()));
    if done.status == 201 {
        b.insert_header((header::CONTENT_LOCATION, location));
    }
    write_response(req, out, b, &done.content)
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let out = Output::negotiate(&req)?;
    let res_type = path.into_inner();
    crate::fhir::resource::check_type(&res_type)?;
    if let Some((k, _)) =
        url::form_urlencoded::parse(req.query_string().as_bytes()).find(|(k, _)| k != "_format" && k != "_pretty")
    {
        return Err(ApiError::BadRequest(format!(
            "create takes no search parameters (got {k}); for a conditional create send the criteria in the If-None-Exist header"
        )));
    }
    let value = parse_body(&req, body).await?;
    let if_none_exist = req.headers().get("if-none-exist").and_then(|v| v.to_str().ok()).map(str::to_string);
    let done =
        db(&state, move |c| write_tx(c, |c| service::create(c, &access, &res_type, value, if_none_exist.as_deref())))
            .await?;
    done_response(&req, &state, out, &done)
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let out = Output::negotiate(&req)?;
    let (res_type, id) = path.into_inner();
    crate::fhir::resource::check_type(&res_type)?;
    let value = parse_body(&req, body).await?;
    let expected = if_match(&req)?;
    let done = db(&state, move |c| {
        retrying(c, expected.is_none(), |c| service::update(c, &access, &res_type, &id, value.clone(), expected))
    })
    .await?;
    done_response(&req, &state, out, &done)
}

pub async fn conditional_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let out = Output::negotiate(&req)?;
    let res_type = path.into_inner();
    crate::fhir::resource::check_type(&res_type)?;
    let value = parse_body(&req, body).await?;
    let query = req.query_string().to_string();
    let done = db(&state, move |c| {
        retrying(c, true, |c| service::conditional_update(c, &access, &res_type, &query, value.clone()))
    })
    .await?;
    done_response(&req, &state, out, &done)
}

pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let out = Output::negotiate(&req)?;
    let (res_type, id) = path.into_inner();
    let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.starts_with("application/json-patch+json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "PATCH needs Content-Type application/json-patch+json (got {ctype:?})"
        )));
    }
    let ops = web::block(move || crate::fhir::patch::parse(&body)).await??;
    let expected = if_match(&req)?;
    let limits = crate::fhir::patch::PatchLimits::of(&state.settings);
    let done = db(&state, move |c| {
        retrying(c, expected.is_none(), |c| service::patch(c, &access, &res_type, &id, &ops, &limits, expected))
    })
    .await?;
    done_response(&req, &state, out, &done)
}

pub async fn delete(
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (res_type, id) = path.into_inner();
    db(&state, move |c| retrying(c, true, |c| service::delete(c, &access, &res_type, &id))).await?;
    Ok(HttpResponse::NoContent().finish())
}
