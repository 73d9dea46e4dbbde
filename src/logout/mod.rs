//! Single Logout (SAML Profiles 4.4): SP-initiated (send a `LogoutRequest`, validate the IdP's
//! `LogoutResponse`) and IdP-initiated (validate a `LogoutRequest`, answer with a
//! `LogoutResponse`), over HTTP-Redirect and HTTP-POST.
//!
//! What a login must keep for logout is a [`SessionRecord`] (the NameID with its qualifiers and
//! format, the SessionIndex), built from the verified assertion and stored with the app's own
//! session.
//!
//! Rules (each has a test in `tests/core/logout.rs`):
//! - messages on the front channel must be signed (SAML Profiles 4.4.3): Redirect messages by the
//!   detached signature over the query octets exactly as received (ADFS and Entra escape in
//!   lower case; re-encoding would break them), POST messages by an enveloped XML signature with
//!   the same profile as responses (`dsig`), on the message element itself. Unsigned messages are
//!   refused unless [`crate::sp::DangerousOptions::dangerous_allow_unsigned_logout`];
//! - every value is read from the message element whose signature verified (wrapping-proof by the
//!   same construction as responses);
//! - the Issuer is the configured IdP's, the Destination the SP's Single Logout URL, the
//!   IssueInstant within the maximum age, `NotOnOrAfter` not passed;
//! - a `LogoutResponse` must answer a request this SP sent and has not seen answered (the caller
//!   takes the request ID from its store exactly once); a `LogoutRequest`'s ID is remembered in
//!   the replay cache;
//! - the message parameter must match the message (`SAMLRequest` carries a `LogoutRequest`).
//!
//! ```
//! use saml_sp::logout::{IncomingLogout, SessionRecord};
//! use saml_sp::testkit::TestIdp;
//! use saml_sp::{IdentityProvider, ServiceProvider};
//!
//! let idp = TestIdp::fixed("https://idp.example.com/saml");
//! let sp_key = saml_sp::testkit::generate_key("sp", chrono::Utc::now())?;
//! let trusted = IdentityProvider::new(idp.entity_id(), vec![idp.certificate().clone()])?
//!     .with_slo_url("https://idp.example.com/slo");
//! let sp = ServiceProvider::builder("https://sp.example.com/saml/metadata", "https://sp.example.com/saml/acs", trusted)
//!     .single_logout_url("https://sp.example.com/saml/slo")
//!     .signing_key(sp_key.key)
//!     .build()?;
//! let now = chrono::Utc::now();
//! let xml = idp.response(sp.entity_id(), sp.acs_url()).in_response_to("_r").build(now)?;
//! let login = sp.validate_response(xml.as_bytes(), Some("_r"), now)?;
//! let session = SessionRecord::from_assertion(&login).expect("a NameID");
//! // Sign out: send the browser to the IdP with a signed LogoutRequest.
//! let request = sp.logout_request(&session, now)?;
//! let url = request.redirect_url(Some("relay"), sp.signing_key().expect("a key"))?;
//! assert!(url.starts_with("https://idp.example.com/slo?SAMLRequest="));
//! // The IdP answers (here the test IdP); the SP checks the answer against the request it sent.
//! let answer = idp.logout_response_redirect(request.id(), "https://sp.example.com/saml/slo", now)?;
//! let done = sp.validate_logout_response(&IncomingLogout::Redirect { query: &answer }, Some(request.id()), now)?;
//! assert!(done.status.is_success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod message;
pub(crate) mod request;
mod response;
mod session;

pub use message::{IncomingLogout, LogoutSignature};
pub use request::{OutgoingLogout, ReceivedLogoutRequest};
pub use response::{LogoutStatus, ReceivedLogoutResponse};
pub use session::{SessionRecord, SessionTerminator};
