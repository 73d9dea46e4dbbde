//! Writing the SP's metadata for the IdP administrator.

use chrono::{DateTime, Utc};

use crate::crypto::Certificate;
use crate::ns::{DSIG_NS, HTTP_POST, HTTP_REDIRECT, MD_NS, SAMLP_NS as PROTOCOL};

/// Builder for the SP's metadata (`EntityDescriptor` / `SPSSODescriptor`).
///
/// ```
/// use saml_sp::metadata::SpMetadata;
///
/// let xml = SpMetadata::new("https://sp.example.com/saml/metadata", "https://sp.example.com/saml/acs")
///     .want_assertions_signed(true)
///     .to_xml();
/// assert!(xml.contains(r#"entityID="https://sp.example.com/saml/metadata""#));
/// assert!(xml.contains(r#"Location="https://sp.example.com/saml/acs""#));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SpMetadata {
    entity_id: String,
    acs_urls: Vec<String>,
    certificates: Vec<Certificate>,
    encryption_certificates: Vec<Certificate>,
    slo_url: Option<String>,
    authn_requests_signed: bool,
    want_assertions_signed: bool,
    name_id_formats: Vec<String>,
    valid_until: Option<DateTime<Utc>>,
    organization: Option<(String, String, String)>,
    contacts: Vec<(String, String, String)>,
}

impl SpMetadata {
    /// Metadata for an SP with this entity ID and (default, index 0) ACS URL.
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>) -> Self {
        SpMetadata {
            entity_id: entity_id.into(),
            acs_urls: vec![acs_url.into()],
            certificates: Vec::new(),
            encryption_certificates: Vec::new(),
            slo_url: None,
            authn_requests_signed: false,
            want_assertions_signed: true,
            name_id_formats: vec![crate::ns::NAMEID_EMAIL.into()],
            valid_until: None,
            organization: None,
            contacts: Vec::new(),
        }
    }
    /// Another ACS URL (index 1, 2, ...).
    pub fn additional_acs_url(mut self, url: impl Into<String>) -> Self {
        self.acs_urls.push(url.into());
        self
    }
    /// A signing certificate; call twice (current and next) for a key rollover.
    pub fn signing_certificate(mut self, cert: Certificate) -> Self {
        self.certificates.push(cert);
        self
    }
    /// The SP's Single Logout endpoint, published for the HTTP-Redirect and HTTP-POST bindings.
    pub fn single_logout_service(mut self, url: impl Into<String>) -> Self {
        self.slo_url = Some(url.into());
        self
    }
    /// An SP encryption certificate (repeatable: current, then next during a rotation), published
    /// as a `KeyDescriptor use="encryption"` listing the algorithms saml-sp decrypts, AES-GCM first,
    /// so an IdP that reads them (ADFS, Shibboleth, SimpleSAMLphp, Keycloak) chooses GCM.
    pub fn encryption_certificate(mut self, cert: Certificate) -> Self {
        self.encryption_certificates.push(cert);
        self
    }
    /// `AuthnRequestsSigned`.
    pub fn authn_requests_signed(mut self, yes: bool) -> Self {
        self.authn_requests_signed = yes;
        self
    }
    /// `WantAssertionsSigned` (default true).
    pub fn want_assertions_signed(mut self, yes: bool) -> Self {
        self.want_assertions_signed = yes;
        self
    }
    /// Replaces the NameIDFormats (default emailAddress).
    pub fn name_id_formats<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        formats: I,
    ) -> Self {
        self.name_id_formats = formats.into_iter().map(Into::into).collect();
        self
    }
    /// `validUntil`.
    pub fn valid_until(mut self, t: DateTime<Utc>) -> Self {
        self.valid_until = Some(t);
        self
    }
    /// Organization name, display name and URL.
    pub fn organization(
        mut self,
        name: impl Into<String>,
        display_name: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        self.organization = Some((name.into(), display_name.into(), url.into()));
        self
    }
    /// A ContactPerson (`technical`, `support`, `administrative`, ...), name and email.
    pub fn contact(
        mut self,
        contact_type: impl Into<String>,
        name: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        self.contacts
            .push((contact_type.into(), name.into(), email.into()));
        self
    }

    /// The metadata document.
    pub fn to_xml(&self) -> String {
        use crate::xml::{escape_attr as a, escape_text as t};
        use base64::Engine as _;
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str(&format!(
            "<md:EntityDescriptor xmlns:md=\"{MD_NS}\" entityID=\"{}\"",
            a(&self.entity_id)
        ));
        if let Some(v) = self.valid_until {
            x.push_str(&format!(
                " validUntil=\"{}\"",
                crate::time::format_instant(v)
            ));
        }
        x.push_str(">\n");
        x.push_str(&format!(
            "  <md:SPSSODescriptor AuthnRequestsSigned=\"{}\" WantAssertionsSigned=\"{}\" protocolSupportEnumeration=\"{PROTOCOL}\">\n",
            self.authn_requests_signed, self.want_assertions_signed
        ));
        for c in &self.certificates {
            x.push_str(&format!(
                "    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"{DSIG_NS}\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n",
                base64::engine::general_purpose::STANDARD.encode(c.der())
            ));
        }
        for c in &self.encryption_certificates {
            x.push_str(&format!(
                "    <md:KeyDescriptor use=\"encryption\"><ds:KeyInfo xmlns:ds=\"{DSIG_NS}\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                base64::engine::general_purpose::STANDARD.encode(c.der())
            ));
            for alg in crate::xmlenc::SUPPORTED_CONTENT
                .iter()
                .chain(crate::xmlenc::SUPPORTED_KEY_TRANSPORT)
            {
                x.push_str(&format!("<md:EncryptionMethod Algorithm=\"{alg}\"/>"));
            }
            x.push_str("</md:KeyDescriptor>\n");
        }
        if let Some(u) = &self.slo_url {
            for b in [HTTP_REDIRECT, HTTP_POST] {
                x.push_str(&format!(
                    "    <md:SingleLogoutService Binding=\"{b}\" Location=\"{}\"/>\n",
                    a(u)
                ));
            }
        }
        for f in &self.name_id_formats {
            x.push_str(&format!(
                "    <md:NameIDFormat>{}</md:NameIDFormat>\n",
                t(f)
            ));
        }
        for (i, u) in self.acs_urls.iter().enumerate() {
            x.push_str(&format!(
                "    <md:AssertionConsumerService Binding=\"{HTTP_POST}\" Location=\"{}\" index=\"{i}\"{}/>\n",
                a(u),
                if i == 0 { " isDefault=\"true\"" } else { "" }
            ));
        }
        x.push_str("  </md:SPSSODescriptor>\n");
        if let Some((name, display, url)) = &self.organization {
            x.push_str(&format!(
                "  <md:Organization><md:OrganizationName xml:lang=\"en\">{}</md:OrganizationName><md:OrganizationDisplayName xml:lang=\"en\">{}</md:OrganizationDisplayName><md:OrganizationURL xml:lang=\"en\">{}</md:OrganizationURL></md:Organization>\n",
                t(name), t(display), t(url)
            ));
        }
        for (kind, name, email) in &self.contacts {
            x.push_str(&format!(
                "  <md:ContactPerson contactType=\"{}\"><md:GivenName>{}</md:GivenName><md:EmailAddress>mailto:{}</md:EmailAddress></md:ContactPerson>\n",
                a(kind), t(name), t(email)
            ));
        }
        x.push_str("</md:EntityDescriptor>\n");
        x
    }
}
