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
            &["tests/fixtures/signed", "../shared/interop/responses"]
        ) > 50
    );
}

#[test]
fn corpus_validate_response() {
    assert!(
        replay(
            "validate_response",
            fuzzing::validate_response,
            &["tests/fixtures/signed", "../shared/interop/responses"]
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
            &["../shared/interop/metadata"]
        ) > 5
    );
}

#[test]
fn corpus_cli_input() {
    assert!(replay("cli_input", fuzzing::cli_input, &[]) >= 1);
}
