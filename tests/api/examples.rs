//! Round trip of every official R4 example of the four patient-access types: create, read, compare.

use std::path::Path;

use serde_json::Value;

use crate::support::{fixture, shared_data, TestApp};

pub(crate) fn strip_server_fields(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        if let Some(Value::Object(meta)) = o.get_mut("meta") {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            if meta.is_empty() {
                o.remove("meta");
            }
        }
    }
    v
}

pub(crate) fn round_trip(app: &TestApp, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let t = original["resourceType"].as_str().unwrap().to_string();
    let id = original["id"].as_str().unwrap().to_string();
    let r = app.put_json(&format!("/{t}/{id}"), &app.admin(), &original);
    assert!(r.status == 201 || r.status == 200, "{}: {} {}", path.display(), r.status, r.text());
    let read = app.get(&format!("/{t}/{id}"), &app.admin()).expect(200).json();
    assert_eq!(
        strip_server_fields(read),
        strip_server_fields(original),
        "{} changed in the round trip",
        path.display()
    );
}

#[test]
fn official_examples_of_the_four_types_round_trip() {
    let app = TestApp::new();
    let files: Vec<std::path::PathBuf> = match shared_data() {
        Some(d) => {
            let dir = d.join("examples-r4/hl7-fhir-r4-core-4.0.1");
            let mut v: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    ["Patient-", "Observation-", "Appointment-", "CarePlan-"].iter().any(|pre| n.starts_with(pre))
                })
                .collect();
            v.sort();
            v
        }
        None => {
            eprintln!("../shared/data not found: round-tripping the copies in tests/fixtures only");
            ["Patient-example.json", "Observation-example.json", "Appointment-example.json", "CarePlan-example.json"]
                .iter()
                .map(|f| fixture(f))
                .collect()
        }
    };
    assert!(files.len() >= 4);
    for f in &files {
        round_trip(&app, f);
    }
    eprintln!("round-tripped {} official examples", files.len());
}
