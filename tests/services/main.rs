//! The suites against outside services and tools: the CLI, a third-party IdP (samlify),
//! Redis, and metadata over https. Each needs its feature (`cli`, `redis`, `fetch`).
//! Grouped into one test binary (each file a module) so the suite links the crate a few times
//! instead of once per file.

#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "fetch")]
mod metadata_refresh;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "cli")]
mod third_party_idp;
