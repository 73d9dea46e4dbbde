//! Issue 33, step-up: a route requiring MFA starts its login with `StepUp`; the AuthnRequest
//! carries `RequestedAuthnContext` (and `ForceAuthn` when an age is required); the ACS refuses a
//! password-only assertion, a missing context and an old authentication, each with its own
//! code, and accepts the MFA one. A login started without step-up is unaffected.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use saml_sp::login::{AuditContext, BrowserBinding, StepUp};
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::tenant::IdpPreset;
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::time::FixedClock;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

use crate::users;
use users::Users;

const SP: &str = "https://app.example.com/saml/metadata";
const ACS: &str = "https://app.example.com/saml/acme/acs";
const PPT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    match std::pin::pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("not ready"),
    }
}

fn acs(idp: &TestIdp) -> saml_sp::Acs<Users> {
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP, "https://app.example.com/saml/{tenant}/acs").unwrap(),
    ));
    registry
        .insert(
            TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    saml_sp::Acs::new(
        registry,
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())))
}

/// Starts a login (with `step_up` when given) and returns what the IdP received and the
/// answer to post back.
fn start(
    acs: &saml_sp::Acs<Users>,
    browser: &BrowserBinding,
    step_up: Option<&StepUp>,
) -> (String, saml_sp::LoginStart) {
    let start = match step_up {
        Some(s) => block_on(acs.start_login_with_step_up("acme", None, browser, s)),
        None => block_on(acs.start_login("acme", None, browser)),
    }
    .unwrap();
    let url = start.navigation.redirect_url().unwrap();
    let m = saml_sp::binding::decode_redirect(url, &Default::default()).unwrap();
    (String::from_utf8(m.xml).unwrap(), start)
}

fn finish(
    acs: &saml_sp::Acs<Users>,
    idp: &TestIdp,
    browser: &BrowserBinding,
    start: &saml_sp::LoginStart,
    class_ref: &str,
    age: Duration,
) -> Result<String, &'static str> {
    let resp = idp
        .response(SP, ACS)
        .in_response_to(&start.request_id)
        .user(TestUser::new("ada@acme.example"))
        .authn_context(class_ref)
        .authenticated_before(age)
        .build_base64(now())
        .unwrap();
    block_on(acs.finish_login(
        "acme",
        &resp,
        Some(&start.relay_state),
        Some(browser),
        &AuditContext::new(),
    ))
    .map(|d| d.user)
    .map_err(|e| e.code())
}

#[test]
fn a_route_requiring_mfa_asks_for_it_and_refuses_a_password_only_assertion() {
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let acs = acs(&idp);
    let browser = BrowserBinding::generate().unwrap();
    let mfa = StepUp::mfa(Some(IdpPreset::Okta)).max_age(Duration::minutes(5));
    let (request, start) = start(&acs, &browser, Some(&mfa));
    assert!(
        request.contains("Comparison=\"exact\"")
            && request.contains("urn:okta:loa:2fa:any</saml:AuthnContextClassRef>")
            && request.contains("ForceAuthn=\"true\""),
        "{request}"
    );
    // Password only: refused with its own code, and the request is spent (a second try needs a
    // new login).
    assert_eq!(
        finish(&acs, &idp, &browser, &start, PPT, Duration::zero()),
        Err("authn_context_mismatch")
    );
    // MFA, but long ago: refused.
    let (_, start) = self::start(&acs, &browser, Some(&mfa));
    assert_eq!(
        finish(
            &acs,
            &idp,
            &browser,
            &start,
            saml_sp::login::OKTA_2FA,
            Duration::minutes(30)
        ),
        Err("authn_too_old")
    );
    // MFA, just now: accepted.
    let (_, start) = self::start(&acs, &browser, Some(&mfa));
    assert_eq!(
        finish(
            &acs,
            &idp,
            &browser,
            &start,
            saml_sp::login::OKTA_2FA,
            Duration::seconds(5)
        ),
        Ok("ada@acme.example".to_owned())
    );
    // `minimum` against the built-in order: X.509 satisfies "at least PasswordProtectedTransport",
    // Password does not, and an unknown context is not comparable.
    let min = StepUp::minimum([PPT]);
    for (class_ref, want) in [
        ("urn:oasis:names:tc:SAML:2.0:ac:classes:X509", Ok(())),
        (
            "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
            Err("authn_context_mismatch"),
        ),
        ("urn:example:homegrown", Err("authn_context_mismatch")),
    ] {
        let (_, start) = self::start(&acs, &browser, Some(&min));
        assert_eq!(
            finish(&acs, &idp, &browser, &start, class_ref, Duration::zero()).map(|_| ()),
            want,
            "{class_ref}"
        );
    }
    // Without step-up: no RequestedAuthnContext, and a password login is fine.
    let (request, start) = self::start(&acs, &browser, None);
    assert!(!request.contains("RequestedAuthnContext"), "{request}");
    assert!(finish(&acs, &idp, &browser, &start, PPT, Duration::hours(3)).is_ok());
    // A requirement that cannot be written into the record is refused up front.
    let e = block_on(acs.start_login_with_step_up(
        "acme",
        None,
        &browser,
        &StepUp::exact(["two words"]),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "config_invalid");
}

/// Issue 33, Scoping: a tenant behind a proxying IdP sends `Scoping` (ProxyCount, IDPList) in
/// every AuthnRequest, after `RequestedAuthnContext` as the schema orders them.
#[test]
fn a_tenant_behind_a_proxy_sends_scoping_in_its_requests() {
    let idp = TestIdp::fixed("https://proxy.example.org/idp");
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP, "https://app.example.com/saml/{tenant}/acs").unwrap(),
    ));
    registry
        .insert(
            TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://proxy.example.org/sso")
                .scoping(
                    saml_sp::tenant::Scoping::new()
                        .idp("https://idp.uni-a.example/idp", Some("Uni A & Co".into()))
                        .idp("https://idp.uni-b.example/idp", None)
                        .proxy_count(1),
                ),
        )
        .unwrap();
    let acs = saml_sp::Acs::new(
        registry,
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())));
    let browser = BrowserBinding::generate().unwrap();
    let (request, _) = start(&acs, &browser, Some(&StepUp::exact([PPT])));
    let scoping = "<samlp:Scoping ProxyCount=\"1\"><samlp:IDPList><samlp:IDPEntry ProviderID=\"https://idp.uni-a.example/idp\" Name=\"Uni A &amp; Co\"/><samlp:IDPEntry ProviderID=\"https://idp.uni-b.example/idp\"/></samlp:IDPList></samlp:Scoping>";
    assert!(request.contains(scoping), "{request}");
    assert!(
        request.find("RequestedAuthnContext").unwrap() < request.find("Scoping").unwrap(),
        "schema order"
    );
    // The request still parses as XML.
    saml_sp::xml::Document::parse(request.as_bytes()).unwrap();
}
