//! The transport of artifact resolution: the ACS posts a signed `ArtifactResolve` in a SOAP
//! envelope to the IdP and reads the answer. [`SoapClient`] is that one call;
//! `refresh::MetadataClient` (feature `fetch`) implements it with its SSRF guard, size limit and
//! timeouts, and apps with their own HTTP stack (a client certificate for mutual TLS, say)
//! implement it themselves.

use std::future::Future;
use std::pin::Pin;

use crate::error::Error;

/// A boxed, sendable future of a SOAP answer's bytes.
pub type SoapFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, Error>> + Send + 'a>>;

/// POSTs a SOAP envelope and returns the answer's body (status 200 only).
pub trait SoapClient: Send + Sync {
    /// POSTs `envelope` to `url`.
    ///
    /// # Errors
    /// Transport failures ([`Error::MetadataFetch`], [`Error::MetadataUrlForbidden`] with
    /// `MetadataClient`).
    fn post_soap<'a>(&'a self, url: &'a str, envelope: &'a str) -> SoapFuture<'a>;
}
