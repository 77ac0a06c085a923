//! The signup form: the raw input as typed (kept for re-rendering), its validation, and the parsed
//! application the rest of the system works with.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use super::email::EmailAddress;
use super::{add_error, iso, FieldErrors};

pub const FULL_NAME_MIN: u64 = 2;
pub const FULL_NAME_MAX: u64 = 100;
pub const MOTIVATION_MAX: u64 = 2000;
pub const WEEKLY_HOURS_MIN: i64 = 5;
pub const WEEKLY_HOURS_MAX: i64 = 60;
pub const MAX_LANGUAGES: usize = 10;
/// Tracking fields are free text from third-party links; keep them short.
pub const TRACKING_MAX: usize = 100;

/// Where an application stands: the stages the system moves (signup, screening, quiz) and the
/// built-in stages staff move it through after the quiz (see `domain::pipeline`). Review stages
/// that admins define are stored by their own id and read as `InReview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Signed up, email not verified yet.
    Applied,
    /// Email verified; next is the skills quiz.
    Verified,
    /// A knockout rule put the applicant on the waitlist.
    Waitlisted,
    /// A knockout rule, or a recruiter, ruled the application out.
    Rejected,
    /// Passed the skills quiz; next, recruiters shortlist.
    QuizPassed,
    /// The last quiz attempt did not pass; another may be allowed after a cooldown.
    QuizFailed,
    Shortlisted,
    /// One of the review stages admins define (phone screen, references, ...).
    InReview,
    Offered,
    Onboarding,
    Live,
    Paused,
    OnHold,
    Withdrawn,
    Offboarded,
    /// Never confirmed their email in time; the address may apply again.
    Expired,
}

impl Status {
    /// Every status with a fixed id (`InReview` stands for the configured review stages).
    pub const ALL: [Status; 15] = [
        Status::Applied,
        Status::Verified,
        Status::Waitlisted,
        Status::Rejected,
        Status::QuizPassed,
        Status::QuizFailed,
        Status::Shortlisted,
        Status::Offered,
        Status::Onboarding,
        Status::Live,
        Status::Paused,
        Status::OnHold,
        Status::Withdrawn,
        Status::Offboarded,
        Status::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Verified => "verified",
            Status::Waitlisted => "waitlisted",
            Status::Rejected => "rejected",
            Status::QuizPassed => "quiz_passed",
            Status::QuizFailed => "quiz_failed",
            Status::Shortlisted => "shortlisted",
            Status::InReview => "in_review",
            Status::Offered => "offered",
            Status::Onboarding => "onboarding",
            Status::Live => "live",
            Status::Paused => "paused",
            Status::OnHold => "on_hold",
            Status::Withdrawn => "withdrawn",
            Status::Offboarded => "offboarded",
            Status::Expired => "expired",
        }
    }

    /// A status with a fixed id.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status of a stored stage id: a fixed one, or else one of the configured review
    /// stages.
    pub fn of_stage(stage: &str) -> Self {
        Self::parse(stage).unwrap_or(Status::InReview)
    }

    /// How the applicant sees it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Applied => "Waiting for you to confirm your email",
            Status::Verified => "Email confirmed: next is the skills quiz",
            Status::Waitlisted => "On our waitlist",
            Status::Rejected => "Not taken forward",
            Status::QuizPassed => "Skills quiz passed",
            Status::QuizFailed => "Skills quiz not passed",
            Status::Shortlisted => "Shortlisted",
            Status::InReview => "In review with a recruiter",
            Status::Offered => "Offered a place in a pilot group",
            Status::Onboarding => "Onboarding",
            Status::Live => "Live support agent",
            Status::Paused => "Paused",
            Status::OnHold => "On hold",
            Status::Withdrawn => "Withdrawn",
            Status::Offboarded => "No longer active",
            Status::Expired => "Closed: the email address was not confirmed in time",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Rural,
    Town,
    City,
}

impl Area {
    pub const ALL: [Area; 3] = [Area::Rural, Area::Town, Area::City];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Rural => "rural",
            Area::Town => "town",
            Area::City => "city",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Area::Rural => "Countryside or village",
            Area::Town => "Small town",
            Area::City => "City",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The form exactly as submitted (trimmed), whichever way it arrived: an HTML form or JSON. Every
/// field is text so a wrong value can be shown back to the person who typed it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
pub struct RawApplication {
    #[validate(length(
        min = "FULL_NAME_MIN",
        max = "FULL_NAME_MAX",
        message = "Enter your full name, between 2 and 100 characters."
    ))]
    #[validate(custom(function = "validate_name"))]
    pub full_name: String,
    pub email: String,
    #[validate(custom(function = "validate_phone"))]
    pub phone: String,
    #[validate(custom(function = "validate_country"))]
    pub country: String,
    #[validate(custom(function = "validate_area"))]
    pub area: String,
    #[validate(custom(function = "validate_languages"))]
    pub languages: Vec<String>,
    #[validate(custom(function = "validate_weekly_hours"))]
    pub weekly_hours: String,
    pub student: bool,
    pub customer: bool,
    pub adult: bool,
    pub equipment: bool,
    #[validate(length(
        max = "MOTIVATION_MAX",
        message = "Keep your motivation to 2,000 characters or fewer."
    ))]
    pub motivation: String,
    pub consent: bool,
    pub utm_source: String,
    pub utm_campaign: String,
    #[serde(rename = "ref")]
    pub ref_code: String,
}

/// A validated application, ready to screen and store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApplication {
    pub full_name: String,
    pub email: EmailAddress,
    pub phone: Option<String>,
    pub country: String,
    pub area: Area,
    pub languages: Vec<String>,
    pub weekly_hours: i64,
    pub student: bool,
    pub customer: bool,
    pub adult: bool,
    pub equipment: bool,
    pub motivation: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub ref_code: Option<String>,
}

fn error(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Borrowed(message))
}

/// Strips the separators people type in phone numbers; what is left must be `+` and 8–15 digits.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = compact.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then_some(compact)
}

fn validate_phone(phone: &str) -> Result<(), ValidationError> {
    if phone.is_empty() || normalize_phone(phone).is_some() {
        Ok(())
    } else {
        Err(error(
            "phone",
            "Enter your phone number in international format, starting with + and your country code, like +46 70 174 06 90.",
        ))
    }
}

/// Whether a name holds something a mail client would show as a link: `@`, a slash, or a dot
/// followed by two letters (`evil.example`). Names are printed in the emails we send, so one
/// like "Ana, URGENT: evil.example/pay" would turn our verification email into phishing.
/// Initials (`J.R.R. Tolkien`, `St. John`) pass.
pub fn looks_like_a_link(name: &str) -> bool {
    let b = name.as_bytes();
    name.contains(['@', '/', '\\'])
        || b.windows(3)
            .any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic() && w[2].is_ascii_alphabetic())
}

fn validate_name(name: &str) -> Result<(), ValidationError> {
    if looks_like_a_link(name) {
        Err(error(
            "name",
            "Enter just your name: it can't contain a web or email address (no @, / or a dot followed by letters).",
        ))
    } else {
        Ok(())
    }
}

fn validate_country(country: &str) -> Result<(), ValidationError> {
    if country.is_empty() {
        return Err(error("required", "Choose the country you live in."));
    }
    match iso::country_name(country) {
        Some(_) => Ok(()),
        None => Err(error("country", "Choose a country from the list.")),
    }
}

fn validate_area(area: &str) -> Result<(), ValidationError> {
    if area.is_empty() {
        return Err(error(
            "required",
            "Choose whether you live in the countryside, a town or a city.",
        ));
    }
    match Area::parse(area) {
        Some(_) => Ok(()),
        None => Err(error(
            "area",
            "Choose one of: countryside or village, small town, city.",
        )),
    }
}

fn validate_languages(langs: &[String]) -> Result<(), ValidationError> {
    if langs.is_empty() {
        return Err(error(
            "required",
            "Choose at least one language you can support customers in.",
        ));
    }
    if langs.len() > MAX_LANGUAGES {
        return Err(error("too_many", "Choose at most 10 languages."));
    }
    if langs.iter().any(|l| iso::language_name(l).is_none()) {
        return Err(error("language", "Choose languages from the list."));
    }
    Ok(())
}

fn validate_weekly_hours(hours: &str) -> Result<(), ValidationError> {
    if hours.is_empty() {
        return Err(error(
            "required",
            "Enter how many hours a week you can work, between 5 and 60.",
        ));
    }
    match hours.parse::<i64>() {
        Ok(h) if (WEEKLY_HOURS_MIN..=WEEKLY_HOURS_MAX).contains(&h) => Ok(()),
        Ok(_) => Err(error(
            "range",
            "Weekly hours must be a whole number between 5 and 60.",
        )),
        Err(_) => Err(error(
            "number",
            "Weekly hours must be a whole number, like 20.",
        )),
    }
}

/// The longest note.
pub const NOTE_MAX: usize = 5000;

/// A note as stored: control characters other than line breaks dropped, trimmed, 1 to
/// `NOTE_MAX` characters; or what is wrong.
pub fn parse_note(raw: &str) -> Result<String, String> {
    let text = clean_multiline(raw);
    if text.is_empty() || text.chars().count() > NOTE_MAX {
        Err(format!(
            "Write the note as text of 1 to {NOTE_MAX} characters."
        ))
    } else {
        Ok(text)
    }
}

/// The longest tag.
pub const TAG_MAX: usize = 40;

/// A tag as stored: trimmed, lower-case, 1 to 40 ASCII letters, digits, `-`, `_` or single
/// spaces (so the API document's pattern means the same to every client); or what is wrong.
pub fn parse_tag(raw: &str) -> Result<String, String> {
    let tag = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let ok = !tag.is_empty()
        && tag.chars().count() <= TAG_MAX
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '));
    if ok {
        Ok(tag)
    } else {
        Err(format!(
            "Use 1 to {TAG_MAX} letters (a-z), digits, spaces, - or _ for a tag, like evening-shifts."
        ))
    }
}

/// Campaign and referral codes: short, and no spaces or control characters.
pub fn is_valid_tracking(value: &str) -> bool {
    value.chars().count() <= TRACKING_MAX
        && !value.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl RawApplication {
    /// Validates every field and returns all problems at once, each under its field name.
    pub fn parse(&self) -> Result<NewApplication, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Err(e) = self.validate() {
            for (field, errs) in e.field_errors() {
                for err in errs {
                    let msg = err
                        .message
                        .clone()
                        .unwrap_or_else(|| Cow::Owned(format!("{field} is not valid.")));
                    add_error(&mut errors, &field, msg);
                }
            }
        }
        let email = EmailAddress::parse(&self.email)
            .map_err(|m| add_error(&mut errors, "email", m))
            .ok();
        if !self.consent {
            add_error(
                &mut errors,
                "consent",
                "Tick the box to confirm you have read the privacy notice.",
            );
        }
        for (field, value) in [
            ("utm_source", &self.utm_source),
            ("utm_campaign", &self.utm_campaign),
            ("ref", &self.ref_code),
        ] {
            if !is_valid_tracking(value) {
                add_error(
                    &mut errors,
                    field,
                    "This campaign code is not valid: use at most 100 letters, digits or dashes, with no spaces.",
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut languages = self.languages.clone();
        languages.sort();
        languages.dedup();
        Ok(NewApplication {
            full_name: self.full_name.clone(),
            email: email.expect("email validated above"),
            phone: opt(&self.phone).and_then(|p| normalize_phone(&p)),
            country: self.country.clone(),
            area: Area::parse(&self.area).expect("area validated above"),
            languages,
            weekly_hours: self.weekly_hours.parse().expect("hours validated above"),
            student: self.student,
            customer: self.customer,
            adult: self.adult,
            equipment: self.equipment,
            motivation: opt(&self.motivation),
            utm_source: opt(&self.utm_source),
            utm_campaign: opt(&self.utm_campaign),
            ref_code: opt(&self.ref_code),
        })
    }

    /// Builds the raw form from `name=value` pairs of an HTML form. A value that was not valid
    /// UTF-8 is reported against its field rather than silently mangled.
    pub fn from_pairs(pairs: Vec<(String, Result<String, ()>)>) -> (Self, FieldErrors) {
        let mut raw = RawApplication::default();
        let mut errors = FieldErrors::new();
        for (name, value) in pairs {
            // Fields the form does not have are ignored, whatever they hold.
            if !FORM_FIELDS.contains(&name.as_str()) {
                continue;
            }
            let value = match value {
                Ok(v) => v,
                Err(()) => {
                    add_error(
                        &mut errors,
                        &name,
                        "This contains characters we could not read. Please type it again.",
                    );
                    continue;
                }
            };
            let text = clean(&value);
            match name.as_str() {
                "full_name" => raw.full_name = text,
                "email" => raw.email = text,
                "phone" => raw.phone = text,
                "country" => raw.country = text.to_uppercase(),
                "area" => raw.area = text.to_lowercase(),
                "languages" if !text.is_empty() => raw.languages.push(text.to_lowercase()),
                "weekly_hours" => raw.weekly_hours = text,
                "student" => raw.student = is_checked(&text),
                "customer" => raw.customer = is_checked(&text),
                "adult" => raw.adult = is_checked(&text),
                "equipment" => raw.equipment = is_checked(&text),
                "consent" => raw.consent = is_checked(&text),
                "motivation" => raw.motivation = clean_multiline(&value),
                "utm_source" => raw.utm_source = text,
                "utm_campaign" => raw.utm_campaign = text,
                "ref" => raw.ref_code = text,
                _ => {}
            }
        }
        (raw, errors)
    }

    /// Builds the raw form from a JSON object. Values of the wrong JSON type are reported against
    /// their field; unknown fields are ignored, as they are for the HTML form.
    pub fn from_json(value: &serde_json::Value) -> (Self, FieldErrors) {
        let mut raw = RawApplication::default();
        let mut errors = FieldErrors::new();
        let Some(obj) = value.as_object() else {
            add_error(
                &mut errors,
                "body",
                "Send the application as a JSON object with the form's fields.",
            );
            return (raw, errors);
        };
        use serde_json::Value as V;
        for (name, v) in obj {
            let text = || -> Option<String> {
                match v {
                    V::String(s) => Some(s.clone()),
                    V::Null => Some(String::new()),
                    _ => None,
                }
            };
            let ok = match name.as_str() {
                "full_name" | "email" | "phone" | "country" | "area" | "motivation"
                | "utm_source" | "utm_campaign" | "ref" => match text() {
                    Some(s) => {
                        let t = if name == "motivation" {
                            clean_multiline(&s)
                        } else {
                            clean(&s)
                        };
                        match name.as_str() {
                            "full_name" => raw.full_name = t,
                            "email" => raw.email = t,
                            "phone" => raw.phone = t,
                            "country" => raw.country = t.to_uppercase(),
                            "area" => raw.area = t.to_lowercase(),
                            "motivation" => raw.motivation = t,
                            "utm_source" => raw.utm_source = t,
                            "utm_campaign" => raw.utm_campaign = t,
                            _ => raw.ref_code = t,
                        }
                        true
                    }
                    None => false,
                },
                "languages" => match v {
                    V::Array(items) if items.iter().all(|i| i.is_string()) => {
                        raw.languages = items
                            .iter()
                            .filter_map(|i| i.as_str())
                            .map(|s| clean(s).to_lowercase())
                            .filter(|s| !s.is_empty())
                            .collect();
                        true
                    }
                    _ => false,
                },
                "weekly_hours" => match v {
                    V::Number(n) => {
                        // 20.0 is the integer 20 in JSON Schema, so it is here too.
                        raw.weekly_hours = match (n.as_i64(), n.as_f64()) {
                            (Some(i), _) => i.to_string(),
                            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => {
                                (f as i64).to_string()
                            }
                            _ => n.to_string(),
                        };
                        true
                    }
                    V::String(s) => {
                        raw.weekly_hours = clean(s);
                        true
                    }
                    V::Null => true,
                    _ => false,
                },
                "student" | "customer" | "adult" | "equipment" | "consent" => match v {
                    V::Bool(b) => {
                        match name.as_str() {
                            "student" => raw.student = *b,
                            "customer" => raw.customer = *b,
                            "adult" => raw.adult = *b,
                            "equipment" => raw.equipment = *b,
                            _ => raw.consent = *b,
                        }
                        true
                    }
                    V::Null => true,
                    _ => false,
                },
                _ => true,
            };
            if !ok {
                let expected = match name.as_str() {
                    "languages" => "a list of language codes, like [\"en\", \"sv\"]",
                    "weekly_hours" => "a whole number",
                    "student" | "customer" | "adult" | "equipment" | "consent" => "true or false",
                    _ => "text",
                };
                add_error(&mut errors, name, format!("Must be {expected}."));
            }
        }
        (raw, errors)
    }
}

/// The signup form's fields, as the form and the API name them, in the order the form shows
/// them (so an error summary reads top to bottom).
pub const FORM_FIELDS: &[&str] = &[
    "full_name",
    "email",
    "phone",
    "country",
    "area",
    "languages",
    "weekly_hours",
    "adult",
    "equipment",
    "student",
    "customer",
    "motivation",
    "consent",
    "utm_source",
    "utm_campaign",
    "ref",
];

fn is_checked(v: &str) -> bool {
    matches!(v, "on" | "true" | "1" | "yes")
}

/// Single-line text: trimmed, with control characters and runs of whitespace collapsed.
fn clean(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// Multi-line text: trimmed, newlines kept, other control characters dropped.
pub fn clean_multiline(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn raw() -> RawApplication {
        RawApplication {
            full_name: "Ana Lind".into(),
            email: "Ana@Example.com".into(),
            phone: "+46 70 123 45 67".into(),
            country: "SE".into(),
            area: "rural".into(),
            languages: vec!["sv".into(), "en".into()],
            weekly_hours: "20".into(),
            student: true,
            customer: true,
            adult: true,
            equipment: true,
            motivation: "I like helping people.".into(),
            consent: true,
            ..Default::default()
        }
    }

    pub(crate) fn sample() -> NewApplication {
        raw().parse().unwrap()
    }

    #[test]
    fn valid_input_parses_and_normalizes() {
        let a = sample();
        assert_eq!(a.email.as_str(), "ana@example.com");
        assert_eq!(a.phone.as_deref(), Some("+46701234567"));
        assert_eq!(a.languages, ["en", "sv"]);
        assert_eq!(a.weekly_hours, 20);
        assert_eq!(a.area, Area::Rural);
    }

    fn errors_for(edit: impl FnOnce(&mut RawApplication)) -> FieldErrors {
        let mut r = raw();
        edit(&mut r);
        r.parse().unwrap_err()
    }

    #[test]
    fn tags_are_tidied_and_odd_ones_refused() {
        assert_eq!(parse_tag("  Evening   Shifts ").unwrap(), "evening shifts");
        assert_eq!(parse_tag("bilingual_sv-en").unwrap(), "bilingual_sv-en");
        for bad in ["", "   ", "<b>", "a,b", "Åre", &"x".repeat(41)] {
            assert!(parse_tag(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_with_initials_pass_and_links_do_not() {
        for ok in [
            "J.R.R. Tolkien",
            "St. John",
            "Ana-Marie O'Neil",
            "Dr. Åsa Lind",
        ] {
            assert!(!looks_like_a_link(ok), "{ok}");
        }
        for bad in ["evil.example", "a@b", "x/y", "www.x.se"] {
            assert!(looks_like_a_link(bad), "{bad}");
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        type Edit = Box<dyn FnOnce(&mut RawApplication)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("full_name", Box::new(|r| r.full_name = "A".into())),
            ("full_name", Box::new(|r| r.full_name = "A".repeat(101))),
            (
                "full_name",
                Box::new(|r| r.full_name = "Ana, URGENT: evil.example/pay".into()),
            ),
            (
                "full_name",
                Box::new(|r| r.full_name = "Ana ana@evil.example".into()),
            ),
            (
                "full_name",
                Box::new(|r| r.full_name = "Ana http:\\evil".into()),
            ),
            (
                "full_name",
                Box::new(|r| r.full_name = "Ana www.evil.se".into()),
            ),
            ("email", Box::new(|r| r.email = "nope".into())),
            ("phone", Box::new(|r| r.phone = "0701234567".into())),
            ("country", Box::new(|r| r.country = "XX".into())),
            ("country", Box::new(|r| r.country = "".into())),
            ("area", Box::new(|r| r.area = "suburb".into())),
            ("languages", Box::new(|r| r.languages.clear())),
            (
                "languages",
                Box::new(|r| r.languages = vec!["klingon".into()]),
            ),
            ("weekly_hours", Box::new(|r| r.weekly_hours = "4".into())),
            ("weekly_hours", Box::new(|r| r.weekly_hours = "61".into())),
            ("weekly_hours", Box::new(|r| r.weekly_hours = "ten".into())),
            ("motivation", Box::new(|r| r.motivation = "x".repeat(2001))),
            ("consent", Box::new(|r| r.consent = false)),
            ("ref", Box::new(|r| r.ref_code = "a b".into())),
        ];
        for (field, edit) in cases {
            let errs = errors_for(edit);
            assert_eq!(errs.keys().collect::<Vec<_>>(), [field], "{errs:?}");
            assert!(!errs[field][0].is_empty());
        }
    }

    #[test]
    fn form_pairs_keep_values_and_flag_bad_bytes() {
        let (r, errs) = RawApplication::from_pairs(vec![
            ("full_name".into(), Ok("  Ana   Lind ".into())),
            ("languages".into(), Ok("SV".into())),
            ("languages".into(), Ok("en".into())),
            ("adult".into(), Ok("on".into())),
            ("email".into(), Err(())),
            ("x".into(), Err(())),
        ]);
        assert_eq!(r.full_name, "Ana Lind");
        assert_eq!(r.languages, ["sv", "en"]);
        assert!(r.adult);
        assert!(errs.contains_key("email"));
        // An unknown field is ignored, even with bytes that are not UTF-8.
        assert_eq!(errs.keys().collect::<Vec<_>>(), ["email"]);
    }

    #[test]
    fn json_wrong_types_are_named() {
        let (_, errs) = RawApplication::from_json(&serde_json::json!({
            "full_name": 5, "languages": "en", "weekly_hours": true, "adult": "yes"
        }));
        for f in ["full_name", "languages", "weekly_hours", "adult"] {
            assert!(errs.contains_key(f), "{f} missing from {errs:?}");
        }
        let (_, errs) = RawApplication::from_json(&serde_json::json!([1, 2]));
        assert!(errs.contains_key("body"));
    }
}
