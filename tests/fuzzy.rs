//! Fuzzy overlay on a small raster against values computed by hand from the definitions.

mod common;

use std::path::Path;

use common::*;
use gdal::raster::Buffer;
use gdal::DriverManager;

const COLS: usize = 8;
const ROWS: usize = 6;

/// A GeoTIFF of COLS x ROWS cells of 100 m in EPSG:7845 holding `values` (row-major).
fn raster(path: &Path, values: Vec<f64>) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver.create_with_band_type::<f64, _>(path, COLS, ROWS, 1).unwrap();
    ds.set_geo_transform(&[650_000.0, 100.0, 0.0, -2_300_000.0, 0.0, -100.0]).unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(7845).unwrap()).unwrap();
    let mut buf = Buffer::new((COLS, ROWS), values);
    ds.rasterband(1).unwrap().write((0, 0), (COLS, ROWS), &mut buf).unwrap();
}

/// Runs a fuzzy model with `operator` (and `gamma`) and returns the map's values.
fn run(dir: &Path, operator: &str, gamma: f64) -> Vec<f64> {
    let out = dir.join(format!("out-{operator}-{gamma}"));
    let config = format!(
        r#"
[project]
name = "fuzzy"

[grid]
template = "a.tif"

[labels]
path = "deposit.geojson"

[[evidence]]
name = "a"
kind = "raster"
path = "a.tif"
fuzzy = {{ membership = "linear", low = 0.0, high = 40.0 }}

[[evidence]]
name = "b"
kind = "categorical"
path = "b.tif"
fuzzy = {{ membership = "classes", values = {{ "1" = 0.2, "2" = 0.9 }}, default = 0.5 }}

[model]
kind = "fuzzy"
operator = "{operator}"
gamma = {gamma}

[output]
dir = "{out}"
"#,
        out = out.display()
    );
    let path = write(dir, "fuzzy.toml", &config);
    let o = lode(&["-q", "run", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ds = gdal::Dataset::open(out.join("prospectivity.tif")).unwrap();
    ds.rasterband(1).unwrap().read_as::<f64>((0, 0), (COLS, ROWS), (COLS, ROWS), None).unwrap().data().to_vec()
}

#[test]
fn fuzzy_operators_match_hand_computed_values_on_a_raster() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a: Vec<f64> = (0..COLS * ROWS).map(|i| i as f64).collect(); // 0..47
    let b: Vec<f64> = (0..COLS * ROWS).map(|i| [1.0, 2.0, 3.0][i % 3]).collect();
    raster(&d.join("a.tif"), a.clone());
    raster(&d.join("b.tif"), b.clone());
    write(
        d,
        "deposit.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::7845"}},
           "features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[650450.0,-2300250.0]}}]}"#,
    );
    // Memberships by hand: a -> min(a / 40, 1); b -> 0.2, 0.9, or 0.5 (class 3, not listed).
    let ma: Vec<f64> = a.iter().map(|v| (v / 40.0).min(1.0)).collect();
    let mb: Vec<f64> = b
        .iter()
        .map(|&v| {
            if v == 1.0 {
                0.2
            } else if v == 2.0 {
                0.9
            } else {
                0.5
            }
        })
        .collect();
    let expect = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> { ma.iter().zip(&mb).map(|(&x, &y)| f(x, y)).collect() };
    let close = |got: &[f64], want: &[f64], what: &str| {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-6, "{what}, cell {i}: {g} vs {w}");
        }
    };
    let product = expect(&|x, y| x * y);
    let sum = expect(&|x, y| 1.0 - (1.0 - x) * (1.0 - y));
    close(&run(d, "and", 0.9), &expect(&|x, y| x.min(y)), "and");
    close(&run(d, "or", 0.9), &expect(&|x, y| x.max(y)), "or");
    close(&run(d, "product", 0.9), &product, "product");
    close(&run(d, "sum", 0.9), &sum, "sum");
    let g = 0.7;
    let gamma: Vec<f64> = sum.iter().zip(&product).map(|(s, p)| s.powf(g) * p.powf(1.0 - g)).collect();
    close(&run(d, "gamma", g), &gamma, "gamma 0.7");
    // Worked on paper: cell 5 has a = 5 (0.125) and class 3 (0.5): sum 0.5625, product
    // 0.0625, 0.5625^0.7 * 0.0625^0.3 = 0.6685 * 0.4353 = 0.2910.
    let cell5 = run(d, "gamma", 0.7)[5];
    let paper = (1.0f64 - 0.875 * 0.5).powf(0.7) * (0.125f64 * 0.5).powf(0.3);
    assert!((cell5 - paper).abs() < 1e-6 && (cell5 - 0.2910).abs() < 1e-4, "{cell5}");
    close(&run(d, "gamma", 0.0), &product, "gamma 0 = product");
    close(&run(d, "gamma", 1.0), &sum, "gamma 1 = sum");
}
