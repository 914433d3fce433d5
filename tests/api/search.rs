//! Minimal search and paging (the full engine is tested separately as it grows).

use serde_json::json;

use crate::support::{observation, patient, TestApp};

#[test]
fn search_by_id_and_patient_with_paging() {
    let app = TestApp::new();
    let t = app.admin();
    let a = app.create(&patient("Pager"));
    let other = app.create(&patient("Other"));
    for i in 0..5 {
        app.create(&observation(&a, &format!("{}.5", 60 + i)));
    }
    app.create(&observation(&other, "99"));
    let s = app.get(&format!("/Patient?_id={a},{other}"), &t).expect(200).json();
    assert_eq!(s["total"], 2);
    // Every page carries the total unless `_total=none` (which saves the count query).
    let counted = app.get(&format!("/Observation?patient={a}&_count=2"), &t).expect(200).json();
    assert_eq!(counted["total"], 5, "{counted}");
    let uncounted = app.get(&format!("/Observation?patient={a}&_count=2&_total=none"), &t).expect(200).json();
    assert!(uncounted.get("total").is_none(), "{uncounted}");
    let page1 = app.get(&format!("/Observation?patient={a}&_count=2&_total=accurate"), &t).expect(200).json();
    assert_eq!(page1["total"], 5);
    assert_eq!(page1["entry"].as_array().unwrap().len(), 2);
    let mut seen: Vec<String> = Vec::new();
    let mut page = page1;
    loop {
        for e in page["entry"].as_array().into_iter().flatten() {
            seen.push(e["resource"]["id"].as_str().unwrap().to_string());
            assert!(e["fullUrl"].as_str().unwrap().starts_with(&app.fhir));
        }
        let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").cloned();
        match next {
            Some(n) => page = app.get(n["url"].as_str().unwrap(), &t).expect(200).json(),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "paging must visit every match once");
    let by_ref = app.get(&format!("/Observation?subject=Patient/{a}"), &t).expect(200).json();
    assert_eq!(by_ref["total"], 5);
}

#[test]
fn tampered_cursor_is_400_and_unknown_param_is_400() {
    let app = TestApp::new();
    let t = app.admin();
    for i in 0..3 {
        app.create(&patient(&format!("C{i}")));
    }
    let p = app.get("/Patient?_count=1", &t).expect(200).json();
    let next = p["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let tampered = next.replace("_cursor=", "_cursor=x");
    app.get(&tampered, &t).expect(400);
    let r = app.get("/Patient?bogus=1", &t).expect(400).json();
    assert!(r["issue"][0]["diagnostics"].as_str().unwrap().contains("bogus"));
    app.get("/Patient?_count=abc", &t).expect(400);
}

#[test]
fn token_and_string_search() {
    let app = TestApp::new();
    let t = app.admin();
    let mut p = patient("Müller");
    p["identifier"] = json!([{"system": "urn:mrn", "value": "A1"}]);
    let id = app.create(&p);
    app.create(&patient("Smith"));
    assert_eq!(app.get("/Patient?identifier=urn:mrn|A1", &t).json()["total"], 1);
    assert_eq!(app.get("/Patient?identifier=A1", &t).json()["total"], 1);
    assert_eq!(app.get("/Patient?identifier=urn:other|A1", &t).json()["total"], 0);
    let s = app.get("/Patient?family=muller", &t).json();
    assert_eq!(s["total"], 1, "accent- and case-insensitive prefix: {s}");
    assert_eq!(s["entry"][0]["resource"]["id"], id.as_str());
    assert_eq!(app.get("/Patient?gender=female", &t).json()["total"], 2);
    assert_eq!(app.get("/Patient?birthdate=1980", &t).json()["total"], 2);
    assert_eq!(app.get("/Patient?birthdate=gt1981", &t).json()["total"], 0);
    app.get("/Patient?birthdate=notadate", &t).expect(400);
    let post = app.send(
        app.req("POST", "/Patient/_search", Some(&t))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("family=smi"),
    );
    assert_eq!(post.expect(200).json()["total"], 1);
}

fn ids(b: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn put(app: &TestApp, body: serde_json::Value) {
    let t = body["resourceType"].as_str().unwrap().to_string();
    let id = body["id"].as_str().unwrap().to_string();
    let r = app.put_json(&format!("/{t}/{id}"), &app.admin(), &body);
    assert!(r.status == 201 || r.status == 200, "{}", r.text());
}

/// A fixed, hand-made data set with the edge cases the R4 search spec talks about.
fn edge_cases() -> TestApp {
    let app = TestApp::new();
    put(
        &app,
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Zoë", "given": ["Ann", "Marie"]}],
        "gender": "female", "birthDate": "1980", "identifier": [{"system": "urn:a", "value": "1"}, {"system": "urn:b", "value": "X-9"}],
        "telecom": [{"system": "phone", "value": "555-0101"}], "address": [{"city": "Springfield", "postalCode": "01101"}],
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"], "tag": [{"system": "urn:t", "code": "vip"}]}}),
    );
    put(
        &app,
        json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Zoeller"}], "gender": "male", "birthDate": "1980-04"}),
    );
    put(
        &app,
        json!({"resourceType": "Patient", "id": "p3", "name": [{"family": "Adams", "text": "Jo Adams"}], "gender": "male", "birthDate": "1999-12-31",
        "generalPractitioner": [{"reference": "Practitioner/dr1"}]}),
    );
    put(&app, json!({"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "House"}]}));
    let obs = |id: &str, patient: &str, when: serde_json::Value, value: &str, code: &str, cat: &str| {
        let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": cat}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": format!("code {code}")},
            "subject": {"reference": format!("Patient/{patient}")}, "performer": [{"reference": "Practitioner/dr1"}]});
        if let Some(m) = when.as_object() {
            for (k, v) in m {
                o[k] = v.clone();
            }
        }
        if !value.is_empty() {
            o["valueQuantity"] = json!({"value": serde_json::from_str::<serde_json::Value>(value).unwrap(), "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"});
        }
        o
    };
    put(
        &app,
        obs("o1", "p1", json!({"effectiveDateTime": "2024-05-01T23:30:00-05:00"}), "5.4", "29463-7", "vital-signs"),
    );
    put(&app, obs("o2", "p1", json!({"effectiveDateTime": "2024-05-01"}), "70", "29463-7", "vital-signs"));
    put(
        &app,
        obs("o3", "p1", json!({"effectivePeriod": {"start": "2023-01-01T00:00:00Z"}}), "100.0", "2339-0", "laboratory"),
    );
    put(
        &app,
        obs(
            "o4",
            "p2",
            json!({"effectivePeriod": {"start": "2022-06-01T00:00:00Z", "end": "2022-06-30T00:00:00Z"}}),
            "",
            "2339-0",
            "laboratory",
        ),
    );
    put(&app, obs("o5", "p3", json!({}), "80", "8302-2", "vital-signs"));
    app
}

#[test]
fn string_search_semantics() {
    let app = edge_cases();
    let t = app.admin();
    assert_eq!(ids(&app.get("/Patient?name=zoe", &t).json()), ["p1", "p2"], "prefix, accent- and case-insensitive");
    assert_eq!(ids(&app.get("/Patient?family:exact=Zoë", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Patient?family:exact=zoë", &t).json()), Vec::<String>::new());
    assert_eq!(ids(&app.get("/Patient?name:contains=ller", &t).json()), ["p2"]);
    assert_eq!(ids(&app.get("/Patient?given=marie", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Patient?name=jo%20adams", &t).json()), ["p3"], "HumanName.text");
    assert_eq!(ids(&app.get("/Patient?address-city=spring", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Patient?address-postalcode=01101", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Patient?name=adams,zoeller", &t).json()), ["p2", "p3"], "comma = OR");
    assert_eq!(ids(&app.get("/Patient?name=zoe&gender=male", &t).json()), ["p2"], "repeat = AND");
    assert_eq!(ids(&app.get("/Patient?family=zo&family=zoel", &t).json()), ["p2"]);
}

#[test]
fn token_search_semantics() {
    let app = edge_cases();
    let t = app.admin();
    assert_eq!(ids(&app.get("/Patient?identifier=urn:b|X-9", &t).json()), ["p1"], "second of several identifiers");
    assert_eq!(ids(&app.get("/Patient?identifier=urn:a|", &t).json()), ["p1"], "system|");
    assert_eq!(ids(&app.get("/Patient?identifier=|1", &t).json()), Vec::<String>::new(), "|code means no system");
    assert_eq!(ids(&app.get("/Patient?gender:not=male", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Observation?code=http://loinc.org|2339-0", &t).json()), ["o3", "o4"]);
    assert_eq!(ids(&app.get("/Observation?code:text=code%208302", &t).json()), ["o5"]);
    assert_eq!(ids(&app.get("/Observation?category=laboratory", &t).json()), ["o3", "o4"]);
    assert_eq!(ids(&app.get("/Patient?telecom=555-0101", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Patient?phone=555-0101", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Patient?_tag=urn:t|vip", &t).json()), ["p1"]);
    assert_eq!(
        ids(&app.get("/Patient?_profile=http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient", &t).json()),
        ["p1"]
    );
    assert_eq!(ids(&app.get("/Patient?_profile:below=http://hl7.org/fhir/us/core", &t).json()), ["p1"]);
    assert_eq!(ids(&app.get("/Observation?value-quantity:missing=true", &t).json()), ["o4"]);
    assert_eq!(ids(&app.get("/Observation?date:missing=true", &t).json()), ["o5"]);
    assert_eq!(ids(&app.get("/Patient?general-practitioner:missing=false", &t).json()), ["p3"]);
    app.get("/Patient?gender:bogus=x", &t).expect(400);
    app.get("/Patient?gender:missing=maybe", &t).expect(400);
}

#[test]
fn date_search_semantics() {
    let app = edge_cases();
    let t = app.admin();
    // Partial dates are ranges: 1980 covers 1980-04.
    assert_eq!(ids(&app.get("/Patient?birthdate=1980", &t).json()), ["p1", "p2"]);
    assert_eq!(ids(&app.get("/Patient?birthdate=1980-04", &t).json()), ["p2"], "eq: the target range must be inside");
    assert_eq!(ids(&app.get("/Patient?birthdate=ap1980-04", &t).json()), ["p1", "p2"], "ap: overlap");
    assert_eq!(ids(&app.get("/Patient?birthdate=ne1980", &t).json()), ["p3"]);
    assert_eq!(ids(&app.get("/Patient?birthdate=gt1990", &t).json()), ["p3"]);
    assert_eq!(ids(&app.get("/Patient?birthdate=lt1980-06", &t).json()), ["p1", "p2"]);
    assert_eq!(
        ids(&app.get("/Patient?birthdate=ge1980-04-01", &t).json()),
        ["p1", "p2", "p3"],
        "1980 and 1980-04 extend above the day"
    );
    assert_eq!(ids(&app.get("/Patient?birthdate=ge1980-05", &t).json()), ["p1", "p3"], "1980-04 ends before");
    assert_eq!(ids(&app.get("/Patient?birthdate=le1980-04-30", &t).json()), ["p1", "p2"]);
    assert_eq!(ids(&app.get("/Patient?birthdate=sa1980-12-31", &t).json()), ["p3"]);
    assert_eq!(ids(&app.get("/Patient?birthdate=eb1999-12-31", &t).json()), ["p1", "p2"]);
    // Time zones: 23:30 at -05:00 is the next day in UTC.
    assert_eq!(ids(&app.get("/Observation?date=2024-05-02", &t).json()), ["o1"]);
    assert_eq!(ids(&app.get("/Observation?date=2024-05-01", &t).json()), ["o2"]);
    assert_eq!(ids(&app.get("/Observation?date=2024-05-02T04:30:00Z", &t).json()), ["o1"]);
    // Periods, open-ended.
    assert_eq!(ids(&app.get("/Observation?date=gt2030-01-01", &t).json()), ["o3"], "open end extends forever");
    assert_eq!(ids(&app.get("/Observation?date=2022-06", &t).json()), ["o4"]);
    assert_eq!(ids(&app.get("/Observation?date=ge2022-01-01&date=lt2023-01-01", &t).json()), ["o4"]);
    app.get("/Observation?date=2024-13", &t).expect(400);
    app.get("/Observation?date=xx2024", &t).expect(400);
}

#[test]
fn quantity_and_reference_search() {
    let app = edge_cases();
    let t = app.admin();
    assert_eq!(ids(&app.get("/Observation?value-quantity=5.4", &t).json()), ["o1"], "implicit precision range");
    assert_eq!(ids(&app.get("/Observation?value-quantity=5.40", &t).json()), ["o1"]);
    assert_eq!(ids(&app.get("/Observation?value-quantity=100", &t).json()), ["o3"]);
    assert_eq!(ids(&app.get("/Observation?value-quantity=gt70", &t).json()), ["o3", "o5"]);
    assert_eq!(
        ids(&app.get("/Observation?value-quantity=ge70|http://unitsofmeasure.org|kg", &t).json()),
        ["o2", "o3", "o5"]
    );
    assert_eq!(ids(&app.get("/Observation?value-quantity=lt10||kg", &t).json()), ["o1"]);
    assert_eq!(ids(&app.get("/Observation?value-quantity=ge70|urn:other|kg", &t).json()), Vec::<String>::new());
    app.get("/Observation?value-quantity=abc", &t).expect(400);
    assert_eq!(ids(&app.get("/Observation?subject=Patient/p1", &t).json()), ["o1", "o2", "o3"]);
    assert_eq!(ids(&app.get("/Observation?subject=p2", &t).json()), ["o4"]);
    assert_eq!(ids(&app.get("/Observation?subject:Patient=p2", &t).json()), ["o4"]);
    assert_eq!(ids(&app.get(&format!("/Observation?subject={}/Patient/p3", app.fhir), &t).json()), ["o5"]);
    assert_eq!(ids(&app.get("/Observation?patient=p1&category=vital-signs", &t).json()), ["o1", "o2"]);
    assert_eq!(ids(&app.get("/Observation?performer=Practitioner/dr1&_count=0", &t).json()), Vec::<String>::new());
    assert_eq!(app.get("/Observation?performer=Practitioner/dr1&_count=0", &t).json()["total"], 5);
}

#[test]
fn chaining_and_reverse_chaining() {
    let app = edge_cases();
    let t = app.admin();
    assert_eq!(ids(&app.get("/Observation?subject:Patient.name=zoe", &t).json()), ["o1", "o2", "o3", "o4"]);
    assert_eq!(ids(&app.get("/Observation?patient.gender=male", &t).json()), ["o4", "o5"]);
    assert_eq!(
        ids(&app.get("/Observation?patient.general-practitioner:Practitioner.name=house", &t).json()),
        ["o5"],
        "two-level chain"
    );
    assert_eq!(ids(&app.get("/Patient?_has:Observation:patient:code=2339-0", &t).json()), ["p1", "p2"]);
    assert_eq!(ids(&app.get("/Patient?_has:Observation:patient:category=vital-signs&gender=male", &t).json()), ["p3"]);
    app.get("/Observation?subject.name=zoe", &t).expect(400); // ambiguous target type
    app.get("/Observation?patient.general-practitioner.name=house", &t).expect(400);
    app.get("/Patient?_has:Observation:code:code=1", &t).expect(400);
}

#[test]
fn sort_and_paging_through_sorted_results() {
    let app = edge_cases();
    let t = app.admin();
    let by_birth = app.get("/Patient?_sort=birthdate", &t).json();
    assert_eq!(
        by_birth["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect::<Vec<_>>(),
        ["p1", "p2", "p3"]
    );
    let desc = app.get("/Patient?_sort=-birthdate", &t).json();
    assert_eq!(desc["entry"][0]["resource"]["id"], "p3");
    let by_family = app.get("/Patient?_sort=family", &t).json();
    assert_eq!(by_family["entry"][0]["resource"]["id"], "p3");
    // Observations by date descending, one per page; missing dates last.
    let mut order = Vec::new();
    let mut url = "/Observation?_sort=-date&_count=1".to_string();
    loop {
        let page = app.get(&url, &t).expect(200).json();
        for e in page["entry"].as_array().into_iter().flatten() {
            order.push(e["resource"]["id"].as_str().unwrap().to_string());
        }
        match page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next") {
            Some(n) => url = n["url"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(order, ["o3", "o1", "o2", "o4", "o5"]);
    let multi = app.get("/Observation?_sort=category,-date", &t).json();
    let got: Vec<&str> =
        multi["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect();
    assert_eq!(got, ["o3", "o4", "o1", "o2", "o5"]);
    app.get("/Observation?_sort=subject", &t).expect(400);
}

#[test]
fn includes_and_result_shaping() {
    let app = edge_cases();
    let t = app.admin();
    let b = app.get("/Observation?_id=o5&_include=Observation:subject&_include=Observation:performer", &t).json();
    let modes: Vec<(String, String)> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["search"]["mode"].as_str().unwrap().to_string(), e["resource"]["id"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        modes.contains(&("include".into(), "p3".into())) && modes.contains(&("include".into(), "dr1".into())),
        "{modes:?}"
    );
    assert_eq!(b["total"], 1, "total counts matches only");
    let rev = app.get("/Patient?_id=p1&_revinclude=Observation:subject", &t).json();
    assert_eq!(rev["entry"].as_array().unwrap().len(), 4);
    let iter = app
        .get("/Observation?_id=o5&_include=Observation:subject&_include:iterate=Patient:general-practitioner", &t)
        .json();
    assert!(iter.to_string().contains("\"dr1\""));
    let wild = app.get("/Observation?_id=o5&_include=Observation:*", &t).json();
    assert_eq!(wild["entry"].as_array().unwrap().len(), 3);
    let count = app.get("/Observation?_summary=count", &t).json();
    assert_eq!(count["total"], 5);
    assert!(count.get("entry").is_none());
    let none = app.get("/Observation?_total=none", &t).json();
    assert!(none.get("total").is_none());
    let el = app.get("/Patient?_id=p1&_elements=gender", &t).json();
    let r = &el["entry"][0]["resource"];
    assert_eq!(r["gender"], "female");
    assert!(r.get("name").is_none());
    assert!(r["meta"]["tag"].to_string().contains("SUBSETTED"));
    let sum = app.get("/Patient?_id=p1&_summary=true", &t).json();
    assert!(sum["entry"][0]["resource"].get("name").is_some());
    app.get("/Observation?_include=Observation:bogus", &t).expect(400);
    app.get("/Observation?_summary=maybe", &t).expect(400);
}

#[test]
fn includes_respect_the_patient_compartment() {
    let app = edge_cases();
    // o5 (patient p3) has performer dr1; make an observation of p1 that points at p2 as performer.
    put(
        &app,
        json!({"resourceType": "Observation", "id": "o6", "status": "final", "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"}, "performer": [{"reference": "Patient/p2"}]}),
    );
    let t = app.token("patient/*.read", Some("p1"));
    let b = app.get("/Observation?_id=o6&_include=Observation:performer", &t).expect(200).json();
    assert_eq!(b["entry"].as_array().unwrap().len(), 1, "p2 must not be included: {b}");
    let rev = app.get("/Patient?_revinclude=Observation:performer", &t).expect(200).json();
    assert_eq!(rev["total"], 1);
    assert!(!rev.to_string().contains("\"o5\""));
    let sys = app.get("?_type=Patient,Observation&_count=50", &t).expect(200).json();
    assert_eq!(sys["total"], 5, "p1 and its four observations: {sys}");
}

#[test]
fn system_search_and_lenient_handling() {
    let app = edge_cases();
    let t = app.admin();
    let b = app.get("?_type=Patient,Practitioner&_id=p1,dr1", &t).expect(200).json();
    assert_eq!(ids(&b), ["dr1", "p1"]);
    app.get("?_type=Patient,Observation&gender=male", &t).expect(400);
    let lenient = app
        .send(app.req("GET", "/Patient?bogus=1&gender=male", Some(&t)).header("prefer", "handling=lenient"))
        .expect(200)
        .json();
    assert_eq!(ids(&lenient), ["p2", "p3"]);
    let outcome =
        lenient["entry"].as_array().unwrap().iter().find(|e| e["search"]["mode"] == "outcome").expect("outcome entry");
    assert!(outcome["resource"].to_string().contains("bogus"));
    assert!(!lenient["link"][0]["url"].as_str().unwrap().contains("bogus"), "self link shows what was used");
}

#[test]
fn meta_parameters() {
    let app = edge_cases();
    let t = app.admin();
    let p1 = app.get("/Patient/p1", &t).json();
    let updated = p1["meta"]["lastUpdated"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&app.get(&format!("/Patient?_lastUpdated=ge{}&_id=p1,p2", &updated[..19]), &t).json()),
        ["p1", "p2"]
    );
    assert_eq!(ids(&app.get("/Patient?_lastUpdated=lt2000-01-01", &t).json()), Vec::<String>::new());
    assert_eq!(app.get("/Patient?_lastUpdated=gt2000-01-01&_count=0", &t).json()["total"], 3);
    // A CarePlan's activity.reference points at Appointments: revinclude from the appointment side.
    put(
        &app,
        json!({"resourceType": "Appointment", "id": "a1", "status": "booked",
        "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}]}),
    );
    put(
        &app,
        json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/p1"}, "activity": [{"reference": {"reference": "Appointment/a1"}}]}),
    );
    let b = app.get("/CarePlan?patient=p1&status=active&_include=CarePlan:activity-reference", &t).json();
    assert!(
        b["entry"].as_array().unwrap().iter().any(|e| e["search"]["mode"] == "include" && e["resource"]["id"] == "a1"),
        "{b}"
    );
    assert_eq!(ids(&app.get("/Appointment?patient=p1&status=booked", &t).json()), ["a1"]);
    assert_eq!(ids(&app.get("/CarePlan?activity-reference=Appointment/a1", &t).json()), ["cp1"]);
}

#[test]
fn patient_everything() {
    let app = edge_cases();
    let t = app.admin();
    let b = app.get("/Patient/p1/$everything", &t).expect(200).json();
    let got: Vec<String> =
        b["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap().to_string()).collect();
    for id in ["p1", "o1", "o2", "o3", "dr1"] {
        assert!(got.contains(&id.to_string()), "{id} missing from {got:?}");
    }
    assert!(!got.contains(&"o4".to_string()) && !got.contains(&"p2".to_string()), "{got:?}");
    assert_eq!(b["total"], 4, "p1 and its three observations");
    let paged = app.get("/Patient/p1/$everything?_count=2", &t).expect(200).json();
    let next = paged["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("next");
    app.get(next["url"].as_str().unwrap(), &t).expect(200);
    let typed = app.get("/Patient/p1/$everything?_type=Observation", &t).expect(200).json();
    assert_eq!(typed["total"], 3);
    // A patient token reaches only its own $everything.
    let pt = app.token("patient/*.read", Some("p1"));
    app.get("/Patient/p1/$everything", &pt).expect(200);
    app.get("/Patient/p2/$everything", &pt).expect(404);
    app.get("/Patient/p1/$everything?bogus=1", &t).expect(400);
}

#[test]
fn subsets_keep_mandatory_elements() {
    let app = edge_cases();
    let t = app.admin();
    let text = app.get("/Observation?_id=o1&_summary=text", &t).json();
    let r = &text["entry"][0]["resource"];
    assert_eq!(r["status"], "final");
    assert!(r.get("code").is_some() && r.get("subject").is_none(), "{r}");
    let el = app.get("/Observation?_id=o1&_elements=subject", &t).json();
    let r = &el["entry"][0]["resource"];
    assert!(r.get("code").is_some() && r.get("subject").is_some() && r.get("valueQuantity").is_none(), "{r}");
    bedside_model::validate_json(r.to_string().as_bytes()).unwrap();
    assert_eq!(app.get("/Patient?_id:missing=false&_count=0", &t).json()["total"], 3);
    assert_eq!(app.get("/Patient?_id:missing=true&_count=0", &t).json()["total"], 0);
}

#[test]
fn granular_scopes_filter_includes_everything_and_multi_type_search() {
    let app = edge_cases();
    let t = app.token(
        "patient/Patient.rs patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        Some("p1"),
    );
    // p1 has o1, o2 (vital signs) and o3 (laboratory).
    assert_eq!(ids(&app.get("/Observation", &t).expect(200).json()), ["o3"]);
    app.get("/Observation/o1", &t).expect(404);
    let ev = app.get("/Patient/p1/$everything", &t).expect(200).json();
    let got: Vec<&str> =
        ev["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect();
    assert!(got.contains(&"o3") && !got.contains(&"o1") && !got.contains(&"o2"), "{got:?}");
    let sys = app.get("?_type=Patient,Observation", &t).expect(200).json();
    assert_eq!(ids(&sys), ["o3", "p1"]);
    let rev = app.get("/Patient?_revinclude=Observation:subject", &t).expect(200).json();
    let got: Vec<&str> =
        rev["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect();
    assert!(got.contains(&"o3") && !got.contains(&"o1"), "{got:?}");
    let hist = app.get("/Observation/_history", &t).expect(200).json();
    assert!(!hist.to_string().contains("\"o1\""), "history hides what the grant excludes");
}
