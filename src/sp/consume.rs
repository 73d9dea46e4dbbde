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

/// The replay key of an assertion.
fn use_key(assertion: &VerifiedAssertion) -> String {
    format!("{}\u{1f}{}", assertion.issuer(), assertion.assertion_id())
}

/// [`Error::ReplayedAssertion`] when the assertion was already used, without recording it (for
/// a post that is refused anyway and must not spend the ID).
pub(crate) async fn refuse_if_used(
    replay: &dyn ReplayCache,
    namespace: &str,
    assertion: &VerifiedAssertion,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if replay.contains(namespace, &use_key(assertion), now).await? {
        return Err(Error::ReplayedAssertion {
            issuer: assertion.issuer().to_owned(),
            assertion_id: assertion.assertion_id().to_owned(),
        });
    }
    Ok(())
}

/// Records a validated assertion in `replay` until the last instant it could be accepted:
/// [`Error::ReplayedAssertion`] when it was already there.
pub(crate) async fn record_use(
    replay: &dyn ReplayCache,
    namespace: &str,
    assertion: &VerifiedAssertion,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if replay
        .insert_if_absent(
            namespace,
            &use_key(assertion),
            assertion.accept_until(),
            now,
        )
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
