//! How long a user's approval of an app lasts: the app's access term and the configured terms.

/// How long a user's approval of an app lasts, per access term ([`AccessTerm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTerms {
    pub one_time_hours: u32,
    pub ongoing_months: u32,
}

impl Default for GrantTerms {
    fn default() -> Self {
        GrantTerms { one_time_hours: 10, ongoing_months: 13 }
    }
}

impl GrantTerms {
    pub fn new(one_time_hours: u32, ongoing_months: u32) -> Result<GrantTerms, String> {
        if !(1..=24 * 31).contains(&one_time_hours) {
            return Err("--one-time-hours must be between 1 and 744 (a month)".into());
        }
        if !(1..=120).contains(&ongoing_months) {
            return Err("--ongoing-months must be between 1 and 120".into());
        }
        Ok(GrantTerms { one_time_hours, ongoing_months })
    }
}

/// How long a user's approval of an app lasts, by the app's registered category (as CMS Blue
/// Button 2.0 does): a `one-time` app gets hours and no refresh token, an `ongoing` app months. The
/// end is fixed at approval and never slides; an ended grant makes the app ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum AccessTerm {
    /// Access for a few hours (`--one-time-hours`, 10 by default); no refresh token.
    OneTime,
    /// Access for months (`--ongoing-months`, 13 by default), renewed with refresh tokens until then.
    #[default]
    Ongoing,
}

impl AccessTerm {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTerm::OneTime => "one-time",
            AccessTerm::Ongoing => "ongoing",
        }
    }

    /// The stored value (`oauth_clients.access_term`); any other value is a corrupt row, never
    /// silently read as a default.
    pub fn from_stored(s: &str) -> Result<AccessTerm, crate::store::StoreError> {
        match s {
            "ongoing" => Ok(AccessTerm::Ongoing),
            "one-time" => Ok(AccessTerm::OneTime),
            other => {
                Err(crate::store::StoreError::Corrupt(format!("unknown access term {other:?} stored for a client")))
            }
        }
    }

    /// When an approval given at `now` (Unix seconds) ends.
    pub fn end(self, now: i64, terms: &GrantTerms) -> i64 {
        match self {
            AccessTerm::OneTime => now + i64::from(terms.one_time_hours) * 3600,
            AccessTerm::Ongoing => add_months(now, terms.ongoing_months),
        }
    }
}

/// `now` plus whole calendar months (the day clamped to the month's length: 31 Jan + 1 = 28/29 Feb).
fn add_months(now: i64, months: u32) -> i64 {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(now) else { return now };
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + i64::from(months);
    let (Ok(year), Ok(month_index)) = (i32::try_from(total.div_euclid(12)), u8::try_from(total.rem_euclid(12) + 1))
    else {
        return now;
    };
    let Ok(month) = time::Month::try_from(month_index) else { return now };
    let day = t.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(d) => t.replace_date(d).unix_timestamp(),
        Err(_) => now,
    }
}

#[cfg(test)]
mod tests {
    use super::add_months;

    #[test]
    fn whole_months_clamp_the_day() {
        // 2026-01-31 12:00 UTC.
        let jan31 = 1_769_860_800;
        assert_eq!(add_months(jan31, 0), jan31);
        // + 1 month = 2026-02-28 12:00 UTC.
        assert_eq!(add_months(jan31, 1), 1_772_280_000);
    }
}
