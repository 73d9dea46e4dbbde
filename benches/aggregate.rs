//! Reading every IdP of an eduGAIN-size aggregate (`metadata::aggregate::index_idps`: the
//! signature verified over the stream, IdPs filtered and indexed). The aggregate is generated
//! once by `examples/federation_aggregate.rs` (10,000 entities, about 73 MB): run
//! `cargo run --release --features testkit --example federation_aggregate -- generate target/edugain 10000`
//! first; the bench reads `target/edugain` (or `SAML_SP_AGGREGATE_DIR`). The peak-memory and
//! xmlsec1 comparison is that example's `compare` (BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use saml_sp::crypto::Certificate;
use saml_sp::metadata::aggregate::{AggregateLimits, IdpFilter, index_idps};

fn aggregate(c: &mut Criterion) {
    let dir = std::env::var("SAML_SP_AGGREGATE_DIR").unwrap_or_else(|_| "target/edugain".into());
    let Ok(xml) = std::fs::read(format!("{dir}/aggregate.xml")) else {
        eprintln!("no {dir}/aggregate.xml: generate it first (see the bench's header)");
        return;
    };
    let pinned =
        Certificate::parse_all(&std::fs::read(format!("{dir}/federation.crt")).unwrap()).unwrap();
    let mut g = c.benchmark_group("aggregate");
    g.sample_size(10);
    g.bench_function("index_idps_10000_entities", |b| {
        b.iter(|| {
            index_idps(
                xml.as_slice(),
                &pinned,
                &IdpFilter::default(),
                chrono::Utc::now(),
                &AggregateLimits::default(),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, aggregate);
criterion_main!(benches);
