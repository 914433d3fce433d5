//! Nesting-depth guards that run before any recursive parser (fhirbolt's XML and JSON readers,
//! serde_json, and every recursive walk over a parsed resource). A stack overflow aborts the process
//! and cannot be caught, so the depth of a document is measured first by a flat, linear byte scan
//! that uses no recursion and no memory beyond a counter.

use crate::ModelError;

/// The deepest nesting accepted in a resource: JSON objects and arrays, or XML elements (narrative
/// XHTML included). Real resources stay far below (a Bundle holding a Questionnaire with ten levels
/// of nested items is about 45 JSON levels). fhirbolt's recursive readers are known to run well
/// within a 2 MiB thread stack at this depth (see the tests).
pub const MAX_DEPTH: usize = 100;

/// The deepest element nesting accepted in XML: half of [`MAX_DEPTH`], because one XML element
/// becomes up to two JSON levels (a repeating element is an array of objects), so an accepted XML
/// document always converts to JSON within [`MAX_DEPTH`].
pub const MAX_XML_DEPTH: usize = MAX_DEPTH / 2;

fn too_deep(what: &str, limit: usize) -> ModelError {
    ModelError(format!(
        "the {what} nests deeper than {limit} levels, the limit of this server (nesting depth limit {limit})"
    ))
}

/// Refuses JSON whose objects and arrays nest deeper than `limit`. Strings (and escapes inside them)
/// are skipped; malformed JSON is left for the JSON parser to report.
pub fn check_json(json: &[u8], limit: usize) -> Result<(), ModelError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Err(too_deep("JSON", limit));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The depth of a parsed JSON value, measured without recursion (objects and arrays count one level
/// each, like [`check_json`]).
pub fn value_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&serde_json::Value, usize)> = vec![(value, 1)];
    while let Some((v, d)) = stack.pop() {
        match v {
            serde_json::Value::Object(o) => {
                deepest = deepest.max(d);
                stack.extend(o.values().map(|c| (c, d + 1)));
            }
            serde_json::Value::Array(a) => {
                deepest = deepest.max(d);
                stack.extend(a.iter().map(|c| (c, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Refuses a parsed value nested deeper than `limit` (for documents built after parsing, e.g. by a
/// JSON Patch).
pub fn check_value(value: &serde_json::Value, limit: usize) -> Result<(), ModelError> {
    if value_depth(value) > limit {
        return Err(too_deep("resource", limit));
    }
    Ok(())
}

fn find(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    s.get(from..)?.windows(pat.len()).position(|w| w == pat).map(|p| p + from)
}

/// Refuses XML whose elements nest deeper than `limit`, and any DTD (`<!DOCTYPE`: FHIR XML has none,
/// and entity expansion is a classic attack). Comments, CDATA sections and processing instructions
/// are skipped; quoted attribute values may hold `>`. One forward pass: every byte is looked at a
/// bounded number of times.
pub fn check_xml(xml: &[u8], limit: usize) -> Result<(), ModelError> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(off) = xml.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'<')) {
        let start = i + off;
        let rest = xml.get(start..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            i = find(xml, start + 4, b"-->").map_or(xml.len(), |p| p + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            i = find(xml, start + 9, b"]]>").map_or(xml.len(), |p| p + 3);
        } else if rest.starts_with(b"<?") {
            i = find(xml, start + 2, b"?>").map_or(xml.len(), |p| p + 2);
        } else if rest.starts_with(b"<!") {
            return Err(ModelError("the XML holds a DTD or declaration (<!…>), which FHIR XML does not allow".into()));
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = find(xml, start, b">").map_or(xml.len(), |p| p + 1);
        } else {
            // An opening tag: find its end, honouring quoted attribute values.
            let mut quote = None;
            let mut end = None;
            for (k, &c) in rest.iter().enumerate().skip(1) {
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == b'"' || c == b'\'' => quote = Some(c),
                    None if c == b'>' => {
                        end = Some(k);
                        break;
                    }
                    None => {}
                }
            }
            let Some(k) = end else { break };
            if rest.get(k.saturating_sub(1)) != Some(&b'/') {
                depth += 1;
                if depth > limit {
                    return Err(too_deep("XML", limit));
                }
            }
            i = start + k + 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_depth_is_counted_outside_strings() {
        check_json(br#"{"a":[{"b":"[[[[[[[[{{{{{{\"[[["}]}"#, 3).unwrap();
        assert!(check_json(br#"{"a":[{"b":[1]}]}"#, 3).is_err());
        let deep = "[".repeat(101) + &"]".repeat(101);
        let err = check_json(deep.as_bytes(), MAX_DEPTH).unwrap_err();
        assert!(err.0.contains("100"), "{err}");
        check_json(("[".repeat(100) + &"]".repeat(100)).as_bytes(), MAX_DEPTH).unwrap();
    }

    #[test]
    fn value_depth_matches_the_byte_scan() {
        let v: serde_json::Value = serde_json::from_str(r#"{"a":[{"b":[1,{"c":{}}]}],"d":1}"#).unwrap();
        assert_eq!(value_depth(&v), 6);
        assert!(check_value(&v, 5).is_err());
        check_value(&v, 6).unwrap();
        assert_eq!(value_depth(&serde_json::json!(1)), 0);
    }

    #[test]
    fn xml_depth_skips_comments_cdata_and_quoted_brackets() {
        let ok = r#"<a x="<b><c>" y='>'><!-- <d><e><f> --><b/><b><![CDATA[<x><y><z>]]></b></a>"#;
        check_xml(ok.as_bytes(), 2).unwrap();
        assert!(check_xml(b"<a><b><c/></b></a>", 1).is_err());
        check_xml(b"<a><b><c/></b></a>", 2).unwrap();
        let deep = "<a>".repeat(1000) + &"</a>".repeat(1000);
        let err = check_xml(deep.as_bytes(), MAX_XML_DEPTH).unwrap_err();
        assert!(err.0.contains("deeper than 50"), "{err}");
        assert!(check_xml(b"<!DOCTYPE x [<!ENTITY a \"b\">]><a/>", MAX_DEPTH).is_err());
    }
}
