//! `bedside import` and the demo data set.

use std::io::Write;

use bedside::config::Settings;
use bedside::import::import_paths;

use crate::support::{shared_data, TestApp};

#[test]
fn import_reports_bad_files_and_keeps_going() {
    let app = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a-good.ndjson");
    let mut f = std::fs::File::create(&good).unwrap();
    writeln!(f, r#"{{"resourceType":"Patient","id":"nd-1","gender":"male"}}"#).unwrap();
    writeln!(f, r#"{{"resourceType":"Practitioner","name":[{{"family":"Who"}}]}}"#).unwrap();
    let bad = dir.path().join("b-bad.ndjson");
    let mut f = std::fs::File::create(&bad).unwrap();
    writeln!(f, r#"{{"resourceType":"Patient","id":"nd-2"}}"#).unwrap();
    writeln!(f, r#"{{"resourceType":"Patient","id":"nd-3","gender":"bogus"}}"#).unwrap();
    let broken = dir.path().join("c-broken.json");
    std::fs::write(&broken, "{ nope").unwrap();
    let collection = dir.path().join("d-collection.json");
    std::fs::write(
        &collection,
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Organization","id":"org-1","name":"Clinic"}}]}"#,
    )
    .unwrap();
    let settings = Settings::for_base(&app.base);
    let report = import_paths(&app.state.store, &settings, &[dir.path().to_path_buf()], false);
    assert_eq!(report.files, 4);
    assert_eq!(report.failed_files.len(), 2, "{:?}", report.failed_files);
    assert!(report.failed_files[0].1.contains("entry[1]"), "{:?}", report.failed_files);
    assert_eq!(report.counts.get("Patient"), Some(&1));
    assert_eq!(report.counts.get("Organization"), Some(&1));
    let t = app.admin();
    app.get("/Patient/nd-1", &t).expect(200);
    // The bad file was all-or-nothing: its first, valid line was not kept.
    app.get("/Patient/nd-2", &t).expect(404);
}

#[test]
fn cli_import_of_a_us_core_patient() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not present");
        return;
    };
    let app = TestApp::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["import", "--database-url", &app.db_url, "--base-url", &app.base])
        .arg(data.join("synthea-uscore/uscore_bundle_patient_85.json"))
        .output()
        .expect("run bedside import");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Observation"), "{stdout}");
    let t = app.token("patient/*.read", Some("85"));
    let p = app.get("/Patient/85", &t).expect(200).json();
    assert_eq!(p["id"], "85");
    let obs = app.get("/Observation?patient=85&_count=1", &t).expect(200).json();
    assert!(obs["total"].as_i64().unwrap() > 50, "{obs}");
}

#[test]
fn all_synthea_bundles_load_completely() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not present");
        return;
    };
    let app = TestApp::new();
    let settings = Settings::for_base(&app.base);
    let report = import_paths(&app.state.store, &settings, &[data.join("synthea")], false);
    assert!(report.failed_files.is_empty(), "{:?}", report.failed_files);
    assert_eq!(report.files, 40);
    // Counts from shared/data/SOURCES.md.
    for (t, n) in [("Patient", 40), ("Observation", 5278), ("Encounter", 849), ("CarePlan", 122), ("Claim", 1045), ("ExplanationOfBenefit", 849)] {
        assert_eq!(report.counts.get(t), Some(&n), "{t}");
        let s = app.get(&format!("/{t}?_count=0"), &app.admin()).expect(200).json();
        assert_eq!(s["total"], n, "{t} searchable total");
    }
    let active = app.get("/CarePlan?status=active&_count=0", &app.admin()).expect(200).json();
    assert_eq!(active["total"], 68);
}

#[test]
fn demo_seed_is_idempotent_and_has_care_plans() {
    let app = TestApp::new();
    let settings = Settings::for_base(&app.base);
    let first = bedside::seed::seed_demo(&app.state.store, &settings).unwrap();
    assert!(first.contains("Seeded"), "{first}");
    let second = bedside::seed::seed_demo(&app.state.store, &settings).unwrap();
    assert!(second.contains("already present"), "{second}");
    let admin = app.admin();
    let patients = app.get("/Patient?_count=0", &admin).json();
    assert!(patients["total"].as_i64().unwrap() >= 25);
    let ids = bedside::demo::demo_patient_ids(bedside::demo::DEFAULT_DEMO_PATIENTS);
    let pid = &ids[0];
    let t = app.token("patient/*.read", Some(pid));
    let plans = app.get(&format!("/CarePlan?patient={pid}&status=active"), &t).expect(200).json();
    assert_eq!(plans["total"], 1, "{plans}");
    let plan = &plans["entry"][0]["resource"];
    // Activities point at Appointments that exist and are readable with the patient's token.
    let refs: Vec<String> = plan["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["reference"]["reference"].as_str().map(str::to_string))
        .collect();
    assert!(refs.iter().any(|r| r.starts_with("Appointment/")), "{plan}");
    for r in refs {
        app.get(&format!("/{r}"), &t).expect(200);
    }
    let vitals = app.get(&format!("/Observation?patient={pid}&category=vital-signs&_count=0"), &t).json();
    assert!(vitals["total"].as_i64().unwrap() > 5);
    let labs = app.get(&format!("/Observation?patient={pid}&category=laboratory&_count=0"), &t).json();
    assert!(labs["total"].as_i64().unwrap() > 0);
    let upcoming = app.get(&format!("/Appointment?patient={pid}&status=booked"), &t).json();
    assert!(upcoming["total"].as_i64().unwrap() >= 1);
    // Another patient's plan is invisible.
    let other = &ids[1];
    let none = app.get(&format!("/CarePlan?patient={other}"), &t).expect(200).json();
    assert_eq!(none["total"], 0);
}
