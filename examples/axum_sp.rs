//! A complete SP web app on axum 0.8: sign-in through SAML, users provisioned just in time into
//! SQLite, a session cookie, SP metadata, Single Logout. With no IdP configured, saml-sp's test
//! IdP is mounted under `/test-idp/` so the whole flow runs locally:
//!
//! ```text
//! cargo run --example axum_sp      # then open http://127.0.0.1:8080/
//! ```
//!
//! Settings: `PORT` (8080), `SAML_SP_BASE_URL` (`http://127.0.0.1:<port>`), `SAML_IDP_METADATA`
//! (an IdP metadata file: Okta, Entra ID, ...) or `SAML_IDP_METADATA_URL` (kept fresh),
//! `SAML_ALLOW_IDP_INITIATED=1`, `SAML_SP_KEY`/`SAML_SP_CERT`, `SAML_SP_DB`, `SAML_REDIS_URL`
//! (with `--features redis`). The SAML part is the `web` layer's axum adapter; `demo/` holds the
//! pages, the users table and the test IdP shared with the hyper and actix demos.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::IntoResponse;
use saml_sp::web::axum::router;

#[path = "demo/mod.rs"]
mod demo;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = Arc::new(demo::setup("axum").await?);
    let pages = {
        let demo = demo.clone();
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request| async move {
            // Everything but /saml/*: the home page and the test IdP.
            let (parts, body) = req.into_parts();
            let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
                return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
            };
            let req = axum::http::Request::from_parts(parts, body.to_vec());
            demo::page(&demo, req, peer.ip()).await.into_response()
        }
    };
    let app = Router::new()
        .merge(router(demo.web.clone()))
        .fallback(pages)
        .with_state(demo.web.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", demo.port)).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
