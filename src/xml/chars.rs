//! Character-level rules of XML 1.0 and Namespaces in XML 1.0.

/// XML 1.0 `Char` production (section 2.2).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\u{9}' | '\u{A}' | '\u{D}'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Returns the first character of `s` that is not an XML 1.0 `Char`.
pub(crate) fn first_illegal_char(s: &str) -> Option<char> {
    // Fast path: printable ASCII and the three allowed controls are the common case.
    let allowed = |b: u8| (0x20..0x80).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r');
    let word = |w: u64| (super::scan::below_mask(w, 0x20) | w) & 0x8080_8080_8080_8080 != 0;
    // The first byte outside printable ASCII starts a character (the bytes before it are ASCII),
    // so the character-level search can start there.
    let first = super::scan::find(s.as_bytes(), 0, word, |b| !allowed(b))?;
    s.get(first..)
        .unwrap_or(s)
        .chars()
        .find(|&c| !is_xml_char(c))
}

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// ASCII bytes allowed in an NCName: 1 = anywhere, 2 = not first (digits, `-`, `.`).
// Evaluated at compile time: an out-of-range index would fail the build.
#[allow(clippy::indexing_slicing)]
const ASCII_NAME: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() || b == b'_' {
            1
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            2
        } else {
            0
        };
        c += 1;
    }
    t
};

fn ascii_name_class(b: u8) -> u8 {
    ASCII_NAME.get(usize::from(b)).copied().unwrap_or(0)
}

/// Namespaces in XML `NCName`: an XML `Name` without any colon.
pub fn is_ncname(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.split_first() {
        None => false,
        // ASCII names, by table: the common case.
        Some((first, rest)) if ascii_name_class(*first) == 1 => {
            match rest.iter().position(|&b| ascii_name_class(b) == 0) {
                None => true,
                Some(_) if bytes.is_ascii() => false,
                Some(_) => is_ncname_chars(s),
            }
        }
        Some((first, _)) if first.is_ascii() => false,
        Some(_) => is_ncname_chars(s),
    }
}

fn is_ncname_chars(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => chars.all(is_name_char),
        _ => false,
    }
}

/// Whether `s` is usable as a SAML `ID`: non-empty XML name characters without a colon. This is
/// `xs:ID` (an NCName) relaxed to allow a leading digit or hyphen, which real IdPs emit (UUIDs).
pub fn is_id_like(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char)
}

/// Splits a `QName` into (prefix, local part), or `None` when it is not a valid QName.
pub(crate) fn split_qname(s: &str) -> Option<(Option<&str>, &str)> {
    // One pass over ASCII names (the common case), one table look-up per byte: every byte a
    // name character, at most one colon, and a name-start character first and after the colon.
    // Anything else takes the general path, which decides alone.
    let bytes = s.as_bytes();
    let mut colon = None;
    for (i, &b) in bytes.iter().enumerate() {
        if ascii_name_class(b) == 0 {
            if b != b':' || colon.is_some() {
                return split_qname_chars(s);
            }
            colon = Some(i);
        }
    }
    let starts_name = |i: usize| bytes.get(i).is_some_and(|&b| ascii_name_class(b) == 1);
    match colon {
        None if starts_name(0) => Some((None, s)),
        Some(i) if starts_name(0) && starts_name(i + 1) => {
            Some((Some(s.get(..i)?), s.get(i + 1..)?))
        }
        _ => split_qname_chars(s),
    }
}

fn split_qname_chars(s: &str) -> Option<(Option<&str>, &str)> {
    match s.as_bytes().iter().position(|&b| b == b':') {
        None => is_ncname(s).then_some((None, s)),
        Some(i) => {
            let (p, l) = (s.get(..i)?, s.get(i + 1..)?);
            (is_ncname(p) && is_ncname(l)).then_some((Some(p), l))
        }
    }
}

/// XML whitespace (`S` production).
pub(crate) fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Resolves a character or predefined entity reference name (without `&` and `;`).
pub(crate) fn resolve_reference(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = if let Some(hex) = num.strip_prefix('x') {
                if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                u32::from_str_radix(hex, 16).ok()?
            } else {
                if num.is_empty() || num.len() > 10 || !num.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                num.parse::<u32>().ok()?
            };
            char::from_u32(code).filter(|&c| is_xml_char(c))
        }
    }
}

/// Appends `raw` to `out` with XML 1.0 line-end normalization (section 2.11):
/// `CR LF` and a lone `CR` become `LF`.
pub(crate) fn push_normalized_line_ends(out: &mut String, raw: &str) {
    if !raw.contains('\r') {
        out.push_str(raw);
        return;
    }
    let mut rest = raw;
    while let Some(pos) = rest.find('\r') {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        out.push('\n');
        let after = after.strip_prefix('\r').unwrap_or(after);
        rest = after.strip_prefix('\n').unwrap_or(after);
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_ncname("Assertion"));
        // The ASCII table agrees with the character rules on every one- and two-byte ASCII
        // string, and mixed strings go through the character rules.
        for a in 0..128u8 {
            let one = char::from(a).to_string();
            assert_eq!(is_ncname(&one), is_ncname_chars(&one), "{one:?}");
            for b in 0..128u8 {
                let two = format!("{}{}", char::from(a), char::from(b));
                assert_eq!(is_ncname(&two), is_ncname_chars(&two), "{two:?}");
            }
        }
        for mixed in [
            "aé",
            "é",
            "a·b",
            "a\u{300}",
            "\u{300}a",
            "a:b",
            "a b",
            "x\u{2070}",
        ] {
            assert_eq!(is_ncname(mixed), is_ncname_chars(mixed), "{mixed:?}");
        }
        assert!(is_ncname("données"));
        // The one-pass QName split agrees with the general one.
        let pieces = ["", "a", "_b", "1", "-", ".x", "p", "é", "a.b-c_1"];
        for x in pieces {
            for y in pieces {
                for q in [
                    format!("{x}{y}"),
                    format!("{x}:{y}"),
                    format!("{x}:{y}:"),
                    format!(":{x}{y}"),
                ] {
                    assert_eq!(split_qname(&q), split_qname_chars(&q), "{q:?}");
                }
            }
        }
        // And on every string of up to four characters over one of each character class.
        let alphabet = ['a', '1', '-', ':', '_', '.', ' ', 'é', '>'];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for q in &longer {
                assert_eq!(split_qname(q), split_qname_chars(q), "{q:?}");
            }
            strings = longer;
        }
        assert!(is_ncname("_a-1.b"));
        assert!(!is_ncname("1abc"));
        assert!(!is_ncname(""));
        assert!(!is_ncname("a b"));
        assert!(!is_ncname("a:b"));
        assert_eq!(
            split_qname("saml:Assertion"),
            Some((Some("saml"), "Assertion"))
        );
        assert_eq!(split_qname(":Assertion"), None);
        assert_eq!(split_qname("saml:x:Assertion"), None);
        assert_eq!(split_qname("a:"), None);
    }

    #[test]
    fn references() {
        assert_eq!(resolve_reference("amp"), Some('&'));
        assert_eq!(resolve_reference("#46"), Some('.'));
        assert_eq!(resolve_reference("#x2E"), Some('.'));
        assert_eq!(resolve_reference("#0"), None);
        assert_eq!(resolve_reference("#x1"), None);
        assert_eq!(resolve_reference("#xD800"), None);
        assert_eq!(resolve_reference("#xFFFE"), None);
        assert_eq!(resolve_reference("#x"), None);
        assert_eq!(resolve_reference("#99999999999"), None);
        assert_eq!(resolve_reference("foo"), None);
    }

    #[test]
    fn line_ends() {
        let mut s = String::new();
        push_normalized_line_ends(&mut s, "a\r\nb\rc\n\r\r\nd\r");
        assert_eq!(s, "a\nb\nc\n\n\nd\n");
    }
}
