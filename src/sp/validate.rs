//! The Web Browser SSO profile's checks on a Response (SAML Profiles 4.1.4.2-4.1.4.3, Core
//! 2.5, 3.2, 5.4), reading identity data only from elements a verified signature covers.

use chrono::{DateTime, Utc};

use crate::dsig::{self, SignedElement, VerifyOptions};
use crate::error::Error;
use crate::ns::DSIG_NS;
use crate::sp::assertion::{NameId, Signed, VerifiedAssertion};
use crate::sp::attributes::{Attributes, AttributesBuilder};
use crate::sp::config::ServiceProvider;
use crate::time::format_instant;
use crate::xml::{Document, Element};

use super::report::{CheckResult, Report};

use crate::ns::CM_BEARER as BEARER;
use crate::ns::{SAML_NS, STATUS_SUCCESS};
use crate::sp::response_checks::{
    OneAssertion, check_destination, check_one_assertion, check_response_age, check_response_issuer,
    check_response_structure, check_signature_policy, check_status, resolve_in_response_to,
};
use crate::sp::elements::{
    Window, check_id, check_issuer, check_version, decryptor, instant, only_child, parse_options,
    read_name_id, saml_children, simple_text,
};

/// The most `EncryptedAttribute`s decrypted in one Assertion (each costs an RSA private-key
/// operation).
pub const MAX_ENCRYPTED_ATTRIBUTES: usize = 64;

/// How the InResponseTo of a response is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestCheck<'a> {
    /// This request ID is outstanding (or none is, for `None`).
    Known(Option<&'a str>),
    /// The caller looks the InResponseTo up in its store after validation.
    Deferred,
}

/// Compares the InResponseTo of a validated assertion (`found`, already authenticated: see
/// [`VerifiedAssertion::in_response_to`]) with the request this browser session is waiting for.
/// Unsolicited assertions (`found = None`) pass here: the unsolicited policy is checked during
/// validation.
pub(crate) fn check_in_response_to(
    found: Option<&str>,
    expected: Option<&str>,
) -> Result<(), Error> {
    match (found, expected) {
        (None, _) => Ok(()),
        (Some(found), Some(expected)) => {
            if crate::crypto::ct_eq(found.as_bytes(), expected.as_bytes()) {
                Ok(())
            } else {
                Err(Error::InResponseToMismatch {
                    expected: expected.into(),
                    found: found.into(),
                })
            }
        }
        (Some(found), None) => Err(Error::UnknownInResponseTo {
            found: found.into(),
        }),
    }
}

impl ServiceProvider {
    /// Validates a Response (raw XML) as the ACS receives it.
    ///
    /// `outstanding_request` is the ID of the AuthnRequest this browser session is waiting for,
    /// or `None` when none is outstanding. This sans-IO entry point does not remember assertion
    /// IDs: use [`ServiceProvider::consume`] (or call a [`crate::store::ReplayCache`] yourself) to
    /// refuse replays.
    ///
    /// # Errors
    /// The first failed check, as an [`Error`] with a stable code.
    pub fn validate_response(
        &self,
        xml: &[u8],
        outstanding_request: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedAssertion, Error> {
        self.validate_with_report(xml, outstanding_request, now, &mut Report::default())
    }

    /// As [`ServiceProvider::validate_response`], recording every check in `report`.
    ///
    /// # Errors
    /// As [`ServiceProvider::validate_response`].
    pub fn validate_with_report(
        &self,
        xml: &[u8],
        outstanding_request: Option<&str>,
        now: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<VerifiedAssertion, Error> {
        self.validate_inner(xml, RequestCheck::Known(outstanding_request), now, report)
    }

    /// Decodes the `SAMLResponse` form field of the HTTP-POST binding (base64, line breaks
    /// allowed), refusing oversized input before decoding.
    ///
    /// # Errors
    /// [`Error::Xml`] (limit) for oversized input, [`Error::Binding`] for invalid base64.
    pub fn decode_post(&self, saml_response: &str) -> Result<Vec<u8>, Error> {
        crate::binding::decode_post(saml_response, &self.inner.policy.limits)
    }

    pub(crate) fn validate_inner(
        &self,
        xml: &[u8],
        request: RequestCheck<'_>,
        now: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<VerifiedAssertion, Error> {
        let cfg = &*self.inner;
        cfg.idp
            .check_current(now)
            .map_err(|e| report.fail("idp_metadata", e))?;
        let opts = parse_options(cfg);
        let doc = Document::parse_with(xml, &opts).map_err(|e| report.fail("xml", e.into()))?;
        report.pass("xml", "well-formed XML within limits, no DTD", "ok");
        let w = Window {
            now,
            skew: cfg.policy.clock_skew,
        };
        let verify_opts = VerifyOptions {
            certificates: &cfg.idp.certificates,
            allow_legacy_crypto: cfg.policy.danger.dangerous_allow_legacy_crypto,
        };
        validate_document(self, &doc, request, &w, &verify_opts, report)
    }
}

/// Reports the validity dates of the certificate that verified `signed` (refusing a certificate
/// outside them when the policy requires it), then the signature check of `element` itself.
fn record_signature(
    cfg: &crate::sp::config::SpInner,
    signed: &Option<SignedElement<'_>>,
    element: &'static str,
    w: &Window,
    report: &mut Report,
) -> Result<(), Error> {
    certificate_dates(cfg, signed, element, w, report)?;
    let check = if element == "Response" {
        "response_signature"
    } else {
        "assertion_signature"
    };
    let result = if signed.is_some() {
        CheckResult::Passed
    } else {
        CheckResult::Skipped
    };
    report.add(check, result, "valid if present", sig_found(signed));
    Ok(())
}

/// Reports the validity dates of the certificate that verified `signed`, and refuses a
/// certificate outside them when the policy requires it.
fn certificate_dates(
    cfg: &crate::sp::config::SpInner,
    signed: &Option<SignedElement<'_>>,
    element: &'static str,
    w: &Window,
    report: &mut Report,
) -> Result<(), Error> {
    let Some(s) = signed else {
        return Ok(());
    };
    let Some(cert) = cfg
        .idp
        .certificates
        .iter()
        .find(|c| c.fingerprint_hex() == s.signature.certificate_sha256)
    else {
        // The verifying certificate always comes from this configuration; should that ever
        // not hold, a policy that requires validity fails closed rather than skipping the check.
        if cfg.policy.require_certificate_validity {
            return Err(Error::CertificateExpired {
                element,
                not_before: "unknown".into(),
                not_after: "unknown".into(),
                now: format_instant(w.now),
            });
        }
        return Ok(());
    };
    let dates = format!(
        "{} to {}",
        format_instant(cert.not_before()),
        format_instant(cert.not_after())
    );
    let check = if element == "Response" {
        "response_certificate"
    } else {
        "assertion_certificate"
    };
    if cert.is_valid_at(w.now) {
        report.pass(check, "a certificate within its validity period", dates);
    } else if cfg.policy.require_certificate_validity {
        return Err(report.fail(
            check,
            Error::CertificateExpired {
                element,
                not_before: format_instant(cert.not_before()),
                not_after: format_instant(cert.not_after()),
                now: format_instant(w.now),
            },
        ));
    } else {
        report.add(
            check,
            CheckResult::Skipped,
            "a configured key (its certificate's dates are not enforced)",
            format!("outside its validity period: {dates}"),
        );
    }
    Ok(())
}

fn sig_found(s: &Option<SignedElement<'_>>) -> String {
    match s.as_ref().map(|s| &s.signature) {
        Some(v) => format!(
            "{} / {} / {}",
            v.algorithm.name(),
            v.digest.name(),
            v.canonicalization.uri()
        ),
        None => "unsigned".into(),
    }
}

/// Runs the Response's checks in order, recording each in `report`; the assertion's own checks
/// are in [`read_assertion`]. Identity data is read only from the verified assertion (or the
/// direct child of the verified Response).
fn validate_document(
    sp: &ServiceProvider,
    doc: &Document,
    request: RequestCheck<'_>,
    w: &Window,
    verify_opts: &VerifyOptions<'_>,
    report: &mut Report,
) -> Result<VerifiedAssertion, Error> {
    let cfg = &*sp.inner;
    let idp = cfg.idp.entity_id.as_str();
    let response = doc.root();
    let parts = check_response_structure(response).map_err(|e| report.fail("structure", e))?;

    match check_response_issuer(response, idp).map_err(|e| report.fail("response_issuer", e))? {
        true => report.pass("response_issuer", idp, idp),
        false => report.skip("response_issuer", "no Issuer on the Response"),
    }

    // The Response's own signature (every signature present must verify). With a plain
    // Assertion inside, one canonicalization serves both signatures when it can.
    let mut kept = None;
    let response_sig = match (parts.assertions.as_slice(), parts.encrypted.as_slice()) {
        ([a], []) => {
            dsig::verify::verify_enveloped_keeping(response, "Response", verify_opts, *a, &mut kept)
        }
        _ => dsig::verify_enveloped(response, "Response", verify_opts),
    }
    .map_err(|e| report.fail("response_signature", e))?;
    record_signature(cfg, &response_sig, "Response", w, report)?;

    check_status(parts.status).map_err(|e| report.fail("status", e))?;
    report.pass("status", STATUS_SUCCESS, STATUS_SUCCESS);

    // An EncryptedAssertion is decrypted only now, after the Response's signature (when present)
    // verified; the decrypted Assertion is then validated exactly like a plain one, and accepted
    // only when the Response signature covered it or it carries its own valid signature.
    let decrypted_doc;
    let assertion = match check_one_assertion(&parts).map_err(|e| report.fail("assertion", e))? {
        OneAssertion::Plain(a) => a,
        OneAssertion::Encrypted(enc) => {
            let (doc2, used) = decryptor(cfg, &parse_options(cfg))
                .decrypt(enc, "EncryptedAssertion", (SAML_NS, "Assertion"))
                .map_err(|e| report.fail("decryption", e))?;
            report.pass(
                "decryption",
                "an EncryptedAssertion a configured SP key decrypts",
                used.to_string(),
            );
            decrypted_doc = doc2;
            crate::xmlenc::decrypted_element(&decrypted_doc, SAML_NS, "Assertion")
                .map_err(|e| report.fail("decryption", e))?
        }
    };

    let assertion_sig =
        dsig::verify::verify_enveloped_kept(assertion, "Assertion", verify_opts, kept)
            .map_err(|e| report.fail("assertion_signature", e))?;
    record_signature(cfg, &assertion_sig, "Assertion", w, report)?;
    let signed = Signed {
        response: response_sig.is_some(),
        assertion: assertion_sig.is_some(),
    };
    let policy_name = check_signature_policy(cfg.policy.signature_policy, signed)
        .map_err(|e| report.fail("signature_policy", e))?;
    report.pass(
        "signature_policy",
        policy_name,
        format!(
            "response signed: {}, assertion signed: {}",
            signed.response, signed.assertion
        ),
    );

    // From here on, every value is read from `assertion` (a verified element or the direct child
    // of the verified Response) or from the verified Response itself.
    let a = read_assertion(sp, assertion, w, report)?;

    match check_destination(cfg, response, signed.response)
        .map_err(|e| report.fail("destination", e))?
    {
        Some(d) => report.pass("destination", &cfg.acs_url, d),
        None => report.skip("destination", "no Destination on an unsigned Response"),
    }

    check_response_age(cfg, w, parts.issue_instant).map_err(|e| report.fail("issue_instant", e))?;
    report.pass(
        "issue_instant",
        "within max_response_age",
        format_instant(parts.issue_instant),
    );

    let irt = resolve_in_response_to(
        response.attribute("InResponseTo"),
        a.confirmation_irt.as_deref(),
        signed.response,
    )
    .map_err(|e| report.fail("in_response_to", e))?;
    if irt.is_none() && !cfg.policy.danger.dangerous_allow_unsolicited_responses {
        return Err(report.fail("in_response_to", Error::UnsolicitedResponse));
    }
    record_request_check(request, irt.as_deref(), report)?;

    // The replay-cache entry must outlive every path by which this assertion could still be
    // accepted: the latest bearer confirmation, bounded by Conditions and by the Assertion's
    // IssueInstant + max_response_age (the Response around it is not trusted for this), plus skew.
    let accept_until = a.accept_until + w.skew;

    Ok(VerifiedAssertion {
        issuer: a.issuer,
        name_id: a.name_id,
        session_index: a.session_index,
        authn_instant: a.authn_instant,
        authn_context_class_ref: a.authn_context_class_ref,
        session_not_on_or_after: a.session_not_on_or_after,
        attributes: a.attributes,
        not_on_or_after: a.not_on_or_after,
        assertion_id: a.id,
        response_id: parts.id,
        in_response_to: irt,
        signed,
        one_time_use: a.one_time_use,
        accept_until,
    })
}

/// The InResponseTo against the outstanding request (when the caller knows it now), recorded.
fn record_request_check(
    request: RequestCheck<'_>,
    irt: Option<&str>,
    report: &mut Report,
) -> Result<(), Error> {
    if let RequestCheck::Known(expected) = request {
        check_in_response_to(irt, expected).map_err(|e| report.fail("in_response_to", e))?;
    }
    match (request, irt) {
        (RequestCheck::Known(_), Some(found)) => report.pass("in_response_to", found, found),
        (RequestCheck::Deferred, Some(found)) => report.pass(
            "in_response_to",
            "an outstanding request (checked against the store)",
            found,
        ),
        (_, None) => report.pass(
            "in_response_to",
            "none (unsolicited responses allowed)",
            "none",
        ),
    }
    Ok(())
}

struct AssertionData {
    id: String,
    issuer: String,
    name_id: Option<NameId>,
    confirmation_irt: Option<String>,
    session_index: Option<String>,
    authn_instant: Option<DateTime<Utc>>,
    authn_context_class_ref: Option<String>,
    session_not_on_or_after: Option<DateTime<Utc>>,
    attributes: Attributes,
    not_on_or_after: DateTime<Utc>,
    /// The last instant (before skew) at which any path could accept this assertion.
    accept_until: DateTime<Utc>,
    one_time_use: bool,
}

#[allow(clippy::too_many_lines)]
fn read_assertion(
    sp: &ServiceProvider,
    assertion: Element<'_>,
    w: &Window,
    report: &mut Report,
) -> Result<AssertionData, Error> {
    let cfg = &*sp.inner;
    let idp = cfg.idp.entity_id.as_str();

    let (id, issue) = (|| {
        check_version(assertion, "Assertion")?;
        let id = check_id(assertion, "Assertion")?;
        let issue = instant(assertion, "IssueInstant")?
            .ok_or_else(|| Error::malformed("an IssueInstant on the Assertion", "none"))?;
        // Assertion children: Issuer, Signature?, Subject?, Conditions?, Advice?, Statements*
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
            return Err(Error::malformed("element-only content in the Assertion", "text"));
        }
        Ok((id, issue))
    })()
    .map_err(|e| report.fail("structure", e))?;

    // Issuer (required, first child) = the IdP.
    let first = assertion
        .child_elements()
        .next()
        .filter(|c| c.is(SAML_NS, "Issuer"));
    check_issuer(first, "Assertion", idp).map_err(|e| report.fail("assertion_issuer", e))?;
    if saml_children(assertion, SAML_NS, "Issuer").count() > 1 {
        return Err(report.fail(
            "assertion_issuer",
            Error::malformed("one Issuer in the Assertion", "several"),
        ));
    }
    report.pass("assertion_issuer", idp, idp);
    (|| {
        w.not_before("Assertion IssueInstant", issue)?;
        w.not_on_or_after(
            "Assertion IssueInstant + max_response_age",
            issue + cfg.policy.max_response_age,
        )
    })()
    .map_err(|e| report.fail("issue_instant", e))?;

    // Subject: NameID (optional) and a bearer confirmation.
    let subject = only_child(assertion, SAML_NS, "Subject", "Assertion")
        .and_then(|s| s.ok_or_else(|| Error::malformed("a Subject in the Assertion", "none")))
        .map_err(|e| report.fail("subject", e))?;
    // An EncryptedID is decrypted here, inside an Assertion whose signature policy is met.
    let parse = parse_options(cfg);
    let mut decrypted_id = None;
    let name_id = (|| {
        for c in subject.child_elements() {
            match (c.namespace(), c.local_name()) {
                (Some(SAML_NS), "NameID" | "SubjectConfirmation") => {}
                (Some(SAML_NS), "EncryptedID") if decrypted_id.is_none() => {
                    decrypted_id = Some(decryptor(cfg, &parse).decrypt(
                        c,
                        "EncryptedID",
                        (SAML_NS, "NameID"),
                    )?);
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
        let n = match (plain, &decrypted_id) {
            (None, None) => return Ok(None),
            (Some(n), None) => n,
            (None, Some((doc, _))) => crate::xmlenc::decrypted_element(doc, SAML_NS, "NameID")?,
            (Some(_), Some(_)) => {
                return Err(Error::malformed(
                    "a NameID or an EncryptedID in the Subject",
                    "both",
                ));
            }
        };
        read_name_id(n).map(Some)
    })()
    .map_err(|e| report.fail("subject", e))?;
    // SPNameQualifier is reported, not enforced: real IdPs (samling) send a value other than the
    // SP's entity ID while the audience is right.
    report.pass(
        "name_id",
        "a NameID (optional)",
        name_id
            .as_ref()
            .map_or_else(|| "none".to_owned(), |n| n.value.clone()),
    );

    // Bearer confirmation: at least one fully valid (Profiles 4.1.4.2-3).
    let mut last_err = None;
    let mut confirmed: Option<(DateTime<Utc>, Option<String>)> = None;
    let mut bearer_count = 0;
    // The latest NotOnOrAfter of any bearer confirmation: another confirmation than the one used
    // now could accept the assertion until then.
    let mut latest_confirmation: Option<DateTime<Utc>> = None;
    for sc in saml_children(subject, SAML_NS, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(BEARER) {
            continue;
        }
        bearer_count += 1;
        if let Some(noa) = saml_children(sc, SAML_NS, "SubjectConfirmationData")
            .next()
            .and_then(|d| instant(d, "NotOnOrAfter").ok().flatten())
        {
            latest_confirmation = Some(latest_confirmation.map_or(noa, |l| l.max(noa)));
        }
        let result = (|| {
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
            // The bearer profile says NotBefore MUST NOT be present, but real IdPs (SecureWorks)
            // send it: honour it as the start of the window instead of refusing the login.
            if let Some(nb) = instant(data, "NotBefore")? {
                w.not_before("SubjectConfirmationData", nb)?;
            }
            let noa =
                instant(data, "NotOnOrAfter")?.ok_or_else(|| Error::NoBearerConfirmation {
                    found: "SubjectConfirmationData without NotOnOrAfter".into(),
                })?;
            w.not_on_or_after("SubjectConfirmationData", noa)?;
            Ok((noa, data.attribute("InResponseTo").map(str::to_owned)))
        })();
        match result {
            Ok(c) if confirmed.is_none() => confirmed = Some(c),
            Ok(_) => {}
            Err(e) => last_err = Some(e),
        }
    }
    let (confirmation_noa, confirmation_irt) = match confirmed {
        Some(c) => c,
        None => {
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
            return Err(report.fail(check, e));
        }
    };
    report.pass("recipient", &cfg.acs_url, &cfg.acs_url);
    report.pass(
        "bearer_confirmation",
        "a valid bearer SubjectConfirmation",
        format_instant(confirmation_noa),
    );

    // Conditions: time window, every AudienceRestriction contains us, no unknown condition.
    let conditions = only_child(assertion, SAML_NS, "Conditions", "Assertion")
        .and_then(|c| {
            c.ok_or_else(|| {
                Error::malformed("Conditions with an AudienceRestriction", "no Conditions")
            })
        })
        .map_err(|e| report.fail("conditions", e))?;
    let mut not_on_or_after = confirmation_noa;
    let mut accept_until = latest_confirmation
        .unwrap_or(confirmation_noa)
        .max(confirmation_noa)
        .min(issue + cfg.policy.max_response_age);
    let mut one_time_use = false;
    let time = (|| {
        if let Some(nb) = instant(conditions, "NotBefore")? {
            w.not_before("Conditions", nb)?;
        }
        if let Some(noa) = instant(conditions, "NotOnOrAfter")? {
            w.not_on_or_after("Conditions", noa)?;
            not_on_or_after = not_on_or_after.min(noa);
            accept_until = accept_until.min(noa);
        }
        Ok(())
    })();
    time.map_err(|e| report.fail("conditions_time", e))?;
    report.pass(
        "conditions_time",
        "now within NotBefore..NotOnOrAfter (with skew)",
        format_instant(w.now),
    );
    let mut restrictions = 0;
    for c in conditions.child_elements() {
        match (c.namespace(), c.local_name()) {
            (Some(SAML_NS), "AudienceRestriction") => {
                restrictions += 1;
                let audiences: Vec<String> = saml_children(c, SAML_NS, "Audience")
                    .map(|a| a.text())
                    .collect();
                if !audiences.contains(&cfg.entity_id) {
                    return Err(report.fail(
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
                return Err(report.fail(
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
        return Err(report.fail(
            "audience",
            Error::AudienceMismatch {
                expected: cfg.entity_id.clone(),
                found: Vec::new(),
            },
        ));
    }
    report.pass("audience", &cfg.entity_id, &cfg.entity_id);

    // AuthnStatement: exactly one.
    let authn = (|| {
        let mut it = saml_children(assertion, SAML_NS, "AuthnStatement");
        let s = it
            .next()
            .ok_or_else(|| Error::malformed("an AuthnStatement", "none"))?;
        if it.next().is_some() {
            return Err(Error::malformed("exactly one AuthnStatement", "several"));
        }
        let instant_v = instant(s, "AuthnInstant")?;
        let session_noa = instant(s, "SessionNotOnOrAfter")?;
        if let Some(t) = session_noa {
            w.not_on_or_after("AuthnStatement SessionNotOnOrAfter", t)?;
        }
        let class_ref = only_child(s, SAML_NS, "AuthnContext", "AuthnStatement")?
            .map(|c| only_child(c, SAML_NS, "AuthnContextClassRef", "AuthnContext"))
            .transpose()?
            .flatten()
            .map(simple_text)
            .transpose()?;
        Ok((
            s.attribute("SessionIndex").map(str::to_owned),
            instant_v,
            session_noa,
            class_ref,
        ))
    })();
    let (session_index, authn_instant, session_not_on_or_after, authn_context_class_ref) =
        authn.map_err(|e| report.fail("authn_statement", e))?;
    if !cfg.policy.required_authn_contexts.is_empty() {
        let found = authn_context_class_ref.clone().unwrap_or_default();
        if !cfg.policy.required_authn_contexts.contains(&found) {
            return Err(report.fail(
                "authn_context",
                Error::AuthnContextMismatch {
                    expected: cfg.policy.required_authn_contexts.clone(),
                    found,
                },
            ));
        }
        report.pass(
            "authn_context",
            cfg.policy.required_authn_contexts.join(" | "),
            found,
        );
    }
    report.pass(
        "authn_statement",
        "one AuthnStatement",
        authn_context_class_ref.clone().unwrap_or_default(),
    );

    // Attributes, merged by Name in document order (indexed, so many Attributes stay linear).
    // EncryptedAttributes are decrypted first (inside the verified Assertion), in order.
    let mut decrypted_attributes = Vec::new();
    for st in saml_children(assertion, SAML_NS, "AttributeStatement") {
        for a in st
            .child_elements()
            .filter(|a| a.is(SAML_NS, "EncryptedAttribute"))
        {
            if decrypted_attributes.len() >= MAX_ENCRYPTED_ATTRIBUTES {
                return Err(report.fail(
                    "attributes",
                    Error::malformed(
                        format!("at most {MAX_ENCRYPTED_ATTRIBUTES} EncryptedAttributes"),
                        "more",
                    ),
                ));
            }
            let (doc, _) = decryptor(cfg, &parse)
                .decrypt(a, "EncryptedAttribute", (SAML_NS, "Attribute"))
                .map_err(|e| report.fail("decryption", e))?;
            decrypted_attributes.push(doc);
        }
    }
    let mut next_decrypted = decrypted_attributes.iter();
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
                    .map_err(|e| report.fail("decryption", e))?
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
                return Err(report.fail(
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

    Ok(AssertionData {
        id,
        issuer: idp.to_owned(),
        name_id,
        confirmation_irt,
        session_index,
        authn_instant,
        authn_context_class_ref,
        session_not_on_or_after,
        attributes: attributes.finish(),
        not_on_or_after,
        accept_until,
        one_time_use,
    })
}
