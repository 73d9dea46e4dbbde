//! The provisioner the flow tests share: the user is the asserted email; nobody is found by
//! `find` (no existing users).

use saml_sp::login::{ProvisionError, Provisioner, SamlIdentity};

pub struct Users;

impl Provisioner for Users {
    type User = String;
    async fn upsert(&self, _: &str, id: &SamlIdentity) -> Result<String, ProvisionError> {
        Ok(id.email.clone())
    }
    async fn find(&self, _: &str, _: &SamlIdentity) -> Result<Option<String>, ProvisionError> {
        Ok(None)
    }
}
