//! Rows of the authorization server: users, clients, authorization requests in progress, grants,
//! codes, refresh tokens, launch contexts and used client-assertion ids. Plain diesel DSL, so the same
//! code runs on SQLite and PostgreSQL. Callers pass hashes, never the secrets themselves.

mod operator;
pub mod schema;
mod sessions;
pub mod throttle;
mod tokens;

pub use operator::*;
pub use sessions::*;
pub use tokens::*;

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::{AnyConnection, StoreError, StoreResult};
use schema::{auth_requests, auth_users, launch_contexts, oauth_clients};

/// A unique-key clash becomes [`StoreError::Conflict`] naming `what`.
fn conflict(e: DieselError, what: &str) -> StoreError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict(what.to_string()),
        other => StoreError::Db(other),
    }
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = auth_users)]
pub struct UserRow {
    pub username: String,
    pub password_hash: String,
    pub fhir_user: String,
    pub created_at: i64,
    /// Disabled by the operator: sign-in is refused.
    pub disabled: bool,
}

pub fn insert_user(conn: &mut AnyConnection, row: &UserRow) -> StoreResult<()> {
    diesel::insert_into(auth_users::table)
        .values(row)
        .execute(conn)
        .map_err(|e| conflict(e, &format!("user {}", row.username)))?;
    Ok(())
}

pub fn find_user(conn: &mut AnyConnection, username: &str) -> StoreResult<Option<UserRow>> {
    Ok(auth_users::table.filter(auth_users::username.eq(username)).first(conn).optional()?)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = oauth_clients)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    /// `public`, `confidential-secret` or `confidential-jwks`.
    pub client_type: String,
    pub secret_hash: Option<String>,
    /// A JWKS document (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// JSON array of exact redirect URIs.
    pub redirect_uris: String,
    /// Scopes the client may be granted (space separated; nothing outside them is ever granted).
    pub scope: String,
    pub created_at: i64,
    /// How long a user's approval lasts: `one-time` or `ongoing` (see `smart::grant::AccessTerm`).
    pub access_term: String,
}

pub fn insert_client(conn: &mut AnyConnection, row: &ClientRow) -> StoreResult<()> {
    diesel::insert_into(oauth_clients::table)
        .values(row)
        .execute(conn)
        .map_err(|e| conflict(e, &format!("client {}", row.client_id)))?;
    Ok(())
}

pub fn find_client(conn: &mut AnyConnection, client_id: &str) -> StoreResult<Option<ClientRow>> {
    Ok(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)).first(conn).optional()?)
}

/// Replaces the scopes a client may be granted; false if there is no such client.
pub fn set_client_scope(conn: &mut AnyConnection, client_id: &str, scope: &str) -> StoreResult<bool> {
    let n = diesel::update(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
        .set(oauth_clients::scope.eq(scope))
        .execute(conn)?;
    Ok(n > 0)
}

/// Replaces a client's redirect URIs (`redirect_uris`: a JSON array); false if there is no such client.
pub fn set_client_redirect_uris(conn: &mut AnyConnection, client_id: &str, redirect_uris: &str) -> StoreResult<bool> {
    let n = diesel::update(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
        .set(oauth_clients::redirect_uris.eq(redirect_uris))
        .execute(conn)?;
    Ok(n > 0)
}

/// Sets how long users' approvals of a client last; false if there is no such client.
pub fn set_client_term(conn: &mut AnyConnection, client_id: &str, term: &str) -> StoreResult<bool> {
    let n = diesel::update(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
        .set(oauth_clients::access_term.eq(term))
        .execute(conn)?;
    Ok(n > 0)
}

/// An authorization request between `/authorize` and the redirect back to the app.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = auth_requests)]
pub struct AuthRequestRow {
    pub request_hash: String,
    /// Hash of the browser cookie this request is bound to.
    pub session_hash: String,
    pub csrf: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub launch_hash: Option<String>,
    pub username: Option<String>,
    pub fhir_user: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub expires_at: i64,
}

pub fn insert_request(conn: &mut AnyConnection, row: &AuthRequestRow) -> StoreResult<()> {
    let now = row.expires_at - 24 * 3600;
    diesel::delete(auth_requests::table.filter(auth_requests::expires_at.lt(now))).execute(conn)?;
    diesel::insert_into(auth_requests::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_request(conn: &mut AnyConnection, request_hash: &str) -> StoreResult<Option<AuthRequestRow>> {
    Ok(auth_requests::table.filter(auth_requests::request_hash.eq(request_hash)).first(conn).optional()?)
}

/// Records who logged in (and the patient, when the user is one).
pub fn set_request_user(
    conn: &mut AnyConnection,
    request_hash: &str,
    username: &str,
    fhir_user: &str,
    patient: Option<&str>,
) -> StoreResult<()> {
    diesel::update(auth_requests::table.filter(auth_requests::request_hash.eq(request_hash)))
        .set((
            auth_requests::username.eq(username),
            auth_requests::fhir_user.eq(fhir_user),
            auth_requests::patient.eq(patient),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_request_patient(conn: &mut AnyConnection, request_hash: &str, patient: &str) -> StoreResult<()> {
    diesel::update(auth_requests::table.filter(auth_requests::request_hash.eq(request_hash)))
        .set(auth_requests::patient.eq(patient))
        .execute(conn)?;
    Ok(())
}

/// Deletes the request; true if it was there (so only one consent can complete it).
pub fn take_request(conn: &mut AnyConnection, request_hash: &str) -> StoreResult<bool> {
    Ok(diesel::delete(auth_requests::table.filter(auth_requests::request_hash.eq(request_hash))).execute(conn)? == 1)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = launch_contexts)]
pub struct LaunchRow {
    pub launch_hash: String,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub fhir_user: Option<String>,
    pub intent: Option<String>,
    pub need_patient_banner: bool,
    pub smart_style_url: Option<String>,
    pub created_by: String,
    pub expires_at: i64,
}

pub fn insert_launch(conn: &mut AnyConnection, row: &LaunchRow) -> StoreResult<()> {
    diesel::insert_into(launch_contexts::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_launch(conn: &mut AnyConnection, launch_hash: &str) -> StoreResult<Option<LaunchRow>> {
    Ok(launch_contexts::table.filter(launch_contexts::launch_hash.eq(launch_hash)).first(conn).optional()?)
}

/// Current Patients (id, JSON) for the practitioner's patient picker, by id.
pub fn list_patients(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<(String, Vec<u8>)>> {
    use crate::store::schema::resources;
    Ok(resources::table
        .filter(resources::res_type.eq("Patient"))
        .filter(resources::deleted.eq(false))
        .order(resources::res_id.asc())
        .limit(limit)
        .select((resources::res_id, resources::content))
        .load(conn)?)
}
