//! `GET /fhir/Patient/{id}/$everything`: the patient's whole compartment (paged like a search) plus
//! the shared resources it points to (Practitioner, Organization, Location, Medication, …) — what an
//! app needs to show a patient their own care in one walk. Supports `_count`, `_since`, `_type`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::db;
use crate::app::AppState;
use crate::clock;
use crate::error::ApiError;
use crate::fhir::compartment::is_compartment_type;
use crate::fhir::format::Output;
use crate::fhir::search::engine;
use crate::fhir::search::spec::{Include, SearchSpec};
use crate::fhir::service;
use crate::fhir::types::SUPPORTED_TYPES;
use crate::smart::access::AccessContext;
use crate::smart::scopes::Interaction;
use crate::store::search::{Condition, RangeOp};

pub async fn patient_everything(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let out = Output::negotiate(&req)?;
    let pid = path.into_inner();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let wanted: Option<Vec<String>> =
        params.iter().find(|(k, _)| k == "_type").map(|(_, v)| v.split(',').map(|s| s.trim().to_string()).collect());
    let types: Vec<String> = SUPPORTED_TYPES
        .iter()
        .filter(|t| is_compartment_type(t))
        .filter(|t| crate::fhir::guard::reach(&access, t, Interaction::Search).is_ok_and(|r| !r.is_empty()))
        .filter(|t| wanted.as_ref().map(|w| w.iter().any(|x| x == *t)).unwrap_or(true))
        .map(|t| t.to_string())
        .collect();
    if types.is_empty() {
        return Err(ApiError::Forbidden(
            "the access token allows reading none of this patient's resource types".into(),
        ));
    }
    let mut passthrough = Vec::new();
    let mut since = None;
    for (k, v) in &params {
        match k.as_str() {
            "_count" | "_cursor" | "_format" | "_pretty" | "_type" => passthrough.push((k.clone(), v.clone())),
            "_since" => {
                since = Some(
                    clock::parse_to_utc(v)
                        .ok_or_else(|| ApiError::BadRequest(format!("_since={v} is not a FHIR instant")))?,
                );
                passthrough.push((k.clone(), v.clone()));
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "{other} is not a parameter of $everything (use _count, _since, _type)"
                )))
            }
        }
    }
    let result_params: Vec<(String, String)> =
        passthrough.iter().filter(|(k, _)| k != "_since" && k != "_type").cloned().collect();
    let mut spec = SearchSpec::parse(types.clone(), &result_params, &access, &state.settings, false)?;
    spec.query.all_of.push(vec![Condition::Compartment(pid.clone())]);
    if let Some(s) = since {
        spec.query.all_of.push(vec![Condition::Date {
            param: "_lastUpdated".into(),
            op: RangeOp::Ge,
            low: s.millis,
            high: s.millis,
        }]);
    }
    spec.includes = types
        .iter()
        .map(|t| Include { source_type: t.clone(), param: None, target_type: None, iterate: false })
        .collect();
    spec.used = passthrough.iter().filter(|(k, _)| k != "_cursor").cloned().collect();
    let fp = engine::fingerprint(&[format!("everything/{pid}")], &spec.used);
    let after = match &spec.cursor {
        Some(c) => Some(engine::decode_cursor(&state.cursor_secret, c, &fp)?),
        None => None,
    };
    let spec2 = spec.clone();
    let pid2 = pid.clone();
    let mut page = db(&state, move |c| {
        // The patient itself must be visible to this token (404 otherwise, like a read).
        service::read(c, &access, "Patient", &pid2)?;
        engine::run(c, &access, &spec2, after)
    })
    .await?;
    page.included.retain(|r| !is_compartment_type(&r.res_type));
    crate::audit::capture::touched(
        &req,
        page.matches.iter().chain(&page.included).map(|r| (r.res_type.as_str(), r.res_id.as_str())),
    );
    let base = state.settings.fhir_base();
    let link = |extra: Option<(&str, String)>| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(spec.used.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some((k, v)) = extra {
            s.append_pair(k, &v);
        }
        format!("{base}/Patient/{pid}/$everything?{}", s.finish())
    };
    let next = page.next.as_ref().map(|a| link(Some(("_cursor", engine::encode_cursor(&state.cursor_secret, a, &fp)))));
    let body = engine::to_bundle(&spec, &page, &base, link(None), next)?;
    out.respond(HttpResponse::Ok(), &body)
}
