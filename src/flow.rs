//! The ACS flow with stores: validate, consume the outstanding request, refuse replays.

use chrono::{DateTime, Utc};

use crate::assertion::VerifiedAssertion;
use crate::config::ServiceProvider;
use crate::error::Error;
use crate::store::{ReplayCache, RequestStore};
use crate::validate::{Report, RequestCheck};

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
        if let Some(irt) = assertion.in_response_to()
            && requests.take(namespace, irt, now).await?.is_none()
        {
            return Err(Error::UnknownInResponseTo {
                found: irt.to_owned(),
            });
        }
        let until = assertion.not_on_or_after() + self.clock_skew();
        let key = format!("{}\u{1f}{}", assertion.issuer(), assertion.assertion_id());
        if !replay.insert_if_absent(namespace, &key, until, now).await? {
            return Err(Error::ReplayedAssertion {
                issuer: assertion.issuer().to_owned(),
                assertion_id: assertion.assertion_id().to_owned(),
            });
        }
        Ok(assertion)
    }
}
