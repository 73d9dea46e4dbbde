//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/core/fuzz_corpus.rs`). Each takes arbitrary bytes and must never panic, hang or allocate
//! without bound; they return nothing because only crashes matter.

use crate::binding::{InflateOptions, decode_redirect, decode_response_input};
use crate::crypto::Certificate;
use crate::metadata::IdpMetadata;
use crate::sp::config::{IdentityProvider, ServiceProvider};
use crate::xml::c14n::{Algorithm, Subset, canonicalize_to_vec};
use crate::xml::{Document, Limits, ParseOptions};

/// Parses into the tree, with and without the parser's cache of repeated start tags (the two
/// trees must agree), and holds the tokenizer to quick-xml's splitting (see
/// `xml::lexer::oracle`).
///
/// # Panics
/// When the tag cache changes the tree or the error, or the parser accepts a document quick-xml
/// refuses, or splits an accepted document differently (a finding).
#[allow(clippy::panic)]
pub fn xml_parse(data: &[u8]) {
    if let Err(finding) = crate::xml::check_tag_cache(data, &ParseOptions::default()) {
        panic!("{finding}");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(finding) = crate::xml::lexer::oracle::check(text)
    {
        panic!("{finding}");
    }
}

/// Canonicalizes the document element and every element with an `ID` in every mode, and checks
/// that exclusive C14N is idempotent, `c14n(parse(c14n(x))) == c14n(x)`, and that reusing
/// repeated start tags (the parser's tag cache, and the canonicalizer's start tags per tag
/// class) changes no output byte.
///
/// # Panics
/// When canonicalization is not idempotent, or the reuse changes the output (a finding).
#[allow(clippy::panic)]
pub fn c14n(data: &[u8]) {
    let opts = ParseOptions::default().with_limits(Limits::default().with_max_nodes(20_000));
    let Ok(doc) = Document::parse_with(data, &opts) else {
        return;
    };
    let Ok(reference) = crate::xml::parse_without_tag_cache(data, &opts) else {
        panic!("the document parses only with the tag cache");
    };
    let mut apexes = vec![doc.root().id()];
    let mut stack = vec![doc.root()];
    while let Some(e) = stack.pop() {
        if e.attribute("ID").is_some() && apexes.len() < 8 {
            apexes.push(e.id());
        }
        stack.extend(e.child_elements());
    }
    for apex in apexes {
        for alg in [
            Algorithm::Exclusive,
            Algorithm::ExclusiveWithComments,
            Algorithm::Inclusive,
            Algorithm::InclusiveWithComments,
            Algorithm::Inclusive11,
            Algorithm::Inclusive11WithComments,
        ] {
            let Ok(once) = canonicalize_to_vec(
                &doc,
                Subset::Element {
                    apex,
                    exclude: None,
                },
                alg,
                &["xs", "#default"],
            ) else {
                // Canonical XML 1.1 refuses an ancestor's xml:base (documented); nothing else fails.
                if alg.is_11() {
                    continue;
                }
                panic!("canonicalize failed on a parsed element");
            };
            let without_reuse = canonicalize_to_vec(
                &reference,
                Subset::Element {
                    apex,
                    exclude: None,
                },
                alg,
                &["xs", "#default"],
            );
            assert!(
                without_reuse.as_ref() == Ok(&once),
                "reused start tags change the {alg:?} output"
            );
            if alg == Algorithm::Exclusive {
                let reparsed = Document::parse_with(
                    &once,
                    &ParseOptions::default().with_limits(
                        Limits::default()
                            .with_max_input_bytes(4 << 20)
                            .with_max_nodes(20_000),
                    ),
                )
                .unwrap_or_else(|e| panic!("canonical output does not parse: {e}"));
                let twice = canonicalize_to_vec(
                    &reparsed,
                    Subset::Element {
                        apex: reparsed.root().id(),
                        exclude: None,
                    },
                    alg,
                    &["xs", "#default"],
                )
                .unwrap_or_else(|e| panic!("{e}"));
                assert!(once == twice, "exclusive C14N is not idempotent");
            }
        }
    }
    let _ = canonicalize_to_vec(
        &doc,
        Subset::Document,
        Algorithm::InclusiveWithComments,
        &[],
    );
}

fn fixed_sp() -> Option<ServiceProvider> {
    const CERT: &str = include_str!("testkit/test-idp.crt");
    let certs = Certificate::parse_all(CERT.as_bytes()).ok()?;
    ServiceProvider::builder(
        "https://sp.example.com/saml/metadata",
        "https://sp.example.com/saml/acs",
        IdentityProvider::new("https://idp.example.com/saml", certs).ok()?,
    )
    .dangerous(
        crate::sp::DangerousOptions::default()
            .dangerous_allow_unsolicited_responses()
            .dangerous_allow_legacy_crypto(),
    )
    .build()
    .ok()
}

/// Full Response validation with a fixed configuration (the attack-test IdP's key).
pub fn validate_response(data: &[u8]) {
    static SP: std::sync::OnceLock<Option<ServiceProvider>> = std::sync::OnceLock::new();
    if let Some(sp) = SP.get_or_init(fixed_sp) {
        let now = chrono::DateTime::from_timestamp(1_893_492_030, 0).unwrap_or_default(); // 2030-01-01T10:00:30Z
        let _ = sp.validate_response(data, Some("_req_0123456789abcdef"), now);
        let _ = sp.validate_response(data, None, now);
    }
}

/// HTTP-Redirect decoding (query parsing, base64, capped inflate).
pub fn redirect_decode(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = decode_redirect(s, &InflateOptions::default());
    }
    let _ = crate::binding::inflate(data, &InflateOptions::default());
}

/// IdP metadata parsing.
pub fn metadata(data: &[u8]) {
    let _ = IdpMetadata::parse(data, None);
}

/// The CLI's input auto-detection (XML, POST base64, form body), then validation. First, the
/// base64 decoder must agree with the `base64` crate's canonical decoding (white space removed).
///
/// # Panics
/// When the two decoders disagree (a finding).
#[allow(clippy::panic)]
pub fn cli_input(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        use base64::Engine as _;
        let compact: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        let oracle = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok();
        if crate::crypto::decode_base64(text) != oracle {
            panic!("base64 decoders disagree on {text:?}");
        }
    }
    if let Ok(xml) = decode_response_input(data, &Limits::default()) {
        validate_response(&xml);
    }
}

/// The instant the signed fuzzing seeds are valid at (2030-01-01T10:00:30Z).
pub const SIGNED_SEED_NOW: i64 = 1_893_492_030;

/// Gets past the signature: takes a (mutated) unsigned Response, signs its Assertion, and its
/// Response too when the first byte is odd, with the test IdP's key, then validates. So the
/// profile checks after the signature (issuer, subject, confirmations, conditions, audience,
/// statements, attributes, InResponseTo) see the fuzzer's input instead of ending at
/// `digest_mismatch`.
///
/// Returns how many of the two validations (with and without an outstanding request) accepted.
///
/// # Panics
/// When an accepted assertion is not the one that was signed (a finding).
#[allow(clippy::panic)]
pub fn validate_resigned(data: &[u8]) -> usize {
    use crate::testkit::TestIdp;
    static IDP: std::sync::OnceLock<TestIdp> = std::sync::OnceLock::new();
    static SP: std::sync::OnceLock<Option<ServiceProvider>> = std::sync::OnceLock::new();
    let Some((&shape, rest)) = data.split_first() else {
        return 0;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return 0;
    };
    let idp = IDP.get_or_init(|| TestIdp::fixed("https://idp.example.com/saml"));
    let Some(sp) = SP.get_or_init(|| {
        ServiceProvider::builder(
            "https://sp.example.com/saml/metadata",
            "https://sp.example.com/saml/acs",
            IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).ok()?,
        )
        .build()
        .ok()
    }) else {
        return 0;
    };
    let Ok(doc) = Document::parse(text.as_bytes()) else {
        return 0;
    };
    let root = doc.root();
    let Some(assertion_id) = root
        .child_elements()
        .find(|e| e.local_name() == "Assertion")
        .and_then(|a| a.attribute("ID"))
        .map(str::to_owned)
    else {
        return 0;
    };
    let response_id = root.attribute("ID").map(str::to_owned);
    drop(doc);
    let Ok(mut signed) = idp.sign(text, &assertion_id) else {
        return 0;
    };
    if shape & 1 == 1
        && let Some(rid) = response_id
        && let Ok(both) = idp.sign(&signed, &rid)
    {
        signed = both;
    }
    let now = chrono::DateTime::from_timestamp(SIGNED_SEED_NOW, 0).unwrap_or_default();
    let mut accepted = 0;
    for request in [Some("_req_fuzz"), None] {
        if let Ok(a) = sp.validate_response(signed.as_bytes(), request, now) {
            assert!(
                a.assertion_id() == assertion_id,
                "accepted assertion {:?}, signed {assertion_id:?}",
                a.assertion_id()
            );
            accepted += 1;
        }
    }
    accepted
}
