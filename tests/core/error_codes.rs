//! Error codes are an API (issue 14): every variant's code is pinned here, codes are distinct,
//! `Error::CODES` lists exactly them, and every code has a kind and a user-safe message.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use saml_sp::xml::XmlError;
use saml_sp::{Error, ErrorKind};

fn every_variant() -> Vec<Error> {
    let s = || String::from("x");
    vec![
        Error::Xml(XmlError::Malformed {
            offset: 0,
            reason: s(),
        }),
        Error::Xml(XmlError::Forbidden {
            offset: 0,
            what: s(),
        }),
        Error::Xml(XmlError::LimitExceeded {
            limit: "depth",
            max: 1,
            found: 2,
        }),
        Error::Xml(XmlError::DuplicateId { offset: 0, id: s() }),
        Error::Malformed {
            expected: s(),
            found: s(),
        },
        Error::SignatureMissing { expected: s() },
        Error::SignatureInvalid {
            element: "Response",
            reason: s(),
        },
        Error::DigestMismatch {
            element: "Response",
        },
        Error::UntrustedKey {
            found: s(),
            configured: vec![s()],
        },
        Error::UnsupportedAlgorithm {
            found: s(),
            reason: s(),
        },
        Error::NoDecryptionKey {
            element: "EncryptedAssertion",
        },
        Error::DecryptionFailed {
            element: "EncryptedAssertion",
        },
        Error::SignatureProfile {
            expected: s(),
            found: s(),
        },
        Error::AudienceMismatch {
            expected: s(),
            found: vec![],
        },
        Error::RecipientMismatch {
            expected: s(),
            found: s(),
        },
        Error::DestinationMismatch {
            expected: s(),
            found: s(),
        },
        Error::IssuerMismatch {
            element: "Response",
            expected: s(),
            found: s(),
        },
        Error::Expired {
            what: "x",
            not_on_or_after: s(),
            now: s(),
            skew_seconds: 0,
        },
        Error::NotYetValid {
            what: "x",
            not_before: s(),
            now: s(),
            skew_seconds: 0,
        },
        Error::InvalidTime {
            what: "x",
            found: s(),
        },
        Error::InResponseToMismatch {
            expected: s(),
            found: s(),
        },
        Error::UnknownInResponseTo { found: s() },
        Error::UnsolicitedResponse,
        Error::ReplayedAssertion {
            issuer: s(),
            assertion_id: s(),
        },
        Error::StatusNotSuccess {
            code: s(),
            sub_code: None,
            message: None,
        },
        Error::NoBearerConfirmation { found: s() },
        Error::StoreUnavailable(saml_sp::store::StoreError::Full { capacity: 1 }),
        Error::Config {
            field: "x",
            reason: s(),
        },
        Error::Binding(s()),
        Error::IdentityIncomplete {
            expected: s(),
            found: s(),
        },
        Error::UserNotProvisioned {
            tenant: s(),
            email: s(),
        },
        Error::ProvisioningFailed(saml_sp::login::ProvisionError(s())),
        Error::IdpDisabled { tenant: s() },
        Error::TenantUnavailable {
            tenant: s(),
            reason: s(),
        },
        Error::VersionConflict {
            expected: 1,
            found: 2,
        },
        Error::UnknownTenant { found: s() },
        Error::EmailDomainNotAllowed {
            expected: vec![],
            found: s(),
        },
        Error::ReplayedLogoutRequest {
            issuer: s(),
            id: s(),
        },
        Error::MetadataExpired {
            valid_until: s(),
            now: s(),
        },
        Error::MetadataFetch {
            url: s(),
            reason: s(),
        },
        Error::MetadataUrlForbidden {
            url: s(),
            reason: s(),
        },
        Error::CertificateExpired {
            element: "Response",
            not_before: s(),
            not_after: s(),
            now: s(),
        },
        Error::AuthnContextMismatch {
            expected: vec![],
            found: s(),
        },
        Error::AuthnTooOld {
            max_age_seconds: 300,
            found: s(),
        },
        Error::LoginBrowserMismatch { found: s() },
        Error::CrossSiteRequest { found: s() },
        Error::TenantMismatch {
            expected: s(),
            found: s(),
        },
    ]
}

#[test]
fn codes_are_pinned_distinct_and_listed() {
    let codes: Vec<&str> = every_variant().iter().map(Error::code).collect();
    let distinct: BTreeSet<&str> = codes.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        codes.len(),
        "two variants share a code: {codes:?}"
    );
    let listed: BTreeSet<&str> = Error::CODES.iter().copied().collect();
    assert_eq!(distinct, listed);
    let mut sorted = Error::CODES.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, Error::CODES, "CODES is kept sorted");
}

#[test]
fn every_error_has_a_kind_a_status_and_a_safe_message() {
    for e in every_variant() {
        let kind = e.kind();
        let status = kind.http_status();
        assert!(matches!(status, 403 | 500 | 503), "{}", e.code());
        let m = e.user_message();
        assert!(!m.is_empty() && !m.contains("x\""), "{}: {m}", e.code());
        match e.code() {
            "store_unavailable" | "metadata_fetch_failed" | "tenant_unavailable" => {
                assert_eq!(kind, ErrorKind::Unavailable)
            }
            "config_invalid"
            | "no_decryption_key"
            | "metadata_expired"
            | "metadata_url_forbidden" => {
                assert_eq!(kind, ErrorKind::Configuration)
            }
            "user_not_provisioned" | "provisioning_failed" => {
                assert_eq!(kind, ErrorKind::Application)
            }
            _ => assert_eq!(kind, ErrorKind::Rejected, "{}", e.code()),
        }
    }
}

#[test]
fn sources_are_kept() {
    use std::error::Error as _;
    let e = Error::StoreUnavailable(saml_sp::store::StoreError::Full { capacity: 7 });
    assert!(e.source().unwrap().to_string().contains("7"));
    let e = Error::ProvisioningFailed(saml_sp::login::ProvisionError("db down".into()));
    assert_eq!(e.source().unwrap().to_string(), "db down");
}

/// Every code is named in the documentation of the variant that returns it, so a developer who
/// meets a code in a log finds the variant by searching the docs.
#[test]
fn every_code_is_named_in_the_variant_docs() {
    let source = include_str!("../../src/error.rs");
    let docs: String = source
        .lines()
        .filter(|l| l.trim_start().starts_with("///"))
        .collect::<Vec<_>>()
        .join("\n");
    for code in Error::CODES {
        assert!(
            docs.contains(&format!("`{code}`")),
            "no variant doc in src/error.rs names the code {code}"
        );
    }
}
