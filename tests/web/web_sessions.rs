//! The SP's session kept in the ecosystem's session crates (issue 18): tower-sessions under the
//! axum adapter and actix-session under the actix adapter. For each: a login replaces the
//! session ID the browser brought (no fixation) and keeps the app's own session data, the
//! extractor sees the user, an IdP-initiated logout ends the named user's session and no other,
//! and sign-out ends the session and sends the user to the IdP's Single Logout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use saml_sp::login::SamlIdentity;
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::web::{SamlWeb, SessionBackend, WebSettings};
use saml_sp::{IdpRegistry, SpSettings, TenantConfig};

const BASE: &str = "https://app.example.com";
const IDP_SSO: &str = "https://idp.example.com/sso";

type Users =
    fn(String, SamlIdentity) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>>;

fn users(
    _tenant: String,
    id: SamlIdentity,
) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>> {
    std::future::ready(Ok(id.email))
}

type Provision = saml_sp::login::ProvisionFn<Users>;

/// The endpoints with a signing key and Single Logout, over the session backend `sessions`.
fn web<S: SessionBackend<String>>(idp: &TestIdp, sessions: S) -> Arc<SamlWeb<Provision, S>> {
    let sp_key = saml_sp::testkit::generate_key("sp", chrono::Utc::now()).unwrap();
    let registry = IdpRegistry::new(
        SpSettings::new(format!("{BASE}/saml/metadata"), format!("{BASE}/saml/acs"))
            .unwrap()
            .single_logout_url(format!("{BASE}/saml/slo"))
            .signing_key(sp_key.key.clone()),
    );
    let md = idp.metadata_xml(IDP_SSO);
    registry
        .insert(
            TenantConfig::from_idp_metadata("default", md.as_bytes(), chrono::Utc::now()).unwrap(),
        )
        .unwrap();
    let acs = saml_sp::Acs::new(
        Arc::new(registry),
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(users as Users),
    );
    Arc::new(SamlWeb::new(
        Arc::new(acs),
        Arc::new(sessions),
        WebSettings::single_tenant("default"),
    ))
}

/// (request ID, RelayState) from the login redirect.
fn login_redirect(location: &str) -> (String, String) {
    assert!(location.starts_with(IDP_SSO), "{location}");
    let m = saml_sp::binding::decode_redirect(location, &Default::default()).unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    (
        doc.root().attribute("ID").unwrap().to_owned(),
        m.relay_state.unwrap(),
    )
}

fn acs_body(idp: &TestIdp, request_id: &str, relay: &str, email: &str) -> String {
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(request_id)
        .user(TestUser::new(email))
        .build_base64(chrono::Utc::now())
        .unwrap();
    form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &response)
        .append_pair("RelayState", relay)
        .finish()
}

/// The path of the IdP's signed LogoutRequest ending every session of `email` at this SP.
fn idp_logout_path(idp: &TestIdp, email: &str) -> String {
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .finish();
    let page = idp
        .logout_submit(&form, &format!("{BASE}/saml/slo"), chrono::Utc::now())
        .unwrap();
    let url = page
        .split("href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    url.strip_prefix(BASE).unwrap().to_owned()
}

/// `name=value` of the Set-Cookie for `name`, if any.
fn set_cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

mod tower_sessions_axum {
    use super::*;
    use ::tower::ServiceExt as _;
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use axum::{Router, response::Html};
    use http::{Request, StatusCode};
    use saml_sp::web::axum::{SignedIn, router};
    use saml_sp::web::tower_sessions::TowerSessions;
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn home(user: Option<SignedIn<String>>) -> Html<String> {
        Html(match user {
            Some(SignedIn(email)) => format!("signed in as {email}"),
            None => "anonymous".into(),
        })
    }

    /// The app's own session data, set before login.
    async fn add_to_cart(session: Session) -> &'static str {
        session.insert("cart", 3).await.unwrap();
        "added"
    }

    async fn cart(session: Session) -> String {
        format!("{:?}", session.get::<u32>("cart").await.unwrap())
    }

    fn app(web: Arc<SamlWeb<Provision, TowerSessions<String>>>) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/add", get(add_to_cart))
            .route("/cart", get(cart))
            .merge(router(web.clone()))
            .layer(
                SessionManagerLayer::new(MemoryStore::default())
                    .with_secure(false)
                    .with_same_site(tower_sessions::cookie::SameSite::Lax),
            )
            .with_state(web)
    }

    async fn send(
        app: &Router,
        method: &str,
        uri: &str,
        body: String,
        cookie: Option<&str>,
    ) -> (StatusCode, http::HeaderMap, String) {
        let mut r = Request::builder().method(method).uri(uri);
        if !body.is_empty() {
            r = r.header("content-type", "application/x-www-form-urlencoded");
        }
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        let mut r = r.body(Body::from(body)).unwrap();
        r.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from(([10, 0, 0, 1], 1))));
        let resp = app.clone().oneshot(r).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Signs `email` in, the browser bringing `cookie`; returns the session cookie after login.
    async fn login(app: &Router, idp: &TestIdp, email: &str, cookie: Option<&str>) -> String {
        let (status, headers, _) = send(app, "GET", "/saml/login", String::new(), cookie).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (id, relay) = login_redirect(headers["location"].to_str().unwrap());
        let login = set_cookie(&headers, "__Host-saml_login").expect("the login-binding cookie");
        let cookies = match cookie {
            Some(c) => format!("{c}; {login}"),
            None => login,
        };
        let (status, headers, body) = send(
            app,
            "POST",
            "/saml/acs",
            acs_body(idp, &id, &relay, email),
            Some(&cookies),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        set_cookie(&headers, "id").expect("a session cookie after login")
    }

    #[tokio::test]
    async fn tower_sessions_login_fixation_idp_logout_and_sign_out() {
        let idp = TestIdp::fixed("https://idp.example.com/saml");
        let web = web(&idp, TowerSessions::default());
        let app = app(web.clone());
        // The app's own session before login.
        let (_, headers, _) = send(&app, "GET", "/add", String::new(), None).await;
        let before = set_cookie(&headers, "id").unwrap();
        let ada = login(&app, &idp, "ada@example.com", Some(&before)).await;
        assert_ne!(ada, before, "a new session ID at login");
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&ada)).await;
        assert_eq!(body, "signed in as ada@example.com");
        let (_, _, body) = send(&app, "GET", "/cart", String::new(), Some(&ada)).await;
        assert_eq!(
            body, "Some(3)",
            "the app's session data survives the new ID"
        );
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&before)).await;
        assert_eq!(body, "anonymous", "the pre-login ID is gone");
        let bob = login(&app, &idp, "bob@example.com", None).await;
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&bob)).await;
        assert_eq!(body, "signed in as bob@example.com");

        // The IdP ends Ada's sessions: hers ends, Bob's does not.
        let (status, headers, _) = send(
            &app,
            "GET",
            &idp_logout_path(&idp, "ada@example.com"),
            String::new(),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .contains("SAMLResponse="),
            "a LogoutResponse to the IdP"
        );
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&ada)).await;
        assert_eq!(body, "anonymous", "ended by the IdP");
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&bob)).await;
        assert_eq!(body, "signed in as bob@example.com");
        // Ada signs in again after the logout: the new session lives.
        let ada2 = login(&app, &idp, "ada@example.com", Some(&ada)).await;
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&ada2)).await;
        assert_eq!(body, "signed in as ada@example.com");

        // Bob signs out: the session is flushed and the browser goes to the IdP's SLO.
        let (status, headers, _) =
            send(&app, "POST", "/saml/logout", String::new(), Some(&bob)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let to = headers["location"].to_str().unwrap();
        assert!(
            to.starts_with("https://idp.example.com/slo?") && to.contains("SAMLRequest="),
            "{to}"
        );
        let (_, _, body) = send(&app, "GET", "/", String::new(), Some(&bob)).await;
        assert_eq!(body, "anonymous");
    }

    #[tokio::test]
    async fn without_the_session_layer_a_login_fails_with_a_configuration_error() {
        let idp = TestIdp::fixed("https://idp.example.com/saml");
        let web = web(&idp, TowerSessions::default());
        let app = Router::new()
            .merge(router(web.clone()))
            .with_state(web.clone());
        let (_, headers, _) = send(&app, "GET", "/saml/login", String::new(), None).await;
        let (id, relay) = login_redirect(headers["location"].to_str().unwrap());
        let login = set_cookie(&headers, "__Host-saml_login").unwrap();
        let (status, _, body) = send(
            &app,
            "POST",
            "/saml/acs",
            acs_body(&idp, &id, &relay, "ada@example.com"),
            Some(&login),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert!(body.contains("config_invalid"), "{body}");
    }
}

mod actix_session_actix {
    use super::*;
    use actix_session::SessionMiddleware;
    use actix_session::storage::CookieSessionStore;
    use actix_web::cookie::Key;
    use actix_web::test as at;
    use saml_sp::web::actix::{ActixSessions, SignedIn, configure};

    async fn who(user: Option<SignedIn<String>>) -> String {
        user.map_or_else(|| "anonymous".into(), |u| format!("signed in as {}", u.0))
    }

    #[actix_web::test]
    async fn actix_session_login_fixation_idp_logout_and_sign_out() {
        let idp = TestIdp::fixed("https://idp.example.com/saml");
        let (_, carol, _) = actix_session_round(&idp).await;
        assert!(carol.starts_with("id="));
    }

    /// Logins, an IdP-initiated logout and Bob's sign-out on one app; returns (Bob's signed-out
    /// cookie, Carol's live cookie, the cookie key).
    async fn actix_session_round(idp: &TestIdp) -> (String, String, Key) {
        let idp = idp.clone();
        let web = web(&idp, ActixSessions::default());
        let key = Key::generate();
        let app = at::init_service(
            actix_web::App::new()
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                        .cookie_secure(false)
                        .build(),
                )
                .configure(configure(web.clone()))
                .route("/", actix_web::web::get().to(who)),
        )
        .await;
        macro_rules! call {
            ($req:expr, $cookie:expr) => {{
                let mut req = $req;
                if let Some(c) = $cookie {
                    req = req.insert_header(("cookie", c));
                }
                let resp = at::call_service(&app, req.to_request()).await;
                let status = resp.status().as_u16();
                let mut headers = http::HeaderMap::new();
                for (n, v) in resp.headers() {
                    headers.append(
                        http::HeaderName::from_bytes(n.as_str().as_bytes()).unwrap(),
                        http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
                    );
                }
                let body = String::from_utf8(at::read_body(resp).await.to_vec()).unwrap();
                (status, headers, body)
            }};
        }
        let mut sessions = Vec::new();
        for email in ["ada@example.com", "bob@example.com"] {
            let (status, headers, _) =
                call!(at::TestRequest::get().uri("/saml/login"), None::<&str>);
            assert_eq!(status, 303);
            let (id, relay) = login_redirect(headers["location"].to_str().unwrap());
            let login = set_cookie(&headers, "__Host-saml_login").unwrap();
            let (status, headers, body) = call!(
                at::TestRequest::post()
                    .uri("/saml/acs")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .set_payload(acs_body(&idp, &id, &relay, email)),
                Some(login.as_str())
            );
            assert_eq!(status, 303, "{body}");
            let cookie = set_cookie(&headers, "id").expect("the session cookie");
            let (_, _, body) = call!(at::TestRequest::get().uri("/"), Some(cookie.as_str()));
            assert_eq!(body, format!("signed in as {email}"));
            sessions.push(cookie);
        }
        let (ada, bob) = (sessions[0].clone(), sessions[1].clone());
        // The IdP ends Ada's sessions: her cookie (still a valid signed cookie) no longer signs
        // her in; Bob's does.
        let (status, _, _) = call!(
            at::TestRequest::get().uri(&idp_logout_path(&idp, "ada@example.com")),
            None::<&str>
        );
        assert_eq!(status, 303);
        let (_, _, body) = call!(at::TestRequest::get().uri("/"), Some(ada.as_str()));
        assert_eq!(body, "anonymous", "ended by the IdP");
        let (_, _, body) = call!(at::TestRequest::get().uri("/"), Some(bob.as_str()));
        assert_eq!(body, "signed in as bob@example.com");
        // Bob signs out: the session is purged (its cookie removed) and he goes to the IdP.
        let (status, headers, _) = call!(
            at::TestRequest::post().uri("/saml/logout"),
            Some(bob.as_str())
        );
        assert_eq!(status, 303);
        let to = headers["location"].to_str().unwrap().to_owned();
        assert!(
            to.starts_with("https://idp.example.com/slo?") && to.contains("SAMLRequest="),
            "{to}"
        );
        let removal = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("id="))
            .expect("the session cookie removed");
        assert!(
            removal.contains("Max-Age=0") || removal.contains("1970"),
            "{removal}"
        );
        // A copy of the signed cookie kept from before the sign-out signs no one in.
        let (_, _, body) = call!(at::TestRequest::get().uri("/"), Some(bob.as_str()));
        assert_eq!(body, "anonymous", "a copied cookie outlives nothing");
        // Carol stays signed in until the restart below.
        let (status, headers, _) = call!(at::TestRequest::get().uri("/saml/login"), None::<&str>);
        assert_eq!(status, 303);
        let (id, relay) = login_redirect(headers["location"].to_str().unwrap());
        let login = set_cookie(&headers, "__Host-saml_login").unwrap();
        let (_, headers, _) = call!(
            at::TestRequest::post()
                .uri("/saml/acs")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(acs_body(&idp, &id, &relay, "carol@example.com")),
            Some(login.as_str())
        );
        let carol = set_cookie(&headers, "id").unwrap();
        (bob, carol, key)
    }

    /// Hardening pass 4, item 2: sign-outs forgotten on restart. Bob signed out and kept a copy
    /// of his cookie; the app restarts with the same cookie key and a fresh in-memory revocation
    /// list. The copy must not sign him in (nor any session from before the restart: the fresh
    /// list cannot know who signed out, so it fails closed).
    #[actix_web::test]
    async fn sign_outs_forgotten_on_restart_a_copied_cookie_is_refused_after_a_restart() {
        let idp = TestIdp::fixed("https://idp.example.com/saml");
        let (bob, carol, key) = actix_session_round(&idp).await;
        // The restarted app: same cookie key, fresh ActixSessions (in-memory revocations).
        let web = web(&idp, ActixSessions::default());
        let app = at::init_service(
            actix_web::App::new()
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), key)
                        .cookie_secure(false)
                        .build(),
                )
                .configure(configure(web.clone()))
                .route("/", actix_web::web::get().to(who)),
        )
        .await;
        for (who, cookie) in [("bob", &bob), ("carol", &carol)] {
            let resp = at::call_service(
                &app,
                at::TestRequest::get()
                    .uri("/")
                    .insert_header(("cookie", cookie.as_str()))
                    .to_request(),
            )
            .await;
            let body = String::from_utf8(at::read_body(resp).await.to_vec()).unwrap();
            assert_eq!(body, "anonymous", "{who}'s pre-restart cookie");
        }
    }
}
