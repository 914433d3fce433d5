//! How long access records are kept. By default forever; `bedside audit prune --before <date|age>`
//! removes older records once, and `bedside serve --audit-retention <age>` prunes automatically (at
//! start and then every hour, on every node: deleting is idempotent).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::store::{audit as rows, Store, StoreResult};

/// How often automatic retention runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

const EXPECTED: &str = "expected a date (2024-01-31), a date and time (2024-01-31T12:00:00Z) or an age (400d, 12h, 2w)";

/// The cutoff (Unix ms, exclusive) that `--before` names: a UTC date (its midnight), an RFC 3339
/// date and time, or an age counted back from `now_ms`. A cutoff in the future is refused: it would
/// remove records of accesses that have not happened yet, and is almost surely a typo.
pub fn cutoff(before: &str, now_ms: i64) -> Result<i64, String> {
    let text = before.trim();
    let bad = |why: &str| format!("--before {text:?}: {why}");
    let ms = if let Ok(d) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        millis(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())
    } else if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        millis(t)
    } else if let Ok(age) = humantime::parse_duration(text) {
        let age_ms = i64::try_from(age.as_millis()).map_err(|_| bad("the age is too long"))?;
        now_ms.checked_sub(age_ms).ok_or_else(|| bad("the age is too long"))?
    } else {
        return Err(bad(EXPECTED));
    };
    if ms > now_ms {
        return Err(bad("that is in the future; records are kept until a date that has passed"));
    }
    Ok(ms)
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A cutoff as RFC 3339 text, for messages.
pub fn describe(cutoff_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(cutoff_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{cutoff_ms} ms after 1970"))
}

/// Removes the records recorded before `cutoff_ms`; returns how many.
pub fn prune(store: &Store, cutoff_ms: i64) -> StoreResult<u64> {
    let mut conn = store.conn()?;
    rows::delete_before(&mut conn, cutoff_ms)
}

/// Automatic retention: a thread that prunes records older than `keep`, now and every
/// [`PRUNE_EVERY`]; it stops when this handle is dropped.
pub struct Retention {
    _stop: mpsc::Sender<()>,
}

impl Retention {
    pub fn start(store: Store, keep: Duration) -> Retention {
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new().name("bedside-audit-retention".into()).spawn(move || loop {
            prune_older_than(&store, keep);
            match stopped.recv_timeout(PRUNE_EVERY) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "automatic access-log retention could not be started");
        }
        Retention { _stop: stop }
    }
}

fn prune_older_than(store: &Store, keep: Duration) {
    let now = crate::clock::now_millis();
    let cutoff = now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
    match prune(store, cutoff) {
        Ok(0) => {}
        Ok(n) => {
            metrics::counter!("bedside_audit_pruned_total").increment(n);
            tracing::info!(removed = n, before = %describe(cutoff), "access-log retention removed old records");
        }
        Err(e) => tracing::error!(error = %e, "access-log retention failed; it runs again in an hour"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn before_takes_dates_times_and_ages() {
        assert_eq!(cutoff("2025-12-31", NOW), Ok(NOW - 86_400_000));
        assert_eq!(cutoff("2025-12-31T23:00:00Z", NOW), Ok(NOW - 3_600_000));
        assert_eq!(cutoff("2026-01-01T01:00:00+02:00", NOW), Ok(NOW - 3_600_000));
        assert_eq!(cutoff("90d", NOW), Ok(NOW - 90 * 86_400_000));
        assert_eq!(cutoff(" 12h ", NOW), Ok(NOW - 12 * 3_600_000));
        assert_eq!(cutoff("2w", NOW), Ok(NOW - 14 * 86_400_000));
        assert_eq!(describe(NOW), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn before_refuses_nonsense_and_the_future() {
        for bad in ["", "yesterday", "2025-13-01", "12", "-5d"] {
            let e = cutoff(bad, NOW).unwrap_err();
            assert!(e.contains(EXPECTED), "{bad}: {e}");
        }
        assert!(cutoff("2026-01-02", NOW).unwrap_err().contains("in the future"));
        assert!(cutoff("1000000000y", NOW).unwrap_err().contains("too long"));
    }
}
