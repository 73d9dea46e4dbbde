//! The SP's decryption keys: RSA private keys (PKCS#8 or PKCS#1 PEM), each optionally with its
//! certificate, so an `EncryptedKey` that names a certificate or key name picks its key.

use rsa::traits::PublicKeyParts;

use crate::crypto::Certificate;
use crate::error::Error;

/// An SP decryption key. Several may be configured (rotation): the one an `EncryptedKey` names
/// by certificate or key name is used, otherwise each is tried.
///
/// SP decryption keys are the SP's own choice, so keys of 1024-2047 bits load (with a
/// `tracing` warning); IdP signing keys of that size still need the legacy-crypto option.
#[derive(Clone)]
pub struct DecryptionKey {
    pub(crate) key: rsa::PrivateKey,
    pub(crate) certificate: Option<Certificate>,
    pub(crate) name: Option<String>,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("key", &format_args!("RSA-{} [redacted]", self.bits()))
            .field("certificate", &self.certificate)
            .field("name", &self.name)
            .finish()
    }
}

impl DecryptionKey {
    /// Loads an RSA private key from PEM (`PRIVATE KEY` PKCS#8 or `RSA PRIVATE KEY` PKCS#1).
    ///
    /// ```
    /// # let pem = saml_sp::testkit::generate_key("sp", chrono::Utc::now())?.key_pem;
    /// let key = saml_sp::xmlenc::DecryptionKey::from_pem(&pem)?;
    /// assert_eq!(key.bits(), 2048);
    /// # Ok::<(), saml_sp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_decryption_key`) when it is not an RSA private key in PEM, or is
    /// smaller than 1024 bits.
    pub fn from_pem(pem: &str) -> Result<DecryptionKey, Error> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let bad = |reason: String| Error::Config {
            field: "sp_decryption_key",
            reason,
        };
        let key = rsa::PrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| bad(format!("not an RSA private key in PEM: {e}")))?;
        let bits = key.size() * 8;
        if bits < 1024 {
            return Err(bad(format!("RSA-{bits} is too small")));
        }
        if bits < 2048 {
            tracing::warn!(
                bits,
                "SP decryption key under 2048 bits: replace it at the next rotation"
            );
        }
        Ok(DecryptionKey {
            key,
            certificate: None,
            name: None,
        })
    }

    /// The certificate published for this key (in SP metadata): an `EncryptedKey` whose
    /// `KeyInfo` carries it selects this key.
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_decryption_key`) when the certificate's key is not this key.
    pub fn with_certificate(mut self, certificate: Certificate) -> Result<Self, Error> {
        let matches = certificate
            .rsa_public_key()
            .is_some_and(|p| p.n() == self.key.n() && p.e() == self.key.e());
        if !matches {
            return Err(Error::Config {
                field: "sp_decryption_key",
                reason: "the private key does not match the certificate".into(),
            });
        }
        self.certificate = Some(certificate);
        Ok(self)
    }

    /// A key name: an `EncryptedKey` whose `KeyInfo/KeyName` equals it selects this key.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    /// The certificate, when one was given.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }
}
