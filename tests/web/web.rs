//! The web layer and its axum adapter (issue 18), without a browser: every endpoint, the error
//! pages, the client address behind proxies, fresh session tokens, and the size of the minimal
//! examples.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Router, response::Html};
use saml_sp::login::SamlIdentity;
use saml_sp::testkit::{TestIdp, TestUser};
use saml_sp::web::axum::{SignedIn, router};
use saml_sp::web::{SamlWeb, WebSettings};
use tower::ServiceExt as _;

const BASE: &str = "https://app.example.com";

fn idp() -> TestIdp {
    TestIdp::fixed("https://idp.example.com/saml")
}

fn metadata_file(idp: &TestIdp) -> String {
    let path =
        std::env::temp_dir().join(format!("saml-sp-web-{}-{}.xml", std::process::id(), rand()));
    std::fs::write(&path, idp.metadata_xml("https://idp.example.com/sso")).unwrap();
    path.display().to_string()
}

fn rand() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

type Users =
    fn(String, SamlIdentity) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>>;

fn users(
    _tenant: String,
    id: SamlIdentity,
) -> std::future::Ready<Result<String, saml_sp::login::ProvisionError>> {
    std::future::ready(Ok(id.email))
}

fn web(
    idp: &TestIdp,
) -> Arc<SamlWeb<saml_sp::login::ProvisionFn<Users>, saml_sp::web::MemorySessions<String>>> {
    Arc::new(SamlWeb::from_idp_metadata_file(BASE, metadata_file(idp), users as Users).unwrap())
}

async fn home(user: Option<SignedIn<String>>) -> Html<String> {
    Html(match user {
        Some(SignedIn(email)) => format!("signed in as {email}"),
        None => "anonymous".into(),
    })
}

async fn private(SignedIn(email): SignedIn<String>) -> String {
    format!("secret of {email}")
}

fn app<P, S>(web: Arc<SamlWeb<P, S>>) -> Router
where
    P: saml_sp::login::Provisioner<User = String> + 'static,
    S: saml_sp::web::SessionBackend<String> + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(home))
        .route("/private", get(private))
        .merge(router(web.clone()))
        .with_state(web)
}

fn request(
    method: &str,
    uri: &str,
    body: &str,
    cookie: Option<&str>,
    peer: [u8; 4],
    xff: Option<&str>,
) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        r = r.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    if let Some(x) = xff {
        r = r.header("x-forwarded-for", x);
    }
    let mut r = r.body(Body::from(body.to_owned())).unwrap();
    r.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
    r
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn location(h: &axum::http::HeaderMap) -> String {
    h.get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `name=value` of the login-binding cookie a response sets.
fn login_cookie(h: &axum::http::HeaderMap) -> String {
    h.get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.split('=').next().unwrap().ends_with("saml_login"))
        .expect("a login-binding cookie")
}

/// Starts a login and returns (request ID, RelayState, the login-binding cookie).
async fn start(app: &Router) -> (String, String, String) {
    let (status, headers, _) = send(
        app,
        request(
            "GET",
            "/saml/login?return_to=/private",
            "",
            None,
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let url = location(&headers);
    assert!(
        url.starts_with("https://idp.example.com/sso?SAMLRequest="),
        "{url}"
    );
    let m = saml_sp::binding::decode_redirect(&url, &Default::default()).unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    (
        doc.root().attribute("ID").unwrap().to_owned(),
        m.relay_state.unwrap(),
        login_cookie(&headers),
    )
}

fn acs_body(saml_response: &str, relay_state: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", saml_response)
        .append_pair("RelayState", relay_state)
        .finish()
}

#[tokio::test]
async fn login_acs_session_and_replay() {
    let idp = idp();
    let app = app(web(&idp));
    let (request_id, relay, login) = start(&app).await;
    assert!(login.starts_with("__Host-saml_login="), "{login}");
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&request_id)
        .user(TestUser::new("ada@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    // A cookie the browser brought before login is not reused.
    let (status, headers, _) = send(
        &app,
        request(
            "POST",
            "/saml/acs",
            &acs_body(&response, &relay),
            Some(&format!("saml_session=attacker-chosen; {login}")),
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/private");
    let set = headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.starts_with("saml_session=")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Lax")
            && set.contains("Secure"),
        "{set}"
    );
    let token = set.split(';').next().unwrap().to_owned();
    assert_ne!(token, "saml_session=attacker-chosen");
    assert_eq!(token.len(), "saml_session=".len() + 64);
    // Signed in, with the extractor.
    let (_, _, body) = send(
        &app,
        request("GET", "/", "", Some(&token), [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(body, "signed in as ada@example.com");
    let (status, _, body) = send(
        &app,
        request("GET", "/private", "", Some(&token), [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "secret of ada@example.com")
    );
    // The brought cookie is not a session.
    let (_, _, body) = send(
        &app,
        request(
            "GET",
            "/",
            "",
            Some("saml_session=attacker-chosen"),
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(body, "anonymous");
    // The same Response again: the already-used page, 403, with the code.
    let (status, _, body) = send(
        &app,
        request(
            "POST",
            "/saml/acs",
            &acs_body(&response, &relay),
            Some(&login),
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("<code id=\"code\">replayed_assertion</code>")
            && body.contains("already used"),
        "{body}"
    );
    // Logout ends the session and clears the cookie.
    let (status, headers, _) = send(
        &app,
        request(
            "POST",
            "/saml/logout",
            "",
            Some(&token),
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (_, _, body) = send(
        &app,
        request("GET", "/", "", Some(&token), [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(body, "anonymous");
}

#[tokio::test]
async fn signed_in_extractor_redirects_to_the_login_with_a_return_path() {
    let app = app(web(&idp()));
    let (status, headers, _) = send(
        &app,
        request("GET", "/private", "", None, [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/saml/login?return_to=%2Fprivate");
}

#[tokio::test]
async fn metadata_error_pages_limits_and_unknown_routes() {
    let idp = idp();
    let app = app(web(&idp));
    let (status, headers, body) = send(
        &app,
        request("GET", "/saml/metadata", "", None, [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/samlmetadata+xml"
    );
    assert!(
        body.contains(&format!("entityID=\"{BASE}/saml/metadata\""))
            && body.contains(&format!("Location=\"{BASE}/saml/acs\"")),
        "{body}"
    );
    // A forged Response: 403, the code, a safe message, no detail.
    let (status, _, body) = send(
        &app,
        request(
            "POST",
            "/saml/acs",
            &acs_body("PHNhbWxwOlJlc3BvbnNlLz4=", ""),
            None,
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("id=\"code\">xml_malformed<") && body.contains("refused"),
        "{body}"
    );
    assert!(!body.contains("samlp:Response"), "{body}");
    // Over the body limit: 413 (the adapter refuses before reading more).
    let big = "x".repeat((1 << 20) + 10);
    let (status, _, _) = send(
        &app,
        request("POST", "/saml/acs", &big, None, [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A large real Response (many groups, ~300 KB) is accepted under the default limit.
    let (request_id, relay, login) = start(&app).await;
    let groups: Vec<String> = (0..4000)
        .map(|i| format!("group-with-a-long-name-{i:05}"))
        .collect();
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&request_id)
        .user(TestUser::new("ada@example.com").groups(groups))
        .build_base64(chrono::Utc::now())
        .unwrap();
    assert!(response.len() > 300_000, "{}", response.len());
    let (status, _, body) = send(
        &app,
        request(
            "POST",
            "/saml/acs",
            &acs_body(&response, &relay),
            Some(&login),
            [10, 0, 0, 1],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _, _) = send(
        &app,
        request("GET", "/saml/nothing", "", None, [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[derive(Debug, Default)]
struct Ips(Mutex<Vec<String>>);
impl saml_sp::login::AuditSink for Ips {
    fn record(&self, e: &saml_sp::login::AuditEvent) {
        if let Some((_, ip)) = e.context.fields.iter().find(|(k, _)| k == "ip") {
            self.0.lock().unwrap().push(ip.clone());
        }
    }
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    use saml_sp::store::{MemoryReplayCache, MemoryRequestStore};
    use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
    let idp = idp();
    let registry = IdpRegistry::new(
        SpSettings::new(format!("{BASE}/saml/metadata"), format!("{BASE}/saml/acs")).unwrap(),
    );
    registry
        .insert(
            TenantConfig::new("default", idp.entity_id(), vec![idp.certificate().clone()])
                .sso_url("https://idp.example.com/sso"),
        )
        .unwrap();
    let ips = Arc::new(Ips::default());
    let acs = saml_sp::Acs::new(
        Arc::new(registry),
        Arc::new(MemoryRequestStore::default()),
        Arc::new(MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(users as Users),
    )
    .with_audit_sink(ips.clone());
    let settings = WebSettings::single_tenant("default").trust_proxy("10.0.0.9".parse().unwrap());
    let web = Arc::new(SamlWeb::new(
        Arc::new(acs),
        Arc::new(saml_sp::web::MemorySessions::default()),
        settings,
    ));
    let app = app(web);
    let body = acs_body("PHg+", "");
    // From a client directly: its forged header is ignored.
    send(
        &app,
        request(
            "POST",
            "/saml/acs",
            &body,
            None,
            [203, 0, 113, 7],
            Some("1.2.3.4"),
        ),
    )
    .await;
    // Through the trusted proxy: the client the proxy saw.
    send(
        &app,
        request(
            "POST",
            "/saml/acs",
            &body,
            None,
            [10, 0, 0, 9],
            Some("1.2.3.4, 198.51.100.20"),
        ),
    )
    .await;
    assert_eq!(
        *ips.0.lock().unwrap(),
        vec!["203.0.113.7".to_owned(), "198.51.100.20".to_owned()]
    );
}

/// The minimal examples are at most 30 lines of code a user writes (non-blank, non-comment).
#[test]
fn minimal_examples_stay_under_30_lines() {
    let names: &[&str] = &["minimal_axum", "minimal_actix"];
    for name in names {
        let path = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .count();
        assert!(lines <= 30, "{name}: {lines} lines of code");
    }
}

/// The actix-web adapter: the same endpoints through `configure`, and its `SignedIn` extractor.
#[actix_web::test]
async fn actix_adapter_serves_login_acs_metadata_and_the_extractor() {
    use actix_web::test as at;
    use saml_sp::web::actix::{SignedIn as ActixSignedIn, configure};
    async fn who(user: Option<ActixSignedIn<String>>) -> String {
        user.map_or_else(|| "anonymous".into(), |u| format!("signed in as {}", u.0))
    }
    async fn private(user: ActixSignedIn<String>) -> String {
        format!("secret of {}", user.0)
    }
    let idp = idp();
    let web = web(&idp);
    let app = at::init_service(
        actix_web::App::new()
            .configure(configure(web.clone()))
            .route("/", actix_web::web::get().to(who))
            .route("/private", actix_web::web::get().to(private)),
    )
    .await;
    let resp = at::call_service(
        &app,
        at::TestRequest::get().uri("/saml/metadata").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body = String::from_utf8(at::read_body(resp).await.to_vec()).unwrap();
    assert!(
        body.contains(&format!("entityID=\"{BASE}/saml/metadata\"")),
        "{body}"
    );
    let resp = at::call_service(&app, at::TestRequest::get().uri("/private").to_request()).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get("location").unwrap(),
        "/saml/login?return_to=%2Fprivate"
    );
    let resp = at::call_service(&app, at::TestRequest::get().uri("/saml/login").to_request()).await;
    assert_eq!(resp.status(), 303);
    let login = resp
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-saml_login="))
        .unwrap();
    let url = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let m = saml_sp::binding::decode_redirect(&url, &Default::default()).unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    let request_id = doc.root().attribute("ID").unwrap().to_owned();
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&request_id)
        .user(TestUser::new("bob@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let resp = at::call_service(
        &app,
        at::TestRequest::post()
            .uri("/saml/acs")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(("cookie", login.as_str()))
            .set_payload(acs_body(&response, m.relay_state.as_deref().unwrap()))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let resp = at::call_service(
        &app,
        at::TestRequest::get()
            .uri("/")
            .insert_header(("cookie", cookie.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(
        String::from_utf8(at::read_body(resp).await.to_vec()).unwrap(),
        "signed in as bob@example.com"
    );
    let resp = at::call_service(
        &app,
        at::TestRequest::get()
            .uri("/private")
            .insert_header(("cookie", cookie.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(
        String::from_utf8(at::read_body(resp).await.to_vec()).unwrap(),
        "secret of bob@example.com"
    );
    // A forged Response: the error page with the code.
    let resp = at::call_service(
        &app,
        at::TestRequest::post()
            .uri("/saml/acs")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(acs_body("PHg+", ""))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn a_post_only_idp_gets_the_auto_submitting_page_under_a_nonce_csp() {
    let idp = idp();
    // The IdP's metadata without its HTTP-Redirect SSO endpoint.
    let md = idp.metadata_xml("https://idp.example.com/sso").replacen(
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp.example.com/sso\"/>",
        "",
        1,
    );
    assert!(!md.contains("HTTP-Redirect\" Location=\"https://idp.example.com/sso\""));
    let path = std::env::temp_dir().join(format!("saml-sp-web-post-{}.xml", rand()));
    std::fs::write(&path, md).unwrap();
    let web = Arc::new(
        SamlWeb::from_idp_metadata_file(BASE, path.display().to_string(), users as Users).unwrap(),
    );
    let app = app(web);
    let (status, headers, body) = send(
        &app,
        request("GET", "/saml/login", "", None, [10, 0, 0, 1], None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::LOCATION).is_none());
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        body.contains(&format!("<script nonce=\"{nonce}\">")),
        "{body}"
    );
    assert!(!body.contains("onload"));
    assert!(body.contains("action=\"https://idp.example.com/sso\""));
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
}

type TestWeb = SamlWeb<saml_sp::login::ProvisionFn<Users>, saml_sp::web::MemorySessions<String>>;

/// A login through the hyper adapter from `start`: (the ACS POST body, the session cookie, where
/// the ACS sent the browser, the login-binding cookie).
async fn hyper_login<S: saml_sp::web::SessionBackend<String>>(
    web: &SamlWeb<saml_sp::login::ProvisionFn<Users>, S>,
    idp: &TestIdp,
    email: &str,
    start: &str,
) -> (String, String, String, String) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use saml_sp::web::hyper::serve;
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let req = |method: &str, uri: &str, body: String, cookie: Option<&str>| {
        let mut r = hyper::Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.body(Full::new(Bytes::from(body))).unwrap()
    };
    let r = serve(web, req("GET", start, String::new(), None), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let login = login_cookie(r.headers());
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    let m = saml_sp::binding::decode_redirect(&url, &Default::default()).unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(doc.root().attribute("ID").unwrap())
        .user(TestUser::new(email))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let body = acs_body(&response, m.relay_state.as_deref().unwrap());
    let r = serve(
        web,
        req("POST", "/saml/acs", body.clone(), Some(&login)),
        peer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (
        body,
        cookie,
        r.headers()["location"].to_str().unwrap().to_owned(),
        login,
    )
}

#[tokio::test]
async fn hyper_adapter_serves_the_endpoints_and_hands_back_the_rest() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use saml_sp::web::hyper::serve;
    let idp = idp();
    let web = web(&idp);
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let req = |method: &str, uri: &str, body: &str, cookie: Option<&str>| {
        let mut r = hyper::Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.body(Full::new(Bytes::from(body.to_owned()))).unwrap()
    };
    let text = |r: hyper::Response<Full<Bytes>>| async move {
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    };
    // Not an endpoint: handed back untouched, body included.
    let back = serve(&web, req("GET", "/dashboard", "keep", None), peer)
        .await
        .unwrap_err();
    assert_eq!(back.uri(), "/dashboard");
    assert_eq!(
        back.into_body().collect().await.unwrap().to_bytes(),
        Bytes::from("keep")
    );
    // Metadata.
    let r = serve(&web, req("GET", "/saml/metadata", "", None), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        text(r)
            .await
            .contains(&format!("entityID=\"{BASE}/saml/metadata\""))
    );
    // Login start, then the ACS with the IdP's answer: a session cookie and the return path.
    let (body, cookie, to, login) = hyper_login(
        &web,
        &idp,
        "hyper@example.com",
        "/saml/login?return_to=/reports",
    )
    .await;
    assert_eq!(to, "/reports");
    let mut headers = http::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    assert_eq!(
        web.user(&headers, &http::Extensions::new())
            .await
            .as_deref(),
        Some("hyper@example.com")
    );
    // The same POST again: the error page with its code.
    let r = serve(&web, req("POST", "/saml/acs", &body, Some(&login)), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(text(r).await.contains("id=\"code\">replayed_assertion<"));
    // A body over the limit: 413 before any parsing.
    let big = "x".repeat((1 << 20) + 1);
    let r = serve(&web, req("POST", "/saml/acs", &big, None), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Sign-out ends the session.
    let r = serve(&web, req("POST", "/saml/logout", "", Some(&cookie)), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(web.user(&headers, &http::Extensions::new()).await, None);
}

/// `GET /saml/slo` through the hyper adapter: an IdP-initiated LogoutRequest ends the session
/// it names and answers with a signed LogoutResponse; a forged one gets the error page.
#[tokio::test]
async fn hyper_adapter_single_logout_ends_the_named_session() {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use saml_sp::web::hyper::serve;
    let idp = idp();
    let web = slo_web(&idp);
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let get = |uri: String| {
        hyper::Request::builder()
            .uri(uri)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let (_, cookie, _, _) = hyper_login(&web, &idp, "slo@example.com", "/saml/login").await;
    let mut headers = http::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    assert_eq!(
        web.user(&headers, &http::Extensions::new())
            .await
            .as_deref(),
        Some("slo@example.com")
    );
    // The IdP ends every session of that NameID.
    // The IdP's "sign this user out everywhere" form: a page sending the browser on.
    let page = idp
        .logout_submit(
            "email=slo%40example.com",
            &format!("{BASE}/saml/slo"),
            chrono::Utc::now(),
        )
        .unwrap();
    let url = page
        .split("href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let path = url.strip_prefix(BASE).unwrap().to_owned();
    // Re-encoded (tampered) query: refused, the session survives.
    let forged = path.replacen("SAMLRequest=", "SAMLRequest=A", 1);
    let r = serve(&web, get(forged), peer).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        web.user(&headers, &http::Extensions::new())
            .await
            .as_deref(),
        Some("slo@example.com")
    );
    let r = serve(&web, get(path), peer).await.unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap();
    assert!(
        back.starts_with("https://idp.example.com/slo?SAMLResponse="),
        "{back}"
    );
    assert!(
        back.contains("&Signature="),
        "the LogoutResponse is signed: {back}"
    );
    assert_eq!(
        web.user(&headers, &http::Extensions::new()).await,
        None,
        "the session ended"
    );
}

/// Several tenants under one prefix (`/saml/{tenant}/...`), each with its own SP entity ID and
/// ACS URL (from the `{tenant}` templates, or set per tenant) and its own SP metadata.
#[tokio::test]
async fn multi_tenant_routes_serve_each_tenants_own_sp_identity() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use saml_sp::web::hyper::serve;
    use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
    let acme_idp = TestIdp::fixed("https://idp.acme.example/saml");
    let globex_idp = TestIdp::fixed("https://login.globex.example/saml");
    let registry = IdpRegistry::new(
        SpSettings::new(
            format!("{BASE}/saml/{{tenant}}/metadata"),
            format!("{BASE}/saml/{{tenant}}/acs"),
        )
        .unwrap(),
    );
    registry
        .insert(
            TenantConfig::new(
                "acme",
                acme_idp.entity_id(),
                vec![acme_idp.certificate().clone()],
            )
            .sso_url("https://idp.acme.example/sso"),
        )
        .unwrap();
    registry
        .insert(
            TenantConfig::new(
                "globex",
                globex_idp.entity_id(),
                vec![globex_idp.certificate().clone()],
            )
            .sso_url("https://login.globex.example/sso")
            .email_domains(["globex.example"])
            .sp_entity_id("urn:app:globex")
            .acs_url("https://globex.app.example.com/sso/acs"),
        )
        .unwrap();
    let acs = saml_sp::Acs::new(
        Arc::new(registry),
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(users as Users),
    );
    let web: TestWeb = SamlWeb::new(
        Arc::new(acs),
        Arc::new(saml_sp::web::MemorySessions::default()),
        WebSettings::multi_tenant(),
    );
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let get = |uri: &str| {
        hyper::Request::builder()
            .uri(uri)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let body = |r: hyper::Response<Full<Bytes>>| async move {
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    };
    let md = body(serve(&web, get("/saml/acme/metadata"), peer).await.unwrap()).await;
    assert!(
        md.contains(&format!("entityID=\"{BASE}/saml/acme/metadata\"")),
        "{md}"
    );
    assert!(
        md.contains(&format!("Location=\"{BASE}/saml/acme/acs\"")),
        "{md}"
    );
    let md = body(
        serve(&web, get("/saml/globex/metadata"), peer)
            .await
            .unwrap(),
    )
    .await;
    assert!(md.contains("entityID=\"urn:app:globex\""), "{md}");
    assert!(
        md.contains("Location=\"https://globex.app.example.com/sso/acs\""),
        "{md}"
    );
    // Each login goes to the tenant's IdP, as the tenant's SP.
    for (tenant, sso, issuer, acs) in [
        (
            "acme",
            "https://idp.acme.example/sso",
            format!("{BASE}/saml/acme/metadata"),
            format!("{BASE}/saml/acme/acs"),
        ),
        (
            "globex",
            "https://login.globex.example/sso",
            "urn:app:globex".to_owned(),
            "https://globex.app.example.com/sso/acs".to_owned(),
        ),
    ] {
        let r = serve(&web, get(&format!("/saml/{tenant}/login")), peer)
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let url = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(url.starts_with(&format!("{sso}?SAMLRequest=")), "{url}");
        let m = saml_sp::binding::decode_redirect(&url, &Default::default()).unwrap();
        let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
        assert_eq!(
            doc.root().attribute("AssertionConsumerServiceURL"),
            Some(acs.as_str())
        );
        let got_issuer = doc
            .root()
            .child_elements()
            .find(|e| e.local_name() == "Issuer")
            .unwrap()
            .text();
        assert_eq!(got_issuer, issuer);
    }
    // Issue 34, item 4: on a tenant's route the tenant in the path decides, whatever the email.
    for email in ["ada@globex.example", "ada@nowhere.example"] {
        let r = serve(&web, get(&format!("/saml/acme/login?email={email}")), peer)
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{email}");
        let url = r.headers()["location"].to_str().unwrap();
        assert!(
            url.starts_with("https://idp.acme.example/sso?"),
            "{email}: {url}"
        );
    }
    // An unknown tenant: the error page with its code.
    let r = serve(&web, get("/saml/initech/login"), peer).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(body(r).await.contains("id=\"code\">unknown_tenant<"));
}

// ---- Hardening pass 4 (issue 35) and pass 3 (issue 27): the web layer's regressions ----

fn post_with(uri: &str, body: &str, cookie: Option<&str>, extra: &[(&str, &str)]) -> Request<Body> {
    let mut r = request("POST", uri, body, cookie, [10, 0, 0, 1], None);
    for (k, v) in extra {
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}

/// Login CSRF: the attacker starts a login in his own browser, gets his signed Response and
/// RelayState, and has the victim's browser post them. The victim's browser (with its own
/// login-binding cookie, or none) is refused, and the attacker's pending login is used up.
#[tokio::test]
async fn login_csrf_a_response_for_a_login_another_browser_started_is_refused() {
    let idp = idp();
    let app = app(web(&idp));
    let (attacker_request, attacker_relay, _attacker_cookie) = start(&app).await;
    let (_, _, victim_cookie) = start(&app).await;
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&attacker_request)
        .user(TestUser::new("mallory@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let body = acs_body(&response, &attacker_relay);
    // The cross-site POST carries no Lax cookie: the ACS answers with its same-site re-post.
    let (status, headers, page) = send(&app, post_with("/saml/acs", &body, None, &[])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert!(
        page.contains("action=\"/saml/acs\"")
            && page.contains("name=\"SamlSpContinue\"")
            && page.contains(&attacker_relay),
        "{page}"
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self'") && csp.contains("'nonce-"),
        "{csp}"
    );
    // The re-post from the app's origin carries the victim's own cookie: refused.
    let resumed = format!("{body}&SamlSpContinue=1");
    let (status, headers, page) = send(
        &app,
        post_with("/saml/acs", &resumed, Some(&victim_cookie), &[]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(
        page.contains("id=\"code\">login_browser_mismatch<"),
        "{page}"
    );
    assert!(headers.get(header::SET_COOKIE).is_none(), "no session");
    // ...and the attacker's own login is gone: his browser cannot use it after the attempt.
    let (status, _, page) = send(
        &app,
        post_with("/saml/acs", &resumed, Some(&_attacker_cookie), &[]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    // A browser with no cookie at all (the re-post of an anonymous victim): refused too.
    let (attacker_request, attacker_relay, _) = start(&app).await;
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&attacker_request)
        .user(TestUser::new("mallory@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let resumed = format!("{}&SamlSpContinue=1", acs_body(&response, &attacker_relay));
    let (status, _, page) = send(&app, post_with("/saml/acs", &resumed, None, &[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(
        page.contains("id=\"code\">login_browser_mismatch<"),
        "{page}"
    );
}

/// The genuine flow: the IdP's cross-site POST (no cookie) gets the re-post page, whose same-site
/// POST carries the browser's login-binding cookie and signs the user in.
#[tokio::test]
async fn login_csrf_the_idps_cross_site_post_is_resumed_same_site_with_the_binding_cookie() {
    let idp = idp();
    let app = app(web(&idp));
    let (request_id, relay, login) = start(&app).await;
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&request_id)
        .user(TestUser::new("ada@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let body = acs_body(&response, &relay);
    let (status, _, page) = send(&app, post_with("/saml/acs", &body, None, &[])).await;
    assert_eq!(status, StatusCode::OK);
    // The page's form, as the browser would post it.
    let fields: Vec<(String, String)> = page
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|f| {
            let (name, rest) = f.split_once("\" value=\"").unwrap();
            let value = rest.split('"').next().unwrap();
            (
                name.to_owned(),
                value.replace("&#10;", "\n").replace("&amp;", "&"),
            )
        })
        .collect();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["SAMLResponse", "RelayState", "SamlSpContinue"]);
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish();
    let (status, headers, _) = send(&app, post_with("/saml/acs", &form, Some(&login), &[])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&headers), "/private");
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("saml_session=")
    );
}

/// Logout CSRF: a cross-site form POST to the sign-out route neither ends the session nor touches
/// a cookie; a request that brought no session cookie gets no cookie-clearing header.
#[tokio::test]
async fn logout_csrf_a_cross_site_sign_out_is_refused_and_clears_nothing() {
    let idp = idp();
    let app = app(web(&idp));
    let (request_id, relay, login) = start(&app).await;
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to(&request_id)
        .user(TestUser::new("ada@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let (_, headers, _) = send(
        &app,
        post_with("/saml/acs", &acs_body(&response, &relay), Some(&login), &[]),
    )
    .await;
    let session = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let signed_in = |app: Router, session: String| async move {
        send(
            &app,
            request("GET", "/", "", Some(&session), [10, 0, 0, 1], None),
        )
        .await
        .2
    };
    for cross in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![
            ("origin", "https://evil.example"),
            ("host", "app.example.com"),
        ],
        vec![("origin", "null"), ("host", "app.example.com")],
    ] {
        let (status, headers, page) =
            send(&app, post_with("/saml/logout", "", Some(&session), &cross)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{cross:?}");
        assert!(page.contains("id=\"code\">cross_site_request<"), "{page}");
        assert!(page.contains("Sign-out failed"), "{page}");
        assert!(headers.get(header::SET_COOKIE).is_none(), "{cross:?}");
        assert_eq!(
            signed_in(app.clone(), session.clone()).await,
            "signed in as ada@example.com",
            "{cross:?}"
        );
    }
    // No session cookie: nothing is cleared.
    let (status, headers, _) = send(
        &app,
        post_with(
            "/saml/logout",
            "",
            None,
            &[("sec-fetch-site", "same-origin")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers.get(header::SET_COOKIE).is_none());
    // The app's own sign-out button (same-origin) works.
    let (status, headers, _) = send(
        &app,
        post_with(
            "/saml/logout",
            "",
            Some(&session),
            &[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://app.example.com"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.contains("Max-Age=0") && cleared.contains("Secure"),
        "{cleared}"
    );
    assert_eq!(signed_in(app.clone(), session).await, "anonymous");
}

/// `SamlWeb::new` derives `Secure` from the ACS URL for single- and multi-tenant settings (the
/// session cookie and the login-binding cookie); an explicit setting wins.
#[tokio::test]
async fn session_cookie_is_secure_on_https_apps_built_with_new() {
    use saml_sp::{IdpRegistry, SpSettings};
    let build = |base: &str, settings: WebSettings| {
        let registry = IdpRegistry::new(
            SpSettings::new(format!("{base}/saml/metadata"), format!("{base}/saml/acs")).unwrap(),
        );
        let acs = saml_sp::Acs::new(
            Arc::new(registry),
            Arc::new(saml_sp::store::MemoryRequestStore::default()),
            Arc::new(saml_sp::store::MemoryReplayCache::default()),
            saml_sp::login::ProvisionFn(users as Users),
        );
        let web: TestWeb = SamlWeb::new(
            Arc::new(acs),
            Arc::new(saml_sp::web::MemorySessions::default()),
            settings,
        );
        web.settings().clone()
    };
    for settings in [
        WebSettings::single_tenant("default"),
        WebSettings::multi_tenant(),
    ] {
        let https = build("https://app.example.com", settings.clone());
        assert!(https.is_secure());
        let cookie = saml_sp::web::session_cookie_header(&https, "t", None, chrono::Utc::now());
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(saml_sp::web::clear_cookie_header(&https).contains("; Secure"));
        assert_eq!(https.login_cookie_name(), "__Host-saml_login");
        let http = build("http://localhost:3000", settings.clone());
        assert!(!http.is_secure());
        assert!(
            !saml_sp::web::session_cookie_header(&http, "t", None, chrono::Utc::now())
                .contains("Secure")
        );
        assert_eq!(http.login_cookie_name(), "saml_login");
        assert!(!build("https://app.example.com", settings.secure_cookie(false)).is_secure());
    }
}

/// X-Forwarded-For from a trusted proxy: walked from the right past trusted proxies, with the
/// `ip:port` and `[v6]:port` forms understood (a client-chosen left entry never wins).
#[test]
fn forwarded_for_walks_from_the_right_with_ports() {
    use saml_sp::web::client_ip;
    let proxy: std::net::IpAddr = "10.0.0.9".parse().unwrap();
    let inner: std::net::IpAddr = "10.0.0.8".parse().unwrap();
    let ip = |xff: &str| {
        let mut h = http::HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        client_ip(proxy, &h, &[proxy, inner]).to_string()
    };
    assert_eq!(ip("6.6.6.6, 1.2.3.4:5555"), "1.2.3.4");
    assert_eq!(ip("6.6.6.6, [2001:db8::1]:443"), "2001:db8::1");
    assert_eq!(ip("6.6.6.6, [2001:db8::2]"), "2001:db8::2");
    assert_eq!(ip("6.6.6.6, 1.2.3.4, 10.0.0.8"), "1.2.3.4");
    assert_eq!(ip("6.6.6.6, 1.2.3.4:80, 10.0.0.8:1234"), "1.2.3.4");
    // An entry that does not parse ends the walk: nothing left of it is believed.
    assert_eq!(ip("6.6.6.6, unknown"), "10.0.0.9");
    assert_eq!(ip("6.6.6.6, unknown, 10.0.0.8"), "10.0.0.8");
    // Not from a trusted proxy: the peer.
    let mut h = http::HeaderMap::new();
    h.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
    let direct: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    assert_eq!(client_ip(direct, &h, &[proxy]), direct);
}

/// The endpoints with an SP signing key and Single Logout (one tenant, `default`).
fn slo_web(idp: &TestIdp) -> TestWeb {
    let sp_key = saml_sp::testkit::generate_key("sp", chrono::Utc::now()).unwrap();
    slo_web_on(
        idp,
        &sp_key.key,
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        Arc::new(saml_sp::web::MemorySessions::default()),
    )
}

/// The same over the given stores and sessions (one app instance of several).
fn slo_web_on<S: saml_sp::web::SessionBackend<String>>(
    idp: &TestIdp,
    sp_key: &saml_sp::crypto::SigningKey,
    requests: Arc<dyn saml_sp::store::RequestStore>,
    replay: Arc<dyn saml_sp::store::ReplayCache>,
    sessions: Arc<S>,
) -> SamlWeb<saml_sp::login::ProvisionFn<Users>, S> {
    use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
    let registry = IdpRegistry::new(
        SpSettings::new(format!("{BASE}/saml/metadata"), format!("{BASE}/saml/acs"))
            .unwrap()
            .single_logout_url(format!("{BASE}/saml/slo"))
            .signing_key(sp_key.clone()),
    );
    let md = idp.metadata_xml("https://idp.example.com/sso");
    registry
        .insert(
            TenantConfig::from_idp_metadata("default", md.as_bytes(), chrono::Utc::now()).unwrap(),
        )
        .unwrap();
    let acs = saml_sp::Acs::new(
        Arc::new(registry),
        requests,
        replay,
        saml_sp::login::ProvisionFn(users as Users),
    );
    SamlWeb::new(
        Arc::new(acs),
        sessions,
        WebSettings::single_tenant("default"),
    )
}

fn hyper_req(
    method: &str,
    uri: &str,
    body: &str,
    cookie: Option<&str>,
) -> hyper::Request<http_body_util::Full<hyper::body::Bytes>> {
    let mut r = hyper::Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.body(http_body_util::Full::new(hyper::body::Bytes::from(
        body.to_owned(),
    )))
    .unwrap()
}

/// Hardening pass 4, item 5: a pending logout's record is never taken as a login. The attacker
/// signs out (his pending-logout record is stored), then posts a Response with
/// `InResponseTo="/"` and a RelayState naming that record: refused as the unsolicited Response
/// it is, and the IdP's real LogoutResponse still completes.
#[tokio::test]
async fn request_store_kinds_a_pending_logout_is_never_taken_as_a_login() {
    use saml_sp::web::hyper::serve;
    let idp = idp();
    let web = slo_web(&idp);
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let (_, session, _, login) =
        hyper_login(&web, &idp, "mallory@example.com", "/saml/login").await;
    let r = serve(
        &web,
        hyper_req("POST", "/saml/logout", "", Some(&session)),
        peer,
    )
    .await
    .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let m = saml_sp::binding::decode_redirect(&to, &Default::default()).unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    let logout_id = doc.root().attribute("ID").unwrap().to_owned();
    let response = idp
        .response(
            &format!("{BASE}/saml/metadata"),
            &format!("{BASE}/saml/acs"),
        )
        .in_response_to("/")
        .user(TestUser::new("mallory@example.com"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    for relay in [
        format!("slo\u{1f}{logout_id}"),
        format!("logout\u{1f}{logout_id}"),
        logout_id.clone(),
    ] {
        let body = format!("{}&SamlSpContinue=1", acs_body(&response, &relay));
        let r = serve(
            &web,
            hyper_req("POST", "/saml/acs", &body, Some(&login)),
            peer,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 403, "{relay:?}");
        assert!(r.headers().get("set-cookie").is_none(), "no session");
    }
    // The IdP's real answer still finds its pending logout.
    let url = idp
        .logout_response_redirect(&logout_id, &format!("{BASE}/saml/slo"), chrono::Utc::now())
        .unwrap();
    let r = serve(
        &web,
        hyper_req("GET", url.strip_prefix(BASE).unwrap(), "", None),
        peer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
}

/// Hardening pass 3, item 6: the Single Logout endpoint takes the HTTP-POST binding too. An
/// IdP-initiated LogoutRequest by POST ends the session it names; a LogoutResponse by POST
/// finishes an SP-initiated logout; a POST with neither is the sign-out error page.
#[tokio::test]
async fn slo_post_binding_an_idp_initiated_logout_request_by_post_ends_the_session() {
    use saml_sp::web::hyper::serve;
    let idp = idp();
    let web = slo_web(&idp);
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let (_, session, _, _) = hyper_login(&web, &idp, "post@example.com", "/saml/login").await;
    let mut headers = http::HeaderMap::new();
    headers.insert("cookie", session.parse().unwrap());
    assert_eq!(
        web.user(&headers, &http::Extensions::new())
            .await
            .as_deref(),
        Some("post@example.com")
    );
    // The IdP's LogoutRequest for that NameID, by POST.
    let extensions = http::Extensions::new();
    let cx = saml_sp::web::SessionContext::new(
        &headers,
        &extensions,
        web.settings(),
        chrono::Utc::now(),
    );
    let session_record = saml_sp::web::SessionBackend::<String>::peek(web.sessions(), cx)
        .await
        .expect("the session's SAML record");
    let (_, b64) = idp
        .logout_request_post(
            &session_record,
            &format!("{BASE}/saml/slo"),
            chrono::Utc::now(),
        )
        .unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLRequest", &b64)
        .append_pair("RelayState", "idp-state")
        .finish();
    let r = serve(&web, hyper_req("POST", "/saml/slo", &body, None), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap();
    assert!(
        back.starts_with("https://idp.example.com/slo?SAMLResponse=")
            && back.contains("RelayState=idp-state"),
        "{back}"
    );
    assert_eq!(web.user(&headers, &http::Extensions::new()).await, None);
    // SP-initiated, answered by POST.
    let (_, session, _, _) = hyper_login(&web, &idp, "post@example.com", "/saml/login").await;
    let r = serve(
        &web,
        hyper_req("POST", "/saml/logout", "", Some(&session)),
        peer,
    )
    .await
    .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let m = saml_sp::binding::decode_redirect(&to, &Default::default()).unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    let id = doc.root().attribute("ID").unwrap().to_owned();
    let b64 = idp
        .logout_response_post(&id, &format!("{BASE}/saml/slo"), chrono::Utc::now())
        .unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &b64)
        .finish();
    let r = serve(&web, hyper_req("POST", "/saml/slo", &body, None), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Replayed: refused with sign-out wording.
    let r = serve(&web, hyper_req("POST", "/saml/slo", &body, None), peer)
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = String::from_utf8(
        http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        page.contains("Sign-out failed") && !page.contains("Sign-in"),
        "{page}"
    );
}

/// Hardening pass 3, item 4: sign-out goes through the session's own tenant. With Acme's
/// session, `POST /saml/globex/logout` is refused and the session lives; on Acme's route the
/// LogoutRequest goes to Acme's IdP.
#[tokio::test]
async fn pass3_defect_4_sign_out_goes_through_the_sessions_tenant_not_the_routes() {
    use saml_sp::web::hyper::serve;
    use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
    let acme_idp = TestIdp::fixed("https://idp.acme.example/saml");
    let globex_idp = TestIdp::fixed("https://login.globex.example/saml");
    let sp_key = saml_sp::testkit::generate_key("sp", chrono::Utc::now()).unwrap();
    let registry = IdpRegistry::new(
        SpSettings::new(
            format!("{BASE}/saml/{{tenant}}/metadata"),
            format!("{BASE}/saml/{{tenant}}/acs"),
        )
        .unwrap()
        .single_logout_url(format!("{BASE}/saml/{{tenant}}/slo"))
        .signing_key(sp_key.key.clone()),
    );
    for (slug, idp, host) in [
        ("acme", &acme_idp, "idp.acme.example"),
        ("globex", &globex_idp, "login.globex.example"),
    ] {
        registry
            .insert(
                TenantConfig::new(slug, idp.entity_id(), vec![idp.certificate().clone()])
                    .sso_url(format!("https://{host}/sso"))
                    .slo_url(format!("https://{host}/slo")),
            )
            .unwrap();
    }
    let acs = saml_sp::Acs::new(
        Arc::new(registry),
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(users as Users),
    );
    let web: TestWeb = SamlWeb::new(
        Arc::new(acs),
        Arc::new(saml_sp::web::MemorySessions::default()),
        WebSettings::multi_tenant(),
    );
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let r = serve(&web, hyper_req("GET", "/saml/acme/login", "", None), peer)
        .await
        .unwrap();
    let login = login_cookie(r.headers());
    assert!(login.starts_with("__Host-"), "multi-tenant https: Secure");
    let m = saml_sp::binding::decode_redirect(
        r.headers()["location"].to_str().unwrap(),
        &Default::default(),
    )
    .unwrap();
    let doc = saml_sp::xml::Document::parse(&m.xml).unwrap();
    let response = acme_idp
        .response(
            &format!("{BASE}/saml/acme/metadata"),
            &format!("{BASE}/saml/acme/acs"),
        )
        .in_response_to(doc.root().attribute("ID").unwrap())
        .user(TestUser::new("ada@acme.example"))
        .build_base64(chrono::Utc::now())
        .unwrap();
    let body = acs_body(&response, m.relay_state.as_deref().unwrap());
    let r = serve(
        &web,
        hyper_req("POST", "/saml/acme/acs", &body, Some(&login)),
        peer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
    let session = set.split(';').next().unwrap().to_owned();
    let mut headers = http::HeaderMap::new();
    headers.insert("cookie", session.parse().unwrap());
    let r = serve(
        &web,
        hyper_req("POST", "/saml/globex/logout", "", Some(&session)),
        peer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("location").is_none());
    assert_eq!(
        web.user(&headers, &http::Extensions::new())
            .await
            .as_deref(),
        Some("ada@acme.example"),
        "the session lives"
    );
    let r = serve(
        &web,
        hyper_req("POST", "/saml/acme/logout", "", Some(&session)),
        peer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("https://idp.acme.example/slo?SAMLRequest="),
        "{to}"
    );
    assert_eq!(web.user(&headers, &http::Extensions::new()).await, None);
}

/// Hardening pass 3, item 12: the simple constructor without an SP key does not advertise
/// Single Logout (it could not be completed); with the SP's key and certificate it signs logout
/// messages, publishes both endpoints and certificates, and "Sign out" reaches the IdP.
#[tokio::test]
async fn pass3_defect_12_slo_is_published_only_when_it_can_be_completed() {
    use saml_sp::web::hyper::serve;
    let idp = idp();
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let text = |r: hyper::Response<http_body_util::Full<hyper::body::Bytes>>| async move {
        String::from_utf8(
            http_body_util::BodyExt::collect(r.into_body())
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap()
    };
    let keyless = web(&idp);
    let md = text(
        serve(&keyless, hyper_req("GET", "/saml/metadata", "", None), peer)
            .await
            .unwrap(),
    )
    .await;
    assert!(!md.contains("SingleLogoutService"), "{md}");
    let sp_key = saml_sp::testkit::generate_key("sp", chrono::Utc::now()).unwrap();
    let keyed: TestWeb = SamlWeb::from_idp_metadata_file_with_sp_key(
        BASE,
        metadata_file(&idp),
        &sp_key.key_pem,
        &sp_key.certificate_pem,
        users as Users,
    )
    .unwrap();
    let md = text(
        serve(&keyed, hyper_req("GET", "/saml/metadata", "", None), peer)
            .await
            .unwrap(),
    )
    .await;
    assert!(
        md.contains(&format!("SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{BASE}/saml/slo\"")),
        "{md}"
    );
    assert!(
        md.contains("use=\"signing\"") && md.contains("use=\"encryption\""),
        "{md}"
    );
    let (_, session, _, _) = hyper_login(&keyed, &idp, "ada@example.com", "/saml/login").await;
    let r = serve(
        &keyed,
        hyper_req("POST", "/saml/logout", "", Some(&session)),
        peer,
    )
    .await
    .unwrap();
    let to = r.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("https://idp.example.com/slo?SAMLRequest=") && to.contains("&Signature="),
        "{to}"
    );
}

/// Issue 31: sessions in the app's database. Two app instances share one database (PostgreSQL,
/// and SQLite): a login on the first is signed in on the second; the table holds no cookie
/// token; the IdP's LogoutRequest received by the second ends the session on the first; a
/// sign-out ends it everywhere; expired rows are cleaned up.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_sessions_are_shared_by_every_instance_and_ended_by_an_idp_logout() {
    use crate::databases::{pg_database, sqlite_path};
    use saml_sp::web::hyper::serve;
    use saml_sp::web::{PgSessions, SessionBackend, SqliteSessions};

    async fn check<S: SessionBackend<String>>(
        label: &str,
        (a, b): (
            SamlWeb<saml_sp::login::ProvisionFn<Users>, S>,
            SamlWeb<saml_sp::login::ProvisionFn<Users>, S>,
        ),
        idp: &TestIdp,
    ) {
        let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        async fn user<S: SessionBackend<String>>(
            web: &SamlWeb<saml_sp::login::ProvisionFn<Users>, S>,
            cookie: &str,
        ) -> Option<String> {
            let mut h = http::HeaderMap::new();
            h.insert("cookie", cookie.parse().unwrap());
            web.user(&h, &http::Extensions::new()).await
        }
        let (_, session, _, _) = hyper_login(&a, idp, "ada@example.com", "/saml/login").await;
        assert_eq!(
            user(&b, &session).await.as_deref(),
            Some("ada@example.com"),
            "{label}"
        );
        // The IdP's LogoutRequest reaches the second instance; the session ends on the first.
        let mut h = http::HeaderMap::new();
        h.insert("cookie", session.parse().unwrap());
        let ext = http::Extensions::new();
        let cx = saml_sp::web::SessionContext::new(&h, &ext, a.settings(), chrono::Utc::now());
        let record = a
            .sessions()
            .peek(cx)
            .await
            .expect("the session's SAML record");
        let (_, b64) = idp
            .logout_request_post(&record, &format!("{BASE}/saml/slo"), chrono::Utc::now())
            .unwrap();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLRequest", &b64)
            .finish();
        let r = serve(&b, hyper_req("POST", "/saml/slo", &body, None), peer)
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{label}");
        assert_eq!(user(&a, &session).await, None, "{label}: ended everywhere");
        // Another login, signed out on the second instance: gone on the first.
        let (_, session, _, _) = hyper_login(&a, idp, "bob@example.com", "/saml/login").await;
        assert_eq!(user(&b, &session).await.as_deref(), Some("bob@example.com"));
        let r = serve(
            &b,
            hyper_req("POST", "/saml/logout", "", Some(&session)),
            peer,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(user(&a, &session).await, None, "{label}");
    }

    let idp = idp();
    let sp_key = saml_sp::testkit::generate_key("sp", chrono::Utc::now()).unwrap();
    // SQLite: one file, two pools.
    let path = sqlite_path("sessions");
    let pair = {
        let mut out = Vec::new();
        for _ in 0..2 {
            let store = saml_sp::store::sqlite::SqliteStore::open(&path)
                .await
                .unwrap();
            let sessions = Arc::new(SqliteSessions::<String>::new(store.pool().clone()));
            out.push(slo_web_on(
                &idp,
                &sp_key.key,
                Arc::new(store.clone()),
                Arc::new(store),
                sessions,
            ));
        }
        let b = out.pop().unwrap();
        (out.pop().unwrap(), b)
    };
    check("sqlite", pair, &idp).await;
    // A session left behind lasts 12 hours at most; then clean-up removes its row.
    let store = saml_sp::store::sqlite::SqliteStore::open(&path)
        .await
        .unwrap();
    let sessions = Arc::new(SqliteSessions::<String>::new(store.pool().clone()));
    let web = slo_web_on(
        &idp,
        &sp_key.key,
        Arc::new(store.clone()),
        Arc::new(store),
        sessions.clone(),
    );
    hyper_login(&web, &idp, "carol@example.com", "/saml/login").await;
    let now = chrono::Utc::now();
    assert_eq!(sessions.cleanup(now, 100).await.unwrap(), 0);
    let later = now + chrono::Duration::hours(12) + chrono::Duration::seconds(5);
    assert_eq!(
        sessions.cleanup(later, 100).await.unwrap(),
        1,
        "expired rows go"
    );
    let Some(url) = pg_database("sessions").await else {
        return;
    };
    let mut out = Vec::new();
    for _ in 0..2 {
        let store = saml_sp::store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        let sessions = Arc::new(PgSessions::<String>::new(store.pool().clone()));
        out.push(slo_web_on(
            &idp,
            &sp_key.key,
            Arc::new(store.clone()),
            Arc::new(store),
            sessions,
        ));
    }
    let b = out.pop().unwrap();
    let a = out.pop().unwrap();
    check("postgres", (a, b), &idp).await;
    // The table keeps a digest of the cookie token, never the token.
    let store = saml_sp::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    let sessions = Arc::new(PgSessions::<String>::new(store.pool().clone()));
    let web = slo_web_on(
        &idp,
        &sp_key.key,
        Arc::new(store.clone()),
        Arc::new(store),
        sessions,
    );
    let (_, session, _, _) = hyper_login(&web, &idp, "carol@example.com", "/saml/login").await;
    let token = session.split_once('=').unwrap().1.to_owned();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let digests: Vec<String> = sqlx::query_scalar("SELECT token_sha256 FROM saml_web_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert!(digests[0].len() == 64 && digests[0] != token);
}

/// Issue 33: the built-in chooser mounted by the web layer: search, choose (the login starts at
/// the tenant whose IdP it is, the choice remembered and listed first next time), and a choice
/// the chooser does not list refused.
#[tokio::test]
async fn the_built_in_chooser_lists_searches_and_starts_the_chosen_login() {
    use saml_sp::{IdpRegistry, SpSettings, TenantConfig};
    let uni_a = TestIdp::fixed("https://idp.uni-a.example/idp");
    let uni_b = TestIdp::fixed("https://idp.uni-b.example/idp");
    let registry = Arc::new(IdpRegistry::new(
        SpSettings::new(
            format!("{BASE}/saml/{{tenant}}/metadata"),
            format!("{BASE}/saml/{{tenant}}/acs"),
        )
        .unwrap(),
    ));
    let mut metadata = Vec::new();
    for (slug, idp) in [("uni-a", &uni_a), ("uni-b", &uni_b)] {
        let md = idp.metadata_xml(&format!("https://{slug}.example/sso"));
        registry
            .insert(
                TenantConfig::from_idp_metadata(slug, md.as_bytes(), chrono::Utc::now()).unwrap(),
            )
            .unwrap();
        metadata.push(saml_sp::metadata::IdpMetadata::parse(md.as_bytes(), None).unwrap());
    }
    let acs = saml_sp::Acs::new(
        registry,
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(users as Users),
    );
    let web: TestWeb = SamlWeb::new(
        Arc::new(acs),
        Arc::new(saml_sp::web::MemorySessions::default()),
        WebSettings::multi_tenant(),
    )
    .with_chooser(Arc::new(saml_sp::login::Chooser::new(metadata.iter())));
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let get = |uri: &str, cookie: Option<&str>| {
        let mut r = http::Request::get(uri);
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.body(Vec::new()).unwrap()
    };
    let page = web.handle(get("/saml/discover?q=uni-b", None), peer).await;
    assert_eq!(page.status(), 200);
    let body = page.body().clone();
    assert!(
        body.contains("entityID=https%3A%2F%2Fidp.uni-b.example%2Fidp"),
        "{body}"
    );
    assert!(!body.contains("uni-a.example"), "{body}");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("img-src https: data:")
    );
    // Choosing: the login starts at uni-b's route, and the choice is remembered.
    let chose = web
        .handle(
            get(
                "/saml/discover?entityID=https%3A%2F%2Fidp.uni-b.example%2Fidp",
                None,
            ),
            peer,
        )
        .await;
    assert_eq!(chose.status(), 303);
    assert_eq!(chose.headers()["location"], "/saml/uni-b/login");
    let cookie = chose.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("saml_idp="), "{cookie}");
    let page = web.handle(get("/saml/discover", Some(&cookie)), peer).await;
    let body = page.body();
    let b = body.find("idp.uni-b.example").unwrap();
    let a = body.find("idp.uni-a.example").unwrap();
    assert!(b < a, "the last choice first: {body}");
    // Not listed: refused.
    let refused = web
        .handle(
            get(
                "/saml/discover?entityID=https%3A%2F%2Fevil.example%2Fidp",
                None,
            ),
            peer,
        )
        .await;
    assert_ne!(refused.status(), 303);
    assert!(
        refused.body().contains("unknown_tenant"),
        "{}",
        refused.body()
    );
}

/// Issue 33, step-up through the web layer: a session from a password login does not satisfy
/// the "mfa" requirement; `login?step_up=mfa` asks the IdP for MFA, a password-only answer is
/// refused, an MFA answer gives a session that satisfies it.
#[tokio::test]
async fn a_route_requiring_mfa_steps_up_through_the_web_layer() {
    use saml_sp::login::{OKTA_2FA, StepUp};
    use saml_sp::tenant::IdpPreset;
    let idp = idp();
    let registry = saml_sp::IdpRegistry::new(
        saml_sp::SpSettings::new(format!("{BASE}/saml/metadata"), format!("{BASE}/saml/acs"))
            .unwrap(),
    );
    registry
        .insert(
            saml_sp::TenantConfig::from_idp_metadata(
                "default",
                idp.metadata_xml("https://idp.example.com/sso").as_bytes(),
                chrono::Utc::now(),
            )
            .unwrap(),
        )
        .unwrap();
    let acs = saml_sp::Acs::new(
        Arc::new(registry),
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
        saml_sp::login::ProvisionFn(users as Users),
    );
    let web: TestWeb = SamlWeb::new(
        Arc::new(acs),
        Arc::new(saml_sp::web::MemorySessions::default()),
        WebSettings::single_tenant("default").step_up(
            "mfa",
            StepUp::mfa(Some(IdpPreset::Okta)).max_age(chrono::Duration::minutes(5)),
        ),
    );
    let peer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    // One login through the web layer, answered with `class_ref`; the session cookie, or the
    // refusal's code.
    let sign_in = |login_uri: &'static str, class_ref: &'static str| {
        let web = &web;
        let idp = &idp;
        async move {
            let r = web
                .handle(
                    http::Request::get(login_uri).body(Vec::new()).unwrap(),
                    peer,
                )
                .await;
            assert_eq!(r.status(), 303);
            let login = login_cookie(r.headers());
            let url = r.headers()["location"].to_str().unwrap().to_owned();
            let m = saml_sp::binding::decode_redirect(&url, &Default::default()).unwrap();
            let request = String::from_utf8(m.xml).unwrap();
            let doc = saml_sp::xml::Document::parse(request.as_bytes()).unwrap();
            let response = idp
                .response(
                    &format!("{BASE}/saml/metadata"),
                    &format!("{BASE}/saml/acs"),
                )
                .in_response_to(doc.root().attribute("ID").unwrap())
                .user(TestUser::new("ada@example.com"))
                .authn_context(class_ref)
                .build_base64(chrono::Utc::now())
                .unwrap();
            let body = acs_body(&response, m.relay_state.as_deref().unwrap());
            let r = web
                .handle(
                    http::Request::post("/saml/acs")
                        .header("cookie", &login)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.into_bytes())
                        .unwrap(),
                    peer,
                )
                .await;
            let result = match r.status().as_u16() {
                303 => Ok(r.headers()["set-cookie"]
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_owned()),
                _ => Err(r
                    .body()
                    .split("id=\"code\">")
                    .nth(1)
                    .unwrap_or("")
                    .split('<')
                    .next()
                    .unwrap_or("")
                    .to_owned()),
            };
            (request, result)
        }
    };
    let headers = |cookie: &str| {
        let mut h = http::HeaderMap::new();
        h.insert("cookie", cookie.parse().unwrap());
        h
    };
    let ext = http::Extensions::new();
    let (request, session) = sign_in(
        "/saml/login",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    )
    .await;
    assert!(!request.contains("RequestedAuthnContext"));
    let session = session.unwrap();
    assert!(
        !web.satisfies(&headers(&session), &ext, "mfa").await,
        "a password session is not MFA"
    );
    // Step up: the IdP is asked for MFA; a password-only answer is refused.
    let (request, refused) = sign_in(
        "/saml/login?step_up=mfa",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    )
    .await;
    assert!(
        request.contains("urn:okta:loa:2fa:any") && request.contains("ForceAuthn=\"true\""),
        "{request}"
    );
    assert_eq!(refused.unwrap_err(), "authn_context_mismatch");
    let (_, stepped) = sign_in("/saml/login?step_up=mfa", OKTA_2FA).await;
    let stepped = stepped.unwrap();
    assert!(web.satisfies(&headers(&stepped), &ext, "mfa").await);
    assert!(
        !web.satisfies(&headers(&stepped), &ext, "no-such-requirement")
            .await
    );
    // An unknown requirement name is refused, not ignored.
    let r = web
        .handle(
            http::Request::get("/saml/login?step_up=admin")
                .body(Vec::new())
                .unwrap(),
            peer,
        )
        .await;
    assert_ne!(r.status(), 303);
}
