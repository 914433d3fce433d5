//! Provenance: the record of who pushed what (written for every app write), and the compartments a
//! Provenance belongs to (those of its targets).

use super::*;

/// [`index_rows`] plus what only the stored data can tell: a Provenance belongs to the compartments
/// of the resources it is about (its `target`s — the version it names, else the current resource), so a
/// patient sees who changed their data and nobody else does. R4's own `Provenance.patient` only
/// catches targets that are Patients. Used on every write and by the re-indexer, so both agree.
pub fn index_rows_stored(conn: &mut AnyConnection, resource: &Value) -> StoreResult<IndexRows> {
    let mut rows = indexing::index_rows(resource);
    if resource.get("resourceType").and_then(Value::as_str) == Some("Provenance") {
        for patient in provenance_target_compartments(conn, resource)? {
            if !rows.compartment.contains(&patient) {
                rows.compartment.push(patient);
            }
        }
    }
    Ok(rows)
}

/// The local `Type/id[/_history/v]` targets of a Provenance.
pub fn provenance_targets(resource: &Value) -> Vec<(String, String, Option<i64>)> {
    let Some(targets) = resource.get("target").and_then(Value::as_array) else { return Vec::new() };
    targets
        .iter()
        .filter_map(|t| t.get("reference").and_then(Value::as_str))
        .filter_map(|r| {
            let parts: Vec<&str> = r.split('/').collect();
            match parts.as_slice() {
                [t, id] => Some((t.to_string(), id.to_string(), None)),
                [t, id, "_history", v] => Some((t.to_string(), id.to_string(), Some(v.parse().ok()?))),
                _ => None,
            }
        })
        .filter(|(t, id, _)| crate::fhir::types::is_supported(t) && crate::fhir::resource::valid_id(id))
        .collect()
}

fn provenance_target_compartments(conn: &mut AnyConnection, resource: &Value) -> StoreResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (t, id, version) in provenance_targets(resource) {
        let patients = match version {
            Some(v) => match rows::read_version(conn, &t, &id, v)? {
                Some(e) => rows::history_compartment_of(conn, e.hseq)?,
                None => Vec::new(),
            },
            None => match rows::read(conn, &t, &id)? {
                Some(r) => rows::compartment_of(conn, r.seq)?,
                None => Vec::new(),
            },
        };
        for p in patients {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

const PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

/// Records who wrote a version through an app (a token with a grant, not an operator's): a Provenance
/// targeting that exact version, with the signed-in user as author and the app as assembler, written in
/// the same transaction. It lands in the compartment of what it is about, so
/// `_revinclude=Provenance:target` shows a patient who pushed what into their record.
pub(super) fn record_provenance(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    version_id: i64,
    created: bool,
) -> Result<(), ApiError> {
    let now = clock::now();
    let app = crate::store::auth::find_client(conn, &access.client_id)?.map(|c| c.name);
    let mut agents = Vec::new();
    let user_type =
        serde_json::json!({"coding": [{"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}]});
    match access.fhir_user.as_deref().filter(|u| u.split('/').count() == 2) {
        Some(user) => agents.push(serde_json::json!({"type": user_type, "who": {"reference": user}})),
        None => agents.push(serde_json::json!({"type": user_type, "who": {"display": access.subject}})),
    }
    agents.push(serde_json::json!({
        "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler", "display": "Assembler"}]},
        "who": {
            "identifier": {"system": "urn:bedside:client-id", "value": access.client_id},
            "display": app.unwrap_or_else(|| access.client_id.clone())
        }
    }));
    let (code, display) = if created { ("CREATE", "create") } else { ("UPDATE", "revise") };
    let provenance = serde_json::json!({
        "resourceType": "Provenance",
        "target": [{"reference": format!("{res_type}/{id}/_history/{version_id}")}],
        "recorded": now.text,
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": code, "display": display}]},
        "agent": agents
    });
    let pid = resource::new_id();
    let (value, bytes) = resource::finalize(provenance, &pid, 1, &now.text)?;
    let index = index_rows_stored(conn, &value)?;
    rows::write(
        conn,
        "Provenance",
        &pid,
        None,
        "POST",
        &now.text,
        NewVersion { content: bytes, deleted: false, index },
    )?;
    Ok(())
}
