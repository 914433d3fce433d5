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
/// Every served type is in exactly one group (a test checks it).
pub const WILDCARD_GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "details",
        "personal details (name, birth date, contact details) and family contacts",
        &["Patient", "RelatedPerson"],
    ),
    (
        "results",
        "lab results, vital signs, test reports and images",
        &["Observation", "DiagnosticReport", "Specimen", "ImagingStudy", "Media"],
    ),
    ("visits", "appointments and visits", &["Appointment", "AppointmentResponse", "Encounter", "Schedule", "Slot"]),
    ("plans", "care plans, goals and care team", &["CarePlan", "Goal", "CareTeam", "ServiceRequest"]),
    ("problems", "health problems, allergies and procedures", &["Condition", "AllergyIntolerance", "Procedure"]),
    (
        "medicines",
        "medicines and vaccinations",
        &["MedicationRequest", "MedicationDispense", "Medication", "Immunization"],
    ),
    ("documents", "documents, clinical notes and devices", &["DocumentReference", "Provenance", "Device"]),
    ("insurance", "insurance and billing", &["Coverage", "Claim", "ExplanationOfBenefit"]),
    (
        "providers",
        "care providers (doctors, clinics, locations)",
        &["Practitioner", "PractitionerRole", "Organization", "Location", "Endpoint"],
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
            "Read this patient's appointment response records"
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
}
