//! Times as analysts read them: "3 hours ago", with the absolute UTC time alongside.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeDelta, Timelike, Utc};
use serde::{de, Deserializer};

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

// Reading by hand, too: chrono's parser is generic over format items (11 KB of the module), and the first API
// answer's timestamps are where the app first runs it, compiling it on the way. The server falls back to chrono for
// what the fast path does not read (a space for the `T`, lower case, leap seconds), so it reads what it read before.

/// `2026-11-25T14:03:07Z`, with any fraction of a second and `Z` or an offset `+HH:MM`/`-HH:MM`: the RFC 3339 form
/// every timestamp in the API has. Anything else (or an impossible date) is `None`.
fn canonical(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let num = |from: usize, to: usize| digits(b, from, to);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let date = date_at_start(b)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if at(i, b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3_600 + minutes * 60);
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(date.and_time(time).checked_sub_signed(TimeDelta::seconds(offset))?.and_utc())
}

/// The number written by `b[from..to]`, all ASCII digits.
fn digits(b: &[u8], from: usize, to: usize) -> Option<u32> {
    b.get(from..to)?.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

/// The date `YYYY-MM-DD` that `b` starts with, if it is one.
fn date_at_start(b: &[u8]) -> Option<NaiveDate> {
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(b, 0, 4)? as i32, digits(b, 5, 7)?, digits(b, 8, 10)?)
}

/// An RFC 3339 timestamp as `DateTime::parse_from_rfc3339` reads it, in UTC.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    let fast = canonical(text);
    #[cfg(not(target_arch = "wasm32"))]
    let fast = fast.or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc)));
    fast
}

/// A timestamp field as chrono's `Deserialize` reads it (`de_utc`, and the app's `json`): the RFC 3339 form by hand;
/// on the server, chrono's parser for what else it reads (a space for the `T`, lower case, leap seconds).
pub fn read_utc(text: &str) -> Option<DateTime<Utc>> {
    let fast = canonical(text);
    #[cfg(not(target_arch = "wasm32"))]
    let fast = fast.or_else(|| text.parse().ok());
    fast
}

/// A date field (`2026-11-25`) as chrono's `Deserialize` reads it (`de_date`, and the app's `json`).
pub fn read_date(text: &str) -> Option<NaiveDate> {
    let fast = (text.len() == 10).then(|| date_at_start(text.as_bytes())).flatten();
    #[cfg(not(target_arch = "wasm32"))]
    let fast = fast.or_else(|| text.parse().ok());
    fast
}

/// Serde's reading of a `DateTime<Utc>` field (`#[serde(deserialize_with = "crate::time::de_utc")]`), as chrono's
/// own reads it.
pub fn de_utc<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(UtcVisitor)
}

/// The same for an `Option<DateTime<Utc>>` field (with `#[serde(default)]`, a missing field is `None`).
pub fn de_utc_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_option(OptionVisitor)
}

/// Serde's reading of a `NaiveDate` field (`2026-11-25`), as chrono's own reads it.
pub fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    d.deserialize_str(DateVisitor)
}

struct DateVisitor;

impl de::Visitor<'_> for DateVisitor {
    type Value = NaiveDate;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a date (YYYY-MM-DD)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<NaiveDate, E> {
        read_date(text).ok_or_else(|| E::custom(format!("not a date: {text}")))
    }
}

struct UtcVisitor;

impl de::Visitor<'_> for UtcVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
        read_utc(text).ok_or_else(|| E::custom(format!("not an RFC 3339 timestamp: {text}")))
    }
}

struct OptionVisitor;

impl<'de> de::Visitor<'de> for OptionVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 timestamp or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        de_utc(d).map(Some)
    }
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

    #[test]
    fn the_fast_reading_agrees_with_chrono_and_declines_the_rest() {
        // Read by hand, each exactly as chrono reads it.
        for text in [
            "2026-11-25T14:03:07Z",
            "2026-11-25T14:03:07.5Z",
            "2026-11-25T14:03:07.123Z",
            "2024-02-29T23:59:59.1234567Z",
            "2026-11-25T14:03:07.123456789Z",
            "2026-11-25T14:03:07.1234567891Z",
            "2026-11-25T01:30:00+02:00",
            "2026-01-01T00:30:00-05:30",
            "0001-01-01T00:00:00Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
            assert_eq!(canonical(text), Some(chrono), "{text}");
            assert_eq!(parse_rfc3339(text), Some(chrono), "{text}");
        }
        // Left to chrono (on the server) or refused: other separators and cases, leap seconds, impossible dates,
        // missing or malformed parts.
        for text in [
            "2026-11-25 14:03:07Z",
            "2026-11-25t14:03:07z",
            "2016-12-31T23:59:60Z",
            "2026-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T14:03:07",
            "2026-11-25T14:03:07.Z",
            "2026-11-25T14:03:07+0200",
            "2026-11-25T14:03:07+24:00",
            "2026-1-25T14:03:07Z",
            "2026-11-25T14:03:07Z ",
            "+2026-11-25T14:03:07Z",
            "2026-11-25T14:03:0",
            "2026-11-25T14:03:",
            "2026-11-25T14:03:07.",
            "",
        ] {
            assert_eq!(canonical(text), None, "{text}");
            let chrono = DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc));
            assert_eq!(parse_rfc3339(text), chrono, "{text}");
        }
    }

    #[test]
    fn wire_dates_read_as_chrono_reads_them() {
        #[derive(serde::Deserialize)]
        struct Day {
            #[serde(deserialize_with = "de_date")]
            date: NaiveDate,
        }
        let read = |text: &str| serde_json::from_str::<Day>(&format!(r#"{{"date": "{text}"}}"#)).map(|d| d.date).ok();
        for text in ["2026-11-25", "2024-02-29", "0001-01-01", "2026-02-29", "2026-13-01", "2026-1-5", "26-11-25", ""] {
            let chrono = text.parse::<NaiveDate>().ok();
            assert_eq!(read(text), chrono, "{text}");
            if text.len() == 10 {
                assert_eq!(date_at_start(text.as_bytes()), chrono, "read by hand: {text}");
            }
        }
        assert!(read("2026-11-25").is_some());
    }

    #[test]
    fn wire_timestamps_read_as_chrono_read_them() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Row {
            #[serde(deserialize_with = "de_utc")]
            at: DateTime<Utc>,
            #[serde(default, deserialize_with = "de_utc_option")]
            seen: Option<DateTime<Utc>>,
        }
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 14, 3, 7).unwrap();
        let read = |json: &str| serde_json::from_str::<Row>(json).map_err(|e| e.to_string());
        assert_eq!(read(r#"{"at": "2026-11-25T14:03:07Z"}"#), Ok(Row { at, seen: None }));
        assert_eq!(read(r#"{"at": "2026-11-25T16:03:07+02:00", "seen": null}"#), Ok(Row { at, seen: None }));
        assert_eq!(
            read(r#"{"at": "2026-11-25 14:03:07Z", "seen": "2026-11-25T14:03:07Z"}"#),
            Ok(Row { at, seen: Some(at) })
        );
        let error = read(r#"{"at": "yesterday"}"#).unwrap_err();
        assert!(error.contains("not an RFC 3339 timestamp: yesterday"), "{error}");
        assert!(read(r#"{"at": 5}"#).is_err());
    }
}
