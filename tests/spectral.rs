//! `spectral` on a real Landsat 8 crop (tests/fixtures/landsat8): top-of-atmosphere
//! reflectance equals the hand computation from the scene's MTL at sample pixels, named
//! indices and expressions equal their formulas, and on a coarser grid the reflectance
//! is the mean of the source pixels under each cell.

mod common;

use std::path::Path;

use common::*;
use lode::features::FeatureStack;
use lode::Settings;

// From tests/fixtures/landsat8/l8_MTL.txt (bands 1-9 share these).
const MULT: f64 = 2.0e-5;
const ADD: f64 = -0.1;
const SUN_ELEVATION: f64 = 64.74360932;

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/landsat8").join(name)
}

/// DNs of one band of the fixture, row-major, with its width.
fn dn(band: usize) -> (Vec<f64>, usize) {
    let ds = gdal::Dataset::open(fixture(&format!("l8_B{band}.tif"))).unwrap();
    let size = ds.raster_size();
    (ds.rasterband(1).unwrap().read_as::<f64>((0, 0), size, size, None).unwrap().data().to_vec(), size.0)
}

fn toa(dn: f64) -> f64 {
    (MULT * dn + ADD) / SUN_ELEVATION.to_radians().sin()
}

fn settings(dir: &Path, grid: &str, evidence: &str) -> Settings {
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32616"}}"#;
    write(
        dir,
        "deposits.geojson",
        &format!(r#"{{"type":"FeatureCollection",{crs},"features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[460000,3401000]}}}}]}}"#),
    );
    let text = format!(
        "[project]\nname = \"spectral\"\n\n[grid]\n{grid}\nblock_size = 32\n\n[labels]\npath = \"deposits.geojson\"\n\n{evidence}\n[output]\ndir = \"out\"\n"
    );
    Settings::load(&write(dir, "c.toml", &text)).unwrap_or_else(|e| panic!("{e}"))
}

fn layer(name: &str, what: &str) -> String {
    format!("[[evidence]]\nname = \"{name}\"\nkind = \"spectral\"\npath = \"{}\"\n{what}\n", fixture("l8_MTL.txt").display())
}

fn compute_all(stack: &FeatureStack) -> Vec<Vec<(f64, bool)>> {
    let grid = &stack.grid;
    let mut out = vec![vec![(f64::NAN, false); grid.len()]; stack.columns.len()];
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            for (c, col) in out.iter_mut().enumerate() {
                col[grid.index(w.cell(i))] = (b.values[[i, c]], b.layer_valid[[i, c]]);
            }
        }
    }
    out
}

#[test]
fn landsat_toa_reflectance_and_indices_equal_the_mtl_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let grid = format!("template = \"{}\"", fixture("l8_B4.tif").display());
    let ev = [
        layer("b6", "expression = \"B6\""),
        layer("ndvi", "index = \"ndvi\""),
        layer("clay", "index = \"clay\""),
        layer("swir_nd", "expression = \"(B6 - B7) / (B6 + B7)\""),
        layer("ferric", "index = \"ferric_iron\""),
    ]
    .join("\n");
    let s = settings(d, &grid, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let ours = compute_all(&stack);
    let (b2, cols) = dn(2);
    let (b4, b5, b6, b7) = (dn(4).0, dn(5).0, dn(6).0, dn(7).0);
    assert_eq!((cols, b6.len()), (120, 12000));
    // Documented values at two sample pixels (row 10 col 20, row 77 col 101), by hand
    // from the DNs: rho = (2e-5 DN - 0.1) / sin(64.74360932°).
    for &(r, c) in &[(10usize, 20usize), (77, 101)] {
        let i = r * cols + c;
        let rho6 = (2.0e-5 * b6[i] - 0.1) / (64.74360932f64).to_radians().sin();
        assert!((ours[0][i].0 - rho6).abs() < 1e-12, "B6 TOA at ({r}, {c}): {} vs {rho6}", ours[0][i].0);
    }
    for i in 0..b6.len() {
        let (r2, r4, r5, r6, r7) = (toa(b2[i]), toa(b4[i]), toa(b5[i]), toa(b6[i]), toa(b7[i]));
        let close = |k: usize, want: f64| {
            assert!(ours[k][i].1, "layer {k} valid at {i}");
            assert!((ours[k][i].0 - want).abs() < 1e-12 * (1.0 + want.abs()), "layer {k} at {i}: {} vs {want}", ours[k][i].0);
        };
        close(0, r6);
        close(1, (r5 - r4) / (r5 + r4));
        close(2, r6 / r7);
        close(3, (r6 - r7) / (r6 + r7));
        close(4, r4 / r2);
    }
    // The crop is real ground: reflectances and NDVI in their physical ranges.
    assert!(ours[0].iter().all(|v| v.0 > 0.0 && v.0 < 1.2));
    assert!(ours[1].iter().all(|v| v.0 > -1.0 && v.0 < 1.0));
}

#[test]
fn on_a_coarser_grid_reflectance_is_the_mean_of_the_pixels_under_a_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // The crop's origin and 60 m cells: each cell holds 2 x 2 source pixels.
    let info = gdalinfo(&fixture("l8_B6.tif"), &[]);
    let gt: Vec<f64> = info["geoTransform"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let (x0, y1) = (gt[0], gt[3]);
    let grid = format!(
        "crs = \"EPSG:32616\"\nbounds = [{x0}, {}, {}, {y1}]\ncell_size = 60.0",
        y1 - 100.0 * 30.0,
        x0 + 120.0 * 30.0
    );
    let s = settings(d, &grid, &layer("b6", "expression = \"B6\"\nresampling = \"average\""));
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!((stack.grid.cols, stack.grid.rows), (60, 50));
    let ours = compute_all(&stack);
    let (b6, cols) = dn(6);
    for r in 0..50 {
        for c in 0..60 {
            let px = |dr: usize, dc: usize| toa(b6[(2 * r + dr) * cols + 2 * c + dc]);
            let want = (px(0, 0) + px(0, 1) + px(1, 0) + px(1, 1)) / 4.0;
            let (v, ok) = ours[0][r * 60 + c];
            assert!(ok && (v - want).abs() < 1e-12, "cell ({r}, {c}): {v} vs {want}");
        }
    }
}

#[test]
fn a_bad_expression_names_the_band_or_token() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let grid = format!("template = \"{}\"", fixture("l8_B4.tif").display());
    let text = |ev: &str| {
        format!("[project]\nname = \"s\"\n\n[grid]\n{grid}\n\n[labels]\npath = \"deposits.geojson\"\n\n{ev}\n[output]\ndir = \"out\"\n")
    };
    settings(d, &grid, &layer("ok", "index = \"ndvi\""));
    for (what, needle) in [
        ("expression = \"(B12 - B7) / B7\"", "unknown band `B12`"),
        ("expression = \"B6 ^ 2\"", "`^`"),
        ("index = \"lithium\"", "unknown index `lithium`"),
    ] {
        let path = write(d, "bad.toml", &text(&layer("bad", what)));
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("evidence[0]"), "{what}: {err}");
    }
}

#[test]
fn landsat_fill_dn_0_has_no_data_and_never_enters_a_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A copy of the scene whose B6 has fill (DN 0) at pixel (0, 0) and rows 40-49.
    std::fs::copy(fixture("l8_MTL.txt"), d.join("l8_MTL.txt")).unwrap();
    tool("gdal_translate", &["-q", fixture("l8_B6.tif").to_str().unwrap(), d.join("l8_B6.tif").to_str().unwrap()]);
    {
        let ds = gdal::Dataset::open_ex(d.join("l8_B6.tif"), gdal::DatasetOptions { open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE, ..Default::default() }).unwrap();
        let mut band = ds.rasterband(1).unwrap();
        let mut one = gdal::raster::Buffer::new((1, 1), vec![0u16]);
        band.write((0, 0), (1, 1), &mut one).unwrap();
        let mut rows = gdal::raster::Buffer::new((120, 10), vec![0u16; 1200]);
        band.write((0, 40), (120, 10), &mut rows).unwrap();
    }
    let mtl = d.join("l8_MTL.txt");
    let ev = format!("[[evidence]]\nname = \"b6\"\nkind = \"spectral\"\npath = \"{}\"\nexpression = \"B6\"\nresampling = \"average\"\n", mtl.display());
    let (b6, cols) = dn(6);
    // Native grid: fill cells have no data.
    let s = settings(d, &format!("template = \"{}\"", fixture("l8_B4.tif").display()), &ev);
    let native = compute_all(&FeatureStack::prepare(&s).unwrap());
    assert!(!native[0][0].1 && native[0][1].1);
    assert!((0..120).all(|c| !native[0][45 * cols + c].1 && native[0][39 * cols + c].1));
    // 60 m grid: the cell holding pixel (0, 0) is the mean of its other three pixels.
    let grid = {
        let info = gdalinfo(&fixture("l8_B6.tif"), &[]);
        let gt: Vec<f64> = info["geoTransform"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        format!("crs = \"EPSG:32616\"\nbounds = [{}, {}, {}, {}]\ncell_size = 60.0", gt[0], gt[3] - 3000.0, gt[0] + 3600.0, gt[3])
    };
    let s = settings(d, &grid, &ev);
    let coarse = compute_all(&FeatureStack::prepare(&s).unwrap());
    let want = (toa(b6[1]) + toa(b6[cols]) + toa(b6[cols + 1])) / 3.0;
    assert!(coarse[0][0].1 && (coarse[0][0].0 - want).abs() < 1e-12, "{:?} vs {want}", coarse[0][0]);
    assert!(!coarse[0][22 * 60 + 7].1, "cells wholly on fill have no data: {:?} {:?}", coarse[0][22 * 60 + 7], coarse[0][19 * 60 + 7]);
}
