//! The demo's sample patient app (`/apps/sample/`, `src/web/sample_app.rs`): served only with `--demo`,
//! from a fixed list of embedded files with their media types, a CSP without inline script, and sane
//! caching.

use std::path::PathBuf;

use crate::support::{Resp, TestApp};

fn demo_app() -> TestApp {
    TestApp::with_settings(|s| s.demo = true)
}

fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut rb = app.req("GET", &format!("{}{path}", app.base), None);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    app.send(rb)
}

/// The file in the repository that `/apps/sample/{name}` serves.
fn source(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/web/apps/sample");
    let path = match name {
        "fhir-client.min.js" | "fhir-client.min.js.LICENSE.txt" | "fhirclient-LICENSE.txt" => {
            dir.join("vendor").join(name)
        }
        _ => dir.join(name),
    };
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_file_is_served_with_its_type_csp_and_caching() {
    let app = demo_app();
    let names: Vec<&str> = bedside::pages::sample_app::asset_names().collect();
    for required in ["launch.html", "index.html", "launch.js", "app.js", "style.css", "fhir-client.min.js"] {
        assert!(names.contains(&required), "{required} is served");
    }
    for name in names {
        let r = get(&app, &format!("/apps/sample/{name}"), &[]).expect(200);
        assert_eq!(r.body, source(name), "{name} is the file in the repository");
        let (ty, cache) = match name.rsplit('.').next() {
            Some("html") => ("text/html; charset=utf-8", "no-store"),
            Some("js") => ("text/javascript; charset=utf-8", "no-cache"),
            Some("css") => ("text/css; charset=utf-8", "no-cache"),
            _ => ("text/plain; charset=utf-8", "no-cache"),
        };
        assert_eq!(r.header("content-type").as_deref(), Some(ty), "{name}");
        assert_eq!(r.header("cache-control").as_deref(), Some(cache), "{name}");
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"), "{name}");
        assert_eq!(r.header("referrer-policy").as_deref(), Some("no-referrer"), "{name}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{name}: {csp}");
        assert!(csp.contains("script-src 'self';"), "{name}: {csp}");
        assert!(csp.contains(&format!("connect-src 'self' {};", app.base)), "{name}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{name}: {csp}");
        assert!(!csp.contains("unsafe-"), "no inline script or style, no eval: {csp}");
        // A cached copy is revalidated with the ETag.
        let tag = r.header("etag").unwrap_or_else(|| panic!("{name}: ETag"));
        let again = get(&app, &format!("/apps/sample/{name}"), &[("if-none-match", &tag)]).expect(304);
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(tag));
    }
}

#[test]
fn the_pages_have_no_inline_script_or_style() {
    let app = demo_app();
    let handler = regex::Regex::new(r#"\son[a-z]+\s*="#).unwrap();
    for page in ["launch.html", "index.html"] {
        let html = get(&app, &format!("/apps/sample/{page}"), &[]).expect(200).text();
        let scripts = html.matches("<script").count();
        assert!(scripts >= 2, "{page} loads fhirclient and its own script");
        assert_eq!(html.matches("<script src=\"").count(), scripts, "{page}: every script is a file");
        assert!(html.contains("<script src=\"fhir-client.min.js\""), "{page}");
        assert!(!html.contains("<style") && !html.contains(" style="), "{page}: no inline style");
        assert!(!handler.is_match(&html), "{page}: no inline event handler");
    }
}

#[test]
fn only_the_listed_files_and_only_in_demo_mode() {
    let app = demo_app();
    for path in [
        "/apps/sample/nope.js",
        "/apps/sample/VENDORED.md",
        "/apps/sample/vendor/fhir-client.min.js",
        "/apps/sample/..%2F..%2F..%2FCargo.toml",
        "/apps/sample/..%2Fsample_app.rs",
        "/apps/sample/INDEX.HTML",
        "/apps/other/index.html",
    ] {
        get(&app, path, &[]).expect(404);
    }
    // The folder leads to launch.html, keeping the launch parameters.
    let r = get(&app, "/apps/sample/", &[]).expect(303);
    assert_eq!(r.header("location").as_deref(), Some("launch.html"));
    let r = get(&app, "/apps/sample?iss=http%3A%2F%2Fx%2Ffhir&launch=abc", &[]).expect(303);
    assert_eq!(r.header("location").as_deref(), Some("sample/launch.html?iss=http%3A%2F%2Fx%2Ffhir&launch=abc"));

    let plain = TestApp::new();
    for path in
        ["/apps/sample/index.html", "/apps/sample/launch.html", "/apps/sample/fhir-client.min.js", "/apps/sample/"]
    {
        plain.send(plain.req("GET", &format!("{}{path}", plain.base), None)).expect(404);
    }
}
