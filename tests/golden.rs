//! The outputs of two Cloncurry runs, decoded, against the values recorded before issue
//! 14's optimisations (at 68477bb, by the same test with `LODE_GOLDEN_RECORD`): a
//! faster lode must write the same maps and targets. The maps are compared by their
//! decoded cells (GDAL reads band 1; the SHA-256 of every float32's bits, with the
//! grid's shape and geotransform), so tags holding lode's version do not matter; the
//! targets by the bytes of `targets.csv`.
//!
//! Runs: the demo config (logistic, two continuous and two categorical layers, spatial
//! cross-validation, uncertainty, targets) on a grid shifted by 30 m from the data's, so
//! that every layer is warped (bilinear and nearest); and the weights-of-evidence config
//! on the data's own grid (four categorical layers, read directly).
//!
//! The recorded values hold for the GDAL they were recorded with (warping and the
//! polygonizer are GDAL's): under another GDAL the test says so and compares nothing.
//! To record again after a deliberate change of the outputs, run
//! `LODE_GOLDEN_RECORD=COMMIT cargo test --release --test golden` and say why in the commit.
//! `LODE_GOLDEN_BIN` runs another lode binary (the one recorded from, say).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sha2::{Digest, Sha256};

/// The recorded values: `tests/fixtures/golden.json`.
fn recorded_path() -> PathBuf {
    root().join("tests/fixtures/golden.json")
}

/// The demo's grid lines as `[grid]` keys of a grid shifted by 30 m east and north.
fn shifted_grid() -> String {
    // StratNo.tif's own grid: 1259 x 2487 cells of 100 m from (600261.7689, -2260491.0157).
    let (x0, y1) = (600261.7689 + 30.0, -2260491.0157 + 30.0);
    let (x1, y0) = (x0 + 1259.0 * 100.0, y1 - 2487.0 * 100.0);
    format!("crs = \"EPSG:7845\"\nbounds = [{x0}, {y0}, {x1}, {y1}]\ncell_size = 100")
}

/// Writes the config of run `name` into `dir` with its output in `out`.
fn config(name: &str, dir: &Path, out: &Path) -> PathBuf {
    match name {
        "demo-shifted" => {
            let path = shipped_config(dir, "cloncurry.toml", out, "");
            let text = std::fs::read_to_string(&path).unwrap();
            let template = text.lines().find(|l| l.starts_with("template = ")).expect("the demo has a template");
            std::fs::write(&path, text.replace(template, &shifted_grid())).unwrap();
            path
        }
        "wofe" => shipped_config(dir, "cloncurry-wofe.toml", out, ""),
        other => panic!("no run {other}"),
    }
}

/// SHA-256 of a map's decoded band 1 (shape, geotransform, every cell's float32 bits).
fn decoded_sha256(path: &Path) -> String {
    let ds = gdal::Dataset::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (cols, rows) = ds.raster_size();
    let mut h = Sha256::new();
    h.update(format!("{cols}x{rows} {:?}", ds.geo_transform().unwrap()).as_bytes());
    let band = ds.rasterband(1).unwrap();
    let values = band.read_as::<f32>((0, 0), (cols, rows), (cols, rows), None).unwrap();
    for v in values.data() {
        h.update(v.to_bits().to_le_bytes());
    }
    format!("{:x}", h.finalize())
}

/// What a run wrote: every map of the output folder by its decoded cells, and `targets.csv`.
fn fingerprint(out: &Path) -> BTreeMap<String, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut found = BTreeMap::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".tif") {
            found.insert(name, decoded_sha256(&f));
        } else if name == "targets.csv" {
            found.insert(name, format!("{:x}", Sha256::digest(std::fs::read(&f).unwrap())));
        }
    }
    found
}

#[test]
fn the_demo_and_wofe_runs_write_the_maps_and_targets_recorded_before_the_optimisations() {
    let gdal = lode::io::gdal_version();
    let bin = std::env::var("LODE_GOLDEN_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lode").to_string());
    let tmp = tempfile::tempdir().unwrap();
    let mut now = BTreeMap::new();
    for name in ["demo-shifted", "wofe"] {
        let out = tmp.path().join(name);
        let c = config(name, tmp.path(), &out);
        let o = Command::new(&bin).args(["-q", "run", c.to_str().unwrap()]).output().expect("lode runs");
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let found = fingerprint(&out);
        assert!(found.contains_key("prospectivity.tif") && found.contains_key("targets.csv"), "{name}: {found:?}");
        now.insert(name.to_string(), found);
    }
    if let Ok(at) = std::env::var("LODE_GOLDEN_RECORD") {
        let json = serde_json::json!({ "gdal": gdal, "recorded_at": at, "runs": now });
        std::fs::write(recorded_path(), serde_json::to_string_pretty(&json).unwrap() + "\n").unwrap();
        eprintln!("recorded {}", recorded_path().display());
        return;
    }
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(recorded_path()).expect("tests/fixtures/golden.json")).unwrap();
    if recorded["gdal"] != gdal.as_str() {
        eprintln!("golden: recorded with GDAL {}, this is GDAL {gdal}: nothing compared", recorded["gdal"]);
        return;
    }
    let want: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_value(recorded["runs"].clone()).unwrap();
    assert_eq!(want.keys().collect::<Vec<_>>(), now.keys().collect::<Vec<_>>());
    for (name, files) in &want {
        assert_eq!(&now[name], files, "{name}: outputs differ from those recorded (tests/fixtures/golden.json)");
    }
}
