//! Evaluation of an [`Expr`] over FHIR JSON: each node maps the focus items to result items; anything
//! unsupported or absent gives the empty collection, and nothing panics.

use serde_json::Value;

use super::navigate::{member, type_matches};
use super::{Expr, Item};

/// Evaluate `expr` with `resource` as the context. Returns the matching items (empty for anything
/// unsupported or absent).
pub fn evaluate<'a>(expr: &'a Expr, resource: &'a Value) -> Vec<Item<'a>> {
    eval(expr, &[Item { value: resource, type_hint: None }])
}

/// Evaluate `expr` with an arbitrary focus (e.g. the parts of a composite search parameter, whose
/// component expressions are relative to the composite's base items).
pub fn evaluate_on<'a>(expr: &'a Expr, focus: &[Item<'a>]) -> Vec<Item<'a>> {
    eval(expr, focus)
}

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

/// A collection as a boolean: a single boolean is itself, any other single item is true; empty or
/// several items are `None` (FHIRPath's empty result).
fn truthy(items: &[Item<'_>]) -> Option<bool> {
    match items {
        [] => None,
        [one] => match one.value {
            Value::Bool(b) => Some(*b),
            _ => Some(true),
        },
        _ => None,
    }
}

/// A one-item collection holding `b`.
fn boolean<'a>(b: bool) -> Vec<Item<'a>> {
    vec![Item { value: if b { &TRUE } else { &FALSE }, type_hint: Some("boolean") }]
}

/// `=` on two items: numbers compare by value (`1.0 = 1`), everything else as JSON.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (xs, ys) = (x.to_string(), y.to_string());
            xs == ys || matches!((xs.parse::<f64>(), ys.parse::<f64>()), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

/// The items without repeats: the same JSON node twice, or equal scalars.
fn dedup<'a>(items: Vec<Item<'a>>) -> Vec<Item<'a>> {
    let mut out: Vec<Item<'a>> = Vec::with_capacity(items.len());
    for it in items {
        if !out.iter().any(|o| std::ptr::eq(o.value, it.value) || (is_scalar(o.value) && o.value == it.value)) {
            out.push(it);
        }
    }
    out
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

/// The resource type a Reference points to, from its `reference` text or its `type` element.
fn reference_type(v: &Value) -> Option<String> {
    let m = v.as_object()?;
    if let Some(Value::String(r)) = m.get("reference") {
        if let Some((t, _)) = crate::fhir::types::references::split_reference(r) {
            return Some(t.to_string());
        }
    }
    match m.get("type") {
        Some(Value::String(t)) => Some(t.rsplit('/').next().unwrap_or(t).to_string()),
        _ => None,
    }
}

/// The items `expr` selects from `focus`.
fn eval<'a>(expr: &'a Expr, focus: &[Item<'a>]) -> Vec<Item<'a>> {
    match expr {
        Expr::This => focus.to_vec(),
        Expr::Member(base, name) => member(&eval(base, focus), name),
        Expr::Literal(v) => vec![Item { value: v, type_hint: None }],
        Expr::Union(parts) => dedup(parts.iter().flat_map(|p| eval(p, focus)).collect()),
        Expr::As(base, ty) => eval(base, focus).into_iter().filter(|i| type_matches(i, ty)).collect(),
        Expr::Is(base, ty) => match eval(base, focus).as_slice() {
            [one] => boolean(type_matches(one, ty)),
            _ => Vec::new(),
        },
        Expr::Where(base, crit) => eval(base, focus)
            .into_iter()
            .filter(|i| truthy(&eval(crit, std::slice::from_ref(i))) == Some(true))
            .collect(),
        Expr::Exists(base, crit) => {
            let items = eval(base, focus);
            let any = match crit {
                None => !items.is_empty(),
                Some(c) => items.iter().any(|i| truthy(&eval(c, std::slice::from_ref(i))) == Some(true)),
            };
            boolean(any)
        }
        Expr::Empty(base) => boolean(eval(base, focus).is_empty()),
        Expr::Not(base) => match truthy(&eval(base, focus)) {
            Some(b) => boolean(!b),
            None => Vec::new(),
        },
        Expr::First(base) => eval(base, focus).into_iter().take(1).collect(),
        Expr::Last(base) => eval(base, focus).into_iter().last().into_iter().collect(),
        Expr::Index(base, i) => eval(base, focus).into_iter().nth(*i).into_iter().collect(),
        Expr::ResolveIs(base, ty) => {
            if ty.is_empty() {
                return Vec::new();
            }
            match eval(base, focus).as_slice() {
                [one] => boolean(reference_type(one.value).as_deref() == Some(ty.as_str())),
                _ => Vec::new(),
            }
        }
        Expr::Extension(base, url) => member(&eval(base, focus), "extension")
            .into_iter()
            .filter(|i| i.value.get("url").and_then(Value::as_str) == Some(url.as_str()))
            .map(|i| Item { value: i.value, type_hint: Some("Extension") })
            .collect(),
        Expr::And(a, b) => and(truthy(&eval(a, focus)), truthy(&eval(b, focus))),
        Expr::Or(a, b) => or(truthy(&eval(a, focus)), truthy(&eval(b, focus))),
        Expr::Xor(a, b) => match (truthy(&eval(a, focus)), truthy(&eval(b, focus))) {
            (Some(x), Some(y)) => boolean(x != y),
            _ => Vec::new(),
        },
        Expr::Equals { left, right, negated } => equals(&eval(left, focus), &eval(right, focus), *negated),
        Expr::Unsupported(_) => Vec::new(),
    }
}

/// Three-valued `and`: false if either side is false, true if both are true, else empty.
fn and<'a>(x: Option<bool>, y: Option<bool>) -> Vec<Item<'a>> {
    match (x, y) {
        (Some(false), _) | (_, Some(false)) => boolean(false),
        (Some(true), Some(true)) => boolean(true),
        _ => Vec::new(),
    }
}

/// Three-valued `or`: true if either side is true, false if both are false, else empty.
fn or<'a>(x: Option<bool>, y: Option<bool>) -> Vec<Item<'a>> {
    match (x, y) {
        (Some(true), _) | (_, Some(true)) => boolean(true),
        (Some(false), Some(false)) => boolean(false),
        _ => Vec::new(),
    }
}

/// `=` (`!=` when `negated`): empty if either side is; else equal when both have the same items in
/// order.
fn equals<'a>(l: &[Item<'_>], r: &[Item<'_>], negated: bool) -> Vec<Item<'a>> {
    if l.is_empty() || r.is_empty() {
        return Vec::new();
    }
    let eq = l.len() == r.len() && l.iter().zip(r.iter()).all(|(a, b)| values_equal(a.value, b.value));
    boolean(eq != negated)
}
