//! Issue 32: the SP's key lifecycle. Exactly one signing key at every instant, the switch on
//! schedule, decryption with every published key, dates out of order refused; the registry
//! installs the keys of an instant in every tenant (the ACS does it on its own clock), and the
//! profile's admin view and SP metadata show the certificates with their phases.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use saml_sp::login::AuditContext;
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::tenant::{KeyPhase, SpKey, SpKeyRing};
use saml_sp::testkit::{Encryption, TestIdp, TestUser};
use saml_sp::time::FixedClock;
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

use crate::users;
use users::Users;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn key(id: &str, publish: DateTime<Utc>) -> (SpKey, saml_sp::testkit::GeneratedKey) {
    let g = saml_sp::testkit::generate_key(id, t0() - Duration::days(30)).unwrap();
    let k = SpKey::new(id, g.certificate.clone(), publish)
        .signing(g.key.clone())
        .decryption(DecryptionKey::from_pem(&g.key_pem).unwrap())
        .unwrap();
    (k, g)
}

#[test]
fn exactly_one_signing_key_at_every_instant_and_the_switch_on_schedule() {
    let (t0, d) = (t0(), Duration::days);
    let (a, _) = key("old", t0);
    let (b, _) = key("new", t0 + d(10));
    let ring = SpKeyRing::new()
        .key(a.retire_at(t0 + d(30)).remove_at(t0 + d(40)))
        .unwrap()
        .key(b.use_from(t0 + d(30)))
        .unwrap();
    let signer = |t| ring.signing_key(t).map(SpKey::id);
    assert_eq!(signer(t0 - d(1)), None);
    assert_eq!(signer(t0), Some("old"));
    assert_eq!(
        signer(t0 + d(20)),
        Some("old"),
        "published, not yet signing"
    );
    assert_eq!(ring.published(t0 + d(20)).len(), 2);
    assert_eq!(
        ring.decryption_keys(t0 + d(20)).len(),
        2,
        "the next key decrypts at once"
    );
    assert_eq!(signer(t0 + d(30)), Some("new"));
    assert_eq!(
        ring.decryption_keys(t0 + d(35)).len(),
        2,
        "the old key decrypts until removed"
    );
    assert_eq!(ring.published(t0 + d(40)).len(), 1);
    // Sampled every 12 hours over the whole life: never two signers, never none once started.
    let mut t = t0;
    while t < t0 + d(50) {
        assert!(signer(t).is_some(), "a signing key at {t}");
        t += Duration::hours(12);
    }
    assert_eq!(ring.next_change(t0 + d(5)), Some(t0 + d(10)));
    assert_eq!(ring.next_change(t0 + d(40)), None);
    assert_eq!(ring.keys()[0].phase(t0 + d(35)), KeyPhase::Retiring);
    assert_eq!(ring.keys()[1].phase(t0 + d(20)), KeyPhase::Published);
    assert_eq!(ring.keys()[0].phase(t0 + d(40)), KeyPhase::Removed);
}

#[test]
fn dates_out_of_order_repeated_ids_and_foreign_certificates_are_refused() {
    let t0 = t0();
    let (a, _) = key("a", t0);
    let e = SpKeyRing::new()
        .key(a.clone().retire_at(t0 - Duration::days(1)))
        .unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    let e = SpKeyRing::new().key(a.clone()).unwrap().key(a).unwrap_err();
    assert!(e.to_string().contains("two keys"), "{e}");
    let (_, other) = key("b", t0);
    let (_, mine) = key("c", t0);
    let e = SpKey::new("c", mine.certificate.clone(), t0)
        .decryption(
            DecryptionKey::from_pem(&other.key_pem)
                .unwrap()
                .with_certificate(other.certificate.clone())
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "config_invalid");
}

/// The ACS installs the keys due at its own clock's time: an Assertion encrypted to the next key
/// decrypts as soon as that key is published, and to the old key until it is removed.
#[test]
fn the_acs_decrypts_with_every_published_key_on_its_own_clock() {
    let (t0, d) = (t0(), Duration::days);
    let (a, ga) = key("a", t0 - d(1));
    let (b, gb) = key("b", t0 + d(10));
    let ring = SpKeyRing::new()
        .key(a.retire_at(t0 + d(20)).remove_at(t0 + d(30)))
        .unwrap()
        .key(b.use_from(t0 + d(20)))
        .unwrap();
    let sp = "https://app.example.com/saml/metadata";
    let acs_url = "https://app.example.com/saml/acme/acs";
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(sp, "https://app.example.com/saml/{tenant}/acs")
            .unwrap()
            .key_ring(ring, t0),
    ));
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    registry
        .insert(
            TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso")
                .dangerous(
                    saml_sp::sp::DangerousOptions::default()
                        .dangerous_allow_unsolicited_responses(),
                ),
        )
        .unwrap();
    let login = |at: DateTime<Utc>, to: &saml_sp::crypto::Certificate| {
        let acs = saml_sp::Acs::new(
            registry.clone(),
            Arc::new(MemoryRequestStore::default()),
            Arc::new(MemoryReplayCache::default()),
            Users,
        )
        .with_clock(Arc::new(FixedClock(at)));
        let resp = idp
            .response(sp, acs_url)
            .user(TestUser::new("ada@acme.example"))
            .encrypt_for(to, Encryption::Aes256Gcm)
            .build_base64(at)
            .unwrap();
        block_on(acs.finish_login("acme", &resp, None, None, &AuditContext::new()))
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(login(t0, &ga.certificate), Ok(()));
    // A key the SP does not hold at that instant: refused (the SP holds another: the unwrap fails).
    assert_eq!(
        login(t0, &gb.certificate),
        Err("decryption_failed"),
        "b not yet published"
    );
    assert_eq!(login(t0 + d(10), &gb.certificate), Ok(()));
    assert_eq!(
        login(t0 + d(25), &ga.certificate),
        Ok(()),
        "a retiring still decrypts"
    );
    assert_eq!(
        login(t0 + d(30), &ga.certificate),
        Err("decryption_failed"),
        "a removed"
    );
    assert_eq!(login(t0 + d(30), &gb.certificate), Ok(()));
    // The profile's view of the SP keys at t0 + 30 days: b signs, a is gone.
    let signer = registry
        .by_slug("acme")
        .unwrap()
        .service_provider()
        .signing_key()
        .unwrap()
        .certificate()
        .unwrap()
        .fingerprint_hex();
    assert_eq!(signer, gb.certificate.fingerprint_hex());
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

/// The profile's admin view: the SP's certificates with their phases and the next change, and
/// the SP metadata a customer's administrator downloads lists every published key.
#[test]
fn a_profile_shows_the_sp_certificates_and_the_next_key() {
    struct NoDns;
    impl saml_sp::profile::TxtResolver for NoDns {
        fn txt<'a>(&'a self, _: &'a str) -> saml_sp::profile::TxtFuture<'a> {
            Box::pin(async { Ok(Vec::new()) })
        }
    }
    let (t0, d) = (t0(), Duration::days);
    let (a, ga) = key("a", t0 - d(1));
    let (b, gb) = key("b", t0 + d(10));
    let ring = SpKeyRing::new()
        .key(a.retire_at(t0 + d(20)).remove_at(t0 + d(30)))
        .unwrap()
        .key(b.use_from(t0 + d(20)))
        .unwrap();
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(
            "https://app.example.com/saml/{tenant}",
            "https://app.example.com/saml/{tenant}/acs",
        )
        .unwrap()
        .key_ring(ring, t0),
    ));
    let service = |at| {
        saml_sp::profile::ProfileService::new(
            registry.clone(),
            Arc::new(saml_sp::profile::MemoryProfileStore::default()),
            Arc::new(MemoryRequestStore::default()),
            Arc::new(MemoryReplayCache::default()),
            Arc::new(NoDns),
        )
        .with_clock(Arc::new(FixedClock(at)))
    };
    let s = service(t0 + d(12));
    let keys = s.sp_keys();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0].id.as_str(), keys[0].phase, keys[0].signing),
        ("a", "active", true)
    );
    assert_eq!(keys[0].next.map(|(w, _)| w), Some("retire"));
    assert_eq!(
        (keys[1].id.as_str(), keys[1].phase, keys[1].signing),
        ("b", "published", false)
    );
    assert_eq!(keys[1].next, Some(("start_signing", t0 + d(20))));
    assert_eq!(keys[1].sha256, gb.certificate.fingerprint_hex());
    let p = block_on(s.create("org", "Acme", None, "ann")).unwrap();
    let md = block_on(s.sp_metadata("org", &p.id)).unwrap();
    for g in [&ga, &gb] {
        let b64 = g
            .certificate_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        assert_eq!(md.matches(&b64).count(), 2, "signing and encryption");
    }
    let later = service(t0 + d(31)).sp_keys();
    assert_eq!(later.len(), 1, "a removed");
    assert!(later[0].signing);
}
