//! Child navigation over FHIR JSON (arrays flattened, choice elements found by their type suffix) and
//! the FHIR type of an item (from the choice suffix, a well-known element name, or the JSON shape), for
//! `as`/`is`/`ofType`.

use serde_json::Value;

use super::Item;

/// Datatypes that may appear as the `[x]` suffix of a choice element.
#[rustfmt::skip]
const CHOICE_TYPES: &[&str] = &[
    "Address", "Age", "Annotation", "Attachment", "Base64Binary", "Boolean", "Canonical", "Code",
    "CodeableConcept", "Coding", "ContactDetail", "ContactPoint", "Contributor", "Count", "DataRequirement",
    "Date", "DateTime", "Decimal", "Distance", "Dosage", "Duration", "Expression", "HumanName", "Id",
    "Identifier", "Instant", "Integer", "Markdown", "Meta", "Money", "Oid", "ParameterDefinition", "Period",
    "PositiveInt", "Quantity", "Range", "Ratio", "Reference", "RelatedArtifact", "SampledData", "Signature",
    "String", "Time", "Timing", "TriggerDefinition", "UnsignedInt", "Uri", "Url", "UsageContext", "Uuid",
];

/// Types known from the element name alone, where the JSON shape would be ambiguous.
fn hint_for_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "telecom" => "ContactPoint",
        "identifier" | "masterIdentifier" | "accessionIdentifier" => "Identifier",
        "address" => "Address",
        "period" | "planningHorizon" => "Period",
        "coding" | "tag" | "security" | "class" => "Coding",
        _ => return None,
    })
}

/// `Quantity` specialisations: `x as Quantity` also matches these.
const QUANTITY_KINDS: &[&str] = &["Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"];

/// Is `item` of FHIR type `ty` (from its type hint, else from its JSON shape)?
pub(super) fn type_matches(item: &Item<'_>, ty: &str) -> bool {
    if let Some(h) = item.type_hint {
        if h.eq_ignore_ascii_case(ty) {
            return true;
        }
        if ty.eq_ignore_ascii_case("Quantity") && QUANTITY_KINDS.iter().any(|k| k.eq_ignore_ascii_case(h)) {
            return true;
        }
        return false;
    }
    // No hint: infer from the JSON shape.
    let t = ty.to_ascii_lowercase();
    match item.value {
        Value::Bool(_) => t == "boolean",
        Value::Number(_) => matches!(t.as_str(), "decimal" | "integer" | "unsignedint" | "positiveint"),
        Value::String(_) => matches!(
            t.as_str(),
            "string"
                | "code"
                | "uri"
                | "url"
                | "canonical"
                | "id"
                | "oid"
                | "uuid"
                | "markdown"
                | "date"
                | "datetime"
                | "instant"
                | "time"
                | "base64binary"
        ),
        Value::Object(m) => {
            if let Some(Value::String(rt)) = m.get("resourceType") {
                return rt == ty || ty == "Resource" || ty == "DomainResource";
            }
            match t.as_str() {
                "codeableconcept" => m.contains_key("coding") || (m.contains_key("text") && m.len() == 1),
                "coding" => m.contains_key("code") && !m.contains_key("value"),
                "quantity" | "age" | "duration" | "distance" | "count" | "simplequantity" => {
                    matches!(m.get("value"), Some(Value::Number(_)))
                }
                "reference" => m.contains_key("reference") || m.contains_key("identifier") || m.contains_key("display"),
                "period" => m.contains_key("start") || m.contains_key("end"),
                "range" => m.contains_key("low") || m.contains_key("high"),
                "identifier" => matches!(m.get("value"), Some(Value::String(_))),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Appends `v` (each non-null element of an array) to `out` with the type `hint`.
fn push_child<'a>(out: &mut Vec<Item<'a>>, v: &'a Value, hint: Option<&'a str>) {
    match v {
        Value::Array(a) => {
            for x in a {
                if !x.is_null() {
                    out.push(Item { value: x, type_hint: hint });
                }
            }
        }
        Value::Null => {}
        x => out.push(Item { value: x, type_hint: hint }),
    }
}

/// The child elements `name` of the focus items (see [`super::Expr::Member`]).
pub(super) fn member<'a>(focus: &[Item<'a>], name: &str) -> Vec<Item<'a>> {
    let mut out = Vec::new();
    for item in focus {
        let Value::Object(m) = item.value else { continue };
        // A leading type name selects the resource itself.
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            if let Some(Value::String(rt)) = m.get("resourceType") {
                if rt == name || name == "Resource" || name == "DomainResource" {
                    out.push(*item);
                }
            }
            continue;
        }
        if let Some(v) = m.get(name) {
            push_child(&mut out, v, hint_for_name(name));
            continue;
        }
        // Choice element: `value` → `valueQuantity`, `valueString`, …
        for (k, v) in m.iter() {
            if let Some(suffix) = k.strip_prefix(name) {
                if CHOICE_TYPES.contains(&suffix) {
                    push_child(&mut out, v, Some(suffix));
                }
            }
        }
    }
    out
}
