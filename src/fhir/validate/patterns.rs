//! The formats of R4 primitive values (hl7.org/fhir/R4/datatypes.html): anchored regexes, built once,
//! plus the checks a regex cannot make (calendar dates, base64 padding).

use std::sync::OnceLock;

use regex::Regex;

/// Anchored R4 regexes (hl7.org/fhir/R4/datatypes.html).
pub(super) struct Patterns {
    pub(super) date: Regex,
    pub(super) date_time: Regex,
    pub(super) instant: Regex,
    pub(super) time: Regex,
    pub(super) id: Regex,
    pub(super) code: Regex,
    pub(super) oid: Regex,
    pub(super) uuid: Regex,
    pub(super) integer: Regex,
    pub(super) decimal: Regex,
}

pub(super) fn patterns() -> Option<&'static Patterns> {
    static PATTERNS: OnceLock<Option<Patterns>> = OnceLock::new();
    const YEAR: &str = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)";
    const MONTH: &str = "(0[1-9]|1[0-2])";
    const DAY: &str = "(0[1-9]|[1-2][0-9]|3[0-1])";
    const TIME: &str = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?";
    const ZONE: &str = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))";
    const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    let re = |s: &str| Regex::new(&format!("^(?:{s})$")).ok();
    let init = || {
        Some(Patterns {
            date: re(&format!("{YEAR}(-{MONTH}(-{DAY})?)?"))?,
            date_time: re(&format!("{YEAR}(-{MONTH}(-{DAY}(T{TIME}{ZONE})?)?)?"))?,
            instant: re(&format!("{YEAR}-{MONTH}-{DAY}T{TIME}{ZONE}"))?,
            time: re(TIME)?,
            id: re(r"[A-Za-z0-9\-\.]{1,64}")?,
            code: re(r"[^\s]+( [^\s]+)*")?,
            oid: re(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")?,
            uuid: re(&format!("urn:uuid:{UUID}"))?,
            integer: re("-?(0|[1-9][0-9]*)")?,
            decimal: re(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")?,
        })
    };
    PATTERNS.get_or_init(init).as_ref()
}

pub(super) fn is_primitive(ty: &str) -> bool {
    matches!(
        ty,
        "boolean"
            | "integer"
            | "string"
            | "decimal"
            | "uri"
            | "url"
            | "canonical"
            | "base64Binary"
            | "instant"
            | "date"
            | "dateTime"
            | "time"
            | "code"
            | "oid"
            | "id"
            | "markdown"
            | "unsignedInt"
            | "positiveInt"
            | "uuid"
            | "xhtml"
    )
}

pub(super) fn calendar_problem(s: &str) -> Option<String> {
    #[rustfmt::skip]
    const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December"];
    let year: u32 = s.get(0..4)?.parse().ok()?;
    let month: u32 = s.get(5..7)?.parse().ok()?;
    let day: u32 = s.get(8..10)?.parse().ok()?;
    let name = MONTHS.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 31,
    };
    (day > days).then(|| format!("{name} {year} has no day {day}"))
}

/// R4 base64Binary: `(\s*([0-9a-zA-Z\+/=]){4}\s*)+`, with '=' only as final padding.
pub(super) fn is_base64(s: &str) -> bool {
    let chars: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if chars.is_empty() || !chars.len().is_multiple_of(4) {
        return false;
    }
    let pad = chars.iter().rev().take_while(|&&b| b == b'=').count();
    let body = chars.iter().take(chars.len().saturating_sub(pad));
    pad <= 2 && body.copied().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}
