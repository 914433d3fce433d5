//! Response Bundles (searchset, history, batch/transaction-response) assembled around stored JSON
//! bytes without re-parsing them, and the opaque, tamper-proof paging cursor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

/// One entry of an output Bundle.
pub struct Entry<'a> {
    pub full_url: Option<String>,
    /// Stored resource JSON, written as is.
    pub resource: Option<&'a [u8]>,
    /// Extra entry members as JSON text (`"search":{…}`, `"request":{…}`, `"response":{…}`), without braces.
    pub extra: String,
}

/// Writes a Bundle as JSON bytes.
pub fn bundle(kind: &str, total: Option<i64>, links: &[(&str, String)], entries: &[Entry<'_>]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(256 + entries.iter().map(|e| e.resource.map(<[u8]>::len).unwrap_or(0) + 128).sum::<usize>());
    out.extend_from_slice(br#"{"resourceType":"Bundle","id":""#);
    out.extend_from_slice(uuid::Uuid::new_v4().to_string().as_bytes());
    out.extend_from_slice(br#"","meta":{"lastUpdated":""#);
    out.extend_from_slice(crate::clock::now().text.as_bytes());
    out.extend_from_slice(br#""},"type":"#);
    out.extend_from_slice(serde_json::Value::String(kind.to_string()).to_string().as_bytes());
    if let Some(t) = total {
        out.extend_from_slice(format!(",\"total\":{t}").as_bytes());
    }
    if !links.is_empty() {
        out.extend_from_slice(b",\"link\":[");
        for (i, (rel, url)) in links.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let l = serde_json::json!({"relation": rel, "url": url});
            out.extend_from_slice(l.to_string().as_bytes());
        }
        out.push(b']');
    }
    if !entries.is_empty() {
        out.extend_from_slice(b",\"entry\":[");
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !first {
                    out.push(b',');
                }
                first = false;
            };
            if let Some(u) = &e.full_url {
                sep(&mut out);
                out.extend_from_slice(b"\"fullUrl\":");
                out.extend_from_slice(serde_json::Value::String(u.clone()).to_string().as_bytes());
            }
            if let Some(r) = e.resource {
                sep(&mut out);
                out.extend_from_slice(b"\"resource\":");
                out.extend_from_slice(r);
            }
            if !e.extra.is_empty() {
                sep(&mut out);
                out.extend_from_slice(e.extra.as_bytes());
            }
            out.push(b'}');
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}

/// Signs `payload` into an opaque cursor.
pub fn make_cursor(secret: &[u8], payload: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(payload.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(sig))
}

/// Checks a cursor's signature and returns its payload; anything altered is 400.
pub fn open_cursor(secret: &[u8], cursor: &str) -> Result<String, ApiError> {
    let bad = || ApiError::BadRequest("the paging cursor is invalid or was altered; start the search again".into());
    let (p, s) = cursor.split_once('.').ok_or_else(bad)?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| bad())?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| bad())?;
    mac.update(&payload);
    mac.verify_slice(&sig).map_err(|_| bad())?;
    String::from_utf8(payload).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_tamper() {
        let c = make_cursor(b"k", "42|abc");
        assert_eq!(open_cursor(b"k", &c).unwrap(), "42|abc");
        let tampered = make_cursor(b"other", "43|abc");
        assert!(open_cursor(b"k", &tampered).is_err());
        assert!(open_cursor(b"k", "garbage").is_err());
    }

    #[test]
    fn bundle_is_valid_json() {
        let r = br#"{"resourceType":"Patient","id":"1"}"#;
        let b = bundle(
            "searchset",
            Some(1),
            &[("self", "http://x/fhir/Patient".into())],
            &[Entry {
                full_url: Some("http://x/fhir/Patient/1".into()),
                resource: Some(r),
                extra: r#""search":{"mode":"match"}"#.into(),
            }],
        );
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["entry"][0]["resource"]["id"], "1");
        assert_eq!(v["total"], 1);
    }
}
