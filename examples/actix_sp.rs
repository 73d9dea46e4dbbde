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
use saml_sp::web::actix::{configure_fn, from_http, to_http};

#[path = "demo/mod.rs"]
mod demo;

/// Everything but /saml/*: the home page and the test IdP.
async fn pages(demo: web::Data<Arc<demo::Demo>>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let Some(r) = to_http(&req, &body) else {
        return HttpResponse::BadRequest().finish();
    };
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    from_http(demo::page(&demo, r, peer).await)
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
