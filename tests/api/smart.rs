//! SMART App Launch 2.x, the happy paths, driven as an app and a browser would: a real OAuth client
//! (the `oauth2` crate: PKCE, authorize URL, code exchange, refresh) plus form submissions with the
//! pages' CSRF fields. <https://hl7.org/fhir/smart-app-launch/app-launch.html>

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge,
    RedirectUrl, RefreshToken, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::smart_support::*;
use crate::support::{observation, patient, TestApp};

/// The SMART fields of a token response, beyond RFC 6749's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmartFields {
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub id_token: Option<String>,
    pub need_patient_banner: Option<bool>,
    pub smart_style_url: Option<String>,
    pub intent: Option<String>,
}
impl ExtraTokenFields for SmartFields {}

pub type SmartResponse = StandardTokenResponse<SmartFields, BasicTokenType>;
pub type SmartClient = oauth2::Client<
    BasicErrorResponse,
    SmartResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A SMART app's client, configured from the server's discovery document (as apps do).
pub fn smart_client(app: &TestApp, client_id: &str) -> SmartClient {
    let conf = app.send(app.req("GET", "/.well-known/smart-configuration", None)).expect(200).json();
    oauth2::Client::new(ClientId::new(client_id.into()))
        .set_auth_uri(AuthUrl::new(conf["authorization_endpoint"].as_str().unwrap().into()).unwrap())
        .set_token_uri(TokenUrl::new(conf["token_endpoint"].as_str().unwrap().into()).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn scopes_of(t: &SmartResponse) -> Vec<String> {
    t.scopes().map(|s| s.iter().map(|x| x.to_string()).collect()).unwrap_or_default()
}

fn verify_id_token(app: &TestApp, id_token: &str, client_id: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(
        &app.send(app.req("GET", &format!("{}/.well-known/jwks.json", app.base), None)).expect(200).body,
    )
    .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("id_token kid in the JWKS");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[client_id]);
    v.set_issuer(&[app.fhir.as_str()]);
    jsonwebtoken::decode::<Value>(id_token, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap().claims
}

#[test]
fn discovery_documents_agree_and_allow_cors() {
    let app = TestApp::new();
    let r = app
        .send(app.req("GET", "/.well-known/smart-configuration", None).header("origin", "https://app.example"))
        .expect(200);
    assert_eq!(r.header("access-control-allow-origin").as_deref(), Some("https://app.example"));
    let c = r.json();
    for f in [
        "issuer",
        "jwks_uri",
        "authorization_endpoint",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "token_endpoint_auth_methods_supported",
        "grant_types_supported",
        "scopes_supported",
        "response_types_supported",
        "code_challenge_methods_supported",
        "capabilities",
        "token_endpoint_auth_signing_alg_values_supported",
    ] {
        assert!(c.get(f).is_some(), "smart-configuration lacks {f}");
    }
    assert_eq!(c["code_challenge_methods_supported"], json!(["S256"]));
    assert!(c["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("private_key_jwt")));
    for cap in [
        "launch-ehr",
        "launch-standalone",
        "client-public",
        "client-confidential-symmetric",
        "client-confidential-asymmetric",
        "context-ehr-patient",
        "context-standalone-patient",
        "context-banner",
        "context-style",
        "sso-openid-connect",
        "permission-offline",
        "permission-online",
        "permission-patient",
        "permission-user",
        "permission-v1",
        "permission-v2",
        "authorize-post",
    ] {
        assert!(c["capabilities"].as_array().unwrap().contains(&json!(cap)), "capability {cap}");
    }
    let o = app.send(app.req("GET", "/.well-known/openid-configuration", None)).expect(200).json();
    assert_eq!(o["issuer"], app.fhir.as_str());
    assert!(o["id_token_signing_alg_values_supported"].as_array().unwrap().contains(&json!("RS256")));
    for f in
        ["authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported", "subject_types_supported"]
    {
        assert!(o.get(f).is_some(), "openid-configuration lacks {f}");
    }
    let cs = app.send(app.req("GET", "/metadata", None)).expect(200).json();
    let sec = &cs["rest"][0]["security"];
    assert_eq!(sec["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    let ext = &sec["extension"][0];
    assert_eq!(ext["url"], "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
    let uri = |name: &str| {
        ext["extension"].as_array().unwrap().iter().find(|e| e["url"] == name).map(|e| e["valueUri"].clone())
    };
    assert_eq!(uri("authorize").unwrap(), c["authorization_endpoint"]);
    assert_eq!(uri("token").unwrap(), c["token_endpoint"]);
    assert_eq!(uri("introspect").unwrap(), c["introspection_endpoint"]);
    assert_eq!(uri("revoke").unwrap(), c["revocation_endpoint"]);
    assert_eq!(uri("manage").unwrap(), c["management_endpoint"]);
    let xml = app.send(app.req("GET", "/metadata?_format=xml", None)).expect(200).text();
    assert!(xml.contains("oauth-uris"), "{xml}");
}

#[test]
fn standalone_patient_launch_with_a_real_oauth2_client() {
    let app = TestApp::new();
    let me = app.create(&patient("Self"));
    let other = app.create(&patient("Other"));
    let mine = app.create(&observation(&me, "70"));
    let theirs = app.create(&observation(&other, "90"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client_id = public_client(&app);
    let client = smart_client(&app, &client_id);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(
            ["launch/patient", "openid", "fhirUser", "profile", "offline_access", "patient/*.rs"]
                .map(|s| Scope::new(s.into())),
        )
        .add_extra_param("aud", app.fhir.clone())
        .add_extra_param("nonce", "n-0S6_WzA2Mj")
        .set_pkce_challenge(challenge)
        .url();
    let redirect = walk(&app, url.as_str(), "pat", None);
    assert_eq!(location_param(&redirect, "state").as_deref(), Some(csrf.secret().as_str()));
    let code = location_param(&redirect, "code").unwrap();
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "code must be URL-safe: {code}");
    let token =
        client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request(&http()).unwrap();
    assert_eq!(*token.token_type(), BasicTokenType::Bearer);
    assert!(token.expires_in().is_some());
    assert_eq!(
        scopes_of(&token),
        ["launch/patient", "openid", "fhirUser", "profile", "offline_access", "patient/*.rs"]
    );
    let extra = token.extra_fields();
    assert_eq!(extra.patient.as_deref(), Some(me.as_str()));
    assert_eq!(extra.need_patient_banner, Some(true));
    let style = extra.smart_style_url.clone().unwrap();
    app.send(app.req("GET", &style, None)).expect(200).json()["color_background"].as_str().unwrap();
    let claims = verify_id_token(&app, extra.id_token.as_deref().unwrap(), &client_id);
    assert_eq!(claims["fhirUser"], format!("{}/Patient/{me}", app.fhir));
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["sub"], "pat");
    assert_eq!(claims["name"], "Test Self");
    assert!(claims["exp"].as_u64().is_some() && claims["iat"].as_u64().is_some());
    // The token reaches the patient's own data and nothing else.
    let at = token.access_token().secret().clone();
    app.get(&format!("/Patient/{me}"), &at).expect(200);
    app.get(&format!("/Observation/{mine}"), &at).expect(200);
    app.get(&format!("/Patient/{other}"), &at).expect(404);
    app.get(&format!("/Observation/{theirs}"), &at).expect(404);
    assert_eq!(app.get("/Observation", &at).expect(200).json()["total"], 1);
    app.post_json("/Observation", &at, &observation(&me, "71")).expect(403);
    // Refresh (rotation): a new refresh token each time, same grant.
    let rt = token.refresh_token().unwrap().clone();
    let refreshed = client.exchange_refresh_token(&rt).request(&http()).unwrap();
    let rt2 = refreshed.refresh_token().unwrap().secret().clone();
    assert_ne!(&rt2, rt.secret());
    assert_eq!(refreshed.extra_fields().patient.as_deref(), Some(me.as_str()));
    app.get(&format!("/Patient/{me}"), refreshed.access_token().secret()).expect(200);
    let narrowed = client
        .exchange_refresh_token(&RefreshToken::new(rt2))
        .add_scope(Scope::new("patient/Patient.rs".into()))
        .request(&http())
        .unwrap();
    assert_eq!(scopes_of(&narrowed), ["patient/Patient.rs"]);
    app.get(&format!("/Observation/{mine}"), narrowed.access_token().secret()).expect(403);
}

#[test]
fn ehr_launch_with_a_real_oauth2_client() {
    let app = TestApp::new();
    let pid = app.create(&patient("InClinic"));
    let enc = app.create(&json!({"resourceType": "Encounter", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": format!("Patient/{pid}")}}));
    let doc = app.create(&json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}));
    add_user(&app, "doc", &format!("Practitioner/{doc}"));
    // The EHR creates the launch context with the CLI; the value is alone on the last line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args([
            "launch",
            "--database-url",
            &app.db_url,
            "--patient",
            &pid,
            "--encounter",
            &enc,
            "--user",
            &format!("Practitioner/{doc}"),
            "--intent",
            "reconcile-medications",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let launch = String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_string();
    let client_id = public_client(&app);
    let client = smart_client(&app, &client_id);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(
            ["launch", "openid", "fhirUser", "patient/*.rs", "user/Practitioner.rs"].map(|s| Scope::new(s.into())),
        )
        .add_extra_param("aud", app.fhir.clone())
        .add_extra_param("launch", launch)
        .set_pkce_challenge(challenge)
        .url();
    let code = location_param(&walk(&app, url.as_str(), "doc", None), "code").unwrap();
    let token =
        client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request(&http()).unwrap();
    let e = token.extra_fields();
    assert_eq!(e.patient.as_deref(), Some(pid.as_str()));
    assert_eq!(e.encounter.as_deref(), Some(enc.as_str()));
    assert_eq!(e.need_patient_banner, Some(false));
    assert_eq!(e.intent.as_deref(), Some("reconcile-medications"));
    assert!(e.smart_style_url.is_some());
    assert!(scopes_of(&token).contains(&"launch".to_string()));
    let claims = verify_id_token(&app, e.id_token.as_deref().unwrap(), &client_id);
    assert_eq!(claims["fhirUser"], format!("{}/Practitioner/{doc}", app.fhir));
    app.get(&format!("/Encounter/{enc}"), token.access_token().secret()).expect(200);
}
