//! Verification of an enveloped XML signature, profiled as SAML Core 5.4 requires.
//!
//! [`verify_enveloped`] checks the `ds:Signature` child of one element and, when it verifies,
//! returns a [`SignedElement`]: that element and what the signature used. Callers read identity
//! data from that element only, never by searching the document again (the defence against
//! signature wrapping). [`sign_enveloped`] makes such signatures (signed AuthnRequests, logout
//! messages, the test IdP).
//!
//! - `verify`: the verification profile below;
//! - `sign`: enveloped signing with exclusive C14N and SHA-256.
//!
//! What is accepted:
//! - exactly one `ds:Signature` child, right after the element's `Issuer` (or first when there is
//!   no Issuer); children `SignedInfo`, `SignatureValue`, optional `KeyInfo`, nothing else;
//! - `SignedInfo` = `CanonicalizationMethod`, `SignatureMethod`, exactly one `Reference`;
//! - the Reference's URI is `#` + the element's `ID` (resolved through the document's ID index),
//!   or empty only when the element is the document element;
//! - transforms: enveloped-signature (required) and at most one C14N 1.0 / 1.1 / exclusive C14N
//!   (with or without comments, PrefixList honoured);
//! - algorithms from the allow-list in [`crate::crypto`]; SHA-1 and RSA keys under 2048 bits only
//!   with the legacy option;
//! - keys: only configured certificates. `KeyInfo` is a hint for choosing among them, never trust.

use crate::crypto::{Certificate, DigestAlgorithm, SignatureAlgorithm};
use crate::xml::Element;
use crate::xml::c14n::Algorithm;

mod sign;
pub(crate) mod verify;

pub use sign::sign_enveloped;
pub(crate) use verify::{MAX_KEY_INFO_HINTS, key_info_certificates};
pub use verify::{MAX_SIGNED_INFO_BYTES, MAX_SIGNED_INFO_NODES, verify_enveloped};

pub(crate) use crate::ns::DSIG_NS;
pub(crate) const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub(crate) const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// What a verified signature used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedSignature {
    /// The SignatureMethod.
    pub algorithm: SignatureAlgorithm,
    /// The Reference's DigestMethod.
    pub digest: DigestAlgorithm,
    /// The CanonicalizationMethod of SignedInfo.
    pub canonicalization: Algorithm,
    /// SHA-256 fingerprint of the configured certificate that verified it.
    pub certificate_sha256: String,
}

/// An element whose enveloped signature verified, with what the signature used. Identity data is
/// read from [`SignedElement::element`] only: the element the signature covers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedElement<'a> {
    /// The element the verified signature covers.
    pub element: Element<'a>,
    /// What the signature used.
    pub signature: VerifiedSignature,
}

/// Options for [`verify_enveloped`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The trusted certificates.
    pub certificates: &'a [Certificate],
    /// Accept SHA-1 and RSA keys of 1024-2047 bits.
    pub allow_legacy_crypto: bool,
}
