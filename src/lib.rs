#![doc = "saml-sp: a pure-Rust SAML 2.0 Service Provider."]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod c14n;
pub mod xml;
