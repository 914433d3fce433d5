//! Unit tests of the signing keys: new keys, and keys stored by earlier versions (made with the
//! `rsa` and `p256` crates: RSA as PKCS#1 PEM, EC as PKCS#8 PEM).

use jsonwebtoken::{decode, encode, Header, Validation};

use super::*;
use crate::smart::rsa_key;

/// An RS256 key as earlier versions stored it (`RsaPrivateKey::to_pkcs1_pem`). Test data only.
const OLD_RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAui8P5ytq2NbXzDARS3AzcYWopXFE5kfUmOvDtCQtCV7JZudL\nP9Zf87ILDsjzmXtNZDeaWOIq7gGzePcNe7TAyrZfjPLwtLVbQYhszhpTFhwITiAM\nFp/dHLioFbZ4FlkPQf08d2gIGR1GHsC+PTgchPPUqPMtjNyh0aDX52bB2PLwOb+F\nNRemTJX6y4VoImgemXn1ByUdHgOMU7+chnCQKCHQy/297KYyPozqFk/KlIgNnZXQ\nMqfGJEvJGcGi2eEA85ZtEIS9qmb0WyT+tM2GYRAOo8plhq8nynHC2h8AemEYvoeE\nQhTtcJ1nPSa6rAOG5yU3dMOBNdEXGa6mtbx0IQIDAQABAoIBAFgKFQ0NHNM4lIa7\nXBI+FjViLKM+8oOqB7/gDITMbnd12OrOCGlBZ9IGqO/u2jIDek8fc97/46j0KPfU\naw3KJTg2EOzHnEb3UxWj+z9id1OHIe4/fTfdlGMWdnT9+b8nke10X/leuiWWEChO\noCa2t9WuryrNAwcO9X34/t8vWg7J0zK1iRYYtbs5kWe3PDRtv02xkRKaIbvv+Dma\nvCusqg8aE+p/oKRsUGOwtKsCaKOsR1HlWTz39sGgzO8aEtp75IVUodT25jLmkiIi\nqu8z2G4XrDm8Ti4FzsNti31PyOj/WbD1mq9LZkAp0n+IaGytJhsbUW6M8P+oKPV7\nfNvgshkCgYEA58xaFJ+GrIe3D2IMsnpxYPi/3gO2hU8WuYBhgFgEzBkgXdLiiUOg\nn5tJJrk5vq7H9UdOnU90ymezJyYIyc5kXGhYNWyfr7WtmXid/2e5RAQbyp9M8lbE\nZg6CaiiudP2zfJtlD2rJrqw/NctBb9oaTJC0L23lXXKQCIiTmGftbFsCgYEAzZ9/\n8R/Nk+oumO0gMDLTu+XP/bN9wcWxKcgXkLhmuqB1np41f5nlkGQLZ83WD8/3rnuL\nhayFDDZDjxoTmb8eWLNIEjB8f0MDS+kc3wCxqYYKzF/ADHQ7vQxgGQuep4i0IVSn\nvOqsQ1BnOZQrkyzMkr3rkQpVi0PD1e8onf8N+jMCgYEAthVfmZ2qs/K0CUBzSuxG\nDe+5AFSYVuXGqxc/AAukURNXynvy+fKGxXm9H88WnkQ7zOAj0AzvaGPHZnRJKQWY\n7sIEsIrQcb1cThdivZOkA9raXfN/BUrFYon5Rh0I1dvI15RV8aNoJG8oBEDS+WMx\nj32IHU3Ng/ePTzTCBFF3PssCgYEAgkqZ8Hj9c8eFBUPkDIZ4YexqEdEFU55n9xih\nzgL6nTEFtp97OMKUkxzBmWH1TQmzYO1J6Eb7+1P7FRcp6lcO7JeViGkOyjj1QsmQ\nkMHI0als+DmH4JxaKh1IWzZgrrnRofkZXHy68OBmuDZqMhTGAAm11a7dq6Qh2FJ1\nwz+VZL8CgYAtv2R4U2pWby1mpa8RaXnD//rzUUbU0M40v6ldFSktMPOmAdDE5Esg\nlGVzGEpxnJopCvXk1omzqs7icVzHehiN8oVyMzpb2WvCQd3o8djkM8zLIMVlGOKi\n1wSy2pi8hzUO06+Fb/KJ2H8hJ2+dY7pYzqmUbxKQi9/CCgbA5Wqrhg==\n-----END RSA PRIVATE KEY-----\n";
const OLD_RSA_N: &str = "ui8P5ytq2NbXzDARS3AzcYWopXFE5kfUmOvDtCQtCV7JZudLP9Zf87ILDsjzmXtNZDeaWOIq7gGzePcNe7TAyrZfjPLwtLVbQYhszhpTFhwITiAMFp_dHLioFbZ4FlkPQf08d2gIGR1GHsC-PTgchPPUqPMtjNyh0aDX52bB2PLwOb-FNRemTJX6y4VoImgemXn1ByUdHgOMU7-chnCQKCHQy_297KYyPozqFk_KlIgNnZXQMqfGJEvJGcGi2eEA85ZtEIS9qmb0WyT-tM2GYRAOo8plhq8nynHC2h8AemEYvoeEQhTtcJ1nPSa6rAOG5yU3dMOBNdEXGa6mtbx0IQ";
/// An ES256 key as earlier versions stored it (`SecretKey::to_pkcs8_pem`). Test data only.
const OLD_EC_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVM61MTgEajXfzNoq\nlsdFHQiOFVjdb82eWKITqetZczehRANCAARhqI/uPTAuBpvt6yIntDdVdDCUNJU5\n5x+pBwv2kaHXiyQExzKQdAmagZf8LyK7CtdCiq2+/u/dIXixd8lTTpMd\n-----END PRIVATE KEY-----\n";
const OLD_EC_X: &str = "YaiP7j0wLgab7esiJ7Q3VXQwlDSVOecfqQcL9pGh14s";
const OLD_EC_Y: &str = "JATHMpB0CZqBl_wvIrsK10KKrb7-790heLF3yVNOkx0";

fn old_rows() -> (SigningKeyRow, SigningKeyRow) {
    let rsa = SigningKeyRow {
        kid: "old-rsa".into(),
        alg: "RS256".into(),
        private_pem: OLD_RSA_PEM.into(),
        public_jwk: json!({"kty": "RSA", "n": OLD_RSA_N, "e": "AQAB", "kid": "old-rsa", "alg": "RS256", "use": "sig"})
            .to_string(),
        created_at: "2025-01-01T00:00:00.000Z".into(),
        retire_at: None,
        signed_until: 0,
    };
    let ec = SigningKeyRow {
        kid: "old-ec".into(),
        alg: "ES256".into(),
        private_pem: OLD_EC_PEM.into(),
        public_jwk: json!({"kty": "EC", "crv": "P-256", "x": OLD_EC_X, "y": OLD_EC_Y, "kid": "old-ec", "alg": "ES256", "use": "sig"})
            .to_string(),
        created_at: "2025-01-01T00:00:00.000Z".into(),
        retire_at: None,
        signed_until: 0,
    };
    (rsa, ec)
}

/// Signs with the private half and verifies with the public half (and with the published JWK).
fn round_trip(key: &SigningKey) {
    let claims = json!({"sub": "x", "aud": "a", "exp": 4_000_000_000u64});
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    let token = encode(&header, &claims, &key.encoding).unwrap();
    let mut v = Validation::new(key.alg);
    v.set_audience(&["a"]);
    assert_eq!(decode::<serde_json::Value>(&token, &key.decoding, &v).unwrap().claims, claims);
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
    assert_eq!(decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap().claims, claims);
    // A token signed by another key of the same kind does not verify.
    let other = match key.alg {
        Algorithm::RS256 => rsa_key::to_key(&rsa_key::generate_rs256().unwrap()).unwrap(),
        _ => to_key(&generate_es256().unwrap()).unwrap(),
    };
    let forged = encode(&header, &claims, &other.encoding).unwrap();
    assert!(decode::<serde_json::Value>(&forged, &key.decoding, &v).is_err());
}

#[test]
fn new_keys_sign_and_verify() {
    let es = generate_es256().unwrap();
    assert!(es.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    round_trip(&to_key(&es).unwrap());
    let rs = rsa_key::generate_rs256().unwrap();
    assert!(rs.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let jwk: serde_json::Value = serde_json::from_str(&rs.public_jwk).unwrap();
    assert_eq!(jwk["e"], "AQAB");
    // 2048 bits: 256 bytes, 342 base64url characters.
    assert_eq!(jwk["n"].as_str().unwrap().len(), 342);
    round_trip(&rsa_key::to_key(&rs).unwrap());
}

#[test]
fn keys_stored_by_earlier_versions_keep_working() {
    let (rsa, ec) = old_rows();
    round_trip(&rsa_key::to_key(&rsa).unwrap());
    round_trip(&to_key(&ec).unwrap());
    // A database that holds them keeps them: nothing is regenerated.
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(&dir.path().join("k.db").to_string_lossy(), 1).unwrap();
    let mut conn = store.conn().unwrap();
    key_rows::insert_if_absent(&mut conn, &rsa).unwrap();
    key_rows::insert_if_absent(&mut conn, &ec).unwrap();
    let keys = KeySet::load_or_create(&mut conn).unwrap();
    assert_eq!((keys.rs256.kid.as_str(), keys.es256.kid.as_str()), ("old-rsa", "old-ec"));
    round_trip(&keys.rs256);
    round_trip(&keys.es256);
}

#[test]
fn a_damaged_key_row_is_an_error_not_a_panic() {
    let (mut rsa, mut ec) = old_rows();
    rsa.private_pem = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into();
    ec.public_jwk = "{}".into();
    let signed = rsa_key::to_key(&rsa).and_then(|k| {
        encode(&Header::new(Algorithm::RS256), &json!({}), &k.encoding).map_err(|e| StoreError::Corrupt(e.to_string()))
    });
    assert!(signed.is_err());
    assert!(to_key(&ec).is_err());
}
