//! `bedside reindex`: rebuilds every index row (search parameters and compartments) from the stored
//! resources — after the search-parameter registry changes, or to repair an index.

use crate::fhir::indexing;
use crate::store::resources as rows;
use crate::store::{index, write_tx, Store, StoreError};

/// Re-indexes all current resources in batches of `batch`, each batch in one transaction. Returns how
/// many resources were re-indexed.
pub fn reindex_all(store: &Store, batch: i64, mut progress: impl FnMut(usize)) -> Result<usize, StoreError> {
    let mut conn = store.conn()?;
    let mut after = 0i64;
    let mut done = 0usize;
    loop {
        let page = rows::scan(&mut conn, after, batch)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        write_tx(&mut conn, |c| -> Result<(), StoreError> {
            for r in &page {
                let rows_for = if r.deleted {
                    index::IndexRows::default()
                } else {
                    let value: serde_json::Value = serde_json::from_slice(&r.content)
                        .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", r.res_type, r.res_id)))?;
                    indexing::index_rows(&value)
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
