//! Message encodings of the SAML bindings. For now: the HTTP-POST binding's `SAMLResponse` field.

use crate::error::Error;
use crate::xml::{Limits, XmlError};

/// Decodes the base64 `SAMLResponse` field of an HTTP-POST form (line breaks and spaces, as IdPs
/// wrap lines, are allowed). The encoded size is checked against `limits.max_input_bytes` *before*
/// decoding, so an oversized body costs nothing.
///
/// # Errors
/// [`Error::Xml`] with a limit error when the field is too large; [`Error::Binding`] when it is
/// not valid standard base64.
pub fn decode_post(saml_response: &str, limits: &Limits) -> Result<Vec<u8>, Error> {
    // base64 grows by 4/3; allow generous white space for line wrapping.
    let max_encoded = limits.max_input_bytes.saturating_mul(3) / 2 + 1024;
    if saml_response.len() > max_encoded {
        return Err(Error::Xml(XmlError::LimitExceeded {
            limit: "max_input_bytes (encoded SAMLResponse)",
            max: max_encoded,
            found: saml_response.len(),
        }));
    }
    crate::crypto::decode_base64(saml_response)
        .ok_or_else(|| Error::Binding("SAMLResponse is not valid base64".into()))
}
