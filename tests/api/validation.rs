//! Every write is validated; bad input gets a 4xx OperationOutcome naming the problem, and nothing is
//! stored.

use serde_json::json;

use crate::support::{patient, TestApp};

fn post_raw(app: &TestApp, path: &str, ctype: &str, body: &str) -> crate::support::Resp {
    app.send(app.req("POST", path, Some(&app.admin())).header("content-type", ctype).body(body.to_string()))
}

fn assert_nothing_stored(app: &TestApp) {
    let s = app.get("/Patient", &app.admin()).expect(200).json();
    assert_eq!(s["total"], 0, "nothing may be stored after a rejected write");
}

#[test]
fn malformed_json_is_400() {
    let app = TestApp::new();
    let r = post_raw(&app, "/Patient", "application/fhir+json", "{not json").expect(400);
    assert!(r.json()["issue"][0]["diagnostics"].as_str().unwrap().contains("not valid JSON"));
    assert_nothing_stored(&app);
}

#[test]
fn unknown_element_is_400_structure() {
    let app = TestApp::new();
    let mut p = patient("U");
    p["favouriteColour"] = json!("blue");
    let r = app.post_json("/Patient", &app.admin(), &p).expect(400).json();
    assert_eq!(r["issue"][0]["code"], "structure");
    assert!(r["issue"][0]["diagnostics"].as_str().unwrap().contains("favouriteColour"), "{r}");
    assert_nothing_stored(&app);
}

#[test]
fn wrong_json_type_is_400() {
    let app = TestApp::new();
    let mut p = patient("T");
    p["birthDate"] = json!(1980);
    app.post_json("/Patient", &app.admin(), &p).expect(400);
    assert_nothing_stored(&app);
}

#[test]
fn bad_primitive_values_are_named() {
    let app = TestApp::new();
    let cases = [
        ("birthDate", json!("2020-13-45"), "Patient.birthDate"),
        ("birthDate", json!("2021-02-30"), "Patient.birthDate"),
        ("gender", json!("bogus"), "Patient.gender"),
        ("active", json!("yes"), "Patient"),
    ];
    for (field, value, expr) in cases {
        let mut p = patient("V");
        p[field] = value.clone();
        let r = app.post_json("/Patient", &app.admin(), &p).expect(400).json();
        let text = r.to_string();
        assert!(text.contains(expr), "{field}={value}: {text}");
    }
    assert_nothing_stored(&app);
}

#[test]
fn empty_values_are_rejected() {
    let app = TestApp::new();
    for bad in [
        json!({"resourceType": "Patient", "name": []}),
        json!({"resourceType": "Patient", "name": [{}]}),
        json!({"resourceType": "Patient", "name": [{"family": ""}]}),
    ] {
        app.post_json("/Patient", &app.admin(), &bad).expect(400);
    }
    assert_nothing_stored(&app);
}

#[test]
fn resource_type_must_match_url() {
    let app = TestApp::new();
    let r = app.post_json("/Observation", &app.admin(), &patient("W")).expect(400).json();
    assert!(r["issue"][0]["diagnostics"].as_str().unwrap().contains("URL is for Observation"));
    app.post_json("/Patient", &app.admin(), &json!({"name": "no type"})).expect(400);
    app.post_json("/Patient", &app.admin(), &json!([1, 2])).expect(400);
}

#[test]
fn unsupported_media_type_is_415() {
    let app = TestApp::new();
    post_raw(&app, "/Patient", "text/plain", &patient("M").to_string()).expect(415);
    assert_nothing_stored(&app);
}

#[test]
fn oversized_body_is_413() {
    let app = TestApp::new();
    let mut p = patient("Big");
    p["text"] = json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "x".repeat(3 * 1024 * 1024))});
    let r = app.post_json("/Patient", &app.admin(), &p).expect(413).json();
    assert_eq!(r["issue"][0]["code"], "too-costly");
    assert_nothing_stored(&app);
}

#[test]
fn empty_body_is_400() {
    let app = TestApp::new();
    post_raw(&app, "/Patient", "application/fhir+json", "").expect(400);
}

/// Narrative XHTML is checked before storing (found by fuzzing: a div whose root tag was not `div`
/// was stored and could then not be served as XML): well-formed, one XHTML `div` root, only R4's
/// formatting elements, no scripts or event handlers.
#[test]
fn narratives_must_be_safe_well_formed_xhtml() {
    let app = TestApp::new();
    let t = app.admin();
    let with_div = |div: &str| {
        let mut p = crate::support::patient("Narrative");
        p["text"] = serde_json::json!({"status": "generated", "div": div});
        p
    };
    for bad in [
        r#"<dinnnv xmlns="http://www.w3.org/1999/xhtml">[Put rendering here]</div>"#,
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>"#,
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert(1)"/></div>"#,
        r#"<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:alert(1)">x</a></div>"#,
        r#"<div>no namespace</div>"#,
    ] {
        let r = app.post_json("/Patient", &t, &with_div(bad)).expect(400).json();
        assert!(r["issue"][0]["diagnostics"].as_str().unwrap().contains("text.div"), "{r}");
    }
    let ok = r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Ada <b>Lovelace</b></p></div>"#;
    let id = app.post_json("/Patient", &t, &with_div(ok)).expect(201).json()["id"].as_str().unwrap().to_string();
    let xml = app.send(app.req("GET", &format!("/Patient/{id}?_format=xml"), Some(&t))).expect(200).text();
    assert!(xml.contains("<b>Lovelace</b>"), "{xml}");
}
