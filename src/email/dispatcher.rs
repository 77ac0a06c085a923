//! Sends queued email. Rows are claimed in batches under a lease, rendered, sent concurrently up
//! to the SMTP pool size, and marked sent, retried with exponential backoff, or failed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

use super::{Mailer, Renderer, SendError};
use crate::config::Settings;
use crate::domain::application::Status;
use crate::domain::token::SecretToken;
use crate::store::{self, outbox, tokens, Db};

/// The name of the dispatcher's switch among the jobs' (`/admin/jobs`): off pauses all sending
/// on every instance.
pub const OUTBOX_DISPATCH: &str = "outbox_dispatch";

pub struct Dispatcher {
    db: Db,
    mailer: Mailer,
    renderer: Arc<Renderer>,
    settings: Arc<Settings>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    /// Identifies this dispatcher's leases; unique per process start.
    worker: String,
    stopping: AtomicBool,
    /// Rows claimed but not sent because we are stopping: released on the way out.
    skipped: Mutex<Vec<Uuid>>,
}

/// What one round did, so callers (and tests) can tell an empty queue from work done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Emails held back for their domain's send rate (or its first-email allowance).
    pub held: usize,
}

enum Outcome {
    Sent,
    Retried,
    Failed,
    Skipped,
}

impl Dispatcher {
    /// Where this dispatcher sends mail.
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    pub fn new(
        db: Db,
        mailer: Mailer,
        renderer: Arc<Renderer>,
        settings: Arc<Settings>,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = settings.mail.from.parse()?;
        let reply_to = match &settings.mail.reply_to {
            Some(r) => Some(r.parse()?),
            None => None,
        };
        Ok(Self {
            db,
            mailer,
            renderer,
            settings,
            from,
            reply_to,
            worker: format!("dispatcher-{}", Uuid::now_v7()),
            stopping: AtomicBool::new(false),
            skipped: Mutex::new(Vec::new()),
        })
    }

    /// Claims one batch of due rows and delivers them.
    pub async fn run_once(&self) -> anyhow::Result<Round> {
        // An admin paused all sending (an incident): nothing is claimed until they resume.
        if crate::store::jobs::switch(&self.db, OUTBOX_DISPATCH).await? == Some(false) {
            return Ok(Round::default());
        }
        let now = self.db.now();
        let lease = now + chrono::Duration::seconds(self.settings.outbox.lease_secs);
        let rows = outbox::claim(
            &self.db,
            &self.worker,
            now,
            lease,
            self.settings.outbox.batch_size,
        )
        .await?;
        let mut round = Round {
            claimed: rows.len(),
            ..Round::default()
        };
        let (rows, held) = self.hold_over_domain_limit(rows, now).await?;
        round.held = held;
        let prepared = self.prepare(&rows).await;
        // Sent emails are recorded together when the round's sends are done: one write for the
        // batch instead of one per email (SQLite has one writer). A crash between a send and
        // that write means those emails go again once their lease runs out, recognisable by
        // their Message-ID.
        let sent = std::sync::Mutex::new(Vec::new());
        let outcomes: Vec<anyhow::Result<Outcome>> =
            futures_util::stream::iter(rows.into_iter().zip(prepared))
                .map(|(row, data)| self.deliver(row, data, &sent))
                .buffer_unordered(self.settings.mail.pool_size as usize)
                .collect()
                .await;
        self.mark_sent(sent.into_inner().unwrap_or_else(|e| e.into_inner()))
            .await?;
        for o in outcomes {
            match o? {
                Outcome::Sent => round.sent += 1,
                Outcome::Retried => round.retried += 1,
                Outcome::Failed => round.failed += 1,
                Outcome::Skipped => {}
            }
        }
        Ok(round)
    }

    /// Holds back what would go over a recipient domain's allowances, counted across
    /// instances from what the outbox sent:
    /// - every email: `per_domain_per_minute` (mail providers throttle senders who burst);
    /// - first emails (verification links of new signups): the hourly allowance, so a bot
    ///   signing up addresses at one company cannot make us flood it; the big webmail domains,
    ///   where most real applicants are, are exempt from this one.
    ///
    /// A held row keeps its attempts and goes again after a pause.
    async fn hold_over_domain_limit(
        &self,
        rows: Vec<outbox::Claimed>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<(Vec<outbox::Claimed>, usize)> {
        let per_minute = self.settings.mail.per_domain_per_minute;
        let first_per_hour = self.settings.mail.first_emails_per_domain_per_hour;
        let mut minute_left: HashMap<String, i64> = HashMap::new();
        let mut first_left: HashMap<String, i64> = HashMap::new();
        let mut keep = Vec::with_capacity(rows.len());
        let mut held = 0;
        for row in rows {
            let domain = &row.recipient_domain;
            let mut why = None;
            if per_minute > 0 {
                if !minute_left.contains_key(domain) {
                    let since = now - chrono::Duration::minutes(1);
                    let sent = outbox::sent_to(&self.db, domain, None, since).await?;
                    minute_left.insert(domain.clone(), per_minute - sent);
                }
                if minute_left[domain] <= 0 {
                    why = Some((
                        format!("held: {per_minute} emails a minute to @{domain} already sent"),
                        chrono::Duration::seconds(15),
                    ));
                }
            }
            let first =
                row.lane == outbox::LANE_FIRST && !crate::domain::email::is_common_domain(domain);
            if why.is_none() && first {
                if !first_left.contains_key(domain) {
                    let hour_ago = now - chrono::Duration::hours(1);
                    let sent =
                        outbox::sent_to(&self.db, domain, Some(outbox::LANE_FIRST), hour_ago)
                            .await?;
                    first_left.insert(domain.clone(), first_per_hour - sent);
                }
                if first_left[domain] <= 0 {
                    why = Some((
                        format!(
                            "held: {first_per_hour} first emails an hour to @{domain} already sent"
                        ),
                        chrono::Duration::minutes(10),
                    ));
                }
            }
            match why {
                None => {
                    if let Some(n) = minute_left.get_mut(domain) {
                        *n -= 1;
                    }
                    if first {
                        if let Some(n) = first_left.get_mut(domain) {
                            *n -= 1;
                        }
                    }
                    keep.push(row);
                }
                Some((why, pause)) => {
                    outbox::hold(&self.db, &self.worker, row.id, &why, now + pause).await?;
                    tracing::warn!(domain = %domain, reason = %why, "email held for its domain's send rate");
                    held += 1;
                }
            }
        }
        Ok((keep, held))
    }

    /// Runs until `shutdown` turns true: rounds back to back while there is work, a short sleep
    /// when the queue is empty. Sends in flight finish; claimed rows not yet sent are released.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings.outbox.poll_interval_ms);
        let mut wake = {
            let me = self.clone();
            let mut rx = shutdown.clone();
            tokio::spawn(async move {
                let _ = rx.wait_for(|s| *s).await;
                me.stopping.store(true, Ordering::SeqCst);
            })
        };
        // Two rounds overlap: while one claims, mints links and records, the other's sends keep
        // the connections busy (they share the pool, so no more than `pool_size` sends run).
        futures_util::future::join(
            self.rounds(shutdown.clone(), idle),
            self.rounds(shutdown.clone(), idle),
        )
        .await;
        wake.abort();
        let _ = (&mut wake).await;
        let skipped = std::mem::take(&mut *self.skipped.lock().expect("skipped lock"));
        match outbox::release(&self.db, &self.worker, &skipped).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released outbox leases"),
            Err(e) => tracing::error!(error = %e, "could not release outbox leases"),
        }
    }

    /// Rounds back to back while there is work, a pause of `idle` when the queue is empty,
    /// until `shutdown` turns true.
    async fn rounds(&self, mut shutdown: watch::Receiver<bool>, idle: Duration) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let pause = match self.run_once().await {
                Ok(r) if r.claimed > 0 => Duration::ZERO,
                Ok(_) => idle,
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed");
                    idle.max(Duration::from_secs(1))
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    async fn deliver(
        &self,
        row: outbox::Claimed,
        data: Prepared,
        sent: &std::sync::Mutex<Vec<(Uuid, String)>>,
    ) -> anyhow::Result<Outcome> {
        if self.stopping.load(Ordering::SeqCst) {
            // Left claimed; `run` releases it so another instance sends it promptly.
            self.skipped.lock().expect("skipped lock").push(row.id);
            return Ok(Outcome::Skipped);
        }
        let data = match data {
            Prepared::Ready(v) => v,
            Prepared::Retry(e) => return self.retry_or_fail(&row, e).await,
            Prepared::Fail(e) => return self.fail(&row, e).await,
        };
        // A message that cannot be built will not build on retry either.
        let message = match self.build(&row, &data) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .fail(&row, format!("could not build the message: {e:#}"))
                    .await
            }
        };
        let result = self
            .mailer
            .send(message, &row.id.to_string(), self.settings.send_timeout())
            .await;
        match result {
            Ok(response) => {
                tracing::info!(outbox_id = %row.id, template = %row.template, "email sent");
                sent.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((row.id, response));
                Ok(Outcome::Sent)
            }
            Err(SendError::Permanent(e)) => self.fail(&row, e).await,
            Err(SendError::Temporary(e)) => self.retry_or_fail(&row, e).await,
        }
    }

    /// The emails went out; recording that must not be lost to a passing database error, or
    /// they would be sent again once their lease runs out.
    async fn mark_sent(&self, sent: Vec<(Uuid, String)>) -> anyhow::Result<()> {
        let mut tries = 0;
        loop {
            match outbox::mark_sent_many(&self.db, &self.worker, &sent, self.db.now()).await {
                Ok(kept) => {
                    for (id, _) in sent.iter().filter(|(id, _)| !kept.contains(id)) {
                        tracing::error!(outbox_id = %id, "outbox lease was lost before the send was recorded; the email may be sent twice");
                    }
                    return Ok(());
                }
                Err(e) if tries < 5 => {
                    tries += 1;
                    tracing::warn!(emails = sent.len(), error = %e, "could not record sent emails; trying again");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn fail(&self, row: &outbox::Claimed, error: String) -> anyhow::Result<Outcome> {
        tracing::warn!(outbox_id = %row.id, template = %row.template, error = %redact(&error), "email failed");
        let kept =
            outbox::mark_failed(&self.db, row.id, &self.worker, &error, self.db.now()).await?;
        self.check_lease(row, kept);
        Ok(Outcome::Failed)
    }

    async fn retry_or_fail(&self, row: &outbox::Claimed, error: String) -> anyhow::Result<Outcome> {
        if row.attempts >= self.settings.outbox.max_attempts {
            let msg = format!("gave up after {} attempts: {error}", row.attempts);
            return self.fail(row, msg).await;
        }
        let next = self.db.now() + self.backoff(row.attempts);
        tracing::warn!(outbox_id = %row.id, attempt = row.attempts, error = %redact(&error), retry_at = %next, "email not sent, will retry");
        let kept = outbox::mark_retry(&self.db, row.id, &self.worker, &error, next).await?;
        self.check_lease(row, kept);
        Ok(Outcome::Retried)
    }

    /// A mark that matched no row means the lease ran out and another dispatcher claimed the
    /// email meanwhile: it may go out twice. Settings::check keeps the lease well above the
    /// longest round, so this points at a stalled process.
    fn check_lease(&self, row: &outbox::Claimed, kept: bool) {
        if !kept {
            tracing::error!(outbox_id = %row.id, "outbox lease was lost before the send was recorded; the email may be sent twice");
        }
    }

    /// The store it works on.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Delay before retry number `attempts` (1-based): base, 2×base, 4×base … capped.
    pub fn backoff(&self, attempts: i64) -> chrono::Duration {
        let o = &self.settings.outbox;
        let secs = (o.retry_base_secs * 2f64.powi((attempts - 1).clamp(0, 30) as i32))
            .min(o.retry_max_secs);
        chrono::Duration::milliseconds((secs * 1000.0) as i64)
    }

    fn build(&self, row: &outbox::Claimed, data: &Value) -> anyhow::Result<Message> {
        if !self.renderer.has(&row.template) {
            anyhow::bail!("unknown email template {:?}", row.template);
        }
        let content = self.renderer.render(&row.template, data)?;
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(row.recipient.parse()?)
            .subject(content.subject)
            // Derived from the outbox row, so a resend after a crash carries the same id.
            .message_id(Some(format!("<{}@{}>", row.id, domain)));
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        // RFC 8058 one-click unsubscribe, on non-essential mail only (the link is minted only
        // for those templates).
        if let Some(url) = data["unsubscribe_url"].as_str().filter(|u| !u.is_empty()) {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(content.text);
        let html = SinglePart::builder()
            .header(ContentType::TEXT_HTML)
            .body(content.html);
        // The weekly report's chart travels inside the email (`cid:`): mail clients load no
        // remote images.
        let chart = (row.template == "weekly_report")
            .then(|| chart_of(data))
            .flatten();
        let body = match chart {
            Some(weeks) => {
                let png = super::chart::replacement_png(&weeks)?;
                let image = Attachment::new_inline(super::chart::CONTENT_ID.to_string())
                    .body(png, ContentType::parse("image/png")?);
                MultiPart::alternative()
                    .singlepart(text)
                    .multipart(MultiPart::related().singlepart(html).singlepart(image))
            }
            None => MultiPart::alternative().singlepart(text).singlepart(html),
        };
        Ok(builder.multipart(body)?)
    }

    /// Parses each row's payload and adds the links its email carries. Links carry secrets, so
    /// they are minted here, at send time, and never stored in the outbox: only their hash
    /// reaches the database. The whole batch's links are written in one transaction.
    async fn prepare(&self, rows: &[outbox::Claimed]) -> Vec<Prepared> {
        let mut out: Vec<Prepared> = rows
            .iter()
            .map(|r| match serde_json::from_str::<Value>(&r.payload) {
                Ok(v) => Prepared::Ready(v),
                Err(e) => Prepared::Fail(format!("the payload is not JSON: {e}")),
            })
            .collect();
        let now = self.db.now();
        self.mint_staff_invites(rows, &mut out, now).await;
        let mut links = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let kinds = LinkKind::of(&row.template);
            if kinds.is_empty() {
                continue;
            }
            let Prepared::Ready(data) = &out[i] else {
                continue;
            };
            match data["application_id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
            {
                Some(app_id) => {
                    for kind in kinds {
                        links.push((i, app_id, *kind, SecretToken::generate()));
                    }
                }
                None => out[i] = Prepared::Fail("the payload has no application_id".into()),
            }
        }
        if links.is_empty() {
            return out;
        }
        let ids: Vec<Uuid> = links.iter().map(|(_, id, _, _)| *id).collect();
        let minted = async {
            let mut tx = self.db.begin().await?;
            // Read (and on PostgreSQL share-lock) the applications first: a link goes only to
            // the address the application has now, never to one corrected since the row was
            // queued, and the tokens are written before a correction can expire them.
            let contacts = store::applications::contacts_tx(&mut tx, &ids).await?;
            let rows_to_store: Vec<tokens::NewToken> = links
                .iter()
                .filter(|(i, app_id, ..)| current_address(&contacts, *app_id, &rows[*i]))
                .map(|(i, app_id, kind, token)| tokens::NewToken {
                    hash: token.hash(),
                    application_id: *app_id,
                    purpose: kind.purpose(),
                    expires_at: now + kind.ttl(&self.settings),
                    replaces: renews_links(&out[*i]),
                })
                .collect();
            tokens::insert_many(&mut tx, &rows_to_store, now).await?;
            tx.commit().await?;
            Ok::<_, store::StoreError>(contacts)
        }
        .await;
        let contacts = match minted {
            Ok(c) => c,
            Err(e) => {
                // A database problem: worth a retry, unlike a template that does not render.
                for (i, ..) in links {
                    out[i] = Prepared::Retry(format!("could not prepare links: {e}"));
                }
                return out;
            }
        };
        for (i, app_id, kind, token) in links {
            if !current_address(&contacts, app_id, &rows[i]) {
                out[i] = Prepared::Fail(
                    "not sent: the application's address has changed since this email was queued"
                        .into(),
                );
                continue;
            }
            let Prepared::Ready(data) = &mut out[i] else {
                continue;
            };
            let status = contacts
                .get(&app_id)
                .map_or(Status::Applied, |(s, _)| Status::of_stage(s));
            data[kind.field()] = json!(format!(
                "{}/{}/{}",
                self.settings.base_url(),
                kind.path(),
                token.as_str()
            ));
            data["expires_days"] = json!(self.settings.verify_token_ttl_hours / 24);
            data["status_label"] = json!(status.label());
            // Whether the applicant still has a quiz to take (or retake): then a link email
            // carries the quiz link too, so a lost invitation is one request away.
            data["quiz_stage"] = json!(matches!(status, Status::Verified | Status::QuizFailed));
        }
        out
    }
}

/// Whether an email's links replace the applicant's earlier ones: only the link an applicant
/// asked for ("Email me a new link", `outbox::RENEWS_LINKS` in its payload) does.
fn renews_links(p: &Prepared) -> bool {
    matches!(p, Prepared::Ready(v) if v[outbox::RENEWS_LINKS] == json!(true))
}

/// How long a staff invitation link works.
pub const STAFF_INVITE_HOURS: i64 = 72;

impl Dispatcher {
    /// Staff invitations carry a single-use link to set a password, minted now (only its hash
    /// is stored), for an account that is still waiting for its password.
    async fn mint_staff_invites(
        &self,
        rows: &[outbox::Claimed],
        out: &mut [Prepared],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for (i, row) in rows.iter().enumerate() {
            if row.template != "staff_invite" {
                continue;
            }
            let Prepared::Ready(data) = &mut out[i] else {
                continue;
            };
            let Some(user) = data["user_id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
            else {
                out[i] = Prepared::Fail("the payload has no user_id".into());
                continue;
            };
            let token = SecretToken::generate();
            let expires = now + chrono::Duration::hours(STAFF_INVITE_HOURS);
            let stored = async {
                let mut tx = self.db.begin().await?;
                store::users::insert_invite(&mut tx, &token.hash(), user, expires, now).await?;
                tx.commit().await
            }
            .await;
            match stored {
                Ok(()) => {
                    data["invite_url"] = json!(format!(
                        "{}/admin/invite/{}",
                        self.settings.base_url(),
                        token.as_str()
                    ));
                    data["expires_hours"] = json!(STAFF_INVITE_HOURS);
                }
                Err(e) => out[i] = Prepared::Retry(format!("could not prepare the link: {e}")),
            }
        }
    }
}

/// Whether the application behind a link still has the address the email was queued for.
fn current_address(
    contacts: &HashMap<Uuid, (String, String)>,
    app_id: Uuid,
    row: &outbox::Claimed,
) -> bool {
    contacts
        .get(&app_id)
        .is_some_and(|(_, email)| email.eq_ignore_ascii_case(&row.recipient))
}

/// A payload ready to render, or why it is not.
enum Prepared {
    Ready(Value),
    Retry(String),
    Fail(String),
}

/// The single-purpose links emails carry.
#[derive(Clone, Copy)]
enum LinkKind {
    Verify,
    Status,
    Quiz,
    /// A cohort offer's page, where the applicant accepts or declines.
    Offer,
    /// The one-click unsubscribe page (non-essential mail only).
    Unsubscribe,
}

impl LinkKind {
    /// The links an email carries.
    fn of(template: &str) -> &'static [Self] {
        use LinkKind::*;
        match template {
            "verify_email" => &[LinkKind::Verify],
            "verify_reminder" => &[Verify, Unsubscribe],
            "quiz_reminder" => &[Quiz, Status, Unsubscribe],
            "offer_reminder" => &[Offer, Status, Unsubscribe],
            "cohort_start_reminder" | "idle_nudge" => &[Status, Unsubscribe],
            "email_verified"
            | "quiz_passed"
            | "stage_update"
            | "application_declined"
            | "agent_activated" => &[LinkKind::Status],
            "status_link" | "quiz_invitation" | "quiz_failed" => {
                &[LinkKind::Quiz, LinkKind::Status]
            }
            "cohort_offer" => &[LinkKind::Offer, LinkKind::Status],
            _ => &[],
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            LinkKind::Verify => tokens::VERIFY_EMAIL,
            LinkKind::Status => tokens::STATUS,
            LinkKind::Quiz => tokens::QUIZ,
            LinkKind::Offer => tokens::OFFER,
            LinkKind::Unsubscribe => tokens::UNSUBSCRIBE,
        }
    }

    fn ttl(self, s: &Settings) -> chrono::Duration {
        match self {
            LinkKind::Verify => chrono::Duration::hours(s.verify_token_ttl_hours),
            LinkKind::Status | LinkKind::Quiz => chrono::Duration::days(s.status_token_ttl_days),
            LinkKind::Offer => s.offer_ttl.duration(),
            // Long enough that a reminder found in an old inbox still works.
            LinkKind::Unsubscribe => chrono::Duration::days(365),
        }
    }

    /// The template variable that holds the link.
    fn field(self) -> &'static str {
        match self {
            LinkKind::Verify => "verify_url",
            LinkKind::Status => "status_url",
            LinkKind::Quiz => "quiz_url",
            LinkKind::Offer => "offer_url",
            LinkKind::Unsubscribe => "unsubscribe_url",
        }
    }

    fn path(self) -> &'static str {
        match self {
            LinkKind::Verify => "verify",
            LinkKind::Status => "status",
            LinkKind::Quiz => "quiz",
            LinkKind::Offer => "offer",
            LinkKind::Unsubscribe => "unsubscribe",
        }
    }
}

/// Sends everything that is due now, round after round, until a round finds nothing. For tests,
/// `onramp outbox drain`, and seed runs.
pub async fn drain(d: &Dispatcher) -> anyhow::Result<Round> {
    let mut total = Round::default();
    loop {
        let r = d.run_once().await?;
        if r.claimed == 0 {
            return Ok(total);
        }
        total.claimed += r.claimed;
        total.sent += r.sent;
        total.retried += r.retried;
        total.failed += r.failed;
        total.held += r.held;
    }
}

/// Mail servers quote addresses in their replies; keep them out of the logs.
fn redact(text: &str) -> String {
    text.split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The weekly points (live, outsourced) of an email that carries the replacement chart.
fn chart_of(data: &Value) -> Option<Vec<(i64, i64)>> {
    data["chart"].as_array().map(|weeks| {
        weeks
            .iter()
            .map(|w| {
                (
                    w["live"].as_i64().unwrap_or(0),
                    w["outsourced"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    })
}

/// `List-Unsubscribe: <https://…/unsubscribe/TOKEN>`
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the link unsubscribes on a
/// POST, with no page in between.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let mut settings = Settings::default();
        settings.outbox.retry_base_secs = 30.0;
        settings.outbox.retry_max_secs = 3600.0;
        let d = Dispatcher::new(
            Db {
                pools: crate::store::Pools::Postgres(
                    sqlx::PgPool::connect_lazy("postgres://unused@127.0.0.1/x").unwrap(),
                ),
                clock: crate::clock::Clock::system(),
            },
            Mailer::memory().0,
            Arc::new(Renderer::new("onramp", "http://x.test", "help@x.test").unwrap()),
            Arc::new(settings),
        )
        .unwrap();
        let secs: Vec<i64> = (1..=10).map(|n| d.backoff(n).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        // Past any sensible count it stays at the cap instead of overflowing.
        assert_eq!(d.backoff(10_000).num_seconds(), 3600);
        assert_eq!(d.backoff(0).num_seconds(), 30);
    }

    #[test]
    fn redacts_addresses_from_server_replies() {
        assert_eq!(
            super::redact("550 5.1.1 <ana@example.com>: no such user"),
            "550 5.1.1 <address> no such user"
        );
    }
}
