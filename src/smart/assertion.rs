//! `private_key_jwt` client assertions (RFC 7523, SMART Backend Services): RS384 or ES384 JWTs signed
//! with a key from the client's registered JWKS (inline or at its jwks_uri, see `jwks_uri`), `iss` = `sub` =
//! client_id, `aud` = the token URL, `exp` at most five minutes ahead, `jti` never reused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::oauth_error::OAuthError;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest accepted assertion life (SMART: `exp` no more than five minutes in the future).
const MAX_LIFETIME_SECS: u64 = 300;
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub exp: u64,
    #[serde(default)]
    pub jti: Option<String>,
}

/// The `iss` of an assertion, read before its signature can be checked (to find the client).
pub fn unverified_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

fn bad(msg: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client(msg)
}

/// Picks the verification key by `kid` and key type (a key without `kid` is used only if it is the
/// only one of its type).
fn pick_key<'a>(jwks: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    let kty_ok = |k: &Jwk| {
        matches!(
            (&k.algorithm, alg),
            (AlgorithmParameters::RSA(_), Algorithm::RS384) | (AlgorithmParameters::EllipticCurve(_), Algorithm::ES384)
        )
    };
    let candidates: Vec<&Jwk> = jwks.keys.iter().filter(|k| kty_ok(k)).collect();
    match kid {
        Some(kid) => candidates.into_iter().find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if candidates.len() == 1 => candidates.into_iter().next(),
        None => None,
    }
}

/// Verifies an assertion for `client_id`; returns its claims (the caller records the `jti`).
pub fn verify(
    assertion: &str,
    jwks: &JwkSet,
    registered_jwks_uri: Option<&str>,
    client_id: &str,
    token_url: &str,
    now: u64,
) -> Result<AssertionClaims, OAuthError> {
    let header = decode_header(assertion).map_err(|_| bad("the client assertion is not a well-formed JWT"))?;
    if !matches!(header.alg, Algorithm::RS384 | Algorithm::ES384) {
        return Err(bad(format!("client assertions must be signed with RS384 or ES384, not {:?}", header.alg)));
    }
    if let Some(jku) = &header.jku {
        if Some(jku.as_str()) != registered_jwks_uri {
            return Err(bad("the client assertion's jku is not the client's registered jwks_uri"));
        }
    }
    let jwk = pick_key(jwks, header.kid.as_deref(), header.alg)
        .ok_or_else(|| bad("no key in the client's JWKS matches the assertion's kid and algorithm"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| bad("the client's registered key cannot be used"))?;
    let mut v = Validation::new(header.alg);
    v.set_audience(&[token_url]);
    v.set_issuer(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    v.leeway = LEEWAY_SECS;
    let data = decode::<AssertionClaims>(assertion, &key, &v).map_err(|e| {
        bad(match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the client assertion has expired",
            jsonwebtoken::errors::ErrorKind::InvalidAudience => "the client assertion's aud must be the token URL",
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => "the client assertion's iss must be the client_id",
            jsonwebtoken::errors::ErrorKind::InvalidSignature => "the client assertion's signature is invalid",
            _ => "the client assertion is invalid",
        })
    })?;
    let c = data.claims;
    if c.sub != client_id {
        return Err(bad("the client assertion's sub must be the client_id"));
    }
    if c.exp > now + MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(bad("the client assertion's exp is more than five minutes away"));
    }
    if c.jti.as_deref().map(str::is_empty).unwrap_or(true) {
        return Err(bad("the client assertion has no jti"));
    }
    Ok(c)
}

/// Parses a stored JWKS document.
pub fn parse_jwks(text: &str) -> Result<JwkSet, OAuthError> {
    serde_json::from_str(text).map_err(|_| bad("the client's registered JWKS cannot be read"))
}
