//! The Service Provider's core: a configured [`ServiceProvider`] (one IdP, one
//! [`ValidationPolicy`]) validates a Response into a [`VerifiedAssertion`], recording every check
//! in a [`Report`].
//!
//! - `config`: [`ServiceProvider`], its builder, [`IdentityProvider`] and [`ValidationPolicy`];
//! - `validate`: the Web Browser SSO profile checks, sans-IO (time is passed in);
//! - `danger`: [`DangerousOptions`], the one definition of every option that weakens validation;
//! - `report`: what each check expected and found;
//! - `assertion`: the typed result, obtainable only through validation;
//! - `identity`: the identity an app needs, mapped from the signed assertion's attributes;
//! - `attributes`: its attributes, merged by `Name`, stored in one buffer;
//! - `consume`: validation plus the request store and the replay cache.

pub mod assertion;
pub mod attributes;
pub mod config;
pub(crate) mod consume;
mod danger;
pub(crate) mod identity;
pub mod report;
pub mod validate;

pub use assertion::{NameId, Signed, VerifiedAssertion};
pub use attributes::{Attribute, Attributes, Values};
pub use config::{
    IdentityProvider, ServiceProvider, ServiceProviderBuilder, SignaturePolicy, ValidationPolicy,
};
pub use danger::DangerousOptions;
pub use report::{Check, CheckResult, Report};
