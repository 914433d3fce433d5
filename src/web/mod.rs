//! The pages people see: the authorization request, sign-in, patient picker and consent
//! (`authorize`, `flow`), the connected-apps page with "Download my record" (`manage`, `record`),
//! the access history (`history`, `activity`), and error pages; `words` says scopes in plain words.
//! All HTML goes through askama templates (`templates/`), which escape every value.

pub mod activity;
pub mod authorize;
pub mod flow;
pub mod history;
pub mod manage;
pub mod record;
pub mod sample_app;
pub mod words;

/// The routes of the pages.
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web::{get, post};
    cfg.route("/auth/authorize", get().to(authorize::authorize_get))
        .route("/auth/authorize", post().to(authorize::authorize_post))
        .route("/auth/login", post().to(flow::login))
        .route("/auth/patient", post().to(flow::pick_patient))
        .route("/auth/consent", post().to(flow::consent))
        .route("/auth/manage", get().to(manage::manage))
        .route("/auth/manage/login", post().to(manage::manage_login))
        .route("/auth/manage/revoke", post().to(manage::manage_revoke))
        .route("/auth/manage/record", get().to(manage::manage_record))
        .route("/auth/manage/activity", get().to(history::activity));
}

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

/// The browser cookie that binds an authorization request to the browser that started it.
/// `__Host-` cookies must be `Secure`, host-only and `Path=/` (browsers accept Secure cookies on
/// http://localhost and 127.0.0.1 too).
pub const SESSION_COOKIE: &str = "__Host-bedside-authz";

pub fn session_cookie(value: &str, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_string())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

pub fn session_from(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE).map(|c| c.value().to_string())
}

/// The cookie of the "connected apps" page (separate from authorization requests).
pub const USER_COOKIE: &str = "__Host-bedside-user";

pub fn user_cookie(value: &str, max_age_secs: i64) -> Cookie<'static> {
    let mut c = session_cookie(value, max_age_secs);
    c.set_name(USER_COOKIE);
    c
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub app_name: &'a str,
    pub action: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub struct PatientChoice {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "picker.html")]
pub struct PickerPage<'a> {
    pub app_name: &'a str,
    pub action: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub user_label: &'a str,
    pub patients: Vec<PatientChoice>,
}

pub struct ConsentChoice {
    pub scope: String,
    pub sentence: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub app_name: &'a str,
    pub action: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub user_label: &'a str,
    pub patient_label: Option<&'a str>,
    /// Scopes the user may untick.
    pub choices: Vec<ConsentChoice>,
    /// What comes with the connection and cannot be unticked (identity, launch context).
    pub always: Vec<String>,
    /// When the access ends ("until 3 March 2027").
    pub until: String,
}

/// "until 3 March 2027" (or with the time, "until 29 November 2026, 14:05 UTC", when that is within two
/// days): the end of an app's access in words.
pub fn until_words(end: i64, now: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(end) else { return String::new() };
    let date = format!("{} {} {}", t.day(), t.month(), t.year());
    if end - now < 2 * 24 * 3600 {
        format!("until {date}, {:02}:{:02} UTC", t.hour(), t.minute())
    } else {
        format!("until {date}")
    }
}

#[derive(Template)]
#[template(path = "manage_login.html")]
pub struct ManageLoginPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

pub struct ConnectedApp {
    pub client: String,
    pub name: String,
    /// The day it was first connected.
    pub since: String,
    /// When its access ends ("until 3 March 2027").
    pub until: String,
    /// When it last used the record ("3 minutes ago"), from the access log.
    pub last_used: Option<String>,
    pub lines: Vec<String>,
    /// What the app did lately (the access log), newest first.
    pub activity: Vec<activity::ActivityLine>,
    /// The page with everything it did.
    pub activity_url: String,
}

#[derive(Template)]
#[template(path = "manage.html")]
pub struct ManagePage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub apps: Vec<ConnectedApp>,
    /// Apps without a live grant of this user that used the record (revoked apps, clinicians' apps).
    pub others: Vec<activity::AppActivity>,
    /// The signed-in user is a patient: offer "Download my record" at `record_url`.
    pub patient_user: bool,
    pub record_url: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// A finished step of the sign-in flow, built on the blocking pool (where `HttpResponse`, which is
/// not `Send`, cannot be made) and turned into a response afterwards.
pub enum Outcome {
    Page(StatusCode, String),
    /// `303 See Other` to this absolute URL (the app's redirect URI with code or error).
    Redirect(String),
}

impl Outcome {
    pub fn respond(self) -> HttpResponse {
        match self {
            Outcome::Page(status, body) => HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::X_FRAME_OPTIONS, "DENY"))
                .insert_header((
                    "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ))
                .body(body),
            Outcome::Redirect(location) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish(),
        }
    }
}

/// Renders a template into a page outcome.
pub fn page(status: StatusCode, page: &impl Template) -> Outcome {
    match page.render() {
        Ok(body) => Outcome::Page(status, body),
        Err(e) => {
            tracing::error!(error = %e, "page could not be rendered");
            Outcome::Page(StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.".into())
        }
    }
}

/// Renders a page with the headers every authorization page gets: no caching, no framing.
pub fn html(status: StatusCode, p: &impl Template) -> HttpResponse {
    page(status, p).respond()
}

/// An error page (never a redirect: used before the redirect URI is trusted, and for broken forms).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    error_page_outcome(status, title, message).respond()
}

/// [`error_page`] as an outcome (for handlers that answer from the database thread).
pub fn error_page_outcome(status: StatusCode, title: &str, message: &str) -> Outcome {
    page(status, &ErrorPage { title, message })
}
