//! Request plumbing shared by the OAuth endpoints: form bodies (RFC 6749: each parameter at most
//! once), running a unit of work on a pooled connection, and JSON responses that must not be cached.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::smart::oauth_error::OAuthError;

/// Largest form body the OAuth endpoints read.
const MAX_FORM: usize = 64 * 1024;

/// A decoded `application/x-www-form-urlencoded` body or query string.
#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn from_query(qs: &str) -> Form {
        Form(url::form_urlencoded::parse(qs.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// Reads a form body, refusing other content types and oversized bodies.
    pub async fn from_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Form, OAuthError> {
        use futures_util::StreamExt;
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ctype.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
        }
        let mut buf = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
            if buf.len() + chunk.len() > MAX_FORM {
                return Err(OAuthError::invalid_request("the body is too large"));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Form(url::form_urlencoded::parse(&buf).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }

    /// The value of a parameter given at most once (empty values count as absent).
    pub fn one(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            return Err(OAuthError::invalid_request(format!("the parameter {name} is given more than once")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.one(name)?.ok_or_else(|| OAuthError::invalid_request(format!("the parameter {name} is missing")))
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The first value of a parameter, for browser forms (duplicates tolerated).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub use crate::app::db;

/// A JSON answer of the OAuth endpoints: never cached.
pub fn no_store_json(status: actix_web::http::StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .content_type("application/json")
        .body(body.to_string())
}
