//! Making enveloped signatures: exclusive C14N, SHA-256 digest, RSA.

use crate::crypto::{DigestAlgorithm, SignatureAlgorithm};
use crate::error::Error;
use crate::xml::c14n::{self, Algorithm, Subset};

use super::{DSIG_NS, ENVELOPED};

/// Signs the element whose `ID` is `id` with an enveloped signature (exclusive C14N, SHA-256
/// digest, `algorithm`), placed right after the element's `Issuer` (before its first child element
/// when it has no Issuer, as in metadata), and returns the new document.
/// Used for signed AuthnRequests and by test IdPs; the element must not be signed yet.
///
/// # Errors
/// [`Error::Xml`] when `xml` does not parse; [`Error::Malformed`] when there is no such element
/// or it has no child element; signing errors.
pub fn sign_enveloped(
    xml: &str,
    id: &str,
    key: &crate::crypto::SigningKey,
    algorithm: SignatureAlgorithm,
) -> Result<String, Error> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    // The document being signed is the signer's own (an AuthnRequest, a logout message, a test
    // IdP's Response), so it may be larger than an inbound message.
    let own = crate::xml::ParseOptions::default().with_limits(
        crate::xml::Limits::default()
            .with_max_input_bytes(256 << 20)
            .with_max_nodes(10_000_000),
    );
    let doc = crate::xml::Document::parse_with(xml.as_bytes(), &own)?;
    let element = doc
        .element_by_id(id)
        .ok_or_else(|| Error::malformed(format!("an element with ID {id:?}"), "none"))?;
    let digest_alg = DigestAlgorithm::Sha256;
    let mut h = digest_alg.hasher();
    c14n::canonicalize(
        &doc,
        Subset::Element {
            apex: element.id(),
            exclude: None,
        },
        Algorithm::Exclusive,
        &[],
        &mut h,
    )
    .map_err(|e| Error::malformed("a canonicalizable element", e.to_string()))?;
    let digest = b64.encode(h.finish());
    let signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG_NS}\"><ds:CanonicalizationMethod Algorithm=\"{exc}\"/><ds:SignatureMethod Algorithm=\"{alg}\"/><ds:Reference URI=\"#{id}\"><ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED}\"/><ds:Transform Algorithm=\"{exc}\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{dm}\"/><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>",
        exc = c14n::EXC_C14N,
        alg = algorithm.uri(),
        dm = digest_alg.uri(),
    );
    // Exclusive C14N of SignedInfo depends only on the ds prefix it uses, so its canonical form
    // standalone equals its canonical form inside the Signature.
    let si_doc = crate::xml::Document::parse(signed_info.as_bytes())?;
    let si_c14n = c14n::canonicalize_to_vec(
        &si_doc,
        Subset::Element {
            apex: si_doc.root().id(),
            exclude: None,
        },
        Algorithm::Exclusive,
        &[],
    )
    .map_err(|e| Error::malformed("a canonicalizable SignedInfo", e.to_string()))?;
    let sig = b64.encode(key.sign(algorithm, &si_c14n)?);
    let key_info = key.certificate().map_or(String::new(), |c| {
        format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>", b64.encode(c.der()))
    });
    let inner = signed_info.replacen(&format!(" xmlns:ds=\"{DSIG_NS}\""), "", 1);
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{inner}<ds:SignatureValue>{sig}</ds:SignatureValue>{key_info}</ds:Signature>"
    );
    // SAML puts the signature right after the Issuer; metadata (no Issuer) as the first child.
    let first = element.child_elements().next();
    let at = match first.filter(|c| c.local_name() == "Issuer") {
        Some(issuer) => {
            let close = format!("</{}>", issuer.qname());
            let from = issuer.offset();
            xml.get(from..)
                .and_then(|rest| rest.find(&close))
                .map(|i| from + i + close.len())
                .ok_or_else(|| Error::malformed("a closed Issuer", "none"))?
        }
        None => first
            .map(|c| c.offset())
            .ok_or_else(|| Error::malformed("a child element in the signed element", "none"))?,
    };
    Ok(format!(
        "{}{}{}",
        xml.get(..at).unwrap_or(""),
        signature,
        xml.get(at..).unwrap_or("")
    ))
}
