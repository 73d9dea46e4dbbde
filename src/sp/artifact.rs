//! Artifact resolution (SAML Bindings 3.6, SOAP binding 3.2): the `ArtifactResolve` the SP sends
//! to the IdP's ArtifactResolutionService (signed with the SP's key, inside a SOAP envelope), and
//! the checks of the `ArtifactResponse` that comes back before the `Response` inside it is
//! validated like a POSTed one: the ArtifactResponse signed by a configured IdP key, answering
//! this request, from this IdP, successful, and fresh. The Response is taken out of the SOAP
//! envelope with the namespace declarations in scope where it stood (Canonical XML of its
//! subtree), so its own signatures verify exactly as they would in place.

use chrono::{DateTime, Utc};

use super::config::ServiceProvider;
use super::elements::{Window, check_id, check_issuer, check_version, instant, parse_options};
use super::response_checks::check_status;
use crate::binding::Artifact;
use crate::crypto::SignatureAlgorithm;
use crate::dsig::VerifyOptions;
use crate::error::Error;
use crate::ns::{SAML_NS, SAMLP_NS, SOAP_ENV_NS};
use crate::xml::c14n::{self, Algorithm, Subset};
use crate::xml::{Document, Element, escape_attr, escape_text};

/// A signed `ArtifactResolve` ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArtifactResolveRequest {
    /// Its ID: the ArtifactResponse must answer it.
    pub id: String,
    /// Where it goes.
    pub destination: String,
    /// The SOAP envelope to POST (`Content-Type: text/xml`).
    pub soap: String,
}

fn only<'a>(parent: Element<'a>, ns: &str, local: &str, what: &str) -> Result<Element<'a>, Error> {
    let mut it = parent.child_elements().filter(|c| c.is(ns, local));
    match (it.next(), it.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(Error::malformed(format!("a {local} in {what}"), "none")),
        (Some(_), Some(_)) => Err(Error::malformed(
            format!("one {local} in {what}"),
            "several",
        )),
    }
}

impl ServiceProvider {
    /// The `ArtifactResolve` for `artifact`, to the IdP's resolution service at `destination`,
    /// signed with the SP's signing key (RSA-SHA256).
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_signing_key`) without a signing key.
    pub fn artifact_resolve(
        &self,
        artifact: &Artifact,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<ArtifactResolveRequest, Error> {
        let key = self.signing_key().ok_or(Error::Config {
            field: "sp_signing_key",
            reason: "artifact resolution needs the SP's signing key (ArtifactResolve is signed)"
                .into(),
        })?;
        let mut id_bytes = [0u8; 20];
        crate::crypto::random_bytes(&mut id_bytes)?;
        let id = format!("_{}", crate::crypto::hex(&id_bytes));
        let xml = format!(
            "<samlp:ArtifactResolve xmlns:samlp=\"{SAMLP_NS}\" xmlns:saml=\"{SAML_NS}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\"><saml:Issuer>{}</saml:Issuer><samlp:Artifact>{}</samlp:Artifact></samlp:ArtifactResolve>",
            crate::time::format_instant(now),
            escape_attr(destination),
            escape_text(self.entity_id()),
            escape_text(&artifact.encoded),
        );
        let signed = crate::dsig::sign_enveloped(&xml, &id, key, SignatureAlgorithm::RsaSha256)?;
        let signed = signed
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .unwrap_or(&signed);
        Ok(ArtifactResolveRequest {
            id,
            destination: destination.to_owned(),
            soap: format!(
                "<soap:Envelope xmlns:soap=\"{SOAP_ENV_NS}\"><soap:Body>{signed}</soap:Body></soap:Envelope>"
            ),
        })
    }

    /// Checks the SOAP answer to `request` and returns the `Response` it carries, as a
    /// standalone document for the usual validation.
    ///
    /// # Errors
    /// [`Error::Xml`] and [`Error::Malformed`] for another shape; [`Error::SignatureMissing`]
    /// when the ArtifactResponse is unsigned; signature errors; [`Error::InResponseToMismatch`];
    /// [`Error::IssuerMismatch`]; [`Error::StatusNotSuccess`] (the IdP knew no such artifact);
    /// time errors for a stale answer.
    pub fn read_artifact_response(
        &self,
        soap: &[u8],
        request: &ArtifactResolveRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, Error> {
        let cfg = &*self.inner;
        let doc = Document::parse_with(soap, &parse_options(cfg))?;
        let envelope = doc.root();
        if !envelope.is(SOAP_ENV_NS, "Envelope") {
            return Err(Error::malformed("a SOAP Envelope", envelope.qname()));
        }
        let body = only(envelope, SOAP_ENV_NS, "Body", "the SOAP Envelope")?;
        let answer = only(body, SAMLP_NS, "ArtifactResponse", "the SOAP Body")?;
        check_id(answer, "ArtifactResponse")?;
        check_version(answer, "ArtifactResponse")?;
        // The answer itself is signed by the IdP: the channel alone is not trusted.
        let verify = VerifyOptions {
            certificates: &cfg.idp.certificates,
            allow_legacy_crypto: cfg.policy.danger.dangerous_allow_legacy_crypto,
        };
        if crate::dsig::verify_enveloped(answer, "ArtifactResponse", &verify)?.is_none() {
            return Err(Error::SignatureMissing {
                expected: "the ArtifactResponse".into(),
            });
        }
        match answer.attribute("InResponseTo") {
            Some(irt) if irt == request.id => {}
            other => {
                return Err(Error::InResponseToMismatch {
                    expected: request.id.clone(),
                    found: other.unwrap_or("<missing>").to_owned(),
                });
            }
        }
        let issuer = answer.child_elements().find(|c| c.is(SAML_NS, "Issuer"));
        check_issuer(issuer, "ArtifactResponse", &cfg.idp.entity_id)?;
        check_status(only(answer, SAMLP_NS, "Status", "the ArtifactResponse")?)?;
        let w = Window {
            now,
            skew: cfg.policy.clock_skew,
        };
        let issued = instant(answer, "IssueInstant")?
            .ok_or_else(|| Error::malformed("an IssueInstant on the ArtifactResponse", "none"))?;
        w.not_before("ArtifactResponse IssueInstant", issued)?;
        w.not_on_or_after(
            "ArtifactResponse IssueInstant + max_response_age",
            issued + cfg.policy.max_response_age,
        )?;
        let response = only(answer, SAMLP_NS, "Response", "the ArtifactResponse")?;
        let mut out = Vec::new();
        c14n::canonicalize(
            &doc,
            Subset::Element {
                apex: response.id(),
                exclude: None,
            },
            Algorithm::Inclusive,
            &[],
            &mut out,
        )
        .map_err(|e| Error::malformed("a Response that canonicalizes", e.to_string()))?;
        Ok(out)
    }
}
