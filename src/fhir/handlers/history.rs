//! `history` at instance, type and system level (`_count`, `_since`, keyset paging).

use actix_web::{web, HttpRequest, HttpResponse};

use super::db;
use crate::error::ApiError;
use crate::fhir::format::Output;
use crate::fhir::paging::{bundle, make_cursor, open_cursor, Entry};
use crate::fhir::{instant, resource, service};
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::resources::{self as rows, HistoryQuery};
use crate::AppState;

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
    if let Some(t) = &res_type {
        resource::check_type(t)?;
        access.require(t, Interaction::Read)?;
    } else if !access.scopes.allows("*", Interaction::Read) {
        return Err(ApiError::Forbidden("system history needs read access to all resource types (*.read)".into()));
    }
    if let Some(id) = &res_id {
        resource::check_id(id)?;
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = HistoryQuery { res_type: res_type.clone(), res_id: res_id.clone(), ..Default::default() };
    let mut count = state.settings.default_count;
    for (k, v) in &params {
        match k.as_str() {
            "_count" => {
                count = v
                    .parse::<usize>()
                    .map_err(|_| ApiError::BadRequest(format!("_count={v} is not a whole number")))?
                    .min(state.settings.max_count)
            }
            "_since" => {
                q.since = Some(
                    instant::parse_to_utc(v)
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
    q.limit = count as i64 + 1;
    let (entries, more) = db(&state, move |c| {
        if let (Some(t), Some(id)) = (&res_type, &res_id) {
            // Instance history: the resource itself must be visible (404 otherwise).
            let cur = rows::read(c, t, id)?.ok_or_else(|| ApiError::NotFound(format!("{t}/{id} is not known")))?;
            if !service::visible(c, &access, &cur)? {
                return Err(ApiError::NotFound(format!("{t}/{id} is not known")));
            }
        }
        let mut list = rows::history(c, &q)?;
        let more = list.len() > count;
        list.truncate(count);
        let mut visible = Vec::with_capacity(list.len());
        for e in list {
            // Compartment and granular-scope checks need the current row; skip the read when neither applies.
            let filtered = access.compartment_patient().is_some()
                || access.scopes.filter_groups(&e.res_type, Interaction::Read).map(|g| !g.is_empty()).unwrap_or(true);
            let ok = access.scopes.allows(&e.res_type, Interaction::Read)
                && (!filtered
                    || match rows::read(c, &e.res_type, &e.res_id)? {
                        Some(cur) => service::visible(c, &access, &cur)?,
                        None => false,
                    });
            visible.push((e, ok));
        }
        Ok((visible, more))
    })
    .await?;
    crate::audit::capture::touched_refs(
        &req,
        entries
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(e, _)| format!("{}/{}/_history/{}", e.res_type, e.res_id, e.version_id)),
    );
    let base = state.settings.fhir_base();
    let path = req.path().to_string();
    let self_url = match req.query_string() {
        "" => format!("{}{}", state.settings.base_url, path),
        q => format!("{}{}?{}", state.settings.base_url, path, q),
    };
    let mut links = vec![("self", self_url)];
    if more {
        if let Some((last, _)) = entries.last() {
            let cursor = make_cursor(&state.cursor_secret, &format!("h|{}", last.hseq));
            let qs: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().filter(|(k, _)| k != "_cursor").map(|(k, v)| (k.as_str(), v.as_str())))
                .append_pair("_cursor", &cursor)
                .finish();
            links.push(("next", format!("{}{}?{}", state.settings.base_url, path, qs)));
        }
    }
    let out_entries: Vec<Entry<'_>> = entries
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(e, _)| {
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
