//! Interop with an IdP no one here wrote: samlify (npm, installed by scripts/test into
//! tests/interop_idp) parses our SP metadata and our AuthnRequest (Redirect and POST, signed and
//! unsigned; it verifies our signatures when asked to), then issues a signed Response that must
//! pass our ACS core.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use base64::Engine as _;
use saml_sp::crypto::{Certificate, SignatureAlgorithm, SigningKey};
use saml_sp::login::AuthnRequest;
use saml_sp::metadata::SpMetadata;
use saml_sp::{IdentityProvider, ServiceProvider};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/");
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";
const IDP: &str = "https://samlify-idp.example.com/metadata";
const SSO: &str = "https://samlify-idp.example.com/sso";

fn available() -> bool {
    let ok = std::path::Path::new(&format!("{DIR}interop_idp/node_modules/samlify")).exists()
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("SAML_SP_REQUIRE_ORACLES").is_none(),
            "samlify (tests/interop_idp) is required but missing"
        );
        eprintln!("SKIPPED: node/samlify not installed (run scripts/test)");
    }
    ok
}

fn sp_key() -> SigningKey {
    let cert =
        Certificate::parse(&std::fs::read(format!("{DIR}fixtures/keys/sp.crt")).unwrap()).unwrap();
    SigningKey::from_pem(
        &std::fs::read_to_string(format!("{DIR}fixtures/keys/sp.key")).unwrap(),
        Some(cert),
    )
    .unwrap()
}

fn sp_metadata_file(signed: bool) -> String {
    let mut md = SpMetadata::new(SP, ACS)
        .authn_requests_signed(signed)
        .encryption_certificate(sp_key().certificate().unwrap().clone());
    if signed {
        md = md.signing_certificate(sp_key().certificate().unwrap().clone());
    }
    let p = std::env::temp_dir().join(format!("saml-sp-3p-md-{}-{signed}.xml", std::process::id()));
    std::fs::write(&p, md.to_xml()).unwrap();
    p.display().to_string()
}

fn run_idp(mode: &str, input: &str, signed: bool) -> serde_json::Value {
    run_idp_encrypting(mode, input, signed, None)
}

fn run_idp_encrypting(
    mode: &str,
    input: &str,
    signed: bool,
    encrypt_with: Option<&str>,
) -> serde_json::Value {
    let out = Command::new("node")
        .arg(format!("{DIR}interop_idp/idp.js"))
        .args([
            mode,
            &sp_metadata_file(signed),
            &format!("{DIR}fixtures/keys/idp.key"),
            &format!("{DIR}fixtures/keys/idp.crt"),
            input,
        ])
        .arg(if signed { "signed" } else { "unsigned" })
        .args(encrypt_with)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "samlify refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn our_sp() -> ServiceProvider {
    let certs =
        Certificate::parse_all(&std::fs::read(format!("{DIR}fixtures/keys/idp.crt")).unwrap())
            .unwrap();
    ServiceProvider::builder(SP, ACS, IdentityProvider::new(IDP, certs).unwrap())
        .build()
        .unwrap()
}

fn check_response(v: &serde_json::Value, request_id: &str) {
    assert_eq!(v["requestId"], request_id, "samlify read our request ID");
    assert_eq!(
        v["acs"], ACS,
        "samlify took the ACS from our metadata/request"
    );
    let sp = our_sp();
    let xml = sp.decode_post(v["SAMLResponse"].as_str().unwrap()).unwrap();
    let a = sp
        .validate_response(&xml, Some(request_id), chrono::Utc::now())
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", e.code(), String::from_utf8_lossy(&xml)));
    assert_eq!(a.name_id().unwrap().value, "ada@example.com");
    assert_eq!(a.issuer(), IDP);
    assert_eq!(a.attribute("FirstName"), ["Ada"]);
    assert_eq!(a.in_response_to(), Some(request_id));
    // A different outstanding request: refused.
    assert_eq!(
        sp.validate_response(&xml, Some("_other"), chrono::Utc::now())
            .unwrap_err()
            .code(),
        "in_response_to_mismatch"
    );
}

fn request() -> saml_sp::login::BuiltAuthnRequest {
    AuthnRequest::new(SP, ACS)
        .destination(SSO)
        .build(chrono::Utc::now())
        .unwrap()
}

#[test]
fn samlify_accepts_our_redirect_request_and_we_accept_its_response() {
    if !available() {
        return;
    }
    let req = request();
    let url = req.redirect_url(Some("relay-1"), None).unwrap();
    check_response(&run_idp("redirect", &url, false), req.id());
}

#[test]
fn samlify_verifies_our_signed_redirect_request() {
    if !available() {
        return;
    }
    let req = request();
    let key = sp_key();
    let url = req
        .redirect_url(Some("relay-2"), Some((&key, SignatureAlgorithm::RsaSha256)))
        .unwrap();
    check_response(&run_idp("redirect", &url, true), req.id());
}

#[test]
fn samlify_accepts_our_post_request_signed_and_unsigned() {
    if !available() {
        return;
    }
    let req = request();
    let b64 = base64::engine::general_purpose::STANDARD.encode(req.xml());
    check_response(&run_idp("post", &b64, false), req.id());
    let req = request();
    let signed = req
        .signed_xml(&sp_key(), SignatureAlgorithm::RsaSha256)
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(signed);
    check_response(&run_idp("post", &b64, true), req.id());
}

#[test]
fn samlify_refuses_a_tampered_signed_request() {
    if !available() {
        return;
    }
    let req = request();
    let signed = req
        .signed_xml(&sp_key(), SignatureAlgorithm::RsaSha256)
        .unwrap()
        .replace(ACS, "https://evil.example.com/acs");
    let b64 = base64::engine::general_purpose::STANDARD.encode(signed);
    let out = Command::new("node")
        .arg(format!("{DIR}interop_idp/idp.js"))
        .args([
            "post",
            &sp_metadata_file(true),
            &format!("{DIR}fixtures/keys/idp.key"),
            &format!("{DIR}fixtures/keys/idp.crt"),
            &b64,
            "signed",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "samlify must refuse a request whose signature no longer verifies"
    );
}

/// Issue 15: samlify encrypts the Assertion to the encryption certificate our SP metadata
/// publishes, with AES-GCM and with AES-CBC; the library decrypts and accepts it.
#[test]
fn samlify_encrypted_assertions_gcm_and_cbc_are_accepted() {
    if !available() {
        return;
    }
    let key = saml_sp::xmlenc::DecryptionKey::from_pem(
        &std::fs::read_to_string(format!("{DIR}fixtures/keys/sp.key")).unwrap(),
    )
    .unwrap();
    let certs =
        Certificate::parse_all(&std::fs::read(format!("{DIR}fixtures/keys/idp.crt")).unwrap())
            .unwrap();
    let sp = ServiceProvider::builder(SP, ACS, IdentityProvider::new(IDP, certs).unwrap())
        .decryption_key(key)
        .build()
        .unwrap();
    for alg in [
        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    ] {
        let req = request();
        let url = req.redirect_url(None, None).unwrap();
        let v = run_idp_encrypting("redirect", &url, false, Some(alg));
        let xml = sp.decode_post(v["SAMLResponse"].as_str().unwrap()).unwrap();
        let text = String::from_utf8_lossy(&xml);
        assert!(
            text.contains("EncryptedAssertion") && text.contains(alg),
            "{alg}: {text}"
        );
        assert!(
            !text.contains("ada@example.com"),
            "{alg}: plaintext visible"
        );
        let mut report = saml_sp::Report::default();
        let a = sp
            .validate_with_report(&xml, Some(req.id()), chrono::Utc::now(), &mut report)
            .unwrap_or_else(|e| panic!("{alg}: {}: {e}", e.code()));
        assert_eq!(a.name_id().unwrap().value, "ada@example.com");
        assert_eq!(a.attribute("FirstName"), ["Ada"]);
        assert!(report.checks.iter().any(|c| c.check == "decryption"));
        // Without the key: refused, naming why.
        assert_eq!(
            our_sp()
                .validate_response(&xml, Some(req.id()), chrono::Utc::now())
                .unwrap_err()
                .code(),
            "no_decryption_key"
        );
    }
}
