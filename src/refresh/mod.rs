//! IdP metadata fetched from an https URL and kept fresh (feature `fetch`): an SSRF-guarded
//! client (`guard`: the address rules, `fetch`: the client) and the refresher (`refresh`) that
//! installs each tenant's metadata in the [`crate::tenant::IdpRegistry`] on the schedule the
//! metadata asks for, and at once when a Response is signed with a key it does not have yet;
//! `mdq`: one entity's metadata on demand from a federation's MDQ service.

mod fetch;
mod guard;
mod mdq;
#[allow(clippy::module_inception)]
mod refresh;

pub use fetch::{MetadataClient, MetadataClientBuilder, MetadataFetcher};
pub use mdq::MdqClient;
pub use refresh::{MetadataEvent, MetadataRefresher, MetadataSource, RefreshPolicy, SourceStatus};
