//! SSO profiles: the customer administrator's set-up flow, from "create profile" to "SSO
//! enforced". A profile is created with its SP values (to copy into the IdP), takes the IdP's
//! values (three values or metadata, every problem reported with its field), is tested with a
//! login that signs nobody in, is activated, claims and verifies email domains by DNS, and is
//! enforced; every change is audited and versioned, and an active profile takes effect in the
//! tenant registry at once.
//!
//! - `model`: [`SsoProfile`] and its state machine;
//! - `input`: what an administrator pastes, validated ([`IdpInput`]);
//! - `store`: [`ProfileStore`] (the app's database) and [`MemoryProfileStore`];
//! - `test_login`: the test connection;
//! - `domain`: DNS TXT verification ([`TxtResolver`], [`DnsResolver`] with feature `dns`);
//! - `health`: certificate expiry, last test, last logins ([`LoginHealth`] from the ACS's audit);
//! - `service`: [`ProfileService`], the operations an admin page calls;
//! - `codec`: profiles and test results as JSON (the SQL stores' `data` column);
//! - `sql`: `PgProfileStore` and `SqliteProfileStore` (features `postgres`, `sqlite`);
//! - `follow`: every instance's registry kept in step with the store (`follow`,
//!   `follow_postgres` with LISTEN/NOTIFY).

#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod codec;
mod domain;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod follow;
mod health;
mod input;
mod model;
mod service;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
mod store;
mod test_login;

#[cfg(feature = "dns")]
pub use domain::DnsResolver;
pub use domain::{TxtFuture, TxtResolver, verification_name};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use follow::follow;
#[cfg(feature = "postgres")]
pub use follow::{PROFILE_CHANNEL, follow_postgres};
pub use health::{
    CertificateExpiry, LoginHealth, LoginOutcomes, MAX_TRACKED_PROFILES, ProfileHealth, SpKeyStatus,
};
pub use input::{IdpInput, IdpValues, ParsedIdp};
pub use model::{AuditEntry, DomainClaim, ProfileState, ProvisioningSettings, SsoProfile};
pub use service::{ProfileError, ProfileService};
#[cfg(feature = "postgres")]
pub use sql::PgProfileStore;
#[cfg(feature = "sqlite")]
pub use sql::SqliteProfileStore;
pub use store::{MemoryProfileStore, ProfileFuture, ProfileStore};
pub use test_login::{TEST_LIFETIME_MINUTES, TestResult, TestStart, is_test_relay_state};
