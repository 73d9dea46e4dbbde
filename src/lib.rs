#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod acs;
pub mod assertion;
pub mod audit;
pub mod authn_request;
mod b64;
pub mod binding;
pub mod c14n;
pub mod config;
pub mod crypto;
pub mod dsig;
pub mod error;
mod flow;
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod fuzzing;
pub mod idp;
pub mod logout;
pub mod metadata;
pub mod provision;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod time;
pub mod validate;
pub mod xml;
pub mod xmlenc;

pub use acs::{Acs, LoginStart, LoginSuccess, LogoutDone, LogoutReply, LogoutStart};
pub use assertion::{Attribute, NameId, Signed, VerifiedAssertion};
pub use config::{IdentityProvider, ServiceProvider, ServiceProviderBuilder, SignaturePolicy};
pub use error::{Error, ErrorKind, Result};
pub use validate::{Check, CheckResult, Report};
