//! "Test connection": a login through the profile's IdP that runs every check but signs nobody
//! into the app. It has its own request ID and RelayState (`test-` and 32 hex digits, never a
//! login token), is bound to the administrator who started it, provisions nobody, creates no
//! session, and records the assertion in the replay cache so the same Response cannot be posted
//! to the real ACS afterwards.

use chrono::{DateTime, Duration, Utc};

use super::input::IdpValues;
use super::model::SsoProfile;
use crate::binding::Navigation;
use crate::error::Error;
use crate::login::AuthnRequest;
use crate::sp::config::{IdentityProvider, ServiceProvider};
use crate::sp::identity::{AttributeMapping, SamlIdentity};
use crate::sp::report::{Check, Report};
use crate::sp::validate::RequestCheck;
use crate::store::{ReplayCache, RequestStore};

/// How long a test login may take.
pub const TEST_LIFETIME_MINUTES: i64 = 10;

/// What the administrator's browser does to run the test, and the test's RelayState.
#[derive(Debug, Clone)]
pub struct TestStart {
    /// Where to send the browser (the IdP's SSO URL with the AuthnRequest).
    pub navigation: Navigation,
    /// The test's RelayState (`test-...`): the ACS hands a Response carrying it to
    /// `ProfileService::finish_test`.
    pub relay_state: String,
}

/// What a test login found, for the admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestResult {
    /// The profile.
    pub profile: String,
    /// The administrator who ran it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Whether every check passed.
    pub passed: bool,
    /// The failure's code, when it failed.
    pub error_code: Option<&'static str>,
    /// Every check, with what was expected and what was found.
    pub checks: Vec<Check>,
    /// The identity as the app would map it (when the checks passed).
    pub identity: Option<SamlIdentity>,
    /// The raw attributes received (name, values), when the checks passed.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The SHA-256 fingerprints of the certificates the profile trusts.
    pub configured_fingerprints: Vec<String>,
}

/// Whether a RelayState belongs to a test login.
pub fn is_test_relay_state(relay_state: &str) -> bool {
    relay_state
        .strip_prefix("test-")
        .is_some_and(|t| t.len() == 32 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn test_key(relay_state: &str) -> String {
    format!("test\u{1f}{relay_state}")
}

/// The profile's own SP, as the test validates with it: its SP values and its IdP values.
pub(crate) fn service_provider(
    profile: &SsoProfile,
    idp: &IdpValues,
) -> Result<ServiceProvider, Error> {
    let mut i = IdentityProvider::new(idp.entity_id.clone(), idp.certificates.clone())?
        .with_sso_url(idp.sso_url.clone());
    if let Some(t) = idp.valid_until {
        i = i.with_valid_until(t);
    }
    ServiceProvider::builder(profile.sp_entity_id.clone(), profile.acs_url.clone(), i).build()
}

/// Starts a test login of `profile` for the administrator `by`.
pub(crate) async fn start(
    profile: &SsoProfile,
    by: &str,
    requests: &dyn RequestStore,
    now: DateTime<Utc>,
) -> Result<TestStart, Error> {
    let idp = profile.idp.as_ref().ok_or_else(|| Error::Config {
        field: "idp",
        reason: "enter the IdP's values before testing".into(),
    })?;
    if profile.state == super::model::ProfileState::Disabled {
        return Err(Error::IdpDisabled {
            tenant: profile.id.clone(),
        });
    }
    let req = AuthnRequest::new(profile.sp_entity_id.clone(), profile.acs_url.clone())
        .destination(idp.sso_url.clone())
        .build(now)?;
    let mut token = [0u8; 16];
    crate::crypto::random_bytes(&mut token)?;
    let relay_state = format!("test-{}", crate::crypto::hex(&token));
    requests
        .remember(
            &profile.id,
            &test_key(&relay_state),
            &format!("test-v1\n{}\n{}", req.id(), by),
            now + Duration::minutes(TEST_LIFETIME_MINUTES),
        )
        .await?;
    let navigation = match idp.sso_binding {
        crate::binding::SsoBinding::Post => {
            Navigation::Post(req.post_form(Some(&relay_state), None)?)
        }
        _ => Navigation::Redirect(req.redirect_url(Some(&relay_state), None)?),
    };
    Ok(TestStart {
        navigation,
        relay_state,
    })
}

/// Finishes a test login: the pending test is taken once, must have been started by `by`, and
/// the Response goes through every check with the profile's values. Nobody is provisioned and no
/// session is created; the assertion is recorded as used.
pub(crate) async fn finish(
    profile: &SsoProfile,
    saml_response: &str,
    relay_state: &str,
    by: &str,
    requests: &dyn RequestStore,
    replay: &dyn ReplayCache,
    now: DateTime<Utc>,
) -> Result<TestResult, Error> {
    if !is_test_relay_state(relay_state) {
        return Err(Error::Binding("not a test login's RelayState".into()));
    }
    let record = requests
        .take(&profile.id, &test_key(relay_state), now)
        .await?
        .ok_or_else(|| Error::UnknownInResponseTo {
            found: "a test login that is not pending (expired, finished, or never started)".into(),
        })?;
    let mut lines = record.lines();
    let (Some("test-v1"), Some(request_id), Some(started_by)) =
        (lines.next(), lines.next(), lines.next())
    else {
        return Err(Error::malformed("a pending test record", "another record"));
    };
    if started_by != by {
        return Err(Error::LoginBrowserMismatch {
            found: "a test login another administrator started".into(),
        });
    }
    let idp = profile.idp.as_ref().ok_or_else(|| Error::Config {
        field: "idp",
        reason: "the profile has no IdP values".into(),
    })?;
    let sp = service_provider(profile, idp)?;
    let configured_fingerprints = idp
        .certificates
        .iter()
        .map(crate::crypto::Certificate::fingerprint_hex)
        .collect();
    let mut report = Report::default();
    let outcome = match sp.decode_post(saml_response) {
        Ok(xml) => sp.validate_inner(
            &xml,
            RequestCheck::Known(Some(request_id)),
            now,
            &mut report,
        ),
        Err(e) => Err(report.fail("binding", e)),
    };
    let mut result = TestResult {
        profile: profile.id.clone(),
        by: by.to_owned(),
        at: now,
        passed: false,
        error_code: None,
        checks: Vec::new(),
        identity: None,
        attributes: Vec::new(),
        configured_fingerprints,
    };
    match outcome {
        Ok(assertion) => {
            // The Response is used up: it cannot be posted to the real ACS afterwards.
            crate::sp::consume::record_use(replay, &profile.id, &assertion, now).await?;
            let mapping = profile
                .preset
                .map_or_else(AttributeMapping::default, |p| p.attribute_mapping());
            match mapping.identity(&assertion) {
                Ok(identity) => {
                    result.passed = true;
                    result.identity = Some(identity);
                }
                Err(e) => {
                    result.error_code = Some(e.code());
                    report.fail("identity", e);
                }
            }
            result.attributes = assertion
                .attributes()
                .iter()
                .map(|a| (a.name().to_owned(), a.values().map(str::to_owned).collect()))
                .collect();
        }
        Err(e) => result.error_code = Some(e.code()),
    }
    result.checks = report.checks;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_relay_states_are_never_login_tokens() {
        let t = format!("test-{}", "ab".repeat(16));
        assert!(is_test_relay_state(&t));
        assert!(!crate::login::browser::is_login_token(&t));
        assert!(!is_test_relay_state(&"ab".repeat(16)));
        assert!(!is_test_relay_state("test-XYZ"));
    }
}
