//! The README's architecture section matches the source tree (issue 14): every folder and every
//! file under src/ is named there, and every file it names exists.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

fn files(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
                .unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn readme_architecture_names_every_module_file() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("## Architecture")
        .expect("an Architecture section");
    let end = readme[start + 3..]
        .find("\n## ")
        .map_or(readme.len(), |i| start + 3 + i);
    let section = &readme[start..end];
    let mut all = Vec::new();
    files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut all,
    );
    assert!(all.len() > 40, "{all:?}");
    for f in &all {
        let (folder, name) = f.rsplit_once('/').unwrap_or(("", f.as_str()));
        if !folder.is_empty() && folder != "bin" {
            assert!(
                section.contains(&format!("{folder}/")),
                "folder {folder}/ not in the README"
            );
        }
        if name == "mod.rs" && folder != "store" || name == "lib.rs" {
            continue;
        }
        assert!(
            section.contains(name),
            "{f} not in the README's architecture section"
        );
    }
    // And every file the section names exists.
    for word in section.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '/'))
    {
        if let Some(name) = word.strip_suffix(".rs")
            && !name.is_empty()
        {
            let base = name.rsplit('/').next().unwrap();
            assert!(
                all.iter().any(|f| f.ends_with(&format!("{base}.rs"))),
                "the README names {word}, which is not in src/"
            );
        }
    }
}

/// Issue 28: the README's list of published advisories names, for each, a test that exists (so
/// the list cannot drift from the suite), and every `advisory_` test in the suite is listed.
#[test]
fn readme_advisory_list_names_existing_tests_and_every_advisory_test() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let mut listed = Vec::new();
    for cell in readme.split('`') {
        if let Some((file, name)) = cell.split_once("::")
            && file.starts_with("tests/")
            && name.starts_with("advisory_")
        {
            let source = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            assert!(
                source.contains(&format!("fn {name}(")),
                "the README lists {file}::{name}, which does not exist"
            );
            listed.push(name.to_owned());
        }
    }
    assert!(listed.len() >= 29, "{} advisories listed", listed.len());
    for entry in std::fs::read_dir(format!("{root}/tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for line in source.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("fn advisory_") {
                let name = format!("advisory_{}", rest.split('(').next().unwrap());
                assert!(
                    listed.contains(&name),
                    "{} has {name}, missing from the README's advisory list",
                    path.display()
                );
            }
        }
    }
}
