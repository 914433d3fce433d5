//! Building the [`Registry`] from the definitions: each SearchParameter is read once, then applied to
//! each served type it covers (its expression cut down to that type's union branches, parsed and
//! checked for what extraction can index); then the Patient compartment: R4's CompartmentDefinition
//! plus the patient-typed reference parameters.

use std::collections::HashMap;

use serde_json::Value;

use super::{CompositePart, ParamType, Registry, SearchParam, TypeParams, US_CORE_JSON};
use crate::fhir::search::fhirpath::{self, Expr};
use crate::fhir::search::registry::typecheck;

const SEARCH_PARAMETERS_JSON: &str = include_str!("../../../../conformance/search-parameters.json");
const COMPARTMENT_JSON: &str = include_str!("../../../../conformance/compartment-patient.json");

impl Registry {
    /// Build the registry from the embedded `conformance/` files: the R4 SearchParameters of the served
    /// types, plus the US Core SearchParameters R4 does not define (`race`, `ethnicity`, …).
    pub fn load() -> Result<Registry, String> {
        let mut doc: Value =
            serde_json::from_str(SEARCH_PARAMETERS_JSON).map_err(|e| format!("search-parameters.json: {e}"))?;
        let us_core: Value = serde_json::from_str(US_CORE_JSON).map_err(|e| format!("us-core.json: {e}"))?;
        let extra = us_core.get("parameter").and_then(Value::as_array).ok_or("us-core.json: no parameter")?;
        doc.get_mut("parameter")
            .and_then(Value::as_array_mut)
            .ok_or("search-parameters.json: no parameter")?
            .extend(extra.iter().cloned());
        Registry::from_json(&doc.to_string(), COMPARTMENT_JSON)
    }

    /// Build a registry from the texts of `search-parameters.json` and `compartment-patient.json`.
    pub fn from_json(search_parameters: &str, compartment: &str) -> Result<Registry, String> {
        let doc: Value = serde_json::from_str(search_parameters).map_err(|e| format!("search-parameters.json: {e}"))?;
        let served: Vec<String> = doc
            .get("servedTypes")
            .and_then(Value::as_array)
            .ok_or("search-parameters.json: no servedTypes")?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        let params = doc.get("parameter").and_then(Value::as_array).ok_or("search-parameters.json: no parameter")?;
        let by_url = parts_by_url(params);
        let mut types: HashMap<String, TypeParams> =
            served.iter().map(|t| (t.clone(), TypeParams::default())).collect();
        for p in params {
            // _content, _query, _text: no expression, need dedicated implementations; not in the registry.
            let Some(def) = Definition::read(p, &served, &by_url)? else { continue };
            for t in def.applies_to(&served) {
                let sp = def.for_type(t)?;
                if let Some(tp) = types.get_mut(t.as_str()) {
                    if tp.params.iter().any(|x| x.code == sp.code) {
                        return Err(format!("{t}: two search parameters with code {}", sp.code));
                    }
                    tp.params.push(sp);
                }
            }
        }
        for tp in types.values_mut() {
            tp.params.sort_by(|a, b| a.code.cmp(&b.code));
            tp.by_code = tp.params.iter().enumerate().map(|(i, p)| (p.code.clone(), i)).collect();
        }
        let (compartment, added) = patient_compartment(compartment, &types)?;
        Ok(Registry { types, compartment, compartment_added: added })
    }
}

/// url → (code, type) of every definition, for resolving composite parts.
fn parts_by_url(params: &[Value]) -> HashMap<&str, (&str, ParamType)> {
    let mut by_url: HashMap<&str, (&str, ParamType)> = HashMap::new();
    for p in params {
        if let (Some(url), Some(code), Some(kind)) = (
            p.get("url").and_then(Value::as_str),
            p.get("code").and_then(Value::as_str),
            p.get("type").and_then(Value::as_str).and_then(ParamType::from_code),
        ) {
            by_url.insert(url, (code, kind));
        }
    }
    by_url
}

/// The string items of the array `p[k]` (empty when absent).
fn strings(p: &Value, k: &str) -> Vec<String> {
    p.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Parameter codes per resource type.
type CodesByType = HashMap<String, Vec<String>>;

/// One SearchParameter definition, read once and then applied to each type it covers.
struct Definition<'a> {
    p: &'a Value,
    code: &'a str,
    url: &'a str,
    kind: ParamType,
    bases: Vec<String>,
    /// The official expression, over every base type.
    expression_full: &'a str,
    /// Composite parts as written: (definition url, expression).
    components: Vec<(String, String)>,
    /// Composite parts resolved; empty if any part's definition is unknown.
    composite_parts: Vec<CompositePart>,
    general_description: &'a str,
    targets_any_type: bool,
    targets: Vec<String>,
}

impl<'a> Definition<'a> {
    /// The definition `p`, or `None` when it has no expression.
    fn read(
        p: &'a Value,
        served: &[String],
        by_url: &HashMap<&str, (&str, ParamType)>,
    ) -> Result<Option<Definition<'a>>, String> {
        let field = |k: &str| p.get(k).and_then(Value::as_str).ok_or(format!("a parameter has no {k}: {p}"));
        let code = field("code")?;
        let url = field("url")?;
        let type_code = field("type")?;
        let kind = ParamType::from_code(type_code).ok_or(format!("{url}: unknown type {type_code}"))?;
        let bases = strings(p, "base");
        let Some(expression_full) = p.get("expression").and_then(Value::as_str) else { return Ok(None) };

        let mut components = Vec::new();
        let mut composite_parts = Vec::new();
        let mut parts_ok = true;
        for c in p.get("component").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            let def = c.get("definition").and_then(Value::as_str).unwrap_or_default();
            let expr = c.get("expression").and_then(Value::as_str).unwrap_or_default();
            components.push((def.to_string(), expr.to_string()));
            let parsed = fhirpath::parse(expr).map_err(|e| format!("{url}: component {expr:?}: {e}"))?;
            match by_url.get(def) {
                Some((pcode, pkind)) => {
                    composite_parts.push(CompositePart { code: (*pcode).to_string(), kind: *pkind, expression: parsed })
                }
                None => parts_ok = false,
            }
        }
        if !parts_ok {
            composite_parts.clear();
        }
        let general_description = p.get("description").and_then(Value::as_str).unwrap_or_default();
        let targets_any_type = p.get("targetAnyType").and_then(Value::as_bool).unwrap_or(false);
        let targets = if targets_any_type { served.to_vec() } else { strings(p, "target") };
        Ok(Some(Definition {
            p,
            code,
            url,
            kind,
            bases,
            expression_full,
            components,
            composite_parts,
            general_description,
            targets_any_type,
            targets,
        }))
    }

    /// The served types the definition covers: all of them for a `Resource`/`DomainResource` base.
    fn applies_to<'s>(&self, served: &'s [String]) -> Vec<&'s String> {
        if self.bases.iter().any(|b| b == "Resource" || b == "DomainResource") {
            served.iter().collect()
        } else {
            served.iter().filter(|t| self.bases.contains(t)).collect()
        }
    }

    /// The parameter as it applies to type `t`.
    fn for_type(&self, t: &str) -> Result<SearchParam, String> {
        let (p, url, kind) = (self.p, self.url, self.kind);
        let branches: Vec<&str> =
            split_union(self.expression_full).into_iter().filter(|b| branch_applies(b, t)).collect();
        let expression_text = branches.join(" | ");
        let expression = if branches.is_empty() {
            None
        } else {
            Some(fhirpath::parse(&expression_text).map_err(|e| format!("{url} for {t}: {e}"))?)
        };
        let check =
            expression.as_ref().map(|e| expression_check(t, kind, e, &self.composite_parts)).unwrap_or_default();
        let description = p
            .get("descriptionByType")
            .and_then(|d| d.get(t))
            .and_then(Value::as_str)
            .unwrap_or(self.general_description)
            .to_string();
        // `X.where(resolve() is Patient)` can only ever point at a Patient, whatever the definition's
        // target list says (R4 lists Group too for `Observation.patient`): chains need no type.
        let targets = match expression.as_ref().and_then(resolve_is_types) {
            Some(only) if kind == ParamType::Reference => {
                self.targets.iter().filter(|x| only.contains(x)).cloned().collect::<Vec<String>>()
            }
            _ => self.targets.clone(),
        };
        Ok(SearchParam {
            code: self.code.to_string(),
            url: url.to_string(),
            kind,
            description,
            expression,
            expression_text,
            targets,
            targets_any_type: self.targets_any_type,
            components: self.components.clone(),
            composite_parts: self.composite_parts.clone(),
            comparators: strings(p, "comparator"),
            modifiers: strings(p, "modifier"),
            chains: strings(p, "chain"),
            multiple_or: p.get("multipleOr").and_then(Value::as_bool),
            multiple_and: p.get("multipleAnd").and_then(Value::as_bool),
            problem: check.problem,
            never_matched: check.never_matched,
        })
    }
}

/// The Patient compartment parameters per type (from `compartment-patient.json` plus the
/// patient-typed reference parameters of `types`), and the part of them R4 does not list.
fn patient_compartment(
    compartment: &str,
    types: &HashMap<String, TypeParams>,
) -> Result<(CodesByType, CodesByType), String> {
    let comp: Value = serde_json::from_str(compartment).map_err(|e| format!("compartment-patient.json: {e}"))?;
    let mut compartment = HashMap::new();
    if let Some(m) = comp.get("resource").and_then(Value::as_object) {
        for (t, codes) in m {
            let codes: Vec<String> = codes
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            compartment.insert(t.clone(), codes);
        }
    } else {
        return Err("compartment-patient.json: no resource map".into());
    }
    // A resource that names a patient in any patient-typed reference parameter is that patient's
    // data for access purposes, even where R4's CompartmentDefinition leaves the type or the
    // parameter out (e.g. `Device.patient`): derived from the definitions, never typed by hand.
    // Only parameters that target Patient specifically count: one that may point at any resource
    // type (`Provenance.target`, `List.item`, `Library.depends-on`, …) says nothing about whose data
    // the resource is, and counting it would make shared definitions (Library, Measure,
    // Questionnaire, …) patient data, hidden from every patient-bound token. The official
    // CompartmentDefinition always counts, whatever its parameters' targets.
    let mut added: HashMap<String, Vec<String>> = HashMap::new();
    for (t, tp) in types {
        for p in &tp.params {
            let patient_typed =
                p.kind == ParamType::Reference && !p.targets_any_type && p.targets.iter().any(|x| x == "Patient");
            let codes = compartment.entry(t.clone()).or_default();
            if patient_typed && !codes.contains(&p.code) {
                codes.push(p.code.clone());
                added.entry(t.clone()).or_default().push(p.code.clone());
            }
        }
    }
    compartment.retain(|_, codes| !codes.is_empty());
    for codes in compartment.values_mut().chain(added.values_mut()) {
        codes.sort();
        codes.dedup();
    }
    Ok((compartment, added))
}

/// Can the expression `e` of a `kind` parameter on `resource_type` be indexed (see
/// [`SearchParam::problem`], [`SearchParam::never_matched`])?
fn expression_check(resource_type: &str, kind: ParamType, e: &Expr, parts: &[CompositePart]) -> typecheck::Check {
    let problem = |p: String| typecheck::Check { problem: Some(p), never_matched: Vec::new() };
    if let Some(part) = e.unsupported_parts().first() {
        return problem(format!("{part} is outside the FHIRPath subset"));
    }
    for part in parts {
        if let Some(u) = part.expression.unsupported_parts().first() {
            return problem(format!("component {}: {u} is outside the FHIRPath subset", part.code));
        }
    }
    let Some(table) = crate::fhir::validate::element_types() else { return typecheck::Check::default() };
    let check = typecheck::check(table, resource_type, kind, e);
    if check.problem.is_some() || kind != ParamType::Composite {
        return check;
    }
    if let Ok(focus) = typecheck::composite_focus(table, resource_type, e) {
        for part in parts {
            if let Some(p) = typecheck::part_problem(table, &focus, part.kind, &part.expression) {
                return problem(format!("component {}: {p}", part.code));
            }
        }
    }
    check
}

/// The types an expression is limited to when every union branch ends in `.where(resolve() is T)`
/// (`Observation.subject.where(resolve() is Patient)` → `[Patient]`); `None` otherwise.
fn resolve_is_types(e: &Expr) -> Option<Vec<String>> {
    let branches: Vec<&Expr> = match e {
        Expr::Union(parts) => parts.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for b in branches {
        match b {
            Expr::Where(_, c) => match c.as_ref() {
                Expr::ResolveIs(inner, t) if **inner == Expr::This => out.push(t.clone()),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(out)
}

/// Split an expression at its top-level `|` (not inside parentheses, brackets or quotes).
pub(super) fn split_union(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in expr.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '`' => quote = Some(c),
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '|' if depth == 0 => {
                out.push(expr[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(expr[start..].trim());
    out
}

/// Does the union branch `branch` apply to `resource_type`: it starts with that type, with `Resource` /
/// `DomainResource`, or with an element name (a relative path such as R4's `InsurancePlan.name` expression
/// `name | alias`, evaluated from the resource itself).
pub(super) fn branch_applies(branch: &str, resource_type: &str) -> bool {
    let head = branch_head(branch);
    head == resource_type
        || head == "Resource"
        || head == "DomainResource"
        || head.starts_with(|c: char| c.is_ascii_lowercase())
}

/// The first identifier of a union branch (`(Observation.value as Quantity)` → `Observation`).
pub(super) fn branch_head(branch: &str) -> &str {
    let s = branch.trim_start_matches(|c: char| c == '(' || c.is_whitespace());
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}
