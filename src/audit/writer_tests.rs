//! Unit tests of the access-log queue and writer.

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
        path: "/fhir/Patient/p1".into(),
        status: 200,
        refs: Refs::one("Patient/p1".into()),
    }
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let (log, rx) = AuditLog::channel(2);
    let started = Instant::now();
    for n in 0..10 {
        log.push(record(n));
    }
    assert_eq!(log.dropped(), 8);
    // Nobody drains the queue: a flush gives up at its deadline instead of hanging.
    assert!(!log.flush_within(Duration::from_millis(20)));
    drop(rx);
    // A stopped writer is the same as a full queue.
    log.push(record(11));
    assert_eq!(log.dropped(), 9);
    assert!(!log.flush_within(Duration::from_millis(20)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_writer_stores_batches_and_flush_waits_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("audit.db").to_string_lossy(), 2).unwrap();
    // A tiny queue: pushes never wait for the writer; what does not fit is counted as dropped.
    let log = AuditLog::start(store.clone(), 4);
    let started = Instant::now();
    for n in 0..300 {
        log.push(record(n));
    }
    assert!(started.elapsed() < Duration::from_secs(2), "push must not block");
    assert!(log.flush());
    let stored = list(&mut store.conn().unwrap(), &LogQuery::new(Owner::Patient("p1".into()), 1000)).unwrap();
    assert_eq!(stored.len() as u64 + log.dropped(), 300);
    assert!(!stored.is_empty());
    // Newest first, and the row holds what the record said.
    let first = &stored[0];
    assert_eq!((first.action.as_str(), first.interaction.as_str(), first.status), ("R", "read", 200));
    assert_eq!(first.refs, "Patient/p1");
    // With room in the queue nothing is lost, and a flush sees everything pushed before it.
    let roomy = AuditLog::start(store.clone(), 1000);
    for n in 0..250 {
        roomy.push(record(1000 + n));
    }
    assert!(roomy.flush());
    assert_eq!(roomy.dropped(), 0);
    let all = list(&mut store.conn().unwrap(), &LogQuery::new(Owner::Patient("p1".into()), 10_000)).unwrap();
    assert_eq!(all.len(), stored.len() + 250);
    // Dropping the last handle stops the writer after it stored what it held.
    roomy.push(record(5000));
    drop(roomy);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = list(&mut store.conn().unwrap(), &LogQuery::new(Owner::Patient("p1".into()), 10_000)).unwrap().len();
        if n == all.len() + 1 || Instant::now() > deadline {
            assert_eq!(n, all.len() + 1);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn references_give_type_and_id() {
    assert_eq!(type_and_id("Observation/1/_history/2"), Some(("Observation".into(), "1".into())));
    assert_eq!(type_and_id("Observation"), None);
    assert_eq!(type_and_id("/x"), None);
}
