//! read, vread, create, update, delete, history, conditional create/update, patch, versioning headers.
//! R4 3.1.0 (http://hl7.org/fhir/R4/http.html).

use serde_json::json;

use crate::support::{observation, patient, TestApp};

#[test]
fn create_then_read_with_version_headers() {
    let app = TestApp::new();
    let t = app.admin();
    let r = app.post_json("/Patient", &t, &patient("Shaw")).expect(201);
    let loc = r.header("location").expect("Location");
    let body = r.json();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(loc, format!("{}/Patient/{id}/_history/1", app.fhir));
    assert_eq!(r.header("etag").as_deref(), Some("W/\"1\""));
    assert!(r.header("last-modified").unwrap().ends_with("GMT"));
    assert_eq!(body["meta"]["versionId"], "1");
    let read = app.get(&format!("/Patient/{id}"), &t).expect(200);
    assert_eq!(read.header("content-type").as_deref(), Some("application/fhir+json; charset=utf-8"));
    assert_eq!(read.json(), body);
}

#[test]
fn create_ignores_client_id_and_server_owns_meta() {
    let app = TestApp::new();
    let mut p = patient("Ng");
    p["id"] = json!("client-chosen");
    p["meta"] = json!({"versionId": "99", "lastUpdated": "2001-01-01T00:00:00Z", "tag": [{"code": "keep"}]});
    let body = app.post_json("/Patient", &app.admin(), &p).expect(201).json();
    assert_ne!(body["id"], "client-chosen");
    assert_eq!(body["meta"]["versionId"], "1");
    assert_ne!(body["meta"]["lastUpdated"], "2001-01-01T00:00:00Z");
    assert_eq!(body["meta"]["tag"][0]["code"], "keep");
}

#[test]
fn update_bumps_version_and_vread_serves_old_versions() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Old"));
    let mut p = patient("New");
    p["id"] = json!(id);
    let r = app.put_json(&format!("/Patient/{id}"), &t, &p).expect(200);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"2\""));
    let v1 = app.get(&format!("/Patient/{id}/_history/1"), &t).expect(200).json();
    assert_eq!(v1["name"][0]["family"], "Old");
    let v2 = app.get(&format!("/Patient/{id}/_history/2"), &t).expect(200).json();
    assert_eq!(v2["name"][0]["family"], "New");
    app.get(&format!("/Patient/{id}/_history/3"), &t).expect(404);
    app.get(&format!("/Patient/{id}/_history/x"), &t).expect(404);
}

#[test]
fn create_on_update_with_client_id() {
    let app = TestApp::new();
    let mut p = patient("Put");
    p["id"] = json!("chosen-1");
    let r = app.put_json("/Patient/chosen-1", &app.admin(), &p).expect(201);
    assert_eq!(r.json()["id"], "chosen-1");
}

#[test]
fn update_id_must_match_url() {
    let app = TestApp::new();
    let mut p = patient("X");
    p["id"] = json!("a");
    let r = app.put_json("/Patient/b", &app.admin(), &p).expect(400);
    assert!(r.text().contains("does not match"), "{}", r.text());
    p.as_object_mut().unwrap().remove("id");
    app.put_json("/Patient/b", &app.admin(), &p).expect(400);
    app.get("/Patient/b", &app.admin()).expect(404);
}

#[test]
fn if_match_stale_version_is_412() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Match"));
    let mut p = patient("Match2");
    p["id"] = json!(id);
    let send = |etag: &str| {
        app.send(
            app.req("PUT", &format!("/Patient/{id}"), Some(&t))
                .header("content-type", "application/fhir+json")
                .header("if-match", etag)
                .body(p.to_string()),
        )
    };
    send("W/\"1\"").expect(200);
    let r = send("W/\"1\"").expect(412);
    assert_eq!(r.json()["resourceType"], "OperationOutcome");
    send("W/\"2\"").expect(200);
    send("garbage").expect(400);
}

#[test]
fn delete_then_gone_and_history_shows_it() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Del"));
    app.delete(&format!("/Patient/{id}"), &t).expect(204);
    let r = app.get(&format!("/Patient/{id}"), &t).expect(410);
    assert_eq!(r.json()["issue"][0]["code"], "deleted");
    app.delete(&format!("/Patient/{id}"), &t).expect(204);
    app.delete("/Patient/never-existed", &t).expect(204);
    let h = app.get(&format!("/Patient/{id}/_history"), &t).expect(200).json();
    assert_eq!(h["type"], "history");
    let entries = h["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["request"]["method"], "DELETE");
    assert!(entries[0].get("resource").is_none());
    assert_eq!(entries[1]["request"]["method"], "POST");
    // Deleted resources disappear from search.
    let s = app.get(&format!("/Patient?_id={id}"), &t).expect(200).json();
    assert_eq!(s["total"], 0);
}

#[test]
fn type_and_system_history_with_count_and_since() {
    let app = TestApp::new();
    let t = app.admin();
    for i in 0..5 {
        app.create(&patient(&format!("H{i}")));
    }
    let pid = app.create(&patient("Obs"));
    app.create(&observation(&pid, "70.5"));
    let h = app.get("/Patient/_history?_count=2", &t).expect(200).json();
    assert_eq!(h["entry"].as_array().unwrap().len(), 2);
    let next = h["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("next link");
    let h2 = app.get(next["url"].as_str().unwrap(), &t).expect(200).json();
    assert_eq!(h2["entry"].as_array().unwrap().len(), 2);
    assert_ne!(h["entry"][0]["fullUrl"], h2["entry"][0]["fullUrl"]);
    let all = app.get("/_history", &t).expect(200).json();
    assert_eq!(all["entry"].as_array().unwrap().len(), 7);
    let future = app.get("/Patient/_history?_since=2999-01-01T00:00:00Z", &t).expect(200).json();
    assert!(future.get("entry").is_none());
    app.get("/Patient/_history?_since=notadate", &t).expect(400);
}

#[test]
fn conditional_create_with_if_none_exist() {
    let app = TestApp::new();
    let t = app.admin();
    let mut p = patient("Cond");
    p["identifier"] = json!([{"system": "urn:mrn", "value": "123"}]);
    let send = || {
        app.send(
            app.req("POST", "/Patient", Some(&t))
                .header("content-type", "application/fhir+json")
                .header("if-none-exist", "identifier=urn:mrn|123")
                .body(p.to_string()),
        )
    };
    let first = send().expect(201).json();
    let second = send().expect(200).json();
    assert_eq!(first["id"], second["id"]);
    // Two matches → 412.
    app.post_json("/Patient", &t, &p).expect(201);
    send().expect(412);
}

#[test]
fn conditional_update_by_identifier() {
    let app = TestApp::new();
    let t = app.admin();
    let mut p = patient("CU");
    p["identifier"] = json!([{"system": "urn:mrn", "value": "777"}]);
    let r = app.put_json("/Patient?identifier=urn:mrn|777", &t, &p).expect(201);
    let id = r.json()["id"].as_str().unwrap().to_string();
    p["gender"] = json!("male");
    let r2 = app.put_json("/Patient?identifier=urn:mrn|777", &t, &p).expect(200).json();
    assert_eq!(r2["id"], id.as_str());
    assert_eq!(r2["meta"]["versionId"], "2");
}

#[test]
fn json_patch() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Patchy"));
    let patch = json!([{"op": "replace", "path": "/gender", "value": "male"}]);
    let r = app.send(
        app.req("PATCH", &format!("/Patient/{id}"), Some(&t))
            .header("content-type", "application/json-patch+json")
            .body(patch.to_string()),
    );
    let r = r.expect(200).json();
    assert_eq!(r["gender"], "male");
    assert_eq!(r["meta"]["versionId"], "2");
    // A patch producing an invalid resource is rejected and nothing changes.
    let bad = json!([{"op": "replace", "path": "/gender", "value": "bogus"}]);
    app.send(
        app.req("PATCH", &format!("/Patient/{id}"), Some(&t))
            .header("content-type", "application/json-patch+json")
            .body(bad.to_string()),
    )
    .expect(400);
    let bad_test = json!([{"op": "test", "path": "/gender", "value": "female"}]);
    app.send(
        app.req("PATCH", &format!("/Patient/{id}"), Some(&t))
            .header("content-type", "application/json-patch+json")
            .body(bad_test.to_string()),
    )
    .expect(422);
    app.send(
        app.req("PATCH", &format!("/Patient/{id}"), Some(&t))
            .header("content-type", "application/fhir+json")
            .body("{}"),
    )
    .expect(415);
    assert_eq!(app.get(&format!("/Patient/{id}"), &t).json()["meta"]["versionId"], "2");
}

#[test]
fn prefer_return_variants() {
    let app = TestApp::new();
    let t = app.admin();
    let send = |prefer: &str| {
        app.send(
            app.req("POST", "/Patient", Some(&t))
                .header("content-type", "application/fhir+json")
                .header("prefer", prefer)
                .body(patient("Pref").to_string()),
        )
    };
    let minimal = send("return=minimal").expect(201);
    assert!(minimal.body.is_empty());
    assert!(minimal.header("location").is_some());
    let oo = send("return=OperationOutcome").expect(201).json();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let rep = send("return=representation").expect(201).json();
    assert_eq!(rep["resourceType"], "Patient");
}

#[test]
fn unknown_type_bad_id_and_method() {
    let app = TestApp::new();
    let t = app.admin();
    app.get("/Bogus/1", &t).expect(404);
    app.get("/Patient/bad%20id", &t).expect(400);
    app.send(app.req("PATCH", "/Patient", Some(&t))).expect(405);
    app.get("/Patient/nope", &t).expect(404);
}

#[test]
fn decimal_precision_is_preserved() {
    let app = TestApp::new();
    let pid = app.create(&patient("Dec"));
    let oid = app.create(&observation(&pid, "1.50"));
    let r = app.get(&format!("/Observation/{oid}"), &app.admin()).expect(200);
    assert!(r.text().contains("\"value\":1.50"), "{}", r.text());
}

#[test]
fn concurrent_updates_lose_nothing() {
    let app = TestApp::new();
    let t = app.admin();
    let id = app.create(&patient("Race"));
    std::thread::scope(|s| {
        for w in 0..6 {
            let (app, t, id) = (&app, &t, &id);
            s.spawn(move || {
                for i in 0..5 {
                    let mut p = patient(&format!("W{w}-{i}"));
                    p["id"] = json!(id);
                    let r = app.put_json(&format!("/Patient/{id}"), t, &p);
                    assert_eq!(r.status, 200, "{}", r.text());
                }
            });
        }
    });
    let current = app.get(&format!("/Patient/{id}"), &t).expect(200).json();
    assert_eq!(current["meta"]["versionId"], "31", "every update is a version");
    let h = app.get(&format!("/Patient/{id}/_history?_count=100"), &t).expect(200).json();
    assert_eq!(h["entry"].as_array().unwrap().len(), 31);
    // Concurrent creates of the same new id: one creates, the others update.
    let new_id = "race-new";
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (app, t) = (&app, &t);
            s.spawn(move || {
                let mut p = patient("New");
                p["id"] = json!(new_id);
                let r = app.put_json(&format!("/Patient/{new_id}"), t, &p);
                assert!(r.status == 200 || r.status == 201, "{}", r.text());
            });
        }
    });
    assert_eq!(app.get(&format!("/Patient/{new_id}"), &t).json()["meta"]["versionId"], "4");
}

#[test]
fn create_with_search_parameters_is_refused() {
    let app = TestApp::new();
    let r = app.post_json("/Patient?identifier=urn:mrn|1", &app.admin(), &patient("Q")).expect(400);
    assert!(r.text().contains("If-None-Exist"));
    app.post_json("/Patient?_pretty=true", &app.admin(), &patient("Q")).expect(201);
}
