//! The demo apps' database: SQLite by default (a file, no setup), PostgreSQL when
//! `DATABASE_URL` names one. Everything the demo keeps lives there: its users (just-in-time
//! provisioning, a `Provisioner` keyed by tenant and email), saml-sp's pending requests and
//! replay cache, the SSO profiles, and the signed-in sessions, so several demo instances on one
//! PostgreSQL behave as one app.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use saml_sp::login::{ProvisionError, Provisioner, SamlIdentity};
use saml_sp::logout::{ReceivedLogoutRequest, SessionRecord, SessionTerminator};
use saml_sp::store::postgres::PgStore;
use saml_sp::store::sqlite::SqliteStore;
use saml_sp::store::{ReplayCache, RequestStore};
use saml_sp::web::{NewSession, PgSessions, SessionBackend, SessionContext, SqliteSessions};

/// The demo's database.
#[derive(Clone)]
pub enum Db {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL server.
    Postgres(PgStore),
}

/// Runs `$body` with `$pool` bound to the database's pool, whichever it is.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite(s) => {
                let $pool = s.pool();
                $body
            }
            Db::Postgres(s) => {
                let $pool = s.pool();
                $body
            }
        }
    };
}

impl Db {
    /// PostgreSQL when `DATABASE_URL` is set; otherwise the SQLite file `SAML_SP_DB`, or a fresh
    /// one in the temporary directory. Applies saml-sp's migrations and creates the users table.
    pub async fn open() -> Result<Db, Box<dyn std::error::Error>> {
        let db = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => {
                let store = PgStore::connect(&url).await?;
                sqlx::query("CREATE TABLE IF NOT EXISTS demo_users (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL, first_name TEXT, last_name TEXT, groups_csv TEXT, UNIQUE (tenant, email))")
                    .execute(store.pool())
                    .await?;
                println!("database: PostgreSQL (DATABASE_URL)");
                Db::Postgres(store)
            }
            None => {
                let path = std::env::var("SAML_SP_DB")
                    .ok()
                    .filter(|p| !p.is_empty() && p != ":memory:")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| {
                        std::env::temp_dir().join(format!("saml-sp-demo-{}.db", std::process::id()))
                    });
                let store = SqliteStore::open(&path).await?;
                sqlx::query("CREATE TABLE IF NOT EXISTS demo_users (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL, first_name TEXT, last_name TEXT, groups_csv TEXT, UNIQUE (tenant, email))")
                    .execute(store.pool())
                    .await?;
                println!("database: SQLite {}", path.display());
                Db::Sqlite(store)
            }
        };
        db.spawn_cleanup();
        Ok(db)
    }

    /// The request store and replay cache.
    pub fn saml_stores(&self) -> (Arc<dyn RequestStore>, Arc<dyn ReplayCache>) {
        match self {
            Db::Sqlite(s) => (Arc::new(s.clone()), Arc::new(s.clone())),
            Db::Postgres(s) => (Arc::new(s.clone()), Arc::new(s.clone())),
        }
    }

    /// The SSO profiles.
    #[cfg(all(feature = "admin", feature = "dns"))]
    pub fn profile_store(&self) -> Arc<dyn saml_sp::profile::ProfileStore> {
        match self {
            Db::Sqlite(s) => Arc::new(saml_sp::profile::SqliteProfileStore::new(s.pool().clone())),
            Db::Postgres(s) => Arc::new(saml_sp::profile::PgProfileStore::new(s.pool().clone())),
        }
    }

    /// Keeps `service`'s registry in step with profiles saved by other instances: notifications
    /// on PostgreSQL, a check every 5 seconds on SQLite (and as PostgreSQL's fallback).
    #[cfg(all(feature = "admin", feature = "dns"))]
    pub fn follow(&self, service: Arc<saml_sp::profile::ProfileService>) {
        let every = Duration::from_secs(5);
        match self {
            Db::Sqlite(_) => drop(saml_sp::profile::follow(service, every)),
            Db::Postgres(s) => drop(saml_sp::profile::follow_postgres(
                service,
                s.pool().clone(),
                every,
            )),
        }
    }

    /// The signed-in sessions.
    pub fn sessions(&self) -> Sessions {
        match self {
            Db::Sqlite(s) => Sessions::Sqlite(SqliteSessions::new(s.pool().clone())),
            Db::Postgres(s) => Sessions::Postgres(PgSessions::new(s.pool().clone())),
        }
    }

    /// Expired requests, replay entries and sessions deleted once a minute, in batches.
    fn spawn_cleanup(&self) {
        let (db, sessions) = (self.clone(), self.sessions());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let now = chrono::Utc::now();
                let _ = match &db {
                    Db::Sqlite(s) => s.cleanup(now, 1000).await,
                    Db::Postgres(s) => s.cleanup(now, 1000).await,
                };
                let _ = match &sessions {
                    Sessions::Sqlite(s) => s.cleanup(now, 1000).await,
                    Sessions::Postgres(s) => s.cleanup(now, 1000).await,
                };
            }
        });
    }

    /// A user's email, first and last name, groups.
    pub async fn get(&self, id: i64) -> Option<(String, String, String, String)> {
        const SQL: &str =
            "SELECT email, first_name, last_name, groups_csv FROM demo_users WHERE id = $1";
        on_pool!(self, pool => sqlx::query_as(SQL).bind(id).fetch_optional(pool).await.ok()?)
    }
}

impl Provisioner for Db {
    type User = i64;
    async fn upsert(&self, tenant: &str, id: &SamlIdentity) -> Result<i64, ProvisionError> {
        const SQL: &str = "INSERT INTO demo_users (tenant, email, first_name, last_name, groups_csv) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, groups_csv = excluded.groups_csv RETURNING id";
        let groups = id.groups.join(", ");
        on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(tenant)
            .bind(&id.email)
            .bind(&id.first_name)
            .bind(&id.last_name)
            .bind(&groups)
            .fetch_one(pool)
            .await
            .map_err(|e| ProvisionError(e.to_string())))
    }
    async fn find(&self, tenant: &str, id: &SamlIdentity) -> Result<Option<i64>, ProvisionError> {
        const SQL: &str = "SELECT id FROM demo_users WHERE tenant = $1 AND email = $2";
        on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(tenant)
            .bind(&id.email)
            .fetch_optional(pool)
            .await
            .map_err(|e| ProvisionError(e.to_string())))
    }
}

/// The demo's sessions, in whichever database it uses.
pub enum Sessions {
    /// In SQLite.
    Sqlite(SqliteSessions<i64>),
    /// In PostgreSQL.
    Postgres(PgSessions<i64>),
}

impl SessionBackend<i64> for Sessions {
    async fn user(&self, cx: SessionContext<'_>) -> Option<i64> {
        match self {
            Sessions::Sqlite(s) => s.user(cx).await,
            Sessions::Postgres(s) => s.user(cx).await,
        }
    }
    async fn begin(
        &self,
        cx: SessionContext<'_>,
        session: NewSession<i64>,
        response: &mut HeaderMap,
    ) -> Result<(), saml_sp::Error> {
        match self {
            Sessions::Sqlite(s) => s.begin(cx, session, response).await,
            Sessions::Postgres(s) => s.begin(cx, session, response).await,
        }
    }
    async fn peek(&self, cx: SessionContext<'_>) -> Option<SessionRecord> {
        match self {
            Sessions::Sqlite(s) => SessionBackend::<i64>::peek(s, cx).await,
            Sessions::Postgres(s) => SessionBackend::<i64>::peek(s, cx).await,
        }
    }
    async fn end(&self, cx: SessionContext<'_>, response: &mut HeaderMap) -> Option<SessionRecord> {
        match self {
            Sessions::Sqlite(s) => SessionBackend::<i64>::end(s, cx, response).await,
            Sessions::Postgres(s) => SessionBackend::<i64>::end(s, cx, response).await,
        }
    }
}

impl SessionTerminator for Sessions {
    async fn end_sessions(
        &self,
        tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        match self {
            Sessions::Sqlite(s) => s.end_sessions(tenant, request).await,
            Sessions::Postgres(s) => s.end_sessions(tenant, request).await,
        }
    }
}
