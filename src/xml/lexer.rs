//! The tokenizer: splits the (already UTF-8-checked) document text into the markup and
//! character data of XML 1.0 that the parser accepts, in one pass, borrowing from the input.
//!
//! It only finds boundaries; the parser judges what it finds (names, characters, references,
//! namespaces, limits). A start tag's attributes are read by [`AttrLexer`], which also finds the
//! end of the tag, so the tag is scanned once. Every search runs forward from the current
//! position and the position only moves forward, so the whole document costs one pass: a
//! missing terminator (`-->`, `?>`, `]]>`, `>`, `;`) is found missing by one scan to the end,
//! and then the document is refused.

use memchr::{memchr, memchr2, memchr3, memmem};

use super::attrs::AttrLexer;
use super::scan;

/// One piece of the document.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// `<?xml ...?>` at the very start of the document: the text between `<?xml` and `?>`.
    Decl(&'a str),
    /// `<!DOCTYPE`: never accepted; the parser refuses the document.
    DocType,
    /// `<name`: the tag's attributes follow; read them with [`Lexer::attributes`] and then
    /// continue with [`Lexer::resume`].
    Start(&'a str),
    /// `</name>`: the name.
    End(&'a str),
    /// Character data up to the next markup or reference, as written.
    Text(&'a str),
    /// `&name;`: the name (`#10`, `#x1F`, `amp`, ...).
    Ref(&'a str),
    /// `<![CDATA[...]]>`: the content.
    CData(&'a str),
    /// `<!--...-->`: the content.
    Comment(&'a str),
    /// `<?target content?>`: the target, and the content after the white space that follows it.
    Pi { target: &'a str, content: &'a str },
    /// The end of the input.
    Eof,
}

/// Why the text could not be split.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    /// Byte offset in the text where the offending piece starts.
    pub(crate) offset: usize,
    pub(crate) reason: &'static str,
}

/// The tokenizer's position in `text`.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    /// Byte offset of the next token.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The attributes of the start tag just returned by [`Lexer::next_token`].
    pub(crate) fn attributes(&self) -> AttrLexer<'a> {
        AttrLexer::in_tag(self.text, self.pos)
    }

    /// Continues after a start tag whose attributes ended at `end` ([`AttrLexer::tag_end`]).
    pub(crate) fn resume(&mut self, end: usize) {
        self.pos = end.max(self.pos);
    }

    fn slice(&self, from: usize, to: usize) -> Result<&'a str, LexError> {
        // Every boundary is an ASCII delimiter, hence a character boundary.
        self.text.get(from..to).ok_or(LexError {
            offset: from,
            reason: "markup split inside a character",
        })
    }

    fn err(&self, reason: &'static str) -> LexError {
        LexError {
            offset: self.pos,
            reason,
        }
    }

    /// The next token.
    ///
    /// # Errors
    /// Markup that is cut off or not one of the forms above.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, LexError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let rest = bytes.get(start..).unwrap_or_default();
        match rest.first() {
            None => Ok(Token::Eof),
            Some(b'<') => self.markup(),
            Some(b'&') => {
                // The name ends at ';'; markup or another reference first means it never does.
                let after = rest.get(1..).unwrap_or_default();
                match memchr3(b';', b'<', b'&', after) {
                    Some(i) if after.get(i) == Some(&b';') => {
                        let name = self.slice(start + 1, start + 1 + i)?;
                        self.pos = start + i + 2;
                        Ok(Token::Ref(name))
                    }
                    _ => Err(self.err("unterminated reference")),
                }
            }
            Some(_) => {
                let end = memchr2(b'<', b'&', rest).map_or(bytes.len(), |i| start + i);
                let text = self.slice(start, end)?;
                self.pos = end;
                Ok(Token::Text(text))
            }
        }
    }

    /// At `<`.
    fn markup(&mut self) -> Result<Token<'a>, LexError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let rest = bytes.get(start..).unwrap_or_default();
        if rest.get(1) == Some(&b'/') {
            // `</name S? >`: the name ends at the first white space or `>` (one word scan: end
            // tags are short, a library call per tag costs more than the scan).
            let from = start + 2;
            let Some(stop) = scan::find(
                bytes,
                from,
                |w| scan::below_mask(w, 0x21) | scan::eq_mask(w, b'>') != 0,
                |b| b == b'>' || is_space(b),
            ) else {
                return Err(self.err("unterminated end tag"));
            };
            let gt = if bytes.get(stop) == Some(&b'>') {
                stop
            } else {
                // White space after the name: only more of it may follow before `>`.
                let gt = memchr(b'>', bytes.get(stop..).unwrap_or_default())
                    .map(|i| stop + i)
                    .ok_or_else(|| self.err("unterminated end tag"))?;
                if !bytes
                    .get(stop..gt)
                    .unwrap_or_default()
                    .iter()
                    .all(|&b| is_space(b))
                {
                    return Err(self.err("malformed end tag"));
                }
                gt
            };
            let name = self.slice(from, stop)?;
            if name.is_empty() {
                return Err(self.err("malformed end tag"));
            }
            self.pos = gt + 1;
            return Ok(Token::End(name));
        }
        if let Some(after) = rest.strip_prefix(b"<!--") {
            let Some(end) = memmem::find(after, b"-->") else {
                return Err(self.err("unterminated comment"));
            };
            let content = self.slice(start + 4, start + 4 + end)?;
            if memmem::find(content.as_bytes(), b"--").is_some() {
                return Err(self.err("'--' inside a comment"));
            }
            self.pos = start + 7 + end;
            return Ok(Token::Comment(content));
        }
        if let Some(after) = rest.strip_prefix(b"<![CDATA[") {
            let Some(end) = memmem::find(after, b"]]>") else {
                return Err(self.err("unterminated CDATA section"));
            };
            let content = self.slice(start + 9, start + 9 + end)?;
            self.pos = start + 12 + end;
            return Ok(Token::CData(content));
        }
        if rest.starts_with(b"<!DOCTYPE") {
            return Ok(Token::DocType);
        }
        if rest.starts_with(b"<!") {
            return Err(self.err("unknown markup after '<!'"));
        }
        if let Some(after) = rest.strip_prefix(b"<?") {
            let Some(end) = memmem::find(after, b"?>") else {
                return Err(self.err("unterminated processing instruction"));
            };
            let content = self.slice(start + 2, start + 2 + end)?;
            self.pos = start + 4 + end;
            let target_len = content.bytes().position(is_space).unwrap_or(content.len());
            let (target, tail) = content
                .split_at_checked(target_len)
                .unwrap_or((content, ""));
            if target == "xml" && start == 0 {
                return Ok(Token::Decl(tail));
            }
            let content = tail.trim_start_matches([' ', '\t', '\r', '\n']);
            return Ok(Token::Pi { target, content });
        }
        // A start tag: the name ends at white space, '/' or '>'; the attributes follow.
        let name_end = scan::find(
            bytes,
            start + 1,
            |w| scan::below_mask(w, 0x21) | scan::eq_mask(w, b'/') | scan::eq_mask(w, b'>') != 0,
            |b| is_space(b) || b == b'/' || b == b'>',
        )
        .ok_or_else(|| self.err("unterminated start tag"))?;
        let name = self.slice(start + 1, name_end)?;
        self.pos = name_end;
        Ok(Token::Start(name))
    }
}

/// The differential check against quick-xml (the tokenizer this one replaced), shared by the
/// unit tests and the `xml_parse` fuzz target: where quick-xml refuses a document the parser
/// must refuse it too, and every document the parser accepts must split token for token as
/// quick-xml splits it.
#[cfg(any(test, feature = "testkit"))]
pub(crate) mod oracle {
    use super::{LexError, Lexer, Token};

    /// Every token of `text`, start tags with their attributes and whether they were empty.
    pub(crate) fn tokens(text: &str) -> Result<Vec<String>, LexError> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            match t {
                Token::Eof => return Ok(out),
                Token::Start(name) => {
                    let mut attrs = lexer.attributes();
                    let mut list = Vec::new();
                    for a in attrs.by_ref() {
                        let a = a.map_err(|reason| LexError { offset: 0, reason })?;
                        list.push(format!("{}={}", a.name, a.value));
                    }
                    let Some((end, empty)) = attrs.tag_end() else {
                        return Err(LexError {
                            offset: 0,
                            reason: "unterminated start tag",
                        });
                    };
                    lexer.resume(end);
                    out.push(format!("Start({name} {list:?} {empty})"));
                }
                Token::DocType => return Ok(vec!["DocType".into()]),
                other => out.push(format!("{other:?}")),
            }
        }
    }

    /// Tokens as strings, from quick-xml (the tokenizer this one replaced), normalized to this
    /// module's shapes.
    fn quick_tokens(text: &str) -> Result<Vec<String>, ()> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        let cfg = reader.config_mut();
        cfg.check_end_names = false;
        cfg.check_comments = true;
        cfg.allow_dangling_amp = false;
        cfg.allow_unmatched_ends = true;
        let mut out = Vec::new();
        loop {
            let t = match reader.read_event().map_err(|_| ())? {
                Event::Eof => return Ok(out),
                Event::DocType(_) => return Ok(vec!["DocType".into()]),
                Event::Decl(_) => "Decl".to_owned(),
                Event::Start(e) => start_string(&e, false)?,
                Event::Empty(e) => start_string(&e, true)?,
                Event::End(e) => format!("{:?}", Token::End(e.name().0)),
                Event::Text(t) => format!("{:?}", Token::Text(&t.into_inner())),
                Event::GeneralRef(r) => format!("{:?}", Token::Ref(&r.into_inner())),
                Event::CData(c) => format!("{:?}", Token::CData(&c.into_inner())),
                Event::Comment(c) => format!("{:?}", Token::Comment(&c.into_inner())),
                Event::PI(pi) => format!(
                    "{:?}",
                    Token::Pi {
                        target: pi.target(),
                        content: pi.content().trim_start_matches([' ', '\t', '\r', '\n'])
                    }
                ),
            };
            out.push(t);
        }
    }

    fn start_string(e: &quick_xml::events::BytesStart<'_>, empty: bool) -> Result<String, ()> {
        let name = e.name().0.to_owned();
        let mut list = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|_| ())?;
            let (key, value) = (a.key.0, &a.value);
            list.push(format!("{key}={value}"));
        }
        Ok(format!("Start({name} {list:?} {empty})"))
    }

    /// Ours, in the same shapes (`Decl` without its content).
    fn our_tokens(text: &str) -> Result<Vec<String>, LexError> {
        Ok(tokens(text)?
            .into_iter()
            // quick-xml reports `<?xml ...?>` anywhere as a declaration; here only at the start
            // (elsewhere it is a processing instruction the parser refuses).
            .map(|t| {
                if t.starts_with("Decl(") || t.starts_with("Pi { target: \"xml\", ") {
                    "Decl".into()
                } else {
                    t
                }
            })
            .collect())
    }

    /// What [`check`] found.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum Outcome {
        /// Both tokenizers split the document alike.
        Agreed,
        /// quick-xml refuses it, and so does the parser.
        BothRefused,
        /// This tokenizer refuses it, or the two split malformed markup differently (quick-xml
        /// reads quotes inside an end tag) in a document the parser refuses.
        Stricter,
    }

    /// Checks `text` against quick-xml.
    ///
    /// # Errors
    /// A description of the disagreement: a finding.
    pub(crate) fn check(text: &str) -> Result<Outcome, String> {
        let parsed = crate::xml::Document::parse(text.as_bytes()).is_ok();
        // The parser strips a UTF-8 byte order mark before tokenizing, as quick-xml does.
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        match (quick_tokens(text), our_tokens(text)) {
            (Ok(theirs), Ok(ours)) if ours == theirs => Ok(Outcome::Agreed),
            (Ok(theirs), Ok(ours)) if parsed => Err(format!(
                "the tokenizers disagree on an accepted document {text:?}:\n{ours:?}\n{theirs:?}"
            )),
            (Err(()), _) if parsed => {
                Err(format!("quick-xml refuses, the parser accepts: {text:?}"))
            }
            (Err(()), _) => Ok(Outcome::BothRefused),
            _ => Ok(Outcome::Stricter),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::oracle::tokens;
    use super::*;

    #[test]
    fn splits_every_kind_of_token() {
        let text = "<?xml version=\"1.0\"?><r a=\"1\" b='>'>x &amp; y<e/><!-- c --><![CDATA[<d>]]>\
                    <?pi some data?></r >";
        assert_eq!(
            tokens(text).unwrap(),
            [
                "Decl(\" version=\\\"1.0\\\"\")",
                "Start(r [\"a=1\", \"b=>\"] false)",
                "Text(\"x \")",
                "Ref(\"amp\")",
                "Text(\" y\")",
                "Start(e [] true)",
                "Comment(\" c \")",
                "CData(\"<d>\")",
                "Pi { target: \"pi\", content: \"some data\" }",
                "End(\"r\")",
            ]
        );
        assert_eq!(tokens("<!DOCTYPE r><r/>").unwrap(), ["DocType"]);
        // Not at the start, `<?xml ...?>` is a processing instruction the parser refuses.
        assert_eq!(
            tokens(" <?xml version=\"1.0\"?>").unwrap(),
            [
                "Text(\" \")",
                "Pi { target: \"xml\", content: \"version=\\\"1.0\\\"\" }"
            ]
        );
        assert_eq!(
            tokens("<?xml-stylesheet href=\"a\"?><r/>").unwrap()[0],
            "Pi { target: \"xml-stylesheet\", content: \"href=\\\"a\\\"\" }"
        );
        assert_eq!(
            tokens("<!----><r/>").unwrap()[0],
            "Comment(\"\")",
            "an empty comment"
        );
    }

    #[test]
    fn refuses_cut_off_and_unknown_markup() {
        for (text, reason) in [
            ("<r>&amp", "unterminated reference"),
            ("<r>&a<b/>;", "unterminated reference"),
            ("<r>&a&b;", "unterminated reference"),
            ("<r></r", "unterminated end tag"),
            ("<r></>", "malformed end tag"),
            ("<r></r s>", "malformed end tag"),
            ("<!-- x", "unterminated comment"),
            ("<!-- a -- b -->", "'--' inside a comment"),
            ("<![CDATA[x", "unterminated CDATA section"),
            ("<!ELEMENT r>", "unknown markup after '<!'"),
            ("<![CDATA x]]>", "unknown markup after '<!'"),
            ("<?pi", "unterminated processing instruction"),
            ("<r", "unterminated start tag"),
            ("<r a=\"1\"", "unterminated start tag"),
        ] {
            assert_eq!(tokens(text).unwrap_err().reason, reason, "{text:?}");
        }
    }

    #[test]
    fn positions_only_move_forward() {
        let text = "<a><b c='1'/>t&lt;<!--x--></a>";
        let mut lexer = Lexer::new(text);
        let mut last = 0;
        loop {
            let t = lexer.next_token().unwrap();
            if let Token::Start(_) = t {
                let mut attrs = lexer.attributes();
                for a in attrs.by_ref() {
                    a.unwrap();
                }
                lexer.resume(attrs.tag_end().unwrap().0);
            }
            assert!(lexer.position() >= last);
            last = lexer.position();
            if t == Token::Eof {
                break;
            }
        }
        assert_eq!(last, text.len());
    }

    #[test]
    fn the_oracle_reads_a_byte_order_mark_as_the_parser_does() {
        // A fuzz finding in the oracle itself: the parser strips the mark, so must the check.
        let text = "\u{FEFF}<?xml version=\"1.0\"?><r a=\"\u{7f}\"/>\n";
        assert!(crate::xml::Document::parse(text.as_bytes()).is_ok());
        assert_eq!(oracle::check(text), Ok(oracle::Outcome::Agreed));
    }

    #[test]
    fn agrees_with_quick_xml_on_mutated_documents() {
        // Seeds with every kind of token; each mutant inserts, deletes or replaces bytes with
        // markup characters. Where quick-xml refuses, the parser must refuse too; where the
        // parser accepts, both tokenizers must have split the document token for token. (This
        // tokenizer is stricter in documented ways: attributes run together, anything after
        // `</name` but white space.)
        let seeds = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<p:R xmlns:p=\"urn:p\" ID=\"_1\"><p:I a='x&amp;y'>idp</p:I>\
             <!-- note --><A xmlns=\"urn:a\"><V>v &lt; w</V><E/><![CDATA[<raw>]]><?pi data?></A></p:R>",
            "<r a=\"1\" b='>' c=\"/>\"><x:y xmlns:x=\"u\">t</x:y>&#10;&#x41;</r>",
            "<!DOCTYPE r><r/>",
            "<r><a></a><b/><c d=\"e\"/>text</r>",
        ];
        let alphabet = b"<>/!?-[]&;\"'= a:x\n";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap()
        };
        let (mut agreed, mut both_refused) = (0, 0);
        for seed in seeds {
            for _ in 0..1500 {
                let mut bytes = seed.as_bytes().to_vec();
                for _ in 0..1 + rand(3) {
                    let at = rand(bytes.len() + 1);
                    let c = alphabet[rand(alphabet.len())];
                    match rand(3) {
                        0 => bytes.insert(at, c),
                        1 if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        _ if at < bytes.len() => bytes[at] = c,
                        _ => bytes.push(c),
                    }
                }
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    continue;
                };
                match oracle::check(text) {
                    Ok(oracle::Outcome::Agreed) => agreed += 1,
                    Ok(oracle::Outcome::BothRefused) => both_refused += 1,
                    Ok(oracle::Outcome::Stricter) => {}
                    Err(finding) => panic!("{finding}"),
                }
            }
        }
        // The mutants exercise both outcomes.
        assert!(agreed > 1000, "{agreed}");
        assert!(both_refused > 1000, "{both_refused}");
    }
}
