//! Runs a [`SearchSpec`]: one page of matches (keyset-paged), the total, `_include`/`_revinclude`
//! (filtered by the token like everything else), `_summary`/`_elements`, and the searchset Bundle.

use std::collections::HashSet;

use serde_json::{json, Value};
use sha2::Digest;

use super::spec::{Include, SearchSpec, Summary};
use crate::error::ApiError;
use crate::fhir::guard;
use crate::fhir::paging::{bundle, make_cursor, open_cursor, Entry};
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::resources::{self as rows, StoredResource};
use crate::store::search::{self as store_search, After, Condition, Query};
use crate::store::AnyConnection;

const MAX_ITERATE: usize = 3;

pub struct Page {
    pub matches: Vec<StoredResource>,
    pub included: Vec<StoredResource>,
    pub total: Option<i64>,
    pub next: Option<After>,
    /// `_include`/`_revinclude` found more than the page may carry (`--max-included`).
    pub includes_capped: bool,
}

/// A fingerprint of the criteria, bound into the cursor so it cannot be replayed on another search.
pub fn fingerprint(res_types: &[String], used: &[(String, String)]) -> String {
    let mut h = sha2::Sha256::new();
    for t in res_types {
        h.update(t.as_bytes());
        h.update([2u8]);
    }
    for (k, v) in used.iter().filter(|(k, _)| k != "_type") {
        h.update([0u8]);
        h.update(k.as_bytes());
        h.update([1u8]);
        h.update(v.as_bytes());
    }
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        h.finalize().get(..12).unwrap_or_default(),
    )
}

/// Decodes a cursor for this search (400 if altered or from another search).
pub fn decode_cursor(secret: &[u8], cursor: &str, fp: &str) -> Result<After, ApiError> {
    let payload = open_cursor(secret, cursor)?;
    let v: Value = serde_json::from_str(&payload).map_err(|_| ApiError::BadRequest("invalid paging cursor".into()))?;
    if v["fp"].as_str() != Some(fp) {
        return Err(ApiError::BadRequest("the paging cursor belongs to a different search".into()));
    }
    serde_json::from_value(v["after"].clone()).map_err(|_| ApiError::BadRequest("invalid paging cursor".into()))
}

pub fn encode_cursor(secret: &[u8], after: &After, fp: &str) -> String {
    make_cursor(secret, &json!({"after": after, "fp": fp}).to_string())
}

/// Runs one page.
pub fn run(
    conn: &mut AnyConnection,
    access: &AccessContext,
    spec: &SearchSpec,
    after: Option<After>,
) -> Result<Page, ApiError> {
    let mut q = spec.query.clone();
    q.after = after;
    let count = if spec.summary == Some(Summary::Count) { 0 } else { spec.count };
    q.limit = count as i64 + 1;
    let hits = if count == 0 { Vec::new() } else { store_search::find(conn, &q)? };
    let more = hits.len() > count;
    let page: Vec<_> = hits.into_iter().take(count).collect();
    let next = if more { page.last().map(|h| After { keys: h.keys.clone(), seq: h.seq }) } else { None };
    let seqs: Vec<i64> = page.iter().map(|h| h.seq).collect();
    let matches = rows::read_many(conn, &seqs)?;
    // Every page carries the total (clients such as fhirclient and fhirpy read it on each page) unless
    // `_total=none`; `_count=0` asks for the total alone, like `_summary=count`.
    let total = if spec.want_total == Some(false) && count != 0 {
        None
    } else if count != 0 && q.after.is_none() && next.is_none() {
        // The first page holds every match: the total is known without counting.
        Some(page.len() as i64)
    } else {
        Some(store_search::count(conn, &spec.query)?)
    };
    let (included, includes_capped) = includes(conn, access, spec, &matches)?;
    Ok(Page { matches, included, total, next, includes_capped })
}

/// One batch of a Bulk Data export: the current resources `spec` matches (its query carries the
/// token's reach, added when it was parsed; callers only narrow it), in keyset order after `after`,
/// at most `limit`, and where the next batch starts (None: this was the last).
pub fn export_batch(
    conn: &mut AnyConnection,
    spec: &SearchSpec,
    after: Option<After>,
    limit: usize,
) -> Result<(Vec<StoredResource>, Option<After>), ApiError> {
    let mut q = spec.query.clone();
    q.after = after;
    q.limit = limit as i64;
    let hits = store_search::find(conn, &q)?;
    let next = if hits.len() == limit { hits.last().map(|h| After { keys: h.keys.clone(), seq: h.seq }) } else { None };
    let seqs: Vec<i64> = hits.iter().map(|h| h.seq).collect();
    Ok((rows::read_many(conn, &seqs)?, next))
}

/// Current resources of `res_type` that match `conditions` and that the token may read (its reach
/// is part of the query), at most `limit`. Types the token cannot read give nothing.
fn find_readable(
    conn: &mut AnyConnection,
    access: &AccessContext,
    res_type: &str,
    conditions: Vec<Condition>,
    limit: usize,
) -> Result<Vec<StoredResource>, ApiError> {
    if limit == 0 || guard::reach(access, res_type, Interaction::Read)?.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query {
        res_types: vec![res_type.to_string()],
        all_of: vec![conditions],
        limit: limit as i64,
        ..Default::default()
    };
    guard::restrict(&mut q, access, Interaction::Read)?;
    let seqs: Vec<i64> = store_search::find(conn, &q)?.into_iter().map(|h| h.seq).collect();
    Ok(rows::read_many(conn, &seqs)?)
}

/// Ids or targets per query, so no statement grows past the databases' limits on bound values.
const INCLUDE_CHUNK: usize = 200;

fn includes(
    conn: &mut AnyConnection,
    access: &AccessContext,
    spec: &SearchSpec,
    matches: &[StoredResource],
) -> Result<(Vec<StoredResource>, bool), ApiError> {
    let max = spec.max_included;
    let mut capped = false;
    let mut seen: HashSet<(String, String)> = matches.iter().map(|r| (r.res_type.clone(), r.res_id.clone())).collect();
    let mut out: Vec<StoredResource> = Vec::new();
    let mut frontier: Vec<StoredResource> = matches.to_vec();
    // Adds what a guarded query found, as long as there is room (one more than the room tells
    // whether the page had to leave some out).
    let mut take = |found: Vec<StoredResource>,
                    room: usize,
                    added: &mut Vec<StoredResource>,
                    seen: &mut HashSet<(String, String)>| {
        if found.len() > room {
            capped = true;
        }
        for r in found.into_iter().take(room) {
            if seen.insert((r.res_type.clone(), r.res_id.clone())) {
                added.push(r);
            }
        }
    };
    for round in 0..=MAX_ITERATE {
        let mut added: Vec<StoredResource> = Vec::new();
        let active = |i: &&Include| round == 0 || i.iterate;
        for inc in spec.includes.iter().filter(active) {
            let sources: Vec<i64> = frontier.iter().filter(|r| r.res_type == inc.source_type).map(|r| r.seq).collect();
            let params = inc.param.as_ref().map(|p| vec![p.clone()]);
            let mut by_type: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for chunk in sources.chunks(INCLUDE_CHUNK) {
                for (t, id) in
                    store_search::references_from(conn, chunk, params.as_deref(), inc.target_type.as_deref())?
                {
                    if !seen.contains(&(t.clone(), id.clone())) {
                        by_type.entry(t).or_default().push(id);
                    }
                }
            }
            for (t, mut ids) in by_type {
                ids.sort();
                ids.dedup();
                for chunk in ids.chunks(INCLUDE_CHUNK) {
                    let room = max.saturating_sub(out.len() + added.len());
                    let ids = chunk.iter().cloned().map(Condition::Id).collect();
                    let found = find_readable(conn, access, &t, ids, room + 1)?;
                    take(found, room, &mut added, &mut seen);
                }
            }
        }
        for inc in spec.revincludes.iter().filter(active) {
            let targets: Vec<(String, String)> =
                frontier.iter().map(|r| (r.res_type.clone(), r.res_id.clone())).collect();
            for chunk in targets.chunks(INCLUDE_CHUNK) {
                let room = max.saturating_sub(out.len() + added.len());
                let cond = Condition::RefersTo { param: inc.param.clone(), targets: chunk.to_vec() };
                let found = find_readable(conn, access, &inc.source_type, vec![cond], room + 1)?;
                take(found, room, &mut added, &mut seen);
            }
        }
        if added.is_empty() {
            break;
        }
        out.extend(added.iter().cloned());
        frontier = added;
    }
    Ok((out, capped))
}

/// Summary elements of the patient-access types (R4 "Σ" flags); other types keep the elements most
/// often marked Σ across R4.
fn summary_elements(res_type: &str) -> &'static [&'static str] {
    match res_type {
        "Patient" => &[
            "identifier",
            "active",
            "name",
            "telecom",
            "gender",
            "birthDate",
            "deceasedBoolean",
            "deceasedDateTime",
            "address",
            "managingOrganization",
            "link",
        ],
        "Observation" => &[
            "identifier",
            "basedOn",
            "partOf",
            "status",
            "category",
            "code",
            "subject",
            "focus",
            "encounter",
            "effectiveDateTime",
            "effectivePeriod",
            "effectiveTiming",
            "effectiveInstant",
            "issued",
            "performer",
            "valueQuantity",
            "valueCodeableConcept",
            "valueString",
            "valueBoolean",
            "valueInteger",
            "valueRange",
            "valueRatio",
            "valueSampledData",
            "valueTime",
            "valueDateTime",
            "valuePeriod",
            "dataAbsentReason",
            "hasMember",
            "derivedFrom",
            "component",
        ],
        "Appointment" => &[
            "identifier",
            "status",
            "serviceCategory",
            "serviceType",
            "specialty",
            "appointmentType",
            "start",
            "end",
            "slot",
            "participant",
        ],
        "CarePlan" => &[
            "identifier",
            "instantiatesCanonical",
            "instantiatesUri",
            "basedOn",
            "replaces",
            "partOf",
            "status",
            "intent",
            "category",
            "title",
            "subject",
            "encounter",
            "period",
            "author",
        ],
        _ => &[
            "identifier",
            "status",
            "category",
            "code",
            "type",
            "name",
            "subject",
            "patient",
            "encounter",
            "period",
            "date",
            "active",
            "intent",
            "effectiveDateTime",
            "authoredOn",
            "recordedDate",
            "onsetDateTime",
            "occurrenceDateTime",
            "performedDateTime",
            "performedPeriod",
            "clinicalStatus",
            "verificationStatus",
            "lifecycleStatus",
            "telecom",
            "address",
            "gender",
            "birthDate",
        ],
    }
}

fn subsetted(v: &mut Value) {
    let tag = json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"});
    if let Some(o) = v.as_object_mut() {
        let meta = o.entry("meta").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            let tags = m.entry("tag").or_insert_with(|| json!([]));
            if let Some(a) = tags.as_array_mut() {
                a.push(tag);
            }
        }
    }
}

/// Applies `_summary`/`_elements` to one matched resource. Mandatory elements are always kept, so the
/// result is still a valid resource (R4 search.html#summary and #elements).
fn shape(spec: &SearchSpec, r: &StoredResource) -> Result<Option<Vec<u8>>, ApiError> {
    let t = r.res_type.as_str();
    let keep_only = |keep: &dyn Fn(&str) -> bool| -> Result<Vec<u8>, ApiError> {
        let mut v: Value = serde_json::from_slice(&r.content).map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| {
                matches!(k.as_str(), "resourceType" | "id" | "meta")
                    || crate::fhir::required::is_mandatory(t, k)
                    || keep(k)
            });
        }
        subsetted(&mut v);
        serde_json::to_vec(&v).map_err(|e| ApiError::Internal(e.to_string()))
    };
    if let Some(elements) = &spec.elements {
        return Ok(Some(keep_only(&|k| elements.iter().any(|e| e == k))?));
    }
    match spec.summary {
        None | Some(Summary::Count) => Ok(None),
        Some(Summary::Data) => Ok(Some(keep_only(&|k| k != "text")?)),
        Some(Summary::Text) => Ok(Some(keep_only(&|k| k == "text")?)),
        Some(Summary::True) => {
            let list = summary_elements(t);
            Ok(Some(keep_only(&|k| k == "implicitRules" || list.contains(&k))?))
        }
    }
}

/// The searchset Bundle for a page. `self_url`/`next_url` are absolute.
pub fn to_bundle(
    spec: &SearchSpec,
    page: &Page,
    fhir_base: &str,
    self_url: String,
    next_url: Option<String>,
) -> Result<Vec<u8>, ApiError> {
    let mut links = vec![("self", self_url)];
    if let Some(n) = next_url {
        links.push(("next", n));
    }
    let mut shaped: Vec<Option<Vec<u8>>> = Vec::with_capacity(page.matches.len());
    for r in &page.matches {
        shaped.push(shape(spec, r)?);
    }
    let mut issues: Vec<Value> = spec
        .ignored
        .iter()
        .map(|m| json!({"severity": "warning", "code": "not-supported", "diagnostics": format!("ignored: {m}")}))
        .collect();
    if page.includes_capped {
        issues.push(json!({"severity": "warning", "code": "too-costly", "diagnostics": format!(
            "_include/_revinclude matched more resources than one page may carry; the first {} are included \
             (this server's limit, --max-included); ask for a smaller _count to get them all",
            spec.max_included
        )}));
    }
    let outcome = (!issues.is_empty())
        .then(|| json!({"resourceType": "OperationOutcome", "issue": issues}).to_string().into_bytes());
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for (r, s) in page.matches.iter().zip(shaped.iter()) {
        entries.push(Entry {
            full_url: Some(format!("{fhir_base}/{}/{}", r.res_type, r.res_id)),
            resource: Some(s.as_deref().unwrap_or(&r.content)),
            extra: r#""search":{"mode":"match"}"#.to_string(),
        });
    }
    for r in &page.included {
        entries.push(Entry {
            full_url: Some(format!("{fhir_base}/{}/{}", r.res_type, r.res_id)),
            resource: Some(&r.content),
            extra: r#""search":{"mode":"include"}"#.to_string(),
        });
    }
    if let Some(o) = &outcome {
        entries.push(Entry { full_url: None, resource: Some(o), extra: r#""search":{"mode":"outcome"}"#.to_string() });
    }
    Ok(bundle("searchset", page.total, &links, &entries))
}
