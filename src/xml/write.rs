//! Escaping for the XML saml-sp writes (AuthnRequests, metadata, HTML forms).

/// Escapes text content (`&`, `<`, `>`).
pub fn escape_text(s: &str) -> String {
    escape(s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '\r' => Some("&#13;"),
        _ => None,
    })
}

/// Escapes an attribute value for double quotes (also safe in HTML attributes).
pub fn escape_attr(s: &str) -> String {
    escape(s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        '\t' => Some("&#9;"),
        '\n' => Some("&#10;"),
        '\r' => Some("&#13;"),
        _ => None,
    })
}

/// `s` with each character that `replacement` maps replaced by what it maps to.
fn escape(s: &str, replacement: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match replacement(c) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_attr, escape_text};

    #[test]
    fn text_and_attribute_escapes() {
        assert_eq!(escape_text("a<b>&c\r\"'\t"), "a&lt;b&gt;&amp;c&#13;\"'\t");
        assert_eq!(
            escape_attr("a<b>&c\r\"'\t\n"),
            "a&lt;b&gt;&amp;c&#13;&quot;&#39;&#9;&#10;"
        );
        assert_eq!(escape_attr("plain é"), "plain é");
    }
}
