//! The registry of tenants: look-ups by slug, issuer and email domain; atomic updates.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::Error;
use crate::login::provision::AttributeMapping;
use crate::sp::config::{IdentityProvider, ServiceProvider};

use super::config::{SpSettings, TenantConfig};

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
    by_issuer: HashMap<String, String>,
    by_domain: HashMap<String, String>,
}

/// The tenant registry. Share it (`Arc<IdpRegistry>`) across threads: reads are lock-free,
/// writes replace an immutable snapshot atomically (serialized among themselves).
#[derive(Debug)]
pub struct IdpRegistry {
    sp: SpSettings,
    snapshot: ArcSwap<Snapshot>,
    write: std::sync::Mutex<()>,
}

impl IdpRegistry {
    /// An empty registry.
    pub fn new(sp: SpSettings) -> Self {
        IdpRegistry {
            sp,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            write: std::sync::Mutex::new(()),
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
        if let Some(k) = &self.sp.signing_key {
            b = b.signing_key(k.clone());
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
        change: impl FnOnce(&mut HashMap<String, Arc<Tenant>>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let _guard = self.write.lock().map_err(|_| Error::Config {
            field: "registry",
            reason: "poisoned".into(),
        })?;
        let current = self.snapshot.load();
        let mut by_slug = current.by_slug.clone();
        change(&mut by_slug)?;
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
        for (slug, t) in &by_slug {
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
            for d in &t.config.email_domains {
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
        self.snapshot.store(Arc::new(Snapshot {
            by_slug,
            by_issuer,
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
            if m.contains_key(tenant.slug()) {
                return Err(Error::Config {
                    field: "slug",
                    reason: format!("tenant {:?} already exists", tenant.slug()),
                });
            }
            m.insert(tenant.slug().to_owned(), tenant);
            Ok(())
        })
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
            if !m.contains_key(tenant.slug()) {
                return Err(Error::UnknownTenant {
                    found: tenant.slug().to_owned(),
                });
            }
            m.insert(tenant.slug().to_owned(), tenant);
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
            m.remove(slug)
                .map(|_| ())
                .ok_or_else(|| Error::UnknownTenant {
                    found: slug.to_owned(),
                })
        })
    }

    /// The tenant with this slug (enabled or not).
    pub fn by_slug(&self, slug: &str) -> Option<Arc<Tenant>> {
        self.snapshot.load().by_slug.get(slug).cloned()
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
        let domain = crate::login::provision::email_domain(email)?;
        let snap = self.snapshot.load();
        snap.by_domain
            .get(&domain)
            .and_then(|slug| snap.by_slug.get(slug))
            .filter(|t| t.is_enabled())
            .cloned()
    }

    /// Whether password logins must be refused for `domain` (an enabled tenant owns it with SSO
    /// enforcement on).
    pub fn sso_enforced_for(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        let snap = self.snapshot.load();
        snap.by_domain
            .get(&domain)
            .and_then(|slug| snap.by_slug.get(slug))
            .is_some_and(|t| t.is_enabled() && t.config.enforce_sso)
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
