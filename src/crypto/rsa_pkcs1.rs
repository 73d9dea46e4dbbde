//! RSASSA-PKCS1-v1_5 signature verification (RFC 8017 section 8.2.2) for the pure-Rust backend.
//!
//! `rsa` 0.10 applies the public exponent with the same constant-time, 4-bit-window
//! exponentiation it uses for private keys: for the usual e = 65537 that is a 16-entry table and
//! about 35 Montgomery products, where square-and-multiply needs 17 (16 squarings and one
//! product). Verification handles public values only (the key, the signature, the digest), so the
//! variable-time square-and-multiply here leaks nothing. The arithmetic is `crypto-bigint`'s (the
//! same Montgomery parameters `rsa` precomputed when the key was loaded); what this module adds
//! is the exponent loop and RFC 8017's encode-and-compare check, which builds the one valid
//! encoded message and compares it with the recovered one byte for byte: nothing in the
//! recovered block is parsed, so the padding-parsing forgeries (Bleichenbacher 2006 and its
//! relatives) have nothing to work on.
//!
//! The tests check it against `rsa`'s own verification on valid signatures, on every kind of
//! corruption, and on keys with other exponents.

use crypto_bigint::modular::BoxedMontyForm;
use crypto_bigint::{BoxedUint, MontyForm, MontyMultiplier};
use rsa::traits::PublicKeyParts;

/// The DER prefix of `DigestInfo` for a digest algorithm (RFC 8017 section 9.2, note 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DigestInfo {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestInfo {
    fn prefix(self) -> &'static [u8] {
        match self {
            DigestInfo::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            DigestInfo::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            DigestInfo::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            DigestInfo::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    fn digest_len(self) -> usize {
        match self {
            DigestInfo::Sha1 => 20,
            DigestInfo::Sha256 => 32,
            DigestInfo::Sha384 => 48,
            DigestInfo::Sha512 => 64,
        }
    }
}

/// Whether `signature` is a valid RSASSA-PKCS1-v1_5 signature by `key` on the digest `hash`.
pub(crate) fn verify(
    key: &rsa::PublicKey,
    digest: DigestInfo,
    hash: &[u8],
    signature: &[u8],
) -> bool {
    let k = key.size();
    // Step 1: the signature is exactly k octets. (And a public exponent of at least 3: `rsa`
    // loads keys with e >= 2 only, but with e = 1 every block would be its own signature.)
    if signature.len() != k || hash.len() != digest.digest_len() || key.e() < &BoxedUint::from(3u64)
    {
        return false;
    }
    // Step 2a-b (RSAVP1): s < n, m = s^e mod n.
    let n = key.n();
    let Ok(s) = BoxedUint::from_be_slice(signature, n.bits_precision()) else {
        return false;
    };
    if s >= *n.as_ref() {
        return false;
    }
    let m = public_op(key, s);
    // Step 2c (I2OSP): m into k octets; m < n < 2^(8k) so it always fits.
    let m_bytes = m.to_be_bytes();
    let Some(recovered) = m_bytes.get(m_bytes.len().saturating_sub(k)..) else {
        return false;
    };
    if m_bytes
        .get(..m_bytes.len().saturating_sub(k))
        .is_some_and(|high| high.iter().any(|&b| b != 0))
    {
        return false;
    }
    // Steps 3-4: EM' = 0x00 || 0x01 || PS (0xff, at least 8) || 0x00 || DigestInfo || H,
    // compared with the recovered block whole.
    let prefix = digest.prefix();
    let t_len = prefix.len() + hash.len();
    let Some(ps_len) = k.checked_sub(t_len + 3).filter(|&n| n >= 8) else {
        return false;
    };
    let mut expected = Vec::with_capacity(k);
    expected.extend_from_slice(&[0x00, 0x01]);
    expected.resize(2 + ps_len, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(prefix);
    expected.extend_from_slice(hash);
    expected.as_slice() == recovered
}

/// `s^e mod n` by left-to-right square-and-multiply (the exponent is public).
fn public_op(key: &rsa::PublicKey, s: BoxedUint) -> BoxedUint {
    let params = key.n_params();
    let e = key.e();
    let base = BoxedMontyForm::new(s, params);
    let mut acc = base.clone();
    let mut multiplier = <BoxedMontyForm as MontyForm>::Multiplier::from(params);
    // The top bit is the initial `acc = base` ([`verify`] refuses e < 3).
    for i in (0..e.bit_width_vartime().saturating_sub(1)).rev() {
        multiplier.square_assign(&mut acc);
        if e.bit_vartime(i) {
            multiplier.mul_assign(&mut acc, &base);
        }
    }
    acc.retrieve()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rsa::signature::hazmat::PrehashSigner;
    use sha2::Digest;

    fn oracle(key: &rsa::PublicKey, d: DigestInfo, hash: &[u8], sig: &[u8]) -> bool {
        let scheme = match d {
            DigestInfo::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            DigestInfo::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            DigestInfo::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            DigestInfo::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        key.verify(scheme, hash, sig).is_ok()
    }

    fn keys() -> Vec<rsa::PrivateKey> {
        use rsa::pkcs8::DecodePrivateKey;
        let test_idp = include_str!("../testkit/test-idp.key");
        let other = include_str!("../testkit/other.key");
        vec![
            rsa::PrivateKey::from_pkcs8_pem(test_idp).unwrap(),
            rsa::PrivateKey::from_pkcs8_pem(other).unwrap(),
        ]
    }

    fn sign(key: &rsa::PrivateKey, d: DigestInfo, hash: &[u8]) -> Vec<u8> {
        use rsa::pkcs1v15::SigningKey;
        use rsa::signature::SignatureEncoding;
        match d {
            DigestInfo::Sha1 => SigningKey::<sha1::Sha1>::new(key.clone())
                .sign_prehash(hash)
                .unwrap()
                .to_vec(),
            DigestInfo::Sha256 => SigningKey::<sha2::Sha256>::new(key.clone())
                .sign_prehash(hash)
                .unwrap()
                .to_vec(),
            DigestInfo::Sha384 => SigningKey::<sha2::Sha384>::new(key.clone())
                .sign_prehash(hash)
                .unwrap()
                .to_vec(),
            DigestInfo::Sha512 => SigningKey::<sha2::Sha512>::new(key.clone())
                .sign_prehash(hash)
                .unwrap()
                .to_vec(),
        }
    }

    fn hash_for(d: DigestInfo, msg: &[u8]) -> Vec<u8> {
        match d {
            DigestInfo::Sha1 => sha1::Sha1::digest(msg).to_vec(),
            DigestInfo::Sha256 => sha2::Sha256::digest(msg).to_vec(),
            DigestInfo::Sha384 => sha2::Sha384::digest(msg).to_vec(),
            DigestInfo::Sha512 => sha2::Sha512::digest(msg).to_vec(),
        }
    }

    const ALL: [DigestInfo; 4] = [
        DigestInfo::Sha1,
        DigestInfo::Sha256,
        DigestInfo::Sha384,
        DigestInfo::Sha512,
    ];

    #[test]
    fn accepts_valid_signatures_like_the_rsa_crate() {
        for key in keys() {
            let public = key.to_public_key();
            for d in ALL {
                for msg in [&b"SignedInfo"[..], b"", b"another message"] {
                    let hash = hash_for(d, msg);
                    let sig = sign(&key, d, &hash);
                    assert!(oracle(&public, d, &hash, &sig), "{d:?}");
                    assert!(verify(&public, d, &hash, &sig), "{d:?}");
                }
            }
        }
    }

    #[test]
    fn refuses_every_corruption_the_rsa_crate_refuses() {
        let keys = keys();
        for (ki, key) in keys.iter().enumerate() {
            let public = key.to_public_key();
            let other = keys[(ki + 1) % keys.len()].to_public_key();
            for d in ALL {
                let hash = hash_for(d, b"SignedInfo");
                let sig = sign(key, d, &hash);
                // Every single-bit flip of the signature (a sample of positions) and of the hash.
                for pos in (0..sig.len()).step_by(7).chain([0, sig.len() - 1]) {
                    for bit in [0u8, 3, 7] {
                        let mut bad = sig.clone();
                        bad[pos] ^= 1 << bit;
                        assert!(!verify(&public, d, &hash, &bad), "{d:?} sig {pos}/{bit}");
                        assert!(!oracle(&public, d, &hash, &bad));
                    }
                }
                for pos in 0..hash.len() {
                    let mut bad = hash.clone();
                    bad[pos] ^= 0x80;
                    assert!(!verify(&public, d, &bad, &sig), "{d:?} hash {pos}");
                }
                // Another digest algorithm's DigestInfo, another key, wrong lengths.
                for other_d in ALL.into_iter().filter(|&o| o != d) {
                    let other_hash = hash_for(other_d, b"SignedInfo");
                    assert!(!verify(&public, other_d, &other_hash, &sig));
                    assert!(!oracle(&public, other_d, &other_hash, &sig));
                }
                assert!(!verify(&other, d, &hash, &sig));
                assert!(!verify(&public, d, &hash, &sig[1..]));
                let mut longer = vec![0u8];
                longer.extend_from_slice(&sig);
                assert!(!verify(&public, d, &hash, &longer));
                assert!(!oracle(&public, d, &hash, &longer));
                assert!(!verify(&public, d, &hash[1..], &sig));
            }
        }
    }

    #[test]
    fn refuses_signatures_not_below_the_modulus() {
        let key = keys().remove(0);
        let public = key.to_public_key();
        let hash = hash_for(DigestInfo::Sha256, b"SignedInfo");
        let sig = sign(&key, DigestInfo::Sha256, &hash);
        // s + n has the same residue: a valid signature must still be refused as s >= n.
        let n = public.n().as_ref().clone();
        let s = BoxedUint::from_be_slice(&sig, n.bits_precision()).unwrap();
        let (sum, carry) = s.carrying_add(&n, crypto_bigint::Limb::ZERO);
        if carry == crypto_bigint::Limb::ZERO {
            let bytes = sum.to_be_bytes();
            assert_eq!(bytes.len(), sig.len());
            assert!(!verify(&public, DigestInfo::Sha256, &hash, &bytes));
            assert!(!oracle(&public, DigestInfo::Sha256, &hash, &bytes));
        }
        let n_bytes = n.to_be_bytes();
        assert!(!verify(&public, DigestInfo::Sha256, &hash, &n_bytes));
        assert!(!verify(
            &public,
            DigestInfo::Sha256,
            &hash,
            &vec![0xff; sig.len()]
        ));
        assert!(!verify(
            &public,
            DigestInfo::Sha256,
            &hash,
            &vec![0; sig.len()]
        ));
        let mut one = vec![0; sig.len()];
        *one.last_mut().unwrap() = 1;
        assert!(!verify(&public, DigestInfo::Sha256, &hash, &one));
    }

    #[test]
    fn agrees_with_the_rsa_crate_for_other_public_exponents() {
        // Fresh e = 3 and e = 17 keys exercise the exponent loop's
        // multiply step on other bit patterns than 65537's.
        let mut rng = getrandom::SysRng;
        for e in [3u64, 17, 65537] {
            let key = rsa::PrivateKey::new_with_exp(&mut rng, 1024, BoxedUint::from(e)).unwrap();
            let public = key.to_public_key();
            let hash = hash_for(DigestInfo::Sha256, b"SignedInfo");
            let sig = sign(&key, DigestInfo::Sha256, &hash);
            assert!(verify(&public, DigestInfo::Sha256, &hash, &sig), "e = {e}");
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert!(!verify(&public, DigestInfo::Sha256, &hash, &bad), "e = {e}");
        }
    }
}
