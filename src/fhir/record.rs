//! A patient's whole record, for "Download my record" on the connected-apps page: what
//! `Patient/{id}/$everything` returns (the compartment plus the shared resources it points to), every
//! page of it, read through the same access guard with a token-less context bound to that patient.

use crate::config::Settings;
use crate::error::ApiError;
use crate::fhir::compartment::is_compartment_type;
use crate::fhir::search::engine;
use crate::fhir::search::spec::{Include, SearchSpec};
use crate::fhir::service;
use crate::fhir::types::SUPPORTED_TYPES;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Scopes;
use crate::store::search::Condition;
use crate::store::AnyConnection;

/// The client id the access log names for a patient's own download.
pub const DOWNLOAD_CLIENT: &str = "bedside-record-download";

/// The access of a signed-in patient downloading their own record: read-only, bound to them.
pub fn patient_access(username: &str, patient_id: &str) -> Result<AccessContext, ApiError> {
    Ok(AccessContext {
        client_id: DOWNLOAD_CLIENT.to_string(),
        subject: username.to_string(),
        fhir_user: Some(format!("Patient/{patient_id}")),
        patient: Some(patient_id.to_string()),
        encounter: None,
        scopes: Scopes::parse("patient/*.rs").map_err(ApiError::Internal)?,
        grant: None,
    })
}

/// Every resource of the patient's record (compartment first, then the shared resources it points
/// to), read page by page (`--max-count` a page).
pub fn whole_record(
    conn: &mut AnyConnection,
    access: &AccessContext,
    patient_id: &str,
    settings: &Settings,
) -> Result<Vec<serde_json::Value>, ApiError> {
    service::read(conn, access, "Patient", patient_id)?;
    let types: Vec<String> = SUPPORTED_TYPES
        .iter()
        .filter(|t| is_compartment_type(t) && **t != "AuditEvent")
        .map(|t| t.to_string())
        .collect();
    let count = settings.max_count.to_string();
    let mut spec = SearchSpec::parse(types.clone(), &[("_count".to_string(), count)], access, settings, false)?;
    spec.query.all_of.push(vec![Condition::Compartment(patient_id.to_string())]);
    spec.includes = types
        .iter()
        .map(|t| Include { source_type: t.clone(), param: None, target_type: None, iterate: false })
        .collect();
    let mut matches = Vec::new();
    let mut shared = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut after = None;
    loop {
        let page = engine::run(conn, access, &spec, after)?;
        matches.extend(page.matches);
        for r in page.included {
            if !is_compartment_type(&r.res_type) && seen.insert((r.res_type.clone(), r.res_id.clone())) {
                shared.push(r);
            }
        }
        match page.next {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    matches.extend(shared);
    matches
        .iter()
        .map(|r| {
            serde_json::from_slice(&r.content)
                .map_err(|e| ApiError::Internal(format!("stored {}/{} unreadable: {e}", r.res_type, r.res_id)))
        })
        .collect()
}
