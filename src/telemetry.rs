//! The metrics the crate records (feature `metrics`, through the `metrics` facade: nothing is
//! recorded until the app installs a recorder such as a Prometheus exporter). Labels are bounded:
//! a tenant slug the registry holds (anything else is `_unknown`), an error code from
//! `Error::CODES`, a step or action name from this file. Never a NameID, an email, an IP or any
//! message content.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `saml_sp_logins_total` | counter | `tenant`, `outcome`, `code` |
//! | `saml_sp_logouts_total` | counter | `tenant`, `action`, `outcome`, `code` |
//! | `saml_sp_acs_step_seconds` | histogram | `step` (`decode`, `parse`, `verify`, `decrypt`, `store`, `provision`, `total`) |
//! | `saml_sp_store_errors_total` | counter | `operation` |
//! | `saml_sp_metadata_fetches_total` | counter | `tenant`, `result` |
//! | `saml_sp_metadata_age_seconds` | gauge | `tenant` |
//! | `saml_sp_idp_certificate_expiry_days` | gauge | `tenant` |

#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

use std::time::Instant;

/// The tenant label for a slug: the slug when the registry held it, else `_unknown`.
pub(crate) fn tenant_label(slug: Option<&str>, known: bool) -> String {
    match slug {
        Some(s) if known => s.to_owned(),
        _ => "_unknown".to_owned(),
    }
}

/// One login attempt.
pub(crate) fn login(tenant: String, outcome: &'static str, code: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("saml_sp_logins_total", "tenant" => tenant, "outcome" => outcome, "code" => code)
        .increment(1);
}

/// One logout step.
pub(crate) fn logout(
    tenant: String,
    action: &'static str,
    outcome: &'static str,
    code: &'static str,
) {
    #[cfg(feature = "metrics")]
    metrics::counter!("saml_sp_logouts_total", "tenant" => tenant, "action" => action, "outcome" => outcome, "code" => code)
        .increment(1);
}

/// The time an ACS step took since `started`.
pub(crate) fn step(step: &'static str, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    #[cfg(feature = "metrics")]
    metrics::histogram!("saml_sp_acs_step_seconds", "step" => step).record(seconds);
}

/// A store operation that failed (the login it served fails closed).
pub(crate) fn store_error(operation: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("saml_sp_store_errors_total", "operation" => operation).increment(1);
}

/// A metadata fetch for `tenant` (`updated`, `failed`).
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) fn metadata_fetch(tenant: &str, result: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("saml_sp_metadata_fetches_total", "tenant" => tenant.to_owned(), "result" => result)
        .increment(1);
}

/// How old `tenant`'s installed metadata is.
pub(crate) fn metadata_age(tenant: &str, seconds: f64) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("saml_sp_metadata_age_seconds", "tenant" => tenant.to_owned()).set(seconds);
}

/// Days until the first of `tenant`'s IdP signing certificates expires (negative: expired).
pub(crate) fn idp_certificate_expiry(tenant: &str, days: f64) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("saml_sp_idp_certificate_expiry_days", "tenant" => tenant.to_owned()).set(days);
}
