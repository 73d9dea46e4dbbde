//! Time budgets for hostile inputs (each must be refused in well under 50 ms), and the other
//! operations an SP performs: AuthnRequest build + redirect encoding, metadata parsing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{Criterion, criterion_group, criterion_main};
use saml_sp::binding::{InflateOptions, decode_post, inflate};
use saml_sp::login::AuthnRequest;
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
        "/tests/fixtures/interop/metadata/entra-id-federationmetadata.xml"
    ))
    .unwrap();
    let okta = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bench/idp_metadata.xml"
    ))
    .unwrap();
    c.bench_function("metadata_parse_okta", |b| {
        b.iter(|| IdpMetadata::parse(&okta, None).unwrap())
    });
    c.bench_function("metadata_parse_entra", |b| {
        b.iter(|| IdpMetadata::parse(&entra, None).unwrap())
    });
}

#[path = "../tests/support/hostile.rs"]
mod hostile_inputs;

/// Issue 13: every input dimension that reaches code before a signature verifies, at 1x, 4x and
/// 16x. Each group's times must grow at most linearly (4x and 16x the 1x time, or less).
fn scaling(c: &mut Criterion) {
    use saml_sp::testkit::{TestIdp, TestUser};
    use saml_sp::xml::c14n::{Algorithm, Subset, canonicalize_to_vec};
    use saml_sp::{IdentityProvider, ServiceProvider};
    const SP: &str = "https://sp.example.com/saml/metadata";
    const ACS: &str = "https://sp.example.com/saml/acs";
    let now = saml_sp::time::parse_instant("2030-01-01T10:00:30Z", "now").unwrap();
    let idp = TestIdp::fixed("https://idp.example.com/saml");
    let sp = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
    )
    .limits(
        Limits::default()
            .with_max_input_bytes(4 << 20)
            .with_max_nodes(1_000_000),
    )
    .build()
    .unwrap();
    let big = ParseOptions::default().with_limits(
        Limits::default()
            .with_max_input_bytes(8 << 20)
            .with_max_nodes(1_000_000),
    );
    let scales = [1usize, 4, 16];

    // Exclusive C14N of a subtree: prefixes in scope (nested elements x 32 declarations), with a
    // PrefixList naming all of them.
    let mut g = c.benchmark_group("scaling/c14n_prefixes_in_scope");
    for k in scales {
        let xml = hostile_inputs::forged_signed_info(2 * k, 32, 2_000);
        let doc = Document::parse_with(xml.as_bytes(), &big).unwrap();
        let prefixes: Vec<String> = (0..2 * k)
            .flat_map(|n| (0..32).map(move |d| format!("p{n}x{d}")))
            .collect();
        let list: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let apex = doc.root().id();
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| {
                canonicalize_to_vec(
                    &doc,
                    Subset::Element {
                        apex,
                        exclude: None,
                    },
                    Algorithm::Exclusive,
                    &list,
                )
                .unwrap()
            })
        });
    }
    g.finish();
    // PrefixList entries over a fixed document.
    let mut g = c.benchmark_group("scaling/c14n_prefix_list_entries");
    let xml = hostile_inputs::forged_signed_info(8, 32, 20_000);
    let doc = Document::parse_with(xml.as_bytes(), &big).unwrap();
    for k in scales {
        let prefixes: Vec<String> = (0..2_000 * k).map(|i| format!("q{i}")).collect();
        let list: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let apex = doc.root().id();
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| {
                canonicalize_to_vec(
                    &doc,
                    Subset::Element {
                        apex,
                        exclude: None,
                    },
                    Algorithm::Exclusive,
                    &list,
                )
                .unwrap()
            })
        });
    }
    g.finish();
    // Elements under SignedInfo (refused by the structural budget once past it).
    let mut g = c.benchmark_group("scaling/signed_info_elements");
    for k in scales {
        let xml = hostile_inputs::forged_signed_info(1, 1, 6_000 * k);
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| sp.validate_response(xml.as_bytes(), None, now).unwrap_err())
        });
    }
    g.finish();
    // References in SignedInfo.
    let mut g = c.benchmark_group("scaling/references");
    for k in scales {
        let one = "<ds:Reference URI=\"#_r1\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>";
        let xml = hostile_inputs::forged_signed_info(0, 0, 0).replacen(
            "<ds:Reference ",
            &format!("{}<ds:Reference ", one.repeat(500 * k)),
            1,
        );
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| sp.validate_response(xml.as_bytes(), None, now).unwrap_err())
        });
    }
    g.finish();
    // Form / query parameters.
    let mut g = c.benchmark_group("scaling/form_parameters");
    for k in scales {
        let q = hostile_inputs::many_params("SAMLRequest", 5_000 * k);
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| {
                saml_sp::binding::decode_redirect(&q, &InflateOptions::default()).unwrap_err()
            })
        });
    }
    g.finish();
    // SAML Attributes in a signed assertion (validated end to end).
    let mut g = c.benchmark_group("scaling/attributes");
    for k in scales {
        let mut user = TestUser::new("ada@example.com");
        for i in 0..100 * k {
            user = user.attribute(format!("attr{i}"), [format!("value{i}")]);
        }
        let xml = idp
            .response(SP, ACS)
            .in_response_to("_r")
            .user(user)
            .build(now)
            .unwrap();
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| {
                sp.validate_response(xml.as_bytes(), Some("_r"), now)
                    .unwrap()
            })
        });
    }
    g.finish();
    // Entities in a metadata aggregate, looked up by entity ID.
    let mut g = c.benchmark_group("scaling/metadata_entities");
    let one = idp.metadata_xml("https://idp.example.com/sso");
    let one = one.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    for k in scales {
        let mut agg = String::from(
            "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">",
        );
        for i in 0..50 * k {
            agg.push_str(&one.replace(
                "https://idp.example.com/saml",
                &format!("https://idp{i}.example.com/saml"),
            ));
        }
        agg.push_str("</md:EntitiesDescriptor>");
        let last = format!("https://idp{}.example.com/saml", 50 * k - 1);
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| IdpMetadata::parse(agg.as_bytes(), Some(&last)).unwrap())
        });
        // The same aggregate signed, searched as a stream with its signature verified.
        let signed = idp
            .sign(
                &agg.replacen(
                    "<md:EntitiesDescriptor ",
                    "<md:EntitiesDescriptor ID=\"agg\" ",
                    1,
                ),
                "agg",
            )
            .unwrap();
        let pinned = [idp.certificate().clone()];
        g.bench_function(format!("stream_signed_{k}x"), |b| {
            b.iter(|| {
                saml_sp::metadata::aggregate::find_idp(
                    signed.as_bytes(),
                    &last,
                    &pinned,
                    now,
                    &Default::default(),
                )
                .unwrap()
            })
        });
    }
    g.finish();
    // RelayState length in a Redirect message.
    let mut g = c.benchmark_group("scaling/relay_state_bytes");
    for k in scales {
        let q = format!("SAMLRequest=AAAA&RelayState={}", "r".repeat(16_384 * k));
        g.bench_function(format!("{k}x"), |b| {
            b.iter(|| {
                saml_sp::binding::decode_redirect(&q, &InflateOptions::default()).unwrap_err()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, hostile, operations);
criterion_group! {
    name = scaling_benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = scaling
}
criterion_main!(benches, scaling_benches);
