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

/// Remembers issued AuthnRequest IDs until they expire; each can be taken exactly once.
pub trait RequestStore: std::fmt::Debug + Send + Sync {
    /// Remembers `request_id` in `namespace` until `expires`.
    fn remember<'a>(
        &'a self,
        namespace: &'a str,
        request_id: &'a str,
        expires: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;
    /// Atomically removes `request_id`; `true` when it was present and not expired at `now`.
    fn take<'a>(
        &'a self,
        namespace: &'a str,
        request_id: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool>;
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

type Entries = HashMap<(String, String), DateTime<Utc>>;

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

    /// Inserts if absent or expired. Purges expired entries when full.
    fn insert_if_absent(
        &self,
        ns: &str,
        key: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock()?;
        let k = (ns.to_owned(), key.to_owned());
        if map.get(&k).is_some_and(|&exp| exp > now) {
            return Ok(false);
        }
        if map.len() >= self.capacity {
            map.retain(|_, exp| *exp > now);
            if map.len() >= self.capacity {
                return Err(StoreError::Full {
                    capacity: self.capacity,
                });
            }
        }
        map.insert(k, until);
        Ok(true)
    }

    fn take(&self, ns: &str, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut map = self.lock()?;
        Ok(map
            .remove(&(ns.to_owned(), key.to_owned()))
            .is_some_and(|exp| exp > now))
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
    /// A store holding at most `capacity` unexpired request IDs.
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
        request_id: &'a str,
        expires: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        // A new request never collides with a live one (IDs are random), so "now" is only used
        // to purge: expired entries are those before `expires` minus any lifetime; use the
        // earliest sensible instant.
        let r = self
            .0
            .insert_if_absent(namespace, request_id, expires, DateTime::<Utc>::MIN_UTC)
            .map(|_| ());
        Box::pin(std::future::ready(r))
    }
    fn take<'a>(
        &'a self,
        namespace: &'a str,
        request_id: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(self.0.take(namespace, request_id, now)))
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
            self.0.insert_if_absent(namespace, key, until, now),
        ))
    }
}
