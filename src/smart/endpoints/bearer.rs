//! The access-token extractor: `AccessContext` from a request's `Authorization: Bearer` token. A
//! handler that needs authorization takes an `AccessContext` argument, so it cannot forget it.
//!
//! Extraction verifies the bearer JWT (once per request, and once per token while it is cached) and
//! then checks, with one primary-key lookup, that the grant the token was issued under is still
//! active — so revocation takes effect on the next request on every node. It then marks the request
//! for the access log (`audit::capture::identify`).

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::app::AppState;
use crate::error::ApiError;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Scopes;
use crate::smart::token;
use crate::store::StoreError;

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
    let now = crate::clock::now_secs().unsigned_abs();
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
    let now = crate::clock::now_secs();
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
            crate::audit::capture::identify(&req, ctx.caller(), state.audit(), &state.settings.fhir_base());
            Ok(ctx)
        })
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
