//! `bedside bench`: loads N Synthea patients into a fresh database and times the searches apps make
//! most, against a baseline (a read by id) measured in the same run, and prints the query plans.
//! Timings are reported as ratios, never asserted.
//!
//! `bedside bench load` ([`load`]) is the load benchmark: the server over HTTP under `wrk`, next to
//! a bare actix-web handler (the ceiling).

pub mod dataset;
pub mod load;
pub mod wrk;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::error::ApiError;
use crate::fhir::search::{engine, spec::SearchSpec};
use crate::fhir::service;
use crate::import::{collect_files, import_paths};
use crate::smart::access::AccessContext;
use crate::store::search::After;
use crate::store::Store;

pub struct BenchArgs {
    pub data: PathBuf,
    pub patients: usize,
    pub database_url: String,
    pub repeat: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn time<T>(repeat: usize, mut f: impl FnMut() -> Result<T, ApiError>) -> Result<Duration, ApiError> {
    let mut samples = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    Ok(median(samples))
}

fn params(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

pub fn run(args: &BenchArgs) -> Result<String, String> {
    let store = Store::open(&args.database_url, 4).map_err(|e| e.to_string())?;
    let settings = Settings::for_base("http://127.0.0.1:8080");
    let files = collect_files(std::slice::from_ref(&args.data));
    if files.is_empty() {
        return Err(format!("no Synthea bundles in {}", args.data.display()));
    }
    // Each file is one patient; loading a file again creates a new patient (POST, new ids).
    let chosen: Vec<PathBuf> = files.iter().cycle().take(args.patients).cloned().collect();
    let t = Instant::now();
    let report = import_paths(&store, &settings, &chosen, true);
    let load = t.elapsed();
    if !report.failed_files.is_empty() {
        return Err(format!("import failed: {:?}", report.failed_files));
    }
    let mut out = format!(
        "Loaded {} patients ({} resources) in {:.1} s ({:.0} resources/s)\n\n",
        args.patients,
        report.total(),
        load.as_secs_f64(),
        report.total() as f64 / load.as_secs_f64()
    );
    let access = AccessContext::system("bench");
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let c = &mut conn;
    // A patient and an id to read.
    let pick = SearchSpec::parse(vec!["Patient".into()], &params("_count=1"), &access, &settings, false)
        .map_err(|e| e.to_string())?;
    let page = engine::run(c, &access, &pick, None).map_err(|e| e.to_string())?;
    let patient = page.matches.first().ok_or("no patient loaded")?;
    let pid = patient.res_id.clone();
    let family: String = serde_json::from_slice::<serde_json::Value>(&patient.content)
        .ok()
        .and_then(|v| v["name"][0]["family"].as_str().map(|s| s.chars().take(4).collect()))
        .unwrap_or_else(|| "Smi".into());
    let baseline = time(args.repeat, || service::read(c, &access, "Patient", &pid)).map_err(|e| e.to_string())?;
    out.push_str(&format!("baseline: read Patient/{pid}: {:.3} ms (= 1.0)\n\n", baseline.as_secs_f64() * 1e3));
    let queries = [
        ("Observation", format!("patient={pid}&category=vital-signs&_count=50")),
        ("Patient", format!("name={family}&_count=50")),
        ("Observation", "code=http://loinc.org|8302-2&_count=50".to_string()),
        ("Observation", format!("patient={pid}&_sort=-date&_count=50")),
    ];
    out.push_str("| search | ms | × baseline | matches |\n|---|---|---|---|\n");
    let mut plans = String::new();
    for (ty, q) in &queries {
        let spec = SearchSpec::parse(vec![ty.to_string()], &params(q), &access, &settings, false)
            .map_err(|e| e.to_string())?;
        let mut total = None;
        let d = time(args.repeat, || {
            let p = engine::run(c, &access, &spec, None)?;
            total = p.total;
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        out.push_str(&format!(
            "| `{ty}?{q}` | {:.3} | {:.1} | {} |\n",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / baseline.as_secs_f64(),
            total.unwrap_or(0)
        ));
        let mut q1 = spec.query.clone();
        q1.limit = 51;
        let plan = crate::store::search::explain(c, &q1).map_err(|e| e.to_string())?;
        plans.push_str(&format!("\n{ty}?{q}\n{}\n", indent(&plan)));
    }
    // Deep paging: page 1 vs page 20 of all Observations, unsorted (keyset on seq) and sorted by date.
    out.push_str("\n| paging (50 per page) | page 1 ms | page 20 ms | page 20 / page 1 |\n|---|---|---|---|\n");
    for q in ["_count=50&_total=none", "_count=50&_total=none&_sort=date"] {
        let spec = SearchSpec::parse(vec!["Observation".into()], &params(q), &access, &settings, false)
            .map_err(|e| e.to_string())?;
        let mut cursor: Option<After> = None;
        let mut first = Duration::ZERO;
        let mut twentieth = Duration::ZERO;
        for n in 1..=20 {
            let current = cursor.clone();
            let mut next = None;
            let d = time(args.repeat, || {
                let p = engine::run(c, &access, &spec, current.clone())?;
                next = p.next;
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            if n == 1 {
                first = d;
            }
            if n == 20 {
                twentieth = d;
            }
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        out.push_str(&format!(
            "| `Observation?{q}` | {:.3} | {:.3} | {:.2} |\n",
            first.as_secs_f64() * 1e3,
            twentieth.as_secs_f64() * 1e3,
            twentieth.as_secs_f64() / first.as_secs_f64().max(1e-9)
        ));
    }
    out.push_str(&format!("\nQuery plans (first page):\n{plans}"));
    Ok(out)
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
