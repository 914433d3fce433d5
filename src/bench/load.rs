//! `bedside bench load`: loads a data set of a given size, starts the server as a child process on a
//! free loopback port (rate limiting off), mints real tokens and drives each workload with `wrk` at a
//! fixed concurrency, next to a bare actix-web handler that returns the same Observation bytes (the
//! ceiling) in the same run. Prints one table and optionally writes JSON to compare runs. Timings are
//! measured and reported, never asserted.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::dataset;
use super::wrk::{self, Load, Measured};
use crate::config::Settings;
use crate::smart::keys::KeySet;
use crate::smart::token::{self, TokenRequest};
use crate::store::auth::GrantRow;
use crate::store::Store;

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

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    /// The request (path and query below the FHIR base), for the record.
    pub request: String,
    /// `req/s` or `res/s`.
    pub unit: String,
    pub rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Server RSS after the workload, MB.
    pub rss_mb: Option<f64>,
    /// `rate` / ceiling's req/s (request workloads only).
    pub ceiling_share: Option<f64>,
    pub peer_rate: Option<f64>,
    pub peer_p99_ms: Option<f64>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub backend: String,
    pub resources: i64,
    pub duration_s: u64,
    pub threads: u32,
    pub connections: u32,
    pub workers: usize,
    pub ceiling_rate: f64,
    pub ceiling_p99_ms: f64,
    pub peer: Option<String>,
    pub rows: Vec<Row>,
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    Machine { nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), cpu }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Resident memory of a process, MB (Linux).
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A scratch folder for the database, the server's log and the NDJSON files, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let p = std::env::temp_dir().join(format!("bedside-bench-load-{}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        Ok(TempDir(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Plain HTTP for setting up and for the ingest workload.
struct Http {
    sys: actix_web::rt::SystemRunner,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Result<Http, String> {
        let client = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        Ok(Http { sys: actix_web::rt::System::new(), client })
    }

    fn send(&self, rb: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), String> {
        self.sys.block_on(async move {
            let resp = rb.send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            Ok((status, body.to_vec()))
        })
    }

    fn get_json(&self, url: &str, token: Option<&str>) -> Result<Value, String> {
        let mut rb = self.client.get(url).header("Accept", "application/fhir+json");
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let (status, body) = self.send(rb)?;
        if status != 200 {
            return Err(format!("GET {url}: {status} {}", String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }
}

fn entries(bundle: &Value) -> Vec<&Value> {
    bundle["entry"].as_array().map(|a| a.iter().map(|e| &e["resource"]).collect()).unwrap_or_default()
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .map(str::to_string)
}

/// Follows `next` links from `first` up to page `n`; returns the URL of the deepest page reached
/// and its number.
fn page_url(http: &Http, first: &str, n: usize, token: Option<&str>) -> Result<(String, usize), String> {
    let mut url = first.to_string();
    let mut page = 1;
    while page < n {
        let b = http.get_json(&url, token)?;
        match next_link(&b) {
            Some(next) => {
                url = next;
                page += 1;
            }
            None => break,
        }
    }
    Ok((url, page))
}

/// The ids and values the workloads use on one server.
#[derive(Debug, Clone)]
struct Targets {
    patient: String,
    observation: String,
    family: String,
    page_n_url: String,
    page_n: usize,
}

/// The child process running `bedside serve`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(url: &str, workers: usize, log: &Path) -> Result<Server, String> {
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the bedside binary: {e}"))?;
        let log_file = std::fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--base-url")
            .arg(&base)
            .arg("--database-url")
            .arg(url)
            .arg("--rate-limit")
            .arg("0")
            .arg("--workers")
            .arg(workers.to_string())
            .env("BEDSIDE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let mut server = Server { child, base };
        let http = Http::new()?;
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = http.send(http.client.get(format!("{}/healthz", server.base))) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("the server exited ({status}); see {}", log.display()));
            }
            if started.elapsed() > Duration::from_secs(120) {
                server.stop();
                return Err(format!("the server did not start within 120 s; see {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the server to stop (SIGTERM: it finishes requests and flushes the access log), then kills
    /// it if it has not stopped within 40 s.
    fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(40) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A bare actix-web handler returning `body` for every request (the ceiling), on its own thread.
struct Ceiling {
    url: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ceiling {
    fn start(body: Vec<u8>, workers: usize) -> Result<Ceiling, String> {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let (tx, rx) = std::sync::mpsc::channel();
        let body = web::Bytes::from(body);
        let thread = std::thread::spawn(move || {
            let _ = actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let body = body.clone();
                    App::new().default_service(web::to(move || {
                        let body = body.clone();
                        async move { HttpResponse::Ok().content_type("application/fhir+json").body(body) }
                    }))
                })
                .workers(workers)
                .disable_signals()
                .listen(listener);
                match server {
                    Ok(s) => {
                        let s = s.run();
                        let _ = tx.send(Ok(s.handle()));
                        s.await
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        Ok(())
                    }
                }
            });
        });
        let handle = rx.recv().map_err(|e| e.to_string())??;
        Ok(Ceiling { url: format!("http://127.0.0.1:{port}/fhir/Observation/x"), handle, thread: Some(thread) })
    }

    fn stop(mut self) {
        let sys = actix_web::rt::System::new();
        sys.block_on(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn resource_count(store: &Store) -> Result<i64, String> {
    let mut c = store.conn().map_err(|e| e.to_string())?;
    crate::store::meta::resource_count(&mut c).map_err(|e| e.to_string())
}

/// Loads the Synthea Bundles in turn (each load of a file is a new patient with new ids) until the
/// database holds `target` resources. Returns resources loaded and the time it took.
fn fill(store: &Store, files: &[PathBuf], target: usize) -> Result<(usize, Duration), String> {
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

/// Finds the benchmark's patient (the one with the most vital signs among the first 40), one of its
/// Observations, its family name and the URL of page `n` of all vital signs.
fn targets(http: &Http, fhir: &str, token: Option<&str>, like: Option<&Value>) -> Result<Targets, String> {
    let patient: Value = match like.and_then(|p| p["identifier"].as_array()).and_then(|ids| ids.first()) {
        // On a peer: the same patient, found by its identifier.
        Some(ident) => {
            let q = format!(
                "{}|{}",
                ident["system"].as_str().unwrap_or_default(),
                ident["value"].as_str().unwrap_or_default()
            );
            let b = http.get_json(&format!("{fhir}/Patient?identifier={}", urlenc(&q)), token)?;
            entries(&b).first().map(|v| (*v).clone()).ok_or("the peer has no patient with the same identifier")?
        }
        None => {
            let b = http.get_json(&format!("{fhir}/Patient?_count=40"), token)?;
            let mut best: Option<(i64, Value)> = None;
            for p in entries(&b) {
                let id = p["id"].as_str().unwrap_or_default();
                let c = http
                    .get_json(&format!("{fhir}/Observation?patient={id}&category=vital-signs&_summary=count"), token)?;
                let n = c["total"].as_i64().unwrap_or(0);
                if best.as_ref().is_none_or(|(m, _)| n > *m) {
                    best = Some((n, p.clone()));
                }
            }
            best.map(|(_, p)| p).ok_or("no Patient loaded")?
        }
    };
    let pid = patient["id"].as_str().ok_or("a Patient without id")?.to_string();
    let family: String = patient["name"][0]["family"].as_str().unwrap_or("Smith").chars().take(4).collect();
    let obs = http.get_json(&format!("{fhir}/Observation?patient={pid}&_count=1"), token)?;
    let oid = entries(&obs)
        .first()
        .and_then(|o| o["id"].as_str())
        .map(str::to_string)
        .ok_or("the patient has no Observation")?;
    let (page_n_url, page_n) =
        page_url(http, &format!("{fhir}/Observation?category=vital-signs&_count=50"), 20, token)?;
    Ok(Targets { patient: pid, observation: oid, family, page_n_url, page_n })
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A request workload: its name, URL below the FHIR base (or absolute), and which token it uses.
struct Work {
    name: String,
    path: String,
    auth: Auth,
}

#[derive(Clone, Copy)]
enum Auth {
    /// A patient-bound token under a grant (as a SMART app holds): revocation is checked per request.
    Patient,
    /// `system/*.rs` (searches across patients).
    System,
    None,
}

fn works(t: &Targets) -> Vec<Work> {
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

fn absolute(fhir: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        path.to_string()
    } else {
        format!("{fhir}{path}")
    }
}

fn measure(load: Load, url: &str, token: Option<&str>) -> Result<Measured, String> {
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
fn ingest(fhir: &str, token: &str, files: &[PathBuf], clients: usize) -> Result<(f64, f64, f64, usize), String> {
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
        threads.push(std::thread::spawn(move || -> Result<Vec<Duration>, String> {
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
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Content-Type", "application/fhir+json")
                        .header("Prefer", "return=minimal")
                        .body(body),
                )?;
                if status != 200 {
                    return Err(format!("POST transaction: {status} {}", String::from_utf8_lossy(&resp)));
                }
                lat.push(t.elapsed());
            }
        }));
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
        rows.push(Row {
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
        });
    }

    let server = Server::start(&url, args.workers, &tmp.path().join("server.log"))?;
    let fhir = format!("{}/fhir", server.base);
    let (ours, patient_token, system_token, write_token) = {
        let mut c = store.conn().map_err(|e| e.to_string())?;
        let keys =
            KeySet::load_for_signing(&mut c, crate::clock::now_secs() + 3600 * 6 + 60).map_err(|e| e.to_string())?;
        let http = Http::new()?;
        let system = token::issue(
            &keys,
            &fhir,
            &TokenRequest {
                subject: "bench".into(),
                client_id: "bedside-bench".into(),
                scope: "system/*.rs".into(),
                lifetime_secs: 3600 * 6,
                ..Default::default()
            },
        )?
        .0;
        let t = targets(&http, &fhir, Some(&system), None)?;
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
        let patient = token::issue(
            &keys,
            &fhir,
            &TokenRequest {
                subject: "bench-patient".into(),
                client_id: "bedside-bench".into(),
                scope: "patient/*.rs".into(),
                patient: Some(t.patient.clone()),
                grant: Some(grant_id),
                lifetime_secs: 3600 * 6,
                ..Default::default()
            },
        )?
        .0;
        let write = token::issue(
            &keys,
            &fhir,
            &TokenRequest {
                subject: "bench".into(),
                client_id: "bedside-bench".into(),
                scope: "system/*.cruds".into(),
                lifetime_secs: 3600 * 6,
                ..Default::default()
            },
        )?
        .0;
        (t, patient, system, write)
    };
    let http = Http::new()?;
    let token_for = |a: Auth| match a {
        Auth::Patient => Some(patient_token.as_str()),
        Auth::System => Some(system_token.as_str()),
        Auth::None => None,
    };

    // The ceiling: the same Observation bytes from a bare handler, same workers, same load.
    let (status, obs_bytes) = http.send(
        http.client
            .get(format!("{fhir}/Observation/{}", ours.observation))
            .bearer_auth(&patient_token)
            .header("Accept", "application/fhir+json"),
    )?;
    if status != 200 {
        return Err(format!("reading Observation/{} with the patient token: {status}", ours.observation));
    }
    let ceiling = Ceiling::start(obs_bytes, args.workers)?;
    eprintln!("ceiling (bare actix-web handler) …");
    let top = measure(load, &ceiling.url, None);
    ceiling.stop();
    let top = top?;

    // The peer's own ids for the same patient.
    let peer = match &args.peer {
        Some(p) => {
            let p = p.trim_end_matches('/').to_string();
            let ours_patient = http.get_json(&format!("{fhir}/Patient/{}", ours.patient), Some(&system_token))?;
            Some((targets(&http, &p, None, Some(&ours_patient))?, p))
        }
        None => None,
    };
    let peer_works = peer.as_ref().map(|(t, base)| (works(t), base.clone()));

    for (i, w) in works(&ours).into_iter().enumerate() {
        eprintln!("{} …", w.name);
        let m = measure(load, &absolute(&fhir, &w.path), token_for(w.auth))?;
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
            request: w.path.replace(&fhir, ""),
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

    // Writes last: they add resources.
    let ingest_files: Vec<PathBuf> = files.iter().take(args.ingest_files.max(1)).cloned().collect();
    eprintln!("transaction ingest …");
    let (rate, p50, p99, n) = ingest(&fhir, &write_token, &ingest_files, args.ingest_clients)?;
    rows.push(Row {
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
        note: format!("{} clients; latency per Bundle", args.ingest_clients.max(1)),
    });
    eprintln!("NDJSON import …");
    let (nd_files, nd_count) = dataset::to_ndjson(&ingest_files, &tmp.path().join("ndjson"))?;
    let t = Instant::now();
    let report = crate::import::import_paths(&store, &Settings::for_base(&server.base), &nd_files, false);
    let took = t.elapsed();
    if let Some((p, e)) = report.failed_files.first() {
        return Err(format!("NDJSON import of {} failed: {e}", p.display()));
    }
    rows.push(Row {
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
    });
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

fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| if v < 10.0 { format!("{v:.2}") } else { format!("{v:.1}") }).unwrap_or_default()
}

/// The report as a Markdown table.
pub fn table(r: &Report) -> String {
    let peer = r.peer.is_some();
    let mut out = format!(
        "{} resources, {}; {} CPU(s): {}; wrk -t{} -c{} -d{}s; server --workers {}; ceiling (bare actix-web, same \
         Observation bytes): {} req/s, p99 {} ms\n\n",
        thousands(r.resources as f64),
        r.backend,
        r.machine.nproc,
        r.machine.cpu,
        r.threads,
        r.connections,
        r.duration_s,
        r.workers,
        thousands(r.ceiling_rate),
        ms(Some(r.ceiling_p99_ms)),
    );
    out.push_str("| workload | throughput | p50 ms | p99 ms | RSS MB | of ceiling |");
    if peer {
        out.push_str(" peer req/s | peer p99 ms |");
    }
    out.push_str(" note |\n|---|---|---|---|---|---|");
    if peer {
        out.push_str("---|---|");
    }
    out.push_str("---|\n");
    for row in &r.rows {
        out.push_str(&format!(
            "| {} | {} {} | {} | {} | {} | {} |",
            row.workload.replace('|', "\\|"),
            thousands(row.rate),
            row.unit,
            ms(row.p50_ms),
            ms(row.p99_ms),
            row.rss_mb.map(|m| format!("{m:.0}")).unwrap_or_default(),
            row.ceiling_share.map(|s| format!("{:.1} %", s * 100.0)).unwrap_or_default(),
        ));
        if peer {
            out.push_str(&format!(" {} | {} |", row.peer_rate.map(thousands).unwrap_or_default(), ms(row.peer_p99_ms)));
        }
        out.push_str(&format!(" {} |\n", row.note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(94667.4), "94,667");
        assert_eq!(thousands(638.0), "638");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(ms(Some(1.234)), "1.23");
        assert_eq!(ms(Some(29.04)), "29.0");
        assert_eq!(ms(None), "");
    }
}
