//! The one-call ACS: tenant look-up, stores, validation, replay, provisioning and audit.
//!
//! SP-initiated login goes through [`Acs::start_login`]: it builds the AuthnRequest, stores a
//! server-side record `{request ID, browser binding digest, return path}` under a random
//! RelayState token, and returns the IdP redirect URL. [`Acs::finish_login`] takes the POSTed
//! `SAMLResponse` and `RelayState` with the browser's [`BrowserBinding`], claims that record
//! exactly once, refuses it for any other browser (login CSRF), validates, refuses replays,
//! maps the identity, provisions the user, emits one audit event, and returns the user with a
//! local return path (never an open redirect).
//!
//! A full multi-tenant setup and ACS handler:
//!
//! ```
//! use std::sync::Arc;
//! use saml_sp::{Acs, Error, login::AuditContext};
//! use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
//! use saml_sp::login::{BrowserBinding, ProvisionError, Provisioner, SamlIdentity};
//! use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
//!
//! struct Users; // your database
//! impl Provisioner for Users {
//!     type User = String;
//!     async fn upsert(&self, tenant: &str, id: &SamlIdentity) -> Result<String, ProvisionError> {
//!         Ok(format!("{tenant}:{}", id.email)) // INSERT ... ON CONFLICT DO UPDATE
//!     }
//!     async fn find(&self, tenant: &str, id: &SamlIdentity) -> Result<Option<String>, ProvisionError> {
//!         Ok(None) // SELECT ... WHERE tenant = $1 AND email = $2
//!     }
//! }
//!
//! // POST /login/saml/{tenant}/callback (login_cookie: the cookie set when the login started)
//! async fn acs_handler(acs: &Acs<Users>, tenant: &str, saml_response: &str, relay_state: Option<&str>,
//!     login_cookie: Option<&str>, ip: &str) -> Result<(String, String), Error> {
//!     let browser = login_cookie.and_then(BrowserBinding::from_cookie);
//!     let done = acs.finish_login(tenant, saml_response, relay_state, browser.as_ref(),
//!         &AuditContext::new().with("ip", ip)).await?;
//!     Ok((done.user, done.return_to)) // set the session cookie, then 303 to return_to
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Arc::new(IdpRegistry::new(SpSettings::new(
//!     "https://app.example.com/saml/metadata", "https://app.example.com/login/saml/{tenant}/callback")?));
//! registry.insert(TenantConfig::new("acme", "http://www.okta.com/exk1bench0idp0okta0x7",
//!         vec![saml_sp::testkit::TestIdp::fixed("idp").certificate().clone()])
//!     .sso_url("https://acme.okta.com/app/x/sso/saml").email_domains(["example.com"]))?;
//! let acs = Acs::new(registry, Arc::new(MemoryRequestStore::default()), Arc::new(MemoryReplayCache::default()), Users);
//! // GET /saml/login?email=ada@example.com  ->  302 to start.redirect_url() (or, for an IdP
//! // offering only HTTP-POST, the auto-submitting page in start.navigation)
//! // The browser's login-binding secret: reuse the one in its cookie, or make one and set it.
//! let browser = BrowserBinding::generate()?;
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     match std::future::Future::poll(std::pin::pin!(f), &mut std::task::Context::from_waker(std::task::Waker::noop())) {
//! #         std::task::Poll::Ready(v) => v, std::task::Poll::Pending => unreachable!() } }
//! let start = block_on(acs.start_login_for_email("ada@example.com", Some("/dashboard"), &browser))?;
//! assert!(start.redirect_url().unwrap().starts_with("https://acme.okta.com/app/x/sso/saml?SAMLRequest="));
//! # let _ = acs_handler; Ok(()) }
//! ```

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::binding::Navigation;
use crate::error::Error;
use crate::login::audit::{Action, AuditContext, AuditEvent, AuditSink, Outcome, emit};
use crate::login::authn_request::AuthnRequest;
use crate::login::browser::{BrowserBinding, check_browser_binding, is_login_token};
use crate::login::provision::Provisioner;
use crate::logout::{IncomingLogout, LogoutStatus, SessionRecord, SessionTerminator};
use crate::sp::assertion::VerifiedAssertion;
use crate::sp::identity::SamlIdentity;
use crate::sp::report::Report;
use crate::sp::validate::RequestCheck;
use crate::store::{ReplayCache, RequestStore};
use crate::tenant::{IdpRegistry, KeyRefresh, Tenant};
use crate::time::{Clock, SystemClock};

/// Where to send the browser to start a login.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginStart {
    /// Where to send the browser: a redirect (HTTP-Redirect binding), or an auto-submitting
    /// page (HTTP-POST binding, for an IdP that offers only POST).
    pub navigation: Navigation,
    /// The AuthnRequest ID.
    pub request_id: String,
    /// The opaque RelayState token sent along.
    pub relay_state: String,
    /// The tenant slug.
    pub tenant: String,
}

impl LoginStart {
    /// The IdP URL to redirect to, for the HTTP-Redirect binding (`None` for POST).
    pub fn redirect_url(&self) -> Option<&str> {
        self.navigation.redirect_url()
    }
}

/// A completed login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginSuccess<U> {
    /// The app's user, from the provisioner.
    pub user: U,
    /// The mapped identity.
    pub identity: SamlIdentity,
    /// The validated assertion.
    pub assertion: VerifiedAssertion,
    /// The tenant slug.
    pub tenant: String,
    /// A local path to redirect to.
    pub return_to: String,
}

/// The one-call ACS. Cheap to share (`Arc<Acs<_>>`).
pub struct Acs<P> {
    registry: Arc<IdpRegistry>,
    requests: Arc<dyn RequestStore>,
    replay: Arc<dyn ReplayCache>,
    provisioner: P,
    clock: Arc<dyn Clock>,
    audit: Option<Arc<dyn AuditSink>>,
    request_lifetime: Duration,
    key_refresh: Option<Arc<dyn KeyRefresh>>,
    soap: Option<Arc<dyn super::SoapClient>>,
}

impl<P> std::fmt::Debug for Acs<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acs")
            .field("tenants", &self.registry.len())
            .finish_non_exhaustive()
    }
}

/// A path the app may redirect to after login: local (`/...`), not protocol-relative, no
/// backslashes, no control characters or white space, at most 2 KiB.
pub fn safe_return_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.len() <= 2048
        && !path.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(path)
}

impl<P: Provisioner> Acs<P> {
    /// An ACS over `registry`, with the stores and the app's provisioner. Uses the system clock
    /// and a 10-minute lifetime for outstanding requests.
    pub fn new(
        registry: Arc<IdpRegistry>,
        requests: Arc<dyn RequestStore>,
        replay: Arc<dyn ReplayCache>,
        provisioner: P,
    ) -> Self {
        Acs {
            registry,
            requests,
            replay,
            provisioner,
            clock: Arc::new(SystemClock),
            audit: None,
            request_lifetime: Duration::minutes(10),
            key_refresh: None,
            soap: None,
        }
    }
    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Also hands every audit event to `sink`.
    #[must_use]
    pub fn with_audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }
    /// How long an AuthnRequest stays outstanding (default 10 minutes).
    #[must_use]
    pub fn with_request_lifetime(mut self, lifetime: Duration) -> Self {
        self.request_lifetime = lifetime;
        self
    }
    /// Resolves artifacts (the HTTP-Artifact binding, [`Acs::finish_login_artifact`]) with
    /// `client` (`refresh::MetadataClient` with feature `fetch`).
    #[must_use]
    pub fn with_artifact_resolution(mut self, client: Arc<dyn super::SoapClient>) -> Self {
        self.soap = Some(client);
        self
    }
    /// When a Response is signed with a key its tenant does not have, asks `refresh` (usually
    /// the `refresh::MetadataRefresher` that keeps the tenants' metadata, which
    /// rate-limits itself per tenant) to fetch the tenant's metadata now, and validates once
    /// more if the tenant's configuration was replaced: an IdP that starts signing with a newly
    /// published key is not refused until the next scheduled fetch.
    #[must_use]
    pub fn with_key_refresh(mut self, refresh: Arc<dyn KeyRefresh>) -> Self {
        self.key_refresh = Some(refresh);
        self
    }
    /// The registry.
    pub fn registry(&self) -> &IdpRegistry {
        &self.registry
    }
    /// The request store (an operator's health probe reads it).
    pub fn request_store(&self) -> &Arc<dyn RequestStore> {
        &self.requests
    }
    /// The clock every step of this flow (and the web layer over it) reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The SP keys of the key ring (if any) at `now` in every tenant: a scheduled switch takes
    /// effect with the first request after it, on the flow's own clock.
    fn apply_sp_keys(&self, now: DateTime<Utc>) {
        if let Err(e) = self.registry.apply_sp_keys(now) {
            tracing::warn!(target: "saml_sp::login", code = e.code(), "the SP keys due now cannot be installed: {e}");
        }
    }

    fn enabled_tenant(&self, slug: &str) -> Result<Arc<Tenant>, Error> {
        self.apply_sp_keys(self.clock.now());
        self.registry.for_login(slug)
    }

    /// After a signature by a key `tenant` does not have: asks the key-refresh hook, and
    /// returns the tenant's new configuration when one was installed (still enabled).
    async fn with_fresh_keys(
        &self,
        slug: &str,
        tenant: &Arc<Tenant>,
        now: DateTime<Utc>,
    ) -> Option<Arc<Tenant>> {
        let hook = self.key_refresh.as_ref()?;
        hook.unknown_signing_key(slug, now).await;
        self.registry
            .by_slug(slug)
            .filter(|t| !Arc::ptr_eq(t, tenant) && t.is_enabled())
    }

    /// Starts an SP-initiated login for tenant `slug`; `return_to` must be a local path
    /// (anything else becomes `/`). The login is bound to `browser`, the secret kept in a cookie
    /// of the browser that starts it: [`Acs::finish_login`] refuses a Response for this login
    /// from any other browser (login CSRF; see [`BrowserBinding`]).
    ///
    /// # Errors
    /// [`Error::UnknownTenant`], [`Error::IdpDisabled`], [`Error::Config`] without an SSO URL,
    /// [`Error::StoreUnavailable`].
    pub async fn start_login(
        &self,
        slug: &str,
        return_to: Option<&str>,
        browser: &BrowserBinding,
    ) -> Result<LoginStart, Error> {
        self.start_login_inner(slug, return_to, browser, None).await
    }

    /// [`Acs::start_login`] for a login that must come back with `step_up`'s authentication
    /// context and age (a route that needs MFA, or a recent sign-in): the AuthnRequest asks for
    /// it (`RequestedAuthnContext`, and `ForceAuthn` with an age), the pending record keeps it,
    /// and the ACS refuses a Response that does not satisfy it (`authn_context_mismatch`,
    /// `authn_too_old`).
    ///
    /// # Errors
    /// As `start_login`; [`Error::Config`] (`step_up`) for a class reference with white space
    /// or an empty list.
    pub async fn start_login_with_step_up(
        &self,
        slug: &str,
        return_to: Option<&str>,
        browser: &BrowserBinding,
        step_up: &super::StepUp,
    ) -> Result<LoginStart, Error> {
        if step_up.class_refs().is_empty()
            || step_up
                .class_refs()
                .iter()
                .any(|r| r.is_empty() || r.chars().any(char::is_whitespace))
        {
            return Err(Error::Config {
                field: "step_up",
                reason: "class references must be non-empty URIs without white space".into(),
            });
        }
        self.start_login_inner(slug, return_to, browser, Some(step_up))
            .await
    }

    async fn start_login_inner(
        &self,
        slug: &str,
        return_to: Option<&str>,
        browser: &BrowserBinding,
        step_up: Option<&super::StepUp>,
    ) -> Result<LoginStart, Error> {
        let tenant = self.enabled_tenant(slug)?;
        let sso = tenant.sso_url().ok_or(Error::Config {
            field: "sso_url",
            reason: format!("tenant {slug:?} has no SSO URL"),
        })?;
        let now = self.clock.now();
        // Never send a user to an IdP whose metadata has expired (SAML Metadata 2.3).
        tenant.service_provider().idp().check_current(now)?;
        let mut req = AuthnRequest::new(tenant.sp_entity_id(), tenant.acs_url())
            .destination(sso)
            .name_id_format(tenant.requested_name_id_format());
        if let Some(s) = tenant.scoping() {
            req = req.scoping(s.clone());
        }
        if tenant.artifact_responses() {
            req = req.artifact_response(true);
        }
        if let Some(s) = step_up {
            req = req
                .requested_authn_context(s.comparison(), s.class_refs().iter().cloned())
                .force_authn(s.max_age_limit().is_some());
        }
        let req = req.build(now)?;
        // The IdP's WantAuthnRequestsSigned is honoured with the SP signing key.
        let signing = if tenant.signs_authn_requests() {
            let key = tenant.service_provider().signing_key().ok_or(Error::Config {
                field: "sp_signing_key",
                reason: format!("the IdP of tenant {slug:?} wants signed AuthnRequests: configure the SP's signing key"),
            })?;
            Some((key, crate::crypto::SignatureAlgorithm::RsaSha256))
        } else {
            None
        };
        let mut token = [0u8; 16];
        crate::crypto::random_bytes(&mut token)?;
        let relay_state = crate::crypto::hex(&token);
        let return_to = return_to.and_then(safe_return_path).unwrap_or("/");
        let record = PendingLogin {
            request_id: req.id().to_owned(),
            browser: browser.digest(),
            return_to: return_to.to_owned(),
            step_up: step_up.cloned(),
        }
        .encode();
        self.requests
            .remember(
                slug,
                &login_key(&relay_state),
                &record,
                now + self.request_lifetime,
            )
            .await?;
        let navigation = match tenant.sso_binding() {
            crate::binding::SsoBinding::Post => {
                Navigation::Post(req.post_form(Some(&relay_state), signing)?)
            }
            _ => Navigation::Redirect(req.redirect_url(Some(&relay_state), signing)?),
        };
        Ok(LoginStart {
            navigation,
            request_id: req.id().to_owned(),
            relay_state,
            tenant: slug.to_owned(),
        })
    }

    /// IdP discovery by email domain, then [`Acs::start_login`].
    ///
    /// # Errors
    /// [`Error::UnknownTenant`] when no tenant owns the domain, [`Error::TenantUnavailable`]
    /// when its owner failed to load, [`Error::IdpDisabled`]; as `start_login`.
    pub async fn start_login_for_email(
        &self,
        email: &str,
        return_to: Option<&str>,
        browser: &BrowserBinding,
    ) -> Result<LoginStart, Error> {
        let tenant = self.registry.discover_for_login(email)?;
        self.start_login(tenant.slug(), return_to, browser).await
    }

    /// Consumes a POSTed `SAMLResponse` (base64) for tenant `slug` (from the ACS path).
    /// `browser` is the login-binding secret the request carried (its cookie), if any: a
    /// Response to an SP-initiated login is accepted only from the browser that started it.
    ///
    /// # Errors
    /// Every validation error, plus [`Error::LoginBrowserMismatch`], [`Error::UnknownTenant`], [`Error::IdpDisabled`],
    /// [`Error::ReplayedAssertion`], [`Error::EmailDomainNotAllowed`],
    /// [`Error::UserNotProvisioned`], [`Error::ProvisioningFailed`],
    /// [`Error::StoreUnavailable`]. Every outcome is audited.
    pub async fn finish_login(
        &self,
        slug: &str,
        saml_response: &str,
        relay_state: Option<&str>,
        browser: Option<&BrowserBinding>,
        context: &AuditContext,
    ) -> Result<LoginSuccess<P::User>, Error> {
        self.finish_audited(
            slug,
            Incoming::Post(saml_response),
            relay_state,
            browser,
            context,
        )
        .await
    }

    /// Consumes an artifact (`SAMLart`, the HTTP-Artifact binding) for tenant `slug`: after
    /// the browser binding is checked, the artifact is used once (the replay cache), resolved
    /// with a signed `ArtifactResolve` over SOAP at the tenant's ArtifactResolutionService, the
    /// `ArtifactResponse` checked (signed by the IdP, answering this request, from this IdP,
    /// fresh), and the Response inside validated exactly as a POSTed one.
    ///
    /// # Errors
    /// As [`Acs::finish_login`]; [`Error::Binding`] for a malformed artifact, one from another
    /// IdP, or one used before; [`Error::Config`] without a SOAP client, a resolution URL or an
    /// SP signing key; transport errors.
    pub async fn finish_login_artifact(
        &self,
        slug: &str,
        samlart: &str,
        relay_state: Option<&str>,
        browser: Option<&BrowserBinding>,
        context: &AuditContext,
    ) -> Result<LoginSuccess<P::User>, Error> {
        self.finish_audited(
            slug,
            Incoming::Artifact(samlart),
            relay_state,
            browser,
            context,
        )
        .await
    }

    /// One login, whichever binding brought it: a span with the tenant, binding, request and
    /// assertion IDs, outcome and code (never a NameID, an email or message content; the steps
    /// are its children), the total time, and the audit event.
    async fn finish_audited(
        &self,
        slug: &str,
        incoming: Incoming<'_>,
        relay_state: Option<&str>,
        browser: Option<&BrowserBinding>,
        context: &AuditContext,
    ) -> Result<LoginSuccess<P::User>, Error> {
        let mut event = AuditEvent::new(Action::Login, slug, context);
        let span = tracing::info_span!(
            target: "saml_sp::login",
            "saml_sp.login",
            tenant = slug,
            binding = match incoming {
                Incoming::Post(_) => "post",
                Incoming::Artifact(_) => "artifact",
            },
            request_id = tracing::field::Empty,
            assertion_id = tracing::field::Empty,
            outcome = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = tracing::Instrument::instrument(
            self.finish_inner(slug, incoming, relay_state, browser, &mut event),
            span.clone(),
        )
        .await;
        crate::telemetry::step("total", started);
        if let Some(r) = &event.request_id {
            span.record("request_id", r.as_str());
        }
        if let Some(a) = &event.assertion_id {
            span.record("assertion_id", a.as_str());
        }
        match &result {
            Ok(done) => {
                span.record("outcome", "success");
                event.outcome = Outcome::Success;
                event.name_id = done.assertion.name_id().map(|n| n.value.clone());
            }
            Err(e) => {
                span.record("outcome", "failure").record("code", e.code());
                event.error_code = Some(e.code());
                event.error_detail = Some(e.to_string());
            }
        }
        emit(&event, self.audit.as_deref());
        result
    }

    /// [`Acs::finish_login_artifact`] at an ACS every tenant shares: the artifact's SourceID
    /// picks the tenant (the one whose IdP entity ID hashes to it).
    ///
    /// # Errors
    /// [`Error::Binding`] for a malformed artifact; [`Error::UnknownTenant`] when no tenant's
    /// IdP issued it; as `finish_login_artifact`.
    pub async fn finish_login_artifact_any_tenant(
        &self,
        samlart: &str,
        relay_state: Option<&str>,
        browser: Option<&BrowserBinding>,
        context: &AuditContext,
    ) -> Result<LoginSuccess<P::User>, Error> {
        let artifact = crate::binding::Artifact::parse(samlart)?;
        let tenant = self
            .registry
            .by_artifact(&artifact)
            .ok_or_else(|| Error::UnknownTenant {
                found: format!(
                    "the IdP of SourceID {}",
                    crate::crypto::hex(&artifact.source_id)
                ),
            })?;
        self.finish_login_artifact(tenant.slug(), samlart, relay_state, browser, context)
            .await
    }

    /// Resolves `artifact` at the tenant's IdP; the Response it carries, as XML.
    async fn resolve_artifact(
        &self,
        slug: &str,
        tenant: &Tenant,
        artifact: &crate::binding::Artifact,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, Error> {
        let client = self.soap.as_ref().ok_or(Error::Config {
            field: "artifact_resolution",
            reason:
                "an artifact arrived but the ACS has no SOAP client (Acs::with_artifact_resolution)"
                    .into(),
        })?;
        let url = tenant
            .artifact_resolution_url()
            .ok_or_else(|| Error::Config {
                field: "artifact_resolution_url",
                reason: format!("tenant {slug:?} has no ArtifactResolutionService URL"),
            })?;
        // Used once: a second arrival of the same artifact is refused before any request.
        let key = format!("artifact\u{1f}{}", artifact.encoded);
        if !self
            .replay
            .insert_if_absent(slug, &key, now + chrono::Duration::minutes(10), now)
            .await?
        {
            return Err(Error::Binding("the artifact was used before".into()));
        }
        let sp = tenant.service_provider();
        let request = sp.artifact_resolve(artifact, url, now)?;
        let answer = tracing::Instrument::instrument(
            client.post_soap(url, &request.soap),
            tracing::info_span!("saml_sp.resolve_artifact"),
        )
        .await?;
        sp.read_artifact_response(&answer, &request, now)
    }

    async fn finish_inner(
        &self,
        slug: &str,
        incoming: Incoming<'_>,
        relay_state: Option<&str>,
        browser: Option<&BrowserBinding>,
        event: &mut AuditEvent,
    ) -> Result<LoginSuccess<P::User>, Error> {
        let mut tenant = self.enabled_tenant(slug)?;
        event.issuer = Some(tenant.idp_entity_id().to_owned());
        let now = self.clock.now();
        let started = std::time::Instant::now();
        // A POSTed Response is decoded now; an artifact is checked now (cheap) and resolved
        // once the browser binding has been checked (it costs an RSA signature and a request).
        let (posted, artifact) = match incoming {
            Incoming::Post(b64) => {
                let xml = tracing::info_span!("saml_sp.decode", bytes = b64.len())
                    .in_scope(|| tenant.service_provider().decode_post(b64))?;
                (Some(xml), None)
            }
            Incoming::Artifact(samlart) => {
                let artifact = crate::binding::Artifact::parse(samlart)?;
                if !artifact.is_from(tenant.idp_entity_id()) {
                    return Err(Error::Binding(
                        "the artifact's SourceID is not this tenant's IdP".into(),
                    ));
                }
                (None, Some(artifact))
            }
        };
        crate::telemetry::step("decode", started);

        // The server-side record named by RelayState: request ID, browser and return path,
        // taken once. Only a RelayState of the exact form the SP issues is looked up, and only
        // among login records (never a pending logout's).
        let pending = match relay_state.filter(|r| is_login_token(r)) {
            Some(token) => {
                let started = std::time::Instant::now();
                let taken = tracing::Instrument::instrument(
                    self.requests.take(slug, &login_key(token), now),
                    tracing::info_span!("saml_sp.store", operation = "take_request"),
                )
                .await
                .inspect_err(|_| crate::telemetry::store_error("take_request"))?;
                crate::telemetry::step("store", started);
                taken
            }
            None => None,
        };
        let pending = pending.as_deref().map(PendingLogin::decode).transpose()?;
        if let Some(p) = &pending {
            // Before any signature or RSA work: a login another browser started is refused.
            check_browser_binding(&p.browser, browser)?;
        }
        let (request_id, return_to, step_up) = match pending {
            Some(p) => (Some(p.request_id), p.return_to, p.step_up),
            // IdP-initiated: a RelayState that is a safe local path may choose the landing page.
            None => (
                None,
                relay_state
                    .and_then(safe_return_path)
                    .unwrap_or("/")
                    .to_owned(),
                None,
            ),
        };
        event.request_id.clone_from(&request_id);
        let xml = match (posted, artifact) {
            (Some(xml), _) => xml,
            (None, Some(artifact)) => self.resolve_artifact(slug, &tenant, &artifact, now).await?,
            (None, None) => return Err(Error::Binding("no SAMLResponse or SAMLart".into())),
        };
        let assertion = match tenant.service_provider().validate_inner(
            &xml,
            RequestCheck::Deferred,
            now,
            &mut Report::default(),
        ) {
            Err(e) if signed_by_unknown_key(&e) => {
                tenant = self.with_fresh_keys(slug, &tenant, now).await.ok_or(e)?;
                tenant.service_provider().validate_inner(
                    &xml,
                    RequestCheck::Deferred,
                    now,
                    &mut Report::default(),
                )?
            }
            other => other?,
        };
        event.assertion_id = Some(assertion.assertion_id().to_owned());
        if event.request_id.is_none() {
            event.request_id = assertion.in_response_to().map(str::to_owned);
        }
        if request_id.is_none() && assertion.in_response_to().is_some() {
            // A response to a request this post holds no record of cannot succeed: its
            // assertion ID is not spent (the browser holding the record may be posting the same
            // Response right now, and must not lose to this copy); a Back and re-post of a used
            // one is reported as the replay it is.
            crate::sp::consume::refuse_if_used(&*self.replay, slug, &assertion, now).await?;
        }
        crate::sp::validate::check_in_response_to(
            assertion.in_response_to(),
            request_id.as_deref(),
        )?;
        // A login started with a step-up requirement comes back satisfying it, or not at all.
        if let Some(s) = &step_up {
            s.check(
                assertion.authn_context_class_ref(),
                assertion.authn_instant(),
                now,
                tenant.service_provider().policy().clock_skew_value(),
            )?;
        }
        let started = std::time::Instant::now();
        tracing::Instrument::instrument(
            crate::sp::consume::record_use(&*self.replay, slug, &assertion, now),
            tracing::info_span!("saml_sp.store", operation = "record_assertion"),
        )
        .await
        .inspect_err(|e| {
            if matches!(e, Error::StoreUnavailable(_)) {
                crate::telemetry::store_error("record_assertion");
            }
        })?;
        crate::telemetry::step("store", started);

        let identity = tenant.attribute_mapping().identity(&assertion)?;
        if !tenant.email_domains().is_empty() {
            let domain = identity.email_domain().unwrap_or_default();
            if !tenant.email_domains().contains(&domain) {
                return Err(Error::EmailDomainNotAllowed {
                    expected: tenant.email_domains().to_vec(),
                    found: domain,
                });
            }
        }
        let started = std::time::Instant::now();
        let provision = async {
            if tenant.jit() {
                self.provisioner
                    .upsert(slug, &identity)
                    .await
                    .map_err(Error::ProvisioningFailed)
            } else {
                self.provisioner
                    .find(slug, &identity)
                    .await
                    .map_err(Error::ProvisioningFailed)?
                    .ok_or_else(|| Error::UserNotProvisioned {
                        tenant: slug.to_owned(),
                        email: identity.email.clone(),
                    })
            }
        };
        let user = tracing::Instrument::instrument(
            provision,
            tracing::info_span!("saml_sp.provision", jit = tenant.jit()),
        )
        .await?;
        crate::telemetry::step("provision", started);
        Ok(LoginSuccess {
            user,
            identity,
            assertion,
            tenant: slug.to_owned(),
            return_to,
        })
    }

    /// Starts an SP-initiated logout of `session` for tenant `slug`: builds the signed
    /// LogoutRequest, remembers its ID (with `return_to`, a local path) until the IdP answers,
    /// and returns the IdP URL to redirect the browser to. End the app's own session now too:
    /// the IdP may never answer.
    ///
    /// # Errors
    /// [`Error::UnknownTenant`]; [`Error::Config`] when the IdP has no Single Logout URL or the
    /// SP no signing key; [`Error::StoreUnavailable`].
    pub async fn start_logout(
        &self,
        slug: &str,
        session: &SessionRecord,
        return_to: Option<&str>,
        context: &AuditContext,
    ) -> Result<LogoutStart, Error> {
        let mut event = AuditEvent::new(Action::LogoutStarted, slug, context);
        event.name_id = Some(session.name_id.value.clone());
        let result = async {
            let tenant = self.tenant(slug)?;
            event.issuer = Some(tenant.idp_entity_id().to_owned());
            let sp = tenant.service_provider();
            let now = self.clock.now();
            let request = sp.logout_request(session, now)?;
            event.request_id = Some(request.id().to_owned());
            let key = sp.signing_key().ok_or(Error::Config {
                field: "sp_signing_key",
                reason: "logout messages are signed: configure the SP's signing key".into(),
            })?;
            let redirect_url = request.redirect_url(None, key)?;
            let return_to = return_to.and_then(safe_return_path).unwrap_or("/");
            self.requests
                .remember(
                    slug,
                    &logout_key(request.id()),
                    return_to,
                    now + self.request_lifetime,
                )
                .await?;
            Ok(LogoutStart {
                redirect_url,
                request_id: request.id().to_owned(),
            })
        }
        .await;
        finish_event(&mut event, &result, self.audit.as_deref());
        result
    }

    /// Finishes an SP-initiated logout: validates the IdP's LogoutResponse (signature, Issuer,
    /// Destination, age) and takes the request it answers from the store, exactly once. A
    /// partial or failed logout at the IdP is reported in [`LogoutDone::status`].
    ///
    /// # Errors
    /// Every validation error; [`Error::UnknownInResponseTo`] for a response to a request this
    /// SP did not send or already saw answered.
    pub async fn finish_logout(
        &self,
        slug: &str,
        message: &IncomingLogout<'_>,
        context: &AuditContext,
    ) -> Result<LogoutDone, Error> {
        let mut event = AuditEvent::new(Action::LogoutFinished, slug, context);
        let result = async {
            let tenant = self.tenant(slug)?;
            event.issuer = Some(tenant.idp_entity_id().to_owned());
            let now = self.clock.now();
            let response = tenant
                .service_provider()
                .validate_logout_response_deferred(message, now)?;
            event.request_id = Some(response.in_response_to.clone());
            let return_to = self
                .requests
                .take(slug, &logout_key(&response.in_response_to), now)
                .await?
                .ok_or_else(|| Error::UnknownInResponseTo {
                    found: response.in_response_to.clone(),
                })?;
            Ok(LogoutDone {
                status: response.status,
                return_to,
            })
        }
        .await;
        finish_event(&mut event, &result, self.audit.as_deref());
        result
    }

    /// Handles an IdP-initiated logout: validates the LogoutRequest (signature required by
    /// default, Issuer, Destination, NotOnOrAfter, age), refuses a replayed ID, asks `sessions` to
    /// end the sessions it names, and returns the signed LogoutResponse to send the browser back
    /// with: `Success`, or `Responder` when ending them failed.
    ///
    /// # Errors
    /// Every validation error; [`Error::ReplayedLogoutRequest`]; [`Error::StoreUnavailable`]. A
    /// failure of `sessions` is not an error: it is answered with a `Responder` status.
    pub async fn handle_logout_request<T: SessionTerminator>(
        &self,
        slug: &str,
        message: &IncomingLogout<'_>,
        sessions: &T,
        context: &AuditContext,
    ) -> Result<LogoutReply, Error> {
        let mut event = AuditEvent::new(Action::LogoutRequested, slug, context);
        let result = async {
            let tenant = self.tenant(slug)?;
            event.issuer = Some(tenant.idp_entity_id().to_owned());
            let sp = tenant.service_provider();
            let now = self.clock.now();
            let request = sp.validate_logout_request(message, now)?;
            event.request_id = Some(request.id.clone());
            event.name_id = Some(request.name_id.value.clone());
            let key = format!("slo-request\u{1f}{}\u{1f}{}", request.issuer, request.id);
            if !self
                .replay
                .insert_if_absent(slug, &key, request.replay_until, now)
                .await?
            {
                return Err(Error::ReplayedLogoutRequest {
                    issuer: request.issuer.clone(),
                    id: request.id.clone(),
                });
            }
            let (status, ended) = match sessions.end_sessions(slug, &request).await {
                Ok(n) => (LogoutStatus::Success, n),
                Err(e) => {
                    // The app's error stays here (in the log); the IdP gets a fixed message.
                    tracing::warn!(
                        target: "saml_sp::login",
                        tenant = slug,
                        request_id = request.id.as_str(),
                        error_detail = e.0.as_str(),
                        "saml logout_requested: the app could not end the sessions: {}",
                        e.0
                    );
                    (
                        LogoutStatus::Failed {
                            code: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
                            sub_code: None,
                            message: Some("the service provider could not end the session".into()),
                        },
                        0,
                    )
                }
            };
            let response = sp.logout_response(&request.id, &status, now)?;
            let signing = sp.signing_key().ok_or(Error::Config {
                field: "sp_signing_key",
                reason: "logout messages are signed: configure the SP's signing key".into(),
            })?;
            let redirect_url = response.redirect_url(request.relay_state.as_deref(), signing)?;
            Ok(LogoutReply {
                redirect_url,
                status,
                sessions_ended: ended,
                request,
            })
        }
        .await;
        finish_event(&mut event, &result, self.audit.as_deref());
        result
    }

    /// A tenant for logout: disabled tenants still log out.
    fn tenant(&self, slug: &str) -> Result<Arc<Tenant>, Error> {
        self.apply_sp_keys(self.clock.now());
        self.registry
            .by_slug(slug)
            .ok_or_else(|| Error::UnknownTenant {
                found: slug.to_owned(),
            })
    }
}

/// What [`Acs::start_login`] keeps server-side under the RelayState token until the Response
/// arrives: the AuthnRequest ID, the digest of the starting browser's binding, and the local
/// path to return to.
#[derive(Debug, Clone, PartialEq, Eq)]
/// How a Response reaches the ACS.
enum Incoming<'a> {
    /// The HTTP-POST binding's base64 `SAMLResponse`.
    Post(&'a str),
    /// The HTTP-Artifact binding's `SAMLart`.
    Artifact(&'a str),
}

struct PendingLogin {
    request_id: String,
    browser: String,
    return_to: String,
    step_up: Option<super::StepUp>,
}

/// The first line of every pending-login record: a record of another kind (or an older format)
/// never decodes as one. `login-v3` records carry a step-up requirement on a fifth line.
const PENDING_LOGIN_TAG: &str = "login-v2";
const PENDING_STEP_UP_TAG: &str = "login-v3";

impl PendingLogin {
    /// Tag, request ID, browser digest, return path (and step-up), one per line (none contains
    /// a line feed: the ID and digest are ours, the path passed `safe_return_path`, the step-up
    /// class references were checked for white space).
    fn encode(&self) -> String {
        match &self.step_up {
            None => format!(
                "{PENDING_LOGIN_TAG}\n{}\n{}\n{}",
                self.request_id, self.browser, self.return_to
            ),
            Some(s) => format!(
                "{PENDING_STEP_UP_TAG}\n{}\n{}\n{}\n{}",
                self.request_id,
                self.browser,
                self.return_to,
                s.encode()
            ),
        }
    }
    fn decode(record: &str) -> Result<PendingLogin, Error> {
        let mut lines = record.splitn(5, '\n');
        let parsed = match (
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
            lines.next(),
        ) {
            (Some(PENDING_LOGIN_TAG), Some(id), Some(browser), Some(path), None) => {
                Some((id, browser, path, None))
            }
            (Some(PENDING_STEP_UP_TAG), Some(id), Some(browser), Some(path), Some(step)) => {
                // A requirement that does not decode fails closed: no login without it.
                super::StepUp::decode(step).map(|s| (id, browser, path, Some(s)))
            }
            _ => None,
        };
        match parsed {
            Some((id, browser, path, step_up)) => Ok(PendingLogin {
                request_id: id.to_owned(),
                browser: browser.to_owned(),
                return_to: safe_return_path(path).unwrap_or("/").to_owned(),
                step_up,
            }),
            None => Err(Error::StoreUnavailable(
                crate::store::StoreError::Unavailable(
                    "the request store returned a record that is not a pending login".into(),
                ),
            )),
        }
    }
}

/// The request-store key of a pending login (its RelayState token). Logins and logouts have
/// separate key spaces: neither kind of record can be taken as the other.
fn login_key(token: &str) -> String {
    format!("login\u{1f}{token}")
}

/// The request-store key of a pending SP-initiated logout (its LogoutRequest ID).
fn logout_key(request_id: &str) -> String {
    format!("logout\u{1f}{request_id}")
}

fn finish_event<T>(
    event: &mut AuditEvent,
    result: &Result<T, Error>,
    sink: Option<&dyn AuditSink>,
) {
    match result {
        Ok(_) => event.outcome = Outcome::Success,
        Err(e) => {
            event.error_code = Some(e.code());
            event.error_detail = Some(e.to_string());
        }
    }
    emit(event, sink);
}

/// Where to send the browser to log out at the IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutStart {
    /// The IdP URL carrying the signed LogoutRequest (HTTP-Redirect).
    pub redirect_url: String,
    /// The LogoutRequest ID.
    pub request_id: String,
}

/// A finished SP-initiated logout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutDone {
    /// What the IdP reports (partial logouts are not hidden).
    pub status: LogoutStatus,
    /// The local path given to [`Acs::start_logout`].
    pub return_to: String,
}

/// The answer to an IdP-initiated logout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutReply {
    /// The IdP URL carrying the signed LogoutResponse (HTTP-Redirect): redirect the browser.
    pub redirect_url: String,
    /// The status sent.
    pub status: LogoutStatus,
    /// How many sessions the app reported ended.
    pub sessions_ended: usize,
    /// The validated request.
    pub request: crate::logout::ReceivedLogoutRequest,
}

/// Whether validation failed because no configured certificate holds the signing key (as
/// opposed to a broken or tampered signature): the case a metadata fetch can cure.
fn signed_by_unknown_key(e: &Error) -> bool {
    matches!(
        e,
        Error::UntrustedKey { .. } | Error::SignatureInvalid { .. }
    )
}
