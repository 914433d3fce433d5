//! "Your connected apps" (`/auth/manage`): a user sees which apps hold access and takes it back.

use crate::smart_support::*;
use crate::support::{patient, TestApp};
use bedside::smart::clients::ClientAuth;

#[test]
fn a_patient_sees_connected_apps_and_takes_access_back() {
    let app = TestApp::new();
    let me = app.create(&patient("Manage"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    app.get(&format!("/Patient/{me}"), at).expect(200);

    let conf = app.send(app.req("GET", "/.well-known/smart-configuration", None)).expect(200).json();
    let manage = conf["management_endpoint"].as_str().unwrap().to_string();
    let mut b = Browser::new();
    let login_page = b.get(&manage).expect(200).text();
    let fields = vec![
        ("csrf".to_string(), hidden(&login_page, "csrf")),
        ("username".to_string(), "pat".to_string()),
        ("password".to_string(), PASSWORD.to_string()),
    ];
    let r = b.post_form(&form_action(&login_page), &fields).expect(303);
    let list = b.get(&r.header("location").unwrap()).expect(200).text();
    assert!(list.contains("Test App") && list.contains("Read your personal details"), "{list}");
    // A forged form (wrong CSRF token) changes nothing.
    let forged = vec![("csrf".to_string(), "forged".to_string()), ("client".to_string(), hidden(&list, "client"))];
    assert_eq!(b.post_form(&form_action(&list), &forged).status, 400);
    app.get(&format!("/Patient/{me}"), at).expect(200);
    // Taking access back ends the tokens at once.
    let revoke = vec![("csrf".to_string(), hidden(&list, "csrf")), ("client".to_string(), hidden(&list, "client"))];
    b.post_form(&form_action(&list), &revoke).expect(303);
    app.get(&format!("/Patient/{me}"), at).expect(401);
    let r = refresh(&app, &client, &t);
    assert_eq!(r.json()["error"], "invalid_grant");
    let after = b.get(&manage).expect(200).text();
    assert!(after.contains("No app can use your record"), "{after}");
}

#[test]
fn another_users_grant_cannot_be_revoked_from_the_page() {
    let app = TestApp::new();
    let me = app.create(&patient("Victim"));
    let (client, code, verifier) = patient_code(&app, &me, "patient/Patient.rs");
    let at = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();
    let victim_app = {
        let mut c = app.state.store.conn().unwrap();
        bedside::store::auth::user_grants(&mut c, "pat", 0).unwrap()[0].client_id.clone()
    };
    add_user(&app, "mallory", "Patient/other");
    let mut b = Browser::new();
    let login_page = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    let fields = vec![
        ("csrf".to_string(), hidden(&login_page, "csrf")),
        ("username".to_string(), "mallory".to_string()),
        ("password".to_string(), PASSWORD.to_string()),
    ];
    b.post_form(&form_action(&login_page), &fields).expect(303);
    let list = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    assert!(list.contains("No app can use your record"), "{list}");
    // The session's CSRF token (same as on the sign-in form) with the victim's app.
    let revoke = vec![("csrf".to_string(), hidden(&login_page, "csrf")), ("client".to_string(), victim_app)];
    b.post_form(&format!("{}/auth/manage/revoke", app.base), &revoke).expect(303);
    app.get(&format!("/Patient/{me}"), &at).expect(200);
}

/// Walks authorize → login → consent for `client` as the user "pat"; returns (consent page, code, verifier).
fn approve(app: &TestApp, client: &str, scope: &str) -> (String, String, String) {
    let (verifier, challenge) = pkce();
    let url = authorize_url(app, &standard_params(app, client, scope, &challenge));
    let mut b = Browser::new();
    let page = b.get(&url).expect(200).text();
    let consent = login(&mut b, &page, "pat").expect(200).text();
    let r = allow(&mut b, &consent, &[]).expect(303);
    let code = location_param(&r, "code").unwrap();
    (consent, code, verifier)
}

fn signed_in_list(app: &TestApp, b: &mut Browser) -> String {
    let login_page = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    let fields = vec![
        ("csrf".to_string(), hidden(&login_page, "csrf")),
        ("username".to_string(), "pat".to_string()),
        ("password".to_string(), PASSWORD.to_string()),
    ];
    b.post_form(&form_action(&login_page), &fields).expect(303);
    b.get(&format!("{}/auth/manage", app.base)).expect(200).text()
}

#[test]
fn one_entry_per_app_with_its_term_and_taking_access_back_ends_every_grant() {
    let app = TestApp::new();
    let me = app.create(&patient("Twice"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = public_client(&app);
    // Two sign-ins of the same app, with different scopes, and a third approval whose code the app
    // never exchanged.
    let (consent, code, v) = approve(&app, &client, "launch/patient patient/Patient.rs offline_access");
    let first = exchange(&app, &client, &code, &v).expect(200).json();
    let (_, code, v) = approve(&app, &client, "launch/patient patient/Observation.rs offline_access");
    let second = exchange(&app, &client, &code, &v).expect(200).json();
    approve(&app, &client, "launch/patient patient/Condition.rs");
    // The consent page said until when: 13 months from today (an ongoing app).
    let today = time::OffsetDateTime::now_utc().date();
    let total = i32::from(u8::from(today.month())) - 1 + 13;
    let month = time::Month::try_from(u8::try_from(total % 12 + 1).unwrap()).unwrap();
    let until = format!("{month} {}", today.year() + total / 12);
    assert!(consent.contains(&until), "{until}: {consent}");
    app.get(&format!("/Patient/{me}"), first["access_token"].as_str().unwrap()).expect(200);

    assert!(app.state.audit().flush());
    let mut b = Browser::new();
    let list = signed_in_list(&app, &mut b);
    assert_eq!(list.matches(r#"name="client""#).count(), 1, "one entry per app: {list}");
    assert!(list.contains("Read your personal details") && list.contains("lab results"), "the union of grants: {list}");
    assert!(!list.contains("health problems"), "an approval the app never took up gives it nothing: {list}");
    assert!(list.contains("last used") && list.contains("access until"), "{list}");

    // Taking access back ends both grants: both refresh tokens and both access tokens stop.
    let revoke = vec![("csrf".to_string(), hidden(&list, "csrf")), ("client".to_string(), hidden(&list, "client"))];
    b.post_form(&form_action(&list), &revoke).expect(303);
    for t in [&first, &second] {
        app.get(&format!("/Patient/{me}"), t["access_token"].as_str().unwrap()).expect(401);
        assert_eq!(refresh(&app, &client, t).json()["error"], "invalid_grant");
    }
    let after = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    assert!(after.contains("No app can use your record"), "{after}");
}

#[test]
fn a_one_time_app_gets_hours_and_no_refresh_token() {
    let app = TestApp::new();
    let me = app.create(&patient("Once"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let (client, _) = register_for(&app, ClientAuth::Public, &[REDIRECT], "", AccessTerm::OneTime);
    let (consent, code, v) = approve(&app, &client, "launch/patient patient/Patient.rs offline_access");
    assert!(
        consent.contains("UTC") && !consent.contains("offline"),
        "a time within hours, no refresh choice: {consent}"
    );
    let t = exchange(&app, &client, &code, &v).expect(200).json();
    assert!(t.get("refresh_token").is_none(), "{t}");
    assert!(!t["scope"].as_str().unwrap().contains("offline_access"), "{t}");
    let mut c = app.state.store.conn().unwrap();
    let g = &bedside::store::auth::user_grants(&mut c, "pat", 0).unwrap()[0];
    // No refresh token: the grant lasts as long as its access token (and code), well within 10 hours.
    assert_eq!(g.expires_at - g.created_at, 3600 + 60);
}

#[test]
fn an_ended_grant_makes_the_app_ask_again() {
    let app = TestApp::new();
    let me = app.create(&patient("Ended"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = public_client(&app);
    let (_, code, v) = approve(&app, &client, "launch/patient patient/Patient.rs offline_access");
    let t = exchange(&app, &client, &code, &v).expect(200).json();
    let mut c = app.state.store.conn().unwrap();
    let g = bedside::store::auth::user_grants(&mut c, "pat", 0).unwrap()[0].clone();
    // 13 months, fixed at approval: refreshing does not move it.
    let created = time::OffsetDateTime::from_unix_timestamp(g.created_at).unwrap();
    let ended = time::OffsetDateTime::from_unix_timestamp(g.expires_at).unwrap();
    let months = (ended.year() - created.year()) * 12 + i32::from(u8::from(ended.month()))
        - i32::from(u8::from(created.month()));
    assert_eq!(months, 13);
    let t2 = refresh(&app, &client, &t).expect(200).json();
    let again = bedside::store::auth::user_grants(&mut c, "pat", 0).unwrap()[0].clone();
    assert_eq!(again.expires_at, g.expires_at);
    // The term runs out (moved into the past here): refresh and tokens stop, the page lists nothing,
    // and the app's next authorization asks the patient again.
    {
        use bedside::store::auth::schema::auth_grants::dsl as g_;
        use diesel::prelude::*;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        diesel::update(g_::auth_grants.filter(g_::grant_id.eq(&g.grant_id)))
            .set(g_::expires_at.eq(now - 1))
            .execute(&mut c)
            .unwrap();
    }
    assert_eq!(refresh(&app, &client, &t2).json()["error"], "invalid_grant");
    app.get(&format!("/Patient/{me}"), t2["access_token"].as_str().unwrap()).expect(401);
    let mut b = Browser::new();
    assert!(signed_in_list(&app, &mut b).contains("No app can use your record"));
    let (consent, _, _) = approve(&app, &client, "launch/patient patient/Patient.rs offline_access");
    assert!(consent.contains("wants to"), "{consent}");
}

#[test]
fn a_patient_downloads_their_whole_record_and_sees_it_in_their_history() {
    let app = TestApp::new();
    let me = app.create(&patient("Download"));
    let other = app.create(&patient("Elsewhere"));
    let doc = app.create(&serde_json::json!({"resourceType": "Practitioner", "name": [{"family": "Carer"}]}));
    let mut obs = crate::support::observation(&me, "72.5");
    obs["performer"] = serde_json::json!([{"reference": format!("Practitioner/{doc}")}]);
    let mine = app.post_json("/Observation", &app.admin(), &obs).expect(201).json()["id"].as_str().unwrap().to_string();
    let theirs =
        app.post_json("/Observation", &app.admin(), &crate::support::observation(&other, "80")).expect(201).json();
    add_user(&app, "pat", &format!("Patient/{me}"));

    // Not signed in: back to the sign-in page.
    let mut anon = Browser::new();
    assert_eq!(anon.get(&format!("{}/auth/manage/record", app.base)).status, 303);

    let mut b = Browser::new();
    let list = signed_in_list(&app, &mut b);
    assert!(list.contains("/auth/manage/record"), "{list}");
    let page = b.get(&format!("{}/auth/manage/record", app.base)).expect(200).text();
    assert!(
        page.contains("Health record of") && page.contains("Body weight: 72.5 kg") && page.contains("2024-05-01"),
        "{page}"
    );
    assert!(!page.contains("80 kg"), "{page}");

    let file = b.get(&format!("{}/auth/manage/record?format=json", app.base)).expect(200);
    assert!(file.header("content-disposition").unwrap().starts_with("attachment"));
    let bundle = file.json();
    assert_eq!(bundle["type"], "collection");
    let refs: Vec<String> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap(), e["resource"]["id"].as_str().unwrap())
        })
        .collect();
    for want in [format!("Patient/{me}"), format!("Observation/{mine}"), format!("Practitioner/{doc}")] {
        assert!(refs.contains(&want), "{want} missing from {refs:?}");
    }
    assert!(!refs.iter().any(|r| r.contains(theirs["id"].as_str().unwrap()) || r.contains(&other)), "{refs:?}");

    // The downloads are in the patient's access history.
    assert!(app.state.audit().flush());
    let after = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    assert!(after.contains("You, downloading your record") && after.contains("whole health record"), "{after}");
}

#[test]
fn only_a_patient_can_download_a_record() {
    let app = TestApp::new();
    add_user(&app, "pat", "Practitioner/p1");
    let mut b = Browser::new();
    let list = signed_in_list(&app, &mut b);
    assert!(!list.contains("/auth/manage/record"), "{list}");
    assert_eq!(b.get(&format!("{}/auth/manage/record?format=json", app.base)).status, 403);
}
