//! `LogoutResponse`: received from the IdP (SP-initiated logout) and sent to it (IdP-initiated).

use chrono::{DateTime, Utc};

use super::message::{IncomingLogout, receive};
use super::request::{OutgoingLogout, new_id};
use crate::error::Error;
use crate::ns::{SAML_NS, SAMLP_NS, STATUS_SUCCESS};
use crate::sp::config::ServiceProvider;
use crate::sp::elements::{only_child, saml_children};
use crate::time::format_instant;
use crate::xml::{escape_attr, escape_text};

const PARTIAL_LOGOUT: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";
const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";

/// The outcome a `LogoutResponse` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutStatus {
    /// Every session ended.
    Success,
    /// Some session participants could not be logged out (`Success` with a `PartialLogout`
    /// second-level code, or a top-level error with it): reported, not hidden.
    PartialLogout,
    /// The logout failed.
    Failed {
        /// The top-level StatusCode.
        code: String,
        /// The second-level StatusCode, if any.
        sub_code: Option<String>,
        /// The StatusMessage, if any.
        message: Option<String>,
    },
}

impl LogoutStatus {
    /// Whether every session ended.
    pub fn is_success(&self) -> bool {
        *self == LogoutStatus::Success
    }
}

/// A `LogoutResponse` from the IdP that verified and answers the request the SP sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedLogoutResponse {
    /// The response ID.
    pub id: String,
    /// The request it answers.
    pub in_response_to: String,
    /// What the IdP reports.
    pub status: LogoutStatus,
    /// The RelayState that came back.
    pub relay_state: Option<String>,
    /// How it was signed.
    pub signature: super::LogoutSignature,
}

impl ServiceProvider {
    /// Validates the IdP's `LogoutResponse` to the `LogoutRequest` this SP sent with ID
    /// `outstanding_request` (taken from the request store exactly once; `None` when none is
    /// outstanding): signature (required by default), Issuer, Destination, IssueInstant age,
    /// InResponseTo, Status. A partial or failed logout is returned in
    /// [`ReceivedLogoutResponse::status`], never hidden; the app ends its own session either way.
    ///
    /// # Errors
    /// The first failed check; [`Error::UnknownInResponseTo`] when no request is outstanding.
    pub fn validate_logout_response(
        &self,
        msg: &IncomingLogout<'_>,
        outstanding_request: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedLogoutResponse, Error> {
        let r = self.validate_logout_response_deferred(msg, now)?;
        crate::sp::validate::check_in_response_to(Some(&r.in_response_to), outstanding_request)?;
        Ok(r)
    }

    /// As [`ServiceProvider::validate_logout_response`], leaving the InResponseTo look-up to the
    /// caller's request store.
    pub(crate) fn validate_logout_response_deferred(
        &self,
        msg: &IncomingLogout<'_>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedLogoutResponse, Error> {
        let v = receive(&self.inner, msg, "SAMLResponse", "LogoutResponse", now)?;
        let e = v.doc.root();
        let irt = e
            .attribute("InResponseTo")
            .ok_or_else(|| Error::malformed("InResponseTo on the LogoutResponse", "none"))?;
        let status = only_child(e, SAMLP_NS, "Status", "LogoutResponse")?
            .ok_or_else(|| Error::malformed("a Status in the LogoutResponse", "none"))?;
        let code = only_child(status, SAMLP_NS, "StatusCode", "Status")?
            .ok_or_else(|| Error::malformed("a StatusCode in Status", "none"))?;
        let value = code.attribute("Value").unwrap_or("");
        let sub = saml_children(code, SAMLP_NS, "StatusCode")
            .next()
            .and_then(|s| s.attribute("Value"));
        let status = match (value, sub) {
            (STATUS_SUCCESS, None) => LogoutStatus::Success,
            (_, Some(PARTIAL_LOGOUT)) => LogoutStatus::PartialLogout,
            (code, sub) => LogoutStatus::Failed {
                code: code.to_owned(),
                sub_code: sub.map(str::to_owned),
                message: saml_children(status, SAMLP_NS, "StatusMessage")
                    .next()
                    .map(|m| m.text()),
            },
        };
        Ok(ReceivedLogoutResponse {
            id: v.id,
            in_response_to: irt.to_owned(),
            status,
            relay_state: v.relay_state,
            signature: v.signature,
        })
    }

    /// Builds the `LogoutResponse` to the IdP's LogoutRequest `in_response_to`: `Success` when the
    /// app ended the sessions, `Responder` (with `PartialLogout` for [`LogoutStatus::PartialLogout`])
    /// otherwise. Send it signed with [`OutgoingLogout::redirect_url`] or
    /// [`OutgoingLogout::post_form`].
    ///
    /// # Errors
    /// [`Error::Config`] when the IdP has no Single Logout URL.
    pub fn logout_response(
        &self,
        in_response_to: &str,
        status: &LogoutStatus,
        now: DateTime<Utc>,
    ) -> Result<OutgoingLogout, Error> {
        let cfg = &*self.inner;
        let destination = super::message::idp_slo_url(cfg)?;
        let status_xml = match status {
            LogoutStatus::Success => format!("<samlp:StatusCode Value=\"{STATUS_SUCCESS}\"/>"),
            LogoutStatus::PartialLogout => format!(
                "<samlp:StatusCode Value=\"{RESPONDER}\"><samlp:StatusCode Value=\"{PARTIAL_LOGOUT}\"/></samlp:StatusCode>"
            ),
            LogoutStatus::Failed {
                code,
                sub_code,
                message,
            } => {
                let mut x = format!("<samlp:StatusCode Value=\"{}\">", escape_attr(code));
                if let Some(s) = sub_code {
                    x.push_str(&format!("<samlp:StatusCode Value=\"{}\"/>", escape_attr(s)));
                }
                x.push_str("</samlp:StatusCode>");
                if let Some(m) = message {
                    x.push_str(&format!(
                        "<samlp:StatusMessage>{}</samlp:StatusMessage>",
                        escape_text(m)
                    ));
                }
                x
            }
        };
        let id = new_id()?;
        let xml = format!(
            "<samlp:LogoutResponse xmlns:samlp=\"{SAMLP_NS}\" xmlns:saml=\"{SAML_NS}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\"><saml:Issuer>{}</saml:Issuer><samlp:Status>{status_xml}</samlp:Status></samlp:LogoutResponse>",
            format_instant(now),
            escape_attr(&destination),
            escape_attr(in_response_to),
            escape_text(&cfg.entity_id),
        );
        Ok(OutgoingLogout {
            id,
            xml,
            destination,
            param: "SAMLResponse",
        })
    }
}
