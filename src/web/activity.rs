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

/// "one measurement" style nouns for single writes, by type.
fn singular(resource_type: Option<&str>, owner: &str) -> String {
    let known = match resource_type.unwrap_or("") {
        "Patient" => return format!("{owner} personal details"),
        "AllergyIntolerance" => "an allergy",
        "Appointment" => "an appointment",
        "CarePlan" => "a care plan",
        "CareTeam" => "a care team",
        "Condition" => "a health problem",
        "Coverage" => "insurance coverage",
        "Device" => "a medical device",
        "DiagnosticReport" => "a test report",
        "DocumentReference" => "a document",
        "Encounter" => "a visit",
        "Goal" => "a health goal",
        "Immunization" => "a vaccination",
        "Location" => "a care location",
        "Medication" => "medicine details",
        "Organization" => "a care organization",
        "Practitioner" => "a doctor's or nurse's details",
        "PractitionerRole" => "a doctor's or nurse's role",
        "Provenance" => "a record history entry",
        "MedicationRequest" => "a prescription",
        "MedicationStatement" => "a medicine",
        "Observation" => "a measurement",
        "Procedure" => "a procedure",
        "QuestionnaireResponse" => "questionnaire answers",
        "ServiceRequest" => "an order or referral",
        "" => "a record",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let words = noun(resource_type.unwrap_or("")).trim_end_matches(" records").to_string();
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {words} record")
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
    let text = crate::audit::event::instant_of(ms);
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
            "Changed a family member history record"
        );
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
