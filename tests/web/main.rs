//! The web layer's suites: the endpoints on each adapter, and the session backends.
//! Grouped into one test binary (each file a module) so the suite links the crate a few times
//! instead of once per file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(all(feature = "postgres", feature = "sqlite"))]
#[path = "../support/databases.rs"]
mod databases;
#[cfg(all(feature = "axum", feature = "actix", feature = "hyper"))]
mod web;
#[cfg(all(feature = "tower-sessions", feature = "actix-session"))]
mod web_sessions;
