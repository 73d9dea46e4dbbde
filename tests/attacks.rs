//! Attack-catalog cases (docs/attack-catalog.md) and positive twins, on fixtures
//! signed by an independent signer (xmlsec1; `tests/fixtures/make_fixtures.py` made them).
//! Tests are named after the catalog's case numbers. [NR] cases edit the signed bytes here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{DateTime, Utc};
use saml_sp::crypto::Certificate;
use saml_sp::time::parse_instant;
use saml_sp::{IdentityProvider, ServiceProvider, SignaturePolicy};

const IDP: &str = "https://idp.example.com/saml";
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";
const REQ: &str = "_req_0123456789abcdef";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/signed/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn cert(name: &str) -> Vec<Certificate> {
    Certificate::parse_all(
        &std::fs::read(format!(
            "{}/tests/fixtures/keys/{name}.crt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap()
}

fn now() -> DateTime<Utc> {
    parse_instant("2030-01-01T10:00:30Z", "now").unwrap()
}

fn builder() -> saml_sp::ServiceProviderBuilder {
    let mut certs = cert("idp");
    certs.extend(cert("idp-ec"));
    ServiceProvider::builder(SP, ACS, IdentityProvider::new(IDP, certs).unwrap())
}

fn sp() -> ServiceProvider {
    builder().build().unwrap()
}

fn accept(xml: &str) -> saml_sp::VerifiedAssertion {
    sp().validate_response(xml.as_bytes(), Some(REQ), now())
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()))
}

fn reject_with(sp: &ServiceProvider, xml: &str, code: &str) {
    match sp.validate_response(xml.as_bytes(), Some(REQ), now()) {
        Ok(a) => panic!("accepted (NameID {:?}), expected {code}", a.name_id()),
        Err(e) => assert_eq!(e.code(), code, "{e}"),
    }
}

fn reject(xml: &str, code: &str) {
    reject_with(&sp(), xml, code);
}

fn name_id(a: &saml_sp::VerifiedAssertion) -> &str {
    &a.name_id().unwrap().value
}

// ---- positive tests ----

#[test]
fn accepts_assertion_signed() {
    let a = accept(&fixture("assertion_signed"));
    assert_eq!(name_id(&a), "victim@corp.example");
    assert_eq!(a.issuer(), IDP);
    assert_eq!(a.attribute("groups"), ["admins", "staff"]);
    assert_eq!(a.attribute("FirstName"), ["Ada"]);
    assert_eq!(a.session_index(), Some("_session_42"));
    assert_eq!(a.in_response_to(), Some(REQ));
    assert_eq!(a.assertion_id(), "_assert_7b3e4f10c2");
    assert_eq!(a.response_id(), "_resp_5f1c0d2e9a");
    assert!(a.signed().assertion && !a.signed().response);
    assert_eq!(
        a.authn_context_class_ref(),
        Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    );
}

#[test]
fn accepts_response_signed() {
    let a = accept(&fixture("response_signed"));
    assert!(a.signed().response && !a.signed().assertion);
    assert_eq!(name_id(&a), "victim@corp.example");
}

#[test]
fn accepts_both_signed_and_each_policy() {
    let xml = fixture("both_signed");
    for p in [
        SignaturePolicy::Assertion,
        SignaturePolicy::Response,
        SignaturePolicy::Both,
        SignaturePolicy::Either,
    ] {
        let a = builder()
            .require_signed(p)
            .build()
            .unwrap()
            .validate_response(xml.as_bytes(), Some(REQ), now())
            .unwrap();
        assert!(a.signed().response && a.signed().assertion);
    }
}

#[test]
fn accepts_rsa_sha512_inclusive_c14n_prefix_list_default_namespace_and_ecdsa() {
    for f in [
        "both_rsa_sha512",
        "assertion_inclusive_c14n",
        "assertion_prefix_list",
        "assertion_default_ns",
        "assertion_ecdsa",
    ] {
        let a = accept(&fixture(f));
        assert_eq!(name_id(&a), "victim@corp.example", "{f}");
    }
}

#[test]
fn accepts_with_several_configured_certificates_in_any_order() {
    let mut certs = cert("attacker");
    certs.extend(cert("idp"));
    let sp = ServiceProvider::builder(SP, ACS, IdentityProvider::new(IDP, certs).unwrap())
        .build()
        .unwrap();
    sp.validate_response(fixture("assertion_signed").as_bytes(), Some(REQ), now())
        .unwrap();
}

#[test]
fn accepts_one_restriction_listing_several_audiences() {
    accept(&fixture("audience_many_in_one"));
}

#[test]
fn one_time_use_is_reported() {
    assert!(accept(&fixture("one_time_use")).one_time_use());
}

// ---- 1. signature wrapping ----

fn signed_assertion(xml: &str) -> &str {
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    &xml[start..end]
}

fn strip_signature(assertion: &str) -> String {
    let s = assertion.find("<ds:Signature").unwrap();
    let e = assertion.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    format!("{}{}", &assertion[..s], &assertion[e..])
}

fn evil_copy(assertion: &str, id: &str) -> String {
    strip_signature(assertion)
        .replace("victim@corp.example", "attacker@corp.example")
        .replace("_assert_7b3e4f10c2", id)
}

#[test]
fn case_01_xsw1_signed_response_copied_into_signature() {
    let xml = fixture("response_signed");
    let resp_start = xml.find("<samlp:Response").unwrap();
    let original = &xml[resp_start..];
    let copy = strip_signature(original);
    let evil = original
        .replace("victim@corp.example", "attacker@corp.example")
        .replacen("_resp_5f1c0d2e9a", "_evil_response_ID", 1);
    let evil = evil.replacen("</ds:Signature>", &format!("{copy}</ds:Signature>"), 1);
    // The copy re-uses the original IDs next to the edited ones: refused before any signature check.
    let e = sp()
        .validate_response(
            format!("{}{}", &xml[..resp_start], evil).as_bytes(),
            Some(REQ),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(e.code(), "duplicate_id" | "signature_profile"),
        "{e}"
    );
}

#[test]
fn case_03_xsw3_unsigned_assertion_before_signed() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    reject(
        &xml.replacen(a, &format!("{}{a}", evil_copy(a, "_evil_assertion_ID")), 1),
        "malformed",
    );
}

#[test]
fn case_04_xsw4_signed_assertion_inside_evil_one() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let evil = evil_copy(a, "_evil_assertion_ID");
    let wrapped = evil.replacen("</saml:Assertion>", &format!("{a}</saml:Assertion>"), 1);
    let e = sp()
        .validate_response(xml.replacen(a, &wrapped, 1).as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(matches!(e.code(), "malformed" | "signature_missing"), "{e}");
}

#[test]
fn case_05_xsw5_evil_assertion_keeps_signature_copy_appended() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let edited = a
        .replace("victim@corp.example", "attacker@corp.example")
        .replacen("_assert_7b3e4f10c2", "_evil_assertion_ID", 1);
    let copy = strip_signature(a);
    let e = sp()
        .validate_response(
            xml.replacen(a, &format!("{edited}{copy}"), 1).as_bytes(),
            Some(REQ),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e.code(), "malformed" | "signature_profile"), "{e}");
}

#[test]
fn case_07_xsw7_evil_copy_with_same_id_in_extensions() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let e = evil_copy(a, "_assert_7b3e4f10c2");
    reject(
        &xml.replacen(a, &format!("<Extensions>{e}</Extensions>{a}"), 1),
        "duplicate_id",
    );
}

#[test]
fn case_08_xsw8_original_copy_in_object_inside_signature() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let copy = strip_signature(a);
    let edited = a
        .replace("victim@corp.example", "attacker@corp.example")
        .replacen(
            "</ds:Signature>",
            &format!(
                "<Object>{}</Object></ds:Signature>",
                copy.replace("_assert_7b3e4f10c2", "_x")
            ),
            1,
        );
    reject(&xml.replacen(a, &edited, 1), "signature_profile");
}

#[test]
fn case_09_second_signed_info() {
    let xml = fixture("assertion_signed");
    let si_start = xml.find("<ds:SignedInfo>").unwrap();
    let si_end = xml.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let si = &xml[si_start..si_end];
    let forged = xml.replacen("<ds:KeyInfo>", &format!("{si}<ds:KeyInfo>"), 1);
    reject(&forged, "signature_profile");
}

#[test]
fn case_11_signature_relocated_to_response() {
    let xml = fixture("assertion_signed");
    let s = xml.find("<ds:Signature").unwrap();
    let e = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &xml[s..e];
    let moved = format!("{}{}", &xml[..s], &xml[e..]).replacen(
        "</saml:Issuer><samlp:Status>",
        &format!("</saml:Issuer>{sig}<samlp:Status>"),
        1,
    );
    reject(&moved, "signature_profile");
}

#[test]
fn case_13_signed_assertion_inside_advice_of_unsigned_one() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let evil = evil_copy(a, "_evil_assertion_ID").replacen(
        "<saml:Subject>",
        &format!("<saml:Advice>{a}</saml:Advice><saml:Subject>"),
        1,
    );
    reject(&xml.replacen(a, &evil, 1), "signature_missing");
}

// ---- 2. signature processing ----

#[test]
fn case_14_digest_value_outside_signed_info() {
    let xml = fixture("assertion_signed").replace("victim@corp.example", "attacker@corp.example");
    let forged = xml.replacen("<samlp:Status>", "<samlp:Extensions><ds:DigestValue xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">AAAA</ds:DigestValue></samlp:Extensions><samlp:Status>", 1);
    reject(&forged, "digest_mismatch");
}

#[test]
fn case_15_comment_inside_digest_value() {
    let xml = fixture("assertion_signed").replace("victim@corp.example", "attacker@corp.example");
    reject(
        &xml.replacen("<ds:DigestValue>", "<ds:DigestValue><!--forged-->", 1),
        "digest_mismatch",
    );
}

#[test]
fn case_16_two_digest_values() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen(
            "</ds:DigestValue>",
            "</ds:DigestValue><ds:DigestValue>AAAA</ds:DigestValue>",
            1,
        ),
        "signature_profile",
    );
}

#[test]
fn case_24_comment_split_nameid_reports_whole_value() {
    let xml = fixture("long_nameid").replacen(
        "victim@corp.example.attacker.test",
        "victim@corp.example<!---->.attacker.test",
        1,
    );
    assert_eq!(name_id(&accept(&xml)), "victim@corp.example.attacker.test");
    let xml = fixture("long_nameid").replacen(
        "victim@corp.example.attacker.test",
        "victim@<!-- c -->corp.example.attacker.test",
        1,
    );
    assert_eq!(name_id(&accept(&xml)), "victim@corp.example.attacker.test");
}

#[test]
fn case_25_cdata_split_nameid_reports_whole_value() {
    let xml = fixture("long_nameid").replacen(
        "victim@corp.example.attacker.test",
        "victim@corp.example<![CDATA[.attacker.test]]>",
        1,
    );
    assert_eq!(name_id(&accept(&xml)), "victim@corp.example.attacker.test");
}

#[test]
fn case_26_reference_split_nameid_reports_whole_value() {
    let xml = fixture("long_nameid").replacen(
        "victim@corp.example.attacker.test",
        "victim@corp.example&#46;attacker.test",
        1,
    );
    assert_eq!(name_id(&accept(&xml)), "victim@corp.example.attacker.test");
    let xml = fixture("long_nameid").replacen(
        "victim@corp.example.attacker.test",
        "victim@corp.example&foo;attacker.test",
        1,
    );
    reject(&xml, "xml_forbidden");
}

#[test]
fn case_27_processing_instruction_inside_nameid() {
    let xml = fixture("long_nameid").replacen(
        "victim@corp.example.attacker.test",
        "victim@corp.example<?x y?>.attacker.test",
        1,
    );
    reject(&xml, "xml_forbidden");
}

#[test]
fn case_28_empty_digest_value() {
    reject(
        &regex_replace(
            &fixture("assertion_signed"),
            "<ds:DigestValue>",
            "</ds:DigestValue>",
            "",
        ),
        "signature_invalid",
    );
}

#[test]
fn case_29_signature_value_wrong_length_or_not_base64() {
    let xml = fixture("assertion_signed");
    reject(
        &regex_replace(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>", "AQ=="),
        "signature_invalid",
    );
    reject(
        &regex_replace(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>", "!!!"),
        "signature_invalid",
    );
    reject(
        &regex_replace(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>", ""),
        "signature_invalid",
    );
}

fn regex_replace(xml: &str, open: &str, close: &str, with: &str) -> String {
    let s = xml.find(open).unwrap() + open.len();
    let e = s + xml[s..].find(close).unwrap();
    format!("{}{with}{}", &xml[..s], &xml[e..])
}

// ---- 3. presence, keys, algorithms ----

#[test]
fn case_30_signature_exclusion() {
    reject(&fixture("unsigned"), "signature_missing");
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    reject(
        &xml.replacen(a, &strip_signature(a), 1),
        "signature_missing",
    );
}

#[test]
fn case_31_signed_response_unsigned_assertion_policy() {
    accept(&fixture("response_signed"));
    let strict = builder()
        .require_signed(SignaturePolicy::Assertion)
        .build()
        .unwrap();
    reject_with(&strict, &fixture("response_signed"), "signature_missing");
    let both = builder()
        .require_signed(SignaturePolicy::Both)
        .build()
        .unwrap();
    reject_with(&both, &fixture("assertion_signed"), "signature_missing");
}

#[test]
fn case_33_basic_tamper() {
    reject(
        &fixture("assertion_signed").replace("victim@corp.example", "attacker@corp.example"),
        "digest_mismatch",
    );
    reject(
        &fixture("both_signed").replace(">Ada<", ">Eve<"),
        "digest_mismatch",
    );
    let xml = fixture("assertion_signed");
    let v = regex_replace(&xml, "<ds:SignatureValue>", "</ds:SignatureValue>", "");
    let sig = &xml
        [xml.find("<ds:SignatureValue>").unwrap() + 19..xml.find("</ds:SignatureValue>").unwrap()];
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    reject(
        &v.replacen(
            "<ds:SignatureValue></ds:SignatureValue>",
            &format!("<ds:SignatureValue>{flipped}</ds:SignatureValue>"),
            1,
        ),
        "signature_invalid",
    );
}

#[test]
fn case_34_attacker_key_in_key_info() {
    reject(&fixture("assertion_attacker_key"), "untrusted_key");
}

#[test]
fn case_38_hmac_refused() {
    let xml = fixture("assertion_signed").replace(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    );
    reject(&xml, "unsupported_algorithm");
}

#[test]
fn case_40_weak_unknown_empty_algorithms() {
    let xml = fixture("assertion_signed");
    for alg in [
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "http://example.com/none",
        "",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
    ] {
        reject(
            &xml.replace("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", alg),
            "unsupported_algorithm",
        );
    }
    reject(
        &xml.replace(
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2001/04/xmldsig-more#md5",
        ),
        "unsupported_algorithm",
    );
    // SHA-1 only with the legacy option.
    reject(&fixture("assertion_rsa_sha1"), "unsupported_algorithm");
    let legacy = builder()
        .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_legacy_crypto())
        .build()
        .unwrap();
    legacy
        .validate_response(fixture("assertion_rsa_sha1").as_bytes(), Some(REQ), now())
        .unwrap();
}

#[test]
fn case_41_key_type_and_size() {
    let xml = fixture("assertion_signed").replace(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    );
    let e = sp()
        .validate_response(xml.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "unsupported_algorithm" | "signature_invalid"),
        "{e}"
    );
    // A 1024-bit IdP key: refused by default, accepted with the legacy option.
    let weak = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, cert("idp1024")).unwrap(),
    )
    .build()
    .unwrap();
    reject_with(
        &weak,
        &fixture("assertion_key1024"),
        "unsupported_algorithm",
    );
    let legacy = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, cert("idp1024")).unwrap(),
    )
    .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_legacy_crypto())
    .build()
    .unwrap();
    legacy
        .validate_response(fixture("assertion_key1024").as_bytes(), Some(REQ), now())
        .unwrap();
}

#[test]
fn case_42_whitespace_in_base64_values_still_verifies() {
    // SignatureValue and X509Certificate are outside SignedInfo: white space there is legal
    // base64Binary and must still verify. (DigestValue is inside SignedInfo, so it is signed.)
    let xml = fixture("assertion_signed");
    let sv = &xml
        [xml.find("<ds:SignatureValue>").unwrap() + 19..xml.find("</ds:SignatureValue>").unwrap()];
    let spaced = format!("\n  {}\n \t {}\n", &sv[..10], &sv[10..]);
    accept(&xml.replacen(sv, &spaced, 1));
}

// ---- 4. references and transforms ----

#[test]
fn case_43_reference_not_parent_id() {
    reject(
        &fixture("assertion_signed").replacen(
            "URI=\"#_assert_7b3e4f10c2\"",
            "URI=\"#_resp_5f1c0d2e9a\"",
            1,
        ),
        "signature_profile",
    );
}

#[test]
fn case_44_empty_or_missing_uri_on_assertion() {
    reject(
        &fixture("assertion_signed").replacen("URI=\"#_assert_7b3e4f10c2\"", "URI=\"\"", 1),
        "signature_profile",
    );
    reject(
        &fixture("assertion_signed").replacen(" URI=\"#_assert_7b3e4f10c2\"", "", 1),
        "signature_profile",
    );
}

#[test]
fn case_45_xpointer_and_external_uris() {
    for uri in [
        "#xpointer(/)",
        "http://attacker/x",
        "_assert_7b3e4f10c2",
        "#",
        "# _assert_7b3e4f10c2",
        "#_assert_7b3e4f10c2#x",
    ] {
        reject(
            &fixture("assertion_signed").replacen("#_assert_7b3e4f10c2", uri, 1),
            "signature_profile",
        );
    }
}

#[test]
fn case_46_two_references() {
    let xml = fixture("assertion_signed");
    let s = xml.find("<ds:Reference").unwrap();
    let e = xml.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    reject(
        &xml.replacen(&xml[s..e].to_owned(), &xml[s..e].repeat(2), 1),
        "signature_profile",
    );
}

#[test]
fn case_49_transform_allow_list() {
    let xml = fixture("assertion_signed");
    for t in [
        "http://www.w3.org/TR/1999/REC-xpath-19991116",
        "http://www.w3.org/2002/06/xmldsig-filter2",
        "http://www.w3.org/TR/1999/REC-xslt-19991116",
        "http://www.w3.org/2000/09/xmldsig#base64",
    ] {
        let bad = xml.replacen(
            "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            &format!("<ds:Transform Algorithm=\"{t}\"/>"),
            1,
        );
        reject(&bad, "unsupported_algorithm");
    }
}

#[test]
fn case_50_too_many_or_missing_transforms() {
    let xml = fixture("assertion_signed");
    let exc = "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>";
    reject(&xml.replacen(exc, &exc.repeat(3), 1), "signature_profile");
    reject(
        &xml.replacen(
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "",
            1,
        ),
        "signature_profile",
    );
}

#[test]
fn case_52_signature_misplaced_inside_subject() {
    let xml = fixture("assertion_signed");
    let s = xml.find("<ds:Signature").unwrap();
    let e = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = xml[s..e].to_owned();
    let moved = format!("{}{}", &xml[..s], &xml[e..]).replacen(
        "<saml:Subject>",
        &format!("<saml:Subject>{sig}"),
        1,
    );
    reject(&moved, "signature_missing");
}

#[test]
fn case_53_signature_in_wrong_namespace() {
    let xml = fixture("assertion_signed").replacen(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig\">",
        1,
    );
    let e = sp()
        .validate_response(xml.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(matches!(e.code(), "malformed" | "signature_missing"), "{e}");
}

// ---- 5. IDs and namespaces ----

#[test]
fn case_54_duplicate_id_anywhere() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen(
            "<samlp:Status>",
            "<samlp:Extensions><x ID=\"_assert_7b3e4f10c2\"/></samlp:Extensions><samlp:Status>",
            1,
        ),
        "duplicate_id",
    );
}

#[test]
fn case_58_saml_1_namespace_assertion() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let fake = strip_signature(a).replace(
        "urn:oasis:names:tc:SAML:2.0:assertion",
        "urn:oasis:names:tc:SAML:1.0:assertion",
    );
    reject(&xml.replacen(a, &fake, 1), "malformed");
}

// ---- 6. parser layer ----

#[test]
fn case_63_doctype_of_any_kind() {
    let xml = fixture("assertion_signed").replacen(
        "<samlp:Response",
        "<!DOCTYPE r [<!ENTITY x \"y\">]><samlp:Response",
        1,
    );
    reject(&xml, "xml_forbidden");
}

#[test]
fn case_66_trailing_content() {
    reject(
        &(fixture("assertion_signed") + "<samlp:Response/>"),
        "xml_malformed",
    );
}

#[test]
fn case_67_processing_instruction_in_prolog() {
    reject(
        &fixture("assertion_signed").replacen(
            "<samlp:Response",
            "<?xml-stylesheet href=\"http://attacker/x.xsl\"?><samlp:Response",
            1,
        ),
        "xml_forbidden",
    );
}

#[test]
fn case_68_deep_nesting() {
    let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
    reject(
        &fixture("assertion_signed").replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions>{deep}</samlp:Extensions><samlp:Status>"),
            1,
        ),
        "xml_limit_exceeded",
    );
}

// ---- 7. profile checks ----

#[test]
fn case_72_status_not_success() {
    let e = sp()
        .validate_response(fixture("status_responder").as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "status_not_success");
    assert!(e.to_string().contains("Responder"), "{e}");
}

#[test]
fn case_73_version() {
    reject(&fixture("version_1_1"), "malformed");
}

#[test]
fn case_74_issuer() {
    reject(&fixture("assertion_issuer_wrong"), "issuer_mismatch");
    reject(&fixture("response_issuer_wrong"), "issuer_mismatch");
}

#[test]
fn case_75_destination() {
    reject(&fixture("destination_wrong"), "destination_mismatch");
    reject(&fixture("destination_missing"), "destination_mismatch");
}

#[test]
fn case_76_audience() {
    reject(&fixture("audience_wrong"), "audience_mismatch");
    reject(&fixture("audience_prefix"), "audience_mismatch");
    reject(&fixture("audience_two_restrictions"), "audience_mismatch");
    reject(&fixture("no_conditions"), "malformed");
}

#[test]
fn case_77_conditions_time_window() {
    reject(&fixture("expired"), "expired");
    reject(&fixture("not_yet_valid"), "not_yet_valid");
    // Skew: 09:30 + 180 s has passed at 10:00:30; with a 31-minute window it would not have.
    let lenient = builder()
        .clock_skew(chrono::Duration::minutes(31))
        .build()
        .unwrap();
    lenient
        .validate_response(fixture("expired").as_bytes(), Some(REQ), now())
        .unwrap();
    // Exclusive upper bound: NotOnOrAfter == now with zero skew is expired.
    let exact = builder()
        .clock_skew(chrono::Duration::zero())
        .build()
        .unwrap();
    let at_end = parse_instant("2030-01-01T10:05:00Z", "now").unwrap();
    let e = exact
        .validate_response(fixture("assertion_signed").as_bytes(), Some(REQ), at_end)
        .unwrap_err();
    assert_eq!(e.code(), "expired");
}

#[test]
fn case_78_unknown_condition() {
    reject(&fixture("unknown_condition"), "malformed");
}

#[test]
fn case_79_subject_confirmation() {
    reject(&fixture("recipient_wrong"), "recipient_mismatch");
    reject(
        &fixture("scd_without_not_on_or_after"),
        "no_bearer_confirmation",
    );
    reject(&fixture("holder_of_key_only"), "no_bearer_confirmation");
}

#[test]
fn case_80_in_response_to() {
    let xml = fixture("assertion_signed");
    let e = sp()
        .validate_response(xml.as_bytes(), Some("_other"), now())
        .unwrap_err();
    assert_eq!(e.code(), "in_response_to_mismatch");
    let e = sp()
        .validate_response(xml.as_bytes(), None, now())
        .unwrap_err();
    assert_eq!(e.code(), "unknown_in_response_to");
}

#[test]
fn case_81_unsolicited() {
    reject(&fixture("unsolicited"), "unsolicited_response");
    let open = builder()
        .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses())
        .build()
        .unwrap();
    let a = open
        .validate_response(fixture("unsolicited").as_bytes(), None, now())
        .unwrap();
    assert_eq!(a.in_response_to(), None);
    // A solicited response still has to match even when unsolicited ones are allowed.
    let e = open
        .validate_response(fixture("assertion_signed").as_bytes(), None, now())
        .unwrap_err();
    assert_eq!(e.code(), "unknown_in_response_to");
}

#[test]
fn case_85_statement_cardinality() {
    reject(&fixture("no_authn_statement"), "malformed");
    reject(&fixture("two_authn_statements"), "malformed");
}

#[test]
fn case_86_encrypted_assertion() {
    // (a)-(d) with real encryption are in tests/encryption.rs (named after each rule). Here: an
    // EncryptedAssertion in place of the signed one, without a decryption key configured, and
    // with one but no EncryptedData inside; beside the plain Assertion.
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let enc = "<saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>";
    reject(&xml.replacen(a, enc, 1), "no_decryption_key");
    let key = std::fs::read_to_string(format!(
        "{}/tests/fixtures/keys/sp.key",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let with_key = builder()
        .decryption_key(saml_sp::xmlenc::DecryptionKey::from_pem(&key).unwrap())
        .build()
        .unwrap();
    reject_with(&with_key, &xml.replacen(a, enc, 1), "malformed");
    reject_with(
        &with_key,
        &xml.replacen(a, &format!("{a}{enc}"), 1),
        "malformed",
    );
}

#[test]
fn case_93_parser_keeps_exact_bytes() {
    for v in [
        " victim@corp.example ",
        "Victim@Corp.Example",
        "victim@corp.example\u{200B}",
        "v\u{456}ctim@corp.example",
    ] {
        let doc = saml_sp::xml::Document::parse(format!("<n>{v}</n>").as_bytes()).unwrap();
        assert_eq!(doc.root().text(), v);
    }
}

#[test]
fn case_94_whitespace_in_signed_content() {
    reject(
        &fixture("assertion_signed").replacen("<saml:Subject>", "<saml:Subject> ", 1),
        "digest_mismatch",
    );
    // Reformatting outside the signed element is fine.
    accept(&fixture("assertion_signed").replacen("<samlp:Status>", "\n  <samlp:Status>", 1));
}

// ---- cases added with the second fixture batch ----

#[test]
fn case_02_xsw2_copy_before_signature() {
    let xml = fixture("response_signed");
    let resp_start = xml.find("<samlp:Response").unwrap();
    let original = &xml[resp_start..];
    let copy = strip_signature(original);
    let evil = original
        .replace("victim@corp.example", "attacker@corp.example")
        .replacen("_resp_5f1c0d2e9a", "_evil_response_ID", 1)
        .replacen("<ds:Signature", &format!("{copy}<ds:Signature"), 1);
    let e = sp()
        .validate_response(
            format!("{}{}", &xml[..resp_start], evil).as_bytes(),
            Some(REQ),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(e.code(), "duplicate_id" | "signature_profile" | "malformed"),
        "{e}"
    );
}

#[test]
fn case_06_xsw6_original_copy_inside_signature() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let copy = strip_signature(a);
    let edited = a
        .replace("victim@corp.example", "attacker@corp.example")
        .replacen("_assert_7b3e4f10c2", "_evil_assertion_ID", 1)
        .replacen("</ds:Signature>", &format!("{copy}</ds:Signature>"), 1);
    let e = sp()
        .validate_response(xml.replacen(a, &edited, 1).as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "signature_profile" | "duplicate_id"),
        "{e}"
    );
}

#[test]
fn case_10_multiple_signed_info_last_wins() {
    let xml = fixture("assertion_signed");
    let si_start = xml.find("<ds:SignedInfo>").unwrap();
    let si_end = xml.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let si = xml[si_start..si_end].to_owned();
    reject(
        &xml.replacen(&si, &format!("{si}{si}"), 1),
        "signature_profile",
    );
}

#[test]
fn case_12_foreign_signed_element_wrapped_into_response() {
    // The genuinely signed assertion hidden in Extensions, a forged unsigned one in its place.
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let forged = evil_copy(a, "_forged_ID");
    let wrapped = xml.replacen(a, &forged, 1).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{a}</samlp:Extensions><samlp:Status>"),
        1,
    );
    reject(&wrapped, "signature_missing");
}

#[test]
fn case_17_decoy_signature_with_object() {
    let xml = fixture("status_responder");
    let s = xml.find("<ds:Signature").unwrap();
    let e = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let decoy = xml[s..e].replacen("</ds:Signature>", "<ds:Object><saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/></ds:Object></ds:Signature>", 1);
    let forged = xml.replacen("</samlp:Response>", &format!("{decoy}</samlp:Response>"), 1);
    let e = sp()
        .validate_response(forged.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "signature_profile" | "status_not_success"),
        "{e}"
    );
}

#[test]
fn case_18_uncanonicalizable_namespace_and_empty_digest() {
    // C1 control in a namespace URI: refused by the parser, never canonicalized to "".
    let xml = fixture("assertion_signed").replacen(
        "<saml:Assertion ",
        "<saml:Assertion xmlns:example=\"http://example.com\u{80}\" ",
        1,
    );
    reject(&xml, "xml_forbidden");
    // The digest of the empty string never matches a real element.
    let empty = regex_replace(
        &fixture("assertion_signed"),
        "<ds:DigestValue>",
        "</ds:DigestValue>",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    );
    reject(&empty, "signature_invalid");
}

#[test]
fn case_19_doctype_comment_cdata_differential() {
    let xml = fixture("assertion_signed");
    let body = xml.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let forged = format!("<!DOCTYPE response SYSTEM 'x\"><!--'>{body}");
    reject(&forged, "xml_forbidden");
}

#[test]
fn case_20_attlist_default_namespace() {
    let xml = fixture("assertion_signed").replacen(
        "<samlp:Response",
        "<!DOCTYPE Response [<!ATTLIST Signature xmlns CDATA #FIXED \"http://www.w3.org/2000/09/xmldsig#\">]><samlp:Response",
        1,
    );
    reject(&xml, "xml_forbidden");
}

#[test]
fn case_21_entity_built_ids() {
    let xml = fixture("assertion_signed")
        .replacen(
            "<samlp:Response",
            "<!DOCTYPE response [<!ENTITY idViaEntity \"_assert_7b3e4f10c2\">]><samlp:Response",
            1,
        )
        .replacen("ID=\"_resp_5f1c0d2e9a\"", "ID=\"&idViaEntity;\"", 1);
    reject(&xml, "xml_forbidden");
}

#[test]
fn case_22_names_a_round_trip_would_rewrite() {
    let xml = fixture("assertion_signed");
    for bad in [
        "<samlp:Response ::foo=\"bar\"",
        "<samlp:Response xmlns:=\"urn:x\"",
    ] {
        reject(&xml.replacen("<samlp:Response", bad, 1), "xml_malformed");
    }
    reject(
        &xml.replacen("<samlp:Status>", "<samlp:Status><!x>", 1),
        "xml_malformed",
    );
}

#[test]
fn case_23_multiple_assertions_appended_or_prepended() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let extra = evil_copy(a, "_assert_attack");
    reject(&xml.replacen(a, &format!("{a}{extra}"), 1), "malformed");
    reject(&xml.replacen(a, &format!("{extra}{a}"), 1), "malformed");
}

#[test]
fn case_32_both_signed_assertion_signature_invalid() {
    // The Response signature is valid (re-signed after the Assertion's was broken).
    reject(
        &fixture("both_assertion_signature_broken"),
        "signature_invalid",
    );
}

#[test]
fn case_35_cloned_certificate() {
    // Same subject as the IdP's certificate, other key: trust is by key bytes, never by name.
    reject(&fixture("assertion_cloned_cert"), "untrusted_key");
}

#[test]
fn case_36_key_value_only() {
    let xml = fixture("assertion_attacker_key");
    let k = regex_replace(
        &xml,
        "<ds:KeyInfo>",
        "</ds:KeyInfo>",
        "<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>",
    );
    reject(&k, "signature_invalid");
}

#[test]
fn case_37_retrieval_method_is_never_followed() {
    let xml = regex_replace(
        &fixture("assertion_signed"),
        "<ds:KeyInfo>",
        "</ds:KeyInfo>",
        "<ds:RetrievalMethod URI=\"http://127.0.0.1:9/x\" Type=\"http://www.w3.org/2000/09/xmldsig#X509Data\"/>",
    );
    // KeyInfo is only a hint: the configured key verifies, nothing is fetched.
    assert_eq!(name_id(&accept(&xml)), "victim@corp.example");
}

#[test]
fn case_39_hmac_output_length() {
    let xml = fixture("assertion_signed").replacen(
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>",
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#hmac-sha1\"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>",
        1,
    );
    reject(&xml, "unsupported_algorithm");
}

#[test]
fn case_47_reference_type_manifest() {
    let xml = fixture("assertion_signed").replacen(
        "<ds:Reference URI=",
        "<ds:Reference Type=\"http://www.w3.org/2000/09/xmldsig#Manifest\" URI=",
        1,
    );
    reject(&xml, "signature_profile");
}

#[test]
fn case_48_object_or_unknown_child_or_duplicate_key_info() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object/>", 1),
        "signature_profile",
    );
    reject(
        &xml.replacen("</ds:KeyInfo>", "</ds:KeyInfo><ds:KeyInfo/>", 1),
        "signature_profile",
    );
    reject(
        &xml.replacen(
            "</ds:SignatureValue>",
            "</ds:SignatureValue><ds:SignatureValue/>",
            1,
        ),
        "signature_profile",
    );
}

#[test]
fn case_51_signed_info_canonicalization_method() {
    let xml = fixture("assertion_signed");
    let cm = "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>";
    reject(&xml.replacen(cm, "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>", 1), "unsupported_algorithm");
    reject(&xml.replacen(cm, "", 1), "signature_profile");
    let e = sp()
        .validate_response(
            xml.replacen(
                cm,
                "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
                1,
            )
            .as_bytes(),
            Some(REQ),
            now(),
        )
        .unwrap_err();
    // Canonical XML 1.1 is implemented: a SignedInfo switched to it after signing no longer
    // canonicalizes to the signed bytes.
    assert_eq!(e.code(), "signature_invalid", "{e}");
}

#[test]
fn case_55_id_attribute_confusion() {
    // Only the unqualified ID attribute is an ID: an earlier element with Id/id/xml:id does not
    // capture the Reference.
    let xml = fixture("assertion_signed");
    for attr in ["Id", "id", "xml:id"] {
        let decoy = format!(
            "<samlp:Extensions><x {attr}=\"_assert_7b3e4f10c2\"/></samlp:Extensions><samlp:Status>"
        );
        accept(&xml.replacen("<samlp:Status>", &decoy, 1));
    }
}

#[test]
fn case_56_prefixed_id_pollution_on_signed_element() {
    let xml = fixture("assertion_signed").replacen(
        "ID=\"_assert_7b3e4f10c2\"",
        "ID=\"_assert_7b3e4f10c2\" xmlns:x=\"urn:x\" x:ID=\"_evil\"",
        1,
    );
    reject(&xml, "digest_mismatch");
}

#[test]
fn case_57_id_syntax() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen("ID=\"_resp_5f1c0d2e9a\"", "ID=\"\"", 1),
        "malformed",
    );
    reject(
        &xml.replacen("ID=\"_resp_5f1c0d2e9a\"", "ID=\"a b\"", 1),
        "malformed",
    );
    reject(
        &xml.replacen("ID=\"_resp_5f1c0d2e9a\"", "ID=\"element(/1/3)\"", 1),
        "malformed",
    );
}

#[test]
fn case_59_undeclared_prefix_and_illegal_declarations() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen("<samlp:Status>", "<foo:Bar/><samlp:Status>", 1),
        "xml_malformed",
    );
    reject(
        &xml.replacen(
            "<samlp:Response ",
            "<samlp:Response xmlns:xml=\"urn:x\" ",
            1,
        ),
        "xml_malformed",
    );
    reject(
        &xml.replacen("<samlp:Response ", "<samlp:Response xmlns:saml=\"\" ", 1),
        "xml_malformed",
    );
}

#[test]
fn case_60_duplicate_attributes() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen("Version=\"2.0\"", "Version=\"2.0\" Version=\"3.0\"", 1),
        "xml_malformed",
    );
    reject(
        &xml.replacen(
            "<samlp:Response ",
            "<samlp:Response xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" a:v=\"1\" b:v=\"2\" ",
            1,
        ),
        "xml_malformed",
    );
}

#[test]
fn case_61_exc_c14n_positive_shapes() {
    for f in [
        "pretty_printed",
        "unused_namespaces",
        "crlf_and_tabs",
        "assertion_prefix_list",
        "assertion_default_ns",
    ] {
        accept(&fixture(f));
    }
    assert_eq!(
        accept(&fixture("crlf_and_tabs")).attribute("FirstName"),
        ["A\r\nd\ta"]
    );
}

#[test]
fn case_62_qname_in_content_is_not_interpreted() {
    // xs is not in the PrefixList of this fixture's signature; rebinding it on the unsigned
    // Response changes nothing signed, and the value is returned as a plain string.
    let xml = fixture("assertion_signed").replacen(
        "<samlp:Response ",
        "<samlp:Response xmlns:xs=\"urn:evil\" ",
        1,
    );
    assert_eq!(accept(&xml).attribute("FirstName"), ["Ada"]);
}

#[test]
fn case_64_encoding_tricks() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1),
        "xml_forbidden",
    );
    reject(
        &xml.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1),
        "xml_forbidden",
    );
    let mut bytes = xml.into_bytes();
    let at = bytes.len() - 20;
    bytes[at] = 0xC0;
    let e = sp()
        .validate_response(&bytes, Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "xml_forbidden");
}

#[test]
fn case_65_xml_1_1_and_illegal_characters() {
    let xml = fixture("assertion_signed");
    reject(
        &xml.replacen("version=\"1.0\"", "version=\"1.1\"", 1),
        "xml_forbidden",
    );
    reject(
        &xml.replacen("<samlp:Status>", "<samlp:Status>&#0;", 1),
        "xml_malformed",
    );
    reject(
        &xml.replacen("<samlp:Status>", "<samlp:Status>\u{1}", 1),
        "xml_malformed",
    );
}

#[test]
fn case_69_attribute_and_namespace_explosion() {
    let xml = fixture("assertion_signed");
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let big = ServiceProvider::builder(SP, ACS, IdentityProvider::new(IDP, cert("idp")).unwrap())
        .limits(saml_sp::xml::Limits::default().with_max_input_bytes(4 << 20))
        .build()
        .unwrap();
    reject_with(
        &big,
        &xml.replacen("<samlp:Status>", &format!("<samlp:Status{attrs}>"), 1),
        "xml_limit_exceeded",
    );
    let decls: String = (0..100_000)
        .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
        .collect();
    reject_with(
        &big,
        &xml.replacen("<samlp:Status>", &format!("<samlp:Status{decls}>"), 1),
        "xml_limit_exceeded",
    );
}

#[test]
fn case_70_oversized_message() {
    let big = format!("{}{}", fixture("assertion_signed"), " ".repeat(1 << 20));
    reject(&big, "xml_limit_exceeded");
    let b64 = "A".repeat(20 << 20);
    assert_eq!(
        sp().decode_post(&b64).unwrap_err().code(),
        "xml_limit_exceeded"
    );
}

#[test]
fn case_71_malformed_values_never_panic() {
    let xml = fixture("both_signed");
    for cut in (0..xml.len()).step_by(97) {
        assert!(
            sp().validate_response(&xml.as_bytes()[..cut], Some(REQ), now())
                .is_err()
        );
    }
    let no_si = regex_replace(
        &xml,
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
        "<ds:SignatureValue>",
        "",
    );
    assert!(
        sp().validate_response(no_si.as_bytes(), Some(REQ), now())
            .is_err()
    );
    let bad_cert = regex_replace(
        &xml,
        "<ds:X509Certificate>",
        "</ds:X509Certificate>",
        "!!notbase64",
    );
    // KeyInfo is only a hint: a broken certificate there changes nothing.
    accept(&bad_cert);
    assert!(
        Certificate::parse_all(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
            .is_err()
    );
}

#[test]
fn case_82_replay() {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    let requests = saml_sp::store::MemoryRequestStore::default();
    let replay = saml_sp::store::MemoryReplayCache::default();
    let open = builder()
        .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses())
        .build()
        .unwrap();
    let xml = fixture("unsolicited");
    let run = |bytes: &[u8]| match pin!(open.consume(bytes, "t", &requests, &replay, now()))
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("pending"),
    };
    run(xml.as_bytes()).unwrap();
    assert_eq!(
        run(xml.as_bytes()).unwrap_err().code(),
        "replayed_assertion"
    );
    // Re-encoded (reformatted outside the signed element): still the same assertion.
    let reformatted = xml.replacen("<samlp:Status>", "\n<samlp:Status>", 1);
    assert_eq!(
        run(reformatted.as_bytes()).unwrap_err().code(),
        "replayed_assertion"
    );
}

#[test]
fn case_83_stale_or_future_issue_instant() {
    reject(&fixture("issue_instant_stale"), "expired");
    reject(&fixture("issue_instant_future"), "not_yet_valid");
}

#[test]
fn case_84_timestamp_syntax() {
    for f in [
        "time_with_offset",
        "time_without_zone",
        "time_leap_second",
        "time_garbage",
    ] {
        reject(&fixture(f), "invalid_time");
    }
}

#[test]
fn case_87_post_base64() {
    let sp = sp();
    for bad in ["???", "YWJj=", "-_-_", "YWJjZA"] {
        assert_eq!(sp.decode_post(bad).unwrap_err().code(), "binding", "{bad}");
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(fixture("assertion_signed"));
    let wrapped: String = b64
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let decoded = sp.decode_post(&wrapped).unwrap();
    sp.validate_response(&decoded, Some(REQ), now()).unwrap();
    let not_xml = base64::engine::general_purpose::STANDARD.encode("<hello>World!</hello>");
    let e = sp
        .validate_response(&sp.decode_post(&not_xml).unwrap(), Some(REQ), now())
        .unwrap_err();
    assert_eq!(e.code(), "malformed");
}

#[test]
fn case_93_exact_nameid_bytes_signed_by_the_idp() {
    for (f, want) in [
        ("nameid_spaces", " victim@corp.example "),
        ("nameid_case", "Victim@Corp.Example"),
        ("nameid_zero_width", "victim@corp.example\u{200B}"),
        ("nameid_cyrillic", "v\u{456}ctim@corp.example"),
        (
            "nameid_fullwidth",
            "\u{FF56}\u{FF49}\u{FF43}\u{FF54}\u{FF49}\u{FF4D}@corp.example",
        ),
        ("nameid_rtl_override", "victim@corp.example\u{202E}"),
    ] {
        assert_eq!(name_id(&accept(&fixture(f))), want, "{f}");
    }
}

#[test]
fn requested_authn_context_is_enforced_when_configured() {
    let ppt = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
    let mfa = "http://schemas.microsoft.com/claims/multipleauthn";
    builder()
        .require_authn_context([ppt, mfa])
        .build()
        .unwrap()
        .validate_response(fixture("assertion_signed").as_bytes(), Some(REQ), now())
        .unwrap();
    let strict = builder().require_authn_context([mfa]).build().unwrap();
    reject_with(
        &strict,
        &fixture("assertion_signed"),
        "authn_context_mismatch",
    );
}

#[test]
fn every_error_names_expected_and_found() {
    let e = sp()
        .validate_response(fixture("audience_wrong").as_bytes(), Some(REQ), now())
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(SP) && msg.contains("https://other.example.com"),
        "{msg}"
    );
    let e = sp()
        .validate_response(fixture("recipient_wrong").as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(e.to_string().contains(ACS) && e.to_string().contains("https://evil.example.com/acs"));
}

#[test]
fn text_directly_inside_assertion_or_response_is_refused() {
    // Re-signing is not needed: the Response is unsigned here and text in it is refused first.
    let xml =
        fixture("assertion_signed").replacen("<samlp:Status>", "forged text<samlp:Status>", 1);
    reject(&xml, "malformed");
}
