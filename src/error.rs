//! The one error type of the HTTP layer, and how it is shown to clients.
//!
//! | variant              | status | OperationOutcome issue code |
//! |----------------------|--------|-----------------------------|
//! | `Invalid`            | 400    | invalid / structure / value |
//! | `BadRequest`         | 400    | invalid                     |
//! | `Unauthorized`       | 401    | login (+ `WWW-Authenticate`)|
//! | `Forbidden`          | 403    | forbidden                   |
//! | `NotFound`           | 404    | not-found                   |
//! | `MethodNotAllowed`   | 405    | not-supported               |
//! | `NotAcceptable`      | 406    | not-supported               |
//! | `Conflict`           | 409    | conflict                    |
//! | `Gone`               | 410    | deleted                     |
//! | `PreconditionFailed` | 412    | conflict                    |
//! | `PayloadTooLarge`    | 413    | too-costly                  |
//! | `UnsupportedMediaType` | 415  | not-supported               |
//! | `Unprocessable`      | 422    | processing / business-rule  |
//! | `TooManyRequests`    | 429    | throttled (+ `Retry-After`) |
//! | `Internal`           | 500    | exception (generic message; details only in the log) |
//!
//! Store functions return [`crate::store::StoreError`]; handlers return `Result<_, ApiError>`. The OAuth
//! endpoints have their own RFC 6749 error type in `smart`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::store::StoreError;

/// One issue in an OperationOutcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: &'static str,
    pub diagnostics: String,
    pub expression: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid resource: {}", .0.first().map(|i| i.diagnostics.as_str()).unwrap_or(""))]
    Invalid(Vec<Issue>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming one element.
    pub fn invalid(expression: impl Into<String>, diagnostics: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![Issue {
            code: "invalid",
            diagnostics: diagnostics.into(),
            expression: Some(expression.into()),
        }])
    }

    fn issue_code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => "invalid",
            ApiError::Unauthorized(_) => "login",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) | ApiError::NotAcceptable(_) | ApiError::UnsupportedMediaType(_) => {
                "not-supported"
            }
            ApiError::Conflict(_) | ApiError::PreconditionFailed(_) => "conflict",
            ApiError::Gone(_) => "deleted",
            ApiError::PayloadTooLarge(_) => "too-costly",
            ApiError::Unprocessable(_) => "processing",
            ApiError::TooManyRequests(_) => "throttled",
            ApiError::Internal(_) => "exception",
        }
    }

    /// The OperationOutcome for this error (internal details are never included).
    pub fn outcome(&self) -> serde_json::Value {
        let issues: Vec<serde_json::Value> = match self {
            ApiError::Invalid(issues) => issues
                .iter()
                .map(|i| {
                    let mut v = json!({"severity": "error", "code": i.code, "diagnostics": i.diagnostics});
                    if let Some(e) = &i.expression {
                        v["expression"] = json!([e]);
                    }
                    v
                })
                .collect(),
            ApiError::Internal(_) => vec![json!({
                "severity": "fatal", "code": "exception",
                "diagnostics": "The server could not complete the request; the error has been logged."
            })],
            other => vec![json!({"severity": "error", "code": other.issue_code(), "diagnostics": other.to_string()})],
        };
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

/// An informational OperationOutcome (e.g. for `Prefer: return=OperationOutcome`).
pub fn information_outcome(diagnostics: &str) -> serde_json::Value {
    json!({"resourceType": "OperationOutcome",
           "issue": [{"severity": "information", "code": "informational", "diagnostics": diagnostics}]})
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
        let mut builder = HttpResponse::build(self.status_code());
        builder.insert_header((header::CONTENT_TYPE, "application/fhir+json; charset=utf-8"));
        if let ApiError::Unauthorized(msg) = self {
            let desc = msg.replace('"', "'");
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer realm=\"bedside\", error=\"invalid_token\", error_description=\"{desc}\""),
            ));
        }
        builder.body(self.outcome().to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::Conflict(format!(
                "{what} was changed by another request at the same time; retry with the current version"
            )),
            StoreError::TooComplex(msg) => ApiError::BadRequest(msg),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(StoreError::from(e))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_renders_an_outcome_with_the_right_status() {
        let cases = [
            (ApiError::invalid("Patient.birthDate", "bad date"), 400, "invalid"),
            (ApiError::BadRequest("x".into()), 400, "invalid"),
            (ApiError::Unauthorized("x".into()), 401, "login"),
            (ApiError::Forbidden("x".into()), 403, "forbidden"),
            (ApiError::NotFound("x".into()), 404, "not-found"),
            (ApiError::MethodNotAllowed("x".into()), 405, "not-supported"),
            (ApiError::NotAcceptable("x".into()), 406, "not-supported"),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (ApiError::Gone("x".into()), 410, "deleted"),
            (ApiError::PreconditionFailed("x".into()), 412, "conflict"),
            (ApiError::PayloadTooLarge("x".into()), 413, "too-costly"),
            (ApiError::UnsupportedMediaType("x".into()), 415, "not-supported"),
            (ApiError::Unprocessable("x".into()), 422, "processing"),
            (ApiError::TooManyRequests("x".into()), 429, "throttled"),
            (ApiError::Internal("secret detail".into()), 500, "exception"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status_code().as_u16(), status, "{err:?}");
            let o = err.outcome();
            assert_eq!(o["resourceType"], "OperationOutcome");
            assert_eq!(o["issue"][0]["code"], code, "{err:?}");
            assert!(!o.to_string().contains("secret detail"));
        }
    }
}
