//! The question bank: list by category, add, and edit. Saving a changed question stores a new
//! version; the versions earlier attempts were scored against stay as they were.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{errors_context, field, not_found, Recruiter};
use crate::domain::quiz::{Choice, Kind, Question};
use crate::domain::{add_error, now, FieldErrors};
use crate::store::quizzes;
use crate::web::{form, pages, AppState, PageError};

/// Choice rows on the form, by key.
const KEYS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

#[derive(Deserialize)]
pub struct ListQuery {
    category: Option<String>,
}

pub async fn list(
    _staff: Recruiter,
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let category = q.category.filter(|c| !c.is_empty());
    let rows = quizzes::summaries(&s.db, category.as_deref()).await?;
    let categories: Vec<serde_json::Value> = quizzes::bank_counts(&s.db)
        .await?
        .into_iter()
        .map(|(c, n)| json!({ "name": c, "count": n, "selected": Some(&c) == category.as_ref() }))
        .collect();
    Ok(pages::render(
        StatusCode::OK,
        "admin_questions",
        "Question bank",
        json!({ "questions": rows, "categories": categories, "count": rows.len() }),
    ))
}

pub async fn new_form(_staff: Recruiter) -> Response {
    let blank = Question {
        key: String::new(),
        category: "tone".into(),
        kind: Kind::Single,
        weight: 1.0,
        prompt: String::new(),
        explanation: String::new(),
        choices: Vec::new(),
    };
    form_page(
        StatusCode::OK,
        &blank,
        None,
        &raw_of(&blank),
        &FieldErrors::new(),
    )
}

pub async fn edit_form(
    _staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let Some((q, version)) = quizzes::latest_by_slug(&s.db, &slug).await? else {
        return Err(not_found("There is no question with that key."));
    };
    Ok(form_page(
        StatusCode::OK,
        &q,
        Some(version),
        &raw_of(&q),
        &FieldErrors::new(),
    ))
}

/// The form's values as typed, so a rejected form comes back as the recruiter left it.
type Raw = serde_json::Map<String, serde_json::Value>;

fn raw_of(q: &Question) -> Raw {
    let mut m = Raw::new();
    m.insert("key".into(), json!(q.key));
    m.insert("category".into(), json!(q.category));
    m.insert("weight".into(), json!(q.weight.to_string()));
    m.insert("prompt".into(), json!(q.prompt));
    m.insert("explanation".into(), json!(q.explanation));
    for c in &q.choices {
        m.insert(format!("text_{}", c.key), json!(c.text));
        if let Some(cr) = c.credit {
            m.insert(format!("credit_{}", c.key), json!(cr.to_string()));
        }
        if let Some(r) = c.rank {
            m.insert(format!("rank_{}", c.key), json!(r.to_string()));
        }
    }
    m
}

fn form_page(
    status: StatusCode,
    q: &Question,
    version: Option<i64>,
    raw: &Raw,
    errors: &FieldErrors,
) -> Response {
    let (summary, fe) = errors_context(errors);
    let get = |k: &str| raw.get(k).cloned().unwrap_or(json!(""));
    let rows: Vec<serde_json::Value> = KEYS
        .iter()
        .map(|k| {
            json!({
                "key": k,
                "text": get(&format!("text_{k}")),
                "credit": get(&format!("credit_{k}")),
                "rank": get(&format!("rank_{k}")),
            })
        })
        .collect();
    let editing = version.is_some();
    let title = if editing {
        format!("Edit question {}", q.key)
    } else {
        "New question".into()
    };
    pages::render(
        status,
        "admin_question_form",
        &pages::form_title(&title, errors),
        json!({
            "title": title,
            "editing": editing,
            "version": version,
            "action": if editing { format!("/admin/questions/{}", q.key) } else { "/admin/questions".into() },
            "v": raw,
            "kind_single": q.kind == Kind::Single,
            "kind_multiple": q.kind == Kind::Multiple,
            "kind_judgement": q.kind == Kind::Judgement,
            "choices": rows,
            "errors": summary,
            "fe": fe,
        }),
    )
}

/// Reads the form into a question; fields that do not even parse are reported here, the rest by
/// `Question::check`.
fn read(pairs: &form::Pairs, key: &str) -> (Question, Raw, FieldErrors) {
    let mut errors = FieldErrors::new();
    let mut raw = Raw::new();
    for (k, v) in pairs {
        if let Ok(v) = v {
            raw.insert(k.clone(), json!(v));
        } else {
            add_error(&mut errors, k, "This field has characters we can't read.");
        }
    }
    let kind = match field(pairs, "kind") {
        "single" => Kind::Single,
        "multiple" => Kind::Multiple,
        "judgement" => Kind::Judgement,
        _ => {
            add_error(&mut errors, "kind", "Pick the kind of question.");
            Kind::Single
        }
    };
    let weight = field(pairs, "weight").parse::<f64>().unwrap_or_else(|_| {
        add_error(
            &mut errors,
            "weight",
            "Enter the weight as a number, like 1 or 1.5.",
        );
        1.0
    });
    let mut choices = Vec::new();
    for k in KEYS {
        let text = field(pairs, &format!("text_{k}"));
        if text.is_empty() {
            continue;
        }
        let credit = match field(pairs, &format!("credit_{k}")) {
            "" => None,
            c => c.parse::<f64>().map(Some).unwrap_or_else(|_| {
                add_error(
                    &mut errors,
                    &format!("credit_{k}"),
                    "Enter the credit as a number between -1 and 1.",
                );
                None
            }),
        };
        let rank = match field(pairs, &format!("rank_{k}")) {
            "" => None,
            r => r.parse::<u32>().map(Some).unwrap_or_else(|_| {
                add_error(
                    &mut errors,
                    &format!("rank_{k}"),
                    "Enter the rank as a whole number, 1 for the best reply.",
                );
                None
            }),
        };
        let (credit, rank) = match kind {
            Kind::Judgement => (None, rank),
            _ => (credit, None),
        };
        choices.push(Choice {
            key: k.to_string(),
            text: text.to_string(),
            credit,
            rank,
        });
    }
    let q = Question {
        key: key.to_string(),
        category: field(pairs, "category").to_string(),
        kind,
        weight,
        prompt: field(pairs, "prompt").to_string(),
        explanation: field(pairs, "explanation").to_string(),
        choices,
    };
    if errors.is_empty() {
        for problem in q.check() {
            let (f, m) = problem
                .split_once(": ")
                .unwrap_or(("prompt", problem.as_str()));
            let f = if f.starts_with("choice") {
                "choices"
            } else {
                f
            };
            add_error(&mut errors, f, capitalise(m));
        }
    }
    (q, raw, errors)
}

fn capitalise(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str().trim_end_matches('.')),
        None => String::new(),
    }
}

pub async fn create(
    _staff: Recruiter,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let key = field(&pairs, "key").to_string();
    let (q, raw, mut errors) = read(&pairs, &key);
    let valid_key = !key.is_empty()
        && key.len() <= 60
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_key {
        add_error(
            &mut errors,
            "key",
            "Use 1 to 60 lower-case letters, digits and hyphens, like tone-015.",
        );
    } else if quizzes::latest_by_slug(&s.db, &key).await?.is_some() {
        add_error(
            &mut errors,
            "key",
            "Another question has this key; pick a new one.",
        );
    }
    if !errors.is_empty() {
        return Ok(form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &q,
            None,
            &raw,
            &errors,
        ));
    }
    quizzes::save_question(&s.db, &q, now()).await?;
    Ok(Redirect::to(&format!("/admin/questions?category={}", q.category)).into_response())
}

pub async fn update(
    _staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let Some((_, version)) = quizzes::latest_by_slug(&s.db, &slug).await? else {
        return Err(not_found("There is no question with that key."));
    };
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let (q, raw, errors) = read(&pairs, &slug);
    if !errors.is_empty() {
        return Ok(form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &q,
            Some(version),
            &raw,
            &errors,
        ));
    }
    quizzes::save_question(&s.db, &q, now()).await?;
    Ok(Redirect::to(&format!("/admin/questions?category={}", q.category)).into_response())
}
