//! The scheduler: each job has a cron schedule; every instance computes the same fire times and
//! a tick runs on the instance that claims it in `job_runs`. A tick missed while no instance was
//! running is caught up once at start, not once per missed tick.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cron::Schedule;
use tokio::sync::watch;

use crate::config::Settings;
use crate::domain::now;
use crate::store::{jobs, Db};

/// A job: its name in `job_runs`, and what one tick does (returning how many things it handled).
#[derive(Clone, Copy)]
pub enum Job {
    CloseQuizAttempts,
    LiveSnapshot,
    PromoteWaitlist,
}

impl Job {
    pub const ALL: [Job; 3] = [
        Job::CloseQuizAttempts,
        Job::LiveSnapshot,
        Job::PromoteWaitlist,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::CloseQuizAttempts => "close_quiz_attempts",
            Job::LiveSnapshot => "live_snapshot",
            Job::PromoteWaitlist => "promote_waitlist",
        }
    }

    fn schedule(self, s: &Settings) -> &str {
        match self {
            Job::CloseQuizAttempts => &s.jobs.close_quiz_attempts,
            Job::LiveSnapshot => &s.jobs.live_snapshot,
            Job::PromoteWaitlist => &s.jobs.promote_waitlist,
        }
    }

    pub async fn run(self, db: &Db, settings: &Settings) -> anyhow::Result<usize> {
        match self {
            Job::CloseQuizAttempts => {
                Ok(crate::usecases::assessment::close_expired(db, settings).await?)
            }
            Job::LiveSnapshot => {
                Ok(crate::usecases::reports::snapshot_live(db, now().date_naive()).await?)
            }
            Job::PromoteWaitlist => {
                Ok(crate::usecases::cohorts::promote_waitlist(db, settings, now()).await?)
            }
        }
    }
}

/// Runs `job`'s tick at `fire_at` if this instance claims it.
pub async fn tick(
    db: &Db,
    settings: &Settings,
    job: Job,
    fire_at: DateTime<Utc>,
) -> anyhow::Result<Option<usize>> {
    if !jobs::claim(db, job.name(), fire_at, now()).await? {
        return Ok(None);
    }
    let result = job.run(db, settings).await;
    let (outcome, items) = match &result {
        Ok(n) => ("ok".to_string(), *n as i64),
        Err(e) => (format!("error: {e:#}"), 0),
    };
    jobs::finish(db, job.name(), fire_at, now(), &outcome, items).await?;
    result.map(Some)
}

/// Runs one job on its schedule until `shutdown` turns true.
async fn run_job(db: Db, settings: Arc<Settings>, job: Job, mut shutdown: watch::Receiver<bool>) {
    let schedule = match Schedule::from_str(job.schedule(&settings)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(job = job.name(), error = %e, "bad schedule; job not running");
            return;
        }
    };
    // Catch up: if the tick after the last claimed one is already past, run it once now.
    if let Ok(Some(last)) = jobs::last_fire(&db, job.name()).await {
        if let Some(missed) = schedule.after(&last).next().filter(|t| *t < now()) {
            if let Err(e) = tick(&db, &settings, job, missed).await {
                tracing::error!(job = job.name(), error = %e, "catch-up tick failed");
            }
        }
    }
    loop {
        let Some(next) = schedule.after(&now()).next() else {
            return;
        };
        let wait = (next - now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        match tick(&db, &settings, job, next).await {
            Ok(Some(n)) => tracing::info!(job = job.name(), items = n, "job tick ran"),
            Ok(None) => tracing::debug!(job = job.name(), "tick claimed by another instance"),
            Err(e) => tracing::error!(job = job.name(), error = %e, "job tick failed"),
        }
    }
}

/// Starts every job; they stop when `shutdown` turns true.
pub fn spawn_all(
    db: Db,
    settings: Arc<Settings>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    Job::ALL
        .into_iter()
        .map(|job| tokio::spawn(run_job(db.clone(), settings.clone(), job, shutdown.clone())))
        .collect()
}
