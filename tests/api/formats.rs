//! JSON and XML (through fhirbolt), `_format`, `Accept`, `_pretty`.

use crate::support::{observation, patient, TestApp};

#[test]
fn xml_read_and_write() {
    let app = TestApp::new();
    let t = app.admin();
    let pid = app.create(&patient("Xml"));
    let oid = app.create(&observation(&pid, "72.50"));
    let r = app
        .send(app.req("GET", &format!("/Observation/{oid}"), Some(&t)).header("accept", "application/fhir+xml"))
        .expect(200);
    assert!(r.header("content-type").unwrap().starts_with("application/fhir+xml"));
    let xml = r.text();
    assert!(xml.contains("<Observation xmlns=\"http://hl7.org/fhir\">"), "{xml}");
    assert!(xml.contains("72.50"), "decimal precision in XML: {xml}");
    let r2 = app.get(&format!("/Observation/{oid}?_format=xml"), &t).expect(200);
    assert!(r2.text().starts_with("<"));
    // Create from XML.
    let body = r#"<Patient xmlns="http://hl7.org/fhir"><name><family value="FromXml"/></name><gender value="male"/></Patient>"#;
    let created = app
        .send(app.req("POST", "/Patient", Some(&t)).header("content-type", "application/fhir+xml").body(body))
        .expect(201);
    assert!(created.text().contains("FromXml"));
    let bad = r#"<Patient xmlns="http://hl7.org/fhir"><bogus value="1"/></Patient>"#;
    app.send(app.req("POST", "/Patient", Some(&t)).header("content-type", "application/fhir+xml").body(bad))
        .expect(400);
}

#[test]
fn search_bundles_render_as_xml() {
    let app = TestApp::new();
    app.create(&patient("XmlSearch"));
    let r = app.get("/Patient?_format=application/fhir%2Bxml", &app.admin()).expect(200);
    assert!(r.text().contains("<Bundle"), "{}", r.text());
}

#[test]
fn pretty_and_negotiation() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Pretty"));
    let r = app.get(&format!("/Patient/{id}?_pretty=true"), &t).expect(200);
    assert!(r.text().contains("\n  "), "{}", r.text());
    app.send(app.req("GET", &format!("/Patient/{id}"), Some(&t)).header("accept", "text/html,*/*;q=0.8")).expect(200);
    app.send(app.req("GET", &format!("/Patient/{id}"), Some(&t)).header("accept", "application/pdf")).expect(406);
    app.get(&format!("/Patient/{id}?_format=csv"), &t).expect(406);
}

#[test]
fn cors_preflight_allows_authorization() {
    let app = TestApp::new();
    let r = app.send(
        app.req("OPTIONS", "/Patient", None)
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("access-control-allow-origin").is_some());
    let g = app.send(app.req("GET", "/metadata", None).header("origin", "https://app.example")).expect(200);
    assert!(g.header("access-control-allow-origin").is_some());
}

#[test]
fn accept_quality_values_and_xml_details() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Q"));
    let r = app
        .send(
            app.req("GET", &format!("/Patient/{id}"), Some(&t))
                .header("accept", "application/fhir+xml;q=0.1, application/fhir+json;q=0.9"),
        )
        .expect(200);
    assert!(r.header("content-type").unwrap().starts_with("application/fhir+json"));
    app.send(app.req("GET", &format!("/Patient/{id}"), Some(&t)).header("accept", "application/fhir+xml;q=0"))
        .expect(406);
    // Narrative XHTML survives XML in and out byte for byte; a lower-case encoding name is fine.
    let div = r#"<div xmlns="http://www.w3.org/1999/xhtml"><p><b>Bold</b> normal <i>it</i> end</p></div>"#;
    let xml = format!(
        r#"<?xml version='1.0' encoding='utf-8'?><Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/>{div}</text></Patient>"#
    );
    let created = app
        .send(app.req("POST", "/Patient", Some(&t)).header("content-type", "application/fhir+xml").body(xml))
        .expect(201)
        .json();
    assert_eq!(created["text"]["div"], div);
    let pid = created["id"].as_str().unwrap();
    let back = app.get(&format!("/Patient/{pid}?_format=xml"), &t).expect(200).text();
    assert!(back.contains(div), "{back}");
    let latin = r#"<?xml version="1.0" encoding="ISO-8859-1"?><Patient xmlns="http://hl7.org/fhir"/>"#;
    app.send(app.req("POST", "/Patient", Some(&t)).header("content-type", "application/fhir+xml").body(latin))
        .expect(400);
}
