//! The access log in plain words, for the connected-apps pages: "Read 12 lab results, vital signs and
//! other measurements — 3 minutes ago", "Read your personal details", "Added a measurement".

use askama::Template;

use super::words::noun;
use crate::audit::Interaction;
use crate::store::audit::AuditRow;

/// One access, as a person reads it.
pub struct ActivityLine {
    pub text: String,
    /// "3 minutes ago"
    pub when: String,
    /// "2026-11-26 10:04 UTC"
    pub at: String,
    pub failed: bool,
}

/// One app's recent accesses (on the connected-apps page).
pub struct AppActivity {
    pub name: String,
    pub lines: Vec<ActivityLine>,
    pub more_url: String,
}

#[derive(Template)]
#[template(path = "manage_activity.html")]
pub struct ActivityPage<'a> {
    pub app_name: &'a str,
    pub username: &'a str,
    pub lines: Vec<ActivityLine>,
    pub older_url: Option<String>,
    pub back_url: &'a str,
}

/// A row as a line, `now_ms` being the time the page is made.
pub fn line(row: &AuditRow, yours: bool, now_ms: i64) -> ActivityLine {
    ActivityLine {
        text: sentence(row, yours),
        when: ago(now_ms, row.recorded),
        at: at(row.recorded),
        failed: row.status >= 400,
    }
}

/// One record of each served type, with its article, for single writes ("Added a measurement"). Every
/// served type has its words (a test checks it); `Patient` reads as the owner's personal details.
#[rustfmt::skip]
const SINGULAR: &[(&str, &str)] = &[
    ("Account", "a billing account"),
    ("ActivityDefinition", "a care activity definition"),
    ("AdverseEvent", "a harmful event or side effect"),
    ("AllergyIntolerance", "an allergy"),
    ("Appointment", "an appointment"),
    ("AppointmentResponse", "an appointment reply"),
    ("AuditEvent", "an access history entry"),
    ("Basic", "another health record"),
    ("Binary", "a stored file"),
    ("BiologicallyDerivedProduct", "a blood, tissue or cell product"),
    ("BodyStructure", "a body site description"),
    ("Bundle", "a collection of records"),
    ("CapabilityStatement", "a description of a health system's features"),
    ("CarePlan", "a care plan"),
    ("CareTeam", "a care team"),
    ("CatalogEntry", "a catalogue entry"),
    ("ChargeItem", "a charge for care"),
    ("ChargeItemDefinition", "a price list"),
    ("Claim", "an insurance claim"),
    ("ClaimResponse", "an insurance claim decision"),
    ("ClinicalImpression", "a clinical assessment"),
    ("CodeSystem", "a medical code list"),
    ("Communication", "a message about the care"),
    ("CommunicationRequest", "a request to send a message"),
    ("CompartmentDefinition", "a record grouping rule"),
    ("Composition", "a clinical document"),
    ("ConceptMap", "a code translation table"),
    ("Condition", "a health problem"),
    ("Consent", "a consent or privacy choice"),
    ("Contract", "a contract"),
    ("Coverage", "insurance coverage"),
    ("CoverageEligibilityRequest", "an insurance eligibility check"),
    ("CoverageEligibilityResponse", "an insurance eligibility answer"),
    ("DetectedIssue", "a safety warning"),
    ("Device", "a medical device"),
    ("DeviceDefinition", "a medical device description"),
    ("DeviceMetric", "a device measurement setting"),
    ("DeviceRequest", "an order for medical equipment"),
    ("DeviceUseStatement", "a note of a medical device in use"),
    ("DiagnosticReport", "a test report"),
    ("DocumentManifest", "a document set"),
    ("DocumentReference", "a document"),
    ("EffectEvidenceSynthesis", "a research evidence summary"),
    ("Encounter", "a visit"),
    ("Endpoint", "a health system's connection details"),
    ("EnrollmentRequest", "an insurance enrollment request"),
    ("EnrollmentResponse", "an insurance enrollment answer"),
    ("EpisodeOfCare", "an episode of care"),
    ("EventDefinition", "a care event definition"),
    ("Evidence", "a piece of research evidence"),
    ("EvidenceVariable", "a research evidence variable"),
    ("ExampleScenario", "an example scenario"),
    ("ExplanationOfBenefit", "an insurance statement"),
    ("FamilyMemberHistory", "a family health history entry"),
    ("Flag", "an alert on the record"),
    ("Goal", "a health goal"),
    ("GraphDefinition", "a record link rule"),
    ("Group", "a group"),
    ("GuidanceResponse", "care advice from decision support"),
    ("HealthcareService", "a health service"),
    ("ImagingStudy", "a scan or X-ray"),
    ("Immunization", "a vaccination"),
    ("ImmunizationEvaluation", "a vaccination check"),
    ("ImmunizationRecommendation", "a vaccination recommendation"),
    ("ImplementationGuide", "a health data standards guide"),
    ("InsurancePlan", "an insurance plan description"),
    ("Invoice", "an invoice"),
    ("Library", "a medical knowledge library"),
    ("Linkage", "a link between copies of a record"),
    ("List", "a list"),
    ("Location", "a care location"),
    ("Measure", "a quality measure definition"),
    ("MeasureReport", "a quality measure report"),
    ("Media", "a photo, video or recording"),
    ("Medication", "medicine details"),
    ("MedicationAdministration", "a medicine given"),
    ("MedicationDispense", "a medicine handed out by a pharmacy"),
    ("MedicationKnowledge", "medicine information"),
    ("MedicationRequest", "a prescription"),
    ("MedicationStatement", "a medicine"),
    ("MedicinalProduct", "medicine product details"),
    ("MedicinalProductAuthorization", "a medicine licence"),
    ("MedicinalProductContraindication", "a medicine warning"),
    ("MedicinalProductIndication", "what a medicine is for"),
    ("MedicinalProductIngredient", "a medicine ingredient"),
    ("MedicinalProductInteraction", "a medicine interaction"),
    ("MedicinalProductManufactured", "manufactured medicine details"),
    ("MedicinalProductPackaged", "medicine packaging details"),
    ("MedicinalProductPharmaceutical", "a medicine dose form"),
    ("MedicinalProductUndesirableEffect", "a known medicine side effect"),
    ("MessageDefinition", "a message definition"),
    ("MessageHeader", "a message between health systems"),
    ("MolecularSequence", "a genetic sequence"),
    ("NamingSystem", "an identifier system"),
    ("NutritionOrder", "a diet or nutrition order"),
    ("Observation", "a measurement"),
    ("ObservationDefinition", "a test definition"),
    ("OperationDefinition", "a health system operation definition"),
    ("OperationOutcome", "a processing result"),
    ("Organization", "a care organization"),
    ("OrganizationAffiliation", "a link between care organizations"),
    ("PaymentNotice", "a payment notice"),
    ("PaymentReconciliation", "a payment statement"),
    ("Person", "a linked personal record"),
    ("PlanDefinition", "a care guideline or protocol"),
    ("Practitioner", "a doctor's or nurse's details"),
    ("PractitionerRole", "a doctor's or nurse's role"),
    ("Procedure", "a procedure"),
    ("Provenance", "a record history entry"),
    ("Questionnaire", "a questionnaire or form"),
    ("QuestionnaireResponse", "questionnaire answers"),
    ("RelatedPerson", "a family member or other contact"),
    ("RequestGroup", "a set of care orders"),
    ("ResearchDefinition", "a research question definition"),
    ("ResearchElementDefinition", "a research population definition"),
    ("ResearchStudy", "a research study"),
    ("ResearchSubject", "a research study participation"),
    ("RiskAssessment", "a risk assessment"),
    ("RiskEvidenceSynthesis", "a research risk summary"),
    ("Schedule", "an appointment calendar"),
    ("SearchParameter", "a search definition"),
    ("ServiceRequest", "an order or referral"),
    ("Slot", "an appointment time"),
    ("Specimen", "a sample"),
    ("SpecimenDefinition", "a sample requirement"),
    ("StructureDefinition", "a record format definition"),
    ("StructureMap", "a record conversion rule"),
    ("Subscription", "a notification subscription"),
    ("Substance", "a substance or material"),
    ("SubstanceNucleicAcid", "substance details (nucleic acid)"),
    ("SubstancePolymer", "substance details (polymer)"),
    ("SubstanceProtein", "substance details (protein)"),
    ("SubstanceReferenceInformation", "substance reference information"),
    ("SubstanceSourceMaterial", "a substance source material"),
    ("SubstanceSpecification", "a substance specification"),
    ("SupplyDelivery", "a delivery of supplies"),
    ("SupplyRequest", "a supply order"),
    ("Task", "a care task"),
    ("TerminologyCapabilities", "a code list service description"),
    ("TestReport", "a system test report"),
    ("TestScript", "a system test script"),
    ("ValueSet", "a set of medical codes"),
    ("VerificationResult", "a check of record details"),
    ("VisionPrescription", "a glasses or contact lens prescription"),
];

/// "a measurement" style words for one record of a served type (`None` for anything else, and for
/// `Patient`, which reads as personal details).
fn served_singular(resource_type: &str) -> Option<&'static str> {
    SINGULAR.binary_search_by(|(t, _)| (*t).cmp(resource_type)).ok().and_then(|i| SINGULAR.get(i)).map(|(_, w)| *w)
}

/// "one measurement" style nouns for single writes, by type.
fn singular(resource_type: Option<&str>, owner: &str) -> String {
    match resource_type {
        Some("Patient") => format!("{owner} personal details"),
        None | Some("") => "a record".to_string(),
        Some(t) => match served_singular(t) {
            Some(w) => w.to_string(),
            None => {
                // Not a served type (an old record's type name, say): built from the noun.
                let words = noun(t).trim_end_matches(" records").to_string();
                let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                format!("{article} {words} record")
            }
        },
    }
}

/// What a type holds, for sentences about reading it ("your lab results, …").
fn things(resource_type: &str, owner: &str) -> String {
    match resource_type {
        "Patient" => format!("{owner} personal details"),
        t => format!("{owner} {}", noun(t)),
    }
}

/// "12 lab results, …, plus your personal details" from the references a read returned.
fn counted(row: &AuditRow, owner: &str) -> String {
    let mut by_type: Vec<(&str, usize)> = Vec::new();
    for r in row.ref_list() {
        let t = r.split('/').next().unwrap_or(r);
        match by_type.iter_mut().find(|(x, _)| *x == t) {
            Some((_, n)) => *n += 1,
            None => by_type.push((t, 1)),
        }
    }
    let listed: usize = by_type.iter().map(|(_, n)| n).sum();
    if row.ref_total > listed as i64 {
        let kinds: Vec<String> = by_type
            .iter()
            .map(|(t, _)| if *t == "Patient" { "personal details".to_string() } else { noun(t) })
            .collect();
        return format!("{} items: {} and more", row.ref_total, kinds.join("; "));
    }
    let parts: Vec<String> = by_type
        .iter()
        .map(|(t, n)| match (*t, *n) {
            ("Patient", 1) => format!("{owner} personal details"),
            ("Patient", n) => format!("{n} patients' personal details"),
            (t, 1) => format!("one of {owner} {}", noun(t)),
            (t, n) => format!("{n} {}", noun(t)),
        })
        .collect();
    parts.join(", plus ")
}

/// The sentence for one access. `yours`: the reader is the patient ("your"), else "the patient's".
pub fn sentence(row: &AuditRow, yours: bool) -> String {
    let owner = if yours { "your" } else { "the patient's" };
    let ty = row.res_type.as_deref();
    let i = Interaction::from_code(&row.interaction).unwrap_or(Interaction::Read);
    if row.status >= 400 {
        return failed(i, ty, owner, row.status);
    }
    let found_any = row.ref_total > 0;
    match i {
        Interaction::Read => format!("Read {}", ty.map(|t| one_of(t, owner)).unwrap_or_else(|| "a record".into())),
        Interaction::Vread => {
            format!("Read an earlier version of {}", ty.map(|t| one_of(t, owner)).unwrap_or_else(|| "a record".into()))
        }
        Interaction::SearchType | Interaction::SearchSystem if !found_any => match ty {
            Some(t) => format!("Looked for {} and found none", things(t, owner)),
            None => format!("Searched {owner} record and found nothing"),
        },
        Interaction::SearchType | Interaction::SearchSystem => format!("Read {}", counted(row, owner)),
        Interaction::HistoryInstance | Interaction::HistoryType => {
            format!(
                "Read the change history of {}",
                ty.map(|t| things(t, owner)).unwrap_or_else(|| format!("{owner} record"))
            )
        }
        Interaction::HistorySystem => format!("Read the change history of {owner} record"),
        Interaction::Operation if found_any => format!("Read {owner} whole health record ({} items)", row.ref_total),
        Interaction::Operation => format!("Opened {owner} whole health record (it was empty)"),
        Interaction::Create => format!("Added {}", singular(ty, owner)),
        Interaction::Update | Interaction::Patch => format!("Changed {}", singular(ty, owner)),
        Interaction::Delete => format!("Deleted {}", singular(ty, owner)),
        Interaction::Batch | Interaction::Transaction => "Sent a set of changes".into(),
    }
}

fn one_of(t: &str, owner: &str) -> String {
    match t {
        "Patient" => format!("{owner} personal details"),
        t => format!("one of {owner} {}", noun(t)),
    }
}

fn failed(i: Interaction, ty: Option<&str>, owner: &str, status: i32) -> String {
    let what = match i {
        Interaction::Read | Interaction::Vread => {
            format!("read {}", ty.map(|t| one_of(t, owner)).unwrap_or_else(|| "a record".into()))
        }
        Interaction::SearchType | Interaction::SearchSystem => match ty {
            Some(t) => format!("look through {}", things(t, owner)),
            None => format!("search {owner} record"),
        },
        Interaction::HistoryInstance | Interaction::HistoryType | Interaction::HistorySystem => {
            format!(
                "read the change history of {}",
                ty.map(|t| things(t, owner)).unwrap_or_else(|| format!("{owner} record"))
            )
        }
        Interaction::Operation => format!("read {owner} whole health record"),
        Interaction::Create => format!("add {}", singular(ty, owner)),
        Interaction::Update | Interaction::Patch => format!("change {}", singular(ty, owner)),
        Interaction::Delete => format!("delete {}", singular(ty, owner)),
        Interaction::Batch | Interaction::Transaction => "send a set of changes".into(),
    };
    let why = match status {
        401 | 403 => "not allowed",
        404 => "not found",
        410 => "it had been deleted",
        409 | 412 => "it had changed in the meantime",
        429 => "too many requests",
        s if s >= 500 => "the server failed",
        _ => "the request was refused",
    };
    format!("Tried to {what} ({why})")
}

/// "just now", "3 minutes ago", "2 hours ago", "yesterday", "5 days ago", or the date.
pub fn ago(now_ms: i64, then_ms: i64) -> String {
    let secs = now_ms.saturating_sub(then_ms).max(0) / 1000;
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s if s < 2 * 86_400 => "yesterday".into(),
        s if s < 30 * 86_400 => plural(s / 86_400, "day"),
        _ => format!("on {}", at(then_ms).get(..10).unwrap_or("")),
    }
}

/// "2026-11-26 10:04 UTC"
pub fn at(ms: i64) -> String {
    let text = crate::fhir::audit_event::instant_of(ms);
    format!("{} {} UTC", text.get(..10).unwrap_or(""), text.get(11..16).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(interaction: &str, res_type: Option<&str>, status: i32, refs: &str, total: i64) -> AuditRow {
        AuditRow {
            id: 1,
            recorded: 0,
            client_id: "c".into(),
            grant_id: None,
            fhir_user: None,
            patient_id: Some("p".into()),
            action: "R".into(),
            interaction: interaction.into(),
            res_type: res_type.map(str::to_string),
            method: "GET".into(),
            path: "/fhir".into(),
            status,
            refs: refs.into(),
            ref_total: total,
        }
    }

    #[test]
    fn sentences() {
        let obs = "Observation/1 Observation/2 Observation/3";
        assert_eq!(sentence(&row("read", Some("Patient"), 200, "Patient/p", 1), true), "Read your personal details");
        assert_eq!(
            sentence(&row("search-type", Some("Observation"), 200, &format!("{obs} Patient/p"), 4), true),
            "Read 3 lab results, vital signs and other measurements, plus your personal details"
        );
        assert_eq!(
            sentence(&row("search-type", Some("Goal"), 200, "", 0), true),
            "Looked for your health goals and found none"
        );
        assert_eq!(
            sentence(&row("create", Some("Observation"), 201, "Observation/9/_history/1", 1), true),
            "Added a measurement"
        );
        assert_eq!(sentence(&row("delete", Some("Appointment"), 204, "", 0), false), "Deleted an appointment");
        assert_eq!(
            sentence(&row("read", Some("Patient"), 404, "", 0), true),
            "Tried to read your personal details (not found)"
        );
        assert_eq!(
            sentence(&row("update", Some("FamilyMemberHistory"), 200, "", 1), true),
            "Changed a family health history entry"
        );
        assert_eq!(
            sentence(&row("create", Some("MedicationAdministration"), 201, "", 1), true),
            "Added a medicine given"
        );
        assert_eq!(
            sentence(&row("search-type", Some("SupplyDelivery"), 200, "SupplyDelivery/1 SupplyDelivery/2", 2), true),
            "Read 2 deliveries of supplies"
        );
        assert_eq!(sentence(&row("update", Some("Parameters"), 200, "", 1), true), "Changed a parameters record");
        assert_eq!(
            sentence(&row("search-type", Some("Observation"), 200, obs, 250), true),
            "Read 250 items: lab results, vital signs and other measurements and more"
        );
        assert_eq!(
            sentence(&row("operation", Some("Patient"), 200, obs, 3), true),
            "Read your whole health record (3 items)"
        );
    }

    #[test]
    fn every_served_type_has_activity_words() {
        assert!(SINGULAR.windows(2).all(|w| w[0].0 < w[1].0), "SINGULAR sorted by type");
        let served = crate::fhir::types::SUPPORTED_TYPES;
        for (t, _) in SINGULAR {
            assert!(served.contains(t), "{t} is no served type");
        }
        for t in served.iter().filter(|t| **t != "Patient") {
            let one = served_singular(t);
            assert!(one.is_some_and(|w| !w.is_empty()), "{t}: no activity words");
            for i in ["read", "search-type", "create", "update", "delete", "history-type"] {
                for (status, total, refs) in
                    [(200, 1, format!("{t}/1")), (200, 0, String::new()), (404, 0, String::new())]
                {
                    let text = sentence(&row(i, Some(t), status, &refs, total), true);
                    assert!(!text.to_lowercase().contains(&format!("{} record", t.to_lowercase())), "{t} {i}: {text}");
                    assert!(!text.contains(t), "{t} {i}: {text}");
                }
            }
        }
    }

    #[test]
    fn times() {
        let min = 60_000;
        assert_eq!(ago(10 * min, 10 * min), "just now");
        assert_eq!(ago(10 * min, 7 * min), "3 minutes ago");
        assert_eq!(ago(200 * min, 80 * min), "2 hours ago");
        assert_eq!(ago(3000 * min, 1000 * min), "yesterday");
        assert_eq!(ago(100 * 1440 * min, 0), "on 1970-01-01");
        assert_eq!(at(1_764_151_200_123), "2025-11-26 10:00 UTC");
    }
}
