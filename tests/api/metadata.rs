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
    let params: Vec<&str> =
        obs["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["patient", "code", "category", "date", "_id", "_lastUpdated"] {
        assert!(params.contains(&p), "Observation searchParam {p} missing: {params:?}");
    }
    let includes: Vec<&str> = obs["searchInclude"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(includes.contains(&"Observation:patient"), "{includes:?}");
    let careplan = resources.iter().find(|r| r["type"] == "Appointment").unwrap();
    let rev: Vec<&str> = careplan["searchRevInclude"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(rev.contains(&"CarePlan:activity-reference"), "{rev:?}");
    // Every advertised type answers a search.
    let t = app.admin();
    for ty in SUPPORTED_TYPES {
        app.get(&format!("/{ty}"), &t).expect(200);
    }
    // It is itself a valid R4 resource.
    bedside_model::validate_json(cs.to_string().as_bytes()).unwrap();
    assert_eq!(bedside::fhir::validate::validate_values(&cs), vec![]);
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

#[test]
fn every_response_carries_a_request_id() {
    let app = TestApp::new();
    let r = app.send(app.req("GET", "/metadata", None).header("x-request-id", "trace-42")).expect(200);
    assert_eq!(r.header("x-request-id").as_deref(), Some("trace-42"));
    let r = app.send(app.req("GET", "/Patient/x", None).header("x-request-id", "bad id\" injected")).expect(401);
    let id = r.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a forged id is replaced: {id}");
    let r = app.send(app.req("GET", &format!("{}/nothing", app.base), None)).expect(404);
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn compartment_doc_is_generated_from_the_registry() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/compartments.md")).unwrap();
    assert!(
        committed == bedside::fhir::compartment::markdown(),
        "docs/compartments.md is stale: run `cargo run -q -- compartments > docs/compartments.md`"
    );
}

#[test]
fn search_parameter_doc_is_generated_from_the_registry() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/search-parameters.md")).unwrap();
    let generated = bedside::fhir::capability::search_parameters_markdown();
    assert!(
        committed == generated,
        "docs/search-parameters.md is stale: run `cargo run -q -- search-params > docs/search-parameters.md`"
    );
    // Every parameter in the doc is advertised for its type and accepted by the search.
    let app = TestApp::new();
    let t = app.admin();
    let cs = app.send(app.req("GET", "/metadata", None)).expect(200).json();
    for r in cs["rest"][0]["resource"].as_array().unwrap() {
        let ty = r["type"].as_str().unwrap();
        for p in r["searchParam"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            if name.starts_with('_') {
                continue;
            }
            assert!(generated.contains(&format!("| `{name}` |")), "{ty}.{name} missing from the doc");
            let r = app.get(&format!("/{ty}?{name}:missing=true&_count=0"), &t);
            assert_eq!(r.status, 200, "{ty}?{name}: {}", r.text());
        }
    }
}

#[test]
fn reindex_rebuilds_the_indexes() {
    let app = TestApp::new();
    let t = app.admin();
    let pid = app.create(&crate::support::patient("Reindex"));
    app.create(&crate::support::observation(&pid, "70"));
    let deleted = app.create(&crate::support::patient("Gone"));
    app.delete(&format!("/Patient/{deleted}"), &t).expect(204);
    let n = bedside::reindex::reindex_all(&app.state.store, 2, |_| {}).unwrap();
    assert_eq!(n, 3);
    assert_eq!(app.get("/Patient?family=reindex", &t).json()["total"], 1);
    assert_eq!(app.get(&format!("/Observation?patient={pid}"), &t).json()["total"], 1);
    assert_eq!(app.get("/Patient?family=gone", &t).json()["total"], 0);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let app = TestApp::with_settings(|s| {
        s.rate_limit = 1;
        s.rate_burst = 3;
    });
    let t = app.admin();
    let statuses: Vec<u16> = (0..6).map(|_| app.get("/Patient?_count=0", &t).status).collect();
    assert!(statuses.iter().take(3).all(|s| *s == 200), "{statuses:?}");
    let limited = app.get("/Patient?_count=0", &t);
    assert_eq!(limited.status, 429, "{statuses:?}");
    assert!(limited.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(limited.json()["issue"][0]["code"], "throttled");
    // Another client (another token's client_id) has its own budget.
    let other = app.token_with(bedside::smart::token::TokenRequest {
        subject: "s".into(),
        client_id: "other-client".into(),
        scope: "system/*.read".into(),
        lifetime_secs: 60,
        ..Default::default()
    });
    app.get("/Patient?_count=0", &other).expect(200);
    // Health checks are never limited.
    app.send(app.req("GET", &format!("{}/healthz", app.base), None)).expect(200);
}

#[test]
fn metrics_are_exported() {
    let app = TestApp::new();
    app.get("/Patient?_count=0", &app.admin()).expect(200);
    let m = app.send(app.req("GET", &format!("{}/metrics", app.base), None)).expect(200).text();
    assert!(m.contains("bedside_http_requests_total"), "{m}");
    assert!(m.contains("route=\"/fhir/{type}\""), "{m}");
    assert!(m.contains("bedside_http_request_duration_seconds"), "{m}");
}
