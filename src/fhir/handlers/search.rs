//! `search`: GET `[type]?…`, POST `[type]/_search`, and system-level `GET /fhir?_type=…`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::db;
use crate::app::AppState;
use crate::error::ApiError;
use crate::fhir::format::Output;
use crate::fhir::resource::check_type;
use crate::fhir::search::engine;
use crate::fhir::search::spec::SearchSpec;
use crate::fhir::types::SUPPORTED_TYPES;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;

fn params_of(qs: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(qs.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn lenient(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim() == "handling=lenient"))
}

pub async fn search_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params = params_of(req.query_string());
    let t = path.into_inner();
    run(req, state, access, vec![t.clone()], format!("/{t}"), params).await
}

pub async fn search_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_form(&state, payload).await?;
    let ctype = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "POST _search needs Content-Type application/x-www-form-urlencoded".into(),
        ));
    }
    let mut params = params_of(req.query_string());
    params.extend(params_of(
        std::str::from_utf8(&body).map_err(|_| ApiError::BadRequest("the form is not UTF-8".into()))?,
    ));
    let t = path.into_inner();
    run(req, state, access, vec![t.clone()], format!("/{t}"), params).await
}

/// `GET /fhir?_type=Patient,Observation&…`: the common parameters over several types.
pub async fn search_system(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
) -> Result<HttpResponse, ApiError> {
    let params = params_of(req.query_string());
    let types: Vec<String> = match params.iter().find(|(k, _)| k == "_type") {
        Some((_, v)) => v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        None => SUPPORTED_TYPES
            .iter()
            .filter(|t| crate::fhir::guard::reach(&access, t, Interaction::Search).is_ok_and(|r| !r.is_empty()))
            .map(|t| t.to_string())
            .collect(),
    };
    if types.is_empty() {
        return Err(ApiError::Forbidden("the access token allows searching no resource type".into()));
    }
    run(req, state, access, types, String::new(), params).await
}

pub(super) async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    res_types: Vec<String>,
    path: String,
    params: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    for t in &res_types {
        check_type(t)?;
        access.require(t, Interaction::Search)?;
    }
    crate::audit::capture::searched(&req, &params);
    let spec = SearchSpec::parse(res_types.clone(), &params, &access, &state.settings, lenient(&req))?;
    let fp = engine::fingerprint(&res_types, &spec.used);
    let after = match &spec.cursor {
        Some(c) => Some(engine::decode_cursor(&state.cursor_secret, c, &fp)?),
        None => None,
    };
    let spec2 = spec.clone();
    let page = db(&state, move |c| engine::run(c, &access, &spec2, after)).await?;
    crate::audit::capture::touched(
        &req,
        page.matches.iter().chain(&page.included).map(|r| (r.res_type.as_str(), r.res_id.as_str())),
    );
    let base = state.settings.fhir_base();
    let qs = |extra: Option<(&str, &str)>| -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(spec.used.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if (res_types.len() > 1 || path.is_empty()) && !spec.used.iter().any(|(k, _)| k == "_type") {
            s.append_pair("_type", &res_types.join(","));
        }
        if let Some((k, v)) = extra {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let with_query = |q: String| if q.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{q}") };
    let self_url = with_query(qs(None));
    let next_url = page
        .next
        .as_ref()
        .map(|a| with_query(qs(Some(("_cursor", &engine::encode_cursor(&state.cursor_secret, a, &fp))))));
    let body = engine::to_bundle(&spec, &page, &base, self_url, next_url)?;
    out.respond(HttpResponse::Ok(), &body)
}
