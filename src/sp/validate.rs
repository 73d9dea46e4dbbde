//! The Web Browser SSO profile's checks on a Response (SAML Profiles 4.1.4.2-4.1.4.3, Core
//! 2.5, 3.2, 5.4), reading identity data only from elements a verified signature covers.

use chrono::{DateTime, Utc};

use crate::dsig::{self, SignedElement, VerifyOptions};
use crate::error::Error;
use crate::sp::assertion::{NameId, Signed, VerifiedAssertion};
use crate::sp::attributes::Attributes;
use crate::sp::config::ServiceProvider;
use crate::time::format_instant;
use crate::xml::{Document, Element};

use super::report::{CheckResult, Report};

use crate::ns::{SAML_NS, STATUS_SUCCESS};
use crate::sp::assertion_checks::{
    check_assertion_age, check_assertion_issuer, check_assertion_structure,
    check_audience_and_conditions, check_authn_context, check_bearer_confirmation,
    check_conditions_time, conditions_of, read_attributes, read_authn_statement, read_subject,
};
use crate::sp::elements::{Window, decryptor, parse_options};
use crate::sp::response_checks::{
    OneAssertion, check_destination, check_one_assertion, check_response_age,
    check_response_issuer, check_response_structure, check_signature_policy, check_status,
    resolve_in_response_to,
};

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
        let started = std::time::Instant::now();
        let doc = tracing::info_span!("saml_sp.parse", bytes = xml.len())
            .in_scope(|| Document::parse_with(xml, &opts))
            .map_err(|e| report.fail("xml", e.into()))?;
        crate::telemetry::step("parse", started);
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
    let started = std::time::Instant::now();
    let span = tracing::info_span!("saml_sp.verify", element = "Response");
    let response_sig = span
        .in_scope(
            || match (parts.assertions.as_slice(), parts.encrypted.as_slice()) {
                ([a], []) => dsig::verify::verify_enveloped_keeping(
                    response,
                    "Response",
                    verify_opts,
                    *a,
                    &mut kept,
                ),
                _ => dsig::verify_enveloped(response, "Response", verify_opts),
            },
        )
        .map_err(|e| report.fail("response_signature", e))?;
    crate::telemetry::step("verify", started);
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
            let started = std::time::Instant::now();
            let (doc2, used) = tracing::info_span!("saml_sp.decrypt")
                .in_scope(|| {
                    decryptor(cfg, &parse_options(cfg)).decrypt(
                        enc,
                        "EncryptedAssertion",
                        (SAML_NS, "Assertion"),
                    )
                })
                .map_err(|e| report.fail("decryption", e))?;
            crate::telemetry::step("decrypt", started);
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

    let started = std::time::Instant::now();
    let assertion_sig = tracing::info_span!("saml_sp.verify", element = "Assertion")
        .in_scope(|| dsig::verify::verify_enveloped_kept(assertion, "Assertion", verify_opts, kept))
        .map_err(|e| report.fail("assertion_signature", e))?;
    crate::telemetry::step("verify", started);
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

/// Runs the Assertion's checks in order, recording each in `report`.
fn read_assertion(
    sp: &ServiceProvider,
    assertion: Element<'_>,
    w: &Window,
    report: &mut Report,
) -> Result<AssertionData, Error> {
    let cfg = &*sp.inner;
    let idp = cfg.idp.entity_id.as_str();

    let (id, issue) =
        check_assertion_structure(assertion).map_err(|e| report.fail("structure", e))?;
    check_assertion_issuer(assertion, idp).map_err(|e| report.fail("assertion_issuer", e))?;
    report.pass("assertion_issuer", idp, idp);
    check_assertion_age(cfg, w, issue).map_err(|e| report.fail("issue_instant", e))?;

    let (subject, name_id) = read_subject(cfg, assertion).map_err(|e| report.fail("subject", e))?;
    // SPNameQualifier is reported, not enforced: real IdPs (samling) send a value other than the
    // SP's entity ID while the audience is right.
    report.pass(
        "name_id",
        "a NameID (optional)",
        name_id
            .as_ref()
            .map_or_else(|| "none".to_owned(), |n| n.value.clone()),
    );

    let confirmation =
        check_bearer_confirmation(cfg, subject, w).map_err(|(check, e)| report.fail(check, e))?;
    report.pass("recipient", &cfg.acs_url, &cfg.acs_url);
    report.pass(
        "bearer_confirmation",
        "a valid bearer SubjectConfirmation",
        format_instant(confirmation.not_on_or_after),
    );

    let conditions = conditions_of(assertion).map_err(|e| report.fail("conditions", e))?;
    let conditions_end =
        check_conditions_time(conditions, w).map_err(|e| report.fail("conditions_time", e))?;
    report.pass(
        "conditions_time",
        "now within NotBefore..NotOnOrAfter (with skew)",
        format_instant(w.now),
    );
    let read = check_audience_and_conditions(cfg, conditions)
        .map_err(|(check, e)| report.fail(check, e))?;
    report.pass("audience", &cfg.entity_id, &cfg.entity_id);

    let authn =
        read_authn_statement(assertion, w).map_err(|e| report.fail("authn_statement", e))?;
    if !cfg.policy.required_authn_contexts.is_empty() {
        check_authn_context(cfg, authn.class_ref.as_deref())
            .map_err(|e| report.fail("authn_context", e))?;
        report.pass(
            "authn_context",
            cfg.policy.required_authn_contexts.join(" | "),
            authn.class_ref.clone().unwrap_or_default(),
        );
    }
    report.pass(
        "authn_statement",
        "one AuthnStatement",
        authn.class_ref.clone().unwrap_or_default(),
    );

    let attributes = read_attributes(cfg, assertion).map_err(|(check, e)| report.fail(check, e))?;

    // How long this assertion counts: the confirmation used, bounded by Conditions; and the last
    // instant any path could accept it (the latest bearer confirmation, bounded by Conditions and
    // by the Assertion's IssueInstant + max_response_age) for the replay cache.
    let mut not_on_or_after = confirmation.not_on_or_after;
    let mut accept_until = confirmation.latest.min(issue + cfg.policy.max_response_age);
    if let Some(end) = conditions_end {
        not_on_or_after = not_on_or_after.min(end);
        accept_until = accept_until.min(end);
    }
    Ok(AssertionData {
        id,
        issuer: idp.to_owned(),
        name_id,
        confirmation_irt: confirmation.in_response_to,
        session_index: authn.session_index,
        authn_instant: authn.authn_instant,
        authn_context_class_ref: authn.class_ref,
        session_not_on_or_after: authn.session_not_on_or_after,
        attributes,
        not_on_or_after,
        accept_until,
        one_time_use: read.one_time_use,
    })
}
