//! US Core 6.1 as Bedside declares and honours it: the profiles, search parameters, combinations and
//! operations of the official US Core Server CapabilityStatement, condensed into
//! `conformance/us-core.json` by `tools/gen_us_core.py`. The CapabilityStatement copies them for the
//! served types; the US Core SearchParameters R4 lacks join the search registry
//! (`Registry::load`); a test checks every SHALL parameter and combination against the registry.

use std::sync::OnceLock;

use serde_json::Value;

use crate::fhir::search::registry::US_CORE_JSON;

static DOC: OnceLock<Value> = OnceLock::new();

fn doc() -> &'static Value {
    // The file ships inside the binary and a unit test parses it: a failure here is a broken build,
    // answered with "no US Core declarations" rather than a crash.
    DOC.get_or_init(|| serde_json::from_str(US_CORE_JSON).unwrap_or(Value::Null))
}

/// The canonical URL of the US Core Server CapabilityStatement this server instantiates.
pub fn instantiates() -> &'static str {
    doc().get("instantiates").and_then(Value::as_str).unwrap_or_default()
}

/// The US Core version declared.
pub fn version() -> &'static str {
    doc().get("usCoreVersion").and_then(Value::as_str).unwrap_or_default()
}

/// US Core's entry for `resource_type` (supportedProfile, searchParam, combination, searchInclude,
/// searchRevInclude, operation), or `None` when US Core does not profile the type.
pub fn resource(resource_type: &str) -> Option<&'static Value> {
    doc().get("resource").and_then(|r| r.get(resource_type))
}

/// The US Core profiles of `resource_type` (empty when US Core does not profile it).
pub fn profiles(resource_type: &str) -> Vec<&'static str> {
    strings(resource(resource_type).and_then(|r| r.get("supportedProfile")))
}

/// The resource types US Core profiles.
pub fn resource_types() -> Vec<&'static str> {
    doc().get("resource").and_then(Value::as_object).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
}

/// The search parameter combinations of `resource_type` with the given expectation (`SHALL`, …).
pub fn combinations(resource_type: &str, expectation: &str) -> Vec<Vec<&'static str>> {
    resource(resource_type)
        .and_then(|r| r.get("combination"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|c| c.get("expectation").and_then(Value::as_str) == Some(expectation))
                .map(|c| strings(c.get("required")))
                .collect()
        })
        .unwrap_or_default()
}

/// The search parameters of `resource_type` with the given expectation.
pub fn search_params(resource_type: &str, expectation: &str) -> Vec<&'static str> {
    resource(resource_type)
        .and_then(|r| r.get("searchParam"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|p| p.get("expectation").and_then(Value::as_str) == Some(expectation))
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(v: Option<&'static Value>) -> Vec<&'static str> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// The US Core profile a resource fits, chosen by its type and, where US Core has several, by its
/// category or code (vital signs by their LOINC code). `None` for types US Core does not profile.
pub fn profile_for(resource: &Value) -> Option<String> {
    let t = resource.get("resourceType")?.as_str()?;
    let all = profiles(t);
    let named = |name: &str| all.iter().find(|p| p.rsplit('/').next() == Some(name)).map(|p| (*p).to_string());
    let codes = |field: &str| -> Vec<&str> {
        let v = resource.get(field);
        let items: Vec<&Value> = match v {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        items
            .iter()
            .filter_map(|cc| cc.get("coding").and_then(Value::as_array))
            .flatten()
            .filter_map(|c| c.get("code").and_then(Value::as_str))
            .collect()
    };
    match t {
        "Condition" if codes("category").contains(&"encounter-diagnosis") => {
            named("us-core-condition-encounter-diagnosis")
        }
        "Condition" => named("us-core-condition-problems-health-concerns"),
        "DiagnosticReport" if codes("category").contains(&"LAB") => named("us-core-diagnosticreport-lab"),
        "DiagnosticReport" => named("us-core-diagnosticreport-note"),
        "Observation" => {
            let code = codes("code");
            let by_code = [
                ("85354-9", "us-core-blood-pressure"),
                ("39156-5", "us-core-bmi"),
                ("8302-2", "us-core-body-height"),
                ("29463-7", "us-core-body-weight"),
                ("8310-5", "us-core-body-temperature"),
                ("8867-4", "us-core-heart-rate"),
                ("9279-1", "us-core-respiratory-rate"),
                ("59408-5", "us-core-pulse-oximetry"),
                ("2708-6", "us-core-pulse-oximetry"),
                ("9843-4", "us-core-head-circumference"),
                ("59576-9", "pediatric-bmi-for-age"),
                ("77606-2", "pediatric-weight-for-height"),
                ("72166-2", "us-core-smokingstatus"),
                ("76690-7", "us-core-observation-sexual-orientation"),
                ("11341-5", "us-core-observation-occupation"),
                ("82810-3", "us-core-observation-pregnancystatus"),
                ("86645-9", "us-core-observation-pregnancyintent"),
            ];
            if let Some((_, name)) = by_code.iter().find(|(c, _)| code.contains(c)) {
                return named(name);
            }
            let category = codes("category");
            let name = if category.contains(&"laboratory") {
                "us-core-observation-lab"
            } else if category.contains(&"vital-signs") {
                "us-core-vital-signs"
            } else if category.iter().any(|c| {
                matches!(*c, "survey" | "sdoh" | "functional-status" | "disability-status" | "cognitive-status")
            }) {
                "us-core-observation-screening-assessment"
            } else if category.iter().any(|c| matches!(*c, "imaging" | "procedure" | "exam" | "therapy" | "activity")) {
                "us-core-observation-clinical-result"
            } else {
                "us-core-simple-observation"
            };
            named(name)
        }
        _ => all.first().map(|p| (*p).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_load() {
        assert_eq!(instantiates(), "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server");
        assert_eq!(version(), "6.1.0");
        assert!(profiles("Patient").contains(&"http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"));
        assert!(combinations("Observation", "SHALL").contains(&vec!["category", "patient"]));
        assert!(search_params("Patient", "SHALL").contains(&"name"));
        assert!(resource("Basic").is_none());
    }
}
