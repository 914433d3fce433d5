//! The export worker: a thread per node (started by `serve`) that claims jobs from the database,
//! runs them with the access of the token that started them, writes NDJSON files part by part, and
//! removes jobs and files past their retention.
//!
//! A job is read type by type in keyset-paged batches (constant memory however large the export);
//! a part file is stored once it reaches `--export-part-bytes`. Before each batch the worker checks
//! that the job's grant is still active (a revoked or ended grant stops the job with an error) and
//! renews its lease; a job whose node stops is taken up again, from the start, by any node once the
//! lease has run out.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use serde_json::Value;

use super::files::{FileError, FileStore};
use super::{filter_spec, Level, Params, StoredAccess};
use crate::clock;
use crate::config::{ExportSettings, Settings};
use crate::error::ApiError;
use crate::fhir::search::engine;
use crate::fhir::search::spec::SearchSpec;
use crate::fhir::service;
use crate::smart::access::AccessContext;
use crate::store::exports::{self as jobs, FileRow, JobRow};
use crate::store::search::{Condition, RangeOp};
use crate::store::{AnyConnection, Store};

/// Resources read per database query.
const BATCH: usize = 500;
/// The most members a Group export covers (each is one value in the query).
pub const MAX_GROUP_MEMBERS: usize = 10_000;

/// A running worker; it stops when this handle is dropped.
pub struct Worker {
    _stop: mpsc::Sender<()>,
}

impl Worker {
    pub fn start(store: Store, settings: Settings, files: FileStore) -> Worker {
        let (stop, stopped) = mpsc::channel::<()>();
        let owner = format!("node-{}", uuid::Uuid::new_v4().simple());
        let spawned = std::thread::Builder::new().name("bedside-export".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "the export worker could not start its runtime");
                    return;
                }
            };
            let w = Run { store, settings, files, owner, rt, stopped };
            w.main_loop();
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the export worker could not be started");
        }
        Worker { _stop: stop }
    }
}

struct Run {
    store: Store,
    settings: Settings,
    files: FileStore,
    owner: String,
    rt: tokio::runtime::Runtime,
    stopped: mpsc::Receiver<()>,
}

/// Why a job stopped before its end.
enum Stop {
    /// The job is no longer this worker's (cancelled, removed, taken over) or the node stops: leave it.
    Lost,
    /// The job failed: this text goes to the client.
    Failed(String),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Stop {
        match e {
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "export job failed");
                Stop::Failed("the export failed on the server".into())
            }
            other => Stop::Failed(other.to_string()),
        }
    }
}

impl From<FileError> for Stop {
    fn from(e: FileError) -> Stop {
        Stop::from(ApiError::Internal(e.to_string()))
    }
}

/// What the worker's housekeeping (claiming, sweeping, finishing jobs) can fail with; logged.
#[derive(Debug, thiserror::Error)]
enum Housekeeping {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Files(#[from] FileError),
}

impl From<crate::store::StoreError> for Stop {
    fn from(e: crate::store::StoreError) -> Stop {
        Stop::from(ApiError::from(e))
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Run {
    fn cfg(&self) -> &ExportSettings {
        &self.settings.export
    }

    fn should_stop(&self) -> bool {
        !matches!(self.stopped.try_recv(), Err(mpsc::TryRecvError::Empty))
    }

    fn main_loop(&self) {
        let mut next_sweep = 0i64;
        loop {
            if crate::clock::now_millis() >= next_sweep {
                self.sweep();
                next_sweep = crate::clock::now_millis() + 60_000;
            }
            let claimed = self.store.conn().and_then(|mut c| {
                let now = crate::clock::now_millis();
                jobs::claim_job(&mut c, &self.owner, now, now + ms(self.cfg().lease))
            });
            let wait = match claimed {
                Ok(Some(job)) => {
                    self.run_job(job);
                    Duration::ZERO
                }
                Ok(None) => self.cfg().poll,
                Err(e) => {
                    tracing::warn!(error = %e, "the export worker could not look for jobs");
                    self.cfg().poll
                }
            };
            match self.stopped.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Removes jobs (and their files) past their retention.
    fn sweep(&self) {
        let result = (|| -> Result<usize, Housekeeping> {
            let mut c = self.store.conn()?;
            let ids = jobs::expired_jobs(&mut c, crate::clock::now_millis(), 100)?;
            for id in &ids {
                if let Some(names) = jobs::delete_job(&mut c, id)? {
                    self.rt.block_on(self.files.delete(id, &names))?;
                }
            }
            Ok(ids.len())
        })();
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "export retention removed old jobs and their files"),
            Err(e) => tracing::warn!(error = %e, "export retention failed; it runs again in a minute"),
        }
    }

    fn run_job(&self, job: JobRow) {
        let id = job.job_id.clone();
        let mut written: Vec<String> = Vec::new();
        let outcome = self.export(&job, &mut written);
        let finish = |status: &str, error: Option<&str>| -> Result<bool, crate::store::StoreError> {
            let mut c = self.store.conn()?;
            let keep = crate::clock::now_millis().saturating_add(ms(self.cfg().retention));
            jobs::finish_job(&mut c, &id, &self.owner, status, error, keep)
        };
        let result = match &outcome {
            Ok(()) => finish(jobs::DONE, None),
            Err(Stop::Failed(why)) => {
                tracing::info!(job = %id, reason = %why, "export job stopped");
                finish(jobs::FAILED, Some(why))
            }
            Err(Stop::Lost) => Ok(false),
        };
        match result {
            Ok(true) => {
                if outcome.is_err() {
                    self.forget_files(&id, &written);
                }
            }
            // Cancelled or taken over meanwhile: what this worker wrote is nobody's.
            Ok(false) => self.forget_files(&id, &written),
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "export job could not be finished; it will be taken up again")
            }
        }
    }

    fn forget_files(&self, job: &str, names: &[String]) {
        if let Err(e) = self.rt.block_on(self.files.delete(job, names)) {
            tracing::warn!(job, error = %e, "export files could not be removed");
        }
    }

    /// Is the job still this worker's, and its grant active? Renews the lease.
    fn still_mine(&self, c: &mut AnyConnection, job: &str, access: &AccessContext, progress: &str) -> Result<(), Stop> {
        if self.should_stop() {
            return Err(Stop::Lost);
        }
        if !jobs::renew_lease(c, job, &self.owner, crate::clock::now_millis() + ms(self.cfg().lease), progress)? {
            return Err(Stop::Lost);
        }
        if let Some(grant) = &access.grant {
            let now = crate::clock::now_secs();
            if !crate::store::auth::grant_is_active(c, grant, now)? {
                return Err(Stop::Failed(
                    "the authorization this export was started under has been revoked or has ended".into(),
                ));
            }
        }
        Ok(())
    }

    fn export(&self, job: &JobRow, written: &mut Vec<String>) -> Result<(), Stop> {
        let access = serde_json::from_str::<StoredAccess>(&job.access)
            .map_err(|e| e.to_string())
            .and_then(|a| a.context())
            .map_err(|e| Stop::from(ApiError::Internal(format!("job {} access unreadable: {e}", job.job_id))))?;
        let params: Params = serde_json::from_str(&job.params)
            .map_err(|e| Stop::from(ApiError::Internal(format!("job {} parameters unreadable: {e}", job.job_id))))?;
        let mut c = self.store.conn()?;
        // A job taken over from a stopped node starts again from the beginning.
        let old = jobs::clear_files(&mut c, &job.job_id)?;
        self.rt.block_on(self.files.delete(&job.job_id, &old))?;
        self.still_mine(&mut c, &job.job_id, &access, "starting")?;
        let members = match &params.level {
            Level::Group(gid) => Some(group_members(&mut c, &access, gid)?),
            _ => None,
        };
        let since = match &params.since {
            Some(s) => Some(clock::parse_to_utc(s).ok_or_else(|| Stop::Failed(format!("_since={s} is unreadable")))?),
            None => None,
        };
        let mut total: u64 = 0;
        for t in &params.types {
            let mut spec = SearchSpec::parse(vec![t.clone()], &[], &access, &self.settings, false)?;
            let filters: Vec<&String> = params.type_filters.iter().filter(|(ft, _)| ft == t).map(|(_, q)| q).collect();
            if !filters.is_empty() {
                let mut alternatives = Vec::new();
                for q in filters {
                    alternatives.push(Condition::All(filter_spec(&access, &self.settings, t, q)?.query.all_of));
                }
                spec.query.all_of.push(alternatives);
            }
            if let Some(s) = &since {
                spec.query.all_of.push(vec![Condition::Date {
                    param: "_lastUpdated".into(),
                    op: RangeOp::Ge,
                    low: s.millis,
                    high: s.millis,
                }]);
            }
            match (&params.level, &members) {
                (Level::Group(gid), _) if t == "Group" => spec.query.all_of.push(vec![Condition::Id(gid.clone())]),
                (Level::Group(_), Some(m)) => {
                    if m.is_empty() {
                        continue;
                    }
                    spec.query.all_of.push(m.iter().cloned().map(Condition::Compartment).collect());
                }
                _ => {}
            }
            let mut after = None;
            let mut part = Part::new(t, 1);
            loop {
                let progress = format!("{total} resources written; exporting {t}");
                self.still_mine(&mut c, &job.job_id, &access, &progress)?;
                let (batch, next) = engine::export_batch(&mut c, &spec, after, BATCH)?;
                for r in &batch {
                    part.add(&r.content);
                    total += 1;
                    if part.bytes.len() >= self.cfg().part_bytes {
                        let n = part.number;
                        self.store_part(
                            &mut c,
                            &job.job_id,
                            std::mem::replace(&mut part, Part::new(t, n + 1)),
                            written,
                        )?;
                    }
                }
                after = next;
                if after.is_none() {
                    break;
                }
            }
            if part.count > 0 {
                self.store_part(&mut c, &job.job_id, part, written)?;
            }
        }
        self.still_mine(&mut c, &job.job_id, &access, &format!("{total} resources written; finishing"))?;
        Ok(())
    }

    fn store_part(&self, c: &mut AnyConnection, job: &str, part: Part, written: &mut Vec<String>) -> Result<(), Stop> {
        let name = format!("{}-{}.ndjson", part.res_type, part.number);
        let row = FileRow {
            job_id: job.to_string(),
            name: name.clone(),
            res_type: part.res_type.clone(),
            is_error: false,
            count: part.count,
            bytes: part.bytes.len() as i64,
        };
        self.rt.block_on(self.files.put(job, &name, part.bytes))?;
        written.push(name);
        if jobs::add_file(c, &self.owner, &row)? {
            Ok(())
        } else {
            Err(Stop::Lost)
        }
    }
}

/// One NDJSON file being filled.
struct Part {
    res_type: String,
    number: u32,
    bytes: Vec<u8>,
    count: i64,
}

impl Part {
    fn new(res_type: &str, number: u32) -> Part {
        Part { res_type: res_type.to_string(), number, bytes: Vec::new(), count: 0 }
    }

    /// Adds one stored resource as one line (stored JSON has no line breaks outside strings,
    /// where JSON escapes them).
    fn add(&mut self, content: &[u8]) {
        self.bytes.extend(content.iter().filter(|b| **b != b'\n' && **b != b'\r'));
        self.bytes.push(b'\n');
        self.count += 1;
    }
}

/// The Patient ids a Group names in `member.entity` (read through the service, with the job's
/// access: a Group the token no longer sees stops the job).
fn group_members(c: &mut AnyConnection, access: &AccessContext, gid: &str) -> Result<Vec<String>, Stop> {
    let group = service::read(c, access, "Group", gid)?;
    let v: Value = serde_json::from_slice(&group.content)
        .map_err(|e| Stop::from(ApiError::Internal(format!("Group/{gid} unreadable: {e}"))))?;
    let mut out: Vec<String> = v["member"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["entity"]["reference"].as_str())
        .filter_map(|r| r.rsplit_once("Patient/").map(|(_, id)| id.to_string()))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .collect();
    out.sort();
    out.dedup();
    if out.len() > MAX_GROUP_MEMBERS {
        return Err(Stop::Failed(format!(
            "Group/{gid} has {} patient members; this server exports groups of at most {MAX_GROUP_MEMBERS}",
            out.len()
        )));
    }
    Ok(out)
}
