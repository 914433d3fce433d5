//! The module layers of `docs/architecture.md`, checked against the code: every `crate::…` path (and
//! every `use super::…` at the top of a file) in `src/` must point to the importer's own layer entry or
//! a lower layer, the entries must not import each other in a cycle, and no module is compiled from a
//! `#[path]`. Reads files only (std alone), so it runs in well under a second.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

struct Layers {
    /// Module prefix (`fhir::handlers`) → (layer rank, layer name).
    entries: BTreeMap<String, (u32, String)>,
}

impl Layers {
    fn read(doc: &str) -> Layers {
        let start = doc.find("<!-- layers:").expect("docs/architecture.md has no <!-- layers: --> table");
        let mut entries = BTreeMap::new();
        for line in doc[start..].lines().skip(1) {
            let line = line.trim();
            if !line.starts_with('|') {
                if entries.is_empty() {
                    continue;
                }
                break;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let mut head = cells[0].split_whitespace();
            let Some(rank) = head.next().and_then(|r| r.parse::<u32>().ok()) else { continue };
            let name = head.collect::<Vec<_>>().join(" ");
            for module in cells[1].split('`').skip(1).step_by(2) {
                assert!(
                    entries.insert(module.to_string(), (rank, name.clone())).is_none(),
                    "docs/architecture.md lists `{module}` twice"
                );
            }
        }
        assert!(entries.len() > 5, "docs/architecture.md's layer table could not be read");
        Layers { entries }
    }

    /// The table entry a module path belongs to (longest prefix), if any.
    fn entry(&self, path: &str) -> Option<&str> {
        let segs: Vec<&str> = path.split("::").collect();
        (1..=segs.len())
            .rev()
            .map(|n| segs[..n].join("::"))
            .find_map(|p| self.entries.get_key_value(&p).map(|(k, _)| k.as_str()))
    }

    fn rank(&self, entry: &str) -> u32 {
        self.entries[entry].0
    }
}

/// The module path of a source file (`src/fhir/handlers/read.rs` → `fhir::handlers::read`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut segs: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
        segs.pop();
    }
    segs.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut items: Vec<_> = std::fs::read_dir(dir).expect("src/ is readable").flatten().map(|e| e.path()).collect();
    items.sort();
    for p in items {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// A line without its `//` comment (doc comments name paths that are not imports). String literals
/// that contain `//` are rare in this code base and only make the check see less, never more.
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `::`-separated path that starts at `s` (`fhir::handlers::db(…` → `fhir::handlers::db`).
fn path_at(s: &str) -> String {
    let mut end = 0;
    let b = s.as_bytes();
    loop {
        let start = end;
        while end < b.len() && ident_char(b[end] as char) {
            end += 1;
        }
        if end == start {
            break;
        }
        if s[end..].starts_with("::") && s[end + 2..].starts_with(|c: char| ident_char(c)) {
            end += 2;
        } else {
            break;
        }
    }
    s[..end].trim_end_matches("::").to_string()
}

/// Every module path a file names through `crate::` (including `use crate::{a::b, c}` groups).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending_group: Option<(usize, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = code_of(raw);
        if let Some((start, mut group)) = pending_group.take() {
            group.push_str(line);
            if group.matches('{').count() > group.matches('}').count() {
                pending_group = Some((start, group));
            } else {
                out.extend(group_paths(&group).into_iter().map(|p| (start, p)));
            }
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let before_ok = i == 0 || !ident_char(rest[..i].chars().last().unwrap_or(' '));
            let after = &rest[i + "crate::".len()..];
            if before_ok {
                if after.starts_with('{') {
                    let group = after.to_string();
                    if group.matches('{').count() > group.matches('}').count() {
                        pending_group = Some((n + 1, group));
                    } else {
                        out.extend(group_paths(&group).into_iter().map(|p| (n + 1, p)));
                    }
                    break;
                }
                let p = path_at(after);
                if !p.is_empty() {
                    out.push((n + 1, p));
                }
            }
            rest = after;
        }
    }
    out
}

/// The paths of a `{a::b, c::{d, e}}` group (only the first segments matter for the layers).
fn group_paths(group: &str) -> Vec<String> {
    let inner = group.trim_start_matches('{');
    let mut out = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    for c in inner.chars() {
        match c {
            '{' => {
                depth += 1;
                item.push(c);
            }
            '}' if depth == 0 => break,
            '}' => {
                depth -= 1;
                item.push(c);
            }
            ',' if depth == 0 => {
                out.push(path_at(item.trim()));
                item.clear();
            }
            _ => item.push(c),
        }
    }
    out.push(path_at(item.trim()));
    out.retain(|p| !p.is_empty() && p != "self");
    out
}

/// `use super::x` at the top level of a file, resolved against the file's module.
fn super_paths(module: &str, is_mod_rs: bool, text: &str) -> Vec<(usize, String)> {
    let mut parent: Vec<&str> = module.split("::").collect();
    if !is_mod_rs {
        parent.pop();
    }
    let base = parent.join("::");
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("use super::").or_else(|| line.strip_prefix("pub use super::")) else {
            continue;
        };
        let rest = rest.trim_start_matches("super::");
        let paths = if rest.starts_with('{') { group_paths(rest) } else { vec![path_at(rest)] };
        for p in paths {
            out.push((n + 1, if base.is_empty() { p } else { format!("{base}::{p}") }));
        }
    }
    out
}

#[test]
fn imports_point_down_the_layers_of_docs_architecture_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).expect("docs/architecture.md exists");
    let layers = Layers::read(&doc);
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);

    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(root).unwrap_or(file).display().to_string();
        let text = std::fs::read_to_string(file).expect("source file is readable");
        if text.lines().any(|l| code_of(l).trim_start().starts_with("#[path")) {
            problems.push(format!("{rel}: compiles a module from #[path]; use the folder layout instead"));
        }
        if rel == "src/main.rs" || rel == "src/lib.rs" {
            continue; // the binary's entry and the module list: above every layer
        }
        let module = module_of(&src, file);
        let Some(from) = layers.entry(&module) else {
            problems.push(format!("{rel}: module `{module}` is in no layer of docs/architecture.md"));
            continue;
        };
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        let mut paths = crate_paths(&text);
        paths.extend(super_paths(&module, is_mod_rs, &text));
        for (line, path) in paths {
            let Some(to) = layers.entry(&path) else {
                problems.push(format!("{rel}:{line}: `crate::{path}` is in no layer of docs/architecture.md"));
                continue;
            };
            if to == from {
                continue;
            }
            if layers.rank(to) > layers.rank(from) {
                problems.push(format!(
                    "{rel}:{line}: `{from}` (layer {}) imports `{path}` from `{to}` (layer {}), a higher layer",
                    layers.rank(from),
                    layers.rank(to)
                ));
            }
            edges.entry(from.to_string()).or_default().insert(to.to_string());
        }
    }

    // Entries of one layer may use each other, but not in a cycle.
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, trail)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    problems.push(format!("import cycle: {} -> {start}", trail.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{} layering problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_checker_reads_paths_and_groups() {
    let text = "use crate::{fhir::service, smart::{access, scopes::Scopes}};\nlet x = crate::store::conn(); // crate::web\nuse crate::{\n    audit,\n    clock::now,\n};\n";
    let got: Vec<String> = crate_paths(text).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        got,
        ["fhir::service", "smart::{access, scopes::Scopes}", "store::conn", "audit", "clock::now"]
            .map(|s| { s.split('{').next().unwrap_or(s).trim_end_matches("::").to_string() })
    );
    assert_eq!(module_of(Path::new("src"), Path::new("src/fhir/handlers/mod.rs")), "fhir::handlers");
    assert_eq!(
        super_paths("fhir::handlers::read", false, "use super::db;\n"),
        vec![(1, "fhir::handlers::db".to_string())]
    );
}
