//! SAML metadata: reading an IdP's (`idp`: `EntityDescriptor` / `EntitiesDescriptor`, signed or
//! not, `validUntil`, `cacheDuration`) and writing the SP's (`sp`). `aggregate` finds one IdP in
//! a federation aggregate read as a stream (verifying its signature on the way) without holding
//! the whole document. Fetching metadata from a URL and keeping it fresh is the `refresh` module
//! (feature `fetch`), a layer above the tenant registry it updates.
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
mod idp;
mod sp;

pub use idp::{
    Endpoint, IdpMetadata, MAX_SIGNING_CERTIFICATES, MAX_UI_ITEMS, MAX_UI_TEXT, UiInfo,
    default_metadata_limits,
};
pub use sp::SpMetadata;
