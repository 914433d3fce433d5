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

/// The most values one statement binds. SQLite allows 32766, PostgreSQL 65535; the search limits
/// (values per parameter, parameters per search) keep a statement far below this, and lists that
/// grow with the page size are sent in chunks of [`CHUNK`], so this is a last guard that turns a
/// statement the database would refuse into a 400 naming the limit.
pub const MAX_BINDS: usize = 30_000;

/// How many ids one statement lists in an `IN (…)` (include and revinclude lookups run per chunk).
const CHUNK: usize = 500;

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

macro_rules! run_sql {
    ($conn:expr, $sql:expr, $row:ty) => {{
        let sql: &Sql = $sql;
        if sql.binds.len() > MAX_BINDS {
            return Err(super::StoreError::TooComplex(format!(
                "the search needs {} values in one database statement, more than the limit of {MAX_BINDS}; \
                 use fewer search values",
                sql.binds.len()
            )));
        }
        match $conn {
            AnyConnection::Postgresql(c) => {
                let text = sql.text.replace("{COLLATE}", " COLLATE \"C\"").replace("{NOIDX}", "");
                Prepared::new(&text, &sql.binds).load::<$row>(c)
            }
            AnyConnection::Sqlite(c) => {
                let text = sql.text.replace("FALSE", "0").replace("{COLLATE}", "").replace("{NOIDX}", "+");
                Prepared::new(&text, &sql.binds).load::<$row>(c)
            }
        }
    }};
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

fn bind(sql: &mut Sql, v: &Bind) {
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

/// Appends `{alias}.seq IN (…)` (or the negation) for one condition on resources of `types`.
///
/// `probe` chooses the shape: `false` gives `seq IN (SELECT res_seq …)`, which lets the database
/// drive the query from that index; `true` gives a correlated `EXISTS (… WHERE res_seq = seq …)`,
/// checked per candidate row through the `res_seq` indexes. One group drives, the others probe.
fn condition(sql: &mut Sql, alias: &str, types: &[String], c: &Condition, probe: bool) {
    let sub = |sql: &mut Sql, table: &str, param: &str| {
        if probe {
            // `{NOIDX}` keeps SQLite off the (res_type, param, …) index for a probe: without statistics
            // it would prefer it to the res_seq index and scan every row of the parameter.
            sql.push(&format!("EXISTS (SELECT 1 FROM {table} WHERE res_seq = {alias}.seq AND "));
            type_filter(sql, "{NOIDX}res_type", types);
        } else {
            sql.push(&format!("{alias}.seq IN (SELECT res_seq FROM {table} WHERE "));
            type_filter(sql, "res_type", types);
        }
        sql.push(" AND param = ").text(param);
    };
    match c {
        Condition::Id(id) => {
            sql.push(&format!("{alias}.res_id = ")).text(id);
        }
        Condition::Compartment(p) => {
            if probe {
                sql.push(&format!("EXISTS (SELECT 1 FROM compartment WHERE res_seq = {alias}.seq AND patient_id = "))
                    .text(p)
                    .push(")");
            } else {
                sql.push(&format!("{alias}.seq IN (SELECT res_seq FROM compartment WHERE patient_id = "))
                    .text(p)
                    .push(")");
            }
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
        Condition::Date { param, op, low, high } => {
            let (negate, op) = split_ne(*op);
            if negate {
                sql.push("NOT ");
            }
            sub(sql, "idx_date", param);
            sql.push(" AND ");
            range(sql, op, "low", "high", Bind::Int(*low), Bind::Int(*high));
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
            let (negate, op) = split_ne(*op);
            if negate {
                sql.push("NOT ");
            }
            sub(sql, "idx_quantity", param);
            sql.push(" AND ");
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
            let (negate, op) = split_ne(*op);
            if negate {
                sql.push("NOT ");
            }
            sub(sql, "idx_number", param);
            sql.push(" AND ");
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
        Condition::Types(ts) => {
            type_filter(sql, &format!("{alias}.res_type"), ts);
        }
        Condition::OnlyFor { res_type, all_of } => {
            sql.push(&format!("({alias}.res_type <> ")).text(res_type).push(" OR (1 = 1 AND ");
            let groups: Vec<&Vec<Condition>> = all_of.iter().filter(|g| !g.is_empty()).collect();
            if groups.is_empty() {
                sql.push("1 = 1");
            }
            balanced(sql, groups.as_slice(), " AND ", &mut |sql, group| {
                balanced(sql, group.as_slice(), " OR ", &mut |sql, c| {
                    condition(sql, alias, std::slice::from_ref(res_type), c, true)
                })
            });
            sql.push("))");
        }
        Condition::All(all_of) => {
            sql.push("(1 = 1");
            for group in all_of.iter().filter(|g| !g.is_empty()) {
                sql.push(" AND (");
                for (i, c) in group.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    sql.push("(");
                    condition(sql, alias, types, c, true);
                    sql.push(")");
                }
                sql.push(")");
            }
            sql.push(")");
        }
        Condition::RefersTo { param, targets } => {
            if probe {
                sql.push(&format!("EXISTS (SELECT 1 FROM idx_reference WHERE res_seq = {alias}.seq AND "));
            } else {
                sql.push(&format!("{alias}.seq IN (SELECT res_seq FROM idx_reference WHERE "));
            }
            if let Some(p) = param {
                sql.push("param = ").text(p).push(" AND ");
            }
            sql.push("(");
            for (i, (t, id)) in targets.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("(target_type = ").text(t).push(" AND target_id = ").text(id).push(")");
            }
            if targets.is_empty() {
                sql.push("1 = 0");
            }
            sql.push("))");
        }
        Condition::Chain { param, target_type, inner } => {
            sub(sql, "idx_reference", param);
            sql.push(" AND target_type = ").text(target_type);
            let inner_alias = format!("{alias}c");
            sql.push(&format!(" AND target_id IN (SELECT {inner_alias}.res_id FROM resources {inner_alias} WHERE "));
            conditions(sql, &inner_alias, std::slice::from_ref(target_type), inner);
            sql.push("))");
        }
        Condition::Has { source_type, param, inner } => {
            let inner_alias = format!("{alias}h");
            sql.push(&format!("{alias}.res_id IN (SELECT hr.target_id FROM idx_reference hr JOIN resources {inner_alias} ON {inner_alias}.seq = hr.res_seq WHERE hr.res_type = "));
            sql.text(source_type).push(" AND hr.param = ").text(param).push(" AND ");
            type_filter(sql, "hr.target_type", types);
            sql.push(" AND ");
            conditions(sql, &inner_alias, std::slice::from_ref(source_type), inner);
            sql.push(")");
        }
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

/// `column = ?` or `column IN (?, ?)`.
fn type_filter(sql: &mut Sql, column: &str, types: &[String]) {
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

/// `{alias}` rows of `types` that are current and satisfy every group.
/// How narrow a condition usually is (lower = fewer matches), to pick the group that drives a query.
fn narrowness(c: &Condition) -> u8 {
    match c {
        Condition::Id(_) => 0,
        Condition::Reference { target_id: Some(_), .. } => 1,
        Condition::Compartment(_) => 2,
        Condition::Token { param, negate: false, code: Some(_), .. } if param == "identifier" => 1,
        Condition::String { value: StringMatch::Exact(_), .. } => 3,
        Condition::Token { negate: false, code: Some(_), system: Some(Some(_)), .. } => 4,
        Condition::String { .. } => 5,
        Condition::Token { negate: false, code: Some(_), .. } => 6,
        Condition::RefersTo { .. } => 1,
        Condition::Chain { .. } | Condition::Has { .. } | Condition::All(_) => 7,
        Condition::Date { .. } | Condition::Quantity { .. } | Condition::Number { .. } | Condition::Uri { .. } => 8,
        _ => 9,
    }
}

/// `{alias}` rows of `types` that are current and satisfy every group. The narrowest group drives
/// (IN over its index); the others are probed per candidate (EXISTS), so a broad condition such as
/// `category=vital-signs` costs one index probe per candidate instead of listing all its matches.
fn conditions(sql: &mut Sql, alias: &str, types: &[String], all_of: &[Vec<Condition>]) {
    type_filter(sql, &format!("{alias}.res_type"), types);
    sql.push(&format!(" AND {alias}.deleted = FALSE"));
    let group_narrowness = |g: &Vec<Condition>| g.iter().map(narrowness).max().unwrap_or(9);
    let driver = all_of
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.is_empty())
        .min_by_key(|(_, g)| group_narrowness(g))
        .map(|(i, _)| i);
    let groups: Vec<(usize, &Vec<Condition>)> = all_of.iter().enumerate().filter(|(_, g)| !g.is_empty()).collect();
    if groups.is_empty() {
        return;
    }
    sql.push(" AND ");
    balanced(sql, groups.as_slice(), " AND ", &mut |sql, (gi, group)| {
        let probe = Some(*gi) != driver;
        balanced(sql, group.as_slice(), " OR ", &mut |sql, c| condition(sql, alias, types, c, probe))
    });
}

/// Appends `items` joined by `op` as a balanced tree of parenthesised halves, so the depth of the
/// expression the database parses grows with log2 of the number of items, not with the number: a
/// flat `a OR b OR c …` is a left-deep tree, and SQLite refuses expressions deeper than 1000 (an OR
/// of a thousand values, or an `_revinclude` over a full page, was a 500).
fn balanced<T>(sql: &mut Sql, items: &[T], op: &str, each: &mut dyn FnMut(&mut Sql, &T)) {
    match items {
        [] => {}
        [one] => {
            sql.push("(");
            each(sql, one);
            sql.push(")");
        }
        _ => {
            let (a, b) = items.split_at(items.len() / 2);
            sql.push("(");
            balanced(sql, a, op, each);
            sql.push(op);
            balanced(sql, b, op, each);
            sql.push(")");
        }
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn where_clause(q: &Query) -> Sql {
    let mut sql = Sql::default();
    sql.push(" FROM resources r WHERE ");
    conditions(&mut sql, "r", &q.res_types, &q.all_of);
    sql
}

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
        keyset(&mut sql, &sort, &kinds, after);
    }
    sql.push(" ORDER BY ");
    for (i, k) in sort.iter().enumerate() {
        let c = if kinds.get(i) == Some(&KeyKind::Text) { "{COLLATE}" } else { "" };
        sql.push(&format!("k{i}{c} {}, ", if k.desc { "DESC" } else { "ASC" }));
    }
    sql.push("seq ASC LIMIT ").int(q.limit);
    for slot in 0..MAX_SORT_KEYS {
        let (i, f, t) = match kinds.get(slot) {
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
        };
        sql.text = sql
            .text
            .replace(&format!("{{I{slot}}}"), &i)
            .replace(&format!("{{F{slot}}}"), &f)
            .replace(&format!("{{T{slot}}}"), &t);
    }
    let rows = run_sql!(conn, &sql, HitRow)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let slots = [(r.i0, r.f0, r.t0), (r.i1, r.f1, r.t1), (r.i2, r.f2, r.t2)];
            let keys = slots
                .into_iter()
                .take(kinds.len())
                .map(|(i, f, t)| match (i, f, t) {
                    (Some(i), _, _) => KeyValue::Int(i),
                    (_, Some(f), _) => KeyValue::Float(f),
                    (_, _, Some(t)) => KeyValue::Text(t),
                    _ => KeyValue::Text(String::new()),
                })
                .collect();
            Hit { seq: r.seq, keys }
        })
        .collect())
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
        for r in run_sql!(&mut *conn, &sql, RefRow)? {
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
            found.extend(run_sql!(&mut *conn, &sql, SeqRow)?.into_iter().map(|r| r.seq));
        }
    }
    Ok(found.into_iter().take(usize::try_from(limit).unwrap_or(0)).collect())
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
