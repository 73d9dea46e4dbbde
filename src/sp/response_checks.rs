//! The checks on the Response element itself (SAML Core 3.2, Profiles 4.1.4.2): its structure,
//! Issuer, Status, which assertion it carries, the signature policy, Destination, age and
//! InResponseTo. Each is a function of the elements and the configuration; `validate.rs` runs
//! them in order and records each in the report.

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::ns::{DSIG_NS, SAML_NS, SAMLP_NS, STATUS_SUCCESS};
use crate::sp::assertion::Signed;
use crate::sp::config::{SignaturePolicy, SpInner};
use crate::sp::elements::{
    Window, check_id, check_issuer, check_version, instant, only_child, saml_children,
};
use crate::xml::Element;

/// What the structure check found in a Response.
pub(crate) struct ResponseParts<'a> {
    pub(crate) id: String,
    pub(crate) issue_instant: DateTime<Utc>,
    pub(crate) assertions: Vec<Element<'a>>,
    pub(crate) encrypted: Vec<Element<'a>>,
    pub(crate) status: Element<'a>,
}

/// The document element is a `samlp:Response`, version 2.0, with an `xs:ID` and an
/// IssueInstant, whose children are only (in schema order) Issuer, Signature, Extensions, one
/// Status and the assertions, with no text between them. xml-crypto places a Response's
/// signature before its Issuer, so `Signature, Issuer` is accepted too (the signature covers the
/// whole Response).
pub(crate) fn check_response_structure(response: Element<'_>) -> Result<ResponseParts<'_>, Error> {
    if !response.is(SAMLP_NS, "Response") {
        return Err(Error::malformed(
            "a samlp:Response document element",
            format!(
                "{{{}}}{}",
                response.namespace().unwrap_or(""),
                response.local_name()
            ),
        ));
    }
    check_version(response, "Response")?;
    let id = check_id(response, "Response")?;
    let issue_instant = instant(response, "IssueInstant")?
        .ok_or_else(|| Error::malformed("an IssueInstant on the Response", "none"))?;
    let mut assertions = Vec::new();
    let mut encrypted = Vec::new();
    let mut status = None;
    let signature_first = response
        .child_elements()
        .next()
        .is_some_and(|c| c.is(DSIG_NS, "Signature"));
    for (i, c) in response.child_elements().enumerate() {
        match (c.namespace(), c.local_name()) {
            (Some(SAML_NS), "Issuer") if i == 0 || (i == 1 && signature_first) => {}
            (Some(DSIG_NS), "Signature") | (Some(SAMLP_NS), "Extensions") => {}
            (Some(SAMLP_NS), "Status") if status.is_none() => status = Some(c),
            (Some(SAML_NS), "Assertion") => assertions.push(c),
            (Some(SAML_NS), "EncryptedAssertion") => encrypted.push(c),
            (ns, local) => {
                return Err(Error::malformed(
                    "only Issuer, Signature, Extensions, Status and the Assertion in a Response",
                    format!("{{{}}}{local}", ns.unwrap_or("")),
                ));
            }
        }
    }
    if !response.has_only_whitespace_text() {
        return Err(Error::malformed(
            "element-only content in the Response",
            "text",
        ));
    }
    let status =
        status.ok_or_else(|| Error::malformed("a samlp:Status in the Response", "none"))?;
    Ok(ResponseParts {
        id,
        issue_instant,
        assertions,
        encrypted,
        status,
    })
}

/// The Response's Issuer, when present (it may be omitted), is the IdP (Profiles 4.1.4.2).
/// `Ok(false)` when there is none.
pub(crate) fn check_response_issuer(response: Element<'_>, idp: &str) -> Result<bool, Error> {
    let issuer = response
        .child_elements()
        .take(2)
        .find(|c| c.is(SAML_NS, "Issuer"));
    match issuer {
        Some(i) => check_issuer(Some(i), "Response", idp).map(|()| true),
        None => Ok(false),
    }
}

/// The top-level StatusCode is Success; otherwise the error carries the code, the second-level
/// code and the IdP's StatusMessage.
pub(crate) fn check_status(status: Element<'_>) -> Result<(), Error> {
    let code = only_child(status, SAMLP_NS, "StatusCode", "Status")?
        .ok_or_else(|| Error::malformed("a StatusCode in Status", "none"))?;
    let value = code.attribute("Value").unwrap_or("");
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    Err(Error::StatusNotSuccess {
        code: value.into(),
        sub_code: saml_children(code, SAMLP_NS, "StatusCode")
            .next()
            .and_then(|s| s.attribute("Value"))
            .map(str::to_owned),
        message: saml_children(status, SAMLP_NS, "StatusMessage")
            .next()
            .map(|m| m.text()),
    })
}

/// Exactly one Assertion or one EncryptedAssertion, a direct child of the Response.
pub(crate) enum OneAssertion<'a> {
    /// A plain Assertion.
    Plain(Element<'a>),
    /// An EncryptedAssertion, to be decrypted after the Response's signature verified.
    Encrypted(Element<'a>),
}

/// The one assertion the Response carries; any other count is malformed.
pub(crate) fn check_one_assertion<'a>(
    parts: &ResponseParts<'a>,
) -> Result<OneAssertion<'a>, Error> {
    match (parts.assertions.as_slice(), parts.encrypted.as_slice()) {
        ([a], []) => Ok(OneAssertion::Plain(*a)),
        ([], [e]) => Ok(OneAssertion::Encrypted(*e)),
        (a, e) => Err(Error::malformed(
            "exactly one Assertion or EncryptedAssertion in the Response",
            format!("{} Assertion, {} EncryptedAssertion", a.len(), e.len()),
        )),
    }
}

/// The configured signature policy is met by what verified; returns the policy's wording.
pub(crate) fn check_signature_policy(
    policy: SignaturePolicy,
    signed: Signed,
) -> Result<&'static str, Error> {
    let (covered, name) = match policy {
        SignaturePolicy::Assertion => (signed.assertion, "the Assertion"),
        SignaturePolicy::Response => (signed.response, "the Response"),
        SignaturePolicy::Both => (
            signed.assertion && signed.response,
            "the Response and the Assertion",
        ),
        SignaturePolicy::Either => (
            signed.assertion || signed.response,
            "the Assertion or the Response enclosing it",
        ),
    };
    if covered {
        Ok(name)
    } else {
        Err(Error::SignatureMissing {
            expected: name.into(),
        })
    }
}

/// Destination is the ACS URL (or an extra destination the policy allows), exactly; it is
/// required when the Response is signed (Bindings 3.5.5.2). `Ok(None)` when an unsigned Response
/// has none.
pub(crate) fn check_destination<'a>(
    cfg: &SpInner,
    response: Element<'a>,
    response_signed: bool,
) -> Result<Option<&'a str>, Error> {
    let ok = |d: &str| d == cfg.acs_url || cfg.policy.extra_destinations.iter().any(|x| x == d);
    match response.attribute("Destination") {
        Some(d) if ok(d) => Ok(Some(d)),
        Some(d) => Err(Error::DestinationMismatch {
            expected: cfg.acs_url.clone(),
            found: d.into(),
        }),
        None if response_signed => Err(Error::DestinationMismatch {
            expected: cfg.acs_url.clone(),
            found: "<missing>".into(),
        }),
        None => Ok(None),
    }
}

/// The Response's IssueInstant is not in the future and not older than the maximum age.
pub(crate) fn check_response_age(
    cfg: &SpInner,
    w: &Window,
    issue_instant: DateTime<Utc>,
) -> Result<(), Error> {
    w.not_before("Response IssueInstant", issue_instant)?;
    w.not_on_or_after(
        "Response IssueInstant + max_response_age",
        issue_instant + cfg.policy.max_response_age,
    )
}

/// The InResponseTo that counts (Profiles 4.1.4.2-3): the bearer SubjectConfirmationData's,
/// which the Assertion's signature covers. The Response's is used only when the Response's own
/// signature verified (an unsigned Response's InResponseTo is the attacker's and never turns an
/// unsolicited assertion into a solicited one); when both are present they must agree.
pub(crate) fn resolve_in_response_to(
    response_irt: Option<&str>,
    confirmation_irt: Option<&str>,
    response_signed: bool,
) -> Result<Option<String>, Error> {
    match (response_irt, confirmation_irt) {
        (Some(r), Some(c)) if r != c => Err(Error::InResponseToMismatch {
            expected: r.into(),
            found: c.into(),
        }),
        (_, Some(c)) => Ok(Some(c.to_owned())),
        (Some(r), None) if response_signed => Ok(Some(r.to_owned())),
        (Some(_) | None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Document;

    const OK: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="2030-01-01T10:00:00Z" Destination="https://sp/acs"><saml:Issuer>https://idp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a"/></samlp:Response>"#;

    fn doc(xml: &str) -> Document {
        Document::parse(xml.as_bytes()).unwrap()
    }

    #[test]
    fn structure_accepts_the_schema_order_and_refuses_anything_else() {
        let d = doc(OK);
        let parts = check_response_structure(d.root()).unwrap();
        assert_eq!(parts.id, "_r");
        assert!(matches!(
            check_one_assertion(&parts),
            Ok(OneAssertion::Plain(_))
        ));
        for bad in [
            OK.replace("<samlp:Status>", "<saml:Foo/><samlp:Status>"),
            OK.replace("</samlp:Status>", "</samlp:Status>text"),
            OK.replace("Version=\"2.0\"", "Version=\"1.1\""),
            OK.replace(
                "<saml:Issuer>https://idp</saml:Issuer><samlp:Status>",
                "<samlp:Status>",
            )
            .replace(
                "</samlp:Status>",
                "</samlp:Status><saml:Issuer>https://idp</saml:Issuer>",
            ),
            OK.replace("samlp:Response", "samlp:ArtifactResponse"),
        ] {
            assert!(check_response_structure(doc(&bad).root()).is_err(), "{bad}");
        }
        let two = OK.replace(
            "<saml:Assertion ID=\"_a\"/>",
            "<saml:Assertion ID=\"_a\"/><saml:Assertion ID=\"_b\"/>",
        );
        let d = doc(&two);
        let parts = check_response_structure(d.root()).unwrap();
        assert_eq!(
            check_one_assertion(&parts).err().unwrap().code(),
            "malformed"
        );
    }

    #[test]
    fn status_other_than_success_carries_its_codes() {
        let d = doc(OK);
        let parts = check_response_structure(d.root()).unwrap();
        check_status(parts.status).unwrap();
        let failed = OK.replace(
            "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>",
            "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><samlp:StatusCode Value=\"urn:x:AuthnFailed\"/></samlp:StatusCode><samlp:StatusMessage>no</samlp:StatusMessage>",
        );
        let d = doc(&failed);
        let parts = check_response_structure(d.root()).unwrap();
        match check_status(parts.status).unwrap_err() {
            Error::StatusNotSuccess {
                sub_code, message, ..
            } => {
                assert_eq!(sub_code.as_deref(), Some("urn:x:AuthnFailed"));
                assert_eq!(message.as_deref(), Some("no"));
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn the_signature_policy_names_what_it_needed() {
        let none = Signed {
            response: false,
            assertion: false,
        };
        let resp = Signed {
            response: true,
            assertion: false,
        };
        assert_eq!(
            check_signature_policy(SignaturePolicy::Either, none)
                .unwrap_err()
                .code(),
            "signature_missing"
        );
        check_signature_policy(SignaturePolicy::Either, resp).unwrap();
        assert!(check_signature_policy(SignaturePolicy::Assertion, resp).is_err());
        assert!(check_signature_policy(SignaturePolicy::Both, resp).is_err());
        check_signature_policy(SignaturePolicy::Response, resp).unwrap();
    }

    #[test]
    fn in_response_to_comes_from_the_signed_confirmation_first() {
        assert_eq!(
            resolve_in_response_to(Some("_1"), Some("_1"), false)
                .unwrap()
                .as_deref(),
            Some("_1")
        );
        assert_eq!(
            resolve_in_response_to(Some("_1"), Some("_2"), true)
                .unwrap_err()
                .code(),
            "in_response_to_mismatch"
        );
        // An unsigned Response's InResponseTo is never taken.
        assert_eq!(
            resolve_in_response_to(Some("_1"), None, false).unwrap(),
            None
        );
        assert_eq!(
            resolve_in_response_to(Some("_1"), None, true)
                .unwrap()
                .as_deref(),
            Some("_1")
        );
        assert_eq!(resolve_in_response_to(None, None, true).unwrap(), None);
    }

    #[test]
    fn the_response_issuer_is_optional_but_must_be_the_idp() {
        let d = doc(OK);
        assert!(check_response_issuer(d.root(), "https://idp").unwrap());
        assert_eq!(
            check_response_issuer(d.root(), "https://other")
                .unwrap_err()
                .code(),
            "issuer_mismatch"
        );
        let d = doc(&OK.replace("<saml:Issuer>https://idp</saml:Issuer>", ""));
        assert!(!check_response_issuer(d.root(), "https://idp").unwrap());
    }
}
