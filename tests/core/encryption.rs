//! Encrypted assertions (issue 15): every security rule of the README's encryption section as a
//! test named after it, plus round trips of every algorithm the test IdP can encrypt with.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use chrono::{DateTime, Utc};
use saml_sp::crypto::Certificate;
use saml_sp::testkit::{Encryption, SignShape, TestIdp, TestUser};
use saml_sp::time::parse_instant;
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{IdentityProvider, ServiceProvider, ServiceProviderBuilder};

const IDP: &str = "https://idp.example.com/saml";
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";
const REQ: &str = "_req1";

fn now() -> DateTime<Utc> {
    parse_instant("2030-01-01T10:00:30Z", "now").unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn sp_cert() -> Certificate {
    Certificate::parse(fixture("sp.crt").as_bytes()).unwrap()
}

fn sp_key() -> DecryptionKey {
    DecryptionKey::from_pem(&fixture("sp.key")).unwrap()
}

fn builder(idp: &TestIdp) -> ServiceProviderBuilder {
    ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, vec![idp.certificate().clone()]).unwrap(),
    )
}

fn sp(idp: &TestIdp) -> ServiceProvider {
    builder(idp).decryption_key(sp_key()).build().unwrap()
}

fn encrypted(idp: &TestIdp, shape: SignShape, enc: Encryption) -> String {
    idp.response(SP, ACS)
        .in_response_to(REQ)
        .user(TestUser::new("ada@example.com").name("Ada", "Lovelace"))
        .sign(shape)
        .encrypt_for(&sp_cert(), enc)
        .build(now())
        .unwrap()
}

fn code(sp: &ServiceProvider, xml: &str) -> String {
    match sp.validate_response(xml.as_bytes(), Some(REQ), now()) {
        Ok(a) => panic!("accepted {:?}", a.name_id()),
        Err(e) => e.code().to_owned(),
    }
}

/// The base64 text of the `n`th CipherValue (0: the EncryptedKey's, 1: the EncryptedData's).
fn cipher_value(xml: &str, n: usize) -> &str {
    xml.split("<xenc:CipherValue>")
        .nth(n + 1)
        .unwrap()
        .split("</xenc:CipherValue>")
        .next()
        .unwrap()
}

fn replace_cipher_value(xml: &str, n: usize, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let old = cipher_value(xml, n);
    let mut bytes = b64.decode(old).unwrap();
    f(&mut bytes);
    xml.replacen(old, &b64.encode(bytes), 1)
}

#[test]
fn every_supported_algorithm_round_trips() {
    let idp = TestIdp::fixed(IDP);
    for enc in Encryption::ALL {
        for shape in [SignShape::Assertion, SignShape::Response, SignShape::Both] {
            let xml = encrypted(&idp, shape, enc);
            assert!(xml.contains("<saml2:EncryptedAssertion"));
            assert!(
                !xml.contains("ada@example.com"),
                "{enc:?}: plaintext leaked"
            );
            let sp = if enc == Encryption::LegacyTripleDesRsa15 {
                builder(&idp)
                    .decryption_key(sp_key())
                    .dangerous(
                        saml_sp::sp::DangerousOptions::default()
                            .dangerous_allow_legacy_encryption(),
                    )
                    .build()
                    .unwrap()
            } else {
                sp(&idp)
            };
            let a = sp
                .validate_response(xml.as_bytes(), Some(REQ), now())
                .unwrap_or_else(|e| panic!("{enc:?} {shape:?}: {e}"));
            assert_eq!(a.name_id().unwrap().value, "ada@example.com");
            assert_eq!(a.attribute("FirstName"), ["Ada"]);
            assert_eq!(a.signed().response, shape != SignShape::Assertion);
            assert_eq!(a.signed().assertion, shape != SignShape::Response);
        }
    }
}

#[test]
fn advisory_github_enterprise_cve_2024_4985_encryption_is_not_authentication() {
    let idp = TestIdp::fixed(IDP);
    // Neither the Response nor the decrypted Assertion is signed: anyone can encrypt to the SP's
    // public certificate.
    let xml = encrypted(&idp, SignShape::Unsigned, Encryption::Aes256Gcm);
    assert_eq!(code(&sp(&idp), &xml), "signature_missing");
    // A decrypted Assertion signed by a key the SP does not trust.
    let other = TestIdp::generate(IDP).unwrap();
    let xml = encrypted(&other, SignShape::Assertion, Encryption::Aes256Gcm);
    assert_eq!(code(&sp(&idp), &xml), "untrusted_key");
    // An unsigned Response around an assertion a signed Response once carried: the Response
    // signature does not survive removal, and the assertion alone is unsigned.
    let signed = encrypted(&idp, SignShape::Response, Encryption::Aes256Gcm);
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let stripped = format!("{}{}", &signed[..start], &signed[end..]);
    assert_eq!(code(&sp(&idp), &stripped), "signature_missing");
}

#[test]
fn response_signature_is_verified_before_anything_is_decrypted() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Response, Encryption::Aes256Gcm);
    // A changed ciphertext under the Response signature: the signature fails first, so the SP
    // never decrypts attacker-chosen ciphertext (the error is the digest, not decryption).
    let tampered = replace_cipher_value(&xml, 1, |b| b[20] ^= 1);
    assert_eq!(code(&sp(&idp), &tampered), "digest_mismatch");
    // Without any decryption key the signature is still checked first.
    let no_key = builder(&idp).build().unwrap();
    assert_eq!(code(&no_key, &tampered), "digest_mismatch");
    assert_eq!(code(&no_key, &xml), "no_decryption_key");
}

#[test]
fn advisory_xmlseclibs_cve_2026_32313_gcm_tag_is_always_checked() {
    let idp = TestIdp::fixed(IDP);
    for enc in [Encryption::Aes128Gcm, Encryption::Aes256Gcm] {
        let xml = encrypted(&idp, SignShape::Assertion, enc);
        // The last byte is the tag's; the byte before the tag is ciphertext.
        for flip in [1usize, 17] {
            let t = replace_cipher_value(&xml, 1, |b| {
                let i = b.len() - flip;
                b[i] ^= 0x80;
            });
            assert_eq!(code(&sp(&idp), &t), "decryption_failed", "{enc:?} -{flip}");
        }
        // A truncated tag.
        let t = replace_cipher_value(&xml, 1, |b| b.truncate(b.len() - 4));
        assert_eq!(code(&sp(&idp), &t), "decryption_failed");
    }
}

#[test]
fn cbc_padding_and_key_unwrap_failures_give_one_error() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Assertion, Encryption::Aes256Cbc);
    let messages: Vec<String> = [
        // Bad padding: the byte that becomes the padding length changed.
        replace_cipher_value(&xml, 1, |b| {
            let i = b.len() - 17;
            b[i] ^= 0x40;
        }),
        // A wrapped key that does not unwrap.
        replace_cipher_value(&xml, 0, |b| b[10] ^= 1),
        // A changed byte in the last plaintext block that leaves the padding intact: garbled
        // plaintext fails to parse, and that is the same error too (no Jager-Somorovsky oracle).
        replace_cipher_value(&xml, 1, |b| {
            let i = b.len() - 24;
            b[i] ^= 0x01;
        }),
        // A ciphertext cut to a non-multiple of the block size.
        replace_cipher_value(&xml, 1, |b| b.truncate(b.len() - 3)),
    ]
    .iter()
    .map(|t| {
        sp(&idp)
            .validate_response(t.as_bytes(), Some(REQ), now())
            .unwrap_err()
            .to_string()
    })
    .collect();
    // And the wrong SP key.
    let other = saml_sp::testkit::generate_key("other sp", now()).unwrap();
    let wrong = builder(&idp)
        .decryption_key(DecryptionKey::from_pem(&other.key_pem).unwrap())
        .build()
        .unwrap()
        .validate_response(xml.as_bytes(), Some(REQ), now())
        .unwrap_err()
        .to_string();
    for m in messages.iter().chain([&wrong]) {
        assert_eq!(
            m,
            "decryption failed: expected the EncryptedAssertion to decrypt with a configured SP key, found none that does"
        );
    }
}

#[test]
fn budgets_on_encrypted_keys_ciphertext_and_plaintext() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Assertion, Encryption::Aes256Gcm);
    // Five EncryptedKeys for one EncryptedData.
    let ek_start = xml.find("<xenc:EncryptedKey>").unwrap();
    let ek_end = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
    let ek = &xml[ek_start..ek_end];
    let five = xml.replacen(ek, &ek.repeat(5), 1);
    let e = sp(&idp)
        .validate_response(five.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "malformed");
    assert!(e.to_string().contains("at most 4 EncryptedKeys"), "{e}");
    // The plaintext goes through the same XML limits: a small byte limit refuses it.
    let small = builder(&idp)
        .decryption_key(sp_key())
        .limits(saml_sp::xml::Limits::default().with_max_input_bytes(xml.len()))
        .build()
        .unwrap();
    assert!(
        small
            .validate_response(xml.as_bytes(), Some(REQ), now())
            .is_ok()
    );
    // The node limit: the encrypted document has few nodes, its plaintext many.
    let mut user = TestUser::new("ada@example.com");
    for i in 0..40 {
        user = user.attribute(format!("a{i}"), ["v"]);
    }
    let enc = idp
        .response(SP, ACS)
        .in_response_to(REQ)
        .user(user)
        .sign(SignShape::Assertion)
        .encrypt_for(&sp_cert(), Encryption::Aes256Gcm)
        .build(now())
        .unwrap();
    let outer_nodes = saml_sp::xml::Document::parse(enc.as_bytes())
        .unwrap()
        .node_count();
    assert!(outer_nodes < 60, "{outer_nodes}");
    let tight = builder(&idp)
        .decryption_key(sp_key())
        .limits(saml_sp::xml::Limits::default().with_max_nodes(60))
        .build()
        .unwrap();
    let e = tight
        .validate_response(enc.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "xml_limit_exceeded", "{e}");
    assert!(e.to_string().contains("node"), "{e}");
}

#[test]
fn encrypted_assertion_beside_a_plain_assertion_or_two_are_refused() {
    let idp = TestIdp::fixed(IDP);
    let plain = idp
        .response(SP, ACS)
        .in_response_to(REQ)
        .sign(SignShape::Assertion)
        .build(now())
        .unwrap();
    let enc = encrypted(&idp, SignShape::Assertion, Encryption::Aes256Gcm);
    let ea_start = enc.find("<saml2:EncryptedAssertion").unwrap();
    let ea_end =
        enc.find("</saml2:EncryptedAssertion>").unwrap() + "</saml2:EncryptedAssertion>".len();
    let ea = &enc[ea_start..ea_end];
    let both = plain.replacen("</saml2p:Response>", &format!("{ea}</saml2p:Response>"), 1);
    let e = sp(&idp)
        .validate_response(both.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "malformed");
    assert!(
        e.to_string().contains("1 Assertion, 1 EncryptedAssertion"),
        "{e}"
    );
    let two = enc.replacen(ea, &format!("{ea}{ea}"), 1);
    assert!(
        sp(&idp)
            .validate_response(two.as_bytes(), Some(REQ), now())
            .unwrap_err()
            .to_string()
            .contains("0 Assertion, 2 EncryptedAssertion")
    );
}

#[test]
fn legacy_encryption_is_refused_by_default_naming_the_algorithm() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Assertion, Encryption::LegacyTripleDesRsa15);
    let e = sp(&idp)
        .validate_response(xml.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "unsupported_algorithm");
    assert!(e.to_string().contains("tripledes-cbc"), "{e}");
    // rsa-1_5 key transport alone (with AES content) is refused too.
    let rsa15 = encrypted(&idp, SignShape::Assertion, Encryption::Aes256Cbc).replacen(
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
        1,
    );
    let e = sp(&idp)
        .validate_response(rsa15.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(e.to_string().contains("rsa-1_5"), "{e}");
}

#[test]
fn external_references_are_never_followed() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Assertion, Encryption::Aes256Gcm);
    let ek_start = xml.find("<xenc:EncryptedKey>").unwrap();
    let ek_end = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
    let remote = format!(
        "{}<ds:RetrievalMethod Type=\"http://www.w3.org/2001/04/xmlenc#EncryptedKey\" URI=\"https://attacker.example/key.xml\"/>{}",
        &xml[..ek_start],
        &xml[ek_end..]
    );
    let e = sp(&idp)
        .validate_response(remote.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "unsupported_algorithm");
    assert!(e.to_string().contains("same-document"), "{e}");
    let data_value = cipher_value(&xml, 1);
    let cipher_ref = xml.replacen(
        &format!("<xenc:CipherValue>{data_value}</xenc:CipherValue>"),
        "<xenc:CipherReference URI=\"https://attacker.example/ct\"/>",
        1,
    );
    let e = sp(&idp)
        .validate_response(cipher_ref.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(e.to_string().contains("external references"), "{e}");
}

#[test]
fn a_sibling_encrypted_key_named_by_retrieval_method_or_key_name() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Assertion, Encryption::Aes128Cbc);
    let ek_start = xml.find("<xenc:EncryptedKey>").unwrap();
    let ek_end = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
    let ek = &xml[ek_start..ek_end];
    let ns = "xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"";
    // Okta's shape: RetrievalMethod in the EncryptedData, the key a sibling with an Id.
    let sibling = ek.replacen(
        "<xenc:EncryptedKey>",
        &format!("<xenc:EncryptedKey {ns} Id=\"_k1\">"),
        1,
    );
    let by_id = format!(
        "{}<ds:RetrievalMethod Type=\"http://www.w3.org/2001/04/xmlenc#EncryptedKey\" URI=\"#_k1\"/>{}",
        &xml[..ek_start],
        &xml[ek_end..]
    )
    .replacen("</xenc:EncryptedData>", &format!("</xenc:EncryptedData>{sibling}"), 1);
    let a = sp(&idp)
        .validate_response(by_id.as_bytes(), Some(REQ), now())
        .unwrap();
    assert_eq!(
        a.name_id().unwrap().value,
        "user@example.com".replace("user", "ada")
    );
    // KeyName = CarriedKeyName.
    let carried = ek
        .replacen(
            "<xenc:EncryptedKey>",
            &format!("<xenc:EncryptedKey {ns}>"),
            1,
        )
        .replacen(
            "</xenc:EncryptedKey>",
            "<xenc:CarriedKeyName>k</xenc:CarriedKeyName></xenc:EncryptedKey>",
            1,
        );
    let by_name = format!(
        "{}<ds:KeyName>k</ds:KeyName>{}",
        &xml[..ek_start],
        &xml[ek_end..]
    )
    .replacen(
        "</xenc:EncryptedData>",
        &format!("</xenc:EncryptedData>{carried}"),
        1,
    );
    assert!(
        sp(&idp)
            .validate_response(by_name.as_bytes(), Some(REQ), now())
            .is_ok()
    );
    // A name that matches no sibling: no key.
    let unnamed = by_name.replacen(
        "<ds:KeyName>k</ds:KeyName>",
        "<ds:KeyName>other</ds:KeyName>",
        1,
    );
    assert_eq!(code(&sp(&idp), &unnamed), "malformed");
    // Siblings are bounded as they are collected, named or not: four unreferenced siblings
    // beside the named one are refused before any is looked at.
    let unreferenced = ek.replacen(
        "<xenc:EncryptedKey>",
        &format!("<xenc:EncryptedKey {ns}>"),
        1,
    );
    let five_siblings =
        by_name.replacen(&carried, &format!("{carried}{}", unreferenced.repeat(4)), 1);
    let e = sp(&idp)
        .validate_response(five_siblings.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "malformed");
    assert!(e.to_string().contains("at most 4 EncryptedKeys"), "{e}");
}

#[test]
fn key_rotation_selects_the_named_key_else_tries_each() {
    let idp = TestIdp::fixed(IDP);
    let xml = encrypted(&idp, SignShape::Assertion, Encryption::Aes256Gcm);
    let old = saml_sp::testkit::generate_key("old sp key", now()).unwrap();
    let old_key = DecryptionKey::from_pem(&old.key_pem)
        .unwrap()
        .with_certificate(old.certificate.clone())
        .unwrap();
    // Old key first, new key second: the EncryptedKey names the new key's certificate.
    let rotating = builder(&idp)
        .decryption_key(old_key.clone())
        .decryption_key(sp_key().with_certificate(sp_cert()).unwrap())
        .build()
        .unwrap();
    assert!(
        rotating
            .validate_response(xml.as_bytes(), Some(REQ), now())
            .is_ok()
    );
    // Without certificates configured each key is tried.
    let untagged = builder(&idp)
        .decryption_key(DecryptionKey::from_pem(&old.key_pem).unwrap())
        .decryption_key(sp_key())
        .build()
        .unwrap();
    assert!(
        untagged
            .validate_response(xml.as_bytes(), Some(REQ), now())
            .is_ok()
    );
    // A key paired with the wrong certificate is refused at configuration.
    assert_eq!(
        sp_key()
            .with_certificate(old.certificate)
            .unwrap_err()
            .code(),
        "config_invalid"
    );
}

#[test]
fn decrypted_plaintext_must_be_exactly_one_assertion() {
    let idp = TestIdp::fixed(IDP);
    let cert = sp_cert();
    let assertion = "<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_x\" Version=\"2.0\" IssueInstant=\"2030-01-01T10:00:00Z\"><saml2:Issuer>https://idp.example.com/saml</saml2:Issuer></saml2:Assertion>";
    for (plaintext, want) in [
        (
            format!("{assertion}{}", assertion.replace("_x", "_y")),
            "exactly one decrypted Assertion",
        ),
        (
            "<saml2:NameID xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">x</saml2:NameID>"
                .to_owned(),
            "a decrypted Assertion",
        ),
        (
            "</saml-sp-decrypted><saml-sp-decrypted>".to_owned(),
            "malformed",
        ),
    ] {
        let ea = saml_sp::testkit::encrypted_assertion(&plaintext, &cert, Encryption::Aes256Gcm)
            .unwrap();
        let signed = idp
            .response(SP, ACS)
            .in_response_to(REQ)
            .sign(SignShape::Unsigned)
            .build(now())
            .unwrap();
        let start = signed.find("<saml2:Assertion ").unwrap();
        let end = signed.find("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
        let doc = format!("{}{ea}{}", &signed[..start], &signed[end..]);
        let rid = doc
            .split(" ID=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let doc = idp.sign(&doc, &rid).unwrap();
        let e = sp(&idp)
            .validate_response(doc.as_bytes(), Some(REQ), now())
            .unwrap_err();
        assert!(
            e.to_string().contains(want) || e.code() == want,
            "{want}: {e}"
        );
    }
}

/// The one-call ACS with a tenant whose policy holds the decryption key: an encrypted login.
#[test]
fn tenant_policy_carries_decryption_keys_into_the_one_call_acs() {
    use self::users::Users;
    use saml_sp::Acs;
    use saml_sp::ValidationPolicy;
    use saml_sp::login::AuditContext;
    use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
    use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
    use std::sync::Arc;
    let idp = TestIdp::fixed(IDP);
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry
        .insert(
            TenantConfig::new("acme", IDP, vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso")
                .policy(
                    ValidationPolicy::default()
                        .decryption_key(sp_key())
                        .clock_skew(chrono::Duration::seconds(30)),
                ),
        )
        .unwrap();
    let acs = Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(saml_sp::time::FixedClock(now())));
    assert_eq!(
        acs.registry()
            .by_slug("acme")
            .unwrap()
            .service_provider()
            .clock_skew(),
        chrono::Duration::seconds(30)
    );
    let start = block_on(acs.start_login("acme", None, browser())).unwrap();
    let posted = idp
        .response(SP, ACS)
        .in_response_to(&start.request_id)
        .user(TestUser::new("ada@example.com"))
        .encrypt_for(&sp_cert(), Encryption::Aes256Gcm)
        .build_base64(now())
        .unwrap();
    let done = block_on(acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(browser()),
        &AuditContext::new(),
    ))
    .unwrap();
    assert_eq!(done.user, "ada@example.com");
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

use crate::users;

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}

// ---- Hardening pass 3 (issue 27), items 1 and 3 ----

/// The EncryptedKey of `xml` (the first), and `xml` with it removed.
fn encrypted_key_of(xml: &str) -> (String, String) {
    let start = xml.find("<xenc:EncryptedKey>").unwrap();
    let end = xml.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len();
    (
        xml[start..end].to_owned(),
        format!("{}{}", &xml[..start], &xml[end..]),
    )
}

/// `ek` without its KeyInfo (an IdP that names no recipient key).
fn without_key_info(ek: &str) -> String {
    let start = ek.find("<ds:KeyInfo>").unwrap();
    let end = ek.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    format!("{}{}", &ek[..start], &ek[end..])
}

/// Pass 3, item 1: a key that does not unwrap an EncryptedKey used to continue with a random
/// content key and stop at the first CBC decryption with valid padding (1 in 16), refusing about
/// 6% of genuine CBC logins when the SP held two keys or the IdP wrote one EncryptedKey per
/// recipient. 1,000 genuine CBC responses of each kind: none refused.
#[test]
fn pass3_defect_1_genuine_cbc_responses_are_never_refused_with_two_keys_or_two_recipients() {
    let idp = TestIdp::fixed(IDP);
    let old = saml_sp::testkit::generate_key("old sp key", now()).unwrap();
    let old_key = || DecryptionKey::from_pem(&old.key_pem).unwrap();
    {
        let enc = Encryption::Aes128Cbc;
        let xml = encrypted(&idp, SignShape::Assertion, enc);
        let (ek, _) = encrypted_key_of(&xml);
        // Two SP keys (rotation), the EncryptedKey naming neither: the old key is tried first,
        // fails to unwrap, and its random-key decryption must never count.
        let unnamed = xml.replacen(&ek, &without_key_info(&ek), 1);
        let two_keys = builder(&idp)
            .decryption_key(old_key())
            .decryption_key(sp_key())
            .build()
            .unwrap();
        // Two recipients: an EncryptedKey for another recipient's certificate comes first.
        let other_recipient = ek.replacen(
            cipher_value(&ek, 0),
            &base64::engine::general_purpose::STANDARD.encode([7u8; 256]),
            1,
        );
        let other_recipient = other_recipient.replacen(
            &base64::engine::general_purpose::STANDARD.encode(sp_cert().der()),
            &base64::engine::general_purpose::STANDARD.encode(old.certificate.der()),
            1,
        );
        let two_recipients = xml.replacen(&ek, &format!("{other_recipient}{ek}"), 1);
        let one_key = sp(&idp);
        let mut refused = 0;
        for _ in 0..1000 {
            refused += usize::from(
                two_keys
                    .validate_response(unnamed.as_bytes(), Some(REQ), now())
                    .is_err(),
            );
            refused += usize::from(
                one_key
                    .validate_response(two_recipients.as_bytes(), Some(REQ), now())
                    .is_err(),
            );
        }
        assert_eq!(refused, 0, "{enc:?}");
    }
}

/// Pass 3, item 3: the decrypted plaintext is parsed under a root that re-declares every
/// namespace in scope; the per-element declaration limit must not count that sum over the
/// ancestors. 20 declarations on the Response and 20 on the EncryptedAssertion (each under the
/// limit of 32), plaintext and encrypted alike: accepted.
#[test]
fn pass3_defect_3_ancestors_namespace_declarations_do_not_count_against_the_plaintext() {
    let idp = TestIdp::fixed(IDP);
    let decls = |tag: &str| {
        (0..20)
            .map(|i| format!(" xmlns:{tag}{i}=\"urn:x:{tag}:{i}\""))
            .collect::<String>()
    };
    for enc in [Encryption::Aes128Gcm, Encryption::Aes256Cbc] {
        let xml = encrypted(&idp, SignShape::Assertion, enc);
        let at = xml.find("<saml2p:Response").unwrap() + "<saml2p:Response".len();
        let xml = format!("{}{}{}", &xml[..at], decls("r"), &xml[at..]);
        let wrapper = xml.find(":EncryptedAssertion").unwrap() + ":EncryptedAssertion".len();
        let xml = format!("{}{}{}", &xml[..wrapper], decls("e"), &xml[wrapper..]);
        let a = sp(&idp)
            .validate_response(xml.as_bytes(), Some(REQ), now())
            .unwrap_or_else(|e| panic!("{enc:?}: {e}"));
        assert_eq!(a.name_id().unwrap().value, "ada@example.com");
    }
}
