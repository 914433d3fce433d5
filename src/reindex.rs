//! `bedside reindex`: rebuilds every index row (search parameters and compartments, of current
//! resources and of every stored version) from the stored resources — after the search-parameter
//! registry or the compartment rules change, or to repair an index. `serve` runs it by itself when the
//! rules it was built with differ from the running binary's ([`ensure_current`]).

use sha2::Digest;

use crate::fhir::search::registry::Registry;
use crate::store::index::IndexRows;
use crate::store::resources as rows;
use crate::store::{index, meta, write_tx, AnyConnection, Store, StoreError};

/// Bump when index extraction changes in a way that needs a re-index.
const EXTRACTION_VERSION: u32 = 3;
const RULES_KEY: &str = "index-rules";

/// A fingerprint of what index rows are made from: the search parameters and compartment rules of
/// every served type, and the extraction code's version.
pub fn rules_fingerprint() -> String {
    let r = Registry::global();
    let mut h = sha2::Sha256::new();
    h.update(EXTRACTION_VERSION.to_be_bytes());
    for t in r.resource_types() {
        h.update(t.as_bytes());
        for p in r.params_slice(t) {
            h.update([0u8]);
            h.update(p.code.as_bytes());
            h.update([1u8]);
            h.update(p.expression_text.as_bytes());
            // Whether the registry indexes it at all (its expression type-checks, see SearchParam::problem).
            h.update([3u8, u8::from(p.is_indexed())]);
        }
        for c in r.patient_compartment_params(t) {
            h.update([2u8]);
            h.update(c.as_bytes());
        }
    }
    format!("{:x}", h.finalize())
}

/// Re-indexes everything if the stored index was built with other rules (or before they were
/// recorded). Returns how many resources were re-indexed (0 when the index was current).
pub fn ensure_current(store: &Store, mut progress: impl FnMut(usize)) -> Result<usize, StoreError> {
    let want = rules_fingerprint();
    let mut conn = store.conn()?;
    if meta::get(&mut conn, RULES_KEY)?.as_deref() == Some(want.as_str()) {
        return Ok(0);
    }
    let empty = rows::scan(&mut conn, 0, 1)?.is_empty();
    drop(conn);
    let n = if empty { 0 } else { reindex_all(store, 500, &mut progress)? };
    record_current(store)?;
    Ok(n)
}

/// Records that the index is built with this binary's rules.
pub fn record_current(store: &Store) -> Result<(), StoreError> {
    let want = rules_fingerprint();
    let mut conn = store.conn()?;
    write_tx(&mut conn, |c| meta::set(c, RULES_KEY, &want))
}

fn parse(res_type: &str, res_id: &str, content: &[u8]) -> Result<serde_json::Value, StoreError> {
    serde_json::from_slice(content).map_err(|e| StoreError::Corrupt(format!("{res_type}/{res_id}: {e}")))
}

/// The compartment a stored version had: from its content, or for a deletion from the version before.
fn version_compartment(c: &mut AnyConnection, e: &rows::HistoryEntry) -> Result<Vec<String>, StoreError> {
    if !e.deleted {
        return Ok(crate::fhir::service::index_rows_stored(c, &parse(&e.res_type, &e.res_id, &e.content)?)?.compartment);
    }
    match rows::read_version(c, &e.res_type, &e.res_id, e.version_id - 1)? {
        Some(prev) => version_compartment(c, &prev),
        None => Ok(Vec::new()),
    }
}

/// Re-indexes all stored versions' compartments and all current resources, in batches of `batch`,
/// each batch in one transaction. Returns how many current resources were re-indexed.
pub fn reindex_all(store: &Store, batch: i64, mut progress: impl FnMut(usize)) -> Result<usize, StoreError> {
    let mut conn = store.conn()?;
    let mut after = 0i64;
    loop {
        let page = rows::scan_history(&mut conn, after, batch)?;
        let Some(last) = page.last() else { break };
        after = last.hseq;
        write_tx(&mut conn, |c| -> Result<(), StoreError> {
            for e in &page {
                let patients = version_compartment(c, e)?;
                rows::replace_history_compartment(c, e.hseq, &patients)?;
            }
            Ok(())
        })?;
    }
    let mut after = 0i64;
    let mut done = 0usize;
    loop {
        let page = rows::scan(&mut conn, after, batch)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        write_tx(&mut conn, |c| -> Result<(), StoreError> {
            for r in &page {
                let rows_for = if r.deleted {
                    // A deletion keeps the compartment of what it deleted.
                    let compartment = match rows::read_version(c, &r.res_type, &r.res_id, r.version_id)? {
                        Some(e) => rows::history_compartment_of(c, e.hseq)?,
                        None => Vec::new(),
                    };
                    IndexRows { compartment, ..Default::default() }
                } else {
                    crate::fhir::service::index_rows_stored(c, &parse(&r.res_type, &r.res_id, &r.content)?)?
                };
                index::replace(c, r.seq, &r.res_type, &rows_for)?;
            }
            Ok(())
        })?;
        done += page.len();
        progress(done);
    }
    Ok(done)
}
