//! Narrative XHTML (`Narrative.div`) must survive XML ⇄ JSON byte for byte. fhirbolt's XML reader and
//! writer re-flow the XHTML (dropping spaces between inline elements and indenting it), so the divs are
//! swapped for placeholders around the conversion and put back verbatim afterwards.

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

fn placeholder(n: usize) -> String {
    format!("<div xmlns=\"{XHTML_NS}\">BEDSIDE-NARRATIVE-{n}</div>")
}

fn is_name_end(b: Option<&u8>) -> bool {
    matches!(b, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'))
}

/// End (exclusive) of the tag starting at `start` (`<…>`), honouring quoted attribute values.
fn tag_end(s: &[u8], start: usize) -> Option<usize> {
    let mut quote = None;
    let mut i = start;
    while i < s.len() {
        let c = s[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return Some(i + 1),
            None => {}
        }
        i += 1;
    }
    None
}

fn find_from(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    s.get(from..)?.windows(pat.len()).position(|w| w == pat).map(|p| p + from)
}

/// Byte ranges of the outermost XHTML `<div>` elements of an XML document.
fn xhtml_divs(xml: &str) -> Vec<(usize, usize)> {
    let s = xml.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(start) = find_from(s, i, b"<div") {
        i = start + 4;
        if !is_name_end(s.get(start + 4)) {
            continue;
        }
        let Some(open_end) = tag_end(s, start) else { break };
        let tag = &xml[start..open_end];
        if !(tag.contains(&format!("xmlns=\"{XHTML_NS}\"")) || tag.contains(&format!("xmlns='{XHTML_NS}'"))) {
            continue;
        }
        if tag.ends_with("/>") {
            out.push((start, open_end));
            i = open_end;
            continue;
        }
        // Find the matching </div>, counting nested divs and skipping comments and CDATA.
        let mut depth = 1usize;
        let mut j = open_end;
        let mut end = None;
        while j < s.len() {
            if s[j..].starts_with(b"<!--") {
                j = find_from(s, j, b"-->").map(|p| p + 3).unwrap_or(s.len());
            } else if s[j..].starts_with(b"<![CDATA[") {
                j = find_from(s, j, b"]]>").map(|p| p + 3).unwrap_or(s.len());
            } else if s[j..].starts_with(b"</div") && is_name_end(s.get(j + 5)) {
                let e = tag_end(s, j).unwrap_or(s.len());
                depth -= 1;
                j = e;
                if depth == 0 {
                    end = Some(e);
                    break;
                }
            } else if s[j..].starts_with(b"<div") && is_name_end(s.get(j + 4)) {
                let e = tag_end(s, j).unwrap_or(s.len());
                if !xml[j..e].ends_with("/>") {
                    depth += 1;
                }
                j = e;
            } else {
                j += 1;
            }
        }
        match end {
            Some(e) => {
                out.push((start, e));
                i = e;
            }
            None => break,
        }
    }
    out
}

/// Replaces the XHTML divs of an XML document by placeholders; returns the new text and the originals.
pub fn lift_from_xml(xml: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(xml.len());
    let mut originals = Vec::new();
    let mut last = 0;
    for (s, e) in xhtml_divs(xml) {
        out.push_str(&xml[last..s]);
        out.push_str(&placeholder(originals.len()));
        originals.push(xml[s..e].to_string());
        last = e;
    }
    out.push_str(&xml[last..]);
    (out, originals)
}

/// Puts the original divs back into the JSON produced from the placeholder document.
pub fn restore_in_json(json: &str, originals: &[String]) -> String {
    let mut out = json.to_string();
    for (n, original) in originals.iter().enumerate() {
        let ph = serde_json::Value::String(placeholder(n)).to_string();
        let real = serde_json::Value::String(original.clone()).to_string();
        out = out.replacen(&ph, &real, 1);
    }
    out
}

/// Replaces every `div` string of a JSON resource by a placeholder; returns the originals.
pub fn lift_from_json(v: &mut serde_json::Value, originals: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                match child {
                    serde_json::Value::String(s) if k == "div" && s.starts_with("<div") => {
                        let original = std::mem::replace(s, placeholder(originals.len()));
                        originals.push(original);
                    }
                    _ => lift_from_json(child, originals),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|c| lift_from_json(c, originals)),
        _ => {}
    }
}

/// Puts the original divs back into the XML produced from the placeholder resource.
pub fn restore_in_xml(xml: &str, originals: &[String]) -> String {
    let mut out = xml.to_string();
    for (n, original) in originals.iter().enumerate() {
        out = out.replacen(&placeholder(n), original, 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_outer_divs_only() {
        let xml = r#"<Patient><text><div xmlns="http://www.w3.org/1999/xhtml"><div><p><b>A</b> b</p></div><div/></div></text><x><div>not xhtml</div></x></Patient>"#;
        let (lifted, originals) = lift_from_xml(xml);
        assert_eq!(
            originals,
            vec![r#"<div xmlns="http://www.w3.org/1999/xhtml"><div><p><b>A</b> b</p></div><div/></div>"#]
        );
        assert!(lifted.contains("BEDSIDE-NARRATIVE-0"));
        assert!(lifted.contains("<div>not xhtml</div>"));
    }
}
