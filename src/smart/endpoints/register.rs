//! `POST /auth/register`: RFC 7591 dynamic client registration (when `--enable-dcr`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::form::{db, no_store_json};
use crate::app::AppState;
use crate::smart::clients::{describe, from_metadata, register_dynamic, ClientAuth, NewClient, RegistrationError};
use crate::smart::jwks_uri;
use crate::smart::oauth_error::OAuthError;

/// `POST /auth/register` (RFC 7591).
pub async fn register_endpoint(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, OAuthError> {
    if !state.settings.enable_dcr {
        return Err(OAuthError::not_found("dynamic client registration is not enabled on this server"));
    }
    if body.len() > 64 * 1024 {
        return Err(OAuthError::invalid_client_metadata("the client metadata is too large"));
    }
    let metadata: Value =
        serde_json::from_slice(&body).map_err(|_| OAuthError::invalid_client_metadata("the body is not JSON"))?;
    let new = from_metadata(&metadata).map_err(|r| OAuthError::invalid_client_metadata(r.message))?;
    if let ClientAuth::JwksUri(uri) = &new.auth {
        let policy = jwks_uri::Policy::of(&state.settings);
        if let Err(e) = jwks_uri::check_for_registration_async(uri.clone(), policy).await {
            tracing::warn!(jwks_uri = %uri, error = %e, "dynamic registration with a refused jwks_uri");
            return Err(OAuthError::invalid_client_metadata(jwks_uri::REFUSED_AT_REGISTRATION));
        }
    }
    let allowed = state.settings.dcr_scopes.clone();
    let new = NewClient { term: state.settings.dcr_access_term, ..new };
    let reg = db(&state, move |c| match register_dynamic(c, new, &allowed) {
        Ok(r) => Ok(r),
        Err(RegistrationError::Refused(r)) if r.redirect_uri => Err(OAuthError::invalid_redirect_uri(r.message)),
        Err(RegistrationError::Refused(r)) => Err(OAuthError::invalid_client_metadata(r.message)),
        Err(RegistrationError::Store(e)) => Err(OAuthError::server_error(e)),
    })
    .await?;
    tracing::info!(client_id = %reg.row.client_id, "client registered dynamically");
    Ok(no_store_json(StatusCode::CREATED, &describe(&reg)?))
}
