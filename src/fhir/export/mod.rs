//! Bulk Data Access 2.0 `$export` (https://hl7.org/fhir/uv/bulkdata/): system, Patient and Group
//! level. A kick-off checks the parameters and stores a job row carrying the access of the token
//! that started it; a background worker on any node runs the job through the same access checks as
//! a search ([`worker`]) and writes NDJSON files to the [`files::FileStore`]; any node serves the
//! status and the files, to the client that started the job only.

pub mod files;
pub mod worker;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::compartment::is_compartment_type;
use super::guard;
use super::search::spec::SearchSpec;
use super::types::{is_supported, SUPPORTED_TYPES};
use crate::config::Settings;
use crate::error::ApiError;
use crate::smart::access::AccessContext;
use crate::smart::scopes::{Interaction, Scopes};
use crate::store::exports::{self as jobs, FileRow, JobRow};
use crate::store::AnyConnection;

/// Output formats a client may ask for; all mean NDJSON of FHIR JSON resources.
pub const OUTPUT_FORMATS: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// Which resources an export covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "level", content = "group")]
pub enum Level {
    /// Everything the token may search.
    System,
    /// Every patient's compartment the token may see.
    Patient,
    /// The compartments of the Group's member Patients, and the Group.
    Group(String),
}

/// The checked parameters of one export (stored with the job).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    pub level: Level,
    /// The types to export, in order.
    pub types: Vec<String>,
    /// Only resources changed at or after this instant (`_since`).
    pub since: Option<String>,
    /// Per type, the `_typeFilter` queries (OR-ed) as `(type, query string)`.
    pub type_filters: Vec<(String, String)>,
}

/// What the token that started a job may see, kept with the job so the worker acts with exactly
/// that access (and checks its grant is still active before each batch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAccess {
    pub client_id: String,
    pub subject: String,
    pub fhir_user: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub scope: String,
    pub grant: Option<String>,
}

impl StoredAccess {
    pub fn of(a: &AccessContext) -> StoredAccess {
        let scope: Vec<&str> = a
            .scopes
            .resources
            .iter()
            .map(|r| r.text.as_str())
            .chain(a.scopes.other.iter().map(String::as_str))
            .collect();
        StoredAccess {
            client_id: a.client_id.clone(),
            subject: a.subject.clone(),
            fhir_user: a.fhir_user.clone(),
            patient: a.patient.clone(),
            encounter: a.encounter.clone(),
            scope: scope.join(" "),
            grant: a.grant.clone(),
        }
    }

    pub fn context(&self) -> Result<AccessContext, String> {
        Ok(AccessContext {
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            fhir_user: self.fhir_user.clone(),
            patient: self.patient.clone(),
            encounter: self.encounter.clone(),
            scopes: Scopes::parse(&self.scope)?,
            grant: self.grant.clone(),
        })
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// The kick-off parameters as name/value pairs (query string, or a Parameters resource's
/// `valueString`/`valueInstant`/… for POST).
pub fn parameters_from_body(body: &Value) -> Result<Vec<(String, String)>, ApiError> {
    if body["resourceType"] != "Parameters" {
        return Err(bad("a POST $export kick-off takes a Parameters resource"));
    }
    let mut out = Vec::new();
    for p in body["parameter"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = p["name"].as_str().ok_or_else(|| bad("every parameter needs a name"))?;
        let value = ["valueString", "valueInstant", "valueCode", "valueUri", "valueBoolean", "valueDateTime"]
            .iter()
            .find_map(|k| match &p[*k] {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            });
        match (name, value) {
            ("patient", _) => {
                return Err(bad("the patient parameter is not supported: export a Group of those patients \
                     (Group/[id]/$export) or use Patient/$export"))
            }
            (n, None) => return Err(bad(format!("parameter {n} needs a string, code, uri or instant value"))),
            (n, Some(v)) => out.push((n.to_string(), v)),
        }
    }
    Ok(out)
}

/// Checks the kick-off parameters against the token's access (403 for a type it may not export,
/// 400 for anything malformed or unsupported) and returns what the job will do.
pub fn check_params(
    access: &AccessContext,
    settings: &Settings,
    level: Level,
    pairs: &[(String, String)],
) -> Result<Params, ApiError> {
    let mut wanted: Option<Vec<String>> = None;
    let mut since = None;
    let mut type_filters = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "_outputFormat" => {
                if !OUTPUT_FORMATS.contains(&v.as_str()) {
                    return Err(bad(format!(
                        "_outputFormat={v} is not supported; use application/fhir+ndjson (or application/ndjson, ndjson)"
                    )));
                }
            }
            "_type" => {
                let list = wanted.get_or_insert_with(Vec::new);
                for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !is_supported(t) {
                        return Err(bad(format!("_type: {t} is not a resource type this server serves")));
                    }
                    if !list.iter().any(|x| x == t) {
                        list.push(t.to_string());
                    }
                }
            }
            "_since" => {
                let i = crate::clock::parse_to_utc(v)
                    .ok_or_else(|| bad(format!("_since={v} is not a FHIR instant (e.g. 2024-01-01T00:00:00Z)")))?;
                since = Some(i.text);
            }
            "_typeFilter" => {
                for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    let (t, q) = f.split_once('?').ok_or_else(|| {
                        bad(format!(
                            "_typeFilter {f:?} must be a type and a search query, as in Observation?status=final"
                        ))
                    })?;
                    if !is_supported(t) {
                        return Err(bad(format!("_typeFilter: {t} is not a resource type this server serves")));
                    }
                    type_filters.push((t.to_string(), q.to_string()));
                }
            }
            "includeAssociatedData" => {
                return Err(bad("includeAssociatedData is not supported by this server"));
            }
            "_elements" => return Err(bad("_elements is not supported in $export by this server")),
            "patient" => {
                return Err(bad(
                    "the patient parameter is not supported: export a Group of those patients or use Patient/$export",
                ))
            }
            "_format" | "_pretty" => {}
            other => return Err(bad(format!("{other} is not a parameter of $export"))),
        }
    }
    let level_fits = |t: &str| match &level {
        Level::System => true,
        Level::Patient => is_compartment_type(t),
        Level::Group(_) => is_compartment_type(t) || t == "Group",
    };
    let reachable = |t: &str| guard::reach(access, t, Interaction::Search).map(|r| !r.is_empty());
    let types: Vec<String> = match wanted {
        Some(list) => {
            for t in &list {
                if !level_fits(t) {
                    return Err(bad(format!(
                        "_type: {t} holds no patient's data, so a Patient or Group level export has none"
                    )));
                }
                if !reachable(t)? {
                    return Err(crate::smart::access::forbidden(t, Interaction::Search));
                }
            }
            list
        }
        None => {
            let mut list = Vec::new();
            for t in SUPPORTED_TYPES.iter().filter(|t| level_fits(t)) {
                if reachable(t)? {
                    list.push(t.to_string());
                }
            }
            list
        }
    };
    if types.is_empty() {
        return Err(ApiError::Forbidden(
            "the access token's scopes allow exporting none of these resource types".into(),
        ));
    }
    for (t, q) in &type_filters {
        if !types.contains(t) {
            return Err(bad(format!("_typeFilter names {t}, which this export does not include")));
        }
        filter_spec(access, settings, t, q)?;
    }
    Ok(Params { level, types, since, type_filters })
}

/// One `_typeFilter` query run through the normal search parser (with the token's reach): only
/// search criteria, no result parameters.
pub fn filter_spec(access: &AccessContext, settings: &Settings, t: &str, q: &str) -> Result<SearchSpec, ApiError> {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if let Some((k, _)) = params.iter().find(|(k, _)| {
        k.starts_with('_')
            && !matches!(
                k.split(':').next().unwrap_or(k),
                "_id" | "_lastUpdated" | "_tag" | "_profile" | "_security" | "_has"
            )
    }) {
        return Err(bad(format!("_typeFilter {t}?{q}: {k} is not a search criterion")));
    }
    SearchSpec::parse(vec![t.to_string()], &params, access, settings, false)
}

/// Starts a job: stores it for the workers and returns its id.
pub fn kick_off(
    conn: &mut AnyConnection,
    access: &AccessContext,
    params: &Params,
    request: &str,
    retention_ms: i64,
) -> Result<String, ApiError> {
    if let Level::Group(id) = &params.level {
        // The Group must be visible to the token, like a read (404 otherwise).
        super::service::read(conn, access, "Group", id)?;
    }
    let now = crate::clock::now();
    let job_id = uuid::Uuid::new_v4().simple().to_string();
    let row = JobRow {
        job_id: job_id.clone(),
        client_id: access.client_id.clone(),
        access: json_text(&StoredAccess::of(access))?,
        request: request.to_string(),
        params: json_text(params)?,
        status: jobs::QUEUED.into(),
        transaction_time: now.text,
        created_at: now.millis,
        lease_owner: None,
        lease_until: 0,
        progress: "queued".into(),
        error: None,
        expires_at: now.millis.saturating_add(retention_ms),
    };
    jobs::insert_job(conn, &row)?;
    Ok(job_id)
}

fn json_text<T: Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Where a job stands, for the status URL.
pub enum Status {
    /// Still running: the progress text.
    InProgress(String),
    /// Finished: the manifest.
    Done(Value),
    /// Stopped: why.
    Failed(String),
}

/// The job, if `access`'s client started it (404 for anyone else, as for an unknown job).
fn own_job(conn: &mut AnyConnection, access: &AccessContext, job_id: &str) -> Result<JobRow, ApiError> {
    match jobs::find_job(conn, job_id)? {
        Some(j) if j.client_id == access.client_id => Ok(j),
        _ => Err(ApiError::NotFound(format!("there is no export job {job_id}"))),
    }
}

/// The status of a job started by `access`'s client. `file_url` makes a download URL of a file name.
pub fn status(
    conn: &mut AnyConnection,
    access: &AccessContext,
    job_id: &str,
    file_url: &dyn Fn(&str) -> String,
) -> Result<Status, ApiError> {
    let job = own_job(conn, access, job_id)?;
    match job.status.as_str() {
        jobs::DONE => {
            let files = jobs::job_files(conn, job_id)?;
            let entry = |f: &FileRow| json!({"type": f.res_type, "url": file_url(&f.name), "count": f.count});
            Ok(Status::Done(json!({
                "transactionTime": job.transaction_time,
                "request": job.request,
                "requiresAccessToken": true,
                "output": files.iter().filter(|f| !f.is_error).map(entry).collect::<Vec<_>>(),
                "error": files.iter().filter(|f| f.is_error).map(entry).collect::<Vec<_>>(),
            })))
        }
        jobs::FAILED => Ok(Status::Failed(job.error.unwrap_or_else(|| "the export failed".into()))),
        _ => Ok(Status::InProgress(job.progress)),
    }
}

/// Cancels (or, once finished, removes) a job started by `access`'s client; returns the names of
/// its files, which the caller removes from the file store.
pub fn cancel(conn: &mut AnyConnection, access: &AccessContext, job_id: &str) -> Result<Vec<String>, ApiError> {
    own_job(conn, access, job_id)?;
    jobs::delete_job(conn, job_id)?.ok_or_else(|| ApiError::NotFound(format!("there is no export job {job_id}")))
}

/// Checks that `access`'s client started the job and that it has a finished file of that name.
pub fn file(conn: &mut AnyConnection, access: &AccessContext, job_id: &str, name: &str) -> Result<(), ApiError> {
    let job = own_job(conn, access, job_id)?;
    if job.status == jobs::DONE && jobs::job_files(conn, job_id)?.iter().any(|f| f.name == name) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("export job {job_id} has no file {name}")))
    }
}
