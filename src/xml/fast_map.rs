//! A hash map for short keys taken from the input (prefixes, namespace URIs, attribute names).
//!
//! It uses foldhash with a per-map random seed: several times faster than SipHash on short keys,
//! and an attacker who cannot observe hash values cannot precompute colliding keys, so a hostile
//! document cannot turn look-ups quadratic. (An unseeded hash such as FNV could be.)

use std::collections::HashMap;

pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
