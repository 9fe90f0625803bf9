//! End to end: the real binary on the shipped Cloncurry demo config, outputs checked
//! with GDAL's own `gdalinfo`, an independent reader.

mod common;

use common::*;

/// The demo config with its paths made absolute and its output sent to `out`.
fn demo_config(dir: &std::path::Path, out: &std::path::Path) -> std::path::PathBuf {
    shipped_config(dir, "cloncurry.toml", out, "")
}

#[test]
fn demo_config_runs_end_to_end_and_writes_a_valid_cog() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = demo_config(tmp.path(), &out);
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "lode run failed: {}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("held-out AUC") && stdout.contains("AUC on the map"), "{stdout}");
    assert!(stdout.contains("prospectivity.tif"), "{stdout}");

    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        leftovers.iter().all(|n| !n.to_string_lossy().starts_with('.') || n == ".lode-lock" || n == ".lode-outputs"),
        "only the published outputs and lode's lock and record, no staging left: {leftovers:?}"
    );
    for name in ["prospectivity.tif", "metrics.json", "model.json", "targets.gpkg", "manifest.json"] {
        assert!(leftovers.iter().any(|n| n.to_string_lossy() == name), "{name} missing: {leftovers:?}");
    }

    let map = out.join("prospectivity.tif");
    let info = gdalinfo(&map, &["-stats"]);
    assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG", "{info}");
    assert_eq!(info["size"], serde_json::json!([1259, 2487]));
    let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(wkt.contains("ID[\"EPSG\",7845]"), "{wkt}");
    let template = gdalinfo(&cloncurry("StratNo.tif"), &[]);
    let (a, b) = (info["geoTransform"].as_array().unwrap(), template["geoTransform"].as_array().unwrap());
    for (x, y) in a.iter().zip(b) {
        assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-6, "{a:?} vs {b:?}");
    }
    let band = &info["bands"][0];
    assert_eq!(band["type"], "Float32");
    assert_eq!(band["noDataValue"], -9999.0);
    assert_eq!(band["description"], "probability of a deposit per cell (prior-corrected for the negative sampling)");
    let (min, max) = (band["minimum"].as_f64().unwrap(), band["maximum"].as_f64().unwrap());
    assert!(min >= 0.0 && max <= 1.0 && max > min, "values [{min}, {max}] outside [0, 1]");
    assert!(!band["overviews"].as_array().unwrap().is_empty(), "internal overviews");
    assert_eq!(info["metadata"][""]["LODE_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"], "DEFLATE");

    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let auc = metrics["auc"].as_f64().unwrap();
    // GA's weights-of-evidence posterior scores 0.714 on the same deposits.
    assert!((0.70..1.0).contains(&auc), "AUC {auc}");
    assert_eq!(metrics["deposits"]["used"], 258);
    assert_eq!(metrics["deposits"]["cells"], 252, "several deposits in one cell count once");
    assert_eq!(metrics["fit"]["training"]["positives"], 252);
    assert_eq!(metrics["fit"]["training"]["negatives"], 2520);
    let curve = metrics["success_rate"].as_array().unwrap();
    assert_eq!(curve.first().unwrap(), &serde_json::json!([0.0, 0.0]));
    assert_eq!(curve.last().unwrap(), &serde_json::json!([1.0, 1.0]));
    let pairs: Vec<(f64, f64)> = curve.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
    assert!(pairs.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1), "curve not monotone");
    // The map ranks deposits above chance: the top 20 % of the area holds more than 20 %.
    let top20 = pairs.iter().filter(|p| p.0 <= 0.2).map(|p| p.1).fold(0.0, f64::max);
    assert!(top20 > 0.3, "success rate at 20 % area: {top20}");
}

#[test]
fn same_config_and_seed_give_identical_maps_across_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    // Byte-identical config files (output relative to each) in two folders.
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let text = std::fs::read_to_string(demo_config(tmp.path(), &tmp.path().join("x"))).unwrap();
    let text = text.replace(&format!("dir = \"{}\"", tmp.path().join("x").display()), "dir = \"out\"");
    let ca = write(&a, "c.toml", &text);
    let cb = write(&b, "c.toml", &text);
    assert!(lode(&["-q", "run", ca.to_str().unwrap(), "--threads", "1"]).status.success());
    assert!(lode(&["-q", "run", cb.to_str().unwrap(), "--threads", "2"]).status.success());
    for name in ["prospectivity.tif", "model.json"] {
        let read = |p: &std::path::Path| std::fs::read(p.join("out").join(name)).unwrap();
        assert!(read(&a) == read(&b), "{name} differs between 1 and 2 threads");
    }
}

#[test]
fn validate_prints_grid_layers_and_deposits_without_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = demo_config(tmp.path(), &out);
    let o = lode(&["validate", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("1259 x 2487 cells of 100 in EPSG:7845"), "{s}");
    assert!(s.contains("stratno [categorical]"), "{s}");
    assert!(s.contains("258 read, 258 inside the study area in 252 cells"), "{s}");
    assert!(!out.exists(), "validate must not write outputs");
}
