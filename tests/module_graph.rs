//! The module dependency graph has no circles.
//!
//! Reads `src/` and takes an edge A → B wherever the code of A names B by path: between
//! top-level modules (`crate::b` in any file of module `a`) and between sibling files of
//! one module directory (`super::b` or `crate::dir::b` in `dir/a.rs`; `mod.rs` is the
//! directory's namespace, not a node). Comment lines are skipped, so doc links do not
//! count. A circle means two modules that cannot be understood, tested or moved apart:
//! the shared item belongs in the lower one.
//! There is no allowance: any circle, anywhere, fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Identifiers that follow `prefix` in `text`.
fn names_after<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(prefix).filter_map(move |(i, _)| {
        // `prefix` must start a path segment, not end a longer identifier
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let rest = &text[i + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Sibling modules of a directory: its `.rs` files other than `mod.rs`, and its
/// subdirectories.
fn siblings(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_str()?.to_string();
            if p.is_dir() || (p.extension().is_some_and(|x| x == "rs") && stem != "mod") {
                Some(stem)
            } else {
                None
            }
        })
        .collect()
}

fn graphs(src: &Path) -> (Graph, BTreeMap<String, Graph>) {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let mut top = Graph::new();
    let mut local: BTreeMap<String, Graph> = BTreeMap::new();
    for f in files {
        let rel: Vec<String> = f
            .strip_prefix(src)
            .unwrap()
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let top_mod = rel[0].trim_end_matches(".rs").to_string();
        let text = code(&f);
        for b in names_after(&text, "crate::") {
            let is_module = src.join(format!("{b}.rs")).exists() || src.join(b).is_dir();
            if b != top_mod && is_module {
                top.entry(top_mod.clone())
                    .or_default()
                    .insert(b.to_string());
            }
        }
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        if rel.len() < 2 || stem == "mod" {
            continue;
        }
        let dir = rel[..rel.len() - 1].join("/");
        let sibs = siblings(f.parent().unwrap());
        let dir_path = format!("crate::{}::", rel[..rel.len() - 1].join("::"));
        let g = local.entry(dir).or_default();
        for b in names_after(&text, "super::").chain(names_after(&text, &dir_path)) {
            if b != stem && sibs.contains(b) {
                g.entry(stem.clone()).or_default().insert(b.to_string());
            }
        }
    }
    (top, local)
}

/// Every circle found by depth-first search, as the path that closes it.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    fn dfs(
        u: &str,
        g: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        state.insert(u.to_string(), 1);
        stack.push(u.to_string());
        for v in g.get(u).into_iter().flatten() {
            match state.get(v.as_str()) {
                Some(1) => {
                    let i = stack.iter().position(|s| s == v).unwrap();
                    let mut c = stack[i..].to_vec();
                    c.push(v.clone());
                    out.push(c);
                }
                Some(_) => {}
                None => dfs(v, g, state, stack, out),
            }
        }
        stack.pop();
        state.insert(u.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    let mut out = Vec::new();
    for u in g.keys() {
        if !state.contains_key(u) {
            dfs(u, g, &mut state, &mut Vec::new(), &mut out);
        }
    }
    out
}

#[test]
fn module_graph_has_no_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (top, local) = graphs(&src);
    // the parser sees the edges it must: these are real, one-way dependencies
    assert!(top["closed"].contains("glm"), "closed → glm not seen");
    assert!(local["open"]["loglinear"].contains("factored"));
    assert!(local["sim"]["estimators"].contains("generate"));
    assert!(local["report"]["analyse"].contains("headline"));
    assert!(local["report"]["headline_fmt"].contains("common"));
    let c = circles(&top);
    assert!(c.is_empty(), "circles between top-level modules: {c:?}");
    for (dir, g) in &local {
        let c = circles(g);
        assert!(
            c.is_empty(),
            "circles among the modules of src/{dir}: {c:?}"
        );
    }
}
