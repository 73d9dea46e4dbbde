//! Sessions in [`tower-sessions`](https://docs.rs/tower-sessions) (feature `tower-sessions`):
//! the SP's session lives in the app's own `tower_sessions::Session`, in whatever store the app
//! gave its `SessionManagerLayer` (memory, Redis, SQL), beside the app's own session data.
//!
//! - A login cycles the session ID (no fixation; the app's data in the session is kept) and
//!   stores the user, the SAML session record and an expiry: the earlier of the assertion's
//!   `SessionNotOnOrAfter` and [`Revocations::max_session_age`](super::Revocations::max_session_age), also set as the session's expiry
//!   in the store.
//! - Sign-out flushes the whole session (deleted from the store, cookie removed).
//! - An IdP-initiated logout is recorded in the [`Revocations`](super::Revocations) list; a session it names ends the
//!   next time it is read (a session crate finds sessions by ID, not by NameID).
//!
//! Put the `SessionManagerLayer` outside the SAML routes (`.layer(...)` on the merged router),
//! so the SAML endpoints and [`crate::web::axum::SignedIn`] see the session, and give it
//! `SameSite=Lax` (its default is `Strict`, which the browser does not send on the redirect
//! that follows the IdP's cross-site POST to the ACS).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn f(acs: Arc<saml_sp::Acs<saml_sp::login::ProvisionFn<fn(String, saml_sp::login::SamlIdentity) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>>>>>) {
//! use saml_sp::web::{SamlWeb, WebSettings, tower_sessions::TowerSessions};
//! use tower_sessions::{MemoryStore, SessionManagerLayer};
//!
//! let web = Arc::new(SamlWeb::new(acs, Arc::new(TowerSessions::default()), WebSettings::single_tenant("default")));
//! let app: axum::Router = axum::Router::new()
//!     .merge(saml_sp::web::axum::router(web.clone()))
//!     .layer(SessionManagerLayer::new(MemoryStore::default()).with_same_site(tower_sessions::cookie::SameSite::Lax))
//!     .with_state(web);
//! # let _ = app; }
//! ```

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_sessions::{Expiry, Session};

use super::session::{CrateSessions, SESSION_KEY, Stored};
use super::{NewSession, SessionBackend, SessionContext};
use crate::error::Error;
use crate::logout::SessionRecord;

/// Marks [`CrateSessions`] that live in tower-sessions.
#[derive(Debug)]
pub enum Tower {}

/// The SP's sessions in the request's `tower_sessions::Session`, with IdP-initiated logouts
/// remembered in a [`Revocations`](super::Revocations) list.
pub type TowerSessions<U> = CrateSessions<Tower, U>;

fn session_of(cx: &SessionContext<'_>) -> Option<Session> {
    cx.extensions.get::<Session>().cloned()
}

fn store_error(e: &tower_sessions::session::Error) -> Error {
    Error::StoreUnavailable(crate::store::StoreError::Unavailable(format!(
        "session store: {e}"
    )))
}

fn offset(t: DateTime<Utc>) -> Option<time::OffsetDateTime> {
    let nanos = t.timestamp_nanos_opt()?;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok()
}

impl<U> SessionBackend<U> for TowerSessions<U>
where
    U: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn user(&self, cx: SessionContext<'_>) -> Option<U> {
        let session = session_of(&cx)?;
        let stored: Stored<U> = session.get(SESSION_KEY).await.ok()??;
        let user = stored.live_user(&self.revocations, cx.now).await;
        if user.is_none() {
            // Ended (expired or revoked): forget it, keep the app's other data.
            let _ = session.remove_value(SESSION_KEY).await;
        }
        user
    }

    async fn begin(
        &self,
        cx: SessionContext<'_>,
        new: NewSession<U>,
        _response: &mut HeaderMap,
    ) -> Result<(), Error> {
        let session = session_of(&cx).ok_or(Error::Config {
            field: "tower_sessions",
            reason: "no tower_sessions::Session in the request: add a SessionManagerLayer around the SAML routes".into(),
        })?;
        let stored = Stored::new(new, &self.revocations, cx.now)?;
        // A new ID for the signed-in session: the one the browser brought is deleted.
        session.cycle_id().await.map_err(|e| store_error(&e))?;
        session
            .insert(SESSION_KEY, &stored)
            .await
            .map_err(|e| store_error(&e))?;
        session.set_expiry(offset(stored.expires()).map(Expiry::AtDateTime));
        Ok(())
    }

    async fn end(
        &self,
        cx: SessionContext<'_>,
        _response: &mut HeaderMap,
    ) -> Option<SessionRecord> {
        let session = session_of(&cx)?;
        let stored: Option<Stored<U>> = session.get(SESSION_KEY).await.ok().flatten();
        let _ = session.flush().await;
        stored?.record()
    }
}
