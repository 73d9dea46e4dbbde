//! Redis-backed stores (feature `redis`) for several app instances behind a load balancer: the
//! AuthnRequest may be issued by one instance and the Response posted to another, and a captured
//! Response replayed to two instances at once must be accepted once.
//!
//! - request records: `SET key value PXAT deadline`, taken with `GETDEL` (atomic, once);
//! - assertion IDs: `SET key 1 NX PXAT deadline` (insert-if-absent with expiry);
//! - keys are `<prefix>{<tenant>}:req:<key>` and `<prefix>{<tenant>}:replay:<key>`: the hash tag
//!   keeps one tenant's keys in one Redis Cluster slot;
//! - a [`redis::aio::ConnectionManager`] reconnects by itself; every command has a timeout;
//! - **fails closed**: any Redis error or timeout is [`StoreError::Unavailable`], which refuses
//!   the login (`store_unavailable`) rather than accepting it without replay protection.
//!
//! ```no_run
//! # async fn f() -> Result<(), saml_sp::store::StoreError> {
//! let store = saml_sp::store::redis::RedisStore::connect("redis://127.0.0.1:6379/", "myapp:saml:").await?;
//! let requests: std::sync::Arc<dyn saml_sp::store::RequestStore> = std::sync::Arc::new(store.clone());
//! let replay: std::sync::Arc<dyn saml_sp::store::ReplayCache> = std::sync::Arc::new(store);
//! # Ok(()) }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::store::{LogoutLog, ReplayCache, RequestStore, StoreError, StoreFuture};

/// A Redis connection implementing both [`RequestStore`] and [`ReplayCache`]. Cheap to clone
/// (clones share the connection).
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`), with keys under `prefix` and a 2-second
    /// timeout per command.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached now.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<RedisStore, StoreError> {
        Self::connect_with_timeout(url, prefix, Duration::from_secs(2)).await
    }

    /// As [`RedisStore::connect`] with a custom per-command timeout.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached now.
    pub async fn connect_with_timeout(
        url: &str,
        prefix: impl Into<String>,
        timeout: Duration,
    ) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = tokio::time::timeout(timeout, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| unavailable("connect timed out"))?
            .map_err(unavailable)?;
        Ok(RedisStore {
            conn,
            prefix: prefix.into(),
            timeout,
        })
    }

    fn key(&self, kind: &str, namespace: &str, key: &str) -> String {
        // `{namespace}` is a Redis Cluster hash tag: one tenant's keys share a slot.
        format!("{}{{{namespace}}}:{kind}:{key}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn))
            .await
            .map_err(|_| unavailable("command timed out"))?
            .map_err(unavailable)
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis().max(1)
}

impl RequestStore for RedisStore {
    fn remember<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        value: &'a str,
        expires: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.key("req", namespace, key))
                .arg(value)
                .arg("PXAT")
                .arg(millis(expires));
            self.run::<()>(cmd).await
        })
    }

    fn take<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GETDEL");
            cmd.arg(self.key("req", namespace, key));
            self.run::<Option<String>>(cmd).await
        })
    }
}

impl ReplayCache for RedisStore {
    fn insert_if_absent<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        until: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.key("replay", namespace, key))
                .arg(1)
                .arg("NX")
                .arg("PXAT")
                .arg(millis(until));
            let reply: Option<String> = self.run(cmd).await?;
            Ok(reply.is_some())
        })
    }

    fn contains<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(self.key("replay", namespace, key));
            let n: i64 = self.run(cmd).await?;
            Ok(n > 0)
        })
    }
}

impl LogoutLog for RedisStore {
    fn record<'a>(
        &'a self,
        key: &'a str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // Logouts are recorded at the receiving instance's "now": a later one wins.
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.key("logout", "sessions", key))
                .arg(at.timestamp_micros())
                .arg("PXAT")
                .arg(millis(until));
            self.run::<()>(cmd).await
        })
    }

    fn latest<'a>(
        &'a self,
        keys: &'a [String],
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(None);
            }
            let mut cmd = redis::cmd("MGET");
            for k in keys {
                cmd.arg(self.key("logout", "sessions", k));
            }
            let values = self.run::<Vec<Option<i64>>>(cmd).await?;
            Ok(values
                .into_iter()
                .flatten()
                .filter_map(DateTime::from_timestamp_micros)
                .max())
        })
    }
}
