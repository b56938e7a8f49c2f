//! Times as analysts read them: "3 hours ago", with the absolute UTC time alongside.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago", "4 months ago", "in 2 hours" (clock skew).
pub fn relative_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (future, secs) = if secs < 0 { (true, -secs) } else { (false, secs) };
    if secs < 45 {
        return "just now".to_string();
    }
    let (n, unit) = match secs {
        s if s < 90 => (1, "minute"),
        s if s < 3_600 => ((s + 30) / 60, "minute"),
        s if s < 5_400 => (1, "hour"),
        s if s < 86_400 => ((s + 1_800) / 3_600, "hour"),
        s if s < 2 * 86_400 => (1, "day"),
        s if s < 45 * 86_400 => ((s + 43_200) / 86_400, "day"),
        s if s < 365 * 86_400 => ((s + 15 * 86_400) / (30 * 86_400), "month"),
        s => (s / (365 * 86_400), "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

// Formatting by hand rather than with chrono's strftime keeps that machinery out of the wasm bundle.

/// The absolute time in UTC, to the second: `2026-11-25 14:03:07 UTC`.
pub fn absolute_utc(t: DateTime<Utc>) -> String {
    format!("{} {:02}:{:02}:{:02} UTC", t.date_naive(), t.hour(), t.minute(), t.second())
}

/// Date and minute in UTC, separated by `sep`: `2026-11-25 14:03` (or `T` for a `datetime-local` input value).
pub fn utc_minute(t: DateTime<Utc>, sep: char) -> String {
    format!("{}{sep}{:02}:{:02}", t.date_naive(), t.hour(), t.minute())
}

/// RFC 3339 with a `Z`, to the second, as used in shared links and exports.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn check(ago: Duration, expected: &str) {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        assert_eq!(relative_time(now - ago, now), expected, "{ago:?} ago");
    }

    #[test]
    fn reads_like_a_person_would_say_it() {
        check(Duration::seconds(10), "just now");
        check(Duration::seconds(70), "1 minute ago");
        check(Duration::minutes(5), "5 minutes ago");
        check(Duration::minutes(80), "1 hour ago");
        check(Duration::hours(3), "3 hours ago");
        check(Duration::hours(30), "1 day ago");
        check(Duration::days(12), "12 days ago");
        check(Duration::days(90), "3 months ago");
        check(Duration::days(800), "2 years ago");
        check(Duration::hours(-2), "in 2 hours");
    }

    #[test]
    fn absolute_forms() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 14, 3, 7).unwrap();
        assert_eq!(absolute_utc(t), "2026-11-25 14:03:07 UTC");
        assert_eq!(rfc3339(t), "2026-11-25T14:03:07Z");
        assert_eq!(utc_minute(t, 'T'), "2026-11-25T14:03");
        assert_eq!(utc_minute(Utc.with_ymd_and_hms(2026, 1, 5, 4, 9, 0).unwrap(), ' '), "2026-01-05 04:09");
    }
}
