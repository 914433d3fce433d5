//! The synthetic demo data set that `bedside serve --demo` seeds: a clinic (Organization, Locations,
//! Practitioners, PractitionerRoles) and `patients` patients with two years of visits, vital signs and
//! labs, chronic problems, goals, a care team and an active care plan with upcoming appointments.
//!
//! Pure and deterministic: a fixed-seed SplitMix64 per patient (so patient 3 is the same whatever the
//! count), only exactly-rounded float arithmetic, every date relative to `today`. Every resource has a
//! fixed id and is written with `PUT {type}/{id}`; references are relative (`Patient/demo-patient-01`).
//! Tables of names and codes live in `tables.rs`; `seed` stores the data set, `logins` adds the demo
//! sign-ins and app.

use serde_json::{json, Value};
use time::{Date, Weekday};

pub mod logins;
pub mod seed;
mod tables;
use tables::*;

pub const DEFAULT_DEMO_PATIENTS: usize = 25;

const SEED: u64 = 0x0BED_51DE_D0E5_EED5;
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
    let mut out = vec![shared_bundle()];
    out.extend((1..=patients).map(|n| patient_bundle(today, n)));
    out
}

// ------------------------------------------------------------------------------ helpers

/// SplitMix64: tiny and identical on every machine.
struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Rng {
        Rng(SEED ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / 9_007_199_254_740_992.0
    }
    fn range(&mut self, (lo, hi): (f64, f64)) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    /// Roughly normal noise with standard deviation `sd` (sum of three uniforms).
    fn noise(&mut self, sd: f64) -> f64 {
        (self.unit() + self.unit() + self.unit() - 1.5) * 2.0 * sd
    }
}

/// A JSON decimal written with exactly `places` decimals ("1.50" stays "1.50" under arbitrary_precision).
fn dec(v: f64, places: usize) -> Value {
    serde_json::from_str(&format!("{v:.places$}")).unwrap_or(Value::Null)
}
fn round(v: f64, places: usize) -> f64 {
    format!("{v:.places$}").parse().unwrap_or(v)
}
fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}
fn cc(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [coding(system, code, display)], "text": display})
}
fn tho(code_system: &str, code: &str, display: &str) -> Value {
    cc(&format!("{THO}{code_system}"), code, display)
}
fn loinc(m: &Measure) -> Value {
    cc(LOINC, m.loinc, m.display)
}
fn rf(kind: &str, id: &str) -> Value {
    json!({"reference": format!("{kind}/{id}")})
}
fn rfd(kind: &str, id: &str, display: &str) -> Value {
    json!({"reference": format!("{kind}/{id}"), "display": display})
}
fn qty(v: f64, m: &Measure) -> Value {
    json!({"value": dec(v, m.places), "unit": m.unit, "system": UCUM, "code": m.ucum})
}
fn shift(d: Date, days: i64) -> Date {
    Date::from_julian_day(d.to_julian_day() + days as i32).unwrap_or(d)
}
/// Moves a weekend day to the nearest weekday.
fn weekday(d: Date) -> Date {
    match d.weekday() {
        Weekday::Saturday => shift(d, -1),
        Weekday::Sunday => shift(d, 1),
        _ => d,
    }
}
fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
/// `minute` minutes after local midnight of `d`, as a FHIR dateTime/instant with the clinic offset.
fn at(d: Date, minute: i64) -> String {
    let (d, m) = (shift(d, minute.div_euclid(1440)), minute.rem_euclid(1440));
    format!("{}T{:02}:{:02}:00{TZ}", ymd(d), m / 60, m % 60)
}
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
/// Adds the fields of `extra` (an object) to `target` (an object).
fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(t), Value::Object(x)) = (target, extra) {
        t.extend(x);
    }
}
/// A resource: `resourceType`, `id` and the demo tag first, then the fields of `body`.
fn res(kind: &str, id: &str, body: Value) -> Value {
    let tag = json!({"tag": [{"system": TAG_SYSTEM, "code": "demo", "display": "Bedside demo data"}]});
    let mut r = json!({"resourceType": kind, "id": id, "meta": tag});
    merge(&mut r, body);
    // Claim the US Core profile the resource is built to (a test checks the must-support elements).
    if let Some(profile) = crate::fhir::us_core::profile_for(&r) {
        r["meta"]["profile"] = json!([profile]);
    }
    r
}
fn transaction(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!("{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""));
            json!({"resource": r, "request": {"method": "PUT", "url": url}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entry})
}
/// A 10-digit NPI: `base` (9 digits) plus the Luhn check digit computed over "80840" + `base`.
fn npi(base: u64) -> String {
    let digits = format!("80840{base:09}");
    let doubled = |d: u32| if d * 2 > 9 { d * 2 - 9 } else { d * 2 };
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| if i % 2 == 0 { doubled(u32::from(b - b'0')) } else { u32::from(b - b'0') })
        .sum();
    format!("{base:09}{}", (10 - sum % 10) % 10)
}
fn clinician(n: usize) -> &'static Clinician {
    &CLINICIANS[(n - 1) % CLINICIANS.len()]
}
fn practitioner_ref(n: usize) -> Value {
    let c = clinician(n);
    rfd("Practitioner", &format!("demo-practitioner-{n}"), &format!("{} {}, {}", c.given, c.family, c.suffix))
}
fn org_ref() -> Value {
    rfd("Organization", ORG, "Bedside Demo Clinic")
}
fn clinic_address(line: &str) -> Value {
    json!({"use": "work", "type": "physical", "line": [line], "city": "Boston", "state": "MA",
           "postalCode": "02118", "country": "US"})
}
/// (value, low, high) -> Observation interpretation H / L / N.
fn interpretation(v: f64, low: Option<f64>, high: Option<f64>) -> Value {
    let (code, display) = match (low, high) {
        (Some(l), _) if v < l => ("L", "Low"),
        (_, Some(h)) if v > h => ("H", "High"),
        _ => ("N", "Normal"),
    };
    json!([tho("v3-ObservationInterpretation", code, display)])
}
/// Value at `t` (0 = first visit, 1 = today), moving from `a` to `b` fastest at first, as treatment works.
fn trend(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * (1.0 - (1.0 - t) * (1.0 - t))
}
fn narrative(title: &str, status: &str, who: &str, since: &str, items: &[String]) -> Value {
    let lis: String = items.iter().map(|i| format!("<li>{}</li>", xml_escape(i))).collect();
    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>{}</b> ({status}) for {}, since {since}.</p><ul>{lis}</ul></div>",
        xml_escape(title),
        xml_escape(who)
    );
    json!({"status": "generated", "div": div})
}

// ------------------------------------------------------------------------------ the clinic

#[rustfmt::skip]
fn shared_bundle() -> Value {
    let phone = |v: &str| json!({"system": "phone", "value": v, "use": "work"});
    let clinic = rfd("Location", CLINIC, "Bedside Demo Clinic - Primary Care");
    let mut out = vec![
        res("Organization", ORG, json!({
            "identifier": [{"system": NPI_SYSTEM, "value": npi(199_000_410)}], "active": true,
            "type": [tho("organization-type", "prov", "Healthcare Provider")], "name": "Bedside Demo Clinic",
            "telecom": [phone("(617) 555-0100"), {"system": "email", "value": "frontdesk@bedside.example", "use": "work"}],
            "address": [clinic_address("250 Harrison Avenue")]})),
        res("Location", CLINIC, json!({
            "status": "active", "name": "Bedside Demo Clinic - Primary Care", "mode": "instance",
            "type": [tho("v3-RoleCode", "FMC", "Family Medicine Clinic")], "telecom": [phone("(617) 555-0100")],
            "address": clinic_address("250 Harrison Avenue"), "physicalType": tho("location-physical-type", "bu", "Building"),
            "managingOrganization": org_ref()})),
        res("Location", LAB, json!({
            "status": "active", "name": "Bedside Demo Clinic - Laboratory", "mode": "instance",
            "type": [tho("v3-RoleCode", "MBL", "medical laboratory")], "telecom": [phone("(617) 555-0109")],
            "address": clinic_address("250 Harrison Avenue, Suite 110"), "physicalType": tho("location-physical-type", "ro", "Room"),
            "managingOrganization": org_ref(), "partOf": clinic})),
    ];
    for (i, c) in CLINICIANS.iter().enumerate() {
        let n = i + 1;
        let mut name = json!({"use": "official", "family": c.family, "given": [c.given], "suffix": [c.suffix]});
        if let Some(p) = c.prefix {
            name["prefix"] = json!([p]);
        }
        let email = format!("{}.{}@bedside.example", c.given, c.family).to_lowercase();
        out.push(res("Practitioner", &format!("demo-practitioner-{n}"), json!({
            "identifier": [{"system": NPI_SYSTEM, "value": npi(123_456_700 + n as u64 * 11)}], "active": true, "name": [name],
            "telecom": [phone(&format!("(617) 555-01{:02}", 10 + n)), {"system": "email", "value": email, "use": "work"}],
            "address": [clinic_address("250 Harrison Avenue")], "gender": c.gender,
            "qualification": [{"code": tho("v2-0360|2.7", c.degree.0, c.degree.1),
                               "issuer": {"display": "Massachusetts Board of Registration in Medicine"}}]})));
    }
    for (i, c) in CLINICIANS.iter().enumerate() {
        let n = i + 1;
        out.push(res("PractitionerRole", &format!("demo-practitionerrole-{n}"), json!({
            "active": true, "practitioner": practitioner_ref(n), "organization": org_ref(),
            "code": [cc("http://nucc.org/provider-taxonomy", c.taxonomy.0, c.taxonomy.1)],
            "specialty": [cc(SCT, c.specialty.0, c.specialty.1)], "location": [clinic],
            "telecom": [phone(&format!("(617) 555-01{:02}", 10 + n))]})));
    }
    transaction(out)
}

// ------------------------------------------------------------------------------ a patient

struct Visit {
    date: Date,
    minute: i64,
    kind: Kind,
    clinician: usize,
    appt: String,
    enc: String,
}

#[rustfmt::skip]
fn patient_bundle(today: Date, n: usize) -> Value {
    let mut rng = Rng::new(n as u64);
    let (pid, key) = (format!("demo-patient-{n:02}"), format!("demo-p{n:02}"));
    let pi = (n - 1) % PROFILES.len();
    let profile = &PROFILES[pi];
    let has = |k: &str| profile.problems.iter().any(|p| p.key == k);
    let (diabetic, htn, lipids, asthma, prediabetic) = (has("t2dm"), has("htn"), has("hld"), has("asthma"), has("prediabetes"));
    let age = if pi == 4 && (n / 8).is_multiple_of(2) { rng.int(3, 4) } else { rng.int(profile.ages.0, profile.ages.1) };
    let child = age < 18;
    let female = rng.unit() < 0.5;
    let names = if female { FEMALE_NAMES } else { MALE_NAMES };
    let (given, family) = (names[(n * 7) % names.len()], FAMILY_NAMES[(n * 11) % FAMILY_NAMES.len()]);
    let name = format!("{given} {family}");
    let birth = shift(today, -(age * 365 + age / 4 + rng.int(1, 360)));
    let gp = if child { 3 } else { 1 + n % 2 };
    let jd = |d: Date| i64::from(d.to_julian_day());
    let years_at = |d: Date| (jd(d) - jd(birth)) as f64 / 365.25;
    let subject = rfd("Patient", &pid, &name);

    // Physiology: values at the first visit (0) and today (1); treated problems improve in between.
    let adult_height = rng.range(if female { (154.0, 172.0) } else { (166.0, 187.0) });
    let height_at = |a: f64| {
        if a >= 17.0 { return adult_height; }
        let growth = 86.0 + 6.1 * (a - 2.0) - if a > 12.0 { (a - 12.0) * if female { 3.5 } else { 1.0 } } else { 0.0 };
        (growth * adult_height / if female { 163.0 } else { 176.0 }).min(adult_height)
    };
    let bmi0 = rng.range(if child { (15.2, 18.2) } else { profile.bmi });
    let losing = diabetic || prediabetic || (!child && bmi0 >= 30.0);
    let bmi1 = if losing { bmi0 * rng.range((0.92, 0.96)) } else { bmi0 + rng.range((-0.6, 0.8)) };
    let (a1c0, a1c1) = if diabetic { (rng.range((8.4, 9.6)), rng.range((6.7, 7.2))) }
        else if prediabetic { (rng.range((6.0, 6.3)), rng.range((5.6, 5.9))) }
        else { let a = rng.range((4.9, 5.5)); (a, a) };
    let ((sys0, sys1), (dia0, dia1)) = if htn {
        ((rng.range((148.0, 162.0)), rng.range((124.0, 133.0))), (rng.range((90.0, 98.0)), rng.range((76.0, 82.0))))
    } else {
        let s = if child { rng.range((96.0, 110.0)) } else { rng.range((106.0, 122.0)) + age as f64 / 10.0 };
        let d = rng.range(if child { (56.0, 68.0) } else { (66.0, 78.0) });
        ((s, s), (d, d))
    };
    let (ldl0, ldl1) = if lipids { (rng.range((160.0, 190.0)), rng.range((92.0, 112.0))) }
        else { let l = rng.range(if diabetic { (105.0, 125.0) } else { (85.0, 125.0) }); (l, if diabetic { l * 0.85 } else { l }) };
    let hdl = rng.range(if lipids { (38.0, 46.0) } else if female { (50.0, 70.0) } else { (42.0, 58.0) });
    let vldl = rng.range((18.0, 34.0));
    let creat = rng.range(if female { (0.65, 0.95) } else { (0.85, 1.15) }) + if age > 70 { 0.1 } else { 0.0 };
    let hgb = rng.range(if child { (11.8, 13.4) } else if female { (12.4, 14.2) } else { (14.0, 16.0) });
    let hr = rng.range((62.0, 82.0));
    let spo2 = rng.range(if asthma { (95.5, 98.0) } else { (96.5, 99.0) });
    let mut problems: Vec<&Problem> = profile.problems.to_vec();
    if !child && bmi0 >= 30.0 {
        problems.push(&OBESITY);
    }

    // Past visits: adults see the nurse practitioner for every other follow-up.
    let mut visits: Vec<Visit> = Vec::new();
    for &(ago, kind) in profile.visits {
        let date = weekday(shift(today, -ago + rng.int(-12, 12)));
        if years_at(date) < 1.0 { continue; }
        let clinician = if !child && kind == Kind::FollowUp && visits.len() % 2 == 1 { 4 } else { gp };
        let i = visits.len() + 1;
        visits.push(Visit { date, minute: 480 + 15 * rng.int(0, 32), kind, clinician,
                            appt: format!("{key}-appt-{i:02}"), enc: format!("{key}-enc-{i:02}") });
    }
    let first = visits.first().map_or(shift(today, -365), |v| v.date);
    let first_minute = visits.first().map_or(540, |v| v.minute);
    let span = (jd(today) - jd(first)).max(1) as f64;
    let since = ymd(first);

    // Conditions: diabetes (and hypertension alone) were diagnosed at the first visit, the rest earlier.
    let cond_id = |p: &Problem| format!("{key}-cond-{}", p.key);
    let cond_refs: Vec<Value> = problems.iter().map(|p| rfd("Condition", &cond_id(p), p.text)).collect();
    let refs_for = |keys: &[&str]| -> Vec<Value> {
        problems.iter().filter(|p| keys.contains(&p.key)).map(|p| rfd("Condition", &cond_id(p), p.text)).collect()
    };
    let mut resources = vec![res("Patient", &pid, patient_body(&mut rng, n, given, family, female, birth, gp))];
    for p in &problems {
        let onset = if p.key == "t2dm" || (pi == 1 && p.key == "htn") { at(first, first_minute) } else {
            let earliest = jd(birth) + match p.key { "asthma" => 730, "obesity" => 12 * 365, _ => 18 * 365 };
            let latest = jd(first) - 430;
            let day = if latest > earliest { latest - rng.int(0, (latest - earliest).min(3000)) } else { (earliest + jd(first)) / 2 };
            ymd(shift(first, day - jd(first)))
        };
        resources.push(res("Condition", &cond_id(p), json!({
            "clinicalStatus": tho("condition-clinical", "active", "Active"),
            "verificationStatus": tho("condition-ver-status", "confirmed", "Confirmed"),
            "category": [tho("condition-category", "problem-list-item", "Problem List Item")],
            "code": {"coding": [coding(SCT, p.snomed.0, p.snomed.1), coding("http://hl7.org/fhir/sid/icd-10-cm", p.icd10.0, p.icd10.1)],
                     "text": p.text},
            "subject": subject, "onsetDateTime": onset, "recordedDate": onset[..10], "recorder": practitioner_ref(gp)})));
    }

    // Appointments, encounters and observations.
    let (mut appointments, mut encounters, mut observations) = (vec![], vec![], vec![]);
    let mut latest: Vec<(&str, String)> = vec![];
    let clinic = rfd("Location", CLINIC, "Bedside Demo Clinic - Primary Care");
    let lab = rfd("Location", LAB, "Bedside Demo Clinic - Laboratory");
    let reason = if cond_refs.is_empty() { json!({}) } else { json!({"reasonReference": cond_refs}) };
    let checkup = ("CHECKUP", "A routine check-up, such as an annual physical");
    let followup = ("FOLLOWUP", "A follow up visit from a previous appointment");
    let routine = ("ROUTINE", "Routine appointment - default if not valued");
    let general = |system: &str, code: &str| tho(system, code, "General Practice");
    let appointment = |id: &str, status: &str, (date, minute, len): (Date, i64, i64), typ: (&str, &str), desc: &str,
                       clin: usize, loc: &Value, created: Date, extra: Value| {
        let mut a = res("Appointment", id, json!({
            "status": status, "serviceCategory": [general("service-category", "17")], "serviceType": [general("service-type", "124")],
            "specialty": [cc(SCT, clinician(clin).specialty.0, clinician(clin).specialty.1)],
            "appointmentType": tho("v2-0276", typ.0, typ.1), "description": desc,
            "start": at(date, minute), "end": at(date, minute + len), "minutesDuration": len, "created": ymd(created),
            "participant": [
                {"actor": subject, "required": "required", "status": "accepted"},
                {"type": [tho("v3-ParticipationType", "ATND", "attender")], "actor": practitioner_ref(clin), "required": "required",
                 "status": if status == "proposed" { "needs-action" } else { "accepted" }},
                {"actor": loc, "required": "required", "status": "accepted"}]}));
        merge(&mut a, extra);
        a
    };
    for (vi, v) in visits.iter().enumerate() {
        let (t, a) = ((jd(v.date) - jd(first)) as f64 / span, years_at(v.date));
        let (annual, last) = (v.kind == Kind::Annual, vi + 1 == visits.len());
        let len = if annual { 45 } else { 30 };
        let (etype, typ, desc) = match v.kind {
            Kind::Annual if child => (("410620009", "Well child visit (procedure)"), checkup, "Well-child visit"),
            Kind::Annual => (("185349003", "Encounter for check up (procedure)"), checkup, "Annual physical"),
            Kind::FollowUp if asthma => (("394701000", "Asthma follow-up"), followup, "Asthma follow-up"),
            Kind::FollowUp => (("390906007", "Follow-up encounter (procedure)"), followup, "Chronic care follow-up"),
            Kind::Symptom => (("185345009", "Encounter for symptom (procedure)"), routine, "Sore throat and fever"),
        };
        let why = match v.kind {
            Kind::Symptom => json!({"reasonCode": [cc(SCT, "195662009", "Acute viral pharyngitis (disorder)")]}),
            Kind::FollowUp => reason.clone(),
            Kind::Annual => json!({}),
        };
        let created = shift(v.date, -rng.int(7, 40));
        appointments.push(appointment(&v.appt, "fulfilled", (v.date, v.minute, len), typ, desc, v.clinician, &clinic, created, why.clone()));
        let period = json!({"start": at(v.date, v.minute), "end": at(v.date, v.minute + len)});
        let mut enc = res("Encounter", &v.enc, json!({
            "status": "finished", "class": coding(&format!("{THO}v3-ActCode"), "AMB", "ambulatory"),
            "type": [cc(SCT, etype.0, etype.1)], "serviceType": general("service-type", "124"), "subject": subject,
            "participant": [{"type": [tho("v3-ParticipationType", "PPRF", "primary performer")], "period": period,
                             "individual": practitioner_ref(v.clinician)}],
            "appointment": [rf("Appointment", &v.appt)], "period": period}));
        merge(&mut enc, why);
        merge(&mut enc, json!({"location": [{"location": clinic, "status": "completed", "period": period}], "serviceProvider": org_ref()}));
        encounters.push(enc);

        let mut obs = |m: &'static Measure, minute: i64, value: Value| {
            let id = format!("{key}-obs-{:03}", observations.len() + 1);
            let (cat, cat_display) = if m.lab { ("laboratory", "Laboratory") } else { ("vital-signs", "Vital Signs") };
            let mut code = loinc(m);
            if m.loinc == SPO2.loinc {
                code["coding"] = json!([coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood"), coding(LOINC, m.loinc, m.display)]);
            }
            let issued = if m.lab { at(shift(v.date, 1), 540 + minute % 60) } else { at(v.date, minute + 2) };
            let mut o = res("Observation", &id, json!({
                "status": "final", "category": [tho("observation-category", cat, cat_display)], "code": code,
                "subject": subject, "encounter": rf("Encounter", &v.enc), "effectiveDateTime": at(v.date, minute),
                "issued": issued, "performer": [practitioner_ref(v.clinician)]}));
            merge(&mut o, value);
            latest.retain(|(l, _)| *l != m.loinc);
            latest.push((m.loinc, id));
            observations.push(o);
        };
        // Vital signs (adults are measured for height at the annual visit only).
        let vs = v.minute + 8;
        let q = |v: f64, m: &Measure| json!({"valueQuantity": qty(v, m)});
        let h = height_at(a) + rng.noise(0.4);
        let w = round((trend(bmi0, bmi1, t) + rng.noise(0.25)) * h * h / 10_000.0, 1);
        if child || annual { obs(&HEIGHT, vs, q(h, &HEIGHT)); }
        obs(&WEIGHT, vs, q(w, &WEIGHT));
        obs(&BMI, vs, q(w / (h * h / 10_000.0), &BMI));
        if a >= 3.0 {
            let s = round(trend(sys0, sys1, t) + rng.noise(4.0), 0);
            let d = round(trend(dia0, dia1, t) + rng.noise(3.0), 0);
            let comp = |m: &Measure, v: f64, high: f64|
                json!({"code": loinc(m), "valueQuantity": qty(v, m), "interpretation": interpretation(v, None, Some(high))});
            obs(&BP_PANEL, vs + 2, json!({"component": [comp(&SYSTOLIC, s, 129.0), comp(&DIASTOLIC, d, 79.0)]}));
        }
        let (kid_hr, kid_rr) = if a < 6.0 { (105.0, 25.0) } else if a < 12.0 { (88.0, 20.0) } else { (hr, 16.0) };
        obs(&HEART_RATE, vs + 2, q(if child { kid_hr } else { hr } + rng.noise(5.0), &HEART_RATE));
        obs(&RESP_RATE, vs + 2, q(if child { kid_rr } else { 15.0 } + rng.noise(1.2), &RESP_RATE));
        obs(&TEMPERATURE, vs + 3, q(if v.kind == Kind::Symptom { 38.3 } else { 36.8 } + rng.noise(0.15), &TEMPERATURE));
        obs(&SPO2, vs + 3, q((spo2 + rng.noise(0.6)).min(100.0), &SPO2));
        // Laboratory, drawn at the end of the visit and resulted the next morning.
        let ls = v.minute + len - 5;
        let mut lab_obs = |m: &'static Measure, val: f64, low: Option<f64>, high: Option<f64>| {
            let val = round(val, m.places);
            let mut range = json!({});
            if let Some(l) = low { range["low"] = qty(l, m); }
            if let Some(h) = high { range["high"] = qty(h, m); }
            obs(m, ls, json!({"valueQuantity": qty(val, m), "interpretation": interpretation(val, low, high), "referenceRange": [range]}));
        };
        let a1c = trend(a1c0, a1c1, t) + rng.noise(0.1);
        if !child && (diabetic || (prediabetic && (annual || last))) {
            lab_obs(&HBA1C, a1c, Some(4.0), Some(5.6));
        }
        if !child && (annual || diabetic) {
            let fasting = if diabetic || prediabetic { 0.9 * (28.7 * a1c - 46.7) } else { 88.0 };
            lab_obs(&GLUCOSE, fasting + rng.noise(6.0), Some(70.0), Some(99.0));
        }
        if !child && (annual || (lipids && vi == 3)) {
            let (l, hd) = (trend(ldl0, ldl1, t) + rng.noise(5.0), hdl + rng.noise(2.5));
            lab_obs(&CHOLESTEROL, l + hd + vldl + rng.noise(3.0), None, Some(199.0));
            lab_obs(&LDL, l, None, Some(99.0));
            lab_obs(&HDL, hd, Some(if female { 50.0 } else { 40.0 }), None);
        }
        if !child && annual {
            let (lo, hi) = if female { (0.59, 1.04) } else { (0.74, 1.35) };
            lab_obs(&CREATININE, creat + rng.noise(0.04), Some(lo), Some(hi));
        }
        if annual && (vi == 0 || !child) {
            let (lo, hi) = if child { (11.0, 14.5) } else if female { (11.6, 15.0) } else { (13.2, 16.6) };
            lab_obs(&HEMOGLOBIN, hgb + rng.noise(0.3), Some(lo), Some(hi));
        }
    }

    // A missed and a cancelled appointment in the past for some, then 1-3 upcoming ones.
    let mut appt_count = visits.len();
    let mut appt_id = || { appt_count += 1; format!("{key}-appt-{appt_count:02}") };
    if n % 3 == 2 && visits.len() > 2 {
        let d = weekday(shift(visits[1].date, 40));
        appointments.push(appointment(&appt_id(), "noshow", (d, 600, 30), followup, "Follow-up visit (patient did not attend)",
                                      gp, &clinic, shift(d, -21), reason.clone()));
    }
    if n % 4 == 1 && visits.len() > 3 {
        let d = weekday(shift(visits[2].date, 30));
        appointments.push(appointment(&appt_id(), "cancelled", (d, 840, 30), followup, "Follow-up visit", gp, &clinic, shift(d, -30),
            json!({"cancelationReason": tho("appointment-cancellation-reason", "pat", "Patient"), "comment": "Patient called to reschedule."})));
    }
    let last_annual = visits.iter().rev().find(|v| v.kind == Kind::Annual).map_or(first, |v| v.date);
    let mut upcoming = vec![];
    for u in 0..rng.int(1, 3) {
        let days = [rng.int(5, 28), rng.int(45, 100), rng.int(150, 200)][u as usize];
        let (d, minute) = (weekday(shift(today, days)), 480 + 15 * rng.int(0, 32));
        let created = shift(today, -rng.int(1, 20)).min(shift(d, -7));
        let id = appt_id();
        appointments.push(match u {
            0 if jd(today) - jd(last_annual) > 300 => appointment(&id, "booked", (d, minute, 45), checkup,
                if child { "Well-child visit" } else { "Annual physical" }, gp, &clinic, created, reason.clone()),
            0 => appointment(&id, "booked", (d, minute, 30), followup, "Care plan follow-up", gp, &clinic, created, reason.clone()),
            1 if !child => appointment(&id, "booked", (d, 450 + 15 * rng.int(0, 8), 15), routine, "Fasting blood work", gp, &lab, created,
                json!({"patientInstruction": "Please do not eat or drink anything except water for 8 hours before this appointment."})),
            _ => appointment(&id, "proposed", (d, minute, 30), followup, "Care plan follow-up", if child { gp } else { 4 }, &clinic,
                created, reason.clone()),
        });
        upcoming.push(id);
    }

    // Goals.
    let due = ymd(shift(today, 90 + rng.int(0, 90)));
    let mut goals: Vec<(String, String, Value)> = vec![];
    let mut goal = |gkey: &str, desc: &str, addresses: Vec<Value>, targets: Vec<Value>| {
        let id = format!("{key}-goal-{gkey}");
        let (code, display) = if targets.is_empty() || gkey == "bmi" { ("in-progress", "In Progress") } else { ("improving", "Improving") };
        let mut g = res("Goal", &id, json!({"lifecycleStatus": "active", "achievementStatus": tho("goal-achievement", code, display),
            "description": {"text": desc}, "subject": subject, "startDate": since}));
        if !targets.is_empty() { g["target"] = json!(targets); }
        g["expressedBy"] = practitioner_ref(gp);
        if !addresses.is_empty() { g["addresses"] = json!(addresses); }
        goals.push((id, desc.to_string(), g));
    };
    let target = |m: &Measure, cmp: &str, v: f64| {
        let mut q = qty(v, m);
        q["comparator"] = json!(cmp);
        json!({"measure": loinc(m), "detailQuantity": q, "dueDate": due})
    };
    let weight_goal = losing && !child;
    if diabetic { goal("a1c", "Hemoglobin A1c below 7.0 %", refs_for(&["t2dm"]), vec![target(&HBA1C, "<", 7.0)]); }
    if htn {
        goal("bp", "Blood pressure below 130/80 mmHg", refs_for(&["htn"]), vec![target(&SYSTOLIC, "<", 130.0), target(&DIASTOLIC, "<", 80.0)]);
    }
    if lipids { goal("ldl", "LDL cholesterol below 100 mg/dL", refs_for(&["hld"]), vec![target(&LDL, "<", 100.0)]); }
    if weight_goal {
        let start_weight = bmi0 * adult_height * adult_height / 10_000.0;
        goal("weight", "Lose 7 % of body weight through diet and activity", refs_for(&["obesity", "prediabetes", "t2dm"]),
             vec![target(&WEIGHT, "<=", round(start_weight * 0.93, 1))]);
    }
    if asthma {
        goal("asthma", "Asthma well controlled: no night-time symptoms, rescue inhaler 2 days a week or less", refs_for(&["asthma"]), vec![]);
    }
    if !(diabetic || htn || lipids || weight_goal || asthma) {
        let t = if child { json!({"measure": loinc(&BMI), "dueDate": due}) }
            else { json!({"measure": loinc(&BMI), "detailRange": {"low": qty(18.5, &BMI), "high": qty(24.9, &BMI)}, "dueDate": due}) };
        goal("bmi", if child { "Healthy growth: BMI between the 5th and 85th percentile for age" } else { "Keep a healthy body mass index" },
             vec![], vec![t]);
    }
    let goal_refs: Vec<Value> = goals.iter().map(|(id, d, _)| rfd("Goal", id, d)).collect();

    // Care team and care plans.
    let team_id = format!("{key}-careteam");
    let member = |code: &str, display: &str, who: Value| {
        let mut m = json!({"role": [cc(SCT, code, display)], "member": who});
        if code != "116154003" { m["onBehalfOf"] = org_ref(); }
        m
    };
    let mut members = vec![member("116154003", "Patient", subject.clone()),
                           member("223366009", "Healthcare professional (occupation)", practitioner_ref(gp))];
    if !child { members.push(member("223366009", "Healthcare professional (occupation)", practitioner_ref(4))); }
    let care_team = res("CareTeam", &team_id, json!({
        "status": "active", "category": [cc(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team")],
        "name": format!("Primary care team for {name}"), "subject": subject, "period": {"start": since},
        "participant": members, "managingOrganization": [org_ref()]}));
    let mut tags: Vec<&str> = problems.iter().map(|p| p.key).collect();
    if lipids || prediabetic || (pi == 4 && !child) { tags.push("diet"); }
    if !child { tags.push("exercise"); } else if pi == 4 { tags.push("play"); }
    let details: Vec<&Activity> = ACTIVITIES.iter().filter(|a| tags.contains(&a.when)).collect();
    let mut activity: Vec<Value> = visits.iter().skip(visits.len().saturating_sub(2))
        .map(|v| json!({"outcomeReference": [rf("Encounter", &v.enc)], "reference": rf("Appointment", &v.appt)})).collect();
    activity.extend(upcoming.iter().map(|id| json!({"reference": rf("Appointment", id)})));
    for a in &details {
        let code = a.code.map_or_else(|| json!({"text": a.text}), |(c, d)| json!({"coding": [coding(SCT, c, d)], "text": a.text}));
        let mut d = json!({"code": code, "status": "in-progress",
                           "scheduledTiming": {"repeat": {"frequency": a.freq, "period": 1, "periodUnit": a.unit}},
                           "performer": [subject], "description": a.description});
        let why = if refs_for(&[a.when]).is_empty() { cond_refs.clone() } else { refs_for(&[a.when]) };
        if !why.is_empty() { d["reasonReference"] = json!(why); }
        d["goal"] = json!(goal_refs);
        activity.push(json!({"detail": d}));
    }
    let support: Vec<Value> = [HBA1C.loinc, BP_PANEL.loinc, LDL.loinc, WEIGHT.loinc].iter()
        .filter_map(|l| latest.iter().find(|(x, _)| x == l)).map(|(_, id)| rf("Observation", id)).collect();
    let mut items: Vec<String> = goals.iter().map(|(_, d, _)| format!("Goal: {d}")).collect();
    items.extend(details.iter().map(|a| a.description.to_string()));
    let (plan_id, prior_id) = (format!("{key}-careplan"), format!("{key}-careplan-prior"));
    let categories = json!([cc("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan", "Assessment and Plan of Treatment"),
                            cc(SCT, profile.category.0, profile.category.1)]);
    let title = profile.title;
    let mut careplan = res("CarePlan", &plan_id, json!({
        "text": narrative(title, "active", &name, &since, &items), "status": "active", "intent": "plan", "category": categories,
        "title": title, "description": format!("{title} agreed with {name}: goals, home activities and scheduled visits."),
        "subject": subject, "period": {"start": since}, "created": since, "author": practitioner_ref(gp),
        "contributor": [practitioner_ref(gp), subject], "careTeam": [rf("CareTeam", &team_id)]}));
    let prior = matches!(pi, 2 | 3).then(|| {
        let (title, desc, code, what) = if pi == 2 {
            ("Weight management program", "Twelve-week lifestyle program, completed before the current plan.",
             cc(SCT, "229065009", "Exercise therapy"), "Weekly group exercise and nutrition classes.")
        } else {
            ("Asthma action plan (previous year)", "Previous asthma action plan, replaced at the annual review.",
             cc(SCT, "710818004", "Inhaled steroid therapy"), "Controller inhaler twice a day.")
        };
        let start = ymd(shift(first, -400));
        res("CarePlan", &prior_id, json!({
            "text": narrative(title, "completed", &name, &start, &[desc.to_string()]), "status": "completed", "intent": "plan",
            "category": categories, "title": title, "description": desc, "subject": subject,
            "period": {"start": start, "end": ymd(shift(first, -20))}, "created": start, "author": practitioner_ref(gp),
            "addresses": cond_refs, "activity": [{"detail": {"code": code, "status": "completed", "description": what}}]}))
    });
    if prior.is_some() { careplan["replaces"] = json!([rf("CarePlan", &prior_id)]); }
    if !cond_refs.is_empty() { careplan["addresses"] = json!(cond_refs); }
    if !support.is_empty() { careplan["supportingInfo"] = json!(support); }
    careplan["goal"] = json!(goal_refs);
    careplan["activity"] = json!(activity);

    // Referenced resources first, so the order is also a valid insertion order.
    resources.extend(appointments);
    resources.extend(encounters);
    resources.extend(observations);
    resources.extend(goals.into_iter().map(|(_, _, g)| g));
    resources.push(care_team);
    resources.extend(prior);
    resources.push(careplan);
    transaction(resources)
}

#[rustfmt::skip]
fn patient_body(rng: &mut Rng, n: usize, given: &str, family: &str, female: bool, birth: Date, gp: usize) -> Value {
    let pick = |rng: &mut Rng, len: usize| rng.int(0, len as i64 - 1) as usize;
    let (race_code, race) = RACES[pick(rng, RACES.len())];
    let (eth_code, eth) = if rng.unit() < 0.2 { ("2135-2", "Hispanic or Latino") } else { ("2186-5", "Not Hispanic or Latino") };
    let (city, zip) = CITIES[pick(rng, CITIES.len())];
    let street = format!("{} {}", rng.int(3, 480), STREETS[pick(rng, STREETS.len())]);
    let omb = |url: &str, code: &str, display: &str| json!({
        "url": format!("http://hl7.org/fhir/us/core/StructureDefinition/{url}"),
        "extension": [{"url": "ombCategory", "valueCoding": coding("urn:oid:2.16.840.1.113883.6.238", code, display)},
                      {"url": "text", "valueString": display}]});
    json!({
        "extension": [omb("us-core-race", race_code, race), omb("us-core-ethnicity", eth_code, eth),
                      {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": if female { "F" } else { "M" }}],
        "identifier": [{"use": "usual", "type": tho("v2-0203", "MR", "Medical record number"), "system": "http://bedside.example/mrn",
                        "value": format!("BD{:06}", 104_000 + n * 37)}],
        "active": true, "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": format!("(617) 555-{:04}", 100 + n), "use": "mobile"},
                    {"system": "email", "value": format!("{given}.{family}@example.com").to_lowercase(), "use": "home"}],
        "gender": if female { "female" } else { "male" }, "birthDate": ymd(birth),
        "address": [{"use": "home", "type": "physical", "line": [street], "city": city, "state": "MA", "postalCode": zip, "country": "US"}],
        "communication": [{"language": cc("urn:ietf:bcp:47", "en-US", "English (United States)"), "preferred": true}],
        "generalPractitioner": [practitioner_ref(gp)], "managingOrganization": org_ref()})
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use time::macros::date;

    const TODAY: Date = date!(2025 - 06 - 15);

    fn resources(bundles: &[Value]) -> Vec<&Value> {
        bundles.iter().flat_map(|b| b["entry"].as_array().unwrap()).map(|e| &e["resource"]).collect()
    }
    fn key(r: &Value) -> String {
        format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())
    }
    fn walk<'a>(v: &'a Value, refs: &mut Vec<&'a str>, empty: &mut usize) {
        match v {
            Value::Object(m) => {
                *empty += usize::from(m.is_empty());
                for (k, x) in m {
                    if let (true, Some(s)) = (k == "reference", x.as_str()) {
                        refs.push(s);
                    }
                    walk(x, refs, empty);
                }
            }
            Value::Array(a) => {
                *empty += usize::from(a.is_empty());
                a.iter().for_each(|x| walk(x, refs, empty));
            }
            Value::String(s) => *empty += usize::from(s.trim().is_empty()),
            _ => {}
        }
    }
    fn start_date(a: &Value) -> &str {
        &a["start"].as_str().unwrap()[..10]
    }

    /// Must-support (or mandatory) elements of the US Core 6.1 profiles the demo claims, as alternatives
    /// per line (`effectiveDateTime|effectivePeriod`).
    const MUST_SUPPORT: &[(&str, &[&str])] = &[
        ("Patient", &["identifier", "name", "gender", "birthDate", "telecom", "address", "communication", "extension"]),
        (
            "Observation",
            &[
                "status",
                "category",
                "code",
                "subject",
                "effectiveDateTime|effectivePeriod",
                "valueQuantity|valueCodeableConcept|valueString|component|dataAbsentReason|hasMember",
            ],
        ),
        (
            "Condition",
            &[
                "clinicalStatus",
                "verificationStatus",
                "category",
                "code",
                "subject",
                "onsetDateTime|onsetPeriod|onsetAge|recordedDate",
            ],
        ),
        ("CarePlan", &["status", "intent", "category", "subject", "text"]),
        ("CareTeam", &["status", "subject", "participant"]),
        ("Encounter", &["identifier|status", "class", "type", "subject", "participant", "period"]),
        ("Goal", &["lifecycleStatus", "description", "subject", "target|startDate"]),
        ("Practitioner", &["identifier", "name"]),
        ("PractitionerRole", &["practitioner", "organization", "code|specialty"]),
        ("Organization", &["active", "name", "identifier", "address", "telecom"]),
        ("Location", &["name", "address"]),
    ];

    #[test]
    fn demo_resources_claim_us_core_profiles_and_carry_their_must_support_elements() {
        let bundles = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
        let mut claimed = 0;
        for r in resources(&bundles) {
            let t = r["resourceType"].as_str().unwrap();
            let supported = crate::fhir::us_core::profiles(t);
            if supported.is_empty() {
                assert!(r["meta"].get("profile").is_none(), "{}", key(r));
                continue;
            }
            let profile = r["meta"]["profile"][0].as_str().unwrap_or_else(|| panic!("{} claims no profile", key(r)));
            assert!(supported.contains(&profile), "{}: {profile}", key(r));
            let (_, elements) =
                MUST_SUPPORT.iter().find(|(x, _)| *x == t).unwrap_or_else(|| panic!("no must-support list for {t}"));
            for alternatives in *elements {
                assert!(
                    alternatives.split('|').any(|e| r.get(e).is_some()),
                    "{} lacks {alternatives} ({profile})",
                    key(r)
                );
            }
            claimed += 1;
        }
        assert!(claimed > 100, "{claimed}");
        let vitals: Vec<&str> = resources(&bundles)
            .into_iter()
            .filter_map(|r| r["meta"]["profile"][0].as_str())
            .filter(|p| p.ends_with("us-core-blood-pressure") || p.ends_with("us-core-observation-lab"))
            .collect();
        assert!(!vitals.is_empty());
    }

    #[test]
    fn deterministic_and_counted() {
        let a = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
        let b = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        assert_eq!(a.len(), DEFAULT_DEMO_PATIENTS + 1);
        let ids: Vec<String> = resources(&a)
            .into_iter()
            .filter(|r| r["resourceType"] == "Patient")
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, demo_patient_ids(DEFAULT_DEMO_PATIENTS));
        assert_eq!(ids[0], "demo-patient-01");
        // A patient does not depend on how many come after it.
        assert_eq!(demo_bundles(TODAY, 3)[2], a[2]);
        assert_eq!(demo_bundles(date!(2030 - 01 - 01), 40).len(), 41);
    }

    #[test]
    fn ids_unique_references_resolve_nothing_empty() {
        let bundles = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
        let all = resources(&bundles);
        let keys: HashSet<String> = all.iter().map(|r| key(r)).collect();
        assert_eq!(keys.len(), all.len(), "duplicate ids");
        let (mut refs, mut empty) = (vec![], 0);
        for r in &all {
            let id = r["id"].as_str().unwrap();
            assert!(id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'), "{id}");
            walk(r, &mut refs, &mut empty);
        }
        assert_eq!(empty, 0, "empty strings, arrays or objects");
        for r in refs {
            assert!(keys.contains(r), "dangling reference {r}");
        }
        for b in &bundles {
            for e in b["entry"].as_array().unwrap() {
                assert_eq!(e["request"]["method"], "PUT");
                assert_eq!(e["request"]["url"].as_str().unwrap(), key(&e["resource"]));
            }
        }
    }

    #[test]
    fn every_patient_has_an_active_care_plan_and_an_upcoming_booked_appointment() {
        let bundles = demo_bundles(TODAY, DEFAULT_DEMO_PATIENTS);
        let all = resources(&bundles);
        let by_key: HashMap<String, &Value> = all.iter().map(|r| (key(r), *r)).collect();
        let today = ymd(TODAY);
        for pid in demo_patient_ids(DEFAULT_DEMO_PATIENTS) {
            let patient = format!("Patient/{pid}");
            let mine = |kind: &str| -> Vec<&Value> {
                all.iter()
                    .copied()
                    .filter(|r| r["resourceType"] == kind)
                    .filter(|r| {
                        r["subject"]["reference"] == patient.as_str()
                            || r["participant"]
                                .as_array()
                                .is_some_and(|p| p.iter().any(|p| p["actor"]["reference"] == patient.as_str()))
                    })
                    .collect()
            };
            let plans: Vec<&Value> = mine("CarePlan").into_iter().filter(|c| c["status"] == "active").collect();
            assert_eq!(plans.len(), 1, "{pid}");
            let appts: Vec<&str> = plans[0]["activity"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["reference"]["reference"].as_str())
                .collect();
            assert!(appts.iter().all(|a| a.starts_with("Appointment/") && by_key.contains_key(*a)), "{pid}");
            let booked: Vec<&Value> = mine("Appointment")
                .into_iter()
                .filter(|a| a["status"] == "booked" && start_date(a) > today.as_str())
                .collect();
            assert!(!booked.is_empty(), "{pid} has no upcoming booked appointment");
            assert!(booked.iter().all(|a| appts.contains(&key(a).as_str())), "{pid}");
            for a in mine("Appointment") {
                let past = matches!(a["status"].as_str(), Some("fulfilled" | "noshow" | "cancelled"));
                assert_eq!(past, start_date(a) < today.as_str(), "{}", key(a));
            }
            let observations = mine("Observation").len();
            assert!((20..=60).contains(&observations), "{pid}: {observations} observations");
            assert_eq!(
                mine("Encounter").len(),
                mine("Appointment").iter().filter(|a| a["status"] == "fulfilled").count()
            );
            assert_eq!(mine("CareTeam").len(), 1);
            assert!(!mine("Goal").is_empty());
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(npi(123_456_789), "1234567893");
        assert_eq!(dec(72.46, 1).as_f64(), Some(72.5));
        assert_eq!(dec(1.5, 2).to_string().trim_end_matches('0'), "1.5");
        assert_eq!(at(date!(2024 - 02 - 29), 1440 + 75), "2024-03-01T01:15:00-05:00");
        assert_eq!(weekday(date!(2025 - 06 - 14)), date!(2025 - 06 - 13));
    }
}
