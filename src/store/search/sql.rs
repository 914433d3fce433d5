//! SQL text with `?` placeholders and its bound values, and running it on either backend: as a
//! prepared statement diesel caches per connection (for the statement shapes admitted, see
//! [`admitted`]), after a check on the number of bound values.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};

use crate::store::{AnyConnection, StoreError, StoreResult};

/// SQL text with `?` placeholders and its bind values, built up piece by piece.
#[derive(Debug, Default)]
pub(super) struct Sql {
    pub(super) text: String,
    pub(super) binds: Vec<Bind>,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(super) enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Sql {
    pub(super) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    pub(super) fn text(&mut self, v: &str) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Text(v.to_string()));
        self
    }
    pub(super) fn int(&mut self, v: i64) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Int(v));
        self
    }
    pub(super) fn float(&mut self, v: f64) -> &mut Self {
        self.text.push('?');
        self.binds.push(Bind::Float(v));
        self
    }
}

/// Appends a placeholder bound to `v`.
pub(super) fn bind(sql: &mut Sql, v: &Bind) {
    match v {
        Bind::Int(i) => {
            sql.int(*i);
        }
        Bind::Float(f) => {
            sql.float(*f);
        }
        Bind::Text(t) => {
            sql.text(t);
        }
    }
}

/// `column = ?` or `column IN (?, ?)`.
pub(super) fn type_filter(sql: &mut Sql, column: &str, types: &[String]) {
    match types {
        [one] => {
            sql.push(&format!("{column} = ")).text(one);
        }
        many => {
            sql.push(&format!("{column} IN ("));
            for (i, t) in many.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.text(t);
            }
            if many.is_empty() {
                sql.push("NULL");
            }
            sql.push(")");
        }
    }
}

/// The most values one statement binds. SQLite allows 32766, PostgreSQL 65535; the search limits
/// (values per parameter, parameters per search) keep a statement far below this, and lists that
/// grow with the page size are sent in chunks (`includes::CHUNK`), so this is a last guard that turns a
/// statement the database would refuse into a 400 naming the limit.
pub const MAX_BINDS: usize = 30_000;

/// The most statement shapes (SQL text and value types) this process lets diesel keep prepared; each
/// pooled connection then holds at most this many. Shapes past the bound run unprepared, as before,
/// so a stream of unusual searches cannot grow the caches.
const MAX_PREPARED: usize = 256;

/// Whether this statement shape may stay prepared: shapes are admitted first come, up to
/// [`MAX_PREPARED`] (the common searches come first and often).
fn admitted(text: &str, binds: &[Bind]) -> bool {
    use std::hash::{Hash, Hasher};
    static SHAPES: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<u64>>> = std::sync::OnceLock::new();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    for b in binds {
        std::mem::discriminant(b).hash(&mut h);
    }
    let shape = h.finish();
    let Ok(mut shapes) = SHAPES.get_or_init(Default::default).lock() else { return false };
    if shapes.contains(&shape) {
        return true;
    }
    if shapes.len() < MAX_PREPARED {
        shapes.insert(shape);
        return true;
    }
    false
}

/// A statement of this module: SQL text split at its `?` placeholders, and the values. Unlike
/// `diesel::sql_query` (never cached), diesel keeps it in the connection's prepared-statement cache
/// (keyed by SQL text and value types) when its shape is [`admitted`], so a repeated search is
/// not parsed and planned again. Placeholders are written by diesel (`?` or `$n`).
struct Prepared<'a> {
    parts: Vec<&'a str>,
    binds: &'a [Bind],
    cache: bool,
}

impl<'a> Prepared<'a> {
    fn new(text: &'a str, binds: &'a [Bind]) -> Prepared<'a> {
        Prepared { parts: text.split('?').collect(), binds, cache: admitted(text, binds) }
    }
}

macro_rules! prepared_fragment {
    ($backend:ty) => {
        impl diesel::query_builder::QueryFragment<$backend> for Prepared<'_> {
            fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, $backend>) -> QueryResult<()> {
                if !self.cache {
                    out.unsafe_to_cache_prepared();
                }
                let last = self.parts.len().saturating_sub(1);
                for (i, part) in self.parts.iter().enumerate() {
                    out.push_sql(part);
                    if i == last {
                        break;
                    }
                    match self.binds.get(i) {
                        Some(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                        Some(Bind::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                        Some(Bind::Float(v)) => out.push_bind_param::<Double, _>(v)?,
                        None => {
                            return Err(diesel::result::Error::QueryBuilderError(
                                "a placeholder without a value".into(),
                            ))
                        }
                    }
                }
                Ok(())
            }
        }
    };
}
prepared_fragment!(diesel::pg::Pg);
prepared_fragment!(diesel::sqlite::Sqlite);

impl diesel::query_builder::QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Prepared<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Prepared<'_> {}

/// Runs `sql` and loads its rows as `R`. On PostgreSQL `{COLLATE}` becomes `COLLATE "C"` (bytewise
/// text order, as SQLite compares) and `{NOIDX}` goes; on SQLite `FALSE` becomes `0`, `{COLLATE}` goes
/// and `{NOIDX}` becomes `+` (a unary plus, which keeps the planner off that column's index). A
/// statement with more than [`MAX_BINDS`] values is refused before it reaches the database.
pub(super) fn run<R>(conn: &mut AnyConnection, sql: &Sql) -> StoreResult<Vec<R>>
where
    R: diesel::deserialize::QueryableByName<diesel::pg::Pg>
        + diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    if sql.binds.len() > MAX_BINDS {
        return Err(StoreError::TooComplex(format!(
            "the search needs {} values in one database statement, more than the limit of {MAX_BINDS}; \
             use fewer search values",
            sql.binds.len()
        )));
    }
    let rows = match conn {
        AnyConnection::Postgresql(c) => {
            let text = sql.text.replace("{COLLATE}", " COLLATE \"C\"").replace("{NOIDX}", "");
            Prepared::new(&text, &sql.binds).load::<R>(c)
        }
        AnyConnection::Sqlite(c) => {
            let text = sql.text.replace("FALSE", "0").replace("{COLLATE}", "").replace("{NOIDX}", "+");
            Prepared::new(&text, &sql.binds).load::<R>(c)
        }
    }?;
    Ok(rows)
}
