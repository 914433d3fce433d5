//! The demo's sign-in users and app (seeded by `bedside serve --demo`), and the text that explains
//! how to run a SMART launch against them.

use serde_json::json;

use crate::smart::{secrets, token, users};
use crate::store::auth::{self as rows, ClientRow};
use crate::store::{AnyConnection, StoreError};

pub const PATIENT_USER: &str = "demo-patient";
pub const PATIENT_PASSWORD: &str = "demo-patient-password";
pub const PRACTITIONER_USER: &str = "demo-practitioner";
pub const PRACTITIONER_PASSWORD: &str = "demo-practitioner-password";
pub const PRACTITIONER: &str = "Practitioner/demo-practitioner-1";
pub const CLIENT_ID: &str = "demo-app";
pub const REDIRECT_URI: &str = "http://localhost:9090/callback";
/// A fixed PKCE verifier for copy-and-paste demos only (real apps make a new one per launch).
pub const DEMO_VERIFIER: &str = "bedside-demo-verifier-0123456789-abcdefghijklmnop";

/// Adds the demo logins and the public demo app unless they exist.
pub fn seed(conn: &mut AnyConnection, first_patient: &str) -> Result<(), String> {
    let logins = [
        (PATIENT_USER, PATIENT_PASSWORD, format!("Patient/{first_patient}")),
        (PRACTITIONER_USER, PRACTITIONER_PASSWORD, PRACTITIONER.to_string()),
    ];
    for (user, password, fhir_user) in logins {
        if rows::find_user(conn, user).map_err(|e| e.to_string())?.is_none() {
            users::add(conn, user, password, &fhir_user).map_err(|e| e.to_string())?;
        }
    }
    if rows::find_client(conn, CLIENT_ID).map_err(|e| e.to_string())?.is_none() {
        let row = ClientRow {
            client_id: CLIENT_ID.into(),
            name: "Bedside demo app".into(),
            client_type: crate::smart::clients::PUBLIC.into(),
            secret_hash: None,
            jwks: None,
            jwks_uri: None,
            redirect_uris: json!([REDIRECT_URI, "http://127.0.0.1:9090/callback"]).to_string(),
            scope: crate::smart::clients::DEFAULT_APP_SCOPES.into(),
            created_at: token::now_secs() as i64,
            access_term: crate::smart::grant::AccessTerm::Ongoing.as_str().into(),
        };
        match rows::insert_client(conn, &row) {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// The demo's authorize URL (standalone launch, patient login, PKCE with [`DEMO_VERIFIER`]).
pub fn authorize_url(base_url: &str, fhir_base: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "launch/patient openid fhirUser offline_access patient/*.rs")
        .append_pair("state", "demo-state-1")
        .append_pair("aud", fhir_base)
        .append_pair("code_challenge", &secrets::s256(DEMO_VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{base_url}/auth/authorize?{q}")
}

/// The lines `serve --demo` prints about SMART.
pub fn summary(base_url: &str, fhir_base: &str, first_patient: &str) -> String {
    format!(
        "SMART on FHIR (see docs/smart.md):\n\
         \x20 Patient login:       {PATIENT_USER} / {PATIENT_PASSWORD}  (Patient/{first_patient})\n\
         \x20 Practitioner login:  {PRACTITIONER_USER} / {PRACTITIONER_PASSWORD}  ({PRACTITIONER})\n\
         \x20 Demo app:            client_id={CLIENT_ID} (public, PKCE S256), redirect_uri={REDIRECT_URI}\n\
         \x20 Discovery:           {fhir_base}/.well-known/smart-configuration\n\
         \x20 Open in a browser:\n\
         \x20   {url}\n\
         \x20 then exchange the code from the redirect (code_verifier={DEMO_VERIFIER}):\n\
         \x20   curl -X POST {base_url}/auth/token -d grant_type=authorization_code -d client_id={CLIENT_ID} \\\n\
         \x20     -d redirect_uri={REDIRECT_URI} -d code_verifier={DEMO_VERIFIER} -d code=CODE\n",
        url = authorize_url(base_url, fhir_base),
    )
}
