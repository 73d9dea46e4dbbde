//! A safe, immutable XML document tree.
//!
//! [`Document::parse`] turns untrusted bytes into a tree of elements, text, comments and processing
//! instructions, refusing everything a SAML message never needs and an attacker might use: DTDs,
//! entity references other than the five predefined ones, undeclared namespace prefixes, duplicate
//! attributes, non-UTF-8 input, XML 1.1, and documents beyond the configured [`Limits`].
//!
//! The parser never recurses, so a deeply nested document costs a typed error, not the stack.
//!
//! ```
//! use saml_sp::xml::Document;
//!
//! let doc = Document::parse(br#"<a:root xmlns:a="urn:a" ID="x1">he<!-- c -->llo</a:root>"#)?;
//! let root = doc.root();
//! assert_eq!(root.local_name(), "root");
//! assert_eq!(root.namespace(), Some("urn:a"));
//! assert_eq!(root.text(), "hello");
//! assert_eq!(doc.element_by_id("x1").map(|e| e.local_name()), Some("root"));
//! # Ok::<(), saml_sp::xml::XmlError>(())
//! ```

mod attrs;
pub mod c14n;
mod chars;
pub(crate) mod fast_map;
pub(crate) mod lexer;
pub(crate) mod scan;
mod write;
pub use write::{escape_attr, escape_text};
mod parser;
#[cfg(any(test, feature = "testkit"))]
pub(crate) use parser::{check_tag_cache, parse_without_tag_cache};

pub use chars::{is_id_like, is_ncname};

use std::collections::HashMap;

/// The XML namespace, bound to the `xml` prefix by definition.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations, bound to `xmlns` by definition.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Resource limits applied while parsing. Exceeding any of them is an
/// [`XmlError::LimitExceeded`], never a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted input, in bytes (default 512 KiB).
    pub max_input_bytes: usize,
    /// Deepest element nesting (default 64; the document element is depth 1).
    pub max_depth: usize,
    /// Most attributes on one element, namespace declarations not counted (default 64).
    pub max_attributes: usize,
    /// Most namespace declarations on one element (default 32).
    pub max_namespace_declarations: usize,
    /// Most nodes (elements, text runs, comments, processing instructions) in the document
    /// (default 100,000).
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 512 * 1024,
            max_depth: 64,
            max_attributes: 64,
            max_namespace_declarations: 32,
            max_nodes: 100_000,
        }
    }
}

impl Limits {
    /// Returns these limits with a different maximum input size.
    pub fn with_max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes;
        self
    }
    /// Returns these limits with a different maximum nesting depth.
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
    /// Returns these limits with a different maximum attribute count per element.
    pub fn with_max_attributes(mut self, n: usize) -> Self {
        self.max_attributes = n;
        self
    }
    /// Returns these limits with a different maximum of namespace declarations per element.
    pub fn with_max_namespace_declarations(mut self, n: usize) -> Self {
        self.max_namespace_declarations = n;
        self
    }
    /// Returns these limits with a different maximum node count.
    pub fn with_max_nodes(mut self, n: usize) -> Self {
        self.max_nodes = n;
        self
    }
}

/// Options for [`Document::parse_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Resource limits.
    pub limits: Limits,
    /// Refuse processing instructions anywhere in the document (SAML messages have no use for
    /// them). Off by default for the generic parser; the SAML entry points turn it on.
    pub forbid_processing_instructions: bool,
}

impl ParseOptions {
    /// Options with the given limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Options that refuse processing instructions.
    pub fn forbidding_processing_instructions(mut self) -> Self {
        self.forbid_processing_instructions = true;
        self
    }
}

/// Why a document was refused. Every variant carries the byte offset where the problem was found
/// when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The input is not well-formed or not namespace-well-formed XML.
    #[error("malformed XML at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset in the input.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// The input uses a feature that saml-sp never accepts (DTD, external or unknown entities,
    /// XML 1.1, an encoding other than UTF-8, processing instructions in SAML messages).
    #[error("forbidden XML construct at byte {offset}: {what}")]
    Forbidden {
        /// Byte offset in the input.
        offset: usize,
        /// What was found.
        what: String,
    },
    /// The input is larger than a configured limit.
    #[error("XML limit exceeded: {limit} is at most {max}, found {found}")]
    LimitExceeded {
        /// Which limit.
        limit: &'static str,
        /// The configured maximum.
        max: usize,
        /// The value found (or the value at which parsing stopped).
        found: usize,
    },
    /// Two elements carry the same `ID` attribute value.
    #[error("duplicate ID {id:?} at byte {offset}: an ID must identify exactly one element")]
    DuplicateId {
        /// The duplicated value.
        id: String,
        /// Byte offset of the second occurrence.
        offset: usize,
    },
}

impl XmlError {
    /// A stable, machine-readable code: `malformed`, `xml_forbidden`, `xml_limit_exceeded` or
    /// `duplicate_id`.
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::Malformed { .. } => "xml_malformed",
            XmlError::Forbidden { .. } => "xml_forbidden",
            XmlError::LimitExceeded { .. } => "xml_limit_exceeded",
            XmlError::DuplicateId { .. } => "duplicate_id",
        }
    }
}

/// Index of a node inside its [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range of [`Document::strings`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// A contiguous range of [`Document::attrs`] or [`Document::decls`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Range {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Range {
    fn slice<T>(self, items: &[T]) -> &[T] {
        let start = self.start as usize;
        items
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrData {
    pub(crate) qname: Span,
    pub(crate) prefix_len: u32,
    /// Interned prefix ([`PREFIX_NONE`] when unprefixed).
    pub(crate) prefix: u32,
    pub(crate) ns: Option<u32>,
    pub(crate) value: Span,
    /// The value holds none of the bytes C14N escapes in attributes (`&`, `<`, `"`, TAB, LF,
    /// CR), as the parser's own scan found.
    pub(crate) plain: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct DeclData {
    /// Interned prefix ([`PREFIX_NONE`] for the default namespace).
    pub(crate) prefix_id: u32,
    /// Empty for `xmlns=""`.
    pub(crate) uri: Span,
    /// Interned URI; `None` for `xmlns=""`.
    pub(crate) ns: Option<u32>,
}

/// A namespace declaration as written on an element (`xmlns="..."` or `xmlns:p="..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceDecl<'a> {
    /// The declared prefix; `None` for the default namespace.
    pub prefix: Option<&'a str>,
    /// The namespace URI; empty for a default-namespace undeclaration (`xmlns=""`).
    pub uri: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ElementData {
    pub(crate) qname: Span,
    pub(crate) prefix_len: u32,
    /// Interned prefix ([`PREFIX_NONE`] when unprefixed).
    pub(crate) prefix: u32,
    pub(crate) ns: Option<u32>,
    pub(crate) attrs: Range,
    pub(crate) decls: Range,
    pub(crate) first_child: Option<NodeId>,
    pub(crate) last_child: Option<NodeId>,
    /// The start tag's class: elements whose start tags the parser found identical in the same
    /// namespace bindings (see `parser::CachedTag`) share it (the node index of the first of
    /// them), and so have the same name, attributes and declarations, record for record.
    pub(crate) tag: u32,
}

#[derive(Debug)]
pub(crate) enum NodeKind {
    Element(ElementData),
    /// A text run, and whether it holds none of the bytes C14N escapes in text (`&`, `<`, `>`,
    /// CR): the parser knows it from its own scan, so the canonicalizer need not look again.
    Text(Span, bool),
    Comment(Span),
    Pi {
        target: Span,
        data: Span,
    },
}

#[derive(Debug)]
pub(crate) struct NodeData {
    pub(crate) kind: NodeKind,
    pub(crate) parent: Option<NodeId>,
    pub(crate) next_sibling: Option<NodeId>,
    pub(crate) offset: usize,
}

/// A parsed, immutable XML document.
///
/// All strings live in one buffer and all nodes in one vector, so building a tree costs a handful
/// of allocations, not several per node.
#[derive(Debug)]
pub struct Document {
    pub(crate) strings: String,
    pub(crate) nodes: Vec<NodeData>,
    pub(crate) attrs: Vec<AttrData>,
    pub(crate) decls: Vec<DeclData>,
    pub(crate) namespaces: Vec<Box<str>>,
    pub(crate) root: NodeId,
    /// Top-level nodes in document order (comments and PIs around the document element, and it).
    pub(crate) top: Vec<NodeId>,
    pub(crate) ids: HashMap<Box<str>, NodeId>,
    /// Interned prefixes: id -> prefix. Id [`PREFIX_NONE`] is `""` (no prefix, the default
    /// namespace) and [`PREFIX_XML`] is `xml`; the others are the prefixes declared somewhere.
    pub(crate) prefixes: Vec<Box<str>>,
    /// Prefix -> id.
    pub(crate) prefix_ids: fast_map::FastMap<Box<str>, u32>,
}

/// Interned id of the empty prefix (unprefixed names, the default namespace).
pub(crate) const PREFIX_NONE: u32 = 0;
/// Interned id of the `xml` prefix.
pub(crate) const PREFIX_XML: u32 = 1;

/// Iterator over the children of an element, following sibling links.
#[derive(Debug, Clone)]
pub(crate) struct ChildIds<'a> {
    doc: &'a Document,
    next: Option<NodeId>,
}

impl Iterator for ChildIds<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let id = self.next?;
        self.next = self.doc.data(id).and_then(|d| d.next_sibling);
        Some(id)
    }
}

impl Document {
    /// Parses `input` with the default [`ParseOptions`].
    ///
    /// # Errors
    /// An [`XmlError`] when the input is not well-formed, uses a forbidden construct or exceeds a
    /// limit.
    pub fn parse(input: &[u8]) -> Result<Document, XmlError> {
        parser::parse(input, &ParseOptions::default())
    }

    /// Parses `input` with explicit options.
    ///
    /// # Errors
    /// As [`Document::parse`].
    pub fn parse_with(input: &[u8], options: &ParseOptions) -> Result<Document, XmlError> {
        parser::parse(input, options)
    }

    /// The document element.
    pub fn root(&self) -> Element<'_> {
        Element {
            doc: self,
            id: self.root,
        }
    }

    /// The element whose unqualified `ID` attribute has this value.
    pub fn element_by_id(&self, id: &str) -> Option<Element<'_>> {
        self.ids.get(id).map(|&id| Element { doc: self, id })
    }

    /// The element with this node id, if the node is an element.
    pub fn element(&self, id: NodeId) -> Option<Element<'_>> {
        match self.nodes.get(id.index())?.kind {
            NodeKind::Element(_) => Some(Element { doc: self, id }),
            _ => None,
        }
    }

    /// Top-level nodes: comments and processing instructions before and after the document
    /// element, and the document element itself, in document order.
    pub fn top_level(&self) -> impl Iterator<Item = Node<'_>> + '_ {
        self.top.iter().filter_map(move |&id| self.node(id))
    }

    /// Number of nodes in the tree.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn data(&self, id: NodeId) -> Option<&NodeData> {
        self.nodes.get(id.index())
    }

    pub(crate) fn element_data(&self, id: NodeId) -> Option<&ElementData> {
        match &self.nodes.get(id.index())?.kind {
            NodeKind::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The string a span names.
    pub(crate) fn s(&self, span: Span) -> &str {
        let start = span.start as usize;
        self.strings
            .get(start..start + span.len as usize)
            .unwrap_or("")
    }

    /// The bytes of `span` (no character-boundary checks: for writers such as C14N).
    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        let start = span.start as usize;
        self.strings
            .as_bytes()
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    /// The bytes of a qualified name's local part.
    pub(crate) fn local_bytes(&self, qname: Span, prefix_len: u32) -> &[u8] {
        let q = self.bytes(qname);
        if prefix_len > 0 {
            q.get(prefix_len as usize + 1..).unwrap_or(q)
        } else {
            q
        }
    }

    pub(crate) fn attrs_of(&self, e: &ElementData) -> &[AttrData] {
        e.attrs.slice(&self.attrs)
    }

    pub(crate) fn decls_of(&self, e: &ElementData) -> &[DeclData] {
        e.decls.slice(&self.decls)
    }

    /// The string of an interned prefix (`""` for [`PREFIX_NONE`]).
    pub(crate) fn prefix_name(&self, id: u32) -> &str {
        self.prefixes.get(id as usize).map_or("", |p| &**p)
    }

    /// The id of `prefix` if the document uses it (`""` and `xml` always have one).
    pub(crate) fn prefix_id(&self, prefix: &str) -> Option<u32> {
        self.prefix_ids.get(prefix).copied()
    }

    /// How many distinct prefixes the document uses, `""` and `xml` included.
    pub(crate) fn prefix_count(&self) -> usize {
        self.prefixes.len()
    }

    /// The element's prefix, `""` when it has none.
    pub(crate) fn prefix_of(&self, qname: Span, prefix_len: u32) -> &str {
        self.s(qname).get(..prefix_len as usize).unwrap_or("")
    }

    /// The local part of a qualified name.
    pub(crate) fn local_of(&self, qname: Span, prefix_len: u32) -> &str {
        let q = self.s(qname);
        if prefix_len > 0 {
            q.get(prefix_len as usize + 1..).unwrap_or(q)
        } else {
            q
        }
    }

    pub(crate) fn child_ids(&self, id: NodeId) -> ChildIds<'_> {
        ChildIds {
            doc: self,
            next: self.element_data(id).and_then(|e| e.first_child),
        }
    }

    pub(crate) fn ns_uri(&self, ns: Option<u32>) -> Option<&str> {
        ns.and_then(|i| self.namespaces.get(i as usize))
            .map(|s| &**s)
    }

    pub(crate) fn node(&self, id: NodeId) -> Option<Node<'_>> {
        let data = self.nodes.get(id.index())?;
        Some(match &data.kind {
            NodeKind::Element(_) => Node::Element(Element { doc: self, id }),
            NodeKind::Text(t, _) => Node::Text(self.s(*t)),
            NodeKind::Comment(c) => Node::Comment(self.s(*c)),
            NodeKind::Pi { target, data } => Node::ProcessingInstruction {
                target: self.s(*target),
                data: self.s(*data),
            },
        })
    }
}

/// A node of the tree.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Node<'a> {
    /// An element.
    Element(Element<'a>),
    /// Character data: text, CDATA sections and references, decoded and merged.
    Text(&'a str),
    /// A comment's content.
    Comment(&'a str),
    /// A processing instruction.
    ProcessingInstruction {
        /// The PI target.
        target: &'a str,
        /// Everything after the target and its separating whitespace.
        data: &'a str,
    },
}

/// An attribute of an element.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'a> {
    doc: &'a Document,
    data: &'a AttrData,
}

impl<'a> Attribute<'a> {
    /// The qualified name as written (`prefix:local` or `local`).
    pub fn qname(&self) -> &'a str {
        self.doc.s(self.data.qname)
    }
    /// The prefix, if any.
    pub fn prefix(&self) -> Option<&'a str> {
        Some(self.doc.prefix_of(self.data.qname, self.data.prefix_len)).filter(|p| !p.is_empty())
    }
    /// The local part of the name.
    pub fn local_name(&self) -> &'a str {
        self.doc.local_of(self.data.qname, self.data.prefix_len)
    }
    /// The namespace URI (unprefixed attributes have none).
    pub fn namespace(&self) -> Option<&'a str> {
        self.doc.ns_uri(self.data.ns)
    }
    /// The normalized value (XML 1.0 section 3.3.3).
    pub fn value(&self) -> &'a str {
        self.doc.s(self.data.value)
    }
}

/// A handle to an element of a [`Document`].
#[derive(Clone, Copy)]
pub struct Element<'a> {
    doc: &'a Document,
    id: NodeId,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element")
            .field("qname", &self.qname())
            .field("namespace", &self.namespace())
            .field("offset", &self.offset())
            .finish()
    }
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.doc, other.doc) && self.id == other.id
    }
}
impl Eq for Element<'_> {}

static EMPTY_ELEMENT: ElementData = ElementData {
    qname: Span { start: 0, len: 0 },
    prefix_len: 0,
    prefix: PREFIX_NONE,
    ns: None,
    attrs: Range { start: 0, len: 0 },
    decls: Range { start: 0, len: 0 },
    first_child: None,
    last_child: None,
    tag: u32::MAX,
};

impl<'a> Element<'a> {
    fn data(&self) -> &'a ElementData {
        // An `Element` is only ever created for an element node of its document.
        self.doc.element_data(self.id).unwrap_or(&EMPTY_ELEMENT)
    }

    /// The document this element belongs to.
    pub fn document(&self) -> &'a Document {
        self.doc
    }
    /// This element's node id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The qualified name as written.
    pub fn qname(&self) -> &'a str {
        self.doc.s(self.data().qname)
    }
    /// The prefix, if any.
    pub fn prefix(&self) -> Option<&'a str> {
        let d = self.data();
        Some(self.doc.prefix_of(d.qname, d.prefix_len)).filter(|p| !p.is_empty())
    }
    /// The local part of the name.
    pub fn local_name(&self) -> &'a str {
        let d = self.data();
        self.doc.local_of(d.qname, d.prefix_len)
    }
    /// The resolved namespace URI.
    pub fn namespace(&self) -> Option<&'a str> {
        self.doc.ns_uri(self.data().ns)
    }
    /// Whether this element has the expanded name `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        let d = self.data();
        scan::eq(
            self.doc.local_bytes(d.qname, d.prefix_len),
            local.as_bytes(),
        ) && self
            .doc
            .ns_uri(d.ns)
            .is_some_and(|uri| scan::eq(uri.as_bytes(), ns.as_bytes()))
    }
    /// Byte offset of the element's start tag in the input.
    pub fn offset(&self) -> usize {
        self.doc.data(self.id).map_or(0, |d| d.offset)
    }
    /// The parent element (`None` for the document element).
    pub fn parent(&self) -> Option<Element<'a>> {
        let p = self.doc.data(self.id)?.parent?;
        self.doc.element(p)
    }
    /// The attributes, namespace declarations excluded, in document order.
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + use<'a> {
        let doc = self.doc;
        doc.attrs_of(self.data())
            .iter()
            .map(move |data| Attribute { doc, data })
    }
    /// Number of attributes (namespace declarations excluded).
    pub fn attribute_count(&self) -> usize {
        self.data().attrs.len as usize
    }
    /// The value of the unqualified (no namespace) attribute `local`.
    pub fn attribute(&self, local: &str) -> Option<&'a str> {
        let doc = self.doc;
        doc.attrs_of(self.data())
            .iter()
            .find(|a| a.ns.is_none() && scan::eq(doc.bytes(a.qname), local.as_bytes()))
            .map(|a| doc.s(a.value))
    }
    /// The value of the attribute `{ns}local`.
    pub fn attribute_ns(&self, ns: &str, local: &str) -> Option<&'a str> {
        self.attributes()
            .find(|a| a.namespace() == Some(ns) && a.local_name() == local)
            .map(|a| a.value())
    }
    /// The namespace declarations exactly as written on this element, in document order.
    pub fn namespace_declarations(&self) -> impl Iterator<Item = NamespaceDecl<'a>> + use<'a> {
        let doc = self.doc;
        doc.decls_of(self.data())
            .iter()
            .map(move |d| NamespaceDecl {
                prefix: (d.prefix_id != PREFIX_NONE).then(|| doc.prefix_name(d.prefix_id)),
                uri: doc.s(d.uri),
            })
    }
    /// All child nodes in document order.
    pub fn children(&self) -> impl Iterator<Item = Node<'a>> + use<'a> {
        let doc = self.doc;
        doc.child_ids(self.id).filter_map(move |id| doc.node(id))
    }
    /// The child elements in document order.
    pub fn child_elements(&self) -> impl Iterator<Item = Element<'a>> + use<'a> {
        let doc = self.doc;
        doc.child_ids(self.id).filter_map(move |id| doc.element(id))
    }
    /// Whether every text child is XML white space (element-only content, as schemas with no
    /// mixed content require).
    pub fn has_only_whitespace_text(&self) -> bool {
        self.children()
            .all(|n| !matches!(n, Node::Text(t) if !chars::is_xml_whitespace(t)))
    }
    /// Whether any child is an element.
    pub fn has_child_elements(&self) -> bool {
        self.child_elements().next().is_some()
    }
    /// The **whole** text content of this element: every text and CDATA child (with their
    /// references decoded) concatenated in document order, comments and processing instructions
    /// skipped. Text inside child elements is not included.
    ///
    /// A comment or CDATA section splitting a value therefore never truncates it:
    /// `a@b<!---->.evil` reads as `a@b.evil`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.text_into(&mut out);
        out
    }

    /// Appends the whole text content (as [`Element::text`] returns it) to `out`.
    pub fn text_into(&self, out: &mut String) {
        // Most values are a single text node.
        for child in self.children() {
            if let Node::Text(t) = child {
                out.push_str(t);
            }
        }
    }
}
