//! Provenance for writes: every create/update by an app records who (user and app) wrote which version,
//! in the compartment of what it is about; patients see it, nobody else does.

use serde_json::{json, Value};

use crate::smart_support::*;
use crate::support::{observation, patient, TestApp};

fn provenances(b: &Value) -> Vec<Value> {
    b["entry"]
        .as_array()
        .map(|a| {
            a.iter().filter(|e| e["resource"]["resourceType"] == "Provenance").map(|e| e["resource"].clone()).collect()
        })
        .unwrap_or_default()
}

#[test]
fn app_writes_record_provenance_the_patient_sees() {
    let app = TestApp::new();
    let me = app.create(&patient("Author"));
    let other = app.create(&patient("Bystander"));
    let (client, code, verifier) = patient_code(&app, &me, "launch/patient patient/*.cruds");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json()["access_token"].as_str().unwrap().to_string();

    let created = app.post_json("/Observation", &t, &observation(&me, "7.1")).expect(201).json();
    let oid = created["id"].as_str().unwrap().to_string();
    let mut changed = created.clone();
    changed["status"] = json!("amended");
    app.put_json(&format!("/Observation/{oid}"), &t, &changed).expect(200);

    let b = app.get(&format!("/Observation?_id={oid}&_revinclude=Provenance:target"), &t).expect(200).json();
    let p = provenances(&b);
    assert_eq!(p.len(), 2, "{b}");
    let mut targets: Vec<&str> = p.iter().map(|x| x["target"][0]["reference"].as_str().unwrap()).collect();
    targets.sort();
    assert_eq!(targets, [format!("Observation/{oid}/_history/1"), format!("Observation/{oid}/_history/2")]);
    for x in &p {
        assert_eq!(x["agent"][0]["who"]["reference"], format!("Patient/{me}"), "{x}");
        assert_eq!(x["agent"][1]["who"]["display"], "Test App", "{x}");
        assert_eq!(x["agent"][1]["who"]["identifier"]["value"], client.as_str(), "{x}");
    }
    let codes: Vec<&str> = p.iter().map(|x| x["activity"]["coding"][0]["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"CREATE") && codes.contains(&"UPDATE"), "{codes:?}");

    // Another patient's token sees none of it; an operator's token sees it all.
    let theirs = app.token("patient/*.rs", Some(&other));
    assert!(provenances(&app.get("/Provenance", &theirs).expect(200).json()).is_empty());
    assert_eq!(provenances(&app.get("/Provenance", &app.admin()).expect(200).json()).len(), 2);
    // Operator writes (no grant) record none.
    app.post_json("/Observation", &app.admin(), &observation(&me, "5.0")).expect(201);
    assert_eq!(provenances(&app.get("/Provenance", &app.admin()).expect(200).json()).len(), 2);

    // The compartment survives a re-index (it comes from the stored target, not the Provenance's content).
    bedside::reindex::reindex_all(&app.state.store, 100, |_| {}).unwrap();
    let again = app.get(&format!("/Observation?_id={oid}&_revinclude=Provenance:target"), &t).expect(200).json();
    assert_eq!(provenances(&again).len(), 2);
}

#[test]
fn a_patient_bound_provenance_may_only_target_what_the_token_reads() {
    let app = TestApp::new();
    let me = app.create(&patient("Writer"));
    let other = app.create(&patient("Other"));
    let theirs = app.post_json("/Observation", &app.admin(), &observation(&other, "1")).expect(201).json();
    let mine = app.post_json("/Observation", &app.admin(), &observation(&me, "2")).expect(201).json();
    let t = app.token("patient/*.cruds", Some(&me));
    let prov = |target: &str| {
        json!({"resourceType": "Provenance", "target": [{"reference": target}], "recorded": "2026-11-29T10:00:00Z",
               "agent": [{"who": {"reference": format!("Patient/{me}")}}]})
    };
    app.post_json("/Provenance", &t, &prov(&format!("Observation/{}", mine["id"].as_str().unwrap()))).expect(201);
    // Someone else's resource and a resource that does not exist get the same answer.
    let a = app
        .post_json("/Provenance", &t, &prov(&format!("Observation/{}", theirs["id"].as_str().unwrap())))
        .expect(403)
        .json();
    let b = app.post_json("/Provenance", &t, &prov("Observation/does-not-exist")).expect(403).json();
    let text = |v: &Value| v["issue"][0]["diagnostics"].as_str().unwrap().split(';').next().unwrap().to_string();
    assert_eq!(text(&a), text(&b));
}
