//! The WHERE clause of a search: the resources of the asked types that are current and satisfy every
//! group of conditions. Which group drives the query and which are probed per candidate, the balanced
//! AND/OR trees, and the conditions that hold other conditions (granular scopes per type, chains,
//! `_has`) or read the compartment and reference tables directly. Conditions on one parameter's index
//! table are in `params`.

use super::params;
use super::sql::{type_filter, Sql};
use super::{Condition, Query, StringMatch};

/// Where a condition is tested: the `resources` rows named `alias`, of resources of `types`, and how.
///
/// `probe` chooses the shape: `false` gives `seq IN (SELECT res_seq …)`, which lets the database
/// drive the query from that index; `true` gives a correlated `EXISTS (… WHERE res_seq = seq …)`,
/// checked per candidate row through the `res_seq` indexes. One group drives, the others probe.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub alias: &'a str,
    pub types: &'a [String],
    pub probe: bool,
}

impl At<'_> {
    /// Opens the subquery over the rows of index `table` for `param` (`… IN (SELECT res_seq FROM …` or
    /// `EXISTS (SELECT 1 FROM …`, with the type and parameter tests); the caller appends the tests on
    /// the value columns and the closing `)`.
    pub(super) fn index_rows(&self, sql: &mut Sql, table: &str, param: &str) {
        let (alias, types) = (self.alias, self.types);
        if self.probe {
            // `{NOIDX}` keeps SQLite off the (res_type, param, …) index for a probe: without statistics
            // it would prefer it to the res_seq index and scan every row of the parameter.
            sql.push(&format!("EXISTS (SELECT 1 FROM {table} WHERE res_seq = {alias}.seq AND "));
            type_filter(sql, "{NOIDX}res_type", types);
        } else {
            sql.push(&format!("{alias}.seq IN (SELECT res_seq FROM {table} WHERE "));
            type_filter(sql, "res_type", types);
        }
        sql.push(" AND param = ").text(param);
    }
}

/// ` FROM resources r WHERE …` for the query's types and conditions.
pub(super) fn where_clause(q: &Query) -> Sql {
    let mut sql = Sql::default();
    sql.push(" FROM resources r WHERE ");
    conditions(&mut sql, "r", &q.res_types, &q.all_of);
    sql
}

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

/// Appends the test of one condition on `{alias}` rows of resources of `types`, driving (`IN`) or
/// probing (`EXISTS`) as `probe` says (see [`At`]).
fn condition(sql: &mut Sql, alias: &str, types: &[String], c: &Condition, probe: bool) {
    let at = At { alias, types, probe };
    match c {
        Condition::Id(id) => {
            sql.push(&format!("{alias}.res_id = ")).text(id);
        }
        Condition::Compartment(p) => compartment(sql, at, p),
        Condition::Token { param, system, code, negate } => params::token(sql, at, param, system, code, *negate),
        Condition::TokenText { param, text } => params::token_text(sql, at, param, text),
        Condition::String { param, value } => params::string(sql, at, param, value),
        Condition::Date { param, op, low, high } => params::date(sql, at, param, *op, *low, *high),
        Condition::Reference { param, target_type, target_id, url } => {
            params::reference(sql, at, param, target_type, target_id, url)
        }
        Condition::Quantity { param, op, low, high, system, code } => {
            params::quantity(sql, at, param, *op, (*low, *high), system, code)
        }
        Condition::Number { param, op, low, high } => params::number(sql, at, param, *op, *low, *high),
        Condition::Uri { param, value, below } => params::uri(sql, at, param, value, *below),
        Condition::Missing { param, table, missing } => params::missing(sql, at, param, *table, *missing),
        Condition::Types(ts) => {
            type_filter(sql, &format!("{alias}.res_type"), ts);
        }
        Condition::OnlyFor { res_type, all_of } => only_for(sql, alias, res_type, all_of),
        Condition::All(all_of) => all(sql, at, all_of),
        Condition::RefersTo { param, targets } => refers_to(sql, at, param.as_deref(), targets),
        Condition::Chain { param, target_type, inner } => chain(sql, at, param, target_type, inner),
        Condition::Has { source_type, param, inner } => has(sql, at, source_type, param, inner),
    }
}

/// The resource is in the compartment of patient `p`.
fn compartment(sql: &mut Sql, at: At<'_>, p: &str) {
    let alias = at.alias;
    if at.probe {
        sql.push(&format!("EXISTS (SELECT 1 FROM compartment WHERE res_seq = {alias}.seq AND patient_id = "))
            .text(p)
            .push(")");
    } else {
        sql.push(&format!("{alias}.seq IN (SELECT res_seq FROM compartment WHERE patient_id = ")).text(p).push(")");
    }
}

/// Resources of another type than `res_type` pass; those of `res_type` satisfy every group of `all_of`
/// (each condition probed).
fn only_for(sql: &mut Sql, alias: &str, res_type: &String, all_of: &[Vec<Condition>]) {
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

/// Every group of `all_of` holds (each condition probed).
fn all(sql: &mut Sql, at: At<'_>, all_of: &[Vec<Condition>]) {
    sql.push("(1 = 1");
    for group in all_of.iter().filter(|g| !g.is_empty()) {
        sql.push(" AND (");
        for (i, c) in group.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            condition(sql, at.alias, at.types, c, true);
            sql.push(")");
        }
        sql.push(")");
    }
    sql.push(")");
}

/// The reference parameter `param` (any when None) points at one of `targets` (`(type, id)`).
fn refers_to(sql: &mut Sql, at: At<'_>, param: Option<&str>, targets: &[(String, String)]) {
    let alias = at.alias;
    if at.probe {
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

/// Chained search: the reference `param` points at a `target_type` resource (alias `{alias}c`) that
/// matches `inner`.
fn chain(sql: &mut Sql, at: At<'_>, param: &str, target_type: &String, inner: &[Vec<Condition>]) {
    at.index_rows(sql, "idx_reference", param);
    sql.push(" AND target_type = ").text(target_type);
    let inner_alias = format!("{}c", at.alias);
    sql.push(&format!(" AND target_id IN (SELECT {inner_alias}.res_id FROM resources {inner_alias} WHERE "));
    conditions(sql, &inner_alias, std::slice::from_ref(target_type), inner);
    sql.push("))");
}

/// Reverse chaining (`_has`): a `source_type` resource (alias `{alias}h`) whose reference `param`
/// points at this resource matches `inner`.
fn has(sql: &mut Sql, at: At<'_>, source_type: &String, param: &str, inner: &[Vec<Condition>]) {
    let alias = at.alias;
    let inner_alias = format!("{alias}h");
    sql.push(&format!("{alias}.res_id IN (SELECT hr.target_id FROM idx_reference hr JOIN resources {inner_alias} ON {inner_alias}.seq = hr.res_seq WHERE hr.res_type = "));
    sql.text(source_type).push(" AND hr.param = ").text(param).push(" AND ");
    type_filter(sql, "hr.target_type", at.types);
    sql.push(" AND ");
    conditions(sql, &inner_alias, std::slice::from_ref(source_type), inner);
    sql.push(")");
}
