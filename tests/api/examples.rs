//! Round trip of the official R4 examples: every example of the four patient-access types, and 1 to 3
//! examples of every served type (create with PUT and its id, read, compare; found by `_id`).

use std::path::Path;

use serde_json::Value;

use crate::support::{fixture, official_examples_of_every_type, shared_data, TestApp};

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

/// PUT the example with its id, read it back, compare; returns (type, id) or what went wrong.
fn try_round_trip(app: &TestApp, path: &Path) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut original: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let t = original["resourceType"].as_str().unwrap_or_default().to_string();
    // One official example (Patient-json-edge-cases) has no id: it gets its file name's.
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let from_name = stem.strip_prefix(&format!("{t}-")).unwrap_or(&stem).to_string();
    let id = original["id"].as_str().map(str::to_string).unwrap_or(from_name);
    original["id"] = Value::String(id.clone());
    let r = app.put_json(&format!("/{t}/{id}"), &app.admin(), &original);
    if r.status != 201 && r.status != 200 {
        return Err(format!("{}: {} {}", path.display(), r.status, r.text()));
    }
    let read = app.get(&format!("/{t}/{id}"), &app.admin());
    if read.status != 200 {
        return Err(format!("{}: read {}", path.display(), read.status));
    }
    let (read, original) = (strip_server_fields(read.json()), strip_server_fields(original));
    if read != original {
        return Err(format!("{} changed in the round trip:\n{read}\n{original}", path.display()));
    }
    Ok((t, id))
}

pub(crate) fn round_trip(app: &TestApp, path: &Path) -> (String, String) {
    match try_round_trip(app, path) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    }
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

/// Official examples that are not valid R4, which the server rightly refuses: (file, what the refusal names).
const INVALID_EXAMPLES: &[(&str, &str)] = &[
    // Its nested `item`s have no `linkId`, which R4 requires (1..1).
    ("Questionnaire-qs1.json", "linkId"),
];

/// Every served type stores, serves and indexes its official examples unchanged.
#[test]
fn official_examples_of_every_type_round_trip_and_are_found_by_id() {
    let app = TestApp::new();
    let admin = app.admin();
    let (files, full) = official_examples_of_every_type();
    assert!(files.len() >= 10, "{files:?}");
    let mut types = std::collections::BTreeSet::new();
    let mut failed = Vec::new();
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if let Some((_, needle)) = INVALID_EXAMPLES.iter().find(|(n, _)| *n == name) {
            // Refused, with the element named, and nothing stored.
            let body: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            let (t, id) = (body["resourceType"].as_str().unwrap(), body["id"].as_str().unwrap());
            let r = app.put_json(&format!("/{t}/{id}"), &admin, &body);
            assert_eq!(r.status, 400, "{name}: {}", r.text());
            assert!(r.text().contains(needle), "{name}: {}", r.text());
            app.get(&format!("/{t}/{id}"), &admin).expect(404);
            continue;
        }
        let (t, id) = match try_round_trip(&app, f) {
            Ok(x) => x,
            Err(e) => {
                failed.push(e);
                continue;
            }
        };
        let found = app.get(&format!("/{t}?_id={id}"), &admin).expect(200).json();
        let ids: Vec<&str> = found["entry"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["resource"]["id"].as_str()).collect())
            .unwrap_or_default();
        if ids != [id.as_str()] {
            failed.push(format!("{}: not found by _id ({ids:?})", f.display()));
        }
        types.insert(t);
    }
    assert!(failed.is_empty(), "{} of {} examples failed:\n{}", failed.len(), files.len(), failed.join("\n"));
    if full {
        let missing: Vec<&&str> = bedside::fhir::types::SUPPORTED_TYPES
            .iter()
            .filter(|t| !types.contains(**t) && **t != "AuditEvent")
            .collect();
        assert!(missing.is_empty(), "served types without a round-tripped example: {missing:?}");
    }
    eprintln!("round-tripped {} official examples of {} types", files.len(), types.len());
}
