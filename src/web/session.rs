//! The app's sessions as the web layer sees them: a small per-request trait (keep your own store
//! behind it), the in-memory cookie store, and the revocation list that lets sessions held by a
//! framework's session crate (`tower-sessions`, `actix-session`) end on an IdP-initiated logout.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use http::{HeaderMap, header};

use super::WebSettings;
use crate::error::Error;
use crate::error::ProvisionError;
use crate::logout::{ReceivedLogoutRequest, SessionRecord, SessionTerminator};
use crate::sp::assertion::NameId;
use crate::store::{LogoutLog, MemoryLogoutLog, StoreError};
use crate::xml::c14n::Sink as _;

/// What the session side of one request sees: its headers (cookies), its extensions (where a
/// session crate's middleware puts its handle), the endpoint settings, and the time.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SessionContext<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The request's extensions.
    pub extensions: &'a http::Extensions,
    /// The endpoints' settings (cookie name, `Secure`).
    pub settings: &'a WebSettings,
    /// Now.
    pub now: DateTime<Utc>,
}

impl<'a> SessionContext<'a> {
    /// A context for a request's `headers` and `extensions`.
    pub fn new(
        headers: &'a HeaderMap,
        extensions: &'a http::Extensions,
        settings: &'a WebSettings,
        now: DateTime<Utc>,
    ) -> Self {
        SessionContext {
            headers,
            extensions,
            settings,
            now,
        }
    }

    /// The value of the settings' session cookie in the request, if any.
    pub fn session_cookie(&self) -> Option<&'a str> {
        super::cookie(self.headers, &self.settings.cookie)
    }
}

/// A session to start after a verified login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewSession<U> {
    /// The app's user (what the [`crate::login::Provisioner`] returned).
    pub user: U,
    /// What Single Logout needs later (NameID, SessionIndex).
    pub saml: Option<SessionRecord>,
    /// The assertion's `SessionNotOnOrAfter`: the session must end by then.
    pub expires: Option<DateTime<Utc>>,
}

/// Where the app's signed-in sessions live, seen one request at a time. [`crate::web::SamlWeb`]
/// starts one after each login (always under a fresh ID: a session ID the browser brought is
/// never kept, so no fixation), reads it on each request, and ends it at sign-out; the
/// [`SessionTerminator`] side ends the sessions an IdP-initiated logout names.
///
/// Implementations: [`MemorySessions`] (a cookie and an in-memory map),
/// `saml_sp::web::tower_sessions::TowerSessions` (feature `tower-sessions`) and
/// `saml_sp::web::actix::ActixSessions` (feature `actix-session`). An app's own store uses the
/// helpers [`SessionContext::session_cookie`], [`session_cookie_header`] and
/// [`clear_cookie_header`].
pub trait SessionBackend<U>: SessionTerminator {
    /// The user of this request's session, if it exists and has not expired at `cx.now`.
    fn user(&self, cx: SessionContext<'_>) -> impl Future<Output = Option<U>> + Send;
    /// Starts a fresh session for a verified login (ending the request's current one), adding
    /// any `Set-Cookie` to `response`.
    ///
    /// # Errors
    /// When the session cannot be stored; the login then fails with that error.
    fn begin(
        &self,
        cx: SessionContext<'_>,
        session: NewSession<U>,
        response: &mut HeaderMap,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// The SAML record of this request's live session, without ending it (the sign-out route
    /// checks that the session belongs to its tenant first). The default knows none, so a
    /// backend that does not implement it skips that check; the sign-out still goes through
    /// the session's own IdP.
    fn peek(&self, cx: SessionContext<'_>) -> impl Future<Output = Option<SessionRecord>> + Send {
        let _ = cx;
        std::future::ready(None)
    }
    /// Ends this request's session (sign-out), returning its SAML record for Single Logout.
    /// A backend adds a cookie-clearing `Set-Cookie` only when the request brought a session
    /// cookie (a request without one must not disturb anything).
    fn end(
        &self,
        cx: SessionContext<'_>,
        response: &mut HeaderMap,
    ) -> impl Future<Output = Option<SessionRecord>> + Send;
}

/// The `Set-Cookie` value for a session token: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// when the settings say so, and a `Max-Age` reaching `expires` when given.
pub fn session_cookie_header(
    settings: &WebSettings,
    token: &str,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let secure = if settings.is_secure() { "; Secure" } else { "" };
    let max_age = expires
        .map(|e| format!("; Max-Age={}", (e - now).num_seconds().max(0)))
        .unwrap_or_default();
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax{secure}{max_age}",
        settings.cookie
    )
}

/// The `Set-Cookie` value that deletes the session cookie (with the attributes it was set
/// with).
pub fn clear_cookie_header(settings: &WebSettings) -> String {
    let secure = if settings.is_secure() { "; Secure" } else { "" };
    format!(
        "{}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}",
        settings.cookie
    )
}

pub(super) fn set_cookie(response: &mut HeaderMap, value: &str) {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        response.append(header::SET_COOKIE, v);
    }
}

type Entry<U> = (U, Option<SessionRecord>, Option<DateTime<Utc>>);

/// Sessions in memory (one process) under a random cookie token, at most 100,000 by default:
/// when full, the oldest session ends (a session is only created by a verified login, so filling
/// it takes that many real logins; an app with more concurrent users, or several instances,
/// keeps its sessions in a session crate's store or its own behind [`SessionBackend`]).
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

    fn insert(&self, token: String, entry: Entry<U>) {
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
        map.insert(token, entry);
        // Tokens of sessions ended by logout linger in `order`; drop them when they dominate.
        if order.len() > 2 * self.capacity {
            order.retain(|t| map.contains_key(t));
        }
    }

    fn remove(&self, token: &str) -> Option<Entry<U>> {
        self.inner.lock().ok()?.map.remove(token)
    }
}

impl<U: Clone + Send + Sync + 'static> SessionBackend<U> for MemorySessions<U> {
    async fn user(&self, cx: SessionContext<'_>) -> Option<U> {
        let token = cx.session_cookie()?;
        let g = self.inner.lock().ok()?;
        let (u, _, e) = g.map.get(token)?;
        e.is_none_or(|e| e > cx.now).then(|| u.clone())
    }

    async fn begin(
        &self,
        cx: SessionContext<'_>,
        session: NewSession<U>,
        response: &mut HeaderMap,
    ) -> Result<(), Error> {
        // A fresh token for every login: a token the browser brought is never reused.
        if let Some(old) = cx.session_cookie() {
            self.remove(old);
        }
        let mut b = [0u8; 32];
        crate::crypto::random_bytes(&mut b)?;
        let token = crate::crypto::hex(&b);
        let cookie = session_cookie_header(cx.settings, &token, session.expires, cx.now);
        self.insert(token, (session.user, session.saml, session.expires));
        set_cookie(response, &cookie);
        Ok(())
    }

    async fn peek(&self, cx: SessionContext<'_>) -> Option<SessionRecord> {
        let token = cx.session_cookie()?;
        let g = self.inner.lock().ok()?;
        let (_, r, e) = g.map.get(token)?;
        e.is_none_or(|e| e > cx.now).then(|| r.clone()).flatten()
    }

    async fn end(&self, cx: SessionContext<'_>, response: &mut HeaderMap) -> Option<SessionRecord> {
        let token = cx.session_cookie()?;
        set_cookie(response, &clear_cookie_header(cx.settings));
        self.remove(token).and_then(|(_, r, _)| r)
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

/// IdP-initiated logouts remembered, for sessions the SP cannot reach by identity: a session
/// crate keeps its sessions by random ID (often in a signed cookie), so the LogoutRequest's
/// NameID cannot find them. Instead each LogoutRequest is recorded in a [`LogoutLog`], and a
/// session whose SAML record it names, started before the request arrived, counts as ended the
/// next time it is read ([`Revocations::ends`]). Sign-outs of sessions that may live on in a
/// copied cookie are recorded the same way ([`Revocations::sign_out`]).
///
/// The log is in memory by default ([`MemoryLogoutLog`]: one process, bounded, fail closed when
/// full); with several app instances, give every instance the same shared log
/// (`saml_sp::store::redis::RedisStore` implements [`LogoutLog`]), so that the instance that
/// receives the IdP's LogoutRequest ends the session wherever it is read next.
///
/// Sessions kept with a revocation list last at most [`Revocations::max_session_age`] (default
/// 12 hours; the adapters give the session crate that expiry): a logout is remembered that long
/// and no longer. A log that cannot be read ends the session (fail closed).
#[derive(Debug, Clone)]
pub struct Revocations {
    log: Arc<dyn LogoutLog>,
    max_session_age: chrono::Duration,
    clock: Arc<dyn crate::time::Clock>,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations::new(
            Arc::new(MemoryLogoutLog::default()),
            chrono::Duration::hours(12),
        )
    }
}

/// The log key of a NameID of an IdP: a digest of every field `SessionRecord::matches` compares.
pub(super) fn subject_key(issuer: &str, name_id: &NameId) -> String {
    let mut h = crate::crypto::DigestAlgorithm::Sha256.hasher();
    for part in [
        Some(issuer),
        Some(name_id.value.as_str()),
        name_id.format.as_deref(),
        name_id.name_qualifier.as_deref(),
        name_id.sp_name_qualifier.as_deref(),
        name_id.sp_provided_id.as_deref(),
    ] {
        match part {
            Some(p) => {
                h.write(b"+");
                h.write(&(p.len() as u64).to_le_bytes());
                h.write(p.as_bytes());
            }
            None => h.write(b"-"),
        }
    }
    crate::crypto::hex(&h.finish())
}

fn index_key(subject: &str, index: &str) -> String {
    let mut h = crate::crypto::DigestAlgorithm::Sha256.hasher();
    h.write(index.as_bytes());
    format!("{subject}/i/{}", crate::crypto::hex(&h.finish()))
}

impl Revocations {
    /// Logouts kept in `log`; sessions last at most `max_session_age` (at least a minute).
    pub fn new(log: Arc<dyn LogoutLog>, max_session_age: chrono::Duration) -> Self {
        Revocations {
            log,
            max_session_age: max_session_age.max(chrono::Duration::minutes(1)),
            clock: Arc::new(crate::time::SystemClock),
        }
    }

    /// Reads `clock` (instead of the system clock) when it records an IdP-initiated logout;
    /// give it the [`crate::Acs`]'s clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn crate::time::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The log.
    pub fn log(&self) -> &Arc<dyn LogoutLog> {
        &self.log
    }

    /// The longest a session kept with this list may last.
    pub fn max_session_age(&self) -> chrono::Duration {
        self.max_session_age
    }

    /// When a session started at `started` and ending by `expires` (if the IdP said) must end:
    /// the earlier of the two limits.
    pub fn session_end(
        &self,
        started: DateTime<Utc>,
        expires: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let cap = started + self.max_session_age;
        expires.map_or(cap, |e| e.min(cap))
    }

    /// Records an IdP-initiated logout that arrived at `now`: every session of its NameID, or
    /// only those of the SessionIndexes it names.
    ///
    /// # Errors
    /// The log's.
    pub async fn revoke(
        &self,
        request: &ReceivedLogoutRequest,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let subject = subject_key(&request.issuer, &request.name_id);
        let until = now + self.max_session_age + chrono::Duration::minutes(1);
        if request.session_indexes.is_empty() {
            self.log.record(&format!("{subject}/*"), now, until).await
        } else {
            for index in &request.session_indexes {
                self.log
                    .record(&index_key(&subject, index), now, until)
                    .await?;
            }
            Ok(())
        }
    }

    /// Records that the session `session_id` (the SP's own random ID for one login) was signed
    /// out at `now`: a copy of a cookie-held session no longer signs anyone in.
    ///
    /// # Errors
    /// The log's.
    pub async fn sign_out(&self, session_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let until = now + self.max_session_age + chrono::Duration::minutes(1);
        self.log
            .record(&format!("sid/{session_id}"), now, until)
            .await
    }

    /// Whether the session `session_id` with SAML `record`, started at `started`, has ended by
    /// `now`: too old, signed out, named by a logout that arrived after it started, or the log
    /// cannot say (fail closed).
    pub async fn ends(
        &self,
        record: Option<&SessionRecord>,
        session_id: Option<&str>,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        if started + self.max_session_age <= now {
            return true;
        }
        let mut keys = Vec::with_capacity(3);
        if let Some(r) = record {
            let subject = subject_key(&r.issuer, &r.name_id);
            if let Some(index) = &r.session_index {
                keys.push(index_key(&subject, index));
            }
            keys.push(format!("{subject}/*"));
        }
        if let Some(sid) = session_id {
            keys.push(format!("sid/{sid}"));
        }
        match self.log.latest(&keys, now).await {
            Ok(Some(at)) => at >= started,
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

impl SessionTerminator for Revocations {
    /// Records the request; the sessions it names end when next read. Returns 0: the sessions
    /// cannot be counted from here.
    async fn end_sessions(
        &self,
        _tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        self.revoke(request, self.clock.now())
            .await
            .map_err(|e| ProvisionError(format!("cannot record the logout: {e}")))?;
        Ok(0)
    }
}

/// The session a session crate keeps for the SP (feature `tower-sessions` or `actix-session`),
/// serialized under [`SESSION_KEY`].
#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stored<U> {
    pub(crate) user: U,
    /// A random ID for this login (sign-out of a cookie-held session is remembered by it).
    pub(crate) sid: String,
    /// [`SessionRecord::encode`].
    pub(crate) saml: Option<String>,
    /// Unix microseconds.
    pub(crate) started: i64,
    /// Unix microseconds: the earlier of SessionNotOnOrAfter and the longest session.
    pub(crate) expires: i64,
}

/// The SP's sessions kept in a session crate's own session (`K`: which crate), with
/// IdP-initiated logouts remembered in a [`Revocations`] list whose `max_session_age` bounds
/// every session. Used through its aliases `TowerSessions` and `ActixSessions`.
#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
pub struct CrateSessions<K, U> {
    pub(crate) revocations: Revocations,
    kind: std::marker::PhantomData<fn() -> (K, U)>,
}

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
impl<K, U> std::fmt::Debug for CrateSessions<K, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrateSessions")
            .field("revocations", &self.revocations)
            .finish()
    }
}

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
impl<K, U> Default for CrateSessions<K, U> {
    fn default() -> Self {
        CrateSessions::new(Revocations::default())
    }
}

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
impl<K, U> CrateSessions<K, U> {
    /// With `revocations` (its `max_session_age` bounds every session; its log may be shared by
    /// several app instances).
    pub fn new(revocations: Revocations) -> Self {
        CrateSessions {
            revocations,
            kind: std::marker::PhantomData,
        }
    }

    /// The IdP-initiated logouts remembered.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }
}

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
impl<K, U> SessionTerminator for CrateSessions<K, U> {
    async fn end_sessions(
        &self,
        tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        self.revocations.end_sessions(tenant, request).await
    }
}

/// The key under which the SP's session lives in a session crate's session.
#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
pub const SESSION_KEY: &str = "saml_sp.session";

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
impl<U> Stored<U> {
    pub(crate) fn new(
        session: NewSession<U>,
        revocations: &Revocations,
        now: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let mut b = [0u8; 16];
        crate::crypto::random_bytes(&mut b)?;
        Ok(Stored {
            user: session.user,
            sid: crate::crypto::hex(&b),
            saml: session.saml.as_ref().map(SessionRecord::encode),
            started: now.timestamp_micros(),
            expires: revocations
                .session_end(now, session.expires)
                .timestamp_micros(),
        })
    }

    pub(crate) fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.expires).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub(crate) fn record(&self) -> Option<SessionRecord> {
        self.saml
            .as_deref()
            .and_then(|s| SessionRecord::decode(s).ok())
    }

    /// The user, when the session is still alive at `now`.
    pub(crate) async fn live_user(
        self,
        revocations: &Revocations,
        now: DateTime<Utc>,
    ) -> Option<U> {
        let started = DateTime::from_timestamp_micros(self.started)?;
        if self.expires() <= now
            || revocations
                .ends(self.record().as_ref(), Some(&self.sid), started, now)
                .await
        {
            return None;
        }
        Some(self.user)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn get(s: &MemorySessions<String>, t: &str) -> Option<String> {
        s.inner.lock().unwrap().map.get(t).map(|e| e.0.clone())
    }

    #[test]
    fn a_full_store_ends_the_oldest_session_never_the_newest() {
        let s = MemorySessions::with_capacity(3);
        for t in ["a", "b", "c"] {
            s.insert(t.into(), (t.to_owned(), None, None));
        }
        // A logged-out session leaves a stale token in the order; it is skipped.
        assert_eq!(s.remove("b").map(|e| e.0).as_deref(), Some("b"));
        s.insert("d".into(), ("d".into(), None, None));
        assert_eq!(
            get(&s, "a").as_deref(),
            Some("a"),
            "room was left by the logout"
        );
        s.insert("e".into(), ("e".into(), None, None));
        assert_eq!(get(&s, "a"), None, "the oldest ends first");
        for t in ["c", "d", "e"] {
            assert_eq!(get(&s, t).as_deref(), Some(t));
        }
        // Many more logins than the capacity: always the newest three, order bounded.
        for i in 0..1000 {
            s.insert(format!("t{i}"), (format!("t{i}"), None, None));
            assert_eq!(get(&s, &format!("t{i}")), Some(format!("t{i}")));
        }
        let g = s.inner.lock().unwrap();
        assert_eq!(g.map.len(), 3);
        assert!(g.order.len() <= 6);
    }

    fn record(issuer: &str, who: &str, index: Option<&str>) -> SessionRecord {
        SessionRecord {
            issuer: issuer.into(),
            name_id: NameId {
                value: who.into(),
                format: None,
                name_qualifier: None,
                sp_name_qualifier: None,
                sp_provided_id: None,
            },
            session_index: index.map(str::to_owned),
            session_not_on_or_after: None,
            authn_context: None,
            authn_instant: None,
        }
    }

    fn logout(issuer: &str, who: &str, indexes: &[&str]) -> ReceivedLogoutRequest {
        ReceivedLogoutRequest {
            id: "_r".into(),
            issuer: issuer.into(),
            name_id: record(issuer, who, None).name_id,
            session_indexes: indexes.iter().map(|s| (*s).to_owned()).collect(),
            reason: None,
            relay_state: None,
            signature: crate::logout::LogoutSignature::Unsigned,
            replay_until: Utc::now(),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn a_revocation_ends_the_named_sessions_started_before_it_only() {
        let rev = Revocations::new(
            Arc::new(MemoryLogoutLog::default()),
            chrono::Duration::hours(1),
        );
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let min = chrono::Duration::minutes(1);
        let ends =
            |r: &SessionRecord, started, now| block_on(rev.ends(Some(r), None, started, now));
        let ada = record("https://idp", "ada", Some("s1"));
        let ada2 = record("https://idp", "ada", Some("s2"));
        let bob = record("https://idp", "bob", Some("s1"));
        let other_idp = record("https://other", "ada", Some("s1"));
        let mut ada_formatted = ada.clone();
        ada_formatted.name_id.format = Some("urn:email".into());
        assert!(!ends(&ada, t0, t0 + min));
        block_on(rev.revoke(&logout("https://idp", "ada", &["s1"]), t0 + min * 2)).unwrap();
        assert!(ends(&ada, t0, t0 + min * 3), "named session");
        assert!(!ends(&ada2, t0, t0 + min * 3), "another session index");
        assert!(!ends(&bob, t0, t0 + min * 3), "another user");
        assert!(!ends(&other_idp, t0, t0 + min * 3), "another IdP");
        assert!(
            !ends(&ada_formatted, t0, t0 + min * 3),
            "another NameID format"
        );
        assert!(
            !ends(&ada, t0 + min * 4, t0 + min * 5),
            "a login after the logout lives"
        );
        // No SessionIndex: every session of the NameID.
        block_on(rev.revoke(&logout("https://idp", "bob", &[]), t0 + min * 6)).unwrap();
        assert!(ends(&bob, t0, t0 + min * 7));
        // Signed out by session ID.
        assert!(!block_on(rev.ends(None, Some("sid-1"), t0, t0 + min * 8)));
        block_on(rev.sign_out("sid-1", t0 + min * 8)).unwrap();
        assert!(block_on(rev.ends(None, Some("sid-1"), t0, t0 + min * 9)));
        assert!(!block_on(rev.ends(None, Some("sid-2"), t0, t0 + min * 9)));
        // Too old to check: ended.
        assert!(block_on(rev.ends(
            None,
            None,
            t0,
            t0 + chrono::Duration::hours(2)
        )));
        assert_eq!(
            rev.session_end(t0, Some(t0 + chrono::Duration::hours(5))),
            t0 + chrono::Duration::hours(1)
        );
        assert_eq!(rev.session_end(t0, Some(t0 + min)), t0 + min);
    }

    #[test]
    fn a_full_memory_log_fails_closed_and_old_entries_expire() {
        use crate::store::LogoutLog as _;
        let log = MemoryLogoutLog::with_capacity(2);
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let s = chrono::Duration::seconds(1);
        let hour = chrono::Duration::hours(1);
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            block_on(log.record(k, t0 + s * (i as i32 + 10), t0 + hour)).unwrap();
        }
        assert_eq!(log.len(), 2, "bounded");
        // "a" was dropped: any key answers with its time, so earlier sessions end.
        let none = ["zzz".to_owned()];
        assert_eq!(block_on(log.latest(&none, t0)).unwrap(), Some(t0 + s * 10));
        let c = ["c".to_owned()];
        assert_eq!(block_on(log.latest(&c, t0)).unwrap(), Some(t0 + s * 12));
        // Recording a key again keeps its latest time; entries go once their time passes.
        block_on(log.record("c", t0 + s * 5, t0 + hour * 2)).unwrap();
        assert_eq!(block_on(log.latest(&c, t0)).unwrap(), Some(t0 + s * 12));
        block_on(log.record("d", t0 + hour + s, t0 + hour * 3)).unwrap();
        assert_eq!(log.len(), 2, "b expired; c lives on, recorded again");
        assert_eq!(
            block_on(log.latest(&c, t0 + hour * 2 + s)).unwrap(),
            Some(t0 + s * 10),
            "c past its time: only the floor answers"
        );
    }
}
