//! The demo's sample patient app at `/apps/sample/` (`bedside serve --demo` only; 404 otherwise).
//!
//! Plain HTML, CSS and JavaScript with SMART Health IT's `fhirclient` 2.6.3 vendored beside them
//! (`src/web/apps/sample/`, see `vendor/VENDORED.md`), compiled into the binary: a request names one file
//! of a fixed list, never a path on disk. `launch.html` starts a standalone or EHR launch as the public
//! demo client `demo-app`, whose redirect URI `<base-url>/apps/sample/index.html` the demo registers on
//! every start (`demo::logins::allow_sample_app`); `index.html` shows the patient's active care
//! plan, its upcoming appointments and goals, and the latest vital signs and lab results.
//!
//! Why only with `--demo`: the app signs in as `demo-app`, which exists only in a demo database, and a
//! production server has no reason to serve pages of its own beside the sign-in and consent pages.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::demo::logins::SAMPLE_APP_PATH;
use crate::error::ApiError;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// One file the app is made of: its name under `/apps/sample/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// Everything that is served; any other name is 404.
const ASSETS: &[Asset] = &[
    Asset { name: "launch.html", content_type: HTML, body: include_bytes!("apps/sample/launch.html") },
    Asset { name: "index.html", content_type: HTML, body: include_bytes!("apps/sample/index.html") },
    Asset { name: "launch.js", content_type: JS, body: include_bytes!("apps/sample/launch.js") },
    Asset { name: "app.js", content_type: JS, body: include_bytes!("apps/sample/app.js") },
    Asset { name: "style.css", content_type: CSS, body: include_bytes!("apps/sample/style.css") },
    Asset {
        name: "fhir-client.min.js",
        content_type: JS,
        body: include_bytes!("apps/sample/vendor/fhir-client.min.js"),
    },
    Asset {
        name: "fhir-client.min.js.LICENSE.txt",
        content_type: TEXT,
        body: include_bytes!("apps/sample/vendor/fhir-client.min.js.LICENSE.txt"),
    },
    Asset {
        name: "fhirclient-LICENSE.txt",
        content_type: TEXT,
        body: include_bytes!("apps/sample/vendor/fhirclient-LICENSE.txt"),
    },
];

/// The names served under `/apps/sample/` (for tests and documentation).
pub fn asset_names() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|a| a.name)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(SAMPLE_APP_PATH, web::get().to(to_launch))
        .route(&format!("{SAMPLE_APP_PATH}/"), web::get().to(to_launch))
        .service(
            web::resource(format!("{SAMPLE_APP_PATH}/{{name}}"))
                .route(web::get().to(asset))
                .route(web::head().to(asset)),
        );
}

fn not_served() -> ApiError {
    ApiError::NotFound("no such endpoint; the FHIR API is under /fhir".into())
}

/// `/apps/sample` and `/apps/sample/` → `launch.html`, keeping the query (`iss`, `launch`), so an EHR
/// may be configured with the folder as the app's launch URL.
async fn to_launch(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.settings.demo {
        return Err(not_served());
    }
    let folder = if req.path().ends_with('/') { "" } else { "sample/" };
    let query = match req.query_string() {
        "" => String::new(),
        q => format!("?{q}"),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{folder}launch.html{query}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

async fn asset(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let found = ASSETS.iter().zip(etags()).find(|(a, _)| a.name == name.as_str());
    let (Some((a, tag)), true) = (found, state.settings.demo) else { return Err(not_served()) };
    let fresh = matches_etag(&req, tag);
    let mut res = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, tag.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp(&state.settings.base_url)))
        // The pages receive the authorization code and show health data: never stored. Scripts and
        // styles are checked against the ETag on each use, so a new binary's files are picked up at once.
        .insert_header((header::CACHE_CONTROL, if a.content_type == HTML { "no-store" } else { "no-cache" }));
    if fresh {
        return Ok(res.finish());
    }
    Ok(res.content_type(a.content_type).body(a.body))
}

/// Scripts and styles only from this folder's origin (no inline script or style, no eval); requests
/// only to this server (`'self'`, and the origin of `--base-url` when the browser came another way).
pub fn csp(base_url: &str) -> String {
    let server = url::Url::parse(base_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let connect = match server.as_str() {
        "" | "null" => "'self'".to_string(),
        origin => format!("'self' {origin}"),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect}; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// Strong ETags from each file's SHA-256, computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = Sha256::digest(a.body);
                let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// `If-None-Match` names this ETag (weak comparison, RFC 9110 13.1.2) or is `*`.
fn matches_etag(req: &HttpRequest, tag: &str) -> bool {
    req.headers().get_all(header::IF_NONE_MATCH).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == tag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_file_names() {
        for name in asset_names() {
            assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
        }
        assert_eq!(etags().len(), ASSETS.len());
    }

    #[test]
    fn csp_allows_only_this_server() {
        let p = csp("http://127.0.0.1:8080");
        assert!(p.contains("script-src 'self';"), "{p}");
        assert!(p.contains("connect-src 'self' http://127.0.0.1:8080;"), "{p}");
        assert!(!p.contains("unsafe"), "{p}");
        assert!(csp("https://fhir.example.org/bedside").contains("connect-src 'self' https://fhir.example.org;"));
    }
}
