//! The app's sessions as the web layer sees them: a small per-request trait (keep your own store
//! behind it), the in-memory cookie store, and the revocation list that lets sessions held by a
//! framework's session crate (`tower-sessions`, `actix-session`) end on an IdP-initiated logout.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use http::{HeaderMap, header};

use super::WebSettings;
use crate::error::Error;
use crate::login::provision::ProvisionError;
use crate::logout::{ReceivedLogoutRequest, SessionRecord, SessionTerminator};
use crate::sp::assertion::NameId;

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
    /// Ends this request's session (sign-out), returning its SAML record for Single Logout.
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
    let secure = if settings.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let max_age = expires
        .map(|e| format!("; Max-Age={}", (e - now).num_seconds().max(0)))
        .unwrap_or_default();
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax{secure}{max_age}",
        settings.cookie
    )
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie_header(settings: &WebSettings) -> String {
    format!(
        "{}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        settings.cookie
    )
}

fn set_cookie(response: &mut HeaderMap, value: &str) {
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

    async fn end(&self, cx: SessionContext<'_>, response: &mut HeaderMap) -> Option<SessionRecord> {
        set_cookie(response, &clear_cookie_header(cx.settings));
        self.remove(cx.session_cookie()?).and_then(|(_, r, _)| r)
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
/// NameID cannot find them. Instead each LogoutRequest is recorded here, and a session whose
/// SAML record it names, started before the request arrived, counts as ended the next time it
/// is read ([`Revocations::ends`]).
///
/// Bounded both ways: sessions kept with a revocation list last at most
/// [`Revocations::max_session_age`] (default 12 hours; the adapters give the session crate that
/// expiry), so an entry is kept that long and no longer; and at most `capacity` entries
/// (default 100,000) are kept: when full, the oldest entry is dropped and every session started
/// before it ends too (fail closed: a logout is never forgotten, at worst some users sign in
/// again). Sign-outs of cookie-held sessions are remembered the same way
/// ([`Revocations::sign_out`]). One process: with several app instances behind a load balancer,
/// the instance that receives the IdP's LogoutRequest is the one that knows it.
#[derive(Debug)]
pub struct Revocations {
    inner: Mutex<RevocationsInner>,
    capacity: usize,
    max_session_age: chrono::Duration,
}

#[derive(Debug, Default)]
struct RevocationsInner {
    /// (issuer, NameID value) -> the requests for that subject.
    by_subject: HashMap<(String, String), Vec<Revoked>>,
    /// Session IDs signed out here ([`Revocations::sign_out`]).
    signed_out: HashMap<String, DateTime<Utc>>,
    /// Entries in arrival order, with the arrival time (oldest first).
    order: VecDeque<(EntryKey, DateTime<Utc>)>,
    /// Sessions started before this are ended (raised when an entry is dropped).
    floor: Option<DateTime<Utc>>,
    len: usize,
}

#[derive(Debug)]
enum EntryKey {
    Subject((String, String)),
    Session(String),
}

#[derive(Debug)]
struct Revoked {
    name_id: NameId,
    session_indexes: Vec<String>,
    at: DateTime<Utc>,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations::new(100_000, chrono::Duration::hours(12))
    }
}

impl Revocations {
    /// At most `capacity` remembered logouts; sessions last at most `max_session_age`.
    pub fn new(capacity: usize, max_session_age: chrono::Duration) -> Self {
        Revocations {
            inner: Mutex::new(RevocationsInner::default()),
            capacity: capacity.max(1),
            max_session_age: max_session_age.max(chrono::Duration::minutes(1)),
        }
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

    /// Records an IdP-initiated logout that arrived at `now`.
    pub fn revoke(&self, request: &ReceivedLogoutRequest, now: DateTime<Utc>) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        self.expire(&mut g, now);
        let key = (request.issuer.clone(), request.name_id.value.clone());
        g.by_subject.entry(key.clone()).or_default().push(Revoked {
            name_id: request.name_id.clone(),
            session_indexes: request.session_indexes.clone(),
            at: now,
        });
        g.order.push_back((EntryKey::Subject(key), now));
        g.len += 1;
        self.bound(&mut g);
    }

    /// Records that the session `session_id` (the SP's own random ID for one login) was signed
    /// out at `now`: a copy of a cookie-held session no longer signs anyone in.
    pub fn sign_out(&self, session_id: &str, now: DateTime<Utc>) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        self.expire(&mut g, now);
        if g.signed_out.insert(session_id.to_owned(), now).is_none() {
            g.order
                .push_back((EntryKey::Session(session_id.to_owned()), now));
            g.len += 1;
        }
        self.bound(&mut g);
    }

    /// Whether the session `session_id` was signed out.
    pub fn is_signed_out(&self, session_id: &str) -> bool {
        self.inner
            .lock()
            .map_or(true, |g| g.signed_out.contains_key(session_id))
    }

    /// Full: drop the oldest entries, ending every session started before them (fail closed).
    fn bound(&self, g: &mut RevocationsInner) {
        while g.len > self.capacity {
            let Some((key, at)) = g.order.pop_front() else {
                break;
            };
            Self::drop_entry(g, &key);
            g.floor = Some(g.floor.map_or(at, |f| f.max(at)));
        }
    }

    fn drop_entry(g: &mut RevocationsInner, key: &EntryKey) {
        match key {
            EntryKey::Subject(key) => {
                if let Some(list) = g.by_subject.get_mut(key) {
                    if !list.is_empty() {
                        list.remove(0);
                        g.len = g.len.saturating_sub(1);
                    }
                    if list.is_empty() {
                        g.by_subject.remove(key);
                    }
                }
            }
            EntryKey::Session(id) => {
                if g.signed_out.remove(id).is_some() {
                    g.len = g.len.saturating_sub(1);
                }
            }
        }
    }

    /// Drops entries older than the longest session: no session they could end is still alive.
    fn expire(&self, g: &mut RevocationsInner, now: DateTime<Utc>) {
        while let Some((_, at)) = g.order.front() {
            if *at + self.max_session_age >= now {
                break;
            }
            if let Some((key, _)) = g.order.pop_front() {
                Self::drop_entry(g, &key);
            }
        }
    }

    /// Whether the session of `record`, started at `started`, has ended by `now`: too old, started
    /// before a dropped entry, or named by a logout that arrived after it started.
    pub fn ends(
        &self,
        record: Option<&SessionRecord>,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        if started + self.max_session_age <= now {
            return true;
        }
        let Ok(g) = self.inner.lock() else {
            return true;
        };
        if g.floor.is_some_and(|f| started <= f) {
            return true;
        }
        let Some(record) = record else {
            return false;
        };
        g.by_subject
            .get(&(record.issuer.clone(), record.name_id.value.clone()))
            .is_some_and(|list| {
                list.iter().any(|r| {
                    r.at >= started
                        && record.matches(&record.issuer, &r.name_id, &r.session_indexes)
                })
            })
    }

    /// How many logouts are remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.len)
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        self.revoke(request, Utc::now());
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
    pub(crate) fn live_user(self, revocations: &Revocations, now: DateTime<Utc>) -> Option<U> {
        let started = DateTime::from_timestamp_micros(self.started)?;
        if self.expires() <= now
            || revocations.is_signed_out(&self.sid)
            || revocations.ends(self.record().as_ref(), started, now)
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
            signature: "unsigned".into(),
            replay_until: Utc::now(),
        }
    }

    #[test]
    fn a_revocation_ends_the_named_sessions_started_before_it_only() {
        let rev = Revocations::new(10, chrono::Duration::hours(1));
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let min = chrono::Duration::minutes(1);
        let ada = record("https://idp", "ada", Some("s1"));
        let ada2 = record("https://idp", "ada", Some("s2"));
        let bob = record("https://idp", "bob", Some("s1"));
        let other_idp = record("https://other", "ada", Some("s1"));
        assert!(!rev.ends(Some(&ada), t0, t0 + min));
        rev.revoke(&logout("https://idp", "ada", &["s1"]), t0 + min * 2);
        assert!(rev.ends(Some(&ada), t0, t0 + min * 3), "named session");
        assert!(
            !rev.ends(Some(&ada2), t0, t0 + min * 3),
            "another session index"
        );
        assert!(!rev.ends(Some(&bob), t0, t0 + min * 3), "another user");
        assert!(!rev.ends(Some(&other_idp), t0, t0 + min * 3), "another IdP");
        assert!(
            !rev.ends(Some(&ada), t0 + min * 4, t0 + min * 5),
            "a login after the logout lives"
        );
        // No SessionIndex: every session of the NameID.
        rev.revoke(&logout("https://idp", "bob", &[]), t0 + min * 6);
        assert!(rev.ends(Some(&bob), t0, t0 + min * 7));
        assert_eq!(rev.len(), 2);
        // Too old to check: ended.
        assert!(rev.ends(None, t0, t0 + chrono::Duration::hours(2)));
    }

    #[test]
    fn a_full_revocation_list_fails_closed_and_old_entries_expire() {
        let rev = Revocations::new(2, chrono::Duration::hours(1));
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let s = chrono::Duration::seconds(1);
        let carol = record("https://idp", "carol", None);
        for (i, who) in ["a", "b", "c"].iter().enumerate() {
            rev.revoke(&logout("https://idp", who, &[]), t0 + s * (i as i32 + 10));
        }
        assert_eq!(rev.len(), 2, "bounded");
        // "a" was dropped: every session started before it arrived ends instead.
        assert!(rev.ends(Some(&carol), t0, t0 + s * 20));
        assert!(!rev.ends(Some(&carol), t0 + s * 11, t0 + s * 20));
        // An hour on, the old entries are gone when the next one arrives.
        rev.revoke(
            &logout("https://idp", "d", &[]),
            t0 + chrono::Duration::hours(2),
        );
        assert_eq!(rev.len(), 1);
        assert_eq!(
            rev.session_end(t0, Some(t0 + chrono::Duration::hours(5))),
            t0 + chrono::Duration::hours(1)
        );
        assert_eq!(rev.session_end(t0, Some(t0 + s)), t0 + s);
        // A signed-out session ID is remembered, and counts against the bound.
        rev.sign_out("sid-1", t0 + chrono::Duration::hours(2));
        assert!(rev.is_signed_out("sid-1") && !rev.is_signed_out("sid-2"));
        assert_eq!(rev.len(), 2);
        rev.sign_out("sid-2", t0 + chrono::Duration::hours(2));
        assert_eq!(rev.len(), 2, "bounded: the oldest entry went");
        rev.sign_out("sid-3", t0 + chrono::Duration::hours(4));
        assert!(
            !rev.is_signed_out("sid-1"),
            "expired with the longest session"
        );
    }
}
