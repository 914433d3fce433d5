//! SMART-on-FHIR: the authorization server (discovery, authorize → sign-in → consent, tokens,
//! introspection, revocation, client registration, EHR launch) and the `AccessContext` every FHIR
//! request goes through.
//!
//! | module          | concept                                                          |
//! |-----------------|------------------------------------------------------------------|
//! | `discovery`     | smart-configuration, openid-configuration, CapabilityStatement URIs |
//! | `authorize`     | the authorization request (`/auth/authorize`)                    |
//! | `flow`          | sign-in, patient picker, consent (`/auth/login|patient|consent`) |
//! | `token_endpoint`| `/auth/token`: authorization_code, refresh_token, client_credentials |
//! | `grant`         | which scopes are granted; the token response of a grant          |
//! | `client_auth`, `assertion` | client authentication (secrets, private_key_jwt)      |
//! | `jwks_uri`      | fetching a client's keys without server-side request forgery    |
//! | `clients`, `users`, `launch` | registration of apps, logins, EHR launch contexts   |
//! | `introspect`    | RFC 7662 introspection, RFC 7009 revocation                       |
//! | `manage`        | the user's "connected apps" page (revoke access)                 |
//! | `activity`      | what each app did (the access log) on those pages                |
//! | `access`, `scopes`, `token`, `keys` | enforcement on the FHIR side                 |

pub mod access;
pub mod activity;
pub mod assertion;
pub mod authorize;
pub mod cli;
pub mod client_auth;
pub mod clients;
pub mod discovery;
pub mod flow;
pub mod form;
pub mod grant;
pub mod introspect;
pub mod jwks_uri;
pub mod keys;
pub mod launch;
pub mod manage;
pub mod oauth_error;
pub mod rsa_key;
pub mod scopes;
pub mod secrets;
pub mod token;
pub mod token_cache;
pub mod token_endpoint;
pub mod users;

use actix_web::{web, HttpResponse};

use crate::AppState;

/// `GET /.well-known/jwks.json` — the public keys that verify this server's tokens.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(state.keys.jwks().to_string())
}

/// The authorization server's routes. The `/fhir/.well-known/…` documents are registered here,
/// before the FHIR scope's `{type}/{id}` routes could take them.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/fhir/.well-known/smart-configuration", web::get().to(discovery::smart_configuration_endpoint))
        .route("/fhir/.well-known/openid-configuration", web::get().to(discovery::openid_configuration_endpoint))
        .route("/auth/authorize", web::get().to(authorize::authorize_get))
        .route("/auth/authorize", web::post().to(authorize::authorize_post))
        .route("/auth/login", web::post().to(flow::login))
        .route("/auth/patient", web::post().to(flow::pick_patient))
        .route("/auth/consent", web::post().to(flow::consent))
        .route("/auth/token", web::post().to(token_endpoint::token_endpoint))
        .route("/auth/introspect", web::post().to(introspect::introspect))
        .route("/auth/revoke", web::post().to(introspect::revoke))
        .route("/auth/register", web::post().to(clients::register_endpoint))
        .route("/auth/manage", web::get().to(manage::manage))
        .route("/auth/manage/login", web::post().to(manage::manage_login))
        .route("/auth/manage/revoke", web::post().to(manage::manage_revoke))
        .route("/auth/manage/record", web::get().to(manage::manage_record))
        .route("/auth/manage/activity", web::get().to(activity::activity))
        .route("/smart/launch", web::post().to(launch::create_endpoint))
        .route("/smart/style.json", web::get().to(launch::style));
}
