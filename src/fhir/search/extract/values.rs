//! The value rules of write-time extraction (R4 §3.1.1.4, summarised in the parent module's doc): one
//! item a parameter's expression reached → its index rows, by parameter type and the item's FHIR type
//! (from the type hint, else the JSON shape).

use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::IndexEntry;
use crate::fhir::search::dates;
use crate::fhir::search::fhirpath::Item;
use crate::fhir::search::registry::ParamType;
use crate::fhir::types::references::split_reference;

/// Case- and accent-insensitive normal form for string search: NFD, combining marks dropped, lowercase.
pub fn normalize_string(s: &str) -> String {
    s.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

fn s(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Appends the index rows of `item` for the `kind` parameter `param` to `out`.
pub(super) fn entries_for(kind: ParamType, param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
    match kind {
        ParamType::Token => token_entries(param, item, out),
        ParamType::String => string_entries(param, item, out),
        ParamType::Date => date_entries(param, item, out),
        ParamType::Reference => reference_entries(param, item, out),
        ParamType::Quantity => quantity_entries(param, item, out),
        ParamType::Number => {
            if let Value::Number(n) = item.value {
                out.push(IndexEntry::Number { param: param.to_string(), value: n.to_string() });
            }
        }
        ParamType::Uri => {
            if let Some(v) = s(Some(item.value)) {
                out.push(IndexEntry::Uri { param: param.to_string(), value: v });
            }
        }
        ParamType::Composite | ParamType::Special => {}
    }
}

pub(super) fn token(param: &str, system: Option<String>, code: Option<String>, text: Option<String>) -> IndexEntry {
    IndexEntry::Token { param: param.to_string(), system, code, text }
}

fn coding_entry(param: &str, m: &Map<String, Value>, text: Option<String>) -> Option<IndexEntry> {
    let (system, code) = (s(m.get("system")), s(m.get("code")));
    let text = text.or_else(|| s(m.get("display")));
    if system.is_none() && code.is_none() && text.is_none() {
        return None;
    }
    Some(token(param, system, code, text))
}

fn token_entries(param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
    let m = match item.value {
        Value::String(v) if !v.is_empty() => {
            out.push(token(param, None, Some(v.clone()), None));
            return;
        }
        Value::Bool(b) => {
            out.push(token(param, None, Some(b.to_string()), None));
            return;
        }
        Value::Number(n) => {
            out.push(token(param, None, Some(n.to_string()), None));
            return;
        }
        Value::Object(m) => m,
        _ => return,
    };
    let hint = item.type_hint.unwrap_or("");
    let is_contact_point = hint == "ContactPoint";
    if is_contact_point {
        if let Some(v) = s(m.get("value")) {
            out.push(token(param, None, Some(v), None));
        }
        return;
    }
    if hint == "CodeableConcept" || m.contains_key("coding") || (hint.is_empty() && only_text(m)) {
        let text = s(m.get("text"));
        let mut any = false;
        if let Some(Value::Array(codings)) = m.get("coding") {
            for c in codings {
                if let Some(e) = c.as_object().and_then(|c| coding_entry(param, c, text.clone())) {
                    out.push(e);
                    any = true;
                }
            }
        }
        if !any && text.is_some() {
            out.push(token(param, None, None, text));
        }
        return;
    }
    if hint == "Identifier" || (hint.is_empty() && matches!(m.get("value"), Some(Value::String(_)))) {
        let text = m.get("type").and_then(|t| s(t.get("text")));
        let (system, value) = (s(m.get("system")), s(m.get("value")));
        if system.is_some() || value.is_some() {
            out.push(token(param, system, value, text));
        }
        return;
    }
    // Coding (or anything shaped like one).
    if let Some(e) = coding_entry(param, m, None) {
        out.push(e);
    }
}

fn only_text(m: &Map<String, Value>) -> bool {
    m.contains_key("text") && m.keys().all(|k| k == "text" || k == "id" || k == "extension")
}

fn push_string(param: &str, v: Option<&Value>, out: &mut Vec<IndexEntry>) {
    match v {
        Some(Value::String(x)) if !x.trim().is_empty() => {
            out.push(IndexEntry::String { param: param.to_string(), value: x.clone(), norm: normalize_string(x) })
        }
        Some(Value::Array(a)) => a.iter().for_each(|x| push_string(param, Some(x), out)),
        _ => {}
    }
}

fn string_entries(param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
    match item.value {
        Value::String(_) => push_string(param, Some(item.value), out),
        Value::Object(m) => {
            let hint = item.type_hint.unwrap_or("");
            let is_address = hint == "Address"
                || ["line", "city", "district", "state", "postalCode", "country"].iter().any(|k| m.contains_key(*k));
            let fields: &[&str] = if is_address {
                &["line", "city", "district", "state", "postalCode", "country", "text"]
            } else {
                // HumanName, or any object with a text (e.g. a CodeableConcept reached without `.text`).
                &["family", "given", "prefix", "suffix", "text"]
            };
            for f in fields {
                push_string(param, m.get(*f), out);
            }
        }
        _ => {}
    }
}

fn date_entries(param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
    let range = match item.value {
        Value::String(v) => dates::date_range(v),
        Value::Object(m) => {
            let hint = item.type_hint.unwrap_or("");
            if hint == "Timing" || m.contains_key("event") || m.contains_key("repeat") {
                timing_range(m)
            } else {
                period_range(m)
            }
        }
        _ => None,
    };
    if let Some((low, high)) = range {
        out.push(IndexEntry::Date { param: param.to_string(), low, high });
    }
}

/// Period: `start.low .. end.high`, open ends unbounded; `None` if neither end parses.
fn period_range(m: &Map<String, Value>) -> Option<(i64, i64)> {
    let start = m.get("start").and_then(Value::as_str).map(dates::date_range);
    let end = m.get("end").and_then(Value::as_str).map(dates::date_range);
    match (start, end) {
        (Some(Some((lo, _))), Some(Some((_, hi)))) => Some((lo, hi.max(lo))),
        (Some(Some((lo, _))), None) => Some((lo, i64::MAX)),
        (None, Some(Some((_, hi)))) => Some((i64::MIN, hi)),
        _ => None,
    }
}

/// Timing: from the earliest to the latest `event`, else `repeat.boundsPeriod`.
fn timing_range(m: &Map<String, Value>) -> Option<(i64, i64)> {
    let events: Vec<(i64, i64)> = match m.get("event") {
        Some(Value::Array(a)) => a.iter().filter_map(|e| e.as_str().and_then(dates::date_range)).collect(),
        _ => Vec::new(),
    };
    if let (Some(lo), Some(hi)) = (events.iter().map(|e| e.0).min(), events.iter().map(|e| e.1).max()) {
        return Some((lo, hi));
    }
    m.get("repeat").and_then(|r| r.get("boundsPeriod")).and_then(Value::as_object).and_then(period_range)
}

fn reference_entries(param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
    let (url, declared_type) = match item.value {
        // canonical / uri
        Value::String(v) => (v.as_str(), None),
        Value::Object(m) => match m.get("reference") {
            Some(Value::String(r)) => (r.as_str(), m.get("type").and_then(Value::as_str)),
            _ => return,
        },
        _ => return,
    };
    let url_trimmed = url.trim();
    if url_trimmed.is_empty() || url_trimmed.starts_with('#') {
        return;
    }
    let (target_type, target_id) = match split_reference(url_trimmed) {
        Some((t, id)) => (Some(t.to_string()), Some(id.to_string())),
        None => (declared_type.map(|t| t.rsplit('/').next().unwrap_or(t).to_string()), None),
    };
    out.push(IndexEntry::Reference { param: param.to_string(), target_type, target_id, url: url.to_string() });
}

fn quantity_entries(param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
    let Value::Object(m) = item.value else { return };
    let Some(Value::Number(n)) = m.get("value") else { return };
    let value = n.to_string();
    if let Some(currency) = s(m.get("currency")) {
        // Money
        out.push(IndexEntry::Quantity {
            param: param.to_string(),
            value,
            system: Some("urn:iso:std:iso:4217".to_string()),
            code: Some(currency.clone()),
            unit: Some(currency),
        });
        return;
    }
    out.push(IndexEntry::Quantity {
        param: param.to_string(),
        value,
        system: s(m.get("system")),
        code: s(m.get("code")),
        unit: s(m.get("unit")),
    });
}
