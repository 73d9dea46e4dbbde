//! Verification of one enveloped signature (the profile in the module documentation).

use crate::crypto::{self, Certificate, DigestAlgorithm, SignatureAlgorithm, VerifyFailure};
use crate::error::Error;
use crate::xml::c14n::{self, Algorithm, Subset};
use crate::xml::{Element, Node};

use super::{DSIG_NS, ENVELOPED, EXC_C14N_NS, SignedElement, VerifiedSignature, VerifyOptions};

fn is_ds<'a>(e: &Element<'a>, local: &str) -> bool {
    e.is(DSIG_NS, local)
}

/// Refuses non-whitespace text, comments-as-structure are fine, processing instructions are not.
fn element_only_children<'a>(e: Element<'a>, what: &str) -> Result<Vec<Element<'a>>, Error> {
    if !e.has_only_whitespace_text() {
        return Err(Error::profile(
            format!("only elements inside {what}"),
            "text",
        ));
    }
    let mut out = Vec::new();
    for child in e.children() {
        match child {
            Node::Element(c) => out.push(c),
            Node::Text(_) | Node::Comment(_) => {}
            _ => {
                return Err(Error::profile(
                    format!("only elements inside {what}"),
                    "other content",
                ));
            }
        }
    }
    Ok(out)
}

/// The most bytes a `ds:SignedInfo` may span. A SAML signature's SignedInfo (one Reference, two
/// transforms, a short PrefixList) is under 2 KB; the budget leaves room for indentation.
pub const MAX_SIGNED_INFO_BYTES: usize = 16 * 1024;
/// The most nodes (elements, text runs, comments) under a `ds:SignedInfo`. A SAML SignedInfo
/// has 8-12 elements and about as many white-space runs.
pub const MAX_SIGNED_INFO_NODES: usize = 64;

/// SignedInfo is canonicalized before any key has verified anything, so everything in it is the
/// attacker's: bound its size and node count before any other work is spent on it, and refuse
/// element content where the schema allows none (DigestMethod, InclusiveNamespaces).
fn signed_info_within_budget(signed_info: Element<'_>, next: Element<'_>) -> Result<(), Error> {
    let span = next.offset().saturating_sub(signed_info.offset());
    if span > MAX_SIGNED_INFO_BYTES {
        return Err(Error::profile(
            format!("a ds:SignedInfo of at most {MAX_SIGNED_INFO_BYTES} bytes"),
            format!("{span} bytes"),
        ));
    }
    let mut nodes = 0usize;
    let mut stack = vec![signed_info];
    while let Some(e) = stack.pop() {
        let leaf = (is_ds(&e, "DigestMethod") || e.is(EXC_C14N_NS, "InclusiveNamespaces"))
            && e.has_child_elements();
        if leaf {
            return Err(Error::profile(
                format!("no element content in {}", e.qname()),
                "child elements",
            ));
        }
        for child in e.children() {
            nodes += 1;
            if nodes > MAX_SIGNED_INFO_NODES {
                return Err(Error::profile(
                    format!("at most {MAX_SIGNED_INFO_NODES} nodes in ds:SignedInfo"),
                    "more",
                ));
            }
            if let Node::Element(c) = child {
                stack.push(c);
            }
        }
    }
    Ok(())
}

fn algorithm_attr<'a>(e: &Element<'a>) -> Result<&'a str, Error> {
    e.attribute("Algorithm").ok_or_else(|| {
        Error::profile(
            format!("an Algorithm attribute on ds:{}", e.local_name()),
            "none",
        )
    })
}

/// The `ec:InclusiveNamespaces/@PrefixList` under a transform or CanonicalizationMethod.
fn prefix_list<'a>(method: Element<'a>, alg: Algorithm) -> Result<Vec<&'a str>, Error> {
    let mut prefixes = Vec::new();
    for child in element_only_children(method, "a canonicalization method")? {
        if child.is(EXC_C14N_NS, "InclusiveNamespaces") && alg.is_exclusive() && prefixes.is_empty()
        {
            prefixes.extend(
                child
                    .attribute("PrefixList")
                    .unwrap_or("")
                    .split_ascii_whitespace(),
            );
        } else {
            return Err(Error::profile(
                "no content in a canonicalization method but one ec:InclusiveNamespaces",
                child.qname(),
            ));
        }
    }
    Ok(prefixes)
}

fn c14n_algorithm(uri: &str) -> Result<Algorithm, Error> {
    Algorithm::from_uri(uri).ok_or_else(|| Error::UnsupportedAlgorithm {
        found: uri.chars().take(200).collect(),
        reason: "not an allowed canonicalization or transform (enveloped-signature, C14N 1.0 or 1.1, exclusive C14N)".into(),
    })
}

/// Finds the `ds:Signature` children of `element` and checks their placement.
///
/// Returns `None` when the element has no signature.
fn signature_of<'a>(element: Element<'a>) -> Result<Option<Element<'a>>, Error> {
    let children: Vec<Element<'a>> = element.child_elements().collect();
    let mut sig = None;
    for (index, child) in children.iter().enumerate() {
        if !is_ds(child, "Signature") {
            continue;
        }
        if sig.is_some() {
            return Err(Error::profile(
                format!("at most one ds:Signature in {}", element.local_name()),
                "two",
            ));
        }
        // SAML's schema puts the signature right after the Issuer (first when there is none);
        // some IdPs (Auth0, the XML-DSig examples) append it as the last child instead. Anywhere
        // else it is refused.
        let after_issuer =
            usize::from(children.first().is_some_and(|c| c.local_name() == "Issuer"));
        if index != after_issuer && index + 1 != children.len() {
            return Err(Error::profile(
                format!(
                    "ds:Signature right after the Issuer of {} (or as its last child)",
                    element.local_name()
                ),
                format!("ds:Signature at child position {}", index + 1),
            ));
        }
        sig = Some(*child);
    }
    Ok(sig)
}

/// Verifies the enveloped signature of `element`. Returns `Ok(None)` when it has none.
///
/// # Errors
/// Any violation of the profile, an algorithm outside the allow-list, a digest mismatch, or a
/// signature that no configured key verifies.
pub fn verify_enveloped<'a>(
    element: Element<'a>,
    element_name: &'static str,
    opts: &VerifyOptions<'_>,
) -> Result<Option<SignedElement<'a>>, Error> {
    verify_enveloped_with(element, element_name, opts, &mut |r| {
        let mut h = crypto::BufferedHasher::new(r.digest);
        digest_into(element, element_name, r, &mut h)?;
        Ok(h.finish())
    })
}

/// The Reference's canonical form of `element` (its signature left out) into `h`.
fn digest_into(
    element: Element<'_>,
    element_name: &'static str,
    r: &ReferenceDigest<'_>,
    h: &mut crypto::BufferedHasher,
) -> Result<(), Error> {
    c14n::canonicalize(
        element.document(),
        Subset::Element {
            apex: element.id(),
            exclude: Some(r.signature),
        },
        r.c14n,
        &r.prefixes,
        h,
    )
    .map_err(|e| Error::SignatureInvalid {
        element: element_name,
        reason: e.to_string(),
    })
}

/// The digest of an inner signed element (a signed Assertion), computed while its signed parent
/// (the Response) was canonicalized, for the inner element's own Reference: the document is
/// canonicalized once where there are two signatures. Used only where the inner Reference asks
/// for exactly the canonicalization and digest it was made with.
#[derive(Debug)]
pub(crate) struct InnerCanonical {
    element: crate::xml::NodeId,
    signature: crate::xml::NodeId,
    c14n: Algorithm,
    prefixes: Vec<String>,
    digest: DigestAlgorithm,
    value: Vec<u8>,
}

/// The DigestMethod the (not yet verified) signature `sig` declares for its Reference: only a
/// guess at which hash the inner copy should compute; [`verify_enveloped_kept`] uses the result
/// only when the verified Reference asks for the same algorithm.
fn declared_digest(sig: Element<'_>) -> Option<DigestAlgorithm> {
    let signed_info = sig.child_elements().next()?;
    let reference = signed_info
        .child_elements()
        .find(|c| is_ds(c, "Reference"))?;
    let method = reference
        .child_elements()
        .find(|c| is_ds(c, "DigestMethod"))?;
    DigestAlgorithm::from_uri(method.attribute("Algorithm")?).ok()
}

/// [`verify_enveloped`] of `element` that also digests its descendant `inner` (with `inner`'s
/// own signature left out) when the same walk can make its canonical form exactly.
///
/// # Errors
/// As [`verify_enveloped`].
pub(crate) fn verify_enveloped_keeping<'a>(
    element: Element<'a>,
    element_name: &'static str,
    opts: &VerifyOptions<'_>,
    inner: Element<'a>,
    kept: &mut Option<InnerCanonical>,
) -> Result<Option<SignedElement<'a>>, Error> {
    let doc = element.document();
    let inner_sig = signature_of(inner).ok().flatten();
    let inner_digest = inner_sig.and_then(declared_digest);
    verify_enveloped_with(element, element_name, opts, &mut |r| {
        match (inner_sig, inner_digest) {
            (Some(sig), Some(digest)) => {
                // The walk stages its output in blocks: plain hashers behind it.
                let mut h = r.digest.hasher();
                let mut inner_hash = digest.hasher();
                let made = c14n::canonicalize_with_inner(
                    doc,
                    element.id(),
                    Some(r.signature),
                    r.c14n,
                    &r.prefixes,
                    &mut h,
                    inner.id(),
                    Some(sig.id()),
                    &mut inner_hash,
                )
                .map_err(|e| Error::SignatureInvalid {
                    element: element_name,
                    reason: e.to_string(),
                })?;
                if made {
                    *kept = Some(InnerCanonical {
                        element: inner.id(),
                        signature: sig.id(),
                        c14n: r.c14n,
                        prefixes: r.prefixes.iter().map(|p| (*p).to_owned()).collect(),
                        digest,
                        value: inner_hash.finish(),
                    });
                }
                Ok(h.finish())
            }
            _ => {
                let mut h = crypto::BufferedHasher::new(r.digest);
                digest_into(element, element_name, r, &mut h)?;
                Ok(h.finish())
            }
        }
    })
}

/// [`verify_enveloped`] of `element`, taking the digest from `kept` when it was made for this
/// element, this signature, the same canonicalization and the same digest algorithm; otherwise
/// as usual.
///
/// # Errors
/// As [`verify_enveloped`].
pub(crate) fn verify_enveloped_kept<'a>(
    element: Element<'a>,
    element_name: &'static str,
    opts: &VerifyOptions<'_>,
    kept: Option<InnerCanonical>,
) -> Result<Option<SignedElement<'a>>, Error> {
    verify_enveloped_with(element, element_name, opts, &mut |r| match &kept {
        Some(k)
            if k.element == element.id()
                && k.signature == r.signature
                && k.c14n == r.c14n
                && k.digest == r.digest
                && k.prefixes
                    .iter()
                    .map(String::as_str)
                    .eq(r.prefixes.iter().copied()) =>
        {
            Ok(k.value.clone())
        }
        _ => {
            let mut h = crypto::BufferedHasher::new(r.digest);
            digest_into(element, element_name, r, &mut h)?;
            Ok(h.finish())
        }
    })
}

/// What the Reference asks to be digested: the signed element without `signature`,
/// canonicalized with `c14n` (comments never: a same-document reference) and `prefixes`.
pub(crate) struct ReferenceDigest<'a> {
    pub(crate) c14n: Algorithm,
    pub(crate) prefixes: Vec<&'a str>,
    pub(crate) digest: DigestAlgorithm,
    pub(crate) signature: crate::xml::NodeId,
}

/// [`verify_enveloped`] with the digest of the signed content computed by `digest_of`, called
/// only after SignedInfo verified with a configured key (the streaming aggregate reader digests
/// the parts of the document it never holds at once).
pub(crate) fn verify_enveloped_with<'a>(
    element: Element<'a>,
    element_name: &'static str,
    opts: &VerifyOptions<'_>,
    digest_of: &mut dyn FnMut(&ReferenceDigest<'a>) -> Result<Vec<u8>, Error>,
) -> Result<Option<SignedElement<'a>>, Error> {
    let Some(sig) = signature_of(element)? else {
        return Ok(None);
    };
    let doc = element.document();

    // ds:Signature = SignedInfo, SignatureValue, KeyInfo?  (no Object, nothing else)
    let children = element_only_children(sig, "ds:Signature")?;
    let mut it = children.iter().copied();
    let signed_info = it
        .next()
        .filter(|c| is_ds(c, "SignedInfo"))
        .ok_or_else(|| {
            Error::profile(
                "ds:SignedInfo as the first child of ds:Signature",
                "something else",
            )
        })?;
    let sig_value = it
        .next()
        .filter(|c| is_ds(c, "SignatureValue"))
        .ok_or_else(|| {
            Error::profile(
                "ds:SignatureValue as the second child of ds:Signature",
                "something else",
            )
        })?;
    signed_info_within_budget(signed_info, sig_value)?;
    let key_info = match it.next() {
        None => None,
        Some(k) if is_ds(&k, "KeyInfo") => Some(k),
        Some(k) => {
            return Err(Error::profile(
                "only SignedInfo, SignatureValue and KeyInfo in ds:Signature",
                k.qname(),
            ));
        }
    };
    if let Some(extra) = it.next() {
        return Err(Error::profile(
            "only SignedInfo, SignatureValue and KeyInfo in ds:Signature",
            extra.qname(),
        ));
    }

    // SignedInfo = CanonicalizationMethod, SignatureMethod, Reference (exactly one)
    let si = element_only_children(signed_info, "ds:SignedInfo")?;
    let [cm, sm, reference] = si.as_slice() else {
        return Err(Error::profile(
            "ds:SignedInfo with CanonicalizationMethod, SignatureMethod and exactly one Reference",
            format!("{} children", si.len()),
        ));
    };
    if !is_ds(cm, "CanonicalizationMethod")
        || !is_ds(sm, "SignatureMethod")
        || !is_ds(reference, "Reference")
    {
        return Err(Error::profile(
            "ds:SignedInfo with CanonicalizationMethod, SignatureMethod and exactly one Reference",
            format!("{}, {}, {}", cm.qname(), sm.qname(), reference.qname()),
        ));
    }
    let si_c14n = c14n_algorithm(algorithm_attr(cm)?)?;
    let si_prefixes = prefix_list(*cm, si_c14n)?;
    if let Some(child) = element_only_children(*sm, "ds:SignatureMethod")?.first() {
        return Err(Error::UnsupportedAlgorithm {
            found: format!("SignatureMethod with {}", child.local_name()),
            reason: "parameters such as HMACOutputLength are never accepted".into(),
        });
    }
    let algorithm = SignatureAlgorithm::from_uri(algorithm_attr(sm)?)?;
    if algorithm == SignatureAlgorithm::RsaSha1 && !opts.allow_legacy_crypto {
        return Err(Error::UnsupportedAlgorithm {
            found: algorithm.uri().into(),
            reason: "SHA-1 signatures need the legacy-crypto option".into(),
        });
    }

    // Reference: URI = "#" + the element's ID (or "" for the document element).
    if reference.attribute("Type").is_some_and(|t| !t.is_empty()) {
        return Err(Error::profile(
            "a Reference without Type (no Manifest/Object indirection)",
            "a Type attribute",
        ));
    }
    let uri = reference.attribute("URI").ok_or_else(|| {
        Error::profile(
            "a Reference URI naming the signed element",
            "no URI attribute",
        )
    })?;
    if uri.is_empty() {
        if element != doc.root() {
            return Err(Error::profile(
                format!(
                    "Reference URI \"#ID\" on the signature of {element_name} (URI=\"\" only for the document element)"
                ),
                "URI=\"\"",
            ));
        }
    } else {
        let id = uri.strip_prefix('#').ok_or_else(|| {
            Error::profile(
                "a same-document Reference URI \"#ID\"",
                uri.chars().take(100).collect::<String>(),
            )
        })?;
        if !crate::xml::is_id_like(id) {
            return Err(Error::profile(
                "a Reference URI \"#ID\" with an NCName ID",
                uri.chars().take(100).collect::<String>(),
            ));
        }
        let own_id = element.attribute("ID");
        let target = doc.element_by_id(id);
        if own_id != Some(id) || target != Some(element) {
            return Err(Error::profile(
                format!(
                    "Reference URI \"#{}\" (the ID of the signature's parent {element_name})",
                    own_id.unwrap_or("")
                ),
                uri.chars().take(100).collect::<String>(),
            ));
        }
    }

    // Reference children: Transforms?, DigestMethod, DigestValue
    let rc = element_only_children(*reference, "ds:Reference")?;
    let (transforms, dm, dv) = match rc.as_slice() {
        [t, dm, dv] if is_ds(t, "Transforms") => (Some(*t), *dm, *dv),
        [dm, dv] => (None, *dm, *dv),
        _ => {
            return Err(Error::profile(
                "ds:Reference with Transforms, DigestMethod and DigestValue",
                format!("{} children", rc.len()),
            ));
        }
    };
    if !is_ds(&dm, "DigestMethod") || !is_ds(&dv, "DigestValue") {
        return Err(Error::profile(
            "ds:Reference with Transforms, DigestMethod and DigestValue",
            format!("{}, {}", dm.qname(), dv.qname()),
        ));
    }
    let mut enveloped = false;
    let mut ref_c14n: Option<(Algorithm, Vec<&str>)> = None;
    if let Some(t) = transforms {
        let list = element_only_children(t, "ds:Transforms")?;
        if list.len() > 2 {
            return Err(Error::profile(
                "at most two transforms",
                format!("{}", list.len()),
            ));
        }
        for tr in list {
            if !is_ds(&tr, "Transform") {
                return Err(Error::profile("ds:Transform", tr.qname()));
            }
            let a = algorithm_attr(&tr)?;
            if a == ENVELOPED && !enveloped {
                if !element_only_children(tr, "ds:Transform")?.is_empty() {
                    return Err(Error::profile(
                        "an empty enveloped-signature transform",
                        "content",
                    ));
                }
                enveloped = true;
            } else if ref_c14n.is_none() && a != ENVELOPED {
                let alg = c14n_algorithm(a)?;
                ref_c14n = Some((alg, prefix_list(tr, alg)?));
            } else {
                return Err(Error::profile(
                    "each allowed transform at most once",
                    a.chars().take(100).collect::<String>(),
                ));
            }
        }
    }
    if !enveloped {
        return Err(Error::profile("the enveloped-signature transform", "none"));
    }
    let digest = DigestAlgorithm::from_uri(algorithm_attr(&dm)?)?;
    if digest == DigestAlgorithm::Sha1 && !opts.allow_legacy_crypto {
        return Err(Error::UnsupportedAlgorithm {
            found: digest.uri().into(),
            reason: "SHA-1 digests need the legacy-crypto option".into(),
        });
    }
    if dv.has_child_elements() {
        return Err(Error::profile("DigestValue as text", "child elements"));
    }
    let expected_digest =
        crypto::decode_base64(&dv.text()).ok_or_else(|| Error::SignatureInvalid {
            element: element_name,
            reason: "DigestValue is not valid base64".into(),
        })?;

    // 1. The signature over the canonical SignedInfo, with configured keys only.
    // SignedInfo is small: canonicalize it into a buffer, so either crypto backend can take it.
    let si_bytes = c14n::canonicalize_to_vec(
        doc,
        Subset::Element {
            apex: signed_info.id(),
            exclude: None,
        },
        si_c14n,
        &si_prefixes,
    )
    .map_err(|e| Error::SignatureInvalid {
        element: element_name,
        reason: e.to_string(),
    })?;
    if sig_value.has_child_elements() {
        return Err(Error::profile("SignatureValue as text", "child elements"));
    }
    let signature =
        crypto::decode_base64(&sig_value.text()).ok_or_else(|| Error::SignatureInvalid {
            element: element_name,
            reason: "SignatureValue is not valid base64".into(),
        })?;
    let hinted = key_info.map(key_info_certificates).unwrap_or_default();
    let mut order: Vec<&Certificate> = Vec::with_capacity(opts.certificates.len());
    // KeyInfo only chooses the order in which configured keys are tried.
    order.extend(
        opts.certificates
            .iter()
            .filter(|c| hinted.iter().any(|h| h.as_slice() == c.der())),
    );
    order.extend(
        opts.certificates
            .iter()
            .filter(|c| !hinted.iter().any(|h| h.as_slice() == c.der())),
    );
    let mut unusable = None;
    let mut usable_type = false;
    let mut verified_by = None;
    for cert in order {
        match cert.verify(algorithm, &si_bytes, &signature, opts.allow_legacy_crypto) {
            Ok(()) => {
                verified_by = Some(cert);
                break;
            }
            Err(VerifyFailure::Weak(why)) => {
                usable_type = true;
                unusable = Some(why);
            }
            Err(VerifyFailure::WrongType) => {}
            Err(VerifyFailure::Bad) => usable_type = true,
        }
    }
    let Some(cert) = verified_by else {
        if !usable_type {
            return Err(Error::UnsupportedAlgorithm {
                found: algorithm.uri().into(),
                reason: "no configured certificate has a key of the type this algorithm needs"
                    .into(),
            });
        }
        if let Some(why) = unusable {
            return Err(Error::UnsupportedAlgorithm {
                found: algorithm.uri().into(),
                reason: why,
            });
        }
        if let Some(first) = hinted.first()
            && !opts
                .certificates
                .iter()
                .any(|c| hinted.iter().any(|h| h.as_slice() == c.der()))
        {
            return Err(Error::UntrustedKey {
                found: crypto::hex(&sha256(first)),
                configured: opts
                    .certificates
                    .iter()
                    .map(crypto::Certificate::fingerprint_hex)
                    .collect(),
            });
        }
        return Err(Error::SignatureInvalid {
            element: element_name,
            reason: format!(
                "no configured certificate verifies the {} signature",
                algorithm.name()
            ),
        });
    };

    // 2. The digest of the element without its signature. A same-document reference ("#ID" or
    //    "") selects a node-set without comments (XML-DSig 4.3.3.3), whatever the C14N variant.
    let (ref_alg, ref_prefixes) = ref_c14n.unwrap_or((Algorithm::Inclusive, Vec::new()));
    let computed = digest_of(&ReferenceDigest {
        c14n: ref_alg.without_comments(),
        prefixes: ref_prefixes,
        digest,
        signature: sig.id(),
    })?;
    if !crypto::ct_eq(&computed, &expected_digest) {
        return Err(Error::DigestMismatch {
            element: element_name,
        });
    }
    Ok(Some(SignedElement {
        element,
        signature: VerifiedSignature {
            algorithm,
            digest,
            canonicalization: si_c14n,
            certificate_sha256: cert.fingerprint_hex(),
        },
    }))
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

/// How many `X509Certificate` hints of a KeyInfo are looked at (real IdPs send one or two).
pub(crate) const MAX_KEY_INFO_HINTS: usize = 4;

/// DER of the first few `KeyInfo/X509Data/X509Certificate`, as hints. Bounded, so that matching
/// hints against configured certificates costs O(configured certificates), whatever KeyInfo holds.
pub(crate) fn key_info_certificates(key_info: Element<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for data in key_info.child_elements().filter(|e| is_ds(e, "X509Data")) {
        for c in data
            .child_elements()
            .filter(|e| is_ds(e, "X509Certificate"))
        {
            if out.len() >= MAX_KEY_INFO_HINTS {
                return out;
            }
            if let Some(der) = crypto::decode_base64(&c.text()) {
                out.push(der);
            }
        }
    }
    out
}
