//! The attack suite: a patient-bound token must see and change nothing of another patient, whatever
//! the interaction, the search feature or the resource type (issue 7; docs/security.md).
//!
//! The world: patients `pa` (the attacker's own record) and `pb` (someone else's), a shared
//! Organization and Practitioner, and resources of `pb` of many types. Every case asserts the exact
//! refusal, and that "someone else's" and "no such resource" give the same answer.

use serde_json::{json, Value};

use bedside::fhir::compartment::Decision;

use crate::support::TestApp;

const LAB: &str = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

fn obs(id: &str, subject: &str, category: &str) -> Value {
    json!({
        "resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
        "subject": {"reference": format!("Patient/{subject}")},
        "performer": [{"reference": "Practitioner/prac"}],
        "effectiveDateTime": "2024-05-01T10:00:00Z",
        "valueQuantity": {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}
    })
}

fn put_admin(app: &TestApp, body: Value) {
    let t = body["resourceType"].as_str().unwrap().to_string();
    let id = body["id"].as_str().unwrap().to_string();
    let r = app.put_json(&format!("/{t}/{id}"), &app.admin(), &body);
    assert!(r.status == 200 || r.status == 201, "{t}/{id}: {} {}", r.status, r.text());
}

/// Two patients, shared data, and resources of both.
fn world() -> TestApp {
    let app = TestApp::new();
    put_admin(&app, json!({"resourceType": "Organization", "id": "org", "name": "General Hospital"}));
    put_admin(&app, json!({"resourceType": "Organization", "id": "org-b", "name": "B's Clinic"}));
    put_admin(&app, json!({"resourceType": "Practitioner", "id": "prac", "name": [{"family": "Doctor"}]}));
    put_admin(
        &app,
        json!({"resourceType": "Patient", "id": "pa", "name": [{"family": "Attacker"}], "birthDate": "1990-06-15",
               "managingOrganization": {"reference": "Organization/org"}}),
    );
    put_admin(
        &app,
        json!({"resourceType": "Patient", "id": "pb", "name": [{"family": "Victim"}], "birthDate": "1950-01-01",
               "gender": "female", "managingOrganization": {"reference": "Organization/org-b"}}),
    );
    put_admin(&app, obs("obs-a", "pa", "vital-signs"));
    put_admin(&app, obs("obs-b", "pb", "laboratory"));
    put_admin(
        &app,
        json!({"resourceType": "Device", "id": "dev-b", "patient": {"reference": "Patient/pb"},
               "deviceName": [{"name": "Insulin pump", "type": "user-friendly-name"}]}),
    );
    app
}

fn attacker(app: &TestApp) -> String {
    app.token("patient/*.cruds", Some("pa"))
}

fn ids(bundle: &Value) -> Vec<String> {
    let mut v: Vec<String> = bundle["entry"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["resource"]["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn diagnostics(r: &crate::support::Resp) -> String {
    r.json()["issue"][0]["diagnostics"].as_str().unwrap_or_default().to_string()
}

#[test]
fn searches_never_filter_by_another_patients_data() {
    let app = world();
    let t = attacker(&app);
    let admin = app.admin();
    // _has from a shared type into Patient: the yes/no oracle on pb's birth date is closed.
    let q = "/Organization?_has:Patient:organization:birthdate=1950-01-01";
    assert_eq!(ids(&app.get(q, &admin).expect(200).json()), ["org-b"], "positive control");
    assert!(ids(&app.get(q, &t).expect(200).json()).is_empty());
    // ... while the token's own patient still answers.
    assert_eq!(ids(&app.get("/Organization?_has:Patient:organization:birthdate=1990-06-15", &t).json()), ["org"]);
    // _has into a patient's resources from Practitioner.
    let q = "/Practitioner?_has:Observation:performer:subject=Patient/pb";
    assert_eq!(ids(&app.get(q, &admin).json()), ["prac"]);
    assert!(ids(&app.get(q, &t).expect(200).json()).is_empty());
    // Chains into another patient.
    let q = "/Observation?subject:Patient.birthdate=1950-01-01";
    assert_eq!(ids(&app.get(q, &admin).json()), ["obs-b"]);
    assert!(ids(&app.get(q, &t).expect(200).json()).is_empty());
    // A chain inside a _has inside a shared-type search.
    let q = "/Organization?_has:Patient:organization:_has:Observation:subject:category=laboratory";
    assert_eq!(ids(&app.get(q, &admin).json()), ["org-b"]);
    assert!(ids(&app.get(q, &t).expect(200).json()).is_empty());
    // _total and _summary=count count only what the token sees.
    let c = app.get("/Organization?_has:Patient:organization:birthdate=1950-01-01&_summary=count", &t).json();
    assert_eq!(c["total"], 0);
    // A chain into a type the token may not search at all is refused (never evaluated).
    let obs_only = app.token("patient/Observation.rs", Some("pa"));
    let r = app.get("/Observation?subject:Patient.birthdate=1950-01-01", &obs_only).expect(403);
    assert!(diagnostics(&r).contains("Patient"), "{}", r.text());
    let r = app.get("/Observation?_has:DiagnosticReport:result:status=final", &obs_only).expect(403);
    assert!(diagnostics(&r).contains("DiagnosticReport"), "{}", r.text());
    // POST _search goes through the same door.
    let r = app.send(
        app.req("POST", "/Organization/_search", Some(&t))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("_has:Patient:organization:birthdate=1950-01-01"),
    );
    assert!(ids(&r.expect(200).json()).is_empty());
}

#[test]
fn includes_and_multi_type_searches_stay_in_the_compartment() {
    let app = world();
    let t = attacker(&app);
    // pa's observation points at pb's through hasMember.
    let mut o = obs("obs-a2", "pa", "laboratory");
    o["hasMember"] = json!([{"reference": "Observation/obs-b"}]);
    put_admin(&app, o);
    let b = app.get("/Observation?_id=obs-a2&_include=Observation:has-member", &t).expect(200).json();
    assert_eq!(ids(&b), ["obs-a2"]);
    let b = app.get("/Observation?_id=obs-b&_revinclude=Observation:has-member", &t).expect(200).json();
    assert!(ids(&b).is_empty());
    let b = app.get("/Patient?_revinclude=Device:patient&_revinclude=Observation:subject", &t).expect(200).json();
    assert_eq!(ids(&b), ["obs-a", "obs-a2", "pa"]);
    let b = app.get("?_type=Observation,Device,Patient", &t).expect(200).json();
    assert_eq!(ids(&b), ["obs-a", "obs-a2", "pa"]);
    let b = app.get("/Patient/pa/$everything", &t).expect(200).json();
    let got = ids(&b);
    assert!(!got.iter().any(|i| i.ends_with("-b") || i == "pb"), "{got:?}");
    app.get("/Patient/pb/$everything", &t).expect(404);
}

#[test]
fn every_version_is_checked_on_its_own_content() {
    let app = world();
    let a = attacker(&app);
    let b = app.token("patient/*.rs", Some("pb"));
    // obs-b moves from pb to pa: version 1 is pb's, version 2 is pa's.
    put_admin(&app, obs("obs-b", "pa", "laboratory"));
    app.get("/Observation/obs-b/_history/1", &a).expect(404);
    app.get("/Observation/obs-b/_history/2", &a).expect(200);
    app.get("/Observation/obs-b/_history/1", &b).expect(200);
    app.get("/Observation/obs-b/_history/2", &b).expect(404);
    let versions = |bundle: &Value| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["id"] == "obs-b")
            .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(versions(&app.get("/Observation/obs-b/_history", &a).expect(200).json()), ["2"]);
    assert_eq!(versions(&app.get("/Observation/obs-b/_history", &b).expect(200).json()), ["1"]);
    assert_eq!(versions(&app.get("/Observation/_history", &a).expect(200).json()), ["2"]);
    assert_eq!(versions(&app.get("/_history", &a).expect(200).json()), ["2"]);
    assert_eq!(versions(&app.get("/_history?_since=2000-01-01T00:00:00Z", &a).expect(200).json()), ["2"]);
    let all = app.get("/_history?_count=200", &a).expect(200).json().to_string();
    assert!(!all.contains("Patient/pb") && !all.contains("\"pb\""), "system history shows pb's data");
    // Pages stay full: with _count=1, every page holds one of pa's versions.
    let mut next = Some(app.url("/Observation/_history?_count=1"));
    let mut seen = 0;
    while let Some(url) = next.take() {
        let page = app.get(&url, &a).expect(200).json();
        let n = page["entry"].as_array().map(|e| e.len()).unwrap_or(0);
        assert!(n == 1 || page["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"));
        seen += n;
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, 2, "obs-a v1 and obs-b v2");

    // A granular scope applies to each version's own category.
    put_admin(&app, obs("obs-g", "pa", "vital-signs"));
    put_admin(&app, obs("obs-g", "pa", "laboratory"));
    let lab = app.token(&format!("patient/Observation.rs?category={LAB}"), Some("pa"));
    app.get("/Observation/obs-g/_history/1", &lab).expect(404);
    app.get("/Observation/obs-g/_history/2", &lab).expect(200);
    assert_eq!(app.get("/Observation/obs-g/_history", &lab).expect(200).json()["entry"].as_array().unwrap().len(), 1);
    // A deletion keeps its owner: pa sees 410 for its own deleted resource, 404 for pb's.
    app.delete("/Observation/obs-g", &app.admin()).expect(204);
    app.get("/Observation/obs-g", &a).expect(410);
    app.delete("/Device/dev-b", &app.admin()).expect(204);
    app.get("/Device/dev-b", &a).expect(404);
    app.get("/Device/dev-b", &app.token("patient/*.rs", Some("pb"))).expect(410);
}

#[test]
fn patient_bound_writes_stay_in_their_compartment() {
    let app = world();
    let t = attacker(&app);
    let admin = app.admin();
    // Every patient reference of the new content must be the token's patient.
    let mut o = obs("x", "pa", "vital-signs");
    o.as_object_mut().unwrap().remove("id");
    o["performer"] = json!([{"reference": "Patient/pb"}]);
    app.post_json("/Observation", &t, &o).expect(403);
    o["subject"] = json!({"reference": "Patient/pb"});
    o["performer"] = json!([{"reference": "Patient/pa"}]);
    app.post_json("/Observation", &t, &o).expect(403);
    o["subject"] = json!({"reference": "http://elsewhere.example/fhir/Patient/pb"});
    app.post_json("/Observation", &t, &o).expect(403);
    // Taking one's own resource into pb's compartment: PUT, PATCH, conditional update.
    let mut mine = obs("obs-a", "pa", "vital-signs");
    mine["performer"] = json!([{"reference": "Patient/pb"}]);
    app.put_json("/Observation/obs-a", &t, &mine).expect(403);
    // `focus` may point at any resource type, so it puts nothing in a compartment
    // (docs/compartments.md): naming pb there is no write into pb's data.
    let mut mine = obs("obs-a", "pa", "vital-signs");
    mine["focus"] = json!([{"reference": "Patient/pb"}]);
    app.put_json("/Observation/obs-a", &t, &mine).expect(200);
    app.get("/Observation/obs-a", &app.token("patient/*.rs", Some("pb"))).expect(404);
    let patch = json!([{"op": "replace", "path": "/subject/reference", "value": "Patient/pb"}]);
    app.send(
        app.req("PATCH", "/Observation/obs-a", Some(&t))
            .header("content-type", "application/json-patch+json")
            .body(patch.to_string()),
    )
    .expect(403);
    let mut moved = obs("obs-a", "pb", "vital-signs");
    moved.as_object_mut().unwrap().remove("id");
    app.put_json("/Observation?_id=obs-a", &t, &moved).expect(403);
    // Inside a transaction: all or nothing.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": obs("ignored", "pa", "vital-signs"),
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": obs("obs-a", "pb", "vital-signs"), "request": {"method": "PUT", "url": "Observation/obs-a"}}
    ]});
    app.post_json("", &t, &tx).expect(403);
    let all = app.get("/Observation?_count=100", &admin).json();
    assert_eq!(ids(&all), ["obs-a", "obs-b"], "the transaction left nothing behind");
    assert_eq!(app.get("/Observation/obs-a", &admin).json()["subject"]["reference"], "Patient/pa");
    // In a batch, the entry fails alone.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": obs("obs-a", "pb", "vital-signs"), "request": {"method": "PUT", "url": "Observation/obs-a"}}
    ]});
    let r = app.post_json("", &t, &batch).expect(200).json();
    assert!(r["entry"][0]["response"]["status"].as_str().unwrap().starts_with("403"), "{r}");
    // Shared data: a patient-bound token may add to it, never change or delete it.
    app.put_json("/Organization/org", &t, &json!({"resourceType": "Organization", "id": "org", "name": "Mine now"}))
        .expect(403);
    app.delete("/Organization/org", &t).expect(403);
    app.post_json("/Organization", &t, &json!({"resourceType": "Organization", "name": "New clinic"})).expect(201);
    assert_eq!(app.get("/Organization/org", &admin).json()["name"], "General Hospital");
    // Writing one's own data still works.
    let mut ok = obs("x", "pa", "vital-signs");
    ok.as_object_mut().unwrap().remove("id");
    app.post_json("/Observation", &t, &ok).expect(201);
    app.put_json("/Observation/obs-a", &t, &obs("obs-a", "pa", "laboratory")).expect(200);
}

#[test]
fn another_patients_ids_look_free_and_free_ids_are_not_offered() {
    let app = world();
    let t = attacker(&app);
    let admin = app.admin();
    let same = |theirs: crate::support::Resp, free: crate::support::Resp, what: &str| {
        assert_eq!(theirs.status, free.status, "{what}: {} vs {}", theirs.text(), free.text());
        assert_eq!(diagnostics(&theirs).replace("obs-b", "ID"), diagnostics(&free).replace("obs-free", "ID"), "{what}");
        theirs.status
    };
    assert_eq!(same(app.get("/Observation/obs-b", &t), app.get("/Observation/obs-free", &t), "read"), 404);
    assert_eq!(
        same(app.get("/Observation/obs-b/_history/1", &t), app.get("/Observation/obs-free/_history/1", &t), "vread"),
        404
    );
    assert_eq!(
        same(app.get("/Observation/obs-b/_history", &t), app.get("/Observation/obs-free/_history", &t), "history"),
        404
    );
    assert_eq!(
        same(
            app.put_json("/Observation/obs-b", &t, &obs("obs-b", "pa", "vital-signs")),
            app.put_json("/Observation/obs-free", &t, &obs("obs-free", "pa", "vital-signs")),
            "update-as-create"
        ),
        403
    );
    let patch = |id: &str| {
        app.send(
            app.req("PATCH", &format!("/Observation/{id}"), Some(&t))
                .header("content-type", "application/json-patch+json")
                .body(r#"[{"op":"replace","path":"/status","value":"amended"}]"#),
        )
    };
    assert_eq!(same(patch("obs-b"), patch("obs-free"), "patch"), 404);
    let del_theirs = app.delete("/Observation/obs-b", &t);
    let del_free = app.delete("/Observation/obs-free", &t);
    assert_eq!((del_theirs.status, del_free.status), (204, 204));
    app.get("/Observation/obs-b", &admin).expect(200);
    // If-Match does not tell them apart either.
    let with_match = |id: &str| {
        app.send(
            app.req("PUT", &format!("/Observation/{id}"), Some(&t))
                .header("content-type", "application/fhir+json")
                .header("if-match", "W/\"1\"")
                .body(obs(id, "pa", "vital-signs").to_string()),
        )
    };
    assert_eq!(same(with_match("obs-b"), with_match("obs-free"), "if-match"), 403);
    // Inside Bundles: the same statuses.
    let entries = |id: &str| {
        json!([
            {"request": {"method": "GET", "url": format!("Observation/{id}")}},
            {"request": {"method": "DELETE", "url": format!("Observation/{id}")}},
            {"resource": obs(id, "pa", "vital-signs"), "request": {"method": "PUT", "url": format!("Observation/{id}")}}
        ])
    };
    let statuses = |id: &str| -> Vec<String> {
        let b = json!({"resourceType": "Bundle", "type": "batch", "entry": entries(id)});
        let r = app.post_json("", &t, &b).expect(200).json();
        r["entry"].as_array().unwrap().iter().map(|e| e["response"]["status"].as_str().unwrap().to_string()).collect()
    };
    let (theirs, free) = (statuses("obs-b"), statuses("obs-free"));
    assert_eq!(theirs, free);
    assert!(theirs[0].starts_with("404") && theirs[1].starts_with("204") && theirs[2].starts_with("403"), "{theirs:?}");
    // Re-creating pb's deleted id does not make pb's old version readable.
    app.delete("/Observation/obs-b", &admin).expect(204);
    app.put_json("/Observation/obs-b", &t, &obs("obs-b", "pa", "vital-signs")).expect(403);
    app.get("/Observation/obs-b/_history/1", &t).expect(404);
    app.get("/Observation/obs-b/_history", &t).expect(404);
    // Creating with POST (server-assigned id) is how a patient-bound token adds data.
    let mut new = obs("x", "pa", "vital-signs");
    new.as_object_mut().unwrap().remove("id");
    app.post_json("/Observation", &t, &new).expect(201);
}

#[test]
fn data_naming_a_patient_outside_the_compartment_definition_is_theirs() {
    let app = world();
    let t = attacker(&app);
    let b = app.token("patient/*.rs", Some("pb"));
    app.get("/Device/dev-b", &t).expect(404);
    assert!(ids(&app.get("/Device", &t).expect(200).json()).is_empty());
    assert!(ids(&app.get("/Device?patient=pb", &t).expect(200).json()).is_empty());
    assert_eq!(ids(&app.get("/Device", &b).expect(200).json()), ["dev-b"]);
    let ev = app.get("/Patient/pb/$everything", &b).expect(200).json();
    assert!(ids(&ev).contains(&"dev-b".to_string()));
}

#[test]
fn mixed_scopes_keep_patient_scopes_bound() {
    let app = world();
    for (scope, user) in [
        ("patient/*.rs user/Practitioner.rs", Some("Practitioner/prac")),
        ("patient/*.rs system/Practitioner.rs", None),
        ("patient/Observation.rs user/Organization.rs", Some("Practitioner/prac")),
    ] {
        let t = app.token_with(bedside::smart::token::TokenRequest {
            subject: "mixed".into(),
            client_id: "test-client".into(),
            scope: scope.into(),
            patient: Some("pa".into()),
            fhir_user: user.map(str::to_string),
            lifetime_secs: 300,
            ..Default::default()
        });
        app.get("/Observation/obs-b", &t).expect(404);
        assert_eq!(ids(&app.get("/Observation", &t).expect(200).json()), ["obs-a"], "{scope}");
        if scope.contains("Practitioner") {
            app.get("/Practitioner/prac", &t).expect(200);
            assert!(app.get("/Patient/pb", &t).status == 404);
        }
    }
}

/// Every resource reference to a Patient in `v` is rewritten to `Patient/{to}`.
fn repoint(v: &mut Value, to: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "reference" {
                    if let Some(s) = x.as_str() {
                        if s.starts_with("Patient/") || s.contains("/Patient/") {
                            *x = Value::String(format!("Patient/{to}"));
                        }
                    }
                } else {
                    repoint(x, to);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| repoint(x, to)),
        _ => {}
    }
}

/// The generated matrix: one resource of `pb` of every served type (the first official R4 example of each,
/// from ../shared/data, repointed at `pb`; a fresh clone uses the few copies in tests/fixtures), against
/// every interaction.
#[test]
fn matrix_every_type_every_interaction() {
    let app = world();
    let t = attacker(&app);
    let admin = app.admin();
    let mut made: Vec<(String, String)> = vec![
        ("Observation".into(), "obs-b".into()),
        ("Device".into(), "dev-b".into()),
        ("Patient".into(), "pb".into()),
    ];
    let (files, full) = crate::support::official_examples_of_every_type();
    let mut refused = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let Ok(mut v) = serde_json::from_str::<Value>(&text) else { continue };
        let Some(rt) = v["resourceType"].as_str().map(str::to_string) else { continue };
        if made.iter().any(|(t, _)| *t == rt) {
            continue;
        }
        repoint(&mut v, "pb");
        let id = format!("m-{}", made.len());
        v["id"] = json!(id);
        let r = app.put_json(&format!("/{rt}/{id}"), &admin, &v);
        if r.status == 201 {
            made.push((rt, id));
        } else {
            refused.push(format!("{}: {} {}", f.display(), r.status, r.text()));
        }
    }
    assert!(refused.is_empty(), "examples refused: {refused:#?}");
    if full {
        let missing: Vec<&&str> = bedside::fhir::types::SUPPORTED_TYPES
            .iter()
            .filter(|st| **st != "AuditEvent" && !made.iter().any(|(t, _)| t == *st))
            .collect();
        assert!(missing.is_empty(), "the matrix misses {missing:?}");
    } else {
        eprintln!("../shared/data is absent: the matrix runs over the world's and tests/fixtures' types only");
    }
    let free = "no-such-id";
    let mut probed = 0;
    let mut unattributed = 0;
    for (rt, id) in &made {
        let decision = bedside::fhir::compartment::decision(rt);
        let compartment = decision == Decision::Compartment;
        let stored = app.get(&format!("/{rt}/{id}"), &admin).expect(200).json();
        let names_pb = stored.to_string().contains("Patient/pb") || rt == "Patient";
        let ctx = format!("{rt}/{id}");
        if compartment {
            // Read, vread, history, search by id: as if it did not exist.
            app.get(&format!("/{rt}/{id}"), &t).expect(404);
            app.get(&format!("/{rt}/{id}/_history/1"), &t).expect(404);
            app.get(&format!("/{rt}/{id}/_history"), &t).expect(404);
            let s = app.get(&format!("/{rt}?_id={id}"), &t).expect(200).json();
            assert!(ids(&s).is_empty(), "{ctx} found by _id");
            let h = app.get(&format!("/{rt}/_history?_count=200"), &t).expect(200).json();
            assert!(!ids(&h).contains(id), "{ctx} in type history");
            // Update-as-create and delete answer as for a free id.
            let mut body = stored.clone();
            repoint(&mut body, "pa");
            let theirs = app.put_json(&format!("/{rt}/{id}"), &t, &body);
            body["id"] = json!(free);
            let mine = app.put_json(&format!("/{rt}/{free}"), &t, &body);
            assert_eq!((theirs.status, mine.status), (403, 403), "{ctx}: {} / {}", theirs.text(), mine.text());
            app.delete(&format!("/{rt}/{id}"), &t).expect(204);
            app.delete(&format!("/{rt}/{free}"), &t).expect(204);
            let still = app.get(&format!("/{rt}/{id}"), &admin).expect(200).json();
            assert_eq!(still["meta"]["versionId"], stored["meta"]["versionId"], "{ctx} was changed");
            // Search features that look into it from elsewhere: _has, _revinclude, _type.
            if rt != "Patient" {
                for p in bedside::fhir::search::registry::Registry::global().patient_compartment_params(rt) {
                    let has = format!("/Patient?_has:{rt}:{p}:_id={id}");
                    if names_pb && ids(&app.get(&has, &admin).expect(200).json()) == ["pb"] {
                        probed += 1;
                        assert!(ids(&app.get(&has, &t).expect(200).json()).is_empty(), "{ctx}: {has}");
                        let rev = format!("/Patient?_revinclude={rt}:{p}");
                        assert!(!ids(&app.get(&rev, &t).expect(200).json()).contains(id), "{ctx}: {rev}");
                    }
                }
            }
            let sys = app.get(&format!("?_type={rt}&_id={id}"), &t).expect(200).json();
            assert!(ids(&sys).is_empty(), "{ctx} found by a system search");
        } else if decision == Decision::Unattributed {
            // May hold pb's data that no parameter attributes: a patient-bound token reaches none of it,
            // with the same answer as for a free id.
            let theirs = app.get(&format!("/{rt}/{id}"), &t);
            let none = app.get(&format!("/{rt}/{free}"), &t);
            assert_eq!(theirs.status, none.status, "{ctx}: {} / {}", theirs.text(), none.text());
            assert_eq!(theirs.text().replace(id.as_str(), free), none.text(), "{ctx}");
            assert!(theirs.status == 403 || theirs.status == 404, "{ctx}: {}", theirs.status);
            let s = app.get(&format!("/{rt}?_id={id}"), &t);
            assert!(s.status == 403 || ids(&s.json()).is_empty(), "{ctx} found by _id");
            let sys = app.get(&format!("?_type={rt}&_id={id}"), &t);
            assert!(sys.status == 403 || ids(&sys.json()).is_empty(), "{ctx} found by a system search");
            let put = app.put_json(&format!("/{rt}/{id}"), &t, &stored);
            let mut fresh = stored.clone();
            fresh["id"] = json!(free);
            let put_free = app.put_json(&format!("/{rt}/{free}"), &t, &fresh);
            assert_eq!(put.status, put_free.status, "{ctx}");
            assert_eq!(put.text().replace(id.as_str(), free), put_free.text(), "{ctx}");
            assert!(put.status == 403 || put.status == 404, "{ctx}: {}", put.status);
            let del = app.delete(&format!("/{rt}/{id}"), &t).status;
            assert_eq!(del, app.delete(&format!("/{rt}/{free}"), &t).status, "{ctx}");
            let still = app.get(&format!("/{rt}/{id}"), &admin).expect(200).json();
            assert_eq!(still["meta"]["versionId"], stored["meta"]["versionId"], "{ctx} was changed");
            unattributed += 1;
        } else {
            // Shared data: readable, never changed through a patient-bound token.
            // It may name pb only through references that can point at any type (a TestScript fixture,
            // a Library's depends-on), never through a Patient-typed one.
            let patient_typed =
                bedside::fhir::search::registry::Registry::global().params_for(rt).into_iter().any(|p| {
                    p.kind == bedside::fhir::search::registry::ParamType::Reference
                        && !p.targets_any_type
                        && p.targets.iter().any(|x| x == "Patient")
                });
            assert!(!patient_typed, "{ctx} has a Patient-typed parameter but is not a compartment type");
            let _ = names_pb;
            app.get(&format!("/{rt}/{id}"), &t).expect(200);
            app.put_json(&format!("/{rt}/{id}"), &t, &stored).expect(403);
            app.delete(&format!("/{rt}/{id}"), &t).expect(403);
        }
    }
    assert!(probed >= 3, "the _has/_revinclude probes found too few positive controls ({probed})");
    assert!(unattributed >= 1 || !full, "no unattributed type was probed");
    eprintln!("matrix: {} resources of pb, {probed} _has/_revinclude probes, {unattributed} unattributed", made.len());
    // Nothing of pb's anywhere in what the token can list.
    let everything = app.get("/Patient/pa/$everything?_count=200", &t).expect(200).json().to_string();
    let system = app.get("/_history?_count=200", &t).expect(200).json().to_string();
    for (rt, id) in made.iter().filter(|(rt, _)| bedside::fhir::compartment::is_compartment_type(rt)) {
        let needle = format!("\"id\":\"{id}\"");
        assert!(!everything.contains(&needle), "{rt}/{id} in pa's $everything");
        assert!(!system.contains(&needle), "{rt}/{id} in system history");
    }
}

/// Resource rows are read and written only by the service that applies the token's reach (and the
/// search engine it runs, and the re-indexer): nothing else may reach `store::resources`.
#[test]
fn only_the_service_reaches_resource_rows() {
    const ALLOWED: &[&str] = &["src/fhir/service/", "src/fhir/search/engine.rs", "src/reindex.rs"];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("src")];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if rel.starts_with("src/store/")
                || ALLOWED.iter().any(|a| rel == *a || (a.ends_with('/') && rel.starts_with(a)))
                || !rel.ends_with(".rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            if text.contains("store::resources") || text.contains("resources as rows") {
                offenders.push(rel);
            }
        }
    }
    assert!(offenders.is_empty(), "these files reach resource rows without the access guard: {offenders:?}");
}
