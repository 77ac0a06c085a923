//! What the service does against clients that cost it: slow or silent connections, floods of
//! sign-ins and signups, spam in names, and requests from other sites.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Opens a connection and sends part of a request's headers, never the blank line that ends them.
async fn half_sent_request(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .await
        .unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app_with(|s| s.header_read_timeout_secs = 1).await;
    let mut slow = half_sent_request(&app.base).await;
    // The server closes the connection once the header timeout passes (answering 408 at most);
    // without a timeout it would wait for ever. The bound here only stops a hung test.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the half-sent request was still open after 10 s"
    );
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // Everyone else is served as usual.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_connections_are_capped_and_the_next_waits_its_turn() {
    let app = spawn_app_with(|s| {
        s.max_open_connections = 1;
        s.header_read_timeout_secs = 60;
    })
    .await;
    let slow = half_sent_request(&app.base).await;
    // The one slot is taken: a new connection waits in the backlog and is not served...
    let client = reqwest::Client::new();
    let waiting = client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_millis(1500))
        .send()
        .await;
    assert!(waiting.is_err(), "served past the cap: {waiting:?}");
    // ...until the slot is free again.
    drop(slow);
    let served = client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_with_the_bot_trap_filled_in_is_dropped_quietly() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    let mut form = valid_form("bot@example.com");
    form.push(("website", "http://spam.example".into()));
    let r = app.apply(&form).await;
    // The answer a person gets, so the bot learns nothing; but nothing is stored or sent.
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/apply/thanks");
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(app.snapshot().await, before);
    // People never see the field: it is off screen, hidden from screen readers, not tabbable.
    let page = app.get("/apply").await.text().await.unwrap();
    assert!(
        page.contains(r#"<div class="trap" aria-hidden="true">"#),
        "{page}"
    );
    assert!(page.contains(r#"name="website" type="text" tabindex="-1""#));
    // An empty trap is what every real form sends.
    let mut form = valid_form("person@example.com");
    form.push(("website", String::new()));
    assert_eq!(app.apply(&form).await.status(), 303);
    assert_eq!(app.count("applications").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_carries_a_link_is_refused_by_form_and_api() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    for name in [
        "Ana, URGENT: verify at evil.example/pay",
        "Ana (write to boss@evil.example)",
        "Ana www.evil.se",
    ] {
        let mut form = valid_form("ana@example.com");
        form.retain(|(k, _)| *k != "full_name");
        form.push(("full_name", name.into()));
        let r = app.apply(&form).await;
        assert_eq!(r.status(), 422, "{name}");
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"full_name-error\""), "{name}");
        assert!(
            html.contains("can&#x27;t contain a web or email address"),
            "{html}"
        );
        let mut body = valid_json("ana@example.com");
        body["full_name"] = name.into();
        let r = app.post_json("/api/v1/applications", &body).await;
        assert_eq!(r.status(), 422, "{name}");
        let errors: serde_json::Value = r.json().await.unwrap();
        assert!(errors["errors"]["full_name"][0]
            .as_str()
            .unwrap()
            .contains("web or email address"));
    }
    assert_eq!(app.snapshot().await, before);
    // Initials and titles are names.
    let mut form = valid_form("jrr@example.com");
    form.retain(|(k, _)| *k != "full_name");
    form.push(("full_name", "J.R.R. Tolkien".into()));
    assert_eq!(app.apply(&form).await.status(), 303);
}

use onramp::web::limits::{Limit, RateLimitSettings};

fn tight(limits: &mut RateLimitSettings) {
    let two = Limit {
        per_minute: 1,
        burst: 2,
    };
    *limits = RateLimitSettings {
        signup: two,
        api_signup: two,
        links: two,
        sign_in: two,
    };
}

/// POST a form as if from `forwarded_for` (an `X-Forwarded-For` header).
async fn post_from(
    app: &TestApp,
    path: &str,
    body: String,
    forwarded_for: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", forwarded_for)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signups_sign_ins_and_link_forms_are_limited_per_address() {
    let app = spawn_app_with(|s| tight(&mut s.rate_limits)).await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let signup = |n: u32| encode(&valid_form(&format!("ana{n}@example.com")));
    for n in 0..2 {
        assert_eq!(app.post_form("/apply", signup(n)).await.status(), 303);
    }
    let refused = app.post_form("/apply", signup(2)).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("<html lang=\"en\"") && page.contains("<h1"),
        "{page}"
    );
    assert!(
        page.contains("Too many tries from your connection"),
        "{page}"
    );
    assert_eq!(
        app.count("applications").await,
        2,
        "the refused one stored nothing"
    );
    // The form itself still opens: only sending is limited.
    assert_eq!(app.get("/apply").await.status(), 200);
    // Without a trusted proxy, X-Forwarded-For is the client's own claim: ignored.
    let spoofed = post_from(&app, "/apply", signup(3), "203.0.113.9").await;
    assert_eq!(spoofed.status(), 429);

    // Each limit has its own allowance.
    let wrong = encode(&[
        ("email", "rec@onramp.test".to_string()),
        ("password", "not the password".to_string()),
    ]);
    for _ in 0..2 {
        assert_eq!(
            app.post_form("/admin/login", wrong.clone()).await.status(),
            422
        );
    }
    assert_eq!(app.post_form("/admin/login", wrong).await.status(), 429);
    let resend = encode(&[("email", "ana0@example.com".to_string())]);
    for _ in 0..2 {
        assert_eq!(
            app.post_form("/verify/resend", resend.clone())
                .await
                .status(),
            200
        );
    }
    assert_eq!(app.post_form("/verify/resend", resend).await.status(), 429);
    for n in 10..12 {
        let r = app
            .post_json(
                "/api/v1/applications",
                &valid_json(&format!("api{n}@example.com")),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let r = app
        .post_json("/api/v1/applications", &valid_json("api12@example.com"))
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("Too many"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let app = spawn_app_with(|s| {
        tight(&mut s.rate_limits);
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let signup = |n: u32| encode(&valid_form(&format!("bo{n}@example.com")));
    for n in 0..2 {
        let r = post_from(&app, "/apply", signup(n), "203.0.113.7").await;
        assert_eq!(r.status(), 303);
    }
    assert_eq!(
        post_from(&app, "/apply", signup(2), "203.0.113.7")
            .await
            .status(),
        429
    );
    // A client cannot escape by prepending addresses: the proxy's own entry is the last one.
    let r = post_from(&app, "/apply", signup(3), "198.51.100.1, 203.0.113.7").await;
    assert_eq!(r.status(), 429);
    // Another client behind the same proxy is not held back.
    assert_eq!(
        post_from(&app, "/apply", signup(4), "203.0.113.8")
            .await
            .status(),
        303
    );
}
