//! The attribute list of a start tag, split as XML 1.0 section 3.1 writes it:
//! `(S Attribute)* S?` with `Attribute ::= Name S? '=' S? AttValue` and `AttValue` quoted with
//! `"` or `'`. Values are returned raw (references unresolved); names are checked by the caller.
//!
//! quick-xml's own attribute iterator accepts attributes run together without white space
//! (`a="1"b="2"`), which is not well-formed; this one refuses it. It also finds the closing quote
//! eight bytes at a time.

use super::scan;

/// Iterator over `(name, raw value)` pairs; yields one error and then stops.
pub(crate) struct AttrLexer<'a> {
    text: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> AttrLexer<'a> {
    /// `text` is everything after the element name up to (not including) `>` or `/>`.
    pub(crate) fn new(text: &'a str) -> Self {
        AttrLexer {
            text,
            pos: 0,
            done: false,
        }
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

    fn lex(&mut self) -> Option<Result<(&'a str, &'a str), &'static str>> {
        let before = self.pos;
        self.skip_space();
        self.byte(self.pos)?;
        if self.pos == before {
            return Some(Err("attributes must be separated by white space"));
        }
        let bytes = self.text.as_bytes();
        let name_start = self.pos;
        // The name ends at '=' or white space; control characters end it too and then fail below.
        let name_end = scan::find(
            bytes,
            name_start,
            |w| scan::has_byte(w, b'=') || scan::has_below(w, 0x21),
            |b| b == b'=' || b <= 0x20,
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
        let Some(value_end) = scan::find(
            bytes,
            value_start,
            |w| scan::has_byte(w, quote),
            |b| b == quote,
        ) else {
            return Some(Err("unterminated attribute value"));
        };
        self.pos = value_end + 1;
        // Every split point is an ASCII delimiter, hence a character boundary.
        match (
            self.text.get(name_start..name_end),
            self.text.get(value_start..value_end),
        ) {
            (Some(name), Some(value)) => Some(Ok((name, value))),
            _ => Some(Err("attribute split inside a character")),
        }
    }
}

impl<'a> Iterator for AttrLexer<'a> {
    type Item = Result<(&'a str, &'a str), &'static str>;

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

    fn lex(s: &str) -> Result<Vec<(&str, &str)>, &'static str> {
        AttrLexer::new(s).collect()
    }

    #[test]
    fn splits_well_formed_attribute_lists() {
        assert_eq!(lex(""), Ok(vec![]));
        assert_eq!(lex("  \n"), Ok(vec![]));
        assert_eq!(
            lex(" a=\"1\" b='2'\t c \r\n = \"x'y\" d=\"\" "),
            Ok(vec![("a", "1"), ("b", "2"), ("c", "x'y"), ("d", "")])
        );
        assert_eq!(
            lex(" xmlns:p=\"urn:p\" p:q=\"&amp;&#10;é>\""),
            Ok(vec![("xmlns:p", "urn:p"), ("p:q", "&amp;&#10;é>")])
        );
        let long = format!(" v=\"{}\"", "x".repeat(1000));
        assert_eq!(lex(&long).unwrap()[0].1.len(), 1000);
    }

    #[test]
    fn refuses_what_is_not_well_formed() {
        for (input, why) in [
            (
                " a=\"1\"b=\"2\"",
                "attributes must be separated by white space",
            ),
            ("a=\"1\"", "attributes must be separated by white space"),
            (" =\"1\"", "attribute without a name"),
            (" a", "expected '=' after an attribute name"),
            (" a b=\"1\"", "expected '=' after an attribute name"),
            (" a=1", "attribute values must be quoted"),
            (" a=", "attribute values must be quoted"),
            (" a=\"1", "unterminated attribute value"),
            (" a='1\"", "unterminated attribute value"),
            (" a\u{1}=\"1\"", "expected '=' after an attribute name"),
        ] {
            assert_eq!(lex(input), Err(why), "{input:?}");
        }
        // One error, then nothing.
        let mut it = AttrLexer::new(" a=1 b=\"2\"");
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
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
            let ours: Vec<(String, String)> = lex(case)
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(ours, theirs, "{case:?}");
        }
    }
}
