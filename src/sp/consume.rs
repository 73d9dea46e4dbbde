//! The ACS flow with stores: validate, consume the outstanding request, refuse replays.

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::sp::assertion::VerifiedAssertion;
use crate::sp::config::ServiceProvider;
use crate::sp::report::Report;
use crate::sp::validate::RequestCheck;
use crate::store::{ReplayCache, RequestStore};

impl ServiceProvider {
    /// Validates a Response (raw XML), then consumes its InResponseTo from `requests` (exactly
    /// once) and records the assertion in `replay` until it expires. Keys are namespaced with
    /// `namespace` (for example the tenant), so one configuration's request can never satisfy
    /// another's response.
    ///
    /// A store failure refuses the login ([`Error::StoreUnavailable`]): never accepted without
    /// replay protection.
    ///
    /// # Errors
    /// Any validation error; [`Error::UnknownInResponseTo`] when the request is not outstanding;
    /// [`Error::ReplayedAssertion`] on the second use of an assertion.
    pub async fn consume(
        &self,
        xml: &[u8],
        namespace: &str,
        requests: &dyn RequestStore,
        replay: &dyn ReplayCache,
        now: DateTime<Utc>,
    ) -> Result<VerifiedAssertion, Error> {
        let assertion =
            self.validate_inner(xml, RequestCheck::Deferred, now, &mut Report::default())?;
        // Replay first: a second use of an assertion is `replayed_assertion` whatever happened to
        // its request (a browser's Back and re-post finds its request already taken).
        record_use(replay, namespace, &assertion, now).await?;
        if let Some(irt) = assertion.in_response_to()
            && requests.take(namespace, irt, now).await?.is_none()
        {
            return Err(Error::UnknownInResponseTo {
                found: irt.to_owned(),
            });
        }
        Ok(assertion)
    }
}

/// Records a validated assertion in `replay` until the last instant it could be accepted:
/// [`Error::ReplayedAssertion`] when it was already there.
pub(crate) async fn record_use(
    replay: &dyn ReplayCache,
    namespace: &str,
    assertion: &VerifiedAssertion,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let key = format!("{}\u{1f}{}", assertion.issuer(), assertion.assertion_id());
    if replay
        .insert_if_absent(namespace, &key, assertion.accept_until(), now)
        .await?
    {
        Ok(())
    } else {
        Err(Error::ReplayedAssertion {
            issuer: assertion.issuer().to_owned(),
            assertion_id: assertion.assertion_id().to_owned(),
        })
    }
}
