//! The SAML element helpers every message's checks share (Responses, Assertions and logout
//! messages alike): children by namespace, the one allowed child, simple text, instants, IDs,
//! versions, the Issuer, the NameID, the time window, and the parser and decryptor settings.

use chrono::{DateTime, Duration, Utc};

use crate::error::Error;
use crate::ns::NAMEID_ENTITY as ENTITY_FORMAT;
use crate::sp::assertion::NameId;
use crate::time::{format_instant, parse_instant};
use crate::xml::{Element, ParseOptions};

/// The child elements of `e` named `{ns}local`, in document order.
pub(crate) fn saml_children<'a, 's>(
    e: Element<'a>,
    ns: &'s str,
    local: &'s str,
) -> impl Iterator<Item = Element<'a>> + use<'a, 's> {
    e.child_elements().filter(move |c| c.is(ns, local))
}

/// The child `{ns}local` of `e`, if any; more than one is malformed.
pub(crate) fn only_child<'a>(
    e: Element<'a>,
    ns: &str,
    local: &str,
    parent: &str,
) -> Result<Option<Element<'a>>, Error> {
    let mut it = saml_children(e, ns, local);
    let first = it.next();
    if it.next().is_some() {
        return Err(Error::malformed(
            format!("at most one {local} in {parent}"),
            format!("several {local} elements"),
        ));
    }
    Ok(first)
}

/// The text of a simple-content element: no child elements allowed.
pub(crate) fn simple_text(e: Element<'_>) -> Result<String, Error> {
    if e.has_child_elements() {
        return Err(Error::malformed(
            format!("{} with text content only", e.local_name()),
            "child elements",
        ));
    }
    Ok(e.text())
}

/// The `xs:dateTime` attribute `attr` of `e`, if present (strictly parsed: UTC, `Z`).
pub(crate) fn instant(e: Element<'_>, attr: &'static str) -> Result<Option<DateTime<Utc>>, Error> {
    e.attribute(attr)
        .map(|v| parse_instant(v, attr))
        .transpose()
}

/// The `ID` attribute of `e` (the `what` element), which must be an `xs:ID`.
pub(crate) fn check_id(e: Element<'_>, what: &str) -> Result<String, Error> {
    let id = e
        .attribute("ID")
        .ok_or_else(|| Error::malformed(format!("an ID on the {what}"), "none"))?;
    if !crate::xml::is_id_like(id) {
        return Err(Error::malformed(
            format!("the {what} ID to be an xs:ID"),
            id.chars().take(80).collect::<String>(),
        ));
    }
    Ok(id.to_owned())
}

/// `Version="2.0"` on the `what` element.
pub(crate) fn check_version(e: Element<'_>, what: &str) -> Result<(), Error> {
    match e.attribute("Version") {
        Some("2.0") => Ok(()),
        other => Err(Error::malformed(
            format!("Version=\"2.0\" on the {what}"),
            format!("{other:?}"),
        )),
    }
}

/// The Issuer of `element` is `expected`, as simple text, with the entity Format if any.
pub(crate) fn check_issuer(
    issuer: Option<Element<'_>>,
    element: &'static str,
    expected: &str,
) -> Result<(), Error> {
    let Some(issuer) = issuer else {
        return Err(Error::IssuerMismatch {
            element,
            expected: expected.into(),
            found: "<missing>".into(),
        });
    };
    let value = simple_text(issuer)?;
    if value != expected {
        return Err(Error::IssuerMismatch {
            element,
            expected: expected.into(),
            found: value,
        });
    }
    if let Some(f) = issuer.attribute("Format")
        && f != ENTITY_FORMAT
    {
        return Err(Error::IssuerMismatch {
            element,
            expected: format!("Format {ENTITY_FORMAT}"),
            found: f.into(),
        });
    }
    Ok(())
}

/// The instant of a check and the allowed clock skew: every time comparison goes through it.
pub(crate) struct Window {
    pub(crate) now: DateTime<Utc>,
    pub(crate) skew: Duration,
}

impl Window {
    /// `t` is not after now (plus skew).
    pub(crate) fn not_before(&self, what: &'static str, t: DateTime<Utc>) -> Result<(), Error> {
        if self.now + self.skew < t {
            return Err(Error::NotYetValid {
                what,
                not_before: format_instant(t),
                now: format_instant(self.now),
                skew_seconds: self.skew.num_seconds(),
            });
        }
        Ok(())
    }
    /// Now (minus skew) is before `t`.
    pub(crate) fn not_on_or_after(
        &self,
        what: &'static str,
        t: DateTime<Utc>,
    ) -> Result<(), Error> {
        if self.now - self.skew >= t {
            return Err(Error::Expired {
                what,
                not_on_or_after: format_instant(t),
                now: format_instant(self.now),
                skew_seconds: self.skew.num_seconds(),
            });
        }
        Ok(())
    }
}

/// The NameID in `n` (a `saml:NameID`): non-empty simple text, with its qualifiers. One reading
/// for assertions and logout requests alike.
pub(crate) fn read_name_id(n: Element<'_>) -> Result<NameId, Error> {
    let value = simple_text(n)?;
    if value.is_empty() {
        return Err(Error::malformed("a non-empty NameID", "an empty NameID"));
    }
    let attr = |k: &str| n.attribute(k).map(str::to_owned);
    Ok(NameId {
        value,
        format: attr("Format"),
        name_qualifier: attr("NameQualifier"),
        sp_name_qualifier: attr("SPNameQualifier"),
        sp_provided_id: attr("SPProvidedID"),
    })
}

/// The parser settings for messages and for decrypted plaintext alike.
pub(crate) fn parse_options(cfg: &crate::sp::config::SpInner) -> ParseOptions {
    ParseOptions::default()
        .with_limits(cfg.policy.limits)
        .forbidding_processing_instructions()
}

/// The decryptor of encrypted elements with the SP's keys and the policy's legacy option.
pub(crate) fn decryptor<'a>(
    cfg: &'a crate::sp::config::SpInner,
    parse: &'a ParseOptions,
) -> crate::xmlenc::Decryptor<'a> {
    crate::xmlenc::Decryptor {
        keys: &cfg.policy.decryption_keys,
        allow_legacy: cfg.policy.danger.dangerous_allow_legacy_encryption,
        parse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Document;

    const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

    fn doc(xml: &str) -> Document {
        Document::parse(xml.as_bytes()).unwrap()
    }

    #[test]
    fn only_child_refuses_two_and_ignores_other_namespaces() {
        let d = doc(
            r#"<r xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:o="urn:other"><s:Issuer>a</s:Issuer><o:Issuer>b</o:Issuer></r>"#,
        );
        let one = only_child(d.root(), SAML, "Issuer", "r").unwrap().unwrap();
        assert_eq!(one.text(), "a");
        let d = doc(
            r#"<r xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion"><s:Issuer>a</s:Issuer><s:Issuer>b</s:Issuer></r>"#,
        );
        let e = only_child(d.root(), SAML, "Issuer", "r").unwrap_err();
        assert_eq!(e.code(), "malformed");
    }

    #[test]
    fn issuer_must_match_exactly_with_the_entity_format() {
        let d = doc(
            r#"<s:Issuer xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion">https://idp</s:Issuer>"#,
        );
        check_issuer(Some(d.root()), "Assertion", "https://idp").unwrap();
        let e = check_issuer(Some(d.root()), "Assertion", "https://idp/").unwrap_err();
        assert_eq!(e.code(), "issuer_mismatch");
        let e = check_issuer(None, "Assertion", "https://idp").unwrap_err();
        assert_eq!(e.code(), "issuer_mismatch");
        let d = doc(
            r#"<s:Issuer xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">https://idp</s:Issuer>"#,
        );
        let e = check_issuer(Some(d.root()), "Assertion", "https://idp").unwrap_err();
        assert_eq!(e.code(), "issuer_mismatch");
        let d = doc(
            r#"<s:Issuer xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion">https://idp<x/></s:Issuer>"#,
        );
        let e = check_issuer(Some(d.root()), "Assertion", "https://idp").unwrap_err();
        assert_eq!(e.code(), "malformed");
    }

    #[test]
    fn ids_versions_and_instants_are_strict() {
        let d = doc(r#"<r ID="_a1" Version="2.0" IssueInstant="2030-01-01T00:00:00Z"/>"#);
        assert_eq!(check_id(d.root(), "Response").unwrap(), "_a1");
        check_version(d.root(), "Response").unwrap();
        assert!(instant(d.root(), "IssueInstant").unwrap().is_some());
        let d = doc(r#"<r ID="a b" Version="2" IssueInstant="2030-01-01T00:00:00+01:00"/>"#);
        assert_eq!(
            check_id(d.root(), "Response").unwrap_err().code(),
            "malformed"
        );
        assert_eq!(
            check_version(d.root(), "Response").unwrap_err().code(),
            "malformed"
        );
        let e = instant(d.root(), "IssueInstant").unwrap_err();
        assert_eq!(e.code(), "invalid_time");
    }

    #[test]
    fn the_window_applies_the_skew_on_both_sides() {
        let t = parse_instant("2030-01-01T10:00:00Z", "t").unwrap();
        let w = Window {
            now: t,
            skew: Duration::seconds(60),
        };
        w.not_before("x", t + Duration::seconds(60)).unwrap();
        let e = w.not_before("x", t + Duration::seconds(61)).unwrap_err();
        assert_eq!(e.code(), "not_yet_valid");
        w.not_on_or_after("x", t - Duration::seconds(59)).unwrap();
        let e = w
            .not_on_or_after("x", t - Duration::seconds(60))
            .unwrap_err();
        assert_eq!(e.code(), "expired");
    }

    #[test]
    fn a_name_id_is_non_empty_simple_text_with_its_qualifiers() {
        let d = doc(
            r#"<s:NameID xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion" Format="f" SPNameQualifier="q">ada@example.com</s:NameID>"#,
        );
        let n = read_name_id(d.root()).unwrap();
        assert_eq!(n.value, "ada@example.com");
        assert_eq!(n.format.as_deref(), Some("f"));
        assert_eq!(n.sp_name_qualifier.as_deref(), Some("q"));
        let d = doc(r#"<s:NameID xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion"></s:NameID>"#);
        assert_eq!(read_name_id(d.root()).unwrap_err().code(), "malformed");
        // A comment splits the text; the value is all of it, never the part before.
        let d = doc(
            r#"<s:NameID xmlns:s="urn:oasis:names:tc:SAML:2.0:assertion">ada@example.com<!---->.evil</s:NameID>"#,
        );
        assert_eq!(
            read_name_id(d.root()).unwrap().value,
            "ada@example.com.evil"
        );
    }
}
