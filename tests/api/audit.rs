//! The access log: what apps did with a record, on the patient's connected-apps page and as
//! AuditEvents (`GET /fhir/AuditEvent`).

use base64::Engine;
use serde_json::{json, Value};

use crate::smart_support::*;
use crate::support::{observation, patient, TestApp};

/// An app connected by the patient `pat` (a full standalone launch): (access token, client id).
fn connected_app(app: &TestApp, me: &str, scope: &str) -> (String, String) {
    let (client, code, verifier) = patient_code(app, me, scope);
    let t = exchange(app, &client, &code, &verifier).expect(200).json();
    (t["access_token"].as_str().unwrap().to_string(), client)
}

/// A browser signed in to the connected-apps page as `username`; returns it and the page's HTML.
fn manage_page(app: &TestApp, username: &str) -> (Browser, String) {
    let mut b = Browser::new();
    let login = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    let fields = vec![
        ("csrf".to_string(), hidden(&login, "csrf")),
        ("username".to_string(), username.to_string()),
        ("password".to_string(), PASSWORD.to_string()),
    ];
    b.post_form(&form_action(&login), &fields).expect(303);
    let page = b.get(&format!("{}/auth/manage", app.base)).expect(200).text();
    (b, page)
}

fn events(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().map(|a| a.iter().map(|e| e["resource"].clone()).collect()).unwrap_or_default()
}

fn valid(e: &Value) {
    bedside_model::validate_json(e.to_string().as_bytes())
        .unwrap_or_else(|err| panic!("invalid AuditEvent ({err:?}): {e}"));
    assert_eq!(bedside::fhir::validate::validate_values(e), vec![], "{e}");
}

fn subtype(e: &Value) -> &str {
    e["subtype"][0]["code"].as_str().unwrap()
}

fn what(e: &Value) -> Vec<String> {
    e["entity"].as_array().unwrap().iter().filter_map(|x| x["what"]["reference"].as_str().map(str::to_string)).collect()
}

#[test]
fn an_apps_reads_show_up_in_plain_words_and_as_audit_events() {
    let app = TestApp::new();
    let me = app.create(&patient("Reader"));
    app.create(&observation(&me, "70"));
    app.create(&observation(&me, "71"));
    let (at, client) = connected_app(&app, &me, "launch/patient patient/*.rs offline_access");
    app.get(&format!("/Patient/{me}"), &at).expect(200);
    assert_eq!(
        app.get(&format!("/Observation?patient={me}"), &at).expect(200).json()["entry"].as_array().unwrap().len(),
        2
    );
    let form =
        app.req("POST", "/Condition/_search", Some(&at)).header("content-type", "application/x-www-form-urlencoded");
    app.send(form.body("clinical-status=active")).expect(200);
    app.get("/Observation/nope", &at).expect(404);
    assert!(app.state.audit().flush());

    // The connected-apps page says it in plain words, per app, newest first.
    let (mut b, page) = manage_page(&app, "pat");
    for line in [
        "Read your personal details",
        "Read 2 lab results, vital signs and other measurements",
        "Looked for your health problems and diagnoses and found none",
        "Tried to read one of your lab results, vital signs and other measurements (not found)",
        "just now",
    ] {
        assert!(page.contains(line), "{line:?} missing from {page}");
    }
    let newest = page.find("Tried to read one of your lab results").unwrap();
    assert!(newest < page.find("Read your personal details").unwrap(), "newest first: {page}");
    // The data was added by an operator token: that shows as another app that used the record.
    assert!(page.contains("Other apps that used your record") && page.contains("Added a measurement"), "{page}");
    let link = format!("{}/auth/manage/activity?client={client}", app.base);
    assert!(page.contains(&link.replace('/', "&#x2f;")) || page.contains(&link), "{page}");
    let activity = b.get(&link).expect(200).text();
    assert!(activity.contains("What Test App did") && activity.contains("Read your personal details"), "{activity}");
    // Without the session the activity page sends to sign-in.
    b.forget_cookie();
    b.get(&link).expect(303);

    // The same accesses as AuditEvents, readable with the app's own token.
    let bundle = app.get(&format!("/AuditEvent?patient={me}&client={client}"), &at).expect(200).json();
    let list = events(&bundle);
    assert_eq!(list.len(), 4, "{bundle}");
    for e in &list {
        valid(e);
        assert_eq!(e["type"]["code"], "110110");
        assert_eq!(e["agent"][0]["who"]["display"], "Test App");
        assert_eq!(e["agent"][0]["requestor"], true);
        assert_eq!(e["agent"][1]["who"]["reference"], format!("Patient/{me}"));
        assert_eq!(e["agent"][1]["requestor"], false);
        assert_eq!(e["source"]["observer"]["display"], "Bedside");
        assert!(what(e).contains(&format!("Patient/{me}")), "{e}");
    }
    let codes: Vec<&str> = list.iter().map(subtype).collect();
    assert_eq!(codes, ["read", "search-type", "search-type", "read"], "newest first");
    let (failed, search, read) = (&list[0], &list[2], &list[3]);
    let posted = list[1]["entity"].as_array().unwrap().iter().find(|x| x["role"]["code"] == "24").unwrap();
    let posted = base64::engine::general_purpose::STANDARD.decode(posted["query"].as_str().unwrap()).unwrap();
    assert_eq!(String::from_utf8(posted).unwrap(), "/fhir/Condition/_search?clinical-status=active");
    assert_eq!((failed["outcome"].as_str(), failed["action"].as_str()), (Some("4"), Some("R")));
    assert_eq!((read["outcome"].as_str(), read["action"].as_str()), (Some("0"), Some("R")));
    assert_eq!(search["action"], "E");
    assert_eq!(what(search).iter().filter(|r| r.starts_with("Observation/")).count(), 2);
    let query = search["entity"].as_array().unwrap().iter().find(|x| x["role"]["code"] == "24").unwrap();
    let text =
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(query["query"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(text, format!("/fhir/Observation?patient={me}"));
    // One by id, in XML too.
    let id = read["id"].as_str().unwrap();
    let one = app.get(&format!("/AuditEvent/{id}"), &at).expect(200).json();
    valid(&one);
    assert_eq!(one, *read);
    let xml = app.get(&format!("/AuditEvent/{id}?_format=xml"), &at).expect(200).text();
    assert!(xml.contains("<AuditEvent"), "{xml}");
    // Reading the log is not itself logged (no loop), and paging works.
    assert!(app.state.audit().flush());
    let page1 = app.get(&format!("/AuditEvent?patient={me}&client={client}&_count=3"), &at).expect(200).json();
    assert_eq!(events(&page1).len(), 3);
    let next = page1["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let page2 = app.get(&next, &at).expect(200).json();
    assert_eq!(events(&page2).len(), 1, "{page2}");
    assert_eq!(events(&page2)[0]["id"], read["id"]);
    // Dates.
    assert_eq!(
        events(&app.get(&format!("/AuditEvent?client={client}&date=ge2020-01-01"), &at).expect(200).json()).len(),
        4
    );
    assert_eq!(
        events(&app.get(&format!("/AuditEvent?client={client}&date=lt2020-01-01"), &at).expect(200).json()).len(),
        0
    );
    let counted =
        app.get(&format!("/AuditEvent?client={client}&patient:missing=false&_summary=count"), &at).expect(200).json();
    assert_eq!((counted["total"].as_i64(), counted.get("entry")), (Some(4), None));
    app.get("/AuditEvent?date=yesterday", &at).expect(400);
    app.get("/AuditEvent?outcome=0", &at).expect(400);
}

#[test]
fn another_patients_log_is_invisible() {
    let app = TestApp::new();
    let me = app.create(&patient("Mine"));
    let other = app.create(&patient("Other"));
    let admin = app.admin();
    app.get(&format!("/Patient/{other}"), &admin).expect(200);
    let (at, _) = connected_app(&app, &me, "launch/patient patient/*.rs");
    app.get(&format!("/Patient/{me}"), &at).expect(200);
    assert!(app.state.audit().flush());

    let theirs = events(&app.get(&format!("/AuditEvent?patient={other}"), &admin).expect(200).json());
    assert!(!theirs.is_empty());
    let their_id = theirs[0]["id"].as_str().unwrap();
    // The patient's token sees its own record's events only.
    assert!(events(&app.get(&format!("/AuditEvent?patient={other}"), &at).expect(200).json()).is_empty());
    app.get(&format!("/AuditEvent/{their_id}"), &at).expect(404);
    app.get("/AuditEvent/not-a-number", &at).expect(404);
    let mine = events(&app.get("/AuditEvent", &at).expect(200).json());
    assert!(!mine.is_empty());
    for e in &mine {
        assert!(what(e).contains(&format!("Patient/{me}")), "{e}");
        assert!(!e.to_string().contains(&other), "{e}");
    }
    // A token without AuditEvent in its scopes cannot read the log.
    let narrow = app.token("patient/Observation.rs", Some(&me));
    app.get("/AuditEvent", &narrow).expect(403);
    // And the page of the patient shows nothing about the other record.
    let (_, page) = manage_page(&app, "pat");
    assert!(!page.contains(&other), "{page}");
}

#[test]
fn writes_and_bundle_entries_are_logged_and_audit_events_cannot_be_written() {
    let app = TestApp::new();
    let me = app.create(&patient("Writer"));
    let (at, client) =
        connected_app(&app, &me, "launch/patient patient/Observation.cruds patient/Patient.rs patient/AuditEvent.rs");
    let id = app.post_json("/Observation", &at, &observation(&me, "80")).expect(201).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut changed = observation(&me, "81");
    changed["id"] = json!(id);
    app.put_json(&format!("/Observation/{id}"), &at, &changed).expect(200);
    app.delete(&format!("/Observation/{id}"), &at).expect(204);
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{me}")}},
        {"resource": observation(&me, "82"), "request": {"method": "POST", "url": "Observation"}}
    ]});
    app.post_json("/", &at, &batch).expect(200);
    // AuditEvents are the server's: no create, update or delete, not even in a Bundle.
    let ae = json!({"resourceType": "AuditEvent", "type": {"code": "x"}, "recorded": "2024-01-01T00:00:00Z",
        "agent": [{"requestor": true}], "source": {"observer": {"display": "x"}}});
    let admin = app.admin();
    for r in [
        app.post_json("/AuditEvent", &admin, &ae),
        app.put_json("/AuditEvent/1", &admin, &ae),
        app.delete("/AuditEvent/1", &admin),
        app.post_json(
            "/",
            &admin,
            &json!({"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": ae, "request": {"method": "POST", "url": "AuditEvent"}}]}),
        ),
    ] {
        assert_eq!(r.status, 405, "{}", r.text());
        assert_eq!(r.json()["resourceType"], "OperationOutcome");
    }
    app.get("/AuditEvent/1/_history", &admin).expect(405);
    assert!(app.state.audit().flush());

    let list = events(&app.get(&format!("/AuditEvent?client={client}"), &at).expect(200).json());
    let summary: Vec<(String, String)> =
        list.iter().map(|e| (e["action"].as_str().unwrap().to_string(), subtype(e).to_string())).collect();
    let expected = [("C", "create"), ("R", "read"), ("D", "delete"), ("U", "update"), ("C", "create")];
    assert_eq!(summary, expected.map(|(a, s)| (a.to_string(), s.to_string())));
    assert!(what(&list[4]).contains(&format!("Observation/{id}/_history/1")), "{}", list[4]);
    assert!(what(&list[2]).contains(&format!("Observation/{id}")), "{}", list[2]);
    let (_, page) = manage_page(&app, "pat");
    for line in ["Added a measurement", "Changed a measurement", "Deleted a measurement", "Read your personal details"]
    {
        assert!(page.contains(line), "{line:?} missing from {page}");
    }
}

#[test]
fn tokens_never_appear_in_the_log() {
    let app = TestApp::new();
    let me = app.create(&patient("Secret"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient patient/*.rs offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    let at = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    app.get(&format!("/Patient/{me}"), at).expect(200);
    app.get(&format!("/Patient?_id={me}&access_token={at}"), at);
    app.get(&format!("/Observation?patient={me}&refresh_token={refresh}"), at);
    assert!(app.state.audit().flush());
    let rows = {
        let mut c = app.state.store.conn().unwrap();
        let q = bedside::store::audit::LogQuery::new(bedside::store::audit::Owner::All, 1000);
        bedside::store::audit::list(&mut c, &q).unwrap()
    };
    assert!(rows.len() >= 3, "{rows:?}");
    let dump = format!("{rows:?}") + &app.get("/AuditEvent?_count=200", &app.admin()).expect(200).text();
    let signature = at.rsplit('.').next().unwrap();
    for secret in [at, signature, refresh, code.as_str(), verifier.as_str()] {
        assert!(!dump.contains(secret), "a secret leaked into the access log: {dump}");
    }
}

#[test]
fn user_and_system_tokens_are_logged_against_each_patient_they_read() {
    let app = TestApp::new();
    let a = app.create(&patient("Alpha"));
    let b = app.create(&patient("Beta"));
    app.create(&observation(&a, "60"));
    app.create(&observation(&b, "61"));
    let operator = app.token_with(bedside::smart::token::TokenRequest {
        subject: "operator".into(),
        client_id: "bedside-cli".into(),
        scope: "system/*.rs".into(),
        lifetime_secs: 60,
        ..Default::default()
    });
    app.get("/Observation", &operator).expect(200);
    assert!(app.state.audit().flush());
    let admin = app.admin();
    for (p, q) in [(&a, &b), (&b, &a)] {
        let list = events(&app.get(&format!("/AuditEvent?patient={p}&client=bedside-cli"), &admin).expect(200).json());
        assert_eq!(list.len(), 1, "{list:?}");
        let e = &list[0];
        valid(e);
        assert_eq!(e["agent"][0]["who"]["display"], "Bedside operator tools");
        assert!(what(e).contains(&format!("Patient/{p}")));
        assert_eq!(what(e).iter().filter(|r| r.starts_with("Observation/")).count(), 1, "{e}");
        assert!(!e.to_string().contains(q.as_str()), "{e}");
    }
    // The CapabilityStatement says what AuditEvent supports, and nothing more.
    let cs = app.send(app.req("GET", "/metadata", None)).expect(200).json();
    let ae = cs["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == "AuditEvent").unwrap().clone();
    let codes: Vec<&str> = ae["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["read", "search-type"]);
    let params: Vec<&str> = ae["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["patient", "date", "agent", "client"]);
    let patient_res =
        cs["rest"][0]["resource"].as_array().unwrap().iter().find(|r| r["type"] == "Patient").unwrap().clone();
    assert!(!patient_res["searchRevInclude"].to_string().contains("AuditEvent"));
}
