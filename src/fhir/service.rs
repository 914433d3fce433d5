//! The FHIR interactions as plain functions over one connection. HTTP handlers, batch/transaction
//! Bundles and the importer all call these, so access checks and validation have one home.

use serde_json::Value;

use super::resource::{self, IdRule};
use super::{guard, indexing};
use crate::clock;
use crate::error::ApiError;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::resources::{
    self as rows, HistoryAccess, HistoryClause, HistoryEntry, HistoryQuery, NewVersion, StoredResource,
};
use crate::store::search::{self as store_search, Condition, Query};
use crate::store::{index::IndexRows, AnyConnection, StoreResult};

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

/// Is the current row visible to the token for `interaction`? One indexed query with the token's
/// reach as conditions (none when the token reaches the type without limits). A deleted row keeps
/// the compartment of the version it deleted (not its content), so only patient limits apply to it.
fn current_visible(
    conn: &mut AnyConnection,
    access: &AccessContext,
    row: &StoredResource,
    interaction: Interaction,
) -> Result<bool, ApiError> {
    let reaches = guard::reach(access, &row.res_type, interaction)?;
    if reaches.is_empty() {
        return Ok(false);
    }
    if reaches.iter().any(guard::Reach::unlimited) {
        return Ok(true);
    }
    if row.deleted {
        let rows = IndexRows { compartment: rows::compartment_of(conn, row.seq)?, ..Default::default() };
        return guard::admits(access, &row.res_type, &row.res_id, &rows, interaction);
    }
    let mut q = Query {
        res_types: vec![row.res_type.clone()],
        all_of: vec![vec![Condition::Id(row.res_id.clone())]],
        limit: 1,
        ..Default::default()
    };
    guard::restrict(&mut q, access, interaction)?;
    Ok(!store_search::find(conn, &q)?.is_empty())
}

/// The index rows of one stored version, for checks on its own content: computed from the content,
/// or for a deletion the compartment it kept.
fn version_rows(conn: &mut AnyConnection, entry: &HistoryEntry) -> Result<IndexRows, ApiError> {
    if entry.deleted {
        return Ok(IndexRows { compartment: rows::history_compartment_of(conn, entry.hseq)?, ..Default::default() });
    }
    let value: Value = serde_json::from_slice(&entry.content).map_err(|e| {
        ApiError::Internal(format!(
            "stored version {}/{}/{} unreadable: {e}",
            entry.res_type, entry.res_id, entry.version_id
        ))
    })?;
    Ok(index_rows_stored(conn, &value)?)
}

/// Does the token see this stored version (checked on its own content)?
fn version_visible(
    conn: &mut AnyConnection,
    access: &AccessContext,
    entry: &HistoryEntry,
    interaction: Interaction,
) -> Result<bool, ApiError> {
    let reaches = guard::reach(access, &entry.res_type, interaction)?;
    if reaches.is_empty() {
        return Ok(false);
    }
    if reaches.iter().any(guard::Reach::unlimited) {
        return Ok(true);
    }
    let rows = version_rows(conn, entry)?;
    guard::admits(access, &entry.res_type, &entry.res_id, &rows, interaction)
}

/// The current content of `res_type/id` (None when unknown or deleted), for the server's own use only:
/// the authorization server names the signed-in patient on its pages and checks that a launch's
/// patient exists. Never reached from a FHIR request; apps read through [`read`].
pub fn current_for_server(
    conn: &mut AnyConnection,
    res_type: &str,
    id: &str,
) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
    Ok(rows::read(conn, res_type, id)?.filter(|r| !r.deleted).map(|r| r.content))
}

/// Is a resource stored (and not deleted)? Server-side, for checks such as a launch context's patient.
pub fn exists(conn: &mut AnyConnection, res_type: &str, id: &str) -> Result<bool, crate::store::StoreError> {
    Ok(current_for_server(conn, res_type, id)?.is_some())
}

/// The resources a conditional create/update query matches (at most a few are loaded).
pub fn conditional_matches(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    query: &str,
) -> Result<Vec<StoredResource>, ApiError> {
    let query = query.trim_start_matches('?');
    let query = query.split_once('?').map(|(_, q)| q).unwrap_or(query);
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if params.is_empty() {
        return Err(ApiError::PreconditionFailed("a conditional request needs search criteria".into()));
    }
    let mut q = super::search::query::build(res_type, &params, access)?;
    q.limit = 3;
    let seqs: Vec<i64> = store_search::find(conn, &q)?.into_iter().map(|h| h.seq).collect();
    Ok(rows::read_many(conn, &seqs)?)
}

fn not_found(res_type: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("{res_type}/{id} is not known"))
}

/// The one answer a patient-bound token gets for a PUT to an id it cannot see — free, deleted or
/// someone else's alike — so that ids of other patients cannot be told apart from free ones.
fn no_client_ids(res_type: &str, id: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "{res_type}/{id} cannot be written with this token: a patient-bound token updates only its patient's \
         existing resources and creates new ones with POST (the server assigns the id)"
    ))
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
    if !current_visible(conn, access, &row, Interaction::Read)? {
        return Err(not_found(res_type, id));
    }
    if row.deleted {
        return Err(ApiError::Gone(format!("{res_type}/{id} was deleted")));
    }
    Ok(row)
}

/// `vread`: one version, checked on its own content (a version that named another patient, or fell
/// outside a granular scope, is 404 like an unknown one).
pub fn vread(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    id: &str,
    version: &str,
) -> Result<HistoryEntry, ApiError> {
    resource::check_type(res_type)?;
    access.require(res_type, Interaction::Read)?;
    resource::check_id(id)?;
    let unknown = || ApiError::NotFound(format!("{res_type}/{id}/_history/{version} is not known"));
    let vid: i64 = version.parse().map_err(|_| unknown())?;
    let entry = rows::read_version(conn, res_type, id, vid)?.ok_or_else(unknown)?;
    if !version_visible(conn, access, &entry, Interaction::Read)? {
        return Err(unknown());
    }
    if entry.deleted {
        return Err(ApiError::Gone(format!("version {vid} of {res_type}/{id} is a deletion")));
    }
    Ok(entry)
}

/// What a history listing covers.
pub struct HistoryRequest {
    pub res_type: Option<String>,
    pub res_id: Option<String>,
    pub since: Option<String>,
    /// Keyset cursor: entries older than this history sequence number.
    pub before: Option<i64>,
    pub count: usize,
}

/// One page of history.
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// Where the next page starts (a history sequence number), when there is more.
    pub next_before: Option<i64>,
}

/// At most this many history rows are looked at per page before answering with a shorter page (and a
/// `next` link), so a page of rare matches cannot scan the whole history at once.
const HISTORY_SCAN_ROUNDS: usize = 8;

/// `history` (instance, type or system): every version checked on its own content. The token's
/// type and patient limits are conditions of the query (pages stay full); granular filters are
/// then checked on each version's content. Instance history of a resource none of whose versions
/// the token sees is 404, like an unknown one.
pub fn history(conn: &mut AnyConnection, access: &AccessContext, req: HistoryRequest) -> Result<HistoryPage, ApiError> {
    match &req.res_type {
        Some(t) => {
            resource::check_type(t)?;
            access.require(t, Interaction::Read)?;
        }
        None if !access.scopes.allows("*", Interaction::Read) => {
            return Err(ApiError::Forbidden("system history needs read access to all resource types (*.read)".into()))
        }
        None => {}
    }
    if let Some(id) = &req.res_id {
        resource::check_id(id)?;
    }
    let types: Vec<String> = match &req.res_type {
        Some(t) => vec![t.clone()],
        None => super::types::SUPPORTED_TYPES.iter().map(|t| t.to_string()).collect(),
    };
    let mut unlimited_types = Vec::new();
    let mut checked_types = Vec::new();
    let mut by_patient: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for t in &types {
        let reaches = guard::reach(access, t, Interaction::Read)?;
        if reaches.is_empty() {
            continue;
        }
        if reaches.iter().any(guard::Reach::unlimited) {
            unlimited_types.push(t.clone());
            continue;
        }
        checked_types.push(t.clone());
        match reaches.iter().map(|r| r.patient.clone()).collect::<Option<Vec<String>>>() {
            // Every way in is patient-limited: only versions in those compartments.
            Some(patients) => {
                for p in patients {
                    by_patient.entry(p).or_default().push(t.clone());
                }
            }
            None => unlimited_types.push(t.clone()),
        }
    }
    let mut scope = HistoryAccess::default();
    if !unlimited_types.is_empty() {
        let all = unlimited_types.len() == types.len() && req.res_type.is_none();
        scope.any_of.push(HistoryClause { types: (!all).then_some(unlimited_types), patient: None });
    }
    for (p, ts) in by_patient {
        scope.any_of.push(HistoryClause { types: Some(ts), patient: Some(p) });
    }
    let count = req.count.max(1);
    let mut q = HistoryQuery {
        res_type: req.res_type.clone(),
        res_id: req.res_id.clone(),
        since: req.since.clone(),
        before: req.before,
        limit: count as i64 + 1,
    };
    let mut entries = Vec::with_capacity(count + 1);
    let mut next_before = None;
    for round in 0..HISTORY_SCAN_ROUNDS {
        let batch = rows::history(conn, &q, &scope)?;
        let exhausted = (batch.len() as i64) < q.limit;
        let last = batch.last().map(|e| e.hseq);
        for e in batch {
            let ok = !checked_types.contains(&e.res_type) || version_visible(conn, access, &e, Interaction::Read)?;
            if ok {
                if entries.len() == count {
                    // One more than a page: there is a next page, starting after the last one kept.
                    next_before = entries.last().map(|x: &HistoryEntry| x.hseq);
                    break;
                }
                entries.push(e);
            }
        }
        if next_before.is_some() || exhausted {
            break;
        }
        q.before = last;
        if round + 1 == HISTORY_SCAN_ROUNDS {
            next_before = last;
        }
    }
    if req.res_id.is_some() && req.before.is_none() && entries.is_empty() {
        let (t, id) = (req.res_type.unwrap_or_default(), req.res_id.unwrap_or_default());
        return Err(not_found(&t, &id));
    }
    Ok(HistoryPage { entries, next_before })
}

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
    super::audit_event::refuse_writes(res_type)?;
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
    super::audit_event::refuse_writes(res_type)?;
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
    super::audit_event::refuse_writes(res_type)?;
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
fn record_provenance(
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
