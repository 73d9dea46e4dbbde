//! Issue 32: the SP's private keys in an HSM. A SoftHSM2 token (`scripts/softhsm`, run by
//! `scripts/test`) holds the SP test key; through PKCS#11 the token signs AuthnRequests and
//! LogoutRequests (byte for byte what the in-memory key signs: RSA PKCS#1 v1.5 is
//! deterministic, and samlify verifies them) and unwraps the content keys of encrypted
//! assertions (RSA-OAEP with SHA-1 and SHA-256), while the process holds only a handle.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use base64::Engine as _;
use saml_sp::crypto::{Certificate, SignatureAlgorithm, SigningKey};
use saml_sp::hsm::Pkcs11Token;
use saml_sp::login::AuthnRequest;
use saml_sp::testkit::{Encryption, TestIdp, TestUser};
use saml_sp::{IdentityProvider, ServiceProvider};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/");
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";

/// (module, token, PIN) of the test token, or `None` (skipped) without one.
fn token() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok();
    match (
        get("SAML_SP_TEST_PKCS11_MODULE"),
        get("SAML_SP_TEST_PKCS11_TOKEN"),
        get("SAML_SP_TEST_PKCS11_PIN"),
    ) {
        (Some(m), Some(t), Some(p)) => Some((m, t, p)),
        _ => {
            assert!(
                std::env::var_os("SAML_SP_REQUIRE_ORACLES").is_none(),
                "a SoftHSM2 token is required (scripts/test runs scripts/softhsm)"
            );
            eprintln!("SKIPPED: no SoftHSM2 token (run scripts/test)");
            None
        }
    }
}

fn sp_cert() -> Certificate {
    Certificate::parse(&std::fs::read(format!("{DIR}fixtures/keys/sp.crt")).unwrap()).unwrap()
}

#[test]
fn the_token_signs_and_decrypts_and_the_process_holds_no_key() {
    let Some((module, label, pin)) = token() else {
        return;
    };
    // Before any login in this process: a wrong PIN, an unknown token, an unknown key.
    let e = Pkcs11Token::open(&module, &label, "0000").unwrap_err();
    assert_eq!(e.code(), "config_invalid");
    assert!(e.to_string().contains("login"), "{e}");
    let e = Pkcs11Token::open(&module, "no-such-token", &pin).unwrap_err();
    assert!(e.to_string().contains("no token"), "{e}");
    let token = Pkcs11Token::open(&module, &label, &pin).unwrap();
    let e = token.signing_key("nope", sp_cert()).unwrap_err();
    assert!(e.to_string().contains("no private key labelled"), "{e}");
    let hsm_key = token.signing_key("sp", sp_cert()).unwrap();
    let memory_key = SigningKey::from_pem(
        &std::fs::read_to_string(format!("{DIR}fixtures/keys/sp.key")).unwrap(),
        Some(sp_cert()),
    )
    .unwrap();
    // Signing: the token's signature is the in-memory key's, byte for byte.
    for alg in [
        SignatureAlgorithm::RsaSha256,
        SignatureAlgorithm::RsaSha384,
        SignatureAlgorithm::RsaSha512,
    ] {
        let message = b"<samlp:AuthnRequest ID=\"_x\"/>";
        assert_eq!(
            hsm_key.sign(alg, message).unwrap(),
            memory_key.sign(alg, message).unwrap(),
            "{alg:?}"
        );
    }
    // A signed AuthnRequest and LogoutRequest verify at samlify.
    let req = AuthnRequest::new(SP, ACS)
        .destination("https://samlify-idp.example.com/sso")
        .build(chrono::Utc::now())
        .unwrap();
    let signed = req
        .signed_xml(&hsm_key, SignatureAlgorithm::RsaSha256)
        .unwrap();
    let md = saml_sp::metadata::SpMetadata::new(SP, ACS)
        .authn_requests_signed(true)
        .signing_certificate(sp_cert())
        .encryption_certificate(sp_cert())
        .single_logout_service("https://sp.example.com/saml/slo")
        .to_xml();
    let md_path = std::env::temp_dir().join(format!("saml-sp-hsm-md-{}.xml", std::process::id()));
    std::fs::write(&md_path, md).unwrap();
    let samlify = |mode: &str, input: &str, extra: &[&str]| {
        let out = Command::new("node")
            .arg(format!("{DIR}interop_idp/idp.js"))
            .args([
                mode,
                md_path.to_str().unwrap(),
                &format!("{DIR}fixtures/keys/idp.key"),
                &format!("{DIR}fixtures/keys/idp.crt"),
                input,
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "samlify refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let node = std::path::Path::new(&format!("{DIR}interop_idp/node_modules/samlify")).exists();
    let idp_certs =
        Certificate::parse_all(&std::fs::read(format!("{DIR}fixtures/keys/idp.crt")).unwrap())
            .unwrap();
    let hsm_decryption = token.decryption_key("sp", sp_cert()).unwrap();
    let samlify_sp = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new("https://samlify-idp.example.com/metadata", idp_certs)
            .unwrap()
            .with_slo_url("https://samlify-idp.example.com/slo"),
    )
    .decryption_key(hsm_decryption.clone())
    .signing_key(hsm_key.clone())
    .build()
    .unwrap();
    if node {
        let v = samlify(
            "post",
            &base64::engine::general_purpose::STANDARD.encode(signed),
            &["signed", "http://www.w3.org/2009/xmlenc11#aes128-gcm"],
        );
        // samlify's encrypted Response decrypts with the token's key.
        let xml = samlify_sp
            .decode_post(v["SAMLResponse"].as_str().unwrap())
            .unwrap();
        assert!(String::from_utf8_lossy(&xml).contains("EncryptedAssertion"));
        let a = samlify_sp
            .validate_response(&xml, Some(req.id()), chrono::Utc::now())
            .unwrap();
        assert_eq!(a.name_id().unwrap().value, "ada@example.com");
        let session = saml_sp::logout::SessionRecord::from_assertion(&a).unwrap();
        let logout = samlify_sp
            .logout_request(&session, chrono::Utc::now())
            .unwrap();
        let v = samlify(
            "logout",
            &base64::engine::general_purpose::STANDARD.encode(logout.signed_xml(&hsm_key).unwrap()),
            &[],
        );
        assert_eq!(v["nameId"], "ada@example.com");
    }
    // Decryption: RSA-OAEP with SHA-1 (`rsa-oaep-mgf1p`, as Okta and ADFS send), AES-128 and
    // AES-256 CBC. (samlify's AES-GCM with the same key transport passed above.) SoftHSM2 does
    // OAEP only with SHA-1: XML Encryption 1.1's OAEP-SHA-256 is refused with the one
    // decryption error.
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let sp = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
    )
    .decryption_key(hsm_decryption)
    .build()
    .unwrap();
    for enc in [Encryption::Aes128Cbc, Encryption::Aes256Cbc] {
        let xml = idp
            .response(SP, ACS)
            .in_response_to("_req1")
            .user(TestUser::new("ada@example.com"))
            .encrypt_for(&sp_cert(), enc)
            .build(chrono::Utc::now())
            .unwrap();
        let a = sp
            .validate_response(xml.as_bytes(), Some("_req1"), chrono::Utc::now())
            .unwrap_or_else(|e| panic!("{enc:?}: {}: {e}", e.code()));
        assert_eq!(a.name_id().unwrap().value, "ada@example.com");
        // A tampered EncryptedKey reaching the token (only the Assertion inside is signed, so
        // nothing refuses it before decryption): the one decryption error, whatever the token
        // said.
        let xml = idp
            .response(SP, ACS)
            .in_response_to("_req1")
            .sign(saml_sp::testkit::SignShape::Assertion)
            .user(TestUser::new("ada@example.com"))
            .encrypt_for(&sp_cert(), enc)
            .build(chrono::Utc::now())
            .unwrap();
        let tampered = xml.replacen("<xenc:CipherValue>", "<xenc:CipherValue>AAAA", 1);
        assert_ne!(tampered, xml);
        let e = sp
            .validate_response(tampered.as_bytes(), Some("_req1"), chrono::Utc::now())
            .unwrap_err();
        assert_eq!(e.code(), "decryption_failed", "{enc:?}: {e}");
    }
    let xml = idp
        .response(SP, ACS)
        .in_response_to("_req1")
        .user(TestUser::new("ada@example.com"))
        .encrypt_for(&sp_cert(), Encryption::Aes256Gcm)
        .build(chrono::Utc::now())
        .unwrap();
    let e = sp
        .validate_response(xml.as_bytes(), Some("_req1"), chrono::Utc::now())
        .unwrap_err();
    assert_eq!(e.code(), "decryption_failed", "{e}");
}
