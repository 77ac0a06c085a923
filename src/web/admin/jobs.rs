//! The scheduled jobs for admins: each job's schedule, whether it is on, its next fire time and
//! its last runs (outcome, items, duration, errors), with "Run now" and a switch that turns it
//! off or on for every instance.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::{field, Staff};
use crate::email::dispatcher::OUTBOX_DISPATCH;
use crate::jobs::Job;
use crate::store::audit::{self, Entry};
use crate::store::jobs as store;
use crate::web::{form, AppState, PageError};

const RUNS_SHOWN: i64 = 5;

/// `GET /admin/jobs`
pub async fn list(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(q);
    let notice = match field(&pairs, "done") {
        "ran" => Some("The job ran; its run is at the top of its list."),
        "other" => Some("Another instance ran the job this second."),
        "on" => Some("The job is switched on for every instance."),
        "off" => Some("The job is switched off for every instance: its ticks are skipped."),
        "paused" => Some("Sending is paused on every instance: email waits in the outbox."),
        "resumed" => Some("Sending resumed: the outbox sends what waited."),
        _ => None,
    };
    let at = s.db.now();
    let tz = s.settings.jobs.time_zone;
    let mut rows: Vec<Value> = Vec::new();
    for job in Job::ALL {
        let on = job.is_on(&s.db, &s.settings).await?;
        let switched = store::switch(&s.db, job.name()).await?.is_some();
        let next = job.next_fires(&s.settings, at, 1).ok().and_then(|f| {
            f.first()
                .map(|t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string())
        });
        let runs: Vec<Value> = store::recent_runs(&s.db, job.name(), RUNS_SHOWN)
            .await?
            .into_iter()
            .map(|r| {
                let took = r
                    .finished_at
                    .map(|f| format!("{:.1} s", (f - r.started_at).num_milliseconds() as f64 / 1000.0));
                json!({
                    "fire_at": r.fire_at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %:z").to_string(),
                    "outcome": r.outcome.unwrap_or_else(|| "running".into()),
                    "items": r.items, "took": took,
                })
            })
            .collect();
        rows.push(json!({
            "name": job.name(), "schedule": job.schedule(&s.settings), "on": on,
            "by_admin": switched, "next": next, "runs": runs,
        }));
    }
    let sending = store::switch(&s.db, OUTBOX_DISPATCH).await? != Some(false);
    Ok(staff.page(
        StatusCode::OK,
        "admin_jobs",
        "Scheduled jobs",
        "jobs",
        json!({ "rows": rows, "notice": notice, "time_zone": tz.name(), "sending": sending }),
    ))
}

const NO_JOB: &str = "There is no such job.";

/// `POST /admin/jobs/{name}/run`: one tick now, claimed and recorded like a scheduled one.
pub async fn run(
    staff: Staff,
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let Some(job) = Job::by_name(&name) else {
        return Ok(staff.not_found(NO_JOB));
    };
    // A tick that fails is recorded with its error, which the page shows.
    let done = match crate::jobs::run_now(&s.db, &s.settings, job).await {
        Ok(Some(_)) | Err(_) => "ran",
        Ok(None) => "other",
    };
    let mut tx = s.db.begin().await?;
    audit::record(
        &mut tx,
        Entry {
            actor: &format!("staff:{}", staff.id),
            action: "job.run",
            subject: &format!("job:{name}"),
            before: None,
            after: Some(json!({ "claimed": done == "ran" })),
        },
        s.db.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/jobs?done={done}#job-{name}")).into_response())
}

/// `POST /admin/jobs/{name}/switch` with `enabled=true|false`.
pub async fn switch(
    staff: Staff,
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let enabled = match field(&pairs, "enabled") {
        "true" => true,
        "false" => false,
        _ => {
            return Ok(staff.error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose to switch the job on or off.",
            ))
        }
    };
    // The outbox dispatcher has a switch too: off pauses all sending.
    let before = match Job::by_name(&name) {
        Some(job) => job.is_on(&s.db, &s.settings).await?,
        None if name == OUTBOX_DISPATCH => {
            store::switch(&s.db, OUTBOX_DISPATCH).await? != Some(false)
        }
        None => return Ok(staff.not_found(NO_JOB)),
    };
    let at = s.db.now();
    let mut tx = s.db.begin().await?;
    store::set_switch(&mut tx, &name, enabled, &format!("staff:{}", staff.id), at).await?;
    audit::record(
        &mut tx,
        Entry {
            actor: &format!("staff:{}", staff.id),
            action: "job.switch",
            subject: &format!("job:{name}"),
            before: Some(json!({ "enabled": before })),
            after: Some(json!({ "enabled": enabled })),
        },
        at,
    )
    .await?;
    tx.commit().await?;
    let done = match (name == OUTBOX_DISPATCH, enabled) {
        (true, true) => "resumed",
        (true, false) => "paused",
        (false, true) => "on",
        (false, false) => "off",
    };
    Ok(Redirect::to(&format!("/admin/jobs?done={done}#job-{name}")).into_response())
}
