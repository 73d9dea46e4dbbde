//! Many IdPs, one app: the registry, the one-call ACS, provisioning, attribute mapping, audit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use saml_sp::crypto::Certificate;
use saml_sp::login::{AttributeMapping, ProvisionError, Provisioner, SamlIdentity};
use saml_sp::login::{AuditContext, AuditEvent, AuditSink, Outcome};
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::testkit::{AttributeStyle, TestIdp, TestUser};
use saml_sp::xml::Document;
use saml_sp::{Acs, LoginSuccess};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("not ready"),
    }
}

const SP_ID: &str = "https://app.example.com/saml/metadata";
const ACS_TEMPLATE: &str = "https://app.example.com/login/saml/{tenant}/callback";

fn acs_url(slug: &str) -> String {
    ACS_TEMPLATE.replace("{tenant}", slug)
}

#[derive(Default)]
struct Users {
    users: Mutex<HashMap<(String, String), SamlIdentity>>,
}

#[derive(Clone)]
struct UserDb(Arc<Users>);

impl Provisioner for UserDb {
    type User = SamlIdentity;
    async fn upsert(
        &self,
        tenant: &str,
        id: &SamlIdentity,
    ) -> Result<SamlIdentity, ProvisionError> {
        self.0
            .users
            .lock()
            .unwrap()
            .insert((tenant.to_owned(), id.email.clone()), id.clone());
        Ok(id.clone())
    }
    async fn find(
        &self,
        tenant: &str,
        id: &SamlIdentity,
    ) -> Result<Option<SamlIdentity>, ProvisionError> {
        Ok(self
            .0
            .users
            .lock()
            .unwrap()
            .get(&(tenant.to_owned(), id.email.clone()))
            .cloned())
    }
}

#[derive(Debug, Default)]
struct Sink(Mutex<Vec<AuditEvent>>);
impl AuditSink for Sink {
    fn record(&self, event: &AuditEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

struct World {
    idp_a: TestIdp,
    idp_b: TestIdp,
    registry: Arc<IdpRegistry>,
    users: Arc<Users>,
    sink: Arc<Sink>,
    acs: Acs<UserDb>,
}

fn world(jit_b: bool) -> World {
    let idp_a = TestIdp::fixed("https://idp-a.example.com/metadata");
    let idp_b = TestIdp::fixed("https://idp-b.example.com/metadata");
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP_ID, ACS_TEMPLATE).unwrap(),
    ));
    registry
        .insert(
            TenantConfig::new("acme", idp_a.entity_id(), vec![idp_a.certificate().clone()])
                .sso_url("https://idp-a.example.com/sso")
                .email_domains(["acme.example"])
                .enforce_sso(true),
        )
        .unwrap();
    registry
        .insert(
            TenantConfig::new(
                "globex",
                idp_b.entity_id(),
                vec![idp_b.certificate().clone()],
            )
            .sso_url("https://idp-b.example.com/sso")
            .email_domains(["globex.example"])
            .jit(jit_b),
        )
        .unwrap();
    let users = Arc::new(Users::default());
    let sink = Arc::new(Sink::default());
    let acs = Acs::new(
        registry.clone(),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        UserDb(users.clone()),
    )
    .with_audit_sink(sink.clone());
    World {
        idp_a,
        idp_b,
        registry,
        users,
        sink,
        acs,
    }
}

fn login(
    w: &World,
    slug: &str,
    idp: &TestIdp,
    user: TestUser,
    post_to: &str,
) -> Result<LoginSuccess<SamlIdentity>, saml_sp::Error> {
    let start = block_on(w.acs.start_login(slug, Some("/projects/42"), browser())).unwrap();
    let response = idp
        .response(SP_ID, &acs_url(slug))
        .in_response_to(start.request_id.clone())
        .user(user)
        .build_base64(chrono::Utc::now())
        .unwrap();
    block_on(w.acs.finish_login(
        post_to,
        &response,
        Some(&start.relay_state),
        Some(browser()),
        &AuditContext::new().with("ip", "203.0.113.7"),
    ))
}

#[test]
fn sp_initiated_login_end_to_end_with_jit() {
    let w = world(true);
    let done = login(
        &w,
        "acme",
        &w.idp_a,
        TestUser::new("ada@acme.example")
            .name("Ada", "Lovelace")
            .groups(["eng", "admins"]),
        "acme",
    )
    .unwrap();
    assert_eq!(done.tenant, "acme");
    assert_eq!(done.return_to, "/projects/42");
    assert_eq!(done.identity.email, "ada@acme.example");
    assert_eq!(done.identity.first_name, "Ada");
    assert_eq!(done.identity.last_name, "Lovelace");
    assert_eq!(done.identity.display_name, "Ada Lovelace");
    assert_eq!(done.identity.groups, ["eng", "admins"]);
    // Every attribute reaches the app, looked up by its Name.
    assert_eq!(done.identity.attributes.values("FirstName"), ["Ada"]);
    assert_eq!(done.identity.attributes.values("groups"), ["eng", "admins"]);
    let names: Vec<&str> = done.identity.attributes.iter().map(|a| a.name()).collect();
    assert!(
        names.contains(&"LastName") && names.contains(&"email"),
        "{names:?}"
    );
    assert!(
        w.users
            .users
            .lock()
            .unwrap()
            .contains_key(&("acme".to_owned(), "ada@acme.example".to_owned()))
    );
}

#[test]
fn start_login_redirects_with_an_opaque_relay_state_and_a_stored_record() {
    let w = world(true);
    let start = block_on(
        w.acs
            .start_login("acme", Some("https://evil.example.com/"), browser()),
    )
    .unwrap();
    assert!(
        start
            .redirect_url()
            .unwrap()
            .starts_with("https://idp-a.example.com/sso?SAMLRequest=")
    );
    assert_eq!(start.relay_state.len(), 32);
    let msg = saml_sp::binding::decode_redirect(start.redirect_url().unwrap(), &Default::default())
        .unwrap();
    assert_eq!(msg.relay_state.as_deref(), Some(start.relay_state.as_str()));
    let doc = Document::parse(&msg.xml).unwrap();
    assert_eq!(
        doc.root().attribute("AssertionConsumerServiceURL"),
        Some(acs_url("acme").as_str())
    );
    // An absolute return path is never kept: the login lands on "/".
    let response = w
        .idp_a
        .response(SP_ID, &acs_url("acme"))
        .in_response_to(start.request_id)
        .user(TestUser::new("ada@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let done = block_on(w.acs.finish_login(
        "acme",
        &response,
        Some(&start.relay_state),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap();
    assert_eq!(done.return_to, "/");
}

#[test]
fn overlapping_domains_and_issuers_are_refused_at_config_time() {
    let w = world(true);
    let idp_c = TestIdp::fixed("https://idp-c.example.com/metadata");
    let e = w
        .registry
        .insert(
            TenantConfig::new(
                "initech",
                idp_c.entity_id(),
                vec![idp_c.certificate().clone()],
            )
            .email_domains(["ACME.example"]),
        )
        .unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    assert!(
        e.to_string().contains("email_domains") && e.to_string().contains("acme"),
        "{e}"
    );
    let e = w
        .registry
        .insert(TenantConfig::new(
            "initech",
            w.idp_a.entity_id(),
            vec![w.idp_a.certificate().clone()],
        ))
        .unwrap_err();
    assert!(e.to_string().contains("idp_entity_id"), "{e}");
    let e = w
        .registry
        .insert(TenantConfig::new(
            "acme",
            idp_c.entity_id(),
            vec![idp_c.certificate().clone()],
        ))
        .unwrap_err();
    assert!(e.to_string().contains("slug"), "{e}");
    let e = w
        .registry
        .insert(TenantConfig::new(
            "Bad Slug",
            idp_c.entity_id(),
            vec![idp_c.certificate().clone()],
        ))
        .unwrap_err();
    assert!(e.to_string().contains("slug"), "{e}");
    let e = w
        .registry
        .insert(
            TenantConfig::new(
                "initech",
                idp_c.entity_id(),
                vec![idp_c.certificate().clone()],
            )
            .sso_url("javascript:alert(1)"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("sso_url"), "{e}");
    assert_eq!(w.registry.len(), 2, "failed inserts change nothing");
}

#[test]
fn response_from_tenant_a_posted_to_tenant_b_is_refused() {
    let w = world(true);
    // A genuine login for acme, delivered to globex's ACS path.
    let e = login(
        &w,
        "acme",
        &w.idp_a,
        TestUser::new("ada@acme.example"),
        "globex",
    )
    .unwrap_err();
    assert!(
        matches!(
            e.code(),
            "issuer_mismatch"
                | "destination_mismatch"
                | "untrusted_key"
                | "recipient_mismatch"
                | "unknown_in_response_to"
        ),
        "{e}"
    );
    // Even a response naming globex's ACS but signed by acme's IdP is refused there.
    let start = block_on(w.acs.start_login("globex", None, browser())).unwrap();
    let forged = w
        .idp_a
        .response(SP_ID, &acs_url("globex"))
        .in_response_to(start.request_id)
        .user(TestUser::new("bob@globex.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let e = block_on(w.acs.finish_login(
        "globex",
        &forged,
        Some(&start.relay_state),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "issuer_mismatch");
}

#[test]
fn asserted_email_outside_the_tenants_domains_is_refused() {
    let w = world(true);
    let e = login(
        &w,
        "acme",
        &w.idp_a,
        TestUser::new("ceo@globex.example"),
        "acme",
    )
    .unwrap_err();
    assert_eq!(e.code(), "email_domain_not_allowed");
}

#[test]
fn discovery_and_enforcement_by_domain() {
    let w = world(true);
    assert_eq!(
        w.registry.discover("someone@Acme.Example").unwrap().slug(),
        "acme"
    );
    assert_eq!(
        w.registry.discover("x@globex.example").unwrap().slug(),
        "globex"
    );
    assert!(w.registry.discover("x@unknown.example").is_none());
    assert!(w.registry.sso_enforced_for("ACME.example"));
    assert!(!w.registry.sso_enforced_for("globex.example"));
    let start = block_on(
        w.acs
            .start_login_for_email("ada@acme.example", None, browser()),
    )
    .unwrap();
    assert_eq!(start.tenant, "acme");
    assert_eq!(
        block_on(
            w.acs
                .start_login_for_email("ada@nowhere.example", None, browser())
        )
        .unwrap_err()
        .code(),
        "unknown_tenant"
    );
    assert_eq!(
        w.registry.by_issuer(w.idp_b.entity_id()).unwrap().slug(),
        "globex"
    );
}

#[test]
fn disable_then_reenable() {
    let w = world(true);
    w.registry.set_enabled("acme", false).unwrap();
    assert_eq!(
        block_on(w.acs.start_login("acme", None, browser()))
            .unwrap_err()
            .code(),
        "idp_disabled"
    );
    let response = w
        .idp_a
        .response(SP_ID, &acs_url("acme"))
        .user(TestUser::new("a@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    assert_eq!(
        block_on(w.acs.finish_login(
            "acme",
            &response,
            None,
            Some(browser()),
            &AuditContext::new()
        ))
        .unwrap_err()
        .code(),
        "idp_disabled"
    );
    assert!(w.registry.discover("a@acme.example").is_none());
    assert!(!w.registry.sso_enforced_for("acme.example"));
    w.registry.set_enabled("acme", true).unwrap();
    login(
        &w,
        "acme",
        &w.idp_a,
        TestUser::new("ada@acme.example"),
        "acme",
    )
    .unwrap();
    w.registry.remove("acme").unwrap();
    assert_eq!(
        block_on(w.acs.start_login("acme", None, browser()))
            .unwrap_err()
            .code(),
        "unknown_tenant"
    );
}

#[test]
fn jit_off_requires_an_existing_user() {
    let w = world(false);
    let e = login(
        &w,
        "globex",
        &w.idp_b,
        TestUser::new("bob@globex.example"),
        "globex",
    )
    .unwrap_err();
    assert_eq!(e.code(), "user_not_provisioned");
    // Once the app created the user, the same login works.
    let id = SamlIdentity::clone(
        &saml_sp::login::AttributeMapping::default()
            .identity(&{
                let idp = TestIdp::fixed("https://idp-b.example.com/metadata");
                let sp = saml_sp::ServiceProvider::builder(
                    SP_ID,
                    acs_url("globex"),
                    saml_sp::IdentityProvider::new(
                        idp.entity_id(),
                        vec![idp.certificate().clone()],
                    )
                    .unwrap(),
                )
                .dangerous(
                    saml_sp::sp::DangerousOptions::default()
                        .dangerous_allow_unsolicited_responses(),
                )
                .build()
                .unwrap();
                let xml = idp
                    .response(SP_ID, &acs_url("globex"))
                    .user(TestUser::new("bob@globex.example"))
                    .build(chrono::Utc::now())
                    .unwrap();
                sp.validate_response(xml.as_bytes(), None, chrono::Utc::now())
                    .unwrap()
            })
            .unwrap(),
    );
    w.users
        .users
        .lock()
        .unwrap()
        .insert(("globex".into(), "bob@globex.example".into()), id);
    let done = login(
        &w,
        "globex",
        &w.idp_b,
        TestUser::new("bob@globex.example"),
        "globex",
    )
    .unwrap();
    assert_eq!(done.user.email, "bob@globex.example");
}

#[test]
fn unsolicited_only_when_the_tenant_allows_it_and_replays_are_refused() {
    let w = world(true);
    let response = w
        .idp_a
        .response(SP_ID, &acs_url("acme"))
        .user(TestUser::new("ada@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let e = block_on(w.acs.finish_login(
        "acme",
        &response,
        Some("/welcome"),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "unsolicited_response");
    let current = w.registry.by_slug("acme").unwrap();
    w.registry
        .replace(
            TenantConfig::new(
                "acme",
                current.idp_entity_id(),
                vec![w.idp_a.certificate().clone()],
            )
            .sso_url("https://idp-a.example.com/sso")
            .email_domains(["acme.example"])
            .dangerous(
                saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses(),
            ),
        )
        .unwrap();
    let done = block_on(w.acs.finish_login(
        "acme",
        &response,
        Some("/welcome"),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap();
    assert_eq!(done.return_to, "/welcome");
    let e = block_on(w.acs.finish_login(
        "acme",
        &response,
        Some("/welcome"),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), "replayed_assertion");
    // An IdP-initiated RelayState that is not a local path never becomes the redirect.
    let r2 = w
        .idp_a
        .response(SP_ID, &acs_url("acme"))
        .user(TestUser::new("ada@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let done = block_on(w.acs.finish_login(
        "acme",
        &r2,
        Some("//evil.example.com"),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap();
    assert_eq!(done.return_to, "/");
}

#[test]
fn every_alias_maps_and_missing_names_are_unknown() {
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let sp = saml_sp::ServiceProvider::builder(
        SP_ID,
        "https://app.example.com/acs",
        saml_sp::IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
    )
    .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses())
    .build()
    .unwrap();
    let now = chrono::Utc::now();
    let m = AttributeMapping::default();
    // Entra-style claim URIs.
    let xml = idp
        .response(SP_ID, "https://app.example.com/acs")
        .style(AttributeStyle::Entra)
        .user(
            TestUser::new("ada@example.com")
                .name("Ada", "Lovelace")
                .groups(["g1", "g2"]),
        )
        .build(now)
        .unwrap();
    let id = m
        .identity(&sp.validate_response(xml.as_bytes(), None, now).unwrap())
        .unwrap();
    assert_eq!(
        (id.first_name.as_str(), id.last_name.as_str()),
        ("Ada", "Lovelace")
    );
    assert_eq!(id.groups, ["g1", "g2"]);
    // No names: "Unknown"; display name falls back to the email.
    let xml = idp
        .response(SP_ID, "https://app.example.com/acs")
        .user(TestUser::new("x@example.com"))
        .build(now)
        .unwrap();
    let id = m
        .identity(&sp.validate_response(xml.as_bytes(), None, now).unwrap())
        .unwrap();
    assert_eq!(
        (id.first_name.as_str(), id.last_name.as_str()),
        ("Unknown", "Unknown")
    );
    assert_eq!(id.display_name, "x@example.com");
    // Every listed alias, one at a time, through a hand-built assertion.
    for (field, aliases) in [
        ("first", &m.first_name),
        ("last", &m.last_name),
        ("groups", &m.groups),
        ("email", &m.email),
    ] {
        for alias in aliases {
            let a = alias_assertion(alias, "V@Example.com", field != "email");
            let id = m.identity(&a).unwrap_or_else(|e| panic!("{alias}: {e}"));
            match field {
                "first" => assert_eq!(id.first_name, "V@Example.com", "{alias}"),
                "last" => assert_eq!(id.last_name, "V@Example.com", "{alias}"),
                "groups" => assert_eq!(id.groups, ["V@Example.com"], "{alias}"),
                _ => assert_eq!(id.email, "V@Example.com", "{alias}: never normalized"),
            }
        }
    }
    assert_eq!(
        saml_sp::login::email_domain("V@Example.COM").as_deref(),
        Some("example.com")
    );
}

/// A validated assertion with a non-email NameID and one attribute.
fn alias_assertion(
    name: &str,
    value: &str,
    keep_fallback_email: bool,
) -> saml_sp::VerifiedAssertion {
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let sp = saml_sp::ServiceProvider::builder(
        SP_ID,
        "https://app.example.com/acs",
        saml_sp::IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
    )
    .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses())
    .build()
    .unwrap();
    let now = chrono::Utc::now();
    let xml = idp
        .response(SP_ID, "https://app.example.com/acs")
        .user(TestUser::new("fallback@example.com"))
        .sign(saml_sp::testkit::SignShape::Unsigned)
        .build(now)
        .unwrap();
    // Replace the attribute statement and NameID format, then sign the Response.
    let start = xml.find("<saml2:AttributeStatement>").unwrap();
    let end =
        xml.find("</saml2:AttributeStatement>").unwrap() + "</saml2:AttributeStatement>".len();
    let stmt = format!(
        "<saml2:AttributeStatement><saml2:Attribute Name=\"{}\"><saml2:AttributeValue>{value}</saml2:AttributeValue></saml2:Attribute><saml2:Attribute Name=\"email\"><saml2:AttributeValue>fallback@example.com</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>",
        saml_sp::xml::escape_attr(name)
    );
    let xml = format!("{}{stmt}{}", &xml[..start], &xml[end..])
        .replace("nameid-format:emailAddress", "nameid-format:persistent");
    let xml = if !keep_fallback_email || name == "email" {
        xml.replace("<saml2:Attribute Name=\"email\"><saml2:AttributeValue>fallback@example.com</saml2:AttributeValue></saml2:Attribute>", "")
    } else {
        xml
    };
    let rid = xml
        .split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let key = saml_sp::crypto::SigningKey::from_pem(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/testkit/test-idp.key"
        ))
        .unwrap(),
        None,
    )
    .unwrap();
    let signed = saml_sp::dsig::sign_enveloped(
        &xml,
        &rid,
        &key,
        saml_sp::crypto::SignatureAlgorithm::RsaSha256,
    )
    .unwrap();
    sp.validate_response(signed.as_bytes(), None, now).unwrap()
}

#[test]
fn audit_events_for_success_and_failure_with_fields_and_no_xml() {
    let w = world(true);
    login(
        &w,
        "acme",
        &w.idp_a,
        TestUser::new("ada@acme.example"),
        "acme",
    )
    .unwrap();
    login(
        &w,
        "acme",
        &w.idp_a,
        TestUser::new("ceo@globex.example"),
        "acme",
    )
    .unwrap_err();
    let events = w.sink.0.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    let ok = &events[0];
    assert_eq!(ok.outcome, Outcome::Success);
    assert_eq!(ok.tenant.as_deref(), Some("acme"));
    assert_eq!(ok.issuer.as_deref(), Some(w.idp_a.entity_id()));
    assert_eq!(ok.name_id.as_deref(), Some("ada@acme.example"));
    assert!(ok.request_id.as_deref().unwrap().starts_with('_'));
    assert!(ok.assertion_id.as_deref().unwrap().starts_with("_a"));
    assert_eq!(
        ok.context.fields,
        [("ip".to_owned(), "203.0.113.7".to_owned())]
    );
    let bad = &events[1];
    assert_eq!(bad.outcome, Outcome::Failure);
    assert_eq!(bad.error_code, Some("email_domain_not_allowed"));
    assert!(!format!("{bad:?}").contains('<'), "no XML in audit events");
}

#[test]
fn certificate_rotation_under_100_concurrent_validations() {
    let old = TestIdp::fixed("https://idp-rot.example.com/metadata");
    // The "other" key of the test kit plays the new certificate.
    let new_cert = Certificate::parse(include_bytes!("../../src/testkit/other.crt")).unwrap();
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP_ID, ACS_TEMPLATE).unwrap(),
    ));
    registry
        .insert(TenantConfig::new(
            "rot",
            old.entity_id(),
            vec![old.certificate().clone()],
        ))
        .unwrap();
    let now = chrono::Utc::now();
    let good = old
        .response(SP_ID, &acs_url("rot"))
        .in_response_to("_r")
        .build(now)
        .unwrap();
    let by_new_key = old
        .response(SP_ID, &acs_url("rot"))
        .in_response_to("_r")
        .defect(saml_sp::testkit::Defect::WrongKey)
        .build(now)
        .unwrap();
    let phase = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let (registry, good, by_new_key, phase) = (
                registry.clone(),
                good.clone(),
                by_new_key.clone(),
                phase.clone(),
            );
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let t = registry.by_slug("rot").unwrap();
                    let p = phase.load(std::sync::atomic::Ordering::SeqCst);
                    let trusts_old = t
                        .service_provider()
                        .idp()
                        .certificates()
                        .iter()
                        .any(|c| c.subject().contains("idp.example.com"));
                    let r_old =
                        t.service_provider()
                            .validate_response(good.as_bytes(), Some("_r"), now);
                    let r_new = t.service_provider().validate_response(
                        by_new_key.as_bytes(),
                        Some("_r"),
                        now,
                    );
                    // The snapshot decides: never a spurious failure, never acceptance by a key it does not hold.
                    assert_eq!(r_old.is_ok(), trusts_old, "thread {i} phase {p}: {r_old:?}");
                    let trusts_new = t
                        .service_provider()
                        .idp()
                        .certificates()
                        .iter()
                        .any(|c| c.subject().contains("attacker"));
                    assert_eq!(r_new.is_ok(), trusts_new, "thread {i} phase {p}");
                }
            })
        })
        .collect();
    // Phase 1: old + new (rollover); phase 2: new only.
    phase.store(1, std::sync::atomic::Ordering::SeqCst);
    registry
        .replace(TenantConfig::new(
            "rot",
            old.entity_id(),
            vec![old.certificate().clone(), new_cert.clone()],
        ))
        .unwrap();
    phase.store(2, std::sync::atomic::Ordering::SeqCst);
    registry
        .replace(TenantConfig::new("rot", old.entity_id(), vec![new_cert]))
        .unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let t = registry.by_slug("rot").unwrap();
    assert_eq!(
        t.service_provider()
            .validate_response(good.as_bytes(), Some("_r"), now)
            .unwrap_err()
            .code(),
        "untrusted_key"
    );
    t.service_provider()
        .validate_response(by_new_key.as_bytes(), Some("_r"), now)
        .unwrap();
}

#[cfg(feature = "serde")]
#[test]
fn tenants_load_from_toml_and_json_with_field_errors() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/testkit/test-idp.crt"
    ))
    .unwrap();
    let toml_text = format!(
        "slug = \"acme\"\nidp_entity_id = \"https://idp.example.com\"\nsso_url = \"https://idp.example.com/sso\"\ncertificates = [{pem:?}]\nemail_domains = [\"acme.example\"]\nrequire_signed = \"assertion\"\njit = false\n[attribute_mapping]\nfirst_name = [\"given\"]\n"
    );
    let s: saml_sp::tenant::TenantSettings = toml::from_str(&toml_text).unwrap();
    let registry = IdpRegistry::new(SpSettings::new(SP_ID, ACS_TEMPLATE).unwrap());
    registry.insert(s.into_config().unwrap()).unwrap();
    let t = registry.by_slug("acme").unwrap();
    assert!(!t.jit());
    assert_eq!(t.attribute_mapping().first_name, ["given"]);
    assert_eq!(
        t.service_provider().signature_policy(),
        saml_sp::SignaturePolicy::Assertion
    );
    let bad: saml_sp::tenant::TenantSettings =
        serde_json::from_str(r#"{"slug":"x","idp_entity_id":"i","certificates":["not a cert"]}"#)
            .unwrap();
    let e = bad.into_config().unwrap_err();
    assert!(e.to_string().contains("certificates"), "{e}");
    let bad: saml_sp::tenant::TenantSettings =
        serde_json::from_str(&format!(r#"{{"slug":"x","idp_entity_id":"i","certificates":[{pem:?}],"require_signed":"sometimes"}}"#)).unwrap();
    assert!(
        bad.into_config()
            .unwrap_err()
            .to_string()
            .contains("require_signed")
    );
    assert!(
        serde_json::from_str::<saml_sp::tenant::TenantSettings>(
            r#"{"slug":"x","idp_entity_id":"i","certificates":[],"typo":1}"#
        )
        .is_err()
    );
    // A preset, a POST-only IdP and the tenant's own SP identity, from TOML.
    let toml_text = format!(
        "slug = \"globex\"\nidp_entity_id = \"https://sts.windows.net/t/\"\nsso_url = \"https://login.example.com/saml2\"\nsso_binding = \"post\"\ncertificates = [{pem:?}]\npreset = \"entra-id\"\nsp_entity_id = \"urn:app:globex\"\nacs_url = \"https://globex.app.example.com/acs\"\n"
    );
    let s: saml_sp::tenant::TenantSettings = toml::from_str(&toml_text).unwrap();
    registry.insert(s.into_config().unwrap()).unwrap();
    let t = registry.by_slug("globex").unwrap();
    assert_eq!(t.preset(), Some(saml_sp::tenant::IdpPreset::EntraId));
    assert_eq!(t.requested_name_id_format(), None);
    assert_eq!(t.sso_binding(), saml_sp::binding::SsoBinding::Post);
    assert_eq!(t.sp_entity_id(), "urn:app:globex");
    assert_eq!(t.acs_url(), "https://globex.app.example.com/acs");
    assert_eq!(
        t.attribute_mapping().first_name[0],
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
    );
    let bad: saml_sp::tenant::TenantSettings = serde_json::from_str(&format!(
        r#"{{"slug":"y","idp_entity_id":"j","certificates":[{pem:?}],"preset":"okt"}}"#
    ))
    .unwrap();
    let e = bad.into_config().unwrap_err();
    assert!(
        e.to_string().contains("preset") && e.to_string().contains("\"okta\""),
        "{e}"
    );
}

#[test]
fn an_idp_offering_only_http_post_gets_the_request_by_auto_submitting_form() {
    // Google Workspace's metadata (interop corpus) lists only HTTP-POST SSO endpoints.
    let xml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/interop/metadata/google-idp-metadata.xml"
    ))
    .unwrap();
    let md = saml_sp::metadata::IdpMetadata::parse(&xml, None).unwrap();
    let w = world(true);
    w.registry
        .insert(
            TenantConfig::from_preset("initech", saml_sp::tenant::IdpPreset::GoogleWorkspace)
                .with_idp_metadata(&md),
        )
        .unwrap();
    let tenant = w.registry.by_slug("initech").unwrap();
    assert_eq!(tenant.sso_binding(), saml_sp::binding::SsoBinding::Post);
    let sso = "https://accounts.google.com/o/saml2/idp?idpid=C02dfl1r1";
    assert_eq!(tenant.sso_url(), Some(sso));

    // The metadata's validUntil is 2021-01-03: start the login before it (afterwards the tenant
    // refuses with metadata_expired, checked below).
    let when = saml_sp::time::parse_instant("2020-12-01T00:00:00Z", "t").unwrap();
    let acs = w.acs.with_clock(Arc::new(saml_sp::time::FixedClock(when)));
    let start = block_on(acs.start_login("initech", Some("/reports"), browser())).unwrap();
    assert_eq!(start.redirect_url(), None);
    let saml_sp::binding::Navigation::Post(page) = &start.navigation else {
        panic!("expected the POST binding, got {:?}", start.navigation);
    };
    assert!(
        page.html
            .contains(&format!("action=\"{}\"", sso.replace('&', "&amp;")))
    );
    assert!(page.html.contains(&format!(
        "name=\"RelayState\" value=\"{}\"",
        start.relay_state
    )));
    assert!(page.content_security_policy.contains("script-src 'nonce-"));
    // The form carries the AuthnRequest: its ID is the one remembered, its Destination the SSO URL.
    let b64 = page
        .html
        .split("name=\"SAMLRequest\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let request = saml_sp::binding::decode_post(b64, &Default::default()).unwrap();
    let doc = Document::parse(&request).unwrap();
    assert_eq!(doc.root().attribute("ID"), Some(start.request_id.as_str()));
    assert_eq!(doc.root().attribute("Destination"), Some(sso));
    // The Google preset asks for an email NameID.
    assert!(
        String::from_utf8_lossy(&request)
            .contains("Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\"")
    );
    let late = saml_sp::time::parse_instant("2021-01-03T16:17:49Z", "t").unwrap();
    let acs = acs.with_clock(Arc::new(saml_sp::time::FixedClock(late)));
    let e = block_on(acs.start_login("initech", None, browser())).unwrap_err();
    assert_eq!(e.code(), "metadata_expired", "{e}");
}

#[test]
fn many_group_values_are_de_duplicated_in_document_order() {
    // 20,000 group values, each name three times: the identity keeps each once, first
    // occurrence first (a hash set, not a comparison with every kept group).
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let sp = saml_sp::ServiceProvider::builder(
        SP_ID,
        "https://app.example.com/acs",
        saml_sp::IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
    )
    .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses())
    .limits(saml_sp::xml::Limits::default().with_max_input_bytes(2 << 20))
    .build()
    .unwrap();
    let now = chrono::Utc::now();
    let distinct = 6_667;
    let values: Vec<String> = (0..20_000)
        .map(|i| format!("g{:05}", (i * 7) % distinct))
        .collect();
    let xml = idp
        .response(SP_ID, "https://app.example.com/acs")
        .user(TestUser::new("ada@example.com").groups(values.clone()))
        .build(now)
        .unwrap();
    let id = AttributeMapping::default()
        .identity(&sp.validate_response(xml.as_bytes(), None, now).unwrap())
        .unwrap();
    let mut expected: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for v in &values {
        if seen.insert(v.clone()) {
            expected.push(v.clone());
        }
    }
    assert_eq!(expected.len(), distinct);
    assert_eq!(id.groups, expected);
    assert_eq!(id.attributes.values("groups").len(), 20_000);
}

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}

/// Issue 34, item 2: a duplicate issuer or email domain names the tenant that holds it, in 100 of
/// 100 runs (the look-up was rebuilt from a `HashMap`, whose order varies by run and by map).
#[test]
fn duplicate_issuer_and_domain_name_the_holder_every_time() {
    for run in 0..100 {
        let registry = IdpRegistry::new(
            SpSettings::new(
                "https://app.example.com/saml/metadata",
                "https://app.example.com/saml/{tenant}/acs",
            )
            .unwrap(),
        );
        let cert = saml_sp::testkit::TestIdp::fixed("x").certificate().clone();
        // Other tenants around, so the map has several orders to take.
        for i in 0..5 {
            registry
                .insert(
                    TenantConfig::new(
                        format!("t{i}-{run}"),
                        format!("https://idp{i}.example"),
                        vec![cert.clone()],
                    )
                    .email_domains([format!("d{i}.example")]),
                )
                .unwrap();
        }
        registry
            .insert(
                TenantConfig::new("org-a", "https://idp.a.example", vec![cert.clone()])
                    .email_domains(["a.example"]),
            )
            .unwrap();
        for newcomer in ["org-b", "aaa", "zzz"] {
            let e = registry
                .insert(TenantConfig::new(
                    newcomer,
                    "https://idp.a.example",
                    vec![cert.clone()],
                ))
                .unwrap_err();
            assert!(
                e.to_string()
                    .contains("already the IdP of tenant \"org-a\""),
                "run {run}, {newcomer}: {e}"
            );
            let e = registry
                .insert(
                    TenantConfig::new(newcomer, "https://idp.new.example", vec![cert.clone()])
                        .email_domains(["a.example"]),
                )
                .unwrap_err();
            assert!(
                e.to_string().contains("belongs to tenant \"org-a\""),
                "run {run}, {newcomer}: {e}"
            );
        }
    }
}

/// Issue 34, item 3: every configured URL is checked when the configuration is built: a host,
/// no user-info, no fragment, http(s).
#[test]
fn configured_urls_need_a_host_and_no_user_info_or_fragment() {
    let cert = saml_sp::testkit::TestIdp::fixed("x").certificate().clone();
    for bad in [
        "https://",
        "https:///sso",
        "https://:443/sso",
        "https://user:pw@idp.example/sso",
        "https://idp.example/sso#frag",
        "ftp://idp.example/sso",
        "https://idp.example/s so",
    ] {
        let registry = IdpRegistry::new(
            SpSettings::new("https://app.example.com/m", "https://app.example.com/acs").unwrap(),
        );
        for (field, config) in [
            (
                "sso_url",
                TenantConfig::new("t", "https://idp", vec![cert.clone()]).sso_url(bad),
            ),
            (
                "slo_url",
                TenantConfig::new("t", "https://idp", vec![cert.clone()]).slo_url(bad),
            ),
            (
                "acs_url",
                TenantConfig::new("t", "https://idp", vec![cert.clone()]).acs_url(bad),
            ),
        ] {
            let e = registry.insert(config).unwrap_err();
            assert_eq!(e.code(), "config_invalid", "{field} {bad}");
            assert!(e.to_string().contains(field), "{field} {bad}: {e}");
        }
        assert!(
            SpSettings::new("https://app.example.com/m", bad).is_err(),
            "{bad}"
        );
    }
    for good in [
        "https://idp.example/sso",
        "http://127.0.0.1:8080/test-idp/sso",
        "https://[2001:db8::1]:8443/sso?x=1",
        "https://app.example.com/saml/{tenant}/acs",
    ] {
        assert!(
            SpSettings::new("https://app.example.com/m", good).is_ok(),
            "{good}"
        );
    }
}

/// Issue 34, item 1 (security): an app rebuilds its registry from stored configurations at
/// start, and one tenant's metadata has passed its `validUntil`. The tenant is not dropped: its
/// enforced domain stays enforced (the password-login check still refuses it), its logins are
/// refused with `tenant_unavailable` (by route and by email), its domain cannot be claimed by
/// another tenant, the load reports the failure, and fresh metadata recovers it.
#[test]
fn registry_load_keeps_a_tenant_with_expired_metadata_failed_and_its_domain_enforced() {
    use saml_sp::tenant::StoredTenant;
    let idp_a = TestIdp::fixed("https://idp-a.example.com/metadata");
    let idp_b = TestIdp::fixed("https://idp-b.example.com/metadata");
    let now = chrono::Utc::now();
    let metadata = |idp: &TestIdp, valid_until: chrono::DateTime<chrono::Utc>| {
        let md = idp.metadata_xml("https://idp.example.com/sso").replacen(
            "<md:EntityDescriptor ",
            &format!(
                "<md:EntityDescriptor ID=\"_md1\" validUntil=\"{}\" ",
                saml_sp::time::format_instant(valid_until)
            ),
            1,
        );
        idp.sign(&md, "_md1").unwrap()
    };
    let expired = metadata(&idp_a, now - chrono::Duration::days(1));
    let fresh = metadata(&idp_b, now + chrono::Duration::days(30));
    // The app's stored rows: slug, domains, enforcement, and the IdP metadata it saved.
    let stored = |slug: &str, domain: &str, xml: &str| StoredTenant {
        slug: slug.to_owned(),
        email_domains: vec![domain.to_owned()],
        enforce_sso: true,
        config: TenantConfig::from_idp_metadata(slug, xml.as_bytes(), now)
            .map(|c| c.email_domains([domain]).enforce_sso(true)),
    };
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP_ID, ACS_TEMPLATE).unwrap(),
    ));
    let report = registry.load([
        stored("acme", "acme.example", &expired),
        stored("globex", "globex.example", &fresh),
    ]);
    // The load reports each tenant's outcome.
    assert_eq!(report.len(), 2);
    assert_eq!(report[0].slug, "acme");
    assert_eq!(
        report[0].outcome.as_ref().unwrap_err().code(),
        "metadata_expired"
    );
    assert_eq!(report[1].slug, "globex");
    assert!(report[1].outcome.is_ok());
    // Enforcement holds for the failed tenant's domain (the app's password-login check).
    assert!(registry.sso_enforced_for("acme.example"));
    assert!(registry.sso_enforced_for("ACME.example"));
    assert!(registry.sso_enforced_for("globex.example"));
    assert!(!registry.sso_enforced_for("initech.example"));
    let failed = registry.failed("acme").unwrap();
    assert_eq!(failed.error().code(), "metadata_expired");
    assert_eq!(registry.failures().len(), 1);
    assert!(registry.by_slug("acme").is_none());
    // Its logins are refused with a clear code, by route and by email.
    let acs = Acs::new(
        registry.clone(),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        UserDb(Arc::default()),
    );
    for e in [
        block_on(acs.start_login("acme", None, browser())).unwrap_err(),
        block_on(acs.start_login_for_email("ada@acme.example", None, browser())).unwrap_err(),
        block_on(acs.finish_login("acme", "PHg+", None, Some(browser()), &AuditContext::new()))
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "tenant_unavailable", "{e}");
        assert_eq!(e.kind().http_status(), 503);
        assert!(e.to_string().contains("metadata_expired"), "{e}");
    }
    // Nobody else can take the domain while the tenant is failed.
    let e = registry
        .insert(
            TenantConfig::new(
                "intruder",
                "https://idp-x.example.com",
                vec![idp_b.certificate().clone()],
            )
            .email_domains(["acme.example"]),
        )
        .unwrap_err();
    assert!(e.to_string().contains("\"acme\""), "{e}");
    // Fresh metadata recovers it; only an explicit change lifts enforcement.
    let renewed = metadata(&idp_a, now + chrono::Duration::days(30));
    registry
        .replace(
            TenantConfig::from_idp_metadata("acme", renewed.as_bytes(), now)
                .unwrap()
                .email_domains(["acme.example"])
                .enforce_sso(true),
        )
        .unwrap();
    assert!(registry.failed("acme").is_none());
    assert!(registry.by_slug("acme").is_some());
    assert!(registry.sso_enforced_for("acme.example"));
    block_on(acs.start_login("acme", None, browser())).unwrap();
}

/// Issue 34, item 6: configuration errors come all at once, each with a stable field name (the
/// settings' own) and a sentence an administrator understands; a truncated certificate no longer
/// reads "Parsing Error: NomError(Eof)".
#[cfg(feature = "serde")]
#[test]
fn configuration_problems_come_all_at_once_with_field_names_and_admin_wording() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/testkit/test-idp.crt"
    ))
    .unwrap();
    // A certificate copied only in part: the END line and the last lines are missing.
    let truncated: String = pem.lines().take(8).collect::<Vec<_>>().join("\n");
    // The BEGIN/END lines kept, the middle cut: base64 that is not a whole certificate.
    let lines: Vec<&str> = pem.lines().collect();
    let damaged = format!(
        "{}\n{}\n{}",
        lines[0],
        lines[1..4].join("\n"),
        lines[lines.len() - 1]
    );
    let settings: saml_sp::tenant::TenantSettings = serde_json::from_value(serde_json::json!({
        "slug": "Acme Corp",
        "idp_entity_id": "",
        "sso_url": "https://",
        "certificates": [truncated, damaged, "hello"],
        "email_domains": ["acme", "ok.example"],
        "preset": "okt",
        "require_signed": "sometimes",
    }))
    .unwrap();
    let problems = settings.problems();
    let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
    for field in [
        "slug",
        "idp_entity_id",
        "sso_url",
        "certificates",
        "email_domains",
        "preset",
        "require_signed",
    ] {
        assert!(
            fields.contains(&field),
            "{field} missing from {problems:#?}"
        );
    }
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.field == "certificates")
            .count(),
        3,
        "{problems:#?}"
    );
    for p in &problems {
        assert!(
            !p.message.contains("Nom") && !p.message.contains("Parsing Error"),
            "{p:?}"
        );
        assert!(
            p.message.ends_with('.') || p.message.ends_with(')'),
            "{p:?}"
        );
    }
    let cert = |n: usize| {
        problems
            .iter()
            .filter(|p| p.field == "certificates")
            .nth(n)
            .unwrap()
            .message
            .clone()
    };
    assert!(
        cert(0).starts_with("Certificate 1: ") && cert(0).contains("cut off"),
        "{}",
        cert(0)
    );
    assert!(cert(1).contains("incomplete or damaged"), "{}", cert(1));
    assert!(cert(2).contains("not a certificate"), "{}", cert(2));
    // into_config names the first field and carries every problem in its text.
    let e = settings.into_config().unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    for field in fields {
        assert!(e.to_string().contains(field), "{e}");
    }
    // A valid configuration has no problems.
    let ok: saml_sp::tenant::TenantSettings = serde_json::from_value(serde_json::json!({
        "slug": "acme", "idp_entity_id": "https://idp", "certificates": [pem],
    }))
    .unwrap();
    assert!(ok.problems().is_empty());
    assert_eq!(ok.into_config().unwrap().slug(), "acme");
}

/// Issue 34, item 3: an IdP endpoint must be https; plain http only on a loopback address (local
/// development) or with the explicit `dangerous_allow_http_endpoints`.
#[test]
fn idp_endpoints_must_be_https_unless_loopback_or_the_dangerous_option() {
    let registry = IdpRegistry::new(SpSettings::new(SP_ID, ACS_TEMPLATE).unwrap());
    let cert = || {
        vec![
            TestIdp::fixed("https://idp.example.com")
                .certificate()
                .clone(),
        ]
    };
    let with =
        |slug: &str, issuer: &str, url: &str| TenantConfig::new(slug, issuer, cert()).sso_url(url);
    let e = registry
        .insert(with(
            "a",
            "https://idp-a.example.com",
            "http://idp.example.com/sso",
        ))
        .unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    assert!(
        e.to_string().contains("sso_url") && e.to_string().contains("https"),
        "{e}"
    );
    let e = registry
        .insert(
            TenantConfig::new("b", "https://idp-b.example.com", cert())
                .slo_url("http://idp.example.com/slo"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("slo_url"), "{e}");
    for (i, local) in [
        "http://localhost:8080/sso",
        "http://127.0.0.1:9000/sso",
        "http://[::1]:9000/sso",
    ]
    .iter()
    .enumerate()
    {
        registry
            .insert(with(
                &format!("local{i}"),
                &format!("https://idp-local{i}.example.com"),
                local,
            ))
            .unwrap();
    }
    registry
        .insert(
            with(
                "c",
                "https://idp-c.example.com",
                "http://idp.example.com/sso",
            )
            .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_http_endpoints()),
        )
        .unwrap();
}
