//! The authorization server's HTTP endpoints (JSON, no pages): discovery, JWKS, token, introspection,
//! revocation, dynamic registration, EHR launch contexts, and the access-token extractor the FHIR
//! handlers use. The sign-in, consent and connected-apps pages are in `web`.

pub mod bearer;
pub mod client_auth;
pub mod form;
pub mod introspect;
pub mod launch;
pub mod register;
pub mod token;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use crate::app::AppState;
use crate::smart::discovery;

/// `GET /.well-known/jwks.json` — the public keys that verify this server's tokens.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.keys.current().jwks().to_string())
}

/// The authorization server's routes. The `/fhir/.well-known/…` documents are registered here,
/// before the FHIR scope's `{type}/{id}` routes could take them.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/fhir/.well-known/smart-configuration", web::get().to(smart_configuration))
        .route("/fhir/.well-known/openid-configuration", web::get().to(openid_configuration))
        .route("/auth/token", web::post().to(token::token_endpoint))
        .route("/auth/introspect", web::post().to(introspect::introspect))
        .route("/auth/revoke", web::post().to(introspect::revoke))
        .route("/auth/register", web::post().to(register::register_endpoint))
        .route("/smart/launch", web::post().to(launch::create_endpoint))
        .route("/smart/style.json", web::get().to(launch::style));
}

fn json_response(v: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(v.to_string())
}

/// `GET /fhir/.well-known/smart-configuration`.
pub async fn smart_configuration(state: web::Data<AppState>) -> HttpResponse {
    json_response(&discovery::smart_configuration(&state.settings))
}

/// `GET /fhir/.well-known/openid-configuration`.
pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    json_response(&discovery::openid_configuration(&state.settings))
}
