//! `GET /fhir/metadata` — the only FHIR endpoint that needs no token.
//!
//! The CapabilityStatement depends only on the search-parameter registry (compiled in), the URLs and
//! the SMART endpoints, so it is built once per (base URL, FHIR base, OAuth URIs) and day (its
//! `date`) and its JSON is served from memory after that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::AppState;
use crate::error::ApiError;
use crate::fhir::capability::capability_statement;
use crate::fhir::format::Output;

/// Built statements by their inputs. One server has one entry; the bound only matters for processes
/// that run many apps (tests).
type Built = HashMap<(String, String, String, String), Arc<Vec<u8>>>;
static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
const MAX_BUILT: usize = 64;

/// The CapabilityStatement's JSON for these arguments, built on first use.
fn statement_json(base_url: &str, fhir_base: &str, oauth_uris: serde_json::Value) -> Arc<Vec<u8>> {
    let today = crate::clock::now().text.get(..10).unwrap_or_default().to_string();
    let key = (base_url.to_string(), fhir_base.to_string(), oauth_uris.to_string(), today);
    let built = BUILT.get_or_init(Default::default);
    if let Some(json) = built.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return json;
    }
    let mut cs = capability_statement(base_url, fhir_base);
    // SMART: the OAuth endpoints, the same URIs as /fhir/.well-known/smart-configuration.
    if let Some(security) = cs
        .get_mut("rest")
        .and_then(|r| r.get_mut(0))
        .and_then(|r| r.get_mut("security"))
        .and_then(|s| s.as_object_mut())
    {
        security.insert("extension".into(), serde_json::json!([oauth_uris]));
    }
    let json = Arc::new(cs.to_string().into_bytes());
    if let Ok(mut m) = built.lock() {
        if m.len() >= MAX_BUILT {
            m.clear();
        }
        m.insert(key, json.clone());
    }
    json
}

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let json = statement_json(
        &state.settings.base_url,
        &state.settings.fhir_base(),
        crate::smart::discovery::oauth_uris_extension(&state.settings),
    );
    let mut b = HttpResponse::Ok();
    b.insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=300"));
    out.respond(b, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_once_per_arguments() {
        let ext = serde_json::json!({"url": "u"});
        let a = statement_json("http://a", "http://a/fhir", ext.clone());
        let b = statement_json("http://a", "http://a/fhir", ext.clone());
        assert!(Arc::ptr_eq(&a, &b));
        let c = statement_json("http://b", "http://b/fhir", ext);
        assert!(!Arc::ptr_eq(&a, &c));
        let v: serde_json::Value = serde_json::from_slice(&c).unwrap_or_default();
        assert_eq!(v["resourceType"], "CapabilityStatement");
        assert_eq!(v["rest"][0]["security"]["extension"][0]["url"], "u");
    }
}
