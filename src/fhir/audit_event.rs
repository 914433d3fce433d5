//! An access-log row as an R4 `AuditEvent` (generated on every read, never stored as a resource):
//!
//! - `type` DICOM 110110 "Patient Record"; `subtype` the FHIR restful interaction (`read`,
//!   `search-type`, …); `action` R/C/U/D/E; `recorded`; `outcome` 0 (success), 4 (the request was
//!   refused: 4xx) or 8 (the server failed: 5xx), with the HTTP status in `outcomeDesc`;
//! - `agent`: the app (`who.identifier` = its client id under this server's `/auth`, `who.display` =
//!   its name, `requestor: true`) and, when the token names one, the user (`who` = the `fhirUser`,
//!   `requestor: false`);
//! - `source.observer` Bedside;
//! - `entity`: the patient (role Patient), each resource returned or touched (role Domain Resource)
//!   and, for searches, history and operations, the request as a query entity (base64).

use base64::Engine;
use serde_json::{json, Value};

use crate::store::audit::AuditRow;

use crate::error::ApiError;

/// The search parameters served (the CapabilityStatement lists these): (name, type, expression,
/// description).
pub const SEARCH_PARAMS: &[(&str, &str, &str, &str)] = &[
    (
        "patient",
        "reference",
        "AuditEvent.entity.what.where(resolve() is Patient)",
        "The patient whose record was accessed",
    ),
    ("date", "date", "AuditEvent.recorded", "When the access happened"),
    ("agent", "reference", "AuditEvent.agent.who", "The user who used the app (fhirUser, e.g. Practitioner/1)"),
    ("client", "token", "AuditEvent.agent.who.identifier", "The app (its OAuth client id)"),
];

/// AuditEvents are the server's own record: no client may create, change or delete one.
pub fn refuse_writes(res_type: &str) -> Result<(), ApiError> {
    if res_type == "AuditEvent" {
        return Err(ApiError::MethodNotAllowed(
            "AuditEvents are the server's access log: they can be read and searched, not written".into(),
        ));
    }
    Ok(())
}

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";

/// `recorded` (Unix ms) as a FHIR instant.
pub fn instant_of(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::clock::from_datetime(t).text
}

fn outcome(status: i32) -> &'static str {
    match status {
        s if s >= 500 => "8",
        s if s >= 400 => "4",
        _ => "0",
    }
}

/// The AuditEvent of one row. `base_url` is the server's public base (the app identifiers' system).
pub fn to_json(row: &AuditRow, app_name: &str, base_url: &str) -> Value {
    let recorded = instant_of(row.recorded);
    let reason = u16::try_from(row.status)
        .ok()
        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut agents = vec![json!({
        "type": {"coding": [{"system": DCM, "code": "110150", "display": "Application"}]},
        "who": {"identifier": {"system": format!("{base_url}/auth"), "value": row.client_id}, "display": app_name},
        "requestor": true
    })];
    if let Some(user) = &row.fhir_user {
        agents.push(json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "code": "humanuser", "display": "human user"}]},
            "who": {"reference": user},
            "requestor": false
        }));
    }
    let mut entities = Vec::new();
    let patient_ref = row.patient_id.as_ref().map(|p| format!("Patient/{p}"));
    if let Some(p) = &patient_ref {
        entities.push(json!({
            "what": {"reference": p},
            "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"}
        }));
    }
    for r in row.ref_list().filter(|r| Some(*r) != patient_ref.as_deref()) {
        entities.push(json!({
            "what": {"reference": r},
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"}
        }));
    }
    let interaction = crate::audit::Interaction::from_code(&row.interaction);
    if interaction.is_some_and(crate::audit::Interaction::is_query) {
        let listed = row.ref_list().count() as i64;
        let mut q = json!({
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
            "query": base64::engine::general_purpose::STANDARD.encode(&row.path)
        });
        if row.ref_total > listed {
            q["description"] = json!(format!("returned {} resources; the first {listed} are listed", row.ref_total));
        }
        entities.push(q);
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": row.id.to_string(),
        "meta": {"versionId": "1", "lastUpdated": recorded},
        "type": {"system": DCM, "code": "110110", "display": "Patient Record"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": row.interaction}],
        "action": row.action,
        "recorded": recorded,
        "outcome": outcome(row.status),
        "outcomeDesc": format!("{} {reason}", row.status).trim_end(),
        "agent": agents,
        "source": {
            "observer": {"display": "Bedside"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
        }
    });
    if !entities.is_empty() {
        event["entity"] = Value::Array(entities);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> AuditRow {
        AuditRow {
            id: 7,
            recorded: 1_764_151_200_123,
            client_id: "app-1".into(),
            grant_id: Some("g".into()),
            fhir_user: Some("Practitioner/dr".into()),
            patient_id: Some("p1".into()),
            action: "E".into(),
            interaction: "search-type".into(),
            res_type: Some("Observation".into()),
            method: "GET".into(),
            path: "/fhir/Observation?category=laboratory".into(),
            status: 200,
            refs: "Observation/1 Observation/2 Patient/p1".into(),
            ref_total: 150,
        }
    }

    #[test]
    fn a_row_is_a_valid_audit_event() {
        let e = to_json(&row(), "My App", "http://x");
        bedside_model::validate_json(e.to_string().as_bytes()).unwrap();
        assert_eq!(crate::fhir::validate::validate_values(&e), vec![]);
        assert_eq!(e["recorded"], "2025-11-26T10:00:00.123Z");
        assert_eq!(e["agent"][0]["who"]["display"], "My App");
        assert_eq!(e["agent"][1]["who"]["reference"], "Practitioner/dr");
        let entities = e["entity"].as_array().unwrap();
        assert_eq!(entities.len(), 4, "patient, two observations, the query");
        assert_eq!(entities[3]["description"], "returned 150 resources; the first 3 are listed");
        let failed = AuditRow {
            status: 404,
            interaction: "read".into(),
            refs: String::new(),
            ref_total: 0,
            patient_id: None,
            fhir_user: None,
            ..row()
        };
        let e = to_json(&failed, "My App", "http://x");
        bedside_model::validate_json(e.to_string().as_bytes()).unwrap();
        assert_eq!((e["outcome"].as_str(), e["outcomeDesc"].as_str()), (Some("4"), Some("404 Not Found")));
        assert!(e.get("entity").is_none());
    }
}
