//! The SP's decryption keys: RSA private keys (PKCS#8 or PKCS#1 PEM), each optionally with its
//! certificate, so an `EncryptedKey` that names a certificate or key name picks its key.

use std::sync::Arc;

use rsa::traits::PublicKeyParts;

use crate::crypto::Certificate;
use crate::error::Error;

/// A digest of RSA-OAEP (the label hash, or MGF1's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OaepDigest {
    /// SHA-1 (`rsa-oaep-mgf1p`'s).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// The padding of an RSA decryption a [`Decrypter`] performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsaPadding<'a> {
    /// RSA-OAEP with these digests and label.
    Oaep {
        /// The label's digest.
        digest: OaepDigest,
        /// MGF1's digest.
        mgf: OaepDigest,
        /// The label (`OAEPparams`), if any.
        label: Option<&'a [u8]>,
    },
    /// PKCS#1 v1.5 (`rsa-1_5`; only with the legacy-crypto option).
    Pkcs1v15,
}

/// An SP private key kept outside the process (an HSM, a key service): it unwraps
/// `EncryptedKey`s, and the private key never enters the process. The in-memory
/// [`DecryptionKey::from_pem`] is the other implementation; the PKCS#11 one is
/// `saml_sp::hsm::Pkcs11Token` (feature `pkcs11`).
///
/// Everything before a signature verifies belongs to the attacker: an implementation must
/// answer a ciphertext that does not decrypt with an error and nothing else (the caller turns
/// every failure into the one `decryption_failed`).
pub trait Decrypter: Send + Sync + std::fmt::Debug {
    /// Decrypts `ciphertext` with `padding`.
    ///
    /// # Errors
    /// Any failure (the caller does not distinguish them).
    fn decrypt(&self, padding: RsaPadding<'_>, ciphertext: &[u8]) -> Result<Vec<u8>, Error>;
}

/// The private half of a decryption key.
#[derive(Clone)]
pub(crate) enum PrivateKey {
    Memory(Box<rsa::PrivateKey>),
    External(Arc<dyn Decrypter>),
}

/// An SP decryption key. Several may be configured (rotation): the one an `EncryptedKey` names
/// by certificate or key name is used, otherwise each is tried.
///
/// SP decryption keys are the SP's own choice, so keys of 1024-2047 bits load (with a
/// `tracing` warning); IdP signing keys of that size still need the legacy-crypto option.
#[derive(Clone)]
pub struct DecryptionKey {
    pub(crate) key: PrivateKey,
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
            key: PrivateKey::Memory(Box::new(key)),
            certificate: None,
            name: None,
        })
    }

    /// A key whose private operations `decrypter` performs (an HSM: the private key never
    /// enters the process), with its certificate (published in SP metadata; its public key is
    /// the one `EncryptedKey`s are matched against).
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_decryption_key`) when the certificate's key is not RSA.
    pub fn from_decrypter(
        decrypter: Arc<dyn Decrypter>,
        certificate: Certificate,
    ) -> Result<DecryptionKey, Error> {
        if certificate.rsa_public_key().is_none() {
            return Err(Error::Config {
                field: "sp_decryption_key",
                reason: "the certificate's key is not RSA".into(),
            });
        }
        Ok(DecryptionKey {
            key: PrivateKey::External(decrypter),
            certificate: Some(certificate),
            name: None,
        })
    }

    /// Whether this key's public half is `public`.
    pub(crate) fn is_public_key(&self, public: &rsa::PublicKey) -> bool {
        match &self.key {
            PrivateKey::Memory(k) => k.n() == public.n() && k.e() == public.e(),
            PrivateKey::External(_) => self
                .certificate
                .as_ref()
                .and_then(|c| c.rsa_public_key())
                .is_some_and(|p| p.n() == public.n() && p.e() == public.e()),
        }
    }

    /// The certificate published for this key (in SP metadata): an `EncryptedKey` whose
    /// `KeyInfo` carries it selects this key.
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_decryption_key`) when the certificate's key is not this key.
    pub fn with_certificate(mut self, certificate: Certificate) -> Result<Self, Error> {
        let matches = certificate
            .rsa_public_key()
            .is_some_and(|p| self.is_public_key(p));
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
        match &self.key {
            PrivateKey::Memory(k) => k.size() * 8,
            PrivateKey::External(_) => self
                .certificate
                .as_ref()
                .and_then(|c| c.rsa_public_key())
                .map_or(0, |p| p.size() * 8),
        }
    }

    /// The certificate, when one was given.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }
}
