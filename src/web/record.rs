//! "Download my record" as a page a patient can read and print: every resource of their record, by
//! kind of data, each on one line (what it is, when, its status), newest first.

use askama::Template;
use serde_json::Value;

pub struct RecordItem {
    pub text: String,
    pub date: String,
    pub status: String,
}

pub struct RecordSection {
    pub title: String,
    pub items: Vec<RecordItem>,
}

#[derive(Template)]
#[template(path = "record.html")]
pub struct RecordPage<'a> {
    pub name: &'a str,
    pub generated: &'a str,
    pub source: &'a str,
    pub total: usize,
    pub sections: Vec<RecordSection>,
    pub json_url: &'a str,
    pub back_url: &'a str,
}

fn text_of(v: &Value) -> Option<String> {
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    let cc = if v.is_array() { v.get(0)? } else { v };
    cc.get("text")
        .and_then(Value::as_str)
        .or_else(|| cc.get("display").and_then(Value::as_str))
        .or_else(|| cc.get("coding")?.as_array()?.iter().find_map(|c| c.get("display").and_then(Value::as_str)))
        .map(str::to_string)
}

fn name_of(v: &Value) -> Option<String> {
    let n = v.get("name")?;
    if let Some(s) = n.as_str() {
        return Some(s.to_string());
    }
    let first = n.get(0)?;
    if let Some(t) = first.get("text").and_then(Value::as_str) {
        return Some(t.to_string());
    }
    let given: Vec<&str> = first
        .get("given")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let family = first.get("family").and_then(Value::as_str).unwrap_or_default();
    let full = format!("{} {family}", given.join(" "));
    let full = full.trim();
    (!full.is_empty()).then(|| full.to_string())
}

/// What a resource is, in a few words.
pub fn describe(r: &Value) -> String {
    const FIELDS: &[&str] = &[
        "code",
        "vaccineCode",
        "medicationCodeableConcept",
        "type",
        "category",
        "description",
        "title",
        "serviceType",
        "class",
    ];
    if let Some(n) = name_of(r) {
        return n;
    }
    let mut text = FIELDS.iter().find_map(|f| r.get(*f).and_then(text_of)).unwrap_or_default();
    if let Some(q) = r.get("valueQuantity") {
        let value = q.get("value").map(|v| v.to_string()).unwrap_or_default();
        let unit = q.get("unit").or_else(|| q.get("code")).and_then(Value::as_str).unwrap_or_default();
        text = format!("{text}: {value} {unit}").trim().to_string();
    } else if let Some(v) = r.get("valueCodeableConcept").and_then(text_of) {
        text = format!("{text}: {v}");
    }
    if text.is_empty() {
        r.get("resourceType").and_then(Value::as_str).unwrap_or("Record").to_string()
    } else {
        text
    }
}

/// When it happened (the first date the resource has of the usual ones), as written.
pub fn date_of(r: &Value) -> String {
    const DATES: &[&str] = &[
        "effectiveDateTime",
        "occurrenceDateTime",
        "performedDateTime",
        "onsetDateTime",
        "authoredOn",
        "recordedDate",
        "issued",
        "date",
        "start",
        "created",
        "birthDate",
    ];
    const PERIODS: &[&str] = &["effectivePeriod", "performedPeriod", "period", "onsetPeriod", "occurrencePeriod"];
    DATES
        .iter()
        .find_map(|f| r.get(*f).and_then(Value::as_str))
        .or_else(|| PERIODS.iter().find_map(|p| r.get(*p)?.get("start").and_then(Value::as_str)))
        .map(|d| d.get(..10).unwrap_or(d).to_string())
        .unwrap_or_default()
}

/// The record, grouped by kind of data (in the consent page's words), newest first in each group.
pub fn sections(resources: &[Value]) -> Vec<RecordSection> {
    let mut out: Vec<(String, Vec<(String, RecordItem)>)> = Vec::new();
    for r in resources {
        let t = r.get("resourceType").and_then(Value::as_str).unwrap_or_default();
        let mut title = super::words::noun(t);
        if let Some(first) = title.get(..1) {
            title = first.to_uppercase() + title.get(1..).unwrap_or_default();
        }
        let date = date_of(r);
        let status = ["status", "clinicalStatus", "lifecycleStatus"]
            .iter()
            .find_map(|f| {
                r.get(*f)
                    .and_then(text_of)
                    .or_else(|| r.get(*f)?.get("coding")?.get(0)?.get("code")?.as_str().map(str::to_string))
            })
            .unwrap_or_default();
        let item = RecordItem { text: describe(r), date: date.clone(), status };
        match out.iter_mut().find(|(x, _)| *x == title) {
            Some((_, items)) => items.push((date, item)),
            None => out.push((title, vec![(date, item)])),
        }
    }
    out.into_iter()
        .map(|(title, mut items)| {
            items.sort_by(|a, b| b.0.cmp(&a.0));
            RecordSection { title, items: items.into_iter().map(|(_, i)| i).collect() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines() {
        let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "Body weight"},
                         "valueQuantity": {"value": 72.5, "unit": "kg"}, "effectiveDateTime": "2024-05-01T10:00:00Z"});
        assert_eq!(describe(&obs), "Body weight: 72.5 kg");
        assert_eq!(date_of(&obs), "2024-05-01");
        let p = json!({"resourceType": "Patient", "name": [{"given": ["Ada"], "family": "Lovelace"}], "birthDate": "1815-12-10"});
        assert_eq!(describe(&p), "Ada Lovelace");
        let s = sections(&[
            obs.clone(),
            p,
            json!({"resourceType": "Observation", "code": {"text": "Height"}, "effectiveDateTime": "2025-01-01"}),
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].items[0].text, "Height");
        assert_eq!(describe(&json!({"resourceType": "Basic"})), "Basic");
    }
}
