//! Bedside's narrow, non-generic wrapper around fhirbolt's FHIR R4 model.
//!
//! fhirbolt's generic (de)serialisers are monomorphised in the calling crate and cost minutes of
//! optimisation. Keeping every use behind these few plain functions, in this small crate built at
//! `opt-level = 1`, means editing the server never recompiles them — and fhirbolt stays replaceable.

mod depth;
mod narrative;
mod xhtml;

pub use xhtml::check_div as check_narrative_div;

pub use depth::{
    check_json as check_json_depth, check_value as check_value_depth, value_depth, MAX_DEPTH, MAX_XML_DEPTH,
};

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

/// Checks that `json` is a structurally valid FHIR R4 resource (strict mode). Documents nested
/// deeper than [`MAX_DEPTH`] are refused before the recursive reader runs.
pub fn validate_json(json: &[u8]) -> Result<(), ModelError> {
    depth::check_json(json, MAX_DEPTH)?;
    parse(json).map(|_| ())
}

/// Converts a FHIR R4 resource from JSON to XML (`application/fhir+xml`). Narrative XHTML is kept
/// byte for byte.
pub fn json_to_xml(json: &[u8]) -> Result<Vec<u8>, ModelError> {
    depth::check_json(json, MAX_DEPTH)?;
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
/// XHTML is kept byte for byte. Documents nested deeper than [`MAX_XML_DEPTH`] elements, and DTDs, are
/// refused before the recursive reader runs; the whole conversion is linear in the input's size.
pub fn xml_to_json(xml: &[u8]) -> Result<Vec<u8>, ModelError> {
    let text = strip_prolog(xml)?;
    depth::check_xml(text.as_bytes(), MAX_XML_DEPTH)?;
    let (lifted, divs) = narrative::lift_from_xml(text);
    let json = guarded(|| {
        let resource = fhirbolt::xml::from_slice::<Resource>(lifted.as_bytes(), strict())
            .map_err(|e| ModelError(e.to_string()))?;
        fhirbolt::json::to_vec(&resource, Some(SerializationConfig::default())).map_err(|e| ModelError(e.to_string()))
    })?;
    if divs.is_empty() {
        return Ok(json);
    }
    narrative::restore_in_json(&json, &divs).map_err(|e| ModelError(e.to_string()))
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

    /// A Patient whose extensions nest `levels` deep, as JSON and as XML.
    fn nested_extensions(levels: usize) -> (String, String) {
        let mut json = r#"{"url":"http://x","valueString":"leaf"}"#.to_string();
        let mut xml = r#"<extension url="http://x"><valueString value="leaf"/></extension>"#.to_string();
        for _ in 1..levels {
            json = format!(r#"{{"url":"http://x","extension":[{json}]}}"#);
            xml = format!(r#"<extension url="http://x">{xml}</extension>"#);
        }
        (
            format!(r#"{{"resourceType":"Patient","extension":[{json}]}}"#),
            format!(r#"<Patient xmlns="http://hl7.org/fhir">{xml}</Patient>"#),
        )
    }

    /// The deepest documents the limits let through are read and written by fhirbolt's recursive
    /// code on a thread with half the smallest stack the server runs parsers on (2 MiB), and the
    /// too-deep ones are refused before they reach it. A stack overflow would abort this test binary.
    #[test]
    fn deepest_accepted_documents_fit_in_a_small_stack() {
        let worker = std::thread::Builder::new().stack_size(1 << 20).spawn(|| {
            // JSON: two levels per extension, plus the Patient object.
            let (json, _) = nested_extensions((MAX_DEPTH - 1) / 2);
            depth::check_json(json.as_bytes(), MAX_DEPTH).unwrap();
            validate_json(json.as_bytes()).unwrap();
            let xml = json_to_xml(json.as_bytes()).unwrap();
            // XML: one level per extension, plus the Patient element.
            let (_, xml_doc) = nested_extensions(MAX_XML_DEPTH - 2);
            let back = xml_to_json(xml_doc.as_bytes()).unwrap();
            depth::check_json(&back, MAX_DEPTH).unwrap();
            let _ = xml_to_json(&xml);
            let (json, xml) = nested_extensions(MAX_DEPTH);
            assert!(validate_json(json.as_bytes()).unwrap_err().0.contains("deeper than 100"));
            assert!(json_to_xml(json.as_bytes()).is_err());
            assert!(xml_to_json(xml.as_bytes()).unwrap_err().0.contains("deeper than 50"));
        });
        worker.unwrap().join().unwrap();
    }

    #[test]
    fn a_thousand_levels_of_xml_are_refused_not_a_crash() {
        let xml = format!(
            r#"<Patient xmlns="http://hl7.org/fhir">{}{}</Patient>"#,
            "<extension url=\"x\">".repeat(1000),
            "</extension>".repeat(1000)
        );
        let err = xml_to_json(xml.as_bytes()).unwrap_err();
        assert!(err.0.contains("nesting depth limit 50"), "{err}");
    }
}
