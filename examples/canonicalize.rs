//! Parses an XML file with saml-sp's hardened parser and prints the exclusive canonical form of
//! the element with the given `ID` (default: the document element).
//!
//! ```text
//! cargo run --example canonicalize -- tests/data/sample.xml [ID]
//! ```

use std::process::ExitCode;

use saml_sp::c14n::{Algorithm, Subset, canonicalize_to_vec};
use saml_sp::xml::Document;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: canonicalize <FILE> [ID]");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let doc = match Document::parse(&bytes) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("refused ({}): {e}", e.code());
            return ExitCode::from(1);
        }
    };
    let apex = match args.next() {
        Some(id) => match doc.element_by_id(&id) {
            Some(e) => e,
            None => {
                eprintln!("no element with ID {id:?}");
                return ExitCode::from(1);
            }
        },
        None => doc.root(),
    };
    let subset = Subset::Element {
        apex: apex.id(),
        exclude: None,
    };
    match canonicalize_to_vec(&doc, subset, Algorithm::Exclusive, &[]) {
        Ok(out) => {
            println!("{}", String::from_utf8_lossy(&out));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
