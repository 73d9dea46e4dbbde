//! Shared by the three demo apps (`axum_sp`, `hyper_sp`, `actix_sp`): which IdP to trust, and
//! how the sign-in form starts a login. Not an example on its own.

use saml_sp::acs::LoginStart;
use saml_sp::crypto::Certificate;
use saml_sp::idp::{IdpRegistry, SpSettings, TenantConfig};
use saml_sp::metadata::SpMetadata;
use saml_sp::provision::Provisioner;
use saml_sp::testkit::TestIdp;
use saml_sp::xmlenc::DecryptionKey;
use saml_sp::{Acs, Error};

/// The demo's one tenant.
pub const TENANT: &str = "default";

/// Shown on the console and on every page while the built-in test IdP is trusted.
pub const TEST_IDP_WARNING: &str = "DEMO MODE: this app trusts saml-sp's built-in test IdP, which signs in anyone as anyone. Its key was generated at start and is never published, but never deploy an app in this mode: set SAML_IDP_METADATA to your IdP's metadata.";

/// The IdP configuration from the environment. `SAML_IDP_METADATA` names the IdP's metadata
/// file. Only when no `SAML_IDP_*` setting is present at all does the demo fall back to the
/// built-in test IdP, with a key generated now (never the crate's published test key): a
/// deployment with a misspelt or empty setting fails to start instead of trusting the test IdP.
pub fn build_registry(base: &str) -> Result<(IdpRegistry, Option<TestIdp>), Error> {
    let registry = IdpRegistry::new(SpSettings::new(
        format!("{base}/saml/metadata"),
        format!("{base}/saml/acs"),
    )?);
    let unsolicited = std::env::var("SAML_ALLOW_IDP_INITIATED").is_ok_and(|v| v == "1");
    let idp_settings: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("SAML_IDP_"))
        .collect();
    let (config, test_idp) = if idp_settings.is_empty() {
        let mut idp = TestIdp::generate(format!("{base}/test-idp/metadata"))?;
        if let Some((_, cert)) = sp_key_pair()? {
            idp = idp.encrypting_for(cert, saml_sp::testkit::Encryption::Aes256Gcm);
        }
        eprintln!("\n*** {TEST_IDP_WARNING} ***\n");
        let c = TenantConfig::new(TENANT, idp.entity_id(), vec![idp.certificate().clone()])
            .sso_url(format!("{base}/test-idp/sso"));
        (c, Some(idp))
    } else {
        let path = std::env::var("SAML_IDP_METADATA")
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::Config {
                field: "SAML_IDP_METADATA",
                reason: format!(
                    "IdP settings are present ({}) but SAML_IDP_METADATA names no metadata file; refusing to fall back to the test IdP",
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
    let config = match sp_key_pair()? {
        Some((key, _)) => config.decryption_key(key),
        None => config,
    };
    let config = if unsolicited {
        config.dangerous_allow_unsolicited_responses()
    } else {
        config
    };
    registry.insert(config)?;
    Ok((registry, test_idp))
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

/// The SP's own key pair from `SAML_SP_KEY` and `SAML_SP_CERT` (PEM files), when both are set:
/// it decrypts encrypted assertions, and its certificate is published for encryption.
pub fn sp_key_pair() -> Result<Option<(DecryptionKey, Certificate)>, Error> {
    let (Ok(key_path), Ok(cert_path)) =
        (std::env::var("SAML_SP_KEY"), std::env::var("SAML_SP_CERT"))
    else {
        return Ok(None);
    };
    let read = |path: &str, field: &'static str| {
        std::fs::read_to_string(path).map_err(|e| Error::Config {
            field,
            reason: format!("{path}: {e}"),
        })
    };
    let cert = Certificate::parse(read(&cert_path, "SAML_SP_CERT")?.as_bytes())?;
    let key = DecryptionKey::from_pem(&read(&key_path, "SAML_SP_KEY")?)?
        .with_certificate(cert.clone())?;
    Ok(Some((key, cert)))
}

/// The SP metadata to upload to the IdP: entity ID, ACS URL, and the encryption certificate when
/// `SAML_SP_CERT` is set.
pub fn sp_metadata(base: &str) -> Result<String, Error> {
    let mut md = SpMetadata::new(format!("{base}/saml/metadata"), format!("{base}/saml/acs"));
    if let Some((_, cert)) = sp_key_pair()? {
        md = md.encryption_certificate(cert);
    }
    Ok(md.to_xml())
}
