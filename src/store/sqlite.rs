//! The SAML state in SQLite (feature `sqlite`), for an app on one host with no database server
//! (the demo, a small deployment, several processes sharing one file): the same statements,
//! semantics and clean-up as [`super::postgres`], in a file opened in WAL mode with a busy
//! timeout, so concurrent writers wait for each other instead of failing.
//!
//! [`migrate`] applies the files of `migrations/sqlite/` ([`MIGRATIONS`]) that the database does
//! not have yet, each in one transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::StoreError;
use super::sql::{schema_version, sql_state_store, unavailable};

/// The schema's migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/sqlite/0001_saml_state.sql"),
    ),
    (
        2,
        include_str!("../../migrations/sqlite/0002_sso_profiles.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_web_sessions.sql"),
    ),
];

/// Applies the migrations up to `target` (all with `None`) that the database does not have yet,
/// each in its own transaction (SQLite's write lock keeps two processes from interleaving).
/// Returns the versions applied.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be opened or a migration fails.
pub async fn migrate(pool: &SqlitePool, target: Option<i64>) -> Result<Vec<i64>, StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS saml_sp_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(unavailable)?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if target.is_some_and(|t| *version > t) {
            continue;
        }
        let mut tx = pool.begin().await.map_err(unavailable)?;
        // Claiming the version first takes the write lock; another process that applied it
        // meanwhile leaves nothing to claim.
        let claimed = sqlx::query(
            "INSERT INTO saml_sp_migrations (version, applied_ms) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(Utc::now().timestamp_millis())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected();
        if claimed == 0 {
            continue;
        }
        sqlx::Executor::execute(&mut *tx, *sql)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        applied.push(*version);
    }
    Ok(applied)
}

schema_version!(
    SqlitePool,
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'saml_sp_migrations')"
);

/// A pool on the SQLite file at `path` (created when missing), in WAL mode with a 5-second busy
/// timeout.
///
/// # Errors
/// [`StoreError::Unavailable`] when the file cannot be opened.
pub async fn open(path: &std::path::Path) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(unavailable)
}

/// Requests, replay cache and logout log in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path` and applies the migrations.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn open(path: &std::path::Path) -> Result<SqliteStore, StoreError> {
        let pool = open(path).await?;
        migrate(&pool, None).await?;
        Ok(SqliteStore { pool })
    }

    /// Over a pool whose schema is migrated.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteStore { pool }
    }

    /// The pool (for the profile store and the app's own queries).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

sql_state_store!(SqliteStore);
