//! Just-in-time provisioning: the [`Provisioner`] trait through which the app creates, updates
//! or looks up its user after a login verified.

use std::future::Future;

use crate::error::ProvisionError;
use crate::sp::identity::SamlIdentity;

/// The app's user store, called after a successful validation.
///
/// `upsert` is called when the tenant has just-in-time provisioning on (create or update the
/// user); `find` when it is off (the user must already exist, else `user_not_provisioned`).
pub trait Provisioner: Send + Sync {
    /// The app's user.
    type User: Send;
    /// Creates or updates the user for `identity` in `tenant`.
    fn upsert(
        &self,
        tenant: &str,
        identity: &SamlIdentity,
    ) -> impl Future<Output = Result<Self::User, ProvisionError>> + Send;
    /// Finds an existing user for `identity` in `tenant`.
    fn find(
        &self,
        tenant: &str,
        identity: &SamlIdentity,
    ) -> impl Future<Output = Result<Option<Self::User>, ProvisionError>> + Send;
}

/// A [`Provisioner`] from a closure: `(tenant, identity) -> Future<Result<User, ProvisionError>>`,
/// used for both `upsert` and `find`. For apps whose user is derived from the identity (or that
/// upsert in one call).
///
/// ```
/// use saml_sp::login::{ProvisionError, ProvisionFn, Provisioner, SamlIdentity};
/// let users = ProvisionFn(|_tenant: String, id: SamlIdentity| async move {
///     Ok::<_, ProvisionError>(id.email) // INSERT ... ON CONFLICT DO UPDATE ... RETURNING id
/// });
/// fn is_provisioner<P: Provisioner>(_: &P) {}
/// is_provisioner(&users);
/// ```
#[derive(Debug, Clone)]
pub struct ProvisionFn<F>(pub F);

impl<F, Fut, U> Provisioner for ProvisionFn<F>
where
    F: Fn(String, SamlIdentity) -> Fut + Send + Sync,
    Fut: Future<Output = Result<U, ProvisionError>> + Send,
    U: Send,
{
    type User = U;
    fn upsert(
        &self,
        tenant: &str,
        identity: &SamlIdentity,
    ) -> impl Future<Output = Result<U, ProvisionError>> + Send {
        (self.0)(tenant.to_owned(), identity.clone())
    }
    fn find(
        &self,
        tenant: &str,
        identity: &SamlIdentity,
    ) -> impl Future<Output = Result<Option<U>, ProvisionError>> + Send {
        let f = (self.0)(tenant.to_owned(), identity.clone());
        async move { f.await.map(Some) }
    }
}
