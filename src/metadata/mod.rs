//! SAML metadata: reading an IdP's (`idp`: `EntityDescriptor` / `EntitiesDescriptor`, signed or
//! not, `validUntil`, `cacheDuration`) and writing the SP's (`sp`); with the `fetch` feature,
//! fetching it over https under an SSRF guard (`fetch`, `guard`) and keeping it fresh in the
//! tenant registry (`refresh`). `aggregate` finds one IdP in a federation aggregate read as a
//! stream (verifying its signature on the way) without holding the whole document.
//!
//! ```
//! use saml_sp::metadata::IdpMetadata;
//!
//! // The IdP's metadata XML (here the test IdP's; in production Okta's, Entra ID's, ...).
//! let xml = saml_sp::testkit::TestIdp::fixed("http://www.okta.com/exk1bench0idp0okta0x7")
//!     .metadata_xml("https://idp.example.com/sso");
//! let md = IdpMetadata::parse(xml.as_bytes(), None)?;
//! assert_eq!(md.entity_id(), "http://www.okta.com/exk1bench0idp0okta0x7");
//! assert_eq!(md.slo_url(saml_sp::ns::HTTP_REDIRECT), Some("https://idp.example.com/slo"));
//! assert!(!md.signing_certificates().is_empty());
//! let idp = md.identity_provider()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod aggregate;
#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "fetch")]
mod guard;
mod idp;
#[cfg(feature = "fetch")]
mod refresh;
mod sp;

#[cfg(feature = "fetch")]
pub use fetch::{MetadataClient, MetadataClientBuilder, MetadataFetcher};
#[cfg(feature = "fetch")]
pub use refresh::{MetadataEvent, MetadataRefresher, MetadataSource, RefreshPolicy, SourceStatus};

pub use idp::{Endpoint, IdpMetadata, MAX_SIGNING_CERTIFICATES, default_metadata_limits};
pub use sp::SpMetadata;
