//! Security of the authorization server (issue 7, items 7, 8 and 11):
//! - a client never gets a scope outside its registration, and open registration (RFC 7591) never
//!   gives system/ access;
//! - a `jwks_uri` cannot be used for server-side request forgery, and all its failures look alike;
//! - rate limits count per grant (per address without a token), and X-Forwarded-For is believed only
//!   from a configured proxy.
//!
//! Only loopback is ever contacted: private and special targets are refused before any connection,
//! and the ones that would be contacted if a check failed are loopback servers that count visits.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bedside::smart::clients::{self, ClientAuth, NewClient, DEFAULT_APP_SCOPES};
use bedside::smart::jwks_uri::{REFUSED, REFUSED_AT_REGISTRATION};
use bedside::smart::token::TokenRequest;
use bedside::store::auth::{self as rows, GrantRow};
use serde_json::{json, Value};

use crate::smart_backend::{assertion, client_credentials, ec_key, jwks, Key};
use crate::smart_support::*;
use crate::support::{patient, Resp, TestApp};

fn assert_oauth(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json()["error"], error, "{}", r.text());
}

fn dcr(app: &TestApp, metadata: &Value) -> Resp {
    app.send(
        app.req("POST", &format!("{}/auth/register", app.base), None)
            .header("content-type", "application/json")
            .body(metadata.to_string()),
    )
}

fn dcr_app() -> TestApp {
    TestApp::with_settings(|s| s.enable_dcr = true)
}

// ---------------------------------------------------------------------------------------------
// Item 7: registered scopes
// ---------------------------------------------------------------------------------------------

#[test]
fn open_registration_asking_for_system_scopes_is_refused() {
    let app = dcr_app();
    let k = ec_key("k");
    let keys: Value = serde_json::from_str(&jwks(&[&k])).unwrap();
    for (redirects, scope) in [
        (json!([]), "system/*.cruds"),
        (json!([]), "system/Patient.rs"),
        (json!([REDIRECT]), "patient/*.rs system/Observation.rs"),
        (json!([REDIRECT]), "user/*.cruds system/*.read"),
    ] {
        let r = dcr(
            &app,
            &json!({"client_name": "x", "token_endpoint_auth_method": "private_key_jwt", "jwks": keys,
                "redirect_uris": redirects, "grant_types": ["client_credentials"], "scope": scope}),
        );
        assert_oauth(&r, 400, "invalid_client_metadata");
        assert!(r.json()["error_description"].as_str().unwrap().contains("not available"), "{}", r.text());
    }
    // A backend service without scopes cannot be made by open registration either.
    let r = dcr(
        &app,
        &json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": keys, "grant_types": ["client_credentials"]}),
    );
    assert_oauth(&r, 400, "invalid_client_metadata");
}

#[test]
fn an_openly_registered_client_with_keys_gets_no_system_access() {
    let app = dcr_app();
    app.create(&patient("Secret"));
    let k = ec_key("k");
    let keys: Value = serde_json::from_str(&jwks(&[&k])).unwrap();
    let r = dcr(
        &app,
        &json!({"client_name": "x", "token_endpoint_auth_method": "private_key_jwt", "jwks": keys,
            "redirect_uris": [REDIRECT]}),
    )
    .expect(201)
    .json();
    // No scope asked: the operator's default set, which has no system/ scope.
    assert_eq!(r["scope"], DEFAULT_APP_SCOPES);
    let client = r["client_id"].as_str().unwrap();
    for scope in ["system/*.cruds", "system/Patient.rs", "system/*.read"] {
        let t = client_credentials(&app, &assertion(&app, &k, client, |_| {}), scope);
        assert_oauth(&t, 400, "invalid_scope");
    }
}

#[test]
fn open_registration_is_limited_to_the_operators_set() {
    let app = TestApp::with_settings(|s| {
        s.enable_dcr = true;
        s.dcr_scopes = "patient/Observation.rs launch/patient openid".into();
    });
    let base = json!({"token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT]});
    let with = |scope: &str| {
        let mut m = base.clone();
        m["scope"] = json!(scope);
        m
    };
    assert_oauth(&dcr(&app, &with("patient/*.rs")), 400, "invalid_client_metadata");
    assert_oauth(&dcr(&app, &with("patient/Observation.cruds")), 400, "invalid_client_metadata");
    assert_oauth(&dcr(&app, &with("user/Observation.rs")), 400, "invalid_client_metadata");
    assert_oauth(&dcr(&app, &with("offline_access")), 400, "invalid_client_metadata");
    let ok = dcr(&app, &with("patient/Observation.rs?category=laboratory launch/patient")).expect(201).json();
    assert_eq!(ok["scope"], "patient/Observation.rs?category=laboratory launch/patient");
    assert_eq!(dcr(&app, &base).expect(201).json()["scope"], "patient/Observation.rs launch/patient openid");
    // The operator cannot open system/ scopes to anonymous registration.
    assert!(clients::check_dcr_scopes("patient/*.rs system/*.rs").is_err());
    assert!(clients::check_dcr_scopes("made-up").is_err());
    assert_eq!(clients::check_dcr_scopes("openid  openid patient/*.rs").unwrap(), "openid patient/*.rs");
}

#[test]
fn operator_registration_defaults() {
    let app = TestApp::new();
    let mut c = app.state.store.conn().unwrap();
    let new = |auth: ClientAuth, redirects: &[&str], scope: &str| NewClient {
        name: "n".into(),
        redirect_uris: redirects.iter().map(|s| s.to_string()).collect(),
        auth,
        scope: scope.into(),
        term: bedside::smart::grant::AccessTerm::Ongoing,
    };
    let k = ec_key("k");
    // Apps users launch: the default set.
    let r = clients::register(&mut c, new(ClientAuth::Public, &[REDIRECT], "")).unwrap();
    assert_eq!(r.row.scope, DEFAULT_APP_SCOPES);
    // Backend services must name their system/ scopes…
    let e = clients::register(&mut c, new(ClientAuth::Jwks(jwks(&[&k])), &[], "")).unwrap_err();
    assert!(e.to_string().contains("system/"), "{e}");
    // …and can have nothing else.
    assert!(clients::register(&mut c, new(ClientAuth::Jwks(jwks(&[&k])), &[], "system/*.rs openid")).is_err());
    let r = clients::register(&mut c, new(ClientAuth::Jwks(jwks(&[&k])), &[], "system/*.rs system/*.rs")).unwrap();
    assert_eq!(r.row.scope, "system/*.rs");
    // Unknown scopes are refused, not stored.
    assert!(clients::register(&mut c, new(ClientAuth::Public, &[REDIRECT], "patient/*.rs made-up")).is_err());
}

#[test]
fn authorize_gives_only_registered_scopes() {
    let app = TestApp::new();
    let me = app.create(&patient("Narrow"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = register(&app, ClientAuth::Public, &[REDIRECT], "patient/Observation.rs launch/patient").0;
    // Nothing registered among the request: invalid_scope back to the app.
    let (_, challenge) = pkce();
    let r = Browser::new()
        .get(&authorize_url(&app, &standard_params(&app, &client, "patient/*.cruds user/*.rs openid", &challenge)))
        .expect(303);
    assert_eq!(location_param(&r, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(location_param(&r, "state").as_deref(), Some("st-123"));
    // Some registered: narrowed (RFC 6749 §3.3), and the token response says so.
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &app,
        &standard_params(&app, &client, "patient/Observation.rs patient/Patient.rs launch/patient", &challenge),
    );
    let code = location_param(&walk(&app, &url, "pat", None), "code").unwrap();
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    assert_eq!(t["scope"], "patient/Observation.rs launch/patient");
    app.get(&format!("/Patient/{me}"), t["access_token"].as_str().unwrap()).expect(403);
}

#[test]
fn code_exchange_and_refresh_follow_a_narrowed_registration() {
    let app = TestApp::new();
    let me = app.create(&patient("Refresh"));
    add_user(&app, "pat", &format!("Patient/{me}"));
    let client = register(&app, ClientAuth::Public, &[REDIRECT], "patient/*.rs launch/patient offline_access openid").0;
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &app,
        &standard_params(
            &app,
            &client,
            "patient/Patient.rs patient/Observation.rs launch/patient offline_access",
            &challenge,
        ),
    );
    let code = location_param(&walk(&app, &url, "pat", None), "code").unwrap();
    // The operator narrows the registration between consent and code exchange.
    let narrow = |scope: &str| {
        let mut c = app.state.store.conn().unwrap();
        assert!(rows::set_client_scope(&mut c, &client, scope).unwrap());
    };
    narrow("patient/Observation.rs launch/patient offline_access");
    let t = exchange(&app, &client, &code, &verifier).expect(200).json();
    assert_eq!(t["scope"], "patient/Observation.rs launch/patient offline_access");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    // Refresh: narrowed again to the registration of the moment.
    narrow("patient/Observation.rs offline_access");
    let refresh = |rt: &str, scope: Option<&str>| {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", client.as_str())];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        token_request(&app, &form, None)
    };
    let t = refresh(&rt, None).expect(200).json();
    assert_eq!(t["scope"], "patient/Observation.rs offline_access");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    // Asking for a granted scope the registration no longer has gives only what is left…
    let t = refresh(&rt, Some("patient/Patient.rs patient/Observation.rs")).expect(200).json();
    assert_eq!(t["scope"], "patient/Observation.rs");
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    // …and nothing left is invalid_scope.
    narrow("openid");
    assert_oauth(&refresh(&rt, None), 400, "invalid_scope");
}

#[test]
fn client_credentials_never_exceed_the_registration() {
    let app = TestApp::new();
    let k = ec_key("k");
    let client = register(&app, ClientAuth::Jwks(jwks(&[&k])), &[], "system/Patient.rs").0;
    let t = client_credentials(&app, &assertion(&app, &k, &client, |_| {}), "system/Patient.rs system/Observation.rs")
        .expect(200)
        .json();
    assert_eq!(t["scope"], "system/Patient.rs");
    for scope in ["system/*.rs", "system/Patient.cruds", "system/Observation.rs"] {
        assert_oauth(&client_credentials(&app, &assertion(&app, &k, &client, |_| {}), scope), 400, "invalid_scope");
    }
}

#[test]
fn old_clients_without_a_registered_set_are_migrated_to_the_default() {
    use diesel::RunQueryDsl;
    let app = TestApp::new();
    let k = ec_key("k");
    let app_client = register(&app, ClientAuth::Public, &[REDIRECT], "patient/*.rs").0;
    let backend = register(&app, ClientAuth::Jwks(jwks(&[&k])), &[], "system/*.rs").0;
    let mut c = app.state.store.conn().unwrap();
    // An old database: an empty set meant "any scope".
    diesel::sql_query("UPDATE oauth_clients SET scope = ''").execute(&mut *c).unwrap();
    #[allow(clippy::if_same_then_else)] // the two files are alike today; each backend runs its own
    let up = if app.db_url.starts_with("postgres") {
        include_str!("../../migrations/postgres/2026-11-29-000100_client_scopes/up.sql")
    } else {
        include_str!("../../migrations/sqlite/2026-11-29-000100_client_scopes/up.sql")
    };
    diesel::sql_query(up).execute(&mut *c).unwrap();
    for id in [&app_client, &backend] {
        assert_eq!(rows::find_client(&mut c, id).unwrap().unwrap().scope, DEFAULT_APP_SCOPES);
    }
    // The backend service keeps no system/ access until the operator gives it back.
    assert_oauth(
        &client_credentials(&app, &assertion(&app, &k, &backend, |_| {}), "system/*.rs"),
        400,
        "invalid_scope",
    );
    assert!(rows::set_client_scope(&mut c, &backend, "system/*.rs").unwrap());
    client_credentials(&app, &assertion(&app, &k, &backend, |_| {}), "system/*.rs").expect(200);
}

#[test]
fn the_demo_client_is_registered_for_the_default_set() {
    let app = TestApp::new();
    let first = app.create(&patient("Demo"));
    let mut c = app.state.store.conn().unwrap();
    bedside::demo::logins::seed(&mut c, &first).unwrap();
    let row = rows::find_client(&mut c, bedside::demo::logins::CLIENT_ID).unwrap().unwrap();
    assert_eq!(row.scope, DEFAULT_APP_SCOPES);
    // The demo's printed authorize URL asks only for registered scopes.
    let url = bedside::demo::logins::authorize_url(&app.base, &app.fhir);
    let scope = url::Url::parse(&url).unwrap().query_pairs().find(|(k, _)| k == "scope").unwrap().1.into_owned();
    assert!(scope.split(' ').all(|s| bedside::smart::grant::client_allows(&row, s)), "{scope}");
}

// ---------------------------------------------------------------------------------------------
// Item 8: jwks_uri
// ---------------------------------------------------------------------------------------------

/// A loopback HTTP server answering every request with `status` and `body` (plus `extra` headers),
/// counting the connections it gets.
struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
}

fn serve(status: &'static str, extra: String, body: String) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
    });
    Server { base: format!("http://{addr}"), hits }
}

/// A backend client with this jwks_uri, stored as is (as an older server, or a database edit, may
/// have left it): the fetch must check on its own, whatever registration let through.
fn jwks_client(app: &TestApp, uri: &str) -> String {
    let row = rows::ClientRow {
        client_id: uuid::Uuid::new_v4().simple().to_string(),
        name: "remote keys".into(),
        client_type: clients::JWKS.into(),
        secret_hash: None,
        jwks: None,
        jwks_uri: Some(uri.to_string()),
        redirect_uris: "[]".into(),
        scope: "system/*.rs".into(),
        created_at: 0,
        access_term: "ongoing".into(),
    };
    rows::insert_client(&mut app.state.store.conn().unwrap(), &row).unwrap();
    row.client_id
}

/// client_credentials for a jwks_uri client; returns the response.
fn try_jwks_uri(app: &TestApp, key: &Key, uri: &str) -> Resp {
    let client = jwks_client(app, uri);
    client_credentials(app, &assertion(app, key, &client, |_| {}), "system/Patient.rs")
}

fn assert_refused(r: &Resp) {
    assert_oauth(r, 401, "invalid_client");
    assert_eq!(r.json()["error_description"], REFUSED, "{}", r.text());
}

#[test]
fn loopback_and_http_jwks_uris_are_refused_alike_without_a_connection() {
    let app = TestApp::new();
    let k = ec_key("k");
    let good = serve("200 OK", String::new(), jwks(&[&k]));
    let port = good.base.rsplit(':').next().unwrap().to_string();
    let mut bodies = Vec::new();
    for uri in [
        format!("{}/jwks.json", good.base),            // plain http (and loopback)
        format!("https://127.0.0.1:{port}/jwks.json"), // loopback
        format!("https://127.1.2.3:{port}/jwks.json"),
        format!("https://localhost:{port}/jwks.json"), // a name that resolves to loopback
        format!("https://[::ffff:127.0.0.1]:{port}/jwks.json"), // IPv4-mapped IPv6
        format!("https://[::1]:{port}/jwks.json"),
        format!("https://0.0.0.0:{port}/jwks.json"), // unspecified (reaches this machine)
        format!("https://2130706433:{port}/jwks.json"), // 127.0.0.1 written as a number
    ] {
        let r = try_jwks_uri(&app, &k, &uri);
        assert_refused(&r);
        bodies.push(r.text());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(good.hits.load(Ordering::SeqCst), 0, "a refused jwks_uri was contacted");
}

#[test]
fn with_the_development_flag_http_loopback_works_and_every_failure_looks_the_same() {
    let app = TestApp::with_settings(|s| s.dev_insecure_jwks_uri = true);
    let k = ec_key("k");
    let good = serve("200 OK", String::new(), jwks(&[&k]));
    try_jwks_uri(&app, &k, &format!("{}/jwks.json", good.base)).expect(200);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/jwks.json")
    };
    let not_found = serve("404 Not Found", String::new(), "{}".into());
    let error = serve("500 Internal Server Error", String::new(), "{}".into());
    let not_json = serve("200 OK", String::new(), "<html>hello</html>".into());
    let huge = serve("200 OK", String::new(), format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(300 * 1024)));
    let redirect = serve("302 Found", format!("location: {}/jwks.json\r\n", good.base), String::new());
    let before = good.hits.load(Ordering::SeqCst);
    let mut bodies = Vec::new();
    for uri in [
        closed,
        format!("{}/jwks.json", not_found.base),
        format!("{}/jwks.json", error.base),
        format!("{}/jwks.json", not_json.base),
        format!("{}/jwks.json", huge.base),
        format!("{}/jwks.json", redirect.base),
        // Private and link-local targets stay refused even with the flag (never contacted).
        "http://10.0.0.1/jwks.json".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[fd00::1]/jwks.json".into(),
        "http://[::ffff:10.0.0.1]/jwks.json".into(),
        "ftp://127.0.0.1/jwks.json".into(),
    ] {
        let r = try_jwks_uri(&app, &k, &uri);
        assert_refused(&r);
        bodies.push(r.text());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(good.hits.load(Ordering::SeqCst), before, "a redirect was followed");
}

#[test]
fn registration_refuses_jwks_uris_that_could_not_be_fetched() {
    let app = dcr_app();
    let meta = |uri: &str| json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": uri, "redirect_uris": [REDIRECT]});
    let mut bodies = Vec::new();
    for uri in [
        "http://keys.example.com/jwks.json", // plain http, refused before any lookup
        "https://127.0.0.1/jwks.json",
        "https://localhost/jwks.json",
        "https://10.1.2.3/jwks.json",
        "https://172.16.0.1/jwks.json",
        "https://192.168.0.10/jwks.json",
        "https://169.254.169.254/jwks.json",
        "https://100.64.0.1/jwks.json",
        "https://192.0.2.1/jwks.json",
        "https://224.0.0.1/jwks.json",
        "https://0.0.0.0/jwks.json",
        "https://[::1]/jwks.json",
        "https://[::ffff:192.168.0.1]/jwks.json",
        "https://[fe80::1]/jwks.json",
        "https://[fc00::1]/jwks.json",
        "https://[2001:db8::1]/jwks.json",
        "https://user:pw@keys.example.com/jwks.json",
        "file:///etc/passwd",
    ] {
        let r = dcr(&app, &meta(uri));
        assert_oauth(&r, 400, "invalid_client_metadata");
        assert_eq!(r.json()["error_description"], REFUSED_AT_REGISTRATION, "{uri}");
        bodies.push(r.text());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    // The operator's CLI path applies the same check.
    for uri in ["https://127.0.0.1/jwks.json", "http://keys.example.com/jwks.json"] {
        assert!(bedside::smart::jwks_uri::check_for_registration(uri, Default::default()).is_err(), "{uri}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 11: rate limits per grant, per address; trusted proxies
// ---------------------------------------------------------------------------------------------

fn limited_app(proxies: &[&str]) -> TestApp {
    let proxies: Vec<ipnet::IpNet> = proxies.iter().map(|p| bedside::config::parse_proxy(p).unwrap()).collect();
    TestApp::with_settings(move |s| {
        s.rate_limit = 1;
        s.rate_burst = 2;
        s.trusted_proxies = proxies;
    })
}

/// A token of `client` under a new active grant for `user`.
fn grant_token(app: &TestApp, client: &str, user: &str) -> String {
    let now = bedside::clock::now_secs();
    let grant = GrantRow {
        grant_id: uuid::Uuid::new_v4().simple().to_string(),
        client_id: client.into(),
        username: Some(user.into()),
        fhir_user: Some(format!("Practitioner/{user}")),
        scope: "user/*.rs".into(),
        patient: None,
        encounter: None,
        context: "{}".into(),
        nonce: None,
        revoked: false,
        created_at: now,
        expires_at: now + 3600,
    };
    rows::insert_grant(&mut app.state.store.conn().unwrap(), &grant).unwrap();
    app.token_with(TokenRequest {
        subject: user.into(),
        client_id: client.into(),
        scope: "user/*.rs".into(),
        fhir_user: grant.fhir_user.clone(),
        grant: Some(grant.grant_id),
        lifetime_secs: 300,
        ..Default::default()
    })
}

/// Sends `send` until it is limited (at most 30 times); returns the 429 answer.
fn until_limited(mut send: impl FnMut() -> Resp) -> Resp {
    for _ in 0..30 {
        let r = send();
        if r.status == 429 {
            return r;
        }
    }
    panic!("never limited");
}

fn assert_throttled(r: &Resp) {
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.json()["resourceType"], "OperationOutcome");
    assert_eq!(r.json()["issue"][0]["code"], "throttled");
}

#[test]
fn one_user_of_a_shared_app_does_not_use_up_the_others_budget() {
    let app = limited_app(&[]);
    let alice = grant_token(&app, "shared-app", "alice");
    let bob = grant_token(&app, "shared-app", "bob");
    assert_throttled(&until_limited(|| app.get("/Patient?_count=0", &alice)));
    app.get("/Patient?_count=0", &bob).expect(200);
    // Operator tokens (no grant) count per client and subject.
    let op1 = app.token_with(TokenRequest {
        subject: "op1".into(),
        client_id: "ops".into(),
        scope: "system/*.rs".into(),
        lifetime_secs: 60,
        ..Default::default()
    });
    let op2 = app.token_with(TokenRequest {
        subject: "op2".into(),
        client_id: "ops".into(),
        scope: "system/*.rs".into(),
        lifetime_secs: 60,
        ..Default::default()
    });
    assert_throttled(&until_limited(|| app.get("/Patient?_count=0", &op1)));
    app.get("/Patient?_count=0", &op2).expect(200);
}

#[test]
fn requests_without_a_valid_token_count_per_address_and_forwarded_for_is_ignored_by_default() {
    let app = limited_app(&[]);
    let mut n = 0;
    let r = until_limited(|| {
        n += 1;
        // A made-up X-Forwarded-For on each request must not give a fresh budget.
        app.send(app.req("GET", "/Patient", Some("not-a-token")).header("x-forwarded-for", format!("198.51.100.{n}")))
    });
    assert_throttled(&r);
    // A valid token has its own budget (its grant), whatever the address used up.
    let t = grant_token(&app, "app", "carol");
    app.get("/Patient?_count=0", &t).expect(200);
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_address_counts() {
    let app = limited_app(&["127.0.0.1"]);
    let from = |ip: &str| app.send(app.req("GET", "/metadata", None).header("x-forwarded-for", ip));
    assert_throttled(&until_limited(|| from("198.51.100.1")));
    from("198.51.100.2").expect(200);
    // A forged left-most hop does not help: the right-most untrusted address is the client (were the
    // left-most one used, every request here would have a fresh budget and never be limited).
    let mut n = 0;
    assert_throttled(&until_limited(|| {
        n += 1;
        from(&format!("203.0.113.{n}, 198.51.100.9"))
    }));
}

#[test]
fn tokens_are_still_checked_when_rate_limiting_verifies_them_first() {
    let app = limited_app(&[]);
    let t = grant_token(&app, "app", "dave");
    app.get("/Patient?_count=0", &t).expect(200);
    let r = app.get("/Patient?_count=0", "eyJhbGciOiJub25lIn0.e30.");
    assert_eq!(r.status, 401, "{}", r.text());
    // A revoked grant's token is refused at once, though the limiter verified its signature.
    let mut c = app.state.store.conn().unwrap();
    let claims = bedside::smart::token::verify(&app.state.keys.current(), &app.fhir, &t).unwrap();
    rows::revoke_grant(&mut c, claims.grant.as_deref().unwrap()).unwrap();
    assert_eq!(app.get("/Patient?_count=0", &t).status, 401);
}
