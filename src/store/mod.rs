//! Everything that speaks SQL. `Db` and `Tx` are enums over the two engines; the `on!` macro runs one
//! query text against whichever is live, so each query is written once.

pub mod api_keys;
pub mod applicants;
pub mod applications;
pub mod attempts;
pub mod audit;
pub mod cohorts;
pub mod jobs;
pub mod outbox;
pub mod quizzes;
pub mod reminders;
pub mod reports;
pub mod sessions;
pub mod sign_ins;
pub mod tags;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// Runs `$body` with `$c` bound to the live transaction or pool of either engine. The body is
/// type-checked once per engine, so it must be valid for both (bind parameters as `$1`, `$2`).
#[macro_export]
macro_rules! on {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite($c) => $body,
            $crate::store::Tx::Postgres($c) => $body,
        }
    };
}

/// Like `on!`, for reads straight from a pool (SQLite's reader pool).
#[macro_export]
macro_rules! on_db {
    ($db:expr, $p:ident => $body:expr) => {
        match &$db.pools {
            $crate::store::Pools::Sqlite { reader: $p, .. } => $body,
            $crate::store::Pools::Postgres($p) => $body,
        }
    };
}

/// Like `on_db!`, on the pool that writes (SQLite's single writer), for one-statement writes.
#[macro_export]
macro_rules! on_writer {
    ($db:expr, $p:ident => $body:expr) => {
        match &$db.pools {
            $crate::store::Pools::Sqlite { writer: $p, .. } => $body,
            $crate::store::Pools::Postgres($p) => $body,
        }
    };
}

pub use crate::{on, on_db, on_writer};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("unique constraint {0} violated")]
    Conflict(String),
    #[error(transparent)]
    Sqlx(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The transaction this write was batched into failed (the cause is logged once).
    #[error("batched write failed: {0}")]
    Batch(String),
    /// The writer task is gone: the process is shutting down.
    #[error("the store is shutting down")]
    Closed,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(constraint_name(db.as_ref()))
            }
            _ => StoreError::Sqlx(e),
        }
    }
}

/// PostgreSQL reports the constraint; SQLite only says `UNIQUE constraint failed: table.column`,
/// which we map to the same `table_column_key` name the PostgreSQL schema uses.
fn constraint_name(db: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(c) = db.constraint() {
        return c.to_string();
    }
    let msg = db.message();
    match msg.strip_prefix("UNIQUE constraint failed: ") {
        Some(cols) => format!("{}_key", cols.replace('.', "_").replace(", ", "_")),
        None => msg.to_string(),
    }
}

/// Connections per instance unless configured (`database_max_connections`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// SQLite's page cache per connection (negative: KiB), 8 MiB: the writer and up to four
/// readers stay near 40 MiB together, so a server streaming a million-row export stays under
/// 100 MB; the operating system's file cache holds the rest of the database.
const CACHE_SIZE: &str = "-8192";

/// The store handle every layer holds: the connection pools and the app's clock, so anything
/// that writes a time reads it from the same place (`db.now()`).
#[derive(Clone, Debug)]
pub struct Db {
    pub pools: Pools,
    pub clock: crate::clock::Clock,
}

#[derive(Clone, Debug)]
pub enum Pools {
    /// SQLite has one writer: writes go through a one-connection pool so they queue in-process
    /// instead of spinning on the busy timeout; reads use a larger pool in parallel (WAL).
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    fn new(pools: Pools) -> Self {
        Db {
            pools,
            clock: crate::clock::Clock::system(),
        }
    }

    /// The same pools read against `clock` (tests pass a manual one).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the app's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Connects with the default pool size.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects with at most `max_connections` to PostgreSQL (SQLite: one writer and up to that
    /// many readers, at most 4).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let max_connections = max_connections.max(1);
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::new(Pools::Postgres(pool)))
        } else {
            if let Some(parent) = sqlite_file(url).and_then(|p| p.parent().map(|p| p.to_owned())) {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(&parent).map_err(|e| StoreError::Sqlx(e.into()))?;
                }
            }
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("temp_store", "memory")
                .pragma("cache_size", CACHE_SIZE);
            // Instances started together on a new file race to switch it to WAL; the loser
            // gets SQLITE_BUSY straight away (the busy timeout does not cover a journal-mode
            // change), so connecting is retried for a while.
            let mut tries = 0;
            loop {
                let pools = async {
                    let writer = SqlitePoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(Duration::from_secs(30))
                        .connect_with(opts.clone())
                        .await?;
                    let reader = SqlitePoolOptions::new()
                        .max_connections(max_connections.min(4))
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_with(opts.clone().read_only(true))
                        .await?;
                    Ok::<_, sqlx::Error>(Db::new(Pools::Sqlite { writer, reader }))
                };
                match pools.await {
                    Ok(db) => return Ok(db),
                    Err(sqlx::Error::Database(e))
                        if e.code().as_deref() == Some("5") && tries < 100 =>
                    {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    /// For a long bulk load by this process (`seed --synthetic`), on SQLite: a page cache large
    /// enough to hold the indexes the load updates (256 MB), and no checkpoint after each
    /// commit (pages the next batch changes again would be copied over and over); `bulk_load_done`
    /// checkpoints once. PostgreSQL's cache and checkpoints are the server's.
    pub async fn prepare_bulk_load(&self) -> Result<(), StoreError> {
        if let Pools::Sqlite { writer, .. } = &self.pools {
            sqlx::query("PRAGMA cache_size = -262144")
                .execute(writer)
                .await?;
            sqlx::query("PRAGMA wal_autocheckpoint = 0")
                .execute(writer)
                .await?;
        }
        Ok(())
    }

    /// Ends a bulk load: the write-ahead log goes into the database file, and the writer's
    /// settings return to normal.
    pub async fn bulk_load_done(&self) -> Result<(), StoreError> {
        if let Pools::Sqlite { writer, .. } = &self.pools {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(writer)
                .await?;
            sqlx::query("PRAGMA wal_autocheckpoint = 1000")
                .execute(writer)
                .await?;
            sqlx::query(&format!("PRAGMA cache_size = {CACHE_SIZE}"))
                .execute(writer)
                .await?;
            sqlx::query("PRAGMA optimize").execute(writer).await?;
        }
        if let Pools::Postgres(pool) = &self.pools {
            // Index-only scans need the visibility map that VACUUM writes (autovacuum would,
            // later); ANALYZE gives the planner the new row counts. The report counts were
            // updated once per row loaded: their dead versions go too.
            sqlx::query(
                "VACUUM (ANALYZE) applications, application_search, funnel_daily, \
                 fairness_daily, live_daily, outsourced_headcount",
            )
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    pub fn engine(&self) -> &'static str {
        match &self.pools {
            Pools::Sqlite { .. } => "sqlite",
            Pools::Postgres(_) => "postgres",
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Pools::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        // Rows stored before the applicant list existed get their search terms and person
        // keys (a no-op once done).
        applicants::backfill(self).await?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads and then writes fails with SQLITE_BUSY instead of waiting.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pools {
            Pools::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Held while an instance migrates and seeds a database, so instances started together take
    /// turns instead of racing (one would fail on a unique key, or on a table another just
    /// created). PostgreSQL: a session advisory lock on a connection of its own, released when
    /// the guard drops (the connection closes, so even a crash releases it). SQLite: an
    /// exclusive lock on a file next to the database.
    pub async fn startup_lock(&self, url: &str) -> Result<StartupLock, StoreError> {
        match &self.pools {
            Pools::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(STARTUP_LOCK_KEY)
                    .execute(&mut conn)
                    .await?;
                Ok(StartupLock::Postgres(Some(conn)))
            }
            Pools::Sqlite { .. } => {
                let Some(path) = sqlite_file(url) else {
                    return Ok(StartupLock::None);
                };
                let mut lock_path = path.into_os_string();
                lock_path.push(".startup-lock");
                let file = tokio::task::spawn_blocking(move || {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&lock_path)?;
                    f.lock()?;
                    Ok::<_, std::io::Error>(f)
                })
                .await
                .map_err(|e| StoreError::Sqlx(sqlx::Error::Io(std::io::Error::other(e))))?
                .map_err(|e| StoreError::Sqlx(e.into()))?;
                Ok(StartupLock::File(file))
            }
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres(p) => p.close().await,
        }
    }
}

/// "onramp-s" as a number: the advisory lock key instances take turns on at start.
const STARTUP_LOCK_KEY: i64 = 0x6f6e_7261_6d70_2d73;

/// See `Db::startup_lock`. Dropping it releases the lock.
pub enum StartupLock {
    Postgres(Option<sqlx::PgConnection>),
    File(std::fs::File),
    None,
}

impl StartupLock {
    /// Releases the lock now (dropping does too, less tidily).
    pub async fn release(mut self) {
        if let StartupLock::Postgres(conn) = &mut self {
            if let Some(c) = conn.take() {
                use sqlx::Connection;
                let _ = c.close().await;
            }
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// Names of the migrations embedded for each engine, for the check that both folders match.
pub fn migration_names() -> (Vec<String>, Vec<String>) {
    let names = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| format!("{}_{}", m.version, m.description))
            .collect()
    };
    (names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS))
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
