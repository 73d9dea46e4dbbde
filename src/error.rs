//! Errors. Every variant has a stable, machine-readable [`Error::code`] (listed in
//! [`Error::CODES`]; they are an API), a message that says what was expected and what was found,
//! a [`ErrorKind`] that decides the HTTP answer, and a short [`Error::user_message`] safe to show
//! the person signing in. Messages never include assertion XML.
//!
//! ```
//! use saml_sp::{Error, ErrorKind};
//!
//! let e = Error::UnsolicitedResponse;
//! assert_eq!(e.code(), "unsolicited_response");
//! assert_eq!(e.kind(), ErrorKind::Rejected);
//! assert_eq!(e.kind().http_status(), 403);
//! // One line per error in an app: status, a safe message and the code; details go to the audit log.
//! let page = format!("{} {} ({})", e.kind().http_status(), e.user_message(), e.code());
//! assert!(page.starts_with("403 Sign-in started at your identity provider"));
//! ```

/// What kind of failure an [`Error`] is: it decides the HTTP answer and who must act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The message (a Response, a logout message, a request) was refused: forged, tampered,
    /// expired, replayed, for another SP, or malformed. 403 (400 for undecodable input).
    Rejected,
    /// The SP or tenant configuration is wrong or incomplete (an administrator must act). 500.
    Configuration,
    /// A store is unreachable; the login was refused rather than accepted unprotected. 503.
    Unavailable,
    /// The app refused: the user is not provisioned, or the app's provisioner failed. 403.
    Application,
}

impl ErrorKind {
    /// The HTTP status for an error of this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Rejected | ErrorKind::Application => 403,
            ErrorKind::Configuration => 500,
            ErrorKind::Unavailable => 503,
        }
    }
}

use crate::xml::XmlError;

/// Why a SAML message was refused, or why a configuration was invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The XML itself was refused (malformed, forbidden construct, limit, duplicate ID).
    ///
    /// Codes: the XML layer's (`xml_malformed`, `xml_forbidden`, `xml_limit_exceeded`,
    /// `duplicate_id`).
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The message is well-formed XML but not the SAML structure expected.
    ///
    /// Code: `malformed`.
    #[error("malformed SAML message: expected {expected}, found {found}")]
    Malformed {
        /// What the profile requires.
        expected: String,
        /// What the message has.
        found: String,
    },
    /// The element that must be signed carries no signature.
    ///
    /// Code: `signature_missing`.
    #[error("signature missing: expected {expected} to be signed, found no verified signature")]
    SignatureMissing {
        /// Which element(s) the policy requires to be signed.
        expected: String,
    },
    /// The signature does not verify with any configured key.
    ///
    /// Code: `signature_invalid`.
    #[error("signature invalid on {element}: {reason}")]
    SignatureInvalid {
        /// The signed element (`Response` or `Assertion`).
        element: &'static str,
        /// What failed.
        reason: String,
    },
    /// The reference digest does not match the signed element.
    ///
    /// Code: `digest_mismatch`.
    #[error("digest mismatch on {element}: the signed content was changed after signing")]
    DigestMismatch {
        /// The signed element.
        element: &'static str,
    },
    /// The signature names a certificate that is not configured, and no configured key verifies it.
    ///
    /// Code: `untrusted_key`.
    #[error(
        "untrusted key: the signature's KeyInfo certificate (SHA-256 {found}) is not a configured IdP certificate (configured: {}), and no configured key verifies the signature",
        configured.join(", ")
    )]
    UntrustedKey {
        /// SHA-256 fingerprint of the certificate found in KeyInfo.
        found: String,
        /// SHA-256 fingerprints of the configured IdP certificates.
        configured: Vec<String>,
    },
    /// An algorithm outside the allow-list, or one that needs the legacy option.
    ///
    /// Code: `unsupported_algorithm`.
    #[error("unsupported algorithm: {found} ({reason})")]
    UnsupportedAlgorithm {
        /// The algorithm URI (or key description) found.
        found: String,
        /// Why it is refused.
        reason: String,
    },
    /// An encrypted element arrived and no SP decryption key is configured.
    ///
    /// Code: `no_decryption_key`.
    #[error(
        "no decryption key: expected an SP decryption key to decrypt the {element}, found none configured"
    )]
    NoDecryptionKey {
        /// `EncryptedAssertion`, `EncryptedID` or `EncryptedAttribute`.
        element: &'static str,
    },
    /// No configured SP key decrypts the element. One error for every cryptographic cause (key
    /// unwrap, padding, authentication tag), so it is no oracle.
    ///
    /// Code: `decryption_failed`.
    #[error(
        "decryption failed: expected the {element} to decrypt with a configured SP key, found none that does"
    )]
    DecryptionFailed {
        /// `EncryptedAssertion`, `EncryptedID` or `EncryptedAttribute`.
        element: &'static str,
    },
    /// The XML-DSig structure is not what SAML Core 5.4 allows.
    ///
    /// Code: `signature_profile`.
    #[error("signature profile violated: expected {expected}, found {found}")]
    SignatureProfile {
        /// What SAML Core 5.4 requires.
        expected: String,
        /// What the signature has.
        found: String,
    },
    /// `Audience` does not contain the SP entity ID.
    ///
    /// Code: `audience_mismatch`.
    #[error(
        "audience mismatch: expected {expected:?} in every AudienceRestriction, found {found:?}"
    )]
    AudienceMismatch {
        /// The SP entity ID.
        expected: String,
        /// The audiences of the failing restriction.
        found: Vec<String>,
    },
    /// No bearer confirmation's `Recipient` equals the ACS URL.
    ///
    /// Code: `recipient_mismatch`.
    #[error("recipient mismatch: expected {expected:?}, found {found:?}")]
    RecipientMismatch {
        /// The ACS URL.
        expected: String,
        /// The Recipient found (empty when missing).
        found: String,
    },
    /// `Response/@Destination` is not the ACS URL.
    ///
    /// Code: `destination_mismatch`.
    #[error("destination mismatch: expected {expected:?}, found {found:?}")]
    DestinationMismatch {
        /// The ACS URL.
        expected: String,
        /// The Destination found (`<missing>` when absent).
        found: String,
    },
    /// An Issuer is not the configured IdP.
    ///
    /// Code: `issuer_mismatch`.
    #[error("issuer mismatch on {element}: expected {expected:?}, found {found:?}")]
    IssuerMismatch {
        /// `Response` or `Assertion`.
        element: &'static str,
        /// The configured IdP entity ID.
        expected: String,
        /// The Issuer found (`<missing>` when absent).
        found: String,
    },
    /// A validity window has ended.
    ///
    /// Code: `expired`.
    #[error(
        "expired: {what} ended at {not_on_or_after}, now is {now} (clock skew {skew_seconds} s)"
    )]
    Expired {
        /// Which window.
        what: &'static str,
        /// Its end.
        not_on_or_after: String,
        /// The clock's time.
        now: String,
        /// The allowed skew.
        skew_seconds: i64,
    },
    /// A validity window has not started.
    ///
    /// Code: `not_yet_valid`.
    #[error(
        "not yet valid: {what} starts at {not_before}, now is {now} (clock skew {skew_seconds} s)"
    )]
    NotYetValid {
        /// Which window.
        what: &'static str,
        /// Its start.
        not_before: String,
        /// The clock's time.
        now: String,
        /// The allowed skew.
        skew_seconds: i64,
    },
    /// A timestamp is not a valid UTC `xs:dateTime`.
    ///
    /// Code: `invalid_time`.
    #[error("invalid time in {what}: expected an xs:dateTime in UTC ending in Z, found {found:?}")]
    InvalidTime {
        /// The attribute.
        what: &'static str,
        /// The value.
        found: String,
    },
    /// `InResponseTo` does not match the outstanding request.
    ///
    /// Code: `in_response_to_mismatch`.
    #[error("InResponseTo mismatch: expected {expected:?}, found {found:?}")]
    InResponseToMismatch {
        /// The outstanding request ID.
        expected: String,
        /// The value in the response.
        found: String,
    },
    /// `InResponseTo` names a request that is not outstanding (unknown, expired, or consumed).
    ///
    /// Code: `unknown_in_response_to`.
    #[error(
        "unknown InResponseTo: {found:?} is not an outstanding request (unknown, expired or already used)"
    )]
    UnknownInResponseTo {
        /// The value in the response.
        found: String,
    },
    /// No `InResponseTo` and unsolicited responses are not enabled.
    ///
    /// Code: `unsolicited_response`.
    #[error(
        "unsolicited response: expected InResponseTo naming an outstanding request, found none (IdP-initiated login is disabled)"
    )]
    UnsolicitedResponse,
    /// The assertion was already consumed.
    ///
    /// Code: `replayed_assertion`.
    #[error("replayed assertion: assertion {assertion_id:?} from {issuer:?} was already used")]
    ReplayedAssertion {
        /// The IdP.
        issuer: String,
        /// The assertion ID.
        assertion_id: String,
    },
    /// Status is not Success.
    ///
    /// Code: `status_not_success`.
    #[error("status not success: expected urn:oasis:names:tc:SAML:2.0:status:Success, found {code}{}{}",
        sub_code.as_ref().map(|s| format!(" / {s}")).unwrap_or_default(),
        message.as_ref().map(|m| format!(" ({m:?})")).unwrap_or_default())]
    StatusNotSuccess {
        /// Top-level StatusCode.
        code: String,
        /// Nested StatusCode, if any.
        sub_code: Option<String>,
        /// StatusMessage, if any.
        message: Option<String>,
    },
    /// No usable bearer SubjectConfirmation.
    ///
    /// Code: `no_bearer_confirmation`.
    #[error(
        "no bearer confirmation: expected a bearer SubjectConfirmation with SubjectConfirmationData (Recipient, NotOnOrAfter), found {found}"
    )]
    NoBearerConfirmation {
        /// What was found instead.
        found: String,
    },
    /// A request or replay store failed; the login is refused rather than accepted unprotected.
    ///
    /// Code: `store_unavailable`.
    #[error("store unavailable: {0}")]
    StoreUnavailable(#[source] StoreError),
    /// The configuration is invalid.
    ///
    /// Code: `config_invalid`.
    #[error("invalid configuration: {field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Base64 or binding-level encoding problem.
    ///
    /// Code: `binding`.
    #[error("binding error: {0}")]
    Binding(String),
    /// The verified assertion lacks what the app needs (an email).
    ///
    /// Code: `identity_incomplete`.
    #[error("identity incomplete: expected {expected}, found {found}")]
    IdentityIncomplete {
        /// What is needed.
        expected: String,
        /// What the assertion has.
        found: String,
    },
    /// Just-in-time provisioning is off and the user does not exist.
    ///
    /// Code: `user_not_provisioned`.
    #[error(
        "user not provisioned: the asserted user has no account in tenant {tenant:?} and just-in-time provisioning is off"
    )]
    UserNotProvisioned {
        /// The tenant.
        tenant: String,
        /// The user's email (for the app; not in the message, which is logged).
        email: String,
    },
    /// The app's provisioner refused the login.
    ///
    /// Code: `provisioning_failed`.
    #[error("provisioning failed: {0}")]
    ProvisioningFailed(#[source] ProvisionError),
    /// The tenant's SSO configuration is disabled.
    ///
    /// Code: `idp_disabled`.
    #[error("IdP disabled: the SSO configuration of tenant {tenant:?} is disabled")]
    IdpDisabled {
        /// The tenant.
        tenant: String,
    },
    /// The tenant's SSO configuration could not be loaded (expired or unreadable metadata, a
    /// failed fetch, an invalid stored configuration): its logins are refused, and its email
    /// domains stay owned and, when enforced, enforced, until an administrator fixes it.
    ///
    /// Code: `tenant_unavailable`.
    #[error(
        "tenant unavailable: the SSO configuration of tenant {tenant:?} could not be loaded ({reason})"
    )]
    TenantUnavailable {
        /// The tenant.
        tenant: String,
        /// Why it could not be loaded (the load error's code and message).
        reason: String,
    },
    /// Someone saved the profile since it was read: reload it and apply the change again.
    ///
    /// Code: `version_conflict`.
    #[error(
        "version conflict: the change was made to version {expected}, the stored one is {found}"
    )]
    VersionConflict {
        /// The version the change was made to.
        expected: u64,
        /// The stored version.
        found: u64,
    },
    /// No SSO configuration matches.
    ///
    /// Code: `unknown_tenant`.
    #[error("unknown tenant: no SSO configuration for {found:?}")]
    UnknownTenant {
        /// The slug, issuer or email domain looked up.
        found: String,
    },
    /// The asserted email is outside the tenant's verified domains.
    ///
    /// Code: `email_domain_not_allowed`.
    #[error("email domain not allowed: expected one of {expected:?}, found {found:?}")]
    EmailDomainNotAllowed {
        /// The tenant's domains.
        expected: Vec<String>,
        /// The email's domain.
        found: String,
    },
    /// The certificate that verified a signature is outside its validity period, and the policy
    /// requires validity (`sp::ValidationPolicy::require_certificate_validity`).
    ///
    /// Code: `certificate_expired`.
    #[error(
        "certificate expired: the {element} signature verified with a certificate valid {not_before} to {not_after}, now {now}"
    )]
    CertificateExpired {
        /// The signed element.
        element: &'static str,
        /// The certificate's notBefore.
        not_before: String,
        /// The certificate's notAfter.
        not_after: String,
        /// The time of the check.
        now: String,
    },
    /// A LogoutRequest whose ID was already processed.
    ///
    /// Code: `replayed_logout_request`.
    #[error("replayed logout request: {id:?} from {issuer:?} was already processed")]
    ReplayedLogoutRequest {
        /// The IdP.
        issuer: String,
        /// The LogoutRequest ID.
        id: String,
    },
    /// Metadata whose `validUntil` has passed (SAML Metadata 2.3): never used.
    ///
    /// Code: `metadata_expired`.
    #[error("metadata expired: valid until {valid_until}, now {now}")]
    MetadataExpired {
        /// The metadata's effective `validUntil` (the earliest on the path to the entity).
        valid_until: String,
        /// The time of the check.
        now: String,
    },
    /// IdP metadata could not be fetched (connection, TLS, HTTP status, size or time limit).
    ///
    /// Code: `metadata_fetch_failed`.
    #[error("metadata fetch failed: {url}: {reason}")]
    MetadataFetch {
        /// The URL (as configured or redirected to).
        url: String,
        /// What failed, with the expected and found values.
        reason: String,
    },
    /// A metadata URL the SSRF guard refuses: not https, a loopback, private, link-local or
    /// otherwise internal address (checked after DNS resolution and on every redirect).
    ///
    /// Code: `metadata_url_forbidden`.
    #[error("metadata URL forbidden: {url}: {reason}")]
    MetadataUrlForbidden {
        /// The URL.
        url: String,
        /// The rule it broke and the address found.
        reason: String,
    },
    /// The Response answers a login that another browser started (login CSRF): the pending
    /// login named by the RelayState is bound to the browser that started it, and this request
    /// did not present that browser's binding (see `login::BrowserBinding`).
    ///
    /// Code: `login_browser_mismatch`.
    #[error(
        "login started in another browser: expected the login-binding cookie of the browser that started this login, found {found}"
    )]
    LoginBrowserMismatch {
        /// What the request presented.
        found: String,
    },
    /// A state-changing request (sign-out) that came from another site's page (CSRF): the
    /// browser said so in `Sec-Fetch-Site`, or its `Origin` is not the app's.
    ///
    /// Code: `cross_site_request`.
    #[error(
        "cross-site request refused: expected a request from the app's own pages, found {found:?}"
    )]
    CrossSiteRequest {
        /// The `Sec-Fetch-Site` or `Origin` value the request carried.
        found: String,
    },
    /// A request on one tenant's route for a session another tenant's IdP signed in.
    ///
    /// Code: `tenant_mismatch`.
    #[error(
        "tenant mismatch: expected the session's tenant {expected:?}, found the route's {found:?}"
    )]
    TenantMismatch {
        /// The session's tenant.
        expected: String,
        /// The route's tenant.
        found: String,
    },
    /// The IdP's authentication context does not satisfy the request.
    ///
    /// Code: `authn_context_mismatch`.
    #[error("authn context mismatch: expected one of {expected:?}, found {found:?}")]
    AuthnContextMismatch {
        /// The requested class references.
        expected: Vec<String>,
        /// The class reference found.
        found: String,
    },
    /// The user authenticated at the IdP longer ago than the login allows (a re-authentication
    /// was required).
    ///
    /// Code: `authn_too_old`.
    #[error(
        "authentication too old: expected an AuthnInstant within {max_age_seconds} s of now, found {found}"
    )]
    AuthnTooOld {
        /// The allowed age.
        max_age_seconds: i64,
        /// The AuthnInstant (or `none`).
        found: String,
    },
}

impl Error {
    /// A stable snake_case code for this error, for logs, metrics and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Xml(e) => e.code(),
            Error::Malformed { .. } => "malformed",
            Error::SignatureMissing { .. } => "signature_missing",
            Error::SignatureInvalid { .. } => "signature_invalid",
            Error::DigestMismatch { .. } => "digest_mismatch",
            Error::UntrustedKey { .. } => "untrusted_key",
            Error::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Error::NoDecryptionKey { .. } => "no_decryption_key",
            Error::DecryptionFailed { .. } => "decryption_failed",
            Error::SignatureProfile { .. } => "signature_profile",
            Error::AudienceMismatch { .. } => "audience_mismatch",
            Error::RecipientMismatch { .. } => "recipient_mismatch",
            Error::DestinationMismatch { .. } => "destination_mismatch",
            Error::IssuerMismatch { .. } => "issuer_mismatch",
            Error::Expired { .. } => "expired",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::InvalidTime { .. } => "invalid_time",
            Error::InResponseToMismatch { .. } => "in_response_to_mismatch",
            Error::UnknownInResponseTo { .. } => "unknown_in_response_to",
            Error::UnsolicitedResponse => "unsolicited_response",
            Error::ReplayedAssertion { .. } => "replayed_assertion",
            Error::StatusNotSuccess { .. } => "status_not_success",
            Error::NoBearerConfirmation { .. } => "no_bearer_confirmation",
            Error::StoreUnavailable(_) => "store_unavailable",
            Error::Config { .. } => "config_invalid",
            Error::Binding(_) => "binding",
            Error::AuthnContextMismatch { .. } => "authn_context_mismatch",
            Error::AuthnTooOld { .. } => "authn_too_old",
            Error::MetadataExpired { .. } => "metadata_expired",
            Error::MetadataFetch { .. } => "metadata_fetch_failed",
            Error::MetadataUrlForbidden { .. } => "metadata_url_forbidden",
            Error::ReplayedLogoutRequest { .. } => "replayed_logout_request",
            Error::CertificateExpired { .. } => "certificate_expired",
            Error::IdentityIncomplete { .. } => "identity_incomplete",
            Error::UserNotProvisioned { .. } => "user_not_provisioned",
            Error::ProvisioningFailed(_) => "provisioning_failed",
            Error::IdpDisabled { .. } => "idp_disabled",
            Error::TenantUnavailable { .. } => "tenant_unavailable",
            Error::VersionConflict { .. } => "version_conflict",
            Error::UnknownTenant { .. } => "unknown_tenant",
            Error::EmailDomainNotAllowed { .. } => "email_domain_not_allowed",
            Error::LoginBrowserMismatch { .. } => "login_browser_mismatch",
            Error::CrossSiteRequest { .. } => "cross_site_request",
            Error::TenantMismatch { .. } => "tenant_mismatch",
        }
    }

    /// Every code [`Error::code`] can return (the XML layer's included), sorted. Codes are an
    /// API: a test pins this list.
    pub const CODES: &'static [&'static str] = &[
        "audience_mismatch",
        "authn_context_mismatch",
        "authn_too_old",
        "binding",
        "certificate_expired",
        "config_invalid",
        "cross_site_request",
        "decryption_failed",
        "destination_mismatch",
        "digest_mismatch",
        "duplicate_id",
        "email_domain_not_allowed",
        "expired",
        "identity_incomplete",
        "idp_disabled",
        "in_response_to_mismatch",
        "invalid_time",
        "issuer_mismatch",
        "login_browser_mismatch",
        "malformed",
        "metadata_expired",
        "metadata_fetch_failed",
        "metadata_url_forbidden",
        "no_bearer_confirmation",
        "no_decryption_key",
        "not_yet_valid",
        "provisioning_failed",
        "recipient_mismatch",
        "replayed_assertion",
        "replayed_logout_request",
        "signature_invalid",
        "signature_missing",
        "signature_profile",
        "status_not_success",
        "store_unavailable",
        "tenant_mismatch",
        "tenant_unavailable",
        "unknown_in_response_to",
        "unknown_tenant",
        "unsolicited_response",
        "unsupported_algorithm",
        "untrusted_key",
        "user_not_provisioned",
        "version_conflict",
        "xml_forbidden",
        "xml_limit_exceeded",
        "xml_malformed",
    ];

    /// What was expected and what was found, as two strings for a troubleshooting report (every
    /// check of a `Report` carries them). Safe for operators and administrators of the tenant;
    /// not for the person signing in (see [`Error::user_message`]).
    pub fn expected_found(&self) -> (String, String) {
        fn pair(e: impl Into<String>, f: impl Into<String>) -> (String, String) {
            (e.into(), f.into())
        }
        match self {
            Error::Xml(e) => pair("well-formed XML within the limits, no DTD", e.to_string()),
            Error::Malformed { expected, found }
            | Error::SignatureProfile { expected, found }
            | Error::RecipientMismatch { expected, found }
            | Error::DestinationMismatch { expected, found }
            | Error::IssuerMismatch {
                expected, found, ..
            }
            | Error::InResponseToMismatch { expected, found }
            | Error::IdentityIncomplete { expected, found }
            | Error::TenantMismatch { expected, found } => pair(expected, found),
            Error::SignatureMissing { expected } => {
                pair(format!("a signature on {expected}"), "none")
            }
            Error::SignatureInvalid { element, reason } => pair(
                format!("a valid signature on the {element} by a configured key"),
                reason,
            ),
            Error::DigestMismatch { element } => pair(
                format!("the digest of the signed {element}"),
                "another digest: the signed content was changed",
            ),
            Error::UntrustedKey { found, configured } => pair(
                format!(
                    "a configured certificate (SHA-256 {})",
                    configured.join(", ")
                ),
                format!("a KeyInfo certificate with SHA-256 {found}"),
            ),
            Error::UnsupportedAlgorithm { found, reason } => {
                pair(format!("an allowed algorithm ({reason})"), found)
            }
            Error::NoDecryptionKey { element } => pair(
                format!("an SP decryption key for the {element}"),
                "none configured",
            ),
            Error::DecryptionFailed { element } => pair(
                format!("an {element} a configured SP key decrypts"),
                "no configured key decrypts it",
            ),
            Error::AudienceMismatch { expected, found } => pair(expected, found.join(", ")),
            Error::Expired {
                what,
                not_on_or_after,
                now,
                skew_seconds,
            } => pair(
                format!("now before {what} NotOnOrAfter {not_on_or_after} (skew {skew_seconds} s)"),
                format!("now {now}"),
            ),
            Error::NotYetValid {
                what,
                not_before,
                now,
                skew_seconds,
            } => pair(
                format!("now at or after {what} NotBefore {not_before} (skew {skew_seconds} s)"),
                format!("now {now}"),
            ),
            Error::InvalidTime { what, found } => {
                pair(format!("an xs:dateTime in UTC for {what}"), found)
            }
            Error::UnknownInResponseTo { found } => pair("an outstanding request ID", found),
            Error::UnsolicitedResponse => pair(
                "an InResponseTo (unsolicited responses are refused)",
                "none",
            ),
            Error::ReplayedAssertion { assertion_id, .. } => {
                pair("an assertion ID not seen before", assertion_id)
            }
            Error::StatusNotSuccess {
                code,
                sub_code,
                message,
            } => pair(
                crate::ns::STATUS_SUCCESS,
                format!(
                    "{code}{}{}",
                    sub_code
                        .as_deref()
                        .map(|s| format!(" / {s}"))
                        .unwrap_or_default(),
                    message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ),
            ),
            Error::NoBearerConfirmation { found } => {
                pair("a valid bearer SubjectConfirmation", found)
            }
            Error::StoreUnavailable(e) => pair("a store that answers", e.to_string()),
            Error::Config { field, reason } => pair(format!("a valid {field}"), reason),
            Error::Binding(reason) => pair("a well-formed binding message", reason),
            // The email stays in the variant for the app; the operator detail (logged) omits it.
            Error::UserNotProvisioned { .. } => pair(
                "an existing user (just-in-time provisioning off)",
                "no account for the asserted user",
            ),
            Error::ProvisioningFailed(e) => pair("the app provisions the user", e.to_string()),
            Error::IdpDisabled { .. } => pair("an enabled SSO configuration", "disabled"),
            Error::TenantUnavailable { reason, .. } => pair("a loaded SSO configuration", reason),
            Error::UnknownTenant { found } => pair("a configured tenant", found),
            Error::EmailDomainNotAllowed { expected, found } => pair(expected.join(", "), found),
            Error::CertificateExpired {
                not_before,
                not_after,
                now,
                ..
            } => pair(
                format!("a certificate valid from {not_before} to {not_after}"),
                format!("now {now}"),
            ),
            Error::ReplayedLogoutRequest { id, .. } => {
                pair("a LogoutRequest ID not seen before", id)
            }
            Error::MetadataExpired { valid_until, now } => pair(
                format!("now before validUntil {valid_until}"),
                format!("now {now}"),
            ),
            Error::MetadataFetch { url, reason } => pair(format!("metadata from {url}"), reason),
            Error::MetadataUrlForbidden { url, reason } => {
                pair("a public https metadata URL", format!("{url}: {reason}"))
            }
            Error::LoginBrowserMismatch { found } => {
                pair("the browser that started the login", found)
            }
            Error::CrossSiteRequest { found } => pair("a request from this site", found),
            Error::AuthnContextMismatch { expected, found } => pair(expected.join(" | "), found),
            Error::AuthnTooOld {
                max_age_seconds,
                found,
            } => pair(format!("an AuthnInstant within {max_age_seconds} s"), found),
            Error::VersionConflict { expected, found } => {
                pair(format!("version {expected}"), format!("version {found}"))
            }
        }
    }

    /// The kind of failure (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::StoreUnavailable(_)
            | Error::MetadataFetch { .. }
            | Error::TenantUnavailable { .. } => ErrorKind::Unavailable,
            Error::Config { .. }
            | Error::MetadataUrlForbidden { .. }
            | Error::NoDecryptionKey { .. }
            | Error::MetadataExpired { .. } => ErrorKind::Configuration,
            Error::UserNotProvisioned { .. } | Error::ProvisioningFailed(_) => {
                ErrorKind::Application
            }
            _ => ErrorKind::Rejected,
        }
    }

    /// A short message safe to show the person signing in: no identifiers, no configuration.
    /// The full message ([`std::fmt::Display`]) goes to the audit log.
    pub fn user_message(&self) -> &'static str {
        match self {
            Error::ReplayedAssertion { .. } => {
                "This sign-in response was already used. Start the sign-in again."
            }
            Error::UnsolicitedResponse => {
                "Sign-in started at your identity provider is not enabled for this app. Start the sign-in from this app."
            }
            Error::LoginBrowserMismatch { .. } => {
                "This sign-in was not started in this browser. Start the sign-in again from this app."
            }
            Error::UnknownInResponseTo { .. } | Error::InResponseToMismatch { .. } => {
                "This sign-in does not match one started here (an old tab?). Start the sign-in again."
            }
            Error::Expired { .. } | Error::NotYetValid { .. } => {
                "The sign-in response is outside its validity window. Start the sign-in again; if it keeps failing, the clocks differ."
            }
            Error::UnknownTenant { .. } => "No single sign-on is configured for that account.",
            Error::IdpDisabled { .. } => "Single sign-on is turned off for your organization.",
            Error::VersionConflict { .. } => {
                "Someone else changed these settings meanwhile. Reload the page and try again."
            }
            Error::TenantUnavailable { .. } => {
                "Single sign-on for your organization is temporarily unavailable. Please contact your administrator."
            }
            Error::EmailDomainNotAllowed { .. } => {
                "Your email domain is not allowed for this organization's single sign-on."
            }
            Error::StatusNotSuccess { .. } => "Your identity provider did not sign you in.",
            Error::UserNotProvisioned { .. } => "Your account has not been set up in this app yet.",
            Error::ProvisioningFailed(_) => "Your account could not be set up. Try again later.",
            Error::StoreUnavailable(_) => "Sign-in is unavailable for a moment. Try again shortly.",
            _ => match self.kind() {
                ErrorKind::Configuration => {
                    "Single sign-on is not configured correctly. An administrator can find the details in the audit log."
                }
                _ => {
                    "The sign-in response was refused. An administrator can find the details in the audit log."
                }
            },
        }
    }

    pub(crate) fn malformed(expected: impl Into<String>, found: impl Into<String>) -> Error {
        Error::Malformed {
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn profile(expected: impl Into<String>, found: impl Into<String>) -> Error {
        Error::SignatureProfile {
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The app's callback failed: its `login::Provisioner` refused or could not provision
/// a user, or its session store or `SessionTerminator` failed. The text goes to the log, never to
/// the person signing in or to the IdP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProvisionError(pub String);

/// Why a store could not answer. saml-sp refuses the login (fails closed) when this happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing service is unreachable or timed out.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store is full of unexpired entries.
    #[error("store full: {capacity} unexpired entries")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::StoreUnavailable(e)
    }
}
