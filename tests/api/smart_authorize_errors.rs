//! One test per rule of the authorization endpoint and the sign-in/consent forms.
//!
//! RFC 6749 §4.1.2.1: "If the request fails due to a missing, invalid, or mismatching redirection URI,
//! or if the client identifier is missing or invalid, the authorization server SHOULD inform the
//! resource owner of the error and MUST NOT automatically redirect the user-agent to the invalid
//! redirection URI." Later errors are redirected with `error` and `state`.

use crate::smart_support::*;
use crate::support::{patient, Resp, TestApp};

/// A page error: 400 HTML, never a redirect.
#[track_caller]
fn assert_page(r: Resp) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.header("location").is_none(), "must not redirect");
    assert!(r.header("content-type").unwrap_or_default().starts_with("text/html"));
}

/// A redirect error with `error` and the app's `state`.
#[track_caller]
fn assert_redirect_error(r: &Resp, error: &str, state: Option<&str>) {
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with(REDIRECT));
    assert_eq!(location_param(r, "error").as_deref(), Some(error), "{:?}", r.header("location"));
    assert_eq!(location_param(r, "state").as_deref(), state);
    assert!(location_param(r, "code").is_none());
}

/// Standard params with `name` replaced (`None`: removed).
fn with(app: &TestApp, client: &str, challenge: &str, name: &str, value: Option<&str>) -> String {
    let mut p: Vec<(&str, &str)> = standard_params(app, client, "launch/patient patient/*.rs", challenge)
        .into_iter()
        .filter(|(k, _)| *k != name)
        .collect();
    if let Some(v) = value {
        p.push((name, v));
    }
    authorize_url(app, &p)
}

fn setup() -> (TestApp, String, String) {
    let app = TestApp::new();
    let client = public_client(&app);
    let (_, challenge) = pkce();
    (app, client, challenge)
}

#[test]
fn unknown_client_id_is_a_page() {
    let (app, _, ch) = setup();
    assert_page(Browser::new().get(&with(&app, "no-such-client", &ch, "state", Some("s"))));
}

#[test]
fn missing_client_id_is_a_page() {
    let (app, c, ch) = setup();
    assert_page(Browser::new().get(&with(&app, &c, &ch, "client_id", None)));
}

#[test]
fn unregistered_redirect_uri_is_a_page_not_an_open_redirect() {
    let (app, c, ch) = setup();
    assert_page(Browser::new().get(&with(&app, &c, &ch, "redirect_uri", Some("https://evil.example/cb"))));
}

#[test]
fn redirect_uri_must_match_exactly() {
    let (app, c, ch) = setup();
    assert_page(Browser::new().get(&with(&app, &c, &ch, "redirect_uri", Some(&format!("{REDIRECT}/more")))));
    assert_page(Browser::new().get(&with(&app, &c, &ch, "redirect_uri", Some(&format!("{REDIRECT}?x=1")))));
}

#[test]
fn missing_redirect_uri_is_a_page() {
    let (app, c, ch) = setup();
    assert_page(Browser::new().get(&with(&app, &c, &ch, "redirect_uri", None)));
}

#[test]
fn repeated_parameter_is_refused() {
    let (app, c, ch) = setup();
    let url = format!("{}&client_id={c}", with(&app, &c, &ch, "state", Some("s")));
    assert_page(Browser::new().get(&url));
}

#[test]
fn response_type_other_than_code_is_redirected_as_unsupported() {
    let (app, c, ch) = setup();
    let r = Browser::new().get(&with(&app, &c, &ch, "response_type", Some("token")));
    assert_redirect_error(&r, "unsupported_response_type", Some("st-123"));
}

#[test]
fn missing_state_is_invalid_request() {
    let (app, c, ch) = setup();
    assert_redirect_error(&Browser::new().get(&with(&app, &c, &ch, "state", None)), "invalid_request", None);
}

#[test]
fn wrong_aud_is_refused() {
    let (app, c, ch) = setup();
    let r = Browser::new().get(&with(&app, &c, &ch, "aud", Some("https://other.example/fhir")));
    assert_redirect_error(&r, "invalid_request", Some("st-123"));
}

#[test]
fn missing_aud_is_refused() {
    let (app, c, ch) = setup();
    assert_redirect_error(&Browser::new().get(&with(&app, &c, &ch, "aud", None)), "invalid_request", Some("st-123"));
}

#[test]
fn public_client_without_pkce_is_refused() {
    let (app, c, _) = setup();
    let p: Vec<(&str, &str)> = standard_params(&app, &c, "patient/*.rs", "x")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    assert_redirect_error(&Browser::new().get(&authorize_url(&app, &p)), "invalid_request", Some("st-123"));
}

#[test]
fn pkce_plain_is_refused() {
    let (app, c, ch) = setup();
    let r = Browser::new().get(&with(&app, &c, &ch, "code_challenge_method", Some("plain")));
    assert_redirect_error(&r, "invalid_request", Some("st-123"));
}

#[test]
fn malformed_scope_is_invalid_scope() {
    let (app, c, ch) = setup();
    let mut p = standard_params(&app, &c, "patient/Observation.xyz", &ch);
    p.retain(|_| true);
    assert_redirect_error(&Browser::new().get(&authorize_url(&app, &p)), "invalid_scope", Some("st-123"));
    let p = standard_params(&app, &c, "patient/Observation.rs?nosuchparam=1", &ch);
    assert_redirect_error(&Browser::new().get(&authorize_url(&app, &p)), "invalid_scope", Some("st-123"));
}

#[test]
fn unknown_launch_value_is_refused() {
    let (app, c, ch) = setup();
    let mut p = standard_params(&app, &c, "launch patient/*.rs", &ch);
    p.push(("launch", "made-up"));
    assert_redirect_error(&Browser::new().get(&authorize_url(&app, &p)), "invalid_request", Some("st-123"));
}

#[test]
fn launch_scope_without_launch_value_is_refused() {
    let (app, c, ch) = setup();
    let p = standard_params(&app, &c, "launch patient/*.rs", &ch);
    assert_redirect_error(&Browser::new().get(&authorize_url(&app, &p)), "invalid_request", Some("st-123"));
}

#[test]
fn wrong_password_shows_the_login_again_and_issues_nothing() {
    let (app, c, ch) = setup();
    add_user(&app, "pat", "Patient/p1");
    let mut b = Browser::new();
    let page = b.get(&with(&app, &c, &ch, "state", Some("s"))).expect(200).text();
    let r = submit(&mut b, &page, &[("username", "pat"), ("password", "wrong password")]);
    assert_eq!(r.status, 401);
    assert!(r.header("location").is_none());
    assert!(r.text().contains("wrong"));
    let r = submit(&mut b, &page, &[("username", "nobody"), ("password", PASSWORD)]);
    assert_eq!(r.status, 401);
}

#[test]
fn login_without_the_session_cookie_is_refused() {
    let (app, c, ch) = setup();
    add_user(&app, "pat", "Patient/p1");
    let mut b = Browser::new();
    let page = b.get(&with(&app, &c, &ch, "state", Some("s"))).expect(200).text();
    b.forget_cookie();
    assert_page(login(&mut b, &page, "pat"));
}

#[test]
fn login_with_a_wrong_csrf_token_is_refused() {
    let (app, c, ch) = setup();
    add_user(&app, "pat", "Patient/p1");
    let mut b = Browser::new();
    let page = b.get(&with(&app, &c, &ch, "state", Some("s"))).expect(200).text();
    let fields = vec![
        ("request".to_string(), hidden(&page, "request")),
        ("csrf".to_string(), "forged".to_string()),
        ("username".to_string(), "pat".to_string()),
        ("password".to_string(), PASSWORD.to_string()),
    ];
    assert_page(b.post_form(&form_action(&page), &fields));
}

#[test]
fn consent_denied_redirects_access_denied() {
    let (app, c, ch) = setup();
    add_user(&app, "pat", "Patient/p1");
    let mut b = Browser::new();
    let page = b.get(&with(&app, &c, &ch, "state", Some("s"))).expect(200).text();
    let consent = login(&mut b, &page, "pat").expect(200).text();
    let r = submit(&mut b, &consent, &[("decision", "deny")]);
    assert_redirect_error(&r, "access_denied", Some("s"));
}

#[test]
fn consent_cannot_be_submitted_twice() {
    let (app, c, ch) = setup();
    add_user(&app, "pat", "Patient/p1");
    let mut b = Browser::new();
    let page = b.get(&with(&app, &c, &ch, "state", Some("s"))).expect(200).text();
    let consent = login(&mut b, &page, "pat").expect(200).text();
    allow(&mut b, &consent, &[]).expect(303);
    assert_page(allow(&mut b, &consent, &[]));
}

#[test]
fn consent_cannot_add_scopes_that_were_not_requested() {
    let app = TestApp::new();
    let me = app.create(&patient("NoExtra"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let c = public_client(&app);
    let (verifier, ch) = pkce();
    let mut b = Browser::new();
    let page = b.get(&authorize_url(&app, &standard_params(&app, &c, "patient/Patient.rs", &ch))).expect(200).text();
    let consent = login(&mut b, &page, "pat").expect(200).text();
    let r = submit(
        &mut b,
        &consent,
        &[("scope", "patient/Patient.rs"), ("scope", "patient/*.cruds"), ("decision", "allow")],
    )
    .expect(303);
    let t = exchange(&app, &c, &location_param(&r, "code").unwrap(), &verifier).expect(200).json();
    assert_eq!(t["scope"], "patient/Patient.rs");
}

#[test]
fn a_patient_cannot_complete_an_ehr_launch_for_another_patient() {
    let app = TestApp::new();
    let a = app.create(&patient("LaunchA"));
    let other = app.create(&patient("LaunchB"));
    add_user(&app, "pat", &format!("Patient/{other}"));
    let launch = {
        let mut c = app.state.store.conn().unwrap();
        bedside::smart::launch::create(
            &mut c,
            &bedside::smart::launch::NewLaunch { patient: Some(a), ..Default::default() },
            "test",
            bedside::fhir::service::exists,
        )
        .unwrap()
    };
    let c = public_client(&app);
    let (_, ch) = pkce();
    let mut p = standard_params(&app, &c, "launch patient/*.rs", &ch);
    p.push(("launch", &launch));
    let mut b = Browser::new();
    let page = b.get(&authorize_url(&app, &p)).expect(200).text();
    assert_redirect_error(&login(&mut b, &page, "pat"), "access_denied", Some("st-123"));
}
