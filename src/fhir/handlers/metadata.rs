//! `GET /fhir/metadata` — the only FHIR endpoint that needs no token.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::fhir::capability::capability_statement;
use crate::fhir::format::Output;
use crate::AppState;

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let cs = capability_statement(&state.settings.base_url, &state.settings.fhir_base());
    out.respond(HttpResponse::Ok(), cs.to_string().as_bytes())
}
