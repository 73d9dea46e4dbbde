//! `LogoutRequest`: built and sent by the SP (SP-initiated logout), received and validated from
//! the IdP (IdP-initiated logout).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};

use super::message::{IncomingLogout, receive};
use super::session::SessionRecord;
use crate::binding::{check_relay_state, post_form, redirect_query};
use crate::crypto::{SignatureAlgorithm, SigningKey};
use crate::error::Error;
use crate::ns::{SAML_NS, SAMLP_NS};
use crate::sp::assertion::NameId;
use crate::sp::config::ServiceProvider;
use crate::sp::elements::{Window, instant, read_name_id, simple_text};
use crate::time::format_instant;
use crate::xml::{escape_attr, escape_text};

/// How long a LogoutRequest the SP sends stays valid (its `NotOnOrAfter`).
const REQUEST_LIFETIME_MINUTES: i64 = 5;

/// A logout message the SP sends (a `LogoutRequest` or a `LogoutResponse`), ready for either
/// binding. Front-channel logout messages are always signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingLogout {
    pub(crate) id: String,
    pub(crate) xml: String,
    pub(crate) destination: String,
    pub(crate) param: &'static str,
}

impl OutgoingLogout {
    /// The message ID (for a LogoutRequest: keep it to check the LogoutResponse's InResponseTo).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The unsigned message XML.
    pub fn xml(&self) -> &str {
        &self.xml
    }
    /// Where it goes (the IdP's Single Logout URL).
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// The HTTP-Redirect URL: deflated, base64, URL-encoded, with `SigAlg` and `Signature` over
    /// the query (RSA-SHA256).
    ///
    /// # Errors
    /// [`Error::Binding`] for a RelayState over 80 bytes; signing errors.
    pub fn redirect_url(
        &self,
        relay_state: Option<&str>,
        key: &SigningKey,
    ) -> Result<String, Error> {
        let query = redirect_query(
            self.param,
            self.xml.as_bytes(),
            relay_state,
            Some((key, SignatureAlgorithm::RsaSha256)),
        )?;
        let sep = if self.destination.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{sep}{query}", self.destination))
    }

    /// The message with an enveloped signature (exclusive C14N, RSA-SHA256), for HTTP-POST.
    ///
    /// # Errors
    /// Signing errors.
    pub fn signed_xml(&self, key: &SigningKey) -> Result<String, Error> {
        crate::dsig::sign_enveloped(&self.xml, &self.id, key, SignatureAlgorithm::RsaSha256)
    }

    /// An auto-submitting HTML page for HTTP-POST carrying the signed message.
    ///
    /// # Errors
    /// [`Error::Binding`] for a RelayState over 80 bytes; signing errors.
    pub fn post_form(
        &self,
        relay_state: Option<&str>,
        key: &SigningKey,
    ) -> Result<crate::binding::PostPage, Error> {
        check_relay_state(relay_state)?;
        let signed = self.signed_xml(key)?;
        Ok(post_form(
            &self.destination,
            self.param,
            &STANDARD.encode(signed),
            relay_state,
        ))
    }
}

pub(crate) fn new_id() -> Result<String, Error> {
    let mut b = [0u8; 20];
    crate::crypto::random_bytes(&mut b)?;
    Ok(format!("_{}", crate::crypto::hex(&b)))
}

pub(crate) fn name_id_xml(n: &NameId) -> String {
    let mut x = String::from("<saml:NameID");
    for (attr, v) in [
        ("Format", &n.format),
        ("NameQualifier", &n.name_qualifier),
        ("SPNameQualifier", &n.sp_name_qualifier),
        ("SPProvidedID", &n.sp_provided_id),
    ] {
        if let Some(v) = v {
            x.push_str(&format!(" {attr}=\"{}\"", escape_attr(v)));
        }
    }
    x.push_str(&format!(">{}</saml:NameID>", escape_text(&n.value)));
    x
}

/// A `LogoutRequest` from the IdP that verified: the identities whose sessions to end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedLogoutRequest {
    /// The request ID (the LogoutResponse's InResponseTo).
    pub id: String,
    /// The IdP entity ID.
    pub issuer: String,
    /// The NameID whose sessions end.
    pub name_id: NameId,
    /// The SessionIndexes named (none: every session of the NameID).
    pub session_indexes: Vec<String>,
    /// The `Reason` attribute, if any.
    pub reason: Option<String>,
    /// The RelayState that came with it (to return with the LogoutResponse).
    pub relay_state: Option<String>,
    /// How the message was signed (`redirect rsa-sha256`, `post rsa-sha256`, or `unsigned`
    /// under the dangerous option).
    pub signature: super::LogoutSignature,
    /// Until when the request ID must be remembered against replay (NotOnOrAfter or IssueInstant
    /// plus the maximum age, plus skew).
    pub replay_until: DateTime<Utc>,
}

impl ReceivedLogoutRequest {
    /// Whether it ends `session` (see [`SessionRecord::matches`]).
    pub fn ends(&self, session: &SessionRecord) -> bool {
        session.matches(&self.issuer, &self.name_id, &self.session_indexes)
    }
}

impl ServiceProvider {
    /// Builds the `LogoutRequest` that ends `session` at the IdP (SP-initiated logout), for its
    /// Single Logout URL. Keep [`OutgoingLogout::id`] to check the answer, and send it with
    /// [`OutgoingLogout::redirect_url`] or [`OutgoingLogout::post_form`] and the SP's signing key.
    ///
    /// # Errors
    /// [`Error::Config`] when the IdP has no Single Logout URL or the SP no signing key.
    pub fn logout_request(
        &self,
        session: &SessionRecord,
        now: DateTime<Utc>,
    ) -> Result<OutgoingLogout, Error> {
        let cfg = &*self.inner;
        let destination = super::message::idp_slo_url(cfg)?;
        if cfg.signing_key.is_none() {
            return Err(Error::Config {
                field: "sp_signing_key",
                reason: "logout messages are signed: configure the SP's signing key".into(),
            });
        }
        let id = new_id()?;
        let mut xml = format!(
            "<samlp:LogoutRequest xmlns:samlp=\"{SAMLP_NS}\" xmlns:saml=\"{SAML_NS}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" NotOnOrAfter=\"{}\" Destination=\"{}\"><saml:Issuer>{}</saml:Issuer>{}",
            format_instant(now),
            format_instant(now + Duration::minutes(REQUEST_LIFETIME_MINUTES)),
            escape_attr(&destination),
            escape_text(&cfg.entity_id),
            name_id_xml(&session.name_id),
        );
        if let Some(i) = &session.session_index {
            xml.push_str(&format!(
                "<samlp:SessionIndex>{}</samlp:SessionIndex>",
                escape_text(i)
            ));
        }
        xml.push_str("</samlp:LogoutRequest>");
        Ok(OutgoingLogout {
            id,
            xml,
            destination,
            param: "SAMLRequest",
        })
    }

    /// Validates a `LogoutRequest` from the IdP (IdP-initiated logout): signature (required by
    /// default), Issuer, Destination, IssueInstant age, NotOnOrAfter, NameID (an EncryptedID is
    /// decrypted with the SP's keys) and SessionIndexes. The caller refuses a replayed ID (the
    /// one-call flow does, with its replay cache) and ends the sessions.
    ///
    /// # Errors
    /// The first failed check.
    pub fn validate_logout_request(
        &self,
        msg: &IncomingLogout<'_>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedLogoutRequest, Error> {
        let cfg = &*self.inner;
        let v = receive(cfg, msg, "SAMLRequest", "LogoutRequest", now)?;
        let e = v.doc.root();
        let w = Window {
            now,
            skew: cfg.policy.clock_skew,
        };
        let not_on_or_after = instant(e, "NotOnOrAfter")?;
        if let Some(t) = not_on_or_after {
            w.not_on_or_after("LogoutRequest NotOnOrAfter", t)?;
        }
        // Issuer, then one of NameID | EncryptedID | BaseID, then SessionIndex*.
        let mut name_id = None;
        let mut decrypted = None;
        let mut session_indexes = Vec::new();
        for c in e.child_elements() {
            match (c.namespace(), c.local_name()) {
                (Some(SAML_NS), "Issuer") | (Some(crate::dsig::DSIG_NS), "Signature") => {}
                (Some(SAMLP_NS), "Extensions") => {}
                (Some(SAML_NS), "NameID") if name_id.is_none() && decrypted.is_none() => {
                    name_id = Some(c);
                }
                (Some(SAML_NS), "EncryptedID") if name_id.is_none() && decrypted.is_none() => {
                    let parse = crate::sp::elements::parse_options(cfg);
                    decrypted = Some(
                        crate::sp::elements::decryptor(cfg, &parse)
                            .decrypt(c, "EncryptedID", (SAML_NS, "NameID"))?
                            .0,
                    );
                }
                (Some(SAMLP_NS), "SessionIndex") => session_indexes.push(simple_text(c)?),
                (ns, local) => {
                    return Err(Error::malformed(
                        "Issuer, one NameID or EncryptedID, and SessionIndexes in a LogoutRequest",
                        format!("{{{}}}{local}", ns.unwrap_or("")),
                    ));
                }
            }
        }
        let n = match (&name_id, &decrypted) {
            (Some(n), _) => *n,
            (None, Some(doc)) => crate::xmlenc::decrypted_element(doc, SAML_NS, "NameID")?,
            (None, None) => {
                return Err(Error::malformed("a NameID in the LogoutRequest", "none"));
            }
        };
        let name_id = read_name_id(n)?;
        let age_limit = v.issue_instant + cfg.policy.max_response_age;
        let replay_until = not_on_or_after.map_or(age_limit, |t| t.min(age_limit)) + w.skew;
        Ok(ReceivedLogoutRequest {
            id: v.id,
            issuer: cfg.idp.entity_id.clone(),
            name_id,
            session_indexes,
            reason: e.attribute("Reason").map(str::to_owned),
            relay_state: v.relay_state,
            signature: v.signature,
            replay_until,
        })
    }
}
