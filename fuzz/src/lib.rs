//! The fuzz targets' bodies: each takes arbitrary bytes and drives one of Bedside's input paths the
//! way a request would. A target fails (libFuzzer reports a crash) on a panic, a stack overflow, an
//! abort, or an outcome the server must never give for any input: a 500 (`ApiError::Internal`) from
//! parsing, validation, search or Bundle processing, or a parse that does not round-trip.

use std::sync::OnceLock;

use bedside::config::Settings;
use bedside::error::ApiError;
use bedside::fhir::format::{parse_bytes, Format};
use bedside::fhir::patch::PatchLimits;
use bedside::fhir::resource::{validate, IdRule};
use bedside::fhir::search::{engine, spec::SearchSpec};
use bedside::fhir::transaction;
use bedside::smart::access::AccessContext;
use bedside::smart::scopes::{Interaction, Scopes};
use bedside::store::Store;
use serde_json::Value;

/// Fails the run on a 500: every input must get its result or a 4xx.
fn no_internal<T>(what: &str, input: &[u8], r: Result<T, ApiError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(ApiError::Internal(m)) => panic!("{what} answered 500 ({m}) for {:?}", String::from_utf8_lossy(input)),
        Err(_) => None,
    }
}

/// The first byte picks JSON or XML; the rest is the body.
fn body(data: &[u8]) -> Option<(Format, &[u8])> {
    let (first, rest) = data.split_first()?;
    Some((if first % 2 == 0 { Format::Json } else { Format::Xml }, rest))
}

/// Resource parsing and validation, JSON and XML, and the XML rendering of what was accepted.
pub fn resource(data: &[u8]) {
    let Some((format, bytes)) = body(data) else { return };
    let Ok(value) = parse_bytes(format, bytes) else { return };
    let Some(res_type) = value.get("resourceType").and_then(Value::as_str).map(str::to_string) else { return };
    let Ok(valid) = validate(value, &res_type, IdRule::ServerAssigned) else { return };
    let json = serde_json::to_vec(&valid).unwrap_or_default();
    // What was accepted can always be served as XML, and that XML reads back.
    let xml = bedside_model::json_to_xml(&json).unwrap_or_else(|e| {
        panic!("accepted resource cannot be rendered as XML: {e}: {}", String::from_utf8_lossy(&json))
    });
    if let Err(e) = bedside_model::xml_to_json(&xml) {
        panic!("rendered XML does not read back: {e}: {}", String::from_utf8_lossy(&xml));
    }
}

/// One SQLite store per fuzzing process, with a few resources to search and include.
fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("bedside-fuzz-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store = Store::open(&path.to_string_lossy(), 1).unwrap_or_else(|e| panic!("store: {e}"));
        let seed = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
             "resource": {"resourceType": "Patient", "name": [{"family": "Fuzz"}], "birthDate": "1980-01-01"},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
              "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
              "valueQuantity": {"value": 70.5, "unit": "kg"}, "effectiveDateTime": "2024-01-01"},
             "request": {"method": "POST", "url": "Observation"}}]});
        let mut conn = store.conn().unwrap_or_else(|e| panic!("conn: {e}"));
        let limits = PatchLimits::of(settings());
        transaction::transaction(&mut conn, &AccessContext::system("fuzz"), "http://fuzz/fhir", &seed, &limits)
            .unwrap_or_else(|e| panic!("seed: {e}"));
        drop(conn);
        store
    })
}

fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| Settings::for_base("http://fuzz"))
}

/// Search-parameter parsing and execution. The input is `Type[,Type…]` on the first line, then a
/// query string (as a GET URL or a POST _search form would carry it); a third line, if any, is the
/// token's scope, bound to the seeded patient.
pub fn search(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let types: Vec<String> = lines.next().unwrap_or("").split(',').map(|t| t.trim().to_string()).collect();
    if types.iter().any(|t| !bedside::fhir::types::is_supported(t)) {
        return;
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(lines.next().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let access = match lines.next() {
        Some(scope) => match Scopes::parse(scope) {
            Ok(scopes) => AccessContext { patient: Some("p1".into()), scopes, ..AccessContext::system("fuzz") },
            Err(_) => return,
        },
        None => AccessContext::system("fuzz"),
    };
    for lenient in [false, true] {
        let spec = SearchSpec::parse(types.clone(), &params, &access, settings(), lenient);
        let Some(spec) = no_internal("search parsing", data, spec) else { continue };
        let Ok(mut conn) = store().conn() else { return };
        no_internal("search", data, engine::run(&mut conn, &access, &spec, None));
    }
}

/// SMART scope parsing: whatever parses normalises to a string that parses to the same scopes, and
/// its granular filters can be read for every interaction.
pub fn scopes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(scopes) = Scopes::parse(text) else { return };
    let again = Scopes::parse(&scopes.to_scope_string())
        .unwrap_or_else(|e| panic!("normalised scope {:?} does not parse: {e}", scopes.to_scope_string()));
    assert_eq!(again.to_scope_string(), scopes.to_scope_string(), "normalising is not stable for {text:?}");
    for t in ["Patient", "Observation", "Condition"] {
        for i in [Interaction::Create, Interaction::Read, Interaction::Update, Interaction::Delete, Interaction::Search]
        {
            let _ = scopes.allows(t, i);
            let _ = scopes.filter_groups(t, i);
        }
    }
}

/// Batch and transaction Bundles (JSON or XML), processed against the fuzzing store.
pub fn bundle(data: &[u8]) {
    let Some((format, bytes)) = body(data) else { return };
    let Ok(value) = parse_bytes(format, bytes) else { return };
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return;
    }
    let entries = value.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
    if entries > settings().limits.max_bundle_entries {
        return;
    }
    let Ok(mut conn) = store().conn() else { return };
    let access = AccessContext::system("fuzz");
    let limits = PatchLimits::of(settings());
    let result = match value.get("type").and_then(Value::as_str) {
        Some("transaction") => transaction::transaction(&mut conn, &access, "http://fuzz/fhir", &value, &limits),
        _ => transaction::batch(&mut conn, &access, "http://fuzz/fhir", &value, &limits),
    };
    if let Some(results) = no_internal("bundle", data, result) {
        // A batch reports each entry's failure in the entry: none may be a 500 either.
        if let Some(r) = results.iter().find(|r| r.status.starts_with("500")) {
            let body = String::from_utf8_lossy(r.body.as_deref().unwrap_or_default()).into_owned();
            panic!("a batch entry answered 500 ({body}) for {:?}", String::from_utf8_lossy(data));
        }
    }
}
