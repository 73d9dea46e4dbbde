//! Signed-in sessions in the app's database (features `postgres` or `sqlite`, with `web`):
//! [`PgSessions`] and [`SqliteSessions`], a [`SessionBackend`] every app instance shares, so a
//! session started on one is read on the others and an IdP-initiated logout received by any of
//! them ends it everywhere (the [`SessionTerminator`] side finds sessions by their SAML subject).
//!
//! The cookie carries a random 256-bit token; the table keeps only its SHA-256 (a copy of the
//! table signs nobody in). A session lasts until the assertion's `SessionNotOnOrAfter` or the
//! maximum age (default 12 hours), whichever is first; `cleanup` deletes expired rows in
//! batches. A database that cannot be read reads as signed out (fail closed); one that cannot
//! be written fails the login with `store_unavailable`.

use chrono::{DateTime, Utc};
use http::HeaderMap;

use super::session::{
    NewSession, SessionBackend, SessionContext, clear_cookie_header, session_cookie_header,
    set_cookie, subject_key,
};
use crate::error::{Error, ProvisionError};
use crate::logout::{ReceivedLogoutRequest, SessionRecord, SessionTerminator};
use crate::store::StoreError;

/// At most this many sessions of one subject are ended by one logout request.
pub(crate) const MAX_SESSIONS_PER_SUBJECT: i64 = 10_000;

pub(crate) const SELECT_USER: &str =
    "SELECT user_json FROM saml_web_sessions WHERE token_sha256 = $1 AND expires_ms > $2";
pub(crate) const SELECT_RECORD: &str =
    "SELECT saml_record FROM saml_web_sessions WHERE token_sha256 = $1 AND expires_ms > $2";
pub(crate) const INSERT: &str = "INSERT INTO saml_web_sessions \
     (token_sha256, subject, user_json, saml_record, created_ms, expires_ms) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const DELETE: &str = "DELETE FROM saml_web_sessions WHERE token_sha256 = $1";
pub(crate) const DELETE_RETURNING: &str =
    "DELETE FROM saml_web_sessions WHERE token_sha256 = $1 RETURNING saml_record, expires_ms";
pub(crate) const BY_SUBJECT: &str =
    "SELECT token_sha256, saml_record FROM saml_web_sessions WHERE subject = $1 LIMIT $2";
pub(crate) const CLEANUP: &str = "DELETE FROM saml_web_sessions WHERE token_sha256 IN \
     (SELECT token_sha256 FROM saml_web_sessions WHERE expires_ms < $1 ORDER BY expires_ms LIMIT $2)";

/// The stored form of a cookie token.
pub(crate) fn token_digest(token: &str) -> String {
    use crate::xml::c14n::Sink as _;
    let mut h = crate::crypto::DigestAlgorithm::Sha256.hasher();
    h.write(token.as_bytes());
    crate::crypto::hex(&h.finish())
}

pub(crate) fn new_token() -> Result<String, Error> {
    let mut b = [0u8; 32];
    crate::crypto::random_bytes(&mut b)?;
    Ok(crate::crypto::hex(&b))
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::StoreUnavailable(StoreError::Unavailable(format!("session database: {e}")))
}

/// When a session started at `now` ends.
pub(crate) fn session_end(
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_age: chrono::Duration,
) -> DateTime<Utc> {
    let cap = now + max_age;
    expires.map_or(cap, |e| e.min(cap))
}

/// Implements the session backend for `$name`, a struct with `pool` and `max_age` fields.
macro_rules! sql_sessions {
    ($name:ident) => {
        impl<U> SessionBackend<U> for $name<U>
        where
            U: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        {
            async fn user(&self, cx: SessionContext<'_>) -> Option<U> {
                let token = cx.session_cookie()?;
                let json: Option<String> = sqlx::query_scalar(SELECT_USER)
                    .bind(token_digest(token))
                    .bind(cx.now.timestamp_millis())
                    .fetch_optional(&self.pool)
                    .await
                    .ok()?;
                serde_json::from_str(&json?).ok()
            }

            async fn begin(
                &self,
                cx: SessionContext<'_>,
                session: NewSession<U>,
                response: &mut HeaderMap,
            ) -> Result<(), Error> {
                // A fresh token for every login; the one the browser brought ends.
                if let Some(old) = cx.session_cookie() {
                    sqlx::query(DELETE)
                        .bind(token_digest(old))
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                }
                let token = new_token()?;
                let ends = session_end(session.expires, cx.now, self.max_age);
                let user = serde_json::to_string(&session.user).map_err(unavailable)?;
                let subject = session
                    .saml
                    .as_ref()
                    .map(|r| subject_key(&r.issuer, &r.name_id));
                sqlx::query(INSERT)
                    .bind(token_digest(&token))
                    .bind(subject)
                    .bind(user)
                    .bind(session.saml.as_ref().map(SessionRecord::encode))
                    .bind(cx.now.timestamp_millis())
                    .bind(ends.timestamp_millis())
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                let cookie = session_cookie_header(cx.settings, &token, Some(ends), cx.now);
                set_cookie(response, &cookie);
                Ok(())
            }

            async fn peek(&self, cx: SessionContext<'_>) -> Option<SessionRecord> {
                let token = cx.session_cookie()?;
                let record: Option<Option<String>> = sqlx::query_scalar(SELECT_RECORD)
                    .bind(token_digest(token))
                    .bind(cx.now.timestamp_millis())
                    .fetch_optional(&self.pool)
                    .await
                    .ok()?;
                SessionRecord::decode(&record??).ok()
            }

            async fn end(
                &self,
                cx: SessionContext<'_>,
                response: &mut HeaderMap,
            ) -> Option<SessionRecord> {
                let token = cx.session_cookie()?;
                set_cookie(response, &clear_cookie_header(cx.settings));
                let row: Option<(Option<String>, i64)> = sqlx::query_as(DELETE_RETURNING)
                    .bind(token_digest(token))
                    .fetch_optional(&self.pool)
                    .await
                    .ok()?;
                let (record, expires) = row?;
                if expires <= cx.now.timestamp_millis() {
                    return None;
                }
                SessionRecord::decode(&record?).ok()
            }
        }

        impl<U: Send + Sync> SessionTerminator for $name<U> {
            async fn end_sessions(
                &self,
                _tenant: &str,
                request: &ReceivedLogoutRequest,
            ) -> Result<usize, ProvisionError> {
                let fail = |e: sqlx::Error| ProvisionError(format!("session database: {e}"));
                let rows: Vec<(String, Option<String>)> = sqlx::query_as(BY_SUBJECT)
                    .bind(subject_key(&request.issuer, &request.name_id))
                    .bind(MAX_SESSIONS_PER_SUBJECT)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(fail)?;
                let mut ended = 0;
                for (digest, record) in rows {
                    let named = record
                        .as_deref()
                        .and_then(|r| SessionRecord::decode(r).ok())
                        .is_some_and(|r| request.ends(&r));
                    if named {
                        ended += sqlx::query(DELETE)
                            .bind(digest)
                            .execute(&self.pool)
                            .await
                            .map_err(fail)?
                            .rows_affected();
                    }
                }
                Ok(usize::try_from(ended).unwrap_or(usize::MAX))
            }
        }

        impl<U> $name<U> {
            /// Sessions last at most `max_age` (at least a minute), even without a
            /// `SessionNotOnOrAfter`.
            #[must_use]
            pub fn with_max_age(mut self, max_age: chrono::Duration) -> Self {
                self.max_age = max_age.max(chrono::Duration::minutes(1));
                self
            }

            /// Deletes up to `batch` sessions that ended before `now` (through the expiry index);
            /// returns how many went.
            ///
            /// # Errors
            /// [`StoreError::Unavailable`].
            pub async fn cleanup(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, StoreError> {
                sqlx::query(CLEANUP)
                    .bind(now.timestamp_millis())
                    .bind(i64::from(batch))
                    .execute(&self.pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| StoreError::Unavailable(format!("session database: {e}")))
            }
        }
    };
}

/// Sessions in PostgreSQL (features `postgres` and `web`), over a migrated pool.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgSessions<U> {
    pool: sqlx::PgPool,
    max_age: chrono::Duration,
    _user: std::marker::PhantomData<fn() -> U>,
}

#[cfg(feature = "postgres")]
impl<U> PgSessions<U> {
    /// Sessions in the database of `pool` (migrated), lasting at most 12 hours.
    pub fn new(pool: sqlx::PgPool) -> Self {
        PgSessions {
            pool,
            max_age: chrono::Duration::hours(12),
            _user: std::marker::PhantomData,
        }
    }
}

#[cfg(feature = "postgres")]
sql_sessions!(PgSessions);

/// Sessions in SQLite (features `sqlite` and `web`), over a migrated pool.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone)]
pub struct SqliteSessions<U> {
    pool: sqlx::SqlitePool,
    max_age: chrono::Duration,
    _user: std::marker::PhantomData<fn() -> U>,
}

#[cfg(feature = "sqlite")]
impl<U> SqliteSessions<U> {
    /// Sessions in the database of `pool` (migrated), lasting at most 12 hours.
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        SqliteSessions {
            pool,
            max_age: chrono::Duration::hours(12),
            _user: std::marker::PhantomData,
        }
    }
}

#[cfg(feature = "sqlite")]
sql_sessions!(SqliteSessions);
