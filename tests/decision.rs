//! What turns a map into a decision, on a small synthetic district (150 x 120 cells, a
//! logistic model, spatial cross-validation): one definition of "deposits in the best
//! X %" that the console, `report.html` and `metrics.json` share and that numpy
//! reproduces; `lode targets` redrawing what a fresh run with those settings draws; the
//! STAC item validating offline with pystac.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A synthetic scene in `dir` with a logistic model, deposit names from `id`, outputs in
/// `dir/out`, and `extra` appended; returns the config.
fn scene(dir: &Path, extra: &str) -> PathBuf {
    let scene = dir.join("scene");
    let o = lode(&["synth", "--cols", "150", "--rows", "120", scene.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(scene.join("scene.toml")).unwrap();
    let text = text
        .replace("kind = \"random_forest\"", "kind = \"logistic\"")
        .replace("path = \"deposits.geojson\"", "path = \"deposits.geojson\"\nname_field = \"id\"")
        .replace("dir = \"out\"", &format!("dir = \"{}\"", dir.join("out").display()));
    assert!(text.contains("logistic") && text.contains("name_field"), "the scene config changed: {text}");
    write(&scene, "scene.toml", &(text + extra))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The number after `prefix` in `text`, up to the next space or `(`.
fn number_after(text: &str, prefix: &str) -> f64 {
    let rest = text.split(prefix).nth(1).unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"));
    rest.trim_start().split([' ', '(', ')', ';']).next().unwrap().parse().unwrap()
}

#[test]
fn console_report_and_metrics_give_the_same_capture_figures_and_numpy_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(tmp.path(), "");
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let console = String::from_utf8_lossy(&o.stdout).into_owned();
    let out = tmp.path().join("out");
    let metrics = json(&out.join("metrics.json"));
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();

    // The console leads with the held-out AUC, then the fitted one.
    let held = console.find("held-out AUC").expect("a held-out AUC");
    assert!(held < console.find("AUC on the map").unwrap(), "{console}");
    assert_eq!(
        number_after(&console, "held-out AUC"),
        (metrics["held_out"]["auc"].as_f64().unwrap() * 1e3).round() / 1e3
    );
    // The headline lines are the same text in the console and the report.
    for line in console.lines().filter(|l| l.contains("AUC") || l.contains("deposits in the best")) {
        let html = line.trim().replace('&', "&amp;").replace('"', "&quot;");
        assert!(report.contains(&format!("<li>{html}</li>")), "not in the report: {line}");
    }

    let capture = metrics["capture"].as_array().unwrap();
    let n = metrics["evaluation"]["deposits_scored"].as_u64().unwrap();
    let deposits = tmp.path().join("scene/deposits.geojson");
    let script = "import sys, json, numpy as np\nfrom osgeo import gdal, ogr\n\
        d = gdal.Open(sys.argv[1]); b = d.GetRasterBand(1); a = b.ReadAsArray().astype(np.float64)\n\
        ok = b.GetMaskBand().ReadAsArray() != 0; v = np.sort(a[ok])[::-1]\n\
        x0, dx, _, y0, _, dy = d.GetGeoTransform()\n\
        src = ogr.Open(sys.argv[2]); pts = [f.GetGeometryRef().Clone() for f in src.GetLayer(0)]\n\
        s = [a[int((p.GetY() - y0) / dy), int((p.GetX() - x0) / dx)] for p in pts]\n\
        ts = [(pct, float(v[int(np.ceil(v.size * pct / 100.0)) - 1])) for pct in (1, 5, 10, 20, 50)]\n\
        out = [[pct, t, int(sum(1 for x in s if x >= t))] for pct, t in ts]\n\
        print(json.dumps(out))";
    let peer: Vec<(f64, f64, u64)> = serde_json::from_str(&tool(
        "/usr/bin/python3",
        &["-c", script, out.join("prospectivity.tif").to_str().unwrap(), deposits.to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(capture.len(), peer.len());
    for (c, (pct, t, k)) in capture.iter().zip(&peer) {
        assert_eq!(c["top_percent"].as_f64().unwrap(), *pct);
        assert_eq!(c["threshold"].as_f64().unwrap(), *t, "the exact threshold of the best {pct} %");
        assert_eq!(c["deposits"].as_u64().unwrap(), *k, "deposits in the best {pct} % by numpy");
        assert_eq!(c["fraction"].as_f64().unwrap(), *k as f64 / n as f64);
    }
    let (ten, twenty) = (&capture[2], &capture[3]);
    let (d10, d20) = (ten["deposits"].as_u64().unwrap(), twenty["deposits"].as_u64().unwrap());
    assert!(0 < d10 && d10 < d20 && d20 < n, "figures that tell something: {d10} {d20} of {n}");
    // The console and the report print these very figures.
    let line = format!(
        "deposits in the best 10 % of the area: {d10} of {n} ({:.1} %); in the best 20 %: {d20} ({:.1} %) (fitted)",
        100.0 * ten["fraction"].as_f64().unwrap(),
        100.0 * twenty["fraction"].as_f64().unwrap()
    );
    assert!(console.contains(&line), "{line}\nnot in\n{console}");
    assert!(report.contains(&line), "{line} not in the report");
    let row = format!("<tr><td>10 %</td><td>{}</td>", lode::styles::short(ten["threshold"].as_f64().unwrap()));
    let row_text = report.split(&row).nth(1).expect("the 10 % row of the capture table");
    assert!(row_text.contains(&format!("<td>{d10}</td>")), "{row_text}");
}

/// `ogr2ogr` of a layer to GeoJSON text (features and fields, no file metadata).
fn features(gpkg: &Path) -> String {
    tool("ogr2ogr", &["-f", "GeoJSON", "/vsistdout/", gpkg.to_str().unwrap(), "targets"])
}

fn section(report: &Path) -> String {
    let text = std::fs::read_to_string(report).unwrap();
    let a = text.find(lode::report::TARGETS_BEGIN).unwrap();
    let b = text.find(lode::report::TARGETS_END).unwrap();
    text[a..b].to_string()
}

#[test]
fn lode_targets_redraws_what_a_fresh_run_with_those_settings_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(tmp.path(), "");
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = tmp.path().join("out");
    let before = std::fs::read_to_string(run.join("targets.csv")).unwrap();
    let map_sum = lode::manifest::sha256_file(&run.join("prospectivity.tif")).unwrap();

    for (args, extra) in [
        (vec!["--top-percent", "12", "--min-area-km2", "0.5"], "[targets]\ntop_percent = 12.0\nmin_area_km2 = 0.5\n"),
        (vec!["--probability", "0.3"], "[targets]\nprobability = 0.3\nmin_area_km2 = 0.5\n"),
    ] {
        let mut all = vec!["targets", run.to_str().unwrap()];
        all.extend(&args);
        let o = lode(&all);
        assert!(o.status.success(), "lode {all:?}: {}", stderr(&o));
        let fresh_dir = tempfile::tempdir().unwrap();
        let fresh_config = scene(fresh_dir.path(), &format!("\n{extra}"));
        let o = lode(&["run", fresh_config.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let fresh = fresh_dir.path().join("out");

        let csv = std::fs::read_to_string(run.join("targets.csv")).unwrap();
        assert_eq!(csv, std::fs::read_to_string(fresh.join("targets.csv")).unwrap(), "{args:?}");
        assert_ne!(csv, before, "{args:?} changed the targets");
        assert_eq!(features(&run.join("targets.gpkg")), features(&fresh.join("targets.gpkg")));
        assert_eq!(json(&run.join("metrics.json"))["targets"], json(&fresh.join("metrics.json"))["targets"]);
        assert_eq!(section(&run.join("report.html")), section(&fresh.join("report.html")));
        assert_eq!(
            std::fs::read(run.join("quicklook.png")).unwrap(),
            std::fs::read(fresh.join("quicklook.png")).unwrap()
        );
        let ql = std::fs::read(run.join("quicklook.png")).unwrap();
        let page = std::fs::read_to_string(run.join("report.html")).unwrap();
        assert!(page.contains(&lode::report::base64(&ql)), "the report embeds the redrawn quicklook");

        // The manifest records the redraw, the config as it now stands and fresh checksums.
        let m = json(&run.join("manifest.json"));
        let redraw = m["redraws"].as_array().unwrap().last().unwrap();
        assert_eq!(redraw["targets"], json(&fresh.join("manifest.json"))["config"]["targets"], "{redraw}");
        assert_eq!(m["config"]["targets"], redraw["targets"]);
        for (name, sum) in
            m["outputs"].as_array().unwrap().iter().map(|o| (o[0].as_str().unwrap(), o[1].as_str().unwrap()))
        {
            assert_eq!(lode::manifest::sha256_file(&run.join(name)).unwrap().1, sum, "{name}");
        }
    }
    assert_eq!(lode::manifest::sha256_file(&run.join("prospectivity.tif")).unwrap(), map_sum, "the map is untouched");
    assert_eq!(json(&run.join("manifest.json"))["redraws"].as_array().unwrap().len(), 2);
}

#[test]
fn lode_targets_refuses_a_folder_that_is_no_run_and_a_bad_share() {
    let tmp = tempfile::tempdir().unwrap();
    let o = lode(&["targets", tmp.path().to_str().unwrap(), "--top-percent", "5"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("manifest.json"), "{}", stderr(&o));
    let o = lode(&["targets", tmp.path().to_str().unwrap()]);
    assert!(!o.status.success(), "a rule is required");
}

#[test]
fn the_stac_item_validates_offline_and_lists_every_map_and_vector() {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(tmp.path(), "\n[targets]\ngeojson = true\n");
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("out");
    let python = root().join(".venv-stac/bin/python");
    assert!(python.exists(), "{} is missing: run `make stac-env` (make test does)", python.display());
    let report = tool(
        python.to_str().unwrap(),
        &[
            root().join("tests/peers/stac_check.py").to_str().unwrap(),
            out.join("stac/item.json").to_str().unwrap(),
            root().join("tests/fixtures/stac-schemas").to_str().unwrap(),
        ],
    );
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let schemas: Vec<&str> = r["schemas"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(schemas[0].contains("v1.1.0/item-spec"), "{schemas:?}");
    for ext in lode::stac::EXTENSIONS {
        assert!(schemas.contains(&ext), "{ext} was not validated: {schemas:?}");
    }
    let assets: Vec<&str> = r["assets"].as_object().unwrap().values().map(|v| v.as_str().unwrap()).collect();
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if [".tif", ".gpkg", ".geojson"].iter().any(|x| name.ends_with(x)) {
            assert!(assets.contains(&name.as_str()), "{name} is no asset of the item: {assets:?}");
        }
    }
    let item = json(&out.join("stac/item.json"));
    assert_eq!(item["properties"]["proj:code"], "EPSG:32754");
    assert_eq!(item["properties"]["proj:shape"], serde_json::json!([120, 150]));
    // The footprint is the grid in WGS84: UTM 54S, near 141 E, 20.8 S.
    let b: Vec<f64> = item["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(b[0] > 140.9 && b[2] < 141.2 && b[1] > -21.0 && b[3] < -20.7 && b[0] < b[2] && b[1] < b[3], "{b:?}");
}
