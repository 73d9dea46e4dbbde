//! XML Encryption 1.1 decryption of SAML's encrypted elements: `EncryptedAssertion`,
//! `EncryptedID` and `EncryptedAttribute` (an `xenc:EncryptedData` of Type Element, its
//! `EncryptedKey` inline in its `KeyInfo` or a sibling named by a same-document
//! `RetrievalMethod` or by `KeyName` = `CarriedKeyName`).
//!
//! Decryption is not authentication. The validation module decrypts an `EncryptedAssertion` only
//! after the Response's signature (when present) verified, and accepts the decrypted Assertion
//! only when that signature covered it or the Assertion carries its own valid signature;
//! `EncryptedID` and `EncryptedAttribute` are decrypted only inside an Assertion whose signature
//! policy is already met. The plaintext goes through the same hardened parser with the same
//! limits, in the namespace context of the element it replaces.
//!
//! Every failure of the cryptography itself (no configured key unwraps the content key, a wrong
//! key length, bad CBC padding, a GCM tag that does not verify) is one error,
//! [`Error::DecryptionFailed`], with one message and one code path: a failed key unwrap continues
//! with a random content key, so it costs what a wrong key costs (no padding or unwrap oracle),
//! and that decryption never counts as success. Each configured key tries one EncryptedKey (the
//! one its KeyInfo names, else the first that names none): at most one RSA private-key operation
//! per configured key per message, before anything is authenticated.
//! Algorithms are checked first, by name: `rsa-1_5` and `tripledes-cbc` need
//! `dangerous_allow_legacy_encryption()`. External references (`CipherReference`, a
//! `RetrievalMethod` URI that is not `#id`) are refused.

pub(crate) mod algorithms;
mod key;

pub use algorithms::{SUPPORTED_CONTENT, SUPPORTED_KEY_TRANSPORT};
pub use key::{Decrypter, DecryptionKey, OaepDigest, RsaPadding};

use algorithms::{Content, KeyTransport};

use crate::dsig::DSIG_NS;
use crate::error::Error;
use crate::xml::{Document, Element, Node, ParseOptions};

/// The XML Encryption namespace.
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// The XML Encryption 1.1 namespace.
pub const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const TYPE_ENCRYPTED_KEY: &str = "http://www.w3.org/2001/04/xmlenc#EncryptedKey";

/// The most `EncryptedKey` elements looked at for one `EncryptedData` (real IdPs send one per
/// recipient key, rarely more than two).
pub const MAX_ENCRYPTED_KEYS: usize = 4;

/// Settings for decryption, from the SP configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decryptor<'a> {
    pub(crate) keys: &'a [DecryptionKey],
    pub(crate) allow_legacy: bool,
    pub(crate) parse: &'a ParseOptions,
}

/// The algorithms a decryption used (for the validation report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Used {
    pub(crate) key_transport: &'static str,
    pub(crate) content: &'static str,
}

impl std::fmt::Display for Used {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |u: &'static str| u.rsplit('#').next().unwrap_or(u);
        write!(f, "{} / {}", short(self.key_transport), short(self.content))
    }
}

fn structure(expected: impl Into<String>, found: impl Into<String>) -> Error {
    Error::Malformed {
        expected: expected.into(),
        found: found.into(),
    }
}

fn child_elements_only<'a>(e: Element<'a>, what: &str) -> Result<Vec<Element<'a>>, Error> {
    let mut out = Vec::new();
    for c in e.children() {
        match c {
            Node::Element(c) => out.push(c),
            Node::Text(t) if t.bytes().all(|b| b.is_ascii_whitespace()) => {}
            Node::Comment(_) => {}
            _ => {
                return Err(structure(
                    format!("only elements in {what}"),
                    "other content",
                ));
            }
        }
    }
    Ok(out)
}

fn algorithm(e: Element<'_>) -> Result<&str, Error> {
    e.attribute("Algorithm")
        .ok_or_else(|| structure(format!("an Algorithm on {}", e.qname()), "none"))
}

fn cipher_value(parent: Element<'_>) -> Result<Vec<u8>, Error> {
    let data = parent
        .child_elements()
        .find(|c| c.is(XENC_NS, "CipherData"))
        .ok_or_else(|| structure(format!("xenc:CipherData in {}", parent.qname()), "none"))?;
    let mut value = None;
    for c in child_elements_only(data, "xenc:CipherData")? {
        if c.is(XENC_NS, "CipherValue") && value.is_none() && !c.has_child_elements() {
            value = Some(c);
        } else if c.is(XENC_NS, "CipherReference") {
            return Err(Error::UnsupportedAlgorithm {
                found: "xenc:CipherReference".into(),
                reason: "external references are never followed".into(),
            });
        } else {
            return Err(structure(
                "one xenc:CipherValue in xenc:CipherData",
                c.qname(),
            ));
        }
    }
    let value = value.ok_or_else(|| structure("xenc:CipherValue", "none"))?;
    crate::crypto::decode_base64(&value.text())
        .ok_or_else(|| structure("base64 in xenc:CipherValue", "something else"))
}

/// One `EncryptedKey`, parsed.
struct WrappedKey {
    transport: KeyTransport,
    transport_uri: &'static str,
    label: Option<Vec<u8>>,
    wrapped: Vec<u8>,
    hinted_der: Vec<Vec<u8>>,
    /// The RSA public keys of the hinted certificates (an SP key configured without its
    /// certificate is still recognised by its public key).
    hinted_keys: Vec<rsa::PublicKey>,
    hinted_names: Vec<String>,
}

fn parse_encrypted_key(ek: Element<'_>, allow_legacy: bool) -> Result<WrappedKey, Error> {
    let method = ek
        .child_elements()
        .find(|c| c.is(XENC_NS, "EncryptionMethod"))
        .ok_or_else(|| structure("xenc:EncryptionMethod in xenc:EncryptedKey", "none"))?;
    let uri = algorithm(method)?;
    let mut digest = None;
    let mut mgf = None;
    let mut label = None;
    for p in child_elements_only(method, "xenc:EncryptionMethod")? {
        if p.is(DSIG_NS, "DigestMethod") && digest.is_none() {
            digest = Some(algorithm(p)?);
        } else if p.is(XENC11_NS, "MGF") && mgf.is_none() {
            mgf = Some(algorithm(p)?);
        } else if p.is(XENC_NS, "OAEPparams") && label.is_none() {
            label = Some(
                crate::crypto::decode_base64(&p.text())
                    .ok_or_else(|| structure("base64 in xenc:OAEPparams", "something else"))?,
            );
        } else if p.is(XENC_NS, "KeySize") {
        } else {
            return Err(structure(
                "DigestMethod, MGF or OAEPparams in an EncryptedKey's EncryptionMethod",
                p.qname(),
            ));
        }
    }
    let transport = KeyTransport::from_parts(uri, digest, mgf, allow_legacy)?;
    let transport_uri = match uri {
        algorithms::RSA_OAEP_11 => algorithms::RSA_OAEP_11,
        algorithms::RSA_1_5 => algorithms::RSA_1_5,
        _ => algorithms::RSA_OAEP_MGF1P,
    };
    // Hints, bounded as for signatures: matching them against the SP's keys stays
    // O(configured keys) whatever the KeyInfo holds.
    let mut hinted_der = Vec::new();
    let mut hinted_names = Vec::new();
    if let Some(ki) = ek.child_elements().find(|c| c.is(DSIG_NS, "KeyInfo")) {
        hinted_der = crate::dsig::key_info_certificates(ki);
        hinted_names = ki
            .child_elements()
            .filter(|c| c.is(DSIG_NS, "KeyName"))
            .take(crate::dsig::MAX_KEY_INFO_HINTS)
            .map(|c| c.text().trim().to_owned())
            .collect();
    }
    let hinted_keys = hinted_der
        .iter()
        .filter_map(|d| crate::crypto::Certificate::from_der(d).ok())
        .filter_map(|c| c.rsa_public_key().cloned())
        .collect();
    Ok(WrappedKey {
        transport,
        transport_uri,
        label,
        wrapped: cipher_value(ek)?,
        hinted_der,
        hinted_keys,
        hinted_names,
    })
}

/// The `EncryptedKey`s for `data`: inline in its `KeyInfo`, siblings named by a same-document
/// `RetrievalMethod` or by `KeyName` = `CarriedKeyName`, else every sibling.
fn encrypted_keys<'a>(
    data: Element<'a>,
    siblings: &[Element<'a>],
) -> Result<Vec<Element<'a>>, Error> {
    let mut keys = Vec::new();
    let mut named = false;
    if let Some(ki) = data.child_elements().find(|c| c.is(DSIG_NS, "KeyInfo")) {
        // At most a few key references are looked at (each may scan the few siblings).
        for (n, c) in ki.child_elements().enumerate() {
            if n >= 2 * MAX_ENCRYPTED_KEYS {
                return Err(structure(
                    format!(
                        "at most {} entries in the EncryptedData's KeyInfo",
                        2 * MAX_ENCRYPTED_KEYS
                    ),
                    "more",
                ));
            }
            if c.is(XENC_NS, "EncryptedKey") {
                keys.push(c);
            } else if c.is(DSIG_NS, "RetrievalMethod") {
                named = true;
                if c.attribute("Type").is_some_and(|t| t != TYPE_ENCRYPTED_KEY) {
                    return Err(structure(
                        "a RetrievalMethod of Type EncryptedKey",
                        c.attribute("Type").unwrap_or(""),
                    ));
                }
                let uri = c.attribute("URI").unwrap_or("");
                let id = uri
                    .strip_prefix('#')
                    .ok_or_else(|| Error::UnsupportedAlgorithm {
                        found: format!(
                            "RetrievalMethod URI {:?}",
                            uri.chars().take(100).collect::<String>()
                        ),
                        reason: "only same-document references (#id) are followed".into(),
                    })?;
                let target = siblings
                    .iter()
                    .find(|k| k.attribute("Id") == Some(id) || k.attribute("ID") == Some(id))
                    .ok_or_else(|| {
                        structure(
                            format!("an EncryptedKey with Id {id:?} beside the EncryptedData"),
                            "none",
                        )
                    })?;
                keys.push(*target);
            } else if c.is(DSIG_NS, "KeyName") {
                named = true;
                let name = c.text();
                let name = name.trim();
                keys.extend(siblings.iter().filter(|k| {
                    k.child_elements()
                        .any(|n| n.is(XENC_NS, "CarriedKeyName") && n.text().trim() == name)
                }));
            }
        }
    }
    if keys.is_empty() && !named {
        keys.extend_from_slice(siblings);
    }
    if keys.is_empty() {
        return Err(structure("an EncryptedKey for the EncryptedData", "none"));
    }
    if keys.len() > MAX_ENCRYPTED_KEYS {
        return Err(structure(
            format!("at most {MAX_ENCRYPTED_KEYS} EncryptedKeys"),
            keys.len().to_string(),
        ));
    }
    Ok(keys)
}

/// The EncryptedKey the SP key `k` (one of `keys`) tries: the first whose KeyInfo names it (its
/// certificate or key name), else the first that names none of the configured keys (an
/// EncryptedKey naming another configured key is that key's). One per key, so a message costs
/// at most one RSA private-key operation per configured key however many EncryptedKeys it
/// carries.
fn encrypted_key_for<'w>(
    k: &DecryptionKey,
    keys: &[DecryptionKey],
    wrapped: &'w [WrappedKey],
) -> Option<&'w WrappedKey> {
    let names = |key: &DecryptionKey, w: &WrappedKey| {
        key.certificate
            .as_ref()
            .is_some_and(|c| w.hinted_der.iter().any(|d| d.as_slice() == c.der()))
            || key
                .name
                .as_ref()
                .is_some_and(|n| w.hinted_names.contains(n))
            || w.hinted_keys.iter().any(|p| key.is_public_key(p))
    };
    wrapped
        .iter()
        .find(|w| names(k, w))
        .or_else(|| wrapped.iter().find(|w| !keys.iter().any(|o| names(o, w))))
}

impl Decryptor<'_> {
    /// Decrypts the `EncryptedData` in `wrapper` (`EncryptedAssertion`, `EncryptedID` or
    /// `EncryptedAttribute`) and parses the plaintext in `wrapper`'s namespace context. The
    /// returned document's root is a synthetic element whose one child element is the
    /// plaintext's element, of the expanded name `expect` (namespace, local name);
    /// [`decrypted_element`] picks it.
    pub(crate) fn decrypt(
        &self,
        wrapper: Element<'_>,
        what: &'static str,
        expect: (&str, &str),
    ) -> Result<(Document, Used), Error> {
        if self.keys.is_empty() {
            return Err(Error::NoDecryptionKey { element: what });
        }
        let children = child_elements_only(wrapper, what)?;
        let mut data = None;
        let mut siblings = Vec::new();
        for c in children {
            if c.is(XENC_NS, "EncryptedData") && data.is_none() {
                data = Some(c);
            } else if c.is(XENC_NS, "EncryptedKey") {
                // Everything here runs before any signature inside the plaintext can verify:
                // bound the siblings so that naming them stays cheap.
                if siblings.len() >= MAX_ENCRYPTED_KEYS {
                    return Err(structure(
                        format!("at most {MAX_ENCRYPTED_KEYS} EncryptedKeys"),
                        "more",
                    ));
                }
                siblings.push(c);
            } else {
                return Err(structure(
                    format!("one xenc:EncryptedData and xenc:EncryptedKeys in {what}"),
                    c.qname(),
                ));
            }
        }
        let data =
            data.ok_or_else(|| structure(format!("xenc:EncryptedData in {what}"), "none"))?;
        if let Some(t) = data.attribute("Type")
            && t != TYPE_ELEMENT
        {
            return Err(structure("EncryptedData of Type Element", t));
        }
        let method = data
            .child_elements()
            .find(|c| c.is(XENC_NS, "EncryptionMethod"))
            .ok_or_else(|| structure("xenc:EncryptionMethod in xenc:EncryptedData", "none"))?;
        let content = Content::from_uri(algorithm(method)?, self.allow_legacy)?;
        let ciphertext = cipher_value(data)?;
        if ciphertext.len() > self.parse.limits.max_input_bytes + 64 {
            return Err(crate::xml::XmlError::LimitExceeded {
                limit: "ciphertext bytes",
                max: self.parse.limits.max_input_bytes,
                found: ciphertext.len(),
            }
            .into());
        }
        let mut wrapped = Vec::new();
        for ek in encrypted_keys(data, &siblings)? {
            wrapped.push(parse_encrypted_key(ek, self.allow_legacy)?);
        }
        let mut plaintext = None;
        let mut used = None;
        // At most one private-key operation per configured key, whatever the message holds:
        // each key tries the one EncryptedKey meant for it (see `encrypted_key_for`).
        for (k, w) in self
            .keys
            .iter()
            .filter_map(|k| encrypted_key_for(k, self.keys, &wrapped).map(|w| (k, w)))
        {
            #[cfg(test)]
            PRIVATE_KEY_OPERATIONS.with(|n| n.set(n.get() + 1));
            let unwrapped = match w.transport.unwrap(&k.key, &w.wrapped, w.label.as_deref()) {
                Ok(ck) if ck.len() == content.key_len() => Some(ck),
                _ => None,
            };
            // A key that does not unwrap still decrypts, with a random content key, so that it
            // costs what a wrong content key costs; that decryption never counts as success
            // (about 1 in 16 random keys gives valid CBC padding).
            let content_key = match &unwrapped {
                Some(ck) => ck.clone(),
                None => {
                    let mut random = vec![0u8; content.key_len()];
                    crate::crypto::random_bytes(&mut random)?;
                    random
                }
            };
            let decrypted = content.decrypt(&content_key, &ciphertext);
            if let (Some(_), Ok(p)) = (&unwrapped, decrypted) {
                plaintext = Some(p);
                used = Some(Used {
                    key_transport: w.transport_uri,
                    content: content.uri(),
                });
                break;
            }
        }
        let (Some(plaintext), Some(used)) = (plaintext, used) else {
            return Err(Error::DecryptionFailed { element: what });
        };
        let parsed = self.parse_in_context(wrapper, &plaintext).and_then(|doc| {
            decrypted_element(&doc, expect.0, expect.1)
                .map(|_| ())
                .map(|()| doc)
        });
        match parsed {
            Ok(doc) => Ok((doc, used)),
            // CBC is not authenticated: whoever holds a captured ciphertext can change it and
            // watch how the garbled plaintext fails (Jager and Somorovsky, "How to break XML
            // Encryption", 2011). With CBC every failure up to a parsed element is the one
            // decryption error. With GCM the tag already authenticated the plaintext (or the
            // sender made it, and knows it), so the precise error helps troubleshooting.
            Err(_) if matches!(content, Content::AesCbc { .. } | Content::TripleDesCbc) => {
                Err(Error::DecryptionFailed { element: what })
            }
            Err(e) => Err(e),
        }
    }

    /// Parses `plaintext` as the content of a synthetic element that declares every namespace
    /// in scope at `context`, so prefixes declared outside the encrypted element resolve as
    /// they did where it was encrypted.
    fn parse_in_context(&self, context: Element<'_>, plaintext: &[u8]) -> Result<Document, Error> {
        let mut body = plaintext;
        if body.starts_with(b"<?xml")
            && let Some(end) = body.windows(2).position(|w| w == b"?>")
        {
            body = body.get(end + 2..).unwrap_or_default();
        }
        let mut decls: Vec<(Option<&str>, &str)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cur = Some(context);
        while let Some(e) = cur {
            for d in e.namespace_declarations() {
                if seen.insert(d.prefix) {
                    decls.push((d.prefix, d.uri));
                }
            }
            cur = e.parent();
        }
        let mut doc = String::from("<saml-sp-decrypted");
        let declared = decls.len();
        for (prefix, uri) in decls {
            if uri.is_empty() && prefix.is_some() {
                continue;
            }
            match prefix {
                Some(p) => {
                    doc.push_str(&format!(" xmlns:{p}=\"{}\"", crate::xml::escape_attr(uri)))
                }
                None => doc.push_str(&format!(" xmlns=\"{}\"", crate::xml::escape_attr(uri))),
            }
        }
        doc.push('>');
        let text =
            std::str::from_utf8(body).map_err(|_| structure("UTF-8 plaintext", "other bytes"))?;
        doc.push_str(text);
        doc.push_str("</saml-sp-decrypted>");
        // The synthetic root re-declares every namespace in scope at `context`, which the outer
        // parse already bounded (per element, and by depth): the per-element limit applies to
        // the plaintext's own elements, never to that sum over the ancestors.
        let mut options = *self.parse;
        options.limits = options.limits.with_max_namespace_declarations(
            options.limits.max_namespace_declarations.max(declared),
        );
        Ok(Document::parse_with(doc.as_bytes(), &options)?)
    }
}

#[cfg(test)]
thread_local! {
    /// RSA private-key operations this thread's decryptions made (unit tests count them).
    static PRIVATE_KEY_OPERATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The one element a decryption produced, which must be `{ns}local`.
pub(crate) fn decrypted_element<'a>(
    doc: &'a Document,
    ns: &str,
    local: &str,
) -> Result<Element<'a>, Error> {
    let children = child_elements_only(doc.root(), "the decrypted plaintext")?;
    match children.as_slice() {
        [e] if e.is(ns, local) => Ok(*e),
        [e] => Err(structure(
            format!("a decrypted {local}"),
            format!("{{{}}}{}", e.namespace().unwrap_or(""), e.local_name()),
        )),
        other => Err(structure(
            format!("exactly one decrypted {local}"),
            format!("{} elements", other.len()),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> DecryptionKey {
        DecryptionKey::from_pem(include_str!("../testkit/other.key")).unwrap()
    }

    /// An EncryptedAssertion with `n` EncryptedKeys of garbage (no KeyInfo: each could be for
    /// any key), as an unsigned Response carries it before anything is authenticated.
    fn garbage_keys(n: usize) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let ek = format!(
            "<xenc:EncryptedKey xmlns:xenc=\"{XENC_NS}\"><xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>",
            b64.encode([0x5au8; 256])
        );
        format!(
            "<saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"><xenc:EncryptedData xmlns:xenc=\"{XENC_NS}\" Type=\"{TYPE_ELEMENT}\"><xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>{}</saml:EncryptedAssertion>",
            b64.encode([0x11u8; 64]),
            ek.repeat(n)
        )
    }

    /// Hardening pass 3, item 2: four garbage EncryptedKeys cost at most one RSA private-key
    /// operation per configured key (they cost four per key before).
    #[test]
    fn pass3_defect_2_garbage_encrypted_keys_cost_one_rsa_operation_per_configured_key() {
        let parse = ParseOptions::default();
        for keys in [vec![key()], vec![key(), key()]] {
            for n in [1, 4] {
                let xml = garbage_keys(n);
                let doc = Document::parse(xml.as_bytes()).unwrap();
                let d = Decryptor {
                    keys: &keys,
                    allow_legacy: false,
                    parse: &parse,
                };
                PRIVATE_KEY_OPERATIONS.with(|c| c.set(0));
                let e = d
                    .decrypt(
                        doc.root(),
                        "EncryptedAssertion",
                        ("urn:oasis:names:tc:SAML:2.0:assertion", "Assertion"),
                    )
                    .unwrap_err();
                assert_eq!(e.code(), "decryption_failed");
                let ops = PRIVATE_KEY_OPERATIONS.with(std::cell::Cell::get);
                assert_eq!(ops, keys.len(), "{n} EncryptedKeys, {} keys", keys.len());
            }
        }
    }
}
