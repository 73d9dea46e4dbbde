//! The database's share of one SP-initiated login: the three store round trips the ACS makes
//! (remember the request at the start, take it at the ACS, record the assertion ID), on SQLite
//! (a temporary file) and on PostgreSQL on loopback (`SAML_SP_TEST_DATABASE_URL`, as
//! `scripts/postgres start` prints; skipped without it). Each iteration is one whole login's
//! round trips with fresh keys.
//!
//! ```text
//! eval "$(./scripts/postgres start)"
//! cargo bench --features postgres,sqlite --bench stores
//! ./scripts/postgres stop "$SAML_SP_PG_DIR"
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use saml_sp::store::postgres::PgStore;
use saml_sp::store::sqlite::SqliteStore;
use saml_sp::store::{ReplayCache, RequestStore};

static N: AtomicU64 = AtomicU64::new(0);

async fn one_login<S: RequestStore + ReplayCache>(store: &S) {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let now = Utc::now();
    let until = now + chrono::Duration::minutes(5);
    let key = format!("login-{n}");
    store
        .remember("acme", &key, "request-id,/inbox", until)
        .await
        .unwrap();
    assert!(store.take("acme", &key, now).await.unwrap().is_some());
    assert!(
        store
            .insert_if_absent("acme", &key, until, now)
            .await
            .unwrap()
    );
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("store_round_trips_per_login");
    let path = std::env::temp_dir().join(format!("saml-sp-bench-{}.db", std::process::id()));
    let sqlite = rt.block_on(SqliteStore::open(&path)).unwrap();
    g.bench_function("sqlite_file", |b| {
        b.iter(|| rt.block_on(one_login(&sqlite)))
    });
    if let Ok(url) = std::env::var("SAML_SP_TEST_DATABASE_URL") {
        let pg = rt.block_on(PgStore::connect(&url)).unwrap();
        g.bench_function("postgres_loopback", |b| {
            b.iter(|| rt.block_on(one_login(&pg)))
        });
        rt.block_on(pg.cleanup(Utc::now() + chrono::Duration::hours(1), 1_000_000))
            .unwrap();
    } else {
        eprintln!("postgres_loopback skipped: SAML_SP_TEST_DATABASE_URL is not set");
    }
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, stores);
criterion_main!(benches);
