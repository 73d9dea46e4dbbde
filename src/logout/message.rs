//! Receiving a logout message: binding decoding, the signature, and the checks every logout
//! message shares (element, version, ID, IssueInstant, Destination, Issuer).

use chrono::{DateTime, Utc};

use crate::binding::{InflateOptions, decode_post, decode_redirect};
use crate::crypto::SignatureAlgorithm;
use crate::dsig::{self, VerifyOptions};
use crate::error::Error;
use crate::ns::{SAML_NS, SAMLP_NS};
use crate::sp::config::SpInner;
use crate::sp::elements::{Window, check_id, check_issuer, check_version, instant};
use crate::xml::Document;

/// A logout message as the SP's Single Logout endpoint received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncomingLogout<'a> {
    /// HTTP-Redirect: the query string exactly as received (or the whole URL). Its detached
    /// signature is verified over these octets; never re-encode them.
    Redirect {
        /// The raw query (`SAMLRequest=...&RelayState=...&SigAlg=...&Signature=...`).
        query: &'a str,
    },
    /// HTTP-POST: the form field's name (`SAMLRequest` or `SAMLResponse`) and value (base64),
    /// and the `RelayState` field.
    Post {
        /// `SAMLRequest` or `SAMLResponse`.
        param: &'a str,
        /// The base64 value.
        value: &'a str,
        /// The `RelayState` field, if any.
        relay_state: Option<&'a str>,
    },
}

/// How a received logout message was signed. Every signature is verified with the IdP's
/// configured certificates only; `Unsigned` reaches the application only under
/// [`crate::sp::DangerousOptions::dangerous_allow_unsigned_logout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutSignature {
    /// HTTP-Redirect: the query signature (`SigAlg`, `Signature`) verified.
    Redirect(SignatureAlgorithm),
    /// HTTP-POST: the enveloped XML signature on the message verified.
    Post(SignatureAlgorithm),
    /// No signature.
    Unsigned,
}

impl LogoutSignature {
    /// Whether a signature verified.
    pub fn is_signed(self) -> bool {
        !matches!(self, LogoutSignature::Unsigned)
    }
}

impl std::fmt::Display for LogoutSignature {
    /// `redirect rsa-sha256`, `post rsa-sha256` or `unsigned`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogoutSignature::Redirect(a) => write!(f, "redirect {}", a.name()),
            LogoutSignature::Post(a) => write!(f, "post {}", a.name()),
            LogoutSignature::Unsigned => f.write_str("unsigned"),
        }
    }
}

/// A decoded message whose signature (when required) verified, with the shared checks done.
pub(crate) struct Verified {
    pub(crate) doc: Document,
    pub(crate) relay_state: Option<String>,
    pub(crate) id: String,
    pub(crate) issue_instant: DateTime<Utc>,
    /// How it was signed.
    pub(crate) signature: LogoutSignature,
}

/// Decodes `msg`, which must carry a `samlp:{root}` in parameter `param`, verifies its signature
/// with the configured IdP certificates only, and checks version, ID, IssueInstant (not in the
/// future, within the maximum age), Destination (the SP's Single Logout URL, required when
/// signed) and Issuer (the IdP).
pub(crate) fn receive(
    cfg: &SpInner,
    msg: &IncomingLogout<'_>,
    param: &'static str,
    root: &'static str,
    now: DateTime<Utc>,
) -> Result<Verified, Error> {
    let limits = cfg.policy.limits;
    let parse = crate::sp::elements::parse_options(cfg);
    let legacy = cfg.policy.danger.dangerous_allow_legacy_crypto;
    let (doc, relay_state, signature) = match msg {
        IncomingLogout::Redirect { query } => {
            let m = decode_redirect(
                query,
                &InflateOptions::default().with_max_output(limits.max_input_bytes),
            )?;
            if m.param != param {
                return Err(Error::Binding(format!(
                    "a {root} in the {param} parameter, found it in {}",
                    m.param
                )));
            }
            let doc = Document::parse_with(&m.xml, &parse)?;
            check_root(&doc, root)?;
            let signature = match &m.signature {
                Some(_) => match m.verify_signature(&cfg.idp.certificates, legacy)? {
                    Some(alg) => LogoutSignature::Redirect(alg),
                    None => LogoutSignature::Unsigned,
                },
                None => LogoutSignature::Unsigned,
            };
            (doc, m.relay_state.clone(), signature)
        }
        IncomingLogout::Post {
            param: p,
            value,
            relay_state,
        } => {
            if *p != param {
                return Err(Error::Binding(format!(
                    "a {root} in the {param} form field, found {p}"
                )));
            }
            let xml = decode_post(value, &limits)?;
            let doc = Document::parse_with(&xml, &parse)?;
            check_root(&doc, root)?;
            let verified = dsig::verify_enveloped(
                doc.root(),
                root,
                &VerifyOptions {
                    certificates: &cfg.idp.certificates,
                    allow_legacy_crypto: legacy,
                },
            )?;
            let signature = match verified {
                Some(v) => LogoutSignature::Post(v.signature.algorithm),
                None => LogoutSignature::Unsigned,
            };
            (doc, relay_state.map(str::to_owned), signature)
        }
    };
    if !signature.is_signed() && !cfg.policy.danger.dangerous_allow_unsigned_logout {
        return Err(Error::SignatureMissing {
            expected: format!(
                "the {root} (front-channel logout messages are signed, SAML Profiles 4.4.3)"
            ),
        });
    }
    let (id, issue_instant) = {
        let e = doc.root();
        check_version(e, root)?;
        let id = check_id(e, root)?;
        let issue = instant(e, "IssueInstant")?
            .ok_or_else(|| Error::malformed(format!("an IssueInstant on the {root}"), "none"))?;
        let w = Window {
            now,
            skew: cfg.policy.clock_skew,
        };
        w.not_before("IssueInstant", issue)?;
        w.not_on_or_after(
            "IssueInstant + max_response_age",
            issue + cfg.policy.max_response_age,
        )?;
        let slo = cfg.slo_url.as_deref().ok_or(Error::Config {
            field: "single_logout_url",
            reason: "the SP's Single Logout URL is needed to check a logout message's Destination"
                .into(),
        })?;
        match e.attribute("Destination") {
            Some(d) if d == slo => {}
            Some(d) => {
                return Err(Error::DestinationMismatch {
                    expected: slo.into(),
                    found: d.into(),
                });
            }
            None if signature.is_signed() => {
                return Err(Error::DestinationMismatch {
                    expected: slo.into(),
                    found: "<missing>".into(),
                });
            }
            None => {}
        }
        let issuer = e
            .child_elements()
            .next()
            .filter(|c| c.is(SAML_NS, "Issuer"));
        check_issuer(issuer, root, &cfg.idp.entity_id)?;
        (id, issue)
    };
    Ok(Verified {
        doc,
        relay_state,
        id,
        issue_instant,
        signature,
    })
}

/// Where SP-built logout messages go: the IdP's Single Logout URL, which must be configured.
pub(crate) fn idp_slo_url(cfg: &SpInner) -> Result<String, Error> {
    cfg.idp.slo_url.clone().ok_or(Error::Config {
        field: "idp_slo_url",
        reason: "the IdP has no Single Logout URL".into(),
    })
}

fn check_root(doc: &Document, root: &'static str) -> Result<(), Error> {
    let e = doc.root();
    if e.is(SAMLP_NS, root) {
        Ok(())
    } else {
        Err(Error::malformed(
            format!("a samlp:{root} document element"),
            format!("{{{}}}{}", e.namespace().unwrap_or(""), e.local_name()),
        ))
    }
}
