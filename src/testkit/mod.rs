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
mod logout;
mod pages;
mod response;
mod selfsigned;
pub use encrypt::Encryption;
pub use response::ResponseBuilder;
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
            authn_context: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
                .into(),
            authn_age: Duration::zero(),
        }
    }
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
