//! The database's query plan for a search (`bedside bench` prints it; the docs quote it). `EXPLAIN`
//! goes through `diesel::sql_query` (never cached) with its placeholders written out per backend.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

use super::conditions::where_clause;
use super::sql::{Bind, Sql};
use super::Query;
use crate::store::{AnyConnection, StoreResult};

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

/// Binds every value of a `Sql` to a boxed `sql_query`, in order.
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                Bind::Int(i) => q.bind::<BigInt, _>(*i),
                Bind::Float(f) => q.bind::<Double, _>(*f),
            };
        }
        q
    }};
}

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// The database's query plan for the first page of `q` (for benchmarks and docs).
pub fn explain(conn: &mut AnyConnection, q: &Query) -> StoreResult<String> {
    let mut sql = Sql::default();
    sql.push("SELECT r.seq AS seq");
    let w = where_clause(q);
    sql.text.push_str(&w.text);
    sql.binds.extend(w.binds);
    sql.push(" ORDER BY r.seq LIMIT ").int(q.limit);
    let lines: Vec<String> = match conn {
        AnyConnection::Postgresql(c) => {
            let text = numbered(&sql.text).replace("{COLLATE}", " COLLATE \"C\"").replace("{NOIDX}", "");
            let query = diesel::sql_query(format!("EXPLAIN {text}")).into_boxed::<diesel::pg::Pg>();
            let query = bind_all!(query, &sql.binds);
            query.load::<PgPlanRow>(c)?.into_iter().map(|r| r.plan).collect()
        }
        AnyConnection::Sqlite(c) => {
            let text = format!(
                "EXPLAIN QUERY PLAN {}",
                sql.text.replace("FALSE", "0").replace("{COLLATE}", "").replace("{NOIDX}", "+")
            );
            let query = diesel::sql_query(text).into_boxed::<diesel::sqlite::Sqlite>();
            let query = bind_all!(query, &sql.binds);
            query.load::<SqlitePlanRow>(c)?.into_iter().map(|r| r.detail).collect()
        }
    };
    Ok(lines.join("\n"))
}
