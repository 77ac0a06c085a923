use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};

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
}

pub async fn credentials(db: &Db, email: &str) -> Result<Option<Credentials>> {
    const SQL: &str = "SELECT id, password_hash FROM users WHERE email = $1";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(email).fetch_optional(p).await?))
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
    const SQL: &str = "UPDATE users SET password_hash = $2 WHERE email = $1 RETURNING id";
    Ok(
        on!(tx, c => sqlx::query_scalar(SQL).bind(email).bind(password_hash)
        .fetch_optional(&mut **c).await?),
    )
}
