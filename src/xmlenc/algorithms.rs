//! The XML Encryption algorithms saml-sp decrypts: RSA key transport (OAEP; PKCS#1 v1.5 only
//! with the legacy option) and block encryption (AES-GCM, AES-CBC; Triple-DES only with the
//! legacy option). RustCrypto throughout.
//!
//! Every failure after the algorithms are known (a key that does not unwrap, a wrong length, bad
//! CBC padding, a GCM tag that does not verify) is the same [`Failed`]: callers turn it into one
//! error with one message, so no padding or unwrap oracle exists.

use aes_gcm::aead::{Aead, KeyInit};
use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::NoPadding};

use crate::error::Error;

/// A digest for RSA-OAEP (the label hash or MGF1's hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OaepHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// A key transport algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyTransport {
    /// RSA-OAEP with a label hash and an MGF1 hash.
    RsaOaep { digest: OaepHash, mgf: OaepHash },
    /// RSA PKCS#1 v1.5 (Bleichenbacher-prone: legacy only).
    Rsa15,
}

/// A block encryption algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    AesCbc { key_len: usize },
    AesGcm { key_len: usize },
    TripleDesCbc,
}

/// Decryption failed: one value for every cause, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed;

pub(crate) const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub(crate) const RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
pub(crate) const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
pub(crate) const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
pub(crate) const AES192_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes192-cbc";
pub(crate) const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
pub(crate) const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
pub(crate) const AES192_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes192-gcm";
pub(crate) const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
pub(crate) const TRIPLEDES_CBC: &str = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";

/// The block encryption algorithms, strongest first, as SP metadata advertises them.
pub const SUPPORTED_CONTENT: &[&str] = &[
    AES256_GCM, AES192_GCM, AES128_GCM, AES256_CBC, AES192_CBC, AES128_CBC,
];
/// The key transport algorithms SP metadata advertises.
pub const SUPPORTED_KEY_TRANSPORT: &[&str] = &[RSA_OAEP_11, RSA_OAEP_MGF1P];

fn legacy(uri: &str, what: &str) -> Error {
    Error::UnsupportedAlgorithm {
        found: uri.into(),
        reason: format!("{what} needs the dangerous legacy-encryption option"),
    }
}

fn unknown(uri: &str, what: &str) -> Error {
    Error::UnsupportedAlgorithm {
        found: uri.chars().take(200).collect(),
        reason: format!("not an allowed {what}"),
    }
}

impl OaepHash {
    fn public(self) -> super::key::OaepDigest {
        match self {
            OaepHash::Sha1 => super::key::OaepDigest::Sha1,
            OaepHash::Sha224 => super::key::OaepDigest::Sha224,
            OaepHash::Sha256 => super::key::OaepDigest::Sha256,
            OaepHash::Sha384 => super::key::OaepDigest::Sha384,
            OaepHash::Sha512 => super::key::OaepDigest::Sha512,
        }
    }

    /// A `ds:DigestMethod` URI (XML Encryption 1.1 section 5.2).
    pub(crate) fn from_digest_uri(uri: &str) -> Result<OaepHash, Error> {
        Ok(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => OaepHash::Sha1,
            "http://www.w3.org/2001/04/xmldsig-more#sha224" => OaepHash::Sha224,
            "http://www.w3.org/2001/04/xmlenc#sha256" => OaepHash::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => OaepHash::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => OaepHash::Sha512,
            u => return Err(unknown(u, "RSA-OAEP digest")),
        })
    }

    /// An `xenc11:MGF` URI.
    pub(crate) fn from_mgf_uri(uri: &str) -> Result<OaepHash, Error> {
        Ok(match uri {
            "http://www.w3.org/2009/xmlenc11#mgf1sha1" => OaepHash::Sha1,
            "http://www.w3.org/2009/xmlenc11#mgf1sha224" => OaepHash::Sha224,
            "http://www.w3.org/2009/xmlenc11#mgf1sha256" => OaepHash::Sha256,
            "http://www.w3.org/2009/xmlenc11#mgf1sha384" => OaepHash::Sha384,
            "http://www.w3.org/2009/xmlenc11#mgf1sha512" => OaepHash::Sha512,
            u => return Err(unknown(u, "RSA-OAEP mask generation function")),
        })
    }
}

impl Content {
    /// Maps an `EncryptionMethod` URI of `EncryptedData`.
    pub(crate) fn from_uri(uri: &str, allow_legacy: bool) -> Result<Content, Error> {
        Ok(match uri {
            AES128_CBC => Content::AesCbc { key_len: 16 },
            AES192_CBC => Content::AesCbc { key_len: 24 },
            AES256_CBC => Content::AesCbc { key_len: 32 },
            AES128_GCM => Content::AesGcm { key_len: 16 },
            AES192_GCM => Content::AesGcm { key_len: 24 },
            AES256_GCM => Content::AesGcm { key_len: 32 },
            TRIPLEDES_CBC if allow_legacy => Content::TripleDesCbc,
            TRIPLEDES_CBC => return Err(legacy(uri, "tripledes-cbc")),
            u => return Err(unknown(u, "block encryption algorithm")),
        })
    }

    /// The key length in bytes.
    pub(crate) fn key_len(self) -> usize {
        match self {
            Content::AesCbc { key_len } | Content::AesGcm { key_len } => key_len,
            Content::TripleDesCbc => 24,
        }
    }

    /// The URI.
    pub(crate) fn uri(self) -> &'static str {
        match self {
            Content::AesCbc { key_len: 16 } => AES128_CBC,
            Content::AesCbc { key_len: 24 } => AES192_CBC,
            Content::AesCbc { .. } => AES256_CBC,
            Content::AesGcm { key_len: 16 } => AES128_GCM,
            Content::AesGcm { key_len: 24 } => AES192_GCM,
            Content::AesGcm { .. } => AES256_GCM,
            Content::TripleDesCbc => TRIPLEDES_CBC,
        }
    }

    /// Decrypts `data` (IV || ciphertext [|| tag]) with `key`.
    pub(crate) fn decrypt(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Failed> {
        match self {
            Content::AesGcm { key_len } => {
                if key.len() != key_len || data.len() < 12 + 16 {
                    return Err(Failed);
                }
                let (iv, ct) = data.split_at(12);
                let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
                    .map_err(|_| Failed)?;
                // The tag (the last 16 bytes) is always verified by `decrypt`.
                match key_len {
                    16 => aes_gcm::Aes128Gcm::new_from_slice(key)
                        .map_err(|_| Failed)?
                        .decrypt(&nonce, ct),
                    24 => {
                        aes_gcm::AesGcm::<aes::Aes192, aes_gcm::aead::consts::U12>::new_from_slice(
                            key,
                        )
                        .map_err(|_| Failed)?
                        .decrypt(&nonce, ct)
                    }
                    _ => aes_gcm::Aes256Gcm::new_from_slice(key)
                        .map_err(|_| Failed)?
                        .decrypt(&nonce, ct),
                }
                .map_err(|_| Failed)
            }
            Content::AesCbc { key_len } => {
                if key.len() != key_len {
                    return Err(Failed);
                }
                match key_len {
                    16 => cbc_decrypt::<aes::Aes128>(key, data),
                    24 => cbc_decrypt::<aes::Aes192>(key, data),
                    _ => cbc_decrypt::<aes::Aes256>(key, data),
                }
            }
            Content::TripleDesCbc => {
                if key.len() != 24 {
                    return Err(Failed);
                }
                cbc_decrypt::<des::TdesEde3>(key, data)
            }
        }
    }
}

/// CBC with XML Encryption's padding (section 5.2: the last octet is the padding length, the
/// other padding octets are arbitrary). IV first.
fn cbc_decrypt<C>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, Failed>
where
    C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
    cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
{
    let block = <C as cbc::cipher::BlockSizeUser>::block_size();
    if data.len() < 2 * block || !data.len().is_multiple_of(block) {
        return Err(Failed);
    }
    let (iv, ct) = data.split_at(block);
    let mut out = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| Failed)?
        .decrypt_padded_vec::<NoPadding>(ct)
        .map_err(|_| Failed)?;
    let pad = usize::from(*out.last().ok_or(Failed)?);
    if pad == 0 || pad > block || pad > out.len() {
        return Err(Failed);
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

impl KeyTransport {
    /// Maps an `EncryptedKey/EncryptionMethod`: its URI, its `ds:DigestMethod` and `xenc11:MGF`
    /// algorithms (when present) and whether it carries `OAEPparams`.
    pub(crate) fn from_parts(
        uri: &str,
        digest: Option<&str>,
        mgf: Option<&str>,
        allow_legacy: bool,
    ) -> Result<KeyTransport, Error> {
        let digest = digest
            .map(OaepHash::from_digest_uri)
            .transpose()?
            .unwrap_or(OaepHash::Sha1);
        Ok(match uri {
            RSA_OAEP_MGF1P => {
                if mgf.is_some() {
                    return Err(unknown(
                        uri,
                        "key transport with an MGF (rsa-oaep-mgf1p fixes MGF1-SHA1)",
                    ));
                }
                KeyTransport::RsaOaep {
                    digest,
                    mgf: OaepHash::Sha1,
                }
            }
            RSA_OAEP_11 => KeyTransport::RsaOaep {
                digest,
                mgf: mgf
                    .map(OaepHash::from_mgf_uri)
                    .transpose()?
                    .unwrap_or(OaepHash::Sha1),
            },
            RSA_1_5 if allow_legacy => KeyTransport::Rsa15,
            RSA_1_5 => return Err(legacy(uri, "rsa-1_5 key transport (Bleichenbacher)")),
            u => return Err(unknown(u, "key transport algorithm")),
        })
    }

    /// Unwraps a content key with `key`. `label` is the OAEP label (`OAEPparams`).
    pub(crate) fn unwrap(
        self,
        key: &super::key::PrivateKey,
        wrapped: &[u8],
        label: Option<&[u8]>,
    ) -> Result<Vec<u8>, Failed> {
        let key = match key {
            super::key::PrivateKey::Memory(k) => k,
            super::key::PrivateKey::External(d) => {
                let padding = match self {
                    KeyTransport::Rsa15 => super::key::RsaPadding::Pkcs1v15,
                    KeyTransport::RsaOaep { digest, mgf } => super::key::RsaPadding::Oaep {
                        digest: digest.public(),
                        mgf: mgf.public(),
                        label,
                    },
                };
                return d.decrypt(padding, wrapped).map_err(|_| Failed);
            }
        };
        let mut rng = getrandom::SysRng;
        match self {
            KeyTransport::Rsa15 => key
                .decrypt_blinded(&mut rng, rsa::Pkcs1v15Encrypt, wrapped)
                .map_err(|_| Failed),
            KeyTransport::RsaOaep { digest, mgf } => oaep(key, wrapped, label, digest, mgf),
        }
    }
}

fn oaep(
    key: &rsa::PrivateKey,
    wrapped: &[u8],
    label: Option<&[u8]>,
    digest: OaepHash,
    mgf: OaepHash,
) -> Result<Vec<u8>, Failed> {
    use sha1::Sha1;
    use sha2::{Sha224, Sha256, Sha384, Sha512};
    fn run<D, M>(
        key: &rsa::PrivateKey,
        wrapped: &[u8],
        label: Option<&[u8]>,
    ) -> Result<Vec<u8>, Failed>
    where
        D: sha2::Digest + sha2::digest::FixedOutputReset,
        M: sha2::Digest + sha2::digest::FixedOutputReset,
    {
        let mut rng = getrandom::SysRng;
        let padding = match label {
            Some(l) => rsa::Oaep::<D, M>::new_with_mgf_hash_and_label(l.to_vec()),
            None => rsa::Oaep::<D, M>::new_with_mgf_hash(),
        };
        key.decrypt_blinded(&mut rng, padding, wrapped)
            .map_err(|_| Failed)
    }
    macro_rules! by_mgf {
        ($d:ty) => {
            match mgf {
                OaepHash::Sha1 => run::<$d, Sha1>(key, wrapped, label),
                OaepHash::Sha224 => run::<$d, Sha224>(key, wrapped, label),
                OaepHash::Sha256 => run::<$d, Sha256>(key, wrapped, label),
                OaepHash::Sha384 => run::<$d, Sha384>(key, wrapped, label),
                OaepHash::Sha512 => run::<$d, Sha512>(key, wrapped, label),
            }
        };
    }
    match digest {
        OaepHash::Sha1 => by_mgf!(Sha1),
        OaepHash::Sha224 => by_mgf!(Sha224),
        OaepHash::Sha256 => by_mgf!(Sha256),
        OaepHash::Sha384 => by_mgf!(Sha384),
        OaepHash::Sha512 => by_mgf!(Sha512),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn cbc_padding_and_length_failures_are_one_value() {
        let key = [7u8; 16];
        // Not a whole number of blocks, too short, and a zero padding octet: all `Failed`.
        assert_eq!(
            Content::AesCbc { key_len: 16 }.decrypt(&key, &[0; 40]),
            Err(Failed)
        );
        assert_eq!(
            Content::AesCbc { key_len: 16 }.decrypt(&key, &[0; 16]),
            Err(Failed)
        );
        assert_eq!(
            Content::AesCbc { key_len: 16 }.decrypt(&[0; 15], &[0; 32]),
            Err(Failed)
        );
        assert_eq!(
            Content::AesGcm { key_len: 32 }.decrypt(&[0; 32], &[0; 20]),
            Err(Failed)
        );
    }

    #[test]
    fn legacy_algorithms_need_the_option() {
        assert_eq!(
            Content::from_uri(TRIPLEDES_CBC, false).unwrap_err().code(),
            "unsupported_algorithm"
        );
        assert_eq!(
            Content::from_uri(TRIPLEDES_CBC, true).unwrap(),
            Content::TripleDesCbc
        );
        assert!(
            KeyTransport::from_parts(RSA_1_5, None, None, false)
                .unwrap_err()
                .to_string()
                .contains("rsa-1_5")
        );
        assert_eq!(
            KeyTransport::from_parts(
                RSA_OAEP_11,
                Some("http://www.w3.org/2001/04/xmlenc#sha256"),
                Some("http://www.w3.org/2009/xmlenc11#mgf1sha512"),
                false
            )
            .unwrap(),
            KeyTransport::RsaOaep {
                digest: OaepHash::Sha256,
                mgf: OaepHash::Sha512
            }
        );
    }
}
