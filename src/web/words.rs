//! What scopes mean, in plain words, for the consent page ("Read your lab results").
//!
//! Over 400 lines on purpose: most of it is the table of plain-words nouns and groups for every R4
//! resource type (one line each), which reads best in one place; the tests follow it.

use crate::smart::scopes::{Context, ResourceScope};

/// Whose data a sentence is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The signed-in user is the patient.
    Yours,
    /// A practitioner acting for one patient.
    ThePatients,
    /// A practitioner's own access (user/ scopes).
    Patients,
}

/// What each served resource type holds, as a patient would call it (plural, no article). Every served
/// type has one (a test checks it): these words are the consent page and the access log.
#[rustfmt::skip]
const NOUNS: &[(&str, &str)] = &[
    ("Account", "billing accounts"),
    ("ActivityDefinition", "definitions of care activities"),
    ("AdverseEvent", "harmful events and side effects"),
    ("AllergyIntolerance", "allergies"),
    ("Appointment", "appointments"),
    ("AppointmentResponse", "appointment replies"),
    ("AuditEvent", "access history entries"),
    ("Basic", "other health records"),
    ("Binary", "stored files"),
    ("BiologicallyDerivedProduct", "blood, tissue and cell products"),
    ("BodyStructure", "body site descriptions"),
    ("Bundle", "collections of records"),
    ("CapabilityStatement", "descriptions of health systems' features"),
    ("CarePlan", "care plans"),
    ("CareTeam", "care team"),
    ("CatalogEntry", "catalogue entries"),
    ("ChargeItem", "charges for care"),
    ("ChargeItemDefinition", "price lists"),
    ("Claim", "insurance claims"),
    ("ClaimResponse", "insurance claim decisions"),
    ("ClinicalImpression", "clinical assessments"),
    ("CodeSystem", "medical code lists"),
    ("Communication", "messages about your care"),
    ("CommunicationRequest", "requests to send messages"),
    ("CompartmentDefinition", "record grouping rules"),
    ("Composition", "clinical documents (summaries, discharge letters)"),
    ("ConceptMap", "code translation tables"),
    ("Condition", "health problems and diagnoses"),
    ("Consent", "consents and privacy choices"),
    ("Contract", "contracts and agreements"),
    ("Coverage", "insurance coverage"),
    ("CoverageEligibilityRequest", "insurance eligibility checks"),
    ("CoverageEligibilityResponse", "insurance eligibility answers"),
    ("DetectedIssue", "safety warnings (such as medicine interactions)"),
    ("Device", "medical devices"),
    ("DeviceDefinition", "medical device descriptions"),
    ("DeviceMetric", "device measurement settings"),
    ("DeviceRequest", "orders for medical equipment"),
    ("DeviceUseStatement", "medical devices you use"),
    ("DiagnosticReport", "test reports"),
    ("DocumentManifest", "document sets"),
    ("DocumentReference", "documents and clinical notes"),
    ("EffectEvidenceSynthesis", "research evidence summaries"),
    ("Encounter", "visits and hospital stays"),
    ("Endpoint", "health systems' connection details"),
    ("EnrollmentRequest", "insurance enrollment requests"),
    ("EnrollmentResponse", "insurance enrollment answers"),
    ("EpisodeOfCare", "episodes of care"),
    ("EventDefinition", "definitions of care events"),
    ("Evidence", "research evidence"),
    ("EvidenceVariable", "research evidence variables"),
    ("ExampleScenario", "example scenarios"),
    ("ExplanationOfBenefit", "insurance statements"),
    ("FamilyMemberHistory", "family health history"),
    ("Flag", "alerts and warnings on your record"),
    ("Goal", "health goals"),
    ("GraphDefinition", "record link rules"),
    ("Group", "groups you belong to"),
    ("GuidanceResponse", "care advice from decision support"),
    ("HealthcareService", "health services"),
    ("ImagingStudy", "scans and X-rays"),
    ("Immunization", "vaccinations"),
    ("ImmunizationEvaluation", "vaccination checks"),
    ("ImmunizationRecommendation", "recommended vaccinations"),
    ("ImplementationGuide", "health data standards guides"),
    ("InsurancePlan", "insurance plan descriptions"),
    ("Invoice", "invoices"),
    ("Library", "medical knowledge libraries"),
    ("Linkage", "links between copies of records"),
    ("List", "lists (such as medicine or problem lists)"),
    ("Location", "care locations"),
    ("Measure", "quality measure definitions"),
    ("MeasureReport", "quality measure reports"),
    ("Media", "photos, videos and recordings"),
    ("Medication", "medicine details"),
    ("MedicationAdministration", "medicines given to you"),
    ("MedicationDispense", "medicines handed out by a pharmacy"),
    ("MedicationKnowledge", "medicine information"),
    ("MedicationRequest", "prescriptions"),
    ("MedicationStatement", "medicines"),
    ("MedicinalProduct", "medicine product details"),
    ("MedicinalProductAuthorization", "medicine licences"),
    ("MedicinalProductContraindication", "medicine warnings (when not to take them)"),
    ("MedicinalProductIndication", "what medicines are for"),
    ("MedicinalProductIngredient", "medicine ingredients"),
    ("MedicinalProductInteraction", "medicine interactions"),
    ("MedicinalProductManufactured", "manufactured medicine details"),
    ("MedicinalProductPackaged", "medicine packaging details"),
    ("MedicinalProductPharmaceutical", "medicine dose forms"),
    ("MedicinalProductUndesirableEffect", "known medicine side effects"),
    ("MessageDefinition", "message definitions"),
    ("MessageHeader", "messages between health systems"),
    ("MolecularSequence", "genetic sequences"),
    ("NamingSystem", "identifier systems"),
    ("NutritionOrder", "diet and nutrition orders"),
    ("Observation", "lab results, vital signs and other measurements"),
    ("ObservationDefinition", "test definitions"),
    ("OperationDefinition", "health system operation definitions"),
    ("OperationOutcome", "processing results"),
    ("Organization", "care organizations"),
    ("OrganizationAffiliation", "links between care organizations"),
    ("Patient", "personal details (name, birth date, contact details)"),
    ("PaymentNotice", "payment notices"),
    ("PaymentReconciliation", "payment statements"),
    ("Person", "linked personal records"),
    ("PlanDefinition", "care guidelines and protocols"),
    ("Practitioner", "doctors' and nurses' details"),
    ("PractitionerRole", "doctors' and nurses' roles"),
    ("Procedure", "procedures and operations"),
    ("Provenance", "record history (who wrote what)"),
    ("Questionnaire", "questionnaires and forms"),
    ("QuestionnaireResponse", "questionnaire answers"),
    ("RelatedPerson", "family members and other contacts"),
    ("RequestGroup", "sets of care orders"),
    ("ResearchDefinition", "research question definitions"),
    ("ResearchElementDefinition", "research population definitions"),
    ("ResearchStudy", "research studies"),
    ("ResearchSubject", "research study participations"),
    ("RiskAssessment", "risk assessments"),
    ("RiskEvidenceSynthesis", "research risk summaries"),
    ("Schedule", "appointment calendars"),
    ("SearchParameter", "search definitions"),
    ("ServiceRequest", "orders and referrals"),
    ("Slot", "appointment times"),
    ("Specimen", "samples (blood, urine, tissue)"),
    ("SpecimenDefinition", "sample requirements"),
    ("StructureDefinition", "record format definitions"),
    ("StructureMap", "record conversion rules"),
    ("Subscription", "notification subscriptions"),
    ("Substance", "substances and materials"),
    ("SubstanceNucleicAcid", "substance details (nucleic acids)"),
    ("SubstancePolymer", "substance details (polymers)"),
    ("SubstanceProtein", "substance details (proteins)"),
    ("SubstanceReferenceInformation", "substance reference information"),
    ("SubstanceSourceMaterial", "substance source materials"),
    ("SubstanceSpecification", "substance specifications"),
    ("SupplyDelivery", "deliveries of supplies"),
    ("SupplyRequest", "supply orders"),
    ("Task", "care tasks"),
    ("TerminologyCapabilities", "code list services"),
    ("TestReport", "system test reports"),
    ("TestScript", "system test scripts"),
    ("ValueSet", "sets of medical codes"),
    ("VerificationResult", "checks of record details"),
    ("VisionPrescription", "glasses and contact lens prescriptions"),
];

/// The patient-readable noun of a served type (`None` for anything else).
pub fn served_noun(resource_type: &str) -> Option<&'static str> {
    NOUNS.binary_search_by(|(t, _)| (*t).cmp(resource_type)).ok().and_then(|i| NOUNS.get(i)).map(|(_, n)| *n)
}

/// The things a resource type holds, as a patient would call them. Every served type has its own words;
/// only names that are no served type fall back to "xyz records".
pub fn noun(resource_type: &str) -> String {
    if resource_type == "*" {
        return "whole health record".to_string();
    }
    if let Some(n) = served_noun(resource_type) {
        return n.to_string();
    }
    // Not a served type: "FamilyMemberHistory" → "family member history records"
    let mut out = String::new();
    for (i, c) in resource_type.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out + " records"
}

/// A narrower noun for common granular filters (`Observation?category=…|laboratory`).
fn filtered_noun(scope: &ResourceScope) -> Option<String> {
    let (param, value) = scope.filter.first()?;
    if scope.filter.len() != 1 || param != "category" {
        return None;
    }
    let code = value.rsplit('|').next().unwrap_or(value);
    let what = match (scope.resource_type.as_str(), code) {
        ("Observation", "laboratory") => "lab results",
        ("Observation", "vital-signs") => "vital signs",
        ("Observation", "social-history") => "social history (smoking, alcohol, work)",
        ("Observation", "survey") => "survey answers",
        ("Observation", "imaging") => "imaging results",
        ("Condition", "problem-list-item") => "problem list",
        ("Condition", "encounter-diagnosis") => "visit diagnoses",
        ("Condition", "health-concern") => "health concerns",
        ("DocumentReference", "clinical-note") => "clinical notes",
        ("DiagnosticReport", "LAB") => "lab reports",
        _ => return Some(format!("{} ({code} only)", noun(&scope.resource_type))),
    };
    Some(what.to_string())
}

/// One resource scope as a sentence: "Read your lab results", "See your appointments".
pub fn describe(scope: &ResourceScope, whose: Whose) -> String {
    let thing = filtered_noun(scope).unwrap_or_else(|| noun(&scope.resource_type));
    describe_as(scope, whose, &thing)
}

/// A resource scope's sentence with `thing` as what it reaches.
fn describe_as(scope: &ResourceScope, whose: Whose, thing: &str) -> String {
    let reads = scope.perms.contains('r') || scope.perms.contains('s');
    let read_verb = match scope.resource_type.as_str() {
        "Appointment" | "Encounter" | "CareTeam" | "Coverage" => "see",
        _ => "read",
    };
    let mut verbs: Vec<&str> = Vec::new();
    if reads {
        verbs.push(read_verb);
    }
    if scope.perms.contains('c') {
        verbs.push("add to");
    }
    if scope.perms.contains('u') {
        verbs.push("change");
    }
    if scope.perms.contains('d') {
        verbs.push("delete");
    }
    let verb = match verbs.as_slice() {
        [] => "use".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let owner = match (whose, scope.context) {
        (_, Context::System) => "all patients'",
        (Whose::Yours, _) => "your",
        (Whose::ThePatients, Context::Patient) => "this patient's",
        (Whose::ThePatients, _) | (Whose::Patients, _) => "patients'",
    };
    let sentence = format!("{verb} {owner} {thing}");
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => sentence,
    }
}

/// Plain words for the non-resource scopes; `None` for scopes not shown.
pub fn describe_other(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" | "fhirUser" => "Know who you are (your name and your link in this record)",
        "profile" => "See your name",
        "launch/patient" => "Know which patient's record is open",
        "launch" | "launch/encounter" => "Open with the patient and visit you are working on",
        "offline_access" => {
            "Keep access when you are not using the app (until the date shown, or until you take it back)"
        }
        "online_access" => "Keep access while you are using the app",
        _ => return None,
    })
}

/// What a `*` scope is split into on the consent page, so the patient can untick whole kinds of data.
/// Every served type is in exactly one group (a test checks it). The shared definitions (`knowledge`) hold
/// no patient's data; they are a group so that a `*` request can leave them out too.
pub const WILDCARD_GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "details",
        "personal details (name, birth date, contact details), family contacts and groups you belong to",
        &["Patient", "RelatedPerson", "Person", "Group", "Linkage"],
    ),
    (
        "results",
        "lab results, vital signs, test reports and images",
        &[
            "Observation",
            "DiagnosticReport",
            "Specimen",
            "ImagingStudy",
            "Media",
            "MolecularSequence",
            "BodyStructure",
            "RiskAssessment",
            "MeasureReport",
        ],
    ),
    (
        "visits",
        "appointments and visits",
        &["Appointment", "AppointmentResponse", "Encounter", "EpisodeOfCare", "Schedule", "Slot"],
    ),
    (
        "plans",
        "care plans, goals, orders and care team",
        &[
            "CarePlan",
            "Goal",
            "CareTeam",
            "ServiceRequest",
            "RequestGroup",
            "NutritionOrder",
            "DeviceRequest",
            "VisionPrescription",
            "GuidanceResponse",
            "Task",
        ],
    ),
    (
        "problems",
        "health problems, allergies and procedures",
        &[
            "Condition",
            "AllergyIntolerance",
            "Procedure",
            "FamilyMemberHistory",
            "AdverseEvent",
            "DetectedIssue",
            "Flag",
            "ClinicalImpression",
        ],
    ),
    (
        "medicines",
        "medicines and vaccinations",
        &[
            "MedicationRequest",
            "MedicationDispense",
            "MedicationAdministration",
            "MedicationStatement",
            "Medication",
            "Immunization",
            "ImmunizationEvaluation",
            "ImmunizationRecommendation",
        ],
    ),
    (
        "documents",
        "documents, clinical notes and devices",
        &[
            "DocumentReference",
            "DocumentManifest",
            "Composition",
            "List",
            "Binary",
            "Bundle",
            "Provenance",
            "Device",
            "DeviceUseStatement",
            "DeviceMetric",
            "BiologicallyDerivedProduct",
            "Basic",
        ],
    ),
    (
        "messages",
        "messages, questionnaire answers and consents",
        &["Communication", "CommunicationRequest", "QuestionnaireResponse", "Consent"],
    ),
    (
        "insurance",
        "insurance and billing",
        &[
            "Coverage",
            "Claim",
            "ClaimResponse",
            "ExplanationOfBenefit",
            "CoverageEligibilityRequest",
            "CoverageEligibilityResponse",
            "EnrollmentRequest",
            "EnrollmentResponse",
            "PaymentNotice",
            "PaymentReconciliation",
            "Account",
            "ChargeItem",
            "Invoice",
            "Contract",
            "InsurancePlan",
        ],
    ),
    (
        "administration",
        "care administration (supplies, deliveries, messages between health systems)",
        &["SupplyRequest", "SupplyDelivery", "MessageHeader", "Subscription", "OperationOutcome", "VerificationResult"],
    ),
    ("research", "research studies you take part in", &["ResearchStudy", "ResearchSubject"]),
    (
        "providers",
        "care providers (doctors, clinics, locations, services)",
        &[
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "OrganizationAffiliation",
            "Location",
            "HealthcareService",
            "Endpoint",
        ],
    ),
    (
        "knowledge",
        "medical knowledge shared by everyone (guidelines, forms, code lists, medicine information)",
        &[
            "ActivityDefinition",
            "CapabilityStatement",
            "CatalogEntry",
            "ChargeItemDefinition",
            "CodeSystem",
            "CompartmentDefinition",
            "ConceptMap",
            "DeviceDefinition",
            "EffectEvidenceSynthesis",
            "EventDefinition",
            "Evidence",
            "EvidenceVariable",
            "ExampleScenario",
            "GraphDefinition",
            "ImplementationGuide",
            "Library",
            "Measure",
            "MedicationKnowledge",
            "MedicinalProduct",
            "MedicinalProductAuthorization",
            "MedicinalProductContraindication",
            "MedicinalProductIndication",
            "MedicinalProductIngredient",
            "MedicinalProductInteraction",
            "MedicinalProductManufactured",
            "MedicinalProductPackaged",
            "MedicinalProductPharmaceutical",
            "MedicinalProductUndesirableEffect",
            "MessageDefinition",
            "NamingSystem",
            "ObservationDefinition",
            "OperationDefinition",
            "PlanDefinition",
            "Questionnaire",
            "ResearchDefinition",
            "ResearchElementDefinition",
            "RiskEvidenceSynthesis",
            "SearchParameter",
            "SpecimenDefinition",
            "StructureDefinition",
            "StructureMap",
            "Substance",
            "SubstanceNucleicAcid",
            "SubstancePolymer",
            "SubstanceProtein",
            "SubstanceReferenceInformation",
            "SubstanceSourceMaterial",
            "SubstanceSpecification",
            "TerminologyCapabilities",
            "TestReport",
            "TestScript",
            "ValueSet",
        ],
    ),
    ("activity", "access history (which apps read what, and when)", &["AuditEvent"]),
];

/// The consent choices of a `*` resource scope: (checkbox value, sentence) per group.
pub fn wildcard_choices(scope_text: &str, scope: &ResourceScope, whose: Whose) -> Vec<(String, String)> {
    WILDCARD_GROUPS
        .iter()
        .map(|(key, words, _)| (format!("{scope_text}#{key}"), describe_as(scope, whose, words)))
        .collect()
}

/// The scopes granted for a `*` scope given the ticked checkbox values: the scope itself when every
/// group is ticked, otherwise one scope per type of the ticked groups (same permissions and filter).
pub fn wildcard_granted(scope_text: &str, ticked: &[&str]) -> Vec<String> {
    let is_ticked = |key: &str| ticked.iter().any(|t| *t == format!("{scope_text}#{key}"));
    if WILDCARD_GROUPS.iter().all(|(key, _, _)| is_ticked(key)) {
        return vec![scope_text.to_string()];
    }
    let Some((head, rest)) = scope_text.split_once("/*.") else { return Vec::new() };
    WILDCARD_GROUPS
        .iter()
        .filter(|(key, _, _)| is_ticked(key))
        .flat_map(|(_, _, types)| types.iter().map(move |t| format!("{head}/{t}.{rest}")))
        .collect()
}

/// A granted scope string in plain words, one line each. Per-type scopes that together make up one of
/// the consent groups (what a patient granted after unticking some kinds of data) read as that group.
pub fn grant_lines(scope: &str, whose: Whose) -> Vec<String> {
    let parsed: Vec<(&str, Option<ResourceScope>)> =
        scope.split_whitespace().map(|s| (s, crate::smart::scopes::parse_resource_scope(s).ok().flatten())).collect();
    let mut covered: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    let push = |line: String, out: &mut Vec<String>| {
        if !out.contains(&line) {
            out.push(line);
        }
    };
    for (s, r) in &parsed {
        match r {
            Some(r) if !covered.contains(s) => {
                let group = WILDCARD_GROUPS.iter().find(|(_, _, types)| types.contains(&r.resource_type.as_str()));
                let members = group.and_then(|(_, words, types)| {
                    let same = |t: &str| {
                        parsed.iter().find(|(_, o)| {
                            o.as_ref().is_some_and(|o| {
                                o.resource_type == t
                                    && o.context == r.context
                                    && o.perms == r.perms
                                    && o.filter.is_empty()
                            })
                        })
                    };
                    let found: Vec<&str> = types.iter().filter_map(|t| same(t).map(|(text, _)| *text)).collect();
                    (r.filter.is_empty() && found.len() == types.len()).then_some((words, found))
                });
                match members {
                    Some((words, found)) => {
                        covered.extend(found);
                        push(describe_as(r, whose, words), &mut out);
                    }
                    None => push(describe(r, whose), &mut out),
                }
            }
            Some(_) => {}
            None => {
                if let Some(l) = describe_other(s) {
                    push(l.to_string(), &mut out);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smart::scopes::parse_resource_scope;

    fn s(t: &str) -> ResourceScope {
        parse_resource_scope(t).unwrap().unwrap()
    }

    #[test]
    fn sentences() {
        let lab =
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
        assert_eq!(describe(&s(lab), Whose::Yours), "Read your lab results");
        assert_eq!(describe(&s("patient/Appointment.read"), Whose::Yours), "See your appointments");
        assert_eq!(
            describe(&s("patient/MedicationRequest.cruds"), Whose::Yours),
            "Read, add to, change and delete your prescriptions"
        );
        assert_eq!(
            describe(&s("patient/AppointmentResponse.rs"), Whose::ThePatients),
            "Read this patient's appointment replies"
        );
        assert_eq!(describe(&s("user/*.rs"), Whose::Patients), "Read patients' whole health record");
        let choices = wildcard_choices("patient/*.rs", &s("patient/*.rs"), Whose::Yours);
        assert!(
            choices.iter().any(|(_, w)| w == "Read your lab results, vital signs, test reports and images"),
            "{choices:?}"
        );
        let all: Vec<&str> = choices.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(wildcard_granted("patient/*.rs", &all), vec!["patient/*.rs"]);
        let some: Vec<&str> = all.iter().copied().filter(|v| !v.ends_with("#insurance")).collect();
        let granted = wildcard_granted("patient/*.rs", &some);
        assert!(
            granted.contains(&"patient/Observation.rs".to_string()) && !granted.iter().any(|g| g.contains("Claim")),
            "{granted:?}"
        );
        let lines = grant_lines(&granted.join(" "), Whose::Yours);
        assert!(
            lines.contains(&"Read your lab results, vital signs, test reports and images".to_string()),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains("specimen")), "{lines:?}");
        for t in crate::fhir::types::SUPPORTED_TYPES {
            let n = WILDCARD_GROUPS.iter().filter(|(_, _, types)| types.contains(t)).count();
            assert_eq!(n, 1, "{t} must be in exactly one consent group");
        }
    }

    #[test]
    fn every_served_type_has_its_own_words() {
        assert!(NOUNS.windows(2).all(|w| w[0].0 < w[1].0), "NOUNS sorted by type");
        let served = crate::fhir::types::SUPPORTED_TYPES;
        for t in served {
            // Falling back to "xyz records" for a served type is a failure.
            assert!(served_noun(t).is_some_and(|n| !n.is_empty()), "{t} has no noun");
            assert_eq!(noun(t), served_noun(t).unwrap_or_default(), "{t}");
        }
        for (t, _) in NOUNS {
            assert!(served.contains(t), "{t} is no served type");
        }
        for (_, _, types) in WILDCARD_GROUPS {
            for t in *types {
                assert!(served.contains(t), "{t} in a group is no served type");
            }
        }
        assert_eq!(noun("Parameters"), "parameters records");
        assert_eq!(noun("MedicationAdministration"), "medicines given to you");
    }

    #[test]
    fn unticking_groups_grants_each_type_of_the_ticked_ones() {
        let scope = "patient/*.rs?category=x|y";
        let choices = wildcard_choices(scope, &s(scope), Whose::Yours);
        assert_eq!(choices.len(), WILDCARD_GROUPS.len());
        let all: Vec<&str> = choices.iter().map(|(v, _)| v.as_str()).collect();
        for leave_out in ["knowledge", "insurance", "activity", "details"] {
            let ticked: Vec<&str> = all.iter().copied().filter(|v| !v.ends_with(&format!("#{leave_out}"))).collect();
            let granted = wildcard_granted(scope, &ticked);
            let (_, _, left_out) = WILDCARD_GROUPS.iter().find(|(k, _, _)| *k == leave_out).unwrap();
            let expected: Vec<String> = crate::fhir::types::SUPPORTED_TYPES
                .iter()
                .filter(|t| !left_out.contains(t))
                .map(|t| format!("patient/{t}.rs?category=x|y"))
                .collect();
            let mut sorted = granted.clone();
            sorted.sort();
            assert_eq!(sorted, expected, "without {leave_out}");
            // Each granted scope parses back to one served type with the same permissions and filter.
            for g in &granted {
                let r = s(g);
                assert!(crate::fhir::types::is_supported(&r.resource_type), "{g}");
                assert_eq!(r.perms, "rs", "{g}");
                assert_eq!(r.filter.len(), 1, "{g}");
            }
        }
        // Nothing ticked: nothing granted; a scope without `/*.`: nothing.
        assert!(wildcard_granted(scope, &[]).is_empty());
        // The granted per-type scopes read back as the ticked groups' sentences.
        let ticked: Vec<&str> = all.iter().copied().filter(|v| !v.ends_with("#knowledge")).collect();
        let lines = grant_lines(
            &wildcard_granted(
                "patient/*.rs",
                &ticked
                    .iter()
                    .map(|v| v.replace(scope, "patient/*.rs"))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .join(" "),
            Whose::Yours,
        );
        assert_eq!(lines.len(), WILDCARD_GROUPS.len() - 1, "{lines:?}");
        assert!(lines.contains(&"Read your medicines and vaccinations".to_string()), "{lines:?}");
    }
}
