//! The axum adapter (feature `axum`): [`router`] serves the SAML endpoints (merge it into the
//! app's router, whose state is the `Arc<SamlWeb<..>>`), and [`SignedIn`] extracts the signed-in
//! user, redirecting to the login otherwise.
//!
//! Serve the app with `into_make_service_with_connect_info::<SocketAddr>()` so the client address
//! comes from the connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::{SamlWeb, SessionBackend};
use crate::login::provision::Provisioner;

/// The SAML endpoints under the settings' prefix.
pub fn router<P, S>(web: Arc<SamlWeb<P, S>>) -> Router<Arc<SamlWeb<P, S>>>
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    let path = format!("{}/{{*rest}}", web.settings().prefix);
    Router::new().route(
        &path,
        axum::routing::any(move |req: Request| {
            let web = web.clone();
            async move { serve(&web, req).await }
        }),
    )
}

async fn serve<P, S>(web: &SamlWeb<P, S>, req: Request) -> Response
where
    P: Provisioner,
    P::User: Clone,
    S: SessionBackend<P::User>,
{
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, web.settings().max_body).await else {
        return (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        )
            .into_response();
    };
    let reply = web
        .handle(http::Request::from_parts(parts, bytes.to_vec()), peer)
        .await;
    let (parts, body) = reply.into_parts();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// The signed-in user. As an extractor it redirects to the login (with this page as the return
/// path) when there is none; `Option<SignedIn<U>>` never rejects.
#[derive(Debug, Clone)]
pub struct SignedIn<U>(pub U);

impl<P, S> FromRequestParts<Arc<SamlWeb<P, S>>> for SignedIn<P::User>
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &Arc<SamlWeb<P, S>>,
    ) -> Result<Self, Self::Rejection> {
        match web.user(&parts.headers, &parts.extensions).await {
            Some(u) => Ok(SignedIn(u)),
            None => {
                let back: String =
                    form_urlencoded::byte_serialize(parts.uri.path().as_bytes()).collect();
                let to = format!("{}/login?return_to={back}", web.settings().prefix);
                Err(axum::response::Redirect::to(&to).into_response())
            }
        }
    }
}

impl<P, S> OptionalFromRequestParts<Arc<SamlWeb<P, S>>> for SignedIn<P::User>
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &Arc<SamlWeb<P, S>>,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(web
            .user(&parts.headers, &parts.extensions)
            .await
            .map(SignedIn))
    }
}

/// The SSO-profile admin API (feature `admin`) under its prefix, as a router with any state:
/// `app.merge(admin_router(api))`. Bodies are read up to 1 MiB.
#[cfg(feature = "admin")]
pub fn admin_router<A, T>(api: Arc<super::admin::AdminApi<A>>) -> Router<T>
where
    A: super::admin::AdminAuthorizer + 'static,
    T: Clone + Send + Sync + 'static,
{
    let path = format!("{}/{{*rest}}", api.prefix());
    Router::new().route(
        &path,
        axum::routing::any(move |req: Request| {
            let api = api.clone();
            async move {
                let (parts, body) = req.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
                    return (
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "request body too large",
                    )
                        .into_response();
                };
                let reply = api
                    .handle(http::Request::from_parts(parts, bytes.to_vec()))
                    .await;
                let (parts, body) = reply.into_parts();
                Response::from_parts(parts, axum::body::Body::from(body))
            }
        }),
    )
}
