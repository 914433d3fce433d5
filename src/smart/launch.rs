//! EHR launch: an EHR records who and what is open (patient, encounter, user, intent) and gets an
//! opaque `launch` value to pass to the app; the app's authorization request carries it back.
//! Launch contexts are rows (any node can resolve them), found by the hash of the value.

use serde::Deserialize;

use super::secrets;
use crate::store::auth::{self as rows, LaunchRow};
use crate::store::{AnyConnection, StoreError};

/// How long a launch value can be used.
pub const LAUNCH_LIFETIME_SECS: i64 = 3600;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewLaunch {
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// `Practitioner/123`: only this user may complete the launch.
    pub user: Option<String>,
    pub intent: Option<String>,
    pub need_patient_banner: Option<bool>,
    pub smart_style_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a resource is stored (`fhir::service::exists`; passed in, as this layer knows no FHIR data).
pub type Exists = fn(&mut AnyConnection, &str, &str) -> Result<bool, StoreError>;

/// Stores a launch context and returns the launch value (shown once; only its hash is kept).
pub fn create(
    conn: &mut AnyConnection,
    new: &NewLaunch,
    created_by: &str,
    exists: Exists,
) -> Result<String, LaunchError> {
    if let Some(p) = &new.patient {
        if !exists(conn, "Patient", p)? {
            return Err(LaunchError::Invalid(format!("Patient/{p} does not exist")));
        }
    }
    if let Some(e) = &new.encounter {
        if !exists(conn, "Encounter", e)? {
            return Err(LaunchError::Invalid(format!("Encounter/{e} does not exist")));
        }
    }
    if let Some(u) = &new.user {
        super::users::check_fhir_user(u).map_err(LaunchError::Invalid)?;
    }
    if let Some(s) = &new.smart_style_url {
        url::Url::parse(s).map_err(|_| LaunchError::Invalid("smart_style_url is not an absolute URL".into()))?;
    }
    let launch = secrets::random_token();
    rows::insert_launch(
        conn,
        &LaunchRow {
            launch_hash: secrets::hash_token(&launch),
            patient: new.patient.clone(),
            encounter: new.encounter.clone(),
            fhir_user: new.user.clone(),
            intent: new.intent.clone(),
            need_patient_banner: new.need_patient_banner.unwrap_or(false),
            smart_style_url: new.smart_style_url.clone(),
            created_by: created_by.to_string(),
            expires_at: crate::clock::now_secs() + LAUNCH_LIFETIME_SECS,
        },
    )?;
    Ok(launch)
}

/// The live launch context of a launch value.
pub fn find(conn: &mut AnyConnection, launch: &str) -> Result<Option<LaunchRow>, StoreError> {
    let now = crate::clock::now_secs();
    Ok(rows::find_launch(conn, &secrets::hash_token(launch))?.filter(|l| l.expires_at > now))
}
