//! Unit tests of the access-log queue and writer: nothing is dropped, whatever the queue or the
//! database do.

use diesel::connection::SimpleConnection;

use super::*;
use crate::audit::{Caller, Interaction, Refs};
use crate::store::audit::{list, LogQuery, Owner};

fn record(n: usize) -> Record {
    Record {
        recorded: 1_700_000_000_000 + n as i64,
        caller: Caller {
            client_id: "app".into(),
            grant_id: Some("g1".into()),
            fhir_user: Some("Patient/p1".into()),
            compartment_patient: Some("p1".into()),
            context_patient: Some("p1".into()),
        },
        interaction: Interaction::Read,
        res_type: Some("Patient".into()),
        method: "GET".into(),
        path: format!("/fhir/Patient/p1?n={n}"),
        status: 200,
        refs: Refs::one("Patient/p1".into()),
    }
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("audit.db").to_string_lossy(), 4).unwrap();
    (dir, store)
}

/// The stored paths, sorted (each test record has its own path).
fn stored_paths(store: &Store) -> Vec<String> {
    let rows = list(&mut store.conn().unwrap(), &LogQuery::new(Owner::Patient("p1".into()), 100_000)).unwrap();
    let mut paths: Vec<String> = rows.into_iter().map(|r| r.path).collect();
    paths.sort();
    paths
}

fn expected_paths(range: std::ops::Range<usize>) -> Vec<String> {
    let mut paths: Vec<String> = range.map(|n| record(n).path).collect();
    paths.sort();
    paths
}

/// Makes every write to the access log fail (the table is renamed away), or undoes that.
fn break_table(store: &Store, broken: bool) {
    let sql = if broken {
        "ALTER TABLE audit_log RENAME TO audit_log_away"
    } else {
        "ALTER TABLE audit_log_away RENAME TO audit_log"
    };
    store.conn().unwrap().batch_execute(sql).unwrap();
}

/// Polls `f` until it holds (at most 30 s; the bound is a safety net, not a timing assertion).
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[actix_web::test]
async fn a_full_queue_never_loses_a_record() {
    let (_dir, store) = temp_store();
    // A queue of two that nobody drains yet: the first two records wait in it, every later request
    // waits for room and then stores its record itself.
    let (mut log, rx) = AuditLog::channel(store.clone(), 2);
    log.wait = Duration::from_millis(20);
    for n in 0..10 {
        log.record(record(n)).await;
    }
    let stats = log.stats();
    assert_eq!((stats.waited, stats.spilled, stats.retries, stats.lost), (8, 8, 0, 0));
    assert_eq!(stored_paths(&store), expected_paths(2..10));
    // The writer starts and stores the two queued records.
    let shared = log.shared.clone();
    let writer_store = store.clone();
    std::thread::spawn(move || run(&writer_store, &rx, &shared));
    assert!(log.flush());
    assert_eq!(stored_paths(&store), expected_paths(0..10));
}

#[actix_web::test]
async fn a_stopped_writer_is_no_reason_to_drop_a_record() {
    let (_dir, store) = temp_store();
    let (log, rx) = AuditLog::channel(store.clone(), 8);
    drop(rx);
    log.record(record(1)).await;
    log.record(record(2)).await;
    assert_eq!(log.stats().spilled, 2);
    assert_eq!(stored_paths(&store), expected_paths(1..3));
    // Nothing can be flushed without a writer, and saying so takes no time.
    assert!(!log.flush_within(Duration::from_millis(20)));
}

#[actix_web::test]
async fn a_failing_write_is_retried_until_it_lands() {
    let (_dir, store) = temp_store();
    let mut log = AuditLog::start(store.clone(), 2);
    log.wait = Duration::from_millis(20);
    break_table(&store, true);
    // The writer's batches fail and are retried; the queue fills; requests wait, try to store their
    // records themselves, fail too, and leave them in the backlog.
    log.record(record(0)).await;
    eventually("the writer retried", || log.stats().retries >= 1);
    // The writer keeps retrying its batch and takes nothing from the queue meanwhile.
    for n in 1..8 {
        log.record(record(n)).await;
    }
    assert_eq!((log.stats().waited, log.stats().spilled), (5, 5));
    assert!(!log.flush_within(Duration::from_millis(50)), "nothing can be stored while the table is away");
    break_table(&store, false);
    assert!(log.flush());
    assert_eq!(stored_paths(&store), expected_paths(0..8));
    assert_eq!(log.stats().lost, 0);
    // And the log goes on as usual.
    log.record(record(8)).await;
    assert!(log.flush());
    assert_eq!(stored_paths(&store), expected_paths(0..9));
}

#[actix_web::test]
async fn records_a_closed_log_cannot_store_are_counted_as_lost() {
    let (_dir, store) = temp_store();
    let log = AuditLog::start(store.clone(), 100);
    break_table(&store, true);
    for n in 0..3 {
        log.record(record(n)).await;
    }
    eventually("the writer retried", || log.stats().retries >= 1);
    let shared = log.shared.clone();
    drop(log);
    // The writer gives up at its next attempt, and says how many it gave up.
    eventually("the writer gave up", || shared.lost.load(Ordering::Relaxed) == 3);
    break_table(&store, false);
    assert_eq!(stored_paths(&store), Vec::<String>::new());
}

#[test]
fn one_record_the_database_refuses_does_not_hold_up_the_others() {
    let (_dir, store) = temp_store();
    // A trigger that refuses one particular record, as a constraint would.
    store
        .conn()
        .unwrap()
        .batch_execute(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON audit_log WHEN NEW.path LIKE '%n=3' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let shared = Shared::default();
    let mut batch: Vec<Record> = (0..6).map(record).collect();
    shared.closed.store(true, Ordering::Relaxed);
    write_until_stored(&store, &mut batch, &shared);
    let mut expected = expected_paths(0..6);
    expected.retain(|p| !p.ends_with("n=3"));
    assert_eq!(stored_paths(&store), expected);
    assert_eq!(shared.lost.load(Ordering::Relaxed), 1);
}

#[test]
fn text_is_stored_without_nul_characters() {
    let mut r = record(1);
    r.path = "/fhir/Patient?name=a\0b".into();
    r.caller.client_id = "c\0".into();
    let row = row(&r, Some("p\0".into()), &r.refs.list, 1);
    assert_eq!(
        (row.path.as_str(), row.client_id.as_str(), row.patient_id.as_deref()),
        ("/fhir/Patient?name=ab", "c", Some("p"))
    );
}

#[test]
fn references_give_type_and_id() {
    assert_eq!(type_and_id("Observation/1/_history/2"), Some(("Observation".into(), "1".into())));
    assert_eq!(type_and_id("Observation"), None);
    assert_eq!(type_and_id("/x"), None);
}
