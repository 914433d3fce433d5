//! Search conditions evaluated against one resource's index rows in memory, with the same meaning as
//! the SQL `store::search` builds. Used where a version has no index rows in the database: older
//! versions (vread, history) and a version about to be written, checked against a token's granular
//! scopes (`patient/Observation.rs?category=…`).
//!
//! Conditions that reach other resources (chains, `_has`, `_revinclude` targets) cannot be decided
//! from one resource's rows; they evaluate to `false`, so an access check that uses them denies.

use crate::store::index::IndexRows;
use crate::store::search::{Condition, RangeOp, StringMatch};

/// Does a resource (`res_type/id` with `rows`) satisfy every group (each an OR of conditions)?
pub fn matches_all(res_type: &str, id: &str, rows: &IndexRows, all_of: &[Vec<Condition>]) -> bool {
    all_of.iter().all(|group| group.is_empty() || group.iter().any(|c| matches(res_type, id, rows, c)))
}

fn in_range(op: RangeOp, lo: f64, hi: f64, ql: f64, qh: f64) -> bool {
    let inside = lo >= ql && hi <= qh;
    match op {
        RangeOp::Eq => inside,
        RangeOp::Ne => !inside,
        RangeOp::Gt => hi > qh,
        RangeOp::Lt => lo < ql,
        RangeOp::Ge => hi > qh || inside,
        RangeOp::Le => lo < ql || inside,
        RangeOp::Sa => lo > qh,
        RangeOp::Eb => hi < ql,
        RangeOp::Ap => lo <= qh && hi >= ql,
    }
}

/// `ne` means "no value is `eq`" (as in SQL): returns (negate, op).
fn split_ne(op: RangeOp) -> (bool, RangeOp) {
    if op == RangeOp::Ne {
        (true, RangeOp::Eq)
    } else {
        (false, op)
    }
}

fn matches(res_type: &str, id: &str, rows: &IndexRows, c: &Condition) -> bool {
    match c {
        Condition::Id(want) => want == id,
        Condition::Compartment(p) => rows.compartment.iter().any(|x| x == p),
        Condition::Types(ts) => ts.iter().any(|t| t == res_type),
        Condition::OnlyFor { res_type: t, all_of } => t != res_type || matches_all(res_type, id, rows, all_of),
        Condition::All(all_of) => matches_all(res_type, id, rows, all_of),
        Condition::Token { param, system, code, negate } => {
            let hit = rows.tokens.iter().any(|r| {
                r.param == *param
                    && code.as_ref().is_none_or(|c| r.code.as_ref() == Some(c))
                    && match system {
                        None => true,
                        Some(None) => r.system.is_none(),
                        Some(Some(s)) => r.system.as_ref() == Some(s),
                    }
            });
            hit != *negate
        }
        Condition::TokenText { param, text } => {
            let want = text.to_lowercase();
            rows.tokens
                .iter()
                .any(|r| r.param == *param && r.text.as_ref().is_some_and(|t| t.to_lowercase().contains(&want)))
        }
        Condition::String { param, value } => rows.strings.iter().any(|r| {
            r.param == *param
                && match value {
                    StringMatch::StartsWith(v) => r.norm.starts_with(v.as_str()),
                    StringMatch::Contains(v) => r.norm.contains(v.as_str()),
                    StringMatch::Exact(v) => r.value == *v,
                }
        }),
        Condition::Date { param, op, low, high } => {
            let (negate, op) = split_ne(*op);
            let hit = rows
                .dates
                .iter()
                .any(|r| r.param == *param && in_range(op, r.low as f64, r.high as f64, *low as f64, *high as f64));
            // Dates are compared as integers in SQL; milliseconds fit f64 exactly.
            hit != negate
        }
        Condition::Reference { param, target_type, target_id, url } => rows.references.iter().any(|r| {
            r.param == *param
                && target_id.as_ref().is_none_or(|t| r.target_id.as_ref() == Some(t))
                && target_type.as_ref().is_none_or(|t| r.target_type.as_ref() == Some(t))
                && url.as_ref().is_none_or(|u| r.url == *u)
        }),
        Condition::Quantity { param, op, low, high, system, code } => {
            let (negate, op) = split_ne(*op);
            let hit = rows.quantities.iter().any(|r| {
                r.param == *param
                    && in_range(op, r.num, r.num, *low, *high)
                    && system.as_ref().is_none_or(|s| r.system.as_ref() == Some(s))
                    && code.as_ref().is_none_or(|c| r.code.as_ref() == Some(c) || r.unit.as_ref() == Some(c))
            });
            hit != negate
        }
        Condition::Number { param, op, low, high } => {
            let (negate, op) = split_ne(*op);
            let hit = rows.numbers.iter().any(|r| r.param == *param && in_range(op, r.num, r.num, *low, *high));
            hit != negate
        }
        Condition::Uri { param, value, below } => rows
            .uris
            .iter()
            .any(|r| r.param == *param && if *below { r.value.starts_with(value.as_str()) } else { r.value == *value }),
        Condition::Missing { param, table, missing } => {
            use crate::store::search::IndexTable as T;
            let present = match table {
                T::String => rows.strings.iter().any(|r| r.param == *param),
                T::Token => rows.tokens.iter().any(|r| r.param == *param),
                T::Date => rows.dates.iter().any(|r| r.param == *param),
                T::Reference => rows.references.iter().any(|r| r.param == *param),
                T::Quantity => rows.quantities.iter().any(|r| r.param == *param),
                T::Number => rows.numbers.iter().any(|r| r.param == *param),
                T::Uri => rows.uris.iter().any(|r| r.param == *param),
            };
            present != *missing
        }
        // They depend on other resources: never granted from one resource's rows.
        Condition::Chain { .. } | Condition::Has { .. } | Condition::RefersTo { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::index::{ReferenceRow, TokenRow};

    fn rows() -> IndexRows {
        IndexRows {
            compartment: vec!["a".into()],
            tokens: vec![TokenRow {
                param: "category".into(),
                system: Some("http://terminology.hl7.org/CodeSystem/observation-category".into()),
                code: Some("laboratory".into()),
                text: Some("Laboratory".into()),
            }],
            references: vec![ReferenceRow {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some("a".into()),
                url: "Patient/a".into(),
            }],
            ..Default::default()
        }
    }

    fn token(code: &str, negate: bool) -> Condition {
        Condition::Token { param: "category".into(), system: None, code: Some(code.into()), negate }
    }

    #[test]
    fn tokens_and_negation() {
        let r = rows();
        assert!(matches_all("Observation", "1", &r, &[vec![token("laboratory", false)]]));
        assert!(!matches_all("Observation", "1", &r, &[vec![token("vital-signs", false)]]));
        assert!(matches_all("Observation", "1", &r, &[vec![token("vital-signs", true)]]));
        assert!(!matches_all("Observation", "1", &r, &[vec![token("laboratory", true)]]));
        // OR inside a group, AND across groups.
        assert!(matches_all(
            "Observation",
            "1",
            &r,
            &[vec![token("vital-signs", false), token("laboratory", false)], vec![Condition::Compartment("a".into())]]
        ));
        assert!(!matches_all(
            "Observation",
            "1",
            &r,
            &[vec![token("laboratory", false)], vec![Condition::Compartment("b".into())]]
        ));
    }

    #[test]
    fn references_and_cross_resource_conditions() {
        let r = rows();
        let refc = |id: &str| Condition::Reference {
            param: "subject".into(),
            target_type: Some("Patient".into()),
            target_id: Some(id.into()),
            url: None,
        };
        assert!(matches_all("Observation", "1", &r, &[vec![refc("a")]]));
        assert!(!matches_all("Observation", "1", &r, &[vec![refc("b")]]));
        let chain = Condition::Chain { param: "subject".into(), target_type: "Patient".into(), inner: vec![] };
        assert!(!matches_all("Observation", "1", &r, &[vec![chain]]));
    }

    #[test]
    fn ranges_follow_the_search_prefixes() {
        assert!(in_range(RangeOp::Eq, 5.0, 6.0, 0.0, 10.0));
        assert!(!in_range(RangeOp::Eq, 5.0, 16.0, 0.0, 10.0));
        assert!(in_range(RangeOp::Gt, 5.0, 16.0, 0.0, 10.0));
        assert!(in_range(RangeOp::Ap, 9.0, 16.0, 0.0, 10.0));
        assert!(in_range(RangeOp::Eb, 1.0, 2.0, 5.0, 10.0));
        assert!(in_range(RangeOp::Sa, 11.0, 12.0, 5.0, 10.0));
    }
}
