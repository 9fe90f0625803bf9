//! Helpers shared by the integration tests: paths to the shipped data, running the
//! real `lode` binary, and reading outputs with GDAL's own command-line tools.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
