//! Batch and transaction Bundles (R4 3.1.0.11): "a transaction … SHALL be processed as a single atomic
//! unit … references to resources created in the same transaction (urn:uuid) are rewritten".

use serde_json::json;

use crate::support::{patient, TestApp};

fn tx(entries: serde_json::Value) -> serde_json::Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

#[test]
fn transaction_rewrites_urn_uuid_references() {
    let app = TestApp::new();
    let t = app.admin();
    let bundle = tx(json!([
        {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111", "resource": patient("Tx"),
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
                      "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}},
         "request": {"method": "POST", "url": "Observation"}}
    ]));
    let r = app.post_json("", &t, &bundle).expect(200).json();
    assert_eq!(r["type"], "transaction-response");
    let entries = r["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["response"]["status"], "201 Created");
    let pid = entries[0]["resource"]["id"].as_str().unwrap();
    assert_eq!(entries[1]["resource"]["subject"]["reference"], format!("Patient/{pid}"));
    // The reference is indexed: the observation is in the patient's compartment.
    let s = app.get(&format!("/Observation?patient={pid}"), &t).expect(200).json();
    assert_eq!(s["total"], 1);
}

#[test]
fn transaction_is_atomic() {
    let app = TestApp::new();
    let t = app.admin();
    let bundle = tx(json!([
        {"resource": patient("Good"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": "bogus"}, "request": {"method": "POST", "url": "Patient"}}
    ]));
    let r = app.post_json("", &t, &bundle).expect(400).json();
    assert!(r.to_string().contains("Bundle.entry[1]"), "{r}");
    let s = app.get("/Patient", &t).expect(200).json();
    assert_eq!(s["total"], 0, "a failed transaction must leave nothing behind");
}

#[test]
fn transaction_put_delete_and_conditional_reference() {
    let app = TestApp::new();
    let t = app.admin();
    let mut p = patient("Ident");
    p["identifier"] = json!([{"system": "urn:mrn", "value": "42"}]);
    app.post_json("/Patient", &t, &p).expect(201);
    let doomed = app.create(&patient("Doomed"));
    let mut fixed = patient("Fixed");
    fixed["id"] = json!("fixed-1");
    let bundle = tx(json!([
        {"resource": fixed, "request": {"method": "PUT", "url": "Patient/fixed-1"}},
        {"request": {"method": "DELETE", "url": format!("Patient/{doomed}")}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "Patient?identifier=urn:mrn|42"}},
         "request": {"method": "POST", "url": "Observation"}}
    ]));
    let r = app.post_json("", &t, &bundle).expect(200).json();
    assert_eq!(r["entry"][0]["response"]["status"], "201 Created");
    assert_eq!(r["entry"][1]["response"]["status"], "204 No Content");
    let subject = r["entry"][2]["resource"]["subject"]["reference"].as_str().unwrap().to_string();
    assert!(subject.starts_with("Patient/") && !subject.contains('?'), "{subject}");
    app.get(&format!("/Patient/{doomed}"), &t).expect(410);
}

#[test]
fn batch_reports_each_entry() {
    let app = TestApp::new();
    let t = app.admin();
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient("B1"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": "bogus"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/missing"}}
    ]});
    let r = app.post_json("", &t, &bundle).expect(200).json();
    assert_eq!(r["type"], "batch-response");
    assert_eq!(r["entry"][0]["response"]["status"], "201 Created");
    assert!(r["entry"][1]["response"]["status"].as_str().unwrap().starts_with("400"));
    assert_eq!(r["entry"][1]["resource"]["resourceType"], "OperationOutcome");
    assert!(r["entry"][2]["response"]["status"].as_str().unwrap().starts_with("404"));
    assert_eq!(app.get("/Patient", &t).json()["total"], 1);
}

#[test]
fn bundle_errors() {
    let app = TestApp::new();
    let t = app.admin();
    app.post_json("", &t, &json!({"resourceType": "Bundle", "type": "collection"})).expect(400);
    app.post_json("", &t, &patient("NotABundle")).expect(400);
    app.post_json("", &t, &tx(json!([{"resource": patient("x")}]))).expect(400);
    // A patient-scoped token cannot use a transaction to write into another compartment.
    let a = app.create(&patient("A"));
    let b = app.create(&patient("B"));
    let pt = app.token("patient/*.cruds", Some(&a));
    let bundle = tx(json!([{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "subject": {"reference": format!("Patient/{b}")}}, "request": {"method": "POST", "url": "Observation"}}]));
    app.post_json("", &pt, &bundle).expect(403);
}
