//! Decoding of XML Schema `base64Binary` (RFC 4648 alphabet with padding): white space anywhere
//! is ignored, and the encoding must be canonical (correct padding, zero trailing bits).
//!
//! Every SAMLResponse passes through here, so it decodes eight characters at a time when no
//! white space interrupts them (four look-ups of two characters each in a 128 KiB table built at
//! compile time), and falls back to one character at a time around white space and padding.
//! The `base64` crate remains the encoder and is the oracle in the tests and the `cli_input`
//! fuzz target.

/// Marks a byte that is not in the alphabet.
const INVALID: u8 = 0xff;
/// Marks XML white space (space, tab, CR, LF).
const SPACE: u8 = 0xfe;
/// Marks `=`.
const PAD: u8 = 0xfd;

// Evaluated at compile time: an out-of-range index would fail the build, not a request.
#[allow(clippy::indexing_slicing)]
const TABLE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'=' as usize] = PAD;
    t
};

fn sextet(b: u8) -> u8 {
    TABLE.get(usize::from(b)).copied().unwrap_or(INVALID)
}

/// Not two alphabet characters, in [`PAIRS`].
const NOT_PAIR: u16 = 0x8000;

/// Two characters `a`, `b` at index `u16::from_le_bytes([a, b])`: their two sextets as twelve
/// bits, or [`NOT_PAIR`] (128 KiB, evaluated at compile time). Of it, the rows and columns of
/// the 64 alphabet characters are read: about 16 KiB.
#[allow(clippy::indexing_slicing)]
static PAIRS: [u16; 65536] = {
    let mut t = [NOT_PAIR; 65536];
    let mut i = 0;
    while i < 65536 {
        let (a, b) = (TABLE[i & 0xff], TABLE[i >> 8]);
        if a < 64 && b < 64 {
            t[i] = ((a as u16) << 6) | b as u16;
        }
        i += 1;
    }
    t
};

/// Eight characters (little-endian in `w`) as 48 bits in the high bits of the result (the
/// bytes in big-endian order), or a value with bit 15 set when one is not in the alphabet.
fn octet(w: u64) -> u64 {
    let pair = |k: u32| {
        u64::from(
            PAIRS
                .get(((w >> (16 * k)) & 0xffff) as usize)
                .copied()
                .unwrap_or(NOT_PAIR),
        )
    };
    let (p0, p1, p2, p3) = (pair(0), pair(1), pair(2), pair(3));
    (p0 << 52) | (p1 << 40) | (p2 << 28) | (p3 << 16) | ((p0 | p1 | p2 | p3) & u64::from(NOT_PAIR))
}

/// Decodes `text`; `None` when it is not canonical base64 (after removing white space).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    // Room for every quantum plus the fast paths' overrun; truncated at the end.
    let mut out = vec![0u8; bytes.len() / 4 * 3 + 32];
    let mut o = 0;
    // Sextets of the current quantum, and how many (0..=3).
    let mut acc: u32 = 0;
    let mut n = 0u32;
    let mut i = 0;
    loop {
        // Fast path: at a quantum boundary, eight alphabet characters give six bytes.
        if n == 0 {
            // Thirty-two characters per step while they last (fewer bounds checks), then eight.
            while let (Some(chunk), Some(dst)) = (bytes.get(i..i + 32), out.get_mut(o..o + 32)) {
                let mut words = [0u64; 4];
                let mut bad = 0;
                for (w, c) in words.iter_mut().zip(chunk.chunks_exact(8)) {
                    *w = octet(u64::from_le_bytes(
                        <[u8; 8]>::try_from(c).unwrap_or([b'!'; 8]),
                    ));
                    bad |= *w;
                }
                if bad & u64::from(NOT_PAIR) != 0 {
                    break;
                }
                for (k, w) in words.iter().enumerate() {
                    // Six bytes of each eight are kept: the next word overwrites the rest.
                    if let Some(d) = dst.get_mut(6 * k..6 * k + 8) {
                        d.copy_from_slice(&w.to_be_bytes());
                    }
                }
                i += 32;
                o += 24;
            }
            while let (Some(chunk), Some(dst)) = (bytes.get(i..i + 8), out.get_mut(o..o + 8)) {
                let word = octet(u64::from_le_bytes(
                    <[u8; 8]>::try_from(chunk).unwrap_or([b'!'; 8]),
                ));
                if word & u64::from(NOT_PAIR) != 0 {
                    break;
                }
                dst.copy_from_slice(&word.to_be_bytes());
                i += 8;
                o += 6;
            }
        }
        let Some(&c) = bytes.get(i) else { break };
        i += 1;
        match sextet(c) {
            SPACE => {}
            PAD => {
                out.truncate(o);
                return finish_padded(bytes.get(i..).unwrap_or_default(), acc, n, out);
            }
            INVALID => return None,
            v => {
                acc = (acc << 6) | u32::from(v);
                n += 1;
                if n == 4 {
                    let b = acc.to_be_bytes();
                    // The buffer always has room; if it had not, refuse rather than drop bytes.
                    out.get_mut(o..o + 3)?
                        .copy_from_slice(b.get(1..4).unwrap_or_default());
                    o += 3;
                    acc = 0;
                    n = 0;
                }
            }
        }
    }
    // Without padding, the data must end on a quantum boundary.
    out.truncate(o);
    (n == 0).then_some(out)
}

/// The first `=` was read with `n` sextets of the last quantum in `acc`; `rest` follows it.
fn finish_padded(rest: &[u8], acc: u32, n: u32, mut out: Vec<u8>) -> Option<Vec<u8>> {
    // Two sextets need "==", three need "="; the unused low bits must be zero.
    let pads_needed = match n {
        2 if acc & 0xf == 0 => 2,
        3 if acc & 0x3 == 0 => 1,
        _ => return None,
    };
    let mut pads = 1;
    for &c in rest {
        match sextet(c) {
            SPACE => {}
            PAD if pads < pads_needed => pads += 1,
            _ => return None,
        }
    }
    if pads != pads_needed {
        return None;
    }
    if n == 2 {
        out.push((acc >> 4) as u8);
    } else {
        let v = acc >> 2;
        out.push((v >> 8) as u8);
        out.push(v as u8);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::decode;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    /// The `base64` crate's canonical decoding of `text` with XML white space removed.
    fn oracle(text: &str) -> Option<Vec<u8>> {
        let compact: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        STANDARD.decode(compact).ok()
    }

    /// xorshift64*, so the cases are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    #[test]
    fn round_trips_every_length_with_and_without_white_space() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let enc = STANDARD.encode(&data);
            assert_eq!(decode(&enc).unwrap(), data, "length {len}");
            // Line-wrapped at 64 with CRLF, as PEM and some IdPs do, and with stray spaces.
            let wrapped: String = enc
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\r\n");
            assert_eq!(decode(&wrapped).unwrap(), data, "wrapped length {len}");
            let mut spaced = String::new();
            for ch in enc.chars() {
                if rng.below(5) == 0 {
                    spaced.push([' ', '\t', '\n', '\r'][rng.below(4)]);
                }
                spaced.push(ch);
            }
            spaced.push('\n');
            assert_eq!(decode(&spaced).unwrap(), data, "spaced {spaced:?}");
        }
    }

    #[test]
    fn refuses_what_the_canonical_decoder_refuses() {
        for bad in [
            "A",
            "AB",
            "ABC",
            "A===",
            "AB=",
            "AB=C",
            "ABC==",
            "AB==AB==",
            "AB=\n=",
            "ABC=A",
            // Non-zero trailing bits.
            "AB==",
            "ABD=", // Outside the alphabet.
            "AB-_",
            "ABC\u{0}",
            "QUJD\u{b}",
            "QUJD!",
            "Zm9v\u{a0}",
        ] {
            assert_eq!(decode(bad), oracle(bad), "{bad:?}");
        }
        assert_eq!(decode("AB=\n="), None);
        assert_eq!(decode("AA=="), Some(vec![0]));
        assert_eq!(decode("AB=="), None, "trailing bits must be zero");
        assert_eq!(decode(" \r\n"), Some(vec![]));
        assert_eq!(decode("Zm9vYmFy"), Some(b"foobar".to_vec()));
        assert_eq!(decode("Zm9vYg =\n="), Some(b"foob".to_vec()));
    }

    #[test]
    fn finds_one_foreign_byte_anywhere_in_a_long_value() {
        // The fast paths must notice any byte outside the alphabet at any position of a block.
        let mut rng = Rng(7);
        let data: Vec<u8> = (0..300).map(|_| rng.next() as u8).collect();
        let enc = STANDARD.encode(&data);
        assert_eq!(decode(&enc).unwrap(), data);
        for pos in 0..enc.len() {
            for byte in [
                b'!', b'-', b'_', b'=', b' ', 0x7f, 0, b'.', b'@', b'[', b'`', b'{',
            ] {
                let mut bytes = enc.clone().into_bytes();
                bytes[pos] = byte;
                let s = String::from_utf8(bytes).unwrap();
                assert_eq!(decode(&s), oracle(&s), "{byte:#x} at {pos}");
            }
        }
    }

    #[test]
    fn agrees_with_the_base64_crate_on_random_strings() {
        // Strings over the alphabet plus padding and white space, mostly valid-looking.
        let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n";
        let mut rng = Rng(42);
        let mut accepted = 0;
        for _ in 0..50_000 {
            let len = rng.below(24);
            let s: String = (0..len)
                .map(|_| char::from(chars[rng.below(chars.len() as u64)]))
                .collect();
            let ours = decode(&s);
            assert_eq!(ours, oracle(&s), "{s:?}");
            accepted += usize::from(ours.is_some());
        }
        // The comparison must have covered both outcomes.
        assert!(accepted > 1_000, "only {accepted} accepted");
    }
}
