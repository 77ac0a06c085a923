//! Staff accounts: creating one, setting a new password (which signs the person out
//! everywhere), disabling one, and checking passwords. The CLI, first start and the staff pages
//! call these; each change writes its audit row in its own transaction. `actor` is who acts:
//! `cli`, `first-start` or `staff:<user id>`.

use std::sync::LazyLock;

use anyhow::bail;
use tokio::sync::Semaphore;

use crate::domain::email::EmailAddress;
use crate::domain::staff::{self, Role};
use crate::store::audit::{self, Entry};
use crate::store::{sessions, users, Db, StoreError};

/// Creates an account. Fails, naming the field, when the email is taken or the password short.
/// `must_change`: the password was shown (printed or logged), so the owner must replace it at
/// the first sign-in.
pub async fn create(
    db: &Db,
    actor: &str,
    email: &EmailAddress,
    role: Role,
    password: &str,
    must_change: bool,
) -> anyhow::Result<()> {
    let hash = staff::hash_password(password)?;
    let mut tx = db.begin().await?;
    let id = match users::create(&mut tx, email.as_str(), role.as_str(), &hash, db.now()).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => bail!("--email: a user with this email already exists"),
        Err(e) => return Err(e.into()),
    };
    if must_change {
        users::require_password_change(&mut tx, id).await?;
    }
    let after = serde_json::json!({ "role": role.as_str(), "must_change_password": must_change });
    audit_user(
        &mut tx,
        db.now(),
        actor,
        "staff.create",
        id,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The audit row for a change to staff account `id`.
async fn audit_user(
    tx: &mut crate::store::Tx,
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
    action: &str,
    id: uuid::Uuid,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    let subject = format!("user:{id}");
    let entry = Entry {
        actor,
        action,
        subject: &subject,
        before,
        after,
    };
    audit::record(tx, entry, at).await
}

/// Sets a new password and ends every session of that user, in one transaction. Returns how
/// many sessions ended. `must_change` as for `create`.
pub async fn set_password(
    db: &Db,
    actor: &str,
    email: &EmailAddress,
    password: &str,
    must_change: bool,
) -> anyhow::Result<u64> {
    let hash = staff::hash_password(password)?;
    let mut tx = db.begin().await?;
    let Some(id) = users::set_password_hash(&mut tx, email.as_str(), &hash).await? else {
        bail!("--email: no staff account has this email");
    };
    if must_change {
        users::require_password_change(&mut tx, id).await?;
    }
    let ended = sessions::end_all(&mut tx, id).await?;
    let after = serde_json::json!({ "must_change_password": must_change, "sessions_ended": ended });
    audit_user(
        &mut tx,
        db.now(),
        actor,
        "staff.set_password",
        id,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Sets a person's own new password (they proved the old one) and ends their other sessions;
/// the one they are using stays.
pub async fn change_own_password(
    db: &Db,
    user_id: uuid::Uuid,
    keep_session: &str,
    password: &str,
) -> anyhow::Result<()> {
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || staff::hash_password(&password)).await??;
    let mut tx = db.begin().await?;
    users::set_password_hash_by_id(&mut tx, user_id, &hash).await?;
    let ended = sessions::end_others(&mut tx, user_id, keep_session).await?;
    let actor = format!("staff:{user_id}");
    let after = serde_json::json!({ "other_sessions_ended": ended });
    audit_user(
        &mut tx,
        db.now(),
        &actor,
        "staff.change_own_password",
        user_id,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables an account and ends its sessions at once, in one transaction; how many ended.
pub async fn disable(db: &Db, actor: &str, email: &EmailAddress) -> anyhow::Result<u64> {
    let mut tx = db.begin().await?;
    let Some(id) = users::disable(&mut tx, email.as_str(), db.now()).await? else {
        bail!("--email: no staff account has this email");
    };
    let ended = sessions::end_all(&mut tx, id).await?;
    let after = serde_json::json!({ "disabled": true, "sessions_ended": ended });
    audit_user(
        &mut tx,
        db.now(),
        actor,
        "staff.disable",
        id,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Password checks run at once; more wait their turn. Argon2 is built to take tens of
/// milliseconds of CPU, so it runs on the blocking pool, never on the async workers that serve
/// every other request, and a flood of sign-ins queues here instead of taking every core.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores.clamp(1, 4))
});

/// A hash to check against when the account does not exist, so the answer takes as long.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    staff::hash_password("not-a-real-password-at-all").expect("hashing a constant")
});

/// Whether `password` matches `hash`; with no hash (no such account), checks against a dummy
/// and answers false, in the same time.
pub async fn check_password(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => staff::verify_password(&password, &h),
        None => {
            staff::verify_password(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// On a single-threaded runtime, other tasks keep running while a password is checked:
    /// the hash is not computed on the async worker.
    #[tokio::test(flavor = "current_thread")]
    async fn checking_a_password_leaves_the_async_worker_free() {
        let hash = staff::hash_password("correct horse battery").unwrap();
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        assert!(check_password("correct horse battery".into(), Some(hash)).await);
        assert!(!check_password("wrong password here".into(), None).await);
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        assert!(during > 10, "other tasks ran {during} times while hashing");
    }
}

/// Why a change to an account was refused, with the field it is about.
#[derive(Debug, thiserror::Error)]
pub enum AccountRefusal {
    #[error("{1}")]
    Field(&'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Invites a new staff member: an account with no usable password, and an invitation email
/// (through the outbox, in the same transaction) whose link, minted as it goes out, lets them
/// set their own. Returns the new account's id.
pub async fn invite(
    db: &Db,
    actor: &str,
    email: &EmailAddress,
    role: Role,
) -> Result<uuid::Uuid, AccountRefusal> {
    // Nobody knows this password: the account is usable only through the invitation.
    let unknowable = crate::domain::token::SecretToken::generate();
    let secret = unknowable.as_str().to_string();
    let hash = tokio::task::spawn_blocking(move || staff::hash_password(&secret))
        .await
        .map_err(|e| StoreError::Batch(e.to_string()))?
        .map_err(|e| StoreError::Batch(e.to_string()))?;
    let at = db.now();
    let mut tx = db.begin().await?;
    let id = match users::create(&mut tx, email.as_str(), role.as_str(), &hash, at).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            return Err(AccountRefusal::Field(
                "email",
                "A staff account with this email already exists.".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    users::mark_invited(&mut tx, id, at).await?;
    crate::store::outbox::enqueue(
        &mut tx,
        crate::store::outbox::NewEmail {
            idempotency_key: format!("staff_invite:{id}"),
            template: "staff_invite",
            recipient: email.as_str(),
            payload: serde_json::json!({ "user_id": id, "role": role.as_str() }),
        },
        at,
    )
    .await?;
    let after = serde_json::json!({ "role": role.as_str(), "invited": true });
    audit_user(
        &mut tx,
        db.now(),
        actor,
        "staff.invite",
        id,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a staff member's role. The last active admin keeps theirs.
pub async fn set_role(
    db: &Db,
    actor: &str,
    id: uuid::Uuid,
    role: Role,
) -> Result<(), AccountRefusal> {
    let mut tx = db.begin().await?;
    users::lock_active_admins(&mut tx).await?;
    let Some(before) = users::role_of(&mut tx, id).await? else {
        return Err(StoreError::NotFound.into());
    };
    if before == "admin"
        && role != Role::Admin
        && users::other_active_admins(&mut tx, id).await? == 0
    {
        return Err(AccountRefusal::Field(
            "role",
            "This is the only active admin: make someone else admin first.".into(),
        ));
    }
    users::set_role(&mut tx, id, role.as_str()).await?;
    if before != role.as_str() {
        audit_user(
            &mut tx,
            db.now(),
            actor,
            "staff.set_role",
            id,
            Some(serde_json::json!({ "role": before })),
            Some(serde_json::json!({ "role": role.as_str() })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deactivates a staff member and ends their sessions at once. Nobody deactivates the last
/// active admin, nor themselves.
pub async fn deactivate(
    db: &Db,
    actor_id: uuid::Uuid,
    id: uuid::Uuid,
) -> Result<u64, AccountRefusal> {
    if actor_id == id {
        return Err(AccountRefusal::Field(
            "account",
            "You cannot deactivate your own account; ask another admin.".into(),
        ));
    }
    let mut tx = db.begin().await?;
    users::lock_active_admins(&mut tx).await?;
    if users::other_active_admins(&mut tx, id).await? == 0 {
        return Err(AccountRefusal::Field(
            "account",
            "This is the only active admin: make someone else admin first.".into(),
        ));
    }
    if !users::disable_by_id(&mut tx, id, db.now()).await? {
        return Err(StoreError::NotFound.into());
    }
    let ended = sessions::end_all(&mut tx, id).await?;
    let after = serde_json::json!({ "disabled": true, "sessions_ended": ended });
    let actor = format!("staff:{actor_id}");
    audit_user(
        &mut tx,
        db.now(),
        &actor,
        "staff.disable",
        id,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Sets the password of an invited account with its invitation link (once).
pub async fn accept_invite(
    db: &Db,
    token_hash: &str,
    user_id: uuid::Uuid,
    password: &str,
) -> Result<bool, AccountRefusal> {
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || staff::hash_password(&password))
        .await
        .map_err(|e| StoreError::Batch(e.to_string()))?
        .map_err(|e| StoreError::Batch(e.to_string()))?;
    let at = db.now();
    let mut tx = db.begin().await?;
    if !users::use_invite(&mut tx, token_hash, user_id, at).await? {
        return Ok(false);
    }
    users::set_password_hash_by_id(&mut tx, user_id, &hash).await?;
    audit_user(
        &mut tx,
        db.now(),
        &format!("staff:{user_id}"),
        "staff.accept_invite",
        user_id,
        None,
        Some(serde_json::json!({ "password_set": true })),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
