//! A hash map for short keys taken from the input (prefixes, namespace URIs, attribute names).
//!
//! It hashes with foldhash, several times faster than SipHash on short keys, under a seed drawn
//! once per process from the operating system's random source (getrandom), and a distinct
//! per-map seed. An attacker who cannot see hash values cannot precompute keys that collide, so
//! a hostile document cannot turn look-ups quadratic, as it could with an unseeded hash such as
//! FNV. foldhash's own default seed comes from address-space layout and the clock; saml-sp
//! prefers the OS random source and falls back to that only if the OS refuses.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::SharedSeed;
use foldhash::fast::{FoldHasher, SeedableRandomState};

pub(crate) type FastMap<K, V> = HashMap<K, V, Seeded>;

/// foldhash keyed from the OS random source.
#[derive(Clone, Debug)]
pub(crate) struct Seeded(SeedableRandomState);

struct Seeds {
    shared: SharedSeed,
    per_map_base: u64,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            return Seeds {
                shared: SharedSeed::global_random().clone(),
                per_map_base: 0,
            };
        }
        let (a, b) = bytes.split_at(8);
        let word = |s: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(s).unwrap_or([0; 8]));
        Seeds {
            shared: SharedSeed::from_u64(word(a)),
            per_map_base: word(b),
        }
    })
}

impl Default for Seeded {
    fn default() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let s = seeds();
        // Distinct per map; the shared seed keeps it unpredictable.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Seeded(SeedableRandomState::with_seed(
            s.per_map_base ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            &s.shared,
        ))
    }
}

impl BuildHasher for Seeded {
    type Hasher = FoldHasher<'static>;
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

#[cfg(test)]
mod tests {
    use super::{FastMap, Seeded};
    use std::hash::BuildHasher;

    #[test]
    fn maps_get_distinct_seeds_and_work_as_maps() {
        let (a, b) = (Seeded::default(), Seeded::default());
        let key = "urn:oasis:names:tc:SAML:2.0:assertion";
        assert_ne!(a.hash_one(key), b.hash_one(key));
        assert_eq!(a.hash_one(key), a.hash_one(key));
        let mut m: FastMap<&str, usize> = FastMap::default();
        for (i, k) in ["", "xml", "saml", "ds", "xs"].iter().enumerate() {
            m.insert(k, i);
        }
        assert_eq!(m.get("ds"), Some(&3));
        assert_eq!(m.get("xsi"), None);
    }
}
