//! Unit tests of the FHIRPath subset: parsing, navigation, types, functions and odd input.

use super::*;
use serde_json::json;

fn p(s: &str) -> Expr {
    match parse(s) {
        Ok(e) => e,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn texts(e: &Expr, r: &Value) -> Vec<String> {
    evaluate(e, r).iter().map(|i| i.value.to_string()).collect()
}

fn hints<'a>(e: &'a Expr, r: &'a Value) -> Vec<Option<&'a str>> {
    evaluate(e, r).iter().map(|i| i.type_hint).collect()
}

#[test]
fn paths_flatten_arrays_and_check_the_type() {
    let r = json!({"resourceType": "Observation", "code": {"coding": [{"code": "a"}, {"code": "b"}]},
        "category": [{"coding": [{"code": "c1"}]}, {"coding": [{"code": "c2"}, {"code": "c3"}]}]});
    assert_eq!(texts(&p("Observation.code.coding.code"), &r), vec!["\"a\"", "\"b\""]);
    assert_eq!(texts(&p("Observation.category.coding.code"), &r).len(), 3);
    assert!(texts(&p("Patient.code"), &r).is_empty());
    assert_eq!(texts(&p("Resource.resourceType"), &r), vec!["\"Observation\""]);
    assert_eq!(texts(&p("DomainResource.code.coding[1].code"), &r), vec!["\"b\""]);
    assert_eq!(texts(&p("Observation.code.coding.code.first()"), &r), vec!["\"a\""]);
}

#[test]
fn choice_types_and_as() {
    let mut r = json!({"resourceType": "Observation", "valueQuantity": {"value": 0, "unit": "mg"},
        "effectivePeriod": {"start": "2020"}, "component": [
            {"valueCodeableConcept": {"text": "x"}}, {"valueQuantity": {"value": 2}}, {"valueAge": {"value": 3}}]});
    if let (Some(v), Ok(n)) = (r.pointer_mut("/valueQuantity/value"), serde_json::from_str::<Value>("1.50")) {
        *v = n;
    }
    assert_eq!(hints(&p("Observation.value"), &r), vec![Some("Quantity")]);
    assert_eq!(hints(&p("Observation.effective"), &r), vec![Some("Period")]);
    assert_eq!(evaluate(&p("(Observation.value as Quantity)"), &r).len(), 1);
    assert_eq!(evaluate(&p("Observation.value.as(Quantity)"), &r).len(), 1);
    assert_eq!(evaluate(&p("Observation.value.ofType(Quantity)"), &r).len(), 1);
    assert!(evaluate(&p("(Observation.value as CodeableConcept)"), &r).is_empty());
    assert_eq!(texts(&p("(Observation.component.value as CodeableConcept).text"), &r), vec!["\"x\""]);
    // Quantity matches its specialisations (Age here).
    assert_eq!(evaluate(&p("(Observation.component.value as Quantity)"), &r).len(), 2);
    assert_eq!(evaluate(&p("Observation.component.value as Quantity | Observation.value as Quantity"), &r).len(), 3);
    // The number keeps its text.
    assert_eq!(texts(&p("Observation.value.value"), &r), vec!["1.50"]);
    let g = json!({"resourceType": "Goal", "startDate": "2020-01-01", "target": [{"dueDate": "2021"}, {"dueDuration": {"value": 1}}]});
    assert_eq!(texts(&p("(Goal.start as date)"), &g), vec!["\"2020-01-01\""]);
    assert_eq!(texts(&p("(Goal.target.due as date)"), &g), vec!["\"2021\""]);
    let c = json!({"resourceType": "Condition", "onsetDateTime": "2020"});
    assert_eq!(evaluate(&p("Condition.onset.as(dateTime)"), &c).len(), 1);
    assert_eq!(evaluate(&p("Condition.onset.as(DateTime)"), &c).len(), 1);
    assert!(evaluate(&p("Condition.onset.as(Period)"), &c).is_empty());
}

#[test]
fn periods_do_not_match_period_unit() {
    let r = json!({"resourceType": "CarePlan", "periodUnit": "d"});
    assert!(evaluate(&p("CarePlan.period"), &r).is_empty());
}

#[test]
fn resolve_is() {
    let e = p("Observation.subject.where(resolve() is Patient)");
    assert!(matches!(&e, Expr::Where(_, c) if matches!(**c, Expr::ResolveIs(_, ref t) if t == "Patient")));
    for (subject, hit) in [
        (json!({"reference": "Patient/123"}), true),
        (json!({"reference": "Patient/123/_history/2"}), true),
        (json!({"reference": "http://x/fhir/Patient/123"}), true),
        (json!({"reference": "Group/1"}), false),
        (json!({"reference": "urn:uuid:0b5d1c5c-7a8e-4f6b-9d7e-2f0c6a1b3c4d"}), false),
        (json!({"reference": "urn:uuid:0b5d1c5c-7a8e-4f6b-9d7e-2f0c6a1b3c4d", "type": "Patient"}), true),
        (json!({"reference": "#p1"}), false),
        (json!({"display": "someone"}), false),
    ] {
        let r = json!({"resourceType": "Observation", "subject": subject});
        assert_eq!(evaluate(&e, &r).len(), usize::from(hit), "{r}");
    }
    assert!(!p("Observation.subject.resolve()").unsupported_parts().is_empty());
    assert!(p("Observation.subject.resolve().is(Patient)").unsupported_parts().is_empty());
}

#[test]
fn where_equality_and_booleans() {
    let r = json!({"resourceType": "Patient", "telecom": [
        {"system": "phone", "value": "555"}, {"system": "email", "value": "a@b"}], "deceasedDateTime": "2020"});
    assert_eq!(texts(&p("Patient.telecom.where(system='email').value"), &r), vec!["\"a@b\""]);
    assert_eq!(hints(&p("Patient.telecom.where(system='phone')"), &r), vec![Some("ContactPoint")]);
    let deceased = p("Patient.deceased.exists() and Patient.deceased != false");
    assert_eq!(texts(&deceased, &r), vec!["true"]);
    assert_eq!(texts(&deceased, &json!({"resourceType": "Patient", "deceasedBoolean": false})), vec!["false"]);
    assert_eq!(texts(&deceased, &json!({"resourceType": "Patient", "deceasedBoolean": true})), vec!["true"]);
    assert_eq!(texts(&deceased, &json!({"resourceType": "Patient"})), vec!["false"]);
    assert_eq!(texts(&p("Patient.telecom.exists(system = 'fax')"), &r), vec!["false"]);
    assert_eq!(texts(&p("Patient.name.empty()"), &r), vec!["true"]);
    assert_eq!(texts(&p("Patient.name.empty().not()"), &r), vec!["false"]);
    assert_eq!(texts(&p("true or Patient.name"), &r), vec!["true"]);
    assert_eq!(texts(&p("1.0 = 1"), &r), vec!["true"]);
}

#[test]
fn extensions() {
    let r = json!({"resourceType": "Patient", "extension": [
        {"url": "http://a", "valueString": "x"}, {"url": "http://b", "valueCode": "y"}]});
    assert_eq!(texts(&p("Patient.extension('http://b').value"), &r), vec!["\"y\""]);
    assert_eq!(texts(&p("Patient.extension.where(url = 'http://a').value"), &r), vec!["\"x\""]);
}

#[test]
fn relative_expressions() {
    let r = json!({"code": {"text": "c"}, "valueQuantity": {"value": 1}});
    let q = p("value.as(Quantity) | value.as(Range)");
    assert_eq!(evaluate(&q, &r).len(), 1);
    assert_eq!(texts(&p("code.text"), &r), vec!["\"c\""]);
    assert_eq!(texts(&p("$this.code.text"), &r), vec!["\"c\""]);
}

#[test]
fn unsupported_and_errors() {
    for s in ["Patient.name.count() > 1", "%resource.id", "Observation.value + 1", "a.b.c.frobnicate()", "x implies y"]
    {
        let e = p(s);
        assert!(e.has_unsupported(), "{s}");
        assert!(evaluate(&e, &json!({})).is_empty() || s.contains("implies"));
    }
    for s in ["", "Patient.", "(Patient.name", "Patient.name)", "'open", "Patient..name", "a #", "where("] {
        assert!(parse(s).is_err(), "{s}");
    }
    let deep = "(".repeat(500) + "a" + &")".repeat(500);
    assert!(parse(&deep).is_err());
}

#[test]
fn odd_input_never_panics() {
    let e = p("Observation.value.as(Quantity).value | Observation.subject.where(resolve() is Patient)");
    for v in [
        json!(null),
        json!([]),
        json!("x"),
        json!({"resourceType": 5}),
        json!({"resourceType": "Observation",
        "valueQuantity": [null, 1, "x"], "subject": [{"reference": 5}, null]}),
    ] {
        let _ = evaluate(&e, &v);
    }
}
