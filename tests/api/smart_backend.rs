//! SMART Backend Services: client_credentials with private_key_jwt (RS384, ES384), keys from an
//! inline JWKS or a jwks_uri, and the EHR launch API used with such a token.
//! <https://hl7.org/fhir/smart-app-launch/backend-services.html>

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bedside::smart::clients::ClientAuth;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::smart_support::*;
use crate::support::{patient, Resp, TestApp};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub struct Key {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

/// A client's RSA key (made with aws-lc-rs, as the server makes its own).
pub fn rsa_key(kid: &str) -> Key {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    let k = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = k.as_der().unwrap();
    let public = k.public_key();
    Key {
        kid: kid.into(),
        alg: Algorithm::RS384,
        encoding: EncodingKey::from_rsa_pem(pem_of(der.as_ref()).as_bytes()).unwrap(),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS384",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero())}),
    }
}

/// A client's EC P-384 key.
pub fn ec_key(kid: &str) -> Key {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
    let k = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let pkcs8 = k.to_pkcs8v1().unwrap();
    // Uncompressed point: 0x04, x (48 bytes), y (48 bytes).
    let p = k.public_key().as_ref();
    assert_eq!((p.len(), p[0]), (97, 4));
    Key {
        kid: kid.into(),
        alg: Algorithm::ES384,
        encoding: EncodingKey::from_ec_pem(pem_of(pkcs8.as_ref()).as_bytes()).unwrap(),
        jwk: json!({"kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384",
            "x": URL_SAFE_NO_PAD.encode(&p[1..49]), "y": URL_SAFE_NO_PAD.encode(&p[49..97])}),
    }
}

fn pem_of(pkcs8_der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8_der))
}

pub fn jwks(keys: &[&Key]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

pub fn backend_client(app: &TestApp, keys: &[&Key], scope: &str) -> String {
    register(app, ClientAuth::Jwks(jwks(keys)), &[], scope).0
}

pub fn now() -> u64 {
    bedside::clock::now_secs().unsigned_abs()
}

/// A client assertion; `edit` may change the claims before signing.
pub fn assertion(app: &TestApp, key: &Key, client_id: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = json!({"iss": client_id, "sub": client_id, "aud": format!("{}/auth/token", app.base),
        "exp": now() + 240, "jti": uuid::Uuid::new_v4().to_string()});
    edit(&mut claims);
    let mut h = Header::new(key.alg);
    h.kid = Some(key.kid.clone());
    h.typ = Some("JWT".into());
    jsonwebtoken::encode(&h, &claims, &key.encoding).unwrap()
}

pub fn client_credentials(app: &TestApp, assertion: &str, scope: &str) -> Resp {
    token_request(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
        None,
    )
}

#[test]
fn backend_service_with_rs384_and_es384_assertions() {
    let app = TestApp::new();
    let pid = app.create(&patient("Bulk"));
    let (rk, ek) = (rsa_key("rsa-1"), ec_key("ec-1"));
    let client = backend_client(&app, &[&rk, &ek], "system/*.rs");
    for key in [&rk, &ek] {
        let r =
            client_credentials(&app, &assertion(&app, key, &client, |_| {}), "system/Patient.rs system/Observation.rs")
                .expect(200);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        let t = r.json();
        assert_eq!(t["token_type"], "Bearer");
        assert_eq!(t["scope"], "system/Patient.rs system/Observation.rs");
        assert!(t["expires_in"].as_u64().unwrap() > 0);
        assert!(t.get("refresh_token").is_none());
        let at = t["access_token"].as_str().unwrap();
        app.get(&format!("/Patient/{pid}"), at).expect(200);
        app.get("/Encounter", at).expect(403);
        app.post_json("/Patient", at, &patient("NoWrite")).expect(403);
    }
}

#[test]
fn assertion_without_kid_uses_the_only_key_of_its_type() {
    let app = TestApp::new();
    let ek = ec_key("only");
    let client = backend_client(&app, &[&ek], "system/*.rs");
    let claims = json!({"iss": client, "sub": client, "aud": format!("{}/auth/token", app.base), "exp": now() + 60, "jti": "j1"});
    let a = jsonwebtoken::encode(&Header::new(Algorithm::ES384), &claims, &ek.encoding).unwrap();
    client_credentials(&app, &a, "system/Patient.rs").expect(200);
}

/// Serves `body` at http://127.0.0.1:PORT/jwks.json for as many requests as come.
fn serve_jwks(body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}", body.len(), body);
            let _ = s.write_all(resp.as_bytes());
        }
    });
    format!("http://{addr}/jwks.json")
}

#[test]
fn keys_can_come_from_a_jwks_uri() {
    // A loopback http jwks_uri needs the development flag (see security_smart.rs for the refusals).
    let app = TestApp::with_settings(|s| s.dev_insecure_jwks_uri = true);
    let rk = rsa_key("remote");
    let uri = serve_jwks(jwks(&[&rk]));
    let client = register(&app, ClientAuth::JwksUri(uri), &[], "system/*.rs").0;
    client_credentials(&app, &assertion(&app, &rk, &client, |_| {}), "system/Patient.rs").expect(200);
    let other = rsa_key("remote");
    let r = client_credentials(&app, &assertion(&app, &other, &client, |_| {}), "system/Patient.rs").expect(401);
    assert_eq!(r.json()["error"], "invalid_client");
}

#[test]
fn ehr_launch_api_with_a_backend_token() {
    let app = TestApp::new();
    let pid = app.create(&patient("Launched"));
    let ek = ec_key("ehr");
    let client = backend_client(&app, &[&ek], "system/*.rs");
    let t = client_credentials(&app, &assertion(&app, &ek, &client, |_| {}), "system/Patient.rs").expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    let url = format!("{}/smart/launch", app.base);
    let r = app
        .send(
            app.req("POST", &url, Some(at))
                .header("content-type", "application/json")
                .body(json!({"patient": pid, "intent": "summary", "need_patient_banner": true}).to_string()),
        )
        .expect(201)
        .json();
    let launch = r["launch"].as_str().unwrap().to_string();
    assert!(launch.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    // The app launched with it gets the patient and intent.
    add_user(&app, "doc", "Practitioner/d1");
    let app_client = public_client(&app);
    let (verifier, challenge) = pkce();
    let mut params = standard_params(&app, &app_client, "launch patient/Patient.rs", &challenge);
    params.push(("launch", &launch));
    let code = location_param(&walk(&app, &authorize_url(&app, &params), "doc", None), "code").unwrap();
    let tok = exchange(&app, &app_client, &code, &verifier).expect(200).json();
    assert_eq!(tok["patient"], pid.as_str());
    assert_eq!(tok["intent"], "summary");
    assert_eq!(tok["need_patient_banner"], true);
    // Unknown patients and missing tokens are refused.
    let r = app.send(
        app.req("POST", &url, Some(at))
            .header("content-type", "application/json")
            .body(json!({"patient": "nope"}).to_string()),
    );
    assert_eq!(r.expect(400).json()["error"], "invalid_request");
    let r = app.send(app.req("POST", &url, None).header("content-type", "application/json").body("{}"));
    assert_eq!(r.expect(401).json()["error"], "invalid_token");
    let user_tok = app.token("user/*.rs", None);
    let r = app.send(app.req("POST", &url, Some(&user_tok)).header("content-type", "application/json").body("{}"));
    assert_eq!(r.expect(403).json()["error"], "insufficient_scope");
}

#[test]
fn authorization_code_with_private_key_jwt_client_authentication() {
    let app = TestApp::new();
    let me = app.create(&patient("Asym"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let rk = rsa_key("app-key");
    let client = register(&app, ClientAuth::Jwks(jwks(&[&rk])), &[REDIRECT], "").0;
    let url = authorize_url(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("scope", "launch/patient patient/Patient.rs"),
            ("state", "s"),
            ("aud", &app.fhir),
        ],
    );
    let code = location_param(&walk(&app, &url, "pat", None), "code").unwrap();
    let form = |a: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_string()),
            ("client_assertion_type", JWT_BEARER.to_string()),
            ("client_assertion", a.to_string()),
        ]
    };
    // Without a valid assertion the code is not redeemed…
    let bad = assertion(&app, &rk, &client, |c| c["aud"] = json!("https://elsewhere.example/token"));
    let f = form(&bad);
    let r = token_request(&app, &f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(), None);
    assert_eq!(r.expect(401).json()["error"], "invalid_client");
    // …with one it is.
    let f = form(&assertion(&app, &rk, &client, |_| {}));
    let t = token_request(&app, &f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(), None).expect(200).json();
    assert_eq!(t["patient"], me.as_str());
}
