//! Bedside's narrow, non-generic wrapper around fhirbolt's FHIR R4 model.
//!
//! fhirbolt's generic (de)serialisers are monomorphised in the calling crate and cost minutes of
//! optimisation. Keeping every use behind these few plain functions, in this small crate built at
//! `opt-level = 1`, means editing the server never recompiles them — and fhirbolt stays replaceable.

mod narrative;

use fhirbolt::model::r4::Resource;
use fhirbolt::serde::{DeserializationConfig, DeserializationMode, SerializationConfig};

/// A structural problem found by the FHIR model (unknown element, wrong JSON type, missing required
/// element, two `value[x]`, malformed JSON or XML). The message is fhirbolt's, which names the element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

fn strict() -> Option<DeserializationConfig> {
    Some(DeserializationConfig { mode: DeserializationMode::Strict })
}

/// fhirbolt panics on a few malformed inputs (e.g. some empty elements); a panic must never reach a
/// request, so every call is fenced and a panic becomes an ordinary error.
fn guarded<T>(f: impl FnOnce() -> Result<T, ModelError>) -> Result<T, ModelError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ModelError("the content is not a valid FHIR R4 resource (the model rejected its structure)".into()))
    })
}

fn parse(json: &[u8]) -> Result<Resource, ModelError> {
    guarded(|| fhirbolt::json::from_slice::<Resource>(json, strict()).map_err(|e| ModelError(e.to_string())))
}

/// Checks that `json` is a structurally valid FHIR R4 resource (strict mode).
pub fn validate_json(json: &[u8]) -> Result<(), ModelError> {
    parse(json).map(|_| ())
}

/// Converts a FHIR R4 resource from JSON to XML (`application/fhir+xml`). Narrative XHTML is kept
/// byte for byte.
pub fn json_to_xml(json: &[u8]) -> Result<Vec<u8>, ModelError> {
    let mut value: serde_json::Value = serde_json::from_slice(json).map_err(|e| ModelError(e.to_string()))?;
    let mut divs = Vec::new();
    narrative::lift_from_json(&mut value, &mut divs);
    let lifted = serde_json::to_vec(&value).map_err(|e| ModelError(e.to_string()))?;
    let resource = parse(&lifted)?;
    let xml = guarded(|| {
        fhirbolt::xml::to_vec(&resource, Some(SerializationConfig::default())).map_err(|e| ModelError(e.to_string()))
    })?;
    if divs.is_empty() {
        return Ok(xml);
    }
    let text = String::from_utf8(xml).map_err(|e| ModelError(e.to_string()))?;
    Ok(narrative::restore_in_xml(&text, &divs).into_bytes())
}

/// Accepts an optional XML declaration that names UTF-8 in any letter case (and a BOM), and returns
/// the document without them; any other encoding is refused.
fn strip_prolog(xml: &[u8]) -> Result<&str, ModelError> {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = std::str::from_utf8(xml).map_err(|_| ModelError("the XML is not UTF-8".into()))?;
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("<?xml") {
        let end = rest.find("?>").ok_or_else(|| ModelError("the XML declaration is not closed".into()))?;
        let decl = &rest[..end];
        if let Some(pos) = decl.find("encoding") {
            let value: String = decl[pos + 8..]
                .trim_start_matches([' ', '='])
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| *c != '"' && *c != '\'')
                .collect();
            if !value.eq_ignore_ascii_case("utf-8") {
                return Err(ModelError(format!("XML encoding {value:?} is not supported; send UTF-8")));
            }
        }
        return Ok(&rest[end + 2..]);
    }
    Ok(text)
}

/// Converts a FHIR R4 resource from XML to JSON, validating its structure (strict mode). Narrative
/// XHTML is kept byte for byte.
pub fn xml_to_json(xml: &[u8]) -> Result<Vec<u8>, ModelError> {
    let text = strip_prolog(xml)?;
    let (lifted, divs) = narrative::lift_from_xml(text);
    let json = guarded(|| {
        let resource = fhirbolt::xml::from_slice::<Resource>(lifted.as_bytes(), strict())
            .map_err(|e| ModelError(e.to_string()))?;
        fhirbolt::json::to_vec(&resource, Some(SerializationConfig::default())).map_err(|e| ModelError(e.to_string()))
    })?;
    if divs.is_empty() {
        return Ok(json);
    }
    let text = String::from_utf8(json).map_err(|e| ModelError(e.to_string()))?;
    Ok(narrative::restore_in_json(&text, &divs).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_xml_round_trip_keeps_decimals() {
        let json =
            br#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50}}"#;
        validate_json(json).unwrap();
        let xml = json_to_xml(json).unwrap();
        let text = String::from_utf8(xml.clone()).unwrap();
        assert!(text.contains("1.50"), "{text}");
        let back = xml_to_json(&xml).unwrap();
        assert!(String::from_utf8(back).unwrap().contains("1.50"));
    }

    #[test]
    fn malformed_input_never_panics() {
        for bad in [
            &br#"{"resourceType":"Patient","name":[{}]}"#[..],
            br#"{"resourceType":"Patient","name":[]}"#,
            b"{}",
            b"[]",
            b"null",
        ] {
            let _ = validate_json(bad);
        }
        let _ = xml_to_json(b"<Patient xmlns=\"http://hl7.org/fhir\"><name/></Patient>");
    }

    #[test]
    fn unknown_element_is_rejected() {
        let err = validate_json(br#"{"resourceType":"Patient","bogus":1}"#).unwrap_err();
        assert!(err.0.contains("bogus"), "{err}");
    }
}
