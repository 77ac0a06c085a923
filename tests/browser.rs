//! Headless Chromium, driven through chromedriver: the signup form and the quiz the way a person
//! uses them, and every page (applicant's and each staff role's) on a desktop and on a 390 px
//! phone, checked by axe-core and for sideways scrolling. Needs `chromium` and `chromium-driver`
//! (Debian) and axe-core (npm; `AXE_CORE_JS` names its `axe.min.js`); `.ci/run` installs them and
//! runs this with `--ignored`.

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

/// Waits until the element at `css` says `text`: after a click the old page can still be there
/// for a moment, and an element found on it goes stale.
async fn wait_text(c: &fantoccini::Client, css: &str, text: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if t.contains(text) {
                    return t;
                }
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never said {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
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
    field("adult-yes").await.unwrap().click().await.unwrap();
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
    // Focus goes to the summary, so keyboard and screen reader users start from what is wrong.
    let focused = c
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, "error-summary");
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
    wait_text(c, "h1", "check your email").await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/apply/thanks"));

    assert_eq!(app.drain().await.sent, 1);
    let verify = link(&app.received()[0], &app.base, "/verify/").unwrap();
    c.goto(&verify).await.unwrap();
    // Opening the link confirms nothing until the button is pressed.
    assert_eq!(
        app.status_of("ana.lind@example.com").await.as_deref(),
        Some("applied")
    );
    c.find(Locator::Css("form[action^='/verify/'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = wait_text(c, "main", "your email address is confirmed").await;
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
    // The attempt exists once its first question is on the screen.
    wait_text(c, ".question-heading", "Question 1 of 5").await;
    let attempt = app.latest_attempt(email).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    for item in &items {
        let heading = format!("Question {} of 5", item.position);
        assert_eq!(wait_text(c, ".question-heading", &heading).await, heading);
        if item.position == 1 {
            // The countdown runs: the time left changes while the page is open, in the server's
            // format. Without the script it would stay as rendered.
            let timer = c.find(Locator::Id("time-left")).await.unwrap();
            let before = timer.text().await.unwrap();
            tokio::time::sleep(Duration::from_millis(2100)).await;
            let after = timer.text().await.unwrap();
            assert_ne!(before, after, "the countdown does not run");
            assert!(after.contains(" min ") && after.ends_with(" s"), "{after}");
            // The deadline is in the applicant's market's time, with the zone named.
            let timer_line = c
                .find(Locator::Css(".timer"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(timer_line.contains("Stockholm time"), "{timer_line}");
        }
        // Every answer target is at least 24 by 24 pixels (WCAG 2.2 target size).
        let sizes = c
            .execute(
                "return Array.from(document.querySelectorAll('.choice input')).map(e => { \
                 const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
                vec![],
            )
            .await
            .unwrap();
        for wh in sizes.as_array().unwrap() {
            let (w, h) = (wh[0].as_f64().unwrap(), wh[1].as_f64().unwrap());
            assert!(w >= 24.0 && h >= 24.0, "an answer target of {w} × {h}");
        }
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

    wait_text(c, "main", "You have answered every question.").await;
    c.find(Locator::Css("form[action$='/submit'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, ".result", "Your score: 100%").await;
    assert_eq!(app.status_of(email).await.as_deref(), Some("quiz_passed"));
    c.clone().close().await.unwrap();
}

/// axe-core's source, installed by `.ci/run` from the npm registry.
fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS")
        .unwrap_or_else(|_| "/tmp/onramp-axe/node_modules/axe-core/axe.min.js".into());
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("axe-core not found at {path} ({e}); run .ci/run, or npm install axe-core and set AXE_CORE_JS")
    })
}

/// The two screens every page is checked on.
const VIEWPORTS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 390, 844)];

/// Loads `url` and checks it: a page with a main landmark and a heading, no axe-core violation,
/// and (on the phone) no sideways scrolling. Returns the problems found.
async fn audit(
    c: &fantoccini::Client,
    axe: &str,
    url: &str,
    what: &str,
    phone: bool,
) -> Vec<String> {
    c.goto(url).await.unwrap();
    audit_current(c, axe, what, phone).await
}

async fn audit_current(c: &fantoccini::Client, axe: &str, what: &str, phone: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let shape = c
        .execute(
            "return [!!document.querySelector('main'), !!document.querySelector('h1'), \
             document.documentElement.lang, document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    if shape[0] != true || shape[1] != true || shape[2] != "en" {
        problems.push(format!("{what}: not a whole page ({shape})"));
    }
    if phone && shape[3].as_f64().unwrap() > shape[4].as_f64().unwrap() {
        problems.push(format!(
            "{what}: scrolls sideways on a phone ({} px of content in {} px)",
            shape[3], shape[4]
        ));
    }
    c.execute(axe, vec![]).await.unwrap();
    let violations = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { resultTypes: ['violations'] }) \
               .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + \
                  v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))) \
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    for v in violations.as_array().unwrap() {
        problems.push(format!("{what}: {}", v.as_str().unwrap()));
    }
    problems
}

/// Fills the signup form with `email` and sends it (script, to keep the walk short; the first
/// browser test types it by hand), then waits for the next page's `h1` to say `next`.
async fn submit_apply(c: &fantoccini::Client, base: &str, email: &str, next: &str) {
    c.goto(&format!("{base}/apply")).await.unwrap();
    c.execute(
        "const f = document.querySelector('form[action=\"/apply\"]'); \
         f.full_name.value = 'Ana Lind'; f.email.value = arguments[0]; f.country.value = 'SE'; \
         document.getElementById('area-town').checked = true; \
         document.getElementById('lang-sv').checked = true; f.weekly_hours.value = '20'; \
         document.getElementById('adult-yes').checked = true; f.equipment.checked = true; f.consent.checked = true; \
         f.submit();",
        vec![serde_json::json!(email)],
    )
    .await
    .unwrap();
    wait_text(c, "h1", next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and axe-core; .ci/run runs it"]
async fn every_page_passes_axe_and_fits_a_phone_for_every_role() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    let axe = axe_source();
    let base = app.base.clone();
    let b = browser().await;
    let c = &b.client;
    let mut problems = Vec::new();

    // The applicant's pages, with real links in each state.
    let path = |url: String| url.replace(&base, "");
    let quiz = app.invited("walk@example.com").await;
    let received = app.received();
    let status = path(
        mail_to(&received, "walk@example.com")
            .iter()
            .rev()
            .find_map(|m| link(m, &base, "/status/"))
            .expect("a status link to walk"),
    );
    let used_verify =
        path(link(mail_to(&received, "walk@example.com")[0], &base, "/verify/").unwrap());
    assert_eq!(
        app.apply(&valid_form("fresh@example.com")).await.status(),
        303
    );
    app.drain().await;
    let fresh_verify = path(
        link(
            mail_to(&app.received(), "fresh@example.com")[0],
            &base,
            "/verify/",
        )
        .unwrap(),
    );
    let done_quiz = app.invited("done@example.com").await;
    assert_eq!(
        app.post_form(&format!("{done_quiz}/start"), "")
            .await
            .status(),
        303
    );
    app.answer_all(&done_quiz, "done@example.com", true).await;
    let done = app.latest_attempt("done@example.com").await;
    assert_eq!(app.submit(&done_quiz, done.id).await.status(), 303);
    let running_quiz = app.invited("running@example.com").await;
    assert_eq!(
        app.post_form(&format!("{running_quiz}/start"), "")
            .await
            .status(),
        303
    );
    // A cohort offer, open and accepted.
    app.load_checklist().await;
    let cohort = app.made_cohort(&cohort_request("Walk cohort")).await;
    let olga = app.shortlisted("olga@example.com").await;
    let pia = app.shortlisted("pia@example.com").await;
    app.offer(&cohort, &[&olga, &pia]).await;
    let open_offer = app.offer_link("olga@example.com").await;
    let taken_offer = app.offer_link("pia@example.com").await;
    assert_eq!(
        app.post_form(&taken_offer, "choice=accept").await.status(),
        303
    );
    // The offer email's status link: mail sent in one round arrives in any order, so look for
    // the message that has one rather than taking the last.
    let seated_status = path(
        mail_to(&app.received(), "pia@example.com")
            .iter()
            .rev()
            .find_map(|m| link(m, &base, "/status/"))
            .expect("a status link to pia"),
    );
    // A reminder's unsubscribe link, before and after it was used.
    let unsubscribe = |id: &String| {
        let id: uuid::Uuid = id.parse().unwrap();
        let db = app.db.clone();
        async move {
            let t = onramp::store::tokens::issue(
                &db,
                id,
                onramp::store::tokens::UNSUBSCRIBE,
                chrono::Duration::days(1),
                db.now(),
            )
            .await
            .unwrap();
            format!("/unsubscribe/{}", t.as_str())
        }
    };
    let unsubscribe_open = unsubscribe(&olga).await;
    let unsubscribe_used = unsubscribe(&pia).await;
    onramp::usecases::reminders::unsubscribe(&app.db, pia.parse().unwrap(), app.db.now())
        .await
        .unwrap();
    let pages: Vec<(String, String)> = vec![
        ("home".into(), "/".into()),
        ("unsubscribe".into(), unsubscribe_open),
        ("unsubscribed".into(), unsubscribe_used),
        ("cohort offer".into(), format!("{open_offer}?choice=accept")),
        (
            "cohort offer, declining".into(),
            format!("{open_offer}?choice=decline"),
        ),
        ("offer accepted".into(), taken_offer.clone()),
        ("status with a checklist".into(), seated_status.clone()),
        ("signup form".into(), "/apply?utm_source=walk".into()),
        ("privacy".into(), "/privacy".into()),
        ("new link form".into(), "/verify/resend".into()),
        ("confirm email".into(), fresh_verify.clone()),
        ("link already used".into(), used_verify.clone()),
        ("link not valid".into(), "/verify/not-a-real-token".into()),
        ("status page".into(), status.clone()),
        ("quiz rules".into(), quiz.clone()),
        ("quiz question".into(), format!("{running_quiz}/q/1")),
        ("quiz review".into(), format!("{running_quiz}/review")),
        ("quiz result".into(), done_quiz.clone()),
        ("not found".into(), "/no-such-page".into()),
        ("staff sign-in".into(), "/admin/login".into()),
    ];
    for (vp, w, h) in VIEWPORTS {
        c.set_window_size(w, h).await.unwrap();
        let phone = vp == "phone";
        if phone {
            let inner = c.execute("return window.innerWidth", vec![]).await.unwrap();
            assert_eq!(inner.as_f64(), Some(390.0), "the phone viewport");
        }
        for (what, p) in &pages {
            problems.extend(
                audit(
                    c,
                    &axe,
                    &format!("{base}{p}"),
                    &format!("{vp} {what}"),
                    phone,
                )
                .await,
            );
        }
        // Pages that come after a form: errors, a suggestion, the thanks page, a new link.
        c.goto(&format!("{base}/apply")).await.unwrap();
        c.find(Locator::Css("form[action='/apply'] button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .for_element(Locator::Id("error-summary"))
            .await
            .unwrap();
        problems
            .extend(audit_current(c, &axe, &format!("{vp} signup form with errors"), phone).await);
        submit_apply(c, &base, &format!("ana.{vp}@gmial.com"), "Apply").await;
        c.wait()
            .for_element(Locator::Id("email-suggestion"))
            .await
            .unwrap();
        problems.extend(audit_current(c, &axe, &format!("{vp} address suggestion"), phone).await);
        submit_apply(
            c,
            &base,
            &format!("ana.{vp}@example.com"),
            "Now check your email",
        )
        .await;
        problems.extend(audit_current(c, &axe, &format!("{vp} thanks"), phone).await);
        c.goto(&format!("{base}/verify/not-a-real-token"))
            .await
            .unwrap();
        c.find(Locator::Css("form[action='/links/renew'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(c, "h1", "Check your email").await;
        problems.extend(audit_current(c, &axe, &format!("{vp} new link sent"), phone).await);
    }

    // Every staff page, as each role.
    for (email, role) in [
        ("ada@onramp.test", "admin"),
        ("rita@onramp.test", "recruiter"),
        ("max@onramp.test", "manager"),
    ] {
        app.staff_user(email, role).await;
        sign_in(c, &base, email).await;
        let pages = app.staff_pages().await;
        for (vp, w, h) in VIEWPORTS {
            c.set_window_size(w, h).await.unwrap();
            for (_, page) in &pages {
                problems.extend(
                    audit(
                        c,
                        &axe,
                        &format!("{base}{page}"),
                        &format!("{vp} {role} {page}"),
                        vp == "phone",
                    )
                    .await,
                );
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    c.clone().close().await.unwrap();
}

/// Signs `email` in (with the test password) through the sign-in form.
async fn sign_in(c: &fantoccini::Client, base: &str, email: &str) {
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/admin/login")).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/admin/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, ".staff-nav", email).await;
}

/// A new application by API, with `changes` over the valid one.
async fn applied(app: &TestApp, email: &str, changes: serde_json::Value) {
    let mut body = valid_json(email);
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    assert_eq!(
        app.post_json("/api/v1/applications", &body).await.status(),
        201
    );
}

async fn choose(c: &fantoccini::Client, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
async fn recruiter_filters_opens_rejects_with_a_reason_and_notes_in_a_browser() {
    let app = spawn_app().await;
    applied(
        &app,
        "anna@example.com",
        serde_json::json!({ "full_name": "Anna Lindqvist" }),
    )
    .await;
    applied(
        &app,
        "cara@example.com",
        serde_json::json!({ "full_name": "Cara Lind", "country": "NO", "languages": ["no"] }),
    )
    .await;
    applied(
        &app,
        "bo@example.com",
        serde_json::json!({ "full_name": "Bo Berg" }),
    )
    .await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let b = browser().await;
    let c = &b.client;
    sign_in(c, &app.base, "rita@onramp.test").await;
    c.goto(&format!("{}/admin/applicants", app.base))
        .await
        .unwrap();
    wait_text(c, "#applicants-caption", "3 matching").await;
    c.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys("lind")
        .await
        .unwrap();
    c.find(Locator::Id("country"))
        .await
        .unwrap()
        .send_keys("SE")
        .await
        .unwrap();
    click(c, "form.applicant-filters button[type=submit]").await;
    wait_text(c, "#applicants-caption", "1 matching").await;
    let url = c.current_url().await.unwrap();
    assert!(
        url.as_str().contains("q=lind") && url.as_str().contains("country=SE"),
        "{url}"
    );
    c.find(Locator::LinkText("Anna Lindqvist"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "h1", "Anna Lindqvist").await;
    // Rejecting needs a reason: without one the form says so and nothing moves.
    choose(c, "to", "rejected").await;
    click(c, "form[action$='/move'] button:not([name])").await;
    wait_text(c, ".error-summary", "Choose the reason for rejecting").await;
    choose(c, "to", "rejected").await;
    choose(c, "reason", "Role filled").await;
    click(c, "form[action$='/move'] button:not([name])").await;
    // Rejecting is final: a page asks first, naming whom.
    wait_text(c, "h1", "Reject Anna Lindqvist?").await;
    click(c, "form[action$='/move'] button:not([name])").await;
    wait_text(c, ".notice", "Moved").await;
    wait_text(c, ".timeline", "Reason: Role filled").await;
    c.find(Locator::Id("body"))
        .await
        .unwrap()
        .send_keys("Called twice, <no> answer")
        .await
        .unwrap();
    click(c, "form[action$='/notes'] button").await;
    wait_text(c, ".notice", "Note added").await;
    let timeline = wait_text(c, ".timeline", "Called twice, <no> answer").await;
    assert!(timeline.contains("rita@onramp.test"), "{timeline}");
    assert_eq!(
        app.status_of("anna@example.com").await.as_deref(),
        Some("rejected")
    );
    c.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
async fn recruiter_bulk_moves_a_filtered_set_in_a_browser() {
    let app = spawn_app().await;
    for i in 0..5 {
        applied(
            &app,
            &format!("wave{i}@example.com"),
            serde_json::json!({ "utm_source": "wave" }),
        )
        .await;
    }
    applied(
        &app,
        "other@example.com",
        serde_json::json!({ "utm_source": "radio" }),
    )
    .await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let b = browser().await;
    let c = &b.client;
    sign_in(c, &app.base, "rita@onramp.test").await;
    c.goto(&format!("{}/admin/applicants?source=wave", app.base))
        .await
        .unwrap();
    wait_text(c, "#applicants-caption", "5 matching").await;
    choose(c, "bulk-action", "move").await;
    choose(c, "bulk-to", "withdrawn").await;
    click(c, "#scope-all").await;
    click(c, "form#bulk button[type=submit]").await;
    let confirm = wait_text(c, "main", "Confirm bulk action").await;
    assert!(confirm.contains("5 applicant(s)"), "{confirm}");
    click(c, "form[action='/admin/applicants/bulk/run'] button").await;
    let done = wait_text(c, "main", "Bulk action done").await;
    assert!(done.contains("5 done"), "{done}");
    for i in 0..5 {
        assert_eq!(
            app.status_of(&format!("wave{i}@example.com"))
                .await
                .as_deref(),
            Some("withdrawn")
        );
    }
    assert_eq!(
        app.status_of("other@example.com").await.as_deref(),
        Some("applied")
    );
    c.clone().close().await.unwrap();
}

/// The report's newest week: its row header and its live count.
async fn live_this_week(c: &fantoccini::Client, base: &str) -> (String, String) {
    c.goto(&format!("{base}/reports?market=SE")).await.unwrap();
    wait_text(c, "#replacement-heading", "Replacement").await;
    // A year of weeks folds behind its summary: one click opens it, as a person does.
    let folded = c
        .find(Locator::Css("details.long-table:not([open]) > summary"))
        .await;
    if let Ok(summary) = folded {
        let text = summary.text().await.unwrap();
        if text.contains("week by week") {
            summary.click().await.unwrap();
        }
    }
    let row = "#replacement-caption + thead + tbody tr:first-child";
    let text = |css: String| async move {
        c.find(Locator::Css(&css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    (
        text(format!("{row} th")).await,
        text(format!("{row} td:nth-of-type(2)")).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver; .ci/run runs it"]
async fn a_seat_is_offered_accepted_ticked_and_activated_and_the_report_follows_in_a_browser() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("Browser cohort");
    body["start_date"] = serde_json::json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    let ana = app.shortlisted("ana@example.com").await;
    app.staff_user("ada@onramp.test", "admin").await;
    let b = browser().await;
    let c = &b.client;
    sign_in(c, &app.base, "ada@onramp.test").await;

    // Before: nobody is live this week.
    let (week, live) = live_this_week(c, &app.base).await;
    assert!(week.contains("so far"), "{week}");
    assert_eq!(live, "0");

    // Offer the seat from the shortlist.
    c.goto(&format!("{}/admin/applicants?stage=shortlisted", app.base))
        .await
        .unwrap();
    wait_text(c, "#applicants-caption", "1 matching").await;
    choose(c, "bulk-action", "offer").await;
    choose(c, "bulk-cohort", &cohort).await;
    click(c, &format!("#pick-{ana}")).await;
    click(c, "form#bulk button[type=submit]").await;
    let confirm = wait_text(c, "main", "Confirm bulk action").await;
    assert!(confirm.contains("Browser cohort"), "{confirm}");
    click(c, "form[action='/admin/applicants/bulk/run'] button").await;
    wait_text(c, "main", "1 done").await;

    // The applicant accepts through the link in the email.
    let offer = app.offer_link("ana@example.com").await;
    c.goto(&format!("{}{offer}?choice=accept", app.base))
        .await
        .unwrap();
    wait_text(c, "h1", "A seat in our pilot is yours to take").await;
    click(c, "form[action^='/offer/'] input[value=accept] + button").await;
    wait_text(c, "h1", "Your seat is confirmed").await;

    // The recruiter ticks her whole row on the onboarding grid, with the bandwidth.
    sign_in(c, &app.base, "ada@onramp.test").await;
    c.goto(&format!("{}/admin/cohorts/{cohort}", app.base))
        .await
        .unwrap();
    wait_text(c, "#grid-caption", "Members").await;
    let boxes = c
        .find_all(Locator::Css(&format!(
            "#member-{ana} input[type=checkbox][form='grid-form']"
        )))
        .await
        .unwrap();
    assert_eq!(boxes.len(), 7);
    for b in boxes {
        b.click().await.unwrap();
    }
    c.find(Locator::Id(&format!("bw-{ana}")))
        .await
        .unwrap()
        .send_keys("55")
        .await
        .unwrap();
    click(c, &format!("#member-{ana} button[form='grid-form']")).await;
    wait_text(c, ".notice", "The checklist is saved").await;
    click(
        c,
        &format!("form[action='/admin/cohorts/{cohort}/activate'] button"),
    )
    .await;
    wait_text(c, ".notice", "1 member(s) activated").await;
    assert_eq!(app.stage(&ana).await, "live");

    // After: the report's table and chart count her.
    let (week, live) = live_this_week(c, &app.base).await;
    assert!(week.contains("so far"), "{week}");
    assert_eq!(live, "1");
    let chart = c
        .find(Locator::Css("svg.chart"))
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    assert!(
        chart.contains(">1</text>"),
        "the live line ends at 1: {chart}"
    );
    c.clone().close().await.unwrap();
}
