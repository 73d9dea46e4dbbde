//! The hyper 1 adapter (feature `hyper`): [`serve`] answers the SAML endpoints and hands every
//! other request back unchanged, so the app's own `service_fn` keeps its routing:
//!
//! ```ignore
//! let svc = service_fn(move |req| async move {
//!     match saml_sp::web::hyper::serve(&web, req, peer.ip()).await {
//!         Ok(saml) => Ok::<_, Infallible>(saml),
//!         Err(req) => Ok(my_routes(req).await),
//!     }
//! });
//! ```
//!
//! The signed-in user of any request is [`SamlWeb::user`] of its headers and extensions.

use std::net::IpAddr;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes};
use hyper::{Request, Response, StatusCode};

use super::{SamlWeb, SessionBackend};
use crate::login::provision::Provisioner;

/// Serves `req` when its path is one of the SAML endpoints (the body read up to
/// [`super::WebSettings::max_body`], else 413); otherwise returns it as `Err` for the app.
/// `peer` is the connection's address (forwarded headers count only from trusted proxies).
///
/// # Errors
/// `Err(req)`: not a SAML endpoint.
pub async fn serve<P, S, B>(
    web: &SamlWeb<P, S>,
    req: Request<B>,
    peer: IpAddr,
) -> Result<Response<Full<Bytes>>, Request<B>>
where
    P: Provisioner,
    P::User: Clone,
    S: SessionBackend<P::User>,
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !web.handles(req.uri().path()) {
        return Err(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, web.settings().max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"request body too large")));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(r);
        }
    };
    let reply = web
        .handle(Request::from_parts(parts, bytes.to_vec()), peer)
        .await;
    Ok(reply.map(|b| Full::new(Bytes::from(b))))
}
