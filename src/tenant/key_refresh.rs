//! The hook the login flow calls when a Response is signed with a key its tenant does not have:
//! an IdP that has started signing with a newly published key is picked up at once instead of at
//! the next scheduled metadata fetch. The metadata refresher (feature `fetch`) implements it,
//! rate-limited per tenant; the login flow validates again only when the tenant's configuration
//! was actually replaced.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

/// The future [`KeyRefresh::unknown_signing_key`] returns.
pub type KeyRefreshFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Called by the login flow (`login::Acs`) when a Response for a tenant was signed with a key that is
/// not among the tenant's configured certificates (`untrusted_key` or `signature_invalid`).
/// An implementation may fetch the tenant's metadata and install it in the registry; it must
/// bound how often it does so per tenant, since anyone can post a Response signed with a key
/// of their own. Nothing triggers a fetch when an IdP withdraws a key: that follows the
/// schedule.
pub trait KeyRefresh: Send + Sync {
    /// Fetches `slug`'s metadata now when its rate limit allows; returns once any new
    /// configuration is installed (or nothing was done).
    fn unknown_signing_key<'a>(&'a self, slug: &'a str, now: DateTime<Utc>)
    -> KeyRefreshFuture<'a>;
}
