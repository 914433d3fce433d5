//! `history` at instance, type and system level (`_count`, `_since`, keyset paging).

use actix_web::{web, HttpRequest, HttpResponse};

use super::db;
use crate::app::AppState;
use crate::clock;
use crate::error::ApiError;
use crate::fhir::format::Output;
use crate::fhir::paging::{bundle, make_cursor, open_cursor, Entry};
use crate::fhir::service::{self, HistoryRequest};
use crate::smart::access::AccessContext;

pub async fn system(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
) -> Result<HttpResponse, ApiError> {
    run(req, state, access, None, None).await
}

pub async fn of_type(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    run(req, state, access, Some(path.into_inner()), None).await
}

pub async fn instance(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (t, id) = path.into_inner();
    run(req, state, access, Some(t), Some(id)).await
}

async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    res_type: Option<String>,
    res_id: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = HistoryRequest { res_type, res_id, since: None, before: None, count: state.settings.default_count };
    for (k, v) in &params {
        match k.as_str() {
            "_count" => {
                q.count = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::BadRequest(format!("_count={v} is not a whole number")))?
                    .min(state.settings.max_count)
            }
            "_since" => {
                q.since = Some(
                    clock::parse_to_utc(v)
                        .ok_or_else(|| ApiError::BadRequest(format!("_since={v} is not a FHIR instant")))?
                        .text,
                )
            }
            "_cursor" => {
                let payload = open_cursor(&state.cursor_secret, v)?;
                let (kind, seq) = payload.split_once('|').unwrap_or(("", ""));
                if kind != "h" {
                    return Err(ApiError::BadRequest("the paging cursor is not a history cursor".into()));
                }
                q.before = Some(seq.parse().map_err(|_| ApiError::BadRequest("invalid cursor".into()))?);
            }
            "_format" | "_pretty" => {}
            other => {
                return Err(ApiError::BadRequest(format!("{other} is not a history parameter (use _count, _since)")))
            }
        }
    }
    let page = db(&state, move |c| service::history(c, &access, q)).await?;
    let entries = page.entries;
    crate::audit::capture::touched_refs(
        &req,
        entries.iter().map(|e| format!("{}/{}/_history/{}", e.res_type, e.res_id, e.version_id)),
    );
    let base = state.settings.fhir_base();
    let path = req.path().to_string();
    let self_url = match req.query_string() {
        "" => format!("{}{}", state.settings.base_url, path),
        q => format!("{}{}?{}", state.settings.base_url, path, q),
    };
    let mut links = vec![("self", self_url)];
    if let Some(next) = page.next_before {
        {
            let cursor = make_cursor(&state.cursor_secret, &format!("h|{next}"));
            let qs: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().filter(|(k, _)| k != "_cursor").map(|(k, v)| (k.as_str(), v.as_str())))
                .append_pair("_cursor", &cursor)
                .finish();
            links.push(("next", format!("{}{}?{}", state.settings.base_url, path, qs)));
        }
    }
    let out_entries: Vec<Entry<'_>> = entries
        .iter()
        .map(|e| {
            let url = format!("{}/{}", e.res_type, e.res_id);
            let (status, method_url) = match e.method.as_str() {
                "POST" => ("201 Created", e.res_type.clone()),
                "DELETE" => ("204 No Content", url.clone()),
                _ => ("200 OK", url.clone()),
            };
            Entry {
                full_url: Some(format!("{base}/{url}")),
                resource: (!e.deleted).then_some(e.content.as_slice()),
                extra: format!(
                    r#""request":{{"method":"{}","url":"{}"}},"response":{{"status":"{}","etag":"W/\"{}\"","lastModified":"{}"}}"#,
                    e.method, method_url, status, e.version_id, e.last_updated
                ),
            }
        })
        .collect();
    let body = bundle("history", None, &links, &out_entries);
    out.respond(HttpResponse::Ok(), &body)
}
