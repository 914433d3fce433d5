//! People who sign in: patients and practitioners, each linked to a FHIR resource (`fhirUser`).

use super::secrets;
use crate::store::auth::{self as rows, throttle, UserRow};
use crate::store::{AnyConnection, StoreError, StoreResult};

/// The resource types a user can be (SMART `fhirUser`).
const USER_TYPES: &[&str] = &["Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "Person"];

/// Checks a `fhirUser` value: `Patient/123`, `Practitioner/abc`, …
pub fn check_fhir_user(fhir_user: &str) -> Result<(), String> {
    let (t, id) =
        fhir_user.split_once('/').ok_or_else(|| format!("fhirUser {fhir_user:?} must look like Patient/123"))?;
    if !USER_TYPES.contains(&t) {
        return Err(format!("fhirUser {fhir_user:?} must be one of {}", USER_TYPES.join(", ")));
    }
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(format!("fhirUser {fhir_user:?} has an invalid id"));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < 8 {
        return Err(UserError::Invalid("the password must have at least 8 characters".into()));
    }
    Ok(())
}

/// Sets a new password (argon2-hashed); false when there is no such user. Sign-in sessions and grants
/// are left as they are (`bedside user disable` ends them).
pub fn set_password(conn: &mut AnyConnection, username: &str, password: &str) -> Result<bool, UserError> {
    check_password(password)?;
    let hash = secrets::hash_password(password).map_err(UserError::Invalid)?;
    Ok(rows::set_password_hash(conn, username, &hash)?)
}

/// Adds a login. The password is hashed with argon2; it is never stored or logged as given.
pub fn add(conn: &mut AnyConnection, username: &str, password: &str, fhir_user: &str) -> Result<UserRow, UserError> {
    let username = username.trim();
    if username.is_empty() || username.len() > 100 || username.chars().any(char::is_whitespace) {
        return Err(UserError::Invalid("the user name must have 1 to 100 characters and no spaces".into()));
    }
    check_password(password)?;
    check_fhir_user(fhir_user).map_err(UserError::Invalid)?;
    let row = UserRow {
        username: username.to_string(),
        password_hash: secrets::hash_password(password).map_err(UserError::Invalid)?,
        fhir_user: fhir_user.to_string(),
        created_at: crate::clock::now_secs(),
        disabled: false,
    };
    match rows::insert_user(conn, &row) {
        Ok(()) => Ok(row),
        Err(StoreError::Conflict(_)) => Err(UserError::Invalid(format!("the user {username:?} already exists"))),
        Err(e) => Err(e.into()),
    }
}

/// The user if the password is right. Unknown users take as long as wrong passwords. After
/// `throttle::MAX_FAILURES` failures for a name (known or not) sign-in is refused for a while, on
/// every node; see [`locked`] for telling the user.
pub fn check_login(conn: &mut AnyConnection, username: &str, password: &str) -> StoreResult<Option<UserRow>> {
    let name = username.trim();
    let now = crate::clock::now_secs();
    if throttle::locked_until(conn, name, now)?.is_some() {
        secrets::verify_dummy(password);
        return Ok(None);
    }
    let user = match rows::find_user(conn, name)? {
        // A disabled sign-in fails like a wrong password (the check still runs: same time).
        Some(u) if secrets::verify_password(password, &u.password_hash) && !u.disabled => Some(u),
        Some(_) => None,
        None => {
            secrets::verify_dummy(password);
            None
        }
    };
    match &user {
        Some(_) => throttle::clear(conn, name)?,
        None => throttle::record_failure(conn, name, now)?,
    }
    Ok(user)
}

/// The message for a failed sign-in: the usual one, or that the name is locked for a while.
pub fn login_error(conn: &mut AnyConnection, username: &str) -> StoreResult<&'static str> {
    let now = crate::clock::now_secs();
    Ok(match throttle::locked_until(conn, username.trim(), now)? {
        Some(_) => "Too many failed sign-ins for this user name. Wait 15 minutes and try again.",
        None => "The user name or password is wrong.",
    })
}

/// The Patient id of a `fhirUser` that is a patient.
pub fn patient_of(fhir_user: &str) -> Option<&str> {
    fhir_user.strip_prefix("Patient/")
}
