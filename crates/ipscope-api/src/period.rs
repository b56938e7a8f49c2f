//! Time periods: the presets the page offers, and the parameters the API accepts (`lookBackHours` or `from`/`to`).

use chrono::{DateTime, Duration, Utc};

/// The longest period the API answers for: about six months.
pub const MAX_DAYS: i64 = 183;
/// `lookBackHours` when none is given: Defender's 30 days.
pub const DEFAULT_LOOK_BACK_HOURS: i64 = 720;

/// A half-open interval `[from, to)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub to: DateTime<Utc>,
}

impl Period {
    /// The `hours` before `now`, including `now` itself.
    pub fn last_hours(hours: i64, now: DateTime<Utc>) -> Period {
        let to = now + Duration::milliseconds(1);
        Period { from: to - Duration::hours(hours), to }
    }
}

/// Why period parameters were refused, in words that say how to fix them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// `lookBackHours` together with `from`/`to`.
    #[error("Give either lookBackHours or from/to, not both.")]
    Conflicting,
    /// Not a whole number in range.
    #[error("lookBackHours must be a whole number of hours from 1 to {max}; got '{0}'.", max = MAX_DAYS * 24)]
    BadLookBack(String),
    /// `from` or `to` is not RFC 3339.
    #[error("{0} must be an RFC 3339 time such as 2026-11-01T00:00:00Z; got '{1}'.")]
    BadTime(&'static str, String),
    /// `to` without `from`.
    #[error("'to' needs a 'from'.")]
    MissingFrom,
    /// `from` is not before `to`.
    #[error("'from' must be before 'to'.")]
    Inverted,
    /// Longer than `MAX_DAYS`.
    #[error("The period is longer than {MAX_DAYS} days; choose a shorter one.")]
    TooLong,
    /// Starts in the future.
    #[error("'from' is in the future.")]
    InFuture,
    /// An unknown preset token in a page URL.
    #[error("Unknown period '{0}'; use 1d, 7d, 30d or 6m.")]
    BadPreset(String),
}

/// Reads the period parameters of an API call; `to` defaults to now, and no parameters means the last 30 days.
pub fn parse_period(
    look_back_hours: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Period, PeriodError> {
    if look_back_hours.is_some() && (from.is_some() || to.is_some()) {
        return Err(PeriodError::Conflicting);
    }
    let time = |name: &'static str, text: &str| {
        crate::time::parse_rfc3339(text.trim()).ok_or_else(|| PeriodError::BadTime(name, text.to_string()))
    };
    let period = match (look_back_hours, from, to) {
        (Some(h), _, _) => match h.trim().parse::<i64>() {
            Ok(hours) if (1..=MAX_DAYS * 24).contains(&hours) => Period::last_hours(hours, now),
            _ => return Err(PeriodError::BadLookBack(h.to_string())),
        },
        (None, None, None) => Period::last_hours(DEFAULT_LOOK_BACK_HOURS, now),
        (None, None, Some(_)) => return Err(PeriodError::MissingFrom),
        (None, Some(f), t) => {
            let from = time("from", f)?;
            let to = match t {
                Some(t) => time("to", t)?,
                None => now + Duration::milliseconds(1),
            };
            Period { from, to }
        }
    };
    if period.from >= period.to {
        return Err(PeriodError::Inverted);
    }
    if period.to - period.from > Duration::days(MAX_DAYS) + Duration::seconds(1) {
        return Err(PeriodError::TooLong);
    }
    if period.from > now {
        return Err(PeriodError::InFuture);
    }
    Ok(period)
}

/// The period presets of the page, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days (the default, as in Defender).
    Month,
    /// The last 6 months.
    HalfYear,
}

impl Preset {
    /// Every preset, shortest first.
    pub const ALL: [Preset; 4] = [Preset::Day, Preset::Week, Preset::Month, Preset::HalfYear];

    /// The token used in URLs (`1d`, `7d`, `30d`, `6m`).
    pub fn token(self) -> &'static str {
        match self {
            Preset::Day => "1d",
            Preset::Week => "7d",
            Preset::Month => "30d",
            Preset::HalfYear => "6m",
        }
    }

    /// The label on the page.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Day => "1 day",
            Preset::Week => "7 days",
            Preset::Month => "30 days",
            Preset::HalfYear => "6 months",
        }
    }

    /// Its length in hours.
    pub fn hours(self) -> i64 {
        match self {
            Preset::Day => 24,
            Preset::Week => 7 * 24,
            Preset::Month => 30 * 24,
            Preset::HalfYear => MAX_DAYS * 24,
        }
    }

    /// The preset for a URL token.
    pub fn from_token(token: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.token() == token)
    }
}

/// The period chosen on the page: a preset or a custom range. It lives in the URL (`?period=7d` or `?from=..&to=..`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodChoice {
    /// The last N hours, relative to the time of each request.
    Preset(Preset),
    /// An absolute range.
    Custom(Period),
}

impl Default for PeriodChoice {
    fn default() -> Self {
        PeriodChoice::Preset(Preset::Month)
    }
}

impl PeriodChoice {
    /// Reads the page's URL parameters; nothing means the 30-day default.
    pub fn from_url(period: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<PeriodChoice, PeriodError> {
        match (period, from, to) {
            (_, Some(f), Some(t)) => {
                let parse = |name, text: &str| {
                    crate::time::parse_rfc3339(text.trim()).ok_or_else(|| PeriodError::BadTime(name, text.to_string()))
                };
                let range = Period { from: parse("from", f)?, to: parse("to", t)? };
                if range.from >= range.to {
                    return Err(PeriodError::Inverted);
                }
                if range.to - range.from > Duration::days(MAX_DAYS) {
                    return Err(PeriodError::TooLong);
                }
                Ok(PeriodChoice::Custom(range))
            }
            (_, Some(_), None) | (_, None, Some(_)) => Err(PeriodError::MissingFrom),
            (Some(token), None, None) => {
                Preset::from_token(token).map(PeriodChoice::Preset).ok_or(PeriodError::BadPreset(token.to_string()))
            }
            (None, None, None) => Ok(PeriodChoice::default()),
        }
    }

    /// The URL parameters that restore this choice; empty for the default.
    pub fn url_params(&self) -> Vec<(&'static str, String)> {
        match self {
            PeriodChoice::Preset(Preset::Month) => Vec::new(),
            PeriodChoice::Preset(p) => vec![("period", p.token().to_string())],
            PeriodChoice::Custom(r) => vec![("from", crate::time::rfc3339(r.from)), ("to", crate::time::rfc3339(r.to))],
        }
    }

    /// The API query string for this choice (`lookBackHours=720` or `from=..&to=..`).
    pub fn api_query(&self) -> String {
        match self {
            PeriodChoice::Preset(p) => format!("lookBackHours={}", p.hours()),
            PeriodChoice::Custom(r) => {
                format!("from={}&to={}", crate::time::rfc3339(r.from), crate::time::rfc3339(r.to))
            }
        }
    }

    /// Words for the page: "the last 30 days" or "2026-11-01 00:00 – 2026-11-08 00:00 UTC".
    pub fn describe(&self) -> String {
        match self {
            PeriodChoice::Preset(p) => format!("the last {}", p.label()),
            PeriodChoice::Custom(r) => {
                format!("{} – {} UTC", crate::time::utc_minute(r.from, ' '), crate::time::utc_minute(r.to, ' '))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn check(
        look_back: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        expected: Result<(&str, &str), PeriodError>,
    ) {
        let got = parse_period(look_back, from, to, now()).map(|p| (p.from.to_rfc3339(), p.to.to_rfc3339()));
        let expected = expected.map(|(f, t)| (f.to_string(), t.to_string()));
        assert_eq!(got, expected, "{look_back:?} {from:?} {to:?}");
    }

    #[test]
    fn reads_look_back_and_explicit_ranges() {
        check(None, None, None, Ok(("2026-10-26T12:00:00.001+00:00", "2026-11-25T12:00:00.001+00:00")));
        check(Some("24"), None, None, Ok(("2026-11-24T12:00:00.001+00:00", "2026-11-25T12:00:00.001+00:00")));
        check(
            None,
            Some("2026-11-01T00:00:00Z"),
            Some("2026-11-02T00:00:00+01:00"),
            Ok(("2026-11-01T00:00:00+00:00", "2026-11-01T23:00:00+00:00")),
        );
        check(
            None,
            Some("2026-11-20T00:00:00Z"),
            None,
            Ok(("2026-11-20T00:00:00+00:00", "2026-11-25T12:00:00.001+00:00")),
        );
    }

    #[test]
    fn refuses_absurd_periods() {
        check(Some("0"), None, None, Err(PeriodError::BadLookBack("0".into())));
        check(Some("-3"), None, None, Err(PeriodError::BadLookBack("-3".into())));
        check(Some("4393"), None, None, Err(PeriodError::BadLookBack("4393".into())));
        check(Some("24"), Some("2026-11-01T00:00:00Z"), None, Err(PeriodError::Conflicting));
        check(None, None, Some("2026-11-01T00:00:00Z"), Err(PeriodError::MissingFrom));
        check(None, Some("yesterday"), None, Err(PeriodError::BadTime("from", "yesterday".into())));
        check(None, Some("2026-11-02T00:00:00Z"), Some("2026-11-01T00:00:00Z"), Err(PeriodError::Inverted));
        check(None, Some("2025-01-01T00:00:00Z"), Some("2026-01-01T00:00:00Z"), Err(PeriodError::TooLong));
        check(None, Some("2027-01-01T00:00:00Z"), Some("2027-01-02T00:00:00Z"), Err(PeriodError::InFuture));
    }

    #[test]
    fn page_choices_round_trip_through_the_url() {
        let choice = |p: Option<&str>, f: Option<&str>, t: Option<&str>| PeriodChoice::from_url(p, f, t);
        assert_eq!(choice(None, None, None), Ok(PeriodChoice::Preset(Preset::Month)));
        assert_eq!(choice(Some("7d"), None, None), Ok(PeriodChoice::Preset(Preset::Week)));
        assert_eq!(choice(Some("2y"), None, None), Err(PeriodError::BadPreset("2y".into())));
        assert_eq!(choice(None, Some("2026-11-01T00:00:00Z"), None), Err(PeriodError::MissingFrom));
        let custom = choice(None, Some("2026-11-01T00:00:00Z"), Some("2026-11-08T00:00:00Z")).unwrap();
        let params = custom.url_params();
        assert_eq!(
            params,
            vec![("from", "2026-11-01T00:00:00Z".to_string()), ("to", "2026-11-08T00:00:00Z".to_string())]
        );
        assert_eq!(custom.api_query(), "from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:00Z");
        assert_eq!(choice(None, Some(&params[0].1), Some(&params[1].1)), Ok(custom));
        assert_eq!(PeriodChoice::Preset(Preset::Day).api_query(), "lookBackHours=24");
        assert_eq!(PeriodChoice::default().url_params(), vec![]);
        assert_eq!(
            choice(None, Some("2026-11-08T00:00:00Z"), Some("2026-11-01T00:00:00Z")),
            Err(PeriodError::Inverted)
        );
    }

    #[test]
    fn presets_round_trip_through_their_tokens() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_token(p.token()), Some(p));
        }
        assert_eq!(Preset::from_token("2y"), None);
        assert_eq!(Preset::HalfYear.hours(), 4392);
    }
}
