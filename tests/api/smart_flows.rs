//! SMART flows beyond the basic launches: the practitioner's patient picker, consent in plain words
//! with unticking, granular scopes, confidential clients, introspection, revocation, registration.

use bedside::smart::clients::ClientAuth;
use serde_json::json;

use crate::smart_support::*;
use crate::support::{observation, patient, TestApp};

fn lab(pid: &str) -> serde_json::Value {
    let mut o = observation(pid, "5.4");
    o["category"][0]["coding"][0]["code"] = json!("laboratory");
    o
}

const LAB_SCOPE: &str =
    "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

#[test]
fn practitioner_standalone_launch_picks_a_patient() {
    let app = TestApp::new();
    let a = app.create(&patient("Picked"));
    let b = app.create(&patient("NotPicked"));
    add_user(&app, "doc", "Practitioner/doc-1");
    let client = public_client(&app);
    let (verifier, challenge) = pkce();
    let url = authorize_url(&app, &standard_params(&app, &client, "launch/patient patient/Patient.rs", &challenge));
    let mut b_ = Browser::new();
    let login_page = b_.get(&url).expect(200).text();
    let picker = login(&mut b_, &login_page, "doc").expect(200).text();
    assert!(picker.contains("Choose a patient") && picker.contains("Test Picked"), "{picker}");
    let consent = submit(&mut b_, &picker, &[("patient", &a)]).expect(200).text();
    assert!(consent.contains("Read this patient") && consent.contains("personal details"), "{consent}");
    let code = location_param(&allow(&mut b_, &consent, &[]), "code").unwrap();
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    assert_eq!(t["patient"], a.as_str());
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Patient/{a}"), at).expect(200);
    app.get(&format!("/Patient/{b}"), at).expect(404);
}

#[test]
fn consent_speaks_plain_words_and_unticked_types_are_not_granted() {
    let app = TestApp::new();
    let me = app.create(&patient("Words"));
    let obs = app.create(&lab(&me));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = public_client(&app);
    let (verifier, challenge) = pkce();
    let scope = format!("launch/patient {LAB_SCOPE} patient/Appointment.rs patient/Patient.rs");
    let url = authorize_url(&app, &standard_params(&app, &client, &scope, &challenge));
    let mut br = Browser::new();
    let page = br.get(&url).expect(200).text();
    let consent = login(&mut br, &page, "pat").expect(200).text();
    assert!(consent.contains("Read your lab results"), "{consent}");
    assert!(consent.contains("See your appointments"), "{consent}");
    assert!(consent.contains("Read your personal details"), "{consent}");
    let redirect = allow(&mut br, &consent, &[LAB_SCOPE]);
    let t = exchange(&app, &client, &location_param(&redirect, "code").unwrap(), &verifier).expect(200).json();
    assert_eq!(
        t["scope"], "launch/patient patient/Appointment.rs patient/Patient.rs",
        "granted scope is what was approved"
    );
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Observation/{obs}"), at).expect(403);
    app.get("/Observation", at).expect(403);
    app.get(&format!("/Patient/{me}"), at).expect(200);
}

#[test]
fn granular_category_scope_hides_other_categories() {
    let app = TestApp::new();
    let me = app.create(&patient("Granular"));
    let lab_obs = app.create(&lab(&me));
    let vital = app.create(&observation(&me, "80"));
    let (client, code, verifier) = patient_code(&app, &me, &format!("launch/patient {LAB_SCOPE}"));
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Observation/{lab_obs}"), at).expect(200);
    app.get(&format!("/Observation/{vital}"), at).expect(404);
    app.get(&format!("/Observation/{vital}/_history/1"), at).expect(404);
    let s = app.get("/Observation", at).expect(200).json();
    assert_eq!(s["total"], 1);
    assert_eq!(s["entry"][0]["resource"]["id"], lab_obs.as_str());
    let h = app.get("/Observation/_history", at).expect(200).json();
    let ids: Vec<&str> = h["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [lab_obs.as_str()]);
}

#[test]
fn patient_user_with_user_scopes_sees_only_their_record() {
    let app = TestApp::new();
    let me = app.create(&patient("UserScoped"));
    let other = app.create(&patient("Someone"));
    let (client, code, verifier) = patient_code(&app, &me, "user/*.rs");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Patient/{me}"), at).expect(200);
    app.get(&format!("/Patient/{other}"), at).expect(404);
    assert_eq!(app.get("/Patient", at).expect(200).json()["total"], 1);
}

#[test]
fn confidential_client_with_basic_and_post_secrets() {
    let app = TestApp::new();
    let me = app.create(&patient("Conf"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let (client, secret) = secret_client(&app);
    for basic in [true, false] {
        let url = authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &client),
                ("redirect_uri", REDIRECT),
                ("scope", "patient/Patient.rs offline_access"),
                ("state", "s"),
                ("aud", &app.fhir),
            ],
        );
        let code = location_param(&walk(&app, &url, "pat", None), "code").unwrap();
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
        let r = if basic {
            token_request(&app, &form, Some((&client, &secret)))
        } else {
            let mut f = form.to_vec();
            f.extend([("client_id", client.as_str()), ("client_secret", secret.as_str())]);
            token_request(&app, &f, None)
        };
        let r = r.expect(200);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
        let t = r.json();
        assert_eq!(t["token_type"], "Bearer");
        assert!(t["expires_in"].as_u64().unwrap() > 0);
        assert!(t["refresh_token"].is_string());
        assert_eq!(t["patient"], me.as_str());
    }
}

#[test]
fn introspection_and_revocation() {
    let app = TestApp::new();
    let me = app.create(&patient("Intro"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient patient/Patient.rs offline_access fhirUser");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap().to_string();
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let (rs, rs_secret) = secret_client(&app);
    let i = post_form(&app, "/auth/introspect", &[("token", &at)], Some((&rs, &rs_secret))).expect(200).json();
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], client.as_str());
    assert_eq!(i["patient"], me.as_str());
    assert_eq!(i["scope"], "launch/patient patient/Patient.rs offline_access fhirUser");
    assert_eq!(i["iss"], app.fhir.as_str());
    assert_eq!(i["fhirUser"], format!("{}/Patient/{me}", app.fhir));
    assert!(i["exp"].as_u64().is_some() && i["sub"].is_string());
    let i = post_form(&app, "/auth/introspect", &[("token", &rt)], Some((&rs, &rs_secret))).expect(200).json();
    assert_eq!(i["active"], true);
    let i = post_form(&app, "/auth/introspect", &[("token", "nonsense")], Some((&rs, &rs_secret))).expect(200).json();
    assert_eq!(i, json!({"active": false}));
    // A system token may introspect too (resource servers).
    let sys = app.token("system/*.rs", None);
    let body = format!("token={at}");
    let r = app.send(
        app.req("POST", &format!("{}/auth/introspect", app.base), Some(&sys))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    );
    assert_eq!(r.expect(200).json()["active"], true);
    // Revoking the access token revokes the grant: the access and refresh tokens die at once.
    app.get(&format!("/Patient/{me}"), &at).expect(200);
    post_form(&app, "/auth/revoke", &[("token", &at), ("client_id", &client)], None).expect(200);
    app.get(&format!("/Patient/{me}"), &at).expect(401);
    let i = post_form(&app, "/auth/introspect", &[("token", &at)], Some((&rs, &rs_secret))).expect(200).json();
    assert_eq!(i, json!({"active": false}));
    let r =
        token_request(&app, &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", &client)], None)
            .expect(400);
    assert_eq!(r.json()["error"], "invalid_grant");
    // Unknown tokens: still 200 (RFC 7009).
    post_form(&app, "/auth/revoke", &[("token", "unknown"), ("client_id", &client)], None).expect(200);
}

#[test]
fn revoking_a_refresh_token_ends_the_access_token_too() {
    let app = TestApp::new();
    let me = app.create(&patient("RevokeRt"));
    let (client, code, verifier) = patient_code(&app, &me, "patient/Patient.rs online_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    post_form(&app, "/auth/revoke", &[("token", t["refresh_token"].as_str().unwrap()), ("client_id", &client)], None)
        .expect(200);
    app.get(&format!("/Patient/{me}"), at).expect(401);
}

#[test]
fn dynamic_client_registration_when_enabled() {
    let app = TestApp::with_settings(|s| s.enable_dcr = true);
    let conf = app.send(app.req("GET", "/.well-known/smart-configuration", None)).expect(200).json();
    let url = conf["registration_endpoint"].as_str().unwrap().to_string();
    let meta = json!({"client_name": "Registered", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"], "scope": "patient/*.rs launch/patient offline_access"});
    let r = app
        .send(app.req("POST", &url, None).header("content-type", "application/json").body(meta.to_string()))
        .expect(201);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let reg = r.json();
    let (id, secret) = (reg["client_id"].as_str().unwrap(), reg["client_secret"].as_str().unwrap());
    assert_eq!(reg["redirect_uris"], json!([REDIRECT]));
    let me = app.create(&patient("Dcr"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    // The registered scope limits what the client can get (user/ is dropped, patient/ kept).
    let url = authorize_url(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", id),
            ("redirect_uri", REDIRECT),
            ("scope", "launch/patient patient/Patient.rs user/*.rs"),
            ("state", "s"),
            ("aud", &app.fhir),
        ],
    );
    let code = location_param(&walk(&app, &url, "pat", None), "code").unwrap();
    let t = token_request(
        &app,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
        Some((id, secret)),
    )
    .expect(200)
    .json();
    assert_eq!(t["scope"], "launch/patient patient/Patient.rs");
    // A public client registers too.
    let meta = json!({"client_name": "SPA", "redirect_uris": ["https://spa.example/cb"], "token_endpoint_auth_method": "none"});
    let reg = app
        .send(app.req("POST", &url_of(&app), None).header("content-type", "application/json").body(meta.to_string()))
        .expect(201)
        .json();
    assert!(reg.get("client_secret").is_none());
}

fn url_of(app: &TestApp) -> String {
    format!("{}/auth/register", app.base)
}

#[test]
fn authorize_by_post_works() {
    let app = TestApp::new();
    let me = app.create(&patient("Post"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = public_client(&app);
    let (verifier, challenge) = pkce();
    let params = standard_params(&app, &client, "launch/patient patient/Patient.rs", &challenge);
    let mut br = Browser::new();
    let fields: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let page = br.post_form(&format!("{}/auth/authorize", app.base), &fields).expect(200).text();
    let consent = login(&mut br, &page, "pat").expect(200).text();
    let code = location_param(&allow(&mut br, &consent, &[]), "code").unwrap();
    exchange(&app, &client, &code, &verifier).expect(200);
}

#[test]
fn cli_adds_users_and_clients() {
    use std::io::Write;
    let app = TestApp::new();
    let me = app.create(&patient("Cli"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args([
            "user",
            "add",
            "--database-url",
            &app.db_url,
            "--username",
            "cliuser",
            "--password-stdin",
            "--fhir-user",
            &format!("Patient/{me}"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args([
            "client",
            "add",
            "--database-url",
            &app.db_url,
            "--name",
            "CLI app",
            "--redirect-uri",
            REDIRECT,
            "--secret",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, secret) = (reg["client_id"].as_str().unwrap(), reg["client_secret"].as_str().unwrap());
    let url = authorize_url(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", id),
            ("redirect_uri", REDIRECT),
            ("scope", "patient/Patient.rs"),
            ("state", "s"),
            ("aud", &app.fhir),
        ],
    );
    let code = location_param(&walk(&app, &url, "cliuser", None), "code").unwrap();
    token_request(
        &app,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)],
        Some((id, secret)),
    )
    .expect(200);
    let (pub_id, _) = register(&app, ClientAuth::Public, &[REDIRECT], "");
    assert!(!pub_id.is_empty());
}

#[test]
fn cors_on_token_endpoint_errors() {
    let app = TestApp::new();
    let r = app.send(
        app.req("POST", &format!("{}/auth/token", app.base), None)
            .header("origin", "https://app.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=authorization_code&code=x&redirect_uri=y&client_id=z"),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin").as_deref(), Some("https://app.example"));
    assert_eq!(r.json()["error"], "invalid_client");
    let pre = app.send(
        app.req("OPTIONS", &format!("{}/auth/token", app.base), None)
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST"),
    );
    assert!(pre.status < 300, "preflight {}", pre.status);
}

#[test]
fn a_whole_record_request_can_be_narrowed_kind_by_kind() {
    let app = TestApp::new();
    let me = app.create(&patient("Wildcard"));
    let obs = app.create(&lab(&me));
    let claim_free = app.create(&serde_json::json!({"resourceType": "Coverage", "status": "active",
        "beneficiary": {"reference": format!("Patient/{me}")}, "payor": [{"reference": format!("Patient/{me}")}]}));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = public_client(&app);
    let (verifier, challenge) = pkce();
    let url = authorize_url(&app, &standard_params(&app, &client, "launch/patient patient/*.rs", &challenge));
    let mut br = Browser::new();
    let page = br.get(&url).expect(200).text();
    let consent = login(&mut br, &page, "pat").expect(200).text();
    // "Everything" is offered as kinds of data, each in plain words.
    assert!(consent.contains("Read your lab results, vital signs, test reports and images"), "{consent}");
    assert!(consent.contains("Read your insurance and billing"), "{consent}");
    assert!(!consent.contains("whole health record"), "{consent}");
    // One checkbox per consent group, every served type in one of them.
    for (key, words, _) in bedside::web::words::WILDCARD_GROUPS {
        assert!(consent.contains(&format!(".rs#{key}\"")), "{key}: {consent}");
        assert!(consent.contains(&format!("Read your {words}")), "{words}: {consent}");
    }
    let redirect = allow(&mut br, &consent, &["patient/*.rs#insurance"]);
    let t = exchange(&app, &client, &location_param(&redirect, "code").unwrap(), &verifier).expect(200).json();
    let scope = t["scope"].as_str().unwrap();
    assert!(
        scope.contains("patient/Observation.rs") && !scope.contains("patient/*.rs") && !scope.contains("Coverage"),
        "{scope}"
    );
    // Every type of every ticked group, one scope each (over a hundred: the token still works).
    let insurance = bedside::web::words::WILDCARD_GROUPS.iter().find(|(k, _, _)| *k == "insurance").unwrap().2;
    let expected = bedside::fhir::types::SUPPORTED_TYPES.len() - insurance.len();
    assert_eq!(scope.split_whitespace().filter(|s| s.starts_with("patient/")).count(), expected, "{scope}");
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Observation/{obs}"), at).expect(200);
    app.get(&format!("/Coverage/{claim_free}"), at).expect(403);
    // Ticking everything grants the request as asked.
    let (verifier, challenge) = pkce();
    let url = authorize_url(&app, &standard_params(&app, &client, "launch/patient patient/*.rs", &challenge));
    let r = walk(&app, &url, "pat", None);
    let t = exchange(&app, &client, &location_param(&r, "code").unwrap(), &verifier).expect(200).json();
    assert_eq!(t["scope"], "launch/patient patient/*.rs");
}

#[test]
fn a_public_app_refreshes_with_the_refresh_token_alone() {
    // SMART App Launch, "refresh": public apps send grant_type and refresh_token; JS fhirclient does
    // exactly this by default.
    let app = TestApp::new();
    let me = app.create(&patient("Refresh"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient offline_access patient/Patient.rs");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let r = token_request(&app, &[("grant_type", "refresh_token"), ("refresh_token", &rt)], None).expect(200).json();
    let at = r["access_token"].as_str().unwrap();
    app.get(&format!("/Patient/{me}"), at).expect(200);
    // The old token was rotated away; an unknown token names no client.
    token_request(&app, &[("grant_type", "refresh_token"), ("refresh_token", &rt)], None).expect(400);
    let e = token_request(&app, &[("grant_type", "refresh_token"), ("refresh_token", "nope")], None).expect(401).json();
    assert_eq!(e["error"], "invalid_client");
}

#[test]
fn repeated_failed_sign_ins_lock_the_name_for_a_while() {
    let app = TestApp::new();
    let me = app.create(&patient("Locked"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = public_client(&app);
    let (_verifier, challenge) = pkce();
    let url = authorize_url(&app, &standard_params(&app, &client, "launch/patient patient/*.rs", &challenge));
    let mut br = Browser::new();
    let mut page = br.get(&url).expect(200).text();
    for _ in 0..5 {
        let r = submit(&mut br, &page, &[("username", "pat"), ("password", "wrong password")]).expect(401);
        page = r.text();
    }
    assert!(page.contains("Too many failed sign-ins"), "{page}");
    // Even the right password is refused now, with the same page.
    let r = login(&mut br, &page, "pat").expect(401).text();
    assert!(r.contains("Too many failed sign-ins"), "{r}");
    // Another user name is not affected.
    add_user(&app, "other", &format!("Patient/{me}"));
    let ok = login(&mut br, &r, "other").expect(200).text();
    assert!(ok.contains("wants to"), "{ok}");
}
