//! A profile's health for its admin page: its certificates' expiry, its metadata's validity,
//! its last test, and its last successful and failed logins with their codes. The logins come
//! from [`LoginHealth`], an audit sink the app gives its ACS
//! (`Acs::with_audit_sink(login_health.clone())`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::model::SsoProfile;
use super::test_login::TestResult;
use crate::login::{Action, AuditEvent, AuditSink, Outcome};
use crate::time::{Clock, SystemClock};

/// The most profiles [`LoginHealth`] keeps outcomes for (the oldest-touched are dropped first).
pub const MAX_TRACKED_PROFILES: usize = 100_000;

/// The last login outcomes of one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginOutcomes {
    /// The last successful login.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failed login, with its code.
    pub last_failure: Option<(DateTime<Utc>, &'static str)>,
}

/// Keeps each profile's last login outcomes, from the ACS's audit events. Only events for a
/// configured tenant count (an unknown tenant in a URL never creates an entry), and at most
/// [`MAX_TRACKED_PROFILES`] are kept.
#[derive(Debug)]
pub struct LoginHealth {
    clock: Arc<dyn Clock>,
    outcomes: Mutex<HashMap<String, LoginOutcomes>>,
}

impl Default for LoginHealth {
    fn default() -> Self {
        LoginHealth::new(Arc::new(SystemClock))
    }
}

impl LoginHealth {
    /// Timestamps events with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        LoginHealth {
            clock,
            outcomes: Mutex::default(),
        }
    }

    /// The outcomes recorded for `profile`.
    pub fn outcomes(&self, profile: &str) -> LoginOutcomes {
        self.outcomes
            .lock()
            .ok()
            .and_then(|m| m.get(profile).cloned())
            .unwrap_or_default()
    }
}

impl AuditSink for LoginHealth {
    fn record(&self, event: &AuditEvent) {
        if event.action != Action::Login || event.issuer.is_none() {
            return;
        }
        let Some(tenant) = &event.tenant else {
            return;
        };
        let now = self.clock.now();
        let Ok(mut map) = self.outcomes.lock() else {
            return;
        };
        if !map.contains_key(tenant) && map.len() >= MAX_TRACKED_PROFILES {
            return;
        }
        let entry = map.entry(tenant.clone()).or_default();
        match event.outcome {
            Outcome::Success => entry.last_success = Some(now),
            _ => entry.last_failure = Some((now, event.error_code.unwrap_or("unknown"))),
        }
    }
}

/// One signing certificate's dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateExpiry {
    /// SHA-256 fingerprint, hex.
    pub sha256: String,
    /// Its notAfter.
    pub not_after: DateTime<Utc>,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// What the admin page shows about a profile's health.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileHealth {
    /// Each signing certificate's expiry.
    pub certificates: Vec<CertificateExpiry>,
    /// The last valid certificate expires within 30 days (the IdP's rotation is due).
    pub expiring_soon: bool,
    /// The metadata's `validUntil`, when the values came from metadata.
    pub metadata_valid_until: Option<DateTime<Utc>>,
    /// The last test: when, and whether it passed.
    pub last_test: Option<(DateTime<Utc>, bool)>,
    /// The last logins.
    pub logins: LoginOutcomes,
}

pub(crate) fn health(
    p: &SsoProfile,
    last_test: Option<&TestResult>,
    logins: LoginOutcomes,
    now: DateTime<Utc>,
) -> ProfileHealth {
    let certificates: Vec<CertificateExpiry> = p
        .idp
        .iter()
        .flat_map(|i| i.certificates.iter())
        .map(|c| CertificateExpiry {
            sha256: c.fingerprint_hex(),
            not_after: c.not_after(),
            days_left: (c.not_after() - now).num_days(),
        })
        .collect();
    let latest = certificates
        .iter()
        .map(|c| c.not_after)
        .filter(|t| *t > now)
        .max();
    ProfileHealth {
        expiring_soon: !certificates.is_empty()
            && latest.is_none_or(|t| t - now < Duration::days(30)),
        certificates,
        metadata_valid_until: p.idp.as_ref().and_then(|i| i.valid_until),
        last_test: last_test.map(|t| (t.at, t.passed)),
        logins,
    }
}

/// One of the SP's own keys as a profile's admin page shows it: the certificate the IdP was
/// given, when it expires, and where it is in a rollover (the next key is `published`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpKeyStatus {
    /// The key's name (`signing` without a key ring).
    pub id: String,
    /// `pending`, `published`, `active`, `retiring`, `removed`.
    pub phase: &'static str,
    /// Whether it signs now.
    pub signing: bool,
    /// SHA-256 fingerprint of its certificate, hex.
    pub sha256: String,
    /// The certificate's notAfter.
    pub not_after: DateTime<Utc>,
    /// Whole days left.
    pub days_left: i64,
    /// The next change of this key, if scheduled (`start_signing`, `retire`, `remove` at).
    pub next: Option<(&'static str, DateTime<Utc>)>,
}

pub(crate) fn sp_keys(
    sp: &crate::tenant::config::SpSettings,
    now: DateTime<Utc>,
) -> Vec<SpKeyStatus> {
    let status = |id: &str, phase: &'static str, signing: bool, c: &crate::crypto::Certificate| {
        SpKeyStatus {
            id: id.to_owned(),
            phase,
            signing,
            sha256: c.fingerprint_hex(),
            not_after: c.not_after(),
            days_left: (c.not_after() - now).num_days(),
            next: None,
        }
    };
    match sp.sp_key_ring() {
        Some(ring) => {
            let signer = ring.signing_key(now).map(crate::tenant::SpKey::id);
            let schedule = ring.schedule();
            ring.keys()
                .iter()
                .filter(|k| k.phase(now) != crate::tenant::KeyPhase::Removed)
                .map(|k| {
                    let mut s = status(
                        k.id(),
                        k.phase(now).as_str(),
                        signer == Some(k.id()),
                        k.certificate(),
                    );
                    s.next = schedule
                        .iter()
                        .find(|e| e.key == k.id() && e.at > now)
                        .map(|e| (e.what, e.at));
                    s
                })
                .collect()
        }
        None => sp
            .metadata_certificates(now)
            .0
            .first()
            .map(|c| vec![status("signing", "active", true, c)])
            .unwrap_or_default(),
    }
}
