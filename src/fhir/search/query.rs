//! Parsing a search query string into typed conditions for `store::search`, using the registry.
//!
//! Values separated by `,` are alternatives (OR); repeated parameters must all hold (AND).

use super::dates::{date_range, decimal_bounds};
use super::extract::normalize_string;
use super::registry::{ParamType, Registry};
use crate::error::ApiError;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::search::{Condition, IndexTable, Query, RangeOp, StringMatch};

/// Splits a comma-separated list, honouring `\,` escapes.
fn split_or(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(',') | Some('\\') | Some('|') | Some('$')) => {
                if let Some(n) = chars.next() {
                    if let Some(last) = out.last_mut() {
                        last.push(n);
                    }
                }
            }
            ',' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c)
                }
            }
        }
    }
    out
}

fn prefix(value: &str) -> (RangeOp, &str) {
    let ops = [
        ("eq", RangeOp::Eq),
        ("ne", RangeOp::Ne),
        ("gt", RangeOp::Gt),
        ("lt", RangeOp::Lt),
        ("ge", RangeOp::Ge),
        ("le", RangeOp::Le),
        ("sa", RangeOp::Sa),
        ("eb", RangeOp::Eb),
        ("ap", RangeOp::Ap),
    ];
    for (p, op) in ops {
        if let Some(rest) = value.strip_prefix(p) {
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
                return (op, rest);
            }
        }
    }
    (RangeOp::Eq, value)
}

fn bad(param: &str, msg: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("search parameter {param}: {msg}"))
}

/// The hard ceiling of chaining depth (`subject:Patient.organization.name` is depth 2); searches are
/// held to the lower, configured `--max-chain-depth` before they get here.
const MAX_CHAIN: usize = crate::config::MAX_CHAIN_DEPTH;

/// One `name[:modifier]=value` pair as conditions (OR-ed), for resources of `res_type`.
pub fn parse_param(res_type: &str, name: &str, value: &str) -> Result<Vec<Condition>, ApiError> {
    parse_param_depth(res_type, name, value, 0)
}

fn parse_param_depth(res_type: &str, name: &str, value: &str, depth: usize) -> Result<Vec<Condition>, ApiError> {
    if depth > MAX_CHAIN {
        return Err(bad(name, format!("chains are limited to {MAX_CHAIN} levels")));
    }
    let registry = Registry::global();
    // Reverse chaining: _has:Type:param:rest
    if let Some(rest) = name.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        let (Some(source), Some(param), Some(inner)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(name, "use _has:Type:reference:parameter=value"));
        };
        if !super::super::types::is_supported(source) {
            return Err(bad(name, format!("{source} is not a supported resource type")));
        }
        let rp = registry
            .get(source, param)
            .filter(|p| p.kind == ParamType::Reference && p.is_indexed())
            .ok_or_else(|| bad(name, format!("{param} is not a reference parameter of {source}")))?;
        if !rp.targets.is_empty() && !rp.targets.iter().any(|t| t == res_type) {
            return Err(bad(name, format!("{source}.{param} cannot point at {res_type}")));
        }
        let inner = parse_param_depth(source, inner, value, depth + 1)?;
        return Ok(vec![Condition::Has {
            source_type: source.to_string(),
            param: param.to_string(),
            inner: vec![inner],
        }]);
    }
    // Forward chaining: param[:Type].rest
    if let Some((head, rest)) = name.split_once('.') {
        let (code, type_mod) = match head.split_once(':') {
            Some((c, t)) => (c, Some(t)),
            None => (head, None),
        };
        let rp = registry.get(res_type, code).filter(|p| p.kind == ParamType::Reference && p.is_indexed()).ok_or_else(
            || bad(name, format!("{code} is not a reference parameter of {res_type}, so it cannot be chained")),
        )?;
        let target = match type_mod {
            Some(t) if super::super::types::is_supported(t) => t.to_string(),
            Some(t) => return Err(bad(name, format!("{t} is not a supported resource type"))),
            None => {
                let served: Vec<&String> = rp.targets.iter().filter(|t| super::super::types::is_supported(t)).collect();
                match served.as_slice() {
                    [one] => (*one).clone(),
                    _ => {
                        return Err(bad(
                            name,
                            format!("{code} can point at several types; name one, e.g. {code}:Patient.{rest}"),
                        ))
                    }
                }
            }
        };
        let inner = parse_param_depth(&target, rest, value, depth + 1)?;
        return Ok(vec![Condition::Chain { param: code.to_string(), target_type: target, inner: vec![inner] }]);
    }
    let (code, modifier) = match name.split_once(':') {
        Some((c, m)) => (c, Some(m)),
        None => (name, None),
    };
    if code == "_id" {
        return match (modifier, value) {
            (None, _) => Ok(split_or(value).into_iter().map(Condition::Id).collect()),
            // Every resource has an id: :missing=true matches nothing, :missing=false everything.
            (Some("missing"), "true") => Ok(vec![Condition::Id(String::new())]),
            (Some("missing"), "false") => Ok(Vec::new()),
            (Some("missing"), _) => Err(bad(name, ":missing takes true or false")),
            (Some(m), _) => Err(bad(name, format!("_id does not take the modifier :{m}"))),
        };
    }
    let param = registry
        .get(res_type, code)
        .ok_or_else(|| bad(name, format!("{code} is not a search parameter of {res_type}")))?;
    if let Some(why) = &param.problem {
        return Err(bad(name, format!("{code} of {res_type} is not supported by this server ({why})")));
    }
    let table = match param.kind {
        ParamType::String => IndexTable::String,
        ParamType::Token => IndexTable::Token,
        ParamType::Date => IndexTable::Date,
        ParamType::Reference => IndexTable::Reference,
        ParamType::Quantity => IndexTable::Quantity,
        ParamType::Number => IndexTable::Number,
        ParamType::Uri => IndexTable::Uri,
        ParamType::Composite | ParamType::Special => {
            return Err(bad(name, "composite and special parameters are not supported"))
        }
    };
    if modifier == Some("missing") {
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => return Err(bad(name, ":missing takes true or false")),
        };
        return Ok(vec![Condition::Missing { param: code.to_string(), table, missing }]);
    }
    let p = code.to_string();
    let mut out = Vec::new();
    for v in split_or(value) {
        if v.is_empty() {
            return Err(bad(name, "empty value"));
        }
        let cond = match (param.kind, modifier) {
            (ParamType::String, None) => {
                Condition::String { param: p.clone(), value: StringMatch::StartsWith(normalize_string(&v)) }
            }
            (ParamType::String, Some("contains")) => {
                Condition::String { param: p.clone(), value: StringMatch::Contains(normalize_string(&v)) }
            }
            (ParamType::String, Some("exact")) => Condition::String { param: p.clone(), value: StringMatch::Exact(v) },
            (ParamType::Token, None | Some("not")) => {
                let (system, code) = match v.split_once('|') {
                    None => (None, Some(v)),
                    Some(("", c)) => (Some(None), Some(c.to_string())),
                    Some((s, "")) => (Some(Some(s.to_string())), None),
                    Some((s, c)) => (Some(Some(s.to_string())), Some(c.to_string())),
                };
                Condition::Token { param: p.clone(), system, code, negate: modifier == Some("not") }
            }
            (ParamType::Token, Some("text")) => Condition::TokenText { param: p.clone(), text: v },
            (ParamType::Date, None) => {
                let (op, rest) = prefix(&v);
                let (low, high) = date_range(rest).ok_or_else(|| bad(name, format!("{rest:?} is not a valid date")))?;
                Condition::Date { param: p.clone(), op, low, high }
            }
            (ParamType::Reference, m) => {
                let type_mod = m.filter(|t| super::super::types::is_supported(t));
                if m.is_some() && type_mod.is_none() && m != Some("identifier") {
                    return Err(bad(name, format!("modifier :{} is not supported", m.unwrap_or(""))));
                }
                reference_condition(&p, &v, type_mod)
            }
            (ParamType::Quantity, None) => {
                let mut parts = v.splitn(3, '|');
                let num = parts.next().unwrap_or("");
                let system = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
                let unit = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
                let (op, rest) = prefix(num);
                let (low, high) =
                    number_range(op, rest).ok_or_else(|| bad(name, format!("{rest:?} is not a number")))?;
                Condition::Quantity { param: p.clone(), op, low, high, system, code: unit }
            }
            (ParamType::Number, None) => {
                let (op, rest) = prefix(&v);
                let (low, high) =
                    number_range(op, rest).ok_or_else(|| bad(name, format!("{rest:?} is not a number")))?;
                Condition::Number { param: p.clone(), op, low, high }
            }
            (ParamType::Uri, None) => Condition::Uri { param: p.clone(), value: v, below: false },
            (ParamType::Uri, Some("below")) => Condition::Uri { param: p.clone(), value: v, below: true },
            (_, Some(m)) => return Err(bad(name, format!("modifier :{m} is not supported for this parameter"))),
            _ => return Err(bad(name, "unsupported parameter type")),
        };
        out.push(cond);
    }
    Ok(out)
}

/// Query range of a number: `eq` uses the implicit precision range; other prefixes the exact value.
fn number_range(op: RangeOp, s: &str) -> Option<(f64, f64)> {
    let exact: f64 = s.parse().ok().filter(|f: &f64| f.is_finite())?;
    match op {
        RangeOp::Eq | RangeOp::Ne | RangeOp::Ap => decimal_bounds(s),
        _ => Some((exact, exact)),
    }
}

fn reference_condition(param: &str, v: &str, type_mod: Option<&str>) -> Condition {
    let trimmed = v.split("/_history/").next().unwrap_or(v);
    let segs: Vec<&str> = trimmed.rsplitn(3, '/').collect();
    let (t, id) = match segs.as_slice() {
        [id, t, ..] if super::super::types::is_supported(t) => (Some(t.to_string()), Some(id.to_string())),
        [id] => (type_mod.map(str::to_string), Some(id.to_string())),
        _ => (None, None),
    };
    match (t, id) {
        (t, Some(id)) => Condition::Reference {
            param: param.to_string(),
            target_type: t.or_else(|| type_mod.map(str::to_string)),
            target_id: Some(id),
            url: None,
        },
        _ => Condition::Reference {
            param: param.to_string(),
            target_type: None,
            target_id: None,
            url: Some(v.to_string()),
        },
    }
}

/// Builds the store query for `res_type` from `params` (result parameters skipped), limited to what
/// `access` may see.
pub fn build(res_type: &str, params: &[(String, String)], access: &AccessContext) -> Result<Query, ApiError> {
    let mut q = Query { res_types: vec![res_type.to_string()], ..Default::default() };
    for (name, value) in params {
        if super::spec::is_result_param(name) {
            continue;
        }
        q.all_of.push(parse_param(res_type, name, value)?);
    }
    crate::fhir::guard::restrict(&mut q, access, Interaction::Search)?;
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_unescaped_commas() {
        assert_eq!(split_or("a,b\\,c"), vec!["a", "b,c"]);
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix("ge2020"), (RangeOp::Ge, "2020"));
        assert_eq!(prefix("2020"), (RangeOp::Eq, "2020"));
        assert_eq!(prefix("eq-5"), (RangeOp::Eq, "-5"));
    }

    #[test]
    fn references() {
        assert_eq!(
            reference_condition("subject", "Patient/1", None),
            Condition::Reference {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some("1".into()),
                url: None
            }
        );
        assert_eq!(
            reference_condition("subject", "http://x/fhir/Patient/1/_history/2", None),
            Condition::Reference {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some("1".into()),
                url: None
            }
        );
        assert_eq!(
            reference_condition("subject", "1", Some("Patient")),
            Condition::Reference {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some("1".into()),
                url: None
            }
        );
    }
}
