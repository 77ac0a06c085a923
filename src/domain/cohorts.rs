//! Pilot cohorts: new agents for one market and support language who start together, with a
//! capacity, an owner and an onboarding checklist. The rules for what a cohort request may hold
//! and the status a cohort is in live here; the store keeps the seats.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use super::email::EmailAddress;
use super::{add_error, iso, FieldErrors};

pub const NAME_MIN: usize = 2;
pub const NAME_MAX: usize = 80;
pub const CAPACITY_MIN: i64 = 1;
pub const CAPACITY_MAX: i64 = 5000;
/// The template a new cohort's checklist is copied from.
pub const DEFAULT_TEMPLATE: &str = "default";

/// Where a cohort is: `planned` before its start date, `onboarding` from it, then `live` and
/// `closed` when a recruiter marks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortStatus {
    Planned,
    Onboarding,
    Live,
    Closed,
}

impl CohortStatus {
    pub const ALL: [Self; 4] = [Self::Planned, Self::Onboarding, Self::Live, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Onboarding => "onboarding",
            Self::Live => "live",
            Self::Closed => "closed",
        }
    }

    /// The status of a cohort that starts on `start` and that a recruiter marked `marked`
    /// (`live` or `closed`, or nothing yet), on `today` in the cohort's market.
    pub fn of(start: NaiveDate, marked: Option<&str>, today: NaiveDate) -> Self {
        match marked {
            Some("closed") => Self::Closed,
            Some("live") => Self::Live,
            _ if today < start => Self::Planned,
            _ => Self::Onboarding,
        }
    }
}

/// Checks a recruiter's marking of a cohort as `live` or `closed` from `current`; the refusal
/// says why. A cohort goes live from its start date, once; it may be closed from any status
/// but closed (a cancelled plan closes too), and a closed cohort stays closed.
pub fn check_mark(current: CohortStatus, to: &str, start: NaiveDate) -> Result<(), String> {
    match (to, current) {
        ("live", CohortStatus::Onboarding) => Ok(()),
        ("live", CohortStatus::Planned) => Err(format!(
            "The cohort starts on {}: it can be marked live from its start date.",
            super::time::date_of(start)
        )),
        ("live", CohortStatus::Live) | ("closed", CohortStatus::Closed) => {
            Err(format!("The cohort is already {to}."))
        }
        ("live", CohortStatus::Closed) => Err("A closed cohort stays closed.".into()),
        ("closed", _) => Ok(()),
        _ => Err("Mark a cohort live or closed.".into()),
    }
}

/// Who ticks a checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TickedBy {
    Applicant,
    Recruiter,
}

impl TickedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Recruiter => "recruiter",
        }
    }
}

/// One item of an onboarding checklist.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    pub key: String,
    pub label: String,
    pub required: bool,
    pub ticked_by: TickedBy,
    /// A figure recorded with the tick: `bandwidth_mbps` for the equipment check.
    #[serde(default)]
    pub records: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    #[serde(default)]
    item: Vec<ChecklistItem>,
}

/// Reads a checklist template (`seed/checklist.toml`): at least one item, keys unique and
/// written in lower case, digits and `_`, labels not empty, `records` only `bandwidth_mbps`.
pub fn parse_template(text: &str) -> Result<Vec<ChecklistItem>, String> {
    let file: TemplateFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.item.is_empty() {
        return Err("the checklist has no [[item]]".into());
    }
    let mut seen = std::collections::HashSet::new();
    for (n, item) in file.item.iter().enumerate() {
        let at = format!("item {} ({:?})", n + 1, item.key);
        let key_ok = !item.key.is_empty()
            && item.key.len() <= 40
            && item
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(format!(
                "{at}: a key is 1-40 lower-case letters, digits or _"
            ));
        }
        if !seen.insert(item.key.as_str()) {
            return Err(format!("{at}: the key is used twice"));
        }
        if item.label.trim().is_empty() || item.label.chars().count() > 120 {
            return Err(format!("{at}: a label is 1-120 characters"));
        }
        if let Some(r) = &item.records {
            if r != "bandwidth_mbps" {
                return Err(format!("{at}: records can only be \"bandwidth_mbps\""));
            }
        }
    }
    Ok(file.item)
}

/// A cohort request, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCohort {
    pub name: String,
    pub market: String,
    pub language: String,
    pub start_date: NaiveDate,
    pub capacity: i64,
    pub owner_email: Option<EmailAddress>,
    pub waitlist: bool,
}

/// A text field of a JSON body: absent or null is empty, anything but a string is a problem.
fn text(body: &Value, field: &str, errors: &mut FieldErrors) -> String {
    match body.get(field) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => {
            add_error(errors, field, format!("Give {field} as text."));
            String::new()
        }
    }
}

/// Checks a cohort request (`{name, market, language, start_date, capacity, owner_email?,
/// waitlist?}`) and names every field that is wrong.
pub fn parse_cohort(body: &Value) -> Result<NewCohort, FieldErrors> {
    let mut errors = FieldErrors::new();
    if !body.is_object() {
        add_error(&mut errors, "body", "Send the cohort as a JSON object.");
        return Err(errors);
    }
    // Not trimmed: the schema promises no space at either end, and a name is compared whole
    // (the admin form trims what it sends).
    let name = match body.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let n = name.chars().count();
    if !(NAME_MIN..=NAME_MAX).contains(&n)
        || name.chars().any(char::is_control)
        || name.trim() != name
    {
        add_error(
            &mut errors,
            "name",
            format!(
                "Name the cohort in {NAME_MIN} to {NAME_MAX} characters, on one line, with no \
                 space at either end."
            ),
        );
    }
    let market = text(body, "market", &mut errors).to_ascii_uppercase();
    if iso::country_name(&market).is_none() {
        add_error(
            &mut errors,
            "market",
            "Give the market as a two-letter country code, such as SE.",
        );
    }
    let language = text(body, "language", &mut errors).to_ascii_lowercase();
    if iso::language_name(&language).is_none() {
        add_error(
            &mut errors,
            "language",
            "Give the support language as a two-letter code, such as sv.",
        );
    }
    let date = text(body, "start_date", &mut errors);
    let start_date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok();
    if start_date.is_none() {
        add_error(
            &mut errors,
            "start_date",
            "Give the start date as YYYY-MM-DD, such as 2027-03-01.",
        );
    }
    let capacity = match body.get("capacity") {
        Some(Value::Number(v)) => v.as_i64(),
        _ => None,
    };
    let capacity = capacity.filter(|c| (CAPACITY_MIN..=CAPACITY_MAX).contains(c));
    if capacity.is_none() {
        add_error(
            &mut errors,
            "capacity",
            format!("Give the capacity as a whole number of seats from {CAPACITY_MIN} to {CAPACITY_MAX}."),
        );
    }
    let owner = text(body, "owner_email", &mut errors);
    let owner_email = if owner.is_empty() {
        None
    } else {
        EmailAddress::parse(&owner)
            .map_err(|m| add_error(&mut errors, "owner_email", m))
            .ok()
    };
    let waitlist = match body.get("waitlist") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            add_error(&mut errors, "waitlist", "Give waitlist as true or false.");
            false
        }
    };
    match (start_date, capacity) {
        (Some(start_date), Some(capacity)) if errors.is_empty() => Ok(NewCohort {
            name,
            market,
            language,
            start_date,
            capacity,
            owner_email,
            waitlist,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({ "name": "Stockholm March", "market": "se", "language": "SV",
                "start_date": "2027-03-01", "capacity": 25 })
    }

    #[test]
    fn a_valid_cohort_is_normalised() {
        let c = parse_cohort(&valid()).unwrap();
        assert_eq!(c.market, "SE");
        assert_eq!(c.language, "sv");
        assert_eq!(c.capacity, 25);
        assert_eq!(c.owner_email, None);
        assert!(!c.waitlist);
    }

    #[test]
    fn every_wrong_field_is_named() {
        for (field, value) in [
            ("name", json!("x")),
            ("name", json!(7)),
            ("name", json!("two\nlines")),
            ("name", json!(" padded")),
            ("market", json!("Sweden")),
            ("language", json!("swedish")),
            ("start_date", json!("01/03/2027")),
            ("start_date", json!("2027-02-30")),
            ("capacity", json!(0)),
            ("capacity", json!(CAPACITY_MAX + 1)),
            ("capacity", json!(2.5)),
            ("capacity", json!("ten")),
            ("owner_email", json!("not an address")),
            ("waitlist", json!("yes")),
        ] {
            let mut body = valid();
            body[field] = value.clone();
            let errors = parse_cohort(&body).unwrap_err();
            assert_eq!(
                errors.keys().collect::<Vec<_>>(),
                vec![field],
                "{field} = {value}"
            );
        }
        let errors = parse_cohort(&json!({})).unwrap_err();
        for field in ["name", "market", "language", "start_date", "capacity"] {
            assert!(errors.contains_key(field), "{field}");
        }
    }

    #[test]
    fn the_status_follows_the_start_date_until_a_recruiter_marks_it() {
        let start = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let day_before = start.pred_opt().unwrap();
        assert_eq!(
            CohortStatus::of(start, None, day_before),
            CohortStatus::Planned
        );
        assert_eq!(
            CohortStatus::of(start, None, start),
            CohortStatus::Onboarding
        );
        assert_eq!(
            CohortStatus::of(start, Some("live"), start),
            CohortStatus::Live
        );
        assert_eq!(
            CohortStatus::of(start, Some("closed"), day_before),
            CohortStatus::Closed
        );
    }

    #[test]
    fn the_shipped_checklist_reads_and_bad_templates_say_why() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seed/checklist.toml"))
                .unwrap();
        let items = parse_template(&text).unwrap();
        assert_eq!(items.len(), 7);
        assert!(items.iter().all(|i| i.required));
        let equipment = items.iter().find(|i| i.key == "equipment_check").unwrap();
        assert_eq!(equipment.records.as_deref(), Some("bandwidth_mbps"));
        for (bad, says) in [
            ("", "no [[item]]"),
            (
                "[[item]]\nkey = \"A\"\nlabel = \"x\"\nrequired = true\nticked_by = \"applicant\"",
                "lower-case",
            ),
            (
                "[[item]]\nkey = \"a\"\nlabel = \"x\"\nrequired = true\nticked_by = \"applicant\"\n\
                 [[item]]\nkey = \"a\"\nlabel = \"y\"\nrequired = true\nticked_by = \"recruiter\"",
                "used twice",
            ),
            (
                "[[item]]\nkey = \"a\"\nlabel = \"x\"\nrequired = true\nticked_by = \"manager\"",
                "unknown variant",
            ),
        ] {
            let e = parse_template(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
