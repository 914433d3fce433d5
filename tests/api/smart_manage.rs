//! "Your connected apps" (`/auth/manage`): a user sees which apps hold access and takes it back.

use crate::smart_support::*;
use crate::support::{patient, TestApp};

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
    let forged = vec![("csrf".to_string(), "forged".to_string()), ("grant".to_string(), hidden(&list, "grant"))];
    assert_eq!(b.post_form(&form_action(&list), &forged).status, 400);
    app.get(&format!("/Patient/{me}"), at).expect(200);
    // Taking access back ends the tokens at once.
    let revoke = vec![("csrf".to_string(), hidden(&list, "csrf")), ("grant".to_string(), hidden(&list, "grant"))];
    b.post_form(&form_action(&list), &revoke).expect(303);
    app.get(&format!("/Patient/{me}"), at).expect(401);
    let r = token_request(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &client),
        ],
        None,
    );
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
    let grant = {
        let mut c = app.state.store.conn().unwrap();
        bedside::store::auth::user_grants(&mut c, "pat", 0).unwrap()[0].0.clone()
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
    // The session's CSRF token (same as on the sign-in form) with the victim's grant id.
    let revoke = vec![("csrf".to_string(), hidden(&login_page, "csrf")), ("grant".to_string(), grant)];
    b.post_form(&format!("{}/auth/manage/revoke", app.base), &revoke).expect(303);
    app.get(&format!("/Patient/{me}"), &at).expect(200);
}
