//! Every /fhir request but /metadata needs a valid bearer token; patient tokens see one compartment.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bedside::smart::token::TokenRequest;
use serde_json::json;

use crate::support::{observation, patient, TestApp};

#[test]
fn missing_token_is_401_with_www_authenticate() {
    let app = TestApp::new();
    let r = app.send(app.req("GET", "/Patient", None)).expect(401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(r.json()["resourceType"], "OperationOutcome");
    app.send(app.req("GET", "/Patient", None).header("authorization", "Basic abc")).expect(401);
    app.send(app.req("GET", "/Patient", Some("not-a-jwt"))).expect(401);
}

#[test]
fn metadata_needs_no_token() {
    let app = TestApp::new();
    app.send(app.req("GET", "/metadata", None)).expect(200);
}

#[test]
fn tampered_token_is_401() {
    let app = TestApp::new();
    let tok = app.token("system/*.read", None);
    let parts: Vec<&str> = tok.split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("system/*.cruds");
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    let r = app.get("/Patient", &forged).expect(401);
    assert!(r.header("www-authenticate").is_some());
}

#[test]
fn expired_but_validly_signed_token_is_401() {
    let app = TestApp::new();
    // Sign a token whose exp is in the past with the server's own key.
    let keys = app.state.keys.current();
    let key = &keys.es256;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    let claims = json!({"iss": app.fhir, "aud": app.fhir, "sub": "s", "exp": 1_000_000_000u64, "iat": 999_999_000u64,
        "jti": "x", "token_use": "access", "client_id": "c", "scope": "system/*.read"});
    let tok = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
    let r = app.get("/Patient", &tok).expect(401);
    assert!(r.text().contains("expired"), "{}", r.text());
}

#[test]
fn alg_none_and_hs256_are_refused() {
    let app = TestApp::new();
    let claims = json!({"iss": app.fhir, "aud": app.fhir, "sub": "s", "exp": 9_999_999_999u64, "iat": 1u64,
        "jti": "x", "token_use": "access", "client_id": "c", "scope": "system/*.*"});
    let keys = app.state.keys.current();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": keys.es256.kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    app.get("/Patient", &none).expect(401);
    // HS256 "signed" with the public key material: the classic key-confusion attack.
    let public = keys.es256.public_jwk.to_string();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(keys.es256.kid.clone());
    let hs =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(public.as_bytes())).unwrap();
    app.get("/Patient", &hs).expect(401);
}

#[test]
fn token_for_another_server_is_401() {
    let app = TestApp::new();
    let other = bedside::smart::token::issue(
        &app.state.keys.current(),
        "http://elsewhere.example/fhir",
        &TokenRequest {
            subject: "s".into(),
            client_id: "c".into(),
            scope: "system/*.*".into(),
            lifetime_secs: 60,
            ..Default::default()
        },
    )
    .unwrap()
    .0;
    app.get("/Patient", &other).expect(401);
}

#[test]
fn patient_token_sees_only_its_compartment() {
    let app = TestApp::new();
    let a = app.create(&patient("Alpha"));
    let b = app.create(&patient("Beta"));
    let oa = app.create(&observation(&a, "60"));
    let ob = app.create(&observation(&b, "80"));
    let practitioner = app.create(&json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}));
    let ta = app.token("patient/*.read", Some(&a));
    app.get(&format!("/Patient/{a}"), &ta).expect(200);
    app.get(&format!("/Observation/{oa}"), &ta).expect(200);
    // Other patient's data: 404, never 403 (existence must not leak).
    app.get(&format!("/Patient/{b}"), &ta).expect(404);
    app.get(&format!("/Observation/{ob}"), &ta).expect(404);
    app.get(&format!("/Observation/{ob}/_history/1"), &ta).expect(404);
    app.get(&format!("/Observation/{ob}/_history"), &ta).expect(404);
    // Shared reference data is readable.
    app.get(&format!("/Practitioner/{practitioner}"), &ta).expect(200);
    // Search is filtered too.
    let s = app.get("/Observation", &ta).expect(200).json();
    assert_eq!(s["total"], 1);
    assert_eq!(s["entry"][0]["resource"]["id"], oa.as_str());
    let s = app.get(&format!("/Observation?patient={b}"), &ta).expect(200).json();
    assert_eq!(s["total"], 0);
    let h = app.get("/Observation/_history", &ta).expect(200).json();
    assert_eq!(h["entry"].as_array().map(|a| a.len()).unwrap_or(0), 1);
}

#[test]
fn scopes_limit_types_and_interactions() {
    let app = TestApp::new();
    let a = app.create(&patient("Gamma"));
    let t = app.token("patient/Observation.read", Some(&a));
    let r = app.get(&format!("/Patient/{a}"), &t).expect(403);
    assert_eq!(r.json()["issue"][0]["code"], "forbidden");
    app.get("/Patient", &t).expect(403);
    app.post_json("/Observation", &t, &observation(&a, "1")).expect(403);
    // A write scope lets a patient add to their own record but not to someone else's.
    let other = app.create(&patient("Delta"));
    let w = app.token("patient/Observation.cruds", Some(&a));
    app.post_json("/Observation", &w, &observation(&a, "2")).expect(201);
    app.post_json("/Observation", &w, &observation(&other, "3")).expect(403);
}

#[test]
fn patient_scopes_without_patient_claim_are_refused() {
    let app = TestApp::new();
    let t = app.token("patient/*.read", None);
    app.get("/Observation", &t).expect(403);
}

#[test]
fn jwks_publishes_the_verification_key() {
    let app = TestApp::new();
    let r = app.send(app.req("GET", &format!("{}/.well-known/jwks.json", app.base), None)).expect(200).json();
    assert_eq!(r["keys"][0]["kty"], "EC");
    assert_eq!(r["keys"][0]["kid"], app.state.keys.current().es256.kid.as_str());
    assert!(r["keys"][0].get("d").is_none(), "private key must never be published");
}

#[test]
fn cli_token_is_accepted_by_the_server() {
    let app = TestApp::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["token", "--scope", "system/*.read", "--database-url", &app.db_url, "--base-url", &app.base])
        .output()
        .expect("run bedside token");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tok = String::from_utf8(out.stdout).unwrap().trim().to_string();
    app.get("/Patient", &tok).expect(200);
    app.post_json("/Patient", &tok, &patient("ReadOnly")).expect(403);
}
