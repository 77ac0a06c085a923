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
async fn one_address_cannot_hold_every_connection() {
    let app = spawn_app_with(|s| {
        s.max_open_connections = 64;
        s.header_read_timeout_secs = 60;
    })
    .await;
    // 100 slow connections from 127.0.0.1: more than all the slots.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        // Those over the address's cap may already be closed: the write may fail.
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
            .await;
        slow.push(s);
    }
    // A client from another address is served at once. The bound is generous for a noisy
    // machine; without the cap it would wait the whole header timeout (60 s).
    let other = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let r = other
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("served while one address holds its share");
    assert_eq!(r.status(), 200);
    // The first 32 of the slow address stay open; the rest were closed at once.
    let closed = futures_util::future::join_all(slow.iter_mut().map(|s| async move {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }))
    .await;
    assert_eq!(closed.iter().filter(|c| **c).count(), 68, "{closed:?}");
    assert!(
        closed[..32].iter().all(|c| !c),
        "the first 32 are served in turn"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_cut_off_at_the_request_deadline() {
    let app = spawn_app_with(|s| s.request_timeout_secs = 1).await;
    let before = app.snapshot().await;
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = encode(&valid_form("slow@example.com"));
    let head = format!(
        "POST /apply HTTP/1.1\r\nHost: x\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // Half the body, then a trickle that would never end in time.
    s.write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mut buf = [0u8; 1024];
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "still reading the body after 10 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.snapshot().await, before, "nothing stored");
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
        .header("sec-fetch-site", "same-origin")
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
    // The form comes back filled in as typed, with the wait, ready to send again.
    assert!(page.contains(r#"value="ana2@example.com""#), "{page}");
    assert!(page.contains(r#"value="+46 70 123 45 67""#), "{page}");
    assert!(page.contains("I like helping people."), "{page}");
    assert!(page.contains(&format!("Wait {wait} second")), "{page}");
    assert!(
        page.contains(r#"<form method="post" action="/apply""#),
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

// Staff credentials.

async fn sign_in_with(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.login(email, password, None).await
}

/// Signs in as if from client `from` (behind the trusted proxy 127.0.0.1).
async fn sign_in_from(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    let fields = [
        ("email", email.to_string()),
        ("password", password.to_string()),
    ];
    post_from(app, "/admin/login", encode(&fields), from).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_is_locked_after_failures_in_a_row_and_the_account_is_not() {
    let app = spawn_app_with(|s| {
        s.sign_in_lock_after = 3;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let (mallory, owner) = ("203.0.113.7", "198.51.100.20");
    for _ in 0..3 {
        let r = sign_in_from(&app, mallory, "rec@onramp.test", "not the password!").await;
        assert_eq!(r.status(), 422);
    }
    // The client that failed is held back, even with the right password or another address.
    for (email, password) in [("rec@onramp.test", PASSWORD), ("who@onramp.test", "x")] {
        let r = sign_in_from(&app, mallory, email, password).await;
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Too many failed sign-ins from your connection"),
            "{page}"
        );
        assert!(
            page.contains("name=\"password\""),
            "the form is there to try later"
        );
    }
    // The owner of the account, elsewhere, is not locked out by the attacker.
    let r = sign_in_from(&app, owner, "rec@onramp.test", PASSWORD).await;
    assert_eq!(r.status(), 303);
    // When the lock has passed, the client may sign in; a good sign-in clears its count.
    app.set_to_a_minute_ago(
        "UPDATE sign_in_failures SET locked_until = $1 WHERE locked_until IS NOT NULL",
    )
    .await;
    let r = sign_in_from(&app, mallory, "rec@onramp.test", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let left: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM sign_in_failures").fetch_one(p).await)
    .unwrap();
    assert_eq!(
        left, 0,
        "both the client's and the address's failures are cleared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_slow_down_an_unknown_address_as_they_do_a_real_one() {
    let app = spawn_app().await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    // Failures 3 and 4 in a row wait a quarter and half a second, for an address with an
    // account and one without alike: the timing does not tell who has an account.
    for email in ["rec@onramp.test", "nobody@onramp.test"] {
        let mut pages = Vec::new();
        for n in 1..=4u32 {
            let started = std::time::Instant::now();
            let r = sign_in_with(&app, email, "not the password!").await;
            assert_eq!(r.status(), 422);
            pages.push(r.text().await.unwrap());
            if n >= 3 {
                let floor = Duration::from_millis(250 << (n - 3));
                assert!(started.elapsed() >= floor, "{email}, failure {n}");
            }
        }
        assert!(
            pages[3].contains("That email and password don&#x27;t match an account")
                || pages[3].contains("That email and password don't match an account"),
            "{}",
            pages[3]
        );
    }
    // What is kept names no one: the addresses are hashed.
    let subjects: Vec<String> = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT subject FROM sign_in_failures").fetch_all(p).await)
    .unwrap();
    assert_eq!(
        subjects.len(),
        3,
        "two addresses and the client: {subjects:?}"
    );
    assert!(
        subjects.iter().all(|s| !s.contains("onramp.test")),
        "{subjects:?}"
    );
}

#[test]
fn each_failure_in_a_row_answers_later_up_to_a_cap() {
    use onramp::web::admin::failure_delay;
    assert_eq!(failure_delay(1), Duration::ZERO);
    assert_eq!(failure_delay(2), Duration::ZERO);
    assert_eq!(failure_delay(3), Duration::from_millis(250));
    assert_eq!(failure_delay(4), Duration::from_millis(500));
    assert_eq!(failure_delay(7), Duration::from_secs(4));
    assert_eq!(failure_delay(100), Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_is_signed_out_at_once_and_cannot_sign_in() {
    let app = spawn_app().await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rec@onramp.test").await;
    assert_eq!(app.get_as(&cookie, "/admin").await.status(), 200);
    let email = onramp::domain::email::EmailAddress::parse("rec@onramp.test").unwrap();
    assert_eq!(
        onramp::usecases::staff::disable(&app.db, "cli", &email)
            .await
            .unwrap(),
        1
    );
    let r = app.get_as(&cookie, "/admin").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/login");
    assert_eq!(
        sign_in_with(&app, "rec@onramp.test", PASSWORD)
            .await
            .status(),
        422
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_change_their_own_password_and_other_sessions_end() {
    let app = spawn_app().await;
    app.staff_user("man@onramp.test", "manager").await;
    let here = app.sign_in("man@onramp.test").await;
    let elsewhere = app.sign_in("man@onramp.test").await;
    let page = app.get_as(&here, "/admin/password").await;
    assert_eq!(page.status(), 200);
    let before: String = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT password_hash FROM users").fetch_one(p).await)
    .unwrap();
    let new = "a brand new long passphrase";
    // Each refusal names its field, and nothing changes.
    for (fields, field) in [
        (
            vec![
                ("current", "wrong one entirely"),
                ("new", new),
                ("confirm", new),
            ],
            "current",
        ),
        (
            vec![
                ("current", PASSWORD),
                ("new", "short"),
                ("confirm", "short"),
            ],
            "new",
        ),
        (
            vec![
                ("current", PASSWORD),
                ("new", new),
                ("confirm", "something else"),
            ],
            "confirm",
        ),
        (
            vec![("current", ""), ("new", new), ("confirm", new)],
            "current",
        ),
    ] {
        let fields: Vec<(&str, String)> = fields
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let r = app.post_as(&here, "/admin/password", &fields).await;
        assert_eq!(r.status(), 422, "{field}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
    }
    let unchanged: String = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT password_hash FROM users").fetch_one(p).await)
    .unwrap();
    assert_eq!(unchanged, before);

    let fields = [
        ("current", PASSWORD.to_string()),
        ("new", new.to_string()),
        ("confirm", new.to_string()),
    ];
    let r = app.post_as(&here, "/admin/password", &fields).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/password?done=1");
    // This session goes on; the other one is over; the new password signs in.
    assert_eq!(app.get_as(&here, "/admin").await.status(), 200);
    assert_eq!(app.get_as(&elsewhere, "/admin").await.status(), 303);
    assert_eq!(
        sign_in_with(&app, "man@onramp.test", PASSWORD)
            .await
            .status(),
        422
    );
    assert_eq!(
        sign_in_with(&app, "man@onramp.test", new).await.status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_staff_sessions_are_deleted() {
    let app = spawn_app().await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let old = app.sign_in("rec@onramp.test").await;
    app.set_to_a_minute_ago("UPDATE staff_sessions SET expires_at = $1")
        .await;
    assert_eq!(app.get_as(&old, "/admin").await.status(), 303);
    // The next sign-in (and a timer, once a minute) clears them out.
    app.sign_in("rec@onramp.test").await;
    assert_eq!(app.count("staff_sessions").await, 1);
}

// API key roles.

async fn call(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> reqwest::Response {
    let mut r = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_do_what_their_role_allows_and_intake_learns_nothing() {
    use reqwest::Method;
    let app = spawn_app().await;
    app.load_quizzes().await;
    let intake = key_with_role(&app, "intake").await;
    let manager = key_with_role(&app, "manager").await;
    let recruiter = key_with_role(&app, "recruiter").await;
    let body = valid_json("ana@example.com");
    let first = call(
        &app,
        &intake,
        Method::POST,
        "/api/v1/applications",
        Some(&body),
    )
    .await;
    // New or a repeat, an intake key gets the same answer, with no id: it cannot tell who has
    // applied.
    assert_eq!(first.status(), 202);
    let first = first.json::<serde_json::Value>().await.unwrap();
    assert_eq!(first, serde_json::json!({ "accepted": true }));
    let id: uuid::Uuid = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT id FROM applications WHERE email = 'ana@example.com'").fetch_one(p).await)
    .unwrap();
    let id = id.to_string();
    let again = call(
        &app,
        &intake,
        Method::POST,
        "/api/v1/applications",
        Some(&body),
    )
    .await;
    assert_eq!(again.status(), 202);
    let again = again.json::<serde_json::Value>().await.unwrap();
    assert_eq!(again, first);
    // A recruiter key gets the existing id.
    let again = call(
        &app,
        &recruiter,
        Method::POST,
        "/api/v1/applications",
        Some(&body),
    )
    .await;
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains(&id));
    let one = format!("/api/v1/applications/{id}");
    let analysis = "/api/v1/quizzes/agents-sweden/item-analysis";
    for (key, path, want) in [
        (&intake, one.as_str(), 403),
        (&intake, analysis, 403),
        (&manager, one.as_str(), 200),
        (&manager, analysis, 403),
        (&recruiter, one.as_str(), 200),
        (&recruiter, analysis, 200),
        (&app.api_key, one.as_str(), 200),
    ] {
        let r = call(&app, key, Method::GET, path, None).await;
        assert_eq!(r.status().as_u16(), want, "{path}");
        if want == 403 {
            let b: serde_json::Value = r.json().await.unwrap();
            assert!(
                b["errors"]["authorization"][0]
                    .as_str()
                    .unwrap()
                    .contains("role"),
                "{b}"
            );
        }
    }
    // Use is recorded, so `apikey list` can show it.
    let used: Option<chrono::DateTime<chrono::Utc>> =
        onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT last_used_at FROM api_keys WHERE name = 'intake'").fetch_one(p).await)
        .unwrap();
    assert!(used.is_some());
}

// Headers, cookies and request ids.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let staff = app.sign_in("rec@onramp.test").await;
    for (path, cookie, private, tokened) in [
        ("/", None, false, false),
        ("/apply", None, false, false),
        ("/verify/some-token", None, true, true),
        ("/status/some-token", None, true, true),
        ("/quiz/some-token", None, true, true),
        ("/admin", Some(&staff), true, false),
        ("/admin/login", None, true, false),
        ("/nope", None, false, false),
    ] {
        let r = match cookie {
            Some(c) => app.get_as(c, path).await,
            None => app.get(path).await,
        };
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let policy = if tokened {
            "no-referrer"
        } else {
            "same-origin"
        };
        assert_eq!(h["referrer-policy"], policy, "{path}");
        assert_eq!(
            h.get("cache-control").is_some_and(|v| v == "no-store"),
            private,
            "{path}"
        );
        // Plain http here: no HSTS (it would be a lie on this origin).
        assert!(h.get("strict-transport-security").is_none(), "{path}");
        // Inline script would be blocked by the policy, so there is none.
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path}");
    }
    let https = spawn_app_with(|s| s.base_url = Some("https://jobs.example".into())).await;
    let r = https.get("/").await;
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_cookie_is_host_only_and_secure() {
    let app = spawn_app().await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let r = app.login("rec@onramp.test", PASSWORD, None).await;
    let c = r.headers()["set-cookie"].to_str().unwrap();
    assert!(c.starts_with("__Host-onramp_staff="), "{c}");
    for part in ["; Path=/;", "; Secure", "; HttpOnly", "; SameSite=Strict"] {
        assert!(c.contains(part), "{part}: {c}");
    }
    assert!(!c.to_lowercase().contains("domain="), "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_uuid_is_kept_as_the_request_id() {
    let app = spawn_app().await;
    let send = |id: &'static str| {
        app.client
            .get(format!("{}/healthz", app.base))
            .header("x-request-id", id)
            .send()
    };
    let good = "0191f7d2-7b8e-7c3a-9d1e-2f4a5b6c7d8e";
    assert_eq!(send(good).await.unwrap().headers()["x-request-id"], good);
    for forged in ["abc", "x\" admin=true", "0191f7d2 injected=1"] {
        let r = send(forged).await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_ne!(id, forged);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_link_replaces_the_earlier_ones_of_its_kind() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.apply(&valid_form("ana@example.com")).await;
    app.drain().await;
    let verify = link(&app.received()[0], &app.base, "/verify/").unwrap();
    app.confirm(&verify).await;
    let resend = encode(&[("email", "ana@example.com".to_string())]);
    for _ in 0..2 {
        app.post_form("/verify/resend", resend.clone()).await;
        app.drain().await;
    }
    let received = app.received();
    let status_links: Vec<String> = received
        .iter()
        .filter_map(|m| link(m, &app.base, "/status/"))
        .map(|l| l.replace(&app.base, ""))
        .collect();
    assert!(status_links.len() >= 2, "{status_links:?}");
    let (older, newest) = (
        &status_links[status_links.len() - 2],
        status_links.last().unwrap(),
    );
    assert_eq!(app.get(newest).await.status(), 200);
    let old = app.get(older).await;
    assert_eq!(old.status(), 410);
    // The dead end offers the way on.
    assert!(old.text().await.unwrap().contains("Email me a new link"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_files_are_private_and_deleted_after_their_days() {
    use onramp::email::Mailer;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mail");
    // A folder left open by an older version is closed down too.
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mailer = Mailer::Files(folder.clone());
    let message = lettre::Message::builder()
        .from("hiring@onramp.localhost".parse().unwrap())
        .to("ana@example.com".parse().unwrap())
        .subject("Confirm your email")
        .body(String::from("https://jobs.example/verify/secret"))
        .unwrap();
    mailer
        .send(message, "one", Duration::from_secs(5))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700);
    let file = folder.join("one.eml");
    assert_eq!(mode(&file), 0o600);
    // Young files stay; a file older than the retention goes.
    std::fs::write(folder.join("notes.txt"), "not mail").unwrap();
    assert_eq!(mailer.prune_files(7).await.unwrap(), 0);
    let old = std::time::SystemTime::now() - Duration::from_secs(8 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(mailer.prune_files(7).await.unwrap(), 1);
    assert!(!file.exists());
    assert!(
        folder.join("notes.txt").exists(),
        "only mail files are deleted"
    );
}

// The outbox under a flood of signups.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_people_wait_on_goes_before_a_backlog_of_first_emails() {
    let app = spawn_app_with(|s| {
        s.outbox.batch_size = 5;
        s.verify_resend_cooldown_secs = 0;
    })
    .await;
    // A verified applicant who asks for their status link...
    app.apply(&valid_form("waiting@example.com")).await;
    app.drain().await;
    let verify = link(&app.received()[0], &app.base, "/verify/").unwrap();
    app.confirm(&verify).await;
    app.drain().await;
    // ...behind 20 new signups whose first emails are not out yet.
    for n in 0..20 {
        app.apply(&valid_form(&format!("new{n}@example.com"))).await;
    }
    let resend = encode(&[("email", "waiting@example.com".to_string())]);
    app.post_form("/verify/resend", resend).await;
    let before = app.received().len();
    let round = app.round().await;
    assert_eq!(round.claimed, 5);
    let received = app.received();
    let first_round = &received[before..];
    assert_eq!(
        mail_to(first_round, "waiting@example.com").len(),
        1,
        "the status link went in the first round, ahead of the backlog"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_emails_to_one_domain_are_limited_per_hour() {
    let app = spawn_app_with(|s| s.mail.first_emails_per_domain_per_hour = 2).await;
    for n in 0..4 {
        app.apply(&valid_form(&format!("staff{n}@victim.example")))
            .await;
    }
    for n in 0..3 {
        app.apply(&valid_form(&format!("ana{n}@gmail.com"))).await;
    }
    let round = app.drain().await;
    let received = app.received();
    let to_victim = received
        .iter()
        .filter(|m| m.contains("@victim.example"))
        .count();
    assert_eq!(to_victim, 2, "two an hour to one company's domain");
    assert_eq!(mail_to(&received, "ana0@gmail.com").len(), 1);
    assert_eq!(received.len(), 5, "webmail is exempt");
    assert!(round.held >= 1, "{round:?}");
    // The rest wait, with their attempts intact and the reason shown to staff.
    let held: Vec<(i64, Option<String>)> = onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT attempts, last_error FROM outbox WHERE status = 'pending'").fetch_all(p).await)
    .unwrap();
    assert_eq!(held.len(), 2);
    for (attempts, why) in held {
        assert_eq!(attempts, 0);
        assert!(why.unwrap().contains("@victim.example"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_email_to_one_domain_keeps_to_its_rate_per_minute() {
    let clock = onramp::clock::Clock::manual(onramp::domain::now());
    let app = spawn_app_at(|s| s.mail.per_domain_per_minute = 2, clock.clone()).await;
    for n in 0..5 {
        app.apply(&valid_form(&format!("ana{n}@gmail.com"))).await;
    }
    app.apply(&valid_form("bo@elsewhere.example")).await;
    // Two a minute to gmail.com (webmail is not exempt from this one); other domains go.
    let round = app.drain().await;
    assert_eq!((round.sent, round.held), (3, 3), "{round:?}");
    assert_eq!(app.drain().await.claimed, 0, "held rows wait");
    let held: Vec<(i64, Option<String>)> = onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT attempts, last_error FROM outbox WHERE status = 'pending'").fetch_all(p).await)
    .unwrap();
    assert_eq!(held.len(), 3);
    for (attempts, why) in held {
        assert_eq!(attempts, 0, "holding uses no attempt");
        assert!(why.unwrap().contains("2 emails a minute to @gmail.com"));
    }
    // A minute on, two more; then the last.
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(app.drain().await.sent, 2);
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(app.drain().await.sent, 1);
    let received = app.received();
    assert_eq!(received.len(), 6);
    assert_each_sent_once(&received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_wait_behind_mail_people_are_waiting_for() {
    let app = spawn_app_with(|s| s.outbox.batch_size = 1).await;
    app.apply(&valid_form("ana@example.com")).await;
    app.drain().await;
    let ana: uuid::Uuid = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT id FROM applications WHERE email = 'ana@example.com'").fetch_one(p).await)
    .unwrap();
    // A reminder queued first, then a new signup's verification link.
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::outbox::enqueue(
        &mut tx,
        onramp::store::outbox::NewEmail {
            idempotency_key: format!("reminder:verify:{ana}"),
            template: "verify_reminder",
            recipient: "ana@example.com",
            payload: serde_json::json!({ "application_id": ana, "name": "Ana Lind" }),
        },
        app.db.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.apply(&valid_form("bo@example.com")).await;
    // One email a round: the link someone is waiting for goes first.
    assert_eq!(app.round().await.sent, 1);
    assert_eq!(mail_to(&app.received(), "bo@example.com").len(), 1);
    assert_eq!(
        mail_to(&app.received(), "ana@example.com").len(),
        1,
        "only the first link"
    );
    assert_eq!(app.round().await.sent, 1);
    assert_eq!(
        mail_to(&app.received(), "ana@example.com").len(),
        2,
        "then the reminder"
    );
}

// The access table, walked.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Anonymous,
    ApplicantLink,
    IntakeKey,
    Recruiter,
    Manager,
    Admin,
}

/// Every route in the access table, called by every kind of caller: each gets what its row
/// says. A route added without a row does not exist (the router is built from the table), and
/// a row whose guard is wrong fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_caller_as_the_access_table_says() {
    use onramp::domain::staff::{KeyRole, Role};
    use onramp::web::access::Access;
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    // Real links of each kind, for the caller who holds them.
    app.invited("ana@example.com").await;
    // A new quiz link ends the earlier ones, so the quiz rows get one made just before them.
    let mut quiz_token: Option<String> = None;
    app.post_form(
        "/verify/resend",
        encode(&[("email", "ana@example.com".to_string())]),
    )
    .await;
    app.drain().await;
    let received = app.received();
    let status_token = received
        .iter()
        .rev()
        .find_map(|m| link(m, &app.base, "/status/"))
        .expect("a status link")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    app.apply(&valid_form("vera@example.com")).await;
    app.drain().await;
    let received = app.received();
    let verify_token = link(
        mail_to(&received, "vera@example.com")[0],
        &app.base,
        "/verify/",
    )
    .unwrap()
    .rsplit('/')
    .next()
    .unwrap()
    .to_string();

    app.load_checklist().await;
    let cohort = app.made_cohort(&cohort_request("Access table")).await;
    let olga = app.shortlisted("olga@example.com").await;
    app.offer(&cohort, &[&olga]).await;
    let offer_link = app.offer_link("olga@example.com").await;
    let offer_token = offer_link.trim_start_matches("/offer/").to_string();
    // The unsubscribe link a reminder carries (minted the way the dispatcher does).
    let olga_id: uuid::Uuid = olga.parse().unwrap();
    let unsubscribe_token = onramp::store::tokens::issue(
        &app.db,
        olga_id,
        onramp::store::tokens::UNSUBSCRIBE,
        chrono::Duration::days(1),
        app.db.now(),
    )
    .await
    .unwrap()
    .as_str()
    .to_string();

    let mut sessions = std::collections::HashMap::new();
    let mut keys = std::collections::HashMap::new();
    for (who, role) in [
        (Caller::Recruiter, "recruiter"),
        (Caller::Manager, "manager"),
        (Caller::Admin, "admin"),
    ] {
        let email = format!("{role}@onramp.test");
        app.staff_user(&email, role).await;
        sessions.insert(format!("{who:?}"), app.sign_in(&email).await);
        keys.insert(format!("{who:?}"), key_with_role(&app, role).await);
    }
    keys.insert("IntakeKey".into(), key_with_role(&app, "intake").await);
    let staff_role = |c: Caller| match c {
        Caller::Recruiter => Some(Role::Recruiter),
        Caller::Manager => Some(Role::Manager),
        Caller::Admin => Some(Role::Admin),
        _ => None,
    };
    let key_role = |c: Caller| match c {
        Caller::IntakeKey => Some(KeyRole::Intake),
        Caller::Recruiter => Some(KeyRole::Recruiter),
        Caller::Manager => Some(KeyRole::Manager),
        Caller::Admin => Some(KeyRole::Admin),
        _ => None,
    };

    let table = route_table();
    assert!(table.len() >= 40, "{}", table.len());
    let mut problems = Vec::new();
    for (method, pattern, access) in &table {
        for caller in [
            Caller::Anonymous,
            Caller::ApplicantLink,
            Caller::IntakeKey,
            Caller::Recruiter,
            Caller::Manager,
            Caller::Admin,
        ] {
            if caller == Caller::ApplicantLink
                && pattern.starts_with("/quiz/")
                && quiz_token.is_none()
            {
                let r = app
                    .post_form(&format!("/status/{status_token}/quiz"), "")
                    .await;
                let to = r.headers()["location"].to_str().unwrap().to_string();
                quiz_token = Some(to.trim_start_matches("/quiz/").to_string());
            }
            let token = match (caller, pattern.split('/').nth(1)) {
                (Caller::ApplicantLink, Some("quiz")) => quiz_token.as_deref().unwrap(),
                (Caller::ApplicantLink, Some("status")) => status_token.as_str(),
                (Caller::ApplicantLink, Some("verify")) => verify_token.as_str(),
                (Caller::ApplicantLink, Some("offer")) => offer_token.as_str(),
                (Caller::ApplicantLink, Some("unsubscribe")) => unsubscribe_token.as_str(),
                _ => "not-a-real-link-0000000000000000000000000",
            };
            let slug = if pattern.contains("questions") {
                "tone-001"
            } else {
                "agents-sweden"
            };
            let path = pattern
                .replace("{token}", token)
                .replace("{slug}", slug)
                .replace("{id}", "0191f7d2-7b8e-7c3a-9d1e-2f4a5b6c7d8e")
                .replace("{n}", "1");
            let mut req = app
                .client
                .request(method.parse().unwrap(), format!("{}{path}", app.base))
                .header("sec-fetch-site", "same-origin");
            if method == "POST" {
                // The quiz's forms name their attempt; the link holder's do.
                let body = if caller == Caller::ApplicantLink
                    && pattern.starts_with("/quiz/")
                    && !pattern.ends_with("/start")
                {
                    format!("attempt={}", app.latest_attempt("ana@example.com").await.id)
                } else {
                    String::new()
                };
                req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body);
            }
            let name = format!("{caller:?}");
            if let Some(cookie) = sessions.get(&name) {
                // Signing out ends a session: that row gets one of its own.
                let cookie = if pattern == "/admin/logout" {
                    app.sign_in(&format!("{}@onramp.test", name.to_lowercase()))
                        .await
                } else {
                    cookie.clone()
                };
                req = req.header("cookie", cookie);
            }
            if let Some(key) = keys.get(&name) {
                req = req.bearer_auth(key);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let to_login = status == 303
                && r.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/admin/login");
            let ok = match access {
                Access::Public => status < 500 && status != 401 && status != 403,
                Access::Link if caller == Caller::ApplicantLink => {
                    status < 500 && ![401, 403, 404, 410].contains(&status)
                }
                Access::Link => [404, 410].contains(&status),
                Access::OwnAccount => match staff_role(caller) {
                    Some(_) => status < 500 && status != 403 && !to_login,
                    None => to_login,
                },
                Access::Staff(roles) => match staff_role(caller) {
                    Some(role) if roles.contains(&role) => {
                        status < 500 && status != 403 && !to_login
                    }
                    Some(_) => status == 403,
                    None => to_login,
                },
                Access::Key(roles) => match key_role(caller) {
                    Some(role) if roles.contains(&role) => {
                        status < 500 && status != 401 && status != 403
                    }
                    Some(_) => status == 403,
                    None => status == 401,
                },
                // No metrics token configured: not on the public port for anyone.
                Access::Metrics => status == 404,
            };
            if !ok {
                problems.push(format!("{method} {pattern} as {caller:?}: {status}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And the table says what it must: an intake key only submits applications (item analysis,
    // with its credits and ranks, is never open to it), and a manager's pages are their home,
    // their own password, and reading applicants.
    for (method, path, access) in &table {
        if let Access::Key(roles) = access {
            if roles.contains(&KeyRole::Intake) {
                assert_eq!(
                    (method.as_str(), path.as_str()),
                    ("POST", "/api/v1/applications")
                );
            }
        }
        // Managers read applicants (the list, one applicant, the CSV) and cohorts, and change
        // nothing of theirs; the report is theirs, and the one thing they record is outsourced headcount.
        if let Access::Staff(roles) = access {
            if roles.contains(&Role::Manager) {
                let (m, p) = (method.as_str(), path.as_str());
                assert!(
                    [
                        ("GET", "/admin"),
                        ("GET", "/admin/applicants"),
                        ("GET", "/admin/applicants.csv"),
                        ("GET", "/admin/applicants/{id}"),
                        ("GET", "/admin/cohorts"),
                        ("GET", "/admin/cohorts/{id}"),
                        ("GET", "/reports"),
                        ("GET", "/reports/replacement.csv"),
                        ("POST", "/reports/headcount"),
                    ]
                    .contains(&(m, p)),
                    "{method} {path}"
                );
            }
        }
    }
}

// The audit log.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_account_changes_leave_an_audit_row_that_cannot_be_changed() {
    use onramp::store::audit;
    let app = spawn_app().await;
    app.staff_user("rec@onramp.test", "recruiter").await;
    let here = app.sign_in("rec@onramp.test").await;
    let new = "a brand new long passphrase";
    let fields = [
        ("current", PASSWORD.to_string()),
        ("new", new.to_string()),
        ("confirm", new.to_string()),
    ];
    assert_eq!(
        app.post_as(&here, "/admin/password", &fields)
            .await
            .status(),
        303
    );
    let email = onramp::domain::email::EmailAddress::parse("rec@onramp.test").unwrap();
    onramp::usecases::staff::disable(&app.db, "cli", &email)
        .await
        .unwrap();
    let id: uuid::Uuid = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT id FROM users").fetch_one(p).await)
    .unwrap();
    let rows = audit::for_subject(&app.db, &format!("user:{id}"), 10)
        .await
        .unwrap();
    let seen: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("staff.disable", "cli"),
            ("staff.change_own_password", format!("staff:{id}").as_str()),
        ]
    );
    // No secret in it.
    for r in &rows {
        let text = format!("{:?}{:?}", r.before, r.after);
        assert!(!text.contains(new) && !text.contains("argon2"), "{text}");
    }
    // The database itself refuses to change or remove a row.
    let update = onramp::on_writer!(&app.db, p => sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(p).await.map(|_| ()));
    assert!(update.is_err(), "an audit row was changed");
    let delete = onramp::on_writer!(&app.db, p => sqlx::query("DELETE FROM audit_log")
        .execute(p).await.map(|_| ()));
    assert!(delete.is_err(), "an audit row was deleted");
    assert_eq!(app.count("audit_log").await, 2);
}
