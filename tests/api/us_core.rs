//! US Core 6.1: the CapabilityStatement declares it (instantiates, supportedProfile, combinations,
//! operations), every SHALL/SHOULD search parameter and combination of the US Core Server
//! CapabilityStatement is served and finds the data it should, `_revinclude=Provenance:target` works on
//! every US Core type, `$docref` answers, and every official US Core example round-trips.

use serde_json::{json, Value};

use crate::support::{shared_data, TestApp};

const US_CORE: &str = include_str!("../../conformance/us-core.json");

fn us_core() -> Value {
    serde_json::from_str(US_CORE).unwrap()
}

fn served_types(app: &TestApp) -> Vec<String> {
    let cs = app.get("/metadata", "").expect(200).json();
    cs["rest"][0]["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap().to_string()).collect()
}

#[test]
fn capability_statement_declares_us_core() {
    let app = TestApp::new();
    let cs = app.get("/metadata", "").expect(200).json();
    let instantiates: Vec<&str> = cs["instantiates"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        instantiates.contains(&"http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server"),
        "{instantiates:?}"
    );
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let find = |t: &str| resources.iter().find(|r| r["type"] == t).unwrap_or_else(|| panic!("{t} not served"));
    let doc = us_core();
    let served = served_types(&app);
    for (t, decl) in doc["resource"].as_object().unwrap() {
        assert!(served.contains(t), "US Core profiles {t}, which is not served");
        let r = find(t);
        let profiles =
            if decl["supportedProfile"] == json!([]) { Value::Null } else { decl["supportedProfile"].clone() };
        assert_eq!(r["supportedProfile"], profiles, "{t}: supportedProfile");
        let served: Vec<&str> =
            r["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        for p in decl["searchParam"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            assert!(served.contains(&name), "{t}: US Core search parameter {name} is not served");
        }
        for c in decl["combination"].as_array().unwrap() {
            for name in c["required"].as_array().unwrap() {
                let name = name.as_str().unwrap();
                assert!(name == "_id" || served.contains(&name), "{t}: combination parameter {name} is not served");
            }
        }
        let revincludes: Vec<&str> =
            r["searchRevInclude"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        for rev in decl["searchRevInclude"].as_array().unwrap() {
            assert!(revincludes.contains(&rev.as_str().unwrap()), "{t}: revinclude {rev} not advertised");
        }
        let includes: Vec<&str> =
            r["searchInclude"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        for inc in decl["searchInclude"].as_array().unwrap() {
            // `CareTeam:participant:Patient` is `CareTeam:participant` narrowed to one target type.
            let inc = inc.as_str().unwrap();
            let base: String = inc.split(':').take(2).collect::<Vec<_>>().join(":");
            assert!(includes.contains(&base.as_str()), "{t}: include {inc} not advertised");
        }
    }
    let combos = find("Observation")["extension"].as_array().unwrap();
    assert!(combos.iter().any(|e| e["extension"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["url"] == "required")
        .map(|p| p["valueString"].as_str().unwrap())
        .collect::<Vec<_>>()
        == ["category", "patient"]));
    let ops = |t: &str| -> Vec<String> {
        find(t)["operation"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ops("Patient"), ["everything", "export"]);
    assert_eq!(ops("DocumentReference"), ["docref"]);
}

/// The first coding of a CodeableConcept (or of the first of an array of them) as a `system|code` token.
fn token_of(v: &Value) -> Option<String> {
    let cc = if v.is_array() { v.get(0)? } else { v };
    let coding = cc.get("coding")?.get(0)?;
    let code = coding.get("code")?.as_str()?;
    Some(match coding.get("system").and_then(Value::as_str) {
        Some(s) => format!("{s}|{code}"),
        None => code.to_string(),
    })
}

/// A search value for `code` that `r` must match (`None` when `r` has no such element); dates take a
/// range that every date matches, and a second query with an impossible range must find nothing.
fn value_for(r: &Value, code: &str) -> Option<String> {
    let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
    match code {
        "patient" => {
            ["subject", "patient"].iter().find_map(|k| r.get(*k)?.get("reference")?.as_str().map(str::to_string))
        }
        "_id" => text("id"),
        "category" => token_of(r.get("category")?),
        "code" => token_of(r.get("code")?),
        "type" => token_of(r.get("type")?),
        "clinical-status" => token_of(r.get("clinicalStatus")?),
        "role" => token_of(r.get("participant")?.get(0)?.get("role")?),
        "status" | "intent" | "gender" => text(code),
        "birthdate" => text("birthDate"),
        "name" => r.get("name")?.get(0)?.get("family")?.as_str().map(str::to_string),
        "identifier" => {
            let i = r.get("identifier")?.get(0)?;
            Some(format!("{}|{}", i.get("system")?.as_str()?, i.get("value")?.as_str()?))
        }
        "date" | "authored" => Some("ge1900-01-01".into()),
        _ => None,
    }
}

fn load_us_core_patients(app: &TestApp) -> bool {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not present (the US Core patients live there)");
        return false;
    };
    for f in ["uscore_bundle_patient_85.json", "uscore_bundle_patient_355.json"] {
        let bundle: Value =
            serde_json::from_str(&std::fs::read_to_string(data.join("synthea-uscore").join(f)).unwrap()).unwrap();
        app.post_json("", &app.admin(), &bundle).expect(200);
    }
    true
}

fn ids(b: &Value) -> Vec<String> {
    b["entry"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["search"]["mode"] == "match")
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_us_core_search_combination_finds_the_data() {
    let app = TestApp::new();
    if !load_us_core_patients(&app) {
        return;
    }
    let admin = app.admin();
    let served = served_types(&app);
    let doc = us_core();
    let mut checked = 0;
    for (t, decl) in doc["resource"].as_object().unwrap() {
        if !served.contains(t) {
            continue;
        }
        let all = app.get(&format!("/{t}?_count=1000"), &admin).expect(200).json();
        let resources: Vec<Value> =
            all["entry"].as_array().map(|a| a.iter().map(|e| e["resource"].clone()).collect()).unwrap_or_default();
        let mut wanted: Vec<Vec<String>> = decl["combination"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .collect();
        wanted.extend(
            decl["searchParam"].as_array().unwrap().iter().map(|p| vec![p["name"].as_str().unwrap().to_string()]),
        );
        for combo in wanted {
            // A resource that has every element the combination searches.
            let Some((r, values)) = resources.iter().find_map(|r| {
                let values: Option<Vec<(String, String)>> =
                    combo.iter().map(|c| value_for(r, c).map(|v| (c.clone(), v))).collect();
                values.map(|v| (r, v))
            }) else {
                continue;
            };
            let query = |values: &[(String, String)]| {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                s.extend_pairs(values.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                s.append_pair("_count", "1000");
                format!("/{t}?{}", s.finish())
            };
            let found = ids(&app.get(&query(&values), &admin).expect(200).json());
            let id = r["id"].as_str().unwrap().to_string();
            assert!(found.contains(&id), "{t}?{combo:?} does not find {id}");
            if values.iter().any(|(k, _)| k == "date" || k == "authored") {
                let never: Vec<(String, String)> = values
                    .iter()
                    .map(|(k, v)| {
                        if k == "date" || k == "authored" {
                            (k.clone(), "lt1800-01-01".into())
                        } else {
                            (k.clone(), v.clone())
                        }
                    })
                    .collect();
                assert!(ids(&app.get(&query(&never), &admin).expect(200).json()).is_empty(), "{t}?{never:?}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} US Core searches could be checked against the data");
    eprintln!("checked {checked} US Core searches against the two US Core patients");
}

#[test]
fn provenance_revinclude_and_docref() {
    let app = TestApp::new();
    if !load_us_core_patients(&app) {
        return;
    }
    let t = app.token("patient/*.rs", Some("85"));
    let b = app.get("/Patient?_id=85&_revinclude=Provenance:target", &t).expect(200).json();
    let provenance =
        b["entry"].as_array().unwrap().iter().filter(|e| e["resource"]["resourceType"] == "Provenance").count();
    assert!(provenance >= 1, "no Provenance included: {b}");

    // $docref: a date range finds the patient's notes; another patient's token finds none of them.
    let docs = app.get("/DocumentReference?patient=85&_count=100", &t).expect(200).json();
    let all = ids(&docs);
    assert!(!all.is_empty());
    let in_range =
        ids(&app.get("/DocumentReference/$docref?patient=85&start=1900-01-01&end=2100-01-01", &t).expect(200).json());
    assert!(!in_range.is_empty() && in_range.iter().all(|i| all.contains(i)), "{in_range:?} vs {all:?}");
    let none = ids(&app.get("/DocumentReference/$docref?patient=85&end=1800-01-01", &t).expect(200).json());
    assert!(none.is_empty());
    let other = app.token("patient/*.rs", Some("355"));
    let theirs = ids(&app.get("/DocumentReference/$docref?patient=85&start=1900-01-01", &other).expect(200).json());
    assert!(theirs.is_empty(), "another patient's token read {theirs:?}");
    // POST with Parameters gives the same answer.
    let params = json!({"resourceType": "Parameters", "parameter": [
        {"name": "patient", "valueId": "85"}, {"name": "start", "valueDate": "1900-01-01"}, {"name": "end", "valueDate": "2100-01-01"}]});
    let posted = ids(&app.post_json("/DocumentReference/$docref", &t, &params).expect(200).json());
    assert_eq!(posted, in_range);
    // Without dates or type: the most recent CCD only (none of these notes is one).
    let ccd = app.get("/DocumentReference/$docref?patient=85", &t).expect(200).json();
    assert!(ids(&ccd).len() <= 1);
    // Bad input is a clear 400.
    let bad = app.get("/DocumentReference/$docref?start=2020-01-01", &t).expect(400).json();
    assert_eq!(bad["resourceType"], "OperationOutcome");
    app.get("/DocumentReference/$docref?patient=85&start=notadate", &t).expect(400);
}

#[test]
fn us_core_examples_round_trip() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: ../shared/data is not present (the US Core examples live there)");
        return;
    };
    let app = TestApp::new();
    let served = served_types(&app);
    let dir = data.join("examples-r4/us-core-6.1.0");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut done = 0;
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let t = v["resourceType"].as_str().unwrap();
        assert!(served.iter().any(|s| s == t), "{}: type {t} is not served", f.display());
        crate::examples::round_trip(&app, f);
        done += 1;
    }
    assert!(done >= 100, "only {done} US Core examples");
    eprintln!("round-tripped {done} US Core examples");
}
