//! Issue 32: the SP's own key rollover end to end with samlify as the IdP. Key A signs and
//! decrypts; key B is published ten days later, takes over signing ten days after that; A
//! retires, then is removed. At each step the IdP holds the SP metadata it last read: SP-signed
//! AuthnRequests and LogoutRequests verify at samlify throughout, and its encrypted logins
//! decrypt throughout; reading the metadata at publication is what makes the switch safe (a
//! samlify that never re-read refuses B's signature), and reading it at removal is what keeps
//! encryption working after A is gone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use base64::Engine as _;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use saml_sp::crypto::{Certificate, SignatureAlgorithm, SigningKey};
use saml_sp::login::AuthnRequest;
use saml_sp::tenant::{KeyPhase, SpKey, SpKeyRing};
use saml_sp::time::FixedClock;
use saml_sp::web::{MemorySessions, SamlWeb, WebSettings};
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/");
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";
const IDP: &str = "https://samlify-idp.example.com/metadata";

fn samlify(
    mode: &str,
    metadata: &str,
    input: &str,
    extra: &[&str],
) -> Result<serde_json::Value, String> {
    let path = std::env::temp_dir().join(format!(
        "saml-sp-rollover-{}-{:x}.xml",
        std::process::id(),
        md5ish(metadata)
    ));
    std::fs::write(&path, metadata).unwrap();
    let out = Command::new("node")
        .arg(format!("{DIR}interop_idp/idp.js"))
        .args([
            mode,
            path.to_str().unwrap(),
            &format!("{DIR}fixtures/keys/idp.key"),
            &format!("{DIR}fixtures/keys/idp.crt"),
            input,
        ])
        .args(extra)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn md5ish(s: &str) -> u64 {
    s.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    })
}

fn available() -> bool {
    let ok = std::path::Path::new(&format!("{DIR}interop_idp/node_modules/samlify")).exists();
    if !ok {
        assert!(
            std::env::var_os("SAML_SP_REQUIRE_ORACLES").is_none(),
            "samlify (tests/interop_idp) is required but missing"
        );
        eprintln!("SKIPPED: samlify not installed (run scripts/test)");
    }
    ok
}

/// The SP as it is at `at`: its metadata, and a login and a logout through samlify holding
/// `idp_metadata`. Returns the SP metadata of that instant.
fn step(registry: &Arc<IdpRegistry>, at: DateTime<Utc>, idp_metadata: &str) -> Result<(), String> {
    let sp = registry.by_slug("acme").unwrap().service_provider().clone();
    let key = sp
        .signing_key()
        .expect("a signing key at every instant")
        .clone();
    // A signed AuthnRequest: samlify verifies it against the metadata it holds, then encrypts
    // its Assertion to the first encryption certificate there.
    let req = AuthnRequest::new(SP, ACS)
        .destination("https://samlify-idp.example.com/sso")
        .build(at)
        .unwrap();
    // HTTP-POST (an enveloped signature): samlify checks it against every signing certificate
    // in the metadata (its Redirect-binding check reads only one).
    let signed = req.signed_xml(&key, SignatureAlgorithm::RsaSha256).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(signed);
    let v = samlify(
        "post",
        idp_metadata,
        &b64,
        &["signed", "http://www.w3.org/2009/xmlenc11#aes128-gcm"],
    )?;
    let xml = sp.decode_post(v["SAMLResponse"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&xml).contains("EncryptedAssertion"));
    let a = sp
        .validate_response(&xml, Some(req.id()), Utc::now())
        .map_err(|e| format!("the SP refused samlify's Response: {}: {e}", e.code()))?;
    assert_eq!(a.name_id().unwrap().value, "ada@example.com");
    // A signed LogoutRequest for that session: samlify verifies it too.
    let session = saml_sp::logout::SessionRecord::from_assertion(&a).unwrap();
    let logout = sp.logout_request(&session, at).unwrap();
    let signed = logout.signed_xml(&key).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(signed);
    let v = samlify("logout", idp_metadata, &b64, &[])?;
    assert_eq!(v["nameId"], "ada@example.com");
    Ok(())
}

#[test]
fn sp_key_rollover_with_samlify_publish_switch_retire_remove() {
    if !available() {
        return;
    }
    let t0 = Utc::now();
    let d = Duration::days;
    let a_cert =
        Certificate::parse(&std::fs::read(format!("{DIR}fixtures/keys/sp.crt")).unwrap()).unwrap();
    let a_pem = std::fs::read_to_string(format!("{DIR}fixtures/keys/sp.key")).unwrap();
    let a = SpKey::new("a", a_cert.clone(), t0 - d(10))
        .signing(SigningKey::from_pem(&a_pem, Some(a_cert)).unwrap())
        .decryption(DecryptionKey::from_pem(&a_pem).unwrap())
        .unwrap()
        .retire_at(t0 + d(20))
        .remove_at(t0 + d(30));
    let b_gen = saml_sp::testkit::generate_key("sp-next", t0).unwrap();
    let b = SpKey::new("b", b_gen.certificate.clone(), t0 + d(10))
        .signing(b_gen.key.clone())
        .decryption(DecryptionKey::from_pem(&b_gen.key_pem).unwrap())
        .unwrap()
        .use_from(t0 + d(20));
    let ring = SpKeyRing::new().key(a).unwrap().key(b).unwrap();
    let schedule = ring.schedule();
    assert_eq!(
        schedule.iter().map(|e| e.what).collect::<Vec<_>>(),
        ["publish", "publish", "start_signing", "retire", "remove"]
    );
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(SP, ACS)
            .unwrap()
            .single_logout_url("https://sp.example.com/saml/slo")
            .key_ring(ring, t0),
    ));
    let idp_certs =
        Certificate::parse_all(&std::fs::read(format!("{DIR}fixtures/keys/idp.crt")).unwrap())
            .unwrap();
    registry
        .insert(
            TenantConfig::new("acme", IDP, idp_certs)
                .sso_url("https://samlify-idp.example.com/sso")
                .slo_url("https://samlify-idp.example.com/slo"),
        )
        .unwrap();
    // The SP metadata the web layer serves at `at` (on a clock set to it).
    let metadata = |at: DateTime<Utc>| -> String {
        let acs = saml_sp::Acs::new(
            registry.clone(),
            Arc::new(saml_sp::store::MemoryRequestStore::default()),
            Arc::new(saml_sp::store::MemoryReplayCache::default()),
            saml_sp::login::ProvisionFn(|_: String, i: saml_sp::login::SamlIdentity| {
                std::future::ready(Ok::<_, saml_sp::login::ProvisionError>(i.email))
            }),
        )
        .with_clock(Arc::new(FixedClock(at)));
        let web: SamlWeb<_, MemorySessions<String>> = SamlWeb::new(
            Arc::new(acs),
            Arc::new(MemorySessions::default()),
            WebSettings::single_tenant("acme"),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = rt.block_on(
            web.handle(
                http::Request::get("/saml/metadata")
                    .body(Vec::new())
                    .unwrap(),
                "127.0.0.1".parse().unwrap(),
            ),
        );
        assert_eq!(r.status(), 200);
        r.into_body()
    };
    let certs_in = |md: &str| md.matches("<ds:X509Certificate>").count();

    // 1. Key A alone. The IdP reads the metadata.
    let md1 = metadata(t0);
    assert_eq!(certs_in(&md1), 2, "A as signing and encryption certificate");
    step(&registry, t0, &md1).unwrap();

    // 2. B published: metadata lists both; A still signs. An IdP that has not re-read yet
    //    works as before; it re-reads.
    let md2 = metadata(t0 + d(10));
    assert_eq!(
        certs_in(&md2),
        4,
        "A and B, each for signing and encryption"
    );
    step(&registry, t0 + d(10), &md1).unwrap();
    step(&registry, t0 + d(10), &md2).unwrap();

    // 3. The switch: B signs. The IdP that read the metadata at publication verifies it; one
    //    that never re-read refuses (why publication comes first).
    let md3 = metadata(t0 + d(20));
    let signer = registry
        .by_slug("acme")
        .unwrap()
        .service_provider()
        .signing_key()
        .unwrap()
        .certificate()
        .unwrap()
        .fingerprint_hex();
    assert_eq!(signer, b_gen.certificate.fingerprint_hex());
    step(&registry, t0 + d(20), &md2).unwrap();
    let stale = step(&registry, t0 + d(20), &md1).unwrap_err();
    assert!(stale.to_lowercase().contains("signature"), "{stale}");
    assert_eq!(
        registry.sp_settings().sp_key_ring().unwrap().keys()[0].phase(t0 + d(25)),
        KeyPhase::Retiring
    );

    // 4. A retiring: still decrypts what IdPs encrypt to it (md2 lists A first).
    step(&registry, t0 + d(25), &md3).unwrap();

    // 5. A removed: metadata has B only; the IdP re-reads and encrypts to B.
    let md5 = metadata(t0 + d(30));
    assert_eq!(certs_in(&md5), 2);
    step(&registry, t0 + d(30), &md5).unwrap();
    // An IdP still encrypting to A now fails (A no longer decrypts): the removal is announced.
    let late = step(&registry, t0 + d(30), &md2).unwrap_err();
    assert!(
        late.contains("no_decryption_key") || late.contains("decryption"),
        "{late}"
    );
}
