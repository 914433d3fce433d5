//! Unit tests of write-time extraction: the value rules, composites, compartments, odd input, and
//! every parameter over the official R4 examples.

use serde_json::json;

use super::values::token;
use super::*;
use crate::fhir::search::dates;

fn of<'a>(entries: &'a [IndexEntry], param: &str) -> Vec<&'a IndexEntry> {
    entries.iter().filter(|e| e.param() == param).collect()
}

fn ms(s: &str) -> i64 {
    dates::date_range(s).map(|r| r.0).unwrap_or(-1)
}

fn tok(param: &str, system: Option<&str>, code: Option<&str>, text: Option<&str>) -> IndexEntry {
    token(param, system.map(str::to_string), code.map(str::to_string), text.map(str::to_string))
}

#[test]
fn resource_types_sorted() {
    for t in crate::fhir::types::SUPPORTED_TYPES {
        assert!(is_resource_type(t), "{t}");
    }
    assert!(is_resource_type("Parameters"));
    assert_eq!(split_reference("Parameters/p1"), Some(("Parameters", "p1")));
}

#[test]
fn references() {
    assert_eq!(split_reference("Patient/123"), Some(("Patient", "123")));
    assert_eq!(split_reference("Patient/123/_history/4"), Some(("Patient", "123")));
    assert_eq!(split_reference("http://x.org/fhir/Patient/a.b-c"), Some(("Patient", "a.b-c")));
    assert_eq!(split_reference("https://x.org/fhir/Patient/1/_history/2"), Some(("Patient", "1")));
    assert_eq!(split_reference("http://hl7.org/fhir/Questionnaire/q1|1.0"), Some(("Questionnaire", "q1")));
    for bad in ["#c1", "urn:uuid:abc", "Patient", "Foo/1", "a/Patient/1", "Patient/a b", "Patient/", "", "/"] {
        assert_eq!(split_reference(bad), None, "{bad}");
    }
}

#[test]
fn normalization() {
    assert_eq!(normalize_string("Ěvé Zoë MÜLLER"), "eve zoe muller");
    assert_eq!(normalize_string("Straße"), "straße");
    assert_eq!(normalize_string(""), "");
}

#[test]
fn observation() {
    let r = json!({
        "resourceType": "Observation", "id": "o1",
        "meta": {"lastUpdated": "2024-01-02T03:04:05.678Z", "tag": [{"system": "s", "code": "t"}],
                 "profile": ["http://p"], "source": "http://src"},
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"},
                            {"system": "http://snomed.info/sct", "code": "364075005"}], "text": "HR"},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "urn:uuid:e1"},
        "performer": [{"reference": "Practitioner/d1"}, {"reference": "#contained"}],
        "effectivePeriod": {"start": "2020-01-01", "end": "2020-01-02T10:00:00Z"},
        "valueQuantity": {"value": 72.50, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120, "code": "mm[Hg]", "system": "http://unitsofmeasure.org"}},
            {"code": {"text": "free"}, "valueString": "x"}
        ]
    });
    // `json!` goes through f64; the stored text must stay "72.50" (arbitrary_precision).
    let mut r = r;
    if let (Some(v), Ok(n)) = (r.pointer_mut("/valueQuantity/value"), serde_json::from_str::<Value>("72.50")) {
        *v = n;
    }
    let e = extract(&r);
    assert_eq!(of(&e, "_id"), vec![&tok("_id", None, Some("o1"), None)]);
    let lu = ms("2024-01-02T03:04:05.678Z");
    assert_eq!(of(&e, "_lastUpdated"), vec![&IndexEntry::Date { param: "_lastUpdated".into(), low: lu, high: lu }]);
    assert_eq!(of(&e, "_tag"), vec![&tok("_tag", Some("s"), Some("t"), None)]);
    assert_eq!(of(&e, "_profile"), vec![&IndexEntry::Uri { param: "_profile".into(), value: "http://p".into() }]);
    assert_eq!(of(&e, "_source").len(), 1);
    assert_eq!(of(&e, "status"), vec![&tok("status", None, Some("final"), None)]);
    assert_eq!(
        of(&e, "code"),
        vec![
            &tok("code", Some("http://loinc.org"), Some("8867-4"), Some("HR")),
            &tok("code", Some("http://snomed.info/sct"), Some("364075005"), Some("HR")),
        ]
    );
    assert_eq!(of(&e, "category").len(), 1);
    assert_eq!(
        of(&e, "subject"),
        vec![&IndexEntry::Reference {
            param: "subject".into(),
            target_type: Some("Patient".into()),
            target_id: Some("p1".into()),
            url: "Patient/p1".into()
        }]
    );
    assert_eq!(of(&e, "patient").len(), 1);
    assert_eq!(
        of(&e, "encounter"),
        vec![&IndexEntry::Reference {
            param: "encounter".into(),
            target_type: None,
            target_id: None,
            url: "urn:uuid:e1".into()
        }]
    );
    assert_eq!(of(&e, "performer").len(), 1, "contained reference skipped");
    assert_eq!(
        of(&e, "date"),
        vec![&IndexEntry::Date { param: "date".into(), low: ms("2020-01-01"), high: ms("2020-01-02T10:00:00Z") + 999 }]
    );
    assert_eq!(
        of(&e, "value-quantity"),
        vec![&IndexEntry::Quantity {
            param: "value-quantity".into(),
            value: "72.50".into(),
            system: Some("http://unitsofmeasure.org".into()),
            code: Some("/min".into()),
            unit: Some("beats/minute".into())
        }]
    );
    assert_eq!(of(&e, "component-value-quantity").len(), 1);
    assert_eq!(of(&e, "combo-value-quantity").len(), 2);
    assert_eq!(of(&e, "component-code").len(), 2);
    assert_eq!(of(&e, "component-code")[1], &tok("component-code", None, None, Some("free")));
    assert!(of(&e, "value-string").is_empty());
    // No duplicate rows.
    let set: HashSet<_> = e.iter().collect();
    assert_eq!(set.len(), e.len());

    let c = extract_composites(&r);
    let cvq: Vec<_> = c.iter().filter(|c| c.param == "code-value-quantity").collect();
    assert_eq!(cvq.len(), 2, "two codings × one value");
    assert!(
        matches!(&cvq[0].parts[..], [IndexEntry::Token { param, .. }, IndexEntry::Quantity { value, .. }] if param == "code" && value == "72.50")
    );
    let comp: Vec<_> = c.iter().filter(|c| c.param == "component-code-value-quantity").collect();
    assert_eq!(comp.len(), 1);
    assert!(matches!(&comp[0].parts[1], IndexEntry::Quantity { value, .. } if value == "120"));
    assert_eq!(c.iter().filter(|c| c.param == "combo-code-value-quantity").count(), 3);

    assert_eq!(compartment_patients(&r), vec!["p1".to_string()]);
}

#[test]
fn value_string_and_concept() {
    let r = json!({"resourceType": "Observation", "valueCodeableConcept": {"text": "Positive"}, "status": "final"});
    let e = extract(&r);
    assert_eq!(of(&e, "value-concept"), vec![&tok("value-concept", None, None, Some("Positive"))]);
    assert_eq!(
        of(&e, "value-string"),
        vec![&IndexEntry::String { param: "value-string".into(), value: "Positive".into(), norm: "positive".into() }]
    );
    let r = json!({"resourceType": "Observation", "valueDateTime": "2021-05", "valueString": "bad: two values"});
    let e = extract(&r);
    assert_eq!(of(&e, "value-date").len(), 1);
    assert_eq!(of(&e, "value-string").len(), 1);
}

#[test]
fn patient() {
    let r = json!({
        "resourceType": "Patient", "id": "p1", "active": true, "gender": "female", "birthDate": "1980-02",
        "identifier": [{"system": "http://mrn", "value": "M1", "type": {"text": "MRN"}}],
        "name": [{"family": "Müller", "given": ["Zoë", "Ann"], "prefix": ["Dr."], "text": "Dr. Zoë Ann Müller"}],
        "telecom": [{"system": "phone", "value": "555-1"}, {"system": "email", "value": "z@x.org"}],
        "address": [{"line": ["1 Main St", "Apt 2"], "city": "Bøston", "state": "MA", "postalCode": "02101", "country": "US", "use": "home"}],
        "deceasedBoolean": false,
        "generalPractitioner": [{"reference": "https://ehr.example/fhir/Practitioner/d1"}],
        "link": [{"other": {"reference": "Patient/p0"}, "type": "replaces"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "de"}]}}]
    });
    let e = extract(&r);
    assert_eq!(of(&e, "active"), vec![&tok("active", None, Some("true"), None)]);
    assert_eq!(of(&e, "deceased"), vec![&tok("deceased", None, Some("false"), None)]);
    assert_eq!(of(&e, "identifier"), vec![&tok("identifier", Some("http://mrn"), Some("M1"), Some("MRN"))]);
    assert_eq!(of(&e, "phone"), vec![&tok("phone", None, Some("555-1"), None)]);
    assert_eq!(of(&e, "email"), vec![&tok("email", None, Some("z@x.org"), None)]);
    assert_eq!(of(&e, "telecom").len(), 2);
    let names: Vec<(&str, &str)> = of(&e, "name")
        .iter()
        .filter_map(|x| match x {
            IndexEntry::String { value, norm, .. } => Some((value.as_str(), norm.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("Müller", "muller"),
            ("Zoë", "zoe"),
            ("Ann", "ann"),
            ("Dr.", "dr."),
            ("Dr. Zoë Ann Müller", "dr. zoe ann muller")
        ]
    );
    assert_eq!(of(&e, "family").len(), 1);
    assert_eq!(of(&e, "given").len(), 2);
    assert_eq!(of(&e, "address").len(), 6);
    assert_eq!(
        of(&e, "address-city"),
        vec![&IndexEntry::String { param: "address-city".into(), value: "Bøston".into(), norm: "bøston".into() }]
    );
    assert_eq!(of(&e, "address-use"), vec![&tok("address-use", None, Some("home"), None)]);
    assert_eq!(
        of(&e, "birthdate"),
        vec![&IndexEntry::Date { param: "birthdate".into(), low: ms("1980-02-01"), high: ms("1980-03-01") - 1 }]
    );
    assert_eq!(
        of(&e, "general-practitioner"),
        vec![&IndexEntry::Reference {
            param: "general-practitioner".into(),
            target_type: Some("Practitioner".into()),
            target_id: Some("d1".into()),
            url: "https://ehr.example/fhir/Practitioner/d1".into()
        }]
    );
    assert_eq!(of(&e, "language"), vec![&tok("language", Some("urn:ietf:bcp:47"), Some("de"), None)]);
    assert_eq!(compartment_patients(&r), vec!["p0".to_string(), "p1".to_string()]);
    let dead = json!({"resourceType": "Patient", "id": "p2", "deceasedDateTime": "2020-01-01"});
    let e = extract(&dead);
    assert_eq!(of(&e, "deceased"), vec![&tok("deceased", None, Some("true"), None)]);
    assert_eq!(of(&e, "death-date").len(), 1);
}

#[test]
fn periods_timings_and_open_ends() {
    let r = json!({"resourceType": "Encounter", "period": {"start": "2020-01-01T10:00:00+01:00"},
        "subject": {"reference": "Patient/p"}, "class": {"system": "http://v3", "code": "AMB"},
        "length": {"value": 30, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}});
    let e = extract(&r);
    assert_eq!(
        of(&e, "date"),
        vec![&IndexEntry::Date { param: "date".into(), low: ms("2020-01-01T09:00:00Z"), high: i64::MAX }]
    );
    assert_eq!(of(&e, "class"), vec![&tok("class", Some("http://v3"), Some("AMB"), None)]);
    assert_eq!(of(&e, "length").len(), 1);
    assert_eq!(compartment_patients(&r), vec!["p".to_string()]);
    let r = json!({"resourceType": "CarePlan", "period": {"end": "2021"}, "activity": [
        {"detail": {"scheduledTiming": {"event": ["2020-03-01", "2020-01-01", "bad"]}}},
        {"detail": {"scheduledTiming": {"repeat": {"boundsPeriod": {"start": "2019", "end": "2019-06"}}}}},
        {"detail": {"scheduledString": "every day"}}]});
    let e = extract(&r);
    assert_eq!(of(&e, "date"), vec![&IndexEntry::Date { param: "date".into(), low: i64::MIN, high: ms("2022") - 1 }]);
    assert_eq!(
        of(&e, "activity-date"),
        vec![
            &IndexEntry::Date { param: "activity-date".into(), low: ms("2020-01-01"), high: ms("2020-03-02") - 1 },
            &IndexEntry::Date { param: "activity-date".into(), low: ms("2019"), high: ms("2019-07") - 1 },
        ]
    );
}

#[test]
fn medication_choice_references() {
    let r = json!({"resourceType": "MedicationRequest", "subject": {"reference": "Patient/p"},
        "medicationReference": {"reference": "Medication/m1"}, "authoredOn": "2020-02-02"});
    let e = extract(&r);
    assert_eq!(of(&e, "medication").len(), 1);
    assert!(of(&e, "code").is_empty());
    let r = json!({"resourceType": "MedicationRequest", "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {"coding": [{"system": "rxnorm", "code": "1"}]}});
    let e = extract(&r);
    assert!(of(&e, "medication").is_empty());
    assert_eq!(of(&e, "code"), vec![&tok("code", Some("rxnorm"), Some("1"), None)]);
}

#[test]
fn compartments_need_patient_refs() {
    let r = json!({"resourceType": "Observation", "subject": {"reference": "Group/g"},
        "performer": [{"reference": "Patient/a"}, {"reference": "http://x/fhir/Patient/b"}, {"reference": "Practitioner/c"}]});
    assert_eq!(compartment_patients(&r), vec!["a".to_string(), "b".to_string()]);
    let r = json!({"resourceType": "Practitioner", "id": "x"});
    assert!(compartment_patients(&r).is_empty());
    let r = json!({"resourceType": "Coverage", "beneficiary": {"reference": "Patient/a"}, "payor": [{"reference": "Organization/o"}],
        "subscriber": {"reference": "Patient/a"}});
    assert_eq!(compartment_patients(&r), vec!["a".to_string()]);
}

#[test]
fn odd_input_never_panics() {
    let odd = [
        json!(null),
        json!(1),
        json!({"resourceType": 1}),
        json!({"resourceType": "Nope"}),
        json!({"resourceType": "Patient", "id": 5, "name": "x", "telecom": [1, null, {"value": 3}], "birthDate": "1980-99",
            "address": [{"line": [1, "a"]}], "meta": {"lastUpdated": 3, "tag": "x"}, "link": [{"other": {"reference": 1}}]}),
        json!({"resourceType": "Observation", "valueQuantity": {"value": "1"}, "effectivePeriod": {"start": 1},
            "code": {"coding": {"code": 1}}, "component": [[]], "subject": {"reference": ""}}),
    ];
    for v in odd {
        let _ = extract(&v);
        let _ = extract_composites(&v);
        let _ = compartment_patients(&v);
    }
}

/// Every searchable parameter of every type, evaluated on the official R4 examples (all of them from
/// ../shared/data, else the copies in tests/fixtures): each value an expression reaches gives an index
/// row, unless it is a value the parameter is documented not to match, or one with nothing to index
/// (a Reference with only a display or an identifier, a CodeableConcept with neither coding nor text,
/// a Period without dates, a Quantity without a value).
#[test]
fn every_parameter_indexes_what_the_official_examples_hold() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/data/examples-r4/hl7-fhir-r4-core-4.0.1-all");
    let dir = if shared.is_dir() {
        shared
    } else {
        eprintln!("../shared/data not found: checking tests/fixtures/examples-all only");
        root.join("tests/fixtures/examples-all")
    };
    let registry = Registry::global();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let (mut checked, mut rows, mut problems) = (0, 0, Vec::new());
    for f in files {
        let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&f).unwrap_or_default()) else {
            continue;
        };
        let Some(rt) = v["resourceType"].as_str() else { continue };
        for p in registry.params_slice(rt).iter().filter(|p| p.is_searchable()) {
            let Some(expr) = &p.expression else { continue };
            for item in fhirpath::evaluate(expr, &v) {
                checked += 1;
                let mut out = Vec::new();
                entries_for(p.kind, &p.code, &item, &mut out);
                rows += out.len();
                if out.is_empty() && !nothing_to_index(p, &item) {
                    problems.push(format!(
                        "{}: {rt}.{} reached {} and indexed nothing",
                        f.display(),
                        p.code,
                        item.value
                    ));
                }
            }
        }
    }
    assert!(checked > 50 && rows > 50, "{checked} values, {rows} rows");
    assert!(problems.is_empty(), "{} of {checked} values:\n{}", problems.len(), problems.join("\n"));
}

/// A value with nothing a parameter of its kind could index, or a documented never-matched one.
fn nothing_to_index(p: &SearchParam, item: &Item<'_>) -> bool {
    if item.type_hint.is_some_and(|h| p.never_matched.iter().any(|n| n.eq_ignore_ascii_case(h))) {
        return true;
    }
    let local = |r: Option<&str>| r.is_some_and(|r| r.starts_with('#'));
    if p.kind == ParamType::Reference && local(item.value.as_str()) {
        return true; // a canonical pointing at a contained resource
    }
    let Value::Object(m) = item.value else { return false };
    let keys: Vec<&str> = m.keys().map(String::as_str).filter(|k| !matches!(*k, "id" | "extension")).collect();
    match p.kind {
        ParamType::Reference => !m.contains_key("reference") || local(m.get("reference").and_then(Value::as_str)),
        ParamType::Quantity => !m.contains_key("value"),
        // A Timing that only repeats (no events, no bounds) has no dates.
        ParamType::Date => {
            !keys.iter().any(|k| matches!(*k, "start" | "end" | "event"))
                && m.get("repeat").and_then(|r| r.get("boundsPeriod")).is_none()
        }
        // A ContactPoint without a value.
        ParamType::Token if item.type_hint == Some("ContactPoint") => !m.contains_key("value"),
        _ => keys.is_empty(),
    }
}
