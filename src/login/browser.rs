//! Login CSRF defence: a pending SP-initiated login belongs to the browser that started it.
//!
//! Without it, an attacker who starts a login himself obtains a signed Response and its
//! RelayState, and a page on his site auto-posts both to a victim's ACS: the victim is signed in
//! as the attacker. [`Acs::start_login`](super::Acs::start_login) therefore records the SHA-256
//! digest of a [`BrowserBinding`], a random secret the app keeps in a cookie of the browser that
//! starts the login, and [`Acs::finish_login`](super::Acs::finish_login) refuses the Response
//! (`login_browser_mismatch`) unless the request presents the same secret.
//!
//! The IdP's POST to the ACS is cross-site, so a `SameSite=Lax` cookie is not sent with it. The
//! web layer (`web`) answers that first POST with a page that re-posts the form to the
//! ACS from the app's own origin, a same-site request that carries the Lax cookie; an app that
//! serves only https may instead set the cookie `SameSite=None; Secure`.
//!
//! IdP-initiated (unsolicited) logins, off by default, have no login start and so no binding: a
//! page can post an attacker's unsolicited Response to a victim. An app that enables them should
//! show who is signed in prominently, and may require IdP-initiated logins to land on a page that
//! asks the user to confirm the account.

use crate::error::Error;

/// A browser's login-binding secret: 32 random bytes as 64 lowercase hex digits, kept in a
/// cookie. Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserBinding(String);

impl std::fmt::Debug for BrowserBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserBinding(..)")
    }
}

impl BrowserBinding {
    /// A fresh random secret.
    ///
    /// # Errors
    /// When the operating system's random source fails.
    pub fn generate() -> Result<Self, Error> {
        let mut b = [0u8; 32];
        crate::crypto::random_bytes(&mut b)?;
        Ok(BrowserBinding(crate::crypto::hex(&b)))
    }

    /// The secret from a cookie's value, when it has exactly the form [`BrowserBinding::generate`]
    /// gives (anything else is ignored, never trusted).
    pub fn from_cookie(value: &str) -> Option<Self> {
        let ok = value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| BrowserBinding(value.to_owned()))
    }

    /// The secret, to put in the cookie.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// What the pending login keeps: the SHA-256 digest of the secret, hex.
    pub(crate) fn digest(&self) -> String {
        use crate::xml::c14n::Sink as _;
        let mut h = crate::crypto::DigestAlgorithm::Sha256.hasher();
        h.write(self.0.as_bytes());
        crate::crypto::hex(&h.finish())
    }
}

/// Whether `presented` is the browser that started the login whose pending record holds
/// `expected` (a digest from [`BrowserBinding::digest`]).
///
/// # Errors
/// [`Error::LoginBrowserMismatch`] when no binding came or it differs.
pub(crate) fn check_browser_binding(
    expected: &str,
    presented: Option<&BrowserBinding>,
) -> Result<(), Error> {
    let Some(presented) = presented else {
        return Err(Error::LoginBrowserMismatch {
            found: "no login-binding cookie in the request".into(),
        });
    };
    if crate::crypto::ct_eq(presented.digest().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::LoginBrowserMismatch {
            found: "the login-binding cookie of another login start".into(),
        })
    }
}

/// Whether `relay_state` has exactly the form of the tokens [`super::Acs::start_login`] issues
/// (32 lowercase hex digits): only such a RelayState is looked up in the request store.
pub(crate) fn is_login_token(relay_state: &str) -> bool {
    relay_state.len() == 32
        && relay_state
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_binding_round_trips_through_its_cookie_and_nothing_else_parses() {
        let b = BrowserBinding::generate().unwrap();
        assert_eq!(BrowserBinding::from_cookie(b.secret()), Some(b.clone()));
        assert_ne!(BrowserBinding::generate().unwrap(), b);
        for bad in [
            "",
            "abc",
            &b.secret().to_uppercase(),
            &format!("{}0", b.secret()),
        ] {
            assert_eq!(BrowserBinding::from_cookie(bad), None, "{bad}");
        }
        assert_eq!(format!("{b:?}"), "BrowserBinding(..)");
    }

    #[test]
    fn the_check_wants_the_same_browser() {
        let a = BrowserBinding::generate().unwrap();
        let b = BrowserBinding::generate().unwrap();
        assert!(check_browser_binding(&a.digest(), Some(&a)).is_ok());
        for presented in [None, Some(&b)] {
            let e = check_browser_binding(&a.digest(), presented).unwrap_err();
            assert_eq!(e.code(), "login_browser_mismatch");
        }
    }

    #[test]
    fn only_tokens_of_the_issued_form_are_login_tokens() {
        assert!(is_login_token("0123456789abcdef0123456789abcdef"));
        for bad in [
            "/",
            "",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcde",
            "slo\u{1f}_id",
        ] {
            assert!(!is_login_token(bad), "{bad:?}");
        }
    }
}
