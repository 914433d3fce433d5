//! Helpers for the SMART tests: registering clients and users straight in the store, a tiny
//! "browser" (keeps the session cookie, submits forms with their hidden CSRF fields), and the
//! authorize → login → consent walk.

use bedside::smart::clients::{self, ClientAuth, NewClient};
pub use bedside::smart::grant::AccessTerm;
use bedside::smart::secrets;
use regex::Regex;

use crate::support::{Resp, TestApp};

pub const REDIRECT: &str = "http://localhost:9999/cb";
pub const PASSWORD: &str = "correct horse battery";

pub fn add_user(app: &TestApp, username: &str, fhir_user: &str) {
    let mut c = app.state.store.conn().expect("conn");
    bedside::smart::users::add(&mut c, username, PASSWORD, fhir_user).expect("add user");
}

pub fn register(app: &TestApp, auth: ClientAuth, redirect_uris: &[&str], scope: &str) -> (String, Option<String>) {
    register_for(app, auth, redirect_uris, scope, AccessTerm::Ongoing)
}

pub fn register_for(
    app: &TestApp,
    auth: ClientAuth,
    redirect_uris: &[&str],
    scope: &str,
    term: AccessTerm,
) -> (String, Option<String>) {
    let mut c = app.state.store.conn().expect("conn");
    let reg = clients::register(
        &mut c,
        NewClient {
            name: "Test App".into(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            auth,
            scope: scope.into(),
            term,
        },
    )
    .expect("register client");
    (reg.row.client_id, reg.client_secret)
}

pub fn public_client(app: &TestApp) -> String {
    register(app, ClientAuth::Public, &[REDIRECT], "").0
}

pub fn secret_client(app: &TestApp) -> (String, String) {
    let (id, secret) = register(app, ClientAuth::Secret, &[REDIRECT], "");
    (id, secret.expect("secret"))
}

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let v = secrets::random_token();
    let c = secrets::s256(&v);
    (v, c)
}

/// The authorize URL with these parameters (values URL-encoded).
pub fn authorize_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter().copied()).finish();
    format!("{}/auth/authorize?{q}", app.base)
}

/// The usual parameters of a good standalone request (PKCE challenge given).
pub fn standard_params<'a>(
    app: &'a TestApp,
    client_id: &'a str,
    scope: &'a str,
    challenge: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st-123"),
        ("aud", app.fhir.as_str()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// A browser: follows nothing by itself, keeps the `__Host-` session cookie.
pub struct Browser {
    cookie: Option<String>,
    client: reqwest::blocking::Client,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            cookie: None,
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    fn send(&mut self, mut rb: reqwest::blocking::RequestBuilder) -> Resp {
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c.clone());
        }
        let r = rb.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for v in headers.get_all("set-cookie") {
            let text = v.to_str().expect("cookie");
            assert!(text.contains("Secure"), "the session cookie must be Secure: {text}");
            assert!(text.contains("HttpOnly"), "the session cookie must be HttpOnly: {text}");
            self.cookie = text.split(';').next().map(str::to_string);
        }
        let body = r.bytes().expect("body").to_vec();
        Resp { status, headers, body }
    }

    pub fn get(&mut self, url: &str) -> Resp {
        let rb = self.client.get(url);
        self.send(rb)
    }

    pub fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Resp {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        let rb = self.client.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
        self.send(rb)
    }

    pub fn forget_cookie(&mut self) {
        self.cookie = None;
    }
}

/// Undoes the HTML escaping of an attribute value.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#124;", "|")
        .replace("&amp;", "&")
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let re = Regex::new(&format!(r#"name="{}" value="([^"]*)""#, regex::escape(name))).expect("regex");
    re.captures(html)
        .and_then(|c| c.get(1))
        .map(|m| unescape(m.as_str()))
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
}

pub fn form_action(html: &str) -> String {
    let re = Regex::new(r#"<form method="post" action="([^"]*)""#).expect("regex");
    re.captures(html)
        .and_then(|c| c.get(1))
        .map(|m| unescape(m.as_str()))
        .unwrap_or_else(|| panic!("no form in {html}"))
}

/// The checkbox values (scopes) the consent page offers.
pub fn consent_scopes(html: &str) -> Vec<String> {
    let re = Regex::new(r#"name="scope" value="([^"]*)""#).expect("regex");
    re.captures_iter(html).filter_map(|c| c.get(1)).map(|m| unescape(m.as_str())).collect()
}

/// Submits a page's form with its hidden fields plus `extra`.
pub fn submit(browser: &mut Browser, page: &str, extra: &[(&str, &str)]) -> Resp {
    let mut fields = vec![("request".to_string(), hidden(page, "request")), ("csrf".to_string(), hidden(page, "csrf"))];
    fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    browser.post_form(&form_action(page), &fields)
}

/// Signs in on a login page; returns the next page (picker or consent).
pub fn login(browser: &mut Browser, login_page: &str, username: &str) -> Resp {
    submit(browser, login_page, &[("username", username), ("password", PASSWORD)])
}

/// Allows on a consent page, keeping every offered scope except `untick`; returns the redirect.
pub fn allow(browser: &mut Browser, consent_page: &str, untick: &[&str]) -> Resp {
    let scopes = consent_scopes(consent_page);
    let mut extra: Vec<(&str, &str)> =
        scopes.iter().filter(|s| !untick.contains(&s.as_str())).map(|s| ("scope", s.as_str())).collect();
    extra.push(("decision", "allow"));
    submit(browser, consent_page, &extra)
}

/// The whole browser part: authorize → login → (picker) → consent; returns the final redirect.
pub fn walk(app: &TestApp, url: &str, username: &str, pick: Option<&str>) -> Resp {
    let _ = app;
    let mut b = Browser::new();
    let page = b.get(url).expect(200).text();
    let mut next = login(&mut b, &page, username).expect(200).text();
    if let Some(p) = pick {
        assert!(next.contains("Choose a patient"), "{next}");
        next = submit(&mut b, &next, &[("patient", p)]).expect(200).text();
    }
    allow(&mut b, &next, &[]).expect(303)
}

/// A query parameter of a redirect's Location.
pub fn location_param(resp: &Resp, name: &str) -> Option<String> {
    let loc = resp.header("location")?;
    let u = url::Url::parse(&loc).ok()?;
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// POSTs a form to the token endpoint (optionally with HTTP Basic client credentials).
pub fn token_request(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Resp {
    post_form(app, "/auth/token", form, basic)
}

pub fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Resp {
    let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter().copied()).finish();
    let mut rb = app
        .req("POST", &format!("{}{path}", app.base), None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        rb = rb.basic_auth(id, Some(secret));
    }
    app.send(rb)
}

/// A code for a public client after a full standalone walk as a patient: (client_id, code, verifier).
pub fn patient_code(app: &TestApp, patient_id: &str, scope: &str) -> (String, String, String) {
    let client = public_client(app);
    add_user(app, "pat", &format!("Patient/{patient_id}"));
    let (verifier, challenge) = pkce();
    let url = authorize_url(app, &standard_params(app, &client, scope, &challenge));
    let r = walk(app, &url, "pat", None);
    assert_eq!(location_param(&r, "state").as_deref(), Some("st-123"));
    let code = location_param(&r, "code").unwrap_or_else(|| panic!("no code: {:?}", r.header("location")));
    (client, code, verifier)
}

/// Exchanges a public client's code.
pub fn exchange(app: &TestApp, client: &str, code: &str, verifier: &str) -> Resp {
    token_request(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client),
            ("code_verifier", verifier),
        ],
        None,
    )
}

/// Uses a token response's refresh token (public client).
pub fn refresh(app: &TestApp, client: &str, token: &serde_json::Value) -> Resp {
    token_request(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token["refresh_token"].as_str().unwrap()),
            ("client_id", client),
        ],
        None,
    )
}
