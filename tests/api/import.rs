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
    let obs = app.get("/Observation?patient=85&_count=1&_total=accurate", &t).expect(200).json();
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
    for (t, n) in [
        ("Patient", 40),
        ("Observation", 5278),
        ("Encounter", 849),
        ("CarePlan", 122),
        ("Claim", 1045),
        ("ExplanationOfBenefit", 849),
    ] {
        assert_eq!(report.counts.get(t), Some(&n), "{t}");
        let s = app.get(&format!("/{t}?_count=0"), &app.admin()).expect(200).json();
        assert_eq!(s["total"], n, "{t} searchable total");
    }
    let active = app.get("/CarePlan?status=active&_count=0", &app.admin()).expect(200).json();
    assert_eq!(active["total"], 68);
    search_matches_the_data(&app, &data.join("synthea"));
}

/// Search results over the Synthea set compared with what a plain scan of the source files finds.
fn search_matches_the_data(app: &TestApp, dir: &std::path::Path) {
    use time::format_description::well_known::Rfc3339;
    let mut resources: Vec<serde_json::Value> = Vec::new();
    for f in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()) {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        resources.extend(b["entry"].as_array().unwrap().iter().map(|e| e["resource"].clone()));
    }
    let of = |t: &'static str| resources.iter().filter(move |r| r["resourceType"] == t);
    let total = |q: &str| {
        app.get(&format!("{q}&_count=0"), &app.admin()).expect(200).json()["total"].as_i64().unwrap() as usize
    };
    let has_coding = |cc: &serde_json::Value, system: &str, code: &str| {
        cc["coding"].as_array().into_iter().flatten().any(|c| c["system"] == system && c["code"] == code)
    };
    assert_eq!(total("/Patient?gender=female"), of("Patient").filter(|p| p["gender"] == "female").count());
    assert_eq!(
        total("/Patient?birthdate=lt1950"),
        of("Patient").filter(|p| p["birthDate"].as_str().unwrap() < "1950").count()
    );
    assert_eq!(total("/Patient?deceased=true"), of("Patient").filter(|p| p.get("deceasedDateTime").is_some()).count());
    for code in ["8302-2", "29463-7", "4548-4", "72514-3"] {
        let n = of("Observation").filter(|o| has_coding(&o["code"], "http://loinc.org", code)).count();
        assert_eq!(total(&format!("/Observation?code=http://loinc.org|{code}")), n, "code {code}");
    }
    let vitals = of("Observation")
        .filter(|o| {
            o["category"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| has_coding(c, "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs"))
        })
        .count();
    assert_eq!(total("/Observation?category=vital-signs"), vitals);
    let cutoff = time::OffsetDateTime::parse("2015-01-01T00:00:00Z", &Rfc3339).unwrap();
    let recent = of("Observation")
        .filter(|o| {
            o["effectiveDateTime"]
                .as_str()
                .and_then(|d| time::OffsetDateTime::parse(d, &Rfc3339).ok())
                .is_some_and(|d| d >= cutoff)
        })
        .count();
    assert_eq!(total("/Observation?date=ge2015-01-01T00:00:00Z"), recent);
    let ambulatory = of("Encounter").filter(|e| e["class"]["code"] == "AMB").count();
    assert_eq!(total("/Encounter?class=AMB"), ambulatory);
    // Per patient: observations in the compartment equal those whose subject is the patient.
    let p0 = of("Patient").next().unwrap();
    let synthea_id = p0["identifier"][0]["value"].as_str().unwrap();
    let found = app.get(&format!("/Patient?identifier={synthea_id}"), &app.admin()).expect(200).json();
    assert_eq!(found["total"], 1);
    let pid = found["entry"][0]["resource"]["id"].as_str().unwrap().to_string();
    let mine = of("Observation")
        .filter(|o| o["subject"]["reference"].as_str() == Some(&format!("urn:uuid:{}", p0["id"].as_str().unwrap())))
        .count();
    assert_eq!(total(&format!("/Observation?patient={pid}")), mine);
    let t = app.token("patient/*.read", Some(&pid));
    let own = app.get("/Observation?_count=0", &t).expect(200).json()["total"].as_i64().unwrap() as usize;
    assert_eq!(own, mine, "a patient token sees exactly its own observations");
}

#[test]
fn demo_seed_is_idempotent_and_has_care_plans() {
    let app = TestApp::new();
    let settings = Settings::for_base(&app.base);
    let first = bedside::demo::seed::seed_demo(&app.state.store, &settings).unwrap();
    assert!(first.contains("Seeded"), "{first}");
    let second = bedside::demo::seed::seed_demo(&app.state.store, &settings).unwrap();
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

#[test]
fn bench_runs_and_reports_plans() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not present");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = match crate::support::postgres_base() {
        Some(_) => {
            // The bench loads into the database it is given; use a TestApp's fresh database.
            let app = TestApp::new();
            let out = bedside::bench::run(&bedside::bench::BenchArgs {
                data: data.join("synthea"),
                patients: 2,
                database_url: app.db_url.clone(),
                repeat: 1,
            })
            .unwrap();
            assert!(out.contains("page 20 / page 1") && out.contains("Query plans"), "{out}");
            return;
        }
        None => dir.path().join("bench.db").to_string_lossy().into_owned(),
    };
    let out = bedside::bench::run(&bedside::bench::BenchArgs {
        data: data.join("synthea"),
        patients: 2,
        database_url: url,
        repeat: 1,
    })
    .unwrap();
    assert!(out.contains("× baseline"), "{out}");
    assert!(out.contains("idx_string_lookup") || out.contains("idx_string"), "plans show the index: {out}");
}

/// All pages of a search or `$everything`: (type, id) of every entry.
fn all_pages(app: &TestApp, first: &str, token: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut page = app.get(first, token).expect(200).json();
    loop {
        for e in page["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            out.push((
                r["resourceType"].as_str().unwrap_or("").to_string(),
                r["id"].as_str().unwrap_or("").to_string(),
            ));
        }
        let next = page["link"].as_array().and_then(|l| l.iter().find(|l| l["relation"] == "next").cloned());
        match next {
            Some(n) => page = app.get(n["url"].as_str().unwrap(), token).expect(200).json(),
            None => return out,
        }
    }
}

/// Newer Synthea output (MedicationAdministration, SupplyDelivery, Device, Provenance, … and conditional
/// references to shared Practitioners, Organizations and Locations) loads completely with `bedside import`
/// (the folder in name order: the support batches first), and every resource of a patient file is that
/// patient's: found through its type's compartment parameters and in `Patient/$everything`, by a token
/// bound to that patient.
#[test]
fn synthea_recent_imports_completely_and_every_resource_is_the_patients() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not present");
        return;
    };
    let dir = data.join("synthea-recent/master-2021-07");
    let app = TestApp::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["import", "--database-url", &app.db_url, "--base-url", &app.base])
        .arg(&dir)
        .output()
        .expect("run bedside import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for t in ["MedicationAdministration", "SupplyDelivery", "Device", "Provenance"] {
        assert!(stdout.contains(t), "{t} not in the import report: {stdout}");
    }
    let admin = app.admin();
    let registry = bedside::fhir::search::registry::Registry::global();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut total, mut patients) = (0, 0);
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let bundle: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let entries = bundle["entry"].as_array().unwrap();
        total += entries.len();
        if bundle["type"] != "transaction" {
            continue;
        }
        patients += 1;
        // The patient, by its Synthea identifier.
        let patient = entries.iter().map(|e| &e["resource"]).find(|r| r["resourceType"] == "Patient").unwrap();
        let ident = patient["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["system"] == "https://github.com/synthetichealth/synthea")
            .unwrap();
        let q = format!(
            "/Patient?identifier=https://github.com/synthetichealth/synthea|{}",
            ident["value"].as_str().unwrap()
        );
        let found = all_pages(&app, &q, &admin);
        assert_eq!(found.len(), 1, "{}: {found:?}", f.display());
        let pid = found[0].1.clone();
        let token = app.token("patient/*.rs", Some(&pid));
        // Per type: how many resources the file holds, and how many the patient's token finds.
        let mut expected: std::collections::BTreeMap<String, usize> = Default::default();
        for e in entries {
            *expected.entry(e["resource"]["resourceType"].as_str().unwrap().to_string()).or_default() += 1;
        }
        let everything = all_pages(&app, &format!("/Patient/{pid}/$everything?_count=1000"), &token);
        for (t, n) in &expected {
            if !bedside::fhir::compartment::is_compartment_type(t) {
                // Shared data in a patient file (Medication): stored, not the patient's.
                let all = app.get(&format!("/{t}?_summary=count"), &admin).expect(200).json();
                assert!(all["total"].as_u64().unwrap_or(0) as usize >= *n, "{t}: {all}");
                continue;
            }
            let mut by_params = std::collections::BTreeSet::new();
            if t == "Patient" {
                by_params.insert(pid.clone());
            }
            for p in registry.patient_compartment_params(t) {
                for (_, id) in all_pages(&app, &format!("/{t}?{p}=Patient/{pid}&_count=1000"), &token) {
                    by_params.insert(id);
                }
            }
            assert_eq!(by_params.len(), *n, "{}: {t} found through its compartment parameters", f.display());
            let in_everything = everything.iter().filter(|(x, _)| x == t).count();
            assert_eq!(in_everything, *n, "{}: {t} in $everything", f.display());
        }
    }
    assert_eq!(patients, 5);
    assert_eq!(total, 4782, "shared/data/SOURCES.md");
}
