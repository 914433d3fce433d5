//! `bedside bench load`: loads a data set of a given size, starts the server as a child process on a
//! free loopback port (rate limiting off), mints real tokens and drives each workload with `wrk` at a
//! fixed concurrency, next to a bare actix-web handler that returns the same Observation bytes (the
//! ceiling) in the same run. Prints one table and optionally writes JSON to compare runs. Timings are
//! measured and reported, never asserted.
//!
//! | module      | concept                                                                  |
//! |-------------|--------------------------------------------------------------------------|
//! | this file   | a run, step by step: fill, start, mint tokens, ceiling, workloads        |
//! | `workloads` | what is measured: the request workloads, transaction ingest, filling     |
//! | `processes` | the server under test, the ceiling, the scratch folder                   |
//! | `client`    | plain HTTP for set-up: the patient, Observation and page the work uses   |
//! | `report`    | the result: JSON and the Markdown table                                  |

mod client;
mod processes;
mod report;
mod workloads;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dataset;
use super::wrk::{self, Load, Measured};
use crate::config::Settings;
use crate::smart::keys::KeySet;
use crate::smart::token::{self, TokenRequest};
use crate::store::auth::GrantRow;
use crate::store::Store;
use client::{targets, Http, Targets};
use processes::{rss_mb, Ceiling, Server, TempDir};
use report::machine;
pub use report::{table, Machine, Report, Row};
use workloads::{absolute, fill, ingest, measure, resource_count, works, Auth};

pub struct LoadArgs {
    /// Folder of Synthea transaction Bundles.
    pub data: PathBuf,
    /// Resources the database should hold before the workloads run.
    pub resources: usize,
    /// Database URL (default: a fresh SQLite file in a temporary folder).
    pub database_url: Option<String>,
    /// Per workload.
    pub duration: Duration,
    pub connections: u32,
    pub threads: u32,
    /// Server (and ceiling) worker threads.
    pub workers: usize,
    /// Synthea Bundles used by the transaction-ingest and NDJSON-import workloads.
    pub ingest_files: usize,
    /// Concurrent clients of the transaction-ingest workload.
    pub ingest_clients: usize,
    /// FHIR base URL of another server, loaded with the same data, run without auth.
    pub peer: Option<String>,
    pub json: Option<PathBuf>,
}

/// Runs the load benchmark: fills the database, starts the server, measures the ceiling and each
/// workload (the peer's too, when given), and writes the JSON report when asked.
pub fn run(args: &LoadArgs) -> Result<Report, String> {
    wrk::check_installed()?;
    let files = dataset::bundles(&args.data)?;
    let tmp = TempDir::new()?;
    let url = args.database_url.clone().unwrap_or_else(|| tmp.path().join("bench.db").to_string_lossy().into_owned());
    let backend = match crate::store::Backend::of_url(&url) {
        crate::store::Backend::Sqlite => "SQLite",
        crate::store::Backend::Postgres => "PostgreSQL",
    };
    let store = Store::open(&url, 4).map_err(|e| e.to_string())?;
    eprintln!("Loading {} resources ({backend}) …", args.resources);
    let (loaded, load_time) = fill(&store, &files, args.resources)?;
    let total = resource_count(&store)?;
    let load = Load { threads: args.threads, connections: args.connections, duration: args.duration };
    let mut rows = Vec::new();
    if loaded > 0 {
        rows.push(initial_load_row(loaded, load_time));
    }

    let server = Server::start(&url, args.workers, &tmp.path().join("server.log"))?;
    let fhir = format!("{}/fhir", server.base);
    let (ours, tokens) = Tokens::mint(&store, &fhir)?;
    let http = Http::new()?;
    let top = ceiling(&http, &fhir, &ours, &tokens, load, args.workers)?;

    let peer = match &args.peer {
        Some(p) => Some(peer_targets(&http, &fhir, &ours, &tokens, p)?),
        None => None,
    };
    rows.extend(request_rows(load, &fhir, &ours, &tokens, &server, peer.as_ref(), &top)?);

    // Writes last: they add resources.
    let ingest_files: Vec<PathBuf> = files.iter().take(args.ingest_files.max(1)).cloned().collect();
    rows.push(ingest_row(&fhir, &tokens, &ingest_files, args.ingest_clients, &server)?);
    rows.push(ndjson_row(&store, &server, &ingest_files, tmp.path())?);
    let mut server = server;
    server.stop();
    let report = Report {
        machine: machine(),
        backend: backend.into(),
        resources: total,
        duration_s: args.duration.as_secs(),
        threads: args.threads,
        connections: args.connections,
        workers: args.workers,
        ceiling_rate: top.requests_per_sec,
        ceiling_p99_ms: top.p99_ms,
        peer: args.peer.clone(),
        rows,
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(report)
}

/// The database filled by the CLI import (in-process), as a row.
fn initial_load_row(loaded: usize, load_time: Duration) -> Row {
    Row {
        workload: "initial load: import of transaction Bundles (CLI path)".into(),
        request: format!("{} resources", loaded),
        unit: "res/s".into(),
        rate: loaded as f64 / load_time.as_secs_f64().max(1e-9),
        p50_ms: None,
        p99_ms: None,
        rss_mb: None,
        ceiling_share: None,
        peer_rate: None,
        peer_p99_ms: None,
        note: "in-process, one file per transaction".into(),
    }
}

/// The peer's own ids for the same patient (found by its identifier), and the peer's base URL.
fn peer_targets(
    http: &Http,
    fhir: &str,
    ours: &Targets,
    tokens: &Tokens,
    peer: &str,
) -> Result<(Targets, String), String> {
    let p = peer.trim_end_matches('/').to_string();
    let ours_patient = http.get_json(&format!("{fhir}/Patient/{}", ours.patient), Some(&tokens.system))?;
    Ok((targets(http, &p, None, Some(&ours_patient))?, p))
}

/// The run's tokens: a patient-bound token under a grant (as a SMART app holds), `system/*.rs` for
/// searches across patients, `system/*.cruds` for the writes.
struct Tokens {
    patient: String,
    system: String,
    write: String,
}

impl Tokens {
    /// Mints the tokens with the server's keys (from the database), and finds the workloads' targets
    /// with the system token (the patient token needs the patient).
    fn mint(store: &Store, fhir: &str) -> Result<(Targets, Tokens), String> {
        let mut c = store.conn().map_err(|e| e.to_string())?;
        let keys =
            KeySet::load_for_signing(&mut c, crate::clock::now_secs() + 3600 * 6 + 60).map_err(|e| e.to_string())?;
        let http = Http::new()?;
        let system = issue(&keys, fhir, TokenRequest { scope: "system/*.rs".into(), ..bench_token("bench") })?;
        let t = targets(&http, fhir, Some(&system), None)?;
        let now = crate::clock::now_secs();
        let grant_id = uuid::Uuid::new_v4().to_string();
        crate::store::auth::insert_grant(
            &mut c,
            &GrantRow {
                grant_id: grant_id.clone(),
                client_id: "bedside-bench".into(),
                username: None,
                fhir_user: None,
                scope: "patient/*.rs".into(),
                patient: Some(t.patient.clone()),
                encounter: None,
                context: "{}".into(),
                nonce: None,
                revoked: false,
                created_at: now,
                expires_at: now + 3600 * 6,
            },
        )
        .map_err(|e| e.to_string())?;
        let patient = issue(
            &keys,
            fhir,
            TokenRequest {
                scope: "patient/*.rs".into(),
                patient: Some(t.patient.clone()),
                grant: Some(grant_id),
                ..bench_token("bench-patient")
            },
        )?;
        let write = issue(&keys, fhir, TokenRequest { scope: "system/*.cruds".into(), ..bench_token("bench") })?;
        Ok((t, Tokens { patient, system, write }))
    }

    /// The token a workload of `auth` sends.
    fn token_for(&self, a: Auth) -> Option<&str> {
        match a {
            Auth::Patient => Some(self.patient.as_str()),
            Auth::System => Some(self.system.as_str()),
            Auth::None => None,
        }
    }
}

/// A six-hour token of the `bedside-bench` client for `subject` (the caller sets the scope).
fn bench_token(subject: &str) -> TokenRequest {
    TokenRequest {
        subject: subject.into(),
        client_id: "bedside-bench".into(),
        lifetime_secs: 3600 * 6,
        ..Default::default()
    }
}

/// The access token of `request`, signed with `keys` for the FHIR base `fhir`.
fn issue(keys: &KeySet, fhir: &str, request: TokenRequest) -> Result<String, String> {
    token::issue(keys, fhir, &request).map(|(t, _)| t).map_err(|e| format!("signing a token: {e}"))
}

/// The ceiling: the same Observation bytes from a bare handler, same workers, same load.
fn ceiling(
    http: &Http,
    fhir: &str,
    ours: &Targets,
    tokens: &Tokens,
    load: Load,
    workers: usize,
) -> Result<Measured, String> {
    let (status, obs_bytes) = http.send(
        http.client
            .get(format!("{fhir}/Observation/{}", ours.observation))
            .bearer_auth(&tokens.patient)
            .header("Accept", "application/fhir+json"),
    )?;
    if status != 200 {
        return Err(format!("reading Observation/{} with the patient token: {status}", ours.observation));
    }
    let ceiling = Ceiling::start(obs_bytes, workers)?;
    eprintln!("ceiling (bare actix-web handler) …");
    let top = measure(load, &ceiling.url, None);
    ceiling.stop();
    top
}

/// The request workloads, each against our server and (when given) the peer, as rows.
fn request_rows(
    load: Load,
    fhir: &str,
    ours: &Targets,
    tokens: &Tokens,
    server: &Server,
    peer: Option<&(Targets, String)>,
    top: &Measured,
) -> Result<Vec<Row>, String> {
    let peer_works = peer.map(|(t, base)| (works(t), base.clone()));
    let mut rows = Vec::new();
    for (i, w) in works(ours).into_iter().enumerate() {
        eprintln!("{} …", w.name);
        let m = measure(load, &absolute(fhir, &w.path), tokens.token_for(w.auth))?;
        let rss = rss_mb(server.pid());
        let (peer_rate, peer_p99_ms) = match &peer_works {
            Some((pw, base)) => match pw.get(i) {
                Some(pw) => {
                    let pm = measure(load, &absolute(base, &pw.path), None)?;
                    (Some(pm.requests_per_sec), Some(pm.p99_ms))
                }
                None => (None, None),
            },
            None => (None, None),
        };
        rows.push(Row {
            workload: w.name,
            request: w.path.replace(fhir, ""),
            unit: "req/s".into(),
            rate: m.requests_per_sec,
            p50_ms: Some(m.p50_ms),
            p99_ms: Some(m.p99_ms),
            rss_mb: rss,
            ceiling_share: Some(m.requests_per_sec / top.requests_per_sec.max(1e-9)),
            peer_rate,
            peer_p99_ms,
            note: match w.auth {
                Auth::Patient => "patient token (grant checked)".into(),
                Auth::System => "system token".into(),
                Auth::None => "no token".into(),
            },
        });
    }
    Ok(rows)
}

/// Transaction ingest over HTTP with the write token.
fn ingest_row(
    fhir: &str,
    tokens: &Tokens,
    ingest_files: &[PathBuf],
    clients: usize,
    server: &Server,
) -> Result<Row, String> {
    eprintln!("transaction ingest …");
    let (rate, p50, p99, n) = ingest(fhir, &tokens.write, ingest_files, clients)?;
    Ok(Row {
        workload: "transaction ingest (POST Bundle)".into(),
        request: format!("{} Bundles, {n} resources", ingest_files.len()),
        unit: "res/s".into(),
        rate,
        p50_ms: Some(p50),
        p99_ms: Some(p99),
        rss_mb: rss_mb(server.pid()),
        ceiling_share: None,
        peer_rate: None,
        peer_p99_ms: None,
        note: format!("{} clients; latency per Bundle", clients.max(1)),
    })
}

/// The same Bundles as NDJSON (one file per type), imported in-process (the CLI path).
fn ndjson_row(store: &Store, server: &Server, ingest_files: &[PathBuf], tmp: &Path) -> Result<Row, String> {
    eprintln!("NDJSON import …");
    let (nd_files, nd_count) = dataset::to_ndjson(ingest_files, &tmp.join("ndjson"))?;
    let t = Instant::now();
    let report = crate::import::import_paths(store, &Settings::for_base(&server.base), &nd_files, false);
    let took = t.elapsed();
    if let Some((p, e)) = report.failed_files.first() {
        return Err(format!("NDJSON import of {} failed: {e}", p.display()));
    }
    Ok(Row {
        workload: "NDJSON import (CLI path)".into(),
        request: format!("{} files, {nd_count} resources", nd_files.len()),
        unit: "res/s".into(),
        rate: report.total() as f64 / took.as_secs_f64().max(1e-9),
        p50_ms: None,
        p99_ms: None,
        rss_mb: None,
        ceiling_share: None,
        peer_rate: None,
        peer_p99_ms: None,
        note: "one file per type, one transaction per file".into(),
    })
}
