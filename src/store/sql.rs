//! What the SQL stores share: one set of statements, valid in PostgreSQL and SQLite alike
//! (instants as milliseconds since the epoch, upserts with `ON CONFLICT`, takes with `DELETE ...
//! RETURNING`), implemented for each database's pool by [`sql_state_store!`].

use chrono::{DateTime, TimeZone as _, Utc};

use super::StoreError;

/// A database error or timeout: the operation fails closed.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("database: {e}"))
}

/// An instant as stored.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored instant (out of range reads as the epoch's start, which is always expired).
pub(crate) fn instant(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// At most this many subject keys per logout-log read (the web layer asks with three).
pub(crate) const MAX_LOGOUT_KEYS: usize = 64;

pub(crate) const REMEMBER: &str = "INSERT INTO saml_requests (namespace, key, value, expires_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, key) DO UPDATE \
     SET value = excluded.value, expires_ms = excluded.expires_ms";
pub(crate) const TAKE: &str =
    "DELETE FROM saml_requests WHERE namespace = $1 AND key = $2 RETURNING value, expires_ms";
/// An expired entry is replaced; a live one is a replay. One statement: of concurrent inserts of
/// one ID exactly one changes a row.
pub(crate) const INSERT_IF_ABSENT: &str = "INSERT INTO saml_replay (namespace, key, expires_ms) \
     VALUES ($1, $2, $3) ON CONFLICT (namespace, key) DO UPDATE \
     SET expires_ms = excluded.expires_ms WHERE saml_replay.expires_ms <= $4";
pub(crate) const CONTAINS: &str =
    "SELECT count(*) FROM saml_replay WHERE namespace = $1 AND key = $2 AND expires_ms > $3";
pub(crate) const RECORD_LOGOUT: &str = "INSERT INTO saml_logouts (key, logged_out_ms, expires_ms) \
     VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET \
     logged_out_ms = CASE WHEN excluded.logged_out_ms > saml_logouts.logged_out_ms \
         THEN excluded.logged_out_ms ELSE saml_logouts.logged_out_ms END, \
     expires_ms = CASE WHEN excluded.expires_ms > saml_logouts.expires_ms \
         THEN excluded.expires_ms ELSE saml_logouts.expires_ms END";

/// The logout-log read for `n` keys (`$1` is now, `$2..` the keys).
pub(crate) fn latest_logout(n: usize) -> String {
    let list = (0..n)
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT max(logged_out_ms) FROM saml_logouts WHERE expires_ms > $1 AND key IN ({list})")
}

/// Clean-up statements: each deletes up to `$2` rows that expired before `$1`, found through
/// the table's `expires_ms` index.
pub(crate) const CLEANUP: [&str; 3] = [
    "DELETE FROM saml_requests WHERE (namespace, key) IN (SELECT namespace, key FROM saml_requests \
     WHERE expires_ms < $1 ORDER BY expires_ms LIMIT $2)",
    "DELETE FROM saml_replay WHERE (namespace, key) IN (SELECT namespace, key FROM saml_replay \
     WHERE expires_ms < $1 ORDER BY expires_ms LIMIT $2)",
    "DELETE FROM saml_logouts WHERE key IN (SELECT key FROM saml_logouts \
     WHERE expires_ms < $1 ORDER BY expires_ms LIMIT $2)",
];

/// Defines `schema_version` for a pool type `$pool`, given the statement that says whether the
/// migrations table exists.
macro_rules! schema_version {
    ($pool:ty, $exists:expr) => {
        /// The schema version the database has (0 for none).
        ///
        /// # Errors
        /// [`StoreError::Unavailable`].
        pub async fn schema_version(pool: &$pool) -> Result<i64, StoreError> {
            let exists: bool = sqlx::query_scalar($exists)
                .fetch_one(pool)
                .await
                .map_err(unavailable)?;
            if !exists {
                return Ok(0);
            }
            let v: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM saml_sp_migrations")
                .fetch_one(pool)
                .await
                .map_err(unavailable)?;
            Ok(v.unwrap_or(0))
        }
    };
}
pub(crate) use schema_version;

/// Implements the request store, the replay cache, the logout log and `cleanup` for `$store`,
/// a struct with a `pool` field of an sqlx pool.
macro_rules! sql_state_store {
    ($store:ident) => {
        impl $store {
            /// Deletes up to `batch` rows that expired before `now` from each table (through
            /// their `expires_ms` indexes, never a full scan); returns how many went. Run it from
            /// a periodic task, never on the login path.
            ///
            /// # Errors
            /// [`StoreError::Unavailable`].
            pub async fn cleanup(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, StoreError> {
                let mut removed = 0;
                for sql in $crate::store::sql::CLEANUP {
                    removed += sqlx::query(sql)
                        .bind($crate::store::sql::ms(now))
                        .bind(i64::from(batch))
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?
                        .rows_affected();
                }
                Ok(removed)
            }
        }

        impl $crate::store::RequestStore for $store {
            fn remember<'a>(
                &'a self,
                namespace: &'a str,
                key: &'a str,
                value: &'a str,
                expires: DateTime<Utc>,
            ) -> $crate::store::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query($crate::store::sql::REMEMBER)
                        .bind(namespace)
                        .bind(key)
                        .bind(value)
                        .bind($crate::store::sql::ms(expires))
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?;
                    Ok(())
                })
            }

            fn take<'a>(
                &'a self,
                namespace: &'a str,
                key: &'a str,
                now: DateTime<Utc>,
            ) -> $crate::store::StoreFuture<'a, Option<String>> {
                Box::pin(async move {
                    let row: Option<(String, i64)> = sqlx::query_as($crate::store::sql::TAKE)
                        .bind(namespace)
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?;
                    Ok(row.and_then(|(v, expires)| {
                        (expires > $crate::store::sql::ms(now)).then_some(v)
                    }))
                })
            }
        }

        impl $crate::store::ReplayCache for $store {
            fn insert_if_absent<'a>(
                &'a self,
                namespace: &'a str,
                key: &'a str,
                until: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> $crate::store::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let changed = sqlx::query($crate::store::sql::INSERT_IF_ABSENT)
                        .bind(namespace)
                        .bind(key)
                        .bind($crate::store::sql::ms(until))
                        .bind($crate::store::sql::ms(now))
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?
                        .rows_affected();
                    Ok(changed == 1)
                })
            }

            fn contains<'a>(
                &'a self,
                namespace: &'a str,
                key: &'a str,
                now: DateTime<Utc>,
            ) -> $crate::store::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let n: i64 = sqlx::query_scalar($crate::store::sql::CONTAINS)
                        .bind(namespace)
                        .bind(key)
                        .bind($crate::store::sql::ms(now))
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?;
                    Ok(n > 0)
                })
            }
        }

        impl $crate::store::LogoutLog for $store {
            fn record<'a>(
                &'a self,
                key: &'a str,
                at: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> $crate::store::StoreFuture<'a, ()> {
                Box::pin(async move {
                    sqlx::query($crate::store::sql::RECORD_LOGOUT)
                        .bind(key)
                        .bind($crate::store::sql::ms(at))
                        .bind($crate::store::sql::ms(until))
                        .execute(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?;
                    Ok(())
                })
            }

            fn latest<'a>(
                &'a self,
                keys: &'a [String],
                now: DateTime<Utc>,
            ) -> $crate::store::StoreFuture<'a, Option<DateTime<Utc>>> {
                Box::pin(async move {
                    if keys.is_empty() {
                        return Ok(None);
                    }
                    if keys.len() > $crate::store::sql::MAX_LOGOUT_KEYS {
                        return Err(StoreError::Unavailable(format!(
                            "logout log read with {} keys (at most {})",
                            keys.len(),
                            $crate::store::sql::MAX_LOGOUT_KEYS
                        )));
                    }
                    let sql = $crate::store::sql::latest_logout(keys.len());
                    let mut q = sqlx::query_scalar::<_, Option<i64>>(&sql)
                        .bind($crate::store::sql::ms(now));
                    for k in keys {
                        q = q.bind(k.as_str());
                    }
                    let latest = q
                        .fetch_one(&self.pool)
                        .await
                        .map_err($crate::store::sql::unavailable)?;
                    Ok(latest.map($crate::store::sql::instant))
                })
            }
        }
    };
}
pub(crate) use sql_state_store;
