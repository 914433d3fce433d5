//! `read` and `vread`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::{db, version_headers};
use crate::app::AppState;
use crate::error::ApiError;
use crate::fhir::format::Output;
use crate::fhir::service;
use crate::smart::access::AccessContext;

pub async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let (res_type, id) = path.into_inner();
    let row = db(&state, move |c| service::read(c, &access, &res_type, &id)).await?;
    let etag = format!("W/\"{}\"", row.version_id);
    if req.headers().get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        let mut b = HttpResponse::NotModified();
        version_headers(&mut b, row.version_id, &row.last_updated);
        return Ok(b.finish());
    }
    let mut b = HttpResponse::Ok();
    version_headers(&mut b, row.version_id, &row.last_updated);
    out.respond(b, &row.content)
}

pub async fn vread(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let (res_type, id, vid) = path.into_inner();
    let row = db(&state, move |c| service::vread(c, &access, &res_type, &id, &vid)).await?;
    let mut b = HttpResponse::Ok();
    version_headers(&mut b, row.version_id, &row.last_updated);
    out.respond(b, &row.content)
}
