//! Unit tests of value validation: valid resources pass, each invalid one reports exactly one issue.

use super::*;

fn check(json: &str) -> Vec<Issue> {
    validate_values(&serde_json::from_str(json).unwrap())
}

/// Must be valid.
#[rustfmt::skip]
const VALID: &[&str] = &[
    r#"{"resourceType": "Patient", "id": "pat-1.A",
        "meta": {"versionId": "1", "lastUpdated": "2020-02-29T10:00:00.123+01:00",
                 "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "extension": [{"url": "http://example.org/x", "valueDate": "2000-02"},
                      {"url": "http://example.org/y", "valueDecimal": 1.50e3},
                      {"url": "http://example.org/z", "valueInstant": "2015-02-07T13:28:17Z"},
                      {"url": "http://example.org/p", "valuePositiveInt": 2147483647}],
        "identifier": [{"use": "usual", "system": "urn:oid:1.2.x", "value": "12345"}],
        "active": true,
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
                 {"given": [null, "Jim"], "_given": [{"extension": [{"url": "http://x", "valueString": "a"}]}, null]}],
        "telecom": [{"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1}],
        "gender": "male", "_gender": {"id": "g1"},
        "birthDate": "2000-02-29",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                      "valueDateTime": "2000-02-29T14:35:45-05:00"}]},
        "deceasedBoolean": false,
        "address": [{"use": "home", "type": "both", "line": ["534 Erewhon St"], "period": {"start": "1974"}}],
        "multipleBirthInteger": -2147483648,
        "contact": [{"gender": "female", "telecom": [{"system": "email", "value": "a@b.c"}]}],
        "photo": [{"data": "aGVsbG8=\n"}],
        "contained": [{"resourceType": "Organization", "id": "org1", "name": "Acme"}]}"#,
    r#"{"resourceType": "Observation", "status": "final", "code": {"text": "bp"},
        "effectiveDateTime": "2012-09-17", "issued": "2013-04-03T15:30:10.01+14:00",
        "component": [{"code": {"text": "s"}, "valueQuantity": {"value": 107, "unit": "mmHg"}},
                      {"code": {"text": "d"}, "valueQuantity": {"value": 1.50000000000000000001e-3, "comparator": "<"}},
                      {"code": {"text": "t"}, "valueTime": "23:59:60.5"}],
        "valueSampledData": {"origin": {"value": 0}, "period": 10, "dimensions": 1, "data": "E U"}}"#,
    r#"{"resourceType": "Bundle", "type": "transaction",
        "entry": [{"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                   "resource": {"resourceType": "Appointment", "status": "booked",
                                "participant": [{"status": "accepted", "required": "required"}]},
                   "request": {"method": "POST", "url": "Appointment"}}]}"#,
    r#"{"resourceType": "Patient", "_birthDate": {"id": "only-extension"}}"#,
];

/// (resource, expression of the single expected issue, text the diagnostics must contain)
#[rustfmt::skip]
const INVALID: &[(&str, &str, &str)] = &[
    // date / dateTime / instant / time
    (r#"{"resourceType": "Patient", "birthDate": "2020-13-45"}"#,
     "Patient.birthDate", r#"Patient.birthDate: "2020-13-45" is not a valid date (expected YYYY, YYYY-MM or YYYY-MM-DD)"#),
    (r#"{"resourceType": "Patient", "birthDate": "2021-02-29"}"#, "Patient.birthDate", "February 2021 has no day 29"),
    (r#"{"resourceType": "Patient", "birthDate": "1900-02-29"}"#, "Patient.birthDate", "no day 29"),
    (r#"{"resourceType": "Patient", "birthDate": "2021-04-31"}"#, "Patient.birthDate", "April 2021 has no day 31"),
    (r#"{"resourceType": "Patient", "birthDate": "0000"}"#, "Patient.birthDate", "not a valid date"),
    (r#"{"resourceType": "Patient", "birthDate": "2020-01-01T00:00:00Z"}"#, "Patient.birthDate", "not a valid date"),
    (r#"{"resourceType": "Patient", "deceasedDateTime": "2020-01-01T10:00:00"}"#,
     "Patient.deceasedDateTime", "not a valid dateTime"),
    (r#"{"resourceType": "Patient", "deceasedDateTime": "2020-01-01T10:00Z"}"#,
     "Patient.deceasedDateTime", "not a valid dateTime"),
    (r#"{"resourceType": "Patient", "deceasedDateTime": "2021-02-30T10:00:00Z"}"#,
     "Patient.deceasedDateTime", "February 2021 has no day 30"),
    (r#"{"resourceType": "Patient", "meta": {"lastUpdated": "2020-01-01"}}"#,
     "Patient.meta.lastUpdated", "not a valid instant"),
    (r#"{"resourceType": "Patient", "meta": {"lastUpdated": "2020-01-01T00:00:00+15:00"}}"#,
     "Patient.meta.lastUpdated", "not a valid instant"),
    (r#"{"resourceType": "Observation", "valueTime": "24:00:00"}"#, "Observation.valueTime", "not a valid time"),
    // id, code, uri family, oid, uuid, base64Binary, string, markdown
    (r#"{"resourceType": "Patient", "id": "a_b"}"#, "Patient.id", "not a valid id"),
    (r#"{"resourceType": "Patient", "id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
     "Patient.id", "not a valid id"),
    (r#"{"resourceType": "Patient", "language": " en"}"#, "Patient.language", "not a valid code"),
    (r#"{"resourceType": "Patient", "language": "en  US"}"#, "Patient.language", "not a valid code"),
    (r#"{"resourceType": "Patient", "implicitRules": "http://a b"}"#, "Patient.implicitRules", "not a valid uri"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valueCanonical": "a\tb"}]}"#,
     "Patient.extension[0].valueCanonical", "not a valid canonical"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valueUrl": ""}]}"#,
     "Patient.extension[0].valueUrl", "empty string"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valueOid": "1.2.3"}]}"#,
     "Patient.extension[0].valueOid", "not a valid oid"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valueUuid": "urn:uuid:ABC"}]}"#,
     "Patient.extension[0].valueUuid", "not a valid uuid"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valueId": "a b"}]}"#,
     "Patient.extension[0].valueId", "not a valid id"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valueMarkdown": ""}]}"#,
     "Patient.extension[0].valueMarkdown", "empty string"),
    (r#"{"resourceType": "Patient", "photo": [{"data": "abc"}]}"#, "Patient.photo[0].data", "not a valid base64Binary"),
    (r#"{"resourceType": "Patient", "photo": [{"data": "ab=c"}]}"#, "Patient.photo[0].data", "not a valid base64Binary"),
    (r#"{"resourceType": "Patient", "name": [{"family": ""}]}"#,
     "Patient.name[0].family", r#"empty string "" is not a valid string"#),
    (r#"{"resourceType": "Patient", "id": "x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x"}"#,
     "Patient.id", r#"x ..." (89 characters) is not a valid id"#),
    // integer / unsignedInt / positiveInt / decimal / boolean
    (r#"{"resourceType": "Patient", "photo": [{"size": -1}]}"#, "Patient.photo[0].size", "-1 is not a valid unsignedInt"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valuePositiveInt": 0}]}"#,
     "Patient.extension[0].valuePositiveInt", "0 is not a valid positiveInt"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valuePositiveInt": 2147483648}]}"#,
     "Patient.extension[0].valuePositiveInt", "not a valid positiveInt"),
    (r#"{"resourceType": "Patient", "extension": [{"url": "http://x", "valuePositiveInt": "5"}]}"#,
     "Patient.extension[0].valuePositiveInt", "expected a JSON number"),
    (r#"{"resourceType": "Patient", "multipleBirthInteger": -2147483649}"#,
     "Patient.multipleBirthInteger", "not a valid integer"),
    (r#"{"resourceType": "Patient", "multipleBirthInteger": 1.0}"#,
     "Patient.multipleBirthInteger", "1.0 is not a valid integer"),
    (r#"{"resourceType": "Patient", "multipleBirthInteger": 1e2}"#, "Patient.multipleBirthInteger", "not a valid integer"),
    (r#"{"resourceType": "Observation", "valueQuantity": {"value": "1.5"}}"#,
     "Observation.valueQuantity.value", "expected a JSON number"),
    (r#"{"resourceType": "Patient", "active": "true"}"#,
     "Patient.active", r#""true" is not a valid boolean (expected true or false)"#),
    // required code sets (case-sensitive), also in contained resources and Bundle entries
    (r#"{"resourceType": "Patient", "gender": "bogus"}"#,
     "Patient.gender", r#"Patient.gender: "bogus" is not one of male, female, other, unknown"#),
    (r#"{"resourceType": "Patient", "gender": "Male"}"#, "Patient.gender", "not one of"),
    (r#"{"resourceType": "Patient", "contact": [{"gender": "M"}]}"#, "Patient.contact[0].gender", "not one of"),
    (r#"{"resourceType": "Observation", "status": "done"}"#, "Observation.status", "not one of registered"),
    (r#"{"resourceType": "Appointment", "participant": [{"status": "accepted", "required": "maybe"}]}"#,
     "Appointment.participant[0].required", "not one of required, optional, information-only"),
    (r#"{"resourceType": "Appointment", "participant": [{"status": "yes"}]}"#,
     "Appointment.participant[0].status", "not one of accepted"),
    (r#"{"resourceType": "CarePlan", "intent": "wish"}"#, "CarePlan.intent", "not one of proposal"),
    (r#"{"resourceType": "CarePlan", "activity": [{"detail": {"status": "done"}}]}"#,
     "CarePlan.activity[0].detail.status", "not one of not-started"),
    (r#"{"resourceType": "AllergyIntolerance", "category": ["food", "drug"]}"#,
     "AllergyIntolerance.category[1]", "not one of food"),
    (r#"{"resourceType": "Patient", "telecom": [{"system": "telephone"}]}"#, "Patient.telecom[0].system", "not one of phone"),
    (r#"{"resourceType": "Patient", "text": {"status": "auto", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}"#,
     "Patient.text.status", "(required value set NarrativeStatus)"),
    (r#"{"resourceType": "Observation", "valueQuantity": {"value": 1, "comparator": "=="}}"#,
     "Observation.valueQuantity.comparator", "not one of"),
    (r#"{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Encounter", "status": "done"}}]}"#,
     "Bundle.entry[0].resource.status", "not one of planned"),
    (r#"{"resourceType": "Patient", "contained": [{"resourceType": "Practitioner", "gender": "x"}]}"#,
     "Patient.contained[0].gender", "not one of"),
    // empty objects / arrays, nulls, `_element` siblings, unknown elements, bad resource types
    (r#"{"resourceType": "Patient", "name": [{}]}"#, "Patient.name[0]", "empty object {}"),
    (r#"{"resourceType": "Patient", "maritalStatus": {}}"#, "Patient.maritalStatus", "empty object {}"),
    (r#"{"resourceType": "Patient", "name": []}"#, "Patient.name", "empty array []"),
    (r#"{"resourceType": "Patient", "gender": null}"#, "Patient.gender", "null is not allowed"),
    (r#"{"resourceType": "Patient", "name": [null]}"#, "Patient.name[0]", "null is not allowed"),
    (r#"{"resourceType": "Patient", "name": [{"given": ["a", null]}]}"#, "Patient.name[0].given[1]", "null is not allowed"),
    (r#"{"resourceType": "Patient", "_birthDate": "x"}"#, "Patient._birthDate", "must be an object"),
    (r#"{"resourceType": "Patient", "_birthDate": {}}"#, "Patient._birthDate", "empty object {}"),
    (r#"{"resourceType": "Patient", "name": [{"_given": {"id": "x"}}]}"#, "Patient.name[0]._given", "must be an array"),
    (r#"{"resourceType": "Patient", "name": [{"given": ["a"], "_given": [null, {"id": "b"}]}]}"#,
     "Patient.name[0]._given", "the arrays must line up"),
    (r#"{"resourceType": "Patient", "_gender": {"extension": [{"url": "http://x", "valueCode": " a"}]}}"#,
     "Patient._gender.extension[0].valueCode", "not a valid code"),
    (r#"{"resourceType": "Patient", "_name": {}}"#, "Patient._name", "unknown element"),
    (r#"{"resourceType": "Patient", "foo": 1}"#, "Patient.foo", r#"unknown element "foo" in Patient"#),
    (r#"{"resourceType": "Patient", "contained": [{"resourceType": "HumanName"}]}"#,
     "Patient.contained[0]", "not a FHIR R4 resource type"),
    (r#"{"resourceType": "NotAThing"}"#, "NotAThing", "not a FHIR R4 resource type"),
    (r#"{"resourceType": 5}"#, "Resource", "must have a \"resourceType\" string"),
    (r#"[1, 2]"#, "Resource", "must be a JSON object"),
];

#[test]
fn tables_load() {
    let t = table().expect("element-types.json parses");
    assert!(patterns().is_some());
    assert_eq!(t["Patient"]["birthDate"], "date");
    assert_eq!(t["Patient"]["name"], "HumanName[]");
    assert_eq!(t["Patient"]["contact"], "Patient.contact[]");
    assert_eq!(t["Patient.contact"]["gender"], "code");
    assert_eq!(t["Device.udiCarrier"]["carrierAIDC"], "base64Binary");
    assert_eq!(t["Bundle.entry"]["resource"], "Resource");
}

#[test]
fn valid_resources_pass() {
    for json in VALID {
        assert_eq!(check(json), Vec::new(), "{json}");
    }
}

#[test]
fn invalid_resources_report_one_issue() {
    for (json, expr, needle) in INVALID {
        let found = check(json);
        assert!(found.len() == 1 && found[0].expression == *expr, "{json}: {found:#?}");
        assert!(found[0].diagnostics.contains(needle), "{json}: {found:#?}");
    }
}

#[test]
fn null_in_both_paired_arrays_is_reported_twice() {
    let json = r#"{"resourceType": "Patient", "name": [{"given": ["a", null], "_given": [null, null]}]}"#;
    assert_eq!(check(json).len(), 2);
}

#[test]
fn deep_nesting_is_bounded() {
    let mut ext = serde_json::json!({"url": "http://x", "valueString": "leaf"});
    for _ in 0..200 {
        ext = serde_json::json!({"url": "http://x", "extension": [ext]});
    }
    let found = validate_values(&serde_json::json!({"resourceType": "Patient", "extension": [ext]}));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].diagnostics.contains("nested deeper than 64 levels"));
}

/// Optional: the official examples in ../shared, when present, have no issues.
#[test]
fn shared_examples_pass_when_present() {
    let dir = std::path::Path::new("/work/shared/data/examples-r4/hl7-fhir-r4-core-4.0.1");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let Ok(value) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap()) else {
            continue;
        };
        if value.get("resourceType").is_some() {
            assert_eq!(validate_values(&value), Vec::new(), "{}", path.display());
        }
    }
}
