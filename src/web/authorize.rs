//! `GET|POST /auth/authorize`: checks an authorization request and starts the sign-in.
//!
//! Until the client and its exact redirect URI are known, errors are shown as a page and never
//! redirected (no open redirect). After that, errors go back to the app as `error` + `state`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{self as pages, LoginPage, Outcome};
use crate::app::AppState;
use crate::smart::clients::{redirect_uris, PUBLIC};
use crate::smart::endpoints::form::{db, Form};
use crate::smart::oauth_error::ErrorCode;
use crate::smart::{grant, launch, secrets};
use crate::store::auth::{self as rows, AuthRequestRow, ClientRow};
use crate::store::StoreError;

/// How long a user has to sign in and consent.
pub const REQUEST_LIFETIME_SECS: i64 = 15 * 60;

/// Why an authorization request failed.
pub enum Failure {
    /// Shown to the user; the app is not told (its redirect URI is not trusted).
    Page(&'static str, String),
    /// Sent back to the app's (trusted) redirect URI.
    Redirect {
        redirect_uri: String,
        error: ErrorCode,
        description: String,
        state: Option<String>,
    },
    Internal(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Internal(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for Failure {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Failure::Internal(e.to_string())
    }
}

/// The app's redirect URI with `params` added to its query.
pub fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> Outcome {
    match url::Url::parse(redirect_uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            Outcome::Redirect(u.to_string())
        }
        Err(_) => pages::page(
            StatusCode::BAD_REQUEST,
            &pages::ErrorPage { title: "Invalid redirect", message: "The app's redirect address is invalid." },
        ),
    }
}

impl Failure {
    pub fn respond(self) -> HttpResponse {
        match self {
            Failure::Page(title, message) => pages::error_page(StatusCode::BAD_REQUEST, title, &message),
            Failure::Redirect { redirect_uri, error, description, state } => {
                let mut params = vec![("error", error.as_str()), ("error_description", description.as_str())];
                if let Some(s) = state.as_deref() {
                    params.push(("state", s));
                }
                redirect_to(&redirect_uri, &params).respond()
            }
            Failure::Internal(e) => {
                tracing::error!(error = %e, "authorization request failed");
                pages::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not handle this request.",
                )
            }
        }
    }
}

/// Phase 1: the client and the redirect URI. Nothing here may redirect.
fn trusted_redirect(c: &mut crate::store::AnyConnection, form: &Form) -> Result<(ClientRow, String), Failure> {
    let page = |m: &str| Failure::Page("This app's request is not valid", m.to_string());
    let client_id = form.one("client_id").map_err(|_| page("client_id is given more than once."))?;
    let client_id =
        client_id.ok_or_else(|| page("The request does not say which app it comes from (client_id is missing)."))?;
    let client = rows::find_client(c, client_id)?
        .ok_or_else(|| page("The app is not registered with this server (unknown client_id)."))?;
    let redirect_uri = form.one("redirect_uri").map_err(|_| page("redirect_uri is given more than once."))?;
    let redirect_uri = redirect_uri.ok_or_else(|| page("The request has no redirect_uri."))?;
    if !redirect_uris(&client)?.iter().any(|r| r == redirect_uri) {
        return Err(page("The redirect_uri is not one registered for this app, so the request cannot be answered."));
    }
    Ok((client, redirect_uri.to_string()))
}

fn check(
    c: &mut crate::store::AnyConnection,
    state: &AppState,
    form: &Form,
    session: &str,
) -> Result<(ClientRow, String, String), Failure> {
    let (client, redirect_uri) = trusted_redirect(c, form)?;
    let app_state = form.first("state").filter(|s| !s.is_empty()).map(str::to_string);
    let fail = |error: ErrorCode, d: &str| Failure::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description: d.to_string(),
        state: app_state.clone(),
    };
    let one = |name: &str| form.one(name).map_err(|e| fail(ErrorCode::InvalidRequest, &e.description));
    let st = one("state")?.ok_or_else(|| fail(ErrorCode::InvalidRequest, "state is required"))?.to_string();
    match one("response_type")? {
        Some("code") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => return Err(fail(ErrorCode::UnsupportedResponseType, "only response_type=code is supported")),
    }
    let aud =
        one("aud")?.ok_or_else(|| fail(ErrorCode::InvalidRequest, "aud (the FHIR server's base URL) is required"))?;
    if aud.trim_end_matches('/') != state.settings.fhir_base() {
        return Err(fail(ErrorCode::InvalidRequest, "aud is not this FHIR server's base URL"));
    }
    let challenge = one("code_challenge")?;
    match (challenge, one("code_challenge_method")?) {
        (None, None) if client.client_type == PUBLIC => {
            return Err(fail(ErrorCode::InvalidRequest, "public clients must use PKCE (code_challenge with S256)"))
        }
        (None, None) => {}
        (Some(_), Some("S256")) => {}
        (Some(_), None) | (Some(_), Some("plain")) => {
            return Err(fail(ErrorCode::InvalidRequest, "code_challenge_method must be S256 (plain is not accepted)"))
        }
        (None, Some(_)) => return Err(fail(ErrorCode::InvalidRequest, "code_challenge_method without code_challenge")),
        (Some(_), Some(_)) => return Err(fail(ErrorCode::InvalidRequest, "code_challenge_method must be S256")),
    }
    if let Some(ch) = challenge {
        if ch.len() != 43 || !ch.chars().all(|x| x.is_ascii_alphanumeric() || x == '-' || x == '_') {
            return Err(fail(ErrorCode::InvalidRequest, "code_challenge must be a base64url SHA-256 (43 characters)"));
        }
    }
    let requested = one("scope")?.ok_or_else(|| fail(ErrorCode::InvalidScope, "scope is required"))?;
    let scopes = grant::grantable_for_user(requested, &client).map_err(|e| fail(ErrorCode::InvalidScope, &e))?;
    if scopes.is_empty() {
        return Err(fail(ErrorCode::InvalidScope, "none of the requested scopes can be granted to this app"));
    }
    let (mut patient, mut encounter, mut launch_hash) = (None, None, None);
    match one("launch")? {
        Some(l) => {
            let ctx = launch::find(c, l)?
                .ok_or_else(|| fail(ErrorCode::InvalidRequest, "the launch value is unknown or has expired"))?;
            patient = ctx.patient;
            encounter = ctx.encounter;
            launch_hash = Some(ctx.launch_hash);
        }
        None if scopes.iter().any(|s| s == "launch") => {
            return Err(fail(ErrorCode::InvalidRequest, "the launch scope needs the launch parameter from the EHR"))
        }
        None => {}
    }
    let nonce = one("nonce")?.map(str::to_string);
    let request_id = secrets::random_token();
    let csrf = secrets::random_token();
    let row = AuthRequestRow {
        request_hash: secrets::hash_token(&request_id),
        session_hash: secrets::hash_token(session),
        csrf: csrf.clone(),
        client_id: client.client_id.clone(),
        redirect_uri,
        scope: scopes.join(" "),
        state: st,
        nonce,
        code_challenge: challenge.map(str::to_string),
        launch_hash,
        username: None,
        fhir_user: None,
        patient,
        encounter,
        expires_at: crate::clock::now_secs() + REQUEST_LIFETIME_SECS,
    };
    rows::insert_request(c, &row)?;
    Ok((client, request_id, csrf))
}

/// The browser's session value (kept across requests) or a new one.
fn session_value(req: &HttpRequest) -> String {
    pages::session_from(req).filter(|s| s.len() == 43).unwrap_or_else(secrets::random_token)
}

async fn authorize(req: HttpRequest, state: web::Data<AppState>, form: Form) -> HttpResponse {
    let session = session_value(&req);
    let s2 = session.clone();
    let st = state.clone();
    let checked = db(&state, move |c| check(c, &st, &form, &s2)).await;
    match checked {
        Ok((client, request_id, csrf)) => {
            let action = format!("{}/auth/login", state.settings.base_url);
            let mut resp = pages::html(
                StatusCode::OK,
                &LoginPage {
                    app_name: &client.name,
                    action: &action,
                    request_id: &request_id,
                    csrf: &csrf,
                    username: "",
                    error: None,
                },
            );
            if resp.add_cookie(&pages::session_cookie(&session, REQUEST_LIFETIME_SECS)).is_err() {
                return Failure::Internal("cannot set the session cookie".into()).respond();
            }
            resp
        }
        Err(f) => f.respond(),
    }
}

/// `GET /auth/authorize`
pub async fn authorize_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let form = Form::from_query(req.query_string());
    authorize(req, state, form).await
}

/// `POST /auth/authorize` (SMART `authorize-post`).
pub async fn authorize_post(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    match Form::from_body(&req, payload).await {
        Ok(form) => authorize(req, state, form).await,
        Err(e) => pages::error_page(StatusCode::BAD_REQUEST, "This app's request is not valid", &e.description),
    }
}
