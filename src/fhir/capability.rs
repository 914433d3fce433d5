//! The CapabilityStatement, generated from the served types and the search-parameter registry, so
//! what is advertised is what is served.

use serde_json::{json, Value};

use super::search::registry::{ParamType, Registry};
use super::types::SUPPORTED_TYPES;
use super::us_core;

const EXPECTATION: &str = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation";
const COMBINATION: &str = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination";

/// The Bulk Data Access server CapabilityStatement this server instantiates (`$export`).
const BULK_DATA: &str = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data";

/// The operations served on `resource_type`.
fn operations(resource_type: &str) -> Vec<Value> {
    match resource_type {
        "Patient" => vec![
            json!({"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}),
            json!({"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"}),
        ],
        "Group" => vec![
            json!({"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}),
        ],
        "DocumentReference" => {
            vec![json!({"name": "docref", "definition": "http://hl7.org/fhir/us/core/OperationDefinition/docref"})]
        }
        _ => Vec::new(),
    }
}

/// US Core's profiles and search parameter combinations for a served type (those whose parameters
/// are all served), as the US Core Server CapabilityStatement declares them.
fn us_core_declarations(resource_type: &str, r: &mut Value) {
    let profiles = us_core::profiles(resource_type);
    if !profiles.is_empty() {
        r["supportedProfile"] = json!(profiles);
    }
    let registry = Registry::global();
    let served = |code: &str| code == "_id" || registry.get(resource_type, code).is_some();
    let mut extensions = Vec::new();
    for expectation in ["SHALL", "SHOULD"] {
        for combination in us_core::combinations(resource_type, expectation) {
            if !combination.iter().all(|c| served(c)) {
                continue;
            }
            let mut parts = vec![json!({"url": EXPECTATION, "valueCode": expectation})];
            parts.extend(combination.iter().map(|c| json!({"url": "required", "valueString": c})));
            extensions.push(json!({"url": COMBINATION, "extension": parts}));
        }
    }
    if !extensions.is_empty() {
        r["extension"] = json!(extensions);
    }
}

pub fn capability_statement(base_url: &str, fhir_base: &str) -> Value {
    let resources = resources().clone();
    statement(base_url, fhir_base, resources)
}

/// The `rest.resource` entries: the same for every request (they depend on the registry only), so made
/// once — with every R4 type served, the `searchRevInclude` lists take a cross-product of all types'
/// reference parameters.
fn resources() -> &'static Vec<Value> {
    static RESOURCES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    RESOURCES.get_or_init(make_resources)
}

fn make_resources() -> Vec<Value> {
    let registry = Registry::global();
    SUPPORTED_TYPES
        .iter()
        .map(|t| {
            if *t == "AuditEvent" {
                return audit_event();
            }
            let params: Vec<Value> = registry
                .params_for(t)
                .into_iter()
                .filter(|p| p.is_searchable())
                .map(|p| json!({"name": p.code, "definition": p.url, "type": p.kind.as_code()}))
                .collect();
            let includes: Vec<String> = registry
                .params_for(t)
                .into_iter()
                .filter(|p| p.kind == ParamType::Reference && p.is_indexed())
                .map(|p| format!("{t}:{}", p.code))
                .collect();
            let revincludes: Vec<String> = SUPPORTED_TYPES
                .iter()
                .filter(|source| **source != "AuditEvent")
                .flat_map(|source| {
                    registry
                        .params_for(source)
                        .into_iter()
                        .filter(|p| {
                            p.kind == ParamType::Reference && p.is_indexed() && p.targets.iter().any(|x| x == t)
                        })
                        .map(move |p| format!("{source}:{}", p.code))
                })
                .collect();
            let mut r = json!({
                "type": t,
                "interaction": [
                    {"code": "read"}, {"code": "vread"}, {"code": "update"}, {"code": "patch"},
                    {"code": "delete"}, {"code": "history-instance"}, {"code": "history-type"},
                    {"code": "create"}, {"code": "search-type"}
                ],
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalUpdate": true,
                "conditionalDelete": "not-supported",
                "searchParam": params
            });
            let operations = operations(t);
            if !operations.is_empty() {
                r["operation"] = json!(operations);
            }
            us_core_declarations(t, &mut r);
            // FHIR forbids empty arrays.
            if !includes.is_empty() {
                r["searchInclude"] = json!(includes);
            }
            if !revincludes.is_empty() {
                r["searchRevInclude"] = json!(revincludes);
            }
            r
        })
        .collect()
}

fn statement(base_url: &str, fhir_base: &str, resources: Vec<Value>) -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": crate::clock::now().text.get(..10).unwrap_or("2026-01-01"),
        "publisher": "Bedside",
        "kind": "instance",
        "instantiates": [us_core::instantiates(), BULK_DATA],
        "implementationGuide": [format!("http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core|{}", us_core::version())],
        "software": {"name": "Bedside", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Bedside FHIR R4 patient-access API", "url": fhir_base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": true,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": format!("Bearer access tokens (JWT, ES256) signed by this server; keys at {base_url}/.well-known/jwks.json")
            },
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
            "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}]
        }]
    })
}

/// AuditEvent is the access log, generated on read (`fhir::audit_event`, served by `fhir::handlers::audit_event`): read and search only,
/// with its own few parameters.
fn audit_event() -> Value {
    let params: Vec<Value> = super::audit_event::SEARCH_PARAMS
        .iter()
        .map(|(name, kind, _, doc)| json!({"name": name, "type": kind, "documentation": doc}))
        .collect();
    json!({
        "type": "AuditEvent",
        "documentation": "The access log: what each app read or changed, generated from the server's records; it cannot be written.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": params
    })
}

/// The served search parameters as Markdown, per type (`bedside search-params`, docs/search-parameters.md).
pub fn search_parameters_markdown() -> String {
    let registry = Registry::global();
    let mut out = String::from(
        "# Search parameters\n\nGenerated from the registry (`conformance/search-parameters.json`, the official FHIR R4 \
         definitions) by `bedside search-params`; a test keeps this file current.\n\n\
         Every type except AuditEvent also takes `_id`, `_lastUpdated`, `_tag`, `_profile`, `_security`, `_source`, and the result \
         parameters `_count`, `_sort`, `_total`, `_summary`, `_elements`, `_include`, `_revinclude` (`:iterate`), \
         chained parameters and `_has`.\n",
    );
    for t in SUPPORTED_TYPES {
        if *t == "AuditEvent" {
            out.push_str(
                "\n## AuditEvent\n\nThe access log, generated from the server's records (read and search only): these \
                 parameters, each with `:missing`, `_count` and `_summary=count`.\n\n| parameter | type | expression |\n|---|---|---|\n",
            );
            for (name, kind, expression, _) in super::audit_event::SEARCH_PARAMS {
                out.push_str(&format!("| `{name}` | {kind} | `{expression}` |\n"));
            }
            continue;
        }
        let params: Vec<_> =
            registry.params_for(t).into_iter().filter(|p| p.is_searchable() && !p.code.starts_with('_')).collect();
        if params.is_empty() {
            out.push_str(&format!("\n## {t}\n\nOnly the parameters every type takes.\n"));
            continue;
        }
        out.push_str(&format!("\n## {t}\n\n| parameter | type | expression |\n|---|---|---|\n"));
        for p in params {
            let note = if p.never_matched.is_empty() {
                String::new()
            } else {
                format!(" (its {} values are not indexed: never matched)", p.never_matched.join(", "))
            };
            out.push_str(&format!(
                "| `{}` | {} | `{}`{note} |\n",
                p.code,
                p.kind.as_code(),
                p.expression_text.replace('|', "\\|")
            ));
        }
    }
    out.push_str(
        "\n## Not served\n\nOfficial parameters whose expression write-time extraction cannot evaluate correctly \
         (checked against the R4 element types when the registry loads): they are not indexed, not in `/metadata`, \
         and a search with one is 400. Composite and special parameters (e.g. `code-value-quantity`, \
         `Location?near`) are not served either.\n\n| type | parameter | why |\n|---|---|---|\n",
    );
    for t in SUPPORTED_TYPES {
        for p in registry.params_for(t) {
            if let (Some(why), false) = (&p.problem, matches!(p.kind, ParamType::Composite | ParamType::Special)) {
                out.push_str(&format!("| {t} | `{}` | {} |\n", p.code, why.replace('|', "\\|")));
            }
        }
    }
    out
}
