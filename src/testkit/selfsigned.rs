//! A fresh RSA-2048 key and a self-signed X.509 certificate for it, made at run time, so a demo
//! never signs with a key that is published in this crate.
//!
//! The certificate is the smallest one an SP accepts: version 3, a random serial, `CN=<name>` as
//! subject and issuer, one year of validity, signed with RSA-SHA256. Only the DER that this needs
//! is written here.

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::crypto::{Certificate, SignatureAlgorithm, SigningKey};
use crate::error::Error;

/// A generated key pair: the signing key (with its certificate), and the key as PKCS#8 PEM so an
/// app can keep it (beside its database, say) and load it again at the next start.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The signing key, carrying its certificate.
    pub key: SigningKey,
    /// The self-signed certificate.
    pub certificate: Certificate,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
}

fn config_err(reason: impl Into<String>) -> Error {
    Error::Config {
        field: "generated_key",
        reason: reason.into(),
    }
}

/// Generates an RSA-2048 key and a self-signed certificate for `common_name`, valid from an hour
/// before `now` for a year.
///
/// # Errors
/// [`Error::Config`] when the system random number generator fails.
pub fn generate(common_name: &str, now: DateTime<Utc>) -> Result<GeneratedKey, Error> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let mut rng = getrandom::SysRng;
    let private = rsa::PrivateKey::new(&mut rng, 2048)
        .map_err(|e| config_err(format!("RSA key generation failed: {e}")))?;
    let key_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| config_err(format!("PKCS#8 encoding failed: {e}")))?
        .to_string();
    let spki = private
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| config_err(format!("public key encoding failed: {e}")))?;
    let unsigned = SigningKey::from_pem(&key_pem, None)?;

    let mut serial = [0u8; 16];
    crate::crypto::random_bytes(&mut serial)?;
    if let Some(first) = serial.first_mut() {
        *first &= 0x7f; // positive
        *first |= 0x01; // and no leading zero octet to strip
    }
    let name = seq(&set(&seq(&[
        oid(OID_CN),
        tlv(0x0c, common_name.as_bytes()),
    ]
    .concat())));
    let validity = seq(&[
        time(now - Duration::hours(1)),
        time(now + Duration::days(365)),
    ]
    .concat());
    let tbs = seq(&[
        tlv(0xa0, &integer(&[2])),
        integer(&serial),
        sha256_with_rsa(),
        name.clone(),
        validity,
        name,
        spki.as_bytes().to_vec(),
    ]
    .concat());
    let signature = unsigned.sign(SignatureAlgorithm::RsaSha256, &tbs)?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    let der = seq(&[tbs, sha256_with_rsa(), tlv(0x03, &bits)].concat());
    let certificate = Certificate::parse(&der)?;
    let key = SigningKey::from_pem(&key_pem, Some(certificate.clone()))?;
    let certificate_pem = pem("CERTIFICATE", &der);
    Ok(GeneratedKey {
        key,
        certificate,
        key_pem,
        certificate_pem,
    })
}

const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(content: &[u8]) -> Vec<u8> {
    tlv(0x30, content)
}

fn set(content: &[u8]) -> Vec<u8> {
    tlv(0x31, content)
}

fn oid(body: &[u8]) -> Vec<u8> {
    tlv(0x06, body)
}

fn integer(be: &[u8]) -> Vec<u8> {
    tlv(0x02, be)
}

fn sha256_with_rsa() -> Vec<u8> {
    seq(&[oid(OID_SHA256_WITH_RSA), vec![0x05, 0x00]].concat())
}

/// UTCTime before 2050, GeneralizedTime after (RFC 5280 4.1.2.5).
fn time(t: DateTime<Utc>) -> Vec<u8> {
    if t.year() < 2050 {
        tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(0x18, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_certificate_parses_and_verifies_its_key() {
        let now = crate::time::parse_instant("2030-01-01T00:00:00Z", "now").unwrap();
        let g = generate("saml-sp demo IdP", now).unwrap();
        let msg = b"signed by the generated key";
        let sig = g.key.sign(SignatureAlgorithm::RsaSha256, msg).unwrap();
        assert!(
            g.certificate
                .verify(SignatureAlgorithm::RsaSha256, msg, &sig, false)
                .is_ok()
        );
        assert_eq!(
            Certificate::parse(g.certificate_pem.as_bytes()).unwrap(),
            g.certificate
        );
        // A second generation is a different key.
        let other = generate("saml-sp demo IdP", now).unwrap();
        assert_ne!(other.certificate, g.certificate);
    }
}
