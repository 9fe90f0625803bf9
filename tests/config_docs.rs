//! docs/config.md tells the truth about the keys: every key a config table accepts (the
//! field names serde's derive declares, renames applied) has a row in that table's section
//! of docs/config.md, and every default the declaration knows (serde defaults, read back
//! by parsing a table with only the required keys) is the default the row shows. A key
//! added in the code without its row, or a default changed on one side only, fails here.

use std::collections::BTreeMap;

use lode::features::spec::fields;

/// The keys `T` accepts.
fn keys<T: serde::de::DeserializeOwned + 'static>() -> Vec<&'static str> {
    let v = fields::<T>().to_vec();
    assert!(!v.is_empty(), "{} declares no fields", std::any::type_name::<T>());
    v
}

/// The defaults of `T`: the values its serialization shows after parsing `required`.
fn defaults<T: serde::de::DeserializeOwned + serde::Serialize>(required: &str) -> BTreeMap<String, toml::Value> {
    let parsed: T = toml::from_str(required).unwrap_or_else(|e| panic!("{required}: {e}"));
    let v = toml::Value::try_from(&parsed).unwrap();
    let mut out: BTreeMap<String, toml::Value> = v.as_table().unwrap().clone().into_iter().collect();
    for k in toml::from_str::<toml::Table>(required).unwrap().keys() {
        out.remove(k);
    }
    out
}

/// The rows of the first table after `heading` in docs/config.md: key -> default cell.
fn doc_rows(heading: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md")).unwrap();
    let start = text.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("docs/config.md: no `{heading}`"));
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in text[start + heading.len() + 2..].lines() {
        if line.starts_with('#') {
            break;
        }
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        in_table = true;
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (first, default) = (cells[1], cells.get(2).copied().unwrap_or(""));
        let names: Vec<&str> = first.split(',').map(str::trim).collect();
        let defaults: Vec<&str> = default.split(',').map(str::trim).collect();
        for (i, n) in names.iter().enumerate() {
            if let Some(k) = n.strip_prefix('`').and_then(|n| n.strip_suffix('`')) {
                if k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                    let d = if names.len() == defaults.len() { defaults[i] } else { default };
                    rows.insert(k.to_string(), d.to_string());
                }
            }
        }
    }
    rows
}

/// Whether the doc's default cell states `value`: its first `code` span, read as TOML
/// (bare words as strings), equals it.
fn states(cell: &str, value: &toml::Value) -> bool {
    let Some(span) = cell.split('`').nth(1) else { return false };
    let doc: toml::Value = toml::from_str::<toml::Table>(&format!("v = {span}"))
        .map(|t| t["v"].clone())
        .unwrap_or(toml::Value::String(span.into()));
    match (
        doc.as_float().or(doc.as_integer().map(|i| i as f64)),
        value.as_float().or(value.as_integer().map(|i| i as f64)),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => &doc == value,
    }
}

fn check(heading: &str, keys: &[&str], defaults: &BTreeMap<String, toml::Value>, problems: &mut Vec<String>) {
    let rows = doc_rows(heading);
    for k in keys {
        match rows.get(*k) {
            None => problems.push(format!("{heading}: key `{k}` has no row in docs/config.md")),
            Some(cell) => {
                if let Some(v) = defaults.get(*k) {
                    if v.is_table() || v.is_array() {
                        continue;
                    }
                    if !states(cell, v) {
                        problems.push(format!(
                            "{heading}: `{k}` defaults to {v} in the code, docs/config.md says `{cell}`"
                        ));
                    }
                }
            }
        }
    }
}

#[test]
fn every_config_key_and_default_is_in_docs_config_md() {
    use lode::config::*;
    use lode::features::spec::{Common, RasterKeys, TransformKeys, VectorKeys};
    // The scan sees the whole declaration: every kind's keys, the model's defaults.
    let kind_keys: Vec<&str> = EvidenceKind::ALL.iter().flat_map(|k| k.keys().iter().copied()).collect();
    assert!(kind_keys.len() >= 50 && kind_keys.contains(&"kriging_variance"), "{kind_keys:?}");
    assert!(keys::<VectorKeys>().contains(&"where"));
    assert!(defaults::<RawModel>("").len() >= 15, "{:?}", defaults::<RawModel>(""));
    let mut p = Vec::new();
    check("## `[project]`", &keys::<RawProject>(), &defaults::<RawProject>("name = \"x\""), &mut p);
    check("## `[grid]`", &keys::<RawGrid>(), &defaults::<RawGrid>(""), &mut p);
    check("## `[labels]`", &keys::<RawLabels>(), &defaults::<RawLabels>("path = \"x\""), &mut p);
    let ev = "## `[[evidence]]`";
    check(ev, &["name", "kind", "path"], &BTreeMap::new(), &mut p);
    check(ev, &keys::<Common>(), &defaults::<Common>(""), &mut p);
    check(ev, &keys::<RasterKeys>(), &defaults::<RasterKeys>(""), &mut p);
    check(ev, &keys::<VectorKeys>(), &defaults::<VectorKeys>(""), &mut p);
    check(ev, &keys::<TransformKeys>(), &defaults::<TransformKeys>(""), &mut p);
    for kind in EvidenceKind::ALL {
        let defaults: BTreeMap<String, toml::Value> = kind.defaults().unwrap().into_iter().collect();
        check(ev, kind.keys(), &defaults, &mut p);
    }
    check("### `wofe = { ... }` (weights of evidence)", &keys::<RawWofeLayer>(), &defaults::<RawWofeLayer>(""), &mut p);
    check(
        "### `fuzzy = { ... }` (fuzzy overlay)",
        &keys::<RawFuzzy>(),
        &defaults::<RawFuzzy>("membership = \"linear\""),
        &mut p,
    );
    check("## `[model]`", &keys::<RawModel>(), &defaults::<RawModel>(""), &mut p);
    check("## `[validation]`", &keys::<RawValidation>(), &defaults::<RawValidation>(""), &mut p);
    check("## `[output]`", &keys::<RawOutput>(), &defaults::<RawOutput>("dir = \"x\""), &mut p);
    check("## `[targets]`", &keys::<RawTargets>(), &defaults::<RawTargets>(""), &mut p);
    assert!(p.is_empty(), "docs/config.md differs from the code:\n{}", p.join("\n"));
}

/// The checker itself: a missing row and a wrong default are both reported.
#[test]
fn the_docs_check_reports_a_missing_key_and_a_changed_default() {
    let mut p = Vec::new();
    let mut d = BTreeMap::new();
    d.insert("seed".to_string(), toml::Value::Integer(7));
    check("## `[project]`", &["seed", "no_such_key"], &d, &mut p);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].contains("`seed` defaults to 7") && p[1].contains("`no_such_key`"), "{p:?}");
}
