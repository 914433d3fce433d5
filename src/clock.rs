//! The one clock: the current time as Unix seconds or milliseconds, and server timestamps as FHIR
//! instants (`2026-11-26T10:12:28.123Z`) and HTTP dates. Every layer may use it; it imports nothing
//! of the crate.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instant {
    /// FHIR `instant` text, UTC with milliseconds; sorts lexicographically in time order.
    pub text: String,
    pub millis: i64,
}

pub fn from_datetime(t: OffsetDateTime) -> Instant {
    let t = t.to_offset(UtcOffset::UTC);
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let text = t.format(&fmt).unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string());
    Instant { text, millis: (t.unix_timestamp_nanos() / 1_000_000) as i64 }
}

/// Now, as a FHIR instant (text and milliseconds).
pub fn now() -> Instant {
    from_datetime(OffsetDateTime::now_utc())
}

/// Now, in whole seconds since the Unix epoch (token `iat`/`exp`, grant and session times).
pub fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, in milliseconds since the Unix epoch (access-log times, export job times).
pub fn now_millis() -> i64 {
    now().millis
}

/// The UTC day of a Unix time ("2026-11-29"), as the operator commands and pages show it.
pub fn day_of(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs).map(|t| t.date().to_string()).unwrap_or_default()
}

/// Parses a FHIR instant/dateTime with offset (e.g. a `_since` value) into our UTC instant text.
/// A date alone (`2024-01-01`) means its first moment, UTC.
pub fn parse_to_utc(s: &str) -> Option<Instant> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(from_datetime(t));
    }
    let d = time::Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    Some(from_datetime(d.midnight().assume_utc()))
}

/// RFC 7231 HTTP date for `Last-Modified`, from our stored instant text.
pub fn http_date(instant_text: &str) -> Option<String> {
    let t = OffsetDateTime::parse(instant_text, &Rfc3339).ok()?.to_offset(UtcOffset::UTC);
    let fmt = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    t.format(&fmt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let i = parse_to_utc("2024-03-05T10:00:00+02:00").unwrap();
        assert_eq!(i.text, "2024-03-05T08:00:00.000Z");
        assert_eq!(http_date(&i.text).unwrap(), "Tue, 05 Mar 2024 08:00:00 GMT");
        assert_eq!(parse_to_utc("2024-03-05").unwrap().text, "2024-03-05T00:00:00.000Z");
        assert!(parse_to_utc("yesterday").is_none());
        assert_eq!(now().text.len(), 24);
    }
}
