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
use crate::smart::clients::DOWNLOAD_CLIENT;
use crate::smart::scopes::Scopes;
use crate::store::search::Condition;
use crate::store::AnyConnection;

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

/// A person's display name from a stored Patient/Practitioner (`name[0]`: text, or given + family).
pub fn display_name(content: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(content).ok()?;
    let name = v.get("name")?.get(0)?;
    if let Some(t) = name.get("text").and_then(|t| t.as_str()) {
        return Some(t.to_string());
    }
    let mut parts: Vec<&str> = name
        .get("given")
        .and_then(|g| g.as_array())
        .map(|g| g.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if let Some(f) = name.get("family").and_then(|f| f.as_str()) {
        parts.push(f);
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The display name of a `fhirUser` (`Patient/123`) if the resource is stored.
pub fn display_name_of(conn: &mut AnyConnection, fhir_user: &str) -> crate::store::StoreResult<Option<String>> {
    let Some((t, id)) = fhir_user.split_once('/') else { return Ok(None) };
    Ok(service::current_for_server(conn, t, id)?.and_then(|c| display_name(&c)))
}
