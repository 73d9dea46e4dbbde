//! The health report: what an operator endpoint answers. Built from the registry (every tenant,
//! loaded or failed, with its certificates), the metadata refresher's statuses (feature `fetch`)
//! and a probe of each store; rendered as JSON by the web layer. It names tenants, certificate
//! fingerprints and error codes, never a user.

use chrono::{DateTime, Utc};

use crate::store::RequestStore;
use crate::tenant::{HealthStatus, IdpRegistry};

/// A tenant's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TenantState {
    /// Loaded and accepting logins.
    Enabled,
    /// Loaded, logins turned off.
    Disabled,
    /// Could not be loaded: logins fail with `tenant_unavailable`, its enforcement holds.
    Failed,
}

impl TenantState {
    /// `enabled`, `disabled`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantState::Enabled => "enabled",
            TenantState::Disabled => "disabled",
            TenantState::Failed => "failed",
        }
    }
}

/// A tenant's metadata feed (feature `fetch`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataHealth {
    /// The last successful fetch.
    pub last_success: Option<DateTime<Utc>>,
    /// Seconds since then at the report's time.
    pub age_seconds: Option<i64>,
    /// The last failure's code and message (cleared by a success).
    pub last_error: Option<(&'static str, String)>,
    /// The installed copy's `validUntil`.
    pub valid_until: Option<DateTime<Utc>>,
}

/// One tenant in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantStatus {
    /// The slug.
    pub tenant: String,
    /// Its state.
    pub state: TenantState,
    /// Why it failed to load (its error code), when failed.
    pub error_code: Option<&'static str>,
    /// `ok`, `expiring_soon` or `no_valid_certificate` (failed tenants: `unknown`).
    pub certificates: &'static str,
    /// The notAfter of the valid signing certificate that lasts longest.
    pub certificate_not_after: Option<DateTime<Utc>>,
    /// Whole days from the report's time to that notAfter (negative: every one expired).
    pub certificate_days_left: Option<i64>,
    /// Its metadata feed, when it has one.
    pub metadata: Option<MetadataHealth>,
}

/// One store's reachability.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreHealth {
    /// The name the app gave it.
    pub name: String,
    /// Whether a probe succeeded.
    pub reachable: bool,
    /// The probe's error, when it failed.
    pub error: Option<String>,
}

/// What an operator's health endpoint shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthReport {
    /// When it was gathered.
    pub at: DateTime<Utc>,
    /// Every tenant, sorted by slug.
    pub tenants: Vec<TenantStatus>,
    /// Every store probed.
    pub stores: Vec<StoreHealth>,
}

impl HealthReport {
    /// Healthy: every store reachable and no tenant failed.
    pub fn is_healthy(&self) -> bool {
        self.stores.iter().all(|s| s.reachable)
            && self.tenants.iter().all(|t| t.state != TenantState::Failed)
    }

    /// Sets the gauges (feature `metrics`): days until each tenant's IdP signing certificates
    /// expire, and each metadata feed's age.
    pub fn record_metrics(&self) {
        for t in &self.tenants {
            if let Some(d) = t.certificate_days_left {
                crate::telemetry::idp_certificate_expiry(&t.tenant, d as f64);
            }
            if let Some(age) = t.metadata.as_ref().and_then(|m| m.age_seconds) {
                crate::telemetry::metadata_age(&t.tenant, age as f64);
            }
        }
    }
}

/// Gathers the report at `now`: the registry's tenants (certificate warnings within
/// `warning_window`), `metadata` (each feed's status, from `MetadataRefresher::statuses` with
/// feature `fetch`; empty without), and a probe of each named store (taking a key no one
/// writes, which reads nothing and changes nothing).
pub async fn gather_health(
    registry: &IdpRegistry,
    metadata: &[(String, MetadataHealth)],
    stores: &[(&str, &dyn RequestStore)],
    now: DateTime<Utc>,
    warning_window: chrono::Duration,
) -> HealthReport {
    let mut tenants: Vec<TenantStatus> = registry
        .certificate_health(now, warning_window)
        .into_iter()
        .map(|h| {
            let enabled = registry.by_slug(&h.tenant).is_some_and(|t| t.is_enabled());
            let longest = h
                .certificates
                .iter()
                .filter(|c| c.not_before <= now)
                .map(|c| c.not_after)
                .max();
            TenantStatus {
                state: if enabled {
                    TenantState::Enabled
                } else {
                    TenantState::Disabled
                },
                error_code: None,
                certificates: match h.status {
                    HealthStatus::Ok => "ok",
                    HealthStatus::ExpiringSoon { .. } => "expiring_soon",
                    _ => "no_valid_certificate",
                },
                certificate_not_after: longest,
                certificate_days_left: longest.map(|n| (n - now).num_days()),
                metadata: metadata
                    .iter()
                    .find(|(slug, _)| *slug == h.tenant)
                    .map(|(_, m)| m.clone()),
                tenant: h.tenant,
            }
        })
        .collect();
    for f in registry.failures() {
        tenants.push(TenantStatus {
            tenant: f.slug().to_owned(),
            state: TenantState::Failed,
            error_code: Some(f.error().code()),
            certificates: "unknown",
            certificate_not_after: None,
            certificate_days_left: None,
            metadata: metadata
                .iter()
                .find(|(slug, _)| slug == f.slug())
                .map(|(_, m)| m.clone()),
        });
    }
    tenants.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    let mut out = Vec::new();
    for (name, store) in stores {
        let probe = store.take("_health", "_probe", now).await;
        out.push(StoreHealth {
            name: (*name).to_owned(),
            reachable: probe.is_ok(),
            error: probe.err().map(|e| e.to_string()),
        });
    }
    HealthReport {
        at: now,
        tenants,
        stores: out,
    }
}

#[cfg(feature = "fetch")]
impl MetadataHealth {
    /// A feed's health from its refresher status at `now`, keyed by tenant for
    /// [`gather_health`].
    pub fn from_status(
        status: &crate::refresh::SourceStatus,
        now: DateTime<Utc>,
    ) -> (String, Self) {
        (
            status.tenant.clone(),
            MetadataHealth {
                last_success: status.last_success,
                age_seconds: status.last_success.map(|t| (now - t).num_seconds()),
                last_error: status.last_error.clone(),
                valid_until: status.valid_until,
            },
        )
    }
}
