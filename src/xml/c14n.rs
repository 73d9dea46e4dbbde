//! XML canonicalization of a document subset: an element's subtree, optionally without one
//! descendant element (the enveloped-signature transform), or the whole document.
//!
//! Modes: [Exclusive XML Canonicalization 1.0](https://www.w3.org/TR/xml-exc-c14n/) with and
//! without comments (with an `InclusiveNamespaces PrefixList`),
//! [Canonical XML 1.0](https://www.w3.org/TR/xml-c14n) and
//! [Canonical XML 1.1](https://www.w3.org/TR/xml-c14n11/), each with and without comments,
//! including the in-scope namespaces and inherited `xml:*` attributes of the apex's ancestors that
//! a document subset requires. Canonical XML 1.1 differs from 1.0 only there: `xml:id` is not
//! inherited, and `xml:base` is fixed up; an ancestor's `xml:base` (which no SAML IdP sends) is
//! refused rather than fixed up ([`C14nError::Unsupported`]).
//!
//! Canonicalization walks the tree iteratively (no recursion) and writes into any [`Sink`]: a
//! `Vec<u8>`, or a digest so that the canonical bytes are never buffered.
//!
//! ```
//! use saml_sp::xml::c14n::{canonicalize, Algorithm, Subset};
//! use saml_sp::xml::Document;
//!
//! let doc = Document::parse(br#"<r xmlns:a="urn:a" xmlns:b="urn:b"><a:x ID="i" z="1" a:y="2"/></r>"#)?;
//! let apex = doc.element_by_id("i").unwrap();
//! let mut out = Vec::new();
//! canonicalize(&doc, Subset::Element { apex: apex.id(), exclude: None }, Algorithm::Exclusive, &[], &mut out)?;
//! // Namespace declarations first, then unqualified attributes, then by namespace URI.
//! assert_eq!(out, br#"<a:x xmlns:a="urn:a" ID="i" z="1" a:y="2"></a:x>"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::xml::fast_map::FastMap;
use crate::xml::scan;
use crate::xml::{Document, NodeId, NodeKind, PREFIX_NONE, PREFIX_XML, XML_NS};

/// A canonicalization algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Exclusive XML Canonicalization 1.0, omitting comments.
    Exclusive,
    /// Exclusive XML Canonicalization 1.0, with comments.
    ExclusiveWithComments,
    /// Canonical XML 1.0, omitting comments.
    Inclusive,
    /// Canonical XML 1.0, with comments.
    InclusiveWithComments,
    /// Canonical XML 1.1, omitting comments.
    Inclusive11,
    /// Canonical XML 1.1, with comments.
    Inclusive11WithComments,
}

/// URI of Exclusive C14N 1.0.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// URI of Exclusive C14N 1.0 with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// URI of Canonical XML 1.0.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// URI of Canonical XML 1.0 with comments.
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// URI of Canonical XML 1.1.
pub const C14N11: &str = "http://www.w3.org/2006/12/xml-c14n11";
/// URI of Canonical XML 1.1 with comments.
pub const C14N11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";

impl Algorithm {
    /// The algorithm identified by `uri`, if it is one of the six implemented.
    pub fn from_uri(uri: &str) -> Option<Algorithm> {
        match uri {
            EXC_C14N => Some(Algorithm::Exclusive),
            EXC_C14N_WITH_COMMENTS => Some(Algorithm::ExclusiveWithComments),
            C14N => Some(Algorithm::Inclusive),
            C14N_WITH_COMMENTS => Some(Algorithm::InclusiveWithComments),
            C14N11 => Some(Algorithm::Inclusive11),
            C14N11_WITH_COMMENTS => Some(Algorithm::Inclusive11WithComments),
            _ => None,
        }
    }

    /// The same algorithm without comments (what a same-document reference selects).
    pub fn without_comments(self) -> Algorithm {
        match self {
            Algorithm::ExclusiveWithComments => Algorithm::Exclusive,
            Algorithm::InclusiveWithComments => Algorithm::Inclusive,
            Algorithm::Inclusive11WithComments => Algorithm::Inclusive11,
            a => a,
        }
    }

    /// Whether this is Canonical XML 1.1.
    pub fn is_11(self) -> bool {
        matches!(
            self,
            Algorithm::Inclusive11 | Algorithm::Inclusive11WithComments
        )
    }

    /// The algorithm's URI.
    pub fn uri(self) -> &'static str {
        match self {
            Algorithm::Exclusive => EXC_C14N,
            Algorithm::ExclusiveWithComments => EXC_C14N_WITH_COMMENTS,
            Algorithm::Inclusive => C14N,
            Algorithm::InclusiveWithComments => C14N_WITH_COMMENTS,
            Algorithm::Inclusive11 => C14N11,
            Algorithm::Inclusive11WithComments => C14N11_WITH_COMMENTS,
        }
    }

    /// Whether this is one of the exclusive variants.
    pub fn is_exclusive(self) -> bool {
        matches!(
            self,
            Algorithm::Exclusive | Algorithm::ExclusiveWithComments
        )
    }

    /// Whether comments are kept.
    pub fn with_comments(self) -> bool {
        matches!(
            self,
            Algorithm::ExclusiveWithComments
                | Algorithm::InclusiveWithComments
                | Algorithm::Inclusive11WithComments
        )
    }
}

/// Which nodes are canonicalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subset {
    /// The whole document, including comments (when kept) and processing instructions around the
    /// document element.
    Document,
    /// The subtree rooted at `apex`, leaving out the subtree of `exclude` (if it is a descendant).
    Element {
        /// The apex of the subtree.
        apex: NodeId,
        /// A descendant element left out with its subtree (the enveloped signature).
        exclude: Option<NodeId>,
    },
}

/// Why canonicalization failed. A failure is always an error, never empty output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum C14nError {
    /// The subset's apex is not an element of this document.
    #[error("the node to canonicalize is not an element of this document")]
    NotAnElement,
    /// A construct this canonicalizer refuses rather than guess at.
    #[error("unsupported in canonicalization: {0}")]
    Unsupported(&'static str),
}

/// Receives canonical bytes.
pub trait Sink {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]);
    /// Starts or stops copying what follows into a second output ([`canonicalize_with_inner`]);
    /// other sinks ignore it.
    #[doc(hidden)]
    fn set_tee(&mut self, _on: bool) {}
}

/// A sink that also copies the bytes of one inner element into `inner` while switched on.
///
/// Canonicalization writes many small pieces; they are staged once here and handed to both
/// outputs in blocks (a hasher behind each then sees few large updates, and no piece is copied
/// twice). Staged bytes are handed over before the switch changes and by [`TeeSink::finish`].
struct TeeSink<'a, S: Sink + ?Sized, I: Sink + ?Sized> {
    outer: &'a mut S,
    inner: &'a mut I,
    on: bool,
    staged: Vec<u8>,
}

impl<S: Sink + ?Sized, I: Sink + ?Sized> TeeSink<'_, S, I> {
    const BLOCK: usize = 8192;

    fn flush(&mut self) {
        if !self.staged.is_empty() {
            self.outer.write(&self.staged);
            if self.on {
                self.inner.write(&self.staged);
            }
            self.staged.clear();
        }
    }

    fn finish(mut self) {
        self.flush();
    }
}

impl<S: Sink + ?Sized, I: Sink + ?Sized> Sink for TeeSink<'_, S, I> {
    fn write(&mut self, bytes: &[u8]) {
        if self.staged.len() + bytes.len() > Self::BLOCK {
            self.flush();
            if bytes.len() > Self::BLOCK {
                self.outer.write(bytes);
                if self.on {
                    self.inner.write(bytes);
                }
                return;
            }
        }
        self.staged.extend_from_slice(bytes);
    }
    fn set_tee(&mut self, on: bool) {
        if on != self.on {
            self.flush();
            self.on = on;
        }
    }
}

/// Where the inner copy of [`canonicalize_with_inner`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TeeState {
    Waiting,
    Active,
    Paused,
    Done,
    Abandoned,
}

/// Canonicalizes the subtree of `apex` without `exclude` (as [`canonicalize`] with
/// [`Subset::Element`]) into `out`, and in the same walk writes into `inner_out` the canonical
/// form that the descendant `inner` (without its descendant `inner_exclude`) has as a subset of
/// its own, with the same exclusive algorithm and PrefixList: a signed Assertion inside a signed
/// Response is then canonicalized once, not twice.
///
/// The copy is only made when it is certain to equal the separate canonicalization: exclusive
/// C14N, and no prefix that `inner`'s subtree uses (or any PrefixList prefix) rendered by its
/// output ancestors. Returns whether `inner_out` received it; when `false` the caller
/// canonicalizes `inner` separately.
///
/// # Errors
/// As [`canonicalize`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn canonicalize_with_inner<S: Sink + ?Sized, I: Sink + ?Sized>(
    doc: &Document,
    apex: NodeId,
    exclude: Option<NodeId>,
    algorithm: Algorithm,
    inclusive_prefixes: &[&str],
    out: &mut S,
    inner: NodeId,
    inner_exclude: Option<NodeId>,
    inner_out: &mut I,
) -> Result<bool, C14nError> {
    doc.element_data(apex).ok_or(C14nError::NotAnElement)?;
    let mut c = Canonicalizer::new(doc, algorithm, inclusive_prefixes);
    c.seed_ancestors(apex)?;
    if algorithm.is_exclusive() && !algorithm.with_comments() && inner != apex {
        c.tee = Some((inner, inner_exclude));
    }
    let mut tee = TeeSink {
        outer: out,
        inner: inner_out,
        on: false,
        staged: Vec::with_capacity(TeeSink::<S, I>::BLOCK),
    };
    c.walk(apex, exclude, true, &mut tee);
    tee.finish();
    Ok(c.tee_state == TeeState::Done)
}

impl Sink for Vec<u8> {
    fn write(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Canonicalizes `subset` of `doc` with `algorithm` into `out`.
///
/// `inclusive_prefixes` is the exclusive mode's `InclusiveNamespaces PrefixList` (`#default`
/// names the default namespace); the inclusive modes ignore it.
///
/// # Errors
/// [`C14nError::NotAnElement`] when the apex is not an element of `doc`.
pub fn canonicalize<S: Sink + ?Sized>(
    doc: &Document,
    subset: Subset,
    algorithm: Algorithm,
    inclusive_prefixes: &[&str],
    out: &mut S,
) -> Result<(), C14nError> {
    let mut c = Canonicalizer::new(doc, algorithm, inclusive_prefixes);
    match subset {
        Subset::Element { apex, exclude } => {
            doc.element_data(apex).ok_or(C14nError::NotAnElement)?;
            c.seed_ancestors(apex)?;
            c.walk(apex, exclude, true, out);
        }
        Subset::Document => {
            let mut seen_root = false;
            for &id in &doc.top {
                let is_root = id == doc.root;
                match doc.data(id).map(|d| &d.kind) {
                    Some(NodeKind::Element(_)) => {
                        c.walk(id, None, false, out);
                        seen_root = true;
                    }
                    Some(NodeKind::Comment(_)) if !algorithm.with_comments() => {}
                    Some(NodeKind::Comment(_) | NodeKind::Pi { .. }) => {
                        if seen_root && !is_root {
                            out.write(b"\n");
                        }
                        c.write_leaf(id, out);
                        if !seen_root {
                            out.write(b"\n");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Convenience: canonicalize into a new `Vec<u8>`.
///
/// # Errors
/// As [`canonicalize`].
pub fn canonicalize_to_vec(
    doc: &Document,
    subset: Subset,
    algorithm: Algorithm,
    inclusive_prefixes: &[&str],
) -> Result<Vec<u8>, C14nError> {
    let mut out = Vec::new();
    canonicalize(doc, subset, algorithm, inclusive_prefixes, &mut out)?;
    Ok(out)
}

struct Canonicalizer<'d> {
    doc: &'d Document,
    exclusive: bool,
    comments: bool,
    /// Canonical XML 1.1 (inherited `xml:*` attributes differ).
    v11: bool,
    /// The PrefixList as interned prefix ids (exclusive mode).
    inclusive_prefixes: Vec<u32>,
    /// `in_prefix_list[p]`: whether prefix id `p` is on the PrefixList (exclusive mode).
    in_prefix_list: Vec<bool>,
    /// `used_mark[p] == used_epoch`: prefix id `p` is already in this element's used list.
    used_mark: Vec<u32>,
    used_epoch: u32,
    /// In-scope namespace bindings: prefix id -> namespace id ([`UNBOUND`] = none).
    scope: Bindings,
    /// What output ancestors rendered: prefix id -> namespace id (exclusive mode).
    rendered: Bindings,
    /// `xml:*` attributes inherited by the apex (inclusive mode).
    inherited_xml_attrs: Vec<(&'d [u8], &'d [u8])>,
    /// [`canonicalize_with_inner`]: the inner element and the descendant it leaves out.
    tee: Option<(NodeId, Option<NodeId>)>,
    tee_state: TeeState,
    /// Scratch buffers reused for every element.
    ns_buf: Vec<(u32, u32)>,
    used_buf: Vec<u32>,
    attr_buf: Vec<AttrOut<'d>>,
    /// Per namespace id: 0 not yet looked at, 1 its URI needs no escaping, 2 it does.
    ns_plain: Vec<u8>,
    /// Start tags written before, by tag class (exclusive mode, below the apex); see
    /// [`TagOut`]. A table of [`TagOut::SLOTS`] entries, one per slot.
    tag_out: Vec<Option<TagOut>>,
    /// The start tag being written, before it goes to the output in one piece.
    tag_buf: Vec<u8>,
    /// The used prefixes of the start tag being written, with their bindings (for [`TagOut`]).
    deps_buf: Vec<(u32, u32, u32)>,
}

/// A canonical start tag already written for an element of some tag class, kept so that another
/// element of the class writes the same bytes without working them out again.
///
/// Elements of one class have the same name, attributes and declarations (the parser found
/// their start tags identical, see `ElementData::tag`). In exclusive C14N, below the apex, what
/// such an element's start tag renders then depends only on the prefixes it uses (its own and
/// its attributes', and its declared PrefixList prefixes): on what each is bound to and on what
/// the output ancestors rendered for it. A hit requires both to be as they were for every one
/// of those prefixes, and then renders the same namespaces and writes the same bytes.
struct TagOut {
    class: u32,
    /// Each used prefix with its binding and what the output ancestors had rendered for it.
    used: Vec<(u32, u32, u32)>,
    bytes: Vec<u8>,
    /// Hits since it was kept, up to [`TagOut::MAX_HITS`], less one per start tag it kept out.
    hits: u8,
}

impl TagOut {
    const SLOTS: usize = 32;
    /// Hits an entry can bank against being replaced: a run of one-off start tags sharing the
    /// slot of a repeated one does not push it out between its repetitions.
    const MAX_HITS: u8 = 4;

    /// The slot of a tag class (a multiplicative hash of it, the top five bits).
    fn slot(class: u32) -> usize {
        (class.wrapping_mul(0x9e37_79b9) >> 27) as usize % Self::SLOTS
    }
    /// Longer start tags are written afresh every time (a bound on the memory kept).
    const MAX_BYTES: usize = 4096;
}

/// An attribute to write: (namespace URI, local name, qualified name, value, whether the value
/// needs no escaping), sorted on the first two. Bytes of UTF-8 compare in code-point order, as
/// C14N requires.
type AttrOut<'d> = (&'d [u8], &'d [u8], &'d [u8], &'d [u8], bool);

struct Frame {
    node: NodeId,
    next_child: Option<NodeId>,
    scope_pushed: usize,
    rendered_pushed: usize,
}

/// "No namespace": an unbound prefix, or the default namespace undeclared by `xmlns=""`.
const UNBOUND: u32 = u32::MAX;

fn ns_id(ns: Option<u32>) -> u32 {
    ns.unwrap_or(UNBOUND)
}

/// Prefix id -> innermost namespace id, with an undo log. Prefixes and namespaces are interned
/// by the parser, so every look-up is an index and every comparison an integer compare.
struct Bindings {
    top: Vec<u32>,
    undo: Vec<(u32, u32)>,
}

impl Bindings {
    fn new(prefixes: usize) -> Self {
        Bindings {
            top: vec![UNBOUND; prefixes],
            undo: Vec::new(),
        }
    }
    fn get(&self, prefix: u32) -> u32 {
        self.top.get(prefix as usize).copied().unwrap_or(UNBOUND)
    }
    /// Binds `prefix`; returns how many undo entries were recorded (0 or 1).
    fn set(&mut self, prefix: u32, ns: u32) -> usize {
        match self.top.get_mut(prefix as usize) {
            Some(slot) => {
                self.undo.push((prefix, *slot));
                *slot = ns;
                1
            }
            None => 0,
        }
    }
    fn undo(&mut self, n: usize) {
        for _ in 0..n {
            if let Some((prefix, previous)) = self.undo.pop()
                && let Some(slot) = self.top.get_mut(prefix as usize)
            {
                *slot = previous;
            }
        }
    }
}

impl<'d> Canonicalizer<'d> {
    fn new(doc: &'d Document, algorithm: Algorithm, prefixes: &[&str]) -> Self {
        // Map the PrefixList onto the document's prefix ids; a prefix the document never uses
        // can never be in scope and is dropped.
        let mut inclusive_prefixes: Vec<u32> = Vec::new();
        let mut seen = vec![
            false;
            if algorithm.is_exclusive() {
                doc.prefix_count()
            } else {
                0
            }
        ];
        if algorithm.is_exclusive() {
            for p in prefixes {
                let found = if *p == "#default" {
                    Some(PREFIX_NONE)
                } else if p.is_empty() {
                    None
                } else {
                    doc.prefix_id(p)
                };
                if let Some(id) = found
                    && let Some(flag) = seen.get_mut(id as usize)
                    && !*flag
                {
                    *flag = true;
                    inclusive_prefixes.push(id);
                }
            }
        }
        Canonicalizer {
            doc,
            exclusive: algorithm.is_exclusive(),
            comments: algorithm.with_comments(),
            v11: algorithm.is_11(),
            inclusive_prefixes,
            in_prefix_list: seen,
            used_mark: vec![
                0;
                if algorithm.is_exclusive() {
                    doc.prefix_count()
                } else {
                    0
                }
            ],
            used_epoch: 0,
            scope: Bindings::new(doc.prefix_count()),
            rendered: Bindings::new(doc.prefix_count()),
            inherited_xml_attrs: Vec::new(),
            tee: None,
            tee_state: TeeState::Waiting,
            ns_buf: Vec::new(),
            used_buf: Vec::new(),
            attr_buf: Vec::new(),
            ns_plain: Vec::new(),
            tag_out: Vec::new(),
            tag_buf: Vec::new(),
            deps_buf: Vec::new(),
        }
    }

    /// Seeds the namespace scope (and, in inclusive mode, the inherited `xml:*` attributes) from
    /// the apex's ancestors.
    fn seed_ancestors(&mut self, apex: NodeId) -> Result<(), C14nError> {
        let doc = self.doc;
        let mut chain = Vec::new();
        let mut cur = doc.data(apex).and_then(|d| d.parent);
        while let Some(id) = cur {
            chain.push(id);
            cur = doc.data(id).and_then(|d| d.parent);
        }
        // Root first, so that nearer declarations override farther ones.
        for &id in chain.iter().rev() {
            if let Some(e) = doc.element_data(id) {
                for d in doc.decls_of(e) {
                    self.scope.set(d.prefix_id, ns_id(d.ns));
                }
            }
        }
        if !self.exclusive {
            // Nearest ancestor wins. (A set, not a scan: 64 ancestors may carry 64 each.)
            let mut seen: FastMap<&[u8], ()> = FastMap::default();
            for &id in &chain {
                if let Some(e) = doc.element_data(id) {
                    for a in doc.attrs_of(e) {
                        if doc.ns_uri(a.ns) == Some(XML_NS) {
                            let local = doc.local_bytes(a.qname, a.prefix_len);
                            // Canonical XML 1.1 (section 2.4): xml:id is not inherited, and
                            // xml:base would be fixed up by URI resolution; refused instead.
                            if self.v11 && local == b"id" {
                                continue;
                            }
                            if self.v11 && local == b"base" {
                                return Err(C14nError::Unsupported(
                                    "xml:base on an ancestor of a Canonical XML 1.1 subset",
                                ));
                            }
                            if seen.insert(local, ()).is_none() {
                                self.inherited_xml_attrs.push((local, doc.bytes(a.value)));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn walk<S: Sink + ?Sized>(
        &mut self,
        apex: NodeId,
        exclude: Option<NodeId>,
        is_subset: bool,
        out: &mut S,
    ) {
        let mut stack: Vec<Frame> = Vec::new();
        let (scope_pushed, rendered_pushed) = self.open_element(apex, is_subset, out);
        let first = self.doc.element_data(apex).and_then(|e| e.first_child);
        stack.push(Frame {
            node: apex,
            next_child: first,
            scope_pushed,
            rendered_pushed,
        });
        while let Some(frame) = stack.last_mut() {
            let Some(e) = self.doc.element_data(frame.node) else {
                stack.pop();
                continue;
            };
            let Some(child) = frame.next_child else {
                if let Some(f) = stack.pop() {
                    out.write(b"</");
                    out.write(self.doc.bytes(e.qname));
                    out.write(b">");
                    self.close_element(f.scope_pushed, f.rendered_pushed);
                    if self.tee.is_some() {
                        self.tee_closed(f.node, out);
                    }
                }
                continue;
            };
            frame.next_child = self.doc.data(child).and_then(|d| d.next_sibling);
            if Some(child) == exclude {
                continue;
            }
            match self.doc.data(child).map(|d| &d.kind) {
                Some(NodeKind::Element(_)) => {
                    if self.tee.is_some() {
                        self.tee_opening(child, out);
                    }
                    let (scope_pushed, rendered_pushed) = self.open_element(child, false, out);
                    let first = self.doc.element_data(child).and_then(|e| e.first_child);
                    stack.push(Frame {
                        node: child,
                        next_child: first,
                        scope_pushed,
                        rendered_pushed,
                    });
                }
                Some(NodeKind::Text(t, true)) => out.write(self.doc.bytes(*t)),
                Some(NodeKind::Text(t, false)) => escape_text(self.doc.bytes(*t), out),
                Some(NodeKind::Comment(_) | NodeKind::Pi { .. }) => self.write_leaf(child, out),
                None => {}
            }
        }
    }

    /// Before `id`'s start tag: start the inner copy at the inner element (when it would render
    /// alike), pause it at the element it leaves out.
    fn tee_opening<S: Sink + ?Sized>(&mut self, id: NodeId, out: &mut S) {
        let Some((inner, inner_exclude)) = self.tee else {
            return;
        };
        if id == inner && self.tee_state == TeeState::Waiting {
            if self.renders_alike(inner, inner_exclude) {
                self.tee_state = TeeState::Active;
                out.set_tee(true);
            } else {
                self.tee_state = TeeState::Abandoned;
            }
        } else if Some(id) == inner_exclude && self.tee_state == TeeState::Active {
            self.tee_state = TeeState::Paused;
            out.set_tee(false);
        }
    }

    /// After `id`'s end tag: resume after the left-out element, stop after the inner element.
    fn tee_closed<S: Sink + ?Sized>(&mut self, id: NodeId, out: &mut S) {
        let Some((inner, inner_exclude)) = self.tee else {
            return;
        };
        if Some(id) == inner_exclude && self.tee_state == TeeState::Paused {
            self.tee_state = TeeState::Active;
            out.set_tee(true);
        } else if id == inner && self.tee_state == TeeState::Active {
            self.tee_state = TeeState::Done;
            out.set_tee(false);
        }
    }

    /// Whether `inner` (without `inner_exclude`) canonicalizes here exactly as it does as the
    /// apex of its own subset. In exclusive C14N an element renders a prefix it uses unless an
    /// output ancestor rendered the same binding; the two differ only for prefixes the output
    /// ancestors of `inner` rendered. So: none of those may be used anywhere in the subtree, nor
    /// be on the PrefixList (the apex renders list prefixes in scope). Conservative: any doubt
    /// gives `false`, and the caller canonicalizes `inner` on its own.
    fn renders_alike(&self, inner: NodeId, inner_exclude: Option<NodeId>) -> bool {
        let rendered = |p: u32| self.rendered.get(p) != UNBOUND;
        if self.inclusive_prefixes.iter().any(|&p| rendered(p)) {
            return false;
        }
        if !self.rendered.top.iter().any(|&ns| ns != UNBOUND) {
            return true;
        }
        let doc = self.doc;
        let mut stack = vec![inner];
        while let Some(id) = stack.pop() {
            if Some(id) == inner_exclude {
                continue;
            }
            let Some(e) = doc.element_data(id) else {
                continue;
            };
            if rendered(e.prefix)
                || doc
                    .attrs_of(e)
                    .iter()
                    .any(|a| a.prefix != PREFIX_NONE && rendered(a.prefix))
                || doc.decls_of(e).iter().any(|d| rendered(d.prefix_id))
            {
                return false;
            }
            let mut child = e.first_child;
            while let Some(c) = child {
                if doc.element_data(c).is_some() {
                    stack.push(c);
                }
                child = doc.data(c).and_then(|d| d.next_sibling);
            }
        }
        true
    }

    fn write_leaf<S: Sink + ?Sized>(&self, id: NodeId, out: &mut S) {
        match self.doc.data(id).map(|d| &d.kind) {
            Some(NodeKind::Comment(c)) if self.comments => {
                out.write(b"<!--");
                out.write(self.doc.s(*c).as_bytes());
                out.write(b"-->");
            }
            Some(NodeKind::Pi { target, data }) => {
                let data = self.doc.s(*data);
                out.write(b"<?");
                out.write(self.doc.s(*target).as_bytes());
                if !data.is_empty() {
                    out.write(b" ");
                    out.write(data.as_bytes());
                }
                out.write(b"?>");
            }
            _ => {}
        }
    }

    /// Writes the start tag; returns how many scope and rendered entries to undo at the end tag.
    fn open_element<S: Sink + ?Sized>(
        &mut self,
        id: NodeId,
        is_apex: bool,
        out: &mut S,
    ) -> (usize, usize) {
        let doc = self.doc;
        let Some(e) = doc.element_data(id) else {
            return (0, 0);
        };
        // Namespace nodes to render, as (prefix id, namespace id).
        let mut ns_out = std::mem::take(&mut self.ns_buf);
        ns_out.clear();
        let mut scope_pushed = 0;
        if self.exclusive {
            for d in doc.decls_of(e) {
                scope_pushed += self.scope.set(d.prefix_id, ns_id(d.ns));
            }
        } else {
            // A declaration is rendered when it differs from the parent's view of its prefix.
            for d in doc.decls_of(e) {
                let ns = ns_id(d.ns);
                if !is_apex && d.prefix_id != PREFIX_XML && self.scope.get(d.prefix_id) != ns {
                    ns_out.push((d.prefix_id, ns));
                }
                scope_pushed += self.scope.set(d.prefix_id, ns);
            }
            if is_apex {
                // The apex renders every namespace in scope (after its own declarations).
                for (p, &ns) in self.scope.top.iter().enumerate() {
                    let p = u32::try_from(p).unwrap_or(UNBOUND);
                    if ns != UNBOUND && p != PREFIX_XML {
                        ns_out.push((p, ns));
                    }
                }
            }
        }
        let mut rendered_pushed = 0;
        // Only a later occurrence of a start tag (its class is an earlier element) is looked up
        // or kept: a tag seen once, as most are in a small Response, costs no copy.
        let repeated = e.tag != u32::MAX && e.tag as usize != id.index();
        let reuse = self.exclusive && !is_apex && repeated;
        let slot = TagOut::slot(e.tag);
        if reuse && let Some(Some(hit)) = self.tag_out.get_mut(slot) {
            let (scope, rendered) = (&self.scope, &self.rendered);
            if hit.class == e.tag
                && hit
                    .used
                    .iter()
                    .all(|&(p, ns, r)| scope.get(p) == ns && rendered.get(p) == r)
            {
                hit.hits = hit.hits.saturating_add(1).min(TagOut::MAX_HITS);
                for &(p, ns, r) in &hit.used {
                    if ns != r {
                        rendered_pushed += self.rendered.set(p, ns);
                    }
                }
                out.write(&hit.bytes);
                self.ns_buf = ns_out;
                return (scope_pushed, rendered_pushed);
            }
        }
        let mut deps = std::mem::take(&mut self.deps_buf);
        deps.clear();
        if self.exclusive {
            // Visibly utilized prefixes, then the PrefixList's. Membership is a mark per prefix
            // id (no scan of the list), so an element costs O(its attributes + declarations).
            let mut used = std::mem::take(&mut self.used_buf);
            used.clear();
            self.used_epoch = self.used_epoch.wrapping_add(1);
            if self.used_epoch == 0 {
                self.used_mark.fill(0);
                self.used_epoch = 1;
            }
            let epoch = self.used_epoch;
            let mark = |p: u32, used: &mut Vec<u32>, marks: &mut Vec<u32>| {
                if let Some(m) = marks.get_mut(p as usize)
                    && *m != epoch
                {
                    *m = epoch;
                    used.push(p);
                }
            };
            mark(e.prefix, &mut used, &mut self.used_mark);
            for a in doc.attrs_of(e) {
                if a.prefix != PREFIX_NONE && a.prefix != PREFIX_XML {
                    mark(a.prefix, &mut used, &mut self.used_mark);
                }
            }
            // A PrefixList prefix renders where its binding differs from what the output
            // ancestors rendered. Below the apex that can only change where the element itself
            // declares the prefix (each rendering makes `rendered` equal `scope`, and both are
            // undone together), so the apex looks at the whole list and every other element
            // only at its own declarations: linear in the input, whatever the list's length.
            if is_apex {
                for &p in &self.inclusive_prefixes {
                    if p == PREFIX_NONE || self.scope.get(p) != UNBOUND {
                        mark(p, &mut used, &mut self.used_mark);
                    }
                }
            } else {
                for d in doc.decls_of(e) {
                    let p = d.prefix_id;
                    if self
                        .in_prefix_list
                        .get(p as usize)
                        .copied()
                        .unwrap_or(false)
                        && (p == PREFIX_NONE || self.scope.get(p) != UNBOUND)
                    {
                        mark(p, &mut used, &mut self.used_mark);
                    }
                }
            }
            for &p in &used {
                let ns = self.scope.get(p);
                let r = self.rendered.get(p);
                if reuse {
                    deps.push((p, ns, r));
                }
                if ns != r {
                    ns_out.push((p, ns));
                    rendered_pushed += self.rendered.set(p, ns);
                }
            }
            self.used_buf = used;
        }
        if ns_out.len() > 1 {
            ns_out.sort_unstable_by(|a, b| doc.prefix_name(a.0).cmp(doc.prefix_name(b.0)));
        }

        // The start tag is assembled here and written in one piece (kept for its class).
        let mut buf = std::mem::take(&mut self.tag_buf);
        buf.clear();
        buf.write(b"<");
        buf.write(doc.bytes(e.qname));
        for &(p, ns) in &ns_out {
            if p == PREFIX_NONE {
                buf.write(b" xmlns=\"");
            } else {
                buf.write(b" xmlns:");
                buf.write(doc.prefix_name(p).as_bytes());
                buf.write(b"=\"");
            }
            if ns != UNBOUND {
                let uri = doc.ns_uri(Some(ns)).unwrap_or("").as_bytes();
                if self.uri_is_plain(ns, uri) {
                    buf.write(uri);
                } else {
                    escape_attr(uri, &mut buf);
                }
            }
            buf.write(b"\"");
        }
        // Attributes sorted by (namespace URI, local name); no-namespace attributes first.
        let mut attrs = std::mem::take(&mut self.attr_buf);
        attrs.clear();
        attrs.extend(doc.attrs_of(e).iter().map(|a| {
            (
                doc.ns_uri(a.ns).unwrap_or("").as_bytes(),
                doc.local_bytes(a.qname, a.prefix_len),
                doc.bytes(a.qname),
                doc.bytes(a.value),
                a.plain,
            )
        }));
        if is_apex && !self.exclusive {
            for &(local, value) in &self.inherited_xml_attrs {
                if !attrs
                    .iter()
                    .any(|a| a.0 == XML_NS.as_bytes() && a.1 == local)
                {
                    attrs.push((XML_NS.as_bytes(), local, b"", value, false));
                }
            }
        }
        if attrs.len() > 1 {
            // Most attributes have no namespace: skip comparing two empty URIs (a libc call each).
            attrs.sort_unstable_by(|a, b| {
                let ns = if a.0.is_empty() && b.0.is_empty() {
                    std::cmp::Ordering::Equal
                } else {
                    a.0.cmp(b.0)
                };
                ns.then_with(|| a.1.cmp(b.1))
            });
        }
        for &(ns, local, qname, value, plain) in &attrs {
            buf.write(b" ");
            if qname.is_empty() && ns == XML_NS.as_bytes() {
                buf.write(b"xml:");
                buf.write(local);
            } else {
                buf.write(qname);
            }
            buf.write(b"=\"");
            if plain {
                buf.write(value);
            } else {
                escape_attr(value, &mut buf);
            }
            buf.write(b"\"");
        }
        buf.write(b">");
        out.write(&buf);
        if reuse && buf.len() <= TagOut::MAX_BYTES {
            if self.tag_out.is_empty() {
                self.tag_out.resize_with(TagOut::SLOTS, || None);
            }
            match self.tag_out.get_mut(slot) {
                // A start tag that has been reused keeps its slot, losing one banked hit.
                Some(Some(entry)) if entry.hits > 0 => entry.hits -= 1,
                Some(Some(entry)) => {
                    // Reuses the slot's buffers: no allocation per element.
                    entry.class = e.tag;
                    entry.used.clear();
                    entry.used.extend_from_slice(&deps);
                    entry.bytes.clear();
                    entry.bytes.extend_from_slice(&buf);
                }
                Some(entry) => {
                    *entry = Some(TagOut {
                        class: e.tag,
                        used: deps.clone(),
                        bytes: buf.clone(),
                        hits: 0,
                    });
                }
                None => {}
            }
        }
        self.tag_buf = buf;
        self.deps_buf = deps;
        self.attr_buf = attrs;
        self.ns_buf = ns_out;
        (scope_pushed, rendered_pushed)
    }

    /// Whether namespace `ns` (whose URI is `uri`) renders without escapes; each namespace is
    /// looked at once per canonicalization, however often it is declared.
    fn uri_is_plain(&mut self, ns: u32, uri: &[u8]) -> bool {
        let i = ns as usize;
        if self.ns_plain.len() <= i {
            self.ns_plain
                .resize(self.doc.namespaces.len().max(i + 1), 0);
        }
        match self.ns_plain.get(i) {
            Some(1) => true,
            Some(2) => false,
            _ => {
                let plain = attr_escape_at(uri, 0).is_none();
                if let Some(slot) = self.ns_plain.get_mut(i) {
                    *slot = if plain { 1 } else { 2 };
                }
                plain
            }
        }
    }

    fn close_element(&mut self, scope_pushed: usize, rendered_pushed: usize) {
        self.scope.undo(scope_pushed);
        self.rendered.undo(rendered_pushed);
    }
}

/// Writes `bytes`, replacing each byte that `find` locates with what `replacement` maps it to
/// (all ASCII, so UTF-8 stays intact).
fn escape_with<S: Sink + ?Sized>(
    bytes: &[u8],
    out: &mut S,
    find: fn(&[u8], usize) -> Option<usize>,
    replacement: fn(u8) -> Option<&'static [u8]>,
) {
    let mut start = 0;
    while let Some(i) = find(bytes, start) {
        out.write(bytes.get(start..i).unwrap_or_default());
        out.write(
            bytes
                .get(i)
                .copied()
                .and_then(replacement)
                .unwrap_or_default(),
        );
        start = i + 1;
    }
    out.write(bytes.get(start..).unwrap_or_default());
}

/// The first byte at or after `from` that C14N escapes in text.
fn text_escape_at(s: &[u8], from: usize) -> Option<usize> {
    let word = |w| {
        scan::eq_mask(w, b'&')
            | scan::eq_mask(w, b'<')
            | scan::eq_mask(w, b'>')
            | scan::eq_mask(w, b'\r')
            != 0
    };
    scan::find(s, from, word, |b| text_replacement(b).is_some())
}

fn text_replacement(b: u8) -> Option<&'static [u8]> {
    match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    }
}

/// Text nodes (C14N 1.0 section 2.3).
fn escape_text<S: Sink + ?Sized>(s: &[u8], out: &mut S) {
    escape_with(s, out, text_escape_at, text_replacement);
}

/// The first byte at or after `from` that C14N escapes in attribute values.
fn attr_escape_at(s: &[u8], from: usize) -> Option<usize> {
    // TAB, LF and CR are all below 0x0E.
    let word = |w| {
        scan::eq_mask(w, b'&')
            | scan::eq_mask(w, b'<')
            | scan::eq_mask(w, b'"')
            | scan::below_mask(w, 0x0e)
            != 0
    };
    scan::find(s, from, word, |b| attr_replacement(b).is_some())
}

fn attr_replacement(b: u8) -> Option<&'static [u8]> {
    match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    }
}

/// Attribute values (C14N 1.0 section 2.3).
fn escape_attr<S: Sink + ?Sized>(s: &[u8], out: &mut S) {
    escape_with(s, out, attr_escape_at, attr_replacement);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::xml::{Element, Limits, ParseOptions};

    const DS: &str = "http://www.w3.org/2000/09/xmldsig#";

    fn signature_child<'a>(e: Element<'a>) -> Option<Element<'a>> {
        e.child_elements().find(|c| c.is(DS, "Signature"))
    }

    /// For `doc`'s root and its first Assertion child: whenever the one-walk copy is made, it
    /// equals the Assertion canonicalized on its own, and the outer output is unchanged.
    /// Returns whether the copy was made.
    fn check(doc: &Document, prefixes: &[&str]) -> Option<bool> {
        let root = doc.root();
        let assertion = root
            .child_elements()
            .find(|c| c.local_name() == "Assertion")?;
        let outer_sig = signature_child(root).map(|s| s.id());
        let inner_sig = signature_child(assertion).map(|s| s.id());
        let alg = Algorithm::Exclusive;
        let mut outer = Vec::new();
        let mut inner = Vec::new();
        let made = canonicalize_with_inner(
            doc,
            root.id(),
            outer_sig,
            alg,
            prefixes,
            &mut outer,
            assertion.id(),
            inner_sig,
            &mut inner,
        )
        .unwrap();
        let expected_outer = canonicalize_to_vec(
            doc,
            Subset::Element {
                apex: root.id(),
                exclude: outer_sig,
            },
            alg,
            prefixes,
        )
        .unwrap();
        assert_eq!(outer, expected_outer, "the outer output is unchanged");
        if made {
            let expected_inner = canonicalize_to_vec(
                doc,
                Subset::Element {
                    apex: assertion.id(),
                    exclude: inner_sig,
                },
                alg,
                prefixes,
            )
            .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&inner),
                String::from_utf8_lossy(&expected_inner)
            );
        }
        Some(made)
    }

    fn parse(xml: &[u8]) -> Option<Document> {
        let opts = ParseOptions::default().with_limits(
            Limits::default()
                .with_max_input_bytes(8 << 20)
                .with_max_nodes(1_000_000),
        );
        Document::parse_with(xml, &opts).ok()
    }

    #[test]
    fn one_walk_copy_equals_the_separate_canonical_form_on_real_responses() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut files: Vec<_> = std::fs::read_dir(base.join("interop/responses"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.push(base.join("bench/response_small.xml"));
        files.push(base.join("bench/response_large.xml"));
        let mut made = 0;
        let mut checked = 0;
        for path in &files {
            let Some(doc) = std::fs::read(path).ok().and_then(|x| parse(&x)) else {
                continue;
            };
            for prefixes in [&[][..], &["xs"], &["#default", "xsi", "saml2", "saml"]] {
                if let Some(m) = check(&doc, prefixes) {
                    checked += 1;
                    made += usize::from(m);
                }
            }
        }
        assert!(checked >= 150, "{checked}");
        assert!(
            made >= 100,
            "the copy is made for most real responses: {made}/{checked}"
        );
        // The bench's Okta-shaped Responses (PrefixList "xs", as Okta signs) take the fast path.
        for f in ["bench/response_small.xml", "bench/response_large.xml"] {
            let doc = parse(&std::fs::read(base.join(f)).unwrap()).unwrap();
            assert_eq!(check(&doc, &["xs"]), Some(true), "{f}");
        }
    }

    #[test]
    fn one_walk_copy_is_abandoned_where_the_ancestors_rendering_would_show() {
        let p = "urn:oasis:names:tc:SAML:2.0:protocol";
        let a = "urn:oasis:names:tc:SAML:2.0:assertion";
        let cases: [(String, &[&str], bool); 5] = [
            // The Response uses only its own prefix: the Assertion renders alike.
            (
                format!(
                    "<samlp:Response xmlns:samlp=\"{p}\" xmlns:saml=\"{a}\"><saml:Issuer>i</saml:Issuer><saml:Assertion ID=\"x\"><saml:Issuer>i</saml:Issuer></saml:Assertion></samlp:Response>"
                ),
                &[],
                true,
            ),
            // A Response attribute uses the Assertion's prefix: rendered above it.
            (
                format!(
                    "<samlp:Response xmlns:samlp=\"{p}\" xmlns:saml=\"{a}\" saml:x=\"1\"><saml:Assertion ID=\"x\"><saml:Issuer>i</saml:Issuer></saml:Assertion></samlp:Response>"
                ),
                &[],
                false,
            ),
            // The PrefixList names a prefix the Response renders.
            (
                format!(
                    "<samlp:Response xmlns:samlp=\"{p}\" xmlns:xs=\"urn:xs\"><Assertion xmlns=\"{a}\" ID=\"x\"/></samlp:Response>"
                ),
                &["xs"],
                false,
            ),
            // A default namespace rendered above, unprefixed elements inside.
            (
                format!(
                    "<Response xmlns=\"{p}\"><Assertion ID=\"x\"><Issuer>i</Issuer></Assertion></Response>"
                ),
                &[],
                false,
            ),
            // The Assertion redeclares the default namespace under a default one.
            (
                format!(
                    "<Response xmlns=\"{p}\"><Assertion xmlns=\"{a}\" ID=\"x\"><Issuer xmlns=\"\">i</Issuer></Assertion></Response>"
                ),
                &[],
                false,
            ),
        ];
        for (xml, prefixes, expect) in cases {
            let doc = parse(xml.as_bytes()).unwrap();
            assert_eq!(check(&doc, prefixes), Some(expect), "{xml}");
        }
    }

    #[test]
    fn what_the_parser_marks_plain_and_what_it_does_not_are_both_escaped_right() {
        // Plain values and text are written as they are; everything else still goes through
        // escaping: a '"' in a single-quoted value, a TAB from a reference, '>' in text, a
        // reference in a namespace URI, CDATA.
        let xml = "<r xmlns:p=\"urn:a&amp;b\" a='x\"y' b=\"t&#9;u\" c=\"plain\">\
                   <p:e d='ok'>1 &gt; 0</p:e>a>b<![CDATA[<&>]]>\r\n<f xmlns=\"urn:plain\">t</f></r>";
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let root = doc.root().id();
        let subset = Subset::Element {
            apex: root,
            exclude: None,
        };
        let exclusive = canonicalize_to_vec(&doc, subset, Algorithm::Exclusive, &[]).unwrap();
        assert_eq!(
            String::from_utf8(exclusive).unwrap(),
            "<r a=\"x&quot;y\" b=\"t&#x9;u\" c=\"plain\"><p:e xmlns:p=\"urn:a&amp;b\" d=\"ok\">\
             1 &gt; 0</p:e>a&gt;b&lt;&amp;&gt;\n<f xmlns=\"urn:plain\">t</f></r>"
        );
        let inclusive = canonicalize_to_vec(&doc, subset, Algorithm::Inclusive, &[]).unwrap();
        assert_eq!(
            String::from_utf8(inclusive).unwrap(),
            "<r xmlns:p=\"urn:a&amp;b\" a=\"x&quot;y\" b=\"t&#x9;u\" c=\"plain\"><p:e d=\"ok\">\
             1 &gt; 0</p:e>a&gt;b&lt;&amp;&gt;\n<f xmlns=\"urn:plain\">t</f></r>"
        );
    }

    #[test]
    fn reused_start_tags_write_what_fresh_ones_write() {
        // Documents of repeated start tags inside wrappers that bind, rebind and render the
        // prefixes those tags use (and PrefixList prefixes): canonicalized from every element,
        // in every mode, the tree with shared tag classes must give the bytes of the tree
        // without them (where every element is its own class and nothing is reused).
        let algorithms = [
            Algorithm::Exclusive,
            Algorithm::ExclusiveWithComments,
            Algorithm::Inclusive,
            Algorithm::Inclusive11,
        ];
        let lists: [&[&str]; 3] = [&[], &["xs"], &["#default", "q", "p"]];
        let mut compared = 0;
        for xml in crate::xml::parser::generated_documents(0x9e37_79b9_7f4a_7c15, 400, false) {
            let opts = ParseOptions::default();
            let doc = Document::parse_with(xml.as_bytes(), &opts).unwrap();
            let fresh = crate::xml::parse_without_tag_cache(xml.as_bytes(), &opts).unwrap();
            let mut apexes = vec![doc.root()];
            let mut i = 0;
            while let Some(e) = apexes.get(i).copied() {
                apexes.extend(e.child_elements());
                i += 1;
            }
            for e in apexes {
                for alg in algorithms {
                    for list in lists {
                        let subset = Subset::Element {
                            apex: e.id(),
                            exclude: None,
                        };
                        let reused = canonicalize_to_vec(&doc, subset, alg, list).unwrap();
                        let written = canonicalize_to_vec(&fresh, subset, alg, list).unwrap();
                        assert_eq!(
                            String::from_utf8(reused).unwrap(),
                            String::from_utf8(written).unwrap(),
                            "{alg:?} {list:?} of {xml}"
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }
}
