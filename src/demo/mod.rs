//! The synthetic demo data set that `bedside serve --demo` seeds: a clinic (Organization, Locations,
//! Practitioners, PractitionerRoles) and `patients` patients with two years of visits, vital signs and
//! labs, chronic problems, goals, a care team and an active care plan with upcoming appointments.
//!
//! Pure and deterministic: a fixed-seed SplitMix64 per patient (so patient 3 is the same whatever the
//! count), only exactly-rounded float arithmetic, every date relative to `today`. Every resource has a
//! fixed id and is written with `PUT {type}/{id}`; references are relative (`Patient/demo-patient-01`).
//!
//! | module         | concept                                                                    |
//! |----------------|----------------------------------------------------------------------------|
//! | this file      | the data set: [`demo_bundles`], the patient ids                            |
//! | `tables`       | the data it is built from: names, codes, profiles, visit types, goals      |
//! | `clinic`       | the shared Bundle: Organization, Locations, Practitioners, their roles     |
//! | `bundle`       | one patient's Bundle, step by step                                         |
//! | `patient`      | the patient's storyline and physiology; the Patient and its Conditions     |
//! | `visits`       | past visits (Appointment, Encounter), missed, cancelled and upcoming ones  |
//! | `observations` | vital signs and laboratory panels per visit                                |
//! | `care`         | goals, care team, care plans                                               |
//! | `json`         | FHIR JSON builders, dates, the seeded random numbers                       |
//! | `seed`         | storing the data set once (`serve --demo`)                                 |
//! | `logins`       | the demo sign-ins and app, and the text that explains them                 |

mod bundle;
mod care;
mod clinic;
mod json;
pub mod logins;
mod observations;
mod patient;
pub mod seed;
mod tables;
mod visits;

use serde_json::Value;
use time::Date;

pub const DEFAULT_DEMO_PATIENTS: usize = 25;

/// Fixed clinic offset (US Eastern standard time) for every dateTime with a time part.
const TZ: &str = "-05:00";
const LOINC: &str = "http://loinc.org";
const SCT: &str = "http://snomed.info/sct";
const UCUM: &str = "http://unitsofmeasure.org";
const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
const TAG_SYSTEM: &str = "http://bedside.example/fhir/tags";
const THO: &str = "http://terminology.hl7.org/CodeSystem/";
const ORG: &str = "demo-org";
const CLINIC: &str = "demo-location-clinic";
const LAB: &str = "demo-location-lab";

/// Ids of the demo patients in order (e.g. "demo-patient-01").
pub fn demo_patient_ids(patients: usize) -> Vec<String> {
    (1..=patients).map(|n| format!("demo-patient-{n:02}")).collect()
}

/// The demo data set: one FHIR R4 `transaction` Bundle per patient (serde_json::Value), plus one first
/// Bundle with the shared Organization, Locations, Practitioners and PractitionerRoles.
/// Deterministic: the same `today` gives byte-identical output. Past visits, Observations and
/// Appointments fall before `today`; upcoming Appointments after it.
pub fn demo_bundles(today: Date, patients: usize) -> Vec<Value> {
    let mut out = vec![clinic::shared_bundle()];
    out.extend((1..=patients).map(|n| bundle::patient_bundle(today, n)));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
