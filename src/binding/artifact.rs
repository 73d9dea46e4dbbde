//! The HTTP-Artifact binding's artifact (SAML Bindings 3.6.4, type `0x0004`): two bytes of type
//! code, two of endpoint index, the 20-byte SourceID (the SHA-1 of the issuer's entity ID) and a
//! 20-byte message handle, base64-encoded. The artifact names which IdP holds the message; the
//! SP resolves it with an `ArtifactResolve` over SOAP to that IdP, never trusting the artifact
//! for anything else.

use crate::error::Error;

/// A parsed type-0x0004 artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Artifact {
    /// The artifact as received (what `ArtifactResolve` sends back).
    pub encoded: String,
    /// The IdP's artifact resolution endpoint index.
    pub endpoint_index: u16,
    /// SHA-1 of the issuer's entity ID.
    pub source_id: [u8; 20],
}

/// The SourceID of `entity_id` (SHA-1 of it).
pub fn source_id(entity_id: &str) -> [u8; 20] {
    use sha1::Digest as _;
    sha1::Sha1::digest(entity_id.as_bytes()).into()
}

impl Artifact {
    /// Parses `SAMLart` (at most 200 characters before decoding).
    ///
    /// # Errors
    /// [`Error::Binding`] for anything that is not a type-0x0004 artifact of 44 bytes.
    pub fn parse(samlart: &str) -> Result<Artifact, Error> {
        let bad = |why: &str| Error::Binding(format!("SAMLart {why}"));
        let text = samlart.trim();
        if text.len() > 200 {
            return Err(bad("is too long"));
        }
        let raw = crate::crypto::decode_base64(text).ok_or_else(|| bad("is not base64"))?;
        let (Some(kind), Some(index), Some(source), Some(_handle), 44) = (
            raw.get(0..2),
            raw.get(2..4),
            raw.get(4..24),
            raw.get(24..44),
            raw.len(),
        ) else {
            return Err(bad("is not 44 bytes"));
        };
        if kind != [0, 4] {
            return Err(bad("is not of type 0x0004"));
        }
        let (Ok(index), Ok(source_id)) = (<[u8; 2]>::try_from(index), <[u8; 20]>::try_from(source))
        else {
            return Err(bad("is not 44 bytes"));
        };
        Ok(Artifact {
            encoded: text.to_owned(),
            endpoint_index: u16::from_be_bytes(index),
            source_id,
        })
    }

    /// Whether the IdP `entity_id` issued it.
    pub fn is_from(&self, entity_id: &str) -> bool {
        self.source_id == source_id(entity_id)
    }
}
