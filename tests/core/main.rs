//! The core suites: XML, canonicalization, signatures, attacks and advisories, interop,
//! encryption, hardening, fuzz corpora, validation, logout, tenants and the one-call flow.
//! Grouped into one test binary (each file a module) so the suite links the crate a few times
//! instead of once per file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod architecture;
#[cfg(feature = "testkit")]
mod artifact;
mod attacks;
mod audit_tracing;
mod c14n_differential;
mod c14n_spec;
#[cfg(feature = "testkit")]
mod discovery;
mod encryption;
mod error_codes;
mod fuzz_corpus;
mod fuzz_regressions;
mod hardening;
mod idp_operations;
mod interop;
mod load;
mod logout;
mod metadata;
mod metadata_aggregate;
mod presets;
mod resource_budgets;
mod sp_initiated;
#[cfg(feature = "testkit")]
mod sp_keys;
#[cfg(feature = "testkit")]
mod step_up;
mod stores;
mod tenants;
// The support modules the suites share, compiled once.
#[path = "../support/hostile.rs"]
mod hostile;
#[path = "../support/interop.rs"]
mod manifest;
#[path = "../support/users.rs"]
mod users;

mod xml_parser;
