//! Recruiters' pages: sign-in, cross-site refusal, editing questions (new versions) and quizzes,
//! and item analysis checked against the statistics computed straight from the stored items.

use onramp::domain::quiz::Answer;
use onramp::on_db;
use onramp::store::{attempts, quizzes};
use uuid::Uuid;

use crate::helpers::*;

/// attempt, question version, score, weight, answer JSON, seconds.
type StoredItem = (Uuid, Uuid, i64, i64, Option<String>, Option<i64>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_roles_and_cross_site_posts() {
    let app = spawn_app().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    app.staff_user("max@onramp.test", "manager").await;

    assert_eq!(
        app.get("/admin/questions").await.headers()["location"],
        "/admin/login?next=%2Fadmin%2Fquestions"
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
    assert_eq!(app.get_as(&cookie, "/admin/questions").await.status(), 200);
    let manager = app.sign_in("max@onramp.test").await;
    assert_eq!(app.get_as(&manager, "/admin/quizzes").await.status(), 403);

    // A form posted from another site is refused and changes nothing.
    app.load_quizzes().await;
    let before = quizzes::quiz_by_slug(&app.db, "agents-sweden")
        .await
        .unwrap();
    let host = app.base.trim_start_matches("http://").to_string();
    for headers in [
        vec![("sec-fetch-site", "cross-site".to_string())],
        vec![("sec-fetch-site", "same-site".to_string())],
        vec![("origin", "https://evil.example".to_string())],
        vec![("origin", format!("http://{host}.evil.example"))],
        // A sandboxed frame or a redirect chain: no origin to trust.
        vec![("origin", "null".to_string())],
        vec![
            ("sec-fetch-site", "same-origin".to_string()),
            ("origin", "null".to_string()),
        ],
        // Neither header: not a browser on this site.
        vec![],
    ] {
        let mut r = app
            .client
            .post(format!("{}/admin/quizzes/agents-sweden", app.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in &headers {
            r = r.header(*name, value);
        }
        let r = r.body("title=Hijacked").send().await.unwrap();
        assert_eq!(r.status(), 403, "{headers:?}");
    }
    assert_eq!(
        quizzes::quiz_by_slug(&app.db, "agents-sweden")
            .await
            .unwrap(),
        before
    );

    let out = app.post_as(&cookie, "/admin/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(app.get_as(&cookie, "/admin/questions").await.status(), 303);
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
        .get_as(&cookie, "/admin/questions/tone-001")
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
        .post_as(&cookie, "/admin/questions/tone-001", &fields)
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
        .post_as(&cookie, "/admin/questions/tone-001", &fields)
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
    let r = app.post_as(&cookie, "/admin/questions", &fields).await;
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
        .post_as(&cookie, "/admin/quizzes", &form("Bad Slug", "99", "150"))
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
        .post_as(&cookie, "/admin/quizzes", &form("agents-norway", "4", "75"))
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
        .get_as(&cookie, "/admin/quizzes")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Norway agents"));
}

/// Item statistics as a reviewer would compute them by hand from the stored rows.
struct Reference {
    n: i64,
    facility: f64,
    discrimination: Option<f64>,
    mean_seconds: Option<f64>,
    picks: std::collections::HashMap<String, i64>,
    flags: Vec<&'static str>,
}

/// Flags only from `min_attempts` attempts of a question version on.
fn reference_analysis(
    rows: &[StoredItem],
    min_attempts: usize,
) -> std::collections::HashMap<Uuid, Reference> {
    use std::collections::HashMap;
    let weighted = |r: &StoredItem| r.3 as f64 / 10_000.0 * (r.2 as f64 / 10_000.0);
    let mut totals: HashMap<Uuid, f64> = HashMap::new();
    for r in rows {
        *totals.entry(r.0).or_default() += weighted(r);
    }
    let mut by_item: HashMap<Uuid, Vec<&StoredItem>> = HashMap::new();
    for r in rows {
        by_item.entry(r.1).or_default().push(r);
    }
    by_item
        .into_iter()
        .map(|(id, rs)| {
            let n = rs.len() as f64;
            let x: Vec<f64> = rs.iter().map(|r| r.2 as f64 / 10_000.0).collect();
            let y: Vec<f64> = rs.iter().map(|r| totals[&r.0] - weighted(r)).collect();
            let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
            let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
            let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
            let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
            let discrimination = (sxx > 1e-12 && syy > 1e-12).then(|| sxy / (sxx * syy).sqrt());
            let timed: Vec<f64> = rs.iter().filter_map(|r| r.5).map(|s| s as f64).collect();
            let mean_seconds =
                (!timed.is_empty()).then(|| timed.iter().sum::<f64>() / timed.len() as f64);
            let mut picks = HashMap::new();
            for r in &rs {
                let answer: Option<Answer> =
                    r.4.as_deref().map(|a| serde_json::from_str(a).unwrap());
                let mut picked: Vec<&str> = answer.as_ref().map(Answer::picked).unwrap_or_default();
                picked.sort();
                picked.dedup();
                for p in picked {
                    *picks.entry(p.to_string()).or_insert(0) += 1;
                }
            }
            let mut flags = Vec::new();
            if rs.len() < min_attempts {
                // Too few attempts to judge.
            } else if mx > 0.95 {
                flags.push("too easy");
            }
            if rs.len() >= min_attempts && mx < 0.10 {
                flags.push("too hard");
            }
            if rs.len() >= min_attempts && discrimination.is_some_and(|d| d < 0.15) {
                flags.push("weak discrimination");
            }
            let r = Reference {
                n: rs.len() as i64,
                facility: mx,
                discrimination,
                mean_seconds,
                picks,
                flags,
            };
            (id, r)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_analysis_matches_statistics_computed_from_the_stored_answers() {
    let app = spawn_app_with(|s| s.analysis_min_attempts = 3).await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    app.edit_quiz("agents-sweden", |d| {
        // Every Swedish and every tone question is drawn in every attempt, so those versions
        // reach the minimum (the tone ones, answered differently by each, discriminate for
        // certain); policy questions are drawn four of twelve, so some stay under it.
        d.draw = [
            ("tone".to_string(), 14),
            ("policy".to_string(), 4),
            ("language:sv".to_string(), 7),
        ]
        .into();
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
            // Everyone gets the Swedish questions right: those are too easy, for certain.
            let right = match *how {
                _ if item.category == "language:sv" => true,
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

    // The reference, computed here from the raw stored items with nothing of the server's
    // code: plain floating-point means and a two-pass Pearson correlation.
    let rows: Vec<StoredItem> = on_db!(&app.db, p => sqlx::query_as(
        "SELECT i.attempt_id, i.question_version_id, i.score_bp, i.weight_bp, i.answer, i.seconds \
         FROM attempt_items i").fetch_all(p).await)
    .unwrap();
    let expected = reference_analysis(&rows, 3);
    let cookie = app.sign_in("rita@onramp.test").await;
    let page = app
        .get_as(&cookie, "/admin/quizzes/agents-sweden/analysis")
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Item analysis"));
    let json: serde_json::Value = app
        .get_as(&cookie, "/admin/quizzes/agents-sweden/analysis.json")
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
    for (id, want) in &expected {
        let got = items
            .iter()
            .find(|i| i["version_id"] == id.to_string().as_str())
            .unwrap();
        assert_eq!(got["attempts"], want.n, "{id}");
        assert!((got["facility"].as_f64().unwrap() - want.facility).abs() < 1e-9);
        match want.discrimination {
            Some(d) => assert!(
                (got["discrimination"].as_f64().unwrap() - d).abs() < 1e-9,
                "{id}: {} against {d}",
                got["discrimination"]
            ),
            None => assert!(got["discrimination"].is_null(), "{id}"),
        }
        match want.mean_seconds {
            Some(t) => assert!((got["mean_seconds"].as_f64().unwrap() - t).abs() < 1e-9),
            None => assert!(got["mean_seconds"].is_null()),
        }
        for c in got["choices"].as_array().unwrap() {
            let key = c["key"].as_str().unwrap();
            assert_eq!(
                c["picks"].as_i64().unwrap(),
                want.picks.get(key).copied().unwrap_or(0),
                "{id} choice {key}"
            );
        }
        let flags: Vec<&str> = got["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().split(':').next().unwrap())
            .collect();
        assert_eq!(flags, want.flags, "{id}");
        assert!(html.contains(got["question"].as_str().unwrap()));
    }
    // The Swedish questions have 3 attempts, the minimum here, and everyone got them right:
    // flagged. Questions drawn fewer times are shown without flags.
    assert!(expected.values().any(|w| w.flags == ["too easy"]));
    assert!(expected.values().any(|w| w.n < 3));
    assert!(html.contains("Not enough attempts yet"));
    // The rest-of-test scores vary here, so some item discriminates.
    assert!(items.iter().any(|i| i["discrimination"].is_number()));
    // Without a key, the API refuses.
    let anon = app.get("/api/v1/quizzes/agents-sweden/item-analysis").await;
    assert_eq!(anon.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_question_unchanged_stores_nothing_and_says_so() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    // tone-001 has a prompt over several lines: the browser posts it back with CRLF line ends.
    let page = app
        .get_as(&cookie, "/admin/questions/tone-001")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Saving a change stores it as version 2"),
        "{page}"
    );
    let fields = form_fields(&page, "/admin/questions/tone-001");
    assert!(fields
        .iter()
        .any(|(k, v)| k == "prompt" && v.contains("\r\n")));
    let posted: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let r = app
        .post_as(&cookie, "/admin/questions/tone-001", &posted)
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/admin/questions/tone-001?outcome=unchanged");
    assert_eq!(
        quizzes::version_count(&app.db, "tone-001").await.unwrap(),
        1
    );
    let shown = app.get_as(&cookie, &to).await.text().await.unwrap();
    assert!(
        shown.contains("No changes to save: this is still version 1."),
        "{shown}"
    );

    // A real change says which version it became.
    let mut changed = posted.clone();
    changed
        .iter_mut()
        .find(|(k, _)| *k == "explanation")
        .unwrap()
        .1
        .push_str(" It also says when.");
    let r = app
        .post_as(&cookie, "/admin/questions/tone-001", &changed)
        .await;
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/admin/questions/tone-001?outcome=saved");
    assert_eq!(
        quizzes::version_count(&app.db, "tone-001").await.unwrap(),
        2
    );
    let shown = app.get_as(&cookie, &to).await.text().await.unwrap();
    assert!(shown.contains("Saved as version 2."), "{shown}");
    assert!(shown.contains("stores it as version 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_category_is_picked_and_a_new_one_is_deliberate() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let page = app
        .get_as(&cookie, "/admin/questions/new")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<select id="category" name="category""#));
    assert!(page.contains(r#"<option value="fraud""#));
    assert!(page.contains(r#"<option value="__new__""#));
    let question = |category: &str, new_category: &str| -> Vec<(&'static str, String)> {
        vec![
            ("key", "billing-001".into()),
            ("category", category.into()),
            ("new_category", new_category.into()),
            ("kind", "single".into()),
            ("weight", "1".into()),
            ("prompt", "Which fee applies?".into()),
            ("explanation", "The late fee.".into()),
            ("text_a", "The late fee".into()),
            ("credit_a", "1".into()),
            ("text_b", "No fee".into()),
            ("credit_b", "0".into()),
        ]
    };
    let before = quizzes::bank_counts(&app.db).await.unwrap();
    // A typo is no longer a quiet new category.
    for (category, new_category, field) in [
        ("tonne", "", "category"),
        ("__new__", "", "new_category"),
        ("__new__", "tone", "new_category"),
        ("__new__", "Not Valid!", "new_category"),
    ] {
        let r = app
            .post_as(
                &cookie,
                "/admin/questions",
                &question(category, new_category),
            )
            .await;
        assert_eq!(r.status(), 422, "{category} {new_category}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{field}: {html}"
        );
        assert!(html.contains(&format!("id=\"{field}\"")));
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-error\""))
                || html.contains(&format!("{field}-hint {field}-error")),
            "{field}"
        );
    }
    assert_eq!(quizzes::bank_counts(&app.db).await.unwrap(), before);
    let r = app
        .post_as(&cookie, "/admin/questions", &question("__new__", "billing"))
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(quizzes::bank_counts(&app.db).await.unwrap()["billing"], 1);
}

/// Mail that can never be sent does not just sit in the outbox: staff see it, with the reason,
/// on their home page and the emails page, and can send it again once the cause is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_that_could_not_be_sent_surfaces_to_staff() {
    let app = spawn_app().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    app.apply(&valid_form("bounced@example.com")).await;
    app.set_smtp(SmtpMode::Reject);
    assert_eq!(app.drain().await.failed, 1);
    let cookie = app.sign_in("rita@onramp.test").await;
    let home = app.get_as(&cookie, "/admin").await.text().await.unwrap();
    assert!(home.contains("1 email(s) could not be sent"), "{home}");
    let page = app
        .get_as(&cookie, "/admin/emails")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("bounced@example.com"));
    assert!(page.contains("(550): 5.1.1 No such mailbox here"), "{page}");
    let id: uuid::Uuid = on_db!(&app.db, p => sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_one(p).await)
    .unwrap();
    assert!(page.contains(&format!("action=\"/admin/emails/{id}/retry\"")));
    // A made-up id changes nothing and says so.
    let r = app
        .post_as(
            &cookie,
            &format!("/admin/emails/{}/retry", uuid::Uuid::now_v7()),
            &[],
        )
        .await;
    assert_eq!(
        r.headers()["location"],
        "/admin/emails?status=failed&queued=0"
    );
    let audited = |action: &'static str| {
        let db = app.db.clone();
        async move {
            let n: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action = $1").bind(action).fetch_one(p).await)
            .unwrap();
            n
        }
    };
    assert_eq!(
        audited("outbox.retry").await,
        0,
        "nothing changed, nothing audited"
    );
    let r = app
        .post_as(&cookie, &format!("/admin/emails/{id}/retry"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/admin/emails?status=failed&queued=1"
    );
    // The recruiter's "Send again" is audited, naming them and the email.
    let trail = onramp::store::audit::for_subject(&app.db, &format!("outbox:{id}"), 5)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].action, "outbox.retry");
    assert!(trail[0].actor.starts_with("staff:"), "{}", trail[0].actor);
    app.set_smtp(SmtpMode::Accept);
    assert_eq!(app.drain().await.sent, 1);
    assert_eq!(mail_to(&app.received(), "bounced@example.com").len(), 1);
    let home = app.get_as(&cookie, "/admin").await.text().await.unwrap();
    assert!(!home.contains("email(s) could not be sent"));
}
