//! The FHIR interactions as plain functions over one connection. HTTP handlers, batch/transaction
//! Bundles and the importer all call these, so access checks and validation have one home.

use serde_json::Value;

use super::resource::{self, IdRule};
use super::{indexing, instant};
use crate::error::ApiError;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::resources::{self as rows, NewVersion, StoredResource};
use crate::store::{index::IndexRows, AnyConnection};

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Done {
    /// 200 (updated / existing match) or 201 (created).
    pub status: u16,
    pub res_type: String,
    pub id: String,
    pub version_id: i64,
    pub last_updated: String,
    /// The stored JSON (empty after a delete).
    pub content: Vec<u8>,
}

impl Done {
    fn of(row: &StoredResource, status: u16) -> Done {
        Done {
            status,
            res_type: row.res_type.clone(),
            id: row.res_id.clone(),
            version_id: row.version_id,
            last_updated: row.last_updated.clone(),
            content: row.content.clone(),
        }
    }
}

/// Is the resource inside what the token may see? Types outside the Patient compartment (Practitioner,
/// Organization, Location, Medication, …) are shared reference data and visible to any token allowed
/// to read the type.
pub fn visible(conn: &mut AnyConnection, access: &AccessContext, row: &StoredResource) -> Result<bool, ApiError> {
    visible_for(conn, access, row, Interaction::Read)
}

/// [`visible`] for one interaction: inside the token's patient compartment and, for granular scopes
/// (`patient/Observation.rs?category=…`), matching one of the granted filters.
pub fn visible_for(
    conn: &mut AnyConnection,
    access: &AccessContext,
    row: &StoredResource,
    interaction: Interaction,
) -> Result<bool, ApiError> {
    if let Some(patient) = access.compartment_patient() {
        if super::compartment::is_compartment_type(&row.res_type) && !rows::in_compartment(conn, row.seq, patient)? {
            return Ok(false);
        }
    }
    matches_scope_filters(conn, access, &row.res_type, &row.res_id, interaction)
}

/// Does the current version of `res_type/id` match the granted granular filters (if any)?
fn matches_scope_filters(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    interaction: Interaction,
) -> Result<bool, ApiError> {
    let groups = super::search::query::scope_filters(res_type, access, interaction)?;
    if groups.is_empty() {
        return Ok(true);
    }
    let mut q = crate::store::search::Query {
        res_types: vec![res_type.to_string()],
        all_of: groups,
        limit: 1,
        ..Default::default()
    };
    q.all_of.push(vec![crate::store::search::Condition::Id(id.to_string())]);
    Ok(!crate::store::search::find(conn, &q)?.is_empty())
}

/// Would a new version with these compartments stay inside the token's patient?
fn writable_content(access: &AccessContext, res_type: &str, index: &IndexRows) -> Result<(), ApiError> {
    if let Some(patient) = access.compartment_patient() {
        if super::compartment::is_compartment_type(res_type) && !index.compartment.iter().any(|p| p == patient) {
            return Err(ApiError::Forbidden(format!(
                "this token may only write resources that belong to Patient/{patient}"
            )));
        }
    }
    Ok(())
}

fn not_found(res_type: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("{res_type}/{id} is not known"))
}

/// `read`: current version; 404 when unknown or outside the grant, 410 when deleted.
pub fn read(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
) -> Result<StoredResource, ApiError> {
    resource::check_type(res_type)?;
    access.require(res_type, Interaction::Read)?;
    resource::check_id(id)?;
    let row = rows::read(conn, res_type, id)?.ok_or_else(|| not_found(res_type, id))?;
    if !visible(conn, access, &row)? {
        return Err(not_found(res_type, id));
    }
    if row.deleted {
        return Err(ApiError::Gone(format!("{res_type}/{id} was deleted")));
    }
    Ok(row)
}

/// `vread`: one version (the access check uses the current row's compartment).
pub fn vread(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    version: &str,
) -> Result<rows::HistoryEntry, ApiError> {
    resource::check_type(res_type)?;
    access.require(res_type, Interaction::Read)?;
    resource::check_id(id)?;
    let vid: i64 =
        version.parse().map_err(|_| ApiError::NotFound(format!("{res_type}/{id} has no version {version:?}")))?;
    let current = rows::read(conn, res_type, id)?.ok_or_else(|| not_found(res_type, id))?;
    if !visible(conn, access, &current)? {
        return Err(not_found(res_type, id));
    }
    let entry = rows::read_version(conn, res_type, id, vid)?
        .ok_or_else(|| ApiError::NotFound(format!("{res_type}/{id} has no version {vid}")))?;
    if entry.deleted {
        return Err(ApiError::Gone(format!("version {vid} of {res_type}/{id} is a deletion")));
    }
    Ok(entry)
}

/// Writes a validated resource as the next version of `res_type/id` (current row already read).
fn store_version(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    current: Option<&StoredResource>,
    method: &str,
    validated: Value,
) -> Result<Done, ApiError> {
    let now = instant::now();
    let version = current.map(|c| c.version_id + 1).unwrap_or(1);
    let (value, bytes) = resource::finalize(validated, id, version, &now.text)?;
    let index = indexing::index_rows(&value);
    writable_content(access, res_type, &index)?;
    let created = current.map(|c| c.deleted).unwrap_or(true);
    let w = rows::write(
        conn,
        res_type,
        id,
        current,
        method,
        &now.text,
        NewVersion { content: bytes.clone(), deleted: false, index },
    )?;
    // Granular scopes limit writes too: the new version must match a granted filter (the caller's
    // transaction rolls the write back otherwise).
    let interaction = if created { Interaction::Create } else { Interaction::Update };
    if !matches_scope_filters(conn, access, res_type, id, interaction)? {
        return Err(ApiError::Forbidden(format!(
            "the access token's scopes do not allow this {res_type} (outside the granted filter)"
        )));
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
    crate::audit::search::refuse_writes(res_type)?;
    access.require(res_type, Interaction::Create)?;
    let validated = resource::validate(body, res_type, IdRule::ServerAssigned)?;
    if let Some(query) = if_none_exist {
        let matches = super::search::query::conditional_matches(conn, access, res_type, query)?;
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
    crate::audit::search::refuse_writes(res_type)?;
    resource::check_id(id)?;
    let validated = resource::validate(body, res_type, IdRule::MustEqual(id))?;
    let current = rows::read_for_update(conn, res_type, id)?;
    match &current {
        Some(cur) if !cur.deleted => {
            access.require(res_type, Interaction::Update)?;
            if !visible_for(conn, access, cur, Interaction::Update)? {
                return Err(not_found(res_type, id));
            }
        }
        _ => {
            access.require(res_type, Interaction::Create)?;
        }
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
    let matches = super::search::query::conditional_matches(conn, access, res_type, query)?;
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
    crate::audit::search::refuse_writes(res_type)?;
    access.require(res_type, Interaction::Delete)?;
    resource::check_id(id)?;
    let Some(cur) = rows::read_for_update(conn, res_type, id)? else { return Ok(()) };
    if !visible_for(conn, access, &cur, Interaction::Delete)? {
        return Err(not_found(res_type, id));
    }
    if cur.deleted {
        return Ok(());
    }
    let now = instant::now();
    rows::write(
        conn,
        res_type,
        id,
        Some(&cur),
        "DELETE",
        &now.text,
        NewVersion { content: Vec::new(), deleted: true, index: IndexRows::default() },
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
    limits: &super::patch::PatchLimits,
    if_match: Option<i64>,
) -> Result<Done, ApiError> {
    let current = read(conn, access, res_type, id)?;
    access.require(res_type, Interaction::Update)?;
    let mut doc: Value = serde_json::from_slice(&current.content)
        .map_err(|e| ApiError::Internal(format!("stored resource unreadable: {e}")))?;
    super::patch::apply(&mut doc, ops, limits)?;
    if doc.get("id").and_then(Value::as_str) != Some(id) {
        return Err(ApiError::Unprocessable("a patch may not change or remove the resource id".into()));
    }
    update(conn, access, res_type, id, doc, if_match.or(Some(current.version_id)))
}
