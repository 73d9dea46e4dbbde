//! The audit event reaches `tracing` under the target `saml_sp::login` with every field and no
//! XML. In its own test binary: tracing caches callsite interest process-wide, and a test running
//! in parallel without a subscriber could race this one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use saml_sp::login::AuditContext;
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

use crate::users;
use users::Users;

fn login() {
    login_signed_by(|idp| idp.clone());
}

/// A login whose Response `signer` (given the configured IdP) signs.
fn login_signed_by(signer: impl Fn(&TestIdp) -> TestIdp) {
    let idp = TestIdp::fixed("https://idp-a.example.com/metadata");
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(
            "https://app.example.com/m",
            "https://app.example.com/{tenant}/acs",
        )
        .unwrap(),
    ));
    registry
        .insert(
            TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://idp-a.example.com/sso"),
        )
        .unwrap();
    let acs = saml_sp::Acs::new(
        registry,
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    );
    let start = block_on(Box::pin(acs.start_login("acme", None, browser()))).unwrap();
    let resp = signer(&idp)
        .response(
            "https://app.example.com/m",
            "https://app.example.com/acme/acs",
        )
        .in_response_to(start.request_id)
        .user(TestUser::new("ada@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    block_on(Box::pin(acs.finish_login(
        "acme",
        &resp,
        Some(&start.relay_state),
        Some(browser()),
        &AuditContext::new().with("ip", "203.0.113.7"),
    )))
    .map(|_| ())
    .unwrap_or_else(|e| assert_eq!(e.code(), "untrusted_key"));
}

type Events = Vec<(String, tracing::Level, HashMap<String, String>)>;

/// Every tracing event `f` emits, and every span it opens (target `span:<name>`, with the
/// fields recorded on it): (target, level, fields).
fn capture(f: fn()) -> Events {
    use tracing::field::{Field, Visit};
    #[derive(Default, Clone)]
    struct Capture(Arc<Mutex<Events>>);
    struct V<'a>(&'a mut HashMap<String, String>);
    impl Visit for V<'_> {
        fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
            self.0.insert(f.name().to_owned(), format!("{v:?}"));
        }
        fn record_str(&mut self, f: &Field, v: &str) {
            self.0.insert(f.name().to_owned(), v.to_owned());
        }
    }
    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, a: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            let mut fields = HashMap::new();
            a.record(&mut V(&mut fields));
            let mut g = self.0.lock().unwrap();
            g.push((
                format!("span:{}", a.metadata().name()),
                *a.metadata().level(),
                fields,
            ));
            tracing::span::Id::from_u64(g.len() as u64)
        }
        fn record(&self, id: &tracing::span::Id, r: &tracing::span::Record<'_>) {
            let mut g = self.0.lock().unwrap();
            let i = usize::try_from(id.into_u64()).unwrap() - 1;
            r.record(&mut V(&mut g[i].2));
        }
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, e: &tracing::Event<'_>) {
            let mut fields = HashMap::new();
            e.record(&mut V(&mut fields));
            self.0.lock().unwrap().push((
                e.metadata().target().to_owned(),
                *e.metadata().level(),
                fields,
            ));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), f);
    capture.0.lock().unwrap().clone()
}

#[test]
fn audit_events_go_to_tracing_under_saml_sp_audit() {
    let events = capture(login);

    let (target, _, fields) = events
        .iter()
        .find(|(t, _, _)| t == "saml_sp::login")
        .expect("an audit event");
    assert_eq!(target, "saml_sp::login");
    for k in [
        "tenant",
        "issuer",
        "outcome",
        "error_code",
        "request_id",
        "assertion_id",
        "context",
    ] {
        assert!(fields.contains_key(k), "missing {k}: {fields:?}");
    }
    assert_eq!(fields["outcome"], "success");
    assert_eq!(fields["tenant"], "acme");
    assert!(!fields.contains_key("name_id"), "the NameID is not logged");
    assert_eq!(fields["context"], "ip=203.0.113.7");
    assert!(fields.values().all(|v| !v.contains("<saml")), "no XML");
}

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}

/// Hardening pass 3, item 13: a refusal's operator detail (expected and found: here the
/// received certificate's fingerprint) is in the audit event and logged at WARN.
#[test]
fn pass3_defect_13_a_refusals_detail_is_logged_at_warn() {
    let events = capture(|| login_signed_by(|idp| idp.successor().unwrap()));
    let (_, level, fields) = events
        .iter()
        .find(|(t, _, _)| t == "saml_sp::login")
        .expect("an audit event");
    assert_eq!(*level, tracing::Level::WARN);
    assert_eq!(fields["outcome"], "failure");
    assert_eq!(fields["error_code"], "untrusted_key");
    assert!(
        fields["error_detail"].contains("untrusted key")
            && fields["error_detail"].contains("SHA-256"),
        "{fields:?}"
    );
    assert!(fields.values().all(|v| !v.contains("<saml")), "no XML");
}

/// Polls a future that completes at once (the in-memory stores) to completion.
fn block_on<T>(mut f: std::pin::Pin<Box<dyn std::future::Future<Output = T> + '_>>) -> T {
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("not ready"),
    }
}

/// Issue 32: one span per login with the tenant, request ID, outcome and code, child spans for
/// the steps; and nothing personal or from the message in any field of any event or span of a
/// login, accepted or refused.
#[test]
fn a_login_is_one_span_with_its_steps_and_no_personal_data_anywhere() {
    let events = capture(login);
    let span = |name: &str| {
        events
            .iter()
            .find(|(t, _, _)| t == &format!("span:{name}"))
            .unwrap_or_else(|| panic!("no span {name}: {events:?}"))
    };
    let (_, _, login_span) = span("saml_sp.login");
    assert_eq!(login_span["tenant"], "acme");
    assert_eq!(login_span["outcome"], "success");
    assert!(!login_span["request_id"].is_empty(), "{login_span:?}");
    assert!(login_span.contains_key("assertion_id"), "{login_span:?}");
    for step in [
        "saml_sp.decode",
        "saml_sp.parse",
        "saml_sp.verify",
        "saml_sp.store",
        "saml_sp.provision",
    ] {
        span(step);
    }
    // A refused login records its code on the span.
    let refused = capture(|| login_signed_by(|idp| idp.successor().unwrap()));
    let (_, _, f) = refused
        .iter()
        .find(|(t, _, _)| t == "span:saml_sp.login")
        .unwrap();
    assert_eq!(
        (f["outcome"].as_str(), f["code"].as_str()),
        ("failure", "untrusted_key"),
        "{f:?}"
    );
    for (target, _, fields) in events.iter().chain(refused.iter()) {
        for (k, v) in fields {
            for secret in ["ada@acme.example", "<saml", "<ds:", "PHNhbWxw", "PD94bWw"] {
                assert!(
                    !v.contains(secret),
                    "{target}: field {k} carries {secret:?}: {v}"
                );
            }
        }
    }
}
