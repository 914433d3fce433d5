//! Registered apps: registration rules shared by the CLI (`bedside client add`) and Dynamic Client
//! Registration (RFC 7591, `POST /auth/register`, off unless `--enable-dcr`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::form::{db, no_store_json};
use super::oauth_error::OAuthError;
use super::scopes::Scopes;
use super::secrets;
use crate::store::auth::{self as rows, ClientRow};
use crate::store::{AnyConnection, StoreError};
use crate::AppState;

pub const PUBLIC: &str = "public";
pub const SECRET: &str = "confidential-secret";
pub const JWKS: &str = "confidential-jwks";

/// How a new client authenticates at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// No secret (browser and native apps): PKCE is required.
    Public,
    /// client_secret_basic / client_secret_post: the server makes the secret.
    Secret,
    /// private_key_jwt with these public keys (a JWKS document).
    Jwks(String),
    /// private_key_jwt with keys fetched from this URL.
    JwksUri(String),
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub auth: ClientAuth,
    /// Scopes the client may be granted (empty: any).
    pub scope: String,
}

/// A stored client and, once, its secret.
#[derive(Debug, Clone)]
pub struct Registered {
    pub row: ClientRow,
    pub client_secret: Option<String>,
}

/// Why a registration was refused (the RFC 7591 error code and a description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub redirect_uri: bool,
    pub message: String,
}

fn refused(message: impl Into<String>) -> Refused {
    Refused { redirect_uri: false, message: message.into() }
}

/// Redirect URIs are absolute, exact (no fragment, no wildcards), and `http` only on this machine
/// (localhost, 127.0.0.1, [::1]); native apps may use a private-use scheme (`com.example.app:/cb`).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|_| format!("redirect URI {uri:?} is not an absolute URL"))?;
    if u.fragment().is_some() {
        return Err(format!("redirect URI {uri:?} must not have a fragment"));
    }
    if uri.contains('*') {
        return Err(format!("redirect URI {uri:?} must not contain wildcards"));
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" => match u.host_str() {
            Some("localhost") | Some("127.0.0.1") | Some("[::1]") => Ok(()),
            _ => Err(format!("redirect URI {uri:?}: plain http is only allowed for localhost; use https")),
        },
        "javascript" | "data" | "file" | "vbscript" | "ftp" | "ws" | "wss" => {
            Err(format!("redirect URI {uri:?} has a forbidden scheme"))
        }
        s if s.contains('.') => Ok(()),
        _ => Err(format!("redirect URI {uri:?}: use https (or a private-use scheme like com.example.app:)")),
    }
}

/// A JWKS must hold at least one RSA or EC public key, and no private key material.
pub fn check_jwks(text: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|_| "the JWKS is not JSON".to_string())?;
    let keys = v.get("keys").and_then(Value::as_array).ok_or("the JWKS has no \"keys\" array")?;
    if keys.is_empty() {
        return Err("the JWKS has no keys".into());
    }
    for k in keys {
        if k.get("d").is_some() {
            return Err("the JWKS contains a private key; register only public keys".into());
        }
        let _: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(k.clone()).map_err(|e| format!("a key in the JWKS is not a valid JWK: {e}"))?;
    }
    Ok(())
}

/// Validates and stores a new client.
pub fn register(conn: &mut AnyConnection, new: NewClient) -> Result<Registered, RegistrationError> {
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(refused("the client name must have 1 to 200 characters").into());
    }
    for u in &new.redirect_uris {
        check_redirect_uri(u).map_err(|m| Refused { redirect_uri: true, message: m })?;
    }
    if new.redirect_uris.is_empty() && matches!(new.auth, ClientAuth::Public | ClientAuth::Secret) {
        return Err(Refused { redirect_uri: true, message: "at least one redirect URI is needed".into() }.into());
    }
    Scopes::parse(&new.scope).map_err(|e| refused(format!("invalid scope: {e}")))?;
    let client_secret = matches!(new.auth, ClientAuth::Secret).then(secrets::random_token);
    let (client_type, secret_hash, jwks, jwks_uri) = match &new.auth {
        ClientAuth::Public => (PUBLIC, None, None, None),
        ClientAuth::Secret => {
            let hash = secrets::hash_password(client_secret.as_deref().unwrap_or_default()).map_err(refused)?;
            (SECRET, Some(hash), None, None)
        }
        ClientAuth::Jwks(text) => {
            check_jwks(text).map_err(refused)?;
            (JWKS, None, Some(text.clone()), None)
        }
        ClientAuth::JwksUri(uri) => {
            let u = url::Url::parse(uri).map_err(|_| refused("jwks_uri is not an absolute URL"))?;
            if !matches!(u.scheme(), "https" | "http") {
                return Err(refused("jwks_uri must be an http(s) URL").into());
            }
            (JWKS, None, None, Some(uri.clone()))
        }
    };
    let row = ClientRow {
        client_id: uuid::Uuid::new_v4().simple().to_string(),
        name: name.to_string(),
        client_type: client_type.to_string(),
        secret_hash,
        jwks,
        jwks_uri,
        redirect_uris: json!(new.redirect_uris).to_string(),
        scope: new.scope.split_whitespace().collect::<Vec<_>>().join(" "),
        created_at: super::token::now_secs() as i64,
    };
    rows::insert_client(conn, &row)?;
    Ok(Registered { row, client_secret })
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("{}", .0.message)]
    Refused(Refused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refused> for RegistrationError {
    fn from(r: Refused) -> Self {
        RegistrationError::Refused(r)
    }
}

/// The registered redirect URIs of a client.
pub fn redirect_uris(row: &ClientRow) -> Vec<String> {
    serde_json::from_str(&row.redirect_uris).unwrap_or_default()
}

/// The JSON the CLI prints and DCR answers (the secret appears only here, once).
pub fn describe(reg: &Registered) -> Value {
    let r = &reg.row;
    let method = match (r.client_type.as_str(), reg.client_secret.is_some()) {
        (PUBLIC, _) => "none",
        (SECRET, _) => "client_secret_basic",
        _ => "private_key_jwt",
    };
    let grants: Vec<&str> = match r.client_type.as_str() {
        JWKS if redirect_uris(r).is_empty() => vec!["client_credentials"],
        JWKS => vec!["authorization_code", "refresh_token", "client_credentials"],
        _ => vec!["authorization_code", "refresh_token"],
    };
    let mut v = json!({
        "client_id": r.client_id,
        "client_id_issued_at": r.created_at,
        "client_name": r.name,
        "redirect_uris": redirect_uris(r),
        "token_endpoint_auth_method": method,
        "grant_types": grants,
        "response_types": ["code"],
    });
    if let Some(s) = &reg.client_secret {
        v["client_secret"] = json!(s);
        v["client_secret_expires_at"] = json!(0);
    }
    if !r.scope.is_empty() {
        v["scope"] = json!(r.scope);
    }
    if let Some(u) = &r.jwks_uri {
        v["jwks_uri"] = json!(u);
    }
    if let Some(j) = r.jwks.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()) {
        v["jwks"] = j;
    }
    v
}

/// Reads RFC 7591 client metadata.
fn from_metadata(m: &Value) -> Result<NewClient, Refused> {
    let obj = m.as_object().ok_or_else(|| refused("the body must be a JSON object of client metadata"))?;
    let strings = |key: &str| -> Result<Vec<String>, Refused> {
        match obj.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| refused(format!("{key} must be an array of strings")))
                })
                .collect(),
            Some(_) => Err(refused(format!("{key} must be an array of strings"))),
        }
    };
    let text = |key: &str| -> Result<Option<String>, Refused> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(refused(format!("{key} must be a string"))),
        }
    };
    let redirect_uris = strings("redirect_uris")?;
    for g in strings("grant_types")? {
        if !matches!(g.as_str(), "authorization_code" | "refresh_token" | "client_credentials") {
            return Err(refused(format!("grant type {g:?} is not supported")));
        }
    }
    for r in strings("response_types")? {
        if r != "code" {
            return Err(refused(format!("response type {r:?} is not supported")));
        }
    }
    let method = text("token_endpoint_auth_method")?.unwrap_or_else(|| "client_secret_basic".into());
    let auth = match method.as_str() {
        "none" => ClientAuth::Public,
        "client_secret_basic" | "client_secret_post" => ClientAuth::Secret,
        "private_key_jwt" => match (obj.get("jwks"), text("jwks_uri")?) {
            (Some(j), None) if j.is_object() => ClientAuth::Jwks(j.to_string()),
            (None, Some(u)) => ClientAuth::JwksUri(u),
            _ => return Err(refused("private_key_jwt needs exactly one of jwks (an object) or jwks_uri")),
        },
        other => return Err(refused(format!("token_endpoint_auth_method {other:?} is not supported"))),
    };
    Ok(NewClient {
        name: text("client_name")?.unwrap_or_else(|| "Unnamed app".into()),
        redirect_uris,
        auth,
        scope: text("scope")?.unwrap_or_default(),
    })
}

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
    let reg = db(&state, move |c| match register(c, new) {
        Ok(r) => Ok(r),
        Err(RegistrationError::Refused(r)) if r.redirect_uri => Err(OAuthError::invalid_redirect_uri(r.message)),
        Err(RegistrationError::Refused(r)) => Err(OAuthError::invalid_client_metadata(r.message)),
        Err(RegistrationError::Store(e)) => Err(OAuthError::server_error(e)),
    })
    .await?;
    tracing::info!(client_id = %reg.row.client_id, "client registered dynamically");
    Ok(no_store_json(StatusCode::CREATED, &describe(&reg)))
}
