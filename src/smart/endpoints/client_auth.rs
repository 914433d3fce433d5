//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt`, or a public client naming itself.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::form::{db, Form};
use crate::app::AppState;
use crate::smart::assertion::{self, JWT_BEARER};
use crate::smart::clients::{JWKS, PUBLIC, SECRET};
use crate::smart::oauth_error::OAuthError;
use crate::smart::secrets;
use crate::store::auth::{self as rows, ClientRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A public client: client_id only.
    None,
    Basic,
    Post,
    PrivateKeyJwt,
}

#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: ClientRow,
    pub method: Method,
}

impl Authenticated {
    pub fn is_confidential(&self) -> bool {
        self.method != Method::None
    }
}

/// `Authorization: Basic` credentials (RFC 6749 §2.3.1: both parts form-urlencoded).
fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let v = v.to_str().map_err(|_| OAuthError::invalid_request("the Authorization header is not readable"))?;
    let Some((scheme, rest)) = v.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let fail = || OAuthError::invalid_client("the Basic credentials are malformed").with_basic_challenge(true);
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| fail())?;
    let text = String::from_utf8(decoded).map_err(|_| fail())?;
    let (id, secret) = text.split_once(':').ok_or_else(fail)?;
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| fail())
    };
    Ok(Some((dec(id)?, dec(secret)?)))
}

/// Authenticates the client of an OAuth request. A confidential client must prove itself; a public
/// client only names itself (`client_id`).
pub async fn authenticate(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    form: &Form,
) -> Result<Authenticated, OAuthError> {
    authenticate_or(req, state, form, None).await
}

/// Like [`authenticate`], but a request that presents no client identification at all is taken to
/// come from `implied` — only ever a public client (a confidential one must still authenticate). Used
/// for refresh requests, which SMART lets public apps send with just the refresh token.
pub async fn authenticate_or(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    form: &Form,
    implied: Option<String>,
) -> Result<Authenticated, OAuthError> {
    let basic = basic(req)?;
    let form_id = form.one("client_id")?.map(str::to_string);
    let post_secret = form.one("client_secret")?.map(str::to_string);
    let assertion_type = form.one("client_assertion_type")?;
    let assertion = form.one("client_assertion")?.map(str::to_string);
    let used = [basic.is_some(), post_secret.is_some(), assertion.is_some()].iter().filter(|b| **b).count();
    if used > 1 {
        return Err(OAuthError::invalid_request("use exactly one client authentication method"));
    }
    let (client_id, method) = if let Some((id, _)) = &basic {
        (id.clone(), Method::Basic)
    } else if let Some(a) = &assertion {
        if assertion_type != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_client(format!("client_assertion_type must be {JWT_BEARER}")));
        }
        let iss = assertion::unverified_issuer(a)
            .ok_or_else(|| OAuthError::invalid_client("the client assertion has no iss"))?;
        (iss, Method::PrivateKeyJwt)
    } else if post_secret.is_some() {
        (form_id.clone().ok_or_else(|| OAuthError::invalid_request("client_secret needs client_id"))?, Method::Post)
    } else {
        let id = form_id
            .clone()
            .or(implied)
            .ok_or_else(|| OAuthError::invalid_client("the client is not identified (client_id is missing)"))?;
        (id, Method::None)
    };
    if let Some(fid) = &form_id {
        if fid != &client_id {
            return Err(OAuthError::invalid_client("client_id does not match the client's credentials"));
        }
    }
    let is_basic = method == Method::Basic;
    let unknown = || OAuthError::invalid_client("unknown client or wrong credentials").with_basic_challenge(is_basic);
    let cid = client_id.clone();
    let client = db::<_, OAuthError, _>(state, move |c| Ok(rows::find_client(c, &cid)?)).await?.ok_or_else(unknown)?;
    match method {
        Method::None => {
            if client.client_type != PUBLIC {
                return Err(OAuthError::invalid_client("this client is confidential and must authenticate"));
            }
        }
        Method::Basic | Method::Post => {
            let secret = match (&basic, &post_secret) {
                (Some((_, s)), _) => s.clone(),
                (None, Some(s)) => s.clone(),
                _ => String::new(),
            };
            let hash = client.secret_hash.clone().filter(|_| client.client_type == SECRET);
            let ok = web::block(move || match hash {
                Some(h) => secrets::verify_password(&secret, &h),
                None => {
                    secrets::verify_dummy(&secret);
                    false
                }
            })
            .await?;
            if !ok {
                return Err(unknown());
            }
        }
        Method::PrivateKeyJwt => {
            if client.client_type != JWKS {
                return Err(OAuthError::invalid_client("this client has no registered keys for private_key_jwt"));
            }
            let jwks = match (&client.jwks, &client.jwks_uri) {
                (Some(j), _) => assertion::parse_jwks(j)?,
                (None, Some(u)) => {
                    crate::smart::jwks_uri::fetch(u, crate::smart::jwks_uri::Policy::of(&state.settings)).await?
                }
                (None, None) => return Err(OAuthError::invalid_client("this client has no registered keys")),
            };
            let now = crate::clock::now_secs().unsigned_abs();
            let claims = assertion::verify(
                assertion.as_deref().unwrap_or_default(),
                &jwks,
                client.jwks_uri.as_deref(),
                &client.client_id,
                &state.settings.token_url(),
                now,
            )?;
            let (cid, jti, exp) = (client.client_id.clone(), claims.jti.unwrap_or_default(), claims.exp as i64);
            let fresh =
                db::<_, OAuthError, _>(state, move |c| Ok(rows::record_jti(c, &cid, &jti, exp, now as i64)?)).await?;
            if !fresh {
                return Err(OAuthError::invalid_client("the client assertion's jti was already used"));
            }
        }
    }
    Ok(Authenticated { client, method })
}
