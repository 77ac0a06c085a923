//! Quiz definitions and their item analysis.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{field, Recruiter, Staff};
use crate::domain::quiz::{Kind, QuizDef};
use crate::domain::{add_error, FieldErrors};
use crate::store::{quizzes, Db};
use crate::usecases::assessment::category_label;
use crate::web::pages::errors_context_in;
use crate::web::{form, pages, AppError, AppState, PageError};

pub async fn list(staff: Recruiter, State(s): State<AppState>) -> Result<Response, PageError> {
    let rows: Vec<Value> = quizzes::quizzes(&s.db)
        .await?
        .into_iter()
        .map(|(_, d)| {
            json!({
                "slug": d.slug,
                "title": d.title,
                "active": d.active,
                "questions": d.question_count(),
                "minutes": d.time_limit_minutes,
                "pass_percent": d.pass_percent,
                "markets": if d.markets.is_empty() { "all".into() } else { d.markets.join(", ") },
                "languages": if d.languages.is_empty() { "any".into() } else { d.languages.join(", ") },
            })
        })
        .collect();
    Ok(staff.page(
        StatusCode::OK,
        "admin_quizzes",
        "Quizzes",
        "quizzes",
        json!({ "quizzes": rows }),
    ))
}

fn raw_of(d: &QuizDef) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("slug".into(), d.slug.clone());
    m.insert("title".into(), d.title.clone());
    m.insert(
        "active".into(),
        if d.active { "on".into() } else { String::new() },
    );
    m.insert(
        "time_limit_minutes".into(),
        d.time_limit_minutes.to_string(),
    );
    m.insert("pass_percent".into(), d.pass_percent.to_string());
    m.insert("max_attempts".into(), d.max_attempts.to_string());
    m.insert("cooldown_hours".into(), d.cooldown_hours.to_string());
    m.insert("markets".into(), d.markets.join(", "));
    m.insert("languages".into(), d.languages.join(", "));
    for (c, n) in &d.draw {
        m.insert(format!("draw.{c}"), n.to_string());
    }
    for (c, p) in &d.category_pass_percent {
        m.insert(format!("pass.{c}"), p.to_string());
    }
    m
}

/// Every field the form shows, so a form posted with fields missing still renders.
const FORM_FIELDS: &[&str] = &[
    "slug",
    "title",
    "active",
    "time_limit_minutes",
    "pass_percent",
    "max_attempts",
    "cooldown_hours",
    "markets",
    "languages",
];

async fn form_page(
    staff: &Staff,
    db: &Db,
    status: StatusCode,
    editing: Option<&str>,
    raw: &BTreeMap<String, String>,
    errors: &FieldErrors,
) -> Result<Response, PageError> {
    let (summary, fe) = errors_context_in(errors, FORM_FIELDS);
    let mut v = raw.clone();
    for f in FORM_FIELDS {
        v.entry(f.to_string()).or_default();
    }
    let categories: Vec<Value> = quizzes::bank_counts(db)
        .await?
        .into_iter()
        .map(|(c, n)| {
            let draw = format!("draw.{c}");
            let pass = format!("pass.{c}");
            json!({
                "label": category_label(&c),
                "available": n,
                "draw_name": draw,
                "draw_id": draw.replace(['.', ':'], "-"),
                "draw": raw.get(&draw).cloned().unwrap_or_default(),
                "draw_error": errors.get(&draw).map(|m| m.join(" ")),
                "pass_name": pass,
                "pass_id": pass.replace(['.', ':'], "-"),
                "pass": raw.get(&pass).cloned().unwrap_or_default(),
                "pass_error": errors.get(&pass).map(|m| m.join(" ")),
            })
        })
        .collect();
    let title = match editing {
        Some(slug) => format!("Edit quiz {slug}"),
        None => "New quiz".into(),
    };
    Ok(staff.page(
        status,
        "admin_quiz_form",
        &pages::form_title(&title, errors),
        "quizzes",
        json!({
            "title": title,
            "editing": editing.is_some(),
            "action": match editing { Some(s) => format!("/admin/quizzes/{s}"), None => "/admin/quizzes".into() },
            "v": v,
            "active": raw.get("active").is_some_and(|a| !a.is_empty()),
            "categories": categories,
            "errors": summary,
            "fe": fe,
        }),
    ))
}

pub async fn new_form(staff: Recruiter, State(s): State<AppState>) -> Result<Response, PageError> {
    let mut raw = BTreeMap::new();
    for (k, v) in [
        ("active", "on"),
        ("time_limit_minutes", "25"),
        ("pass_percent", "70"),
        ("max_attempts", "2"),
        ("cooldown_hours", "72"),
    ] {
        raw.insert(k.to_string(), v.to_string());
    }
    form_page(
        &staff,
        &s.db,
        StatusCode::OK,
        None,
        &raw,
        &FieldErrors::new(),
    )
    .await
}

pub async fn edit_form(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let Some((_, def)) = quizzes::quiz_by_slug(&s.db, &slug).await? else {
        return Ok(staff.not_found(NO_QUIZ));
    };
    form_page(
        &staff,
        &s.db,
        StatusCode::OK,
        Some(&slug),
        &raw_of(&def),
        &FieldErrors::new(),
    )
    .await
}

/// Reads the form into a definition, with every problem by field.
fn read(
    pairs: &form::Pairs,
    slug: &str,
    bank: &BTreeMap<String, usize>,
) -> (QuizDef, BTreeMap<String, String>, FieldErrors) {
    let mut errors = FieldErrors::new();
    let raw: BTreeMap<String, String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().ok().map(|v| (k.clone(), v.trim().to_string())))
        .collect();
    let mut number = |name: &str, label: &str| -> u32 {
        let v = field(pairs, name);
        if v.is_empty() {
            return 0;
        }
        v.parse().unwrap_or_else(|_| {
            add_error(
                &mut errors,
                name,
                format!("Enter {label} as a whole number."),
            );
            0
        })
    };
    let time_limit_minutes = number("time_limit_minutes", "the time limit");
    let pass_percent = number("pass_percent", "the pass mark");
    let max_attempts = number("max_attempts", "the number of attempts");
    let cooldown_hours = number("cooldown_hours", "the cooldown");
    let mut draw = BTreeMap::new();
    let mut category_pass_percent = BTreeMap::new();
    for c in bank.keys() {
        let n = number(&format!("draw.{c}"), "the number of questions");
        if n > 0 {
            draw.insert(c.clone(), n);
        }
        let p = number(&format!("pass.{c}"), "the pass mark");
        if p > 0 {
            category_pass_percent.insert(c.clone(), p);
        }
    }
    let list = |name: &str, upper: bool| -> Vec<String> {
        field(pairs, name)
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if upper {
                    s.to_ascii_uppercase()
                } else {
                    s.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let def = QuizDef {
        slug: slug.to_string(),
        title: field(pairs, "title").to_string(),
        active: !field(pairs, "active").is_empty(),
        time_limit_minutes,
        pass_percent,
        max_attempts,
        cooldown_hours,
        markets: list("markets", true),
        languages: list("languages", false),
        draw,
        category_pass_percent,
    };
    for (f, msgs) in def.check(bank) {
        errors.entry(f).or_insert(msgs);
    }
    (def, raw, errors)
}

pub async fn create(
    staff: Recruiter,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let bank = quizzes::bank_counts(&s.db).await?;
    let slug = field(&pairs, "slug").to_string();
    let (def, raw, mut errors) = read(&pairs, &slug, &bank);
    if quizzes::quiz_by_slug(&s.db, &slug).await?.is_some() {
        add_error(
            &mut errors,
            "slug",
            "Another quiz has this id; pick a new one.",
        );
    }
    save(&staff, &s, def, None, &raw, errors).await
}

pub async fn update(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    if quizzes::quiz_by_slug(&s.db, &slug).await?.is_none() {
        return Ok(staff.not_found(NO_QUIZ));
    }
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let bank = quizzes::bank_counts(&s.db).await?;
    let (def, raw, errors) = read(&pairs, &slug, &bank);
    save(&staff, &s, def, Some(&slug), &raw, errors).await
}

/// Stores a checked definition. Attempts already running keep the rules they started with.
async fn save(
    staff: &Staff,
    s: &AppState,
    def: QuizDef,
    editing: Option<&str>,
    raw: &BTreeMap<String, String>,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    if !errors.is_empty() {
        return form_page(
            staff,
            &s.db,
            StatusCode::UNPROCESSABLE_ENTITY,
            editing,
            raw,
            &errors,
        )
        .await;
    }
    let mut tx = s.db.begin().await?;
    quizzes::save_quiz(&mut tx, &def, s.db.now()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/quizzes").into_response())
}

const NO_QUIZ: &str = "There is no quiz with that id.";

/// Item analysis of one quiz: one entry per question version it has scored. Flags wait until a
/// version has `min_attempts` attempts.
pub async fn analysis(db: &Db, slug: &str, min_attempts: i64) -> Result<Option<Value>, AppError> {
    let Some((quiz_id, def)) = quizzes::quiz_by_slug(db, slug).await? else {
        return Ok(None);
    };
    let reports = quizzes::item_reports(db, quiz_id).await?;
    let items: Vec<Value> = reports
        .iter()
        .map(|r| {
            let stats = r.sums.stats(min_attempts);
            let choices: Vec<Value> = r
                .question
                .choices
                .iter()
                .map(|c| {
                    let picks = stats.choices.get(&c.key).copied().unwrap_or(0);
                    json!({
                        "key": c.key,
                        "text": c.text,
                        "picks": picks,
                        "share": if stats.attempts > 0 { picks as f64 / stats.attempts as f64 } else { 0.0 },
                        "credit": c.credit,
                        "rank": c.rank,
                    })
                })
                .collect();
            json!({
                "question": r.question.key,
                "version": r.version,
                "version_id": r.version_id,
                "category": r.question.category,
                "kind": match r.question.kind { Kind::Single => "single", Kind::Multiple => "multiple", Kind::Judgement => "judgement" },
                "prompt": r.question.prompt,
                "attempts": stats.attempts,
                "enough_attempts": stats.enough_attempts,
                "full_credit": stats.full_credit,
                "facility": stats.facility,
                "discrimination": stats.discrimination,
                "mean_seconds": stats.mean_seconds,
                "choices": choices,
                "flags": stats.flags,
            })
        })
        .collect();
    let flagged = items
        .iter()
        .filter(|i| i["flags"].as_array().is_some_and(|f| !f.is_empty()))
        .count();
    let waiting = items
        .iter()
        .filter(|i| i["enough_attempts"] == false)
        .count();
    Ok(Some(json!({
        "quiz": def.slug,
        "title": def.title,
        "min_attempts": min_attempts,
        "items": items,
        "flagged": flagged,
        "waiting": waiting,
    })))
}

pub async fn analysis_page(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let Some(mut data) = analysis(&s.db, &slug, s.settings.analysis_min_attempts).await? else {
        return Ok(staff.not_found(NO_QUIZ));
    };
    // Rounded for reading; the JSON keeps full precision.
    if let Some(items) = data["items"].as_array_mut() {
        for i in items {
            i["facility_text"] = json!(format!("{:.2}", i["facility"].as_f64().unwrap_or(0.0)));
            i["discrimination_text"] = json!(i["discrimination"]
                .as_f64()
                .map_or("–".to_string(), |d| format!("{d:.2}")));
            i["seconds_text"] = json!(i["mean_seconds"]
                .as_f64()
                .map_or("–".to_string(), |t| format!("{t:.0} s")));
            if let Some(cs) = i["choices"].as_array_mut() {
                for c in cs {
                    c["percent"] =
                        json!(format!("{:.0}", c["share"].as_f64().unwrap_or(0.0) * 100.0));
                }
            }
        }
    }
    Ok(staff.page(
        StatusCode::OK,
        "admin_analysis",
        "Item analysis",
        "quizzes",
        data,
    ))
}

pub async fn analysis_session_json(
    _staff: Recruiter,
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Value>, AppError> {
    analysis_json(&s, &slug).await
}

pub async fn analysis_json(s: &AppState, slug: &str) -> Result<Json<Value>, AppError> {
    analysis(&s.db, slug, s.settings.analysis_min_attempts)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound(NO_QUIZ))
}
