//! Sessions of the "connected apps" page, and the grants it lists and revokes.

use diesel::prelude::*;

use super::schema::{auth_grants, oauth_clients, user_sessions};
use crate::store::{AnyConnection, StoreResult};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = user_sessions)]
pub struct SessionRow {
    pub session_hash: String,
    pub csrf: String,
    /// Set once the user signed in.
    pub username: Option<String>,
    pub expires_at: i64,
}

pub fn insert_session(conn: &mut AnyConnection, row: &SessionRow, now: i64) -> StoreResult<()> {
    diesel::delete(user_sessions::table.filter(user_sessions::expires_at.lt(now))).execute(conn)?;
    diesel::insert_into(user_sessions::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_session(conn: &mut AnyConnection, session_hash: &str, now: i64) -> StoreResult<Option<SessionRow>> {
    Ok(user_sessions::table
        .filter(user_sessions::session_hash.eq(session_hash))
        .filter(user_sessions::expires_at.gt(now))
        .first(conn)
        .optional()?)
}

pub fn set_session_user(conn: &mut AnyConnection, session_hash: &str, username: &str) -> StoreResult<()> {
    diesel::update(user_sessions::table.filter(user_sessions::session_hash.eq(session_hash)))
        .set(user_sessions::username.eq(username))
        .execute(conn)?;
    Ok(())
}

/// A user's live grants with the app's name: (grant_id, app name, scope, created_at), newest first.
pub fn user_grants(
    conn: &mut AnyConnection,
    username: &str,
    now: i64,
) -> StoreResult<Vec<(String, String, String, i64)>> {
    Ok(auth_grants::table
        .inner_join(oauth_clients::table)
        .filter(auth_grants::username.eq(username))
        .filter(auth_grants::revoked.eq(false))
        .filter(auth_grants::expires_at.gt(now))
        .order(auth_grants::created_at.desc())
        .select((auth_grants::grant_id, oauth_clients::name, auth_grants::scope, auth_grants::created_at))
        .load(conn)?)
}

/// Revokes one of the user's grants; false if it is not theirs.
pub fn revoke_user_grant(conn: &mut AnyConnection, grant_id: &str, username: &str) -> StoreResult<bool> {
    let n = diesel::update(
        auth_grants::table.filter(auth_grants::grant_id.eq(grant_id)).filter(auth_grants::username.eq(username)),
    )
    .set(auth_grants::revoked.eq(true))
    .execute(conn)?;
    Ok(n == 1)
}
