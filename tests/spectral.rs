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

/// Settings for `evidence` on `grid` (TOML lines), with one deposit at `point` (UTM zone
/// `epsg`) as labels.
fn utm_settings(dir: &Path, epsg: u32, point: [f64; 2], grid: &str, evidence: &str) -> Settings {
    let crs = format!(r#""crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::{epsg}"}}}}"#);
    write(
        dir,
        "deposits.geojson",
        &format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}]}}"#,
            point[0], point[1]
        ),
    );
    let text = format!(
        "[project]\nname = \"spectral\"\n\n[grid]\n{grid}\nblock_size = 32\n\n[labels]\npath = \"deposits.geojson\"\n\n{evidence}\n[output]\ndir = \"out\"\n"
    );
    Settings::load(&write(dir, "c.toml", &text)).unwrap_or_else(|e| panic!("{e}"))
}

fn settings(dir: &Path, grid: &str, evidence: &str) -> Settings {
    utm_settings(dir, 32616, [460000.0, 3401000.0], grid, evidence)
}

/// A `spectral` evidence table on the scene at `path` (an MTL file or a band folder).
fn spectral_layer(path: &Path, name: &str, what: &str) -> String {
    format!("[[evidence]]\nname = \"{name}\"\nkind = \"spectral\"\npath = \"{}\"\n{what}\n", path.display())
}

/// A `spectral` evidence table on the Landsat fixture.
fn layer(name: &str, what: &str) -> String {
    spectral_layer(&fixture("l8_MTL.txt"), name, what)
}

fn compute_all(stack: &FeatureStack) -> Vec<Vec<(f64, bool)>> {
    let grid = &stack.grid;
    let mut out = vec![vec![(f64::NAN, false); grid.len()]; stack.columns.len()];
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            for (c, col) in out.iter_mut().enumerate() {
                // The layer of column c (a PCA layer has several columns).
                let layer = stack.spans.iter().position(|s| s.contains(&c)).unwrap();
                col[grid.index(w.cell(i))] = (b.values[[i, c]], b.layer_valid[[i, layer]]);
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
            assert!(
                (ours[k][i].0 - want).abs() < 1e-12 * (1.0 + want.abs()),
                "layer {k} at {i}: {} vs {want}",
                ours[k][i].0
            );
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
        let ds = gdal::Dataset::open_ex(
            d.join("l8_B6.tif"),
            gdal::DatasetOptions { open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE, ..Default::default() },
        )
        .unwrap();
        let mut band = ds.rasterband(1).unwrap();
        let mut one = gdal::raster::Buffer::new((1, 1), vec![0u16]);
        band.write((0, 0), (1, 1), &mut one).unwrap();
        let mut rows = gdal::raster::Buffer::new((120, 10), vec![0u16; 1200]);
        band.write((0, 40), (120, 10), &mut rows).unwrap();
    }
    let mtl = d.join("l8_MTL.txt");
    let ev = spectral_layer(&mtl, "b6", "expression = \"B6\"\nresampling = \"average\"");
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
        format!(
            "crs = \"EPSG:32616\"\nbounds = [{}, {}, {}, {}]\ncell_size = 60.0",
            gt[0],
            gt[3] - 3000.0,
            gt[0] + 3600.0,
            gt[3]
        )
    };
    let s = settings(d, &grid, &ev);
    let coarse = compute_all(&FeatureStack::prepare(&s).unwrap());
    let want = (toa(b6[1]) + toa(b6[cols]) + toa(b6[cols + 1])) / 3.0;
    assert!(coarse[0][0].1 && (coarse[0][0].0 - want).abs() < 1e-12, "{:?} vs {want}", coarse[0][0]);
    assert!(
        !coarse[0][22 * 60 + 7].1,
        "cells wholly on fill have no data: {:?} {:?}",
        coarse[0][22 * 60 + 7],
        coarse[0][19 * 60 + 7]
    );
}

// ---------------------------------------------------------------------------------------
// Sentinel-2 (tests/fixtures/sentinel2: a real L1C crop, bands at 10, 20 and 60 m whose
// pixel edges meet at the crop's box 443580..445380 E, 4171080..4172880 N).

fn s2(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/sentinel2").join(name)
}

/// DNs of one Sentinel-2 band (`01`..`12`, `8A`), row-major, with its width.
fn s2_dn(band: &str) -> (Vec<f64>, usize) {
    let ds = gdal::Dataset::open(s2(&format!("s2_B{band}.tif"))).unwrap();
    let size = ds.raster_size();
    (ds.rasterband(1).unwrap().read_as::<f64>((0, 0), size, size, None).unwrap().data().to_vec(), size.0)
}

/// The mean of the k x k source pixels under cell (r, c) of a grid k times coarser.
fn block_mean(dn: &(Vec<f64>, usize), k: usize, r: usize, c: usize) -> f64 {
    let mut s = 0.0;
    for dr in 0..k {
        for dc in 0..k {
            s += dn.0[(k * r + dr) * dn.1 + k * c + dc];
        }
    }
    s / (k * k) as f64
}

const S2_BOX: &str = "crs = \"EPSG:32618\"\nbounds = [443580, 4171080, 445380, 4172880]";

fn s2_settings(dir: &Path, cell: f64, evidence: &str) -> Settings {
    utm_settings(dir, 32618, [444000.0, 4172000.0], &format!("{S2_BOX}\ncell_size = {cell}"), evidence)
}

#[test]
fn sentinel2_indices_on_a_20m_grid_equal_the_dns_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let f = s2("");
    let ev = [
        spectral_layer(&f, "b5", "expression = \"B5\""),
        spectral_layer(&f, "b2", "expression = \"B02\""),
        spectral_layer(&f, "b1", "expression = \"B1\""),
        spectral_layer(&f, "ndvi", "index = \"ndvi\""),
        spectral_layer(&f, "clay", "index = \"clay\"\nsensor = \"sentinel2\""),
        spectral_layer(&f, "nd8a", "expression = \"(B8A - B4) / (B8A + B4)\""),
        spectral_layer(&f, "ferrous", "index = \"ferrous_iron\""),
    ]
    .join("\n");
    let s = s2_settings(d, 20.0, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!((stack.grid.cols, stack.grid.rows), (90, 90));
    let ours = compute_all(&stack);
    let (b1, b2, b3, b4, b5, b8) = (s2_dn("01"), s2_dn("02"), s2_dn("03"), s2_dn("04"), s2_dn("05"), s2_dn("08"));
    let (b8a, b11, b12) = (s2_dn("8A"), s2_dn("11"), s2_dn("12"));
    assert_eq!((b2.1, b5.1, b1.1), (180, 90, 30));
    // L1C before baseline 04.00, no metadata file: reflectance = DN / 10000.
    let r = |dn: f64| dn / 10000.0;
    let mut interior = 0;
    for row in 0..90 {
        for col in 0..90 {
            let i = row * 90 + col;
            let close = |k: usize, want: f64| {
                let (v, ok) = ours[k][i];
                assert!(
                    ok && (v - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "layer {k} at ({row}, {col}): {v} vs {want}"
                );
            };
            // 20 m bands are on the grid: their DNs, scaled.
            close(0, r(b5.0[i]));
            // 10 m bands: the mean of the 2 x 2 pixels under the cell (auto = average).
            let (m2, m3, m4, m8) = (
                block_mean(&b2, 2, row, col),
                block_mean(&b3, 2, row, col),
                block_mean(&b4, 2, row, col),
                block_mean(&b8, 2, row, col),
            );
            close(1, r(m2));
            close(3, (r(m8) - r(m4)) / (r(m8) + r(m4)));
            close(4, r(b11.0[i]) / r(b12.0[i]));
            close(5, (r(b8a.0[i]) - r(m4)) / (r(b8a.0[i]) + r(m4)));
            close(6, r(b12.0[i]) / r(m8) + r(m3) / r(m4));
            // 60 m band: bilinear between the four 60 m pixel centres around the cell
            // centre (auto = bilinear for coarser sources); interior cells only.
            let (fx, fy) = ((20.0 * col as f64 + 10.0) / 60.0 - 0.5, (20.0 * row as f64 + 10.0) / 60.0 - 0.5);
            if fx >= 0.0 && fy >= 0.0 && fx < 29.0 && fy < 29.0 {
                interior += 1;
                let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
                let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
                let p = |rr: usize, cc: usize| b1.0[rr * 30 + cc];
                let want = (1.0 - ty) * ((1.0 - tx) * p(y0, x0) + tx * p(y0, x0 + 1))
                    + ty * ((1.0 - tx) * p(y0 + 1, x0) + tx * p(y0 + 1, x0 + 1));
                let (v, ok) = ours[2][i];
                assert!(ok && (v - r(want)).abs() < 1e-9, "B1 at ({row}, {col}): {v} vs {}", r(want));
            }
        }
    }
    assert_eq!(interior, 87 * 87);
    // Real ground and water: NDVI spans both signs.
    assert!(ours[3].iter().any(|v| v.0 > 0.3) && ours[3].iter().any(|v| v.0 < 0.0));
}

#[test]
fn sentinel2_bands_at_60_20_and_10_m_land_on_one_60m_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let f = s2("");
    let ev = [
        spectral_layer(&f, "b1", "expression = \"B1\""),
        spectral_layer(&f, "b2", "expression = \"B2\""),
        spectral_layer(&f, "b5", "expression = \"B5\""),
    ]
    .join("\n");
    let s = s2_settings(d, 60.0, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!((stack.grid.cols, stack.grid.rows), (30, 30));
    let ours = compute_all(&stack);
    let (b1, b2, b5) = (s2_dn("01"), s2_dn("02"), s2_dn("05"));
    for row in 0..30 {
        for col in 0..30 {
            let i = row * 30 + col;
            // Cell (row, col) is 60 m pixel (row, col), the 6 x 6 block of 10 m pixels and
            // the 3 x 3 block of 20 m pixels below it: one grid.
            for (k, want) in [(0, b1.0[i]), (1, block_mean(&b2, 6, row, col)), (2, block_mean(&b5, 3, row, col))] {
                let (v, ok) = ours[k][i];
                assert!(
                    ok && (v - want / 10000.0).abs() < 1e-12,
                    "layer {k} at ({row}, {col}): {v} vs {}",
                    want / 10000.0
                );
            }
        }
    }
}

/// A copy of the fixture folder in `dir/name`.
fn s2_copy(dir: &Path, name: &str) -> std::path::PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(s2("")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "tif") {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
    to
}

#[test]
fn sentinel2_offset_and_quantification_from_metadata_or_keys_and_dn_0_is_nodata() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A SAFE-like layout: the metadata two folders above the band files.
    let safe = d.join("S2.SAFE");
    let img = s2_copy(&safe.join("GRANULE/L1C_T18SVG"), "IMG_DATA");
    let offsets: String =
        (0..13).map(|b| format!("<RADIO_ADD_OFFSET band_id=\"{b}\">-1000</RADIO_ADD_OFFSET>\n")).collect();
    write(
        &safe,
        "MTD_MSIL1C.xml",
        &format!("<n1:Level-1C_User_Product><QUANTIFICATION_VALUE unit=\"none\">10000</QUANTIFICATION_VALUE>\n<Radiometric_Offset_List>\n{offsets}</Radiometric_Offset_List></n1:Level-1C_User_Product>"),
    );
    // DN 0 (fill) at 20 m pixel (3, 4) of B5.
    {
        let ds = gdal::Dataset::open_ex(
            img.join("s2_B05.tif"),
            gdal::DatasetOptions { open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE, ..Default::default() },
        )
        .unwrap();
        let mut one = gdal::raster::Buffer::new((1, 1), vec![0u16]);
        ds.rasterband(1).unwrap().write((4, 3), (1, 1), &mut one).unwrap();
    }
    let ev = [
        spectral_layer(&img, "meta", "expression = \"B5\""),
        spectral_layer(&img, "keys", "expression = \"B5\"\noffset = 0\nquantification = 5000"),
    ]
    .join("\n");
    let s = s2_settings(d, 20.0, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    assert!(stack.layers[0].describe().contains("MTD_MSIL1C.xml"), "{}", stack.layers[0].describe());
    let ours = compute_all(&stack);
    let b5 = s2_dn("05");
    for (i, dn) in b5.0.iter().enumerate() {
        if i == 3 * 90 + 4 {
            assert!(!ours[0][i].1 && !ours[1][i].1, "fill DN 0 has no data");
            continue;
        }
        assert!(ours[0][i].1 && (ours[0][i].0 - (dn - 1000.0) / 10000.0).abs() < 1e-12);
        assert!(ours[1][i].1 && (ours[1][i].0 - dn / 5000.0).abs() < 1e-12);
    }
}

#[test]
fn sentinel2_errors_name_the_key_band_or_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    s2_settings(d, 20.0, &spectral_layer(&s2(""), "ok", "index = \"ndvi\""));
    let load = |ev: &str| {
        let text = format!(
            "[project]\nname = \"s\"\n\n[grid]\n{S2_BOX}\ncell_size = 20\n\n[labels]\npath = \"deposits.geojson\"\n\n{ev}\n[output]\ndir = \"out\"\n"
        );
        Settings::load(&write(d, "bad.toml", &text))
            .and_then(|s| FeatureStack::prepare(&s).map(|_| ()))
            .unwrap_err()
            .to_string()
    };
    let f = s2("");
    for (what, needles) in [
        (
            "index = \"lithium\"",
            vec!["evidence[0].index", "unknown index `lithium` for sensor `sentinel2`", "ndvi", "clay"],
        ),
        ("expression = \"B13 / B8A\"", vec!["evidence[0].expression", "unknown band `B13`", "B8A"]),
        ("expression = \"B5\"\ngain = { B5 = \"high\" }", vec!["evidence[0].gain", "only applies to sensor `aster`"]),
        ("expression = \"B5\"\nquantification = 0", vec!["evidence[0].quantification", "> 0"]),
    ] {
        let err = load(&spectral_layer(&f, "bad", what));
        assert!(needles.iter().all(|n| err.contains(n)), "{what}: {err}");
    }
    // Landsat keys on the MTL: quantification belongs to Sentinel-2.
    let err = load(&layer("bad", "expression = \"B5\"\nquantification = 10000"));
    assert!(err.contains("only applies to sensor `sentinel2`, not `landsat8`"), "{err}");
    // A folder without B8A or B3N files: say so and ask for `sensor`.
    let partial = d.join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::copy(s2("s2_B04.tif"), partial.join("s2_B04.tif")).unwrap();
    let err = load(&spectral_layer(&partial, "bad", "expression = \"B4\""));
    assert!(err.contains("cannot tell the sensor") && err.contains("set `sensor`"), "{err}");
    // A band whose file is missing: named, with the folder.
    let err = load(&spectral_layer(&partial, "bad", "expression = \"B8 - B4\"\nsensor = \"sentinel2\""));
    assert!(err.contains("band B8") && err.contains("partial"), "{err}");
}

// ---------------------------------------------------------------------------------------
// ASTER: no real L1T scene is available offline, so a synthetic ASTER-like folder with
// known DNs (VNIR B1, B2, B3N at 15 m, SWIR B4..B9 at 30 m, LP DAAC `_ImageDataN` names)
// checks the handbook's formulas by hand.

const ASTER_X0: f64 = 500_000.0;
const ASTER_Y1: f64 = 4_000_000.0;

/// The synthetic DN of band `b` (1..9) at pixel (r, c): 1..=250, with fill (0) at (0, 0).
fn aster_dn(b: usize, r: usize, c: usize) -> u8 {
    if r == 0 && c == 0 {
        0
    } else {
        (1 + (r * 7 + c * 3 + b * 11) % 250) as u8
    }
}

/// Writes the synthetic scene (40 x 40 VNIR pixels, 20 x 20 SWIR pixels: 600 m square).
fn aster_scene(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("AST_L1T_00308312003");
    std::fs::create_dir_all(&folder).unwrap();
    let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    for (b, label) in ["1", "2", "3N", "4", "5", "6", "7", "8", "9"].iter().enumerate() {
        let (n, px) = if b < 3 { (40, 15.0) } else { (20, 30.0) };
        let path = folder.join(format!("AST_L1T_00308312003_ImageData{label}.tif"));
        let mut ds = driver.create_with_band_type::<u8, _>(&path, n, n, 1).unwrap();
        ds.set_geo_transform(&[ASTER_X0, px, 0.0, ASTER_Y1, 0.0, -px]).unwrap();
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32611).unwrap()).unwrap();
        let values: Vec<u8> = (0..n * n).map(|i| aster_dn(b + 1, i / n, i % n)).collect();
        let mut buf = gdal::raster::Buffer::new((n, n), values);
        ds.rasterband(1).unwrap().write((0, 0), (n, n), &mut buf).unwrap();
    }
    folder
}

fn aster_settings(dir: &Path, evidence: &str) -> std::result::Result<Settings, String> {
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32611"}}"#;
    write(
        dir,
        "deposits.geojson",
        &format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[500300,3999700]}}}}]}}"#
        ),
    );
    let text = format!(
        "[project]\nname = \"aster\"\n\n[grid]\ncrs = \"EPSG:32611\"\nbounds = [{ASTER_X0}, {}, {}, {ASTER_Y1}]\ncell_size = 30\nblock_size = 16\n\n[labels]\npath = \"deposits.geojson\"\n\n{evidence}\n[output]\ndir = \"out\"\n",
        ASTER_Y1 - 600.0,
        ASTER_X0 + 600.0
    );
    Settings::load(&write(dir, "c.toml", &text)).map_err(|e| e.to_string())
}

#[test]
fn aster_radiance_and_reflectance_equal_the_handbook_formulas_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let folder = aster_scene(d);
    let ev = [
        spectral_layer(&folder, "l4", "expression = \"B4\""),
        spectral_layer(&folder, "l4_high", "expression = \"B4\"\ngain = { B04 = \"high\" }"),
        spectral_layer(&folder, "l3n", "expression = \"B3N\""),
        spectral_layer(&folder, "r4", "expression = \"B4\"\nsun_elevation = 55.0\nacquisition_date = \"2003-08-31\""),
        spectral_layer(
            &folder,
            "r_ratio",
            "expression = \"B3N / B2\"\nsensor = \"aster\"\nsun_elevation = 55.0\nacquisition_date = \"2003-08-31\"",
        ),
        spectral_layer(&folder, "l9_low2", "expression = \"B9\"\ngain = { B9 = \"low2\" }"),
    ]
    .join("\n");
    let s = aster_settings(d, &ev).unwrap();
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!((stack.grid.cols, stack.grid.rows), (20, 20));
    assert!(stack.layers[0].describe().contains("TOA radiance"), "{}", stack.layers[0].describe());
    assert!(stack.layers[3].describe().contains("TOA reflectance"), "{}", stack.layers[3].describe());
    let ours = compute_all(&stack);
    // ASTER User Handbook v2, table 5 (normal / high / low 2 gain) and Thome et al. ESUN.
    let (ucc2_n, ucc3n_n, ucc4_n, ucc4_h, ucc9_l2) = (1.415, 0.862, 0.2174, 0.1087, 0.265);
    let (esun2, esun3n, esun4) = (1549.0, 1114.0, 225.4);
    // 31 August 2003 is day 243: d = 1 - 0.01672 cos(0.9856° (243 - 4)).
    let dist = 1.0 - 0.01672 * (0.9856f64 * 239.0).to_radians().cos();
    let refl = |l: f64, esun: f64| std::f64::consts::PI * l * dist * dist / (esun * 55f64.to_radians().sin());
    for r in 0..20 {
        for c in 0..20 {
            let i = r * 20 + c;
            if r == 0 && c == 0 {
                // Fill: SWIR pixel (0, 0) has no data; the VNIR mean uses the 3 others.
                assert!(!ours[0][i].1 && !ours[3][i].1 && !ours[5][i].1);
                let want: f64 = [(0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|&(a, b)| (aster_dn(3, a, b) as f64 - 1.0) * ucc3n_n)
                    .sum::<f64>()
                    / 3.0;
                assert!(ours[2][i].1 && (ours[2][i].0 - want).abs() < 1e-9, "{:?} vs {want}", ours[2][i]);
                continue;
            }
            let dn4 = aster_dn(4, r, c) as f64;
            let close = |k: usize, want: f64| {
                let (v, ok) = ours[k][i];
                assert!(ok && (v - want).abs() <= 1e-9 * (1.0 + want.abs()), "layer {k} at ({r}, {c}): {v} vs {want}");
            };
            close(0, (dn4 - 1.0) * ucc4_n);
            close(1, (dn4 - 1.0) * ucc4_h);
            close(5, (aster_dn(9, r, c) as f64 - 1.0) * ucc9_l2);
            close(3, refl((dn4 - 1.0) * ucc4_n, esun4));
            // 15 m VNIR on the 30 m grid: the mean of the 2 x 2 pixels' radiances.
            let vnir = |b: usize, ucc: f64| {
                [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|&(a, e)| (aster_dn(b, 2 * r + a, 2 * c + e) as f64 - 1.0) * ucc)
                    .sum::<f64>()
                    / 4.0
            };
            close(2, vnir(3, ucc3n_n));
            close(4, refl(vnir(3, ucc3n_n), esun3n) / refl(vnir(2, ucc2_n), esun2));
        }
    }
}

#[test]
fn aster_errors_name_the_key_and_band() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let folder = aster_scene(d);
    for (what, needles) in [
        ("expression = \"B1\"\ngain = { B1 = \"low2\" }", vec!["evidence[0].gain", "B1", "low2"]),
        ("expression = \"B1\"\ngain = { B10 = \"high\" }", vec!["evidence[0].gain", "unknown band `B10`", "B3N"]),
        ("expression = \"B1\"\nsun_elevation = 40.0", vec!["evidence[0].acquisition_date", "sun_elevation"]),
        (
            "expression = \"B1\"\nsun_elevation = 40.0\nacquisition_date = \"2003-02-30\"",
            vec!["evidence[0].acquisition_date", "2003-02-30"],
        ),
        ("expression = \"B3 / B2\"", vec!["evidence[0].expression", "unknown band `B3`", "B3N"]),
        (
            "expression = \"B1\"\noffset = -1000",
            vec!["evidence[0].offset", "only applies to sensor `sentinel2`, not `aster`"],
        ),
    ] {
        let err = aster_settings(d, &spectral_layer(&folder, "bad", what)).unwrap_err();
        assert!(needles.iter().all(|n| err.contains(n)), "{what}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// The index library: per sensor, documented, and computing its documented formula.

#[test]
fn every_index_of_every_sensor_is_in_the_config_reference_with_its_expression() {
    use lode::features::spectral::{indices, Sensor};
    let docs = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    for s in [Sensor::Landsat8, Sensor::Sentinel2, Sensor::Aster] {
        assert!(!indices::for_sensor(s).is_empty());
        for ix in indices::for_sensor(s) {
            let row = format!("| `{}` | `{}` |", ix.name, ix.expression);
            assert!(docs.contains(&row), "docs/config.md lacks the row {row} ({})", s.as_str());
        }
    }
}

#[test]
fn sentinel2_library_indices_equal_their_formulas_and_unknown_ones_list_the_sensors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let f = s2("");
    let ev = [
        spectral_layer(&f, "nd", "index = \"nd_740\""),
        spectral_layer(&f, "gossan", "index = \"gossan\""),
        spectral_layer(&f, "feox", "index = \"ferric_oxides\""),
    ]
    .join("\n");
    let s = s2_settings(d, 20.0, &ev);
    let ours = compute_all(&FeatureStack::prepare(&s).unwrap());
    let (b4, b5, b6, b7, b8, b11) = (s2_dn("04"), s2_dn("05"), s2_dn("06"), s2_dn("07"), s2_dn("08"), s2_dn("11"));
    for &(row, col) in &[(0usize, 0usize), (10, 70), (45, 45), (80, 5), (89, 89)] {
        let i = row * 90 + col;
        let (r5, r6, r7, r11) = (b5.0[i] / 1e4, b6.0[i] / 1e4, b7.0[i] / 1e4, b11.0[i] / 1e4);
        let (r4, r8) = (block_mean(&b4, 2, row, col) / 1e4, block_mean(&b8, 2, row, col) / 1e4);
        // Continuum at 740 nm between 705 nm (B5) and 783 nm (B7).
        let continuum = r5 + (740.0 - 705.0) / (783.0 - 705.0) * (r7 - r5);
        for (k, want) in [(0, 1.0 - r6 / continuum), (1, r11 / r4), (2, r11 / r8)] {
            let (v, ok) = ours[k][i];
            assert!(ok && (v - want).abs() < 1e-12, "layer {k} at ({row}, {col}): {v} vs {want}");
        }
    }
    let text = format!(
        "[project]\nname = \"s\"\n\n[grid]\n{S2_BOX}\ncell_size = 20\n\n[labels]\npath = \"deposits.geojson\"\n\n{}\n[output]\ndir = \"out\"\n",
        spectral_layer(&f, "bad", "index = \"mgoh\"")
    );
    let err = Settings::load(&write(d, "bad.toml", &text)).unwrap_err().to_string();
    assert!(
        err.contains("unknown index `mgoh` for sensor `sentinel2`")
            && err.contains("nd_740")
            && !err.contains("carbonate"),
        "{err}"
    );
}

#[test]
fn aster_library_indices_equal_their_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let folder = aster_scene(d);
    let refl = "sun_elevation = 60.0\nacquisition_date = \"2003-08-31\"";
    let ev = [
        spectral_layer(&folder, "mgoh", &format!("index = \"mgoh\"\n{refl}")),
        spectral_layer(&folder, "carbonate", &format!("index = \"carbonate\"\n{refl}")),
        spectral_layer(&folder, "clay", &format!("index = \"clay\"\n{refl}")),
        spectral_layer(&folder, "gossan", &format!("index = \"gossan\"\n{refl}")),
    ]
    .join("\n");
    let s = aster_settings(d, &ev).unwrap();
    let ours = compute_all(&FeatureStack::prepare(&s).unwrap());
    // Reflectance of SWIR band b (normal gain); the common factor π d² / sin(60°) cancels
    // in these ratios but ESUN and UCC do not.
    let ucc = [1.688, 1.415, 0.862, 0.2174, 0.0696, 0.0625, 0.0597, 0.0417, 0.0318];
    let esun = [1848.0, 1549.0, 1114.0, 225.4, 86.63, 81.85, 74.85, 66.49, 59.85];
    for &(r, c) in &[(1usize, 1usize), (5, 17), (19, 0), (12, 12)] {
        let i = r * 20 + c;
        let rho = |b: usize| (aster_dn(b, r, c) as f64 - 1.0) * ucc[b - 1] / esun[b - 1];
        let rho2 = {
            let m: f64 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .iter()
                .map(|&(a, e)| aster_dn(2, 2 * r + a, 2 * c + e) as f64 - 1.0)
                .sum::<f64>()
                / 4.0;
            m * ucc[1] / esun[1]
        };
        for (k, want) in [
            (0, (rho(6) + rho(9)) / (rho(7) + rho(8))),
            (1, (rho(7) + rho(9)) / rho(8)),
            (2, (rho(5) + rho(7)) / rho(6)),
            (3, rho(4) / rho2),
        ] {
            let (v, ok) = ours[k][i];
            assert!(ok && (v - want).abs() < 1e-9 * want.abs(), "layer {k} at ({r}, {c}): {v} vs {want}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// PCA and Crosta against numpy (tests/peers/spectral_pca.py: numpy.cov + numpy.linalg.eigh
// on the same TOA reflectances computed from the MTL with GDAL's Python bindings).

#[test]
fn pca_and_crosta_equal_numpy_on_the_landsat_crop() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let peer = tool(
        "/usr/bin/python3",
        &[root().join("tests/peers/spectral_pca.py").to_str().unwrap(), fixture("").to_str().unwrap()],
    );
    let peer: serde_json::Value = serde_json::from_str(&peer).unwrap();
    let grid = format!("template = \"{}\"", fixture("l8_B4.tif").display());
    let ev = [
        layer("pc", "pca = { bands = [\"B2\", \"B4\", \"B5\", \"B6\"], components = 2 }"),
        layer("pcs", "pca = { bands = [\"B2\", \"B4\", \"B5\", \"B6\", \"B7\"], standardize = true }"),
        layer("oh", "crosta = { bands = [\"B2\", \"B5\", \"B6\", \"B7\"], reflective = \"B6\", absorbing = \"B7\" }"),
    ]
    .join("\n");
    let s = settings(d, &grid, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!(stack.columns, ["pc_pc1", "pc_pc2", "pcs_pc1", "pcs_pc2", "pcs_pc3", "pcs_pc4", "pcs_pc5", "oh"]);
    let ours = compute_all(&stack);
    let mut col = 0;
    for case in ["pca", "pca_std", "crosta"] {
        let scores = peer[case]["scores"].as_array().unwrap();
        for comp in scores {
            let want: Vec<f64> = comp.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(want.len(), 12000);
            let spread = want.iter().map(|v| v.abs()).fold(0.0, f64::max);
            for (i, w) in want.iter().enumerate() {
                let (v, ok) = ours[col][i];
                assert!(ok && (v - w).abs() < 1e-9 * spread, "{case} column {col} cell {i}: {v} vs numpy {w}");
            }
            col += 1;
        }
    }
    // describe() reports the loadings numpy found, and the component Crosta picked.
    let fmt = |v: &serde_json::Value| {
        v.as_array().unwrap().iter().map(|x| format!("{:.4}", x.as_f64().unwrap())).collect::<Vec<_>>().join(", ")
    };
    let pca = stack.layers[0].describe();
    assert!(
        pca.contains(&fmt(&peer["pca"]["loadings"][0])) && pca.contains(&fmt(&peer["pca"]["loadings"][1])),
        "{pca}"
    );
    let crosta = stack.layers[2].describe();
    let k = peer["crosta"]["component"].as_u64().unwrap();
    assert!(
        crosta.contains(&format!("Crosta directed PC{k} ")) && crosta.contains(&fmt(&peer["crosta"]["loadings"][0])),
        "{crosta}"
    );
    assert!(!crosta.contains("WARNING"), "{crosta}");
}

#[test]
fn pca_statistics_come_from_the_study_area_and_skip_nodata() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // B6 with fill in rows 40-49: those cells have no data and do not enter the statistics;
    // nor do cells outside the study area. The components equal numpy's on the cells kept,
    // and every cell with data (inside the study area or not) is projected.
    std::fs::copy(fixture("l8_MTL.txt"), d.join("l8_MTL.txt")).unwrap();
    for b in [2, 4] {
        std::fs::copy(fixture(&format!("l8_B{b}.tif")), d.join(format!("l8_B{b}.tif"))).unwrap();
    }
    tool("gdal_translate", &["-q", fixture("l8_B6.tif").to_str().unwrap(), d.join("l8_B6.tif").to_str().unwrap()]);
    {
        let ds = gdal::Dataset::open_ex(
            d.join("l8_B6.tif"),
            gdal::DatasetOptions { open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE, ..Default::default() },
        )
        .unwrap();
        let mut rows = gdal::raster::Buffer::new((120, 10), vec![0u16; 1200]);
        ds.rasterband(1).unwrap().write((0, 40), (120, 10), &mut rows).unwrap();
    }
    let ev = spectral_layer(&d.join("l8_MTL.txt"), "pc", "pca = { bands = [\"B2\", \"B4\", \"B6\"], components = 1 }");
    // Study area: the left half of the crop (columns 0-59), a polygon.
    let info = gdalinfo(&fixture("l8_B4.tif"), &[]);
    let gt: Vec<f64> = info["geoTransform"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let (x0, y1, xm, y0) = (gt[0], gt[3], gt[0] + 60.0 * 30.0, gt[3] - 100.0 * 30.0);
    write(
        d,
        "half.geojson",
        &format!(
            r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::32616"}}}},"features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{xm},{y0}],[{xm},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}]}}"#
        ),
    );
    let grid = format!("template = \"{}\"\nmask = \"half.geojson\"", fixture("l8_B4.tif").display());
    let s = settings(d, &grid, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    assert!(stack.layers[0].describe().contains(&format!("{} cells", 90 * 60)), "{}", stack.layers[0].describe());
    let ours = compute_all(&stack);
    let script = format!(
        "import numpy as np, math, json\nfrom osgeo import gdal\nm={{}}\nfor l in open('{mtl}'):\n  k,_,v=l.partition('=')\n  m[k.strip()]=v.strip().strip('\"')\ns=math.sin(math.radians(float(m['SUN_ELEVATION'])))\nx=np.stack([(float(m['REFLECTANCE_MULT_BAND_%d'%b])*gdal.Open('{dir}/l8_B%d.tif'%b).ReadAsArray().astype(float).ravel()+float(m['REFLECTANCE_ADD_BAND_%d'%b]))/s for b in (2,4,6)],axis=1)\nkeep=np.ones((100,120),bool); keep[40:50,:]=False; keep[:,60:]=False; keep=keep.ravel()\nw,v=np.linalg.eigh(np.cov(x[keep],rowvar=False)); l=v[:,np.argmax(w)]\nl=l if l[np.argmax(np.abs(l))]>0 else -l\nprint(json.dumps(((x-x[keep].mean(axis=0))@l).tolist()))\n",
        mtl = d.join("l8_MTL.txt").display(),
        dir = d.display()
    );
    let want: Vec<f64> = serde_json::from_str(&tool("/usr/bin/python3", &["-c", &script])).unwrap();
    for i in 0..12000 {
        let (v, ok) = ours[0][i];
        if (40 * 120..50 * 120).contains(&i) {
            assert!(!ok, "fill cell {i} has no data");
        } else {
            assert!(ok && (v - want[i]).abs() < 1e-9, "cell {i}: {v} vs numpy {}", want[i]);
        }
    }
}

#[test]
fn pca_and_crosta_keys_are_checked_with_errors_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let grid = format!("template = \"{}\"", fixture("l8_B4.tif").display());
    settings(d, &grid, &layer("ok", "index = \"ndvi\""));
    let text = |ev: &str| {
        format!("[project]\nname = \"s\"\n\n[grid]\n{grid}\n\n[labels]\npath = \"deposits.geojson\"\n\n{ev}\n[output]\ndir = \"out\"\n")
    };
    for (what, needles) in [
        ("pca = { bands = [\"B2\", \"B12\"] }", vec!["evidence[0].pca.bands", "unknown band `B12`"]),
        ("pca = { bands = [\"B2\"] }", vec!["evidence[0].pca.bands", "at least 2"]),
        ("pca = { bands = [\"B2\", \"B2\", \"B4\"] }", vec!["evidence[0].pca.bands", "twice"]),
        ("pca = { bands = [\"B2\", \"B4\"], components = 3 }", vec!["evidence[0].pca.components", "1..=2"]),
        (
            "crosta = { bands = [\"B2\", \"B5\", \"B6\"], reflective = \"B6\", absorbing = \"B7\" }",
            vec!["evidence[0].crosta.absorbing", "`B7` is not one of"],
        ),
        ("index = \"ndvi\"\npca = { bands = [\"B2\", \"B4\"] }", vec!["evidence[0].pca", "exactly one of"]),
        ("pca = { bands = [\"B2\", \"B4\"], component = 1 }", vec!["unknown field `component`"]),
    ] {
        let err = Settings::load(&write(d, "bad.toml", &text(&layer("bad", what)))).unwrap_err().to_string();
        assert!(needles.iter().all(|n| err.contains(n)), "{what}: {err}");
    }
}

#[test]
fn lode_run_on_sentinel2_with_an_index_and_crosta_maps_the_20m_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let points: Vec<String> = [
        (443700, 4172700),
        (444100, 4172300),
        (444900, 4171500),
        (445100, 4171900),
        (443900, 4171300),
        (444500, 4172100),
    ]
    .iter()
    .map(|(x, y)| {
        format!(r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#)
    })
    .collect();
    write(
        d,
        "dep.geojson",
        &format!(
            r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::32618"}}}},"features":[{}]}}"#,
            points.join(",")
        ),
    );
    let f = s2("");
    let config = format!(
        "[project]\nname = \"s2\"\n\n[grid]\n{S2_BOX}\ncell_size = 20\n\n[labels]\npath = \"dep.geojson\"\nnegative_buffer = 200\n\n{}\n{}\n[output]\ndir = \"{}\"\n",
        spectral_layer(&f, "ndvi", "index = \"ndvi\""),
        spectral_layer(&f, "oh", "crosta = { bands = [\"B2\", \"B8A\", \"B11\", \"B12\"], reflective = \"B11\", absorbing = \"B12\" }"),
        d.join("out").display()
    );
    let path = write(d, "c.toml", &config);
    let out = lode(&["run", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The Crosta loadings are in the run's log.
    assert!(
        stderr.contains("evidence `oh`: spectral Crosta directed PC")
            && stderr.contains("high B11 / low B12 is bright"),
        "{stderr}"
    );
    // ... and in metrics.json, with each layer's columns.
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/metrics.json")).unwrap()).unwrap();
    let ev = &metrics["evidence"];
    assert_eq!(ev[0]["name"], "ndvi");
    assert_eq!(ev[1]["columns"], serde_json::json!(["oh"]));
    let described = ev[1]["description"].as_str().unwrap();
    assert!(described.contains("Crosta directed PC") && stderr.contains(described), "{described}");
    let info = gdalinfo(&d.join("out/prospectivity.tif"), &[]);
    assert_eq!(info["size"], serde_json::json!([90, 90]));
    let model = std::fs::read_to_string(d.join("out/model.json")).unwrap();
    assert!(model.contains("\"ndvi\"") && model.contains("\"oh\""));
}
