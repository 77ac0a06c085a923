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
