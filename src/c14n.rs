//! XML canonicalization of a document subset: an element's subtree, optionally without one
//! descendant element (the enveloped-signature transform), or the whole document.
//!
//! Modes: [Exclusive XML Canonicalization 1.0](https://www.w3.org/TR/xml-exc-c14n/) with and
//! without comments (with an `InclusiveNamespaces PrefixList`), and
//! [Canonical XML 1.0](https://www.w3.org/TR/xml-c14n) with and without comments, including the
//! in-scope namespaces and inherited `xml:*` attributes of the apex's ancestors that a document
//! subset requires.
//!
//! Canonicalization walks the tree iteratively (no recursion) and writes into any [`Sink`]: a
//! `Vec<u8>`, or a digest so that the canonical bytes are never buffered.
//!
//! ```
//! use saml_sp::c14n::{canonicalize, Algorithm, Subset};
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

use crate::xml::{Document, NodeId, NodeKind, XML_NS};

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
}

/// URI of Exclusive C14N 1.0.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// URI of Exclusive C14N 1.0 with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// URI of Canonical XML 1.0.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// URI of Canonical XML 1.0 with comments.
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// URI of Canonical XML 1.1 (recognized so it can be refused by name; not implemented).
pub const C14N11: &str = "http://www.w3.org/2006/12/xml-c14n11";
/// URI of Canonical XML 1.1 with comments (recognized, not implemented).
pub const C14N11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";

impl Algorithm {
    /// The algorithm identified by `uri`, if it is one of the four implemented.
    pub fn from_uri(uri: &str) -> Option<Algorithm> {
        match uri {
            EXC_C14N => Some(Algorithm::Exclusive),
            EXC_C14N_WITH_COMMENTS => Some(Algorithm::ExclusiveWithComments),
            C14N => Some(Algorithm::Inclusive),
            C14N_WITH_COMMENTS => Some(Algorithm::InclusiveWithComments),
            _ => None,
        }
    }

    /// The algorithm's URI.
    pub fn uri(self) -> &'static str {
        match self {
            Algorithm::Exclusive => EXC_C14N,
            Algorithm::ExclusiveWithComments => EXC_C14N_WITH_COMMENTS,
            Algorithm::Inclusive => C14N,
            Algorithm::InclusiveWithComments => C14N_WITH_COMMENTS,
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
            Algorithm::ExclusiveWithComments | Algorithm::InclusiveWithComments
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
}

/// Receives canonical bytes.
pub trait Sink {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]);
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
            c.seed_ancestors(apex);
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
    inclusive_prefixes: Vec<&'d str>,
    /// In-scope namespace bindings: prefix ("" = default) -> stack of URIs ("" = none).
    scope: PrefixStacks<'d>,
    /// What output ancestors rendered: prefix -> stack of URIs (exclusive mode).
    rendered: PrefixStacks<'d>,
    /// Prefixes pushed onto `rendered`, in order, for undo.
    rendered_order: Vec<&'d str>,
    /// `xml:*` attributes inherited by the apex (inclusive mode).
    inherited_xml_attrs: Vec<(&'d str, &'d str)>,
    /// Scratch buffers reused for every element.
    ns_buf: Vec<(&'d str, &'d str)>,
    used_buf: Vec<&'d str>,
    attr_buf: Vec<(&'d str, &'d str, &'d str, &'d str)>,
}

struct Frame {
    node: NodeId,
    next_child: Option<NodeId>,
    scope_pushed: usize,
    rendered_pushed: usize,
}

/// The document's own string for a declared prefix, if any element declares it.
fn find_prefix<'d>(doc: &'d Document, prefix: &str) -> Option<&'d str> {
    doc.declared_prefixes
        .iter()
        .find(|p| &***p == prefix)
        .map(|p| &**p)
}

impl<'d> Canonicalizer<'d> {
    fn new(doc: &'d Document, algorithm: Algorithm, prefixes: &[&str]) -> Self {
        // Map the PrefixList onto the document's own prefix strings; a prefix the document never
        // declares can never be in scope and is dropped.
        let mut inclusive_prefixes: Vec<&'d str> = Vec::new();
        if algorithm.is_exclusive() {
            for p in prefixes {
                let found = if *p == "#default" {
                    Some("")
                } else {
                    find_prefix(doc, p)
                };
                if let Some(f) = found
                    && !inclusive_prefixes.contains(&f)
                {
                    inclusive_prefixes.push(f);
                }
            }
        }
        Canonicalizer {
            doc,
            exclusive: algorithm.is_exclusive(),
            comments: algorithm.with_comments(),
            inclusive_prefixes,
            scope: PrefixStacks::default(),
            rendered: PrefixStacks::default(),
            rendered_order: Vec::new(),
            inherited_xml_attrs: Vec::new(),
            ns_buf: Vec::new(),
            used_buf: Vec::new(),
            attr_buf: Vec::new(),
        }
    }

    /// Seeds the namespace scope (and, in inclusive mode, the inherited `xml:*` attributes) from
    /// the apex's ancestors.
    fn seed_ancestors(&mut self, apex: NodeId) {
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
                    self.scope.push(doc.decl_prefix(d), doc.s(d.uri));
                }
            }
        }
        if !self.exclusive {
            // Nearest ancestor wins.
            for &id in &chain {
                if let Some(e) = doc.element_data(id) {
                    for a in doc.attrs_of(e) {
                        if doc.ns_uri(a.ns) == Some(XML_NS) {
                            let local = doc.local_of(a.qname, a.prefix_len);
                            if !self.inherited_xml_attrs.iter().any(|(l, _)| *l == local) {
                                self.inherited_xml_attrs.push((local, doc.s(a.value)));
                            }
                        }
                    }
                }
            }
        }
    }

    fn in_scope(&self, prefix: &str) -> Option<&'d str> {
        self.scope.top(prefix)
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
                    out.write(self.doc.qname_of(e).as_bytes());
                    out.write(b">");
                    self.close_element(f.node, f.scope_pushed, f.rendered_pushed);
                }
                continue;
            };
            frame.next_child = self.doc.data(child).and_then(|d| d.next_sibling);
            if Some(child) == exclude {
                continue;
            }
            match self.doc.data(child).map(|d| &d.kind) {
                Some(NodeKind::Element(_)) => {
                    let (scope_pushed, rendered_pushed) = self.open_element(child, false, out);
                    let first = self.doc.element_data(child).and_then(|e| e.first_child);
                    stack.push(Frame {
                        node: child,
                        next_child: first,
                        scope_pushed,
                        rendered_pushed,
                    });
                }
                Some(NodeKind::Text(t)) => escape_text(self.doc.s(*t), out),
                Some(NodeKind::Comment(_) | NodeKind::Pi { .. }) => self.write_leaf(child, out),
                None => {}
            }
        }
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
        // Parent's view of the default namespace and, for inclusive mode, of every prefix.
        let mut ns_out = std::mem::take(&mut self.ns_buf);
        ns_out.clear();
        if !self.exclusive {
            if is_apex {
                // Every in-scope namespace (after this element's declarations).
                let mut keys: Vec<&'d str> = self.scope.keys().collect();
                for d in doc.decls_of(e) {
                    keys.push(doc.decl_prefix(d));
                }
                keys.sort_unstable();
                keys.dedup();
                for p in keys {
                    let uri = doc
                        .decls_of(e)
                        .iter()
                        .find(|d| doc.decl_prefix(d) == p)
                        .map(|d| doc.s(d.uri))
                        .or_else(|| self.in_scope(p))
                        .unwrap_or("");
                    if !uri.is_empty() && p != "xml" {
                        ns_out.push((p, uri));
                    }
                }
            } else {
                for d in doc.decls_of(e) {
                    let p = doc.decl_prefix(d);
                    let uri = doc.s(d.uri);
                    let parent = self.in_scope(p).unwrap_or("");
                    if p == "xml" || parent == uri {
                        continue;
                    }
                    ns_out.push((p, uri));
                }
            }
        }
        // Apply this element's declarations to the scope.
        let mut scope_pushed = 0;
        for d in doc.decls_of(e) {
            self.scope.push(doc.decl_prefix(d), doc.s(d.uri));
            scope_pushed += 1;
        }
        let mut rendered_pushed = 0;
        if self.exclusive {
            let mut used = std::mem::take(&mut self.used_buf);
            used.clear();
            used.push(doc.prefix_of(e.qname, e.prefix_len));
            for a in doc.attrs_of(e) {
                if a.prefix_len > 0 {
                    let p = doc.prefix_of(a.qname, a.prefix_len);
                    if p != "xml" && !used.contains(&p) {
                        used.push(p);
                    }
                }
            }
            for &p in &self.inclusive_prefixes {
                if !used.contains(&p)
                    && (p.is_empty() || self.in_scope(p).is_some_and(|u| !u.is_empty()))
                {
                    used.push(p);
                }
            }
            for &p in &used {
                let uri = self.in_scope(p).unwrap_or("");
                let last = self.rendered.top(p).unwrap_or("");
                if !same(uri, last) {
                    ns_out.push((p, uri));
                    self.rendered.push(p, uri);
                    rendered_pushed += 1;
                    self.rendered_order.push(p);
                }
            }
            self.used_buf = used;
        }
        ns_out.sort_unstable_by(|a, b| a.0.cmp(b.0));

        out.write(b"<");
        out.write(doc.qname_of(e).as_bytes());
        for (p, uri) in &ns_out {
            if p.is_empty() {
                out.write(b" xmlns=\"");
            } else {
                out.write(b" xmlns:");
                out.write(p.as_bytes());
                out.write(b"=\"");
            }
            escape_attr(uri, out);
            out.write(b"\"");
        }
        // Attributes sorted by (namespace URI, local name); no-namespace attributes first.
        let mut attrs = std::mem::take(&mut self.attr_buf);
        attrs.clear();
        attrs.extend(doc.attrs_of(e).iter().map(|a| {
            (
                doc.ns_uri(a.ns).unwrap_or(""),
                doc.local_of(a.qname, a.prefix_len),
                doc.s(a.qname),
                doc.s(a.value),
            )
        }));
        if is_apex && !self.exclusive {
            for &(local, value) in &self.inherited_xml_attrs {
                if !attrs.iter().any(|a| a.0 == XML_NS && a.1 == local) {
                    attrs.push((XML_NS, local, "", value));
                }
            }
        }
        attrs.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for &(ns, local, qname, value) in &attrs {
            out.write(b" ");
            if qname.is_empty() && ns == XML_NS {
                out.write(b"xml:");
                out.write(local.as_bytes());
            } else {
                out.write(qname.as_bytes());
            }
            out.write(b"=\"");
            escape_attr(value, out);
            out.write(b"\"");
        }
        out.write(b">");
        self.attr_buf = attrs;
        self.ns_buf = ns_out;
        (scope_pushed, rendered_pushed)
    }

    fn close_element(&mut self, id: NodeId, scope_pushed: usize, rendered_pushed: usize) {
        if let Some(e) = self.doc.element_data(id) {
            for d in self.doc.decls_of(e).iter().take(scope_pushed) {
                self.scope.pop(self.doc.decl_prefix(d));
            }
        }
        for _ in 0..rendered_pushed {
            if let Some(p) = self.rendered_order.pop() {
                self.rendered.pop(p);
            }
        }
    }
}

/// String equality with a pointer fast path (prefixes and URIs often share the document's bytes).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

/// Prefix -> stack of URIs. Documents use a handful of prefixes, so a linear scan beats hashing;
/// past 16 distinct prefixes an index keeps look-ups constant-time (no quadratic path for a
/// hostile document declaring thousands).
#[derive(Default)]
struct PrefixStacks<'d> {
    entries: Vec<(&'d str, Vec<&'d str>)>,
    index: Option<FastMap<&'d str, usize>>,
}

impl<'d> PrefixStacks<'d> {
    fn slot(&self, p: &str) -> Option<usize> {
        match &self.index {
            Some(idx) => idx.get(p).copied(),
            None => self.entries.iter().position(|(k, _)| same(k, p)),
        }
    }
    fn push(&mut self, p: &'d str, uri: &'d str) {
        if let Some(i) = self.slot(p) {
            if let Some((_, v)) = self.entries.get_mut(i) {
                v.push(uri);
            }
            return;
        }
        self.entries.push((p, vec![uri]));
        let i = self.entries.len() - 1;
        if let Some(idx) = &mut self.index {
            idx.insert(p, i);
        } else if self.entries.len() > 16 {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (*k, i))
                    .collect(),
            );
        }
    }
    fn top(&self, p: &str) -> Option<&'d str> {
        self.slot(p)
            .and_then(|i| self.entries.get(i))
            .and_then(|(_, v)| v.last().copied())
    }
    fn pop(&mut self, p: &str) {
        if let Some((_, v)) = self.slot(p).and_then(|i| self.entries.get_mut(i)) {
            v.pop();
        }
    }
    fn keys(&self) -> impl Iterator<Item = &'d str> + '_ {
        self.entries.iter().map(|(k, _)| *k)
    }
}

/// Writes `s`, replacing the bytes `replacement` maps (all ASCII, so UTF-8 stays intact).
fn escape_with<S: Sink + ?Sized>(
    s: &str,
    out: &mut S,
    replacement: fn(u8) -> Option<&'static [u8]>,
) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let Some(rep) = replacement(b) else { continue };
        out.write(bytes.get(start..i).unwrap_or_default());
        out.write(rep);
        start = i + 1;
    }
    out.write(bytes.get(start..).unwrap_or_default());
}

/// Text nodes (C14N 1.0 section 2.3).
fn escape_text<S: Sink + ?Sized>(s: &str, out: &mut S) {
    escape_with(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Attribute values (C14N 1.0 section 2.3).
fn escape_attr<S: Sink + ?Sized>(s: &str, out: &mut S) {
    escape_with(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}
