//! The Redis stores against a real `redis-server` this test starts on a free loopback port:
//! two independent SP instances (separate connection pools) share it; a request issued by one is
//! consumed at the other, once; the same Response posted to both concurrently is accepted exactly
//! once per round (200 rounds); with Redis stopped logins fail with `store_unavailable`, and after
//! a restart they succeed again without restarting the app.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use saml_sp::Acs;
use saml_sp::login::AuditContext;
use saml_sp::store::redis::RedisStore;
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

const SP_ID: &str = "https://app.example.com/saml/metadata";
const ACS: &str = "https://app.example.com/saml/{tenant}/acs";

struct Server {
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn start(port: u16) -> Option<Server> {
        let child = Command::new("redis-server")
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut s = Server {
            port,
            child: Some(child),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        s.stop();
        None
    }
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server() -> Option<Server> {
    let s = Server::start(free_port());
    if s.is_none() {
        assert!(
            std::env::var_os("SAML_SP_REQUIRE_ORACLES").is_none(),
            "redis-server is required but missing"
        );
        eprintln!("SKIPPED: redis-server not installed (run scripts/test)");
    }
    s
}

use crate::users;
use users::Users;

/// One app instance: its own registry and its own Redis connection.
async fn instance(url: &str, idp: &TestIdp, unsolicited: bool) -> Acs<Users> {
    let registry = Arc::new(IdpRegistry::new(SpSettings::new(SP_ID, ACS).unwrap()));
    let mut config = TenantConfig::new("acme", idp.entity_id(), vec![idp.certificate().clone()])
        .sso_url("https://idp.example.com/sso");
    if unsolicited {
        config = config.dangerous(
            saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses(),
        );
    }
    registry.insert(config).unwrap();
    let store = RedisStore::connect_with_timeout(url, "test:saml:", Duration::from_millis(500))
        .await
        .unwrap();
    Acs::new(registry, Arc::new(store.clone()), Arc::new(store), Users)
}

fn acs_url() -> String {
    ACS.replace("{tenant}", "acme")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_issued_by_one_instance_is_consumed_at_the_other_once() {
    let Some(redis) = server() else { return };
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let a = instance(&redis.url(), &idp, false).await;
    let b = instance(&redis.url(), &idp, false).await;
    let start = a
        .start_login("acme", Some("/inbox"), browser())
        .await
        .unwrap();
    let resp = idp
        .response(SP_ID, &acs_url())
        .in_response_to(start.request_id.clone())
        .user(TestUser::new("ada@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let done = b
        .finish_login(
            "acme",
            &resp,
            Some(&start.relay_state),
            Some(browser()),
            &AuditContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(done.user, "ada@example.com");
    assert_eq!(done.return_to, "/inbox");
    // The record is gone for both instances; the assertion is spent: a re-post is the replay
    // it is.
    let again = a
        .finish_login(
            "acme",
            &resp,
            Some(&start.relay_state),
            Some(browser()),
            &AuditContext::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(again.code(), "replayed_assertion");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_response_posted_to_both_instances_concurrently_is_accepted_once_per_round() {
    let Some(redis) = server() else { return };
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let a = Arc::new(instance(&redis.url(), &idp, true).await);
    let b = Arc::new(instance(&redis.url(), &idp, true).await);
    for round in 0..200 {
        let resp = idp
            .response(SP_ID, &acs_url())
            .user(TestUser::new(format!("u{round}@example.com")))
            .build_base64(chrono::Utc::now())
            .unwrap();
        let (ra, rb) = (resp.clone(), resp);
        let (a2, b2) = (a.clone(), b.clone());
        let ta = tokio::spawn(async move {
            a2.finish_login("acme", &ra, None, Some(browser()), &AuditContext::new())
                .await
        });
        let tb = tokio::spawn(async move {
            b2.finish_login("acme", &rb, None, Some(browser()), &AuditContext::new())
                .await
        });
        let (x, y) = (ta.await.unwrap(), tb.await.unwrap());
        let accepted = usize::from(x.is_ok()) + usize::from(y.is_ok());
        assert_eq!(accepted, 1, "round {round}: {x:?} / {y:?}");
        let refused = match (x, y) {
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(refused.code(), "replayed_assertion", "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_closed_and_service_resumes_after_restart() {
    let Some(mut redis) = server() else { return };
    let port = redis.port;
    let idp = TestIdp::fixed("https://idp.example.com/metadata");
    let app = instance(&redis.url(), &idp, true).await;
    let login = |n: u32| {
        let resp = idp
            .response(SP_ID, &acs_url())
            .user(TestUser::new(format!("n{n}@example.com")))
            .build_base64(chrono::Utc::now())
            .unwrap();
        let app = &app;
        async move {
            app.finish_login("acme", &resp, None, Some(browser()), &AuditContext::new())
                .await
        }
    };
    login(1).await.unwrap();
    redis.stop();
    for n in 2..5 {
        let e = login(n).await.unwrap_err();
        assert_eq!(e.code(), "store_unavailable", "{e}");
    }
    assert_eq!(
        app.start_login("acme", None, browser())
            .await
            .unwrap_err()
            .code(),
        "store_unavailable"
    );
    let _redis = Server::start(port).expect("restart redis on the same port");
    // The connection manager reconnects by itself; allow it a few attempts.
    let mut ok = false;
    for n in 10..60 {
        if login(n).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ok,
        "logins must succeed again after Redis returns, without restarting the app"
    );
    app.start_login("acme", None, browser()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_namespaced_and_expire() {
    use saml_sp::store::{ReplayCache, RequestStore};
    let Some(redis) = server() else { return };
    let store = RedisStore::connect(&redis.url(), "t:").await.unwrap();
    let now = chrono::Utc::now();
    store
        .remember("tenant-a", "k", "v", now + chrono::Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(store.take("tenant-b", "k", now).await.unwrap(), None);
    assert_eq!(
        store.take("tenant-a", "k", now).await.unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(store.take("tenant-a", "k", now).await.unwrap(), None);
    store
        .remember(
            "tenant-a",
            "short",
            "v",
            now + chrono::Duration::milliseconds(150),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        store
            .take("tenant-a", "short", chrono::Utc::now())
            .await
            .unwrap(),
        None,
        "expired by Redis"
    );
    assert!(
        store
            .insert_if_absent("tenant-a", "id1", now + chrono::Duration::seconds(60), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_if_absent("tenant-a", "id1", now + chrono::Duration::seconds(60), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_if_absent("tenant-b", "id1", now + chrono::Duration::seconds(60), now)
            .await
            .unwrap()
    );
}

/// IdP-initiated logout across app instances (issue 18): sessions kept by a session crate are
/// ended through a `Revocations` list; with the list in Redis, a logout received by one instance
/// ends the session when another instance reads it. A Redis that cannot answer ends the session
/// (fail closed).
#[tokio::test]
async fn a_logout_received_by_one_instance_ends_the_session_on_another() {
    use saml_sp::logout::SessionRecord;
    use saml_sp::web::Revocations;
    let Some(mut redis) = server() else {
        return;
    };
    let instance = |prefix: &'static str| {
        let url = redis.url();
        async move {
            let store = RedisStore::connect(&url, prefix).await.unwrap();
            Revocations::new(Arc::new(store), chrono::Duration::hours(8))
        }
    };
    let a = instance("app:").await;
    let b = instance("app:").await;
    let t0 = chrono::Utc::now();
    let min = chrono::Duration::minutes(1);
    let ada = SessionRecord::decode(
        "saml-sp-session-1\nhttps://idp.example.com\nada@example.com\n+urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\n-\n-\n-\n+_s1\n-",
    )
    .unwrap();
    assert!(!b.ends(Some(&ada), Some("sid-ada"), t0, t0 + min).await);
    // The IdP's LogoutRequest for Ada's session reaches instance A.
    let idp = TestIdp::fixed("https://idp.example.com");
    let (_, url) = idp
        .logout_request_redirect(&ada, "https://app.example.com/saml/slo", t0)
        .unwrap();
    let registry = IdpRegistry::new(
        SpSettings::new(SP_ID, ACS)
            .unwrap()
            .single_logout_url("https://app.example.com/saml/slo"),
    );
    let md = idp.metadata_xml("https://idp.example.com/sso");
    registry
        .insert(TenantConfig::from_idp_metadata("acme", md.as_bytes(), t0).unwrap())
        .unwrap();
    let tenant = registry.by_slug("acme").unwrap();
    let sp = tenant.service_provider();
    let query = url.split_once('?').unwrap().1;
    let received = sp
        .validate_logout_request(&saml_sp::logout::IncomingLogout::Redirect { query }, t0)
        .unwrap();
    a.revoke(&received, t0 + min).await.unwrap();
    // Instance B ends it when it next reads the session; a later login lives.
    assert!(b.ends(Some(&ada), Some("sid-ada"), t0, t0 + min * 2).await);
    assert!(
        !b.ends(Some(&ada), Some("sid-ada2"), t0 + min * 3, t0 + min * 4)
            .await
    );
    // A sign-out recorded by B is seen by A.
    b.sign_out("sid-bob", t0 + min).await.unwrap();
    assert!(a.ends(None, Some("sid-bob"), t0, t0 + min * 2).await);
    // Redis gone: sessions end rather than outlive a logout nobody can check.
    redis.stop();
    assert!(a.ends(None, Some("sid-carol"), t0, t0 + min * 2).await);
}

/// The login-binding secret of the test's one browser (the cookie a browser would carry).
fn browser() -> &'static saml_sp::login::BrowserBinding {
    static B: std::sync::LazyLock<saml_sp::login::BrowserBinding> =
        std::sync::LazyLock::new(|| {
            saml_sp::login::BrowserBinding::from_cookie(&"b1".repeat(32)).unwrap()
        });
    &B
}
