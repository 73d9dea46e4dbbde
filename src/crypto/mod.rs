//! The cryptography saml-sp uses, behind one small module: digests, certificate parsing, and
//! signature verification (RSA PKCS#1 v1.5 and ECDSA P-256/P-384, RustCrypto).
//!
//! Keys are parsed once, when an IdP certificate is configured, never per response.

use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use crate::xml::c14n::Sink;

pub(crate) mod b64;
mod rsa_pkcs1;
use crate::error::Error;

/// A signature algorithm of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-1 (legacy option only).
    RsaSha1,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaSha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaSha512,
    /// ECDSA with SHA-256 (P-256 or P-384 key).
    EcdsaSha256,
    /// ECDSA with SHA-384 (P-256 or P-384 key).
    EcdsaSha384,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 6931 `sha256-rsa-MGF1`).
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
    RsaPssSha512,
}

impl SignatureAlgorithm {
    /// Maps an XML-DSig `SignatureMethod` URI onto the allow-list.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for HMAC, DSA, MD5, RSA-PSS with SHA-1 or explicit
    /// parameters, unknown or empty URIs.
    pub fn from_uri(uri: &str) -> Result<SignatureAlgorithm, Error> {
        Ok(match uri {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => SignatureAlgorithm::RsaSha1,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => SignatureAlgorithm::RsaSha256,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => SignatureAlgorithm::RsaSha384,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => SignatureAlgorithm::RsaSha512,
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => {
                SignatureAlgorithm::EcdsaSha256
            }
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => {
                SignatureAlgorithm::EcdsaSha384
            }
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1" => {
                SignatureAlgorithm::RsaPssSha256
            }
            "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1" => {
                SignatureAlgorithm::RsaPssSha384
            }
            "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1" => {
                SignatureAlgorithm::RsaPssSha512
            }
            u => {
                let reason = if u.contains("hmac") {
                    "HMAC signatures are never accepted: the verification key would be public"
                } else if u.is_empty() {
                    "empty algorithm URI"
                } else {
                    "not an allowed SignatureMethod (RSA-SHA256/384/512, RSA-PSS SHA-256/384/512, ECDSA-SHA256/384)"
                };
                return Err(Error::UnsupportedAlgorithm {
                    found: u.chars().take(200).collect(),
                    reason: reason.into(),
                });
            }
        })
    }

    /// The algorithm's URI.
    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            SignatureAlgorithm::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            SignatureAlgorithm::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            SignatureAlgorithm::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            SignatureAlgorithm::EcdsaSha256 => {
                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
            }
            SignatureAlgorithm::EcdsaSha384 => {
                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
            }
            SignatureAlgorithm::RsaPssSha256 => {
                "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
            }
            SignatureAlgorithm::RsaPssSha384 => {
                "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1"
            }
            SignatureAlgorithm::RsaPssSha512 => {
                "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1"
            }
        }
    }

    /// The digest the signature is computed over.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            SignatureAlgorithm::RsaSha1 => DigestAlgorithm::Sha1,
            SignatureAlgorithm::RsaSha256
            | SignatureAlgorithm::EcdsaSha256
            | SignatureAlgorithm::RsaPssSha256 => DigestAlgorithm::Sha256,
            SignatureAlgorithm::RsaSha384
            | SignatureAlgorithm::EcdsaSha384
            | SignatureAlgorithm::RsaPssSha384 => DigestAlgorithm::Sha384,
            SignatureAlgorithm::RsaSha512 | SignatureAlgorithm::RsaPssSha512 => {
                DigestAlgorithm::Sha512
            }
        }
    }

    /// Short name (`rsa-sha256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => "rsa-sha1",
            SignatureAlgorithm::RsaSha256 => "rsa-sha256",
            SignatureAlgorithm::RsaSha384 => "rsa-sha384",
            SignatureAlgorithm::RsaSha512 => "rsa-sha512",
            SignatureAlgorithm::EcdsaSha256 => "ecdsa-sha256",
            SignatureAlgorithm::EcdsaSha384 => "ecdsa-sha384",
            SignatureAlgorithm::RsaPssSha256 => "rsa-pss-sha256",
            SignatureAlgorithm::RsaPssSha384 => "rsa-pss-sha384",
            SignatureAlgorithm::RsaPssSha512 => "rsa-pss-sha512",
        }
    }
}

/// A digest algorithm of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1 (legacy option only).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// Maps an XML-DSig `DigestMethod` URI onto the allow-list.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for anything else.
    pub fn from_uri(uri: &str) -> Result<DigestAlgorithm, Error> {
        Ok(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => DigestAlgorithm::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => DigestAlgorithm::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => DigestAlgorithm::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => DigestAlgorithm::Sha512,
            u => {
                return Err(Error::UnsupportedAlgorithm {
                    found: u.chars().take(200).collect(),
                    reason: "not an allowed DigestMethod (SHA-256/384/512)".into(),
                });
            }
        })
    }

    /// The algorithm's URI.
    pub fn uri(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            DigestAlgorithm::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            DigestAlgorithm::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            DigestAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// Short name (`sha256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "sha1",
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    pub(crate) fn hasher(self) -> Hasher {
        match self {
            DigestAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

/// A running digest that canonical bytes stream into.
#[derive(Debug, Clone)]
pub(crate) enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Sink for Hasher {
    fn write(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha384(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }
}

/// A [`Hasher`] behind a buffer: canonicalization writes many tiny pieces, and one digest
/// update per 8 KiB is much cheaper than one per piece.
pub(crate) struct BufferedHasher {
    hasher: Hasher,
    buf: Vec<u8>,
}

impl BufferedHasher {
    const CAPACITY: usize = 8192;

    pub(crate) fn new(alg: DigestAlgorithm) -> Self {
        BufferedHasher {
            hasher: alg.hasher(),
            buf: Vec::with_capacity(Self::CAPACITY),
        }
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.hasher.write(&self.buf);
        self.hasher.finish()
    }
}

impl Sink for BufferedHasher {
    fn write(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > Self::CAPACITY {
            self.hasher.write(&self.buf);
            self.buf.clear();
            if bytes.len() > Self::CAPACITY {
                self.hasher.write(bytes);
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
    }
}

impl Hasher {
    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// Constant-time equality of two byte strings (false when the lengths differ).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Decodes XML Schema `base64Binary`: white space anywhere is ignored, padding and trailing bits
/// must be canonical.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    crate::crypto::b64::decode(text)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |n: u8| char::from(DIGITS.get(usize::from(n & 0xf)).copied().unwrap_or(b'0'));
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b));
    }
    s
}

#[derive(Clone)]
enum Key {
    Rsa {
        key: Box<rsa::PublicKey>,
        /// PKCS#1 RSAPublicKey DER, for the aws-lc-rs backend.
        #[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
        pkcs1: Vec<u8>,
        /// The key as aws-lc-rs parsed it, once per algorithm, shared by clones.
        #[cfg(feature = "aws-lc-rs")]
        parsed: std::sync::Arc<aws::Parsed>,
    },
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

/// A trusted IdP signing certificate, parsed once.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    fingerprint: [u8; 32],
    key: Key,
    subject: String,
    not_before: chrono::DateTime<chrono::Utc>,
    not_after: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("sha256", &self.fingerprint_hex())
            .field("key", &self.key_description())
            .finish()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}
impl Eq for Certificate {}

/// Why a signature did not verify with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerifyFailure {
    /// The key is of another type than the algorithm needs (RSA key, ECDSA signature, ...).
    WrongType,
    /// The key is too weak without the legacy option.
    Weak(String),
    /// The signature is wrong for this key.
    Bad,
}

impl Certificate {
    /// Parses one certificate from DER.
    ///
    /// # Errors
    /// [`Error::Config`] (`certificates`) when it is not an X.509 certificate with an RSA,
    /// P-256 or P-384 key.
    pub fn from_der(der: &[u8]) -> Result<Certificate, Error> {
        let bad = |reason: String| Error::Config {
            field: "certificates",
            reason,
        };
        let (rest, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|_| {
                bad("the certificate is incomplete or damaged: copy it again from the IdP, with its BEGIN and END lines".into())
            })?;
        if !rest.is_empty() {
            return Err(bad(
                "the certificate has extra characters after it: copy only the certificate".into(),
            ));
        }
        let spki = cert.public_key().raw;
        let key = if let Ok(k) = rsa::PublicKey::from_public_key_der(spki) {
            Key::Rsa {
                key: Box::new(k),
                pkcs1: cert.public_key().subject_public_key.data.to_vec(),
                #[cfg(feature = "aws-lc-rs")]
                parsed: std::sync::Arc::default(),
            }
        } else if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
            Key::P256(k)
        } else if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(spki) {
            Key::P384(k)
        } else {
            return Err(bad(
                "the certificate's key type is not supported (RSA of 1024 to 8192 bits, P-256 or P-384 are)".into(),
            ));
        };
        let fingerprint: [u8; 32] = sha2::Sha256::digest(der).into();
        let time = |t: x509_parser::time::ASN1Time| {
            chrono::DateTime::from_timestamp(t.timestamp(), 0)
                .ok_or_else(|| bad("a validity date out of range".into()))
        };
        Ok(Certificate {
            der: der.to_vec(),
            fingerprint,
            key,
            subject: cert.subject().to_string(),
            not_before: time(cert.validity().not_before)?,
            not_after: time(cert.validity().not_after)?,
        })
    }

    /// The certificate's `notBefore`.
    pub fn not_before(&self) -> chrono::DateTime<chrono::Utc> {
        self.not_before
    }

    /// The certificate's `notAfter`.
    pub fn not_after(&self) -> chrono::DateTime<chrono::Utc> {
        self.not_after
    }

    /// Whether `now` lies within the certificate's validity period.
    pub fn is_valid_at(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// Parses every certificate in `text` as an IdP console hands them out: PEM (one or more
    /// blocks, with or without line breaks), bare base64 with or without white space, or DER bytes.
    ///
    /// # Errors
    /// [`Error::Config`] (`certificates`) when nothing parses.
    pub fn parse_all(input: &[u8]) -> Result<Vec<Certificate>, Error> {
        let bad = |reason: &str| Error::Config {
            field: "certificates",
            reason: reason.into(),
        };
        if input.first() == Some(&0x30) {
            return Ok(vec![Certificate::from_der(input)?]);
        }
        let text = std::str::from_utf8(input).map_err(|_| {
            bad("this is not a certificate: paste the X.509 certificate (PEM or base64)")
        })?;
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let mut certs = Vec::new();
        if text.contains("-----BEGIN") {
            let mut rest = text;
            while let Some(start) = rest.find(BEGIN) {
                let after = rest.get(start + BEGIN.len()..).unwrap_or("");
                let end = after.find(END).ok_or_else(|| {
                    bad("the certificate is cut off: its -----END CERTIFICATE----- line is missing")
                })?;
                let body = after.get(..end).unwrap_or("");
                let der = decode_base64(body).ok_or_else(|| {
                    bad("the certificate is damaged: its text between BEGIN and END is not base64")
                })?;
                certs.push(Certificate::from_der(&der)?);
                rest = after.get(end + END.len()..).unwrap_or("");
            }
            if certs.is_empty() {
                return Err(bad(
                    "no certificate found: the text has no BEGIN CERTIFICATE block",
                ));
            }
        } else {
            let der = decode_base64(text.trim()).ok_or_else(|| {
                bad("this is not a certificate: paste the X.509 certificate (PEM or base64)")
            })?;
            certs.push(Certificate::from_der(&der)?);
        }
        Ok(certs)
    }

    /// Parses exactly one certificate (see [`Certificate::parse_all`]).
    ///
    /// # Errors
    /// As [`Certificate::parse_all`], or when the input holds more than one certificate.
    pub fn parse(input: &[u8]) -> Result<Certificate, Error> {
        let mut all = Certificate::parse_all(input)?;
        if all.len() != 1 {
            return Err(Error::Config {
                field: "certificates",
                reason: format!("expected one certificate, found {}", all.len()),
            });
        }
        all.pop().ok_or(Error::Config {
            field: "certificates",
            reason: "no certificate".into(),
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 fingerprint of the DER encoding, lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        hex(&self.fingerprint)
    }

    /// The subject distinguished name (information only; trust never depends on it).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `RSA-2048`, `P-256`, ...
    pub fn key_description(&self) -> String {
        match &self.key {
            Key::Rsa { key, .. } => format!("RSA-{}", key.size() * 8),
            Key::P256(_) => "P-256".into(),
            Key::P384(_) => "P-384".into(),
        }
    }

    /// The certificate's RSA public key, when it has one.
    pub(crate) fn rsa_public_key(&self) -> Option<&rsa::PublicKey> {
        match &self.key {
            Key::Rsa { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Verifies `signature` over `message` (the canonical SignedInfo).
    pub(crate) fn verify(
        &self,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
        allow_legacy: bool,
    ) -> Result<(), VerifyFailure> {
        #[cfg(feature = "aws-lc-rs")]
        if let Key::Rsa { key, pkcs1, parsed } = &self.key
            && let Some(result) = aws::verify_rsa(
                algorithm,
                key.size() * 8,
                (pkcs1, parsed),
                message,
                signature,
                allow_legacy,
            )
        {
            return result;
        }
        let mut h = algorithm.digest().hasher();
        h.write(message);
        self.verify_prehashed(algorithm, &h.finish(), signature, allow_legacy)
    }

    /// Verifies `signature` over a message whose digest (with `algorithm`'s hash) is `hash`.
    pub(crate) fn verify_prehashed(
        &self,
        algorithm: SignatureAlgorithm,
        hash: &[u8],
        signature: &[u8],
        allow_legacy: bool,
    ) -> Result<(), VerifyFailure> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        match (&self.key, algorithm) {
            (
                Key::Rsa { key: k, .. },
                SignatureAlgorithm::RsaSha1
                | SignatureAlgorithm::RsaSha256
                | SignatureAlgorithm::RsaSha384
                | SignatureAlgorithm::RsaSha512,
            ) => {
                rsa_usable(k, signature, allow_legacy)?;
                let digest = match algorithm {
                    SignatureAlgorithm::RsaSha1 => rsa_pkcs1::DigestInfo::Sha1,
                    SignatureAlgorithm::RsaSha384 => rsa_pkcs1::DigestInfo::Sha384,
                    SignatureAlgorithm::RsaSha512 => rsa_pkcs1::DigestInfo::Sha512,
                    _ => rsa_pkcs1::DigestInfo::Sha256,
                };
                if rsa_pkcs1::verify(k, digest, hash, signature) {
                    Ok(())
                } else {
                    Err(VerifyFailure::Bad)
                }
            }
            (
                Key::Rsa { key: k, .. },
                SignatureAlgorithm::RsaPssSha256
                | SignatureAlgorithm::RsaPssSha384
                | SignatureAlgorithm::RsaPssSha512,
            ) => {
                rsa_usable(k, signature, allow_legacy)?;
                // RFC 6931: MGF1 with the same hash, salt as long as the hash.
                let result = match algorithm {
                    SignatureAlgorithm::RsaPssSha384 => {
                        k.verify(rsa::pss::Pss::<sha2::Sha384>::new(), hash, signature)
                    }
                    SignatureAlgorithm::RsaPssSha512 => {
                        k.verify(rsa::pss::Pss::<sha2::Sha512>::new(), hash, signature)
                    }
                    _ => k.verify(rsa::pss::Pss::<sha2::Sha256>::new(), hash, signature),
                };
                result.map_err(|_| VerifyFailure::Bad)
            }
            (Key::P256(k), SignatureAlgorithm::EcdsaSha256 | SignatureAlgorithm::EcdsaSha384) => {
                // XML-DSig ECDSA signatures are r || s (RFC 4051), never DER.
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| VerifyFailure::Bad)?;
                k.verify_prehash(hash, &sig).map_err(|_| VerifyFailure::Bad)
            }
            (Key::P384(k), SignatureAlgorithm::EcdsaSha256 | SignatureAlgorithm::EcdsaSha384) => {
                let sig = p384::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| VerifyFailure::Bad)?;
                k.verify_prehash(hash, &sig).map_err(|_| VerifyFailure::Bad)
            }
            _ => Err(VerifyFailure::WrongType),
        }
    }
}

/// An RSA key may verify `signature`: at least 2048 bits (1024 with the legacy option), and a
/// signature exactly as long as the modulus.
fn rsa_usable(
    k: &rsa::PublicKey,
    signature: &[u8],
    allow_legacy: bool,
) -> Result<(), VerifyFailure> {
    let bits = k.size() * 8;
    if bits < 2048 && !allow_legacy {
        return Err(VerifyFailure::Weak(format!(
            "RSA-{bits} key: keys under 2048 bits need the legacy-crypto option"
        )));
    }
    if signature.len() != k.size() {
        return Err(VerifyFailure::Bad);
    }
    Ok(())
}

#[cfg(feature = "aws-lc-rs")]
mod aws {
    //! RSA PKCS#1 v1.5 verification with aws-lc-rs.

    use std::sync::OnceLock;

    use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters};

    use super::{SignatureAlgorithm, VerifyFailure};

    /// The algorithms aws-lc-rs verifies for us (hash, and whether the key has at least 2048
    /// bits), in the order of [`Parsed`]'s slots.
    static ALGORITHMS: [(SignatureAlgorithm, bool, &RsaParameters); 7] = [
        (
            SignatureAlgorithm::RsaSha1,
            true,
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        (
            SignatureAlgorithm::RsaSha1,
            false,
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        (
            SignatureAlgorithm::RsaSha256,
            true,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        (
            SignatureAlgorithm::RsaSha256,
            false,
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        ),
        (
            SignatureAlgorithm::RsaSha384,
            true,
            &signature::RSA_PKCS1_2048_8192_SHA384,
        ),
        (
            SignatureAlgorithm::RsaSha512,
            true,
            &signature::RSA_PKCS1_2048_8192_SHA512,
        ),
        (
            SignatureAlgorithm::RsaSha512,
            false,
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        ),
    ];

    /// A certificate's RSA key as aws-lc-rs parsed it, one slot per entry of [`ALGORITHMS`]
    /// (`None` when aws-lc-rs refused the key). Parsing once keeps aws-lc's key object, and the
    /// Montgomery constants it computes at the first verification, for every later one.
    #[derive(Default)]
    pub(super) struct Parsed([OnceLock<Option<ParsedPublicKey>>; 7]);

    /// `None` when aws-lc-rs has no matching algorithm (the caller falls back to RustCrypto).
    pub(super) fn verify_rsa(
        algorithm: SignatureAlgorithm,
        bits: usize,
        (pkcs1, parsed): (&[u8], &Parsed),
        message: &[u8],
        sig: &[u8],
        allow_legacy: bool,
    ) -> Option<Result<(), VerifyFailure>> {
        if bits < 2048 && !allow_legacy {
            return Some(Err(VerifyFailure::Weak(format!(
                "RSA-{bits} key: keys under 2048 bits need the legacy-crypto option"
            ))));
        }
        let strong = bits >= 2048;
        let (slot, &(_, _, alg)) = ALGORITHMS
            .iter()
            .enumerate()
            .find(|(_, (a, s, _))| *a == algorithm && *s == strong)?;
        let key = parsed
            .0
            .get(slot)?
            .get_or_init(|| ParsedPublicKey::new(alg, pkcs1).ok());
        Some(match key {
            Some(key) => key.verify_sig(message, sig).map_err(|_| VerifyFailure::Bad),
            None => Err(VerifyFailure::Bad),
        })
    }
}

/// An SP signing key kept outside the process (an HSM, a key service): it signs, and the
/// private key never enters the process. [`SigningKey::from_pem`] is the in-memory
/// implementation; the PKCS#11 one is `saml_sp::hsm::Pkcs11Token` (feature `pkcs11`).
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// Signs `message` (the whole message: the signer hashes it) with `algorithm` (RSA PKCS#1
    /// v1.5 with SHA-256, -384 or -512).
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for an algorithm it does not offer; [`Error::Config`]
    /// when the key service fails.
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error>;
}

#[derive(Clone)]
enum PrivateSigningKey {
    Memory(Box<rsa::PrivateKey>),
    External(std::sync::Arc<dyn Signer>),
}

/// The SP's own RSA signing key (for signed AuthnRequests), with its certificate for metadata.
#[derive(Clone)]
pub struct SigningKey {
    key: PrivateSigningKey,
    certificate: Option<Certificate>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key", &"[redacted]")
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl SigningKey {
    /// Loads an RSA private key from PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`), with
    /// the matching certificate when one is given.
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_signing_key`) when the key does not parse, is under 2048 bits, or does
    /// not match the certificate.
    pub fn from_pem(key_pem: &str, certificate: Option<Certificate>) -> Result<SigningKey, Error> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let bad = |reason: String| Error::Config {
            field: "sp_signing_key",
            reason,
        };
        let key = rsa::PrivateKey::from_pkcs8_pem(key_pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(key_pem))
            .map_err(|e| bad(format!("not an RSA private key in PEM: {e}")))?;
        if key.size() * 8 < 2048 {
            return Err(bad(format!(
                "RSA-{} is too small; use at least 2048 bits",
                key.size() * 8
            )));
        }
        if let Some(cert) = &certificate {
            let matches = matches!(&cert.key, Key::Rsa { key: public, .. } if public.n() == key.n() && public.e() == key.e());
            if !matches {
                return Err(bad("the private key does not match the certificate".into()));
            }
        }
        Ok(SigningKey {
            key: PrivateSigningKey::Memory(Box::new(key)),
            certificate,
        })
    }

    /// A key whose signatures `signer` makes (an HSM: the private key never enters the
    /// process), with its certificate (published in SP metadata).
    ///
    /// # Errors
    /// [`Error::Config`] (`sp_signing_key`) when the certificate's key is not RSA.
    pub fn from_signer(
        signer: std::sync::Arc<dyn Signer>,
        certificate: Certificate,
    ) -> Result<SigningKey, Error> {
        if !matches!(certificate.key, Key::Rsa { .. }) {
            return Err(Error::Config {
                field: "sp_signing_key",
                reason: "the certificate's key is not RSA".into(),
            });
        }
        Ok(SigningKey {
            key: PrivateSigningKey::External(signer),
            certificate: Some(certificate),
        })
    }

    /// The certificate published in SP metadata, if configured.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// Signs `message` with RSA PKCS#1 v1.5 and `algorithm` (RSA algorithms only).
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for a non-RSA algorithm.
    pub fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        use rsa::signature::{SignatureEncoding, Signer as _};
        let key = match &self.key {
            PrivateSigningKey::Memory(k) => (**k).clone(),
            PrivateSigningKey::External(signer) => return signer.sign(algorithm, message),
        };
        let sig = match algorithm {
            SignatureAlgorithm::RsaSha256 => {
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).try_sign(message)
            }
            SignatureAlgorithm::RsaSha384 => {
                rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(key).try_sign(message)
            }
            SignatureAlgorithm::RsaSha512 => {
                rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(key).try_sign(message)
            }
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    found: other.uri().into(),
                    reason: "the SP signs with RSA-SHA256, -384 or -512".into(),
                });
            }
        };
        sig.map(|s| s.to_vec()).map_err(|e| Error::Config {
            field: "sp_signing_key",
            reason: format!("signing failed: {e}"),
        })
    }
}

/// Fills `buf` from the operating system's random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|e| Error::Config {
        field: "random",
        reason: format!("no OS randomness: {e}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::hex(&bytes), expected);
        assert_eq!(super::hex(&[0x0f, 0xa0]), "0fa0");
        assert_eq!(super::hex(&[]), "");
    }
}
