//! Measures the Redis store round trips of one ACS login (remember the request, take it, record
//! the assertion ID) against a local `redis-server` it starts on a free port, and prints p50/p99.
//!
//! ```text
//! cargo run --release --features redis --example redis_round_trips
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use saml_sp::store::redis::RedisStore;
use saml_sp::store::{ReplayCache, RequestStore};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server on PATH");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), "bench:")
        .await
        .unwrap();
    let mut samples = Vec::with_capacity(5000);
    for i in 0..5000u32 {
        let now = chrono::Utc::now();
        let key = format!("relay{i}");
        let t = Instant::now();
        store
            .remember(
                "tenant",
                &key,
                "request-id\n/return",
                now + chrono::Duration::minutes(10),
            )
            .await
            .unwrap();
        store.take("tenant", &key, now).await.unwrap();
        store
            .insert_if_absent(
                "tenant",
                &format!("issuer\u{1f}assertion{i}"),
                now + chrono::Duration::minutes(5),
                now,
            )
            .await
            .unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "store round trips per ACS login (SET PXAT + GETDEL + SET NX PXAT), 5000 logins, loopback:"
    );
    println!(
        "  p50 {:?}  p99 {:?}  max {:?}",
        p(0.50),
        p(0.99),
        samples[samples.len() - 1]
    );
    let _ = server.kill();
    let _ = server.wait();
}
