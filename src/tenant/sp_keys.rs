//! The SP's own keys over time: several keys, each with the dates it is published (in SP
//! metadata), used for signing, retired from signing, and removed. At any instant:
//!
//! - **signing**: exactly one key, the one whose `use_from` is latest among those in use (a
//!   scheduled switch is the next key's `use_from`);
//! - **decryption**: every key published and not yet removed (IdPs may encrypt to any key they
//!   read in SP metadata: the next one as soon as it is published, the old one until they
//!   re-read metadata);
//! - **metadata**: every published key, as signing and as encryption certificate (IdPs learn
//!   the next signing certificate before the switch, and accept either while they overlap).
//!
//! [`SpKeyRing::schedule`] lists what each tenant's IdP must be told and when (the CLI prints
//! it); `IdpRegistry::apply_sp_keys` installs the keys of an instant in every tenant, and
//! [`SpKeyRing::next_change`] says when to call it again.

use chrono::{DateTime, Utc};

use crate::crypto::{Certificate, SigningKey};
use crate::error::Error;
use crate::xmlenc::DecryptionKey;

/// One SP key: the private key (for signing, decrypting, or both), its certificate, its dates.
#[derive(Debug, Clone)]
#[must_use]
pub struct SpKey {
    id: String,
    certificate: Certificate,
    signing: Option<SigningKey>,
    decryption: Option<DecryptionKey>,
    publish_at: DateTime<Utc>,
    use_from: DateTime<Utc>,
    retire_at: Option<DateTime<Utc>>,
    remove_at: Option<DateTime<Utc>>,
}

impl SpKey {
    /// Key `id` with its `certificate`, published and in use from `publish_at` (set later
    /// dates with the methods below).
    pub fn new(id: impl Into<String>, certificate: Certificate, publish_at: DateTime<Utc>) -> Self {
        SpKey {
            id: id.into(),
            certificate,
            signing: None,
            decryption: None,
            publish_at,
            use_from: publish_at,
            retire_at: None,
            remove_at: None,
        }
    }
    /// Signs with this key while it is the signing key.
    pub fn signing(mut self, key: SigningKey) -> Self {
        self.signing = Some(key);
        self
    }
    /// Decrypts with this key while it is published (its certificate, for SP metadata, is the
    /// key's: [`SpKey::new`]'s).
    ///
    /// # Errors
    /// [`Error::Config`] when the certificate is not this private key's.
    pub fn decryption(mut self, key: DecryptionKey) -> Result<Self, Error> {
        let key = match key.certificate() {
            Some(c) if c.fingerprint_hex() == self.certificate.fingerprint_hex() => key,
            Some(_) => {
                return Err(Error::Config {
                    field: "sp_keys",
                    reason: format!(
                        "key {:?}: the decryption key's certificate is another one",
                        self.id
                    ),
                });
            }
            None => key.with_certificate(self.certificate.clone())?,
        };
        self.decryption = Some(key);
        Ok(self)
    }
    /// Signing with it starts at `t` (the scheduled switch; default: when published). Publish
    /// a signing key well before: IdPs must re-read SP metadata to learn it.
    pub fn use_from(mut self, t: DateTime<Utc>) -> Self {
        self.use_from = t;
        self
    }
    /// Signing with it stops at `t` (the next key has taken over; it still decrypts).
    pub fn retire_at(mut self, t: DateTime<Utc>) -> Self {
        self.retire_at = Some(t);
        self
    }
    /// It leaves SP metadata and stops decrypting at `t`.
    pub fn remove_at(mut self, t: DateTime<Utc>) -> Self {
        self.remove_at = Some(t);
        self
    }
    /// The key's name.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Its certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
    fn published(&self, now: DateTime<Utc>) -> bool {
        self.publish_at <= now && self.remove_at.is_none_or(|r| now < r)
    }
    fn signs(&self, now: DateTime<Utc>) -> bool {
        self.signing.is_some()
            && self.published(now)
            && self.use_from <= now
            && self.retire_at.is_none_or(|r| now < r)
    }
    /// Its phase at `now`.
    pub fn phase(&self, now: DateTime<Utc>) -> KeyPhase {
        if now < self.publish_at {
            KeyPhase::Pending
        } else if self.remove_at.is_some_and(|r| r <= now) {
            KeyPhase::Removed
        } else if self.retire_at.is_some_and(|r| r <= now) {
            KeyPhase::Retiring
        } else if self.signing.is_some() && now < self.use_from {
            KeyPhase::Published
        } else {
            KeyPhase::Active
        }
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPhase {
    /// Not yet published.
    Pending,
    /// In SP metadata, decrypting, not yet signing.
    Published,
    /// In use (signing key: signing; encryption-only key: decrypting).
    Active,
    /// No longer signing; still published and decrypting.
    Retiring,
    /// Gone from metadata, no longer used.
    Removed,
}

impl KeyPhase {
    /// `pending`, `published`, `active`, `retiring`, `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPhase::Pending => "pending",
            KeyPhase::Published => "published",
            KeyPhase::Active => "active",
            KeyPhase::Retiring => "retiring",
            KeyPhase::Removed => "removed",
        }
    }
}

/// What changes at one instant of a key ring's life, and what the IdPs must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The key.
    pub key: String,
    /// `publish`, `start_signing`, `retire`, `remove`.
    pub what: &'static str,
    /// The certificate's SHA-256 fingerprint.
    pub fingerprint: String,
    /// What each tenant's IdP administrator must do, and by when.
    pub tell_idps: String,
}

/// The keys in force at one instant: what `IdpRegistry::apply_sp_keys` installs.
#[derive(Debug, Clone)]
pub(crate) struct SpKeysAt {
    pub(crate) signing: Option<SigningKey>,
    pub(crate) decryption: Vec<DecryptionKey>,
    /// The certificates of the signing keys in SP metadata (the signing one among them).
    pub(crate) published: Vec<Certificate>,
    /// The IDs and phases it was chosen from (two instants with equal states need no rebuild).
    pub(crate) state: Vec<(String, KeyPhase)>,
}

/// The SP's keys over time.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SpKeyRing {
    keys: Vec<SpKey>,
}

impl SpKeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        SpKeyRing::default()
    }

    /// Adds `key`.
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_keys`) for a repeated ID, dates out of order (publish, use,
    /// retire, remove), or a key with neither a signing nor a decryption key.
    pub fn key(mut self, key: SpKey) -> Result<Self, Error> {
        let bad = |reason: String| Error::Config {
            field: "sp_keys",
            reason,
        };
        if self.keys.iter().any(|k| k.id == key.id) {
            return Err(bad(format!("two keys are named {:?}", key.id)));
        }
        if key.signing.is_none() && key.decryption.is_none() {
            return Err(bad(format!("key {:?} neither signs nor decrypts", key.id)));
        }
        let mut last = key.publish_at;
        for (name, t) in [
            ("use_from", Some(key.use_from)),
            ("retire_at", key.retire_at),
            ("remove_at", key.remove_at),
        ] {
            if let Some(t) = t {
                if t < last {
                    return Err(bad(format!(
                        "key {:?}: {name} {t} is before the date it follows ({last})",
                        key.id
                    )));
                }
                last = t;
            }
        }
        self.keys.push(key);
        Ok(self)
    }

    /// The keys.
    pub fn keys(&self) -> &[SpKey] {
        &self.keys
    }

    /// The signing key at `now`: of the keys signing then, the one whose `use_from` is latest.
    pub fn signing_key(&self, now: DateTime<Utc>) -> Option<&SpKey> {
        self.keys
            .iter()
            .filter(|k| k.signs(now))
            .max_by_key(|k| k.use_from)
    }

    /// Every key that decrypts at `now` (published and not removed).
    pub fn decryption_keys(&self, now: DateTime<Utc>) -> Vec<&SpKey> {
        self.keys
            .iter()
            .filter(|k| k.decryption.is_some() && k.published(now))
            .collect()
    }

    /// Every key in SP metadata at `now`.
    pub fn published(&self, now: DateTime<Utc>) -> Vec<&SpKey> {
        self.keys.iter().filter(|k| k.published(now)).collect()
    }

    /// The first instant after `now` at which something changes (`None`: nothing scheduled).
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.keys
            .iter()
            .flat_map(|k| {
                [
                    Some(k.publish_at),
                    Some(k.use_from),
                    k.retire_at,
                    k.remove_at,
                ]
            })
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// Each key's ID and phase at `now`: two instants with the same state need no change.
    pub(crate) fn state_at(&self, now: DateTime<Utc>) -> Vec<(String, KeyPhase)> {
        self.keys
            .iter()
            .map(|k| (k.id.clone(), k.phase(now)))
            .collect()
    }

    pub(crate) fn at(&self, now: DateTime<Utc>) -> SpKeysAt {
        let signing = self.signing_key(now).and_then(|k| k.signing.clone());
        SpKeysAt {
            signing,
            decryption: self
                .decryption_keys(now)
                .into_iter()
                .filter_map(|k| k.decryption.clone())
                .collect(),
            published: self
                .published(now)
                .into_iter()
                .filter(|k| k.signing.is_some())
                .map(|k| k.certificate.clone())
                .collect(),
            state: self.state_at(now),
        }
    }

    /// Every change in date order, with what the IdPs must be told: publish a key (IdPs that
    /// encrypt, or that will verify its signatures, must re-read SP metadata before the next
    /// step), switch signing, retire, remove.
    pub fn schedule(&self) -> Vec<KeyEvent> {
        let mut out = Vec::new();
        for k in &self.keys {
            let fp = k.certificate.fingerprint_hex();
            let next_step = self
                .keys
                .iter()
                .flat_map(|o| [Some(o.use_from), o.retire_at, o.remove_at])
                .flatten()
                .filter(|t| *t > k.publish_at)
                .min();
            out.push(KeyEvent {
                at: k.publish_at,
                key: k.id.clone(),
                what: "publish",
                fingerprint: fp.clone(),
                tell_idps: match next_step {
                    Some(t) => format!(
                        "re-read the SP metadata (or add certificate {fp}) before {}: it is published now", crate::time::format_instant(t)
                    ),
                    None => format!("re-read the SP metadata (or add certificate {fp})"),
                },
            });
            if k.signing.is_some() && k.use_from > k.publish_at {
                out.push(KeyEvent {
                    at: k.use_from,
                    key: k.id.clone(),
                    what: "start_signing",
                    fingerprint: fp.clone(),
                    tell_idps: format!(
                        "requests and logout messages are signed with {fp} from now; IdPs must already trust it"
                    ),
                });
            }
            if let Some(t) = k.retire_at {
                out.push(KeyEvent {
                    at: t,
                    key: k.id.clone(),
                    what: "retire",
                    fingerprint: fp.clone(),
                    tell_idps: format!(
                        "{fp} no longer signs; it still decrypts until it is removed"
                    ),
                });
            }
            if let Some(t) = k.remove_at {
                out.push(KeyEvent {
                    at: t,
                    key: k.id.clone(),
                    what: "remove",
                    fingerprint: fp.clone(),
                    tell_idps: format!(
                        "remove certificate {fp}; encrypting to it fails from now on"
                    ),
                });
            }
        }
        // At one instant: what is published first, then the switch, then what it replaces.
        let rank = |w: &str| match w {
            "publish" => 0,
            "start_signing" => 1,
            "retire" => 2,
            _ => 3,
        };
        out.sort_by(|a, b| {
            a.at.cmp(&b.at)
                .then_with(|| rank(a.what).cmp(&rank(b.what)))
                .then_with(|| a.key.cmp(&b.key))
        });
        out
    }
}
