//! One patient's transaction Bundle, built step by step from the tables: the storyline, the visits and
//! what they recorded, the appointments after them, goals, care team and care plans. The patient's
//! random stream is read in this order, so each step sees the same numbers every time.

use serde_json::Value;
use time::Date;

use super::care;
use super::json::{transaction, Rng};
use super::observations::{labs, vital_signs};
use super::patient::Patient;
use super::visits::{later_appointments, past_visit, History};

/// What the past visits recorded, in the order of the Bundle.
#[derive(Default)]
pub(super) struct Chart {
    pub appointments: Vec<Value>,
    pub encounters: Vec<Value>,
    pub observations: Vec<Value>,
    /// The id of the latest Observation of each LOINC code.
    pub latest: Vec<(&'static str, String)>,
}

/// Patient `n` (1-based) as of `today`: the Patient, Conditions, Appointments, Encounters,
/// Observations, Goals, CareTeam and CarePlans, as one transaction Bundle.
pub(super) fn patient_bundle(today: Date, n: usize) -> Value {
    let mut rng = Rng::new(n as u64);
    let p = Patient::new(today, n, &mut rng);
    let h = History::new(&p, today, &mut rng);
    let mut resources = vec![p.resource(&mut rng)];
    resources.extend(p.conditions(&h, &mut rng));

    let mut chart = Chart::default();
    for v in &h.visits {
        let Some((appointment, encounter)) = past_visit(&p, v, &mut rng) else { continue };
        chart.appointments.push(appointment);
        chart.encounters.push(encounter);
        vital_signs(&p, v, &mut rng, &mut chart);
        labs(&p, v, &mut rng, &mut chart);
    }
    let (later, upcoming) = later_appointments(&p, &h, today, &mut rng);
    chart.appointments.extend(later);

    let goals = care::goals(&p, &h, today, &mut rng);
    let care_team = care::care_team(&p, &h);
    let prior = care::prior_plan(&p, &h);
    let plan = care::care_plan(&p, &h, &chart, &goals, &upcoming, prior.is_some());

    // Referenced resources first, so the order is also a valid insertion order.
    resources.extend(chart.appointments);
    resources.extend(chart.encounters);
    resources.extend(chart.observations);
    resources.extend(goals.into_iter().map(|g| g.into_resource()));
    resources.push(care_team);
    resources.extend(prior);
    resources.push(plan);
    transaction(resources)
}
