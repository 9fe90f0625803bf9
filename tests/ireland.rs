//! The Leinster lithium demo's inputs and methods on Geological Survey Ireland's real files
//! (data/ireland-li, CC BY 4.0), each against an independent reference: GDAL's `ogr2ogr`
//! for reading the workbook and for the TM65 -> ITM reprojection, PyKrige for ordinary
//! kriging, numpy for the centred log-ratio and the percentiles (tests/peers/ireland_check.py
//! in the venv `make test-env` builds from tests/requirements.txt), and the demo end to end.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use lode::features::FeatureStack;
use lode::io::vector::{Attr, LayerRef, SourceKeys};

const TOPSOIL: &str = "IE_GSI_Geochemistry_Shallow_Topsoil_A_G7_G9_South_East_ITM_Download_v1.0.xlsx";
const SHEET: &str = "6175xxA-6307xxA";
const STREAM: &str = "Lithium_Stream_Sediment.shp";
const LCT: [&str; 7] = [
    "Li_mgkg_ICPar",
    "Cs_mgkg_ICPar",
    "Rb_mgkg_ICPar",
    "Be_mgkg_ICPar",
    "Nb_mgkg_ICPar",
    "Ta_mgkg_ICPar",
    "Sn_mgkg_ICPar",
];

fn data(name: &str) -> PathBuf {
    root().join("data/ireland-li").join(name)
}

/// The reference checks' Python (`make test-env`).
fn python(args: &[&str]) -> serde_json::Value {
    let py = root().join(".venv-test/bin/python");
    assert!(py.exists(), "{} is missing: run `make test-env` (make test does)", py.display());
    let script = root().join("tests/peers/ireland_check.py");
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    serde_json::from_str(&tool(py.to_str().unwrap(), &all)).expect("JSON from ireland_check.py")
}

/// The topsoil sheet as CSV, converted by ogr2ogr (GDAL's reading, not lode's).
fn sheet_csv(dir: &Path) -> PathBuf {
    let csv = dir.join("topsoil.csv");
    if !csv.exists() {
        tool("ogr2ogr", &["-f", "CSV", csv.to_str().unwrap(), data(TOPSOIL).to_str().unwrap(), SHEET]);
    }
    csv
}

/// Reads a CSV with a header into rows of column -> text.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let split = |l: &str| l.split(',').map(|s| s.trim_matches('"').to_string()).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    lines.map(|l| header.iter().cloned().zip(split(l)).collect()).collect()
}

/// An ITM grid over the topsoil survey at `cell` m.
fn itm_grid(cell: f64) -> lode::grid::Grid {
    let raw = lode::config::RawGrid {
        template: None,
        crs: Some("EPSG:2157".into()),
        bounds: Some([612_000.0, 580_000.0, 736_000.0, 706_000.0]),
        cell_size: Some(cell),
        mask: None,
        mask_layer: None,
        mask_crs: None,
        block_size: 64,
        min_coverage: 0.0,
    };
    lode::config::build_grid(&raw).unwrap()
}

/// A config over the ITM grid at `cell` m with `evidence`, no labels, a fuzzy model.
fn itm_settings(dir: &Path, cell: f64, evidence: &str) -> lode::Settings {
    let text = format!(
        "[project]\nname = \"t\"\n\n[grid]\ncrs = \"EPSG:2157\"\nbounds = [612000.0, 580000.0, 736000.0, 706000.0]\n\
         cell_size = {cell}\nblock_size = 16\n\n{evidence}\n[model]\nkind = \"fuzzy\"\n\n[output]\ndir = \"out\"\n"
    );
    lode::Settings::load(&write(dir, "c.toml", &text)).unwrap_or_else(|e| panic!("{e}"))
}

/// The topsoil sheet's points through lode's table reader.
fn topsoil_points(extra: &[&str]) -> Vec<(geo::Geometry<f64>, Vec<Attr>)> {
    let keys = SourceKeys::new("evidence[0]", Some("Easting_ITM"), Some("Northing_ITM"), Some("EPSG:2157"));
    let layer = LayerRef::open_with("evidence[0].path", &data(TOPSOIL), Some(SHEET), None, &keys).unwrap();
    let (rows, skipped) = layer.read_counted(&itm_grid(2000.0), extra).unwrap();
    assert_eq!(skipped, 0, "every row of the topsoil sheet has coordinates");
    rows
}

#[test]
fn workbook_points_equal_ogr2ogr_with_x_y_possible_names() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = sheet_csv(tmp.path());
    let points = tmp.path().join("points.csv");
    tool(
        "ogr2ogr",
        &[
            "-f",
            "CSV",
            "-lco",
            "GEOMETRY=AS_XY",
            "-oo",
            "X_POSSIBLE_NAMES=Easting_ITM",
            "-oo",
            "Y_POSSIBLE_NAMES=Northing_ITM",
            "-select",
            "Sample_ID",
            points.to_str().unwrap(),
            csv.to_str().unwrap(),
        ],
    );
    let want = read_csv(&points);
    let ours = topsoil_points(&["Sample_ID"]);
    assert_eq!(want.len(), 2820);
    assert_eq!(ours.len(), want.len());
    for (k, ((g, attrs), w)) in ours.iter().zip(&want).enumerate() {
        let geo::Geometry::Point(p) = g else { panic!("row {k} is not a point") };
        let (x, y): (f64, f64) = (w["X"].parse().unwrap(), w["Y"].parse().unwrap());
        assert_eq!(attrs[0], Attr::Text(w["Sample_ID"].clone()), "row {k}");
        assert!((p.x() - x).abs() < 1e-6 && (p.y() - y).abs() < 1e-6, "row {k}: ({}, {}) vs ({x}, {y})", p.x(), p.y());
    }
}

#[test]
fn point_table_rows_are_counted_and_bad_columns_and_crs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ev = |file: &str, keys: &str| {
        format!(
            "[[evidence]]\nname = \"li\"\nkind = \"interpolate\"\npath = \"{file}\"\nattribute = \"li\"\n{keys}\n\
             fuzzy = {{ low = 0, high = 100 }}\n"
        )
    };
    let xy = "x = \"e\"\ny = \"n\"\ncrs = \"EPSG:2157\"";
    // Two rows without coordinates: skipped, counted and reported.
    write(d, "soil.csv", "id,e,n,li\na,650000,640000,20\nb,,640500,30\nc,651000,,25\nd,652000,641000,40\n");
    let s = itm_settings(d, 2000.0, &ev("soil.csv", xy));
    let stack = FeatureStack::prepare(&s).unwrap();
    let described = stack.layers[0].describe();
    assert!(described.contains("of 2 samples") && described.contains("2 without coordinates"), "{described}");
    // A coordinate that is not a number: the row and column are named.
    write(d, "bad.csv", "id,e,n,li\na,650000,640000,20\nb,N/A,640500,30\n");
    let e = lode::Settings::load(&write(
        d,
        "c.toml",
        &std::fs::read_to_string(d.join("c.toml")).unwrap().replace("soil.csv", "bad.csv"),
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("row 3") && e.contains("column `e`") && e.contains("`N/A`"), "{e}");
    // A missing column names its key and lists the columns.
    let text = std::fs::read_to_string(d.join("c.toml"))
        .unwrap()
        .replace("bad.csv", "soil.csv")
        .replace("x = \"e\"", "x = \"east\"");
    let e = lode::Settings::load(&write(d, "c.toml", &text)).unwrap_err().to_string();
    assert!(e.contains("evidence[0].x") && e.contains("no column `east`") && e.contains("e, n, li"), "{e}");
    // The separate below-detection sheet and its join column are checked by validate.
    let bld = text.replace(
        "attribute = \"li\"\n",
        "attribute = \"li\"\nbelow_detection = \"layer\"\nbelow_detection_layer = \"lld\"\njoin = \"id\"\n",
    );
    let e =
        lode::Settings::load(&write(d, "c.toml", &bld.replace("x = \"east\"", "x = \"e\""))).unwrap_err().to_string();
    assert!(e.contains("evidence[0].below_detection_layer") && e.contains("no layer `lld`"), "{e}");
    // A table needs the CRS of its coordinates.
    let text = text.replace("x = \"east\"", "x = \"e\"").replace("y = \"n\"\ncrs = \"EPSG:2157\"", "y = \"n\"");
    let e = lode::Settings::load(&write(d, "c.toml", &text)).unwrap_err().to_string();
    assert!(e.contains("evidence[0].crs"), "{e}");
    // Metres read as degrees: outside the area of use, naming the key.
    let text = text.replace("y = \"n\"", "y = \"n\"\ncrs = \"EPSG:4326\"");
    let e = lode::Settings::load(&write(d, "c.toml", &text)).unwrap_err().to_string();
    assert!(e.contains("evidence[0].crs") && e.contains("area of use"), "{e}");
    // A GeoJSON in metres with no CRS: GDAL takes it as WGS 84; the error names the key,
    // and `crs` assigns the right one.
    write(
        d,
        "nocrs.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"li":20},"geometry":{"type":"Point","coordinates":[650000,640000]}}]}"#,
    );
    let e = lode::Settings::load(&write(d, "c.toml", &itm_settings_text(&ev("nocrs.geojson", ""))))
        .unwrap_err()
        .to_string();
    assert!(e.contains("evidence[0].crs") && e.contains("area of use") && !e.contains("Some("), "{e}");
    lode::Settings::load(&write(d, "c.toml", &itm_settings_text(&ev("nocrs.geojson", "crs = \"EPSG:2157\"")))).unwrap();
}

fn itm_settings_text(evidence: &str) -> String {
    format!(
        "[project]\nname = \"t\"\n\n[grid]\ncrs = \"EPSG:2157\"\nbounds = [612000.0, 580000.0, 736000.0, 706000.0]\n\
         cell_size = 2000.0\n\n{evidence}\n[model]\nkind = \"fuzzy\"\n\n[output]\ndir = \"out\"\n"
    )
}

#[test]
fn stream_sediments_tm65_to_itm_equal_ogr2ogr() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("stream.csv");
    let src = data(STREAM);
    tool(
        "ogr2ogr",
        &["-f", "CSV", "-lco", "GEOMETRY=AS_XY", "-t_srs", "EPSG:2157", csv.to_str().unwrap(), src.to_str().unwrap()],
    );
    let want = read_csv(&csv);
    let layer = LayerRef::open("evidence[0].path", &src, None, None).unwrap();
    let ours = layer.read_attributes(&itm_grid(2000.0), &["GSI_ID"]).unwrap();
    assert_eq!(want.len(), 1906);
    assert_eq!(ours.len(), want.len());
    let mut worst = 0.0f64;
    for (k, ((g, a), w)) in ours.iter().zip(&want).enumerate() {
        let geo::Geometry::Point(p) = g else { panic!() };
        assert_eq!(a[0], Attr::Text(w["GSI_ID"].clone()), "row {k}");
        let d = (p.x() - w["X"].parse::<f64>().unwrap()).hypot(p.y() - w["Y"].parse::<f64>().unwrap());
        worst = worst.max(d);
    }
    assert!(worst < 0.01, "largest difference from ogr2ogr: {worst} m");
    eprintln!("TM65 -> ITM: largest difference from ogr2ogr {worst:.2e} m over 1906 points");
}

#[test]
fn kriging_of_real_topsoil_lithium_equals_pykrige() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (nugget, sill, range) = (30.0, 90.0, 20000.0);
    let s = itm_settings(
        d,
        2000.0,
        &format!(
            "[[evidence]]\nname = \"li\"\nkind = \"interpolate\"\npath = \"{}\"\nlayer = \"{SHEET}\"\nx = \"Easting_ITM\"\n\
             y = \"Northing_ITM\"\ncrs = \"EPSG:2157\"\nattribute = \"Li_mgkg_ICPar\"\ninterpolation = \"ordinary_kriging\"\n\
             variogram = \"spherical\"\nnugget = {nugget}\nsill = {sill}\nrange = {range}\nmax_points = 16\n\
             kriging_variance = true\nfuzzy = {{ low = 0, high = 100 }}\n",
            data(TOPSOIL).display()
        ),
    );
    let stack = FeatureStack::prepare(&s).unwrap();
    let grid = &stack.grid;
    let mut est = vec![(0.0, 0.0); grid.len()];
    let mut cells = String::new();
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            est[grid.index(w.cell(i))] = (b.values[[i, 0]], b.values[[i, 1]]);
        }
    }
    for r in 0..grid.rows {
        for c in 0..grid.cols {
            let (x, y) = grid.centre(lode::grid::Cell { col: c, row: r });
            cells += &format!("{x},{y}\n");
        }
    }
    let cells_path = write(d, "cells.csv", &cells);
    let csv = sheet_csv(d);
    let want = python(&[
        "krige",
        csv.to_str().unwrap(),
        "Easting_ITM",
        "Northing_ITM",
        "Li_mgkg_ICPar",
        cells_path.to_str().unwrap(),
        &nugget.to_string(),
        &sill.to_string(),
        &range.to_string(),
        "16",
    ]);
    let want = want.as_array().unwrap();
    assert_eq!(want.len(), grid.len());
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
    let mut worst = 0.0f64;
    for (k, w) in want.iter().enumerate() {
        let (e, v) = (w[0].as_f64().unwrap(), w[1].as_f64().unwrap());
        let (oe, ov) = est[k];
        assert!(rel(oe, e) < 1e-4, "cell {k}: estimate {oe} vs pykrige {e}");
        assert!(rel(ov, v) < 1e-4, "cell {k}: variance {ov} vs pykrige {v}");
        worst = worst.max(rel(oe, e)).max(rel(ov, v));
    }
    eprintln!("kriged topsoil Li at {} cells: largest relative difference from PyKrige {worst:.2e}", grid.len());
}

#[test]
fn clr_of_the_real_lct_rows_equals_numpy() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = sheet_csv(tmp.path());
    let mut args = vec!["clr", csv.to_str().unwrap(), "Sample_ID"];
    args.extend(LCT);
    let want = python(&args);
    let mut names: Vec<&str> = LCT.to_vec();
    names.push("Sample_ID");
    let rows = topsoil_points(&names);
    let mut worst = 0.0f64;
    for (_, attrs) in &rows {
        let parts: Vec<f64> = attrs[..7]
            .iter()
            .map(|a| match a {
                Attr::Real(v) => *v,
                Attr::Int(v) => *v as f64,
                other => panic!("{other}"),
            })
            .collect();
        let Attr::Text(id) = &attrs[7] else { panic!() };
        let w = want[id.as_str()].as_array().unwrap();
        for (i, wi) in w.iter().enumerate() {
            let ours = lode::features::interpolate::clr(&parts, i);
            let d = (ours - wi.as_f64().unwrap()).abs();
            assert!(d < 1e-12, "{id} part {}: {ours} vs numpy {wi}", LCT[i]);
            worst = worst.max(d);
        }
    }
    assert_eq!(rows.len(), 2820);
    eprintln!("clr of 2820 x 7 real parts: largest difference from numpy {worst:.2e}");
}

#[test]
fn percentile_memberships_equal_numpy_percentile() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let s = itm_settings(
        d,
        2000.0,
        &format!(
            "[[evidence]]\nname = \"li_clr\"\nkind = \"interpolate\"\npath = \"{}\"\nlayer = \"{SHEET}\"\nx = \"Easting_ITM\"\n\
             y = \"Northing_ITM\"\ncrs = \"EPSG:2157\"\nattribute = \"Li_mgkg_ICPar\"\ntransform = \"clr\"\nparts = {:?}\n\
             search_radius = 5000.0\nfuzzy = {{ from = \"percentile\", low = 50, high = 98 }}\n\n\
             [[evidence]]\nname = \"stream_li\"\nkind = \"interpolate\"\npath = \"{}\"\nattribute = \"Li_AAS\"\n\
             search_radius = 4000.0\nfuzzy = {{ from = \"percentile\", low = 2.5, high = 97.5 }}\n",
            data(TOPSOIL).display(),
            LCT,
            data(STREAM).display()
        ),
    );
    let stack = FeatureStack::prepare(&s).unwrap();
    let got = lode::model::fuzzy::percentile_memberships(&s, &stack).unwrap();
    let all = compute_all(&stack);
    for (k, p) in [(0, ["50", "98"]), (1, ["2.5", "97.5"])] {
        let values: Vec<String> = all[k].iter().filter(|v| v.1).map(|v| format!("{:e}", v.0)).collect();
        assert!(values.len() > 1000, "layer {k}: {} cells", values.len());
        let path = write(d, "values.txt", &values.join("\n"));
        let want = python(&["percentile", path.to_str().unwrap(), p[0], p[1]]);
        let (percentiles, at) = got[k].unwrap();
        assert_eq!(percentiles, [p[0].parse::<f64>().unwrap(), p[1].parse::<f64>().unwrap()]);
        for j in 0..2 {
            let w = want[j].as_f64().unwrap();
            assert!(
                (at[j] - w).abs() <= 1e-12 * w.abs().max(1.0),
                "layer {k} percentile {}: {} vs numpy {w}",
                p[j],
                at[j]
            );
        }
    }
}

#[test]
fn the_leinster_demo_runs_end_to_end_on_the_shipped_data() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let text = std::fs::read_to_string(data("leinster-lct.toml")).unwrap();
    let dir_lines = text.lines().filter(|l| l.starts_with("dir = \"")).count();
    assert_eq!(dir_lines, 1);
    let text: String = text
        .lines()
        .map(|l| if l.starts_with("dir = \"") { format!("dir = \"{}\"", out.display()) } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("path = \"", &format!("path = \"{}/", data("").display()));
    let config = write(tmp.path(), "leinster-lct.toml", &text);
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "lode run failed: {}", stderr(&o));
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(summary.contains("knowledge-driven map, not evaluated"), "{summary}");
    // A valid COG on the ITM grid.
    let info = gdalinfo(&out.join("prospectivity.tif"), &[]);
    assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG", "{info}");
    assert_eq!(info["size"], serde_json::json!([488, 500]));
    assert!(info["coordinateSystem"]["wkt"].as_str().unwrap().contains("IRENET95"));
    let validator = "/usr/share/doc/python3-gdal/examples/validate_cloud_optimized_geotiff.py";
    if Path::new(validator).exists() {
        tool("/usr/bin/python3", &[validator, out.join("prospectivity.tif").to_str().unwrap()]);
    }
    // Targets, ranked, with their pathfinders.
    let targets = std::fs::read_to_string(out.join("targets.csv")).unwrap();
    assert!(targets.lines().count() >= 2, "no target: {targets}");
    assert!(targets.lines().nth(1).unwrap().starts_with("1,"), "{targets}");
    // Every layer took its memberships from percentiles of its own values.
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let layers = metrics["model"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    for l in layers {
        assert_eq!(l["from_percentiles"], serde_json::json!([50.0, 98.0]), "{l}");
        let m = &l["membership"]["Linear"];
        assert!(m["high"].as_f64().unwrap() > m["low"].as_f64().unwrap(), "{l}");
    }
    // Below-detection counts per element are reported: Ta from the uncensored sheet.
    let described = metrics["evidence"][0]["description"].as_str().unwrap();
    assert!(described.contains("Ta_mgkg_ICPar 2744 (2744 from Data_Below_LLD)"), "{described}");
    // The report renders: quicklook embedded, no ROC without deposits, the plain statement.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("id=\"no-deposits\"") && page.contains("knowledge-driven"), "report");
    assert!(page.contains("<img id=\"quicklook\"") && !page.contains("<img id=\"roc\""), "report images");
    assert!(!out.join("roc.png").exists());
    for style in ["prospectivity.qml", "targets.qml"] {
        assert!(out.join(style).exists(), "{style}");
    }
}

#[test]
fn the_li_pegmatite_preset_points_at_this_demo() {
    let preset = lode::presets::PRESETS.iter().find(|p| p.name == "li-pegmatite").unwrap();
    let demo = "data/ireland-li/leinster-lct.toml";
    assert!(preset.toml.contains(demo) && preset.summary.contains(demo), "{}", preset.summary);
    assert!(root().join(demo).exists());
    // The preset's example snippet uses keys the demo uses, which lode accepts.
    let snippet: Vec<&str> = preset
        .toml
        .lines()
        .skip_while(|l| !l.starts_with("#   [[evidence]]"))
        .take_while(|l| l.starts_with("#   "))
        .map(|l| &l[4..])
        .collect();
    assert!(snippet.len() > 5, "{snippet:?}");
    let parsed: lode::config::RawEvidence = toml::from_str(&snippet[1..].join("\n")).unwrap();
    assert_eq!(parsed.vector.x.as_deref(), Some("Easting"));
}

#[test]
fn labels_and_point_density_take_point_tables_too() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Three occurrences, one without coordinates (skipped and counted), as a CSV table.
    write(d, "occ.csv", "name,E,N\nAclare-like,690125,676125\nempty,,\nother,700125,650125\n");
    let text = format!(
        "{}\n[labels]\npath = \"occ.csv\"\nx = \"E\"\ny = \"N\"\ncrs = \"EPSG:2157\"\n",
        itm_settings_text(
            "[[evidence]]\nname = \"occ_density\"\nkind = \"point_density\"\npath = \"occ.csv\"\nx = \"E\"\ny = \"N\"\n\
             crs = \"EPSG:2157\"\nradius = 5000.0\nfuzzy = { low = 0, high = 1 }\n"
        )
    );
    let s = lode::Settings::load(&write(d, "c.toml", &text)).unwrap_or_else(|e| panic!("{e}"));
    let deposits = lode::labels::Deposits::load(&s).unwrap();
    assert_eq!(deposits.read, 2);
    assert_eq!(deposits.points, vec![[690125.0, 676125.0], [700125.0, 650125.0]]);
    let stack = FeatureStack::prepare(&s).unwrap();
    let all = compute_all(&stack);
    // The cell holding the first occurrence has a positive density; one 60 km away has none.
    let cell = s.grid.cell_at(690125.0, 676125.0).unwrap();
    assert!(all[0][s.grid.index(cell)].0 > 0.0);
    let far = s.grid.cell_at(620125.0, 590125.0).unwrap();
    assert_eq!(all[0][s.grid.index(far)].0, 0.0);
}

#[test]
fn a_vector_mask_without_a_crs_is_named_and_mask_crs_assigns_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A study area in ITM metres as GeoJSON without a CRS (GDAL reads it as WGS 84).
    let ring = "[[650000,600000],[700000,600000],[700000,680000],[650000,680000],[650000,600000]]";
    write(
        d,
        "area.geojson",
        &format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}"#
        ),
    );
    write(d, "soil.csv", "id,e,n,li\na,660000,640000,20\nb,690000,650000,30\n");
    let ev = "[[evidence]]\nname = \"li\"\nkind = \"interpolate\"\npath = \"soil.csv\"\nx = \"e\"\ny = \"n\"\n\
              crs = \"EPSG:2157\"\nattribute = \"li\"\nfuzzy = { low = 0, high = 100 }\n";
    let text = itm_settings_text(ev).replace("cell_size = 2000.0\n", "cell_size = 2000.0\nmask = \"area.geojson\"\n");
    let e = lode::Settings::load(&write(d, "c.toml", &text)).unwrap_err().to_string();
    assert!(e.contains("grid.mask_crs") && e.contains("area of use"), "{e}");
    let text = text.replace("mask = \"area.geojson\"\n", "mask = \"area.geojson\"\nmask_crs = \"EPSG:2157\"\n");
    let s = lode::Settings::load(&write(d, "c.toml", &text)).unwrap_or_else(|e| panic!("{e}"));
    let inside = s.grid.cell_at(675000.0, 640000.0).unwrap();
    let w = lode::grid::Window { col: inside.col, row: inside.row, cols: 1, rows: 1 };
    assert!(s.grid.mask(&w).unwrap()[0]);
    let outside = s.grid.cell_at(620000.0, 590000.0).unwrap();
    let w = lode::grid::Window { col: outside.col, row: outside.row, cols: 1, rows: 1 };
    assert!(!s.grid.mask(&w).unwrap()[0]);
}
