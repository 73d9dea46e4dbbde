//! Regression tests for hardening pass 2 (issue 13), one per defect, named after it. The cost
//! of the hostile inputs is shown to grow linearly in `benches/budgets.rs` (1x/4x/16x per
//! dimension) and the wall time through the CLI in `tests/services/cli.rs`; here each outcome is checked.

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
use saml_sp::login::AuditContext;
use saml_sp::login::{ProvisionError, Provisioner, SamlIdentity};
use saml_sp::metadata::IdpMetadata;
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore, ReplayCache, RequestStore};
use saml_sp::testkit::{SignShape, TestIdp, TestUser};
use saml_sp::time::{FixedClock, parse_instant};
use saml_sp::xml::Document;
use saml_sp::xml::c14n::{Algorithm, Subset, canonicalize_to_vec};
use saml_sp::{IdentityProvider, ServiceProvider};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

use crate::hostile;
use hostile::forged_signed_info;

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("not ready"),
    }
}

const IDP: &str = "https://idp.example.com/saml";
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";

fn now() -> DateTime<Utc> {
    parse_instant("2030-01-01T10:00:30Z", "now").unwrap()
}

fn idp() -> TestIdp {
    TestIdp::fixed(IDP)
}

fn sp(idp: &TestIdp) -> ServiceProvider {
    ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, vec![idp.certificate().clone()]).unwrap(),
    )
    .build()
    .unwrap()
}

#[test]
fn defect_1_forged_signed_info_is_refused_by_its_structural_budget() {
    let idp = idp();
    // The reviewer's shape: 58 x 32 prefixes, 99,000 leaves (427 KB).
    let xml = forged_signed_info(58, 32, 99_000);
    assert!(
        xml.len() > 400_000 && xml.len() < 512 * 1024,
        "{}",
        xml.len()
    );
    let e = sp(&idp)
        .validate_response(xml.as_bytes(), None, now())
        .unwrap_err();
    assert_eq!(e.code(), "signature_profile", "{e}");
    assert!(e.to_string().contains("ds:SignedInfo of at most"), "{e}");
    // Element content where the schema allows none, within the byte budget: refused by name.
    let small = forged_signed_info(1, 1, 1);
    let e = sp(&idp)
        .validate_response(small.as_bytes(), None, now())
        .unwrap_err();
    assert_eq!(e.code(), "signature_profile", "{e}");
    assert!(
        e.to_string()
            .contains("no element content in ds:DigestMethod"),
        "{e}"
    );
    // Content under ec:InclusiveNamespaces too.
    let inner = forged_signed_info(0, 0, 0).replace(
        "PrefixList=\"\"/>",
        "PrefixList=\"\"><e/></ec:InclusiveNamespaces>",
    );
    let e = sp(&idp)
        .validate_response(inner.as_bytes(), None, now())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no element content in ec:InclusiveNamespaces"),
        "{e}"
    );
}

/// Exclusive C14N with a long PrefixList over many elements gives the same bytes as with only
/// the prefixes that matter: the PrefixList is honoured where a prefix is declared, and nowhere
/// else costs anything.
#[test]
fn defect_1_prefix_list_is_honoured_where_declared_and_only_there() {
    let mut xml = String::from("<r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><s ID=\"s\">");
    for i in 0..200 {
        xml.push_str(&format!("<e{i} xmlns:c=\"urn:c{}\"><f/></e{i}>", i % 3));
    }
    xml.push_str("</s></r>");
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let apex = doc.element_by_id("s").unwrap().id();
    let subset = Subset::Element {
        apex,
        exclude: None,
    };
    let many: Vec<String> = (0..2000).map(|i| format!("z{i}")).collect();
    let mut long: Vec<&str> = many.iter().map(String::as_str).collect();
    long.extend(["a", "c"]);
    let with_long = canonicalize_to_vec(&doc, subset, Algorithm::Exclusive, &long).unwrap();
    let with_short = canonicalize_to_vec(&doc, subset, Algorithm::Exclusive, &["a", "c"]).unwrap();
    assert_eq!(with_long, with_short);
    let out = String::from_utf8(with_short).unwrap();
    // `a` is rendered once at the apex; `c` at every element that declares it; `b` never.
    assert!(out.starts_with("<s xmlns:a=\"urn:a\" ID=\"s\"><e0 xmlns:c=\"urn:c0\"><f></f></e0>"));
    assert_eq!(out.matches("xmlns:a=").count(), 1);
    assert_eq!(out.matches("xmlns:c=").count(), 200);
    assert!(!out.contains("xmlns:b"));
}

#[test]
fn defect_2_form_and_query_parsing_refuses_many_parameters_in_linear_time() {
    let mut query = String::from("SAMLRequest=AAAA");
    for i in 0..80_000 {
        query.push_str(&format!("&a{i}="));
    }
    let e = saml_sp::binding::decode_redirect(&query, &Default::default()).unwrap_err();
    assert_eq!(e.code(), "binding");
    assert!(e.to_string().contains("more than 32 parameters"), "{e}");
    // Duplicates are still refused, found through a set.
    let e = saml_sp::binding::decode_redirect("SAMLRequest=AAAA&x=1&x=2", &Default::default())
        .unwrap_err();
    assert!(e.to_string().contains("appears more than once"), "{e}");
    // A form body handed to the CLI's input sniffing.
    let body = query.replace("SAMLRequest=", "SAMLResponse=");
    let e =
        saml_sp::binding::decode_response_input(body.as_bytes(), &Default::default()).unwrap_err();
    assert_eq!(e.code(), "binding");
}

/// An IdP-initiated assertion (signed, no InResponseTo in its confirmation) inside an unsigned
/// Response to which an attacker added `InResponseTo=<their own request>`.
fn upgraded_unsolicited(idp: &TestIdp, request: &str) -> String {
    let xml = idp
        .response(SP, ACS)
        .user(TestUser::new("victim@corp.example"))
        .sign(SignShape::Assertion)
        .build(now())
        .unwrap();
    xml.replacen(
        " IssueInstant=",
        &format!(" InResponseTo=\"{request}\" IssueInstant="),
        1,
    )
}

#[test]
fn defect_3_unsigned_response_in_response_to_does_not_solicit_an_assertion() {
    let idp = idp();
    let xml = upgraded_unsolicited(&idp, "_attacker_request");
    assert!(xml.contains("InResponseTo=\"_attacker_request\""));
    let e = sp(&idp)
        .validate_response(xml.as_bytes(), Some("_attacker_request"), now())
        .unwrap_err();
    assert_eq!(e.code(), "unsolicited_response", "{e}");

    // Through the one-call ACS: the attacker starts a login of their own and posts the victim's
    // assertion with their request's RelayState.
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry
        .insert(
            TenantConfig::new("acme", IDP, vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())));
    let start = block_on(acs.start_login("acme", None, browser())).unwrap();
    let posted = base64(&upgraded_unsolicited(&idp, &start.request_id));
    let e = block_on(acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "unsolicited_response", "{e}");

    // A signed Response's InResponseTo still counts when the confirmation carries none.
    let signed = idp
        .response(SP, ACS)
        .sign(SignShape::Unsigned)
        .build(now())
        .unwrap()
        .replacen(" IssueInstant=", " InResponseTo=\"_req1\" IssueInstant=", 1);
    let rid = Document::parse(signed.as_bytes())
        .unwrap()
        .root()
        .attribute("ID")
        .unwrap()
        .to_owned();
    let signed = idp.sign(&signed, &rid).unwrap();
    let a = sp(&idp)
        .validate_response(signed.as_bytes(), Some("_req1"), now())
        .unwrap();
    assert_eq!(a.in_response_to(), Some("_req1"));
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

struct Users;
impl Provisioner for Users {
    type User = String;
    async fn upsert(&self, _: &str, id: &SamlIdentity) -> Result<String, ProvisionError> {
        Ok(id.email.clone())
    }
    async fn find(&self, _: &str, id: &SamlIdentity) -> Result<Option<String>, ProvisionError> {
        Ok(Some(id.email.clone()))
    }
}

/// An assertion with two bearer confirmations: the first ends at `now + 2 min`, the second at
/// `now + 8 min`; Conditions end at `now + 9 min`.
fn two_confirmations(idp: &TestIdp) -> String {
    let xml = idp
        .response(SP, ACS)
        .in_response_to("_req1")
        .sign(SignShape::Unsigned)
        .build(now())
        .unwrap();
    let doc = Document::parse(xml.as_bytes()).unwrap();
    let assertion = doc
        .root()
        .child_elements()
        .find(|e| e.local_name() == "Assertion")
        .unwrap();
    let aid = assertion.attribute("ID").unwrap().to_owned();
    let first = "2030-01-01T10:02:30Z";
    let second = "2030-01-01T10:08:30Z";
    let conditions_end = "2030-01-01T10:09:30Z";
    let start = xml.find("<saml2:SubjectConfirmation ").unwrap();
    let end =
        xml.find("</saml2:SubjectConfirmation>").unwrap() + "</saml2:SubjectConfirmation>".len();
    let one = &xml[start..end];
    let noa = one
        .split("NotOnOrAfter=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let c1 = one.replace(noa, first);
    let c2 = one.replace(noa, second);
    let mut edited = format!("{}{c1}{c2}{}", &xml[..start], &xml[end..]);
    let cond_noa = edited
        .split("<saml2:Conditions ")
        .nth(1)
        .unwrap()
        .split("NotOnOrAfter=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    edited = edited.replace(
        &format!("NotOnOrAfter=\"{cond_noa}\"><saml2:AudienceRestriction>"),
        &format!("NotOnOrAfter=\"{conditions_end}\"><saml2:AudienceRestriction>"),
    );
    idp.sign(&edited, &aid).unwrap()
}

#[test]
fn defect_4_replay_window_lasts_until_the_latest_confirmation() {
    let idp = idp();
    let xml = two_confirmations(&idp);
    let sp = sp(&idp);
    let skew = sp.clock_skew();
    let a = sp
        .validate_response(xml.as_bytes(), Some("_req1"), now())
        .unwrap();
    // The validity end is the first confirmation's; the replay deadline the second's + skew.
    assert_eq!(
        a.not_on_or_after(),
        parse_instant("2030-01-01T10:02:30Z", "t").unwrap()
    );
    assert_eq!(
        a.accept_until(),
        parse_instant("2030-01-01T10:08:30Z", "t").unwrap() + skew
    );
    // After the first confirmation has expired, the second still accepts the assertion...
    let later = parse_instant("2030-01-01T10:06:00Z", "t").unwrap();
    assert!(
        sp.validate_response(xml.as_bytes(), Some("_req1"), later)
            .is_ok()
    );
    // ...so the replay cache still refuses it then.
    let requests = MemoryRequestStore::default();
    let replay = MemoryReplayCache::default();
    for t in [now(), later] {
        block_on(requests.remember("t", "_req1", "", t + Duration::minutes(10))).unwrap();
        let r = block_on(sp.consume(xml.as_bytes(), "t", &requests, &replay, t));
        if t == now() {
            r.unwrap();
        } else {
            assert_eq!(r.unwrap_err().code(), "replayed_assertion");
        }
    }
    // The entry lives exactly until accept_until.
    assert!(
        !block_on(replay.insert_if_absent(
            "t",
            &format!("{IDP}\u{1f}{}", a.assertion_id()),
            a.accept_until(),
            a.accept_until() - Duration::seconds(1)
        ))
        .unwrap()
    );
}

fn metadata_valid_until(idp: &TestIdp, valid_until: &str) -> String {
    let md = idp.metadata_xml("https://idp.example.com/sso");
    let md = md.replacen(
        "<md:EntityDescriptor ",
        &format!(
            "<md:EntityDescriptor ID=\"_md1\" validUntil=\"{valid_until}\" cacheDuration=\"PT6H\" "
        ),
        1,
    );
    idp.sign(&md, "_md1").unwrap()
}

#[test]
fn defect_5_metadata_past_valid_until_is_refused() {
    let idp = idp();
    let pinned = vec![idp.certificate().clone()];
    let md = metadata_valid_until(&idp, "2030-01-01T12:00:00Z");
    let before = parse_instant("2030-01-01T11:59:59Z", "t").unwrap();
    let after = parse_instant("2030-01-01T12:00:00Z", "t").unwrap();
    let ok = IdpMetadata::parse_verified(md.as_bytes(), None, &pinned, before).unwrap();
    assert_eq!(ok.cache_duration(), Some(Duration::hours(6)));
    assert_eq!(ok.valid_until(), Some(after));
    let e = IdpMetadata::parse_verified(md.as_bytes(), None, &pinned, after).unwrap_err();
    assert_eq!(e.code(), "metadata_expired", "{e}");
    assert!(
        e.to_string().contains("valid until 2030-01-01T12:00:00Z"),
        "{e}"
    );
    let e = TenantConfig::from_idp_metadata("acme", md.as_bytes(), after).unwrap_err();
    assert_eq!(e.code(), "metadata_expired");
    assert!(TenantConfig::from_idp_metadata("acme", md.as_bytes(), before).is_ok());
    // An aggregate's validUntil bounds the entity inside it.
    let inner = md.replacen(
        "validUntil=\"2030-01-01T12:00:00Z\"",
        "validUntil=\"2031-01-01T00:00:00Z\"",
        1,
    );
    let inner = inner.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let aggregate = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" validUntil=\"2030-01-01T12:00:00Z\">{inner}</md:EntitiesDescriptor>"
    );
    let parsed = IdpMetadata::parse(aggregate.as_bytes(), None).unwrap();
    assert_eq!(parsed.valid_until(), Some(after));
    assert_eq!(
        parsed.check_valid_at(after).unwrap_err().code(),
        "metadata_expired"
    );
}

#[test]
fn defect_6_a_flood_of_login_starts_cannot_lock_out_logins() {
    let store = MemoryRequestStore::with_capacity(1_000);
    let t = Utc::now();
    for i in 0..5_000 {
        block_on(store.remember(
            "acme",
            &format!("flood{i}"),
            "x",
            t + Duration::minutes(10) + Duration::milliseconds(i),
        ))
        .unwrap();
    }
    assert_eq!(store.len(), 1_000);
    // A real user's login still starts and finishes.
    block_on(store.remember("acme", "user", "req", t + Duration::minutes(11))).unwrap();
    assert_eq!(
        block_on(store.take("acme", "user", t)).unwrap().as_deref(),
        Some("req")
    );
    // The oldest records went first; the newest are kept.
    assert_eq!(block_on(store.take("acme", "flood0", t)).unwrap(), None);
    assert_eq!(
        block_on(store.take("acme", "flood4999", t))
            .unwrap()
            .as_deref(),
        Some("x")
    );
    // The replay cache still fails closed when full of live entries (forgetting would allow a
    // replay), and purges expired ones without a scan.
    let cache = MemoryReplayCache::with_capacity(2);
    assert!(block_on(cache.insert_if_absent("t", "a", t + Duration::seconds(1), t)).unwrap());
    assert!(block_on(cache.insert_if_absent("t", "b", t + Duration::seconds(5), t)).unwrap());
    assert!(block_on(cache.insert_if_absent("t", "c", t + Duration::seconds(5), t)).is_err());
    let later = t + Duration::seconds(2);
    assert!(block_on(cache.insert_if_absent("t", "c", t + Duration::seconds(5), later)).unwrap());
    assert!(!block_on(cache.insert_if_absent("t", "b", t + Duration::seconds(9), later)).unwrap());
}

#[test]
fn defect_7_the_demo_test_idp_key_is_generated_not_published() {
    let generated = TestIdp::generate(IDP).unwrap();
    let fixed = TestIdp::fixed(IDP);
    assert_ne!(generated.certificate(), fixed.certificate());
    // It signs what an SP that trusts it accepts, and the published key cannot sign for it.
    let xml = generated
        .response(SP, ACS)
        .in_response_to("_req1")
        .build(now())
        .unwrap();
    let trusting = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, vec![generated.certificate().clone()]).unwrap(),
    )
    .build()
    .unwrap();
    assert!(
        trusting
            .validate_response(xml.as_bytes(), Some("_req1"), now())
            .is_ok()
    );
    let forged = fixed
        .response(SP, ACS)
        .in_response_to("_req1")
        .build(now())
        .unwrap();
    assert_eq!(
        trusting
            .validate_response(forged.as_bytes(), Some("_req1"), now())
            .unwrap_err()
            .code(),
        "untrusted_key"
    );
}

#[test]
fn defect_7_back_and_repost_is_reported_as_a_replay_with_ids_in_the_audit() {
    use std::sync::Mutex;
    #[derive(Default, Debug)]
    struct Sink(Mutex<Vec<saml_sp::login::AuditEvent>>);
    impl saml_sp::login::AuditSink for Sink {
        fn record(&self, e: &saml_sp::login::AuditEvent) {
            self.0.lock().unwrap().push(e.clone());
        }
    }
    let idp = idp();
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry
        .insert(
            TenantConfig::new("acme", IDP, vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    let sink = Arc::new(Sink::default());
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())))
    .with_audit_sink(sink.clone());
    let start = block_on(acs.start_login("acme", None, browser())).unwrap();
    let posted = idp
        .response(SP, ACS)
        .in_response_to(&start.request_id)
        .build_base64(now())
        .unwrap();
    let ctx = AuditContext::new();
    block_on(acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(browser()),
        &ctx,
    ))
    .unwrap();
    let e = block_on(acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(browser()),
        &ctx,
    ))
    .unwrap_err();
    assert_eq!(e.code(), "replayed_assertion");
    let events = sink.0.lock().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.error_code, Some("replayed_assertion"));
    assert_eq!(last.request_id.as_deref(), Some(start.request_id.as_str()));
    assert!(
        last.assertion_id
            .as_deref()
            .is_some_and(|a| a.starts_with("_a"))
    );
}

/// Found by the two-instance PostgreSQL test (issue 31): a copy of a solicited Response posted
/// without its RelayState record (it was taken by the genuine post, in flight) spent the
/// assertion ID before being refused, so the genuine post then failed as a replay and nobody
/// signed in. A post that holds no record now refuses without spending the ID.
#[test]
fn a_copy_posted_without_the_request_record_does_not_spend_the_assertion() {
    let idp = idp();
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry
        .insert(
            TenantConfig::new("acme", IDP, vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())));
    let start = block_on(acs.start_login("acme", None, browser())).unwrap();
    let posted = idp
        .response(SP, ACS)
        .in_response_to(&start.request_id)
        .build_base64(now())
        .unwrap();
    let ctx = AuditContext::new();
    // The copy arrives first, without the RelayState (or with one already taken).
    for relay in [None, Some("/inbox")] {
        let e =
            block_on(acs.finish_login("acme", &posted, relay, Some(browser()), &ctx)).unwrap_err();
        assert_eq!(e.code(), "unknown_in_response_to", "{e}");
    }
    // The genuine post still signs the user in, once.
    block_on(acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(browser()),
        &ctx,
    ))
    .unwrap();
    let e = block_on(acs.finish_login("acme", &posted, None, Some(browser()), &ctx)).unwrap_err();
    assert_eq!(e.code(), "replayed_assertion");
}

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}

// ---- Hardening pass 4 (issue 35) ----

/// Pass 4, item 1 (login CSRF) at the library level: a Response to a login started with one
/// browser's binding is refused for any other browser, and for none, before any signature
/// work; the genuine browser succeeds.
#[test]
fn pass4_login_csrf_finish_login_refuses_a_login_another_browser_started() {
    let idp = idp();
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry
        .insert(
            TenantConfig::new("acme", IDP, vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())));
    let attacker = saml_sp::login::BrowserBinding::generate().unwrap();
    let victim = saml_sp::login::BrowserBinding::generate().unwrap();
    let ctx = AuditContext::new();
    for presented in [Some(&victim), None] {
        let start = block_on(acs.start_login("acme", None, &attacker)).unwrap();
        let posted = idp
            .response(SP, ACS)
            .in_response_to(&start.request_id)
            .build_base64(now())
            .unwrap();
        let e =
            block_on(acs.finish_login("acme", &posted, Some(&start.relay_state), presented, &ctx))
                .unwrap_err();
        assert_eq!(e.code(), "login_browser_mismatch");
        assert_eq!(e.kind().http_status(), 403);
        // The attempt used the pending login up: not even the attacker's browser can finish it.
        let e = block_on(acs.finish_login(
            "acme",
            &posted,
            Some(&start.relay_state),
            Some(&attacker),
            &ctx,
        ))
        .unwrap_err();
        assert_eq!(e.code(), "unknown_in_response_to");
    }
    // The refusal comes before signature work: a garbage Response gets the same code.
    let start = block_on(acs.start_login("acme", None, &attacker)).unwrap();
    let e = block_on(acs.finish_login(
        "acme",
        &base64("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"),
        Some(&start.relay_state),
        Some(&victim),
        &ctx,
    ))
    .unwrap_err();
    assert_eq!(e.code(), "login_browser_mismatch");
    // The browser that started the login signs in.
    let start = block_on(acs.start_login("acme", Some("/home"), &attacker)).unwrap();
    let posted = idp
        .response(SP, ACS)
        .in_response_to(&start.request_id)
        .build_base64(now())
        .unwrap();
    let done = block_on(acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(&attacker),
        &ctx,
    ))
    .unwrap();
    assert_eq!(done.return_to, "/home");
}

/// Pass 4, item 7 (reflected XSS through the test IdP): its login pages answer only the SP it
/// serves; a cross-site POST naming a `javascript:` (or any other) ACS URL is refused, and the
/// page it does render posts under a nonce CSP.
#[test]
fn pass4_reflected_xss_the_test_idp_refuses_an_acs_it_does_not_serve() {
    let idp = TestIdp::fixed(IDP).serving(SP, ACS);
    let form = |sp: &str, acs: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("sp", sp)
            .append_pair("acs", acs)
            .append_pair("email", "ada@example.com")
            .finish()
    };
    for (sp, acs) in [
        (SP, "javascript:fetch('/').then(r=>r.text()).then(alert)"),
        (SP, "JAVASCRIPT:alert(1)"),
        (SP, "data:text/html,<script>alert(1)</script>"),
        (SP, "https://evil.example/acs"),
        ("https://evil.example/sp", ACS),
    ] {
        let e = idp.login_submit(&form(sp, acs), now()).unwrap_err();
        assert_eq!(e.code(), "binding", "{acs}");
    }
    // Its SSO page refuses an AuthnRequest naming another ACS in the same way.
    let req = saml_sp::login::AuthnRequest::new(SP, "javascript:alert(1)")
        .destination("https://idp.example.com/sso")
        .build(now())
        .unwrap();
    let url = req.redirect_url(None, None).unwrap();
    let query = url.split_once('?').unwrap().1;
    assert!(idp.sso_page(query, "/test-idp/login").is_err());
    // The SP it serves: a page whose only script runs under the nonce its CSP names.
    let page = idp.login_submit(&form(SP, ACS), now()).unwrap();
    let nonce = page
        .content_security_policy
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(page.html.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(page.html.contains(&format!("action=\"{ACS}\"")));
    // An IdP that serves no SP answers none.
    assert!(
        TestIdp::fixed(IDP)
            .login_submit(&form(SP, ACS), now())
            .is_err()
    );
}

/// Issue 27, defect 9: every configuration path takes the one `DangerousOptions` value, so each
/// of the 16 combinations of the four options arrives unchanged through the builder, the
/// `ValidationPolicy`, a `TenantConfig` in the registry and serde `TenantSettings`; and an
/// option set in a settings file changes what is accepted.
#[cfg(feature = "serde")]
#[test]
fn pass3_defect_9_every_configuration_path_honours_every_dangerous_option() {
    use saml_sp::ValidationPolicy;
    use saml_sp::sp::DangerousOptions;
    let idp = idp();
    let pem = include_str!("../../src/testkit/test-idp.crt");
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    for bits in 0u8..(1 << DangerousOptions::NAMES.len()) {
        let mut d = DangerousOptions::default();
        for (i, name) in DangerousOptions::NAMES.iter().enumerate() {
            if bits & (1 << i) != 0 {
                d = d.with_named(name).unwrap();
            }
        }
        assert_eq!(d.enabled().len(), bits.count_ones() as usize);
        let built = ServiceProvider::builder(
            SP,
            ACS,
            IdentityProvider::new(IDP, vec![idp.certificate().clone()]).unwrap(),
        )
        .dangerous(d)
        .build()
        .unwrap();
        assert_eq!(built.dangerous_options(), d, "builder, {bits:04b}");
        let by_policy = ServiceProvider::builder(
            SP,
            ACS,
            IdentityProvider::new(IDP, vec![idp.certificate().clone()]).unwrap(),
        )
        .policy(ValidationPolicy::default().dangerous(d))
        .build()
        .unwrap();
        assert_eq!(by_policy.dangerous_options(), d, "policy, {bits:04b}");

        let slug = format!("t{bits}");
        let config = TenantConfig::new(
            slug.clone(),
            format!("{IDP}/{bits}"),
            vec![idp.certificate().clone()],
        )
        .dangerous(d);
        registry.insert(config).unwrap();
        let tenant = registry.by_slug(&slug).unwrap();
        assert_eq!(
            tenant.service_provider().dangerous_options(),
            d,
            "TenantConfig, {bits:04b}"
        );
        assert_eq!(
            tenant.allows_unsolicited(),
            d.dangerous_allow_unsolicited_responses
        );

        let mut table = String::from("[dangerous]\n");
        for name in d.enabled() {
            table.push_str(&format!("{name} = true\n"));
        }
        let toml_text = format!(
            "slug = \"s{bits}\"\nidp_entity_id = \"{IDP}/s{bits}\"\ncertificates = [{pem:?}]\n{table}"
        );
        let settings: saml_sp::tenant::TenantSettings = toml::from_str(&toml_text).unwrap();
        let sp = settings.into_config().unwrap();
        registry.insert(sp).unwrap();
        assert_eq!(
            registry
                .by_slug(&format!("s{bits}"))
                .unwrap()
                .service_provider()
                .dangerous_options(),
            d,
            "TenantSettings, {bits:04b}"
        );
    }
    // A misspelt option in a settings file is an error, not silently off.
    let typo = format!(
        "slug = \"x\"\nidp_entity_id = \"{IDP}/x\"\ncertificates = [{pem:?}]\n[dangerous]\ndangerous_allow_unsolicited = true\n"
    );
    assert!(toml::from_str::<saml_sp::tenant::TenantSettings>(&typo).is_err());

    // The option from a settings file decides: an IdP-initiated Response is accepted by s1
    // (unsolicited on) and refused by s0.
    let unsolicited = |issuer: &str| {
        TestIdp::fixed(issuer)
            .response(SP, ACS)
            .user(TestUser::new("alice@corp.example"))
            .sign(SignShape::Assertion)
            .build(now())
            .unwrap()
    };
    let on = registry.by_slug("s1").unwrap();
    on.service_provider()
        .validate_response(unsolicited(&format!("{IDP}/s1")).as_bytes(), None, now())
        .unwrap();
    let off = registry.by_slug("s0").unwrap();
    let e = off
        .service_provider()
        .validate_response(unsolicited(&format!("{IDP}/s0")).as_bytes(), None, now())
        .unwrap_err();
    assert_eq!(e.code(), "unsolicited_response");
}
