//! What the operator commands (`bedside client …`, `bedside user …`) read and change.

use diesel::prelude::*;

use super::schema::{auth_grants, auth_users, oauth_clients, user_sessions};
use super::{ClientRow, UserRow};
use crate::store::{write_tx, AnyConnection, StoreResult};

/// Every registered client, oldest first.
pub fn list_clients(conn: &mut AnyConnection) -> StoreResult<Vec<ClientRow>> {
    Ok(oauth_clients::table.order((oauth_clients::created_at.asc(), oauth_clients::client_id.asc())).load(conn)?)
}

/// Every sign-in, by name.
pub fn list_users(conn: &mut AnyConnection) -> StoreResult<Vec<UserRow>> {
    Ok(auth_users::table.order(auth_users::username.asc()).load(conn)?)
}

/// How many live (unrevoked, unexpired) grants a client holds.
pub fn live_grants_of_client(conn: &mut AnyConnection, client_id: &str, now: i64) -> StoreResult<i64> {
    Ok(auth_grants::table
        .filter(auth_grants::client_id.eq(client_id))
        .filter(auth_grants::revoked.eq(false))
        .filter(auth_grants::expires_at.gt(now))
        .count()
        .get_result(conn)?)
}

/// Removes a client: every grant it holds ends (their tokens stop at once: a token's grant must be
/// live) and its codes and refresh tokens go with them. Returns the number of grants that were live,
/// or `None` when there is no such client.
pub fn remove_client(conn: &mut AnyConnection, client_id: &str, now: i64) -> StoreResult<Option<i64>> {
    write_tx(conn, |c| {
        if oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)).count().get_result::<i64>(c)? == 0 {
            return Ok(None);
        }
        let live = live_grants_of_client(c, client_id, now)?;
        // Codes and refresh tokens reference their grant with ON DELETE CASCADE.
        diesel::delete(auth_grants::table.filter(auth_grants::client_id.eq(client_id))).execute(c)?;
        diesel::delete(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id))).execute(c)?;
        Ok(Some(live))
    })
}

/// Ends every grant a user gave and their connected-apps sessions; the number of live grants ended.
fn end_user_access(conn: &mut AnyConnection, username: &str, now: i64) -> StoreResult<usize> {
    let n = diesel::update(
        auth_grants::table
            .filter(auth_grants::username.eq(username))
            .filter(auth_grants::revoked.eq(false))
            .filter(auth_grants::expires_at.gt(now)),
    )
    .set(auth_grants::revoked.eq(true))
    .execute(conn)?;
    diesel::delete(user_sessions::table.filter(user_sessions::username.eq(username))).execute(conn)?;
    Ok(n)
}

/// Replaces a user's password hash; false when there is no such user.
pub fn set_password_hash(conn: &mut AnyConnection, username: &str, hash: &str) -> StoreResult<bool> {
    let n = diesel::update(auth_users::table.filter(auth_users::username.eq(username)))
        .set(auth_users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(n == 1)
}

/// Disables (or enables again) a sign-in. Disabling also ends every grant the user gave and their
/// sessions. `None` when there is no such user; else the number of grants ended.
pub fn set_user_disabled(
    conn: &mut AnyConnection,
    username: &str,
    disabled: bool,
    now: i64,
) -> StoreResult<Option<usize>> {
    write_tx(conn, |c| {
        let n = diesel::update(auth_users::table.filter(auth_users::username.eq(username)))
            .set(auth_users::disabled.eq(disabled))
            .execute(c)?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(if disabled { end_user_access(c, username, now)? } else { 0 }))
    })
}

/// Removes a sign-in, ending every grant it gave. `None` when there is no such user; else the number of
/// grants ended. The access log keeps what was done under it.
pub fn remove_user(conn: &mut AnyConnection, username: &str, now: i64) -> StoreResult<Option<usize>> {
    write_tx(conn, |c| {
        if auth_users::table.filter(auth_users::username.eq(username)).count().get_result::<i64>(c)? == 0 {
            return Ok(None);
        }
        let ended = end_user_access(c, username, now)?;
        diesel::delete(auth_users::table.filter(auth_users::username.eq(username))).execute(c)?;
        Ok(Some(ended))
    })
}
