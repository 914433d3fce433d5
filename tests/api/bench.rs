//! `bedside bench load` runs end to end at a tiny size (1 s per workload). It proves the benchmark
//! works; it asserts no timing.

use std::process::Command;

use serde_json::Value;

use crate::support::{shared_data, TestApp};

#[test]
fn load_benchmark_runs_every_workload_at_a_tiny_size() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("skipped: wrk is not installed");
        return;
    }
    let Some(data) = shared_data() else {
        eprintln!("skipped: no shared test data");
        return;
    };
    // The smallest Synthea patient is enough; the database comes from the test harness (SQLite or
    // PostgreSQL), empty.
    let dir = tempfile::tempdir().unwrap();
    let synthea = dir.path().join("synthea");
    std::fs::create_dir(&synthea).unwrap();
    let smallest = std::fs::read_dir(data.join("synthea"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .min_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX))
        .unwrap();
    std::fs::copy(&smallest, synthea.join("patient.json")).unwrap();
    let app = TestApp::new();
    let json = dir.path().join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["bench", "load", "--resources", "100", "--duration", "1", "--connections", "2", "--workers", "1"])
        .args(["--ingest-files", "1", "--ingest-clients", "1"])
        .arg("--data")
        .arg(&synthea)
        .arg("--database")
        .arg(&app.db_url)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench load failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("| workload | throughput |"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().filter_map(|r| r["workload"].as_str()).collect();
    for want in [
        "initial load",
        "read Observation/{id}",
        "Observation?patient=&category=vital-signs&_count=50",
        "Patient?name=",
        "Patient/$everything",
        "GET /metadata",
        "transaction ingest",
        "NDJSON import",
    ] {
        assert!(names.iter().any(|n| n.starts_with(want)), "no {want:?} row in {names:?}");
    }
    assert!(report["ceiling_rate"].as_f64().unwrap() > 0.0);
    for r in rows {
        assert!(r["rate"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert!(report["resources"].as_i64().unwrap() >= 100);
}
