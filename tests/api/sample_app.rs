//! The demo's sample patient app (`/apps/sample/`, `src/web/sample_app.rs`): served only with `--demo`,
//! from a fixed list of embedded files with their media types, a CSP without inline script, and sane
//! caching; the demo client accepts the app's redirect URI on this server (and no earlier one), and the
//! searches the app makes answer as it expects, after a real sign-in and consent as the demo patient.
//! The browser side (fhirclient in Chromium, both launches) is `conformance/js/test/sample-app.test.mjs`.

use std::path::PathBuf;

use bedside::demo::logins::{self as demo_logins, CLIENT_ID, PATIENT_PASSWORD, PATIENT_USER};
use bedside::store::auth as rows;
use serde_json::Value;

use crate::smart_support::{authorize_url, location_param, pkce, submit, token_request, Browser};
use crate::support::{Resp, TestApp};

const STANDALONE_SCOPE: &str = "launch/patient openid fhirUser offline_access patient/*.rs";

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
    let names: Vec<&str> = bedside::web::sample_app::asset_names().collect();
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

#[test]
fn the_demo_client_follows_the_server_to_its_current_address() {
    let app = demo_app();
    let first = app.create(&crate::support::patient("Demo"));
    let mut c = app.state.store.conn().unwrap();
    demo_logins::seed(&mut c, &first).unwrap();
    // An earlier start on another port, then this one.
    let old = "http://127.0.0.1:1";
    demo_logins::allow_sample_app(&mut c, old).unwrap();
    demo_logins::allow_sample_app(&mut c, &app.base).unwrap();
    demo_logins::allow_sample_app(&mut c, &app.base).unwrap();
    let row = rows::find_client(&mut c, CLIENT_ID).unwrap().unwrap();
    let uris: Vec<String> = serde_json::from_str(&row.redirect_uris).unwrap();
    assert_eq!(
        uris,
        [
            demo_logins::REDIRECT_URI.to_string(),
            "http://127.0.0.1:9090/callback".to_string(),
            format!("{}/apps/sample/index.html", app.base)
        ]
    );
    let (_, challenge) = pkce();
    let params = |redirect: String| {
        authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("redirect_uri", &redirect),
                ("scope", STANDALONE_SCOPE),
                ("state", "s1"),
                ("aud", &app.fhir),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
    };
    let page = Browser::new().get(&params(demo_logins::sample_redirect_uri(&app.base))).expect(200).text();
    assert!(page.contains("/auth/login"), "the sign-in page: {page}");
    let refused = Browser::new().get(&params(demo_logins::sample_redirect_uri(old))).expect(400).text();
    assert!(refused.contains("not one registered"), "{refused}");
}

#[test]
fn the_printed_demo_text_leads_with_the_sample_app() {
    let fhir = "http://127.0.0.1:8080/fhir";
    let text = demo_logins::sample_app_summary("http://127.0.0.1:8080", fhir, "demo-patient-01");
    let first = text.lines().find(|l| l.trim_start().starts_with("http")).unwrap();
    assert_eq!(first.trim(), "http://127.0.0.1:8080/apps/sample/launch.html?iss=http://127.0.0.1:8080/fhir");
    assert!(text.contains("launch --patient demo-patient-01 --user Practitioner/demo-practitioner-1"), "{text}");
    assert!(text.contains("/apps/sample/launch.html?iss=http://127.0.0.1:8080/fhir&launch=$LAUNCH"), "{text}");
    // A FHIR base with characters that would end the query value is escaped.
    let odd = demo_logins::sample_launch_url("https://x.org/a&b", "https://x.org/a&b/fhir", None);
    assert_eq!(odd, "https://x.org/a&b/apps/sample/launch.html?iss=https://x.org/a%26b/fhir");
}

/// What the app does after the redirect, done by hand: sign in as the demo patient, allow, exchange the
/// code for the sample app's redirect URI, then the app's searches.
#[test]
fn a_launch_of_the_sample_app_reads_the_care_plan_view() {
    let app = demo_app();
    let mut settings = bedside::config::Settings::for_base(&app.base);
    settings.demo = true;
    let text = bedside::demo::seed::seed_demo(&app.state.store, &settings).unwrap();
    let sample_link = demo_logins::sample_launch_url(&app.base, &app.fhir, None);
    let lead = text.find(&sample_link).unwrap_or_else(|| panic!("the demo text shows {sample_link}: {text}"));
    assert!(lead < text.find("FHIR base URL").unwrap(), "the sample app comes first: {text}");

    let redirect = demo_logins::sample_redirect_uri(&app.base);
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", &redirect),
            ("scope", STANDALONE_SCOPE),
            ("state", "sample-1"),
            ("aud", &app.fhir),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut b = Browser::new();
    let login = b.get(&url).expect(200).text();
    let consent =
        submit(&mut b, &login, &[("username", PATIENT_USER), ("password", PATIENT_PASSWORD)]).expect(200).text();
    let scopes = crate::smart_support::consent_scopes(&consent);
    let mut extra: Vec<(&str, &str)> = scopes.iter().map(|s| ("scope", s.as_str())).collect();
    extra.push(("decision", "allow"));
    let back = submit(&mut b, &consent, &extra).expect(303);
    assert!(back.header("location").unwrap().starts_with(&format!("{redirect}?")), "{:?}", back.header("location"));
    let code = location_param(&back, "code").unwrap();
    let tok = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", CLIENT_ID),
            ("code_verifier", &verifier),
        ],
        None,
    )
    .expect(200)
    .json();
    let patient = tok["patient"].as_str().unwrap().to_string();
    assert!(tok["refresh_token"].is_string(), "offline_access: {tok}");
    let token = tok["access_token"].as_str().unwrap();

    // The care plan with its goals and appointments, in one search.
    let bundle = app
        .get(
            &format!(
                "/CarePlan?patient={patient}&status=active&_include=CarePlan:goal&_include=CarePlan:activity-reference&_count=50"
            ),
            token,
        )
        .expect(200)
        .json();
    let entries = bundle["entry"].as_array().unwrap();
    let mode = |m: &str| -> Vec<&Value> {
        entries.iter().filter(|e| e["search"]["mode"] == m).map(|e| &e["resource"]).collect::<Vec<_>>()
    };
    let plans = mode("match");
    assert_eq!(plans.len(), 1, "one active plan: {bundle}");
    let plan = plans[0];
    assert_eq!(plan["resourceType"], "CarePlan");
    assert!(plan["title"].is_string());
    let key = |r: &Value| format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
    let included: Vec<String> = mode("include").into_iter().map(key).collect();
    let goals: Vec<&str> = plan["goal"].as_array().unwrap().iter().map(|g| g["reference"].as_str().unwrap()).collect();
    let appts: Vec<&str> =
        plan["activity"].as_array().unwrap().iter().filter_map(|a| a["reference"]["reference"].as_str()).collect();
    assert!(!goals.is_empty() && !appts.is_empty(), "{plan}");
    for r in goals.iter().chain(&appts) {
        assert!(included.iter().any(|i| i == r), "{r} is included: {included:?}");
    }
    let now = time::OffsetDateTime::now_utc();
    let upcoming = mode("include")
        .into_iter()
        .filter(|r| r["resourceType"] == "Appointment")
        .filter(|a| {
            let start = time::OffsetDateTime::parse(
                a["start"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            start >= now
                && !["cancelled", "noshow", "fulfilled", "entered-in-error"].contains(&a["status"].as_str().unwrap())
        })
        .count();
    assert!(upcoming >= 1, "an upcoming appointment: {bundle}");

    // The latest observations, newest first.
    for category in ["vital-signs", "laboratory"] {
        let b = app
            .get(&format!("/Observation?patient={patient}&category={category}&_sort=-date&_count=100"), token)
            .expect(200)
            .json();
        let dates: Vec<&str> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["effectiveDateTime"].as_str().unwrap())
            .collect();
        assert!(!dates.is_empty(), "{category}");
        let mut sorted = dates.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(dates, sorted, "{category} newest first");
    }
}
