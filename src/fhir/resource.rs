//! Preparing a resource for storage: structural validation (fhirbolt), value validation
//! ([`super::validate`]), id rules, and the server-owned `meta` elements.

use serde_json::{Map, Value};

use crate::error::{ApiError, Issue};

/// Is `id` a valid FHIR id (`[A-Za-z0-9\-\.]{1,64}`)?
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Checks a URL id, 400 if malformed.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{id:?} is not a valid resource id (1-64 characters: letters, digits, '-' and '.')"
        )))
    }
}

/// Checks a URL type, 404 if it is not served.
pub fn check_type(res_type: &str) -> Result<(), ApiError> {
    if super::types::is_supported(res_type) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("resource type {res_type:?} is not supported by this server")))
    }
}

/// How the body's `id` must relate to the URL.
pub enum IdRule<'a> {
    /// create: the server assigns the id; a body id is ignored (R4 3.1.0.7.1).
    ServerAssigned,
    /// update: the body id must be present and equal the URL id.
    MustEqual(&'a str),
}

/// Validates `value` as a resource of type `res_type` and returns it with the id removed (it is set
/// again by [`finalize`]). Nothing here touches the database.
pub fn validate(mut value: Value, res_type: &str, rule: IdRule<'_>) -> Result<Value, ApiError> {
    // However the value was built (a body, a patch, a Bundle entry), nothing recursive reads it
    // until its depth is known to be within the limit.
    bedside_model::check_value_depth(&value, bedside_model::MAX_DEPTH)
        .map_err(|e| ApiError::invalid(res_type, e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| ApiError::invalid("(body)", "the body must be a JSON object holding one FHIR resource"))?;
    let body_type = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("resourceType", "the resource has no resourceType"))?;
    if body_type != res_type {
        return Err(ApiError::invalid(
            "resourceType",
            format!("the body is a {body_type} but the URL is for {res_type}"),
        ));
    }
    match rule {
        IdRule::ServerAssigned => {
            obj.remove("id");
        }
        IdRule::MustEqual(url_id) => match obj.get("id").and_then(Value::as_str) {
            Some(id) if id == url_id => {}
            Some(id) => {
                return Err(ApiError::invalid(
                    format!("{res_type}.id"),
                    format!("the resource id {id:?} does not match the id in the URL {url_id:?}"),
                ))
            }
            None => {
                return Err(ApiError::invalid(
                    format!("{res_type}.id"),
                    "an update must carry the resource id that is in the URL",
                ))
            }
        },
    }
    // meta.versionId and meta.lastUpdated belong to the server.
    if let Some(Value::Object(meta)) = obj.get_mut("meta") {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            obj.remove("meta");
        }
    }
    check(&value, res_type)?;
    if let Some(o) = value.as_object_mut() {
        o.remove("id");
    }
    Ok(value)
}

/// Value-level validation first (it catches empty elements that fhirbolt mishandles), then structural
/// validation by fhirbolt in strict mode.
fn check(value: &Value, res_type: &str) -> Result<(), ApiError> {
    let issues = super::validate::validate_values(value);
    if !issues.is_empty() {
        return Err(ApiError::Invalid(
            issues
                .into_iter()
                .map(|i| Issue {
                    code: if i.diagnostics.contains("unknown element") { "structure" } else { "value" },
                    diagnostics: i.diagnostics,
                    expression: Some(i.expression),
                })
                .collect(),
        ));
    }
    let bytes = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Err(e) = bedside_model::validate_json(&bytes) {
        return Err(ApiError::Invalid(vec![Issue {
            code: "structure",
            diagnostics: format!("{res_type} is not a valid FHIR R4 resource: {e}"),
            expression: Some(res_type.to_string()),
        }]));
    }
    Ok(())
}

/// Sets `id`, `meta.versionId` and `meta.lastUpdated` (keeping the client's other meta elements) and
/// returns the bytes to store and serve.
pub fn finalize(mut value: Value, id: &str, version_id: i64, last_updated: &str) -> Result<(Value, Vec<u8>), ApiError> {
    let obj = value.as_object_mut().ok_or_else(|| ApiError::Internal("resource is not an object".into()))?;
    obj.shift_insert(1.min(obj.len()), "id".to_string(), Value::String(id.to_string()));
    let mut meta = match obj.remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.shift_insert(0, "versionId".into(), Value::String(version_id.to_string()));
    meta.shift_insert(1, "lastUpdated".into(), Value::String(last_updated.to_string()));
    obj.shift_insert(2.min(obj.len()), "meta".to_string(), Value::Object(meta));
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((value, bytes))
}

/// A new server-assigned id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
