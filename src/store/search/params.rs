//! One condition on one search parameter's index table, per parameter type: token, string, date,
//! reference, quantity, number, uri, and `:missing` on any of them. Each opens the subquery with
//! [`At::index_rows`], adds the tests on the table's value columns and closes it.

use super::conditions::At;
use super::sql::{bind, Bind, Sql};
use super::{IndexTable, RangeOp, StringMatch};

/// `system`: None = any system; Some(None) = no system (`|code`); Some(Some(s)) = that system.
pub(super) fn token(
    sql: &mut Sql,
    at: At<'_>,
    param: &str,
    system: &Option<Option<String>>,
    code: &Option<String>,
    negate: bool,
) {
    if negate {
        sql.push("NOT ");
    }
    at.index_rows(sql, "idx_token", param);
    if let Some(code) = code {
        sql.push(" AND code = ").text(code);
    }
    match system {
        None => {}
        Some(None) => {
            sql.push(" AND system IS NULL");
        }
        Some(Some(s)) => {
            sql.push(" AND system = ").text(s);
        }
    }
    sql.push(")");
}

/// `:text`: the display or CodeableConcept text contains `text`, case-insensitively.
pub(super) fn token_text(sql: &mut Sql, at: At<'_>, param: &str, text: &str) {
    at.index_rows(sql, "idx_token", param);
    sql.push(" AND LOWER(text) LIKE ").text(&format!("%{}%", like_escape(&text.to_lowercase())));
    sql.push(" ESCAPE '\\')");
}

pub(super) fn string(sql: &mut Sql, at: At<'_>, param: &str, value: &StringMatch) {
    at.index_rows(sql, "idx_string", param);
    match value {
        StringMatch::StartsWith(v) => {
            // A bytewise range is exactly "starts with" and can use the index on both backends.
            sql.push(" AND norm{COLLATE} >= ").text(v);
            sql.push(" AND norm{COLLATE} < ").text(&format!("{v}{}", char::MAX));
        }
        StringMatch::Contains(v) => {
            sql.push(" AND norm LIKE ").text(&format!("%{}%", like_escape(v))).push(" ESCAPE '\\'");
        }
        StringMatch::Exact(v) => {
            sql.push(" AND value = ").text(v);
        }
    }
    sql.push(")");
}

/// Index rows hold `[low, high]` in epoch milliseconds.
pub(super) fn date(sql: &mut Sql, at: At<'_>, param: &str, op: RangeOp, low: i64, high: i64) {
    let (negate, op) = split_ne(op);
    if negate {
        sql.push("NOT ");
    }
    at.index_rows(sql, "idx_date", param);
    sql.push(" AND ");
    range(sql, op, "low", "high", Bind::Int(low), Bind::Int(high));
    sql.push(")");
}

pub(super) fn reference(
    sql: &mut Sql,
    at: At<'_>,
    param: &str,
    target_type: &Option<String>,
    target_id: &Option<String>,
    url: &Option<String>,
) {
    at.index_rows(sql, "idx_reference", param);
    if let Some(id) = target_id {
        sql.push(" AND target_id = ").text(id);
    }
    if let Some(t) = target_type {
        sql.push(" AND target_type = ").text(t);
    }
    if let Some(u) = url {
        sql.push(" AND url = ").text(u);
    }
    sql.push(")");
}

/// The number against the query range `(low, high)`; `code` matches the coded unit or the unit text.
pub(super) fn quantity(
    sql: &mut Sql,
    at: At<'_>,
    param: &str,
    op: RangeOp,
    (low, high): (f64, f64),
    system: &Option<String>,
    code: &Option<String>,
) {
    let (negate, op) = split_ne(op);
    if negate {
        sql.push("NOT ");
    }
    at.index_rows(sql, "idx_quantity", param);
    sql.push(" AND ");
    range(sql, op, "num", "num", Bind::Float(low), Bind::Float(high));
    if let Some(s) = system {
        sql.push(" AND system = ").text(s);
    }
    if let Some(c) = code {
        sql.push(" AND (code = ").text(c).push(" OR unit = ").text(c).push(")");
    }
    sql.push(")");
}

pub(super) fn number(sql: &mut Sql, at: At<'_>, param: &str, op: RangeOp, low: f64, high: f64) {
    let (negate, op) = split_ne(op);
    if negate {
        sql.push("NOT ");
    }
    at.index_rows(sql, "idx_number", param);
    sql.push(" AND ");
    range(sql, op, "num", "num", Bind::Float(low), Bind::Float(high));
    sql.push(")");
}

/// `below`: `:below`, a prefix match.
pub(super) fn uri(sql: &mut Sql, at: At<'_>, param: &str, value: &str, below: bool) {
    at.index_rows(sql, "idx_uri", param);
    if below {
        sql.push(" AND value LIKE ").text(&format!("{}%", like_escape(value))).push(" ESCAPE '\\'");
    } else {
        sql.push(" AND value = ").text(value);
    }
    sql.push(")");
}

/// `:missing=true` (no row of `param` in `table`) or `:missing=false` (some row).
pub(super) fn missing(sql: &mut Sql, at: At<'_>, param: &str, table: IndexTable, missing: bool) {
    if missing {
        sql.push("NOT ");
    }
    at.index_rows(sql, table_name(table), param);
    sql.push(")");
}

fn table_name(t: IndexTable) -> &'static str {
    match t {
        IndexTable::String => "idx_string",
        IndexTable::Token => "idx_token",
        IndexTable::Date => "idx_date",
        IndexTable::Reference => "idx_reference",
        IndexTable::Quantity => "idx_quantity",
        IndexTable::Number => "idx_number",
        IndexTable::Uri => "idx_uri",
    }
}

/// `ne` means "no index value equals": the resource must have no value `eq` the query.
fn split_ne(op: RangeOp) -> (bool, RangeOp) {
    if op == RangeOp::Ne {
        (true, RangeOp::Eq)
    } else {
        (false, op)
    }
}

/// Appends the range comparison for index columns `lo`/`hi` against the query range `[ql, qh]`
/// (R4 search prefixes on ranges).
fn range(sql: &mut Sql, op: RangeOp, lo: &str, hi: &str, ql: Bind, qh: Bind) {
    let cmp = |sql: &mut Sql, col: &str, o: &str, v: &Bind| {
        sql.push(&format!("{col} {o} "));
        bind(sql, v);
    };
    // The target range lies inside the query range.
    let inside = |sql: &mut Sql| {
        sql.push("(");
        cmp(sql, lo, ">=", &ql);
        sql.push(" AND ");
        cmp(sql, hi, "<=", &qh);
        sql.push(")");
    };
    match op {
        RangeOp::Eq => inside(sql),
        RangeOp::Ne => {
            sql.push("NOT ");
            inside(sql);
        }
        RangeOp::Gt => cmp(sql, hi, ">", &qh),
        RangeOp::Lt => cmp(sql, lo, "<", &ql),
        // The range above (below) the value overlaps the target, or the value's range contains it.
        RangeOp::Ge | RangeOp::Le => {
            sql.push("(");
            if op == RangeOp::Ge {
                cmp(sql, hi, ">", &qh);
            } else {
                cmp(sql, lo, "<", &ql);
            }
            sql.push(" OR ");
            inside(sql);
            sql.push(")");
        }
        RangeOp::Sa => cmp(sql, lo, ">", &qh),
        RangeOp::Eb => cmp(sql, hi, "<", &ql),
        RangeOp::Ap => {
            sql.push("(");
            cmp(sql, lo, "<=", &qh);
            sql.push(" AND ");
            cmp(sql, hi, ">=", &ql);
            sql.push(")");
        }
    }
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
