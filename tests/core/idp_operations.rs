//! The IdP side of operations (issue 17, the parts done this round): WantAuthnRequestsSigned from
//! metadata, and certificate validity dates as a documented policy option.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Duration, Utc};
use saml_sp::Acs;
use saml_sp::crypto::Certificate;
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::testkit::TestIdp;
use saml_sp::{IdentityProvider, ServiceProvider, ValidationPolicy};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

const IDP: &str = "https://idp.example.com/saml";
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("not ready"),
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn sp_signing_key() -> saml_sp::crypto::SigningKey {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/");
    let cert = Certificate::parse(&std::fs::read(format!("{dir}sp.crt")).unwrap()).unwrap();
    saml_sp::crypto::SigningKey::from_pem(
        &std::fs::read_to_string(format!("{dir}sp.key")).unwrap(),
        Some(cert),
    )
    .unwrap()
}

use crate::users;
use users::Users;

/// Certificate dates: trusted whatever they say by default (reported), refused when the policy
/// requires validity.
#[test]
fn certificate_validity_dates_are_reported_and_enforced_on_request() {
    let idp = TestIdp::generate(IDP).unwrap();
    let cert = idp.certificate().clone();
    // Two years on, the generated certificate (valid for one year) has expired.
    let later = now() + Duration::days(730);
    assert!(cert.is_valid_at(now()) && !cert.is_valid_at(later));
    let xml = idp
        .response(SP, ACS)
        .in_response_to("_r")
        .build(later)
        .unwrap();
    let sp = |policy: ValidationPolicy| {
        ServiceProvider::builder(
            SP,
            ACS,
            IdentityProvider::new(IDP, vec![cert.clone()]).unwrap(),
        )
        .policy(policy)
        .build()
        .unwrap()
    };
    let mut report = saml_sp::Report::default();
    sp(ValidationPolicy::default())
        .validate_with_report(xml.as_bytes(), Some("_r"), later, &mut report)
        .unwrap();
    let c = report
        .checks
        .iter()
        .find(|c| c.check == "assertion_certificate")
        .unwrap();
    assert_eq!(c.result, saml_sp::CheckResult::Skipped);
    assert!(
        c.found.starts_with("outside its validity period"),
        "{}",
        c.found
    );
    let e = sp(ValidationPolicy::default().require_certificate_validity())
        .validate_response(xml.as_bytes(), Some("_r"), later)
        .unwrap_err();
    assert_eq!(e.code(), "certificate_expired", "{e}");
    // Within the dates, both policies accept.
    let fresh = idp
        .response(SP, ACS)
        .in_response_to("_r")
        .build(now())
        .unwrap();
    assert!(
        sp(ValidationPolicy::default().require_certificate_validity())
            .validate_response(fresh.as_bytes(), Some("_r"), now())
            .is_ok()
    );
}

/// Issue 17: an IdP whose metadata says WantAuthnRequestsSigned gets signed AuthnRequests from the
/// one-call login start (verified here over the query octets with the SP certificate); without an
/// SP signing key the login start says so instead of sending an unsigned request.
#[test]
fn want_authn_requests_signed_from_metadata_is_honoured() {
    let idp = TestIdp::fixed(IDP);
    let md = idp.metadata_xml("https://idp.example.com/sso").replace(
        "WantAuthnRequestsSigned=\"false\"",
        "WantAuthnRequestsSigned=\"true\"",
    );
    let config = TenantConfig::from_idp_metadata("acme", md.as_bytes(), now()).unwrap();
    let key = sp_signing_key();
    let cert = key.certificate().unwrap().clone();
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap().signing_key(key));
    registry.insert(config.clone()).unwrap();
    assert!(registry.by_slug("acme").unwrap().signs_authn_requests());
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    );
    let start = block_on(acs.start_login("acme", None, browser())).unwrap();
    let m = saml_sp::binding::decode_redirect(start.redirect_url().unwrap(), &Default::default())
        .unwrap();
    assert!(
        m.verify_signature(&[cert], false).unwrap().is_some(),
        "signed with the SP key"
    );
    // No SP key: refused with the reason.
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry.insert(config).unwrap();
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    );
    let e = block_on(acs.start_login("acme", None, browser())).unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    assert!(e.to_string().contains("wants signed AuthnRequests"), "{e}");
}

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}

/// Issue 34, item 7: a generated test IdP can be stored and rebuilt after a restart: the same
/// certificate, and Responses signed by the rebuilt IdP verify with a configuration stored with
/// the first one's certificate.
#[test]
fn a_generated_test_idp_is_rebuilt_from_its_stored_key() {
    let first = TestIdp::generate("https://idp.example.com/generated").unwrap();
    let key_pem = first.key_pem().unwrap().to_owned();
    let cert_pem = first.certificate_pem();
    assert!(TestIdp::fixed("https://x").key_pem().is_none());
    // What the app stored: the certificate, in an SP configuration.
    let stored = saml_sp::crypto::Certificate::parse(cert_pem.as_bytes()).unwrap();
    assert_eq!(stored.der(), first.certificate().der());
    // After the restart.
    let again =
        TestIdp::from_pem("https://idp.example.com/generated", &key_pem, &cert_pem).unwrap();
    assert_eq!(again.certificate().der(), first.certificate().der());
    let sp = saml_sp::ServiceProvider::builder(
        SP,
        ACS,
        saml_sp::IdentityProvider::new("https://idp.example.com/generated", vec![stored]).unwrap(),
    )
    .build()
    .unwrap();
    let now = chrono::Utc::now();
    let xml = again
        .response(SP, ACS)
        .in_response_to("_r")
        .build(now)
        .unwrap();
    sp.validate_response(xml.as_bytes(), Some("_r"), now)
        .unwrap();
    // A key that does not match the certificate is refused.
    let other = TestIdp::generate("https://idp.example.com/other").unwrap();
    assert!(TestIdp::from_pem("https://x", other.key_pem().unwrap(), &cert_pem).is_err());
}
