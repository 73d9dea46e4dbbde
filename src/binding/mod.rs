//! Message encodings of the SAML bindings: the HTTP-POST form field, and the HTTP-Redirect
//! binding's raw DEFLATE + base64 + URL encoding, with hard caps on inflated size; both directions.
//!
//! - `post`: decoding a POSTed message, the auto-submitting form;
//! - `redirect`: inflate/deflate, decoding a Redirect message and its signature, building one;
//! - `params`: query strings and form bodies (linear, bounded, octets kept as received).

mod params;
mod post;
mod redirect;

pub use params::MAX_PARAMS;
#[cfg(feature = "testkit")]
pub(crate) use params::parse_params;
pub use post::{decode_post, decode_response_input, post_form};
pub use redirect::{InflateOptions, RedirectMessage, decode_redirect, inflate, redirect_query};

use crate::error::Error;

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
