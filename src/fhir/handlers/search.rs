//! `search` (GET `[type]?…` and POST `[type]/_search`), keyset-paged.

use actix_web::{web, HttpRequest, HttpResponse};
use sha2::Digest;

use super::db;
use crate::error::ApiError;
use crate::fhir::format::Output;
use crate::fhir::paging::{bundle, make_cursor, open_cursor, Entry};
use crate::fhir::resource::check_type;
use crate::fhir::search::query;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::{resources as rows, search as store_search};
use crate::AppState;

fn params_of(qs: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(qs.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A fingerprint of the criteria, bound into the cursor so it cannot be replayed on another search.
fn fingerprint(res_type: &str, params: &[(String, String)]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(res_type.as_bytes());
    for (k, v) in params.iter().filter(|(k, _)| k != "_cursor") {
        h.update([0u8]);
        h.update(k.as_bytes());
        h.update([1u8]);
        h.update(v.as_bytes());
    }
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &h.finalize()[..12])
}

pub async fn search_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params = params_of(req.query_string());
    run(req, state, access, path.into_inner(), params).await
}

pub async fn search_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let ctype = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "POST _search needs Content-Type application/x-www-form-urlencoded".into(),
        ));
    }
    let mut params = params_of(req.query_string());
    params.extend(params_of(std::str::from_utf8(&body).map_err(|_| ApiError::BadRequest("the form is not UTF-8".into()))?));
    run(req, state, access, path.into_inner(), params).await
}

async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    res_type: String,
    params: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    check_type(&res_type)?;
    access.require(&res_type, Interaction::Search)?;
    let settings = state.settings.clone();
    let count = match params.iter().find(|(k, _)| k == "_count") {
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| ApiError::BadRequest(format!("_count={v} is not a non-negative whole number")))?
            .min(settings.max_count),
        None => settings.default_count,
    };
    let want_total = !matches!(params.iter().find(|(k, _)| k == "_total").map(|(_, v)| v.as_str()), Some("none"));
    let fp = fingerprint(&res_type, &params);
    let after = match params.iter().find(|(k, _)| k == "_cursor") {
        Some((_, c)) => {
            let payload = open_cursor(&state.cursor_secret, c)?;
            let (seq, f) = payload.split_once('|').ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?;
            if f != fp {
                return Err(ApiError::BadRequest("the paging cursor belongs to a different search".into()));
            }
            Some(seq.parse::<i64>().map_err(|_| ApiError::BadRequest("invalid cursor".into()))?)
        }
        None => None,
    };
    let mut q = query::build(&res_type, &params, &access)?;
    q.after_seq = after;
    q.limit = count as i64 + 1;
    let (found, total) = db(&state, move |c| {
        let seqs = if count == 0 { Vec::new() } else { store_search::find(c, &q)? };
        let total = if want_total { Some(store_search::count(c, &q)?) } else { None };
        let more = seqs.len() > count;
        let page: Vec<i64> = seqs.into_iter().take(count).collect();
        Ok(((rows::read_many(c, &page)?, more), total))
    })
    .await?;
    let (resources, more) = found;
    let base = settings.fhir_base();
    let self_qs: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    let mut links = vec![("self", format!("{base}/{res_type}?{self_qs}"))];
    if more {
        if let Some(last) = resources.last() {
            let cursor = make_cursor(&state.cursor_secret, &format!("{}|{fp}", last.seq));
            let next_qs: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().filter(|(k, _)| k != "_cursor").map(|(k, v)| (k.as_str(), v.as_str())))
                .append_pair("_cursor", &cursor)
                .finish();
            links.push(("next", format!("{base}/{res_type}?{next_qs}")));
        }
    }
    let entries: Vec<Entry<'_>> = resources
        .iter()
        .map(|r| Entry {
            full_url: Some(format!("{base}/{}/{}", r.res_type, r.res_id)),
            resource: Some(&r.content),
            extra: r#""search":{"mode":"match"}"#.to_string(),
        })
        .collect();
    let body = bundle("searchset", total, &links, &entries);
    out.respond(HttpResponse::Ok(), &body)
}
