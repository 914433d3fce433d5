//! The access log loses no record — with a full queue or a database that refuses writes for a
//! while — and keeps records as long as the operator says (`bedside audit prune`,
//! `serve --audit-retention`). On SQLite and PostgreSQL.

use diesel::connection::SimpleConnection;

use bedside::audit::writer::WAIT_FOR_ROOM;
use bedside::store::audit::{count, insert_batch, list, LogQuery, NewAuditRow, Owner};
use bedside::AppState;

use crate::support::{patient, TestApp};

fn all_records(app: &TestApp) -> i64 {
    count(&mut app.state.store.conn().unwrap(), &LogQuery::new(Owner::All, 1)).unwrap()
}

/// Records of reads of one patient, by path.
fn reads_of(app: &TestApp, pid: &str) -> Vec<String> {
    let rows = list(&mut app.state.store.conn().unwrap(), &LogQuery::new(Owner::Patient(pid.into()), 10_000)).unwrap();
    let mut paths: Vec<String> = rows.into_iter().filter(|r| r.interaction == "read").map(|r| r.path).collect();
    paths.sort();
    paths
}

/// Makes every write to the access log fail (the table is renamed away), or undoes that.
fn break_table(app: &TestApp, broken: bool) {
    let sql = if broken {
        "ALTER TABLE audit_log RENAME TO audit_log_away"
    } else {
        "ALTER TABLE audit_log_away RENAME TO audit_log"
    };
    app.state.store.conn().unwrap().batch_execute(sql).unwrap();
}

/// Polls `f` until it holds (at most 30 s; a safety net, not a timing assertion).
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_full_queue_loses_no_access_record() {
    // A queue of one: concurrent requests find it full, wait, and store their records themselves.
    let app = TestApp::with_settings(|s| s.audit_queue = 1);
    let pid = app.create(&patient("Busy"));
    let token = app.token("patient/*.rs", Some(&pid));
    std::thread::scope(|s| {
        for t in 0..4 {
            let (app, token, pid) = (&app, &token, &pid);
            s.spawn(move || {
                for n in 0..10 {
                    app.get(&format!("/Patient/{pid}?_elements=id&t={t}-{n}"), token).expect(200);
                }
            });
        }
    });
    assert!(app.state.audit().flush());
    let mut expected: Vec<String> = (0..4)
        .flat_map(|t| (0..10).map(move |n| (t, n)))
        .map(|(t, n)| format!("/fhir/Patient/{pid}?_elements=id&t={t}-{n}"))
        .collect();
    expected.sort();
    assert_eq!(reads_of(&app, &pid), expected);
    assert_eq!(app.state.audit().stats().lost, 0);
}

#[test]
fn a_failing_database_write_is_retried_and_eventually_lands() {
    let app = TestApp::with_settings(|s| s.audit_queue = 2);
    let pid = app.create(&patient("Outage"));
    let token = app.token("patient/*.rs", Some(&pid));
    assert!(app.state.audit().flush());
    let before = all_records(&app);
    break_table(&app, true);
    // The data is still served; the records wait (writer retrying, queue full, the requests' own
    // writes failing: kept in memory for the writer).
    app.get(&format!("/Patient/{pid}?n=0"), &token).expect(200);
    eventually("the writer retried", || app.state.audit().stats().retries >= 1);
    // The writer keeps retrying and takes nothing from the queue meanwhile: two records fit in it,
    // the other three requests wait, fail to store their own and leave them in the backlog.
    for n in 1..6 {
        app.get(&format!("/Patient/{pid}?n={n}"), &token).expect(200);
    }
    assert_eq!(app.state.audit().stats().spilled, 3, "{:?}", app.state.audit().stats());
    assert!(!app.state.audit().flush_within(WAIT_FOR_ROOM), "nothing can be stored while the table is away");
    break_table(&app, false);
    assert!(app.state.audit().flush());
    let expected: Vec<String> = (0..6).map(|n| format!("/fhir/Patient/{pid}?n={n}")).collect();
    assert_eq!(reads_of(&app, &pid), expected);
    assert_eq!(all_records(&app), before + 6);
    assert_eq!(app.state.audit().stats().lost, 0);
}

fn old_and_new_rows(app: &TestApp) {
    let row = |recorded: i64, path: &str| NewAuditRow {
        recorded,
        client_id: "app".into(),
        grant_id: None,
        fhir_user: None,
        patient_id: Some("p-prune".into()),
        action: "R".into(),
        interaction: "read".into(),
        res_type: Some("Patient".into()),
        method: "GET".into(),
        path: path.into(),
        status: 200,
        refs: "Patient/p-prune".into(),
        ref_total: 1,
    };
    let rows = [
        row(1_577_836_800_000, "/2020-01-01"),
        row(1_609_459_199_999, "/2020-12-31T23:59:59.999"),
        row(1_609_459_200_000, "/2021-01-01"),
        row(bedside::clock::now().millis, "/now"),
    ];
    insert_batch(&mut app.state.store.conn().unwrap(), &rows).unwrap();
}

fn kept_paths(app: &TestApp) -> Vec<String> {
    let rows =
        list(&mut app.state.store.conn().unwrap(), &LogQuery::new(Owner::Patient("p-prune".into()), 100)).unwrap();
    rows.into_iter().rev().map(|r| r.path).collect()
}

fn bedside(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_bedside")).args(args).output().unwrap()
}

#[test]
fn prune_removes_only_older_records() {
    let app = TestApp::new();
    old_and_new_rows(&app);
    let out = bedside(&["audit", "prune", "--database-url", &app.db_url, "--before", "2021-01-01"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Removed 2 access records recorded before 2021-01-01T00:00:00Z."
    );
    assert_eq!(kept_paths(&app), ["/2021-01-01", "/now"]);
    // An age: everything older than a day goes, today's record stays.
    let out = bedside(&["audit", "prune", "--database-url", &app.db_url, "--before", "1d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Removed 1 access record recorded before "));
    assert_eq!(kept_paths(&app), ["/now"]);
}

#[test]
fn prune_refuses_a_bad_cutoff_in_one_line() {
    let app = TestApp::new();
    old_and_new_rows(&app);
    for (before, says) in [("soon", "expected a date"), ("2999-01-01", "in the future")] {
        let out = bedside(&["audit", "prune", "--database-url", &app.db_url, "--before", before]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("error: --before \"{before}\": ")) && err.contains(says), "{err}");
    }
    assert_eq!(kept_paths(&app).len(), 4);
}

#[test]
fn automatic_retention_prunes_what_is_older_than_configured() {
    let app = TestApp::new();
    old_and_new_rows(&app);
    // Another node on the same database, with retention on: it prunes at start.
    let store = bedside::store::Store::open(&app.db_url, 2).unwrap();
    let mut settings = app.state.settings.clone();
    settings.audit_retention = Some(std::time::Duration::from_secs(30 * 86_400));
    let node = AppState::new(store, settings).unwrap();
    eventually("retention pruned", || kept_paths(&app) == ["/now"]);
    drop(node);
}
