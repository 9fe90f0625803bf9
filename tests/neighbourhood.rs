//! Neighbourhood evidence kinds against independent references: `terrain` against
//! `gdaldem` (slope, aspect, TRI, roughness) on a DEM-like surface with a flat top and a
//! nodata hole, and `focal` against a brute-force computation over the whole raster.
//! The grid uses small windows (block_size 16) so halos cross window boundaries.

mod common;

use std::path::Path;

use common::*;
use gdal::raster::Buffer;
use gdal::DriverManager;
use lode::features::FeatureStack;
use lode::Settings;

const COLS: usize = 70;
const ROWS: usize = 50;
const CELL: f64 = 30.0;
const NODATA: f64 = -9999.0;

/// Settings on a 70 x 50 grid of 30 m cells with the given evidence.
fn config(dir: &Path, evidence: &str) -> Settings {
    small_grid_settings(dir, "neighbourhood", (COLS, ROWS, CELL), evidence)
}

/// Writes a Float32 raster on the grid with `values` (row-major), nodata -9999.
fn write_raster(path: &Path, values: &[f64]) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver.create_with_band_type::<f32, _>(path, COLS, ROWS, 1).unwrap();
    ds.set_geo_transform(&[X0, CELL, 0.0, Y1, 0.0, -CELL]).unwrap();
    let srs = gdal::spatial_ref::SpatialRef::from_epsg(7845).unwrap();
    ds.set_spatial_ref(&srs).unwrap();
    let mut band = ds.rasterband(1).unwrap();
    band.set_no_data_value(Some(NODATA)).unwrap();
    let mut buf = Buffer::new((COLS, ROWS), values.iter().map(|&v| v as f32).collect());
    band.write((0, 0), (COLS, ROWS), &mut buf).unwrap();
}

/// Band 1 of a raster as f64, row-major, with its nodata value.
fn read_all(path: &Path) -> (Vec<f64>, Option<f64>) {
    let ds = gdal::Dataset::open(path).unwrap();
    let size = ds.raster_size();
    let band = ds.rasterband(1).unwrap();
    (band.read_as::<f64>((0, 0), size, size, None).unwrap().data().to_vec(), band.no_data_value())
}

/// Every layer's columns over the whole grid (window by window) with validity.
fn compute_all(stack: &FeatureStack) -> (Vec<Vec<f64>>, Vec<Vec<bool>>) {
    let grid = &stack.grid;
    let mut values = vec![vec![f64::NAN; grid.len()]; stack.columns.len()];
    let mut valid = vec![vec![false; grid.len()]; stack.layers.len()];
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            let g = grid.index(w.cell(i));
            for (c, col) in values.iter_mut().enumerate() {
                col[g] = b.values[[i, c]];
            }
            for (l, v) in valid.iter_mut().enumerate() {
                v[g] = b.layer_valid[[i, l]];
            }
        }
    }
    (values, valid)
}

/// A DEM-like surface: hills on a tilted plane, a flat top, a nodata hole.
fn dem() -> Vec<f64> {
    (0..ROWS * COLS)
        .map(|i| {
            let (r, c) = ((i / COLS) as f64, (i % COLS) as f64);
            if (20.0..23.0).contains(&r) && (40.0..42.0).contains(&c) {
                return NODATA;
            }
            let z = 300.0 + 60.0 * (c / 9.0).sin() * (r / 7.0).cos() + 0.8 * c - 0.3 * r;
            z.min(355.0)
        })
        .collect()
}

#[test]
fn terrain_equals_gdaldem_slope_aspect_tri_roughness() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dem_path = d.join("dem.tif");
    write_raster(&dem_path, &dem());
    let layer = |name: &str, derivative: &str| {
        format!(
            "[[evidence]]\nname = \"{name}\"\nkind = \"terrain\"\npath = \"{}\"\nderivative = \"{derivative}\"\n",
            dem_path.display()
        )
    };
    let ev = [layer("slope", "slope"), layer("aspect", "aspect"), layer("tri", "tri"), layer("rough", "roughness")]
        .join("\n");
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!(stack.columns, ["slope", "aspect_sin", "aspect_cos", "tri", "rough"]);
    let (values, valid) = compute_all(&stack);

    let dem_s = dem_path.to_str().unwrap();
    for (program_args, file) in
        [(vec!["slope"], "s.tif"), (vec!["aspect"], "a.tif"), (vec!["TRI"], "t.tif"), (vec!["roughness"], "r.tif")]
    {
        let out = d.join(file);
        let mut args = program_args.clone();
        args.extend(["-q", dem_s, out.to_str().unwrap()]);
        tool("gdaldem", &args);
    }
    let (slope, slope_nd) = read_all(&d.join("s.tif"));
    let (aspect, aspect_nd) = read_all(&d.join("a.tif"));
    let (tri, tri_nd) = read_all(&d.join("t.tif"));
    let (rough, rough_nd) = read_all(&d.join("r.tif"));
    let (mut compared, mut flat, mut worst) = (0, 0, 0.0f64);
    let close = |a: f64, b: f64, what: &str, i: usize| {
        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{what} at cell {i}: lode {a}, gdaldem {b}");
    };
    for i in 0..COLS * ROWS {
        // Same validity as gdaldem (edges and cells next to the hole have no data).
        let gdal_valid = Some(slope[i]) != slope_nd;
        assert_eq!(valid[0][i], gdal_valid, "slope validity at cell {i}");
        assert_eq!(valid[1][i], gdal_valid, "aspect validity at cell {i}");
        assert_eq!(valid[2][i], Some(tri[i]) != tri_nd, "TRI validity at cell {i}");
        assert_eq!(valid[3][i], Some(rough[i]) != rough_nd, "roughness validity at cell {i}");
        if !gdal_valid {
            continue;
        }
        compared += 1;
        close(values[0][i], slope[i], "slope", i);
        close(values[3][i], tri[i], "TRI", i);
        close(values[4][i], rough[i], "roughness", i);
        if Some(aspect[i]) == aspect_nd {
            // gdaldem leaves flat cells without aspect; lode gives them no direction.
            assert_eq!((values[1][i], values[2][i]), (0.0, 0.0), "flat cell {i}");
            flat += 1;
        } else {
            // gdaldem sums the 3 x 3 elevations in float32 (about 4e-5 m here) before
            // differencing them: its direction is that precise relative to the gradient.
            let az = aspect[i].to_radians();
            let gradient_sum = 8.0 * CELL * values[0][i].to_radians().tan();
            let tol = 1e-6 + 8.0 * 400.0 * f32::EPSILON as f64 / gradient_sum;
            assert!(
                (values[1][i] - az.sin()).abs() < tol,
                "aspect sin at {i}: {} vs {} (tol {tol})",
                values[1][i],
                az.sin()
            );
            assert!(
                (values[2][i] - az.cos()).abs() < tol,
                "aspect cos at {i}: {} vs {} (tol {tol})",
                values[2][i],
                az.cos()
            );
            worst = worst.max((values[1][i] - az.sin()).abs().max((values[2][i] - az.cos()).abs()));
        }
    }
    assert!(compared > 3000, "{compared} cells compared");
    assert!(flat > 20, "the flat top is exercised ({flat} cells)");
    assert!(worst < 1e-4, "aspect agrees to {worst}");
}

#[test]
fn focal_statistics_equal_a_brute_force_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let path = d.join("v.tif");
    // Values with scattered nodata cells and a nodata block (windows with few valid cells).
    let raw: Vec<f64> = (0..ROWS * COLS)
        .map(|i| {
            let (r, c) = (i / COLS, i % COLS);
            if (i * 7919) % 13 == 0 || (r < 12 && c < 9) {
                NODATA
            } else {
                ((i * 104_729) % 1000) as f64 / 10.0 + r as f64
            }
        })
        .collect();
    write_raster(&path, &raw);
    let p = path.display();
    let ev = format!(
        r#"
[[evidence]]
name = "mean_circle"
kind = "focal"
path = "{p}"
statistic = "mean"
radius = 75.0

[[evidence]]
name = "std_square"
kind = "focal"
path = "{p}"
statistic = "std"
radius_cells = 2
shape = "square"
min_valid = 0.8

[[evidence]]
name = "range_circle"
kind = "focal"
path = "{p}"
statistic = "range"
radius_cells = 3.5
"#
    );
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let (values, valid) = compute_all(&stack);
    // Brute force: every grid cell whose centre is inside the window, read from the file.
    let (file, _) = read_all(&path);
    let has = |v: f64| v != NODATA;
    type Stat = fn(&[f64]) -> f64;
    let mean: Stat = |v| v.iter().sum::<f64>() / v.len() as f64;
    let std: Stat = |v| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let range: Stat = |v| v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min);
    // (inside test in metres, minimum valid fraction, statistic)
    let cases: [(Box<dyn Fn(f64, f64) -> bool>, f64, Stat); 3] = [
        (Box::new(|dx, dy| dx * dx + dy * dy <= 75.0 * 75.0), 0.5, mean),
        (Box::new(|dx: f64, dy: f64| dx.abs() <= 60.0 && dy.abs() <= 60.0), 0.8, std),
        (Box::new(|dx, dy| dx * dx + dy * dy <= (3.5 * CELL) * (3.5 * CELL)), 0.5, range),
    ];
    let mut checked = [0usize; 3];
    for (k, (inside, min_valid, stat)) in cases.iter().enumerate() {
        for i in 0..ROWS * COLS {
            let (r, c) = ((i / COLS) as i64, (i % COLS) as i64);
            let (mut total, mut vals) = (0usize, Vec::new());
            for rr in r - 5..=r + 5 {
                for cc in c - 5..=c + 5 {
                    if !inside((cc - c) as f64 * CELL, (rr - r) as f64 * CELL) {
                        continue;
                    }
                    total += 1;
                    if rr >= 0 && cc >= 0 && rr < ROWS as i64 && cc < COLS as i64 {
                        let v = file[rr as usize * COLS + cc as usize];
                        if has(v) {
                            vals.push(v);
                        }
                    }
                }
            }
            let want_valid = !vals.is_empty() && vals.len() as f64 >= min_valid * total as f64;
            assert_eq!(valid[k][i], want_valid, "layer {k} validity at cell {i} ({} of {total})", vals.len());
            if want_valid {
                let want = stat(&vals);
                assert!(
                    (values[k][i] - want).abs() < 1e-9 * (1.0 + want.abs()),
                    "layer {k} at {i}: {} vs {want}",
                    values[k][i]
                );
                checked[k] += 1;
            }
        }
    }
    assert!(checked.iter().all(|&n| n > 2500), "{checked:?}");
    assert!(checked.iter().all(|&n| n < ROWS * COLS), "some windows have too few valid cells: {checked:?}");
}
