//! The shape of the house, checked on the source text: GDAL is called only from
//! `src/io/`, the modules import each other without circles, `io` and `grid` stay at the bottom, no module reaches up into the
//! crate root, and library errors never name a command-line flag.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `.rs` file under `src/`, as (path relative to `src/`, text without comments).
fn files() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            (rel, code_only(&std::fs::read_to_string(&p).unwrap()))
        })
        .collect()
}

/// The text with `//` comments (line, doc and trailing) removed; string literals kept.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("//") {
                ""
            } else {
                // A trailing comment: `//` outside a string literal (counting quotes is
                // enough for this code base).
                let mut in_str = false;
                let b = l.as_bytes();
                let mut end = l.len();
                for i in 0..b.len() {
                    if b[i] == b'"' && (i == 0 || b[i - 1] != b'\\') {
                        in_str = !in_str;
                    }
                    if !in_str && b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
                        end = i;
                        break;
                    }
                }
                &l[..end]
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to: `io/raster.rs` -> `io`, `grid.rs` -> `grid`.
fn module_of(rel: &str) -> String {
    rel.split('/').next().unwrap().trim_end_matches(".rs").to_string()
}

/// The top-level modules a file's code names: `crate::x...` and `use crate::{x, y::z}`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for part in body.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
    }
    out
}

/// Module -> the other modules it imports (lib.rs and main.rs left out: they are the top).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = files();
    let modules: BTreeSet<String> =
        files.iter().filter(|(r, _)| r != "lib.rs" && r != "main.rs").map(|(r, _)| module_of(r)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in &files {
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let m = module_of(rel);
        let e = g.entry(m.clone()).or_default();
        for i in imports(code) {
            if i != m && modules.contains(&i) {
                e.insert(i);
            }
        }
    }
    g
}

#[test]
fn gdal_is_called_only_from_src_io() {
    let mut offenders = Vec::new();
    for (rel, code) in files() {
        if rel.starts_with("io/") {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if line.contains("gdal::") || line.contains("gdal_sys") {
                offenders.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "GDAL outside src/io/:\n{}", offenders.join("\n"));
}

#[test]
fn the_scan_sees_imports_and_ignores_comments() {
    let code = code_only("use crate::{a, b::C};\n// crate::hidden\nlet x = crate::d::f(); // crate::e\n");
    assert_eq!(imports(&code), ["a", "b", "d"].iter().map(|s| s.to_string()).collect());
}

/// `io` and `grid` are the bottom of the house: `io` may use only `grid` (and the error
/// type and the spare buffers), `grid` nothing but the error type and the spare buffers;
/// `scratch`, the per-worker spare buffers, is below both and uses nothing of the crate.
#[test]
fn io_and_grid_import_nothing_above_them() {
    let g = graph();
    let allowed = |m: &str| -> &[&str] {
        match m {
            "io" => &["error", "grid", "scratch"],
            "grid" => &["error", "scratch"],
            "scratch" => &[],
            _ => unreachable!(),
        }
    };
    for m in ["io", "grid", "scratch"] {
        let extra: Vec<&String> = g[m].iter().filter(|i| !allowed(m).contains(&i.as_str())).collect();
        assert!(extra.is_empty(), "`{m}` imports {extra:?}");
    }
}

#[test]
fn modules_import_each_other_without_a_circle() {
    let g = graph();
    // Strongly connected components with more than one module (Tarjan's algorithm).
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                c.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                t.out.push(c);
            }
        }
    }
    let mut t = T {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    assert!(t.out.is_empty(), "import circles: {:?}", t.out);
}

/// Only `lib.rs` and `main.rs` use what the crate root defines (`crate::Metrics`,
/// `crate::VERSION`...): every other module names the module an item lives in.
#[test]
fn no_module_imports_from_the_crate_root() {
    let mut offenders = Vec::new();
    for (rel, code) in files() {
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let upward: Vec<String> = imports(&code).into_iter().filter(|n| n.starts_with(char::is_uppercase)).collect();
        if !upward.is_empty() {
            offenders.push(format!("src/{rel}: crate::{upward:?}"));
        }
    }
    assert!(offenders.is_empty(), "imports from lib.rs:\n{}", offenders.join("\n"));
}

/// A library error says what value is wrong, not which flag of the `lode` binary carried
/// it: the binary adds that context.
#[test]
fn library_errors_never_name_a_command_line_flag() {
    let mut offenders = Vec::new();
    for (rel, code) in files() {
        if rel == "main.rs" {
            continue;
        }
        for (i, _) in code.match_indices("Error::") {
            let end = code[i..].find(';').map_or(code.len(), |e| i + e);
            let call = &code[i..end];
            if call.as_bytes().windows(3).any(|w| w[0] == b'-' && w[1] == b'-' && w[2].is_ascii_lowercase()) {
                offenders.push(format!("src/{rel}: {}", call.lines().next().unwrap_or("")));
            }
        }
    }
    assert!(offenders.is_empty(), "errors naming flags:\n{}", offenders.join("\n"));
}
