//! The checks on the Assertion (SAML Core 2.3-2.7, Profiles 4.1.4.2-4.1.4.3), each a function
//! of the verified assertion element and the configuration: structure, Issuer, age, Subject and
//! NameID, bearer confirmation, Conditions (time window, audiences, the conditions understood),
//! the AuthnStatement and its context, and the attributes. `validate.rs` runs them in order and
//! records each in the report. Every value returned is read from the assertion that was signed
//! (or from plaintext decrypted inside it).

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::ns::{CM_BEARER as BEARER, DSIG_NS, SAML_NS};
use crate::sp::assertion::NameId;
use crate::sp::attributes::{Attributes, AttributesBuilder};
use crate::sp::config::SpInner;
use crate::sp::elements::{
    Window, check_id, check_issuer, check_version, decryptor, instant, only_child, parse_options,
    read_name_id, saml_children, simple_text,
};
use crate::xml::Element;

/// The most `EncryptedAttribute`s decrypted in one Assertion (each costs an RSA private-key
/// operation).
pub const MAX_ENCRYPTED_ATTRIBUTES: usize = 64;

/// Version 2.0, an `xs:ID`, an IssueInstant, and only the children the schema allows (Issuer,
/// Signature, Subject, Conditions, Advice, statements), with no text between them. Returns the
/// ID and the IssueInstant.
pub(crate) fn check_assertion_structure(
    assertion: Element<'_>,
) -> Result<(String, DateTime<Utc>), Error> {
    check_version(assertion, "Assertion")?;
    let id = check_id(assertion, "Assertion")?;
    let issue = instant(assertion, "IssueInstant")?
        .ok_or_else(|| Error::malformed("an IssueInstant on the Assertion", "none"))?;
    for c in assertion.child_elements() {
        let ok = matches!(
            (c.namespace(), c.local_name()),
            (
                Some(SAML_NS),
                "Issuer"
                    | "Subject"
                    | "Conditions"
                    | "Advice"
                    | "AuthnStatement"
                    | "AttributeStatement"
                    | "AuthzDecisionStatement"
            ) | (Some(DSIG_NS), "Signature")
        );
        if !ok {
            return Err(Error::malformed(
                "only Issuer, Signature, Subject, Conditions, Advice and statements in an Assertion",
                format!("{{{}}}{}", c.namespace().unwrap_or(""), c.local_name()),
            ));
        }
    }
    if !assertion.has_only_whitespace_text() {
        return Err(Error::malformed(
            "element-only content in the Assertion",
            "text",
        ));
    }
    Ok((id, issue))
}

/// The Assertion's Issuer is required, is its first child, appears once, and is the IdP.
pub(crate) fn check_assertion_issuer(assertion: Element<'_>, idp: &str) -> Result<(), Error> {
    let first = assertion
        .child_elements()
        .next()
        .filter(|c| c.is(SAML_NS, "Issuer"));
    check_issuer(first, "Assertion", idp)?;
    if saml_children(assertion, SAML_NS, "Issuer").count() > 1 {
        return Err(Error::malformed("one Issuer in the Assertion", "several"));
    }
    Ok(())
}

/// The Assertion's IssueInstant is not in the future and not older than the maximum age.
pub(crate) fn check_assertion_age(
    cfg: &SpInner,
    w: &Window,
    issue: DateTime<Utc>,
) -> Result<(), Error> {
    w.not_before("Assertion IssueInstant", issue)?;
    w.not_on_or_after(
        "Assertion IssueInstant + max_response_age",
        issue + cfg.policy.max_response_age,
    )
}

/// The Assertion's one Subject, and its NameID: plain, or one EncryptedID decrypted here (inside
/// an Assertion whose signature policy was met), or none; the Subject holds nothing but those
/// and SubjectConfirmations.
pub(crate) fn read_subject<'a>(
    cfg: &SpInner,
    assertion: Element<'a>,
) -> Result<(Element<'a>, Option<NameId>), Error> {
    let subject = only_child(assertion, SAML_NS, "Subject", "Assertion")?
        .ok_or_else(|| Error::malformed("a Subject in the Assertion", "none"))?;
    let parse = parse_options(cfg);
    let mut decrypted = None;
    for c in subject.child_elements() {
        match (c.namespace(), c.local_name()) {
            (Some(SAML_NS), "NameID" | "SubjectConfirmation") => {}
            (Some(SAML_NS), "EncryptedID") if decrypted.is_none() => {
                decrypted =
                    Some(decryptor(cfg, &parse).decrypt(c, "EncryptedID", (SAML_NS, "NameID"))?);
            }
            (ns, local) => {
                return Err(Error::malformed(
                    "NameID (or one EncryptedID) and SubjectConfirmation in the Subject",
                    format!("{{{}}}{local}", ns.unwrap_or("")),
                ));
            }
        }
    }
    let plain = only_child(subject, SAML_NS, "NameID", "Subject")?;
    let name_id = match (plain, &decrypted) {
        (None, None) => None,
        (Some(n), None) => Some(read_name_id(n)?),
        (None, Some((doc, _))) => Some(read_name_id(crate::xmlenc::decrypted_element(
            doc, SAML_NS, "NameID",
        )?)?),
        (Some(_), Some(_)) => {
            return Err(Error::malformed(
                "a NameID or an EncryptedID in the Subject",
                "both",
            ));
        }
    };
    Ok((subject, name_id))
}

/// The bearer confirmation that let the assertion in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confirmation {
    /// Its NotOnOrAfter.
    pub(crate) not_on_or_after: DateTime<Utc>,
    /// Its InResponseTo, covered by the Assertion's signature.
    pub(crate) in_response_to: Option<String>,
    /// The latest NotOnOrAfter of any bearer confirmation: another confirmation than the one used
    /// now could accept the assertion until then (the replay cache keeps it that long).
    pub(crate) latest: DateTime<Utc>,
}

/// At least one bearer SubjectConfirmation is fully valid (Profiles 4.1.4.2-3): its
/// SubjectConfirmationData names the ACS URL as Recipient, has a NotOnOrAfter in the future and
/// no NotBefore in the future (the profile forbids NotBefore, but real IdPs send it: honoured as
/// the window's start). On failure, the name of the check that failed (`recipient`,
/// `subject_confirmation_time` or `bearer_confirmation`) with the last error.
pub(crate) fn check_bearer_confirmation(
    cfg: &SpInner,
    subject: Element<'_>,
    w: &Window,
) -> Result<Confirmation, (&'static str, Error)> {
    let mut last_err = None;
    let mut confirmed: Option<(DateTime<Utc>, Option<String>)> = None;
    let mut bearer_count = 0;
    let mut latest: Option<DateTime<Utc>> = None;
    for sc in saml_children(subject, SAML_NS, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(BEARER) {
            continue;
        }
        bearer_count += 1;
        if let Some(noa) = saml_children(sc, SAML_NS, "SubjectConfirmationData")
            .next()
            .and_then(|d| instant(d, "NotOnOrAfter").ok().flatten())
        {
            latest = Some(latest.map_or(noa, |l| l.max(noa)));
        }
        match check_one_bearer(cfg, sc, w) {
            Ok(c) if confirmed.is_none() => confirmed = Some(c),
            Ok(_) => {}
            Err(e) => last_err = Some(e),
        }
    }
    let Some((not_on_or_after, in_response_to)) = confirmed else {
        let e = last_err.unwrap_or_else(|| Error::NoBearerConfirmation {
            found: if bearer_count == 0 {
                "no bearer SubjectConfirmation".into()
            } else {
                "none valid".into()
            },
        });
        let check = match e {
            Error::RecipientMismatch { .. } => "recipient",
            Error::Expired { .. } | Error::InvalidTime { .. } => "subject_confirmation_time",
            _ => "bearer_confirmation",
        };
        return Err((check, e));
    };
    Ok(Confirmation {
        not_on_or_after,
        in_response_to,
        latest: latest.unwrap_or(not_on_or_after).max(not_on_or_after),
    })
}

/// One bearer SubjectConfirmation: its one SubjectConfirmationData, Recipient and time window.
fn check_one_bearer(
    cfg: &SpInner,
    sc: Element<'_>,
    w: &Window,
) -> Result<(DateTime<Utc>, Option<String>), Error> {
    let data = only_child(
        sc,
        SAML_NS,
        "SubjectConfirmationData",
        "SubjectConfirmation",
    )?
    .ok_or_else(|| Error::NoBearerConfirmation {
        found: "a bearer SubjectConfirmation without SubjectConfirmationData".into(),
    })?;
    let recipient = data.attribute("Recipient").unwrap_or("");
    if recipient != cfg.acs_url {
        return Err(Error::RecipientMismatch {
            expected: cfg.acs_url.clone(),
            found: recipient.into(),
        });
    }
    if let Some(nb) = instant(data, "NotBefore")? {
        w.not_before("SubjectConfirmationData", nb)?;
    }
    let noa = instant(data, "NotOnOrAfter")?.ok_or_else(|| Error::NoBearerConfirmation {
        found: "SubjectConfirmationData without NotOnOrAfter".into(),
    })?;
    w.not_on_or_after("SubjectConfirmationData", noa)?;
    Ok((noa, data.attribute("InResponseTo").map(str::to_owned)))
}

/// The Assertion's one Conditions element (required: it carries the AudienceRestriction).
pub(crate) fn conditions_of(assertion: Element<'_>) -> Result<Element<'_>, Error> {
    only_child(assertion, SAML_NS, "Conditions", "Assertion")?
        .ok_or_else(|| Error::malformed("Conditions with an AudienceRestriction", "no Conditions"))
}

/// Now is within the Conditions' NotBefore..NotOnOrAfter (with skew); returns NotOnOrAfter.
pub(crate) fn check_conditions_time(
    conditions: Element<'_>,
    w: &Window,
) -> Result<Option<DateTime<Utc>>, Error> {
    if let Some(nb) = instant(conditions, "NotBefore")? {
        w.not_before("Conditions", nb)?;
    }
    let noa = instant(conditions, "NotOnOrAfter")?;
    if let Some(t) = noa {
        w.not_on_or_after("Conditions", t)?;
    }
    Ok(noa)
}

/// What the conditions say besides time and audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConditionsRead {
    /// `OneTimeUse` was present (once).
    pub(crate) one_time_use: bool,
}

/// Every AudienceRestriction lists this SP's entity ID (the Audiences of one restriction are
/// alternatives; several restrictions must all be met, SAML Core 2.5.1.4); there is at least
/// one; and no condition other than AudienceRestriction, OneTimeUse (once) and
/// ProxyRestriction is present. On failure, the check's name (`audience` or `conditions`).
pub(crate) fn check_audience_and_conditions(
    cfg: &SpInner,
    conditions: Element<'_>,
) -> Result<ConditionsRead, (&'static str, Error)> {
    let mut restrictions = 0;
    let mut one_time_use = false;
    for c in conditions.child_elements() {
        match (c.namespace(), c.local_name()) {
            (Some(SAML_NS), "AudienceRestriction") => {
                restrictions += 1;
                let audiences: Vec<String> = saml_children(c, SAML_NS, "Audience")
                    .map(|a| a.text())
                    .collect();
                if !audiences.contains(&cfg.entity_id) {
                    return Err((
                        "audience",
                        Error::AudienceMismatch {
                            expected: cfg.entity_id.clone(),
                            found: audiences,
                        },
                    ));
                }
            }
            (Some(SAML_NS), "OneTimeUse") if !one_time_use => one_time_use = true,
            (Some(SAML_NS), "ProxyRestriction") => {}
            (ns, local) => {
                return Err((
                    "conditions",
                    Error::malformed(
                        "only AudienceRestriction, OneTimeUse (once) and ProxyRestriction conditions",
                        format!("{{{}}}{local}", ns.unwrap_or("")),
                    ),
                ));
            }
        }
    }
    if restrictions == 0 {
        return Err((
            "audience",
            Error::AudienceMismatch {
                expected: cfg.entity_id.clone(),
                found: Vec::new(),
            },
        ));
    }
    Ok(ConditionsRead { one_time_use })
}

/// What the AuthnStatement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthnRead {
    pub(crate) session_index: Option<String>,
    pub(crate) authn_instant: Option<DateTime<Utc>>,
    pub(crate) session_not_on_or_after: Option<DateTime<Utc>>,
    pub(crate) class_ref: Option<String>,
}

/// Exactly one AuthnStatement, its SessionNotOnOrAfter (if any) in the future, and its
/// AuthnContextClassRef as simple text.
pub(crate) fn read_authn_statement(assertion: Element<'_>, w: &Window) -> Result<AuthnRead, Error> {
    let mut it = saml_children(assertion, SAML_NS, "AuthnStatement");
    let s = it
        .next()
        .ok_or_else(|| Error::malformed("an AuthnStatement", "none"))?;
    if it.next().is_some() {
        return Err(Error::malformed("exactly one AuthnStatement", "several"));
    }
    let session_not_on_or_after = instant(s, "SessionNotOnOrAfter")?;
    if let Some(t) = session_not_on_or_after {
        w.not_on_or_after("AuthnStatement SessionNotOnOrAfter", t)?;
    }
    let class_ref = only_child(s, SAML_NS, "AuthnContext", "AuthnStatement")?
        .map(|c| only_child(c, SAML_NS, "AuthnContextClassRef", "AuthnContext"))
        .transpose()?
        .flatten()
        .map(simple_text)
        .transpose()?;
    Ok(AuthnRead {
        session_index: s.attribute("SessionIndex").map(str::to_owned),
        authn_instant: instant(s, "AuthnInstant")?,
        session_not_on_or_after,
        class_ref,
    })
}

/// When the policy requires authentication contexts, the AuthnContextClassRef is one of them.
pub(crate) fn check_authn_context(cfg: &SpInner, class_ref: Option<&str>) -> Result<(), Error> {
    let required = &cfg.policy.required_authn_contexts;
    let found = class_ref.unwrap_or_default();
    if required.is_empty() || required.iter().any(|r| r == found) {
        return Ok(());
    }
    Err(Error::AuthnContextMismatch {
        expected: required.clone(),
        found: found.to_owned(),
    })
}

/// The attributes of every AttributeStatement, merged by Name in document order (indexed, so
/// many Attributes stay linear). EncryptedAttributes are decrypted first (inside the verified
/// Assertion, at most [`MAX_ENCRYPTED_ATTRIBUTES`]), in order. Every Attribute needs a Name. On
/// failure, the check's name (`attributes` or `decryption`).
pub(crate) fn read_attributes(
    cfg: &SpInner,
    assertion: Element<'_>,
) -> Result<Attributes, (&'static str, Error)> {
    let parse = parse_options(cfg);
    let mut decrypted = Vec::new();
    for st in saml_children(assertion, SAML_NS, "AttributeStatement") {
        for a in st
            .child_elements()
            .filter(|a| a.is(SAML_NS, "EncryptedAttribute"))
        {
            if decrypted.len() >= MAX_ENCRYPTED_ATTRIBUTES {
                return Err((
                    "attributes",
                    Error::malformed(
                        format!("at most {MAX_ENCRYPTED_ATTRIBUTES} EncryptedAttributes"),
                        "more",
                    ),
                ));
            }
            let (doc, _) = decryptor(cfg, &parse)
                .decrypt(a, "EncryptedAttribute", (SAML_NS, "Attribute"))
                .map_err(|e| ("decryption", e))?;
            decrypted.push(doc);
        }
    }
    let mut next_decrypted = decrypted.iter();
    // Sized once for every child of the statements (an upper bound on the attributes).
    let count: usize = saml_children(assertion, SAML_NS, "AttributeStatement")
        .map(|st| st.child_elements().count())
        .sum();
    let mut attributes = AttributesBuilder::with_capacity(count);
    for st in saml_children(assertion, SAML_NS, "AttributeStatement") {
        for a in st.child_elements() {
            let a = if a.is(SAML_NS, "EncryptedAttribute") {
                let Some(doc) = next_decrypted.next() else {
                    continue;
                };
                crate::xmlenc::decrypted_element(doc, SAML_NS, "Attribute")
                    .map_err(|e| ("decryption", e))?
            } else {
                a
            };
            if !a.is(SAML_NS, "Attribute") {
                continue;
            }
            // Name, NameFormat and FriendlyName in one pass over the attributes.
            let (mut name, mut name_format, mut friendly_name) = (None, None, None);
            for at in a.attributes() {
                if at.namespace().is_none() {
                    match at.local_name() {
                        "Name" => name = Some(at.value()),
                        "NameFormat" => name_format = Some(at.value()),
                        "FriendlyName" => friendly_name = Some(at.value()),
                        _ => {}
                    }
                }
            }
            let Some(name) = name else {
                return Err((
                    "attributes",
                    Error::malformed("a Name on every Attribute", "none"),
                ));
            };
            attributes.attribute(name, name_format, friendly_name);
            for v in saml_children(a, SAML_NS, "AttributeValue") {
                attributes.value(|out| v.text_into(out));
            }
        }
    }
    Ok(attributes.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;
    use crate::xml::Document;

    const SP: &str = "https://sp.example.com/saml/metadata";
    const ACS: &str = "https://sp.example.com/saml/acs";

    fn sp() -> crate::sp::config::ServiceProvider {
        let pem = include_str!("../testkit/test-idp.crt");
        let certs = crate::crypto::Certificate::parse_all(pem.as_bytes()).unwrap();
        crate::sp::config::ServiceProvider::builder(
            SP,
            ACS,
            crate::sp::config::IdentityProvider::new("https://idp", certs).unwrap(),
        )
        .require_authn_context(["urn:mfa"])
        .build()
        .unwrap()
    }

    fn window() -> Window {
        Window {
            now: parse_instant("2030-01-01T10:00:00Z", "now").unwrap(),
            skew: chrono::Duration::seconds(60),
        }
    }

    fn assertion(body: &str) -> Document {
        Document::parse(
            format!(
                r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="2030-01-01T10:00:00Z"><saml:Issuer>https://idp</saml:Issuer>{body}</saml:Assertion>"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    const SUBJECT: &str = r#"<saml:Subject><saml:NameID>ada@example.com</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="https://sp.example.com/saml/acs" NotOnOrAfter="2030-01-01T10:05:00Z" InResponseTo="_req"/></saml:SubjectConfirmation></saml:Subject>"#;

    #[test]
    fn structure_and_issuer() {
        let d = assertion(SUBJECT);
        assert_eq!(check_assertion_structure(d.root()).unwrap().0, "_a");
        check_assertion_issuer(d.root(), "https://idp").unwrap();
        let d = assertion(&format!("{SUBJECT}<saml:Issuer>https://idp</saml:Issuer>"));
        assert_eq!(
            check_assertion_issuer(d.root(), "https://idp")
                .unwrap_err()
                .code(),
            "malformed"
        );
        let d = assertion(&format!("{SUBJECT}<x:Other xmlns:x=\"urn:x\"/>"));
        assert_eq!(
            check_assertion_structure(d.root()).unwrap_err().code(),
            "malformed"
        );
    }

    #[test]
    fn bearer_confirmation_checks_recipient_and_time_and_keeps_the_latest() {
        let sp = sp();
        let d = assertion(SUBJECT);
        let (subject, name_id) = read_subject(&sp.inner, d.root()).unwrap();
        assert_eq!(name_id.unwrap().value, "ada@example.com");
        let c = check_bearer_confirmation(&sp.inner, subject, &window()).unwrap();
        assert_eq!(c.in_response_to.as_deref(), Some("_req"));
        let second = SUBJECT.replace(
            "</saml:Subject>",
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="https://sp.example.com/saml/acs" NotOnOrAfter="2030-01-01T11:00:00Z"/></saml:SubjectConfirmation></saml:Subject>"#,
        );
        let d = assertion(&second);
        let (subject, _) = read_subject(&sp.inner, d.root()).unwrap();
        let c = check_bearer_confirmation(&sp.inner, subject, &window()).unwrap();
        assert_eq!(
            c.latest,
            parse_instant("2030-01-01T11:00:00Z", "t").unwrap()
        );
        let d = assertion(&SUBJECT.replace(ACS, "https://other/acs"));
        let (subject, _) = read_subject(&sp.inner, d.root()).unwrap();
        let (check, e) = check_bearer_confirmation(&sp.inner, subject, &window()).unwrap_err();
        assert_eq!((check, e.code()), ("recipient", "recipient_mismatch"));
        let d = assertion(&SUBJECT.replace("10:05:00Z", "09:58:00Z"));
        let (subject, _) = read_subject(&sp.inner, d.root()).unwrap();
        let (check, e) = check_bearer_confirmation(&sp.inner, subject, &window()).unwrap_err();
        assert_eq!((check, e.code()), ("subject_confirmation_time", "expired"));
        let d = assertion(&SUBJECT.replace("cm:bearer", "cm:holder-of-key"));
        let (subject, _) = read_subject(&sp.inner, d.root()).unwrap();
        let (check, _) = check_bearer_confirmation(&sp.inner, subject, &window()).unwrap_err();
        assert_eq!(check, "bearer_confirmation");
    }

    #[test]
    fn audiences_or_within_one_restriction_and_across_several() {
        let sp = sp();
        let cond = |inner: &str| {
            Document::parse(
                format!(r#"<saml:Conditions xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{inner}</saml:Conditions>"#).as_bytes(),
            )
            .unwrap()
        };
        let one = cond(&format!(
            "<saml:AudienceRestriction><saml:Audience>urn:other</saml:Audience><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction><saml:OneTimeUse/>"
        ));
        assert!(
            check_audience_and_conditions(&sp.inner, one.root())
                .unwrap()
                .one_time_use
        );
        let two = cond(&format!(
            "<saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>urn:other</saml:Audience></saml:AudienceRestriction>"
        ));
        assert_eq!(
            check_audience_and_conditions(&sp.inner, two.root())
                .unwrap_err()
                .0,
            "audience"
        );
        let none = cond("<saml:OneTimeUse/>");
        assert_eq!(
            check_audience_and_conditions(&sp.inner, none.root())
                .unwrap_err()
                .0,
            "audience"
        );
        let unknown = cond(&format!(
            "<saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction><saml:Condition/>"
        ));
        assert_eq!(
            check_audience_and_conditions(&sp.inner, unknown.root())
                .unwrap_err()
                .0,
            "conditions"
        );
    }

    #[test]
    fn one_authn_statement_and_the_required_context() {
        let sp = sp();
        let stmt = r#"<saml:AuthnStatement AuthnInstant="2030-01-01T09:59:00Z" SessionIndex="_s"><saml:AuthnContext><saml:AuthnContextClassRef>urn:mfa</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#;
        let d = assertion(&format!("{SUBJECT}{stmt}"));
        let a = read_authn_statement(d.root(), &window()).unwrap();
        assert_eq!(a.session_index.as_deref(), Some("_s"));
        check_authn_context(&sp.inner, a.class_ref.as_deref()).unwrap();
        assert_eq!(
            check_authn_context(&sp.inner, Some("urn:password"))
                .unwrap_err()
                .code(),
            "authn_context_mismatch"
        );
        let d = assertion(&format!("{SUBJECT}{stmt}{stmt}"));
        assert_eq!(
            read_authn_statement(d.root(), &window())
                .unwrap_err()
                .code(),
            "malformed"
        );
    }

    #[test]
    fn attributes_merge_by_name_and_need_a_name() {
        let sp = sp();
        let d = assertion(&format!(
            r#"{SUBJECT}<saml:AttributeStatement><saml:Attribute Name="g"><saml:AttributeValue>a</saml:AttributeValue></saml:Attribute><saml:Attribute Name="g"><saml:AttributeValue>b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"#
        ));
        let attrs = read_attributes(&sp.inner, d.root()).unwrap();
        assert_eq!(attrs.values("g").collect::<Vec<_>>(), ["a", "b"]);
        let d = assertion(&format!(
            r#"{SUBJECT}<saml:AttributeStatement><saml:Attribute><saml:AttributeValue>a</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"#
        ));
        assert_eq!(
            read_attributes(&sp.inner, d.root()).unwrap_err().0,
            "attributes"
        );
    }
}
