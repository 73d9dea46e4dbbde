//! Tenants that could not be loaded. An app rebuilds its registry from stored configurations at
//! every start; a tenant whose configuration fails then (metadata past its `validUntil`, a failed
//! fetch, a certificate that no longer parses) must not vanish, or its SSO enforcement would
//! silently turn off and password logins work again for its users. It is kept in a failed state
//! instead: its email domains stay owned and, when enforced, enforced; its logins are refused
//! with `tenant_unavailable`; and the load reports it.

use crate::error::Error;

use super::config::TenantConfig;

/// A tenant kept in the registry although its configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTenant {
    pub(crate) slug: String,
    pub(crate) display_name: String,
    pub(crate) email_domains: Vec<String>,
    pub(crate) enforce_sso: bool,
    pub(crate) error: Error,
}

impl FailedTenant {
    /// A failed tenant with the app-side facts the registry must keep (its slug, its email
    /// domains and whether SSO is enforced for them) and the error that stopped it loading.
    pub fn new<I, S>(
        slug: impl Into<String>,
        email_domains: I,
        enforce_sso: bool,
        error: Error,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let slug = slug.into();
        FailedTenant {
            display_name: slug.clone(),
            slug,
            email_domains: email_domains
                .into_iter()
                .map(|d| d.into().to_ascii_lowercase())
                .collect(),
            enforce_sso,
            error,
        }
    }
    /// The same facts taken from the configuration the app meant to install (for example the
    /// template of a metadata source whose first fetch failed).
    pub fn from_config(config: &TenantConfig, error: Error) -> Self {
        FailedTenant {
            slug: config.slug.clone(),
            display_name: config.display_name.clone(),
            email_domains: config.email_domains.clone(),
            enforce_sso: config.enforce_sso,
            error,
        }
    }
    /// The display name shown to administrators.
    #[must_use]
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }
    /// The slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }
    /// The email domains it owns.
    pub fn email_domains(&self) -> &[String] {
        &self.email_domains
    }
    /// Whether SSO is enforced for those domains (it stays enforced while the tenant is failed).
    pub fn enforces_sso(&self) -> bool {
        self.enforce_sso
    }
    /// Why it could not be loaded.
    pub fn error(&self) -> &Error {
        &self.error
    }
    /// The error its logins get.
    pub(crate) fn unavailable(&self) -> Error {
        Error::TenantUnavailable {
            tenant: self.slug.clone(),
            reason: format!("{}: {}", self.error.code(), self.error),
        }
    }
}

/// One stored tenant for [`super::IdpRegistry::load`]: the app-side facts that must survive a
/// failure, and the result of building its configuration.
#[derive(Debug)]
pub struct StoredTenant {
    /// The slug.
    pub slug: String,
    /// The email domains it owns.
    pub email_domains: Vec<String>,
    /// Whether SSO is enforced for them.
    pub enforce_sso: bool,
    /// The configuration, or why it could not be built (for example
    /// `TenantConfig::from_idp_metadata` refusing metadata past its `validUntil`).
    pub config: Result<TenantConfig, Error>,
}

/// What loading one stored tenant did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantLoad {
    /// The tenant.
    pub slug: String,
    /// `Ok` when it was installed; otherwise the error, and the tenant is kept failed.
    pub outcome: Result<(), Error>,
}
