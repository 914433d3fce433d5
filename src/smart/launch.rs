//! EHR launch: an EHR records who and what is open (patient, encounter, user, intent) and gets an
//! opaque `launch` value to pass to the app; the app's authorization request carries it back.
//! Launch contexts are rows (any node can resolve them), found by the hash of the value.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::form::{db, no_store_json};
use super::oauth_error::OAuthError;
use super::scopes::Context;
use super::secrets;
use crate::store::auth::{self as rows, LaunchRow};
use crate::store::{AnyConnection, StoreError};
use crate::AppState;

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

fn exists(conn: &mut AnyConnection, res_type: &str, id: &str) -> Result<bool, StoreError> {
    Ok(crate::fhir::service::current_for_server(conn, res_type, id)?.is_some())
}

/// Stores a launch context and returns the launch value (shown once; only its hash is kept).
pub fn create(conn: &mut AnyConnection, new: &NewLaunch, created_by: &str) -> Result<String, LaunchError> {
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
            expires_at: super::token::now_secs() as i64 + LAUNCH_LIFETIME_SECS,
        },
    )?;
    Ok(launch)
}

/// The live launch context of a launch value.
pub fn find(conn: &mut AnyConnection, launch: &str) -> Result<Option<LaunchRow>, StoreError> {
    let now = super::token::now_secs() as i64;
    Ok(rows::find_launch(conn, &secrets::hash_token(launch))?.filter(|l| l.expires_at > now))
}

/// `POST /smart/launch` — for EHRs, authenticated with an access token holding a `system/` scope
/// (e.g. from client_credentials). Body: `{"patient", "encounter", "user", "intent", …}`.
pub async fn create_endpoint(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let ctx = super::access::authenticate(&req).map_err(|e| OAuthError::invalid_token(e.to_string()))?;
    super::access::check_grant(&state, &ctx).await.map_err(|e| OAuthError::invalid_token(e.to_string()))?;
    if !ctx.scopes.resources.iter().any(|r| r.context == Context::System) {
        return Err(OAuthError::insufficient_scope("creating a launch context needs a token with a system/ scope"));
    }
    let new: NewLaunch = serde_json::from_slice(&body)
        .map_err(|e| OAuthError::invalid_request(format!("the body must be a JSON launch context: {e}")))?;
    let by = ctx.client_id.clone();
    let launch = db(&state, move |c| match create(c, &new, &by) {
        Ok(l) => Ok(l),
        Err(LaunchError::Invalid(m)) => Err(OAuthError::invalid_request(m)),
        Err(LaunchError::Store(e)) => Err(OAuthError::server_error(e)),
    })
    .await?;
    Ok(no_store_json(StatusCode::CREATED, &json!({"launch": launch, "expires_in": LAUNCH_LIFETIME_SECS})))
}

/// `GET /smart/style.json` — the styling hints named by `smart_style_url` (SMART App Launch §styling).
pub async fn style() -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=3600")).json(json!({
        "color_background": "#f4f6f8",
        "color_error": "#a4000f",
        "color_highlight": "#1d5fa8",
        "color_modal_backdrop": "",
        "color_success": "#2b7a3d",
        "color_text": "#1d2733",
        "dim_border_radius": "10px",
        "dim_font_size": "16px",
        "dim_spacing_size": "20px",
        "font_family_body": "system-ui, sans-serif",
        "font_family_heading": "system-ui, sans-serif"
    }))
}
