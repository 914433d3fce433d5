//! `bedside import`: loads files or folders of FHIR R4 Bundles (transaction, batch, collection) and
//! NDJSON. Each file is one unit: a transaction Bundle, a collection or an NDJSON file is loaded
//! atomically (all of it or none of it); a batch entry by entry. A bad file is reported by name and
//! entry/line and does not stop the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::config::Settings;
use crate::fhir::transaction::{self, EntryResult};
use crate::smart::access::AccessContext;
use crate::store::Store;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub files: usize,
    /// Resources written, by type.
    pub counts: BTreeMap<String, usize>,
    pub failed_files: Vec<(PathBuf, String)>,
}

impl ImportReport {
    pub fn print(&self) {
        println!("Loaded {} file(s); {} failed.", self.files - self.failed_files.len(), self.failed_files.len());
        for (t, n) in &self.counts {
            println!("  {t:<24} {n}");
        }
        for (p, e) in &self.failed_files {
            println!("FAILED {}: {e}", p.display());
        }
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// Expands folders (sorted, recursively) into the JSON and NDJSON files they hold.
pub fn collect_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut children: Vec<PathBuf> = match std::fs::read_dir(p) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(_) => {
                    out.push(p.clone());
                    continue;
                }
            };
            children.sort();
            let nested: Vec<PathBuf> = children
                .into_iter()
                .filter(|c| c.is_dir() || matches!(c.extension().and_then(|e| e.to_str()), Some("json" | "ndjson")))
                .collect();
            out.extend(collect_files(&nested));
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn entry_for(resource: Value) -> Value {
    let t = resource.get("resourceType").and_then(Value::as_str).unwrap_or("").to_string();
    match resource.get("id").and_then(Value::as_str) {
        Some(id) => {
            let url = format!("{t}/{id}");
            json!({"fullUrl": url, "resource": resource, "request": {"method": "PUT", "url": url}})
        }
        None => json!({"resource": resource, "request": {"method": "POST", "url": t}}),
    }
}

/// Reads one file into the Bundle to process (NDJSON and collections become transactions).
fn to_bundle(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let is_ndjson = path.extension().and_then(|e| e.to_str()) == Some("ndjson");
    if is_ndjson {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
            if !v.is_object() || v.get("resourceType").is_none() {
                return Err(format!("line {}: not a FHIR resource", i + 1));
            }
            entries.push(entry_for(v));
        }
        return Ok(json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    match (v.get("resourceType").and_then(Value::as_str), v.get("type").and_then(Value::as_str)) {
        (Some("Bundle"), Some("transaction" | "batch")) => Ok(v),
        (Some("Bundle"), Some(_)) => {
            let entries: Vec<Value> = v
                .get("entry")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|e| e.get("resource").cloned()).map(entry_for).collect())
                .unwrap_or_default();
            Ok(json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
        }
        (Some(_), _) => Ok(json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry_for(v)]})),
        (None, _) => Err("not a FHIR resource or Bundle".into()),
    }
}

fn count(results: &[EntryResult], counts: &mut BTreeMap<String, usize>) -> Result<(), String> {
    let mut failures = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if r.status.starts_with('2') {
            if let Some(t) =
                r.location.as_deref().and_then(|l| l.split("/_history/").next()).and_then(|l| l.rsplit('/').nth(1))
            {
                *counts.entry(t.to_string()).or_default() += 1;
            }
        } else {
            failures.push(format!("entry[{i}]: {}", r.status));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Loads every file; returns what was written and what failed.
pub fn import_paths(store: &Store, settings: &Settings, paths: &[PathBuf], progress: bool) -> ImportReport {
    let files = collect_files(paths);
    let mut report = ImportReport { files: files.len(), ..Default::default() };
    let bar = if progress {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}") {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let access = AccessContext::system("bedside-import");
    let base = settings.fhir_base();
    let limits = crate::fhir::patch::PatchLimits::of(settings);
    for file in files {
        bar.set_message(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let result = to_bundle(&file).and_then(|bundle| {
            let mut conn = store.conn().map_err(|e| e.to_string())?;
            let results = match bundle.get("type").and_then(Value::as_str) {
                Some("batch") => transaction::batch(&mut conn, &access, &base, &bundle, &limits),
                _ => transaction::transaction(&mut conn, &access, &base, &bundle, &limits),
            }
            .map_err(|e| e.outcome()["issue"][0]["diagnostics"].as_str().unwrap_or("failed").to_string())?;
            count(&results, &mut report.counts)
        });
        if let Err(e) = result {
            bar.println(format!("FAILED {}: {e}", file.display()));
            report.failed_files.push((file, e));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    report
}
