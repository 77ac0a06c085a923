use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::net::SocketAddr;

use crate::domain::application::{
    is_valid_tracking, Area, RawApplication, FORM_FIELDS, WEEKLY_HOURS_MAX, WEEKLY_HOURS_MIN,
};
use crate::domain::email::EmailAddress;
use crate::domain::token::{hash_token, SecretToken};
use crate::domain::{iso, FieldErrors};
use crate::usecases::intake::Channel;
use crate::web::form;
use crate::web::{pages, AppState, PageError};

/// Offered as checkboxes; every other ISO 639-1 language is in the "another language" list.
const COMMON_LANGUAGES: &[&str] = &[
    "en", "sv", "no", "da", "fi", "de", "nl", "es", "fr", "it", "pl", "pt", "ar", "tr",
];

pub async fn show(State(s): State<AppState>, RawQuery(query): RawQuery) -> Response {
    // Campaign codes arrive from third-party links; a malformed one (or a malformed query) is
    // dropped rather than shown to the applicant as an error they cannot fix.
    let pairs = form::query(query);
    let tracking = |k: &str| {
        form::first(&pairs, k)
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
    render_form(&s, StatusCode::OK, &raw, &FieldErrors::new(), None, None)
}

/// The hidden field of the signup form that only bots fill in.
const HONEYPOT: &str = "website";

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    // Over the limit: the form again, filled in as typed, with how long to wait. Nothing is
    // stored or sent.
    if let Some(wait) = s.limits.signup_wait(peer.ip(), &headers) {
        let (raw, _) = RawApplication::from_pairs(pairs);
        let mut r = render_form(
            &s,
            StatusCode::TOO_MANY_REQUESTS,
            &raw,
            &FieldErrors::new(),
            None,
            Some(wait),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    // The bot trap: a field people never see. A bot that fills it gets the usual answer, so it
    // learns nothing, and nothing is stored or sent.
    if form::first(&pairs, HONEYPOT).is_some_and(|v| !v.is_empty()) {
        tracing::info!("signup dropped: the hidden bot-trap field was filled in");
        s.metrics.refused("bot_trap");
        return Ok(Redirect::to("/apply/thanks").into_response());
    }
    // "Yes, use ana@gmail.com" after a suggestion: the suggested address replaces the typed one.
    let chosen_fix = form::first(&pairs, "email_fix").map(str::to_string);
    // "No, ana@gmial.com is right": the applicant checked this address; do not ask again.
    let checked = form::first(&pairs, "email_checked")
        .unwrap_or("")
        .to_lowercase();
    // The age question is a yes/no choice: left unanswered it is a form error, and a real
    // "no" ends here with a page that says why, storing and sending nothing.
    let adult = form::first(&pairs, "adult").map(str::trim).unwrap_or("");
    if adult.eq_ignore_ascii_case("no") {
        return Ok(too_young(&s));
    }
    let unanswered_age = adult.is_empty();
    let (mut raw, mut errors) = RawApplication::from_pairs(pairs);
    if unanswered_age {
        crate::domain::add_error(
            &mut errors,
            "adult",
            format!(
                "Answer whether you are {} or older: choose Yes or No.",
                s.settings.min_age
            ),
        );
    }
    if let Some(fix) = chosen_fix.filter(|f| !f.is_empty()) {
        raw.email = fix;
    }
    let parsed = raw.parse();
    let app = match parsed {
        Ok(app) if errors.is_empty() => app,
        Ok(_) => {
            return Ok(render_form(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &raw,
                &errors,
                None,
                None,
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
                None,
                None,
            ));
        }
    };
    // A near miss of a common domain is not an error: the applicant decides, once.
    if let Some(suggestion) = app.email.suggestion() {
        if checked != app.email.as_str() {
            return Ok(render_form(
                &s,
                StatusCode::OK,
                &raw,
                &FieldErrors::new(),
                Some((&app.email, &suggestion)),
                None,
            ));
        }
    }
    let receipt = SecretToken::generate();
    let email = app.email.clone();
    s.intake
        .submit_with_receipt(app, Channel::Form, Some(receipt.hash()))
        .await?;
    // The same answer whether or not the address was new: nothing to learn from it.
    Ok(to_thanks(&s, &receipt, &email))
}

/// The answer to "No, I am not old enough": at once, with the reason, and nothing stored.
fn too_young(s: &AppState) -> Response {
    pages::render(
        StatusCode::OK,
        "too_young",
        "We can't take your application",
        json!({ "min_age": s.settings.min_age }),
    )
}

const RECEIPT_COOKIE: &str = "onramp_signup";

/// The redirect to the thanks page, with the signup receipt: its token (only the hash is
/// stored) and the address the link went to, so the page can show it without putting it in the
/// URL.
fn to_thanks(s: &AppState, receipt: &SecretToken, email: &EmailAddress) -> Response {
    let value = format!(
        "{}.{}",
        receipt.as_str(),
        URL_SAFE_NO_PAD.encode(email.as_str())
    );
    let mut r = Redirect::to("/apply/thanks").into_response();
    let cookie = format!(
        "{RECEIPT_COOKIE}={value}; Path=/apply; HttpOnly; SameSite=Strict; Max-Age={}{}",
        crate::usecases::intake::RECEIPT_TTL_MINUTES * 60,
        if s.settings.base_url().starts_with("https://") {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The receipt's token and the address it shows, if the browser holds one.
fn receipt(headers: &HeaderMap) -> Option<(String, EmailAddress)> {
    let value = crate::web::cookie(headers, RECEIPT_COOKIE)?;
    let (token, email) = value.split_once('.')?;
    let email = String::from_utf8(URL_SAFE_NO_PAD.decode(email).ok()?).ok()?;
    Some((token.to_string(), EmailAddress::parse(&email).ok()?))
}

pub async fn thanks(headers: HeaderMap) -> Response {
    let email = receipt(&headers).map(|(_, e)| e.as_str().to_string());
    thanks_page(StatusCode::OK, email.as_deref(), "", None)
}

fn thanks_page(
    status: StatusCode,
    sent_to: Option<&str>,
    typed: &str,
    error: Option<&str>,
) -> Response {
    let mut errors = FieldErrors::new();
    if let Some(e) = error {
        crate::domain::add_error(&mut errors, "email", e);
    }
    let (summary, _) = pages::errors_context(&errors);
    pages::render(
        status,
        "thanks",
        &pages::form_title("Check your email", &errors),
        json!({
            "sent_to": sent_to,
            "typed": if typed.is_empty() { sent_to.unwrap_or_default() } else { typed },
            "errors": summary,
            "error": error,
        }),
    )
}

/// "Wrong address? Send it here instead."
pub async fn fix(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let held = receipt(&headers);
    let typed = form::first(&pairs, "email").unwrap_or("").to_string();
    let email = match EmailAddress::parse(&typed) {
        Ok(e) => e,
        Err(m) => {
            return Ok(thanks_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                held.as_ref().map(|(_, e)| e.as_str()),
                &typed,
                Some(m),
            ))
        }
    };
    let token = held.as_ref().map(|(t, _)| hash_token(t));
    crate::usecases::intake::correct_email(&s.db, &s.settings, token.as_deref(), &email).await?;
    // Keep the same receipt: it still names the application, now at the new address.
    let receipt = held
        .map(|(t, _)| SecretToken::from_presented(t))
        .unwrap_or_else(SecretToken::generate);
    Ok(to_thanks(&s, &receipt, &email))
}

/// Where the error summary links to for each field: the first control a person would fix.
fn anchor(field: &str) -> String {
    match field {
        "area" => "area-rural".into(),
        "adult" => "adult-yes".into(),
        "languages" => format!("lang-{}", COMMON_LANGUAGES[0]),
        "utm_source" | "utm_campaign" | "ref" => format!("error-{field}"),
        other => other.into(),
    }
}

/// The form; `suggestion` is (typed, suggested) when the address looks like a near miss.
fn render_form(
    s: &AppState,
    status: StatusCode,
    raw: &RawApplication,
    errors: &FieldErrors,
    suggestion: Option<(&EmailAddress, &EmailAddress)>,
    wait_secs: Option<u64>,
) -> Response {
    let mut ordered: Vec<(&String, &Vec<String>)> = errors.iter().collect();
    ordered.sort_by_key(|(f, _)| {
        FORM_FIELDS
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
    let min_hours = |code: &str| s.settings.market(code).map(|m| m.min_weekly_hours);
    let country_option = |(code, name): &(&str, &str)| json!({ "code": code, "name": name, "selected": raw.country == *code, "min_hours": min_hours(code) });
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
    // The same numbers the screening rules use: the form never promises what they refuse.
    let mut minimums: Vec<Value> = s
        .settings
        .markets
        .iter()
        .filter_map(|m| {
            iso::country_name(&m.country)
                .map(|n| json!({ "country": n, "hours": m.min_weekly_hours }))
        })
        .collect();
    minimums.sort_by(|a, b| a["country"].as_str().cmp(&b["country"].as_str()));
    let chosen_market = s.settings.market(&raw.country).and_then(|m| {
        iso::country_name(&m.country).map(|n| json!({ "country": n, "hours": m.min_weekly_hours }))
    });
    let title = if suggestion.is_some() {
        "Check your email address".to_string()
    } else {
        pages::form_title("Apply", errors)
    };
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
            "min_age": s.settings.min_age,
            "hours_min": WEEKLY_HOURS_MIN,
            "hours_max": WEEKLY_HOURS_MAX,
            "market_minimums": minimums,
            "chosen_market": chosen_market,
            "wait_secs": wait_secs,
            "suggestion": suggestion.map(|(typed, suggested)| json!({
                "typed": typed.as_str(),
                "suggested": suggested.as_str(),
            })),
        }),
    )
}
