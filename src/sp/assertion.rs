//! The typed result of validation. A [`VerifiedAssertion`] has no public constructor: the only way
//! to obtain one is `ServiceProvider::validate_response` (or the async ACS flow), and
//! every value in it was read from an element covered by a verified signature.

use chrono::{DateTime, Utc};

use crate::sp::attributes::{Attributes, Values};

/// The `NameID` of the assertion's Subject, exactly as sent (never trimmed or case-folded).
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct NameId {
    /// The whole text content.
    pub value: String,
    /// `Format`, if present.
    pub format: Option<String>,
    /// `NameQualifier`, if present.
    pub name_qualifier: Option<String>,
    /// `SPNameQualifier`, if present.
    pub sp_name_qualifier: Option<String>,
    /// `SPProvidedID`, if present.
    pub sp_provided_id: Option<String>,
}

impl std::fmt::Debug for NameId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameId")
            .field("value", &self.value)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Which elements carried a verified signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Signed {
    /// The Response's own signature verified.
    pub response: bool,
    /// The Assertion's own signature verified.
    pub assertion: bool,
}

/// A validated assertion: the identity the IdP vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub(crate) issuer: String,
    pub(crate) name_id: Option<NameId>,
    pub(crate) session_index: Option<String>,
    pub(crate) authn_instant: Option<DateTime<Utc>>,
    pub(crate) authn_context_class_ref: Option<String>,
    pub(crate) session_not_on_or_after: Option<DateTime<Utc>>,
    pub(crate) attributes: Attributes,
    pub(crate) not_on_or_after: DateTime<Utc>,
    pub(crate) assertion_id: String,
    pub(crate) response_id: String,
    pub(crate) in_response_to: Option<String>,
    pub(crate) signed: Signed,
    pub(crate) one_time_use: bool,
    pub(crate) accept_until: DateTime<Utc>,
}

impl VerifiedAssertion {
    /// The IdP entity ID (the Assertion's Issuer).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The Subject's NameID, if the assertion has one.
    pub fn name_id(&self) -> Option<&NameId> {
        self.name_id.as_ref()
    }
    /// `AuthnStatement/@SessionIndex`.
    pub fn session_index(&self) -> Option<&str> {
        self.session_index.as_deref()
    }
    /// `AuthnStatement/@AuthnInstant`.
    pub fn authn_instant(&self) -> Option<DateTime<Utc>> {
        self.authn_instant
    }
    /// `AuthnContextClassRef`.
    pub fn authn_context_class_ref(&self) -> Option<&str> {
        self.authn_context_class_ref.as_deref()
    }
    /// `AuthnStatement/@SessionNotOnOrAfter`.
    pub fn session_not_on_or_after(&self) -> Option<DateTime<Utc>> {
        self.session_not_on_or_after
    }
    /// All attributes, merged by `Name`, in document order.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }
    /// The values of the attribute named `name` (none when absent).
    pub fn attribute(&self, name: &str) -> Values<'_> {
        self.attributes.values(name)
    }
    /// The earliest end of the assertion's validity (Conditions and bearer confirmation): the
    /// replay cache keeps the assertion ID until [`VerifiedAssertion::accept_until`].
    pub fn not_on_or_after(&self) -> DateTime<Utc> {
        self.not_on_or_after
    }
    /// The last instant at which this assertion could still be accepted by any path (the latest
    /// bearer confirmation's NotOnOrAfter, bounded by Conditions/@NotOnOrAfter and by the
    /// Assertion's IssueInstant + the maximum response age), clock skew included. A replay cache
    /// must remember the assertion ID at least until then.
    pub fn accept_until(&self) -> DateTime<Utc> {
        self.accept_until
    }
    /// The Assertion's `ID`.
    pub fn assertion_id(&self) -> &str {
        &self.assertion_id
    }
    /// The Response's ID.
    pub fn response_id(&self) -> &str {
        &self.response_id
    }
    /// The request this answers (`None` for an unsolicited response).
    pub fn in_response_to(&self) -> Option<&str> {
        self.in_response_to.as_deref()
    }
    /// Which elements were signed.
    pub fn signed(&self) -> Signed {
        self.signed
    }
    /// Whether the assertion carries a `OneTimeUse` condition.
    pub fn one_time_use(&self) -> bool {
        self.one_time_use
    }
}
