//! Webhooks: registering, removing and re-enabling endpoints (admins, with an audit row), and
//! queueing an event's deliveries in the transaction of the change it reports.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::webhooks::NewWebhook;
use crate::store::audit::{self, Entry};
use crate::store::webhooks::{self, NewDelivery, WebhookRow};
use crate::store::{Db, StoreError, Tx};

pub async fn register(
    db: &Db,
    actor: &str,
    w: &NewWebhook,
    now: DateTime<Utc>,
) -> Result<WebhookRow, StoreError> {
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    webhooks::insert(&mut tx, id, w, actor, now).await?;
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "webhook.create",
            subject: &format!("webhook:{id}"),
            before: None,
            after: Some(json!({ "url": w.url, "events": w.events })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    webhooks::get(db, id).await?.ok_or(StoreError::NotFound)
}

/// Deletes an endpoint and its deliveries; false when there was none.
pub async fn remove(
    db: &Db,
    actor: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(before) = webhooks::get(db, id).await? else {
        return Ok(false);
    };
    let mut tx = db.begin().await?;
    if !webhooks::delete(&mut tx, id).await? {
        return Ok(false);
    }
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "webhook.delete",
            subject: &format!("webhook:{id}"),
            before: Some(json!({ "url": before.url, "events": before.event_list() })),
            after: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Turns a disabled endpoint back on; false when it was not disabled.
pub async fn enable(
    db: &Db,
    actor: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    if !webhooks::enable(&mut tx, id, now).await? {
        return Ok(false);
    }
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "webhook.enable",
            subject: &format!("webhook:{id}"),
            before: Some(json!({ "enabled": false })),
            after: Some(json!({ "enabled": true })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Queues `event` with each of `data` to every enabled endpoint subscribed to it, in `tx`.
/// The body is `{id, event, created_at, data}`; `id` is the delivery's own, so a receiver
/// can tell a retry from a new event.
pub(crate) async fn notify(
    tx: &mut Tx,
    event: &'static str,
    data: &[Value],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if data.is_empty() {
        return Ok(());
    }
    let endpoints = webhooks::subscribers(tx, event).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut deliveries = Vec::with_capacity(endpoints.len() * data.len());
    for webhook_id in endpoints {
        for d in data {
            let id = Uuid::now_v7();
            let body = json!({ "id": id, "event": event, "created_at": now, "data": d });
            deliveries.push(NewDelivery {
                id,
                webhook_id,
                event,
                body: body.to_string(),
            });
        }
    }
    webhooks::enqueue(tx, &deliveries, now).await
}
