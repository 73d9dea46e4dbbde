//! SP-initiated login: the `AuthnRequest` and its HTTP-Redirect and HTTP-POST encodings.
//!
//! ```
//! use saml_sp::login::AuthnRequest;
//!
//! let now = saml_sp::time::parse_instant("2026-01-01T10:00:00Z", "now")?;
//! let req = AuthnRequest::new("https://sp.example.com/saml/metadata", "https://sp.example.com/saml/acs")
//!     .destination("https://idp.example.com/sso")
//!     .force_authn(true)
//!     .build(now)?;
//! let url = req.redirect_url(Some("opaque-token"), None)?;
//! assert!(url.starts_with("https://idp.example.com/sso?SAMLRequest="));
//! assert!(req.id().starts_with('_') && req.id().len() == 41); // remember it for InResponseTo
//! # Ok::<(), saml_sp::Error>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use crate::binding::{check_relay_state, post_form, redirect_query};
use crate::crypto::{self, SignatureAlgorithm, SigningKey};
use crate::error::Error;
use crate::time::format_instant;
use crate::xml::{escape_attr, escape_text};

use crate::ns::{HTTP_POST, NAMEID_EMAIL as EMAIL_ADDRESS};

/// `RequestedAuthnContext/@Comparison`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Comparison {
    /// `exact`
    Exact,
    /// `minimum`
    Minimum,
    /// `maximum`
    Maximum,
    /// `better`
    Better,
}

impl Comparison {
    fn as_str(self) -> &'static str {
        match self {
            Comparison::Exact => "exact",
            Comparison::Minimum => "minimum",
            Comparison::Maximum => "maximum",
            Comparison::Better => "better",
        }
    }
}

/// Builder for an `AuthnRequest`.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthnRequest {
    issuer: String,
    acs_url: String,
    destination: Option<String>,
    name_id_format: Option<String>,
    allow_create: bool,
    force_authn: bool,
    is_passive: bool,
    authn_context: Option<(Comparison, Vec<String>)>,
    provider_name: Option<String>,
    attribute_consuming_service_index: Option<u16>,
    scoping: Option<crate::tenant::Scoping>,
    protocol_binding: &'static str,
}

/// A built AuthnRequest: its ID (remember it for the InResponseTo check) and XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltAuthnRequest {
    id: String,
    destination: Option<String>,
    xml: String,
}

fn new_id() -> Result<String, Error> {
    let mut bytes = [0u8; 20];
    crypto::random_bytes(&mut bytes)?;
    Ok(format!("_{}", crypto::hex(&bytes)))
}

impl AuthnRequest {
    /// A request from the SP `issuer` (its entity ID) asking for a Response at `acs_url`.
    pub fn new(issuer: impl Into<String>, acs_url: impl Into<String>) -> Self {
        AuthnRequest {
            issuer: issuer.into(),
            acs_url: acs_url.into(),
            destination: None,
            name_id_format: Some(EMAIL_ADDRESS.into()),
            allow_create: true,
            force_authn: false,
            is_passive: false,
            authn_context: None,
            provider_name: None,
            attribute_consuming_service_index: None,
            scoping: None,
            protocol_binding: HTTP_POST,
        }
    }
    /// Asks for the Response by artifact (`ProtocolBinding` HTTP-Artifact) instead of POST.
    pub fn artifact_response(mut self, yes: bool) -> Self {
        self.protocol_binding = if yes {
            crate::ns::HTTP_ARTIFACT
        } else {
            HTTP_POST
        };
        self
    }
    /// `Scoping` (IDPList, ProxyCount), for a proxying IdP.
    pub fn scoping(mut self, scoping: crate::tenant::Scoping) -> Self {
        self.scoping = Some(scoping);
        self
    }
    /// The IdP's SSO URL (the `Destination`, and where the redirect goes).
    pub fn destination(mut self, url: impl Into<String>) -> Self {
        self.destination = Some(url.into());
        self
    }
    /// NameIDPolicy Format (default emailAddress); `None` leaves the format to the IdP.
    pub fn name_id_format(mut self, format: Option<&str>) -> Self {
        self.name_id_format = format.map(str::to_owned);
        self
    }
    /// NameIDPolicy AllowCreate (default true).
    pub fn allow_create(mut self, yes: bool) -> Self {
        self.allow_create = yes;
        self
    }
    /// Ask the IdP to authenticate the user again even with a session.
    pub fn force_authn(mut self, yes: bool) -> Self {
        self.force_authn = yes;
        self
    }
    /// Ask the IdP not to interact with the user.
    pub fn is_passive(mut self, yes: bool) -> Self {
        self.is_passive = yes;
        self
    }
    /// RequestedAuthnContext with a comparison and class references.
    pub fn requested_authn_context<I, S>(mut self, comparison: Comparison, class_refs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authn_context = Some((comparison, class_refs.into_iter().map(Into::into).collect()));
        self
    }
    /// ProviderName (a human-readable SP name).
    pub fn provider_name(mut self, name: impl Into<String>) -> Self {
        self.provider_name = Some(name.into());
        self
    }
    /// AttributeConsumingServiceIndex.
    pub fn attribute_consuming_service_index(mut self, index: u16) -> Self {
        self.attribute_consuming_service_index = Some(index);
        self
    }

    /// Builds the request with a fresh random ID (160 bits) issued at `now`.
    ///
    /// # Errors
    /// [`Error::Config`] when the OS has no randomness.
    pub fn build(self, now: DateTime<Utc>) -> Result<BuiltAuthnRequest, Error> {
        let id = new_id()?;
        let mut x = String::with_capacity(1024);
        x.push_str("<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"");
        x.push_str(&format!(
            " ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\"",
            format_instant(now)
        ));
        if let Some(d) = &self.destination {
            x.push_str(&format!(" Destination=\"{}\"", escape_attr(d)));
        }
        x.push_str(&format!(
            " AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"{}\"",
            escape_attr(&self.acs_url),
            self.protocol_binding
        ));
        if self.force_authn {
            x.push_str(" ForceAuthn=\"true\"");
        }
        if self.is_passive {
            x.push_str(" IsPassive=\"true\"");
        }
        if let Some(p) = &self.provider_name {
            x.push_str(&format!(" ProviderName=\"{}\"", escape_attr(p)));
        }
        if let Some(i) = self.attribute_consuming_service_index {
            x.push_str(&format!(" AttributeConsumingServiceIndex=\"{i}\""));
        }
        x.push_str(&format!(
            "><saml:Issuer>{}</saml:Issuer>",
            escape_text(&self.issuer)
        ));
        x.push_str("<samlp:NameIDPolicy");
        if let Some(f) = &self.name_id_format {
            x.push_str(&format!(" Format=\"{}\"", escape_attr(f)));
        }
        x.push_str(&format!(" AllowCreate=\"{}\"/>", self.allow_create));
        if let Some((cmp, refs)) = &self.authn_context {
            x.push_str(&format!(
                "<samlp:RequestedAuthnContext Comparison=\"{}\">",
                cmp.as_str()
            ));
            for r in refs {
                x.push_str(&format!(
                    "<saml:AuthnContextClassRef>{}</saml:AuthnContextClassRef>",
                    escape_text(r)
                ));
            }
            x.push_str("</samlp:RequestedAuthnContext>");
        }
        if let Some(s) = &self.scoping {
            s.write(&mut x);
        }
        x.push_str("</samlp:AuthnRequest>");
        Ok(BuiltAuthnRequest {
            id,
            destination: self.destination,
            xml: x,
        })
    }
}

impl BuiltAuthnRequest {
    /// The request ID: store it (see [`crate::store::RequestStore`]) to check InResponseTo.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The request XML (unsigned).
    pub fn xml(&self) -> &str {
        &self.xml
    }

    /// The HTTP-Redirect binding URL: raw DEFLATE, base64, URL-encoded `SAMLRequest`, the
    /// `RelayState` (at most 80 bytes, opaque), and with `signing` a `SigAlg` + `Signature` over
    /// the exact query octets.
    ///
    /// # Errors
    /// [`Error::Config`] without a destination; [`Error::Binding`] for a RelayState over 80
    /// bytes; signing errors.
    pub fn redirect_url(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<String, Error> {
        let dest = self.require_destination()?;
        let query = redirect_query("SAMLRequest", self.xml.as_bytes(), relay_state, signing)?;
        let sep = if dest.contains('?') { '&' } else { '?' };
        Ok(format!("{dest}{sep}{query}"))
    }

    fn require_destination(&self) -> Result<&str, Error> {
        self.destination.as_deref().ok_or(Error::Config {
            field: "destination",
            reason: "the IdP SSO URL (Destination) is required to send the request".into(),
        })
    }

    /// The request XML with an enveloped signature (exclusive C14N, SHA-256 digest), for the
    /// HTTP-POST binding.
    ///
    /// # Errors
    /// Signing errors.
    pub fn signed_xml(
        &self,
        key: &SigningKey,
        algorithm: SignatureAlgorithm,
    ) -> Result<String, Error> {
        crate::dsig::sign_enveloped(&self.xml, &self.id, key, algorithm)
    }

    /// An auto-submitting HTML page for the HTTP-POST binding (every value HTML-escaped, with a
    /// `<noscript>` button), carrying the request signed when `signing` is given.
    ///
    /// # Errors
    /// [`Error::Config`] without a destination; [`Error::Binding`] for a RelayState over 80
    /// bytes; signing errors.
    pub fn post_form(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<crate::binding::PostPage, Error> {
        let dest = self.require_destination()?;
        check_relay_state(relay_state)?;
        let xml = match signing {
            Some((k, a)) => self.signed_xml(k, a)?,
            None => self.xml.clone(),
        };
        Ok(post_form(
            dest,
            "SAMLRequest",
            &STANDARD.encode(xml),
            relay_state,
        ))
    }
}
