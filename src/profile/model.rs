//! An organization's SSO profile and its life: draft -> configured -> tested -> active ->
//! enforced, and disabled. Each transition is a method that refuses what it must; every change
//! is recorded (who, when, the field, old and new value).

use chrono::{DateTime, Utc};

use super::input::IdpValues;
use crate::error::Error;
use crate::tenant::IdpPreset;

/// Where a profile is in its set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProfileState {
    /// Created: the SP values exist, the IdP's do not yet.
    Draft,
    /// The IdP's values are saved; not tested since.
    Configured,
    /// A test login with the current IdP values succeeded.
    Tested,
    /// Users of the organization may sign in with it.
    Active,
    /// As active, and password login is refused for its verified domains.
    Enforced,
    /// Turned off by an administrator: no login through it.
    Disabled,
}

impl ProfileState {
    /// `draft`, `configured`, `tested`, `active`, `enforced` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileState::Draft => "draft",
            ProfileState::Configured => "configured",
            ProfileState::Tested => "tested",
            ProfileState::Active => "active",
            ProfileState::Enforced => "enforced",
            ProfileState::Disabled => "disabled",
        }
    }
    /// Whether logins go through the profile (it is installed in the registry).
    pub fn signs_in(self) -> bool {
        matches!(self, ProfileState::Active | ProfileState::Enforced)
    }
}

/// An email domain the organization claims, and its DNS verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainClaim {
    /// The domain, lower-case.
    pub domain: String,
    /// The token the TXT record must hold (`saml-sp-verification=<token>`).
    pub token: String,
    /// When the TXT record was found, if it was.
    pub verified_at: Option<DateTime<Utc>>,
}

impl DomainClaim {
    /// The TXT record value the organization publishes at the domain.
    pub fn txt_record(&self) -> String {
        format!("saml-sp-verification={}", self.token)
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (the administrator's identifier, as the app gave it).
    pub by: String,
    /// What changed (`state`, `idp.sso_url`, `domains`, `jit`, ...).
    pub field: String,
    /// The old value (empty when there was none).
    pub old: String,
    /// The new value.
    pub new: String,
}

/// Just-in-time provisioning and group settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvisioningSettings {
    /// Create users on their first login.
    pub jit: bool,
    /// Take the IdP's groups into the app.
    pub groups: bool,
    /// The role a new user gets.
    pub default_role: Option<String>,
    /// IdP group -> app role.
    pub group_roles: Vec<(String, String)>,
}

/// An organization's SSO profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoProfile {
    /// The profile's identifier (also its tenant slug and the segment of its SP URLs).
    pub id: String,
    /// The organization (customer) it belongs to.
    pub organization: String,
    /// Its friendly name.
    pub name: String,
    /// The IdP product chosen from the list, if any.
    pub preset: Option<IdpPreset>,
    /// Where it is in its set-up.
    pub state: ProfileState,
    /// Bumped by every change: an update names the version it read (optimistic concurrency).
    pub version: u64,
    /// The SP entity ID the IdP is given (fixed at creation).
    pub sp_entity_id: String,
    /// The ACS URL the IdP is given (fixed at creation).
    pub acs_url: String,
    /// The IdP's values, once entered.
    pub idp: Option<IdpValues>,
    /// Provisioning settings.
    pub provisioning: ProvisioningSettings,
    /// Claimed email domains.
    pub domains: Vec<DomainClaim>,
    /// The state before it was disabled.
    pub(crate) before_disable: Option<ProfileState>,
    /// Every change.
    pub audit: Vec<AuditEntry>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

fn refuse(reason: impl Into<String>) -> Error {
    Error::Config {
        field: "state",
        reason: reason.into(),
    }
}

impl SsoProfile {
    /// A new draft profile with its SP values fixed now.
    pub fn new(
        id: impl Into<String>,
        organization: impl Into<String>,
        name: impl Into<String>,
        sp_entity_id: impl Into<String>,
        acs_url: impl Into<String>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let mut p = SsoProfile {
            id: id.into(),
            organization: organization.into(),
            name: name.into(),
            preset: None,
            state: ProfileState::Draft,
            version: 1,
            sp_entity_id: sp_entity_id.into(),
            acs_url: acs_url.into(),
            idp: None,
            provisioning: ProvisioningSettings {
                jit: true,
                ..ProvisioningSettings::default()
            },
            domains: Vec::new(),
            before_disable: None,
            audit: Vec::new(),
            created_at: now,
        };
        p.record(by, now, "state", "", "draft");
        p
    }

    fn record(&mut self, by: &str, at: DateTime<Utc>, field: &str, old: &str, new: &str) {
        self.audit.push(AuditEntry {
            at,
            by: by.to_owned(),
            field: field.to_owned(),
            old: old.to_owned(),
            new: new.to_owned(),
        });
    }

    fn set_state(&mut self, to: ProfileState, by: &str, at: DateTime<Utc>) {
        let from = self.state;
        self.state = to;
        self.record(by, at, "state", from.as_str(), to.as_str());
    }

    /// Saves the IdP's values. A draft becomes configured; a tested profile is configured again
    /// (it must be tested with the new values); an active or enforced profile keeps its state
    /// (a certificate rotation must not interrupt logins) and takes effect at once.
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) for a disabled profile.
    pub fn set_idp(&mut self, values: IdpValues, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        if self.state == ProfileState::Disabled {
            return Err(refuse(
                "a disabled profile cannot be changed; enable it first",
            ));
        }
        let describe = |v: Option<&IdpValues>| {
            v.map(|v| {
                format!(
                    "{} {} [{}]",
                    v.entity_id,
                    v.sso_url,
                    v.certificates
                        .iter()
                        .map(crate::crypto::Certificate::fingerprint_hex)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .unwrap_or_default()
        };
        let old = describe(self.idp.as_ref());
        let new = describe(Some(&values));
        self.idp = Some(values);
        self.record(by, at, "idp", &old, &new);
        if matches!(self.state, ProfileState::Draft | ProfileState::Tested) {
            self.set_state(ProfileState::Configured, by, at);
        }
        Ok(())
    }

    /// Records a successful test login with the current IdP values.
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) for a draft (nothing to test) or a disabled profile.
    pub fn mark_tested(&mut self, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        match self.state {
            ProfileState::Draft => Err(refuse("enter the IdP's values before testing")),
            ProfileState::Disabled => Err(refuse("a disabled profile cannot be tested")),
            ProfileState::Configured => {
                self.set_state(ProfileState::Tested, by, at);
                Ok(())
            }
            _ => {
                self.record(by, at, "test", "", "passed");
                Ok(())
            }
        }
    }

    /// Lets users sign in with the profile.
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) unless tested (an administrator confirmed a test login), and
    /// (`certificate`) when every signing certificate has expired.
    pub fn activate(&mut self, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        if self.state != ProfileState::Tested {
            return Err(refuse(format!(
                "only a tested profile can be activated; this one is {}",
                self.state.as_str()
            )));
        }
        let current = self
            .idp
            .as_ref()
            .is_some_and(|i| i.certificates.iter().any(|c| c.is_valid_at(at)));
        if !current {
            return Err(Error::Config {
                field: "certificate",
                reason: "every signing certificate of the IdP has expired: save the current one and test again".into(),
            });
        }
        self.set_state(ProfileState::Active, by, at);
        Ok(())
    }

    /// Refuses password login for the profile's verified domains. `confirmed` is the
    /// administrator's explicit confirmation.
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) unless active and confirmed, (`domains`) without a verified
    /// domain.
    pub fn enforce(&mut self, confirmed: bool, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        if self.state != ProfileState::Active {
            return Err(refuse(format!(
                "only an active (tested) profile can be enforced; this one is {}",
                self.state.as_str()
            )));
        }
        if !confirmed {
            return Err(refuse(
                "enforcing SSO refuses password logins for the verified domains: confirm it",
            ));
        }
        if self.verified_domains().is_empty() {
            return Err(Error::Config {
                field: "domains",
                reason: "verify at least one email domain before enforcing SSO".into(),
            });
        }
        self.set_state(ProfileState::Enforced, by, at);
        Ok(())
    }

    /// Lifts enforcement (the only way a domain stops being enforced).
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) unless enforced.
    pub fn unenforce(&mut self, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        if self.state != ProfileState::Enforced {
            return Err(refuse("the profile is not enforced"));
        }
        self.set_state(ProfileState::Active, by, at);
        Ok(())
    }

    /// Turns the profile off.
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) when it is enforced (lift enforcement first, so that users of
    /// its domains are never left with neither SSO nor a password) or already disabled.
    pub fn disable(&mut self, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        match self.state {
            ProfileState::Enforced => Err(refuse(
                "lift SSO enforcement before disabling, or the domain's users could not sign in at all",
            )),
            ProfileState::Disabled => Err(refuse("the profile is already disabled")),
            other => {
                self.before_disable = Some(other);
                self.set_state(ProfileState::Disabled, by, at);
                Ok(())
            }
        }
    }

    /// Turns a disabled profile back on: it must be tested again before it signs anyone in.
    ///
    /// # Errors
    /// [`Error::Config`] (`state`) unless disabled.
    pub fn enable(&mut self, by: &str, at: DateTime<Utc>) -> Result<(), Error> {
        if self.state != ProfileState::Disabled {
            return Err(refuse("the profile is not disabled"));
        }
        let to = if self.idp.is_some() {
            ProfileState::Configured
        } else {
            ProfileState::Draft
        };
        self.before_disable = None;
        self.set_state(to, by, at);
        Ok(())
    }

    /// Claims `domain` for the organization, with a fresh verification token.
    ///
    /// # Errors
    /// [`Error::Config`] (`domains`) for something that is not a domain, or one claimed already.
    pub fn claim_domain(
        &mut self,
        domain: &str,
        token: String,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<&DomainClaim, Error> {
        let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
        let ok = d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && d.len() <= 253
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !ok {
            return Err(Error::Config {
                field: "domains",
                reason: format!("{domain:?} is not an email domain (write it as example.com)"),
            });
        }
        if self.domains.iter().any(|c| c.domain == d) {
            return Err(Error::Config {
                field: "domains",
                reason: format!("{d} is already claimed by this profile"),
            });
        }
        self.record(by, at, "domains", "", &d);
        self.domains.push(DomainClaim {
            domain: d,
            token,
            verified_at: None,
        });
        self.domains
            .last()
            .ok_or_else(|| refuse("the claim was not recorded"))
    }

    /// Marks `domain` verified.
    ///
    /// # Errors
    /// [`Error::Config`] (`domains`) when the domain is not claimed.
    pub fn mark_verified(
        &mut self,
        domain: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let d = domain.to_ascii_lowercase();
        let claim = self
            .domains
            .iter_mut()
            .find(|c| c.domain == d)
            .ok_or_else(|| Error::Config {
                field: "domains",
                reason: format!("{d} is not claimed by this profile"),
            })?;
        claim.verified_at = Some(at);
        self.record(by, at, "domains.verified", "", &d);
        Ok(())
    }

    /// The verified domains (the only ones discovery and enforcement use).
    pub fn verified_domains(&self) -> Vec<String> {
        self.domains
            .iter()
            .filter(|c| c.verified_at.is_some())
            .map(|c| c.domain.clone())
            .collect()
    }

    /// Changes the provisioning settings.
    pub fn set_provisioning(
        &mut self,
        settings: ProvisioningSettings,
        by: &str,
        at: DateTime<Utc>,
    ) {
        let old = format!("{:?}", self.provisioning);
        let new = format!("{settings:?}");
        self.provisioning = settings;
        self.record(by, at, "provisioning", &old, &new);
    }

    /// Renames the profile.
    pub fn rename(&mut self, name: impl Into<String>, by: &str, at: DateTime<Utc>) {
        let name = name.into();
        let old = std::mem::replace(&mut self.name, name.clone());
        self.record(by, at, "name", &old, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn now() -> DateTime<Utc> {
        parse_instant("2030-01-01T10:00:00Z", "now").unwrap()
    }

    fn values() -> IdpValues {
        let pem = include_str!("../testkit/test-idp.crt");
        IdpValues {
            entity_id: "https://idp".into(),
            sso_url: "https://idp/sso".into(),
            sso_binding: crate::binding::SsoBinding::Redirect,
            slo_url: None,
            certificates: crate::crypto::Certificate::parse_all(pem.as_bytes()).unwrap(),
            valid_until: None,
        }
    }

    fn draft() -> SsoProfile {
        SsoProfile::new(
            "acme",
            "org-1",
            "Okta",
            "https://sp/acme",
            "https://sp/acme/acs",
            "ann",
            now(),
        )
    }

    #[test]
    fn the_happy_path_and_its_audit() {
        let mut p = draft();
        p.set_idp(values(), "ann", now()).unwrap();
        assert_eq!(p.state, ProfileState::Configured);
        p.mark_tested("ann", now()).unwrap();
        p.activate("ann", now()).unwrap();
        p.claim_domain("Acme.Example", "t0k".into(), "ann", now())
            .unwrap();
        p.mark_verified("acme.example", "ann", now()).unwrap();
        p.enforce(true, "ann", now()).unwrap();
        assert_eq!(p.state, ProfileState::Enforced);
        let states: Vec<_> = p
            .audit
            .iter()
            .filter(|a| a.field == "state")
            .map(|a| a.new.as_str())
            .collect();
        assert_eq!(
            states,
            ["draft", "configured", "tested", "active", "enforced"]
        );
        assert!(p.audit.iter().all(|a| a.by == "ann"));
    }

    #[test]
    fn each_transition_refuses_what_it_must() {
        let mut p = draft();
        assert!(p.mark_tested("ann", now()).is_err(), "nothing to test");
        p.set_idp(values(), "ann", now()).unwrap();
        assert!(p.activate("ann", now()).is_err(), "untested");
        p.mark_tested("ann", now()).unwrap();
        // New IdP values after a test: test again.
        p.set_idp(values(), "ann", now()).unwrap();
        assert_eq!(p.state, ProfileState::Configured);
        p.mark_tested("ann", now()).unwrap();
        p.activate("ann", now()).unwrap();
        assert!(p.enforce(false, "ann", now()).is_err(), "not confirmed");
        let e = p.enforce(true, "ann", now()).unwrap_err();
        assert!(e.to_string().contains("verify"), "{e}");
        p.claim_domain("acme.example", "t".into(), "ann", now())
            .unwrap();
        assert!(
            p.enforce(true, "ann", now()).is_err(),
            "domain not verified"
        );
        p.mark_verified("acme.example", "ann", now()).unwrap();
        p.enforce(true, "ann", now()).unwrap();
        assert!(
            p.disable("ann", now()).is_err(),
            "enforced: un-enforce first"
        );
        p.unenforce("ann", now()).unwrap();
        p.disable("ann", now()).unwrap();
        assert!(p.set_idp(values(), "ann", now()).is_err());
        p.enable("ann", now()).unwrap();
        assert_eq!(
            p.state,
            ProfileState::Configured,
            "enabled again: test again"
        );
        assert!(
            p.claim_domain("not a domain", "t".into(), "ann", now())
                .is_err()
        );
        assert!(
            p.claim_domain("acme.example", "t".into(), "ann", now())
                .is_err()
        );
    }

    #[test]
    fn an_expired_certificate_cannot_be_activated() {
        let mut p = draft();
        p.set_idp(values(), "ann", now()).unwrap();
        p.mark_tested("ann", now()).unwrap();
        let far = parse_instant("2199-01-01T00:00:00Z", "t").unwrap();
        let e = p.activate("ann", far).unwrap_err();
        assert!(e.to_string().contains("certificate"), "{e}");
    }
}
