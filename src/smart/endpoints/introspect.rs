//! Token introspection (RFC 7662) and revocation (RFC 7009).
//!
//! Introspection is for resource servers and confidential clients: the caller authenticates as a
//! confidential client, or presents a bearer token with a `system/` scope. Anything that is not a
//! live token of this server is `{"active": false}`. Revoking an access or refresh token revokes its
//! whole grant, which ends every token of the grant on every node at once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::client_auth;
use super::form::{db, no_store_json, Form};
use crate::app::AppState;
use crate::smart::oauth_error::OAuthError;
use crate::smart::scopes::Context;
use crate::smart::{secrets, token};
use crate::store::auth as rows;

/// May this caller introspect? A confidential client, or a bearer token with a system/ scope.
async fn introspection_caller(req: &HttpRequest, state: &web::Data<AppState>, form: &Form) -> Result<(), OAuthError> {
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(..7))
        .map(|p| p.eq_ignore_ascii_case("bearer "))
        .unwrap_or(false);
    if bearer {
        let ctx = super::bearer::authenticate(req).map_err(|e| OAuthError::invalid_token(e.to_string()))?;
        super::bearer::check_grant(state, &ctx).await.map_err(|e| OAuthError::invalid_token(e.to_string()))?;
        if !ctx.scopes.resources.iter().any(|r| r.context == Context::System) {
            return Err(OAuthError::insufficient_scope("introspection needs a token with a system/ scope"));
        }
        return Ok(());
    }
    let client = client_auth::authenticate(req, state, form).await?;
    if !client.is_confidential() {
        return Err(OAuthError::invalid_client("introspection is for confidential clients and resource servers"));
    }
    Ok(())
}

/// What introspection says about `tok`.
fn describe(c: &mut crate::store::AnyConnection, state: &AppState, tok: &str) -> Result<Value, OAuthError> {
    let now = crate::clock::now_secs();
    if let Ok((claims, _)) = token::verify_on_node(&state.keys, &state.settings.fhir_base(), tok) {
        let live = match &claims.grant {
            Some(g) => rows::grant_is_active(c, g, now)?,
            None => true,
        };
        if !live {
            return Ok(json!({"active": false}));
        }
        let mut v = json!({
            "active": true, "token_type": "Bearer", "client_id": claims.client_id, "scope": claims.scope,
            "exp": claims.exp, "iat": claims.iat, "iss": claims.iss, "sub": claims.sub, "aud": claims.aud,
        });
        if let Some(p) = claims.patient {
            v["patient"] = json!(p);
        }
        if let Some(e) = claims.encounter {
            v["encounter"] = json!(e);
        }
        if let Some(u) = claims.fhir_user {
            v["fhirUser"] = json!(format!("{}/{u}", state.settings.fhir_base()));
        }
        return Ok(v);
    }
    if let Some(r) = rows::find_refresh(c, &secrets::hash_token(tok))? {
        if !r.used && r.expires_at > now && rows::grant_is_active(c, &r.grant_id, now)? {
            let g = rows::find_grant(c, &r.grant_id)?;
            let mut v = json!({"active": true, "token_type": "refresh_token", "client_id": r.client_id, "scope": r.scope,
                "exp": r.expires_at, "iss": state.settings.fhir_base()});
            if let Some(g) = g {
                if let Some(u) = g.username {
                    v["sub"] = json!(u);
                }
                if let Some(p) = g.patient {
                    v["patient"] = json!(p);
                }
                if let Some(u) = g.fhir_user {
                    v["fhirUser"] = json!(format!("{}/{u}", state.settings.fhir_base()));
                }
            }
            return Ok(v);
        }
    }
    Ok(json!({"active": false}))
}

/// `POST /auth/introspect`
pub async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::from_body(&req, payload).await?;
    introspection_caller(&req, &state, &form).await?;
    let tok = form.required("token")?.to_string();
    let st = state.clone();
    let v = db(&state, move |c| describe(c, &st, &tok)).await?;
    Ok(no_store_json(StatusCode::OK, &v))
}

/// `POST /auth/revoke` — 200 for unknown tokens too (RFC 7009 §2.2); a token of another client is
/// refused.
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::from_body(&req, payload).await?;
    let client = client_auth::authenticate(&req, &state, &form).await?;
    let tok = form.required("token")?.to_string();
    let client_id = client.client.client_id.clone();
    let st = state.clone();
    db(&state, move |c| {
        let found = match token::verify_on_node(&st.keys, &st.settings.fhir_base(), &tok) {
            Ok((claims, _)) => claims.grant.map(|g| (g, claims.client_id)),
            Err(_) => rows::find_refresh(c, &secrets::hash_token(&tok))?.map(|r| (r.grant_id, r.client_id)),
        };
        if let Some((grant, owner)) = found {
            if owner != client_id {
                return Err(OAuthError::unauthorized_client("the token was not issued to this client"));
            }
            rows::revoke_grant(c, &grant)?;
            tracing::info!(client_id = %owner, grant = %grant, "grant revoked");
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).insert_header(("Pragma", "no-cache")).finish())
}
