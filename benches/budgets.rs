//! Time budgets for hostile inputs (each must be refused in well under 50 ms), and the other
//! operations an SP performs: AuthnRequest build + redirect encoding, metadata parsing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{Criterion, criterion_group, criterion_main};
use saml_sp::authn_request::AuthnRequest;
use saml_sp::binding::{InflateOptions, decode_post, inflate};
use saml_sp::metadata::IdpMetadata;
use saml_sp::xml::{Document, Limits, ParseOptions};

fn hostile(c: &mut Criterion) {
    let opts = ParseOptions::default().with_limits(Limits::default().with_max_input_bytes(2 << 20));
    let b64 = "QUFB".repeat(5 << 20);
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
    let mut g = c.benchmark_group("refuse");
    g.bench_function("base64_20MiB", |b| {
        b.iter(|| decode_post(&b64, &Limits::default()).unwrap_err())
    });
    g.bench_function("nested_1MiB", |b| {
        b.iter(|| Document::parse_with(nested.as_bytes(), &opts).unwrap_err())
    });
    g.bench_function("attributes_100k", |b| {
        b.iter(|| Document::parse_with(attrs.as_bytes(), &opts).unwrap_err())
    });
    g.bench_function("ns_decls_100k", |b| {
        b.iter(|| Document::parse_with(decls.as_bytes(), &opts).unwrap_err())
    });
    g.bench_function("attr_value_1MiB", |b| {
        b.iter(|| Document::parse(big_value.as_bytes()).unwrap_err())
    });
    g.bench_function("deflate_bomb_1GiB", |b| {
        b.iter(|| inflate(&bomb, &InflateOptions::default()).unwrap_err())
    });
    g.finish();
}

fn operations(c: &mut Criterion) {
    let now = chrono::Utc::now();
    c.bench_function("authn_request_build_redirect", |b| {
        b.iter(|| {
            AuthnRequest::new(
                "https://sp.example.com/saml/metadata",
                "https://sp.example.com/saml/acs",
            )
            .destination("https://idp.example.com/sso")
            .build(now)
            .unwrap()
            .redirect_url(Some("relay"), None)
            .unwrap()
        })
    });
    let entra = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/interop/metadata/entra-id-federationmetadata.xml"
    ))
    .unwrap();
    let okta = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/bench/idp_metadata.xml"
    ))
    .unwrap();
    c.bench_function("metadata_parse_okta", |b| {
        b.iter(|| IdpMetadata::parse(&okta, None).unwrap())
    });
    c.bench_function("metadata_parse_entra", |b| {
        b.iter(|| IdpMetadata::parse(&entra, None).unwrap())
    });
}

criterion_group!(benches, hostile, operations);
criterion_main!(benches);
