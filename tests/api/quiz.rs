//! Taking the skills quiz over HTTP: invitation, start, answer, submit, score, status; the
//! deadline, attempts and cooldown, tampered forms and foreign tokens.

use onramp::domain::quiz::{Answer, Kind};
use onramp::jobs::{self, Job};
use onramp::store::attempts::{self, Item};
use onramp::{on_db, on_writer};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_quiz_path_over_http() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "quiz.taker@example.com";
    let quiz = app.invited(email).await;

    // Rules first, with the counts of the Swedish quiz.
    let rules = app.get(&quiz).await;
    assert_eq!(rules.status(), 200);
    let html = rules.text().await.unwrap();
    assert!(html.contains("Customer support skills (Sweden)"), "{html}");
    assert!(html.contains("18 questions"));
    assert!(html.contains("25 minutes"));
    assert!(html.contains("Attempts left: <strong>2</strong>"));

    let start = app.post_form(&format!("{quiz}/start"), "").await;
    assert_eq!(start.status(), 303);
    assert_eq!(start.headers()["location"], format!("{quiz}/q/1"));
    // A second start (double click) lands on the same attempt.
    let again = app.post_form(&format!("{quiz}/start"), "").await;
    assert_eq!(again.status(), 303);
    assert_eq!(app.count("quiz_attempts").await, 1);

    let attempt = app.latest_attempt(email).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    assert_eq!(items.len(), 18);
    // The draw is fixed: reloading shows the same question.
    let first = app.get(&format!("{quiz}/q/1")).await.text().await.unwrap();
    let reload = app.get(&format!("{quiz}/q/1")).await.text().await.unwrap();
    assert_eq!(first, reload);
    assert!(first.contains("Question 1 of 18"));

    // No page shows an answer key, an explanation, a weight, or the bank's choice keys.
    for item in &items {
        let page = app.get(&format!("{quiz}/q/{}", item.position)).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert_no_key(&html, item);
    }

    app.answer_all(&quiz, email, true).await;
    let review = app
        .get(&format!("{quiz}/review"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        review.contains("You have answered every question."),
        "{review}"
    );
    for item in &items {
        assert_no_key(&review, item);
    }

    let submitted = app.submit(&quiz, attempt.id).await;
    assert_eq!(submitted.status(), 303);
    // A double submit changes nothing.
    assert_eq!(app.submit(&quiz, attempt.id).await.status(), 303);
    assert_eq!(app.status_of(email).await.as_deref(), Some("quiz_passed"));
    let scored = app.latest_attempt(email).await;
    assert_eq!(scored.score_bp, Some(10_000));
    assert_eq!(scored.finished_by.as_deref(), Some("submitted"));
    let per_item: Vec<Option<i64>> = attempts::items(&app.db, attempt.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.score_bp)
        .collect();
    assert!(per_item.iter().all(|s| *s == Some(10_000)), "{per_item:?}");

    let result = app.get(&quiz).await.text().await.unwrap();
    assert!(
        result.contains("Your score: <strong>100%</strong>"),
        "{result}"
    );
    assert!(result.contains("Language: Swedish"));
    for item in &items {
        assert_no_key(&result, item);
    }

    app.drain().await;
    let received = app.received();
    let passed: Vec<_> = mail_to(&received, email)
        .into_iter()
        .filter(|m| decode_qp(m).contains("You passed the skills quiz"))
        .collect();
    assert_eq!(
        passed.len(),
        1,
        "one result email despite the double submit"
    );
    let status = link(passed[0], &app.base, "/status/").unwrap();
    let page = app
        .get(&status[app.base.len()..])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Skills quiz passed"), "{page}");
    assert!(page.contains("Tone and empathy"));
    assert!(page.contains("100%"));

    // The API shows the application without any of the quiz's keys either.
    let id: Uuid = attempt.application_id;
    let api = app
        .client
        .get(format!("{}/api/v1/applications/{id}", app.base))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(api.contains("quiz_passed"));
    for item in &items {
        assert_no_key(&api, item);
    }

    // The item statistics counted this attempt once per drawn question.
    let n: i64 =
        on_db!(&app.db, p => sqlx::query_scalar("SELECT CAST(SUM(n) AS BIGINT) FROM item_stats")
        .fetch_one(p).await)
        .unwrap();
    assert_eq!(n, 18);
}

fn assert_no_key(html: &str, item: &Item) {
    let q = &item.question;
    assert!(!html.contains(q.explanation.trim()), "explanation leaked");
    for leak in [
        "credit_bp",
        "\"credit\"",
        "\"rank\"",
        "weight_bp",
        "\"weight\"",
        "data-credit",
        "data-rank",
    ] {
        assert!(!html.contains(leak), "{leak} leaked");
    }
    for c in &q.choices {
        assert!(
            !html.contains(&format!("value=\"{}\"", c.key)),
            "bank choice key {:?} in the form",
            c.key
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_after_the_deadline_do_not_count_and_the_scheduler_closes_attempts() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let (a, b) = ("late.one@example.com", "left.open@example.com");
    let quiz_a = app.invited(a).await;
    let quiz_b = app.invited(b).await;
    for q in [&quiz_a, &quiz_b] {
        assert_eq!(app.post_form(&format!("{q}/start"), "").await.status(), 303);
    }
    let attempt = app.latest_attempt(a).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    let r = app
        .post_answer(
            &quiz_a,
            attempt.id,
            &items[0],
            &answer_fields(&items[0], true),
        )
        .await;
    assert_eq!(r.status(), 303);

    // Both attempts run out of time (deadline and grace both past), after A's first answer:
    // set in the past, not waited for.
    let past = onramp::domain::now() - chrono::Duration::minutes(1);
    on_writer!(&app.db, p => sqlx::query("UPDATE quiz_attempts SET deadline = $1, closes_at = $1")
        .bind(past).execute(p).await.map(|_| ()))
    .unwrap();
    // A's first answer came before that.
    on_writer!(&app.db, p => sqlx::query(
        "UPDATE attempt_items SET answered_at = $1 WHERE answered_at IS NOT NULL")
        .bind(past - chrono::Duration::minutes(1)).execute(p).await.map(|_| ()))
    .unwrap();

    // A's late answer is not stored; the page sends A to the result, scored from what was
    // saved in time: one right answer out of 18 fails.
    let late = app
        .post_answer(
            &quiz_a,
            attempt.id,
            &items[1],
            &answer_fields(&items[1], true),
        )
        .await;
    assert_eq!(late.status(), 303);
    assert_eq!(late.headers()["location"], quiz_a.as_str());
    let result = app.get(&quiz_a).await.text().await.unwrap();
    let after = attempts::items(&app.db, attempt.id).await.unwrap();
    assert!(after[1].answer.is_none());
    assert!(result.contains("The time ran out"), "{result}");
    assert_eq!(app.status_of(a).await.as_deref(), Some("quiz_failed"));
    let scored = app.latest_attempt(a).await;
    assert_eq!(scored.finished_by.as_deref(), Some("timed_out"));
    assert_eq!(after[0].score_bp, Some(10_000));
    assert!(scored.score_bp.unwrap() > 0 && scored.score_bp.unwrap() < 7_000);

    // B never came back: the scheduled job closes B's attempt, once per tick.
    let fire = onramp::domain::now();
    assert_eq!(
        jobs::tick(&app.db, &app.settings, Job::CloseQuizAttempts, fire)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        jobs::tick(&app.db, &app.settings, Job::CloseQuizAttempts, fire)
            .await
            .unwrap(),
        None
    );
    assert_eq!(app.status_of(b).await.as_deref(), Some("quiz_failed"));
    assert_eq!(
        app.latest_attempt(b).await.finished_by.as_deref(),
        Some("timed_out")
    );
    app.drain().await;
    let received = app.received();
    let failed = mail_to(&received, b)
        .into_iter()
        .find(|m| decode_qp(m).contains("Your skills quiz result"))
        .expect("result email");
    assert!(decode_qp(failed).contains("The time ran out before you submitted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_and_cooldown_are_enforced_by_the_server() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "retry@example.com";
    let quiz = app.invited(email).await;

    // Fail the first attempt.
    assert_eq!(
        app.post_form(&format!("{quiz}/start"), "").await.status(),
        303
    );
    app.answer_all(&quiz, email, false).await;
    let first = app.latest_attempt(email).await;
    assert_eq!(app.submit(&quiz, first.id).await.status(), 303);
    assert_eq!(app.status_of(email).await.as_deref(), Some("quiz_failed"));

    // During the 72-hour cooldown a start is refused, and says when to come back.
    let refused = app.post_form(&format!("{quiz}/start"), "").await;
    assert_eq!(refused.status(), 409);
    let html = refused.text().await.unwrap();
    assert!(html.contains("You can try again from"), "{html}");
    assert_eq!(app.count("quiz_attempts").await, 1);
    app.drain().await;
    let received = app.received();
    let mail = mail_to(&received, email)
        .into_iter()
        .find(|m| decode_qp(m).contains("Your skills quiz result"))
        .unwrap();
    assert!(decode_qp(mail).contains("You can try again from"));
    // The result email carries a fresh quiz link; the invitation's link keeps working too (a
    // routine email ends no link), and both lead to the same applicant's quiz.
    let fresh = link(&decode_qp(mail), &app.base, "/quiz/").expect("a quiz link in the result");
    let fresh = fresh.replace(&app.base, "");
    assert_ne!(fresh, quiz);
    assert_eq!(
        app.get(&quiz).await.status(),
        200,
        "the invitation's link still works"
    );
    let quiz = fresh;

    // Without the cooldown the second attempt starts, with its own draw; failing it uses up
    // the attempts.
    app.edit_quiz("agents-sweden", |d| d.cooldown_hours = 0)
        .await;
    assert_eq!(
        app.post_form(&format!("{quiz}/start"), "").await.status(),
        303
    );
    let second = app.latest_attempt(email).await;
    assert_eq!(second.number, 2);
    app.answer_all(&quiz, email, false).await;
    assert_eq!(app.submit(&quiz, second.id).await.status(), 303);

    let exhausted = app.post_form(&format!("{quiz}/start"), "").await;
    assert_eq!(exhausted.status(), 409);
    assert!(exhausted
        .text()
        .await
        .unwrap()
        .contains("used all your attempts"));
    assert_eq!(app.count("quiz_attempts").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_forms_and_foreign_tokens_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let (a, b) = ("owner@example.com", "intruder@example.com");
    let quiz_a = app.invited(a).await;
    let quiz_b = app.invited(b).await;
    for q in [&quiz_a, &quiz_b] {
        assert_eq!(app.post_form(&format!("{q}/start"), "").await.status(), 303);
    }
    let attempt_a = app.latest_attempt(a).await;
    let items = attempts::items(&app.db, attempt_a.id).await.unwrap();
    let item = &items[0];

    // A question id that is not this item's.
    let other = Uuid::now_v7();
    let r = app
        .post_form(
            &format!("{quiz_a}/q/1"),
            encode(&[
                ("attempt", attempt_a.id.to_string()),
                ("question", other.to_string()),
                ("answer", "1".into()),
            ]),
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#question\""), "{html}");

    // A choice the question does not have.
    let field = if item.question.kind == Kind::Judgement {
        "best"
    } else {
        "answer"
    };
    let mut bad = vec![(field, "9".to_string())];
    if field == "best" {
        bad.push(("worst", "1".to_string()));
    }
    let r = app.post_answer(&quiz_a, attempt_a.id, item, &bad).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(&format!("href=\"#{field}\"")));
    let r = app
        .post_answer(&quiz_a, attempt_a.id, item, &[(field, "a".to_string())])
        .await;
    assert_eq!(r.status(), 422);

    // A question number outside the attempt.
    let r = app.get(&format!("{quiz_a}/q/99")).await;
    assert_eq!(r.status(), 404);

    // B's link with A's attempt: not found, for answers and for submitting.
    let r = app
        .post_answer(&quiz_b, attempt_a.id, item, &answer_fields(item, true))
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.submit(&quiz_b, attempt_a.id).await.status(), 404);

    // A status link is not a quiz link.
    let received = app.received();
    let status = link(mail_to(&received, a)[1], &app.base, "/status/").unwrap();
    let token = status.rsplit('/').next().unwrap();
    assert_eq!(app.get(&format!("/quiz/{token}")).await.status(), 410);

    // Nothing of A's attempt changed.
    let after = attempts::items(&app.db, attempt_a.id).await.unwrap();
    assert!(after.iter().all(|i| i.answer.is_none()));
    let still = app.latest_attempt(a).await;
    assert_eq!(still.status, "open");

    // And a well-formed answer still works afterwards.
    let ok = app
        .post_answer(&quiz_a, attempt_a.id, item, &answer_fields(item, true))
        .await;
    assert_eq!(ok.status(), 303);
    let saved = attempts::items(&app.db, attempt_a.id).await.unwrap();
    let answer: Answer = serde_json::from_str(saved[0].answer.as_ref().unwrap()).unwrap();
    assert!(item.question.accepts(&answer).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_invitation_is_one_request_away() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    let email = "lost.it@example.com";
    app.invited(email).await;
    let before = app.received().len();
    let r = app
        .post_form("/verify/resend", "email=lost.it%40example.com")
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    app.drain().await;
    let received = app.received();
    assert_eq!(received.len(), before + 1);
    let quiz = link(received.last().unwrap(), &app.base, "/quiz/").expect("quiz link");
    let page = app.get(&quiz[app.base.len()..]).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Before you start"));
}
