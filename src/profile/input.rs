//! What a customer's administrator pastes for their IdP, turned into validated values with
//! field-level problems: the three values (Issuer, SSO URL, signing certificate in whatever form
//! they copied it) or the IdP's metadata document. Nothing is taken when anything is wrong.

use chrono::{DateTime, Utc};

use crate::binding::SsoBinding;
use crate::crypto::Certificate;
use crate::metadata::IdpMetadata;
use crate::tenant::ConfigProblem;
use crate::tenant::config::check_idp_url;

/// The IdP side of a profile, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpValues {
    /// The IdP's Issuer (entity ID), trimmed.
    pub entity_id: String,
    /// Its single sign-on URL.
    pub sso_url: String,
    /// The binding to send the AuthnRequest with.
    pub sso_binding: SsoBinding,
    /// Its Single Logout URL, when known.
    pub slo_url: Option<String>,
    /// Its signing certificates (several during a rotation).
    pub certificates: Vec<Certificate>,
    /// The metadata's `validUntil`, when the values came from metadata.
    pub valid_until: Option<DateTime<Utc>>,
}

/// What the administrator entered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdpInput {
    /// The three values an IdP's set-up page shows.
    Values {
        /// The Issuer / entity ID / "Identity Provider Issuer".
        issuer: String,
        /// The SSO URL / "Identity Provider Single Sign-On URL" / "Login URL".
        sso_url: String,
        /// The X.509 signing certificate: PEM (one or more), with or without line breaks or
        /// headers, bare base64, or a whole metadata document pasted into the field.
        certificate: String,
    },
    /// The IdP's metadata XML, uploaded.
    Metadata(String),
}

/// Whether a certificate outside its validity dates is an error or a warning (documented
/// policy): an expired certificate is an error (the IdP must give the current one); one not yet
/// valid is a warning (IdPs publish the next certificate ahead of a rotation).
fn certificate_dates(
    certs: &[Certificate],
    now: DateTime<Utc>,
    problems: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<ConfigProblem>,
) {
    for (i, c) in certs.iter().enumerate() {
        if c.not_after() <= now {
            problems.push(problem(
                "certificate",
                format!(
                    "Certificate {} expired on {}: ask the IdP for its current signing certificate.",
                    i + 1,
                    c.not_after().format("%Y-%m-%d")
                ),
            ));
        } else if c.not_before() > now {
            warnings.push(problem(
                "certificate",
                format!(
                    "Certificate {} is valid only from {}: it will verify logins from then on.",
                    i + 1,
                    c.not_before().format("%Y-%m-%d")
                ),
            ));
        }
    }
}

fn problem(field: &'static str, message: String) -> ConfigProblem {
    ConfigProblem { field, message }
}

/// The validated values and any warnings, or every problem found.
pub type ParsedIdp = Result<(IdpValues, Vec<ConfigProblem>), Vec<ConfigProblem>>;

impl IdpInput {
    /// Validates what was entered at `now`: every problem at once, each naming its field
    /// (`issuer`, `sso_url`, `certificate`, `metadata`) in an administrator's words. Plain-http
    /// SSO URLs are refused unless on a loopback address (local test IdPs).
    pub fn parse(&self, now: DateTime<Utc>) -> ParsedIdp {
        match self {
            IdpInput::Values {
                issuer,
                sso_url,
                certificate,
            } => parse_values(issuer, sso_url, certificate, now),
            IdpInput::Metadata(xml) => parse_metadata(xml, now, "metadata"),
        }
    }
}

fn parse_values(issuer: &str, sso_url: &str, certificate: &str, now: DateTime<Utc>) -> ParsedIdp {
    // A whole metadata document pasted into the certificate field: take it as metadata.
    if certificate.contains("EntityDescriptor") {
        return parse_metadata(certificate, now, "certificate");
    }
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let entity_id = issuer.trim().to_owned();
    if entity_id.is_empty() {
        problems.push(problem(
            "issuer",
            "The IdP's Issuer is missing: copy its \"Issuer\" or \"Entity ID\" value.".into(),
        ));
    } else if entity_id.chars().any(char::is_whitespace) {
        problems.push(problem(
            "issuer",
            "The Issuer contains spaces: copy it again without extra text.".into(),
        ));
    }
    let sso_url = sso_url.trim().to_owned();
    if sso_url.is_empty() {
        problems.push(problem(
            "sso_url",
            "The IdP's single sign-on URL is missing.".into(),
        ));
    } else if let Err(e) = check_idp_url("sso_url", &sso_url, false) {
        let reason = match e {
            crate::error::Error::Config { reason, .. } => reason,
            other => other.to_string(),
        };
        problems.push(problem(
            "sso_url",
            format!("This single sign-on URL cannot be used: {reason}."),
        ));
    }
    let certificates = match Certificate::parse_all(certificate.trim().as_bytes()) {
        Ok(c) => c,
        Err(crate::error::Error::Config { reason, .. }) => {
            problems.push(problem(
                "certificate",
                format!("The certificate: {reason}."),
            ));
            Vec::new()
        }
        Err(other) => {
            problems.push(problem("certificate", other.to_string()));
            Vec::new()
        }
    };
    if certificate.trim().is_empty() {
        problems.retain(|p| p.field != "certificate");
        problems.push(problem(
            "certificate",
            "The IdP's signing certificate is missing.".into(),
        ));
    }
    certificate_dates(&certificates, now, &mut problems, &mut warnings);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        IdpValues {
            entity_id,
            sso_url,
            sso_binding: SsoBinding::Redirect,
            slo_url: None,
            certificates,
            valid_until: None,
        },
        warnings,
    ))
}

fn parse_metadata(xml: &str, now: DateTime<Utc>, field: &'static str) -> ParsedIdp {
    let md = match IdpMetadata::parse(xml.trim().as_bytes(), None) {
        Ok(md) => md,
        Err(e) => {
            return Err(vec![problem(
                field,
                format!(
                    "This is not usable IdP metadata ({}): download the IdP's SAML metadata XML again.",
                    e.code()
                ),
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Err(e) = md.check_valid_at(now) {
        problems.push(problem(
            field,
            format!("The metadata has expired ({e}): download it again from the IdP."),
        ));
    }
    let redirect = md.sso_url(crate::ns::HTTP_REDIRECT);
    let post = md.sso_url(crate::ns::HTTP_POST);
    let (sso_url, sso_binding) = match (redirect, post) {
        (Some(u), _) => (u.to_owned(), SsoBinding::Redirect),
        (None, Some(u)) => (u.to_owned(), SsoBinding::Post),
        (None, None) => {
            problems.push(problem(
                field,
                "The metadata has no single sign-on service for HTTP-Redirect or HTTP-POST.".into(),
            ));
            (String::new(), SsoBinding::Redirect)
        }
    };
    if !sso_url.is_empty()
        && let Err(e) = check_idp_url("sso_url", &sso_url, false)
    {
        problems.push(problem(
            field,
            format!("The metadata's single sign-on URL cannot be used: {e}."),
        ));
    }
    let certificates = md.signing_certificates().to_vec();
    if certificates.is_empty() {
        problems.push(problem(
            field,
            "The metadata names no signing certificate.".into(),
        ));
    }
    certificate_dates(&certificates, now, &mut problems, &mut warnings);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        IdpValues {
            entity_id: md.entity_id().to_owned(),
            sso_url,
            sso_binding,
            slo_url: md.slo_url(crate::ns::HTTP_REDIRECT).map(str::to_owned),
            certificates,
            valid_until: md.valid_until(),
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    const PEM: &str = include_str!("../testkit/test-idp.crt");

    fn now() -> DateTime<Utc> {
        parse_instant("2030-01-01T10:00:00Z", "now").unwrap()
    }

    fn values(issuer: &str, sso: &str, cert: &str) -> ParsedIdp {
        IdpInput::Values {
            issuer: issuer.into(),
            sso_url: sso.into(),
            certificate: cert.into(),
        }
        .parse(now())
    }

    #[test]
    fn a_certificate_in_any_form_it_is_copied_in() {
        let body: String = PEM.lines().filter(|l| !l.starts_with("-----")).collect();
        let one_line = PEM.replace('\n', "");
        for cert in [
            PEM.to_owned(),
            body.clone(),
            one_line,
            format!("  {body}\n"),
        ] {
            let (v, _) = values(
                " https://idp.example.com ",
                "https://idp.example.com/sso",
                &cert,
            )
            .unwrap();
            assert_eq!(v.entity_id, "https://idp.example.com");
            assert_eq!(v.certificates.len(), 1);
        }
    }

    #[test]
    fn every_problem_at_once_with_its_field() {
        let e = values(
            "",
            "http://idp.example.com/sso",
            "-----BEGIN CERTIFICATE-----\nMIIB",
        )
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["issuer", "sso_url", "certificate"], "{e:#?}");
        let e = values("https://idp with space", "https://idp/sso", "").unwrap_err();
        assert!(
            e.iter()
                .any(|p| p.field == "issuer" && p.message.contains("spaces"))
        );
        assert!(
            e.iter()
                .any(|p| p.field == "certificate" && p.message.contains("missing"))
        );
        // A loopback http URL is a local test IdP: accepted.
        values("https://idp", "http://127.0.0.1:9000/sso", PEM).unwrap();
    }

    #[test]
    fn metadata_without_sso_or_keys_is_refused_in_words() {
        let e = IdpInput::Metadata("<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>".into())
            .parse(now())
            .unwrap_err();
        assert_eq!(e[0].field, "metadata");
        assert!(e[0].message.contains("download"), "{e:#?}");
        let md = include_str!("../../tests/fixtures/bench/idp_metadata.xml").to_owned();
        let (v, _) = IdpInput::Metadata(md.clone()).parse(now()).unwrap();
        assert_eq!(
            v.sso_url,
            "https://bench.okta.com/app/bench/exk1bench0idp0okta0x7/sso/saml"
        );
        // Metadata pasted into the certificate field is taken as metadata.
        let (v2, _) = values("", "", &md).unwrap();
        assert_eq!(v2, v);
    }
}
