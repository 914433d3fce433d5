//! The bounded queue between requests and the database, and the background thread that drains it.
//!
//! No access record is dropped while the process runs:
//! - A request hands its record to [`AuditLog::record`]. When the queue is full the request waits for
//!   room (at most [`WAIT_FOR_ROOM`], in short async sleeps that leave its worker free); if the queue
//!   is still full, or no writer runs, the request stores its record itself on a blocking thread
//!   (`bedside_audit_spilled_total`).
//! - One writer thread per node collects records for up to ~100 ms or 100 records and stores them
//!   in one transaction, after working out which patient each record is about (for tokens not bound
//!   to one patient: the compartments of the resources touched). A batch that cannot be stored is
//!   kept and retried with exponential backoff (100 ms doubling to 30 s,
//!   `bedside_audit_retries_total`) until it lands; meanwhile the queue fills and requests wait and
//!   spill.
//! - A record that a request could not store itself either (the database refuses writes) joins the
//!   writer's backlog in memory (`bedside_audit_backlog_total`); the writer stores it with the next
//!   batch, retried like any other.
//! - On shutdown [`AuditLog::flush_within`] stores what is queued. Records that still could not be
//!   stored when the log is closed are counted in `bedside_audit_lost_total` and logged as an error.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Record;
use crate::store::audit::{self as rows, NewAuditRow};
use crate::store::{AnyConnection, Store, StoreError, StoreResult};

/// Records waiting to be written, per node (the default of `--audit-queue`).
pub const QUEUE_CAPACITY: usize = crate::config::AUDIT_QUEUE_CAPACITY;
/// How long a request waits for room in a full queue before it stores its record itself.
pub const WAIT_FOR_ROOM: Duration = Duration::from_millis(500);
const WAIT_STEP: Duration = Duration::from_millis(5);
const BATCH: usize = 100;
const BATCH_WAIT: Duration = Duration::from_millis(100);
/// While gathering a batch, the writer looks at the queue this often.
const GATHER_STEP: Duration = Duration::from_millis(5);
/// The writer looks at the backlog at least this often, even when no record arrives.
const IDLE_WAKE: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

enum Msg {
    Record(Box<Record>),
    Flush(mpsc::Sender<()>),
}

/// What the senders and the writer thread share.
#[derive(Default)]
struct Shared {
    /// Records that neither the queue nor a direct write could take; the writer stores them.
    backlog: Mutex<Vec<Record>>,
    /// Set when the last [`AuditLog`] handle is gone: the writer stops retrying then.
    closed: AtomicBool,
    waited: AtomicU64,
    spilled: AtomicU64,
    retries: AtomicU64,
    lost: AtomicU64,
}

impl Shared {
    fn add_to_backlog(&self, records: Vec<Record>) {
        metrics::counter!("bedside_audit_backlog_total").increment(records.len() as u64);
        match self.backlog.lock() {
            Ok(mut b) => b.extend(records),
            Err(poisoned) => poisoned.into_inner().extend(records),
        }
    }

    fn take_backlog(&self) -> Vec<Record> {
        match self.backlog.lock() {
            Ok(mut b) => std::mem::take(&mut *b),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// How often the log had to work around a full queue or a failing database (this node, since start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditStats {
    /// Records whose request waited for room in the queue.
    pub waited: u64,
    /// Records their request stored itself (the queue stayed full, or no writer ran).
    pub spilled: u64,
    /// Failed attempts to store a batch (each retried).
    pub retries: u64,
    /// Records given up when the log closed while the database refused them.
    pub lost: u64,
}

/// The sending side: cheap to push to from any worker.
pub struct AuditLog {
    tx: SyncSender<Msg>,
    store: Store,
    shared: Arc<Shared>,
    wait: Duration,
}

impl AuditLog {
    /// Starts the writer thread for `store` with a queue of `capacity` records.
    pub fn start(store: Store, capacity: usize) -> AuditLog {
        let (log, rx) = AuditLog::channel(store.clone(), capacity);
        let shared = log.shared.clone();
        let spawned = std::thread::Builder::new().name("bedside-audit".into()).spawn(move || run(&store, &rx, &shared));
        if let Err(e) = spawned {
            // Without a writer every request stores its own record (see `record`).
            tracing::error!(error = %e, "the access log writer could not be started");
        }
        log
    }

    fn channel(store: Store, capacity: usize) -> (AuditLog, Receiver<Msg>) {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        (AuditLog { tx, store, shared: Arc::new(Shared::default()), wait: WAIT_FOR_ROOM }, rx)
    }

    /// Hands a record to the writer. A full queue makes the caller wait (bounded, asynchronously)
    /// and then store the record itself; a record is never dropped. Must run inside the actix
    /// runtime (it is called by the `/fhir` middleware).
    pub async fn record(&self, record: Record) {
        let deadline = Instant::now() + self.wait;
        let mut msg = Msg::Record(Box::new(record));
        let mut waited = false;
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => return,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    if !waited {
                        waited = true;
                        self.shared.waited.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("bedside_audit_waited_total").increment(1);
                    }
                    msg = m;
                    actix_web::rt::time::sleep(WAIT_STEP).await;
                }
                Err(TrySendError::Full(m)) | Err(TrySendError::Disconnected(m)) => {
                    msg = m;
                    break;
                }
            }
        }
        if let Msg::Record(r) = msg {
            self.spill(*r).await;
        }
    }

    /// Stores one record from the request's side, off the async worker; if that fails too, the
    /// record joins the writer's backlog.
    async fn spill(&self, record: Record) {
        let n = self.shared.spilled.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::counter!("bedside_audit_spilled_total").increment(1);
        if n.is_power_of_two() || n.is_multiple_of(1000) {
            tracing::warn!(spilled_total = n, "the access log queue is full: requests store their records themselves");
        }
        let store = self.store.clone();
        let kept = record.clone();
        let stored = actix_web::web::block(move || store_records(&store, &[record])).await;
        match stored {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "an access record could not be stored; kept for the writer to retry");
                self.shared.add_to_backlog(vec![kept]);
            }
            Err(e) => {
                tracing::error!(error = %e, "an access record could not be stored; kept for the writer to retry");
                self.shared.add_to_backlog(vec![kept]);
            }
        }
    }

    /// Counters of this node's log since start.
    pub fn stats(&self) -> AuditStats {
        let s = &self.shared;
        AuditStats {
            waited: s.waited.load(Ordering::Relaxed),
            spilled: s.spilled.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            lost: s.lost.load(Ordering::Relaxed),
        }
    }

    /// Waits until everything queued before this call is stored (tests; at most 30 s).
    pub fn flush(&self) -> bool {
        self.flush_within(Duration::from_secs(30))
    }

    /// Waits at most `timeout` until everything queued (and in the backlog) before this call is
    /// stored; false if the writer did not get there in time (or is not running).
    pub fn flush_within(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (ack_tx, ack_rx) = mpsc::channel();
        let mut msg = Msg::Flush(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = m;
                    std::thread::sleep(WAIT_STEP);
                }
            }
        }
        ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
    }
}

/// The writer loop: gather a batch (up to [`BATCH`] records or [`BATCH_WAIT`] after the first) plus
/// the backlog, store it (retrying until it lands), acknowledge flushes, repeat. Ends when every
/// sender is gone, after storing what it holds.
fn run(store: &Store, rx: &Receiver<Msg>, shared: &Shared) {
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut acks: Vec<mpsc::Sender<()>> = Vec::new();
    loop {
        let disconnected = match rx.recv_timeout(IDLE_WAKE) {
            Ok(first) => gather(first, rx, &mut batch, &mut acks),
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        batch.extend(shared.take_backlog());
        write_until_stored(store, &mut batch, shared);
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        if disconnected {
            return;
        }
    }
}

/// Adds `first` and what follows within [`BATCH_WAIT`] to the batch; stops early at a flush (so
/// it is acknowledged once everything before it is stored) or a full batch. True when every sender
/// is gone.
fn gather(first: Msg, rx: &Receiver<Msg>, batch: &mut Vec<Record>, acks: &mut Vec<mpsc::Sender<()>>) -> bool {
    let deadline = Instant::now() + BATCH_WAIT;
    let mut next = first;
    loop {
        match next {
            Msg::Record(r) => batch.push(*r),
            Msg::Flush(ack) => {
                acks.push(ack);
                return false;
            }
        }
        if batch.len() >= BATCH {
            return false;
        }
        // Take what is queued without blocking; when the queue is empty, sleep a short step rather
        // than wait on the channel, so that on a busy server the requests' records do not each have
        // to wake this thread (a futex wake per request on the sender's side).
        next = loop {
            match rx.try_recv() {
                Ok(m) => break m,
                Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    std::thread::sleep(left.min(GATHER_STEP));
                }
            }
        };
    }
}

/// Stores the batch, retrying with backoff until it lands — or, once the log is closed, gives it up
/// after one more failed attempt (counted and logged: nothing is lost silently).
fn write_until_stored(store: &Store, batch: &mut Vec<Record>, shared: &Shared) {
    if batch.is_empty() {
        return;
    }
    let mut backoff = FIRST_BACKOFF;
    loop {
        match store_records(store, batch) {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) => {
                // A database error may come from one record: store the others one by one and keep
                // retrying only those that fail alone, so one record cannot hold up the log.
                if matches!(e, StoreError::Db(_)) && batch.len() > 1 {
                    batch.retain(|r| store_records(store, std::slice::from_ref(r)).is_err());
                    if batch.is_empty() {
                        return;
                    }
                }
                let n = batch.len() as u64;
                metrics::counter!("bedside_audit_write_errors_total").increment(1);
                if shared.closed.load(Ordering::Relaxed) {
                    shared.lost.fetch_add(n, Ordering::Relaxed);
                    metrics::counter!("bedside_audit_lost_total").increment(n);
                    tracing::error!(error = %e, records = n, "the access log is closed and these access records could not be stored");
                    batch.clear();
                    return;
                }
                shared.retries.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("bedside_audit_retries_total").increment(1);
                tracing::error!(error = %e, records = n, retry_in_ms = backoff.as_millis() as u64, "access records could not be stored; retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                // Records that requests could not store meanwhile go with this batch.
                batch.extend(shared.take_backlog());
            }
        }
    }
}

/// Stores records in one transaction (the records are kept by the caller, for a retry).
fn store_records(store: &Store, records: &[Record]) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut conn = store.conn()?;
    let rows = to_rows(&mut conn, records);
    rows::insert_batch(&mut conn, &rows)?;
    metrics::counter!("bedside_audit_written_total").increment(records.len() as u64);
    Ok(())
}

/// `Type/id` of a reference (`Type/id/_history/3` too).
fn type_and_id(r: &str) -> Option<(String, String)> {
    let mut parts = r.split('/');
    match (parts.next(), parts.next()) {
        (Some(t), Some(id)) if !t.is_empty() && !id.is_empty() => Some((t.to_string(), id.to_string())),
        _ => None,
    }
}

/// Rows for a batch. A record of a patient-bound token is about that patient; otherwise about the
/// patient whose compartment holds what was touched — one row per patient when several were
/// touched — or else the patient of the token's launch context.
fn to_rows(conn: &mut AnyConnection, records: &[Record]) -> Vec<NewAuditRow> {
    let wanted: Vec<(String, String)> = records
        .iter()
        .filter(|r| r.caller.compartment_patient.is_none())
        .flat_map(|r| r.refs.list.iter().filter_map(|x| type_and_id(x)))
        .collect();
    let owners = lookup(conn, &wanted).unwrap_or_else(|e: StoreError| {
        tracing::warn!(error = %e, "the patients of access records could not be looked up");
        HashMap::new()
    });
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if let Some(p) = r.caller.compartment_patient.clone() {
            out.push(row(r, Some(p), &r.refs.list, r.refs.total));
            continue;
        }
        let mut by_patient: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for x in &r.refs.list {
            for p in type_and_id(x).and_then(|k| owners.get(&k)).into_iter().flatten() {
                by_patient.entry(p.as_str()).or_default().push(x.clone());
            }
        }
        match by_patient.len() {
            0 => out.push(row(r, r.caller.context_patient.clone(), &r.refs.list, r.refs.total)),
            1 => out.push(row(r, by_patient.keys().next().map(|p| p.to_string()), &r.refs.list, r.refs.total)),
            _ => {
                for (p, refs) in &by_patient {
                    out.push(row(r, Some(p.to_string()), refs, refs.len()));
                }
            }
        }
    }
    out
}

fn lookup(
    conn: &mut AnyConnection,
    wanted: &[(String, String)],
) -> StoreResult<HashMap<(String, String), Vec<String>>> {
    let mut owners: HashMap<(String, String), Vec<String>> = HashMap::new();
    if wanted.is_empty() {
        return Ok(owners);
    }
    for (t, id, p) in rows::compartments_of(conn, wanted)? {
        owners.entry((t, id)).or_default().push(p);
    }
    Ok(owners)
}

/// A row for a record. Text is stored without NUL characters (PostgreSQL refuses them in text).
fn row(r: &Record, patient: Option<String>, refs: &[String], total: usize) -> NewAuditRow {
    let text = |s: &str| s.replace('\0', "");
    let opt = |s: &Option<String>| s.as_deref().map(text);
    NewAuditRow {
        recorded: r.recorded,
        client_id: text(&r.caller.client_id),
        grant_id: opt(&r.caller.grant_id),
        fhir_user: opt(&r.caller.fhir_user),
        patient_id: opt(&patient),
        action: r.interaction.action().to_string(),
        interaction: r.interaction.code().to_string(),
        res_type: opt(&r.res_type),
        method: text(&r.method),
        path: text(&r.path),
        status: i32::from(r.status),
        refs: text(&refs.iter().filter(|x| !x.contains(char::is_whitespace)).cloned().collect::<Vec<_>>().join(" ")),
        ref_total: total as i64,
    }
}

#[cfg(test)]
mod tests;
