//! Times as applicants read them: in their market's time zone, with the zone named, so
//! "14:05" is never a guess. Stored times stay UTC.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// "Stockholm time, CET", or "UTC". The city is the zone's own name, so it reads the same for
/// everyone in the market whatever their town.
pub fn zone_label(t: DateTime<Utc>, tz: Tz) -> String {
    if tz == chrono_tz::UTC {
        return "UTC".into();
    }
    let city = tz
        .name()
        .rsplit('/')
        .next()
        .unwrap_or(tz.name())
        .replace('_', " ");
    let abbreviation = t.with_timezone(&tz).format("%Z").to_string();
    // Some zones have no abbreviation and print an offset ("+03"); say so plainly.
    if abbreviation.starts_with(['+', '-']) {
        format!("{city} time, UTC{abbreviation}")
    } else {
        format!("{city} time, {abbreviation}")
    }
}

/// "28 November 2026"
pub fn date(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-d %B %Y").to_string()
}

/// A calendar day, "1 March 2027".
pub fn date_of(d: chrono::NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// "28 November 2026 at 14:05 (Stockholm time, CET)"
pub fn date_time(t: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} ({})",
        t.with_timezone(&tz).format("%-d %B %Y at %H:%M"),
        zone_label(t, tz)
    )
}

/// "14:05 (Stockholm time, CET)"
pub fn clock(t: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} ({})",
        t.with_timezone(&tz).format("%H:%M"),
        zone_label(t, tz)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_local_with_the_zone_named() {
        let winter = Utc.with_ymd_and_hms(2026, 11, 28, 9, 45, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap();
        let se = chrono_tz::Europe::Stockholm;
        assert_eq!(clock(winter, se), "10:45 (Stockholm time, CET)");
        assert_eq!(clock(summer, se), "01:30 (Stockholm time, CEST)");
        // Late evening UTC is already the next day in Stockholm.
        assert_eq!(date(summer, se), "2 July 2026");
        assert_eq!(
            date_time(winter, chrono_tz::America::New_York),
            "28 November 2026 at 04:45 (New York time, EST)"
        );
        assert_eq!(
            date_time(winter, chrono_tz::UTC),
            "28 November 2026 at 09:45 (UTC)"
        );
    }
}

/// A length of time for people: "7 days", "1 day", "36 hours", "30 minutes".
pub fn in_words(d: chrono::Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let secs = d.num_seconds();
    if secs % 86_400 == 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else if secs % 60 == 0 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

/// A length of time written the way settings write it: a whole number and a unit, `30s`, `15m`,
/// `72h`, `7d` or `2w` (the unit is required, so `72` is not read as hours or seconds by guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Span(chrono::Duration);

impl Span {
    pub fn hours(h: i64) -> Self {
        Self(chrono::Duration::hours(h))
    }

    pub fn duration(self) -> chrono::Duration {
        self.0
    }
}

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!("{s:?} is not a length of time: write a number and a unit, such as 30s, 15m, 72h, 7d or 2w")
        };
        let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = s.split_at(unit_at);
        let n: i64 = n.parse().map_err(|_| bad())?;
        let d = match unit {
            "s" => chrono::Duration::try_seconds(n),
            "m" => chrono::Duration::try_minutes(n),
            "h" => chrono::Duration::try_hours(n),
            "d" => chrono::Duration::try_days(n),
            "w" => chrono::Duration::try_weeks(n),
            _ => None,
        }
        .filter(|d| *d > chrono::Duration::zero() && *d <= chrono::Duration::days(3650))
        .ok_or_else(bad)?;
        Ok(Self(d))
    }
}

impl TryFrom<String> for Span {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Span> for String {
    fn from(s: Span) -> String {
        s.to_string()
    }
}

impl std::fmt::Display for Span {
    /// The largest unit that writes it whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.num_seconds();
        for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] {
            if secs % size == 0 {
                return write!(f, "{}{unit}", secs / size);
            }
        }
        write!(f, "{secs}s")
    }
}

#[cfg(test)]
mod span_tests {
    use super::Span;

    #[test]
    fn spans_read_and_write_with_their_unit() {
        for (text, secs, shown) in [
            ("30s", 30, "30s"),
            ("15m", 900, "15m"),
            ("72h", 259_200, "3d"),
            ("7d", 604_800, "1w"),
            (" 2w ", 1_209_600, "2w"),
        ] {
            let s: Span = text.parse().unwrap();
            assert_eq!(s.duration().num_seconds(), secs, "{text}");
            assert_eq!(s.to_string(), shown);
            assert_eq!(shown.parse::<Span>().unwrap(), s);
        }
        for bad in ["72", "h", "-1h", "0h", "1.5h", "3 days", "1y", "99999w", ""] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
    }
}
