//! An in-process test IdP (feature `testkit`): signs SAML Responses in the shapes real IdPs use,
//! for demos and for integration tests of apps built on saml-sp.
//!
//! [`TestIdp::fixed`] signs with **published test keys** (in this crate's source): anyone can
//! sign as it, so it is for tests only. A demo that a person can reach uses
//! [`TestIdp::generate`], which makes a fresh key at start.
//!
//! ```
//! use saml_sp::testkit::{TestIdp, TestUser};
//!
//! let idp = TestIdp::fixed("https://test-idp.example.com/metadata");
//! let xml = idp
//!     .response("https://sp.example.com/saml/metadata", "https://sp.example.com/saml/acs")
//!     .in_response_to("_req1")
//!     .user(TestUser::new("ada@example.com").name("Ada", "Lovelace").groups(["admins"]))
//!     .build(chrono::Utc::now())?;
//! assert!(xml.contains("ada@example.com"));
//! # Ok::<(), saml_sp::Error>(())
//! ```

use chrono::{DateTime, Duration, Utc};

use crate::crypto::{Certificate, SignatureAlgorithm, SigningKey};
use crate::dsig::sign_enveloped;
use crate::error::Error;
use crate::time::format_instant;
use crate::xml::{escape_attr, escape_text};

mod encrypt;
mod selfsigned;
pub use encrypt::Encryption;
pub use selfsigned::{GeneratedKey, generate as generate_key};

const KEY: &str = include_str!("test-idp.key");
const CERT: &str = include_str!("test-idp.crt");
const OTHER_KEY: &str = include_str!("other.key");
const OTHER_CERT: &str = include_str!("other.crt");

/// A user the test IdP vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// Email (the NameID, format emailAddress).
    pub email: String,
    /// First name (omitted when `None`).
    pub first_name: Option<String>,
    /// Last name (omitted when `None`).
    pub last_name: Option<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Further attributes, as (Name, values), written after the standard ones in this order.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl TestUser {
    /// A user with only an email.
    pub fn new(email: impl Into<String>) -> Self {
        TestUser {
            email: email.into(),
            first_name: None,
            last_name: None,
            groups: Vec::new(),
            attributes: Vec::new(),
        }
    }
    /// Sets first and last name.
    #[must_use]
    pub fn name(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }
    /// Sets the groups.
    #[must_use]
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }
    /// Adds an attribute with these values (any Name, e.g. `department` or a claim URI).
    #[must_use]
    pub fn attribute<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        name: impl Into<String>,
        values: I,
    ) -> Self {
        self.attributes
            .push((name.into(), values.into_iter().map(Into::into).collect()));
        self
    }
}

/// Which attribute names the test IdP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AttributeStyle {
    /// `FirstName`, `LastName`, `email`, `groups` (Okta attribute statements).
    #[default]
    Okta,
    /// The claim URIs Entra ID / ADFS send.
    Entra,
}

/// What the test IdP signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignShape {
    /// The Assertion only.
    Assertion,
    /// The Response only.
    Response,
    /// Both (Assertion first, as Okta does).
    #[default]
    Both,
    /// Nothing (a broken response).
    Unsigned,
}

/// A deliberate defect, for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Defect {
    /// Validity windows ended an hour ago.
    Expired,
    /// The Audience is another SP.
    WrongAudience,
    /// Signed with a key the SP does not trust.
    WrongKey,
}

/// Encrypts `plaintext` (any XML, for negative tests) as a `saml2:EncryptedAssertion` to
/// `sp_certificate`, the way [`ResponseBuilder::encrypt_for`] encrypts an Assertion.
///
/// # Errors
/// [`Error::Config`] when the certificate has no RSA key.
pub fn encrypted_assertion(
    plaintext: &str,
    sp_certificate: &Certificate,
    encryption: Encryption,
) -> Result<String, Error> {
    encrypt::encrypt_element(
        plaintext,
        sp_certificate,
        encryption,
        "saml2:EncryptedAssertion",
        "xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
    )
}

/// The test IdP.
#[derive(Debug, Clone)]
pub struct TestIdp {
    entity_id: String,
    cert: Certificate,
    key: SigningKey,
    other: SigningKey,
    encrypt_to: Option<(Certificate, Encryption)>,
    /// Other SPs' Single Logout URLs, told when one SP's user signs out (front-channel SLO).
    logout_peers: Vec<String>,
    /// SP-initiated logouts in progress through the peers, by the RelayState token sent along.
    pending_logouts:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, PendingLogout>>>,
    /// The SPs its web pages serve: (entity ID, ACS URL). Its login pages answer no other ACS.
    service_providers: Vec<(String, String)>,
    /// The signing key's PEM, when it was generated or loaded (never the fixed test key's).
    key_pem: Option<String>,
}

/// An SP-initiated logout the test IdP is propagating to its other SPs.
#[derive(Debug, Clone)]
struct PendingLogout {
    /// The first SP's LogoutRequest ID, answered once every peer is done.
    request_id: String,
    /// The first SP's RelayState.
    relay_state: Option<String>,
    /// The first SP's SLO URL.
    sp_slo_url: String,
    /// The user.
    session: crate::logout::SessionRecord,
    /// Peers not told yet.
    remaining: Vec<String>,
}

impl TestIdp {
    /// The test IdP with the crate's fixed, published test key.
    ///
    /// # Panics
    /// Never in practice: the embedded key and certificate are known to parse (a unit test checks).
    #[allow(clippy::expect_used)]
    pub fn fixed(entity_id: impl Into<String>) -> Self {
        let cert =
            |pem: &str| Certificate::parse(pem.as_bytes()).expect("embedded test certificate");
        let key = |pem: &str, c: Certificate| {
            SigningKey::from_pem(pem, Some(c)).expect("embedded test key")
        };
        TestIdp {
            entity_id: entity_id.into(),
            cert: cert(CERT),
            key: key(KEY, cert(CERT)),
            other: key(OTHER_KEY, cert(OTHER_CERT)),
            encrypt_to: None,
            logout_peers: Vec::new(),
            pending_logouts: std::sync::Arc::default(),
            service_providers: Vec::new(),
            key_pem: None,
        }
    }

    /// A test IdP with a key and certificate stored earlier (PEM; for example from
    /// [`TestIdp::key_pem`] and [`TestIdp::certificate_pem`] of a generated one): the same IdP
    /// after the app restarts, so the SSO configurations stored with its certificate keep
    /// verifying. Its second key (the successor for rotation tests) is generated now.
    ///
    /// # Errors
    /// [`Error::Config`] when the key or certificate does not parse or they do not match;
    /// when the system random number generator fails.
    pub fn from_pem(
        entity_id: impl Into<String>,
        key_pem: &str,
        certificate_pem: &str,
    ) -> Result<Self, Error> {
        let cert = Certificate::parse(certificate_pem.as_bytes())?;
        let key = SigningKey::from_pem(key_pem, Some(cert.clone()))?;
        let other = selfsigned::generate("saml-sp test IdP (untrusted)", Utc::now())?;
        Ok(TestIdp {
            entity_id: entity_id.into(),
            cert,
            key,
            other: other.key,
            encrypt_to: None,
            logout_peers: Vec::new(),
            pending_logouts: std::sync::Arc::default(),
            service_providers: Vec::new(),
            key_pem: Some(key_pem.to_owned()),
        })
    }

    /// The signing key as PKCS#8 PEM, for a generated or loaded IdP (to store it and rebuild the
    /// same IdP with [`TestIdp::from_pem`]); `None` for [`TestIdp::fixed`], whose key is the
    /// crate's published test key.
    pub fn key_pem(&self) -> Option<&str> {
        self.key_pem.as_deref()
    }

    /// The signing certificate as PEM.
    pub fn certificate_pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.cert.der());
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// A test IdP with a fresh RSA-2048 key and self-signed certificate, generated now: nobody
    /// else can sign as it. For demos that people can reach; tests use [`TestIdp::fixed`] (fast,
    /// reproducible).
    ///
    /// # Errors
    /// [`Error::Config`] when the system random number generator fails.
    pub fn generate(entity_id: impl Into<String>) -> Result<Self, Error> {
        let now = Utc::now();
        let main = selfsigned::generate("saml-sp test IdP (generated)", now)?;
        let other = selfsigned::generate("saml-sp test IdP (untrusted)", now)?;
        Ok(TestIdp {
            entity_id: entity_id.into(),
            cert: main.certificate,
            key: main.key,
            other: other.key,
            encrypt_to: None,
            logout_peers: Vec::new(),
            pending_logouts: std::sync::Arc::default(),
            service_providers: Vec::new(),
            key_pem: Some(main.key_pem),
        })
    }

    /// Encrypts every Assertion this IdP issues (its web pages included) to `sp_certificate`, as
    /// an IdP does once the SP's metadata publishes an encryption certificate.
    #[must_use]
    pub fn encrypting_for(mut self, sp_certificate: Certificate, encryption: Encryption) -> Self {
        self.encrypt_to = Some((sp_certificate, encryption));
        self
    }

    /// Signs the element whose `ID` is `id` in `xml` with this IdP's key (an enveloped RSA-SHA256
    /// signature, as [`ResponseBuilder::build`] makes): for tests and fuzzing that change a
    /// Response and need it signed again.
    ///
    /// # Errors
    /// As [`crate::dsig::sign_enveloped`].
    pub fn sign(&self, xml: &str, id: &str) -> Result<String, Error> {
        sign_enveloped(xml, id, &self.key, SignatureAlgorithm::RsaSha256)
    }

    /// The same IdP after a signing-key rotation: the same entity ID, signing with its second
    /// key (whose certificate is [`TestIdp::certificate`] of the result). For rotation tests.
    pub fn successor(&self) -> Option<TestIdp> {
        Some(TestIdp {
            entity_id: self.entity_id.clone(),
            cert: self.other.certificate()?.clone(),
            key: self.other.clone(),
            other: self.key.clone(),
            encrypt_to: self.encrypt_to.clone(),
            logout_peers: self.logout_peers.clone(),
            pending_logouts: std::sync::Arc::default(),
            service_providers: self.service_providers.clone(),
            key_pem: None,
        })
    }

    /// An SP its web pages ([`TestIdp::sso_page`], [`TestIdp::login_submit`]) serve: the SP
    /// entity ID and its ACS URL (http or https). They refuse every other ACS URL, so a page on
    /// another site cannot make the test IdP post to a URL of its choosing (a `javascript:` URL,
    /// say, which would run on the IdP's origin).
    #[must_use]
    pub fn serving(mut self, sp_entity_id: impl Into<String>, acs_url: impl Into<String>) -> Self {
        self.service_providers
            .push((sp_entity_id.into(), acs_url.into()));
        self
    }

    /// Whether the web pages serve the SP `sp` at `acs`.
    fn check_served(&self, sp: &str, acs: &str) -> Result<(), Error> {
        let http = acs
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
            || acs
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("http://"));
        if http
            && self
                .service_providers
                .iter()
                .any(|(e, a)| e == sp && a == acs)
        {
            Ok(())
        } else {
            Err(Error::Binding(format!(
                "the test IdP serves no SP {sp:?} with the ACS URL {acs:?}"
            )))
        }
    }

    /// The IdP entity ID.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The signing certificate an SP must trust.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The IdP's metadata (HTTP-Redirect and HTTP-POST SSO at `sso_url`; HTTP-Redirect Single
    /// Logout at the same URL with `/sso` replaced by `/slo`).
    pub fn metadata_xml(&self, sso_url: &str) -> String {
        use base64::Engine as _;
        let cert = base64::engine::general_purpose::STANDARD.encode(self.certificate().der());
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{e}\"><md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{slo}\"/><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{s}\"/><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{s}\"/></md:IDPSSODescriptor></md:EntityDescriptor>\n",
            e = escape_attr(&self.entity_id),
            s = escape_attr(sso_url),
            slo = escape_attr(&sso_url.replace("/sso", "/slo")),
        )
    }

    /// Starts a Response for the SP `audience` at `acs_url`.
    pub fn response(&self, audience: &str, acs_url: &str) -> ResponseBuilder<'_> {
        ResponseBuilder {
            idp: self,
            audience: audience.to_owned(),
            acs_url: acs_url.to_owned(),
            in_response_to: None,
            user: TestUser::new("user@example.com"),
            style: AttributeStyle::Okta,
            shape: SignShape::Both,
            defect: None,
            lifetime: Duration::minutes(5),
            encrypt_for: self.encrypt_to.clone(),
        }
    }
}

/// Builder for one signed Response.
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseBuilder<'a> {
    idp: &'a TestIdp,
    audience: String,
    acs_url: String,
    in_response_to: Option<String>,
    user: TestUser,
    style: AttributeStyle,
    shape: SignShape,
    defect: Option<Defect>,
    lifetime: Duration,
    encrypt_for: Option<(Certificate, Encryption)>,
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
            "<saml2p:Response xmlns:saml2p=\"urn:oasis:names:tc:SAML:2.0:protocol\" Destination=\"{acs}\" ID=\"{rid}\"{irt} IssueInstant=\"{t}\" Version=\"2.0\"><saml2:Issuer xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">{issuer}</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></saml2p:Status><saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"{aid}\" IssueInstant=\"{t}\" Version=\"2.0\"><saml2:Issuer>{issuer}</saml2:Issuer><saml2:Subject><saml2:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">{nameid}</saml2:NameID><saml2:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml2:SubjectConfirmationData{irt} NotOnOrAfter=\"{noa}\" Recipient=\"{acs}\"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml2:AudienceRestriction><saml2:Audience>{aud}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"{t}\" SessionIndex=\"{aid}\"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement>{attrs}</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>",
            acs = escape_attr(&self.acs_url),
            nameid = escape_text(&u.email),
            aud = escape_text(audience),
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

/// The test IdP's web pages, framework-agnostic: mount [`TestIdp::sso_page`] on `GET` (HTTP-Redirect
/// binding) and `POST` (HTTP-POST binding) of its SSO URL, and [`TestIdp::login_submit`] on the
/// login form's `POST`. IdP-initiated login: [`TestIdp::idp_initiated`].
///
/// The login form's fields (what a browser test fills in, and what [`TestIdp::login_submit`]
/// reads): `email` (the NameID and the `email` attribute), `first_name`, `last_name`, `groups`
/// (comma-separated), each an `<input>` with the same `id`; the submit button has the id
/// `sign-in`; hidden fields carry the SP's request: `request_id` (the AuthnRequest's ID, empty
/// for an IdP-initiated login), `acs`, `sp` and `RelayState`. The IdP-initiated logout page has the field `email` (id `logout-email`)
/// and the button `idp-logout`.
impl TestIdp {
    /// The login form for an AuthnRequest received at the SSO URL, as raw query string (Redirect
    /// binding) or form body (POST binding). `form_action` is where the form posts.
    ///
    /// # Errors
    /// [`Error::Binding`] or XML errors for a missing or malformed AuthnRequest.
    pub fn sso_page(&self, query_or_body: &str, form_action: &str) -> Result<String, Error> {
        let params = crate::binding::params::parse_params(query_or_body)?;
        let get = |n: &str| params.iter().find(|p| p.name == n).map(|p| p.value.clone());
        let saml_request =
            get("SAMLRequest").ok_or_else(|| Error::Binding("no SAMLRequest".into()))?;
        // Redirect binding: deflated; POST binding: plain base64.
        let raw = crate::crypto::decode_base64(&saml_request)
            .ok_or_else(|| Error::Binding("SAMLRequest is not base64".into()))?;
        let xml = crate::binding::inflate(&raw, &crate::binding::InflateOptions::default())
            .unwrap_or(raw);
        let doc = crate::xml::Document::parse(&xml)?;
        let req = doc.root();
        let id = req.attribute("ID").unwrap_or_default();
        let acs = req
            .attribute("AssertionConsumerServiceURL")
            .unwrap_or_default();
        let sp = req
            .child_elements()
            .find(|e| e.local_name() == "Issuer")
            .map(|e| e.text())
            .unwrap_or_default();
        self.check_served(&sp, acs)?;
        Ok(login_form(
            form_action,
            &[
                ("request_id", id),
                ("acs", acs),
                ("sp", &sp),
                ("RelayState", &get("RelayState").unwrap_or_default()),
            ],
        ))
    }

    /// Handles the login form's POST: returns an auto-submitting page that posts a signed
    /// Response (both Response and Assertion signed) to the SP's ACS, with the
    /// Content-Security-Policy to serve it under.
    ///
    /// # Errors
    /// [`Error::Binding`] for a malformed form or an SP this IdP does not serve
    /// ([`TestIdp::serving`]); signing errors.
    pub fn login_submit(
        &self,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::binding::PostPage, Error> {
        let params = crate::binding::params::parse_params(body)?;
        let get = |n: &str| {
            params
                .iter()
                .find(|p| p.name == n)
                .map(|p| p.value.clone())
                .unwrap_or_default()
        };
        let (acs, sp) = (get("acs"), get("sp"));
        if acs.is_empty() || sp.is_empty() {
            return Err(Error::Binding(
                "the login form lacks the SP's ACS URL or entity ID".into(),
            ));
        }
        self.check_served(&sp, &acs)?;
        let mut user = TestUser::new(get("email"));
        let (first, last) = (get("first_name"), get("last_name"));
        if !first.is_empty() || !last.is_empty() {
            user = user.name(first, last);
        }
        user = user.groups(
            get("groups")
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty()),
        );
        let mut b = self.response(&sp, &acs).user(user);
        let request_id = get("request_id");
        if !request_id.is_empty() {
            b = b.in_response_to(request_id);
        }
        let relay = get("RelayState");
        Ok(crate::binding::post_form(
            &acs,
            "SAMLResponse",
            &b.build_base64(now)?,
            (!relay.is_empty()).then_some(relay.as_str()),
        ))
    }

    /// The login form for an IdP-initiated login to the SP `sp_entity_id` at `acs_url`.
    pub fn idp_initiated(&self, sp_entity_id: &str, acs_url: &str, form_action: &str) -> String {
        login_form(
            form_action,
            &[
                ("request_id", ""),
                ("acs", acs_url),
                ("sp", sp_entity_id),
                ("RelayState", ""),
            ],
        )
    }
}

/// Single Logout at the test IdP: signed LogoutRequests and LogoutResponses on both bindings, and
/// a logout page for the SP-initiated flow.
impl TestIdp {
    fn logout_xml(
        &self,
        root: &str,
        id: &str,
        destination: &str,
        rest: &str,
        now: DateTime<Utc>,
    ) -> String {
        format!(
            "<samlp:{root} xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{t}\" Destination=\"{d}\"{rest}",
            t = format_instant(now),
            d = escape_attr(destination),
        )
    }

    fn new_id() -> Result<String, Error> {
        let mut b = [0u8; 16];
        crate::crypto::random_bytes(&mut b)?;
        Ok(format!("_l{}", crate::crypto::hex(&b)))
    }

    fn logout_request_xml(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let id = Self::new_id()?;
        let mut rest = format!(
            " NotOnOrAfter=\"{}\"><saml:Issuer>{}</saml:Issuer>{}",
            format_instant(now + Duration::minutes(5)),
            escape_text(&self.entity_id),
            crate::logout::request::name_id_xml(&session.name_id)
        );
        if let Some(i) = &session.session_index {
            rest.push_str(&format!(
                "<samlp:SessionIndex>{}</samlp:SessionIndex>",
                escape_text(i)
            ));
        }
        rest.push_str("</samlp:LogoutRequest>");
        let xml = self.logout_xml("LogoutRequest", &id, destination, &rest, now);
        Ok((id, xml))
    }

    fn logout_response_xml(
        &self,
        in_response_to: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let id = Self::new_id()?;
        let rest = format!(
            " InResponseTo=\"{}\"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:LogoutResponse>",
            escape_attr(in_response_to),
            escape_text(&self.entity_id)
        );
        Ok((
            id.clone(),
            self.logout_xml("LogoutResponse", &id, destination, &rest, now),
        ))
    }

    /// An IdP-initiated `LogoutRequest` ending `session`, as an HTTP-Redirect URL to the SP's
    /// Single Logout URL `destination`, signed over the query. Returns (request ID, URL).
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_request_redirect(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        self.logout_request_redirect_with(session, destination, "idp-relay", now)
    }

    fn logout_request_redirect_with(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        relay_state: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let (id, xml) = self.logout_request_xml(session, destination, now)?;
        let q = crate::binding::redirect_query(
            "SAMLRequest",
            xml.as_bytes(),
            Some(relay_state),
            Some((&self.key, SignatureAlgorithm::RsaSha256)),
        )?;
        Ok((id, format!("{destination}?{q}")))
    }

    /// Other SPs trusting this IdP, by Single Logout URL: when one SP's user signs out
    /// (SP-initiated), the IdP sends each of them a LogoutRequest for that user before answering
    /// the first SP, as a real IdP ends a user's sessions in every app (front-channel SLO).
    #[must_use]
    pub fn with_logout_peers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        slo_urls: I,
    ) -> Self {
        self.logout_peers = slo_urls.into_iter().map(Into::into).collect();
        self
    }

    /// The next step of a logout being propagated: a LogoutRequest to the next peer, or the
    /// final LogoutResponse to the first SP.
    fn continue_logout(
        &self,
        token: &str,
        mut pending: PendingLogout,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        if let Some(peer) = pending.remaining.pop() {
            let (_, url) =
                self.logout_request_redirect_with(&pending.session, &peer, token, now)?;
            self.pending_logouts
                .lock()
                .map_err(|_| Error::Binding("the test IdP's logout state is poisoned".into()))?
                .insert(token.to_owned(), pending);
            return Ok(url);
        }
        let (_, xml) = self.logout_response_xml(&pending.request_id, &pending.sp_slo_url, now)?;
        let q = crate::binding::redirect_query(
            "SAMLResponse",
            xml.as_bytes(),
            pending.relay_state.as_deref(),
            Some((&self.key, SignatureAlgorithm::RsaSha256)),
        )?;
        Ok(format!("{}?{q}", pending.sp_slo_url))
    }

    /// The same `LogoutRequest` for HTTP-POST: (request ID, base64 of the enveloped-signed XML).
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_request_post(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        use base64::Engine as _;
        let (id, xml) = self.logout_request_xml(session, destination, now)?;
        let signed = sign_enveloped(&xml, &id, &self.key, SignatureAlgorithm::RsaSha256)?;
        Ok((id, base64::engine::general_purpose::STANDARD.encode(signed)))
    }

    /// A `Success` `LogoutResponse` to the SP's LogoutRequest `in_response_to`, as an
    /// HTTP-Redirect URL to the SP's Single Logout URL `destination`, signed over the query.
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_response_redirect(
        &self,
        in_response_to: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let (_, xml) = self.logout_response_xml(in_response_to, destination, now)?;
        let q = crate::binding::redirect_query(
            "SAMLResponse",
            xml.as_bytes(),
            None,
            Some((&self.key, SignatureAlgorithm::RsaSha256)),
        )?;
        Ok(format!("{destination}?{q}"))
    }

    /// The same `LogoutResponse` for HTTP-POST (base64 of the enveloped-signed XML).
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_response_post(
        &self,
        in_response_to: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        use base64::Engine as _;
        let (id, xml) = self.logout_response_xml(in_response_to, destination, now)?;
        let signed = sign_enveloped(&xml, &id, &self.key, SignatureAlgorithm::RsaSha256)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signed))
    }

    /// The test IdP's Single Logout page for an SP-initiated logout: reads the SP's
    /// `LogoutRequest` from the Redirect query (its signature is not checked: this IdP trusts
    /// every SP) and returns the URL that sends the browser back to `sp_slo_url` with a signed
    /// `Success` `LogoutResponse`, carrying the request's RelayState.
    ///
    /// # Errors
    /// [`Error::Binding`] or XML errors for a missing or malformed LogoutRequest.
    pub fn slo_redirect(
        &self,
        query: &str,
        sp_slo_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let m = crate::binding::decode_redirect(query, &crate::binding::InflateOptions::default())?;
        let doc = crate::xml::Document::parse(&m.xml)?;
        let root = doc.root();
        if root.local_name() != "LogoutRequest" {
            return Err(Error::Binding(
                "the test IdP's SLO endpoint expects a LogoutRequest".into(),
            ));
        }
        let id = root.attribute("ID").unwrap_or_default();
        let name_id = root
            .child_elements()
            .find(|e| e.local_name() == "NameID")
            .map(|e| crate::sp::assertion::NameId {
                value: e.text(),
                format: e.attribute("Format").map(str::to_owned),
                name_qualifier: None,
                sp_name_qualifier: None,
                sp_provided_id: None,
            });
        let pending = PendingLogout {
            request_id: id.to_owned(),
            relay_state: m.relay_state.clone(),
            sp_slo_url: sp_slo_url.to_owned(),
            remaining: match &name_id {
                Some(_) => self
                    .logout_peers
                    .iter()
                    .filter(|p| *p != sp_slo_url)
                    .rev()
                    .cloned()
                    .collect(),
                None => Vec::new(),
            },
            session: crate::logout::SessionRecord {
                issuer: self.entity_id.clone(),
                name_id: name_id.unwrap_or(crate::sp::assertion::NameId {
                    value: String::new(),
                    format: None,
                    name_qualifier: None,
                    sp_name_qualifier: None,
                    sp_provided_id: None,
                }),
                session_index: None,
                session_not_on_or_after: None,
            },
        };
        let mut token = [0u8; 12];
        crate::crypto::random_bytes(&mut token)?;
        self.continue_logout(&format!("slo-{}", crate::crypto::hex(&token)), pending, now)
    }
}

/// The test IdP's Single Logout web pages, framework-agnostic like its login pages: mount
/// [`TestIdp::slo_page`] on `GET` of its SLO URL, [`TestIdp::logout_form`] on a page of your
/// choice and [`TestIdp::logout_submit`] on that form's `POST`.
impl TestIdp {
    /// The SLO endpoint's page. A `LogoutRequest` from the SP (SP-initiated logout) is answered
    /// with a page that sends the browser to `sp_slo_url` with a signed `Success`
    /// `LogoutResponse`; a `LogoutResponse` from the SP (the end of an IdP-initiated logout) gets
    /// a "signed out" page (`id="idp-signed-out"`, the status shown in `id="idp-logout-status"`).
    ///
    /// # Errors
    /// [`Error::Binding`] or XML errors for a missing or malformed message.
    pub fn slo_page(
        &self,
        query: &str,
        sp_slo_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        if query.contains("SAMLResponse=") {
            let m =
                crate::binding::decode_redirect(query, &crate::binding::InflateOptions::default())?;
            // A peer answering a logout this IdP is propagating: on to the next one.
            let pending = m.relay_state.as_deref().and_then(|r| {
                self.pending_logouts
                    .lock()
                    .ok()
                    .and_then(|mut p| p.remove(r))
                    .map(|p| (r.to_owned(), p))
            });
            if let Some((token, pending)) = pending {
                return Ok(redirect_page(&self.continue_logout(&token, pending, now)?));
            }
            let doc = crate::xml::Document::parse(&m.xml)?;
            let status = doc
                .root()
                .child_elements()
                .find(|e| e.local_name() == "Status")
                .and_then(|s| s.child_elements().next())
                .and_then(|c| c.attribute("Value"))
                .unwrap_or("")
                .rsplit(':')
                .next()
                .unwrap_or("")
                .to_owned();
            return Ok(format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saml-sp test IdP</title></head><body><h1 id=\"idp-signed-out\">Signed out at the test IdP</h1><p>The application answered: <span id=\"idp-logout-status\">{}</span></p></body></html>\n",
                escape_text(&status)
            ));
        }
        Ok(redirect_page(&self.slo_redirect(query, sp_slo_url, now)?))
    }

    /// A form that starts an IdP-initiated logout of a user (by email NameID) at the SP.
    pub fn logout_form(&self, form_action: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saml-sp test IdP</title></head><body><h1>saml-sp test IdP: sign a user out everywhere</h1><form method=\"post\" action=\"{}\"><label>Email <input name=\"email\" id=\"logout-email\" value=\"ada@example.com\"/></label> <button type=\"submit\" id=\"idp-logout\">Sign out at the apps</button></form></body></html>\n",
            escape_attr(form_action)
        )
    }

    /// The logout form's `POST`: a page that sends the browser to `sp_slo_url` with a signed
    /// `LogoutRequest` for the email's NameID (every session of it).
    ///
    /// # Errors
    /// [`Error::Binding`] for a form without an email; signing errors.
    pub fn logout_submit(
        &self,
        body: &str,
        sp_slo_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let params = crate::binding::params::parse_params(body)?;
        let email = params
            .iter()
            .find(|p| p.name == "email")
            .map(|p| p.value.clone())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| Error::Binding("the logout form lacks an email".into()))?;
        let session = crate::logout::SessionRecord {
            issuer: self.entity_id.clone(),
            name_id: crate::sp::assertion::NameId {
                value: email,
                format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
                name_qualifier: None,
                sp_name_qualifier: None,
                sp_provided_id: None,
            },
            session_index: None,
            session_not_on_or_after: None,
        };
        let (_, url) = self.logout_request_redirect(&session, sp_slo_url, now)?;
        Ok(redirect_page(&url))
    }
}

/// A page that sends the browser on to `url` at once (a meta refresh, with a link).
fn redirect_page(url: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={u}\"><title>saml-sp test IdP</title></head><body><p><a href=\"{u}\">Continue</a></p></body></html>\n",
        u = escape_attr(url)
    )
}

fn login_form(action: &str, hidden: &[(&str, &str)]) -> String {
    let mut h = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saml-sp test IdP</title></head><body>",
    );
    h.push_str("<h1>saml-sp test IdP</h1><p>A test identity provider: it signs in anyone. Never use it in production.</p>");
    h.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape_attr(action)
    ));
    for (k, v) in hidden {
        h.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
            escape_attr(k),
            escape_attr(v)
        ));
    }
    h.push_str(
        "<label>Email <input name=\"email\" id=\"email\" value=\"ada@example.com\"/></label><br/>",
    );
    h.push_str("<label>First name <input name=\"first_name\" id=\"first_name\" value=\"Ada\"/></label><br/>");
    h.push_str("<label>Last name <input name=\"last_name\" id=\"last_name\" value=\"Lovelace\"/></label><br/>");
    h.push_str("<label>Groups <input name=\"groups\" id=\"groups\" value=\"engineering, admins\"/></label><br/>");
    h.push_str("<button type=\"submit\" id=\"sign-in\">Sign in</button></form></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SP that trusts `idp`, at https://sp.example.com.
    fn sp_for(idp: &TestIdp) -> crate::sp::config::ServiceProvider {
        crate::sp::config::ServiceProvider::builder(
            "https://sp.example.com/m",
            "https://sp.example.com/acs",
            crate::IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()]).unwrap(),
        )
        .build()
        .unwrap()
    }

    #[test]
    fn extra_attributes_are_merged_by_name_in_document_order() {
        let idp = TestIdp::fixed("https://test-idp.example.com/metadata");
        let sp = sp_for(&idp);
        let now = Utc::now();
        let mut user = TestUser::new("ada@example.com")
            .attribute("department", ["R&D"])
            .attribute("role", ["admin", "owner"]);
        for i in 0..300 {
            user = user.attribute(format!("claim-{i}"), [i.to_string()]);
        }
        // A second Attribute element with an earlier Name: its values join the first one's.
        user = user.attribute("department", ["Research"]);
        let xml = idp
            .response("https://sp.example.com/m", "https://sp.example.com/acs")
            .in_response_to("_r")
            .user(user)
            .build(now)
            .unwrap();
        let a = sp
            .validate_response(xml.as_bytes(), Some("_r"), now)
            .unwrap();
        let names: Vec<&str> = a.attributes().iter().map(|x| x.name()).collect();
        assert_eq!(
            names.len(),
            1 + 2 + 300,
            "email, department, role, 300 claims"
        );
        assert_eq!(names[..3], ["email", "department", "role"]);
        assert_eq!(names[3], "claim-0");
        assert_eq!(names[302], "claim-299");
        assert_eq!(a.attribute("department"), ["R&D", "Research"]);
        assert_eq!(a.attribute("role"), ["admin", "owner"]);
        assert_eq!(a.attribute("claim-157"), ["157"]);
    }

    #[test]
    fn embedded_keys_parse_and_every_shape_validates() {
        let idp = TestIdp::fixed("https://test-idp.example.com/metadata");
        let sp = sp_for(&idp);
        let now = Utc::now();
        for shape in [SignShape::Assertion, SignShape::Response, SignShape::Both] {
            let xml = idp
                .response("https://sp.example.com/m", "https://sp.example.com/acs")
                .in_response_to("_r")
                .sign(shape)
                .build(now)
                .unwrap();
            let a = sp
                .validate_response(xml.as_bytes(), Some("_r"), now)
                .unwrap();
            assert_eq!(a.name_id().unwrap().value, "user@example.com");
        }
        let bad = |d: Defect| {
            idp.response("https://sp.example.com/m", "https://sp.example.com/acs")
                .in_response_to("_r")
                .defect(d)
                .build(now)
                .unwrap()
        };
        assert_eq!(
            sp.validate_response(bad(Defect::Expired).as_bytes(), Some("_r"), now)
                .unwrap_err()
                .code(),
            "expired"
        );
        assert_eq!(
            sp.validate_response(bad(Defect::WrongAudience).as_bytes(), Some("_r"), now)
                .unwrap_err()
                .code(),
            "audience_mismatch"
        );
        assert_eq!(
            sp.validate_response(bad(Defect::WrongKey).as_bytes(), Some("_r"), now)
                .unwrap_err()
                .code(),
            "untrusted_key"
        );
        let unsigned = idp
            .response("https://sp.example.com/m", "https://sp.example.com/acs")
            .in_response_to("_r")
            .sign(SignShape::Unsigned)
            .build(now)
            .unwrap();
        assert_eq!(
            sp.validate_response(unsigned.as_bytes(), Some("_r"), now)
                .unwrap_err()
                .code(),
            "signature_missing"
        );
    }
}
