//! The structure is kept true by tests: docs/architecture.md names every folder and file under
//! src/ and only files that exist (issue 14); imports only look down (issue 29); the README's
//! advisory list names real tests (issue 28).

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
fn architecture_doc_names_every_module_file() {
    let section =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/architecture.md"))
            .unwrap();
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
        assert!(section.contains(name), "{f} not in docs/architecture.md");
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
                "docs/architecture.md names {word}, which is not in src/"
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
    let mut sources = Vec::new();
    for group in std::fs::read_dir(format!("{root}/tests")).unwrap() {
        let group = group.unwrap().path();
        if group.is_dir() {
            for entry in std::fs::read_dir(&group).unwrap() {
                sources.push(entry.unwrap().path());
            }
        }
    }
    for path in sources {
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

/// Issue 29: imports only look down. Each top-level module has a layer; code in one (comments
/// and doc text aside) may name `crate::x` only for a module `x` on its own layer or below.
#[test]
fn no_module_imports_a_higher_layer() {
    // Lowest first: the XML tree, errors, primitives, signatures and bindings, encryption, the
    // SP's checks, the messages, metadata, tenants, the login flow and metadata kept fresh, the
    // web endpoints and the test IdP, then what only tests and tools use.
    const LAYERS: &[&[&str]] = &[
        &["xml", "ns"],
        &["error", "telemetry"],
        &["time", "crypto", "store"],
        &["binding", "dsig"],
        &["xmlenc", "hsm"],
        &["sp"],
        &["logout", "metadata"],
        &["tenant"],
        &["login", "refresh"],
        &["profile", "ops"],
        &["web", "testkit"],
        &["fuzzing"],
    ];
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut all = Vec::new();
    files(Path::new(root), &mut all);
    let mut upward = Vec::new();
    for rel in &all {
        let module = rel.split(['/', '.']).next().unwrap();
        if matches!(module, "lib" | "bin") {
            continue;
        }
        let Some(own) = layer(module) else {
            panic!("src/{rel}: module {module} has no layer in this test");
        };
        let source = std::fs::read_to_string(format!("{root}/{rel}")).unwrap();
        for (n, line) in source.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for part in line.split("crate::").skip(1) {
                let target: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if let Some(t) = layer(&target)
                    && t > own
                {
                    upward.push(format!("src/{rel}:{}: {module} -> {target}", n + 1));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up a layer:\n{}",
        upward.join("\n")
    );
}

/// Issue 29: no import circle between files. Each file's `crate::a::b` and `super::b` paths are
/// resolved to the file that defines `a::b` (a module's `mod.rs` is its face: the edges into it
/// are re-exports, not dependencies, and are left out); the graph must have no cycle.
#[test]
fn no_import_circle_between_files() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut all = Vec::new();
    files(Path::new(root), &mut all);
    let exists = |rel: &str| all.iter().any(|f| f == rel);
    // The file a module path (segments after `crate`) names, if it is a file of its own.
    let resolve = |segments: &[String]| -> Option<String> {
        for n in (1..=segments.len()).rev() {
            let base = segments[..n].join("/");
            for candidate in [format!("{base}.rs"), format!("{base}/mod.rs")] {
                if exists(&candidate) {
                    return (!candidate.ends_with("mod.rs")).then_some(candidate);
                }
            }
        }
        None
    };
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for rel in &all {
        let source = std::fs::read_to_string(format!("{root}/{rel}")).unwrap();
        let dir: Vec<String> = rel
            .rsplit_once('/')
            .map(|(d, _)| d.split('/').map(str::to_owned).collect())
            .unwrap_or_default();
        let module: Vec<String> = {
            let mut m = dir.clone();
            let stem = rel.rsplit('/').next().unwrap().trim_end_matches(".rs");
            if stem != "mod" && stem != "lib" {
                m.push(stem.to_owned());
            }
            m
        };
        for line in source.lines() {
            let t = line.trim_start();
            if t.starts_with("//") || t.starts_with("#[cfg(test)]") {
                continue;
            }
            for (marker, base) in [
                ("crate::", Vec::new()),
                ("super::", {
                    let mut b = module.clone();
                    b.pop();
                    b
                }),
            ] {
                for part in line.split(marker).skip(1) {
                    let path: Vec<String> = part
                        .split("::")
                        .map(|s| {
                            s.chars()
                                .take_while(|c| {
                                    c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'
                                })
                                .collect::<String>()
                        })
                        .take_while(|s| !s.is_empty())
                        .collect();
                    if path.is_empty() {
                        continue;
                    }
                    let mut full = base.clone();
                    full.extend(path);
                    if let Some(target) = resolve(&full)
                        && &target != rel
                    {
                        edges.entry(rel.clone()).or_default().insert(target);
                    }
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        state: &mut std::collections::HashMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = std::collections::HashMap::new();
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            let cycle = visit(n, &edges, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "an import circle: {}",
                cycle.unwrap().join(" -> ")
            );
        }
    }
    assert!(edges.len() > 40, "{} files with imports", edges.len());
}
