//! The SAML state in PostgreSQL (feature `postgres`), for apps whose one server is their
//! database: outstanding requests, the replay cache and the logout log, with the same fail-closed
//! semantics as the in-memory and Redis stores. A request is taken with one `DELETE ...
//! RETURNING` (two instances taking it at once get it once between them); an assertion ID is
//! recorded with one `INSERT ... ON CONFLICT` (of concurrent inserts one wins); any database
//! error or timeout is [`StoreError::Unavailable`], which refuses the login.
//!
//! The schema is versioned: [`migrate`] applies what is missing (under an advisory lock, so
//! instances starting at once apply it once) and records each version in `saml_sp_migrations`;
//! an app with its own migration tool runs the files of `migrations/postgres/` in order instead
//! ([`MIGRATIONS`] holds them). Expired rows are removed by [`PgStore::cleanup`] in batches
//! through the `expires_ms` indexes, never on the login path.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::StoreError;
use super::sql::{schema_version, sql_state_store, unavailable};

/// The schema's migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/postgres/0001_saml_state.sql"),
    ),
    (
        2,
        include_str!("../../migrations/postgres/0002_sso_profiles.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_web_sessions.sql"),
    ),
];

/// The advisory lock key the migrations run under.
const MIGRATION_LOCK: i64 = 7_283_501;

/// Applies the migrations up to `target` (all with `None`) that the database does not have yet,
/// each in its own transaction, under an advisory lock. Returns the versions applied.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached or a migration fails (nothing
/// of that migration is applied).
pub async fn migrate(pool: &PgPool, target: Option<i64>) -> Result<Vec<i64>, StoreError> {
    let mut conn = pool.acquire().await.map_err(unavailable)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    let result = apply(&mut conn, target).await;
    let unlock = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await;
    let applied = result?;
    unlock.map_err(unavailable)?;
    Ok(applied)
}

/// The missing migrations, applied on `conn` (which holds the lock).
async fn apply(conn: &mut sqlx::PgConnection, target: Option<i64>) -> Result<Vec<i64>, StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS saml_sp_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM saml_sp_migrations")
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable)?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if done.contains(version) || target.is_some_and(|t| *version > t) {
            continue;
        }
        // One simple-protocol query: PostgreSQL runs its statements as one transaction, so a
        // migration is applied and recorded together or not at all.
        let script = format!(
            "{sql}\n;INSERT INTO saml_sp_migrations (version, applied_ms) VALUES ({version}, {})",
            Utc::now().timestamp_millis()
        );
        sqlx::Executor::execute(&mut *conn, script.as_str())
            .await
            .map_err(unavailable)?;
        applied.push(*version);
    }
    Ok(applied)
}

schema_version!(
    PgPool,
    "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'saml_sp_migrations')"
);

/// How [`PgStore`] connects: pool size and the time limits that make a slow database a fast,
/// fail-closed error instead of a hung login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgSettings {
    /// Connections in the pool (default 10).
    pub max_connections: u32,
    /// Longest wait for a connection, including connecting (default 5 s).
    pub acquire_timeout: Duration,
    /// Longest statement, enforced by the server (`statement_timeout`, default 5 s).
    pub statement_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

impl PgSettings {
    /// The pool these settings describe for `url` (`postgres://...`), not yet connected: it
    /// connects on first use, so an app starts while the database is down.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] for a URL that does not parse.
    pub fn pool(&self, url: &str) -> Result<PgPool, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(unavailable)?;
        let timeout = self.statement_timeout.as_millis().to_string();
        let options = options.options([("statement_timeout", timeout.as_str())]);
        Ok(PgPoolOptions::new()
            .max_connections(self.max_connections.max(1))
            .acquire_timeout(self.acquire_timeout)
            .connect_lazy_with(options))
    }
}

/// Requests, replay cache and logout log in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` with the default [`PgSettings`] and applies the migrations.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached now, or migrating fails.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgSettings::default().pool(url)?;
        migrate(&pool, None).await?;
        Ok(PgStore { pool })
    }

    /// Over a pool whose schema is migrated (the app's own, or [`PgSettings::pool`]'s, which
    /// starts while the database is down: every operation then fails closed until it is back).
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The pool (for the profile store, the app's own queries, [`migrate`]).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_state_store!(PgStore);
