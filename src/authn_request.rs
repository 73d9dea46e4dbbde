//! SP-initiated login: the `AuthnRequest` and its HTTP-Redirect and HTTP-POST encodings.
//!
//! ```
//! use saml_sp::authn_request::AuthnRequest;
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

use crate::binding::{deflate, url_encode};
use crate::crypto::{self, SignatureAlgorithm, SigningKey};
use crate::error::Error;
use crate::time::format_instant;
use crate::xml::{escape_attr, escape_text};

/// NameID format `emailAddress` (the default NameIDPolicy).
pub const EMAIL_ADDRESS: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// The binding's limit on RelayState (SAML Bindings 3.4.3 / 3.5.3).
pub const MAX_RELAY_STATE: usize = 80;

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
        }
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
            " AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"{HTTP_POST}\"",
            escape_attr(&self.acs_url)
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
    ) -> Result<String, Error> {
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

fn check_relay_state(relay_state: Option<&str>) -> Result<(), Error> {
    match relay_state {
        Some(r) if r.len() > MAX_RELAY_STATE => Err(Error::Binding(format!(
            "RelayState is {} bytes; the SAML bindings allow at most {MAX_RELAY_STATE}",
            r.len()
        ))),
        _ => Ok(()),
    }
}

/// Builds the query of an HTTP-Redirect message (`SAMLRequest` or `SAMLResponse`), signed when
/// `signing` is given.
///
/// # Errors
/// [`Error::Binding`] for a RelayState over 80 bytes; signing errors.
pub fn redirect_query(
    param: &str,
    xml: &[u8],
    relay_state: Option<&str>,
    signing: Option<(&SigningKey, SignatureAlgorithm)>,
) -> Result<String, Error> {
    check_relay_state(relay_state)?;
    let mut q = format!("{param}={}", url_encode(&STANDARD.encode(deflate(xml))));
    if let Some(r) = relay_state {
        q.push_str(&format!("&RelayState={}", url_encode(r)));
    }
    if let Some((key, alg)) = signing {
        q.push_str(&format!("&SigAlg={}", url_encode(alg.uri())));
        let sig = key.sign(alg, q.as_bytes())?;
        q.push_str(&format!("&Signature={}", url_encode(&STANDARD.encode(sig))));
    }
    Ok(q)
}

/// An auto-submitting HTML form posting `param` (base64 already) to `action`.
pub fn post_form(action: &str, param: &str, value_b64: &str, relay_state: Option<&str>) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in</title></head>",
    );
    html.push_str("<body onload=\"document.forms[0].submit()\">");
    html.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape_attr(action)
    ));
    html.push_str(&format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
        escape_attr(param),
        escape_attr(value_b64)
    ));
    if let Some(r) = relay_state {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>",
            escape_attr(r)
        ));
    }
    html.push_str("<noscript><p>JavaScript is disabled. Press Continue to sign in.</p><button type=\"submit\">Continue</button></noscript>");
    html.push_str("</form></body></html>\n");
    html
}
