//! The bounded queue between requests and the database, and the background thread that drains it.
//!
//! Requests call [`AuditLog::push`], which never blocks: when the queue is full the record is dropped,
//! counted in `bedside_audit_dropped_total` and logged. One writer thread per node collects records
//! for up to ~100 ms or 100 records and stores them in one transaction, after working out which
//! patient each record is about (for tokens not bound to one patient: the compartments of the
//! resources touched). On shutdown [`AuditLog::flush_within`] stores what is queued (best effort).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use super::Record;
use crate::store::audit::{self as rows, NewAuditRow};
use crate::store::{AnyConnection, Store, StoreResult};

/// Records waiting to be written, per node.
pub const QUEUE_CAPACITY: usize = 8192;
const BATCH: usize = 100;
const BATCH_WAIT: Duration = Duration::from_millis(100);

enum Msg {
    Record(Box<Record>),
    Flush(mpsc::Sender<()>),
}

/// The sending side: cheap to push to from any worker.
pub struct AuditLog {
    tx: SyncSender<Msg>,
    dropped: AtomicU64,
}

impl AuditLog {
    /// Starts the writer thread for `store` with a queue of `capacity` records.
    pub fn start(store: Store, capacity: usize) -> AuditLog {
        let (log, rx) = AuditLog::channel(capacity);
        let spawned = std::thread::Builder::new().name("bedside-audit".into()).spawn(move || run(&store, &rx));
        if let Err(e) = spawned {
            // Without a writer every push counts as dropped; requests still work.
            tracing::error!(error = %e, "the access log writer could not be started");
        }
        log
    }

    fn channel(capacity: usize) -> (AuditLog, Receiver<Msg>) {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        (AuditLog { tx, dropped: AtomicU64::new(0) }, rx)
    }

    /// Queues a record; never blocks. A full queue (or a stopped writer) drops it and counts it.
    pub fn push(&self, record: Record) {
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => self.count_drop(),
        }
    }

    fn count_drop(&self) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::counter!("bedside_audit_dropped_total").increment(1);
        // Warn on the first drops and then now and then, not once per request of a flood.
        if n.is_power_of_two() || n.is_multiple_of(1000) {
            tracing::warn!(dropped_total = n, "the access log queue is full: access records were dropped");
        }
    }

    /// Records dropped on this node since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything queued before this call is stored (tests; at most 30 s).
    pub fn flush(&self) -> bool {
        self.flush_within(Duration::from_secs(30))
    }

    /// Waits at most `timeout` until everything queued before this call is stored; false if the
    /// writer did not get there in time (or is not running).
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
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok()
    }
}

/// The writer loop: gather a batch (up to [`BATCH`] records or [`BATCH_WAIT`] after the first),
/// store it, repeat; ends when every sender is gone, after storing what it holds.
fn run(store: &Store, rx: &Receiver<Msg>) {
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    while let Ok(first) = rx.recv() {
        let deadline = Instant::now() + BATCH_WAIT;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => batch.push(*r),
                Msg::Flush(ack) => {
                    write(store, &mut batch);
                    let _ = ack.send(());
                }
            }
            if batch.len() >= BATCH {
                break;
            }
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(m) => next = Some(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        write(store, &mut batch);
    }
    write(store, &mut batch);
}

fn write(store: &Store, batch: &mut Vec<Record>) {
    if batch.is_empty() {
        return;
    }
    let records = std::mem::take(batch);
    let n = records.len();
    let result = store.conn().and_then(|mut c| {
        let rows = to_rows(&mut c, records);
        rows::insert_batch(&mut c, &rows)
    });
    match result {
        Ok(()) => metrics::counter!("bedside_audit_written_total").increment(n as u64),
        Err(e) => {
            metrics::counter!("bedside_audit_write_errors_total").increment(n as u64);
            tracing::error!(error = %e, records = n, "access records could not be stored");
        }
    }
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
fn to_rows(conn: &mut AnyConnection, records: Vec<Record>) -> Vec<NewAuditRow> {
    let wanted: Vec<(String, String)> = records
        .iter()
        .filter(|r| r.caller.compartment_patient.is_none())
        .flat_map(|r| r.refs.list.iter().filter_map(|x| type_and_id(x)))
        .collect();
    let owners = lookup(conn, &wanted).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the patients of access records could not be looked up");
        HashMap::new()
    });
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if let Some(p) = r.caller.compartment_patient.clone() {
            out.push(row(&r, Some(p), &r.refs.list, r.refs.total));
            continue;
        }
        let mut by_patient: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for x in &r.refs.list {
            for p in type_and_id(x).and_then(|k| owners.get(&k)).into_iter().flatten() {
                by_patient.entry(p.as_str()).or_default().push(x.clone());
            }
        }
        match by_patient.len() {
            0 => out.push(row(&r, r.caller.context_patient.clone(), &r.refs.list, r.refs.total)),
            1 => out.push(row(&r, by_patient.keys().next().map(|p| p.to_string()), &r.refs.list, r.refs.total)),
            _ => {
                for (p, refs) in &by_patient {
                    out.push(row(&r, Some(p.to_string()), refs, refs.len()));
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

fn row(r: &Record, patient: Option<String>, refs: &[String], total: usize) -> NewAuditRow {
    NewAuditRow {
        recorded: r.recorded,
        client_id: r.caller.client_id.clone(),
        grant_id: r.caller.grant_id.clone(),
        fhir_user: r.caller.fhir_user.clone(),
        patient_id: patient,
        action: r.interaction.action().to_string(),
        interaction: r.interaction.code().to_string(),
        res_type: r.res_type.clone(),
        method: r.method.clone(),
        path: r.path.clone(),
        status: i32::from(r.status),
        refs: refs.iter().filter(|x| !x.contains(char::is_whitespace)).cloned().collect::<Vec<_>>().join(" "),
        ref_total: total as i64,
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
