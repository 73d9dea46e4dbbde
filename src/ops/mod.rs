//! Operating SSO for many customers: a health report an operator endpoint serves (every
//! tenant's state, certificate expiry, metadata age and last error, the stores' reachability),
//! and the gauges it sets for the metrics (feature `metrics`). The counters and latency
//! histograms are recorded on the login path itself; the list of every metric and its labels is
//! in the manual.
//!
//! - `health`: [`HealthReport`] and how it is gathered.

mod health;

pub use health::{
    HealthReport, MetadataHealth, StoreHealth, TenantState, TenantStatus, gather_health,
};
