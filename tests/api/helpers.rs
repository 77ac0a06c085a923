//! `spawn_app`: the real application on port 0 with its own fresh database (a temp SQLite file, or
//! a new PostgreSQL database when TEST_DATABASE_URL is set) and a real SMTP server in the test.

use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server};
use onramp::app::Application;
use onramp::config::Settings;
use onramp::domain::quiz::Kind;
use onramp::domain::token::SecretToken;
use onramp::email::dispatcher::{self, Dispatcher, Round};
use onramp::email::Mailer;
use onramp::on_db;
use onramp::store::attempts::{self, Item};
use onramp::store::{api_keys, quizzes, Db};
use uuid::Uuid;

/// How the test SMTP server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    Accept,
    /// 451 at MAIL FROM: try again later.
    Refuse,
    /// 550 at RCPT TO: mailbox does not exist.
    Reject,
    /// Says nothing for this long at MAIL FROM, then 421.
    Stall(Duration),
    /// Takes this long at MAIL FROM, then accepts: sends stay in flight a while.
    Slow(Duration),
}

#[derive(Debug)]
pub struct Smtp {
    pub mode: SmtpMode,
    pub received: Vec<String>,
    /// Sends that reached MAIL FROM, finished or not.
    pub started: usize,
}

#[derive(Clone)]
struct SmtpHandler {
    state: Arc<Mutex<Smtp>>,
    buf: Vec<u8>,
}

impl Handler for SmtpHandler {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, _from: &str) -> Response {
        let mode = {
            let mut state = self.state.lock().unwrap();
            state.started += 1;
            state.mode
        };
        match mode {
            SmtpMode::Slow(d) => {
                std::thread::sleep(d);
                mailin_embedded::response::OK
            }
            SmtpMode::Refuse => Response::custom(451, "4.3.2 Try again later".into()),
            SmtpMode::Stall(d) => {
                std::thread::sleep(d);
                Response::custom(421, "4.4.2 Timed out".into())
            }
            _ => mailin_embedded::response::OK,
        }
    }

    fn rcpt(&mut self, _to: &str) -> Response {
        if self.state.lock().unwrap().mode == SmtpMode::Reject {
            return Response::custom(550, "5.1.1 No such mailbox here".into());
        }
        mailin_embedded::response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.buf.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let msg = String::from_utf8_lossy(&self.buf).into_owned();
        self.state.lock().unwrap().received.push(msg);
        mailin_embedded::response::OK
    }
}

/// Starts an SMTP server on a free port; it runs for the rest of the test process.
pub fn start_smtp() -> (u16, Arc<Mutex<Smtp>>) {
    let state = Arc::new(Mutex::new(Smtp {
        mode: SmtpMode::Accept,
        received: Vec::new(),
        started: 0,
    }));
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(SmtpHandler {
        state: state.clone(),
        buf: Vec::new(),
    });
    server
        .with_name("smtp.test")
        .with_num_threads(16)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, state)
}

pub struct TestApp {
    pub base: String,
    /// Where `/metrics` is served on its own (`metrics_bind`), if set.
    pub metrics_base: Option<String>,
    pub client: reqwest::Client,
    pub db: Db,
    pub database_url: String,
    pub settings: Arc<Settings>,
    pub dispatcher: Arc<Dispatcher>,
    pub smtp: Arc<Mutex<Smtp>>,
    pub api_key: String,
    /// The app's clock: the system's, or a manual one the test moves (`spawn_app_at`).
    pub clock: onramp::clock::Clock,
    _dir: tempfile::TempDir,
}

/// A database URL of its own for one test.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            // Named after the CI run when there is one, so the run drops only its own.
            let name = match std::env::var("ONRAMP_TEST_RUN") {
                Ok(run) if !run.is_empty() && run.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    format!("onramp_t_{run}_{}", uuid::Uuid::new_v4().simple())
                }
                _ => format!("onramp_t_{}", uuid::Uuid::new_v4().simple()),
            };
            let admin = sqlx::PgPool::connect(&url)
                .await
                .expect("TEST_DATABASE_URL reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let (base, _) = url.rsplit_once('/').expect("URL with a database name");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("onramp.db").display()),
    }
}

pub fn test_settings(database_url: &str, data_dir: &std::path::Path, smtp_port: u16) -> Settings {
    let mut s = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: database_url.to_string(),
        // Tests run side by side against one PostgreSQL server: a small pool each.
        database_max_connections: 4,
        data_dir: data_dir.to_path_buf(),
        seed_demo: false,
        // Tests send many signups from one address; the limit tests set their own.
        rate_limits: onramp::web::limits::RateLimitSettings::for_load_tests(),
        ..Default::default()
    };
    s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
    s.mail.send_timeout_secs = 1;
    s.outbox.retry_base_secs = 0.05;
    s.outbox.retry_max_secs = 0.2;
    s.outbox.poll_interval_ms = 50;
    // Tests send many emails to one domain within a minute; the rate's own test sets one.
    s.mail.per_domain_per_minute = 0;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(edit: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_at(edit, onramp::clock::Clock::system()).await
}

/// An app that reads the time from `clock` (a manual clock the test moves).
pub async fn spawn_app_at(
    edit: impl FnOnce(&mut Settings),
    clock: onramp::clock::Clock,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (port, smtp) = start_smtp();
    let url = fresh_database_url(dir.path()).await;
    let mut settings = test_settings(&url, dir.path(), port);
    edit(&mut settings);
    let mailer = Mailer::from_settings(&settings).unwrap();
    let app = Application::build_with_clock(settings, mailer, clock.clone())
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    let metrics_base = app.metrics_addr.map(|a| format!("http://{a}"));
    let db = app.state.db.clone();
    let settings = app.state.settings.clone();
    let dispatcher = app.dispatcher.clone();
    // Tests drive the outbox themselves (drain) so they can watch each step.
    tokio::spawn(app.run(std::future::pending(), false));
    let key = SecretToken::with_prefix("onr_");
    let mut tx = db.begin().await.unwrap();
    api_keys::create(
        &mut tx,
        "tests",
        "admin",
        &key.hash(),
        onramp::domain::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    TestApp {
        base,
        metrics_base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db,
        database_url: url,
        settings,
        dispatcher,
        smtp,
        api_key: key.as_str().to_string(),
        clock,
        _dir: dir,
    }
}

/// A valid signup as form fields; tests change one thing at a time.
pub fn valid_form(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("full_name", "Ana Lind".into()),
        ("email", email.into()),
        ("phone", "+46 70 123 45 67".into()),
        ("country", "SE".into()),
        ("area", "rural".into()),
        ("languages", "sv".into()),
        ("languages", "en".into()),
        ("weekly_hours", "20".into()),
        ("student", "on".into()),
        ("customer", "on".into()),
        ("adult", "on".into()),
        ("equipment", "on".into()),
        ("motivation", "I like helping people.".into()),
        ("consent", "on".into()),
        ("utm_source", "".into()),
        ("utm_campaign", "".into()),
        ("ref", "".into()),
    ]
}

pub fn valid_json(email: &str) -> serde_json::Value {
    serde_json::json!({
        "full_name": "Ana Lind",
        "email": email,
        "phone": "+46701234567",
        "country": "SE",
        "area": "city",
        "languages": ["sv", "en"],
        "weekly_hours": 20,
        "adult": true,
        "equipment": true,
        "consent": true
    })
}

pub fn encode(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                k,
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl TestApp {
    /// Confirms an email the way a person does: opening the link shows a button and changes
    /// nothing; the button's POST confirms, and lands on the status page. Returns that page.
    pub async fn confirm(&self, verify_url: &str) -> String {
        let path = verify_url.strip_prefix(&self.base).unwrap_or(verify_url);
        let page = self.get(path).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("<form method=\"post\" action=\"{path}\">")),
            "{html}"
        );
        let r = self.post_form(path, "").await;
        assert_eq!(r.status(), 303);
        let status = r.headers()["location"].to_str().unwrap().to_string();
        assert!(status.starts_with("/status/"), "{status}");
        let page = self.get(&status).await;
        assert_eq!(page.status(), 200);
        page.text().await.unwrap()
    }

    /// POST a form as a browser on this site does (with `Sec-Fetch-Site: same-origin`).
    pub async fn post_form(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn apply(&self, fields: &[(&str, String)]) -> reqwest::Response {
        self.post_form("/apply", encode(fields)).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// One dispatcher round: claim due rows once and deliver them.
    pub async fn round(&self) -> Round {
        self.dispatcher.run_once().await.unwrap()
    }

    pub async fn drain(&self) -> Round {
        dispatcher::drain(&self.dispatcher).await.unwrap()
    }

    pub fn received(&self) -> Vec<String> {
        self.smtp.lock().unwrap().received.clone()
    }

    pub fn set_smtp(&self, mode: SmtpMode) {
        self.smtp.lock().unwrap().mode = mode;
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        on_db!(&self.db, p => sqlx::query_scalar(&sql).fetch_one(p).await).unwrap()
    }

    /// The contents of every table, row by row, to show a rejected input changed nothing: an
    /// overwritten row shows here, not only an added one. Left out: the migrations, and the
    /// bookkeeping every request may touch (a session's or key's last use).
    pub async fn snapshot(&self) -> Vec<(String, Vec<String>)> {
        const SKIP: [&str; 3] = ["_sqlx_migrations", "staff_sessions", "api_keys"];
        let tables: Vec<String> = match &self.db.pools {
            onramp::store::Pools::Sqlite { reader: p, .. } => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .fetch_all(p)
            .await
            .unwrap(),
            onramp::store::Pools::Postgres(p) => sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
                 ORDER BY tablename",
            )
            .fetch_all(p)
            .await
            .unwrap(),
        };
        assert!(tables.len() > 20, "{tables:?}");
        let mut v = Vec::new();
        for t in tables.into_iter().filter(|t| !SKIP.contains(&t.as_str())) {
            let rows = self.table_rows(&t).await;
            v.push((t, rows));
        }
        v
    }

    /// Every row of `table`, each as its cells in text, sorted.
    pub async fn table_rows(&self, table: &str) -> Vec<String> {
        use sqlx::Row;
        // Each cell as text, whatever its type on either engine.
        macro_rules! cell {
            ($row:expr, $i:expr) => {{
                let r = $row;
                if let Ok(v) = r.try_get::<Option<String>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<Uuid>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<i64>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<bool>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<i32>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<i16>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<f64>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<f32>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<Vec<u8>>, _>($i) {
                    format!("{v:?}")
                } else if let Ok(v) = r.try_get::<Option<chrono::NaiveDate>, _>($i) {
                    format!("{v:?}")
                } else {
                    panic!("column {} of {table}: unknown type", $i)
                }
            }};
        }
        let sql = format!("SELECT * FROM {table}");
        let mut rows: Vec<String> = on_db!(&self.db, p => {
            sqlx::query(&sql)
                .fetch_all(p)
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| cell!(row, i))
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect()
        });
        rows.sort();
        rows
    }

    /// Runs `sql` with `$1` bound to a minute ago: a link, lock or session that has run out.
    pub async fn set_to_a_minute_ago(&self, sql: &str) {
        let past = self.db.now() - chrono::Duration::minutes(1);
        onramp::on_writer!(&self.db, p => sqlx::query(sql).bind(past).execute(p).await.map(|_| ()))
            .unwrap();
    }

    pub async fn status_of(&self, email: &str) -> Option<String> {
        on_db!(&self.db, p => sqlx::query_scalar("SELECT status FROM applications WHERE email = $1")
            .bind(email).fetch_optional(p).await)
        .unwrap()
    }
}

/// Decodes a quoted-printable body well enough to read links and text out of test emails.
pub fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first link in `email` whose path starts with `prefix` (e.g. "/verify/").
pub fn link(email: &str, base: &str, prefix: &str) -> Option<String> {
    let text = decode_qp(email);
    let start = format!("{base}{prefix}");
    let at = text.find(&start)?;
    let rest = &text[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

pub fn header<'a>(email: &'a str, name: &str) -> Option<&'a str> {
    email.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(": "))
            .map(str::trim)
    })
}

/// Fails the test if any email was received twice (by its Message-ID).
pub fn assert_each_sent_once(received: &[String]) {
    let mut ids: Vec<&str> = received
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    ids.sort();
    let all = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), all, "an email was sent twice");
}

pub fn mail_to<'a>(received: &'a [String], address: &str) -> Vec<&'a String> {
    received
        .iter()
        .filter(|m| header(m, "To").is_some_and(|t| t.contains(address)))
        .collect()
}

// Quiz helpers, shared by the API and browser tests.

impl TestApp {
    /// The shipped question bank and quizzes, as `onramp seed` loads them.
    pub async fn load_quizzes(&self) {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed");
        onramp::seed::import_questions(&self.db, &seed.join("questions.toml"))
            .await
            .unwrap();
        onramp::seed::import_quizzes(&self.db, &seed.join("quizzes.toml"))
            .await
            .unwrap();
    }

    /// Changes one setting of a stored quiz.
    pub async fn edit_quiz(
        &self,
        slug: &str,
        edit: impl FnOnce(&mut onramp::domain::quiz::QuizDef),
    ) {
        let (_, mut def) = quizzes::quiz_by_slug(&self.db, slug)
            .await
            .unwrap()
            .unwrap();
        edit(&mut def);
        let mut tx = self.db.begin().await.unwrap();
        quizzes::save_quiz(&mut tx, &def, onramp::domain::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Signs up, verifies and returns the quiz link path from the invitation.
    pub async fn invited(&self, email: &str) -> String {
        assert_eq!(self.apply(&valid_form(email)).await.status(), 303);
        self.drain().await;
        let received = self.received();
        let mail = mail_to(&received, email);
        let verify = link(mail.last().unwrap(), &self.base, "/verify/").unwrap();
        self.confirm(&verify).await;
        self.drain().await;
        let received = self.received();
        let invitation = mail_to(&received, email)
            .into_iter()
            .find(|m| decode_qp(m).contains("Your skills quiz is ready"))
            .expect("quiz invitation email")
            .clone();
        let url = link(&invitation, &self.base, "/quiz/").expect("quiz link");
        url[self.base.len()..].to_string()
    }

    /// Invites `email` and starts the quiz: the quiz link path and the running attempt.
    pub async fn start_quiz(&self, email: &str) -> (String, attempts::AttemptRow) {
        let quiz = self.invited(email).await;
        let start = self.post_form(&format!("{quiz}/start"), "").await;
        assert_eq!(start.status(), 303);
        (quiz, self.latest_attempt(email).await)
    }

    pub async fn latest_attempt(&self, email: &str) -> attempts::AttemptRow {
        let id: Uuid = on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT id FROM applications WHERE email = $1").bind(email).fetch_one(p).await)
        .unwrap();
        attempts::latest(&self.db, id).await.unwrap().unwrap()
    }

    pub async fn post_answer(
        &self,
        quiz: &str,
        attempt: Uuid,
        item: &Item,
        fields: &[(&str, String)],
    ) -> reqwest::Response {
        let mut all = vec![
            ("attempt", attempt.to_string()),
            ("question", item.question_version_id.to_string()),
        ];
        all.extend(fields.iter().map(|(k, v)| (*k, v.clone())));
        self.post_form(&format!("{quiz}/q/{}", item.position), encode(&all))
            .await
    }

    /// Answers every item of the running attempt, right or wrong, through the forms.
    pub async fn answer_all(&self, quiz: &str, email: &str, right: bool) {
        let attempt = self.latest_attempt(email).await;
        let items = attempts::items(&self.db, attempt.id).await.unwrap();
        for item in &items {
            let r = self
                .post_answer(quiz, attempt.id, item, &answer_fields(item, right))
                .await;
            assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        }
    }

    pub async fn submit(&self, quiz: &str, attempt: Uuid) -> reqwest::Response {
        self.post_form(&format!("{quiz}/submit"), format!("attempt={attempt}"))
            .await
    }
}

/// The position (1-based, as the page shows it) of the choice with `key`.
fn pos(item: &Item, key: &str) -> String {
    (item.choice_order.iter().position(|k| k == key).unwrap() + 1).to_string()
}

/// Form fields answering `item` fully right, or with nothing right.
pub fn answer_fields(item: &Item, right: bool) -> Vec<(&'static str, String)> {
    let q = &item.question;
    let by_credit = |want_full: bool| -> Vec<String> {
        q.choices
            .iter()
            .filter(|c| {
                let credit = c.credit.unwrap_or(0.0);
                if want_full {
                    credit > 0.0
                } else {
                    credit <= 0.0
                }
            })
            .map(|c| c.key.clone())
            .collect()
    };
    match q.kind {
        Kind::Single | Kind::Multiple => {
            let keys = by_credit(right);
            let keys = if q.kind == Kind::Single || !right {
                vec![keys[0].clone()]
            } else {
                keys
            };
            keys.iter().map(|k| ("answer", pos(item, k))).collect()
        }
        Kind::Judgement => {
            let rank = |r: u32| {
                q.choices
                    .iter()
                    .find(|c| c.rank == Some(r))
                    .unwrap()
                    .key
                    .clone()
            };
            let n = q.choices.len() as u32;
            let (best, worst) = if right {
                (rank(1), rank(n))
            } else {
                (rank(n), rank(1))
            };
            vec![("best", pos(item, &best)), ("worst", pos(item, &worst))]
        }
    }
}

// Staff helpers, shared by the API and browser tests.

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn staff_user(&self, email: &str, role: &str) {
        let hash = onramp::domain::staff::hash_password(PASSWORD).unwrap();
        let mut tx = self.db.begin().await.unwrap();
        onramp::store::users::create(&mut tx, email, role, &hash, onramp::domain::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Signs in and returns the cookie to send.
    /// Posts the sign-in form, with `next` when given.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        next: Option<&str>,
    ) -> reqwest::Response {
        let mut fields = vec![
            ("email", email.to_string()),
            ("password", password.to_string()),
        ];
        if let Some(n) = next {
            fields.push(("next", n.to_string()));
        }
        self.post_form("/admin/login", encode(&fields)).await
    }

    /// Signs in with the test password; the cookie to send.
    pub async fn sign_in(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD, None).await;
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        cookie.split(';').next().unwrap().to_string()
    }

    /// GET with a cookie (a staff session, a signup receipt).
    pub async fn get_as(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    /// POST a form with a cookie, as a browser on this site does.
    pub async fn post_as(
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

/// Every staff page that takes no id, and one of each that does (ids from the shipped seed,
/// loaded by `load_quizzes`). The page tests render each for every role, and the browser tests
/// check each for accessibility and for width on a phone.
pub const STAFF_PAGES: &[&str] = &[
    "/admin",
    "/admin/questions",
    "/admin/questions?category=tone",
    "/admin/questions/new",
    "/admin/questions/tone-001",
    "/admin/quizzes",
    "/admin/quizzes/new",
    "/admin/quizzes/agents-sweden",
    "/admin/quizzes/agents-sweden/analysis",
    "/admin/emails",
    "/admin/emails?status=pending",
    "/admin/emails?status=sent",
    "/admin/password",
    "/admin/applicants",
    "/admin/applicants?stage=applied&sort=name_asc&country=SE&q=ana",
    "/admin/applicants?score_min=101",
    APPLICANT_PAGE,
    "/admin/users",
    "/admin/audit",
    "/admin/audit?action=staff.create",
    "/reports",
    "/reports?market=SE&weeks=4&target=50",
    REPORT_WITH_A_BAD_FILTER,
    "/admin/cohorts",
    "/admin/cohorts?market=SE&status=planned",
    COHORT_PAGE,
    "/admin/webhooks",
    "/admin/jobs",
    "/admin/outbox",
    "/admin/outbox?state=sent&template=verify_email&to=example",
    OUTBOX_WITH_A_BAD_FILTER,
    "/admin/outbox/preview/verify_reminder",
    "/admin/outbox/preview/cohort_offer",
];

/// The outbox with filters that cannot be read: the page names both (422).
pub const OUTBOX_WITH_A_BAD_FILTER: &str = "/admin/outbox?state=lost&template=nope";

/// A cohort's page: `staff_pages` puts a real id in, of a cohort with a member.
pub const COHORT_PAGE: &str = "/admin/cohorts/{cohort}";

/// A report whose filter cannot be read: the page names the problem (422).
pub const REPORT_WITH_A_BAD_FILTER: &str = "/reports?from=2026-13-01&weeks=0";

/// The managers' report: managers and admins.
pub const REPORT_PAGES: &[&str] = &[
    "/reports",
    "/reports?market=SE&weeks=4&target=50",
    REPORT_WITH_A_BAD_FILTER,
];

/// The staff pages only admins may open.
pub const ADMIN_PAGES: &[&str] = &[
    "/admin/webhooks",
    "/admin/jobs",
    "/admin/outbox",
    "/admin/outbox?state=sent&template=verify_email&to=example",
    OUTBOX_WITH_A_BAD_FILTER,
    "/admin/outbox/preview/verify_reminder",
    "/admin/outbox/preview/cohort_offer",
    "/admin/users",
    "/admin/audit",
    "/admin/audit?action=staff.create",
];

/// An applicant's page: `staff_pages` puts a real id in.
pub const APPLICANT_PAGE: &str = "/admin/applicants/{applicant}";

/// The staff pages a manager may open; the rest answer 403 inside the staff layout.
pub const MANAGER_PAGES: &[&str] = &[
    "/admin",
    "/admin/password",
    "/admin/applicants",
    "/admin/applicants?stage=applied&sort=name_asc&country=SE&q=ana",
    "/admin/applicants?score_min=101",
    APPLICANT_PAGE,
    "/reports",
    "/reports?market=SE&weeks=4&target=50",
    REPORT_WITH_A_BAD_FILTER,
    "/admin/cohorts",
    "/admin/cohorts?market=SE&status=planned",
    COHORT_PAGE,
];

impl TestApp {
    /// `STAFF_PAGES` with an applicant's id in `APPLICANT_PAGE`: one with a note and a tag, so
    /// the page shows them (made on the first call).
    pub async fn staff_pages(&self) -> Vec<(&'static str, String)> {
        let found: Option<Uuid> = onramp::on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT id FROM applications WHERE email = 'pages@example.com'").fetch_optional(p).await)
        .unwrap();
        let id = match found {
            Some(id) => id.to_string(),
            None => {
                let r = self
                    .post_json("/api/v1/applications", &valid_json("pages@example.com"))
                    .await;
                assert_eq!(r.status(), 201);
                let id = r.json::<serde_json::Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let note =
                    serde_json::json!({ "body": "<script>alert(1)</script> called, no answer" });
                let r = self
                    .post_json(&format!("/api/v1/applications/{id}/notes"), &note)
                    .await;
                assert_eq!(r.status(), 201);
                let tag = serde_json::json!({ "tag": "evening shifts" });
                let r = self
                    .post_json(&format!("/api/v1/applications/{id}/tags"), &tag)
                    .await;
                assert_eq!(r.status(), 201);
                id
            }
        };
        let cohort = self.page_cohort().await;
        STAFF_PAGES
            .iter()
            .map(|p| {
                (
                    *p,
                    p.replace("{applicant}", &id).replace("{cohort}", &cohort),
                )
            })
            .collect()
    }

    /// A started cohort with one member who has done some steps (made on the first call).
    pub async fn page_cohort(&self) -> String {
        let found: Option<Uuid> = onramp::on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT id FROM cohorts WHERE name = 'Pages cohort'").fetch_optional(p).await)
        .unwrap();
        if let Some(id) = found {
            return id.to_string();
        }
        self.load_checklist().await;
        let mut body = cohort_request("Pages cohort");
        body["start_date"] = serde_json::json!(weeks_ago(4));
        body["waitlist"] = serde_json::json!(true);
        let cohort = self.made_cohort(&body).await;
        let member = self.shortlisted("member@example.com").await;
        self.offer(&cohort, &[&member]).await;
        let pipeline = onramp::domain::pipeline::Pipeline::new(&self.settings.pipeline).unwrap();
        let answer = onramp::usecases::cohorts::answer(
            &self.db,
            &pipeline,
            member.parse().unwrap(),
            true,
            onramp::domain::now(),
        )
        .await
        .unwrap();
        assert_eq!(answer, onramp::usecases::cohorts::Answer::Accepted);
        let r = self
            .post_json(
                &format!("/api/v1/applications/{member}/checklist/equipment_check"),
                &serde_json::json!({ "done": true, "bandwidth_mbps": 42.5 }),
            )
            .await;
        assert_eq!(r.status(), 200);
        let other = self.shortlisted("offered@example.com").await;
        self.offer(&cohort, &[&other]).await;
        cohort
    }
}

/// The route patterns under `/admin` that answer GET, from the access table the router is built
/// from, so a new page cannot be left out of `STAFF_PAGES`.
pub fn admin_get_routes() -> Vec<String> {
    route_table()
        .into_iter()
        .filter(|(m, p, _)| m == "GET" && (p.starts_with("/admin") || p.starts_with("/reports")))
        .map(|(_, p, _)| p)
        .collect()
}

/// Every row of the access table: method, path, access.
pub fn route_table() -> Vec<(String, String, onramp::web::access::Access)> {
    let limits = onramp::web::limits::RateLimits::new(&Default::default(), &[], Default::default());
    onramp::web::access::routes(&limits)
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_string(), r.access))
        .collect()
}

/// Whether `page` is an instance of route `pattern` (`{id}` matches one path segment).
pub fn matches_route(pattern: &str, page: &str) -> bool {
    let path = page.split('?').next().unwrap();
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter()
            .zip(&q)
            .all(|(a, b)| a == b || (a.starts_with('{') && !b.is_empty()))
}

/// Undoes the HTML escaping handlebars applies.
pub fn unescape_html(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

/// The fields the first form posting to `action` would send, as a browser sends them: text
/// inputs and hidden fields, checked boxes, the selected option, and textareas with CRLF line
/// ends.
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .expect("form with that action");
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let end = rest.find('>').unwrap();
        let tag = &rest[..=end];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or("text");
            if let Some(name) = attr(tag, "name") {
                let checked = !matches!(kind, "checkbox" | "radio") || tag.contains(" checked");
                if checked && kind != "submit" {
                    let value = attr(tag, "value").unwrap_or("on");
                    out.push((name.to_string(), unescape_html(value)));
                }
            }
        } else if tag.starts_with("<textarea") {
            let body = &rest[end + 1..];
            let text = &body[..body.find("</textarea>").unwrap()];
            let name = attr(tag, "name").unwrap();
            out.push((name.to_string(), unescape_html(text).replace('\n', "\r\n")));
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap().to_string();
            let body = &rest[end + 1..];
            let options = &body[..body.find("</select>").unwrap()];
            let chosen = options
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option").nth(1))
                .and_then(|o| attr(o, "value").map(unescape_html));
            if let Some(v) = chosen {
                out.push((name, v));
            }
        }
        rest = &rest[end + 1..];
    }
    out
}

/// A new API key with `role` (named after it); the key to send.
pub async fn key_with_role(app: &TestApp, role: &str) -> String {
    let key = onramp::domain::token::SecretToken::with_prefix("onr_");
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::api_keys::create(&mut tx, role, role, &key.hash(), onramp::domain::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    key.as_str().to_string()
}

impl TestApp {
    /// A request with API key `key`, and a JSON body when given.
    pub async fn send_key(
        &self,
        method: reqwest::Method,
        key: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(b) = body {
            r = r.json(b);
        }
        r.send().await.unwrap()
    }
}

// Cohort helpers, shared by the API and browser tests.

/// The day `n` weeks before today on the system clock (the clock of every app that sets none):
/// a cohort that has started, a headcount already recorded. Never a fixed calendar day.
pub fn weeks_ago(n: u64) -> String {
    (onramp::domain::now().date_naive() - chrono::Days::new(7 * n)).to_string()
}

/// A valid cohort request, starting twelve weeks after today on the system clock (the clock
/// of every app that does not set its own); tests change one thing at a time.
pub fn cohort_request(name: &str) -> serde_json::Value {
    let start = onramp::domain::now().date_naive() + chrono::Duration::weeks(12);
    serde_json::json!({ "name": name, "market": "SE", "language": "sv",
                        "start_date": start.to_string(), "capacity": 12 })
}

impl TestApp {
    /// The default onboarding checklist, as `onramp seed` loads it.
    pub async fn load_checklist(&self) {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed");
        onramp::seed::import_checklist(&self.db, &seed.join("checklist.toml"))
            .await
            .unwrap();
    }

    /// An applicant on the shortlist; their id.
    pub async fn shortlisted(&self, email: &str) -> String {
        let r = self
            .post_json("/api/v1/applications", &valid_json(email))
            .await;
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        let id: uuid::Uuid = body["id"].as_str().unwrap().parse().unwrap();
        let mut tx = self.db.begin().await.unwrap();
        onramp::on!(&mut tx, c => sqlx::query(
            "UPDATE applications SET status = 'shortlisted' WHERE id = $1")
            .bind(id).execute(&mut **c).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        id.to_string()
    }

    pub async fn made_cohort(&self, body: &serde_json::Value) -> String {
        let r = self.post_json("/api/v1/cohorts", body).await;
        assert_eq!(r.status(), 201);
        let made: serde_json::Value = r.json().await.unwrap();
        made["id"].as_str().unwrap().to_string()
    }

    pub async fn offer(&self, cohort: &str, ids: &[&String]) -> serde_json::Value {
        let r = self
            .post_json(
                &format!("/api/v1/cohorts/{cohort}/offers"),
                &serde_json::json!({ "application_ids": ids }),
            )
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The offer page path from the newest offer email to `email`, without its `?choice=`.
    pub async fn offer_link(&self, email: &str) -> String {
        self.drain().await;
        let received = self.received();
        let mail = mail_to(&received, email)
            .into_iter()
            .rev()
            .find(|m| header(m, "Subject").is_some_and(|s| s.contains("pilot")))
            .expect("an offer email")
            .clone();
        let url = link(&mail, &self.base, "/offer/").expect("an offer link");
        assert!(url.ends_with("?choice=accept"), "{url}");
        let decoded = decode_qp(&mail);
        assert!(decoded.contains("?choice=decline"), "{decoded}");
        assert!(
            link(&mail, &self.base, "/status/").is_some(),
            "the status link"
        );
        url[self.base.len()..]
            .trim_end_matches("?choice=accept")
            .to_string()
    }

    pub async fn stage(&self, id: &str) -> String {
        let id: uuid::Uuid = id.parse().unwrap();
        onramp::on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT status FROM applications WHERE id = $1").bind(id).fetch_one(p).await)
        .unwrap()
    }

    pub async fn seats_taken(&self, cohort: &str) -> i64 {
        let id: uuid::Uuid = cohort.parse().unwrap();
        onramp::on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT seats_taken FROM cohorts WHERE id = $1").bind(id).fetch_one(p).await)
        .unwrap()
    }
}
