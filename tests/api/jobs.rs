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
    for who in ["a@x.test", "b@x.test", "c@x.test", "d@x.test"] {
        assert_eq!(app.apply(&valid_form(who)).await.status(), 303);
    }
    app.drain().await;
    let first = app.received();
    assert_eq!(first.len(), 4);
    first.iter().for_each(|m| essential(m));
    // b confirms straight away.
    let b_link = link(mail_to(&first, "b@x.test")[0], &app.base, "/verify/").unwrap();
    app.confirm(&b_link).await;
    app.drain().await;

    // 23 hours on, nobody is due.
    app.advance(Duration::hours(23));
    assert_eq!(app.tick(Job::VerifyReminder).await, 0);
    // 25 hours on: a, c and d get one reminder each, b (confirmed) none.
    app.advance(Duration::hours(2));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::VerifyReminder).await, 3);
    app.drain().await;
    assert!(app.new_mail(seen, "b@x.test").is_empty());
    let mut unsubscribe = String::new();
    for who in ["a@x.test", "c@x.test", "d@x.test"] {
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

    // A week after their last link, a and c expire, without an email.
    app.advance(Duration::days(6));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::VerifyReminder).await, 2);
    app.drain().await;
    assert_eq!(app.received().len(), seen, "expiry sends nothing");
    for who in ["a@x.test", "c@x.test"] {
        assert_eq!(
            app.status_of(who).await.as_deref(),
            Some("expired"),
            "{who}"
        );
    }
    assert_eq!(app.status_of("b@x.test").await.as_deref(), Some("verified"));

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
    for who in ["p@x.test", "q@x.test"] {
        let mail = app.new_mail(seen, who);
        assert_eq!(mail.len(), 1, "{who}");
        assert!(
            subject(&mail[0]).starts_with("Reminder: your"),
            "{}",
            subject(&mail[0])
        );
        unsubscribe_link(&mail[0], &app.base);
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
    // And never again.
    app.advance(Duration::days(30));
    assert_eq!(app.tick(Job::QuizReminder).await, 0);
}

#[tokio::test]
async fn offer_reminders_remind_before_expiry_release_on_expiry_and_remind_members_before_the_start(
) {
    // The cohort starts 2027-03-01 in Stockholm: 2027-02-28T23:00Z.
    let app = app_at(at("2027-02-20T12:00:00Z")).await;
    app.load_checklist().await;
    let cohort = app.made_cohort(&cohort_request("Pilot SE 3")).await;
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

    // The offers expire at 2027-02-23T12:00Z; 25 hours before, nothing is due.
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

    // 2027-02-26T00:00Z, under three days before the start: x is reminded with the steps left.
    app.clock.set(at("2027-02-26T00:00:00Z"));
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
    app.clock.set(at("2027-02-28T00:00:00Z"));
    let seen = app.received().len();
    assert_eq!(app.tick(Job::OfferReminders).await, 1);
    app.drain().await;
    assert_eq!(app.new_mail(seen, "x@x.test").len(), 1);
    // Once it started, nothing.
    app.clock.set(at("2027-03-01T06:00:00Z"));
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

#[tokio::test]
async fn weekly_report_mails_every_manager_the_weeks_figures_with_the_chart_inline() {
    // Wednesday of 2026-W50.
    let app = app_at(at("2026-12-09T12:00:00Z")).await;
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
    app.clock.set(at("2026-12-14T08:00:00Z"));
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
    assert!(subject(raw).contains("(2026-W50)"), "{}", subject(raw));
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
