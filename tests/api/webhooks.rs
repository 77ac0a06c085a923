//! Webhooks from outside: an admin registers a real HTTP endpoint (started by the test), events
//! arrive signed as documented, failures back off and, after 10 in 24 hours, disable the
//! endpoint with the reason on the admin page; enabling sends what waited.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::*;

/// What the receiver got: the headers and body of each POST.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    answer: Arc<AtomicU16>,
}

async fn receiver() -> (String, Receiver) {
    let r = Receiver {
        answer: Arc::new(AtomicU16::new(200)),
        ..Receiver::default()
    };
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                state.got.lock().unwrap().push((headers, body));
                axum::http::StatusCode::from_u16(state.answer.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}

const SECRET: &str = "whsec_0123456789abcdef";

fn expected_signature(timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_signed_retried_and_a_failing_endpoint_is_disabled() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let (url, rx) = receiver().await;
    let key = app.api_key.clone();
    let r = app
        .send_key(
            Method::POST,
            &key,
            "/api/v1/webhooks",
            Some(&json!({ "url": url, "secret": SECRET,
                          "events": ["agent.activated", "application.stage_changed"] })),
        )
        .await;
    assert_eq!(r.status(), 201);
    let hook: Value = r.json().await.unwrap();
    assert!(hook.get("secret").is_none(), "the secret is never shown");
    assert_eq!(hook["enabled"], true);

    // A member goes live: offered, accepted, activated, then paused (not subscribed).
    let mut body = cohort_request("Hooks");
    body["start_date"] = json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    let id = app.seated(&cohort, "ana@example.com").await;
    app.tick_plain_items(&id).await;
    let r = app
        .post_json(
            &format!("/api/v1/applications/{id}/checklist/equipment_check"),
            &json!({ "done": true, "bandwidth_mbps": 40 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(&format!("/api/v1/applications/{id}/activate"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);

    let sender = onramp::webhooks::Sender::new(app.db.clone()).unwrap();
    let round = sender.round().await.unwrap();
    assert_eq!(round.delivered, round.claimed);
    // Delivered bodies (which carry move reasons) are not kept; status and time are.
    let kept: Vec<(String, String, bool)> = onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT status, body, delivered_at IS NOT NULL FROM webhook_deliveries")
        .fetch_all(p).await)
    .unwrap();
    assert!(!kept.is_empty());
    for (status, body, at) in &kept {
        assert_eq!(
            (status.as_str(), body.as_str(), *at),
            ("delivered", "", true)
        );
    }
    let got = rx.got.lock().unwrap().clone();
    let events: Vec<(String, String)> = got
        .iter()
        .map(|(h, b)| {
            let v: Value = serde_json::from_str(b).unwrap();
            (
                h["x-onramp-event"].to_str().unwrap().to_string(),
                v["data"]["to"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // shortlisted → offered, offered → onboarding, onboarding → live, and agent.activated.
    let mut sorted = events.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("agent.activated".to_string(), "live".to_string()),
            ("application.stage_changed".to_string(), "live".to_string()),
            (
                "application.stage_changed".to_string(),
                "offered".to_string()
            ),
            (
                "application.stage_changed".to_string(),
                "onboarding".to_string()
            ),
        ]
    );
    for (h, b) in &got {
        let ts = h["x-onramp-timestamp"].to_str().unwrap();
        assert!((ts.parse::<i64>().unwrap() - Utc::now().timestamp()).abs() < 120);
        assert_eq!(
            h["x-onramp-signature"].to_str().unwrap(),
            expected_signature(ts, b),
            "the signature covers timestamp.body"
        );
        assert_eq!(h["content-type"], "application/json");
        let v: Value = serde_json::from_str(b).unwrap();
        assert_eq!(v["event"], h["x-onramp-event"].to_str().unwrap());
        assert_eq!(v["id"], h["x-onramp-delivery"].to_str().unwrap());
        assert_eq!(v["data"]["application_id"], json!(id));
    }
    // Nothing is sent twice.
    assert_eq!(sender.round().await.unwrap().claimed, 0);

    // The endpoint starts failing: each attempt is retried later, and the tenth failure in
    // 24 hours disables it, saying why.
    rx.answer.store(500, Ordering::SeqCst);
    let r = app
        .post_json(
            &format!("/api/v1/applications/{id}/pause"),
            &json!({ "reason": "exams" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mut at = Utc::now();
    let mut rounds = Vec::new();
    for _ in 0..10 {
        rounds.push(sender.round_at(at).await.unwrap());
        at += Duration::hours(2);
    }
    assert!(rounds.iter().all(|r| r.claimed == 1 && r.retried == 1));
    assert_eq!(rounds.iter().map(|r| r.disabled).sum::<usize>(), 1);
    assert_eq!(rounds[9].disabled, 1, "disabled at the tenth failure");
    let list: Value = app
        .send_key(Method::GET, &key, "/api/v1/webhooks", None)
        .await
        .json()
        .await
        .unwrap();
    let w = &list["items"][0];
    assert_eq!(w["enabled"], false);
    let reason = w["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains("10 failed deliveries in 24 hours"),
        "{reason}"
    );
    assert!(reason.contains("HTTP 500"), "{reason}");
    // A disabled endpoint gets nothing, even when due.
    assert_eq!(sender.round_at(at).await.unwrap().claimed, 0);
    // The admin page says why, and enabling it sends what waited.
    app.staff_user("ada@onramp.test", "admin").await;
    let cookie = app.sign_in("ada@onramp.test").await;
    let html = app
        .get_as(&cookie, "/admin/webhooks")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("10 failed deliveries in 24 hours"), "{html}");
    rx.answer.store(204, Ordering::SeqCst);
    let hook_id = w["id"].as_str().unwrap();
    let r = app
        .post_as(&cookie, &format!("/admin/webhooks/{hook_id}/enable"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let round = sender.round_at(at).await.unwrap();
    assert_eq!((round.claimed, round.delivered), (1, 1));
    let (h, _) = rx.got.lock().unwrap().last().unwrap().clone();
    assert_eq!(h["x-onramp-event"], "application.stage_changed");

    // Delete: gone, and a second delete is a 404.
    let path = format!("/api/v1/webhooks/{hook_id}");
    let r = app.send_key(Method::DELETE, &key, &path, None).await;
    assert_eq!(r.status(), 204);
    let r = app.send_key(Method::DELETE, &key, &path, None).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_registration_is_refused_by_field_and_only_admins_register() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    for (body, field) in [
        (
            json!({ "url": "ftp://x.example/h", "secret": SECRET, "events": ["agent.paused"] }),
            "url",
        ),
        (
            json!({ "url": "https://x.example/h", "secret": "short", "events": ["agent.paused"] }),
            "secret",
        ),
        (
            json!({ "url": "https://x.example/h", "secret": SECRET, "events": ["agent.hired"] }),
            "events",
        ),
        (
            json!({ "url": "https://x.example/h", "secret": SECRET, "events": [] }),
            "events",
        ),
        (
            json!({ "secret": SECRET, "events": ["agent.paused"] }),
            "url",
        ),
    ] {
        let r = app
            .send_key(Method::POST, &app.api_key, "/api/v1/webhooks", Some(&body))
            .await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(e["errors"][field][0].is_string(), "{body}: {e}");
    }
    for role in ["recruiter", "manager"] {
        let key = key_with_role(&app, role).await;
        let r = app
            .send_key(
                Method::POST,
                &key,
                "/api/v1/webhooks",
                Some(&json!({ "url": "https://x.example/h", "secret": SECRET,
                              "events": ["agent.paused"] })),
            )
            .await;
        assert_eq!(r.status(), 403, "{role}");
    }
    // The page form: the wrong field named, the URL kept, the secret not echoed.
    app.staff_user("ada@onramp.test", "admin").await;
    let cookie = app.sign_in("ada@onramp.test").await;
    let before_form = app.snapshot().await;
    let r = app
        .post_as(
            &cookie,
            "/admin/webhooks",
            &[
                ("url", "https://hooks.example.com/x".into()),
                ("secret", "tiny-secret".into()),
                ("events", "agent.activated".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#secret\""));
    assert!(html.contains("value=\"https://hooks.example.com/x\""));
    assert!(!html.contains("tiny-secret"));
    assert_eq!(app.snapshot().await, before_form);
    // None of the refusals, by API or by form, registered anything.
    let hooks = |snap: &Vec<(String, Vec<String>)>| {
        snap.iter()
            .find(|(t, _)| t == "webhooks")
            .map(|(_, rows)| rows.clone())
            .expect("the webhooks table")
    };
    assert_eq!(hooks(&before), hooks(&before_form));
    assert!(hooks(&before).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_schema_states_the_rules() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks/{id}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let p = &doc["components"]["schemas"]["WebhookIn"]["properties"];
    assert_eq!(p["secret"]["minLength"], 16);
    assert_eq!(p["secret"]["maxLength"], 200);
    assert_eq!(p["url"]["maxLength"], 2000);
    assert_eq!(p["events"]["minItems"], 1);
    let pattern = fancy_regex::Regex::new(p["url"]["pattern"].as_str().unwrap()).unwrap();
    // Every URL the schema allows is registered; the validator refuses what the schema does,
    // and takes an IPv4 address the schema leaves out: (URL, fits the schema, registered).
    for (url, fits, taken) in [
        ("https://hooks.example.com/onramp", true, true),
        ("http://127.0.0.1:8080/hook?x=1", false, true),
        ("HTTPS://a.b-c.example#frag", true, true),
        ("http://localhost", true, true),
        ("http://x.example:65535/", true, true),
        ("ftp://x.example", false, false),
        ("https://user:pw@x.example", false, false),
        ("https://-x.example", false, false),
        ("https:///path", false, false),
        ("http://x.example:65536/", false, false),
        ("http://x.example:0/", false, false),
        ("http://x.example\\path", false, false),
        ("http://a.1", false, false),
    ] {
        assert_eq!(pattern.is_match(url).unwrap(), fits, "{url}");
        let body = json!({ "url": url, "secret": SECRET, "events": ["agent.paused"] });
        let r = app
            .send_key(Method::POST, &app.api_key, "/api/v1/webhooks", Some(&body))
            .await;
        assert_eq!(r.status(), if taken { 201 } else { 422 }, "{url}");
    }
}
