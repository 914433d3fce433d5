//! `AccessContext`: who is asking and what they may see. It is an actix extractor, so a handler that
//! needs authorization cannot forget it; every store query for FHIR data takes one.

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpRequest};

use super::scopes::{Interaction, Scopes};
use super::token;
use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Clone)]
pub struct AccessContext {
    pub client_id: String,
    pub subject: String,
    pub fhir_user: Option<String>,
    /// Set when the token is bound to one patient: only that compartment is visible.
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub scopes: Scopes,
}

impl AccessContext {
    /// Checks the type-level permission; a type not granted is 403 (never an empty 200).
    pub fn require(&self, resource_type: &str, interaction: Interaction) -> Result<(), ApiError> {
        if self.scopes.allows(resource_type, interaction) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the access token's scopes do not allow {} on {resource_type}",
                match interaction {
                    Interaction::Create => "create",
                    Interaction::Read => "read",
                    Interaction::Update => "update",
                    Interaction::Delete => "delete",
                    Interaction::Search => "search",
                }
            )))
        }
    }

    /// The patient whose compartment limits this request (patient-context tokens only).
    pub fn compartment_patient(&self) -> Option<&str> {
        if self.scopes.patient_only() {
            self.patient.as_deref()
        } else {
            None
        }
    }

    /// A patient-scoped token without a patient claim can see nothing patient-specific.
    pub fn check_consistent(&self) -> Result<(), ApiError> {
        if self.scopes.patient_only() && self.patient.is_none() {
            return Err(ApiError::Forbidden("patient-level scopes need a patient in the token's context".into()));
        }
        Ok(())
    }
}

fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("an Authorization: Bearer access token is required".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not readable".into()))?;
    let (scheme, tok) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || tok.trim().is_empty() {
        return Err(ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into()));
    }
    Ok(tok.trim())
}

pub fn authenticate(req: &HttpRequest) -> Result<AccessContext, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let tok = bearer(req)?;
    let claims = token::verify(&state.keys, &state.settings.fhir_base(), tok).map_err(ApiError::Unauthorized)?;
    let scopes = Scopes::parse(&claims.scope)
        .map_err(|e| ApiError::Unauthorized(format!("the access token's scope is invalid: {e}")))?;
    let ctx = AccessContext {
        client_id: claims.client_id,
        subject: claims.sub,
        fhir_user: claims.fhir_user,
        patient: claims.patient,
        encounter: claims.encounter,
        scopes,
    };
    ctx.check_consistent()?;
    Ok(ctx)
}

impl FromRequest for AccessContext {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

impl AccessContext {
    /// Full access for trusted in-process callers (importer, demo seeding) — never built from a request.
    pub fn system(actor: &str) -> AccessContext {
        AccessContext {
            client_id: actor.to_string(),
            subject: actor.to_string(),
            fhir_user: None,
            patient: None,
            encounter: None,
            scopes: Scopes::parse("system/*.cruds").unwrap_or_default(),
        }
    }
}
