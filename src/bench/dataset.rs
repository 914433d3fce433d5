//! The benchmark's data: the Synthea transaction Bundles (one patient each), loaded again with fresh
//! ids until the database holds the size asked for, and the same Bundles as NDJSON (one file per type,
//! fresh ids, references rewritten) for the import workload.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `10k`, `100k`, `1M`, `2500` as a number of resources.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim().replace('_', "");
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1_000),
        Some((i, 'm' | 'M')) => (&t[..i], 1_000_000),
        _ => (t.as_str(), 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 500, 10k, 100k, 1M)"))?;
    if !(n.is_finite() && n >= 1.0) {
        return Err(format!("{s:?} is not a size (e.g. 500, 10k, 100k, 1M)"));
    }
    Ok((n * mult as f64).round() as usize)
}

/// The Synthea Bundles of a folder (sorted, so every run loads them in the same order).
pub fn bundles(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let files: Vec<PathBuf> = crate::import::collect_files(&[dir.to_path_buf()])
        .into_iter()
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    if files.is_empty() {
        return Err(format!("no Synthea Bundles (*.json) in {}", dir.display()));
    }
    Ok(files)
}

/// Replaces every string equal to a key of `map` (a `urn:uuid:` fullUrl) by its value.
fn rewrite(v: &mut Value, map: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(to) = map.get(s.as_str()) {
                *s = to.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, map)),
        Value::Object(o) => o.values_mut().for_each(|x| rewrite(x, map)),
        _ => {}
    }
}

/// Writes the resources of `files` as NDJSON into `out_dir`, one file per resource type, each
/// resource with a fresh id and every `urn:uuid:` reference rewritten to `Type/id`. Returns the files
/// and the number of resources.
pub fn to_ndjson(files: &[PathBuf], out_dir: &Path) -> Result<(Vec<PathBuf>, usize), String> {
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut n = 0;
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let bundle: Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", f.display()))?;
        let entries = bundle.get("entry").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut map = HashMap::new();
        let mut resources = Vec::new();
        for e in entries {
            let Some(mut r) = e.get("resource").cloned() else { continue };
            let Some(t) = r.get("resourceType").and_then(Value::as_str).map(str::to_string) else { continue };
            let id = uuid::Uuid::new_v4().to_string();
            if let Some(full) = e.get("fullUrl").and_then(Value::as_str) {
                map.insert(full.to_string(), format!("{t}/{id}"));
            }
            if let Some(o) = r.as_object_mut() {
                o.insert("id".into(), Value::String(id));
            }
            resources.push((t, r));
        }
        for (t, mut r) in resources {
            rewrite(&mut r, &map);
            by_type.entry(t).or_default().push(r.to_string());
            n += 1;
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut out = Vec::new();
    for (t, lines) in by_type {
        let path = out_dir.join(format!("{t}.ndjson"));
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        );
        for l in lines {
            writeln!(w, "{l}").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        w.flush().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        out.push(path);
    }
    Ok((out, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10k"), Ok(10_000));
        assert_eq!(parse_size("1M"), Ok(1_000_000));
        assert_eq!(parse_size("2.5k"), Ok(2_500));
        assert_eq!(parse_size("300"), Ok(300));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-5k").is_err());
    }

    #[test]
    fn ndjson_has_fresh_ids_and_rewritten_references() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let bundle = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1"},
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "id": "o1",
              "subject": {"reference": "urn:uuid:p1"}}, "request": {"method": "POST", "url": "Observation"}}
        ]});
        let src = dir.path().join("b.json");
        std::fs::write(&src, bundle.to_string()).map_err(|e| e.to_string())?;
        let (files, n) = to_ndjson(&[src], &dir.path().join("out"))?;
        assert_eq!(n, 2);
        assert_eq!(files.len(), 2);
        let obs: Value = serde_json::from_str(
            std::fs::read_to_string(dir.path().join("out/Observation.ndjson")).map_err(|e| e.to_string())?.trim(),
        )
        .map_err(|e| e.to_string())?;
        let pat: Value = serde_json::from_str(
            std::fs::read_to_string(dir.path().join("out/Patient.ndjson")).map_err(|e| e.to_string())?.trim(),
        )
        .map_err(|e| e.to_string())?;
        assert_ne!(pat["id"], "p1");
        assert_eq!(obs["subject"]["reference"], format!("Patient/{}", pat["id"].as_str().unwrap_or("?")));
        Ok(())
    }
}
