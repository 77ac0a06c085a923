//! Every command of the `onramp` binary, run as a person runs it, against a fresh database of the
//! engine under test; and starting the service: first start seeds and creates the bootstrap
//! admin, a restart changes nothing, and two instances started together on one empty database
//! both come up.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use onramp::domain::staff;
use onramp::domain::token::hash_token;
use onramp::store::{api_keys, outbox, Db};
use onramp::{on_db, on_writer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_onramp");

/// A database of its own, and a working folder with nothing in it (no onramp.toml).
struct Cli {
    dir: tempfile::TempDir,
    url: String,
    /// More environment for every command.
    env: Vec<(String, String)>,
}

impl Cli {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path()).await;
        Self {
            dir,
            url,
            env: Vec::new(),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(BIN);
        c.args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.url)
            .env("ONRAMP_DATA_DIR", self.dir.path().join("data"))
            .env("ONRAMP_SEED_DIR", seed_dir())
            .env("ONRAMP_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "error")
            .env_remove("SMTP_URL")
            .env_remove("ONRAMP_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        c
    }

    /// Runs `onramp args…` to the end, with `stdin` piped in.
    async fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("command finished")
            .unwrap()
    }

    /// Runs a command that must succeed; its standard output.
    async fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "").await
    }

    async fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "onramp {args:?} failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// Runs a command that must fail; its error output.
    async fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin).await;
        assert!(!out.status.success(), "onramp {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    async fn db(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }

    /// Starts `onramp serve` and waits for it to say where it serves; its output so far.
    async fn serve(&self) -> (tokio::process::Child, Vec<String>) {
        let mut child = self
            .command(&[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let started = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let done = line.starts_with("open http://");
                seen.push(line);
                if done {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        if !started {
            let _ = child.kill().await;
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "onramp serve did not start: {seen:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Keep reading so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (child, seen)
    }
}

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed")
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on_db!(db, p => sqlx::query_scalar(&sql).fetch_one(p).await).unwrap()
}

/// `GET /admin` with the session cookie a sign-in answer `signed_in` set.
async fn staff_home(
    client: &reqwest::Client,
    base: &str,
    signed_in: &reqwest::Response,
) -> reqwest::Response {
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap();
    client
        .get(format!("{base}/admin"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn line_after<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_seed_are_idempotent_on_the_engine_asked_for() {
    let cli = Cli::new().await;
    let engine = if cli.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(
        cli.ok(&["migrate"]).await.trim(),
        format!("migrations applied ({engine})")
    );
    cli.ok(&["migrate"]).await;

    let first = cli.ok(&["seed", "--demo"]).await;
    assert!(
        first.contains("questions: 66 new, 0 new versions, 0 unchanged"),
        "{first}"
    );
    assert!(first.contains("quizzes: 2 loaded"));
    assert!(
        first.contains("demo applicants: 32 loaded, 0 already present"),
        "{first}"
    );
    let db = cli.db().await;
    let before: Vec<i64> = {
        let mut v = Vec::new();
        for t in [
            "applications",
            "questions",
            "question_versions",
            "quizzes",
            "outbox",
        ] {
            v.push(count(&db, t).await);
        }
        v
    };
    let again = cli.ok(&["seed", "--demo"]).await;
    assert!(
        again.contains("questions: 0 new, 0 new versions, 66 unchanged"),
        "{again}"
    );
    assert!(
        again.contains("demo applicants: 0 loaded, 32 already present"),
        "{again}"
    );
    let mut after = Vec::new();
    for t in [
        "applications",
        "questions",
        "question_versions",
        "quizzes",
        "outbox",
    ] {
        after.push(count(&db, t).await);
    }
    assert_eq!(before, after);
    // Demo applicants get no email.
    assert_eq!(count(&db, "outbox").await, 0);
    // The onboarding checklist template is loaded with demo data and without, replaced (not
    // added to) each time.
    assert!(first.contains("onboarding checklist: 7 items"), "{first}");
    let plain = cli.ok(&["seed"]).await;
    assert!(plain.contains("onboarding checklist: 7 items"), "{plain}");
    assert!(!plain.contains("demo applicants"), "{plain}");
    assert_eq!(count(&db, "checklist_template_items").await, 7);
    // The demo headcount history: three vendors in two markets, weekly for a year; once.
    assert!(
        first.contains("outsourced headcount history: 312 snapshots loaded"),
        "{first}"
    );
    assert!(
        again.contains("outsourced headcount history: 0 snapshots loaded"),
        "{again}"
    );
    assert_eq!(count(&db, "outsourced_headcount").await, 312);
    // The demo pilot: three cohorts, fifteen members; once.
    assert!(
        first.contains("demo pilot: 15 cohort members loaded"),
        "{first}"
    );
    assert!(
        again.contains("demo pilot: 0 cohort members loaded"),
        "{again}"
    );
    assert_eq!(count(&db, "cohorts").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headcount_import_names_bad_rows_by_line_and_field_and_fails_in_a_dry_run_too() {
    let cli = Cli::new().await;
    cli.ok(&["migrate"]).await;
    let file = cli.dir.path().join("headcount.csv");
    let (day, next) = (weeks_ago(5), weeks_ago(4));
    std::fs::write(
        &file,
        format!(
            "vendor,market,date,headcount\n\
             Northwind,SE,{day},120\n\
             Northwind,SE,{next},-4\n\
             ,XX,{next},7\n\
             Bluepeak,DE,{day},300\n\
             Bluepeak,DE,12/01/2026,ten\n"
        ),
    )
    .unwrap();
    // The same file with CRLF line ends (what spreadsheet programs write) names the same lines.
    let crlf = cli.dir.path().join("headcount-crlf.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&crlf, text.replace('\n', "\r\n")).unwrap();
    for path in [file.to_str().unwrap(), crlf.to_str().unwrap()] {
        let dry = cli
            .run(&["headcount", "import", path, "--dry-run"], "")
            .await;
        assert!(!dry.status.success(), "a dry run with bad rows fails");
        let err = String::from_utf8_lossy(&dry.stderr);
        for expected in [
            "line 3, headcount:",
            "line 4, market:",
            "line 4, vendor:",
            "line 6, date:",
            "line 6, headcount:",
        ] {
            assert!(err.contains(expected), "{path}: {expected}: {err}");
        }
        assert!(
            !err.contains("line 2,") && !err.contains("line 5,"),
            "{err}"
        );
        let out = String::from_utf8_lossy(&dry.stdout);
        assert!(
            out.contains("would import 2 snapshot(s), refused 3 row(s)"),
            "{out}"
        );
    }
    let path = file.to_str().unwrap();
    let db = cli.db().await;
    assert_eq!(count(&db, "outsourced_headcount").await, 0);

    let real = cli.run(&["headcount", "import", path], "").await;
    assert!(!real.status.success(), "a real run with bad rows fails");
    assert!(String::from_utf8_lossy(&real.stdout).contains("imported 2 snapshot(s)"));
    assert_eq!(count(&db, "outsourced_headcount").await, 2);

    // A file without the columns is refused whole, naming line 1.
    std::fs::write(
        &file,
        format!("vendor,country,date,headcount\nA,SE,{day},1\n"),
    )
    .unwrap();
    let bad = cli.run(&["headcount", "import", path], "").await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1"));
    assert_eq!(count(&db, "outsourced_headcount").await, 2);

    // A clean file succeeds; the same vendor, market and day replaces the figure.
    std::fs::write(
        &file,
        format!("vendor,market,date,headcount\nNorthwind,se,{day},125\n"),
    )
    .unwrap();
    let out = cli.ok(&["headcount", "import", path]).await;
    assert!(
        out.contains("imported 1 snapshot(s), refused 0 row(s)"),
        "{out}"
    );
    assert_eq!(count(&db, "outsourced_headcount").await, 2);
    // Quality figures: an address that is no agent's is refused by line and field.
    std::fs::write(
        &file,
        "email,week,csat,qa_score\nana@example.com,2026-W40,80,70\nana@example.com,2026-W40,,\n",
    )
    .unwrap();
    let q = cli.run(&["quality", "import", path, "--dry-run"], "").await;
    assert!(!q.status.success());
    let err = String::from_utf8_lossy(&q.stderr);
    assert!(
        err.contains("line 2, email: No agent has this address"),
        "{err}"
    );
    assert!(err.contains("line 3, csat:"), "{err}");
    let out = cli.ok(&["report", "rebuild"]).await;
    assert!(out.contains("rebuilt the live series"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_accounts_from_the_command_line() {
    let cli = Cli::new().await;
    let out = cli
        .ok(&[
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--role",
            "recruiter",
        ])
        .await;
    assert!(out.contains("created recruiter ops@example.com"), "{out}");
    let generated = line_after(
        &out,
        "password (shown once; to be changed at the first sign-in): ",
    )
    .to_string();
    let db = cli.db().await;
    let hash: String = on_db!(&db, p => sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE email = 'ops@example.com'").fetch_one(p).await)
    .unwrap();
    assert!(staff::verify_password(&generated, &hash));
    assert!(!hash.contains(&generated));
    // A printed password must be changed at the first sign-in.
    let forced: bool = on_db!(&db, p => sqlx::query_scalar(
        "SELECT must_change_password FROM users WHERE email = 'ops@example.com'").fetch_one(p).await)
    .unwrap();
    assert!(forced);
    // Disabling signs the account out and keeps it out.
    let out = cli
        .ok(&["user", "disable", "--email", "ops@example.com"])
        .await;
    assert!(out.contains("disabled ops@example.com"), "{out}");
    assert!(cli
        .fails(&["user", "disable", "--email", "nobody@example.com"], "")
        .await
        .contains("--email"));

    // Refusals name what to fix and change nothing.
    let err = cli
        .fails(
            &[
                "user",
                "create",
                "--email",
                "ops@example.com",
                "--role",
                "admin",
            ],
            "",
        )
        .await;
    assert!(
        err.contains("--email") && err.contains("already exists"),
        "{err}"
    );
    let err = cli
        .fails(
            &[
                "user",
                "create",
                "--email",
                "new@example.com",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "short\n",
        )
        .await;
    assert!(err.contains("password") && err.contains("12"), "{err}");
    let err = cli
        .fails(
            &[
                "user",
                "create",
                "--email",
                "not-an-email",
                "--role",
                "admin",
            ],
            "",
        )
        .await;
    assert!(err.contains("--email"), "{err}");
    let err = cli
        .fails(
            &[
                "user",
                "create",
                "--email",
                "x@example.com",
                "--role",
                "boss",
            ],
            "",
        )
        .await;
    assert!(err.contains("--role"), "{err}");
    assert_eq!(count(&db, "users").await, 1);

    // A new password signs the person out everywhere.
    for _ in 0..2 {
        onramp::store::sessions::create(
            &db,
            &hash_token(&uuid::Uuid::new_v4().to_string()),
            on_db!(&db, p => sqlx::query_scalar("SELECT id FROM users").fetch_one(p).await)
                .unwrap(),
            onramp::domain::now(),
            onramp::domain::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    }
    let out = cli
        .ok_with(
            &[
                "user",
                "set-password",
                "--email",
                "ops@example.com",
                "--password-stdin",
            ],
            "a much better password\n",
        )
        .await;
    assert!(out.contains("2 session(s) signed out"), "{out}");
    assert!(!out.contains("a much better password"));
    assert_eq!(count(&db, "staff_sessions").await, 0);
    let hash: String = on_db!(&db, p => sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE email = 'ops@example.com'").fetch_one(p).await)
    .unwrap();
    assert!(staff::verify_password("a much better password", &hash));
    assert!(!staff::verify_password(&generated, &hash));
    let err = cli
        .fails(
            &["user", "set-password", "--email", "nobody@example.com"],
            "",
        )
        .await;
    assert!(err.contains("no staff account"), "{err}");
    let err = cli
        .fails(
            &[
                "user",
                "set-password",
                "--email",
                "ops@example.com",
                "--password-stdin",
            ],
            "short\n",
        )
        .await;
    assert!(err.contains("password"), "{err}");
    let unchanged: String = on_db!(&db, p => sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE email = 'ops@example.com'").fetch_one(p).await)
    .unwrap();
    assert_eq!(unchanged, hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_quiz_bank_and_outbox_from_the_command_line() {
    let cli = Cli::new().await;
    let out = cli
        .ok(&["apikey", "create", "--name", "partner-site"])
        .await;
    let id = line_after(&out, "api key ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let key = line_after(&out, "key (shown once): ").to_string();
    assert!(key.starts_with("onr_"));
    assert!(
        out.contains("(partner-site, role intake)"),
        "intake is the default: {out}"
    );
    let db = cli.db().await;
    assert_eq!(
        api_keys::find_active(&db, &hash_token(&key))
            .await
            .unwrap()
            .map(|(_, r)| r)
            .as_deref(),
        Some("intake")
    );
    let out = cli
        .ok(&["apikey", "create", "--name", "reports", "--role", "manager"])
        .await;
    assert!(out.contains("role manager"), "{out}");
    let err = cli
        .fails(&["apikey", "create", "--name", "x", "--role", "owner"], "")
        .await;
    assert!(err.contains("--role"), "{err}");
    // The list shows name, role and dates, never a key or its hash.
    let list = cli.ok(&["apikey", "list"]).await;
    assert!(
        list.contains("partner-site") && list.contains("intake"),
        "{list}"
    );
    assert!(
        list.contains("reports") && list.contains("manager"),
        "{list}"
    );
    assert!(list.contains("last used never"), "{list}");
    assert!(
        !list.contains("onr_") && !list.contains(&hash_token(&key)),
        "{list}"
    );
    assert!(cli
        .fails(&["apikey", "create", "--name", " "], "")
        .await
        .contains("--name"));
    assert!(cli.ok(&["apikey", "revoke", &id]).await.contains("revoked"));
    // Both left an audit row, naming what changed and never the key.
    let trail = onramp::store::audit::for_subject(&db, &format!("api_key:{id}"), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["api_key.revoke", "api_key.create"]);
    assert!(trail
        .iter()
        .all(|r| r.actor == "cli" && !format!("{:?}", r.after).contains(&key)));
    assert!(api_keys::find_active(&db, &hash_token(&key))
        .await
        .unwrap()
        .is_none());
    assert!(cli
        .fails(&["apikey", "revoke", &id], "")
        .await
        .contains("no live API key"));

    // Export, change one question, import: one new version.
    let file = cli.dir.path().join("bank.toml");
    let file = file.to_str().unwrap();
    cli.ok(&[
        "quiz",
        "import",
        seed_dir().join("questions.toml").to_str().unwrap(),
    ])
    .await;
    let out = cli.ok(&["quiz", "export", file]).await;
    assert!(out.contains("exported 66 questions"), "{out}");
    let text = std::fs::read_to_string(file).unwrap();
    let mut bank = onramp::domain::quiz::parse_bank(&text).unwrap();
    bank[0].prompt.push_str(" (edited)");
    std::fs::write(file, onramp::domain::quiz::write_bank(&bank)).unwrap();
    let out = cli.ok(&["quiz", "import", file]).await;
    assert!(out.contains("0 new, 1 new versions, 65 unchanged"), "{out}");
    std::fs::write(file, "[[question]]\nkey = \"broken\"\n").unwrap();
    let err = cli.fails(&["quiz", "import", file], "").await;
    assert!(err.contains("is not valid"), "{err}");
    assert_eq!(count(&db, "question_versions").await, 67);

    // The outbox: one failed email, retried by hand, then drained to the default file mailer.
    let mut tx = db.begin().await.unwrap();
    outbox::enqueue(
        &mut tx,
        outbox::NewEmail {
            idempotency_key: "cli-test".into(),
            template: "application_rejected",
            recipient: "ana@example.com",
            payload: serde_json::json!({ "name": "Ana", "reasons": ["A reason."] }),
        },
        onramp::domain::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    on_writer!(&db, p => sqlx::query(
        "UPDATE outbox SET status = 'failed', last_error = '550 no such user'")
        .execute(p).await.map(|_| ()))
    .unwrap();
    let listed = cli.ok(&["outbox", "list", "--status", "failed"]).await;
    assert!(listed.contains("application_rejected") && listed.contains("550 no such user"));
    let email_id = listed.split_whitespace().next().unwrap().to_string();
    assert!(cli
        .fails(&["outbox", "list", "--status", "lost"], "")
        .await
        .contains("--status"));
    assert!(cli
        .ok(&["outbox", "retry", &email_id])
        .await
        .contains("queued"));
    assert!(cli
        .fails(&["outbox", "retry", &email_id], "")
        .await
        .contains("no failed email"));
    let out = cli.ok(&["outbox", "drain"]).await;
    assert!(out.contains("sent 1, retrying later 0, failed 0"), "{out}");
    // Without SMTP_URL nothing is dropped: the mail is a file under the data folder.
    let eml = cli
        .dir
        .path()
        .join("data")
        .join("mail")
        .join(format!("{email_id}.eml"));
    let raw = std::fs::read_to_string(&eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    assert!(raw.contains("To: ana@example.com"));
    assert!(raw.contains("Subject:"));
    assert!(cli
        .ok(&["outbox", "list", "--status", "sent"])
        .await
        .contains(&email_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_seeds_and_creates_the_admin_and_a_restart_changes_nothing() {
    let cli = Cli::new().await;
    let (mut first, out) = cli.serve().await;
    let out = out.join("\n");
    assert!(out.contains("loaded demo data: 32 applicants"), "{out}");
    assert!(out.contains("loaded the question bank: 66 questions"));
    assert!(out.contains("loaded 2 quiz definitions"));
    assert!(out.contains("bootstrap admin: admin@onramp.localhost"));
    let password = line_after(
        &out,
        "password (shown once; you will be asked to change it at the first sign-in, or set \
         ONRAMP_BOOTSTRAP_PASSWORD_FILE to keep it out of logs): ",
    )
    .to_string();
    let base = line_after(&out, "onramp is serving on ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // The printed password signs in.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/admin/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "admin@onramp.localhost"), ("password", &password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin");
    // It was printed, so it may sit in a log: every staff page leads to changing it first.
    let home = staff_home(&client, &base, &r).await;
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/admin/password");
    first.kill().await.unwrap();
    let _ = first.wait().await;

    let db = cli.db().await;
    let mut before = Vec::new();
    for t in FIRST_START {
        before.push(count(&db, t).await);
    }
    // 32 demo applicants and the demo pilot's 15 members, its 3 cohorts and 312 weekly
    // headcount snapshots.
    assert_eq!(before, [47, 66, 2, 1, 3, 312]);
    // Distinct people: no two demo applicants share a phone number.
    let shared: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT phone FROM applications WHERE phone IS NOT NULL \
         GROUP BY phone HAVING COUNT(*) > 1) x").fetch_one(p).await)
    .unwrap();
    assert_eq!(shared, 0, "demo people share phone numbers");
    // Every demo cohort has the checklist its form proposes, and the ticks tell each member's
    // story: all done for those who went live, none for Noah Strand, who did no onboarding.
    let without: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM cohorts c WHERE NOT EXISTS \
         (SELECT 1 FROM cohort_checklist_items i WHERE i.cohort_id = c.id)").fetch_one(p).await)
    .unwrap();
    assert_eq!(without, 0, "a demo cohort without checklist items");
    let ticks = |name: &'static str| {
        let db = db.clone();
        async move {
            let n: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
                "SELECT COUNT(*) FROM checklist_ticks t JOIN applications a \
                 ON a.id = t.application_id WHERE a.full_name = $1")
                .bind(name).fetch_one(p).await)
            .unwrap();
            n
        }
    };
    let items = count(&db, "checklist_template_items").await;
    assert!(items > 0);
    assert_eq!(ticks("Astrid Holm").await, items);
    assert_eq!(ticks("Adam Nyström").await, items);
    assert_eq!(ticks("Noah Strand").await, 0);
    let (mut second, out) = cli.serve().await;
    let out = out.join("\n");
    assert!(!out.contains("bootstrap admin"), "{out}");
    assert!(!out.contains("loaded"), "{out}");
    let mut after = Vec::new();
    for t in FIRST_START {
        after.push(count(&db, t).await);
    }
    assert_eq!(before, after);
    second.kill().await.unwrap();
}

/// The tables first start fills from `seed/`.
const FIRST_START: [&str; 6] = [
    "applications",
    "questions",
    "quizzes",
    "users",
    "cohorts",
    "outsourced_headcount",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_started_together_on_one_empty_database_both_serve() {
    let cli = Cli::new().await;
    let ((mut a, out_a), (mut b, out_b)) = tokio::join!(cli.serve(), cli.serve());
    // Both are up (serve() fails the test otherwise), and they answer.
    for out in [&out_a, &out_b] {
        let joined = out.join("\n");
        let base = line_after(&joined, "onramp is serving on ")
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    // Exactly one of them seeded and created the admin.
    let admins = out_a
        .iter()
        .chain(&out_b)
        .filter(|l| l.starts_with("bootstrap admin:"))
        .count();
    assert_eq!(admins, 1, "{out_a:?}\n{out_b:?}");
    let db = cli.db().await;
    for (table, n) in FIRST_START.iter().zip([47, 66, 2, 1, 3, 312]) {
        assert_eq!(count(&db, table).await, n, "{table}");
    }
    a.kill().await.unwrap();
    b.kill().await.unwrap();
}

/// What the service logs while an applicant signs up, confirms, opens their status page and
/// mistypes a form, and while someone fails to sign in as staff, holds no name, address or
/// token, even at debug level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_names_addresses_or_tokens() {
    let cli = Cli::new().await;
    let mut child = cli
        .command(&[])
        .env("RUST_LOG", "debug")
        .env("ONRAMP_SEED_DEMO", "false")
        .env("ONRAMP_OUTBOX_POLL_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for stream in [
        Box::new(out) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(err),
    ] {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let _ = tx.send(l);
            }
        });
    }
    let mut output = Vec::new();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("started")
            .expect("output");
        output.push(line.clone());
        if let Some(rest) = line.strip_prefix("onramp is serving on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let name = "Zelda Quuxworth";
    let email = "zelda.quuxworth@example.com";
    let mut form = valid_form(email);
    form[0].1 = name.into();
    // As a browser on the site posts: staff forms refuse a request that does not say so.
    let post = |path: String, body: String| {
        client
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
    };
    assert_eq!(
        post("/apply".into(), encode(&form)).await.unwrap().status(),
        303
    );
    // A rejected form with the same personal data.
    let mut bad = form.clone();
    bad[7].1 = "99".into();
    assert_eq!(
        post("/apply".into(), encode(&bad)).await.unwrap().status(),
        422
    );
    // The verification email arrives as a file; its link is followed and confirmed.
    let mail_dir = cli.dir.path().join("data").join("mail");
    let verify = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(entries) = std::fs::read_dir(&mail_dir) {
                for e in entries.flatten() {
                    let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
                    if let Some(l) = link(&raw, &base, "/verify/") {
                        return l;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("verification email written");
    let token = verify.rsplit('/').next().unwrap().to_string();
    let path = verify.replace(&base, "");
    assert_eq!(client.get(&verify).send().await.unwrap().status(), 200);
    let confirmed = post(path.clone(), String::new()).await.unwrap();
    assert_eq!(confirmed.status(), 303);
    let status = confirmed.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        client
            .get(format!("{base}{status}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let resend = post(
        "/verify/resend".into(),
        format!("email={}", email.replace('@', "%40")),
    )
    .await
    .unwrap();
    assert_eq!(resend.status(), 200);
    // A failed sign-in reaches the handler (a wrong password, not a refused request).
    let login = post(
        "/admin/login".into(),
        "email=admin%40onramp.localhost&password=wrong+password+here".into(),
    )
    .await
    .unwrap();
    assert_eq!(login.status(), 422);
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().await.unwrap();
    let _ = child.wait().await;
    drop(tx);
    while let Some(l) = rx.recv().await {
        output.push(l);
    }
    // Log lines: everything but the start-up messages printed for the operator.
    let printed = [
        "loaded ",
        "bootstrap admin:",
        "password (shown once",
        "onramp is serving",
        "open http",
    ];
    let logs: Vec<&String> = output
        .iter()
        .filter(|l| !printed.iter().any(|p| l.starts_with(p)))
        .collect();
    assert!(logs.len() >= 10, "{output:?}");
    let status_token = status
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    for l in &logs {
        for secret in [
            "Zelda",
            "Quuxworth",
            "zelda",
            "quuxworth",
            &token,
            status_token,
            "admin@onramp.localhost",
            "wrong password",
        ] {
            assert!(!l.contains(secret), "{secret:?} in the log: {l}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_password_can_come_from_a_file_and_is_never_printed() {
    let mut cli = Cli::new().await;
    // Too short: the start is refused, naming the setting, and no account is made.
    let file = cli.dir.path().join("admin-password");
    std::fs::write(&file, "short\n").unwrap();
    let path = file.to_str().unwrap().to_string();
    cli.env
        .push(("ONRAMP_BOOTSTRAP_PASSWORD_FILE".into(), path));
    let err = cli.fails(&["serve"], "").await;
    assert!(err.contains("bootstrap_password_file"), "{err}");
    assert_eq!(count(&cli.db().await, "users").await, 0);

    let password = "a mounted secret of some length";
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let (mut server, out) = cli.serve().await;
    let out = out.join("\n");
    assert!(
        out.contains("bootstrap admin: admin@onramp.localhost (password from ONRAMP_BOOTSTRAP_PASSWORD_FILE)"),
        "{out}"
    );
    assert!(
        !out.contains(password) && !out.contains("shown once"),
        "{out}"
    );
    // It signs in straight to the staff home: nobody else has seen it, so no forced change.
    let base = line_after(&out, "onramp is serving on ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/admin/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "admin@onramp.localhost"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(staff_home(&client, &base, &r).await.status(), 200);
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applicants_import_from_csv_by_row_naming_line_and_field() {
    let cli = Cli::new().await;
    let file = cli.dir.path().join("from-old-ats.csv");
    std::fs::write(
        &file,
        "full_name,email,country,area,languages,weekly_hours,adult,equipment,consent,student\n\
         Ana Lind,ana@example.com,SE,city,sv;en,20,true,true,true,false\n\
         Bo Berg,not-an-address,SE,city,sv,20,true,true,true,false\n\
         Cy Dahl,cy@example.com,SE,city,sv,20,true,true,true,yes\n\
         \"Lind, Eva\",eva@example.com,SE,town,\"sv, en\",25,true,true,true,true\n\
         Ana Again,ANA@example.com,SE,city,sv,20,true,true,true,false\n",
    )
    .unwrap();
    let crlf = cli.dir.path().join("from-old-ats-crlf.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&crlf, text.replace('\n', "\r\n")).unwrap();
    let path = file.to_str().unwrap();
    let db = cli.db().await;

    // A dry run checks everything, writes nothing, and predicts the real run exactly (the
    // second Ana is the same address); LF and CRLF files name the same lines.
    for path in [path, crlf.to_str().unwrap()] {
        let out = cli
            .run(&["applicants", "import", path, "--dry-run"], "")
            .await;
        assert!(!out.status.success());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            stdout.contains("would import 2, already applied 1, refused 2"),
            "{stdout}"
        );
        assert!(stderr.contains("line 3, email:"), "{path}: {stderr}");
        assert!(
            stderr.contains("line 4, student: Write true or false."),
            "{path}: {stderr}"
        );
        assert_eq!(count(&db, "applications").await, 0);
    }

    // The real run imports the good rows, each whole, and still says which were refused.
    let out = cli.run(&["applicants", "import", path], "").await;
    assert!(
        !out.status.success(),
        "exits non-zero when any row is refused"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 2, already applied 1, refused 2"),
        "{stdout}"
    );
    assert_eq!(count(&db, "applications").await, 2);
    let name: String = on_db!(&db, p => sqlx::query_scalar(
        "SELECT full_name FROM applications WHERE email = 'eva@example.com'").fetch_one(p).await)
    .unwrap();
    assert_eq!(name, "Lind, Eva");
    // Each imported applicant got their verification email queued, like any signup.
    assert_eq!(count(&db, "outbox").await, 2);
    let trail = onramp::store::audit::for_subject(&db, &format!("import:{path}"), 5)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);

    // A column the form does not have stops the import before any row, naming line 1.
    std::fs::write(&file, "full_name,email,salary\nAna,ana2@example.com,100\n").unwrap();
    let err = cli.fails(&["applicants", "import", path], "").await;
    assert!(err.contains("line 1") && err.contains("salary"), "{err}");
    assert_eq!(count(&db, "applications").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_listed_with_their_next_fire_times_and_run_by_name() {
    let mut cli = Cli::new().await;
    cli.ok(&["migrate"]).await;
    cli.env
        .push(("ONRAMP_TIME_ZONE".into(), "Europe/Stockholm".into()));
    cli.env
        .push(("ONRAMP_JOB_LIVE_SNAPSHOT_ENABLED".into(), "false".into()));
    cli.env
        .push(("ONRAMP_JOB_LIVE_SNAPSHOT".into(), "0 0 9 * * Mon".into()));
    let out = cli.ok(&["jobs", "list"]).await;
    for name in ["close_quiz_attempts", "live_snapshot", "promote_waitlist"] {
        assert!(out.contains(name), "{out}");
    }
    let snapshot = out
        .lines()
        .find(|l| l.starts_with("live_snapshot"))
        .unwrap();
    assert!(snapshot.contains(" off "), "{snapshot}");
    assert!(snapshot.contains("0 0 9 * * Mon"), "{snapshot}");
    // Three Mondays at 9:00 Stockholm time, each with its offset (+01:00 or +02:00).
    assert_eq!(snapshot.matches(" 09:00:00 +0").count(), 3, "{snapshot}");
    assert!(out.contains("time zone: Europe/Stockholm"), "{out}");
    let quiz = out
        .lines()
        .find(|l| l.starts_with("close_quiz_attempts"))
        .unwrap();
    assert!(quiz.contains(" on "), "{quiz}");

    // A job switched off still runs by hand, claimed and recorded like a tick.
    let ran = cli.ok(&["jobs", "run", "live_snapshot"]).await;
    assert!(ran.contains("ran live_snapshot: 0 item(s)"), "{ran}");
    let db = cli.db().await;
    let runs: i64 = on_db!(&db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM job_runs WHERE job = 'live_snapshot' AND outcome = 'ok'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(runs, 1);
    // An unknown name fails, listing the names.
    let bad = cli.run(&["jobs", "run", "snapshot"], "").await;
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("close_quiz_attempts, live_snapshot, promote_waitlist"),
        "{err}"
    );
    // A bad switch or zone stops the start with the variable named.
    cli.env
        .push(("ONRAMP_TIME_ZONE".into(), "Mars/Olympus".into()));
    let bad = cli.run(&["jobs", "list"], "").await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ONRAMP_TIME_ZONE"));
}
