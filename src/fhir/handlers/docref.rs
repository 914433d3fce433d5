//! `GET|POST /fhir/DocumentReference/$docref` — US Core's "Fetch DocumentReference" operation
//! (<http://hl7.org/fhir/us/core/OperationDefinition/docref>, SHALL for a US Core 6.1 server).
//!
//! Bedside stores documents, it does not generate them: the operation returns the patient's stored
//! DocumentReferences as a searchset Bundle, run as an ordinary DocumentReference search (same access
//! guard, paging and access log):
//! - `patient` (required): the patient's id (`123` or `Patient/123`);
//! - `start` / `end`: documents whose `context.period` overlaps that range (either may be left out);
//! - `type`: the document type (a token: `system|code` or `code`);
//! - `profile`: only documents claiming that profile;
//! - `on-demand`: accepted; `true` cannot make Bedside generate a document, so it returns what is stored;
//! - with no `start`, `end` or `type`: the most recent Continuity of Care Document (LOINC 34133-9), as
//!   the operation requires ("the most current CCD"), or an empty Bundle if there is none.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::app::AppState;
use crate::error::ApiError;
use crate::smart::access::AccessContext;

/// LOINC "Summary of episode note" — the C-CDA Continuity of Care Document.
const CCD_TYPE: &str = "http://loinc.org|34133-9";

pub async fn docref_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
) -> Result<HttpResponse, ApiError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let search = to_search(&params)?;
    super::search::run(req, state, access, vec!["DocumentReference".into()], "/DocumentReference".into(), search).await
}

/// POST with a `Parameters` resource (or a form, as for any FHIR operation invoked by POST).
pub async fn docref_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let ctype = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let params = if ctype.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    } else {
        let value = crate::fhir::format::parse_body(&req, body).await?;
        from_parameters(&value)?
    };
    let search = to_search(&params)?;
    super::search::run(req, state, access, vec!["DocumentReference".into()], "/DocumentReference".into(), search).await
}

/// The operation's inputs from a `Parameters` resource, as (name, value) text pairs.
fn from_parameters(value: &Value) -> Result<Vec<(String, String)>, ApiError> {
    if value.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(ApiError::BadRequest("POST $docref takes a Parameters resource".into()));
    }
    let mut out = Vec::new();
    for p in value.get("parameter").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        let text = if let Some(s) =
            ["valueId", "valueDate", "valueDateTime", "valueCanonical", "valueUri", "valueString"]
                .iter()
                .find_map(|k| p.get(*k).and_then(Value::as_str))
        {
            s.to_string()
        } else if let Some(b) = p.get("valueBoolean").and_then(Value::as_bool) {
            b.to_string()
        } else if let Some(c) = p.get("valueCodeableConcept").and_then(|c| c.get("coding")).and_then(|c| c.get(0)) {
            let code = c.get("code").and_then(Value::as_str).unwrap_or_default();
            match c.get("system").and_then(Value::as_str) {
                Some(system) => format!("{system}|{code}"),
                None => code.to_string(),
            }
        } else if let Some(r) = p.get("valueReference").and_then(|r| r.get("reference")).and_then(Value::as_str) {
            r.to_string()
        } else {
            return Err(ApiError::BadRequest(format!("$docref parameter {name:?} has no value this operation reads")));
        };
        out.push((name.to_string(), text));
    }
    Ok(out)
}

/// The DocumentReference search that answers the operation.
fn to_search(params: &[(String, String)]) -> Result<Vec<(String, String)>, ApiError> {
    let mut search = Vec::new();
    let mut patient = None;
    let mut narrowed = false;
    for (k, v) in params {
        match k.as_str() {
            "patient" => {
                let id = v.strip_prefix("Patient/").unwrap_or(v);
                if id.is_empty() || patient.is_some() {
                    return Err(ApiError::BadRequest("$docref takes exactly one patient".into()));
                }
                patient = Some(id.to_string());
            }
            "start" => {
                search.push(("period".to_string(), format!("ge{v}")));
                narrowed = true;
            }
            "end" => {
                search.push(("period".to_string(), format!("le{v}")));
                narrowed = true;
            }
            "type" => {
                search.push(("type".to_string(), v.clone()));
                narrowed = true;
            }
            "profile" => search.push(("_profile".to_string(), v.clone())),
            "on-demand" => {
                if v != "true" && v != "false" {
                    return Err(ApiError::BadRequest(format!("on-demand={v} is not a boolean")));
                }
            }
            "_count" | "_cursor" | "_format" | "_pretty" => search.push((k.clone(), v.clone())),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "{other} is not a parameter of $docref (use patient, start, end, type, on-demand, profile)"
                )))
            }
        }
    }
    let Some(patient) = patient else {
        return Err(ApiError::BadRequest("$docref needs the patient parameter".into()));
    };
    search.push(("patient".to_string(), format!("Patient/{patient}")));
    if !narrowed {
        search.push(("type".to_string(), CCD_TYPE.to_string()));
        search.push(("_sort".to_string(), "-date".to_string()));
        search.retain(|(k, _)| k != "_count" && k != "_cursor");
        search.push(("_count".to_string(), "1".to_string()));
    }
    Ok(search)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn inputs_become_a_search() {
        let s =
            to_search(&p(&[("patient", "Patient/85"), ("start", "2020-01-01"), ("type", "http://loinc.org|11506-3")]))
                .unwrap();
        assert_eq!(
            s,
            p(&[("period", "ge2020-01-01"), ("type", "http://loinc.org|11506-3"), ("patient", "Patient/85")])
        );
        let ccd = to_search(&p(&[("patient", "85")])).unwrap();
        assert!(ccd.contains(&("type".into(), CCD_TYPE.into())) && ccd.contains(&("_count".into(), "1".into())));
        assert!(to_search(&p(&[("start", "2020")])).is_err());
        assert!(to_search(&p(&[("patient", "1"), ("patient", "2")])).is_err());
        assert!(to_search(&p(&[("patient", "1"), ("on-demand", "maybe")])).is_err());
        assert!(to_search(&p(&[("patient", "1"), ("_has:x", "y")])).is_err());
    }
}
