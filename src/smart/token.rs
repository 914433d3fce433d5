//! Access tokens: ES256 JWTs with a `kid`, verifiable by any node that shares the database.

use jsonwebtoken::{decode, decode_header, encode, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{KeySet, NodeKeys, LEEWAY_SECS};

/// The `token_use` of access tokens. Tokens minted for other jobs (id_token, launch, cursors) carry
/// another value and are refused as access tokens.
pub const ACCESS: &str = "access";

/// Lifetime of id_tokens, in seconds.
pub const ID_TOKEN_LIFETIME: u64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub token_use: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
    #[serde(default, rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    /// The grant this token was issued under; checked on every request, so revoking the grant ends
    /// the token at once on every node. Operator tokens (`bedside token`) have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// The UTC day of a Unix time ("2026-11-29"), as the operator commands and pages show it.
pub fn day_of(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs).map(|t| t.date().to_string()).unwrap_or_default()
}

/// What to put in a new access token.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub subject: String,
    pub client_id: String,
    pub scope: String,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub fhir_user: Option<String>,
    pub grant: Option<String>,
    pub lifetime_secs: u64,
}

/// Signs an access token for the FHIR base `fhir_base` (its issuer and audience).
pub fn issue(
    keys: &KeySet,
    fhir_base: &str,
    req: &TokenRequest,
) -> Result<(String, AccessClaims), jsonwebtoken::errors::Error> {
    let now = crate::clock::now_secs().unsigned_abs();
    let claims = AccessClaims {
        iss: fhir_base.to_string(),
        sub: req.subject.clone(),
        aud: fhir_base.to_string(),
        exp: now + req.lifetime_secs,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        token_use: ACCESS.to_string(),
        client_id: req.client_id.clone(),
        scope: req.scope.clone(),
        patient: req.patient.clone(),
        encounter: req.encounter.clone(),
        fhir_user: req.fhir_user.clone(),
        grant: req.grant.clone(),
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(keys.es256.kid.clone());
    let token = encode(&header, &claims, &keys.es256.encoding)?;
    Ok((token, claims))
}

/// Verifies signature (by `kid`, ES256 only — `none` and HMAC are refused), expiry, issuer, audience
/// and purpose. The error text is safe to show to the client.
pub fn verify(keys: &KeySet, fhir_base: &str, token: &str) -> Result<AccessClaims, String> {
    verify_with_kid(keys, fhir_base, token).map(|(claims, _)| claims)
}

/// [`verify`] with a node's live keys: a token signed by a key this node does not know yet (a
/// rotation made by the CLI or another node) makes it reload its keys first (rate-limited). Returns
/// the claims and the `kid` that verified them.
pub fn verify_on_node(keys: &NodeKeys, fhir_base: &str, token: &str) -> Result<(AccessClaims, String), String> {
    let set = match decode_header(token).ok().and_then(|h| h.kid) {
        Some(kid) => keys.for_kid(&kid),
        None => keys.current(),
    };
    verify_with_kid(&set, fhir_base, token)
}

fn verify_with_kid(keys: &KeySet, fhir_base: &str, token: &str) -> Result<(AccessClaims, String), String> {
    let header = decode_header(token).map_err(|_| "the access token is not a well-formed JWT".to_string())?;
    if header.alg != Algorithm::ES256 {
        return Err(format!("the access token is signed with {:?}; only ES256 is accepted", header.alg));
    }
    let kid = header.kid.ok_or("the access token has no kid")?;
    let key = keys.by_kid(&kid).ok_or("the access token was signed by an unknown key")?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[fhir_base]);
    validation.set_issuer(&[fhir_base]);
    validation.leeway = LEEWAY_SECS;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = decode::<AccessClaims>(token, &key.decoding, &validation).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the access token has expired".to_string(),
        jsonwebtoken::errors::ErrorKind::InvalidAudience => "the access token is for another server".to_string(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature => "the access token's signature is invalid".to_string(),
        _ => "the access token is invalid".to_string(),
    })?;
    if data.claims.token_use != ACCESS {
        return Err("the token is not an access token".into());
    }
    Ok((data.claims, kid))
}

/// The `token_use` of id_tokens is absent (OIDC defines the claims); they are signed with the RS256
/// key, which access-token verification never accepts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Signs an OpenID Connect id_token (RS256) for `client_id`.
pub fn issue_id_token(
    keys: &KeySet,
    issuer: &str,
    client_id: &str,
    sub: &str,
    fhir_user: Option<String>,
    nonce: Option<String>,
    name: Option<String>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = crate::clock::now_secs().unsigned_abs();
    let claims = IdClaims {
        iss: issuer.to_string(),
        sub: sub.to_string(),
        aud: client_id.to_string(),
        exp: now + ID_TOKEN_LIFETIME,
        iat: now,
        nonce,
        fhir_user,
        name,
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.rs256.kid.clone());
    encode(&header, &claims, &keys.rs256.encoding)
}
