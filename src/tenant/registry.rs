//! The registry of tenants: look-ups by slug, issuer and email domain; atomic updates.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::Error;
use crate::sp::config::{IdentityProvider, ServiceProvider};
use crate::sp::identity::AttributeMapping;

use super::config::{SpSettings, TenantConfig};
use super::failed::{FailedTenant, StoredTenant, TenantLoad};

/// A tenant as the registry holds it: its configuration and a ready [`ServiceProvider`].
#[derive(Debug)]
pub struct Tenant {
    config: TenantConfig,
    sp: ServiceProvider,
}

impl Tenant {
    /// The slug.
    pub fn slug(&self) -> &str {
        &self.config.slug
    }
    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.config.display_name
    }
    /// Whether logins are accepted.
    pub fn is_enabled(&self) -> bool {
        self.config.enabled
    }
    /// The IdP entity ID.
    pub fn idp_entity_id(&self) -> &str {
        &self.config.idp_entity_id
    }
    /// The IdP SSO URL.
    pub fn sso_url(&self) -> Option<&str> {
        self.config.sso_url.as_deref()
    }
    /// Whether AuthnRequests to this tenant's IdP are signed.
    pub fn signs_authn_requests(&self) -> bool {
        self.config.sign_authn_requests
    }
    /// The IdP Single Logout URL.
    pub fn slo_url(&self) -> Option<&str> {
        self.config.slo_url.as_deref()
    }
    /// This tenant's ACS URL.
    pub fn acs_url(&self) -> &str {
        self.sp.acs_url()
    }
    /// The binding its AuthnRequests are sent with.
    pub fn sso_binding(&self) -> crate::binding::SsoBinding {
        self.config.sso_binding
    }
    /// The NameIDPolicy Format its AuthnRequests ask for.
    pub fn requested_name_id_format(&self) -> Option<&str> {
        self.config.requested_name_id_format.as_deref()
    }
    /// Whether its IdP is asked to answer with artifacts.
    pub fn artifact_responses(&self) -> bool {
        self.config.artifact_responses
    }
    /// Its IdP's ArtifactResolutionService URL, if known.
    pub fn artifact_resolution_url(&self) -> Option<&str> {
        self.config.artifact_resolution_url.as_deref()
    }
    /// The `Scoping` its AuthnRequests carry, if configured.
    pub fn scoping(&self) -> Option<&super::Scoping> {
        self.config.scoping.as_ref()
    }
    /// The IdP preset the tenant was built from, if any.
    pub fn preset(&self) -> Option<super::IdpPreset> {
        self.config.preset
    }
    /// This tenant's SP entity ID.
    pub fn sp_entity_id(&self) -> &str {
        self.sp.entity_id()
    }
    /// Just-in-time provisioning.
    pub fn jit(&self) -> bool {
        self.config.jit
    }
    /// The attribute mapping.
    pub fn attribute_mapping(&self) -> &AttributeMapping {
        &self.config.mapping
    }
    /// The tenant's email domains (lower case).
    pub fn email_domains(&self) -> &[String] {
        &self.config.email_domains
    }
    /// The validator for this tenant's responses.
    pub fn service_provider(&self) -> &ServiceProvider {
        &self.sp
    }
    /// Whether unsolicited responses are accepted.
    pub fn allows_unsolicited(&self) -> bool {
        self.config
            .policy
            .danger
            .dangerous_allow_unsolicited_responses
    }
}

#[derive(Debug, Default)]
struct Snapshot {
    by_slug: HashMap<String, Arc<Tenant>>,
    /// Tenants that could not be loaded (never also in `by_slug`).
    failed: HashMap<String, Arc<FailedTenant>>,
    by_issuer: HashMap<String, String>,
    /// The SHA-1 of each IdP entity ID (an artifact's SourceID) -> slug.
    by_source: HashMap<[u8; 20], String>,
    /// Every owned domain, of working and failed tenants alike.
    by_domain: HashMap<String, String>,
}

/// The two maps a change edits.
#[derive(Clone)]
struct Tenants {
    working: HashMap<String, Arc<Tenant>>,
    failed: HashMap<String, Arc<FailedTenant>>,
}

/// The tenant registry. Share it (`Arc<IdpRegistry>`) across threads: reads are lock-free,
/// writes replace an immutable snapshot atomically (serialized among themselves).
#[derive(Debug)]
pub struct IdpRegistry {
    sp: SpSettings,
    snapshot: ArcSwap<Snapshot>,
    write: std::sync::Mutex<()>,
    /// Why the tenants' store could not be read, while it cannot.
    source_down: std::sync::RwLock<Option<String>>,
    /// The SP keys in force (from the settings' key ring), when it has one.
    keys: std::sync::RwLock<Option<super::sp_keys::SpKeysAt>>,
}

impl IdpRegistry {
    /// An empty registry.
    pub fn new(sp: SpSettings) -> Self {
        let keys = sp.key_ring.as_ref().map(|(r, now)| r.at(*now));
        IdpRegistry {
            sp,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            write: std::sync::Mutex::new(()),
            keys: std::sync::RwLock::new(keys),
            source_down: std::sync::RwLock::new(None),
        }
    }

    /// Installs the SP keys of the settings' key ring at `now` in every tenant (signing key,
    /// decryption keys, certificates in SP metadata), when they differ from those in force.
    /// Call it at [`super::SpKeyRing::next_change`] (or every minute). Returns whether
    /// anything changed; without a key ring, nothing does.
    ///
    /// # Errors
    /// [`Error::Config`] when a tenant cannot be rebuilt (nothing changes then).
    pub fn apply_sp_keys(&self, now: chrono::DateTime<chrono::Utc>) -> Result<bool, Error> {
        let Some((ring, _)) = &self.sp.key_ring else {
            return Ok(false);
        };
        let poisoned = || Error::Config {
            field: "registry",
            reason: "poisoned".into(),
        };
        let state = ring.state_at(now);
        if self
            .keys
            .read()
            .map_err(|_| poisoned())?
            .as_ref()
            .is_some_and(|k| k.state == state)
        {
            return Ok(false);
        }
        let next = ring.at(now);
        let _guard = self.write.lock().map_err(|_| poisoned())?;
        let previous = self.keys.write().map_err(|_| poisoned())?.replace(next);
        let current = self.snapshot.load();
        let mut by_slug = HashMap::new();
        for (slug, t) in &current.by_slug {
            match self.build_tenant(t.config.clone()) {
                Ok(rebuilt) => {
                    by_slug.insert(slug.clone(), Arc::new(rebuilt));
                }
                Err(e) => {
                    *self.keys.write().map_err(|_| poisoned())? = previous;
                    return Err(e);
                }
            }
        }
        self.snapshot.store(Arc::new(Snapshot {
            by_slug,
            failed: current.failed.clone(),
            by_issuer: current.by_issuer.clone(),
            by_source: current.by_source.clone(),
            by_domain: current.by_domain.clone(),
        }));
        Ok(true)
    }

    /// Records that the store the tenants come from cannot be read (`Some(reason)`: a database
    /// down at start, say) or can again (`None`). While it cannot, a login for a tenant the
    /// registry does not hold may be for one it would hold, so it fails with
    /// `store_unavailable` instead of `unknown_tenant`; `ProfileService::load` and `sync` keep
    /// this up to date.
    pub fn set_source_unavailable(&self, reason: Option<String>) {
        if let Ok(mut g) = self.source_down.write() {
            *g = reason;
        }
    }

    /// Why the tenants' store cannot be read, while it cannot. An app that decides from
    /// [`IdpRegistry::sso_enforced_for`] whether a password may be used should refuse passwords
    /// meanwhile: an enforced domain's tenant may be one that is not loaded.
    pub fn source_unavailable(&self) -> Option<String> {
        self.source_down.read().ok()?.clone()
    }

    /// The error for a tenant this registry does not hold.
    fn unknown(&self, found: String) -> Error {
        match self.source_unavailable() {
            Some(reason) => Error::StoreUnavailable(crate::store::StoreError::Unavailable(reason)),
            None => Error::UnknownTenant { found },
        }
    }

    /// The SP-wide settings every tenant shares.
    pub fn sp_settings(&self) -> &SpSettings {
        &self.sp
    }

    fn build_tenant(&self, config: TenantConfig) -> Result<Tenant, Error> {
        config.validate()?;
        let mut idp =
            IdentityProvider::new(config.idp_entity_id.clone(), config.certificates.clone())?;
        if let Some(u) = &config.sso_url {
            idp = idp.with_sso_url(u.clone());
        }
        if let Some(u) = &config.slo_url {
            idp = idp.with_slo_url(u.clone());
        }
        if let Some(t) = config.metadata_valid_until {
            idp = idp.with_valid_until(t);
        }
        let mut b = ServiceProvider::builder(
            config
                .sp_entity_id
                .clone()
                .unwrap_or_else(|| self.sp.entity_id(&config.slug)),
            config
                .acs_url
                .clone()
                .unwrap_or_else(|| self.sp.acs_url(&config.slug)),
            idp,
        )
        .policy(config.policy.clone());
        if let Some(u) = self.sp.slo_url(&config.slug) {
            b = b.single_logout_url(u);
        }
        let keys = self.keys.read().map_err(|_| Error::Config {
            field: "registry",
            reason: "poisoned".into(),
        })?;
        match keys.as_ref() {
            Some(k) => {
                if let Some(s) = &k.signing {
                    b = b.signing_key(s.clone());
                }
                for d in &k.decryption {
                    b = b.decryption_key(d.clone());
                }
                let signing_fp = k
                    .signing
                    .as_ref()
                    .and_then(|s| s.certificate())
                    .map(|c| c.fingerprint_hex());
                for c in &k.published {
                    if Some(c.fingerprint_hex()) != signing_fp {
                        b = b.published_certificate(c.clone());
                    }
                }
            }
            None => {
                if let Some(k) = &self.sp.signing_key {
                    b = b.signing_key(k.clone());
                }
            }
        }
        Ok(Tenant {
            sp: b.build()?,
            config,
        })
    }

    /// Applies `change` (to the tenant `changed`) to a copy of the current snapshot and
    /// publishes it. A conflict names the tenant that already holds the issuer or domain (never
    /// `changed` itself), whatever the map's iteration order.
    fn update(
        &self,
        changed: &str,
        change: impl FnOnce(&mut Tenants) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let _guard = self.write.lock().map_err(|_| Error::Config {
            field: "registry",
            reason: "poisoned".into(),
        })?;
        let current = self.snapshot.load();
        let mut tenants = Tenants {
            working: current.by_slug.clone(),
            failed: current.failed.clone(),
        };
        change(&mut tenants)?;
        let mut by_issuer = HashMap::new();
        let mut by_domain = HashMap::new();
        // Of two tenants in conflict, the holder is the one that is not being changed.
        let holder = |a: &str, b: &str| {
            if a == changed {
                b.to_owned()
            } else {
                a.to_owned()
            }
        };
        let domains = tenants
            .working
            .iter()
            .map(|(slug, t)| (slug, &t.config.email_domains))
            .chain(
                tenants
                    .failed
                    .iter()
                    .map(|(slug, f)| (slug, &f.email_domains)),
            );
        for (slug, owned) in domains {
            for d in owned {
                if let Some(other) = by_domain.insert(d.clone(), slug.clone()) {
                    return Err(Error::Config {
                        field: "email_domains",
                        reason: format!(
                            "{d:?} already belongs to tenant {:?}",
                            holder(&other, slug)
                        ),
                    });
                }
            }
        }
        for (slug, t) in &tenants.working {
            if let Some(other) = by_issuer.insert(t.config.idp_entity_id.clone(), slug.clone()) {
                return Err(Error::Config {
                    field: "idp_entity_id",
                    reason: format!(
                        "{:?} is already the IdP of tenant {:?}",
                        t.config.idp_entity_id,
                        holder(&other, slug)
                    ),
                });
            }
        }
        let by_source = by_issuer
            .iter()
            .map(|(issuer, slug)| (crate::binding::source_id(issuer), slug.clone()))
            .collect();
        self.snapshot.store(Arc::new(Snapshot {
            by_slug: tenants.working,
            failed: tenants.failed,
            by_issuer,
            by_source,
            by_domain,
        }));
        Ok(())
    }

    /// Adds a tenant.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: invalid configuration, a slug already present, an
    /// issuer or email domain already used by another tenant.
    pub fn insert(&self, config: TenantConfig) -> Result<(), Error> {
        let tenant = Arc::new(self.build_tenant(config)?);
        let slug = tenant.slug().to_owned();
        self.update(&slug, |m| {
            if m.working.contains_key(tenant.slug()) {
                return Err(Error::Config {
                    field: "slug",
                    reason: format!("tenant {:?} already exists", tenant.slug()),
                });
            }
            // A failed tenant of this slug is recovered.
            m.failed.remove(tenant.slug());
            m.working.insert(tenant.slug().to_owned(), tenant);
            Ok(())
        })
    }

    /// Keeps a tenant whose configuration could not be loaded ([`FailedTenant`]): its logins
    /// are refused with `tenant_unavailable`, its email domains stay owned and, when enforced,
    /// enforced. A later [`IdpRegistry::insert`] or [`IdpRegistry::replace`] of the slug
    /// recovers it. A working tenant of the slug is kept as it is (its last good configuration
    /// stays in use).
    ///
    /// # Errors
    /// [`Error::Config`]: a working tenant has the slug, or another tenant owns one of its
    /// domains.
    pub fn insert_failed(&self, failed: FailedTenant) -> Result<(), Error> {
        let failed = Arc::new(failed);
        let slug = failed.slug.clone();
        self.update(&slug, |m| {
            if m.working.contains_key(&failed.slug) {
                return Err(Error::Config {
                    field: "slug",
                    reason: format!(
                        "tenant {:?} is loaded; its last good configuration stays in use",
                        failed.slug
                    ),
                });
            }
            m.failed.insert(failed.slug.clone(), failed);
            Ok(())
        })
    }

    /// Loads stored tenants (an app's start): each configuration that builds and installs is
    /// installed; each one that does not is kept failed ([`IdpRegistry::insert_failed`]) so its
    /// SSO enforcement holds. Returns every tenant's outcome, in the order given; nothing is
    /// dropped silently.
    pub fn load(&self, tenants: impl IntoIterator<Item = StoredTenant>) -> Vec<TenantLoad> {
        tenants
            .into_iter()
            .map(|stored| {
                let outcome = stored.config.and_then(|c| self.insert(c));
                if let Err(e) = &outcome {
                    let failed = FailedTenant::new(
                        stored.slug.clone(),
                        stored.email_domains,
                        stored.enforce_sso,
                        e.clone(),
                    );
                    if let Err(kept) = self.insert_failed(failed) {
                        tracing::warn!(target: "saml_sp::tenant", tenant = %stored.slug, "a tenant that failed to load could not be kept failed: {kept}");
                    }
                    tracing::warn!(target: "saml_sp::tenant", tenant = %stored.slug, code = e.code(), "tenant not loaded, kept failed (logins refused, enforcement kept): {e}");
                }
                TenantLoad {
                    slug: stored.slug,
                    outcome,
                }
            })
            .collect()
    }

    /// Replaces a tenant's configuration (certificate rotation, policy changes). Validations in
    /// flight finish with the configuration they started with.
    ///
    /// # Errors
    /// As [`IdpRegistry::insert`]; [`Error::UnknownTenant`] when the slug is absent.
    pub fn replace(&self, config: TenantConfig) -> Result<(), Error> {
        let tenant = Arc::new(self.build_tenant(config)?);
        let slug = tenant.slug().to_owned();
        self.update(&slug, |m| {
            if !m.working.contains_key(tenant.slug()) && m.failed.remove(tenant.slug()).is_none() {
                return Err(Error::UnknownTenant {
                    found: tenant.slug().to_owned(),
                });
            }
            m.working.insert(tenant.slug().to_owned(), tenant);
            Ok(())
        })
    }

    /// Enables or disables a tenant.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`].
    pub fn set_enabled(&self, slug: &str, enabled: bool) -> Result<(), Error> {
        let current = self.by_slug(slug).ok_or_else(|| Error::UnknownTenant {
            found: slug.to_owned(),
        })?;
        self.replace(current.config.clone().enabled(enabled))
    }

    /// Removes a tenant.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`].
    pub fn remove(&self, slug: &str) -> Result<(), Error> {
        self.update(slug, |m| {
            let working = m.working.remove(slug).is_some();
            let failed = m.failed.remove(slug).is_some();
            if working || failed {
                Ok(())
            } else {
                Err(Error::UnknownTenant {
                    found: slug.to_owned(),
                })
            }
        })
    }

    /// The tenant with this slug (enabled or not).
    pub fn by_slug(&self, slug: &str) -> Option<Arc<Tenant>> {
        self.snapshot.load().by_slug.get(slug).cloned()
    }

    /// The failed tenant with this slug ([`IdpRegistry::insert_failed`]), if it is failed.
    pub fn failed(&self, slug: &str) -> Option<Arc<FailedTenant>> {
        self.snapshot.load().failed.get(slug).cloned()
    }

    /// Every failed tenant, sorted by slug (an admin page, a health check).
    pub fn failures(&self) -> Vec<Arc<FailedTenant>> {
        let mut out: Vec<_> = self.snapshot.load().failed.values().cloned().collect();
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        out
    }

    /// The tenant for a login on `slug`'s route: enabled and loaded.
    ///
    /// # Errors
    /// [`Error::TenantUnavailable`] for a failed tenant, [`Error::IdpDisabled`],
    /// [`Error::UnknownTenant`].
    pub fn for_login(&self, slug: &str) -> Result<Arc<Tenant>, Error> {
        let snap = self.snapshot.load();
        if let Some(f) = snap.failed.get(slug) {
            return Err(f.unavailable());
        }
        let t = snap
            .by_slug
            .get(slug)
            .ok_or_else(|| self.unknown(slug.to_owned()))?;
        if !t.is_enabled() {
            return Err(Error::IdpDisabled {
                tenant: slug.to_owned(),
            });
        }
        Ok(t.clone())
    }

    /// IdP discovery for a login: the tenant owning the domain of `email`, enabled and loaded.
    ///
    /// # Errors
    /// [`Error::TenantUnavailable`] when the owner failed to load, [`Error::IdpDisabled`],
    /// [`Error::UnknownTenant`] when no tenant owns the domain.
    pub fn discover_for_login(&self, email: &str) -> Result<Arc<Tenant>, Error> {
        let domain = crate::sp::identity::email_domain(email);
        let slug = domain
            .as_ref()
            .and_then(|d| self.snapshot.load().by_domain.get(d).cloned())
            .ok_or_else(|| {
                self.unknown(domain.unwrap_or_else(|| email.chars().take(80).collect()))
            })?;
        self.for_login(&slug)
    }

    /// The tenant whose IdP issued `artifact` (its SourceID is the SHA-1 of the IdP's entity
    /// ID): for an ACS shared by every tenant, the artifact picks the IdP.
    pub fn by_artifact(&self, artifact: &crate::binding::Artifact) -> Option<Arc<Tenant>> {
        let snap = self.snapshot.load();
        snap.by_source
            .get(&artifact.source_id)
            .and_then(|slug| snap.by_slug.get(slug))
            .cloned()
    }

    /// The tenant whose IdP is `issuer`.
    pub fn by_issuer(&self, issuer: &str) -> Option<Arc<Tenant>> {
        let snap = self.snapshot.load();
        snap.by_issuer
            .get(issuer)
            .and_then(|slug| snap.by_slug.get(slug))
            .cloned()
    }

    /// IdP discovery: the enabled tenant owning the domain of `email` (domains compare
    /// case-insensitively).
    pub fn discover(&self, email: &str) -> Option<Arc<Tenant>> {
        let domain = crate::sp::identity::email_domain(email)?;
        let snap = self.snapshot.load();
        snap.by_domain
            .get(&domain)
            .and_then(|slug| snap.by_slug.get(slug))
            .filter(|t| t.is_enabled())
            .cloned()
    }

    /// Whether password logins must be refused for `domain`: an enabled tenant owns it with SSO
    /// enforcement on, or a tenant that failed to load does (a failure never lifts
    /// enforcement; only an explicit change of the configuration does).
    pub fn sso_enforced_for(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        let snap = self.snapshot.load();
        snap.by_domain.get(&domain).is_some_and(|slug| {
            snap.by_slug
                .get(slug)
                .is_some_and(|t| t.is_enabled() && t.config.enforce_sso)
                || snap.failed.get(slug).is_some_and(|f| f.enforce_sso)
        })
    }

    /// Number of tenants.
    pub fn len(&self) -> usize {
        self.snapshot.load().by_slug.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every tenant's signing-certificate report at `now`, sorted by slug: which certificates
    /// are valid, and whether the last valid one expires within `warning_window` (30 days is a
    /// good default) with no successor published.
    pub fn certificate_health(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        warning_window: chrono::Duration,
    ) -> Vec<super::TenantHealth> {
        let snap = self.snapshot.load();
        let mut out: Vec<_> = snap
            .by_slug
            .values()
            .map(|t| {
                super::health::report(
                    &t.config.slug,
                    &t.config.certificates,
                    t.config.metadata_valid_until,
                    now,
                    warning_window,
                )
            })
            .collect();
        out.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        out
    }
}
