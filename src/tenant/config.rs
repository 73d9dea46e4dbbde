//! One tenant's configuration (`TenantConfig`, loadable with serde as `TenantSettings`) and the
//! SP-wide settings every tenant shares (`SpSettings`).

use crate::crypto::Certificate;
use crate::error::Error;
use crate::sp::config::{SignaturePolicy, ValidationPolicy};
use crate::sp::identity::AttributeMapping;

/// SP-wide settings shared by every tenant.
#[derive(Debug, Clone)]
pub struct SpSettings {
    pub(super) entity_id_template: String,
    pub(super) acs_url_template: String,
    pub(super) slo_url_template: Option<String>,
    pub(super) signing_key: Option<crate::crypto::SigningKey>,
    pub(super) key_ring: Option<(super::SpKeyRing, chrono::DateTime<chrono::Utc>)>,
}

impl SpSettings {
    /// The SP entity ID and ACS URL; either may contain `{tenant}`, replaced by the slug
    /// (`https://app.example.com/login/saml/{tenant}/callback`).
    ///
    /// # Errors
    /// [`Error::Config`] when either is empty or the ACS URL is not http(s).
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>) -> Result<Self, Error> {
        let (entity_id_template, acs_url_template) = (entity_id.into(), acs_url.into());
        if entity_id_template.is_empty() {
            return Err(Error::Config {
                field: "sp_entity_id",
                reason: "must not be empty".into(),
            });
        }
        check_url("acs_url", &acs_url_template)?;
        Ok(SpSettings {
            entity_id_template,
            acs_url_template,
            slo_url_template: None,
            signing_key: None,
            key_ring: None,
        })
    }
    /// The SP's Single Logout URL (may contain `{tenant}`).
    #[must_use]
    pub fn single_logout_url(mut self, url: impl Into<String>) -> Self {
        self.slo_url_template = Some(url.into());
        self
    }
    /// The SP's keys over time (a rollover: the next key published before it signs, the old
    /// one decrypting until removed), in force as of `now`; `IdpRegistry::apply_sp_keys` moves
    /// every tenant on to later instants. Its signing key replaces [`SpSettings::signing_key`];
    /// its decryption keys are tried after each tenant's own.
    #[must_use]
    pub fn key_ring(mut self, ring: super::SpKeyRing, now: chrono::DateTime<chrono::Utc>) -> Self {
        self.key_ring = Some((ring, now));
        self
    }
    /// The certificates SP metadata publishes at `now`: (signing, encryption). With a key ring,
    /// every published signing key and every published decrypting key; without, the signing
    /// key's certificate (encryption certificates are then per tenant).
    pub fn metadata_certificates(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (
        Vec<crate::crypto::Certificate>,
        Vec<crate::crypto::Certificate>,
    ) {
        match &self.key_ring {
            Some((ring, _)) => {
                let at = ring.at(now);
                let encryption = at
                    .decryption
                    .iter()
                    .filter_map(|k| k.certificate().cloned())
                    .collect();
                (at.published, encryption)
            }
            None => (
                self.signing_key
                    .as_ref()
                    .and_then(|k| k.certificate().cloned())
                    .into_iter()
                    .collect(),
                Vec::new(),
            ),
        }
    }
    /// The key ring, if any.
    pub fn sp_key_ring(&self) -> Option<&super::SpKeyRing> {
        self.key_ring.as_ref().map(|(r, _)| r)
    }
    /// The SP's signing key (logout messages; AuthnRequests when an IdP wants them signed).
    #[must_use]
    pub fn signing_key(mut self, key: crate::crypto::SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }
    /// Whether the SP is served over https (its ACS URL's scheme): the web layer's cookies are
    /// then `Secure`.
    pub fn is_https(&self) -> bool {
        self.acs_url_template
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    }
    /// Whether the SP has a signing key (without one, Single Logout cannot be completed).
    pub fn can_sign(&self) -> bool {
        self.signing_key.is_some()
    }
    pub(super) fn slo_url(&self, slug: &str) -> Option<String> {
        self.slo_url_template
            .as_ref()
            .map(|t| t.replace("{tenant}", slug))
    }
    pub(crate) fn entity_id(&self, slug: &str) -> String {
        self.entity_id_template.replace("{tenant}", slug)
    }
    pub(crate) fn acs_url(&self, slug: &str) -> String {
        self.acs_url_template.replace("{tenant}", slug)
    }
}

/// Checks a configured endpoint URL: `http` or `https`, a host, no user-info (`user@`), no
/// fragment, no white space or control characters.
///
/// # Errors
/// [`Error::Config`] naming `field`, saying what is wrong.
pub(crate) fn check_url(field: &'static str, url: &str) -> Result<(), Error> {
    let bad = |what: &str| {
        Err(Error::Config {
            field,
            reason: format!(
                "expected an http(s) URL with a host, {what}; found {:?}",
                url.chars().take(200).collect::<String>()
            ),
        })
    };
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        url.get(8..)
    } else if lower.starts_with("http://") {
        url.get(7..)
    } else {
        return bad("the scheme is not http or https");
    };
    let rest = rest.unwrap_or_default();
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("with no white space");
    }
    if url.contains('#') {
        return bad("with no fragment (#)");
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return bad("with no user name or password in it");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return bad("the host is missing");
    }
    Ok(())
}

/// [`check_url`], and https unless the host is a loopback address (local development) or
/// `allow_http` (the tenant's `dangerous_allow_http_endpoints`): an IdP endpoint over plain http
/// elsewhere lets anyone on the path read the SAML messages and change where the browser goes.
pub(crate) fn check_idp_url(field: &'static str, url: &str, allow_http: bool) -> Result<(), Error> {
    check_url(field, url)?;
    let is_http = url
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"));
    if !is_http || allow_http {
        return Ok(());
    }
    let authority = url
        .get(7..)
        .unwrap_or_default()
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return Ok(());
    }
    Err(Error::Config {
        field,
        reason: format!(
            "expected an https URL (http only on a loopback address, or with dangerous_allow_http_endpoints); found {:?}",
            url.chars().take(200).collect::<String>()
        ),
    })
}

/// One tenant's SSO configuration.
#[derive(Debug, Clone)]
#[must_use]
pub struct TenantConfig {
    pub(super) slug: String,
    pub(super) display_name: String,
    pub(crate) enabled: bool,
    pub(crate) idp_entity_id: String,
    pub(super) sso_url: Option<String>,
    pub(super) slo_url: Option<String>,
    pub(super) sign_authn_requests: bool,
    pub(crate) certificates: Vec<Certificate>,
    pub(super) policy: ValidationPolicy,
    pub(super) jit: bool,
    pub(super) mapping: AttributeMapping,
    pub(super) email_domains: Vec<String>,
    pub(super) enforce_sso: bool,
    pub(crate) metadata_valid_until: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) sp_entity_id: Option<String>,
    pub(super) acs_url: Option<String>,
    pub(crate) requested_name_id_format: Option<String>,
    pub(crate) scoping: Option<super::Scoping>,
    pub(crate) artifact_resolution_url: Option<String>,
    pub(crate) artifact_responses: bool,
    pub(super) preset: Option<super::IdpPreset>,
    pub(crate) sso_binding: crate::binding::SsoBinding,
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

impl TenantConfig {
    /// A tenant `slug` trusting the IdP `idp_entity_id` with these signing certificates.
    /// Defaults: enabled, JIT on, signature policy `either`, unsolicited responses refused.
    pub fn new(
        slug: impl Into<String>,
        idp_entity_id: impl Into<String>,
        certificates: Vec<Certificate>,
    ) -> Self {
        let slug = slug.into();
        TenantConfig {
            display_name: slug.clone(),
            slug,
            enabled: true,
            idp_entity_id: idp_entity_id.into(),
            sso_url: None,
            slo_url: None,
            sign_authn_requests: false,
            certificates,
            policy: ValidationPolicy::default(),
            jit: true,
            mapping: AttributeMapping::default(),
            email_domains: Vec::new(),
            enforce_sso: false,
            metadata_valid_until: None,
            sp_entity_id: None,
            acs_url: None,
            requested_name_id_format: Some(crate::ns::NAMEID_EMAIL.to_owned()),
            scoping: None,
            artifact_resolution_url: None,
            artifact_responses: false,
            preset: None,
            sso_binding: crate::binding::SsoBinding::Redirect,
        }
    }
    /// A tenant `slug` for a known IdP product: its attribute names and the NameID format to
    /// ask for. The IdP side (entity ID, certificates, SSO URL) comes from its metadata:
    /// [`TenantConfig::with_idp_metadata`], or a `refresh::MetadataSource` with this
    /// as the template (feature `fetch`).
    pub fn from_preset(slug: impl Into<String>, preset: super::IdpPreset) -> Self {
        let mut c = TenantConfig::new(slug, "", Vec::new());
        c.mapping = preset.attribute_mapping();
        c.requested_name_id_format = preset.requested_name_id_format().map(str::to_owned);
        c.preset = Some(preset);
        c
    }
    /// The preset this tenant was built from, if any.
    pub fn preset(&self) -> Option<super::IdpPreset> {
        self.preset
    }
    /// The NameIDPolicy Format put in AuthnRequests (default emailAddress; `None` lets the IdP
    /// send its configured format).
    pub fn request_name_id_format(mut self, format: Option<&str>) -> Self {
        self.requested_name_id_format = format.map(str::to_owned);
        self
    }
    /// A tenant `slug` configured from the IdP's metadata XML (entity ID, every signing
    /// certificate, the Redirect (else POST) SSO URL).
    ///
    /// # Errors
    /// As [`crate::metadata::IdpMetadata::parse`]; [`Error::MetadataExpired`] when the
    /// metadata's `validUntil` is at or before `now`.
    pub fn from_idp_metadata(
        slug: impl Into<String>,
        metadata_xml: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, Error> {
        let md = crate::metadata::IdpMetadata::parse(metadata_xml, None)?;
        md.check_valid_at(now)?;
        Ok(TenantConfig::new(slug, "", Vec::new()).with_idp_metadata(&md))
    }
    /// Replaces every IdP-side setting with what `metadata` publishes: entity ID, every signing
    /// certificate (rotation overlap included), the Redirect (else POST) SSO URL, the Redirect SLO
    /// URL, `WantAuthnRequestsSigned`, and `validUntil` (after which the tenant refuses logins
    /// with `metadata_expired` until fresh metadata replaces it). The tenant's own options
    /// (policy, attribute mapping, domains, ...) are kept: this is how a metadata refresh updates
    /// a tenant built from a preset.
    pub fn with_idp_metadata(mut self, metadata: &crate::metadata::IdpMetadata) -> Self {
        self.idp_entity_id = metadata.entity_id().to_owned();
        self.certificates = metadata.signing_certificates().to_vec();
        (self.sso_url, self.sso_binding) = match (
            metadata.sso_url(crate::ns::HTTP_REDIRECT),
            metadata.sso_url(crate::ns::HTTP_POST),
        ) {
            (Some(u), _) => (Some(u.to_owned()), crate::binding::SsoBinding::Redirect),
            (None, Some(u)) => (Some(u.to_owned()), crate::binding::SsoBinding::Post),
            (None, None) => (None, crate::binding::SsoBinding::Redirect),
        };
        self.sign_authn_requests = metadata.wants_authn_requests_signed();
        self.slo_url = metadata
            .slo_url(crate::ns::HTTP_REDIRECT)
            .map(str::to_owned);
        self.metadata_valid_until = metadata.valid_until();
        self.artifact_resolution_url = metadata
            .artifact_resolution_endpoints()
            .iter()
            .find(|e| e.binding == crate::ns::SOAP_BINDING)
            .map(|e| e.location.clone());
        self
    }
    /// Asks the IdP to answer with an artifact (`ProtocolBinding` HTTP-Artifact): the Response
    /// never passes through the browser; the ACS resolves the artifact with a signed
    /// `ArtifactResolve` over SOAP at [`TenantConfig::artifact_resolution_url`] (from metadata).
    pub fn artifact_responses(mut self, yes: bool) -> Self {
        self.artifact_responses = yes;
        self
    }
    /// The IdP's ArtifactResolutionService (SOAP) URL.
    pub fn artifact_resolution_url(mut self, url: impl Into<String>) -> Self {
        self.artifact_resolution_url = Some(url.into());
        self
    }
    /// The binding AuthnRequests are sent with (default Redirect; from metadata, POST when the
    /// IdP offers only POST).
    pub fn sso_binding(mut self, binding: crate::binding::SsoBinding) -> Self {
        self.sso_binding = binding;
        self
    }
    /// This tenant's own SP entity ID, instead of the [`SpSettings`] template (some IdPs, Entra
    /// ID among them, want one SP entity ID per customer).
    pub fn sp_entity_id(mut self, entity_id: impl Into<String>) -> Self {
        self.sp_entity_id = Some(entity_id.into());
        self
    }
    /// This tenant's own ACS URL, instead of the [`SpSettings`] template.
    pub fn acs_url(mut self, url: impl Into<String>) -> Self {
        self.acs_url = Some(url.into());
        self
    }
    /// The IdP entity ID.
    pub fn idp_entity_id(&self) -> &str {
        &self.idp_entity_id
    }
    /// The IdP signing certificates.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }
    /// The tenant slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }
    /// Human-readable name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }
    /// Enabled (default) or disabled.
    pub fn enabled(mut self, yes: bool) -> Self {
        self.enabled = yes;
        self
    }
    /// The IdP's SSO URL (HTTP-Redirect).
    pub fn sso_url(mut self, url: impl Into<String>) -> Self {
        self.sso_url = Some(url.into());
        self
    }
    /// Sign AuthnRequests (the IdP's `WantAuthnRequestsSigned`, read from its metadata by
    /// [`TenantConfig::from_idp_metadata`]); needs the SP signing key in [`SpSettings`].
    pub fn sign_authn_requests(mut self, yes: bool) -> Self {
        self.sign_authn_requests = yes;
        self
    }
    /// The IdP's Single Logout URL (HTTP-Redirect binding).
    pub fn slo_url(mut self, url: impl Into<String>) -> Self {
        self.slo_url = Some(url.into());
        self
    }
    /// The whole validation policy (signatures, clock skew, response age, limits, extra
    /// destinations, authentication context, decryption keys, the `dangerous_*` options):
    /// every option a single-IdP `ServiceProvider` has.
    pub fn policy(mut self, policy: ValidationPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Which elements must be signed ([`ValidationPolicy::require_signed`]).
    pub fn require_signed(mut self, p: SignaturePolicy) -> Self {
        self.policy = self.policy.require_signed(p);
        self
    }
    /// An SP decryption key ([`ValidationPolicy::decryption_key`]).
    pub fn decryption_key(mut self, key: crate::xmlenc::DecryptionKey) -> Self {
        self.policy = self.policy.decryption_key(key);
        self
    }
    /// The options that weaken validation for this tenant ([`ValidationPolicy::dangerous`]).
    pub fn dangerous(mut self, options: crate::sp::DangerousOptions) -> Self {
        self.policy = self.policy.dangerous(options);
        self
    }
    /// `Scoping` sent in every AuthnRequest to this tenant's IdP (a proxying IdP: which IdPs
    /// it may use, how many proxy steps).
    pub fn scoping(mut self, scoping: super::Scoping) -> Self {
        self.scoping = Some(scoping);
        self
    }
    /// Just-in-time provisioning on (default) or off.
    pub fn jit(mut self, yes: bool) -> Self {
        self.jit = yes;
        self
    }
    /// Attribute mapping overrides.
    pub fn attribute_mapping(mut self, m: AttributeMapping) -> Self {
        self.mapping = m;
        self
    }
    /// The email domains this tenant owns: used for discovery, SSO enforcement, and to refuse an
    /// asserted email outside them.
    pub fn email_domains<I: IntoIterator<Item = S>, S: Into<String>>(mut self, domains: I) -> Self {
        self.email_domains = domains
            .into_iter()
            .map(|d| d.into().to_ascii_lowercase())
            .collect();
        self
    }
    /// Refuse password logins for this tenant's domains (see [`super::IdpRegistry::sso_enforced_for`]).
    pub fn enforce_sso(mut self, yes: bool) -> Self {
        self.enforce_sso = yes;
        self
    }

    /// Every problem of this configuration at once, each with the field it concerns (the field
    /// names of [`TenantSettings`]) and a sentence an administrator understands. Empty when the
    /// configuration is valid.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut add =
            |field: &'static str, message: String| out.push(ConfigProblem { field, message });
        if !valid_slug(&self.slug) {
            add(
                "slug",
                format!(
                    "The identifier {:?} must be 1 to 64 lower-case letters, digits, '-' or '.'.",
                    self.slug
                ),
            );
        }
        if self.idp_entity_id.is_empty() {
            add(
                "idp_entity_id",
                "The IdP's Issuer (entity ID) is missing: copy it from the IdP.".into(),
            );
        }
        if self.certificates.is_empty() {
            add(
                "certificates",
                "The IdP's signing certificate is missing: copy it from the IdP.".into(),
            );
        }
        let allow_http = self.policy.danger.dangerous_allow_http_endpoints;
        for (field, url) in [
            ("acs_url", &self.acs_url),
            ("sso_url", &self.sso_url),
            ("slo_url", &self.slo_url),
        ] {
            if let Some(u) = url
                && let Err(e) = check_idp_url(field, u, allow_http)
            {
                add(field, admin_url_message(&e));
            }
        }
        if self.sp_entity_id.as_deref() == Some("") {
            add("sp_entity_id", "The SP entity ID must not be empty.".into());
        }
        for d in &self.email_domains {
            if d.is_empty()
                || d.contains('@')
                || d.chars().any(char::is_whitespace)
                || !d.contains('.')
            {
                add(
                    "email_domains",
                    format!("{d:?} is not an email domain (write it as example.com)."),
                );
            }
        }
        out
    }

    pub(super) fn validate(&self) -> Result<(), Error> {
        match self.problems().into_iter().next() {
            None => Ok(()),
            Some(p) => Err(p.into_error()),
        }
    }
}

/// The admin sentence for a URL that [`check_url`] refused.
fn admin_url_message(e: &Error) -> String {
    match e {
        Error::Config { reason, .. } => format!("This URL is not usable: {reason}."),
        other => other.to_string(),
    }
}

/// One problem of a configuration, for the administrator who fills in the form: the field it
/// concerns (stable names: those of [`TenantSettings`]) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigProblem {
    /// The field (`slug`, `idp_entity_id`, `sso_url`, `certificates`, `email_domains`, ...).
    pub field: &'static str,
    /// What is wrong, in words an administrator understands.
    pub message: String,
}

impl ConfigProblem {
    /// As an [`Error::Config`] (code `config_invalid`).
    pub fn into_error(self) -> Error {
        Error::Config {
            field: self.field,
            reason: self.message,
        }
    }
}

/// The first problem as the error, with every other problem's field and message in its text.
#[cfg(feature = "serde")]
fn problems_error(problems: Vec<ConfigProblem>) -> Error {
    let field = problems.first().map_or("configuration", |p| p.field);
    let reason = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join(" ");
    Error::Config { field, reason }
}

/// Plain-data tenant settings for loading from TOML/JSON (feature `serde`). Certificates are PEM
/// or base64 strings; [`TenantSettings::into_config`] validates them.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Stable key.
    pub slug: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Enabled (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// IdP entity ID.
    pub idp_entity_id: String,
    /// IdP SSO URL.
    #[serde(default)]
    pub sso_url: Option<String>,
    /// `redirect` (default) or `post`.
    #[serde(default)]
    pub sso_binding: Option<crate::binding::SsoBinding>,
    /// Signing certificates (PEM, PEM without line breaks, or base64).
    pub certificates: Vec<String>,
    /// `assertion`, `response`, `both` or `either` (default).
    #[serde(default)]
    pub require_signed: Option<String>,
    /// The options that weaken validation, all off by default: a `[dangerous]` table with the
    /// fields of [`crate::sp::DangerousOptions`] (`dangerous_allow_unsolicited_responses = true`).
    #[serde(default)]
    pub dangerous: crate::sp::DangerousOptions,
    /// Just-in-time provisioning (default true).
    #[serde(default = "yes")]
    pub jit: bool,
    /// Owned email domains.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Enforce SSO for those domains.
    #[serde(default)]
    pub enforce_sso: bool,
    /// Attribute mapping overrides.
    #[serde(default)]
    pub attribute_mapping: Option<AttributeMapping>,
    /// An IdP preset (`okta`, `entra-id`, `google-workspace`, `adfs`, `onelogin`, `jumpcloud`,
    /// `pingfederate`, `keycloak`, `auth0`): its attribute names and NameID format.
    #[serde(default)]
    pub preset: Option<String>,
    /// This tenant's own SP entity ID (instead of the `SpSettings` template).
    #[serde(default)]
    pub sp_entity_id: Option<String>,
    /// This tenant's own ACS URL (instead of the `SpSettings` template).
    #[serde(default)]
    pub acs_url: Option<String>,
}

#[cfg(feature = "serde")]
fn yes() -> bool {
    true
}

#[cfg(feature = "serde")]
impl TenantSettings {
    /// Validates into a [`TenantConfig`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the field (`certificates`, `require_signed`, ...).
    pub fn into_config(self) -> Result<TenantConfig, Error> {
        let (config, problems) = self.build();
        match config {
            Some(c) if problems.is_empty() => Ok(c),
            _ => Err(problems_error(problems)),
        }
    }

    /// Every problem of these settings at once (certificates that do not parse, an unknown
    /// preset or signature policy, the configuration's own [`TenantConfig::problems`]), each
    /// with its field and an administrator's sentence. Empty when [`TenantSettings::into_config`]
    /// succeeds.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        self.clone().build().1
    }

    fn build(self) -> (Option<TenantConfig>, Vec<ConfigProblem>) {
        let mut problems = Vec::new();
        let mut certs = Vec::new();
        for (i, pem) in self.certificates.iter().enumerate() {
            match Certificate::parse_all(pem.as_bytes()) {
                Ok(c) => certs.extend(c),
                Err(e) => problems.push(ConfigProblem {
                    field: "certificates",
                    message: format!("Certificate {}: {}.", i + 1, admin_certificate_message(&e)),
                }),
            }
        }
        let preset = match &self.preset {
            Some(name) => match super::IdpPreset::from_name(name) {
                Some(p) => Some(p),
                None => {
                    problems.push(ConfigProblem {
                        field: "preset",
                        message: format!(
                            "{name:?} is not a known IdP; expected one of {:?}.",
                            super::IdpPreset::ALL.map(super::IdpPreset::name)
                        ),
                    });
                    None
                }
            },
            None => None,
        };
        let require_signed = match self
            .require_signed
            .as_deref()
            .map(str::parse::<SignaturePolicy>)
        {
            Some(Err(_)) => {
                problems.push(ConfigProblem {
                    field: "require_signed",
                    message: format!(
                        "{:?} is not a signature policy; expected assertion, response, both or either.",
                        self.require_signed.as_deref().unwrap_or_default()
                    ),
                });
                None
            }
            Some(Ok(p)) => Some(p),
            None => None,
        };
        let mut c = match preset {
            Some(preset) => {
                let mut c = TenantConfig::from_preset(self.slug.clone(), preset);
                c.idp_entity_id = self.idp_entity_id;
                c.certificates = certs;
                c
            }
            None => TenantConfig::new(self.slug.clone(), self.idp_entity_id, certs),
        }
        .display_name(self.display_name.unwrap_or(self.slug))
        .enabled(self.enabled)
        .jit(self.jit)
        .email_domains(self.email_domains)
        .enforce_sso(self.enforce_sso)
        .dangerous(self.dangerous);
        if let Some(u) = self.sso_url {
            c = c.sso_url(u);
        }
        if let Some(b) = self.sso_binding {
            c = c.sso_binding(b);
        }
        if let Some(id) = self.sp_entity_id {
            c = c.sp_entity_id(id);
        }
        if let Some(u) = self.acs_url {
            c = c.acs_url(u);
        }
        if let Some(p) = require_signed {
            c = c.require_signed(p);
        }
        if let Some(m) = self.attribute_mapping {
            c = c.attribute_mapping(m);
        }
        // The configuration's own checks; a missing certificate is reported once (a certificate
        // that did not parse already says why).
        let parse_failed = problems.iter().any(|p| p.field == "certificates");
        problems.extend(
            c.problems()
                .into_iter()
                .filter(|p| !(parse_failed && p.field == "certificates")),
        );
        (Some(c), problems)
    }
}

/// The admin sentence for a certificate that did not parse.
#[cfg(feature = "serde")]
fn admin_certificate_message(e: &Error) -> String {
    match e {
        Error::Config { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}
