//! Issue 19: 200 concurrent SP-initiated logins through the one-call flow on a multi-threaded
//! runtime: zero errors, and each Response, posted twice at the same moment, accepted exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use saml_sp::Acs;
use saml_sp::login::{AuditContext, ProvisionError, ProvisionFn, SamlIdentity};
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

const SP: &str = "https://app.example.com/saml/metadata";
const ACS: &str = "https://app.example.com/saml/acs";

type Users = fn(String, SamlIdentity) -> std::future::Ready<Result<String, ProvisionError>>;

fn users(_t: String, id: SamlIdentity) -> std::future::Ready<Result<String, ProvisionError>> {
    std::future::ready(Ok(id.email))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_logins_with_replays() {
    let idp = Arc::new(TestIdp::fixed("https://idp.example.com/saml"));
    let registry = IdpRegistry::new(SpSettings::new(SP, ACS).unwrap());
    registry
        .insert(
            TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    let acs = Arc::new(Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        ProvisionFn(users as Users),
    ));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (acs, idp) = (acs.clone(), idp.clone());
        tasks.push(tokio::spawn(async move {
            let start = acs.start_login("acme", Some("/home"), browser()).await?;
            let response = idp
                .response(SP, ACS)
                .in_response_to(&start.request_id)
                .user(TestUser::new(format!("user{i}@example.com")))
                .build_base64(chrono::Utc::now())?;
            // The same Response posted twice at once (a double submit, or a replay race).
            let ctx = AuditContext::new();
            let relay = Some(start.relay_state.as_str());
            let (a, b) = tokio::join!(
                acs.finish_login("acme", &response, relay, Some(browser()), &ctx),
                acs.finish_login("acme", &response, relay, Some(browser()), &ctx),
            );
            Ok::<_, saml_sp::Error>((i, a, b))
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let (i, a, b) = t.await.unwrap().unwrap();
        match (a, b) {
            (Ok(done), Err(e)) | (Err(e), Ok(done)) => {
                assert_eq!(done.user, format!("user{i}@example.com"));
                assert_eq!(done.return_to, "/home");
                // The loser lost to the replay cache or to the request taken once.
                assert!(
                    matches!(e.code(), "replayed_assertion" | "unknown_in_response_to"),
                    "{e}"
                );
                accepted += 1;
            }
            (a, b) => panic!("login {i}: expected exactly one acceptance, got {a:?} / {b:?}"),
        }
    }
    assert_eq!(accepted, 200);
}

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}
