//! Weights-of-evidence conformance against Geoscience Australia's published Cloncurry
//! outputs (its R port of ArcSDM: unit cell 1 km², 258 deposits, 31,311.33 km²).

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

const TOLERANCE: f64 = 1e-6;
const NUMERIC: [&str; 12] = [
    "CLASS_AREA",
    "AREA_SQ_KM",
    "AREA_UNITS",
    "WPLUS",
    "S_WPLUS",
    "WMINUS",
    "S_WMINUS",
    "CONTRAST",
    "S_CONTRAST",
    "STUDC",
    "WEIGHT",
    "W_STD",
];

/// Rows of a CSV table as header -> field maps (quotes stripped, R's row-name column kept as "").
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines.next().unwrap().split(',').map(unquote).collect();
    lines.map(|l| header.iter().cloned().zip(l.split(',').map(unquote)).collect()).collect()
}

fn f(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|e| panic!("{col} = {:?}: {e}", row[col]))
}

/// Asserts that lode's table equals GA's: same rows in the same order, identical CLASS,
/// NO_POINTS and GEN_CLASS, every numeric column within `TOLERANCE` relative error.
fn assert_tables_match(ours: &Path, reference: &Path) {
    let (a, b) = (read_csv(ours), read_csv(reference));
    assert_eq!(a.len(), b.len(), "{} rows vs {} in {}", a.len(), b.len(), reference.display());
    let mut worst = (0.0f64, String::new());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        for col in ["CLASS", "NO_POINTS", "GEN_CLASS"] {
            assert_eq!(f(x, col), f(y, col), "row {i} column {col} of {}", reference.display());
        }
        for col in NUMERIC {
            let (u, v) = (f(x, col), f(y, col));
            let rel = if v == 0.0 { u.abs() } else { ((u - v) / v).abs() };
            if rel > worst.0 {
                worst = (rel, format!("row {i} {col}: {u} vs {v}"));
            }
        }
    }
    assert!(worst.0 <= TOLERANCE, "{}: largest relative error {} at {}", reference.display(), worst.0, worst.1);
}

fn weights(dir: &Path, evidence: &Path, method: &str) -> std::path::PathBuf {
    let out = dir.join(format!("{}_{method}.csv", evidence.file_stem().unwrap().to_str().unwrap()));
    let o = lode(&[
        "weights",
        "--evidence",
        evidence.to_str().unwrap(),
        "--deposits",
        cloncurry("IOCG_Deposits.shp").to_str().unwrap(),
        "--method",
        method,
        "--unit-cell-km2",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "lode weights failed: {}", stderr(&o));
    out
}

#[test]
fn calculate_weights_reproduces_ga_tables() {
    let tmp = tempfile::tempdir().unwrap();
    for (raster, method, table) in [
        ("Dist2Breccia.tif", "ascending", "Dist2Breccia_CA.csv"),
        ("FaultDensity.tif", "descending", "FaultDensity_CD.csv"),
        ("StratNo.tif", "categorical", "StratNo_CT.csv"),
    ] {
        let ours = weights(tmp.path(), &cloncurry(raster), method);
        assert_tables_match(&ours, &ga_reference(table));
    }
}

#[test]
fn weights_table_has_gas_columns_in_gas_order() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = weights(tmp.path(), &cloncurry("binary/Dist2Fault.tif"), "categorical");
    let header = std::fs::read_to_string(ours).unwrap().lines().next().unwrap().to_string();
    assert_eq!(
        header,
        "CLASS,CLASS_AREA,AREA_SQ_KM,AREA_UNITS,NO_POINTS,WPLUS,S_WPLUS,WMINUS,S_WMINUS,CONTRAST,S_CONTRAST,STUDC,GEN_CLASS,WEIGHT,W_STD"
    );
}

#[test]
fn weights_arithmetic_reproduces_the_dist2fault_table_whose_raster_is_not_shipped() {
    // GA ships Dist2Fault_CA.csv but not its raster: per-class counts taken from the
    // table's own CLASS_AREA and NO_POINTS test the arithmetic alone.
    let counts: Vec<lode::wofe::ClassCount> = read_csv(&ga_reference("Dist2Fault_counts_from_CA_table.csv"))
        .iter()
        .map(|r| lode::wofe::ClassCount {
            class: f(r, "class") as i64,
            cells: f(r, "cells") as u64,
            deposits: f(r, "deposits") as u64,
        })
        .collect();
    let params = lode::wofe::WeightsParams::new(lode::wofe::Method::Ascending, 0.01, 1.0, 2.0);
    let rows = lode::wofe::weights_table(&counts, &params).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("d2f.csv");
    lode::wofe::write_table(&ours, &rows).unwrap();
    assert_tables_match(&ours, &ga_reference("Dist2Fault_CA.csv"));
}

/// Runs the shipped weights-of-evidence demo config into `out`.
fn run_wofe_demo(dir: &Path, out: &Path) {
    let config = shipped_config(dir, "cloncurry-wofe.toml", out, "");
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Band 1 of a raster as f64 with its nodata value.
fn read_all(path: &Path) -> (Vec<f64>, Option<f64>) {
    let ds = gdal::Dataset::open(path).unwrap();
    let band = ds.rasterband(1).unwrap();
    let size = ds.raster_size();
    (band.read_as::<f64>((0, 0), size, size, None).unwrap().data().to_vec(), band.no_data_value())
}

/// Largest absolute and relative differences of two maps over cells where the reference has data.
fn compare_maps(ours: &Path, reference: &Path) -> (f64, f64) {
    let ((a, nd_a), (b, _)) = (read_all(ours), read_all(reference));
    assert_eq!(a.len(), b.len());
    let (mut abs, mut rel) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(&b) {
        assert!(y.is_finite(), "GA's reference has no nodata cell on this grid");
        assert_ne!(Some(*x), nd_a, "lode left a study-area cell without a value");
        abs = abs.max((x - y).abs());
        rel = rel.max(((x - y) / y).abs());
    }
    (abs, rel)
}

#[test]
fn calculate_response_reproduces_ga_tables_posterior_and_std() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_wofe_demo(tmp.path(), &out);
    for (layer, table) in [
        ("breccia_5km", "binary_Dist2Breccia_CT.csv"),
        ("fault_2km", "binary_Dist2Fault_CT.csv"),
        ("fault_density_high", "binary_FaultDensity_CT.csv"),
        ("favourable_units", "binary_StratNo_CT.csv"),
    ] {
        assert_tables_match(&out.join(format!("weights_{layer}.csv")), &ga_reference(table));
    }
    // GA's rasters are float32; lode computes in f64 and writes float32, so the two differ
    // by float32 rounding at most (about 6e-8 relative).
    for (ours, theirs) in [
        ("prospectivity.tif", "PosteriorProbability.tif"),
        ("posterior_std.tif", "PosteriorProbability_StdDev.tif"),
        ("confidence.tif", "PosteriorProbability_Conf.tif"),
    ] {
        let (abs, rel) = compare_maps(&out.join(ours), &ga_reference(theirs));
        assert!(abs <= TOLERANCE && rel <= TOLERANCE, "{ours} vs GA's {theirs}: abs {abs}, rel {rel}");
    }
    for map in ["prospectivity.tif", "posterior_std.tif", "confidence.tif"] {
        let info = gdalinfo(&out.join(map), &[]);
        assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG", "{map}");
    }

    // Conditional independence: T = sum of posterior x unit cells per grid cell (0.01).
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let ci = &metrics["fit"]["conditional_independence"]["overall"];
    let (p, _) = read_all(&ga_reference("PosteriorProbability.tif"));
    let t: f64 = p.iter().map(|v| v * 0.01).sum();
    let predicted = ci["predicted"].as_f64().unwrap();
    assert!(((predicted - t) / t).abs() < 1e-5, "T = {predicted}, from GA's raster {t}");
    assert_eq!(ci["observed"], 258.0);
    assert!((ci["ratio"].as_f64().unwrap() - 258.0 / t).abs() < 1e-4);
    assert_eq!(ci["independence_doubtful"], true, "n/T = {} is below 0.85", 258.0 / t);
    let pairs = metrics["fit"]["conditional_independence"]["pairwise"].as_array().unwrap();
    assert_eq!(pairs.len(), 6, "one chi-square test per pair of the four layers");
}

#[test]
fn auc_of_gas_own_posterior_equals_gas_figure() {
    // IOCG_PostProb_AUC.csv: AUC 0.714467740807205 (modEvA: 258 deposits against the
    // 3,130,881 cells without one).
    let reference: f64 = read_csv(&ga_reference("IOCG_PostProb_AUC.csv"))[0]["AUC"].parse().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("auc.json");
    let o = lode(&[
        "evaluate",
        "--map",
        ga_reference("PosteriorProbability.tif").to_str().unwrap(),
        "--deposits",
        cloncurry("IOCG_Deposits.shp").to_str().unwrap(),
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let auc = e["auc"].as_f64().unwrap();
    assert!((auc - reference).abs() < 5e-5, "lode {auc} vs GA {reference}");
    assert_eq!(format!("{auc:.4}"), format!("{reference:.4}"));
    assert_eq!(e["deposits_scored"], 258);
    assert_eq!(e["scored_cells"], 3_131_133);
}
