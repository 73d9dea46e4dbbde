//! Validates one of the bench Responses in `tests/fixtures/bench` in a loop, for profilers that do not
//! suit criterion (callgrind, `perf record`) and for interleaved runs of two builds on a machine
//! whose speed drifts:
//!
//! ```sh
//! cargo build --release --example profile_validate
//! target/release/examples/profile_validate response_large 1000
//! valgrind --tool=callgrind target/release/examples/profile_validate response_large 12
//! ```
//!
//! Prints the mean time per validation (base64 body in, identity out, as `benches/validate.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use saml_sp::crypto::Certificate;
use saml_sp::time::parse_instant;
use saml_sp::{IdentityProvider, ServiceProvider};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bench/");
const REQ: &str = "ONELOGIN_4fee3b046395c4e751011e97f8900b5273d56685";

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "response_large".into());
    let n: u32 = args.next().map_or(1000, |s| s.parse().expect("a count"));
    let certs = Certificate::parse_all(&std::fs::read(format!("{DIR}idp.crt")).unwrap()).unwrap();
    let sp = ServiceProvider::builder(
        "https://sp.example.com/saml/metadata",
        "https://sp.example.com/saml/acs",
        IdentityProvider::new("http://www.okta.com/exk1bench0idp0okta0x7", certs).unwrap(),
    )
    .build()
    .unwrap();
    // The bench responses were signed at 2026-11-23T07:27:58Z; validate a minute later.
    let now = parse_instant("2026-11-23T07:28:58Z", "now").unwrap();
    let xml = std::fs::read(format!("{DIR}{name}.xml")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&xml);
    let start = std::time::Instant::now();
    for _ in 0..n {
        let xml = sp.decode_post(&b64).unwrap();
        let a = sp.validate_response(&xml, Some(REQ), now).unwrap();
        std::hint::black_box(a);
    }
    println!("{name}: {:?} per validation", start.elapsed() / n.max(1));
}
