use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, on_writer, Db, Result, Tx};

pub async fn create(
    tx: &mut Tx,
    email: &str,
    role: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    const SQL: &str = "INSERT INTO users (id, email, role, password_hash, created_at) \
        VALUES ($1, $2, $3, $4, $5)";
    let id = Uuid::now_v7();
    on!(tx, c => sqlx::query(SQL).bind(id).bind(email).bind(role).bind(password_hash)
        .bind(now).execute(&mut **c).await.map(|_| ())?);
    Ok(id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub failed_sign_ins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl Credentials {
    /// Whether sign-in is refused whatever the password: disabled, or locked after failures.
    pub fn shut(&self, now: DateTime<Utc>) -> bool {
        self.disabled_at.is_some() || self.locked_until.is_some_and(|t| t > now)
    }
}

pub async fn credentials(db: &Db, email: &str) -> Result<Option<Credentials>> {
    const SQL: &str = "SELECT id, password_hash, failed_sign_ins, locked_until, disabled_at \
        FROM users WHERE email = $1";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(email).fetch_optional(p).await?))
}

/// A good sign-in clears the count of failures and any lock.
pub async fn record_sign_in(db: &Db, id: Uuid) -> Result<()> {
    const SQL: &str = "UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1 \
        AND (failed_sign_ins <> 0 OR locked_until IS NOT NULL)";
    on_writer!(db, p => sqlx::query(SQL).bind(id).execute(p).await.map(|_| ())?);
    Ok(())
}

/// Disables an account (it can no longer sign in); the user's id, or None if no such email.
pub async fn disable(tx: &mut Tx, email: &str, now: DateTime<Utc>) -> Result<Option<Uuid>> {
    const SQL: &str = "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE email = $1 \
        RETURNING id";
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(email).bind(now).fetch_optional(&mut **c).await?))
}

/// Marks a password as one its owner must replace at the next sign-in (it was shown in a log).
pub async fn require_password_change(tx: &mut Tx, id: Uuid) -> Result<()> {
    const SQL: &str = "UPDATE users SET must_change_password = TRUE WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Sets the zone a staff member reads times in (None: the instance's).
pub async fn set_time_zone(tx: &mut Tx, id: Uuid, zone: Option<&str>) -> Result<()> {
    const SQL: &str = "UPDATE users SET time_zone = $2 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(zone).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await?))
}

/// Replaces a user's password hash; the user's id, or None when no user has that email.
pub async fn set_password_hash(
    tx: &mut Tx,
    email: &str,
    password_hash: &str,
) -> Result<Option<Uuid>> {
    const SQL: &str = "UPDATE users SET password_hash = $2, must_change_password = FALSE, \
        failed_sign_ins = 0, locked_until = NULL WHERE email = $1 RETURNING id";
    Ok(
        on!(tx, c => sqlx::query_scalar(SQL).bind(email).bind(password_hash)
        .fetch_optional(&mut **c).await?),
    )
}

/// Replaces the password hash of user `id`, clearing any forced change and lock.
pub async fn set_password_hash_by_id(tx: &mut Tx, id: Uuid, password_hash: &str) -> Result<()> {
    const SQL: &str = "UPDATE users SET password_hash = $2, must_change_password = FALSE, \
        failed_sign_ins = 0, locked_until = NULL WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(password_hash).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Every staff member's address by id (to name who did what on a timeline).
pub async fn emails_by_id(db: &Db) -> Result<std::collections::HashMap<Uuid, String>> {
    const SQL: &str = "SELECT id, email FROM users";
    let rows: Vec<(Uuid, String)> = on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?);
    Ok(rows.into_iter().collect())
}

/// A staff account as the admins' page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Invited, and no password set yet.
    pub invited_at: Option<DateTime<Utc>>,
}

/// Every staff account, by email.
pub async fn list(db: &Db) -> Result<Vec<UserRow>> {
    const SQL: &str =
        "SELECT id, email, role, created_at, disabled_at, invited_at FROM users ORDER BY email";
    Ok(on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?))
}

/// The role of user `id`, or None when there is no such user.
pub async fn role_of(tx: &mut Tx, id: Uuid) -> Result<Option<String>> {
    const SQL: &str = "SELECT role FROM users WHERE id = $1";
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(id).fetch_optional(&mut **c).await?))
}

/// Changes the role of user `id`.
pub async fn set_role(tx: &mut Tx, id: Uuid, role: &str) -> Result<()> {
    const SQL: &str = "UPDATE users SET role = $2 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(role).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Disables user `id`; false when there is no such user.
pub async fn disable_by_id(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

/// How many active admins there are besides `id` (the last admin cannot be demoted or disabled).
/// Locks the active admins' rows until the transaction ends (PostgreSQL; SQLite's write
/// transactions are already one at a time), so two changes that each leave "another admin"
/// cannot both pass the last-admin check: the second waits, then sees the first.
pub async fn lock_active_admins(tx: &mut Tx) -> Result<()> {
    if let Tx::Postgres(c) = tx {
        sqlx::query(
            "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL \
             ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut **c)
        .await?;
    }
    Ok(())
}

pub async fn other_active_admins(tx: &mut Tx, id: Uuid) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL \
        AND id <> $1";
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(id).fetch_one(&mut **c).await?))
}

/// Marks user `id` as invited (no password of their own yet).
pub async fn mark_invited(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "UPDATE users SET invited_at = $2 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Stores an invitation link (its hash), minted as its email goes out.
pub async fn insert_invite(
    tx: &mut Tx,
    token_hash: &str,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "INSERT INTO staff_invites (token_hash, user_id, expires_at, created_at) \
        VALUES ($1, $2, $3, $4)";
    on!(tx, c => sqlx::query(SQL).bind(token_hash).bind(user_id).bind(expires_at).bind(now)
        .execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// The account a live (unused, unexpired) invitation is for, and its address.
pub async fn invite_user(
    db: &Db,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, String)>> {
    const SQL: &str = "SELECT u.id, u.email FROM staff_invites i JOIN users u ON u.id = i.user_id \
        WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 \
        AND u.disabled_at IS NULL";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(p).await?))
}

/// Uses an invitation: true once, for a live one; the account's other invitations end too.
pub async fn use_invite(
    tx: &mut Tx,
    token_hash: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str =
        "UPDATE staff_invites SET used_at = $3 WHERE token_hash = $1 AND user_id = $2 \
        AND used_at IS NULL AND expires_at > $3";
    let n = on!(tx, c => sqlx::query(SQL).bind(token_hash).bind(user_id).bind(now)
        .execute(&mut **c).await?.rows_affected());
    if n == 1 {
        const OTHERS: &str =
            "UPDATE staff_invites SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";
        on!(tx, c => sqlx::query(OTHERS).bind(user_id).bind(now).execute(&mut **c).await
            .map(|_| ())?);
        const USER: &str = "UPDATE users SET invited_at = NULL WHERE id = $1";
        on!(tx, c => sqlx::query(USER).bind(user_id).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(n == 1)
}
