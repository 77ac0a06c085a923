//! Applicant links off the happy path: the status page bookmarked after confirming, old emails,
//! a quiz open in two tabs. Routine emails end no link; only a link the applicant asks for does.

use crate::helpers::*;

/// The `Location` of a redirect, as a path.
fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "a redirect");
    r.headers()["location"].to_str().unwrap().to_string()
}

impl TestApp {
    /// Signs up and presses "Confirm my email" on the verification page: the status page the
    /// redirect lands on (without its `?confirmed=1`), the link the page asks to bookmark.
    async fn confirmed_bookmark(&self, email: &str) -> String {
        assert_eq!(self.apply(&valid_form(email)).await.status(), 303);
        self.drain().await;
        let received = self.received();
        let verify = link(mail_to(&received, email)[0], &self.base, "/verify/").unwrap();
        let r = self
            .post_form(verify.strip_prefix(&self.base).unwrap(), "")
            .await;
        let landed = location(&r);
        let page = self.get(&landed).await;
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("Bookmark this page"));
        landed.trim_end_matches("?confirmed=1").to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_link_from_confirming_outlives_every_routine_email() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    let email = "bookmark@example.com";
    let bookmark = app.confirmed_bookmark(email).await;

    // The quiz invitation goes out with links of its own; the bookmark still works, and its
    // "Start the quiz" button opens the quiz.
    assert_eq!(app.drain().await.sent, 1);
    assert_eq!(app.get(&bookmark).await.status(), 200);
    let quiz = location(&app.post_form(&format!("{bookmark}/quiz"), "").await);
    assert!(quiz.starts_with("/quiz/"), "{quiz}");
    assert_eq!(
        app.post_form(&format!("{quiz}/start"), "").await.status(),
        303
    );
    app.answer_all(&quiz, email, false).await;
    let attempt = app.latest_attempt(email).await;
    assert_eq!(app.submit(&quiz, attempt.id).await.status(), 303);
    // The result email goes out too. Every link the applicant was given still works.
    assert_eq!(app.drain().await.sent, 1);
    let received = app.received();
    let invitation_quiz = link(mail_to(&received, email)[1], &app.base, "/quiz/").unwrap();
    for still in [
        bookmark.clone(),
        quiz.clone(),
        invitation_quiz.replace(&app.base, ""),
    ] {
        assert_eq!(app.get(&still).await.status(), 200, "{still}");
    }
    // Reloading the result page works too.
    assert_eq!(app.get(&quiz).await.status(), 200);

    // Asking for a new link ends the earlier ones; the new one works.
    let token = bookmark.rsplit('/').next().unwrap();
    let r = app
        .post_form("/links/renew", encode(&[("token", token.to_string())]))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.drain().await.sent, 1);
    let received = app.received();
    let newest = mail_to(&received, email).last().unwrap().to_string();
    let fresh = link(&newest, &app.base, "/status/").unwrap();
    assert_eq!(app.get(&fresh.replace(&app.base, "")).await.status(), 200);
    let old = app.get(&bookmark).await;
    assert_eq!(old.status(), 410);
    assert!(old.text().await.unwrap().contains("Email me a new link"));
    assert_eq!(app.get(&quiz).await.status(), 410);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiz_continued_in_a_second_tab_keeps_the_first_tab_working() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "tabs@example.com";
    let bookmark = app.confirmed_bookmark(email).await;
    app.drain().await;
    // Tab 1 starts the quiz from the invitation.
    let received = app.received();
    let tab1 = link(mail_to(&received, email)[1], &app.base, "/quiz/")
        .unwrap()
        .replace(&app.base, "");
    assert_eq!(
        app.post_form(&format!("{tab1}/start"), "").await.status(),
        303
    );
    let attempt = app.latest_attempt(email).await;
    let items = onramp::store::attempts::items(&app.db, attempt.id)
        .await
        .unwrap();
    // Tab 2 opens the status page and presses "Continue my quiz".
    let page = app.get(&bookmark).await.text().await.unwrap();
    assert!(page.contains("Continue my quiz"), "{page}");
    let tab2 = location(&app.post_form(&format!("{bookmark}/quiz"), "").await);
    assert_ne!(tab1, tab2);
    // Tab 2 lands in the same attempt.
    let landed = location(&app.get(&tab2).await);
    assert_eq!(landed, format!("{tab2}/q/1"));
    // Back in tab 1, "Save and next" saves.
    let first = &items[0];
    let r = app
        .post_answer(&tab1, attempt.id, first, &answer_fields(first, false))
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // Tab 2 answers the same question again: the last answer saved wins.
    let r = app
        .post_answer(&tab2, attempt.id, first, &answer_fields(first, true))
        .await;
    assert_eq!(r.status(), 303);
    let saved = onramp::store::attempts::items(&app.db, attempt.id)
        .await
        .unwrap();
    assert!(saved[0].answer.is_some());
    // Either tab finishes the attempt; one attempt, scored once.
    for item in &items[1..] {
        let r = app
            .post_answer(&tab1, attempt.id, item, &answer_fields(item, true))
            .await;
        assert_eq!(r.status(), 303);
    }
    assert_eq!(app.submit(&tab2, attempt.id).await.status(), 303);
    let done = app.latest_attempt(email).await;
    assert_eq!(done.id, attempt.id);
    assert_eq!(
        done.passed,
        Some(true),
        "the right answer from tab 2 counted"
    );
    assert_eq!(app.count("quiz_attempts").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_goes_forward_and_every_quiz_and_offer_page_has_a_way_to_the_status_page() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.load_checklist().await;
    let email = "enter@example.com";
    let (quiz, _) = app.start_quiz(email).await;
    // Enter submits a form's first submit button: on question 2 that is the forward one.
    let html = app.get(&format!("{quiz}/q/2")).await.text().await.unwrap();
    let first_submit = html
        .split("type=\"submit\"")
        .nth(1)
        .expect("a submit button");
    assert!(
        first_submit
            .trim_start()
            .starts_with("name=\"go\" value=\"next\""),
        "{html}"
    );
    assert!(html.contains("value=\"prev\""), "go back is still there");
    // The result page, and a reload of it, leads to the status page.
    app.answer_all(&quiz, email, true).await;
    let attempt = app.latest_attempt(email).await;
    assert_eq!(app.submit(&quiz, attempt.id).await.status(), 303);
    for _ in 0..2 {
        let page = app.get(&quiz).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("action=\"{quiz}/status\"")),
            "{html}"
        );
    }
    let status = location(&app.post_form(&format!("{quiz}/status"), "").await);
    assert!(status.starts_with("/status/"), "{status}");
    assert_eq!(app.get(&status).await.status(), 200);
    // A dead quiz link says why and offers a new one instead.
    let dead = app.post_form("/quiz/not-a-token/status", "").await;
    assert_eq!(dead.status(), 410);
    assert!(dead.text().await.unwrap().contains("Email me a new link"));

    // The accepted-offer page leads to the status page, whose checklist is the next step.
    let id = app.shortlisted("seat@example.com").await;
    let cohort = app.made_cohort(&cohort_request("Way on")).await;
    app.offer(&cohort, &[&id]).await;
    let offer = app.offer_link("seat@example.com").await;
    assert_eq!(app.post_form(&offer, "choice=accept").await.status(), 303);
    let html = app.get(&offer).await.text().await.unwrap();
    assert!(html.contains("Your seat is confirmed"), "{html}");
    assert!(
        html.contains(&format!("action=\"{offer}/status\"")),
        "{html}"
    );
    let status = location(&app.post_form(&format!("{offer}/status"), "").await);
    let html = app.get(&status).await.text().await.unwrap();
    assert!(html.contains("Onboarding checklist"), "{html}");
    assert!(
        html.contains("Work through your onboarding checklist"),
        "{html}"
    );
    assert!(!html.contains("we emailed you"), "{html}");
    // A bandwidth figure the page cannot read is named, and stays in its field to correct.
    let r = app
        .post_form(
            &format!("{status}/checklist/equipment_check"),
            "done=true&bandwidth_mbps=fast",
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"value="fast""#), "{html}");
    assert!(html.contains("Enter the bandwidth as a number"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waitlisted_applicant_sees_their_place_and_can_leave_but_not_accept() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("Two seats");
    body["capacity"] = serde_json::json!(2);
    body["waitlist"] = serde_json::json!(true);
    let cohort = app.made_cohort(&body).await;
    let emails = ["w1@example.com", "w2@example.com", "w3@example.com"];
    let mut ids = Vec::new();
    for e in emails {
        ids.push(app.shortlisted(e).await);
    }
    app.offer(&cohort, &ids.iter().collect::<Vec<_>>()).await;
    let mut offers = Vec::new();
    for e in emails {
        offers.push(app.offer_link(e).await);
    }
    for o in &offers {
        assert_eq!(app.post_form(o, "choice=accept").await.status(), 303);
    }
    assert_eq!(app.seats_taken(&cohort).await, 2);
    // The third is on the waitlist: their page shows their place, what happens when a seat
    // opens, and a way to leave; nothing to accept or answer by.
    let html = app.get(&offers[2]).await.text().await.unwrap();
    assert!(html.contains("You are on the waitlist"), "{html}");
    assert!(html.contains("number 1</strong> in line"), "{html}");
    assert!(html.contains("Leave the waitlist"), "{html}");
    for gone in [
        "Accept the seat",
        "Answer by",
        "Decline the offer",
        "Accepting starts",
    ] {
        assert!(!html.contains(gone), "{gone}: {html}");
    }
    // The status page agrees, and its button opens the same page.
    let received = app.received();
    // Any of their emails with a status link (one round delivers in any order).
    let status = mail_to(&received, emails[2])
        .iter()
        .rev()
        .find_map(|m| link(m, &app.base, "/status/"))
        .expect("a status link")
        .replace(&app.base, "");
    let html = app.get(&status).await.text().await.unwrap();
    assert!(html.contains("number 1 in line"), "{html}");
    assert!(!html.contains("Look in your email"), "{html}");
    let opened = location(&app.post_form(&format!("{status}/offer"), "").await);
    assert!(opened.starts_with("/offer/"), "{opened}");
    let html = app.get(&opened).await.text().await.unwrap();
    assert!(html.contains("You are on the waitlist"), "{html}");
    // Leaving: back on the shortlist, the seats unchanged.
    assert_eq!(app.post_form(&opened, "choice=decline").await.status(), 303);
    assert_eq!(app.stage(&ids[2]).await, "shortlisted");
    assert_eq!(app.seats_taken(&cohort).await, 2);
    // The first two hold their seats; the status page offers no offer to open any more.
    let html = app.get(&status).await.text().await.unwrap();
    assert!(!html.contains("See the waitlist"), "{html}");
}
