//! Keeping tenants' IdP metadata fresh (feature `fetch`): [`MetadataRefresher`] fetches each
//! tenant's metadata URL, validates it, and swaps the tenant's configuration in the
//! [`IdpRegistry`] atomically (readers never block; a login in flight keeps the configuration it
//! started with).
//!
//! - **When**: after `cacheDuration` (SAML Metadata 4.3), clamped to
//!   [`RefreshPolicy::floor`]..[`RefreshPolicy::ceiling`], never after `validUntil`, minus up to
//!   [`RefreshPolicy::jitter`] so a fleet does not fetch in step; after a failure, exponential
//!   backoff from [`RefreshPolicy::backoff_initial`] to [`RefreshPolicy::backoff_max`].
//! - **What survives an outage**: the last good copy stays in the registry (and, with
//!   [`MetadataSource::backing_file`], on disk, so a restart during an IdP outage still works)
//!   until its `validUntil`; from then on the tenant refuses logins with `metadata_expired`
//!   (the check is in validation itself, so a stopped refresher cannot extend it). A document
//!   that fails to parse, to verify against the pinned certificate, or is already expired never
//!   replaces the good copy.
//! - **Rotation**: metadata publishes old and new signing certificates during an overlap; every
//!   published certificate is trusted, and each addition or removal is an event
//!   ([`MetadataEvent`]), as is a certificate set whose last valid certificate expires within
//!   [`MetadataRefresher::expiry_warning`] (30 days by default).
//!
//! - **A key nobody told us about**: as the login flow's [`crate::tenant::KeyRefresh`] hook
//!   (`login::Acs::with_key_refresh`), a Response signed with a key the tenant does not
//!   have triggers one fetch at once, at most once per tenant per
//!   [`MetadataRefresher::unknown_key_interval`] (60 s by default), so an IdP that starts signing
//!   with a newly published key is followed within seconds while forged signatures cannot drive
//!   fetches. Nothing triggers a fetch when the IdP withdraws a key: a withdrawn key stays
//!   trusted until the next fetch (the scheduled one, or one an unknown key triggered).
//!
//! Every time is an explicit `now` (or the [`Clock`] given to [`MetadataRefresher::run`]), so the
//! schedule is testable.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::fetch::MetadataFetcher;
use crate::crypto::Certificate;
use crate::error::Error;
use crate::metadata::IdpMetadata;
use crate::tenant::IdpRegistry;
use crate::tenant::config::TenantConfig;
use crate::time::Clock;

/// When metadata is fetched again.
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use]
pub struct RefreshPolicy {
    floor: Duration,
    ceiling: Duration,
    default_interval: Duration,
    jitter: f64,
    backoff_initial: Duration,
    backoff_max: Duration,
}

impl Default for RefreshPolicy {
    /// At least every 24 h and at most every 5 min; every 4 h without `cacheDuration`; 10%
    /// jitter; retries from 1 min doubling to 1 h.
    fn default() -> Self {
        RefreshPolicy {
            floor: Duration::minutes(5),
            ceiling: Duration::hours(24),
            default_interval: Duration::hours(4),
            jitter: 0.1,
            backoff_initial: Duration::minutes(1),
            backoff_max: Duration::hours(1),
        }
    }
}

impl RefreshPolicy {
    /// The shortest interval between two fetches, whatever `cacheDuration` says.
    pub fn floor(mut self, d: Duration) -> Self {
        self.floor = d;
        self
    }
    /// The longest interval between two fetches, whatever `cacheDuration` says.
    pub fn ceiling(mut self, d: Duration) -> Self {
        self.ceiling = d;
        self
    }
    /// The interval when the metadata has no `cacheDuration`.
    pub fn default_interval(mut self, d: Duration) -> Self {
        self.default_interval = d;
        self
    }
    /// The fraction (0 to 0.5) of each interval taken off at random.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 0.5);
        self
    }
    /// The first retry delay after a failure.
    pub fn backoff_initial(mut self, d: Duration) -> Self {
        self.backoff_initial = d;
        self
    }
    /// The longest retry delay.
    pub fn backoff_max(mut self, d: Duration) -> Self {
        self.backoff_max = d;
        self
    }

    /// The next fetch after a success at `now` for metadata with `cache_duration` and
    /// `valid_until` (before jitter).
    fn interval_after_success(
        &self,
        now: DateTime<Utc>,
        cache_duration: Option<Duration>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Duration {
        let mut d = cache_duration
            .unwrap_or(self.default_interval)
            .clamp(self.floor, self.ceiling.max(self.floor));
        if let Some(v) = valid_until {
            // Fetch again at the latest halfway to validUntil, so one failed fetch does not
            // let the copy expire.
            let half = (v - now) / 2;
            if half < d {
                d = half.max(self.floor.min(Duration::seconds(30)));
            }
        }
        d
    }

    fn backoff(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(20);
        let d = self
            .backoff_initial
            .checked_mul(1i32 << shift)
            .unwrap_or(self.backoff_max);
        d.min(self.backoff_max)
    }

    fn with_jitter(&self, d: Duration) -> Duration {
        if self.jitter <= 0.0 {
            return d;
        }
        let mut b = [0u8; 4];
        if crate::crypto::random_bytes(&mut b).is_err() {
            return d;
        }
        let r = f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX);
        let ms = d.num_milliseconds() as f64;
        let off = (ms * self.jitter * r) as i64;
        d - Duration::milliseconds(off)
    }
}

/// One tenant's metadata source: the URL, and the tenant configuration (a preset, the app's
/// policy, domains, ...) whose IdP-side settings each fetched document replaces
/// ([`TenantConfig::with_idp_metadata`]).
#[derive(Debug, Clone)]
pub struct MetadataSource {
    url: String,
    template: TenantConfig,
    entity_id: Option<String>,
    pinned: Vec<Certificate>,
    backing_file: Option<PathBuf>,
    aggregate: Option<PathBuf>,
}

impl MetadataSource {
    /// The tenant `template` kept fresh from `url`.
    pub fn new(url: impl Into<String>, template: TenantConfig) -> Self {
        MetadataSource {
            url: url.into(),
            template,
            entity_id: None,
            pinned: Vec::new(),
            backing_file: None,
            aggregate: None,
        }
    }
    /// The entity to use in an `EntitiesDescriptor` aggregate (InCommon, eduGAIN, ...); also
    /// required to match for a single `EntityDescriptor`. Without it, the entity ID of the first
    /// document installed is pinned: a later document for another entity is refused.
    #[must_use]
    pub fn entity_id(mut self, entity_id: impl Into<String>) -> Self {
        self.entity_id = Some(entity_id.into());
        self
    }
    /// Requires the document to be signed by one of these certificates (federation
    /// aggregates, Entra ID federation metadata). Without it, https authenticates the server.
    #[must_use]
    pub fn verify_with(mut self, certificates: Vec<Certificate>) -> Self {
        self.pinned = certificates;
        self
    }
    /// Keeps the last good document in this file and reads it at start when the URL cannot be
    /// fetched (it is validated again, and never used once expired).
    #[must_use]
    pub fn backing_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.backing_file = Some(path.into());
        self
    }
    /// The URL serves a federation aggregate (InCommon, eduGAIN: tens of MB): each fetch is
    /// written to `file` (through a temporary file beside it, renamed once the entity was found
    /// and the signature verified) and searched for the [`MetadataSource::entity_id`] as a
    /// stream (see [`crate::metadata::aggregate`]), so the aggregate is never held in memory. The
    /// file is also the backing copy read at start when the URL cannot be fetched. The client's
    /// aggregate size limit applies ([`super::MetadataClientBuilder::max_aggregate_bytes`]).
    #[must_use]
    pub fn aggregate(mut self, file: impl Into<PathBuf>) -> Self {
        self.aggregate = Some(file.into());
        self
    }
    /// The tenant slug.
    pub fn slug(&self) -> &str {
        self.template.slug()
    }
    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Searches the aggregate in `file` for the source's entity (off the async threads).
    async fn search_aggregate(
        &self,
        file: PathBuf,
        now: DateTime<Utc>,
    ) -> Result<IdpMetadata, Error> {
        let entity_id = self.entity_id.clone().ok_or(Error::Config {
            field: "entity_id",
            reason: "an aggregate source needs the entity ID of its IdP".into(),
        })?;
        let pinned = self.pinned.clone();
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let f = std::fs::File::open(&file).map_err(|e| Error::MetadataFetch {
                url,
                reason: format!("cannot read {}: {e}", file.display()),
            })?;
            crate::metadata::aggregate::find_idp(
                std::io::BufReader::with_capacity(64 << 10, f),
                &entity_id,
                &pinned,
                now,
                &crate::metadata::aggregate::AggregateLimits::default(),
            )
        })
        .await
        .map_err(|e| Error::Config {
            field: "idp_metadata",
            reason: format!("the aggregate search stopped: {e}"),
        })?
    }

    fn parse(&self, xml: &[u8], now: DateTime<Utc>) -> Result<IdpMetadata, Error> {
        let md = if self.pinned.is_empty() {
            IdpMetadata::parse(xml, self.entity_id.as_deref())?
        } else {
            IdpMetadata::parse_verified(xml, self.entity_id.as_deref(), &self.pinned, now)?
        };
        md.check_valid_at(now)?;
        Ok(md)
    }
}

/// What a refresh changed or found, for audit logs (also emitted as `tracing` events under the
/// target `saml_sp::metadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataEvent {
    /// The tenant's configuration was installed or replaced from fresh metadata.
    Updated {
        /// The tenant.
        tenant: String,
        /// Where it came from: `url` or `backing_file`.
        from: &'static str,
    },
    /// A signing certificate appeared in the metadata (rotation starting).
    CertificateAdded {
        /// The tenant.
        tenant: String,
        /// SHA-256 fingerprint, hex.
        fingerprint: String,
        /// Its notAfter.
        not_after: DateTime<Utc>,
    },
    /// A signing certificate left the metadata (rotation finished).
    CertificateRemoved {
        /// The tenant.
        tenant: String,
        /// SHA-256 fingerprint, hex.
        fingerprint: String,
    },
    /// The last valid signing certificate expires soon and no successor is published.
    CertificateExpiring {
        /// The tenant.
        tenant: String,
        /// SHA-256 fingerprint, hex.
        fingerprint: String,
        /// Its notAfter.
        not_after: DateTime<Utc>,
    },
    /// A fetch failed; the last good copy stays in use until its `validUntil`.
    RefreshFailed {
        /// The tenant.
        tenant: String,
        /// The error code.
        code: &'static str,
        /// The error message.
        message: String,
        /// The next attempt.
        retry_at: DateTime<Utc>,
    },
}

impl MetadataEvent {
    fn emit(&self) {
        match self {
            MetadataEvent::Updated { tenant, .. } => {
                crate::telemetry::metadata_fetch(tenant, "updated");
            }
            MetadataEvent::RefreshFailed { tenant, .. } => {
                crate::telemetry::metadata_fetch(tenant, "failed");
            }
            _ => {}
        }
        match self {
            MetadataEvent::Updated { tenant, from } => {
                tracing::info!(target: "saml_sp::metadata", event = "updated", tenant = %tenant, from = %from, "IdP metadata installed")
            }
            MetadataEvent::CertificateAdded {
                tenant,
                fingerprint,
                not_after,
            } => {
                tracing::info!(target: "saml_sp::metadata", event = "certificate_added", tenant = %tenant, fingerprint = %fingerprint, not_after = %not_after, "IdP signing certificate added")
            }
            MetadataEvent::CertificateRemoved {
                tenant,
                fingerprint,
            } => {
                tracing::info!(target: "saml_sp::metadata", event = "certificate_removed", tenant = %tenant, fingerprint = %fingerprint, "IdP signing certificate removed")
            }
            MetadataEvent::CertificateExpiring {
                tenant,
                fingerprint,
                not_after,
            } => {
                tracing::warn!(target: "saml_sp::metadata", event = "certificate_expiring", tenant = %tenant, fingerprint = %fingerprint, not_after = %not_after, "the IdP's last valid signing certificate expires soon")
            }
            MetadataEvent::RefreshFailed {
                tenant,
                code,
                message,
                retry_at,
            } => {
                tracing::warn!(target: "saml_sp::metadata", event = "refresh_failed", tenant = %tenant, code = %code, retry_at = %retry_at, "{message}")
            }
        }
    }
}

/// One source's state, for an admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceStatus {
    /// The tenant.
    pub tenant: String,
    /// The URL.
    pub url: String,
    /// The last successful fetch (or load from the backing file).
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure's code and message, cleared by a success.
    pub last_error: Option<(&'static str, String)>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The next fetch.
    pub next_refresh: DateTime<Utc>,
    /// The installed copy's `validUntil`.
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Feed {
    source: MetadataSource,
    status: SourceStatus,
    installed: Option<Vec<Certificate>>,
    /// The entity ID of the first document installed: later documents must keep it.
    pinned_entity: Option<String>,
    /// When an unknown signing key last triggered a fetch.
    last_key_fetch: Option<DateTime<Utc>>,
}

type EventSink = Arc<dyn Fn(&MetadataEvent) + Send + Sync>;

/// Keeps every watched tenant's metadata fresh in an [`IdpRegistry`].
pub struct MetadataRefresher {
    registry: Arc<IdpRegistry>,
    fetcher: Arc<dyn MetadataFetcher>,
    policy: RefreshPolicy,
    expiry_warning: Duration,
    feeds: Mutex<Vec<Feed>>,
    sink: Option<EventSink>,
    unknown_key_interval: Duration,
    /// Serializes fetches triggered by unknown keys: a burst of logins waits for one fetch.
    key_fetch: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for MetadataRefresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataRefresher")
            .field("policy", &self.policy)
            .field("expiry_warning", &self.expiry_warning)
            .finish_non_exhaustive()
    }
}

impl MetadataRefresher {
    /// A refresher installing into `registry`, fetching with `fetcher` (usually a
    /// [`super::MetadataClient`]).
    pub fn new(registry: Arc<IdpRegistry>, fetcher: impl MetadataFetcher + 'static) -> Self {
        MetadataRefresher {
            registry,
            fetcher: Arc::new(fetcher),
            policy: RefreshPolicy::default(),
            expiry_warning: Duration::days(30),
            feeds: Mutex::new(Vec::new()),
            sink: None,
            unknown_key_interval: Duration::seconds(60),
            key_fetch: tokio::sync::Mutex::new(()),
        }
    }
    /// How often, at most, a Response signed with a key a tenant does not have may trigger a
    /// fetch of that tenant's metadata (default 60 s; see [`crate::tenant::KeyRefresh`]).
    #[must_use]
    pub fn unknown_key_interval(mut self, interval: Duration) -> Self {
        self.unknown_key_interval = interval;
        self
    }
    /// The refresh schedule.
    #[must_use]
    pub fn policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Warn when the last valid signing certificate expires within this window (default 30 days).
    #[must_use]
    pub fn expiry_warning(mut self, window: Duration) -> Self {
        self.expiry_warning = window;
        self
    }
    /// Also hands every [`MetadataEvent`] to `sink` (an audit table, an alert).
    #[must_use]
    pub fn on_event(mut self, sink: impl Fn(&MetadataEvent) + Send + Sync + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    fn feeds(&self) -> std::sync::MutexGuard<'_, Vec<Feed>> {
        self.feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Watches `source`: fetches it now (falling back to its backing file) and installs the
    /// tenant. The source stays watched even when this first load fails (it is retried with
    /// backoff), so an app can start while an IdP is down; meanwhile the tenant is kept failed
    /// in the registry ([`IdpRegistry::insert_failed`]): logins refused with
    /// `tenant_unavailable`, its enforced email domains still enforced.
    ///
    /// # Errors
    /// The fetch or validation error when neither the URL nor the backing file gave valid
    /// metadata; [`Error::Config`] when the slug is already watched or the registry refuses
    /// the configuration.
    pub async fn watch(
        &self,
        source: MetadataSource,
        now: DateTime<Utc>,
    ) -> Result<Vec<MetadataEvent>, Error> {
        let slug = source.slug().to_owned();
        {
            let mut feeds = self.feeds();
            if feeds.iter().any(|f| f.source.slug() == source.slug()) {
                return Err(Error::Config {
                    field: "slug",
                    reason: format!("tenant {:?} is already watched", source.slug()),
                });
            }
            feeds.push(Feed {
                status: SourceStatus {
                    tenant: source.slug().to_owned(),
                    url: source.url.clone(),
                    last_success: None,
                    last_error: None,
                    consecutive_failures: 0,
                    next_refresh: now,
                    valid_until: None,
                },
                source,
                installed: None,
                pinned_entity: None,
                last_key_fetch: None,
            });
        }
        let result = self.refresh(&slug, now).await;
        if let Err(e) = &result
            && self.registry.by_slug(&slug).is_none()
        {
            // Nothing installed: keep the tenant failed, so its logins are refused with a
            // clear code and its enforced domains stay enforced until a fetch succeeds.
            let template = self
                .feeds()
                .iter()
                .find(|f| f.source.slug() == slug)
                .map(|f| f.source.template.clone());
            if let Some(t) = template
                && let Err(kept) = self
                    .registry
                    .insert_failed(crate::tenant::FailedTenant::from_config(&t, e.clone()))
            {
                tracing::warn!(target: "saml_sp::metadata", tenant = %slug, "cannot keep the tenant failed: {kept}");
            }
        }
        result
    }

    /// Fetches one tenant's metadata now, whatever the schedule.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`] when `slug` is not watched; the fetch or validation error (the
    /// last good copy stays installed).
    pub async fn refresh(
        &self,
        slug: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MetadataEvent>, Error> {
        let (source, first) = {
            let feeds = self.feeds();
            let f = feeds
                .iter()
                .find(|f| f.source.slug() == slug)
                .ok_or_else(|| Error::UnknownTenant {
                    found: slug.to_owned(),
                })?;
            // Once a document is installed its entity ID is pinned: a URL that starts serving
            // another IdP (a takeover, a copy-paste slip) is refused, and the good copy kept.
            let mut source = f.source.clone();
            if source.entity_id.is_none() {
                source.entity_id = f.pinned_entity.clone();
            }
            (source, f.installed.is_none())
        };
        if let Some(file) = source.aggregate.clone() {
            return self.refresh_aggregate(&source, file, first, now).await;
        }
        let fetched = match self.fetcher.fetch(&source.url).await {
            Ok(xml) => source.parse(&xml, now).map(|md| (md, xml, "url")),
            Err(e) => Err(e),
        };
        // At start, a backing file bridges an IdP outage; the outage is still a failure
        // (reported, and the URL retried on the backoff schedule).
        let mut outage = None;
        let fetched = match fetched {
            Ok(ok) => Ok(ok),
            Err(e) if first => match read_backing(&source).await {
                Some(xml) => match source.parse(&xml, now) {
                    Ok(md) => {
                        outage = Some(e);
                        Ok((md, xml, "backing_file"))
                    }
                    Err(_) => Err(e),
                },
                None => Err(e),
            },
            Err(e) => Err(e),
        };
        // A configuration the registry refuses (an issuer another tenant already has) is a
        // failure like any other: backed off, never retried in a tight loop.
        let installed = fetched.and_then(|(md, xml, from)| {
            self.install(&source, &md, from, now)
                .map(|ev| (ev, xml, from))
        });
        match installed {
            Ok((mut events, xml, from)) => {
                if from == "url"
                    && let Some(path) = &source.backing_file
                {
                    write_backing(path, &xml).await;
                }
                if let Some(e) = outage
                    && let Some(ev) = self.record_failure(slug, &e, now)
                {
                    events.push(ev);
                }
                Ok(events)
            }
            Err(e) => Err(self.failed(slug, e, now)),
        }
    }

    /// A failed refresh: backed off, reported, the last good copy kept.
    fn failed(&self, slug: &str, e: Error, now: DateTime<Utc>) -> Error {
        self.record_failure(slug, &e, now);
        e
    }

    /// Records and publishes a failure (backoff, status, event); returns the event.
    fn record_failure(&self, slug: &str, e: &Error, now: DateTime<Utc>) -> Option<MetadataEvent> {
        let mut feeds = self.feeds();
        let event = feeds.iter_mut().find(|f| f.source.slug() == slug).map(|f| {
            f.status.consecutive_failures += 1;
            let retry_at = now
                + self
                    .policy
                    .with_jitter(self.policy.backoff(f.status.consecutive_failures));
            f.status.next_refresh = retry_at;
            f.status.last_error = Some((e.code(), e.to_string()));
            MetadataEvent::RefreshFailed {
                tenant: slug.to_owned(),
                code: e.code(),
                message: e.to_string(),
                retry_at,
            }
        });
        drop(feeds);
        if let Some(ev) = &event {
            self.publish(ev);
        }
        event
    }

    /// [`MetadataRefresher::refresh`] for an aggregate source: download to a temporary file,
    /// search it as a stream, and keep it as the last good copy only when the entity was found
    /// (and the signature verified).
    async fn refresh_aggregate(
        &self,
        source: &MetadataSource,
        file: PathBuf,
        first: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<MetadataEvent>, Error> {
        let slug = source.slug().to_owned();
        let tmp = file.with_extension("download");
        let fetched = match self.fetcher.fetch_to_file(&source.url, &tmp).await {
            Ok(_) => source
                .search_aggregate(tmp.clone(), now)
                .await
                .map(|md| (md, "url")),
            Err(e) => Err(e),
        };
        let mut outage = None;
        let fetched = match fetched {
            Ok(ok) => Ok(ok),
            Err(e) if first && tokio::fs::metadata(&file).await.is_ok() => {
                match source.search_aggregate(file.clone(), now).await {
                    Ok(md) => {
                        outage = Some(e);
                        Ok((md, "backing_file"))
                    }
                    Err(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let installed = fetched
            .and_then(|(md, from)| self.install(source, &md, from, now).map(|ev| (ev, from)));
        match installed {
            Ok((mut events, from)) => {
                if from == "url"
                    && let Err(e) = tokio::fs::rename(&tmp, &file).await
                {
                    tracing::warn!(target: "saml_sp::metadata", path = %file.display(), "cannot keep the aggregate: {e}");
                }
                if let Some(e) = outage
                    && let Some(ev) = self.record_failure(&slug, &e, now)
                {
                    events.push(ev);
                }
                Ok(events)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(self.failed(&slug, e, now))
            }
        }
    }

    fn publish(&self, event: &MetadataEvent) {
        event.emit();
        if let Some(s) = &self.sink {
            s(event);
        }
    }

    /// Installs `md` for `source` in the registry and reports what changed.
    fn install(
        &self,
        source: &MetadataSource,
        md: &IdpMetadata,
        from: &'static str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MetadataEvent>, Error> {
        let slug = source.slug().to_owned();
        // The registry's enable/disable switch belongs to the app: keep it across refreshes.
        let enabled = self
            .registry
            .by_slug(&slug)
            .map_or(source.template.enabled, |t| t.is_enabled());
        let config = source
            .template
            .clone()
            .with_idp_metadata(md)
            .enabled(enabled);
        if self.registry.by_slug(&slug).is_some() {
            self.registry.replace(config)?;
        } else {
            self.registry.insert(config)?;
        }
        let new_certs = md.signing_certificates().to_vec();
        let mut events = vec![MetadataEvent::Updated {
            tenant: slug.clone(),
            from,
        }];
        let mut feeds = self.feeds();
        if let Some(f) = feeds.iter_mut().find(|f| f.source.slug() == slug) {
            let old = f.installed.take().unwrap_or_default();
            for c in &new_certs {
                if !old.iter().any(|o| o.der() == c.der()) {
                    events.push(MetadataEvent::CertificateAdded {
                        tenant: slug.clone(),
                        fingerprint: c.fingerprint_hex(),
                        not_after: c.not_after(),
                    });
                }
            }
            for o in &old {
                if !new_certs.iter().any(|c| c.der() == o.der()) {
                    events.push(MetadataEvent::CertificateRemoved {
                        tenant: slug.clone(),
                        fingerprint: o.fingerprint_hex(),
                    });
                }
            }
            if let Some(w) = crate::tenant::expiry_warning(&new_certs, now, self.expiry_warning) {
                events.push(MetadataEvent::CertificateExpiring {
                    tenant: slug.clone(),
                    fingerprint: w.fingerprint_hex(),
                    not_after: w.not_after(),
                });
            }
            f.installed = Some(new_certs);
            f.pinned_entity = Some(md.entity_id().to_owned());
            f.status.last_success = Some(now);
            f.status.last_error = None;
            f.status.consecutive_failures = 0;
            f.status.valid_until = md.valid_until();
            f.status.next_refresh = now
                + self.policy.with_jitter(self.policy.interval_after_success(
                    now,
                    md.cache_duration(),
                    md.valid_until(),
                ));
        }
        drop(feeds);
        for e in &events {
            self.publish(e);
        }
        Ok(events)
    }

    /// Refreshes every source whose time has come; returns the events of all of them.
    /// Failures are reported as [`MetadataEvent::RefreshFailed`] events.
    pub async fn refresh_due(&self, now: DateTime<Utc>) -> Vec<MetadataEvent> {
        let due: Vec<String> = self
            .feeds()
            .iter()
            .filter(|f| f.status.next_refresh <= now)
            .map(|f| f.source.slug().to_owned())
            .collect();
        let mut events = Vec::new();
        for slug in due {
            match self.refresh(&slug, now).await {
                Ok(ev) => events.extend(ev),
                Err(e) => events.push(MetadataEvent::RefreshFailed {
                    tenant: slug.clone(),
                    code: e.code(),
                    message: e.to_string(),
                    retry_at: self.status(&slug).map_or(now, |s| s.next_refresh),
                }),
            }
        }
        events
    }

    /// One source's state.
    pub fn status(&self, slug: &str) -> Option<SourceStatus> {
        self.feeds()
            .iter()
            .find(|f| f.source.slug() == slug)
            .map(|f| f.status.clone())
    }

    /// Every source's state (an admin page; see also [`IdpRegistry::certificate_health`]).
    pub fn statuses(&self) -> Vec<SourceStatus> {
        self.feeds().iter().map(|f| f.status.clone()).collect()
    }

    /// Runs forever: refreshes due sources, then sleeps until the next one is due (at most a
    /// minute, so sources watched later are picked up). Spawn it:
    /// `tokio::spawn(refresher.clone().run(Arc::new(SystemClock)))`.
    pub async fn run(self: Arc<Self>, clock: Arc<dyn Clock>) {
        loop {
            let now = clock.now();
            self.refresh_due(now).await;
            let next = self
                .feeds()
                .iter()
                .map(|f| f.status.next_refresh)
                .min()
                .unwrap_or(now + Duration::minutes(1));
            let wait = (next - clock.now())
                .clamp(Duration::seconds(1), Duration::minutes(1))
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(60));
            tokio::time::sleep(wait).await;
        }
    }
}

impl crate::tenant::KeyRefresh for MetadataRefresher {
    fn unknown_signing_key<'a>(
        &'a self,
        slug: &'a str,
        now: DateTime<Utc>,
    ) -> crate::tenant::KeyRefreshFuture<'a> {
        Box::pin(async move {
            // Logins arriving while a fetch runs wait for it, then find the interval not yet
            // passed and return: they validate against what that fetch installed.
            let _one_at_a_time = self.key_fetch.lock().await;
            {
                let mut feeds = self.feeds();
                let Some(f) = feeds.iter_mut().find(|f| f.source.slug() == slug) else {
                    return;
                };
                if f.last_key_fetch
                    .is_some_and(|t| now < t + self.unknown_key_interval)
                {
                    return;
                }
                f.last_key_fetch = Some(now);
            }
            tracing::info!(target: "saml_sp::metadata", event = "unknown_key_fetch", tenant = %slug, "a Response was signed with a key the tenant does not have: fetching its metadata now");
            // A failure is reported and backed off by `refresh` itself.
            let _ = self.refresh(slug, now).await;
        })
    }
}

async fn read_backing(source: &MetadataSource) -> Option<Vec<u8>> {
    let path = source.backing_file.as_ref()?;
    tokio::fs::read(path).await.ok()
}

/// Writes the file atomically (a temporary file, then a rename); failures are logged, not fatal.
async fn write_backing(path: &std::path::Path, xml: &[u8]) {
    let tmp = path.with_extension("tmp");
    let result = async {
        tokio::fs::write(&tmp, xml).await?;
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(target: "saml_sp::metadata", path = %path.display(), "cannot write the metadata backing file: {e}");
    }
}
