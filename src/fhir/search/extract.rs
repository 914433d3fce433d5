//! Write-time index extraction: the search index rows of a resource, computed from the search-parameter
//! registry's FHIRPath expressions, so that searching never parses stored JSON.
//!
//! The value rules follow the R4 search specification (§3.1.1.4 "Search Parameter Types"):
//! - token: Coding → system/code/display; CodeableConcept → one row per coding (text = CodeableConcept.text,
//!   else the coding's display), or a text-only row; Identifier → system/value (text = type.text);
//!   ContactPoint → code = value; code/string/uri/id/boolean primitives → code only.
//! - string: HumanName → family, each given, prefix, suffix, text; Address → each line, city, district,
//!   state, postalCode, country, text; a string → itself. `norm` is [`normalize_string`].
//! - date: `[low, high]` in epoch ms (see [`dates::date_range`]); Period start.low..end.high with open ends
//!   as `i64::MIN`/`i64::MAX`; Timing event min..max, else repeat.boundsPeriod.
//! - reference: Reference.reference split into type and id (`Type/id`, `Type/id/_history/n`, absolute URLs
//!   ending in a known type; `#contained` skipped); canonical/uri strings too.
//! - quantity: Quantity and its specialisations (Age, Duration, …), Money (currency as code); the decimal
//!   text is kept exactly.
//! - number, uri: the value as written.
//!
//! Composite parameters need rows that keep their parts together; they come from [`extract_composites`].
//! `special` parameters (Location `near`) are not indexed here.

use std::collections::HashSet;

use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::fhir::search::dates;
use crate::fhir::search::fhirpath::{self, Item};
use crate::fhir::search::registry::{ParamType, Registry, SearchParam};

/// One search index row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexEntry {
    String {
        param: String,
        /// As in the resource.
        value: String,
        /// [`normalize_string`]`(value)`.
        norm: String,
    },
    Token {
        param: String,
        system: Option<String>,
        code: Option<String>,
        /// Display or CodeableConcept.text, for `:text`.
        text: Option<String>,
    },
    /// Epoch milliseconds, inclusive.
    Date {
        param: String,
        low: i64,
        high: i64,
    },
    Reference {
        param: String,
        target_type: Option<String>,
        target_id: Option<String>,
        /// The reference text as written.
        url: String,
    },
    Quantity {
        param: String,
        /// The decimal text exactly as in the resource.
        value: String,
        system: Option<String>,
        code: Option<String>,
        unit: Option<String>,
    },
    Number {
        param: String,
        value: String,
    },
    Uri {
        param: String,
        value: String,
    },
}

impl IndexEntry {
    /// The search parameter code of the row.
    pub fn param(&self) -> &str {
        match self {
            IndexEntry::String { param, .. }
            | IndexEntry::Token { param, .. }
            | IndexEntry::Date { param, .. }
            | IndexEntry::Reference { param, .. }
            | IndexEntry::Quantity { param, .. }
            | IndexEntry::Number { param, .. }
            | IndexEntry::Uri { param, .. } => param,
        }
    }
}

/// One row of a composite search parameter: one value for each part, taken from the same element (e.g. the
/// same Observation.component), in the order of [`SearchParam::composite_parts`]. Each part's `param` is the
/// code of the parameter the part refers to (`code`, `value-quantity`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompositeEntry {
    pub param: String,
    pub parts: Vec<IndexEntry>,
}

/// Is `t` an R4 resource type name (for recognising `Type/id` in references)?
pub fn is_resource_type(t: &str) -> bool {
    crate::fhir::types::is_r4_type(t)
}

fn is_fhir_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

/// Split a reference into (resource type, id): `Patient/123`, `Patient/123/_history/2`,
/// `https://x/fhir/Patient/123[/_history/2]` (the type must be an R4 resource type). `None` for contained
/// (`#x`), `urn:uuid:`/`urn:oid:` and anything else; a trailing `|version` (canonical) is ignored.
pub fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let r = reference.trim();
    if r.starts_with('#') || r.starts_with("urn:") {
        return None;
    }
    let r = r.split('|').next().unwrap_or(r);
    let r = r.split(['?', '#']).next().unwrap_or(r);
    let mut segs: Vec<&str> = r.trim_end_matches('/').split('/').collect();
    if segs.len() >= 4 && segs[segs.len() - 2] == "_history" {
        segs.truncate(segs.len() - 2);
    }
    if segs.len() < 2 {
        return None;
    }
    let (t, id) = (segs[segs.len() - 2], segs[segs.len() - 1]);
    // A relative reference is exactly `Type/id`; longer ones must be absolute URLs.
    if segs.len() > 2 && !r.contains("://") {
        return None;
    }
    (is_resource_type(t) && is_fhir_id(id)).then_some((t, id))
}

/// Case- and accent-insensitive normal form for string search: NFD, combining marks dropped, lowercase.
pub fn normalize_string(s: &str) -> String {
    s.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// All index rows for a resource: every served parameter of its type with an expression, including `_id`,
/// `_lastUpdated` (meta.lastUpdated), `_tag`, `_profile`, `_security` and `_source`. Never panics; values
/// that do not parse are skipped; duplicate rows are removed.
pub fn extract(resource: &Value) -> Vec<IndexEntry> {
    extract_with(Registry::global(), resource)
}

/// [`extract`] with an explicit registry.
pub fn extract_with(registry: &Registry, resource: &Value) -> Vec<IndexEntry> {
    let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in registry.params_slice(rt) {
        if matches!(p.kind, ParamType::Composite | ParamType::Special) || !p.is_indexed() {
            continue;
        }
        let Some(expr) = &p.expression else { continue };
        let start = out.len();
        for item in fhirpath::evaluate(expr, resource) {
            entries_for(p.kind, &p.code, &item, &mut out);
        }
        dedup_tail(&mut out, start);
    }
    out
}

/// Remove duplicates among `v[start..]` (the rows of one parameter, e.g. the same value reached through
/// two union branches), keeping the first of each.
fn dedup_tail<T: PartialEq + Eq + std::hash::Hash + Clone>(v: &mut Vec<T>, start: usize) {
    let n = v.len().saturating_sub(start);
    if n < 2 {
        return;
    }
    if n <= 32 {
        let mut i = start + 1;
        while i < v.len() {
            if v[start..i].contains(&v[i]) {
                v.remove(i);
            } else {
                i += 1;
            }
        }
    } else {
        let tail = v.split_off(start);
        let mut seen = HashSet::with_capacity(tail.len());
        v.extend(tail.into_iter().filter(|e| seen.insert(e.clone())));
    }
}

/// Rows of the composite parameters of the resource's type (e.g. Observation `code-value-quantity`):
/// for each item the composite's expression selects, the combinations of its parts' values.
pub fn extract_composites(resource: &Value) -> Vec<CompositeEntry> {
    extract_composites_with(Registry::global(), resource)
}

/// [`extract_composites`] with an explicit registry.
pub fn extract_composites_with(registry: &Registry, resource: &Value) -> Vec<CompositeEntry> {
    let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in registry.params_slice(rt) {
        if p.kind != ParamType::Composite || !p.is_indexed() {
            continue;
        }
        let Some(expr) = &p.expression else { continue };
        for base in fhirpath::evaluate(expr, resource) {
            let mut combos: Vec<Vec<IndexEntry>> = vec![Vec::new()];
            for part in &p.composite_parts {
                let mut values = Vec::new();
                for item in fhirpath::evaluate_on(&part.expression, std::slice::from_ref(&base)) {
                    entries_for(part.kind, &part.code, &item, &mut values);
                }
                dedup_tail(&mut values, 0);
                // Guard against pathological fan-out.
                if values.is_empty() || combos.len().saturating_mul(values.len()) > 1024 {
                    combos.clear();
                    break;
                }
                combos = combos
                    .into_iter()
                    .flat_map(|c| {
                        values.iter().map(move |v| {
                            let mut c = c.clone();
                            c.push(v.clone());
                            c
                        })
                    })
                    .collect();
            }
            for parts in combos {
                let e = CompositeEntry { param: p.code.clone(), parts };
                if !e.parts.is_empty() && seen.insert(e.clone()) {
                    out.push(e);
                }
            }
        }
    }
    out
}

/// Ids of the patients in whose compartment the resource is: the Patient references (relative or absolute)
/// of its type's compartment parameters; a Patient is in its own compartment (and, through `link`, in the
/// compartments of the patients it links to). Sorted, without duplicates.
pub fn compartment_patients(resource: &Value) -> Vec<String> {
    compartment_patients_with(Registry::global(), resource)
}

/// [`compartment_patients`] with an explicit registry.
pub fn compartment_patients_with(registry: &Registry, resource: &Value) -> Vec<String> {
    let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = Vec::new();
    if rt == "Patient" {
        if let Some(id) = resource.get("id").and_then(Value::as_str).filter(|id| is_fhir_id(id)) {
            ids.push(id.to_string());
        }
    }
    for code in registry.patient_compartment_params(rt) {
        let Some(expr) = registry.get(rt, code).and_then(|p: &SearchParam| p.expression.as_ref()) else {
            continue;
        };
        for item in fhirpath::evaluate(expr, resource) {
            if let Some(r) = item.value.get("reference").and_then(Value::as_str) {
                if let Some(("Patient", id)) = split_reference(r) {
                    ids.push(id.to_string());
                }
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------------------------------------
// Value rules

fn s(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn entries_for(kind: ParamType, param: &str, item: &Item<'_>, out: &mut Vec<IndexEntry>) {
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

fn token(param: &str, system: Option<String>, code: Option<String>, text: Option<String>) -> IndexEntry {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of<'a>(entries: &'a [IndexEntry], param: &str) -> Vec<&'a IndexEntry> {
        entries.iter().filter(|e| e.param() == param).collect()
    }

    fn ms(s: &str) -> i64 {
        dates::date_range(s).map(|r| r.0).unwrap_or(-1)
    }

    fn tok(param: &str, system: Option<&str>, code: Option<&str>, text: Option<&str>) -> IndexEntry {
        token(param, system.map(str::to_string), code.map(str::to_string), text.map(str::to_string))
    }

    #[test]
    fn resource_types_sorted() {
        for t in crate::fhir::types::SUPPORTED_TYPES {
            assert!(is_resource_type(t), "{t}");
        }
        assert!(is_resource_type("Parameters"));
        assert_eq!(split_reference("Parameters/p1"), Some(("Parameters", "p1")));
    }

    #[test]
    fn references() {
        assert_eq!(split_reference("Patient/123"), Some(("Patient", "123")));
        assert_eq!(split_reference("Patient/123/_history/4"), Some(("Patient", "123")));
        assert_eq!(split_reference("http://x.org/fhir/Patient/a.b-c"), Some(("Patient", "a.b-c")));
        assert_eq!(split_reference("https://x.org/fhir/Patient/1/_history/2"), Some(("Patient", "1")));
        assert_eq!(split_reference("http://hl7.org/fhir/Questionnaire/q1|1.0"), Some(("Questionnaire", "q1")));
        for bad in ["#c1", "urn:uuid:abc", "Patient", "Foo/1", "a/Patient/1", "Patient/a b", "Patient/", "", "/"] {
            assert_eq!(split_reference(bad), None, "{bad}");
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize_string("Ěvé Zoë MÜLLER"), "eve zoe muller");
        assert_eq!(normalize_string("Straße"), "straße");
        assert_eq!(normalize_string(""), "");
    }

    #[test]
    fn observation() {
        let r = json!({
            "resourceType": "Observation", "id": "o1",
            "meta": {"lastUpdated": "2024-01-02T03:04:05.678Z", "tag": [{"system": "s", "code": "t"}],
                     "profile": ["http://p"], "source": "http://src"},
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"},
                                {"system": "http://snomed.info/sct", "code": "364075005"}], "text": "HR"},
            "subject": {"reference": "Patient/p1"},
            "encounter": {"reference": "urn:uuid:e1"},
            "performer": [{"reference": "Practitioner/d1"}, {"reference": "#contained"}],
            "effectivePeriod": {"start": "2020-01-01", "end": "2020-01-02T10:00:00Z"},
            "valueQuantity": {"value": 72.50, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"},
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120, "code": "mm[Hg]", "system": "http://unitsofmeasure.org"}},
                {"code": {"text": "free"}, "valueString": "x"}
            ]
        });
        // `json!` goes through f64; the stored text must stay "72.50" (arbitrary_precision).
        let mut r = r;
        if let (Some(v), Ok(n)) = (r.pointer_mut("/valueQuantity/value"), serde_json::from_str::<Value>("72.50")) {
            *v = n;
        }
        let e = extract(&r);
        assert_eq!(of(&e, "_id"), vec![&tok("_id", None, Some("o1"), None)]);
        let lu = ms("2024-01-02T03:04:05.678Z");
        assert_eq!(of(&e, "_lastUpdated"), vec![&IndexEntry::Date { param: "_lastUpdated".into(), low: lu, high: lu }]);
        assert_eq!(of(&e, "_tag"), vec![&tok("_tag", Some("s"), Some("t"), None)]);
        assert_eq!(of(&e, "_profile"), vec![&IndexEntry::Uri { param: "_profile".into(), value: "http://p".into() }]);
        assert_eq!(of(&e, "_source").len(), 1);
        assert_eq!(of(&e, "status"), vec![&tok("status", None, Some("final"), None)]);
        assert_eq!(
            of(&e, "code"),
            vec![
                &tok("code", Some("http://loinc.org"), Some("8867-4"), Some("HR")),
                &tok("code", Some("http://snomed.info/sct"), Some("364075005"), Some("HR")),
            ]
        );
        assert_eq!(of(&e, "category").len(), 1);
        assert_eq!(
            of(&e, "subject"),
            vec![&IndexEntry::Reference {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some("p1".into()),
                url: "Patient/p1".into()
            }]
        );
        assert_eq!(of(&e, "patient").len(), 1);
        assert_eq!(
            of(&e, "encounter"),
            vec![&IndexEntry::Reference {
                param: "encounter".into(),
                target_type: None,
                target_id: None,
                url: "urn:uuid:e1".into()
            }]
        );
        assert_eq!(of(&e, "performer").len(), 1, "contained reference skipped");
        assert_eq!(
            of(&e, "date"),
            vec![&IndexEntry::Date {
                param: "date".into(),
                low: ms("2020-01-01"),
                high: ms("2020-01-02T10:00:00Z") + 999
            }]
        );
        assert_eq!(
            of(&e, "value-quantity"),
            vec![&IndexEntry::Quantity {
                param: "value-quantity".into(),
                value: "72.50".into(),
                system: Some("http://unitsofmeasure.org".into()),
                code: Some("/min".into()),
                unit: Some("beats/minute".into())
            }]
        );
        assert_eq!(of(&e, "component-value-quantity").len(), 1);
        assert_eq!(of(&e, "combo-value-quantity").len(), 2);
        assert_eq!(of(&e, "component-code").len(), 2);
        assert_eq!(of(&e, "component-code")[1], &tok("component-code", None, None, Some("free")));
        assert!(of(&e, "value-string").is_empty());
        // No duplicate rows.
        let set: HashSet<_> = e.iter().collect();
        assert_eq!(set.len(), e.len());

        let c = extract_composites(&r);
        let cvq: Vec<_> = c.iter().filter(|c| c.param == "code-value-quantity").collect();
        assert_eq!(cvq.len(), 2, "two codings × one value");
        assert!(
            matches!(&cvq[0].parts[..], [IndexEntry::Token { param, .. }, IndexEntry::Quantity { value, .. }] if param == "code" && value == "72.50")
        );
        let comp: Vec<_> = c.iter().filter(|c| c.param == "component-code-value-quantity").collect();
        assert_eq!(comp.len(), 1);
        assert!(matches!(&comp[0].parts[1], IndexEntry::Quantity { value, .. } if value == "120"));
        assert_eq!(c.iter().filter(|c| c.param == "combo-code-value-quantity").count(), 3);

        assert_eq!(compartment_patients(&r), vec!["p1".to_string()]);
    }

    #[test]
    fn value_string_and_concept() {
        let r = json!({"resourceType": "Observation", "valueCodeableConcept": {"text": "Positive"}, "status": "final"});
        let e = extract(&r);
        assert_eq!(of(&e, "value-concept"), vec![&tok("value-concept", None, None, Some("Positive"))]);
        assert_eq!(
            of(&e, "value-string"),
            vec![&IndexEntry::String {
                param: "value-string".into(),
                value: "Positive".into(),
                norm: "positive".into()
            }]
        );
        let r = json!({"resourceType": "Observation", "valueDateTime": "2021-05", "valueString": "bad: two values"});
        let e = extract(&r);
        assert_eq!(of(&e, "value-date").len(), 1);
        assert_eq!(of(&e, "value-string").len(), 1);
    }

    #[test]
    fn patient() {
        let r = json!({
            "resourceType": "Patient", "id": "p1", "active": true, "gender": "female", "birthDate": "1980-02",
            "identifier": [{"system": "http://mrn", "value": "M1", "type": {"text": "MRN"}}],
            "name": [{"family": "Müller", "given": ["Zoë", "Ann"], "prefix": ["Dr."], "text": "Dr. Zoë Ann Müller"}],
            "telecom": [{"system": "phone", "value": "555-1"}, {"system": "email", "value": "z@x.org"}],
            "address": [{"line": ["1 Main St", "Apt 2"], "city": "Bøston", "state": "MA", "postalCode": "02101", "country": "US", "use": "home"}],
            "deceasedBoolean": false,
            "generalPractitioner": [{"reference": "https://ehr.example/fhir/Practitioner/d1"}],
            "link": [{"other": {"reference": "Patient/p0"}, "type": "replaces"}],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "de"}]}}]
        });
        let e = extract(&r);
        assert_eq!(of(&e, "active"), vec![&tok("active", None, Some("true"), None)]);
        assert_eq!(of(&e, "deceased"), vec![&tok("deceased", None, Some("false"), None)]);
        assert_eq!(of(&e, "identifier"), vec![&tok("identifier", Some("http://mrn"), Some("M1"), Some("MRN"))]);
        assert_eq!(of(&e, "phone"), vec![&tok("phone", None, Some("555-1"), None)]);
        assert_eq!(of(&e, "email"), vec![&tok("email", None, Some("z@x.org"), None)]);
        assert_eq!(of(&e, "telecom").len(), 2);
        let names: Vec<(&str, &str)> = of(&e, "name")
            .iter()
            .filter_map(|x| match x {
                IndexEntry::String { value, norm, .. } => Some((value.as_str(), norm.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("Müller", "muller"),
                ("Zoë", "zoe"),
                ("Ann", "ann"),
                ("Dr.", "dr."),
                ("Dr. Zoë Ann Müller", "dr. zoe ann muller")
            ]
        );
        assert_eq!(of(&e, "family").len(), 1);
        assert_eq!(of(&e, "given").len(), 2);
        assert_eq!(of(&e, "address").len(), 6);
        assert_eq!(
            of(&e, "address-city"),
            vec![&IndexEntry::String { param: "address-city".into(), value: "Bøston".into(), norm: "bøston".into() }]
        );
        assert_eq!(of(&e, "address-use"), vec![&tok("address-use", None, Some("home"), None)]);
        assert_eq!(
            of(&e, "birthdate"),
            vec![&IndexEntry::Date { param: "birthdate".into(), low: ms("1980-02-01"), high: ms("1980-03-01") - 1 }]
        );
        assert_eq!(
            of(&e, "general-practitioner"),
            vec![&IndexEntry::Reference {
                param: "general-practitioner".into(),
                target_type: Some("Practitioner".into()),
                target_id: Some("d1".into()),
                url: "https://ehr.example/fhir/Practitioner/d1".into()
            }]
        );
        assert_eq!(of(&e, "language"), vec![&tok("language", Some("urn:ietf:bcp:47"), Some("de"), None)]);
        assert_eq!(compartment_patients(&r), vec!["p0".to_string(), "p1".to_string()]);
        let dead = json!({"resourceType": "Patient", "id": "p2", "deceasedDateTime": "2020-01-01"});
        let e = extract(&dead);
        assert_eq!(of(&e, "deceased"), vec![&tok("deceased", None, Some("true"), None)]);
        assert_eq!(of(&e, "death-date").len(), 1);
    }

    #[test]
    fn periods_timings_and_open_ends() {
        let r = json!({"resourceType": "Encounter", "period": {"start": "2020-01-01T10:00:00+01:00"},
            "subject": {"reference": "Patient/p"}, "class": {"system": "http://v3", "code": "AMB"},
            "length": {"value": 30, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}});
        let e = extract(&r);
        assert_eq!(
            of(&e, "date"),
            vec![&IndexEntry::Date { param: "date".into(), low: ms("2020-01-01T09:00:00Z"), high: i64::MAX }]
        );
        assert_eq!(of(&e, "class"), vec![&tok("class", Some("http://v3"), Some("AMB"), None)]);
        assert_eq!(of(&e, "length").len(), 1);
        assert_eq!(compartment_patients(&r), vec!["p".to_string()]);
        let r = json!({"resourceType": "CarePlan", "period": {"end": "2021"}, "activity": [
            {"detail": {"scheduledTiming": {"event": ["2020-03-01", "2020-01-01", "bad"]}}},
            {"detail": {"scheduledTiming": {"repeat": {"boundsPeriod": {"start": "2019", "end": "2019-06"}}}}},
            {"detail": {"scheduledString": "every day"}}]});
        let e = extract(&r);
        assert_eq!(
            of(&e, "date"),
            vec![&IndexEntry::Date { param: "date".into(), low: i64::MIN, high: ms("2022") - 1 }]
        );
        assert_eq!(
            of(&e, "activity-date"),
            vec![
                &IndexEntry::Date { param: "activity-date".into(), low: ms("2020-01-01"), high: ms("2020-03-02") - 1 },
                &IndexEntry::Date { param: "activity-date".into(), low: ms("2019"), high: ms("2019-07") - 1 },
            ]
        );
    }

    #[test]
    fn medication_choice_references() {
        let r = json!({"resourceType": "MedicationRequest", "subject": {"reference": "Patient/p"},
            "medicationReference": {"reference": "Medication/m1"}, "authoredOn": "2020-02-02"});
        let e = extract(&r);
        assert_eq!(of(&e, "medication").len(), 1);
        assert!(of(&e, "code").is_empty());
        let r = json!({"resourceType": "MedicationRequest", "subject": {"reference": "Patient/p"},
            "medicationCodeableConcept": {"coding": [{"system": "rxnorm", "code": "1"}]}});
        let e = extract(&r);
        assert!(of(&e, "medication").is_empty());
        assert_eq!(of(&e, "code"), vec![&tok("code", Some("rxnorm"), Some("1"), None)]);
    }

    #[test]
    fn compartments_need_patient_refs() {
        let r = json!({"resourceType": "Observation", "subject": {"reference": "Group/g"},
            "performer": [{"reference": "Patient/a"}, {"reference": "http://x/fhir/Patient/b"}, {"reference": "Practitioner/c"}]});
        assert_eq!(compartment_patients(&r), vec!["a".to_string(), "b".to_string()]);
        let r = json!({"resourceType": "Practitioner", "id": "x"});
        assert!(compartment_patients(&r).is_empty());
        let r = json!({"resourceType": "Coverage", "beneficiary": {"reference": "Patient/a"}, "payor": [{"reference": "Organization/o"}],
            "subscriber": {"reference": "Patient/a"}});
        assert_eq!(compartment_patients(&r), vec!["a".to_string()]);
    }

    #[test]
    fn odd_input_never_panics() {
        let odd = [
            json!(null),
            json!(1),
            json!({"resourceType": 1}),
            json!({"resourceType": "Nope"}),
            json!({"resourceType": "Patient", "id": 5, "name": "x", "telecom": [1, null, {"value": 3}], "birthDate": "1980-99",
                "address": [{"line": [1, "a"]}], "meta": {"lastUpdated": 3, "tag": "x"}, "link": [{"other": {"reference": 1}}]}),
            json!({"resourceType": "Observation", "valueQuantity": {"value": "1"}, "effectivePeriod": {"start": 1},
                "code": {"coding": {"code": 1}}, "component": [[]], "subject": {"reference": ""}}),
        ];
        for v in odd {
            let _ = extract(&v);
            let _ = extract_composites(&v);
            let _ = compartment_patients(&v);
        }
    }

    /// Every searchable parameter of every type, evaluated on the official R4 examples (all of them from
    /// ../shared/data, else the copies in tests/fixtures): each value an expression reaches gives an index
    /// row, unless it is a value the parameter is documented not to match, or one with nothing to index
    /// (a Reference with only a display or an identifier, a CodeableConcept with neither coding nor text,
    /// a Period without dates, a Quantity without a value).
    #[test]
    fn every_parameter_indexes_what_the_official_examples_hold() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let shared = root.join("../shared/data/examples-r4/hl7-fhir-r4-core-4.0.1-all");
        let dir = if shared.is_dir() {
            shared
        } else {
            eprintln!("../shared/data not found: checking tests/fixtures/examples-all only");
            root.join("tests/fixtures/examples-all")
        };
        let registry = Registry::global();
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        let (mut checked, mut rows, mut problems) = (0, 0, Vec::new());
        for f in files {
            let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&f).unwrap_or_default()) else {
                continue;
            };
            let Some(rt) = v["resourceType"].as_str() else { continue };
            for p in registry.params_slice(rt).iter().filter(|p| p.is_searchable()) {
                let Some(expr) = &p.expression else { continue };
                for item in fhirpath::evaluate(expr, &v) {
                    checked += 1;
                    let mut out = Vec::new();
                    entries_for(p.kind, &p.code, &item, &mut out);
                    rows += out.len();
                    if out.is_empty() && !nothing_to_index(p, &item) {
                        problems.push(format!(
                            "{}: {rt}.{} reached {} and indexed nothing",
                            f.display(),
                            p.code,
                            item.value
                        ));
                    }
                }
            }
        }
        assert!(checked > 50 && rows > 50, "{checked} values, {rows} rows");
        assert!(problems.is_empty(), "{} of {checked} values:\n{}", problems.len(), problems.join("\n"));
    }

    /// A value with nothing a parameter of its kind could index, or a documented never-matched one.
    fn nothing_to_index(p: &SearchParam, item: &Item<'_>) -> bool {
        if item.type_hint.is_some_and(|h| p.never_matched.iter().any(|n| n.eq_ignore_ascii_case(h))) {
            return true;
        }
        let local = |r: Option<&str>| r.is_some_and(|r| r.starts_with('#'));
        if p.kind == ParamType::Reference && local(item.value.as_str()) {
            return true; // a canonical pointing at a contained resource
        }
        let Value::Object(m) = item.value else { return false };
        let keys: Vec<&str> = m.keys().map(String::as_str).filter(|k| !matches!(*k, "id" | "extension")).collect();
        match p.kind {
            ParamType::Reference => !m.contains_key("reference") || local(m.get("reference").and_then(Value::as_str)),
            ParamType::Quantity => !m.contains_key("value"),
            // A Timing that only repeats (no events, no bounds) has no dates.
            ParamType::Date => {
                !keys.iter().any(|k| matches!(*k, "start" | "end" | "event"))
                    && m.get("repeat").and_then(|r| r.get("boundsPeriod")).is_none()
            }
            // A ContactPoint without a value.
            ParamType::Token if item.type_hint == Some("ContactPoint") => !m.contains_key("value"),
            _ => keys.is_empty(),
        }
    }
}
