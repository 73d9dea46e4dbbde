//! The attribute list of a start tag, split as XML 1.0 section 3.1 writes it:
//! `(S Attribute)* S? ('>' | '/>')` with `Attribute ::= Name S? '=' S? AttValue` and `AttValue`
//! quoted with `"` or `'`. Values are returned raw (references unresolved); names are checked by
//! the caller.
//!
//! The lexer runs over the document text from the end of the element name and finds the end of
//! the tag itself (a `>` inside a quoted value does not end it), so a start tag is read once. The
//! same scan that finds a value's closing quote also says whether the value needs decoding: a
//! value of printable ASCII without `&` or `<` is used as written, without a second pass or copy.
//! Attributes run together without white space (`a="1"b="2"`) are not well-formed and refused.

use super::scan;

/// One attribute: its name, its raw value, and whether the value is plain (printable ASCII with
/// no `&` or `<`: nothing to decode, normalize or check).
pub(crate) struct RawAttr<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
    pub(crate) plain: bool,
    /// Quoted with `"` (so a plain value holds no `"` either).
    pub(crate) double_quoted: bool,
}

/// Where the list ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A start tag: the list ends at `>` or `/>`.
    Tag,
    /// The pseudo-attributes of an XML declaration: the list ends with the text.
    Bounded,
}

/// Iterator over attributes; yields one error and then stops.
pub(crate) struct AttrLexer<'a> {
    text: &'a str,
    pos: usize,
    mode: Mode,
    done: bool,
    /// In [`Mode::Tag`], once the list ended: the offset just after the tag, and whether it was
    /// an empty-element tag (`/>`).
    end: Option<(usize, bool)>,
}

impl<'a> AttrLexer<'a> {
    /// The attributes of the start tag whose name ends at `from` in `text` (the whole document).
    pub(crate) fn in_tag(text: &'a str, from: usize) -> Self {
        AttrLexer {
            text,
            pos: from,
            mode: Mode::Tag,
            done: false,
            end: None,
        }
    }

    /// The attributes in `text`, which holds nothing else (an XML declaration's content).
    pub(crate) fn bounded(text: &'a str) -> Self {
        AttrLexer {
            text,
            pos: 0,
            mode: Mode::Bounded,
            done: false,
            end: None,
        }
    }

    /// After the iterator returned `None` in a start tag: the offset just after the tag and
    /// whether it was an empty-element tag.
    pub(crate) fn tag_end(&self) -> Option<(usize, bool)> {
        self.end
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.text.as_bytes().get(i).copied()
    }

    fn skip_space(&mut self) {
        while self
            .byte(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.pos += 1;
        }
    }

    fn lex(&mut self) -> Option<Result<RawAttr<'a>, &'static str>> {
        let before = self.pos;
        self.skip_space();
        match (self.mode, self.byte(self.pos)) {
            (Mode::Bounded, None) => return None,
            (Mode::Tag, None) => return Some(Err("unterminated start tag")),
            (Mode::Tag, Some(b'>')) => {
                self.end = Some((self.pos + 1, false));
                return None;
            }
            (Mode::Tag, Some(b'/')) => {
                if self.byte(self.pos + 1) != Some(b'>') {
                    return Some(Err("expected '>' after '/' in a start tag"));
                }
                self.end = Some((self.pos + 2, true));
                return None;
            }
            _ => {}
        }
        if self.pos == before {
            return Some(Err("attributes must be separated by white space"));
        }
        let bytes = self.text.as_bytes();
        let name_start = self.pos;
        // The name ends at '=', white space, or the end of the tag; control characters end it
        // too and then fail below.
        let name_end = scan::find(
            bytes,
            name_start,
            |w| {
                scan::eq_mask(w, b'=')
                    | scan::below_mask(w, 0x21)
                    | scan::eq_mask(w, b'>')
                    | scan::eq_mask(w, b'/')
                    != 0
            },
            |b| b == b'=' || b <= 0x20 || b == b'>' || b == b'/',
        )
        .unwrap_or(bytes.len());
        if name_end == name_start {
            return Some(Err("attribute without a name"));
        }
        self.pos = name_end;
        self.skip_space();
        if self.byte(self.pos) != Some(b'=') {
            return Some(Err("expected '=' after an attribute name"));
        }
        self.pos += 1;
        self.skip_space();
        let quote = match self.byte(self.pos) {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return Some(Err("attribute values must be quoted")),
        };
        let value_start = self.pos + 1;
        // One scan finds the closing quote or, first, a byte that needs decoding.
        let special = |b: u8| !(0x20..0x7f).contains(&b) || b == b'&' || b == b'<';
        let first = scan::find(
            bytes,
            value_start,
            |w| {
                scan::eq_mask(w, quote)
                    | scan::below_mask(w, 0x20)
                    | scan::above_tilde_mask(w)
                    | scan::eq_mask(w, b'&')
                    | scan::eq_mask(w, b'<')
                    != 0
            },
            |b| b == quote || special(b),
        );
        let (value_end, plain) = match first {
            Some(i) if bytes.get(i) == Some(&quote) => (i, true),
            Some(i) => match scan::find(bytes, i, |w| scan::has_byte(w, quote), |b| b == quote) {
                Some(end) => (end, false),
                None => return Some(Err("unterminated attribute value")),
            },
            None => return Some(Err("unterminated attribute value")),
        };
        self.pos = value_end + 1;
        // Every split point is an ASCII delimiter, hence a character boundary.
        match (
            self.text.get(name_start..name_end),
            self.text.get(value_start..value_end),
        ) {
            (Some(name), Some(value)) => Some(Ok(RawAttr {
                name,
                value,
                plain,
                double_quoted: quote == b'"',
            })),
            _ => Some(Err("attribute split inside a character")),
        }
    }
}

impl<'a> Iterator for AttrLexer<'a> {
    type Item = Result<RawAttr<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.lex();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::AttrLexer;

    type Lexed<'a> = Result<(Vec<(&'a str, &'a str, bool)>, usize, bool), &'static str>;

    /// Lexes the attributes of a start tag whose name is everything up to the first space.
    fn lex(tag: &str) -> Lexed<'_> {
        let from = tag.find([' ', '\t', '\n', '/', '>']).unwrap_or(tag.len());
        let mut it = AttrLexer::in_tag(tag, from);
        let mut out = Vec::new();
        for a in it.by_ref() {
            let a = a?;
            out.push((a.name, a.value, a.plain));
        }
        let (end, empty) = it.tag_end().unwrap();
        Ok((out, end, empty))
    }

    fn pairs(tag: &str) -> Vec<(&str, &str)> {
        lex(tag)
            .unwrap()
            .0
            .into_iter()
            .map(|(n, v, _)| (n, v))
            .collect()
    }

    #[test]
    fn splits_well_formed_attribute_lists() {
        assert_eq!(lex("t>rest"), Ok((vec![], 2, false)));
        assert_eq!(lex("t/>"), Ok((vec![], 3, true)));
        assert_eq!(lex("t  \n>"), Ok((vec![], 5, false)));
        assert_eq!(
            pairs("t a=\"1\" b='2'\t c \r\n = \"x'y\" d=\"\" >"),
            [("a", "1"), ("b", "2"), ("c", "x'y"), ("d", "")]
        );
        assert_eq!(
            lex("t xmlns:p=\"urn:p\" p:q=\"&amp;&#10;é>\"/>after"),
            Ok((
                vec![("xmlns:p", "urn:p", true), ("p:q", "&amp;&#10;é>", false)],
                39,
                true
            ))
        );
        // A '>' or "/>" inside a value does not end the tag.
        assert_eq!(pairs("t a=\"/>\" b='>'>"), [("a", "/>"), ("b", ">")]);
        let long = format!("t v=\"{}\">", "x".repeat(1000));
        assert_eq!(lex(&long).unwrap().0[0].1.len(), 1000);
    }

    #[test]
    fn plain_says_whether_a_value_needs_decoding() {
        for (value, plain) in [
            ("urn:oasis:names:tc:SAML:2.0:assertion", true),
            ("", true),
            ("a b ~ }", true),
            ("a&amp;b", false),
            ("a<b", false),
            ("tab\there", false),
            ("line\nbreak", false),
            ("é", false),
            ("\u{7f}", false),
            (
                "a long plain value that runs over several eight-byte words, then &",
                false,
            ),
        ] {
            let tag = format!("t a=\"{value}\">");
            let lexed = lex(&tag).unwrap().0;
            assert_eq!(lexed, [("a", value, plain)], "{value:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_well_formed() {
        for (input, why) in [
            (
                "t a=\"1\"b=\"2\">",
                "attributes must be separated by white space",
            ),
            ("t =\"1\">", "attribute without a name"),
            ("t a>", "expected '=' after an attribute name"),
            ("t a/>", "expected '=' after an attribute name"),
            ("t a b=\"1\">", "expected '=' after an attribute name"),
            ("t a=1>", "attribute values must be quoted"),
            ("t a=>", "attribute values must be quoted"),
            ("t a=\"1>", "unterminated attribute value"),
            ("t a='1\">", "unterminated attribute value"),
            ("t a=\"1&>", "unterminated attribute value"),
            ("t a\u{1}=\"1\">", "expected '=' after an attribute name"),
            ("t a=\"1\"", "unterminated start tag"),
            ("t", "unterminated start tag"),
            ("t / >", "expected '>' after '/' in a start tag"),
            ("t a=\"1\"/", "expected '>' after '/' in a start tag"),
        ] {
            assert_eq!(lex(input), Err(why), "{input:?}");
        }
        // One error, then nothing.
        let mut it = AttrLexer::in_tag("t a=1 b=\"2\">", 1);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        assert_eq!(it.tag_end(), None);
    }

    #[test]
    fn bounded_lists_end_with_the_text() {
        let lexed: Vec<_> = AttrLexer::bounded(" version=\"1.0\" encoding='UTF-8' ")
            .map(|a| a.map(|a| (a.name, a.value)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(lexed, [("version", "1.0"), ("encoding", "UTF-8")]);
        assert!(AttrLexer::bounded("").next().is_none());
    }

    #[test]
    fn agrees_with_quick_xml_on_what_both_accept() {
        // quick-xml is the reference for splitting; it differs only by accepting attributes run
        // together, which is checked above.
        let cases = [
            " a=\"1\" b='2'",
            " x:y = 'a\"b' z=\"c'd\"",
            "\n\tID=\"_1\"\n\tVersion=\"2.0\"",
            " a=\"\" b=''",
            " k=\"v w\"   ",
            " k=\"a>b\" l='/>'",
        ];
        for case in cases {
            let tag = format!("t{case}");
            let start = quick_xml::events::BytesStart::from_content(tag.as_str(), 1);
            let theirs: Vec<(String, String)> = start
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (a.key.0.to_owned(), a.value.to_string())
                })
                .collect();
            let with_end = format!("{tag}>");
            let ours: Vec<(String, String)> = pairs(&with_end)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(ours, theirs, "{case:?}");
        }
    }
}
