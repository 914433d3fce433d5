//! The CapabilityStatement lists exactly the types, interactions and search parameters served.

use bedside::fhir::types::SUPPORTED_TYPES;

use crate::support::TestApp;

#[test]
fn capability_statement_matches_what_is_served() {
    let app = TestApp::new();
    let cs = app.send(app.req("GET", "/metadata", None)).expect(200).json();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let types: Vec<&str> = resources.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, SUPPORTED_TYPES);
    for t in ["Patient", "Observation", "Appointment", "CarePlan"] {
        assert!(types.contains(&t));
    }
    let obs = resources.iter().find(|r| r["type"] == "Observation").unwrap();
    let params: Vec<&str> = obs["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["patient", "code", "category", "date", "_id", "_lastUpdated"] {
        assert!(params.contains(&p), "Observation searchParam {p} missing: {params:?}");
    }
    // Every advertised type answers a search.
    let t = app.admin();
    for ty in SUPPORTED_TYPES {
        app.get(&format!("/{ty}"), &t).expect(200);
    }
    // The XML rendering works too.
    let x = app.send(app.req("GET", "/metadata?_format=xml", None)).expect(200);
    assert!(x.text().contains("<CapabilityStatement"));
}

#[test]
fn health_endpoints() {
    let app = TestApp::new();
    app.send(app.req("GET", &format!("{}/healthz", app.base), None)).expect(200);
    app.send(app.req("GET", &format!("{}/readyz", app.base), None)).expect(200);
    let r = app.send(app.req("GET", &format!("{}/nothing-here", app.base), None)).expect(404);
    assert_eq!(r.json()["resourceType"], "OperationOutcome");
}
