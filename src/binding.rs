//! Message encodings of the SAML bindings: the HTTP-POST form field, and the HTTP-Redirect
//! binding's raw DEFLATE + base64 + URL encoding, with hard caps on inflated size.

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::{SignatureAlgorithm, SigningKey};
use crate::error::Error;
use crate::xml::escape_attr;
use crate::xml::{Limits, XmlError};

/// Decodes the base64 `SAMLResponse` field of an HTTP-POST form (line breaks and spaces, as IdPs
/// wrap lines, are allowed). The encoded size is checked against `limits.max_input_bytes` *before*
/// decoding, so an oversized body costs nothing.
///
/// # Errors
/// [`Error::Xml`] with a limit error when the field is too large; [`Error::Binding`] when it is
/// not valid standard base64.
pub fn decode_post(saml_response: &str, limits: &Limits) -> Result<Vec<u8>, Error> {
    // base64 grows by 4/3; allow generous white space for line wrapping.
    let max_encoded = limits.max_input_bytes.saturating_mul(3) / 2 + 1024;
    if saml_response.len() > max_encoded {
        return Err(Error::Xml(XmlError::LimitExceeded {
            limit: "max_input_bytes (encoded SAMLResponse)",
            max: max_encoded,
            found: saml_response.len(),
        }));
    }
    crate::crypto::decode_base64(saml_response)
        .ok_or_else(|| Error::Binding("SAMLResponse is not valid base64".into()))
}

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
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Percent-decodes one `application/x-www-form-urlencoded` component (`+` is a space).
///
/// # Errors
/// [`Error::Binding`] for a malformed escape or non-UTF-8 result.
pub fn form_decode(s: &str) -> Result<String, Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| Error::Binding("truncated %-escape".into()))?;
                let hex =
                    std::str::from_utf8(hex).map_err(|_| Error::Binding("bad %-escape".into()))?;
                out.push(
                    u8::from_str_radix(hex, 16)
                        .map_err(|_| Error::Binding("bad %-escape".into()))?,
                );
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::Binding("parameter is not UTF-8".into()))
}

/// Percent-encodes for a URL query component (RFC 3986 unreserved characters kept).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One parameter of a query string or form body, with its raw (still encoded) value as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParam<'a> {
    /// Decoded name.
    pub name: String,
    /// The value exactly as received (needed to verify Redirect-binding signatures).
    pub raw_value: &'a str,
    /// Decoded value.
    pub value: String,
}

/// The most parameters a query string or form body may carry. The bindings use at most four
/// (`SAMLRequest`/`SAMLResponse`, `RelayState`, `SigAlg`, `Signature`); apps add a few.
pub const MAX_PARAMS: usize = 32;

/// Splits a query string or form body (`a=1&b=2`, an optional leading `?` or a whole URL are
/// accepted) into parameters, keeping each value as received (a Redirect-binding signature covers
/// the octets exactly as sent). Duplicate names are refused (the binding never repeats one), and
/// so are more than [`MAX_PARAMS`] parameters. Linear in the input: duplicates are found through
/// a set.
///
/// # Errors
/// [`Error::Binding`] for malformed escapes, a repeated parameter or too many parameters.
pub(crate) fn parse_params(input: &str) -> Result<Vec<RawParam<'_>>, Error> {
    let query = match input.split_once('?') {
        Some((_, q)) => q,
        None => input,
    };
    let query = query.split('#').next().unwrap_or("");
    let mut params: Vec<RawParam<'_>> = Vec::new();
    let mut names = std::collections::HashSet::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if params.len() >= MAX_PARAMS {
            return Err(Error::Binding(format!("more than {MAX_PARAMS} parameters")));
        }
        let (name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(name)?;
        if !names.insert(name.clone()) {
            return Err(Error::Binding(format!(
                "parameter {} appears more than once",
                name.chars().take(40).collect::<String>()
            )));
        }
        let value = form_decode(raw_value)?;
        params.push(RawParam {
            name,
            raw_value,
            value,
        });
    }
    Ok(params)
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

    #[test]
    fn params() {
        let p = parse_params("https://x/sso?SAMLRequest=a%2Bb&RelayState=r+s").unwrap();
        assert_eq!(p[0].name, "SAMLRequest");
        assert_eq!(p[0].value, "a+b");
        assert_eq!(p[0].raw_value, "a%2Bb");
        assert_eq!(p[1].value, "r s");
        assert!(parse_params("a=1&a=2").is_err());
        assert!(parse_params("a=%zz").is_err());
        assert_eq!(url_encode("a b/+="), "a%20b%2F%2B%3D");
    }
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
    /// Verifies the detached signature with the configured certificates only. `Ok(false)` when
    /// the message is unsigned.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] for a SigAlg outside the allow-list (SHA-1 only with
    /// `allow_legacy`); [`Error::SignatureInvalid`] when no configured key verifies it.
    pub fn verify_signature(
        &self,
        certificates: &[crate::crypto::Certificate],
        allow_legacy: bool,
    ) -> Result<bool, Error> {
        let Some((alg, sig, octets)) = &self.signature else {
            return Ok(false);
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
            Ok(true)
        } else {
            Err(Error::SignatureInvalid {
                element: "Redirect query",
                reason: "no configured certificate verifies the query signature".into(),
            })
        }
    }
}

/// Auto-detects how a captured `SAMLResponse` was handed over and returns the XML: raw XML, the
/// base64 value as POSTed (line breaks allowed), or a whole form body
/// `SAMLResponse=...&RelayState=...` (URL-encoded).
///
/// # Errors
/// [`Error::Binding`] when it is none of these; limit errors for oversized input.
pub fn decode_response_input(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    if rest.starts_with(b"<") || rest.starts_with("\u{feff}".as_bytes()) {
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(rest)
        .map_err(|_| Error::Binding("input is neither XML, base64 nor a form body".into()))?
        .trim();
    if text.contains("SAMLResponse=") {
        let params = parse_params(text)?;
        let value = params
            .iter()
            .find(|p| p.name == "SAMLResponse")
            .ok_or_else(|| Error::Binding("no SAMLResponse parameter".into()))?;
        return decode_post(&value.value, limits);
    }
    decode_post(text, limits)
}

/// The binding's limit on RelayState (SAML Bindings 3.4.3 / 3.5.3).
pub const MAX_RELAY_STATE: usize = 80;

pub(crate) fn check_relay_state(relay_state: Option<&str>) -> Result<(), Error> {
    match relay_state {
        Some(r) if r.len() > MAX_RELAY_STATE => Err(Error::Binding(format!(
            "RelayState is {} bytes; the SAML bindings allow at most {MAX_RELAY_STATE}",
            r.len()
        ))),
        _ => Ok(()),
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

/// An auto-submitting HTML form posting `param` (base64 already) to `action`.
pub fn post_form(action: &str, param: &str, value_b64: &str, relay_state: Option<&str>) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in</title></head>",
    );
    html.push_str("<body onload=\"document.forms[0].submit()\">");
    html.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape_attr(action)
    ));
    html.push_str(&format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
        escape_attr(param),
        escape_attr(value_b64)
    ));
    if let Some(r) = relay_state {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>",
            escape_attr(r)
        ));
    }
    html.push_str("<noscript><p>JavaScript is disabled. Press Continue to sign in.</p><button type=\"submit\">Continue</button></noscript>");
    html.push_str("</form></body></html>\n");
    html
}
