//! Fixed tables for the synthetic demo data set: names, places, clinicians, problems, measures, the
//! patients' storylines (profiles), visit types, goals and care-plan activities. The resources are built
//! from these; the code in the other files only combines them. Everything here is invented; any
//! resemblance to real people is coincidental. (Pure data: longer than the ~400-line rule on purpose.)

pub const FEMALE_NAMES: &[&str] = &[
    "Olivia", "Amara", "Sofia", "Grace", "Mei", "Fatima", "Hannah", "Lucia", "Priya", "Chloe", "Aaliyah", "Ingrid",
    "Nadia", "Rosa", "Keiko", "Abigail", "Yasmin", "Elena", "Maya", "Tamar", "Leah", "Beatriz", "Zoe", "Ava", "Imani",
    "Claire", "Linh", "Ruth", "Ana", "Esther", "Camila",
];

pub const MALE_NAMES: &[&str] = &[
    "Liam", "Mateo", "Noah", "Kwame", "Ethan", "Arjun", "Samuel", "Diego", "Hiro", "Jamal", "Lucas", "Omar", "Henry",
    "Tomas", "Wei", "Isaac", "Caleb", "Rafael", "Owen", "Dmitri", "Elijah", "Marcus", "Felix", "Andre", "Kenji",
    "Walter", "Jonah", "Luis", "Malik", "George", "Adrian",
];

/// 41 entries (a prime), so stepping through it by 11 gives distinct family names for 41 patients.
pub const FAMILY_NAMES: &[&str] = &[
    "Garcia", "Nguyen", "Okonkwo", "Smith", "Patel", "Johnson", "Kowalski", "Haddad", "Chen", "Rivera", "Murphy",
    "Tanaka", "Williams", "Schmidt", "Brown", "Mensah", "Rossi", "Kim", "Cohen", "Davis", "Lopez", "Andersen",
    "Ibrahim", "Martin", "Singh", "Novak", "Walker", "Ortiz", "Yamamoto", "Clarke", "Silva", "Hughes", "Baptiste",
    "Moreau", "Kaur", "Fischer", "Reyes", "Osei", "Bennett", "Park", "Sullivan",
];

pub const STREETS: &[&str] = &[
    "Maple Street",
    "Elm Avenue",
    "Harbor Road",
    "Chestnut Lane",
    "Beacon Street",
    "Riverside Drive",
    "Cedar Court",
    "Summer Street",
    "Prospect Hill Road",
    "Willow Way",
    "Franklin Avenue",
    "Orchard Terrace",
];

/// (city, postal code) in Massachusetts.
pub const CITIES: &[(&str, &str)] = &[
    ("Boston", "02118"),
    ("Cambridge", "02139"),
    ("Somerville", "02144"),
    ("Quincy", "02169"),
    ("Newton", "02458"),
    ("Brookline", "02445"),
    ("Medford", "02155"),
    ("Waltham", "02453"),
];

/// (OMB race code, display) from urn:oid:2.16.840.1.113883.6.238.
pub const RACES: &[(&str, &str)] = &[
    ("2106-3", "White"),
    ("2054-5", "Black or African American"),
    ("2028-9", "Asian"),
    ("2106-3", "White"),
    ("1002-5", "American Indian or Alaska Native"),
    ("2054-5", "Black or African American"),
    ("2076-8", "Native Hawaiian or Other Pacific Islander"),
    ("2028-9", "Asian"),
];

pub struct Clinician {
    pub given: &'static str,
    pub family: &'static str,
    pub gender: &'static str,
    pub prefix: Option<&'static str>,
    pub suffix: &'static str,
    /// v2-0360 degree code and display.
    pub degree: (&'static str, &'static str),
    /// NUCC provider taxonomy code and display.
    pub taxonomy: (&'static str, &'static str),
    /// SNOMED CT specialty code and display.
    pub specialty: (&'static str, &'static str),
}

/// Practitioner n (1-based) is `CLINICIANS[n - 1]`: 1 and 2 see adults, 3 sees children, 4 is the nurse practitioner.
pub const CLINICIANS: &[Clinician] = &[
    Clinician {
        given: "Maria",
        family: "Alvarez",
        gender: "female",
        prefix: Some("Dr."),
        suffix: "MD",
        degree: ("MD", "Doctor of Medicine"),
        taxonomy: ("207Q00000X", "Family Medicine Physician"),
        specialty: ("394814009", "General practice (specialty)"),
    },
    Clinician {
        given: "James",
        family: "Okafor",
        gender: "male",
        prefix: Some("Dr."),
        suffix: "MD",
        degree: ("MD", "Doctor of Medicine"),
        taxonomy: ("207R00000X", "Internal Medicine Physician"),
        specialty: ("419192003", "Internal medicine (qualifier value)"),
    },
    Clinician {
        given: "Priya",
        family: "Raman",
        gender: "female",
        prefix: Some("Dr."),
        suffix: "MD",
        degree: ("MD", "Doctor of Medicine"),
        taxonomy: ("208000000X", "Pediatrics Physician"),
        specialty: ("394537008", "Pediatric specialty (qualifier value)"),
    },
    Clinician {
        given: "Daniel",
        family: "Kim",
        gender: "male",
        prefix: None,
        suffix: "NP",
        degree: ("NP", "Nurse Practitioner"),
        taxonomy: ("363LF0000X", "Family Nurse Practitioner"),
        specialty: ("394814009", "General practice (specialty)"),
    },
];

/// The kind of a past visit.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Annual,
    FollowUp,
    Symptom,
}

/// v2-0276 appointment types.
pub const CHECKUP: (&str, &str) = ("CHECKUP", "A routine check-up, such as an annual physical");
pub const FOLLOWUP: (&str, &str) = ("FOLLOWUP", "A follow up visit from a previous appointment");
pub const ROUTINE: (&str, &str) = ("ROUTINE", "Routine appointment - default if not valued");

/// How a past visit of `kind` is booked and recorded: the Encounter type (SNOMED CT), the Appointment
/// type and description. The first row whose `when` holds (`None`, or a patient tag such as "child" or a
/// problem key) applies.
pub struct VisitType {
    pub kind: Kind,
    pub when: Option<&'static str>,
    pub encounter: (&'static str, &'static str),
    pub appointment: (&'static str, &'static str),
    pub description: &'static str,
    pub reason: VisitReason,
}

/// Why a visit took place, as its Appointment and Encounter record it.
pub enum VisitReason {
    /// Nothing recorded (a check-up).
    None,
    /// The patient's Conditions.
    Conditions,
    /// A SNOMED CT code and display.
    Code(&'static str, &'static str),
}

#[rustfmt::skip]
pub const VISIT_TYPES: &[VisitType] = &[
    VisitType { kind: Kind::Annual, when: Some("child"), encounter: ("410620009", "Well child visit (procedure)"),
                appointment: CHECKUP, description: "Well-child visit", reason: VisitReason::None },
    VisitType { kind: Kind::Annual, when: None, encounter: ("185349003", "Encounter for check up (procedure)"),
                appointment: CHECKUP, description: "Annual physical", reason: VisitReason::None },
    VisitType { kind: Kind::FollowUp, when: Some("asthma"), encounter: ("394701000", "Asthma follow-up"),
                appointment: FOLLOWUP, description: "Asthma follow-up", reason: VisitReason::Conditions },
    VisitType { kind: Kind::FollowUp, when: None, encounter: ("390906007", "Follow-up encounter (procedure)"),
                appointment: FOLLOWUP, description: "Chronic care follow-up", reason: VisitReason::Conditions },
    VisitType { kind: Kind::Symptom, when: None, encounter: ("185345009", "Encounter for symptom (procedure)"),
                appointment: ROUTINE, description: "Sore throat and fever",
                reason: VisitReason::Code("195662009", "Acute viral pharyngitis (disorder)") },
];

/// A chronic problem: SNOMED CT code plus the ICD-10-CM code a US clinic would bill it under.
pub struct Problem {
    pub key: &'static str,
    pub snomed: (&'static str, &'static str),
    pub icd10: (&'static str, &'static str),
    pub text: &'static str,
    /// The youngest age (years) at which it starts, when it was diagnosed before the first visit.
    pub onset_from_age: i64,
}

pub const HTN: Problem = Problem {
    key: "htn",
    snomed: ("59621000", "Essential hypertension (disorder)"),
    icd10: ("I10", "Essential (primary) hypertension"),
    text: "Essential hypertension",
    onset_from_age: 18,
};
pub const T2DM: Problem = Problem {
    key: "t2dm",
    snomed: ("44054006", "Diabetes mellitus type 2 (disorder)"),
    icd10: ("E11.9", "Type 2 diabetes mellitus without complications"),
    text: "Type 2 diabetes mellitus",
    onset_from_age: 18,
};
pub const HLD: Problem = Problem {
    key: "hld",
    snomed: ("55822004", "Hyperlipidemia (disorder)"),
    icd10: ("E78.5", "Hyperlipidemia, unspecified"),
    text: "Hyperlipidemia",
    onset_from_age: 18,
};
pub const OBESITY: Problem = Problem {
    key: "obesity",
    snomed: ("162864005", "Body mass index 30+ - obesity (finding)"),
    icd10: ("E66.9", "Obesity, unspecified"),
    text: "Obesity (BMI 30+)",
    onset_from_age: 12,
};
pub const PREDIABETES: Problem = Problem {
    key: "prediabetes",
    snomed: ("15777000", "Prediabetes (finding)"),
    icd10: ("R73.03", "Prediabetes"),
    text: "Prediabetes",
    onset_from_age: 18,
};
pub const ASTHMA: Problem = Problem {
    key: "asthma",
    snomed: ("195967001", "Asthma (disorder)"),
    icd10: ("J45.909", "Unspecified asthma, uncomplicated"),
    text: "Asthma",
    onset_from_age: 2,
};

/// (LOINC code, display, UCUM unit, decimals, category) for every Observation the demo writes.
pub struct Measure {
    pub loinc: &'static str,
    pub display: &'static str,
    pub unit: &'static str,
    pub ucum: &'static str,
    pub places: usize,
    pub lab: bool,
}

const fn m(
    loinc: &'static str,
    display: &'static str,
    unit: &'static str,
    ucum: &'static str,
    places: usize,
    lab: bool,
) -> Measure {
    Measure { loinc, display, unit, ucum, places, lab }
}

pub const WEIGHT: Measure = m("29463-7", "Body weight", "kg", "kg", 1, false);
pub const HEIGHT: Measure = m("8302-2", "Body height", "cm", "cm", 1, false);
pub const BMI: Measure = m("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2", 1, false);
pub const HEART_RATE: Measure = m("8867-4", "Heart rate", "beats/minute", "/min", 0, false);
pub const RESP_RATE: Measure = m("9279-1", "Respiratory rate", "breaths/minute", "/min", 0, false);
pub const TEMPERATURE: Measure = m("8310-5", "Body temperature", "Cel", "Cel", 1, false);
pub const SPO2: Measure = m("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%", 0, false);
pub const BP_PANEL: Measure =
    m("85354-9", "Blood pressure panel with all children optional", "mmHg", "mm[Hg]", 0, false);
pub const SYSTOLIC: Measure = m("8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]", 0, false);
pub const DIASTOLIC: Measure = m("8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]", 0, false);
pub const HBA1C: Measure = m("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 1, true);
pub const GLUCOSE: Measure = m("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL", 0, true);
pub const CHOLESTEROL: Measure = m("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 0, true);
pub const LDL: Measure =
    m("18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", "mg/dL", "mg/dL", 0, true);
pub const HDL: Measure = m("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 0, true);
pub const CREATININE: Measure = m("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 2, true);
pub const HEMOGLOBIN: Measure = m("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "g/dL", 1, true);

/// A clinical storyline; patient n follows `PROFILES[(n - 1) % 8]`.
pub struct Profile {
    /// Age today, inclusive range.
    pub ages: (i64, i64),
    /// In every other round through the profiles (`n / 8` even), a young child of these ages instead.
    pub young_child_ages: Option<(i64, i64)>,
    pub problems: &'static [&'static Problem],
    /// Problem keys first diagnosed at the first visit (the others were known before).
    pub diagnosed_at_first_visit: &'static [&'static str],
    /// Body mass index at the first visit (adults; children get 15.2-18.2).
    pub bmi: (f64, f64),
    /// Past visits: (days before today, kind).
    pub visits: &'static [(i64, Kind)],
    pub title: &'static str,
    /// SNOMED CT care plan category.
    pub category: (&'static str, &'static str),
    /// The care plan of an adult includes the healthy-diet activity.
    pub diet: bool,
    /// The care plan of a child includes active play.
    pub active_play: bool,
    /// A completed care plan that the current one replaces.
    pub prior_plan: Option<PriorPlan>,
}

/// A completed earlier care plan: title, description and its one activity (SNOMED CT code, text).
pub struct PriorPlan {
    pub title: &'static str,
    pub description: &'static str,
    pub activity: (&'static str, &'static str),
    pub activity_text: &'static str,
}

const CHRONIC_VISITS: &[(i64, Kind)] =
    &[(700, Kind::Annual), (545, Kind::FollowUp), (365, Kind::Annual), (190, Kind::FollowUp), (45, Kind::FollowUp)];
const CARE_PLAN: (&str, &str) = ("734163000", "Care plan");

pub const PROFILES: [Profile; 8] = [
    Profile {
        ages: (48, 72),
        young_child_ages: None,
        problems: &[&T2DM, &HTN, &HLD],
        diagnosed_at_first_visit: &["t2dm"],
        bmi: (31.0, 37.5),
        visits: CHRONIC_VISITS,
        title: "Diabetes management plan",
        category: ("698360004", "Diabetes self management plan"),
        diet: true,
        active_play: false,
        prior_plan: None,
    },
    Profile {
        ages: (40, 85),
        young_child_ages: None,
        problems: &[&HTN],
        diagnosed_at_first_visit: &["htn"],
        bmi: (23.5, 31.5),
        visits: CHRONIC_VISITS,
        title: "Blood pressure management plan",
        category: CARE_PLAN,
        diet: false,
        active_play: false,
        prior_plan: None,
    },
    Profile {
        ages: (30, 62),
        young_child_ages: None,
        problems: &[&PREDIABETES],
        diagnosed_at_first_visit: &[],
        bmi: (31.0, 37.5),
        visits: CHRONIC_VISITS,
        title: "Prediabetes and weight management plan",
        category: CARE_PLAN,
        diet: true,
        active_play: false,
        prior_plan: Some(PriorPlan {
            title: "Weight management program",
            description: "Twelve-week lifestyle program, completed before the current plan.",
            activity: ("229065009", "Exercise therapy"),
            activity_text: "Weekly group exercise and nutrition classes.",
        }),
    },
    Profile {
        ages: (6, 15),
        young_child_ages: None,
        problems: &[&ASTHMA],
        diagnosed_at_first_visit: &[],
        bmi: (15.2, 18.2),
        visits: &[(690, Kind::Annual), (470, Kind::FollowUp), (330, Kind::Annual), (120, Kind::FollowUp)],
        title: "Asthma action plan",
        category: ("699728000", "Asthma self management"),
        diet: false,
        active_play: false,
        prior_plan: Some(PriorPlan {
            title: "Asthma action plan (previous year)",
            description: "Previous asthma action plan, replaced at the annual review.",
            activity: ("710818004", "Inhaled steroid therapy"),
            activity_text: "Controller inhaler twice a day.",
        }),
    },
    Profile {
        ages: (19, 45),
        young_child_ages: Some((3, 4)),
        problems: &[],
        diagnosed_at_first_visit: &[],
        bmi: (20.5, 27.0),
        visits: &[(710, Kind::Annual), (520, Kind::Symptom), (350, Kind::Annual)],
        title: "Preventive care plan",
        category: CARE_PLAN,
        diet: true,
        active_play: true,
        prior_plan: None,
    },
    Profile {
        ages: (55, 90),
        young_child_ages: None,
        problems: &[&HLD, &HTN],
        diagnosed_at_first_visit: &[],
        bmi: (23.5, 31.5),
        visits: CHRONIC_VISITS,
        title: "Cholesterol and blood pressure management plan",
        category: ("736285004", "Hyperlipidemia clinical management plan"),
        diet: true,
        active_play: false,
        prior_plan: None,
    },
    Profile {
        ages: (35, 70),
        young_child_ages: None,
        problems: &[&T2DM],
        diagnosed_at_first_visit: &["t2dm"],
        bmi: (27.0, 33.0),
        visits: CHRONIC_VISITS,
        title: "Diabetes management plan",
        category: ("698360004", "Diabetes self management plan"),
        diet: false,
        active_play: false,
        prior_plan: None,
    },
    Profile {
        ages: (18, 60),
        young_child_ages: None,
        problems: &[&ASTHMA],
        diagnosed_at_first_visit: &[],
        bmi: (23.5, 31.5),
        visits: &[(680, Kind::Annual), (420, Kind::FollowUp), (320, Kind::Annual), (80, Kind::FollowUp)],
        title: "Asthma action plan",
        category: ("699728000", "Asthma self management"),
        diet: false,
        active_play: false,
        prior_plan: None,
    },
];

/// A treatment goal, set when the patient has the tag `when` (a problem key, or "weight-loss" for an adult
/// who is to lose weight), addressing the patient's Conditions among `addresses`.
pub struct Goal {
    pub key: &'static str,
    pub when: &'static str,
    pub text: &'static str,
    pub addresses: &'static [&'static str],
    pub targets: &'static [Target],
}

/// A goal's target: the measure, the comparator and the value.
pub struct Target {
    pub measure: &'static Measure,
    pub comparator: &'static str,
    pub value: TargetValue,
}

pub enum TargetValue {
    Fixed(f64),
    /// This share of the weight at the first visit (kg, one decimal).
    ShareOfStartWeight(f64),
}

const fn target(measure: &'static Measure, comparator: &'static str, value: TargetValue) -> Target {
    Target { measure, comparator, value }
}

/// The goals, in the order they are set. A patient with none of them gets a body mass index goal.
#[rustfmt::skip]
pub const GOALS: &[Goal] = &[
    Goal { key: "a1c", when: "t2dm", text: "Hemoglobin A1c below 7.0 %", addresses: &["t2dm"],
           targets: &[target(&HBA1C, "<", TargetValue::Fixed(7.0))] },
    Goal { key: "bp", when: "htn", text: "Blood pressure below 130/80 mmHg", addresses: &["htn"],
           targets: &[target(&SYSTOLIC, "<", TargetValue::Fixed(130.0)), target(&DIASTOLIC, "<", TargetValue::Fixed(80.0))] },
    Goal { key: "ldl", when: "hld", text: "LDL cholesterol below 100 mg/dL", addresses: &["hld"],
           targets: &[target(&LDL, "<", TargetValue::Fixed(100.0))] },
    Goal { key: "weight", when: "weight-loss", text: "Lose 7 % of body weight through diet and activity",
           addresses: &["obesity", "prediabetes", "t2dm"],
           targets: &[target(&WEIGHT, "<=", TargetValue::ShareOfStartWeight(0.93))] },
    Goal { key: "asthma", when: "asthma",
           text: "Asthma well controlled: no night-time symptoms, rescue inhaler 2 days a week or less",
           addresses: &["asthma"], targets: &[] },
];

/// A home activity of a care plan, chosen when the patient has the tag `when` (a problem key, "diet",
/// "exercise" or "play"). `code` is SNOMED CT; without one the activity is coded by text only.
pub struct Activity {
    pub when: &'static str,
    pub code: Option<(&'static str, &'static str)>,
    pub text: &'static str,
    /// Timing: `freq` times per `unit` (UCUM "d" or "wk").
    pub freq: u32,
    pub unit: &'static str,
    pub description: &'static str,
}

const fn act(
    when: &'static str,
    code: Option<(&'static str, &'static str)>,
    text: &'static str,
    freq: u32,
    unit: &'static str,
    description: &'static str,
) -> Activity {
    Activity { when, code, text, freq, unit, description }
}

#[rustfmt::skip]
pub const ACTIVITIES: &[Activity] = &[
    act("t2dm", Some(("160670007", "Diabetic diet")), "Diabetic diet", 1, "d",
        "Follow a carbohydrate-consistent diabetic diet."),
    act("t2dm", None, "Home blood glucose monitoring", 1, "d", "Check fasting blood glucose each morning and log it."),
    act("htn", None, "Home blood pressure monitoring", 1, "d",
        "Measure blood pressure at home every morning, seated, after 5 minutes of rest."),
    act("htn", Some(("183063000", "low salt diet education")), "Low salt diet", 1, "wk",
        "Keep sodium below 2,300 mg a day."),
    act("asthma", Some(("710818004", "Inhaled steroid therapy")), "Inhaled steroid therapy", 2, "d",
        "Controller inhaler twice a day; rinse the mouth afterwards."),
    act("asthma", Some(("229298005", "Breathing control")), "Breathing control", 1, "d",
        "Use the rescue inhaler as needed and follow the green/yellow/red zones of the action plan."),
    act("diet", Some(("226234005", "Healthy diet")), "Healthy diet", 1, "d",
        "Mediterranean-style eating: vegetables, whole grains, less saturated fat."),
    act("exercise", Some(("229065009", "Exercise therapy")), "Exercise", 5, "wk",
        "30 minutes of moderate activity, such as brisk walking, five days a week."),
    act("play", Some(("229065009", "Exercise therapy")), "Active play", 1, "d",
        "At least 60 minutes of active play every day."),
];
