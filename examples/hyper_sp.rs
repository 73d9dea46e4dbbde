//! A complete SP web app on hyper 1.x (no framework): sign-in through SAML, users provisioned just
//! in time into SQLite, a session cookie, SP metadata, logout. With no IdP configured, saml-sp's
//! test IdP is mounted under `/test-idp/`:
//!
//! ```text
//! cargo run --example hyper_sp     # then open http://127.0.0.1:8080/
//! ```
//!
//! Settings: `PORT` (8080), `SAML_SP_BASE_URL`, `SAML_IDP_METADATA`, `SAML_ALLOW_IDP_INITIATED=1`,
//! `SAML_REDIS_URL` (with `--features redis`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use saml_sp::login::AuditContext;
use saml_sp::login::{ProvisionError, Provisioner, SamlIdentity};
use saml_sp::testkit::TestIdp;
use saml_sp::xml::escape_text as esc;
use saml_sp::{Acs, Error};

#[path = "demo/mod.rs"]
mod demo;
use demo::{TENANT, build_registry};
type Reply = Response<Full<Bytes>>;

// ---------------------------------------------------------------- SAML-specific: routes + config

struct App {
    acs: Acs<Db>,
    db: Db,
    sessions: demo::Sessions,
    base: String,
    test_idp: Option<TestIdp>,
}

async fn route(
    app: Arc<App>,
    peer: std::net::SocketAddr,
    req: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let cookie = parts
        .headers
        .get(COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // The ACS body is at most a few hundred KiB: refuse anything larger before reading it.
    let Ok(body) = Limited::new(body, 1 << 20)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        return Ok(status(StatusCode::PAYLOAD_TOO_LARGE));
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    // Form and query decoding is the `form_urlencoded` crate's job (linear in the input).
    let field = |name: &str, src: &str| {
        form_urlencoded::parse(src.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    Ok(match (parts.method, parts.uri.path()) {
        (Method::GET, "/") => html(StatusCode::OK, home(&app, &cookie)),
        (Method::GET, "/saml/login") => {
            let start = demo::start_login(&app.acs, field("email", &query).as_deref()).await;
            match start {
                // A redirect, or the auto-submitting POST page under its CSP.
                Ok(s) => saml_sp::web::navigate(&s.navigation).map(|b| Full::new(Bytes::from(b))),
                Err(e) => error_page(&e),
            }
        }
        (Method::POST, "/saml/acs") => {
            // The audit address is the connection's peer, never a client-supplied header.
            let ctx = AuditContext::new().with("ip", peer.ip().to_string());
            let response = field("SAMLResponse", &body).unwrap_or_default();
            match app
                .acs
                .finish_login(
                    TENANT,
                    &response,
                    field("RelayState", &body).as_deref(),
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
                    redirect(
                        &done.return_to,
                        Some(format!("sid={sid}; HttpOnly; SameSite=Lax; Path=/{secure}")),
                    )
                }
                Err(e) => error_page(&e),
            }
        }
        (Method::GET, "/saml/metadata") => {
            let xml = demo::sp_metadata(&app.base).unwrap_or_default();
            with_type(StatusCode::OK, "application/samlmetadata+xml", xml)
        }
        (Method::POST, "/logout") => {
            let ctx = AuditContext::new().with("ip", peer.ip().to_string());
            let sid = cookie_value(&cookie, "sid");
            let to = demo::logout(&app.acs, &app.sessions, sid.as_deref(), &ctx).await;
            redirect(
                &to,
                Some("sid=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax".into()),
            )
        }
        (Method::GET, "/saml/slo") => {
            let ctx = AuditContext::new().with("ip", peer.ip().to_string());
            match demo::single_logout(&app.acs, &app.sessions, &query, &ctx).await {
                Ok(to) => redirect(&to, None),
                Err(e) => error_page(&e),
            }
        }
        (m, path) if path.starts_with("/test-idp/") => test_idp(&app, &m, path, &query, &body),
        _ => status(StatusCode::NOT_FOUND),
    })
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

fn test_idp(app: &App, method: &Method, path: &str, query: &str, body: &str) -> Reply {
    let Some(idp) = app.test_idp.as_ref() else {
        return status(StatusCode::NOT_FOUND);
    };
    let page = match (method, path) {
        (&Method::GET, "/test-idp/sso") => idp.sso_page(query, "/test-idp/login"),
        (&Method::POST, "/test-idp/sso") => idp.sso_page(body, "/test-idp/login"),
        (&Method::POST, "/test-idp/login") => idp.login_submit(body, chrono::Utc::now()),
        (&Method::GET, "/test-idp/initiate") => Ok(idp.idp_initiated(
            &format!("{}/saml/metadata", app.base),
            &format!("{}/saml/acs", app.base),
            "/test-idp/login",
        )),
        (&Method::GET, "/test-idp/slo") => {
            idp.slo_page(query, &format!("{}/saml/slo", app.base), chrono::Utc::now())
        }
        (&Method::GET, "/test-idp/logout") => Ok(idp.logout_form("/test-idp/logout")),
        (&Method::POST, "/test-idp/logout") => {
            idp.logout_submit(body, &format!("{}/saml/slo", app.base), chrono::Utc::now())
        }
        (&Method::GET, "/test-idp/metadata") => {
            Ok(idp.metadata_xml(&format!("{}/test-idp/sso", app.base)))
        }
        _ => return status(StatusCode::NOT_FOUND),
    };
    match page {
        Ok(h) => html(StatusCode::OK, h),
        Err(e) => error_page(&e),
    }
}

// -------------------------------------------------------------- the app: pages, sessions, users

fn home(app: &App, cookie: &str) -> String {
    let user = cookie_value(cookie, "sid")
        .and_then(|sid| app.sessions.user(&sid))
        .and_then(|id| app.db.get(id));
    let body = match user {
        Some((email, first, last, groups)) => format!(
            "<p id=\"who\">Signed in as {}</p><p id=\"name\">{} {}</p><p id=\"groups\">Groups: {}</p><form method=\"post\" action=\"/logout\"><button id=\"logout\">Sign out</button></form>",
            esc(&email),
            esc(&first),
            esc(&last),
            esc(&groups)
        ),
        None => "<form method=\"get\" action=\"/saml/login\"><label>Work email <input name=\"email\" id=\"email\"/></label> <button id=\"sign-in\">Sign in with SSO</button></form><p><a href=\"/test-idp/initiate\">IdP-initiated login (test IdP)</a></p>".to_owned(),
    };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>saml-sp hyper demo</title></head><body><h1>saml-sp hyper demo</h1>{}{body}</body></html>",
        demo::banner(app.test_idp.is_some())
    )
}

fn error_page(e: &Error) -> Reply {
    let status = StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::FORBIDDEN);
    html(status, demo::error_html(e))
}

fn with_type(code: StatusCode, content_type: &'static str, body: String) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    r
}

fn html(code: StatusCode, body: String) -> Reply {
    with_type(code, "text/html; charset=utf-8", body)
}

fn status(code: StatusCode) -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = code;
    r
}

fn redirect(to: &str, cookie: Option<String>) -> Reply {
    let mut r = status(StatusCode::SEE_OTHER);
    if let Ok(v) = hyper::header::HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    if let Some(c) = cookie.and_then(|c| hyper::header::HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(SET_COOKIE, c);
    }
    r
}

fn cookie_value(raw: &str, name: &str) -> Option<String> {
    raw.split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
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
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("saml-sp hyper demo on {base}/ (SP metadata: {base}/saml/metadata)");
    loop {
        let (stream, peer) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| route(app.clone(), peer, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}
