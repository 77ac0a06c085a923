//! Recruiters' pages: sign-in, cross-site refusal, editing questions (new versions) and quizzes,
//! and item analysis checked against the statistics computed straight from the stored items.

use onramp::domain::quiz::{item_analysis, Answer, ScoredItem};
use onramp::domain::staff;
use onramp::on_db;
use onramp::store::{attempts, quizzes, users};
use uuid::Uuid;

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";

/// attempt, question version, score, weight, answer JSON, seconds.
type StoredItem = (Uuid, Uuid, i64, i64, Option<String>, Option<i64>);

impl TestApp {
    async fn staff_user(&self, email: &str, role: &str) {
        let hash = staff::hash_password(PASSWORD).unwrap();
        let mut tx = self.db.begin().await.unwrap();
        users::create(&mut tx, email, role, &hash, onramp::domain::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Signs in and returns the cookie to send.
    async fn sign_in(&self, email: &str) -> String {
        let r = self
            .post_form(
                "/admin/login",
                encode(&[("email", email.into()), ("password", PASSWORD.into())]),
            )
            .await;
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        cookie.split(';').next().unwrap().to_string()
    }

    async fn staff_get(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn staff_post(
        &self,
        cookie: &str,
        path: &str,
        fields: &[(&str, String)],
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(encode(fields))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_roles_and_cross_site_posts() {
    let app = spawn_app().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    app.staff_user("max@onramp.test", "manager").await;

    assert_eq!(
        app.get("/admin/questions").await.headers()["location"],
        "/admin/login"
    );
    for (fields, field) in [
        (
            vec![
                ("email", "rita@onramp.test".to_string()),
                ("password", "wrong one".into()),
            ],
            "password",
        ),
        (
            vec![
                ("email", "nobody@onramp.test".to_string()),
                ("password", PASSWORD.into()),
            ],
            "password",
        ),
        (
            vec![
                ("email", "not an email".to_string()),
                ("password", PASSWORD.into()),
            ],
            "email",
        ),
    ] {
        let r = app.post_form("/admin/login", encode(&fields)).await;
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains(&format!("href=\"#{field}\"")));
    }
    assert_eq!(app.count("staff_sessions").await, 0);

    let cookie = app.sign_in("rita@onramp.test").await;
    assert_eq!(
        app.staff_get(&cookie, "/admin/questions").await.status(),
        200
    );
    let manager = app.sign_in("max@onramp.test").await;
    assert_eq!(
        app.staff_get(&manager, "/admin/quizzes").await.status(),
        403
    );

    // A form posted from another site is refused and changes nothing.
    app.load_quizzes().await;
    let before = quizzes::quiz_by_slug(&app.db, "agents-sweden")
        .await
        .unwrap();
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let r = app
            .client
            .post(format!("{}/admin/quizzes/agents-sweden", app.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value)
            .body("title=Hijacked")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}");
    }
    assert_eq!(
        quizzes::quiz_by_slug(&app.db, "agents-sweden")
            .await
            .unwrap(),
        before
    );

    let out = app.staff_post(&cookie, "/admin/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(
        app.staff_get(&cookie, "/admin/questions").await.status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_question_makes_a_new_version_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let (old, _) = quizzes::latest_by_slug(&app.db, "tone-001")
        .await
        .unwrap()
        .unwrap();
    let page = app
        .staff_get(&cookie, "/admin/questions/tone-001")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Now at version 1"));

    let mut fields: Vec<(&str, String)> = vec![
        ("category", old.category.clone()),
        (
            "kind",
            serde_json::to_value(old.kind)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string(),
        ),
        ("weight", "heavy".into()),
        ("prompt", old.prompt.clone()),
        ("explanation", "".into()),
    ];
    for (i, c) in old.choices.iter().enumerate() {
        let key = ["a", "b", "c", "d", "e", "f"][i];
        let text: &'static str = Box::leak(format!("text_{key}").into_boxed_str());
        fields.push((text, c.text.clone()));
        if let Some(rank) = c.rank {
            let name: &'static str = Box::leak(format!("rank_{key}").into_boxed_str());
            fields.push((name, rank.to_string()));
        } else {
            let name: &'static str = Box::leak(format!("credit_{key}").into_boxed_str());
            fields.push((name, c.credit.unwrap_or(0.0).to_string()));
        }
    }
    let r = app
        .staff_post(&cookie, "/admin/questions/tone-001", &fields)
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#weight\""), "{html}");
    assert!(html.contains(&old.prompt.replace('\'', "&#x27;")[..20]));
    assert_eq!(
        quizzes::version_count(&app.db, "tone-001").await.unwrap(),
        1
    );

    fields[2].1 = "2".into();
    fields[4].1 = "Because it names the problem and the next step.".into();
    fields[3].1 = format!("{} (reworded)", old.prompt);
    let r = app
        .staff_post(&cookie, "/admin/questions/tone-001", &fields)
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (new, version) = quizzes::latest_by_slug(&app.db, "tone-001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(version, 2);
    assert!(new.prompt.ends_with("(reworded)"));
    assert_eq!(new.weight, 2.0);
    let first: String = on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT v.prompt FROM question_versions v JOIN questions q ON q.id = v.question_id \
         WHERE q.slug = 'tone-001' AND v.version = 1").fetch_one(p).await)
    .unwrap();
    assert_eq!(first, old.prompt);

    // A new question with a key already taken is refused by field.
    fields.insert(0, ("key", "tone-001".into()));
    let r = app.staff_post(&cookie, "/admin/questions", &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("href=\"#key\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiz_definitions_are_checked_and_saved_from_the_form() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "admin").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let form = |slug: &str, tone: &str, pass: &str| -> Vec<(&'static str, String)> {
        vec![
            ("slug", slug.to_string()),
            ("title", "Norway agents".into()),
            ("active", "on".into()),
            ("time_limit_minutes", "20".into()),
            ("pass_percent", pass.to_string()),
            ("max_attempts", "3".into()),
            ("cooldown_hours", "24".into()),
            ("markets", "no".into()),
            ("languages", "en".into()),
            ("draw.tone", tone.to_string()),
            ("draw.policy", "2".into()),
            ("pass.policy", "50".into()),
        ]
    };
    let r = app
        .staff_post(&cookie, "/admin/quizzes", &form("Bad Slug", "99", "150"))
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for anchor in ["#slug", "#pass_percent", "#draw-tone"] {
        assert!(
            html.contains(&format!("href=\"{anchor}\"")),
            "{anchor}: {html}"
        );
    }
    assert_eq!(quizzes::quizzes(&app.db).await.unwrap().len(), 2);

    let r = app
        .staff_post(&cookie, "/admin/quizzes", &form("agents-norway", "4", "75"))
        .await;
    assert_eq!(r.status(), 303);
    let (_, def) = quizzes::quiz_by_slug(&app.db, "agents-norway")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(def.markets, vec!["NO"]);
    assert_eq!(def.question_count(), 6);
    assert_eq!(def.category_pass_percent["policy"], 50);
    let list = app
        .staff_get(&cookie, "/admin/quizzes")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Norway agents"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_analysis_matches_statistics_computed_from_the_stored_answers() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    app.edit_quiz("agents-sweden", |d| {
        d.draw = [("tone".to_string(), 4), ("policy".to_string(), 4)].into();
        d.category_pass_percent.clear();
    })
    .await;
    // Three applicants: right, wrong, and half right.
    for (i, how) in ["right", "wrong", "half"].iter().enumerate() {
        let email = format!("analysed{i}@example.com");
        let quiz = app.invited(&email).await;
        assert_eq!(
            app.post_form(&format!("{quiz}/start"), "").await.status(),
            303
        );
        let attempt = app.latest_attempt(&email).await;
        let items = attempts::items(&app.db, attempt.id).await.unwrap();
        for (k, item) in items.iter().enumerate() {
            let right = match *how {
                "right" => true,
                "wrong" => false,
                _ => k % 2 == 0,
            };
            let r = app
                .post_answer(&quiz, attempt.id, item, &answer_fields(item, right))
                .await;
            assert_eq!(r.status(), 303);
        }
        assert_eq!(app.submit(&quiz, attempt.id).await.status(), 303);
    }

    // The same statistics from the raw stored items.
    let rows: Vec<StoredItem> = on_db!(&app.db, p => sqlx::query_as(
        "SELECT i.attempt_id, i.question_version_id, i.score_bp, i.weight_bp, i.answer, i.seconds \
         FROM attempt_items i").fetch_all(p).await)
    .unwrap();
    let answers: Vec<Option<Answer>> = rows
        .iter()
        .map(|r| r.4.as_deref().map(|a| serde_json::from_str(a).unwrap()))
        .collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.1).collect();
    let attempt_ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let index = |list: &[Uuid], id: Uuid| list.iter().position(|x| *x == id).unwrap() as u64;
    let scored: Vec<ScoredItem> = rows
        .iter()
        .zip(&answers)
        .map(|(r, a)| ScoredItem {
            attempt: index(&attempt_ids, r.0),
            item: index(&ids, r.1),
            score: r.2 as f64 / 10_000.0,
            weight: r.3 as f64 / 10_000.0,
            picked: a.as_ref().map(Answer::picked).unwrap_or_default(),
            seconds: r.5.map(|s| s as f64),
        })
        .collect();
    let expected = item_analysis(&scored);

    let cookie = app.sign_in("rita@onramp.test").await;
    let page = app
        .staff_get(&cookie, "/admin/quizzes/agents-sweden/analysis")
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Item analysis"));
    let json: serde_json::Value = app
        .staff_get(&cookie, "/admin/quizzes/agents-sweden/analysis.json")
        .await
        .json()
        .await
        .unwrap();
    let api: serde_json::Value = app
        .client
        .get(format!(
            "{}/api/v1/quizzes/agents-sweden/item-analysis",
            app.base
        ))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json, api);
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), expected.len());
    for (item_index, stats) in &expected {
        let id = ids[*item_index as usize].to_string();
        let got = items
            .iter()
            .find(|i| i["version_id"] == id.as_str())
            .unwrap();
        assert_eq!(got["attempts"], stats.attempts);
        assert!((got["facility"].as_f64().unwrap() - stats.facility).abs() < 1e-9);
        match stats.discrimination {
            Some(d) => assert!((got["discrimination"].as_f64().unwrap() - d).abs() < 1e-9),
            None => assert!(got["discrimination"].is_null()),
        }
        assert_eq!(got["flags"].as_array().unwrap().len(), stats.flags.len());
        assert!(html.contains(got["question"].as_str().unwrap()));
    }
    // The rest-of-test scores vary here, so some item discriminates.
    assert!(items.iter().any(|i| i["discrimination"].is_number()));
    // Without a key, the API refuses.
    let anon = app.get("/api/v1/quizzes/agents-sweden/item-analysis").await;
    assert_eq!(anon.status(), 401);
}
