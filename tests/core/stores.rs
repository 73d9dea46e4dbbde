//! The ACS flow with stores: request IDs taken exactly once, namespaced, replays refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use saml_sp::crypto::Certificate;
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore, ReplayCache, RequestStore};
use saml_sp::time::parse_instant;
use saml_sp::{IdentityProvider, ServiceProvider};

/// The in-memory stores never suspend, so one poll completes the flow.
fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("in-memory store future did not complete"),
    }
}

fn sp() -> ServiceProvider {
    let cert = Certificate::parse_all(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keys/idp.crt"
        ))
        .unwrap(),
    )
    .unwrap();
    ServiceProvider::builder(
        "https://sp.example.com/saml/metadata",
        "https://sp.example.com/saml/acs",
        IdentityProvider::new("https://idp.example.com/saml", cert).unwrap(),
    )
    .build()
    .unwrap()
}

fn xml() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signed/assertion_signed.xml"
    ))
    .unwrap()
}

#[test]
fn request_is_consumed_once_and_replay_is_refused() {
    let now = parse_instant("2030-01-01T10:00:30Z", "now").unwrap();
    let requests = MemoryRequestStore::default();
    let replay = MemoryReplayCache::default();
    block_on(requests.remember(
        "tenant-a",
        "_req_0123456789abcdef",
        "",
        now + chrono::Duration::minutes(10),
    ))
    .unwrap();
    let a = block_on(sp().consume(&xml(), "tenant-a", &requests, &replay, now)).unwrap();
    assert_eq!(a.name_id().unwrap().value, "victim@corp.example");
    // Second use (a browser's Back and re-post): reported as the replay it is, not as an unknown
    // request, although the request was taken by the first use.
    let e = block_on(sp().consume(&xml(), "tenant-a", &requests, &replay, now)).unwrap_err();
    assert_eq!(e.code(), "replayed_assertion");
    // Even with the request re-issued, the assertion itself is a replay.
    block_on(requests.remember(
        "tenant-a",
        "_req_0123456789abcdef",
        "",
        now + chrono::Duration::minutes(10),
    ))
    .unwrap();
    let e = block_on(sp().consume(&xml(), "tenant-a", &requests, &replay, now)).unwrap_err();
    assert_eq!(e.code(), "replayed_assertion");
}

#[test]
fn requests_are_namespaced_per_tenant() {
    let now = parse_instant("2030-01-01T10:00:30Z", "now").unwrap();
    let requests = MemoryRequestStore::default();
    let replay = MemoryReplayCache::default();
    block_on(requests.remember(
        "tenant-b",
        "_req_0123456789abcdef",
        "",
        now + chrono::Duration::minutes(10),
    ))
    .unwrap();
    let e = block_on(sp().consume(&xml(), "tenant-a", &requests, &replay, now)).unwrap_err();
    assert_eq!(e.code(), "unknown_in_response_to");
}

#[test]
fn expired_requests_cannot_be_taken() {
    let now = parse_instant("2030-01-01T10:00:30Z", "now").unwrap();
    let requests = MemoryRequestStore::default();
    block_on(requests.remember("t", "r1", "v1", now - chrono::Duration::seconds(1))).unwrap();
    assert_eq!(block_on(requests.take("t", "r1", now)).unwrap(), None);
    block_on(requests.remember("t", "r2", "v2", now + chrono::Duration::seconds(1))).unwrap();
    assert_eq!(
        block_on(requests.take("t", "r2", now)).unwrap().as_deref(),
        Some("v2")
    );
    assert_eq!(block_on(requests.take("t", "r2", now)).unwrap(), None);
}

#[test]
fn replay_cache_is_bounded_and_fails_closed() {
    let now = parse_instant("2030-01-01T10:00:30Z", "now").unwrap();
    let cache = MemoryReplayCache::with_capacity(2);
    let until = now + chrono::Duration::minutes(5);
    assert!(block_on(cache.insert_if_absent("t", "a", until, now)).unwrap());
    assert!(block_on(cache.insert_if_absent("t", "b", until, now)).unwrap());
    assert!(!block_on(cache.insert_if_absent("t", "a", until, now)).unwrap());
    let e = block_on(cache.insert_if_absent("t", "c", until, now)).unwrap_err();
    assert!(matches!(
        e,
        saml_sp::store::StoreError::Full { capacity: 2 }
    ));
    // Once the entries expire, room is made again.
    let later = until + chrono::Duration::seconds(1);
    assert!(
        block_on(cache.insert_if_absent("t", "c", later + chrono::Duration::minutes(5), later))
            .unwrap()
    );
}
