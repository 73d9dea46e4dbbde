//! The Metadata Query Protocol (MDQ): one entity's signed metadata fetched on demand from a
//! federation's MDQ service (`{base}/entities/{entityID, percent-encoded}`, or the
//! `{sha1}`-hash form), verified with the federation's signing certificate, and cached per its
//! `cacheDuration` (bounded, and never past `validUntil`), with a negative cache for entities
//! the service does not know. Fetches go through the SSRF-guarded [`super::MetadataClient`] (or
//! any [`MetadataFetcher`]).
//!
//! Typical use: a discovery step or a login names an IdP by entity ID; [`MdqClient::lookup`]
//! returns its verified [`IdpMetadata`], from which the app installs a tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::fetch::MetadataFetcher;
use crate::crypto::Certificate;
use crate::error::Error;
use crate::metadata::IdpMetadata;

#[derive(Debug, Clone)]
enum Cached {
    Found(Box<IdpMetadata>, DateTime<Utc>),
    Missing(DateTime<Utc>),
}

impl Cached {
    fn expires(&self) -> DateTime<Utc> {
        match self {
            Cached::Found(_, t) | Cached::Missing(t) => *t,
        }
    }
}

/// An MDQ client for one federation.
pub struct MdqClient {
    base: String,
    pinned: Vec<Certificate>,
    fetcher: Arc<dyn MetadataFetcher>,
    sha1_ids: bool,
    max_ttl: Duration,
    default_ttl: Duration,
    negative_ttl: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for MdqClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdqClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl MdqClient {
    /// The MDQ service at `base` (`https://mdq.example.org`, without `/entities`), whose
    /// responses must be signed by one of `federation_certificates`, fetched with `fetcher`.
    /// Defaults: cache at most 6 hours (or the entity's `cacheDuration`, whichever is shorter;
    /// 1 hour without one), unknown entities remembered 10 minutes, at most 10,000 entries.
    pub fn new(
        base: impl Into<String>,
        federation_certificates: Vec<Certificate>,
        fetcher: impl MetadataFetcher + 'static,
    ) -> Self {
        MdqClient {
            base: base.into().trim_end_matches('/').to_owned(),
            pinned: federation_certificates,
            fetcher: Arc::new(fetcher),
            sha1_ids: false,
            max_ttl: Duration::hours(6),
            default_ttl: Duration::hours(1),
            negative_ttl: Duration::minutes(10),
            max_entries: 10_000,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Asks by the `{sha1}` form of the entity ID (some services serve only that).
    #[must_use]
    pub fn sha1_identifiers(mut self, yes: bool) -> Self {
        self.sha1_ids = yes;
        self
    }

    /// The longest an entity is cached, whatever its `cacheDuration` says.
    #[must_use]
    pub fn max_cache(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl.max(Duration::seconds(1));
        self
    }

    /// How long an entity the service does not know (404) is remembered.
    #[must_use]
    pub fn negative_cache(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl.max(Duration::zero());
        self
    }

    /// At most this many cached entities (the soonest to expire goes when full).
    #[must_use]
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// The URL the metadata of `entity_id` is fetched from.
    pub fn url_for(&self, entity_id: &str) -> String {
        let id = if self.sha1_ids {
            use sha1::Digest as _;
            format!(
                "{{sha1}}{}",
                crate::crypto::hex(&sha1::Sha1::digest(entity_id.as_bytes()))
            )
        } else {
            entity_id.to_owned()
        };
        format!("{}/entities/{}", self.base, percent_encode(&id))
    }

    fn cached(&self, entity_id: &str, now: DateTime<Utc>) -> Option<Cached> {
        let cache = self.cache.lock().ok()?;
        cache.get(entity_id).filter(|c| c.expires() > now).cloned()
    }

    fn remember(&self, entity_id: &str, entry: Cached, now: DateTime<Utc>) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= self.max_entries && !cache.contains_key(entity_id) {
            cache.retain(|_, c| c.expires() > now);
            if cache.len() >= self.max_entries
                && let Some(soonest) = cache
                    .iter()
                    .min_by_key(|(_, c)| c.expires())
                    .map(|(k, _)| k.clone())
            {
                cache.remove(&soonest);
            }
        }
        cache.insert(entity_id.to_owned(), entry);
    }

    /// The verified metadata of the IdP `entity_id` at `now`: from the cache while it is fresh,
    /// otherwise fetched, its signature verified with the federation's certificate, its entity
    /// ID and `validUntil` checked, then cached.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`] when the service does not know the entity (also from the
    /// negative cache); [`Error::MetadataFetch`], [`Error::MetadataUrlForbidden`] for
    /// transport failures (not cached); signature errors, [`Error::MetadataExpired`] and
    /// [`Error::Config`] for a response that is not the entity's valid signed metadata (not
    /// cached).
    pub async fn lookup(&self, entity_id: &str, now: DateTime<Utc>) -> Result<IdpMetadata, Error> {
        // Nothing is fetched that could not be verified.
        if self.pinned.is_empty() {
            return Err(Error::Config {
                field: "mdq",
                reason: "no federation signing certificate configured".into(),
            });
        }
        match self.cached(entity_id, now) {
            Some(Cached::Found(md, _)) => return Ok(*md),
            Some(Cached::Missing(_)) => {
                return Err(Error::UnknownTenant {
                    found: entity_id.to_owned(),
                });
            }
            None => {}
        }
        let url = self.url_for(entity_id);
        let body = match self.fetcher.fetch(&url).await {
            Ok(b) => b,
            Err(e) if super::fetch::is_not_found(&e) => {
                self.remember(entity_id, Cached::Missing(now + self.negative_ttl), now);
                return Err(Error::UnknownTenant {
                    found: entity_id.to_owned(),
                });
            }
            Err(e) => return Err(e),
        };
        let md = IdpMetadata::parse_verified(&body, Some(entity_id), &self.pinned, now)?;
        md.check_valid_at(now)?;
        let mut until = now
            + md.cache_duration()
                .unwrap_or(self.default_ttl)
                .min(self.max_ttl);
        if let Some(v) = md.valid_until() {
            until = until.min(v);
        }
        self.remember(entity_id, Cached::Found(Box::new(md.clone()), until), now);
        Ok(md)
    }
}
