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
    assert_eq!(app.post_form(&format!("{quiz}/start"), "").await.status(), 303);
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
    assert_eq!(app.post_form(&format!("{tab1}/start"), "").await.status(), 303);
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
    assert_eq!(done.passed, Some(true), "the right answer from tab 2 counted");
    assert_eq!(app.count("quiz_attempts").await, 1);
}
