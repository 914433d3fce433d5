//! Resource rows: current versions, history, and the index rows written with them.
//!
//! Every write (create, update, delete) is one call to [`write`] inside a [`super::write_tx`]: the
//! current row, a history row and all index rows change together or not at all. Concurrency is
//! optimistic: the current row is updated only if its version is still the one that was read.

use diesel::prelude::*;

use super::schema::{compartment, history_compartment, resource_history, resources};
use super::{AnyConnection, StoreError, StoreResult};
use crate::store::index::{self, IndexRows};

/// A stored resource version, current or historical.
#[derive(Debug, Clone, Queryable)]
pub struct StoredResource {
    pub seq: i64,
    pub res_type: String,
    pub res_id: String,
    pub version_id: i64,
    pub last_updated: String,
    pub deleted: bool,
    pub content: Vec<u8>,
}

/// A history entry (`seq` is the history row's own sequence number, used for paging).
#[derive(Debug, Clone, Queryable)]
pub struct HistoryEntry {
    pub hseq: i64,
    pub res_type: String,
    pub res_id: String,
    pub version_id: i64,
    pub last_updated: String,
    pub deleted: bool,
    pub method: String,
    pub content: Vec<u8>,
}

/// The current row of `res_type/res_id`, deleted or not.
pub fn read(conn: &mut AnyConnection, res_type: &str, res_id: &str) -> StoreResult<Option<StoredResource>> {
    Ok(resources::table
        .filter(resources::res_type.eq(res_type))
        .filter(resources::res_id.eq(res_id))
        .first::<StoredResource>(conn)
        .optional()?)
}

/// The current row, locked for the rest of the write transaction so concurrent writers of the same
/// resource queue up instead of failing (PostgreSQL `FOR UPDATE`; a SQLite write transaction already
/// holds the database's write lock).
pub fn read_for_update(conn: &mut AnyConnection, res_type: &str, res_id: &str) -> StoreResult<Option<StoredResource>> {
    match conn {
        AnyConnection::Postgresql(c) => Ok(resources::table
            .filter(resources::res_type.eq(res_type))
            .filter(resources::res_id.eq(res_id))
            .for_update()
            .first::<StoredResource>(c)
            .optional()?),
        AnyConnection::Sqlite(_) => read(conn, res_type, res_id),
    }
}

/// Current, non-deleted rows by sequence number, in the order given.
pub fn read_many(conn: &mut AnyConnection, seqs: &[i64]) -> StoreResult<Vec<StoredResource>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(500) {
        rows.extend(
            resources::table
                .filter(resources::seq.eq_any(chunk))
                .filter(resources::deleted.eq(false))
                .load::<StoredResource>(conn)?,
        );
    }
    let order: std::collections::HashMap<i64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    rows.sort_by_key(|r| order.get(&r.seq).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

/// One version of `res_type/res_id`.
pub fn read_version(
    conn: &mut AnyConnection,
    res_type: &str,
    res_id: &str,
    version_id: i64,
) -> StoreResult<Option<HistoryEntry>> {
    Ok(resource_history::table
        .filter(resource_history::res_type.eq(res_type))
        .filter(resource_history::res_id.eq(res_id))
        .filter(resource_history::version_id.eq(version_id))
        .first::<HistoryEntry>(conn)
        .optional()?)
}

/// Which history to list: everything, one type, or one resource; newest first.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub res_type: Option<String>,
    pub res_id: Option<String>,
    /// Only versions written at or after this instant (`_since`, FHIR instant text in UTC).
    pub since: Option<String>,
    /// Keyset cursor: only entries older than this history sequence number.
    pub before: Option<i64>,
    pub limit: i64,
}

/// Which versions a history listing may show: a version passes when one clause admits it. A clause
/// admits versions of its types (all types when None) that, when it names a patient, were in that
/// patient's compartment (`history_compartment`).
#[derive(Debug, Clone, Default)]
pub struct HistoryAccess {
    pub any_of: Vec<HistoryClause>,
}

#[derive(Debug, Clone)]
pub struct HistoryClause {
    pub types: Option<Vec<String>>,
    pub patient: Option<String>,
}

pub fn history(conn: &mut AnyConnection, q: &HistoryQuery, access: &HistoryAccess) -> StoreResult<Vec<HistoryEntry>> {
    use diesel::dsl::exists;
    let mut query = resource_history::table.into_boxed();
    // Access as one OR of clauses, inside the query (so pages stay full).
    let mut access_filter: Option<
        Box<dyn BoxableExpression<resource_history::table, _, SqlType = diesel::sql_types::Bool>>,
    > = None;
    for clause in &access.any_of {
        let mut f: Box<dyn BoxableExpression<resource_history::table, _, SqlType = diesel::sql_types::Bool>> =
            Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 1"));
        if let Some(types) = &clause.types {
            f = Box::new(f.and(resource_history::res_type.eq_any(types.clone())));
        }
        if let Some(p) = &clause.patient {
            f = Box::new(
                f.and(exists(
                    history_compartment::table
                        .filter(history_compartment::hseq.eq(resource_history::hseq))
                        .filter(history_compartment::patient_id.eq(p.clone())),
                )),
            );
        }
        access_filter = Some(match access_filter {
            None => f,
            Some(prev) => Box::new(prev.or(f)),
        });
    }
    match access_filter {
        Some(f) => query = query.filter(f),
        None => query = query.filter(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")),
    }
    if let Some(t) = &q.res_type {
        query = query.filter(resource_history::res_type.eq(t.clone()));
    }
    if let Some(id) = &q.res_id {
        query = query.filter(resource_history::res_id.eq(id.clone()));
    }
    if let Some(since) = &q.since {
        query = query.filter(resource_history::last_updated.ge(since.clone()));
    }
    if let Some(before) = q.before {
        query = query.filter(resource_history::hseq.lt(before));
    }
    Ok(query.order(resource_history::hseq.desc()).limit(q.limit).load::<HistoryEntry>(conn)?)
}

/// What a write stores: the JSON exactly as it will be served (meta already set) and its index rows.
pub struct NewVersion {
    pub content: Vec<u8>,
    pub deleted: bool,
    pub index: IndexRows,
}

/// The result of [`write`].
#[derive(Debug, Clone)]
pub struct Written {
    pub seq: i64,
    pub version_id: i64,
    pub last_updated: String,
    pub created: bool,
}

/// Writes the next version of `res_type/res_id`. `current` is the row the caller read in this same
/// transaction (None: the resource never existed). `build` receives the new version number and
/// returns the content to store. Fails with [`StoreError::Conflict`] if another writer got there first.
pub fn write(
    conn: &mut AnyConnection,
    res_type: &str,
    res_id: &str,
    current: Option<&StoredResource>,
    method: &str,
    last_updated: &str,
    new: NewVersion,
) -> StoreResult<Written> {
    let key = format!("{res_type}/{res_id}");
    let version_id = current.map(|c| c.version_id + 1).unwrap_or(1);
    let seq = match current {
        None => {
            let inserted = diesel::insert_into(resources::table)
                .values((
                    resources::res_type.eq(res_type),
                    resources::res_id.eq(res_id),
                    resources::version_id.eq(version_id),
                    resources::last_updated.eq(last_updated),
                    resources::deleted.eq(new.deleted),
                    resources::content.eq(&new.content),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => {}
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                    return Err(StoreError::Conflict(key))
                }
                Err(e) => return Err(e.into()),
            }
            resources::table
                .filter(resources::res_type.eq(res_type))
                .filter(resources::res_id.eq(res_id))
                .select(resources::seq)
                .first::<i64>(conn)?
        }
        Some(cur) => {
            let n = diesel::update(
                resources::table.filter(resources::seq.eq(cur.seq)).filter(resources::version_id.eq(cur.version_id)),
            )
            .set((
                resources::version_id.eq(version_id),
                resources::last_updated.eq(last_updated),
                resources::deleted.eq(new.deleted),
                resources::content.eq(&new.content),
            ))
            .execute(conn)?;
            if n != 1 {
                return Err(StoreError::Conflict(key));
            }
            cur.seq
        }
    };
    diesel::insert_into(resource_history::table)
        .values((
            resource_history::res_type.eq(res_type),
            resource_history::res_id.eq(res_id),
            resource_history::version_id.eq(version_id),
            resource_history::last_updated.eq(last_updated),
            resource_history::deleted.eq(new.deleted),
            resource_history::method.eq(method),
            resource_history::content.eq(&new.content),
        ))
        .execute(conn)?;
    let hseq = resource_history::table
        .filter(resource_history::res_type.eq(res_type))
        .filter(resource_history::res_id.eq(res_id))
        .filter(resource_history::version_id.eq(version_id))
        .select(resource_history::hseq)
        .first::<i64>(conn)?;
    insert_history_compartment(conn, hseq, &new.index.compartment)?;
    // A new resource has no index rows to delete (sequence numbers are never reused).
    if current.is_none() {
        index::insert(conn, seq, res_type, &new.index)?;
    } else {
        index::replace(conn, seq, res_type, &new.index)?;
    }
    Ok(Written { seq, version_id, last_updated: last_updated.to_string(), created: current.is_none() })
}

/// Sets the patients whose compartment held one stored version (`hseq`).
pub fn replace_history_compartment(conn: &mut AnyConnection, hseq: i64, patients: &[String]) -> StoreResult<()> {
    diesel::delete(history_compartment::table.filter(history_compartment::hseq.eq(hseq))).execute(conn)?;
    insert_history_compartment(conn, hseq, patients)
}

/// Records the patients of a version just written (one multi-row INSERT).
fn insert_history_compartment(conn: &mut AnyConnection, hseq: i64, patients: &[String]) -> StoreResult<()> {
    let mut patients: Vec<&String> = patients.iter().collect();
    patients.sort();
    patients.dedup();
    if patients.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> =
        patients.iter().map(|p| (history_compartment::hseq.eq(hseq), history_compartment::patient_id.eq(*p))).collect();
    match conn {
        AnyConnection::Postgresql(c) => diesel::insert_into(history_compartment::table).values(&rows).execute(c)?,
        AnyConnection::Sqlite(c) => diesel::insert_into(history_compartment::table).values(&rows).execute(c)?,
    };
    Ok(())
}

/// The patients whose compartment held the stored version `hseq`.
pub fn history_compartment_of(conn: &mut AnyConnection, hseq: i64) -> StoreResult<Vec<String>> {
    Ok(history_compartment::table
        .filter(history_compartment::hseq.eq(hseq))
        .select(history_compartment::patient_id)
        .order(history_compartment::patient_id.asc())
        .load::<String>(conn)?)
}

/// The patients named by any stored version of `res_type/res_id` (deletions included).
pub fn history_patients(conn: &mut AnyConnection, res_type: &str, res_id: &str) -> StoreResult<Vec<String>> {
    Ok(history_compartment::table
        .inner_join(resource_history::table.on(resource_history::hseq.eq(history_compartment::hseq)))
        .filter(resource_history::res_type.eq(res_type))
        .filter(resource_history::res_id.eq(res_id))
        .select(history_compartment::patient_id)
        .distinct()
        .load::<String>(conn)?)
}

/// The patients whose compartment holds the current row `seq` (a deleted row keeps the compartment of
/// the version it deleted).
pub fn compartment_of(conn: &mut AnyConnection, seq: i64) -> StoreResult<Vec<String>> {
    Ok(compartment::table
        .filter(compartment::res_seq.eq(seq))
        .select(compartment::patient_id)
        .order(compartment::patient_id.asc())
        .load::<String>(conn)?)
}

/// Every stored version (for re-indexing), `batch` at a time after `after_hseq`.
pub fn scan_history(conn: &mut AnyConnection, after_hseq: i64, batch: i64) -> StoreResult<Vec<HistoryEntry>> {
    Ok(resource_history::table
        .filter(resource_history::hseq.gt(after_hseq))
        .order(resource_history::hseq.asc())
        .limit(batch)
        .load::<HistoryEntry>(conn)?)
}

/// Is `seq` in the compartment of `patient_id`?
pub fn in_compartment(conn: &mut AnyConnection, seq: i64, patient_id: &str) -> StoreResult<bool> {
    let n: i64 = compartment::table
        .filter(compartment::res_seq.eq(seq))
        .filter(compartment::patient_id.eq(patient_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Every current, non-deleted row (for re-indexing), `batch` at a time after `after_seq`.
pub fn scan(conn: &mut AnyConnection, after_seq: i64, batch: i64) -> StoreResult<Vec<StoredResource>> {
    Ok(resources::table
        .filter(resources::seq.gt(after_seq))
        .order(resources::seq.asc())
        .limit(batch)
        .load::<StoredResource>(conn)?)
}
