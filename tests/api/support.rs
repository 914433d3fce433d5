//! `TestApp`: the real Bedside app on a fresh database (a temp SQLite file, or a new PostgreSQL
//! database when `BEDSIDE_TEST_POSTGRES` is set), served over HTTP on a random local port.

use std::path::PathBuf;
use std::sync::mpsc;

use actix_web::{web, App, HttpServer};
use bedside::config::Settings;
use bedside::smart::token::{self, TokenRequest};
use bedside::store::Store;
use bedside::AppState;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub fhir: String,
    pub state: web::Data<AppState>,
    pub db_url: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
    client: reqwest::blocking::Client,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
}

/// Where the shared test data lives, if it is there (CI has it; a fresh clone may not).
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    p.is_dir().then_some(p)
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn postgres_base() -> Option<String> {
    std::env::var("BEDSIDE_TEST_POSTGRES").ok().filter(|s| !s.is_empty())
}

/// A fresh database URL for one test (and what to drop afterwards).
fn fresh_db(dir: &tempfile::TempDir) -> (String, Option<(String, String)>) {
    match postgres_base() {
        Some(base) => {
            let name = format!("bedside_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::establish(&base).expect("connect to BEDSIDE_TEST_POSTGRES");
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create test database");
            let mut url = url::Url::parse(&base).expect("BEDSIDE_TEST_POSTGRES is a URL");
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((base, name)))
        }
        None => (dir.path().join("test.db").to_string_lossy().into_owned(), None),
    }
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_settings(|_| {})
    }

    /// A test app whose settings `f` adjusts (e.g. to enable Dynamic Client Registration).
    pub fn with_settings(f: impl FnOnce(&mut Settings)) -> TestApp {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let (db_url, pg_drop) = fresh_db(&dir);
        TestApp::serve(dir, db_url, pg_drop, None, f)
    }

    /// Another node on this app's database, as behind a load balancer: its own application state
    /// (keys, caches) and HTTP server, with this app's public base URL, so tokens of either node are
    /// for both. Requests made through it go to it. Default settings; drop it before this app.
    pub fn another_node(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        TestApp::serve(dir, self.db_url.clone(), None, Some(&self.base), |_| {})
    }

    fn serve(
        dir: tempfile::TempDir,
        db_url: String,
        pg_drop: Option<(String, String)>,
        public_base: Option<&str>,
        f: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let store = Store::open(&db_url, 4).expect("open store");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");
        let mut settings = Settings::for_base(public_base.unwrap_or(&base));
        settings.max_body_bytes = 2 * 1024 * 1024;
        settings.default_count = 20;
        settings.max_count = 200;
        f(&mut settings);
        let state = web::Data::new(AppState::new(store, settings).expect("state"));
        let (tx, rx) = mpsc::channel();
        let st = state.clone();
        let limit = bedside::rate_limit(&state);
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let limit = limit.clone();
                    App::new()
                        .app_data(st.clone())
                        .wrap(bedside::cors())
                        .configure(|cfg| bedside::configure(cfg, limit))
                })
                .workers(2)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                let _ = tx.send(server.handle());
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server handle");
        TestApp {
            fhir: format!("{base}/fhir"),
            base,
            state,
            db_url,
            handle,
            thread: Some(thread),
            _dir: dir,
            pg_drop,
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// A token signed by the server's key.
    pub fn token(&self, scope: &str, patient: Option<&str>) -> String {
        self.token_with(TokenRequest {
            subject: "test".into(),
            client_id: "test-client".into(),
            scope: scope.into(),
            patient: patient.map(str::to_string),
            lifetime_secs: 300,
            ..Default::default()
        })
    }

    pub fn token_with(&self, req: TokenRequest) -> String {
        token::issue(&self.state.keys.current(), &self.state.settings.fhir_base(), &req).expect("issue token").0
    }

    /// A full-access token.
    pub fn admin(&self) -> String {
        self.token("system/*.cruds", None)
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.fhir, path)
        }
    }

    pub fn send(&self, rb: reqwest::blocking::RequestBuilder) -> Resp {
        let r = rb.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().expect("body").to_vec();
        Resp { status, headers, body }
    }

    pub fn req(&self, method: &str, path: &str, token: Option<&str>) -> reqwest::blocking::RequestBuilder {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(m, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.send(self.req("GET", path, Some(token)))
    }

    pub fn post_json(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            self.req("POST", path, Some(token)).header("content-type", "application/fhir+json").body(body.to_string()),
        )
    }

    pub fn put_json(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(
            self.req("PUT", path, Some(token)).header("content-type", "application/fhir+json").body(body.to_string()),
        )
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(self.req("DELETE", path, Some(token)))
    }

    /// Creates a resource with the admin token and returns its id.
    pub fn create(&self, body: &Value) -> String {
        let t = body["resourceType"].as_str().expect("resourceType");
        let r = self.post_json(&format!("/{t}"), &self.admin(), body).expect(201);
        r.json()["id"].as_str().expect("id").to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let stop = self.handle.stop(false);
        let _ = std::thread::spawn(move || actix_web::rt::System::new().block_on(stop)).join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some((base, name)) = self.pg_drop.take() {
            if let Ok(mut admin) = PgConnection::establish(&base) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

pub fn patient(family: &str) -> Value {
    serde_json::json!({
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Test"]}],
        "gender": "female",
        "birthDate": "1980-04-02"
    })
}

pub fn observation(patient_id: &str, value: &str) -> Value {
    let v: Value = serde_json::from_str(value).expect("number");
    serde_json::json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "subject": {"reference": format!("Patient/{patient_id}")},
        "effectiveDateTime": "2024-05-01T10:00:00Z",
        "valueQuantity": {"value": v, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
    })
}

/// The official R4 examples of every served type (1 to 3 per type, from
/// `../shared/data/examples-r4/hl7-fhir-r4-core-4.0.1-all`), sorted by file name, and whether that full set
/// was found. Without `../shared/data`: the few copies in `tests/fixtures/examples-all` (a smaller run; a
/// message says so). `Parameters` is left out (an operation payload, never stored), and so is `AuditEvent`
/// (the server's own access log, which cannot be written).
pub fn official_examples_of_every_type() -> (Vec<PathBuf>, bool) {
    let (dir, full) = match shared_data() {
        Some(d) => (d.join("examples-r4/hl7-fhir-r4-core-4.0.1-all"), true),
        None => {
            eprintln!(
                "../shared/data not found: using the official examples copied into tests/fixtures/examples-all only"
            );
            (fixture("examples-all"), false)
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<PathBuf>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p: &PathBuf| {
            let n = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            n.ends_with(".json") && !n.starts_with("Parameters-") && !n.starts_with("AuditEvent-")
        })
        .collect();
    files.sort();
    (files, full)
}
