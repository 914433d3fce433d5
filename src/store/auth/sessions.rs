//! Sessions of the "connected apps" page, and the grants it lists and revokes.

use diesel::prelude::*;

use super::schema::{auth_codes, auth_grants, oauth_clients, user_sessions};
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

/// One live grant of a user, as the connected-apps page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct UserGrant {
    pub grant_id: String,
    pub client_id: String,
    pub app_name: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A user's live grants that an app has taken up (their code was exchanged: an approval the app never
/// completed gives it nothing), newest first.
pub fn user_grants(conn: &mut AnyConnection, username: &str, now: i64) -> StoreResult<Vec<UserGrant>> {
    let taken_up = auth_codes::table.filter(auth_codes::used.eq(true)).select(auth_codes::grant_id);
    Ok(auth_grants::table
        .inner_join(oauth_clients::table)
        .filter(auth_grants::username.eq(username))
        .filter(auth_grants::revoked.eq(false))
        .filter(auth_grants::expires_at.gt(now))
        .filter(auth_grants::grant_id.eq_any(taken_up))
        .order(auth_grants::created_at.desc())
        .select((
            auth_grants::grant_id,
            auth_grants::client_id,
            oauth_clients::name,
            auth_grants::scope,
            auth_grants::created_at,
            auth_grants::expires_at,
        ))
        .load(conn)?)
}

/// Ends every grant the user gave one app (their tokens stop working at once); the number ended.
pub fn revoke_user_app(conn: &mut AnyConnection, client_id: &str, username: &str) -> StoreResult<usize> {
    Ok(diesel::update(
        auth_grants::table
            .filter(auth_grants::client_id.eq(client_id))
            .filter(auth_grants::username.eq(username))
            .filter(auth_grants::revoked.eq(false)),
    )
    .set(auth_grants::revoked.eq(true))
    .execute(conn)?)
}
