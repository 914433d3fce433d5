//! The patient's visits: the past ones (drawn from the profile's schedule) with their fulfilled
//! Appointments and Encounters, and the appointments after them: a missed and a cancelled one for some
//! patients, then one to three upcoming ones.

use serde_json::{json, Value};
use time::Date;

use super::clinic::{clinic_ref, clinician, lab_ref, org_ref, practitioner_ref};
use super::json::{at, cc, coding, merge, res, rf, shift, tho, weekday, ymd, Rng};
use super::patient::{jd, Patient};
use super::tables::{Kind, VisitReason, VisitType, CHECKUP, FOLLOWUP, ROUTINE, VISIT_TYPES};
use super::{SCT, THO};

/// One past visit.
pub(super) struct Visit {
    pub date: Date,
    /// Start, in minutes after local midnight.
    pub minute: i64,
    pub kind: Kind,
    pub clinician: usize,
    /// The ids of its Appointment and Encounter.
    pub appt: String,
    pub enc: String,
    /// 0-based, in date order.
    pub index: usize,
    /// Where the visit lies between the first visit (0) and today (1).
    pub progress: f64,
    /// The patient's age in years on the day.
    pub age: f64,
    pub annual: bool,
    /// The most recent past visit.
    pub last: bool,
    /// Length in minutes.
    pub len: i64,
}

/// The past visits, and the dates the other resources are placed by.
pub(super) struct History {
    pub visits: Vec<Visit>,
    /// The first visit's day (a year ago when there was none), and its start.
    pub first: Date,
    pub first_minute: i64,
    /// The first visit's day as a FHIR date: when the care plan, care team and goals start.
    pub since: String,
}

impl History {
    /// The profile's past visits, each moved by up to 12 days (to a weekday) and started on a quarter
    /// hour from 8:00, none before the first birthday. Adults see the nurse practitioner for every other
    /// follow-up.
    #[rustfmt::skip]
    pub fn new(p: &Patient, today: Date, rng: &mut Rng) -> History {
        let mut visits: Vec<Visit> = Vec::new();
        for &(ago, kind) in p.profile.visits {
            let date = weekday(shift(today, -ago + rng.int(-12, 12)));
            if p.years_at(date) < 1.0 { continue; }
            let clinician = if !p.child && kind == Kind::FollowUp && visits.len() % 2 == 1 { 4 } else { p.gp };
            let i = visits.len() + 1;
            let annual = kind == Kind::Annual;
            visits.push(Visit { date, minute: 480 + 15 * rng.int(0, 32), kind, clinician,
                                appt: format!("{}-appt-{i:02}", p.key), enc: format!("{}-enc-{i:02}", p.key),
                                index: i - 1, progress: 0.0, age: p.years_at(date), annual, last: false,
                                len: if annual { 45 } else { 30 } });
        }
        let first = visits.first().map_or(shift(today, -365), |v| v.date);
        let first_minute = visits.first().map_or(540, |v| v.minute);
        let span = (jd(today) - jd(first)).max(1) as f64;
        let count = visits.len();
        for v in &mut visits {
            v.progress = (jd(v.date) - jd(first)) as f64 / span;
            v.last = v.index + 1 == count;
        }
        History { visits, first, first_minute, since: ymd(first) }
    }

    /// The day of the last annual visit (the first visit's when there was none).
    fn last_annual(&self) -> Date {
        self.visits.iter().rev().find(|v| v.kind == Kind::Annual).map_or(self.first, |v| v.date)
    }
}

/// An Appointment of the patient: `id`, `status`, day, start and length (minutes), type (v2-0276),
/// description, practitioner, Location, and the day it was booked.
pub(super) struct Booking<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub slot: (Date, i64, i64),
    pub typ: (&'a str, &'a str),
    pub description: &'a str,
    pub clinician: usize,
    pub location: &'a Value,
    pub created: Date,
}

impl Booking<'_> {
    /// The Appointment, with the fields of `extra` (an object) added at the end.
    #[rustfmt::skip]
    fn resource(&self, p: &Patient, extra: Value) -> Value {
        let (status, (date, minute, len), typ, clin) = (self.status, self.slot, self.typ, self.clinician);
        let mut a = res("Appointment", self.id, json!({
            "status": status, "serviceCategory": [general("service-category", "17")], "serviceType": [general("service-type", "124")],
            "specialty": [cc(SCT, clinician(clin).specialty.0, clinician(clin).specialty.1)],
            "appointmentType": tho("v2-0276", typ.0, typ.1), "description": self.description,
            "start": at(date, minute), "end": at(date, minute + len), "minutesDuration": len, "created": ymd(self.created),
            "participant": [
                {"actor": p.subject, "required": "required", "status": "accepted"},
                {"type": [tho("v3-ParticipationType", "ATND", "attender")], "actor": practitioner_ref(clin), "required": "required",
                 "status": if status == "proposed" { "needs-action" } else { "accepted" }},
                {"actor": self.location, "required": "required", "status": "accepted"}]}));
        merge(&mut a, extra);
        a
    }
}

/// General practice, coded in `system` (a terminology.hl7.org code system).
fn general(system: &str, code: &str) -> Value {
    tho(system, code, "General Practice")
}

/// How visit `v` is booked and recorded: the first row of [`VISIT_TYPES`] for its kind whose `when`
/// holds for the patient (every kind has a row without one).
fn visit_type(p: &Patient, v: &Visit) -> Option<&'static VisitType> {
    VISIT_TYPES.iter().find(|t| t.kind == v.kind && t.when.is_none_or(|w| p.tagged(w)))
}

/// `reasonReference` to all the patient's Conditions (nothing when there are none).
pub(super) fn condition_reason(p: &Patient) -> Value {
    let refs = p.condition_refs(None);
    if refs.is_empty() {
        json!({})
    } else {
        json!({"reasonReference": refs})
    }
}

/// The fulfilled Appointment and the Encounter of past visit `v` (when it was booked is drawn from
/// `rng`).
#[rustfmt::skip]
pub(super) fn past_visit(p: &Patient, v: &Visit, rng: &mut Rng) -> Option<(Value, Value)> {
    let vt = visit_type(p, v)?;
    let why = match vt.reason {
        VisitReason::Code(code, display) => json!({"reasonCode": [cc(SCT, code, display)]}),
        VisitReason::Conditions => condition_reason(p),
        VisitReason::None => json!({}),
    };
    let clinic = clinic_ref();
    let created = shift(v.date, -rng.int(7, 40));
    let booking = Booking { id: &v.appt, status: "fulfilled", slot: (v.date, v.minute, v.len), typ: vt.appointment,
                            description: vt.description, clinician: v.clinician, location: &clinic, created };
    let appointment = booking.resource(p, why.clone());
    let period = json!({"start": at(v.date, v.minute), "end": at(v.date, v.minute + v.len)});
    let mut enc = res("Encounter", &v.enc, json!({
        "status": "finished", "class": coding(&format!("{THO}v3-ActCode"), "AMB", "ambulatory"),
        "type": [cc(SCT, vt.encounter.0, vt.encounter.1)], "serviceType": general("service-type", "124"), "subject": p.subject,
        "participant": [{"type": [tho("v3-ParticipationType", "PPRF", "primary performer")], "period": period,
                         "individual": practitioner_ref(v.clinician)}],
        "appointment": [rf("Appointment", &v.appt)], "period": period}));
    merge(&mut enc, why);
    merge(&mut enc, json!({"location": [{"location": clinic, "status": "completed", "period": period}], "serviceProvider": org_ref()}));
    Some((appointment, enc))
}

/// Days ahead of the first, second and third upcoming appointment.
const UPCOMING_DAYS: [(i64, i64); 3] = [(5, 28), (45, 100), (150, 200)];

/// The appointments after the past visits: a missed one (every third patient) and a cancelled one
/// (every fourth), then one to three upcoming ones: the annual check-up when due, else a follow-up;
/// fasting blood work for adults; a proposed follow-up. Returns them and the ids of the upcoming ones.
#[rustfmt::skip]
pub(super) fn later_appointments(p: &Patient, h: &History, today: Date, rng: &mut Rng) -> (Vec<Value>, Vec<String>) {
    let (n, gp, child, visits) = (p.n, p.gp, p.child, &h.visits);
    let (clinic, lab, reason) = (clinic_ref(), lab_ref(), condition_reason(p));
    let mut appointments = Vec::new();
    let mut appt_count = visits.len();
    let mut appt_id = || { appt_count += 1; format!("{}-appt-{appt_count:02}", p.key) };
    if n % 3 == 2 && visits.len() > 2 {
        let (d, id) = (weekday(shift(visits[1].date, 40)), appt_id());
        let booking = Booking { id: &id, status: "noshow", slot: (d, 600, 30), typ: FOLLOWUP,
                                description: "Follow-up visit (patient did not attend)", clinician: gp, location: &clinic,
                                created: shift(d, -21) };
        appointments.push(booking.resource(p, reason.clone()));
    }
    if n % 4 == 1 && visits.len() > 3 {
        let (d, id) = (weekday(shift(visits[2].date, 30)), appt_id());
        let booking = Booking { id: &id, status: "cancelled", slot: (d, 840, 30), typ: FOLLOWUP,
                                description: "Follow-up visit", clinician: gp, location: &clinic, created: shift(d, -30) };
        appointments.push(booking.resource(p,
            json!({"cancelationReason": tho("appointment-cancellation-reason", "pat", "Patient"), "comment": "Patient called to reschedule."})));
    }
    let last_annual = h.last_annual();
    let mut upcoming = vec![];
    for u in 0..rng.int(1, 3) {
        let days = UPCOMING_DAYS.map(|(lo, hi)| rng.int(lo, hi))[u as usize];
        let (d, minute) = (weekday(shift(today, days)), 480 + 15 * rng.int(0, 32));
        let created = shift(today, -rng.int(1, 20)).min(shift(d, -7));
        let id = appt_id();
        let (status, slot, typ, description, clinician, location, extra) = match u {
            0 if jd(today) - jd(last_annual) > 300 => ("booked", (d, minute, 45), CHECKUP,
                if child { "Well-child visit" } else { "Annual physical" }, gp, &clinic, reason.clone()),
            0 => ("booked", (d, minute, 30), FOLLOWUP, "Care plan follow-up", gp, &clinic, reason.clone()),
            1 if !child => ("booked", (d, 450 + 15 * rng.int(0, 8), 15), ROUTINE, "Fasting blood work", gp, &lab,
                json!({"patientInstruction": "Please do not eat or drink anything except water for 8 hours before this appointment."})),
            _ => ("proposed", (d, minute, 30), FOLLOWUP, "Care plan follow-up", if child { gp } else { 4 }, &clinic,
                reason.clone()),
        };
        let booking = Booking { id: &id, status, slot, typ, description, clinician, location, created };
        appointments.push(booking.resource(p, extra));
        upcoming.push(id);
    }
    (appointments, upcoming)
}
