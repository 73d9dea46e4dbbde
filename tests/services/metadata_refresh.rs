//! IdP metadata from a URL, kept fresh (issue 17): a local HTTPS server (rustls, a CA generated
//! here and trusted only by these clients) serves the test IdP's metadata; the refresher keeps a
//! tenant of an `IdpRegistry` in step with it. Every time is explicit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use saml_sp::refresh::{
    MetadataClient, MetadataEvent, MetadataRefresher, MetadataSource, RefreshPolicy,
};
use saml_sp::tenant::HealthStatus;
use saml_sp::testkit::TestIdp;
use saml_sp::time::parse_instant;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

const IDP: &str = "https://idp.example.com/saml";
const SSO: &str = "https://idp.example.com/sso";

#[derive(Clone)]
struct Reply {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

struct Server {
    port: u16,
    ca_pem: String,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    down: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

impl Server {
    async fn start() -> Server {
        Server::start_with(None).await
    }

    /// A server that requires a TLS client certificate issued by `client_ca` (PEM).
    async fn start_with(client_ca: Option<&str>) -> Server {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "saml-sp test metadata CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                let der =
                    rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
                roots.add(der).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (r, d, h) = (routes.clone(), down.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, r, d, h) = (acceptor.clone(), r.clone(), d.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16384 {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let text = String::from_utf8_lossy(&req);
                    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
                    let reply = if d.load(Ordering::SeqCst) {
                        Reply {
                            status: 503,
                            location: None,
                            body: b"down".to_vec(),
                        }
                    } else {
                        r.lock().unwrap().get(&path).cloned().unwrap_or(Reply {
                            status: 404,
                            location: None,
                            body: b"not found".to_vec(),
                        })
                    };
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nContent-Type: application/samlmetadata+xml\r\nConnection: close\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    if let Some(l) = &reply.location {
                        head.push_str(&format!("Location: {l}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(&reply.body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Server {
            port,
            ca_pem: ca.pem(),
            routes,
            down,
            hits,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn serve(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.routes.lock().unwrap().insert(
            path.into(),
            Reply {
                status: 200,
                location: None,
                body: body.into(),
            },
        );
    }

    fn redirect(&self, path: &str, to: &str) {
        self.routes.lock().unwrap().insert(
            path.into(),
            Reply {
                status: 302,
                location: Some(to.into()),
                body: Vec::new(),
            },
        );
    }

    /// A client trusting only this server's CA, allowed to reach loopback.
    fn client(&self) -> MetadataClient {
        MetadataClient::builder()
            .add_root_certificates_pem(self.ca_pem.as_bytes())
            .unwrap()
            .only_added_roots()
            .dangerous_allow_loopback()
            .build()
            .unwrap()
    }
}

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s, "t").unwrap()
}

/// The IdP's metadata with these signing certificates (rotation overlap: several), and
/// optional `validUntil` / `cacheDuration`, signed by `signer` when given.
fn metadata(
    idps: &[&TestIdp],
    valid_until: Option<&str>,
    cache: Option<&str>,
    signer: Option<&TestIdp>,
) -> String {
    let mut md = idps[0].metadata_xml(SSO);
    let key_descriptor = |idp: &TestIdp| {
        let m = idp.metadata_xml(SSO);
        let start = m.find("<md:KeyDescriptor").unwrap();
        let end = m.find("</md:KeyDescriptor>").unwrap() + "</md:KeyDescriptor>".len();
        m[start..end].to_string()
    };
    for extra in &idps[1..] {
        let kd = key_descriptor(extra);
        md = md.replacen(
            "<md:SingleLogoutService",
            &format!("{kd}<md:SingleLogoutService"),
            1,
        );
    }
    let mut attrs = String::from("ID=\"_md1\" ");
    if let Some(v) = valid_until {
        attrs.push_str(&format!("validUntil=\"{v}\" "));
    }
    if let Some(c) = cache {
        attrs.push_str(&format!("cacheDuration=\"{c}\" "));
    }
    md = md.replacen(
        "<md:EntityDescriptor ",
        &format!("<md:EntityDescriptor {attrs}"),
        1,
    );
    match signer {
        Some(s) => s.sign(&md, "_md1").unwrap(),
        None => md,
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

fn template() -> TenantConfig {
    // The IdP-side fields come from the metadata; these are the app's own.
    TenantConfig::new("acme", "placeholder", Vec::new()).email_domains(["acme.example"])
}

fn no_jitter() -> RefreshPolicy {
    RefreshPolicy::default().jitter(0.0)
}

/// A login signed by `idp`, validated by the tenant's current configuration at `now`.
fn login(registry: &IdpRegistry, idp: &TestIdp, now: DateTime<Utc>) -> Result<String, String> {
    let tenant = registry.by_slug("acme").ok_or("no tenant")?;
    let sp = tenant.service_provider();
    let xml = idp
        .response(sp.entity_id(), sp.acs_url())
        .in_response_to("_req1")
        .build(now)
        .unwrap();
    sp.validate_response(xml.as_bytes(), Some("_req1"), now)
        .map(|a| a.name_id().map(|n| n.value.clone()).unwrap_or_default())
        .map_err(|e| e.code().to_string())
}

#[tokio::test]
async fn refresh_honours_cache_duration_with_floor_and_ceiling() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    server.serve("/md", metadata(&[&idp], None, Some("PT1H"), None));
    let reg = registry();
    let r = MetadataRefresher::new(reg.clone(), server.client()).policy(no_jitter());
    let t0 = t("2027-03-01T10:00:00Z");
    let events = r
        .watch(MetadataSource::new(server.url("/md"), template()), t0)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MetadataEvent::Updated { from: "url", .. }))
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, MetadataEvent::CertificateAdded { fingerprint, .. } if *fingerprint == idp.certificate().fingerprint_hex())));
    let tenant = reg.by_slug("acme").unwrap();
    assert_eq!(tenant.idp_entity_id(), IDP);
    assert_eq!(tenant.sso_url(), Some(SSO));
    assert_eq!(tenant.email_domains(), ["acme.example"]);
    assert_eq!(
        r.status("acme").unwrap().next_refresh,
        t0 + Duration::hours(1)
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // Not due yet: nothing fetched.
    assert!(r.refresh_due(t0 + Duration::minutes(59)).await.is_empty());
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // Due: fetched again, nothing changed but the schedule.
    let t1 = t0 + Duration::hours(1);
    let ev = r.refresh_due(t1).await;
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    assert!(
        !ev.iter()
            .any(|e| matches!(e, MetadataEvent::CertificateAdded { .. })),
        "{ev:?}"
    );
    assert_eq!(
        r.status("acme").unwrap().next_refresh,
        t1 + Duration::hours(1)
    );

    // cacheDuration below the floor (5 min) and above the ceiling (24 h) is clamped.
    server.serve("/md", metadata(&[&idp], None, Some("PT10S"), None));
    r.refresh("acme", t1).await.unwrap();
    assert_eq!(
        r.status("acme").unwrap().next_refresh,
        t1 + Duration::minutes(5)
    );
    server.serve("/md", metadata(&[&idp], None, Some("P30D"), None));
    r.refresh("acme", t1).await.unwrap();
    assert_eq!(
        r.status("acme").unwrap().next_refresh,
        t1 + Duration::hours(24)
    );
    // Without cacheDuration: the default interval (4 h).
    server.serve("/md", metadata(&[&idp], None, None, None));
    r.refresh("acme", t1).await.unwrap();
    assert_eq!(
        r.status("acme").unwrap().next_refresh,
        t1 + Duration::hours(4)
    );

    // Jitter takes up to its fraction off, never adds.
    let reg2 = registry();
    let jittery =
        MetadataRefresher::new(reg2, server.client()).policy(RefreshPolicy::default().jitter(0.5));
    server.serve("/md", metadata(&[&idp], None, Some("PT2H"), None));
    jittery
        .watch(MetadataSource::new(server.url("/md"), template()), t0)
        .await
        .unwrap();
    let next = jittery.status("acme").unwrap().next_refresh;
    assert!(
        next <= t0 + Duration::hours(2) && next >= t0 + Duration::hours(1),
        "{next}"
    );
}

#[tokio::test]
async fn certificate_rotation_with_overlap_needs_no_restart() {
    let server = Server::start().await;
    let old = TestIdp::fixed(IDP);
    let new = old.successor().unwrap();
    assert_ne!(old.certificate().der(), new.certificate().der());
    let reg = registry();
    let seen: Arc<Mutex<Vec<MetadataEvent>>> = Arc::default();
    let sink = seen.clone();
    let r = MetadataRefresher::new(reg.clone(), server.client())
        .policy(no_jitter())
        .on_event(move |e| sink.lock().unwrap().push(e.clone()));
    let now = t("2027-03-01T10:00:00Z");

    // Before: only the old certificate.
    server.serve("/md", metadata(&[&old], None, Some("PT1H"), None));
    r.watch(MetadataSource::new(server.url("/md"), template()), now)
        .await
        .unwrap();
    assert_eq!(login(&reg, &old, now), Ok("user@example.com".into()));
    assert_eq!(login(&reg, &new, now), Err("untrusted_key".into()));

    // During: the IdP publishes both; a refresh trusts both.
    server.serve("/md", metadata(&[&old, &new], None, Some("PT1H"), None));
    let now = now + Duration::hours(1);
    let ev = r.refresh_due(now).await;
    assert!(
        ev.iter().any(|e| matches!(e, MetadataEvent::CertificateAdded { fingerprint, .. } if *fingerprint == new.certificate().fingerprint_hex())),
        "{ev:?}"
    );
    assert_eq!(login(&reg, &old, now), Ok("user@example.com".into()));
    assert_eq!(login(&reg, &new, now), Ok("user@example.com".into()));

    // After: the old certificate is withdrawn.
    server.serve("/md", metadata(&[&new], None, Some("PT1H"), None));
    let now = now + Duration::hours(1);
    let ev = r.refresh_due(now).await;
    assert!(
        ev.iter().any(|e| matches!(e, MetadataEvent::CertificateRemoved { fingerprint, .. } if *fingerprint == old.certificate().fingerprint_hex())),
        "{ev:?}"
    );
    assert_eq!(login(&reg, &new, now), Ok("user@example.com".into()));
    assert_eq!(login(&reg, &old, now), Err("untrusted_key".into()));
    // The sink saw every event the calls returned.
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, MetadataEvent::CertificateAdded { .. }))
            .count(),
        2
    );
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, MetadataEvent::CertificateRemoved { .. }))
            .count(),
        1
    );
}

#[tokio::test]
async fn server_down_keeps_the_last_good_copy_until_valid_until() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    let dir = std::env::temp_dir().join(format!("saml-sp-md-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let backing = dir.join("acme.xml");
    let _ = std::fs::remove_file(&backing);
    server.serve(
        "/md",
        metadata(&[&idp], Some("2027-03-01T12:00:00Z"), Some("PT10M"), None),
    );
    let source =
        || MetadataSource::new(server.url("/md"), template()).backing_file(backing.clone());
    let reg = registry();
    let r = MetadataRefresher::new(reg.clone(), server.client()).policy(no_jitter());
    let t0 = t("2027-03-01T10:00:00Z");
    r.watch(source(), t0).await.unwrap();
    assert!(backing.exists(), "the good copy is kept on disk");

    server.down.store(true, Ordering::SeqCst);
    let t1 = t0 + Duration::minutes(10);
    let ev = r.refresh_due(t1).await;
    assert!(
        ev.iter().any(|e| matches!(e, MetadataEvent::RefreshFailed { code: "metadata_fetch_failed", message, .. } if message.contains("503"))),
        "{ev:?}"
    );
    let st = r.status("acme").unwrap();
    assert_eq!(st.consecutive_failures, 1);
    assert_eq!(
        st.next_refresh,
        t1 + Duration::minutes(1),
        "backoff starts at 1 min"
    );
    r.refresh_due(st.next_refresh).await;
    assert_eq!(
        r.status("acme").unwrap().next_refresh,
        st.next_refresh + Duration::minutes(2),
        "backoff doubles"
    );
    // The last good copy still signs users in...
    assert_eq!(login(&reg, &idp, t1), Ok("user@example.com".into()));
    // ...until its validUntil; then logins are refused with a clear code.
    let late = t("2027-03-01T12:00:01Z");
    assert_eq!(login(&reg, &idp, late), Err("metadata_expired".into()));

    // A restart during the outage: the backing file bridges it.
    let reg2 = registry();
    let r2 = MetadataRefresher::new(reg2.clone(), server.client()).policy(no_jitter());
    let ev = r2.watch(source(), t1).await.unwrap();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            MetadataEvent::Updated {
                from: "backing_file",
                ..
            }
        )),
        "{ev:?}"
    );
    // The outage behind the fallback is reported (issue 27, item 14), and the URL is retried on
    // the backoff schedule, not after the backing copy's cacheDuration.
    assert!(
        ev.iter().any(|e| matches!(e, MetadataEvent::RefreshFailed { code: "metadata_fetch_failed", message, retry_at, .. } if message.contains("503") && *retry_at == t1 + Duration::minutes(1))),
        "{ev:?}"
    );
    let st2 = r2.status("acme").unwrap();
    assert_eq!(st2.consecutive_failures, 1);
    assert_eq!(st2.next_refresh, t1 + Duration::minutes(1));
    assert_eq!(login(&reg2, &idp, t1), Ok("user@example.com".into()));
    // An expired backing copy is never used.
    let reg3 = registry();
    let r3 = MetadataRefresher::new(reg3.clone(), server.client()).policy(no_jitter());
    let e = r3.watch(source(), late).await.unwrap_err();
    assert_eq!(e.code(), "metadata_fetch_failed", "{e}");
    assert!(reg3.by_slug("acme").is_none());
    // Kept failed (issue 34, item 1): its domain stays owned, its logins get a clear code.
    assert_eq!(
        reg3.failed("acme").unwrap().error().code(),
        "metadata_fetch_failed"
    );
    assert_eq!(
        reg3.for_login("acme").unwrap_err().code(),
        "tenant_unavailable"
    );
    // The source stays watched and recovers when the IdP is back.
    server.down.store(false, Ordering::SeqCst);
    server.serve(
        "/md",
        metadata(&[&idp], Some("2027-03-02T12:00:00Z"), Some("PT10M"), None),
    );
    let next = r3.status("acme").unwrap().next_refresh;
    r3.refresh_due(next).await;
    assert_eq!(login(&reg3, &idp, next), Ok("user@example.com".into()));
    assert!(reg3.failed("acme").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn tampered_signed_metadata_is_refused_and_the_old_copy_kept() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    let pinned = vec![idp.certificate().clone()];
    let signed = metadata(&[&idp], None, Some("PT1H"), Some(&idp));
    server.serve("/md", signed.clone());
    let reg = registry();
    let r = MetadataRefresher::new(reg.clone(), server.client()).policy(no_jitter());
    let now = t("2027-03-01T10:00:00Z");
    r.watch(
        MetadataSource::new(server.url("/md"), template()).verify_with(pinned.clone()),
        now,
    )
    .await
    .unwrap();
    assert_eq!(reg.by_slug("acme").unwrap().sso_url(), Some(SSO));

    // An attacker on the path changes the SSO URL under the signature.
    let tampered = signed.replace(SSO, "https://evil.example.com/sso");
    assert_ne!(tampered, signed);
    server.serve("/md", tampered);
    let e = r.refresh("acme", now).await.unwrap_err();
    assert_eq!(e.code(), "digest_mismatch", "{e}");
    assert_eq!(
        reg.by_slug("acme").unwrap().sso_url(),
        Some(SSO),
        "old copy kept"
    );
    // An unsigned document is refused when a certificate is pinned.
    server.serve("/md", metadata(&[&idp], None, Some("PT1H"), None));
    let e = r.refresh("acme", now).await.unwrap_err();
    assert_eq!(e.code(), "signature_missing", "{e}");
    // Signed by another key: refused.
    let other = idp.successor().unwrap();
    server.serve("/md", metadata(&[&other], None, None, Some(&other)));
    let e = r.refresh("acme", now).await.unwrap_err();
    assert_eq!(e.code(), "untrusted_key", "{e}");
    assert_eq!(
        reg.by_slug("acme")
            .unwrap()
            .service_provider()
            .idp()
            .certificates(),
        pinned.as_slice()
    );
    assert_eq!(r.status("acme").unwrap().consecutive_failures, 3);
}

#[tokio::test]
async fn the_ssrf_guard_refuses_internal_targets_and_redirects_to_them() {
    let server = Server::start().await;
    let strict = MetadataClient::builder()
        .add_root_certificates_pem(server.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let forbidden = |r: Result<Vec<u8>, saml_sp::Error>| match r {
        Err(e) => {
            assert_eq!(e.code(), "metadata_url_forbidden", "{e}");
            e.to_string()
        }
        Ok(_) => panic!("fetched"),
    };
    server.serve("/md", "<x/>");
    // Literal loopback, a name resolving to loopback, the cloud metadata address, IPv4-mapped
    // IPv6, a decimal IPv4 literal, plain http: refused before any request.
    let hits = server.hits.load(Ordering::SeqCst);
    let m = forbidden(strict.fetch(&server.url("/md")).await);
    assert!(m.contains("loopback"), "{m}");
    let m = forbidden(
        strict
            .fetch(&format!("https://localhost:{}/md", server.port))
            .await,
    );
    assert!(
        m.contains("localhost resolves to a loopback address"),
        "{m}"
    );
    let m = forbidden(
        strict
            .fetch("https://169.254.169.254/latest/meta-data/")
            .await,
    );
    assert!(m.contains("link-local"), "{m}");
    forbidden(
        strict
            .fetch(&format!("https://[::ffff:127.0.0.1]:{}/md", server.port))
            .await,
    );
    forbidden(
        strict
            .fetch(&format!("https://2130706433:{}/md", server.port))
            .await,
    );
    forbidden(strict.fetch("https://10.0.0.8/md").await);
    let m = forbidden(strict.fetch("http://idp.example.com/md").await);
    assert!(m.contains("expected https"), "{m}");
    forbidden(strict.fetch("file:///etc/passwd").await);
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        hits,
        "no request reached the server"
    );

    // Loopback allowed (a local test IdP): redirects are re-checked at every hop.
    let client = server.client();
    server.redirect("/to-imds", "https://169.254.169.254/latest/meta-data/");
    let m = forbidden(client.fetch(&server.url("/to-imds")).await);
    assert!(m.contains("169.254.169.254"), "{m}");
    server.redirect("/to-private", "https://192.168.1.1/admin");
    forbidden(client.fetch(&server.url("/to-private")).await);
    server.redirect("/to-http", &format!("http://127.0.0.1:{}/md", server.port));
    let m = forbidden(client.fetch(&server.url("/to-http")).await);
    assert!(m.contains("expected https"), "{m}");
    server.redirect("/loop", "/loop");
    let e = client.fetch(&server.url("/loop")).await.unwrap_err();
    assert_eq!(e.code(), "metadata_fetch_failed");
    assert!(e.to_string().contains("at most 3 redirects"), "{e}");
    server.redirect("/moved", "/md");
    assert_eq!(client.fetch(&server.url("/moved")).await.unwrap(), b"<x/>");

    // Size limit, status, TLS trust.
    server.serve("/big", vec![b' '; 5000]);
    let small = MetadataClient::builder()
        .add_root_certificates_pem(server.ca_pem.as_bytes())
        .unwrap()
        .only_added_roots()
        .dangerous_allow_loopback()
        .max_bytes(1000)
        .build()
        .unwrap();
    let e = small.fetch(&server.url("/big")).await.unwrap_err();
    assert!(e.to_string().contains("at most 1000 bytes"), "{e}");
    let e = client.fetch(&server.url("/nothing")).await.unwrap_err();
    assert!(
        e.to_string().contains("expected status 200, found 404"),
        "{e}"
    );
    let untrusting = MetadataClient::builder()
        .dangerous_allow_loopback()
        .build()
        .unwrap();
    let e = untrusting.fetch(&server.url("/md")).await.unwrap_err();
    assert_eq!(e.code(), "metadata_fetch_failed", "{e}");
    assert!(
        e.to_string().contains("certificate"),
        "a TLS trust failure: {e}"
    );
}

#[tokio::test]
async fn a_certificate_expiring_in_ten_days_is_warned_about() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    let not_after = idp.certificate().not_after();
    let now = not_after - Duration::days(10);
    server.serve("/md", metadata(&[&idp], None, None, None));
    let reg = registry();
    let r = MetadataRefresher::new(reg.clone(), server.client());
    let ev = r
        .watch(MetadataSource::new(server.url("/md"), template()), now)
        .await
        .unwrap();
    assert!(
        ev.iter().any(|e| matches!(e, MetadataEvent::CertificateExpiring { not_after: n, .. } if *n == not_after)),
        "{ev:?}"
    );
    let health = reg.certificate_health(now, Duration::days(30));
    assert_eq!(health.len(), 1);
    assert_eq!(
        health[0].status,
        HealthStatus::ExpiringSoon {
            fingerprint: idp.certificate().fingerprint_hex(),
            not_after
        }
    );
    // Forty days out, or with a shorter window: healthy. Past notAfter: no valid certificate.
    assert_eq!(
        reg.certificate_health(not_after - Duration::days(40), Duration::days(30))[0].status,
        HealthStatus::Ok
    );
    assert_eq!(
        reg.certificate_health(now, Duration::days(7))[0].status,
        HealthStatus::Ok
    );
    assert_eq!(
        reg.certificate_health(not_after + Duration::seconds(1), Duration::days(30))[0].status,
        HealthStatus::NoValidCertificate
    );
}

#[tokio::test]
async fn metadata_the_registry_refuses_is_backed_off_not_retried_at_once() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    server.serve("/md", metadata(&[&idp], None, Some("PT1H"), None));
    let reg = registry();
    // Another tenant already trusts this IdP's entity ID.
    reg.insert(TenantConfig::new(
        "other",
        IDP,
        vec![idp.certificate().clone()],
    ))
    .unwrap();
    let r = MetadataRefresher::new(reg.clone(), server.client()).policy(no_jitter());
    let now = t("2027-03-01T10:00:00Z");
    let e = r
        .watch(MetadataSource::new(server.url("/md"), template()), now)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "config_invalid", "{e}");
    let st = r.status("acme").unwrap();
    assert_eq!(st.consecutive_failures, 1);
    assert_eq!(st.next_refresh, now + Duration::minutes(1));
    assert_eq!(
        st.last_error.as_ref().map(|(c, _)| *c),
        Some("config_invalid")
    );
    // Nothing is due before the backoff ends: no request reaches the server.
    let hits = server.hits.load(Ordering::SeqCst);
    assert!(r.refresh_due(now + Duration::seconds(59)).await.is_empty());
    assert_eq!(server.hits.load(Ordering::SeqCst), hits);
}

#[tokio::test]
async fn a_url_that_starts_serving_another_idp_is_refused_and_the_good_copy_kept() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    server.serve("/md", metadata(&[&idp], None, Some("PT1H"), None));
    let reg = registry();
    let r = MetadataRefresher::new(reg.clone(), server.client()).policy(no_jitter());
    let now = t("2027-03-01T10:00:00Z");
    r.watch(MetadataSource::new(server.url("/md"), template()), now)
        .await
        .unwrap();
    // The same URL now describes an attacker's IdP (its own entity ID and key).
    let evil = TestIdp::fixed("https://evil.example.com/idp")
        .successor()
        .unwrap();
    server.serve("/md", metadata(&[&evil], None, Some("PT1H"), None));
    let e = r.refresh("acme", now).await.unwrap_err();
    assert_eq!(e.code(), "config_invalid", "{e}");
    assert!(e.to_string().contains(IDP), "{e}");
    assert_eq!(reg.by_slug("acme").unwrap().idp_entity_id(), IDP);
    assert_eq!(login(&reg, &idp, now), Ok("user@example.com".into()));
    assert_eq!(login(&reg, &evil, now), Err("issuer_mismatch".into()));
}

/// A signed federation aggregate (issue 17): downloaded to a file, searched as a stream for
/// the tenant's IdP, the signature verified over the stream; a tampered aggregate is refused
/// with the good copy kept, and a restart while the server is down reads the kept file.
#[tokio::test]
async fn a_signed_federation_aggregate_is_searched_as_a_stream_and_kept_on_disk() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    let federation = TestIdp::generate("https://federation.example.org").unwrap();
    let entity = metadata(&[&idp], None, None, None);
    let entity = entity.split_once("?>").map_or(entity.as_str(), |(_, r)| r);
    let mut agg = String::from(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ID=\"fed\" validUntil=\"2027-06-01T00:00:00Z\" cacheDuration=\"PT6H\">\n",
    );
    for i in 0..500 {
        agg.push_str(&format!(
            "<md:EntityDescriptor entityID=\"https://sp{i}.example.org\"><md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sp{i}.example.org/acs\" index=\"0\"/></md:SPSSODescriptor></md:EntityDescriptor>\n"
        ));
        if i == 250 {
            agg.push_str(entity.trim());
            agg.push('\n');
        }
    }
    agg.push_str("</md:EntitiesDescriptor>\n");
    let signed = federation.sign(&agg, "fed").unwrap();
    server.serve("/federation.xml", signed.clone());
    let dir = std::env::temp_dir().join(format!("saml-sp-agg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("federation.xml");
    let source = || {
        MetadataSource::new(server.url("/federation.xml"), template())
            .entity_id(IDP)
            .verify_with(vec![federation.certificate().clone()])
            .aggregate(&file)
    };
    let now = t("2027-03-01T10:00:00Z");
    let reg = registry();
    let r = MetadataRefresher::new(reg.clone(), server.client()).policy(no_jitter());
    r.watch(source(), now).await.unwrap();
    assert_eq!(reg.by_slug("acme").unwrap().sso_url(), Some(SSO));
    assert_eq!(login(&reg, &idp, now).as_deref(), Ok("user@example.com"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        signed,
        "kept on disk"
    );
    let status = r.status("acme").unwrap();
    assert_eq!(
        status.valid_until,
        Some(t("2027-06-01T00:00:00Z")),
        "the aggregate's validUntil"
    );

    // Tampered anywhere (here another member): refused, the good copy kept in memory and on disk.
    server.serve(
        "/federation.xml",
        signed.replace("https://sp7.example.org/acs", "https://evil.example/acs"),
    );
    let e = r.refresh("acme", now).await.unwrap_err();
    assert_eq!(e.code(), "digest_mismatch", "{e}");
    assert_eq!(reg.by_slug("acme").unwrap().sso_url(), Some(SSO));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), signed);

    // A restart while the federation's server is down: the kept file is searched instead.
    server.down.store(true, Ordering::SeqCst);
    let reg2 = registry();
    let r2 = MetadataRefresher::new(reg2.clone(), server.client()).policy(no_jitter());
    let events = r2.watch(source(), now).await.unwrap();
    assert!(
        events.iter().any(|e| matches!(
            e,
            MetadataEvent::Updated { from, .. } if *from == "backing_file"
        )),
        "{events:?}"
    );
    assert_eq!(login(&reg2, &idp, now).as_deref(), Ok("user@example.com"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A clock the test moves.
#[derive(Debug)]
struct StepClock(Mutex<DateTime<Utc>>);

impl saml_sp::time::Clock for StepClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl StepClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

type TestAcs = saml_sp::Acs<
    saml_sp::login::ProvisionFn<
        fn(
            String,
            saml_sp::login::SamlIdentity,
        ) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>>,
    >,
>;

fn provision(
    _tenant: String,
    identity: saml_sp::login::SamlIdentity,
) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>> {
    std::future::ready(Ok(identity.email))
}

/// A full SP-initiated login through the ACS, the Response signed by `idp`.
async fn acs_login(acs: &TestAcs, idp: &TestIdp) -> Result<String, String> {
    let browser = saml_sp::login::BrowserBinding::generate().unwrap();
    let start = acs.start_login("acme", None, &browser).await.unwrap();
    let tenant = acs.registry().by_slug("acme").unwrap();
    let now = acs.clock().now();
    let posted = idp
        .response(tenant.sp_entity_id(), tenant.acs_url())
        .user(saml_sp::testkit::TestUser::new("ada@acme.example"))
        .in_response_to(&start.request_id)
        .build_base64(now)
        .unwrap();
    acs.finish_login(
        "acme",
        &posted,
        Some(&start.relay_state),
        Some(&browser),
        &saml_sp::login::AuditContext::new(),
    )
    .await
    .map(|done| done.user)
    .map_err(|e| e.code().to_string())
}

/// Issue 27, defect 10: an IdP that starts signing with a key it has just published is followed
/// at once (the first login with it succeeds, with no time passing), through one fetch; a
/// stream of Responses signed with unknown keys causes at most one fetch per tenant per
/// interval, and a burst of them arriving together waits for that one fetch.
#[tokio::test]
async fn pass3_defect_10_a_newly_published_signing_key_is_fetched_at_once_and_rate_limited() {
    let server = Server::start().await;
    let old = TestIdp::fixed(IDP);
    let new = old.successor().unwrap();
    server.serve("/md", metadata(&[&old], None, Some("PT6H"), None));
    let reg = registry();
    let t0 = t("2027-03-01T10:00:00Z");
    let clock = Arc::new(StepClock(Mutex::new(t0)));
    let refresher = Arc::new(
        MetadataRefresher::new(reg.clone(), server.client())
            .policy(no_jitter())
            .unknown_key_interval(Duration::seconds(60)),
    );
    refresher
        .watch(MetadataSource::new(server.url("/md"), template()), t0)
        .await
        .unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    let acs: TestAcs = saml_sp::Acs::new(
        reg.clone(),
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(provision as _),
    )
    .with_clock(clock.clone())
    .with_key_refresh(refresher.clone());
    assert_eq!(acs_login(&acs, &old).await, Ok("ada@acme.example".into()));
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "a known key fetches nothing"
    );

    // The IdP publishes its next key and signs with it at once, hours before the schedule.
    server.serve("/md", metadata(&[&old, &new], None, Some("PT6H"), None));
    assert_eq!(acs_login(&acs, &new).await, Ok("ada@acme.example".into()));
    assert_eq!(server.hits.load(Ordering::SeqCst), 2, "exactly one fetch");
    assert_eq!(refresher.status("acme").unwrap().last_success, Some(t0));

    // Forged signatures (keys nobody published) within the interval: refused, no fetch.
    for _ in 0..20 {
        clock.advance(Duration::seconds(2));
        let forger = TestIdp::generate(IDP).unwrap();
        assert_eq!(acs_login(&acs, &forger).await, Err("untrusted_key".into()));
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "rate-limited to one per minute"
    );

    // After the interval, a burst of eight arriving together: one fetch between them.
    clock.advance(Duration::seconds(30));
    let forgers: Vec<TestIdp> = (0..8).map(|_| TestIdp::generate(IDP).unwrap()).collect();
    let results = futures_join_all(forgers.iter().map(|f| acs_login(&acs, f))).await;
    assert!(
        results
            .iter()
            .all(|r| r == &Err("untrusted_key".to_string())),
        "{results:?}"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);

    // The first login with the new key took no time on the clock: the refresh was at once.
    assert_eq!(acs.clock().now(), t0 + Duration::seconds(70));
}

/// Runs the futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

/// Issue 27, item 14: the simple constructor takes a metadata URL (beside the file form): the
/// IdP comes from the URL through the SSRF-guarded client, the SP's metadata is served, and the
/// guard's refusal is the constructor's error.
#[cfg(feature = "web")]
#[tokio::test]
async fn pass3_item_14_the_simple_constructor_takes_a_metadata_url() {
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    server.serve("/md", metadata(&[&idp], None, Some("PT1H"), None));
    let web = saml_sp::web::SamlWeb::from_idp_metadata_url(
        "https://app.example.com",
        &server.url("/md"),
        server.client(),
        |_tenant: String, identity: saml_sp::login::SamlIdentity| async move {
            Ok::<_, saml_sp::login::ProvisionError>(identity.email)
        },
    )
    .await
    .unwrap();
    let tenant = web.acs().registry().by_slug("default").unwrap();
    assert_eq!(tenant.idp_entity_id(), IDP);
    assert_eq!(tenant.sso_url(), Some(SSO));
    assert_eq!(
        tenant.service_provider().idp().certificates()[0].der(),
        idp.certificate().der()
    );
    let response = web
        .handle(
            http::Request::get("https://app.example.com/saml/metadata")
                .body(Vec::new())
                .unwrap(),
            "127.0.0.1".parse().unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .body()
            .contains("entityID=\"https://app.example.com/saml/metadata\""),
        "{}",
        response.body()
    );
    // The default client's guard refuses a loopback URL: the constructor says so.
    let e = saml_sp::web::SamlWeb::from_idp_metadata_url(
        "https://app.example.com",
        &server.url("/md"),
        MetadataClient::builder().build().unwrap(),
        |_tenant: String, identity: saml_sp::login::SamlIdentity| async move {
            Ok::<_, saml_sp::login::ProvisionError>(identity.email)
        },
    )
    .await
    .err()
    .unwrap();
    assert_eq!(e.code(), "metadata_url_forbidden", "{e}");
}

/// Issue 33, MDQ: one entity's signed metadata fetched on demand from a local HTTPS MDQ server,
/// verified with the federation's certificate; its `cacheDuration` honoured (no second fetch
/// until it passes), an unknown entity negatively cached, a tampered or wrongly signed entity
/// refused and not cached, the `{sha1}` form, and a login with what it returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdq_fetches_verifies_and_caches_one_entity_at_a_time() {
    use saml_sp::refresh::MdqClient;
    let server = Server::start().await;
    let idp = TestIdp::fixed(IDP);
    let federation = TestIdp::generate("https://federation.example.org").unwrap();
    let now = t("2026-12-01T12:00:00Z");
    let signed = metadata(
        &[&idp],
        Some("2026-12-08T00:00:00Z"),
        Some("PT1H"),
        Some(&federation),
    );
    // https://idp.example.com/saml, percent-encoded as MDQ asks.
    server.serve(
        "/entities/https%3A%2F%2Fidp.example.com%2Fsaml",
        signed.clone(),
    );
    let mdq = MdqClient::new(
        server.url(""),
        vec![federation.certificate().clone()],
        server.client(),
    );
    let md = mdq.lookup(IDP, now).await.unwrap();
    assert_eq!(md.entity_id(), IDP);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    // Cached for the hour its cacheDuration allows: no second fetch; then fetched again.
    mdq.lookup(IDP, now + Duration::minutes(59)).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    mdq.lookup(IDP, now + Duration::minutes(61)).await.unwrap();
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    // What it returned signs a user in.
    let registry = registry();
    registry
        .insert(
            TenantConfig::new("acme", md.entity_id(), md.signing_certificates().to_vec()).sso_url(
                md.sso_url("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect")
                    .unwrap(),
            ),
        )
        .unwrap();
    assert!(login(&registry, &idp, now).is_ok());
    // An unknown entity: 404, remembered (no second request within the negative cache).
    let before = server.hits.load(Ordering::SeqCst);
    for _ in 0..3 {
        let e = mdq
            .lookup("https://nobody.example/idp", now)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "unknown_tenant");
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), before + 1);
    // Tampered, or signed by someone else: refused each time (never cached).
    let other = "https://other.example.com/saml";
    let tampered = signed
        .replace(IDP, other)
        .replace("https://idp.example.com/sso", "https://evil.example/sso");
    server.serve("/entities/https%3A%2F%2Fother.example.com%2Fsaml", tampered);
    for _ in 0..2 {
        let e = mdq.lookup(other, now).await.unwrap_err();
        assert_eq!(e.code(), "digest_mismatch", "{e}");
    }
    let third = "https://third.example.com/saml";
    let unsigned = metadata(&[&idp], None, None, None).replace(IDP, third);
    server.serve("/entities/https%3A%2F%2Fthird.example.com%2Fsaml", unsigned);
    assert_eq!(
        mdq.lookup(third, now).await.unwrap_err().code(),
        "signature_missing"
    );
    // Signed by someone other than the federation: refused (a fresh client: nothing cached).
    let stranger = TestIdp::generate("https://stranger.example").unwrap();
    server.serve(
        "/entities/https%3A%2F%2Fidp.example.com%2Fsaml",
        metadata(&[&idp], None, None, Some(&stranger)),
    );
    let fresh = MdqClient::new(
        server.url(""),
        vec![federation.certificate().clone()],
        server.client(),
    );
    assert_eq!(
        fresh.lookup(IDP, now).await.unwrap_err().code(),
        "untrusted_key"
    );
    // The {sha1} form.
    let sha1 = MdqClient::new(
        server.url(""),
        vec![federation.certificate().clone()],
        server.client(),
    )
    .sha1_identifiers(true);
    let url = sha1.url_for(IDP);
    let path = url.strip_prefix(&server.url("")).unwrap().to_owned();
    assert!(path.starts_with("/entities/%7Bsha1%7D"), "{path}");
    assert_eq!(path.len(), "/entities/%7Bsha1%7D".len() + 40);
    server.serve(&path, signed);
    assert_eq!(sha1.lookup(IDP, now).await.unwrap().entity_id(), IDP);
    // Past validUntil: refused, not served from anywhere.
    let late = t("2026-12-09T00:00:00Z");
    assert_eq!(
        sha1.lookup(IDP, late).await.unwrap_err().code(),
        "metadata_expired"
    );
}

/// Issue 33: artifact resolution to an IdP that requires a TLS client certificate: the SOAP
/// request goes through with `client_certificate_pem`, and fails without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soap_requests_can_present_a_client_certificate() {
    use saml_sp::login::SoapClient;
    // The client's CA and certificate.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client = rcgen::CertificateParams::new(vec!["sp.example.com".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let server = Server::start_with(Some(&ca.pem())).await;
    server.serve("/ars", "<soap:Envelope/>");
    let identity = format!("{}{}", client.pem(), client_key.serialize_pem());
    let with = MetadataClient::builder()
        .add_root_certificates_pem(server.ca_pem.as_bytes())
        .unwrap()
        .only_added_roots()
        .dangerous_allow_loopback()
        .client_certificate_pem(identity.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let body = with
        .post_soap(&server.url("/ars"), "<soap:Envelope/>")
        .await
        .unwrap();
    assert_eq!(body, b"<soap:Envelope/>");
    // Without the certificate the server refuses the handshake.
    let e = server
        .client()
        .post_soap(&server.url("/ars"), "<soap:Envelope/>")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "metadata_fetch_failed", "{e}");
    // A PEM without a key is refused when configured, not at the first request.
    assert!(
        MetadataClient::builder()
            .client_certificate_pem(client.pem().as_bytes())
            .is_err()
    );
    // The builder never prints the key.
    let b = MetadataClient::builder()
        .client_certificate_pem(identity.as_bytes())
        .unwrap();
    assert!(!format!("{b:?}").contains("PRIVATE KEY"));
}
