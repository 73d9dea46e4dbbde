//! The HTTP-Redirect binding: raw DEFLATE with hard caps on the inflated size, base64, URL
//! encoding, and the detached signature over the query octets exactly as received.

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::{SignatureAlgorithm, SigningKey};
use crate::error::Error;
use crate::xml::XmlError;

use super::check_relay_state;
use super::params::{parse_params, url_encode};

/// Options for [`inflate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InflateOptions {
    /// Largest inflated output accepted (default 256 KiB).
    pub max_output: usize,
    /// Largest inflated/compressed ratio accepted (default 100; real SAML messages compress 3-10x).
    pub max_ratio: usize,
    /// Accept zlib (RFC 1950) or gzip framing around the DEFLATE data. The binding requires raw
    /// DEFLATE (RFC 1951); some old SPs/IdPs send zlib. Off by default.
    pub allow_zlib_or_gzip: bool,
}

impl Default for InflateOptions {
    fn default() -> Self {
        InflateOptions {
            max_output: 256 * 1024,
            max_ratio: 100,
            allow_zlib_or_gzip: false,
        }
    }
}

impl InflateOptions {
    /// With a different output cap.
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }
    /// With a different ratio cap.
    pub fn with_max_ratio(mut self, ratio: usize) -> Self {
        self.max_ratio = ratio;
        self
    }
    /// Accepting zlib or gzip framing.
    pub fn allowing_zlib_or_gzip(mut self) -> Self {
        self.allow_zlib_or_gzip = true;
        self
    }
}

fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn looks_like_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// Inflates raw DEFLATE data (the HTTP-Redirect binding), streaming, and stops with a limit
/// error as soon as the output passes `max_output` or `max_ratio` times the input: a deflate bomb
/// costs at most the cap.
///
/// # Errors
/// [`Error::Xml`] (limit) past a cap; [`Error::Binding`] for corrupt data, trailing bytes, or zlib
/// / gzip framing when not allowed.
pub fn inflate(data: &[u8], opts: &InflateOptions) -> Result<Vec<u8>, Error> {
    let cap = opts
        .max_output
        .min(data.len().saturating_mul(opts.max_ratio).max(4096));
    let framed = looks_like_gzip(data) || looks_like_zlib(data);
    let mut out = Vec::with_capacity(cap.min(64 * 1024));
    let result = if framed && opts.allow_zlib_or_gzip {
        if looks_like_gzip(data) {
            read_capped(flate2::read::GzDecoder::new(data), cap, &mut out)
        } else {
            read_capped(flate2::read::ZlibDecoder::new(data), cap, &mut out)
        }
    } else {
        let mut decoder = flate2::read::DeflateDecoder::new(data);
        let r = read_capped(&mut decoder, cap, &mut out);
        if r.is_ok() && decoder.total_in() != data.len() as u64 {
            return Err(Error::Binding(
                "trailing bytes after the DEFLATE stream".into(),
            ));
        }
        r
    };
    match result {
        Ok(()) => Ok(out),
        Err(ReadCapped::TooLarge) => Err(Error::Xml(XmlError::LimitExceeded {
            limit: "max inflated size",
            max: cap,
            found: cap.saturating_add(1),
        })),
        Err(ReadCapped::Corrupt(_)) if framed && !opts.allow_zlib_or_gzip => Err(Error::Binding(
            "zlib or gzip framing around the DEFLATE data; the Redirect binding requires raw DEFLATE (RFC 1951)".into(),
        )),
        Err(ReadCapped::Corrupt(e)) => Err(Error::Binding(format!("invalid DEFLATE data: {e}"))),
    }
}

enum ReadCapped {
    TooLarge,
    Corrupt(std::io::Error),
}

fn read_capped<R: Read>(mut r: R, cap: usize, out: &mut Vec<u8>) -> Result<(), ReadCapped> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = r.read(&mut buf).map_err(ReadCapped::Corrupt)?;
        if n == 0 {
            return Ok(());
        }
        if out.len() + n > cap {
            return Err(ReadCapped::TooLarge);
        }
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

/// Deflates with raw DEFLATE (RFC 1951), as the HTTP-Redirect binding requires.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// A decoded HTTP-Redirect message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectMessage {
    /// `SAMLRequest` or `SAMLResponse`.
    pub param: &'static str,
    /// The inflated XML.
    pub xml: Vec<u8>,
    /// RelayState, decoded.
    pub relay_state: Option<String>,
    /// The detached signature: algorithm URI, signature bytes, and the exact signed octets
    /// (`SAMLRequest=...&RelayState=...&SigAlg=...` as received).
    pub signature: Option<(String, Vec<u8>, String)>,
}

/// Decodes an HTTP-Redirect message from a query string (or a whole URL), inflating with caps.
///
/// # Errors
/// [`Error::Binding`] for both or neither of SAMLRequest/SAMLResponse, a repeated parameter, a
/// Signature without SigAlg, bad base64; inflate errors.
pub fn decode_redirect(query: &str, opts: &InflateOptions) -> Result<RedirectMessage, Error> {
    let params = parse_params(query)?;
    let get = |n: &str| params.iter().find(|p| p.name == n);
    let (param, msg) = match (get("SAMLRequest"), get("SAMLResponse")) {
        (Some(m), None) => ("SAMLRequest", m),
        (None, Some(m)) => ("SAMLResponse", m),
        (Some(_), Some(_)) => {
            return Err(Error::Binding("both SAMLRequest and SAMLResponse".into()));
        }
        (None, None) => {
            return Err(Error::Binding(
                "no SAMLRequest or SAMLResponse parameter".into(),
            ));
        }
    };
    let max_encoded = opts.max_output;
    if msg.value.len() > max_encoded {
        return Err(Error::Xml(XmlError::LimitExceeded {
            limit: "encoded Redirect message",
            max: max_encoded,
            found: msg.value.len(),
        }));
    }
    let raw = crate::crypto::decode_base64(&msg.value)
        .ok_or_else(|| Error::Binding(format!("{param} is not valid base64")))?;
    let xml = inflate(&raw, opts)?;
    let relay = get("RelayState");
    let signature = match (get("SigAlg"), get("Signature")) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::Binding(
                "SigAlg and Signature must come together".into(),
            ));
        }
        (Some(alg), Some(sig)) => {
            let bytes = crate::crypto::decode_base64(&sig.value)
                .ok_or_else(|| Error::Binding("Signature is not valid base64".into()))?;
            // The signed octets are the parameters as received, in the binding's fixed order.
            let mut octets = format!("{param}={}", msg.raw_value);
            if let Some(r) = relay {
                octets.push_str(&format!("&RelayState={}", r.raw_value));
            }
            octets.push_str(&format!("&SigAlg={}", alg.raw_value));
            Some((alg.value.clone(), bytes, octets))
        }
    };
    Ok(RedirectMessage {
        param,
        xml,
        relay_state: relay.map(|r| r.value.clone()),
        signature,
    })
}

impl RedirectMessage {
    /// Verifies the detached signature with the configured certificates only: the algorithm
    /// that verified, or `Ok(None)` when the message is unsigned.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for a SigAlg outside the allow-list (SHA-1 only with
    /// `allow_legacy`); [`Error::SignatureInvalid`] when no configured key verifies it.
    pub fn verify_signature(
        &self,
        certificates: &[crate::crypto::Certificate],
        allow_legacy: bool,
    ) -> Result<Option<crate::crypto::SignatureAlgorithm>, Error> {
        let Some((alg, sig, octets)) = &self.signature else {
            return Ok(None);
        };
        let alg = crate::crypto::SignatureAlgorithm::from_uri(alg)?;
        if alg == crate::crypto::SignatureAlgorithm::RsaSha1 && !allow_legacy {
            return Err(Error::UnsupportedAlgorithm {
                found: alg.uri().into(),
                reason: "SHA-1 needs the legacy-crypto option".into(),
            });
        }
        if certificates
            .iter()
            .any(|c| c.verify(alg, octets.as_bytes(), sig, allow_legacy).is_ok())
        {
            Ok(Some(alg))
        } else {
            Err(Error::SignatureInvalid {
                element: "Redirect query",
                reason: "no configured certificate verifies the query signature".into(),
            })
        }
    }
}

/// Builds the query of an HTTP-Redirect message (`SAMLRequest` or `SAMLResponse`), signed when
/// `signing` is given.
///
/// # Errors
/// [`Error::Binding`] for a RelayState over 80 bytes; signing errors.
pub fn redirect_query(
    param: &str,
    xml: &[u8],
    relay_state: Option<&str>,
    signing: Option<(&SigningKey, SignatureAlgorithm)>,
) -> Result<String, Error> {
    check_relay_state(relay_state)?;
    let mut q = format!("{param}={}", url_encode(&STANDARD.encode(deflate(xml))));
    if let Some(r) = relay_state {
        q.push_str(&format!("&RelayState={}", url_encode(r)));
    }
    if let Some((key, alg)) = signing {
        q.push_str(&format!("&SigAlg={}", url_encode(alg.uri())));
        let sig = key.sign(alg, q.as_bytes())?;
        q.push_str(&format!("&Signature={}", url_encode(&STANDARD.encode(sig))));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflate_round_trip_and_caps() {
        let msg = b"<samlp:AuthnRequest/>".repeat(10);
        assert_eq!(
            inflate(&deflate(&msg), &InflateOptions::default()).unwrap(),
            msg
        );
        let bomb = deflate(&vec![b' '; 10 << 20]);
        assert_eq!(
            inflate(&bomb, &InflateOptions::default())
                .unwrap_err()
                .code(),
            "xml_limit_exceeded"
        );
    }

    #[test]
    fn zlib_and_gzip_framing_refused_unless_allowed() {
        use std::io::Write;
        let msg = b"<samlp:AuthnRequest ID=\"x\"/>";
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(msg).unwrap();
        let z = z.finish().unwrap();
        assert_eq!(
            inflate(&z, &InflateOptions::default()).unwrap_err().code(),
            "binding"
        );
        let lenient = InflateOptions {
            allow_zlib_or_gzip: true,
            ..InflateOptions::default()
        };
        assert_eq!(inflate(&z, &lenient).unwrap(), msg);
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(msg).unwrap();
        let g = g.finish().unwrap();
        assert_eq!(
            inflate(&g, &InflateOptions::default()).unwrap_err().code(),
            "binding"
        );
        assert_eq!(inflate(&g, &lenient).unwrap(), msg);
    }

    #[test]
    fn truncated_and_trailing() {
        let d = deflate(b"<a>hello hello hello</a>");
        assert!(inflate(&d[..d.len() - 3], &InflateOptions::default()).is_err());
        let mut t = d.clone();
        t.extend_from_slice(b"junk");
        assert_eq!(
            inflate(&t, &InflateOptions::default()).unwrap_err().code(),
            "binding"
        );
    }
}
