//! Resource budgets, tested directly: hostile inputs are refused with a limit error and peak
//! memory stays under a small multiple of the configured input limit. Peak memory is read from
//! /proc/self/status (VmHWM), reset before each case through /proc/self/clear_refs; the cases run
//! one after the other in a single test so nothing else allocates meanwhile. Time budgets are
//! measured by `cargo bench --bench budgets`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use saml_sp::binding::{InflateOptions, decode_post, decode_redirect, inflate};
use saml_sp::xml::{Document, Limits, ParseOptions};

use crate::hostile;

fn status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Peak resident memory added while running `f`, in bytes (None where /proc is unavailable).
fn peak_growth(f: impl FnOnce()) -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let base = status_kb("VmRSS:")?;
    f();
    let peak = status_kb("VmHWM:")?;
    Some(peak.saturating_sub(base) * 1024)
}

fn code_of(r: Result<impl Sized, saml_sp::Error>) -> &'static str {
    match r {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    }
}

#[test]
fn hostile_inputs_stay_within_budget() {
    let limit = 2 << 20; // 2 MiB input limit for the XML cases
    let opts = ParseOptions::default().with_limits(Limits::default().with_max_input_bytes(limit));
    let bound = 8 * limit as u64;

    let b64 = "QUFB".repeat(5 << 20); // 20 MiB of base64
    let nested = "<a>".repeat((1 << 20) / 3);
    let attrs = format!(
        "<r{}/>",
        (0..100_000)
            .map(|i| format!(" a{i}=\"\""))
            .collect::<String>()
    );
    let decls = format!(
        "<r{}/>",
        (0..100_000)
            .map(|i| format!(" xmlns:p{i}=\"u\""))
            .collect::<String>()
    );
    let big_value = format!("<r a=\"{}\"/>", "x".repeat(1 << 20));
    let bomb = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bomb_1gib.deflate"
    ))
    .unwrap();

    // Issue 13's inputs: the forged SignedInfo (validated end to end with default limits) and
    // 80,000 query parameters.
    let forged = hostile::forged_signed_info(58, 32, 99_000);
    let params = hostile::many_params("SAMLRequest", 80_000);
    let idp = saml_sp::testkit::TestIdp::fixed("https://idp.example.com/saml");
    let sp = saml_sp::ServiceProvider::builder(
        "https://sp.example.com/saml/metadata",
        "https://sp.example.com/saml/acs",
        saml_sp::IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
    )
    .build()
    .unwrap();
    let now = chrono::Utc::now();

    let mut report = Vec::new();
    type Case<'a> = (&'a str, Box<dyn FnOnce() -> &'static str + 'a>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "20 MiB base64 body",
            Box::new(|| code_of(decode_post(&b64, &Limits::default()))),
            "xml_limit_exceeded",
        ),
        (
            "1 MiB of nested elements",
            Box::new(|| {
                code_of(Document::parse_with(nested.as_bytes(), &opts).map_err(Into::into))
            }),
            "xml_limit_exceeded",
        ),
        (
            "100,000 attributes",
            Box::new(|| code_of(Document::parse_with(attrs.as_bytes(), &opts).map_err(Into::into))),
            "xml_limit_exceeded",
        ),
        (
            "100,000 namespace declarations",
            Box::new(|| code_of(Document::parse_with(decls.as_bytes(), &opts).map_err(Into::into))),
            "xml_limit_exceeded",
        ),
        (
            "1 MiB attribute value (default limits)",
            Box::new(|| code_of(Document::parse(big_value.as_bytes()).map_err(Into::into))),
            "xml_limit_exceeded",
        ),
        (
            "1 GiB deflate bomb",
            Box::new(|| code_of(inflate(&bomb, &InflateOptions::default()))),
            "xml_limit_exceeded",
        ),
        (
            "forged SignedInfo, 427 KB (issue 13)",
            Box::new(|| code_of(sp.validate_response(forged.as_bytes(), None, now))),
            "signature_profile",
        ),
        (
            "80,000 query parameters (issue 13)",
            Box::new(|| code_of(decode_redirect(&params, &InflateOptions::default()))),
            "binding",
        ),
    ];
    for (name, run, want) in cases {
        let mut got = "";
        let growth = peak_growth(|| got = run());
        assert_eq!(got, want, "{name}");
        if let Some(g) = growth {
            report.push(format!("{name}: peak +{} KiB", g / 1024));
            assert!(
                g < bound,
                "{name}: peak memory grew by {g} bytes, over {bound}"
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}
