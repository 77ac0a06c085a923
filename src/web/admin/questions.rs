//! The question bank: list by category, add, and edit. Saving a changed question stores a new
//! version; the versions earlier attempts were scored against stay as they were. Saving without
//! a change stores nothing, so identical versions never split an item's statistics.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::{field, Recruiter, Staff};
use crate::domain::quiz::{normalize_text, Choice, Kind, Question};
use crate::domain::{add_error, FieldErrors};
use crate::store::quizzes;
use crate::usecases::assessment::category_label;
use crate::web::pages::errors_context;
use crate::web::{form, pages, AppState, PageError};

/// Choice rows on the form, by key.
const KEYS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// The category select's value for "a new category", typed into `new_category`.
const NEW_CATEGORY: &str = "__new__";

/// How much of a prompt the bank list shows.
const PROMPT_PREVIEW: usize = 160;

pub async fn list(
    staff: Recruiter,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(query);
    let category = Some(field(&pairs, "category").to_string()).filter(|c| !c.is_empty());
    let rows: Vec<serde_json::Value> = quizzes::summaries(&s.db, category.as_deref())
        .await?
        .into_iter()
        .map(|q| {
            let mut prompt: String = q.prompt.chars().take(PROMPT_PREVIEW).collect();
            if q.prompt.chars().count() > PROMPT_PREVIEW {
                prompt.push('…');
            }
            json!({
                "slug": q.slug,
                "category": q.category,
                "kind": q.kind,
                "prompt": prompt,
                "versions": q.versions,
            })
        })
        .collect();
    let categories: Vec<serde_json::Value> = quizzes::bank_counts(&s.db)
        .await?
        .into_iter()
        .map(|(c, n)| json!({ "name": c, "label": category_label(&c), "count": n, "selected": Some(&c) == category.as_ref() }))
        .collect();
    Ok(staff.page(
        StatusCode::OK,
        "admin_questions",
        "Question bank",
        "questions",
        json!({ "questions": rows, "categories": categories, "count": rows.len() }),
    ))
}

pub async fn new_form(staff: Recruiter, State(s): State<AppState>) -> Result<Response, PageError> {
    let blank = Question {
        key: String::new(),
        category: "tone".into(),
        kind: Kind::Single,
        weight: 1.0,
        prompt: String::new(),
        explanation: String::new(),
        choices: Vec::new(),
    };
    let categories = categories(&s).await?;
    Ok(form_page(
        &staff,
        StatusCode::OK,
        &blank,
        None,
        &categories,
        &raw_of(&blank),
        &FieldErrors::new(),
        None,
    ))
}

pub async fn edit_form(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some((q, version)) = quizzes::latest_by_slug(&s.db, &slug).await? else {
        return Ok(staff.not_found("There is no question with that key."));
    };
    let pairs = form::query(query);
    let notice = match field(&pairs, "outcome") {
        "saved" => Some(format!("Saved as version {version}.")),
        "unchanged" => Some(format!(
            "No changes to save: this is still version {version}."
        )),
        _ => None,
    };
    let categories = categories(&s).await?;
    Ok(form_page(
        &staff,
        StatusCode::OK,
        &q,
        Some(version),
        &categories,
        &raw_of(&q),
        &FieldErrors::new(),
        notice,
    ))
}

async fn categories(s: &AppState) -> Result<Vec<String>, PageError> {
    Ok(quizzes::bank_counts(&s.db).await?.into_keys().collect())
}

/// The form's values as typed, so a rejected form comes back as the recruiter left it.
type Raw = serde_json::Map<String, serde_json::Value>;

/// Every field the form shows, so a form posted with fields missing still renders.
fn form_fields() -> impl Iterator<Item = String> {
    [
        "key",
        "category",
        "new_category",
        "weight",
        "prompt",
        "explanation",
    ]
    .into_iter()
    .map(str::to_string)
    .chain(KEYS.iter().flat_map(|k| {
        [
            format!("text_{k}"),
            format!("credit_{k}"),
            format!("rank_{k}"),
        ]
    }))
}

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

#[allow(clippy::too_many_arguments)]
fn form_page(
    staff: &Staff,
    status: StatusCode,
    q: &Question,
    version: Option<i64>,
    categories: &[String],
    raw: &Raw,
    errors: &FieldErrors,
    notice: Option<String>,
) -> Response {
    let (summary, fe) = errors_context(errors);
    let mut v = raw.clone();
    for f in form_fields() {
        v.entry(f).or_insert(json!(""));
    }
    let get = |k: &str| v.get(k).cloned().unwrap_or(json!(""));
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
    let chosen = v["category"].as_str().unwrap_or_default().to_string();
    let is_new = chosen == NEW_CATEGORY || (!chosen.is_empty() && !categories.contains(&chosen));
    let options: Vec<serde_json::Value> = categories
        .iter()
        .map(|c| json!({ "name": c, "label": category_label(c), "selected": *c == chosen }))
        .collect();
    if is_new && v["new_category"].as_str().is_some_and(str::is_empty) && chosen != NEW_CATEGORY {
        v.insert("new_category".into(), json!(chosen));
    }
    let editing = version.is_some();
    let title = if editing {
        format!("Edit question {}", q.key)
    } else {
        "New question".into()
    };
    staff.page(
        status,
        "admin_question_form",
        &pages::form_title(&title, errors),
        "questions",
        json!({
            "title": title,
            "editing": editing,
            "version": version,
            "next_version": version.map(|n| n + 1),
            "notice": notice,
            "action": if editing { format!("/admin/questions/{}", q.key) } else { "/admin/questions".into() },
            "v": v,
            "categories": options,
            "new_category_selected": is_new,
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
fn read(pairs: &form::Pairs, key: &str, categories: &[String]) -> (Question, Raw, FieldErrors) {
    let mut errors = FieldErrors::new();
    let mut raw = Raw::new();
    let known: Vec<String> = form_fields().chain(["kind".to_string()]).collect();
    // Fields this form does not have are ignored, whatever they hold.
    for (k, v) in pairs.iter().filter(|(k, _)| known.contains(k)) {
        if let Ok(v) = v {
            raw.insert(k.clone(), json!(v));
        } else {
            add_error(&mut errors, k, "This field has characters we can't read.");
        }
    }
    let category = match field(pairs, "category") {
        NEW_CATEGORY => {
            let typed = field(pairs, "new_category").to_lowercase();
            if typed.is_empty() {
                add_error(
                    &mut errors,
                    "new_category",
                    "Type the name of the new category, or pick one from the list.",
                );
            } else if categories.contains(&typed) {
                add_error(
                    &mut errors,
                    "new_category",
                    "This category already exists: pick it from the list instead.",
                );
            }
            typed
        }
        c if categories.iter().any(|k| k == c) => c.to_string(),
        "" => {
            add_error(&mut errors, "category", "Pick a category.");
            String::new()
        }
        c => {
            add_error(
                &mut errors,
                "category",
                "Pick a category from the list, or choose \"A new category\" to start one.",
            );
            c.to_string()
        }
    };
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
            text: normalize_text(text),
            credit,
            rank,
        });
    }
    let q = Question {
        key: key.to_string(),
        category,
        kind,
        weight,
        // Browsers send CRLF line ends from a textarea; the bank stores LF.
        prompt: normalize_text(field(pairs, "prompt")),
        explanation: normalize_text(field(pairs, "explanation")),
        choices,
    };
    if errors.is_empty() {
        for problem in q.check() {
            let (f, m) = problem
                .split_once(": ")
                .unwrap_or(("prompt", problem.as_str()));
            let f = if f.starts_with("choice") {
                "choices"
            } else if f == "category" && field(pairs, "category") == NEW_CATEGORY {
                "new_category"
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
    staff: Recruiter,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let categories = categories(&s).await?;
    let key = field(&pairs, "key").to_string();
    let (q, raw, mut errors) = read(&pairs, &key, &categories);
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
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            &q,
            None,
            &categories,
            &raw,
            &errors,
            None,
        ));
    }
    quizzes::save_question(&s.db, &q, s.db.now()).await?;
    Ok(Redirect::to(&format!("/admin/questions/{}?outcome=saved", q.key)).into_response())
}

pub async fn update(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let Some((_, version)) = quizzes::latest_by_slug(&s.db, &slug).await? else {
        return Ok(staff.not_found("There is no question with that key."));
    };
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let categories = categories(&s).await?;
    let (q, raw, errors) = read(&pairs, &slug, &categories);
    if !errors.is_empty() {
        return Ok(form_page(
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            &q,
            Some(version),
            &categories,
            &raw,
            &errors,
            None,
        ));
    }
    let outcome = if quizzes::save_question(&s.db, &q, s.db.now()).await? {
        "saved"
    } else {
        "unchanged"
    };
    Ok(Redirect::to(&format!("/admin/questions/{slug}?outcome={outcome}")).into_response())
}
