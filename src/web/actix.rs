//! The actix-web adapter (feature `actix`): [`configure`] mounts the SAML endpoints
//! (`App::new().configure(configure(web.clone()))`), and [`SignedIn`] extracts the signed-in user,
//! redirecting to the login otherwise. The `Arc<SamlWeb<..>>` is registered as app data.
//!
//! With the feature `actix-session`, [`ActixSessions`] keeps the SP's session in the app's
//! `actix_session::Session` (cookie or Redis store, the app's `SessionMiddleware`): a login renews
//! the session key (no fixation) and stores the user with its SAML record and expiry, sign-out
//! purges the session, and IdP-initiated logouts are remembered in a
//! [`Revocations`](super::Revocations) list.

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
    let Some(mut request) = to_http(&req, &body) else {
        return HttpResponse::BadRequest().finish();
    };
    #[cfg(feature = "actix-session")]
    let bridge = bridge::Bridge::of(&req);
    #[cfg(feature = "actix-session")]
    request.extensions_mut().insert(bridge.clone());
    #[cfg(not(feature = "actix-session"))]
    let _ = request.extensions_mut();
    let reply = web.handle(request, peer).await;
    #[cfg(feature = "actix-session")]
    bridge.apply(&req);
    from_http(reply)
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
    fn lookup(
        self: Arc<Self>,
        headers: http::HeaderMap,
        extensions: http::Extensions,
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<Self::User>>>>;
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
    fn lookup(
        self: Arc<Self>,
        headers: http::HeaderMap,
        extensions: http::Extensions,
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<P::User>>>> {
        Box::pin(async move { self.user(&headers, &extensions).await })
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
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(lookup) = req.app_data::<web::Data<dyn UserLookup<User = U>>>() else {
            return Box::pin(std::future::ready(Err(
                actix_web::error::ErrorInternalServerError(
                    "SignedIn needs saml_sp::web::actix::signed_in_lookup in the app data",
                ),
            )));
        };
        let lookup = lookup.clone().into_inner();
        #[allow(unused_mut)]
        let mut extensions = http::Extensions::new();
        #[cfg(feature = "actix-session")]
        let bridge = bridge::Bridge::of(req);
        #[cfg(feature = "actix-session")]
        extensions.insert(bridge.clone());
        let headers = headers_of(req);
        let req = req.clone();
        Box::pin(async move {
            let found = lookup.clone().lookup(headers, extensions).await;
            #[cfg(feature = "actix-session")]
            bridge.apply(&req);
            match found {
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
            }
        })
    }
}

#[cfg(feature = "actix-session")]
pub use bridge::{Actix, ActixSessions};

#[cfg(feature = "actix-session")]
mod bridge {
    //! actix-session's `Session` is single-threaded (`Rc`), and the web layer's futures are
    //! `Send`: the adapter reads the SP's entry before the request and applies the change after.

    use std::sync::{Arc, Mutex};

    use actix_session::SessionExt;
    use actix_web::HttpRequest;
    use http::HeaderMap;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::error::Error;
    use crate::logout::SessionRecord;
    use crate::web::session::{CrateSessions, SESSION_KEY, Stored};
    use crate::web::{NewSession, SessionBackend, SessionContext};

    #[derive(Debug)]
    enum Change {
        Begin(serde_json::Value),
        Forget,
        End,
    }

    /// The SP's entry of one request's actix session, and what to do to it afterwards.
    #[derive(Debug, Clone)]
    pub(super) struct Bridge {
        stored: Option<serde_json::Value>,
        change: Arc<Mutex<Option<Change>>>,
    }

    impl Bridge {
        pub(super) fn of(req: &HttpRequest) -> Bridge {
            Bridge {
                stored: req
                    .get_session()
                    .get::<serde_json::Value>(SESSION_KEY)
                    .ok()
                    .flatten(),
                change: Arc::new(Mutex::new(None)),
            }
        }

        fn set(&self, change: Change) {
            if let Ok(mut g) = self.change.lock() {
                *g = Some(change);
            }
        }

        pub(super) fn apply(&self, req: &HttpRequest) {
            let change = self.change.lock().ok().and_then(|mut g| g.take());
            let session = req.get_session();
            match change {
                Some(Change::Begin(v)) => {
                    // A new session key for the signed-in session (no fixation).
                    session.renew();
                    let _ = session.insert(SESSION_KEY, v);
                }
                Some(Change::Forget) => {
                    session.remove(SESSION_KEY);
                }
                Some(Change::End) => session.purge(),
                None => {}
            }
        }
    }

    /// Marks [`CrateSessions`] that live in actix-session.
    #[derive(Debug)]
    pub enum Actix {}

    /// The SP's sessions in the request's `actix_session::Session`, with IdP-initiated logouts
    /// remembered in a [`Revocations`](crate::web::Revocations) list (its `max_session_age`
    /// bounds every session).
    pub type ActixSessions<U> = CrateSessions<Actix, U>;

    fn stored<U: DeserializeOwned>(cx: &SessionContext<'_>) -> Option<(Bridge, Option<Stored<U>>)> {
        let bridge = cx.extensions.get::<Bridge>()?.clone();
        let stored = bridge
            .stored
            .clone()
            .and_then(|v| serde_json::from_value(v).ok());
        Some((bridge, stored))
    }

    impl<U> SessionBackend<U> for ActixSessions<U>
    where
        U: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        async fn user(&self, cx: SessionContext<'_>) -> Option<U> {
            let (bridge, stored) = stored::<U>(&cx)?;
            let user = stored?.live_user(&self.revocations, cx.now).await;
            if user.is_none() {
                bridge.set(Change::Forget);
            }
            user
        }

        async fn begin(
            &self,
            cx: SessionContext<'_>,
            new: NewSession<U>,
            _response: &mut HeaderMap,
        ) -> Result<(), Error> {
            let bridge = cx.extensions.get::<Bridge>().ok_or(Error::Config {
                field: "actix_session",
                reason:
                    "ActixSessions needs the SAML routes mounted by saml_sp::web::actix::configure"
                        .into(),
            })?;
            let value = serde_json::to_value(Stored::new(new, &self.revocations, cx.now)?)
                .map_err(|e| Error::Config {
                    field: "actix_session",
                    reason: format!("the user does not serialize: {e}"),
                })?;
            bridge.set(Change::Begin(value));
            Ok(())
        }

        async fn end(
            &self,
            cx: SessionContext<'_>,
            _response: &mut HeaderMap,
        ) -> Option<SessionRecord> {
            let (bridge, stored) = stored::<U>(&cx)?;
            bridge.set(Change::End);
            let stored = stored?;
            // The session may live in a cookie (CookieSessionStore) that a copy outlives.
            if let Err(e) = self.revocations.sign_out(&stored.sid, cx.now).await {
                tracing::warn!(target: "saml_sp::web", "cannot record the sign-out: {e}");
            }
            stored.record()
        }
    }
}

/// Mounts the SSO-profile admin API (feature `admin`) under its prefix:
/// `App::new().configure(configure_admin(api.clone()))`. Bodies are read up to 1 MiB.
#[cfg(feature = "admin")]
pub fn configure_admin<A>(api: Arc<super::admin::AdminApi<A>>) -> impl FnOnce(&mut ServiceConfig)
where
    A: super::admin::AdminAuthorizer + 'static,
{
    move |cfg: &mut ServiceConfig| {
        let path = format!("{}/{{tail:.*}}", api.prefix());
        cfg.service(
            web::resource(&path)
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(move |req: HttpRequest, body: Bytes| {
                    let api = api.clone();
                    async move {
                        match to_http(&req, &body) {
                            Some(request) => from_http(api.handle(request).await),
                            None => HttpResponse::BadRequest().finish(),
                        }
                    }
                })),
        );
    }
}
