//! The one-call flow an app mounts: starting logins (AuthnRequest, bindings, RelayState),
//! finishing them at the ACS ([`Acs`]: tenant, stores, validation, replay, provisioning, audit),
//! and Single Logout through the same object.
//!
//! - `acs`: [`Acs`] and its results;
//! - `authn_request`: building the AuthnRequest;
//! - `browser`: the [`BrowserBinding`] that ties a pending login to the browser that started it;
//! - `provision`: the app's [`Provisioner`] (the identity it receives is mapped in `sp`);
//! - `audit`: one event per login and logout.

pub mod acs;
pub mod audit;
pub mod authn_request;
mod browser;
pub mod provision;

pub use crate::error::ProvisionError;
pub use crate::sp::identity::{AttributeMapping, SamlIdentity, UNKNOWN, email_domain};
pub use acs::{
    Acs, LoginStart, LoginSuccess, LogoutDone, LogoutReply, LogoutStart, block_on_ready,
    safe_return_path,
};
pub use audit::{Action, AuditContext, AuditEvent, AuditSink, Outcome};
pub use authn_request::{AuthnRequest, BuiltAuthnRequest, Comparison};
pub use browser::BrowserBinding;
pub(crate) use browser::is_login_token;
pub use provision::{ProvisionFn, Provisioner};
