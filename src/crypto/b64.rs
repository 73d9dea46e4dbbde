//! Decoding of XML Schema `base64Binary` (RFC 4648 alphabet with padding): white space anywhere
//! is ignored, and the encoding must be canonical (correct padding, zero trailing bits).
//!
//! Every SAMLResponse passes through here, so it decodes eight characters at a time when no
//! white space interrupts them, and falls back to one character at a time around white space and
//! padding. The `base64` crate remains the encoder and is the oracle in the tests.

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

/// Not an alphabet character, in the shifted tables.
const NOT_ALPHABET: u32 = 0x8000_0000;

/// Each alphabet character's value shifted into its place in a 24-bit quantum (evaluated at
/// compile time only).
#[allow(clippy::indexing_slicing)]
const fn shifted(shift: u32) -> [u32; 256] {
    let mut t = [NOT_ALPHABET; 256];
    let mut c = 0;
    while c < 256 {
        let v = TABLE[c];
        if v < 64 {
            t[c] = (v as u32) << shift;
        }
        c += 1;
    }
    t
}

static Q0: [u32; 256] = shifted(18);
static Q1: [u32; 256] = shifted(12);
static Q2: [u32; 256] = shifted(6);
static Q3: [u32; 256] = shifted(0);

fn lookup(table: &[u32; 256], c: u8) -> u32 {
    table.get(usize::from(c)).copied().unwrap_or(NOT_ALPHABET)
}

/// Four alphabet characters as a 24-bit quantum, or a value with [`NOT_ALPHABET`] set.
fn quantum(c: [u8; 4]) -> u32 {
    let [a, b, c, d] = c;
    lookup(&Q0, a) | lookup(&Q1, b) | lookup(&Q2, c) | lookup(&Q3, d)
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
                let mut q = [0u32; 8];
                let mut bad = 0;
                for (k, slot) in q.iter_mut().enumerate() {
                    let c = chunk.get(4 * k..4 * k + 4).unwrap_or(b"!!!!");
                    *slot = quantum(<[u8; 4]>::try_from(c).unwrap_or([b'!'; 4]));
                    bad |= *slot;
                }
                if bad & NOT_ALPHABET != 0 {
                    break;
                }
                for (k, pair) in q.chunks_exact(2).enumerate() {
                    let [hi, lo] = <[u32; 2]>::try_from(pair).unwrap_or([0; 2]);
                    let word = (u64::from(hi) << 40) | (u64::from(lo) << 16);
                    if let Some(d) = dst.get_mut(6 * k..6 * k + 8) {
                        d.copy_from_slice(&word.to_be_bytes());
                    }
                }
                i += 32;
                o += 24;
            }
            while let (Some(chunk), Some(dst)) = (bytes.get(i..i + 8), out.get_mut(o..o + 8)) {
                let [a, b, c, d, e, f, g, h] = <[u8; 8]>::try_from(chunk).unwrap_or([b'!'; 8]);
                let (hi, lo) = (quantum([a, b, c, d]), quantum([e, f, g, h]));
                if (hi | lo) & NOT_ALPHABET != 0 {
                    break;
                }
                let word = (u64::from(hi) << 40) | (u64::from(lo) << 16);
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
