//! The scheduled reminder jobs, on a manual clock the test moves: who gets which email, that
//! the same tick run again sends nothing, and that reminders (never essential mail) carry the
//! one-click unsubscribe and stop for those who use it.

use chrono::{DateTime, Duration, Utc};
use onramp::clock::Clock;
use onramp::jobs::Job;
use uuid::Uuid;

use crate::helpers::*;

async fn app_at(start: DateTime<Utc>) -> TestApp {
    spawn_app_at(|_| {}, Clock::manual(start)).await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `until` while the manual clock moves on a second at each look: a send that timed out under
/// load is retried a moment later by the app's clock, which a frozen clock never reaches.
async fn until_a_while<F, Fut>(app: &TestApp, what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_for(what, done, || app.clock.advance(Duration::seconds(1))).await;
}

impl TestApp {
    /// Runs one tick of `job` now, claimed like a scheduled one; then runs the job's work again
    /// and checks that it finds nothing new and queues nothing. Returns the tick's items.
    async fn tick(&self, job: Job) -> usize {
        let n = onramp::jobs::run_now(&self.db, &self.settings, job)
            .await
            .unwrap()
            .expect("this instance claims the tick");
        let queued = self.count("outbox").await;
        let again = job.run(&self.db, &self.settings).await.unwrap();
        assert_eq!(
            again,
            0,
            "{}: the same tick again handled something",
            job.name()
        );
        assert_eq!(
            self.count("outbox").await,
            queued,
            "{}: a rerun queued mail",
            job.name()
        );
        n
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The subjects of the emails received since `seen`, for `address`.
    fn new_mail(&self, seen: usize, address: &str) -> Vec<String> {
        let received = self.received();
        mail_to(&received[seen..], address)
            .into_iter()
            .cloned()
            .collect()
    }

    async fn id_of(&self, email: &str) -> Uuid {
        onramp::on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT id FROM applications WHERE email = $1").bind(email).fetch_one(p).await)
        .unwrap()
    }
}

/// The Subject header, unfolded (a long one continues on indented lines).
fn subject(mail: &str) -> String {
    let mut lines = mail.lines().skip_while(|l| !l.starts_with("Subject: "));
    let mut out = lines
        .next()
        .map_or(String::new(), |l| l["Subject: ".len()..].to_string());
    for l in lines.take_while(|l| l.starts_with(' ') || l.starts_with('\t')) {
        out.push_str(&l[1..]);
    }
    out
}

/// A reminder carries RFC 8058 one-click unsubscribe headers and its link; returns the link.
fn unsubscribe_link(mail: &str, base: &str) -> String {
    let list = header(mail, "List-Unsubscribe").expect("List-Unsubscribe on a reminder");
    assert!(list.starts_with(&format!("<{base}/unsubscribe/")), "{list}");
    assert_eq!(
        header(mail, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let url = list.trim_start_matches('<').trim_end_matches('>');
    let body = decode_qp(mail);
    assert!(
        body.contains(&format!("href=\"{url}\"")) && body.contains(&format!("offers): {url}")),
        "the link is in the body too: {body}"
    );
    url[base.len()..].to_string()
}

fn essential(mail: &str) {
    assert!(header(mail, "List-Unsubscribe").is_none(), "{mail}");
    assert!(header(mail, "List-Unsubscribe-Post").is_none());
    assert!(!decode_qp(mail).contains("/unsubscribe/"));
}

#[tokio::test]
async fn verify_reminder_reminds_once_with_a_fresh_link_then_expires_and_the_address_may_apply_again(
) {
    let t0 = onramp::domain::now();
    let app = app_at(t0).await;
    for who in ["a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"] {
        assert_eq!(app.apply(&valid_form(who)).await.status(), 303);
    }
    app.drain().await;
    let first = app.received();
    assert_eq!(first.len(), 5);
    first.iter().for_each(|m| essential(m));
    // b confirms straight away.
    let b_link = link(mail_to(&first, "b@x.test")[0], &app.base, "/verify/").unwrap();
    app.confirm(&b_link).await;
    app.drain().await;

    // 23 hours on, nobody is due.
    app.advance(Duration::hours(23));
    assert_eq!(app.tick(Job::VerifyReminder).await, 0);
    // 25 hours on: a, c, d and e get one reminder each, b (confirmed) none.
    app.advance(Duration::hours(2));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::VerifyReminder).await, 4);
    app.drain().await;
    assert!(app.new_mail(seen, "b@x.test").is_empty());
    let mut unsubscribe = String::new();
    let mut late_link = String::new();
    for who in ["a@x.test", "c@x.test", "d@x.test", "e@x.test"] {
        let mail = app.new_mail(seen, who);
        assert_eq!(mail.len(), 1, "{who}");
        assert!(
            subject(&mail[0]).starts_with("Reminder: confirm your email"),
            "{}",
            subject(&mail[0])
        );
        let u = unsubscribe_link(&mail[0], &app.base);
        if who == "c@x.test" {
            unsubscribe = u;
        }
        if who == "e@x.test" {
            late_link = link(&mail[0], &app.base, "/verify/").unwrap();
        }
        if who == "d@x.test" {
            // The reminder's link is a fresh one, and it works.
            let fresh = link(&mail[0], &app.base, "/verify/").unwrap();
            let original = link(mail_to(&first, who)[0], &app.base, "/verify/").unwrap();
            assert_ne!(fresh, original);
            app.confirm(&fresh).await;
        }
    }
    assert_eq!(app.status_of("d@x.test").await.as_deref(), Some("verified"));
    app.drain().await;

    // c unsubscribes: opening the link changes nothing; the mail client's one-click POST does.
    let page = app.get(&unsubscribe).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Stop reminders"));
    let c = app.id_of("c@x.test").await;
    assert!(!onramp::store::applications::get(&app.db, c)
        .await
        .unwrap()
        .unsubscribed());
    let one_click = app
        .client
        .post(format!("{}{unsubscribe}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 200);
    assert!(onramp::store::applications::get(&app.db, c)
        .await
        .unwrap()
        .unsubscribed());
    let page = app.get(&unsubscribe).await.text().await.unwrap();
    assert!(
        page.contains("won&#x27;t get reminders") || page.contains("won't get reminders"),
        "{page}"
    );

    // A week after their last link, a, c and e expire, without an email.
    app.advance(Duration::days(6));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::VerifyReminder).await, 3);
    app.drain().await;
    assert_eq!(app.received().len(), seen, "expiry sends nothing");
    for who in ["a@x.test", "c@x.test", "e@x.test"] {
        assert_eq!(
            app.status_of(who).await.as_deref(),
            Some("expired"),
            "{who}"
        );
    }
    assert_eq!(app.status_of("b@x.test").await.as_deref(), Some("verified"));
    // e confirms late, with the reminder's link (still live): the application is back.
    app.confirm(&late_link).await;
    assert_eq!(app.status_of("e@x.test").await.as_deref(), Some("verified"));
    app.drain().await;
    let seen = app.received().len();

    // An expired address may apply again: the application reopens with a fresh link, and the
    // unsubscribed one still gets it (verification is essential).
    for who in ["a@x.test", "c@x.test"] {
        assert_eq!(app.apply(&valid_form(who)).await.status(), 303);
        assert_eq!(
            app.status_of(who).await.as_deref(),
            Some("applied"),
            "{who}"
        );
    }
    app.drain().await;
    for who in ["a@x.test", "c@x.test"] {
        let mail = app.new_mail(seen, who);
        assert_eq!(mail.len(), 1, "{who}");
        essential(&mail[0]);
        let fresh = link(&mail[0], &app.base, "/verify/").expect("a verification link");
        app.confirm(&fresh).await;
        assert_eq!(
            app.status_of(who).await.as_deref(),
            Some("verified"),
            "{who}"
        );
    }
    let events = onramp::store::applications::events(&app.db, app.id_of("a@x.test").await)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.kind == "reapplied"));
    // A recruiter cannot expire anyone by hand.
    let r = app
        .post_json(
            &format!("/api/v1/applications/{}/moves", app.id_of("b@x.test").await),
            &serde_json::json!({ "to": "expired" }),
        )
        .await;
    assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn quiz_reminder_invites_those_verified_before_a_quiz_existed_and_reminds_twice() {
    let t0 = onramp::domain::now();
    let app = app_at(t0).await;
    // p confirms before any quiz exists: no invitation.
    assert_eq!(app.apply(&valid_form("p@x.test")).await.status(), 303);
    app.drain().await;
    let received = app.received();
    let verify = link(mail_to(&received, "p@x.test")[0], &app.base, "/verify/").unwrap();
    app.confirm(&verify).await;
    app.drain().await;
    assert_eq!(
        mail_to(&app.received(), "p@x.test").len(),
        2,
        "verify and welcome only"
    );
    app.load_quizzes().await;
    // q is invited and does nothing; r starts the quiz; s is invited and unsubscribes.
    app.invited("q@x.test").await;
    app.start_quiz("r@x.test").await;
    app.invited("s@x.test").await;
    let s = app.id_of("s@x.test").await;
    assert!(
        onramp::usecases::reminders::unsubscribe(&app.db, s, app.db.now())
            .await
            .unwrap()
    );

    let seen = app.received().len();
    assert_eq!(app.tick(Job::QuizReminder).await, 1, "p's invitation");
    app.drain().await;
    let invitation = app.new_mail(seen, "p@x.test");
    assert_eq!(invitation.len(), 1);
    assert!(decode_qp(&invitation[0]).contains("Your skills quiz is ready"));
    essential(&invitation[0]);
    assert_eq!(app.received().len(), seen + 1);

    // Two days on: p and q get a reminder; r started; s unsubscribed.
    app.advance(Duration::days(2) + Duration::minutes(1));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::QuizReminder).await, 2);
    app.drain().await;
    assert_eq!(app.received().len(), seen + 2);
    let mut first_unsubscribe = String::new();
    for who in ["p@x.test", "q@x.test"] {
        let mail = app.new_mail(seen, who);
        assert_eq!(mail.len(), 1, "{who}");
        assert!(
            subject(&mail[0]).starts_with("Reminder: your"),
            "{}",
            subject(&mail[0])
        );
        first_unsubscribe = unsubscribe_link(&mail[0], &app.base);
        assert!(link(&mail[0], &app.base, "/quiz/").is_some());
    }
    // Nothing more until five days.
    app.advance(Duration::days(2));
    assert_eq!(app.tick(Job::QuizReminder).await, 0);
    app.advance(Duration::days(1));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::QuizReminder).await, 2);
    app.drain().await;
    for who in ["p@x.test", "q@x.test"] {
        let mail = app.new_mail(seen, who);
        assert_eq!(mail.len(), 1, "{who}");
        assert!(
            subject(&mail[0]).starts_with("Last reminder"),
            "{}",
            subject(&mail[0])
        );
    }
    assert!(app.new_mail(seen, "r@x.test").is_empty());
    assert!(app.new_mail(seen, "s@x.test").is_empty());
    // The first reminder's unsubscribe link still works after the last one went.
    let page = app.get(&first_unsubscribe).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Stop reminders"));
    // And never again.
    app.advance(Duration::days(30));
    assert_eq!(app.tick(Job::QuizReminder).await, 0);
}

#[tokio::test]
async fn offer_reminders_remind_before_expiry_release_on_expiry_and_remind_members_before_the_start(
) {
    // The cohort starts on day `start`, sixty days after today, at midnight in Stockholm (the
    // evening before in UTC); the test's clock starts nine days before, at noon UTC.
    let start = onramp::domain::now().date_naive() + chrono::Days::new(60);
    let day = |before: u64, hour: u32| {
        (start - chrono::Days::new(before))
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .and_utc()
    };
    let app = app_at(day(9, 12)).await;
    app.load_checklist().await;
    let mut body = cohort_request("Pilot SE 3");
    body["start_date"] = serde_json::json!(start.to_string());
    let cohort = app.made_cohort(&body).await;
    let x = app.shortlisted("x@x.test").await;
    let y = app.shortlisted("y@x.test").await;
    let z = app.shortlisted("z@x.test").await;
    app.offer(&cohort, &[&x, &y, &z]).await;
    let x_offer = app.offer_link("x@x.test").await;
    assert_eq!(app.post_form(&x_offer, "choice=accept").await.status(), 303);
    assert_eq!(app.stage(&x).await, "onboarding");
    let z_id: Uuid = z.parse().unwrap();
    onramp::usecases::reminders::unsubscribe(&app.db, z_id, app.db.now())
        .await
        .unwrap();

    // The offers expire 72 hours on (six days before the start, noon); 25 hours before, nothing
    // is due.
    app.advance(Duration::hours(47));
    assert_eq!(app.tick(Job::OfferReminders).await, 0);
    // 23 hours before: y is reminded (z unsubscribed, x accepted).
    app.advance(Duration::hours(2));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::OfferReminders).await, 1);
    app.drain().await;
    let mail = app.new_mail(seen, "y@x.test");
    assert_eq!(mail.len(), 1);
    assert!(
        subject(&mail[0]).contains("is held until"),
        "{}",
        subject(&mail[0])
    );
    assert!(link(&mail[0], &app.base, "/offer/").is_some());
    unsubscribe_link(&mail[0], &app.base);
    assert_eq!(app.received().len(), seen + 1);

    // At expiry both open offers are released, without an email: back to the shortlist.
    app.advance(Duration::hours(24));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::OfferReminders).await, 2);
    app.drain().await;
    assert_eq!(app.received().len(), seen);
    assert_eq!(app.stage(&y).await, "shortlisted");
    assert_eq!(app.stage(&z).await, "shortlisted");
    assert_eq!(app.stage(&x).await, "onboarding");

    // Three days before the start at 00:00 UTC, under three days before it: x is reminded with
    // the steps left.
    app.clock.set(day(3, 0));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::OfferReminders).await, 1);
    app.drain().await;
    let mail = app.new_mail(seen, "x@x.test");
    assert_eq!(mail.len(), 1);
    assert!(
        subject(&mail[0]).contains("Pilot SE 3 starts"),
        "{}",
        subject(&mail[0])
    );
    let text = decode_qp(&mail[0]);
    assert!(
        text.contains("These onboarding steps are not done yet"),
        "{text}"
    );
    unsubscribe_link(&mail[0], &app.base);
    // The last reminder, under a day before.
    app.clock.set(day(1, 0));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::OfferReminders).await, 1);
    app.drain().await;
    assert_eq!(app.new_mail(seen, "x@x.test").len(), 1);
    // Once it started, nothing.
    app.clock.set(day(0, 6));
    assert_eq!(app.tick(Job::OfferReminders).await, 0);
}

impl TestApp {
    /// Moves `id` to `to` through the API (rejections with a listed reason).
    async fn moved(&self, id: &str, to: &str) {
        let mut body = serde_json::json!({ "to": to });
        if to == "rejected" {
            body["reason"] = "Role filled".into();
        }
        let r = self.move_to(id, body).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// The emails of those the applicant list's `stuck` filter shows.
    async fn stuck(&self) -> Vec<String> {
        let r = self
            .get_key(&self.api_key, "/api/v1/applications?stuck=true")
            .await;
        assert_eq!(r.status(), 200);
        let r: serde_json::Value = r.json().await.unwrap();
        let mut out: Vec<String> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["email"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    }
}

#[tokio::test]
async fn idle_nudge_nudges_once_per_stay_over_the_stage_limit_and_the_stuck_filter_shows_them() {
    // The phone screen is a review stage the admin gives a limit.
    let app = spawn_app_at(
        |s| {
            s.pipeline
                .idle_limits
                .insert("phone_screen".into(), "7d".parse().unwrap());
        },
        Clock::manual(onramp::domain::now()),
    )
    .await;
    let u1 = app.shortlisted("u1@x.test").await;
    let u2 = app.shortlisted("u2@x.test").await;
    let u3 = app.shortlisted("u3@x.test").await;
    let u4 = app.shortlisted("u4@x.test").await;
    app.moved(&u3, "rejected").await;
    onramp::usecases::reminders::unsubscribe(&app.db, u2.parse().unwrap(), app.db.now())
        .await
        .unwrap();
    app.advance(Duration::days(3));
    app.moved(&u4, "phone_screen").await;
    app.drain().await;

    // Shortlisted has a 7-day limit: six days on, nobody is stuck.
    app.advance(Duration::days(3));
    assert_eq!(app.tick(Job::IdleNudge).await, 0);
    assert!(app.stuck().await.is_empty());
    // Past it: u1 is nudged; u2 is stuck too but unsubscribed; u3 was rejected (no limit).
    app.advance(Duration::days(1) + Duration::hours(1));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::IdleNudge).await, 1);
    app.drain().await;
    let mail = app.new_mail(seen, "u1@x.test");
    assert_eq!(mail.len(), 1);
    assert_eq!(subject(&mail[0]), "An update on your onramp application");
    assert!(decode_qp(&mail[0]).contains("Shortlisted"));
    unsubscribe_link(&mail[0], &app.base);
    assert_eq!(app.received().len(), seen + 1);
    assert_eq!(app.stuck().await, ["u1@x.test", "u2@x.test"]);
    // The admin page's filter says what the limits are.
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let page = app
        .get_as(&cookie, "/admin/applicants?stuck=true")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Limits: Quiz passed 5 days, Shortlisted 7 days, Phone screen 7 days, Onboarding 14 days, On hold 30 days."), "{page}");
    assert!(page.contains("u1@x.test") && page.contains("u2@x.test"));
    assert!(!page.contains("u4@x.test"));
    // u4 passes the phone screen's 7 days; u1 is not nudged twice for one stay.
    app.advance(Duration::days(3));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::IdleNudge).await, 1);
    app.drain().await;
    assert_eq!(app.new_mail(seen, "u4@x.test").len(), 1);
    assert!(app.new_mail(seen, "u1@x.test").is_empty());
    // A new stay in a stage may be nudged again.
    app.moved(&u1, "phone_screen").await;
    app.advance(Duration::days(7) + Duration::hours(1));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::IdleNudge).await, 1);
    app.drain().await;
    assert_eq!(app.new_mail(seen, "u1@x.test").len(), 1);
    // A bad value for the filter is named.
    let r = app
        .get_key(&app.api_key, "/api/v1/applications?stuck=maybe")
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("stuck"));
}

#[tokio::test]
async fn retention_purge_anonymises_old_endings_in_audited_batches_and_keeps_the_rest() {
    let t0 = onramp::domain::now();
    let app = app_at(t0).await;
    let rejected = app.shortlisted("old-rejected@x.test").await;
    let withdrawn = app.shortlisted("old-withdrawn@x.test").await;
    let kept = app.shortlisted("kept@x.test").await;
    let recent = app.shortlisted("recent@x.test").await;
    assert_eq!(app.apply(&valid_form("never@x.test")).await.status(), 303);
    app.moved(&rejected, "rejected").await;
    app.moved(&withdrawn, "withdrawn").await;
    // never@ expires a week on.
    app.advance(Duration::days(7) + Duration::hours(1));
    assert_eq!(app.tick(Job::VerifyReminder).await, 1);
    assert_eq!(
        app.status_of("never@x.test").await.as_deref(),
        Some("expired")
    );
    app.advance(Duration::days(140));
    app.moved(&recent, "rejected").await;
    app.drain().await;

    // Not yet six months.
    assert_eq!(app.tick(Job::RetentionPurge).await, 0);
    app.advance(Duration::days(45));
    let before = app.count("audit_log").await;
    assert_eq!(app.tick(Job::RetentionPurge).await, 3);
    for id in [&rejected, &withdrawn] {
        let a = onramp::store::applications::get(&app.db, id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(a.full_name, "Erased");
        assert!(a.email.ends_with("@erased.invalid"), "{}", a.email);
        assert!(a.phone.is_none());
    }
    assert_eq!(
        app.status_of("never@x.test").await,
        None,
        "the address is gone"
    );
    for who in ["kept@x.test", "recent@x.test"] {
        assert!(app.status_of(who).await.is_some(), "{who} kept");
    }
    assert_eq!(app.stage(&kept).await, "shortlisted");
    // One audit row for the batch, naming how many.
    assert_eq!(app.count("audit_log").await, before + 1);
    let rows = app.table_rows("audit_log").await;
    let purge: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("application.retention_purge"))
        .collect();
    assert_eq!(purge.len(), 1);
    assert!(purge[0].contains(r#"anonymised\":3"#), "{}", purge[0]);
}

impl TestApp {
    /// Puts applications `ids` in stage `to` as of now (a state the API reaches through steps
    /// these retention rules do not depend on).
    async fn in_stage(&self, ids: &[&String], to: &str) {
        for id in ids {
            let id: uuid::Uuid = id.parse().unwrap();
            onramp::on_writer!(&self.db, p => sqlx::query(
                "UPDATE applications SET status = $2, stage_since = $3 WHERE id = $1")
                .bind(id).bind(to).bind(self.db.now()).execute(p).await.map(|_| ()))
            .unwrap();
        }
    }

    async fn sql(&self, sql: &str) {
        let now = self.db.now();
        onramp::on_writer!(&self.db, p => sqlx::query(sql).bind(now).execute(p).await
            .map(|_| ()))
        .unwrap();
    }
}

#[tokio::test]
async fn retention_covers_failed_quizzes_closed_waitlists_old_agents_and_webhook_deliveries() {
    let app = app_at(onramp::domain::now()).await;
    let failed = app.shortlisted("failed@x.test").await;
    let agent = app.shortlisted("agent@x.test").await;
    let closed_wait = app.shortlisted("closed-wait@x.test").await;
    let open_wait = app.shortlisted("open-wait@x.test").await;
    let closing = app.made_cohort(&cohort_request("Closing pilot")).await;
    let running = app.made_cohort(&cohort_request("Running pilot")).await;
    app.offer(&closing, &[&closed_wait]).await;
    app.offer(&running, &[&open_wait]).await;
    app.in_stage(&[&failed], "quiz_failed").await;
    app.in_stage(&[&agent], "offboarded").await;
    app.in_stage(&[&closed_wait, &open_wait], "waitlisted")
        .await;
    app.sql(
        "UPDATE offers SET status = 'waitlisted' WHERE status = 'pending' AND created_at <= $1",
    )
    .await;
    // A webhook with one delivery done and one still pending, made now.
    app.sql(
        "INSERT INTO webhooks (id, url, secret, events, created_by, created_at) VALUES \
         ('00000000-0000-7000-8000-000000000001', 'https://hooks.example.com/x', \
          'a-secret-of-enough-length-0123456789', 'application.moved', 'admin', $1)",
    )
    .await;
    for (id, status) in [("2", "delivered"), ("3", "pending")] {
        app.sql(&format!(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, body, status, \
             next_attempt_at, created_at) VALUES ('00000000-0000-7000-8000-00000000000{id}', \
             '00000000-0000-7000-8000-000000000001', 'application.moved', '{{}}', '{status}', \
             $1, $1)"
        ))
        .await;
    }
    // A month on, the first cohort closes.
    app.advance(Duration::days(30));
    let closing_id: uuid::Uuid = closing.parse().unwrap();
    onramp::on_writer!(&app.db, p => sqlx::query(
        "UPDATE cohorts SET marked = 'closed', updated_at = $2 WHERE id = $1")
        .bind(closing_id).bind(app.db.now()).execute(p).await.map(|_| ()))
    .unwrap();
    // Six months after the endings, a month short of six after the close: only the failed quiz.
    app.advance(Duration::days(160));
    assert_eq!(app.tick(Job::RetentionPurge).await, 1);
    assert_eq!(app.status_of("failed@x.test").await, None);
    assert_eq!(
        app.count("webhook_deliveries").await,
        1,
        "the pending one stays"
    );
    // Six months after the close: the waitlisted of the closed cohort, not of the open one.
    app.advance(Duration::days(35));
    assert_eq!(app.tick(Job::RetentionPurge).await, 1);
    assert_eq!(app.status_of("closed-wait@x.test").await, None);
    assert!(app.status_of("open-wait@x.test").await.is_some());
    // An offboarded agent is kept for two years, then anonymised.
    assert!(app.status_of("agent@x.test").await.is_some());
    app.advance(Duration::days(540));
    assert_eq!(app.tick(Job::RetentionPurge).await, 1);
    assert_eq!(app.status_of("agent@x.test").await, None);
    assert!(app.status_of("open-wait@x.test").await.is_some());
    for id in [&failed, &agent, &closed_wait] {
        let a = onramp::store::applications::get(&app.db, id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(a.full_name, "Erased");
    }
    // The privacy page says each rule with its months.
    let page = app.get("/privacy").await.text().await.unwrap();
    for rule in [
        "6 months after your application ended",
        "6 months after that group closed",
        "24 months after you stopped",
    ] {
        assert!(page.contains(rule), "{rule}: {page}");
    }
}

#[tokio::test]
async fn weekly_report_mails_every_manager_the_weeks_figures_with_the_chart_inline() {
    // A Wednesday a few weeks from today, at noon.
    use chrono::Datelike;
    let mut wednesday = onramp::domain::now().date_naive() + chrono::Days::new(14);
    while wednesday.weekday() != chrono::Weekday::Wed {
        wednesday = wednesday + chrono::Days::new(1);
    }
    let week = format!(
        "{}-W{:02}",
        wednesday.iso_week().year(),
        wednesday.iso_week().week()
    );
    let app = app_at(wednesday.and_hms_opt(12, 0, 0).unwrap().and_utc()).await;
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed");
    onramp::seed::load_headcount(&app.db, &seed.join("headcount.toml"))
        .await
        .unwrap();
    // Three activations and one offboarding in Sweden this week.
    let mut tx = app.db.begin().await.unwrap();
    for (from, to) in [
        ("onboarding", "live"),
        ("onboarding", "live"),
        ("onboarding", "live"),
        ("live", "offboarded"),
    ] {
        onramp::usecases::reports::record_live_step(&mut tx, "SE", from, to, app.db.now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    app.staff_user("max@onramp.test", "manager").await;
    app.staff_user("mia@onramp.test", "manager").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::users::disable(&mut tx, "mia@onramp.test", app.db.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Monday 08:00: the managers who can sign in get last week's report; nobody else.
    app.clock.set(
        (wednesday + chrono::Days::new(5))
            .and_hms_opt(8, 0, 0)
            .unwrap()
            .and_utc(),
    );
    let seen = app.received().len();
    assert_eq!(app.tick(Job::WeeklyReport).await, 1);
    app.drain().await;
    let received = app.received();
    assert_eq!(received.len(), seen + 1);
    let mail = app.new_mail(seen, "max@onramp.test");
    assert_eq!(mail.len(), 1);
    let raw = &mail[0];
    assert!(
        subject(raw).contains("2 live pilot agents"),
        "{}",
        subject(raw)
    );
    assert!(
        subject(raw).contains(&format!("({week})")),
        "{}",
        subject(raw)
    );
    let text = decode_qp(raw);
    assert!(text.contains("Agents activated: 3"), "{text}");
    assert!(text.contains("Agents offboarded: 1"), "{text}");
    assert!(text.contains("Outsourced headcount: "), "{text}");
    assert!(
        text.contains(&format!("{}/reports?from=", app.base)),
        "{text}"
    );
    // The chart is a PNG inside the email, referred to by content id; no remote image.
    assert!(raw.contains("multipart/related"), "{raw}");
    assert!(raw.contains("Content-Type: image/png"), "{raw}");
    assert!(raw.contains("Content-ID: <replacement-chart>"), "{raw}");
    assert!(text.contains("src=\"cid:replacement-chart\""), "{text}");
    assert!(raw.contains("iVBORw0KGgo"), "the PNG signature, base64");
    assert!(!text.contains("<img src=\"http"));
    // Staff mail: no unsubscribe.
    essential(raw);

    // The next week's report is a new email.
    app.advance(Duration::days(7));
    assert_eq!(app.tick(Job::WeeklyReport).await, 1);
}

/// Waits (polling) until `done` says so, at most 20 s.
async fn until<F, Fut>(what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_for(what, done, || {}).await;
}

/// Looks every 20 ms, doing `between` after each miss, until `done`; fails after 20 s.
async fn wait_for<F, Fut>(what: &str, done: F, between: impl Fn())
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        between();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// The finished ticks of `job`, by fire time, with their outcome and items.
    async fn runs(&self, job: &str) -> Vec<(DateTime<Utc>, String, i64)> {
        onramp::on_db!(&self.db, p => sqlx::query_as(
            "SELECT fire_at, outcome, items FROM job_runs WHERE job = $1 \
             AND finished_at IS NOT NULL ORDER BY fire_at")
            .bind(job).fetch_all(p).await)
        .unwrap()
    }

    /// Starts another instance of the app on the same database, SMTP server and clock, running
    /// its scheduler and dispatcher; it stops when the returned sender is dropped.
    async fn instance(&self) -> tokio::sync::oneshot::Sender<()> {
        let mut settings = (*self.settings).clone();
        // Its own port; its links name the same site.
        settings.base_url = Some(self.base.clone());
        settings.bind = "127.0.0.1:0".parse().unwrap();
        let mailer = onramp::email::Mailer::from_settings(&settings).unwrap();
        let app = onramp::app::Application::build_with_clock(settings, mailer, self.clock.clone())
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run(
            async move {
                let _ = stopped.await;
            },
            true,
        ));
        stop
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_run_each_tick_once_and_deliver_each_email_once_over_a_series_of_ticks() {
    let app = spawn_app_at(
        |s| {
            s.jobs.verify_reminder = "0 0 * * * *".into();
            s.jobs.verify_reminder_after = "1h".parse().unwrap();
            s.jobs.verify_expire_after = "3h".parse().unwrap();
        },
        Clock::manual(at("2026-06-01T00:30:00Z")),
    )
    .await;
    let one = app.instance().await;
    let two = app.instance().await;
    let people: Vec<String> = (0..6).map(|i| format!("p{i}@x.test")).collect();
    for who in &people {
        assert_eq!(app.apply(&valid_form(who)).await.status(), 303);
    }
    // The instances' dispatchers send the verification links.
    until_a_while(&app, "the links", || async { app.received().len() == 6 }).await;

    let mut fired = Vec::new();
    let mut mailed = 6;
    for (hour, reminded) in [(1, 0), (2, 6), (3, 0), (4, 0)] {
        let fire = at(&format!("2026-06-01T0{hour}:00:00Z"));
        app.clock.set(fire);
        until("the tick", || async {
            app.runs("verify_reminder")
                .await
                .iter()
                .any(|(f, ..)| *f == fire)
        })
        .await;
        fired.push(fire);
        let runs = app.runs("verify_reminder").await;
        let this = runs.iter().find(|(f, ..)| *f == fire).unwrap();
        assert_eq!(this.1, "ok", "{runs:?}");
        let expected = if hour == 4 { 6 } else { reminded };
        assert_eq!(this.2, expected, "tick at {hour}:00: {runs:?}");
        // An hour passes between ticks, so what a tick queued is out before the clock moves
        // on: jumping the clock an hour while a send is in flight would end its lease, and the
        // other instance would rightly send it again.
        mailed += reminded as usize;
        until_a_while(&app, "the reminders", || async {
            app.received().len() >= mailed
        })
        .await;
    }
    // Six reminders, delivered by whichever instance claimed them, once each.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let received = app.received();
    assert_eq!(received.len(), 12, "nothing more arrives");
    assert_each_sent_once(&received);
    for who in &people {
        let mail = mail_to(&received, who);
        assert_eq!(mail.len(), 2, "{who}: a link and one reminder");
        assert_eq!(app.status_of(who).await.as_deref(), Some("expired"));
    }
    // Each tick ran once, on one instance: one row per fire time, no others.
    let runs = app.runs("verify_reminder").await;
    let times: Vec<DateTime<Utc>> = runs.iter().map(|(f, ..)| *f).collect();
    assert_eq!(times, fired);
    assert_eq!(app.count("outbox").await, 12);
    drop((one, two));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_keep_their_local_hour_across_the_spring_change_in_stockholm() {
    let app = spawn_app_at(
        |s| {
            s.jobs.time_zone = chrono_tz::Europe::Stockholm;
            s.jobs.live_snapshot = "0 0 9 * * *".into();
        },
        Clock::manual(at("2026-03-27T12:00:00Z")),
    )
    .await;
    let instance = app.instance().await;
    // 9:00 in Stockholm is 08:00 UTC on Saturday (CET) and 07:00 UTC on Sunday (CEST).
    for fire in ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"] {
        let fire = at(fire);
        // A minute before, nothing runs.
        app.clock.set(fire - Duration::minutes(1));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!app
            .runs("live_snapshot")
            .await
            .iter()
            .any(|(f, ..)| *f == fire));
        app.clock.set(fire);
        until("the 9:00 tick", || async {
            app.runs("live_snapshot")
                .await
                .iter()
                .any(|(f, ..)| *f == fire)
        })
        .await;
    }
    let runs: Vec<DateTime<Utc>> = app
        .runs("live_snapshot")
        .await
        .into_iter()
        .map(|(f, ..)| f)
        .collect();
    assert_eq!(
        runs,
        [at("2026-03-28T08:00:00Z"), at("2026-03-29T07:00:00Z")]
    );
    drop(instance);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_that_fails_halfway_keeps_what_it_committed_and_the_next_tick_does_the_rest() {
    let app = app_at(at("2026-06-01T00:00:00Z")).await;
    for who in ["old1@x.test", "old2@x.test"] {
        assert_eq!(app.apply(&valid_form(who)).await.status(), 303);
    }
    app.advance(Duration::days(6) + Duration::hours(1));
    for who in ["new@x.test", "boom@x.test"] {
        assert_eq!(app.apply(&valid_form(who)).await.status(), 303);
    }
    app.drain().await;
    // The outbox refuses the reminder to boom@ (a fault injected for the test).
    let refuse = match &app.db.pools {
        onramp::store::Pools::Sqlite { .. } => vec![
            "CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN NEW.recipient = 'boom@x.test' \
             AND NEW.template = 'verify_reminder' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        ],
        onramp::store::Pools::Postgres(_) => vec![
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN \
             IF NEW.recipient = 'boom@x.test' AND NEW.template = 'verify_reminder' THEN \
             RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER boom BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION boom()",
        ],
    };
    for sql in &refuse {
        onramp::on_writer!(&app.db, p => sqlx::query(sql).execute(p).await.map(|_| ())).unwrap();
    }
    // A day and a bit on: old1 and old2 expire (committed); the reminders fail with boom@.
    app.advance(Duration::days(1) + Duration::hours(1));
    let outcome = onramp::jobs::run_now(&app.db, &app.settings, Job::VerifyReminder).await;
    assert!(outcome.is_err(), "{outcome:?}");
    let runs = app.runs("verify_reminder").await;
    assert_eq!(runs.len(), 1);
    assert!(runs[0].1.contains("injected fault"), "{runs:?}");
    for who in ["old1@x.test", "old2@x.test"] {
        assert_eq!(
            app.status_of(who).await.as_deref(),
            Some("expired"),
            "{who}"
        );
    }
    // Consistent: no reminder counted as sent without its email, and no email queued.
    assert_eq!(app.count("reminders").await, 0);
    assert_eq!(
        onramp::on_db!(&app.db, p => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE template = 'verify_reminder'").fetch_one(p).await)
        .unwrap(),
        0
    );
    // The fault is fixed; the next tick does the rest, and nothing twice.
    let drop_sql = match &app.db.pools {
        onramp::store::Pools::Sqlite { .. } => "DROP TRIGGER boom",
        onramp::store::Pools::Postgres(_) => "DROP TRIGGER boom ON outbox",
    };
    onramp::on_writer!(&app.db, p => sqlx::query(drop_sql).execute(p).await.map(|_| ())).unwrap();
    app.advance(Duration::minutes(10));
    assert_eq!(app.tick(Job::VerifyReminder).await, 2);
    let seen = app.received().len();
    app.drain().await;
    assert_eq!(app.received().len(), seen + 2);
    assert_eq!(app.new_mail(seen, "boom@x.test").len(), 1);
    assert_eq!(app.new_mail(seen, "new@x.test").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_downtime_the_newest_missed_tick_inside_the_window_is_caught_up_once() {
    // 09:00 and 10:00 were missed; it is 10:30. The newest missed tick inside the window runs.
    for (window, caught_up) in [
        ("6h", Some("2026-06-01T10:00:00Z")),
        ("1h", Some("2026-06-01T10:00:00Z")),
        ("20m", None),
    ] {
        let app = spawn_app_at(
            |s| {
                s.jobs.verify_reminder = "0 0 * * * *".into();
                s.jobs.catch_up_window = window.parse().unwrap();
            },
            Clock::manual(at("2026-06-01T10:30:00Z")),
        )
        .await;
        // The last tick any instance ran was at 08:00; 09:00 and 10:00 were missed.
        let last = at("2026-06-01T08:00:00Z");
        onramp::on_writer!(&app.db, p => sqlx::query(
            "INSERT INTO job_runs (job, fire_at, started_at, finished_at, outcome, items) \
             VALUES ('verify_reminder', $1, $1, $1, 'ok', 0)")
            .bind(last).execute(p).await.map(|_| ()))
        .unwrap();
        let instance = app.instance().await;
        if let Some(t) = caught_up {
            until("the catch-up", || async {
                app.runs("verify_reminder")
                    .await
                    .iter()
                    .any(|(f, ..)| *f == at(t))
            })
            .await;
        }
        // Then the schedule goes on: 11:00 runs. The instance schedules from when it started
        // (10:30), and catches up before its first sleep, so once 11:00 has run every catch-up
        // there was to be is in the table.
        let scheduled = at("2026-06-01T11:00:00Z");
        app.clock.set(scheduled);
        until("the 11:00 tick", || async {
            app.runs("verify_reminder")
                .await
                .iter()
                .any(|(f, ..)| *f == scheduled)
        })
        .await;
        let runs: Vec<DateTime<Utc>> = app
            .runs("verify_reminder")
            .await
            .into_iter()
            .map(|(f, ..)| f)
            .collect();
        let mut expected = vec![last];
        expected.extend(caught_up.map(at));
        expected.push(scheduled);
        assert_eq!(runs, expected, "window {window}");
        drop(instance);
    }
}
