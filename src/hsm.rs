//! The SP's private keys in an HSM or a key service through PKCS#11 (feature `pkcs11`, on the
//! maintained `cryptoki` crate): [`Pkcs11Token`] opens a token and hands out
//! [`SigningKey`]s and [`DecryptionKey`]s whose private operations the token performs. The
//! private key never enters the process: the crate holds an object handle, asks the token to
//! sign (`CKM_SHA256_RSA_PKCS` and its SHA-384/512 siblings) or to decrypt (`CKM_RSA_PKCS_OAEP`,
//! `CKM_RSA_PKCS` for legacy `rsa-1_5`), and never reads the key's value.
//!
//! One logged-in session per token, its operations serialized (PKCS#11 sessions are not
//! shareable between threads); an HSM with more throughput is used through several tokens or a
//! pool of them. A module is loaded once per process and never finalized; PKCS#11 logins are
//! per process and token, so a second handle on a token shares the first one's login.
//!
//! What the token supports decides what decrypts: SoftHSM2, for one, does RSA-OAEP only with
//! SHA-1 (`rsa-oaep-mgf1p`, what Okta, ADFS and most IdPs send), so an IdP that encrypts with
//! XML Encryption 1.1's OAEP-SHA-256 needs a token that offers it; the refusal is the usual
//! `decryption_failed`.

use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use crate::crypto::{Certificate, SignatureAlgorithm, Signer, SigningKey};
use crate::error::Error;
use crate::xmlenc::{Decrypter, DecryptionKey, OaepDigest, RsaPadding};

fn config(reason: impl std::fmt::Display) -> Error {
    Error::Config {
        field: "pkcs11",
        reason: reason.to_string(),
    }
}

/// A PKCS#11 token, logged in.
pub struct Pkcs11Token {
    session: Mutex<Session>,
    label: String,
    // The module stays loaded while its sessions live.
    _context: Arc<Pkcs11>,
}

/// Each module is loaded and initialized once per process and never finalized: finalizing
/// (when one token's context drops) would end every other token's sessions under them.
fn module_context(module: &str) -> Result<Arc<Pkcs11>, Error> {
    static MODULES: std::sync::OnceLock<Mutex<std::collections::HashMap<String, Arc<Pkcs11>>>> =
        std::sync::OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| config("module lock poisoned"))?;
    if let Some(c) = modules.get(module) {
        return Ok(c.clone());
    }
    let context = Pkcs11::new(module).map_err(|e| config(format!("loading {module}: {e}")))?;
    match context.initialize(CInitializeArgs::OsThreads) {
        Ok(()) => {}
        // Initialized by someone else in this process (another library).
        Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => return Err(config(format!("initializing {module}: {e}"))),
    }
    let context = Arc::new(context);
    modules.insert(module.to_owned(), context.clone());
    Ok(context)
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Token {
    /// Loads the PKCS#11 module at `module` (`/usr/lib/softhsm/libsofthsm2.so`, a vendor's
    /// library), finds the token labelled `token_label` and logs in as its user with `pin`.
    ///
    /// # Errors
    /// [`Error::Config`] (`pkcs11`): the module does not load, no such token, a wrong PIN.
    pub fn open(module: &str, token_label: &str, pin: &str) -> Result<Arc<Pkcs11Token>, Error> {
        let context = module_context(module)?;
        let slots = context.get_slots_with_initialized_token().map_err(config)?;
        let slot = slots
            .into_iter()
            .find(|s| {
                context
                    .get_token_info(*s)
                    .is_ok_and(|i| i.label().trim() == token_label)
            })
            .ok_or_else(|| config(format!("no token labelled {token_label:?}")))?;
        let session = context.open_ro_session(slot).map_err(config)?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
            Ok(()) => {}
            // PKCS#11 logins are per application and token: a second token handle in this
            // process shares the first one's login.
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => {}
            Err(e) => return Err(config(format!("login to {token_label:?}: {e}"))),
        }
        Ok(Arc::new(Pkcs11Token {
            session: Mutex::new(session),
            label: token_label.to_owned(),
            _context: context,
        }))
    }

    /// The private key labelled `label` (its `CKA_LABEL`).
    fn private_key(&self, label: &str) -> Result<ObjectHandle, Error> {
        let session = self
            .session
            .lock()
            .map_err(|_| config("session lock poisoned"))?;
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(config)?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(config(format!(
                "no private key labelled {label:?} on token {:?}",
                self.label
            ))),
            _ => Err(config(format!(
                "several private keys labelled {label:?} on token {:?}",
                self.label
            ))),
        }
    }

    /// A signing key whose signatures the token makes with its private key `label`;
    /// `certificate` is that key's (published in SP metadata).
    ///
    /// # Errors
    /// [`Error::Config`]: no such key; the certificate is not RSA.
    pub fn signing_key(
        self: &Arc<Self>,
        label: &str,
        certificate: Certificate,
    ) -> Result<SigningKey, Error> {
        let handle = self.private_key(label)?;
        SigningKey::from_signer(
            Arc::new(Pkcs11Key {
                token: self.clone(),
                handle,
                label: label.to_owned(),
            }),
            certificate,
        )
    }

    /// A decryption key whose `EncryptedKey` unwrapping the token does with its private key
    /// `label`; `certificate` is that key's.
    ///
    /// # Errors
    /// [`Error::Config`]: no such key; the certificate is not RSA.
    pub fn decryption_key(
        self: &Arc<Self>,
        label: &str,
        certificate: Certificate,
    ) -> Result<DecryptionKey, Error> {
        let handle = self.private_key(label)?;
        DecryptionKey::from_decrypter(
            Arc::new(Pkcs11Key {
                token: self.clone(),
                handle,
                label: label.to_owned(),
            }),
            certificate,
        )
    }
}

/// One private key on a token.
struct Pkcs11Key {
    token: Arc<Pkcs11Token>,
    handle: ObjectHandle,
    label: String,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token.label)
            .field("label", &self.label)
            .finish()
    }
}

fn digest(d: OaepDigest) -> (MechanismType, PkcsMgfType) {
    match d {
        OaepDigest::Sha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
        OaepDigest::Sha224 => (MechanismType::SHA224, PkcsMgfType::MGF1_SHA224),
        OaepDigest::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        OaepDigest::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
        _ => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
    }
}

impl Signer for Pkcs11Key {
    fn sign(&self, algorithm: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mechanism = match algorithm {
            SignatureAlgorithm::RsaSha256 => Mechanism::Sha256RsaPkcs,
            SignatureAlgorithm::RsaSha384 => Mechanism::Sha384RsaPkcs,
            SignatureAlgorithm::RsaSha512 => Mechanism::Sha512RsaPkcs,
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    found: other.uri().into(),
                    reason: "the SP signs with RSA-SHA256, -384 or -512".into(),
                });
            }
        };
        let session = self
            .token
            .session
            .lock()
            .map_err(|_| config("session lock poisoned"))?;
        session
            .sign(&mechanism, self.handle, message)
            .map_err(|e| config(format!("signing with {:?}: {e}", self.label)))
    }
}

impl Decrypter for Pkcs11Key {
    fn decrypt(&self, padding: RsaPadding<'_>, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let session = self
            .token
            .session
            .lock()
            .map_err(|_| config("session lock poisoned"))?;
        let result = match padding {
            RsaPadding::Oaep {
                digest: d,
                mgf,
                label,
            } => {
                let (hash, _) = digest(d);
                let (_, mgf) = digest(mgf);
                let source = match label {
                    Some(l) => PkcsOaepSource::data_specified(l),
                    None => PkcsOaepSource::empty(),
                };
                session.decrypt(
                    &Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, source)),
                    self.handle,
                    ciphertext,
                )
            }
            _ => session.decrypt(&Mechanism::RsaPkcs, self.handle, ciphertext),
        };
        // One error whatever the token says: no padding oracle through the message.
        result.map_err(|_| Error::Config {
            field: "pkcs11",
            reason: "the token did not decrypt".into(),
        })
    }
}
