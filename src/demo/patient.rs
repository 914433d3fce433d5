//! One demo patient's storyline: who they are (from their profile and the name tables) and their
//! physiology at the first visit and today, drawn from the patient's own random stream; and the
//! resources that follow from it directly: the Patient and the Conditions.

use serde_json::{json, Value};
use time::Date;

use super::clinic::{org_ref, practitioner_ref};
use super::json::{at, cc, coding, res, rfd, shift, tho, ymd, Rng};
use super::tables::{
    Problem, Profile, CITIES, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, OBESITY, PROFILES, RACES, STREETS,
};
use super::visits::History;
use super::SCT;

/// A demo patient. The random draws happen in [`Patient::new`] in a fixed order, so the same `n` and
/// `today` always give the same patient.
pub(super) struct Patient {
    pub n: usize,
    /// `demo-patient-NN`.
    pub id: String,
    /// `demo-pNN`: the prefix of the ids of the patient's other resources.
    pub key: String,
    pub profile: &'static Profile,
    pub child: bool,
    pub female: bool,
    pub given: &'static str,
    pub family: &'static str,
    pub name: String,
    pub birth: Date,
    /// The patient's own practitioner (1 and 2 see adults, 3 children).
    pub gp: usize,
    /// A reference to the Patient, with the name as display.
    pub subject: Value,
    /// The profile's problems, plus obesity for an adult with a body mass index of 30 or more.
    pub problems: Vec<&'static Problem>,
    pub physiology: Physiology,
}

/// Values at the first visit and today (`(first, today)`), or steady ones; treated problems improve in
/// between.
pub(super) struct Physiology {
    pub adult_height: f64,
    pub bmi: (f64, f64),
    /// Losing weight: diabetic, prediabetic, or an obese adult.
    pub losing: bool,
    pub a1c: (f64, f64),
    pub systolic: (f64, f64),
    pub diastolic: (f64, f64),
    pub ldl: (f64, f64),
    pub hdl: f64,
    pub vldl: f64,
    pub creatinine: f64,
    pub hemoglobin: f64,
    pub heart_rate: f64,
    pub spo2: f64,
}

impl Physiology {
    /// The physiology of a patient of `profile`, `age` and sex, drawn from `rng` in a fixed order.
    #[rustfmt::skip]
    fn draw(profile: &Profile, age: i64, female: bool, rng: &mut Rng) -> Physiology {
        let child = age < 18;
        let has = |k: &str| profile.problems.iter().any(|p| p.key == k);
        let (diabetic, htn, lipids, asthma, prediabetic) = (has("t2dm"), has("htn"), has("hld"), has("asthma"), has("prediabetes"));
        let adult_height = rng.range(if female { (154.0, 172.0) } else { (166.0, 187.0) });
        let bmi0 = rng.range(if child { (15.2, 18.2) } else { profile.bmi });
        let losing = diabetic || prediabetic || (!child && bmi0 >= 30.0);
        let bmi1 = if losing { bmi0 * rng.range((0.92, 0.96)) } else { bmi0 + rng.range((-0.6, 0.8)) };
        let a1c = if diabetic { (rng.range((8.4, 9.6)), rng.range((6.7, 7.2))) }
            else if prediabetic { (rng.range((6.0, 6.3)), rng.range((5.6, 5.9))) }
            else { let a = rng.range((4.9, 5.5)); (a, a) };
        let (systolic, diastolic) = if htn {
            ((rng.range((148.0, 162.0)), rng.range((124.0, 133.0))), (rng.range((90.0, 98.0)), rng.range((76.0, 82.0))))
        } else {
            let s = if child { rng.range((96.0, 110.0)) } else { rng.range((106.0, 122.0)) + age as f64 / 10.0 };
            let d = rng.range(if child { (56.0, 68.0) } else { (66.0, 78.0) });
            ((s, s), (d, d))
        };
        let ldl = if lipids { (rng.range((160.0, 190.0)), rng.range((92.0, 112.0))) }
            else { let l = rng.range(if diabetic { (105.0, 125.0) } else { (85.0, 125.0) }); (l, if diabetic { l * 0.85 } else { l }) };
        let hdl = rng.range(if lipids { (38.0, 46.0) } else if female { (50.0, 70.0) } else { (42.0, 58.0) });
        let vldl = rng.range((18.0, 34.0));
        let creatinine = rng.range(if female { (0.65, 0.95) } else { (0.85, 1.15) }) + if age > 70 { 0.1 } else { 0.0 };
        let hemoglobin = rng.range(if child { (11.8, 13.4) } else if female { (12.4, 14.2) } else { (14.0, 16.0) });
        let heart_rate = rng.range((62.0, 82.0));
        let spo2 = rng.range(if asthma { (95.5, 98.0) } else { (96.5, 99.0) });
        Physiology {
            adult_height, bmi: (bmi0, bmi1), losing, a1c, systolic, diastolic, ldl, hdl, vldl, creatinine,
            hemoglobin, heart_rate, spo2,
        }
    }
}

impl Patient {
    /// Patient `n` (1-based) as of `today`: profile `(n - 1) % 8`; age, sex, birth date and physiology
    /// drawn from `rng`.
    #[rustfmt::skip]
    pub fn new(today: Date, n: usize, rng: &mut Rng) -> Patient {
        let (id, key) = (format!("demo-patient-{n:02}"), format!("demo-p{n:02}"));
        let profile = &PROFILES[(n - 1) % PROFILES.len()];
        let age = match profile.young_child_ages {
            Some((lo, hi)) if (n / 8).is_multiple_of(2) => rng.int(lo, hi),
            _ => rng.int(profile.ages.0, profile.ages.1),
        };
        let child = age < 18;
        let female = rng.unit() < 0.5;
        let names = if female { FEMALE_NAMES } else { MALE_NAMES };
        let (given, family) = (names[(n * 7) % names.len()], FAMILY_NAMES[(n * 11) % FAMILY_NAMES.len()]);
        let name = format!("{given} {family}");
        let birth = shift(today, -(age * 365 + age / 4 + rng.int(1, 360)));
        let gp = if child { 3 } else { 1 + n % 2 };
        let subject = rfd("Patient", &id, &name);
        let physiology = Physiology::draw(profile, age, female, rng);
        let mut problems = profile.problems.to_vec();
        if !child && physiology.bmi.0 >= 30.0 {
            problems.push(&OBESITY);
        }
        Patient { n, id, key, profile, child, female, given, family, name, birth, gp, subject, problems, physiology }
    }

    /// Does the patient's profile have the problem `key`?
    pub fn has(&self, key: &str) -> bool {
        self.profile.problems.iter().any(|p| p.key == key)
    }

    /// Does the tag of a table row hold: "child", "weight-loss" (an adult losing weight), or a problem
    /// key of the profile?
    pub fn tagged(&self, tag: &str) -> bool {
        match tag {
            "child" => self.child,
            "weight-loss" => self.physiology.losing && !self.child,
            key => self.has(key),
        }
    }

    /// Age in years on day `d`.
    pub fn years_at(&self, d: Date) -> f64 {
        (jd(d) - jd(self.birth)) as f64 / 365.25
    }

    /// Height (cm) at age `a`: a growth curve scaled to the adult height.
    #[rustfmt::skip]
    pub fn height_at(&self, a: f64) -> f64 {
        let (adult_height, female) = (self.physiology.adult_height, self.female);
        if a >= 17.0 { return adult_height; }
        let growth = 86.0 + 6.1 * (a - 2.0) - if a > 12.0 { (a - 12.0) * if female { 3.5 } else { 1.0 } } else { 0.0 };
        (growth * adult_height / if female { 163.0 } else { 176.0 }).min(adult_height)
    }

    /// The weight (kg) at the first visit.
    pub fn start_weight(&self) -> f64 {
        let h = self.physiology.adult_height;
        self.physiology.bmi.0 * h * h / 10_000.0
    }

    /// The id of the Condition of problem `p`.
    pub fn condition_id(&self, p: &Problem) -> String {
        format!("{}-cond-{}", self.key, p.key)
    }

    /// References to the Conditions of the problems whose keys are in `keys` (all when `None`).
    pub fn condition_refs(&self, keys: Option<&[&str]>) -> Vec<Value> {
        self.problems
            .iter()
            .filter(|p| keys.is_none_or(|k| k.contains(&p.key)))
            .map(|p| rfd("Condition", &self.condition_id(p), p.text))
            .collect()
    }

    /// The Patient resource: race, ethnicity, address and street drawn from `rng`.
    #[rustfmt::skip]
    pub fn resource(&self, rng: &mut Rng) -> Value {
        let (n, given, family, female, birth, gp) = (self.n, self.given, self.family, self.female, self.birth, self.gp);
        let pick = |rng: &mut Rng, len: usize| rng.int(0, len as i64 - 1) as usize;
        let (race_code, race) = RACES[pick(rng, RACES.len())];
        let (eth_code, eth) = if rng.unit() < 0.2 { ("2135-2", "Hispanic or Latino") } else { ("2186-5", "Not Hispanic or Latino") };
        let (city, zip) = CITIES[pick(rng, CITIES.len())];
        let street = format!("{} {}", rng.int(3, 480), STREETS[pick(rng, STREETS.len())]);
        let omb = |url: &str, code: &str, display: &str| json!({
            "url": format!("http://hl7.org/fhir/us/core/StructureDefinition/{url}"),
            "extension": [{"url": "ombCategory", "valueCoding": coding("urn:oid:2.16.840.1.113883.6.238", code, display)},
                          {"url": "text", "valueString": display}]});
        res("Patient", &self.id, json!({
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
            "generalPractitioner": [practitioner_ref(gp)], "managingOrganization": org_ref()}))
    }

    /// One Condition per problem: those of [`Profile::diagnosed_at_first_visit`] start then, the
    /// others earlier (an onset date drawn from `rng`, after the problem's youngest onset age).
    #[rustfmt::skip]
    pub fn conditions(&self, h: &History, rng: &mut Rng) -> Vec<Value> {
        let (first, birth) = (h.first, self.birth);
        let mut out = Vec::new();
        for p in &self.problems {
            let onset = if self.profile.diagnosed_at_first_visit.contains(&p.key) { at(first, h.first_minute) } else {
                let earliest = jd(birth) + p.onset_from_age * 365;
                let latest = jd(first) - 430;
                let day = if latest > earliest { latest - rng.int(0, (latest - earliest).min(3000)) } else { (earliest + jd(first)) / 2 };
                ymd(shift(first, day - jd(first)))
            };
            out.push(res("Condition", &self.condition_id(p), json!({
                "clinicalStatus": tho("condition-clinical", "active", "Active"),
                "verificationStatus": tho("condition-ver-status", "confirmed", "Confirmed"),
                "category": [tho("condition-category", "problem-list-item", "Problem List Item")],
                "code": {"coding": [coding(SCT, p.snomed.0, p.snomed.1), coding("http://hl7.org/fhir/sid/icd-10-cm", p.icd10.0, p.icd10.1)],
                         "text": p.text},
                "subject": self.subject, "onsetDateTime": onset, "recordedDate": onset[..10], "recorder": practitioner_ref(self.gp)})));
        }
        out
    }
}

/// The Julian day number of `d`.
pub(super) fn jd(d: Date) -> i64 {
    i64::from(d.to_julian_day())
}
