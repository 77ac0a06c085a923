//! The recruiters' workspace: the applicant list (search, filters in the URL, counts per stage,
//! keyset pages, CSV), one applicant's page (fields, screening, quiz attempts, one timeline,
//! notes, tags, moves with an email preview), and bulk actions with a confirmation step.
//! Managers read; recruiters and admins act.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field, Confirm, Recruiter, Staff};
use crate::domain::applicants::{Filter, Sort};
use crate::domain::cohorts::CohortStatus;
use crate::domain::pipeline::Pipeline;
use crate::domain::{add_error, FieldErrors};
use crate::store::cohorts::{self as cohort_store, CohortRow};
use crate::store::{applicants, applications, attempts, tags, users};
use crate::usecases::bulk::{self, Action};
use crate::usecases::pipeline::{self as moves, MoveFailure, MOVE_TEMPLATES};
use crate::web::pages::{errors_context, errors_context_in};
use crate::web::{form, listing, AppError, AppState, PageError};

const DATE: &str = "%Y-%m-%d";

fn href(path: &str, query: &[(&str, String)]) -> String {
    let q = listing::query_string(query);
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

fn option_list(values: &[(&str, &str)], current: &str) -> Vec<Value> {
    values
        .iter()
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": *v == current }))
        .collect()
}

/// `GET /admin/applicants`.
pub async fn list(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pipeline = s.pipeline()?;
    let pairs = form::query(query);
    let raw = |k: &str| field(&pairs, k).to_string();
    let (filter, errors) = match listing::filter(&pairs, &pipeline) {
        Ok(f) => (f, FieldErrors::new()),
        Err(e) => (
            Filter {
                limit: crate::domain::applicants::LIMIT_DEFAULT,
                ..Filter::default()
            },
            e,
        ),
    };
    let at = s.db.now();
    let ((rows, more), counts) = applicants::page_and_counts(&s.db, &filter, at).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let (tags, dups) = applicants::tags_and_duplicates(&s.db, &ids).await?;
    let labels: HashMap<&str, &str> = pipeline
        .stages()
        .iter()
        .map(|st| (st.id.as_str(), st.label.as_str()))
        .collect();
    let total: i64 = counts.values().sum();
    let base = filter.to_query(&["stage"]);
    let mut tabs = vec![json!({
        "label": "All", "count": total, "href": href("/admin/applicants", &base),
        "current": filter.stage.is_none(),
    })];
    for st in pipeline.stages() {
        let n = counts.get(&st.id).copied().unwrap_or(0);
        let current = filter.stage.as_deref() == Some(st.id.as_str());
        if n == 0 && !current {
            continue;
        }
        let mut q = base.clone();
        q.push(("stage", st.id.clone()));
        tabs.push(json!({
            "label": st.label, "count": n, "href": href("/admin/applicants", &q),
            "current": current,
        }));
    }
    let matching = match &filter.stage {
        Some(st) => counts.get(st).copied().unwrap_or(0),
        None => total,
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let days = r
                .stage_since
                .map(|t| (at - t).num_days())
                .unwrap_or_default();
            json!({
                "id": r.id,
                "name": r.full_name,
                "email": r.email,
                "stage": labels.get(r.status.as_str()).copied().unwrap_or(r.status.as_str()),
                "score": listing::score_percent(r.score_bp),
                "country": r.country,
                "languages": r.languages.replace(',', ", "),
                "source": r.utm_source,
                "applied": r.created_at.format(DATE).to_string(),
                "days_in_stage": days,
                "tags": tags.get(&r.id).cloned().unwrap_or_default(),
                "duplicate": dups.contains(&r.id),
            })
        })
        .collect();
    let next = more.then(|| rows.last()).flatten().map(|r| {
        let mut q = filter.to_query(&[]);
        q.push(("after", r.cursor(filter.sort).encode()));
        href("/admin/applicants", &q)
    });
    let first_page = filter
        .after
        .is_some()
        .then(|| href("/admin/applicants", &filter.to_query(&[])));
    let stages: Vec<(&str, &str)> = pipeline
        .stages()
        .iter()
        .map(|st| (st.id.as_str(), st.label.as_str()))
        .collect();
    let sorts: Vec<(&str, &str)> = Sort::ALL.iter().map(|s| (s.as_str(), s.label())).collect();
    let areas: Vec<(&str, &str)> = crate::domain::application::Area::ALL
        .iter()
        .map(|a| (a.as_str(), a.label()))
        .collect();
    let yes_no = [("true", "Yes"), ("false", "No")];
    let (summary, by_field) = errors_context_in(&errors, crate::domain::applicants::PARAMETERS);
    let title = crate::web::pages::form_title("Applicants", &errors);
    let current_query = listing::query_string(&filter.to_query(&["limit"]));
    Ok(staff.page(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_applicants",
        &title,
        "applicants",
        json!({
            "errors": summary,
            "field_errors": by_field,
            "may_act": staff.may_recruit(),
            "tabs": tabs,
            "rows": items,
            "matching": matching,
            "next": next,
            "first_page": first_page,
            "csv": href("/admin/applicants.csv", &filter.to_query(&["limit"])),
            "filter_query": current_query,
            "q": raw("q"),
            "stage": filter.stage.clone().unwrap_or_default(),
            "stage_options": option_list(&stages, filter.stage.as_deref().unwrap_or("")),
            "country": raw("country"),
            "language": raw("language"),
            "area_options": option_list(&areas, filter.area.as_deref().unwrap_or("")),
            "student_options": option_list(&yes_no, &raw("student")),
            "customer_options": option_list(&yes_no, &raw("customer")),
            "source": raw("source"),
            "campaign": raw("campaign"),
            "tag": raw("tag"),
            "score_min": raw("score_min"),
            "score_max": raw("score_max"),
            "applied_from": raw("applied_from"),
            "applied_to": raw("applied_to"),
            "stuck_days": raw("stuck_days"),
            "stuck": filter.stuck,
            "stuck_hint": stuck_hint(&pipeline),
            "sort_options": option_list(&sorts, filter.sort.as_str()),
            "narrowed": filter.narrows() || filter.stage.is_some(),
            "bulk": bulk_controls(
                &pipeline,
                &cohort_store::list(&s.db).await?,
                s.db.now().date_naive(),
            ),
        }),
    ))
}

/// The stage limits the "stuck" filter applies, in words: "Shortlisted 7 days, ...".
fn stuck_hint(pipeline: &Pipeline) -> String {
    let limits: Vec<String> = pipeline
        .idle_limits()
        .iter()
        .map(|(stage, limit)| {
            let label = pipeline
                .stage(stage)
                .map_or(stage.as_str(), |s| s.label.as_str());
            format!("{label} {}", crate::domain::time::in_words(*limit))
        })
        .collect();
    if limits.is_empty() {
        "No stage has a time limit.".into()
    } else {
        format!("Limits: {}.", limits.join(", "))
    }
}

/// The controls of the bulk form and of an applicant's move form.
fn bulk_controls(pipeline: &Pipeline, cohorts: &[CohortRow], today: chrono::NaiveDate) -> Value {
    let stages: Vec<Value> = pipeline
        .stages()
        .iter()
        // Only stages a plain move can reach: an agent goes live, pauses or leaves through
        // their cohort's steps (checklist and reason), so those would always be refused here.
        .filter(|st| {
            !matches!(
                st.kind,
                crate::domain::pipeline::Kind::Screening
                    | crate::domain::pipeline::Kind::QuizPassed
                    | crate::domain::pipeline::Kind::Expired
                    | crate::domain::pipeline::Kind::Live
                    | crate::domain::pipeline::Kind::Paused
                    | crate::domain::pipeline::Kind::Offboarded
            )
        })
        .map(|st| json!({ "value": st.id, "label": st.label }))
        .collect();
    let reasons: Vec<Value> = pipeline
        .reject_reasons()
        .iter()
        .map(|r| json!({ "value": r, "label": r }))
        .collect();
    let templates: Vec<Value> = MOVE_TEMPLATES
        .iter()
        .map(|(v, l)| json!({ "value": v, "label": l }))
        .collect();
    // Cohorts that still take offers, soonest start first.
    let mut open: Vec<&CohortRow> = cohorts
        .iter()
        .filter(|c| {
            !matches!(
                CohortStatus::of(c.start_date, c.marked.as_deref(), today),
                CohortStatus::Closed
            )
        })
        .collect();
    open.sort_by_key(|c| c.start_date);
    let cohorts: Vec<Value> = open
        .iter()
        .map(|c| {
            json!({ "value": c.id, "label": format!("{} ({}, {}/{} seats)",
                c.name, c.market, c.seats_taken, c.capacity) })
        })
        .collect();
    json!({ "stages": stages, "reasons": reasons, "templates": templates, "cohorts": cohorts })
}

/// `GET /admin/applicants.csv`: the filtered list, streamed.
pub async fn csv(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pipeline = s.pipeline()?;
    let f = match listing::filter(&form::query(query), &pipeline) {
        Ok(f) => f,
        Err(e) => return Err(PageError(AppError::Validation(e))),
    };
    Ok(listing::csv_export(&s.db, &s.metrics, &format!("staff:{}", staff.id), f).await?)
}

fn parse_id(id: &str) -> Option<Uuid> {
    id.parse().ok()
}

const NO_SUCH: &str = "There is no applicant with this id. They may have been merged or erased.";

/// What the applicant page shows besides the applicant: a refused form's errors, the values
/// to keep, and an email preview.
#[derive(Default)]
struct Extra {
    errors: FieldErrors,
    form: Value,
    preview: Option<Value>,
    notice: Option<&'static str>,
}

/// `GET /admin/applicants/{id}`.
pub async fn detail(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(id) = parse_id(&id) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let pairs = form::query(query);
    let notice = match field(&pairs, "done") {
        "moved" => Some("Moved. The timeline below shows it."),
        "note" => Some("Note added."),
        "tag" => Some("Tags updated."),
        "merged" => Some("Merged: this record now holds the other one's history."),
        _ => None,
    };
    let extra = Extra {
        notice,
        ..Extra::default()
    };
    applicant_page(&staff, &s, id, extra, StatusCode::OK).await
}

async fn applicant_page(
    staff: &Staff,
    s: &AppState,
    id: Uuid,
    extra: Extra,
    status: StatusCode,
) -> Result<Response, PageError> {
    let app = match applications::get(&s.db, id).await {
        Ok(a) => a,
        Err(crate::store::StoreError::NotFound) => return Ok(staff.not_found(NO_SUCH)),
        Err(e) => return Err(e.into()),
    };
    let pipeline = s.pipeline()?;
    let label = |id: &str| {
        pipeline
            .stage(id)
            .map_or(id.to_string(), |st| st.label.clone())
    };
    let screening = applications::screening(&s.db, id).await?;
    let attempts: Vec<Value> = attempts::all_for_application(&s.db, id)
        .await?
        .iter()
        .map(|a| {
            let categories: Vec<Value> = crate::usecases::assessment::category_scores(a)
                .iter()
                .map(|c| {
                    json!({
                        "category": crate::usecases::assessment::category_label(&c.category),
                        "score": crate::usecases::assessment::percent(c.score_bp),
                        "pass": c.pass_bp.map(crate::usecases::assessment::percent),
                    })
                })
                .collect();
            json!({
                "number": a.number,
                "started": staff.time(a.started_at),
                "finished": a.finished_at.map(|t| staff.time(t)),
                "how": a.finished_by,
                "score": a.score_bp.map(crate::usecases::assessment::percent),
                "passed": a.passed,
                "categories": categories,
            })
        })
        .collect();
    let staff_emails = users::emails_by_id(&s.db).await?;
    let who = |actor: &str| -> String {
        match actor.split_once(':') {
            Some(("staff", uid)) => uid
                .parse::<Uuid>()
                .ok()
                .and_then(|u| staff_emails.get(&u).cloned())
                .unwrap_or_else(|| "a staff member".into()),
            Some(("api_key", _)) => "an API key".into(),
            _ => actor.replace('_', " "),
        }
    };
    let timeline: Vec<Value> = moves::timeline(&s.db, id)
        .await?
        .into_iter()
        .rev()
        .map(|t| {
            let d = &t.detail;
            let (what, body) = if t.kind == "email" {
                let text = |k: &str| d.get(k).and_then(Value::as_str);
                let template = text("template").unwrap_or_default();
                (
                    crate::domain::timeline::email_text(template, text("status"), text("error")),
                    None,
                )
            } else {
                crate::domain::timeline::event_text(&t.kind, d, &|s: &str| label(s).to_string())
            };
            json!({
                "at": staff.time(t.at),
                "what": what,
                "body": body,
                "who": who(&t.actor),
                "note": t.kind == "note",
            })
        })
        .collect();
    let tag_list = tags::of(&s.db, id).await?;
    let duplicates: Vec<Value> = applicants::duplicates_of(&s.db, id)
        .await?
        .iter()
        .map(|d| {
            let why = match (d.same_email, d.same_phone) {
                (true, true) => "same address and phone",
                (true, false) => "same address (dots or +tag aside)",
                _ => "same phone number",
            };
            json!({
                "id": d.id, "name": d.full_name, "email": d.email, "why": why,
                "stage": label(&d.status), "applied": d.created_at.format(DATE).to_string(),
                "older": d.created_at < app.created_at
                    || (d.created_at == app.created_at && d.id < app.id),
            })
        })
        .collect();
    let next: Vec<Value> = pipeline
        .next_stages(&app.status)
        .iter()
        .map(|st| json!({ "value": st.id, "label": st.label }))
        .collect();
    let (summary, by_field) = errors_context(&extra.errors);
    let title = crate::web::pages::form_title(&app.full_name, &extra.errors);
    // What the forms show: the values sent back with a refusal, else empty.
    let mut form = json!({ "to": "", "reason": "", "template": "", "body": "", "tag": "" });
    if let (Some(f), Some(sent)) = (form.as_object_mut(), extra.form.as_object()) {
        for (k, v) in sent {
            if !v.is_null() {
                f.insert(k.clone(), v.clone());
            }
        }
    }
    let days = app
        .stage_since
        .map_or(String::new(), |t| (s.db.now() - t).num_days().to_string());
    Ok(staff.page(
        status,
        "admin_applicant",
        &title,
        "applicants",
        json!({
            "errors": summary,
            "field_errors": by_field,
            "notice": extra.notice,
            "form": form,
            "preview": extra.preview,
            "may_act": staff.may_recruit(),
            "id": app.id,
            "name": app.full_name,
            "email": app.email,
            "phone": app.phone,
            "country": app.country,
            "area": app.area,
            "languages": app.languages.replace(',', ", "),
            "weekly_hours": app.weekly_hours,
            "student": app.student,
            "customer": app.customer,
            "adult": app.adult,
            "equipment": app.equipment,
            "motivation": app.motivation,
            "source": app.utm_source,
            "campaign": app.utm_campaign,
            "ref_code": app.ref_code,
            "stage": label(&app.status),
            "days_in_stage": days,
            "verified": app.email_verified_at.map(|t| staff.time(t)),
            "applied": staff.time(app.created_at),
            "screening": screening,
            "attempts": attempts,
            "timeline": timeline,
            "tags": tag_list,
            "duplicates": duplicates,
            "next_stages": next,
            "controls": bulk_controls(
                &pipeline,
                &cohort_store::list(&s.db).await?,
                s.db.now().date_naive(),
            ),
        }),
    ))
}

async fn read_form(
    s: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<form::Pairs, PageError> {
    Ok(form::urlencoded(headers, body, s.settings.max_body_bytes)?)
}

/// The applicant's page again, with a form's refused `field` and the values sent (`kept`).
async fn refused(
    staff: &Staff,
    s: &AppState,
    id: Uuid,
    field: &str,
    message: impl Into<String>,
    kept: Value,
) -> Result<Response, PageError> {
    let mut errors = FieldErrors::new();
    add_error(&mut errors, field, message);
    let extra = Extra {
        errors,
        form: kept,
        ..Extra::default()
    };
    applicant_page(staff, s, id, extra, StatusCode::UNPROCESSABLE_ENTITY).await
}

fn actor(staff: &Staff) -> String {
    format!("staff:{}", staff.id)
}

fn back_to(id: Uuid, done: &str) -> Response {
    Redirect::to(&format!("/admin/applicants/{id}?done={done}")).into_response()
}

/// `POST /admin/applicants/{id}/move`: with `preview` the page comes back with the email the
/// move would send (HTML and text, with the applicant's real data); otherwise the move is made.
pub async fn move_one(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let Some(id) = parse_id(&id) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let pairs = read_form(&s, &headers, body).await?;
    let to = field(&pairs, "to").to_string();
    let reason = Some(field(&pairs, "reason")).filter(|r| !r.is_empty());
    let template = Some(field(&pairs, "template")).filter(|t| !t.is_empty());
    // A note typed beside the move goes with it, and stays typed if the move is refused.
    let note_raw = super::untrimmed(&pairs, "body");
    let kept = json!({ "to": to, "reason": reason, "template": template, "body": note_raw });
    let mut errors = FieldErrors::new();
    if to.is_empty() {
        add_error(&mut errors, "to", "Choose the stage to move to.");
    }
    let note = match note_raw.trim() {
        "" => None,
        _ => match crate::domain::application::parse_note(&note_raw) {
            Ok(t) => Some(t),
            Err(m) => {
                add_error(&mut errors, "body", m);
                None
            }
        },
    };
    if let Err(m) = moves::check_template(template, &to) {
        add_error(&mut errors, "template", m);
    }
    let pipeline = s.pipeline()?;
    if errors.is_empty() && field(&pairs, "preview") == "1" {
        let preview = match template {
            Some(t) => {
                let app = applications::get(&s.db, id).await?;
                let mut data = moves::move_email_payload(&pipeline, id, &app.full_name, &to);
                data["status_url"] = json!(format!(
                    "{}/status/(a personal link)",
                    s.settings.base_url()
                ));
                let email = s
                    .renderer
                    .render(t, &data)
                    .map_err(|e| AppError::Internal(e.context("rendering a preview")))?;
                Some(json!({
                    "to": app.email, "subject": email.subject, "html": email.html_body,
                    "text": email.text,
                }))
            }
            None => {
                add_error(&mut errors, "template", "Choose an email to preview.");
                None
            }
        };
        let extra = Extra {
            errors,
            form: kept,
            preview,
            notice: None,
        };
        return applicant_page(&staff, &s, id, extra, StatusCode::OK).await;
    }
    if errors.is_empty() {
        if let Some(page) = confirm_final_move(&staff, &s, &pipeline, &pairs, id).await? {
            return Ok(page);
        }
        let done =
            moves::move_application(&s.db, &pipeline, &actor(&staff), id, &to, reason, template)
                .await;
        match done {
            Ok(_) => {
                s.metrics.moved(&to, 1);
                if let Some(text) = &note {
                    moves::add_note(&s.db, &actor(&staff), id, text)
                        .await
                        .map_err(AppError::from)?;
                }
                return Ok(back_to(id, "moved"));
            }
            Err(MoveFailure::NotFound) => return Ok(staff.not_found(NO_SUCH)),
            Err(MoveFailure::Refused(e)) => {
                let (f, m) = e.field_and_message(pipeline.reject_reasons());
                add_error(&mut errors, f, m);
            }
            Err(MoveFailure::Store(e)) => return Err(e.into()),
        }
    }
    let extra = Extra {
        errors,
        form: kept,
        preview: None,
        notice: None,
    };
    applicant_page(&staff, &s, id, extra, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// A move to a final stage (rejected, withdrawn) asks once more, naming the person, the reason
/// and the email, since nothing follows it.
async fn confirm_final_move(
    staff: &Staff,
    s: &AppState,
    pipeline: &Pipeline,
    pairs: &form::Pairs,
    id: Uuid,
) -> Result<Option<Response>, PageError> {
    let to = field(pairs, "to");
    let Some(stage) = pipeline.stage(to).filter(|st| st.kind.is_final()) else {
        return Ok(None);
    };
    let app = applications::get(&s.db, id).await?;
    // A move the flow refuses anyway (no reason given, say) is refused at once, unasked.
    let reason_given = Some(field(pairs, "reason")).filter(|r| !r.is_empty());
    if pipeline.check_move(&app.status, to, reason_given).is_err() {
        return Ok(None);
    }
    let name = app.full_name;
    let verb = if to == crate::domain::pipeline::REJECTED {
        "reject"
    } else {
        "withdraw"
    };
    let reason = match field(pairs, "reason") {
        "" => String::new(),
        r => format!(" (reason: {r})"),
    };
    let email = match field(pairs, "template") {
        "" => " No email goes to them.".to_string(),
        t => format!(
            " They get the email “{}”.",
            moves::MOVE_TEMPLATES
                .iter()
                .find(|(k, _)| *k == t)
                .map_or(t, |(_, l)| l)
        ),
    };
    let title = format!("{} {name}?", crate::domain::timeline::capitalised(verb));
    let what = format!(
        "{name} moves to {}{reason}.{email} {} is final: the application cannot be moved on \
         again.",
        stage.label, stage.label
    );
    let button = format!("Yes, {verb} {name}");
    let back = format!("/admin/applicants/{id}");
    let ask = Confirm {
        title: &title,
        what: &what,
        button: &button,
        action: &format!("/admin/applicants/{id}/move"),
        back: &back,
        section: "applicants",
    };
    Ok(staff.confirm_first(pairs, ask))
}

/// `POST /admin/applicants/{id}/notes`.
pub async fn add_note(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let Some(id) = parse_id(&id) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let pairs = read_form(&s, &headers, body).await?;
    let raw = super::untrimmed(&pairs, "body");
    // The move fields share the form: a refused note keeps them as chosen.
    let kept = json!({
        "body": raw, "to": field(&pairs, "to"), "reason": field(&pairs, "reason"),
        "template": field(&pairs, "template"),
    });
    let text = match crate::domain::application::parse_note(&raw) {
        Ok(t) => t,
        Err(m) => return refused(&staff, &s, id, "body", m, kept).await,
    };
    match moves::add_note(&s.db, &actor(&staff), id, &text).await {
        Ok(()) => Ok(back_to(id, "note")),
        Err(MoveFailure::NotFound) => Ok(staff.not_found(NO_SUCH)),
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /admin/applicants/{id}/tags`: adds `tag`, or with `remove` removes it.
pub async fn set_tag(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let Some(id) = parse_id(&id) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let pairs = read_form(&s, &headers, body).await?;
    let tag = match crate::domain::application::parse_tag(field(&pairs, "tag")) {
        Ok(t) => t,
        Err(m) => {
            let kept = json!({ "tag": field(&pairs, "tag") });
            return refused(&staff, &s, id, "tag", m, kept).await;
        }
    };
    let on = field(&pairs, "remove") != "1";
    match moves::set_tag(&s.db, &actor(&staff), id, &tag, on).await {
        Ok(_) => Ok(back_to(id, "tag")),
        Err(MoveFailure::NotFound) => Ok(staff.not_found(NO_SUCH)),
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// `POST /admin/applicants/{id}/merge` with `other`: merges the two records of one person into
/// the older one.
pub async fn merge(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let Some(id) = parse_id(&id) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let pairs = read_form(&s, &headers, body).await?;
    let Some(other) = parse_id(field(&pairs, "other")) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let (Ok(this), Ok(that)) = (
        applications::get(&s.db, id).await,
        applications::get(&s.db, other).await,
    ) else {
        return Ok(staff.not_found(NO_SUCH));
    };
    let title = format!(
        "Merge the records of {} and {}?",
        this.full_name, that.full_name
    );
    let what = format!(
        "{} ({}) and {} ({}) become one record, the older one; the other's history moves into \
         it and the other record goes. This cannot be undone.",
        this.full_name, this.email, that.full_name, that.email
    );
    let back = format!("/admin/applicants/{id}");
    let ask = Confirm {
        title: &title,
        what: &what,
        button: "Yes, merge them",
        action: &format!("/admin/applicants/{id}/merge"),
        back: &back,
        section: "applicants",
    };
    if let Some(page) = staff.confirm_first(&pairs, ask) {
        return Ok(page);
    }
    match moves::merge(&s.db, &actor(&staff), id, other).await {
        Ok(kept) => Ok(back_to(kept, "merged")),
        Err(moves::MergeFailure::NotFound) => Ok(staff.not_found(NO_SUCH)),
        Err(moves::MergeFailure::Refused(m)) => {
            let page = refused(&staff, &s, id, "other", m.to_string(), json!({})).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(moves::MergeFailure::Store(e)) => Err(e.into()),
    }
}

/// What a bulk form asks for: the action, and the applicants (ticked ids, or everyone the
/// filter in `filter` matches).
struct BulkRequest {
    action: Action,
    ids: Vec<Uuid>,
    all: bool,
}

async fn bulk_request(
    s: &AppState,
    pipeline: &Pipeline,
    pairs: &form::Pairs,
) -> Result<Result<BulkRequest, FieldErrors>, PageError> {
    let mut errors = FieldErrors::new();
    let text = |k: &str| Some(field(pairs, k).to_string()).filter(|v| !v.is_empty());
    let action = match field(pairs, "action") {
        "move" | "reject" => {
            let to = if field(pairs, "action") == "reject" {
                crate::domain::pipeline::REJECTED.to_string()
            } else {
                text("to").unwrap_or_default()
            };
            let reason = text("reason");
            let template = text("template");
            if pipeline.stage(&to).is_none() {
                add_error(&mut errors, "to", "Choose the stage to move to.");
            } else if to == crate::domain::pipeline::REJECTED {
                let listed = reason
                    .as_ref()
                    .is_some_and(|r| pipeline.reject_reasons().contains(r));
                if !listed {
                    add_error(
                        &mut errors,
                        "reason",
                        format!(
                            "Choose the reason for rejecting: {}.",
                            pipeline.reject_reasons().join(", ")
                        ),
                    );
                }
            }
            if let Err(m) = moves::check_template(template.as_deref(), &to) {
                add_error(&mut errors, "template", m);
            }
            Some(Action::Move {
                to,
                reason,
                template,
            })
        }
        a @ ("add_tag" | "remove_tag") => {
            match crate::domain::application::parse_tag(field(pairs, "tag")) {
                Ok(tag) if a == "add_tag" => Some(Action::AddTag { tag }),
                Ok(tag) => Some(Action::RemoveTag { tag }),
                Err(m) => {
                    add_error(&mut errors, "tag", m);
                    None
                }
            }
        }
        "offer" => match text("cohort").and_then(|c| c.parse::<Uuid>().ok()) {
            Some(id) => match cohort_store::get(&s.db, id).await? {
                Some(c) if c.marked.as_deref() != Some("closed") => Some(Action::Offer {
                    cohort: c.id,
                    name: c.name,
                }),
                Some(_) => {
                    add_error(&mut errors, "cohort", crate::usecases::cohorts::CLOSED);
                    None
                }
                None => {
                    add_error(&mut errors, "cohort", "Choose a cohort from the list.");
                    None
                }
            },
            None => {
                add_error(
                    &mut errors,
                    "cohort",
                    "Choose the cohort to offer seats in.",
                );
                None
            }
        },
        "email" => match text("template") {
            Some(t) if t == "stage_update" => Some(Action::Email { template: t }),
            _ => {
                add_error(
                    &mut errors,
                    "template",
                    "Choose the email to send: Tell the applicant their new stage and what comes next.",
                );
                None
            }
        },
        _ => {
            add_error(&mut errors, "action", "Choose what to do.");
            None
        }
    };
    let all = field(pairs, "scope") == "all";
    let picked: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.as_ref().ok().cloned())
        .collect();
    let mut ids: Vec<Uuid> = Vec::new();
    if all {
        let filter_pairs = form::query(Some(field(pairs, "filter").to_string()));
        match listing::filter(&filter_pairs, pipeline) {
            Ok(f) => {
                ids = applicants::matching_ids(&s.db, &f, s.db.now(), bulk::MAX_ROWS as i64 + 1)
                    .await?;
                if ids.len() > bulk::MAX_ROWS {
                    add_error(
                        &mut errors,
                        "scope",
                        format!(
                            "More than {} applicants match: narrow the filter first.",
                            bulk::MAX_ROWS
                        ),
                    );
                }
            }
            Err(_) => add_error(
                &mut errors,
                "scope",
                "The filter of this list is not valid.",
            ),
        }
    } else {
        for p in &picked {
            match p.parse() {
                Ok(id) => ids.push(id),
                Err(_) => add_error(&mut errors, "id", "A ticked row is not an applicant."),
            }
        }
    }
    if ids.is_empty() && !errors.contains_key("scope") {
        add_error(
            &mut errors,
            "id",
            "Tick at least one applicant, or choose all matching.",
        );
    }
    Ok(match (action, errors.is_empty()) {
        (Some(action), true) => Ok(BulkRequest { action, ids, all }),
        _ => Err(errors),
    })
}

/// Hidden fields that carry a bulk request from the list to the confirmation and the run.
fn carried(pairs: &form::Pairs) -> Vec<Value> {
    const KEEP: &[&str] = &[
        "action", "to", "reason", "template", "tag", "cohort", "scope", "filter", "id",
    ];
    pairs
        .iter()
        .filter(|(k, _)| KEEP.contains(&k.as_str()))
        .filter_map(|(k, v)| v.as_ref().ok().map(|v| json!({ "name": k, "value": v })))
        .collect()
}

/// `POST /admin/applicants/bulk`: the confirmation, with the count and what will be done.
pub async fn bulk_confirm(
    staff: Recruiter,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = read_form(&s, &headers, body).await?;
    let pipeline = s.pipeline()?;
    let back = href(
        "/admin/applicants",
        &form::query(Some(field(&pairs, "filter").to_string()))
            .into_iter()
            .filter_map(|(k, v)| {
                let k: &'static str = crate::domain::applicants::PARAMETERS
                    .iter()
                    .find(|p| **p == k)?;
                Some((k, v.ok()?))
            })
            .collect::<Vec<_>>(),
    );
    match bulk_request(&s, &pipeline, &pairs).await? {
        Ok(req) => {
            // To whom, by name: the first few, and how many more.
            const NAMED: usize = 10;
            let shown = &req.ids[..req.ids.len().min(NAMED)];
            let names = crate::store::applications::names(&s.db, shown).await?;
            let mut whom: Vec<String> = shown
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect();
            whom.sort();
            let more = req.ids.len().saturating_sub(whom.len());
            let final_stage = matches!(&req.action, Action::Move { to, .. }
                if pipeline.stage(to).is_some_and(|st| st.kind.is_final()));
            // "All matching" means these people, as counted here: the run acts on them only.
            let key = Uuid::new_v4();
            if req.all {
                bulk::remember_confirmed(&s.db, &run_key(&staff, &key.to_string()), &req.ids)
                    .await?;
            }
            Ok(staff.page(
                StatusCode::OK,
                "admin_bulk",
                "Confirm bulk action",
                "applicants",
                json!({
                    "confirm": true,
                    "whom": whom,
                    "more": more,
                    "final_stage": final_stage,
                    "count": req.ids.len(),
                    "all": req.all,
                    "what": req.action.describe(&pipeline),
                    "fields": carried(&pairs),
                    "key": key,
                    "back": back,
                    "report": null,
                    "errors": [],
                }),
            ))
        }
        Err(errors) => Ok(bulk_refused(&staff, &back, &errors)),
    }
}

/// A bulk request that cannot be carried out, with what is wrong, and the way back.
fn bulk_refused(staff: &Staff, back: &str, errors: &FieldErrors) -> Response {
    let (summary, _) = errors_context(errors);
    staff.page(
        StatusCode::UNPROCESSABLE_ENTITY,
        "admin_bulk",
        "Error: Bulk action",
        "applicants",
        json!({
            "confirm": false, "count": 0, "all": false, "what": "", "fields": [],
            "key": "", "back": back, "report": null, "errors": summary,
        }),
    )
}

/// The key a confirmation runs under: the staff member's own, so no one runs another's.
fn run_key(staff: &Staff, key: &str) -> String {
    format!("staff:{}:{key}", staff.id)
}

/// `POST /admin/applicants/bulk/run`: does it, once per confirmation (`key`), and reports.
pub async fn bulk_run(
    staff: Recruiter,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = read_form(&s, &headers, body).await?;
    let pipeline = s.pipeline()?;
    let key = field(&pairs, "key").to_string();
    let back = format!("/admin/applicants?{}", field(&pairs, "filter"));
    let mut errors = match key.parse::<Uuid>() {
        Ok(_) => FieldErrors::new(),
        Err(_) => {
            let mut e = FieldErrors::new();
            add_error(
                &mut e,
                "key",
                "This confirmation is not valid; start again from the list.",
            );
            e
        }
    };
    let req = match bulk_request(&s, &pipeline, &pairs).await? {
        Ok(r) => Some(r),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let (Some(mut req), true) = (req, errors.is_empty()) else {
        return Ok(bulk_refused(&staff, &back, &errors));
    };
    let run_key = run_key(&staff, &key);
    // "All matching" runs on the people confirmed, not on whoever matches now; how the list
    // changed meanwhile is told.
    let mut changed = json!(null);
    if req.all {
        let Some(confirmed) = bulk::confirmed(&s.db, &run_key).await? else {
            let mut e = FieldErrors::new();
            add_error(
                &mut e,
                "key",
                "This confirmation has expired or was not made here; start again from the list.",
            );
            return Ok(bulk_refused(&staff, &back, &e));
        };
        let now: std::collections::HashSet<Uuid> = req.ids.iter().copied().collect();
        let then: std::collections::HashSet<Uuid> = confirmed.iter().copied().collect();
        let joined = now.difference(&then).count();
        let left = then.difference(&now).count();
        if joined + left > 0 {
            changed = json!({ "joined": joined, "left": left });
        }
        req.ids = confirmed;
    }
    let report = bulk::run(
        &s.db,
        &s.settings,
        &pipeline,
        &actor(&staff),
        &run_key,
        &req.ids,
        &req.action,
    )
    .await?;
    if !report.repeated {
        s.metrics.bulk(req.action.name(), report.done);
        if let Action::Move { to, .. } = &req.action {
            s.metrics.moved(to, report.done);
        }
    }
    // People, by name: a list of ids tells a recruiter nothing.
    let ids: Vec<Uuid> = report.failed.iter().map(|f| f.id).collect();
    let names = crate::store::applications::names(&s.db, &ids).await?;
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|f| {
            let name = names.get(&f.id).map_or("(no longer here)", String::as_str);
            json!({ "id": f.id, "name": name, "reason": f.reason })
        })
        .collect();
    Ok(staff.page(
        StatusCode::OK,
        "admin_bulk",
        "Bulk action done",
        "applicants",
        json!({
            "confirm": false,
            "count": req.ids.len(),
            "all": req.all,
            "what": req.action.describe(&pipeline),
            "fields": [],
            "key": key,
            "back": back,
            "errors": [],
            "changed": changed,
            "report": {
                "done": report.done,
                "unchanged": report.unchanged,
                "failed": failed,
                "failed_count": report.failed.len(),
                "repeated": report.repeated,
            },
        }),
    ))
}
