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

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Why a store could not answer. saml-sp refuses the login (fails closed) when this happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing service is unreachable or timed out.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store is full of unexpired entries.
    #[error("store full: {capacity} unexpired entries")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
}

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        crate::Error::StoreUnavailable(e.to_string())
    }
}

/// A boxed, sendable future returned by store methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Remembers outstanding logins until they expire; each record can be taken exactly once.
///
/// The key is an issued AuthnRequest ID (for [`crate::ServiceProvider::consume`]) or an opaque
/// RelayState token whose value records the request ID and return path (for
/// [`crate::acs::Acs`]). `take` must be atomic (a Redis GETDEL, say): two instances taking the
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
}

type Entries = HashMap<(String, String), (DateTime<Utc>, String)>;

#[derive(Debug)]
struct Expiring {
    capacity: usize,
    map: Mutex<Entries>,
}

impl Expiring {
    fn new(capacity: usize) -> Self {
        Expiring {
            capacity,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries>, StoreError> {
        self.map
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store lock poisoned".into()))
    }

    /// Inserts if absent or expired. Purges expired entries when full; refuses when still full.
    fn insert_if_absent(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock()?;
        let k = (ns.to_owned(), key.to_owned());
        if map.get(&k).is_some_and(|(exp, _)| *exp > now) {
            return Ok(false);
        }
        if map.len() >= self.capacity {
            map.retain(|_, (exp, _)| *exp > now);
            if map.len() >= self.capacity {
                return Err(StoreError::Full {
                    capacity: self.capacity,
                });
            }
        }
        map.insert(k, (until, value.to_owned()));
        Ok(true)
    }

    fn take(&self, ns: &str, key: &str, now: DateTime<Utc>) -> Result<Option<String>, StoreError> {
        let mut map = self.lock()?;
        Ok(map
            .remove(&(ns.to_owned(), key.to_owned()))
            .filter(|(exp, _)| *exp > now)
            .map(|(_, v)| v))
    }

    fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// In-memory [`RequestStore`], bounded (default 100,000 entries) and expiring.
#[derive(Debug)]
pub struct MemoryRequestStore(Expiring);

impl Default for MemoryRequestStore {
    fn default() -> Self {
        MemoryRequestStore::with_capacity(100_000)
    }
}

impl MemoryRequestStore {
    /// A store holding at most `capacity` unexpired records.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryRequestStore(Expiring::new(capacity))
    }
    /// Entries currently held (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RequestStore for MemoryRequestStore {
    fn remember<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        value: &'a str,
        expires: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        // Keys are random, so a new one never collides with a live one; purging when full uses
        // the wall clock.
        let r = self
            .0
            .insert_if_absent(namespace, key, value, expires, Utc::now())
            .map(|_| ());
        Box::pin(std::future::ready(r))
    }
    fn take<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<String>> {
        Box::pin(std::future::ready(self.0.take(namespace, key, now)))
    }
}

/// In-memory [`ReplayCache`], bounded (default 100,000 entries) and expiring. When full of
/// unexpired entries it refuses (fails closed) rather than forgetting.
#[derive(Debug)]
pub struct MemoryReplayCache(Expiring);

impl Default for MemoryReplayCache {
    fn default() -> Self {
        MemoryReplayCache::with_capacity(100_000)
    }
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` unexpired assertion IDs.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryReplayCache(Expiring::new(capacity))
    }
}

impl ReplayCache for MemoryReplayCache {
    fn insert_if_absent<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(
            self.0.insert_if_absent(namespace, key, "", until, now),
        ))
    }
}
