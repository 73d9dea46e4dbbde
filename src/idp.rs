//! Many IdPs in one app: a registry of per-tenant SSO configurations.
//!
//! Each tenant (customer organization) has a stable slug, its IdP (issuer, SSO URL, signing
//! certificates), policies, and the email domains it owns. Look-ups go by slug (from the ACS or
//! login path), by the Response's Issuer, or by email domain (IdP discovery). Configurations are
//! added, replaced (certificate rotation), disabled and removed at run time; readers never take a
//! lock (the registry is an atomically swapped immutable snapshot).
//!
//! ```
//! use saml_sp::idp::{IdpRegistry, SpSettings, TenantConfig};
//! use saml_sp::crypto::Certificate;
//!
//! let certs = Certificate::parse_all(&std::fs::read("../shared/bench/idp.crt")?)?;
//! let registry = IdpRegistry::new(SpSettings::new(
//!     "https://app.example.com/saml/metadata",
//!     "https://app.example.com/login/saml/{tenant}/callback",
//! )?);
//! registry.insert(
//!     TenantConfig::new("acme", "http://www.okta.com/exk1bench0idp0okta0x7", certs)
//!         .sso_url("https://acme.okta.com/app/x/sso/saml")
//!         .email_domains(["acme.example"])
//!         .enforce_sso(true),
//! )?;
//! assert_eq!(registry.discover("Ada@ACME.example").unwrap().slug(), "acme");
//! assert!(registry.sso_enforced_for("acme.example"));
//! assert_eq!(registry.by_slug("acme").unwrap().acs_url(), "https://app.example.com/login/saml/acme/callback");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{IdentityProvider, ServiceProvider, SignaturePolicy, ValidationPolicy};
use crate::crypto::Certificate;
use crate::error::Error;
use crate::provision::AttributeMapping;

/// SP-wide settings shared by every tenant.
#[derive(Debug, Clone)]
pub struct SpSettings {
    entity_id_template: String,
    acs_url_template: String,
    slo_url_template: Option<String>,
    signing_key: Option<crate::crypto::SigningKey>,
}

impl SpSettings {
    /// The SP entity ID and ACS URL; either may contain `{tenant}`, replaced by the slug
    /// (`https://app.example.com/login/saml/{tenant}/callback`).
    ///
    /// # Errors
    /// [`Error::Config`] when either is empty or the ACS URL is not http(s).
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>) -> Result<Self, Error> {
        let (entity_id_template, acs_url_template) = (entity_id.into(), acs_url.into());
        if entity_id_template.is_empty() {
            return Err(Error::Config {
                field: "sp_entity_id",
                reason: "must not be empty".into(),
            });
        }
        if !(acs_url_template.starts_with("https://") || acs_url_template.starts_with("http://")) {
            return Err(Error::Config {
                field: "acs_url",
                reason: format!("expected an http(s) URL, found {acs_url_template:?}"),
            });
        }
        Ok(SpSettings {
            entity_id_template,
            acs_url_template,
            slo_url_template: None,
            signing_key: None,
        })
    }
    /// The SP's Single Logout URL (may contain `{tenant}`).
    #[must_use]
    pub fn single_logout_url(mut self, url: impl Into<String>) -> Self {
        self.slo_url_template = Some(url.into());
        self
    }
    /// The SP's signing key (logout messages; AuthnRequests when an IdP wants them signed).
    #[must_use]
    pub fn signing_key(mut self, key: crate::crypto::SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }
    fn slo_url(&self, slug: &str) -> Option<String> {
        self.slo_url_template
            .as_ref()
            .map(|t| t.replace("{tenant}", slug))
    }
    fn entity_id(&self, slug: &str) -> String {
        self.entity_id_template.replace("{tenant}", slug)
    }
    fn acs_url(&self, slug: &str) -> String {
        self.acs_url_template.replace("{tenant}", slug)
    }
}

/// One tenant's SSO configuration.
#[derive(Debug, Clone)]
#[must_use]
pub struct TenantConfig {
    slug: String,
    display_name: String,
    enabled: bool,
    idp_entity_id: String,
    sso_url: Option<String>,
    slo_url: Option<String>,
    certificates: Vec<Certificate>,
    policy: ValidationPolicy,
    jit: bool,
    mapping: AttributeMapping,
    email_domains: Vec<String>,
    enforce_sso: bool,
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

impl TenantConfig {
    /// A tenant `slug` trusting the IdP `idp_entity_id` with these signing certificates.
    /// Defaults: enabled, JIT on, signature policy `either`, unsolicited responses refused.
    pub fn new(
        slug: impl Into<String>,
        idp_entity_id: impl Into<String>,
        certificates: Vec<Certificate>,
    ) -> Self {
        let slug = slug.into();
        TenantConfig {
            display_name: slug.clone(),
            slug,
            enabled: true,
            idp_entity_id: idp_entity_id.into(),
            sso_url: None,
            slo_url: None,
            certificates,
            policy: ValidationPolicy::default(),
            jit: true,
            mapping: AttributeMapping::default(),
            email_domains: Vec::new(),
            enforce_sso: false,
        }
    }
    /// A tenant `slug` configured from the IdP's metadata XML (entity ID, every signing
    /// certificate, the Redirect (else POST) SSO URL).
    ///
    /// # Errors
    /// As [`crate::metadata::IdpMetadata::parse`]; [`Error::MetadataExpired`] when the
    /// metadata's `validUntil` is at or before `now`.
    pub fn from_idp_metadata(
        slug: impl Into<String>,
        metadata_xml: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, Error> {
        let md = crate::metadata::IdpMetadata::parse(metadata_xml, None)?;
        md.check_valid_at(now)?;
        let sso = md
            .sso_url(crate::metadata::HTTP_REDIRECT)
            .or_else(|| md.sso_url(crate::metadata::HTTP_POST))
            .map(str::to_owned);
        let mut c = TenantConfig::new(slug, md.entity_id(), md.signing_certificates().to_vec());
        c.sso_url = sso;
        c.slo_url = md
            .slo_url(crate::metadata::HTTP_REDIRECT)
            .map(str::to_owned);
        Ok(c)
    }
    /// Human-readable name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }
    /// Enabled (default) or disabled.
    pub fn enabled(mut self, yes: bool) -> Self {
        self.enabled = yes;
        self
    }
    /// The IdP's SSO URL (HTTP-Redirect).
    pub fn sso_url(mut self, url: impl Into<String>) -> Self {
        self.sso_url = Some(url.into());
        self
    }
    /// The IdP's Single Logout URL (HTTP-Redirect binding).
    pub fn slo_url(mut self, url: impl Into<String>) -> Self {
        self.slo_url = Some(url.into());
        self
    }
    /// The whole validation policy (signatures, clock skew, response age, limits, extra
    /// destinations, authentication context, decryption keys, the `dangerous_*` options):
    /// every option a single-IdP [`ServiceProvider`] has.
    pub fn policy(mut self, policy: ValidationPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Which elements must be signed ([`ValidationPolicy::require_signed`]).
    pub fn require_signed(mut self, p: SignaturePolicy) -> Self {
        self.policy = self.policy.require_signed(p);
        self
    }
    /// An SP decryption key ([`ValidationPolicy::decryption_key`]).
    pub fn decryption_key(mut self, key: crate::xmlenc::DecryptionKey) -> Self {
        self.policy = self.policy.decryption_key(key);
        self
    }
    /// **Dangerous:** accept IdP-initiated (unsolicited) responses for this tenant
    /// ([`ValidationPolicy::dangerous_allow_unsolicited_responses`]).
    pub fn dangerous_allow_unsolicited_responses(mut self) -> Self {
        self.policy = self.policy.dangerous_allow_unsolicited_responses();
        self
    }
    /// **Dangerous:** accept SHA-1 and RSA keys under 2048 bits from this tenant's IdP
    /// ([`ValidationPolicy::dangerous_allow_legacy_crypto`]).
    pub fn dangerous_allow_legacy_crypto(mut self) -> Self {
        self.policy = self.policy.dangerous_allow_legacy_crypto();
        self
    }
    /// Just-in-time provisioning on (default) or off.
    pub fn jit(mut self, yes: bool) -> Self {
        self.jit = yes;
        self
    }
    /// Attribute mapping overrides.
    pub fn attribute_mapping(mut self, m: AttributeMapping) -> Self {
        self.mapping = m;
        self
    }
    /// The email domains this tenant owns: used for discovery, SSO enforcement, and to refuse an
    /// asserted email outside them.
    pub fn email_domains<I: IntoIterator<Item = S>, S: Into<String>>(mut self, domains: I) -> Self {
        self.email_domains = domains
            .into_iter()
            .map(|d| d.into().to_ascii_lowercase())
            .collect();
        self
    }
    /// Refuse password logins for this tenant's domains (see [`IdpRegistry::sso_enforced_for`]).
    pub fn enforce_sso(mut self, yes: bool) -> Self {
        self.enforce_sso = yes;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if !valid_slug(&self.slug) {
            return Err(Error::Config {
                field: "slug",
                reason: format!(
                    "expected 1-64 lower-case letters, digits, '-' or '.', found {:?}",
                    self.slug
                ),
            });
        }
        if self.idp_entity_id.is_empty() {
            return Err(Error::Config {
                field: "idp_entity_id",
                reason: "must not be empty".into(),
            });
        }
        if self.certificates.is_empty() {
            return Err(Error::Config {
                field: "certificates",
                reason: "at least one IdP signing certificate".into(),
            });
        }
        if let Some(u) = &self.sso_url
            && (!(u.starts_with("https://") || u.starts_with("http://"))
                || u.chars().any(char::is_whitespace))
        {
            return Err(Error::Config {
                field: "sso_url",
                reason: format!("expected an http(s) URL, found {u:?}"),
            });
        }
        for d in &self.email_domains {
            if d.is_empty()
                || d.contains('@')
                || d.chars().any(char::is_whitespace)
                || !d.contains('.')
            {
                return Err(Error::Config {
                    field: "email_domains",
                    reason: format!("not a domain: {d:?}"),
                });
            }
        }
        Ok(())
    }
}

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
    /// The IdP Single Logout URL.
    pub fn slo_url(&self) -> Option<&str> {
        self.config.slo_url.as_deref()
    }
    /// This tenant's ACS URL.
    pub fn acs_url(&self) -> &str {
        self.sp.acs_url()
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
        self.config.policy.allow_unsolicited
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
        let mut b = ServiceProvider::builder(
            self.sp.entity_id(&config.slug),
            self.sp.acs_url(&config.slug),
        )
        .idp(idp)
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

    /// Applies `change` to a copy of the current snapshot and publishes it.
    fn update(
        &self,
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
        for (slug, t) in &by_slug {
            if let Some(other) = by_issuer.insert(t.config.idp_entity_id.clone(), slug.clone()) {
                return Err(Error::Config {
                    field: "idp_entity_id",
                    reason: format!(
                        "{:?} is already the IdP of tenant {other:?}",
                        t.config.idp_entity_id
                    ),
                });
            }
            for d in &t.config.email_domains {
                if let Some(other) = by_domain.insert(d.clone(), slug.clone()) {
                    return Err(Error::Config {
                        field: "email_domains",
                        reason: format!("{d:?} already belongs to tenant {other:?}"),
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
        self.update(|m| {
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
        self.update(|m| {
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
        self.update(|m| {
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
        let domain = crate::provision::email_domain(email)?;
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
}

/// Plain-data tenant settings for loading from TOML/JSON (feature `serde`). Certificates are PEM
/// or base64 strings; [`TenantSettings::into_config`] validates them.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Stable key.
    pub slug: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Enabled (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// IdP entity ID.
    pub idp_entity_id: String,
    /// IdP SSO URL.
    #[serde(default)]
    pub sso_url: Option<String>,
    /// Signing certificates (PEM, PEM without line breaks, or base64).
    pub certificates: Vec<String>,
    /// `assertion`, `response`, `both` or `either` (default).
    #[serde(default)]
    pub require_signed: Option<String>,
    /// Accept IdP-initiated responses (dangerous; default false).
    #[serde(default)]
    pub dangerous_allow_unsolicited_responses: bool,
    /// Just-in-time provisioning (default true).
    #[serde(default = "yes")]
    pub jit: bool,
    /// Owned email domains.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Enforce SSO for those domains.
    #[serde(default)]
    pub enforce_sso: bool,
    /// Attribute mapping overrides.
    #[serde(default)]
    pub attribute_mapping: Option<AttributeMapping>,
}

#[cfg(feature = "serde")]
fn yes() -> bool {
    true
}

#[cfg(feature = "serde")]
impl TenantSettings {
    /// Validates into a [`TenantConfig`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the field (`certificates`, `require_signed`, ...).
    pub fn into_config(self) -> Result<TenantConfig, Error> {
        let mut certs = Vec::new();
        for (i, pem) in self.certificates.iter().enumerate() {
            certs.extend(
                Certificate::parse_all(pem.as_bytes()).map_err(|e| Error::Config {
                    field: "certificates",
                    reason: format!("certificate {i} of tenant {:?}: {e}", self.slug),
                })?,
            );
        }
        let mut c = TenantConfig::new(self.slug.clone(), self.idp_entity_id, certs)
            .display_name(self.display_name.unwrap_or(self.slug))
            .enabled(self.enabled)
            .jit(self.jit)
            .email_domains(self.email_domains)
            .enforce_sso(self.enforce_sso);
        if let Some(u) = self.sso_url {
            c = c.sso_url(u);
        }
        if let Some(p) = self.require_signed {
            c = c.require_signed(p.parse()?);
        }
        if self.dangerous_allow_unsolicited_responses {
            c = c.dangerous_allow_unsolicited_responses();
        }
        if let Some(m) = self.attribute_mapping {
            c = c.attribute_mapping(m);
        }
        Ok(c)
    }
}
