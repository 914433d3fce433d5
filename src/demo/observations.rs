//! The Observations of a past visit: the vital signs taken at the start ([`VITALS`]) and the laboratory
//! panels drawn at the end and resulted the next morning ([`LABS`]). Each value follows the patient's
//! physiology from the first visit to today, with measurement noise drawn from the patient's random
//! stream in table order.

use serde_json::{json, Value};

use super::bundle::Chart;
use super::clinic::practitioner_ref;
use super::json::{at, coding, interpretation, loinc, merge, qty, res, rf, round, shift, tho, trend, Rng};
use super::patient::Patient;
use super::tables::{
    Kind, Measure, BMI, BP_PANEL, CHOLESTEROL, CREATININE, DIASTOLIC, GLUCOSE, HBA1C, HDL, HEART_RATE, HEIGHT,
    HEMOGLOBIN, LDL, RESP_RATE, SPO2, SYSTOLIC, TEMPERATURE, WEIGHT,
};
use super::visits::Visit;
use super::LOINC;

impl Chart {
    /// Adds the Observation of measure `m` taken `minute` minutes after midnight on the day of `v`, with
    /// the fields of `value`, and remembers it as the latest of its measure.
    #[rustfmt::skip]
    fn observation(&mut self, p: &Patient, v: &Visit, m: &'static Measure, minute: i64, value: Value) {
        let id = format!("{}-obs-{:03}", p.key, self.observations.len() + 1);
        let (cat, cat_display) = if m.lab { ("laboratory", "Laboratory") } else { ("vital-signs", "Vital Signs") };
        let mut code = loinc(m);
        if m.loinc == SPO2.loinc {
            code["coding"] = json!([coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood"), coding(LOINC, m.loinc, m.display)]);
        }
        let issued = if m.lab { at(shift(v.date, 1), 540 + minute % 60) } else { at(v.date, minute + 2) };
        let mut o = res("Observation", &id, json!({
            "status": "final", "category": [tho("observation-category", cat, cat_display)], "code": code,
            "subject": p.subject, "encounter": rf("Encounter", &v.enc), "effectiveDateTime": at(v.date, minute),
            "issued": issued, "performer": [practitioner_ref(v.clinician)]}));
        merge(&mut o, value);
        self.latest.retain(|(l, _)| *l != m.loinc);
        self.latest.push((m.loinc, id));
        self.observations.push(o);
    }
}

/// Height and weight at a visit (drawn before any vital sign is recorded).
struct Body {
    height: f64,
    weight: f64,
}

/// A vital sign: its measure, when it is taken (minutes after the visit starts) and its value (`None`:
/// not taken at this visit).
struct Vital {
    measure: &'static Measure,
    minute: i64,
    value: fn(&Patient, &Visit, &Body, &mut Rng) -> Option<Value>,
}

/// The vital signs, in the order they are taken. Adults are measured for height at the annual visit only;
/// blood pressure from age 3.
#[rustfmt::skip]
const VITALS: &[Vital] = &[
    Vital { measure: &HEIGHT, minute: 8, value: |p, v, b, _| (p.child || v.annual).then(|| q(b.height, &HEIGHT)) },
    Vital { measure: &WEIGHT, minute: 8, value: |_, _, b, _| Some(q(b.weight, &WEIGHT)) },
    Vital { measure: &BMI, minute: 8, value: |_, _, b, _| Some(q(b.weight / (b.height * b.height / 10_000.0), &BMI)) },
    Vital { measure: &BP_PANEL, minute: 10, value: blood_pressure },
    Vital { measure: &HEART_RATE, minute: 10, value: |p, v, _, rng| {
        let rate = if p.child { child_rates(p, v.age).0 } else { p.physiology.heart_rate };
        Some(q(rate + rng.noise(5.0), &HEART_RATE))
    } },
    Vital { measure: &RESP_RATE, minute: 10, value: |p, v, _, rng| {
        let rate = if p.child { child_rates(p, v.age).1 } else { 15.0 };
        Some(q(rate + rng.noise(1.2), &RESP_RATE))
    } },
    Vital { measure: &TEMPERATURE, minute: 11, value: |_, v, _, rng| {
        Some(q(if v.kind == Kind::Symptom { 38.3 } else { 36.8 } + rng.noise(0.15), &TEMPERATURE))
    } },
    Vital { measure: &SPO2, minute: 11, value: |p, _, _, rng| Some(q((p.physiology.spo2 + rng.noise(0.6)).min(100.0), &SPO2)) },
];

/// `valueQuantity` of `v` in the unit of `m`.
fn q(v: f64, m: &Measure) -> Value {
    json!({"valueQuantity": qty(v, m)})
}

/// A child's resting heart rate and breathing rate at age `a` (from 12, their own heart rate).
fn child_rates(p: &Patient, a: f64) -> (f64, f64) {
    if a < 6.0 {
        (105.0, 25.0)
    } else if a < 12.0 {
        (88.0, 20.0)
    } else {
        (p.physiology.heart_rate, 16.0)
    }
}

/// Systolic and diastolic pressure as components of the blood pressure panel (from age 3).
#[rustfmt::skip]
fn blood_pressure(p: &Patient, v: &Visit, _: &Body, rng: &mut Rng) -> Option<Value> {
    if v.age < 3.0 {
        return None;
    }
    let (sys, dia) = (p.physiology.systolic, p.physiology.diastolic);
    let s = round(trend(sys.0, sys.1, v.progress) + rng.noise(4.0), 0);
    let d = round(trend(dia.0, dia.1, v.progress) + rng.noise(3.0), 0);
    let comp = |m: &Measure, v: f64, high: f64|
        json!({"code": loinc(m), "valueQuantity": qty(v, m), "interpretation": interpretation(v, None, Some(high))});
    Some(json!({"component": [comp(&SYSTOLIC, s, 129.0), comp(&DIASTOLIC, d, 79.0)]}))
}

/// Records the vital signs of visit `v`.
pub(super) fn vital_signs(p: &Patient, v: &Visit, rng: &mut Rng, chart: &mut Chart) {
    let height = p.height_at(v.age) + rng.noise(0.4);
    let (bmi0, bmi1) = p.physiology.bmi;
    let weight = round((trend(bmi0, bmi1, v.progress) + rng.noise(0.25)) * height * height / 10_000.0, 1);
    let body = Body { height, weight };
    for vital in VITALS {
        if let Some(value) = (vital.value)(p, v, &body, rng) {
            chart.observation(p, v, vital.measure, v.minute + vital.minute, value);
        }
    }
}

/// One laboratory result: the measure, the value and the reference range (either end may be open).
struct LabResult {
    measure: &'static Measure,
    value: f64,
    low: Option<f64>,
    high: Option<f64>,
}

/// What a laboratory panel is computed from: the patient, the visit, and the visit's HbA1c (drawn first,
/// whether or not it is ordered: fasting glucose follows it).
struct LabVisit<'a> {
    p: &'a Patient,
    v: &'a Visit,
    a1c: f64,
}

/// A laboratory panel: whether it is ordered at a visit, and its results (drawn only when ordered).
struct Lab {
    ordered: fn(&LabVisit) -> bool,
    results: fn(&LabVisit, &mut Rng) -> Vec<LabResult>,
}

/// The laboratory panels, in the order they are recorded. Children get a hemoglobin at their first
/// annual visit only.
#[rustfmt::skip]
const LABS: &[Lab] = &[
    Lab {
        ordered: |l| !l.p.child && (l.p.has("t2dm") || (l.p.has("prediabetes") && (l.v.annual || l.v.last))),
        results: |l, _| vec![LabResult { measure: &HBA1C, value: l.a1c, low: Some(4.0), high: Some(5.6) }],
    },
    Lab {
        ordered: |l| !l.p.child && (l.v.annual || l.p.has("t2dm")),
        results: |l, rng| {
            let fasting = if l.p.has("t2dm") || l.p.has("prediabetes") { 0.9 * (28.7 * l.a1c - 46.7) } else { 88.0 };
            vec![LabResult { measure: &GLUCOSE, value: fasting + rng.noise(6.0), low: Some(70.0), high: Some(99.0) }]
        },
    },
    Lab {
        ordered: |l| !l.p.child && (l.v.annual || (l.p.has("hld") && l.v.index == 3)),
        results: |l, rng| {
            let ph = &l.p.physiology;
            let (ldl, hdl) = (trend(ph.ldl.0, ph.ldl.1, l.v.progress) + rng.noise(5.0), ph.hdl + rng.noise(2.5));
            vec![
                LabResult { measure: &CHOLESTEROL, value: ldl + hdl + ph.vldl + rng.noise(3.0), low: None, high: Some(199.0) },
                LabResult { measure: &LDL, value: ldl, low: None, high: Some(99.0) },
                LabResult { measure: &HDL, value: hdl, low: Some(if l.p.female { 50.0 } else { 40.0 }), high: None },
            ]
        },
    },
    Lab {
        ordered: |l| !l.p.child && l.v.annual,
        results: |l, rng| {
            let (low, high) = if l.p.female { (0.59, 1.04) } else { (0.74, 1.35) };
            let value = l.p.physiology.creatinine + rng.noise(0.04);
            vec![LabResult { measure: &CREATININE, value, low: Some(low), high: Some(high) }]
        },
    },
    Lab {
        ordered: |l| l.v.annual && (l.v.index == 0 || !l.p.child),
        results: |l, rng| {
            let (low, high) = if l.p.child { (11.0, 14.5) } else if l.p.female { (11.6, 15.0) } else { (13.2, 16.6) };
            let value = l.p.physiology.hemoglobin + rng.noise(0.3);
            vec![LabResult { measure: &HEMOGLOBIN, value, low: Some(low), high: Some(high) }]
        },
    },
];

/// Records the laboratory results of visit `v` (drawn 5 minutes before its end).
#[rustfmt::skip]
pub(super) fn labs(p: &Patient, v: &Visit, rng: &mut Rng, chart: &mut Chart) {
    let drawn = v.minute + v.len - 5;
    let a1c = trend(p.physiology.a1c.0, p.physiology.a1c.1, v.progress) + rng.noise(0.1);
    let l = LabVisit { p, v, a1c };
    for lab in LABS.iter().filter(|lab| (lab.ordered)(&l)) {
        for r in (lab.results)(&l, rng) {
            let (m, low, high) = (r.measure, r.low, r.high);
            let val = round(r.value, m.places);
            let mut range = json!({});
            if let Some(l) = low { range["low"] = qty(l, m); }
            if let Some(h) = high { range["high"] = qty(h, m); }
            chart.observation(p, v, m, drawn, json!({"valueQuantity": qty(val, m), "interpretation": interpretation(val, low, high), "referenceRange": [range]}));
        }
    }
}
