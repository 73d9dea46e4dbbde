//! A complete SP web app on actix-web 4: sign-in through SAML, users provisioned just in time into
//! SQLite, a session cookie, SP metadata, logout. With no IdP configured, saml-sp's test IdP is
//! mounted under `/test-idp/`:
//!
//! ```text
//! cargo run --example actix_sp     # then open http://127.0.0.1:8080/
//! ```
//!
//! Settings: `PORT` (8080), `SAML_SP_BASE_URL`, `SAML_IDP_METADATA`, `SAML_ALLOW_IDP_INITIATED=1`,
//! `SAML_REDIS_URL` (with `--features redis`).

use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, web};
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

async fn saml_login(app: web::Data<App>, q: web::Query<LoginQuery>) -> HttpResponse {
    let start = demo::start_login(&app.acs, q.email.as_deref()).await;
    match start {
        // A redirect, or the auto-submitting POST page under its CSP for a POST-only IdP.
        Ok(s) => {
            let r = saml_sp::web::navigate(&s.navigation);
            let mut out = HttpResponse::build(
                actix_web::http::StatusCode::from_u16(r.status().as_u16())
                    .unwrap_or(actix_web::http::StatusCode::SEE_OTHER),
            );
            for (k, v) in r.headers() {
                if let Ok(v) = v.to_str() {
                    out.insert_header((k.as_str(), v));
                }
            }
            out.body(r.into_body())
        }
        Err(e) => error_page(&e),
    }
}

async fn saml_acs(app: web::Data<App>, req: HttpRequest, form: web::Form<AcsForm>) -> HttpResponse {
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let ctx = AuditContext::new().with("ip", ip);
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
            HttpResponse::SeeOther()
                .insert_header((
                    SET_COOKIE,
                    format!("sid={sid}; HttpOnly; SameSite=Lax; Path=/{secure}"),
                ))
                .insert_header((LOCATION, done.return_to))
                .finish()
        }
        Err(e) => error_page(&e),
    }
}

async fn saml_metadata(app: web::Data<App>) -> HttpResponse {
    let xml = demo::sp_metadata(&app.base).unwrap_or_default();
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/samlmetadata+xml"))
        .body(xml)
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

async fn test_idp_pages(app: web::Data<App>, req: HttpRequest, body: String) -> HttpResponse {
    let Some(idp) = app.test_idp.as_ref() else {
        return HttpResponse::NotFound().finish();
    };
    let method = req.method().as_str();
    let page = match (method, req.path()) {
        ("GET", "/test-idp/sso") => idp.sso_page(req.query_string(), "/test-idp/login"),
        ("POST", "/test-idp/sso") => idp.sso_page(&body, "/test-idp/login"),
        ("POST", "/test-idp/login") => idp.login_submit(&body, chrono::Utc::now()),
        ("GET", "/test-idp/initiate") => Ok(idp.idp_initiated(
            &format!("{}/saml/metadata", app.base),
            &format!("{}/saml/acs", app.base),
            "/test-idp/login",
        )),
        ("GET", "/test-idp/metadata") => {
            Ok(idp.metadata_xml(&format!("{}/test-idp/sso", app.base)))
        }
        ("GET", "/test-idp/slo") => idp.slo_page(
            req.query_string(),
            &format!("{}/saml/slo", app.base),
            chrono::Utc::now(),
        ),
        ("GET", "/test-idp/logout") => Ok(idp.logout_form("/test-idp/logout")),
        ("POST", "/test-idp/logout") => {
            idp.logout_submit(&body, &format!("{}/saml/slo", app.base), chrono::Utc::now())
        }
        _ => return HttpResponse::NotFound().finish(),
    };
    match page {
        Ok(h) => html(StatusCode::OK, h),
        Err(e) => error_page(&e),
    }
}

// -------------------------------------------------------------- the app: pages, sessions, users

async fn home(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let user = cookie_value(&req, "sid")
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
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>saml-sp actix-web demo</title></head><body><h1>saml-sp actix-web demo</h1>{}{body}</body></html>",
            demo::banner(app.test_idp.is_some())
        ),
    )
}

fn audit_context(req: &HttpRequest) -> AuditContext {
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    AuditContext::new().with("ip", ip)
}

async fn logout(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let sid = cookie_value(&req, "sid");
    let to = demo::logout(
        &app.acs,
        &app.sessions,
        sid.as_deref(),
        &audit_context(&req),
    )
    .await;
    HttpResponse::SeeOther()
        .insert_header((
            SET_COOKIE,
            "sid=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        ))
        .insert_header((LOCATION, to))
        .finish()
}

async fn slo(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let ctx = audit_context(&req);
    match demo::single_logout(&app.acs, &app.sessions, req.query_string(), &ctx).await {
        Ok(to) => HttpResponse::SeeOther()
            .insert_header((LOCATION, to))
            .finish(),
        Err(e) => error_page(&e),
    }
}

fn error_page(e: &Error) -> HttpResponse {
    let status = StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::FORBIDDEN);
    html(status, demo::error_html(e))
}

fn html(code: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(code)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body)
}

fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    let raw = req
        .headers()
        .get(actix_web::http::header::COOKIE)?
        .to_str()
        .ok()?;
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

#[actix_web::main]
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
    let app = web::Data::new(App {
        acs,
        db,
        sessions: demo::Sessions::default(),
        base: base.clone(),
        test_idp,
    });
    println!("saml-sp actix-web demo on {base}/ (SP metadata: {base}/saml/metadata)");
    actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(app.clone())
            // A real ACS POST (Entra/ADFS with many groups) exceeds actix's 16 KiB default.
            .app_data(web::FormConfig::default().limit(1 << 20))
            .route("/", web::get().to(home))
            .route("/saml/login", web::get().to(saml_login))
            .route("/saml/acs", web::post().to(saml_acs))
            .route("/saml/metadata", web::get().to(saml_metadata))
            .route("/logout", web::post().to(logout))
            .route("/saml/slo", web::get().to(slo))
            .default_service(web::to(test_idp_pages))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
