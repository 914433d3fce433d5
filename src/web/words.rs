//! What scopes mean, in plain words, for the consent page ("Read your lab results").

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

/// The things a resource type holds, as a patient would call them.
pub fn noun(resource_type: &str) -> String {
    let known = match resource_type {
        "*" => "whole health record",
        "AllergyIntolerance" => "allergies",
        "Appointment" => "appointments",
        "CarePlan" => "care plans",
        "CareTeam" => "care team",
        "Condition" => "health problems and diagnoses",
        "Coverage" => "insurance coverage",
        "Device" => "medical devices",
        "DiagnosticReport" => "test reports",
        "DocumentReference" => "documents and clinical notes",
        "Encounter" => "visits and hospital stays",
        "Goal" => "health goals",
        "Immunization" => "vaccinations",
        "Location" => "care locations",
        "Medication" => "medicine details",
        "MedicationRequest" => "prescriptions",
        "MedicationStatement" => "medicines",
        "Observation" => "lab results, vital signs and other measurements",
        "Organization" => "care organizations",
        "Patient" => "personal details (name, birth date, contact details)",
        "Practitioner" => "doctors' and nurses' details",
        "PractitionerRole" => "doctors' and nurses' roles",
        "Procedure" => "procedures and operations",
        "Provenance" => "record history (who wrote what)",
        "QuestionnaireResponse" => "questionnaire answers",
        "ServiceRequest" => "orders and referrals",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // "FamilyMemberHistory" → "family member history records"
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
    let thing = filtered_noun(scope).unwrap_or_else(|| noun(&scope.resource_type));
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
        "offline_access" => "Keep access when you are not using the app, until you take it back",
        "online_access" => "Keep access while you are using the app",
        _ => return None,
    })
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
        let lab = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
        assert_eq!(describe(&s(lab), Whose::Yours), "Read your lab results");
        assert_eq!(describe(&s("patient/Appointment.read"), Whose::Yours), "See your appointments");
        assert_eq!(describe(&s("patient/MedicationRequest.cruds"), Whose::Yours), "Read, add to, change and delete your prescriptions");
        assert_eq!(describe(&s("patient/AppointmentResponse.rs"), Whose::ThePatients), "Read this patient's appointment response records");
        assert_eq!(describe(&s("user/*.rs"), Whose::Patients), "Read patients' whole health record");
    }
}
