//! The workloads: filling the database, the request workloads driven by `wrk`, and the transaction
//! ingest driven by concurrent clients.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{urlenc, Http, Targets};
use crate::bench::wrk::{self, Load, Measured};
use crate::config::Settings;
use crate::store::Store;

pub(super) fn resource_count(store: &Store) -> Result<i64, String> {
    let mut c = store.conn().map_err(|e| e.to_string())?;
    crate::store::meta::resource_count(&mut c).map_err(|e| e.to_string())
}

/// Loads the Synthea Bundles in turn (each load of a file is a new patient with new ids) until the
/// database holds `target` resources. Returns resources loaded and the time it took.
pub(super) fn fill(store: &Store, files: &[PathBuf], target: usize) -> Result<(usize, Duration), String> {
    let settings = Settings::for_base("http://127.0.0.1:8080");
    let mut have = usize::try_from(resource_count(store)?).unwrap_or(0);
    let mut loaded = 0;
    let start = Instant::now();
    let mut next = files.iter().cycle();
    let mut last_print = Instant::now();
    while have < target {
        let Some(f) = next.next() else { break };
        let report = crate::import::import_paths(store, &settings, std::slice::from_ref(f), false);
        if let Some((p, e)) = report.failed_files.first() {
            return Err(format!("loading {} failed: {e}", p.display()));
        }
        loaded += report.total();
        have += report.total();
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!("  … {have} / {target} resources");
            last_print = Instant::now();
        }
    }
    Ok((loaded, start.elapsed()))
}

/// A request workload: its name, URL below the FHIR base (or absolute), and which token it uses.
pub(super) struct Work {
    pub(super) name: String,
    pub(super) path: String,
    pub(super) auth: Auth,
}

#[derive(Clone, Copy)]
pub(super) enum Auth {
    /// A patient-bound token under a grant (as a SMART app holds): revocation is checked per request.
    Patient,
    /// `system/*.rs` (searches across patients).
    System,
    None,
}

pub(super) fn works(t: &Targets) -> Vec<Work> {
    let pid = &t.patient;
    vec![
        Work {
            name: "read Observation/{id}".into(),
            path: format!("/Observation/{}", t.observation),
            auth: Auth::Patient,
        },
        Work {
            name: "Observation?patient=&category=vital-signs&_count=50".into(),
            path: format!("/Observation?patient={pid}&category=vital-signs&_count=50"),
            auth: Auth::Patient,
        },
        Work {
            name: "Observation?category=vital-signs&_count=50 page 1".into(),
            path: "/Observation?category=vital-signs&_count=50".into(),
            auth: Auth::System,
        },
        Work {
            name: format!("Observation?category=vital-signs&_count=50 page {}", t.page_n),
            path: t.page_n_url.clone(),
            auth: Auth::System,
        },
        Work {
            name: "Patient?name=".into(),
            path: format!("/Patient?name={}&_count=50", urlenc(&t.family)),
            auth: Auth::System,
        },
        Work { name: "Patient/$everything".into(), path: format!("/Patient/{pid}/$everything"), auth: Auth::Patient },
        Work { name: "GET /metadata".into(), path: "/metadata".into(), auth: Auth::None },
    ]
}

pub(super) fn absolute(fhir: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        path.to_string()
    } else {
        format!("{fhir}{path}")
    }
}

pub(super) fn measure(load: Load, url: &str, token: Option<&str>) -> Result<Measured, String> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Accept", "application/fhir+json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let m = wrk::run(load, url, &headers)?;
    if m.non_2xx > 0 || m.socket_errors > 0 {
        return Err(format!(
            "{url}: {} of {} responses were not 2xx/3xx and {} socket errors: the run measured errors, not work",
            m.non_2xx, m.requests, m.socket_errors
        ));
    }
    Ok(m)
}

/// POSTs the transaction Bundles `files` with `clients` concurrent clients; resources/s and
/// per-Bundle p50/p99.
pub(super) fn ingest(
    fhir: &str,
    token: &str,
    files: &[PathBuf],
    clients: usize,
) -> Result<(f64, f64, f64, usize), String> {
    let mut bodies = Vec::new();
    let mut resources = 0;
    for f in files {
        let text = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let v: Value = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        resources += v["entry"].as_array().map(Vec::len).unwrap_or(0);
        bodies.push(text);
    }
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let start = Instant::now();
    let mut threads = Vec::new();
    for _ in 0..clients.max(1) {
        let queue = queue.clone();
        let url = format!("{fhir}/");
        let token = token.to_string();
        threads.push(std::thread::spawn(move || post_all(&queue, &url, &token)));
    }
    let mut lat = Vec::new();
    for t in threads {
        lat.extend(t.join().map_err(|_| "an ingest client panicked".to_string())??);
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    };
    Ok((resources as f64 / elapsed, pct(0.5), pct(0.99), resources))
}

/// One ingest client: POSTs Bundles from `queue` to `url` until it is empty; the latency of each.
fn post_all(queue: &std::sync::Mutex<Vec<Vec<u8>>>, url: &str, token: &str) -> Result<Vec<Duration>, String> {
    let http = Http::new()?;
    let mut lat = Vec::new();
    loop {
        let body = match queue.lock() {
            Ok(mut q) => q.pop(),
            Err(_) => return Err("ingest queue poisoned".into()),
        };
        let Some(body) = body else { return Ok(lat) };
        let t = Instant::now();
        let (status, resp) = http.send(
            http.client
                .post(url)
                .bearer_auth(token)
                .header("Content-Type", "application/fhir+json")
                .header("Prefer", "return=minimal")
                .body(body),
        )?;
        if status != 200 {
            return Err(format!("POST transaction: {status} {}", String::from_utf8_lossy(&resp)));
        }
        lat.push(t.elapsed());
    }
}
