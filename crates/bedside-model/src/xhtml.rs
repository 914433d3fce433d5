//! FHIR Narrative XHTML (`Narrative.div`): what R4 allows (invariants txt-1 and txt-2), checked before a
//! resource is stored, so every stored narrative can be served as XML and shown safely: one
//! well-formed `<div xmlns="http://www.w3.org/1999/xhtml">` root, only the basic HTML formatting
//! elements R4 lists (no script, form, iframe, object, embed, style…), no event-handler attributes, no
//! `javascript:` links.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::ModelError;

const XHTML_NS: &[u8] = b"http://www.w3.org/1999/xhtml";

/// The elements R4 allows in a narrative (HTML 4.0 chapters 7–11 and 15, `a`, `img`).
const ALLOWED: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "b",
    "basefont",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
];

fn bad(why: impl std::fmt::Display) -> ModelError {
    ModelError(format!("the narrative (text.div) is not valid FHIR XHTML: {why}"))
}

fn check_element(e: &quick_xml::events::BytesStart<'_>, root: bool) -> Result<(), ModelError> {
    let name = e.name();
    let local = std::str::from_utf8(name.local_name().into_inner()).map_err(|_| bad("an element name is not UTF-8"))?;
    if root && local != "div" {
        return Err(bad(format!("its root element is <{local}>, it must be <div>")));
    }
    if !ALLOWED.contains(&local) {
        return Err(bad(format!("<{local}> is not allowed in a narrative")));
    }
    let mut has_ns = false;
    for a in e.attributes() {
        let a = a.map_err(|e| bad(format!("bad attribute: {e}")))?;
        let key = std::str::from_utf8(a.key.as_ref()).map_err(|_| bad("an attribute name is not UTF-8"))?;
        let value = a.value.as_ref();
        if key.len() > 2 && key[..2].eq_ignore_ascii_case("on") {
            return Err(bad(format!("event-handler attribute {key} is not allowed")));
        }
        let lowered: Vec<u8> =
            value.iter().filter(|b| !b.is_ascii_whitespace() && **b != 0).map(u8::to_ascii_lowercase).collect();
        if matches!(key, "href" | "src") && (lowered.starts_with(b"javascript:") || lowered.starts_with(b"vbscript:")) {
            return Err(bad(format!("{key} must not be a script URL")));
        }
        if key == "xmlns" {
            if value != XHTML_NS {
                return Err(bad("its namespace must be http://www.w3.org/1999/xhtml"));
            }
            has_ns = true;
        }
    }
    if root && !has_ns {
        return Err(bad("the root <div> needs xmlns=\"http://www.w3.org/1999/xhtml\""));
    }
    Ok(())
}

/// Checks one `Narrative.div` value.
pub fn check_div(div: &str) -> Result<(), ModelError> {
    let mut reader = Reader::from_str(div);
    reader.check_end_names(true);
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                if seen_root && depth == 0 {
                    return Err(bad("it has more than one root element"));
                }
                check_element(&e, depth == 0)?;
                seen_root = true;
                depth += 1;
                if depth > crate::MAX_XML_DEPTH {
                    return Err(bad("it is nested too deeply"));
                }
            }
            Event::Empty(e) => {
                if seen_root && depth == 0 {
                    return Err(bad("it has more than one root element"));
                }
                check_element(&e, depth == 0)?;
                seen_root = true;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                if depth == 0 && t.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Err(bad("it has text outside the root <div>"));
                }
            }
            Event::CData(_) => {
                if depth == 0 {
                    return Err(bad("it has content outside the root <div>"));
                }
            }
            Event::Comment(_) => {}
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {
                return Err(bad("declarations, processing instructions and DOCTYPEs are not allowed"))
            }
            Event::Eof => break,
        }
    }
    if !seen_root {
        return Err(bad("it has no <div> element"));
    }
    if depth != 0 {
        return Err(bad("an element is not closed"));
    }
    // txt-2 (some non-whitespace content) is not enforced: official R4 examples break it, and an
    // empty div is harmless to render.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_div;

    #[test]
    fn narratives() {
        let ok = |d: &str| check_div(d).unwrap_or_else(|e| panic!("{d}: {e}"));
        let no = |d: &str| assert!(check_div(d).is_err(), "{d} was accepted");
        ok(r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Weight <b>72 kg</b></p></div>"#);
        ok(r##"<div xmlns="http://www.w3.org/1999/xhtml"><a href="http://x">link</a><br/><img src="#a"/></div>"##);
        ok("<div xmlns=\"http://www.w3.org/1999/xhtml\">\n  <table><tr><td>1</td></tr></table>\n</div>\n");
        no(r#"<dinnnnv xmlns="http://www.w3.org/1999/xhtml">x</div>"#);
        no(r#"<div>no namespace</div>"#);
        no(r#"<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>"#);
        no(r#"<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">x</p></div>"#);
        no(r#"<div xmlns="http://www.w3.org/1999/xhtml"><a href=" JavaScript:alert(1)">x</a></div>"#);
        ok(r#"<div xmlns="http://www.w3.org/1999/xhtml">   </div>"#);
        no(r#"<div xmlns="http://www.w3.org/1999/xhtml">x</div><div xmlns="http://www.w3.org/1999/xhtml">y</div>"#);
        no(r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>x</div>"#);
        no(r#"<p xmlns="http://www.w3.org/1999/xhtml">x</p>"#);
        no("text");
    }
}
