//! Email templates from `email_templates/`, embedded in the binary. Each email is a folder with a
//! subject and a text and an HTML body; the bodies are wrapped in the shared base layouts.

use handlebars::Handlebars;
use serde_json::{json, Value};

macro_rules! email_files {
    ($($name:literal),* $(,)?) => {
        /// Every email the service sends, by folder name.
        pub const EMAILS: &[&str] = &[$($name),*];
        const FILES: &[(&str, &str, &str, &str)] = &[$((
            $name,
            include_str!(concat!("../../email_templates/", $name, "/subject.hbs")),
            include_str!(concat!("../../email_templates/", $name, "/body.txt.hbs")),
            include_str!(concat!("../../email_templates/", $name, "/body.html.hbs")),
        )),*];
    };
}

email_files!(
    "verify_email",
    "application_rejected",
    "email_verified",
    "status_link",
    "quiz_invitation",
    "quiz_passed",
    "quiz_failed",
    "stage_update",
    "application_declined",
    "staff_invite",
    "cohort_offer",
    "agent_activated",
    "agent_offboarded",
    "verify_reminder",
    "quiz_reminder",
    "offer_reminder",
    "cohort_start_reminder",
    "idle_nudge",
    "weekly_report"
);

/// Reminders and nudges: mail an applicant may turn off. They carry `List-Unsubscribe` (RFC
/// 8058) and a one-click link; every other email is essential (verification, quiz invitations,
/// results, offers) and carries neither.
pub const NON_ESSENTIAL: &[&str] = &[
    "verify_reminder",
    "quiz_reminder",
    "offer_reminder",
    "cohort_start_reminder",
    "idle_nudge",
];

pub fn is_non_essential(template: &str) -> bool {
    NON_ESSENTIAL.contains(&template)
}

/// Data to preview any email with (`/admin/outbox`): every field any template reads, with
/// plausible values; links point at this site with a placeholder token that opens nothing.
/// Reminders get an unsubscribe link as they do when sent.
pub fn sample_data(template: &str, base_url: &str) -> Value {
    let link = |path: &str| format!("{base_url}/{path}/preview-only-this-link-opens-nothing");
    let mut data = json!({
        "application_id": "01900000-0000-7000-8000-000000000000",
        "name": "Ana Lind",
        "verify_url": link("verify"),
        "status_url": link("status"),
        "quiz_url": link("quiz"),
        "offer_url": format!("{}?choice=accept", link("offer")),
        "invite_url": format!("{base_url}/admin/invite/preview-only"),
        "expires_days": 7,
        "expires_hours": 72,
        "waitlisted": false,
        "reasons": ["We are not hiring in your country yet."],
        "quiz_title": "Support skills (Sweden)",
        "questions": 20,
        "minutes": 30,
        "pass_percent": 70,
        "max_attempts": 2,
        "percent": 82,
        "passed": true,
        "categories": [
            { "label": "Writing to customers", "percent": 90, "passed": true },
            { "label": "Spotting fraud", "percent": 70, "passed": true },
        ],
        "timed_out": false,
        "retry_on": "2 December 2026",
        "attempts_left": 1,
        "quiz_stage": true,
        "status_label": "Email confirmed: next is the skills quiz",
        "stage_label": "Phone screen",
        "next_step": "A recruiter will call you within a few working days.",
        "role": "recruiter",
        "cohort": "Pilot SE 3",
        "market": "Sweden",
        "language": "Swedish",
        "start_date": "1 March 2027",
        "starts": "1 March 2027 at 00:00 (Stockholm time, CET)",
        "expires": "23 February 2027 at 13:00 (Stockholm time, CET)",
        "reopened": false,
        "last": false,
        "todo": ["Sign the contractor agreement", "Test your headset"],
        "stage": "Shortlisted",
        "since": "20 February 2027",
        "onboarding": false,
    });
    let report = json!({
        "week": "2027-W07",
        "from": "15 February 2027",
        "to": "21 February 2027",
        "activated": 14,
        "offboarded": 2,
        "live": 212,
        "outsourced": 2480,
        "ratio": "8.5%",
        "forecast": "At 12.5 net activations a week, live agents reach 2480 around 12 March 2031.",
        "forecast_date": "12 March 2031",
        "funnel": [
            { "label": "Applied", "count": 1840, "conversion": null },
            { "label": "Email confirmed", "count": 1510, "conversion": "82.1%" },
        ],
        "flags": [],
        "chart": [
            { "week": "2027-W06", "live": 200, "outsourced": 2500 },
            { "week": "2027-W07", "live": 212, "outsourced": 2480 },
        ],
        "chart_weeks": 2,
        "report_path": "/reports?from=2026-02-22&to=2027-02-21",
    });
    if let (Some(d), Value::Object(r)) = (data.as_object_mut(), report) {
        d.extend(r);
    }
    if is_non_essential(template) {
        data["unsubscribe_url"] = json!(link("unsubscribe"));
    }
    data
}

const BASE_TXT: &str = include_str!("../../email_templates/base.txt.hbs");
const BASE_HTML: &str = include_str!("../../email_templates/base.html.hbs");

pub struct EmailContent {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The HTML part without the base layout (for previews inside a page).
    pub html_body: String,
}

/// Two registries because the two outputs escape differently: HTML escapes, text does not (a
/// name like `O'Brien & Co` must read the same in a plain-text email).
pub struct Renderer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    common: Value,
}

impl Renderer {
    pub fn new(product: &str, base_url: &str, support_email: &str) -> anyhow::Result<Self> {
        let mut html = Handlebars::new();
        let mut text = Handlebars::new();
        html.set_strict_mode(true);
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        text.register_template_string("base", BASE_TXT)?;
        html.register_template_string("base", BASE_HTML)?;
        for (name, subject, body_txt, body_html) in FILES {
            text.register_template_string(&format!("{name}/subject"), subject)?;
            text.register_template_string(&format!("{name}/body"), body_txt)?;
            html.register_template_string(&format!("{name}/body"), body_html)?;
        }
        Ok(Self {
            html,
            text,
            common: json!({
                "product": product,
                "base_url": base_url,
                "privacy_url": format!("{base_url}/privacy"),
                "support_email": support_email,
                // Set (by the dispatcher) only on non-essential mail.
                "unsubscribe_url": "",
            }),
        })
    }

    pub fn has(&self, name: &str) -> bool {
        EMAILS.contains(&name)
    }

    /// Renders one email. `data` is the outbox payload plus any links minted for this send.
    pub fn render(&self, name: &str, data: &Value) -> anyhow::Result<EmailContent> {
        let mut ctx = self.common.clone();
        if let (Some(c), Some(d)) = (ctx.as_object_mut(), data.as_object()) {
            c.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let subject = self
            .text
            .render(&format!("{name}/subject"), &ctx)?
            .trim()
            .to_string();
        ctx["subject"] = json!(subject);
        ctx["body"] = json!(self.text.render(&format!("{name}/body"), &ctx)?);
        let text = self.text.render("base", &ctx)?;
        let html_body = self.html.render(&format!("{name}/body"), &ctx)?;
        ctx["body"] = json!(html_body);
        let html = self.html.render("base", &ctx)?;
        Ok(EmailContent {
            subject,
            text,
            html,
            html_body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        Renderer::new("onramp", "http://x.test", "help@x.test").unwrap()
    }

    #[test]
    fn every_template_folder_is_embedded() {
        let mut on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/email_templates"))
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = EMAILS.iter().map(|s| s.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn html_escapes_and_text_does_not() {
        let e = renderer()
            .render(
                "verify_email",
                &json!({
                    "name": "<b>O'Brien & Co</b>",
                    "verify_url": "http://x.test/verify/abc",
                    "expires_days": 7,
                    "waitlisted": false,
                    "reasons": [],
                }),
            )
            .unwrap();
        assert!(e.text.contains("<b>O'Brien & Co</b>"));
        assert!(!e.html.contains("<b>O'Brien"));
        assert!(e.html.contains("&lt;b&gt;O&#x27;Brien &amp; Co&lt;/b&gt;"));
        assert!(e.html.contains("http://x.test/verify/abc"));
        assert!(e.text.contains("http://x.test/verify/abc"));
        assert!(!e.subject.is_empty());
    }

    #[test]
    fn every_template_previews_with_the_sample_data() {
        let r = renderer();
        for name in EMAILS {
            let e = r
                .render(name, &sample_data(name, "http://x.test"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!e.subject.is_empty() && !e.text.is_empty(), "{name}");
            assert_eq!(
                e.text.contains("/unsubscribe/"),
                is_non_essential(name),
                "{name}: only reminders offer the unsubscribe link"
            );
        }
    }

    #[test]
    fn missing_data_is_an_error_not_a_blank() {
        assert!(renderer().render("verify_email", &json!({})).is_err());
    }
}
