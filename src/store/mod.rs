//! Stores: outstanding request IDs (taken exactly once) and the replay cache (assertion IDs
//! remembered until they expire).
//!
//! The traits are object-safe and async-friendly: methods return boxed futures, so
//! `Arc<dyn RequestStore>` works in any runtime. The in-memory implementations are bounded and
//! expire entries; they are right for a single instance. Several instances behind a load balancer
//! need a shared store.
//!
//! Keys are namespaced (per IdP configuration / tenant) by the caller, so one tenant's request can
//! never satisfy another's response.

mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

pub use crate::error::StoreError;
pub use memory::{MemoryLogoutLog, MemoryReplayCache, MemoryRequestStore};

/// A boxed, sendable future returned by store methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Remembers outstanding logins until they expire; each record can be taken exactly once.
///
/// The key is an issued AuthnRequest ID (for `ServiceProvider::consume`) or an opaque
/// RelayState token whose value records the request ID and return path (for
/// `login::Acs`). `take` must be atomic (a Redis GETDEL, say): two instances taking the
/// same key concurrently get it once between them.
pub trait RequestStore: std::fmt::Debug + Send + Sync {
    /// Remembers `key` with `value` in `namespace` until `expires`.
    fn remember<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        value: &'a str,
        expires: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;
    /// Atomically removes `key`, returning its value when it was present and not expired at `now`.
    fn take<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<String>>;
}

/// Remembers consumed assertion IDs until their deadline.
pub trait ReplayCache: std::fmt::Debug + Send + Sync {
    /// Inserts `key` in `namespace` until `until` if absent (or expired at `now`): `true` when
    /// inserted, `false` when it was already there (a replay).
    fn insert_if_absent<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool>;
    /// Whether `key` is in `namespace` and unexpired at `now`, without inserting it: how a post
    /// that cannot succeed (it holds no request record) tells a replay from an unknown request
    /// without spending an ID the genuine post still needs. The default answers `false` (such a
    /// post is then reported as an unknown request, and refused all the same).
    fn contains<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool> {
        let _ = (namespace, key, now);
        Box::pin(std::future::ready(Ok(false)))
    }
}

/// Logouts remembered for sessions the SP cannot reach by identity (sessions a session crate
/// keeps by random ID; see `web::Revocations`). Each key names a subject (an IdP's
/// NameID, one of its SessionIndexes, or one signed-out session) and maps to when it was logged
/// out. Shared through Redis, every app instance sees every logout.
pub trait LogoutLog: std::fmt::Debug + Send + Sync {
    /// Records that `key` was logged out at `at`, to be remembered until `until`.
    fn record<'a>(
        &'a self,
        key: &'a str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;
    /// The latest logout of any of `keys` still remembered at `now` (an implementation that had
    /// to forget entries early answers with the time up to which it forgot, so that sessions
    /// started before then count as logged out: fail closed).
    fn latest<'a>(
        &'a self,
        keys: &'a [String],
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>>;
}
