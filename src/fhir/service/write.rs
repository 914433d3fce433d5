//! The write interactions: create, update (also as create), conditional update, patch, delete. Each
//! checks the token through `guard` on the stored and the new content before storing a version.

use super::*;

/// Writes a validated resource as the next version of `res_type/id` (current row already read), if
/// the token may write it: through a patient-bound scope only when everything the new content names
/// is that patient's, and no stored version of the id belonged to anyone else.
fn store_version(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    current: Option<&StoredResource>,
    method: &str,
    validated: Value,
) -> Result<Done, ApiError> {
    let now = clock::now();
    let version = current.map(|c| c.version_id + 1).unwrap_or(1);
    let (value, bytes) = resource::finalize(validated, id, version, &now.text)?;
    let index = index_rows_stored(conn, &value)?;
    let created = current.map(|c| c.deleted).unwrap_or(true);
    let interaction = if created { Interaction::Create } else { Interaction::Update };
    if res_type == "Provenance" && guard::patient_bound(access, res_type, interaction)? {
        // The targets decide the Provenance's compartment: a patient-bound token may only name what it
        // can read, with one answer for someone else's resource and for none at all.
        for (t, target_id, _) in provenance_targets(&value) {
            let readable = match rows::read(conn, &t, &target_id)? {
                Some(row) if !row.deleted => current_visible(conn, access, &row, Interaction::Read)?,
                _ => false,
            };
            if !readable {
                return Err(ApiError::Forbidden(format!(
                    "a Provenance written with a patient-bound token must target resources the token can read; \
                     {t}/{target_id} is not one"
                )));
            }
        }
    }
    let past = match current {
        Some(_) => rows::history_patients(conn, res_type, id)?,
        None => Vec::new(),
    };
    if !guard::admits_write(access, res_type, id, &index, &past, interaction)? {
        return Err(ApiError::Forbidden(format!(
            "the access token's scopes do not allow writing this {res_type}: a patient-bound token writes only \
             resources whose every patient reference is its own patient (shared data such as Practitioner it \
             may only create), and granular scopes limit writes to their filter"
        )));
    }
    let w = rows::write(
        conn,
        res_type,
        id,
        current,
        method,
        &now.text,
        NewVersion { content: bytes.clone(), deleted: false, index },
    )?;
    if access.grant.is_some() && res_type != "Provenance" {
        record_provenance(conn, access, res_type, id, w.version_id, created)?;
    }
    Ok(Done {
        status: if created { 201 } else { 200 },
        res_type: res_type.to_string(),
        id: id.to_string(),
        version_id: w.version_id,
        last_updated: w.last_updated,
        content: bytes,
    })
}

/// `create`, with optional `If-None-Exist` (a search query): one match returns it unchanged (200),
/// several are 412.
pub fn create(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    body: Value,
    if_none_exist: Option<&str>,
) -> Result<Done, ApiError> {
    create_with_id(conn, access, res_type, body, if_none_exist, &resource::new_id())
}

/// `create` with a chosen id (transaction entries resolve `urn:uuid:` references to it first).
pub fn create_with_id(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    body: Value,
    if_none_exist: Option<&str>,
    id: &str,
) -> Result<Done, ApiError> {
    resource::check_type(res_type)?;
    crate::fhir::audit_event::refuse_writes(res_type)?;
    access.require(res_type, Interaction::Create)?;
    let validated = resource::validate(body, res_type, IdRule::ServerAssigned)?;
    if let Some(query) = if_none_exist {
        let matches = conditional_matches(conn, access, res_type, query)?;
        match matches.as_slice() {
            [] => {}
            [one] => return Ok(Done::of(one, 200)),
            _ => {
                return Err(ApiError::PreconditionFailed(format!(
                    "If-None-Exist {query:?} matches {} resources; it must match at most one",
                    matches.len()
                )))
            }
        }
    }
    store_version(conn, access, res_type, id, None, "POST", validated)
}

/// `update` (create-on-update when the id is new). `if_match` is the version the client last saw.
pub fn update(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    body: Value,
    if_match: Option<i64>,
) -> Result<Done, ApiError> {
    resource::check_type(res_type)?;
    crate::fhir::audit_event::refuse_writes(res_type)?;
    resource::check_id(id)?;
    let validated = resource::validate(body, res_type, IdRule::MustEqual(id))?;
    let current = rows::read_for_update(conn, res_type, id)?;
    let live = current.as_ref().filter(|c| !c.deleted);
    let visible = match live {
        Some(cur) => current_visible(conn, access, cur, Interaction::Update)?,
        None => false,
    };
    if !visible {
        // A patient-bound token cannot tell a free id from a deleted one or someone else's: it gets
        // one answer for all of them. That includes the types such a token does not reach at all
        // (compartment::UNATTRIBUTED_TYPES), whose scopes exist but do not count for it.
        let scoped =
            access.scopes.allows(res_type, Interaction::Update) || access.scopes.allows(res_type, Interaction::Create);
        if scoped
            && access.require(res_type, Interaction::Update).is_err()
            && access.require(res_type, Interaction::Create).is_err()
        {
            return Err(crate::smart::access::forbidden(res_type, Interaction::Update));
        }
        if guard::patient_bound(access, res_type, Interaction::Update)?
            || guard::patient_bound(access, res_type, Interaction::Create)?
        {
            return Err(no_client_ids(res_type, id));
        }
        if live.is_some() {
            access.require(res_type, Interaction::Update)?;
            return Err(not_found(res_type, id));
        }
        access.require(res_type, Interaction::Create)?;
    } else {
        access.require(res_type, Interaction::Update)?;
    }
    if let Some(expected) = if_match {
        let actual = current.as_ref().filter(|c| !c.deleted).map(|c| c.version_id);
        if actual != Some(expected) {
            return Err(ApiError::PreconditionFailed(format!(
                "If-Match expected version {expected} of {res_type}/{id}, but the current version is {}",
                actual.map(|v| v.to_string()).unwrap_or_else(|| "none".into())
            )));
        }
    }
    store_version(conn, access, res_type, id, current.as_ref(), "PUT", validated)
}

/// Conditional update: `PUT [type]?query`.
pub fn conditional_update(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    query: &str,
    body: Value,
) -> Result<Done, ApiError> {
    resource::check_type(res_type)?;
    let matches = conditional_matches(conn, access, res_type, query)?;
    let body_id = body.get("id").and_then(Value::as_str).map(str::to_string);
    match matches.as_slice() {
        [] => match body_id {
            Some(id) => update(conn, access, res_type, &id, body, None),
            None => create(conn, access, res_type, body, None),
        },
        [one] => {
            if let Some(bid) = &body_id {
                if bid != &one.res_id {
                    return Err(ApiError::BadRequest(format!(
                        "the body id {bid:?} differs from the matched resource {res_type}/{}",
                        one.res_id
                    )));
                }
            }
            let mut body = body;
            if let Some(o) = body.as_object_mut() {
                o.insert("id".into(), Value::String(one.res_id.clone()));
            }
            let id = one.res_id.clone();
            update(conn, access, res_type, &id, body, None)
        }
        _ => Err(ApiError::PreconditionFailed(format!(
            "the conditional update {query:?} matches {} resources; it must match at most one",
            matches.len()
        ))),
    }
}

/// `delete`: writes a deletion version; deleting something absent or already deleted succeeds.
pub fn delete(conn: &mut AnyConnection, access: &AccessContext, res_type: &str, id: &str) -> Result<(), ApiError> {
    resource::check_type(res_type)?;
    crate::fhir::audit_event::refuse_writes(res_type)?;
    access.require(res_type, Interaction::Delete)?;
    resource::check_id(id)?;
    let Some(cur) = rows::read_for_update(conn, res_type, id)? else { return Ok(()) };
    // Deleting something absent, already deleted or invisible to the token succeeds and changes
    // nothing: a patient-bound token behaves as if other patients' resources did not exist.
    if cur.deleted || !current_visible(conn, access, &cur, Interaction::Delete)? {
        return Ok(());
    }
    let compartment = rows::compartment_of(conn, cur.seq)?;
    let owned = IndexRows { compartment: compartment.clone(), ..Default::default() };
    if !guard::admits_delete(access, res_type, &owned)? {
        return Err(ApiError::Forbidden(format!(
            "the access token's scopes do not allow deleting {res_type}/{id}: a patient-bound token deletes only \
             resources that belong to its patient alone, never shared data"
        )));
    }
    let now = clock::now();
    rows::write(
        conn,
        res_type,
        id,
        Some(&cur),
        "DELETE",
        &now.text,
        // The deletion keeps the compartment of what it deleted, so its owner still sees it (410, history).
        NewVersion { content: Vec::new(), deleted: true, index: IndexRows { compartment, ..Default::default() } },
    )?;
    Ok(())
}

/// JSON Patch (RFC 6902) on the current version; the result is validated like any update.
pub fn patch(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    ops: &[json_patch::PatchOperation],
    limits: &crate::fhir::patch::PatchLimits,
    if_match: Option<i64>,
) -> Result<Done, ApiError> {
    let current = read(conn, access, res_type, id)?;
    access.require(res_type, Interaction::Update)?;
    let mut doc: Value = serde_json::from_slice(&current.content)
        .map_err(|e| ApiError::Internal(format!("stored resource unreadable: {e}")))?;
    crate::fhir::patch::apply(&mut doc, ops, limits)?;
    if doc.get("id").and_then(Value::as_str) != Some(id) {
        return Err(ApiError::Unprocessable("a patch may not change or remove the resource id".into()));
    }
    update(conn, access, res_type, id, doc, if_match.or(Some(current.version_id)))
}
