//! The Service Provider's core: a configured `ServiceProvider` (one IdP, one
//! `ValidationPolicy`) validates a Response into a `VerifiedAssertion`, recording every check
//! in a `Report`.
//!
//! - `config`: `ServiceProvider`, its builder, `IdentityProvider` and `ValidationPolicy`;
//! - `elements`: the SAML element helpers every message's checks share;
//! - `response_checks`, `assertion_checks`: each check of the Web SSO profile, a named function;
//! - `validate`: the Web Browser SSO profile checks, sans-IO (time is passed in);
//! - `danger`: [`DangerousOptions`], the one definition of every option that weakens validation;
//! - `report`: what each check expected and found;
//! - `assertion`: the typed result, obtainable only through validation;
//! - `identity`: the identity an app needs, mapped from the signed assertion's attributes;
//! - `attributes`: its attributes, merged by `Name`, stored in one buffer;
//! - `consume`: validation plus the request store and the replay cache.

mod artifact;
pub(crate) mod assertion;
pub(crate) mod assertion_checks;
pub(crate) mod attributes;
pub(crate) mod config;
pub(crate) mod consume;
mod danger;
pub(crate) mod elements;
pub(crate) mod identity;
pub(crate) mod report;
pub(crate) mod response_checks;
pub(crate) mod validate;

// The types an app uses most are re-exported at the crate root (their one path): the
// ServiceProvider and its builder, IdentityProvider, ValidationPolicy, SignaturePolicy,
// VerifiedAssertion, NameId, Signed, Attribute, Report, Check, CheckResult. The rest is here.
pub use artifact::ArtifactResolveRequest;
pub use assertion_checks::MAX_ENCRYPTED_ATTRIBUTES;
pub use attributes::{Attributes, AttributesIter, Values};
pub use danger::DangerousOptions;
