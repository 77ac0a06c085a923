//! What the applicant list page, `GET /api/v1/applications` and the CSV export share: reading
//! the filter from a query string, one applicant as JSON, and the streamed CSV.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::form::Pairs;
use crate::domain::applicants::{Filter, PARAMETERS};
use crate::domain::pipeline::Pipeline;
use crate::domain::{add_error, FieldErrors};
use crate::store::applicants::{self, ListRow};
use crate::store::audit::{self, Entry};
use crate::store::Db;

/// The list's filter from query parameters; a value that is not UTF-8 is named like any other
/// unreadable one.
pub fn filter(pairs: &Pairs, pipeline: &Pipeline) -> Result<Filter, FieldErrors> {
    let mut unreadable = FieldErrors::new();
    let readable: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| PARAMETERS.contains(&k.as_str()))
        .filter_map(|(k, v)| match v {
            Ok(v) => Some((k.as_str(), v.as_str())),
            Err(()) => {
                add_error(&mut unreadable, k, format!("{k} is not readable text."));
                None
            }
        })
        .collect();
    let parsed = Filter::parse(readable, pipeline);
    match parsed {
        Ok(f) if unreadable.is_empty() => Ok(f),
        Ok(_) => Err(unreadable),
        Err(mut e) => {
            e.extend(unreadable);
            Err(e)
        }
    }
}

/// A query string for `pairs` (already in the filter's canonical form).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn score_percent(bp: i64) -> Option<i64> {
    (bp >= 0).then(|| crate::usecases::assessment::percent(bp))
}

/// One applicant of the list, as the API answers it.
pub fn item(r: &ListRow, tags: &[String], duplicate: bool) -> Value {
    json!({
        "id": r.id,
        "full_name": r.full_name,
        "email": r.email,
        "phone": r.phone,
        "country": r.country,
        "area": r.area,
        "languages": r.languages.split(',').collect::<Vec<_>>(),
        "weekly_hours": r.weekly_hours,
        "student": r.student,
        "customer": r.customer,
        "source": r.utm_source,
        "campaign": r.utm_campaign,
        "stage": r.status,
        "score": score_percent(r.score_bp),
        "applied_at": r.created_at,
        "stage_since": r.stage_since,
        "tags": tags,
        "possible_duplicate": duplicate,
    })
}

const CSV_HEADER: &[&str] = &[
    "id",
    "full_name",
    "email",
    "phone",
    "country",
    "area",
    "languages",
    "weekly_hours",
    "student",
    "customer",
    "source",
    "campaign",
    "stage",
    "score",
    "applied_at",
    "stage_since",
    "tags",
];

/// Rows read per query while streaming.
const CSV_BATCH: i64 = 2000;

/// A cell a spreadsheet would not run as a formula: one that starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'` (OWASP's advice; phone numbers such as
/// `+46…` included).
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn csv_rows(rows: &[ListRow], tags: &std::collections::HashMap<uuid::Uuid, Vec<String>>) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 200));
    for r in rows {
        let t = tags.get(&r.id).map(|t| t.join(";")).unwrap_or_default();
        let score = score_percent(r.score_bp).map(|s| s.to_string());
        let record = [
            r.id.to_string(),
            r.full_name.clone(),
            r.email.clone(),
            r.phone.clone().unwrap_or_default(),
            r.country.clone(),
            r.area.clone(),
            r.languages.replace(',', ";"),
            r.weekly_hours.to_string(),
            r.student.to_string(),
            r.customer.to_string(),
            r.utm_source.clone().unwrap_or_default(),
            r.utm_campaign.clone().unwrap_or_default(),
            r.status.clone(),
            score.unwrap_or_default(),
            r.created_at.to_rfc3339(),
            r.stage_since.map(|t| t.to_rfc3339()).unwrap_or_default(),
            t,
        ];
        w.write_record(record.iter().map(|c| inert(c).into_owned()))
            .expect("writing to memory");
    }
    Bytes::from(w.into_inner().expect("writing to memory"))
}

/// The filtered list as CSV, streamed a batch at a time by keyset (memory stays flat however
/// many rows match). The export is audited first, with the filter that chose the rows, less the
/// search words (they are often a name): only how many there were.
pub async fn csv_export(
    db: &Db,
    metrics: &super::metrics::Metrics,
    actor: &str,
    filter: Filter,
) -> Result<Response, crate::store::StoreError> {
    let at = db.now();
    let mut tx = db.begin().await?;
    let query = query_string(&filter.to_query(&["limit", "q"]));
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "applications.export_csv",
            subject: "applications",
            before: None,
            after: Some(json!({ "filter": query, "search_words": filter.q.len() })),
        },
        at,
    )
    .await?;
    tx.commit().await?;
    metrics.exported("csv");
    let header = {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_HEADER).expect("writing to memory");
        Bytes::from(w.into_inner().expect("writing to memory"))
    };
    let start = Filter {
        limit: CSV_BATCH,
        after: None,
        ..filter
    };
    let db = db.clone();
    let stream = futures_util::stream::unfold(Some(start), move |state| {
        let db = db.clone();
        async move {
            let mut f = state?;
            let result = next_batch(&db, &mut f, at).await;
            match result {
                Ok((bytes, more)) => Some((Ok::<_, std::io::Error>(bytes), more.then_some(f))),
                Err(e) => {
                    tracing::error!(error = %e, "CSV export stopped");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        }
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(header) }),
        stream,
    );
    let mut res = Body::from_stream(body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"applicants-{}.csv\"",
        at.format("%Y%m%d-%H%M")
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&name).expect("ASCII header"),
    );
    Ok(res)
}

async fn next_batch(
    db: &Db,
    f: &mut Filter,
    at: DateTime<Utc>,
) -> Result<(Bytes, bool), crate::store::StoreError> {
    let (rows, more) = applicants::batch(db, f, at).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let tags = applicants::tags_of(db, &ids).await?;
    f.after = rows.last().map(|r| r.cursor(f.sort));
    Ok((csv_rows(&rows, &tags), more))
}

/// The audit log's filters from query parameters (the API's and the admin page's):
/// `actor`, `action`, `subject`, `from`, `to` (RFC 3339), `limit` (1 to 500, default 100) and the
/// `after` cursor. Unreadable ones are named.
pub fn audit_filter(pairs: &Pairs) -> Result<audit::Filter, FieldErrors> {
    use base64::Engine;
    let mut errors = FieldErrors::new();
    let text = |name: &str| {
        super::form::first(pairs, name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    // A day (the page's date picker: `from` its first moment, `to` its last) or an instant.
    let mut time = |name: &str| match text(name) {
        None => None,
        Some(v) => match (
            DateTime::parse_from_rfc3339(&v),
            chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d"),
        ) {
            (Ok(t), _) => Some(t.with_timezone(&Utc)),
            (_, Ok(d)) if name == "to" => Some(
                (d + chrono::Days::new(1))
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    - chrono::Duration::microseconds(1),
            ),
            (_, Ok(d)) => Some(d.and_time(chrono::NaiveTime::MIN).and_utc()),
            _ => {
                let label = if name == "from" { "From" } else { "To" };
                add_error(
                    &mut errors,
                    name,
                    format!("Give “{label}” as a date like 2026-11-01 (or a time like 2026-11-01T09:00:00Z)."),
                );
                None
            }
        },
    };
    let (from, to) = (time("from"), time("to"));
    let limit = match text("limit") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                add_error(&mut errors, "limit", "Give a whole number from 1 to 500.");
                100
            }
        },
    };
    let after = text("after").and_then(|c| {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|r| String::from_utf8(r).ok());
        let parsed = raw.as_deref().and_then(|r| {
            let (at, id) = r.split_once('|')?;
            let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
            Some((at, uuid::Uuid::parse_str(id).ok()?))
        });
        if parsed.is_none() {
            add_error(
                &mut errors,
                "after",
                "Use the next cursor of the previous page.",
            );
        }
        parsed
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(audit::Filter {
        actor: text("actor"),
        action: text("action"),
        subject: text("subject"),
        from,
        to,
        after,
        limit,
    })
}

/// The cursor after a full page of audit rows; None on the last page.
pub fn audit_next(rows: &[audit::Row], limit: i64) -> Option<String> {
    use base64::Engine;
    (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|r| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                "{}|{}",
                r.at.to_rfc3339(),
                r.id
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn formula_cells_are_made_inert() {
        for cell in ["=1+1", "+46701234567", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(inert(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(inert("Anna"), "Anna");
        assert_eq!(inert(""), "");
    }
}
