//! Replays every fuzz target's committed corpus (fuzz/corpus/<target>/*) through the same entry
//! points the fuzzers call, plus the interop responses and the signed fixtures as extra seeds, as
//! a normal test: no nightly, no libFuzzer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::fuzzing;

fn replay(target: &str, run: fn(&[u8]), extra_dirs: &[&str]) -> usize {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut dirs = vec![format!("{root}/fuzz/corpus/{target}")];
    dirs.extend(extra_dirs.iter().map(|d| format!("{root}/{d}")));
    let mut n = 0;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_file() {
                run(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn corpus_xml_parse() {
    assert!(replay("xml_parse", fuzzing::xml_parse, &["tests/fixtures/signed"]) > 10);
}

#[test]
fn corpus_c14n() {
    assert!(
        replay(
            "c14n",
            fuzzing::c14n,
            &["tests/fixtures/signed", "tests/fixtures/interop/responses"]
        ) > 50
    );
}

#[test]
fn corpus_validate_response() {
    assert!(
        replay(
            "validate_response",
            fuzzing::validate_response,
            &["tests/fixtures/signed", "tests/fixtures/interop/responses"]
        ) > 50
    );
}

#[test]
fn corpus_redirect_decode() {
    assert!(replay("redirect_decode", fuzzing::redirect_decode, &[]) >= 1);
}

#[test]
fn corpus_metadata() {
    assert!(
        replay(
            "metadata",
            fuzzing::metadata,
            &["tests/fixtures/interop/metadata"]
        ) > 5
    );
}

#[test]
fn corpus_cli_input() {
    assert!(replay("cli_input", fuzzing::cli_input, &[]) >= 1);
}

/// The re-signing target's seeds: unsigned test-IdP Responses (a shape byte first) that validate
/// once signed. Set `SAML_SP_WRITE_SEEDS=1` to (re)write them into fuzz/corpus/validate_resigned.
fn resigned_seeds() -> Vec<Vec<u8>> {
    use saml_sp::testkit::{AttributeStyle, SignShape, TestIdp, TestUser};
    let idp = TestIdp::fixed("https://idp.example.com/saml");
    let now = chrono::DateTime::from_timestamp(fuzzing::SIGNED_SEED_NOW, 0).unwrap();
    let mut seeds = Vec::new();
    for (shape, style, user) in [
        (
            0u8,
            AttributeStyle::Okta,
            TestUser::new("ada@example.com").name("Ada", "Lovelace"),
        ),
        (
            1,
            AttributeStyle::Entra,
            TestUser::new("bob@example.com").groups(["a", "b"]),
        ),
    ] {
        let xml = idp
            .response(
                "https://sp.example.com/saml/metadata",
                "https://sp.example.com/saml/acs",
            )
            .in_response_to("_req_fuzz")
            .style(style)
            .user(user)
            .sign(SignShape::Unsigned)
            .build(now)
            .unwrap();
        let mut seed = vec![shape];
        seed.extend_from_slice(xml.as_bytes());
        seeds.push(seed);
    }
    seeds
}

#[test]
fn corpus_validate_resigned_gets_past_the_signature() {
    let seeds = resigned_seeds();
    if std::env::var("SAML_SP_WRITE_SEEDS").is_ok() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/validate_resigned");
        std::fs::create_dir_all(dir).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(format!("{dir}/seed-{i}"), s).unwrap();
        }
    }
    // Each seed, signed again inside the target, is accepted with its request outstanding: the
    // fuzzer's mutations reach the profile checks.
    for s in &seeds {
        assert_eq!(fuzzing::validate_resigned(s), 1);
    }
    // A mutation behind the signature is refused by a profile check, not by the digest.
    let mut wrong = seeds[0].clone();
    let text = String::from_utf8(wrong.split_off(1)).unwrap();
    let text = text.replace(
        "https://sp.example.com/saml/metadata</saml2:Audience>",
        "https://evil.example/</saml2:Audience>",
    );
    wrong.extend_from_slice(text.as_bytes());
    assert_eq!(fuzzing::validate_resigned(&wrong), 0);
    assert!(
        replay(
            "validate_resigned",
            |d| {
                let _ = fuzzing::validate_resigned(d);
            },
            &[]
        ) >= 2
    );
}
