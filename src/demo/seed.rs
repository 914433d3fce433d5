//! `bedside serve --demo`: seeds the synthetic demo data set once (idempotently) and explains how to
//! use it.

use crate::config::Settings;
use crate::demo;
use crate::fhir::patch::PatchLimits;
use crate::fhir::transaction;
use crate::smart::access::AccessContext;
use crate::store::{meta, Store};

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    User(#[from] crate::smart::users::UserError),
    /// The demo data set was refused (a bug in the data set or in validation).
    #[error("demo data could not be stored: {0}")]
    Data(crate::error::ApiError),
    /// The demo app is not registered (removed by an operator).
    #[error("the demo app {0} is missing")]
    MissingApp(&'static str),
}

/// Marker stored after a complete seed; bump it when the data set changes.
const DEMO_MARKER: &str = "demo-data-v1";

/// Seeds the demo data unless it is already there; returns the text to print.
pub fn seed_demo(store: &Store, settings: &Settings) -> Result<String, SeedError> {
    let mut conn = store.conn()?;
    let already = meta::get(&mut conn, "demo-seeded")?;
    let patients = demo::demo_patient_ids(demo::DEFAULT_DEMO_PATIENTS);
    let mut seeded = 0usize;
    if already.as_deref() != Some(DEMO_MARKER) {
        let today = time::OffsetDateTime::now_utc().date();
        let access = AccessContext::system("bedside-demo");
        for bundle in demo::demo_bundles(today, demo::DEFAULT_DEMO_PATIENTS) {
            let results = transaction::transaction(
                &mut conn,
                &access,
                &settings.fhir_base(),
                &bundle,
                &PatchLimits::of(settings),
            )
            .map_err(SeedError::Data)?;
            seeded += results.len();
        }
        meta::set(&mut conn, "demo-seeded", DEMO_MARKER)?;
    }
    let first = patients.first().cloned().unwrap_or_default();
    super::logins::seed(&mut conn, &first)?;
    super::logins::allow_sample_app(&mut conn, &settings.base_url)?;
    let base = settings.fhir_base();
    let status = if seeded > 0 {
        format!("Seeded {seeded} demo resources for {} patients.", patients.len())
    } else {
        format!("Demo data already present ({} patients).", patients.len())
    };
    Ok(format!(
        "\n=== Bedside demo ===\n\
         !!! DEMO MODE: synthetic patients, sign-ins with published passwords and a public demo app are installed. !!!\n\
         !!! Never run --demo on a server that real patients or other people can reach.                         !!!\n\
         {status}\n\
         \n\
         {sample}\n\
         FHIR base URL:   {base}\n\
         Demo patients:   {first} … {last}\n\
         Get a token for one patient (in another terminal, same --data-dir):\n\
         \x20 TOKEN=$(cargo run -q -- token --scope 'patient/*.read' --patient {first})\n\
         Read the patient's active CarePlan:\n\
         \x20 curl -H \"Authorization: Bearer $TOKEN\" '{base}/CarePlan?patient={first}&status=active'\n\
         {smart}",
        last = patients.last().cloned().unwrap_or_default(),
        sample = super::logins::sample_app_summary(&settings.base_url, &base, &first),
        smart = super::logins::summary(&settings.base_url, &base, &first),
    ))
}
