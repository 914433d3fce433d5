//! Unit tests of the demo data set: deterministic, every reference resolves, US Core must-support
//! elements present, every patient with an active care plan and an upcoming appointment.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use time::macros::date;
use time::Date;

use super::clinic::npi;
use super::json::{at, dec, weekday, ymd};
use super::*;

const TODAY: Date = date!(2025 - 06 - 15);

fn resources(bundles: &[Value]) -> Vec<&Value> {
    bundles.iter().flat_map(|b| b["entry"].as_array().unwrap()).map(|e| &e["resource"]).collect()
}
fn key(r: &Value) -> String {
    format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())
}
fn walk<'a>(v: &'a Value, refs: &mut Vec<&'a str>, empty: &mut usize) {
    match v {
        Value::Object(m) => {
            *empty += usize::from(m.is_empty());
            for (k, x) in m {
                if let (true, Some(s)) = (k == "reference", x.as_str()) {
                    refs.push(s);
                }
                walk(x, refs, empty);
            }
        }
        Value::Array(a) => {
            *empty += usize::from(a.is_empty());
            a.iter().for_each(|x| walk(x, refs, empty));
        }
        Value::String(s) => *empty += usize::from(s.trim().is_empty()),
        _ => {}
    }
}
fn start_date(a: &Value) -> &str {
    &a["start"].as_str().unwrap()[..10]
}

/// Must-support (or mandatory) elements of the US Core 6.1 profiles the demo claims, as alternatives
/// per line (`effectiveDateTime|effectivePeriod`).
const MUST_SUPPORT: &[(&str, &[&str])] = &[
    ("Patient", &["identifier", "name", "gender", "birthDate", "telecom", "address", "communication", "extension"]),
    (
        "Observation",
        &[
            "status",
            "category",
            "code",
            "subject",
            "effectiveDateTime|effectivePeriod",
            "valueQuantity|valueCodeableConcept|valueString|component|dataAbsentReason|hasMember",
        ],
    ),
    (
        "Condition",
        &[
            "clinicalStatus",
            "verificationStatus",
            "category",
            "code",
            "subject",
            "onsetDateTime|onsetPeriod|onsetAge|recordedDate",
        ],
    ),
    ("CarePlan", &["status", "intent", "category", "subject", "text"]),
    ("CareTeam", &["status", "subject", "participant"]),
    ("Encounter", &["identifier|status", "class", "type", "subject", "participant", "period"]),
    ("Goal", &["lifecycleStatus", "description", "subject", "target|startDate"]),
    ("Practitioner", &["identifier", "name"]),
    ("PractitionerRole", &["practitioner", "organization", "code|specialty"]),
    ("Organization", &["active", "name", "identifier", "address", "telecom"]),
    ("Location", &["name", "address"]),
];

#[test]
fn demo_resources_claim_us_core_profiles_and_carry_their_must_support_elements() {
    let bundles = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
    let mut claimed = 0;
    for r in resources(&bundles) {
        let t = r["resourceType"].as_str().unwrap();
        let supported = crate::fhir::us_core::profiles(t);
        if supported.is_empty() {
            assert!(r["meta"].get("profile").is_none(), "{}", key(r));
            continue;
        }
        let profile = r["meta"]["profile"][0].as_str().unwrap_or_else(|| panic!("{} claims no profile", key(r)));
        assert!(supported.contains(&profile), "{}: {profile}", key(r));
        let (_, elements) =
            MUST_SUPPORT.iter().find(|(x, _)| *x == t).unwrap_or_else(|| panic!("no must-support list for {t}"));
        for alternatives in *elements {
            assert!(alternatives.split('|').any(|e| r.get(e).is_some()), "{} lacks {alternatives} ({profile})", key(r));
        }
        claimed += 1;
    }
    assert!(claimed > 100, "{claimed}");
    let vitals: Vec<&str> = resources(&bundles)
        .into_iter()
        .filter_map(|r| r["meta"]["profile"][0].as_str())
        .filter(|p| p.ends_with("us-core-blood-pressure") || p.ends_with("us-core-observation-lab"))
        .collect();
    assert!(!vitals.is_empty());
}

#[test]
fn deterministic_and_counted() {
    let a = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
    let b = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    assert_eq!(a.len(), DEFAULT_DEMO_PATIENTS + 1);
    let ids: Vec<String> = resources(&a)
        .into_iter()
        .filter(|r| r["resourceType"] == "Patient")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, demo_patient_ids(DEFAULT_DEMO_PATIENTS));
    assert_eq!(ids[0], "demo-patient-01");
    // A patient does not depend on how many come after it.
    assert_eq!(demo_bundles(TODAY, 3)[2], a[2]);
    assert_eq!(demo_bundles(date!(2030 - 01 - 01), 40).len(), 41);
}

#[test]
fn ids_unique_references_resolve_nothing_empty() {
    let bundles = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
    let all = resources(&bundles);
    let keys: HashSet<String> = all.iter().map(|r| key(r)).collect();
    assert_eq!(keys.len(), all.len(), "duplicate ids");
    let (mut refs, mut empty) = (vec![], 0);
    for r in &all {
        let id = r["id"].as_str().unwrap();
        assert!(id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'), "{id}");
        walk(r, &mut refs, &mut empty);
    }
    assert_eq!(empty, 0, "empty strings, arrays or objects");
    for r in refs {
        assert!(keys.contains(r), "dangling reference {r}");
    }
    for b in &bundles {
        for e in b["entry"].as_array().unwrap() {
            assert_eq!(e["request"]["method"], "PUT");
            assert_eq!(e["request"]["url"].as_str().unwrap(), key(&e["resource"]));
        }
    }
}

#[test]
fn every_patient_has_an_active_care_plan_and_an_upcoming_booked_appointment() {
    let bundles = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
    let all = resources(&bundles);
    let by_key: HashMap<String, &Value> = all.iter().map(|r| (key(r), *r)).collect();
    let today = ymd(TODAY);
    for pid in demo_patient_ids(DEFAULT_DEMO_PATIENTS) {
        let patient = format!("Patient/{pid}");
        let mine = |kind: &str| -> Vec<&Value> {
            all.iter()
                .copied()
                .filter(|r| r["resourceType"] == kind)
                .filter(|r| {
                    r["subject"]["reference"] == patient.as_str()
                        || r["participant"]
                            .as_array()
                            .is_some_and(|p| p.iter().any(|p| p["actor"]["reference"] == patient.as_str()))
                })
                .collect()
        };
        let plans: Vec<&Value> = mine("CarePlan").into_iter().filter(|c| c["status"] == "active").collect();
        assert_eq!(plans.len(), 1, "{pid}");
        let appts: Vec<&str> = plans[0]["activity"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["reference"]["reference"].as_str())
            .collect();
        assert!(appts.iter().all(|a| a.starts_with("Appointment/") && by_key.contains_key(*a)), "{pid}");
        let booked: Vec<&Value> = mine("Appointment")
            .into_iter()
            .filter(|a| a["status"] == "booked" && start_date(a) > today.as_str())
            .collect();
        assert!(!booked.is_empty(), "{pid} has no upcoming booked appointment");
        assert!(booked.iter().all(|a| appts.contains(&key(a).as_str())), "{pid}");
        for a in mine("Appointment") {
            let past = matches!(a["status"].as_str(), Some("fulfilled" | "noshow" | "cancelled"));
            assert_eq!(past, start_date(a) < today.as_str(), "{}", key(a));
        }
        let observations = mine("Observation").len();
        assert!((20..=60).contains(&observations), "{pid}: {observations} observations");
        assert_eq!(mine("Encounter").len(), mine("Appointment").iter().filter(|a| a["status"] == "fulfilled").count());
        assert_eq!(mine("CareTeam").len(), 1);
        assert!(!mine("Goal").is_empty());
    }
}

#[test]
fn every_visit_kind_has_a_row_for_everyone() {
    use super::tables::{Kind, VISIT_TYPES};
    for kind in [Kind::Annual, Kind::FollowUp, Kind::Symptom] {
        assert!(VISIT_TYPES.iter().any(|t| t.kind == kind && t.when.is_none()));
    }
}

#[test]
fn helpers() {
    assert_eq!(npi(123_456_789), "1234567893");
    assert_eq!(dec(72.46, 1).as_f64(), Some(72.5));
    assert_eq!(dec(1.5, 2).to_string().trim_end_matches('0'), "1.5");
    assert_eq!(at(date!(2024 - 02 - 29), 1440 + 75), "2024-03-01T01:15:00-05:00");
    assert_eq!(weekday(date!(2025 - 06 - 14)), date!(2025 - 06 - 13));
}
