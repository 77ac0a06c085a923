//! Quiz attempts: the fixed draw, saved answers, and the scores. An attempt is `open` until it is
//! submitted or runs out of time, then `scored`; at most one is open per applicant (a partial
//! unique index), so two starts cannot both open one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::quizzes::{VersionRow, VERSION_COLUMNS};
use super::{on, on_db, Db, Result, Tx};
use crate::domain::quiz::{Answer, AttemptScore, Question, QuizDef};

pub const OPEN: &str = "open";
pub const SCORED: &str = "scored";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub quiz_id: Uuid,
    pub number: i64,
    pub definition: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub finished_by: Option<String>,
    pub score_bp: Option<i64>,
    pub passed: Option<bool>,
    pub category_scores: Option<String>,
}

impl AttemptRow {
    /// The quiz definition the attempt started under.
    pub fn quiz_def(&self) -> Result<QuizDef> {
        super::quizzes::parse_def(&self.definition)
    }
}

const COLUMNS: &str = "id, application_id, quiz_id, number, definition, status, started_at, \
    deadline, closes_at, finished_at, finished_by, score_bp, passed, category_scores";

pub struct NewItem {
    pub question_version_id: Uuid,
    pub category: String,
    pub weight_bp: i64,
    pub choice_order: Vec<String>,
}

/// The applicant's latest attempt, if any.
pub async fn latest(db: &Db, application_id: Uuid) -> Result<Option<AttemptRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM quiz_attempts WHERE application_id = $1 \
         ORDER BY number DESC LIMIT 1"
    );
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(application_id).fetch_optional(p).await?))
}

pub async fn latest_tx(tx: &mut Tx, application_id: Uuid) -> Result<Option<AttemptRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM quiz_attempts WHERE application_id = $1 \
         ORDER BY number DESC LIMIT 1"
    );
    Ok(on!(tx, c => sqlx::query_as(&sql).bind(application_id).fetch_optional(&mut **c).await?))
}

/// The quiz attempts one person made under their other applications (the same address without
/// dots or a `+tag`): attempts, the one-open-attempt rule and the cooldown count per person, so
/// an alias gives no fresh attempt and no second attempt at once.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Elsewhere {
    /// Attempts made.
    pub used: i64,
    /// When the latest of them ended, or ends if still open (its closing time).
    pub last_end: Option<DateTime<Utc>>,
}

const BY_SAME_PERSON: &str = "SELECT COUNT(*) AS used, \
    MAX(CASE WHEN q.status = 'open' THEN q.closes_at ELSE q.finished_at END) AS last_end \
    FROM quiz_attempts q \
    JOIN applications o ON o.id = q.application_id \
    JOIN applications a ON a.email_key = o.email_key AND a.id <> o.id \
    WHERE a.id = $1";

pub async fn by_same_person(db: &Db, application_id: Uuid) -> Result<Elsewhere> {
    Ok(on_db!(db, p => sqlx::query_as(BY_SAME_PERSON).bind(application_id).fetch_one(p).await?))
}

/// `by_same_person` inside `tx`. On PostgreSQL it first locks every application of the person,
/// so two aliases starting at once take turns (SQLite has one writer anyway).
pub async fn by_same_person_tx(tx: &mut Tx, application_id: Uuid) -> Result<Elsewhere> {
    if let Tx::Postgres(c) = tx {
        const LOCK: &str = "SELECT a.id FROM applications a \
            JOIN applications o ON o.email_key = a.email_key WHERE o.id = $1 \
            ORDER BY a.id FOR UPDATE OF a";
        sqlx::query(LOCK)
            .bind(application_id)
            .fetch_all(&mut **c)
            .await?;
    }
    Ok(
        on!(tx, c => sqlx::query_as(BY_SAME_PERSON).bind(application_id)
        .fetch_one(&mut **c).await?),
    )
}

pub async fn get(db: &Db, id: Uuid) -> Result<AttemptRow> {
    let sql = format!("SELECT {COLUMNS} FROM quiz_attempts WHERE id = $1");
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_one(p).await?))
}

/// Stores a new open attempt and its drawn items. A second open attempt for the same applicant
/// fails with `Conflict("quiz_attempts_one_open")`.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    tx: &mut Tx,
    id: Uuid,
    application_id: Uuid,
    quiz_id: Uuid,
    number: i64,
    definition: &str,
    started_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    items: &[NewItem],
) -> Result<()> {
    const SQL: &str = "INSERT INTO quiz_attempts (id, application_id, quiz_id, number, \
        definition, status, started_at, deadline, closes_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let r = on!(tx, c => sqlx::query(SQL).bind(id).bind(application_id).bind(quiz_id)
        .bind(number).bind(definition).bind(OPEN).bind(started_at).bind(deadline).bind(closes_at)
        .execute(&mut **c).await.map(|_| ()));
    match r {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            // SQLite names the column of a partial index, not the index.
            return Err(super::StoreError::Conflict("quiz_attempts_one_open".into()));
        }
        Err(e) => return Err(e.into()),
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO attempt_items (attempt_id, position, question_version_id, category, \
             weight_bp, choice_order) ",
        );
        qb.push_values(items.iter().enumerate(), |mut row, (i, item)| {
            row.push_bind(id)
                .push_bind(i as i64 + 1)
                .push_bind(item.question_version_id)
                .push_bind(&item.category)
                .push_bind(item.weight_bp)
                .push_bind(serde_json::to_string(&item.choice_order).expect("keys serialize"));
        });
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    Ok(())
}

/// One drawn question of an attempt, with the version it showed.
#[derive(Debug, Clone)]
pub struct Item {
    pub position: i64,
    pub question_version_id: Uuid,
    pub category: String,
    pub weight_bp: i64,
    pub choice_order: Vec<String>,
    /// JSON `Answer`.
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub seconds: Option<i64>,
    pub score_bp: Option<i64>,
    pub question: Question,
}

impl Item {
    /// The saved answer, if any.
    pub fn parsed_answer(&self) -> Option<Answer> {
        self.answer
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    position: i64,
    question_version_id: Uuid,
    item_category: String,
    weight_bp_drawn: i64,
    choice_order: String,
    answer: Option<String>,
    answered_at: Option<DateTime<Utc>>,
    seconds: Option<i64>,
    score_bp: Option<i64>,
    #[sqlx(flatten)]
    version: VersionRow,
}

fn items_sql() -> String {
    format!(
        "SELECT i.position, i.question_version_id, i.category AS item_category, \
         i.weight_bp AS weight_bp_drawn, i.choice_order, i.answer, i.answered_at, i.seconds, \
         i.score_bp, {VERSION_COLUMNS} FROM attempt_items i \
         JOIN question_versions v ON v.id = i.question_version_id \
         JOIN questions q ON q.id = v.question_id WHERE i.attempt_id = $1 ORDER BY i.position"
    )
}

fn into_items(rows: Vec<ItemRow>) -> Vec<Item> {
    rows.into_iter()
        .map(|r| Item {
            position: r.position,
            question_version_id: r.question_version_id,
            category: r.item_category,
            weight_bp: r.weight_bp_drawn,
            choice_order: serde_json::from_str(&r.choice_order).unwrap_or_default(),
            answer: r.answer,
            answered_at: r.answered_at,
            seconds: r.seconds,
            score_bp: r.score_bp,
            question: r.version.into_question(),
        })
        .collect()
}

pub async fn items(db: &Db, attempt_id: Uuid) -> Result<Vec<Item>> {
    let sql = items_sql();
    let rows: Vec<ItemRow> =
        on_db!(db, p => sqlx::query_as(&sql).bind(attempt_id).fetch_all(p).await?);
    Ok(into_items(rows))
}

pub async fn items_tx(tx: &mut Tx, attempt_id: Uuid) -> Result<Vec<Item>> {
    let sql = items_sql();
    let rows: Vec<ItemRow> =
        on!(tx, c => sqlx::query_as(&sql).bind(attempt_id).fetch_all(&mut **c).await?);
    Ok(into_items(rows))
}

/// Saves an answer while the attempt is open and before it closes. The first save of an item
/// records the seconds spent on it. Returns false when the attempt is closed or over time.
pub async fn save_answer(
    tx: &mut Tx,
    attempt_id: Uuid,
    position: i64,
    answer_json: &str,
    seconds: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE attempt_items SET answer = $3, answered_at = $4, \
        seconds = COALESCE(seconds, $5) WHERE attempt_id = $1 AND position = $2 \
        AND EXISTS (SELECT 1 FROM quiz_attempts a WHERE a.id = $1 AND a.status = 'open' \
        AND a.closes_at >= $4)";
    let n = on!(tx, c => sqlx::query(SQL).bind(attempt_id).bind(position).bind(answer_json)
        .bind(now).bind(seconds).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

/// When the applicant last saved an answer in this attempt (or None).
pub async fn last_answer_at_tx(tx: &mut Tx, attempt_id: Uuid) -> Result<Option<DateTime<Utc>>> {
    const SQL: &str = "SELECT MAX(answered_at) FROM attempt_items WHERE attempt_id = $1";
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(attempt_id).fetch_one(&mut **c).await?))
}

/// Takes an open attempt to `scored`; false when someone else already did. The caller writes
/// the scores in the same transaction.
pub async fn claim_finish(
    tx: &mut Tx,
    attempt_id: Uuid,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE quiz_attempts SET status = 'scored', finished_at = $2, \
        finished_by = $3 WHERE id = $1 AND status = 'open'";
    let n = on!(tx, c => sqlx::query(SQL).bind(attempt_id).bind(now).bind(by)
        .execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

/// Writes the per-item and overall scores of a finished attempt, in two statements.
pub async fn record_score(
    tx: &mut Tx,
    attempt_id: Uuid,
    positions: &[i64],
    score: &AttemptScore,
) -> Result<()> {
    if !positions.is_empty() {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("UPDATE attempt_items SET score_bp = CASE position");
            for (pos, s) in positions.iter().zip(&score.items) {
                qb.push(" WHEN ").push_bind(*pos).push(" THEN ").push_bind(*s);
            }
            qb.push(" END WHERE attempt_id = ").push_bind(attempt_id);
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    const SQL: &str = "UPDATE quiz_attempts SET score_bp = $2, passed = $3, category_scores = $4 \
        WHERE id = $1";
    let categories = serde_json::to_string(&score.categories).expect("scores serialize");
    on!(tx, c => sqlx::query(SQL).bind(attempt_id).bind(score.total_bp).bind(score.passed)
        .bind(categories).execute(&mut **c).await.map(|_| ())?);
    // The applicant list sorts and filters on the best score.
    const BEST: &str = "UPDATE applications SET score_bp = $2 WHERE score_bp < $2 \
        AND id = (SELECT application_id FROM quiz_attempts WHERE id = $1)";
    on!(tx, c => sqlx::query(BEST).bind(attempt_id).bind(score.total_bp)
        .execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Open attempts whose time (and grace) ran out before `now`.
pub async fn due_to_close(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>> {
    const SQL: &str = "SELECT id FROM quiz_attempts WHERE status = 'open' AND closes_at < $1 \
        ORDER BY closes_at LIMIT $2";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(now).bind(limit).fetch_all(p).await?))
}

pub async fn count_for_tx(tx: &mut Tx, application_id: Uuid) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM quiz_attempts WHERE application_id = $1";
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(application_id).fetch_one(&mut **c).await?))
}

/// Every attempt of an application, oldest first.
pub async fn all_for_application(db: &Db, application_id: Uuid) -> Result<Vec<AttemptRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM quiz_attempts WHERE application_id = $1 ORDER BY number");
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(application_id).fetch_all(p).await?))
}

/// How many of `ids` have a quiz attempt running.
pub async fn open_among(tx: &mut Tx, ids: &[Uuid]) -> Result<i64> {
    let n: i64 = on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT COUNT(*) FROM quiz_attempts WHERE status = 'open' AND application_id IN (",
        );
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.build_query_scalar().fetch_one(&mut **c).await?
    });
    Ok(n)
}
