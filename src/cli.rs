//! Command line: `onramp [serve]`, `migrate`, `seed`, `user`, `apikey`, `outbox`.

use std::io::Read;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::app::{shutdown_signal, Application};
use crate::config::Settings;
use crate::domain::email::EmailAddress;
use crate::domain::quiz;
use crate::domain::staff::{self, KeyRole, Role};
use crate::domain::token::SecretToken;
use crate::email::{dispatcher, Mailer};
use crate::store::{api_keys, audit, outbox, quizzes, Db};
use crate::usecases::intake::Intake;

#[derive(Parser)]
#[command(
    name = "onramp",
    version,
    about = "Hiring and onboarding for remote support agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the web app and send queued email (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load the question bank and quizzes from seed/; with --demo also the demo applicants;
    /// with --synthetic N also N generated applicants (for load tests; example.com addresses).
    Seed {
        #[arg(long)]
        demo: bool,
        #[arg(long, value_name = "N")]
        synthetic: Option<u64>,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys for integrations.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// The quiz question bank.
    Quiz {
        #[command(subcommand)]
        command: QuizCommand,
    },
    /// Inspect and repair the email outbox.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Applicants in bulk.
    Applicants {
        #[command(subcommand)]
        command: ApplicantsCommand,
    },
    /// Outsourced headcount, for the replacement report.
    Headcount {
        #[command(subcommand)]
        command: HeadcountCommand,
    },
    /// The managers' report.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Agent quality figures from the support platform.
    Quality {
        #[command(subcommand)]
        command: QualityCommand,
    },
    /// The scheduled jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Each job's name, schedule, whether it is on (an admin's switch on /admin/jobs, over the
    /// configuration), and its next three fire times (in the configured time zone, with the
    /// UTC offset).
    List,
    /// Run one tick of a job now, even one switched off; it is claimed and recorded in
    /// `job_runs` like a scheduled tick.
    Run { name: String },
}

#[derive(Subcommand)]
pub enum QualityCommand {
    /// Import weekly figures per agent from a CSV file with the header
    /// `email,week,csat,qa_score` (week as 2026-W48 or a date in it; CSAT and QA score from 0
    /// to 100, either may be empty). Rows of an address that is no agent's, and other refused
    /// rows, are listed by line and field, and the command then exits non-zero. The same agent
    /// and week again replaces the figures.
    Import {
        file: std::path::PathBuf,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum HeadcountCommand {
    /// Import snapshots from a CSV file with the header `vendor,market,date,headcount` (dates
    /// as YYYY-MM-DD). Each row is checked like the form; the good rows are stored (a snapshot
    /// of the same vendor, market and day replaces the figure), refused rows are listed by line
    /// and field, and the command then exits non-zero.
    Import {
        file: std::path::PathBuf,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Recompute the live agents per market and day from the applications' timelines, store
    /// today's count, and recount the funnel and fairness counts from the applications.
    Rebuild,
}

#[derive(Subcommand)]
pub enum ApplicantsCommand {
    /// Import applicants from a CSV file whose header row has the signup form's field names
    /// (booleans as true or false, languages separated by ; ). Each row is validated like the
    /// form and written whole or not at all; refused rows are listed by line and field, and the
    /// command then exits non-zero. Imported applicants get the usual verification email.
    Import {
        file: std::path::PathBuf,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a staff account. Prints a generated password unless --password-stdin is given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a staff account and sign it out everywhere. Prints a generated
    /// password unless --password-stdin is given.
    SetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a staff account: it can no longer sign in, and its sessions end at once.
    Disable {
        #[arg(long)]
        email: String,
    },
}

/// The password from standard input (one line), or a generated one, and whether it was
/// generated (so it is printed once).
fn new_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok((s.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((staff::generate_password(), true))
    }
}

#[derive(Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        name: String,
        /// What the key may do: intake only submits applications (and is not told whether an
        /// address has applied); recruiter, manager and admin may do what that staff role may.
        #[arg(long, value_enum, default_value_t = KeyRole::Intake)]
        role: KeyRole,
    },
    /// List keys: id, name, role, created, last used, revoked. Never the key itself.
    List,
    /// Revoke a key by its id.
    Revoke { id: Uuid },
}

#[derive(Subcommand)]
pub enum QuizCommand {
    /// Import questions from a TOML file (format: seed/questions.toml). Changed questions get a
    /// new version; nothing is stored if any question is invalid.
    Import { file: std::path::PathBuf },
    /// Write the latest version of every question to a TOML file.
    Export { file: std::path::PathBuf },
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// List recent emails, newest first.
    List {
        /// pending, sent, failed or cancelled
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue a failed email again.
    Retry { id: Uuid },
    /// Send everything that is due now, then exit.
    Drain,
}

async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect_with(&settings.database_url, settings.database_max_connections)
        .await
        .context("connecting to the database")?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let db = connect(&settings).await?;
            println!("migrations applied ({})", db.engine());
            Ok(())
        }
        Command::Seed { demo, synthetic } => {
            let db = connect(&settings).await?;
            let s = crate::seed::import_questions(&db, &settings.seed_dir.join("questions.toml"))
                .await?;
            println!(
                "questions: {} new, {} new versions, {} unchanged",
                s.created, s.new_versions, s.unchanged
            );
            let checklist_file = settings.seed_dir.join("checklist.toml");
            if checklist_file.exists() {
                let n = crate::seed::import_checklist(&db, &checklist_file).await?;
                println!("onboarding checklist: {n} items");
            }
            let quizzes_file = settings.seed_dir.join("quizzes.toml");
            if quizzes_file.exists() {
                let n = crate::seed::import_quizzes(&db, &quizzes_file).await?;
                println!("quizzes: {n} loaded");
            }
            if demo {
                let intake = Intake::start(db.clone(), std::sync::Arc::new(settings.clone()));
                let n = crate::seed::load_demo(&db, &intake, &settings.seed_dir).await?;
                println!(
                    "demo applicants: {} loaded, {} already present",
                    n.applicants, n.skipped
                );
                let file = settings.seed_dir.join("headcount.toml");
                if file.exists() {
                    let n = crate::seed::load_headcount(&db, &file).await?;
                    println!("outsourced headcount history: {n} snapshots loaded");
                }
                let file = settings.seed_dir.join("pilot.toml");
                if file.exists() {
                    let n = crate::seed::load_pilot(&db, &intake, &file).await?;
                    println!("demo pilot: {n} cohort members loaded");
                }
            }
            if let Some(n) = synthetic {
                let bar = indicatif::ProgressBar::new(n);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} applicants {per_sec} eta {eta}",
                    )
                    .expect("a valid template"),
                );
                let started = std::time::Instant::now();
                let done = crate::synthetic::generate(&db, n, |k| bar.set_position(k)).await?;
                bar.finish_and_clear();
                println!(
                    "synthetic applicants: {done} added in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Command::User { command } => {
            let db = connect(&settings).await?;
            match command {
                UserCommand::Create {
                    email,
                    role,
                    password_stdin,
                } => {
                    let email =
                        EmailAddress::parse(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
                    let (password, generated) = new_password(password_stdin)?;
                    crate::usecases::staff::create(&db, "cli", &email, role, &password, generated)
                        .await?;
                    println!("created {} {}", role.as_str(), email);
                    if generated {
                        println!(
                            "password (shown once; to be changed at the first sign-in): {password}"
                        );
                    }
                }
                UserCommand::SetPassword {
                    email,
                    password_stdin,
                } => {
                    let email =
                        EmailAddress::parse(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
                    let (password, generated) = new_password(password_stdin)?;
                    let ended = crate::usecases::staff::set_password(
                        &db, "cli", &email, &password, generated,
                    )
                    .await?;
                    println!("new password set for {email}; {ended} session(s) signed out");
                    if generated {
                        println!(
                            "password (shown once; to be changed at the first sign-in): {password}"
                        );
                    }
                }
                UserCommand::Disable { email } => {
                    let email =
                        EmailAddress::parse(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
                    let ended = crate::usecases::staff::disable(&db, "cli", &email).await?;
                    println!("disabled {email}; {ended} session(s) signed out");
                }
            }
            Ok(())
        }
        Command::Apikey { command } => {
            let db = connect(&settings).await?;
            match command {
                ApikeyCommand::Create { name, role } => {
                    let name = name.trim();
                    if name.is_empty() || name.len() > 100 {
                        bail!("--name: give the key a name of 1 to 100 characters");
                    }
                    let key = SecretToken::with_prefix("onr_");
                    let mut tx = db.begin().await?;
                    let id = api_keys::create(&mut tx, name, role.as_str(), &key.hash(), db.now())
                        .await?;
                    let subject = format!("api_key:{id}");
                    let after = serde_json::json!({ "name": name, "role": role.as_str() });
                    audit::record(
                        &mut tx,
                        audit::Entry {
                            actor: "cli",
                            action: "api_key.create",
                            subject: &subject,
                            before: None,
                            after: Some(after),
                        },
                        db.now(),
                    )
                    .await?;
                    tx.commit().await?;
                    println!("api key {id} ({name}, role {})", role.as_str());
                    println!("key (shown once): {}", key.as_str());
                }
                ApikeyCommand::List => {
                    let day =
                        |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
                    for k in api_keys::list(&db).await? {
                        println!(
                            "{}  {:<9} created {}  last used {}{}  {}",
                            k.id,
                            k.role,
                            day(k.created_at),
                            k.last_used_at.map_or("never".into(), day),
                            k.revoked_at
                                .map_or(String::new(), |t| format!("  revoked {}", day(t))),
                            k.name
                        );
                    }
                }
                ApikeyCommand::Revoke { id } => {
                    let mut tx = db.begin().await?;
                    let done = api_keys::revoke(&mut tx, id, db.now()).await?;
                    if done {
                        let subject = format!("api_key:{id}");
                        let entry = audit::Entry {
                            actor: "cli",
                            action: "api_key.revoke",
                            subject: &subject,
                            before: Some(serde_json::json!({ "revoked": false })),
                            after: Some(serde_json::json!({ "revoked": true })),
                        };
                        audit::record(&mut tx, entry, db.now()).await?;
                    }
                    tx.commit().await?;
                    if !done {
                        bail!("no live API key has id {id}");
                    }
                    println!("revoked {id}");
                }
            }
            Ok(())
        }
        Command::Applicants { command } => match command {
            ApplicantsCommand::Import { file, dry_run } => {
                let db = connect(&settings).await?;
                let intake =
                    crate::usecases::intake::Intake::start(db.clone(), Arc::new(settings.clone()));
                let input = std::fs::File::open(&file)
                    .with_context(|| format!("opening {}", file.display()))?;
                let size = input.metadata().map(|m| m.len()).unwrap_or(0);
                let bar = indicatif::ProgressBar::new(size);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}",
                    )
                    .expect("a valid template"),
                );
                let report = crate::usecases::import::import_csv(
                    &intake,
                    &db,
                    std::io::BufReader::new(input),
                    dry_run,
                    |read| bar.set_position(read),
                )
                .await?;
                bar.finish_and_clear();
                for r in &report.refused {
                    eprintln!("line {}, {}: {}", r.line, r.field, r.message);
                }
                let lines: std::collections::BTreeSet<u64> =
                    report.refused.iter().map(|r| r.line).collect();
                let verb = if dry_run { "would import" } else { "imported" };
                println!(
                    "{verb} {}, already applied {}, refused {} (see above)",
                    report.imported,
                    report.already_applied,
                    lines.len()
                );
                if !dry_run {
                    let subject = format!("import:{}", file.display());
                    let mut tx = db.begin().await?;
                    let after = serde_json::json!({
                        "imported": report.imported,
                        "already_applied": report.already_applied,
                        "refused_rows": lines.len(),
                    });
                    audit::record(
                        &mut tx,
                        audit::Entry {
                            actor: "cli",
                            action: "applicants.import",
                            subject: &subject,
                            before: None,
                            after: Some(after),
                        },
                        db.now(),
                    )
                    .await?;
                    tx.commit().await?;
                }
                if !lines.is_empty() {
                    bail!("{} row(s) refused", lines.len());
                }
                Ok(())
            }
        },
        Command::Headcount {
            command: HeadcountCommand::Import { file, dry_run },
        } => {
            let db = connect(&settings).await?;
            let input = open_input(&file)?;
            let source = format!("import:{}", file.display());
            let report = crate::usecases::reports::import_headcount(
                &db,
                "cli",
                input,
                dry_run,
                &source,
                db.now(),
            )
            .await?;
            import_outcome(&report, dry_run, "snapshot(s)")
        }
        Command::Quality {
            command: QualityCommand::Import { file, dry_run },
        } => {
            let db = connect(&settings).await?;
            let input = open_input(&file)?;
            let source = format!("import:{}", file.display());
            let report =
                crate::usecases::quality::import(&db, "cli", input, dry_run, &source, db.now())
                    .await?;
            import_outcome(&report, dry_run, "weekly figure(s)")
        }
        Command::Report {
            command: ReportCommand::Rebuild,
        } => {
            let db = connect(&settings).await?;
            let rows = crate::usecases::reports::rebuild(&db, db.now()).await?;
            println!(
                "rebuilt the live series ({rows} market-day row(s)) and today's snapshot, and \
                 recounted the funnel and fairness counts"
            );
            Ok(())
        }
        Command::Jobs {
            command: JobsCommand::List,
        } => {
            let db = connect(&settings).await?;
            let at = db.now();
            for job in crate::jobs::Job::ALL {
                let fires: Vec<String> = job
                    .next_fires(&settings, at, 3)?
                    .iter()
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string())
                    .collect();
                println!(
                    "{:<22} {:<16} {:<3}  next: {}",
                    job.name(),
                    job.schedule(&settings),
                    if job.is_on(&db, &settings).await? {
                        "on"
                    } else {
                        "off"
                    },
                    fires.join(", ")
                );
            }
            println!("time zone: {}", settings.jobs.time_zone);
            Ok(())
        }
        Command::Jobs {
            command: JobsCommand::Run { name },
        } => {
            let Some(job) = crate::jobs::Job::by_name(&name) else {
                let names: Vec<&str> = crate::jobs::Job::ALL.iter().map(|j| j.name()).collect();
                bail!(
                    "there is no job {name:?}; the jobs are: {}",
                    names.join(", ")
                );
            };
            let db = connect(&settings).await?;
            match crate::jobs::run_now(&db, &settings, job).await? {
                Some(n) => println!("ran {name}: {n} item(s)"),
                None => println!("another instance ran {name} this second"),
            }
            Ok(())
        }
        Command::Quiz { command } => {
            let db = connect(&settings).await?;
            match command {
                QuizCommand::Import { file } => {
                    let s = crate::seed::import_questions(&db, &file).await?;
                    println!(
                        "imported {}: {} new, {} new versions, {} unchanged",
                        file.display(),
                        s.created,
                        s.new_versions,
                        s.unchanged
                    );
                }
                QuizCommand::Export { file } => {
                    let questions = quizzes::latest(&db).await?;
                    std::fs::write(&file, quiz::write_bank(&questions))
                        .with_context(|| format!("writing {}", file.display()))?;
                    println!(
                        "exported {} questions to {}",
                        questions.len(),
                        file.display()
                    );
                }
            }
            Ok(())
        }
        Command::Outbox { command } => {
            let db = connect(&settings).await?;
            match command {
                OutboxCommand::List { status, limit } => {
                    if let Some(s) = &status {
                        if !outbox::STATES.contains(&s.as_str()) {
                            bail!("--status: use pending, sent, failed or cancelled");
                        }
                    }
                    for r in outbox::list(&db, status.as_deref(), limit).await? {
                        println!(
                            "{}  {:<8} {:<22} attempts={} {}",
                            r.id,
                            r.status,
                            r.template,
                            r.attempts,
                            r.last_error.unwrap_or_default()
                        );
                    }
                }
                OutboxCommand::Retry { id } => {
                    if !crate::usecases::mail::decide_failed(&db, "cli", id, true).await? {
                        bail!("no failed email has id {id}");
                    }
                    println!("queued {id} again");
                }
                OutboxCommand::Drain => {
                    let settings = std::sync::Arc::new(settings);
                    let d = dispatcher::Dispatcher::new(
                        db.clone(),
                        Mailer::from_settings(&settings)?,
                        std::sync::Arc::new(crate::app::renderer(&settings)?),
                        settings.clone(),
                    )?;
                    let r = dispatcher::drain(&d).await?;
                    println!(
                        "sent {}, retrying later {}, failed {}",
                        r.sent, r.retried, r.failed
                    );
                }
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let mailer = Mailer::from_settings(&settings)?;
    let mail_desc = mailer.describe();
    let app = Application::build(settings, mailer).await?;
    let db = &app.state.db;
    let seeded = crate::seed::first_start(db, &app.state.intake, &app.state.settings).await?;
    if let Some(n) = seeded.applicants {
        println!("loaded demo data: {n} applicants");
    }
    if let Some(n) = seeded.questions {
        println!("loaded the question bank: {n} questions");
    }
    if let Some(n) = seeded.quizzes {
        println!("loaded {n} quiz definitions");
    }
    if let Some(n) = seeded.checklist {
        println!("loaded the onboarding checklist: {n} items");
    }
    if let Some(n) = seeded.headcount {
        println!("loaded the outsourced headcount history: {n} snapshots");
    }
    if let Some(n) = seeded.pilot {
        println!("loaded the demo pilot: {n} cohort members");
    }
    match &seeded.admin {
        Some((email, Some(password))) => {
            println!("bootstrap admin: {email}");
            println!(
                "password (shown once; you will be asked to change it at the first sign-in, \
                 or set ONRAMP_BOOTSTRAP_PASSWORD_FILE to keep it out of logs): {password}"
            );
        }
        Some((email, None)) => {
            println!("bootstrap admin: {email} (password from ONRAMP_BOOTSTRAP_PASSWORD_FILE)");
        }
        None => {}
    }
    println!(
        "onramp is serving on http://{} (database: {}, mail: {})",
        app.addr,
        db.engine(),
        mail_desc
    );
    println!("open http://{}/apply to see the signup form", app.addr);
    app.run(shutdown_signal(), true).await
}

fn open_input(file: &std::path::Path) -> anyhow::Result<std::io::BufReader<std::fs::File>> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    Ok(std::io::BufReader::new(input))
}

/// Prints an import's refusals (by line and field) and its count; fails when a row was refused.
fn import_outcome(
    report: &crate::usecases::reports::ImportReport,
    dry_run: bool,
    what: &str,
) -> anyhow::Result<()> {
    for r in &report.refused {
        eprintln!("line {}, {}: {}", r.line, r.field, r.message);
    }
    let lines: std::collections::BTreeSet<u64> = report.refused.iter().map(|r| r.line).collect();
    let verb = if dry_run { "would import" } else { "imported" };
    println!(
        "{verb} {} {what}, refused {} row(s)",
        report.imported,
        lines.len()
    );
    if !lines.is_empty() {
        bail!("{} row(s) refused", lines.len());
    }
    Ok(())
}
