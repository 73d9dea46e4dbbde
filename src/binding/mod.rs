//! Message encodings of the SAML bindings: the HTTP-POST form field, and the HTTP-Redirect
//! binding's raw DEFLATE + base64 + URL encoding, with hard caps on inflated size; both directions.
//!
//! - `post`: decoding a POSTed message, the auto-submitting form;
//! - `redirect`: inflate/deflate, decoding a Redirect message and its signature, building one;
//! - `params`: query strings and form bodies (linear, bounded, octets kept as received).

mod artifact;
pub(crate) mod params;
pub(crate) mod post;
mod redirect;

pub use artifact::{Artifact, source_id};
pub use params::MAX_PARAMS;

pub use post::{PostPage, decode_post, decode_response_input, post_form};
pub use redirect::{InflateOptions, RedirectMessage, decode_redirect, inflate, redirect_query};

use crate::error::Error;

/// How the browser carries a message to the other party: a redirect (HTTP-Redirect binding) or
/// an auto-submitting form page (HTTP-POST binding, for IdPs that offer only POST).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Navigation {
    /// Answer with a 302/303 to this URL.
    Redirect(String),
    /// Answer 200 with this page and its `Content-Security-Policy` header.
    Post(PostPage),
}

impl Navigation {
    /// The URL, for the Redirect binding.
    pub fn redirect_url(&self) -> Option<&str> {
        match self {
            Navigation::Redirect(u) => Some(u),
            Navigation::Post(_) => None,
        }
    }
}

/// The SSO binding a tenant sends AuthnRequests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum SsoBinding {
    /// HTTP-Redirect (the default: a GET the IdP can bookmark, with a detached signature).
    #[default]
    Redirect,
    /// HTTP-POST (an auto-submitting form; the signature is enveloped).
    Post,
}

/// The binding's limit on RelayState (SAML Bindings 3.4.3 / 3.5.3).
pub const MAX_RELAY_STATE: usize = 80;

pub(crate) fn check_relay_state(relay_state: Option<&str>) -> Result<(), Error> {
    match relay_state {
        Some(r) if r.len() > MAX_RELAY_STATE => Err(Error::Binding(format!(
            "RelayState is {} bytes; the SAML bindings allow at most {MAX_RELAY_STATE}",
            r.len()
        ))),
        _ => Ok(()),
    }
}
