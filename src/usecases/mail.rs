//! What staff do with an email that could not be sent: send it again, or cancel it. The
//! change and its audit row are one transaction, whichever page or command asked.

use serde_json::json;
use uuid::Uuid;

use crate::store::audit::{self, Entry};
use crate::store::{outbox, Db, StoreError};

/// Send a failed email again (`retry`), or cancel it. False when it is not a failed email
/// (sent, waiting, cancelled, or no such id): nothing changes and nothing is audited.
pub async fn decide_failed(
    db: &Db,
    actor: &str,
    id: Uuid,
    retry: bool,
) -> Result<bool, StoreError> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let changed = if retry {
        outbox::retry_failed_tx(&mut tx, id, now).await?
    } else {
        outbox::cancel_failed_tx(&mut tx, id, now).await?
    };
    if changed {
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: if retry {
                    "outbox.retry"
                } else {
                    "outbox.cancel"
                },
                subject: &format!("outbox:{id}"),
                before: Some(json!({ "status": "failed" })),
                after: Some(json!({ "status": if retry { "pending" } else { "cancelled" } })),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}
