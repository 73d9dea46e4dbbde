//! Single sign-on in an axum app whose sessions live in tower-sessions (the app's own store:
//! memory here, Redis or SQL in production): `SAML_IDP_METADATA=idp.xml cargo run --example
//! tower_sessions_axum --features tower-sessions`, then open http://127.0.0.1:8080/.
//! Dependencies: saml-sp (feature `tower-sessions`), axum, tokio, tower-sessions.

use std::{net::SocketAddr, sync::Arc};

use axum::{Router, response::Html, routing::get};
use saml_sp::login::SamlIdentity;
use saml_sp::web::axum::{SignedIn, router};
use saml_sp::web::{SamlWeb, tower_sessions::TowerSessions};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT").unwrap_or("8080".into()).parse()?;
    let base = std::env::var("SAML_SP_BASE_URL").unwrap_or(format!("http://127.0.0.1:{port}"));
    let users = |_tenant: String, id: SamlIdentity| async move { Ok(id.email) };
    let web = SamlWeb::from_idp_metadata_file(&base, std::env::var("SAML_IDP_METADATA")?, users)?
        .with_sessions(TowerSessions::default());
    let web = Arc::new(web);
    // Lax, not tower-sessions' default Strict: the browser arrives from the IdP's site.
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(base.starts_with("https://"));
    let app = Router::new()
        .route("/", get(home))
        .merge(router(web.clone()))
        .layer(sessions)
        .with_state(web);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}

/// The signed-in email beside the app's own session data (a visit counter).
async fn home(user: Option<SignedIn<String>>, session: Session) -> Html<String> {
    let visits: u32 = session.get("visits").await.ok().flatten().unwrap_or(0) + 1;
    let _ = session.insert("visits", visits).await;
    Html(match user {
        Some(SignedIn(email)) => format!(
            "<p id=\"who\">{}</p><p>visit {visits}</p><form method=\"post\" action=\"/saml/logout\"><button>Sign out</button></form>",
            saml_sp::xml::escape_text(&email)
        ),
        None => format!(
            "<a id=\"sign-in\" href=\"/saml/login\">Sign in with SSO</a><p>visit {visits}</p>"
        ),
    })
}
