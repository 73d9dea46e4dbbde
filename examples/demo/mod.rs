//! Shared by the three demo apps (`axum_sp`, `hyper_sp`, `actix_sp`): which IdP to trust, the
//! SP's keys, how the sign-in form starts a login, the sessions, and Single Logout. Not an
//! example on its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use saml_sp::crypto::{Certificate, SigningKey};
use saml_sp::login::AuditContext;
use saml_sp::login::LoginStart;
use saml_sp::login::{ProvisionError, Provisioner};
use saml_sp::logout::{IncomingLogout, ReceivedLogoutRequest, SessionRecord, SessionTerminator};
use saml_sp::metadata::SpMetadata;
use saml_sp::tenant::{IdpRegistry, SpSettings, TenantConfig};
use saml_sp::testkit::TestIdp;
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{Acs, Error};

/// The demo's one tenant.
pub const TENANT: &str = "default";

/// Shown on the console and on every page while the built-in test IdP is trusted.
pub const TEST_IDP_WARNING: &str = "DEMO MODE: this app trusts saml-sp's built-in test IdP, which signs in anyone as anyone. Its key was generated at start and is never published, but never deploy an app in this mode: set SAML_IDP_METADATA to your IdP's metadata.";

/// The IdP configuration from the environment. `SAML_IDP_METADATA_URL` names the IdP's metadata
/// URL (fetched now and kept fresh while the app runs; `SAML_IDP_METADATA_CA` adds a PEM file of
/// trusted roots, `SAML_DANGEROUS_ALLOW_PRIVATE_METADATA_URL=1` allows a loopback or private
/// address), `SAML_IDP_METADATA` its metadata file. Only when no `SAML_IDP_*` setting is present
/// at all does the demo fall back to the built-in test IdP, with a key generated now (never the
/// crate's published test key): a deployment with a misspelt or empty setting fails to start
/// instead of trusting the test IdP.
pub async fn build_registry(base: &str) -> Result<(Arc<IdpRegistry>, Option<TestIdp>), Error> {
    let keys = sp_keys()?;
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(format!("{base}/saml/metadata"), format!("{base}/saml/acs"))?
            .single_logout_url(format!("{base}/saml/slo"))
            .signing_key(keys.signing.clone()),
    ));
    let unsolicited = std::env::var("SAML_ALLOW_IDP_INITIATED").is_ok_and(|v| v == "1");
    let app_side = |config: TenantConfig| {
        let config = config.decryption_key(keys.decryption.clone());
        if unsolicited {
            config.dangerous_allow_unsolicited_responses()
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
        watch_metadata_url(
            &registry,
            &url,
            app_side(TenantConfig::new(TENANT, "", vec![])),
        )
        .await?;
        return Ok((registry, None));
    }
    let (config, test_idp) = if idp_settings.is_empty() {
        let mut idp = TestIdp::generate(format!("{base}/test-idp/metadata"))?;
        if keys.from_env {
            idp = idp.encrypting_for(
                keys.certificate.clone(),
                saml_sp::testkit::Encryption::Aes256Gcm,
            );
        }
        // Other apps trusting this test IdP (their SLO URLs, comma-separated) are signed out
        // too when a user signs out here.
        if let Some(peers) = env("SAML_TEST_IDP_LOGOUT_PEERS") {
            idp = idp.with_logout_peers(peers.split(',').map(str::trim).filter(|p| !p.is_empty()));
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
    Ok((registry, test_idp))
}

/// Fetches the IdP's metadata from `url` into the registry and keeps it fresh in the background
/// (the last good copy is kept beside the database, so a restart during an IdP outage works).
async fn watch_metadata_url(
    registry: &Arc<IdpRegistry>,
    url: &str,
    template: TenantConfig,
) -> Result<(), Error> {
    use saml_sp::metadata::{MetadataClient, MetadataRefresher, MetadataSource};
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
    tokio::spawn(refresher.run(Arc::new(saml_sp::time::SystemClock)));
    Ok(())
}

/// Starts a login from the sign-in form: the email's domain picks the tenant when one claims it
/// (IdP discovery); otherwise the demo's one configured IdP is used, so typing any work email
/// works as a new user expects.
pub async fn start_login<P: Provisioner>(
    acs: &Acs<P>,
    email: Option<&str>,
) -> Result<LoginStart, Error> {
    if let Some(email) = email.filter(|e| !e.is_empty()) {
        match acs.start_login_for_email(email, Some("/")).await {
            Err(Error::UnknownTenant { .. }) => {}
            other => return other,
        }
    }
    acs.start_login(TENANT, Some("/")).await
}

/// The warning banner for pages while the test IdP is trusted (empty otherwise).
pub fn banner(test_idp: bool) -> String {
    if test_idp {
        format!(
            "<p id=\"demo-warning\" style=\"background:#fdd;padding:.5em;border:2px solid #c00\"><strong>{TEST_IDP_WARNING}</strong></p>"
        )
    } else {
        String::new()
    }
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

/// The SP metadata to upload to the IdP: entity ID, ACS URL, Single Logout endpoint, and the
/// SP certificate for signing and encryption.
pub fn sp_metadata(base: &str) -> Result<String, Error> {
    let keys = sp_keys()?;
    Ok(
        SpMetadata::new(format!("{base}/saml/metadata"), format!("{base}/saml/acs"))
            .single_logout_service(format!("{base}/saml/slo"))
            .signing_certificate(keys.certificate.clone())
            .encryption_certificate(keys.certificate.clone())
            .to_xml(),
    )
}

/// The demo's sessions: cookie token -> (user id, the SAML session for logout). They end at the
/// IdP's request too ([`SessionTerminator`]), so an IdP-initiated logout signs the browser out
/// on its next request.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, (i64, Option<SessionRecord>)>>);

impl Sessions {
    /// A new session for `user`; returns the cookie token.
    pub fn create(&self, user: i64, saml: Option<SessionRecord>) -> String {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).ok();
        let sid: String = b.iter().map(|x| format!("{x:02x}")).collect();
        if let Ok(mut s) = self.0.lock() {
            s.insert(sid.clone(), (user, saml));
        }
        sid
    }
    /// The user of a session.
    pub fn user(&self, sid: &str) -> Option<i64> {
        self.0.lock().ok()?.get(sid).map(|(u, _)| *u)
    }
    /// Ends a session, returning its SAML session.
    pub fn remove(&self, sid: &str) -> Option<SessionRecord> {
        self.0.lock().ok()?.remove(sid).and_then(|(_, r)| r)
    }
}

impl SessionTerminator for Sessions {
    async fn end_sessions(
        &self,
        _tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        let mut s = self
            .0
            .lock()
            .map_err(|_| ProvisionError("session lock poisoned".into()))?;
        let before = s.len();
        s.retain(|_, (_, r)| !r.as_ref().is_some_and(|r| request.ends(r)));
        Ok(before - s.len())
    }
}

/// `POST /logout`: ends the local session and, when the IdP has a Single Logout endpoint,
/// returns the IdP URL that continues the logout there (SP-initiated Single Logout); otherwise
/// `/`.
pub async fn logout<P: Provisioner>(
    acs: &Acs<P>,
    sessions: &Sessions,
    sid: Option<&str>,
    ctx: &AuditContext,
) -> String {
    let Some(record) = sid.and_then(|s| sessions.remove(s)) else {
        return "/".into();
    };
    let has_slo = acs
        .registry()
        .by_slug(TENANT)
        .is_some_and(|t| t.slo_url().is_some());
    if !has_slo {
        return "/".into();
    }
    match acs.start_logout(TENANT, &record, Some("/"), ctx).await {
        Ok(start) => start.redirect_url,
        Err(_) => "/".into(),
    }
}

/// `GET /saml/slo` (HTTP-Redirect): the IdP's LogoutResponse ends an SP-initiated logout
/// (returns the local path to go to); its LogoutRequest starts an IdP-initiated one (returns the
/// IdP URL carrying the signed LogoutResponse).
pub async fn single_logout<P: Provisioner>(
    acs: &Acs<P>,
    sessions: &Sessions,
    query: &str,
    ctx: &AuditContext,
) -> Result<String, Error> {
    let msg = IncomingLogout::Redirect { query };
    if query.contains("SAMLResponse=") {
        Ok(acs.finish_logout(TENANT, &msg, ctx).await?.return_to)
    } else {
        Ok(acs
            .handle_logout_request(TENANT, &msg, sessions, ctx)
            .await?
            .redirect_url)
    }
}

/// The error page: the user-safe message and the stable code (the details are in the audit log).
pub fn error_html(e: &Error) -> String {
    format!(
        "<!DOCTYPE html><html><body><h1>Sign-in failed</h1><p id=\"code\">{}</p><p>{}</p><p><a href=\"/\">Back</a></p></body></html>",
        e.code(),
        e.user_message()
    )
}
