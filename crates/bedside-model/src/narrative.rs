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

/// End (exclusive) of the tag starting at `start` (`<…>`), honouring quoted attribute values. Adds
/// the bytes it looked at to `work`.
fn tag_end(s: &[u8], start: usize, work: &mut usize) -> Option<usize> {
    let mut quote = None;
    for (i, &c) in s.iter().enumerate().skip(start) {
        *work += 1;
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return Some(i + 1),
            None => {}
        }
    }
    None
}

/// First `pat` at or after `from`. Adds the bytes it looked at to `work`.
fn find_from(s: &[u8], from: usize, pat: &[u8], work: &mut usize) -> Option<usize> {
    let found = s.get(from..)?.windows(pat.len()).position(|w| w == pat);
    *work += found.map_or(s.len().saturating_sub(from), |p| p + pat.len());
    found.map(|p| p + from)
}

fn has_xhtml_ns(tag: &str) -> bool {
    tag.contains(&format!("xmlns=\"{XHTML_NS}\"")) || tag.contains(&format!("xmlns='{XHTML_NS}'"))
}

/// Byte ranges of the outermost XHTML `<div>` elements of an XML document.
///
/// One forward pass: the cursor only ever moves forward, and each tag, comment or CDATA section is
/// scanned once, so the work is linear in the size of the document whatever its content (a
/// document of unclosed or unmatched tags cannot make it rescan).
fn xhtml_divs(xml: &str) -> Vec<(usize, usize)> {
    xhtml_divs_counted(xml).0
}

/// [`xhtml_divs`], and the number of bytes looked at (the tests hold it to a small multiple of the
/// document's size).
fn xhtml_divs_counted(xml: &str) -> (Vec<(usize, usize)>, usize) {
    let s = xml.as_bytes();
    let mut out = Vec::new();
    let mut work = 0usize;
    let work = &mut work;
    let mut i = 0;
    while let Some(start) = s.get(i..).and_then(|r| r.iter().position(|&b| b == b'<')).map(|p| p + i) {
        *work += start - i + 1;
        let rest = s.get(start..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            i = find_from(s, start + 4, b"-->", work).map_or(s.len(), |p| p + 3);
            continue;
        }
        if rest.starts_with(b"<![CDATA[") {
            i = find_from(s, start + 9, b"]]>", work).map_or(s.len(), |p| p + 3);
            continue;
        }
        let Some(open_end) = tag_end(s, start, work) else { break };
        i = open_end;
        if !(rest.starts_with(b"<div") && is_name_end(s.get(start + 4))) {
            continue;
        }
        let tag = &xml[start..open_end];
        if !has_xhtml_ns(tag) {
            continue;
        }
        if tag.ends_with("/>") {
            out.push((start, open_end));
            continue;
        }
        // Find the matching </div>, counting nested divs and skipping comments and CDATA.
        let mut depth = 1usize;
        let mut j = open_end;
        let mut end = None;
        while j < s.len() {
            let at = &s[j..];
            if at.starts_with(b"<!--") {
                j = find_from(s, j + 4, b"-->", work).map(|p| p + 3).unwrap_or(s.len());
            } else if at.starts_with(b"<![CDATA[") {
                j = find_from(s, j + 9, b"]]>", work).map(|p| p + 3).unwrap_or(s.len());
            } else if at.starts_with(b"</div") && is_name_end(s.get(j + 5)) {
                let e = tag_end(s, j, work).unwrap_or(s.len());
                depth -= 1;
                j = e;
                if depth == 0 {
                    end = Some(e);
                    break;
                }
            } else if at.starts_with(b"<div") && is_name_end(s.get(j + 4)) {
                let e = tag_end(s, j, work).unwrap_or(s.len());
                if !xml[j..e].ends_with("/>") {
                    depth += 1;
                }
                j = e;
            } else {
                *work += 1;
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
    let work = *work;
    (out, work)
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

/// The number of a placeholder div (`None` for any other text).
fn placeholder_number(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("<div xmlns=\"")?.strip_prefix(XHTML_NS)?.strip_prefix("\">BEDSIDE-NARRATIVE-")?;
    let digits = rest.strip_suffix("</div>")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Puts the original divs back into the JSON produced from the placeholder document.
///
/// Structural, not textual: only the `div` members of the parsed document are looked at (a string
/// elsewhere that happens to spell a placeholder is left alone), in one walk without recursion.
pub fn restore_in_json(json: &[u8], originals: &[String]) -> Result<Vec<u8>, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(json)?;
    let mut stack: Vec<&mut serde_json::Value> = vec![&mut value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(o) => {
                for (k, child) in o.iter_mut() {
                    if let (true, serde_json::Value::String(s)) = (k == "div", &mut *child) {
                        if let Some(original) = placeholder_number(s).and_then(|n| originals.get(n)) {
                            s.clone_from(original);
                        }
                        continue;
                    }
                    stack.push(child);
                }
            }
            serde_json::Value::Array(a) => stack.extend(a.iter_mut()),
            _ => {}
        }
    }
    serde_json::to_vec(&value)
}

/// Replaces every `div` string of a JSON resource by a placeholder; returns the originals. One walk
/// without recursion.
pub fn lift_from_json(v: &mut serde_json::Value, originals: &mut Vec<String>) {
    let mut stack: Vec<&mut serde_json::Value> = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(o) => {
                for (k, child) in o.iter_mut() {
                    match child {
                        serde_json::Value::String(s) if k == "div" && s.starts_with("<div") => {
                            let original = std::mem::replace(s, placeholder(originals.len()));
                            originals.push(original);
                        }
                        _ => stack.push(child),
                    }
                }
            }
            serde_json::Value::Array(a) => stack.extend(a.iter_mut()),
            _ => {}
        }
    }
}

/// Puts the original divs back into the XML produced from the placeholder resource.
///
/// One forward scan over the text: the XML writer escapes `<` in every text and attribute value, so a
/// literal `<div xmlns="…xhtml">` in its output can only be a placeholder element.
pub fn restore_in_xml(xml: &str, originals: &[String]) -> String {
    let prefix = format!("<div xmlns=\"{XHTML_NS}\">BEDSIDE-NARRATIVE-");
    let mut out = String::with_capacity(xml.len() + originals.iter().map(String::len).sum::<usize>());
    let mut i = 0;
    while let Some(p) = xml.get(i..).and_then(|r| r.find(&prefix)).map(|p| p + i) {
        let digits_at = p + prefix.len();
        let digits = xml.get(digits_at..).unwrap_or("").bytes().take_while(u8::is_ascii_digit).count();
        let close = digits_at + digits;
        let n = xml.get(digits_at..close).and_then(|d| d.parse::<usize>().ok());
        match (n.and_then(|n| originals.get(n)), xml.get(close..).is_some_and(|r| r.starts_with("</div>"))) {
            (Some(original), true) => {
                out.push_str(&xml[i..p]);
                out.push_str(original);
                i = close + "</div>".len();
            }
            _ => {
                out.push_str(&xml[i..digits_at]);
                i = digits_at;
            }
        }
    }
    out.push_str(&xml[i..]);
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

    /// Inputs built to make a naive scanner rescan the rest of the document from every `<`: the work
    /// done must stay within a small multiple of the input's size (a quadratic scan of these inputs
    /// looks at tens of billions of bytes).
    #[test]
    fn scanning_is_linear_on_crafted_input() {
        let n = 50_000;
        let xhtml = format!("<div xmlns=\"{XHTML_NS}\">");
        let crafted = [
            // Unclosed tags whose quotes run to the end of the document.
            "<div '".repeat(n),
            "<div a=\"".repeat(n),
            // Many divs that are not XHTML, each scanned as a candidate.
            "<div class=\"x\">".repeat(n),
            // One XHTML div that is never closed, full of nested opens, comments and CDATA.
            format!("<Patient>{xhtml}{}", "<div><!-- x --><![CDATA[y]]><p>".repeat(n)),
            // Many complete narratives.
            format!("<Bundle>{}</Bundle>", format!("<text>{xhtml}<p>a</p></div></text>").repeat(n)),
            // Unterminated comment and CDATA openers after XHTML candidates.
            format!("{xhtml}{}", "<!-".repeat(n)),
            format!("{}<!--", "<div xmlns='x'>".repeat(n)),
        ];
        for doc in &crafted {
            let (_, work) = xhtml_divs_counted(doc);
            assert!(work <= 4 * doc.len() + 16, "looked at {work} bytes of a {}-byte document", doc.len());
        }
    }

    #[test]
    fn many_narratives_round_trip_in_one_pass() {
        let xhtml = format!("<div xmlns=\"{XHTML_NS}\">");
        let n = 20_000;
        let doc: String = (0..n).map(|i| format!("<text>{xhtml}<p>n{i}</p></div></text>")).collect();
        let (lifted, originals) = lift_from_xml(&doc);
        assert_eq!(originals.len(), n);
        assert_eq!(restore_in_xml(&lifted, &originals), doc);
        // A placeholder that is not one of ours (a number out of range) is left alone.
        let stray = placeholder(n + 5);
        assert_eq!(restore_in_xml(&stray, &originals), stray);
    }

    #[test]
    fn json_restore_touches_only_div_members() {
        let originals = vec!["<div xmlns=\"http://www.w3.org/1999/xhtml\"><b>real</b></div>".to_string()];
        let ph = placeholder(0);
        let json = serde_json::json!({"text": {"div": ph}, "note": [{"text": ph}]});
        let out = restore_in_json(&serde_json::to_vec(&json).unwrap(), &originals).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["text"]["div"], originals[0]);
        assert_eq!(v["note"][0]["text"], ph);
    }
}
