//! The test IdP as a Single Logout peer: LogoutRequests and LogoutResponses on both bindings,
//! its SLO endpoint, and propagation to the other SPs.

use super::pages::redirect_page;
#[allow(unused_imports)]
use super::*;

/// Single Logout at the test IdP: signed LogoutRequests and LogoutResponses on both bindings, and
/// a logout page for the SP-initiated flow.
impl TestIdp {
    fn logout_xml(
        &self,
        root: &str,
        id: &str,
        destination: &str,
        rest: &str,
        now: DateTime<Utc>,
    ) -> String {
        format!(
            "<samlp:{root} xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{t}\" Destination=\"{d}\"{rest}",
            t = format_instant(now),
            d = escape_attr(destination),
        )
    }

    fn new_id() -> Result<String, Error> {
        let mut b = [0u8; 16];
        crate::crypto::random_bytes(&mut b)?;
        Ok(format!("_l{}", crate::crypto::hex(&b)))
    }

    fn logout_request_xml(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let id = Self::new_id()?;
        let mut rest = format!(
            " NotOnOrAfter=\"{}\"><saml:Issuer>{}</saml:Issuer>{}",
            format_instant(now + Duration::minutes(5)),
            escape_text(&self.entity_id),
            crate::logout::request::name_id_xml(&session.name_id)
        );
        if let Some(i) = &session.session_index {
            rest.push_str(&format!(
                "<samlp:SessionIndex>{}</samlp:SessionIndex>",
                escape_text(i)
            ));
        }
        rest.push_str("</samlp:LogoutRequest>");
        let xml = self.logout_xml("LogoutRequest", &id, destination, &rest, now);
        Ok((id, xml))
    }

    fn logout_response_xml(
        &self,
        in_response_to: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let id = Self::new_id()?;
        let rest = format!(
            " InResponseTo=\"{}\"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:LogoutResponse>",
            escape_attr(in_response_to),
            escape_text(&self.entity_id)
        );
        Ok((
            id.clone(),
            self.logout_xml("LogoutResponse", &id, destination, &rest, now),
        ))
    }

    /// An IdP-initiated `LogoutRequest` ending `session`, as an HTTP-Redirect URL to the SP's
    /// Single Logout URL `destination`, signed over the query. Returns (request ID, URL).
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_request_redirect(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        self.logout_request_redirect_with(session, destination, "idp-relay", now)
    }

    fn logout_request_redirect_with(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        relay_state: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let (id, xml) = self.logout_request_xml(session, destination, now)?;
        let q = crate::binding::redirect_query(
            "SAMLRequest",
            xml.as_bytes(),
            Some(relay_state),
            Some((&self.key, SignatureAlgorithm::RsaSha256)),
        )?;
        Ok((id, format!("{destination}?{q}")))
    }

    /// Other SPs trusting this IdP, by Single Logout URL: when one SP's user signs out
    /// (SP-initiated), the IdP sends each of them a LogoutRequest for that user before answering
    /// the first SP, as a real IdP ends a user's sessions in every app (front-channel SLO).
    #[must_use]
    pub fn with_logout_peers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        slo_urls: I,
    ) -> Self {
        self.logout_peers = slo_urls.into_iter().map(Into::into).collect();
        self
    }

    /// The next step of a logout being propagated: a LogoutRequest to the next peer, or the
    /// final LogoutResponse to the first SP.
    fn continue_logout(
        &self,
        token: &str,
        mut pending: PendingLogout,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        if let Some(peer) = pending.remaining.pop() {
            let (_, url) =
                self.logout_request_redirect_with(&pending.session, &peer, token, now)?;
            self.pending_logouts
                .lock()
                .map_err(|_| Error::Binding("the test IdP's logout state is poisoned".into()))?
                .insert(token.to_owned(), pending);
            return Ok(url);
        }
        let (_, xml) = self.logout_response_xml(&pending.request_id, &pending.sp_slo_url, now)?;
        let q = crate::binding::redirect_query(
            "SAMLResponse",
            xml.as_bytes(),
            pending.relay_state.as_deref(),
            Some((&self.key, SignatureAlgorithm::RsaSha256)),
        )?;
        Ok(format!("{}?{q}", pending.sp_slo_url))
    }

    /// The same `LogoutRequest` for HTTP-POST: (request ID, base64 of the enveloped-signed XML).
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_request_post(
        &self,
        session: &crate::logout::SessionRecord,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        use base64::Engine as _;
        let (id, xml) = self.logout_request_xml(session, destination, now)?;
        let signed = sign_enveloped(&xml, &id, &self.key, SignatureAlgorithm::RsaSha256)?;
        Ok((id, base64::engine::general_purpose::STANDARD.encode(signed)))
    }

    /// A `Success` `LogoutResponse` to the SP's LogoutRequest `in_response_to`, as an
    /// HTTP-Redirect URL to the SP's Single Logout URL `destination`, signed over the query.
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_response_redirect(
        &self,
        in_response_to: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let (_, xml) = self.logout_response_xml(in_response_to, destination, now)?;
        let q = crate::binding::redirect_query(
            "SAMLResponse",
            xml.as_bytes(),
            None,
            Some((&self.key, SignatureAlgorithm::RsaSha256)),
        )?;
        Ok(format!("{destination}?{q}"))
    }

    /// The same `LogoutResponse` for HTTP-POST (base64 of the enveloped-signed XML).
    ///
    /// # Errors
    /// Signing errors.
    pub fn logout_response_post(
        &self,
        in_response_to: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        use base64::Engine as _;
        let (id, xml) = self.logout_response_xml(in_response_to, destination, now)?;
        let signed = sign_enveloped(&xml, &id, &self.key, SignatureAlgorithm::RsaSha256)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signed))
    }

    /// The test IdP's Single Logout page for an SP-initiated logout: reads the SP's
    /// `LogoutRequest` from the Redirect query (its signature is not checked: this IdP trusts
    /// every SP) and returns the URL that sends the browser back to `sp_slo_url` with a signed
    /// `Success` `LogoutResponse`, carrying the request's RelayState.
    ///
    /// # Errors
    /// [`Error::Binding`] or XML errors for a missing or malformed LogoutRequest.
    pub fn slo_redirect(
        &self,
        query: &str,
        sp_slo_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let m = crate::binding::decode_redirect(query, &crate::binding::InflateOptions::default())?;
        let doc = crate::xml::Document::parse(&m.xml)?;
        let root = doc.root();
        if root.local_name() != "LogoutRequest" {
            return Err(Error::Binding(
                "the test IdP's SLO endpoint expects a LogoutRequest".into(),
            ));
        }
        let id = root.attribute("ID").unwrap_or_default();
        let name_id = root
            .child_elements()
            .find(|e| e.local_name() == "NameID")
            .map(|e| crate::sp::assertion::NameId {
                value: e.text(),
                format: e.attribute("Format").map(str::to_owned),
                name_qualifier: None,
                sp_name_qualifier: None,
                sp_provided_id: None,
            });
        let pending = PendingLogout {
            request_id: id.to_owned(),
            relay_state: m.relay_state.clone(),
            sp_slo_url: sp_slo_url.to_owned(),
            remaining: match &name_id {
                Some(_) => self
                    .logout_peers
                    .iter()
                    .filter(|p| *p != sp_slo_url)
                    .rev()
                    .cloned()
                    .collect(),
                None => Vec::new(),
            },
            session: crate::logout::SessionRecord {
                issuer: self.entity_id.clone(),
                name_id: name_id.unwrap_or(crate::sp::assertion::NameId {
                    value: String::new(),
                    format: None,
                    name_qualifier: None,
                    sp_name_qualifier: None,
                    sp_provided_id: None,
                }),
                session_index: None,
                session_not_on_or_after: None,
                authn_context: None,
                authn_instant: None,
            },
        };
        let mut token = [0u8; 12];
        crate::crypto::random_bytes(&mut token)?;
        self.continue_logout(&format!("slo-{}", crate::crypto::hex(&token)), pending, now)
    }
}

/// The test IdP's Single Logout web pages, framework-agnostic like its login pages: mount
/// [`TestIdp::slo_page`] on `GET` of its SLO URL, [`TestIdp::logout_form`] on a page of your
/// choice and [`TestIdp::logout_submit`] on that form's `POST`.
impl TestIdp {
    /// The SLO endpoint's page. A `LogoutRequest` from the SP (SP-initiated logout) is answered
    /// with a page that sends the browser to `sp_slo_url` with a signed `Success`
    /// `LogoutResponse`; a `LogoutResponse` from the SP (the end of an IdP-initiated logout) gets
    /// a "signed out" page (`id="idp-signed-out"`, the status shown in `id="idp-logout-status"`).
    ///
    /// # Errors
    /// [`Error::Binding`] or XML errors for a missing or malformed message.
    pub fn slo_page(
        &self,
        query: &str,
        sp_slo_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        if query.contains("SAMLResponse=") {
            let m =
                crate::binding::decode_redirect(query, &crate::binding::InflateOptions::default())?;
            // A peer answering a logout this IdP is propagating: on to the next one.
            let pending = m.relay_state.as_deref().and_then(|r| {
                self.pending_logouts
                    .lock()
                    .ok()
                    .and_then(|mut p| p.remove(r))
                    .map(|p| (r.to_owned(), p))
            });
            if let Some((token, pending)) = pending {
                return Ok(redirect_page(&self.continue_logout(&token, pending, now)?));
            }
            let doc = crate::xml::Document::parse(&m.xml)?;
            let status = doc
                .root()
                .child_elements()
                .find(|e| e.local_name() == "Status")
                .and_then(|s| s.child_elements().next())
                .and_then(|c| c.attribute("Value"))
                .unwrap_or("")
                .rsplit(':')
                .next()
                .unwrap_or("")
                .to_owned();
            return Ok(format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saml-sp test IdP</title></head><body><h1 id=\"idp-signed-out\">Signed out at the test IdP</h1><p>The application answered: <span id=\"idp-logout-status\">{}</span></p></body></html>\n",
                escape_text(&status)
            ));
        }
        Ok(redirect_page(&self.slo_redirect(query, sp_slo_url, now)?))
    }

    /// A form that starts an IdP-initiated logout of a user (by email NameID) at the SP.
    pub fn logout_form(&self, form_action: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>saml-sp test IdP</title></head><body><h1>saml-sp test IdP: sign a user out everywhere</h1><form method=\"post\" action=\"{}\"><label>Email <input name=\"email\" id=\"logout-email\" value=\"ada@example.com\"/></label> <button type=\"submit\" id=\"idp-logout\">Sign out at the apps</button></form></body></html>\n",
            escape_attr(form_action)
        )
    }

    /// The logout form's `POST`: a page that sends the browser to `sp_slo_url` with a signed
    /// `LogoutRequest` for the email's NameID (every session of it).
    ///
    /// # Errors
    /// [`Error::Binding`] for a form without an email; signing errors.
    pub fn logout_submit(
        &self,
        body: &str,
        sp_slo_url: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Error> {
        let params = crate::binding::params::parse_params(body)?;
        let email = params
            .iter()
            .find(|p| p.name == "email")
            .map(|p| p.value.clone())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| Error::Binding("the logout form lacks an email".into()))?;
        let session = crate::logout::SessionRecord {
            issuer: self.entity_id.clone(),
            name_id: crate::sp::assertion::NameId {
                value: email,
                format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
                name_qualifier: None,
                sp_name_qualifier: None,
                sp_provided_id: None,
            },
            session_index: None,
            session_not_on_or_after: None,
            authn_context: None,
            authn_instant: None,
        };
        let (_, url) = self.logout_request_redirect(&session, sp_slo_url, now)?;
        Ok(redirect_page(&url))
    }
}
