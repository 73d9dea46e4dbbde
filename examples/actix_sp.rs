//! The demo SP on actix-web 4 (the same app as `axum_sp`): sign-in through SAML, SQLite users,
//! SP metadata, Single Logout, and the test IdP under `/test-idp/` when no IdP is configured.
//!
//! ```text
//! cargo run --example actix_sp     # then open http://127.0.0.1:8080/
//! ```
//!
//! Settings as in `axum_sp`. The SAML part is the `web` layer's actix adapter (`configure_fn`);
//! `demo/` holds the pages, the users table and the test IdP.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use saml_sp::web::actix::configure_fn;

#[path = "demo/mod.rs"]
mod demo;

/// Everything but /saml/*: the home page and the test IdP.
async fn pages(demo: web::Data<Arc<demo::Demo>>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let mut r = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (k, v) in req.headers() {
        r = r.header(k.as_str(), v.as_bytes());
    }
    let Ok(r) = r.body(body.to_vec()) else {
        return HttpResponse::BadRequest().finish();
    };
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let reply = demo::page(&demo, r, peer).await;
    let mut out = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(reply.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (k, v) in reply.headers() {
        out.insert_header((k.as_str(), v.as_bytes()));
    }
    out.body(reply.into_body())
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = Arc::new(demo::setup("actix-web").await?);
    let port = demo.port;
    let saml = configure_fn(demo.web.clone());
    actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(web::Data::new(demo.clone()))
            .configure(saml())
            .app_data(web::PayloadConfig::new(1 << 20))
            .default_service(web::to(pages))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
