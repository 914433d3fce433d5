//! The demo's sign-in users and app (seeded by `bedside serve --demo`), and the text that explains
//! how to run a SMART launch against them: first with the sample patient app the demo serves
//! (`src/web/sample_app.rs`), then by hand.

use serde_json::json;

use super::seed::SeedError;
use crate::smart::{secrets, users};
use crate::store::auth::{self as rows, ClientRow};
use crate::store::{AnyConnection, StoreError};

pub const PATIENT_USER: &str = "demo-patient";
pub const PATIENT_PASSWORD: &str = "demo-patient-password";
pub const PRACTITIONER_USER: &str = "demo-practitioner";
pub const PRACTITIONER_PASSWORD: &str = "demo-practitioner-password";
pub const PRACTITIONER: &str = "Practitioner/demo-practitioner-1";
pub const CLIENT_ID: &str = "demo-app";
pub const REDIRECT_URI: &str = "http://localhost:9090/callback";
/// Where `serve --demo` serves the sample patient app (`src/web/sample_app.rs`), under the base URL.
pub const SAMPLE_APP_PATH: &str = "/apps/sample";
/// A fixed PKCE verifier for copy-and-paste demos only (real apps make a new one per launch).
pub const DEMO_VERIFIER: &str = "bedside-demo-verifier-0123456789-abcdefghijklmnop";

/// Adds the demo logins and the public demo app unless they exist.
pub fn seed(conn: &mut AnyConnection, first_patient: &str) -> Result<(), SeedError> {
    let logins = [
        (PATIENT_USER, PATIENT_PASSWORD, format!("Patient/{first_patient}")),
        (PRACTITIONER_USER, PRACTITIONER_PASSWORD, PRACTITIONER.to_string()),
    ];
    for (user, password, fhir_user) in logins {
        if rows::find_user(conn, user)?.is_none() {
            users::add(conn, user, password, &fhir_user)?;
        }
    }
    if rows::find_client(conn, CLIENT_ID)?.is_none() {
        let row = ClientRow {
            client_id: CLIENT_ID.into(),
            name: "Bedside demo app".into(),
            client_type: crate::smart::clients::PUBLIC.into(),
            secret_hash: None,
            jwks: None,
            jwks_uri: None,
            redirect_uris: json!([REDIRECT_URI, "http://127.0.0.1:9090/callback"]).to_string(),
            scope: crate::smart::clients::DEFAULT_APP_SCOPES.into(),
            created_at: crate::clock::now_secs(),
            access_term: crate::smart::grant::AccessTerm::Ongoing.as_str().into(),
        };
        match rows::insert_client(conn, &row) {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The sample app's redirect URI on the server at `base_url`.
pub fn sample_redirect_uri(base_url: &str) -> String {
    format!("{base_url}{SAMPLE_APP_PATH}/index.html")
}

/// The demo app's redirect URIs: the copy-and-paste callback (nothing listens there, see [`summary`])
/// and the sample app of the server at `base_url`.
fn redirect_uris(base_url: &str) -> Vec<String> {
    vec![REDIRECT_URI.to_string(), "http://127.0.0.1:9090/callback".to_string(), sample_redirect_uri(base_url)]
}

/// Makes the demo app accept the sample app of this server. The base URL changes with `--listen` and
/// `--base-url`, so `serve --demo` calls this on every start (after [`seed`]); a redirect URI of an
/// earlier start is replaced, so only the current server's sample app can receive codes.
pub fn allow_sample_app(conn: &mut AnyConnection, base_url: &str) -> Result<(), SeedError> {
    let row = rows::find_client(conn, CLIENT_ID)?.ok_or(SeedError::MissingApp(CLIENT_ID))?;
    let want = redirect_uris(base_url);
    if serde_json::from_str::<Vec<String>>(&row.redirect_uris).ok().as_ref() != Some(&want) {
        rows::set_client_redirect_uris(conn, CLIENT_ID, &json!(want).to_string())?;
    }
    Ok(())
}

/// The sample app's launch URL: standalone, or an EHR launch with `launch`. `iss` is left readable;
/// only the characters that would end or break a query value are escaped.
pub fn sample_launch_url(base_url: &str, fhir_base: &str, launch: Option<&str>) -> String {
    const QUERY_VALUE: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'&').add(b'+').add(b'<').add(b'>');
    let iss = percent_encoding::utf8_percent_encode(fhir_base, QUERY_VALUE);
    let launch = launch.map(|l| format!("&launch={l}")).unwrap_or_default();
    format!("{base_url}{SAMPLE_APP_PATH}/launch.html?iss={iss}{launch}")
}

/// The lines `serve --demo` starts with: the sample app, standalone and as an EHR launch.
pub fn sample_app_summary(base_url: &str, fhir_base: &str, first_patient: &str) -> String {
    format!(
        "Try the sample patient app: open this link in a browser, sign in as {PATIENT_USER} / {PATIENT_PASSWORD}\n\
         and press Allow; it shows the patient's active care plan with its upcoming appointments and goals, and\n\
         the latest vital signs and lab results:\n\
         \x20 {standalone}\n\
         Or open it the way an EHR does for a clinician (EHR launch): in another terminal, same --data-dir, make a\n\
         launch context, open the printed link and sign in as {PRACTITIONER_USER} / {PRACTITIONER_PASSWORD}:\n\
         \x20 LAUNCH=$(cargo run -q -- launch --patient {first_patient} --user {PRACTITIONER} | tail -n1)\n\
         \x20 echo \"{ehr}\"\n",
        standalone = sample_launch_url(base_url, fhir_base, None),
        ehr = sample_launch_url(base_url, fhir_base, Some("$LAUNCH")),
    )
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
