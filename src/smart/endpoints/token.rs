//! `POST /auth/token`: authorization_code (single use, 60 s, redirect_uri + PKCE checked),
//! refresh_token (rotated; a reused one revokes the grant), client_credentials (private_key_jwt,
//! `system/` scopes). Answers and errors are never cached.
//!
//! Every grant type gives at most what the client is registered for (`oauth_clients.scope`): scopes
//! outside it are left out of the token (RFC 6749 §3.3; the response's `scope` says what was
//! granted), and `invalid_scope` is the answer when nothing is left.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::client_auth::{self, Authenticated, Method};
use super::form::{db, no_store_json, Form};
use crate::app::AppState;
use crate::smart::clients::JWKS;
use crate::smart::grant::{self, client_allows};
use crate::smart::oauth_error::OAuthError;
use crate::smart::scopes::{parse_resource_scope, Context};
use crate::smart::{secrets, token};
use crate::store::auth::{self as rows, GrantRow, RefreshRow};
use crate::store::write_tx;
use crate::store::{AnyConnection, StoreError};
use serde_json::{json, Value};

pub async fn token_endpoint(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::from_body(&req, payload).await?;
    let grant_type = form.required("grant_type")?.to_string();
    if !matches!(grant_type.as_str(), "authorization_code" | "refresh_token" | "client_credentials") {
        return Err(OAuthError::unsupported_grant_type(format!("grant_type {grant_type:?} is not supported")));
    }
    // A public app may refresh with the refresh token alone (SMART App Launch, "refresh"): the token
    // names its client. Only the client's identity is implied, never its authentication.
    let implied = if grant_type == "refresh_token" {
        match form.one("refresh_token")? {
            Some(t) => {
                let hash = secrets::hash_token(t);
                db::<_, OAuthError, _>(&state, move |c| Ok(rows::find_refresh(c, &hash)?.map(|r| r.client_id))).await?
            }
            None => None,
        }
    } else {
        None
    };
    let client = client_auth::authenticate_or(&req, &state, &form, implied).await?;
    let body = match grant_type.as_str() {
        "authorization_code" => authorization_code(&state, client, form).await?,
        "refresh_token" => refresh(&state, client, form).await?,
        _ => client_credentials(&state, client, form).await?,
    };
    Ok(no_store_json(StatusCode::OK, &body))
}

async fn authorization_code(
    state: &web::Data<AppState>,
    client: Authenticated,
    form: Form,
) -> Result<serde_json::Value, OAuthError> {
    let code = form.required("code")?.to_string();
    let redirect_uri = form.required("redirect_uri")?.to_string();
    let verifier = form.one("code_verifier")?.map(str::to_string);
    let st = state.clone();
    db(state, move |c| {
        let bad = || OAuthError::invalid_grant("the authorization code is invalid, expired or already used");
        let hash = secrets::hash_token(&code);
        let row = rows::find_code(c, &hash)?.ok_or_else(bad)?;
        if row.client_id != client.client.client_id {
            return Err(bad());
        }
        if row.used {
            // A replayed code: whoever holds it may be an attacker. Revoke everything it produced.
            rows::revoke_grant(c, &row.grant_id)?;
            tracing::warn!(client_id = %row.client_id, grant = %row.grant_id, "authorization code reused; grant revoked");
            return Err(bad());
        }
        if row.expires_at <= crate::clock::now_secs() {
            return Err(bad());
        }
        if row.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri differs from the one in the authorization request"));
        }
        match (&row.code_challenge, &verifier) {
            (Some(ch), Some(v)) => {
                let well_formed = (43..=128).contains(&v.len())
                    && v.chars().all(|x| x.is_ascii_alphanumeric() || matches!(x, '-' | '.' | '_' | '~'));
                if !well_formed || !secrets::same(&secrets::s256(v), ch) {
                    return Err(OAuthError::invalid_grant("the PKCE code_verifier does not match the code_challenge"));
                }
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required (PKCE)")),
            (None, Some(_)) => return Err(OAuthError::invalid_grant("no code_challenge was sent with the authorization request")),
            (None, None) => {}
        }
        let issued = write_tx(c, |c| {
            if !rows::use_code(c, &hash)? {
                return Ok(None);
            }
            let grant = rows::find_grant(c, &row.grant_id)?.filter(|g| !g.revoked).ok_or_else(bad)?;
            let scope = within_registration(&grant.scope, &client.client)?;
            let refresh = grant::refresh_lifetime(&scope).is_some();
            token_response(c, &st, &grant, &scope, refresh, true).map(Some)
        })?;
        match issued {
            Some(v) => Ok(v),
            None => {
                // Lost a race with another redemption of the same code: that is a replay too.
                rows::revoke_grant(c, &row.grant_id)?;
                Err(bad())
            }
        }
    })
    .await
}

async fn refresh(
    state: &web::Data<AppState>,
    client: Authenticated,
    form: Form,
) -> Result<serde_json::Value, OAuthError> {
    let presented = form.required("refresh_token")?.to_string();
    let asked = form.one("scope")?.map(str::to_string);
    let st = state.clone();
    db(state, move |c| {
        let bad = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let hash = secrets::hash_token(&presented);
        let row = rows::find_refresh(c, &hash)?.ok_or_else(bad)?;
        if row.client_id != client.client.client_id {
            return Err(bad());
        }
        if row.used {
            rows::revoke_grant(c, &row.grant_id)?;
            tracing::warn!(client_id = %row.client_id, grant = %row.grant_id, "refresh token reused; grant revoked");
            return Err(bad());
        }
        let now = crate::clock::now_secs();
        if row.expires_at <= now {
            return Err(bad());
        }
        let scope = match &asked {
            Some(s) if !grant::is_subset(s, &row.scope) => {
                return Err(OAuthError::invalid_scope("the requested scope exceeds what was granted"))
            }
            Some(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
            None => row.scope.clone(),
        };
        let issued = write_tx(c, |c| {
            let grant =
                rows::find_grant(c, &row.grant_id)?.filter(|g| !g.revoked && g.expires_at > now).ok_or_else(bad)?;
            if !rows::use_refresh(c, &hash)? {
                return Ok(None);
            }
            // The client's registration may have been narrowed since the grant was made.
            let scope = within_registration(&scope, &client.client)?;
            let refresh = grant::refresh_lifetime(&within_registration(&grant.scope, &client.client)?).is_some();
            token_response(c, &st, &grant, &scope, refresh, false).map(Some)
        })?;
        match issued {
            Some(v) => Ok(v),
            None => {
                rows::revoke_grant(c, &row.grant_id)?;
                Err(bad())
            }
        }
    })
    .await
}

/// `scope` narrowed to what the client is registered for; nothing left is `invalid_scope`.
fn within_registration(scope: &str, client: &crate::store::auth::ClientRow) -> Result<String, OAuthError> {
    let narrowed = grant::narrow_to_client(scope, client);
    if narrowed.is_empty() {
        return Err(OAuthError::invalid_scope("none of the granted scopes is allowed for this client any more"));
    }
    Ok(narrowed)
}

async fn client_credentials(
    state: &web::Data<AppState>,
    client: Authenticated,
    form: Form,
) -> Result<serde_json::Value, OAuthError> {
    if client.method != Method::PrivateKeyJwt || client.client.client_type != JWKS {
        return Err(OAuthError::unauthorized_client("client_credentials needs private_key_jwt client authentication"));
    }
    let requested = form.required("scope")?.to_string();
    crate::smart::scopes::Scopes::parse(&requested).map_err(OAuthError::invalid_scope)?;
    let mut granted: Vec<&str> = Vec::new();
    for s in requested.split_whitespace() {
        match parse_resource_scope(s) {
            Ok(Some(r)) if r.context == Context::System => {
                if client_allows(&client.client, s) && !granted.contains(&s) {
                    granted.push(s);
                }
            }
            _ => {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {s:?}: backend services may only ask for system/ scopes"
                )))
            }
        }
    }
    if granted.is_empty() {
        return Err(OAuthError::invalid_scope("none of the requested scopes is allowed for this client"));
    }
    let scope = granted.join(" ");
    let st = state.clone();
    let lifetime = state.settings.token_lifetime as i64;
    db(state, move |c| {
        let now = crate::clock::now_secs();
        let grant = GrantRow {
            grant_id: uuid::Uuid::new_v4().simple().to_string(),
            client_id: client.client.client_id.clone(),
            username: None,
            fhir_user: None,
            scope: scope.clone(),
            patient: None,
            encounter: None,
            context: "{}".into(),
            nonce: None,
            revoked: false,
            created_at: now,
            expires_at: now + lifetime,
        };
        write_tx(c, |c| {
            rows::insert_grant(c, &grant)?;
            token_response(c, &st, &grant, &scope, false, false)
        })
    })
    .await
}

/// Issues an access token for `grant` with `scope` (⊆ the grant's scope) and builds the token
/// response. With `refresh`, a new refresh token is stored (hashed) for the grant's full scope.
pub fn token_response(
    conn: &mut AnyConnection,
    state: &AppState,
    grant: &GrantRow,
    scope: &str,
    refresh: bool,
    id_token: bool,
) -> Result<Value, OAuthError> {
    let settings = &state.settings;
    // An access token never outlives the grant it comes from.
    let left = u64::try_from(grant.expires_at - crate::clock::now_secs()).unwrap_or(0);
    let lifetime = settings.token_lifetime.min(left.max(1));
    let keys = state.keys.current();
    let (access, _) = token::issue(
        &keys,
        &settings.fhir_base(),
        &token::TokenRequest {
            subject: grant.username.clone().unwrap_or_else(|| grant.client_id.clone()),
            client_id: grant.client_id.clone(),
            scope: scope.to_string(),
            patient: grant.patient.clone(),
            encounter: grant.encounter.clone(),
            fhir_user: grant.fhir_user.clone(),
            grant: Some(grant.grant_id.clone()),
            lifetime_secs: lifetime,
        },
    )
    .map_err(OAuthError::server_error)?;
    let mut v = json!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": scope});
    if refresh {
        if let Some(life) = grant::refresh_lifetime(&grant.scope) {
            let rt = secrets::random_token();
            let expires_at = (crate::clock::now_secs() + life).min(grant.expires_at);
            rows::insert_refresh(
                conn,
                &RefreshRow {
                    token_hash: secrets::hash_token(&rt),
                    grant_id: grant.grant_id.clone(),
                    client_id: grant.client_id.clone(),
                    scope: grant.scope.clone(),
                    used: false,
                    expires_at,
                },
            )?;
            v["refresh_token"] = json!(rt);
        }
    }
    if id_token && grant::has(scope, "openid") {
        if let (Some(user), Some(fhir_user)) = (&grant.username, &grant.fhir_user) {
            let fhir_user_url = grant::has(scope, "fhirUser").then(|| format!("{}/{fhir_user}", settings.fhir_base()));
            let name = if grant::has(scope, "profile") {
                crate::fhir::record::display_name_of(conn, fhir_user)?
            } else {
                None
            };
            let t = token::issue_id_token(
                &keys,
                &settings.fhir_base(),
                &grant.client_id,
                user,
                fhir_user_url,
                grant.nonce.clone(),
                name,
            )
            .map_err(OAuthError::server_error)?;
            v["id_token"] = json!(t);
        }
    }
    if let Some(p) = &grant.patient {
        v["patient"] = json!(p);
    }
    if let Some(e) = &grant.encounter {
        v["encounter"] = json!(e);
    }
    if grant.username.is_some() {
        let ctx: grant::GrantContext = serde_json::from_str(&grant.context).map_err(|e| {
            OAuthError::from(StoreError::Corrupt(format!("launch context of grant {}: {e}", grant.grant_id)))
        })?;
        v["need_patient_banner"] = json!(ctx.need_patient_banner);
        v["smart_style_url"] =
            json!(ctx.smart_style_url.unwrap_or_else(|| format!("{}/smart/style.json", settings.base_url)));
        if let Some(i) = ctx.intent {
            v["intent"] = json!(i);
        }
    }
    Ok(v)
}
