//! The app's sessions as the web layer sees them: a small trait (keep your own store behind it)
//! and an in-memory implementation.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::login::provision::ProvisionError;
use crate::logout::{ReceivedLogoutRequest, SessionRecord, SessionTerminator};

/// Where the app's signed-in sessions live. [`crate::web::SamlWeb`] creates one after each
/// login under a fresh random token (never the one the browser brought: no fixation), reads it on
/// each request, and ends it at logout; the `SessionTerminator` side ends the sessions an
/// IdP-initiated logout names.
pub trait SessionBackend<U>: SessionTerminator {
    /// Stores a new session for `user` under `token` until `expires` (the assertion's
    /// SessionNotOnOrAfter, when the IdP sent one).
    fn insert(
        &self,
        token: String,
        user: U,
        saml: Option<SessionRecord>,
        expires: Option<DateTime<Utc>>,
    );
    /// The user of the session `token`, if it exists and has not expired at `now`.
    fn user(&self, token: &str, now: DateTime<Utc>) -> Option<U>;
    /// Ends the session `token`, returning its SAML session (for Single Logout).
    fn remove(&self, token: &str) -> Option<SessionRecord>;
}

type Entry<U> = (U, Option<SessionRecord>, Option<DateTime<Utc>>);

/// Sessions in memory (one process), at most 100,000 by default: when full, the oldest session
/// ends (a session is only created by a verified login, so filling it takes that many real
/// logins; an app with more concurrent users keeps its sessions in its own store behind
/// [`SessionBackend`]).
#[derive(Debug)]
pub struct MemorySessions<U> {
    inner: Mutex<Inner<U>>,
    capacity: usize,
}

#[derive(Debug)]
struct Inner<U> {
    map: HashMap<String, Entry<U>>,
    /// Tokens in creation order (some already removed): the oldest session is evicted first.
    order: VecDeque<String>,
}

impl<U> Default for MemorySessions<U> {
    fn default() -> Self {
        MemorySessions::with_capacity(100_000)
    }
}

impl<U> MemorySessions<U> {
    /// At most `capacity` sessions; when full, the oldest is ended to make room.
    pub fn with_capacity(capacity: usize) -> Self {
        MemorySessions {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
            capacity: capacity.max(1),
        }
    }
}

impl<U: Clone + Send + Sync + 'static> SessionBackend<U> for MemorySessions<U> {
    fn insert(
        &self,
        token: String,
        user: U,
        saml: Option<SessionRecord>,
        expires: Option<DateTime<Utc>>,
    ) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let Inner { map, order } = &mut *g;
        // Full: end the oldest session (O(1) amortized; never the one just created, never a
        // scan of every session per login).
        while map.len() >= self.capacity {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
        order.push_back(token.clone());
        map.insert(token, (user, saml, expires));
        // Tokens of sessions ended by logout linger in `order`; drop them when they dominate.
        if order.len() > 2 * self.capacity {
            order.retain(|t| map.contains_key(t));
        }
    }
    fn user(&self, token: &str, now: DateTime<Utc>) -> Option<U> {
        let g = self.inner.lock().ok()?;
        let (u, _, e) = g.map.get(token)?;
        e.is_none_or(|e| e > now).then(|| u.clone())
    }
    fn remove(&self, token: &str) -> Option<SessionRecord> {
        self.inner
            .lock()
            .ok()?
            .map
            .remove(token)
            .and_then(|(_, r, _)| r)
    }
}

impl<U: Send + Sync> SessionTerminator for MemorySessions<U> {
    async fn end_sessions(
        &self,
        _tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        let mut g = self
            .inner
            .lock()
            .map_err(|_| ProvisionError("session lock poisoned".into()))?;
        let before = g.map.len();
        g.map
            .retain(|_, (_, r, _)| !r.as_ref().is_some_and(|r| request.ends(r)));
        Ok(before - g.map.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_store_ends_the_oldest_session_never_the_newest() {
        let s = MemorySessions::with_capacity(3);
        let now = Utc::now();
        for t in ["a", "b", "c"] {
            s.insert(t.into(), t.to_owned(), None, None);
        }
        // A logged-out session leaves a stale token in the order; it is skipped.
        assert_eq!(s.remove("b"), None);
        s.insert("d".into(), "d".into(), None, None);
        assert_eq!(
            s.user("a", now).as_deref(),
            Some("a"),
            "room was left by the logout"
        );
        s.insert("e".into(), "e".into(), None, None);
        assert_eq!(s.user("a", now), None, "the oldest ends first");
        for t in ["c", "d", "e"] {
            assert_eq!(s.user(t, now).as_deref(), Some(t));
        }
        // Many more logins than the capacity: always the newest three, order bounded.
        for i in 0..1000 {
            s.insert(format!("t{i}"), format!("t{i}"), None, None);
            assert_eq!(s.user(&format!("t{i}"), now), Some(format!("t{i}")));
        }
        let g = s.inner.lock().unwrap();
        assert_eq!(g.map.len(), 3);
        assert!(g.order.len() <= 6);
    }
}
