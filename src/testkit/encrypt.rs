//! Encryption, for the test IdP only (feature `testkit`): an element encrypted to an SP's
//! certificate the way IdPs do it, so apps can test their decryption setup end to end.

use aes_gcm::aead::{Aead, KeyInit};
use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};

use crate::crypto::Certificate;
use crate::error::Error;
use crate::xmlenc::algorithms::{self, Content};

/// How the test IdP encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Encryption {
    /// AES-128-GCM content, RSA-OAEP (XML Encryption 1.1, SHA-256, MGF1-SHA-256).
    Aes128Gcm,
    /// AES-256-GCM content, RSA-OAEP (XML Encryption 1.1, SHA-256, MGF1-SHA-256).
    #[default]
    Aes256Gcm,
    /// AES-128-CBC content, `rsa-oaep-mgf1p` (SHA-1), as Okta and ADFS send.
    Aes128Cbc,
    /// AES-256-CBC content, `rsa-oaep-mgf1p` (SHA-1).
    Aes256Cbc,
    /// Triple-DES content with `rsa-1_5` key transport: legacy, refused unless the SP enables it.
    LegacyTripleDesRsa15,
}

impl Encryption {
    /// Every variant, for tests that cover them all.
    pub const ALL: [Encryption; 5] = [
        Encryption::Aes128Gcm,
        Encryption::Aes256Gcm,
        Encryption::Aes128Cbc,
        Encryption::Aes256Cbc,
        Encryption::LegacyTripleDesRsa15,
    ];

    fn content(self) -> Content {
        match self {
            Encryption::Aes128Gcm => Content::AesGcm { key_len: 16 },
            Encryption::Aes256Gcm => Content::AesGcm { key_len: 32 },
            Encryption::Aes128Cbc => Content::AesCbc { key_len: 16 },
            Encryption::Aes256Cbc => Content::AesCbc { key_len: 32 },
            Encryption::LegacyTripleDesRsa15 => Content::TripleDesCbc,
        }
    }
}

fn failed(what: &str) -> Error {
    Error::Config {
        field: "test_idp_encryption",
        reason: format!("{what} failed"),
    }
}

fn random(len: usize) -> Result<Vec<u8>, Error> {
    let mut v = vec![0u8; len];
    crate::crypto::random_bytes(&mut v)?;
    Ok(v)
}

fn encrypt_content(content: Content, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    match content {
        Content::AesGcm { key_len } => {
            let iv = random(12)?;
            let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv.as_slice())
                .map_err(|_| failed("nonce"))?;
            let ct = match key_len {
                16 => aes_gcm::Aes128Gcm::new_from_slice(key)
                    .map_err(|_| failed("key"))?
                    .encrypt(&nonce, plaintext),
                _ => aes_gcm::Aes256Gcm::new_from_slice(key)
                    .map_err(|_| failed("key"))?
                    .encrypt(&nonce, plaintext),
            }
            .map_err(|_| failed("AES-GCM"))?;
            Ok([iv, ct].concat())
        }
        Content::AesCbc { key_len } => {
            let iv = random(16)?;
            let ct = match key_len {
                16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
                    .map_err(|_| failed("key"))?
                    .encrypt_padded_vec::<Pkcs7>(plaintext),
                _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
                    .map_err(|_| failed("key"))?
                    .encrypt_padded_vec::<Pkcs7>(plaintext),
            };
            Ok([iv, ct].concat())
        }
        Content::TripleDesCbc => {
            let iv = random(8)?;
            let ct = cbc::Encryptor::<des::TdesEde3>::new_from_slices(key, &iv)
                .map_err(|_| failed("key"))?
                .encrypt_padded_vec::<Pkcs7>(plaintext);
            Ok([iv, ct].concat())
        }
    }
}

/// Encrypts `element_xml` (a serialized element that declares every namespace it uses) to
/// `recipient`'s RSA key and returns `<{wrapper}>` (for example `saml2:EncryptedAssertion`,
/// whose prefix `wrapper_ns_decl` declares) holding the `EncryptedData` with its `EncryptedKey`
/// inline, the recipient's certificate in the key's `KeyInfo`.
///
/// # Errors
/// [`Error::Config`] when the certificate has no RSA key or the random source fails.
pub(crate) fn encrypt_element(
    element_xml: &str,
    recipient: &Certificate,
    encryption: Encryption,
    wrapper: &str,
    wrapper_ns_decl: &str,
) -> Result<String, Error> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let public = recipient.rsa_public_key().ok_or(Error::Config {
        field: "test_idp_encryption",
        reason: "the SP certificate has no RSA key".into(),
    })?;
    let content = encryption.content();
    let key = random(content.key_len())?;
    let ciphertext = encrypt_content(content, &key, element_xml.as_bytes())?;
    let mut rng = getrandom::SysRng;
    let (transport_uri, params, wrapped) = match encryption {
        Encryption::LegacyTripleDesRsa15 => (
            algorithms::RSA_1_5,
            String::new(),
            public
                .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, &key)
                .map_err(|_| failed("RSA"))?,
        ),
        Encryption::Aes128Cbc | Encryption::Aes256Cbc => (
            algorithms::RSA_OAEP_MGF1P,
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>".to_owned(),
            public
                .encrypt(&mut rng, rsa::Oaep::<sha1::Sha1>::new(), &key)
                .map_err(|_| failed("RSA-OAEP"))?,
        ),
        Encryption::Aes128Gcm | Encryption::Aes256Gcm => (
            algorithms::RSA_OAEP_11,
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><xenc11:MGF xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\" Algorithm=\"http://www.w3.org/2009/xmlenc11#mgf1sha256\"/>".to_owned(),
            public
                .encrypt(&mut rng, rsa::Oaep::<sha2::Sha256>::new(), &key)
                .map_err(|_| failed("RSA-OAEP"))?,
        ),
    };
    Ok(format!(
        "<{wrapper} {wrapper_ns_decl}><xenc:EncryptedData xmlns:xenc=\"{xenc}\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:EncryptionMethod Algorithm=\"{content}\"/><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{transport_uri}\">{params}</xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{wrapped}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{ct}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></{wrapper}>",
        xenc = crate::xmlenc::XENC_NS,
        content = content.uri(),
        cert = b64.encode(recipient.der()),
        wrapped = b64.encode(wrapped),
        ct = b64.encode(ciphertext),
    ))
}
