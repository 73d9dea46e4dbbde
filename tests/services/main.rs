//! The suites against outside services and tools: the CLI, a third-party IdP (samlify),
//! Redis, and metadata over https. Each needs its feature (`cli`, `redis`, `fetch`).
//! Grouped into one test binary (each file a module) so the suite links the crate a few times
//! instead of once per file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The support modules the suites share, compiled once.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
#[path = "../support/databases.rs"]
mod databases;
#[cfg(feature = "cli")]
#[path = "../support/hostile.rs"]
mod hostile;
#[cfg(feature = "redis")]
#[path = "../support/users.rs"]
mod users;

#[cfg(feature = "cli")]
mod cli;
#[cfg(all(feature = "pkcs11", feature = "testkit"))]
mod hsm;
#[cfg(feature = "fetch")]
mod metadata_refresh;
#[cfg(feature = "dns")]
mod profiles;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(all(feature = "cli", feature = "web"))]
mod sp_key_rollover;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod sql_stores;
#[cfg(feature = "cli")]
mod third_party_idp;
