//! Knockout rules are data: the operator lists them in config, each with a check, the outcome it
//! leads to when the check fails, and the reason the applicant is told. Adding a rule needs no new
//! code path, only a new entry (and, for a new kind of check, one match arm here).

use serde::{Deserialize, Serialize};

use super::application::NewApplication;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Fewest weekly hours we can schedule someone for in this market.
    pub min_weekly_hours: i64,
    /// Where applicants in this market read times (quiz deadlines, retry dates): an IANA zone
    /// such as `Europe/Stockholm`.
    #[serde(default = "utc")]
    pub time_zone: chrono_tz::Tz,
}

fn utc() -> chrono_tz::Tz {
    chrono_tz::UTC
}

/// What a rule's reason may refer to; filled in for the applicant it is told to.
pub const REASON_PLACEHOLDERS: &[&str] = &["{min_age}", "{country}", "{hours}", "{min_hours}"];

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    AdultConfirmed,
    CountryInHiringMarkets,
    WeeklyHoursAtLeastMarketMinimum,
    EquipmentConfirmed,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Waitlisted,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Waitlisted => "waitlisted",
            Outcome::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub check: Check,
    /// What failing this check means: `waitlisted` or `rejected`.
    pub outcome: Outcome,
    /// Told to the applicant, so it is written to them, kindly and honestly. May use
    /// `{min_age}`, `{country}` (their country's name), `{hours}` (the hours they offered) and
    /// `{min_hours}` (their market's minimum), so the numbers always match the rule.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    pub rule_id: String,
    pub outcome: Outcome,
    pub reason: String,
}

pub fn default_rules() -> Vec<Rule> {
    vec![
        Rule {
            id: "adult".into(),
            check: Check::AdultConfirmed,
            outcome: Outcome::Rejected,
            reason: "Our support agents must be {min_age} or older, so we can't take your \
                     application forward. If you are {min_age} or older and ticked the box by \
                     mistake, reply to this email and a person will look at it."
                .into(),
        },
        Rule {
            id: "market".into(),
            check: Check::CountryInHiringMarkets,
            outcome: Outcome::Waitlisted,
            reason: "We are not hiring in {country} yet. We've put you on our waitlist and \
                     will write to you as soon as we open there."
                .into(),
        },
        Rule {
            id: "min_hours".into(),
            check: Check::WeeklyHoursAtLeastMarketMinimum,
            outcome: Outcome::Waitlisted,
            reason: "You can offer {hours} hours a week, and the fewest we can schedule in \
                     {country} is {min_hours}. We've put you on our waitlist. If you can offer \
                     more hours later, reply to this email and we'll look at your application \
                     again."
                .into(),
        },
    ]
}

pub fn default_markets() -> Vec<Market> {
    use chrono_tz::{America, Europe};
    [
        ("DE", 10, Europe::Berlin),
        ("DK", 10, Europe::Copenhagen),
        ("FI", 10, Europe::Helsinki),
        ("GB", 12, Europe::London),
        ("NL", 10, Europe::Amsterdam),
        ("NO", 10, Europe::Oslo),
        ("SE", 8, Europe::Stockholm),
        ("US", 15, America::New_York),
    ]
    .into_iter()
    .map(|(c, h, tz)| Market {
        country: c.into(),
        min_weekly_hours: h,
        time_zone: tz,
    })
    .collect()
}

/// A rule's reason for one applicant, with its placeholders filled in.
pub fn reason_for(
    reason: &str,
    app: &NewApplication,
    market: Option<&Market>,
    min_age: u32,
) -> String {
    let country = super::iso::country_name(&app.country).unwrap_or(&app.country);
    reason
        .replace("{min_age}", &min_age.to_string())
        .replace("{country}", country)
        .replace("{hours}", &app.weekly_hours.to_string())
        .replace(
            "{min_hours}",
            &market.map_or(String::new(), |m| m.min_weekly_hours.to_string()),
        )
}

/// Runs every rule and returns one result per rule (passes included, so the record shows what was
/// checked), plus the overall outcome: the most severe failure, or `Pass`.
pub fn screen(
    app: &NewApplication,
    rules: &[Rule],
    markets: &[Market],
    min_age: u32,
) -> (Outcome, Vec<RuleResult>) {
    let market = markets.iter().find(|m| m.country == app.country);
    let results: Vec<RuleResult> = rules
        .iter()
        .map(|rule| {
            let passed = match rule.check {
                Check::AdultConfirmed => app.adult,
                Check::EquipmentConfirmed => app.equipment,
                Check::CountryInHiringMarkets => market.is_some(),
                // Outside the markets there is no minimum to miss; the market rule covers it.
                Check::WeeklyHoursAtLeastMarketMinimum => {
                    market.is_none_or(|m| app.weekly_hours >= m.min_weekly_hours)
                }
            };
            RuleResult {
                rule_id: rule.id.clone(),
                outcome: if passed { Outcome::Pass } else { rule.outcome },
                reason: if passed {
                    String::new()
                } else {
                    reason_for(&rule.reason, app, market, min_age)
                },
            }
        })
        .collect();
    let overall = results
        .iter()
        .map(|r| r.outcome)
        .max()
        .unwrap_or(Outcome::Pass);
    (overall, results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::tests::sample;

    #[test]
    fn passing_applicant_passes_every_rule() {
        let (overall, results) = screen(&sample(), &default_rules(), &default_markets(), 18);
        assert_eq!(overall, Outcome::Pass);
        assert_eq!(results.len(), 3);
        assert!(results.iter().all(|r| r.outcome == Outcome::Pass));
    }

    #[test]
    fn minor_is_rejected_even_when_also_waitlisted() {
        let mut a = sample();
        a.adult = false;
        a.country = "BR".into();
        let (overall, results) = screen(&a, &default_rules(), &default_markets(), 18);
        assert_eq!(overall, Outcome::Rejected);
        let failed: Vec<_> = results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .map(|r| r.rule_id.as_str())
            .collect();
        assert_eq!(failed, ["adult", "market"]);
        assert!(results[0]
            .reason
            .starts_with("Our support agents must be 18 or older"));
        assert!(results[1]
            .reason
            .starts_with("We are not hiring in Brazil yet."));
    }

    #[test]
    fn hours_below_market_minimum_waitlist() {
        let mut a = sample();
        a.country = "US".into();
        a.weekly_hours = 14;
        let (overall, results) = screen(&a, &default_rules(), &default_markets(), 18);
        assert_eq!(overall, Outcome::Waitlisted);
        assert_eq!(results[2].rule_id, "min_hours");
        // The reason states the rule with the market's own numbers.
        assert!(
            results[2].reason.starts_with(
                "You can offer 14 hours a week, and the fewest we can schedule in United States is 15."
            ),
            "{}",
            results[2].reason
        );
        a.weekly_hours = 15;
        assert_eq!(
            screen(&a, &default_rules(), &default_markets(), 18).0,
            Outcome::Pass
        );
    }

    #[test]
    fn rules_come_from_data() {
        let rules: Vec<Rule> = toml::from_str::<toml::Table>(
            r#"
            [[rule]]
            id = "kit"
            check = "equipment_confirmed"
            outcome = "waitlisted"
            reason = "You need a headset."
            "#,
        )
        .unwrap()["rule"]
            .clone()
            .try_into()
            .unwrap();
        let mut a = sample();
        a.equipment = false;
        let (overall, results) = screen(&a, &rules, &default_markets(), 18);
        assert_eq!(overall, Outcome::Waitlisted);
        assert_eq!(results[0].reason, "You need a headset.");
    }
}
