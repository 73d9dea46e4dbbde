//! What a login keeps for logout, and the app's side of IdP-initiated logout.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::error::ProvisionError;
use crate::sp::assertion::{NameId, VerifiedAssertion};

/// The identity of one SAML session, as Single Logout names it: the IdP, the NameID (with its
/// format and qualifiers, compared exactly) and the SessionIndex. Store it with the app's session
/// ([`SessionRecord::encode`] gives a compact string; with the `serde` feature it is also
/// `Serialize`/`Deserialize`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SessionRecord {
    /// The IdP entity ID.
    pub issuer: String,
    /// The NameID.
    pub name_id: NameId,
    /// The AuthnStatement's SessionIndex.
    pub session_index: Option<String>,
    /// The AuthnStatement's SessionNotOnOrAfter: end the app's session by then.
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    /// The AuthnStatement's `AuthnContextClassRef` (what a step-up requirement is checked
    /// against).
    #[cfg_attr(feature = "serde", serde(default))]
    pub authn_context: Option<String>,
    /// The AuthnStatement's `AuthnInstant`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub authn_instant: Option<DateTime<Utc>>,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                _ => return Err(bad("a valid escape")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn bad(what: &str) -> Error {
    Error::Config {
        field: "session_record",
        reason: format!("expected {what}"),
    }
}

impl SessionRecord {
    /// The session of a verified login; `None` when the assertion has no NameID (logout names
    /// the user by NameID).
    pub fn from_assertion(a: &VerifiedAssertion) -> Option<SessionRecord> {
        Some(SessionRecord {
            issuer: a.issuer().to_owned(),
            name_id: a.name_id()?.clone(),
            session_index: a.session_index().map(str::to_owned),
            session_not_on_or_after: a.session_not_on_or_after(),
            authn_context: a.authn_context_class_ref().map(str::to_owned),
            authn_instant: a.authn_instant(),
        })
    }

    /// A compact, line-based string for the app's session store ([`SessionRecord::decode`]
    /// reads it back).
    pub fn encode(&self) -> String {
        let opt = |v: &Option<String>| match v {
            Some(v) => format!("+{}", escape(v)),
            None => "-".to_owned(),
        };
        [
            "saml-sp-session-2".to_owned(),
            escape(&self.issuer),
            escape(&self.name_id.value),
            opt(&self.name_id.format),
            opt(&self.name_id.name_qualifier),
            opt(&self.name_id.sp_name_qualifier),
            opt(&self.name_id.sp_provided_id),
            opt(&self.session_index),
            opt(&self
                .session_not_on_or_after
                .map(crate::time::format_instant)),
            opt(&self.authn_context),
            opt(&self.authn_instant.map(crate::time::format_instant)),
        ]
        .join("\n")
    }

    /// Reads [`SessionRecord::encode`]'s output.
    ///
    /// # Errors
    /// [`Error::Config`] (`session_record`) for anything else.
    pub fn decode(text: &str) -> Result<SessionRecord, Error> {
        let lines: Vec<&str> = text.split('\n').collect();
        // Version 1 (before the authentication context was kept) is still read.
        let (issuer, value, format, nq, spnq, spid, index, noa, context, instant) =
            match lines.as_slice() {
                [
                    "saml-sp-session-1",
                    issuer,
                    value,
                    format,
                    nq,
                    spnq,
                    spid,
                    index,
                    noa,
                ] => (
                    issuer, value, format, nq, spnq, spid, index, noa, &"-", &"-",
                ),
                [
                    "saml-sp-session-2",
                    issuer,
                    value,
                    format,
                    nq,
                    spnq,
                    spid,
                    index,
                    noa,
                    context,
                    instant,
                ] => (
                    issuer, value, format, nq, spnq, spid, index, noa, context, instant,
                ),
                _ => return Err(bad("a saml-sp-session record of 9 or 11 lines")),
            };
        let opt = |v: &str| -> Result<Option<String>, Error> {
            match v.split_at_checked(1) {
                Some(("+", rest)) => Ok(Some(unescape(rest)?)),
                Some(("-", "")) => Ok(None),
                _ => Err(bad("'+value' or '-'")),
            }
        };
        let session_not_on_or_after = opt(noa)?
            .map(|t| crate::time::parse_instant(&t, "SessionNotOnOrAfter"))
            .transpose()?;
        Ok(SessionRecord {
            issuer: unescape(issuer)?,
            name_id: NameId {
                value: unescape(value)?,
                format: opt(format)?,
                name_qualifier: opt(nq)?,
                sp_name_qualifier: opt(spnq)?,
                sp_provided_id: opt(spid)?,
            },
            session_index: opt(index)?,
            session_not_on_or_after,
            authn_context: opt(context)?,
            authn_instant: opt(instant)?
                .map(|t| crate::time::parse_instant(&t, "AuthnInstant"))
                .transpose()?,
        })
    }

    /// Whether a LogoutRequest for `name_id` and `session_indexes` ends this session: the same
    /// IdP, the same NameID (value, format and qualifiers, exactly), and, when the request names
    /// session indexes, this session's among them.
    pub fn matches(&self, issuer: &str, name_id: &NameId, session_indexes: &[String]) -> bool {
        self.issuer == issuer
            && self.name_id == *name_id
            && (session_indexes.is_empty()
                || self
                    .session_index
                    .as_ref()
                    .is_some_and(|i| session_indexes.contains(i)))
    }
}

/// The app's side of IdP-initiated logout: end every local session the request names.
/// `login::Acs::handle_logout_request` calls it after the LogoutRequest verified, and answers
/// the IdP with `Success` when it returns `Ok` and `Responder` when it fails.
pub trait SessionTerminator: Send + Sync {
    /// Ends the sessions of `request` in `tenant` (see [`SessionRecord::matches`]); returns how
    /// many were ended.
    fn end_sessions(
        &self,
        tenant: &str,
        request: &super::ReceivedLogoutRequest,
    ) -> impl Future<Output = Result<usize, ProvisionError>> + Send;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn encode_decode_round_trip_with_escapes_and_absent_fields() {
        let r = SessionRecord {
            issuer: "https://idp\\x\n".into(),
            name_id: NameId {
                value: " ada@example.com\n-".into(),
                format: Some("urn:f".into()),
                name_qualifier: None,
                sp_name_qualifier: Some("+".into()),
                sp_provided_id: None,
            },
            session_index: Some("_s1".into()),
            session_not_on_or_after: Some(
                crate::time::parse_instant("2030-01-01T00:00:00Z", "t").unwrap(),
            ),
            authn_context: Some("https://refeds.org/profile/mfa".into()),
            authn_instant: Some(crate::time::parse_instant("2029-12-31T23:00:00Z", "t").unwrap()),
        };
        assert_eq!(SessionRecord::decode(&r.encode()).unwrap(), r);
        // A version-1 record (before the authentication context was kept) still reads.
        let v1 = r
            .encode()
            .replace("saml-sp-session-2", "saml-sp-session-1")
            .rsplitn(3, '\n')
            .nth(2)
            .unwrap()
            .to_owned();
        let old = SessionRecord::decode(&v1).unwrap();
        assert_eq!((old.authn_context, old.authn_instant), (None, None));
        assert_eq!(old.session_index, r.session_index);
        assert!(SessionRecord::decode("saml-sp-session-1\nx").is_err());
        assert!(SessionRecord::decode(&r.encode().replace("\n+urn:f", "\n?urn:f")).is_err());
    }
}
