//! `onramp seed --synthetic N`: N plausible applicants for load tests and demos at scale, spread
//! over stages, sources, countries, languages and the last 18 months, with quiz scores. Rows go
//! straight to the store in large batches (no screening, no email): they are data to look at,
//! never people to contact, and their addresses are on reserved example domains.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::domain::now;
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

/// One synthetic applicant, number `i` of `n` in the run `run` (so addresses never collide).
/// They applied in order over the last 18 months, as real ones do: the table's physical order
/// follows the application date.
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
    const SPAN: i64 = 548 * 86_400;
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
    }
}

/// Rows generated and written at a time.
const BATCH: u64 = 20_000;

/// From this many rows on, the indexes are dropped first and built once at the end.
const REINDEX_FROM: u64 = 100_000;

/// Adds `n` synthetic applicants in one transaction (all or nothing); `progress` hears how many
/// are in so far.
pub async fn generate(db: &Db, n: u64, mut progress: impl FnMut(u64)) -> anyhow::Result<u64> {
    let at = now();
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
    while done < n {
        let size = BATCH.min(n - done);
        let rows: Vec<Synthetic> = (0..size)
            .map(|k| applicant(&mut rng, &run, done + k, n, at))
            .collect();
        applicants::insert_synthetic(&mut tx, &rows).await?;
        done += size;
        progress(done);
    }
    applicants::create_indexes(&mut tx, &indexes).await?;
    tx.commit().await?;
    db.bulk_load_done().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_applicants_are_plausible() {
        let mut rng = StdRng::seed_from_u64(7);
        let at = now();
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
            assert!(at - r.created_at <= Duration::days(548));
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
