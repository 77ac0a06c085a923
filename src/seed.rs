//! Demo data from `seed/`, loaded into an empty database on first start (and by `onramp seed`).
//! Demo applicants go through the same validation and screening as real ones, without email.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::config::Settings;
use crate::domain::application::RawApplication;
use crate::domain::email::EmailAddress;
use crate::domain::quiz;
use crate::domain::staff::{self, Role};
use crate::store::{applications, quizzes, users, Db};
use crate::usecases::intake::{Channel, Intake};

#[derive(Deserialize)]
struct ApplicantsFile {
    applicant: Vec<toml::Table>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub applicants: usize,
    pub skipped: usize,
}

/// Loads `applicants.toml` from `dir`. Entries whose email already exists are skipped, so running
/// it twice changes nothing. A malformed entry stops the load with its position and field.
pub async fn load_demo(db: &Db, intake: &Intake, dir: &Path) -> anyhow::Result<Loaded> {
    let path = dir.join("applicants.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: ApplicantsFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    // Check every entry before storing any, so a bad file loads nothing rather than half.
    let mut parsed = Vec::with_capacity(file.applicant.len());
    for (i, mut entry) in file.applicant.into_iter().enumerate() {
        let verified = entry
            .remove("verified")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let (raw, mut errors) = RawApplication::from_json(&serde_json::to_value(&entry)?);
        match raw.parse() {
            Ok(app) if errors.is_empty() => parsed.push((app, verified)),
            Ok(_) => bail!("{} applicant #{}: {:?}", path.display(), i + 1, errors),
            Err(more) => {
                errors.extend(more);
                bail!("{} applicant #{}: {:?}", path.display(), i + 1, errors)
            }
        }
    }
    let mut loaded = Loaded::default();
    for (app, verified) in parsed {
        let done = intake.submit(app, Channel::Seed).await?;
        if !done.created {
            loaded.skipped += 1;
            continue;
        }
        if verified {
            let mut tx = db.begin().await?;
            applications::mark_email_verified(&mut tx, done.id, db.now()).await?;
            tx.commit().await?;
        }
        loaded.applicants += 1;
    }
    Ok(loaded)
}

/// What the first start of an empty database loaded.
#[derive(Debug, Default)]
pub struct FirstStart {
    pub applicants: Option<usize>,
    pub questions: Option<usize>,
    pub quizzes: Option<usize>,
    /// Items of the default onboarding checklist.
    pub checklist: Option<usize>,
    /// Outsourced headcount snapshots of the demo history.
    pub headcount: Option<usize>,
    /// Members of the demo pilot's cohorts.
    pub pilot: Option<usize>,
    /// The bootstrap admin's email, when this start created it, and its password when it was
    /// generated (to be shown once and changed at the first sign-in); None when it came from
    /// `bootstrap_password_file`.
    pub admin: Option<(EmailAddress, Option<String>)>,
}

pub const BOOTSTRAP_ADMIN: &str = "admin@onramp.localhost";

/// Fills an empty database: demo applicants (with `seed_demo`), the question bank and the
/// quizzes from `seed_dir`, and a bootstrap admin with a generated password. Each part only when
/// its table is empty, so later starts change nothing. Instances started together take turns
/// under the startup lock, so exactly one of them seeds and creates the admin.
pub async fn first_start(
    db: &Db,
    intake: &Intake,
    settings: &Settings,
) -> anyhow::Result<FirstStart> {
    let lock = db.startup_lock(&settings.database_url).await?;
    let done = seed_empty_tables(db, intake, settings).await;
    lock.release().await;
    done
}

/// Loads the default onboarding checklist template (`seed/checklist.toml`), replacing the one
/// stored; cohorts made before keep their own copy. Returns the number of items.
pub async fn import_checklist(db: &Db, path: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let items = crate::domain::cohorts::parse_template(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut tx = db.begin().await?;
    crate::store::cohorts::replace_template(
        &mut tx,
        crate::domain::cohorts::DEFAULT_TEMPLATE,
        &items,
    )
    .await?;
    tx.commit().await?;
    Ok(items.len())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadcountFile {
    weeks: u32,
    series: Vec<HeadcountSeries>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadcountSeries {
    vendor: String,
    market: String,
    start: i64,
    end: i64,
}

/// The weekly snapshots `seed/headcount.toml` describes, for the weeks up to the one holding
/// `today`: each series in a line from `start` to `end` with a small, repeatable wobble.
fn headcount_history(
    text: &str,
    today: chrono::NaiveDate,
) -> anyhow::Result<Vec<crate::domain::reports::Headcount>> {
    use crate::domain::reports::{week_start, RawHeadcount};
    let file: HeadcountFile = toml::from_str(text)?;
    if !(1..=520).contains(&file.weeks) {
        bail!("weeks: use 1 to 520");
    }
    let last = week_start(today);
    let span = i64::from(file.weeks.max(2) - 1);
    let mut out = Vec::new();
    for (k, s) in file.series.iter().enumerate() {
        for i in 0..i64::from(file.weeks) {
            let day = last - chrono::Days::new(7 * (span - i).max(0) as u64);
            let wobble = ((i * 7 + k as i64 * 3) % 11) - 5;
            let figure = (s.start + (s.end - s.start) * i / span + wobble).max(0);
            let raw = RawHeadcount {
                vendor: s.vendor.clone(),
                market: s.market.clone(),
                date: day.to_string(),
                headcount: figure.to_string(),
            };
            out.push(
                raw.parse(today)
                    .map_err(|e| anyhow::anyhow!("series #{} ({}): {e:?}", k + 1, s.vendor))?,
            );
        }
    }
    Ok(out)
}

/// Loads the demo headcount history from `path` when no snapshot is stored. Returns the
/// snapshots stored.
pub async fn load_headcount(db: &Db, path: &Path) -> anyhow::Result<usize> {
    if !crate::store::reports::recent_headcount(db, 1)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let at = db.now();
    let rows =
        headcount_history(&text, at.date_naive()).with_context(|| format!("{}", path.display()))?;
    crate::usecases::reports::record_headcount(db, "seed", &rows, "seed:headcount", at).await?;
    Ok(rows.len())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PilotFile {
    cohort: Vec<PilotCohort>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PilotCohort {
    name: String,
    market: String,
    language: String,
    started_days_ago: i64,
    members: Vec<PilotMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PilotMember {
    name: String,
    live_days_ago: Option<i64>,
    left_days_ago: Option<i64>,
    paused_days_ago: Option<i64>,
    /// For a member still onboarding: the checklist done (`all`, `some` or `none`).
    onboarding: Option<String>,
}

/// Loads the demo pilot from `path` into a database without cohorts: each member applies like
/// a demo applicant (no email), then takes a seat in their cohort, and those with
/// `live_days_ago` went live then (and left, or paused, when the file says), on their
/// timelines; the live series is rebuilt from them. Returns the members loaded.
pub async fn load_pilot(db: &Db, intake: &Intake, path: &Path) -> anyhow::Result<usize> {
    use crate::store::{applications as apps, cohorts as cs};
    use chrono::Duration;
    if !cs::list(db).await?.is_empty() {
        return Ok(0);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: PilotFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let at = db.now();
    let ago = |days: i64| at - Duration::days(days);
    let template = crate::domain::cohorts::DEFAULT_TEMPLATE;
    let mut loaded = 0;
    // Every member gets a phone number of their own, from the ranges set aside for fiction
    // (Sweden's PTS: 070-174 06 05 to 06 99; Berlin's 030 23125 000 to 999).
    let mut member = 0;
    for c in &file.cohort {
        let cohort_id = uuid::Uuid::now_v7();
        let mut people = Vec::new();
        for m in &c.members {
            let local = m
                .name
                .to_lowercase()
                .chars()
                .map(|ch| if ch == ' ' { '.' } else { ch })
                .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '.')
                .collect::<String>();
            member += 1;
            let phone = match c.market.as_str() {
                "SE" => format!("+46 70 174 06 {:02}", 5 + member),
                _ => format!("+49 30 23125 {:03}", member),
            };
            let form = serde_json::json!({
                "full_name": m.name, "email": format!("{local}@example.com"),
                "phone": phone, "country": c.market, "area": "city",
                "languages": [c.language, "en"], "weekly_hours": 20, "adult": true,
                "equipment": true, "consent": true, "utm_source": "demo",
            });
            let (raw, errors) = RawApplication::from_json(&form);
            let app = raw
                .parse()
                .ok()
                .filter(|_| errors.is_empty())
                .with_context(|| {
                    format!(
                        "{}: member {:?} is not a valid applicant",
                        path.display(),
                        m.name
                    )
                })?;
            let done = intake.submit(app, Channel::Seed).await?;
            people.push((done.id, m));
        }
        let mut tx = db.begin().await?;
        let started = ago(c.started_days_ago);
        let seated = people.len() as i64;
        let went_live = people
            .iter()
            .filter(|(_, m)| m.live_days_ago.is_some())
            .count() as i64;
        cs::insert_synthetic(
            &mut tx,
            &[cs::SyntheticCohort {
                id: cohort_id,
                name: c.name.clone(),
                market: c.market.clone(),
                language: c.language.clone(),
                start_date: started.date_naive(),
                seats: seated,
                went_live,
                marked: (c.started_days_ago > 60).then_some("live"),
                created_at: started - Duration::days(30),
            }],
            &people
                .iter()
                .map(|(id, _)| {
                    (
                        uuid::Uuid::now_v7(),
                        cohort_id,
                        *id,
                        started - Duration::days(20),
                    )
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        cs::copy_checklist(&mut tx, cohort_id, template).await?;
        let items = cs::checklist_tx(&mut tx, cohort_id).await?;
        let mut events = Vec::new();
        let moved = |id: uuid::Uuid, from: &str, to: &str, when| apps::SyntheticEvent {
            id: uuid::Uuid::now_v7(),
            application_id: id,
            detail: serde_json::json!({ "from": from, "to": to, "reason": null, "email": null })
                .to_string(),
            created_at: when,
        };
        for (id, m) in &people {
            apps::mark_email_verified(&mut tx, *id, started - Duration::days(40)).await?;
            events.push(moved(
                *id,
                "offered",
                "onboarding",
                started - Duration::days(19),
            ));
            let (status, live, left) = match (m.live_days_ago, m.left_days_ago, m.paused_days_ago) {
                (Some(l), Some(o), _) => ("offboarded", Some(ago(l)), Some(ago(o))),
                (Some(l), None, Some(p)) => {
                    events.push(moved(*id, "live", "paused", ago(p)));
                    ("paused", Some(ago(l)), None)
                }
                (Some(l), None, None) => ("live", Some(ago(l)), None),
                (None, ..) => ("onboarding", None, None),
            };
            if let Some(live) = live {
                events.push(moved(*id, "onboarding", "live", live));
            }
            if let Some(left) = left {
                events.push(moved(*id, "live", "offboarded", left));
            }
            // They applied before the cohort formed.
            let applied = started - Duration::days(45);
            apps::set_demo_agent(&mut tx, *id, status, applied, live, left, at).await?;
            // The checklist: all done for those who went live, and as the file says for the rest.
            let done = match (live, m.onboarding.as_deref()) {
                (Some(_), _) | (None, Some("all")) => items.len(),
                (None, Some("some")) => items.len() / 2,
                _ => 0,
            };
            for item in items.iter().take(done) {
                let value = item.records.as_ref().map(|_| 48.0);
                cs::tick(&mut tx, *id, cohort_id, &item.key, value, "seed", started).await?;
            }
        }
        apps::insert_synthetic_events(&mut tx, &events).await?;
        tx.commit().await?;
        loaded += people.len();
    }
    crate::usecases::reports::rebuild(db, at).await?;
    Ok(loaded)
}

async fn seed_empty_tables(
    db: &Db,
    intake: &Intake,
    settings: &Settings,
) -> anyhow::Result<FirstStart> {
    let dir = &settings.seed_dir;
    let mut out = FirstStart::default();
    // The checklist first: the demo pilot's cohorts copy it when they are made.
    let template = crate::domain::cohorts::DEFAULT_TEMPLATE;
    if crate::store::cohorts::template_size(db, template).await? == 0
        && dir.join("checklist.toml").exists()
    {
        out.checklist = Some(import_checklist(db, &dir.join("checklist.toml")).await?);
    }
    if settings.seed_demo && applications::count(db).await? == 0 {
        if dir.join("applicants.toml").exists() {
            out.applicants = Some(load_demo(db, intake, dir).await?.applicants);
            if dir.join("headcount.toml").exists() {
                out.headcount = Some(load_headcount(db, &dir.join("headcount.toml")).await?);
            }
            if dir.join("pilot.toml").exists() {
                out.pilot = Some(load_pilot(db, intake, &dir.join("pilot.toml")).await?);
            }
        } else {
            tracing::warn!(dir = %dir.display(), "no demo data found; starting empty");
        }
    }
    if quizzes::count(db).await? == 0 && dir.join("questions.toml").exists() {
        out.questions = Some(
            import_questions(db, &dir.join("questions.toml"))
                .await?
                .created,
        );
    }
    if quizzes::quizzes(db).await?.is_empty() && dir.join("quizzes.toml").exists() {
        out.quizzes = Some(import_quizzes(db, &dir.join("quizzes.toml")).await?);
    }
    if users::count(db).await? == 0 {
        let email = EmailAddress::parse(BOOTSTRAP_ADMIN).expect("valid bootstrap email");
        match &settings.bootstrap_password_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("bootstrap_password_file: reading {}", path.display())
                })?;
                let password = text.trim_end_matches(['\r', '\n']);
                crate::usecases::staff::create(
                    db,
                    "first-start",
                    &email,
                    Role::Admin,
                    password,
                    false,
                )
                .await
                .map_err(|e| anyhow::anyhow!("bootstrap_password_file: {e}"))?;
                out.admin = Some((email, None));
            }
            None => {
                let password = staff::generate_password();
                crate::usecases::staff::create(
                    db,
                    "first-start",
                    &email,
                    Role::Admin,
                    &password,
                    true,
                )
                .await?;
                out.admin = Some((email, Some(password)));
            }
        }
    }
    Ok(out)
}

/// Imports a question bank file (see `quiz::write_bank` for the format).
pub async fn import_questions(db: &Db, path: &Path) -> anyhow::Result<quizzes::ImportSummary> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let questions = quiz::parse_bank(&text).map_err(|problems| {
        anyhow::anyhow!(
            "{} is not valid:\n  {}",
            path.display(),
            problems.join("\n  ")
        )
    })?;
    Ok(quizzes::import(db, &questions, db.now()).await?)
}

/// Loads quiz definitions (`quizzes.toml`), checked against the bank already stored; a quiz
/// whose slug exists is replaced. Returns how many were loaded.
pub async fn import_quizzes(db: &Db, path: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bank = quizzes::bank_counts(db).await?;
    let defs = quiz::parse_quizzes(&text, &bank).map_err(|problems| {
        anyhow::anyhow!(
            "{} is not valid:\n  {}",
            path.display(),
            problems.join("\n  ")
        )
    })?;
    let mut tx = db.begin().await?;
    for d in &defs {
        quizzes::save_quiz(&mut tx, d, db.now()).await?;
    }
    tx.commit().await?;
    Ok(defs.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_headcount_history_is_a_year_of_weekly_snapshots() {
        let text = std::fs::read_to_string("seed/headcount.toml").unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let rows = super::headcount_history(&text, today).unwrap();
        assert_eq!(rows.len(), 52 * 6);
        let vendors: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.vendor.as_str()).collect();
        let markets: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.market.as_str()).collect();
        assert_eq!((vendors.len(), markets.len()), (3, 2));
        let last = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let total: i64 = rows
            .iter()
            .filter(|r| r.date == last)
            .map(|r| r.headcount)
            .sum();
        assert!((2_500..=4_000).contains(&total), "{total}");
        assert!(rows.iter().all(|r| r.date <= last));
        assert_eq!(
            rows.iter().map(|r| r.date).min().unwrap(),
            last - chrono::Days::new(7 * 51)
        );
    }

    #[test]
    fn shipped_demo_applicants_are_all_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/applicants.toml");
        let text = std::fs::read_to_string(dir).unwrap();
        let file: super::ApplicantsFile = toml::from_str(&text).unwrap();
        assert!(file.applicant.len() >= 20);
        for mut entry in file.applicant {
            entry.remove("verified");
            let (raw, errors) =
                super::RawApplication::from_json(&serde_json::to_value(&entry).unwrap());
            assert!(errors.is_empty(), "{errors:?}");
            raw.parse().unwrap();
        }
    }

    #[test]
    fn shipped_quizzes_fit_the_shipped_bank() {
        let root = env!("CARGO_MANIFEST_DIR");
        let bank_text = std::fs::read_to_string(format!("{root}/seed/questions.toml")).unwrap();
        let mut bank = std::collections::BTreeMap::new();
        for q in crate::domain::quiz::parse_bank(&bank_text).unwrap() {
            *bank.entry(q.category).or_insert(0) += 1;
        }
        let text = std::fs::read_to_string(format!("{root}/seed/quizzes.toml")).unwrap();
        let quizzes = crate::domain::quiz::parse_quizzes(&text, &bank)
            .unwrap_or_else(|p| panic!("{}", p.join("\n")));
        assert!(quizzes.len() >= 2);
        assert!(crate::domain::quiz::quiz_for(&quizzes, |q| q, "SE", &["sv"]).is_some());
        assert!(crate::domain::quiz::quiz_for(&quizzes, |q| q, "DE", &["de", "en"]).is_some());
    }
}
