//! `POST /smart/launch` (an EHR creates a launch context) and `GET /smart/style.json`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::form::{db, no_store_json};
use crate::app::AppState;
use crate::smart::launch::{create, LaunchError, NewLaunch, LAUNCH_LIFETIME_SECS};
use crate::smart::oauth_error::OAuthError;
use crate::smart::scopes::Context;

/// `POST /smart/launch` — for EHRs, authenticated with an access token holding a `system/` scope
/// (e.g. from client_credentials). Body: `{"patient", "encounter", "user", "intent", …}`.
pub async fn create_endpoint(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let ctx = super::bearer::authenticate(&req).map_err(|e| OAuthError::invalid_token(e.to_string()))?;
    super::bearer::check_grant(&state, &ctx).await.map_err(|e| OAuthError::invalid_token(e.to_string()))?;
    if !ctx.scopes.resources.iter().any(|r| r.context == Context::System) {
        return Err(OAuthError::insufficient_scope("creating a launch context needs a token with a system/ scope"));
    }
    let new: NewLaunch = serde_json::from_slice(&body)
        .map_err(|e| OAuthError::invalid_request(format!("the body must be a JSON launch context: {e}")))?;
    let by = ctx.client_id.clone();
    let launch = db(&state, move |c| match create(c, &new, &by, crate::fhir::service::exists) {
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
