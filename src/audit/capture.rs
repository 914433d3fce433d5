//! Turning finished `/fhir` requests into access records — in one place, so no interaction is missed.
//!
//! The access-token extractor marks (through [`identify`]) each request whose token it accepted with a [`Caller`]; the
//! middleware [`record`] runs after the handler and, for every marked request, derives the
//! interaction from the route, takes the status from the response, and the references from the URL
//! (read, vread, delete), the `Location` header (create, update, patch) or what the handler noted
//! with [`touched`] (search, history, `$everything`) or [`entries`] (batch and transaction Bundles).
//! Requests refused before a token was accepted (401) carry no caller and are not recorded; neither
//! are reads of the access log itself (`/fhir/AuditEvent`), so reading it never feeds it.

use std::future::Future;
use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};

use super::{Caller, Interaction, Record, Refs};
use crate::audit::AuditLog;

/// Query parameters never written to the log (credentials that a client might put in a URL; `code`
/// stays: it is a common FHIR search parameter, and authorization codes are never sent to `/fhir`).
const SECRET_PARAMS: &[&str] =
    &["access_token", "id_token", "refresh_token", "token", "client_secret", "client_assertion", "password"];
/// Longest path + query kept.
const MAX_PATH: usize = 2000;

/// What a handler adds to the record of its request.
#[derive(Debug, Clone, Default)]
struct Notes {
    interaction: Option<Interaction>,
    refs: Option<Refs>,
    entries: Option<Vec<EntryNote>>,
    /// The search parameters used, when they are not all in the URL (`POST _search`).
    query: Option<String>,
}

/// One entry of a batch or transaction Bundle, recorded on its own.
#[derive(Debug, Clone)]
pub struct EntryNote {
    pub method: String,
    /// The entry's `request.url` (relative to the FHIR base).
    pub url: String,
    /// The entry's `response.status` (`201 Created`).
    pub status: String,
    /// The entry's `response.location`, if any.
    pub location: Option<String>,
}

/// Where the records of an identified request go: this node's access log, and the FHIR base that
/// `Location` headers are made relative to.
#[derive(Clone)]
struct Sink {
    log: Arc<AuditLog>,
    fhir_base: Arc<str>,
}

/// Marks a request as made with an accepted token: it will be recorded in `log`, as made by `caller`.
/// The access-token extractor calls this; the access log never looks at tokens itself.
pub fn identify(req: &HttpRequest, caller: Caller, log: &Arc<AuditLog>, fhir_base: &str) {
    let mut ext = req.extensions_mut();
    ext.insert(caller);
    ext.insert(Sink { log: log.clone(), fhir_base: fhir_base.into() });
}

fn with_notes(req: &HttpRequest, f: impl FnOnce(&mut Notes)) {
    let mut ext = req.extensions_mut();
    match ext.get_mut::<Notes>() {
        Some(n) => f(n),
        None => {
            let mut n = Notes::default();
            f(&mut n);
            ext.insert(n);
        }
    }
}

/// The resources a search, history or `$everything` returned (`(type, id)` pairs).
pub fn touched<'a>(req: &HttpRequest, refs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    touched_refs(req, refs.into_iter().map(|(t, id)| format!("{t}/{id}")));
}

/// The references a request returned, as text (`Observation/1/_history/2` for history entries).
pub fn touched_refs(req: &HttpRequest, refs: impl IntoIterator<Item = String>) {
    let refs = Refs::collect(refs);
    with_notes(req, |n| n.refs = Some(refs));
}

/// The parameters a search used (URL and form body of `POST [type]/_search`), recorded as its query.
pub fn searched(req: &HttpRequest, params: &[(String, String)]) {
    let q = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    with_notes(req, |n| n.query = Some(q));
}

/// Overrides the interaction derived from the route (a Bundle says whether it is a transaction).
pub fn interaction(req: &HttpRequest, i: Interaction) {
    with_notes(req, |n| n.interaction = Some(i));
}

/// `(method, url)` of each entry of a batch or transaction Bundle, taken before it is processed.
pub fn requests_of(bundle: &serde_json::Value) -> Vec<(String, String)> {
    let text = |e: &serde_json::Value, k: &str| e["request"][k].as_str().unwrap_or_default().to_string();
    bundle["entry"]
        .as_array()
        .map(|a| a.iter().map(|e| (text(e, "method"), text(e, "url"))).collect())
        .unwrap_or_default()
}

/// The entries of a processed batch or transaction — the requests (from [`requests_of`]) with each
/// result's `(status, location)`, in entry order: each becomes its own record.
pub fn entries<'a>(
    req: &HttpRequest,
    requests: Vec<(String, String)>,
    results: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) {
    let list = requests
        .into_iter()
        .zip(results)
        .map(|((method, url), (status, location))| EntryNote {
            method,
            url,
            status: status.to_string(),
            location: location.map(str::to_string),
        })
        .collect();
    with_notes(req, |n| n.entries = Some(list));
}

/// The middleware around `/fhir`: records each finished request that carries a [`Caller`]. The
/// response waits until its records are queued (or, with the queue full, stored): see
/// [`crate::audit::AuditLog::record`].
pub fn record<S, B>(req: ServiceRequest, srv: &S) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        if let Some((sink, records)) = records_of(&res) {
            for r in records {
                sink.log.record(r).await;
            }
        }
        Ok(res)
    }
}

/// The records of a finished request (none for requests without a caller and for reads of the
/// access log itself), with the log that takes them.
fn records_of<B>(res: &ServiceResponse<B>) -> Option<(Sink, Vec<Record>)> {
    let req = res.request();
    let caller = req.extensions().get::<Caller>().cloned()?;
    let path = req.path();
    if path == "/fhir/AuditEvent" || path.starts_with("/fhir/AuditEvent/") {
        return None;
    }
    let sink = req.extensions().get::<Sink>().cloned()?;
    let notes = req.extensions().get::<Notes>().cloned().unwrap_or_default();
    let recorded = crate::clock::now_millis();
    if let Some(list) = notes.entries {
        let records = list.into_iter().map(|e| entry_record(&caller, recorded, e, &sink.fhir_base)).collect();
        return Some((sink, records));
    }
    let (derived, res_type) = derive(req);
    let interaction = notes.interaction.unwrap_or(derived);
    let status = res.status().as_u16();
    let refs = match notes.refs {
        Some(r) => r,
        None if status < 400 => single_ref(interaction, req, res, &sink.fhir_base),
        None => Refs::default(),
    };
    let record = Record {
        recorded,
        caller,
        interaction,
        res_type,
        method: req.method().to_string(),
        path: safe_path(path, notes.query.as_deref().unwrap_or(req.query_string())),
        status,
        refs,
    };
    Some((sink, vec![record]))
}

/// The interaction and resource type of a request, from its method and route.
fn derive(req: &HttpRequest) -> (Interaction, Option<String>) {
    let pattern = req.match_pattern().unwrap_or_default();
    let mut res_type = req.match_info().get("type").map(str::to_string);
    let i = match (req.method().as_str(), pattern.as_str()) {
        ("GET", "/fhir/{type}/{id}") => Interaction::Read,
        ("GET", "/fhir/{type}/{id}/_history/{vid}") => Interaction::Vread,
        ("GET", "/fhir/{type}/{id}/_history") => Interaction::HistoryInstance,
        ("GET", "/fhir/{type}/_history") => Interaction::HistoryType,
        ("GET", "/fhir/_history") => Interaction::HistorySystem,
        ("GET", "/fhir/Patient/{id}/$everything") => {
            res_type = Some("Patient".into());
            Interaction::Operation
        }
        ("GET", "/fhir/{type}") | ("POST", "/fhir/{type}/_search") => Interaction::SearchType,
        ("GET", "/fhir") | ("GET", "/fhir/") => Interaction::SearchSystem,
        ("POST", "/fhir") | ("POST", "/fhir/") => Interaction::Batch,
        ("POST", _) => Interaction::Create,
        ("PUT", _) => Interaction::Update,
        ("PATCH", _) => Interaction::Patch,
        ("DELETE", _) => Interaction::Delete,
        _ => Interaction::Read,
    };
    (i, res_type)
}

/// The one resource a successful single-resource interaction addressed.
fn single_ref<B>(i: Interaction, req: &HttpRequest, res: &ServiceResponse<B>, fhir_base: &str) -> Refs {
    let info = req.match_info();
    let addressed = info.get("type").zip(info.get("id"));
    match (i, addressed) {
        (Interaction::Read | Interaction::Delete, Some((t, id))) => Refs::one(format!("{t}/{id}")),
        (Interaction::Vread, Some((t, id))) => {
            Refs::one(format!("{t}/{id}/_history/{}", info.get("vid").unwrap_or_default()))
        }
        (Interaction::Create | Interaction::Update | Interaction::Patch, _) => res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| location_ref(l, fhir_base))
            .map(Refs::one)
            .unwrap_or_default(),
        _ => Refs::default(),
    }
}

/// `Type/id/_history/n` of a `Location` under the FHIR base.
fn location_ref(location: &str, fhir_base: &str) -> Option<String> {
    location.strip_prefix(fhir_base)?.strip_prefix('/').filter(|r| r.contains('/')).map(str::to_string)
}

fn entry_record(caller: &Caller, recorded: i64, e: EntryNote, fhir_base: &str) -> Record {
    let url = e.url.trim_start_matches('/');
    let (path_part, query) = url.split_once('?').unwrap_or((url, ""));
    let mut segments = path_part.split('/').filter(|s| !s.is_empty());
    let res_type = segments.next().map(str::to_string);
    let id = segments.next();
    let interaction = match e.method.as_str() {
        "GET" | "HEAD" => Interaction::Read,
        "PUT" => Interaction::Update,
        "PATCH" => Interaction::Patch,
        "DELETE" => Interaction::Delete,
        _ => Interaction::Create,
    };
    let status = e.status.split_whitespace().next().and_then(|s| s.parse::<u16>().ok()).unwrap_or(500);
    let reference = match (&res_type, id) {
        _ if status >= 400 => None,
        (Some(t), Some(id)) if matches!(interaction, Interaction::Read | Interaction::Delete) => {
            Some(format!("{t}/{id}"))
        }
        _ => e.location.as_deref().and_then(|l| location_ref(l, fhir_base)),
    };
    Record {
        recorded,
        caller: caller.clone(),
        interaction,
        res_type,
        method: e.method,
        path: safe_path(&format!("/fhir/{path_part}"), query),
        status,
        refs: reference.map(Refs::one).unwrap_or_default(),
    }
}

/// Path and query as logged: credentials dropped, paging cursors shortened, length capped.
pub fn safe_path(path: &str, query: &str) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)))
        .map(|(k, v)| if k == "_cursor" { (k.into_owned(), "…".to_string()) } else { (k.into_owned(), v.into_owned()) })
        .collect();
    let mut out = path.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish());
    }
    if out.len() > MAX_PATH {
        let mut end = MAX_PATH;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_secrets_and_cursors() {
        let p = safe_path(
            "/fhir/Observation",
            "category=laboratory&access_token=abc.def&_cursor=xyz&Refresh_Token=1&code=x",
        );
        assert_eq!(p, "/fhir/Observation?category=laboratory&_cursor=%E2%80%A6&code=x");
        assert_eq!(safe_path("/fhir/Patient/1", ""), "/fhir/Patient/1");
        assert!(safe_path("/fhir/Patient", &"a=é".repeat(2000)).len() <= MAX_PATH);
    }

    #[test]
    fn bundle_entries_become_records() {
        let caller = Caller { client_id: "c".into(), ..Default::default() };
        let e = EntryNote {
            method: "POST".into(),
            url: "Observation".into(),
            status: "201 Created".into(),
            location: Some("http://x/fhir/Observation/9/_history/1".into()),
        };
        let r = entry_record(&caller, 1, e, "http://x/fhir");
        assert_eq!(
            (r.interaction, r.status, r.refs.list.clone()),
            (Interaction::Create, 201, vec!["Observation/9/_history/1".to_string()])
        );
        let e = EntryNote {
            method: "GET".into(),
            url: "/Patient/1".into(),
            status: "404 Not Found".into(),
            location: None,
        };
        let r = entry_record(&caller, 1, e, "http://x/fhir");
        assert_eq!(
            (r.interaction, r.status, r.refs.total, r.path.as_str()),
            (Interaction::Read, 404, 0, "/fhir/Patient/1")
        );
        assert_eq!(location_ref("http://x/fhir/Goal/1/_history/2", "http://x/fhir"), Some("Goal/1/_history/2".into()));
        assert_eq!(location_ref("http://y/fhir/Goal/1", "http://x/fhir"), None);
    }
}
