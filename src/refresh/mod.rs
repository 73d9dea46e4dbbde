//! IdP metadata fetched from an https URL and kept fresh (feature `fetch`): an SSRF-guarded
//! client (`guard`: the address rules, `fetch`: the client) and the refresher (`refresh`) that
//! installs each tenant's metadata in the [`crate::tenant::IdpRegistry`] on the schedule the
//! metadata asks for, and at once when a Response is signed with a key it does not have yet.

mod fetch;
mod guard;
#[allow(clippy::module_inception)]
mod refresh;

pub use fetch::{MetadataClient, MetadataClientBuilder, MetadataFetcher};
pub use refresh::{MetadataEvent, MetadataRefresher, MetadataSource, RefreshPolicy, SourceStatus};
