//! Domain verification: an organization proves it controls an email domain by publishing a TXT
//! record `saml-sp-verification=<token>` at `_saml-sp-verification.<domain>`. Only verified
//! domains are used for discovery and enforcement. The look-up goes through [`TxtResolver`];
//! [`DnsResolver`] (feature `dns`) is the real one, on hickory-resolver.

use std::future::Future;
use std::pin::Pin;

use crate::error::Error;

/// The boxed future [`TxtResolver::txt`] returns.
pub type TxtFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, Error>> + Send + 'a>>;

/// Looks up TXT records.
pub trait TxtResolver: Send + Sync {
    /// The TXT strings at `name` (a fully qualified name); empty when there are none.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] when the DNS cannot be asked.
    fn txt<'a>(&'a self, name: &'a str) -> TxtFuture<'a>;
}

/// The name the TXT record is published at for `domain`.
pub fn verification_name(domain: &str) -> String {
    format!("_saml-sp-verification.{domain}.")
}

/// Whether `records` hold the verification value for `token` (an exact record).
pub(crate) fn holds_token(records: &[String], token: &str) -> bool {
    let want = format!("saml-sp-verification={token}");
    records.iter().any(|r| r.trim() == want)
}

/// The system's DNS, or a given name server, through hickory-resolver.
#[cfg(feature = "dns")]
pub struct DnsResolver {
    inner: hickory_resolver::TokioResolver,
}

#[cfg(feature = "dns")]
impl std::fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsResolver").finish_non_exhaustive()
    }
}

#[cfg(feature = "dns")]
impl DnsResolver {
    /// The system's resolver configuration (`/etc/resolv.conf`).
    ///
    /// # Errors
    /// [`Error::Config`] when the system configuration cannot be read.
    pub fn system() -> Result<Self, Error> {
        let builder = hickory_resolver::Resolver::builder_tokio().map_err(|e| Error::Config {
            field: "dns",
            reason: format!("cannot read the system's resolver configuration: {e}"),
        })?;
        Ok(DnsResolver {
            inner: builder.build(),
        })
    }

    /// Asks only the name server at `server` (UDP and TCP), with a 5-second timeout.
    pub fn with_name_server(server: std::net::SocketAddr) -> Self {
        use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
        let group = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
        let config = ResolverConfig::from_parts(None, vec![], group);
        let mut opts = ResolverOpts::default();
        opts.timeout = std::time::Duration::from_secs(5);
        opts.attempts = 1;
        opts.cache_size = 0;
        DnsResolver {
            inner: hickory_resolver::Resolver::builder_with_config(
                config,
                hickory_resolver::name_server::TokioConnectionProvider::default(),
            )
            .with_options(opts)
            .build(),
        }
    }
}

#[cfg(feature = "dns")]
impl TxtResolver for DnsResolver {
    fn txt<'a>(&'a self, name: &'a str) -> TxtFuture<'a> {
        Box::pin(async move {
            match self.inner.txt_lookup(name).await {
                Ok(lookup) => Ok(lookup
                    .iter()
                    .map(|r| {
                        r.txt_data()
                            .iter()
                            .map(|d| String::from_utf8_lossy(d).into_owned())
                            .collect::<String>()
                    })
                    .collect()),
                Err(e) if e.is_no_records_found() => Ok(Vec::new()),
                Err(e) => Err(Error::StoreUnavailable(
                    crate::store::StoreError::Unavailable(format!("DNS look-up of {name}: {e}")),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_record_counts() {
        let records = vec![
            "v=spf1 -all".to_owned(),
            " saml-sp-verification=abc ".to_owned(),
        ];
        assert!(holds_token(&records, "abc"));
        assert!(!holds_token(&records, "ab"));
        assert!(!holds_token(
            &["saml-sp-verification=abcd".to_owned()],
            "abc"
        ));
        assert_eq!(
            verification_name("acme.example"),
            "_saml-sp-verification.acme.example."
        );
    }
}
