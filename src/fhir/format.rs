//! Content negotiation: JSON and XML (through fhirbolt), `_format`, `_pretty`, and the request body.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};

use crate::error::ApiError;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
pub const FHIR_XML: &str = "application/fhir+xml; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// How the client wants the response rendered.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub pretty: bool,
}

fn format_of_mime(m: &str) -> Option<Format> {
    let m = m.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match m.as_str() {
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir" => Some(Format::Json),
        "xml" | "text/xml" | "application/xml" | "application/fhir+xml" | "application/xml+fhir" => Some(Format::Xml),
        _ => None,
    }
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

impl Output {
    /// From `_format` (wins), then `Accept`. `*/*`, `application/*` and no header mean JSON; an Accept
    /// that lists only types we cannot produce is 406.
    pub fn negotiate(req: &HttpRequest) -> Result<Output, ApiError> {
        let pretty = matches!(query_param(req, "_pretty").as_deref(), Some("true"));
        if let Some(f) = query_param(req, "_format") {
            let format = format_of_mime(&f)
                .ok_or_else(|| ApiError::NotAcceptable(format!("_format={f} is not supported; use json or xml")))?;
            return Ok(Output { format, pretty });
        }
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if accept.trim().is_empty() {
            return Ok(Output { format: Format::Json, pretty });
        }
        // Media ranges in order of preference (q, then position); q=0 means "not acceptable".
        let mut ranges: Vec<(f32, usize, &str)> = accept
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let mime = pieces.next().unwrap_or("").trim();
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0 && !mime.is_empty()).then_some((q, i, mime))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
        for (_, _, mime) in ranges {
            if let Some(format) = format_of_mime(mime) {
                return Ok(Output { format, pretty });
            }
            if mime == "*/*" || mime == "application/*" || mime == "text/*" {
                return Ok(Output { format: Format::Json, pretty });
            }
        }
        Err(ApiError::NotAcceptable(format!(
            "cannot produce {accept}; this server speaks application/fhir+json and application/fhir+xml"
        )))
    }

    pub fn json() -> Output {
        Output { format: Format::Json, pretty: false }
    }

    /// Renders FHIR JSON bytes in the negotiated format.
    pub fn render(&self, json: &[u8]) -> Result<(Vec<u8>, &'static str), ApiError> {
        match self.format {
            Format::Json if self.pretty => {
                let v: serde_json::Value = serde_json::from_slice(json)
                    .map_err(|e| ApiError::Internal(format!("stored JSON unreadable: {e}")))?;
                let s = serde_json::to_vec_pretty(&v).map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok((s, FHIR_JSON))
            }
            Format::Json => Ok((json.to_vec(), FHIR_JSON)),
            Format::Xml => {
                let xml = bedside_model::json_to_xml(json)
                    .map_err(|e| ApiError::Internal(format!("cannot render XML: {e}")))?;
                Ok((xml, FHIR_XML))
            }
        }
    }

    /// A response with `json` rendered as the body.
    pub fn respond(&self, mut builder: HttpResponseBuilder, json: &[u8]) -> Result<HttpResponse, ApiError> {
        let (body, ctype) = self.render(json)?;
        Ok(builder.insert_header((header::CONTENT_TYPE, ctype)).body(body))
    }
}

/// The format of a FHIR request body per `Content-Type` (none means JSON); 415 for other types.
pub fn body_format(req: &HttpRequest) -> Result<Format, ApiError> {
    let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ctype.trim().is_empty() {
        return Ok(Format::Json);
    }
    format_of_mime(ctype).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "Content-Type {ctype} is not supported; send application/fhir+json or application/fhir+xml"
        ))
    })
}

/// Parses a request body as a FHIR resource, JSON or XML per `Content-Type`, into a JSON value.
/// Errors are 400 (unparseable, or nested deeper than the limit) or 415 (other media types). The
/// parse runs on the blocking thread pool, off the async workers, so a large body never holds up
/// other requests (`/healthz` included).
pub async fn parse_body(req: &HttpRequest, body: web::Bytes) -> Result<serde_json::Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request has no body; a FHIR resource is required".into()));
    }
    let format = body_format(req)?;
    web::block(move || parse_bytes(format, &body)).await?
}

/// Parses JSON bytes into a value after checking their nesting depth (a flat scan, before any
/// recursive parser runs). Used for every JSON request body.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    bedside_model::check_json_depth(bytes, bedside_model::MAX_DEPTH)
        .map_err(|e| ApiError::invalid("(body)", e.to_string()))?;
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid("(body)", format!("the body is not valid JSON: {e}")))
}

pub fn parse_bytes(format: Format, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    match format {
        Format::Json => parse_json(body),
        Format::Xml => {
            let json = bedside_model::xml_to_json(body)
                .map_err(|e| ApiError::invalid("(body)", format!("the XML is not a valid FHIR R4 resource: {e}")))?;
            parse_json(&json)
        }
    }
}
