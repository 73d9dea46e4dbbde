//! One IdP out of a metadata aggregate (an `EntitiesDescriptor` such as InCommon's or eduGAIN's,
//! tens of MB and tens of thousands of entities), read as a stream: the aggregate's top-level
//! children are held a batch at a time (about 256 KiB, or one child of up to 8 MiB), parsed by
//! the same hardened parser as everything else.
//!
//! A signed aggregate is verified on the way: the `ds:Signature` (the aggregate's first child,
//! as the metadata schema puts it) is checked against the pinned certificates first, then the
//! following children are canonicalized inside a copy of the aggregate's start tag and digested in
//! order, so the digest is the one of the whole document without ever holding it. The entity
//! found is used only after that digest matched.
//!
//! ```
//! # use saml_sp::metadata::aggregate::{find_idp, AggregateLimits};
//! let xml = br#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
//!   <md:EntityDescriptor entityID="https://other.example"/>
//! </md:EntitiesDescriptor>"#;
//! let err = find_idp(&xml[..], "https://idp.example", &[], chrono::Utc::now(), &AggregateLimits::default())
//!     .unwrap_err();
//! assert_eq!(err.code(), "config_invalid");
//! ```

use std::io::{BufRead, Read};

use chrono::{DateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::idp::{IdpMetadata, default_metadata_limits};
use crate::crypto::{BufferedHasher, Certificate};
use crate::dsig::verify::ReferenceDigest;
use crate::error::Error;
use crate::ns::{DSIG_NS, MD_NS};
use crate::xml::c14n::{self, Subset};
use crate::xml::{Document, Element, ParseOptions};

/// Bounds for reading an aggregate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AggregateLimits {
    /// The largest aggregate read (default 512 MiB).
    pub max_total_bytes: u64,
    /// The largest top-level child of the aggregate (default 8 MiB, as a whole metadata
    /// document); each child is also bounded by the metadata node limits.
    pub max_child_bytes: usize,
}

impl Default for AggregateLimits {
    fn default() -> Self {
        AggregateLimits {
            max_total_bytes: 512 << 20,
            max_child_bytes: 8 << 20,
        }
    }
}

impl AggregateLimits {
    /// The largest aggregate read.
    #[must_use]
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.max_total_bytes = bytes;
        self
    }
    /// The largest top-level child.
    #[must_use]
    pub fn max_child_bytes(mut self, bytes: usize) -> Self {
        self.max_child_bytes = bytes;
        self
    }
}

fn cfg(reason: impl Into<String>) -> Error {
    Error::Config {
        field: "idp_metadata",
        reason: reason.into(),
    }
}

/// Reads the bytes the XML reader consumes into `record` (the current top-level child).
struct Tee<R> {
    inner: R,
    record: Vec<u8>,
    /// Bytes consumed before `record` starts.
    drained: u64,
    max_total: u64,
    /// `record` never grows past this (one child, or the prolog and start tag).
    max_record: usize,
}

impl<R: BufRead> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.record.extend_from_slice(buf.get(..n).unwrap_or(&[]));
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tee<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.drained + self.record.len() as u64 > self.max_total {
            return Err(std::io::Error::other(
                "the aggregate exceeds the size limit",
            ));
        }
        if self.record.len() > self.max_record {
            return Err(std::io::Error::other(format!(
                "expected aggregate children of at most {} bytes, found a larger one",
                self.max_record
            )));
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(b) = self.inner.fill_buf() {
            self.record.extend_from_slice(b.get(..amt).unwrap_or(b));
        }
        self.inner.consume(amt);
    }
}

impl<R> Tee<R> {
    /// The bytes from the last cut up to `position` (the reader's count), cut off.
    fn cut(&mut self, position: u64) -> Result<Vec<u8>, Error> {
        let len = usize::try_from(position.saturating_sub(self.drained))
            .map_err(|_| cfg("an aggregate child too large"))?;
        if len > self.record.len() {
            return Err(cfg("the aggregate reader lost its place"));
        }
        let rest = self.record.split_off(len);
        let taken = std::mem::replace(&mut self.record, rest);
        self.drained += len as u64;
        Ok(taken)
    }
}

/// The aggregate's start and end tags, and the canonical form of the start tag.
struct Frame {
    start: Vec<u8>,
    end: Vec<u8>,
}

impl Frame {
    /// `<root ...>` + `child` + `</root>`: a well-formed document holding one child in the same
    /// namespace context and under the same attributes as in the aggregate.
    fn wrap(&self, child: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.start.len() + child.len() + self.end.len());
        v.extend_from_slice(&self.start);
        v.extend_from_slice(child);
        v.extend_from_slice(&self.end);
        v
    }
}

/// The largest aggregate start tag (a real one is well under 1 KiB).
const MAX_START_TAG: usize = 64 << 10;

/// Parsing a batch: the metadata limits, with room for a batch of small children plus one
/// child of the largest allowed size.
fn parse_options(limits: &AggregateLimits) -> ParseOptions {
    let base = default_metadata_limits();
    let bytes = limits
        .max_child_bytes
        .saturating_add(BATCH_BYTES + 2 * MAX_START_TAG)
        .max(base.max_input_bytes);
    ParseOptions::default()
        .with_limits(base.with_max_input_bytes(bytes))
        .forbidding_processing_instructions()
}

/// Canonical bytes of the children inside `doc`'s root (without the root's own tags, and
/// without `exclude`), for the digest: the aggregate's canonical form is its start tag, the
/// concatenation of these, and its end tag.
fn canonical_inside(
    doc: &Document,
    exclude: Option<crate::xml::NodeId>,
    r: &ReferenceDigest<'_>,
    prefix: &[u8],
    suffix: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    c14n::canonicalize(
        doc,
        Subset::Element {
            apex: doc.root().id(),
            exclude,
        },
        r.c14n,
        &r.prefixes,
        &mut out,
    )
    .map_err(|e| cfg(format!("aggregate canonicalization: {e}")))?;
    out.strip_prefix(prefix)
        .and_then(|o| o.strip_suffix(suffix))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| cfg("an aggregate child changed its parent's canonical form"))
}

/// Whether `doc` (a wrapped child) holds the IdP `entity_id`.
fn holds(doc: &Document, entity_id: &str) -> bool {
    let mut stack: Vec<Element<'_>> = doc.root().child_elements().collect();
    while let Some(e) = stack.pop() {
        if e.is(MD_NS, "EntitiesDescriptor") {
            stack.extend(e.child_elements());
        } else if e.is(MD_NS, "EntityDescriptor") && e.attribute("entityID") == Some(entity_id) {
            return e.child_elements().any(|c| c.is(MD_NS, "IDPSSODescriptor"));
        }
    }
    false
}

/// The streaming reader's state between top-level children.
struct Stream<R: BufRead> {
    reader: Reader<Tee<R>>,
    buf: Vec<u8>,
    depth: usize,
    max_child: usize,
    done: bool,
}

/// Children are canonicalized in batches of at least this many bytes (and at least four times
/// the aggregate's start tag, which each batch repeats): the repeated start tag costs at most a
/// constant factor however small the children are.
const BATCH_BYTES: usize = 256 << 10;

impl<R: BufRead> Stream<R> {
    /// The next top-level children, concatenated up to the batch size; `None` at the end.
    fn next_batch(&mut self, start_tag: usize) -> Result<Option<Vec<u8>>, Error> {
        let target = BATCH_BYTES.max(start_tag.saturating_mul(4));
        let Some(mut batch) = self.next_child()? else {
            return Ok(None);
        };
        while batch.len() < target {
            match self.next_child()? {
                Some(more) => batch.extend_from_slice(&more),
                None => break,
            }
        }
        Ok(Some(batch))
    }

    /// The next top-level child of the aggregate with the text before it (or, at the end, the
    /// text before the end tag), as bytes; `None` after the aggregate's end tag.
    fn next_child(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.done {
            return Ok(None);
        }
        loop {
            let before = self.reader.buffer_position();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| cfg(format!("malformed aggregate at byte {before}: {e}")))?;
            let at_end = match event {
                Event::Start(_) => {
                    self.depth += 1;
                    false
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        // The aggregate's own end tag: the text before it is the last piece.
                        let text = self.reader.get_mut().cut(before)?;
                        let after = self.reader.buffer_position();
                        self.reader.get_mut().cut(after)?;
                        self.done = true;
                        self.drain_trailer()?;
                        return Ok(Some(text));
                    }
                    self.depth == 1
                }
                Event::Empty(_) => self.depth == 1,
                Event::DocType(_) => return Err(cfg("a DOCTYPE in metadata")),
                Event::Eof => return Err(cfg("the aggregate ends before its end tag")),
                _ => false,
            };
            self.buf.clear();
            let pending = self.reader.get_ref().record.len();
            if pending > self.max_child {
                return Err(cfg(format!(
                    "expected aggregate children of at most {} bytes, found a larger one",
                    self.max_child
                )));
            }
            if at_end {
                let pos = self.reader.buffer_position();
                return self.reader.get_mut().cut(pos).map(Some);
            }
        }
    }

    /// After the end tag: only comments, whitespace and processing instructions may follow.
    fn drain_trailer(&mut self) -> Result<(), Error> {
        loop {
            self.buf.clear();
            let pos = self.reader.buffer_position();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Eof) => return Ok(()),
                Ok(Event::Comment(_)) => {}
                Ok(Event::Text(t)) if t.as_ref().bytes().all(|b| b.is_ascii_whitespace()) => {}
                Ok(_) | Err(_) => {
                    return Err(cfg(format!(
                        "content after the aggregate's end tag at byte {pos}"
                    )));
                }
            }
            let p = self.reader.buffer_position();
            self.reader.get_mut().cut(p)?;
        }
    }
}

/// What [`walk`] hands each batch to: the parsed batch and its wrapped bytes.
type Visitor<'v> = dyn FnMut(&Document, &[u8]) -> Result<(), Error> + 'v;

/// What walking a metadata document found: a single `EntityDescriptor` (held whole, small) or
/// an aggregate whose batches were handed to the visitor (and whose signature, when pinned,
/// verified over all of them).
enum Walked {
    Single(Vec<u8>),
    Aggregate,
}

/// Reads metadata from `reader` holding one batch of top-level children at a time, handing each
/// batch (parsed, and its bytes wrapped in the aggregate's start and end tags) to `visit`. With
/// `pinned` certificates the aggregate's signature must verify with one of them (the digest is
/// computed over the stream), and nothing `visit` kept may be used unless this returns `Ok`.
fn walk<R: BufRead>(
    mut reader: R,
    pinned: &[Certificate],
    limits: &AggregateLimits,
    visit: &mut Visitor<'_>,
) -> Result<Walked, Error> {
    // A UTF-8 byte order mark (Entra ID's metadata has one) is not part of the document; the
    // XML reader would skip it without counting it.
    if reader
        .fill_buf()
        .is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF"))
    {
        reader.consume(3);
    }
    let tee = Tee {
        inner: reader,
        record: Vec::new(),
        drained: 0,
        max_total: limits.max_total_bytes,
        max_record: limits.max_child_bytes,
    };
    let mut reader = Reader::from_reader(tee);
    {
        let c = reader.config_mut();
        c.check_end_names = true;
        c.expand_empty_elements = false;
        c.trim_text(false);
    }
    let mut buf = Vec::new();
    // Up to the document element.
    let frame = loop {
        buf.clear();
        let before = reader.buffer_position();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let mut end = b"</".to_vec();
                end.extend_from_slice(e.name().into_inner().as_bytes());
                end.push(b'>');
                let _prolog = reader.get_mut().cut(before)?;
                let pos = reader.buffer_position();
                break Frame {
                    start: reader.get_mut().cut(pos)?,
                    end,
                };
            }
            Ok(Event::Empty(_)) | Ok(Event::Eof) => {
                return Err(cfg("no EntityDescriptor in the metadata"));
            }
            Ok(Event::DocType(_)) => return Err(cfg("a DOCTYPE in metadata")),
            Ok(_) => {}
            Err(e) => return Err(cfg(format!("malformed metadata: {e}"))),
        }
        if reader.get_ref().record.len() > limits.max_child_bytes {
            return Err(cfg("a metadata prolog larger than the child limit"));
        }
    };
    if frame.start.len() > MAX_START_TAG {
        return Err(cfg(format!(
            "expected a metadata start tag of at most {MAX_START_TAG} bytes, found {}",
            frame.start.len()
        )));
    }
    let popts = parse_options(limits);
    let root_doc = Document::parse_with(&frame.wrap(b""), &popts)?;
    let is_aggregate = root_doc.root().is(MD_NS, "EntitiesDescriptor");
    let mut stream = Stream {
        reader,
        buf,
        depth: 1,
        max_child: limits.max_child_bytes,
        done: false,
    };
    if !is_aggregate {
        // A single EntityDescriptor: small enough to hold whole.
        let mut body = frame.start.clone();
        while let Some(piece) = stream.next_child()? {
            body.extend_from_slice(&piece);
            if body.len() > limits.max_child_bytes {
                return Err(cfg("a metadata document larger than the limit"));
            }
        }
        body.extend_from_slice(&frame.end);
        return Ok(Walked::Single(body));
    }

    let tag = frame.start.len();
    // The first child alone: the signature, checked before anything else is read.
    let first = stream.next_child()?.unwrap_or_default();
    let first_doc = Document::parse_with(&frame.wrap(&first), &popts)?;
    let signature = first_doc
        .root()
        .child_elements()
        .next()
        .filter(|e| e.is(DSIG_NS, "Signature"));
    if pinned.is_empty() {
        visit(&first_doc, &frame.wrap(&first))?;
        while let Some(piece) = stream.next_batch(tag)? {
            let wrapped = frame.wrap(&piece);
            let doc = Document::parse_with(&wrapped, &popts)?;
            visit(&doc, &wrapped)?;
        }
        return Ok(Walked::Aggregate);
    }
    if signature.is_none() {
        return Err(Error::SignatureMissing {
            expected: "the metadata aggregate (a ds:Signature as its first child)".into(),
        });
    }
    let verify = crate::dsig::VerifyOptions {
        certificates: pinned,
        allow_legacy_crypto: false,
    };
    let mut digest_of = |r: &ReferenceDigest<'_>| -> Result<Vec<u8>, Error> {
        // The canonical start and end tags, as in the whole document.
        let mut outer = Vec::new();
        c14n::canonicalize(
            &root_doc,
            Subset::Element {
                apex: root_doc.root().id(),
                exclude: None,
            },
            r.c14n,
            &r.prefixes,
            &mut outer,
        )
        .map_err(|e| cfg(format!("aggregate canonicalization: {e}")))?;
        let close = format!("</{}>", root_doc.root().qname()).into_bytes();
        let open = outer
            .strip_suffix(close.as_slice())
            .ok_or_else(|| cfg("an aggregate start tag without its canonical end"))?
            .to_vec();
        let mut h = BufferedHasher::new(r.digest);
        use crate::xml::c14n::Sink as _;
        h.write(&open);
        h.write(&canonical_inside(
            &first_doc,
            Some(r.signature),
            r,
            &open,
            &close,
        )?);
        visit(&first_doc, &frame.wrap(&first))?;
        while let Some(piece) = stream.next_batch(tag)? {
            let wrapped = frame.wrap(&piece);
            let doc = Document::parse_with(&wrapped, &popts)?;
            h.write(&canonical_inside(&doc, None, r, &open, &close)?);
            visit(&doc, &wrapped)?;
        }
        h.write(&close);
        Ok(h.finish())
    };
    crate::dsig::verify::verify_enveloped_with(
        first_doc.root(),
        "EntitiesDescriptor",
        &verify,
        &mut digest_of,
    )?;
    Ok(Walked::Aggregate)
}

/// Finds the IdP `entity_id` in the metadata read from `reader` (an `EntitiesDescriptor`, or a
/// single `EntityDescriptor`), holding one batch of top-level children at a time. With `pinned`
/// certificates, the document's signature must verify with one of them (the digest is computed
/// over the stream); without, the document is trusted as the caller received it (https).
///
/// # Errors
/// [`Error::Config`] (`idp_metadata`) for malformed input, size limits, or no such IdP;
/// [`Error::SignatureMissing`] when `pinned` is non-empty and the document is unsigned;
/// signature errors; [`Error::MetadataExpired`] when its `validUntil` is at or before `now`.
pub fn find_idp<R: BufRead>(
    reader: R,
    entity_id: &str,
    pinned: &[Certificate],
    now: DateTime<Utc>,
    limits: &AggregateLimits,
) -> Result<IdpMetadata, Error> {
    let mut found: Option<Vec<u8>> = None;
    let walked = walk(reader, pinned, limits, &mut |doc, bytes| {
        if found.is_none() && holds(doc, entity_id) {
            found = Some(bytes.to_vec());
        }
        Ok(())
    })?;
    let md = match walked {
        Walked::Single(body) if pinned.is_empty() => IdpMetadata::parse(&body, Some(entity_id))?,
        Walked::Single(body) => IdpMetadata::parse_verified(&body, Some(entity_id), pinned, now)?,
        Walked::Aggregate => {
            let entity = found.ok_or_else(|| {
                cfg(format!(
                    "no IdP EntityDescriptor with entityID {entity_id:?}"
                ))
            })?;
            IdpMetadata::parse(&entity, Some(entity_id))?
        }
    };
    md.check_valid_at(now)?;
    Ok(md)
}

/// Which IdPs of an aggregate to keep.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IdpFilter {
    /// Only IdPs registered by one of these authorities (`mdrpi:RegistrationInfo
    /// @registrationAuthority`); empty: any.
    pub registration_authorities: Vec<String>,
    /// Only IdPs with one of these entity categories (`mdattr:EntityAttributes`, attribute
    /// `http://macedir.org/entity-category` or `...-support`); empty: any.
    pub entity_categories: Vec<String>,
}

const MDRPI_NS: &str = "urn:oasis:names:tc:SAML:metadata:rpi";
const MDATTR_NS: &str = "urn:oasis:names:tc:SAML:metadata:attribute";
const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

impl IdpFilter {
    fn keeps(&self, entity: Element<'_>) -> bool {
        let extensions = || {
            entity
                .child_elements()
                .filter(|c| c.is(MD_NS, "Extensions"))
                .flat_map(|x| x.child_elements())
        };
        let authority_ok = self.registration_authorities.is_empty()
            || extensions()
                .filter(|e| e.is(MDRPI_NS, "RegistrationInfo"))
                .filter_map(|e| e.attribute("registrationAuthority"))
                .any(|a| self.registration_authorities.iter().any(|r| r == a));
        let category_ok = self.entity_categories.is_empty()
            || extensions()
                .filter(|e| e.is(MDATTR_NS, "EntityAttributes"))
                .flat_map(|e| e.child_elements())
                .filter(|a| a.is(SAML_NS, "Attribute"))
                .filter(|a| {
                    a.attribute("Name").is_some_and(|n| {
                        n == "http://macedir.org/entity-category"
                            || n == "http://macedir.org/entity-category-support"
                    })
                })
                .flat_map(|a| a.child_elements())
                .any(|v| {
                    let t = v.text();
                    self.entity_categories.iter().any(|c| c == t.trim())
                });
        authority_ok && category_ok
    }
}

/// Every IdP of an aggregate, by entity ID, read in one pass.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IdpIndex {
    /// The IdPs kept, sorted by entity ID.
    pub idps: Vec<IdpMetadata>,
    /// IdP entities that could not be read (entity ID, error code); the rest are kept.
    pub skipped: Vec<(String, &'static str)>,
    /// Entities that were not IdPs, or that the filter left out.
    pub ignored: usize,
}

impl IdpIndex {
    /// The IdP `entity_id`.
    pub fn get(&self, entity_id: &str) -> Option<&IdpMetadata> {
        self.idps
            .binary_search_by(|m| m.entity_id().cmp(entity_id))
            .ok()
            .and_then(|i| self.idps.get(i))
    }
}

/// Reads every IdP of the metadata from `reader` in one pass, a batch of top-level children at
/// a time (no tree of the whole document is ever held; what is kept is each IdP's
/// [`IdpMetadata`]). With `pinned` certificates the aggregate's signature must verify, over the
/// whole stream, before anything is returned. IdPs past their `validUntil` at `now`, and
/// entities `filter` leaves out, are not kept; an IdP entity that cannot be read is listed in
/// [`IdpIndex::skipped`] without failing the others.
///
/// # Errors
/// As [`find_idp`] (except "no such IdP"); [`Error::MetadataExpired`] when the aggregate's own
/// `validUntil` has passed.
pub fn index_idps<R: BufRead>(
    reader: R,
    pinned: &[Certificate],
    filter: &IdpFilter,
    now: DateTime<Utc>,
    limits: &AggregateLimits,
) -> Result<IdpIndex, Error> {
    let mut index = IdpIndex::default();
    let mut visit = |doc: &Document, _: &[u8]| -> Result<(), Error> {
        let root = doc.root();
        let outer = root
            .attribute("validUntil")
            .map(|v| crate::time::parse_instant(v, "validUntil"))
            .transpose()?;
        if outer.is_some_and(|v| v <= now) {
            return Err(Error::MetadataExpired {
                valid_until: crate::time::format_instant(outer.unwrap_or(now)),
                now: crate::time::format_instant(now),
            });
        }
        let mut stack: Vec<(Element<'_>, Option<DateTime<Utc>>)> =
            root.child_elements().map(|c| (c, outer)).collect();
        if root.is(MD_NS, "EntityDescriptor") {
            stack = vec![(root, outer)];
        }
        while let Some((e, valid)) = stack.pop() {
            let own = match e.attribute("validUntil") {
                None => None,
                Some(v) => match crate::time::parse_instant(v, "validUntil") {
                    Ok(t) => Some(t),
                    Err(err) => {
                        index.skipped.push((
                            e.attribute("entityID")
                                .unwrap_or("")
                                .chars()
                                .take(200)
                                .collect(),
                            err.code(),
                        ));
                        continue;
                    }
                },
            };
            let valid = match (valid, own) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if e.is(MD_NS, "EntitiesDescriptor") {
                stack.extend(e.child_elements().map(|c| (c, valid)));
                continue;
            }
            if !e.is(MD_NS, "EntityDescriptor") {
                continue;
            }
            let is_idp = e.child_elements().any(|c| c.is(MD_NS, "IDPSSODescriptor"));
            if !is_idp || !filter.keeps(e) || valid.is_some_and(|v| v <= now) {
                index.ignored += 1;
                continue;
            }
            match IdpMetadata::from_entity(root, e, valid) {
                Ok(md) => index.idps.push(md),
                Err(err) => index.skipped.push((
                    e.attribute("entityID")
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect(),
                    err.code(),
                )),
            }
        }
        Ok(())
    };
    match walk(reader, pinned, limits, &mut visit)? {
        Walked::Aggregate => {}
        Walked::Single(body) => {
            if !pinned.is_empty() {
                // The same signature check as a single document fetched and pinned.
                IdpMetadata::parse_verified(&body, None, pinned, now)?;
            }
            let doc = Document::parse_with(&body, &parse_options(limits))?;
            visit(&doc, &body)?;
        }
    }
    index.idps.sort_by(|a, b| a.entity_id().cmp(b.entity_id()));
    // One entry per entity ID: a duplicate is a publisher's error; the first is kept.
    index.idps.dedup_by(|b, a| a.entity_id() == b.entity_id());
    Ok(index)
}
