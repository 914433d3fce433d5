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

fn temp_store(dir: &tempfile::TempDir) -> crate::store::Store {
    crate::store::Store::open(&dir.path().join("k.db").to_string_lossy(), 2).unwrap()
}

fn jwks_kids(keys: &KeySet) -> Vec<String> {
    keys.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_rotated_key_keeps_verifying_until_its_last_token_has_expired() {
    let dir = tempfile::tempdir().unwrap();
    let store = temp_store(&dir);
    let mut conn = store.conn().unwrap();
    let before = KeySet::load_or_create(&mut conn).unwrap();
    // A signer leased the key for tokens expiring in two hours.
    let until = crate::clock::now_secs() + 7200;
    KeySet::load_for_signing(&mut conn, until).unwrap();

    let r = rotate(&mut conn, "ES256", None).unwrap();
    assert_eq!(r.retired.len(), 1);
    assert_eq!(r.retired[0].kid, before.es256.kid);
    assert_eq!(r.retired[0].retire_at, until + LEEWAY_SECS as i64);
    let after = KeySet::load_or_create(&mut conn).unwrap();
    assert_eq!(after.es256.kid, r.kid);
    assert_ne!(after.es256.kid, before.es256.kid);
    // The RS256 key was not rotated.
    assert_eq!(after.rs256.kid, before.rs256.kid);
    // The old key still verifies and is published, after the active ones.
    assert_eq!(after.by_kid(&before.es256.kid).map(|k| k.kid.as_str()), Some(before.es256.kid.as_str()));
    assert!(after.by_kid(&after.es256.kid).is_some());
    assert_eq!(jwks_kids(&after), vec![after.es256.kid.clone(), after.rs256.kid.clone(), before.es256.kid.clone()]);
    round_trip(after.by_kid(&before.es256.kid).unwrap());
    // Exactly one active key per algorithm.
    let rows = key_rows::all(&mut conn).unwrap();
    assert_eq!(rows.iter().filter(|r| r.retire_at.is_none()).count(), 2);

    // The RS256 key was leased too.
    let r2 = rotate(&mut conn, "RS256", None).unwrap();
    assert_eq!(r2.retired[0].retire_at, until + LEEWAY_SECS as i64);
    // Without a lease (the new ES256 key has signed nothing), the old key stays MIN_RETIRE_SECS.
    let now = crate::clock::now_secs();
    let r3 = rotate(&mut conn, "ES256", None).unwrap();
    assert_eq!(r3.retired[0].kid, r.kid);
    let at = r3.retired[0].retire_at;
    assert!(
        at >= now + MIN_RETIRE_SECS + LEEWAY_SECS as i64 && at <= crate::clock::now_secs() + MIN_RETIRE_SECS + 60,
        "{at}"
    );
    assert_eq!(retire_time(0, 1000), 1000 + MIN_RETIRE_SECS + LEEWAY_SECS as i64);
    assert_eq!(retire_time(1_000_000, 1000), 1_000_000 + LEEWAY_SECS as i64);
}

#[test]
fn a_key_past_its_retire_time_is_refused_unpublished_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = temp_store(&dir);
    let mut conn = store.conn().unwrap();
    let before = KeySet::load_or_create(&mut conn).unwrap();
    let r = rotate(&mut conn, "ES256", Some(0)).unwrap();
    assert!(r.retired[0].retire_at <= crate::clock::now_secs());
    let after = KeySet::load_or_create(&mut conn).unwrap();
    assert!(after.by_kid(&before.es256.kid).is_none());
    assert!(after.retiring.is_empty());
    assert!(!jwks_kids(&after).contains(&before.es256.kid));
    // The same set loaded before the rotation also stops accepting the key once its retire time is
    // known to have passed: the check is made at each use, not at load.
    let mut stale = before.clone();
    stale.es256.retire_at = Some(crate::clock::now_secs());
    assert!(stale.by_kid(&before.es256.kid).is_none());
    // A retired key cannot be leased again; pruning deletes it.
    assert!(!key_rows::extend_lease(&mut conn, &before.es256.kid, crate::clock::now_secs() + 60).unwrap());
    assert_eq!(prune(&mut conn).unwrap(), vec![before.es256.kid.clone()]);
    assert_eq!(key_rows::all(&mut conn).unwrap().len(), 2);
    assert!(prune(&mut conn).unwrap().is_empty());
}

#[test]
fn nodes_starting_at_once_store_one_key_per_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("k.db").to_string_lossy().into_owned();
    crate::store::Store::open(&url, 1).unwrap();
    let kids: Vec<(String, String)> = std::thread::scope(|s| {
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                s.spawn(move || {
                    let store = crate::store::Store::open(&url, 1).unwrap();
                    let keys = KeySet::load_or_create(&mut store.conn().unwrap()).unwrap();
                    (keys.es256.kid, keys.rs256.kid)
                })
            })
            .collect();
        nodes.into_iter().map(|n| n.join().unwrap()).collect()
    });
    assert!(kids.iter().all(|k| *k == kids[0]), "{kids:?}");
    let store = crate::store::Store::open(&url, 1).unwrap();
    assert_eq!(key_rows::all(&mut store.conn().unwrap()).unwrap().len(), 2);
}

#[test]
fn a_node_follows_a_rotation_made_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let store = temp_store(&dir);
    let node = NodeKeys::start(store.clone(), 3600).unwrap();
    let first = node.current();
    // The node leased its keys for its horizon and more.
    assert!(first.es256.signed_until >= crate::clock::now_secs() + 3600 + 3 * RELOAD_EVERY.as_secs() as i64);
    let r = rotate(&mut store.conn().unwrap(), "ES256", None).unwrap();
    // The rotation kept the old key until the node's lease has run out.
    assert!(r.retired[0].retire_at > first.es256.signed_until);
    // Until it reloads, the node signs with the old key (which its lease covers)...
    assert_eq!(node.current().es256.kid, first.es256.kid);
    // ...but a token with the new kid makes it reload at once.
    assert_eq!(node.for_kid(&r.kid).es256.kid, r.kid);
    assert_eq!(node.current().es256.kid, r.kid);
    assert!(node.current().by_kid(&first.es256.kid).is_some());
    // An unknown kid reloads at most every RELOAD_GAP: right after that reload, none.
    let rows_before = key_rows::all(&mut store.conn().unwrap()).unwrap().len();
    let again = rotate(&mut store.conn().unwrap(), "ES256", None).unwrap();
    assert_eq!(node.for_kid("made-up").es256.kid, r.kid, "no reload within RELOAD_GAP");
    std::thread::sleep(RELOAD_GAP);
    assert_eq!(node.for_kid("made-up").es256.kid, again.kid);
    assert_eq!(key_rows::all(&mut store.conn().unwrap()).unwrap().len(), rows_before + 1);
    node.reload().unwrap();
    assert_eq!(node.current().retiring.len(), 2);
}
