//! Step-up and re-authentication: a login that must come back with a given authentication
//! context (MFA) and a recent authentication. The AuthnRequest carries
//! `RequestedAuthnContext` (and `ForceAuthn` when an age is required); the pending-login record
//! keeps the requirement server-side, and the ACS refuses a Response whose
//! `AuthnContextClassRef` does not satisfy it (`authn_context_mismatch`: a missing, weaker or
//! unknown context is never accepted) or whose `AuthnInstant` is too old (`authn_too_old`).
//!
//! `minimum` and `better` need an order of contexts, which SAML does not define: [`StepUp`]
//! uses this one (weakest first), and a context it does not know compares as nothing (refused):
//!
//! 1. `unspecified`;
//! 2. `Password`, `InternetProtocol`, `InternetProtocolPassword`, `PreviousSession`;
//! 3. `PasswordProtectedTransport`, `Kerberos`, AD FS and Entra ID's password URIs;
//! 4. `TLSClient`, `X509`, `Smartcard`, `SmartcardPKI`, `SoftwarePKI`, AD FS's `x509`;
//! 5. multi-factor: REFEDS MFA, `MobileTwoFactorContract`, `MobileTwoFactorUnregistered`,
//!    `TimeSyncToken`, Microsoft's `multipleauthn`, Okta's `urn:okta:loa:2fa:any`.

use chrono::{DateTime, Duration, Utc};

use super::authn_request::Comparison;
use crate::error::Error;
use crate::tenant::IdpPreset;

const AC: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:";

/// REFEDS MFA (research and education federations).
pub const REFEDS_MFA: &str = "https://refeds.org/profile/mfa";
/// Microsoft's multi-factor context (AD FS honours it in `RequestedAuthnContext`).
pub const MICROSOFT_MFA: &str = "http://schemas.microsoft.com/claims/multipleauthn";
/// Okta's "two factors, any" level of assurance.
pub const OKTA_2FA: &str = "urn:okta:loa:2fa:any";

/// The rank of a context class reference (weakest 0), or `None` for one not in the order.
pub fn context_rank(class_ref: &str) -> Option<u8> {
    if let Some(c) = class_ref.strip_prefix(AC) {
        return match c {
            "unspecified" => Some(0),
            "Password" | "InternetProtocol" | "InternetProtocolPassword" | "PreviousSession" => {
                Some(1)
            }
            "PasswordProtectedTransport" | "Kerberos" => Some(2),
            "TLSClient" | "X509" | "Smartcard" | "SmartcardPKI" | "SoftwarePKI" => Some(3),
            "MobileTwoFactorContract" | "MobileTwoFactorUnregistered" | "TimeSyncToken" => Some(4),
            _ => None,
        };
    }
    match class_ref {
        "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
        | "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/windows" => {
            Some(2)
        }
        "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/x509" => Some(3),
        REFEDS_MFA | MICROSOFT_MFA | OKTA_2FA => Some(4),
        _ => None,
    }
}

/// What a login must come back with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct StepUp {
    comparison: Comparison,
    class_refs: Vec<String>,
    max_age: Option<Duration>,
}

impl StepUp {
    /// One of `class_refs` exactly.
    pub fn exact<I: IntoIterator<Item = S>, S: Into<String>>(class_refs: I) -> Self {
        StepUp::new(Comparison::Exact, class_refs)
    }
    /// At least the weakest of `class_refs` in the order above.
    pub fn minimum<I: IntoIterator<Item = S>, S: Into<String>>(class_refs: I) -> Self {
        StepUp::new(Comparison::Minimum, class_refs)
    }
    /// Stronger than every one of `class_refs`.
    pub fn better<I: IntoIterator<Item = S>, S: Into<String>>(class_refs: I) -> Self {
        StepUp::new(Comparison::Better, class_refs)
    }
    fn new<I: IntoIterator<Item = S>, S: Into<String>>(comparison: Comparison, refs: I) -> Self {
        StepUp {
            comparison,
            class_refs: refs.into_iter().map(Into::into).collect(),
            max_age: None,
        }
    }
    /// Multi-factor authentication as `preset` names it (requested `exact`, so the IdP is asked
    /// for what it understands; the answer must be that context).
    pub fn mfa(preset: Option<IdpPreset>) -> Self {
        StepUp::exact(match preset {
            Some(IdpPreset::Adfs | IdpPreset::EntraId) => vec![MICROSOFT_MFA],
            Some(IdpPreset::Okta) => vec![OKTA_2FA],
            _ => vec![REFEDS_MFA],
        })
    }
    /// The user must have authenticated at the IdP at most `age` ago (the request carries
    /// `ForceAuthn` so the IdP asks again).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }
    /// The comparison.
    pub fn comparison(&self) -> Comparison {
        self.comparison
    }
    /// The class references.
    pub fn class_refs(&self) -> &[String] {
        &self.class_refs
    }
    /// The maximum authentication age.
    pub fn max_age_limit(&self) -> Option<Duration> {
        self.max_age
    }

    /// Checks a Response's `AuthnContextClassRef` and `AuthnInstant` at `now` (with `skew`).
    ///
    /// # Errors
    /// [`Error::AuthnContextMismatch`], [`Error::AuthnTooOld`].
    pub fn check(
        &self,
        class_ref: Option<&str>,
        authn_instant: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        skew: Duration,
    ) -> Result<(), Error> {
        check_context(self.comparison, &self.class_refs, class_ref)?;
        check_age(self.max_age, authn_instant, now, skew)
    }

    /// The record form kept with the pending login: comparison, age in seconds, class refs.
    pub(crate) fn encode(&self) -> String {
        let c = match self.comparison {
            Comparison::Exact => "exact",
            Comparison::Minimum => "minimum",
            Comparison::Maximum => "maximum",
            _ => "better",
        };
        let age = self
            .max_age
            .map_or(String::new(), |a| a.num_seconds().to_string());
        format!("{c} {age} {}", self.class_refs.join(" "))
    }

    pub(crate) fn decode(text: &str) -> Option<StepUp> {
        let mut parts = text.split(' ');
        let comparison = match parts.next()? {
            "exact" => Comparison::Exact,
            "minimum" => Comparison::Minimum,
            "maximum" => Comparison::Maximum,
            "better" => Comparison::Better,
            _ => return None,
        };
        let max_age = match parts.next()? {
            "" => None,
            s => Some(Duration::seconds(s.parse().ok()?)),
        };
        Some(StepUp {
            comparison,
            class_refs: parts.filter(|p| !p.is_empty()).map(str::to_owned).collect(),
            max_age,
        })
    }
}

/// The returned context against the requested ones.
fn check_context(
    comparison: Comparison,
    requested: &[String],
    found: Option<&str>,
) -> Result<(), Error> {
    let mismatch = || Error::AuthnContextMismatch {
        expected: requested.to_vec(),
        found: found.unwrap_or("none").to_owned(),
    };
    let found = found.ok_or_else(mismatch)?;
    let ok = match comparison {
        Comparison::Exact => requested.iter().any(|r| r == found),
        other => {
            let ranks: Vec<u8> = requested.iter().filter_map(|r| context_rank(r)).collect();
            match (context_rank(found), ranks.iter().min(), ranks.iter().max()) {
                (Some(f), Some(lo), Some(hi)) => match other {
                    Comparison::Minimum => f >= *lo,
                    Comparison::Maximum => f <= *hi,
                    _ => f > *hi,
                },
                // Unknown to the order: not comparable, refused.
                _ => false,
            }
        }
    };
    if ok { Ok(()) } else { Err(mismatch()) }
}

/// The AuthnInstant within `max_age` (+ skew) of `now`.
fn check_age(
    max_age: Option<Duration>,
    authn_instant: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<(), Error> {
    let Some(max_age) = max_age else {
        return Ok(());
    };
    let too_old = |found: String| Error::AuthnTooOld {
        max_age_seconds: max_age.num_seconds(),
        found,
    };
    let at = authn_instant.ok_or_else(|| too_old("none".into()))?;
    if now - at > max_age + skew {
        return Err(too_old(crate::time::format_instant(at)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PPT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

    #[test]
    fn comparisons_refuse_missing_weaker_and_unknown_contexts() {
        let now = Utc::now();
        let s = Duration::seconds(0);
        let mfa = StepUp::exact([REFEDS_MFA]);
        assert!(mfa.check(Some(REFEDS_MFA), None, now, s).is_ok());
        for found in [Some(PPT), None, Some("urn:example:custom")] {
            let e = mfa.check(found, None, now, s).unwrap_err();
            assert_eq!(e.code(), "authn_context_mismatch");
        }
        let min = StepUp::minimum([PPT]);
        assert!(min.check(Some(PPT), None, now, s).is_ok());
        assert!(min.check(Some(MICROSOFT_MFA), None, now, s).is_ok());
        assert!(
            min.check(Some(&format!("{AC}Password")), None, now, s)
                .is_err()
        );
        assert!(
            min.check(Some("urn:example:custom"), None, now, s).is_err(),
            "unknown: refused"
        );
        let better = StepUp::better([PPT]);
        assert!(
            better.check(Some(PPT), None, now, s).is_err(),
            "better is exclusive"
        );
        assert!(better.check(Some(OKTA_2FA), None, now, s).is_ok());
    }

    #[test]
    fn max_age_refuses_an_old_or_missing_authn_instant() {
        let now = Utc::now();
        let skew = Duration::seconds(60);
        let s = StepUp::exact([PPT]).max_age(Duration::minutes(5));
        assert!(
            s.check(Some(PPT), Some(now - Duration::minutes(5)), now, skew)
                .is_ok()
        );
        let e = s
            .check(Some(PPT), Some(now - Duration::minutes(10)), now, skew)
            .unwrap_err();
        assert_eq!(e.code(), "authn_too_old");
        assert_eq!(
            s.check(Some(PPT), None, now, skew).unwrap_err().code(),
            "authn_too_old"
        );
    }

    #[test]
    fn the_record_form_round_trips() {
        for s in [
            StepUp::mfa(Some(IdpPreset::Okta)).max_age(Duration::minutes(10)),
            StepUp::minimum([PPT, REFEDS_MFA]),
        ] {
            assert_eq!(StepUp::decode(&s.encode()), Some(s));
        }
        assert_eq!(StepUp::decode("sideways 5 x"), None);
    }
}
