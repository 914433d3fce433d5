//! The load benchmark's result: one row per workload, the machine, the ceiling; as JSON (to compare
//! runs) and as a Markdown table.

use serde::Serialize;

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    /// The request (path and query below the FHIR base), for the record.
    pub request: String,
    /// `req/s` or `res/s`.
    pub unit: String,
    pub rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Server RSS after the workload, MB.
    pub rss_mb: Option<f64>,
    /// `rate` / ceiling's req/s (request workloads only).
    pub ceiling_share: Option<f64>,
    pub peer_rate: Option<f64>,
    pub peer_p99_ms: Option<f64>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub backend: String,
    pub resources: i64,
    pub duration_s: u64,
    pub threads: u32,
    pub connections: u32,
    pub workers: usize,
    pub ceiling_rate: f64,
    pub ceiling_p99_ms: f64,
    pub peer: Option<String>,
    pub rows: Vec<Row>,
}

pub(super) fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    Machine { nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), cpu }
}

pub(super) fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| if v < 10.0 { format!("{v:.2}") } else { format!("{v:.1}") }).unwrap_or_default()
}

/// The report as a Markdown table.
pub fn table(r: &Report) -> String {
    let peer = r.peer.is_some();
    let mut out = format!(
        "{} resources, {}; {} CPU(s): {}; wrk -t{} -c{} -d{}s; server --workers {}; ceiling (bare actix-web, same \
         Observation bytes): {} req/s, p99 {} ms\n\n",
        thousands(r.resources as f64),
        r.backend,
        r.machine.nproc,
        r.machine.cpu,
        r.threads,
        r.connections,
        r.duration_s,
        r.workers,
        thousands(r.ceiling_rate),
        ms(Some(r.ceiling_p99_ms)),
    );
    out.push_str("| workload | throughput | p50 ms | p99 ms | RSS MB | of ceiling |");
    if peer {
        out.push_str(" peer req/s | peer p99 ms |");
    }
    out.push_str(" note |\n|---|---|---|---|---|---|");
    if peer {
        out.push_str("---|---|");
    }
    out.push_str("---|\n");
    for row in &r.rows {
        out.push_str(&format!(
            "| {} | {} {} | {} | {} | {} | {} |",
            row.workload.replace('|', "\\|"),
            thousands(row.rate),
            row.unit,
            ms(row.p50_ms),
            ms(row.p99_ms),
            row.rss_mb.map(|m| format!("{m:.0}")).unwrap_or_default(),
            row.ceiling_share.map(|s| format!("{:.1} %", s * 100.0)).unwrap_or_default(),
        ));
        if peer {
            out.push_str(&format!(" {} | {} |", row.peer_rate.map(thousands).unwrap_or_default(), ms(row.peer_p99_ms)));
        }
        out.push_str(&format!(" {} |\n", row.note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(94667.4), "94,667");
        assert_eq!(thousands(638.0), "638");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(ms(Some(1.234)), "1.23");
        assert_eq!(ms(Some(29.04)), "29.0");
        assert_eq!(ms(None), "");
    }
}
