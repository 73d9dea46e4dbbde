//! Typed configuration, built once and validated early.
//!
//! ```
//! use saml_sp::{IdentityProvider, ServiceProvider, SignaturePolicy};
//! use saml_sp::crypto::Certificate;
//!
//! // The IdP's signing certificate as its admin console hands it out: PEM (with or without line
//! // breaks), bare base64 or DER. (Here the test IdP's.)
//! # let pem = saml_sp::testkit::generate_key("idp", chrono::Utc::now())?.certificate_pem;
//! let idp = IdentityProvider::new("http://www.okta.com/exk1bench0idp0okta0x7", Certificate::parse_all(pem.as_bytes())?)?;
//! let sp = ServiceProvider::builder("https://sp.example.com/saml/metadata", "https://sp.example.com/saml/acs", idp)
//!     .require_signed(SignaturePolicy::Either)
//!     .build()?;
//! assert_eq!(sp.acs_url(), "https://sp.example.com/saml/acs");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::Duration;

use super::danger::DangerousOptions;
use crate::crypto::{Certificate, SigningKey};
use crate::error::Error;
use crate::xml::Limits;

/// Which elements must carry a verified signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignaturePolicy {
    /// The Assertion must be signed itself.
    Assertion,
    /// The Response must be signed (it covers the Assertion inside it).
    Response,
    /// Both must be signed.
    Both,
    /// The Assertion must be covered by a verified signature: its own or the Response's.
    #[default]
    Either,
}

impl std::str::FromStr for SignaturePolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "assertion" => Ok(SignaturePolicy::Assertion),
            "response" => Ok(SignaturePolicy::Response),
            "both" => Ok(SignaturePolicy::Both),
            "either" => Ok(SignaturePolicy::Either),
            other => Err(Error::Config {
                field: "require_signed",
                reason: format!("expected assertion, response, both or either, found {other:?}"),
            }),
        }
    }
}

/// A trusted identity provider: its entity ID and signing certificates (several for rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    pub(crate) entity_id: String,
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) sso_url: Option<String>,
    pub(crate) slo_url: Option<String>,
    pub(crate) valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl IdentityProvider {
    /// An IdP with its entity ID (the Issuer of its messages) and signing certificates.
    ///
    /// # Errors
    /// [`Error::Config`] when the entity ID is empty or there is no certificate.
    pub fn new(
        entity_id: impl Into<String>,
        certificates: Vec<Certificate>,
    ) -> Result<Self, Error> {
        let entity_id = entity_id.into();
        if entity_id.is_empty() {
            return Err(Error::Config {
                field: "idp_entity_id",
                reason: "must not be empty".into(),
            });
        }
        if certificates.is_empty() {
            return Err(Error::Config {
                field: "certificates",
                reason: "at least one signing certificate is required".into(),
            });
        }
        Ok(IdentityProvider {
            entity_id,
            certificates,
            sso_url: None,
            slo_url: None,
            valid_until: None,
        })
    }

    /// Bounds how long this configuration may be used: the `validUntil` of the metadata it came
    /// from (SAML Metadata 2.3). From that instant on, validation and login start fail with
    /// [`Error::MetadataExpired`] until a fresh copy replaces the configuration.
    pub fn with_valid_until(mut self, valid_until: chrono::DateTime<chrono::Utc>) -> Self {
        self.valid_until = Some(valid_until);
        self
    }

    /// The end of this configuration's validity, when it came from metadata with `validUntil`.
    pub fn valid_until(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.valid_until
    }

    /// [`Error::MetadataExpired`] at or after [`IdentityProvider::valid_until`].
    pub(crate) fn check_current(&self, now: chrono::DateTime<chrono::Utc>) -> Result<(), Error> {
        match self.valid_until {
            Some(t) if now >= t => Err(Error::MetadataExpired {
                valid_until: crate::time::format_instant(t),
                now: crate::time::format_instant(now),
            }),
            _ => Ok(()),
        }
    }

    /// Sets the IdP's single sign-on URL (for SP-initiated login).
    pub fn with_sso_url(mut self, url: impl Into<String>) -> Self {
        self.sso_url = Some(url.into());
        self
    }

    /// Sets the IdP's Single Logout URL (where LogoutRequests and LogoutResponses go).
    pub fn with_slo_url(mut self, url: impl Into<String>) -> Self {
        self.slo_url = Some(url.into());
        self
    }

    /// The IdP entity ID.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The Single Logout URL, when known.
    pub fn slo_url(&self) -> Option<&str> {
        self.slo_url.as_deref()
    }

    /// The trusted signing certificates.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// The SSO URL, when known.
    pub fn sso_url(&self) -> Option<&str> {
        self.sso_url.as_deref()
    }
}

/// How Responses are validated: every option, in one type shared by the single-IdP
/// [`ServiceProviderBuilder`] and by per-tenant configuration
/// (`tenant::TenantConfig::policy`), so each exists in both. Defaults are strict; every
/// weaker option is named `dangerous_*`.
///
/// ```
/// use saml_sp::ValidationPolicy;
/// use saml_sp::SignaturePolicy;
///
/// let policy = ValidationPolicy::default()
///     .require_signed(SignaturePolicy::Both)
///     .clock_skew(chrono::Duration::seconds(60))
///     .max_response_age(chrono::Duration::minutes(5));
/// assert_eq!(policy.clock_skew_value(), chrono::Duration::seconds(60));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ValidationPolicy {
    pub(crate) signature_policy: SignaturePolicy,
    pub(crate) clock_skew: Duration,
    pub(crate) max_response_age: Duration,
    pub(crate) danger: DangerousOptions,
    pub(crate) limits: Limits,
    pub(crate) extra_destinations: Vec<String>,
    pub(crate) required_authn_contexts: Vec<String>,
    pub(crate) decryption_keys: Vec<crate::xmlenc::DecryptionKey>,
    pub(crate) require_certificate_validity: bool,
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        ValidationPolicy {
            signature_policy: SignaturePolicy::Either,
            clock_skew: Duration::seconds(180),
            max_response_age: Duration::minutes(10),
            danger: DangerousOptions::default(),
            limits: Limits::default(),
            extra_destinations: Vec::new(),
            required_authn_contexts: Vec::new(),
            decryption_keys: Vec::new(),
            require_certificate_validity: false,
        }
    }
}

impl ValidationPolicy {
    /// Which elements must be signed (default [`SignaturePolicy::Either`]).
    pub fn require_signed(mut self, policy: SignaturePolicy) -> Self {
        self.signature_policy = policy;
        self
    }
    /// Allowed clock skew for every time check (default 180 s, at most 1 hour).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }
    /// How old a Response's and an Assertion's IssueInstant may be (default 10 minutes, plus the
    /// skew).
    pub fn max_response_age(mut self, age: Duration) -> Self {
        self.max_response_age = age;
        self
    }
    /// XML limits for responses and decrypted plaintext (defaults: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Accept a Response `Destination` other than the ACS URL (for example the same endpoint under
    /// a second host name). The Recipient check is unaffected.
    pub fn also_accept_destination(mut self, url: impl Into<String>) -> Self {
        self.extra_destinations.push(url.into());
        self
    }
    /// Require the assertion's `AuthnContextClassRef` to be one of `class_refs` (the values an
    /// AuthnRequest asked for with comparison `exact`), refusing with `authn_context_mismatch`.
    pub fn require_authn_context<I, S>(mut self, class_refs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_authn_contexts = class_refs.into_iter().map(Into::into).collect();
        self
    }
    /// An SP decryption key for encrypted assertions, NameIDs and attributes. Repeatable: during a
    /// rotation configure the old and the new key; the one an `EncryptedKey` names (by
    /// certificate or key name) is used, otherwise each is tried.
    pub fn decryption_key(mut self, key: crate::xmlenc::DecryptionKey) -> Self {
        self.decryption_keys.push(key);
        self
    }
    /// The options that weaken validation (all off by default), defined once in
    /// [`DangerousOptions`]; replaces any set before.
    pub fn dangerous(mut self, options: DangerousOptions) -> Self {
        self.danger = options;
        self
    }

    /// Refuse a signature whose verifying certificate is outside its validity period at the time
    /// of the check (`certificate_expired`). Off by default: like Shibboleth SP, saml-sp trusts
    /// the key an administrator configured whatever the certificate's dates say (IdPs keep
    /// signing with expired self-signed certificates, and refusing them turns a bookkeeping
    /// date into an outage); `saml-sp verify` reports the dates either way, and rotation is done
    /// by configuring the new certificate beside the old one.
    pub fn require_certificate_validity(mut self) -> Self {
        self.require_certificate_validity = true;
        self
    }
    /// The signature policy.
    pub fn signature_policy(&self) -> SignaturePolicy {
        self.signature_policy
    }
    /// The allowed clock skew.
    pub fn clock_skew_value(&self) -> Duration {
        self.clock_skew
    }
    /// The maximum response age.
    pub fn max_response_age_value(&self) -> Duration {
        self.max_response_age
    }
    /// The options that weaken validation ([`DangerousOptions`]).
    pub fn dangerous_options(&self) -> DangerousOptions {
        self.danger
    }
    /// The XML limits.
    pub fn limits_value(&self) -> Limits {
        self.limits
    }
    /// The SP decryption keys.
    pub fn decryption_keys(&self) -> &[crate::xmlenc::DecryptionKey] {
        &self.decryption_keys
    }

    /// Checks the policy: skew between 0 and 1 hour, a positive maximum age, extra destinations
    /// without white space.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn validate(&self) -> Result<(), Error> {
        for d in &self.extra_destinations {
            check_url("also_accept_destination", d)?;
        }
        if self.clock_skew < Duration::zero() || self.clock_skew > Duration::hours(1) {
            return Err(Error::Config {
                field: "clock_skew",
                reason: "must be between 0 and 1 hour".into(),
            });
        }
        if self.max_response_age <= Duration::zero() {
            return Err(Error::Config {
                field: "max_response_age",
                reason: "must be positive".into(),
            });
        }
        Ok(())
    }
}

/// A configured Service Provider: validates Responses from one IdP.
///
/// Cheap to clone and share across threads.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    pub(crate) inner: std::sync::Arc<SpInner>,
}

#[derive(Debug)]
pub(crate) struct SpInner {
    pub(crate) entity_id: String,
    pub(crate) acs_url: String,
    pub(crate) idp: IdentityProvider,
    pub(crate) policy: ValidationPolicy,
    pub(crate) slo_url: Option<String>,
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) published_certificates: Vec<crate::crypto::Certificate>,
}

/// Builder for [`ServiceProvider`]. Every weaker option is named `dangerous_*`; each option is a
/// [`ValidationPolicy`] setting (set them one by one here, or all at once with
/// [`ServiceProviderBuilder::policy`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct ServiceProviderBuilder {
    entity_id: String,
    acs_url: String,
    idp: IdentityProvider,
    policy: ValidationPolicy,
    slo_url: Option<String>,
    signing_key: Option<SigningKey>,
    published_certificates: Vec<crate::crypto::Certificate>,
}

impl ServiceProvider {
    /// Starts a configuration with the SP entity ID (the audience), the ACS URL and the one IdP
    /// it trusts (an argument, so a configuration without an IdP does not compile).
    pub fn builder(
        entity_id: impl Into<String>,
        acs_url: impl Into<String>,
        idp: IdentityProvider,
    ) -> ServiceProviderBuilder {
        ServiceProviderBuilder {
            entity_id: entity_id.into(),
            acs_url: acs_url.into(),
            idp,
            policy: ValidationPolicy::default(),
            slo_url: None,
            signing_key: None,
            published_certificates: Vec::new(),
        }
    }

    /// The SP entity ID.
    pub fn entity_id(&self) -> &str {
        &self.inner.entity_id
    }
    /// The ACS URL.
    pub fn acs_url(&self) -> &str {
        &self.inner.acs_url
    }
    /// The trusted IdP.
    pub fn idp(&self) -> &IdentityProvider {
        &self.inner.idp
    }
    /// The validation policy.
    pub fn policy(&self) -> &ValidationPolicy {
        &self.inner.policy
    }
    /// The signature policy.
    pub fn signature_policy(&self) -> SignaturePolicy {
        self.inner.policy.signature_policy
    }
    /// The allowed clock skew.
    pub fn clock_skew(&self) -> Duration {
        self.inner.policy.clock_skew
    }
    /// The options that weaken validation ([`DangerousOptions`]).
    pub fn dangerous_options(&self) -> DangerousOptions {
        self.inner.policy.danger
    }
    /// The XML limits applied to responses.
    pub fn limits(&self) -> Limits {
        self.inner.policy.limits
    }
    /// The SP decryption keys.
    pub fn decryption_keys(&self) -> &[crate::xmlenc::DecryptionKey] {
        &self.inner.policy.decryption_keys
    }
    /// The SP's Single Logout URL (the Destination of logout messages sent to it).
    pub fn slo_url(&self) -> Option<&str> {
        self.inner.slo_url.as_deref()
    }
    /// The SP's signing key (logout messages, signed AuthnRequests).
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.inner.signing_key.as_ref()
    }
    /// The other certificates SP metadata publishes (a key rollover's next or retiring key).
    pub fn published_certificates(&self) -> &[crate::crypto::Certificate] {
        &self.inner.published_certificates
    }
}

/// The ACS URL is compared byte for byte with Recipient and Destination, so any non-empty value
/// without white space works; real IdP configurations carry placeholders such as `ForNodeJS`.
fn check_url(field: &'static str, url: &str) -> Result<(), Error> {
    let ok = !url.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            field,
            reason: format!("expected a URL without white space, found {url:?}"),
        })
    }
}

impl ServiceProviderBuilder {
    /// The whole validation policy at once (replacing every option set before).
    pub fn policy(mut self, policy: ValidationPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// See [`ValidationPolicy::require_signed`].
    pub fn require_signed(mut self, policy: SignaturePolicy) -> Self {
        self.policy = self.policy.require_signed(policy);
        self
    }
    /// See [`ValidationPolicy::clock_skew`].
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.policy = self.policy.clock_skew(skew);
        self
    }
    /// See [`ValidationPolicy::max_response_age`].
    pub fn max_response_age(mut self, age: Duration) -> Self {
        self.policy = self.policy.max_response_age(age);
        self
    }
    /// See [`ValidationPolicy::limits`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.policy = self.policy.limits(limits);
        self
    }
    /// See [`ValidationPolicy::also_accept_destination`].
    pub fn also_accept_destination(mut self, url: impl Into<String>) -> Self {
        self.policy = self.policy.also_accept_destination(url);
        self
    }
    /// See [`ValidationPolicy::require_authn_context`].
    pub fn require_authn_context<I, S>(mut self, class_refs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy = self.policy.require_authn_context(class_refs);
        self
    }
    /// See [`ValidationPolicy::decryption_key`].
    pub fn decryption_key(mut self, key: crate::xmlenc::DecryptionKey) -> Self {
        self.policy = self.policy.decryption_key(key);
        self
    }
    /// See [`ValidationPolicy::dangerous`]: the options that weaken validation, defined once in
    /// [`DangerousOptions`].
    pub fn dangerous(mut self, options: DangerousOptions) -> Self {
        self.policy = self.policy.dangerous(options);
        self
    }
    /// The SP's Single Logout endpoint: the Destination required on logout messages the IdP
    /// sends here, and the `SingleLogoutService` of SP metadata.
    pub fn single_logout_url(mut self, url: impl Into<String>) -> Self {
        self.slo_url = Some(url.into());
        self
    }
    /// The SP's signing key (with its certificate, for metadata): signs logout messages (which
    /// must be signed on the front channel) and AuthnRequests when the IdP wants them signed.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }
    /// A certificate SP metadata publishes beside the signing key's (a key rollover's next or
    /// retiring key), as signing and encryption certificate.
    pub fn published_certificate(mut self, cert: crate::crypto::Certificate) -> Self {
        self.published_certificates.push(cert);
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: empty entity ID, an ACS URL with white space, no IdP,
    /// and the policy's ([`ValidationPolicy::validate`]).
    pub fn build(self) -> Result<ServiceProvider, Error> {
        if self.entity_id.is_empty() {
            return Err(Error::Config {
                field: "sp_entity_id",
                reason: "must not be empty".into(),
            });
        }
        check_url("acs_url", &self.acs_url)?;
        if let Some(u) = &self.slo_url {
            check_url("single_logout_url", u)?;
        }
        let idp = self.idp;
        self.policy.validate()?;
        Ok(ServiceProvider {
            inner: std::sync::Arc::new(SpInner {
                entity_id: self.entity_id,
                acs_url: self.acs_url,
                idp,
                policy: self.policy,
                slo_url: self.slo_url,
                signing_key: self.signing_key,
                published_certificates: self.published_certificates,
            }),
        })
    }
}
