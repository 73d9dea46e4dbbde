//! Issue 33, HTTP-Artifact binding at the library level: an IdP (the test IdP, holding the
//! Response) answers a signed `ArtifactResolve` over a SOAP transport this test plays; the ACS
//! validates the Response inside a signed `ArtifactResponse` as a POSTed one. An artifact is
//! used once; one from another IdP, an unsigned or foreign-signed ArtifactResponse, one that
//! answers another request, and an IdP's failure status are refused.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use saml_sp::login::{AuditContext, BrowserBinding, SoapClient, SoapFuture};
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::time::FixedClock;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

use crate::users;
use users::Users;

const SP: &str = "https://app.example.com/saml/metadata";
const ACS: &str = "https://app.example.com/saml/acme/acs";
const ARS: &str = "https://idp.example.com/artifact";

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

/// How the fake IdP answers.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Good,
    Unsigned,
    WrongRequest,
    Failure,
}

/// The IdP's artifact resolution service: reads the ArtifactResolve (checking it is signed with
/// the SP's key and names the artifact it issued), answers with the stored Response.
struct FakeIdp {
    idp: TestIdp,
    sp_cert: saml_sp::crypto::Certificate,
    response: Mutex<Option<String>>,
    answer: Mutex<Answer>,
    requests: Mutex<Vec<String>>,
}

impl SoapClient for FakeIdp {
    fn post_soap<'a>(&'a self, url: &'a str, envelope: &'a str) -> SoapFuture<'a> {
        Box::pin(async move {
            assert_eq!(url, ARS);
            self.requests.lock().unwrap().push(envelope.to_owned());
            let doc = saml_sp::xml::Document::parse(envelope.as_bytes()).unwrap();
            let resolve = doc
                .root()
                .child_elements()
                .next()
                .unwrap()
                .child_elements()
                .next()
                .unwrap();
            assert_eq!(resolve.local_name(), "ArtifactResolve");
            // Signed by the SP's key (the SP's own verifier, configured with the SP's certificate).
            let opts = saml_sp::dsig::VerifyOptions {
                certificates: std::slice::from_ref(&self.sp_cert),
                allow_legacy_crypto: false,
            };
            assert!(
                saml_sp::dsig::verify_enveloped(resolve, "ArtifactResolve", &opts)
                    .unwrap()
                    .is_some()
            );
            let id = resolve.attribute("ID").unwrap().to_owned();
            let answer = *self.answer.lock().unwrap();
            let irt = if answer == Answer::WrongRequest {
                "_other"
            } else {
                id.as_str()
            };
            let status = if answer == Answer::Failure {
                "urn:oasis:names:tc:SAML:2.0:status:Responder"
            } else {
                "urn:oasis:names:tc:SAML:2.0:status:Success"
            };
            let inner = self.response.lock().unwrap().clone().unwrap_or_default();
            let inner = inner.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            let art = format!(
                "<samlp:ArtifactResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_ar1\" Version=\"2.0\" IssueInstant=\"2027-03-01T12:00:00Z\" InResponseTo=\"{irt}\"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"{status}\"/></samlp:Status>{inner}</samlp:ArtifactResponse>",
                self.idp.entity_id()
            );
            let art = if answer == Answer::Unsigned {
                art
            } else {
                self.idp.sign(&art, "_ar1").unwrap()
            };
            let art = art
                .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                .to_owned();
            Ok(format!("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>{art}</soap:Body></soap:Envelope>").into_bytes())
        })
    }
}

fn artifact_for(entity_id: &str, handle: u8) -> String {
    let mut raw = vec![0u8, 4, 0, 0];
    raw.extend_from_slice(&saml_sp::binding::source_id(entity_id));
    raw.extend_from_slice(&[handle; 20]);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[test]
fn an_artifact_is_resolved_over_soap_once_and_its_response_validated() {
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let sp_key = saml_sp::testkit::generate_key("sp", now()).unwrap();
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP, "https://app.example.com/saml/{tenant}/acs")
            .unwrap()
            .signing_key(sp_key.key.clone()),
    ));
    registry
        .insert(
            TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso")
                .artifact_responses(true)
                .artifact_resolution_url(ARS),
        )
        .unwrap();
    let fake = Arc::new(FakeIdp {
        idp: idp.clone(),
        sp_cert: sp_key.certificate.clone(),
        response: Mutex::new(None),
        answer: Mutex::new(Answer::Good),
        requests: Mutex::new(Vec::new()),
    });
    let acs = saml_sp::Acs::new(
        registry,
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())))
    .with_artifact_resolution(fake.clone());
    let browser = BrowserBinding::generate().unwrap();
    let login = |handle: u8, answer: Answer| {
        let start = block_on(acs.start_login("acme", None, &browser)).unwrap();
        let url = start.navigation.redirect_url().unwrap();
        let m = saml_sp::binding::decode_redirect(url, &Default::default()).unwrap();
        let xml = String::from_utf8(m.xml).unwrap();
        assert!(
            xml.contains("ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact\""),
            "{xml}"
        );
        *fake.response.lock().unwrap() = Some(
            idp.response(SP, ACS)
                .in_response_to(&start.request_id)
                .user(TestUser::new("ada@acme.example"))
                .build(now())
                .unwrap(),
        );
        *fake.answer.lock().unwrap() = answer;
        let art = artifact_for(idp.entity_id(), handle);
        (
            art.clone(),
            block_on(acs.finish_login_artifact(
                "acme",
                &art,
                Some(&start.relay_state),
                Some(&browser),
                &AuditContext::new(),
            ))
            .map(|d| d.user)
            .map_err(|e| e.code()),
        )
    };
    let (art, ok) = login(1, Answer::Good);
    assert_eq!(ok, Ok("ada@acme.example".to_owned()));
    // Used once: the same artifact again is refused before any request.
    let before = fake.requests.lock().unwrap().len();
    let again = block_on(acs.finish_login_artifact(
        "acme",
        &art,
        None,
        Some(&browser),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(again.code(), "binding");
    assert_eq!(fake.requests.lock().unwrap().len(), before);
    // The IdP's failures.
    assert_eq!(login(2, Answer::Unsigned).1, Err("signature_missing"));
    assert_eq!(
        login(3, Answer::WrongRequest).1,
        Err("in_response_to_mismatch")
    );
    assert_eq!(login(4, Answer::Failure).1, Err("status_not_success"));
    // An artifact of another IdP: refused without asking anyone.
    let before = fake.requests.lock().unwrap().len();
    let foreign = artifact_for("https://evil.example/idp", 5);
    let e = block_on(acs.finish_login_artifact(
        "acme",
        &foreign,
        None,
        Some(&browser),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "binding");
    assert_eq!(fake.requests.lock().unwrap().len(), before);
    // At an ACS every tenant shares, the SourceID picks the tenant: acme's IdP issued this one.
    let start = block_on(acs.start_login("acme", None, &browser)).unwrap();
    *fake.response.lock().unwrap() = Some(
        idp.response(SP, ACS)
            .in_response_to(&start.request_id)
            .user(TestUser::new("bob@acme.example"))
            .build(now())
            .unwrap(),
    );
    *fake.answer.lock().unwrap() = Answer::Good;
    let done = block_on(acs.finish_login_artifact_any_tenant(
        &artifact_for(idp.entity_id(), 6),
        Some(&start.relay_state),
        Some(&browser),
        &AuditContext::new(),
    ))
    .unwrap();
    assert_eq!(
        (done.tenant.as_str(), done.user.as_str()),
        ("acme", "bob@acme.example")
    );
    let e = block_on(acs.finish_login_artifact_any_tenant(
        &foreign,
        None,
        Some(&browser),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "unknown_tenant");
    // Not an artifact at all.
    let e = block_on(acs.finish_login_artifact(
        "acme",
        "AAAA",
        None,
        Some(&browser),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "binding");
}
