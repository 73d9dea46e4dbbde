//! The loop that builds a [`Document`] from the tokenizer's tokens, iteratively. A start tag
//! repeated byte for byte in the same namespace bindings reuses the first one's records (see
//! [`CachedTag`]).

use std::collections::HashMap;

use super::attrs::AttrLexer;
use super::chars::{
    first_illegal_char, is_xml_whitespace, push_normalized_line_ends, resolve_reference,
    split_qname,
};
use super::fast_map::FastMap;
use super::lexer::{LexError, Lexer, Token};
use super::scan;
use super::{
    AttrData, DeclData, Document, ElementData, NodeData, NodeId, NodeKind, PREFIX_NONE, PREFIX_XML,
    ParseOptions, Range, Span, XML_NS, XMLNS_NS, XmlError,
};

fn malformed(offset: usize, reason: impl Into<String>) -> XmlError {
    XmlError::Malformed {
        offset,
        reason: reason.into(),
    }
}

fn forbidden(offset: usize, what: impl Into<String>) -> XmlError {
    XmlError::Forbidden {
        offset,
        what: what.into(),
    }
}

fn check_chars(s: &str, offset: usize, what: &str) -> Result<(), XmlError> {
    match first_illegal_char(s) {
        None => Ok(()),
        Some(c) => Err(malformed(
            offset,
            format!("character U+{:04X} is not allowed in {what}", c as u32),
        )),
    }
}

/// Namespace bindings in scope, with O(1) look-up and undo on element end. Prefixes are
/// interned here: a prefix's id indexes its binding stack and becomes the document's prefix id.
struct Scope {
    /// Prefix ("" = default namespace) -> id.
    ids: FastMap<Box<str>, u32>,
    /// The first [`Scope::SHORT_CAP`] prefixes of at most seven bytes, as ([`short_key`], id):
    /// documents use a handful of short prefixes (`saml`, `ds`, `xs`) on every element, and
    /// comparing one integer each beats hashing the prefix and comparing bytes.
    short: Vec<(u64, u32)>,
    /// Id -> prefix.
    names: Vec<Box<str>>,
    /// Per prefix id, the stack of bound namespaces (`None` = undeclared default namespace).
    bindings: Vec<Vec<Option<u32>>>,
    /// Prefix ids bound by open elements, flattened; `undo_counts` says how many each.
    undo: Vec<u32>,
    undo_counts: Vec<usize>,
}

impl Default for Scope {
    fn default() -> Self {
        let mut scope = Scope {
            ids: FastMap::default(),
            short: Vec::new(),
            names: Vec::new(),
            bindings: Vec::new(),
            undo: Vec::new(),
            undo_counts: Vec::new(),
        };
        // Ids 0 and 1 are fixed: PREFIX_NONE and PREFIX_XML.
        scope.intern("");
        scope.intern("xml");
        scope
    }
}

/// A prefix of at most seven bytes as one integer (its bytes, and its length in the top byte).
fn short_key(prefix: &str) -> Option<u64> {
    let bytes = prefix.as_bytes();
    let len = u64::try_from(bytes.len()).ok().filter(|&n| n <= 7)?;
    // A shift per byte: no library call for a copy of a few bytes.
    let packed = bytes
        .iter()
        .enumerate()
        .fold(0u64, |key, (i, &b)| key | u64::from(b) << (8 * i));
    Some(packed | len << 56)
}

impl Scope {
    /// How many short prefixes [`Scope::short`] holds at most: a bounded scan per look-up.
    const SHORT_CAP: usize = 16;

    /// The id of an interned prefix.
    fn id(&self, prefix: &str) -> Option<u32> {
        if let Some(key) = short_key(prefix) {
            if let Some(&(_, i)) = self.short.iter().find(|(k, _)| *k == key) {
                return Some(i);
            }
            if self.short.len() < Self::SHORT_CAP {
                // Every short prefix is in the list while it has room.
                return None;
            }
        }
        self.ids.get(prefix).copied()
    }

    fn intern(&mut self, prefix: &str) -> u32 {
        if let Some(i) = self.id(prefix) {
            return i;
        }
        let i = to_u32(self.names.len());
        self.ids.insert(prefix.into(), i);
        if let Some(key) = short_key(prefix)
            && self.short.len() < Self::SHORT_CAP
        {
            self.short.push((key, i));
        }
        self.names.push(prefix.into());
        self.bindings.push(Vec::new());
        i
    }

    /// The prefix's id and its innermost binding, if it is bound.
    fn lookup(&self, prefix: &str) -> Option<(u32, Option<u32>)> {
        let i = self.id(prefix)?;
        let top = self
            .bindings
            .get(i as usize)
            .and_then(|v| v.last().copied())?;
        Some((i, top))
    }

    /// The namespace the prefix with this id resolves to now (`None`: unbound, or the default
    /// namespace undeclared).
    fn effective(&self, prefix_id: u32) -> Option<u32> {
        self.bindings
            .get(prefix_id as usize)
            .and_then(|v| v.last().copied())
            .flatten()
    }

    fn bind(&mut self, prefix_id: u32, ns: Option<u32>) {
        if let Some(v) = self.bindings.get_mut(prefix_id as usize) {
            v.push(ns);
        }
        self.undo.push(prefix_id);
    }

    fn unbind_element(&mut self) {
        let n = self.undo_counts.pop().unwrap_or(0);
        for _ in 0..n {
            if let Some(i) = self.undo.pop()
                && let Some(v) = self.bindings.get_mut(i as usize)
            {
                v.pop();
            }
        }
    }
}

struct Builder<'o> {
    opts: &'o ParseOptions,
    strings: String,
    nodes: Vec<NodeData>,
    attrs: Vec<AttrData>,
    decls: Vec<DeclData>,
    namespaces: Vec<Box<str>>,
    ns_index: FastMap<Box<str>, u32>,
    ids: HashMap<Box<str>, NodeId>,
    stack: Vec<NodeId>,
    top: Vec<NodeId>,
    root: Option<NodeId>,
    root_closed: bool,
    scope: Scope,
    /// Where the pending text run starts in `strings`.
    text_start: usize,
    text_offset: usize,
    text_pending: bool,
    /// The pending run holds nothing C14N escapes (see [`NodeKind::Text`]).
    text_plain: bool,
    scratch_value: String,
    /// Start tags seen before, for identical ones to reuse (see [`CachedTag`]); empty when the
    /// cache is off.
    tag_cache: Vec<Option<CachedTag>>,
}

/// A start tag that parsed without error and carried no `ID`, kept so that a later start tag
/// with the same bytes can reuse its result instead of reading it again.
///
/// SAML documents repeat start tags verbatim: an Okta group list is hundreds of
/// `<saml2:AttributeValue xmlns:xs=".." xmlns:xsi=".." xsi:type="xs:string">`. What a start tag
/// parses to depends only on its own bytes (from `<` through `>`: the lexer reads nothing beyond
/// them) and on the bindings, made outside the tag, of the prefixes its names use: the element's
/// and its attributes' prefixes (the default namespace for an unprefixed element) that the tag
/// does not declare itself. A hit therefore requires both: the same bytes, compared in full, and
/// each of those prefixes bound as it was. It then copies the earlier element's attribute and
/// declaration records (their strings are shared in the arena) instead of lexing, checking and
/// resolving them again. A tag with an `ID` is never reused: registering the ID (and refusing a
/// duplicate) happens on every occurrence. A miss costs one comparison of bytes the parser reads
/// anyway, so the cache bounds nothing and cannot be used to slow the parser down.
#[derive(Debug, Clone, Copy)]
struct CachedTag {
    /// The tag in the document text: offset of its `<` and length through its `>`.
    start: usize,
    len: usize,
    empty: bool,
    /// The element as first parsed (its attribute and declaration ranges point at the first
    /// occurrence's records).
    data: ElementData,
    /// (prefix id, effective namespace) for each prefix bound outside the tag that its names
    /// resolved through.
    outer: [(u32, Option<u32>); CachedTag::MAX_OUTER],
    outer_len: usize,
    /// Hits since it was cached, up to [`CachedTag::MAX_HITS`], less one per tag it kept out.
    hits: u8,
}

impl CachedTag {
    /// Tags whose names use more prefixes bound outside them are not cached.
    const MAX_OUTER: usize = 4;
    /// Number of cache slots, one tag each: sixteen sets of two (a tag's name picks the set).
    const SLOTS: usize = 32;
    /// Hits a slot's tag can bank against being replaced (see [`Builder::remember_tag`]).
    const MAX_HITS: u8 = 4;

    /// The slot for a tag named `qname`: a multiplicative hash of its length and of its first
    /// and last eight bytes, so that names that differ in length or at either end
    /// (`saml:Attribute`, `saml:AttributeValue`) usually land in different slots. (Only where a
    /// tag is kept depends on it; whether a kept tag is reused is decided by comparing bytes.)
    fn slot(qname: &str) -> usize {
        let b = qname.as_bytes();
        let word = |s: Option<&[u8]>| {
            s.and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map_or(0, u64::from_le_bytes)
        };
        let (first, last) = if b.len() >= 8 {
            (word(b.get(..8)), word(b.get(b.len() - 8..)))
        } else {
            (b.iter().fold(0u64, |h, &x| (h << 8) | u64::from(x)), 0)
        };
        let h = ((b.len() as u64 ^ first).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ last)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // The top five bits.
        usize::try_from(h >> 59).unwrap_or(0) % Self::SLOTS
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Builder<'_> {
    /// Appends `s` to the string arena.
    fn span(&mut self, s: &str) -> Span {
        let start = to_u32(self.strings.len());
        self.strings.push_str(s);
        Span {
            start,
            len: to_u32(s.len()),
        }
    }

    fn intern_ns(&mut self, uri: &str) -> u32 {
        // Documents use a handful of namespaces and redeclare them often: a short linear scan
        // beats hashing the URI.
        if self.namespaces.len() <= 16
            && let Some(i) = self.namespaces.iter().position(|u| &**u == uri)
        {
            return to_u32(i);
        }
        if let Some(&i) = self.ns_index.get(uri) {
            return i;
        }
        let i = to_u32(self.namespaces.len());
        self.namespaces.push(uri.into());
        self.ns_index.insert(uri.into(), i);
        i
    }

    fn push_node(&mut self, kind: NodeKind, offset: usize) -> Result<NodeId, XmlError> {
        let max = self.opts.limits.max_nodes;
        if self.nodes.len() >= max || self.nodes.len() >= u32::MAX as usize {
            return Err(XmlError::LimitExceeded {
                limit: "max_nodes",
                max,
                found: self.nodes.len() + 1,
            });
        }
        let id = NodeId(to_u32(self.nodes.len()));
        let parent = self.stack.last().copied();
        self.nodes.push(NodeData {
            kind,
            parent,
            next_sibling: None,
            offset,
        });
        match parent {
            Some(p) => {
                let prev = match self.nodes.get_mut(p.index()).map(|n| &mut n.kind) {
                    Some(NodeKind::Element(e)) => {
                        let prev = e.last_child.replace(id);
                        if prev.is_none() {
                            e.first_child = Some(id);
                        }
                        prev
                    }
                    _ => None,
                };
                if let Some(prev) = prev.and_then(|p| self.nodes.get_mut(p.index())) {
                    prev.next_sibling = Some(id);
                }
            }
            None => self.top.push(id),
        }
        Ok(id)
    }

    /// Ends the pending text run, which was written straight into the arena from `text_start`.
    fn flush_text(&mut self) -> Result<(), XmlError> {
        if !self.text_pending {
            return Ok(());
        }
        self.text_pending = false;
        let start = self.text_start;
        if self.stack.is_empty() {
            // Outside the document element only white space may appear; none of it is kept.
            // Fail closed: a run that cannot be read back counts as text.
            let blank = self.strings.get(start..).is_some_and(is_xml_whitespace);
            self.strings.truncate(start);
            if !blank {
                return Err(malformed(
                    self.text_offset,
                    "text outside the document element",
                ));
            }
            return Ok(());
        }
        let span = Span {
            start: to_u32(start),
            len: to_u32(self.strings.len().saturating_sub(start)),
        };
        self.push_node(NodeKind::Text(span, self.text_plain), self.text_offset)?;
        Ok(())
    }

    /// Starts a text run (if none is pending): its pieces are appended to the arena directly.
    fn start_text(&mut self, offset: usize) {
        if !self.text_pending {
            self.text_pending = true;
            self.text_plain = true;
            self.text_offset = offset;
            self.text_start = self.strings.len();
        }
    }

    /// The start tag `qname` at `offset`, its attributes read from `attrs`. Returns where the
    /// tag ends and whether it was an empty-element tag (then the element is already closed).
    ///
    /// `tag_start` is the offset of the tag's `<` in `text`, the document text.
    fn start_element(
        &mut self,
        text: &str,
        tag_start: usize,
        qname: &str,
        attrs: &mut AttrLexer<'_>,
        offset: usize,
    ) -> Result<(usize, bool), XmlError> {
        self.flush_text()?;
        let limits = self.opts.limits;
        if self.root_closed {
            return Err(malformed(offset, "content after the document element"));
        }
        let depth = self.stack.len() + 1;
        if depth > limits.max_depth {
            return Err(XmlError::LimitExceeded {
                limit: "max_depth",
                max: limits.max_depth,
                found: depth,
            });
        }
        let slot = CachedTag::slot(qname);
        if let Some(hit) = self.cached_tag(text, tag_start, slot) {
            return self.open_cached(hit, tag_start, offset);
        }
        let (prefix, _local) = split_qname(qname)
            .ok_or_else(|| malformed(offset, format!("invalid element name {qname:?}")))?;

        // First pass: namespace declarations, bound at once; attributes decoded into the arena
        // (their names are resolved once every declaration of this element is known).
        let decls_start = self.decls.len();
        let attrs_start = self.attrs.len();
        let mut scratch = std::mem::take(&mut self.scratch_value);
        for attr in attrs.by_ref() {
            let attr = attr.map_err(|why| malformed(offset, why))?;
            let name = attr.name;
            // A plain value (the lexer checked: printable ASCII, no '&' or '<') is used as
            // written; any other is decoded into the scratch buffer.
            let value: &str = if attr.plain {
                attr.value
            } else {
                decode_attribute_value(attr.value, offset, &mut scratch)?;
                &scratch
            };
            if name == "xmlns" || name.starts_with("xmlns:") {
                let count = self.decls.len() - decls_start;
                if count >= limits.max_namespace_declarations {
                    return Err(XmlError::LimitExceeded {
                        limit: "max_namespace_declarations",
                        max: limits.max_namespace_declarations,
                        found: count + 1,
                    });
                }
                let declared = name.strip_prefix("xmlns:");
                check_namespace_declaration(declared, value, attr.plain, offset)?;
                // Compare interned ids: the same prefix declared twice on one element.
                let prefix_id = self.scope.intern(declared.unwrap_or(""));
                let dup = self
                    .decls
                    .get(decls_start..)
                    .unwrap_or_default()
                    .iter()
                    .any(|d| d.prefix_id == prefix_id);
                if dup {
                    return Err(malformed(
                        offset,
                        format!("duplicate namespace declaration {name:?}"),
                    ));
                }
                let uri = self.span(value);
                let bound = if value.is_empty() {
                    None
                } else {
                    Some(self.intern_ns(value))
                };
                self.scope.bind(prefix_id, bound);
                self.decls.push(DeclData {
                    prefix_id,
                    uri,
                    ns: bound,
                });
            } else {
                let count = self.attrs.len() - attrs_start;
                if count >= limits.max_attributes {
                    return Err(XmlError::LimitExceeded {
                        limit: "max_attributes",
                        max: limits.max_attributes,
                        found: count + 1,
                    });
                }
                let (aprefix, _) = split_qname(name)
                    .ok_or_else(|| malformed(offset, format!("invalid attribute name {name:?}")))?;
                let qname = self.span(name);
                let value_span = self.span(value);
                self.attrs.push(AttrData {
                    plain: attr.plain && attr.double_quoted,
                    qname,
                    prefix_len: to_u32(aprefix.map_or(0, str::len)),
                    prefix: PREFIX_NONE,
                    ns: None,
                    value: value_span,
                });
            }
        }
        self.scratch_value = scratch;
        let (tag_end, empty) = attrs
            .tag_end()
            .ok_or_else(|| malformed(offset, "unterminated start tag"))?;
        self.scope.undo_counts.push(self.decls.len() - decls_start);

        // Resolve the element name.
        let (prefix_id, ns) = match prefix {
            None => (PREFIX_NONE, self.scope.lookup("").and_then(|(_, ns)| ns)),
            Some("xml") => (PREFIX_XML, Some(self.intern_ns(XML_NS))),
            Some("xmlns") => {
                return Err(malformed(offset, "the xmlns prefix cannot name an element"));
            }
            Some(p) => match self.scope.lookup(p) {
                Some((id, Some(i))) => (id, Some(i)),
                _ => {
                    return Err(malformed(
                        offset,
                        format!("undeclared namespace prefix {p:?}"),
                    ));
                }
            },
        };

        // Resolve attribute names.
        let mut id_value: Option<Span> = None;
        for i in attrs_start..self.attrs.len() {
            let Some(a) = self.attrs.get(i) else { break };
            let (qname, prefix_len, value) = (a.qname, a.prefix_len, a.value);
            let (prefix_id, ns) = if prefix_len == 0 {
                (PREFIX_NONE, None)
            } else {
                let p = self
                    .strings
                    .get(qname.start as usize..(qname.start + prefix_len) as usize)
                    .unwrap_or("");
                if p == "xml" {
                    (PREFIX_XML, Some(self.intern_ns(XML_NS)))
                } else {
                    match self.scope.lookup(p) {
                        Some((id, Some(i))) => (id, Some(i)),
                        _ => {
                            return Err(malformed(
                                offset,
                                format!("undeclared namespace prefix {p:?}"),
                            ));
                        }
                    }
                }
            };
            if let Some(a) = self.attrs.get_mut(i) {
                a.ns = ns;
                a.prefix = prefix_id;
            }
            if prefix_len == 0
                && self
                    .strings
                    .get(qname.start as usize..(qname.start + qname.len) as usize)
                    == Some("ID")
            {
                id_value = Some(value);
            }
        }
        // Reject duplicate attributes (also the same expanded name through two prefixes).
        let new_attrs = self.attrs.get(attrs_start..).unwrap_or_default();
        let local = |a: &AttrData| {
            let q = self
                .strings
                .get(a.qname.start as usize..(a.qname.start + a.qname.len) as usize)
                .unwrap_or("");
            if a.prefix_len > 0 {
                q.get(a.prefix_len as usize + 1..).unwrap_or("")
            } else {
                q
            }
        };
        if new_attrs.len() <= 8 {
            for (i, a) in new_attrs.iter().enumerate() {
                if new_attrs
                    .iter()
                    .skip(i + 1)
                    .any(|b| b.ns == a.ns && local(b) == local(a))
                {
                    return Err(malformed(
                        offset,
                        format!("duplicate attribute {:?}", local(a)),
                    ));
                }
            }
        } else {
            let mut keys: Vec<(Option<u32>, &str)> =
                new_attrs.iter().map(|a| (a.ns, local(a))).collect();
            keys.sort_unstable();
            if let Some(w) = keys.windows(2).find(|w| w.first() == w.get(1)) {
                let name = w.first().map_or("", |k| k.1);
                return Err(malformed(offset, format!("duplicate attribute {name:?}")));
            }
        }

        let data = ElementData {
            qname: self.span(qname),
            prefix_len: to_u32(prefix.map_or(0, str::len)),
            prefix: prefix_id,
            ns,
            attrs: Range {
                start: to_u32(attrs_start),
                len: to_u32(self.attrs.len() - attrs_start),
            },
            decls: Range {
                start: to_u32(decls_start),
                len: to_u32(self.decls.len() - decls_start),
            },
            first_child: None,
            last_child: None,
            tag: to_u32(self.nodes.len()),
        };
        if id_value.is_none() {
            self.remember_tag(slot, tag_start, tag_end, empty, data);
        }
        self.open_element(data, id_value, offset, empty)?;
        Ok((tag_end, empty))
    }

    /// The cached tag in `slot` if the tag at `tag_start` in `text` is the same one in the same
    /// bindings (see [`CachedTag`]).
    fn cached_tag(&mut self, text: &str, tag_start: usize, set: usize) -> Option<CachedTag> {
        let bytes = text.as_bytes();
        for way in [set, set ^ 1] {
            let Some(Some(entry)) = self.tag_cache.get(way) else {
                continue;
            };
            let before = bytes.get(entry.start..entry.start + entry.len);
            let here = bytes.get(tag_start..tag_start + entry.len);
            let outer = entry.outer.get(..entry.outer_len).unwrap_or_default();
            if before.is_some()
                && before == here
                && outer.iter().all(|&(p, ns)| self.scope.effective(p) == ns)
            {
                let hit = *entry;
                if let Some(Some(kept)) = self.tag_cache.get_mut(way) {
                    kept.hits = kept.hits.saturating_add(1).min(CachedTag::MAX_HITS);
                }
                return Some(hit);
            }
        }
        None
    }

    /// Opens the element whose start tag at `tag_start` is `hit`'s, without reading it again.
    fn open_cached(
        &mut self,
        hit: CachedTag,
        tag_start: usize,
        offset: usize,
    ) -> Result<(usize, bool), XmlError> {
        let (decls_start, attrs_start) = (self.decls.len(), self.attrs.len());
        let d = hit.data;
        let from = |r: Range| r.start as usize..r.start as usize + r.len as usize;
        if from(d.decls).end > decls_start || from(d.attrs).end > attrs_start {
            // Records of an earlier tag always precede the end; fail closed if they did not.
            return Err(malformed(offset, "internal error: tag cache out of range"));
        }
        self.decls.extend_from_within(from(d.decls));
        self.attrs.extend_from_within(from(d.attrs));
        for i in decls_start..self.decls.len() {
            if let Some(&DeclData { prefix_id, ns, .. }) = self.decls.get(i) {
                self.scope.bind(prefix_id, ns);
            }
        }
        self.scope.undo_counts.push(self.decls.len() - decls_start);
        let data = ElementData {
            attrs: Range {
                start: to_u32(attrs_start),
                len: d.attrs.len,
            },
            decls: Range {
                start: to_u32(decls_start),
                len: d.decls.len,
            },
            first_child: None,
            last_child: None,
            ..d
        };
        self.open_element(data, None, offset, hit.empty)?;
        Ok((tag_start + hit.len, hit.empty))
    }

    /// Keeps the tag just parsed (`data`, from `tag_start` to `tag_end` in the text) in `slot`,
    /// with the outside bindings its names resolved through, if it uses few enough of them.
    ///
    /// Each name hashes to a set of two slots. A tag that has been reused keeps its place,
    /// losing one banked hit when another tag wanted it: a run of distinct tags (each
    /// `Attribute` has its own `Name`) that shares a set with a repeated one (`AttributeValue`)
    /// does not push it out between its repetitions.
    fn remember_tag(
        &mut self,
        slot: usize,
        tag_start: usize,
        tag_end: usize,
        empty: bool,
        data: ElementData,
    ) {
        // The way to fill: an empty one, else the older of those without banked hits; when
        // both have some, each loses one and the tag is not kept.
        let ways = [slot, slot ^ 1];
        let entries = ways.map(|w| {
            self.tag_cache
                .get(w)
                .and_then(Option::as_ref)
                .map(|e| (e.hits, e.start))
        });
        let victim = match entries {
            [None, _] => slot,
            [_, None] => slot ^ 1,
            [Some((a_hits, a_start)), Some((b_hits, b_start))]
                if a_hits == 0 && (b_hits > 0 || a_start <= b_start) =>
            {
                slot
            }
            [_, Some((0, _))] => slot ^ 1,
            _ => {
                for w in ways {
                    if let Some(Some(kept)) = self.tag_cache.get_mut(w) {
                        kept.hits = kept.hits.saturating_sub(1);
                    }
                }
                return;
            }
        };
        let decls = data.decls.slice(&self.decls);
        let mut outer = [(0, None); CachedTag::MAX_OUTER];
        let mut outer_len = 0;
        let element = (data.prefix != PREFIX_XML).then_some((data.prefix, data.ns));
        let attributes = data
            .attrs
            .slice(&self.attrs)
            .iter()
            .filter(|a| a.prefix_len > 0 && a.prefix != PREFIX_XML)
            .map(|a| (a.prefix, a.ns));
        for (p, ns) in element.into_iter().chain(attributes) {
            if decls.iter().any(|d| d.prefix_id == p)
                || outer
                    .get(..outer_len)
                    .is_some_and(|o| o.iter().any(|&(q, _)| q == p))
            {
                continue;
            }
            match outer.get_mut(outer_len) {
                Some(o) => *o = (p, ns),
                // Too many prefixes from outside: not cached.
                None => return,
            }
            outer_len += 1;
        }
        let Some(entry) = self.tag_cache.get_mut(victim) else {
            return;
        };
        *entry = Some(CachedTag {
            start: tag_start,
            len: tag_end.saturating_sub(tag_start),
            empty,
            data,
            outer,
            outer_len,
            hits: 0,
        });
    }

    /// Adds the element `data` (its start tag read) to the tree, registers its `ID`, and opens
    /// it (closes it too when the tag was empty).
    fn open_element(
        &mut self,
        data: ElementData,
        id_value: Option<Span>,
        offset: usize,
        empty: bool,
    ) -> Result<(), XmlError> {
        let id = self.push_node(NodeKind::Element(data), offset)?;
        if let Some(v) = id_value {
            let v: Box<str> = self
                .strings
                .get(v.start as usize..(v.start + v.len) as usize)
                .unwrap_or("")
                .into();
            if self.ids.contains_key(&v) {
                return Err(XmlError::DuplicateId {
                    id: v.into(),
                    offset,
                });
            }
            self.ids.insert(v, id);
        }
        if self.stack.is_empty() {
            if self.root.is_some() {
                return Err(malformed(offset, "more than one document element"));
            }
            self.root = Some(id);
        }
        self.stack.push(id);
        if empty {
            self.end_element();
        }
        Ok(())
    }

    /// The end tag `name` at `offset`: it must close the innermost open element, by the same
    /// qualified name.
    fn end_tag(&mut self, name: &str, offset: usize) -> Result<(), XmlError> {
        self.flush_text()?;
        let open =
            self.stack
                .last()
                .and_then(|id| match self.nodes.get(id.index()).map(|n| &n.kind) {
                    Some(NodeKind::Element(e)) => self
                        .strings
                        .get(e.qname.start as usize..(e.qname.start + e.qname.len) as usize),
                    _ => None,
                });
        match open {
            Some(q) if q == name => {
                self.end_element();
                Ok(())
            }
            Some(q) => Err(malformed(
                offset,
                format!("end tag </{name}> does not close <{q}>"),
            )),
            None => Err(malformed(
                offset,
                format!("end tag </{name}> without a start tag"),
            )),
        }
    }

    fn end_element(&mut self) {
        self.scope.unbind_element();
        self.stack.pop();
        if self.stack.is_empty() {
            self.root_closed = true;
        }
    }
}

/// `plain`: the attribute lexer found the value to be printable ASCII already.
fn check_namespace_declaration(
    prefix: Option<&str>,
    uri: &str,
    plain: bool,
    offset: usize,
) -> Result<(), XmlError> {
    let printable = |u: &&str| {
        let word = |w| scan::below_mask(w, 0x20) | scan::above_tilde_mask(w) != 0;
        plain || scan::find(u.as_bytes(), 0, word, |b| !(0x20..0x7f).contains(&b)).is_none()
    };
    if let Some(c) = Some(uri)
        .filter(|u| !printable(u))
        .and_then(|u| u.chars().find(|c| c.is_control()))
    {
        return Err(forbidden(
            offset,
            format!("control character U+{:04X} in a namespace URI", c as u32),
        ));
    }
    match prefix {
        Some("xmlns") => Err(malformed(offset, "the xmlns prefix cannot be declared")),
        Some("xml") if uri != XML_NS => Err(malformed(offset, "the xml prefix cannot be rebound")),
        Some("xml") => Ok(()),
        Some(p) if !super::is_ncname(p) => Err(malformed(offset, format!("invalid prefix {p:?}"))),
        Some(p) if uri.is_empty() => Err(malformed(
            offset,
            format!("prefix {p:?} cannot be undeclared in XML 1.0 namespaces"),
        )),
        _ if uri == XML_NS || uri == XMLNS_NS => Err(malformed(
            offset,
            format!("namespace {uri:?} cannot be bound to another prefix"),
        )),
        _ => Ok(()),
    }
}

/// Decodes a raw attribute value: resolves references and applies attribute-value normalization
/// (XML 1.0 section 3.3.3, CDATA type: every literal white-space character becomes a space, a
/// literal CR LF pair a single space; white space produced by character references is kept).
fn decode_attribute_value(raw: &str, offset: usize, out: &mut String) -> Result<(), XmlError> {
    out.clear();
    // Fast path, one pass: printable ASCII without references or white space to normalize.
    let special = |b: u8| !(0x20..0x7f).contains(&b) || b == b'&' || b == b'<';
    let word = |w| {
        scan::below_mask(w, 0x20)
            | scan::above_tilde_mask(w)
            | scan::eq_mask(w, b'&')
            | scan::eq_mask(w, b'<')
            != 0
    };
    if scan::find(raw.as_bytes(), 0, word, special).is_none() {
        out.push_str(raw);
        return Ok(());
    }
    check_chars(raw, offset, "an attribute value")?;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '<' => return Err(malformed(offset, "'<' in an attribute value")),
            '\r' => {
                if let Some(&(_, '\n')) = chars.peek() {
                    chars.next();
                }
                out.push(' ');
            }
            '\t' | '\n' => out.push(' '),
            '&' => {
                let rest = raw.get(i + 1..).unwrap_or("");
                let end = rest
                    .find(';')
                    .ok_or_else(|| malformed(offset, "unterminated reference"))?;
                let name = rest.get(..end).unwrap_or("");
                match resolve_reference(name) {
                    Some(ch) => out.push(ch),
                    None if name.starts_with('#') => {
                        return Err(malformed(
                            offset,
                            format!("illegal character reference &{name};"),
                        ));
                    }
                    None => return Err(forbidden(offset, format!("entity reference &{name};"))),
                }
                // Skip the reference's name and the ';'.
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    Ok(())
}

fn lex_error(e: LexError, bom: usize) -> XmlError {
    malformed(e.offset.saturating_add(bom), e.reason)
}

/// The pseudo-attributes of the XML declaration: `version` first and `1.0`, then optionally
/// `encoding` (UTF-8 only) and `standalone`, in that order (XML 1.0 section 2.8).
fn check_declaration(content: &str, pos: usize) -> Result<(), XmlError> {
    let mut seen = 0;
    for attr in AttrLexer::bounded(content) {
        let attr = attr.map_err(|why| malformed(pos, why))?;
        let order = match attr.name {
            "version" => 1,
            "encoding" => 2,
            "standalone" => 3,
            other => {
                return Err(malformed(
                    pos,
                    format!("unknown pseudo-attribute {other:?} in the XML declaration"),
                ));
            }
        };
        if order <= seen || (seen == 0 && order != 1) {
            return Err(malformed(
                pos,
                "XML declaration pseudo-attributes out of order",
            ));
        }
        seen = order;
        match attr.name {
            "version" if attr.value != "1.0" => {
                return Err(forbidden(
                    pos,
                    format!("XML version {:?} (only 1.0 is accepted)", attr.value),
                ));
            }
            "encoding" if !attr.value.eq_ignore_ascii_case("utf-8") => {
                return Err(forbidden(
                    pos,
                    format!("declared encoding {:?} (UTF-8 only)", attr.value),
                ));
            }
            "standalone" if !matches!(attr.value, "yes" | "no") => {
                return Err(malformed(pos, "standalone must be \"yes\" or \"no\""));
            }
            _ => {}
        }
    }
    if seen == 0 {
        return Err(malformed(pos, "XML declaration without a version"));
    }
    Ok(())
}

pub(super) fn parse(input: &[u8], opts: &ParseOptions) -> Result<Document, XmlError> {
    parse_impl(input, opts, true)
}

/// [`parse`] without reusing repeated start tags: the reference the tag cache is checked
/// against (the tests and the `xml_parse` fuzz target compare the two trees).
#[cfg(any(test, feature = "testkit"))]
pub(crate) fn parse_without_tag_cache(
    input: &[u8],
    opts: &ParseOptions,
) -> Result<Document, XmlError> {
    parse_impl(input, opts, false)
}

fn parse_impl(input: &[u8], opts: &ParseOptions, reuse_tags: bool) -> Result<Document, XmlError> {
    let limits = &opts.limits;
    if input.len() > limits.max_input_bytes {
        return Err(XmlError::LimitExceeded {
            limit: "max_input_bytes",
            max: limits.max_input_bytes,
            found: input.len(),
        });
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        forbidden(
            e.valid_up_to(),
            "input that is not UTF-8 (saml-sp accepts UTF-8 only)",
        )
    })?;
    let (text, bom) = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => (rest, 3),
        None => (text, 0),
    };
    let mut lexer = Lexer::new(text);
    let mut b = Builder {
        opts,
        strings: String::with_capacity(text.len()),
        // Sized for SAML-shaped documents (about one element, attribute and namespace
        // declaration per 64-128 bytes), so the arena and tables rarely grow; never more than a
        // fraction of the input, whatever the input holds.
        nodes: Vec::with_capacity(text.len() / 64),
        attrs: Vec::with_capacity(text.len() / 96),
        decls: Vec::with_capacity(text.len() / 128),
        namespaces: Vec::new(),
        ns_index: FastMap::default(),
        ids: HashMap::new(),
        scratch_value: String::new(),
        stack: Vec::new(),
        top: Vec::new(),
        root: None,
        root_closed: false,
        scope: Scope::default(),
        text_start: 0,
        text_offset: 0,
        text_pending: false,
        text_plain: true,
        tag_cache: if reuse_tags {
            vec![None; CachedTag::SLOTS]
        } else {
            Vec::new()
        },
    };
    loop {
        let pos = lexer.position().saturating_add(bom);
        let token = lexer.next_token().map_err(|e| lex_error(e, bom))?;
        match token {
            Token::Decl(content) => check_declaration(content, pos)?,
            Token::DocType => return Err(forbidden(pos, "a document type declaration (DTD)")),
            Token::Start(name) => {
                let mut attrs = lexer.attributes();
                let tag_start = pos.saturating_sub(bom);
                let (end, _empty) = b.start_element(text, tag_start, name, &mut attrs, pos)?;
                lexer.resume(end);
            }
            Token::End(name) => b.end_tag(name, pos)?,
            Token::Text(raw) => {
                b.start_text(pos);
                // Fast path, one pass: printable ASCII, tabs and line feeds, no CR, no ']' and
                // no '>' (so nothing C14N escapes either: '&' and '<' never reach a Text token).
                let plain = |c: u8| {
                    (0x20..0x7f).contains(&c) && c != b']' && c != b'>' || c == b'\n' || c == b'\t'
                };
                let word = |w| {
                    scan::below_mask(w, 0x20)
                        | scan::above_tilde_mask(w)
                        | scan::eq_mask(w, b']')
                        | scan::eq_mask(w, b'>')
                        != 0
                };
                if scan::find(raw.as_bytes(), 0, word, |c| !plain(c)).is_none() {
                    b.strings.push_str(raw);
                } else {
                    b.text_plain = false;
                    check_chars(raw, pos, "text")?;
                    if raw.contains("]]>") {
                        return Err(malformed(pos, "']]>' in text"));
                    }
                    push_normalized_line_ends(&mut b.strings, raw);
                }
            }
            Token::CData(raw) => {
                if b.stack.is_empty() {
                    return Err(malformed(pos, "CDATA section outside the document element"));
                }
                check_chars(raw, pos, "a CDATA section")?;
                b.start_text(pos);
                b.text_plain = false;
                push_normalized_line_ends(&mut b.strings, raw);
            }
            Token::Ref(name) => {
                if b.stack.is_empty() {
                    return Err(malformed(pos, "reference outside the document element"));
                }
                match resolve_reference(name) {
                    Some(c) => {
                        b.start_text(pos);
                        b.text_plain = false;
                        b.strings.push(c);
                    }
                    None if name.starts_with('#') => {
                        return Err(malformed(
                            pos,
                            format!("illegal character reference &{name};"),
                        ));
                    }
                    None => return Err(forbidden(pos, format!("entity reference &{name};"))),
                }
            }
            Token::Comment(raw) => {
                b.flush_text()?;
                check_chars(raw, pos, "a comment")?;
                if raw.ends_with('-') {
                    return Err(malformed(pos, "comment ending in '-'"));
                }
                let mut s = String::with_capacity(raw.len());
                push_normalized_line_ends(&mut s, raw);
                let span = b.span(&s);
                b.push_node(NodeKind::Comment(span), pos)?;
            }
            Token::Pi { target, content } => {
                b.flush_text()?;
                if opts.forbid_processing_instructions {
                    return Err(forbidden(pos, "a processing instruction"));
                }
                if target.eq_ignore_ascii_case("xml") {
                    return Err(malformed(
                        pos,
                        "XML declaration not at the start of the document",
                    ));
                }
                if super::is_ncname(target).then_some(()).is_none() {
                    return Err(malformed(
                        pos,
                        format!("invalid processing-instruction target {target:?}"),
                    ));
                }
                check_chars(content, pos, "a processing instruction")?;
                let mut data = String::with_capacity(content.len());
                push_normalized_line_ends(&mut data, content);
                let target = b.span(target);
                let data = b.span(&data);
                b.push_node(NodeKind::Pi { target, data }, pos)?;
            }
            Token::Eof => {
                b.flush_text()?;
                if !b.stack.is_empty() {
                    return Err(malformed(pos, "unexpected end of input: unclosed element"));
                }
                break;
            }
        }
    }
    let root = b.root.ok_or_else(|| malformed(0, "no document element"))?;
    Ok(Document {
        prefixes: b.scope.names,
        prefix_ids: b.scope.ids,
        strings: b.strings,
        nodes: b.nodes,
        attrs: b.attrs,
        decls: b.decls,
        namespaces: b.namespaces,
        root,
        top: b.top,
        ids: b.ids,
    })
}

/// Everything a parsed tree holds, written out: each node in document order with its depth; an
/// element's name, prefix and namespace, its attributes (name, prefix id, namespace, value,
/// whether plain) and declarations (prefix id, URI, interned namespace); text with its plain
/// flag; and the ID index. Two parses agree when their dumps do.
#[cfg(any(test, feature = "testkit"))]
pub(crate) fn dump(doc: &Document) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut stack = vec![(doc.root, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        let Some(node) = doc.nodes.get(id.index()) else {
            continue;
        };
        let _ = write!(out, "{depth} @{} ", node.offset);
        match &node.kind {
            NodeKind::Element(e) => {
                let _ = write!(
                    out,
                    "<{} p={} ns={:?}",
                    doc.s(e.qname),
                    e.prefix,
                    doc.ns_uri(e.ns)
                );
                for a in e.attrs.slice(&doc.attrs) {
                    let _ = write!(
                        out,
                        " [{} p={} ns={:?} v={:?} plain={}]",
                        doc.s(a.qname),
                        a.prefix,
                        doc.ns_uri(a.ns),
                        doc.s(a.value),
                        a.plain
                    );
                }
                for d in e.decls.slice(&doc.decls) {
                    let _ = write!(
                        out,
                        " {{{} {:?} {:?}}}",
                        doc.prefix_name(d.prefix_id),
                        doc.s(d.uri),
                        d.ns
                    );
                }
                let children: Vec<NodeId> = doc.child_ids(id).collect();
                for &c in children.iter().rev() {
                    stack.push((c, depth + 1));
                }
            }
            NodeKind::Text(t, plain) => {
                let _ = write!(out, "text {:?} plain={plain}", doc.s(*t));
            }
            NodeKind::Comment(c) => {
                let _ = write!(out, "comment {:?}", doc.s(*c));
            }
            NodeKind::Pi { target, data } => {
                let _ = write!(out, "pi {:?} {:?}", doc.s(*target), doc.s(*data));
            }
        }
        out.push('\n');
    }
    let mut ids: Vec<_> = doc
        .ids
        .iter()
        .map(|(k, v)| format!("{k}={}", v.index()))
        .collect();
    ids.sort();
    let _ = write!(out, "ids {ids:?} namespaces {:?}", doc.namespaces);
    out
}

/// Parses `input` with and without the tag cache and compares the results: the same tree, or
/// the same error. `Err` describes a difference (a finding).
#[cfg(any(test, feature = "testkit"))]
pub(crate) fn check_tag_cache(input: &[u8], opts: &ParseOptions) -> Result<(), String> {
    let cached = parse(input, opts).map(|d| dump(&d));
    let plain = parse_without_tag_cache(input, opts).map(|d| dump(&d));
    if cached == plain {
        return Ok(());
    }
    let first_difference = match (&cached, &plain) {
        (Ok(a), Ok(b)) => a
            .lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("with:    {x}\nwithout: {y}"))
            .unwrap_or_default(),
        _ => format!("with:    {cached:?}\nwithout: {plain:?}"),
    };
    Err(format!(
        "the tag cache changes the parse of {:?}:\n{first_difference}",
        String::from_utf8_lossy(input)
    ))
}

/// `count` documents of nested elements drawn from a few start tags (prefixed,
/// default-namespaced, declaring their own prefixes, with namespaced attributes, an
/// `AttributeValue`-like one) inside wrappers that bind, rebind and render the prefixes they use:
/// the inputs on which the tag cache, and the canonicalizer's reuse of start tags, must change
/// nothing. With `unbound`, some documents use the prefix `z` outside its binding (refused).
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
pub(crate) fn generated_documents(seed: u64, count: usize, unbound: bool) -> Vec<String> {
    let mut tags = vec![
        r#"<p:e xmlns:x="urn:x" x:t="s">"#,
        r#"<p:e>"#,
        r#"<e q:a="1">"#,
        r#"<e>"#,
        r#"<q:v xmlns:q="urn:q1" q:a="v">"#,
        r#"<p:e xmlns:xs="urn:xs" xmlns:xsi="urn:xsi" xsi:type="xs:string">"#,
        r#"<p:e p:a="1" q:b="2">"#,
    ];
    let mut wrappers = vec![
        r#"<w xmlns:p="urn:p1">"#,
        r#"<p:w xmlns:p="urn:p2" xmlns:q="urn:q2">"#,
        r#"<w xmlns="urn:d">"#,
        r#"<w xmlns="">"#,
        r#"<q:w xmlns:q="urn:q1" xmlns:xs="urn:xs">"#,
        r#"<w>"#,
    ];
    if unbound {
        tags.push(r#"<z:e>"#);
        wrappers.push(r#"<w xmlns:z="urn:z">"#);
    }
    let mut state = seed;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % n as u64).unwrap()
    };
    let name = |tag: &str| tag[1..].split([' ', '>']).next().unwrap().to_owned();
    let mut docs = Vec::with_capacity(count);
    for _ in 0..count {
        let mut xml = String::from(r#"<r xmlns:p="urn:p0" xmlns:q="urn:q0">"#);
        let mut open: Vec<String> = Vec::new();
        for _ in 0..rand(40) {
            match rand(4) {
                0 if !open.is_empty() => {
                    xml.push_str(&format!("</{}>", open.pop().unwrap()));
                }
                1 => {
                    let w = wrappers[rand(wrappers.len())];
                    xml.push_str(w);
                    open.push(name(w));
                }
                _ => {
                    let tag = tags[rand(tags.len())];
                    if rand(2) == 0 {
                        xml.push_str(&tag.replace('>', "/>"));
                    } else {
                        xml.push_str(tag);
                        xml.push('t');
                        open.push(name(tag));
                    }
                }
            }
        }
        while let Some(n) = open.pop() {
            xml.push_str(&format!("</{n}>"));
        }
        xml.push_str("</r>");
        docs.push(xml);
    }
    docs
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::{Scope, check_tag_cache, generated_documents, short_key};
    use crate::xml::{Document, ParseOptions};

    #[test]
    fn short_keys_are_distinct_for_distinct_prefixes() {
        let prefixes = [
            "", "a", "b", "ab", "ba", "a\0", "saml2", "saml2p", "xsi", "abcdefg",
        ];
        let keys: Vec<u64> = prefixes.iter().map(|p| short_key(p).unwrap()).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(k), "{:?}", prefixes[i]);
        }
        assert_eq!(short_key("abcdefgh"), None);
    }

    #[test]
    fn prefixes_resolve_beyond_the_short_list() {
        // More short prefixes than the list holds, and long ones: every one resolves to its own
        // namespace, declared or looked up in any order.
        let n = Scope::SHORT_CAP * 2;
        let mut xml = String::from("<r");
        for i in 0..n {
            xml.push_str(&format!(" xmlns:p{i}=\"urn:{i}\""));
        }
        xml.push('>');
        for i in (0..n).rev() {
            xml.push_str(&format!(
                "<p{i}:e xmlns:long-prefix-{i}=\"urn:long:{i}\" long-prefix-{i}:a=\"{i}\"/>"
            ));
        }
        xml.push_str("</r>");
        let doc = Document::parse(xml.as_bytes()).unwrap();
        let children: Vec<_> = doc.root().child_elements().collect();
        assert_eq!(children.len(), n);
        for (k, e) in children.iter().enumerate() {
            let i = n - 1 - k;
            assert_eq!(e.namespace(), Some(format!("urn:{i}").as_str()));
            assert_eq!(
                e.attribute_ns(&format!("urn:long:{i}"), "a"),
                Some(i.to_string().as_str())
            );
        }
        // An undeclared short prefix is still refused once the list is full.
        let undeclared = xml.replace("<p0:e ", "<q0:e ");
        assert!(Document::parse(undeclared.as_bytes()).is_err());
    }

    #[test]
    fn the_tag_cache_parses_the_bench_responses_as_without_it() {
        for name in ["response_small", "response_large"] {
            let path = format!(
                "{}/tests/fixtures/bench/{name}.xml",
                env!("CARGO_MANIFEST_DIR")
            );
            let xml = std::fs::read(path).unwrap();
            check_tag_cache(&xml, &ParseOptions::default()).unwrap();
        }
    }

    #[test]
    fn the_tag_cache_follows_the_bindings_around_a_repeated_tag() {
        let docs = [
            // The default namespace changes, and is undeclared.
            r#"<r xmlns="urn:a"><e a="1"/><x xmlns="urn:b"><e a="1"/></x><e a="1"/><y xmlns=""><e a="1"/></y></r>"#,
            // A prefix rebound around the same tag, for the element and for an attribute.
            r#"<r xmlns:p="urn:1"><p:e p:a="1"/><s xmlns:p="urn:2"><p:e p:a="1"/><e p:a="1"/></s><p:e p:a="1"/><e p:a="1"/></r>"#,
            // The tag declares its own prefix: the outside binding does not matter.
            r#"<r><p:e xmlns:p="urn:1" p:a="x"/><q xmlns:p="urn:2"><p:e xmlns:p="urn:1" p:a="x"/></q></r>"#,
            // The second occurrence's prefix is no longer bound: refused as without the cache.
            r#"<r><a xmlns:p="urn:1"><p:e/></a><p:e/></r>"#,
            r#"<r><a xmlns:p="urn:1"><e p:x="1"/></a><e p:x="1"/></r>"#,
            // A repeated ID is a duplicate every time.
            r#"<r><e ID="_1"/><e ID="_1"/></r>"#,
            // Empty and non-empty forms, and the xml prefix.
            r#"<r><e xml:lang="en">t</e><e xml:lang="en"/><e xml:lang="en">u</e></r>"#,
            // More outside prefixes than a cached tag records.
            r#"<r xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c" xmlns:d="urn:d" xmlns:f="urn:f"><a:e b:x="1" c:x="1" d:x="1" f:x="1"/><g xmlns:f="urn:g"><a:e b:x="1" c:x="1" d:x="1" f:x="1"/></g></r>"#,
            // Same slot, other names; same name, other attribute values.
            r#"<r><ab/><ba/><ab x="1"/><ab x="2"/><ab x="1"/><ab/></r>"#,
            // Values that needed decoding are shared as decoded.
            r#"<r><e a="x&amp;y&#10;z"/><e a="x&amp;y&#10;z"/></r>"#,
            // A duplicate declaration or attribute is refused the first time already.
            r#"<r><e xmlns:p="urn:1" xmlns:p="urn:1"/></r>"#,
        ];
        for doc in docs {
            check_tag_cache(doc.as_bytes(), &ParseOptions::default()).unwrap();
        }
        // The repeated tag is resolved in each place as its bindings say.
        let d = Document::parse(docs[1].as_bytes()).unwrap();
        let es: Vec<_> = d.root().child_elements().collect();
        assert_eq!(es[0].namespace(), Some("urn:1"));
        let inner: Vec<_> = es[1].child_elements().collect();
        assert_eq!(inner[0].namespace(), Some("urn:2"));
        assert_eq!(inner[1].attribute_ns("urn:2", "a"), Some("1"));
        assert_eq!(es[2].namespace(), Some("urn:1"));
        assert_eq!(es[3].attribute_ns("urn:1", "a"), Some("1"));
        assert!(Document::parse(docs[3].as_bytes()).is_err());
        assert!(Document::parse(docs[5].as_bytes()).is_err());
    }

    #[test]
    fn the_tag_cache_keeps_the_limits() {
        use crate::xml::Limits;
        let deep = "<r><e a='1'><e a='1'><e a='1'><e a='1'/></e></e></e></r>";
        for limits in [
            Limits::default().with_max_depth(4),
            Limits::default().with_max_nodes(4),
        ] {
            let opts = ParseOptions::default().with_limits(limits);
            check_tag_cache(deep.as_bytes(), &opts).unwrap();
            assert!(Document::parse_with(deep.as_bytes(), &opts).is_err());
        }
    }

    #[test]
    fn the_tag_cache_agrees_on_generated_documents() {
        // Every document must parse (or fail) exactly as without the cache.
        let (mut ok, mut refused) = (0, 0);
        for xml in generated_documents(0x2545_f491_4f6c_dd1d, 3000, true) {
            check_tag_cache(xml.as_bytes(), &ParseOptions::default()).unwrap();
            if Document::parse(xml.as_bytes()).is_ok() {
                ok += 1;
            } else {
                refused += 1;
            }
        }
        // Both outcomes occur: documents that resolve, and some that use `z` where it is unbound.
        assert!(ok > 500 && refused > 100, "{ok} {refused}");
    }

    #[test]
    fn repeated_attribute_values_share_one_tag_between_distinct_attributes() {
        // Each Attribute start tag is new (its own Name); the AttributeValue tag repeats. Whatever
        // slots the two names hash to, every AttributeValue after the first reuses the first.
        for p in ["", "saml:", "saml2:", "a:", "ns2:"] {
            let decl = if p.is_empty() {
                r#"xmlns="urn:oasis:names:tc:SAML:2.0:assertion""#.to_owned()
            } else {
                format!(
                    r#"xmlns:{}="urn:oasis:names:tc:SAML:2.0:assertion""#,
                    p.trim_end_matches(':')
                )
            };
            let mut xml = format!("<{p}AttributeStatement {decl}>");
            for i in 0..40 {
                xml.push_str(&format!(
                    "<{p}Attribute Name=\"attr{i}\"><{p}AttributeValue \
                     xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                     xsi:type=\"xs:string\">v{i}</{p}AttributeValue></{p}Attribute>"
                ));
            }
            xml.push_str(&format!("</{p}AttributeStatement>"));
            let doc = Document::parse(xml.as_bytes()).unwrap();
            let classes: Vec<u32> = doc
                .root()
                .child_elements()
                .flat_map(|a| a.child_elements().collect::<Vec<_>>())
                .map(|v| doc.element_data(v.id()).unwrap().tag)
                .collect();
            assert_eq!(classes.len(), 40);
            assert!(classes.iter().all(|&c| c == classes[0]), "{p}: {classes:?}");
            check_tag_cache(xml.as_bytes(), &ParseOptions::default()).unwrap();
        }
    }
}
