//! The demo SP on hyper 1 (the same app as `axum_sp`): sign-in through SAML, SQLite users, SP
//! metadata, Single Logout, and the test IdP under `/test-idp/` when no IdP is configured.
//!
//! ```text
//! cargo run --example hyper_sp     # then open http://127.0.0.1:8080/
//! ```
//!
//! Settings as in `axum_sp`. The SAML part is the `web` layer's hyper adapter
//! (`saml_sp::web::hyper::serve` answers `/saml/*` and hands other requests back); `demo/` holds
//! the pages, the users table and the test IdP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

#[path = "demo/mod.rs"]
mod demo;

async fn route(
    demo: Arc<demo::Demo>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let req = match saml_sp::web::hyper::serve(&demo.web, req, peer.ip()).await {
        Ok(saml) => return Ok(saml),
        Err(other) => other,
    };
    // Everything but /saml/*: the home page and the test IdP.
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, 1 << 20).collect().await else {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return Ok(r);
    };
    let req = Request::from_parts(parts, body.to_bytes().to_vec());
    let reply = demo::page(&demo, req, peer.ip()).await;
    Ok(reply.map(|b| Full::new(Bytes::from(b))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = Arc::new(demo::setup("hyper").await?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", demo.port)).await?;
    loop {
        let (stream, peer) = listener.accept().await?;
        let demo = demo.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| route(demo.clone(), peer, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}
