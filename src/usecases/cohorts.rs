//! Pilot cohorts: making one (with its checklist copied from the template and an audit row, in
//! one transaction) and reading one with its checklist.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::domain::cohorts::{NewCohort, DEFAULT_TEMPLATE};
use crate::domain::{add_error, FieldErrors};
use crate::store::audit::{self, Entry};
use crate::store::cohorts::{self, CohortRow, ItemRow};
use crate::store::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CreateFailure {
    /// The request names something that cannot be: a taken name, an owner who is not an
    /// active recruiter.
    #[error("the cohort was not created")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes a cohort. Its owner is the active recruiter or admin with `owner_email`, or `owner`
/// (the staff member creating it) when no address is given; an API key without an address
/// leaves it empty until a recruiter takes it. The checklist is copied from the default
/// template.
pub async fn create(
    db: &Db,
    actor: &str,
    owner: Option<Uuid>,
    c: &NewCohort,
    now: DateTime<Utc>,
) -> Result<CohortRow, CreateFailure> {
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    let owner_id = match &c.owner_email {
        Some(email) => match cohorts::staff_by_email(&mut tx, email.as_str()).await? {
            Some((id, role)) if role == "recruiter" || role == "admin" => Some(id),
            _ => {
                let mut errors = FieldErrors::new();
                add_error(
                    &mut errors,
                    "owner_email",
                    "No active recruiter has this address: the owner must be a recruiter or an admin.",
                );
                return Err(CreateFailure::Invalid(errors));
            }
        },
        None => owner,
    };
    match cohorts::insert(&mut tx, id, c, owner_id, DEFAULT_TEMPLATE, actor, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let mut errors = FieldErrors::new();
            add_error(
                &mut errors,
                "name",
                "A cohort with this name exists: choose another name.",
            );
            return Err(CreateFailure::Invalid(errors));
        }
        Err(e) => return Err(e.into()),
    }
    let after = json!({
        "name": c.name, "market": c.market, "language": c.language,
        "start_date": c.start_date, "capacity": c.capacity, "owner": owner_id,
        "waitlist": c.waitlist,
    });
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "cohort.create",
            subject: &format!("cohort:{id}"),
            before: None,
            after: Some(after),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    cohorts::get(db, id)
        .await?
        .ok_or_else(|| StoreError::NotFound.into())
}

/// A cohort and its checklist; None when there is no such cohort.
pub async fn read(db: &Db, id: Uuid) -> Result<Option<(CohortRow, Vec<ItemRow>)>, StoreError> {
    let Some(cohort) = cohorts::get(db, id).await? else {
        return Ok(None);
    };
    Ok(Some((cohort, cohorts::checklist(db, id).await?)))
}
