//! The test IdP's Response builder: users, attribute styles, signature shapes, deliberate defects
//! and encryption.

#[allow(unused_imports)]
use super::*;

/// Builder for one signed Response.
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseBuilder<'a> {
    pub(super) idp: &'a TestIdp,
    pub(super) audience: String,
    pub(super) acs_url: String,
    pub(super) in_response_to: Option<String>,
    pub(super) user: TestUser,
    pub(super) style: AttributeStyle,
    pub(super) shape: SignShape,
    pub(super) defect: Option<Defect>,
    pub(super) lifetime: Duration,
    pub(super) encrypt_for: Option<(Certificate, Encryption)>,
    pub(super) authn_context: String,
    pub(super) authn_age: Duration,
}

impl ResponseBuilder<'_> {
    /// Answers the AuthnRequest `id` (omit for an IdP-initiated response).
    pub fn in_response_to(mut self, id: impl Into<String>) -> Self {
        self.in_response_to = Some(id.into());
        self
    }
    /// The user.
    pub fn user(mut self, user: TestUser) -> Self {
        self.user = user;
        self
    }
    /// Attribute names.
    pub fn style(mut self, style: AttributeStyle) -> Self {
        self.style = style;
        self
    }
    /// What is signed.
    pub fn sign(mut self, shape: SignShape) -> Self {
        self.shape = shape;
        self
    }
    /// A deliberate defect.
    pub fn defect(mut self, defect: Defect) -> Self {
        self.defect = Some(defect);
        self
    }
    /// The `AuthnContextClassRef` (default `PasswordProtectedTransport`).
    pub fn authn_context(mut self, class_ref: impl Into<String>) -> Self {
        self.authn_context = class_ref.into();
        self
    }
    /// How long before the Response the user authenticated (`AuthnInstant`; default 0).
    pub fn authenticated_before(mut self, age: Duration) -> Self {
        self.authn_age = age;
        self
    }
    /// Encrypts the Assertion (after signing it, when the shape signs it) to the SP's
    /// certificate, as an `EncryptedAssertion`; the Response is signed after encryption.
    pub fn encrypt_for(mut self, sp_certificate: &Certificate, encryption: Encryption) -> Self {
        self.encrypt_for = Some((sp_certificate.clone(), encryption));
        self
    }

    /// The Response XML, issued at `now`.
    ///
    /// # Errors
    /// Signing errors (none with the embedded keys).
    pub fn build(self, now: DateTime<Utc>) -> Result<String, Error> {
        let mut id = [0u8; 16];
        crate::crypto::random_bytes(&mut id)?;
        let rid = format!("_r{}", crate::crypto::hex(&id));
        crate::crypto::random_bytes(&mut id)?;
        let aid = format!("_a{}", crate::crypto::hex(&id));
        let issued = if self.defect == Some(Defect::Expired) {
            now - Duration::hours(1)
        } else {
            now
        };
        let (nb, noa) = (
            format_instant(issued - Duration::seconds(30)),
            format_instant(issued + self.lifetime),
        );
        let audience = if self.defect == Some(Defect::WrongAudience) {
            "https://other-sp.example.com"
        } else {
            &self.audience
        };
        let irt = self
            .in_response_to
            .as_deref()
            .map(|i| format!(" InResponseTo=\"{}\"", escape_attr(i)))
            .unwrap_or_default();
        let (first, last, email, groups) = match self.style {
            AttributeStyle::Okta => ("FirstName", "LastName", "email", "groups"),
            AttributeStyle::Entra => (
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
            ),
        };
        let attr = |name: &str, values: &[String]| -> String {
            if values.is_empty() {
                return String::new();
            }
            let vals: String = values
                .iter()
                .map(|v| {
                    format!(
                        "<saml2:AttributeValue xsi:type=\"xs:string\">{}</saml2:AttributeValue>",
                        escape_text(v)
                    )
                })
                .collect();
            format!(
                "<saml2:Attribute Name=\"{}\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified\">{vals}</saml2:Attribute>",
                escape_attr(name)
            )
        };
        let u = &self.user;
        let attrs = [
            attr(first, &u.first_name.iter().cloned().collect::<Vec<_>>()),
            attr(last, &u.last_name.iter().cloned().collect::<Vec<_>>()),
            attr(email, std::slice::from_ref(&u.email)),
            attr(groups, &u.groups),
        ]
        .concat()
            + &u.attributes
                .iter()
                .map(|(name, values)| attr(name, values))
                .collect::<String>();
        let t = format_instant(issued);
        let issuer = escape_text(&self.idp.entity_id);
        let xml = format!(
            "<saml2p:Response xmlns:saml2p=\"urn:oasis:names:tc:SAML:2.0:protocol\" Destination=\"{acs}\" ID=\"{rid}\"{irt} IssueInstant=\"{t}\" Version=\"2.0\"><saml2:Issuer xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">{issuer}</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></saml2p:Status><saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"{aid}\" IssueInstant=\"{t}\" Version=\"2.0\"><saml2:Issuer>{issuer}</saml2:Issuer><saml2:Subject><saml2:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">{nameid}</saml2:NameID><saml2:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml2:SubjectConfirmationData{irt} NotOnOrAfter=\"{noa}\" Recipient=\"{acs}\"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml2:AudienceRestriction><saml2:Audience>{aud}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"{authn_instant}\" SessionIndex=\"{aid}\"><saml2:AuthnContext><saml2:AuthnContextClassRef>{class_ref}</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement>{attrs}</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>",
            acs = escape_attr(&self.acs_url),
            nameid = escape_text(&u.email),
            aud = escape_text(audience),
            authn_instant = format_instant(issued - self.authn_age),
            class_ref = escape_text(&self.authn_context),
        );
        let key = if self.defect == Some(Defect::WrongKey) {
            &self.idp.other
        } else {
            &self.idp.key
        };
        let alg = SignatureAlgorithm::RsaSha256;
        let mut xml = match self.shape {
            SignShape::Assertion | SignShape::Both => sign_enveloped(&xml, &aid, key, alg)?,
            SignShape::Response | SignShape::Unsigned => xml,
        };
        if let Some((cert, encryption)) = &self.encrypt_for {
            const OPEN: &str = "<saml2:Assertion ";
            const CLOSE: &str = "</saml2:Assertion>";
            let (start, end) = match (xml.find(OPEN), xml.rfind(CLOSE)) {
                (Some(s), Some(e)) => (s, e + CLOSE.len()),
                _ => return Err(Error::malformed("an Assertion to encrypt", "none")),
            };
            let encrypted = encrypt::encrypt_element(
                xml.get(start..end).unwrap_or_default(),
                cert,
                *encryption,
                "saml2:EncryptedAssertion",
                "xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
            )?;
            xml = format!(
                "{}{encrypted}{}",
                xml.get(..start).unwrap_or_default(),
                xml.get(end..).unwrap_or_default()
            );
        }
        if matches!(self.shape, SignShape::Response | SignShape::Both) {
            xml = sign_enveloped(&xml, &rid, key, alg)?;
        }
        Ok(xml)
    }

    /// The Response as the HTTP-POST binding's base64 `SAMLResponse` value.
    ///
    /// # Errors
    /// As [`ResponseBuilder::build`].
    pub fn build_base64(self, now: DateTime<Utc>) -> Result<String, Error> {
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::STANDARD.encode(self.build(now)?))
    }
}
