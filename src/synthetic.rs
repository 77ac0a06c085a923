//! `onramp seed --synthetic N`: N plausible applicants for load tests and demos at scale, spread
//! over stages, sources, countries, languages and the last three years, with quiz scores; and
//! the pilot's history around them: the agents among them (about 5%) in monthly cohorts per
//! market with their go-live and offboarding on their timelines, the live agents per market for
//! every day of the three years, and three vendors' outsourced headcount per market, weekly.
//! Rows go straight to the store in large batches (no screening, no email): they are data to
//! look at, never people to contact, and their addresses are on reserved example domains.

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::store::applicants::{self, Synthetic};
use crate::store::Db;

const FIRST: &[&str] = &[
    "Anna", "Erik", "Maja", "Lars", "Sofia", "Johan", "Elin", "Karl", "Ida", "Nils", "Ingrid",
    "Ola", "Kari", "Mette", "Jens", "Aino", "Mikko", "Laura", "Jan", "Ewa", "Piotr", "Marta",
    "Lucía", "Pablo", "Inês", "João", "Lena", "Felix", "Amira", "Yusuf", "Noor", "Omar", "Zoë",
    "Liam", "Chloé", "Hugo", "Sara", "David", "Fatima", "Leo",
];
const LAST: &[&str] = &[
    "Lindqvist",
    "Andersson",
    "Johansson",
    "Nilsen",
    "Hansen",
    "Jensen",
    "Virtanen",
    "Korhonen",
    "Nowak",
    "Kowalska",
    "García",
    "Fernández",
    "Silva",
    "Santos",
    "Müller",
    "Schmidt",
    "Berg",
    "Lund",
    "Dahl",
    "Holm",
    "Öberg",
    "Åberg",
    "Ahmed",
    "Hassan",
    "O'Neil",
    "Novak",
    "Horvat",
    "Rossi",
    "Bianchi",
    "Dubois",
];
/// Country, its languages, and its share (out of 100).
const COUNTRIES: &[(&str, &[&str], u32)] = &[
    ("SE", &["sv", "en"], 30),
    ("NO", &["no", "en"], 12),
    ("DK", &["da", "en"], 10),
    ("FI", &["fi", "sv", "en"], 10),
    ("DE", &["de", "en"], 12),
    ("PL", &["pl", "en"], 10),
    ("ES", &["es", "en"], 8),
    ("PT", &["pt", "en"], 8),
];
const SOURCES: &[(Option<&str>, Option<&str>)] = &[
    (None, None),
    (Some("tiktok"), Some("spring-students")),
    (Some("instagram"), Some("rural-reach")),
    (Some("google"), Some("brand")),
    (Some("app"), Some("in-app-banner")),
    (Some("referral"), None),
    (Some("university"), Some("campus-fair")),
];
/// Stage and its share (out of 1000). Those from `quiz_failed` on have a quiz score.
const STAGES: &[(&str, u32)] = &[
    ("applied", 90),
    ("verified", 90),
    ("waitlisted", 40),
    ("quiz_failed", 150),
    ("quiz_passed", 120),
    ("shortlisted", 90),
    ("phone_screen", 50),
    ("references", 30),
    ("on_hold", 20),
    ("offered", 20),
    ("onboarding", 20),
    ("live", 40),
    ("paused", 5),
    ("offboarded", 10),
    ("withdrawn", 45),
    ("rejected", 180),
];
const DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut n = rng.gen_range(0..total);
    for item in items {
        let w = weight(item);
        if n < w {
            return item;
        }
        n -= w;
    }
    &items[items.len() - 1]
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'å' | 'ä' | 'á' | 'à' | 'â' | 'ã' => 'a',
            'Å' | 'Ä' | 'Á' => 'a',
            'ö' | 'ó' | 'ô' | 'õ' | 'ø' => 'o',
            'Ö' | 'Ø' => 'o',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' => 'i',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c.to_ascii_lowercase(),
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The span the synthetic history covers: three years.
const SPAN_DAYS: i64 = 3 * 365;

/// One synthetic applicant, number `i` of `n` in the run `run` (so addresses never collide).
/// They applied in order over the last three years, as real ones do: the table's physical order
/// follows the application date. Agents (live, paused, offboarded) went live two to six weeks
/// after applying, and those who left did so after ten days to a year.
fn applicant(rng: &mut StdRng, run: &str, i: u64, n: u64, now: DateTime<Utc>) -> Synthetic {
    let first = FIRST[rng.gen_range(0..FIRST.len())];
    let last = LAST[rng.gen_range(0..LAST.len())];
    let (country, langs, _) = *pick(rng, COUNTRIES, |c| c.2);
    let mut languages: Vec<&str> = langs
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.8))
        .collect();
    if languages.is_empty() {
        languages.push(langs[0]);
    }
    let (source, campaign) = SOURCES[rng.gen_range(0..SOURCES.len())];
    let (stage, _) = *pick(rng, STAGES, |s| s.1);
    const SPAN: i64 = SPAN_DAYS * 86_400;
    let offset = (SPAN as f64 * i as f64 / n.max(1) as f64) as i64 + rng.gen_range(0..60);
    let created = now - Duration::seconds(SPAN) + Duration::seconds(offset.min(SPAN));
    let since = created + Duration::seconds(rng.gen_range(0..=(now - created).num_seconds()));
    let scored = !matches!(stage, "applied" | "verified" | "waitlisted");
    let score_bp = if stage == "quiz_failed" {
        rng.gen_range(2000..7000)
    } else if scored && stage != "rejected" && stage != "withdrawn" {
        rng.gen_range(7000..=10_000)
    } else if scored {
        rng.gen_range(2000..=10_000)
    } else {
        -1
    };
    let agent = matches!(stage, "live" | "paused" | "offboarded");
    let went_live_at = agent.then(|| {
        let wait = Duration::days(rng.gen_range(14..42));
        if created + wait < now {
            created + wait
        } else {
            created + (now - created) / 2
        }
    });
    let offboarded_at = went_live_at.filter(|_| stage == "offboarded").map(|live| {
        let stay = Duration::days(rng.gen_range(10..365));
        if live + stay < now {
            live + stay
        } else {
            live + (now - live) / 2
        }
    });
    // A paused agent paused after going live; an offboarded one is in that stage since leaving.
    let since = match (went_live_at, offboarded_at) {
        (_, Some(left)) => left,
        (Some(live), None) if since < live => live + (now - live) / 2,
        _ => since,
    };
    let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
    let email = format!(
        "{}.{}.{run}{i}@{domain}",
        ascii_fold(first),
        ascii_fold(last)
    );
    Synthetic {
        id: Uuid::now_v7(),
        email,
        full_name: format!("{first} {last}"),
        phone: Some(format!("+467{:08}", rng.gen_range(0..100_000_000u64))),
        country: country.to_string(),
        area: ["rural", "town", "city"][rng.gen_range(0..3)].to_string(),
        languages: languages.join(","),
        weekly_hours: [10, 15, 20, 25, 30, 40][rng.gen_range(0..6)],
        student: rng.gen_bool(0.35),
        customer: rng.gen_bool(0.4),
        utm_source: source.map(str::to_string),
        utm_campaign: campaign.map(str::to_string),
        status: stage.to_string(),
        score_bp,
        created_at: created,
        stage_since: since,
        verified_at: (stage != "applied").then(|| created + Duration::minutes(30)),
        went_live_at,
        offboarded_at,
    }
}

/// Rows generated and written at a time.
const BATCH: u64 = 20_000;

/// From this many rows on, the indexes are dropped first and built once at the end.
const REINDEX_FROM: u64 = 100_000;

/// Adds `n` synthetic applicants in one transaction (all or nothing); `progress` hears how many
/// are in so far.
pub async fn generate(db: &Db, n: u64, mut progress: impl FnMut(u64)) -> anyhow::Result<u64> {
    let at = db.now();
    let run = format!("{:x}", at.timestamp() % 0xfffff);
    let mut rng = StdRng::from_entropy();
    db.prepare_bulk_load().await?;
    let mut tx = db.begin().await?;
    let indexes = if n >= REINDEX_FROM {
        applicants::drop_secondary_indexes(&mut tx).await?
    } else {
        Vec::new()
    };
    let mut done = 0;
    let mut agents = Vec::new();
    while done < n {
        let size = BATCH.min(n - done);
        let rows: Vec<Synthetic> = (0..size)
            .map(|k| applicant(&mut rng, &run, done + k, n, at))
            .collect();
        applicants::insert_synthetic(&mut tx, &rows).await?;
        agents.extend(rows.into_iter().filter_map(Agent::of));
        done += size;
        progress(done);
    }
    applicants::create_indexes(&mut tx, &indexes).await?;
    history(&mut tx, &mut rng, &run, &agents, at).await?;
    tx.commit().await?;
    db.bulk_load_done().await?;
    Ok(done)
}

/// What the history needs of a synthetic agent.
struct Agent {
    id: Uuid,
    country: String,
    status: String,
    went_live_at: DateTime<Utc>,
    offboarded_at: Option<DateTime<Utc>>,
    stage_since: DateTime<Utc>,
}

impl Agent {
    fn of(a: Synthetic) -> Option<Agent> {
        Some(Agent {
            went_live_at: a.went_live_at?,
            id: a.id,
            country: a.country,
            status: a.status,
            offboarded_at: a.offboarded_at,
            stage_since: a.stage_since,
        })
    }
}

/// The pilot around the synthetic agents, in `tx`: a cohort per market and month of going
/// live, each agent's accepted offer in it, their go-live (and pause, and offboarding) on their
/// timelines, the live series rebuilt from those timelines with a row for every day, and three
/// vendors' outsourced headcount per market, weekly for the three years.
async fn history(
    tx: &mut crate::store::Tx,
    rng: &mut StdRng,
    run: &str,
    agents: &[Agent],
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    use std::collections::BTreeMap;
    // Cohorts: (market, first of the month) → members.
    let mut groups: BTreeMap<(String, chrono::NaiveDate), Vec<&Agent>> = BTreeMap::new();
    for a in agents {
        let d = a.went_live_at.date_naive();
        let month = d.with_day(1).expect("the first of a month");
        groups
            .entry((a.country.clone(), month))
            .or_default()
            .push(a);
    }
    let mut cohorts = Vec::new();
    let mut offers = Vec::new();
    let mut events = Vec::new();
    for ((market, month), members) in &groups {
        let id = Uuid::now_v7();
        let language = COUNTRIES
            .iter()
            .find(|c| c.0 == market)
            .map_or("en", |c| c.1[0]);
        let start = at.date_naive().min(*month);
        cohorts.push(crate::store::cohorts::SyntheticCohort {
            id,
            name: format!("Synthetic {market} {} {run}", month.format("%Y-%m")),
            market: market.clone(),
            language: language.to_string(),
            start_date: start,
            seats: members.len() as i64,
            went_live: members.len() as i64,
            marked: Some(if *month + chrono::Days::new(62) < at.date_naive() {
                "closed"
            } else {
                "live"
            }),
            created_at: start.and_hms_opt(9, 0, 0).expect("a time").and_utc() - Duration::days(30),
        });
        for a in members {
            let offered = a.went_live_at - Duration::days(rng.gen_range(10..20));
            offers.push((Uuid::now_v7(), id, a.id, offered));
            let moved = |from: &str, to: &str, when: DateTime<Utc>| {
                crate::store::applications::SyntheticEvent {
                    id: Uuid::now_v7(),
                    application_id: a.id,
                    detail:
                        serde_json::json!({ "from": from, "to": to, "reason": null, "email": null })
                            .to_string(),
                    created_at: when,
                }
            };
            events.push(moved("offered", "onboarding", offered + Duration::days(1)));
            events.push(moved("onboarding", "live", a.went_live_at));
            match (a.status.as_str(), a.offboarded_at) {
                ("offboarded", Some(left)) => events.push(moved("live", "offboarded", left)),
                ("paused", _) => events.push(moved("live", "paused", a.stage_since)),
                _ => {}
            }
        }
    }
    crate::store::cohorts::insert_synthetic(tx, &cohorts, &offers).await?;
    crate::store::applications::insert_synthetic_events(tx, &events).await?;
    // The live series from every agent's timeline, then a row for every day.
    let moves = crate::store::reports::agent_moves(tx).await?;
    let rows = crate::usecases::reports::live_from_moves(&moves);
    let daily = every_day(
        &rows,
        at.date_naive() - chrono::Days::new(SPAN_DAYS as u64),
        at.date_naive(),
    );
    crate::store::reports::replace_live(tx, &daily).await?;
    // Outsourced headcount: three vendors per market, shrinking as the pilot grows.
    let mut headcount = Vec::new();
    let today = at.date_naive();
    let first = crate::domain::reports::week_start(today - chrono::Days::new(SPAN_DAYS as u64));
    let markets: Vec<&str> = COUNTRIES.iter().map(|c| c.0).collect();
    for (k, market) in markets.iter().enumerate() {
        for (v, vendor) in ["Northwind Contact", "Bluepeak BPO", "Sundial Support"]
            .iter()
            .enumerate()
        {
            let base = 300 + 150 * ((k + v) % 4) as i64;
            let mut day = first;
            let mut week = 0i64;
            while day <= today {
                let figure = (base - base * week / 400 + rng.gen_range(-6..=6)).max(0);
                headcount.push(crate::domain::reports::Headcount {
                    vendor: vendor.to_string(),
                    market: market.to_string(),
                    date: day,
                    headcount: figure,
                });
                day = day + chrono::Days::new(7);
                week += 1;
            }
        }
    }
    crate::store::reports::record_headcount(tx, &headcount, "synthetic", at).await?;
    Ok(())
}

/// `rows` (days with a change) with every day from `from` to `to` filled in per market: a day
/// without a change carries the day before's live count.
fn every_day(
    rows: &[crate::store::reports::LiveRow],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Vec<crate::store::reports::LiveRow> {
    use std::collections::BTreeMap;
    let mut by_market: BTreeMap<
        &str,
        BTreeMap<chrono::NaiveDate, &crate::store::reports::LiveRow>,
    > = BTreeMap::new();
    for r in rows {
        by_market.entry(&r.market).or_default().insert(r.day, r);
    }
    let mut out = Vec::new();
    for (market, days) in by_market {
        let mut live = 0;
        // Changes before `from` set the starting count.
        for r in days.range(..from).map(|(_, r)| r) {
            live = r.live;
        }
        let mut day = from;
        while day <= to {
            let (activated, offboarded) = match days.get(&day) {
                Some(r) => {
                    live = r.live;
                    (r.activated, r.offboarded)
                }
                None => (0, 0),
            };
            out.push(crate::store::reports::LiveRow {
                market: market.to_string(),
                day,
                live,
                activated,
                offboarded,
            });
            day = day + chrono::Days::new(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_applicants_are_plausible() {
        let mut rng = StdRng::seed_from_u64(7);
        let at = crate::domain::now();
        let rows: Vec<Synthetic> = (0..2000)
            .map(|i| applicant(&mut rng, "t", i, 2000, at))
            .collect();
        for r in &rows {
            assert!(
                crate::domain::email::EmailAddress::parse(&r.email).is_ok(),
                "{}",
                r.email
            );
            assert!(r.created_at <= r.stage_since && r.stage_since <= at);
            assert!(at - r.created_at <= Duration::days(SPAN_DAYS));
            let agent = matches!(r.status.as_str(), "live" | "paused" | "offboarded");
            assert_eq!(r.went_live_at.is_some(), agent, "{}", r.status);
            if let Some(live) = r.went_live_at {
                assert!(r.created_at < live && live <= at);
                assert!(live <= r.stage_since || r.status == "live");
            }
            assert_eq!(r.offboarded_at.is_some(), r.status == "offboarded");
            if let (Some(live), Some(left)) = (r.went_live_at, r.offboarded_at) {
                assert!(live < left && left <= at);
            }
            assert!(r.score_bp == -1 || (0..=10_000).contains(&r.score_bp));
        }
        let stages: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.status.as_str()).collect();
        assert!(stages.len() >= 12, "{stages:?}");
        let countries: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.country.as_str()).collect();
        assert_eq!(countries.len(), COUNTRIES.len());
    }
}
