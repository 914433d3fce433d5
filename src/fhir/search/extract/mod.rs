//! Write-time index extraction: the search index rows of a resource, computed from the search-parameter
//! registry's FHIRPath expressions, so that searching never parses stored JSON.
//!
//! The value rules follow the R4 search specification (§3.1.1.4 "Search Parameter Types"):
//! - token: Coding → system/code/display; CodeableConcept → one row per coding (text = CodeableConcept.text,
//!   else the coding's display), or a text-only row; Identifier → system/value (text = type.text);
//!   ContactPoint → code = value; code/string/uri/id/boolean primitives → code only.
//! - string: HumanName → family, each given, prefix, suffix, text; Address → each line, city, district,
//!   state, postalCode, country, text; a string → itself. `norm` is [`normalize_string`].
//! - date: `[low, high]` in epoch ms (see [`crate::fhir::search::dates::date_range`]); Period
//!   start.low..end.high with open ends as `i64::MIN`/`i64::MAX`; Timing event min..max, else
//!   repeat.boundsPeriod.
//! - reference: Reference.reference split into type and id (`Type/id`, `Type/id/_history/n`, absolute URLs
//!   ending in a known type; `#contained` skipped); canonical/uri strings too.
//! - quantity: Quantity and its specialisations (Age, Duration, …), Money (currency as code); the decimal
//!   text is kept exactly.
//! - number, uri: the value as written.
//!
//! Composite parameters need rows that keep their parts together; they come from [`extract_composites`].
//! `special` parameters (Location `near`) are not indexed here.
//!
//! | module       | concept                                                                   |
//! |--------------|---------------------------------------------------------------------------|
//! | this file    | the index rows of a resource, its composite rows and its compartments     |
//! | `values`     | the value rules: a FHIRPath result item → index rows, per parameter type  |

mod values;

use std::collections::HashSet;

use serde_json::Value;

use crate::fhir::search::fhirpath::{self, Item};
use crate::fhir::search::registry::{ParamType, Registry, SearchParam};

use crate::fhir::types::references::is_fhir_id;
pub use crate::fhir::types::references::{is_resource_type, split_reference};
use values::entries_for;
pub use values::normalize_string;

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
            for parts in combinations(p, &base) {
                let e = CompositeEntry { param: p.code.clone(), parts };
                if !e.parts.is_empty() && seen.insert(e.clone()) {
                    out.push(e);
                }
            }
        }
    }
    out
}

/// The rows of composite `p` for one item `base` its expression selected: every combination of one
/// value per part (parts evaluated relative to `base`); none when a part has no value, or when there
/// would be more than 1024 (a guard against pathological fan-out).
fn combinations(p: &SearchParam, base: &Item<'_>) -> Vec<Vec<IndexEntry>> {
    let mut combos: Vec<Vec<IndexEntry>> = vec![Vec::new()];
    for part in &p.composite_parts {
        let mut values = Vec::new();
        for item in fhirpath::evaluate_on(&part.expression, std::slice::from_ref(base)) {
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
    combos
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

#[cfg(test)]
mod tests;
