//! The SP's HTTP endpoints, written once on the `http` crate's types (feature `web`), with thin
//! framework adapters (`axum`, `actix`, `hyper`): login start, the ACS, SP metadata, Single Logout, sign-out, and
//! error pages that show a user-safe message and the stable code (the detail goes to the audit
//! log). An app supplies its tenant configuration, its [`Provisioner`] and where to go after
//! login.
//!
//! | route (under the prefix, default `/saml`) | what |
//! |---|---|
//! | `GET login?email=...&return_to=/path` | starts a login (IdP discovery by email; else the default tenant) |
//! | `POST acs` | the ACS: validates, provisions, starts a fresh session, 303 to the return path |
//! | `GET metadata` | SP metadata (entity ID, ACS, SLO, signing and encryption certificates) |
//! | `GET slo` | Single Logout: the IdP's LogoutResponse or LogoutRequest |
//! | `POST logout` | ends the session, and at the IdP when it has an SLO endpoint |
//!
//! With several tenants (no default tenant), each route takes the tenant first:
//! `/saml/{tenant}/acs`, and so on.
//!
//! Defaults: ACS bodies up to 1 MiB (real responses with many groups run to hundreds of KiB);
//! the client address is the connection's peer, and `X-Forwarded-For` is read only when the peer
//! is one of [`WebSettings::trusted_proxies`]; the session cookie is `HttpOnly`, `SameSite=Lax`,
//! `Secure` when the base URL is https, and a new token is issued at every login (no fixation).

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "axum")]
pub mod axum;
mod discover;
mod health;
#[cfg(feature = "hyper")]
pub mod hyper;
mod session;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql_sessions;
#[cfg(feature = "postgres")]
pub use sql_sessions::PgSessions;
#[cfg(feature = "sqlite")]
pub use sql_sessions::SqliteSessions;

#[cfg(any(feature = "tower-sessions", feature = "actix-session"))]
pub use session::{CrateSessions, SESSION_KEY};
pub use session::{
    MemorySessions, NewSession, Revocations, SessionBackend, SessionContext, clear_cookie_header,
    session_cookie_header,
};
#[cfg(feature = "tower-sessions")]
pub mod tower_sessions;

use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, Method, Response, StatusCode, header};

use crate::error::Error;
use crate::login::acs::Acs;
use crate::login::audit::AuditContext;
use crate::login::browser::is_login_token;
use crate::login::provision::Provisioner;
use crate::login::{BrowserBinding, safe_return_path};
use crate::logout::{IncomingLogout, SessionRecord};
use crate::metadata::SpMetadata;

/// How the endpoints are mounted and behave.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebSettings {
    /// The path prefix of the SAML routes (default `/saml`).
    pub prefix: String,
    /// The tenant used when a route names none (single-IdP apps); `None` puts the tenant in
    /// the path.
    pub default_tenant: Option<String>,
    /// The largest ACS body read (default 1 MiB).
    pub max_body: usize,
    /// Proxies whose `X-Forwarded-For` is believed (default none).
    pub trusted_proxies: Vec<IpAddr>,
    /// Where to go after login when the login named no return path (default `/`).
    pub after_login: String,
    /// The session cookie's name (default `saml_session`).
    pub cookie: String,
    /// The login-binding cookie's name (default `saml_login`; `__Host-saml_login` when the
    /// cookies are `Secure`): the [`BrowserBinding`] that ties a pending login to this browser.
    pub login_cookie: String,
    /// Whether the cookies are `Secure`. `None` (the default) derives it when [`SamlWeb::new`]
    /// is called: `Secure` when the SP's ACS URL is https.
    pub secure_cookie: Option<bool>,
    /// Named step-up requirements (`login?step_up=<name>` starts a login that must satisfy
    /// it; [`SamlWeb::satisfies`] tells whether the current session already does).
    pub step_ups: Vec<(String, crate::login::StepUp)>,
}

impl WebSettings {
    /// Settings for a single-IdP app whose tenant is `tenant`.
    pub fn single_tenant(tenant: impl Into<String>) -> Self {
        WebSettings {
            prefix: "/saml".into(),
            default_tenant: Some(tenant.into()),
            max_body: 1 << 20,
            trusted_proxies: Vec::new(),
            after_login: "/".into(),
            cookie: "saml_session".into(),
            login_cookie: "saml_login".into(),
            secure_cookie: None,
            step_ups: Vec::new(),
        }
    }
    /// A named step-up requirement: `{prefix}/login?step_up=<name>` (the route's `return_to`
    /// as usual) starts a login that must come back satisfying it.
    #[must_use]
    pub fn step_up(mut self, name: impl Into<String>, requirement: crate::login::StepUp) -> Self {
        self.step_ups.push((name.into(), requirement));
        self
    }
    /// Settings for a multi-tenant app (the tenant in each route's path).
    pub fn multi_tenant() -> Self {
        WebSettings {
            default_tenant: None,
            ..WebSettings::single_tenant("")
        }
    }
    /// The path prefix (for example `/sso`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
    /// The largest ACS body read.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
    /// A proxy whose `X-Forwarded-For` is believed for the client address.
    #[must_use]
    pub fn trust_proxy(mut self, addr: IpAddr) -> Self {
        self.trusted_proxies.push(addr);
        self
    }
    /// Where to go after login.
    #[must_use]
    pub fn after_login(mut self, path: impl Into<String>) -> Self {
        self.after_login = path.into();
        self
    }
    /// Whether the cookies are `Secure`, overriding what the ACS URL's scheme implies.
    #[must_use]
    pub fn secure_cookie(mut self, yes: bool) -> Self {
        self.secure_cookie = Some(yes);
        self
    }

    /// Whether the cookies are `Secure` (as resolved by [`SamlWeb::new`]; `false` before).
    pub fn is_secure(&self) -> bool {
        self.secure_cookie == Some(true)
    }

    /// The login-binding cookie's name as sent: with the `__Host-` prefix when `Secure` (so no
    /// sibling subdomain can plant one).
    pub fn login_cookie_name(&self) -> String {
        if self.is_secure() && !self.login_cookie.starts_with("__Host-") {
            format!("__Host-{}", self.login_cookie)
        } else {
            self.login_cookie.clone()
        }
    }
}

/// The SP's endpoints over an [`Acs`] and a [`SessionBackend`]. Share it as `Arc<SamlWeb<..>>`.
pub struct SamlWeb<P: Provisioner, S> {
    acs: Arc<Acs<P>>,
    sessions: Arc<S>,
    settings: WebSettings,
    chooser: Option<Arc<crate::login::Chooser>>,
    #[cfg(feature = "admin")]
    profile_tests: Option<ProfileTests>,
}

/// Test logins of SSO profiles finished at the ACS (feature `admin`).
#[cfg(feature = "admin")]
#[derive(Clone)]
struct ProfileTests {
    service: Arc<crate::profile::ProfileService>,
    authorizer: Arc<dyn admin::AdminAuthorizer>,
    after_test: String,
}

impl<P: Provisioner, S> std::fmt::Debug for SamlWeb<P, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlWeb")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The client address: the connection's peer, or, when the peer is a trusted proxy, the
/// `X-Forwarded-For` entry found by walking from the right past trusted proxies: the first entry
/// that is not a trusted proxy. Entries may carry a port (`1.2.3.4:5555`, `[2001:db8::1]:443`).
/// The walk stops at an entry that does not parse (`unknown`, garbage): nothing left of it can
/// be believed, so the address is the last trusted hop's view, the entry's right neighbour (or
/// the peer).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    let mut client = peer;
    // At most 64 hops are looked at: a longer header is a forgery beyond the trusted proxies.
    for entry in entries.into_iter().rev().take(64) {
        let Some(addr) = forwarded_addr(entry) else {
            return client;
        };
        if !trusted.contains(&addr) {
            return addr;
        }
        client = addr;
    }
    client
}

/// One `X-Forwarded-For` entry's address: `ip`, `ipv4:port`, `[ipv6]` or `[ipv6]:port`.
fn forwarded_addr(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(a) = e.parse::<IpAddr>() {
        return Some(a);
    }
    if let Ok(sa) = e.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    e.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|a| a.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// Whether a state-changing request comes from the app's own origin (CSRF defence for
/// `POST logout`): `Sec-Fetch-Site` of `same-origin` (or `none`, typed by the user) when the
/// browser sends it; otherwise an `Origin` whose host is the request's `Host`; a request with
/// neither header is not a browser's cross-site request and passes.
fn same_origin_request(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match text("origin") {
        None => true,
        Some(origin) => {
            let host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .filter(|_| origin != "null");
            host.is_some_and(|h| text("host").is_some_and(|own| own.eq_ignore_ascii_case(h)))
        }
    }
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn field(src: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(src)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An HTML page of the web layer's own (error and status pages: no script, no styles loaded).
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
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    r
}

/// The browser step of a binding: a 303, or the auto-submitting page under its CSP (never cached).
pub fn navigate(step: &crate::binding::Navigation) -> Response<String> {
    match step {
        crate::binding::Navigation::Post(page) => {
            let mut r = html(StatusCode::OK, page.html.clone());
            if let Ok(v) = http::HeaderValue::from_str(&page.content_security_policy) {
                r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            r
        }
        crate::binding::Navigation::Redirect(url) => redirect(url),
    }
}

fn redirect(to: &str) -> Response<String> {
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = http::HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The error page of a sign-in: status from [`Error::kind`], the user-safe message and the
/// stable code.
pub fn error_page(e: &Error) -> Response<String> {
    failure_page("Sign-in failed", e.user_message(), e)
}

/// The error page of a sign-out (Single Logout), in sign-out words.
pub fn logout_error_page(e: &Error) -> Response<String> {
    let message = match e.kind() {
        crate::error::ErrorKind::Configuration => {
            "Single logout is not configured correctly. An administrator can find the details in the log."
        }
        crate::error::ErrorKind::Unavailable => {
            "Sign-out is unavailable for a moment. Try again shortly."
        }
        _ => "The sign-out message was refused. An administrator can find the details in the log.",
    };
    failure_page("Sign-out failed", message, e)
}

fn failure_page(title: &str, message: &str, e: &Error) -> Response<String> {
    let status = StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::FORBIDDEN);
    html(
        status,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1><p id=\"message\">{}</p><p>Code: <code id=\"code\">{}</code></p><p><a href=\"/\">Back</a></p></body></html>",
            crate::xml::escape_text(message),
            e.code()
        ),
    )
}

/// The common case in one call: one IdP from its metadata file, in-memory stores and sessions.
impl<F, Fut, U> SamlWeb<crate::login::ProvisionFn<F>, MemorySessions<U>>
where
    F: Fn(String, crate::login::SamlIdentity) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<U, crate::login::ProvisionError>> + Send,
    U: Clone + Send + Sync + 'static,
{
    /// An app at `base_url` (its public URL, `https://app.example.com`) signing users in from the
    /// one IdP whose metadata is in the file `idp_metadata`, with `provision` turning a verified
    /// identity into the app's user. Routes under `/saml` (entity ID `{base_url}/saml/metadata`,
    /// ACS `{base_url}/saml/acs`), in-memory request store, replay cache and sessions, the
    /// cookie `Secure` when `base_url` is https.
    ///
    /// # Errors
    /// [`Error::Config`] for an unreadable file or a bad URL; metadata errors.
    pub fn from_idp_metadata_file(
        base_url: &str,
        idp_metadata: impl AsRef<std::path::Path>,
        provision: F,
    ) -> Result<Self, Error> {
        Self::build_simple(base_url, idp_metadata.as_ref(), None, provision)
    }

    /// As [`SamlWeb::from_idp_metadata_file`], with the SP's own key and certificate (PEM): the
    /// SP signs its logout messages (and AuthnRequests when the IdP wants them signed), decrypts
    /// encrypted assertions, and publishes Single Logout and both certificates in its metadata.
    /// Without a key, Single Logout cannot be completed (its messages are signed), so the SP
    /// metadata does not offer it and sign-out ends only the app's session.
    ///
    /// # Errors
    /// As [`SamlWeb::from_idp_metadata_file`]; [`Error::Config`] for a key or certificate that
    /// does not parse or does not match.
    pub fn from_idp_metadata_file_with_sp_key(
        base_url: &str,
        idp_metadata: impl AsRef<std::path::Path>,
        sp_key_pem: &str,
        sp_certificate_pem: &str,
        provision: F,
    ) -> Result<Self, Error> {
        let cert = crate::crypto::Certificate::parse(sp_certificate_pem.as_bytes())?;
        let signing = crate::crypto::SigningKey::from_pem(sp_key_pem, Some(cert.clone()))?;
        let decryption =
            crate::xmlenc::DecryptionKey::from_pem(sp_key_pem)?.with_certificate(cert)?;
        Self::build_simple(
            base_url,
            idp_metadata.as_ref(),
            Some((signing, decryption)),
            provision,
        )
    }

    fn build_simple(
        base_url: &str,
        path: &std::path::Path,
        sp_key: Option<(crate::crypto::SigningKey, crate::xmlenc::DecryptionKey)>,
        provision: F,
    ) -> Result<Self, Error> {
        let xml = std::fs::read(path).map_err(|e| Error::Config {
            field: "idp_metadata",
            reason: format!("{}: {e}", path.display()),
        })?;
        let (sp, decryption) = simple_sp_settings(base_url, sp_key)?;
        let mut tenant = crate::tenant::config::TenantConfig::from_idp_metadata(
            "default",
            &xml,
            crate::time::Clock::now(&crate::time::SystemClock),
        )?;
        if let Some(d) = decryption {
            tenant = tenant.decryption_key(d);
        }
        let registry = crate::tenant::IdpRegistry::new(sp);
        registry.insert(tenant)?;
        Ok(Self::simple(Acs::new(
            Arc::new(registry),
            Arc::new(crate::store::MemoryRequestStore::default()),
            Arc::new(crate::store::MemoryReplayCache::default()),
            crate::login::ProvisionFn(provision),
        )))
    }

    /// As [`SamlWeb::from_idp_metadata_file`], with the IdP's metadata fetched from
    /// `metadata_url` by `client` (its SSRF guard: https and public addresses unless the
    /// client's `dangerous_*` options say otherwise) and kept fresh by a
    /// [`crate::refresh::MetadataRefresher`] spawned on the current tokio runtime: refreshed
    /// per `cacheDuration`, and fetched at once when a Response is signed with a key the
    /// metadata did not have yet (at most once a minute). Call it inside a tokio runtime.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL or outside a tokio runtime; the fetch or metadata error
    /// when the first fetch fails.
    #[cfg(feature = "fetch")]
    pub async fn from_idp_metadata_url(
        base_url: &str,
        metadata_url: &str,
        client: crate::refresh::MetadataClient,
        provision: F,
    ) -> Result<Self, Error> {
        let (sp, _) = simple_sp_settings(base_url, None)?;
        let registry = Arc::new(crate::tenant::IdpRegistry::new(sp));
        let refresher = Arc::new(crate::refresh::MetadataRefresher::new(
            registry.clone(),
            client,
        ));
        let template =
            crate::tenant::config::TenantConfig::new("default", metadata_url, Vec::new());
        refresher
            .watch(
                crate::refresh::MetadataSource::new(metadata_url, template),
                crate::time::Clock::now(&crate::time::SystemClock),
            )
            .await?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Config {
            field: "metadata_url",
            reason: "keeping metadata fresh needs a tokio runtime: call this inside one".into(),
        })?;
        runtime.spawn(refresher.clone().run(Arc::new(crate::time::SystemClock)));
        Ok(Self::simple(
            Acs::new(
                registry,
                Arc::new(crate::store::MemoryRequestStore::default()),
                Arc::new(crate::store::MemoryReplayCache::default()),
                crate::login::ProvisionFn(provision),
            )
            .with_key_refresh(refresher),
        ))
    }

    fn simple(acs: Acs<crate::login::ProvisionFn<F>>) -> Self {
        SamlWeb::new(
            Arc::new(acs),
            Arc::new(MemorySessions::default()),
            WebSettings::single_tenant("default"),
        )
    }
}

/// The simple constructors' SP: routes under `{base_url}/saml`, Single Logout and signing when
/// the SP has a key (and the decryption key for the tenant).
fn simple_sp_settings(
    base_url: &str,
    sp_key: Option<(crate::crypto::SigningKey, crate::xmlenc::DecryptionKey)>,
) -> Result<
    (
        crate::tenant::config::SpSettings,
        Option<crate::xmlenc::DecryptionKey>,
    ),
    Error,
> {
    let base = base_url.trim_end_matches('/');
    let mut sp = crate::tenant::config::SpSettings::new(
        format!("{base}/saml/metadata"),
        format!("{base}/saml/acs"),
    )?;
    let mut decryption = None;
    if let Some((signing, d)) = sp_key {
        sp = sp
            .single_logout_url(format!("{base}/saml/slo"))
            .signing_key(signing);
        decryption = Some(d);
    }
    Ok((sp, decryption))
}

impl<P, S> SamlWeb<P, S>
where
    P: Provisioner,
    P::User: Clone,
    S: SessionBackend<P::User>,
{
    /// The endpoints over `acs` with `sessions`. Unless `settings` say otherwise, the cookies
    /// are `Secure` when the SP's ACS URL is https.
    pub fn new(acs: Arc<Acs<P>>, sessions: Arc<S>, mut settings: WebSettings) -> Self {
        if settings.secure_cookie.is_none() {
            settings.secure_cookie = Some(acs.registry().sp_settings().is_https());
        }
        let single_logout = acs.registry().sp_settings().can_sign();
        tracing::info!(
            target: "saml_sp::web",
            prefix = settings.prefix.as_str(),
            secure_cookies = settings.is_secure(),
            single_logout,
            "saml-sp endpoints ready: login, acs, metadata{}",
            if single_logout {
                ", slo, logout (with Single Logout at the IdP)"
            } else {
                ", logout (local sign-out only: no SP signing key, so no Single Logout)"
            }
        );
        SamlWeb {
            acs,
            sessions,
            settings,
            chooser: None,
            #[cfg(feature = "admin")]
            profile_tests: None,
        }
    }

    /// Serves the built-in IdP chooser at `{prefix}/discover` (in single- and multi-tenant
    /// mounts alike): `?q=` searches `chooser`'s IdPs by name, keyword and email domain;
    /// `?entityID=` starts the login at the tenant whose IdP that is (refused for an IdP the
    /// chooser does not list or no tenant has) and remembers the choice in a cookie.
    #[must_use]
    pub fn with_chooser(mut self, chooser: Arc<crate::login::Chooser>) -> Self {
        self.chooser = Some(chooser);
        self
    }

    /// Finishes the test logins of SSO profiles at the ACS: a Response whose RelayState is a
    /// test's goes to `service` (with the administrator `authorizer` finds on the request, who
    /// must be the one who started it), signs nobody in, and the browser is sent to
    /// `after_test` with `?profile=<id>`, where the admin page reads the result.
    #[cfg(feature = "admin")]
    #[must_use]
    pub fn with_profile_tests(
        mut self,
        service: Arc<crate::profile::ProfileService>,
        authorizer: Arc<dyn admin::AdminAuthorizer>,
        after_test: impl Into<String>,
    ) -> Self {
        self.profile_tests = Some(ProfileTests {
            service,
            authorizer,
            after_test: after_test.into(),
        });
        self
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.acs.clock().now()
    }

    /// The same endpoints over another session backend, for example
    /// `SamlWeb::from_idp_metadata_file(..)?.with_sessions(TowerSessions::default())`.
    pub fn with_sessions<S2: SessionBackend<P::User>>(self, sessions: S2) -> SamlWeb<P, S2> {
        SamlWeb {
            acs: self.acs,
            sessions: Arc::new(sessions),
            settings: self.settings,
            chooser: self.chooser,
            #[cfg(feature = "admin")]
            profile_tests: self.profile_tests,
        }
    }

    /// The operator's health report as JSON (`200` healthy, `503` when the request store is
    /// unreachable or a tenant failed to load): every tenant's state and certificate expiry,
    /// `metadata` (each feed's status; with feature `fetch`,
    /// `refresher.statuses().iter().map(|s| MetadataHealth::from_status(s, now))`), the request
    /// store probed. Also sets the certificate and metadata-age gauges (feature `metrics`).
    /// It names tenants: mount it behind the app's operator authentication.
    pub async fn health(
        &self,
        metadata: &[(String, crate::ops::MetadataHealth)],
    ) -> http::Response<String> {
        let report = crate::ops::gather_health(
            self.acs.registry(),
            metadata,
            &[("requests", &**self.acs.request_store())],
            self.now(),
            chrono::Duration::days(30),
        )
        .await;
        report.record_metrics();
        health::response(&report)
    }

    /// The one-call flow.
    pub fn acs(&self) -> &Acs<P> {
        &self.acs
    }

    /// The settings.
    pub fn settings(&self) -> &WebSettings {
        &self.settings
    }

    /// The signed-in user of a request (its headers and extensions, where a session crate's
    /// middleware keeps its handle), if any.
    pub async fn user(
        &self,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) -> Option<P::User> {
        let cx = SessionContext::new(headers, extensions, &self.settings, self.now());
        self.sessions.user(cx).await
    }

    /// The session backend.
    pub fn sessions(&self) -> &S {
        &self.sessions
    }

    /// Whether `path` is one of these endpoints.
    pub fn handles(&self, path: &str) -> bool {
        path.strip_prefix(self.settings.prefix.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Serves one request to an endpoint. `peer` is the connection's address; the body must
    /// already be limited to [`WebSettings::max_body`] by the adapter (larger bodies get 413).
    pub async fn handle(&self, req: http::Request<Vec<u8>>, peer: IpAddr) -> Response<String> {
        let ip = client_ip(peer, req.headers(), &self.settings.trusted_proxies);
        let ctx = AuditContext::new().with("ip", ip.to_string());
        let Some(rest) = req.uri().path().strip_prefix(self.settings.prefix.as_str()) else {
            return html(StatusCode::NOT_FOUND, String::new());
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        if segments.as_slice() == ["discover"] && req.method() == Method::GET {
            return self.discover(&req).unwrap_or_else(|e| error_page(&e));
        }
        let (tenant, action) = match (&self.settings.default_tenant, segments.as_slice()) {
            (Some(t), [action]) => (t.clone(), *action),
            (None, [t, action]) => ((*t).to_owned(), *action),
            _ => return html(StatusCode::NOT_FOUND, String::new()),
        };
        if req.body().len() > self.settings.max_body {
            return html(StatusCode::PAYLOAD_TOO_LARGE, String::new());
        }
        let query = req.uri().query().unwrap_or("");
        match (req.method(), action) {
            (&Method::GET, "login") => self
                .login(&tenant, &req)
                .await
                .unwrap_or_else(|e| error_page(&e)),
            (&Method::POST, "acs") => self
                .finish(&tenant, &req, &ctx)
                .await
                .unwrap_or_else(|e| error_page(&e)),
            // The HTTP-Artifact binding by redirect: a top-level GET, so the SameSite=Lax
            // login-binding cookie comes along.
            (&Method::GET, "acs") => self
                .finish_artifact(&tenant, &req, query, &ctx)
                .await
                .unwrap_or_else(|e| error_page(&e)),
            (&Method::GET, "metadata") => self.metadata(&tenant).unwrap_or_else(|e| error_page(&e)),
            (&Method::GET, "slo") => {
                let msg = IncomingLogout::Redirect { query };
                let is_response = query.contains("SAMLResponse=");
                self.slo(&tenant, &msg, is_response, &ctx)
                    .await
                    .unwrap_or_else(|e| logout_error_page(&e))
            }
            (&Method::POST, "slo") => {
                let (param, value) = match (
                    field(req.body(), "SAMLRequest"),
                    field(req.body(), "SAMLResponse"),
                ) {
                    (Some(v), None) => ("SAMLRequest", v),
                    (None, Some(v)) => ("SAMLResponse", v),
                    _ => {
                        return logout_error_page(&Error::Binding(
                            "expected exactly one of SAMLRequest and SAMLResponse".into(),
                        ));
                    }
                };
                let relay_state = field(req.body(), "RelayState");
                let msg = IncomingLogout::Post {
                    param,
                    value: &value,
                    relay_state: relay_state.as_deref(),
                };
                self.slo(&tenant, &msg, param == "SAMLResponse", &ctx)
                    .await
                    .unwrap_or_else(|e| logout_error_page(&e))
            }
            (&Method::POST, "logout") => self
                .logout(&tenant, &req, &ctx)
                .await
                .unwrap_or_else(|e| logout_error_page(&e)),
            _ => html(StatusCode::NOT_FOUND, String::new()),
        }
    }

    /// The browser's login-binding secret from its cookie, if it sent a well-formed one.
    fn browser_binding(&self, headers: &HeaderMap) -> Option<BrowserBinding> {
        cookie(headers, &self.settings.login_cookie_name()).and_then(BrowserBinding::from_cookie)
    }

    /// The `Set-Cookie` value of the login-binding cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`,
    /// `Secure` (and `__Host-`) under https, kept a day so that a login started in one tab and
    /// one started in another both finish.
    fn login_cookie_header(&self, binding: &BrowserBinding) -> String {
        let secure = if self.settings.is_secure() {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400{secure}",
            self.settings.login_cookie_name(),
            binding.secret()
        )
    }

    async fn login(
        &self,
        tenant: &str,
        req: &http::Request<Vec<u8>>,
    ) -> Result<Response<String>, Error> {
        let query = req.uri().query().unwrap_or("");
        let email = field(query.as_bytes(), "email").filter(|e| !e.is_empty());
        let return_to = field(query.as_bytes(), "return_to");
        let return_to = return_to
            .as_deref()
            .and_then(safe_return_path)
            .unwrap_or(&self.settings.after_login);
        let browser = match self.browser_binding(req.headers()) {
            Some(b) => b,
            None => BrowserBinding::generate()?,
        };
        if let Some(name) = field(query.as_bytes(), "step_up") {
            let requirement = self
                .settings
                .step_ups
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s)
                .ok_or_else(|| Error::Binding("an unknown step_up requirement".into()))?;
            let start = self
                .acs
                .start_login_with_step_up(tenant, Some(return_to), &browser, requirement)
                .await?;
            let mut reply = navigate(&start.navigation);
            if let Ok(v) = http::HeaderValue::from_str(&self.login_cookie_header(&browser)) {
                reply.headers_mut().append(header::SET_COOKIE, v);
            }
            return Ok(reply);
        }
        // On a tenant's own route the tenant in the path decides; email discovery is for the
        // route that names no tenant (a single-tenant app's default route).
        let start = match email {
            Some(email) if self.settings.default_tenant.is_some() => match self
                .acs
                .start_login_for_email(&email, Some(return_to), &browser)
                .await
            {
                Err(Error::UnknownTenant { .. }) => {
                    self.acs
                        .start_login(tenant, Some(return_to), &browser)
                        .await?
                }
                other => other?,
            },
            _ => {
                self.acs
                    .start_login(tenant, Some(return_to), &browser)
                    .await?
            }
        };
        let mut reply = navigate(&start.navigation);
        if let Ok(v) = http::HeaderValue::from_str(&self.login_cookie_header(&browser)) {
            reply.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(reply)
    }

    async fn finish(
        &self,
        tenant: &str,
        req: &http::Request<Vec<u8>>,
        ctx: &AuditContext,
    ) -> Result<Response<String>, Error> {
        let saml_response = field(req.body(), "SAMLResponse").unwrap_or_default();
        let relay_state = field(req.body(), "RelayState");
        let browser = self.browser_binding(req.headers());
        // The IdP's cross-site POST does not carry the SameSite=Lax login-binding cookie. For a
        // Response to an SP-initiated login, answer it with a page that posts the same form
        // again from this origin (same-site: the cookie comes along), once.
        let resumed = field(req.body(), CONTINUE_FIELD).is_some();
        #[cfg(feature = "admin")]
        if let (Some(tests), Some(relay)) = (&self.profile_tests, relay_state.as_deref())
            && crate::profile::is_test_relay_state(relay)
        {
            if !resumed {
                // Same-site again, so the administrator's session comes along.
                return Ok(self.repost(req, &saml_response, relay));
            }
            let admin = tests
                .authorizer
                .administrator(req.headers(), req.extensions())
                .ok_or_else(|| Error::LoginBrowserMismatch {
                    found: "a test login posted without the administrator's session".into(),
                })?;
            tests
                .service
                .finish_test(tenant, &saml_response, relay, &admin)
                .await?;
            return Ok(redirect(&format!(
                "{}?profile={}",
                tests.after_test,
                form_urlencoded::byte_serialize(tenant.as_bytes()).collect::<String>()
            )));
        }
        if browser.is_none() && !resumed && relay_state.as_deref().is_some_and(is_login_token) {
            return Ok(self.repost(
                req,
                &saml_response,
                relay_state.as_deref().unwrap_or_default(),
            ));
        }
        let done = self
            .acs
            .finish_login(
                tenant,
                &saml_response,
                relay_state.as_deref(),
                browser.as_ref(),
                ctx,
            )
            .await?;
        self.signed_in(req, done).await
    }

    /// Whether the request's session satisfies the named step-up requirement (its
    /// authentication context and age, as the login recorded them). A route that needs it
    /// sends the browser to `{prefix}/login?step_up=<name>&return_to=<the route>` when this is
    /// `false`. `false` without a session, without its SAML record (a backend that keeps none),
    /// or for an unknown name.
    pub async fn satisfies(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
        step_up: &str,
    ) -> bool {
        let Some((_, requirement)) = self.settings.step_ups.iter().find(|(n, _)| n == step_up)
        else {
            return false;
        };
        let now = self.now();
        let cx = SessionContext::new(headers, extensions, &self.settings, now);
        let Some(record) = self.sessions.peek(cx).await else {
            return false;
        };
        let skew = self
            .acs
            .registry()
            .by_issuer(&record.issuer)
            .map_or(chrono::Duration::minutes(3), |t| {
                t.service_provider().policy().clock_skew_value()
            });
        requirement
            .check(
                record.authn_context.as_deref(),
                record.authn_instant,
                now,
                skew,
            )
            .is_ok()
    }

    /// The chooser page, or a choice made on it.
    fn discover(&self, req: &http::Request<Vec<u8>>) -> Result<Response<String>, Error> {
        let chooser = self.chooser.as_ref().ok_or_else(|| Error::Config {
            field: "chooser",
            reason: "no IdP chooser is configured (SamlWeb::with_chooser)".into(),
        })?;
        let params = crate::binding::params::parse_params(req.uri().query().unwrap_or(""))?;
        let get = |name: &str| {
            params
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.clone())
        };
        let action = format!("{}/discover", self.settings.prefix);
        if let Some(entity) = get("entityID") {
            let slug = discover::tenant_for(chooser, self.acs.registry(), &entity)?;
            let login = match &self.settings.default_tenant {
                Some(_) => format!("{}/login", self.settings.prefix),
                None => format!("{}/{slug}/login", self.settings.prefix),
            };
            return Ok(discover::go(
                &login,
                &discover::remember(&entity, self.settings.is_secure()),
            ));
        }
        Ok(discover::page(
            chooser,
            req.headers(),
            discover::remembered(req.headers()).as_deref(),
            &get("q").unwrap_or_default(),
            &action,
        ))
    }

    /// `GET` at the ACS with `SAMLart` (and `RelayState`): the artifact resolved, then the same
    /// as a POSTed Response.
    async fn finish_artifact(
        &self,
        tenant: &str,
        req: &http::Request<Vec<u8>>,
        query: &str,
        ctx: &AuditContext,
    ) -> Result<Response<String>, Error> {
        let params = crate::binding::params::parse_params(query)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.clone())
        };
        let samlart = get("SAMLart")
            .ok_or_else(|| Error::Binding("a GET at the ACS without SAMLart".into()))?;
        let relay_state = get("RelayState");
        let browser = self.browser_binding(req.headers());
        let done = self
            .acs
            .finish_login_artifact(
                tenant,
                &samlart,
                relay_state.as_deref(),
                browser.as_ref(),
                ctx,
            )
            .await?;
        self.signed_in(req, done).await
    }

    /// A verified login: a fresh session, and on to where the login was going.
    async fn signed_in(
        &self,
        req: &http::Request<Vec<u8>>,
        done: crate::login::acs::LoginSuccess<P::User>,
    ) -> Result<Response<String>, Error> {
        let mut reply = redirect(&done.return_to);
        let now = self.now();
        let cx = SessionContext::new(req.headers(), req.extensions(), &self.settings, now);
        let session = NewSession {
            saml: SessionRecord::from_assertion(&done.assertion),
            expires: done.assertion.session_not_on_or_after(),
            user: done.user,
        };
        self.sessions
            .begin(cx, session, reply.headers_mut())
            .await?;
        Ok(reply)
    }

    /// A page that posts the ACS form again from this origin (same-site: the browser's cookies
    /// come along), once.
    fn repost(
        &self,
        req: &http::Request<Vec<u8>>,
        saml_response: &str,
        relay_state: &str,
    ) -> Response<String> {
        let fields = [
            ("SAMLResponse", saml_response),
            ("RelayState", relay_state),
            (CONTINUE_FIELD, "1"),
        ];
        let mut page = crate::binding::post::post_fields(req.uri().path(), &fields);
        page.content_security_policy
            .push_str("; form-action 'self'");
        navigate(&crate::binding::Navigation::Post(page))
    }

    fn metadata(&self, tenant: &str) -> Result<Response<String>, Error> {
        // A key published since the last request is in the metadata from its publication on.
        self.acs.registry().apply_sp_keys(self.now())?;
        let t = self
            .acs
            .registry()
            .by_slug(tenant)
            .ok_or_else(|| Error::UnknownTenant {
                found: tenant.to_owned(),
            })?;
        let sp = t.service_provider();
        let mut md = SpMetadata::new(sp.entity_id(), sp.acs_url());
        // Single Logout only when it can be completed: its messages are signed.
        if let Some(u) = sp.slo_url().filter(|_| sp.signing_key().is_some()) {
            md = md.single_logout_service(u);
        }
        if let Some(c) = sp.signing_key().and_then(|k| k.certificate()) {
            md = md.signing_certificate(c.clone());
        }
        // A key rollover's next (or retiring) key: IdPs learn it before it signs.
        for c in sp.published_certificates() {
            md = md.signing_certificate(c.clone());
        }
        let mut encryption: Vec<&crate::crypto::Certificate> = Vec::new();
        for c in sp.decryption_keys().iter().filter_map(|k| k.certificate()) {
            if !encryption
                .iter()
                .any(|e| e.fingerprint_hex() == c.fingerprint_hex())
            {
                encryption.push(c);
            }
        }
        for c in encryption {
            md = md.encryption_certificate(c.clone());
        }
        let mut r = Response::new(md.to_xml());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/samlmetadata+xml"),
        );
        Ok(r)
    }

    async fn slo(
        &self,
        tenant: &str,
        msg: &IncomingLogout<'_>,
        is_response: bool,
        ctx: &AuditContext,
    ) -> Result<Response<String>, Error> {
        if is_response {
            let done = self.acs.finish_logout(tenant, msg, ctx).await?;
            Ok(redirect(&done.return_to))
        } else {
            let reply = self
                .acs
                .handle_logout_request(tenant, msg, &*self.sessions, ctx)
                .await?;
            Ok(redirect(&reply.redirect_url))
        }
    }

    /// Sign-out (`POST logout`): only from the app's own pages (a cross-site form cannot sign a
    /// user out), through the tenant whose IdP signed the session in, never another route's.
    async fn logout(
        &self,
        tenant: &str,
        req: &http::Request<Vec<u8>>,
        ctx: &AuditContext,
    ) -> Result<Response<String>, Error> {
        if !same_origin_request(req.headers()) {
            return Err(Error::CrossSiteRequest {
                found: req
                    .headers()
                    .get("sec-fetch-site")
                    .or_else(|| req.headers().get(header::ORIGIN))
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect(),
            });
        }
        let mut reply = redirect("/");
        let cx = SessionContext::new(req.headers(), req.extensions(), &self.settings, self.now());
        // The session's tenant: the one whose IdP issued its assertion.
        if let Some(record) = self.sessions.peek(cx).await {
            let session_tenant = self.acs.registry().by_issuer(&record.issuer);
            if let Some(t) = &session_tenant
                && t.slug() != tenant
            {
                return Err(Error::TenantMismatch {
                    expected: t.slug().to_owned(),
                    found: tenant.to_owned(),
                });
            }
        }
        let record = self.sessions.end(cx, reply.headers_mut()).await;
        let Some(record) = record else {
            return Ok(reply);
        };
        let Some(t) = self.acs.registry().by_issuer(&record.issuer) else {
            return Ok(reply);
        };
        if t.slo_url().is_none() || t.service_provider().signing_key().is_none() {
            return Ok(reply);
        }
        // The local session has ended whatever happens next; a failure to start the IdP's
        // logout is audited (with its detail) and the user lands signed out.
        if let Ok(s) = self
            .acs
            .start_logout(t.slug(), &record, Some("/"), ctx)
            .await
            && let Ok(v) = http::HeaderValue::from_str(&s.redirect_url)
        {
            reply.headers_mut().insert(header::LOCATION, v);
        }
        Ok(reply)
    }
}

/// The hidden field of the ACS's own re-post (see [`SamlWeb::handle`]'s ACS step).
const CONTINUE_FIELD: &str = "SamlSpContinue";
