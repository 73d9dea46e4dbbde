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
    // (a)-(d) with real encryption are in tests/core/encryption.rs (named after each rule). Here: an
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

// ---- Published advisories (issue 28) ----
// One test per advisory against a SAML SP library since 2023, each reproducing the advisory's
// input shape against this crate (the strongest variant where the advisory leaves it open). The
// README's security section lists them, with the reason this crate was never affected. The
// advisories on logout messages, the Redirect binding and XML Encryption are in tests/core/logout.rs
// and tests/core/encryption.rs.

/// SHA-256 of the exclusive canonical form of `element` (a complete element declaring every
/// prefix it uses), base64: the DigestValue a Reference to it must carry.
fn digest_of(element: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let doc = saml_sp::xml::Document::parse(element.as_bytes()).unwrap();
    let c14n = saml_sp::xml::c14n::canonicalize_to_vec(
        &doc,
        saml_sp::xml::c14n::Subset::Document,
        saml_sp::xml::c14n::Algorithm::Exclusive,
        &[],
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&c14n))
}

/// The signed assertion with the NameID changed, and the correct digest of that forged content:
/// what an attacker needs a verifier to compare against.
fn forged_assertion_and_its_digest(xml: &str) -> (String, String) {
    let a = signed_assertion(xml);
    // The helper computes what the verifier computes: the genuine content gives the genuine
    // DigestValue, so the forged digest below is exactly what a confused verifier would accept.
    let genuine = xml
        .split("<ds:DigestValue>")
        .nth(1)
        .unwrap()
        .split("</ds:DigestValue>")
        .next()
        .unwrap();
    assert_eq!(digest_of(&strip_signature(a)), genuine);
    let forged = a.replace("victim@corp.example", "attacker@corp.example");
    let digest = digest_of(&strip_signature(&forged));
    (forged, digest)
}

/// ruby-saml CVE-2024-45409 (GHSA-jw9c-mfg7-9rx2): the DigestValue was found by a document-wide
/// XPath, so one placed before the signature (in Extensions, or in an Object after SignedInfo)
/// was compared instead of the signed one. Here the planted DigestValue is the true digest of
/// the forged assertion. Only the DigestValue inside the signed SignedInfo counts.
#[test]
fn advisory_ruby_saml_cve_2024_45409_digest_value_from_outside_signed_info() {
    let xml = fixture("assertion_signed");
    let (forged, digest) = forged_assertion_and_its_digest(&xml);
    let planted = format!(
        "<ds:DigestValue xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{digest}</ds:DigestValue>"
    );
    let before = xml.replacen(signed_assertion(&xml), &forged, 1).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{planted}</samlp:Extensions><samlp:Status>"),
        1,
    );
    reject(&before, "digest_mismatch");
    let in_object = xml.replacen(
        signed_assertion(&xml),
        &forged.replacen(
            "</ds:SignatureValue>",
            &format!("</ds:SignatureValue><ds:Object>{planted}</ds:Object>"),
            1,
        ),
        1,
    );
    let e = sp()
        .validate_response(in_object.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "signature_profile" | "digest_mismatch"),
        "{e}"
    );
}

/// ruby-saml CVE-2025-25291 (GHSA-4vc4-m8qh-g8jm): REXML and Nokogiri parsed a DOCTYPE whose
/// quoted system literal hides a comment differently, so the signature was checked on one tree
/// and the assertion read from another. One parser here, and it refuses any DOCTYPE.
#[test]
fn advisory_ruby_saml_cve_2025_25291_doctype_parser_differential() {
    let xml = fixture("assertion_signed");
    let body = xml.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (forged, _) = forged_assertion_and_its_digest(&xml);
    for prolog in [
        "<!DOCTYPE response SYSTEM 'x\"><!--'>",
        "<!DOCTYPE response [<!ENTITY x \"--><samlp:Response>\">]>",
        "<!DOCTYPE response PUBLIC \"-//A//B\" \"<!--\">",
    ] {
        reject(&format!("{prolog}{body}"), "xml_forbidden");
        reject(
            &format!(
                "{prolog}{}",
                body.replacen(signed_assertion(body), &forged, 1)
            ),
            "xml_forbidden",
        );
    }
}

/// ruby-saml CVE-2025-25292 (GHSA-754f-8gm6-c4r2): an internal-subset ATTLIST gives `Signature`
/// a default `xmlns`, so the two parsers disagree on which element is the signature.
#[test]
fn advisory_ruby_saml_cve_2025_25292_attlist_namespace_differential() {
    for attlist in [
        "<!ATTLIST Signature xmlns CDATA #FIXED \"http://www.w3.org/2000/09/xmldsig#\">",
        "<!ATTLIST saml:Assertion xmlns:ds CDATA \"urn:not-dsig\">",
    ] {
        let xml = fixture("assertion_signed").replacen(
            "<samlp:Response",
            &format!("<!DOCTYPE Response [{attlist}]><samlp:Response"),
            1,
        );
        reject(&xml, "xml_forbidden");
    }
}

/// ruby-saml CVE-2025-66567 (GHSA-9v8j-x534-2fx3), the namespace variant left by the first fix:
/// without any DOCTYPE, the real signature is moved out of the XML-DSig namespace (its prefix
/// re-declared) and a look-alike added. Elements are matched by namespace URI, never by prefix.
#[test]
fn advisory_ruby_saml_cve_2025_66567_signature_prefix_redeclared() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let (forged, _) = forged_assertion_and_its_digest(&xml);
    let moved = forged.replacen(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
        "<ds:Signature xmlns:ds=\"urn:not-xmldsig\">",
        1,
    );
    reject(&xml.replacen(a, &moved, 1), "signature_missing");
    // The genuine signature kept, but `saml` re-declared inside the assertion: the NameID the
    // signature covers is no longer a SAML NameID, and nothing else is read in its place.
    let renamed = a.replacen(
        "<saml:Subject>",
        "<saml:Subject xmlns:saml=\"urn:not-saml\">",
        1,
    );
    let e = sp()
        .validate_response(xml.replacen(a, &renamed, 1).as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(matches!(e.code(), "digest_mismatch" | "malformed"), "{e}");
}

/// ruby-saml CVE-2025-66568 (GHSA-x4h9-gwv3-r4m4): a canonicalization error was treated as an
/// empty result, and the digest of "" compared. Content libxml2 cannot canonicalize is refused
/// here before any digest, and a DigestValue of the empty string never matches.
#[test]
fn advisory_ruby_saml_cve_2025_66568_canonicalization_error_is_never_success() {
    let xml = fixture("assertion_signed");
    let (forged, _) = forged_assertion_and_its_digest(&xml);
    let uncanonicalizable = forged.replacen(
        "<saml:Assertion ",
        "<saml:Assertion xmlns:example=\"http://example.com\u{80}\" ",
        1,
    );
    reject(
        &xml.replacen(signed_assertion(&xml), &uncanonicalizable, 1),
        "xml_forbidden",
    );
    let empty_digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let with_empty = regex_replace(&xml, "<ds:DigestValue>", "</ds:DigestValue>", empty_digest)
        .replacen("victim@corp.example", "attacker@corp.example", 1);
    let e = sp()
        .validate_response(with_empty.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "digest_mismatch" | "signature_invalid"),
        "{e}"
    );
}

/// xmlseclibs CVE-2025-66578 (GHSA-c4cc-x928-vjw9) and CVE-2025-66475: the same family in PHP
/// (a libxml2 canonicalization error bypassing the digest check). Forged content that fails to
/// canonicalize (an undeclared prefix, a character outside XML) is refused by the parser, whose
/// one tree is the tree canonicalized and read.
#[test]
fn advisory_xmlseclibs_cve_2025_66578_66475_canonicalization_error_bypass() {
    let xml = fixture("assertion_signed");
    let (forged, _) = forged_assertion_and_its_digest(&xml);
    for bad in [
        forged.replacen("<saml:Subject>", "<saml:Subject><u:x/>", 1),
        forged.replacen("attacker@corp.example", "attacker@corp.example\u{1}", 1),
    ] {
        let e = sp()
            .validate_response(
                xml.replacen(signed_assertion(&xml), &bad, 1).as_bytes(),
                Some(REQ),
                now(),
            )
            .unwrap_err();
        assert!(matches!(e.code(), "xml_malformed" | "xml_forbidden"), "{e}");
    }
}

/// xml-crypto CVE-2025-29774 (GHSA-x3m8-899r-f7c3's sibling): several SignedInfo elements or
/// References, of which a different one was digested than signed. Exactly one SignedInfo with
/// exactly one Reference is accepted; the forged Reference carries the true forged digest.
#[test]
fn advisory_xml_crypto_cve_2025_29774_several_signed_info_or_references() {
    let xml = fixture("assertion_signed");
    let (forged, digest) = forged_assertion_and_its_digest(&xml);
    let forged_xml = xml.replacen(signed_assertion(&xml), &forged, 1);
    let si_start = forged_xml.find("<ds:SignedInfo>").unwrap();
    let si_end = forged_xml.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let si = forged_xml[si_start..si_end].to_owned();
    let forged_si = regex_replace(&si, "<ds:DigestValue>", "</ds:DigestValue>", &digest);
    for twice in [format!("{si}{forged_si}"), format!("{forged_si}{si}")] {
        reject(&forged_xml.replacen(&si, &twice, 1), "signature_profile");
    }
    let r_start = si.find("<ds:Reference").unwrap();
    let r_end = si.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let reference = &si[r_start..r_end];
    let forged_reference =
        regex_replace(reference, "<ds:DigestValue>", "</ds:DigestValue>", &digest);
    reject(
        &forged_xml.replacen(reference, &format!("{reference}{forged_reference}"), 1),
        "signature_profile",
    );
}

/// xml-crypto CVE-2025-29775 (GHSA-x3m8-899r-f7c3): a comment inside DigestValue. Comments are
/// not part of the canonical SignedInfo, so the IdP's signature still verifies; xml-crypto read
/// the comment's node as the value. Here the comment holds the true digest of the forged
/// assertion: the value is the element's text, and the forged content fails it.
#[test]
fn advisory_xml_crypto_cve_2025_29775_comment_inside_digest_value() {
    let xml = fixture("assertion_signed");
    let (forged, digest) = forged_assertion_and_its_digest(&xml);
    let forged_xml = xml.replacen(signed_assertion(&xml), &forged, 1);
    for (open, close) in [
        (format!("<ds:DigestValue><!--{digest}-->"), String::new()),
        ("<ds:DigestValue>".to_owned(), format!("<!--{digest}-->")),
    ] {
        let planted = forged_xml.replacen("<ds:DigestValue>", &open, 1).replacen(
            "</ds:DigestValue>",
            &format!("{close}</ds:DigestValue>"),
            1,
        );
        reject(&planted, "digest_mismatch");
    }
    // The same comment on the genuine content changes nothing: the signature still verifies.
    accept(&xml.replacen(
        "<ds:DigestValue>",
        &format!("<ds:DigestValue><!--{digest}-->"),
        1,
    ));
}

/// xml-crypto CVE-2024-32962 (GHSA-2xp3-57p7-qf4v): the certificate in KeyInfo was trusted.
/// A Response signed by the attacker's key with the attacker's certificate in KeyInfo, and the
/// same with only a KeyValue: only configured keys verify.
#[test]
fn advisory_xml_crypto_cve_2024_32962_key_info_certificate_is_not_trusted() {
    reject(&fixture("assertion_attacker_key"), "untrusted_key");
    let xml = fixture("assertion_attacker_key");
    let key_value = regex_replace(&xml, "<ds:X509Data>", "</ds:X509Data>", "");
    let e = sp()
        .validate_response(key_value.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(
            e.code(),
            "untrusted_key" | "signature_invalid" | "signature_profile"
        ),
        "{e}"
    );
}

/// node-saml CVE-2025-54369 (GHSA-m837-g268-mm8c): the assertion was read from the unverified
/// document rather than from the signed element: an unsigned forged assertion beside (before or
/// after) the genuinely signed one, or the signed one hidden in Extensions.
#[test]
fn advisory_node_saml_cve_2025_54369_assertion_read_from_the_unverified_document() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let forged = evil_copy(a, "_forged_ID");
    for doc in [
        xml.replacen(a, &format!("{forged}{a}"), 1),
        xml.replacen(a, &format!("{a}{forged}"), 1),
        xml.replacen(a, &forged, 1).replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions>{a}</samlp:Extensions><samlp:Status>"),
            1,
        ),
    ] {
        let e = sp()
            .validate_response(doc.as_bytes(), Some(REQ), now())
            .unwrap_err();
        assert!(matches!(e.code(), "signature_missing" | "malformed"), "{e}");
    }
}

/// node-saml CVE-2025-54419 (GHSA-4mxg-w7p7-gv4c): with the Response signed, the assertion was
/// taken from an outer, unsigned Response wrapping the signed one. The signed Response must be
/// the document element, and identity data is read from it only.
#[test]
fn advisory_node_saml_cve_2025_54419_signed_response_wrapped_in_an_unsigned_one() {
    let xml = fixture("response_signed");
    let resp_start = xml.find("<samlp:Response").unwrap();
    let signed = &xml[resp_start..];
    let a = signed_assertion(signed);
    let forged = a
        .replace("victim@corp.example", "attacker@corp.example")
        .replace("_assert_", "_forged_");
    let outer = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_outer\" Version=\"2.0\" IssueInstant=\"2030-01-01T10:00:00Z\" Destination=\"{ACS}\" InResponseTo=\"{REQ}\"><saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{IDP}</saml:Issuer><samlp:Extensions>{signed}</samlp:Extensions><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>{forged}</samlp:Response>"
    );
    let e = sp()
        .validate_response(outer.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(
            e.code(),
            "signature_missing" | "duplicate_id" | "signature_profile"
        ),
        "{e}"
    );
}

/// samlify CVE-2025-47949 (GHSA-r683-v43c-6xqv): signature wrapping on the Response: the
/// genuinely signed assertion nested inside the attacker's assertion (or its Advice), so a
/// verifier finding "a valid signature somewhere" reads the outer one.
#[test]
fn advisory_samlify_cve_2025_47949_signed_assertion_nested_in_a_forged_one() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let forged = evil_copy(a, "_forged_ID");
    for nested in [
        forged.replacen("</saml:Assertion>", &format!("{a}</saml:Assertion>"), 1),
        forged.replacen(
            "<saml:Subject>",
            &format!("<saml:Advice>{a}</saml:Advice><saml:Subject>"),
            1,
        ),
    ] {
        let e = sp()
            .validate_response(xml.replacen(a, &nested, 1).as_bytes(), Some(REQ), now())
            .unwrap_err();
        assert!(
            matches!(
                e.code(),
                "signature_missing" | "malformed" | "signature_profile"
            ),
            "{e}"
        );
    }
}

/// goxmldsig CVE-2026-33487 (GHSA-479m-364c-43vc): a loop variable captured by reference made
/// the last Reference's element the one digested, so the content of another referenced element
/// could stand in. Here a second Reference points at the genuine Issuer-free copy and the first
/// at the forged assertion: more than one Reference is refused, whatever their order.
#[test]
fn advisory_goxmldsig_cve_2026_33487_content_of_another_referenced_element() {
    let xml = fixture("assertion_signed");
    let (forged, digest) = forged_assertion_and_its_digest(&xml);
    let forged_xml = xml.replacen(signed_assertion(&xml), &forged, 1);
    let r_start = forged_xml.find("<ds:Reference").unwrap();
    let r_end = forged_xml.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let genuine = forged_xml[r_start..r_end].to_owned();
    let other = genuine
        .replacen("#_assert_7b3e4f10c2", "#_resp_5f1c0d2e9a", 1)
        .replacen(
            &genuine[genuine.find("<ds:DigestValue>").unwrap()..],
            &format!("<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"),
            1,
        );
    for both in [format!("{genuine}{other}"), format!("{other}{genuine}")] {
        reject(
            &forged_xml.replacen(&genuine, &both, 1),
            "signature_profile",
        );
    }
}

/// go-saml CVE-2023-48703 (GHSA-8cp4-qxw9-xqjc): the verification key was taken from the
/// message itself. Every key in KeyInfo (certificate, raw key value, or both, even a copy of the
/// configured certificate next to the attacker's) is a hint at most.
#[test]
fn advisory_go_saml_cve_2023_48703_key_taken_from_the_message() {
    reject(&fixture("assertion_attacker_key"), "untrusted_key");
    // The attacker's signature with the IdP's genuine certificate copied into KeyInfo: still
    // verified with the configured key only, so it fails.
    let genuine_cert = fixture("assertion_signed")
        .split("<ds:X509Certificate>")
        .nth(1)
        .unwrap()
        .split("</ds:X509Certificate>")
        .next()
        .unwrap()
        .to_owned();
    let attacker = fixture("assertion_attacker_key");
    let swapped = regex_replace(
        &attacker,
        "<ds:X509Certificate>",
        "</ds:X509Certificate>",
        &genuine_cert,
    );
    reject(&swapped, "signature_invalid");
}

/// XML::Sig CVE-2025-40934: a document without any signature verified as valid. An unsigned
/// Response, and one whose only signature is empty, are refused.
#[test]
fn advisory_xml_sig_cve_2025_40934_unsigned_document() {
    reject(&fixture("unsigned"), "signature_missing");
    let empty = regex_replace(
        &fixture("assertion_signed"),
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
        "</ds:Signature>",
        "",
    );
    let e = sp()
        .validate_response(empty.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "signature_profile" | "signature_missing"),
        "{e}"
    );
}

/// XML::Sig CVE-2026-9487: duplicate IDs, so the element found by ID for the digest was not the
/// element read. Any duplicate ID anywhere in the document is refused, wherever the copy sits.
#[test]
fn advisory_xml_sig_cve_2026_9487_duplicate_ids() {
    let xml = fixture("assertion_signed");
    let a = signed_assertion(&xml);
    let forged = evil_copy(a, "_assert_7b3e4f10c2");
    for doc in [
        xml.replacen(a, &format!("{forged}{a}"), 1),
        xml.replacen(a, &format!("{a}{forged}"), 1),
        xml.replacen(
            "<samlp:Status>",
            &format!("<samlp:Extensions>{forged}</samlp:Extensions><samlp:Status>"),
            1,
        ),
    ] {
        reject(&doc, "duplicate_id");
    }
}

/// Keycloak CVE-2026-18967: OneTimeUse ignored and replays accepted in IdP-initiated flows. An
/// unsolicited Response (accepted only under the dangerous option) is consumed once; a second
/// post, or the same assertion reformatted, is a replay.
#[test]
fn advisory_keycloak_cve_2026_18967_replay_of_an_idp_initiated_response() {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    let requests = saml_sp::store::MemoryRequestStore::default();
    let replay = saml_sp::store::MemoryReplayCache::default();
    let open = builder()
        .dangerous(saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses())
        .build()
        .unwrap();
    let run = |bytes: &[u8]| match pin!(open.consume(bytes, "t", &requests, &replay, now()))
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("pending"),
    };
    let xml = fixture("unsolicited");
    run(xml.as_bytes()).unwrap();
    for again in [
        xml.clone(),
        xml.replacen("<samlp:Status>", " <samlp:Status>", 1),
    ] {
        assert_eq!(
            run(again.as_bytes()).unwrap_err().code(),
            "replayed_assertion"
        );
    }
    // A OneTimeUse assertion is reported to the app (which must not cache it) and consumed once.
    let one = fixture("one_time_use");
    assert!(accept(&one).one_time_use());
}

/// Keycloak issue 45652: SubjectConfirmationData's Recipient and NotOnOrAfter ignored, so an
/// assertion issued for one tenant's ACS was accepted at another's. The same IdP key, two SPs of
/// one app (tenant A and tenant B): A's Response posted to B is refused (Recipient, and the
/// Audience), and an expired confirmation is refused.
#[test]
fn advisory_keycloak_45652_assertion_forwarded_to_another_tenants_acs() {
    let idp = saml_sp::testkit::TestIdp::fixed(IDP);
    let tenant = |t: &str| {
        ServiceProvider::builder(
            format!("https://app.example.com/saml/{t}"),
            format!("https://app.example.com/saml/{t}/acs"),
            IdentityProvider::new(IDP, vec![idp.certificate().clone()]).unwrap(),
        )
        .build()
        .unwrap()
    };
    let for_a = idp
        .response(
            "https://app.example.com/saml/a",
            "https://app.example.com/saml/a/acs",
        )
        .in_response_to(REQ)
        .build(now())
        .unwrap();
    tenant("a")
        .validate_response(for_a.as_bytes(), Some(REQ), now())
        .unwrap();
    let e = tenant("b")
        .validate_response(for_a.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(
            e.code(),
            "destination_mismatch" | "recipient_mismatch" | "audience_mismatch"
        ),
        "{e}"
    );
    // B's own audience, but A's Recipient (the IdP's ACS for A): Recipient decides.
    let recipient_a = idp
        .response(
            "https://app.example.com/saml/b",
            "https://app.example.com/saml/a/acs",
        )
        .in_response_to(REQ)
        .build(now())
        .unwrap();
    let e = tenant("b")
        .validate_response(recipient_a.as_bytes(), Some(REQ), now())
        .unwrap_err();
    assert!(
        matches!(e.code(), "destination_mismatch" | "recipient_mismatch"),
        "{e}"
    );
    // SubjectConfirmationData NotOnOrAfter (the fixture's IdP sets it a few minutes after
    // issue) is enforced: the same Response an hour later is refused.
    let e = tenant("a")
        .validate_response(
            for_a.as_bytes(),
            Some(REQ),
            now() + chrono::Duration::hours(1),
        )
        .unwrap_err();
    assert!(matches!(e.code(), "expired" | "response_too_old"), "{e}");
}

/// quick-xml RUSTSEC-2026-0194 (quadratic duplicate-attribute check) and RUSTSEC-2026-0195
/// (unbounded namespace declarations in NsReader): both through this crate's parser, which
/// bounds attributes and declarations per element before any quadratic or unbounded work.
#[test]
fn advisory_quick_xml_rustsec_2026_0194_0195_attribute_and_namespace_floods() {
    let xml = fixture("assertion_signed");
    let big = ServiceProvider::builder(SP, ACS, IdentityProvider::new(IDP, cert("idp")).unwrap())
        .limits(saml_sp::xml::Limits::default().with_max_input_bytes(8 << 20))
        .build()
        .unwrap();
    let distinct: String = (0..200_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let duplicates: String = (0..200_000).map(|_| " a=\"v\"").collect();
    let decls: String = (0..200_000)
        .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
        .collect();
    for flood in [&distinct, &decls] {
        reject_with(
            &big,
            &xml.replacen("<samlp:Status>", &format!("<samlp:Status{flood}>"), 1),
            "xml_limit_exceeded",
        );
    }
    let e = big
        .validate_response(
            xml.replacen("<samlp:Status>", &format!("<samlp:Status{duplicates}>"), 1)
                .as_bytes(),
            Some(REQ),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(e.code(), "xml_limit_exceeded" | "xml_malformed"),
        "{e}"
    );
}

/// AudienceRestriction semantics (SAML Core 2.5.1.4): the Audiences of one restriction are
/// alternatives (OR), several restrictions must all be met (AND). Peers have got both wrong.
#[test]
fn advisory_audience_restriction_or_within_one_and_across_several() {
    // One restriction listing other SPs and this one: accepted.
    accept(&fixture("audience_many_in_one"));
    // Two restrictions, this SP in only one of them: refused.
    reject(&fixture("audience_two_restrictions"), "audience_mismatch");
    // A restriction naming only others, or a prefix of this SP's entity ID: refused.
    reject(&fixture("audience_wrong"), "audience_mismatch");
    reject(&fixture("audience_prefix"), "audience_mismatch");
}

/// ruby-saml CVE-2025-25293 (GHSA-92rq-c8cf-prrq): a POSTed SAMLResponse that was
/// DEFLATE-compressed got inflated without bound. The POST binding carries base64 of plain XML:
/// nothing is inflated here, the base64 length is capped before decoding, and compressed bytes
/// are refused as not XML.
#[test]
fn advisory_ruby_saml_cve_2025_25293_compressed_message_dos() {
    use base64::Engine as _;
    use std::io::Write as _;
    let b64 = |raw: &[u8]| base64::engine::general_purpose::STANDARD.encode(raw);
    let bomb = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bomb_1gib.deflate"
    ))
    .unwrap();
    assert_eq!(
        sp().decode_post(&b64(&bomb)).unwrap_err().code(),
        "xml_limit_exceeded"
    );
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(fixture("assertion_signed").repeat(2000).as_bytes())
        .unwrap();
    let small = z.finish().unwrap();
    assert!(small.len() < 256 << 10, "{}", small.len());
    let decoded = sp().decode_post(&b64(&small)).unwrap();
    assert_eq!(decoded, small, "the POST binding never inflates");
    let e = sp()
        .validate_response(&decoded, Some(REQ), now())
        .unwrap_err();
    assert!(matches!(e.code(), "xml_malformed" | "xml_forbidden"), "{e}");
}

/// Issue 34, item 5: a failed check carries what was expected and what was found as fields (not
/// only inside its message), for every kind of failure; `untrusted_key` names the configured
/// certificates' fingerprints beside the one received.
#[test]
fn failed_checks_carry_expected_and_found_as_fields() {
    let sp = sp();
    let cases = [
        fixture("assertion_attacker_key"),
        fixture("audience_wrong"),
        fixture("recipient_wrong"),
        fixture("destination_wrong"),
        fixture("expired"),
        fixture("assertion_issuer_wrong"),
        fixture("unsigned"),
        fixture("status_responder"),
        fixture("assertion_signed").replacen("victim@", "attacker@", 1),
    ];
    for xml in &cases {
        let mut report = saml_sp::Report::default();
        let e = sp
            .validate_with_report(xml.as_bytes(), Some(REQ), now(), &mut report)
            .unwrap_err();
        let failed = report
            .checks
            .iter()
            .find(|c| c.result == saml_sp::CheckResult::Failed)
            .unwrap();
        assert!(
            !failed.expected.is_empty() && !failed.found.is_empty(),
            "{}: {failed:?}",
            e.code()
        );
        assert_eq!(failed.detail, e.to_string());
        assert_ne!(failed.expected, failed.found, "{}", e.code());
    }
    let mut report = saml_sp::Report::default();
    sp.validate_with_report(
        fixture("assertion_attacker_key").as_bytes(),
        Some(REQ),
        now(),
        &mut report,
    )
    .unwrap_err();
    let failed = report
        .checks
        .iter()
        .find(|c| c.result == saml_sp::CheckResult::Failed)
        .unwrap();
    for configured in cert("idp").iter().chain(cert("idp-ec").iter()) {
        assert!(
            failed.expected.contains(&configured.fingerprint_hex()),
            "{failed:?}"
        );
        assert!(failed.detail.contains(&configured.fingerprint_hex()));
    }
    let attacker = &cert("attacker")[0];
    assert!(
        failed.found.contains(&attacker.fingerprint_hex()),
        "{failed:?}"
    );
}
