//! Batch and transaction Bundles (R4 3.1.0.11).
//!
//! A transaction is all-or-nothing: it runs in one database transaction, processes entries in the
//! order DELETE, POST, PUT/PATCH, GET, and rewrites `urn:uuid:` (and other fullUrl) references to the
//! ids the server assigns, plus conditional references (`Patient?identifier=…`). A batch runs each
//! entry on its own and reports each outcome.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::patch::PatchLimits;
use super::service::{self, Done};
use crate::error::ApiError;
use crate::smart::access::AccessContext;
use crate::store::{write_tx, AnyConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Delete,
    Post,
    Put,
    Patch,
    Get,
}

struct Item {
    index: usize,
    method: Method,
    url: String,
    full_url: Option<String>,
    resource: Option<Value>,
    if_none_exist: Option<String>,
    if_match: Option<i64>,
}

/// What one entry produced.
pub struct EntryResult {
    pub status: String,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Resource (or OperationOutcome) JSON to include.
    pub body: Option<Vec<u8>>,
}

fn entry_error(index: usize, msg: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("Bundle.entry[{index}]: {msg}"))
}

fn parse_items(bundle: &Value) -> Result<Vec<Item>, ApiError> {
    let entries = match bundle.get("entry") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::invalid("Bundle.entry", "Bundle.entry must be an array")),
    };
    let mut items = Vec::with_capacity(entries.len());
    for (index, e) in entries.iter().enumerate() {
        let req = e.get("request").ok_or_else(|| entry_error(index, "has no request"))?;
        let method = match req.get("method").and_then(Value::as_str) {
            Some("GET") | Some("HEAD") => Method::Get,
            Some("POST") => Method::Post,
            Some("PUT") => Method::Put,
            Some("PATCH") => Method::Patch,
            Some("DELETE") => Method::Delete,
            other => return Err(entry_error(index, format!("request.method {other:?} is not supported"))),
        };
        let url = req
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| entry_error(index, "request.url is missing"))?
            .to_string();
        let if_match = match req.get("ifMatch").and_then(Value::as_str) {
            Some(s) => Some(
                s.trim_start_matches("W/")
                    .trim_matches('"')
                    .parse::<i64>()
                    .map_err(|_| entry_error(index, format!("ifMatch {s:?} is not a version ETag")))?,
            ),
            None => None,
        };
        items.push(Item {
            index,
            method,
            url,
            full_url: e.get("fullUrl").and_then(Value::as_str).map(str::to_string),
            resource: e.get("resource").cloned(),
            if_none_exist: req.get("ifNoneExist").and_then(Value::as_str).map(str::to_string),
            if_match,
        });
    }
    Ok(items)
}

/// `Type/id` split of a request URL (relative, with optional leading `/` and query).
fn split_url(url: &str) -> (String, Option<String>, Option<String>) {
    let url = url.trim_start_matches('/');
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (url, None),
    };
    let mut parts = path.splitn(2, '/');
    let t = parts.next().unwrap_or("").to_string();
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    (t, id, query)
}

/// Replaces every `Reference.reference` found in `map`; conditional references are resolved by search.
fn rewrite_refs(
    v: &mut Value,
    map: &HashMap<String, String>,
    resolve: &mut dyn FnMut(&str) -> Result<String, ApiError>,
) -> Result<(), ApiError> {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if k == "reference" {
                    if let Value::String(s) = child {
                        if let Some(new) = map.get(s.as_str()) {
                            *s = new.clone();
                        } else if s.contains('?') && !s.starts_with('#') && !s.contains("://") {
                            *s = resolve(s)?;
                        }
                        continue;
                    }
                }
                rewrite_refs(child, map, resolve)?;
            }
        }
        Value::Array(a) => {
            for child in a {
                rewrite_refs(child, map, resolve)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn done_result(base: &str, d: &Done, status: Option<&str>) -> EntryResult {
    let status = status.map(str::to_string).unwrap_or_else(|| match d.status {
        201 => "201 Created".into(),
        _ => "200 OK".into(),
    });
    EntryResult {
        status,
        location: Some(format!("{base}/{}/{}/_history/{}", d.res_type, d.id, d.version_id)),
        etag: Some(format!("W/\"{}\"", d.version_id)),
        last_modified: Some(d.last_updated.clone()),
        body: Some(d.content.clone()),
    }
}

/// Runs one entry (references already rewritten).
fn run_item(
    conn: &mut AnyConnection,
    access: &AccessContext,
    base: &str,
    item: Item,
    post_id: Option<&str>,
    limits: &PatchLimits,
) -> Result<EntryResult, ApiError> {
    let (t, id, query) = split_url(&item.url);
    let need_resource = |r: Option<Value>| r.ok_or_else(|| entry_error(item.index, "needs a resource"));
    match item.method {
        Method::Post => {
            let body = need_resource(item.resource)?;
            let d = match post_id {
                Some(id) => service::create_with_id(conn, access, &t, body, item.if_none_exist.as_deref(), id)?,
                None => service::create(conn, access, &t, body, item.if_none_exist.as_deref())?,
            };
            Ok(done_result(base, &d, None))
        }
        Method::Put => {
            let body = need_resource(item.resource)?;
            let d = match (id, query) {
                (Some(id), _) => service::update(conn, access, &t, &id, body, item.if_match)?,
                (None, Some(q)) => service::conditional_update(conn, access, &t, &q, body)?,
                (None, None) => return Err(entry_error(item.index, "PUT needs Type/id or Type?criteria")),
            };
            Ok(done_result(base, &d, None))
        }
        Method::Patch => {
            let id = id.ok_or_else(|| entry_error(item.index, "PATCH needs Type/id"))?;
            // A transaction PATCH carries a Binary or a Parameters body; we accept a JSON Patch array in
            // a Binary's base64 data.
            let body = need_resource(item.resource)?;
            let ops = json_patch_from_binary(&body).ok_or_else(|| {
                entry_error(item.index, "PATCH entries must carry a Binary with application/json-patch+json data")
            })?;
            let ops = super::patch::from_value(ops).map_err(|e| entry_error(item.index, e))?;
            let d = service::patch(conn, access, &t, &id, &ops, limits, item.if_match)?;
            Ok(done_result(base, &d, None))
        }
        Method::Delete => {
            let id = id.ok_or_else(|| entry_error(item.index, "DELETE needs Type/id"))?;
            service::delete(conn, access, &t, &id)?;
            Ok(EntryResult {
                status: "204 No Content".into(),
                location: None,
                etag: None,
                last_modified: None,
                body: None,
            })
        }
        Method::Get => {
            let id = id.ok_or_else(|| entry_error(item.index, "only reads (GET Type/id) are supported in bundles"))?;
            let row = service::read(conn, access, &t, &id)?;
            Ok(EntryResult {
                status: "200 OK".into(),
                location: None,
                etag: Some(format!("W/\"{}\"", row.version_id)),
                last_modified: Some(row.last_updated),
                body: Some(row.content),
            })
        }
    }
}

fn json_patch_from_binary(v: &Value) -> Option<Value> {
    if v.get("resourceType")?.as_str()? != "Binary" {
        return None;
    }
    let data = v.get("data")?.as_str()?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Processes a transaction atomically. Any failing entry fails the whole Bundle (nothing is stored).
pub fn transaction(
    conn: &mut AnyConnection,
    access: &AccessContext,
    base: &str,
    bundle: &Value,
    limits: &PatchLimits,
) -> Result<Vec<EntryResult>, ApiError> {
    let items = parse_items(bundle)?;
    write_tx(conn, |conn| {
        // 1. Decide the id of every created or updated resource, so references can be rewritten.
        let mut map: HashMap<String, String> = HashMap::new();
        let mut post_ids: HashMap<usize, String> = HashMap::new();
        for item in &items {
            let (t, id, query) = split_url(&item.url);
            let target = match (item.method, id, query) {
                (Method::Post, _, _) => {
                    let mut target_id = super::resource::new_id();
                    if let Some(q) = &item.if_none_exist {
                        let found = service::conditional_matches(conn, access, &t, q)?;
                        if found.len() == 1 {
                            if let Some(f) = found.first() {
                                target_id = f.res_id.clone();
                            }
                        }
                    }
                    post_ids.insert(item.index, target_id.clone());
                    Some(format!("{t}/{target_id}"))
                }
                (Method::Put, Some(id), _) => Some(format!("{t}/{id}")),
                (Method::Put, None, Some(q)) => {
                    let found = service::conditional_matches(conn, access, &t, &q)?;
                    found.first().filter(|_| found.len() == 1).map(|f| format!("{t}/{}", f.res_id))
                }
                _ => None,
            };
            if let (Some(full), Some(target)) = (&item.full_url, target) {
                if map.insert(full.clone(), target).is_some() {
                    return Err(entry_error(item.index, format!("fullUrl {full} appears twice")));
                }
            }
        }
        // 2. Rewrite references everywhere.
        let mut items = items;
        for item in items.iter_mut() {
            if let Some(r) = item.resource.as_mut() {
                let index = item.index;
                let mut resolve = |reference: &str| -> Result<String, ApiError> {
                    let (t, _, q) = split_url(reference);
                    let found = service::conditional_matches(conn, access, &t, q.as_deref().unwrap_or(""))?;
                    match found.as_slice() {
                        [one] => Ok(format!("{t}/{}", one.res_id)),
                        _ => Err(ApiError::PreconditionFailed(format!(
                            "Bundle.entry[{index}]: conditional reference {reference} matches {} resources; it must match exactly one",
                            found.len()
                        ))),
                    }
                };
                rewrite_refs(r, &map, &mut resolve)?;
            }
        }
        // 3. Run in the order the spec requires, keeping results in entry order.
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (items[i].method, i));
        let mut results: Vec<Option<EntryResult>> = (0..items.len()).map(|_| None).collect();
        let mut slots: Vec<Option<Item>> = items.into_iter().map(Some).collect();
        for i in order {
            let Some(item) = slots.get_mut(i).and_then(Option::take) else { continue };
            let index = item.index;
            let post_id = post_ids.get(&index).cloned();
            let r =
                run_item(conn, access, base, item, post_id.as_deref(), limits).map_err(|e| prefix_error(index, e))?;
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
        Ok(results.into_iter().flatten().collect())
    })
}

fn prefix_error(index: usize, e: ApiError) -> ApiError {
    use crate::error::Issue;
    match e {
        ApiError::Invalid(issues) => ApiError::Invalid(
            issues
                .into_iter()
                .map(|i| Issue { diagnostics: format!("Bundle.entry[{index}]: {}", i.diagnostics), ..i })
                .collect(),
        ),
        ApiError::BadRequest(m) if !m.starts_with("Bundle.entry[") => {
            ApiError::BadRequest(format!("Bundle.entry[{index}]: {m}"))
        }
        ApiError::NotFound(m) => ApiError::NotFound(format!("Bundle.entry[{index}]: {m}")),
        ApiError::Forbidden(m) => ApiError::Forbidden(format!("Bundle.entry[{index}]: {m}")),
        ApiError::PreconditionFailed(m) if !m.starts_with("Bundle.entry[") => {
            ApiError::PreconditionFailed(format!("Bundle.entry[{index}]: {m}"))
        }
        ApiError::Conflict(m) => ApiError::Conflict(format!("Bundle.entry[{index}]: {m}")),
        ApiError::Gone(m) => ApiError::Gone(format!("Bundle.entry[{index}]: {m}")),
        other => other,
    }
}

/// Processes a batch: each entry on its own transaction; failures are reported per entry.
pub fn batch(
    conn: &mut AnyConnection,
    access: &AccessContext,
    base: &str,
    bundle: &Value,
    limits: &PatchLimits,
) -> Result<Vec<EntryResult>, ApiError> {
    let items = parse_items(bundle)?;
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let r = write_tx(conn, |c| run_item(c, access, base, item, None, limits));
        results.push(match r {
            Ok(r) => r,
            Err(e) => {
                use actix_web::ResponseError;
                let status = e.status_code();
                EntryResult {
                    status: format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
                    location: None,
                    etag: None,
                    last_modified: None,
                    body: Some(e.outcome().to_string().into_bytes()),
                }
            }
        });
    }
    Ok(results)
}

/// The `response` member of a result entry, as JSON text.
pub fn response_json(r: &EntryResult) -> String {
    let mut v = json!({"status": r.status});
    if let Some(l) = &r.location {
        v["location"] = json!(l);
    }
    if let Some(e) = &r.etag {
        v["etag"] = json!(e);
    }
    if let Some(m) = &r.last_modified {
        v["lastModified"] = json!(m);
    }
    format!("\"response\":{v}")
}
