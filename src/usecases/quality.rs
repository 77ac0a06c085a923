//! Agent quality: importing the support platform's weekly figures per agent (CSV), and the
//! report of how quiz scores, overall and per category, correlate with them and with 90-day
//! retention. It answers whether the quiz predicts good support.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::domain::quality::{correlation, Correlation, RawQuality, QUALITY_FIELDS};
use crate::domain::reports::Filter;
use crate::domain::{add_error, FieldErrors};
use crate::store::audit::{self, Entry};
use crate::store::reports as rows;
use crate::store::{Db, StoreError};
use crate::usecases::import::{csv_rows, Refusal};
use crate::usecases::reports::ImportReport;

/// Imports (or with `dry_run`, only checks) a CSV file `email,week,csat,qa_score` with a
/// header row. A row whose address is no agent's (nobody with it ever went live) is refused
/// with the others, by line and field; the good rows are stored together.
pub async fn import(
    db: &Db,
    actor: &str,
    input: impl Read,
    dry_run: bool,
    source: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    let today = now.date_naive();
    let (good, mut refused) = csv_rows(input, &QUALITY_FIELDS, |c| {
        RawQuality {
            email: c[0].clone(),
            week: c[1].clone(),
            csat: c[2].clone(),
            qa_score: c[3].clone(),
        }
        .parse(today)
    })?;
    let emails: Vec<String> = good
        .iter()
        .map(|(_, q)| q.email.as_str().to_string())
        .collect();
    let agents: HashMap<String, uuid::Uuid> = rows::agents_by_email(db, &emails)
        .await?
        .into_iter()
        .collect();
    let mut stored = Vec::new();
    for (line, q) in good {
        match agents.get(q.email.as_str()) {
            Some(id) => stored.push((*id, q.week, q.csat, q.qa_score)),
            None => {
                let mut errors = FieldErrors::new();
                add_error(
                    &mut errors,
                    "email",
                    "No agent has this address: nobody with it has gone live.",
                );
                refused.extend(errors.into_iter().flat_map(|(field, ms)| {
                    ms.into_iter().map(move |message| Refusal {
                        line,
                        field: field.clone(),
                        message,
                    })
                }));
            }
        }
    }
    refused.sort_by_key(|r| r.line);
    if !dry_run && !stored.is_empty() {
        let mut tx = db.begin().await?;
        rows::record_quality(&mut tx, &stored, now).await?;
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: "quality.import",
                subject: source,
                before: None,
                after: Some(json!({ "rows": stored.len() })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(ImportReport {
        imported: stored.len(),
        refused,
    })
}

/// How one predictor (the quiz score, or one category's) relates to one outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Relation {
    /// `quiz` or `category:<name>`.
    pub predictor: String,
    /// `csat`, `qa_score` or `retention_90`.
    pub outcome: &'static str,
    #[serde(flatten)]
    pub correlation: Correlation,
}

#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub market: Option<String>,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// Agents who signed up in the range, and how many have quality figures.
    pub agents: usize,
    pub with_figures: usize,
    pub relations: Vec<Relation>,
}

/// The quiz-versus-quality report for agents who signed up in the filter's range.
pub async fn report(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<QualityReport, StoreError> {
    let agents = rows::quality_agents(db, f.market.as_deref(), f.from, f.to).await?;
    // Each agent's predictors (percent) and outcomes.
    let mut predictors: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
    for (i, a) in agents.iter().enumerate() {
        if a.score_bp >= 0 {
            predictors
                .entry("quiz".into())
                .or_default()
                .push((i, a.score_bp as f64 / 100.0));
        }
        let cats: Vec<serde_json::Value> = a
            .category_scores
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        for c in cats {
            if let (Some(name), Some(bp)) = (c["category"].as_str(), c["score_bp"].as_i64()) {
                predictors
                    .entry(format!("category:{name}"))
                    .or_default()
                    .push((i, bp as f64 / 100.0));
            }
        }
    }
    let span = chrono::Duration::days(90);
    let outcome = |i: usize, name: &str| -> Option<f64> {
        let a = &agents[i];
        match name {
            "csat" => a.csat,
            "qa_score" => a.qa,
            _ => (a.went_live_at + span <= now).then(|| {
                f64::from(u8::from(
                    a.offboarded_at.is_none_or(|o| o >= a.went_live_at + span),
                ))
            }),
        }
    };
    let mut relations = Vec::new();
    for (name, values) in &predictors {
        for out in ["csat", "qa_score", "retention_90"] {
            let pairs: Vec<(f64, f64)> = values
                .iter()
                .filter_map(|(i, x)| outcome(*i, out).map(|y| (*x, y)))
                .collect();
            relations.push(Relation {
                predictor: name.clone(),
                outcome: out,
                correlation: correlation(&pairs),
            });
        }
    }
    Ok(QualityReport {
        market: f.market.clone(),
        from: f.from,
        to: f.to,
        agents: agents.len(),
        with_figures: agents
            .iter()
            .filter(|a| a.csat.is_some() || a.qa.is_some())
            .count(),
        relations,
    })
}
