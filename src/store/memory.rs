//! In-memory stores for a single instance: bounded, expiring, O(log n) per operation.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{ReplayCache, RequestStore, StoreError, StoreFuture};

/// What to do when an [`Expiring`] map is full of unexpired entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenFull {
    /// Refuse the insert (the replay cache: forgetting an assertion ID would allow a replay).
    Refuse,
    /// Evict the entry closest to expiry (the request store: an attacker who floods login starts
    /// can push out pending logins, oldest first, but never lock new ones out).
    EvictOldest,
}

/// A namespaced key: (namespace, key).
type Key = (String, String);
/// A heap item: (expiry, insertion sequence, key), ordered earliest first through `Reverse`.
type HeapItem = Reverse<(DateTime<Utc>, u64, Key)>;

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    /// (expiry, insertion sequence, key), earliest first. An entry taken or replaced leaves a stale
    /// heap item behind, recognised by its sequence number and dropped when it surfaces.
    heap: BinaryHeap<HeapItem>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    expires: DateTime<Utc>,
    seq: u64,
    value: String,
}

impl Entries {
    /// Removes the earliest-expiring live entry if it expires at or before `limit` (any when
    /// `limit` is `None`). Amortized O(log n): every heap item is pushed and popped once.
    fn pop_earliest(&mut self, limit: Option<DateTime<Utc>>) -> bool {
        while let Some(Reverse((expires, seq, _))) = self.heap.peek() {
            if limit.is_some_and(|l| *expires > l) {
                return false;
            }
            let (expires, seq) = (*expires, *seq);
            let Some(Reverse((_, _, key))) = self.heap.pop() else {
                return false;
            };
            if self
                .map
                .get(&key)
                .is_some_and(|e| e.seq == seq && e.expires == expires)
            {
                self.map.remove(&key);
                return true;
            }
        }
        false
    }

    /// Drops stale heap items when they outnumber live entries, so the heap stays O(capacity).
    fn compact(&mut self) {
        if self.heap.len() > 2 * self.map.len() + 64 {
            self.heap = self
                .map
                .iter()
                .map(|(k, e)| Reverse((e.expires, e.seq, k.clone())))
                .collect();
        }
    }
}

/// A bounded map of expiring entries. Every operation is O(log n) amortized: expired entries are
/// purged from the front of an expiry-ordered heap, never by scanning the map.
#[derive(Debug)]
struct Expiring {
    capacity: usize,
    when_full: WhenFull,
    map: Mutex<Entries>,
}

impl Expiring {
    fn new(capacity: usize, when_full: WhenFull) -> Self {
        Expiring {
            capacity,
            when_full,
            map: Mutex::new(Entries::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries>, StoreError> {
        self.map
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store lock poisoned".into()))
    }

    /// Whether `key` is present and unexpired at `now`.
    fn contains(&self, ns: &str, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let entries = self.lock()?;
        Ok(entries
            .map
            .get(&(ns.to_owned(), key.to_owned()))
            .is_some_and(|e| e.expires > now))
    }

    /// Inserts if absent or expired: `true` when inserted. Purges expired entries first; when
    /// still full, refuses or evicts the entry closest to expiry, as configured.
    fn insert_if_absent(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut entries = self.lock()?;
        let k = (ns.to_owned(), key.to_owned());
        if entries.map.get(&k).is_some_and(|e| e.expires > now) {
            return Ok(false);
        }
        while entries.pop_earliest(Some(now)) {}
        if entries.map.len() >= self.capacity && !entries.map.contains_key(&k) {
            match self.when_full {
                WhenFull::Refuse => {
                    return Err(StoreError::Full {
                        capacity: self.capacity,
                    });
                }
                WhenFull::EvictOldest => {
                    entries.pop_earliest(None);
                }
            }
        }
        let seq = entries.next_seq;
        entries.next_seq += 1;
        entries.heap.push(Reverse((until, seq, k.clone())));
        entries.map.insert(
            k,
            Entry {
                expires: until,
                seq,
                value: value.to_owned(),
            },
        );
        entries.compact();
        Ok(true)
    }

    fn take(&self, ns: &str, key: &str, now: DateTime<Utc>) -> Result<Option<String>, StoreError> {
        let mut entries = self.lock()?;
        let taken = entries
            .map
            .remove(&(ns.to_owned(), key.to_owned()))
            .filter(|e| e.expires > now)
            .map(|e| e.value);
        entries.compact();
        Ok(taken)
    }

    fn len(&self) -> usize {
        self.map.lock().map(|m| m.map.len()).unwrap_or(0)
    }
}

/// In-memory [`RequestStore`], bounded (default 100,000 entries) and expiring.
///
/// When full of unexpired records it evicts the one closest to expiry (the oldest, as every
/// record gets the same lifetime) rather than refusing: anyone can start logins, so a store that
/// refused when full would let anyone lock every user out. Each operation is O(log n). A flood of
/// login starts still pushes out pending logins: at `R` starts per second a pending login survives
/// `capacity / R` seconds (100,000 / 1,000 per second = 100 s), so a deployment rate-limits the
/// login-start endpoint per client at its edge (a few per minute per address is plenty).
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
        MemoryRequestStore(Expiring::new(capacity, WhenFull::EvictOldest))
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

/// In-memory [`ReplayCache`], bounded (default 1,000,000 entries) and expiring. When full of
/// unexpired entries it refuses (fails closed, `store_unavailable`) rather than forgetting.
///
/// An entry lives as long as its assertion could be replayed (the bearer NotOnOrAfter, at most
/// IssueInstant + the maximum response age, plus skew): with the common 5-minute assertions the
/// default holds a sustained 3,300 logins per second per instance (the load test filled the
/// former 100,000 at 370 per second); an entry costs about 150 bytes.
#[derive(Debug)]
pub struct MemoryReplayCache(Expiring);

impl Default for MemoryReplayCache {
    fn default() -> Self {
        MemoryReplayCache::with_capacity(1_000_000)
    }
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` unexpired assertion IDs.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryReplayCache(Expiring::new(capacity, WhenFull::Refuse))
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

    fn contains<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(std::future::ready(self.0.contains(namespace, key, now)))
    }
}

/// An in-memory [`LogoutLog`](super::LogoutLog) (one process), at most `capacity` entries
/// (default 100,000): when full, the oldest entry is dropped and every session started before
/// it counts as logged out (fail closed: a logout is never forgotten, at worst some users sign
/// in again). Entries are dropped once their `until` passes.
///
/// A new log knows nothing of the logouts before it was created (an app restart): every session
/// that started before then counts as logged out, so a copied cookie of a user who signed out
/// before the restart does not sign anyone in again. Users with cookie-held sessions sign in
/// again after a restart; a shared, persistent log (Redis) keeps them signed in.
#[derive(Debug)]
pub struct MemoryLogoutLog {
    inner: std::sync::Mutex<LogoutInner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct LogoutInner {
    /// key -> (logged out at, remembered until)
    map: std::collections::HashMap<String, (DateTime<Utc>, DateTime<Utc>)>,
    /// Keys by insertion, with their `until` (oldest first).
    order: std::collections::VecDeque<(String, DateTime<Utc>)>,
    /// Sessions started at or before this count as logged out.
    floor: Option<DateTime<Utc>>,
}

impl Default for MemoryLogoutLog {
    fn default() -> Self {
        MemoryLogoutLog::with_capacity(100_000)
    }
}

impl MemoryLogoutLog {
    /// At most `capacity` entries, created now (system clock).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryLogoutLog::with_capacity_since(capacity, Utc::now())
    }

    /// At most `capacity` entries, created at `created`: sessions started at or before then
    /// count as logged out.
    pub fn with_capacity_since(capacity: usize, created: DateTime<Utc>) -> Self {
        MemoryLogoutLog {
            inner: std::sync::Mutex::new(LogoutInner {
                floor: Some(created),
                ..LogoutInner::default()
            }),
            capacity: capacity.max(1),
        }
    }

    /// How many entries are remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.map.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl super::LogoutLog for MemoryLogoutLog {
    fn record<'a>(
        &'a self,
        key: &'a str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut g = self
                .inner
                .lock()
                .map_err(|_| StoreError::Unavailable("logout log lock poisoned".into()))?;
            // Expired entries first; `order` may hold stale entries for keys recorded again,
            // which are skipped.
            while let Some((k, u)) = g.order.front() {
                if *u > at {
                    break;
                }
                let k = k.clone();
                g.order.pop_front();
                if g.map.get(&k).is_some_and(|(_, mu)| *mu <= at) {
                    g.map.remove(&k);
                }
            }
            let latest = g.map.get(key).map_or(at, |(prev, _)| (*prev).max(at));
            g.map.insert(key.to_owned(), (latest, until));
            g.order.push_back((key.to_owned(), until));
            while g.map.len() > self.capacity {
                let Some((k, u)) = g.order.pop_front() else {
                    break;
                };
                if g.map.get(&k).is_some_and(|(_, mu)| *mu == u)
                    && let Some((dropped_at, _)) = g.map.remove(&k)
                {
                    g.floor = Some(g.floor.map_or(dropped_at, |f| f.max(dropped_at)));
                }
            }
            if g.order.len() > 2 * self.capacity {
                let LogoutInner { map, order, .. } = &mut *g;
                order.retain(|(k, u)| map.get(k).is_some_and(|(_, mu)| mu == u));
            }
            Ok(())
        })
    }

    fn latest<'a>(
        &'a self,
        keys: &'a [String],
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(async move {
            let g = self
                .inner
                .lock()
                .map_err(|_| StoreError::Unavailable("logout log lock poisoned".into()))?;
            let found = keys
                .iter()
                .filter_map(|k| g.map.get(k))
                .filter(|(_, until)| *until > now)
                .map(|(at, _)| *at)
                .max();
            Ok(match (found, g.floor) {
                (Some(a), Some(f)) => Some(a.max(f)),
                (a, f) => a.or(f),
            })
        })
    }
}
