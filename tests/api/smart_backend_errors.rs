//! One test per rule of private_key_jwt client assertions (SMART Backend Services, RFC 7523):
//! "iss" = "sub" = client_id, "aud" = the token URL, "exp" no more than five minutes ahead, "jti"
//! never reused, RS384/ES384 signatures by a registered key chosen by "kid" and "kty".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::smart_backend::*;
use crate::smart_support::*;
use crate::support::{Resp, TestApp};

#[track_caller]
fn refused(r: Resp, error: &str) {
    assert_eq!(r.json()["error"], error, "{}", r.text());
    assert!(r.status == 400 || r.status == 401, "{}", r.status);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

fn setup() -> (TestApp, Key, String) {
    let app = TestApp::new();
    let key = ec_key("k1");
    let client = backend_client(&app, &[&key], "system/*.rs");
    (app, key, client)
}

#[test]
fn replayed_jti_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |_| {});
    client_credentials(&app, &a, "system/Patient.rs").expect(200);
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn expired_assertion_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |c| c["exp"] = json!(now() - 120));
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_valid_for_more_than_five_minutes_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |c| c["exp"] = json!(now() + 3600));
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_without_jti_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |c| {
        c.as_object_mut().unwrap().remove("jti");
    });
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_with_alg_none_is_refused() {
    let (app, _, client) = setup();
    let claims = json!({"iss": client, "sub": client, "aud": format!("{}/auth/token", app.base), "exp": now() + 60, "jti": "n1"});
    let a = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "k1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_hs256_signed_with_the_public_key_is_refused() {
    let (app, key, client) = setup();
    let claims = json!({"iss": client, "sub": client, "aud": format!("{}/auth/token", app.base), "exp": now() + 60, "jti": "h1"});
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("k1".into());
    let a = jsonwebtoken::encode(&h, &claims, &EncodingKey::from_secret(key.jwk.to_string().as_bytes())).unwrap();
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_for_another_audience_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |c| c["aud"] = json!("https://other.example/token"));
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_whose_sub_is_not_the_client_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |c| c["sub"] = json!("someone-else"));
    refused(client_credentials(&app, &a, "system/Patient.rs"), "invalid_client");
}

#[test]
fn assertion_with_an_unknown_kid_is_refused() {
    let (app, _, client) = setup();
    let stranger = ec_key("k2");
    refused(
        client_credentials(&app, &assertion(&app, &stranger, &client, |_| {}), "system/Patient.rs"),
        "invalid_client",
    );
}

#[test]
fn assertion_signed_by_another_key_with_the_same_kid_is_refused() {
    let (app, _, client) = setup();
    let impostor = ec_key("k1");
    refused(
        client_credentials(&app, &assertion(&app, &impostor, &client, |_| {}), "system/Patient.rs"),
        "invalid_client",
    );
}

#[test]
fn key_type_must_match_the_algorithm() {
    let app = TestApp::new();
    let rk = rsa_key("same");
    let client = backend_client(&app, &[&rk], "system/*.rs");
    // An ES384 assertion naming the RSA key's kid finds no EC key.
    let ek = ec_key("same");
    refused(client_credentials(&app, &assertion(&app, &ek, &client, |_| {}), "system/Patient.rs"), "invalid_client");
}

#[test]
fn backend_services_get_only_system_scopes() {
    let (app, key, client) = setup();
    refused(client_credentials(&app, &assertion(&app, &key, &client, |_| {}), "patient/Patient.rs"), "invalid_scope");
    refused(client_credentials(&app, &assertion(&app, &key, &client, |_| {}), "system/Patient.cruds"), "invalid_scope");
}

#[test]
fn client_credentials_needs_private_key_jwt() {
    let app = TestApp::new();
    let (client, secret) = secret_client(&app);
    let r = token_request(
        &app,
        &[("grant_type", "client_credentials"), ("scope", "system/Patient.rs")],
        Some((&client, &secret)),
    );
    refused(r, "unauthorized_client");
}

#[test]
fn wrong_assertion_type_is_refused() {
    let (app, key, client) = setup();
    let a = assertion(&app, &key, &client, |_| {});
    let r = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/Patient.rs"),
            ("client_assertion_type", "urn:something-else"),
            ("client_assertion", &a),
        ],
        None,
    );
    refused(r, "invalid_client");
}
