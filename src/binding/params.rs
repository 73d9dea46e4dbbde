//! Query strings and form bodies as the bindings use them: split into parameters keeping each
//! value's octets as received (a Redirect signature covers them), decoded once, linear.

use crate::error::Error;

/// Percent-decodes one `application/x-www-form-urlencoded` component (`+` is a space).
///
/// # Errors
/// [`Error::Binding`] for a malformed escape or non-UTF-8 result.
pub(crate) fn form_decode(s: &str) -> Result<String, Error> {
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
pub(crate) fn url_encode(s: &str) -> String {
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
pub(crate) struct RawParam<'a> {
    /// Decoded name.
    pub(crate) name: String,
    /// The value exactly as received (needed to verify Redirect-binding signatures).
    pub(crate) raw_value: &'a str,
    /// Decoded value.
    pub(crate) value: String,
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
