//! The HTTP-POST binding: the base64 form field (size checked before decoding) and the
//! auto-submitting form; and the CLI's detection of how a captured Response was handed over.

use crate::error::Error;
use crate::xml::escape_attr;
use crate::xml::{Limits, XmlError};

use super::params::parse_params;

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

/// An auto-submitting HTML page for the HTTP-POST binding, and the Content-Security-Policy it
/// is served with: the only script is the submit call, allowed by a fresh nonce, so the page
/// works under a strict CSP (no inline event handlers, no `unsafe-inline`).
///
/// `form-action` is deliberately absent from the policy: browsers apply it to the redirects
/// the IdP answers the POST with, which would break logins that hop between IdP hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostPage {
    /// The HTML (every value escaped; a `<noscript>` Continue button).
    pub html: String,
    /// The `Content-Security-Policy` header value to serve it with.
    pub content_security_policy: String,
}

impl std::fmt::Display for PostPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.html)
    }
}

/// An auto-submitting HTML form posting `param` (base64 already) to `action`.
pub fn post_form(
    action: &str,
    param: &str,
    value_b64: &str,
    relay_state: Option<&str>,
) -> PostPage {
    let mut fields = vec![(param, value_b64)];
    if let Some(r) = relay_state {
        fields.push(("RelayState", r));
    }
    post_fields(action, &fields)
}

/// An auto-submitting HTML form posting `fields` (name, value; each escaped) to `action`.
pub(crate) fn post_fields(action: &str, fields: &[(&str, &str)]) -> PostPage {
    let mut nonce = [0u8; 16];
    let nonce = crate::crypto::random_bytes(&mut nonce)
        .ok()
        .map(|()| crate::crypto::hex(&nonce));
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in</title></head><body>",
    );
    html.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape_attr(action)
    ));
    for (name, value) in fields {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
            escape_attr(name),
            escape_attr(value)
        ));
    }
    html.push_str("<noscript><p>JavaScript is disabled. Press Continue to sign in.</p><button type=\"submit\">Continue</button></noscript>");
    html.push_str("</form>");
    let script_src = match &nonce {
        Some(n) => {
            html.push_str(&format!(
                "<script nonce=\"{n}\">document.forms[0].submit()</script>"
            ));
            format!("'nonce-{n}'")
        }
        // Without randomness there is no nonce: no script, and the page shows its button.
        None => {
            html = html.replace("<noscript>", "").replace("</noscript>", "");
            "'none'".to_owned()
        }
    };
    html.push_str("</body></html>\n");
    PostPage {
        html,
        content_security_policy: format!(
            "default-src 'none'; script-src {script_src}; base-uri 'none'; frame-ancestors 'none'"
        ),
    }
}
