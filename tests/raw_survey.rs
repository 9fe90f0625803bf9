//! Issue 12, raw survey data straight in: each wall a new user hit gets a test that fails
//! without its fix.
//!
//! - no model silently worse than random: gradient boosting's automatic early stopping
//!   with 13 deposits switches itself off saying so; a held-out AUC below 0.5 is flagged
//!   in the summary, `metrics.json` and the report;
//! - honest map values: the logistic map is prior-corrected, so its values do not scale
//!   with the negative sampling (read back with `gdalinfo -stats`, an independent reader).

mod common;

use std::path::Path;

use common::*;

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

fn run_ok(config: &Path) -> String {
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "lode run failed: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o)
}

const CLONCURRY_EVIDENCE: &str = r#"
[[evidence]]
name = "dist2breccia"
kind = "raster"
path = "DATA/Dist2Breccia.tif"

[[evidence]]
name = "faultdensity"
kind = "raster"
path = "DATA/FaultDensity.tif"
"#;

#[test]
fn gradient_boosting_with_13_deposits_switches_auto_early_stopping_off_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 13 deposits, 800 negatives each: 10 413 rows, so `auto` early stopping would be on
    // and its 10 % split would hold out one deposit.
    let evidence = CLONCURRY_EVIDENCE.replace("DATA", cloncurry("").to_str().unwrap())
        + "\n[model]\nkind = \"gradient_boosting\"\n\n[validation]\nkind = \"spatial_block\"\nblock_size = 20000.0\n\n[targets]\nenabled = false\n";
    let text = cloncurry_config(
        &out,
        "where = \"FID < 13\"\nnegatives_per_positive = 800\nnegative_buffer = 500.0",
        &evidence,
    );
    let config = write(tmp.path(), "c.toml", &text);
    let log = run_ok(&config);
    let m = metrics(&out);
    assert_eq!(m["fit"]["training"]["positives"], 13, "{}", m["fit"]["training"]);
    let es = &m["fit"]["early_stopping"];
    assert_eq!(es["requested"], "auto", "{es}");
    assert!(es["rounds"].is_null(), "early stopping still on: {es}");
    assert_eq!(es["held_out_deposits"], 1, "{es}");
    let note = es["note"].as_str().expect("a note saying why");
    assert!(note.contains("switched off") && note.contains("13 deposit rows"), "{note}");
    // Said in metrics.json's warnings, the run's log and the report.
    assert!(m["warnings"].as_array().unwrap().iter().any(|w| w.as_str() == Some(note)), "{}", m["warnings"]);
    assert!(log.contains("early stopping switched off"), "{log}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("early stopping switched off"), "report lacks the warning");
    // Every one of the 100 rounds was fitted.
    assert_eq!(m["model"]["members"], 1);
    println!("pooled held-out AUC, 13 deposits, gradient boosting: {}", m["validation"]["pooled_auc"]);
}

#[test]
fn a_held_out_auc_below_one_half_is_flagged_in_the_summary_metrics_and_report() {
    // A 10 km square; the evidence is the distance to its east edge. Deposits lie in two
    // clusters, one at the east edge (low distance) and one at the west edge (high):
    // leaving a cluster out, the model learns the other cluster's side and ranks the
    // held-out deposits below their own negatives.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut points = Vec::new();
    for k in 0..6 {
        let y = 1000.0 + 1000.0 * k as f64;
        points.push(geojson_point(9750.0, y));
        points.push(geojson_point(250.0, y));
    }
    write(dir, "deposits.geojson", &geojson_collection(&points));
    let line = format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"LineString","coordinates":[[{x},{y0}],[{x},{y1}]]}}}}"#,
        x = X0 + 10_000.0,
        y0 = Y1,
        y1 = Y1 - 10_000.0
    );
    write(dir, "edge.geojson", &geojson_collection(&[line]));
    let text = format!(
        r#"
[project]
name = "inverted"

[grid]
crs = "EPSG:7845"
bounds = [{X0}, {y0}, {x1}, {Y1}]
cell_size = 100.0

[labels]
path = "deposits.geojson"
negative_buffer = 300.0

[[evidence]]
name = "to_east_edge"
kind = "distance"
path = "edge.geojson"

[validation]
kind = "cluster"
cluster_distance = 2000.0

[targets]
enabled = false

[output]
dir = "out"
"#,
        y0 = Y1 - 10_000.0,
        x1 = X0 + 10_000.0,
    );
    let config = write(dir, "c.toml", &text);
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = String::from_utf8_lossy(&o.stdout);
    let m = metrics(&dir.join("out"));
    let pooled = m["validation"]["pooled_auc"].as_f64().unwrap();
    assert!(pooled < 0.5, "the construction should be worse than random: {pooled}");
    let warnings: Vec<&str> = m["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    let flagged = warnings.iter().find(|w| w.contains("worse than random") && w.contains("pooled")).copied();
    let flagged = flagged.unwrap_or_else(|| panic!("no flag in metrics.json: {warnings:?}"));
    assert!(flagged.contains(&format!("{pooled:.3}")), "{flagged}");
    assert!(summary.contains(&format!("WARNING: {flagged}")), "{summary}");
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.contains("worse than random: held-out AUC pooled"), "report lacks the flag");
}

/// Mean and maximum of `prospectivity.tif` by `gdalinfo -stats` (full precision: the
/// `STATISTICS_*` metadata, not the rounded JSON fields).
fn map_mean(out: &Path) -> (f64, f64) {
    let info = gdalinfo(&out.join("prospectivity.tif"), &["-stats"]);
    let md = &info["bands"][0]["metadata"][""];
    let get = |k: &str| md[k].as_str().unwrap_or_else(|| panic!("{k} missing: {md}")).parse::<f64>().unwrap();
    (get("STATISTICS_MEAN"), get("STATISTICS_MAXIMUM"))
}

#[test]
fn logistic_map_values_are_prior_corrected_and_do_not_scale_with_the_negative_sampling() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = CLONCURRY_EVIDENCE.replace("DATA", cloncurry("").to_str().unwrap())
        + "\n[targets]\nenabled = false\n\n[output]\nreport = false\n";
    let evidence = evidence.replace("\n[output]\nreport = false\n", "");
    let mut means = Vec::new();
    for ratio in [10, 100] {
        let out = tmp.path().join(format!("out{ratio}"));
        let text = cloncurry_config(&out, &format!("negatives_per_positive = {ratio}"), &evidence);
        run_ok(&write(tmp.path(), &format!("c{ratio}.toml"), &text));
        let m = metrics(&out);
        let (mean, max) = map_mean(&out);
        let scored = m["prediction"]["scored_cells"].as_f64().unwrap();
        let positives = m["fit"]["training"]["positives"].as_f64().unwrap();
        println!(
            "{ratio} negatives per deposit: map mean {mean}, expected deposit cells {} of {positives}",
            mean * scored
        );
        assert!(max <= 1.0 && mean > 0.0);
        // Calibrated in the large: a logistic fit with an intercept matches the deposit
        // count on its sample, and the correction carries that to the study area.
        assert!((mean * scored - positives).abs() < 0.1 * positives, "{ratio}: {} vs {positives}", mean * scored);
        let pc = &m["model"]["prior_correction"];
        assert!(
            (pc["population_share"].as_f64().unwrap()
                - positives / m["prediction"]["study_area_cells"].as_f64().unwrap())
            .abs()
                < 1e-12,
            "{pc}"
        );
        assert!(m["model"]["map_values"].as_str().unwrap().contains("prior-corrected"), "{}", m["model"]);
        means.push(mean);
    }
    // Uncorrected, the mean falls about tenfold from 10 to 100 negatives per deposit.
    let ratio = means[0] / means[1];
    assert!(ratio > 0.67 && ratio < 1.5, "map mean {} at 10 negatives per deposit, {} at 100", means[0], means[1]);
}

// ---------------------------------------------------------------------------------------
// The raw survey fixture, built from real data by GDAL's own tools in the test:
// Geoscience Australia's Cloncurry StratNo.tif (a 50 km square of it) polygonized into
// lithology polygons with text unit names (`Unit-585`), one unit deleted to leave holes
// of unmapped ground; the deposits in that square as GeoJSON; a geochemistry point layer
// (values made up on a 2 km lattice, text with zeros and `<0.5`).
// ---------------------------------------------------------------------------------------

/// The square: columns 0..500, rows 500..1000 of StratNo.tif (50 IOCG deposits).
const SRCWIN: [&str; 4] = ["0", "500", "500", "500"];

/// The unit deleted to make unmapped ground.
const DELETED_UNIT: &str = "9136";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn build() -> Fixture {
        let fx = Fixture { dir: tempfile::tempdir().unwrap() };
        let p = |n: &str| fx.path(n);
        let strat = cloncurry("StratNo.tif");
        let mut args = vec!["-q", "-srcwin"];
        args.extend(SRCWIN);
        let (s, t) = (strat.to_str().unwrap().to_string(), p("grid.tif"));
        args.extend([s.as_str(), t.as_str()]);
        tool("gdal_translate", &args);
        tool("gdal_polygonize.py", &["-q", &p("grid.tif"), "-f", "GPKG", &p("poly.gpkg"), "litho", "stratno"]);
        // Text unit names, one unit deleted: what a geologist's lithology file looks like.
        let sql =
            format!("SELECT 'Unit-' || CAST(stratno AS TEXT) AS unit, geom FROM litho WHERE stratno <> {DELETED_UNIT}");
        tool(
            "ogr2ogr",
            &[
                "-q",
                "-f",
                "GPKG",
                "-nlt",
                "MULTIPOLYGON",
                "-nln",
                "lithology",
                &p("lithology.gpkg"),
                &p("poly.gpkg"),
                "-dialect",
                "sqlite",
                "-sql",
                &sql,
            ],
        );
        // Deposits inside the square, as GeoJSON.
        let info = gdalinfo(&fx.dir.path().join("grid.tif"), &[]);
        let c = &info["cornerCoordinates"];
        let (x0, y1) = (c["upperLeft"][0].as_f64().unwrap(), c["upperLeft"][1].as_f64().unwrap());
        let (x1, y0) = (c["lowerRight"][0].as_f64().unwrap(), c["lowerRight"][1].as_f64().unwrap());
        let spat: Vec<String> = [x0, y0, x1, y1].iter().map(|v| v.to_string()).collect();
        let deposits = cloncurry("IOCG_Deposits.shp");
        tool(
            "ogr2ogr",
            &[
                "-q",
                "-f",
                "GeoJSON",
                "-spat",
                &spat[0],
                &spat[1],
                &spat[2],
                &spat[3],
                &p("deposits-crs.geojson"),
                deposits.to_str().unwrap(),
            ],
        );
        // As a field GPS export holds them: metres, and no CRS in the file (a GeoJSON
        // without `crs` reads as WGS84 degrees), so the config has to give `labels.crs`.
        let mut d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p("deposits-crs.geojson")).unwrap()).unwrap();
        assert!(d.as_object_mut().unwrap().remove("crs").is_some(), "ogr2ogr wrote the CRS");
        write(fx.dir.path(), "deposits.geojson", &d.to_string());
        // Structures with attribute classes: the boundaries of the real lithology
        // polygons as faults, of `type` `thrust` (polygons of units below 5000) or
        // `normal`; the model takes the thrusts only (`where`).
        tool(
            "ogr2ogr",
            &["-q", "-f", "GPKG", "-nlt", "MULTILINESTRING", "-nln", "faults", &p("faults.gpkg"), &p("poly.gpkg"), "-dialect", "sqlite", "-sql",
              "SELECT CASE WHEN stratno < 5000 THEN 'thrust' ELSE 'normal' END AS type, CastToMultiLineString(ST_Boundary(geom)) AS geom FROM litho"],
        );
        // Geochemistry: a 2 km lattice, text values, some `0` and some `<0.5`.
        let mut features = Vec::new();
        let mut k = 0;
        let mut y = y0 + 1000.0;
        while y < y1 {
            let mut x = x0 + 1000.0;
            while x < x1 {
                let v = 5.0 + 40.0 * ((x - x0) / 7000.0).sin().abs() * ((y - y0) / 11000.0).cos().abs();
                let text = if k % 13 == 0 {
                    "<0.5".to_string()
                } else if k % 17 == 0 {
                    "0".to_string()
                } else {
                    format!("{v:.1}")
                };
                features.push(format!(
                    r#"{{"type":"Feature","properties":{{"cu_ppm":"{text}"}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#
                ));
                k += 1;
                x += 2000.0;
            }
            y += 2000.0;
        }
        let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::7845"}}"#;
        write(
            fx.dir.path(),
            "geochem.geojson",
            &format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, features.join(",")),
        );
        fx
    }

    /// The GDAL preprocessing a user needed before this issue: contacts by dissolving the
    /// units and intersecting their boundaries; lithology burnt to integer codes (units in
    /// name order, unmapped ground the last code); geochemistry cleaned to numbers
    /// (`<0.5` -> 0.25, zeros -> half the smallest positive value); log1p of the distance.
    fn preprocess(&self) -> usize {
        let p = |n: &str| self.path(n);
        tool(
            "ogr2ogr",
            &[
                "-q",
                "-f",
                "GPKG",
                "-nlt",
                "MULTIPOLYGON",
                "-nln",
                "units",
                &p("units.gpkg"),
                &p("lithology.gpkg"),
                "-dialect",
                "sqlite",
                "-sql",
                "SELECT unit, ST_Union(geom) AS geom FROM lithology GROUP BY unit",
            ],
        );
        tool(
            "ogr2ogr",
            &["-q", "-f", "GPKG", "-nlt", "MULTILINESTRING", "-nln", "contacts", &p("contacts.gpkg"), &p("units.gpkg"), "-dialect", "sqlite", "-sql",
              "SELECT a.unit || '|' || b.unit AS pair, CastToMultiLineString(CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)) AS geom \
               FROM units a, units b WHERE a.unit < b.unit AND ST_Intersects(a.geom, b.geom) \
               AND CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2) IS NOT NULL"],
        );
        tool(
            "ogr2ogr",
            &["-q", "-f", "GPKG", "-nln", "coded", &p("coded.gpkg"), &p("lithology.gpkg"), "-dialect", "sqlite", "-sql",
              "SELECT a.geom, a.unit, (SELECT count(DISTINCT b.unit) FROM lithology b WHERE b.unit < a.unit) + 1 AS code FROM lithology a"],
        );
        let units: usize = {
            let out = tool(
                "ogrinfo",
                &[
                    "-q",
                    "-dialect",
                    "sqlite",
                    "-sql",
                    "SELECT count(DISTINCT unit) AS n FROM lithology",
                    &p("lithology.gpkg"),
                ],
            );
            out.lines().find_map(|l| l.trim().strip_prefix("n (Integer) = ")).unwrap().trim().parse().unwrap()
        };
        let grid = gdalinfo(&self.dir.path().join("grid.tif"), &[]);
        let c = &grid["cornerCoordinates"];
        let te: Vec<String> = [
            c["upperLeft"][0].clone(),
            c["lowerRight"][1].clone(),
            c["lowerRight"][0].clone(),
            c["upperLeft"][1].clone(),
        ]
        .iter()
        .map(|v| v.as_f64().unwrap().to_string())
        .collect();
        let init = (units + 1).to_string();
        tool(
            "gdal_rasterize",
            &[
                "-q",
                "-a",
                "code",
                "-init",
                &init,
                "-ot",
                "Int32",
                "-te",
                &te[0],
                &te[1],
                &te[2],
                &te[3],
                "-tr",
                "100",
                "100",
                &p("coded.gpkg"),
                &p("lithology.tif"),
            ],
        );
        let num =
            "(CASE WHEN cu_ppm LIKE '<%' THEN CAST(substr(cu_ppm, 2) AS REAL) / 2.0 ELSE CAST(cu_ppm AS REAL) END)";
        let sql = format!(
            "SELECT geometry, CASE WHEN {num} <= 0 THEN (SELECT min({num}) FROM geochem WHERE {num} > 0) / 2.0 ELSE {num} END AS cu_ppm FROM geochem"
        );
        tool(
            "ogr2ogr",
            &[
                "-q",
                "-f",
                "GPKG",
                "-nln",
                "geochem",
                &p("geochem.gpkg"),
                &p("geochem.geojson"),
                "-dialect",
                "sqlite",
                "-sql",
                &sql,
            ],
        );
        tool("ogr2ogr", &["-q", "-f", "GPKG", "-a_srs", "EPSG:7845", &p("deposits.gpkg"), &p("deposits.geojson")]);
        tool("ogr2ogr", &["-q", "-f", "GPKG", "-where", "type = 'thrust'", &p("thrusts.gpkg"), &p("faults.gpkg")]);
        let d2b = cloncurry("Dist2Breccia.tif");
        let mut args = vec!["-q", "-srcwin"];
        args.extend(SRCWIN);
        let (s, t) = (d2b.to_str().unwrap().to_string(), p("d2b.tif"));
        args.extend([s.as_str(), t.as_str()]);
        tool("gdal_translate", &args);
        tool(
            "gdal_calc.py",
            &[
                "--quiet",
                "-A",
                &p("d2b.tif"),
                "--outfile",
                &p("d2b_log1p.tif"),
                "--type",
                "Float64",
                "--calc",
                "log1p(A)",
                "--NoDataValue",
                "-9999",
            ],
        );
        units
    }

    /// The config: `evidence` tables, logistic regression, spatial-block validation.
    fn config(&self, name: &str, evidence: &str) -> std::path::PathBuf {
        let text = format!(
            r#"
[project]
name = "{name}"

[grid]
template = "grid.tif"

[labels]
path = "deposits.geojson"
crs = "EPSG:7845"
negative_buffer = 1000.0

{evidence}

[validation]
kind = "spatial_block"
block_size = 10000.0

[targets]
enabled = false

[output]
dir = "out-{name}"
report = false
"#
        );
        write(self.dir.path(), &format!("{name}.toml"), &text)
    }
}

/// Raw: text lithology with gaps, contacts, geochemistry with zeros and `<0.5`, the
/// distance raster log1p-transformed: no preprocessing outside lode.
const RAW_EVIDENCE: &str = r#"
[[evidence]]
name = "lith"
kind = "rasterize"
path = "lithology.gpkg"
attribute = "unit"

[[evidence]]
name = "contacts"
kind = "contacts"
path = "lithology.gpkg"
attribute = "unit"

[[evidence]]
name = "cu"
kind = "interpolate"
path = "geochem.geojson"
attribute = "cu_ppm"
transform = "log"
zeros = "half_min"

[[evidence]]
name = "d2b"
kind = "raster"
path = "D2B"
transform = "log1p"

[[evidence]]
name = "thrusts"
kind = "distance"
path = "faults.gpkg"
where = "type = 'thrust'"
"#;

const PREPROCESSED_EVIDENCE: &str = r#"
[[evidence]]
name = "lith"
kind = "categorical"
path = "lithology.tif"

[[evidence]]
name = "contacts"
kind = "distance"
path = "contacts.gpkg"

[[evidence]]
name = "cu"
kind = "interpolate"
path = "geochem.gpkg"
attribute = "cu_ppm"
transform = "log"

[[evidence]]
name = "d2b"
kind = "raster"
path = "d2b_log1p.tif"

[[evidence]]
name = "thrusts"
kind = "distance"
path = "thrusts.gpkg"
"#;

/// `(value, valid)` per cell of a single-band raster, by GDAL's `gdal_translate -of XYZ`.
fn xyz(path: &Path) -> Vec<Option<f64>> {
    let out = tool("gdal_translate", &["-q", "-of", "XYZ", path.to_str().unwrap(), "/vsistdout/"]);
    out.lines()
        .map(|l| {
            let v: f64 = l.split_whitespace().nth(2).unwrap().parse().unwrap();
            (v != -9999.0).then_some(v)
        })
        .collect()
}

#[test]
fn the_raw_package_gives_the_map_of_the_gdal_preprocessed_one_cell_for_cell() {
    let fx = Fixture::build();
    let units = fx.preprocess();
    let d2b = cloncurry("Dist2Breccia.tif");
    let raw = fx.config("raw", &RAW_EVIDENCE.replace("D2B", d2b.to_str().unwrap()));
    let pre = fx.config("pre", PREPROCESSED_EVIDENCE);
    // The preprocessed package: deposits given their CRS by GDAL (no `labels.crs`).
    let text = std::fs::read_to_string(&pre).unwrap();
    let pre = write(
        fx.dir.path(),
        "pre.toml",
        &text.replace("path = \"deposits.geojson\"\ncrs = \"EPSG:7845\"\n", "path = \"deposits.gpkg\"\n"),
    );
    assert!(!std::fs::read_to_string(&pre).unwrap().contains("EPSG:7845"));
    // Without `labels.crs` the CRS-less deposits (metres read as degrees) are refused,
    // the message naming the key.
    let text = std::fs::read_to_string(&raw).unwrap();
    let no_crs = write(fx.dir.path(), "nocrs.toml", &text.replace("crs = \"EPSG:7845\"\n", ""));
    let o = lode(&["validate", no_crs.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("labels.crs"), "{}", stderr(&o));
    let log = run_ok(&raw);
    run_ok(&pre);
    // Unmapped ground is the class `unmapped`, said with its count and share.
    assert!(log.contains("lie outside every polygon and are the class `unmapped`"), "{log}");
    let (mr, mp) = (metrics(&fx.dir.path().join("out-raw")), metrics(&fx.dir.path().join("out-pre")));
    let cols: Vec<&str> = mr["features"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    assert!(cols.contains(&"lith=Unit-585") && cols.contains(&"lith=unmapped"), "{cols:?}");
    assert_eq!(cols.len(), mp["features"].as_array().unwrap().len());
    assert_eq!(cols.iter().filter(|c| c.starts_with("lith=")).count(), units + 1);
    assert_eq!(mr["prediction"]["cells_without_evidence"], 0, "no cell silently dropped");
    let a = xyz(&fx.dir.path().join("out-raw/prospectivity.tif"));
    let b = xyz(&fx.dir.path().join("out-pre/prospectivity.tif"));
    assert_eq!(a.len(), 250_000);
    let mut worst = 0f64;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        match (x, y) {
            (Some(x), Some(y)) => worst = worst.max((x - y).abs() / y.abs().max(1e-12)),
            (None, None) => {}
            _ => panic!("cell {i}: {x:?} raw, {y:?} preprocessed"),
        }
    }
    assert!(worst < 1e-4, "largest relative difference {worst}");
    let auc = |m: &serde_json::Value| {
        (m["validation"]["pooled_auc"].as_f64().unwrap(), m["validation"]["cv_auc"].as_f64().unwrap())
    };
    println!(
        "held-out AUC (pooled, mean of folds): raw {:?}, preprocessed {:?}; largest relative map difference {worst:e}",
        auc(&mr),
        auc(&mp)
    );
    assert!((auc(&mr).0 - auc(&mp).0).abs() < 1e-6);
}

/// Every cell of every layer of a config in `dir`, through the library.
fn layers_of(config: &Path) -> (Vec<String>, Vec<Vec<(f64, bool)>>) {
    let settings = lode::Settings::load(config).unwrap_or_else(|e| panic!("{e}"));
    let stack = lode::features::FeatureStack::prepare(&settings).unwrap_or_else(|e| panic!("{e}"));
    (stack.summaries().into_iter().map(|s| s.description).collect(), compute_all(&stack))
}

#[test]
fn contacts_equal_the_distance_to_gdals_dissolved_shared_boundaries() {
    let fx = Fixture::build();
    fx.preprocess();
    let config = fx.config(
        "contacts",
        r#"
[[evidence]]
name = "contacts"
kind = "contacts"
path = "lithology.gpkg"
attribute = "unit"

[[evidence]]
name = "reference"
kind = "distance"
path = "contacts.gpkg"

[[evidence]]
name = "every_boundary"
kind = "distance"
path = "lithology.gpkg"
"#,
    );
    let (_, l) = layers_of(&config);
    let mut worst = 0f64;
    let mut differ = 0;
    for i in 0..l[0].len() {
        assert!(l[0][i].1 && l[1][i].1);
        worst = worst.max((l[0][i].0 - l[1][i].0).abs());
        // Without contacts: the distance to every polygon boundary (the map edge, the holes,
        // boundaries inside a unit) is a different layer.
        if (l[2][i].0 - l[0][i].0).abs() > 100.0 {
            differ += 1;
        }
    }
    assert!(worst < 1e-6, "contacts differ from GDAL's by {worst} m");
    assert!(differ > 10_000, "only {differ} cells differ from the distance to every boundary");
    // `between`: only contacts of one unit with any other.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("attribute = \"unit\"\n", "attribute = \"unit\"\nbetween = [[\"Unit-585\", \"*\"]]\n");
    let (_, b) = layers_of(&write(fx.dir.path(), "between.toml", &text));
    assert!((0..b[0].len()).all(|i| b[0][i].0 >= l[0][i].0 - 1e-9), "a subset of the contacts is never nearer");
    assert!((0..b[0].len()).any(|i| b[0][i].0 > l[0][i].0 + 100.0));
}

#[test]
fn classify_gives_numpy_digitize_classes_with_exact_quantile_breaks_and_wofe_takes_the_layer() {
    let fx = Fixture::build();
    fx.preprocess();
    let config = fx.config(
        "classify",
        r#"
[[evidence]]
name = "raw"
kind = "raster"
path = "d2b.tif"

[[evidence]]
name = "quantile"
kind = "raster"
path = "d2b.tif"
classify = { method = "quantile", classes = 7 }

[[evidence]]
name = "equal"
kind = "raster"
path = "d2b.tif"
classify = { method = "equal_interval", classes = 5 }

[[evidence]]
name = "given"
kind = "raster"
path = "d2b.tif"
transform = "log1p"
classify = { method = "breaks", breaks = [2.0, 5.5, 7.0, 8.0] }
"#,
    );
    let (_, l) = layers_of(&config);
    let values: Vec<String> = l[0].iter().map(|v| format!("{}", v.0)).collect();
    write(fx.dir.path(), "values.txt", &values.join("\n"));
    // numpy: quantile breaks by the inverted CDF (exact order statistics), digitize.
    let script = format!(
        "import numpy as np, json\nx=np.loadtxt('{}')\n\
         q=np.unique(np.quantile(x, [k/7 for k in range(1,7)], method='inverted_cdf'))\n\
         e=np.unique(x.min()+np.arange(1,5)*(x.max()-x.min())/5)\n\
         g=np.digitize(np.log1p(x), [2.0,5.5,7.0,8.0])+1\n\
         print(json.dumps([(np.digitize(x,q)+1).tolist(), (np.digitize(x,e)+1).tolist(), g.tolist()]))\n",
        fx.path("values.txt")
    );
    let out = tool("/usr/bin/python3", &["-c", &script]);
    let expected: Vec<Vec<f64>> = serde_json::from_str(&out).unwrap();
    for (k, layer) in [1, 2, 3].iter().enumerate() {
        let got: Vec<f64> = l[*layer].iter().map(|v| v.0).collect();
        let bad = got.iter().zip(&expected[k]).filter(|(a, b)| a != b).count();
        assert_eq!(bad, 0, "layer {layer}: {bad} cells differ from numpy.digitize");
    }
    // Weights of evidence takes the classified distance layer directly; unclassified, it
    // is refused as before.
    let wofe = |classify: &str| {
        fx.config(
            "wofe",
            &format!("[[evidence]]\nname = \"contacts\"\nkind = \"distance\"\npath = \"contacts.gpkg\"\n{classify}\n\n[model]\nkind = \"wofe\"\n"),
        )
    };
    run_ok(&wofe("classify = { method = \"quantile\", classes = 10 }"));
    let o = lode(&["run", wofe("").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("classify"), "{}", stderr(&o));
}

#[test]
fn log_of_geochemistry_with_zeros_names_the_rule_and_half_min_or_drop_run() {
    let fx = Fixture::build();
    let table = |zeros: &str| {
        format!(
            "[[evidence]]\nname = \"cu\"\nkind = \"interpolate\"\npath = \"geochem.geojson\"\nattribute = \"cu_ppm\"\ntransform = \"log\"\n{zeros}\n"
        )
    };
    let o = lode(&["run", fx.config("zeros", &table("")).to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no logarithm") && err.contains("zeros = \"half_min\""), "{err}");
    for rule in ["half_min", "drop"] {
        let config = fx.config(rule, &table(&format!("zeros = \"{rule}\"")));
        let log = run_ok(&config);
        assert!(log.contains("samples <= 0 have no logarithm"), "{log}");
    }
    // The log-space estimate kept as the feature: the log of the back-transformed one.
    let both = format!(
        "{}\n{}",
        table("zeros = \"half_min\""),
        table("zeros = \"half_min\"\nback_transform = false").replace("name = \"cu\"", "name = \"cu_log\"")
    );
    let (_, l) = layers_of(&fx.config("both", &both));
    let i = l[0].iter().position(|v| v.1).unwrap();
    assert!((l[0][i].0.ln() - l[1][i].0).abs() < 1e-9, "{} vs {}", l[0][i].0, l[1][i].0);
}

#[test]
fn text_classes_select_units_and_unmapped_nodata_leaves_the_gaps_out_saying_so() {
    let fx = Fixture::build();
    let table = |extra: &str| {
        format!("[[evidence]]\nname = \"lith\"\nkind = \"rasterize\"\npath = \"lithology.gpkg\"\nattribute = \"unit\"\n{extra}\n")
    };
    let config = fx.config("classes", &table("classes = [\"Unit-585\", \"Unit-4727\", \"unmapped\"]"));
    let s = lode::Settings::load(&config).unwrap_or_else(|e| panic!("{e}"));
    let stack = lode::features::FeatureStack::prepare(&s).unwrap();
    assert_eq!(stack.columns, vec!["lith=Unit-585", "lith=Unit-4727", "lith=unmapped"]);
    let err = lode::Settings::load(&fx.config("typo", &table("classes = [\"Unit-9999\"]")))
        .and_then(|s| lode::features::FeatureStack::prepare(&s).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`Unit-9999`") && err.contains("Unit-585"), "{err}");
    // The gaps: counted the same by `class` (a column) and by `nodata` (no data).
    let config = fx.config("nodata", &table("unmapped = \"nodata\""));
    let log = run_ok(&config);
    let m = metrics(&fx.dir.path().join("out-nodata"));
    let gaps = m["prediction"]["cells_without_evidence"].as_u64().unwrap();
    assert!(gaps > 1000, "{gaps}");
    let percent = 100.0 * gaps as f64 / 250_000.0;
    assert!(log.contains(&format!("{gaps} study-area cells ({percent:.2} % of the study area)")), "{log}");
}

/// `(fold, x, y, role)` rows of `cv_folds.csv`.
fn cv_rows(out: &Path) -> Vec<(usize, f64, f64, String)> {
    std::fs::read_to_string(out.join("cv_folds.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap(), f[6].to_string())
        })
        .collect()
}

#[test]
fn a_given_fold_layout_is_reproduced_exactly_from_polygons_or_a_raster_and_blocks_take_an_origin() {
    let fx = Fixture::build();
    let info = gdalinfo(&fx.dir.path().join("grid.tif"), &[]);
    let c = &info["cornerCoordinates"];
    let (x0, y1) = (c["upperLeft"][0].as_f64().unwrap(), c["upperLeft"][1].as_f64().unwrap());
    let (x1, y0) = (c["lowerRight"][0].as_f64().unwrap(), c["lowerRight"][1].as_f64().unwrap());
    // Three published folds: vertical strips with ids 30, 10, 20 from west to east.
    let edges = [x0, x0 + 15_000.0, x0 + 32_000.0, x1];
    let ids = [30, 10, 20];
    let strips: Vec<String> = (0..3)
        .map(|k| {
            let (a, b) = (edges[k], edges[k + 1]);
            format!(
                r#"{{"type":"Feature","properties":{{"fold":{}}},"geometry":{{"type":"Polygon","coordinates":[[[{a},{y0}],[{b},{y0}],[{b},{y1}],[{a},{y1}],[{a},{y0}]]]}}}}"#,
                ids[k]
            )
        })
        .collect();
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::7845"}}"#;
    write(
        fx.dir.path(),
        "folds.geojson",
        &format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, strips.join(",")),
    );
    tool(
        "gdal_rasterize",
        &[
            "-q",
            "-a",
            "fold",
            "-a_nodata",
            "0",
            "-ot",
            "Int32",
            "-tr",
            "100",
            "100",
            "-te",
            &x0.to_string(),
            &y0.to_string(),
            &x1.to_string(),
            &y1.to_string(),
            &fx.path("folds.geojson"),
            &fx.path("folds.tif"),
        ],
    );
    let evidence =
        "[[evidence]]\nname = \"lith\"\nkind = \"rasterize\"\npath = \"lithology.gpkg\"\nattribute = \"unit\"\n";
    let with_validation = |name: &str, validation: &str| {
        let text = std::fs::read_to_string(fx.config(name, evidence)).unwrap();
        let start = text.find("[validation]").unwrap();
        let end = text.find("[targets]").unwrap();
        write(fx.dir.path(), &format!("{name}.toml"), &format!("{}{validation}\n\n{}", &text[..start], &text[end..]))
    };
    run_ok(&with_validation("poly", "[validation]\nkind = \"layer\"\npath = \"folds.geojson\"\nattribute = \"fold\""));
    run_ok(&with_validation("grid", "[validation]\nkind = \"layer\"\npath = \"folds.tif\""));
    let poly = cv_rows(&fx.dir.path().join("out-poly"));
    // Fold k holds the rows of the k-th id in sorted order (10, 20, 30): strips 1, 2, 0.
    let strip_of = |x: f64| (0..3).find(|&k| x >= edges[k] && x < edges[k + 1]).unwrap();
    let expected_fold = |x: f64| [2, 0, 1][strip_of(x)];
    let tests: Vec<_> = poly.iter().filter(|r| r.3 == "test").collect();
    assert!(!tests.is_empty());
    for r in &tests {
        assert_eq!(r.0, expected_fold(r.1), "row at ({}, {})", r.1, r.2);
    }
    let m = metrics(&fx.dir.path().join("out-poly"));
    assert_eq!(m["validation"]["folds"], 3);
    // The raster of the same folds gives the same layout, row for row.
    assert_eq!(poly, cv_rows(&fx.dir.path().join("out-grid")));

    // spatial_block from a given origin: rows in one block from that origin share a fold.
    let (ox, oy) = (x0 + 5_000.0, y1 - 3_000.0);
    let bs = 10_000.0;
    run_ok(&with_validation(
        "origin",
        &format!("[validation]\nkind = \"spatial_block\"\nblock_size = {bs}\norigin = [{ox}, {oy}]"),
    ));
    let rows = cv_rows(&fx.dir.path().join("out-origin"));
    let mut fold_of_block: std::collections::HashMap<(i64, i64), usize> = Default::default();
    let mut grid_blocks: std::collections::HashMap<(i64, i64), std::collections::BTreeSet<usize>> = Default::default();
    for r in rows.iter().filter(|r| r.3 == "test") {
        let b = (((r.1 - ox) / bs).floor() as i64, ((r.2 - oy) / bs).floor() as i64);
        assert_eq!(*fold_of_block.entry(b).or_insert(r.0), r.0, "block {b:?} split across folds");
        let g = (((r.1 - x0) / bs).floor() as i64, ((r.2 - y1) / bs).floor() as i64);
        grid_blocks.entry(g).or_default().insert(r.0);
    }
    assert!(grid_blocks.values().any(|f| f.len() > 1), "blocks from the grid origin would not split: origin unused?");
}

#[test]
fn negatives_is_an_absolute_count_and_negatives_per_positive_has_no_cap() {
    let fx = Fixture::build();
    let evidence =
        "[[evidence]]\nname = \"lith\"\nkind = \"rasterize\"\npath = \"lithology.gpkg\"\nattribute = \"unit\"\n";
    let text = std::fs::read_to_string(fx.config("n", evidence)).unwrap();
    let abs = write(
        fx.dir.path(),
        "abs.toml",
        &text.replace("negative_buffer = 1000.0", "negative_buffer = 1000.0\nnegatives = 777"),
    );
    run_ok(&abs);
    let m = metrics(&fx.dir.path().join("out-n"));
    assert_eq!(m["fit"]["training"]["negatives"], 777);
    let many = write(
        fx.dir.path(),
        "many.toml",
        &text.replace("negative_buffer = 1000.0", "negative_buffer = 100.0\nnegatives_per_positive = 2000"),
    );
    let o = lode(&["validate", many.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn validate_lists_every_problem_it_finds_not_just_the_first() {
    let fx = Fixture::build();
    // Two missing files and a missing attribute, in three tables.
    let broken = fx.config(
        "broken",
        r#"
[[evidence]]
name = "a"
kind = "raster"
path = "no-such-magnetics.tif"

[[evidence]]
name = "b"
kind = "distance"
path = "no-such-faults.gpkg"

[[evidence]]
name = "lith"
kind = "rasterize"
path = "lithology.gpkg"
attribute = "no_such_field"
"#,
    );
    let o = lode(&["validate", broken.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("3 problems"), "{err}");
    for what in ["no-such-magnetics.tif", "no-such-faults.gpkg", "no_such_field"] {
        assert!(err.contains(what), "{what} missing from: {err}");
    }
    // A config that loads: log of zero samples, and a continuous layer for wofe.
    let data = fx.config(
        "data",
        r#"
[[evidence]]
name = "cu"
kind = "interpolate"
path = "geochem.geojson"
attribute = "cu_ppm"
transform = "log"

[[evidence]]
name = "contacts"
kind = "contacts"
path = "lithology.gpkg"
attribute = "unit"

[model]
kind = "wofe"
"#,
    );
    let o = lode(&["validate", data.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("3 problems") && err.contains("feature 17: 0, which has no logarithm"), "{err}");
    for layer in ["evidence `cu`", "evidence `contacts`"] {
        assert!(err.contains(&format!("{layer}`: model.kind = \"wofe\" needs classes")), "{layer}: {err}");
    }
}

#[test]
fn gdal_virtual_paths_and_plain_zips_are_read_wherever_a_path_is() {
    let fx = Fixture::build();
    let p = |n: &str| fx.path(n);
    // Archives of the fixture's inputs: a zipped Shapefile, a tar of the grid, a gzipped GeoJSON.
    tool("ogr2ogr", &["-q", "-f", "ESRI Shapefile", &p("shp"), &p("deposits.geojson"), "-nln", "deposits"]);
    let zip = "import zipfile,sys,os\nz=zipfile.ZipFile(sys.argv[1],'w')\nfor f in sorted(os.listdir(sys.argv[2])): z.write(os.path.join(sys.argv[2],f), f)\nz.close()\n";
    tool("/usr/bin/python3", &["-c", zip, &p("deposits.zip"), &p("shp")]);
    tool("tar", &["-cf", &p("grid.tar"), "-C", &p(""), "grid.tif"]);
    tool("gzip", &["-k", &p("geochem.geojson")]);
    let evidence = |grid: &str, geochem: &str| {
        format!(
            "[[evidence]]\nname = \"strat\"\nkind = \"categorical\"\npath = \"{grid}\"\n\n\
             [[evidence]]\nname = \"cu\"\nkind = \"interpolate\"\npath = \"{geochem}\"\nattribute = \"cu_ppm\"\n"
        )
    };
    let plain = fx.config("plain", &evidence("grid.tif", "geochem.geojson"));
    let vsi = |name: &str, labels: &str| {
        let text = std::fs::read_to_string(fx.config(
            name,
            &evidence(&format!("/vsitar/{}/grid.tif", p("grid.tar")), &format!("/vsigzip/{}", p("geochem.geojson.gz"))),
        ))
        .unwrap()
        .replace("path = \"deposits.geojson\"", &format!("path = \"{labels}\""));
        write(fx.dir.path(), &format!("{name}.toml"), &text)
    };
    run_ok(&plain);
    let reference = xyz(&fx.dir.path().join("out-plain/prospectivity.tif"));
    for (name, labels) in
        [("zip", "deposits.zip".to_string()), ("vsizip", format!("/vsizip/{}/deposits.shp", p("deposits.zip")))]
    {
        let config = vsi(name, &labels);
        let o = lode(&["validate", config.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        run_ok(&config);
        assert_eq!(metrics(&fx.dir.path().join(format!("out-{name}")))["deposits"]["read"], 50, "{name}");
        assert_eq!(xyz(&fx.dir.path().join(format!("out-{name}/prospectivity.tif"))), reference, "{name}");
    }
    // The manifest checksums the local archive a virtual path reads.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.dir.path().join("out-vsizip/manifest.json")).unwrap())
            .unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    assert!(inputs.iter().any(|i| i["path"].as_str().unwrap().ends_with("grid.tar")), "{inputs:?}");
    // A missing member is named, checked through GDAL.
    let missing = vsi("missing", &format!("/vsizip/{}/nothing.shp", p("deposits.zip")));
    let o = lode(&["validate", missing.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("labels.path") && stderr(&o).contains("nothing.shp"), "{}", stderr(&o));

    // /vsicurl/ against an HTTP server on loopback, started and stopped by this test (by PID).
    let port = free_port();
    let mut server = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory", &p("")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/deposits.geojson");
    let mut up = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let result = up.then(|| {
        let config = vsi("curl", &format!("/vsicurl/{url}"));
        let o = lode(&["run", config.to_str().unwrap()]);
        (o.status.success(), stderr(&o))
    });
    let _ = server.kill();
    let _ = server.wait();
    let (ok, err) = result.expect("the loopback HTTP server did not start");
    assert!(ok, "{err}");
    assert_eq!(xyz(&fx.dir.path().join("out-curl/prospectivity.tif")), reference);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.dir.path().join("out-curl/manifest.json")).unwrap()).unwrap();
    assert!(manifest["inputs"].as_array().unwrap().iter().any(|i| i["path"] == format!("/vsicurl/{url}")));
}

#[test]
fn vsis3_paths_read_from_a_local_s3_server_started_and_stopped_by_the_test() {
    let venv = root().join(".venv-s3/bin");
    assert!(venv.join("moto_server").exists(), "no {}: run `make s3-env` (part of `make test`)", venv.display());
    let fx = Fixture::build();
    let port = free_port();
    let mut server = std::process::Command::new(venv.join("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("127.0.0.1:{port}");
    let result = (|| -> Result<(), String> {
        let mut up = false;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if !up {
            return Err("moto_server did not start".into());
        }
        let upload = format!(
            "import boto3\ns=boto3.client('s3',endpoint_url='http://{endpoint}',aws_access_key_id='test',aws_secret_access_key='test',region_name='us-east-1')\n\
             s.create_bucket(Bucket='survey')\ns.upload_file('{}','survey','grid.tif')\ns.upload_file('{}','survey','deposits.geojson')\n",
            fx.path("grid.tif"),
            fx.path("deposits.geojson")
        );
        tool(venv.join("python").to_str().unwrap(), &["-c", &upload]);
        let evidence =
            |grid: &str| format!("[[evidence]]\nname = \"strat\"\nkind = \"categorical\"\npath = \"{grid}\"\n");
        let local = fx.config("local", &evidence("grid.tif"));
        run_ok(&local);
        let text = std::fs::read_to_string(fx.config("s3", &evidence("/vsis3/survey/grid.tif")))
            .unwrap()
            .replace("template = \"grid.tif\"", "template = \"/vsis3/survey/grid.tif\"")
            .replace("path = \"deposits.geojson\"", "path = \"/vsis3/survey/deposits.geojson\"");
        let s3 = write(fx.dir.path(), "s3.toml", &text);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_lode"))
            .args(["run", s3.to_str().unwrap()])
            .env("AWS_S3_ENDPOINT", &endpoint)
            .env("AWS_HTTPS", "NO")
            .env("AWS_VIRTUAL_HOSTING", "FALSE")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap();
        if !o.status.success() {
            return Err(stderr(&o));
        }
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        xyz(&fx.dir.path().join("out-s3/prospectivity.tif")),
        xyz(&fx.dir.path().join("out-local/prospectivity.tif"))
    );
    let m = metrics(&fx.dir.path().join("out-s3"));
    assert_eq!(m["deposits"]["read"], 50);
}

#[test]
fn fuzzy_memberships_name_text_classes() {
    let fx = Fixture::build();
    let config = fx.config(
        "fuzzy",
        "[[evidence]]\nname = \"lith\"\nkind = \"rasterize\"\npath = \"lithology.gpkg\"\nattribute = \"unit\"\n\
         fuzzy = { membership = \"classes\", values = { \"Unit-585\" = 0.9, \"unmapped\" = 0.0 }, default = 0.1 }\n\n\
         [model]\nkind = \"fuzzy\"\n",
    );
    run_ok(&config);
    let map = xyz(&fx.dir.path().join("out-fuzzy/prospectivity.tif"));
    // GDAL burns the same unit on the same grid: its cells are the 0.9 cells.
    let grid = gdalinfo(&fx.dir.path().join("grid.tif"), &[]);
    let c = &grid["cornerCoordinates"];
    let te: Vec<String> = [&c["upperLeft"][0], &c["lowerRight"][1], &c["lowerRight"][0], &c["upperLeft"][1]]
        .iter()
        .map(|v| v.to_string())
        .collect();
    tool(
        "gdal_rasterize",
        &[
            "-q",
            "-burn",
            "1",
            "-init",
            "0",
            "-ot",
            "Byte",
            "-where",
            "unit = 'Unit-585'",
            "-te",
            &te[0],
            &te[1],
            &te[2],
            &te[3],
            "-tr",
            "100",
            "100",
            &fx.path("lithology.gpkg"),
            &fx.path("u585.tif"),
        ],
    );
    let unit = xyz(&fx.dir.path().join("u585.tif"));
    let mut n = 0;
    for (m, u) in map.iter().zip(&unit) {
        let m = m.expect("every cell scored");
        if *u == Some(1.0) {
            assert!((m - 0.9).abs() < 1e-6, "{m}");
            n += 1;
        } else {
            assert!((m - 0.1).abs() < 1e-6 || m.abs() < 1e-6, "{m}");
        }
    }
    assert!(n > 1000, "{n} cells of Unit-585");
}

/// `(value)` per cell of a single-band raster by `gdal_translate -of XYZ`, `None` at `nodata`.
fn xyz_nodata(path: &Path, nodata: f64) -> Vec<Option<f64>> {
    let out = tool("gdal_translate", &["-q", "-of", "XYZ", path.to_str().unwrap(), "/vsistdout/"]);
    out.lines()
        .map(|l| {
            let v: f64 = l.split_whitespace().nth(2).unwrap().parse().unwrap();
            (v != nodata).then_some(v)
        })
        .collect()
}

/// The raster attribute table of band 1 as `gdalinfo -json` shows it: code -> class name.
fn rat_of(path: &Path) -> std::collections::BTreeMap<i64, String> {
    let info = gdalinfo(path, &[]);
    let rat = &info["rat"];
    assert_eq!(rat["tableType"], "thematic", "{info}");
    let names: Vec<&str> = rat["fieldDefn"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Value", "Class"]);
    rat["row"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["f"][0].as_i64().unwrap(), r["f"][1].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn evidence_rasters_name_every_class_in_their_attribute_table_and_style_and_equal_the_features() {
    let fx = Fixture::build();
    fx.preprocess();
    let evidence = r#"
[[evidence]]
name = "lith"
kind = "rasterize"
path = "lithology.gpkg"
attribute = "unit"

[[evidence]]
name = "d2b"
kind = "raster"
path = "d2b.tif"
classify = { method = "breaks", breaks = [500.0, 2000.0, 5000.0] }

[[evidence]]
name = "d2b_m"
kind = "raster"
path = "d2b.tif"

[[evidence]]
name = "cu"
kind = "interpolate"
path = "geochem.geojson"
attribute = "cu_ppm"
transform = "log"
zeros = "half_min"
"#;
    let text = std::fs::read_to_string(fx.config("ev", evidence)).unwrap();
    // A name that is no layer is refused by `validate`, naming the key and the name.
    let bad = write(
        fx.dir.path(),
        "bad.toml",
        &text.replace("report = false\n", "report = false\nevidence = [\"lith\", \"nope\"]\n"),
    );
    let o = lode(&["validate", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("output.evidence") && stderr(&o).contains("`nope`"), "{}", stderr(&o));
    let config =
        write(fx.dir.path(), "ev.toml", &text.replace("report = false\n", "report = false\nevidence = true\n"));
    run_ok(&config);
    let out = fx.dir.path().join("out-ev");
    // lode's own features, cell by cell: the one-hot column set and each layer's value.
    let settings = lode::Settings::load(&config).unwrap();
    let stack = lode::features::FeatureStack::prepare(&settings).unwrap();
    let grid = &stack.grid;
    let mut unit = vec![None; grid.len()];
    let mut values = vec![vec![f64::NAN; grid.len()]; 3];
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            let g = grid.index(w.cell(i));
            let lith = stack.spans[0].clone();
            unit[g] =
                lith.clone().find(|&c| b.values[[i, c]] == 1.0).map(|c| stack.columns[c]["lith=".len()..].to_string());
            for (k, v) in values.iter_mut().enumerate() {
                v[g] = if b.layer_valid[[i, k + 1]] { b.values[[i, stack.spans[k + 1].start]] } else { f64::NAN };
            }
        }
    }
    // lith: every cell's code names (in the attribute table GDAL reads) the unit lode encoded.
    let lith = out.join("evidence/lith.tif");
    assert_eq!(gdalinfo(&lith, &[])["bands"][0]["type"], "Int32");
    let rat = rat_of(&lith);
    let encoded: std::collections::BTreeSet<String> =
        stack.columns[stack.spans[0].clone()].iter().map(|c| c["lith=".len()..].to_string()).collect();
    assert_eq!(rat.values().cloned().collect::<std::collections::BTreeSet<_>>(), encoded);
    assert!(encoded.contains("unmapped") && encoded.contains("Unit-585"), "{encoded:?}");
    let codes = xyz_nodata(&lith, i32::MIN as f64);
    assert_eq!(codes.len(), grid.len());
    for (g, c) in codes.iter().enumerate() {
        let named = c.map(|c| rat[&(c as i64)].clone());
        assert_eq!(named, unit[g], "cell {g}");
    }
    // The .qml names every class (a paletted style), with the code of the table.
    let qml = std::fs::read_to_string(out.join("evidence/lith.qml")).unwrap();
    assert!(qml.contains("type=\"paletted\""));
    for (code, name) in &rat {
        assert!(qml.contains(&format!("value=\"{code}\" ")) && qml.contains(&format!("label=\"{name}\"")), "{name}");
    }
    // classify: class numbers named by their break intervals, each holding the raw distance.
    let d2b = out.join("evidence/d2b.tif");
    let rat = rat_of(&d2b);
    let want: Vec<String> = ["(-inf, 500)", "[500, 2000)", "[2000, 5000)", "[5000, inf)"].map(String::from).to_vec();
    assert_eq!(rat.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(rat.values().cloned().collect::<Vec<_>>(), want);
    let classes = xyz_nodata(&d2b, i32::MIN as f64);
    let bounds = [f64::NEG_INFINITY, 500.0, 2000.0, 5000.0, f64::INFINITY];
    let mut seen = [0usize; 4];
    for (g, c) in classes.iter().enumerate() {
        let c = c.unwrap_or_else(|| panic!("cell {g} without a class"));
        assert_eq!(c, values[0][g], "cell {g}");
        let k = c as usize;
        let raw = values[1][g];
        assert!(bounds[k - 1] <= raw && raw < bounds[k], "cell {g}: {raw} in class {k} `{}`", rat[&(k as i64)]);
        seen[k - 1] += 1;
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    assert!(std::fs::read_to_string(out.join("evidence/d2b.qml")).unwrap().contains("label=\"[500, 2000)\""));
    // Continuous: the float32 values of the features (after the log), a pseudocolour style.
    let cu = xyz_nodata(&out.join("evidence/cu.tif"), -9999.0);
    for (g, v) in cu.iter().enumerate() {
        let f = values[2][g];
        assert_eq!(*v, (!f.is_nan()).then_some(f as f32 as f64), "cell {g}");
    }
    assert!(std::fs::read_to_string(out.join("evidence/cu.qml")).unwrap().contains("singlebandpseudocolor"));
    assert!(!out.join("evidence/cu.tif.aux.xml").exists(), "a continuous layer has no class table");
    // Listed in the manifest and the STAC item like every output (class maps as int32).
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for f in ["evidence/lith.tif", "evidence/lith.tif.aux.xml", "evidence/lith.qml", "evidence/cu.tif"] {
        assert!(manifest.contains(&format!("\"{f}\"")), "{f} not in the manifest");
    }
    let item: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("stac/item.json")).unwrap()).unwrap();
    assert_eq!(item["assets"]["evidence-lith"]["raster:bands"][0]["data_type"], "int32");
    assert_eq!(item["assets"]["evidence-cu"]["raster:bands"][0]["data_type"], "float32");
}

#[test]
fn wofe_classes_take_unit_names_and_a_name_that_is_no_class_of_the_layer_is_refused_naming_both() {
    let fx = Fixture::build();
    let table = |classes: &str| {
        format!(
            "[[evidence]]\nname = \"lith\"\nkind = \"rasterize\"\npath = \"lithology.gpkg\"\nattribute = \"unit\"\nwofe = {{ classes = {classes} }}\n\n[model]\nkind = \"wofe\"\n"
        )
    };
    // The codes lode gives the two units, through the library.
    let named = fx.config("wofe-names", &table("[\"Unit-585\", \"unmapped\"]"));
    let settings = lode::Settings::load(&named).unwrap();
    let stack = lode::features::FeatureStack::prepare(&settings).unwrap();
    let (codes, names) = (stack.layers[0].class_codes().unwrap(), stack.layers[0].class_names().unwrap());
    let code = |n: &str| codes[names.iter().position(|m| m == n).unwrap()];
    let coded = fx.config("wofe-codes", &table(&format!("[{}, {}]", code("Unit-585"), code("unmapped"))));
    run_ok(&named);
    run_ok(&coded);
    let (a, b) = (metrics(&fx.dir.path().join("out-wofe-names")), metrics(&fx.dir.path().join("out-wofe-codes")));
    assert_eq!(a["fit"]["layers"], b["fit"]["layers"], "names and their codes give the same generalisation");
    let weights = std::fs::read_to_string(fx.dir.path().join("out-wofe-names/weights_lith.csv")).unwrap();
    assert_eq!(weights, std::fs::read_to_string(fx.dir.path().join("out-wofe-codes/weights_lith.csv")).unwrap());
    // Class names travel to the targets' top evidence and the report: the weights-of-
    // evidence run again with targets and report, and a logistic run's coefficients.
    let text = std::fs::read_to_string(&named)
        .unwrap()
        .replace("enabled = false", "enabled = true")
        .replace("report = false", "report = true");
    let shown = write(fx.dir.path(), "wofe-shown.toml", &text.replace("out-wofe-names", "out-wofe-shown"));
    run_ok(&shown);
    let out = fx.dir.path().join("out-wofe-shown");
    let targets = std::fs::read_to_string(out.join("targets.csv")).unwrap();
    let top: Vec<String> = targets.lines().skip(1).map(|l| l.to_string()).collect();
    assert!(
        !top.is_empty() && top.iter().all(|l| l.contains("lith=Unit-") || l.contains("lith=unmapped")),
        "{targets}"
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("lith=Unit-"), "the report's targets show unit names");
    let logistic = write(
        fx.dir.path(),
        "logistic-shown.toml",
        &text
            .replace("[model]\nkind = \"wofe\"\n", "")
            .replace("wofe = { classes = [\"Unit-585\", \"unmapped\"] }\n", "")
            .replace("out-wofe-names", "out-logistic-shown"),
    );
    run_ok(&logistic);
    let out = fx.dir.path().join("out-logistic-shown");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<tr><td>lith=Unit-"), "coefficients by unit name");
    let m = metrics(&out);
    assert!(m["features"].as_array().unwrap().iter().any(|c| c == "lith=Unit-585"));
    // Logistic top evidence names the unit of the layer's largest term, never a code.
    let targets = std::fs::read_to_string(out.join("targets.csv")).unwrap();
    let top: Vec<&str> = targets.lines().skip(1).collect();
    assert!(
        !top.is_empty() && top.iter().all(|l| l.contains("lith=Unit-") || l.contains("lith=unmapped")),
        "{targets}"
    );
    // importance.csv is per layer (one permutation moves all the layer's columns): the layer's name.
    let importance = std::fs::read_to_string(out.join("importance.csv")).unwrap();
    assert!(importance.lines().any(|l| l.starts_with("lith,")), "{importance}");
    // A name that is not a unit of the layer: the layer, the key and the name.
    let o = lode(&["run", fx.config("wofe-bad", &table("[\"Granite\"]")).to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("evidence `lith`.wofe.classes")
            && err.contains("`Granite` is not a class of layer `lith`")
            && err.contains("`Unit-585`"),
        "{err}"
    );
}
