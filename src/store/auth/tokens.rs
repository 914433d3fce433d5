//! Grants and what hangs off them: authorization codes, refresh tokens; and used assertion ids.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::{auth_codes, auth_grants, client_assertion_jtis, refresh_tokens};
use crate::store::{AnyConnection, StoreResult};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = auth_grants)]
pub struct GrantRow {
    pub grant_id: String,
    pub client_id: String,
    pub username: Option<String>,
    pub fhir_user: Option<String>,
    /// The scope granted (what the user approved).
    pub scope: String,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// JSON with the launch context extras: need_patient_banner, smart_style_url, intent.
    pub context: String,
    pub nonce: Option<String>,
    pub revoked: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert_grant(conn: &mut AnyConnection, row: &GrantRow) -> StoreResult<()> {
    diesel::insert_into(auth_grants::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_grant(conn: &mut AnyConnection, grant_id: &str) -> StoreResult<Option<GrantRow>> {
    Ok(auth_grants::table.filter(auth_grants::grant_id.eq(grant_id)).first(conn).optional()?)
}

/// Is the grant there, unrevoked and unexpired? One primary-key lookup (done on every FHIR request).
pub fn grant_is_active(conn: &mut AnyConnection, grant_id: &str, now: i64) -> StoreResult<bool> {
    let n: i64 = auth_grants::table
        .filter(auth_grants::grant_id.eq(grant_id))
        .filter(auth_grants::revoked.eq(false))
        .filter(auth_grants::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Revokes a grant: its access tokens stop working on the next request, its refresh tokens too.
pub fn revoke_grant(conn: &mut AnyConnection, grant_id: &str) -> StoreResult<()> {
    diesel::update(auth_grants::table.filter(auth_grants::grant_id.eq(grant_id)))
        .set(auth_grants::revoked.eq(true))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub used: bool,
    pub expires_at: i64,
}

pub fn insert_code(conn: &mut AnyConnection, row: &CodeRow) -> StoreResult<()> {
    // Codes live a minute; an hour later nobody needs even the used ones for replay detection.
    diesel::delete(auth_codes::table.filter(auth_codes::expires_at.lt(row.expires_at - 3600))).execute(conn)?;
    diesel::insert_into(auth_codes::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_code(conn: &mut AnyConnection, code_hash: &str) -> StoreResult<Option<CodeRow>> {
    Ok(auth_codes::table.filter(auth_codes::code_hash.eq(code_hash)).first(conn).optional()?)
}

/// Marks a code used; false if it already was (a replay), so two concurrent redemptions cannot both win.
pub fn use_code(conn: &mut AnyConnection, code_hash: &str) -> StoreResult<bool> {
    let n = diesel::update(
        auth_codes::table.filter(auth_codes::code_hash.eq(code_hash)).filter(auth_codes::used.eq(false)),
    )
    .set(auth_codes::used.eq(true))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub used: bool,
    pub expires_at: i64,
}

pub fn insert_refresh(conn: &mut AnyConnection, row: &RefreshRow) -> StoreResult<()> {
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_refresh(conn: &mut AnyConnection, token_hash: &str) -> StoreResult<Option<RefreshRow>> {
    Ok(refresh_tokens::table.filter(refresh_tokens::token_hash.eq(token_hash)).first(conn).optional()?)
}

/// Marks a refresh token used (rotated); false if it already was — a reuse.
pub fn use_refresh(conn: &mut AnyConnection, token_hash: &str) -> StoreResult<bool> {
    let n = diesel::update(
        refresh_tokens::table.filter(refresh_tokens::token_hash.eq(token_hash)).filter(refresh_tokens::used.eq(false)),
    )
    .set(refresh_tokens::used.eq(true))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a client assertion's `jti`; false if the client already used it. Call it outside any
/// other transaction (a unique violation aborts a PostgreSQL transaction).
pub fn record_jti(
    conn: &mut AnyConnection,
    client_id: &str,
    jti: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<bool> {
    diesel::delete(client_assertion_jtis::table.filter(client_assertion_jtis::expires_at.lt(now - 3600)))
        .execute(conn)?;
    let inserted = diesel::insert_into(client_assertion_jtis::table)
        .values((
            client_assertion_jtis::client_id.eq(client_id),
            client_assertion_jtis::jti.eq(jti),
            client_assertion_jtis::expires_at.eq(expires_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
