//! Errors of the OAuth endpoints (token, introspection, revocation, registration, launch API), shown
//! as RFC 6749 §5.2 JSON — not as OperationOutcome.
//!
//! | error                    | status | used for                                              |
//! |--------------------------|--------|-------------------------------------------------------|
//! | `invalid_request`        | 400    | missing/duplicated/malformed parameter                |
//! | `invalid_client`         | 401    | unknown client, wrong secret, bad client assertion    |
//! | `invalid_grant`          | 400    | bad/expired/reused code or refresh token, PKCE failure |
//! | `unauthorized_client`    | 400    | the client may not use this grant type                |
//! | `unsupported_grant_type` | 400    | grant type not supported                              |
//! | `invalid_scope`          | 400    | scope unknown, malformed or beyond what was granted   |
//! | `invalid_client_metadata`, `invalid_redirect_uri` | 400 | Dynamic Client Registration (RFC 7591) |
//! | `invalid_token`          | 401    | the launch API's bearer token is missing or invalid   |
//! | `insufficient_scope`     | 403    | the launch API's token lacks a `system/` scope         |
//! | `not_found`              | 404    | registration is disabled                              |
//! | `server_error`           | 500    | anything internal (details only in the log)           |
//!
//! Every response carries `Cache-Control: no-store` and `Pragma: no-cache`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::store::StoreError;

/// The `error` code of an OAuth error response (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidClientMetadata,
    InvalidRedirectUri,
    InvalidToken,
    InsufficientScope,
    NotFound,
    ServerError,
    /// Authorization endpoint only (sent to the redirect URI): the user or the server refused.
    AccessDenied,
    /// Authorization endpoint only: a `response_type` other than `code`.
    UnsupportedResponseType,
}

impl ErrorCode {
    /// The code as sent in the `error` member.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ServerError => "server_error",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
        }
    }

    /// The HTTP status of an error with this code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: ErrorCode,
    pub description: String,
    /// Set when the client authenticated with HTTP Basic (RFC 6749 §5.2: answer with a challenge).
    pub basic_challenge: bool,
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.as_str(), self.description)
    }
}

fn make(error: ErrorCode, d: impl Into<String>) -> OAuthError {
    OAuthError { error, description: d.into(), basic_challenge: false }
}

impl OAuthError {
    pub fn invalid_request(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidGrant, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        make(ErrorCode::UnauthorizedClient, d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        make(ErrorCode::UnsupportedGrantType, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidScope, d)
    }
    pub fn invalid_client_metadata(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidClientMetadata, d)
    }
    pub fn invalid_redirect_uri(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidRedirectUri, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        make(ErrorCode::InvalidToken, d)
    }
    pub fn insufficient_scope(d: impl Into<String>) -> Self {
        make(ErrorCode::InsufficientScope, d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        make(ErrorCode::NotFound, d)
    }
    pub fn server_error(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error in an OAuth endpoint");
        make(ErrorCode::ServerError, "the server could not complete the request; the error has been logged")
    }
    pub fn with_basic_challenge(mut self, basic: bool) -> Self {
        self.basic_challenge = basic;
        self
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status_code());
        b.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
        let desc = self.description.replace(['"', '\\'], "'");
        if matches!(self.error, ErrorCode::InvalidToken | ErrorCode::InsufficientScope) {
            b.insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"{}\", error_description=\"{desc}\"", self.error.as_str()),
            ));
        } else if self.basic_challenge {
            b.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"bedside\""));
        }
        b.content_type("application/json")
            .body(json!({"error": self.error.as_str(), "error_description": self.description}).to_string())
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::server_error(e)
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        OAuthError::server_error(e)
    }
}

impl From<actix_web::error::BlockingError> for OAuthError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        OAuthError::server_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_status_and_no_store() {
        let cases = [
            (OAuthError::invalid_request("x"), 400),
            (OAuthError::invalid_client("x"), 401),
            (OAuthError::invalid_grant("x"), 400),
            (OAuthError::unauthorized_client("x"), 400),
            (OAuthError::unsupported_grant_type("x"), 400),
            (OAuthError::invalid_scope("x"), 400),
            (OAuthError::invalid_client_metadata("x"), 400),
            (OAuthError::invalid_redirect_uri("x"), 400),
            (OAuthError::invalid_token("x"), 401),
            (OAuthError::insufficient_scope("x"), 403),
            (OAuthError::not_found("x"), 404),
            (OAuthError::server_error("secret detail"), 500),
        ];
        for (e, status) in cases {
            let r = e.error_response();
            assert_eq!(r.status().as_u16(), status, "{e}");
            assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
            assert_eq!(r.headers().get("pragma").and_then(|v| v.to_str().ok()), Some("no-cache"));
        }
        assert!(!OAuthError::server_error("secret detail").description.contains("secret"));
        let basic = OAuthError::invalid_client("x").with_basic_challenge(true).error_response();
        assert!(basic.headers().get("www-authenticate").is_some());
    }
}
