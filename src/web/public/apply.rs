use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use crate::domain::application::{is_valid_tracking, Area, RawApplication};
use crate::domain::{iso, FieldErrors};
use crate::intake::Channel;
use crate::web::form;
use crate::web::{pages, AppState, PageError};

/// Offered as checkboxes; every other ISO 639-1 language is in the "another language" list.
const COMMON_LANGUAGES: &[&str] = &[
    "en", "sv", "no", "da", "fi", "de", "nl", "es", "fr", "it", "pl", "pt", "ar", "tr",
];

pub async fn show(State(s): State<AppState>, RawQuery(query): RawQuery) -> Response {
    // Campaign codes arrive from third-party links; a malformed one (or a malformed query) is
    // dropped rather than shown to the applicant as an error they cannot fix.
    let pairs = form::parse_urlencoded(query.unwrap_or_default().as_bytes());
    let tracking = |k: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == k)
            .and_then(|(_, v)| v.as_deref().ok())
            .map(str::trim)
            .filter(|v| is_valid_tracking(v))
            .unwrap_or_default()
            .to_string()
    };
    let raw = RawApplication {
        utm_source: tracking("utm_source"),
        utm_campaign: tracking("utm_campaign"),
        ref_code: tracking("ref"),
        ..Default::default()
    };
    render_form(&s, StatusCode::OK, &raw, &FieldErrors::new())
}

pub async fn submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let (raw, mut errors) = RawApplication::from_pairs(pairs);
    let parsed = raw.parse();
    let app = match parsed {
        Ok(app) if errors.is_empty() => app,
        Ok(_) => {
            return Ok(render_form(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &raw,
                &errors,
            ))
        }
        Err(more) => {
            for (field, msgs) in more {
                errors.entry(field).or_default().extend(msgs);
            }
            return Ok(render_form(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &raw,
                &errors,
            ));
        }
    };
    s.intake.submit(app, Channel::Form).await?;
    // The same answer whether or not the address was new: nothing to learn from it.
    Ok(Redirect::to("/apply/thanks").into_response())
}

pub async fn thanks() -> Response {
    pages::render(StatusCode::OK, "thanks", "Check your email", json!({}))
}

/// Where the error summary links to for each field: the first control a person would fix.
fn anchor(field: &str) -> String {
    match field {
        "area" => "area-rural".into(),
        "languages" => format!("lang-{}", COMMON_LANGUAGES[0]),
        "utm_source" | "utm_campaign" | "ref" => format!("error-{field}"),
        other => other.into(),
    }
}

/// The order fields appear on the form, so the error summary reads top to bottom.
const FIELD_ORDER: &[&str] = &[
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

fn render_form(
    s: &AppState,
    status: StatusCode,
    raw: &RawApplication,
    errors: &FieldErrors,
) -> Response {
    let mut ordered: Vec<(&String, &Vec<String>)> = errors.iter().collect();
    ordered.sort_by_key(|(f, _)| {
        FIELD_ORDER
            .iter()
            .position(|o| o == f)
            .unwrap_or(usize::MAX)
    });
    let error_list: Vec<Value> = ordered
        .into_iter()
        .flat_map(|(field, msgs)| {
            msgs.iter()
                .map(move |m| json!({ "field": field, "message": m, "anchor": anchor(field) }))
        })
        .collect();
    let fe: serde_json::Map<String, Value> = errors
        .iter()
        .map(|(f, m)| (f.clone(), json!(m.join(" "))))
        .collect();
    // Errors for fields with no visible control (tampered hidden fields) are shown by the button.
    let other_errors: Vec<Value> = ["utm_source", "utm_campaign", "ref"]
        .iter()
        .filter_map(|f| {
            errors
                .get(*f)
                .map(|m| json!({ "anchor": anchor(f), "message": m.join(" ") }))
        })
        .collect();
    let is_market = |code: &str| s.settings.is_hiring_market(code);
    let country_option = |(code, name): &(&str, &str)| json!({ "code": code, "name": name, "selected": raw.country == *code });
    let markets: Vec<Value> = iso::COUNTRIES
        .iter()
        .filter(|(c, _)| is_market(c))
        .map(country_option)
        .collect();
    let countries: Vec<Value> = iso::COUNTRIES.iter().map(country_option).collect();
    let chosen = |code: &str| raw.languages.iter().any(|l| l == code);
    let common_languages: Vec<Value> = COMMON_LANGUAGES
        .iter()
        .map(|c| json!({ "code": c, "name": iso::language_name(c).unwrap_or(c), "checked": chosen(c) }))
        .collect();
    let other_choice = raw
        .languages
        .iter()
        .find(|l| !COMMON_LANGUAGES.contains(&l.as_str()));
    let other_languages: Vec<Value> = iso::LANGUAGES
        .iter()
        .filter(|(c, _)| !COMMON_LANGUAGES.contains(c))
        .map(|(c, n)| json!({ "code": c, "name": n, "selected": other_choice.is_some_and(|o| o == c) }))
        .collect();
    let areas: Vec<Value> = Area::ALL
        .iter()
        .map(|a| json!({ "value": a.as_str(), "label": a.label(), "checked": raw.area == a.as_str() }))
        .collect();
    let title = pages::form_title("Apply", errors);
    pages::render(
        status,
        "apply",
        &title,
        json!({
            "v": raw,
            "fe": fe,
            "errors": error_list,
            "error_count": error_list.len(),
            "one_error": error_list.len() == 1,
            "other_errors": other_errors,
            "markets": markets,
            "countries": countries,
            "common_languages": common_languages,
            "other_languages": other_languages,
            "areas": areas,
        }),
    )
}
