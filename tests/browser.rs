//! Headless Chromium, driven through chromedriver, fills the signup form the way a person does.
//! Needs `chromium` and `chromium-driver` (Debian); `.ci/run` installs them and runs this with
//! `--ignored`.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use helpers::*;
use onramp::store::attempts;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_chromedriver() -> (Driver, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let driver = Driver(
        Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start {bin} (apt-get install chromium-driver): {e}")
            }),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening on {port}");
}

/// A headless Chromium session; the driver and profile live as long as it.
struct Browser {
    client: fantoccini::Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

async fn browser() -> Browser {
    let (driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=420,1200",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to chromedriver");
    Browser {
        client,
        _driver: driver,
        _profile: profile,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
async fn applicant_fixes_a_mistake_then_verifies_in_a_browser() {
    let app = spawn_app().await;
    let b = browser().await;
    let c = &b.client;
    c.goto(&format!("{}/apply?utm_source=browser", app.base))
        .await
        .unwrap();
    let field = |id: &'static str| c.find(Locator::Id(id));
    field("full_name")
        .await
        .unwrap()
        .send_keys("Ana Lind")
        .await
        .unwrap();
    // The mistake: an address without a domain.
    field("email")
        .await
        .unwrap()
        .send_keys("ana.lind@")
        .await
        .unwrap();
    field("country")
        .await
        .unwrap()
        .select_by_value("SE")
        .await
        .unwrap();
    field("area-town").await.unwrap().click().await.unwrap();
    field("lang-sv").await.unwrap().click().await.unwrap();
    field("lang-en").await.unwrap().click().await.unwrap();
    field("weekly_hours")
        .await
        .unwrap()
        .send_keys("20")
        .await
        .unwrap();
    field("adult").await.unwrap().click().await.unwrap();
    field("equipment").await.unwrap().click().await.unwrap();
    field("consent").await.unwrap().click().await.unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let summary = c
        .wait()
        .for_element(Locator::Id("error-summary"))
        .await
        .unwrap();
    let text = summary.text().await.unwrap();
    assert!(text.contains("Enter a valid email address"), "{text}");
    let links = c.find_all(Locator::Css("#error-summary a")).await.unwrap();
    assert_eq!(links.len(), 1, "only the email is wrong: {text}");
    // The summary links to the field, and everything typed is still there.
    let href = c
        .find(Locator::Css("#error-summary a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(href.as_deref(), Some("#email"));
    let kept = field("full_name")
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Ana Lind"));
    assert!(field("lang-sv").await.unwrap().is_selected().await.unwrap());

    let email = field("email").await.unwrap();
    email.clear().await.unwrap();
    email.send_keys("ana.lind@example.com").await.unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h1 = c.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert!(h1.text().await.unwrap().contains("check your email"));
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/apply/thanks"));

    assert_eq!(app.drain().await.sent, 1);
    let verify = link(&app.received()[0], &app.base, "/verify/").unwrap();
    c.goto(&verify).await.unwrap();
    let page = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("your email address is confirmed"), "{page}");
    assert!(page.contains("Ana Lind"));
    assert_eq!(
        app.status_of("ana.lind@example.com").await.as_deref(),
        Some("verified")
    );
    c.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
async fn applicant_takes_the_quiz_in_a_browser() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    // A short quiz that still has every kind of question.
    app.edit_quiz("agents-sweden", |d| {
        d.draw = [("tone".to_string(), 3), ("product".to_string(), 2)].into();
        d.category_pass_percent.clear();
    })
    .await;
    let email = "browser.quiz@example.com";
    let quiz = app.invited(email).await;
    let b = browser().await;
    let c = &b.client;

    c.goto(&format!("{}{quiz}", app.base)).await.unwrap();
    let rules = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(rules.contains("5 questions"), "{rules}");
    c.find(Locator::Css("form[action$='/start'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let attempt = app.latest_attempt(email).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    for item in &items {
        let heading = c
            .wait()
            .for_element(Locator::Css(".question-heading"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(heading, format!("Question {} of 5", item.position));
        // The countdown script runs and keeps the server's format.
        let left = c
            .find(Locator::Id("time-left"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(left.contains("min"), "{left}");
        for (name, value) in answer_fields(item, true) {
            let id = match name {
                "answer" => format!("choice-{value}"),
                other => format!("{other}-{value}"),
            };
            c.find(Locator::Id(&id))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        c.find(Locator::Css(".actions button.button:not(.secondary)"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    let review = c.wait().for_element(Locator::Css("main")).await.unwrap();
    let text = review.text().await.unwrap();
    assert!(text.contains("You have answered every question."), "{text}");
    c.find(Locator::Css("form[action$='/submit'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let result = c
        .wait()
        .for_element(Locator::Css(".result"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains("Your score: 100%"), "{result}");
    assert_eq!(app.status_of(email).await.as_deref(), Some("quiz_passed"));
    c.clone().close().await.unwrap();
}
