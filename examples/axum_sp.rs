//! A complete SP web app on axum 0.8: sign-in through SAML, users provisioned just in time into
//! SQLite, a session cookie, SP metadata, logout. With no IdP configured, saml-sp's test IdP is
//! mounted under `/test-idp/` so the whole flow runs locally:
//!
//! ```text
//! cargo run --example axum_sp      # then open http://127.0.0.1:8080/
//! ```
//!
//! Settings: `PORT` (8080), `SAML_SP_BASE_URL` (`http://127.0.0.1:<port>`), `SAML_IDP_METADATA`
//! (an IdP metadata file: Okta, Entra ID, ...), `SAML_ALLOW_IDP_INITIATED=1`, `SAML_REDIS_URL`
//! (with `--features redis`: share request and replay state between instances).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use saml_sp::login::AuditContext;
use saml_sp::login::{ProvisionError, Provisioner, SamlIdentity};
use saml_sp::testkit::TestIdp;
use saml_sp::xml::escape_text as esc;
use saml_sp::{Acs, Error};

#[path = "demo/mod.rs"]
mod demo;
use demo::{TENANT, build_registry};

// ---------------------------------------------------------------- SAML-specific: routes + config

struct App {
    acs: Acs<Db>,
    db: Db,
    sessions: demo::Sessions,
    base: String,
    test_idp: Option<TestIdp>,
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    email: Option<String>,
}

#[derive(serde::Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn login(State(app): State<Arc<App>>, Query(q): Query<LoginQuery>) -> Response {
    let start = demo::start_login(&app.acs, q.email.as_deref()).await;
    match start {
        // A redirect, or the auto-submitting POST page under its CSP for a POST-only IdP.
        Ok(s) => saml_sp::web::navigate(&s.navigation).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn acs_post(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<AcsForm>,
) -> Response {
    // The audit address is the connection's peer: X-Forwarded-For is whatever the client wrote
    // unless a proxy you run sets it.
    let ctx = AuditContext::new().with("ip", peer.ip().to_string());
    match app
        .acs
        .finish_login(
            TENANT,
            &form.saml_response,
            form.relay_state.as_deref(),
            &ctx,
        )
        .await
    {
        Ok(done) => {
            let saml = saml_sp::logout::SessionRecord::from_assertion(&done.assertion);
            let sid = app.sessions.create(done.user, saml);
            let secure = if app.base.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!("sid={sid}; HttpOnly; SameSite=Lax; Path=/{secure}");
            (
                [(header::SET_COOKIE, cookie)],
                Redirect::to(&done.return_to),
            )
                .into_response()
        }
        Err(e) => error_page(&e),
    }
}

async fn metadata(State(app): State<Arc<App>>) -> Response {
    let xml = demo::sp_metadata(&app.base).unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response()
}

type Stores = (
    Arc<dyn saml_sp::store::RequestStore>,
    Arc<dyn saml_sp::store::ReplayCache>,
);

async fn stores() -> Result<Stores, saml_sp::store::StoreError> {
    #[cfg(feature = "redis")]
    if let Ok(url) = std::env::var("SAML_REDIS_URL") {
        let s = saml_sp::store::redis::RedisStore::connect(&url, "saml-sp-demo:").await?;
        return Ok((Arc::new(s.clone()), Arc::new(s)));
    }
    Ok((
        Arc::new(saml_sp::store::MemoryRequestStore::default()),
        Arc::new(saml_sp::store::MemoryReplayCache::default()),
    ))
}

// ------------------------------------------------------------------- the test IdP, mounted here

async fn idp_sso_get(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    idp_page(&app, |idp| {
        idp.sso_page(&q.unwrap_or_default(), "/test-idp/login")
    })
}
async fn idp_sso_post(State(app): State<Arc<App>>, body: String) -> Response {
    idp_page(&app, |idp| idp.sso_page(&body, "/test-idp/login"))
}
async fn idp_login(State(app): State<Arc<App>>, body: String) -> Response {
    idp_page(&app, |idp| idp.login_submit(&body, chrono::Utc::now()))
}
async fn idp_initiate(State(app): State<Arc<App>>) -> Response {
    let base = app.base.clone();
    idp_page(&app, |idp| {
        Ok(idp.idp_initiated(
            &format!("{base}/saml/metadata"),
            &format!("{base}/saml/acs"),
            "/test-idp/login",
        ))
    })
}
async fn idp_slo(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    let slo = format!("{}/saml/slo", app.base);
    idp_page(&app, |idp| {
        idp.slo_page(&q.unwrap_or_default(), &slo, chrono::Utc::now())
    })
}
async fn idp_logout_form(State(app): State<Arc<App>>) -> Response {
    idp_page(&app, |idp| Ok(idp.logout_form("/test-idp/logout")))
}
async fn idp_logout(State(app): State<Arc<App>>, body: String) -> Response {
    let slo = format!("{}/saml/slo", app.base);
    idp_page(&app, |idp| {
        idp.logout_submit(&body, &slo, chrono::Utc::now())
    })
}
async fn idp_metadata(State(app): State<Arc<App>>) -> Response {
    let sso = format!("{}/test-idp/sso", app.base);
    idp_page(&app, |idp| Ok(idp.metadata_xml(&sso)))
}
fn idp_page(app: &App, f: impl FnOnce(&TestIdp) -> Result<String, Error>) -> Response {
    match app.test_idp.as_ref().map(f) {
        Some(Ok(html)) => Html(html).into_response(),
        Some(Err(e)) => error_page(&e),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// -------------------------------------------------------------- the app: pages, sessions, users

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Html<String> {
    let user = session(&app, &headers).and_then(|id| app.db.get(id));
    let body = match user {
        Some((email, first, last, groups)) => format!(
            "<p id=\"who\">Signed in as {}</p><p id=\"name\">{} {}</p><p id=\"groups\">Groups: {}</p><form method=\"post\" action=\"/logout\"><button id=\"logout\">Sign out</button></form>",
            esc(&email), esc(&first), esc(&last), esc(&groups)
        ),
        None => "<form method=\"get\" action=\"/saml/login\"><label>Work email <input name=\"email\" id=\"email\"/></label> <button id=\"sign-in\">Sign in with SSO</button></form><p><a href=\"/test-idp/initiate\">IdP-initiated login (test IdP)</a></p>".to_owned(),
    };
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>saml-sp axum demo</title></head><body><h1>saml-sp axum demo</h1>{}{body}</body></html>",
        demo::banner(app.test_idp.is_some())
    ))
}

async fn logout(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let ctx = AuditContext::new().with("ip", peer.ip().to_string());
    let sid = cookie(&headers, "sid");
    let to = demo::logout(&app.acs, &app.sessions, sid.as_deref(), &ctx).await;
    (
        [(
            header::SET_COOKIE,
            "sid=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        )],
        Redirect::to(&to),
    )
        .into_response()
}

async fn slo(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = AuditContext::new().with("ip", peer.ip().to_string());
    match demo::single_logout(&app.acs, &app.sessions, &q.unwrap_or_default(), &ctx).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => error_page(&e),
    }
}

fn error_page(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::FORBIDDEN);
    (status, Html(demo::error_html(e))).into_response()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn session(app: &App, headers: &HeaderMap) -> Option<i64> {
    app.sessions.user(&cookie(headers, "sid")?)
}

/// Users in SQLite (in memory unless `SAML_SP_DB` names a file).
#[derive(Clone)]
struct Db(Arc<Mutex<rusqlite::Connection>>);

impl Db {
    fn open() -> rusqlite::Result<Db> {
        let conn = rusqlite::Connection::open(
            std::env::var("SAML_SP_DB").unwrap_or_else(|_| ":memory:".into()),
        )?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL, first_name TEXT, last_name TEXT, groups_csv TEXT, UNIQUE (tenant, email));")?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }
    fn get(&self, id: i64) -> Option<(String, String, String, String)> {
        let conn = self.0.lock().ok()?;
        conn.query_row(
            "SELECT email, first_name, last_name, groups_csv FROM users WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .ok()
    }
}

impl Provisioner for Db {
    type User = i64;
    async fn upsert(&self, tenant: &str, id: &SamlIdentity) -> Result<i64, ProvisionError> {
        let conn = self
            .0
            .lock()
            .map_err(|_| ProvisionError("database lock poisoned".into()))?;
        conn.query_row(
            "INSERT INTO users (tenant, email, first_name, last_name, groups_csv) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, groups_csv = excluded.groups_csv RETURNING id",
            (tenant, &id.email, &id.first_name, &id.last_name, id.groups.join(", ")),
            |r| r.get(0),
        )
        .map_err(|e| ProvisionError(e.to_string()))
    }
    async fn find(&self, tenant: &str, id: &SamlIdentity) -> Result<Option<i64>, ProvisionError> {
        let conn = self
            .0
            .lock()
            .map_err(|_| ProvisionError("database lock poisoned".into()))?;
        match conn.query_row(
            "SELECT id FROM users WHERE tenant = ?1 AND email = ?2",
            (tenant, &id.email),
            |r| r.get(0),
        ) {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(ProvisionError(e.to_string())),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let base =
        std::env::var("SAML_SP_BASE_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"));
    let (registry, test_idp) = build_registry(&base).await?;
    let db = Db::open()?;
    let (requests, replay) = stores().await?;
    let acs = Acs::new(registry, requests, replay, db.clone());
    let app = Arc::new(App {
        acs,
        db,
        sessions: demo::Sessions::default(),
        base: base.clone(),
        test_idp,
    });
    let router = Router::new()
        .route("/", get(home))
        .route("/saml/login", get(login))
        .route(
            "/saml/acs",
            // Real responses with many groups run to hundreds of KiB.
            post(acs_post).layer(DefaultBodyLimit::max(1 << 20)),
        )
        .route("/saml/metadata", get(metadata))
        .route("/logout", post(logout))
        .route("/saml/slo", get(slo))
        .route("/test-idp/slo", get(idp_slo))
        .route("/test-idp/logout", get(idp_logout_form).post(idp_logout))
        .route("/test-idp/sso", get(idp_sso_get).post(idp_sso_post))
        .route("/test-idp/login", post(idp_login))
        .route("/test-idp/initiate", get(idp_initiate))
        .route("/test-idp/metadata", get(idp_metadata))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("saml-sp axum demo on {base}/ (SP metadata: {base}/saml/metadata)");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
