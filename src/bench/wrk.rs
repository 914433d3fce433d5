//! Drives a URL with `wrk` (the kept HTTP load generator from Debian) and reads its report.

use std::process::Command;
use std::time::Duration;

/// How `wrk` is run: threads, open connections, and how long.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

/// What one `wrk` run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Responses that were not 2xx or 3xx (a run with any of these measured errors, not work).
    pub non_2xx: u64,
    /// Connect, read, write and timeout errors.
    pub socket_errors: u64,
}

/// Fails with a clear message when `wrk` is not installed.
pub fn check_installed() -> Result<(), String> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(
            "the load benchmark drives the server with wrk, which is not installed (Debian/Ubuntu: apt-get install \
             wrk; other systems: https://github.com/wg/wrk)"
                .into(),
        ),
        Err(e) => Err(format!("cannot run wrk: {e}")),
    }
}

/// Runs `wrk` against `url` with the given headers and parses its report.
pub fn run(load: Load, url: &str, headers: &[(&str, &str)]) -> Result<Measured, String> {
    let mut cmd = Command::new("wrk");
    cmd.arg("-t")
        .arg(load.threads.max(1).to_string())
        .arg("-c")
        .arg(load.connections.max(load.threads).max(1).to_string())
        .arg("-d")
        .arg(format!("{}s", load.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("10s")
        .arg("--latency");
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    cmd.arg(url);
    let out = cmd.output().map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("wrk failed on {url}: {}{}", text, String::from_utf8_lossy(&out.stderr)));
    }
    parse(&text).ok_or_else(|| format!("cannot read wrk's report for {url}:\n{text}"))
}

/// `1.23ms`, `456.00us`, `1.02s`, `2.00m` in milliseconds.
fn millis(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        "h" => v * 3_600_000.0,
        _ => return None,
    })
}

/// Reads wrk's report (run with `--latency`).
pub fn parse(text: &str) -> Option<Measured> {
    let mut m = Measured::default();
    let mut rps = None;
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("50%"), Some(v)) => m.p50_ms = millis(v)?,
            (Some("99%"), Some(v)) => m.p99_ms = millis(v)?,
            (Some("Requests/sec:"), Some(v)) => rps = v.parse().ok(),
            (Some(n), Some("requests")) => m.requests = n.parse().unwrap_or(0),
            _ => {}
        }
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            m.non_2xx = n.trim().parse().unwrap_or(0);
        }
        if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            m.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()))
                .sum();
        }
    }
    m.requests_per_sec = rps?;
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 5s test @ http://127.0.0.1:8080/fhir/metadata
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.00us  10.00ms   80.00%
    Req/Sec    13.00k     1.00k   14.00k    70.00%
  Latency Distribution
     50%  850.00us
     75%    1.40ms
     90%    1.80ms
     99%    1.02s
  65000 requests in 5.00s, 100.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec:  13000.50
Transfer/sec:     20.00MB
";

    #[test]
    fn reads_rate_percentiles_and_errors() {
        let m = parse(REPORT).unwrap_or_default();
        assert_eq!(m.requests_per_sec, 13000.50);
        assert!((m.p50_ms - 0.85).abs() < 1e-9);
        assert!((m.p99_ms - 1020.0).abs() < 1e-9);
        assert_eq!(m.requests, 65000);
        assert_eq!(m.non_2xx, 12);
        assert_eq!(m.socket_errors, 5);
    }

    #[test]
    fn a_report_without_a_rate_is_not_read() {
        assert_eq!(parse("unable to connect to 127.0.0.1:1 Connection refused"), None);
        assert_eq!(millis("3.5xs"), None);
    }
}
