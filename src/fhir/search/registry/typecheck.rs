//! Static check of search-parameter expressions against the R4 element types
//! (`conformance/element-types.json`): which FHIR types can an expression reach, and can write-time
//! extraction index every one of them for the parameter's type? A parameter that fails is not indexed and
//! not advertised (see [`crate::fhir::search::registry::SearchParam::is_indexed`]), so no index is
//! silently wrong: e.g. R4's `Bundle.composition` (`Bundle.entry[0].resource`, a whole resource where a
//! reference search expects a Reference).

use std::collections::HashMap;

use super::ParamType;
use crate::fhir::search::fhirpath::Expr;

/// Structure name → element name → FHIR type (with a `[]` suffix when it repeats).
pub type ElementTable = HashMap<String, HashMap<String, String>>;

/// The FHIR types `kind` can be indexed from (what [`crate::fhir::search::extract`] turns into rows).
fn indexable(kind: ParamType, ty: &str) -> bool {
    match kind {
        ParamType::Reference => matches!(ty, "Reference" | "canonical" | "uri" | "url"),
        ParamType::Token => matches!(
            ty,
            "code"
                | "Coding"
                | "CodeableConcept"
                | "Identifier"
                | "ContactPoint"
                | "boolean"
                | "string"
                | "id"
                | "uri"
                | "url"
                | "canonical"
                | "oid"
                | "uuid"
                | "integer"
                | "positiveInt"
                | "unsignedInt"
        ),
        ParamType::String => matches!(ty, "string" | "markdown" | "HumanName" | "Address" | "code" | "id" | "uri"),
        ParamType::Date => matches!(ty, "date" | "dateTime" | "instant" | "Period" | "Timing"),
        ParamType::Quantity => {
            matches!(
                ty,
                "Quantity" | "Age" | "Count" | "Distance" | "Duration" | "SimpleQuantity" | "MoneyQuantity" | "Money"
            )
        }
        ParamType::Number => matches!(ty, "decimal" | "integer" | "positiveInt" | "unsignedInt"),
        ParamType::Uri => matches!(ty, "uri" | "url" | "canonical" | "oid" | "uuid"),
        // Composite rows come from their parts; special parameters are never indexed.
        ParamType::Composite | ParamType::Special => true,
    }
}

/// Choice-element alternatives that a parameter of type `kind` reaches in the official expressions but that
/// carry no value of that kind: free-text or ranged alternatives of a date (`Procedure.performedString`,
/// `performedAge`, `performedRange`), a `Range` or `SampledData` where a quantity or number is searched
/// (`Condition.onsetRange`, `Observation.valueSampledData`), an `Attachment` where a reference is
/// (`Consent.sourceAttachment`). They are not indexed, so a search never matches them; this is listed with
/// the parameter in docs/search-parameters.md instead of failing the whole parameter.
fn never_matched(kind: ParamType, ty: &str) -> bool {
    match kind {
        ParamType::Date => matches!(ty, "string" | "Age" | "Range"),
        ParamType::Quantity | ParamType::Number => matches!(ty, "Range" | "SampledData"),
        ParamType::Reference => ty == "Attachment",
        _ => false,
    }
}

/// The outcome of checking one parameter's expression.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Check {
    /// Why it cannot be indexed correctly (then it is not indexed at all).
    pub problem: Option<String>,
    /// Choice alternatives it reaches that are never matched (see [`never_matched`]), sorted.
    pub never_matched: Vec<String>,
}

/// Check `expr` (a parameter of type `kind` on `resource_type`). Unknown structures (a table without the
/// type) are not judged.
pub fn check(table: &ElementTable, resource_type: &str, kind: ParamType, expr: &Expr) -> Check {
    if !table.contains_key(resource_type) {
        return Check::default();
    }
    let types = match reach(table, expr, &[resource_type.to_string()], true) {
        Ok(t) => t,
        Err(e) => return Check { problem: Some(e), never_matched: Vec::new() },
    };
    if kind == ParamType::Composite {
        return Check::default();
    }
    let mut bad: Vec<&str> = types.iter().map(String::as_str).filter(|t| !indexable(kind, t)).collect();
    bad.sort_unstable();
    bad.dedup();
    let (skipped, bad): (Vec<&str>, Vec<&str>) = bad.into_iter().partition(|t| never_matched(kind, t));
    if !bad.is_empty() {
        let problem = format!("reaches {} where a {} parameter needs another type", bad.join(", "), kind.as_code());
        return Check { problem: Some(problem), never_matched: Vec::new() };
    }
    Check { problem: None, never_matched: skipped.into_iter().map(str::to_string).collect() }
}

/// Why a composite part's expression (relative to the composite's items, of `focus` types) cannot be
/// indexed as `kind`.
pub fn part_problem(table: &ElementTable, focus: &[String], kind: ParamType, expr: &Expr) -> Option<String> {
    match reach(table, expr, focus, false) {
        Err(e) => Some(e),
        Ok(types) => {
            let bad: Vec<&str> = types.iter().map(String::as_str).filter(|t| !indexable(kind, t)).collect();
            (!bad.is_empty()).then(|| format!("part reaches {}", bad.join(", ")))
        }
    }
}

/// The types a composite's own expression reaches (the focus of its parts).
pub fn composite_focus(table: &ElementTable, resource_type: &str, expr: &Expr) -> Result<Vec<String>, String> {
    reach(table, expr, &[resource_type.to_string()], true)
}

fn bare(t: &str) -> &str {
    t.strip_suffix("[]").unwrap_or(t)
}

const QUANTITY_KINDS: &[&str] = &["Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"];

fn is_type(actual: &str, wanted: &str) -> bool {
    actual.eq_ignore_ascii_case(wanted)
        || (wanted.eq_ignore_ascii_case("Quantity") && QUANTITY_KINDS.contains(&actual))
        || ((wanted == "Resource" || wanted == "DomainResource") && actual == "Resource")
}

/// The FHIR types `expr` can reach from `focus` (without `[]`). `root`: the focus is the resource itself,
/// so a leading type name selects it.
fn reach(table: &ElementTable, expr: &Expr, focus: &[String], root: bool) -> Result<Vec<String>, String> {
    let out = match expr {
        Expr::This => focus.to_vec(),
        Expr::Member(base, name) => {
            let at_root = root && **base == Expr::This;
            if at_root && name.starts_with(|c: char| c.is_ascii_uppercase()) {
                let keep: Vec<String> = focus
                    .iter()
                    .filter(|t| *t == name || name == "Resource" || name == "DomainResource")
                    .cloned()
                    .collect();
                if keep.is_empty() {
                    return Err(format!("{name} is not the resource's type"));
                }
                return Ok(keep);
            }
            let from = reach(table, base, focus, root)?;
            // Over several possible types (a choice such as Extension.value[x]) navigation keeps the
            // types that have the element: an error only when none has it.
            let mut out = Vec::new();
            let mut first_error = None;
            for t in &from {
                match children(table, t, name) {
                    Ok(c) => out.extend(c),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            match first_error {
                Some(e) if out.is_empty() => return Err(e),
                _ => out,
            }
        }
        Expr::Literal(v) => vec![match v {
            serde_json::Value::Bool(_) => "boolean".to_string(),
            serde_json::Value::Number(_) => "decimal".to_string(),
            _ => "string".to_string(),
        }],
        Expr::Union(parts) => {
            let mut out = Vec::new();
            for p in parts {
                out.extend(reach(table, p, focus, root)?);
            }
            out
        }
        Expr::As(base, ty) => {
            let from = reach(table, base, focus, root)?;
            let keep: Vec<String> = from.into_iter().filter(|t| is_type(t, ty)).collect();
            if keep.is_empty() {
                return Err(format!("`as {ty}` never matches"));
            }
            keep
        }
        Expr::Where(base, criteria) => {
            let from = reach(table, base, focus, root)?;
            reach(table, criteria, &from, false)?;
            from
        }
        Expr::First(b) | Expr::Last(b) | Expr::Index(b, _) => reach(table, b, focus, root)?,
        Expr::Extension(b, _) => {
            reach(table, b, focus, root)?;
            vec!["Extension".to_string()]
        }
        Expr::ResolveIs(b, _) => {
            let from = reach(table, b, focus, root)?;
            if let Some(t) = from.iter().find(|t| !matches!(t.as_str(), "Reference" | "canonical" | "uri")) {
                return Err(format!("resolve() on a {t}"));
            }
            vec!["boolean".to_string()]
        }
        Expr::Is(b, _) | Expr::Empty(b) | Expr::Not(b) => {
            reach(table, b, focus, root)?;
            vec!["boolean".to_string()]
        }
        Expr::Exists(b, c) => {
            let from = reach(table, b, focus, root)?;
            if let Some(c) = c {
                reach(table, c, &from, false)?;
            }
            vec!["boolean".to_string()]
        }
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Xor(a, b) | Expr::Equals { left: a, right: b, .. } => {
            reach(table, a, focus, root)?;
            reach(table, b, focus, root)?;
            vec!["boolean".to_string()]
        }
        Expr::Unsupported(what) => return Err(format!("{what} is outside the FHIRPath subset")),
    };
    Ok(out)
}

/// The types of element `name` of structure `ty` (choice elements expanded).
fn children(table: &ElementTable, ty: &str, name: &str) -> Result<Vec<String>, String> {
    if ty == "Resource" {
        return Err(format!("`{name}` of an inline resource (its type is not known)"));
    }
    let Some(elements) = table.get(ty) else {
        // A primitive: only `id` / `extension` / `value` would be children.
        return Err(format!("{ty} has no element {name}"));
    };
    if let Some(t) = elements.get(name) {
        return Ok(vec![bare(t).to_string()]);
    }
    // A choice element `name[x]`: `valueQuantity` (Quantity), `valueString` (string), …
    let mut out: Vec<String> = elements
        .iter()
        .filter_map(|(k, t)| {
            let rest = k.strip_prefix(name)?;
            let t = bare(t);
            let lower_first = rest.get(..1).map(|c| c.to_ascii_lowercase() + rest.get(1..).unwrap_or_default());
            (rest.starts_with(|c: char| c.is_ascii_uppercase()) && (t == rest || lower_first.as_deref() == Some(t)))
                .then(|| t.to_string())
        })
        .collect();
    if out.is_empty() {
        return Err(format!("{ty} has no element {name}"));
    }
    out.sort();
    Ok(out)
}
