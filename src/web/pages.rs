//! Server-rendered pages: handlebars templates from `src/web/templates/`, embedded in the binary
//! and registered once per process.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use handlebars::Handlebars;
use serde_json::{json, Value};

macro_rules! page_files {
    ($($name:literal),* $(,)?) => {
        const FILES: &[(&str, &str)] = &[$(
            ($name, include_str!(concat!("templates/", $name, ".hbs"))),
        )*];
    };
}

page_files!(
    "layout",
    "error_summary",
    "home",
    "apply",
    "thanks",
    "too_young",
    "status",
    "link_invalid",
    "resend",
    "resend_sent",
    "renew_sent",
    "verify_confirm",
    "link_used",
    "offer",
    "unsubscribe",
    "privacy",
    "error",
    "quiz",
    "quiz_question",
    "quiz_review",
    "admin_login",
    "admin_password",
    "admin_home",
    "admin_questions",
    "admin_question_form",
    "admin_quizzes",
    "admin_quiz_form",
    "admin_analysis",
    "admin_emails",
    "admin_applicants",
    "admin_applicant",
    "admin_bulk",
    "admin_confirm",
    "admin_cohorts",
    "admin_cohort",
    "admin_users",
    "admin_audit",
    "admin_invite",
    "admin_webhooks",
    "admin_jobs",
    "admin_outbox",
    "admin_outbox_preview",
    "manager_home",
    "reports",
);

pub const CSS: &str = include_str!("templates/app.css");
pub const JS: &str = include_str!("templates/app.js");
pub const FAVICON: &[u8] = include_bytes!("templates/favicon.ico");

static PAGES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    for (name, text) in FILES {
        hb.register_template_string(name, *text)
            .unwrap_or_else(|e| panic!("page template {name} does not parse: {e}"));
    }
    hb
});

/// Renders `name` with `ctx` inside the shared layout. `title` becomes the page title.
pub fn render(status: StatusCode, name: &str, title: &str, ctx: Value) -> Response {
    render_in(status, name, title, ctx, &Value::Null)
}

/// `render` for a staff page: `shell` is the staff navigation the layout shows (see
/// `admin::Staff::shell`), and the page uses the wide layout.
pub fn render_in(
    status: StatusCode,
    name: &str,
    title: &str,
    ctx: Value,
    shell: &Value,
) -> Response {
    match render_html(name, title, &ctx, shell) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            failure_page(shell)
        }
    }
}

const FAILURE_MESSAGE: &str = "Something went wrong on our side. Please try again in a minute.";

/// The 500 page for a page that failed to render: the normal error page in the layout, or, if
/// even that fails, the same page written out by hand.
fn failure_page(shell: &Value) -> Response {
    let title = "Something went wrong";
    let html = render_html(
        "error",
        title,
        &json!({ "heading": title, "message": FAILURE_MESSAGE }),
        shell,
    )
    .unwrap_or_else(|_| FALLBACK_PAGE.to_string());
    (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
}

const FALLBACK_PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
    <title>Something went wrong · onramp</title><link rel=\"stylesheet\" href=\"/static/app.css\">\
    </head>\n<body><main id=\"main\" class=\"wrap\"><h1>Something went wrong</h1>\
    <p class=\"lead\">Something went wrong on our side. Please try again in a minute.</p>\
    <p><a href=\"/\">Go to the start page</a></p></main></body>\n</html>\n";

fn render_html(
    name: &str,
    title: &str,
    ctx: &Value,
    shell: &Value,
) -> Result<String, handlebars::RenderError> {
    let body = PAGES.render(name, ctx)?;
    PAGES.render(
        "layout",
        &json!({ "title": title, "body": body, "staff": shell }),
    )
}

/// A form page's title: prefixed with "Error: " when the form came back with problems, so screen
/// reader users hear it first.
pub fn form_title(title: &str, errors: &crate::domain::FieldErrors) -> String {
    if errors.is_empty() {
        title.to_string()
    } else {
        format!("Error: {title}")
    }
}

/// The id of the control a field's errors link to: dots and colons (`draw.language:sv`) are not
/// welcome in ids.
pub fn anchor_id(field: &str) -> String {
    field.replace(['.', ':'], "-")
}

/// The error summary and per-field messages a form template shows.
pub fn errors_context(errors: &crate::domain::FieldErrors) -> (Vec<Value>, Value) {
    errors_context_in(errors, &[])
}

/// `errors_context` with the summary in the form's order: fields as `order` lists them, then
/// any others, so the summary reads top to bottom like the form.
pub fn errors_context_in(
    errors: &crate::domain::FieldErrors,
    order: &[&str],
) -> (Vec<Value>, Value) {
    let mut fields: Vec<(&String, &Vec<String>)> = errors.iter().collect();
    fields.sort_by_key(|(f, _)| order.iter().position(|o| o == f).unwrap_or(order.len()));
    let summary = fields
        .iter()
        .map(|(f, m)| json!({ "anchor": anchor_id(f), "message": m.join(" ") }))
        .collect();
    let by_field: serde_json::Map<String, Value> = errors
        .iter()
        .map(|(f, m)| (f.clone(), json!(m.join(" "))))
        .collect();
    (summary, Value::Object(by_field))
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    error_page_in(status, message, &Value::Null)
}

/// An error page inside the staff layout, so a signed-in person keeps their navigation.
pub fn error_page_in(status: StatusCode, message: &str, shell: &Value) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    render_in(
        status,
        "error",
        title,
        json!({ "heading": title, "message": message }),
        shell,
    )
}

/// Forces the registry to build (and so every template to parse) at start-up, not on the first
/// request.
pub fn init() {
    LazyLock::force(&PAGES);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_registered_and_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/templates");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_suffix(".hbs")
                    .map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut registered: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        registered.sort();
        assert_eq!(on_disk, registered);
        init();
    }

    #[test]
    fn error_page_escapes_message() {
        let html = render_html(
            "error",
            "Oops",
            &json!({ "heading": "Oops", "message": "<script>x</script>" }),
            &Value::Null,
        )
        .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>x"));
    }

    #[tokio::test]
    async fn a_page_that_fails_to_render_gives_the_normal_error_page() {
        init();
        // `apply` needs far more than this; strict mode makes the render fail.
        let resp = render(StatusCode::OK, "apply", "Apply", json!({}));
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(html.contains("<title>Something went wrong · onramp</title>"));
        assert!(html.contains("<main id=\"main\""));
        assert!(html.contains("<h1>Something went wrong</h1>"));
        assert!(html.contains("/static/app.css"));
        // The hand-written fallback is a whole page too.
        for part in ["<html lang=\"en\">", "<title>", "<main", "<h1>"] {
            assert!(FALLBACK_PAGE.contains(part), "{part}");
        }
    }

    /// The focus ring reaches 3:1 against every background a focusable element sits on (WCAG
    /// 2.2, 1.4.11 and 2.4.13): with two tones, one of them always does.
    #[test]
    fn the_focus_ring_stands_out_on_every_background() {
        fn var(css: &str, name: &str) -> String {
            let at = css
                .find(&format!("{name}:"))
                .unwrap_or_else(|| panic!("{name}"));
            let rest = &css[at + name.len() + 1..];
            rest[..rest.find(';').unwrap()].trim().to_string()
        }
        fn luminance(hex: &str) -> f64 {
            let hex = hex.trim_start_matches('#');
            let hex = if hex.len() == 3 {
                hex.chars().flat_map(|c| [c, c]).collect::<String>()
            } else {
                hex.to_string()
            };
            let channel = |i: usize| {
                let c = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
        }
        fn contrast(a: &str, b: &str) -> f64 {
            let (x, y) = (luminance(a), luminance(b));
            (x.max(y) + 0.05) / (x.min(y) + 0.05)
        }
        let css = CSS;
        let focus_rule = css
            .lines()
            .find(|l| l.starts_with("a:focus"))
            .expect("the focus rule");
        assert!(
            focus_rule.contains("outline: 3px solid var(--focus-inner)"),
            "{focus_rule}"
        );
        assert!(
            focus_rule.contains("box-shadow: 0 0 0 6px var(--focus-outer)"),
            "{focus_rule}"
        );
        let (inner, outer) = (var(css, "--focus-inner"), var(css, "--focus-outer"));
        // Page, light panels, the dark header, notices.
        let backgrounds = [
            "#fff".to_string(),
            var(css, "--bg"),
            var(css, "--ink"),
            "#ecfdf3".into(),
            "#fffaeb".into(),
            var(css, "--brand"),
        ];
        for bg in &backgrounds {
            let best = contrast(&inner, bg).max(contrast(&outer, bg));
            assert!(best >= 3.0, "focus ring on {bg}: {best:.2}:1");
        }
        // The amber ring alone, as it was, fails on white: the check can fail.
        assert!(contrast("#ffbf47", "#fff") < 3.0);
    }
}
