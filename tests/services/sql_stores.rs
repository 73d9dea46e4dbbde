//! The SQL stores (features `postgres`, `sqlite`) against a real PostgreSQL server (the one
//! `scripts/test` starts on loopback and names in `SAML_SP_TEST_DATABASE_URL`; each test makes
//! its own database) and against SQLite files: migrations from empty and from the previous
//! version, requests taken once and assertion IDs accepted once under concurrency, the logout
//! log, batched clean-up through the expiry indexes, profiles with versions, two app instances
//! on one database (a profile saved on one signs a user in on the other within 5 s; one signed
//! Response posted 200 times across both gives one login), and the failures: database down at
//! start, killed mid-run (through a loopback proxy this test cuts), a slow database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use saml_sp::login::{AuditContext, BrowserBinding};
use saml_sp::profile::{
    IdpInput, PgProfileStore, ProfileService, ProfileState, ProfileStore, SqliteProfileStore,
    TxtFuture, TxtResolver,
};
use saml_sp::store::postgres::{self, PgSettings, PgStore};
use saml_sp::store::sqlite::{self, SqliteStore};
use saml_sp::store::{LogoutLog, ReplayCache, RequestStore};
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::{IdpRegistry, SpSettings};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::databases::{pg_database, sqlite_path};

/// One app instance's stores on one database.
#[derive(Clone)]
struct Stores {
    label: &'static str,
    requests: Arc<dyn RequestStore>,
    replay: Arc<dyn ReplayCache>,
    logouts: Arc<dyn LogoutLog>,
    profiles: Arc<dyn ProfileStore>,
    cleanup: Arc<dyn Fn(u32) -> JoinHandle<u64> + Send + Sync>,
}

async fn pg_stores(url: &str) -> Stores {
    let store = PgStore::connect(url).await.unwrap();
    let s = store.clone();
    Stores {
        label: "postgres",
        requests: Arc::new(store.clone()),
        replay: Arc::new(store.clone()),
        logouts: Arc::new(store.clone()),
        profiles: Arc::new(PgProfileStore::new(store.pool().clone())),
        cleanup: Arc::new(move |batch| {
            let s = s.clone();
            tokio::spawn(async move { s.cleanup(Utc::now(), batch).await.unwrap() })
        }),
    }
}

async fn sqlite_stores(path: &std::path::Path) -> Stores {
    let store = SqliteStore::open(path).await.unwrap();
    let s = store.clone();
    Stores {
        label: "sqlite",
        requests: Arc::new(store.clone()),
        replay: Arc::new(store.clone()),
        logouts: Arc::new(store.clone()),
        profiles: Arc::new(SqliteProfileStore::new(store.pool().clone())),
        cleanup: Arc::new(move |batch| {
            let s = s.clone();
            tokio::spawn(async move { s.cleanup(Utc::now(), batch).await.unwrap() })
        }),
    }
}

/// The stores of every database there is for this test: SQLite always, PostgreSQL when the
/// server runs.
async fn every_database(name: &str) -> Vec<Stores> {
    let mut out = vec![sqlite_stores(&sqlite_path(name)).await];
    if let Some(url) = pg_database(name).await {
        out.push(pg_stores(&url).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_from_empty_and_from_the_previous_version() {
    // SQLite: version 1, then up to 2, then nothing left.
    let pool = sqlite::open(&sqlite_path("migrate")).await.unwrap();
    assert_eq!(sqlite::schema_version(&pool).await.unwrap(), 0);
    assert_eq!(sqlite::migrate(&pool, Some(1)).await.unwrap(), vec![1]);
    assert_eq!(sqlite::schema_version(&pool).await.unwrap(), 1);
    assert_eq!(sqlite::migrate(&pool, None).await.unwrap(), vec![2, 3]);
    assert_eq!(
        sqlite::migrate(&pool, None).await.unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(sqlite::schema_version(&pool).await.unwrap(), 3);
    let fresh = sqlite::open(&sqlite_path("migrate2")).await.unwrap();
    let run = tokio::spawn(async move { sqlite::migrate(&fresh, None).await.unwrap() });
    assert_eq!(run.await.unwrap(), vec![1, 2, 3]);
    assert_eq!(sqlite::MIGRATIONS.len(), postgres::MIGRATIONS.len());

    let Some(url) = pg_database("migrate").await else {
        return;
    };
    let pool = PgSettings::default().pool(&url).unwrap();
    assert_eq!(postgres::schema_version(&pool).await.unwrap(), 0);
    assert_eq!(postgres::migrate(&pool, Some(1)).await.unwrap(), vec![1]);
    // Data written at version 1 survives the upgrade.
    let v1 = PgStore::from_pool(pool.clone());
    let until = Utc::now() + chrono::Duration::minutes(5);
    v1.remember("t", "kept", "value", until).await.unwrap();
    assert_eq!(postgres::schema_version(&pool).await.unwrap(), 1);
    // Four instances starting at once: version 2 is applied once between them.
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let p = pool.clone();
            tokio::spawn(async move { postgres::migrate(&p, None).await.unwrap() })
        })
        .collect();
    let mut applied = Vec::new();
    for r in runs {
        applied.extend(r.await.unwrap());
    }
    assert_eq!(applied, vec![2, 3]);
    assert_eq!(postgres::schema_version(&pool).await.unwrap(), 3);
    assert_eq!(
        v1.take("t", "kept", Utc::now()).await.unwrap().as_deref(),
        Some("value")
    );
    let fresh = pg_database("migrate_fresh").await.unwrap();
    let pool = PgSettings::default().pool(&fresh).unwrap();
    assert_eq!(postgres::migrate(&pool, None).await.unwrap(), vec![1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_taken_once_and_an_assertion_id_accepted_once_under_concurrency() {
    for db in every_database("once").await {
        let now = Utc::now();
        let until = now + chrono::Duration::minutes(5);
        db.requests
            .remember("acme", "r1", "/inbox", until)
            .await
            .unwrap();
        let takes: Vec<_> = (0..50)
            .map(|_| {
                let s = db.requests.clone();
                tokio::spawn(async move { s.take("acme", "r1", Utc::now()).await.unwrap() })
            })
            .collect();
        let mut got = Vec::new();
        for t in takes {
            got.extend(t.await.unwrap());
        }
        assert_eq!(got, vec!["/inbox".to_owned()], "{}", db.label);
        // Namespaced: another tenant's key never answers; an expired record is not returned.
        db.requests
            .remember("acme", "r2", "x", until)
            .await
            .unwrap();
        assert_eq!(db.requests.take("other", "r2", now).await.unwrap(), None);
        db.requests
            .remember("acme", "old", "x", now - chrono::Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(db.requests.take("acme", "old", now).await.unwrap(), None);

        let inserts: Vec<_> = (0..200)
            .map(|_| {
                let s = db.replay.clone();
                tokio::spawn(async move {
                    s.insert_if_absent("acme", "assertion-1", until, Utc::now())
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for t in inserts {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1, "{}: one insert wins", db.label);
        // Another namespace is another ID; an expired entry may be used again.
        assert!(
            db.replay
                .insert_if_absent("beta", "assertion-1", until, now)
                .await
                .unwrap()
        );
        let soon = now + chrono::Duration::seconds(1);
        assert!(
            db.replay
                .insert_if_absent("acme", "a2", soon, now)
                .await
                .unwrap()
        );
        assert!(
            !db.replay
                .insert_if_absent("acme", "a2", soon, now)
                .await
                .unwrap()
        );
        let later = now + chrono::Duration::seconds(2);
        assert!(
            db.replay
                .insert_if_absent("acme", "a2", until, later)
                .await
                .unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logout_log_keeps_the_latest_logout_until_it_expires() {
    for db in every_database("logouts").await {
        let t0 = Utc::now();
        let keys = vec!["subject".to_owned(), "index".to_owned()];
        assert_eq!(db.logouts.latest(&keys, t0).await.unwrap(), None);
        let t1 = t0 + chrono::Duration::seconds(10);
        let t2 = t0 + chrono::Duration::seconds(20);
        let until = t0 + chrono::Duration::hours(1);
        db.logouts.record("subject", t2, until).await.unwrap();
        // An older logout recorded later does not move it back.
        db.logouts.record("subject", t1, until).await.unwrap();
        db.logouts.record("index", t1, until).await.unwrap();
        let latest = db.logouts.latest(&keys, t0).await.unwrap().unwrap();
        assert_eq!(
            latest.timestamp_millis(),
            t2.timestamp_millis(),
            "{}",
            db.label
        );
        let only_index = db.logouts.latest(&keys[1..], t0).await.unwrap().unwrap();
        assert_eq!(only_index.timestamp_millis(), t1.timestamp_millis());
        // Past its expiry it is forgotten.
        let after = until + chrono::Duration::seconds(1);
        assert_eq!(db.logouts.latest(&keys, after).await.unwrap(), None);
        // More keys than a read may name is an error (fail closed), not a huge statement.
        let many: Vec<String> = (0..65).map(|i| format!("k{i}")).collect();
        let e = db.logouts.latest(&many, t0).await.unwrap_err();
        assert!(e.to_string().contains("65 keys"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_are_removed_in_batches_through_the_expiry_indexes() {
    for db in every_database("cleanup").await {
        let now = Utc::now();
        let past = now - chrono::Duration::minutes(1);
        let future = now + chrono::Duration::minutes(10);
        for i in 0..25 {
            db.requests
                .remember("t", &format!("old{i}"), "v", past)
                .await
                .unwrap();
            db.replay
                .insert_if_absent(
                    "t",
                    &format!("old{i}"),
                    past,
                    past - chrono::Duration::minutes(1),
                )
                .await
                .unwrap();
            db.logouts
                .record(&format!("old{i}"), past, past)
                .await
                .unwrap();
        }
        for i in 0..5 {
            db.requests
                .remember("t", &format!("live{i}"), "v", future)
                .await
                .unwrap();
            db.replay
                .insert_if_absent("t", &format!("live{i}"), future, now)
                .await
                .unwrap();
        }
        // Batches of 10 per table: 30, 30, then the last 15.
        assert_eq!((db.cleanup)(10).await.unwrap(), 30, "{}", db.label);
        assert_eq!((db.cleanup)(10).await.unwrap(), 30);
        assert_eq!((db.cleanup)(10).await.unwrap(), 15);
        assert_eq!((db.cleanup)(10).await.unwrap(), 0);
        for i in 0..5 {
            assert!(
                !db.replay
                    .insert_if_absent("t", &format!("live{i}"), future, now)
                    .await
                    .unwrap()
            );
            assert_eq!(
                db.requests
                    .take("t", &format!("live{i}"), now)
                    .await
                    .unwrap()
                    .as_deref(),
                Some("v")
            );
        }
    }
    // The clean-up's search uses the index, not a scan of the table.
    let pool = sqlite::open(&sqlite_path("plan")).await.unwrap();
    sqlite::migrate(&pool, None).await.unwrap();
    for table in ["saml_requests", "saml_replay", "saml_logouts"] {
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
            "EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE expires_ms < 5 ORDER BY expires_ms LIMIT 10"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(
            plan.iter()
                .any(|r| r.3.contains(&format!("USING INDEX {table}_expires"))),
            "{table}: {plan:?}"
        );
    }
    let Some(url) = pg_database("plan").await else {
        return;
    };
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    for table in ["saml_requests", "saml_replay", "saml_logouts"] {
        let plan: Vec<String> = sqlx::query_scalar(&format!(
            "EXPLAIN SELECT * FROM {table} WHERE expires_ms < 5 ORDER BY expires_ms LIMIT 10"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains(&format!("Index Scan using {table}_expires"))),
            "{table}: {plan:?}"
        );
    }
}

struct NoDns;
impl TxtResolver for NoDns {
    fn txt<'a>(&'a self, _name: &'a str) -> TxtFuture<'a> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn registry() -> Arc<IdpRegistry> {
    Arc::new(IdpRegistry::new(
        SpSettings::new(
            "https://app.example.com/saml/{tenant}",
            "https://app.example.com/saml/{tenant}/acs",
        )
        .unwrap(),
    ))
}

type Provision = fn(
    String,
    saml_sp::login::SamlIdentity,
) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>>;

fn provision(
    _tenant: String,
    id: saml_sp::login::SamlIdentity,
) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>> {
    std::future::ready(Ok(id.email))
}

/// One app instance: its own registry, its own pool on the shared database.
struct Instance {
    registry: Arc<IdpRegistry>,
    profiles: Arc<ProfileService>,
    acs: Arc<saml_sp::Acs<saml_sp::login::ProvisionFn<Provision>>>,
}

fn instance(stores: &Stores) -> Instance {
    let registry = registry();
    let profiles = Arc::new(ProfileService::new(
        registry.clone(),
        stores.profiles.clone(),
        stores.requests.clone(),
        stores.replay.clone(),
        Arc::new(NoDns),
    ));
    let acs = Arc::new(saml_sp::Acs::new(
        registry.clone(),
        stores.requests.clone(),
        stores.replay.clone(),
        saml_sp::login::ProvisionFn(provision as Provision),
    ));
    Instance {
        registry,
        profiles,
        acs,
    }
}

/// Creates, configures, tests and activates a profile on `at`.
async fn active_profile(at: &Instance, idp: &TestIdp) -> saml_sp::profile::SsoProfile {
    let admin = "ann@acme.example";
    let p = at
        .profiles
        .create("org-acme", "Acme", None, admin)
        .await
        .unwrap();
    let (p, _) = at
        .profiles
        .set_idp(
            "org-acme",
            &p.id,
            p.version,
            &IdpInput::Values {
                issuer: idp.entity_id().to_owned(),
                sso_url: "https://idp.acme.example/sso".into(),
                certificate: idp.certificate_pem(),
            },
            admin,
        )
        .await
        .unwrap();
    let start = at
        .profiles
        .start_test("org-acme", &p.id, admin)
        .await
        .unwrap();
    let url = start.navigation.redirect_url().unwrap();
    let m = saml_sp::binding::decode_redirect(url, &Default::default()).unwrap();
    let xml = String::from_utf8(m.xml).unwrap();
    let id = xml
        .split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let posted = idp
        .response(&p.sp_entity_id, &p.acs_url)
        .in_response_to(id)
        .user(TestUser::new("ann@acme.example"))
        .build_base64(Utc::now())
        .unwrap();
    let result = at
        .profiles
        .finish_test(&p.id, &posted, &start.relay_state, admin)
        .await
        .unwrap();
    assert!(result.passed, "{:#?}", result.checks);
    let p = at.profiles.get("org-acme", &p.id).await.unwrap();
    at.profiles
        .activate("org-acme", &p.id, p.version, admin)
        .await
        .unwrap()
}

async fn login(
    at: &Instance,
    idp: &TestIdp,
    p: &saml_sp::profile::SsoProfile,
    user: &str,
) -> Result<String, saml_sp::Error> {
    let browser = BrowserBinding::generate().unwrap();
    let start = at.acs.start_login(&p.id, None, &browser).await?;
    let resp = idp
        .response(&p.sp_entity_id, &p.acs_url)
        .in_response_to(&start.request_id)
        .user(TestUser::new(user))
        .build_base64(Utc::now())
        .unwrap();
    at.acs
        .finish_login(
            &p.id,
            &resp,
            Some(&start.relay_state),
            Some(&browser),
            &AuditContext::new(),
        )
        .await
        .map(|d| d.user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_keep_their_versions_tests_and_audit_in_the_database() {
    let idp = TestIdp::fixed("https://idp.acme.example/saml");
    for db in every_database("profiles").await {
        let app = instance(&db);
        let p = active_profile(&app, &idp).await;
        // What the database holds is what was saved: read back through a second instance.
        let other = instance(&db);
        let stored = other.profiles.get("org-acme", &p.id).await.unwrap();
        assert_eq!(stored, p, "{}", db.label);
        assert_eq!(stored.state, ProfileState::Active);
        assert!(
            stored
                .audit
                .iter()
                .any(|a| a.field == "state" && a.new == "active"),
            "{:?}",
            stored.audit
        );
        let test = other
            .profiles
            .last_test("org-acme", &p.id)
            .await
            .unwrap()
            .unwrap();
        assert!(test.passed);
        assert!(
            test.checks
                .iter()
                .any(|c| c.check == "response_signature" || c.check == "assertion_signature")
        );
        assert_eq!(test.identity.unwrap().email, "ann@acme.example");
        // Two administrators saving at once: the second gets a conflict, nothing of it is kept.
        let renamed = app
            .profiles
            .enforce("org-acme", &p.id, p.version, true, "ann@acme.example")
            .await;
        assert!(renamed.is_err(), "no verified domain yet");
        let disabled = app
            .profiles
            .disable("org-acme", &p.id, p.version, "ann@acme.example")
            .await
            .unwrap();
        let stale = other
            .profiles
            .disable("org-acme", &p.id, p.version, "bob@acme.example")
            .await
            .unwrap_err();
        assert!(stale.to_string().contains("version"), "{stale}");
        assert_eq!(db.profiles.get(&p.id).await.unwrap().unwrap(), disabled);
        // The store's own checks: a taken ID, an unknown profile, a stale delete.
        let e = db.profiles.insert(disabled.clone()).await.unwrap_err();
        assert_eq!(e.code(), "config_invalid");
        let e = db.profiles.delete("p-none", 1).await.unwrap_err();
        assert_eq!(e.code(), "unknown_tenant");
        let e = db.profiles.delete(&p.id, p.version).await.unwrap_err();
        assert_eq!(e.code(), "version_conflict");
        assert_eq!(
            db.profiles.versions().await.unwrap(),
            vec![(p.id.clone(), disabled.version)]
        );
        app.profiles
            .delete("org-acme", &p.id, disabled.version)
            .await
            .unwrap();
        assert_eq!(db.profiles.get(&p.id).await.unwrap(), None);
        assert_eq!(db.profiles.test_result(&p.id).await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_saved_on_one_instance_signs_in_on_another_within_five_seconds() {
    let idp = TestIdp::fixed("https://idp.acme.example/saml");
    // PostgreSQL: notifications (the fallback check set long, so the notification is what
    // delivers it).
    if let Some(url) = pg_database("instances").await {
        let (sa, sb) = (pg_stores(&url).await, pg_stores(&url).await);
        let (a, b) = (instance(&sa), instance(&sb));
        let pool = PgStore::connect(&url).await.unwrap().pool().clone();
        let follower =
            saml_sp::profile::follow_postgres(b.profiles.clone(), pool, Duration::from_secs(600));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let p = active_profile(&a, &idp).await;
        let saved = Instant::now();
        while b.registry.by_slug(&p.id).is_none() {
            assert!(
                saved.elapsed() < Duration::from_secs(5),
                "postgres: not on the second instance after 5 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "postgres: on the second instance after {:?}",
            saved.elapsed()
        );
        assert_eq!(
            login(&b, &idp, &p, "bob@acme.example").await.unwrap(),
            "bob@acme.example"
        );
        // Disabled on the first: the second refuses logins for it just as fast.
        let p2 = a
            .profiles
            .disable("org-acme", &p.id, p.version, "ann@acme.example")
            .await
            .unwrap();
        let saved = Instant::now();
        while b.registry.by_slug(&p.id).is_some() {
            assert!(saved.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            login(&b, &idp, &p2, "bob@acme.example")
                .await
                .unwrap_err()
                .code(),
            "unknown_tenant"
        );
        // A change made by hand in SQL (no crate involved) reaches it too, through the trigger.
        let p3 = active_profile(&a, &idp).await;
        let saved = Instant::now();
        while b.registry.by_slug(&p3.id).is_none() {
            assert!(saved.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sqlx::query("DELETE FROM sso_profiles WHERE id = $1")
            .bind(&p3.id)
            .execute(sa_pool(&url).await.as_ref())
            .await
            .unwrap();
        let saved = Instant::now();
        while b.registry.by_slug(&p3.id).is_some() {
            assert!(
                saved.elapsed() < Duration::from_secs(5),
                "a deletion in SQL reaches the instance"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        follower.abort();
    }
    // SQLite (one file, two processes' worth of pools): the periodic check.
    let path = sqlite_path("instances");
    let (sa, sb) = (sqlite_stores(&path).await, sqlite_stores(&path).await);
    let (a, b) = (instance(&sa), instance(&sb));
    let follower = saml_sp::profile::follow(b.profiles.clone(), Duration::from_secs(1));
    let p = active_profile(&a, &idp).await;
    let saved = Instant::now();
    while b.registry.by_slug(&p.id).is_none() {
        assert!(
            saved.elapsed() < Duration::from_secs(5),
            "sqlite: not on the second instance after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        login(&b, &idp, &p, "bob@acme.example").await.unwrap(),
        "bob@acme.example"
    );
    follower.abort();
}

async fn sa_pool(url: &str) -> Box<sqlx::PgPool> {
    Box::new(sqlx::PgPool::connect(url).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_response_posted_200_times_across_two_instances_signs_in_once() {
    let idp = TestIdp::fixed("https://idp.acme.example/saml");
    let mut dbs = vec![];
    let path = sqlite_path("posts");
    dbs.push((sqlite_stores(&path).await, sqlite_stores(&path).await));
    if let Some(url) = pg_database("posts").await {
        dbs.push((pg_stores(&url).await, pg_stores(&url).await));
    }
    for (sa, sb) in dbs {
        let (a, b) = (instance(&sa), instance(&sb));
        let p = active_profile(&a, &idp).await;
        b.profiles.sync().await.unwrap();
        let browser = BrowserBinding::generate().unwrap();
        let start = a.acs.start_login(&p.id, None, &browser).await.unwrap();
        let resp = idp
            .response(&p.sp_entity_id, &p.acs_url)
            .in_response_to(&start.request_id)
            .user(TestUser::new("ada@acme.example"))
            .build_base64(Utc::now())
            .unwrap();
        let posts: Vec<_> = (0..200)
            .map(|i| {
                let acs = if i % 2 == 0 {
                    a.acs.clone()
                } else {
                    b.acs.clone()
                };
                let (resp, relay, browser, id) = (
                    resp.clone(),
                    start.relay_state.clone(),
                    browser.clone(),
                    p.id.clone(),
                );
                tokio::spawn(async move {
                    acs.finish_login(
                        &id,
                        &resp,
                        Some(&relay),
                        Some(&browser),
                        &AuditContext::new(),
                    )
                    .await
                })
            })
            .collect();
        let mut ok = 0;
        let mut codes = std::collections::BTreeSet::new();
        for t in posts {
            match t.await.unwrap() {
                Ok(d) => {
                    assert_eq!(d.user, "ada@acme.example");
                    ok += 1;
                }
                Err(e) => {
                    codes.insert(e.code());
                }
            }
        }
        assert_eq!(ok, 1, "{}: exactly one login; refusals {codes:?}", sa.label);
        assert!(
            codes
                .iter()
                .all(|c| ["replayed_assertion", "unknown_in_response_to"].contains(c)),
            "{}: {codes:?}",
            sa.label
        );
    }
}

/// A loopback TCP proxy in front of PostgreSQL that a test can cut (every connection dropped,
/// nothing listening) and restore.
struct Proxy {
    port: u16,
    target: u16,
    running: Option<JoinHandle<()>>,
    connections: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut p = Proxy {
            port,
            target,
            running: None,
            connections: Arc::default(),
        };
        p.serve(listener);
        p
    }
    fn serve(&mut self, listener: TcpListener) {
        let (target, connections) = (self.target, self.connections.clone());
        self.running = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(task);
            }
        }));
    }
    fn cut(&mut self) {
        if let Some(t) = self.running.take() {
            t.abort();
        }
        for c in self.connections.lock().unwrap().drain(..) {
            c.abort();
        }
    }
    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

fn with_port(url: &str, port: u16) -> (String, u16) {
    // postgres://user@127.0.0.1:PORT/db
    let (head, rest) = url.rsplit_once(':').unwrap();
    let (old, db) = rest.split_once('/').unwrap();
    (format!("{head}:{port}/{db}"), old.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_down_at_start_or_mid_run_fails_closed_and_service_resumes() {
    let Some(url) = pg_database("down").await else {
        return;
    };
    let idp = TestIdp::fixed("https://idp.acme.example/saml");
    let (_, pg_port) = with_port(&url, 0);
    let mut proxy = Proxy::start(pg_port).await;
    let (via_proxy, _) = with_port(&url, proxy.port);
    let settings = {
        let mut s = PgSettings::default();
        s.acquire_timeout = Duration::from_secs(1);
        s.statement_timeout = Duration::from_secs(1);
        s
    };
    // Down at start: the app starts (a lazy pool), and everything fails closed with a code.
    proxy.cut();
    let store = PgStore::from_pool(settings.pool(&via_proxy).unwrap());
    let stores = Stores {
        label: "postgres via proxy",
        requests: Arc::new(store.clone()),
        replay: Arc::new(store.clone()),
        logouts: Arc::new(store.clone()),
        profiles: Arc::new(PgProfileStore::new(store.pool().clone())),
        cleanup: Arc::new(|_| tokio::spawn(async { 0 })),
    };
    let app = instance(&stores);
    let started = Instant::now();
    let e = app.profiles.load().await.unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "{e}");
    let e = app.profiles.list("org-acme").await.unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "the admin page says so: {e}");
    let browser = BrowserBinding::generate().unwrap();
    let e = app
        .acs
        .start_login("p-0123456789ab", None, &browser)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "store_unavailable", "a login says so too: {e}");
    assert!(app.registry.source_unavailable().is_some());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "fails fast: {:?}",
        started.elapsed()
    );
    // Back: migrate, set up a profile, sign in.
    proxy.restore().await;
    postgres::migrate(store.pool(), None).await.unwrap();
    assert_eq!(app.profiles.sync().await.unwrap(), 0);
    assert_eq!(app.registry.source_unavailable(), None);
    let e = app
        .acs
        .start_login("p-0123456789ab", None, &browser)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unknown_tenant", "{e}");
    let p = active_profile(&app, &idp).await;
    assert_eq!(
        login(&app, &idp, &p, "ada@acme.example").await.unwrap(),
        "ada@acme.example"
    );
    // Killed mid-run: logins and profile saves in flight while the database goes away.
    let mut runs = Vec::new();
    for i in 0..40 {
        let app = Instance {
            registry: app.registry.clone(),
            profiles: app.profiles.clone(),
            acs: app.acs.clone(),
        };
        let (idp, p) = (idp.clone(), p.clone());
        runs.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(i * 5)).await;
            login(&app, &idp, &p, &format!("u{i}@acme.example"))
                .await
                .map_err(|e| e.code())
        }));
    }
    let mut saves = Vec::new();
    for i in 0..20u64 {
        let profiles = app.profiles.clone();
        let id = p.id.clone();
        saves.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(i * 10)).await;
            let cur = profiles.get("org-acme", &id).await.map_err(|e| e.code())?;
            profiles
                .set_provisioning(
                    "org-acme",
                    &id,
                    cur.version,
                    saml_sp::profile::ProvisioningSettings {
                        jit: i % 2 == 0,
                        ..cur.provisioning.clone()
                    },
                    "ann@acme.example",
                )
                .await
                .map(|_| ())
                .map_err(|e| match e {
                    saml_sp::profile::ProfileError::Failed(e) => e.code(),
                    _ => "invalid",
                })
        }));
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    proxy.cut();
    let cut_at = Instant::now();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for r in runs {
        let k = match r.await.unwrap() {
            Ok(_) => "ok".to_owned(),
            Err(c) => c.to_owned(),
        };
        *outcomes.entry(k).or_default() += 1;
    }
    for s in saves {
        let k = match s.await.unwrap() {
            Ok(()) => "saved".to_owned(),
            Err(c) => format!("save {c}"),
        };
        *outcomes.entry(k).or_default() += 1;
    }
    eprintln!("outcomes with the database cut: {outcomes:?}");
    assert!(cut_at.elapsed() < Duration::from_secs(20));
    assert!(
        outcomes.get("store_unavailable").copied().unwrap_or(0) > 0,
        "{outcomes:?}"
    );
    for k in outcomes.keys() {
        assert!(
            [
                "ok",
                "store_unavailable",
                "saved",
                "save store_unavailable",
                "save version_conflict",
                "replayed_assertion"
            ]
            .contains(&k.as_str()),
            "only successes and fail-closed refusals: {outcomes:?}"
        );
    }
    // Restored: service resumes without a restart, and every stored row is whole.
    proxy.restore().await;
    assert_eq!(
        login(&app, &idp, &p, "back@acme.example").await.unwrap(),
        "back@acme.example"
    );
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT version, data FROM sso_profiles")
        .fetch_all(store.pool())
        .await
        .unwrap();
    for (version, data) in rows {
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            v["version"].as_i64(),
            Some(version),
            "the row and its JSON agree"
        );
        assert_eq!(
            stores
                .profiles
                .get(v["id"].as_str().unwrap())
                .await
                .unwrap()
                .unwrap()
                .version as i64,
            version
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_is_a_fast_refusal() {
    let Some(url) = pg_database("slow").await else {
        return;
    };
    PgStore::connect(&url).await.unwrap();
    let mut settings = PgSettings::default();
    settings.statement_timeout = Duration::from_millis(300);
    let store = PgStore::from_pool(settings.pool(&url).unwrap());
    // Another session holds the replay table: every statement on it waits.
    let holder = sqlx::PgPool::connect(&url).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("LOCK TABLE saml_replay IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let now = Utc::now();
    let started = Instant::now();
    let e = store
        .insert_if_absent("acme", "a1", now + chrono::Duration::minutes(5), now)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(e.to_string().contains("statement timeout"), "{e}");
    tx.rollback().await.unwrap();
    // Released: the same ID is accepted (the timed-out statement wrote nothing).
    assert!(
        store
            .insert_if_absent("acme", "a1", now + chrono::Duration::minutes(5), now)
            .await
            .unwrap()
    );
}
