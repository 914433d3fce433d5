//! JSON Patch (RFC 6902) with bounds: a patch is a program, and without limits a few dozen `copy`
//! operations double a document each time (gigabytes from a kilobyte body) or nest it deep enough
//! to overflow the stack of the code that reads it next. Every operation is checked before it runs:
//! the number of operations, the depth of what it puts where, and the total size it adds.

use json_patch::PatchOperation;
use serde_json::Value;

use crate::config::Settings;
use crate::error::ApiError;

/// What one patch may do.
#[derive(Debug, Clone, Copy)]
pub struct PatchLimits {
    /// Most operations (`--max-patch-operations`).
    pub max_operations: usize,
    /// Most bytes (about) the operations may add or move, all together (`--max-body-bytes`).
    pub max_growth: usize,
    /// Deepest nesting of the patched document ([`bedside_model::MAX_DEPTH`]).
    pub max_depth: usize,
}

impl PatchLimits {
    pub fn of(settings: &Settings) -> PatchLimits {
        PatchLimits {
            max_operations: settings.limits.max_patch_operations,
            max_growth: settings.max_body_bytes,
            max_depth: bedside_model::MAX_DEPTH,
        }
    }
}

/// Parses a JSON Patch body (depth-checked like every JSON body) into its operations.
pub fn parse(body: &[u8]) -> Result<Vec<PatchOperation>, ApiError> {
    let value = super::format::parse_json(body)
        .map_err(|e| ApiError::BadRequest(format!("the patch is not valid JSON: {e}")))?;
    from_value(value)
}

/// The operations of a JSON Patch document.
pub fn from_value(value: Value) -> Result<Vec<PatchOperation>, ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a JSON Patch document: {e}")))?;
    Ok(ops.0)
}

/// About how many bytes a value takes serialised (strings and one per scalar and bracket), measured
/// without recursion.
fn weight(value: &Value) -> usize {
    let mut total = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        total = total.saturating_add(match v {
            Value::String(s) => s.len() + 2,
            Value::Object(o) => {
                stack.extend(o.values());
                2 + o.keys().map(|k| k.len() + 4).sum::<usize>()
            }
            Value::Array(a) => {
                stack.extend(a.iter());
                2 + a.len()
            }
            _ => 8,
        });
    }
    total
}

/// How many levels a JSON Pointer goes down (`/a/0/b` is 3; the root is 0).
fn pointer_depth(pointer: &str) -> usize {
    pointer.matches('/').count()
}

/// Applies `ops` to `doc` one at a time, refusing (before it runs) any operation that would take the
/// patch over its limits. 400 for a patch over a limit, 422 for one that does not apply.
pub fn apply(doc: &mut Value, ops: &[PatchOperation], limits: &PatchLimits) -> Result<(), ApiError> {
    if ops.len() > limits.max_operations {
        return Err(ApiError::BadRequest(format!(
            "the patch has {} operations, over this server's limit of {} (--max-patch-operations)",
            ops.len(),
            limits.max_operations
        )));
    }
    let mut budget = limits.max_growth;
    for (i, op) in ops.iter().enumerate() {
        // What the operation puts where: the value's depth below the target, and its size.
        let placed: Option<(&str, usize, usize)> = match op {
            PatchOperation::Add(o) => Some((o.path.as_str(), bedside_model::value_depth(&o.value), weight(&o.value))),
            PatchOperation::Replace(o) => {
                Some((o.path.as_str(), bedside_model::value_depth(&o.value), weight(&o.value)))
            }
            PatchOperation::Copy(o) => {
                let from = doc.pointer(o.from.as_str());
                Some((o.path.as_str(), from.map_or(0, bedside_model::value_depth), from.map_or(0, weight)))
            }
            PatchOperation::Move(o) => {
                let from = doc.pointer(o.from.as_str());
                Some((o.path.as_str(), from.map_or(0, bedside_model::value_depth), from.map_or(0, weight)))
            }
            PatchOperation::Remove(_) | PatchOperation::Test(_) => None,
        };
        if let Some((path, depth, size)) = placed {
            let total = pointer_depth(path) + depth;
            if total > limits.max_depth {
                return Err(ApiError::BadRequest(format!(
                    "patch operation {i} would nest the resource {total} levels deep, over this server's limit \
                     of {} (nesting depth limit)",
                    limits.max_depth
                )));
            }
            budget = budget.checked_sub(size).ok_or_else(|| {
                ApiError::PayloadTooLarge(format!(
                    "the patch adds or moves more than this server's limit of {} bytes (--max-body-bytes)",
                    limits.max_growth
                ))
            })?;
        }
        json_patch::patch(doc, std::slice::from_ref(op))
            .map_err(|e| ApiError::Unprocessable(format!("the patch cannot be applied: operation {i}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> PatchLimits {
        PatchLimits { max_operations: 100, max_growth: 10_000, max_depth: 20 }
    }

    fn ops(v: Value) -> Vec<PatchOperation> {
        from_value(v).unwrap()
    }

    #[test]
    fn doubling_copies_stop_at_the_growth_limit() {
        let mut doc = json!({"a": {"b": "x".repeat(100)}});
        let mut list = Vec::new();
        for i in 0..40 {
            list.push(json!({"op": "copy", "from": "/a", "path": format!("/c{i}")}));
            list.push(json!({"op": "copy", "from": "/a", "path": "/a/b2"}));
        }
        let err = apply(&mut doc, &ops(json!(list)), &limits()).unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge(ref m) if m.contains("--max-body-bytes")), "{err:?}");
    }

    #[test]
    fn nesting_copies_stop_at_the_depth_limit() {
        let mut doc = json!({"a": {"b": 1}});
        let list: Vec<Value> = (0..30).map(|_| json!({"op": "copy", "from": "/a", "path": "/a/a"})).collect();
        let roomy = PatchLimits { max_growth: usize::MAX, ..limits() };
        let err = apply(&mut doc, &ops(json!(list)), &roomy).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(ref m) if m.contains("nesting depth limit")), "{err:?}");
        assert!(bedside_model::value_depth(&doc) <= 20);
    }

    #[test]
    fn too_many_operations_are_refused_and_ordinary_patches_apply() {
        let mut doc = json!({"a": [1, 2]});
        let many: Vec<Value> = (0..101).map(|_| json!({"op": "test", "path": "/a/0", "value": 1})).collect();
        assert!(apply(&mut doc, &ops(json!(many)), &limits()).is_err());
        let fine =
            json!([{"op": "add", "path": "/a/-", "value": {"x": [3]}}, {"op": "move", "from": "/a/0", "path": "/b"}]);
        apply(&mut doc, &ops(fine), &limits()).unwrap();
        assert_eq!(doc, json!({"a": [2, {"x": [3]}], "b": 1}));
    }
}
