//! The FHIR interactions as plain functions over one connection. HTTP handlers, batch/transaction
//! Bundles and the importer all call these, so access checks and validation have one home.
//!
//! Reads and history are here; writes (create, update, conditional update, patch, delete) in `write`;
//! the Provenance recorded for an app's writes and the compartments of a Provenance in `provenance`.

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

mod provenance;
mod write;

use provenance::record_provenance;
pub use provenance::{index_rows_stored, provenance_targets};
pub use write::{conditional_update, create, create_with_id, delete, patch, update};

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
