//! `GET /fhir/AuditEvent` (and `POST /fhir/AuditEvent/_search`) and `GET /fhir/AuditEvent/{id}`:
//! the access log as AuditEvents, generated from its rows on each read. Search parameters: `patient`,
//! `date` (prefixes eq, gt, ge, lt, le, sa, eb, ap), `agent` (the user, `Practitioner/1`), `client`
//! (the app's client id), each with `:missing`; `_count`, `_summary=count` and a signed paging cursor. A patient-bound
//! token sees only events about its patient; AuditEvents cannot be written (405).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::AppState;
use crate::error::ApiError;
use crate::fhir::audit_event::{self as event, refuse_writes};
use crate::fhir::format::Output;
use crate::fhir::handlers::{db, version_headers};
use crate::fhir::paging::{bundle, make_cursor, open_cursor, Entry};
use crate::fhir::search::dates::date_range;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::audit::{self as rows, LogQuery, Owner, PatientMatch};

/// The routes, registered inside the `/fhir` scope before the `{type}` catch-alls.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let refuse =
        || web::to(|| async { refuse_writes("AuditEvent").map(|()| HttpResponse::MethodNotAllowed().finish()) });
    cfg.service(web::resource("/AuditEvent").route(web::get().to(search_get)).default_service(refuse()))
        .service(web::resource("/AuditEvent/_search").route(web::post().to(search_post)).default_service(refuse()))
        .service(web::resource("/AuditEvent/{id}").route(web::get().to(read)).default_service(refuse()))
        .route("/AuditEvent/{tail:.+}", refuse());
}

fn check_access(access: &AccessContext, interaction: Interaction) -> Result<(), ApiError> {
    access.require("AuditEvent", interaction)?;
    let filtered = access.scopes.filter_groups("AuditEvent", interaction).map(|g| !g.is_empty()).unwrap_or(true);
    if filtered {
        return Err(ApiError::Forbidden("granular scopes (with filters) are not supported on AuditEvent".into()));
    }
    Ok(())
}

/// A parsed search: the query, the page size, the parameters to repeat in links, and whether it can
/// only be empty (a patient token asking about another patient, `:missing` on an element always there).
struct Parsed {
    query: LogQuery,
    count: usize,
    used: Vec<(String, String)>,
    empty: bool,
    /// `_summary=count`: the total only.
    count_only: bool,
}

fn bad(msg: String) -> ApiError {
    ApiError::BadRequest(msg)
}

fn missing(name: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!("{name}:missing takes true or false, not {v:?}"))),
    }
}

fn single<'a>(name: &str, v: &'a str) -> Result<&'a str, ApiError> {
    if v.is_empty() || v.contains(',') {
        return Err(bad(format!("{name} takes one value (got {v:?})")));
    }
    Ok(v)
}

fn parse(params: &[(String, String)], access: &AccessContext, state: &AppState) -> Result<Parsed, ApiError> {
    let own = crate::fhir::guard::only_patient(access, "AuditEvent", Interaction::Read)?;
    let owner = own.clone().map(Owner::Patient).unwrap_or(Owner::All);
    let mut p = Parsed {
        query: LogQuery::new(owner, 0),
        count: state.settings.default_count,
        used: Vec::new(),
        empty: false,
        count_only: false,
    };
    for (k, v) in params {
        let keep = !matches!(k.as_str(), "_format" | "_pretty" | "_cursor");
        match k.as_str() {
            "patient" => {
                let v = single(k, v)?;
                let id = crate::audit::relative_reference(v);
                let id = id.strip_prefix("Patient/").unwrap_or(&id).to_string();
                if own.as_ref().is_some_and(|o| *o != id) {
                    p.empty = true;
                }
                p.query.patient = Some(PatientMatch::Is(id));
            }
            "patient:missing" => {
                p.query.patient = Some(if missing(k, v)? { PatientMatch::Missing } else { PatientMatch::Present })
            }
            "agent" => p.query.fhir_user = Some(crate::audit::relative_reference(single(k, v)?)),
            "client" => p.query.client_id = Some(single(k, v)?.to_string()),
            "agent:missing" | "client:missing" | "date:missing" => p.empty |= missing(k, v)?,
            "date" => date(&mut p.query, single(k, v)?)?,
            "_count" => {
                let n = v.parse::<usize>().map_err(|_| bad(format!("_count={v} is not a whole number")))?;
                p.count = n.min(state.settings.max_count);
            }
            "_cursor" => {
                let payload = open_cursor(&state.cursor_secret, v)?;
                let mut parts = payload.split('|');
                let (Some("ae"), Some(r), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(bad("the paging cursor is not an AuditEvent cursor".into()));
                };
                let n = |s: &str| s.parse::<i64>().map_err(|_| bad("invalid paging cursor".into()));
                p.query.before = Some((n(r)?, n(id)?));
            }
            "_summary" => match v.as_str() {
                "count" => p.count_only = true,
                "false" => {}
                _ => return Err(bad(format!("_summary={v} is not supported on AuditEvent (use count or false)"))),
            },
            "_format" | "_pretty" => {}
            other => {
                return Err(bad(format!(
                    "{other} is not a search parameter of AuditEvent (use patient, date, agent, client, _count)"
                )))
            }
        }
        if keep {
            p.used.push((k.clone(), v.clone()));
        }
    }
    p.query.limit = p.count as i64 + 1;
    Ok(p)
}

/// `date=[prefix]value` as bounds on `recorded`.
fn date(q: &mut LogQuery, v: &str) -> Result<(), ApiError> {
    let (prefix, value) = match v.get(..2) {
        Some(pre @ ("eq" | "ne" | "gt" | "lt" | "ge" | "le" | "sa" | "eb" | "ap")) => (pre, v.get(2..).unwrap_or("")),
        _ => ("eq", v),
    };
    let (low, high) = date_range(value).ok_or_else(|| bad(format!("date={v} is not a FHIR date or dateTime")))?;
    match prefix {
        "eq" | "ap" => {
            q.recorded_min.push(low);
            q.recorded_max.push(high);
        }
        "gt" | "sa" => q.recorded_min.push(high.saturating_add(1)),
        "ge" => q.recorded_min.push(low),
        "lt" | "eb" => q.recorded_max.push(low.saturating_sub(1)),
        "le" => q.recorded_max.push(high),
        _ => return Err(bad("the ne prefix is not supported on AuditEvent.date".into())),
    }
    Ok(())
}

fn params_of(qs: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(qs.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

pub async fn search_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
) -> Result<HttpResponse, ApiError> {
    let params = params_of(req.query_string());
    run(req, state, access, params).await
}

pub async fn search_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = crate::fhir::handlers::read_form(&state, payload).await?;
    let ctype = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "POST _search needs Content-Type application/x-www-form-urlencoded".into(),
        ));
    }
    let mut params = params_of(req.query_string());
    params.extend(params_of(std::str::from_utf8(&body).map_err(|_| bad("the form is not UTF-8".into()))?));
    run(req, state, access, params).await
}

async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    params: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    check_access(&access, Interaction::Search)?;
    let p = parse(&params, &access, &state)?;
    let (query, empty, count_only) = (p.query.clone(), p.empty, p.count_only);
    let (mut found, names, total) = db(&state, move |c| {
        if count_only {
            let total = if empty { 0 } else { rows::count(c, &query)? };
            return Ok((Vec::new(), Default::default(), Some(total)));
        }
        let found = if empty { Vec::new() } else { rows::list(c, &query)? };
        let names = crate::smart::clients::app_names(c, found.iter().map(|r| r.client_id.clone()))?;
        Ok((found, names, None))
    })
    .await?;
    let more = found.len() > p.count;
    found.truncate(p.count);
    let base = state.settings.fhir_base();
    let link = |extra: Option<(&str, String)>| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(p.used.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some((k, v)) = extra {
            s.append_pair(k, &v);
        }
        match s.finish() {
            q if q.is_empty() => format!("{base}/AuditEvent"),
            q => format!("{base}/AuditEvent?{q}"),
        }
    };
    let mut links = vec![("self", link(None))];
    if let (true, Some(last)) = (more, found.last()) {
        let cursor = make_cursor(&state.cursor_secret, &format!("ae|{}|{}", last.recorded, last.id));
        links.push(("next", link(Some(("_cursor", cursor)))));
    }
    let events: Vec<(i64, Vec<u8>)> = found
        .iter()
        .map(|r| {
            let name = names.get(&r.client_id).map(String::as_str).unwrap_or(&r.client_id);
            (r.id, event::to_json(r, name, &state.settings.base_url).to_string().into_bytes())
        })
        .collect();
    let entries: Vec<Entry<'_>> = events
        .iter()
        .map(|(id, json)| Entry {
            full_url: Some(format!("{base}/AuditEvent/{id}")),
            resource: Some(json.as_slice()),
            extra: r#""search":{"mode":"match"}"#.into(),
        })
        .collect();
    out.respond(HttpResponse::Ok(), &bundle("searchset", total, &links, &entries))
}

pub async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    check_access(&access, Interaction::Read)?;
    let id = path.into_inner();
    let not_found = || ApiError::NotFound(format!("AuditEvent/{id} is not known"));
    let Ok(n) = id.parse::<i64>() else { return Err(not_found()) };
    let own = crate::fhir::guard::only_patient(&access, "AuditEvent", Interaction::Read)?;
    let found = db(&state, move |c| {
        let Some(row) = rows::get(c, n)?.filter(|r| own.is_none() || r.patient_id == own) else { return Ok(None) };
        let names = crate::smart::clients::app_names(c, [row.client_id.clone()])?;
        Ok(Some((row, names)))
    })
    .await?;
    let (row, names) = found.ok_or_else(not_found)?;
    let name = names.get(&row.client_id).map(String::as_str).unwrap_or(&row.client_id);
    let body = event::to_json(&row, name, &state.settings.base_url).to_string();
    let mut b = HttpResponse::Ok();
    version_headers(&mut b, 1, &event::instant_of(row.recorded));
    out.respond(b, body.as_bytes())
}
