//! The question bank: questions and their immutable versions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::quiz::{to_basis_points, Choice, Kind, Question};

/// A choice as stored: credits in basis points, never floats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredChoice {
    key: String,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credit_bp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rank: Option<u32>,
}

fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::Single => "single",
        Kind::Multiple => "multiple",
        Kind::Judgement => "judgement",
    }
}

fn parse_kind(s: &str) -> Kind {
    match s {
        "multiple" => Kind::Multiple,
        "judgement" => Kind::Judgement,
        _ => Kind::Single,
    }
}

fn weight_bp(w: f64) -> i64 {
    (w * 10_000.0).round() as i64
}

/// Signed basis points for a credit (multiple-choice credits may be negative).
fn credit_bp(c: f64) -> i64 {
    if c < 0.0 {
        -to_basis_points(-c)
    } else {
        to_basis_points(c)
    }
}

fn stored_choices(q: &Question) -> String {
    let choices: Vec<StoredChoice> = q
        .choices
        .iter()
        .map(|c| StoredChoice {
            key: c.key.clone(),
            text: c.text.clone(),
            credit_bp: c.credit.map(credit_bp),
            rank: c.rank,
        })
        .collect();
    serde_json::to_string(&choices).expect("choices serialize")
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct VersionRow {
    slug: String,
    category: String,
    kind: String,
    weight_bp: i64,
    prompt: String,
    explanation: String,
    choices: String,
}

impl VersionRow {
    fn into_question(self) -> Question {
        let choices: Vec<StoredChoice> = serde_json::from_str(&self.choices).unwrap_or_default();
        Question {
            key: self.slug,
            category: self.category,
            kind: parse_kind(&self.kind),
            weight: self.weight_bp as f64 / 10_000.0,
            prompt: self.prompt,
            explanation: self.explanation,
            choices: choices
                .into_iter()
                .map(|c| Choice {
                    key: c.key,
                    text: c.text,
                    credit: c.credit_bp.map(|bp| bp as f64 / 10_000.0),
                    rank: c.rank,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: usize,
    pub new_versions: usize,
    pub unchanged: usize,
}

const LATEST: &str = "SELECT q.slug, q.category, v.kind, v.weight_bp, v.prompt, v.explanation, \
    v.choices FROM questions q JOIN question_versions v ON v.question_id = q.id \
    WHERE v.version = (SELECT MAX(version) FROM question_versions WHERE question_id = q.id)";

/// Imports questions in one transaction: a new slug becomes a question with version 1, a changed
/// question gets a new version (earlier versions stay as they were), an identical one is left.
pub async fn import(db: &Db, questions: &[Question], now: DateTime<Utc>) -> Result<ImportSummary> {
    let mut tx = db.begin().await?;
    let mut summary = ImportSummary::default();
    for q in questions {
        match upsert(&mut tx, q, now).await? {
            Upsert::Created => summary.created += 1,
            Upsert::NewVersion => summary.new_versions += 1,
            Upsert::Unchanged => summary.unchanged += 1,
        }
    }
    tx.commit().await?;
    Ok(summary)
}

enum Upsert {
    Created,
    NewVersion,
    Unchanged,
}

async fn upsert(tx: &mut Tx, q: &Question, now: DateTime<Utc>) -> Result<Upsert> {
    let existing: Option<(Uuid, i64)> = on!(tx, c => sqlx::query_as(
        "SELECT q.id, COALESCE(MAX(v.version), 0) FROM questions q \
         LEFT JOIN question_versions v ON v.question_id = q.id WHERE q.slug = $1 GROUP BY q.id")
        .bind(&q.key).fetch_optional(&mut **c).await?);
    let (question_id, version, outcome) = match existing {
        None => {
            let id = Uuid::now_v7();
            on!(tx, c => sqlx::query(
                "INSERT INTO questions (id, slug, category, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id).bind(&q.key).bind(&q.category).bind(now)
                .execute(&mut **c).await.map(|_| ())?);
            (id, 1, Upsert::Created)
        }
        Some((id, latest)) => {
            let sql = format!("{LATEST} AND q.id = $1");
            let current: VersionRow =
                on!(tx, c => sqlx::query_as(&sql).bind(id).fetch_one(&mut **c).await?);
            if same(&current.into_question(), q) {
                return Ok(Upsert::Unchanged);
            }
            on!(tx, c => sqlx::query("UPDATE questions SET category = $2 WHERE id = $1")
                .bind(id).bind(&q.category).execute(&mut **c).await.map(|_| ())?);
            (id, latest + 1, Upsert::NewVersion)
        }
    };
    on!(tx, c => sqlx::query(
        "INSERT INTO question_versions (id, question_id, version, kind, weight_bp, prompt, \
         explanation, choices, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(Uuid::now_v7()).bind(question_id).bind(version).bind(kind_str(q.kind))
        .bind(weight_bp(q.weight)).bind(&q.prompt).bind(&q.explanation)
        .bind(stored_choices(q)).bind(now)
        .execute(&mut **c).await.map(|_| ())?);
    Ok(outcome)
}

/// Equal as stored: weights and credits compared at basis-point precision.
fn same(stored: &Question, q: &Question) -> bool {
    stored.category == q.category
        && stored.kind == q.kind
        && weight_bp(stored.weight) == weight_bp(q.weight)
        && stored.prompt == q.prompt
        && stored.explanation == q.explanation
        && stored_choices(stored) == stored_choices(q)
}

/// The latest version of every question, by slug.
pub async fn latest(db: &Db) -> Result<Vec<Question>> {
    let sql = format!("{LATEST} ORDER BY q.slug");
    let rows: Vec<VersionRow> = on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await?);
    Ok(rows.into_iter().map(VersionRow::into_question).collect())
}

pub async fn version_count(db: &Db, slug: &str) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM question_versions v JOIN questions q \
        ON q.id = v.question_id WHERE q.slug = $1";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(slug).fetch_one(p).await?))
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM questions").fetch_one(p).await?))
}
