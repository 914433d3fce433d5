//! Search execution over the index tables. The conditions arrive already parsed and typed (see
//! `fhir::search::query`); this module only turns them into SQL through diesel's DSL, so the same code
//! runs on both backends. Paging is keyset on `resources.seq`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

use super::{AnyConnection, StoreResult};

/// How a string value matches.
#[derive(Debug, Clone, PartialEq)]
pub enum StringMatch {
    /// Normalised prefix (default).
    StartsWith(String),
    /// Normalised substring (`:contains`).
    Contains(String),
    /// Exact, case-sensitive (`:exact`).
    Exact(String),
}

/// One typed search condition on one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Id(String),
    /// `system`: None = any system; Some(None) = no system (`|code`); Some(Some(s)) = that system.
    Token { param: String, system: Option<Option<String>>, code: Option<String>, negate: bool },
    TokenText { param: String, text: String },
    String { param: String, value: StringMatch },
    /// Index row `[low, high]` must satisfy `op` against the query range `[low, high]`.
    Date { param: String, op: RangeOp, low: i64, high: i64 },
    Reference { param: String, target_type: Option<String>, target_id: Option<String>, url: Option<String> },
    Quantity { param: String, op: RangeOp, low: f64, high: f64, system: Option<String>, code: Option<String> },
    Number { param: String, op: RangeOp, low: f64, high: f64 },
    Uri { param: String, value: String, below: bool },
    /// `:missing=true|false` on any indexed parameter; `table` names the index table.
    Missing { param: String, table: IndexTable, missing: bool },
    /// Resource is in this patient's compartment.
    Compartment(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    String,
    Token,
    Date,
    Reference,
    Quantity,
    Number,
    Uri,
}

/// Range comparison of FHIR search prefixes (R4 3.1.1.4.3.4): the index value is a range `[vl, vh]`,
/// the query a range `[ql, qh]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// eq: the value range is fully inside the query range.
    Eq,
    /// ne: not eq.
    Ne,
    /// gt: the value goes beyond the query range (vh > qh).
    Gt,
    /// lt: vl < ql.
    Lt,
    /// ge: vh >= ql... (value range overlaps or is above): vh > qh or fully inside.
    Ge,
    Le,
    /// sa: starts after the query range (vl > qh).
    Sa,
    /// eb: ends before the query range (vh < ql).
    Eb,
    /// ap: overlaps (approximately).
    Ap,
}

/// A whole query: conditions are AND-ed groups of OR-ed alternatives.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub res_type: String,
    pub all_of: Vec<Vec<Condition>>,
    /// Keyset cursor: only rows with `seq` greater than this.
    pub after_seq: Option<i64>,
    pub limit: i64,
}


/// SQL text with `?` placeholders and its bind values, built up piece by piece.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    fn text(&mut self, v: &str) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Text(v.to_string()));
        self
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Int(v));
        self
    }
    fn float(&mut self, v: f64) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Float(v));
        self
    }
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

/// Appends the range comparison for index columns `lo`/`hi` against the query range.
fn range(sql: &mut Sql, op: RangeOp, lo: &str, hi: &str, ql: Bind, qh: Bind) {
    let b = |sql: &mut Sql, v: &Bind| match v {
        Bind::Int(i) => {
            sql.int(*i);
        }
        Bind::Float(f) => {
            sql.float(*f);
        }
        Bind::Text(t) => {
            sql.text(t);
        }
    };
    match op {
        RangeOp::Eq => {
            sql.push(&format!("{lo} >= "));
            b(sql, &ql);
            sql.push(&format!(" AND {hi} <= "));
            b(sql, &qh);
        }
        RangeOp::Ne => {
            sql.push(&format!("NOT ({lo} >= "));
            b(sql, &ql);
            sql.push(&format!(" AND {hi} <= "));
            b(sql, &qh);
            sql.push(")");
        }
        RangeOp::Gt => {
            sql.push(&format!("{hi} > "));
            b(sql, &qh);
        }
        RangeOp::Lt => {
            sql.push(&format!("{lo} < "));
            b(sql, &ql);
        }
        RangeOp::Ge => {
            sql.push(&format!("{hi} >= "));
            b(sql, &ql);
        }
        RangeOp::Le => {
            sql.push(&format!("{lo} <= "));
            b(sql, &qh);
        }
        RangeOp::Sa => {
            sql.push(&format!("{lo} > "));
            b(sql, &qh);
        }
        RangeOp::Eb => {
            sql.push(&format!("{hi} < "));
            b(sql, &ql);
        }
        RangeOp::Ap => {
            sql.push(&format!("{lo} <= "));
            b(sql, &qh);
            sql.push(&format!(" AND {hi} >= "));
            b(sql, &ql);
        }
    }
}

/// Appends `r.seq IN (…)` (or the negation) for one condition.
fn condition(sql: &mut Sql, res_type: &str, c: &Condition) {
    let sub = |sql: &mut Sql, table: &str, param: &str| {
        sql.push(&format!("r.seq IN (SELECT res_seq FROM {table} WHERE res_type = ")).text(res_type);
        sql.push(" AND param = ").text(param);
    };
    match c {
        Condition::Id(id) => {
            sql.push("r.res_id = ").text(id);
        }
        Condition::Compartment(p) => {
            sql.push("r.seq IN (SELECT res_seq FROM compartment WHERE patient_id = ").text(p).push(")");
        }
        Condition::Token { param, system, code, negate } => {
            if *negate {
                sql.push("NOT ");
            }
            sub(sql, "idx_token", param);
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
        Condition::TokenText { param, text } => {
            sub(sql, "idx_token", param);
            sql.push(" AND LOWER(text) LIKE ").text(&format!("%{}%", like_escape(&text.to_lowercase())));
            sql.push(" ESCAPE '\\')");
        }
        Condition::String { param, value } => {
            sub(sql, "idx_string", param);
            match value {
                StringMatch::StartsWith(v) => {
                    sql.push(" AND norm LIKE ").text(&format!("{}%", like_escape(v))).push(" ESCAPE '\\'");
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
        Condition::Date { param, op, low, high } => {
            if *op == RangeOp::Ne {
                // ne: no index value equals the range.
                sql.push("NOT ");
                sub(sql, "idx_date", param);
                sql.push(" AND ");
                range(sql, RangeOp::Eq, "low", "high", Bind::Int(*low), Bind::Int(*high));
            } else {
                sub(sql, "idx_date", param);
                sql.push(" AND ");
                range(sql, *op, "low", "high", Bind::Int(*low), Bind::Int(*high));
            }
            sql.push(")");
        }
        Condition::Reference { param, target_type, target_id, url } => {
            sub(sql, "idx_reference", param);
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
        Condition::Quantity { param, op, low, high, system, code } => {
            let negate = *op == RangeOp::Ne;
            if negate {
                sql.push("NOT ");
            }
            sub(sql, "idx_quantity", param);
            sql.push(" AND ");
            let op = if negate { RangeOp::Eq } else { *op };
            range(sql, op, "num", "num", Bind::Float(*low), Bind::Float(*high));
            if let Some(s) = system {
                sql.push(" AND system = ").text(s);
            }
            if let Some(c) = code {
                sql.push(" AND (code = ").text(c).push(" OR unit = ").text(c).push(")");
            }
            sql.push(")");
        }
        Condition::Number { param, op, low, high } => {
            let negate = *op == RangeOp::Ne;
            if negate {
                sql.push("NOT ");
            }
            sub(sql, "idx_number", param);
            sql.push(" AND ");
            let op = if negate { RangeOp::Eq } else { *op };
            range(sql, op, "num", "num", Bind::Float(*low), Bind::Float(*high));
            sql.push(")");
        }
        Condition::Uri { param, value, below } => {
            sub(sql, "idx_uri", param);
            if *below {
                sql.push(" AND value LIKE ").text(&format!("{}%", like_escape(value))).push(" ESCAPE '\\'");
            } else {
                sql.push(" AND value = ").text(value);
            }
            sql.push(")");
        }
        Condition::Missing { param, table, missing } => {
            if *missing {
                sql.push("NOT ");
            }
            sub(sql, table_name(*table), param);
            sql.push(")");
        }
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn where_clause(q: &Query) -> Sql {
    let mut sql = Sql::default();
    sql.push(" FROM resources r WHERE r.res_type = ").text(&q.res_type).push(" AND r.deleted = ");
    sql.push("FALSE");
    for group in &q.all_of {
        if group.is_empty() {
            continue;
        }
        sql.push(" AND (");
        for (i, c) in group.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            condition(&mut sql, &q.res_type, c);
            sql.push(")");
        }
        sql.push(")");
    }
    sql
}

#[derive(QueryableByName)]
struct SeqRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Renumbers `?` placeholders as `$1, $2, …` for PostgreSQL (values are always bound, so no `?`
/// appears inside SQL literals).
fn numbered(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    for ch in text.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

macro_rules! run_sql {
    ($conn:expr, $sql:expr, $row:ty) => {{
        let sql: &Sql = $sql;
        match $conn {
            AnyConnection::Postgresql(c) => {
                let mut q = diesel::sql_query(numbered(&sql.text)).into_boxed::<diesel::pg::Pg>();
                for b in &sql.binds {
                    q = match b {
                        Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                        Bind::Int(i) => q.bind::<BigInt, _>(*i),
                        Bind::Float(f) => q.bind::<Double, _>(*f),
                    };
                }
                q.load::<$row>(c)
            }
            AnyConnection::Sqlite(c) => {
                let mut q = diesel::sql_query(sql.text.replace("FALSE", "0")).into_boxed::<diesel::sqlite::Sqlite>();
                for b in &sql.binds {
                    q = match b {
                        Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                        Bind::Int(i) => q.bind::<BigInt, _>(*i),
                        Bind::Float(f) => q.bind::<Double, _>(*f),
                    };
                }
                q.load::<$row>(c)
            }
        }
    }};
}

/// Sequence numbers of the matching current resources, ascending, at most `limit`.
pub fn find(conn: &mut AnyConnection, q: &Query) -> StoreResult<Vec<i64>> {
    let mut sql = Sql::default();
    sql.push("SELECT r.seq AS seq");
    let w = where_clause(q);
    sql.text.push_str(&w.text);
    sql.binds.extend(w.binds);
    if let Some(after) = q.after_seq {
        sql.push(" AND r.seq > ").int(after);
    }
    sql.push(" ORDER BY r.seq LIMIT ").int(q.limit);
    let rows = run_sql!(conn, &sql, SeqRow)?;
    Ok(rows.into_iter().map(|r| r.seq).collect())
}

/// How many current resources match (ignores the cursor and limit).
pub fn count(conn: &mut AnyConnection, q: &Query) -> StoreResult<i64> {
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) AS n");
    let w = where_clause(q);
    sql.text.push_str(&w.text);
    sql.binds.extend(w.binds);
    let rows = run_sql!(conn, &sql, CountRow)?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}
