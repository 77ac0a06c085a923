use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, on_writer, Db, Result, Tx};

pub async fn create(
    tx: &mut Tx,
    name: &str,
    role: &str,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    const SQL: &str = "INSERT INTO api_keys (id, name, role, key_hash, created_at) \
        VALUES ($1, $2, $3, $4, $5)";
    let id = Uuid::now_v7();
    on!(tx, c => sqlx::query(SQL).bind(id).bind(name).bind(role).bind(key_hash).bind(now)
        .execute(&mut **c).await.map(|_| ())?);
    Ok(id)
}

/// The id and role of the live (not revoked) key with this hash.
pub async fn find_active(db: &Db, key_hash: &str) -> Result<Option<(Uuid, String)>> {
    const SQL: &str = "SELECT id, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(key_hash).fetch_optional(p).await?))
}

/// Notes that a key was used, at most once a minute per key (so busy keys do not write on
/// every call).
pub async fn touch(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 \
        AND (last_used_at IS NULL OR last_used_at < $3)";
    let stale = now - chrono::Duration::minutes(1);
    on_writer!(db, p => sqlx::query(SQL).bind(id).bind(now).bind(stale).execute(p).await
        .map(|_| ())?);
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every key, newest first, without its hash.
pub async fn list(db: &Db) -> Result<Vec<KeyRow>> {
    const SQL: &str = "SELECT id, name, role, created_at, last_used_at, revoked_at \
        FROM api_keys ORDER BY created_at DESC";
    Ok(on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?))
}

pub async fn revoke(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    let n =
        on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    /// Keys made before roles existed keep working as they did (admin); keys made after
    /// default to the narrowest role. Runs the migration files themselves, one at a time.
    #[tokio::test]
    async fn existing_keys_become_admin_and_new_ones_default_to_intake() {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        for sql in [
            include_str!("../../migrations/sqlite/0001_foundation.sql"),
            include_str!("../../migrations/sqlite/0002_question_bank.sql"),
            include_str!("../../migrations/sqlite/0003_quizzes.sql"),
        ] {
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        sqlx::query("INSERT INTO api_keys (id, name, key_hash, created_at) VALUES (x'01', 'old', 'h1', '2026-01-01T00:00:00Z')")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::raw_sql(include_str!("../../migrations/sqlite/0004_access.sql"))
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("INSERT INTO api_keys (id, name, key_hash, created_at) VALUES (x'02', 'new', 'h2', '2026-02-01T00:00:00Z')")
            .execute(&mut c)
            .await
            .unwrap();
        let roles: Vec<(String, String)> =
            sqlx::query_as("SELECT name, role FROM api_keys ORDER BY name")
                .fetch_all(&mut c)
                .await
                .unwrap();
        assert_eq!(
            roles,
            [
                ("new".into(), "intake".into()),
                ("old".into(), "admin".into())
            ]
        );
    }
}
