//! Pilot cohorts for staff: the list with a form to make one, and a cohort's page: its seats
//! and status, everyone offered a seat, and the onboarding grid (members × checklist items,
//! tickable on a phone) with activation, one member or every ready one at once, and pause,
//! resume and offboard with a reason. Recruiters and admins act; managers read.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field, Recruiter, Staff};
use crate::domain::cohorts::{parse_cohort, CohortStatus};
use crate::domain::{add_error, iso, time, FieldErrors};
use crate::store::cohorts::{self as store, CohortRow};
use crate::usecases::cohorts::{self, CreateFailure, MarkFailure};
use crate::usecases::onboarding::{self, Step, StepFailure, Ticker};
use crate::web::pages::{errors_context, errors_context_in};
use crate::web::{form, AppState, PageError};

fn status_of(c: &CohortRow, today: chrono::NaiveDate) -> CohortStatus {
    CohortStatus::of(c.start_date, c.marked.as_deref(), today)
}

fn actor(staff: &Staff) -> String {
    format!("staff:{}", staff.id)
}

fn options(list: &[(&str, &str)], current: &str) -> Vec<Value> {
    list.iter()
        .map(|(v, l)| json!({ "value": v, "label": l, "selected": *v == current }))
        .collect()
}

/// The fields of the new-cohort form, as typed.
const FORM_FIELDS: &[&str] = &[
    "name",
    "market",
    "language",
    "start_date",
    "capacity",
    "waitlist",
];

/// Cohorts a page of the list shows.
const PAGE_SIZE: i64 = 50;

/// The list's filters and cursor, from the query: `market`, `status` and `after`. Unreadable
/// ones are named by their label.
struct ListQuery {
    market: Option<String>,
    status: Option<&'static str>,
    after: Option<(chrono::NaiveDate, Uuid)>,
}

fn list_query(q: &form::Pairs, errors: &mut FieldErrors) -> ListQuery {
    let text = |k: &str| form::first(q, k).filter(|v| !v.is_empty());
    let market = text("market").and_then(|m| {
        let m = m.to_ascii_uppercase();
        if iso::country_name(&m).is_some() {
            Some(m)
        } else {
            add_error(errors, "filter_market", "Choose a market from the list.");
            None
        }
    });
    let status = text("status").and_then(|v| {
        let found = CohortStatus::ALL
            .iter()
            .map(|st| st.as_str())
            .find(|st| *st == v);
        if found.is_none() {
            add_error(
                errors,
                "filter_status",
                "Choose a status from the list: planned, onboarding, live or closed.",
            );
        }
        found
    });
    let after = text("after").and_then(|a| {
        let cursor = a
            .split_once('_')
            .and_then(|(d, id)| Some((d.parse().ok()?, id.parse().ok()?)));
        if cursor.is_none() {
            add_error(
                errors,
                "after",
                "This page link is not valid; start again from the first page.",
            );
        }
        cursor
    });
    ListQuery {
        market,
        status,
        after,
    }
}

/// The support languages, those spoken in the markets first, each part by name.
fn language_options(s: &AppState, current: &str) -> Value {
    let mut ours: Vec<(&str, &str)> = Vec::new();
    for m in &s.settings.markets {
        for code in iso::languages_of_market(&m.country) {
            if let Some(name) = iso::language_name(code) {
                if !ours.iter().any(|(c, _)| c == code) {
                    ours.push((code, name));
                }
            }
        }
    }
    ours.sort_by_key(|(_, n)| *n);
    let mut rest: Vec<(&str, &str)> = iso::LANGUAGES
        .iter()
        .filter(|(c, _)| !ours.iter().any(|(o, _)| o == c))
        .copied()
        .collect();
    rest.sort_by_key(|(_, n)| *n);
    json!({ "ours": options(&ours, current), "rest": options(&rest, current) })
}

async fn list_page(
    staff: &Staff,
    s: &AppState,
    query: &form::Pairs,
    kept: &form::Pairs,
    errors: &FieldErrors,
) -> Result<Response, PageError> {
    let today = s.db.now().date_naive();
    let mut errors = errors.clone();
    let q = list_query(query, &mut errors);
    let mut found = store::page(
        &s.db,
        q.market.as_deref(),
        q.status,
        today,
        q.after,
        PAGE_SIZE + 1,
    )
    .await?;
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let mut keep: Vec<(&str, String)> = Vec::new();
    if let Some(m) = &q.market {
        keep.push(("market", m.clone()));
    }
    if let Some(st) = q.status {
        keep.push(("status", st.to_string()));
    }
    let first_page = q.after.is_some().then(|| {
        format!(
            "/admin/cohorts?{}",
            crate::web::listing::query_string(&keep)
        )
    });
    let next_page = found.last().filter(|_| more).map(|c| {
        let mut k = keep.clone();
        k.push(("after", format!("{}_{}", c.start_date, c.id)));
        format!("/admin/cohorts?{}", crate::web::listing::query_string(&k))
    });
    let errors = &errors;
    let rows: Vec<Value> = found
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "name": c.name,
                "market": iso::country_name(&c.market).unwrap_or(&c.market),
                "language": iso::language_name(&c.language).unwrap_or(&c.language),
                "start": time::date_of(c.start_date), "status": status_of(c, today).as_str(),
                "seats": format!("{} of {}", c.seats_taken, c.capacity),
                "owner": c.owner_email, "waitlist": c.waitlist,
            })
        })
        .collect();
    let kept_value = |k: &str| form::first(kept, k).unwrap_or("").to_string();
    let markets: Vec<(&str, &str)> = s
        .settings
        .markets
        .iter()
        .map(|m| {
            (
                m.country.as_str(),
                iso::country_name(&m.country).unwrap_or(&m.country),
            )
        })
        .collect();
    let (summary, fe) = errors_context_in(errors, FORM_FIELDS);
    let form: serde_json::Map<String, Value> = FORM_FIELDS
        .iter()
        .map(|f| (f.to_string(), json!(kept_value(f))))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let statuses: Vec<(&str, &str)> = CohortStatus::ALL
        .iter()
        .map(|st| (st.as_str(), st.as_str()))
        .collect();
    Ok(staff.page(
        status,
        "admin_cohorts",
        &crate::web::pages::form_title("Cohorts", errors),
        "cohorts",
        json!({
            "rows": rows, "may_act": staff.may_recruit(), "errors": summary, "fe": fe,
            "form": form, "markets": options(&markets, &kept_value("market")),
            "languages": language_options(s, &kept_value("language")),
            "filter_markets": options(&markets, q.market.as_deref().unwrap_or("")),
            "filter_statuses": options(&statuses, q.status.unwrap_or("")),
            "filtered": q.market.is_some() || q.status.is_some(),
            "first_page": first_page, "next_page": next_page,
        }),
    ))
}

/// `GET /admin/cohorts`: a page of the list (`market`, `status`, `after`), and the form.
pub async fn list(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = form::query(query);
    list_page(&staff, &s, &query, &Vec::new(), &FieldErrors::new()).await
}

/// `POST /admin/cohorts`: makes a cohort owned by the staff member, or shows the form again
/// with every wrong field named and the values kept.
pub async fn create(
    Recruiter(staff): Recruiter,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let capacity = field(&pairs, "capacity");
    let body = json!({
        "name": field(&pairs, "name").trim(),
        "market": field(&pairs, "market"),
        "language": field(&pairs, "language"),
        "start_date": field(&pairs, "start_date"),
        "capacity": capacity.parse::<i64>().map(Value::from).unwrap_or(json!(capacity)),
        "waitlist": field(&pairs, "waitlist") == "on",
    });
    let new = match parse_cohort(&body) {
        Ok(n) => n,
        Err(errors) => return list_page(&staff, &s, &Vec::new(), &pairs, &errors).await,
    };
    match cohorts::create(&s.db, &actor(&staff), Some(staff.id), &new, s.db.now()).await {
        Ok(c) => Ok(Redirect::to(&format!("/admin/cohorts/{}?done=created", c.id)).into_response()),
        Err(CreateFailure::Invalid(errors)) => {
            list_page(&staff, &s, &Vec::new(), &pairs, &errors).await
        }
        Err(CreateFailure::Store(e)) => Err(e.into()),
    }
}

const NOT_FOUND: &str = "There is no such cohort.";

/// What a cohort page shows besides the cohort: a refusal, or the outcome of an action.
#[derive(Default)]
struct Shown {
    errors: FieldErrors,
    notice: Option<String>,
    status: Option<StatusCode>,
    /// The grid as the recruiter left it when a save was refused.
    typed: Option<TypedGrid>,
}

/// The grid's ticks, (member, item), and each member's bandwidth figure, as typed.
#[derive(Default)]
struct TypedGrid {
    ticks: std::collections::HashSet<(Uuid, String)>,
    bandwidth: std::collections::HashMap<Uuid, String>,
}

async fn detail_page(
    staff: &Staff,
    s: &AppState,
    id: Uuid,
    shown: Shown,
) -> Result<Response, PageError> {
    let Some((cohort, checklist, members)) = cohorts::read(&s.db, id).await? else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    let ticks = store::ticks_of_cohort(&s.db, id).await?;
    let status = status_of(&cohort, s.db.now().date_naive());
    let tz = s.settings.time_zone(&cohort.market);
    let items: Vec<Value> = checklist
        .iter()
        .map(|i| {
            json!({ "key": i.key, "label": i.label, "required": i.required,
                    "applicant": i.ticked_by == "applicant" })
        })
        .collect();
    let mut ready = 0;
    let rows: Vec<Value> = members
        .iter()
        .map(|m| {
            let seated = m.offer_status == "accepted";
            let mine: Vec<_> = ticks
                .iter()
                .filter(|t| t.application_id == m.application_id)
                .collect();
            let cells: Vec<Value> = checklist
                .iter()
                .map(|i| {
                    let t = mine.iter().find(|t| t.item_key == i.key);
                    // `was` is the state the form is drawn with: a save changes only the cells
                    // the recruiter changed, never a tick made elsewhere meanwhile.
                    let (done, value) = match &shown.typed {
                        Some(g) => (
                            g.ticks.contains(&(m.application_id, i.key.clone())),
                            g.bandwidth.get(&m.application_id).map(|v| json!(v)),
                        ),
                        None => (t.is_some(), t.and_then(|t| t.value).map(|v| json!(v))),
                    };
                    json!({
                        "key": i.key, "label": i.label, "done": done, "was": t.is_some(),
                        "records": i.records.is_some(), "value": value,
                    })
                })
                .collect();
            let missing = checklist
                .iter()
                .filter(|i| i.required && !mine.iter().any(|t| t.item_key == i.key))
                .count();
            let can_activate = seated && m.stage == "onboarding" && missing == 0;
            if can_activate {
                ready += 1;
            }
            json!({
                "id": m.application_id, "name": m.full_name, "stage": m.stage,
                "offer": m.offer_status, "seated": seated, "cells": cells,
                "missing": missing, "can_activate": can_activate,
                "live": m.stage == "live", "paused": m.stage == "paused",
                "went_live": m.went_live_at.map(|t| time::date(t, tz)),
                "expires": time::date_time(m.expires_at, tz),
            })
        })
        .collect();
    let (summary, fe) = errors_context(&shown.errors);
    let code = shown.status.unwrap_or(if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    });
    Ok(staff.page(
        code,
        "admin_cohort",
        &crate::web::pages::form_title(&cohort.name, &shown.errors),
        "cohorts",
        json!({
            "id": cohort.id, "name": cohort.name,
            "market": iso::country_name(&cohort.market).unwrap_or(&cohort.market),
            "language": iso::language_name(&cohort.language).unwrap_or(&cohort.language),
            "start": time::date_of(cohort.start_date), "status": status.as_str(),
            "capacity": cohort.capacity, "seats_taken": cohort.seats_taken,
            "seats_free": cohort.capacity - cohort.seats_taken,
            "owner": cohort.owner_email, "waitlist": cohort.waitlist,
            "may_act": staff.may_recruit(),
            "may_go_live": status == CohortStatus::Onboarding,
            "may_close": status != CohortStatus::Closed,
            "closed": status == CohortStatus::Closed,
            "items": items, "rows": rows, "ready": ready,
            "seated": members.iter().filter(|m| m.offer_status == "accepted").count(),
            "errors": summary, "fe": fe, "notice": shown.notice,
        }),
    ))
}

fn cohort_id(raw: &str) -> Option<Uuid> {
    raw.parse().ok()
}

/// `GET /admin/cohorts/{id}`
pub async fn detail(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(id) = cohort_id(&id) else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    let pairs = form::query(query);
    let notice = match field(&pairs, "done") {
        "created" => Some("The cohort is made, with the onboarding checklist from the template. Offer its seats from the applicant list: filter to the shortlist, tick applicants, and choose “Offer a cohort seat”."),
        "status" => Some("The cohort's status is changed."),
        "ticks" => Some("The checklist is saved."),
        "step" => Some("Done: the member's stage is changed."),
        _ => None,
    };
    let shown = Shown {
        notice: notice.map(str::to_string),
        ..Shown::default()
    };
    detail_page(&staff, &s, id, shown).await
}

fn one_error(field: &str, message: impl Into<String>, status: StatusCode) -> Shown {
    let mut errors = FieldErrors::new();
    add_error(&mut errors, field, message);
    Shown {
        errors,
        notice: None,
        status: Some(status),
        typed: None,
    }
}

/// `POST /admin/cohorts/{id}/status`: mark it live or closed.
pub async fn set_status(
    Recruiter(staff): Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let Some(id) = cohort_id(&id) else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    let to = field(&pairs, "status");
    if !matches!(to, "live" | "closed") {
        let shown = one_error(
            "status",
            "Choose to mark the cohort live or closed.",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        return detail_page(&staff, &s, id, shown).await;
    }
    if to == "closed" {
        if let Some(c) = store::get(&s.db, id).await? {
            let title = format!("Close {}?", c.name);
            let what = format!(
                "{} stops taking offers: open offers and the waitlist can no longer be \
                 accepted, and its members who are not live yet keep their place but no one \
                 new joins. A closed cohort cannot be opened again.",
                c.name
            );
            let button = format!("Yes, close {}", c.name);
            let back = format!("/admin/cohorts/{id}");
            let ask = super::Confirm {
                title: &title,
                what: &what,
                button: &button,
                action: &format!("/admin/cohorts/{id}/status"),
                back: &back,
                section: "cohorts",
            };
            if let Some(page) = staff.confirm_first(&pairs, ask) {
                return Ok(page);
            }
        }
    }
    match cohorts::mark(&s.db, &actor(&staff), id, to, s.db.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/cohorts/{id}?done=status")).into_response()),
        Err(MarkFailure::NoCohort) => Ok(staff.not_found(NOT_FOUND)),
        Err(MarkFailure::Refused(why)) => {
            detail_page(
                &staff,
                &s,
                id,
                one_error("status", why, StatusCode::CONFLICT),
            )
            .await
        }
        Err(MarkFailure::Store(e)) => Err(e.into()),
    }
}

/// `POST /admin/cohorts/{id}/activate`: every ready member goes live; the page says who did
/// and who is not ready, and why.
pub async fn activate_ready(
    Recruiter(staff): Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let Some(id) = cohort_id(&id) else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    if store::get(&s.db, id).await?.is_none() {
        return Ok(staff.not_found(NOT_FOUND));
    }
    let pipeline = s.pipeline()?;
    let done = cohorts::activate_ready(&s.db, &pipeline, &actor(&staff), id, s.db.now()).await?;
    let mut notice = format!("{} member(s) activated.", done.live.len());
    if !done.not_ready.is_empty() {
        notice.push_str(&format!(
            " {} not ready: {}",
            done.not_ready.len(),
            done.not_ready
                .iter()
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let shown = Shown {
        notice: Some(notice),
        ..Shown::default()
    };
    detail_page(&staff, &s, id, shown).await
}

/// `POST /admin/cohorts/{id}/members/{member}/checklist`: the member's row of the grid. Each
/// item ticked in the form is done, each other one not; items that did not change are left
/// alone. A bandwidth figure comes with the equipment check.
pub async fn save_ticks(
    Recruiter(staff): Recruiter,
    State(s): State<AppState>,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let (Some(id), Some(member)) = (cohort_id(&id), cohort_id(&member)) else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    let checklist = store::checklist(&s.db, id).await?;
    let done_now: Vec<(String, Option<f64>)> = store::ticks_of_cohort(&s.db, id)
        .await?
        .into_iter()
        .filter(|t| t.application_id == member)
        .map(|t| (t.item_key, t.value))
        .collect();
    let wanted: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "item")
        .filter_map(|(_, v)| v.as_deref().ok())
        .collect();
    let bandwidth_raw = field(&pairs, "bandwidth_mbps");
    let actor = actor(&staff);
    for item in &checklist {
        let want = wanted.contains(&item.key.as_str());
        let has = done_now.iter().find(|(k, _)| *k == item.key);
        let value = match figure_for(item, want, bandwidth_raw) {
            Ok(v) => v,
            Err(m) => return detail_page(&staff, &s, id, figure_refused(m)).await,
        };
        // Unchanged: done and wanted with the same figure, or neither.
        if has.is_some() == want && has.is_none_or(|(_, v)| *v == value || value.is_none()) {
            continue;
        }
        match onboarding::tick(
            &s.db,
            Ticker::Staff(&actor),
            member,
            &item.key,
            want,
            value,
            s.db.now(),
        )
        .await
        {
            Ok(_) => {}
            Err(e) => return step_refused(&staff, &s, id, e).await,
        }
    }
    Ok(Redirect::to(&format!("/admin/cohorts/{id}?done=ticks#member-{member}")).into_response())
}

/// `POST /admin/cohorts/{id}/checklist`: the whole grid in one form, so ticks in other rows
/// are saved with the row whose Save was pressed. Fields: `item` = `{member}:{key}` for each
/// ticked cell, `was` = the same for each cell ticked when the page was drawn, and
/// `bandwidth_mbps-{member}`. Only cells whose tick differs from `was` change (or whose figure
/// changed), so a tick the applicant made meanwhile is never undone. Nothing is saved when a
/// cell is refused, and the grid comes back as it was typed.
pub async fn save_grid(
    Recruiter(staff): Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let Some(id) = cohort_id(&id) else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    let cells = |name: &str| -> std::collections::HashSet<(Uuid, String)> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref().ok())
            .filter_map(|v| v.split_once(':'))
            .filter_map(|(m, k)| Some((m.parse().ok()?, k.to_string())))
            .collect()
    };
    let (wanted, was) = (cells("item"), cells("was"));
    let mut typed = TypedGrid {
        ticks: wanted.clone(),
        ..TypedGrid::default()
    };
    for (k, v) in &pairs {
        if let (Some(m), Ok(v)) = (k.strip_prefix("bandwidth_mbps-"), v) {
            if let Ok(m) = m.parse::<Uuid>() {
                typed.bandwidth.insert(m, v.trim().to_string());
            }
        }
    }
    let checklist = store::checklist(&s.db, id).await?;
    let ticks = store::ticks_of_cohort(&s.db, id).await?;
    let members: std::collections::BTreeSet<Uuid> =
        wanted.iter().chain(&was).map(|(m, _)| *m).collect();
    // Every change is read and checked first; then they are made.
    let mut changes = Vec::new();
    for member in &members {
        for item in &checklist {
            let cell = (*member, item.key.clone());
            let want = wanted.contains(&cell);
            let figure = typed.bandwidth.get(member).map_or("", String::as_str);
            let value = match figure_for(item, want, figure) {
                Ok(v) => v,
                Err(m) => {
                    let shown = Shown {
                        typed: Some(typed),
                        ..figure_refused(m)
                    };
                    return detail_page(&staff, &s, id, shown).await;
                }
            };
            let stored = ticks
                .iter()
                .find(|t| t.application_id == *member && t.item_key == item.key);
            let figure_changed =
                want && value.is_some() && stored.is_some_and(|t| t.value != value);
            if want != was.contains(&cell) || figure_changed {
                changes.push((*member, item.key.clone(), want, value));
            }
        }
    }
    let actor = actor(&staff);
    for (member, key, want, value) in changes {
        if let Err(e) = onboarding::tick(
            &s.db,
            Ticker::Staff(&actor),
            member,
            &key,
            want,
            value,
            s.db.now(),
        )
        .await
        {
            return step_refused(&staff, &s, id, e).await;
        }
    }
    Ok(Redirect::to(&format!("/admin/cohorts/{id}?done=ticks#grid-heading")).into_response())
}

/// The figure a tick of `item` records (the bandwidth with the equipment check), read from
/// what was typed, or the refusal naming it (see `figure_refused`). None for an item without
/// one, or when unticking.
fn figure_for(item: &store::ItemRow, want: bool, typed: &str) -> Result<Option<f64>, String> {
    if item.records.is_none() || !want {
        return Ok(None);
    }
    typed
        .replace(',', ".")
        .parse::<f64>()
        .map(Some)
        .map_err(|_| {
            format!(
                "Enter the measured bandwidth in Mbit/s to tick \"{}\".",
                item.label
            )
        })
}

fn figure_refused(message: String) -> Shown {
    one_error("bandwidth_mbps", message, StatusCode::UNPROCESSABLE_ENTITY)
}

async fn step_refused(
    staff: &Staff,
    s: &AppState,
    id: Uuid,
    e: StepFailure,
) -> Result<Response, PageError> {
    let shown = match e {
        StepFailure::Invalid(errors) => Shown {
            errors,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..Shown::default()
        },
        StepFailure::Refused(errors) => Shown {
            errors,
            status: Some(StatusCode::CONFLICT),
            ..Shown::default()
        },
        StepFailure::NotFound(why) => one_error("member", why, StatusCode::NOT_FOUND),
        StepFailure::Store(e) => return Err(e.into()),
    };
    detail_page(staff, s, id, shown).await
}

/// `POST /admin/cohorts/{id}/members/{member}/step`: `step` is activate, pause, resume or
/// offboard; the last three need `reason`.
pub async fn step(
    Recruiter(staff): Recruiter,
    State(s): State<AppState>,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let (Some(id), Some(member)) = (cohort_id(&id), cohort_id(&member)) else {
        return Ok(staff.not_found(NOT_FOUND));
    };
    let step = match field(&pairs, "step") {
        "activate" => Step::Activate,
        "pause" => Step::Pause,
        "resume" => Step::Resume,
        "offboard" => Step::Offboard,
        _ => {
            let shown = one_error(
                "step",
                "Choose activate, pause, resume or offboard.",
                StatusCode::UNPROCESSABLE_ENTITY,
            );
            return detail_page(&staff, &s, id, shown).await;
        }
    };
    let reason = if step == Step::Activate {
        None
    } else {
        match onboarding::parse_reason(Some(field(&pairs, "reason"))) {
            Ok(r) => Some(r),
            Err(errors) => return step_refused(&staff, &s, id, StepFailure::Invalid(errors)).await,
        }
    };
    if step == Step::Offboard {
        let name = crate::store::applications::get(&s.db, member)
            .await
            .map(|a| a.full_name)
            .unwrap_or_default();
        let title = format!("Offboard {name}?");
        let what = format!(
            "{name} stops working as an agent (reason: {}). They leave the live count today, \
             and offboarded is final: they cannot be made live again.",
            reason.as_deref().unwrap_or("")
        );
        let button = format!("Yes, offboard {name}");
        let back = format!("/admin/cohorts/{id}#member-{member}");
        let ask = super::Confirm {
            title: &title,
            what: &what,
            button: &button,
            action: &format!("/admin/cohorts/{id}/members/{member}/step"),
            back: &back,
            section: "cohorts",
        };
        if let Some(page) = staff.confirm_first(&pairs, ask) {
            return Ok(page);
        }
    }
    let pipeline = s.pipeline()?;
    match onboarding::take(
        &s.db,
        &pipeline,
        &actor(&staff),
        member,
        step,
        reason.as_deref(),
        s.db.now(),
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/cohorts/{id}?done=step#member-{member}")).into_response(),
        ),
        Err(e) => step_refused(&staff, &s, id, e).await,
    }
}
