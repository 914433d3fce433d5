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
    let page1 = app.get(&format!("/Observation?patient={a}&_count=2"), &t).expect(200).json();
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
    let next = p["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"].as_str().unwrap().to_string();
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
