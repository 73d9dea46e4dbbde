#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(unreachable_pub, unnameable_types)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The modules in the order a Response flows through them (see "Architecture" in the README):
// the safe XML tree and its canonicalization, the crypto primitives, XML-DSig verification that
// returns the signed element, XML Encryption, the SAML messages as they travel (bindings), the
// SP's validation of a Response into a typed assertion, logout messages, metadata, many tenants,
// the one-call login flow with provisioning and audit, metadata kept fresh, the web endpoints;
// and beside them the stores.
pub mod xml;

pub mod crypto;

pub mod dsig;

pub mod xmlenc;

#[cfg(feature = "pkcs11")]
pub mod hsm;

pub mod binding;

pub mod sp;

pub mod logout;

pub mod metadata;

pub mod tenant;

pub mod login;

#[cfg(feature = "fetch")]
pub mod refresh;

pub mod ops;
pub mod profile;

pub mod store;

#[cfg(feature = "web")]
pub mod web;

mod error;
pub mod ns;
mod telemetry;
pub mod time;

/// The manual: how each part works and how to configure it (`docs/manual.md`).
#[doc = include_str!("../docs/manual.md")]
pub mod manual {}

#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "testkit")]
pub mod testkit;

/// The `chrono` crate, whose types appear in this crate's signatures (instants, durations).
pub use chrono;
pub use error::{Error, ErrorKind, Result};
pub use login::acs::{Acs, LoginStart, LoginSuccess, LogoutDone, LogoutReply, LogoutStart};
pub use sp::assertion::{NameId, Signed, VerifiedAssertion};
pub use sp::attributes::Attribute;
pub use sp::config::{
    IdentityProvider, ServiceProvider, ServiceProviderBuilder, SignaturePolicy, ValidationPolicy,
};
pub use sp::report::{Check, CheckResult, Report};
pub use tenant::config::{SpSettings, TenantConfig};
pub use tenant::registry::IdpRegistry;
