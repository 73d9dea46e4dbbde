//! Many IdPs in one app: a registry of per-tenant SSO configurations.
//!
//! Each tenant (customer organization) has a stable slug, its IdP (issuer, SSO URL, signing
//! certificates), policies, and the email domains it owns. Look-ups go by slug (from the ACS or
//! login path), by the Response's Issuer, or by email domain (IdP discovery). Configurations are
//! added, replaced (certificate rotation), disabled and removed at run time; readers never take a
//! lock (the registry is an atomically swapped immutable snapshot).
//!
//! ```
//! use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
//! use saml_sp::crypto::Certificate;
//!
//! # let pem = saml_sp::testkit::generate_key("idp", chrono::Utc::now())?.certificate_pem;
//! let certs = Certificate::parse_all(pem.as_bytes())?; // the IdP's signing certificate(s)
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

pub(crate) mod config;
mod failed;
mod health;
mod key_refresh;
mod preset;
pub(crate) mod registry;
mod scoping;
mod sp_keys;

pub use failed::{FailedTenant, StoredTenant, TenantLoad};
#[cfg(feature = "fetch")]
pub(crate) use health::expiry_warning;
pub use health::{CertificateHealth, CertificateState, HealthStatus, TenantHealth};
pub use key_refresh::{KeyRefresh, KeyRefreshFuture};
pub use preset::IdpPreset;
pub use scoping::Scoping;
pub use sp_keys::{KeyEvent, KeyPhase, SpKey, SpKeyRing};

#[cfg(feature = "serde")]
pub use config::TenantSettings;
// IdpRegistry, SpSettings and TenantConfig are re-exported at the crate root (their one path).
pub use config::ConfigProblem;
pub use registry::Tenant;

pub(crate) use registry::IdpRegistry;
