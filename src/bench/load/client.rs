//! Plain HTTP to a FHIR server for setting up a run: following `next` links, and finding the patient,
//! Observation, family name and deep page the workloads use.

use serde_json::Value;

/// Plain HTTP for setting up and for the ingest workload.
pub(super) struct Http {
    sys: actix_web::rt::SystemRunner,
    pub(super) client: reqwest::Client,
}

impl Http {
    pub(super) fn new() -> Result<Http, String> {
        let client = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        Ok(Http { sys: actix_web::rt::System::new(), client })
    }

    pub(super) fn send(&self, rb: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), String> {
        self.sys.block_on(async move {
            let resp = rb.send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            Ok((status, body.to_vec()))
        })
    }

    pub(super) fn get_json(&self, url: &str, token: Option<&str>) -> Result<Value, String> {
        let mut rb = self.client.get(url).header("Accept", "application/fhir+json");
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let (status, body) = self.send(rb)?;
        if status != 200 {
            return Err(format!("GET {url}: {status} {}", String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }
}

fn entries(bundle: &Value) -> Vec<&Value> {
    bundle["entry"].as_array().map(|a| a.iter().map(|e| &e["resource"]).collect()).unwrap_or_default()
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .map(str::to_string)
}

/// Follows `next` links from `first` up to page `n`; returns the URL of the deepest page reached
/// and its number.
fn page_url(http: &Http, first: &str, n: usize, token: Option<&str>) -> Result<(String, usize), String> {
    let mut url = first.to_string();
    let mut page = 1;
    while page < n {
        let b = http.get_json(&url, token)?;
        match next_link(&b) {
            Some(next) => {
                url = next;
                page += 1;
            }
            None => break,
        }
    }
    Ok((url, page))
}

/// The ids and values the workloads use on one server.
#[derive(Debug, Clone)]
pub(super) struct Targets {
    pub(super) patient: String,
    pub(super) observation: String,
    pub(super) family: String,
    pub(super) page_n_url: String,
    pub(super) page_n: usize,
}

/// Finds the benchmark's patient (the one with the most vital signs among the first 40), one of its
/// Observations, its family name and the URL of page `n` of all vital signs.
pub(super) fn targets(http: &Http, fhir: &str, token: Option<&str>, like: Option<&Value>) -> Result<Targets, String> {
    let patient: Value = match like.and_then(|p| p["identifier"].as_array()).and_then(|ids| ids.first()) {
        // On a peer: the same patient, found by its identifier.
        Some(ident) => {
            let q = format!(
                "{}|{}",
                ident["system"].as_str().unwrap_or_default(),
                ident["value"].as_str().unwrap_or_default()
            );
            let b = http.get_json(&format!("{fhir}/Patient?identifier={}", urlenc(&q)), token)?;
            entries(&b).first().map(|v| (*v).clone()).ok_or("the peer has no patient with the same identifier")?
        }
        None => {
            let b = http.get_json(&format!("{fhir}/Patient?_count=40"), token)?;
            let mut best: Option<(i64, Value)> = None;
            for p in entries(&b) {
                let id = p["id"].as_str().unwrap_or_default();
                let c = http
                    .get_json(&format!("{fhir}/Observation?patient={id}&category=vital-signs&_summary=count"), token)?;
                let n = c["total"].as_i64().unwrap_or(0);
                if best.as_ref().is_none_or(|(m, _)| n > *m) {
                    best = Some((n, p.clone()));
                }
            }
            best.map(|(_, p)| p).ok_or("no Patient loaded")?
        }
    };
    let pid = patient["id"].as_str().ok_or("a Patient without id")?.to_string();
    let family: String = patient["name"][0]["family"].as_str().unwrap_or("Smith").chars().take(4).collect();
    let obs = http.get_json(&format!("{fhir}/Observation?patient={pid}&_count=1"), token)?;
    let oid = entries(&obs)
        .first()
        .and_then(|o| o["id"].as_str())
        .map(str::to_string)
        .ok_or("the patient has no Observation")?;
    let (page_n_url, page_n) =
        page_url(http, &format!("{fhir}/Observation?category=vital-signs&_count=50"), 20, token)?;
    Ok(Targets { patient: pid, observation: oid, family, page_n_url, page_n })
}

pub(super) fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
