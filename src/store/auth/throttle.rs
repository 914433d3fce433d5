//! Failed sign-in counting (migration `2026-11-26-000006_login_throttle`).

use diesel::prelude::*;

use super::schema::login_failures;
use crate::store::{AnyConnection, StoreResult};

/// After this many failures within [`WINDOW_SECS`], sign-in for the name is refused for [`LOCK_SECS`].
pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECS: i64 = 15 * 60;
pub const LOCK_SECS: i64 = 15 * 60;

/// Until when (epoch seconds) sign-in for `username` is refused, if it is.
pub fn locked_until(conn: &mut AnyConnection, username: &str, now: i64) -> StoreResult<Option<i64>> {
    let until: Option<i64> = login_failures::table
        .filter(login_failures::username.eq(username))
        .select(login_failures::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.filter(|u| *u > now))
}

/// Counts one failure; locks the name when the window's count reaches [`MAX_FAILURES`].
pub fn record_failure(conn: &mut AnyConnection, username: &str, now: i64) -> StoreResult<()> {
    let row: Option<(i64, i64)> = login_failures::table
        .filter(login_failures::username.eq(username))
        .select((login_failures::failures, login_failures::window_start))
        .first(conn)
        .optional()?;
    let (failures, start) = match row {
        Some((f, s)) if now - s < WINDOW_SECS => (f + 1, s),
        _ => (1, now),
    };
    let locked_until = if failures >= MAX_FAILURES { now + LOCK_SECS } else { 0 };
    let values = (
        login_failures::failures.eq(failures),
        login_failures::window_start.eq(start),
        login_failures::locked_until.eq(locked_until),
    );
    let n = diesel::update(login_failures::table.filter(login_failures::username.eq(username)))
        .set(values)
        .execute(conn)?;
    if n == 0 {
        // A concurrent first failure may have inserted the row: then this one is simply not counted.
        // Any other failure is the caller's to see.
        match diesel::insert_into(login_failures::table)
            .values((login_failures::username.eq(username), values.0, values.1, values.2))
            .execute(conn)
        {
            Ok(_)
            | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Forgets the failures of a name after a successful sign-in.
pub fn clear(conn: &mut AnyConnection, username: &str) -> StoreResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username))).execute(conn)?;
    Ok(())
}
