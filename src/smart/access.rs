//! `AccessContext`: who is asking and what they may see. It is an actix extractor, so a handler that
//! needs authorization cannot forget it; every store query for FHIR data takes one.
//!
//! Extraction verifies the bearer JWT and then checks, with one primary-key lookup, that the grant
//! the token was issued under is still active — so revocation takes effect on the next request on
//! every node.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::scopes::{Context, Interaction, ResourceScope, Scopes};
use super::token;
use crate::error::ApiError;
use crate::store::StoreError;
use crate::AppState;

/// The refusal of an interaction the token's scopes do not cover (403: no existence information).
pub fn forbidden(res_type: &str, interaction: Interaction) -> ApiError {
    ApiError::Forbidden(format!(
        "the access token's scopes do not allow {} on {res_type}",
        match interaction {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::Search => "search",
        }
    ))
}

#[derive(Debug, Clone)]
pub struct AccessContext {
    pub client_id: String,
    pub subject: String,
    pub fhir_user: Option<String>,
    /// The patient in the token's launch context.
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub scopes: Scopes,
    /// The grant the token belongs to (None for operator tokens).
    pub grant: Option<String>,
}

impl AccessContext {
    /// Checks the type-level permission; a type not granted is 403 (never an empty 200).
    ///
    /// A patient-bound scope (see [`AccessContext::scope_patient`]) does not count for the types that
    /// can hold a patient's data no parameter attributes (`fhir::compartment::UNATTRIBUTED_TYPES`: a
    /// stored Bundle, a Binary, …), as in `fhir::guard::reach`: for such a token they are forbidden
    /// whatever the id, so "someone else's" and "no such id" answer alike.
    pub fn require(&self, resource_type: &str, interaction: Interaction) -> Result<(), ApiError> {
        let unattributed =
            crate::fhir::compartment::decision(resource_type) == crate::fhir::compartment::Decision::Unattributed;
        let allowed = self.scopes.resources.iter().any(|r| {
            r.covers(resource_type, interaction)
                && (!unattributed || matches!(self.scope_patient(r), PatientLimit::Any))
        });
        if allowed {
            Ok(())
        } else {
            Err(forbidden(resource_type, interaction))
        }
    }

    /// The Patient id of the user, when the user is a patient (`fhirUser` = `Patient/…`).
    fn user_patient(&self) -> Option<&str> {
        let u = self.fhir_user.as_deref()?;
        let rel = u.rsplit_once("/Patient/").map(|(_, id)| id).or_else(|| u.strip_prefix("Patient/"))?;
        Some(rel)
    }

    /// Whose data one scope speaks for, in its own context: `patient/` scopes for the launch patient
    /// (whatever else the token holds), `user/` scopes for the user's own record when the user is a
    /// patient and for everyone otherwise, `system/` scopes for everyone.
    pub fn scope_patient(&self, scope: &ResourceScope) -> PatientLimit {
        match scope.context {
            Context::Patient => match self.patient.as_deref().or(self.user_patient()) {
                Some(p) => PatientLimit::Only(p.to_string()),
                None => PatientLimit::NoPatient,
            },
            Context::User => match self.user_patient() {
                Some(p) => PatientLimit::Only(p.to_string()),
                None => PatientLimit::Any,
            },
            Context::System => PatientLimit::Any,
        }
    }

    /// Is every resource scope limited to one patient? (Then the whole token speaks for that patient.)
    fn limited_to_patient(&self) -> bool {
        !self.scopes.resources.is_empty()
            && self.scopes.resources.iter().all(|r| !matches!(self.scope_patient(r), PatientLimit::Any))
    }

    /// The patient every scope of this token is limited to (None when any scope reaches further).
    /// The access log attributes such a token's requests to this patient. Access decisions are made
    /// per scope, see [`AccessContext::scope_patient`] and `fhir::guard`.
    pub fn compartment_patient(&self) -> Option<&str> {
        if self.limited_to_patient() {
            self.patient.as_deref().or(self.user_patient())
        } else {
            None
        }
    }

    /// A patient-scoped token without a patient can see nothing patient-specific.
    pub fn check_consistent(&self) -> Result<(), ApiError> {
        if self.limited_to_patient() && self.compartment_patient().is_none() {
            return Err(ApiError::Forbidden("patient-level scopes need a patient in the token's context".into()));
        }
        Ok(())
    }
}

/// The patients one scope reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientLimit {
    /// Every patient (system scopes, a practitioner's user scopes).
    Any,
    /// One patient's compartment.
    Only(String),
    /// A patient scope without a patient in context: no patient's data at all.
    NoPatient,
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

/// The outcome of verifying a request's bearer token, kept in the request's extensions so the token
/// is verified once per request (by the rate limiter when it is on, else by the extractor).
#[derive(Debug, Clone)]
struct VerifiedToken(Result<token::AccessClaims, String>);

/// The bearer token's verified claims (signature, issuer, audience, expiry, token use), verified at
/// most once per request.
pub fn verified_claims(req: &HttpRequest) -> Result<token::AccessClaims, ApiError> {
    let tok = bearer(req)?;
    if let Some(VerifiedToken(done)) = req.extensions().get::<VerifiedToken>() {
        return done.clone().map_err(ApiError::Unauthorized);
    }
    let state =
        req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    // A token verified on an earlier request is taken from the cache (never past its `exp`, nor
    // once its key is no longer accepted); the grant behind it is still checked on every request
    // (`check_grant`).
    let now = token::now_secs();
    let verified = match state.tokens.get(tok, now, |kid| state.keys.current().by_kid(kid).is_some()) {
        Some(claims) => Ok(claims),
        None => token::verify_on_node(&state.keys, &state.settings.fhir_base(), tok).map(|(claims, kid)| {
            state.tokens.insert(tok, &claims, &kid, now);
            claims
        }),
    };
    req.extensions_mut().insert(VerifiedToken(verified.clone()));
    verified.map_err(ApiError::Unauthorized)
}

/// Verifies the bearer token's signature and claims (no database access; see [`check_grant`]).
pub fn authenticate(req: &HttpRequest) -> Result<AccessContext, ApiError> {
    let claims = verified_claims(req)?;
    let scopes = Scopes::parse(&claims.scope)
        .map_err(|e| ApiError::Unauthorized(format!("the access token's scope is invalid: {e}")))?;
    let ctx = AccessContext {
        client_id: claims.client_id,
        subject: claims.sub,
        fhir_user: claims.fhir_user,
        patient: claims.patient,
        encounter: claims.encounter,
        scopes,
        grant: claims.grant,
    };
    ctx.check_consistent()?;
    Ok(ctx)
}

/// Refuses a token whose grant was revoked or has ended.
pub async fn check_grant(state: &web::Data<AppState>, ctx: &AccessContext) -> Result<(), ApiError> {
    let Some(grant) = ctx.grant.clone() else { return Ok(()) };
    let store = state.store.clone();
    let now = token::now_secs() as i64;
    let active = web::block(move || -> Result<bool, StoreError> {
        let mut c = store.conn()?;
        crate::store::auth::grant_is_active(&mut c, &grant, now)
    })
    .await??;
    if active {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the access token has been revoked".into()))
    }
}

impl FromRequest for AccessContext {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let ctx = authenticate(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let ctx = ctx?;
            let state = state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            check_grant(&state, &ctx).await?;
            // From here on the request is recorded in the access log.
            crate::audit::capture::identify(&req, &ctx);
            Ok(ctx)
        })
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
            grant: None,
        }
    }
}

#[cfg(test)]
mod verified_once {
    use super::*;

    #[test]
    fn claims_verified_earlier_in_the_request_are_reused() {
        let req = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "Bearer not-even-a-jwt"))
            .to_http_request();
        let claims = token::AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp: 0,
            iat: 0,
            jti: "j".into(),
            token_use: token::ACCESS.into(),
            client_id: "c".into(),
            scope: "user/*.rs".into(),
            patient: None,
            encounter: None,
            fhir_user: None,
            grant: Some("g".into()),
        };
        req.extensions_mut().insert(VerifiedToken(Ok(claims.clone())));
        // No application state (and so no keys) here: only the cached result can answer.
        assert_eq!(verified_claims(&req).map_err(|e| e.to_string()), Ok(claims));
        req.extensions_mut().insert(VerifiedToken(Err("bad signature".into())));
        assert!(matches!(authenticate(&req), Err(ApiError::Unauthorized(m)) if m == "bad signature"));
    }
}
