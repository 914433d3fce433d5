//! Care planning: the patient's goals ([`GOALS`], else a body mass index goal), the care team, the
//! active care plan (goals, the home activities of [`ACTIVITIES`], the last two visits and the upcoming
//! appointments) and, for some profiles, the completed plan it replaced.

use serde_json::{json, Value};
use time::Date;

use super::bundle::Chart;
use super::clinic::{org_ref, practitioner_ref};
use super::json::{cc, coding, loinc, narrative, qty, res, rf, rfd, round, shift, tho, ymd, Rng};
use super::patient::Patient;
use super::tables::{Activity, Target, TargetValue, ACTIVITIES, BMI, BP_PANEL, GOALS, HBA1C, LDL, WEIGHT};
use super::visits::History;
use super::{LOINC, SCT};

/// A Goal: its id, its text (the display of references to it) and the resource.
pub(super) struct Goal {
    id: String,
    text: String,
    resource: Value,
}

impl Goal {
    pub fn into_resource(self) -> Value {
        self.resource
    }
}

/// The patient's goals: each row of [`GOALS`] whose tag the patient has, else one body mass index goal.
/// All start at the first visit and are due in 90-180 days (drawn from `rng`).
#[rustfmt::skip]
pub(super) fn goals(p: &Patient, h: &History, today: Date, rng: &mut Rng) -> Vec<Goal> {
    let due = ymd(shift(today, 90 + rng.int(0, 90)));
    let goal = |gkey: &str, desc: &str, addresses: Vec<Value>, targets: Vec<Value>| {
        let id = format!("{}-goal-{gkey}", p.key);
        let (code, display) = if targets.is_empty() || gkey == "bmi" { ("in-progress", "In Progress") } else { ("improving", "Improving") };
        let mut g = res("Goal", &id, json!({"lifecycleStatus": "active", "achievementStatus": tho("goal-achievement", code, display),
            "description": {"text": desc}, "subject": p.subject, "startDate": h.since}));
        if !targets.is_empty() { g["target"] = json!(targets); }
        g["expressedBy"] = practitioner_ref(p.gp);
        if !addresses.is_empty() { g["addresses"] = json!(addresses); }
        Goal { id, text: desc.to_string(), resource: g }
    };
    let target = |t: &Target| {
        let v = match t.value {
            TargetValue::Fixed(v) => v,
            TargetValue::ShareOfStartWeight(share) => round(p.start_weight() * share, 1),
        };
        let mut q = qty(v, t.measure);
        q["comparator"] = json!(t.comparator);
        json!({"measure": loinc(t.measure), "detailQuantity": q, "dueDate": due})
    };
    let mut out: Vec<Goal> = GOALS
        .iter()
        .filter(|g| p.tagged(g.when))
        .map(|g| goal(g.key, g.text, p.condition_refs(Some(g.addresses)), g.targets.iter().map(target).collect()))
        .collect();
    if out.is_empty() {
        let t = if p.child { json!({"measure": loinc(&BMI), "dueDate": due}) }
            else { json!({"measure": loinc(&BMI), "detailRange": {"low": qty(18.5, &BMI), "high": qty(24.9, &BMI)}, "dueDate": due}) };
        out.push(goal("bmi", if p.child { "Healthy growth: BMI between the 5th and 85th percentile for age" } else { "Keep a healthy body mass index" },
                      vec![], vec![t]));
    }
    out
}

/// The id of the patient's care team.
fn care_team_id(p: &Patient) -> String {
    format!("{}-careteam", p.key)
}

/// The care team: the patient, their practitioner and, for adults, the nurse practitioner.
#[rustfmt::skip]
pub(super) fn care_team(p: &Patient, h: &History) -> Value {
    let member = |code: &str, display: &str, who: Value| {
        let mut m = json!({"role": [cc(SCT, code, display)], "member": who});
        if code != "116154003" { m["onBehalfOf"] = org_ref(); }
        m
    };
    let mut members = vec![member("116154003", "Patient", p.subject.clone()),
                           member("223366009", "Healthcare professional (occupation)", practitioner_ref(p.gp))];
    if !p.child { members.push(member("223366009", "Healthcare professional (occupation)", practitioner_ref(4))); }
    res("CareTeam", &care_team_id(p), json!({
        "status": "active", "category": [cc(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team")],
        "name": format!("Primary care team for {}", p.name), "subject": p.subject, "period": {"start": h.since},
        "participant": members, "managingOrganization": [org_ref()]}))
}

/// The care plan categories: US Core's assess-plan and the profile's SNOMED CT category.
fn categories(p: &Patient) -> Value {
    json!([
        cc(
            "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
            "assess-plan",
            "Assessment and Plan of Treatment"
        ),
        cc(SCT, p.profile.category.0, p.profile.category.1)
    ])
}

/// The id of the completed plan the active one replaced.
fn prior_plan_id(p: &Patient) -> String {
    format!("{}-careplan-prior", p.key)
}

/// The completed care plan of the profile's [`super::tables::Profile::prior_plan`], if it has one.
#[rustfmt::skip]
pub(super) fn prior_plan(p: &Patient, h: &History) -> Option<Value> {
    let prior = p.profile.prior_plan.as_ref()?;
    let (title, desc, what) = (prior.title, prior.description, prior.activity_text);
    let code = cc(SCT, prior.activity.0, prior.activity.1);
    let start = ymd(shift(h.first, -400));
    Some(res("CarePlan", &prior_plan_id(p), json!({
        "text": narrative(title, "completed", &p.name, &start, &[desc.to_string()]), "status": "completed", "intent": "plan",
        "category": categories(p), "title": title, "description": desc, "subject": p.subject,
        "period": {"start": start, "end": ymd(shift(h.first, -20))}, "created": start, "author": practitioner_ref(p.gp),
        "addresses": p.condition_refs(None), "activity": [{"detail": {"code": code, "status": "completed", "description": what}}]})))
}

/// The home activities of the care plan: those of [`ACTIVITIES`] for the patient's problems, a healthy
/// diet where the profile has one (adults), exercise for adults or active play for some children.
fn activities(p: &Patient) -> Vec<&'static Activity> {
    let mut tags: Vec<&str> = p.problems.iter().map(|pr| pr.key).collect();
    if p.profile.diet && !p.child {
        tags.push("diet");
    }
    if !p.child {
        tags.push("exercise");
    } else if p.profile.active_play {
        tags.push("play");
    }
    ACTIVITIES.iter().filter(|a| tags.contains(&a.when)).collect()
}

/// The active care plan: goals, home activities (with the Conditions and goals they serve), the last
/// two visits and the `upcoming` appointments; supported by the latest HbA1c, blood pressure, LDL and
/// weight; replacing the prior plan when `replaces`.
#[rustfmt::skip]
pub(super) fn care_plan(p: &Patient, h: &History, chart: &Chart, goals: &[Goal], upcoming: &[String], replaces: bool) -> Value {
    let (subject, name, since, visits) = (&p.subject, &p.name, &h.since, &h.visits);
    let cond_refs = p.condition_refs(None);
    let goal_refs: Vec<Value> = goals.iter().map(|g| rfd("Goal", &g.id, &g.text)).collect();
    let details = activities(p);
    let mut activity: Vec<Value> = visits.iter().skip(visits.len().saturating_sub(2))
        .map(|v| json!({"outcomeReference": [rf("Encounter", &v.enc)], "reference": rf("Appointment", &v.appt)})).collect();
    activity.extend(upcoming.iter().map(|id| json!({"reference": rf("Appointment", id)})));
    for a in &details {
        let code = a.code.map_or_else(|| json!({"text": a.text}), |(c, d)| json!({"coding": [coding(SCT, c, d)], "text": a.text}));
        let mut d = json!({"code": code, "status": "in-progress",
                           "scheduledTiming": {"repeat": {"frequency": a.freq, "period": 1, "periodUnit": a.unit}},
                           "performer": [subject], "description": a.description});
        let refs = p.condition_refs(Some(&[a.when]));
        let why = if refs.is_empty() { cond_refs.clone() } else { refs };
        if !why.is_empty() { d["reasonReference"] = json!(why); }
        d["goal"] = json!(goal_refs);
        activity.push(json!({"detail": d}));
    }
    let support: Vec<Value> = [HBA1C.loinc, BP_PANEL.loinc, LDL.loinc, WEIGHT.loinc].iter()
        .filter_map(|l| chart.latest.iter().find(|(x, _)| x == l)).map(|(_, id)| rf("Observation", id)).collect();
    let mut items: Vec<String> = goals.iter().map(|g| format!("Goal: {}", g.text)).collect();
    items.extend(details.iter().map(|a| a.description.to_string()));
    let title = p.profile.title;
    let mut careplan = res("CarePlan", &format!("{}-careplan", p.key), json!({
        "text": narrative(title, "active", name, since, &items), "status": "active", "intent": "plan", "category": categories(p),
        "title": title, "description": format!("{title} agreed with {name}: goals, home activities and scheduled visits."),
        "subject": subject, "period": {"start": since}, "created": since, "author": practitioner_ref(p.gp),
        "contributor": [practitioner_ref(p.gp), subject], "careTeam": [rf("CareTeam", &care_team_id(p))]}));
    if replaces { careplan["replaces"] = json!([rf("CarePlan", &prior_plan_id(p))]); }
    if !cond_refs.is_empty() { careplan["addresses"] = json!(cond_refs); }
    if !support.is_empty() { careplan["supportingInfo"] = json!(support); }
    careplan["goal"] = json!(goal_refs);
    careplan["activity"] = json!(activity);
    careplan
}
