//! The access log (`audit_log`): batches written by the background writer (`crate::audit`), and the
//! queries behind the patient's activity pages and `GET /fhir/AuditEvent`. Plain diesel DSL, so the
//! same code runs on SQLite and PostgreSQL.

use diesel::prelude::*;

use super::schema::{compartment, resources};
use super::{write_tx, AnyConnection, StoreResult};

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        recorded -> BigInt,
        client_id -> Text,
        grant_id -> Nullable<Text>,
        fhir_user -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        action -> Text,
        interaction -> Text,
        res_type -> Nullable<Text>,
        method -> Text,
        path -> Text,
        status -> Integer,
        refs -> Text,
        ref_total -> BigInt,
    }
}

/// One stored access. `refs` are space-separated references (`Observation/1`, `Patient/2/_history/3`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct AuditRow {
    pub id: i64,
    /// Unix milliseconds.
    pub recorded: i64,
    pub client_id: String,
    pub grant_id: Option<String>,
    pub fhir_user: Option<String>,
    pub patient_id: Option<String>,
    /// R, C, U, D or E.
    pub action: String,
    /// The FHIR restful-interaction code (`read`, `search-type`, `create`, …).
    pub interaction: String,
    pub res_type: Option<String>,
    pub method: String,
    /// Path and query, without secrets.
    pub path: String,
    pub status: i32,
    pub refs: String,
    pub ref_total: i64,
}

impl AuditRow {
    pub fn ref_list(&self) -> impl Iterator<Item = &str> {
        self.refs.split_whitespace()
    }
}

/// A row to insert (the id is assigned by the database).
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = audit_log)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewAuditRow {
    pub recorded: i64,
    pub client_id: String,
    pub grant_id: Option<String>,
    pub fhir_user: Option<String>,
    pub patient_id: Option<String>,
    pub action: String,
    pub interaction: String,
    pub res_type: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub refs: String,
    pub ref_total: i64,
}

/// Inserts a batch in one transaction.
pub fn insert_batch(conn: &mut AnyConnection, rows: &[NewAuditRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    write_tx(conn, |c| -> StoreResult<()> {
        for row in rows {
            diesel::insert_into(audit_log::table).values(row).execute(c)?;
        }
        Ok(())
    })
}

/// The patients whose compartments hold these current resources: `(type, id, patient)` for every
/// `(type, id)` given that is in one or more compartments. One indexed query per type (and 500 ids).
pub fn compartments_of(
    conn: &mut AnyConnection,
    refs: &[(String, String)],
) -> StoreResult<Vec<(String, String, String)>> {
    let mut by_type: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (t, id) in refs {
        by_type.entry(t.as_str()).or_default().push(id.as_str());
    }
    let mut out = Vec::new();
    for (t, mut ids) in by_type {
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(500) {
            let found: Vec<(String, String, String)> = resources::table
                .inner_join(compartment::table.on(compartment::res_seq.eq(resources::seq)))
                .filter(resources::res_type.eq(t))
                .filter(resources::res_id.eq_any(chunk))
                .select((resources::res_type, resources::res_id, compartment::patient_id))
                .load(conn)?;
            out.extend(found);
        }
    }
    Ok(out)
}

/// Whose accesses a query lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Everything about one patient's record (a patient's own page, a patient token).
    Patient(String),
    /// What was done under these grants (a practitioner's page).
    Grants(Vec<String>),
    /// Everything (user/ and system/ tokens searching AuditEvent).
    All,
}

/// A condition on the patient of a row (`patient=`, `patient:missing=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientMatch {
    Is(String),
    Missing,
    Present,
}

/// Filters of an access-log query; results are newest first, keyset-paged on `(recorded, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub owner: Owner,
    pub client_id: Option<String>,
    pub patient: Option<PatientMatch>,
    /// Only rows by this user (`Practitioner/1`).
    pub fhir_user: Option<String>,
    /// Inclusive bounds on `recorded` (ms), each AND-ed.
    pub recorded_min: Vec<i64>,
    pub recorded_max: Vec<i64>,
    /// Keyset cursor: only rows older than `(recorded, id)`.
    pub before: Option<(i64, i64)>,
    pub limit: i64,
}

impl LogQuery {
    pub fn new(owner: Owner, limit: i64) -> LogQuery {
        LogQuery {
            owner,
            client_id: None,
            patient: None,
            fhir_user: None,
            recorded_min: Vec::new(),
            recorded_max: Vec::new(),
            before: None,
            limit,
        }
    }
}

type Boxed<'a> = audit_log::BoxedQuery<'a, <AnyConnection as diesel::Connection>::Backend>;

/// The rows a query matches (before its cursor and limit).
fn matching(q: &LogQuery) -> Boxed<'static> {
    let mut query = audit_log::table.into_boxed();
    match &q.owner {
        Owner::Patient(p) => query = query.filter(audit_log::patient_id.eq(p.clone())),
        Owner::Grants(g) => query = query.filter(audit_log::grant_id.eq_any(g.clone())),
        Owner::All => {}
    }
    if let Some(c) = &q.client_id {
        query = query.filter(audit_log::client_id.eq(c.clone()));
    }
    match &q.patient {
        Some(PatientMatch::Is(p)) => query = query.filter(audit_log::patient_id.eq(p.clone())),
        Some(PatientMatch::Missing) => query = query.filter(audit_log::patient_id.is_null()),
        Some(PatientMatch::Present) => query = query.filter(audit_log::patient_id.is_not_null()),
        None => {}
    }
    if let Some(u) = &q.fhir_user {
        query = query.filter(audit_log::fhir_user.eq(u.clone()));
    }
    for min in &q.recorded_min {
        query = query.filter(audit_log::recorded.ge(*min));
    }
    for max in &q.recorded_max {
        query = query.filter(audit_log::recorded.le(*max));
    }
    query
}

/// One page of the log, newest first.
pub fn list(conn: &mut AnyConnection, q: &LogQuery) -> StoreResult<Vec<AuditRow>> {
    let mut query = matching(q);
    if let Some((r, id)) = q.before {
        query = query.filter(audit_log::recorded.lt(r).or(audit_log::recorded.eq(r).and(audit_log::id.lt(id))));
    }
    Ok(query.order((audit_log::recorded.desc(), audit_log::id.desc())).limit(q.limit).load::<AuditRow>(conn)?)
}

/// How many rows a query matches (its cursor and limit aside).
pub fn count(conn: &mut AnyConnection, q: &LogQuery) -> StoreResult<i64> {
    Ok(matching(q).count().get_result(conn)?)
}

/// One row by id.
pub fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<AuditRow>> {
    Ok(audit_log::table.filter(audit_log::id.eq(id)).first::<AuditRow>(conn).optional()?)
}

/// The apps (client ids) that appear in an owner's log, most recently active first.
pub fn clients_of(conn: &mut AnyConnection, owner: &Owner) -> StoreResult<Vec<String>> {
    let per_client = audit_log::table
        .group_by(audit_log::client_id)
        .select((audit_log::client_id, diesel::dsl::max(audit_log::recorded)));
    let mut rows: Vec<(String, Option<i64>)> = match owner {
        Owner::Patient(p) => per_client.filter(audit_log::patient_id.eq(p)).load(conn)?,
        Owner::Grants(g) if g.is_empty() => return Ok(Vec::new()),
        Owner::Grants(g) => per_client.filter(audit_log::grant_id.eq_any(g)).load(conn)?,
        Owner::All => per_client.load(conn)?,
    };
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows.into_iter().map(|(c, _)| c).collect())
}

/// Every grant a user ever gave (live, revoked or ended): the scope of a practitioner's own log.
pub fn user_grant_ids(conn: &mut AnyConnection, username: &str) -> StoreResult<Vec<String>> {
    use super::auth::schema::auth_grants;
    Ok(auth_grants::table.filter(auth_grants::username.eq(username)).select(auth_grants::grant_id).load(conn)?)
}

/// Deletes the rows recorded before `cutoff` (Unix ms), in chunks so no transaction holds the table
/// long; returns how many.
pub fn delete_before(conn: &mut AnyConnection, cutoff: i64) -> StoreResult<u64> {
    const CHUNK: i64 = 5000;
    let mut total = 0u64;
    loop {
        let ids: Vec<i64> = audit_log::table
            .filter(audit_log::recorded.lt(cutoff))
            .select(audit_log::id)
            .order(audit_log::id.asc())
            .limit(CHUNK)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(total);
        }
        let n = write_tx(conn, |c| diesel::delete(audit_log::table.filter(audit_log::id.eq_any(&ids))).execute(c))?;
        total += n as u64;
    }
}
