//! `POST /fhir` with a batch or transaction Bundle.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{db, prefer_return, Return};
use crate::app::AppState;
use crate::audit::capture as audit;
use crate::error::ApiError;
use crate::fhir::format::{parse_body, Output};
use crate::fhir::paging::{bundle, Entry};
use crate::fhir::transaction;
use crate::smart::access::AccessContext;

pub async fn process(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: AccessContext,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(&state, payload).await?;
    let out = Output::negotiate(&req)?;
    let value = parse_body(&req, body).await?;
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ApiError::invalid("resourceType", "POST to the base URL needs a batch or transaction Bundle"));
    }
    let max = state.settings.limits.max_bundle_entries;
    let n = value.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
    if n > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "the Bundle has {n} entries, over this server's limit of {max} (--max-bundle-entries); split it"
        )));
    }
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    let base = state.settings.fhir_base();
    let base2 = base.clone();
    let limits = crate::fhir::patch::PatchLimits::of(&state.settings);
    let requests = audit::requests_of(&value);
    if kind == "transaction" {
        audit::interaction(&req, crate::audit::Interaction::Transaction);
    }
    let results = match kind.as_str() {
        "transaction" => db(&state, move |c| transaction::transaction(c, &access, &base2, &value, &limits)).await?,
        "batch" => db(&state, move |c| transaction::batch(c, &access, &base2, &value, &limits)).await?,
        other => {
            return Err(ApiError::invalid(
                "Bundle.type",
                format!("Bundle.type {other:?} cannot be processed; use batch or transaction"),
            ))
        }
    };
    audit::entries(&req, requests, results.iter().map(|r| (r.status.as_str(), r.location.as_deref())));
    let minimal = prefer_return(&req) == Return::Minimal;
    let entries: Vec<Entry<'_>> = results
        .iter()
        .map(|r| Entry {
            full_url: r.location.as_ref().map(|l| l.split("/_history/").next().unwrap_or(l).to_string()),
            resource: if minimal { None } else { r.body.as_deref().filter(|b| !b.is_empty()) },
            extra: transaction::response_json(r),
        })
        .collect();
    let body = bundle(&format!("{kind}-response"), None, &[], &entries);
    out.respond(HttpResponse::Ok(), &body)
}
