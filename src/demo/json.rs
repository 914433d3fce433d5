//! Small builders shared by the demo's resources: the seeded random numbers, FHIR JSON values (codings,
//! references, quantities, decimals written exactly), clinic-local dates and times, and the resource and
//! Bundle envelopes.

use serde_json::{json, Value};
use time::{Date, Weekday};

use super::tables::Measure;
use super::{LOINC, TAG_SYSTEM, THO, TZ, UCUM};

const SEED: u64 = 0x0BED_51DE_D0E5_EED5;

/// SplitMix64: tiny and identical on every machine.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(stream: u64) -> Rng {
        Rng(SEED ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / 9_007_199_254_740_992.0
    }
    pub(super) fn range(&mut self, (lo, hi): (f64, f64)) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform in `lo..=hi`.
    pub(super) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    /// Roughly normal noise with standard deviation `sd` (sum of three uniforms).
    pub(super) fn noise(&mut self, sd: f64) -> f64 {
        (self.unit() + self.unit() + self.unit() - 1.5) * 2.0 * sd
    }
}

/// A JSON decimal written with exactly `places` decimals ("1.50" stays "1.50" under arbitrary_precision).
pub(super) fn dec(v: f64, places: usize) -> Value {
    serde_json::from_str(&format!("{v:.places$}")).unwrap_or(Value::Null)
}
pub(super) fn round(v: f64, places: usize) -> f64 {
    format!("{v:.places$}").parse().unwrap_or(v)
}
pub(super) fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}
pub(super) fn cc(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [coding(system, code, display)], "text": display})
}
pub(super) fn tho(code_system: &str, code: &str, display: &str) -> Value {
    cc(&format!("{THO}{code_system}"), code, display)
}
pub(super) fn loinc(m: &Measure) -> Value {
    cc(LOINC, m.loinc, m.display)
}
pub(super) fn rf(kind: &str, id: &str) -> Value {
    json!({"reference": format!("{kind}/{id}")})
}
pub(super) fn rfd(kind: &str, id: &str, display: &str) -> Value {
    json!({"reference": format!("{kind}/{id}"), "display": display})
}
pub(super) fn qty(v: f64, m: &Measure) -> Value {
    json!({"value": dec(v, m.places), "unit": m.unit, "system": UCUM, "code": m.ucum})
}
pub(super) fn shift(d: Date, days: i64) -> Date {
    Date::from_julian_day(d.to_julian_day() + days as i32).unwrap_or(d)
}
/// Moves a weekend day to the nearest weekday.
pub(super) fn weekday(d: Date) -> Date {
    match d.weekday() {
        Weekday::Saturday => shift(d, -1),
        Weekday::Sunday => shift(d, 1),
        _ => d,
    }
}
pub(super) fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
/// `minute` minutes after local midnight of `d`, as a FHIR dateTime/instant with the clinic offset.
pub(super) fn at(d: Date, minute: i64) -> String {
    let (d, m) = (shift(d, minute.div_euclid(1440)), minute.rem_euclid(1440));
    format!("{}T{:02}:{:02}:00{TZ}", ymd(d), m / 60, m % 60)
}
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
/// Adds the fields of `extra` (an object) to `target` (an object).
pub(super) fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(t), Value::Object(x)) = (target, extra) {
        t.extend(x);
    }
}
/// A resource: `resourceType`, `id` and the demo tag first, then the fields of `body`.
pub(super) fn res(kind: &str, id: &str, body: Value) -> Value {
    let tag = json!({"tag": [{"system": TAG_SYSTEM, "code": "demo", "display": "Bedside demo data"}]});
    let mut r = json!({"resourceType": kind, "id": id, "meta": tag});
    merge(&mut r, body);
    // Claim the US Core profile the resource is built to (a test checks the must-support elements).
    if let Some(profile) = crate::fhir::us_core::profile_for(&r) {
        r["meta"]["profile"] = json!([profile]);
    }
    r
}
pub(super) fn transaction(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!("{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or(""));
            json!({"resource": r, "request": {"method": "PUT", "url": url}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entry})
}
/// (value, low, high) -> Observation interpretation H / L / N.
pub(super) fn interpretation(v: f64, low: Option<f64>, high: Option<f64>) -> Value {
    let (code, display) = match (low, high) {
        (Some(l), _) if v < l => ("L", "Low"),
        (_, Some(h)) if v > h => ("H", "High"),
        _ => ("N", "Normal"),
    };
    json!([tho("v3-ObservationInterpretation", code, display)])
}
/// Value at `t` (0 = first visit, 1 = today), moving from `a` to `b` fastest at first, as treatment works.
pub(super) fn trend(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * (1.0 - (1.0 - t) * (1.0 - t))
}
pub(super) fn narrative(title: &str, status: &str, who: &str, since: &str, items: &[String]) -> Value {
    let lis: String = items.iter().map(|i| format!("<li>{}</li>", xml_escape(i))).collect();
    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>{}</b> ({status}) for {}, since {since}.</p><ul>{lis}</ul></div>",
        xml_escape(title),
        xml_escape(who)
    );
    json!({"status": "generated", "div": div})
}
