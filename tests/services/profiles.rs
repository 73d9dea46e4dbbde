//! SSO profiles through `ProfileService` (issue 30): an organization administrator goes from no
//! profile to SSO enforced with the test IdP as the customer's IdP, verifying the domain against
//! a DNS server this test runs on loopback; a wrong certificate shows the failing check and both
//! fingerprints; test logins create no session and cannot be replayed at the ACS; invalid input
//! and stale versions save nothing; a second organization is set up independently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use saml_sp::profile::{
    DnsResolver, IdpInput, MemoryProfileStore, ProfileError, ProfileService, ProfileState,
    verification_name,
};
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::tenant::IdpPreset;
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::{IdpRegistry, SpSettings};

/// A DNS server on loopback answering TXT queries from `records` (name -> values), and nothing
/// else (NXDOMAIN), over UDP.
async fn dns_server(records: Arc<Mutex<HashMap<String, Vec<String>>>>) -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let q = &buf[..n];
            // The question: labels from byte 12, then QTYPE and QCLASS.
            let mut i = 12;
            let mut labels = Vec::new();
            while i < q.len() && q[i] != 0 {
                let len = q[i] as usize;
                labels.push(String::from_utf8_lossy(&q[i + 1..i + 1 + len]).to_lowercase());
                i += 1 + len;
            }
            let question_end = i + 5;
            let name = labels.join(".") + ".";
            let answers = records.lock().unwrap().get(&name).cloned();
            let mut out = Vec::new();
            out.extend_from_slice(&q[0..2]); // ID
            let rcode = if answers.is_some() { 0 } else { 3 };
            out.extend_from_slice(&[0x81, 0x80 | rcode]); // response, RD, RA
            out.extend_from_slice(&[0, 1]); // QDCOUNT
            let answers = answers.unwrap_or_default();
            out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]); // NSCOUNT, ARCOUNT
            out.extend_from_slice(&q[12..question_end]);
            for a in answers {
                out.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60]);
                out.extend_from_slice(&((a.len() + 1) as u16).to_be_bytes());
                out.push(a.len() as u8);
                out.extend_from_slice(a.as_bytes());
            }
            let _ = socket.send_to(&out, peer).await;
        }
    });
    addr
}

struct World {
    idp: TestIdp,
    registry: Arc<IdpRegistry>,
    profiles: ProfileService,
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    acs: saml_sp::Acs<saml_sp::login::ProvisionFn<Provision>>,
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

async fn world() -> World {
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(
            "https://app.example.com/saml/{tenant}",
            "https://app.example.com/saml/{tenant}/acs",
        )
        .unwrap(),
    ));
    let requests = Arc::new(MemoryRequestStore::default());
    let replay = Arc::new(MemoryReplayCache::default());
    let records: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let dns = dns_server(records.clone()).await;
    let profiles = ProfileService::new(
        registry.clone(),
        Arc::new(MemoryProfileStore::default()),
        requests.clone(),
        replay.clone(),
        Arc::new(DnsResolver::with_name_server(dns)),
    );
    let acs = saml_sp::Acs::new(
        registry.clone(),
        requests,
        replay,
        saml_sp::login::ProvisionFn(provision as Provision),
    );
    World {
        idp: TestIdp::fixed("https://idp.acme.example/saml"),
        registry,
        profiles,
        records,
        acs,
    }
}

fn pem(idp: &TestIdp) -> String {
    idp.certificate_pem()
}

/// The admin's browser at the IdP: the AuthnRequest the test sent, answered by `idp` for `user`.
fn answer(
    idp: &TestIdp,
    start: &saml_sp::profile::TestStart,
    profile: &saml_sp::profile::SsoProfile,
    user: &str,
) -> String {
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
    assert_eq!(m.relay_state.as_deref(), Some(start.relay_state.as_str()));
    idp.response(&profile.sp_entity_id, &profile.acs_url)
        .in_response_to(id)
        .user(
            TestUser::new(user)
                .name("Ada", "Lovelace")
                .groups(["admins"]),
        )
        .build_base64(chrono::Utc::now())
        .unwrap()
}

#[tokio::test]
async fn an_organization_goes_from_no_profile_to_sso_enforced() {
    let w = world().await;
    let admin = "ann@acme.example";
    // 1. Create: the SP values exist at once.
    let p = w
        .profiles
        .create("org-acme", "Acme Okta", Some(IdpPreset::Okta), admin)
        .await
        .unwrap();
    assert_eq!(p.state, ProfileState::Draft);
    assert_eq!(
        p.sp_entity_id,
        format!("https://app.example.com/saml/{}", p.id)
    );
    assert_eq!(
        p.acs_url,
        format!("https://app.example.com/saml/{}/acs", p.id)
    );
    let md = w.profiles.sp_metadata("org-acme", &p.id).await.unwrap();
    assert!(md.contains(&p.acs_url));
    // 3. Paste the three values (the certificate as one line without headers).
    let bare: String = pem(&w.idp)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let (p, warnings) = w
        .profiles
        .set_idp(
            "org-acme",
            &p.id,
            p.version,
            &IdpInput::Values {
                issuer: format!(" {} ", w.idp.entity_id()),
                sso_url: "https://idp.acme.example/sso".into(),
                certificate: bare,
            },
            admin,
        )
        .await
        .unwrap();
    assert!(warnings.is_empty());
    assert_eq!(p.state, ProfileState::Configured);
    assert!(
        w.registry.by_slug(&p.id).is_none(),
        "not active: not in the registry"
    );
    // 4. Test the connection.
    let start = w
        .profiles
        .start_test("org-acme", &p.id, admin)
        .await
        .unwrap();
    assert!(start.relay_state.starts_with("test-"));
    let posted = answer(&w.idp, &start, &p, "ada@acme.example");
    let result = w
        .profiles
        .finish_test(&p.id, &posted, &start.relay_state, admin)
        .await
        .unwrap();
    assert!(result.passed, "{:#?}", result.checks);
    let identity = result.identity.clone().unwrap();
    assert_eq!(identity.email, "ada@acme.example");
    assert_eq!(
        (identity.first_name.as_str(), identity.last_name.as_str()),
        ("Ada", "Lovelace")
    );
    assert!(
        result.attributes.iter().any(|(n, _)| n == "email"),
        "{:?}",
        result.attributes
    );
    assert_eq!(
        w.profiles.last_test("org-acme", &p.id).await.unwrap(),
        Some(result)
    );
    // The test signed nobody in, and its Response cannot be replayed at the ACS.
    let p = w.profiles.get("org-acme", &p.id).await.unwrap();
    assert_eq!(p.state, ProfileState::Tested);
    // 5. Activate: the registry has it at once.
    let p = w
        .profiles
        .activate("org-acme", &p.id, p.version, admin)
        .await
        .unwrap();
    assert!(w.registry.by_slug(&p.id).is_some());
    let e = w
        .acs
        .finish_login(
            &p.id,
            &posted,
            None,
            None,
            &saml_sp::login::AuditContext::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "replayed_assertion", "{e}");
    // A real login works.
    let browser = saml_sp::login::BrowserBinding::generate().unwrap();
    let login = w.acs.start_login(&p.id, None, &browser).await.unwrap();
    let real = w
        .idp
        .response(&p.sp_entity_id, &p.acs_url)
        .in_response_to(&login.request_id)
        .user(TestUser::new("bob@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let done = w
        .acs
        .finish_login(
            &p.id,
            &real,
            Some(&login.relay_state),
            Some(&browser),
            &saml_sp::login::AuditContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(done.user, "bob@acme.example");
    // Enforcing needs a verified domain.
    let e = w
        .profiles
        .enforce("org-acme", &p.id, p.version, true, admin)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("verify"), "{e}");
    // Claim and verify the domain against the DNS server.
    let (p, claim) = w
        .profiles
        .claim_domain("org-acme", &p.id, p.version, "Acme.Example", admin)
        .await
        .unwrap();
    assert!(!w.registry.sso_enforced_for("acme.example"));
    let (p, verified) = w
        .profiles
        .verify_domain("org-acme", &p.id, p.version, "acme.example", admin)
        .await
        .unwrap();
    assert!(!verified, "no TXT record yet");
    w.records
        .lock()
        .unwrap()
        .insert(verification_name("acme.example"), vec![claim.txt_record()]);
    let (p, verified) = w
        .profiles
        .verify_domain("org-acme", &p.id, p.version, "acme.example", admin)
        .await
        .unwrap();
    assert!(verified);
    // Discovery only for verified domains, then enforcement.
    assert_eq!(w.registry.discover("x@acme.example").unwrap().slug(), p.id);
    let p = w
        .profiles
        .enforce("org-acme", &p.id, p.version, true, admin)
        .await
        .unwrap();
    assert_eq!(p.state, ProfileState::Enforced);
    assert!(
        w.registry.sso_enforced_for("acme.example"),
        "password login refused"
    );
    let start = w
        .acs
        .start_login_for_email("carol@acme.example", None, &browser)
        .await
        .unwrap();
    assert_eq!(start.tenant, p.id, "a user of the domain is sent to SSO");
    // Every change is audited with its author.
    let states: Vec<_> = p
        .audit
        .iter()
        .filter(|a| a.field == "state")
        .map(|a| a.new.as_str())
        .collect();
    assert_eq!(
        states,
        ["draft", "configured", "tested", "active", "enforced"]
    );
    assert!(p.audit.iter().all(|a| a.by == admin));

    // A second organization, independently, with its own IdP and domain.
    let other_idp = TestIdp::generate("https://idp.globex.example/saml").unwrap();
    let q = w
        .profiles
        .create("org-globex", "Globex", None, "gus@globex.example")
        .await
        .unwrap();
    assert_ne!(q.id, p.id);
    let (q, _) = w
        .profiles
        .set_idp(
            "org-globex",
            &q.id,
            q.version,
            &IdpInput::Metadata(other_idp.metadata_xml("https://idp.globex.example/sso")),
            "gus@globex.example",
        )
        .await
        .unwrap();
    // Organizations see only their own profiles.
    assert!(w.profiles.get("org-acme", &q.id).await.is_err());
    assert_eq!(w.profiles.list("org-acme").await.unwrap().len(), 1);
    assert_eq!(q.state, ProfileState::Configured);
}

#[tokio::test]
async fn a_test_with_the_wrong_certificate_shows_the_check_and_both_fingerprints() {
    let w = world().await;
    let admin = "ann@acme.example";
    let p = w.profiles.create("org", "Okta", None, admin).await.unwrap();
    let (p, _) = w
        .profiles
        .set_idp(
            "org",
            &p.id,
            p.version,
            &IdpInput::Values {
                issuer: w.idp.entity_id().into(),
                sso_url: "https://idp.acme.example/sso".into(),
                certificate: pem(&w.idp),
            },
            admin,
        )
        .await
        .unwrap();
    // The IdP actually signs with another key (the admin pasted last year's certificate).
    let rotated = w.idp.successor().unwrap();
    let start = w.profiles.start_test("org", &p.id, admin).await.unwrap();
    let posted = answer(&rotated, &start, &p, "ada@acme.example");
    // Another administrator cannot finish (or read) someone else's test.
    let e = w
        .profiles
        .finish_test(&p.id, &posted, &start.relay_state, "mallory@acme.example")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "login_browser_mismatch");
    let start = w.profiles.start_test("org", &p.id, admin).await.unwrap();
    let posted = answer(&rotated, &start, &p, "ada@acme.example");
    let result = w
        .profiles
        .finish_test(&p.id, &posted, &start.relay_state, admin)
        .await
        .unwrap();
    assert!(!result.passed);
    assert_eq!(result.error_code, Some("untrusted_key"));
    let failed = result
        .checks
        .iter()
        .find(|c| c.result == saml_sp::CheckResult::Failed)
        .unwrap();
    let configured = w.idp.certificate().fingerprint_hex();
    let received = rotated.certificate().fingerprint_hex();
    assert!(failed.expected.contains(&configured), "{failed:?}");
    assert!(failed.found.contains(&received), "{failed:?}");
    assert_eq!(result.configured_fingerprints, [configured]);
    assert!(result.identity.is_none());
    // A failed test does not advance the profile.
    let p = w.profiles.get("org", &p.id).await.unwrap();
    assert_eq!(p.state, ProfileState::Configured);
    // The same test cannot be finished twice.
    let e = w
        .profiles
        .finish_test(&p.id, &posted, &start.relay_state, admin)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unknown_in_response_to");
}

#[tokio::test]
async fn invalid_input_and_stale_versions_save_nothing() {
    let w = world().await;
    let admin = "ann@acme.example";
    let p = w.profiles.create("org", "Okta", None, admin).await.unwrap();
    assert!(matches!(
        w.profiles.create("org", "  ", None, admin).await,
        Err(ProfileError::Invalid(_))
    ));
    let cases = [
        IdpInput::Values {
            issuer: "".into(),
            sso_url: "http://idp.acme.example/sso".into(),
            certificate: "-----BEGIN CERTIFICATE-----\nMIIB".into(),
        },
        IdpInput::Values {
            issuer: "https://idp with space".into(),
            sso_url: "not a url".into(),
            certificate: "hello".into(),
        },
        IdpInput::Metadata("<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>".into()),
        IdpInput::Metadata("not xml".into()),
    ];
    for input in &cases {
        match w
            .profiles
            .set_idp("org", &p.id, p.version, input, admin)
            .await
        {
            Err(ProfileError::Invalid(problems)) => {
                assert!(!problems.is_empty());
                for pr in &problems {
                    assert!(
                        ["issuer", "sso_url", "certificate", "metadata"].contains(&pr.field),
                        "{pr:?}"
                    );
                    assert!(!pr.message.contains("Nom"), "{pr:?}");
                }
            }
            other => panic!("{other:?}"),
        }
    }
    let after = w.profiles.get("org", &p.id).await.unwrap();
    assert_eq!(after, p, "nothing saved");
    // Two administrators edit at once: the second save is a conflict.
    let values = IdpInput::Values {
        issuer: w.idp.entity_id().into(),
        sso_url: "https://idp.acme.example/sso".into(),
        certificate: pem(&w.idp),
    };
    w.profiles
        .set_idp("org", &p.id, p.version, &values, admin)
        .await
        .unwrap();
    match w
        .profiles
        .set_idp("org", &p.id, p.version, &values, "bob")
        .await
    {
        Err(ProfileError::Failed(e)) => assert_eq!(e.code(), "version_conflict"),
        other => panic!("{other:?}"),
    }
    // Activation refuses an untested profile.
    let now = w.profiles.get("org", &p.id).await.unwrap();
    let e = w
        .profiles
        .activate("org", &p.id, now.version, admin)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("tested"), "{e}");
    assert_eq!(w.profiles.get("org", &p.id).await.unwrap(), now);
}

/// The admin API (feature `admin`) and the ACS's test-login hook, through `http` requests: an
/// administrator of one organization drives the whole flow; nothing is reachable without the
/// authorizer; another organization's administrator is refused; invalid input is a 422 with
/// every field; a stale version is a 409.
#[cfg(feature = "admin")]
#[tokio::test]
async fn the_admin_api_drives_the_flow_and_nothing_is_reachable_without_authorization() {
    use saml_sp::web::admin::{AdminApi, AdminAuthorizer};
    use serde_json::{Value, json};

    /// The app's sign-in: the `x-admin` header names the administrator (the app's session in a
    /// real app), who may administer the organizations listed for them.
    struct HeaderAdmins(HashMap<&'static str, Vec<&'static str>>);
    impl AdminAuthorizer for HeaderAdmins {
        fn administrator(
            &self,
            headers: &http::HeaderMap,
            _extensions: &http::Extensions,
        ) -> Option<String> {
            headers
                .get("x-admin")
                .and_then(|v| v.to_str().ok())
                .filter(|a| self.0.contains_key(a))
                .map(str::to_owned)
        }
        fn may_administer(&self, admin: &str, organization: &str) -> bool {
            self.0
                .get(admin)
                .is_some_and(|orgs| orgs.contains(&organization))
        }
    }
    let w = world().await;
    let auth = || {
        HeaderAdmins(HashMap::from([
            ("ann", vec!["org-acme"]),
            ("gus", vec!["org-globex"]),
        ]))
    };
    let profiles = Arc::new(w.profiles);
    let api = AdminApi::new(profiles.clone(), auth(), "/admin/sso");
    let call = |method: &str, path: &str, admin: Option<&str>, body: Value| {
        let mut b = http::Request::builder().method(method).uri(path);
        if let Some(a) = admin {
            b = b.header("x-admin", a);
        }
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        b.body(body).unwrap()
    };
    let send = |req| async { api.handle(req).await };
    let json_of = |r: &http::Response<String>| -> Value { serde_json::from_str(r.body()).unwrap() };

    // Nothing without a signed-in administrator, nothing for another organization.
    let r = send(call(
        "GET",
        "/admin/sso/orgs/org-acme/profiles",
        None,
        Value::Null,
    ))
    .await;
    assert_eq!(r.status(), 401);
    let r = send(call(
        "GET",
        "/admin/sso/orgs/org-acme/profiles",
        Some("gus"),
        Value::Null,
    ))
    .await;
    assert_eq!(r.status(), 403);
    let r = send(call(
        "POST",
        "/admin/sso/orgs/org-acme/profiles",
        Some("mallory"),
        json!({"name": "x"}),
    ))
    .await;
    assert_eq!(r.status(), 401);

    // Create.
    let r = send(call(
        "POST",
        "/admin/sso/orgs/org-acme/profiles",
        Some("ann"),
        json!({"name": "Acme", "preset": "okta"}),
    ))
    .await;
    assert_eq!(r.status(), 201, "{}", r.body());
    let p = json_of(&r);
    let id = p["id"].as_str().unwrap().to_owned();
    let base = format!("/admin/sso/orgs/org-acme/profiles/{id}");
    assert_eq!(p["state"], "draft");
    let r = send(call(
        "GET",
        &format!("{base}/sp-metadata"),
        Some("ann"),
        Value::Null,
    ))
    .await;
    assert!(r.body().contains(p["acs_url"].as_str().unwrap()));
    // Invalid IdP values: 422 with every field, nothing saved.
    let r = send(call("PUT", &format!("{base}/idp"), Some("ann"), json!({"version": 1, "issuer": "", "sso_url": "http://idp.acme.example/sso", "certificate": "MIIB"}))).await;
    assert_eq!(r.status(), 422, "{}", r.body());
    let fields: Vec<String> = json_of(&r)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["issuer", "sso_url", "certificate"]);
    let r = send(call("GET", &base, Some("ann"), Value::Null)).await;
    assert_eq!(json_of(&r)["version"], 1);
    // The three values.
    let r = send(call("PUT", &format!("{base}/idp"), Some("ann"), json!({"version": 1, "issuer": w.idp.entity_id(), "sso_url": "https://idp.acme.example/sso", "certificate": pem(&w.idp)}))).await;
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(json_of(&r)["state"], "configured");
    // A stale version: 409.
    let r = send(call("PUT", &format!("{base}/idp"), Some("ann"), json!({"version": 1, "issuer": w.idp.entity_id(), "sso_url": "https://idp.acme.example/sso", "certificate": pem(&w.idp)}))).await;
    assert_eq!(r.status(), 409, "{}", r.body());
    // Start a test; the IdP posts to the ACS; the ACS re-posts same-site; the test finishes
    // for the administrator and signs nobody in.
    let r = send(call(
        "POST",
        &format!("{base}/test"),
        Some("ann"),
        Value::Null,
    ))
    .await;
    assert_eq!(r.status(), 200, "{}", r.body());
    let started = json_of(&r);
    let start = saml_sp::profile::TestStart {
        navigation: saml_sp::binding::Navigation::Redirect(
            started["redirect_url"].as_str().unwrap().to_owned(),
        ),
        relay_state: started["relay_state"].as_str().unwrap().to_owned(),
    };
    let profile = profiles.get("org-acme", &id).await.unwrap();
    let posted = answer(&w.idp, &start, &profile, "ada@acme.example");
    let web = saml_sp::web::SamlWeb::new(
        Arc::new(w.acs),
        Arc::new(saml_sp::web::MemorySessions::<String>::default()),
        saml_sp::web::WebSettings::multi_tenant(),
    )
    .with_profile_tests(profiles.clone(), Arc::new(auth()), "/settings/sso");
    let form = format!(
        "SAMLResponse={}&RelayState={}",
        form_urlencoded::byte_serialize(posted.as_bytes()).collect::<String>(),
        start.relay_state
    );
    let acs_path = format!("/saml/{id}/acs");
    let first = web
        .handle(
            http::Request::post(&acs_path)
                .body(form.clone().into_bytes())
                .unwrap(),
            "127.0.0.1".parse().unwrap(),
        )
        .await;
    assert_eq!(first.status(), 200);
    assert!(
        first.body().contains("SamlSpContinue"),
        "a same-site re-post"
    );
    let resumed = web
        .handle(
            http::Request::post(&acs_path)
                .header("x-admin", "ann")
                .body(format!("{form}&SamlSpContinue=1").into_bytes())
                .unwrap(),
            "127.0.0.1".parse().unwrap(),
        )
        .await;
    assert_eq!(resumed.status(), 303, "{}", resumed.body());
    assert_eq!(
        resumed.headers()["location"],
        format!("/settings/sso?profile={id}").as_str()
    );
    assert!(resumed.headers().get("set-cookie").is_none(), "no session");
    let r = send(call(
        "GET",
        &format!("{base}/test"),
        Some("ann"),
        Value::Null,
    ))
    .await;
    let result = json_of(&r);
    assert_eq!(result["passed"], true, "{result}");
    assert_eq!(result["identity"]["email"], "ada@acme.example");
    // Activate, claim and verify the domain, enforce.
    let r = send(call(
        "POST",
        &format!("{base}/activate"),
        Some("ann"),
        json!({"version": 3}),
    ))
    .await;
    assert_eq!(json_of(&r)["state"], "active", "{}", r.body());
    let r = send(call(
        "POST",
        &format!("{base}/domains"),
        Some("ann"),
        json!({"version": 4, "domain": "acme.example"}),
    ))
    .await;
    let claim = json_of(&r);
    w.records.lock().unwrap().insert(
        claim["txt_name"].as_str().unwrap().to_owned(),
        vec![claim["txt_value"].as_str().unwrap().to_owned()],
    );
    let r = send(call(
        "POST",
        &format!("{base}/domains/acme.example/verify"),
        Some("ann"),
        json!({"version": 5}),
    ))
    .await;
    assert_eq!(json_of(&r)["verified"], true, "{}", r.body());
    let r = send(call(
        "POST",
        &format!("{base}/enforce"),
        Some("ann"),
        json!({"version": 6}),
    ))
    .await;
    assert_eq!(r.status(), 409, "unconfirmed: {}", r.body());
    let r = send(call(
        "POST",
        &format!("{base}/enforce"),
        Some("ann"),
        json!({"version": 6, "confirm": true}),
    ))
    .await;
    assert_eq!(json_of(&r)["state"], "enforced", "{}", r.body());
    assert!(w.registry.sso_enforced_for("acme.example"));
    // The audit trail is in the profile.
    let audit = json_of(&r)["audit"].as_array().unwrap().len();
    assert!(audit >= 8, "{audit}");
}

/// Step 7 of the flow: the profile's health shows the certificate's expiry, the last test, and
/// the last successful and failed logins with their codes (from the ACS's audit events).
#[tokio::test]
async fn a_profile_shows_its_health() {
    let w = world().await;
    let health = Arc::new(saml_sp::profile::LoginHealth::default());
    let acs = w.acs.with_audit_sink(health.clone());
    let admin = "ann@acme.example";
    let p = w.profiles.create("org", "Okta", None, admin).await.unwrap();
    let (p, _) = w
        .profiles
        .set_idp(
            "org",
            &p.id,
            p.version,
            &IdpInput::Values {
                issuer: w.idp.entity_id().into(),
                sso_url: "https://idp.acme.example/sso".into(),
                certificate: pem(&w.idp),
            },
            admin,
        )
        .await
        .unwrap();
    let start = w.profiles.start_test("org", &p.id, admin).await.unwrap();
    let posted = answer(&w.idp, &start, &p, "ada@acme.example");
    w.profiles
        .finish_test(&p.id, &posted, &start.relay_state, admin)
        .await
        .unwrap();
    let p = w.profiles.get("org", &p.id).await.unwrap();
    let p = w
        .profiles
        .activate("org", &p.id, p.version, admin)
        .await
        .unwrap();
    // One good login, then one refused (a Response for another SP).
    let browser = saml_sp::login::BrowserBinding::generate().unwrap();
    let login = acs.start_login(&p.id, None, &browser).await.unwrap();
    let good = w
        .idp
        .response(&p.sp_entity_id, &p.acs_url)
        .in_response_to(&login.request_id)
        .build_base64(chrono::Utc::now())
        .unwrap();
    acs.finish_login(
        &p.id,
        &good,
        Some(&login.relay_state),
        Some(&browser),
        &audit_ctx(),
    )
    .await
    .unwrap();
    let bad = w
        .idp
        .response("https://other.example/sp", &p.acs_url)
        .build_base64(chrono::Utc::now())
        .unwrap();
    let e = acs
        .finish_login(&p.id, &bad, None, None, &audit_ctx())
        .await
        .unwrap_err();
    let h = w.profiles.health("org", &p.id, &health).await.unwrap();
    assert_eq!(h.certificates.len(), 1);
    assert_eq!(
        h.certificates[0].sha256,
        w.idp.certificate().fingerprint_hex()
    );
    assert!(h.certificates[0].days_left > 30);
    assert!(!h.expiring_soon);
    assert_eq!(h.last_test.map(|t| t.1), Some(true));
    assert!(h.logins.last_success.is_some());
    assert_eq!(h.logins.last_failure.map(|f| f.1), Some(e.code()));
    // An unknown tenant in a URL never creates an entry.
    let _ = acs
        .finish_login("no-such-profile", &bad, None, None, &audit_ctx())
        .await;
    assert_eq!(health.outcomes("no-such-profile"), Default::default());
}

fn audit_ctx() -> saml_sp::login::AuditContext {
    saml_sp::login::AuditContext::new()
}

/// The admin API mounted through the axum and actix-web adapters: the same authorization and
/// answers as on `http` types.
#[cfg(all(feature = "admin", feature = "axum", feature = "actix"))]
#[tokio::test]
async fn the_admin_api_through_the_axum_and_actix_adapters() {
    use saml_sp::web::admin::{AdminApi, AdminAuthorizer};
    use tower::ServiceExt as _;

    struct OneAdmin;
    impl AdminAuthorizer for OneAdmin {
        fn administrator(&self, h: &http::HeaderMap, _: &http::Extensions) -> Option<String> {
            (h.get("x-admin")?.to_str().ok()? == "ann").then(|| "ann".to_owned())
        }
        fn may_administer(&self, admin: &str, org: &str) -> bool {
            admin == "ann" && org == "acme"
        }
    }
    let w = world().await;
    let api = Arc::new(AdminApi::new(Arc::new(w.profiles), OneAdmin, "/admin/sso"));
    // axum
    let app: axum::Router = saml_sp::web::axum::admin_router(api.clone());
    let create = || {
        http::Request::post("/admin/sso/orgs/acme/profiles")
            .header("x-admin", "ann")
            .body(axum::body::Body::from(r#"{"name":"Acme"}"#))
            .unwrap()
    };
    let r = app.clone().oneshot(create()).await.unwrap();
    assert_eq!(r.status(), 201);
    let denied = http::Request::get("/admin/sso/orgs/acme/profiles")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.clone().oneshot(denied).await.unwrap().status(), 401);
    // actix-web
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(saml_sp::web::actix::configure_admin(api.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::get()
        .uri("/admin/sso/orgs/acme/profiles")
        .insert_header(("x-admin", "ann"))
        .to_request();
    let r = actix_web::test::call_service(&app, req).await;
    assert_eq!(r.status(), 200);
    let body = actix_web::test::read_body(r).await;
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the profile created through axum"
    );
    let req = actix_web::test::TestRequest::get()
        .uri("/admin/sso/orgs/globex/profiles")
        .insert_header(("x-admin", "ann"))
        .to_request();
    assert_eq!(actix_web::test::call_service(&app, req).await.status(), 403);
}
