//! Single sign-on in an actix-web app from one IdP metadata file (Okta, Entra ID, ...):
//! `SAML_IDP_METADATA=idp.xml cargo run --example minimal_actix`, then open http://127.0.0.1:8080/.
//! Give the IdP `<base>/saml/metadata` (or its contents) as the SP; `PORT` and `SAML_SP_BASE_URL`
//! as in the demo apps. Dependencies: saml-sp (feature `actix`), actix-web (feature `macros`).

use std::sync::Arc;

use actix_web::web::{Html, get};
use actix_web::{App, HttpServer};
use saml_sp::login::SamlIdentity;
use saml_sp::web::SamlWeb;
use saml_sp::web::actix::{SignedIn, configure_fn};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT").unwrap_or("8080".into()).parse()?;
    let base = std::env::var("SAML_SP_BASE_URL").unwrap_or(format!("http://127.0.0.1:{port}"));
    // The app's user for a verified identity: here the email (an app upserts its user table).
    let users = |_tenant: String, id: SamlIdentity| async move { Ok(id.email) };
    let web = SamlWeb::from_idp_metadata_file(&base, std::env::var("SAML_IDP_METADATA")?, users)?;
    let saml = configure_fn(Arc::new(web));
    let server = HttpServer::new(move || App::new().configure(saml()).route("/", get().to(home)));
    Ok(server.bind(("127.0.0.1", port))?.run().await?)
}

async fn home(user: Option<SignedIn<String>>) -> Html {
    Html::new(match user {
        Some(SignedIn(email)) => format!("<p id=\"who\">{}</p>", saml_sp::xml::escape_text(&email)),
        None => r#"<a id="sign-in" href="/saml/login">Sign in with SSO</a>"#.into(),
    })
}
