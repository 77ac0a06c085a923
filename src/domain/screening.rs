//! Knockout rules are data: the operator lists them in config, each with a check, the outcome it
//! leads to when the check fails, and the reason the applicant is told. Adding a rule needs no new
//! code path, only a new entry (and, for a new kind of check, one match arm here).

use serde::{Deserialize, Serialize};

use super::application::NewApplication;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Market {
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Fewest weekly hours we can schedule someone for in this market.
    pub min_weekly_hours: i64,
}

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
    /// Told to the applicant, so it is written to them, kindly and honestly.
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
            reason: "Our support agents must be 18 or older, so we can't take your application \
                     forward. If you are 18 or older and ticked the box by mistake, reply to this \
                     email and a person will look at it."
                .into(),
        },
        Rule {
            id: "market".into(),
            check: Check::CountryInHiringMarkets,
            outcome: Outcome::Waitlisted,
            reason: "We are not hiring in your country yet. We've put you on our waitlist and \
                     will write to you as soon as we open there."
                .into(),
        },
        Rule {
            id: "min_hours".into(),
            check: Check::WeeklyHoursAtLeastMarketMinimum,
            outcome: Outcome::Waitlisted,
            reason: "The hours you can offer are below the minimum we can schedule in your \
                     market. We've put you on our waitlist. If you can offer more hours later, \
                     reply to this email and we'll look at your application again."
                .into(),
        },
    ]
}

pub fn default_markets() -> Vec<Market> {
    [
        ("DE", 10),
        ("DK", 10),
        ("FI", 10),
        ("GB", 12),
        ("NL", 10),
        ("NO", 10),
        ("SE", 8),
        ("US", 15),
    ]
    .into_iter()
    .map(|(c, h)| Market {
        country: c.into(),
        min_weekly_hours: h,
    })
    .collect()
}

/// Runs every rule and returns one result per rule (passes included, so the record shows what was
/// checked), plus the overall outcome: the most severe failure, or `Pass`.
pub fn screen(
    app: &NewApplication,
    rules: &[Rule],
    markets: &[Market],
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
                    rule.reason.clone()
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
        let (overall, results) = screen(&sample(), &default_rules(), &default_markets());
        assert_eq!(overall, Outcome::Pass);
        assert_eq!(results.len(), 3);
        assert!(results.iter().all(|r| r.outcome == Outcome::Pass));
    }

    #[test]
    fn minor_is_rejected_even_when_also_waitlisted() {
        let mut a = sample();
        a.adult = false;
        a.country = "BR".into();
        let (overall, results) = screen(&a, &default_rules(), &default_markets());
        assert_eq!(overall, Outcome::Rejected);
        let failed: Vec<_> = results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .map(|r| r.rule_id.as_str())
            .collect();
        assert_eq!(failed, ["adult", "market"]);
    }

    #[test]
    fn hours_below_market_minimum_waitlist() {
        let mut a = sample();
        a.country = "US".into();
        a.weekly_hours = 14;
        let (overall, results) = screen(&a, &default_rules(), &default_markets());
        assert_eq!(overall, Outcome::Waitlisted);
        assert_eq!(results[2].rule_id, "min_hours");
        assert!(!results[2].reason.is_empty());
        a.weekly_hours = 15;
        assert_eq!(
            screen(&a, &default_rules(), &default_markets()).0,
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
        let (overall, results) = screen(&a, &rules, &default_markets());
        assert_eq!(overall, Outcome::Waitlisted);
        assert_eq!(results[0].reason, "You need a headset.");
    }
}
