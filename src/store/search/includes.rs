//! The lookups of `_include` (the targets of the page's references) and `_revinclude` (the resources
//! that refer to the page), each sent in statements of at most [`CHUNK`] ids.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::sql::{run, type_filter, Sql};
use crate::store::{AnyConnection, StoreResult};

/// How many ids one statement lists in an `IN (…)` (include and revinclude lookups run per chunk).
const CHUNK: usize = 500;

#[derive(QueryableByName)]
struct RefRow {
    #[diesel(sql_type = Text)]
    target_type: String,
    #[diesel(sql_type = Text)]
    target_id: String,
}

/// `(type, id)` targets of the reference parameters `params` (all reference parameters when None) of
/// the resources `seqs` (for `_include`), optionally only those pointing at `target_type`.
pub fn references_from(
    conn: &mut AnyConnection,
    seqs: &[i64],
    params: Option<&[String]>,
    target_type: Option<&str>,
) -> StoreResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for chunk in seqs.chunks(CHUNK) {
        let mut sql = Sql::default();
        sql.push("SELECT DISTINCT target_type, target_id FROM idx_reference WHERE target_type IS NOT NULL AND target_id IS NOT NULL AND ");
        type_filter_int(&mut sql, "res_seq", chunk);
        if let Some(ps) = params {
            sql.push(" AND ");
            type_filter(&mut sql, "param", ps);
        }
        if let Some(t) = target_type {
            sql.push(" AND target_type = ").text(t);
        }
        for r in run::<RefRow>(conn, &sql)? {
            if seen.insert((r.target_type.clone(), r.target_id.clone())) {
                out.push((r.target_type, r.target_id));
            }
        }
    }
    Ok(out)
}

/// `column IN (?, ?, …)` over integers (`FALSE` when empty).
fn type_filter_int(sql: &mut Sql, column: &str, values: &[i64]) {
    if values.is_empty() {
        sql.push("FALSE");
        return;
    }
    sql.push(&format!("{column} IN ("));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.int(*v);
    }
    sql.push(")");
}

#[derive(QueryableByName)]
struct SeqRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Current resources of `source_type` whose reference parameter `param` (any when None) points at one
/// of `targets` (for `_revinclude`), at most `limit`, in `seq` order. The targets are looked up per
/// type, [`CHUNK`] ids per statement (`target_id IN (…)`), so a page of any size stays within the
/// databases' limits on bound values and expression depth.
pub fn referencing(
    conn: &mut AnyConnection,
    source_type: &str,
    param: Option<&str>,
    targets: &[(String, String)],
    limit: i64,
) -> StoreResult<Vec<i64>> {
    let mut by_type: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    for (t, id) in targets {
        by_type.entry(t.as_str()).or_default().push(id.clone());
    }
    let mut found = std::collections::BTreeSet::new();
    for (t, ids) in by_type {
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::default();
            sql.push("SELECT DISTINCT x.res_seq AS seq FROM idx_reference x JOIN resources r ON r.seq = x.res_seq WHERE r.deleted = FALSE AND x.res_type = ");
            sql.text(source_type);
            if let Some(p) = param {
                sql.push(" AND x.param = ").text(p);
            }
            sql.push(" AND x.target_type = ").text(t).push(" AND ");
            type_filter(&mut sql, "x.target_id", chunk);
            sql.push(" ORDER BY seq LIMIT ").int(limit);
            found.extend(run::<SeqRow>(conn, &sql)?.into_iter().map(|r| r.seq));
        }
    }
    Ok(found.into_iter().take(usize::try_from(limit).unwrap_or(0)).collect())
}
