//! The app's sessions as the web layer sees them: a small trait (keep your own store behind it)
//! and an in-memory implementation.

use std::collections::HashMap;
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

/// Sessions in memory (one process), at most 100,000: when full, expired sessions are purged
/// first, then one session is evicted (a session is only created by a verified login, so
/// filling it takes that many real logins).
#[derive(Debug)]
pub struct MemorySessions<U> {
    map: Mutex<HashMap<String, Entry<U>>>,
    capacity: usize,
}

impl<U> Default for MemorySessions<U> {
    fn default() -> Self {
        MemorySessions {
            map: Mutex::new(HashMap::new()),
            capacity: 100_000,
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
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= self.capacity {
                let now = Utc::now();
                m.retain(|_, (_, _, e)| e.is_none_or(|e| e > now));
                if m.len() >= self.capacity
                    && let Some(k) = m.keys().next().cloned()
                {
                    m.remove(&k);
                }
            }
            m.insert(token, (user, saml, expires));
        }
    }
    fn user(&self, token: &str, now: DateTime<Utc>) -> Option<U> {
        let m = self.map.lock().ok()?;
        let (u, _, e) = m.get(token)?;
        e.is_none_or(|e| e > now).then(|| u.clone())
    }
    fn remove(&self, token: &str) -> Option<SessionRecord> {
        self.map.lock().ok()?.remove(token).and_then(|(_, r, _)| r)
    }
}

impl<U: Send + Sync> SessionTerminator for MemorySessions<U> {
    async fn end_sessions(
        &self,
        _tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        let mut m = self
            .map
            .lock()
            .map_err(|_| ProvisionError("session lock poisoned".into()))?;
        let before = m.len();
        m.retain(|_, (_, r, _)| !r.as_ref().is_some_and(|r| request.ends(r)));
        Ok(before - m.len())
    }
}
