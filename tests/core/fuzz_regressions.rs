//! Inputs that crashed, hung or misbehaved under fuzzing, kept as regression tests (run by plain
//! `cargo test`, no nightly). Each names the target that found it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::fuzzing;

#[test]
fn c14n_idempotence_on_namespace_edge_cases() {
    // Hand-picked shapes the fuzzer is seeded with; findings are appended below.
    for input in [
        &b"<a xmlns=\"urn:x\"><b xmlns=\"\"><c xmlns=\"urn:x\"/></b></a>"[..],
        b"<p:a xmlns:p=\"urn:p\" xmlns:q=\"urn:p\" q:x=\"1\"/>",
        b"<a xml:lang=\"en\"><b ID=\"x\" xml:space=\"preserve\">&#13;&#10;\t</b></a>",
        b"<a ID=\"x\"><![CDATA[]]>&amp;&lt;&gt;&quot;<!---->\r\n</a>",
    ] {
        fuzzing::c14n(input);
    }
}
