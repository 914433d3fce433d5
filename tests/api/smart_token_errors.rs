//! One test per rule of the token endpoint (RFC 6749 §5.2 errors, RFC 7636 PKCE, SMART refresh
//! rules) and of enforcement with the tokens it issues.

use serde_json::json;

use crate::smart_support::*;
use crate::support::{observation, patient, Resp, TestApp};

#[track_caller]
fn assert_oauth_error(r: Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json()["error"], error, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
}

fn setup(scope: &str) -> (TestApp, String, String, String, String) {
    let app = TestApp::new();
    let me = app.create(&patient("Tok"));
    let (client, code, verifier) = patient_code(&app, &me, scope);
    (app, me, client, code, verifier)
}

fn sql(app: &TestApp, q: &str) {
    use diesel::RunQueryDsl;
    let mut c = app.state.store.conn().unwrap();
    diesel::sql_query(q).execute(&mut *c).unwrap();
}

#[test]
fn reused_code_fails_and_revokes_what_it_issued() {
    let (app, me, client, code, verifier) = setup("patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Patient/{me}"), at).expect(200);
    assert_oauth_error(exchange(&app, &client, &code, &verifier), 400, "invalid_grant");
    app.get(&format!("/Patient/{me}"), at).expect(401);
    let r = refresh(&app, &client, &t);
    assert_oauth_error(r, 400, "invalid_grant");
}

#[test]
fn expired_code_fails() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs");
    sql(&app, "UPDATE auth_codes SET expires_at = 0");
    assert_oauth_error(exchange(&app, &client, &code, &verifier), 400, "invalid_grant");
}

#[test]
fn unknown_code_fails() {
    let (app, _, client, _, verifier) = setup("patient/Patient.rs");
    assert_oauth_error(exchange(&app, &client, "not-a-code", &verifier), 400, "invalid_grant");
}

#[test]
fn redirect_uri_must_match_the_authorization_request() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs");
    let r = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:9999/other"),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
        None,
    );
    assert_oauth_error(r, 400, "invalid_grant");
}

#[test]
fn missing_code_verifier_fails() {
    let (app, _, client, code, _) = setup("patient/Patient.rs");
    let r = token_request(
        &app,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", &client)],
        None,
    );
    assert_oauth_error(r, 400, "invalid_grant");
}

#[test]
fn wrong_code_verifier_fails() {
    let (app, _, client, code, _) = setup("patient/Patient.rs");
    let (other, _) = pkce();
    assert_oauth_error(exchange(&app, &client, &code, &other), 400, "invalid_grant");
}

#[test]
fn code_of_another_client_fails() {
    let (app, _, _, code, verifier) = setup("patient/Patient.rs");
    let thief = public_client(&app);
    assert_oauth_error(exchange(&app, &thief, &code, &verifier), 400, "invalid_grant");
}

#[test]
fn wrong_client_secret_is_invalid_client_with_a_challenge() {
    let app = TestApp::new();
    let (client, _) = secret_client(&app);
    let r = token_request(
        &app,
        &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", REDIRECT)],
        Some((&client, "wrong")),
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    assert_oauth_error(r, 401, "invalid_client");
    let r = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("client_secret", "wrong"),
        ],
        None,
    );
    assert_oauth_error(r, 401, "invalid_client");
}

#[test]
fn confidential_client_must_authenticate() {
    let app = TestApp::new();
    let (client, _) = secret_client(&app);
    let r = token_request(
        &app,
        &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", REDIRECT), ("client_id", &client)],
        None,
    );
    assert_oauth_error(r, 401, "invalid_client");
}

#[test]
fn unknown_client_is_invalid_client() {
    let app = TestApp::new();
    let r = token_request(
        &app,
        &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", REDIRECT), ("client_id", "ghost")],
        None,
    );
    assert_oauth_error(r, 401, "invalid_client");
}

#[test]
fn unsupported_grant_type() {
    let app = TestApp::new();
    let r = token_request(&app, &[("grant_type", "password"), ("username", "a"), ("password", "b")], None);
    assert_oauth_error(r, 400, "unsupported_grant_type");
}

#[test]
fn token_request_must_be_a_form() {
    let app = TestApp::new();
    let r = app.send(
        app.req("POST", &format!("{}/auth/token", app.base), None)
            .header("content-type", "application/json")
            .body("{}"),
    );
    assert_oauth_error(r, 400, "invalid_request");
}

#[test]
fn repeated_token_parameter_is_invalid_request() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs");
    let r = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client),
            ("code_verifier", &verifier),
        ],
        None,
    );
    assert_oauth_error(r, 400, "invalid_request");
}

#[test]
fn refresh_cannot_escalate_scope() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let r = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &client),
            ("scope", "patient/Patient.rs patient/Observation.rs"),
        ],
        None,
    );
    assert_oauth_error(r, 400, "invalid_scope");
    let r = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &client),
            ("scope", "patient/Patient.cruds"),
        ],
        None,
    );
    assert_oauth_error(r, 400, "invalid_scope");
}

#[test]
fn reused_refresh_token_revokes_the_grant() {
    let (app, me, client, code, verifier) = setup("patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let rt = t["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", client.as_str())];
    let t2 = token_request(&app, &form, None).expect(200).json();
    assert_oauth_error(token_request(&app, &form, None), 400, "invalid_grant");
    // The rotated token and its access token die with the grant.
    app.get(&format!("/Patient/{me}"), t2["access_token"].as_str().unwrap()).expect(401);
    let r = refresh(&app, &client, &t2);
    assert_oauth_error(r, 400, "invalid_grant");
}

#[test]
fn refresh_token_of_another_client_fails() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let thief = public_client(&app);
    let r = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &thief),
        ],
        None,
    );
    assert_oauth_error(r, 400, "invalid_grant");
}

#[test]
fn expired_refresh_token_fails() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs online_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    sql(&app, "UPDATE refresh_tokens SET expires_at = 0");
    let r = refresh(&app, &client, &t);
    assert_oauth_error(r, 400, "invalid_grant");
}

#[test]
fn no_refresh_token_without_offline_or_online_access() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    assert!(t.get("refresh_token").is_none());
    assert!(t.get("id_token").is_none(), "no id_token without openid");
}

#[test]
fn token_for_patient_a_cannot_read_patient_b() {
    let app = TestApp::new();
    let a = app.create(&patient("A"));
    let b = app.create(&patient("B"));
    let ob = app.create(&observation(&b, "1"));
    let (client, code, verifier) = patient_code(&app, &a, "launch/patient patient/*.cruds");
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    app.get(&format!("/Patient/{b}"), &at).expect(404);
    app.get(&format!("/Observation/{ob}"), &at).expect(404);
    app.get(&format!("/Observation/{ob}/_history"), &at).expect(404);
    assert_eq!(app.get(&format!("/Observation?subject=Patient/{b}"), &at).expect(200).json()["total"], 0);
    app.put_json(&format!("/Observation/{ob}"), &at, &{
        let mut o = observation(&b, "2");
        o["id"] = json!(ob);
        o
    })
    .expect(403); // as for a free id: patient-bound tokens create with POST only
    app.delete(&format!("/Observation/{ob}"), &at).expect(204); // as for an absent resource: nothing changes
    app.get(&format!("/Observation/{ob}"), &app.admin()).expect(200);
    app.post_json("/Observation", &at, &observation(&b, "3")).expect(403);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": observation(&b, "4"), "request": {"method": "POST", "url": "Observation"}}]});
    app.post_json("", &at, &bundle).expect(403);
}

#[test]
fn type_not_granted_is_403_not_an_empty_200() {
    let (app, me, client, code, verifier) = setup("launch/patient patient/Patient.rs");
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    let r = app.get("/Observation", &at).expect(403);
    assert_eq!(r.json()["resourceType"], "OperationOutcome");
    app.get(&format!("/Observation?patient={me}"), &at).expect(403);
}

#[test]
fn id_token_is_not_an_access_token() {
    let (app, me, client, code, verifier) = setup("openid fhirUser patient/Patient.rs");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    app.get(&format!("/Patient/{me}"), t["id_token"].as_str().unwrap()).expect(401);
}

#[test]
fn granular_scope_limits_writes_too() {
    let app = TestApp::new();
    let me = app.create(&patient("GranWrite"));
    let scope =
        "patient/Observation.cruds?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
    let (client, code, verifier) = patient_code(&app, &me, scope);
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    app.post_json("/Observation", &at, &observation(&me, "9")).expect(403);
    let mut lab = observation(&me, "9");
    lab["category"][0]["coding"][0]["code"] = json!("laboratory");
    app.post_json("/Observation", &at, &lab).expect(201);
}

#[test]
fn introspection_needs_an_authenticated_caller() {
    let (app, _, client, code, verifier) = setup("patient/Patient.rs");
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    assert_oauth_error(post_form(&app, "/auth/introspect", &[("token", &at)], None), 401, "invalid_client");
    assert_oauth_error(
        post_form(&app, "/auth/introspect", &[("token", &at), ("client_id", &client)], None),
        401,
        "invalid_client",
    );
    let body = format!("token={at}");
    let r = app.send(
        app.req("POST", &format!("{}/auth/introspect", app.base), Some(&at))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    );
    assert_eq!(r.status, 403, "a patient token cannot introspect");
}

#[test]
fn a_client_cannot_revoke_another_clients_token() {
    let (app, me, client, code, verifier) = setup("patient/Patient.rs");
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    let other = public_client(&app);
    assert_oauth_error(
        post_form(&app, "/auth/revoke", &[("token", &at), ("client_id", &other)], None),
        400,
        "unauthorized_client",
    );
    app.get(&format!("/Patient/{me}"), &at).expect(200);
}

#[test]
fn registration_is_off_by_default_and_checks_metadata() {
    let app = TestApp::new();
    let url = format!("{}/auth/register", app.base);
    let meta = json!({"client_name": "X", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    let r = app.send(app.req("POST", &url, None).header("content-type", "application/json").body(meta.to_string()));
    assert_eq!(r.status, 404);
    assert!(app
        .send(app.req("GET", "/.well-known/smart-configuration", None))
        .json()
        .get("registration_endpoint")
        .is_none());
    let app = TestApp::with_settings(|s| s.enable_dcr = true);
    let url = format!("{}/auth/register", app.base);
    let cases = [
        (
            json!({"redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#frag"], "token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "magic"}), "invalid_client_metadata"),
        (json!({"redirect_uris": "not-an-array"}), "invalid_client_metadata"),
        (json!({"token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [REDIRECT], "scope": "patient/Nope.rs"}), "invalid_client_metadata"),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}]}}),
            "invalid_client_metadata",
        ),
    ];
    for (meta, error) in cases {
        let r = app.send(app.req("POST", &url, None).header("content-type", "application/json").body(meta.to_string()));
        assert_oauth_error(r, 400, error);
    }
}
