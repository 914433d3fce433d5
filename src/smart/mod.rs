//! SMART-on-FHIR: signing keys, access tokens, scopes, and the `AccessContext` every FHIR request
//! goes through.

pub mod access;
pub mod keys;
pub mod scopes;
pub mod token;

use actix_web::{web, HttpResponse};

use crate::AppState;

/// `GET /.well-known/jwks.json` — the public keys that verify this server's tokens.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.keys.jwks().to_string())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks));
}
