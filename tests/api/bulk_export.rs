//! Bulk Data Access 2.0 `$export`: kick-off, polling, manifest, downloads, cancel; parameters; who
//! may see a job; a revoked grant; a job left by a stopped node; a round trip through `import`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bedside::config::Settings;
use bedside::fhir::export::files::FileStore;
use bedside::fhir::export::worker::Worker;
use bedside::smart::token::TokenRequest;
use bedside::store::{auth, exports, Store};
use serde_json::{json, Value};

use crate::support::{observation, patient, shared_data, Resp, TestApp};

/// An app whose export worker runs (polling often) and keeps its files in `dir`.
fn app_in(dir: &tempfile::TempDir, worker: bool, f: impl FnOnce(&mut Settings)) -> TestApp {
    let store = dir.path().to_string_lossy().into_owned();
    TestApp::with_settings(move |s| {
        s.export.store = store;
        s.export.worker = worker;
        s.export.poll = Duration::from_millis(100);
        f(s);
    })
}

fn kick_off(app: &TestApp, token: &str, path: &str) -> String {
    let r = app.send(app.req("GET", path, Some(token)).header("prefer", "respond-async")).expect(202);
    let loc = r.header("content-location").expect("Content-Location");
    assert!(loc.starts_with(&format!("{}/$export-status/", app.fhir)), "{loc}");
    loc
}

/// Polls until the job is done (200) or failed (5xx); returns the last response.
fn wait(app: &TestApp, token: &str, status_url: &str) -> Resp {
    let start = Instant::now();
    loop {
        let r = app.get(status_url, token);
        if r.status != 202 {
            return r;
        }
        assert!(r.header("x-progress").is_some(), "a 202 carries X-Progress");
        assert!(r.header("retry-after").is_some(), "a 202 carries Retry-After");
        assert!(start.elapsed() < Duration::from_secs(120), "the export did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn manifest(app: &TestApp, token: &str, status_url: &str) -> Value {
    wait(app, token, status_url).expect(200).json()
}

/// Every exported resource, by type, downloaded through the manifest's URLs.
fn download_all(app: &TestApp, token: &str, m: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for o in m["output"].as_array().unwrap() {
        let url = o["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/$export-file/", app.fhir)), "{url}");
        let r = app.get(url, token).expect(200);
        assert_eq!(r.header("content-type").as_deref(), Some("application/fhir+ndjson"));
        let lines: Vec<Value> = r.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len() as u64, o["count"].as_u64().unwrap(), "{url}");
        for l in lines {
            assert_eq!(l["resourceType"], o["type"]);
            out.entry(o["type"].as_str().unwrap().to_string()).or_default().push(l);
        }
    }
    out
}

fn ids(v: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = v.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

/// Two patients with three and two Observations.
fn seed(app: &TestApp) -> (String, String) {
    let p1 = app.create(&patient("One"));
    let p2 = app.create(&patient("Two"));
    for v in ["70", "80", "90"] {
        app.create(&observation(&p1, v));
    }
    for v in ["60", "65"] {
        app.create(&observation(&p2, v));
    }
    (p1, p2)
}

#[test]
fn kick_off_poll_manifest_download_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, true, |_| {});
    let (p1, p2) = seed(&app);
    let t = app.admin();

    let r = app.get("/$export", &t).expect(400);
    assert!(r.text().contains("Prefer: respond-async"), "{}", r.text());

    let status = kick_off(&app, &t, "/$export");
    let m = manifest(&app, &t, &status);
    assert_eq!(m["requiresAccessToken"], true);
    assert_eq!(m["request"], format!("{}/$export", app.fhir));
    assert!(
        m["transactionTime"].as_str().unwrap().ends_with('Z') || m["transactionTime"].as_str().unwrap().contains('+')
    );
    assert_eq!(m["error"], json!([]));
    let all = download_all(&app, &t, &m);
    let mut pats = vec![p1.clone(), p2.clone()];
    pats.sort();
    assert_eq!(ids(&all["Patient"]), pats);
    assert_eq!(all["Observation"].len(), 5);
    assert_eq!(all.len(), 2, "only the stored types: {:?}", all.keys());

    // Cancel/delete: the job and its files are gone.
    let file = m["output"][0]["url"].as_str().unwrap().to_string();
    let job_dir = dir.path().join(status.rsplit('/').next().unwrap());
    assert!(job_dir.is_dir());
    app.delete(&status, &t).expect(202);
    app.get(&status, &t).expect(404);
    app.get(&file, &t).expect(404);
    assert!(std::fs::read_dir(&job_dir).map(|d| d.count() == 0).unwrap_or(true), "files removed");
    app.delete(&status, &t).expect(404);
}

#[test]
fn parameters_type_since_type_filter_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, true, |_| {});
    let (p1, _p2) = seed(&app);
    let t = app.admin();

    let m = manifest(&app, &t, &kick_off(&app, &t, "/$export?_type=Patient&_outputFormat=application%2Ffhir%2Bndjson"));
    let all = download_all(&app, &t, &m);
    assert_eq!(all.keys().collect::<Vec<_>>(), vec!["Patient"]);

    let m = manifest(&app, &t, &kick_off(&app, &t, "/$export?_since=2999-01-01T00:00:00Z&_outputFormat=ndjson"));
    assert_eq!(m["output"], json!([]));

    // _typeFilter goes through the search parser; several filters for a type are OR-ed.
    let f = "/$export?_type=Observation&_typeFilter=Observation%3Fvalue-quantity%3Dgt85,Observation%3Fvalue-quantity%3Dlt62";
    let all = download_all(&app, &t, &manifest(&app, &t, &kick_off(&app, &t, f)));
    let mut values: Vec<String> = all["Observation"].iter().map(|o| o["valueQuantity"]["value"].to_string()).collect();
    values.sort();
    assert_eq!(values, vec!["60", "90"]);
    let f = format!("/$export?_type=Observation&_typeFilter=Observation%3Fsubject%3DPatient/{p1}");
    let all = download_all(&app, &t, &manifest(&app, &t, &kick_off(&app, &t, &f)));
    assert_eq!(all["Observation"].len(), 3);

    let refused = |path: &str, words: &str| {
        let r = app.send(app.req("GET", path, Some(&t)).header("prefer", "respond-async")).expect(400);
        assert_eq!(r.json()["resourceType"], "OperationOutcome");
        assert!(r.text().contains(words), "{path}: {}", r.text());
    };
    refused("/$export?_outputFormat=text/csv", "_outputFormat");
    refused("/$export?_type=Nonsense", "Nonsense");
    refused("/$export?_since=yesterday", "_since");
    refused("/$export?_typeFilter=Observation%3Fnot-a-param%3D1", "not-a-param");
    refused("/$export?_typeFilter=Observation%3F_include%3DObservation:subject", "_include");
    refused("/$export?includeAssociatedData=LatestProvenanceResources", "includeAssociatedData");
    refused("/$export?_elements=id", "_elements");
    refused("/Patient/$export?_type=Practitioner", "Practitioner");

    // POST kick-off with a Parameters body.
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Observation"},
        {"name": "_outputFormat", "valueString": "application/fhir+ndjson"}
    ]});
    let r = app.send(
        app.req("POST", "/$export", Some(&t))
            .header("prefer", "respond-async")
            .header("content-type", "application/fhir+json")
            .body(body.to_string()),
    );
    let status = r.expect(202).header("content-location").unwrap();
    let all = download_all(&app, &t, &manifest(&app, &t, &status));
    assert_eq!(all.keys().collect::<Vec<_>>(), vec!["Observation"]);
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "patient", "valueReference": {"reference": format!("Patient/{p1}")}}
    ]});
    let r = app.send(
        app.req("POST", "/Patient/$export", Some(&t))
            .header("prefer", "respond-async")
            .header("content-type", "application/fhir+json")
            .body(body.to_string()),
    );
    assert!(r.expect(400).text().contains("patient parameter is not supported"));
}

#[test]
fn a_patient_token_exports_only_its_compartment() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, true, |_| {});
    let (p1, _p2) = seed(&app);
    let org = app.create(&json!({"resourceType": "Organization", "name": "Clinic"}));
    let t = app.token("patient/*.rs", Some(&p1));
    for path in ["/$export", "/Patient/$export"] {
        let all = download_all(&app, &t, &manifest(&app, &t, &kick_off(&app, &t, path)));
        assert_eq!(ids(&all["Patient"]), vec![p1.clone()], "{path}");
        assert_eq!(all["Observation"].len(), 3, "{path}");
        for o in &all["Observation"] {
            assert_eq!(o["subject"]["reference"], format!("Patient/{p1}"));
        }
        // Shared data its scopes allow comes with a system-level export, as a search would give it.
        assert_eq!(all.get("Organization").map(|v| ids(v)), (path == "/$export").then(|| vec![org.clone()]), "{path}");
    }
    // A type the token's scopes do not cover is refused.
    let t2 = app.token("patient/Observation.rs", Some(&p1));
    let r = app.send(app.req("GET", "/$export?_type=Patient", Some(&t2)).header("prefer", "respond-async"));
    r.expect(403);
}

#[test]
fn group_export_covers_the_members() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, true, |_| {});
    let (p1, p2) = seed(&app);
    let g = app.create(&json!({"resourceType": "Group", "type": "person", "actual": true,
        "member": [{"entity": {"reference": format!("Patient/{p1}")}}]}));
    let t = app.admin();
    let all = download_all(&app, &t, &manifest(&app, &t, &kick_off(&app, &t, &format!("/Group/{g}/$export"))));
    assert_eq!(ids(&all["Patient"]), vec![p1.clone()]);
    assert_eq!(all["Observation"].len(), 3);
    assert_eq!(ids(&all["Group"]), vec![g.clone()]);
    assert!(!serde_json::to_string(&all).unwrap().contains(&p2));
    app.send(app.req("GET", "/Group/nope/$export", Some(&t)).header("prefer", "respond-async")).expect(404);
}

#[test]
fn another_client_cannot_see_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, true, |_| {});
    seed(&app);
    let t = app.admin();
    let status = kick_off(&app, &t, "/$export");
    let m = manifest(&app, &t, &status);
    let other = app.token_with(TokenRequest {
        subject: "someone".into(),
        client_id: "other-client".into(),
        scope: "system/*.cruds".into(),
        lifetime_secs: 300,
        ..Default::default()
    });
    let mine = app.get(&status, &other).expect(404).text();
    let unknown = app.get(&format!("{}/$export-status/0000", app.fhir), &other).expect(404).text();
    assert!(!mine.contains("other"), "{mine} / {unknown}");
    app.get(m["output"][0]["url"].as_str().unwrap(), &other).expect(404);
    app.delete(&status, &other).expect(404);
    app.get(&status, &t).expect(200);
    // Without a token: 401.
    let r = app.send(app.req("GET", &status, None));
    assert_eq!(r.status, 401);
}

fn grant(app: &TestApp, client: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut c = app.state.store.conn().unwrap();
    let now = bedside::clock::now_secs();
    auth::insert_grant(
        &mut c,
        &auth::GrantRow {
            grant_id: id.clone(),
            client_id: client.into(),
            username: None,
            fhir_user: None,
            scope: "system/*.rs".into(),
            patient: None,
            encounter: None,
            context: "{}".into(),
            nonce: None,
            revoked: false,
            created_at: now,
            expires_at: now + 3600,
        },
    )
    .unwrap();
    id
}

fn second_worker(app: &TestApp, dir: &tempfile::TempDir) -> Worker {
    let store = Store::open(&app.db_url, 2).unwrap();
    let mut settings = app.state.settings.clone();
    settings.export.poll = Duration::from_millis(100);
    Worker::start(store, settings, FileStore::open(&dir.path().to_string_lossy()).unwrap())
}

#[test]
fn a_revoked_grant_stops_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, false, |_| {});
    seed(&app);
    let g = grant(&app, "backend-app");
    let token = |grant: Option<String>| {
        app.token_with(TokenRequest {
            subject: "backend-app".into(),
            client_id: "backend-app".into(),
            scope: "system/*.rs".into(),
            grant,
            lifetime_secs: 300,
            ..Default::default()
        })
    };
    let t = token(Some(g.clone()));
    let status = kick_off(&app, &t, "/$export");
    let r = app.get(&status, &t).expect(202);
    assert_eq!(r.header("x-progress").as_deref(), Some("queued"));
    auth::revoke_grant(&mut app.state.store.conn().unwrap(), &g).unwrap();
    app.get(&status, &t).expect(401);
    let _worker = second_worker(&app, &dir);
    // The same client, with a token under another grant, sees why the job stopped.
    let t2 = token(Some(grant(&app, "backend-app")));
    let r = wait(&app, &t2, &status);
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("revoked"), "{}", r.text());
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(names.iter().all(|d| std::fs::read_dir(d.path()).map(|x| x.count() == 0).unwrap_or(true)), "no files left");
}

#[test]
fn a_job_left_by_a_stopped_node_is_taken_up_by_another() {
    let dir = tempfile::tempdir().unwrap();
    // Node 1 has no worker; it takes the kick-off and serves the status.
    let app = app_in(&dir, false, |s| s.export.part_bytes = 1500);
    seed(&app);
    let t = app.admin();
    let status = kick_off(&app, &t, "/$export");
    let job = status.rsplit('/').next().unwrap().to_string();
    // A node claimed it and stopped: its lease has run out.
    let now = bedside::clock::now().millis;
    let claimed = exports::claim_job(&mut app.state.store.conn().unwrap(), "dead-node", now, now - 1).unwrap();
    assert_eq!(claimed.map(|j| j.job_id), Some(job.clone()));
    std::thread::sleep(Duration::from_millis(300));
    app.get(&status, &t).expect(202);
    // A second node (its own pool and worker on the same database) takes it over and finishes it.
    let _worker = second_worker(&app, &dir);
    let m = manifest(&app, &t, &status);
    let all = download_all(&app, &t, &m);
    assert_eq!(all["Observation"].len(), 5);
    // Parts are bounded by bytes: several Observation files.
    let obs_files = m["output"].as_array().unwrap().iter().filter(|o| o["type"] == "Observation").count();
    assert!(obs_files >= 2, "{m}");
}

fn strip_meta(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            v.as_object_mut().unwrap().remove("meta");
        }
    }
    v
}

#[test]
fn round_trip_export_import_synthea() {
    let Some(data) = shared_data().map(|d| d.join("synthea")).filter(|d| d.is_dir()) else {
        eprintln!("SKIPPED round_trip_export_import_synthea: no Synthea bundles in ../shared/data/synthea");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let info: Vec<_> = files
        .iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("hospital") || n.starts_with("practitioner")
        })
        .cloned()
        .collect();
    let mut chosen: Vec<_> = info;
    chosen.extend(files.iter().filter(|p| !p.to_string_lossy().contains("Information")).take(3).cloned());
    let dir = tempfile::tempdir().unwrap();
    let source = app_in(&dir, true, |_| {});
    let settings = Settings::for_base(&source.base);
    let report = bedside::import::import_paths(&source.state.store, &settings, &chosen, false);
    assert!(report.failed_files.is_empty(), "{:?}", report.failed_files);
    assert!(report.total() > 100, "{}", report.total());
    let t = source.admin();
    let exported = download_all(&source, &t, &manifest(&source, &t, &kick_off(&source, &t, "/$export")));
    let n: usize = exported.values().map(Vec::len).sum();
    assert!(n > 100 && n <= report.total(), "{n} exported of {} imported", report.total());

    // Import the NDJSON into an empty server, export again, compare every resource.
    let nd = tempfile::tempdir().unwrap();
    for (ty, list) in &exported {
        let text: String = list.iter().map(|r| r.to_string() + "\n").collect();
        std::fs::write(nd.path().join(format!("{ty}.ndjson")), text).unwrap();
    }
    let dir2 = tempfile::tempdir().unwrap();
    let target = app_in(&dir2, true, |_| {});
    let report2 = bedside::import::import_paths(&target.state.store, &settings, &[nd.path().to_path_buf()], false);
    assert!(report2.failed_files.is_empty(), "{:?}", report2.failed_files);
    let t2 = target.admin();
    let again = download_all(&target, &t2, &manifest(&target, &t2, &kick_off(&target, &t2, "/$export")));
    assert_eq!(exported.keys().collect::<Vec<_>>(), again.keys().collect::<Vec<_>>());
    for (ty, list) in &exported {
        let by_id = |l: &Vec<Value>| -> BTreeMap<String, Value> {
            l.iter().map(|r| (r["id"].as_str().unwrap().to_string(), strip_meta(r.clone()))).collect()
        };
        let (a, b) = (by_id(list), by_id(&again[ty]));
        assert_eq!(a.len(), b.len(), "{ty}");
        for (id, r) in &a {
            assert_eq!(Some(r), b.get(id), "{ty}/{id} differs after the round trip");
        }
    }
}

#[test]
fn metadata_advertises_export() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, false, |_| {});
    let m = app.send(app.req("GET", "/metadata", None)).expect(200).json();
    let inst = m["instantiates"].as_array().unwrap();
    assert!(inst.iter().any(|i| i == "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"), "{inst:?}");
    assert!(inst.len() >= 2, "US Core stays: {inst:?}");
    assert_eq!(m["rest"][0]["operation"][0]["name"], "export");
    let ops = |t: &str| -> Vec<String> {
        m["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == t)
            .and_then(|r| r["operation"].as_array())
            .map(|a| a.iter().map(|o| o["name"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert!(ops("Patient").contains(&"export".to_string()));
    assert!(ops("Group").contains(&"export".to_string()));
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// By hand (`--ignored export_memory`; BULK_COPIES sets how many copies of the Synthea patients, 8 by
/// default): loads the Synthea bundles several times with fresh ids, exports everything and
/// reports the resident memory while the export runs.
#[test]
#[ignore]
fn export_memory_with_many_resources() {
    let Some(data) = shared_data().map(|d| d.join("synthea")).filter(|d| d.is_dir()) else {
        eprintln!("SKIPPED: no Synthea bundles in ../shared/data/synthea");
        return;
    };
    let copies: usize = std::env::var("BULK_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(&dir, true, |_| {});
    let settings = Settings::for_base(&app.base);
    let mut files: Vec<_> = std::fs::read_dir(&data).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let (info, patients): (Vec<_>, Vec<_>) = files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .partition(|p| p.to_string_lossy().contains("Information"));
    let r = bedside::import::import_paths(&app.state.store, &settings, &info, false);
    assert!(r.failed_files.is_empty(), "{:?}", r.failed_files);
    let gen = tempfile::tempdir().unwrap();
    let mut total = r.total();
    for copy in 0..copies {
        for p in &patients {
            let text = std::fs::read_to_string(p).unwrap();
            let bundle: Value = serde_json::from_str(&text).unwrap();
            let mut out = text.clone();
            for e in bundle["entry"].as_array().unwrap() {
                if let Some(id) = e["resource"]["id"].as_str() {
                    out = out.replace(id, &format!("{id}-c{copy}"));
                }
            }
            std::fs::write(gen.path().join(format!("{copy}-{}", p.file_name().unwrap().to_string_lossy())), out)
                .unwrap();
        }
        let r = bedside::import::import_paths(&app.state.store, &settings, &[gen.path().to_path_buf()], false);
        assert!(r.failed_files.is_empty(), "{:?}", r.failed_files);
        total += r.total();
        for f in std::fs::read_dir(gen.path()).unwrap().flatten() {
            std::fs::remove_file(f.path()).unwrap();
        }
        eprintln!("copy {copy}: {total} resources");
    }
    let t = app.admin();
    let before = rss_kib();
    let started = Instant::now();
    let status = kick_off(&app, &t, "/$export");
    let mut peak = before;
    let m = loop {
        peak = peak.max(rss_kib());
        let r = app.get(&status, &t);
        if r.status == 200 {
            break r.json();
        }
        assert_eq!(r.status, 202, "{}", r.text());
        std::thread::sleep(Duration::from_millis(50));
    };
    let secs = started.elapsed().as_secs_f64();
    let count: u64 = m["output"].as_array().unwrap().iter().map(|o| o["count"].as_u64().unwrap()).sum();
    let bytes: u64 = std::fs::read_dir(dir.path().join(status.rsplit('/').next().unwrap()))
        .unwrap()
        .flatten()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    eprintln!(
        "EXPORT {count} resources ({} files, {:.1} MiB) in {secs:.1} s; RSS before {} MiB, peak during export {} MiB \
         (+{} MiB)",
        m["output"].as_array().unwrap().len(),
        bytes as f64 / 1048576.0,
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024
    );
    eprintln!("imported {total} resources (entries), exported {count}");
    assert!(count > 0);
}
