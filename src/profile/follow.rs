//! Keeping every app instance's registry in step with the profile store (features `postgres`,
//! `sqlite`): a profile saved on one instance takes effect on the others without a restart.
//!
//! - [`follow`] checks the store's versions every `interval` ([`ProfileService::sync`]): any
//!   store, a change visible on the others within one interval.
//! - [`follow_postgres`] also listens to `NOTIFY saml_sp_profiles` (sent by the trigger the
//!   migrations install on every change, whoever made it) and installs the named profile at once;
//!   the periodic check stays as the fallback for a notification lost while the listening
//!   connection was down, and a lost connection triggers a full check as soon as it is back.
//!
//! Staleness bound: with PostgreSQL, the time to deliver a notification (milliseconds) while the
//! listener is connected, otherwise at most `interval` after the database is reachable again;
//! with polling alone, at most `interval`.

use std::sync::Arc;
use std::time::Duration;

use super::service::ProfileService;

/// A check every `interval` (at least one second), logging a store that cannot be read.
/// The task ends when the returned handle is aborted.
pub fn follow(service: Arc<ProfileService>, interval: Duration) -> tokio::task::JoinHandle<()> {
    let interval = interval.max(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            sync_all(&service).await;
            tokio::time::sleep(interval).await;
        }
    })
}

async fn sync_all(service: &ProfileService) {
    match service.sync().await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(target: "saml_sp::profile", changed = n, "profiles synced from the store")
        }
        Err(e) => {
            tracing::warn!(target: "saml_sp::profile", code = e.code(), "profiles cannot be synced: {e}")
        }
    }
}

/// The channel the profile trigger notifies.
#[cfg(feature = "postgres")]
pub const PROFILE_CHANNEL: &str = "saml_sp_profiles";

/// Notifications from PostgreSQL (on a connection of `pool`) plus a check every `interval` (at
/// least one second). The task ends when the returned handle is aborted.
#[cfg(feature = "postgres")]
pub fn follow_postgres(
    service: Arc<ProfileService>,
    pool: sqlx::PgPool,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    use tokio::time::Instant;
    let interval = interval.max(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(target: "saml_sp::profile", "profile notifications unavailable: {e}");
                    sync_all(&service).await;
                    tokio::time::sleep(interval).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(PROFILE_CHANNEL).await {
                tracing::warn!(target: "saml_sp::profile", "profile notifications unavailable: {e}");
                tokio::time::sleep(interval).await;
                continue;
            }
            // Listening: whatever changed before now is caught by one full check.
            sync_all(&service).await;
            let mut next = Instant::now() + interval;
            loop {
                let wait = next.saturating_duration_since(Instant::now());
                match tokio::time::timeout(wait, listener.try_recv()).await {
                    Err(_) => {
                        sync_all(&service).await;
                        next = Instant::now() + interval;
                    }
                    Ok(Ok(Some(n))) => {
                        if let Err(e) = service.sync_profile(n.payload()).await {
                            tracing::warn!(target: "saml_sp::profile", profile = n.payload(), code = e.code(), "a notified profile cannot be read: {e}");
                        }
                    }
                    // The connection was lost (notifications meanwhile are gone): the listener
                    // reconnects on the next call; check everything now.
                    Ok(Ok(None)) => sync_all(&service).await,
                    Ok(Err(e)) => {
                        tracing::warn!(target: "saml_sp::profile", "profile notifications interrupted: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
            }
        }
    })
}
