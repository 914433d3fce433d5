//! References to resources: `Type/id` out of a reference's text (relative, absolute, versioned), as the
//! index stores them and FHIRPath's `resolve()` reads them.

/// Is `t` an R4 resource type name (for recognising `Type/id` in references)?
pub fn is_resource_type(t: &str) -> bool {
    super::is_r4_type(t)
}

pub(crate) fn is_fhir_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

/// Split a reference into (resource type, id): `Patient/123`, `Patient/123/_history/2`,
/// `https://x/fhir/Patient/123[/_history/2]` (the type must be an R4 resource type). `None` for contained
/// (`#x`), `urn:uuid:`/`urn:oid:` and anything else; a trailing `|version` (canonical) is ignored.
pub fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let r = reference.trim();
    if r.starts_with('#') || r.starts_with("urn:") {
        return None;
    }
    let r = r.split('|').next().unwrap_or(r);
    let r = r.split(['?', '#']).next().unwrap_or(r);
    let mut segs: Vec<&str> = r.trim_end_matches('/').split('/').collect();
    if segs.len() >= 4 && segs[segs.len() - 2] == "_history" {
        segs.truncate(segs.len() - 2);
    }
    if segs.len() < 2 {
        return None;
    }
    let (t, id) = (segs[segs.len() - 2], segs[segs.len() - 1]);
    // A relative reference is exactly `Type/id`; longer ones must be absolute URLs.
    if segs.len() > 2 && !r.contains("://") {
        return None;
    }
    (is_resource_type(t) && is_fhir_id(id)).then_some((t, id))
}
