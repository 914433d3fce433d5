//! Bulk Data `$export` jobs and the files they wrote (migration `2026-11-29-000600_export_jobs`).
//! Plain diesel DSL, so the same code runs on SQLite and PostgreSQL. A job is held by one node at a
//! time through a lease (`lease_owner`, `lease_until` in Unix ms) that its worker renews while it
//! works; a job whose lease ran out is free to be claimed again.

use diesel::prelude::*;

use super::{write_tx, AnyConnection, StoreResult};

diesel::table! {
    export_jobs (job_id) {
        job_id -> Text,
        client_id -> Text,
        access -> Text,
        request -> Text,
        params -> Text,
        status -> Text,
        transaction_time -> Text,
        created_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> BigInt,
        progress -> Text,
        error -> Nullable<Text>,
        expires_at -> BigInt,
    }
}

diesel::table! {
    export_files (job_id, name) {
        job_id -> Text,
        name -> Text,
        res_type -> Text,
        is_error -> Bool,
        count -> BigInt,
        bytes -> BigInt,
    }
}

diesel::joinable!(export_files -> export_jobs (job_id));
diesel::allow_tables_to_appear_in_same_query!(export_jobs, export_files);

/// Waiting for a worker.
pub const QUEUED: &str = "queued";
/// Held by a worker (while its lease lasts).
pub const RUNNING: &str = "running";
/// Finished: the files are listed in `export_files`.
pub const DONE: &str = "done";
/// Stopped with an error (`error` says why).
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = export_jobs)]
pub struct JobRow {
    pub job_id: String,
    pub client_id: String,
    /// JSON: what the token that started the job may see.
    pub access: String,
    /// The kick-off request URL.
    pub request: String,
    /// JSON: the checked export parameters.
    pub params: String,
    pub status: String,
    pub transaction_time: String,
    pub created_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: i64,
    pub progress: String,
    pub error: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = export_files)]
pub struct FileRow {
    pub job_id: String,
    pub name: String,
    pub res_type: String,
    pub is_error: bool,
    pub count: i64,
    pub bytes: i64,
}

pub fn insert_job(conn: &mut AnyConnection, row: &JobRow) -> StoreResult<()> {
    diesel::insert_into(export_jobs::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_job(conn: &mut AnyConnection, job_id: &str) -> StoreResult<Option<JobRow>> {
    Ok(export_jobs::table.filter(export_jobs::job_id.eq(job_id)).first(conn).optional()?)
}

/// The files of a job, in the order they were written.
pub fn job_files(conn: &mut AnyConnection, job_id: &str) -> StoreResult<Vec<FileRow>> {
    Ok(export_files::table.filter(export_files::job_id.eq(job_id)).load::<FileRow>(conn).map(|mut v| {
        v.sort_by(|a, b| (a.is_error, &a.res_type, part_of(&a.name)).cmp(&(b.is_error, &b.res_type, part_of(&b.name))));
        v
    })?)
}

/// The part number in a file name like `Observation-12.ndjson` (0 when there is none).
fn part_of(name: &str) -> u64 {
    name.trim_end_matches(".ndjson").rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Takes the oldest job that is queued, or running under a lease that ran out (its node stopped),
/// for `owner` until `lease_until`. Two nodes never get the same job: the update only succeeds
/// while the job is still free.
pub fn claim_job(conn: &mut AnyConnection, owner: &str, now: i64, lease_until: i64) -> StoreResult<Option<JobRow>> {
    let free = export_jobs::status.eq(QUEUED).or(export_jobs::status.eq(RUNNING).and(export_jobs::lease_until.lt(now)));
    let candidates: Vec<String> = export_jobs::table
        .filter(free)
        .order(export_jobs::created_at.asc())
        .select(export_jobs::job_id)
        .limit(5)
        .load(conn)?;
    for id in candidates {
        let taken = diesel::update(export_jobs::table.filter(export_jobs::job_id.eq(&id)).filter(
            export_jobs::status.eq(QUEUED).or(export_jobs::status.eq(RUNNING).and(export_jobs::lease_until.lt(now))),
        ))
        .set((
            export_jobs::status.eq(RUNNING),
            export_jobs::lease_owner.eq(owner),
            export_jobs::lease_until.eq(lease_until),
        ))
        .execute(conn)?;
        if taken == 1 {
            return find_job(conn, &id);
        }
    }
    Ok(None)
}

/// Renews `owner`'s lease on a running job and records its progress. `false`: the job is no
/// longer this worker's (cancelled, removed, or taken over after the lease ran out) and it must stop.
pub fn renew_lease(
    conn: &mut AnyConnection,
    job_id: &str,
    owner: &str,
    lease_until: i64,
    progress: &str,
) -> StoreResult<bool> {
    let n = diesel::update(
        export_jobs::table
            .filter(export_jobs::job_id.eq(job_id))
            .filter(export_jobs::lease_owner.eq(owner))
            .filter(export_jobs::status.eq(RUNNING)),
    )
    .set((export_jobs::lease_until.eq(lease_until), export_jobs::progress.eq(progress)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a written file, if the job is still `owner`'s (else `false`, and nothing is recorded).
pub fn add_file(conn: &mut AnyConnection, owner: &str, row: &FileRow) -> StoreResult<bool> {
    write_tx(conn, |c| {
        let mine: i64 = export_jobs::table
            .filter(export_jobs::job_id.eq(&row.job_id))
            .filter(export_jobs::lease_owner.eq(owner))
            .filter(export_jobs::status.eq(RUNNING))
            .count()
            .get_result(c)?;
        if mine != 1 {
            return Ok(false);
        }
        diesel::insert_into(export_files::table).values(row).execute(c)?;
        Ok(true)
    })
}

/// Forgets the files recorded for a job (a job taken over starts again from the beginning);
/// returns their names so the caller can remove them from the file store.
pub fn clear_files(conn: &mut AnyConnection, job_id: &str) -> StoreResult<Vec<String>> {
    write_tx(conn, |c| {
        let names: Vec<String> =
            export_files::table.filter(export_files::job_id.eq(job_id)).select(export_files::name).load(c)?;
        diesel::delete(export_files::table.filter(export_files::job_id.eq(job_id))).execute(c)?;
        Ok(names)
    })
}

/// Ends `owner`'s job as `status` (DONE or FAILED) with an error text; kept until `expires_at`.
pub fn finish_job(
    conn: &mut AnyConnection,
    job_id: &str,
    owner: &str,
    status: &str,
    error: Option<&str>,
    expires_at: i64,
) -> StoreResult<bool> {
    let n = diesel::update(
        export_jobs::table
            .filter(export_jobs::job_id.eq(job_id))
            .filter(export_jobs::lease_owner.eq(owner))
            .filter(export_jobs::status.eq(RUNNING)),
    )
    .set((
        export_jobs::status.eq(status),
        export_jobs::error.eq(error),
        export_jobs::expires_at.eq(expires_at),
        export_jobs::lease_owner.eq(None::<String>),
        export_jobs::lease_until.eq(0),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Removes a job and its file rows; returns the names of its files (None: no such job).
pub fn delete_job(conn: &mut AnyConnection, job_id: &str) -> StoreResult<Option<Vec<String>>> {
    write_tx(conn, |c| {
        let names: Vec<String> =
            export_files::table.filter(export_files::job_id.eq(job_id)).select(export_files::name).load(c)?;
        diesel::delete(export_files::table.filter(export_files::job_id.eq(job_id))).execute(c)?;
        let n = diesel::delete(export_jobs::table.filter(export_jobs::job_id.eq(job_id))).execute(c)?;
        Ok((n == 1).then_some(names))
    })
}

/// Jobs kept past their retention (`expires_at` before `now`), at most `limit`.
pub fn expired_jobs(conn: &mut AnyConnection, now: i64, limit: i64) -> StoreResult<Vec<String>> {
    Ok(export_jobs::table
        .filter(export_jobs::expires_at.lt(now))
        .select(export_jobs::job_id)
        .order(export_jobs::expires_at.asc())
        .limit(limit)
        .load(conn)?)
}
