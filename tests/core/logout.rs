//! Single Logout (issue 16): the real logout messages of tests/fixtures/interop/logout as their
//! manifest says, SP- and IdP-initiated round trips with the test IdP on both bindings, the
//! one-call flows, and the attack tests (each named after the rule it checks).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use saml_sp::Acs;
use saml_sp::crypto::Certificate;
use saml_sp::login::AuditContext;
use saml_sp::login::ProvisionError;
use saml_sp::logout::{
    IncomingLogout, LogoutStatus, ReceivedLogoutRequest, SessionRecord, SessionTerminator,
};
use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
use saml_sp::testkit::{SignShape, TestIdp, TestUser};
use saml_sp::time::{FixedClock, parse_instant};
use saml_sp::{IdentityProvider, ServiceProvider, ServiceProviderBuilder};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interop/");
const IDP: &str = "https://idp.example.com/saml";
const IDP_SLO: &str = "https://idp.example.com/slo";
const SP: &str = "https://sp.example.com/saml/metadata";
const ACS: &str = "https://sp.example.com/saml/acs";
const SP_SLO: &str = "https://sp.example.com/saml/slo";

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("not ready"),
    }
}

fn now() -> DateTime<Utc> {
    parse_instant("2030-01-01T10:00:30Z", "now").unwrap()
}

fn sp_signing_key() -> saml_sp::crypto::SigningKey {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/");
    let cert = Certificate::parse(&std::fs::read(format!("{dir}sp.crt")).unwrap()).unwrap();
    saml_sp::crypto::SigningKey::from_pem(
        &std::fs::read_to_string(format!("{dir}sp.key")).unwrap(),
        Some(cert),
    )
    .unwrap()
}

fn builder(idp: &TestIdp) -> ServiceProviderBuilder {
    ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, vec![idp.certificate().clone()])
            .unwrap()
            .with_slo_url(IDP_SLO),
    )
    .single_logout_url(SP_SLO)
    .signing_key(sp_signing_key())
}

fn sp(idp: &TestIdp) -> ServiceProvider {
    builder(idp).build().unwrap()
}

fn session(idp: &TestIdp) -> SessionRecord {
    let xml = idp
        .response(SP, ACS)
        .in_response_to("_r")
        .user(TestUser::new("ada@example.com"))
        .build(now())
        .unwrap();
    let a = sp(idp)
        .validate_response(xml.as_bytes(), Some("_r"), now())
        .unwrap();
    SessionRecord::from_assertion(&a).unwrap()
}

// ---- the interop corpus ----

fn logout_entries() -> Vec<toml::Table> {
    let text = std::fs::read_to_string(format!("{DIR}logout/manifest.toml")).unwrap();
    let m: toml::Table = text.parse().unwrap();
    m["logout"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_table().unwrap().clone())
        .collect()
}

fn strs(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn real_logout_messages_behave_as_their_manifest_says() {
    let entries = logout_entries();
    assert!(entries.len() >= 9);
    for e in &entries {
        let file = e["file"].as_str().unwrap();
        let s = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let mut certs = Vec::new();
        for c in strs(e.get("cert")) {
            certs.extend(
                Certificate::parse_all(&std::fs::read(format!("{DIR}{c}")).unwrap()).unwrap(),
            );
        }
        let legacy = strs(e.get("requires")).iter().any(|r| r == "legacy-crypto");
        let sp_id = Some(s("sp_entity_id"))
            .filter(|x| !x.is_empty())
            .unwrap_or("urn:sp".into());
        let build = |legacy: bool| {
            let mut b = ServiceProvider::builder(
                sp_id.clone(),
                "https://sp.invalid/acs",
                IdentityProvider::new(s("idp_issuer"), certs.clone()).unwrap(),
            )
            .single_logout_url(s("destination"));
            if legacy {
                b = b.dangerous(
                    saml_sp::sp::DangerousOptions::default().dangerous_allow_legacy_crypto(),
                );
            }
            b.build().unwrap()
        };
        let sp = build(legacy);
        let now = parse_instant(&s("now"), "now").unwrap();
        let raw = std::fs::read(format!("{DIR}{file}")).unwrap();
        let text = String::from_utf8(raw.clone()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
        let kind = s("kind");
        let msg = match s("binding").as_str() {
            "redirect" => IncomingLogout::Redirect {
                query: text.trim_end(),
            },
            _ => IncomingLogout::Post {
                param: if kind == "LogoutRequest" {
                    "SAMLRequest"
                } else {
                    "SAMLResponse"
                },
                value: &b64,
                relay_state: None,
            },
        };
        let irt = s("in_response_to");
        let validate = |sp: &ServiceProvider| -> Result<(), saml_sp::Error> {
            if kind == "LogoutRequest" {
                let r = sp.validate_logout_request(&msg, now)?;
                assert_eq!(r.name_id.value, s("name_id"), "{file}");
                assert_eq!(
                    r.name_id.format.as_deref().unwrap_or(""),
                    s("name_id_format"),
                    "{file}"
                );
                assert_eq!(r.session_indexes, strs(e.get("session_index")), "{file}");
            } else {
                let r = sp.validate_logout_response(&msg, Some(&irt), now)?;
                assert_eq!(r.in_response_to, irt, "{file}");
                assert_eq!(r.status, LogoutStatus::Success, "{file}");
            }
            Ok(())
        };
        let result = validate(&sp);
        if e["expect"].as_str() == Some("accept") {
            result.unwrap_or_else(|err| panic!("{file}: {}: {err}", err.code()));
            if legacy {
                let err = validate(&build(false)).expect_err("legacy crypto is off by default");
                assert_eq!(err.code(), "unsupported_algorithm", "{file}");
            }
        } else {
            let err = result.expect_err(file);
            let reason = s("reject_reason");
            let want: &[&str] = match reason.split(':').next().unwrap() {
                "binding" => &["binding"],
                "signature" => &["signature_invalid", "digest_mismatch"],
                "expired" => &["expired"],
                _ if reason.starts_with("unsigned") => &["signature_missing"],
                other => panic!("{file}: unknown reject reason {other}"),
            };
            assert!(
                want.contains(&err.code()),
                "{file}: {} ({err}), expected {want:?}",
                err.code()
            );
        }
    }
}

/// The lower-case-escaped Entra-shaped message verifies over its octets as received: its
/// signature is fine, and only the parameter name is wrong. Sent in the right parameter it would
/// pass the signature check; upper-casing its escapes breaks the signature.
#[test]
fn redirect_signature_is_verified_over_the_octets_as_received() {
    let e = logout_entries()
        .into_iter()
        .find(|e| e["file"].as_str().unwrap().contains("lowercase"))
        .unwrap();
    let line = std::fs::read_to_string(format!("{DIR}{}", e["file"].as_str().unwrap())).unwrap();
    let line = line.trim_end();
    assert!(line.contains("%2f") || line.contains("%2b") || line.contains("%3d"));
    let certs = Certificate::parse_all(
        &std::fs::read(format!(
            "{DIR}{}",
            e["cert"].as_array().unwrap()[0].as_str().unwrap()
        ))
        .unwrap(),
    )
    .unwrap();
    let m = saml_sp::binding::decode_redirect(line, &Default::default()).unwrap();
    assert!(m.verify_signature(&certs, true).unwrap().is_some());
    // Re-encoded (upper-case escapes): the octets differ, the signature fails.
    let query = line.split_once('?').map_or(line, |(_, q)| q);
    let (msg_part, rest) = query.split_once("&SigAlg=").unwrap();
    let reencoded = format!(
        "{}&SigAlg={rest}",
        msg_part
            .replace("%2f", "%2F")
            .replace("%2b", "%2B")
            .replace("%3d", "%3D")
    );
    assert_ne!(reencoded, query);
    let m = saml_sp::binding::decode_redirect(&reencoded, &Default::default()).unwrap();
    assert_eq!(
        m.verify_signature(&certs, true).unwrap_err().code(),
        "signature_invalid"
    );
}

// ---- round trips with the test IdP ----

#[test]
fn sp_initiated_logout_round_trip_on_both_bindings() {
    let idp = TestIdp::fixed(IDP);
    let sp = sp(&idp);
    let session = session(&idp);
    let request = sp.logout_request(&session, now()).unwrap();
    let url = request
        .redirect_url(Some("r1"), sp.signing_key().unwrap())
        .unwrap();
    assert!(url.starts_with(&format!("{IDP_SLO}?SAMLRequest=")));
    assert!(url.contains("&RelayState=r1&SigAlg=") && url.contains("&Signature="));
    // The request names the session.
    assert!(request.xml().contains("<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">ada@example.com</saml:NameID>"));
    assert!(request.xml().contains(&format!(
        "<samlp:SessionIndex>{}</samlp:SessionIndex>",
        session.session_index.as_deref().unwrap()
    )));
    // Redirect answer, carrying the RelayState back.
    let back = idp
        .slo_redirect(url.split_once('?').unwrap().1, SP_SLO, now())
        .unwrap();
    let done = sp
        .validate_logout_response(
            &IncomingLogout::Redirect { query: &back },
            Some(request.id()),
            now(),
        )
        .unwrap();
    assert_eq!(done.status, LogoutStatus::Success);
    assert_eq!(done.relay_state.as_deref(), Some("r1"));
    assert!(matches!(
        done.signature,
        saml_sp::logout::LogoutSignature::Redirect(_)
    ));
    // POST answer.
    let posted = idp
        .logout_response_post(request.id(), SP_SLO, now())
        .unwrap();
    let done = sp
        .validate_logout_response(
            &IncomingLogout::Post {
                param: "SAMLResponse",
                value: &posted,
                relay_state: None,
            },
            Some(request.id()),
            now(),
        )
        .unwrap();
    assert!(matches!(
        done.signature,
        saml_sp::logout::LogoutSignature::Post(_)
    ));
    // The SP's POST form carries an enveloped-signed request the SP's certificate verifies.
    let form = request.post_form(None, sp.signing_key().unwrap()).unwrap();
    assert!(form.html.contains("name=\"SAMLRequest\""));
    let signed = request.signed_xml(sp.signing_key().unwrap()).unwrap();
    assert!(signed.contains("<ds:Signature"));
}

#[test]
fn idp_initiated_logout_request_on_both_bindings() {
    let idp = TestIdp::fixed(IDP);
    let sp = sp(&idp);
    let session = session(&idp);
    let (id, url) = idp
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    let r = sp
        .validate_logout_request(&IncomingLogout::Redirect { query: &url }, now())
        .unwrap();
    assert_eq!(r.id, id);
    assert!(r.ends(&session));
    assert_eq!(r.relay_state.as_deref(), Some("idp-relay"));
    let (_, b64) = idp.logout_request_post(&session, SP_SLO, now()).unwrap();
    let r = sp
        .validate_logout_request(
            &IncomingLogout::Post {
                param: "SAMLRequest",
                value: &b64,
                relay_state: None,
            },
            now(),
        )
        .unwrap();
    assert!(r.ends(&session));
    // Another user's session, or another SessionIndex, is not ended.
    let mut other = session.clone();
    other.session_index = Some("_other".into());
    assert!(!r.ends(&other));
    // The answer is a signed LogoutResponse to the IdP's SLO URL.
    let resp = sp
        .logout_response(&r.id, &LogoutStatus::Success, now())
        .unwrap();
    assert!(resp.xml().contains(&format!("InResponseTo=\"{}\"", r.id)));
    assert!(
        resp.redirect_url(None, sp.signing_key().unwrap())
            .unwrap()
            .starts_with(IDP_SLO)
    );
}

// ---- attacks ----

#[test]
fn unsigned_logout_request_is_refused_by_default() {
    let idp = TestIdp::fixed(IDP);
    let session = session(&idp);
    let (_, b64) = idp.logout_request_post(&session, SP_SLO, now()).unwrap();
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .unwrap(),
    )
    .unwrap();
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}{}",
        &xml[..start],
        &xml[end..]
    ));
    let msg = IncomingLogout::Post {
        param: "SAMLRequest",
        value: &unsigned,
        relay_state: None,
    };
    assert_eq!(
        sp(&idp)
            .validate_logout_request(&msg, now())
            .unwrap_err()
            .code(),
        "signature_missing"
    );
    // A Redirect message without SigAlg/Signature.
    let (_, url) = idp
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    let bare = url.split("&SigAlg=").next().unwrap();
    assert_eq!(
        sp(&idp)
            .validate_logout_request(&IncomingLogout::Redirect { query: bare }, now())
            .unwrap_err()
            .code(),
        "signature_missing"
    );
    // Only with the dangerous option.
    let lax =
        builder(&idp)
            .policy(saml_sp::ValidationPolicy::default().dangerous(
                saml_sp::sp::DangerousOptions::default().dangerous_allow_unsigned_logout(),
            ))
            .build()
            .unwrap();
    assert_eq!(
        lax.validate_logout_request(&msg, now()).unwrap().signature,
        saml_sp::logout::LogoutSignature::Unsigned
    );
}

#[test]
fn advisory_node_saml_cve_2023_40178_logout_request_not_on_or_after_is_checked() {
    let idp = TestIdp::fixed(IDP);
    let session = session(&idp);
    let (_, url) = idp
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    // NotOnOrAfter is now + 5 min; the clock 6 minutes on (past the skew of 3 minutes too).
    let later = now() + chrono::Duration::minutes(9);
    let e = sp(&idp)
        .validate_logout_request(&IncomingLogout::Redirect { query: &url }, later)
        .unwrap_err();
    assert_eq!(e.code(), "expired", "{e}");
    // Too old by IssueInstant (max age 10 minutes + skew) even without NotOnOrAfter.
    let much_later = now() + chrono::Duration::minutes(20);
    assert_eq!(
        sp(&idp)
            .validate_logout_request(&IncomingLogout::Redirect { query: &url }, much_later)
            .unwrap_err()
            .code(),
        "expired"
    );
}

#[test]
fn logout_request_with_the_wrong_destination_is_refused() {
    let idp = TestIdp::fixed(IDP);
    let session = session(&idp);
    let (_, url) = idp
        .logout_request_redirect(&session, "https://other-sp.example.com/slo", now())
        .unwrap();
    let e = sp(&idp)
        .validate_logout_request(&IncomingLogout::Redirect { query: &url }, now())
        .unwrap_err();
    assert_eq!(e.code(), "destination_mismatch");
}

#[test]
fn logout_request_from_another_tenants_idp_is_refused() {
    let idp = TestIdp::fixed(IDP);
    let session = session(&idp);
    // Another IdP with its own key: not trusted by this tenant.
    let other = TestIdp::generate("https://other-idp.example.com").unwrap();
    let (_, url) = other
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    let e = sp(&idp)
        .validate_logout_request(&IncomingLogout::Redirect { query: &url }, now())
        .unwrap_err();
    assert_eq!(e.code(), "signature_invalid", "{e}");
    // The same key under another Issuer (a tenant sharing an IdP product key): the Issuer decides.
    let renamed = TestIdp::fixed("https://other-idp.example.com");
    let (_, url) = renamed
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    let e = sp(&idp)
        .validate_logout_request(&IncomingLogout::Redirect { query: &url }, now())
        .unwrap_err();
    assert_eq!(e.code(), "issuer_mismatch", "{e}");
}

#[test]
fn logout_response_answering_a_request_never_sent_is_refused() {
    let idp = TestIdp::fixed(IDP);
    let sp = sp(&idp);
    let back = idp
        .logout_response_redirect("_never_sent", SP_SLO, now())
        .unwrap();
    let msg = IncomingLogout::Redirect { query: &back };
    assert_eq!(
        sp.validate_logout_response(&msg, None, now())
            .unwrap_err()
            .code(),
        "unknown_in_response_to"
    );
    assert_eq!(
        sp.validate_logout_response(&msg, Some("_the_real_one"), now())
            .unwrap_err()
            .code(),
        "in_response_to_mismatch"
    );
}

#[test]
fn advisory_samlify_ghsa_63ch_w8pw_4mf2_wrapping_inside_a_logout_request() {
    // samlify GHSA-63ch-w8pw-4mf2: the signed LogoutRequest moved inside an attacker's one that
    // names another user; and the attacker's NameID added beside the signed one.
    let idp = TestIdp::fixed(IDP);
    let session = session(&idp);
    let (_, b64) = idp.logout_request_post(&session, SP_SLO, now()).unwrap();
    let signed = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .unwrap(),
    )
    .unwrap();
    let inner = signed.replacen(
        "<samlp:LogoutRequest ",
        "<samlp:LogoutRequest xmlns:x=\"urn:x\" ",
        1,
    );
    let wrapper = format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_evil\" Version=\"2.0\" IssueInstant=\"2030-01-01T10:00:00Z\" Destination=\"{SP_SLO}\"><saml:Issuer>{IDP}</saml:Issuer><saml:NameID>victim@example.com</saml:NameID><samlp:Extensions>{}</samlp:Extensions></samlp:LogoutRequest>",
        inner.trim_start_matches("<?xml version=\"1.0\"?>")
    );
    let msg_b64 = base64::engine::general_purpose::STANDARD.encode(&wrapper);
    let e = sp(&idp)
        .validate_logout_request(
            &IncomingLogout::Post {
                param: "SAMLRequest",
                value: &msg_b64,
                relay_state: None,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "signature_missing", "{e}");
    // A second NameID beside the signed one: the digest no longer matches.
    let doubled = signed.replacen(
        "<saml:NameID",
        "<saml:NameID>victim@example.com</saml:NameID><saml:NameID",
        1,
    );
    let e = sp(&idp)
        .validate_logout_request(
            &IncomingLogout::Post {
                param: "SAMLRequest",
                value: &base64::engine::general_purpose::STANDARD.encode(doubled),
                relay_state: None,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "digest_mismatch", "{e}");
}

#[test]
fn a_logout_message_in_the_wrong_parameter_is_refused() {
    let idp = TestIdp::fixed(IDP);
    let back = idp.logout_response_redirect("_x", SP_SLO, now()).unwrap();
    let swapped = back.replacen("SAMLResponse=", "SAMLRequest=", 1);
    let e = sp(&idp)
        .validate_logout_response(
            &IncomingLogout::Redirect { query: &swapped },
            Some("_x"),
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "binding");
}

// ---- the one-call flows ----

#[derive(Default)]
struct Sessions(Mutex<Vec<SessionRecord>>, bool);

impl SessionTerminator for Sessions {
    async fn end_sessions(
        &self,
        _tenant: &str,
        request: &ReceivedLogoutRequest,
    ) -> Result<usize, ProvisionError> {
        if self.1 {
            return Err(ProvisionError("database down".into()));
        }
        let mut s = self.0.lock().unwrap();
        let before = s.len();
        s.retain(|x| !request.ends(x));
        Ok(before - s.len())
    }
}

use crate::users;
use users::Users;

fn acs(idp: &TestIdp) -> Acs<Users> {
    let registry = IdpRegistry::new(
        SpSettings::new(SP, ACS)
            .unwrap()
            .single_logout_url(SP_SLO)
            .signing_key(sp_signing_key()),
    );
    registry
        .insert(
            TenantConfig::new("acme", IDP, vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso")
                .slo_url(IDP_SLO),
        )
        .unwrap();
    Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        Users,
    )
    .with_clock(Arc::new(FixedClock(now())))
}

#[test]
fn one_call_sp_initiated_logout_takes_its_request_once() {
    let idp = TestIdp::fixed(IDP);
    let acs = acs(&idp);
    let ctx = AuditContext::new();
    let session = session(&idp);
    let start = block_on(acs.start_logout("acme", &session, Some("/bye"), &ctx)).unwrap();
    let back = idp
        .slo_redirect(start.redirect_url.split_once('?').unwrap().1, SP_SLO, now())
        .unwrap();
    let msg = IncomingLogout::Redirect { query: &back };
    let done = block_on(acs.finish_logout("acme", &msg, &ctx)).unwrap();
    assert_eq!(done.return_to, "/bye");
    assert!(done.status.is_success());
    // The same answer again: its request is gone.
    assert_eq!(
        block_on(acs.finish_logout("acme", &msg, &ctx))
            .unwrap_err()
            .code(),
        "unknown_in_response_to"
    );
}

#[test]
fn one_call_idp_initiated_logout_ends_sessions_and_refuses_a_replay() {
    let idp = TestIdp::fixed(IDP);
    let acs = acs(&idp);
    let ctx = AuditContext::new();
    let session = session(&idp);
    let mut other = session.clone();
    other.name_id.value = "bob@example.com".into();
    let sessions = Sessions(Mutex::new(vec![session.clone(), other.clone()]), false);
    let (_, url) = idp
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    let msg = IncomingLogout::Redirect { query: &url };
    let reply = block_on(acs.handle_logout_request("acme", &msg, &sessions, &ctx)).unwrap();
    assert_eq!(reply.sessions_ended, 1);
    assert_eq!(*sessions.0.lock().unwrap(), vec![other]);
    assert!(
        reply
            .redirect_url
            .starts_with(&format!("{IDP_SLO}?SAMLResponse="))
    );
    assert!(reply.redirect_url.contains("&RelayState=idp-relay&SigAlg="));
    // Replayed: refused.
    assert_eq!(
        block_on(acs.handle_logout_request("acme", &msg, &sessions, &ctx))
            .unwrap_err()
            .code(),
        "replayed_logout_request"
    );
    // When ending sessions fails, the IdP is told so (Responder), not told Success.
    let failing = Sessions(Mutex::new(vec![]), true);
    let (_, url) = idp
        .logout_request_redirect(&session, SP_SLO, now())
        .unwrap();
    let reply = block_on(acs.handle_logout_request(
        "acme",
        &IncomingLogout::Redirect { query: &url },
        &failing,
        &ctx,
    ))
    .unwrap();
    assert!(
        matches!(reply.status, LogoutStatus::Failed { ref code, .. } if code.ends_with(":Responder"))
    );
}

/// Hardening pass 3, item 8: when the app cannot end the sessions, its error text ("database
/// down" here) stays in the log; the IdP's LogoutResponse carries a fixed message.
#[test]
fn pass3_defect_8_an_application_error_is_never_sent_to_the_idp() {
    let idp = TestIdp::fixed(IDP);
    let acs = acs(&idp);
    let failing = Sessions(Mutex::new(vec![]), true);
    let (_, url) = idp
        .logout_request_redirect(&session(&idp), SP_SLO, now())
        .unwrap();
    let reply = block_on(acs.handle_logout_request(
        "acme",
        &IncomingLogout::Redirect { query: &url },
        &failing,
        &AuditContext::new(),
    ))
    .unwrap();
    let LogoutStatus::Failed { message, .. } = &reply.status else {
        panic!("{:?}", reply.status)
    };
    assert_eq!(
        message.as_deref(),
        Some("the service provider could not end the session")
    );
    let sent = saml_sp::binding::decode_redirect(&reply.redirect_url, &Default::default()).unwrap();
    let xml = String::from_utf8(sent.xml).unwrap();
    assert!(xml.contains("could not end the session"), "{xml}");
    assert!(!xml.contains("database down"), "{xml}");
}

#[test]
fn session_record_carries_what_logout_needs() {
    let idp = TestIdp::fixed(IDP);
    let xml = idp
        .response(SP, ACS)
        .in_response_to("_r")
        .sign(SignShape::Both)
        .build(now())
        .unwrap();
    let a = sp(&idp)
        .validate_response(xml.as_bytes(), Some("_r"), now())
        .unwrap();
    let s = SessionRecord::from_assertion(&a).unwrap();
    assert_eq!(s.issuer, IDP);
    assert_eq!(s.name_id, *a.name_id().unwrap());
    assert_eq!(s.session_index.as_deref(), a.session_index());
    assert_eq!(SessionRecord::decode(&s.encode()).unwrap(), s);
}

// ---- Published advisories on the Redirect binding and logout messages (issue 28) ----

/// A LogoutRequest from the IdP, re-signed on the Redirect binding by a key this test holds
/// (configured as the IdP's), with the RelayState given; and the SP trusting that key.
fn redirect_signed_by_test_key(
    idp: &TestIdp,
    relay_state: Option<&str>,
) -> (ServiceProvider, String, Vec<u8>) {
    let (_, url) = idp
        .logout_request_redirect(&session(idp), SP_SLO, now())
        .unwrap();
    let xml = saml_sp::binding::decode_redirect(&url, &Default::default())
        .unwrap()
        .xml;
    let key = sp_signing_key();
    let query = saml_sp::binding::redirect_query(
        "SAMLRequest",
        &xml,
        relay_state,
        Some((&key, saml_sp::crypto::SignatureAlgorithm::RsaSha256)),
    )
    .unwrap();
    let sp = ServiceProvider::builder(
        SP,
        ACS,
        IdentityProvider::new(IDP, vec![key.certificate().unwrap().clone()]).unwrap(),
    )
    .single_logout_url(SP_SLO)
    .build()
    .unwrap();
    (sp, query, xml)
}

fn redirect_code(sp: &ServiceProvider, query: &str) -> String {
    match sp.validate_logout_request(&IncomingLogout::Redirect { query }, now()) {
        Ok(r) => panic!("accepted a LogoutRequest for {}", r.name_id.value),
        Err(e) => e.code().to_owned(),
    }
}

/// simplesamlphp/saml2 CVE-2025-27773 (GHSA-46r4-f8gj-xg56): the HTTP-Redirect signature was
/// verified over a reconstruction of the query, not over the octets that were signed. Every
/// change to the signed parameters (a parameter dropped, changed or given twice, SigAlg,
/// RelayState, the message itself under another message's signature) is refused, and the values
/// as received are what is verified.
#[test]
fn advisory_simplesamlphp_saml2_cve_2025_27773_redirect_signature_over_the_octets_received() {
    let idp = TestIdp::fixed(IDP);
    let (sp, query, _) = redirect_signed_by_test_key(&idp, Some("state-1"));
    sp.validate_logout_request(&IncomingLogout::Redirect { query: &query }, now())
        .unwrap();
    let param = |name: &str| {
        query
            .split('&')
            .find(|p| p.starts_with(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (req, relay, alg, sig) = (
        param("SAMLRequest"),
        param("RelayState"),
        param("SigAlg"),
        param("Signature"),
    );
    // The signed octets are SAMLRequest, RelayState and SigAlg in that order, built from the
    // values exactly as received (SAML Bindings 3.4.4.1): the order in the URL does not matter...
    sp.validate_logout_request(
        &IncomingLogout::Redirect {
            query: &format!("{sig}&{alg}&{relay}&{req}"),
        },
        now(),
    )
    .unwrap();
    // ...but a parameter given twice (the verifier and the reader could each take another) is
    // refused.
    let other_relay = "RelayState=state-2";
    for q in [
        format!("{query}&{other_relay}"),
        format!("{other_relay}&{query}"),
        format!("{query}&{req}"),
    ] {
        assert_eq!(redirect_code(&sp, &q), "binding", "{q}");
    }
    // RelayState dropped or changed, SigAlg changed.
    for q in [
        format!("{req}&{alg}&{sig}"),
        format!("{req}&RelayState=state-2&{alg}&{sig}"),
        format!(
            "{req}&{relay}&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha512&{sig}"
        ),
    ] {
        assert_eq!(redirect_code(&sp, &q), "signature_invalid", "{q}");
    }
    // Another message (another NameID) under this message's signature.
    let other_session = {
        let xml = idp
            .response(SP, ACS)
            .in_response_to("_r2")
            .user(TestUser::new("mallory@example.com"))
            .build(now())
            .unwrap();
        SessionRecord::from_assertion(
            &sp_for(&idp)
                .validate_response(xml.as_bytes(), Some("_r2"), now())
                .unwrap(),
        )
        .unwrap()
    };
    let (_, other_url) = idp
        .logout_request_redirect(&other_session, SP_SLO, now())
        .unwrap();
    let other_xml = saml_sp::binding::decode_redirect(&other_url, &Default::default())
        .unwrap()
        .xml;
    let other =
        saml_sp::binding::redirect_query("SAMLRequest", &other_xml, Some("state-1"), None).unwrap();
    let other_req = other.split('&').next().unwrap();
    assert_eq!(
        redirect_code(&sp, &format!("{other_req}&{relay}&{alg}&{sig}")),
        "signature_invalid"
    );
    // An unsigned copy (Signature and SigAlg removed) is refused as unsigned.
    assert_eq!(
        redirect_code(&sp, &format!("{req}&{relay}")),
        "signature_missing"
    );
}

fn sp_for(idp: &TestIdp) -> ServiceProvider {
    sp(idp)
}

/// The Sustainsys.Saml2 report of an extra `=` in RelayState altering the signed parameters: a
/// parser that splits `name=value` at the last `=`, or re-encodes, verifies something other than
/// what was signed. A raw `=` the IdP signed as-is verifies and decodes as sent; an `=` added to
/// any parameter afterwards breaks the signature.
#[test]
fn advisory_sustainsys_extra_equals_in_relay_state() {
    use base64::Engine as _;
    let idp = TestIdp::fixed(IDP);
    let (sp, query, _) = redirect_signed_by_test_key(&idp, Some("a=b"));
    assert!(query.contains("RelayState=a%3Db"), "{query}");
    let r = sp
        .validate_logout_request(&IncomingLogout::Redirect { query: &query }, now())
        .unwrap();
    assert_eq!(r.relay_state.as_deref(), Some("a=b"));
    // The IdP signed a raw `=` (not escaped): verified over those octets, decoded the same.
    let key = sp_signing_key();
    let req = query.split('&').next().unwrap();
    let alg = "SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256";
    let signed = format!("{req}&RelayState=a=b&{alg}");
    let sig = key
        .sign(
            saml_sp::crypto::SignatureAlgorithm::RsaSha256,
            signed.as_bytes(),
        )
        .unwrap();
    let sig = form_urlencoded::byte_serialize(
        base64::engine::general_purpose::STANDARD
            .encode(sig)
            .as_bytes(),
    )
    .collect::<String>();
    let raw = format!("{signed}&Signature={sig}");
    let r = sp
        .validate_logout_request(&IncomingLogout::Redirect { query: &raw }, now())
        .unwrap();
    assert_eq!(r.relay_state.as_deref(), Some("a=b"));
    // An `=` added afterwards, in RelayState or in SigAlg: refused.
    for tampered in [
        raw.replacen("RelayState=a=b", "RelayState=a==b", 1),
        raw.replacen("RelayState=a=b", "RelayState=a=b=", 1),
        raw.replacen("&SigAlg=", "&SigAlg==", 1),
    ] {
        let e = sp
            .validate_logout_request(&IncomingLogout::Redirect { query: &tampered }, now())
            .unwrap_err();
        assert!(
            matches!(
                e.code(),
                "signature_invalid" | "binding" | "unsupported_algorithm"
            ),
            "{tampered}: {e}"
        );
    }
}

/// Keycloak CVE-2026-2575: a SAMLRequest that inflates without bound (a DEFLATE bomb), sent
/// to the Single Logout endpoint. Refused by its encoded size before inflating, and a smaller
/// bomb by the output cap, with a typed error and bounded memory.
#[test]
fn advisory_keycloak_cve_2026_2575_saml_request_bomb_at_the_slo_endpoint() {
    use std::io::Write as _;
    let idp = TestIdp::fixed(IDP);
    let bomb = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bomb_1gib.deflate"
    ))
    .unwrap();
    let encode = |raw: &[u8]| {
        format!(
            "SAMLRequest={}",
            form_urlencoded::byte_serialize(
                base64::engine::general_purpose::STANDARD
                    .encode(raw)
                    .as_bytes()
            )
            .collect::<String>()
        )
    };
    let e = sp(&idp)
        .validate_logout_request(
            &IncomingLogout::Redirect {
                query: &encode(&bomb),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "xml_limit_exceeded", "{e}");
    // 64 MiB of spaces deflate to about 64 KB: under the encoded-size cap, over the output cap.
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![b' '; 64 << 20]).unwrap();
    let small = z.finish().unwrap();
    assert!(small.len() < 128 << 10);
    let e = sp(&idp)
        .validate_logout_request(
            &IncomingLogout::Redirect {
                query: &encode(&small),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "xml_limit_exceeded", "{e}");
}
