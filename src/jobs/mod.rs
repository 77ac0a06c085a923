//! The scheduler: each job has a cron schedule; every instance computes the same fire times and
//! a tick runs on the instance that claims it in `job_runs`. A tick missed while no instance was
//! running is caught up once at start, not once per missed tick.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cron::Schedule;
use tokio::sync::watch;

use crate::config::Settings;
use crate::store::{jobs, Db};
use crate::usecases::reminders;

/// A job: its name in `job_runs`, and what one tick does (returning how many things it handled).
#[derive(Clone, Copy)]
pub enum Job {
    CloseQuizAttempts,
    LiveSnapshot,
    PromoteWaitlist,
    VerifyReminder,
    QuizReminder,
    OfferReminders,
    IdleNudge,
    RetentionPurge,
    WeeklyReport,
}

impl Job {
    pub const ALL: [Job; 9] = [
        Job::CloseQuizAttempts,
        Job::LiveSnapshot,
        Job::PromoteWaitlist,
        Job::VerifyReminder,
        Job::QuizReminder,
        Job::OfferReminders,
        Job::IdleNudge,
        Job::RetentionPurge,
        Job::WeeklyReport,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::CloseQuizAttempts => "close_quiz_attempts",
            Job::LiveSnapshot => "live_snapshot",
            Job::PromoteWaitlist => "promote_waitlist",
            Job::VerifyReminder => "verify_reminder",
            Job::QuizReminder => "quiz_reminder",
            Job::OfferReminders => "offer_reminders",
            Job::IdleNudge => "idle_nudge",
            Job::RetentionPurge => "retention_purge",
            Job::WeeklyReport => "weekly_report",
        }
    }

    /// The job named `name`, if there is one.
    pub fn by_name(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }

    /// Whether the configuration has the job run on its schedule (`ONRAMP_JOB_<NAME>_ENABLED`);
    /// on unless switched off.
    pub fn enabled(self, s: &Settings) -> bool {
        s.jobs.enabled.get(self.name()).copied().unwrap_or(true)
    }

    /// Whether the job runs on its schedule now: an admin's switch on /admin/jobs, over the
    /// configuration.
    pub async fn is_on(self, db: &Db, s: &Settings) -> anyhow::Result<bool> {
        Ok(jobs::switch(db, self.name())
            .await?
            .unwrap_or_else(|| self.enabled(s)))
    }

    /// The next `n` fire times after `after`, in the configured time zone.
    pub fn next_fires(
        self,
        s: &Settings,
        after: DateTime<Utc>,
        n: usize,
    ) -> anyhow::Result<Vec<DateTime<chrono_tz::Tz>>> {
        let schedule = Schedule::from_str(self.schedule(s))?;
        Ok(schedule
            .after(&after.with_timezone(&s.jobs.time_zone))
            .take(n)
            .collect())
    }

    pub fn schedule(self, s: &Settings) -> &str {
        match self {
            Job::CloseQuizAttempts => &s.jobs.close_quiz_attempts,
            Job::LiveSnapshot => &s.jobs.live_snapshot,
            Job::PromoteWaitlist => &s.jobs.promote_waitlist,
            Job::VerifyReminder => &s.jobs.verify_reminder,
            Job::QuizReminder => &s.jobs.quiz_reminder,
            Job::OfferReminders => &s.jobs.offer_reminders,
            Job::IdleNudge => &s.jobs.idle_nudge,
            Job::RetentionPurge => &s.jobs.retention_purge,
            Job::WeeklyReport => &s.jobs.weekly_report,
        }
    }

    pub async fn run(self, db: &Db, settings: &Settings) -> anyhow::Result<usize> {
        match self {
            Job::CloseQuizAttempts => {
                Ok(crate::usecases::assessment::close_expired(db, settings).await?)
            }
            Job::LiveSnapshot => {
                Ok(crate::usecases::reports::snapshot_live(db, db.now().date_naive()).await?)
            }
            Job::PromoteWaitlist => {
                Ok(crate::usecases::cohorts::promote_waitlist(db, settings, db.now()).await?)
            }
            Job::VerifyReminder => Ok(reminders::verify(db, settings, db.now()).await?),
            Job::QuizReminder => Ok(reminders::quiz(db, settings, db.now()).await?),
            Job::OfferReminders => Ok(reminders::offers(db, settings, db.now()).await?),
            Job::IdleNudge => Ok(reminders::idle(db, settings, db.now()).await?),
            Job::RetentionPurge => {
                Ok(crate::usecases::privacy::purge(db, settings, db.now()).await?)
            }
            Job::WeeklyReport => {
                Ok(crate::usecases::reports::weekly_report(db, settings, db.now()).await?)
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
    if !jobs::claim(db, job.name(), fire_at, db.now()).await? {
        return Ok(None);
    }
    let result = job.run(db, settings).await;
    let (outcome, items) = match &result {
        Ok(n) => ("ok".to_string(), *n as i64),
        Err(e) => (format!("error: {e:#}"), 0),
    };
    jobs::finish(db, job.name(), fire_at, db.now(), &outcome, items).await?;
    result.map(Some)
}

/// Runs one tick of `job` now, whether or not it is switched on (`onramp jobs run`), claimed
/// and recorded in `job_runs` like a scheduled tick: its fire time is this second. None when
/// another instance claimed that second first.
pub async fn run_now(db: &Db, settings: &Settings, job: Job) -> anyhow::Result<Option<usize>> {
    let fire_at = chrono::DurationRound::duration_trunc(db.now(), chrono::Duration::seconds(1))?;
    tick(db, settings, job, fire_at).await
}

/// Runs one job on its schedule, read in the configured time zone, from `since` (when the
/// instance started: a task that begins a moment later still runs a tick that fell due in
/// between) until `shutdown` turns true.
async fn run_job(
    db: Db,
    settings: Arc<Settings>,
    job: Job,
    since: DateTime<Utc>,
    mut shutdown: watch::Receiver<bool>,
) {
    let schedule = match Schedule::from_str(job.schedule(&settings)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(job = job.name(), error = %e, "bad schedule; job not running");
            return;
        }
    };
    let tz = settings.jobs.time_zone;
    let next_after = |t: DateTime<Utc>| {
        schedule
            .after(&t.with_timezone(&tz))
            .next()
            .map(|n| n.with_timezone(&Utc))
    };
    // Catch up: if ticks were missed since the last claimed one, run the newest of them that
    // is inside the catch-up window, once (a job's tick does all that is due, so one run
    // covers every missed tick).
    let on = |db: Db, settings: Arc<Settings>| async move {
        job.is_on(&db, &settings).await.unwrap_or_else(|e| {
            tracing::error!(job = job.name(), error = %e, "could not read the job's switch");
            false
        })
    };
    if !on(db.clone(), settings.clone()).await {
        tracing::info!(job = job.name(), "job switched off; no catch-up");
    } else if let Ok(Some(last)) = jobs::last_fire(&db, job.name()).await {
        let now = since;
        let window_start = now - settings.jobs.catch_up_window.duration();
        // Walk only the window's fire times (from just before it), never all since `last`.
        let from = last.max(window_start - chrono::Duration::seconds(1));
        let mut newest = None;
        let mut t = from;
        while let Some(n) = next_after(t).filter(|n| *n < now) {
            newest = Some(n);
            t = n;
        }
        if let Some(missed) = newest.filter(|t| *t >= window_start && *t > last) {
            if let Err(e) = tick(&db, &settings, job, missed).await {
                tracing::error!(job = job.name(), error = %e, "catch-up tick failed");
            }
        }
    }
    let mut after = since;
    loop {
        let Some(next) = next_after(after) else {
            return;
        };
        tokio::select! {
            _ = db.clock.sleep_until(next) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        // Ticks that fell due while this one ran are skipped, not run one after another.
        after = next.max(db.now());
        if !on(db.clone(), settings.clone()).await {
            tracing::debug!(job = job.name(), "job switched off; tick skipped");
            continue;
        }
        match tick(&db, &settings, job, next).await {
            Ok(Some(n)) => tracing::info!(job = job.name(), items = n, "job tick ran"),
            Ok(None) => tracing::debug!(job = job.name(), "tick claimed by another instance"),
            Err(e) => tracing::error!(job = job.name(), error = %e, "job tick failed"),
        }
        after = after.max(db.now());
    }
}

/// Starts every job, scheduled from `since` (the instance's start); they stop when
/// `shutdown` turns true.
pub fn spawn_all(
    db: Db,
    settings: Arc<Settings>,
    since: DateTime<Utc>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    // Every job, even one switched off: an admin may switch it on while it runs.
    Job::ALL
        .into_iter()
        .map(|job| {
            tokio::spawn(run_job(
                db.clone(),
                settings.clone(),
                job,
                since,
                shutdown.clone(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn schedules_are_read_in_the_configured_zone_across_daylight_saving() {
        let mut s = Settings::default();
        s.jobs.live_snapshot = "0 0 9 * * Mon".into();
        s.jobs.time_zone = chrono_tz::Europe::Stockholm;
        // Summer time ends on Sunday 2026-10-25: 9:00 in Stockholm is 07:00 UTC before and
        // 08:00 UTC after.
        let fires = Job::LiveSnapshot
            .next_fires(&s, at("2026-10-12T12:00:00Z"), 3)
            .unwrap();
        let utc: Vec<String> = fires
            .iter()
            .map(|f| f.with_timezone(&Utc).to_rfc3339())
            .collect();
        assert_eq!(
            utc,
            [
                "2026-10-19T07:00:00+00:00",
                "2026-10-26T08:00:00+00:00",
                "2026-11-02T08:00:00+00:00"
            ]
        );
        assert_eq!(fires[0].format("%:z").to_string(), "+02:00");
        assert_eq!(fires[1].format("%:z").to_string(), "+01:00");
        // And back on 2027-03-28.
        let spring = Job::LiveSnapshot
            .next_fires(&s, at("2027-03-23T12:00:00Z"), 2)
            .unwrap();
        assert_eq!(spring[0].with_timezone(&Utc), at("2027-03-29T07:00:00Z"));
        assert_eq!(spring[1].with_timezone(&Utc), at("2027-04-05T07:00:00Z"));
    }

    #[test]
    fn jobs_are_on_unless_switched_off_and_found_by_name() {
        let mut s = Settings::default();
        assert!(Job::ALL.iter().all(|j| j.enabled(&s)));
        s.jobs.enabled.insert("live_snapshot".into(), false);
        assert!(!Job::LiveSnapshot.enabled(&s));
        assert!(Job::by_name("promote_waitlist").is_some());
        assert!(Job::by_name("nope").is_none());
    }
}
