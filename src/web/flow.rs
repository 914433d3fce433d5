//! The steps between `/auth/authorize` and the redirect back to the app: sign-in (`POST /auth/login`),
//! the patient picker for practitioners (`POST /auth/patient`), and consent (`POST /auth/consent`).
//!
//! Every form carries the request id and a CSRF token; the request must also belong to the browser's
//! `__Host-` session cookie. All state is in the `auth_requests` row, so any node can take any step.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::authorize::{redirect_to, Failure};
use super::words::{describe, describe_other, Whose};
use super::{self as pages, ConsentChoice, ConsentPage, LoginPage, Outcome, PatientChoice, PickerPage};
use crate::app::AppState;
use crate::smart::endpoints::form::{db, Form};
use crate::smart::grant::{grant_end, AccessTerm, GrantContext};
use crate::smart::oauth_error::ErrorCode;
use crate::smart::scopes::{parse_resource_scope, Context};
use crate::smart::{secrets, users};
use crate::store::auth::{self as rows, AuthRequestRow, CodeRow, GrantRow};
use crate::store::{write_tx, AnyConnection};

/// Authorization codes live one minute.
pub const CODE_LIFETIME_SECS: i64 = 60;

fn expired_page() -> Failure {
    Failure::Page(
        "This sign-in page has expired",
        "The sign-in took too long, was already completed, or was opened in another browser. Go back to the app and start again.".into(),
    )
}

/// Finds the request named by the form, checking its session cookie, CSRF token and expiry.
fn load(c: &mut AnyConnection, form: &Form, session: Option<&str>) -> Result<(AuthRequestRow, String), Failure> {
    let request_id = form.first("request").ok_or_else(expired_page)?.to_string();
    let row = rows::find_request(c, &secrets::hash_token(&request_id))?.ok_or_else(expired_page)?;
    let session_ok = session.map(|s| secrets::same(&secrets::hash_token(s), &row.session_hash)).unwrap_or(false);
    let csrf_ok = form.first("csrf").map(|t| secrets::same(t, &row.csrf)).unwrap_or(false);
    if !session_ok || !csrf_ok || row.expires_at <= crate::clock::now_secs() {
        return Err(expired_page());
    }
    Ok((row, request_id))
}

fn deny(row: &AuthRequestRow, error: ErrorCode, description: &str) -> Failure {
    Failure::Redirect {
        redirect_uri: row.redirect_uri.clone(),
        error,
        description: description.into(),
        state: Some(row.state.clone()),
    }
}

fn app_name(c: &mut AnyConnection, client_id: &str) -> Result<String, Failure> {
    Ok(rows::find_client(c, client_id)?.map(|cl| cl.name).unwrap_or_else(|| client_id.to_string()))
}

/// Does the request need a patient (patient/ scopes or launch/patient) that it does not have yet?
fn needs_patient(row: &AuthRequestRow) -> bool {
    row.patient.is_none()
        && row.scope.split_whitespace().any(|s| {
            s == "launch/patient" || matches!(parse_resource_scope(s), Ok(Some(r)) if r.context == Context::Patient)
        })
}

/// "Ada Lovelace (born 1815-12-10)" from a stored Patient.
fn patient_label(content: &[u8], id: &str) -> String {
    let mut label = crate::fhir::record::display_name(content).unwrap_or_else(|| format!("Patient {id}"));
    let birth = serde_json::from_slice::<serde_json::Value>(content)
        .ok()
        .and_then(|v| v.get("birthDate")?.as_str().map(str::to_string));
    if let Some(b) = birth {
        label.push_str(&format!(" (born {b})"));
    }
    label
}

/// The page after sign-in or picking: the picker if a patient is still needed, else consent.
fn next_page(
    c: &mut AnyConnection,
    state: &AppState,
    row: &AuthRequestRow,
    request_id: &str,
) -> Result<Outcome, Failure> {
    let app = app_name(c, &row.client_id)?;
    let user_label = format!("{} ({})", row.username.as_deref().unwrap_or(""), row.fhir_user.as_deref().unwrap_or(""));
    if needs_patient(row) {
        let patients = rows::list_patients(c, 200)?
            .into_iter()
            .map(|(id, content)| PatientChoice { label: patient_label(&content, &id), id })
            .collect();
        let action = format!("{}/auth/patient", state.settings.base_url);
        let page = PickerPage {
            app_name: &app,
            action: &action,
            request_id,
            csrf: &row.csrf,
            user_label: &user_label,
            patients,
        };
        return Ok(pages::page(StatusCode::OK, &page));
    }
    let patient_user = row.fhir_user.as_deref().and_then(users::patient_of).is_some();
    let (mut choices, mut always) = (Vec::new(), Vec::<String>::new());
    for s in row.scope.split_whitespace() {
        match parse_resource_scope(s) {
            Ok(Some(r)) => {
                let whose = match (patient_user, r.context) {
                    (true, _) => Whose::Yours,
                    (false, Context::Patient) => Whose::ThePatients,
                    (false, _) => Whose::Patients,
                };
                if r.resource_type == "*" && r.context != Context::System {
                    // Split "everything" into kinds of data the patient can untick one by one.
                    for (value, sentence) in super::words::wildcard_choices(s, &r, whose) {
                        choices.push(ConsentChoice { scope: value, sentence });
                    }
                } else {
                    choices.push(ConsentChoice { scope: s.to_string(), sentence: describe(&r, whose) });
                }
            }
            _ if s == "offline_access" || s == "online_access" => choices
                .push(ConsentChoice { scope: s.to_string(), sentence: describe_other(s).unwrap_or(s).to_string() }),
            _ => {
                if let Some(line) = describe_other(s) {
                    if !always.iter().any(|a| a == line) {
                        always.push(line.to_string());
                    }
                }
            }
        }
    }
    let patient_label = match &row.patient {
        Some(p) => crate::fhir::service::current_for_server(c, "Patient", p)?.map(|content| patient_label(&content, p)),
        None => None,
    };
    let term = rows::find_client(c, &row.client_id)?
        .map(|client| AccessTerm::from_stored(&client.access_term))
        .transpose()?
        .unwrap_or(AccessTerm::OneTime);
    let now = crate::clock::now_secs();
    let until = pages::until_words(grant_end(&row.scope, term, now, &state.settings, CODE_LIFETIME_SECS), now);
    let action = format!("{}/auth/consent", state.settings.base_url);
    let page = ConsentPage {
        until,
        app_name: &app,
        action: &action,
        request_id,
        csrf: &row.csrf,
        user_label: &user_label,
        patient_label: patient_label.as_deref(),
        choices,
        always,
    };
    Ok(pages::page(StatusCode::OK, &page))
}

async fn step<F>(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload, f: F) -> HttpResponse
where
    F: FnOnce(&mut AnyConnection, &AppState, AuthRequestRow, String, Form) -> Result<Outcome, Failure> + Send + 'static,
{
    let form = match Form::from_body(&req, payload).await {
        Ok(f) => f,
        Err(_) => return expired_page().respond(),
    };
    let session = pages::session_from(&req);
    let st = state.clone();
    let result = db(&state, move |c| {
        let (row, request_id) = load(c, &form, session.as_deref())?;
        f(c, &st, row, request_id, form)
    })
    .await;
    match result {
        Ok(o) => o.respond(),
        Err(f) => f.respond(),
    }
}

/// `POST /auth/login`
pub async fn login(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    step(req, state, payload, |c, state, row, request_id, form| {
        let username = form.first("username").unwrap_or("").to_string();
        let password = form.first("password").unwrap_or("");
        let Some(user) = users::check_login(c, &username, password)? else {
            let error = users::login_error(c, &username)?;
            let app = app_name(c, &row.client_id)?;
            let action = format!("{}/auth/login", state.settings.base_url);
            let page = LoginPage {
                app_name: &app,
                action: &action,
                request_id: &request_id,
                csrf: &row.csrf,
                username: &username,
                error: Some(error),
            };
            return Ok(pages::page(StatusCode::UNAUTHORIZED, &page));
        };
        if let Some(l) = row.launch_hash.as_deref() {
            if let Some(ctx) = rows::find_launch(c, l)? {
                if ctx.fhir_user.as_deref().map(|u| u != user.fhir_user).unwrap_or(false) {
                    return Err(deny(
                        &row,
                        ErrorCode::AccessDenied,
                        "the signed-in user is not the user of the EHR launch",
                    ));
                }
            }
        }
        let mut patient = row.patient.clone();
        if let Some(p) = users::patient_of(&user.fhir_user) {
            if patient.as_deref().map(|x| x != p).unwrap_or(false) {
                return Err(deny(&row, ErrorCode::AccessDenied, "a patient can only share their own record"));
            }
            patient = Some(p.to_string());
        }
        rows::set_request_user(c, &row.request_hash, &user.username, &user.fhir_user, patient.as_deref())?;
        let row = AuthRequestRow { username: Some(user.username), fhir_user: Some(user.fhir_user), patient, ..row };
        next_page(c, state, &row, &request_id)
    })
    .await
}

/// `POST /auth/patient` — a practitioner picks the patient for a standalone launch.
pub async fn pick_patient(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    step(req, state, payload, |c, state, row, request_id, form| {
        if row.username.is_none() || !needs_patient(&row) {
            return Err(expired_page());
        }
        let patient = form.first("patient").unwrap_or("").to_string();
        let exists = crate::fhir::service::current_for_server(c, "Patient", &patient)?.is_some();
        if !exists {
            return next_page(c, state, &row, &request_id);
        }
        rows::set_request_patient(c, &row.request_hash, &patient)?;
        let row = AuthRequestRow { patient: Some(patient), ..row };
        next_page(c, state, &row, &request_id)
    })
    .await
}

/// `POST /auth/consent` — records the grant (only the ticked scopes) and sends the code to the app.
pub async fn consent(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    step(req, state, payload, |c, state, row, _request_id, form| {
        let (Some(username), Some(fhir_user)) = (row.username.clone(), row.fhir_user.clone()) else {
            return Err(expired_page());
        };
        if needs_patient(&row) {
            return Err(expired_page());
        }
        if form.first("decision") != Some("allow") {
            rows::take_request(c, &row.request_hash)?;
            return Err(deny(&row, ErrorCode::AccessDenied, "the user did not allow access"));
        }
        let ticked = form.all("scope");
        let mut granted_owned: Vec<String> = Vec::new();
        for s in row.scope.split_whitespace() {
            match parse_resource_scope(s) {
                Ok(Some(r)) if r.resource_type == "*" && r.context != Context::System => {
                    granted_owned.extend(super::words::wildcard_granted(s, &ticked));
                }
                Ok(Some(_)) => {
                    if ticked.contains(&s) {
                        granted_owned.push(s.to_string());
                    }
                }
                _ if s == "offline_access" || s == "online_access" => {
                    if ticked.contains(&s) {
                        granted_owned.push(s.to_string());
                    }
                }
                _ => granted_owned.push(s.to_string()),
            }
        }
        let granted: Vec<&str> = granted_owned.iter().map(String::as_str).collect();
        let scope = granted.join(" ");
        let launch_ctx = match row.launch_hash.as_deref() {
            Some(h) => rows::find_launch(c, h)?,
            None => None,
        };
        let context = GrantContext {
            need_patient_banner: launch_ctx.as_ref().map(|l| l.need_patient_banner).unwrap_or(true),
            smart_style_url: launch_ctx.as_ref().and_then(|l| l.smart_style_url.clone()),
            intent: launch_ctx.as_ref().and_then(|l| l.intent.clone()),
        };
        let with_encounter = granted.iter().any(|s| *s == "launch" || *s == "launch/encounter");
        let now = crate::clock::now_secs();
        let term = rows::find_client(c, &row.client_id)?
            .map(|client| AccessTerm::from_stored(&client.access_term))
            .transpose()?
            .unwrap_or(AccessTerm::OneTime);
        let expires_at = grant_end(&scope, term, now, &state.settings, CODE_LIFETIME_SECS);
        let code = secrets::random_token();
        let grant = GrantRow {
            grant_id: uuid::Uuid::new_v4().simple().to_string(),
            client_id: row.client_id.clone(),
            username: Some(username),
            fhir_user: Some(fhir_user),
            scope,
            patient: row.patient.clone(),
            encounter: row.encounter.clone().filter(|_| with_encounter),
            context: serde_json::to_string(&context).unwrap_or_else(|_| "{}".into()),
            nonce: row.nonce.clone(),
            revoked: false,
            created_at: now,
            expires_at,
        };
        let code_row = CodeRow {
            code_hash: secrets::hash_token(&code),
            grant_id: grant.grant_id.clone(),
            client_id: row.client_id.clone(),
            redirect_uri: row.redirect_uri.clone(),
            code_challenge: row.code_challenge.clone(),
            used: false,
            expires_at: now + CODE_LIFETIME_SECS,
        };
        let taken = write_tx(c, |c| -> Result<bool, crate::store::StoreError> {
            if !rows::take_request(c, &row.request_hash)? {
                return Ok(false);
            }
            rows::insert_grant(c, &grant)?;
            rows::insert_code(c, &code_row)?;
            Ok(true)
        })?;
        if !taken {
            return Err(expired_page());
        }
        tracing::info!(client_id = %row.client_id, grant = %grant.grant_id, "authorization granted");
        Ok(redirect_to(&row.redirect_uri, &[("code", &code), ("state", &row.state)]))
    })
    .await
}
