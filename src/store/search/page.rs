//! One page of a search and its total. Each sort key is a correlated subquery over its index table
//! (the lowest value ascending, the highest descending; missing values sort last); the page after a
//! cursor is a keyset comparison on those keys and then `seq`, so deep pages cost the same as the
//! first.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

use super::conditions::where_clause;
use super::sql::{bind, run, Bind, Sql};
use super::{After, Hit, KeyValue, Query, SortKey, SortSource, MAX_SORT_KEYS};
use crate::store::{AnyConnection, StoreResult};

/// A row of [`find`]: the sequence number and, per sort-key slot, one of three typed columns (the
/// others NULL), so one row type serves every combination of key types.
#[derive(QueryableByName)]
struct HitRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    i0: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Double>)]
    f0: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    t0: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    i1: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Double>)]
    f1: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    t1: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    i2: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Double>)]
    f2: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    t2: Option<String>,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The SQL type of a sort key's value.
#[derive(Clone, Copy, PartialEq)]
enum KeyKind {
    Int,
    Float,
    Text,
}

/// The SQL expression of a sort key (never NULL: missing values sort last) and its kind.
fn key_expr(k: &SortKey, sql: &mut Sql) -> KeyKind {
    let (agg, col, table, kind) = match k.source {
        SortSource::Date => {
            (if k.desc { "MAX" } else { "MIN" }, if k.desc { "high" } else { "low" }, "idx_date", KeyKind::Int)
        }
        SortSource::String => (if k.desc { "MAX" } else { "MIN" }, "norm", "idx_string", KeyKind::Text),
        SortSource::Token => (if k.desc { "MAX" } else { "MIN" }, "code", "idx_token", KeyKind::Text),
        SortSource::Number => (if k.desc { "MAX" } else { "MIN" }, "num", "idx_number", KeyKind::Float),
        SortSource::Quantity => (if k.desc { "MAX" } else { "MIN" }, "num", "idx_quantity", KeyKind::Float),
        SortSource::LastUpdated => {
            sql.push("r.last_updated");
            return KeyKind::Text;
        }
        SortSource::Id => {
            sql.push("r.res_id");
            return KeyKind::Text;
        }
    };
    let sentinel = match (kind, k.desc) {
        (KeyKind::Int, false) => i64::MAX.to_string(),
        (KeyKind::Int, true) => i64::MIN.to_string(),
        (KeyKind::Float, false) => "1e300".to_string(),
        (KeyKind::Float, true) => "-1e300".to_string(),
        (KeyKind::Text, false) => "'~~~~'".to_string(),
        (KeyKind::Text, true) => "''".to_string(),
    };
    sql.push(&format!("COALESCE((SELECT {agg}(s.{col}) FROM {table} s WHERE s.res_seq = r.seq AND s.param = "));
    sql.text(&k.param);
    sql.push(&format!("), {sentinel})"));
    kind
}

fn bind_key(sql: &mut Sql, v: &KeyValue) {
    bind(
        sql,
        &match v {
            KeyValue::Int(i) => Bind::Int(*i),
            KeyValue::Float(f) => Bind::Float(*f),
            KeyValue::Text(t) => Bind::Text(t.clone()),
        },
    );
}

/// `(k0, k1, …, seq) > (a0, a1, …, s)` with each key's direction.
fn keyset(sql: &mut Sql, sort: &[SortKey], kinds: &[KeyKind], after: &After) {
    sql.push("(");
    for (i, k) in sort.iter().enumerate() {
        let Some(v) = after.keys.get(i) else { break };
        let op = if k.desc { "<" } else { ">" };
        let c = if kinds.get(i) == Some(&KeyKind::Text) { "{COLLATE}" } else { "" };
        sql.push(&format!("k{i}{c} {op} "));
        bind_key(sql, v);
        sql.push(&format!(" OR (k{i}{c} = "));
        bind_key(sql, v);
        sql.push(" AND ");
    }
    sql.push("seq > ").int(after.seq);
    for (i, _) in sort.iter().enumerate() {
        if after.keys.get(i).is_some() {
            sql.push(")");
        }
    }
    sql.push(")");
}

/// Matching current resources in sort order (then `seq`), at most `limit`, after the cursor.
pub fn find(conn: &mut AnyConnection, q: &Query) -> StoreResult<Vec<Hit>> {
    let sort: Vec<SortKey> = q.sort.iter().take(MAX_SORT_KEYS).cloned().collect();
    let (sql, kinds) = page_sql(q, &sort);
    let rows: Vec<HitRow> = run(conn, &sql)?;
    Ok(rows.into_iter().map(|r| hit(r, kinds.len())).collect())
}

/// `SELECT seq, i0, f0, t0, … FROM (SELECT seq, k0, k1, … FROM resources r WHERE …) t [WHERE keyset]
/// ORDER BY k0, …, seq LIMIT ?`, and the kinds of the sort keys.
fn page_sql(q: &Query, sort: &[SortKey]) -> (Sql, Vec<KeyKind>) {
    let mut sql = Sql::default();
    sql.push("SELECT t.seq AS seq");
    let mut kinds = Vec::new();
    for slot in 0..MAX_SORT_KEYS {
        sql.push(&format!(", {{I{slot}}} AS i{slot}, {{F{slot}}} AS f{slot}, {{T{slot}}} AS t{slot}"));
    }
    sql.push(" FROM (SELECT r.seq AS seq");
    for (i, k) in sort.iter().enumerate() {
        sql.push(", ");
        kinds.push(key_expr(k, &mut sql));
        sql.push(&format!(" AS k{i}"));
    }
    let w = where_clause(q);
    sql.text.push_str(&w.text);
    sql.binds.extend(w.binds);
    sql.push(") t");
    if let Some(after) = &q.after {
        sql.push(" WHERE ");
        keyset(&mut sql, sort, &kinds, after);
    }
    sql.push(" ORDER BY ");
    for (i, k) in sort.iter().enumerate() {
        let c = if kinds.get(i) == Some(&KeyKind::Text) { "{COLLATE}" } else { "" };
        sql.push(&format!("k{i}{c} {}, ", if k.desc { "DESC" } else { "ASC" }));
    }
    sql.push("seq ASC LIMIT ").int(q.limit);
    for slot in 0..MAX_SORT_KEYS {
        let (i, f, t) = slot_columns(kinds.get(slot), slot);
        sql.text = sql
            .text
            .replace(&format!("{{I{slot}}}"), &i)
            .replace(&format!("{{F{slot}}}"), &f)
            .replace(&format!("{{T{slot}}}"), &t);
    }
    (sql, kinds)
}

/// The integer, float and text columns of sort-key slot `slot`: the key `k{slot}` in the column of its
/// kind, typed NULLs in the others (and in all three for an unused slot).
fn slot_columns(kind: Option<&KeyKind>, slot: usize) -> (String, String, String) {
    match kind {
        Some(KeyKind::Int) => {
            (format!("k{slot}"), "CAST(NULL AS DOUBLE PRECISION)".to_string(), "CAST(NULL AS TEXT)".to_string())
        }
        Some(KeyKind::Float) => {
            ("CAST(NULL AS BIGINT)".to_string(), format!("k{slot}"), "CAST(NULL AS TEXT)".to_string())
        }
        Some(KeyKind::Text) => {
            ("CAST(NULL AS BIGINT)".to_string(), "CAST(NULL AS DOUBLE PRECISION)".to_string(), format!("k{slot}"))
        }
        None => (
            "CAST(NULL AS BIGINT)".to_string(),
            "CAST(NULL AS DOUBLE PRECISION)".to_string(),
            "CAST(NULL AS TEXT)".to_string(),
        ),
    }
}

/// A row as a [`Hit`] with the values of its first `keys` sort keys.
fn hit(r: HitRow, keys: usize) -> Hit {
    let slots = [(r.i0, r.f0, r.t0), (r.i1, r.f1, r.t1), (r.i2, r.f2, r.t2)];
    let keys = slots
        .into_iter()
        .take(keys)
        .map(|(i, f, t)| match (i, f, t) {
            (Some(i), _, _) => KeyValue::Int(i),
            (_, Some(f), _) => KeyValue::Float(f),
            (_, _, Some(t)) => KeyValue::Text(t),
            _ => KeyValue::Text(String::new()),
        })
        .collect();
    Hit { seq: r.seq, keys }
}

/// How many current resources match (ignores the cursor and limit).
pub fn count(conn: &mut AnyConnection, q: &Query) -> StoreResult<i64> {
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) AS n");
    let w = where_clause(q);
    sql.text.push_str(&w.text);
    sql.binds.extend(w.binds);
    let rows: Vec<CountRow> = run(conn, &sql)?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}
