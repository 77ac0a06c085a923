//! One `Settings` struct: built-in defaults, then an optional TOML file, then environment variables.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::domain::screening::{default_markets, default_rules, Market, Rule};
use crate::domain::time::Span;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the web server listens on.
    pub bind: SocketAddr,
    /// Public address used in links in emails. Defaults to `http://{bind}`.
    pub base_url: Option<String>,
    /// Serves `/metrics` (and `/healthz`) on this address of its own, without a token. Off by
    /// default.
    pub metrics_bind: Option<SocketAddr>,
    /// With this bearer token, `/metrics` also answers on the public port. Unset: it does not.
    pub metrics_token: Option<String>,
    /// How often the gauges (applications by status, emails by state) are counted again. A
    /// scrape itself never reads the database.
    pub metrics_refresh_secs: u64,
    /// `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// Most database connections this instance opens (PostgreSQL; SQLite uses one writer and up
    /// to 4 readers).
    pub database_max_connections: u32,
    /// Folder for the SQLite database (by default) and `.eml` files of the Files mailer.
    pub data_dir: PathBuf,
    /// Load the demo data from `seed/` when the database is empty.
    pub seed_demo: bool,
    /// Folder with the demo data.
    pub seed_dir: PathBuf,
    /// A file holding the bootstrap admin's password (read on the first start only). Unset: a
    /// password is generated, printed once, and must be changed at the first sign-in.
    pub bootstrap_password_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A client must send a request's headers within this many seconds, or it is disconnected.
    pub header_read_timeout_secs: u64,
    /// A whole request, its body read included, must be done within this many seconds (408).
    pub request_timeout_secs: u64,
    /// Most client connections open at once; more wait in the listen backlog.
    pub max_open_connections: usize,
    /// Most connections open at once from one client address (not counting trusted proxies).
    pub max_connections_per_address: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed, to find the client's address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Requests a minute per client address, for signup, link emails and sign-in.
    pub rate_limits: crate::web::limits::RateLimitSettings,
    /// How long an email verification link stays valid.
    pub verify_token_ttl_hours: i64,
    /// How long an applicant's status and quiz links stay valid.
    pub status_token_ttl_days: i64,
    /// How long a cohort offer (and its accept and decline links) stays open: `72h`, `3d`.
    pub offer_ttl: crate::domain::time::Span,
    /// Shortest gap between two verification emails to one applicant.
    pub verify_resend_cooldown_secs: i64,
    /// Answers saved this long after a quiz's deadline still count (slow networks, a late click).
    pub quiz_grace_secs: i64,
    /// How long a staff sign-in lasts.
    pub staff_session_hours: i64,
    /// Failed sign-ins in a row after which a client address is locked out of sign-in.
    pub sign_in_lock_after: i64,
    /// How long such a lock lasts, and how long failures count as in a row.
    pub sign_in_lock_minutes: i64,
    /// Attempts a question version needs before item analysis flags it.
    pub analysis_min_attempts: i64,
    /// Complete weeks the replacement forecast fits.
    pub forecast_weeks: usize,
    /// People each group needs before the fairness report flags a low impact ratio.
    pub fairness_min_group: i64,
    /// Cron schedules (six fields, seconds first) of the scheduled jobs.
    pub jobs: JobSettings,
    pub mail: MailSettings,
    pub outbox: OutboxSettings,
    /// Countries we hire in, each with the fewest weekly hours we can schedule and its time zone.
    pub markets: Vec<Market>,
    /// The age applicants confirm they have reached; the form and the rule's reason show it.
    pub min_age: u32,
    /// Knockout rules, checked in order at signup.
    pub screening_rules: Vec<Rule>,
    /// The stages after the quiz: admin-defined review stages and the reasons a rejection gives.
    pub pipeline: crate::domain::pipeline::PipelineSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://user:pass@host:587?tls=required` etc. Without it, mail is written to files.
    pub smtp_url: Option<String>,
    pub from: String,
    pub reply_to: Option<String>,
    /// Upper bound on one SMTP send, connection included.
    pub send_timeout_secs: u64,
    /// Without SMTP, mail is written to files in `data_dir/mail`; they are deleted after this
    /// many days, since they hold live links.
    pub file_retention_days: u64,
    /// Connections kept open to the SMTP server, and sends in flight at once.
    pub pool_size: u32,
    /// First emails (a new signup's verification link) sent per hour to one recipient domain;
    /// more wait. The big webmail domains are exempt.
    pub first_emails_per_domain_per_hour: i64,
    /// Emails of any kind sent per minute to one recipient domain, across instances; more
    /// wait their turn (0: no limit). Essential mail is claimed before reminders, so a flood of
    /// reminders never delays a verification link.
    pub per_domain_per_minute: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Closes and scores quiz attempts whose time ran out.
    pub close_quiz_attempts: String,
    /// Stores the live pilot agents per market for the day (the replacement report's series).
    pub live_snapshot: String,
    /// Offers seats that are free again to the next people on their cohort's waitlist.
    pub promote_waitlist: String,
    /// Reminds applicants who have not confirmed their email, and closes (`expired`) those
    /// who never do.
    pub verify_reminder: String,
    /// Invites verified applicants to a quiz that now exists for them, and reminds those who
    /// have not started it.
    pub quiz_reminder: String,
    /// Reminds applicants of offers about to expire and releases expired ones; reminds
    /// members before their cohort starts.
    pub offer_reminders: String,
    /// Nudges applicants idle in a stage longer than the stage's limit (`idle_limits`).
    pub idle_nudge: String,
    /// Anonymises applications that ended `retention_months` ago (agents offboarded
    /// `agent_retention_months` ago) and deletes old webhook deliveries.
    pub retention_purge: String,
    /// Emails every manager the last week's figures (Monday morning, in `time_zone`).
    pub weekly_report: String,
    /// Months after which an application that ended (rejected, withdrawn, expired, failed the
    /// quiz, or left on the waitlist of a closed cohort) is anonymised, and after which webhook
    /// deliveries are deleted.
    pub retention_months: u32,
    /// Months after which an offboarded agent's application is anonymised.
    pub agent_retention_months: u32,
    /// The verification reminder goes this long after the last verification email.
    pub verify_reminder_after: Span,
    /// Still unconfirmed this long after the last verification email: the application
    /// expires.
    pub verify_expire_after: Span,
    /// The quiz reminder goes this long after the invitation if no attempt started...
    pub quiz_reminder_after: Span,
    /// ...and the last one this long after it.
    pub quiz_last_reminder_after: Span,
    /// A pending offer's reminder goes this long before it expires.
    pub offer_reminder_before: Span,
    /// Members get a reminder this long before their cohort starts...
    pub start_reminder_before: Span,
    /// ...and the last one this long before.
    pub start_last_reminder_before: Span,
    /// Jobs switched on or off by name (`[jobs.enabled] live_snapshot = false`); a job not
    /// named is on.
    pub enabled: std::collections::BTreeMap<String, bool>,
    /// The zone schedules are read in (`Europe/Stockholm`): "9 o'clock" is 9 there, summer
    /// and winter.
    pub time_zone: chrono_tz::Tz,
    /// A tick missed while no instance ran is caught up once at start, if it is not older
    /// than this.
    pub catch_up_window: crate::domain::time::Span,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            close_quiz_attempts: "0 * * * * *".into(),
            live_snapshot: "0 55 23 * * *".into(),
            promote_waitlist: "15 * * * * *".into(),
            verify_reminder: "20 */10 * * * *".into(),
            quiz_reminder: "25 */10 * * * *".into(),
            offer_reminders: "30 */10 * * * *".into(),
            idle_nudge: "0 0 10 * * *".into(),
            retention_purge: "0 30 3 * * *".into(),
            weekly_report: "0 0 8 * * Mon".into(),
            retention_months: 6,
            agent_retention_months: 24,
            verify_reminder_after: Span::hours(24),
            verify_expire_after: Span::hours(7 * 24),
            quiz_reminder_after: Span::hours(2 * 24),
            quiz_last_reminder_after: Span::hours(5 * 24),
            offer_reminder_before: Span::hours(24),
            start_reminder_before: Span::hours(3 * 24),
            start_last_reminder_before: Span::hours(24),
            enabled: Default::default(),
            time_zone: chrono_tz::UTC,
            catch_up_window: crate::domain::time::Span::hours(6),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// How often the dispatcher looks for due mail when the queue was empty.
    pub poll_interval_ms: u64,
    /// Rows claimed per round.
    pub batch_size: i64,
    /// How long a claimed row is reserved for one dispatcher.
    pub lease_secs: i64,
    /// First retry delay; doubles with each attempt.
    pub retry_base_secs: f64,
    /// Longest retry delay.
    pub retry_max_secs: f64,
    /// Attempts before a temporarily failing row is marked failed.
    pub max_attempts: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("valid default address"),
            base_url: None,
            metrics_bind: None,
            metrics_token: None,
            metrics_refresh_secs: 15,
            database_url: "sqlite://data/onramp.db".into(),
            database_max_connections: crate::store::DEFAULT_MAX_CONNECTIONS,
            data_dir: "data".into(),
            seed_demo: true,
            seed_dir: "seed".into(),
            bootstrap_password_file: None,
            max_body_bytes: 64 * 1024,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            max_open_connections: 512,
            max_connections_per_address: 32,
            trusted_proxies: Vec::new(),
            rate_limits: Default::default(),
            verify_token_ttl_hours: 7 * 24,
            status_token_ttl_days: 30,
            offer_ttl: crate::domain::time::Span::hours(72),
            verify_resend_cooldown_secs: 600,
            quiz_grace_secs: 30,
            staff_session_hours: 12,
            sign_in_lock_after: 10,
            sign_in_lock_minutes: 15,
            analysis_min_attempts: 30,
            forecast_weeks: crate::domain::reports::FORECAST_WEEKS,
            fairness_min_group: 30,
            jobs: JobSettings::default(),
            mail: MailSettings::default(),
            outbox: OutboxSettings::default(),
            markets: default_markets(),
            min_age: 18,
            screening_rules: default_rules(),
            pipeline: Default::default(),
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "onramp hiring <hiring@onramp.localhost>".into(),
            reply_to: None,
            send_timeout_secs: 15,
            file_retention_days: 7,
            pool_size: 4,
            first_emails_per_domain_per_hour: 200,
            per_domain_per_minute: 600,
        }
    }
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 500,
            batch_size: 32,
            lease_secs: 300,
            retry_base_secs: 30.0,
            retry_max_secs: 3600.0,
            max_attempts: 12,
        }
    }
}

/// Environment variables that override the file, with the setting each one sets. The README lists
/// the same table.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "ONRAMP_CONFIG",
        "path of the TOML file (default onramp.toml, optional)",
    ),
    ("ONRAMP_BIND", "bind"),
    ("ONRAMP_BASE_URL", "base_url"),
    ("ONRAMP_METRICS_BIND", "metrics_bind"),
    ("ONRAMP_METRICS_TOKEN", "metrics_token"),
    ("ONRAMP_METRICS_REFRESH_SECS", "metrics_refresh_secs"),
    ("DATABASE_URL", "database_url"),
    (
        "ONRAMP_DATABASE_MAX_CONNECTIONS",
        "database_max_connections",
    ),
    ("ONRAMP_DATA_DIR", "data_dir"),
    ("ONRAMP_SEED_DEMO", "seed_demo"),
    ("ONRAMP_SEED_DIR", "seed_dir"),
    ("ONRAMP_BOOTSTRAP_PASSWORD_FILE", "bootstrap_password_file"),
    ("ONRAMP_MAX_BODY_BYTES", "max_body_bytes"),
    (
        "ONRAMP_HEADER_READ_TIMEOUT_SECS",
        "header_read_timeout_secs",
    ),
    ("ONRAMP_REQUEST_TIMEOUT_SECS", "request_timeout_secs"),
    ("ONRAMP_MAX_OPEN_CONNECTIONS", "max_open_connections"),
    (
        "ONRAMP_MAX_CONNECTIONS_PER_ADDRESS",
        "max_connections_per_address",
    ),
    (
        "ONRAMP_TRUSTED_PROXIES",
        "trusted_proxies (comma-separated addresses)",
    ),
    (
        "ONRAMP_RATE_SIGNUP_PER_MINUTE",
        "rate_limits.signup.per_minute",
    ),
    ("ONRAMP_RATE_SIGNUP_BURST", "rate_limits.signup.burst"),
    (
        "ONRAMP_RATE_API_SIGNUP_PER_MINUTE",
        "rate_limits.api_signup.per_minute",
    ),
    (
        "ONRAMP_RATE_API_SIGNUP_BURST",
        "rate_limits.api_signup.burst",
    ),
    (
        "ONRAMP_RATE_LINKS_PER_MINUTE",
        "rate_limits.links.per_minute",
    ),
    ("ONRAMP_RATE_LINKS_BURST", "rate_limits.links.burst"),
    (
        "ONRAMP_RATE_SIGN_IN_PER_MINUTE",
        "rate_limits.sign_in.per_minute",
    ),
    ("ONRAMP_RATE_SIGN_IN_BURST", "rate_limits.sign_in.burst"),
    ("ONRAMP_VERIFY_TOKEN_TTL_HOURS", "verify_token_ttl_hours"),
    ("ONRAMP_STATUS_TOKEN_TTL_DAYS", "status_token_ttl_days"),
    ("ONRAMP_OFFER_TTL", "offer_ttl"),
    (
        "ONRAMP_VERIFY_RESEND_COOLDOWN_SECS",
        "verify_resend_cooldown_secs",
    ),
    ("ONRAMP_QUIZ_GRACE_SECS", "quiz_grace_secs"),
    ("ONRAMP_STAFF_SESSION_HOURS", "staff_session_hours"),
    ("ONRAMP_SIGN_IN_LOCK_AFTER", "sign_in_lock_after"),
    ("ONRAMP_SIGN_IN_LOCK_MINUTES", "sign_in_lock_minutes"),
    ("ONRAMP_MIN_AGE", "min_age"),
    ("ONRAMP_ANALYSIS_MIN_ATTEMPTS", "analysis_min_attempts"),
    ("ONRAMP_JOB_CLOSE_QUIZ_ATTEMPTS", "jobs.close_quiz_attempts"),
    ("ONRAMP_JOB_LIVE_SNAPSHOT", "jobs.live_snapshot"),
    ("ONRAMP_JOB_PROMOTE_WAITLIST", "jobs.promote_waitlist"),
    ("ONRAMP_JOB_VERIFY_REMINDER", "jobs.verify_reminder"),
    ("ONRAMP_JOB_QUIZ_REMINDER", "jobs.quiz_reminder"),
    ("ONRAMP_JOB_OFFER_REMINDERS", "jobs.offer_reminders"),
    ("ONRAMP_JOB_IDLE_NUDGE", "jobs.idle_nudge"),
    ("ONRAMP_JOB_RETENTION_PURGE", "jobs.retention_purge"),
    ("ONRAMP_JOB_WEEKLY_REPORT", "jobs.weekly_report"),
    (
        "ONRAMP_JOB_CLOSE_QUIZ_ATTEMPTS_ENABLED",
        "jobs.enabled.close_quiz_attempts",
    ),
    (
        "ONRAMP_JOB_LIVE_SNAPSHOT_ENABLED",
        "jobs.enabled.live_snapshot",
    ),
    (
        "ONRAMP_JOB_PROMOTE_WAITLIST_ENABLED",
        "jobs.enabled.promote_waitlist",
    ),
    (
        "ONRAMP_JOB_VERIFY_REMINDER_ENABLED",
        "jobs.enabled.verify_reminder",
    ),
    (
        "ONRAMP_JOB_QUIZ_REMINDER_ENABLED",
        "jobs.enabled.quiz_reminder",
    ),
    (
        "ONRAMP_JOB_OFFER_REMINDERS_ENABLED",
        "jobs.enabled.offer_reminders",
    ),
    ("ONRAMP_JOB_IDLE_NUDGE_ENABLED", "jobs.enabled.idle_nudge"),
    (
        "ONRAMP_JOB_RETENTION_PURGE_ENABLED",
        "jobs.enabled.retention_purge",
    ),
    (
        "ONRAMP_JOB_WEEKLY_REPORT_ENABLED",
        "jobs.enabled.weekly_report",
    ),
    (
        "ONRAMP_IDLE_LIMITS",
        "pipeline.idle_limits (stage=span, comma-separated: quiz_passed=5d,shortlisted=7d)",
    ),
    ("ONRAMP_RETENTION_MONTHS", "jobs.retention_months"),
    (
        "ONRAMP_AGENT_RETENTION_MONTHS",
        "jobs.agent_retention_months",
    ),
    ("ONRAMP_VERIFY_REMINDER_AFTER", "jobs.verify_reminder_after"),
    ("ONRAMP_VERIFY_EXPIRE_AFTER", "jobs.verify_expire_after"),
    ("ONRAMP_QUIZ_REMINDER_AFTER", "jobs.quiz_reminder_after"),
    (
        "ONRAMP_QUIZ_LAST_REMINDER_AFTER",
        "jobs.quiz_last_reminder_after",
    ),
    ("ONRAMP_OFFER_REMINDER_BEFORE", "jobs.offer_reminder_before"),
    ("ONRAMP_START_REMINDER_BEFORE", "jobs.start_reminder_before"),
    (
        "ONRAMP_START_LAST_REMINDER_BEFORE",
        "jobs.start_last_reminder_before",
    ),
    ("ONRAMP_TIME_ZONE", "jobs.time_zone"),
    ("ONRAMP_JOB_CATCH_UP_WINDOW", "jobs.catch_up_window"),
    ("ONRAMP_FORECAST_WEEKS", "forecast_weeks"),
    ("ONRAMP_FAIRNESS_MIN_GROUP", "fairness_min_group"),
    ("SMTP_URL", "mail.smtp_url"),
    ("ONRAMP_MAIL_FROM", "mail.from"),
    ("ONRAMP_MAIL_REPLY_TO", "mail.reply_to"),
    ("ONRAMP_SMTP_TIMEOUT_SECS", "mail.send_timeout_secs"),
    ("ONRAMP_SMTP_POOL_SIZE", "mail.pool_size"),
    (
        "ONRAMP_MAIL_FILE_RETENTION_DAYS",
        "mail.file_retention_days",
    ),
    (
        "ONRAMP_FIRST_EMAILS_PER_DOMAIN_PER_HOUR",
        "mail.first_emails_per_domain_per_hour",
    ),
    (
        "ONRAMP_MAIL_PER_DOMAIN_PER_MINUTE",
        "mail.per_domain_per_minute",
    ),
    ("ONRAMP_OUTBOX_POLL_MS", "outbox.poll_interval_ms"),
    ("ONRAMP_OUTBOX_BATCH", "outbox.batch_size"),
    ("ONRAMP_OUTBOX_LEASE_SECS", "outbox.lease_secs"),
    ("ONRAMP_OUTBOX_RETRY_BASE_SECS", "outbox.retry_base_secs"),
    ("ONRAMP_OUTBOX_RETRY_MAX_SECS", "outbox.retry_max_secs"),
    ("ONRAMP_OUTBOX_MAX_ATTEMPTS", "outbox.max_attempts"),
];

impl Settings {
    /// Defaults, then the TOML file (if present), then the environment.
    pub fn load() -> anyhow::Result<Self> {
        let explicit = std::env::var("ONRAMP_CONFIG").ok();
        let path = explicit.clone().unwrap_or_else(|| "onramp.toml".into());
        let mut s = if Path::new(&path).exists() {
            Self::from_toml_file(Path::new(&path))?
        } else if explicit.is_some() {
            bail!("ONRAMP_CONFIG names {path}, which does not exist");
        } else {
            Self::default()
        };
        s.apply_env(|k| std::env::var(k).ok())?;
        s.check()?;
        Ok(s)
    }

    pub fn from_toml_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> anyhow::Result<T>
        where
            T::Err: std::fmt::Display,
        {
            v.trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("{key}={v:?} is not valid: {e}"))
        }
        macro_rules! set {
            ($key:literal, $field:expr) => {
                if let Some(v) = get($key) {
                    $field = parse($key, v)?;
                }
            };
            ($key:literal, opt $field:expr) => {
                if let Some(v) = get($key) {
                    $field = (!v.trim().is_empty()).then(|| v.trim().to_string());
                }
            };
        }
        set!("ONRAMP_BIND", self.bind);
        set!("ONRAMP_BASE_URL", opt self.base_url);
        set!("ONRAMP_METRICS_TOKEN", opt self.metrics_token);
        set!("ONRAMP_METRICS_REFRESH_SECS", self.metrics_refresh_secs);
        if let Some(v) = get("ONRAMP_METRICS_BIND") {
            self.metrics_bind = match v.trim() {
                "" => None,
                addr => Some(parse("ONRAMP_METRICS_BIND", addr.to_string())?),
            };
        }
        set!("DATABASE_URL", self.database_url);
        set!(
            "ONRAMP_DATABASE_MAX_CONNECTIONS",
            self.database_max_connections
        );
        set!("ONRAMP_DATA_DIR", self.data_dir);
        set!("ONRAMP_SEED_DEMO", self.seed_demo);
        set!("ONRAMP_SEED_DIR", self.seed_dir);
        if let Some(v) = get("ONRAMP_BOOTSTRAP_PASSWORD_FILE") {
            self.bootstrap_password_file = (!v.trim().is_empty()).then(|| v.trim().into());
        }
        set!("ONRAMP_MAX_BODY_BYTES", self.max_body_bytes);
        set!(
            "ONRAMP_HEADER_READ_TIMEOUT_SECS",
            self.header_read_timeout_secs
        );
        set!("ONRAMP_REQUEST_TIMEOUT_SECS", self.request_timeout_secs);
        set!("ONRAMP_MAX_OPEN_CONNECTIONS", self.max_open_connections);
        set!(
            "ONRAMP_MAX_CONNECTIONS_PER_ADDRESS",
            self.max_connections_per_address
        );
        if let Some(v) = get("ONRAMP_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| parse("ONRAMP_TRUSTED_PROXIES", a.to_string()))
                .collect::<anyhow::Result<_>>()?;
        }
        let r = &mut self.rate_limits;
        set!("ONRAMP_RATE_SIGNUP_PER_MINUTE", r.signup.per_minute);
        set!("ONRAMP_RATE_SIGNUP_BURST", r.signup.burst);
        set!("ONRAMP_RATE_API_SIGNUP_PER_MINUTE", r.api_signup.per_minute);
        set!("ONRAMP_RATE_API_SIGNUP_BURST", r.api_signup.burst);
        set!("ONRAMP_RATE_LINKS_PER_MINUTE", r.links.per_minute);
        set!("ONRAMP_RATE_LINKS_BURST", r.links.burst);
        set!("ONRAMP_RATE_SIGN_IN_PER_MINUTE", r.sign_in.per_minute);
        set!("ONRAMP_RATE_SIGN_IN_BURST", r.sign_in.burst);
        set!("ONRAMP_VERIFY_TOKEN_TTL_HOURS", self.verify_token_ttl_hours);
        set!("ONRAMP_STATUS_TOKEN_TTL_DAYS", self.status_token_ttl_days);
        set!("ONRAMP_OFFER_TTL", self.offer_ttl);
        set!(
            "ONRAMP_VERIFY_RESEND_COOLDOWN_SECS",
            self.verify_resend_cooldown_secs
        );
        set!("ONRAMP_QUIZ_GRACE_SECS", self.quiz_grace_secs);
        set!("ONRAMP_STAFF_SESSION_HOURS", self.staff_session_hours);
        set!("ONRAMP_SIGN_IN_LOCK_AFTER", self.sign_in_lock_after);
        set!("ONRAMP_SIGN_IN_LOCK_MINUTES", self.sign_in_lock_minutes);
        set!("ONRAMP_MIN_AGE", self.min_age);
        set!("ONRAMP_ANALYSIS_MIN_ATTEMPTS", self.analysis_min_attempts);
        set!(
            "ONRAMP_JOB_CLOSE_QUIZ_ATTEMPTS",
            self.jobs.close_quiz_attempts
        );
        set!("ONRAMP_JOB_LIVE_SNAPSHOT", self.jobs.live_snapshot);
        set!("ONRAMP_JOB_PROMOTE_WAITLIST", self.jobs.promote_waitlist);
        set!("ONRAMP_JOB_VERIFY_REMINDER", self.jobs.verify_reminder);
        set!("ONRAMP_JOB_QUIZ_REMINDER", self.jobs.quiz_reminder);
        set!("ONRAMP_JOB_OFFER_REMINDERS", self.jobs.offer_reminders);
        set!("ONRAMP_JOB_IDLE_NUDGE", self.jobs.idle_nudge);
        set!("ONRAMP_JOB_RETENTION_PURGE", self.jobs.retention_purge);
        set!("ONRAMP_JOB_WEEKLY_REPORT", self.jobs.weekly_report);
        set!("ONRAMP_RETENTION_MONTHS", self.jobs.retention_months);
        set!(
            "ONRAMP_AGENT_RETENTION_MONTHS",
            self.jobs.agent_retention_months
        );
        if let Some(v) = get("ONRAMP_IDLE_LIMITS") {
            let mut limits = std::collections::BTreeMap::new();
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((stage, span)) = pair.split_once('=') else {
                    bail!("ONRAMP_IDLE_LIMITS: write stage=span pairs such as shortlisted=7d, not {pair:?}");
                };
                let span: Span = span
                    .parse()
                    .map_err(|e| anyhow::anyhow!("ONRAMP_IDLE_LIMITS: {}: {e}", stage.trim()))?;
                limits.insert(stage.trim().to_string(), span);
            }
            self.pipeline.idle_limits = limits;
        }
        let j = &mut self.jobs;
        set!("ONRAMP_VERIFY_REMINDER_AFTER", j.verify_reminder_after);
        set!("ONRAMP_VERIFY_EXPIRE_AFTER", j.verify_expire_after);
        set!("ONRAMP_QUIZ_REMINDER_AFTER", j.quiz_reminder_after);
        set!(
            "ONRAMP_QUIZ_LAST_REMINDER_AFTER",
            j.quiz_last_reminder_after
        );
        set!("ONRAMP_OFFER_REMINDER_BEFORE", j.offer_reminder_before);
        set!("ONRAMP_START_REMINDER_BEFORE", j.start_reminder_before);
        set!(
            "ONRAMP_START_LAST_REMINDER_BEFORE",
            j.start_last_reminder_before
        );
        for job in crate::jobs::Job::ALL {
            let key = format!("ONRAMP_JOB_{}_ENABLED", job.name().to_ascii_uppercase());
            if let Some(v) = get(&key) {
                let on = match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    _ => bail!("{key}: use true or false, not {v:?}"),
                };
                self.jobs.enabled.insert(job.name().to_string(), on);
            }
        }
        set!("ONRAMP_TIME_ZONE", self.jobs.time_zone);
        set!("ONRAMP_JOB_CATCH_UP_WINDOW", self.jobs.catch_up_window);
        set!("ONRAMP_FORECAST_WEEKS", self.forecast_weeks);
        set!("ONRAMP_FAIRNESS_MIN_GROUP", self.fairness_min_group);
        set!("SMTP_URL", opt self.mail.smtp_url);
        set!("ONRAMP_MAIL_FROM", self.mail.from);
        set!("ONRAMP_MAIL_REPLY_TO", opt self.mail.reply_to);
        set!("ONRAMP_SMTP_TIMEOUT_SECS", self.mail.send_timeout_secs);
        set!("ONRAMP_SMTP_POOL_SIZE", self.mail.pool_size);
        set!(
            "ONRAMP_MAIL_FILE_RETENTION_DAYS",
            self.mail.file_retention_days
        );
        set!(
            "ONRAMP_FIRST_EMAILS_PER_DOMAIN_PER_HOUR",
            self.mail.first_emails_per_domain_per_hour
        );
        set!(
            "ONRAMP_MAIL_PER_DOMAIN_PER_MINUTE",
            self.mail.per_domain_per_minute
        );
        set!("ONRAMP_OUTBOX_POLL_MS", self.outbox.poll_interval_ms);
        set!("ONRAMP_OUTBOX_BATCH", self.outbox.batch_size);
        set!("ONRAMP_OUTBOX_LEASE_SECS", self.outbox.lease_secs);
        set!("ONRAMP_OUTBOX_RETRY_BASE_SECS", self.outbox.retry_base_secs);
        set!("ONRAMP_OUTBOX_RETRY_MAX_SECS", self.outbox.retry_max_secs);
        set!("ONRAMP_OUTBOX_MAX_ATTEMPTS", self.outbox.max_attempts);
        Ok(())
    }

    /// Rejects settings that would only fail later, with the setting's name.
    pub fn check(&self) -> anyhow::Result<()> {
        let r = &self.rate_limits;
        r.signup.check("signup")?;
        r.api_signup.check("api_signup")?;
        r.links.check("links")?;
        r.sign_in.check("sign_in")?;
        crate::domain::pipeline::Pipeline::new(&self.pipeline).map_err(anyhow::Error::msg)?;
        if self.sign_in_lock_after < 1 || self.sign_in_lock_minutes < 1 {
            bail!("sign_in_lock_after and sign_in_lock_minutes: use at least 1");
        }
        if self.metrics_refresh_secs == 0 {
            bail!("metrics_refresh_secs (ONRAMP_METRICS_REFRESH_SECS): use at least 1");
        }
        if self.request_timeout_secs == 0 {
            bail!("request_timeout_secs (ONRAMP_REQUEST_TIMEOUT_SECS): use at least 1");
        }
        if self.header_read_timeout_secs == 0 {
            bail!("header_read_timeout_secs (ONRAMP_HEADER_READ_TIMEOUT_SECS): use at least 1");
        }
        if self.max_open_connections == 0 {
            bail!("max_open_connections (ONRAMP_MAX_OPEN_CONNECTIONS): use at least 1");
        }
        if self.max_connections_per_address == 0 {
            bail!(
                "max_connections_per_address (ONRAMP_MAX_CONNECTIONS_PER_ADDRESS): use at least 1"
            );
        }
        if self.markets.is_empty() {
            bail!("markets: list at least one hiring market");
        }
        for m in &self.markets {
            if crate::domain::iso::country_name(&m.country).is_none() {
                bail!(
                    "markets: {:?} is not an ISO 3166-1 alpha-2 country code",
                    m.country
                );
            }
        }
        if self.database_max_connections == 0 {
            bail!("database_max_connections: use at least 1");
        }
        let j = &self.jobs;
        if j.retention_months == 0 {
            bail!("jobs.retention_months (ONRAMP_RETENTION_MONTHS): use at least 1");
        }
        if j.agent_retention_months == 0 {
            bail!("jobs.agent_retention_months (ONRAMP_AGENT_RETENTION_MONTHS): use at least 1");
        }
        if j.verify_expire_after.duration() <= j.verify_reminder_after.duration() {
            bail!("jobs.verify_expire_after (ONRAMP_VERIFY_EXPIRE_AFTER) must be longer than jobs.verify_reminder_after (ONRAMP_VERIFY_REMINDER_AFTER)");
        }
        if j.quiz_last_reminder_after.duration() <= j.quiz_reminder_after.duration() {
            bail!("jobs.quiz_last_reminder_after (ONRAMP_QUIZ_LAST_REMINDER_AFTER) must be longer than jobs.quiz_reminder_after (ONRAMP_QUIZ_REMINDER_AFTER)");
        }
        if j.start_last_reminder_before.duration() >= j.start_reminder_before.duration() {
            bail!("jobs.start_last_reminder_before (ONRAMP_START_LAST_REMINDER_BEFORE) must be shorter than jobs.start_reminder_before (ONRAMP_START_REMINDER_BEFORE)");
        }
        if self.mail.pool_size == 0 || self.outbox.batch_size <= 0 {
            bail!("mail.pool_size and outbox.batch_size must be at least 1");
        }
        // A claimed batch is sent pool_size at a time, each send bounded by the timeout; the
        // lease must outlast that, or another instance could claim and send the same email.
        let longest_round = (self.outbox.batch_size as u64).div_ceil(self.mail.pool_size as u64)
            * self.mail.send_timeout_secs
            + 30;
        if (self.outbox.lease_secs.max(0) as u64) < longest_round {
            bail!(
                "outbox.lease_secs must be at least {longest_round} s with this batch size, pool \
                 size and send timeout, so a lease cannot run out during a send"
            );
        }
        for r in &self.screening_rules {
            let mut rest = r.reason.as_str();
            while let Some(start) = rest.find('{') {
                let end = rest[start..]
                    .find('}')
                    .map_or(rest.len(), |e| start + e + 1);
                let placeholder = &rest[start..end];
                if !crate::domain::screening::REASON_PLACEHOLDERS.contains(&placeholder) {
                    bail!(
                        "screening_rules: the reason of {:?} uses {placeholder}; use one of {}",
                        r.id,
                        crate::domain::screening::REASON_PLACEHOLDERS.join(", ")
                    );
                }
                rest = &rest[end..];
            }
        }
        if !(14..=99).contains(&self.min_age) {
            bail!("min_age: use an age from 14 to 99");
        }
        let mut ids: Vec<&str> = self.screening_rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            bail!("screening_rules: the rule id {:?} is used twice", w[0]);
        }
        let names: Vec<&str> = crate::jobs::Job::ALL.iter().map(|j| j.name()).collect();
        if let Some(unknown) = self
            .jobs
            .enabled
            .keys()
            .find(|k| !names.contains(&k.as_str()))
        {
            bail!(
                "jobs.enabled: there is no job {unknown:?}; the jobs are {}",
                names.join(", ")
            );
        }
        for (name, schedule) in [
            ("close_quiz_attempts", &self.jobs.close_quiz_attempts),
            ("live_snapshot", &self.jobs.live_snapshot),
            ("promote_waitlist", &self.jobs.promote_waitlist),
        ] {
            if let Err(e) = schedule.parse::<cron::Schedule>() {
                bail!(
                    "jobs.{name}: {schedule:?} is not a cron schedule (six fields, seconds first): {e}"
                );
            }
        }
        if !(1..=104).contains(&self.forecast_weeks) {
            bail!("forecast_weeks: use 1 to 104 weeks");
        }
        if self.fairness_min_group < 1 {
            bail!("fairness_min_group: use at least 1");
        }
        if !(0..=600).contains(&self.quiz_grace_secs) {
            bail!("quiz_grace_secs: use 0 to 600 seconds");
        }
        if self
            .metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().chars().count() < 16)
        {
            bail!("metrics_token: use at least 16 characters, like the output of `openssl rand -hex 16`");
        }
        if self.analysis_min_attempts < 1 {
            bail!("analysis_min_attempts: use at least 1");
        }
        if self.staff_session_hours <= 0 {
            bail!("staff_session_hours: use at least 1 hour");
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("mail.from: {:?} is not a valid mailbox", self.mail.from);
        }
        Ok(())
    }

    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.mail.send_timeout_secs)
    }

    pub fn is_hiring_market(&self, country: &str) -> bool {
        self.market(country).is_some()
    }

    pub fn market(&self, country: &str) -> Option<&Market> {
        self.markets.iter().find(|m| m.country == country)
    }

    /// The zone an applicant from `country` reads times in: their market's, else UTC.
    pub fn time_zone(&self, country: &str) -> chrono_tz::Tz {
        self.market(country).map_or(chrono_tz::UTC, |m| m.time_zone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_file_overrides_defaults() {
        let mut s: Settings = toml::from_str(
            r#"
            bind = "0.0.0.0:9000"
            database_url = "sqlite://x.db"
            [mail]
            pool_size = 2
            [[markets]]
            country = "SE"
            min_weekly_hours = 12
            time_zone = "Europe/Stockholm"
            "#,
        )
        .unwrap();
        assert_eq!(s.mail.pool_size, 2);
        assert_eq!(s.markets.len(), 1);
        assert_eq!(s.markets[0].time_zone, chrono_tz::Europe::Stockholm);
        assert_eq!(s.verify_token_ttl_hours, 168);
        let env: HashMap<&str, &str> = [("ONRAMP_BIND", "127.0.0.1:7000"), ("SMTP_URL", "")]
            .into_iter()
            .collect();
        s.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(s.bind.port(), 7000);
        assert_eq!(s.database_url, "sqlite://x.db");
        assert!(s.mail.smtp_url.is_none());
        s.check().unwrap();
    }

    #[test]
    fn rejects_a_lease_shorter_than_a_round_and_duplicate_rule_ids() {
        let mut s = Settings::default();
        s.outbox.lease_secs = 60;
        let err = s.check().unwrap_err().to_string();
        assert!(err.contains("outbox.lease_secs"), "{err}");
        let mut s = Settings::default();
        let first = s.screening_rules[0].clone();
        s.screening_rules.push(first);
        let err = s.check().unwrap_err().to_string();
        assert!(err.contains("used twice"), "{err}");
        Settings::default().check().unwrap();
    }

    #[test]
    fn a_bad_pipeline_is_refused_at_start_naming_the_setting() {
        let mut s = Settings::default();
        s.check().unwrap();
        s.pipeline.review_stages[0].id = "Phone Screen".into();
        let err = s.check().unwrap_err().to_string();
        assert!(err.contains("pipeline.review_stages"), "{err}");
        // The file form the README shows.
        let s: Settings = toml::from_str(
            "[pipeline]\nreject_reasons = [\"Other\"]\n\n[[pipeline.review_stages]]\nid = \"work_sample\"\nlabel = \"Work sample\"\n",
        )
        .unwrap();
        s.check().unwrap();
        let p = crate::domain::pipeline::Pipeline::new(&s.pipeline).unwrap();
        assert!(p.stage("work_sample").is_some() && p.stage("phone_screen").is_none());
    }

    #[test]
    fn readme_documents_every_variable() {
        let readme = include_str!("../README.md");
        for (var, _) in ENV_VARS {
            assert!(readme.contains(&format!("`{var}`")), "README misses {var}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut s = Settings::default();
        let err = s
            .apply_env(|k| (k == "ONRAMP_SMTP_POOL_SIZE").then(|| "many".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("ONRAMP_SMTP_POOL_SIZE"));
        let unknown = toml::from_str::<Settings>("colour = 1").unwrap_err();
        assert!(unknown.to_string().contains("colour"));
        let zone = toml::from_str::<Settings>(
            "[[markets]]\ncountry = \"SE\"\nmin_weekly_hours = 8\ntime_zone = \"Europe/Stokholm\"",
        )
        .unwrap_err();
        assert!(zone.to_string().contains("Stokholm"), "{zone}");
        let mut s = Settings::default();
        s.screening_rules[0].reason = "You are under {age}.".into();
        let err = s.check().unwrap_err().to_string();
        assert!(err.contains("{age}") && err.contains("{min_age}"), "{err}");
    }
}
