//! The server's signing keys: generated on first start, stored in the database (so every node signs
//! and verifies with the same key), and published as a JWKS. Keys are made and used through AWS-LC
//! (`aws-lc-rs`, also jsonwebtoken's backend) and stored as PEM: the ES256 key as PKCS#8, the RS256
//! key as PKCS#8 (keys stored by earlier versions as PKCS#1 load as well).

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::json;

use crate::store::keys::{self as key_rows, SigningKeyRow};
use crate::store::{AnyConnection, StoreError, StoreResult};

/// A usable signing key: `kid`, algorithm, and both halves ready for jsonwebtoken.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub public_jwk: serde_json::Value,
    /// When it stops verifying (Unix seconds); None while it is the active signer.
    pub retire_at: Option<i64>,
    /// Tokens it signed expire by then (Unix seconds), as known when the key set was loaded.
    pub signed_until: i64,
}

/// The keys of this server (all nodes load the same rows).
#[derive(Clone)]
pub struct KeySet {
    /// Signs access tokens.
    pub es256: SigningKey,
    /// Signs OpenID Connect id_tokens (RS256 is the algorithm every OIDC client must support).
    pub rs256: SigningKey,
}

impl KeySet {
    /// Loads the keys, generating and storing any that are missing.
    pub fn load_or_create(conn: &mut AnyConnection) -> StoreResult<KeySet> {
        if !key_rows::all(conn)?.iter().any(|r| r.alg == "ES256") {
            key_rows::insert_if_absent(conn, &generate_es256()?)?;
        }
        if !key_rows::all(conn)?.iter().any(|r| r.alg == "RS256") {
            key_rows::insert_if_absent(conn, &super::rsa_key::generate_rs256()?)?;
        }
        let rows = key_rows::all(conn)?;
        let find = |alg: &str| {
            rows.iter()
                .find(|r| r.alg == alg)
                .ok_or_else(|| StoreError::Corrupt(format!("no {alg} signing key after generation")))
        };
        Ok(KeySet { es256: to_key(find("ES256")?)?, rs256: super::rsa_key::to_key(find("RS256")?)? })
    }

    /// Finds the access-token verification key for a token header's `kid` (ES256 only: an id_token
    /// signed with the RSA key is never an access token).
    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        (self.es256.kid == kid).then_some(&self.es256)
    }

    /// `{"keys": [...]}` for the JWKS endpoint.
    pub fn jwks(&self) -> serde_json::Value {
        json!({"keys": [self.es256.public_jwk.clone(), self.rs256.public_jwk.clone()]})
    }
}

fn generate_es256() -> StoreResult<SigningKeyRow> {
    let failed = || StoreError::Corrupt("cannot generate an EC P-256 key".into());
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| failed())?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| failed())?;
    // The public key as an uncompressed SEC1 point: 0x04, x (32 bytes), y (32 bytes).
    let point = pair.public_key().as_ref();
    let (x, y) = match (point.first(), point.get(1..33), point.get(33..65)) {
        (Some(4), Some(x), Some(y)) if point.len() == 65 => (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)),
        _ => return Err(StoreError::Corrupt("generated key has an unexpected public point".into())),
    };
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{x}.{y}"));
    let kid = URL_SAFE_NO_PAD.encode(digest.get(..12).unwrap_or_default());
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"});
    Ok(SigningKeyRow {
        kid,
        alg: "ES256".into(),
        private_pem: private_pem(pkcs8.as_ref()),
        public_jwk: jwk.to_string(),
        created_at: crate::fhir::instant::now().text,
        retire_at: None,
        signed_until: 0,
    })
}

/// A PKCS#8 private key as PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
pub(super) fn private_pem(pkcs8_der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", pkcs8_der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn to_key(row: &SigningKeyRow) -> StoreResult<SigningKey> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("signing key {}: {what}", row.kid));
    let jwk: serde_json::Value = serde_json::from_str(&row.public_jwk).map_err(|_| corrupt("bad JWK"))?;
    let x = jwk["x"].as_str().ok_or_else(|| corrupt("no x"))?;
    let y = jwk["y"].as_str().ok_or_else(|| corrupt("no y"))?;
    Ok(SigningKey {
        kid: row.kid.clone(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_pem(row.private_pem.as_bytes()).map_err(|_| corrupt("bad PEM"))?,
        decoding: DecodingKey::from_ec_components(x, y).map_err(|_| corrupt("bad public key"))?,
        public_jwk: jwk,
        retire_at: row.retire_at,
        signed_until: row.signed_until,
    })
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
