//! The server's RS256 key (for OpenID Connect id_tokens), generated once and stored like the ES256 one.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;

use super::keys::SigningKey;
use crate::store::keys::SigningKeyRow;
use crate::store::{StoreError, StoreResult};

pub fn generate_rs256() -> StoreResult<SigningKeyRow> {
    let failed = || StoreError::Corrupt("cannot generate an RSA key".into());
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| failed())?;
    let pkcs8 = key.as_der().map_err(|_| failed())?;
    let public = aws_lc_rs::signature::KeyPair::public_key(&key);
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{n}.{e}"));
    let kid = URL_SAFE_NO_PAD.encode(digest.get(..12).unwrap_or_default());
    let jwk = json!({"kty": "RSA", "n": n, "e": e, "kid": kid, "alg": "RS256", "use": "sig"});
    Ok(SigningKeyRow {
        kid,
        alg: "RS256".into(),
        private_pem: super::keys::private_pem(pkcs8.as_ref()),
        public_jwk: jwk.to_string(),
        created_at: crate::clock::now().text,
        retire_at: None,
        signed_until: 0,
    })
}

/// The RS256 key of a stored row: PKCS#8 PEM (this version) or PKCS#1 PEM (`RSA PRIVATE KEY`, as
/// stored by versions that generated keys with the `rsa` crate).
pub fn to_key(row: &SigningKeyRow) -> StoreResult<SigningKey> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("signing key {}: {what}", row.kid));
    let jwk: serde_json::Value = serde_json::from_str(&row.public_jwk).map_err(|_| corrupt("bad JWK"))?;
    let n = jwk["n"].as_str().ok_or_else(|| corrupt("no n"))?;
    let e = jwk["e"].as_str().ok_or_else(|| corrupt("no e"))?;
    Ok(SigningKey {
        kid: row.kid.clone(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_pem(row.private_pem.as_bytes()).map_err(|_| corrupt("bad PEM"))?,
        decoding: DecodingKey::from_rsa_components(n, e).map_err(|_| corrupt("bad public key"))?,
        public_jwk: jwk,
        retire_at: row.retire_at,
        signed_until: row.signed_until,
    })
}
