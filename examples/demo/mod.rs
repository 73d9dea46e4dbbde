//! Shared by the three demo apps (`axum_sp`, `hyper_sp`, `actix_sp`), which differ only in how
//! their framework routes requests here: the configuration (which IdP to trust, the SP's keys,
//! the stores), the SQLite users (`db.rs`), the home page and the built-in test IdP's pages. The
//! SAML endpoints themselves are saml-sp's `web` layer through each framework's adapter. Not an
//! example on its own.

mod db;
#[cfg(all(feature = "admin", feature = "dns"))]
mod profiles;

use std::net::IpAddr;
use std::sync::Arc;

use http::{Method, Response, StatusCode, header};
use saml_sp::Acs;
use saml_sp::Error;
use saml_sp::crypto::{Certificate, SigningKey};
use saml_sp::testkit::TestIdp;
use saml_sp::web::{SamlWeb, WebSettings};
use saml_sp::xml::escape_text as esc;
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

pub use db::{Db, Sessions};

/// The demo's one tenant.
pub const TENANT: &str = "default";

/// Shown on the console and on every page while the built-in test IdP is trusted.
pub const TEST_IDP_WARNING: &str = "DEMO MODE: this app trusts saml-sp's built-in test IdP, which signs in anyone as anyone. Its key was generated at start and is never published, but never deploy an app in this mode: set SAML_IDP_METADATA to your IdP's metadata.";

/// The SAML endpoints of the demo: users are row IDs, sessions in the same database.
pub type Web = SamlWeb<Db, Sessions>;

/// Everything a demo app serves.
pub struct Demo {
    /// The SAML endpoints (`/saml/login`, `/saml/acs`, `/saml/metadata`, `/saml/slo`,
    /// `/saml/logout`), mounted through the framework's adapter.
    pub web: Arc<Web>,
    /// The listening port.
    pub port: u16,
    name: &'static str,
    db: Db,
    base: String,
    test_idp: Option<TestIdp>,
    /// The Prometheus exporter's handle: `/metrics` renders it.
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// "Settings -> Single sign-on" and the profiles' endpoints under `/sso/`.
    #[cfg(all(feature = "admin", feature = "dns"))]
    profiles: profiles::Site,
}

/// Reads the settings (`PORT`, `SAML_SP_BASE_URL`, the IdP, the SP keys, `DATABASE_URL` or
/// `SAML_SP_DB`, `SAML_REDIS_URL`) and builds the demo `name` ("axum", ...).
pub async fn setup(name: &'static str) -> Result<Demo, Box<dyn std::error::Error>> {
    // The crate's log lines (a refused login's reason at WARN, metadata events at INFO).
    let _ = tracing_subscriber::fmt().with_ansi(false).try_init();
    // saml-sp's metrics (feature `metrics`) in Prometheus's text format at `/metrics`.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let base =
        std::env::var("SAML_SP_BASE_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"));
    let (registry, test_idp, key_refresh) = build_registry(&base).await?;
    let db = Db::open().await?;
    let (requests, replay) = stores(&db).await?;
    let sessions = Arc::new(db.sessions());
    #[cfg(all(feature = "admin", feature = "dns"))]
    let profiles = profiles::setup(
        &base,
        requests.clone(),
        replay.clone(),
        db.clone(),
        sessions.clone(),
    )?;
    let mut acs = Acs::new(registry, requests, replay, db.clone());
    if artifact_responses() {
        acs = acs.with_artifact_resolution(artifact_client()?);
    }
    if let Some(refresh) = key_refresh {
        // A Response signed with a key the metadata did not have yet: fetch it at once.
        acs = acs.with_key_refresh(refresh);
    }
    let acs = Arc::new(acs);
    // The cookies are Secure when the SP's URLs are https (derived by SamlWeb::new).
    let settings = WebSettings::single_tenant(TENANT);
    let web = Arc::new(SamlWeb::new(acs, sessions, settings));
    println!("saml-sp {name} demo on {base}/ (SP metadata: {base}/saml/metadata)");
    Ok(Demo {
        web,
        port,
        name,
        db,
        base,
        test_idp,
        metrics,
        #[cfg(all(feature = "admin", feature = "dns"))]
        profiles,
    })
}

type Stores = (
    Arc<dyn saml_sp::store::RequestStore>,
    Arc<dyn saml_sp::store::ReplayCache>,
);

/// In the demo's database, or on Redis (`SAML_REDIS_URL`, with `--features redis`).
async fn stores(db: &Db) -> Result<Stores, saml_sp::store::StoreError> {
    #[cfg(feature = "redis")]
    if let Ok(url) = std::env::var("SAML_REDIS_URL") {
        let s = saml_sp::store::redis::RedisStore::connect(&url, "saml-sp-demo:").await?;
        return Ok((Arc::new(s.clone()), Arc::new(s)));
    }
    Ok(db.saml_stores())
}

/// Every page that is not a SAML endpoint: `/` and the test IdP under `/test-idp/`.
pub async fn page(demo: &Demo, req: http::Request<Vec<u8>>, peer: IpAddr) -> Response<String> {
    #[cfg(all(feature = "admin", feature = "dns"))]
    {
        let p = req.uri().path();
        if [
            "/sso/",
            "/settings/sso",
            "/demo-admin",
            "/sso-login",
            "/password-login",
        ]
        .iter()
        .any(|prefix| p.starts_with(prefix))
        {
            return profiles::serve(&demo.profiles, req, peer)
                .await
                .unwrap_or_else(|| html(StatusCode::NOT_FOUND, "not found".into()));
        }
    }
    let _ = peer;
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(req.body()).into_owned();
    let path = req.uri().path();
    // Operator endpoints. A real app mounts these behind its operator authentication; the demo
    // serves them on loopback to show what they say.
    if path == "/metrics" && req.method() == Method::GET {
        // The gauges (certificate expiry, metadata age) are set when the health report is
        // gathered: gather it for each scrape.
        let _ = demo.web.health(&[]).await;
        let mut r = Response::new(
            demo.metrics
                .as_ref()
                .map(|m| m.render())
                .unwrap_or_default(),
        );
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return r;
    }
    if path == "/ops/health" && req.method() == Method::GET {
        return demo.web.health(&[]).await;
    }
    if path == "/" && req.method() == Method::GET {
        return html(StatusCode::OK, home(demo, &req).await);
    }
    let Some(idp) = demo
        .test_idp
        .as_ref()
        .filter(|_| path.starts_with("/test-idp/"))
    else {
        return html(StatusCode::NOT_FOUND, "not found".into());
    };
    let (base, now) = (&demo.base, chrono::Utc::now());
    let slo = format!("{base}/saml/slo");
    let result = match (req.method().clone(), path) {
        (Method::GET, "/test-idp/sso") => idp.sso_page(&query, "/test-idp/login"),
        (Method::POST, "/test-idp/sso") => idp.sso_page(&body, "/test-idp/login"),
        // The auto-submitting page keeps its own policy (a nonce for its one script).
        (Method::POST, "/test-idp/login") => {
            return match idp.login_submit(&body, now) {
                Ok(page) => saml_sp::web::navigate(&saml_sp::binding::Navigation::Post(page)),
                Err(e) => saml_sp::web::error_page(&e),
            };
        }
        (Method::GET, "/test-idp/initiate") => Ok(idp.idp_initiated(
            &format!("{base}/saml/metadata"),
            &format!("{base}/saml/acs"),
            "/test-idp/login",
        )),
        (Method::GET, "/test-idp/slo") => idp.slo_page(&query, &slo, now),
        (Method::GET, "/test-idp/logout") => Ok(idp.logout_form("/test-idp/logout")),
        (Method::POST, "/test-idp/logout") => idp.logout_submit(&body, &slo, now),
        (Method::GET, "/test-idp/metadata") => {
            Ok(idp.metadata_xml(&format!("{base}/test-idp/sso")))
        }
        _ => return html(StatusCode::NOT_FOUND, "not found".into()),
    };
    match result {
        Ok(page) => html(StatusCode::OK, page),
        Err(e) => saml_sp::web::error_page(&e),
    }
}

/// The home page: who is signed in (from the session the web layer keeps), or the sign-in form.
async fn home(demo: &Demo, req: &http::Request<Vec<u8>>) -> String {
    let user = demo.web.user(req.headers(), req.extensions()).await;
    let user = match user {
        Some(id) => demo.db.get(id).await,
        None => None,
    };
    let body = match user {
        Some((email, first, last, groups)) => format!(
            "<p id=\"who\">Signed in as {}</p><p id=\"name\">{} {}</p><p id=\"groups\">Groups: {}</p><form method=\"post\" action=\"/saml/logout\"><button id=\"logout\">Sign out</button></form>",
            esc(&email),
            esc(&first),
            esc(&last),
            esc(&groups)
        ),
        None => format!(
            "<form method=\"get\" action=\"/saml/login\"><label>Work email <input name=\"email\" id=\"email\"/></label> <button id=\"sign-in\">Sign in with SSO</button></form><p><a href=\"/test-idp/initiate\">IdP-initiated login (test IdP)</a></p>{}",
            org_sign_in()
        ),
    };
    let warning = if demo.test_idp.is_some() {
        format!(
            "<p id=\"demo-warning\" style=\"background:#fdd;padding:.5em;border:2px solid #c00\"><strong>{TEST_IDP_WARNING}</strong></p>"
        )
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>saml-sp {n} demo</title></head><body><h1>saml-sp {n} demo</h1>{warning}{body}</body></html>",
        n = demo.name
    )
}

/// With SSO profiles: sign-in for the organizations set up under "Settings -> Single sign-on",
/// by SSO (discovery by email domain) or by password (refused for enforced domains).
fn org_sign_in() -> &'static str {
    if cfg!(all(feature = "admin", feature = "dns")) {
        "<h2>Organizations (Settings -&gt; Single sign-on)</h2><form method=\"get\" action=\"/sso-login\"><label>Work email <input name=\"email\" id=\"sso-email\"/></label> <button id=\"sso-sign-in\">Sign in with your organization's SSO</button></form><form method=\"post\" action=\"/password-login\"><label>Email <input name=\"email\" id=\"password-email\"/></label> <label>Password <input type=\"password\" name=\"password\" id=\"password\"/></label> <button id=\"password-sign-in\">Sign in with a password</button></form>"
    } else {
        ""
    }
}

/// A page of the demo's own: no script runs on it. (No `form-action`: browsers apply it to the
/// redirects that follow a form, and the sign-in form's redirect goes to the IdP.)
fn html(status: StatusCode, body: String) -> Response<String> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    r
}

/// The registry, the test IdP (demo mode only) and the metadata refresher (metadata URL only).
pub type IdpSetup = (
    Arc<IdpRegistry>,
    Option<TestIdp>,
    Option<Arc<dyn saml_sp::tenant::KeyRefresh>>,
);

/// `SAML_IDP_ARTIFACT=1`: the IdP answers with artifacts, resolved over SOAP.
fn artifact_responses() -> bool {
    std::env::var("SAML_IDP_ARTIFACT").is_ok_and(|v| v == "1")
}

/// The SOAP client artifacts are resolved with. The demo's IdPs run on loopback over http, so
/// this client allows both (a deployment's IdP is an https URL on the internet, and the
/// default client is the right one).
#[cfg(feature = "fetch")]
fn artifact_client() -> Result<Arc<dyn saml_sp::login::SoapClient>, Error> {
    println!("artifact resolution: allowing http and loopback IdP endpoints (demo)");
    Ok(Arc::new(
        saml_sp::refresh::MetadataClient::builder()
            .dangerous_allow_http()
            .dangerous_allow_loopback()
            .build()?,
    ))
}

#[cfg(not(feature = "fetch"))]
fn artifact_client() -> Result<Arc<dyn saml_sp::login::SoapClient>, Error> {
    Err(Error::Config {
        field: "SAML_IDP_ARTIFACT",
        reason: "resolving artifacts needs the https client: run with --features fetch".into(),
    })
}

/// The IdP configuration from the environment. `SAML_IDP_METADATA_URL` names the IdP's metadata
/// URL (fetched now and kept fresh while the app runs; `SAML_IDP_METADATA_CA` adds a PEM file of
/// trusted roots, `SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL=1` allows a loopback or private
/// address), `SAML_IDP_METADATA` its metadata file. Only when no `SAML_IDP_*` setting is present
/// at all does the demo fall back to the built-in test IdP, with a key generated now (never the
/// crate's published test key): a deployment with a misspelt or empty setting fails to start
/// instead of trusting the test IdP.
pub async fn build_registry(base: &str) -> Result<IdpSetup, Error> {
    let keys = sp_keys()?;
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(format!("{base}/saml/metadata"), format!("{base}/saml/acs"))?
            .single_logout_url(format!("{base}/saml/slo"))
            .signing_key(keys.signing.clone()),
    ));
    let unsolicited = std::env::var("SAML_ALLOW_IDP_INITIATED").is_ok_and(|v| v == "1");
    let artifact = artifact_responses();
    let app_side = |config: TenantConfig| {
        let config = config
            .decryption_key(keys.decryption.clone())
            .artifact_responses(artifact);
        if unsolicited {
            config.dangerous(
                saml_sp::sp::DangerousOptions::default().dangerous_allow_unsolicited_responses(),
            )
        } else {
            config
        }
    };
    let idp_settings: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("SAML_IDP_"))
        .collect();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(url) = env("SAML_IDP_METADATA_URL") {
        let refresher = watch_metadata_url(
            &registry,
            &url,
            app_side(TenantConfig::new(TENANT, "", vec![])),
        )
        .await?;
        return Ok((registry, None, Some(refresher)));
    }
    let (config, test_idp) = if idp_settings.is_empty() {
        let mut idp = TestIdp::generate(format!("{base}/test-idp/metadata"))?;
        if keys.from_env {
            idp = idp.encrypting_for(
                keys.certificate.clone(),
                saml_sp::testkit::Encryption::Aes256Gcm,
            );
        }
        // The test IdP's pages serve this app's SP only (and the peers below): no other ACS.
        idp = idp.serving(format!("{base}/saml/metadata"), format!("{base}/saml/acs"));
        // Other apps trusting this test IdP (their SLO URLs, comma-separated, each
        // `{app}/saml/slo`) are signed out too when a user signs out here, and may sign in
        // through it (as the SP `{app}/saml/metadata` with the ACS `{app}/saml/acs`).
        if let Some(peers) = env("SAML_TEST_IDP_LOGOUT_PEERS") {
            let peers: Vec<&str> = peers
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            for app in peers.iter().filter_map(|p| p.strip_suffix("/saml/slo")) {
                idp = idp.serving(format!("{app}/saml/metadata"), format!("{app}/saml/acs"));
            }
            idp = idp.with_logout_peers(peers);
        }
        eprintln!("\n*** {TEST_IDP_WARNING} ***\n");
        let c = TenantConfig::new(TENANT, idp.entity_id(), vec![idp.certificate().clone()])
            .sso_url(format!("{base}/test-idp/sso"))
            .slo_url(format!("{base}/test-idp/slo"));
        (c, Some(idp))
    } else {
        let path = env("SAML_IDP_METADATA").ok_or_else(|| Error::Config {
            field: "SAML_IDP_METADATA",
            reason: format!(
                "IdP settings are present ({}) but neither SAML_IDP_METADATA nor SAML_IDP_METADATA_URL names the metadata; refusing to fall back to the test IdP",
                idp_settings.join(", ")
            ),
        })?;
        let xml = std::fs::read(&path).map_err(|e| Error::Config {
            field: "SAML_IDP_METADATA",
            reason: format!("{path}: {e}"),
        })?;
        (
            TenantConfig::from_idp_metadata(TENANT, &xml, chrono::Utc::now())?,
            None,
        )
    };
    registry.insert(app_side(config))?;
    Ok((registry, test_idp, None))
}

/// Without the `fetch` feature there is no https client: say how to get one.
#[cfg(not(feature = "fetch"))]
async fn watch_metadata_url(
    _registry: &Arc<IdpRegistry>,
    _url: &str,
    _template: TenantConfig,
) -> Result<Arc<dyn saml_sp::tenant::KeyRefresh>, Error> {
    Err(Error::Config {
        field: "SAML_IDP_METADATA_URL",
        reason: "fetching metadata needs the https client: run with --features fetch".into(),
    })
}

/// Fetches the IdP's metadata from `url` into the registry and keeps it fresh in the background
/// (the last good copy is kept beside the database, so a restart during an IdP outage works).
#[cfg(feature = "fetch")]
async fn watch_metadata_url(
    registry: &Arc<IdpRegistry>,
    url: &str,
    template: TenantConfig,
) -> Result<Arc<dyn saml_sp::tenant::KeyRefresh>, Error> {
    use saml_sp::refresh::{MetadataClient, MetadataRefresher, MetadataSource};
    let mut client = MetadataClient::builder();
    if let Some(ca) = std::env::var("SAML_IDP_METADATA_CA")
        .ok()
        .filter(|v| !v.is_empty())
    {
        let pem = std::fs::read(&ca).map_err(|e| Error::Config {
            field: "SAML_IDP_METADATA_CA",
            reason: format!("{ca}: {e}"),
        })?;
        client = client.add_root_certificates_pem(&pem)?;
    }
    if std::env::var("SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL").is_ok_and(|v| v == "1") {
        eprintln!(
            "*** SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL=1: metadata may come from loopback and private addresses ***"
        );
        client = client
            .dangerous_allow_loopback()
            .dangerous_allow_private_networks();
    }
    let mut source = MetadataSource::new(url, template);
    if let Some(db) = std::env::var("SAML_SP_DB").ok().filter(|p| p != ":memory:") {
        source = source.backing_file(format!("{db}.idp-metadata.xml"));
    }
    let refresher = Arc::new(MetadataRefresher::new(registry.clone(), client.build()?));
    refresher.watch(source, chrono::Utc::now()).await?;
    tokio::spawn(refresher.clone().run(Arc::new(saml_sp::time::SystemClock)));
    Ok(refresher)
}

/// The SP's own keys: from `SAML_SP_KEY` and `SAML_SP_CERT` (PEM files) when both are set;
/// otherwise generated on first start and kept beside the database (`SAML_SP_DB`, when it is a
/// file), or for this process only with the in-memory database. The key signs logout messages
/// and decrypts encrypted assertions; its certificate is published in SP metadata for both.
pub struct SpKeys {
    /// Signs logout messages.
    pub signing: SigningKey,
    /// Decrypts encrypted assertions.
    pub decryption: DecryptionKey,
    /// The certificate published in SP metadata.
    pub certificate: Certificate,
    /// Whether the keys came from `SAML_SP_KEY`/`SAML_SP_CERT`.
    pub from_env: bool,
}

static KEYS: std::sync::OnceLock<SpKeys> = std::sync::OnceLock::new();

/// The SP's keys, loaded or generated once per process.
pub fn sp_keys() -> Result<&'static SpKeys, Error> {
    if let Some(k) = KEYS.get() {
        return Ok(k);
    }
    let read = |path: &str, field: &'static str| {
        std::fs::read_to_string(path).map_err(|e| Error::Config {
            field,
            reason: format!("{path}: {e}"),
        })
    };
    let (key_pem, cert_pem, from_env) =
        match (std::env::var("SAML_SP_KEY"), std::env::var("SAML_SP_CERT")) {
            (Ok(k), Ok(c)) => (read(&k, "SAML_SP_KEY")?, read(&c, "SAML_SP_CERT")?, true),
            _ => {
                let beside_db = std::env::var("SAML_SP_DB").ok().filter(|p| p != ":memory:");
                let paths =
                    beside_db.map(|db| (format!("{db}.sp-key.pem"), format!("{db}.sp-cert.pem")));
                match &paths {
                    Some((k, c)) if std::path::Path::new(k).exists() => {
                        (read(k, "SAML_SP_DB")?, read(c, "SAML_SP_DB")?, false)
                    }
                    _ => {
                        let g =
                            saml_sp::testkit::generate_key("saml-sp demo SP", chrono::Utc::now())?;
                        if let Some((k, c)) = &paths {
                            let write = |p: &str, v: &str| {
                                std::fs::write(p, v).map_err(|e| Error::Config {
                                    field: "SAML_SP_DB",
                                    reason: format!("{p}: {e}"),
                                })
                            };
                            write(k, &g.key_pem)?;
                            write(c, &g.certificate_pem)?;
                        }
                        (g.key_pem, g.certificate_pem, false)
                    }
                }
            }
        };
    let certificate = Certificate::parse(cert_pem.as_bytes())?;
    let keys = SpKeys {
        signing: SigningKey::from_pem(&key_pem, Some(certificate.clone()))?,
        decryption: DecryptionKey::from_pem(&key_pem)?.with_certificate(certificate.clone())?,
        certificate,
        from_env,
    };
    Ok(KEYS.get_or_init(|| keys))
}
