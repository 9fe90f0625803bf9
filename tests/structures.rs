//! Structural evidence against independent references: `distance` with
//! `method = "raster"` against `gdal_rasterize` + `gdal_proximity.py` on the same lines
//! (with and without all-touched), and the structure kinds against hand-computable
//! geometry. Small windows (block_size 16) so every computation crosses windows.

mod common;

use std::path::Path;

use common::*;
use lode::features::FeatureStack;
use lode::Settings;

const COLS: usize = 80;
const ROWS: usize = 60;
const CELL: f64 = 100.0;

/// Settings on an 80 x 60 grid of 100 m cells with the given evidence.
fn config(dir: &Path, evidence: &str) -> Settings {
    small_grid_settings(dir, "structures", (COLS, ROWS, CELL), evidence)
}

/// A line through points given relative to the grid's top-left corner (y down, metres).
fn line(pts: &[(f64, f64)]) -> String {
    let coords: Vec<String> = pts.iter().map(|(x, y)| format!("[{},{}]", X0 + x, Y1 - y)).collect();
    format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"LineString","coordinates":[{}]}}}}"#,
        coords.join(",")
    )
}

/// Band 1 of a raster as f64, row-major.
fn read_all(path: &Path) -> Vec<f64> {
    let ds = gdal::Dataset::open(path).unwrap();
    let size = ds.raster_size();
    ds.rasterband(1).unwrap().read_as::<f64>((0, 0), size, size, None).unwrap().data().to_vec()
}

/// Faults at assorted angles, one leaving the grid, plus a point. No vertex lies exactly
/// on a cell edge: there GDAL's own all-touched burn depends on the raster's origin
/// (`gdal_rasterize -at` over two extents burns different cells), see docs/config.md.
fn faults() -> String {
    geojson_collection(&[
        line(&[(250.0, 130.0), (7333.0, 5020.0)]),
        line(&[(-900.0, 3210.0), (4000.0, 2890.0), (4470.0, 5610.0)]),
        line(&[(6020.0, 350.0), (6110.0, 2760.0)]),
        line(&[(1180.0, 5450.0), (3950.0, 4405.0), (8700.0, 4730.0)]),
        geojson_point(7555.0, 1255.0),
    ])
}

#[test]
fn raster_distance_equals_gdal_rasterize_then_gdal_proximity() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let lines = write(d, "faults.geojson", &faults());
    let ev = format!(
        r#"
[[evidence]]
name = "centre"
kind = "distance"
path = "{p}"
method = "raster"

[[evidence]]
name = "touched"
kind = "distance"
path = "{p}"
method = "raster"
all_touched = true

[[evidence]]
name = "exact"
kind = "distance"
path = "{p}"
"#,
        p = lines.display()
    );
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let ours = compute_all(&stack);
    let te =
        [X0.to_string(), (Y1 - ROWS as f64 * CELL).to_string(), (X0 + COLS as f64 * CELL).to_string(), Y1.to_string()];
    for (layer, at) in [(0usize, false), (1, true)] {
        let burnt = d.join(format!("burnt{layer}.tif"));
        let prox = d.join(format!("prox{layer}.tif"));
        let mut args =
            vec!["-q", "-burn", "1", "-ot", "Byte", "-tr", "100", "100", "-te", &te[0], &te[1], &te[2], &te[3]];
        if at {
            args.push("-at");
        }
        args.extend([lines.to_str().unwrap(), burnt.to_str().unwrap()]);
        tool("gdal_rasterize", &args);
        tool(
            "gdal_proximity.py",
            &[
                "-q",
                "-distunits",
                "GEO",
                "-ot",
                "Float64",
                "-values",
                "1",
                burnt.to_str().unwrap(),
                prox.to_str().unwrap(),
            ],
        );
        let want = read_all(&prox);
        let burnt_cells = read_all(&burnt).iter().filter(|&&v| v == 1.0).count();
        assert!(burnt_cells > 150, "{burnt_cells} burnt cells");
        for (i, (&(v, ok), &w)) in ours[layer].iter().zip(&want).enumerate() {
            assert!(ok, "valid everywhere");
            // gdal_proximity computes in float32.
            assert!((v - w).abs() <= 1e-6 * (1.0 + w), "layer {layer} cell {i}: lode {v}, gdal_proximity {w}");
        }
    }
    // An all-touched burnt cell holds part of a feature, so the exact distance is never
    // more than the distance to its centre plus half a cell diagonal. (GDAL's default line
    // burn is a line-drawing algorithm that can pick a cell next to the exact path.)
    let half_diag = CELL * std::f64::consts::SQRT_2 / 2.0;
    for i in 0..COLS * ROWS {
        assert!(
            ours[2][i].0 <= ours[1][i].0 + half_diag + 1e-9,
            "cell {i}: exact {} raster {}",
            ours[2][i].0,
            ours[1][i].0
        );
    }
}

#[test]
fn line_density_strike_filter_and_intersections_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A: north-south at x = 2050 m; B: east-west at y = 3050 m (both beyond the grid);
    // C: a short north-west / south-east segment (strike 135) crossing neither.
    let (xa, yb) = (2050.0, 3050.0);
    let lines = write(
        d,
        "faults.geojson",
        &geojson_collection(&[
            line(&[(xa, -500.0), (xa, 6500.0)]),
            line(&[(-500.0, yb), (8500.0, yb)]),
            line(&[(5000.0, 500.0), (6500.0, 2000.0)]),
        ]),
    );
    let p = lines.display();
    let ev = format!(
        r#"
[[evidence]]
name = "density"
kind = "line_density"
path = "{p}"
radius = 450.0

[[evidence]]
name = "density_ew"
kind = "line_density"
path = "{p}"
radius = 450.0
strike = 270.0
strike_tolerance = 10.0

[[evidence]]
name = "to_ns"
kind = "distance"
path = "{p}"
strike = 0.0
strike_tolerance = 10.0

[[evidence]]
name = "to_nw_se"
kind = "distance"
path = "{p}"
strike = 140.0

[[evidence]]
name = "to_crossing"
kind = "distance"
path = "{p}"
intersections = true
"#
    );
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let ours = compute_all(&stack);
    let r = 450.0f64;
    let chord = |dist: f64| if dist < r { 2.0 * (r * r - dist * dist).sqrt() } else { 0.0 };
    let area = std::f64::consts::PI * r * r;
    let seg_c = ((5000.0, 500.0), (6500.0, 2000.0));
    let (mut near_both, mut checked) = (0, 0);
    for i in 0..COLS * ROWS {
        // Cell centre relative to the top-left corner, y down.
        let (x, y) = ((i % COLS) as f64 * CELL + 50.0, (i / COLS) as f64 * CELL + 50.0);
        let (da, db) = ((x - xa).abs(), (y - yb).abs());
        // Distance to C (a segment), for the cells the density test may use.
        let ((x0, y0), (x1, y1)) = seg_c;
        let t =
            (((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / ((x1 - x0).powi(2) + (y1 - y0).powi(2))).clamp(0.0, 1.0);
        let dc = (x - (x0 + t * (x1 - x0))).hypot(y - (y0 + t * (y1 - y0)));
        if dc > r + 1.0 {
            let want = 1000.0 * (chord(da) + chord(db)) / area;
            assert!((ours[0][i].0 - want).abs() < 1e-9, "density at ({x}, {y}): {} vs {want}", ours[0][i].0);
            checked += 1;
            if da < r && db < r {
                near_both += 1;
            }
        }
        let want_ew = 1000.0 * chord(db) / area;
        assert!((ours[1][i].0 - want_ew).abs() < 1e-9, "east-west density at ({x}, {y})");
        assert!((ours[2][i].0 - da).abs() < 1e-9, "distance to the north-south fault at ({x}, {y})");
        assert!((ours[3][i].0 - dc).abs() < 1e-9, "distance to the strike-140 fault at ({x}, {y})");
        assert!((ours[4][i].0 - da.hypot(db)).abs() < 1e-9, "distance to the crossing at ({x}, {y})");
    }
    assert!(checked > 4000 && near_both > 50, "{checked} {near_both}");
    // A strike filter that keeps nothing is an error naming the layer.
    let bad = ev.replace("strike = 140.0", "strike = 60.0\nstrike_tolerance = 5.0");
    let path = write(d, "bad.toml", &std::fs::read_to_string(d.join("c.toml")).unwrap().replace(&ev, &bad));
    let err = FeatureStack::prepare(&Settings::load(&path).unwrap()).unwrap_err().to_string();
    assert!(err.contains("to_nw_se") && err.contains("strike"), "{err}");
}

/// A point with a `grade` attribute.
fn weighted_point(x: f64, y: f64, grade: f64) -> String {
    geojson_point(x, y).replace(r#""properties":{}"#, &format!(r#""properties":{{"grade":{grade}}}"#))
}

#[test]
fn point_density_equals_a_brute_force_kernel_sum() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Clustered occurrences (some off-centre, some closer than the radius), one near an edge.
    let pts: Vec<(f64, f64, f64)> = (0..40)
        .map(|k| {
            let k = k as f64;
            (1500.0 + (k * 379.0) % 4700.0, 1200.0 + (k * 211.0) % 3300.0, 1.0 + k % 3.0)
        })
        .chain([(30.0, 5960.0, 2.0)])
        .collect();
    let features: Vec<String> = pts.iter().map(|&(x, y, g)| weighted_point(x, y, g)).collect();
    let path = write(d, "occurrences.geojson", &geojson_collection(&features));
    let p = path.display();
    let ev = format!(
        r#"
[[evidence]]
name = "quartic"
kind = "point_density"
path = "{p}"
radius = 650.0

[[evidence]]
name = "uniform_weighted"
kind = "point_density"
path = "{p}"
radius = 400.0
kernel = "uniform"
attribute = "grade"
"#
    );
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let ours = compute_all(&stack);
    let pi = std::f64::consts::PI;
    let mut mass = 0.0;
    for i in 0..COLS * ROWS {
        let (x, y) = ((i % COLS) as f64 * CELL + 50.0, (i / COLS) as f64 * CELL + 50.0);
        let (mut quartic, mut uniform) = (0.0, 0.0);
        for &(px, py, g) in &pts {
            let dist = (x - px).hypot(y - py);
            if dist < 650.0 {
                quartic += 3.0 / (pi * 650.0 * 650.0) * (1.0 - (dist / 650.0).powi(2)).powi(2);
            }
            if dist <= 400.0 {
                uniform += g / (pi * 400.0 * 400.0);
            }
        }
        // Per km² (the grid is in metres).
        let (quartic, uniform) = (quartic * 1e6, uniform * 1e6);
        assert!(
            (ours[0][i].0 - quartic).abs() < 1e-9 * (1.0 + quartic),
            "quartic at {i}: {} vs {quartic}",
            ours[0][i].0
        );
        assert!(
            (ours[1][i].0 - uniform).abs() < 1e-9 * (1.0 + uniform),
            "uniform at {i}: {} vs {uniform}",
            ours[1][i].0
        );
        mass += ours[0][i].0 * CELL * CELL / 1e6;
    }
    // The kernel integrates to one per point: all but the edge point's lost three quarters.
    assert!((mass - 40.25).abs() < 0.25, "total mass {mass}");
    // A weight that is not a number is an error naming the layer.
    let bad = features.join(",").replacen(r#""grade":1"#, r#""grade":"high""#, 1);
    write(d, "occurrences.geojson", &geojson_collection(&[bad]));
    let err = FeatureStack::prepare(&config(d, &ev)).unwrap_err().to_string();
    assert!(err.contains("uniform_weighted") && err.contains("not a number"), "{err}");
}
