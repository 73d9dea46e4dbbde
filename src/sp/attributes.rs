//! The Assertion's attributes, stored once: every `Name`, `NameFormat`, `FriendlyName` and
//! value of a verified Assertion is copied into one string buffer, and the attributes are views
//! into it. An Okta group list of hundreds of values costs a handful of allocations, not one
//! `String` per value (about 6% of the time to validate the 105 KB bench Response).
//!
//! Attributes with the same `Name` are merged into one, in document order: the first occurrence
//! gives the `NameFormat` and `FriendlyName`, and the values of every occurrence follow each
//! other in document order.

use std::fmt;
use std::ops::Range;

use crate::xml::fast_map::FastMap;

/// Where one attribute's strings lie in [`Attributes`]' buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: Range<usize>,
    name_format: Option<Range<usize>>,
    friendly_name: Option<Range<usize>>,
    /// Indexes into [`Attributes::values`].
    values: Range<usize>,
}

/// The attributes of a `VerifiedAssertion`, merged by `Name`, in document order.
///
/// ```
/// # use saml_sp::testkit::{TestIdp, TestUser};
/// # use saml_sp::{IdentityProvider, ServiceProvider};
/// # let idp = TestIdp::fixed("https://idp.example.com");
/// # let trusted = IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()])?;
/// # let sp = ServiceProvider::builder("https://sp.example.com/saml/metadata",
/// #     "https://sp.example.com/saml/acs", trusted).build()?;
/// # let now = saml_sp::time::parse_instant("2026-11-23T07:28:58Z", "now")?;
/// # let user = TestUser::new("ada@example.com").groups(["admins", "staff"]);
/// # let xml = idp.response(sp.entity_id(), sp.acs_url()).in_response_to("_req1")
/// #     .user(user).build(now)?;
/// let assertion = sp.validate_response(xml.as_bytes(), Some("_req1"), now)?;
/// assert_eq!(assertion.attribute("groups"), ["admins", "staff"]);
/// for attribute in assertion.attributes() {
///     println!("{} = {:?}", attribute.name(), attribute.values());
/// }
/// let groups: Vec<String> = assertion.attribute("groups").map(str::to_owned).collect();
/// assert_eq!(groups, ["admins", "staff"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    /// Every name, format, friendly name and value, back to back.
    text: String,
    /// One per distinct `Name`, in the order of first appearance.
    entries: Vec<Entry>,
    /// Value ranges in `text`, each attribute's together, in document order.
    values: Vec<Range<usize>>,
}

impl Attributes {
    /// How many distinct attribute `Name`s there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the Assertion had no attributes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes, in the order their names first appear.
    pub fn iter(&self) -> AttributesIter<'_> {
        AttributesIter {
            set: self,
            entries: self.entries.iter(),
        }
    }

    /// The attribute named exactly `name`, if present.
    pub fn get(&self, name: &str) -> Option<Attribute<'_>> {
        self.iter().find(|a| a.name() == name)
    }

    /// The values of the attribute named exactly `name` (none when it is absent).
    pub fn values(&self, name: &str) -> Values<'_> {
        self.get(name).map_or(
            Values {
                text: &self.text,
                spans: [].iter(),
            },
            |a| a.values(),
        )
    }

    fn text(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = Attribute<'a>;
    type IntoIter = AttributesIter<'a>;
    fn into_iter(self) -> AttributesIter<'a> {
        self.iter()
    }
}

/// The attributes of an [`Attributes`], in order.
#[derive(Debug, Clone)]
pub struct AttributesIter<'a> {
    set: &'a Attributes,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for AttributesIter<'a> {
    type Item = Attribute<'a>;
    fn next(&mut self) -> Option<Attribute<'a>> {
        let set = self.set;
        self.entries.next().map(|entry| Attribute { set, entry })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for AttributesIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let set = self.set;
        self.entries
            .next_back()
            .map(|entry| Attribute { set, entry })
    }
}

impl ExactSizeIterator for AttributesIter<'_> {}
impl std::iter::FusedIterator for AttributesIter<'_> {}

/// One SAML attribute: its `Name`, the first occurrence's `NameFormat` and `FriendlyName`, and
/// every value of every `Attribute` with that `Name`, in document order.
#[derive(Clone, Copy)]
pub struct Attribute<'a> {
    set: &'a Attributes,
    entry: &'a Entry,
}

impl<'a> Attribute<'a> {
    /// `Name`.
    pub fn name(&self) -> &'a str {
        self.set.text(&self.entry.name)
    }

    /// `NameFormat`, if present.
    pub fn name_format(&self) -> Option<&'a str> {
        self.entry.name_format.as_ref().map(|r| self.set.text(r))
    }

    /// `FriendlyName`, if present.
    pub fn friendly_name(&self) -> Option<&'a str> {
        self.entry.friendly_name.as_ref().map(|r| self.set.text(r))
    }

    /// Every `AttributeValue`'s whole text, in document order.
    pub fn values(&self) -> Values<'a> {
        Values {
            text: &self.set.text,
            spans: self
                .set
                .values
                .get(self.entry.values.clone())
                .unwrap_or_default()
                .iter(),
        }
    }
}

impl fmt::Debug for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name())
            .field("name_format", &self.name_format())
            .field("friendly_name", &self.friendly_name())
            .field("values", &self.values())
            .finish()
    }
}

impl PartialEq for Attribute<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
            && self.name_format() == other.name_format()
            && self.friendly_name() == other.friendly_name()
            && self.values() == other.values()
    }
}

impl Eq for Attribute<'_> {}

/// An attribute's values, in document order.
///
/// Compares equal to an array or slice of the same strings in the same order.
#[derive(Clone)]
pub struct Values<'a> {
    text: &'a str,
    spans: std::slice::Iter<'a, Range<usize>>,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let text = self.text;
        self.spans
            .next()
            .map(|r| text.get(r.clone()).unwrap_or_default())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for Values<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let text = self.text;
        self.spans
            .next_back()
            .map(|r| text.get(r.clone()).unwrap_or_default())
    }
}

impl ExactSizeIterator for Values<'_> {}
impl std::iter::FusedIterator for Values<'_> {}

impl fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.clone().eq(other.clone())
    }
}

impl Eq for Values<'_> {}

impl<S: AsRef<str>> PartialEq<[S]> for Values<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.clone().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Values<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<&[S]> for Values<'_> {
    fn eq(&self, other: &&[S]) -> bool {
        *self == **other
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Values<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

/// Collects attributes while the signed Assertion is read (crate-internal).
pub(crate) struct AttributesBuilder<'d> {
    set: Attributes,
    /// Entry index of each distinct `Name` (borrowed from the document).
    by_name: FastMap<&'d str, usize>,
    /// (entry, value range) in document order.
    pending: Vec<(usize, Range<usize>)>,
    /// Whether some `Name` occurred twice (its values then need regrouping).
    merged: bool,
    /// The entry the next values belong to.
    current: usize,
}

impl<'d> AttributesBuilder<'d> {
    /// A builder with room for `count` attributes.
    pub(crate) fn with_capacity(count: usize) -> Self {
        Self {
            set: Attributes {
                text: String::new(),
                entries: Vec::with_capacity(count),
                values: Vec::new(),
            },
            by_name: FastMap::with_capacity_and_hasher(count, Default::default()),
            pending: Vec::with_capacity(count),
            merged: false,
            current: 0,
        }
    }

    fn push_str(&mut self, s: &str) -> Range<usize> {
        let start = self.set.text.len();
        self.set.text.push_str(s);
        start..self.set.text.len()
    }

    /// Starts an `Attribute` element: the values pushed next belong to `name`.
    pub(crate) fn attribute(
        &mut self,
        name: &'d str,
        name_format: Option<&str>,
        friendly_name: Option<&str>,
    ) {
        match self.by_name.entry(name) {
            std::collections::hash_map::Entry::Occupied(seen) => {
                self.current = *seen.get();
                self.merged = true;
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                self.current = self.set.entries.len();
                slot.insert(self.current);
                let name = self.push_str(name);
                let name_format = name_format.map(|s| self.push_str(s));
                let friendly_name = friendly_name.map(|s| self.push_str(s));
                self.set.entries.push(Entry {
                    name,
                    name_format,
                    friendly_name,
                    values: 0..0,
                });
            }
        }
    }

    /// Adds one value to the current attribute; `write` appends its text to the buffer.
    pub(crate) fn value(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.set.text.len();
        write(&mut self.set.text);
        self.pending
            .push((self.current, start..self.set.text.len()));
    }

    /// The attributes, each one's values grouped in document order.
    pub(crate) fn finish(mut self) -> Attributes {
        if self.merged {
            // Stable: each attribute's values keep their document order.
            self.pending.sort_by_key(|(entry, _)| *entry);
        }
        let mut values = Vec::with_capacity(self.pending.len());
        let mut last = None;
        for (entry, span) in self.pending {
            if let Some(e) = self.set.entries.get_mut(entry) {
                if last != Some(entry) {
                    e.values = values.len()..values.len();
                    last = Some(entry);
                }
                e.values.end += 1;
            }
            values.push(span);
        }
        self.set.values = values;
        self.set
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::{Attributes, AttributesBuilder};

    /// (name, format, friendly, values) of one Attribute element.
    type Element<'a> = (
        &'static str,
        Option<&'a str>,
        Option<&'a str>,
        &'a [&'a str],
    );

    /// The attributes of these Attribute elements, in this order.
    fn build(elements: &[Element<'_>]) -> Attributes {
        let mut b = AttributesBuilder::with_capacity(elements.len());
        for (name, format, friendly, values) in elements {
            b.attribute(name, *format, *friendly);
            for v in *values {
                b.value(|out| out.push_str(v));
            }
        }
        b.finish()
    }

    #[test]
    fn reads_names_formats_and_values_in_document_order() {
        let set = build(&[
            (
                "email",
                Some("urn:basic"),
                Some("Email"),
                &["ada@example.com"],
            ),
            ("groups", None, None, &["admins", "staff", ""]),
            ("empty", None, None, &[]),
        ]);
        assert_eq!(set.len(), 3);
        let names: Vec<&str> = set.iter().map(|a| a.name()).collect();
        assert_eq!(names, ["email", "groups", "empty"]);
        let email = set.get("email").unwrap();
        assert_eq!(email.name_format(), Some("urn:basic"));
        assert_eq!(email.friendly_name(), Some("Email"));
        assert_eq!(email.values(), ["ada@example.com"]);
        assert_eq!(set.values("groups"), ["admins", "staff", ""]);
        assert_eq!(set.values("groups").len(), 3);
        assert_eq!(set.values("groups").next_back(), Some(""));
        assert_eq!(set.values("empty").len(), 0);
        assert_eq!(set.values("absent").len(), 0);
        assert!(set.get("Email").is_none(), "names are compared exactly");
        assert_eq!(set.get("groups").unwrap().name_format(), None);
    }

    #[test]
    fn merges_repeated_names_keeping_document_order_and_the_first_format() {
        let set = build(&[
            ("role", Some("first"), None, &["a", "b"]),
            ("dept", None, None, &["x"]),
            ("role", Some("second"), Some("Role"), &["c"]),
            ("dept", None, None, &["y", "z"]),
            ("role", None, None, &["d"]),
        ]);
        assert_eq!(set.len(), 2);
        let role = set.get("role").unwrap();
        assert_eq!(role.values(), ["a", "b", "c", "d"]);
        assert_eq!(role.name_format(), Some("first"));
        assert_eq!(role.friendly_name(), None);
        assert_eq!(set.values("dept"), vec!["x", "y", "z"]);
        let collected: Vec<Vec<&str>> = set.iter().map(|a| a.values().collect()).collect();
        assert_eq!(collected, [vec!["a", "b", "c", "d"], vec!["x", "y", "z"]]);
    }

    #[test]
    fn compares_and_prints_as_lists() {
        let one = build(&[("a", None, None, &["1", "2"])]);
        let two = build(&[("a", None, None, &["1", "2"])]);
        assert_eq!(one, two);
        assert_eq!(one.get("a"), two.get("a"));
        assert_ne!(one.values("a"), ["1"]);
        assert_ne!(one.values("a"), ["2", "1"]);
        assert_eq!(
            format!("{one:?}"),
            r#"[Attribute { name: "a", name_format: None, friendly_name: None, values: ["1", "2"] }]"#
        );
        assert!(Attributes::default().is_empty());
    }
}
