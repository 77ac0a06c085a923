//! The question bank: questions and their immutable versions.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::quiz::{
    normalize_text, to_basis_points, Choice, ItemSums, Kind, Question, QuizDef,
};

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

pub fn weight_bp(w: f64) -> i64 {
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
pub(super) struct VersionRow {
    slug: String,
    category: String,
    kind: String,
    weight_bp: i64,
    prompt: String,
    explanation: String,
    choices: String,
}

impl VersionRow {
    pub(super) fn into_question(self) -> Question {
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

/// Columns of `VersionRow`, for queries that join `questions q` and `question_versions v`.
pub(super) const VERSION_COLUMNS: &str =
    "q.slug, q.category, v.kind, v.weight_bp, v.prompt, v.explanation, v.choices";

/// Every question joined with its latest version; callers add `AND …` and `ORDER BY`.
const LATEST_FROM: &str = "FROM questions q JOIN question_versions v ON v.question_id = q.id \
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
            let sql = format!("SELECT {VERSION_COLUMNS} {LATEST_FROM} AND q.id = $1");
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
/// Whether `q` says what `stored` says. Text is compared as the bank normalizes it, so a form
/// round trip (CRLF line ends, a trailing newline) is not a change.
fn same(stored: &Question, q: &Question) -> bool {
    let text = |s: &str| normalize_text(s);
    let choices = |q: &Question| {
        let mut q = q.clone();
        for c in &mut q.choices {
            c.text = text(&c.text);
        }
        stored_choices(&q)
    };
    stored.category == q.category
        && stored.kind == q.kind
        && weight_bp(stored.weight) == weight_bp(q.weight)
        && text(&stored.prompt) == text(&q.prompt)
        && text(&stored.explanation) == text(&q.explanation)
        && choices(stored) == choices(q)
}

/// The latest version of every question, by slug.
pub async fn latest(db: &Db) -> Result<Vec<Question>> {
    let sql = format!("SELECT {VERSION_COLUMNS} {LATEST_FROM} ORDER BY q.slug");
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

#[derive(sqlx::FromRow)]
struct IdVersionRow {
    id: Uuid,
    #[sqlx(flatten)]
    row: VersionRow,
}

/// The latest version of one question, with its version number.
pub async fn latest_by_slug(db: &Db, slug: &str) -> Result<Option<(Question, i64)>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, v.version FROM questions q JOIN question_versions v \
         ON v.question_id = q.id WHERE q.slug = $1 ORDER BY v.version DESC LIMIT 1"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        row: VersionRow,
        version: i64,
    }
    let row: Option<Row> =
        on_db!(db, p => sqlx::query_as(&sql).bind(slug).fetch_optional(p).await?);
    Ok(row.map(|r| (r.row.into_question(), r.version)))
}

/// Saves one question: created, a new version, or unchanged (see `import`).
pub async fn save_question(db: &Db, q: &Question, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = db.begin().await?;
    let changed = !matches!(upsert(&mut tx, q, now).await?, Upsert::Unchanged);
    tx.commit().await?;
    Ok(changed)
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct QuestionSummary {
    pub slug: String,
    pub category: String,
    pub kind: String,
    pub prompt: String,
    pub versions: i64,
}

/// Every question's latest version, for the bank page, optionally one category.
pub async fn summaries(db: &Db, category: Option<&str>) -> Result<Vec<QuestionSummary>> {
    let sql = format!(
        "SELECT q.slug, q.category, v.kind, v.prompt, \
         (SELECT COUNT(*) FROM question_versions x WHERE x.question_id = q.id) AS versions \
         {LATEST_FROM} AND ($1 IS NULL OR q.category = $1) ORDER BY q.category, q.slug"
    );
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(category).fetch_all(p).await?))
}

/// The latest version id of every question, by category: what a quiz draws from.
pub async fn pools(db: &Db) -> Result<BTreeMap<String, Vec<Uuid>>> {
    let sql = format!("SELECT q.category, v.id {LATEST_FROM} ORDER BY q.slug");
    let rows: Vec<(String, Uuid)> = on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await?);
    let mut out: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for (c, id) in rows {
        out.entry(c).or_default().push(id);
    }
    Ok(out)
}

/// How many questions each category has.
pub async fn bank_counts(db: &Db) -> Result<BTreeMap<String, usize>> {
    Ok(pools(db)
        .await?
        .into_iter()
        .map(|(c, v)| (c, v.len()))
        .collect())
}

/// Question versions by id.
pub async fn versions(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, Question>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<IdVersionRow> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT v.id, {VERSION_COLUMNS} FROM questions q JOIN question_versions v \
             ON v.question_id = q.id WHERE v.id IN ("
        ));
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.build_query_as().fetch_all(p).await?
    });
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.row.into_question()))
        .collect())
}

/// Creates or replaces a quiz definition, by slug.
pub async fn save_quiz(tx: &mut Tx, def: &QuizDef, now: DateTime<Utc>) -> Result<Uuid> {
    const SQL: &str = "INSERT INTO quizzes (id, slug, title, definition, active, created_at, \
        updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (slug) DO UPDATE SET \
        title = excluded.title, definition = excluded.definition, active = excluded.active, \
        updated_at = excluded.updated_at RETURNING id";
    let json = serde_json::to_string(def).expect("quiz definitions serialize");
    Ok(
        on!(tx, c => sqlx::query_scalar(SQL).bind(Uuid::now_v7()).bind(&def.slug)
        .bind(&def.title).bind(json).bind(def.active).bind(now)
        .fetch_one(&mut **c).await?),
    )
}

/// A stored definition (JSON written by `save_quiz`).
pub(super) fn parse_def(json: &str) -> Result<QuizDef> {
    serde_json::from_str(json)
        .map_err(|e| super::StoreError::Sqlx(sqlx::Error::Decode(Box::new(e))))
}

/// Every quiz, by slug.
pub async fn quizzes(db: &Db) -> Result<Vec<(Uuid, QuizDef)>> {
    let rows: Vec<(Uuid, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, definition FROM quizzes ORDER BY slug").fetch_all(p).await?);
    rows.into_iter()
        .map(|(id, d)| Ok((id, parse_def(&d)?)))
        .collect()
}

pub async fn quiz_by_id(db: &Db, id: Uuid) -> Result<Option<(Uuid, QuizDef)>> {
    let row: Option<(Uuid, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, definition FROM quizzes WHERE id = $1").bind(id).fetch_optional(p).await?);
    row.map(|(id, d)| Ok((id, parse_def(&d)?))).transpose()
}

pub async fn quiz_by_slug(db: &Db, slug: &str) -> Result<Option<(Uuid, QuizDef)>> {
    let row: Option<(Uuid, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT id, definition FROM quizzes WHERE slug = $1").bind(slug).fetch_optional(p).await?);
    row.map(|(id, d)| Ok((id, parse_def(&d)?))).transpose()
}

/// Adds scored attempts to the per-item running sums, in two statements. Rows are written in
/// version-id order so concurrent scorers on PostgreSQL lock them in the same order.
pub async fn add_item_stats(
    tx: &mut Tx,
    quiz_id: Uuid,
    sums: &BTreeMap<Uuid, ItemSums>,
) -> Result<()> {
    if sums.is_empty() {
        return Ok(());
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO item_stats (quiz_id, question_version_id, n, full_credit, sum_x, sum_xx, \
             sum_y, sum_yy, sum_xy, timed, sum_seconds) ",
        );
        qb.push_values(sums, |mut row, (id, s)| {
            row.push_bind(quiz_id).push_bind(*id).push_bind(s.n).push_bind(s.full_credit)
                .push_bind(s.sum_x).push_bind(s.sum_xx).push_bind(s.sum_y).push_bind(s.sum_yy)
                .push_bind(s.sum_xy).push_bind(s.timed).push_bind(s.sum_seconds);
        });
        qb.push(
            " ON CONFLICT (quiz_id, question_version_id) DO UPDATE SET \
             n = item_stats.n + excluded.n, \
             full_credit = item_stats.full_credit + excluded.full_credit, \
             sum_x = item_stats.sum_x + excluded.sum_x, \
             sum_xx = item_stats.sum_xx + excluded.sum_xx, \
             sum_y = item_stats.sum_y + excluded.sum_y, \
             sum_yy = item_stats.sum_yy + excluded.sum_yy, \
             sum_xy = item_stats.sum_xy + excluded.sum_xy, \
             timed = item_stats.timed + excluded.timed, \
             sum_seconds = item_stats.sum_seconds + excluded.sum_seconds",
        );
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    let picks: Vec<(Uuid, &String, i64)> = sums
        .iter()
        .flat_map(|(id, s)| s.choices.iter().map(move |(k, n)| (*id, k, *n)))
        .collect();
    if picks.is_empty() {
        return Ok(());
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO item_choice_stats (quiz_id, question_version_id, choice_key, picks) ",
        );
        qb.push_values(&picks, |mut row, (id, k, n)| {
            row.push_bind(quiz_id).push_bind(*id).push_bind(*k).push_bind(*n);
        });
        qb.push(
            " ON CONFLICT (quiz_id, question_version_id, choice_key) DO UPDATE SET \
             picks = item_choice_stats.picks + excluded.picks",
        );
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    Ok(())
}

/// One analysed question version of a quiz.
#[derive(Debug, Clone)]
pub struct ItemReport {
    pub version_id: Uuid,
    pub version: i64,
    pub question: Question,
    pub sums: ItemSums,
}

/// The running sums of every question version a quiz has scored, with the version's text.
pub async fn item_reports(db: &Db, quiz_id: Uuid) -> Result<Vec<ItemReport>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        version: i64,
        #[sqlx(flatten)]
        row: VersionRow,
        n: i64,
        full_credit: i64,
        sum_x: i64,
        sum_xx: i64,
        sum_y: i64,
        sum_yy: i64,
        sum_xy: i64,
        timed: i64,
        sum_seconds: i64,
    }
    let sql = format!(
        "SELECT v.id, v.version, {VERSION_COLUMNS}, s.n, s.full_credit, s.sum_x, s.sum_xx, \
         s.sum_y, s.sum_yy, s.sum_xy, s.timed, s.sum_seconds FROM item_stats s \
         JOIN question_versions v ON v.id = s.question_version_id \
         JOIN questions q ON q.id = v.question_id WHERE s.quiz_id = $1 \
         ORDER BY q.category, q.slug, v.version"
    );
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(&sql).bind(quiz_id).fetch_all(p).await?);
    let picks: Vec<(Uuid, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT question_version_id, choice_key, picks FROM item_choice_stats WHERE quiz_id = $1")
        .bind(quiz_id).fetch_all(p).await?);
    let mut choices: HashMap<Uuid, BTreeMap<String, i64>> = HashMap::new();
    for (id, k, n) in picks {
        choices.entry(id).or_default().insert(k, n);
    }
    Ok(rows
        .into_iter()
        .map(|r| ItemReport {
            version_id: r.id,
            version: r.version,
            question: r.row.into_question(),
            sums: ItemSums {
                n: r.n,
                full_credit: r.full_credit,
                sum_x: r.sum_x,
                sum_xx: r.sum_xx,
                sum_y: r.sum_y,
                sum_yy: r.sum_yy,
                sum_xy: r.sum_xy,
                timed: r.timed,
                sum_seconds: r.sum_seconds,
                choices: choices.remove(&r.id).unwrap_or_default(),
            },
        })
        .collect())
}
