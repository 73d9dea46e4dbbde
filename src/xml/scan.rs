//! Byte scans eight bytes at a time (SWAR: SIMD within a register), in safe Rust.
//!
//! The parser and the canonicalizer ask the same question of every text run and attribute value:
//! where is the first byte that needs attention (an escape, a character check)? Most strings are
//! short, which makes a library `memchr` call mostly overhead, and most bytes are plain, which
//! makes a byte loop slow. [`find`] tests a whole 64-bit word with a few integer operations and
//! looks at single bytes only in a word that may contain a match.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `word` that equals `b` (a byte above a match may be marked
/// too: the borrow trick can only misreport bytes above one that really matched). Masks of
/// several tests are OR-ed and tested once: one branch per word, not one per test.
#[inline]
pub(crate) fn eq_mask(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// The high bit of every byte of `word` below `n` (`n` at most 128), inexact as [`eq_mask`].
#[inline]
pub(crate) fn below_mask(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH
}

/// The high bit of every byte of `word` above 0x7E (DEL or not ASCII). Exact: adding one
/// carries out of a byte only when it is 0xFF, which is already reported by its own high bit.
#[inline]
pub(crate) fn above_tilde_mask(word: u64) -> u64 {
    (word.wrapping_add(ONES) | word) & HIGH
}

/// Whether some byte of `word` equals `b`. Exact.
#[inline]
pub(crate) fn has_byte(word: u64, b: u8) -> bool {
    eq_mask(word, b) != 0
}

/// Index of the first byte at or after `from` for which `byte` holds. `word` must return true for
/// every 8-byte word that contains such a byte (it may also return true for others).
#[inline]
pub(crate) fn find(
    bytes: &[u8],
    from: usize,
    word: impl Fn(u64) -> bool,
    byte: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or([0; 8]));
        if word(w)
            && let Some(k) = chunk.iter().position(|&b| byte(b))
        {
            return Some(i + k);
        }
        i += 8;
    }
    bytes
        .get(i..)
        .unwrap_or_default()
        .iter()
        .position(|&b| byte(b))
        .map(|k| i + k)
}

/// Whether `a` and `b` are equal, compared eight bytes at a time in line. For the short names
/// and namespace URIs the tree is asked about most (`Element::is`, `Element::attribute`), this is
/// cheaper than a library `memcmp` call.
#[inline]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (wa.remainder(), wb.remainder());
    let word = |c: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(c).unwrap_or([0; 8]));
    wa.zip(wb).all(|(x, y)| word(x) == word(y)) && ra.iter().zip(rb).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn word_tests_agree_with_byte_tests_on_every_byte_at_every_position() {
        for pos in 0..8 {
            for v in 0..=255u8 {
                for fill in [b'a', 0x20, 0x7e, 0x80, 0xff, 0x00, 0x0d] {
                    let mut bytes = [fill; 8];
                    bytes[pos] = v;
                    let w = u64::from_le_bytes(bytes);
                    for b in [b'&', b'<', b'"', b'\r', 0, 0xff] {
                        assert_eq!(has_byte(w, b), bytes.contains(&b), "{bytes:?} {b}");
                    }
                    for n in [0x0e, 0x20, 0x80] {
                        assert_eq!(
                            below_mask(w, n) != 0,
                            bytes.iter().any(|&x| x < n),
                            "{bytes:?} {n}"
                        );
                    }
                    assert_eq!(above_tilde_mask(w) != 0, bytes.iter().any(|&x| x > 0x7e));
                }
            }
        }
    }

    #[test]
    fn eq_agrees_with_slice_equality() {
        let words: [&[u8]; 9] = [
            b"",
            b"a",
            b"ab",
            b"abcdefgh",
            b"abcdefgi",
            b"abcdefghi",
            b"urn:oasis:names:tc:SAML:2.0:assertion",
            b"urn:oasis:names:tc:SAML:2.0:assertioN",
            b"urn:oasis:names:tc:SAML:2.0:protocol",
        ];
        for a in words {
            for b in words {
                assert_eq!(eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn find_returns_the_first_match_after_from() {
        let s = b"plain text with & and < in it, and more & after the eighth byte";
        let is_special = |b: u8| b == b'&' || b == b'<';
        let word = |w: u64| has_byte(w, b'&') || has_byte(w, b'<');
        let mut from = 0;
        let mut found = Vec::new();
        while let Some(i) = find(s, from, word, is_special) {
            found.push(i);
            from = i + 1;
        }
        let expected: Vec<usize> = (0..s.len()).filter(|&i| is_special(s[i])).collect();
        assert_eq!(found, expected);
        assert_eq!(found.len(), 3);
        assert_eq!(find(b"short&", 0, word, is_special), Some(5));
        assert_eq!(find(b"", 0, word, is_special), None);
        assert_eq!(find(b"abc", 7, word, is_special), None);
    }
}
