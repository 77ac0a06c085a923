//! An applicant's timeline as people read it: what happened, in words, from the events and
//! emails the system keeps.

use serde_json::Value;

/// An email by what it is to the person who gets it, from its template.
pub fn email_name(template: &str) -> &str {
    match template {
        "verify_email" => "Verification email",
        "verify_reminder" => "Reminder to confirm the email address",
        "email_verified" => "Email address confirmed",
        "status_link" => "Link to the status page",
        "quiz_invitation" => "Quiz invitation",
        "quiz_reminder" => "Quiz reminder",
        "quiz_passed" => "Quiz result: passed",
        "quiz_failed" => "Quiz result: not passed",
        "stage_update" => "Stage update",
        "application_declined" => "Polite decline",
        "application_rejected" => "Application not taken forward",
        "cohort_offer" => "Offer of a cohort seat",
        "offer_reminder" => "Offer reminder",
        "cohort_start_reminder" => "Reminder before the cohort starts",
        "idle_nudge" => "Nudge about a waiting step",
        "agent_activated" => "Welcome as a live agent",
        "agent_offboarded" => "Goodbye as an agent",
        "staff_invite" => "Staff invitation",
        "weekly_report" => "Weekly report",
        other => other,
    }
}

/// What an event says, as (headline, optional detail line). `stage` turns a stage id into its
/// label.
pub fn event_text(
    kind: &str,
    d: &Value,
    stage: &dyn Fn(&str) -> String,
) -> (String, Option<String>) {
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let int = |k: &str| d.get(k).and_then(Value::as_i64);
    match kind {
        "applied" => {
            let by = match text("channel").as_deref() {
                Some("form") => "the signup form",
                Some("api") => "the API",
                Some("import") => "an import",
                Some("seed") => "demo data",
                _ => "signup",
            };
            (format!("Applied through {by}"), None)
        }
        "reapplied" => ("Applied again with the same address".into(), None),
        "email_verified" => ("Email address confirmed".into(), None),
        "verification_resent" => ("Asked for a new verification link".into(), None),
        "status_link_sent" => ("Asked for a new link to the status page".into(), None),
        "email_corrected" => ("Corrected the email address after signing up".into(), None),
        "email_correction_refused" => (
            "Tried to correct the address to one that belongs to another application".into(),
            None,
        ),
        "moved" => (
            format!(
                "Moved from {} to {}",
                stage(&text("from").unwrap_or_default()),
                stage(&text("to").unwrap_or_default())
            ),
            text("reason").map(|r| format!("Reason: {r}")),
        ),
        "note" => (
            "Note".into(),
            text("body").or_else(|| Some("(erased)".into())),
        ),
        "tagged" => (format!("Tagged {}", text("tag").unwrap_or_default()), None),
        "untagged" => (
            format!("Tag {} removed", text("tag").unwrap_or_default()),
            None,
        ),
        "quiz_started" => (
            format!("Started the quiz (attempt {})", int("attempt").unwrap_or(1)),
            None,
        ),
        "quiz_scored" => {
            let percent = int("score_bp").map_or(0, |bp| (bp + 50) / 100);
            let passed = d.get("passed").and_then(Value::as_bool) == Some(true);
            let late = text("finished_by").as_deref() == Some("timed_out");
            (
                format!(
                    "Quiz scored {percent} %: {}{}",
                    if passed { "passed" } else { "not passed" },
                    if late { " (time ran out)" } else { "" }
                ),
                None,
            )
        }
        "offer" => (
            format!(
                "Offered a seat in {}",
                text("cohort").unwrap_or_else(|| "a cohort".into())
            ),
            None,
        ),
        "offer_reopened" => (
            "A seat opened up: the waitlist place became an offer".into(),
            None,
        ),
        "offer_answer" => {
            let what = match text("answer").as_deref() {
                Some("accepted") => "Accepted the seat",
                Some("declined") => "Declined the offer",
                Some("waitlisted") => "Accepted, and went on the waitlist (the cohort was full)",
                Some("expired") => "Answered after the offer had run out",
                _ => "Answered the offer",
            };
            (what.into(), None)
        }
        "checklist" => {
            let done = d.get("done").and_then(Value::as_bool) == Some(true);
            let item = text("item").unwrap_or_default().replace('_', " ");
            let figure = d
                .get("value")
                .and_then(Value::as_f64)
                .map(|v| format!(" ({v} Mbit/s)"))
                .unwrap_or_default();
            (
                format!(
                    "Onboarding step {}: {item}{figure}",
                    if done { "done" } else { "undone" }
                ),
                None,
            )
        }
        "email_queued" => (
            format!(
                "{} queued",
                email_name(&text("template").unwrap_or_default())
            ),
            None,
        ),
        "unsubscribed" => ("Turned reminders off".into(), None),
        "merged" => ("Another record of this person was merged in".into(), None),
        "erased" => ("Personal data erased".into(), None),
        other => (capitalised(&other.replace('_', " ")), None),
    }
}

/// An email's line on the timeline: "Verification email sent".
pub fn email_text(template: &str, status: Option<&str>, error: Option<&str>) -> String {
    let name = email_name(template);
    match status {
        Some("sent") => format!("{name} sent"),
        Some("failed") => format!(
            "{name} could not be sent: {}",
            error.unwrap_or("no reason given")
        ),
        Some("cancelled") => format!("{name} cancelled"),
        _ => format!("{name} waiting to be sent"),
    }
}

/// `s` with its first letter in upper case.
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_read_as_sentences() {
        let stage = |s: &str| s.to_uppercase();
        let quiz = json!({ "score_bp": 8150, "passed": true, "finished_by": "submitted" });
        assert_eq!(
            event_text("quiz_scored", &quiz, &stage).0,
            "Quiz scored 82 %: passed"
        );
        assert_eq!(
            email_text("verify_email", Some("sent"), None),
            "Verification email sent"
        );
        assert_eq!(
            event_text(
                "moved",
                &json!({ "from": "applied", "to": "rejected" }),
                &stage
            )
            .0,
            "Moved from APPLIED to REJECTED"
        );
        assert_eq!(
            event_text("some_new_kind", &json!({}), &stage).0,
            "Some new kind"
        );
    }
}
