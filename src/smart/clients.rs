//! Registered apps: registration rules shared by the CLI (`bedside client add`) and Dynamic Client
//! Registration (RFC 7591, `POST /auth/register`, off unless `--enable-dcr`).

use serde_json::{json, Value};

use super::scopes::{parse_resource_scope, Context, Scopes};
use super::secrets;
use crate::store::auth::{self as rows, ClientRow};
use crate::store::{AnyConnection, StoreError, StoreResult};

pub use crate::config::DEFAULT_APP_SCOPES;

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
    /// Scopes the client may be granted (space separated). Empty: [`DEFAULT_APP_SCOPES`] for apps
    /// with redirect URIs; backend services (keys, no redirect URI) must name their system/ scopes.
    pub scope: String,
    /// How long users' approvals of the app last.
    pub term: super::grant::AccessTerm,
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

/// Checks a scope set a client is registered for; returns it normalised (single spaces, no repeats).
/// Resource scopes must parse and name search parameters of their type; other scopes must be ones
/// this server knows.
pub fn check_scope_set(scope: &str) -> Result<String, String> {
    let mut out: Vec<&str> = Vec::new();
    for s in scope.split_whitespace() {
        match parse_resource_scope(s)? {
            Some(_) => super::grant::check_filter(s)?,
            None if super::grant::OTHER_SCOPES.contains(&s) => {}
            None => return Err(format!("scope {s:?} is not supported by this server")),
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out.join(" "))
}

/// Checks the operator's `--dcr-scopes`: known scopes, never system/ (anyone can register).
pub fn check_dcr_scopes(scope: &str) -> Result<String, String> {
    let set = check_scope_set(scope).map_err(|e| format!("--dcr-scopes: {e}"))?;
    if set.split_whitespace().any(|s| matches!(parse_resource_scope(s), Ok(Some(r)) if r.context == Context::System)) {
        return Err("--dcr-scopes must not contain system/ scopes: anyone can register a client; register \
                    backend services with `bedside client add --scope`"
            .into());
    }
    Ok(set)
}

/// Is this a backend service (private_key_jwt keys and no redirect URI: client_credentials only)?
fn is_backend(new: &NewClient) -> bool {
    new.redirect_uris.is_empty() && matches!(new.auth, ClientAuth::Jwks(_) | ClientAuth::JwksUri(_))
}

/// Registration through RFC 7591 by anyone: the client may ask only for scopes within `allowed`
/// (the operator's `--dcr-scopes`); asking for nothing registers `allowed`.
pub fn register_dynamic(
    conn: &mut AnyConnection,
    mut new: NewClient,
    allowed: &str,
) -> Result<Registered, RegistrationError> {
    if new.scope.trim().is_empty() {
        new.scope = allowed.to_string();
    }
    for s in new.scope.split_whitespace() {
        if !super::grant::scope_within(s, allowed) {
            return Err(refused(format!(
                "scope {s:?} is not available to dynamically registered clients (allowed: {allowed})"
            ))
            .into());
        }
    }
    register(conn, new)
}

/// Validates and stores a new client (the operator's path; see [`register_dynamic`] for RFC 7591).
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
    let scope = match (new.scope.trim().is_empty(), is_backend(&new)) {
        (true, true) => {
            return Err(refused(
                "a backend service (private_key_jwt without redirect URIs) must be registered for its system/ \
                 scopes explicitly, e.g. scope \"system/*.rs\"",
            )
            .into())
        }
        (true, false) => DEFAULT_APP_SCOPES.to_string(),
        (false, _) => check_scope_set(&new.scope).map_err(|e| refused(format!("invalid scope: {e}")))?,
    };
    if is_backend(&new) {
        let scopes = Scopes::parse(&scope).map_err(refused)?;
        if !scopes.other.is_empty() || scopes.resources.iter().any(|r| r.context != Context::System) {
            return Err(refused("a backend service (no redirect URIs) can only be granted system/ scopes").into());
        }
    }
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
            // The form only; the CLI and RFC 7591 registration also resolve and check the host with the
            // server's policy (`jwks_uri::check_for_registration`), and every fetch checks again.
            super::jwks_uri::check_url(uri, super::jwks_uri::Policy { dev_insecure: true })
                .map_err(|e| refused(format!("jwks_uri: {e}")))?;
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
        scope,
        created_at: crate::clock::now_secs(),
        access_term: new.term.as_str().to_string(),
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

/// The registered redirect URIs of a client (a stored value that is not a JSON list of strings is a
/// corrupt row, never read as "no redirect URIs").
pub fn redirect_uris(row: &ClientRow) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&row.redirect_uris)
        .map_err(|e| StoreError::Corrupt(format!("redirect URIs of client {:?}: {e}", row.client_id)))
}

/// The JSON the CLI prints and DCR answers (the secret appears only here, once).
pub fn describe(reg: &Registered) -> Result<Value, StoreError> {
    let r = &reg.row;
    let uris = redirect_uris(r)?;
    let method = match (r.client_type.as_str(), reg.client_secret.is_some()) {
        (PUBLIC, _) => "none",
        (SECRET, _) => "client_secret_basic",
        _ => "private_key_jwt",
    };
    let grants: Vec<&str> = match r.client_type.as_str() {
        JWKS if uris.is_empty() => vec!["client_credentials"],
        JWKS => vec!["authorization_code", "refresh_token", "client_credentials"],
        _ => vec!["authorization_code", "refresh_token"],
    };
    let mut v = json!({
        "client_id": r.client_id,
        "client_id_issued_at": r.created_at,
        "client_name": r.name,
        "redirect_uris": uris,
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
    v["bedside_access_term"] = json!(r.access_term);
    if let Some(u) = &r.jwks_uri {
        v["jwks_uri"] = json!(u);
    }
    if let Some(j) = r.jwks.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()) {
        v["jwks"] = j;
    }
    Ok(v)
}

/// Reads RFC 7591 client metadata.
pub fn from_metadata(m: &Value) -> Result<NewClient, Refused> {
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
        term: super::grant::AccessTerm::Ongoing,
    })
}

/// The client id the access log names for a patient's own download ("Download my record").
pub const DOWNLOAD_CLIENT: &str = "bedside-record-download";

/// The client id of operator tokens minted by `bedside token`.
pub const OPERATOR_CLIENT: &str = "bedside-cli";

/// The name people see for an app: its registered name, or a description of operator access.
pub fn app_names(
    conn: &mut AnyConnection,
    client_ids: impl IntoIterator<Item = String>,
) -> StoreResult<std::collections::HashMap<String, String>> {
    let mut names = std::collections::HashMap::new();
    for id in client_ids {
        if names.contains_key(&id) {
            continue;
        }
        let name = if id == OPERATOR_CLIENT {
            "Bedside operator tools".to_string()
        } else if id == DOWNLOAD_CLIENT {
            "You, downloading your record".to_string()
        } else {
            crate::store::auth::find_client(conn, &id)?.map(|c| c.name).unwrap_or_else(|| id.clone())
        };
        names.insert(id, name);
    }
    Ok(names)
}
