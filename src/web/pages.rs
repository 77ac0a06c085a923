//! Server-rendered pages: handlebars templates from `src/web/templates/`, embedded in the binary
//! and registered once per process.

use std::sync::LazyLock;

use axum::http::{header, StatusCode};
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
    "home",
    "apply",
    "thanks",
    "status",
    "link_invalid",
    "resend",
    "resend_sent",
    "privacy",
    "error",
    "quiz",
    "quiz_question",
    "quiz_review",
    "admin_login",
    "admin_home",
    "admin_questions",
    "admin_question_form",
    "admin_quizzes",
    "admin_quiz_form",
    "admin_analysis",
);

pub const CSS: &str = include_str!("templates/app.css");

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
    match render_html(name, title, &ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Something went wrong on our side. Please try again in a minute.",
            )
                .into_response()
        }
    }
}

fn render_html(name: &str, title: &str, ctx: &Value) -> Result<String, handlebars::RenderError> {
    let body = PAGES.render(name, ctx)?;
    PAGES.render("layout", &json!({ "title": title, "body": body }))
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

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    render(
        status,
        "error",
        title,
        json!({ "heading": title, "message": message }),
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
        )
        .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>x"));
    }
}
