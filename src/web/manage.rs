//! "Your connected apps" (`/auth/manage`, the `manage` URI of SMART's oauth-uris): a signed-in user
//! sees the apps holding a live grant to their record, in plain words, and can take access back.
//! Sessions are rows bound to a `__Host-` cookie; every form carries the session's CSRF token.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::authorize::Failure;
use super::record::RecordPage;
use super::words::Whose;
use super::{self as pages, ConnectedApp, ManageLoginPage, ManagePage, Outcome};
use crate::app::AppState;
use crate::smart::access::AccessContext;
use crate::smart::endpoints::form::{db, Form};
use crate::smart::{secrets, users};
use crate::store::auth::{self as rows, SessionRow};
use crate::store::{AnyConnection, StoreError};
use serde_json::{json, Value};

const SESSION_SECS: i64 = 3600;

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "connected-apps page failed");
    pages::error_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The server could not show this page.")
}

/// The plain-words lines of a granted scope string.
fn lines(scope: &str, patient_user: bool) -> Vec<String> {
    let whose = if patient_user { Whose::Yours } else { Whose::ThePatients };
    super::words::grant_lines(scope, whose)
}

fn list_page(
    c: &mut AnyConnection,
    state: &AppState,
    session: &SessionRow,
    username: &str,
) -> Result<Outcome, StoreError> {
    let patient_user =
        rows::find_user(c, username)?.map(|u| users::patient_of(&u.fhir_user).is_some()).unwrap_or(false);
    // One entry per app: what it can see now is the union of its live grants; it was connected at the
    // first of them; its access ends with the last.
    let mut apps: Vec<ConnectedApp> = Vec::new();
    let mut scopes: Vec<Vec<String>> = Vec::new();
    let mut first: Vec<i64> = Vec::new();
    let mut last: Vec<i64> = Vec::new();
    for g in rows::user_grants(c, username, crate::clock::now_secs())? {
        let i = match apps.iter().position(|a| a.client == g.client_id) {
            Some(i) => i,
            None => {
                apps.push(ConnectedApp {
                    client: g.client_id.clone(),
                    name: g.app_name.clone(),
                    since: String::new(),
                    until: String::new(),
                    last_used: None,
                    lines: Vec::new(),
                    activity: Vec::new(),
                    activity_url: String::new(),
                });
                scopes.push(Vec::new());
                first.push(g.created_at);
                last.push(g.expires_at);
                apps.len() - 1
            }
        };
        for s in g.scope.split_whitespace() {
            if !scopes[i].iter().any(|x| x == s) {
                scopes[i].push(s.to_string());
            }
        }
        first[i] = first[i].min(g.created_at);
        last[i] = last[i].max(g.expires_at);
    }
    for (i, app) in apps.iter_mut().enumerate() {
        app.lines = lines(&scopes[i].join(" "), patient_user);
        app.since = crate::clock::day_of(first[i]);
        app.until = pages::until_words(last[i], crate::clock::now_secs());
    }
    let others = super::history::fill(c, &state.settings.base_url, username, &mut apps)?;
    let action = format!("{}/auth/manage/revoke", state.settings.base_url);
    let record_url = format!("{}/auth/manage/record", state.settings.base_url);
    let page = ManagePage {
        action: &action,
        csrf: &session.csrf,
        username,
        apps,
        others,
        patient_user,
        record_url: &record_url,
    };
    Ok(pages::page(StatusCode::OK, &page))
}

/// `GET /auth/manage`: the list for a signed-in session, else a sign-in form (with a new session).
pub async fn manage(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let cookie = req.cookie(pages::USER_COOKIE).map(|c| c.value().to_string());
    let st = state.clone();
    let result = db(&state, move |c| -> Result<(Outcome, Option<String>), Failure> {
        if let Some(cookie) = cookie {
            if let Some(s) = rows::find_session(c, &secrets::hash_token(&cookie), crate::clock::now_secs())? {
                if let Some(u) = s.username.clone() {
                    return Ok((list_page(c, &st, &s, &u)?, None));
                }
            }
        }
        let value = secrets::random_token();
        let row = SessionRow {
            session_hash: secrets::hash_token(&value),
            csrf: secrets::random_token(),
            username: None,
            expires_at: crate::clock::now_secs() + SESSION_SECS,
        };
        rows::insert_session(c, &row, crate::clock::now_secs())?;
        let action = format!("{}/auth/manage/login", st.settings.base_url);
        Ok((
            pages::page(StatusCode::OK, &ManageLoginPage { action: &action, csrf: &row.csrf, error: None }),
            Some(value),
        ))
    })
    .await;
    match result {
        Ok((outcome, new_cookie)) => {
            let mut resp = outcome.respond();
            if let Some(v) = new_cookie {
                if resp.add_cookie(&pages::user_cookie(&v, SESSION_SECS)).is_err() {
                    return internal("cannot set the session cookie");
                }
            }
            resp
        }
        Err(f) => f.respond(),
    }
}

/// The session of a form post: cookie and CSRF token must both match.
fn session_of(c: &mut AnyConnection, cookie: Option<&str>, form: &Form) -> Result<Option<SessionRow>, StoreError> {
    let Some(cookie) = cookie else { return Ok(None) };
    let Some(s) = rows::find_session(c, &secrets::hash_token(cookie), crate::clock::now_secs())? else {
        return Ok(None);
    };
    let csrf_ok = form.first("csrf").map(|t| secrets::same(t, &s.csrf)).unwrap_or(false);
    Ok(csrf_ok.then_some(s))
}

async fn post<F>(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload, f: F) -> HttpResponse
where
    F: FnOnce(&mut AnyConnection, &AppState, SessionRow, Form) -> Result<Outcome, Failure> + Send + 'static,
{
    let expired =
        || pages::error_page(StatusCode::BAD_REQUEST, "This page has expired", "Open your connected apps page again.");
    let Ok(form) = Form::from_body(&req, payload).await else { return expired() };
    let cookie = req.cookie(pages::USER_COOKIE).map(|c| c.value().to_string());
    let st = state.clone();
    let result = db(&state, move |c| -> Result<Option<Outcome>, Failure> {
        match session_of(c, cookie.as_deref(), &form)? {
            Some(s) => f(c, &st, s, form).map(Some),
            None => Ok(None),
        }
    })
    .await;
    match result {
        Ok(Some(o)) => o.respond(),
        Ok(None) => expired(),
        Err(f) => f.respond(),
    }
}

/// `POST /auth/manage/login`
pub async fn manage_login(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    post(req, state, payload, |c, st, s, form| {
        let username = form.first("username").unwrap_or("").to_string();
        match users::check_login(c, &username, form.first("password").unwrap_or(""))? {
            Some(u) => {
                rows::set_session_user(c, &s.session_hash, &u.username)?;
                Ok(Outcome::Redirect(format!("{}/auth/manage", st.settings.base_url)))
            }
            None => {
                let error = users::login_error(c, &username)?;
                let action = format!("{}/auth/manage/login", st.settings.base_url);
                let page = ManageLoginPage { action: &action, csrf: &s.csrf, error: Some(error) };
                Ok(pages::page(StatusCode::UNAUTHORIZED, &page))
            }
        }
    })
    .await
}

/// `POST /auth/manage/revoke` — ends every grant the user gave one app (their tokens stop working at
/// once); the app must ask again.
pub async fn manage_revoke(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    post(req, state, payload, |c, st, s, form| {
        let Some(username) = s.username.clone() else {
            return Ok(Outcome::Redirect(format!("{}/auth/manage", st.settings.base_url)));
        };
        let client = form.first("client").unwrap_or("").to_string();
        let ended = rows::revoke_user_app(c, &client, &username)?;
        if ended > 0 {
            tracing::info!(client_id = %client, grants = ended, "access taken back by the user");
        }
        Ok(Outcome::Redirect(format!("{}/auth/manage", st.settings.base_url)))
    })
    .await
}

/// A built download: the page or file, the resources it holds, and the access that read them.
type Download = (Outcome, Vec<Value>, AccessContext);

/// `GET /auth/manage/record[?format=json]` — "Download my record": a signed-in patient's whole record,
/// as a page to read and print or as a FHIR `collection` Bundle file. Read through the access guard
/// bound to that patient, and recorded in their access history like an app's read.
pub async fn manage_record(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let as_json = Form::from_query(req.query_string()).first("format") == Some("json");
    let cookie = req.cookie(pages::USER_COOKIE).map(|c| c.value().to_string());
    let st = state.clone();
    let result = db(&state, move |c| -> Result<Result<Download, Outcome>, Failure> {
        let manage = format!("{}/auth/manage", st.settings.base_url);
        let session = match cookie {
            Some(v) => rows::find_session(c, &secrets::hash_token(&v), crate::clock::now_secs())?,
            None => None,
        };
        let Some(username) = session.and_then(|s| s.username) else { return Ok(Err(Outcome::Redirect(manage))) };
        let Some(user) = rows::find_user(c, &username)? else { return Ok(Err(Outcome::Redirect(manage))) };
        let Some(patient) = users::patient_of(&user.fhir_user).map(str::to_string) else {
            return Ok(Err(pages::error_page_outcome(
                StatusCode::FORBIDDEN,
                "Only a patient can download a record here",
                "This sign-in is not a patient's. Clinicians use an app with the right access instead.",
            )));
        };
        let access =
            crate::fhir::record::patient_access(&username, &patient).map_err(|e| Failure::Internal(e.to_string()))?;
        let values = crate::fhir::record::whole_record(c, &access, &patient, &st.settings)
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let generated = crate::clock::now().text;
        let base = st.settings.fhir_base();
        let outcome = if as_json {
            let entry: Vec<Value> = values
                .iter()
                .map(|v| {
                    let url = format!(
                        "{base}/{}/{}",
                        v["resourceType"].as_str().unwrap_or(""),
                        v["id"].as_str().unwrap_or("")
                    );
                    json!({"fullUrl": url, "resource": v})
                })
                .collect();
            let bundle =
                json!({"resourceType": "Bundle", "type": "collection", "timestamp": generated, "entry": entry});
            Outcome::Page(StatusCode::OK, bundle.to_string())
        } else {
            let name = values.first().map(super::record::describe).unwrap_or_default();
            let json_url = format!("{}/auth/manage/record?format=json", st.settings.base_url);
            let page = RecordPage {
                name: &name,
                generated: generated.get(..16).unwrap_or(&generated),
                source: &base,
                total: values.len(),
                sections: super::record::sections(&values),
                json_url: &json_url,
                back_url: &manage,
            };
            pages::page(StatusCode::OK, &page)
        };
        Ok(Ok((outcome, values, access)))
    })
    .await;
    let (outcome, values, access) = match result {
        Ok(Ok(x)) => x,
        Ok(Err(o)) => return o.respond(),
        Err(f) => return f.respond(),
    };
    let refs = values.iter().map(|v| {
        format!("{}/{}", v["resourceType"].as_str().unwrap_or_default(), v["id"].as_str().unwrap_or_default())
    });
    state
        .audit()
        .record(crate::audit::Record {
            recorded: crate::clock::now_millis(),
            caller: access.caller(),
            interaction: crate::audit::Interaction::Operation,
            res_type: Some("Patient".into()),
            method: "GET".into(),
            path: req.path().to_string(),
            status: 200,
            refs: crate::audit::Refs::collect(refs),
        })
        .await;
    match outcome {
        Outcome::Page(status, body) if as_json => {
            let day = crate::clock::now().text.get(..10).unwrap_or_default().to_string();
            HttpResponse::build(status)
                .insert_header((actix_web::http::header::CONTENT_TYPE, "application/fhir+json"))
                .insert_header((
                    actix_web::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"health-record-{day}.json\""),
                ))
                .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                .body(body)
        }
        o => o.respond(),
    }
}
