//! `GET /fhir/metadata` — the only FHIR endpoint that needs no token.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::fhir::capability::capability_statement;
use crate::fhir::format::Output;
use crate::AppState;

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let mut cs = capability_statement(&state.settings.base_url, &state.settings.fhir_base());
    // SMART: the OAuth endpoints, the same URIs as /fhir/.well-known/smart-configuration.
    if let Some(security) = cs
        .get_mut("rest")
        .and_then(|r| r.get_mut(0))
        .and_then(|r| r.get_mut("security"))
        .and_then(|s| s.as_object_mut())
    {
        security.insert(
            "extension".into(),
            serde_json::json!([crate::smart::discovery::oauth_uris_extension(&state.settings)]),
        );
    }
    let mut b = HttpResponse::Ok();
    b.insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=300"));
    out.respond(b, cs.to_string().as_bytes())
}
