//! Fetching IdP metadata over https (feature `fetch`): [`MetadataClient`], a reqwest client with
//! rustls and the SSRF guard, behind the [`MetadataFetcher`] trait the refresher uses.
//!
//! Guard, by default (each relaxable only through a `dangerous_*` option):
//! - https only;
//! - every address DNS returns must be public unicast: no loopback, private, carrier-grade NAT,
//!   link-local (the cloud metadata service), unspecified, multicast or documentation address.
//!   The client connects only to the addresses it checked, so DNS rebinding between the check
//!   and the connection is impossible; a URL with an IP literal is checked before connecting;
//! - redirects followed by hand, at most 3, each re-checked (scheme, literal address, DNS);
//! - no proxy from the environment (a proxy would resolve the name where the guard cannot see);
//! - the body read in chunks up to a size limit (8 MiB, the metadata parser's own limit), a
//!   connect timeout and an overall timeout.
//!
//! ```no_run
//! # async fn f() -> Result<(), saml_sp::Error> {
//! use saml_sp::refresh::MetadataClient;
//!
//! let client = MetadataClient::builder().build()?;
//! let xml = client
//!     .fetch("https://login.microsoftonline.com/contoso.onmicrosoft.com/federationmetadata/2007-06/federationmetadata.xml")
//!     .await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::guard::GuardRules;
use crate::error::Error;

/// Something that fetches a metadata document (the refresher's only I/O). [`MetadataClient`] is
/// the https implementation; tests and apps with their own HTTP stack may supply another.
pub trait MetadataFetcher: Send + Sync {
    /// The document at `url`.
    ///
    /// # Errors
    /// [`Error::MetadataFetch`] or [`Error::MetadataUrlForbidden`].
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Error>> + Send + 'a>>;

    /// The document at `url` written to the file `path` (a federation aggregate, too large to
    /// hold in memory); returns its size. The default fetches into memory and writes the file.
    ///
    /// # Errors
    /// As [`MetadataFetcher::fetch`]; [`Error::MetadataFetch`] when the file cannot be written.
    fn fetch_to_file<'a>(
        &'a self,
        url: &'a str,
        path: &'a std::path::Path,
    ) -> Pin<Box<dyn Future<Output = Result<u64, Error>> + Send + 'a>> {
        Box::pin(async move {
            let body = self.fetch(url).await?;
            tokio::fs::write(path, &body)
                .await
                .map_err(|e| Error::MetadataFetch {
                    url: url.to_owned(),
                    reason: format!("cannot write {}: {e}", path.display()),
                })?;
            Ok(body.len() as u64)
        })
    }
}

/// Whether `e` is a fetch answered `404 Not Found` (an MDQ service's "no such entity").
pub(crate) fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::MetadataFetch { reason, .. } if reason.starts_with(NOT_OK) && reason.contains(" 404"))
}

/// The start of the failure reason for a status other than 200.
const NOT_OK: &str = "expected status 200, found";

/// Builder for [`MetadataClient`]: strict by default.
#[derive(Debug, Clone)]
#[must_use]
pub struct MetadataClientBuilder {
    rules: GuardRules,
    extra_roots: Vec<Vec<u8>>,
    only_roots: bool,
    max_bytes: usize,
    max_aggregate_bytes: u64,
    max_redirects: usize,
    timeout: Duration,
    connect_timeout: Duration,
    identity: Option<ClientIdentity>,
}

/// A client certificate and its private key (PEM), never printed.
#[derive(Clone)]
struct ClientIdentity(Vec<u8>);

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentity([redacted])")
    }
}

/// An https client for IdP metadata with the SSRF guard (see the module documentation).
/// Cheap to clone; share one per app.
#[derive(Debug, Clone)]
pub struct MetadataClient {
    http: reqwest::Client,
    rules: GuardRules,
    max_bytes: usize,
    max_aggregate_bytes: u64,
    max_redirects: usize,
    aggregate_timeout: Duration,
}

impl MetadataClient {
    /// A builder with the strict defaults: https, public addresses, 8 MiB, 3 redirects, 10 s to
    /// connect, 30 s in all, the operating system's trusted roots.
    pub fn builder() -> MetadataClientBuilder {
        MetadataClientBuilder {
            rules: GuardRules::default(),
            extra_roots: Vec::new(),
            only_roots: false,
            max_bytes: 8 << 20,
            max_aggregate_bytes: 512 << 20,
            max_redirects: 3,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            identity: None,
        }
    }
}

impl MetadataClientBuilder {
    /// Also trusts these CA certificates (PEM, one or more), beside the system's roots: an IdP
    /// behind a corporate CA.
    ///
    /// # Errors
    /// [`Error::Config`] (`metadata_ca`) when no certificate parses.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certs = crate::crypto::Certificate::parse_all(pem).map_err(|e| Error::Config {
            field: "metadata_ca",
            reason: e.to_string(),
        })?;
        self.extra_roots
            .extend(certs.iter().map(|c| c.der().to_vec()));
        Ok(self)
    }
    /// Trusts only the CA certificates added with
    /// [`MetadataClientBuilder::add_root_certificates_pem`], not the system's roots.
    pub fn only_added_roots(mut self) -> Self {
        self.only_roots = true;
        self
    }
    /// Allows `http://` metadata URLs. Dangerous: anyone on the path can replace the IdP's
    /// certificates unless the metadata is signed and verified against a pinned certificate.
    pub fn dangerous_allow_http(mut self) -> Self {
        self.rules.allow_http = true;
        self
    }
    /// Allows loopback addresses (`127.0.0.0/8`, `::1`): a test IdP on the same machine.
    /// Dangerous: a tenant's administrator can then make the server fetch from its own ports.
    pub fn dangerous_allow_loopback(mut self) -> Self {
        self.rules.allow_loopback = true;
        self
    }
    /// Allows private-network, carrier-grade NAT and link-local addresses: an IdP inside the
    /// company network. Dangerous: this includes the cloud metadata service (`169.254.169.254`).
    pub fn dangerous_allow_private_networks(mut self) -> Self {
        self.rules.allow_private = true;
        self
    }
    /// The largest metadata document read (default 8 MiB).
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }
    /// The largest federation aggregate downloaded to a file (default 512 MiB; see
    /// [`super::MetadataSource::aggregate`]). The overall time limit for such a
    /// download is ten times [`MetadataClientBuilder::timeout`].
    pub fn max_aggregate_bytes(mut self, bytes: u64) -> Self {
        self.max_aggregate_bytes = bytes;
        self
    }
    /// The most redirects followed (default 3).
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.max_redirects = n;
        self
    }
    /// The overall time limit per fetch (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    /// The connect time limit (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Presents a TLS client certificate (mutual TLS, as some IdPs require of artifact
    /// resolution): `pem` holds the certificate chain and its private key (PKCS#8, PKCS#1 or
    /// SEC1).
    ///
    /// # Errors
    /// [`Error::Config`] (`metadata_client`) when `pem` holds no certificate and key.
    pub fn client_certificate_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        reqwest::Identity::from_pem(pem).map_err(|e| Error::Config {
            field: "metadata_client",
            reason: format!("the client certificate: {e}"),
        })?;
        self.identity = Some(ClientIdentity(pem.to_vec()));
        Ok(self)
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] (`metadata_client`) when the TLS configuration cannot be built.
    pub fn build(self) -> Result<MetadataClient, Error> {
        let bad = |e: &dyn std::fmt::Display| Error::Config {
            field: "metadata_client",
            reason: e.to_string(),
        };
        let mut roots = Vec::new();
        for der in &self.extra_roots {
            roots.push(reqwest::Certificate::from_der(der).map_err(|e| bad(&e))?);
        }
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!self.rules.allow_http)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("saml-sp/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { rules: self.rules }));
        if let Some(ClientIdentity(pem)) = &self.identity {
            b = b.identity(reqwest::Identity::from_pem(pem).map_err(|e| bad(&e))?);
        }
        b = if self.only_roots {
            b.tls_certs_only(roots)
        } else if roots.is_empty() {
            b
        } else {
            b.tls_certs_merge(roots)
        };
        Ok(MetadataClient {
            http: b.build().map_err(|e| bad(&e))?,
            rules: self.rules,
            max_bytes: self.max_bytes,
            max_aggregate_bytes: self.max_aggregate_bytes,
            max_redirects: self.max_redirects,
            aggregate_timeout: self.timeout * 10,
        })
    }
}

/// Resolves names, then refuses the whole answer when any address is not allowed (a mixed
/// answer is how rebinding attacks hide the internal address).
struct GuardedResolver {
    rules: GuardRules,
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .take(32)
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused(format!("{host} has no address"))) as _);
            }
            for a in &addrs {
                if let Some(why) = rules.refuse_address(a.ip()) {
                    return Err(
                        Box::new(Refused(format!("{host} resolves to {why}: {}", a.ip()))) as _,
                    );
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl MetadataClient {
    /// Checks scheme and IP literal of `url` (names are checked when resolved).
    fn check_url(&self, url: &reqwest::Url) -> Result<(), Error> {
        let forbidden = |reason: String| Error::MetadataUrlForbidden {
            url: url.to_string(),
            reason,
        };
        if let Some(why) = self.rules.refuse_scheme(url.scheme()) {
            return Err(forbidden(why.into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(forbidden("expected no credentials in the URL".into()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| forbidden("expected a host".into()))?;
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && let Some(why) = self.rules.refuse_address(ip)
        {
            return Err(forbidden(format!("{why}: {ip}")));
        }
        Ok(())
    }

    /// Fetches `url` under the guard.
    ///
    /// # Errors
    /// [`Error::MetadataUrlForbidden`] for a URL or redirect the guard refuses (also after DNS
    /// resolution); [`Error::MetadataFetch`] for connection, TLS, status (expected 200), size
    /// and time failures.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, Error> {
        let mut body = Vec::new();
        self.download(
            url,
            self.max_bytes as u64,
            None,
            None,
            &mut |chunk: &[u8]| {
                body.extend_from_slice(chunk);
                Ok(())
            },
        )
        .await?;
        Ok(body)
    }

    /// Fetches `url` into the file `path` chunk by chunk, up to the aggregate size limit
    /// (the document is never held in memory); returns its size.
    ///
    /// # Errors
    /// As [`MetadataClient::fetch`]; [`Error::MetadataFetch`] when the file cannot be written.
    pub async fn fetch_to_file(&self, url: &str, path: &std::path::Path) -> Result<u64, Error> {
        use std::io::Write as _;
        let io = |e: std::io::Error| Error::MetadataFetch {
            url: url.to_owned(),
            reason: format!("cannot write {}: {e}", path.display()),
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        let mut written = 0u64;
        self.download(
            url,
            self.max_aggregate_bytes,
            Some(self.aggregate_timeout),
            None,
            &mut |chunk: &[u8]| {
                written += chunk.len() as u64;
                file.write_all(chunk).map_err(io)
            },
        )
        .await?;
        file.flush().map_err(io)?;
        Ok(written)
    }

    async fn download(
        &self,
        url: &str,
        max: u64,
        timeout: Option<std::time::Duration>,
        soap: Option<&str>,
        sink: &mut (dyn FnMut(&[u8]) -> Result<(), Error> + Send),
    ) -> Result<(), Error> {
        let mut current = reqwest::Url::parse(url).map_err(|e| Error::MetadataUrlForbidden {
            url: url.to_owned(),
            reason: format!("not a URL: {e}"),
        })?;
        let mut hops = 0usize;
        loop {
            self.check_url(&current)?;
            let fail = |reason: String| Error::MetadataFetch {
                url: current.to_string(),
                reason,
            };
            let mut request = match soap {
                None => self.http.get(current.clone()),
                Some(envelope) => self
                    .http
                    .post(current.clone())
                    .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
                    .header(
                        "SOAPAction",
                        "http://www.oasis-open.org/committees/security",
                    )
                    .body(envelope.to_owned()),
            };
            if let Some(t) = timeout {
                request = request.timeout(t);
            }
            let mut resp = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    // The resolver's refusal travels as the source of reqwest's error.
                    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                    while let Some(s) = source {
                        if let Some(r) = s.downcast_ref::<Refused>() {
                            return Err(Error::MetadataUrlForbidden {
                                url: current.to_string(),
                                reason: r.0.clone(),
                            });
                        }
                        source = s.source();
                    }
                    return Err(fail(describe(&e)));
                }
            };
            let status = resp.status();
            if status.is_redirection() && soap.is_some() {
                // A SOAP exchange is answered where it was sent, never somewhere else.
                return Err(fail(format!(
                    "{NOT_OK} {status} (a redirect to a SOAP request)"
                )));
            }
            if status.is_redirection() {
                hops += 1;
                if hops > self.max_redirects {
                    return Err(fail(format!(
                        "expected at most {} redirects, found more",
                        self.max_redirects
                    )));
                }
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| fail(format!("status {status} without a Location")))?;
                current = current
                    .join(location)
                    .map_err(|e| Error::MetadataUrlForbidden {
                        url: location.to_owned(),
                        reason: format!("redirect to an invalid URL: {e}"),
                    })?;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                return Err(fail(format!("{NOT_OK} {status}")));
            }
            if let Some(len) = resp.content_length()
                && len > max
            {
                return Err(fail(format!(
                    "expected at most {max} bytes, found Content-Length {len}"
                )));
            }
            let mut read = 0u64;
            while let Some(chunk) = resp.chunk().await.map_err(|e| fail(describe(&e)))? {
                read += chunk.len() as u64;
                if read > max {
                    return Err(fail(format!("expected at most {max} bytes, found more")));
                }
                sink(&chunk)?;
            }
            return Ok(());
        }
    }
}

/// reqwest's error with its sources, so "connection refused" or "invalid peer certificate" shows.
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}

impl crate::login::SoapClient for MetadataClient {
    /// POSTs the envelope under the same guard, limits and timeouts as metadata fetches; a
    /// redirect is an error.
    fn post_soap<'a>(&'a self, url: &'a str, envelope: &'a str) -> crate::login::SoapFuture<'a> {
        Box::pin(async move {
            let mut body = Vec::new();
            self.download(
                url,
                self.max_bytes as u64,
                None,
                Some(envelope),
                &mut |chunk: &[u8]| {
                    body.extend_from_slice(chunk);
                    Ok(())
                },
            )
            .await?;
            Ok(body)
        })
    }
}

impl MetadataFetcher for MetadataClient {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, Error>> + Send + 'a>> {
        Box::pin(MetadataClient::fetch(self, url))
    }
    fn fetch_to_file<'a>(
        &'a self,
        url: &'a str,
        path: &'a std::path::Path,
    ) -> Pin<Box<dyn Future<Output = Result<u64, Error>> + Send + 'a>> {
        Box::pin(MetadataClient::fetch_to_file(self, url, path))
    }
}
