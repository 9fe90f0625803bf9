//! Helpers shared by the integration tests: paths to the shipped data, running the
//! real `lode` binary, and reading outputs with GDAL's own command-line tools.

#![allow(dead_code)]

pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A free TCP port on loopback, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The repository's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the Cloncurry demo data.
pub fn cloncurry(name: &str) -> PathBuf {
    root().join("data/cloncurry").join(name)
}

/// A file of Geoscience Australia's reference outputs.
pub fn ga_reference(name: &str) -> PathBuf {
    root().join("tests/fixtures/ga-reference").join(name)
}

/// Runs the `lode` binary with `args`.
pub fn lode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lode")).args(args).output().expect("lode runs")
}

/// Runs a command and returns its stdout, panicking with its stderr on failure.
pub fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `gdalinfo -json [extra] path`, parsed.
pub fn gdalinfo(path: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&str> = vec!["-json"];
    args.extend_from_slice(extra);
    let p = path.to_str().expect("utf-8 path");
    args.push(p);
    serde_json::from_str(&tool("gdalinfo", &args)).expect("gdalinfo JSON")
}

/// A config for the Cloncurry data with the given evidence tables and extra keys,
/// writing into `out_dir`.
pub fn cloncurry_config(out_dir: &Path, labels_extra: &str, evidence: &str) -> String {
    format!(
        r#"
[project]
name = "test"
seed = 7

[grid]
template = "{template}"

[labels]
path = "{deposits}"
{labels_extra}

{evidence}

[output]
dir = "{out}"
"#,
        template = cloncurry("StratNo.tif").display(),
        deposits = cloncurry("IOCG_Deposits.shp").display(),
        out = out_dir.display(),
    )
}

/// A shipped Cloncurry config (`data/cloncurry/NAME`) with its input paths made absolute,
/// its `[output] dir` set to `out` and `extra` appended, written to `dir/NAME`.
pub fn shipped_config(dir: &Path, name: &str, out: &Path, extra: &str) -> PathBuf {
    let data = cloncurry("");
    let text = std::fs::read_to_string(cloncurry(name)).unwrap();
    let dir_lines = text.lines().filter(|l| l.starts_with("dir = \"")).count();
    assert_eq!(dir_lines, 1, "{name}: one `dir = ` line expected");
    let text: String = text
        .lines()
        .map(|l| if l.starts_with("dir = \"") { format!("dir = \"{}\"", out.display()) } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("path = \"", &format!("path = \"{}/", data.display()))
        .replace("template = \"", &format!("template = \"{}/", data.display()));
    write(dir, name, &(text + "\n" + extra))
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// The stderr of an output as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Top-left corner (EPSG:7845) of the small explicit grids that tests build inputs for.
pub const X0: f64 = 650_000.0;
/// See [`X0`].
pub const Y1: f64 = -2_300_000.0;

/// Settings for a `cols` x `rows` grid of `cell` m cells in EPSG:7845 with its top-left
/// corner at ([`X0`], [`Y1`]), block_size 16 (so neighbourhoods cross windows), one
/// deposit, and the given evidence tables; written to `dir/c.toml`.
pub fn small_grid_settings(
    dir: &Path,
    name: &str,
    (cols, rows, cell): (usize, usize, f64),
    evidence: &str,
) -> lode::Settings {
    write(dir, "deposits.geojson", &geojson_collection(&[geojson_point(505.0, 505.0)]));
    let text = format!(
        r#"
[project]
name = "{name}"

[grid]
crs = "EPSG:7845"
bounds = [{X0}, {y0}, {x1}, {Y1}]
cell_size = {cell}
block_size = 16

[labels]
path = "deposits.geojson"

{evidence}

[output]
dir = "out"
"#,
        y0 = Y1 - rows as f64 * cell,
        x1 = X0 + cols as f64 * cell,
    );
    let path = write(dir, "c.toml", &text);
    lode::Settings::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// A GeoJSON FeatureCollection in EPSG:7845 of the given features.
pub fn geojson_collection(features: &[String]) -> String {
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::7845"}}"#;
    format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, features.join(","))
}

/// A GeoJSON point feature relative to the small grid's top-left corner (y down, metres).
pub fn geojson_point(x: f64, y: f64) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}"#,
        X0 + x,
        Y1 - y
    )
}

/// The first column of every layer at every cell of the grid, window by window, with validity.
pub fn compute_all(stack: &lode::features::FeatureStack) -> Vec<Vec<(f64, bool)>> {
    let grid = &stack.grid;
    let mut out = vec![vec![(f64::NAN, false); grid.len()]; stack.layers.len()];
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            let g = grid.index(w.cell(i));
            for (l, span) in stack.spans.iter().enumerate() {
                out[l][g] = (b.values[[i, span.start]], b.layer_valid[[i, l]]);
            }
        }
    }
    out
}

/// The fields of one CSV line (RFC 4180 quoting: `"a, b"` is one field, `""` a quote).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().unwrap().push(c),
        }
    }
    out
}
