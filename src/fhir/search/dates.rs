//! FHIR date/time values as inclusive ranges of epoch milliseconds, and decimals as implicit-precision
//! ranges. Shared by index extraction (write time) and the search query parser (read time).
//!
//! A FHIR `date`/`dateTime`/`instant` names a range as wide as its precision: `2020` is the whole year,
//! `2020-02` the whole month, `2020-02-03T10:00:00Z` one second, `…00.5Z` a tenth of a second. Values without
//! a timezone (dates, and dateTimes written without one) are taken as UTC.

/// Milliseconds in one day.
const DAY_MS: i64 = 86_400_000;

/// The inclusive range `[low, high]` in epoch milliseconds covered by a FHIR `date`, `dateTime` or
/// `instant` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff…]][Z|±hh:mm]`). Also accepts
/// minute precision without seconds (common in search values). `None` for anything malformed.
pub fn date_range(s: &str) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    if year < 1 {
        return None;
    }
    if b.len() == 4 {
        let low = civil_days(year, 1, 1) * DAY_MS;
        let high = civil_days(year + 1, 1, 1) * DAY_MS - 1;
        return Some((low, high));
    }
    if b.get(4) != Some(&b'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.len() == 7 {
        let low = civil_days(year, month, 1) * DAY_MS;
        let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        let high = civil_days(ny, nm, 1) * DAY_MS - 1;
        return Some((low, high));
    }
    if b.get(7) != Some(&b'-') {
        return None;
    }
    let day = digits(b, 8, 2)?;
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let day_start = civil_days(year, month, day) * DAY_MS;
    if b.len() == 10 {
        return Some((day_start, day_start + DAY_MS - 1));
    }
    if b.get(10) != Some(&b'T') {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    if hour > 23 || minute > 59 {
        return None;
    }
    let mut pos = 16;
    let mut ms: i64 = (hour * 60 + minute) * 60_000;
    // Width of the range below the last written digit, in ms (minus one makes it inclusive).
    let mut width: i64 = 60_000;
    if b.get(pos) == Some(&b':') {
        let sec = digits(b, pos + 1, 2)?;
        // 60 is allowed by the FHIR regex for leap seconds; clamp it into the minute.
        if sec > 60 {
            return None;
        }
        ms += sec.min(59) * 1000 + if sec == 60 { 999 } else { 0 };
        width = if sec == 60 { 1 } else { 1000 };
        pos += 3;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
            let frac = &b[start..pos];
            if frac.is_empty() {
                return None;
            }
            // Millisecond resolution: digits past the third only narrow the range inside one ms.
            let mut frac_ms: i64 = 0;
            let mut w: i64 = 1000;
            for &d in frac.iter().take(3) {
                w /= 10;
                frac_ms += i64::from(d - b'0') * w;
            }
            if sec != 60 {
                ms += frac_ms;
                width = w.max(1);
            }
        }
    }
    let offset_ms: i64 = match b.get(pos) {
        None => 0,
        Some(b'Z') if pos + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            if b.len() != pos + 6 || b.get(pos + 3) != Some(&b':') {
                return None;
            }
            let oh = digits(b, pos + 1, 2)?;
            let om = digits(b, pos + 4, 2)?;
            if oh > 14 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60_000;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let low = day_start + ms - offset_ms;
    Some((low, low + width - 1))
}

/// The implicit-precision range of a FHIR decimal as written: `5.4` → `[5.35, 5.45)`, `100` → `[99.5, 100.5)`,
/// `1.50e2` → `[149.5, 150.5)`. `None` if `s` is not a decimal.
pub fn decimal_bounds(s: &str) -> Option<(f64, f64)> {
    let s = s.trim();
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let digits_part = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    let (int_part, frac_part) = match digits_part.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits_part, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|c| c.is_ascii_digit()) || !frac_part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let value: f64 = s.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let frac_digits = i32::try_from(frac_part.len()).ok()?;
    let half = 0.5 * 10f64.powi(exp.checked_sub(frac_digits)?);
    Some((value - half, value + half))
}

/// Fixed-width ASCII digits at `b[at..at+n]` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = b.get(at..at + n)?;
    let mut v: i64 = 0;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn civil_days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        // Reference conversion through the `time` crate for exact instants.
        let f = time::format_description::well_known::Rfc3339;
        match time::OffsetDateTime::parse(s, &f) {
            Ok(t) => i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
            Err(e) => panic!("bad test instant {s}: {e}"),
        }
    }

    #[test]
    fn partial_dates_cover_their_period() {
        assert_eq!(date_range("2020"), Some((ms("2020-01-01T00:00:00Z"), ms("2020-12-31T23:59:59.999Z"))));
        assert_eq!(date_range("2020-02"), Some((ms("2020-02-01T00:00:00Z"), ms("2020-02-29T23:59:59.999Z"))));
        assert_eq!(date_range("2019-02"), Some((ms("2019-02-01T00:00:00Z"), ms("2019-02-28T23:59:59.999Z"))));
        assert_eq!(date_range("2020-12"), Some((ms("2020-12-01T00:00:00Z"), ms("2020-12-31T23:59:59.999Z"))));
        assert_eq!(date_range("1970-01-01"), Some((0, DAY_MS - 1)));
        assert_eq!(date_range("1969-12-31"), Some((-DAY_MS, -1)));
    }

    #[test]
    fn times_and_offsets() {
        let t = ms("2013-01-14T10:00:00Z");
        assert_eq!(date_range("2013-01-14T10:00:00Z"), Some((t, t + 999)));
        assert_eq!(date_range("2013-01-14T10:00:00"), Some((t, t + 999)));
        assert_eq!(date_range("2013-01-14T10:00Z"), Some((t, t + 59_999)));
        assert_eq!(date_range("2013-01-14T12:00:00+02:00"), Some((t, t + 999)));
        assert_eq!(date_range("2013-01-14T05:30:00-04:30"), Some((t, t + 999)));
        assert_eq!(date_range("2013-01-14T10:00:00.5Z"), Some((t + 500, t + 599)));
        assert_eq!(date_range("2013-01-14T10:00:00.123Z"), Some((t + 123, t + 123)));
        assert_eq!(date_range("2013-01-14T10:00:00.123456+00:00"), Some((t + 123, t + 123)));
        assert_eq!(date_range("2016-12-31T23:59:60Z").map(|r| r.0), Some(ms("2016-12-31T23:59:59.999Z")));
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "20",
            "2020-",
            "2020-13",
            "2020-00",
            "2020-02-30",
            "2019-02-29",
            "0000",
            "2020-01-01T",
            "2020-01-01T25:00:00Z",
            "2020-01-01T10:00:00.",
            "2020-01-01T10:00:00Zjunk",
            "2020-01-01T10:00:00+2",
            "2020-01-01 10:00:00",
            "abcd",
            "2020-1-1",
            "２０２０",
            "2020-01-01T10:00:00+15:00",
        ] {
            assert_eq!(date_range(s), None, "{s}");
        }
    }

    #[test]
    fn decimal_precision() {
        let (lo, hi) = decimal_bounds("5.4").unwrap_or_default();
        assert!((lo - 5.35).abs() < 1e-9 && (hi - 5.45).abs() < 1e-9);
        let (lo, hi) = decimal_bounds("100").unwrap_or_default();
        assert!((lo - 99.5).abs() < 1e-9 && (hi - 100.5).abs() < 1e-9);
        let (lo, hi) = decimal_bounds("-1.50").unwrap_or_default();
        assert!((lo + 1.505).abs() < 1e-9 && (hi + 1.495).abs() < 1e-9);
        let (lo, hi) = decimal_bounds("1.5e2").unwrap_or_default();
        assert!((lo - 145.0).abs() < 1e-9 && (hi - 155.0).abs() < 1e-9);
        for s in ["", "-", ".", "abc", "1.2.3", "1e", "NaN", "inf", "1e999"] {
            assert_eq!(decimal_bounds(s), None, "{s}");
        }
    }
}
