//! The actix-web adapter (feature `actix`): [`configure`] mounts the SAML endpoints
//! (`App::new().configure(configure(web.clone()))`), and [`SignedIn`] extracts the signed-in user,
//! redirecting to the login otherwise. The `Arc<SamlWeb<..>>` is registered as app data.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::web::{self, Bytes, ServiceConfig};
use actix_web::{FromRequest, HttpRequest, HttpResponse};

use super::{SamlWeb, SessionBackend};
use crate::login::provision::Provisioner;

/// Mounts the SAML endpoints under the settings' prefix (with the ACS body limit).
pub fn configure<P, S>(web: Arc<SamlWeb<P, S>>) -> impl FnOnce(&mut ServiceConfig)
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    move |cfg: &mut ServiceConfig| {
        let prefix = web.settings().prefix.clone();
        let limit = web.settings().max_body;
        cfg.app_data(signed_in_lookup(web.clone()))
            .app_data(web::Data::from(web))
            .app_data(web::PayloadConfig::new(limit))
            .route(
                &format!("{prefix}/{{tail:.*}}"),
                web::route().to(serve::<P, S>),
            );
    }
}

/// [`configure`] for every worker: actix builds the app once per worker thread, so the closure it
/// runs needs a fresh configuration each time (`App::new().configure(saml())`).
pub fn configure_fn<P, S>(
    web: Arc<SamlWeb<P, S>>,
) -> impl Fn() -> Box<dyn FnOnce(&mut ServiceConfig)> + Clone + Send + 'static
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    move || Box::new(configure(web.clone()))
}

async fn serve<P, S>(req: HttpRequest, body: Bytes, web: web::Data<SamlWeb<P, S>>) -> HttpResponse
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let Some(request) = to_http(&req, &body) else {
        return HttpResponse::BadRequest().finish();
    };
    from_http(web.handle(request, peer).await)
}

/// An actix request as an `http` one, for handlers written on the `http` types like the web
/// layer's own (`None` when actix let through something `http` refuses).
pub fn to_http(req: &HttpRequest, body: &[u8]) -> Option<http::Request<Vec<u8>>> {
    let mut builder = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(body.to_vec()).ok()
}

/// An `http` response as an actix one.
pub fn from_http(reply: http::Response<String>) -> HttpResponse {
    let mut out = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(reply.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in reply.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(reply.into_body())
}

fn headers_of(req: &HttpRequest) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            h.append(n, v);
        }
    }
    h
}

/// The signed-in user. As an extractor it redirects to the login (with this page as the return
/// path) when there is none; `Option<SignedIn<U>>` never fails.
#[derive(Debug, Clone)]
pub struct SignedIn<U>(pub U);

/// Looks up the signed-in user through the `SamlWeb` registered by [`configure`].
pub trait UserLookup: Send + Sync + 'static {
    /// The app's user.
    type User;
    /// The user of the request's session, if any.
    fn lookup(&self, headers: &http::HeaderMap) -> Option<Self::User>;
    /// The login path for a return path.
    fn login_path(&self, back: &str) -> String;
}

impl<P, S> UserLookup for SamlWeb<P, S>
where
    P: Provisioner + 'static,
    P::User: Clone + Send + Sync + 'static,
    S: SessionBackend<P::User> + Send + Sync + 'static,
{
    type User = P::User;
    fn lookup(&self, headers: &http::HeaderMap) -> Option<P::User> {
        self.user(headers)
    }
    fn login_path(&self, back: &str) -> String {
        let back: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        format!("{}/login?return_to={back}", self.settings().prefix)
    }
}

/// The app data [`SignedIn`] reads (registered by [`configure`]).
pub fn signed_in_lookup<U: 'static, L: UserLookup<User = U>>(
    web: Arc<L>,
) -> web::Data<dyn UserLookup<User = U>> {
    let dynamic: Arc<dyn UserLookup<User = U>> = web;
    web::Data::from(dynamic)
}

impl<U: Clone + 'static> FromRequest for SignedIn<U> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(lookup) = req.app_data::<web::Data<dyn UserLookup<User = U>>>() else {
            return std::future::ready(Err(actix_web::error::ErrorInternalServerError(
                "SignedIn needs saml_sp::web::actix::signed_in_lookup in the app data",
            )));
        };
        std::future::ready(match lookup.lookup(&headers_of(req)) {
            Some(u) => Ok(SignedIn(u)),
            None => {
                let to = lookup.login_path(req.path());
                Err(actix_web::error::InternalError::from_response(
                    "not signed in",
                    HttpResponse::SeeOther()
                        .insert_header((actix_web::http::header::LOCATION, to))
                        .finish(),
                )
                .into())
            }
        })
    }
}
