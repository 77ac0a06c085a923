//! Agent quality: the weekly figures imported from the support platform, and the statistics
//! that say whether quiz scores predict them (Pearson's r with a Fisher-z confidence interval).

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

use super::email::EmailAddress;
use super::{add_error, FieldErrors};

/// The columns of a quality file, in any order.
pub const QUALITY_FIELDS: [&str; 4] = ["email", "week", "csat", "qa_score"];

/// A row as it arrives.
#[derive(Debug, Clone, Default)]
pub struct RawQuality {
    pub email: String,
    pub week: String,
    pub csat: String,
    pub qa_score: String,
}

/// A checked row: the agent's address, the Monday of the week, and the figures (0 to 100,
/// either may be missing but not both).
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    pub email: EmailAddress,
    pub week: NaiveDate,
    pub csat: Option<f64>,
    pub qa_score: Option<f64>,
}

/// A week as `2026-W48` or any day of it (`2026-11-25`); its Monday.
fn parse_week(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    if let Some((y, w)) = raw.split_once("-W").or_else(|| raw.split_once("-w")) {
        return NaiveDate::from_isoywd_opt(y.parse().ok()?, w.parse().ok()?, Weekday::Mon);
    }
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some(super::reports::week_start(d))
}

impl RawQuality {
    pub fn parse(&self, today: NaiveDate) -> Result<Quality, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = EmailAddress::parse(self.email.trim())
            .map_err(|m| add_error(&mut errors, "email", m))
            .ok();
        let week = parse_week(&self.week);
        match week {
            None => add_error(
                &mut errors,
                "week",
                "Give the week as 2026-W48 or as a date in it, YYYY-MM-DD.",
            ),
            Some(w) if w > today => add_error(&mut errors, "week", "The week has not started yet."),
            Some(w) if w.year() < 2000 => {
                add_error(&mut errors, "week", "Give a week from 2000 on.")
            }
            Some(_) => {}
        }
        let mut figure = |field: &str, raw: &str| -> Option<f64> {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            match raw.replace(',', ".").parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Some(v),
                _ => {
                    add_error(
                        &mut errors,
                        field,
                        format!("Give {field} as a number from 0 to 100, or leave it empty."),
                    );
                    None
                }
            }
        };
        let csat = figure("csat", &self.csat);
        let qa_score = figure("qa_score", &self.qa_score);
        if csat.is_none()
            && qa_score.is_none()
            && !errors.contains_key("csat")
            && !errors.contains_key("qa_score")
        {
            add_error(&mut errors, "csat", "Give csat, qa_score or both.");
        }
        match (email, week) {
            (Some(email), Some(week)) if errors.is_empty() => Ok(Quality {
                email,
                week,
                csat,
                qa_score,
            }),
            _ => Err(errors),
        }
    }
}

/// A correlation with its sample size and 95% confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    pub n: usize,
    /// Pearson's r; null with fewer than 3 pairs or no spread.
    pub r: Option<f64>,
    /// The 95% interval of r (Fisher's z); null with fewer than 4 pairs.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Pearson's r of `pairs`, with n and a 95% confidence interval.
pub fn correlation(pairs: &[(f64, f64)]) -> Correlation {
    let n = pairs.len();
    let none = Correlation {
        n,
        r: None,
        ci_low: None,
        ci_high: None,
    };
    if n < 3 {
        return none;
    }
    let nf = n as f64;
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / nf, b + y / nf));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return none;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    if n < 4 {
        return Correlation { r: Some(r), ..none };
    }
    // Fisher's z: atanh(r) is about normal with standard error 1/sqrt(n-3).
    let z = r.clamp(-0.999_999, 0.999_999).atanh();
    let se = 1.0 / (nf - 3.0).sqrt();
    Correlation {
        n,
        r: Some(r),
        ci_low: Some((z - 1.959_964 * se).tanh()),
        ci_high: Some((z + 1.959_964 * se).tanh()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_r_and_its_interval_on_fixed_data() {
        // x = 1..5, y = 2, 4, 5, 4, 5: r = 0.7746 (computed by hand: sxy 6, sxx 10, syy 6).
        let pairs = [(1.0, 2.0), (2.0, 4.0), (3.0, 5.0), (4.0, 4.0), (5.0, 5.0)];
        let c = correlation(&pairs);
        assert_eq!(c.n, 5);
        assert!((c.r.unwrap() - 6.0 / 60f64.sqrt()).abs() < 1e-12);
        // z = atanh(0.7746) = 1.0317, se = 1/sqrt(2): tanh(z ± 1.96 se) = (-0.3401, 0.9842),
        // computed independently with Python's math module.
        assert!((c.ci_low.unwrap() - (-0.340_082)).abs() < 1e-5, "{c:?}");
        assert!((c.ci_high.unwrap() - 0.984_236).abs() < 1e-5, "{c:?}");
        // A perfect line, no spread, too few pairs.
        assert!(
            (correlation(&[(1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 9.0)])
                .r
                .unwrap()
                - 1.0)
                .abs()
                < 1e-12
        );
        assert_eq!(correlation(&[(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]).r, None);
        assert_eq!(correlation(&[(1.0, 1.0), (2.0, 2.0)]).r, None);
        assert_eq!(
            correlation(&[(1.0, 1.0), (2.0, 2.0), (3.0, 2.0)]).ci_low,
            None
        );
    }

    #[test]
    fn a_quality_row_names_each_wrong_field() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let ok = RawQuality {
            email: "Ana@Example.com".into(),
            week: "2026-W47".into(),
            csat: "91.5".into(),
            qa_score: "".into(),
        }
        .parse(today)
        .unwrap();
        assert_eq!(ok.week, NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
        assert_eq!((ok.csat, ok.qa_score), (Some(91.5), None));
        let by_day = RawQuality {
            email: "a@example.com".into(),
            week: "2026-11-19".into(),
            csat: "80".into(),
            qa_score: "70".into(),
        };
        assert_eq!(by_day.parse(today).unwrap().week, ok.week);
        let e = RawQuality {
            email: "nobody".into(),
            week: "2027-W01".into(),
            csat: "101".into(),
            qa_score: "x".into(),
        }
        .parse(today)
        .unwrap_err();
        assert_eq!(
            e.keys().collect::<Vec<_>>(),
            ["csat", "email", "qa_score", "week"]
        );
        let e = RawQuality {
            email: "a@example.com".into(),
            week: "2026-W40".into(),
            ..RawQuality::default()
        }
        .parse(today)
        .unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["csat"]);
    }
}
