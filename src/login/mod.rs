//! The one-call flow an app mounts: starting logins (AuthnRequest, bindings, RelayState),
//! finishing them at the ACS (`Acs`: tenant, stores, validation, replay, provisioning, audit),
//! and Single Logout through the same object.
//!
//! - `acs`: `Acs` and its results;
//! - `authn_request`: building the AuthnRequest;
//! - `browser`: the [`BrowserBinding`] that ties a pending login to the browser that started it;
//! - `provision`: the app's [`Provisioner`] (the identity it receives is mapped in `sp`);
//! - `audit`: one event per login and logout;
//! - `discovery`: choosing the IdP (the IdP Discovery protocol, the built-in [`Chooser`]);
//! - `step_up`: [`StepUp`], a login that must come back with MFA or a recent authentication.

pub(crate) mod acs;
mod artifact;
pub(crate) mod audit;
pub(crate) mod authn_request;
pub(crate) mod browser;
mod discovery;
pub(crate) mod provision;
mod step_up;

pub use crate::error::ProvisionError;
pub use crate::sp::identity::{AttributeMapping, SamlIdentity, UNKNOWN, email_domain};
// Acs and its results are re-exported at the crate root (their one path).
pub use acs::safe_return_path;

pub use artifact::{SoapClient, SoapFuture};
pub use audit::{Action, AuditContext, AuditEvent, AuditSink, Outcome};
pub use authn_request::{AuthnRequest, BuiltAuthnRequest, Comparison};
pub use browser::BrowserBinding;
pub use discovery::{Choice, Chooser, DiscoveryRequest, MAX_QUERY, accept_discovery_response};

pub use provision::{ProvisionFn, Provisioner};
pub use step_up::{MICROSOFT_MFA, OKTA_2FA, REFEDS_MFA, StepUp, context_rank};
