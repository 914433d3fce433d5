//! Search execution over the index tables. The conditions arrive already parsed and typed (see
//! `fhir::search::query`); this module turns a [`Query`] into SQL, runs it, and returns the matching
//! rows' sequence numbers and sort-key values. Paging is keyset: on the sort keys, then `resources.seq`.
//!
//! The SQL is built as text with `?` placeholders, not with diesel's query DSL. A search is a tree whose
//! shape is only known at run time (AND-ed groups of OR-ed alternatives, chains and `_has` nesting other
//! searches, OR lists split into balanced trees, sort keys as correlated subqueries, a keyset comparison
//! over up to [`MAX_SORT_KEYS`] keys), which the DSL could only express as boxed queries of per-shape
//! types; as text it is a few `push` calls. Values are never spliced into the text: each is bound
//! (`Sql::text`, `Sql::int`, `Sql::float`). The differences between the backends are markers replaced
//! just before a statement runs (`{COLLATE}`: bytewise text order on PostgreSQL; `{NOIDX}`: keeps SQLite
//! off an index; `FALSE` → `0` on SQLite). The statement then goes through diesel as a prepared statement
//! that the connection caches (see `sql::Prepared`), so a repeated search is not parsed and planned again.
//!
//! | module       | concept                                                                     |
//! |--------------|-----------------------------------------------------------------------------|
//! | this file    | the query model: [`Query`], [`Condition`], sort keys, cursor, hits          |
//! | `sql`        | SQL text with bound values, and running it (prepared, cached, bind limit)   |
//! | `conditions` | the WHERE clause: groups, which group drives, nesting (chains, `_has`, …)   |
//! | `params`     | one condition on one index table, per search parameter type                 |
//! | `page`       | sort keys, the keyset cursor, one page ([`find`]) and the total ([`count`]) |
//! | `includes`   | `_include` and `_revinclude` lookups, in chunks                             |
//! | `explain`    | the database's plan for a search ([`explain`])                              |

mod conditions;
mod explain;
mod includes;
mod page;
mod params;
mod sql;

pub use explain::explain;
pub use includes::{references_from, referencing};
pub use page::{count, find};
pub use sql::MAX_BINDS;

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
    Token {
        param: String,
        system: Option<Option<String>>,
        code: Option<String>,
        negate: bool,
    },
    TokenText {
        param: String,
        text: String,
    },
    String {
        param: String,
        value: StringMatch,
    },
    /// Index row `[low, high]` must satisfy `op` against the query range `[low, high]`.
    Date {
        param: String,
        op: RangeOp,
        low: i64,
        high: i64,
    },
    Reference {
        param: String,
        target_type: Option<String>,
        target_id: Option<String>,
        url: Option<String>,
    },
    Quantity {
        param: String,
        op: RangeOp,
        low: f64,
        high: f64,
        system: Option<String>,
        code: Option<String>,
    },
    Number {
        param: String,
        op: RangeOp,
        low: f64,
        high: f64,
    },
    Uri {
        param: String,
        value: String,
        below: bool,
    },
    /// `:missing=true|false` on any indexed parameter; `table` names the index table.
    Missing {
        param: String,
        table: IndexTable,
        missing: bool,
    },
    /// Resource is in this patient's compartment.
    Compartment(String),
    /// The resource is of one of these types (for mixed-type searches).
    Types(Vec<String>),
    /// Conditions that apply only to resources of `res_type` (others pass), e.g. one type's granular
    /// scope filter in a search over several types.
    OnlyFor {
        res_type: String,
        all_of: Vec<Vec<Condition>>,
    },
    /// Chained search: the reference `param` points at a `target_type` resource matching `inner`.
    Chain {
        param: String,
        target_type: String,
        inner: Vec<Vec<Condition>>,
    },
    /// Reverse chaining (`_has`): some `source_type` resource whose reference `param` points at this
    /// resource matches `inner`.
    Has {
        source_type: String,
        param: String,
        inner: Vec<Vec<Condition>>,
    },
    /// Every group holds (AND of ORs), so that a group of several `All`s is an OR of conjunctions: a
    /// token whose scopes reach a type in several ways.
    All(Vec<Vec<Condition>>),
    /// The reference parameter `param` (any reference parameter when None) points at one of `targets`
    /// (`(type, id)`), for `_revinclude`.
    RefersTo {
        param: Option<String>,
        targets: Vec<(String, String)>,
    },
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
    /// ge: vh > qh, or the value range is inside the query range.
    Ge,
    Le,
    /// sa: starts after the query range (vl > qh).
    Sa,
    /// eb: ends before the query range (vh < ql).
    Eb,
    /// ap: overlaps (approximately).
    Ap,
}

/// What a sort key reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortSource {
    Date,
    String,
    Token,
    Number,
    Quantity,
    LastUpdated,
    Id,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub source: SortSource,
    pub param: String,
    pub desc: bool,
}

/// A sort key's value for one row (also what a cursor carries).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Int(i64),
    Float(f64),
    Text(String),
}

/// Where the next page starts: after the row with these sort-key values and sequence number.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct After {
    pub keys: Vec<KeyValue>,
    pub seq: i64,
}

/// One match: its sequence number and sort-key values.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub seq: i64,
    pub keys: Vec<KeyValue>,
}

/// The most sort keys one search may use.
pub const MAX_SORT_KEYS: usize = 3;

/// A whole query: conditions are AND-ed groups of OR-ed alternatives.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// One type, or several for a system-level search with `_type`.
    pub res_types: Vec<String>,
    pub all_of: Vec<Vec<Condition>>,
    pub sort: Vec<SortKey>,
    /// Keyset cursor.
    pub after: Option<After>,
    pub limit: i64,
}
