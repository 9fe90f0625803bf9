//! Evidence layers on the grid, checked against independent references: grid
//! alignment through a round trip to EPSG:4326 made with `gdalwarp`, `rasterize`
//! against `gdal_rasterize`, `distance` against exact geometry, `categorical` against
//! the raw raster, and the study-area mask.

mod common;

use std::path::Path;

use common::*;
use gdal::raster::Buffer;
use gdal::DriverManager;
use lode::features::FeatureStack;
use lode::grid::Window;
use lode::Settings;

/// Loads settings from `text` written to `dir/c.toml`.
fn settings(dir: &Path, text: &str) -> Settings {
    let path = write(dir, "c.toml", text);
    Settings::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes a Float64 GeoTIFF on the template grid whose cells hold `f(x, y)` of their centre.
fn coordinate_raster(path: &Path, f: impl Fn(f64, f64) -> f64) {
    let template = gdal::Dataset::open(cloncurry("StratNo.tif")).unwrap();
    let gt = template.geo_transform().unwrap();
    let (cols, rows) = template.raster_size();
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = driver.create_with_band_type::<f64, _>(path, cols, rows, 1).unwrap();
    ds.set_geo_transform(&gt).unwrap();
    ds.set_projection(&template.projection()).unwrap();
    let data = (0..rows * cols)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            f(gt[0] + (c as f64 + 0.5) * gt[1], gt[3] + (r as f64 + 0.5) * gt[5])
        })
        .collect();
    let mut buf = Buffer::new((cols, rows), data);
    ds.rasterband(1).unwrap().write((0, 0), (cols, rows), &mut buf).unwrap();
}

#[test]
fn a_raster_in_another_crs_and_resolution_lands_on_the_template_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    coordinate_raster(&d.join("e.tif"), |x, _| x);
    coordinate_raster(&d.join("n.tif"), |_, y| y);
    // Geographic coordinates, cells of 0.0007 degrees (about 75 m), made by GDAL's own tool.
    for v in ["e", "n"] {
        tool(
            "gdalwarp",
            &[
                "-q",
                "-t_srs",
                "EPSG:4326",
                "-tr",
                "0.0007",
                "0.0007",
                "-r",
                "bilinear",
                "-et",
                "0",
                d.join(format!("{v}.tif")).to_str().unwrap(),
                d.join(format!("{v}4326.tif")).to_str().unwrap(),
            ],
        );
        assert!(gdalinfo(&d.join(format!("{v}4326.tif")), &[])["coordinateSystem"]["wkt"]
            .as_str()
            .unwrap()
            .contains("ID[\"EPSG\",4326]"));
    }
    // Default resampling (`auto`: average, the source cells being smaller) and bilinear.
    let layer = |name: &str, file: &str, resampling: &str| {
        format!(
            "[[evidence]]\nname = \"{name}\"\nkind = \"raster\"\npath = \"{}\"\nresampling = \"{resampling}\"\n",
            d.join(file).display()
        )
    };
    let ev = [
        layer("e", "e4326.tif", "auto"),
        layer("n", "n4326.tif", "auto"),
        layer("e_bilinear", "e4326.tif", "bilinear"),
        layer("n_bilinear", "n4326.tif", "bilinear"),
    ]
    .join("\n");
    let s = settings(d, &cloncurry_config(&d.join("out"), "", &ev));
    let stack = FeatureStack::prepare(&s).unwrap();
    let grid = &stack.grid;
    let (mut worst, mut worst_bilinear, mut checked) = (0.0f64, 0.0f64, 0usize);
    // Windows spread over the grid, away from its outer edge.
    for &(col, row) in &[(256, 256), (768, 512), (512, 1536), (900, 2200), (100, 1200)] {
        let w = Window { col, row, cols: 64, rows: 64 };
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            assert!(b.valid[i], "cell {:?} lost its data in the round trip", w.cell(i));
            let (x, y) = grid.centre(w.cell(i));
            worst = worst.max((b.values[[i, 0]] - x).abs()).max((b.values[[i, 1]] - y).abs());
            worst_bilinear = worst_bilinear.max((b.values[[i, 2]] - x).abs()).max((b.values[[i, 3]] - y).abs());
            checked += 1;
        }
    }
    // Half a cell is 50 m. Averaging whole source cells (about 75 m) may shift the mean
    // position by less than half a source cell; bilinear of a linear field is exact, so
    // there any error beyond a metre would be misalignment (a half-cell shift, swapped axes).
    assert!(worst < 50.0, "average: cell centres misplaced by up to {worst} m over {checked} cells");
    assert!(worst_bilinear < 1.0, "bilinear: cell centres misplaced by up to {worst_bilinear} m");
}

#[test]
fn categorical_one_hot_matches_the_raw_raster() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = format!(
        "[[evidence]]\nname = \"near_fault\"\nkind = \"categorical\"\npath = \"{}\"\n",
        cloncurry("binary/Dist2Fault.tif").display()
    );
    let s = settings(tmp.path(), &cloncurry_config(&tmp.path().join("out"), "", &ev));
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!(stack.columns, vec!["near_fault=1", "near_fault=2"]);
    let raw = gdal::Dataset::open(cloncurry("binary/Dist2Fault.tif")).unwrap();
    let w = Window { col: 300, row: 700, cols: 200, rows: 150 };
    let truth = raw.rasterband(1).unwrap().read_as::<u8>((300, 700), (200, 150), (200, 150), None).unwrap();
    let b = stack.compute(&w).unwrap();
    for (i, &v) in truth.data().iter().enumerate() {
        assert!(b.valid[i]);
        assert_eq!(b.values[[i, 0]], if v == 1 { 1.0 } else { 0.0 });
        assert_eq!(b.values[[i, 1]], if v == 2 { 1.0 } else { 0.0 });
    }
}

/// A small explicit grid (64 x 48 cells of 100 m) in EPSG:7845 with a few polygons,
/// lines and deposits written as GeoJSON.
const X0: f64 = 650_000.0;
const Y1: f64 = -2_300_000.0;

fn small_grid_config(dir: &Path, evidence: &str, mask: &str) -> String {
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::7845"}}"#;
    let poly = |pts: &[(f64, f64)], unit: i64| {
        let ring: Vec<String> = pts.iter().map(|(x, y)| format!("[{},{}]", X0 + x, Y1 - y)).collect();
        format!(
            r#"{{"type":"Feature","properties":{{"unit":{unit}}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
            ring.join(",")
        )
    };
    let polygons = [
        poly(&[(0.0, 0.0), (3000.0, 0.0), (3000.0, 2500.0), (0.0, 2500.0), (0.0, 0.0)], 11),
        poly(&[(2000.0, 1000.0), (6400.0, 300.0), (5000.0, 4800.0), (2000.0, 1000.0)], 42),
        poly(&[(123.0, 2600.0), (2950.0, 2777.0), (1500.0, 4750.0), (123.0, 2600.0)], 7),
    ];
    write(
        dir,
        "geology.geojson",
        &format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, polygons.join(",")),
    );
    // A fault along x = X0 + 2530 and one point occurrence.
    write(
        dir,
        "faults.geojson",
        &format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[
            {{"type":"Feature","properties":{{}},"geometry":{{"type":"LineString","coordinates":[[{x},{y0}],[{x},{y1}]]}}}},
            {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{px},{py}]}}}}]}}"#,
            x = X0 + 2530.0,
            y0 = Y1 + 5000.0,
            y1 = Y1 - 10000.0,
            px = X0 + 6000.0,
            py = Y1 - 4000.0
        ),
    );
    write(
        dir,
        "deposits.geojson",
        &format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[
            {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}},
            {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}]}}"#,
            X0 + 1050.0,
            Y1 - 1050.0,
            X0 + 6350.0,
            Y1 - 4750.0
        ),
    );
    format!(
        r#"
[project]
name = "small"

[grid]
crs = "EPSG:7845"
bounds = [{x0}, {y0}, {x1}, {y1}]
cell_size = 100.0
block_size = 32
{mask}

[labels]
path = "deposits.geojson"
negative_buffer = 300.0

{evidence}

[output]
dir = "out"
"#,
        x0 = X0,
        y0 = Y1 - 4800.0,
        x1 = X0 + 6400.0,
        y1 = Y1,
    )
}

/// Reads the whole of band 1 of a raster as f64.
fn read_all(path: &Path) -> Vec<f64> {
    let ds = gdal::Dataset::open(path).unwrap();
    let size = ds.raster_size();
    ds.rasterband(1).unwrap().read_as::<f64>((0, 0), size, size, None).unwrap().data().to_vec()
}

#[test]
fn rasterize_equals_gdal_rasterize() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ev = "[[evidence]]\nname = \"geo\"\nkind = \"rasterize\"\npath = \"geology.geojson\"\nattribute = \"unit\"\n";
    let s = settings(d, &small_grid_config(d, ev, ""));
    let stack = FeatureStack::prepare(&s).unwrap();
    // Ground outside every polygon is the class `unmapped` by default (never a silent drop).
    assert_eq!(stack.columns, vec!["geo=7", "geo=11", "geo=42", "geo=unmapped"]);
    let reference = d.join("ref.tif");
    let [x0, y0, x1, y1] = stack.grid.bounds();
    tool(
        "gdal_rasterize",
        &[
            "-q",
            "-a",
            "unit",
            "-te",
            &x0.to_string(),
            &y0.to_string(),
            &x1.to_string(),
            &y1.to_string(),
            "-tr",
            "100",
            "100",
            "-ot",
            "Int32",
            "-init",
            "0",
            d.join("geology.geojson").to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
    );
    let truth = read_all(&reference);
    // lode computes window by window (32-cell blocks); the reference is one pass.
    let mut covered = 0;
    for w in stack.grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            let t = truth[stack.grid.index(w.cell(i))];
            let lode_class = (0..3).find(|&k| b.values[[i, k]] == 1.0).map(|k| [7.0, 11.0, 42.0][k]);
            match lode_class {
                Some(c) => {
                    assert!(b.valid[i]);
                    assert_eq!(c, t, "cell {:?}", w.cell(i));
                    covered += 1;
                }
                None => {
                    assert!(b.valid[i] && b.values[[i, 3]] == 1.0, "a cell outside every polygon is `unmapped`");
                    assert_eq!(t, 0.0, "cell {:?}: gdal_rasterize burnt {t}", w.cell(i));
                }
            }
        }
    }
    assert!(covered > 1000 && covered < 64 * 48, "{covered} cells covered");
}

/// `polygon_value` burns a numeric attribute (a unit's age in Ma, with decimals) exactly
/// as `gdal_rasterize -a` does (the later of two overlapping polygons wins); ground outside
/// every polygon has no data; a polygon whose value is text is refused, naming the attribute.
#[test]
fn polygon_value_equals_gdal_rasterize_and_leaves_unmapped_ground_without_data() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::7845"}}"#;
    let ages = |age: [&str; 3]| {
        let poly = |pts: &[(f64, f64)], age: &str| {
            let ring: Vec<String> = pts.iter().map(|(x, y)| format!("[{},{}]", X0 + x, Y1 - y)).collect();
            format!(
                r#"{{"type":"Feature","properties":{{"age_ma":{age}}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
                ring.join(",")
            )
        };
        let polygons = [
            poly(&[(0.0, 0.0), (3000.0, 0.0), (3000.0, 2500.0), (0.0, 2500.0), (0.0, 0.0)], age[0]),
            poly(&[(2000.0, 1000.0), (6400.0, 300.0), (5000.0, 4800.0), (2000.0, 1000.0)], age[1]),
            poly(&[(123.0, 2600.0), (2950.0, 2777.0), (1500.0, 4750.0), (123.0, 2600.0)], age[2]),
        ];
        format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, polygons.join(","))
    };
    write(d, "ages.geojson", &ages(["1655.5", "1740.25", "1862"]));
    let ev =
        "[[evidence]]\nname = \"age\"\nkind = \"polygon_value\"\npath = \"ages.geojson\"\nattribute = \"age_ma\"\n";
    let s = settings(d, &small_grid_config(d, ev, ""));
    let stack = FeatureStack::prepare(&s).unwrap();
    assert_eq!(stack.columns, vec!["age"]);
    let reference = d.join("ref.tif");
    let [x0, y0, x1, y1] = stack.grid.bounds();
    let (x0, y0, x1, y1) = (x0.to_string(), y0.to_string(), x1.to_string(), y1.to_string());
    let ages_path = d.join("ages.geojson");
    tool(
        "gdal_rasterize",
        &[
            "-q",
            "-a",
            "age_ma",
            "-te",
            &x0,
            &y0,
            &x1,
            &y1,
            "-tr",
            "100",
            "100",
            "-ot",
            "Float64",
            "-init",
            "-1",
            ages_path.to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
    );
    let truth = read_all(&reference);
    let (mut burnt, mut seen) = (0, std::collections::BTreeSet::new());
    for w in stack.grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            let t = truth[stack.grid.index(w.cell(i))];
            if t == -1.0 {
                assert!(!b.valid[i], "cell {:?} lies outside every polygon but has data", w.cell(i));
            } else {
                assert!(b.valid[i], "cell {:?}", w.cell(i));
                assert_eq!(b.values[[i, 0]], t, "cell {:?}", w.cell(i));
                seen.insert(t.to_bits());
                burnt += 1;
            }
        }
    }
    assert!(burnt > 1000 && burnt < 64 * 48, "{burnt} cells burnt");
    assert_eq!(seen.len(), 3, "every age appears on the grid");

    write(d, "ages.geojson", &ages(["1655.5", "\"Proterozoic\"", "1862"]));
    let s = settings(d, &small_grid_config(d, ev, ""));
    let err = FeatureStack::prepare(&s).unwrap_err().to_string();
    assert!(err.contains("`age_ma` is `Proterozoic`, not a number") && err.contains("ages.geojson"), "{err}");
}

#[test]
fn distance_is_exact_to_lines_and_points() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ev = "[[evidence]]\nname = \"dfault\"\nkind = \"distance\"\npath = \"faults.geojson\"\n";
    let s = settings(d, &small_grid_config(d, ev, ""));
    let stack = FeatureStack::prepare(&s).unwrap();
    let b = stack.compute(&stack.grid.full_window()).unwrap();
    for i in 0..stack.grid.len() {
        let (x, y) = stack.grid.centre(stack.grid.full_window().cell(i));
        let to_line = (x - (X0 + 2530.0)).abs();
        let to_point = ((x - X0 - 6000.0).powi(2) + (y - Y1 + 4000.0).powi(2)).sqrt();
        let expect = to_line.min(to_point);
        assert!((b.values[[i, 0]] - expect).abs() < 1e-6, "cell {i}: {} vs {expect}", b.values[[i, 0]]);
    }
}

#[test]
fn polygon_mask_limits_the_study_area_and_drops_deposits_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ev = "[[evidence]]\nname = \"dfault\"\nkind = \"distance\"\npath = \"faults.geojson\"\n";
    let s = settings(d, &small_grid_config(d, ev, "mask = \"geology.geojson\""));
    let stack = FeatureStack::prepare(&s).unwrap();
    let b = stack.compute(&stack.grid.full_window()).unwrap();
    let inside = b.in_study.iter().filter(|&&v| v).count();
    assert!(inside > 1000 && inside < 64 * 48);
    assert_eq!(b.in_study, b.valid, "distance has data everywhere: validity is the mask");
    let deposits = lode::labels::Deposits::load(&s).unwrap();
    assert_eq!(deposits.read, 2);
    assert_eq!(deposits.outside_study_area, 1, "the deposit at the far corner is outside every polygon");
    assert_eq!(deposits.points.len(), 1);
}

#[test]
fn warped_features_do_not_depend_on_the_window_they_are_computed_in() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    coordinate_raster(&d.join("e.tif"), |x, y| (x / 1000.0).sin() * 100.0 + y / 50.0);
    tool(
        "gdalwarp",
        &[
            "-q",
            "-t_srs",
            "EPSG:4326",
            "-tr",
            "0.0007",
            "0.0007",
            "-r",
            "bilinear",
            "-et",
            "0",
            d.join("e.tif").to_str().unwrap(),
            d.join("e4326.tif").to_str().unwrap(),
        ],
    );
    let mut ev = String::new();
    for r in ["bilinear", "average", "cubic", "nearest"] {
        ev += &format!(
            "[[evidence]]\nname = \"{r}\"\nkind = \"raster\"\npath = \"{}\"\nresampling = \"{r}\"\n\n",
            d.join("e4326.tif").display()
        );
    }
    let s = settings(d, &cloncurry_config(&d.join("out"), "", &ev));
    let stack = FeatureStack::prepare(&s).unwrap();
    let w = Window { col: 512, row: 1024, cols: 40, rows: 30 };
    let block = stack.compute(&w).unwrap();
    let cells: Vec<_> = (0..w.len()).step_by(7).map(|i| w.cell(i)).collect();
    let single = stack.rows_at(&cells).unwrap();
    for (c, row) in cells.iter().zip(single) {
        let row = row.expect("valid");
        let i = w.offset(*c);
        for (k, name) in stack.columns.iter().enumerate() {
            assert_eq!(row[k], block.values[[i, k]], "{name} at {c:?}: 1x1 window vs 40x30 window");
        }
    }
}

#[test]
fn averaging_an_integer_raster_onto_a_coarser_grid_keeps_fractions() {
    // A 200 m grid on the same origin as GA's 100 m Byte FaultDensity: each cell must be
    // the exact mean of its 2 x 2 source cells, fractions included.
    let tmp = tempfile::tempdir().unwrap();
    let src = gdal::Dataset::open(cloncurry("FaultDensity.tif")).unwrap();
    let gt = src.geo_transform().unwrap();
    let (cols, rows) = (629usize, 1243usize);
    let text = cloncurry_config(
        &tmp.path().join("out"),
        "",
        &format!(
            "[[evidence]]\nname = \"d\"\nkind = \"raster\"\npath = \"{}\"\n",
            cloncurry("FaultDensity.tif").display()
        ),
    )
    .replace(
        &format!("template = \"{}\"", cloncurry("StratNo.tif").display()),
        &format!(
            "crs = \"EPSG:7845\"\nbounds = [{}, {}, {}, {}]\ncell_size = 200.0",
            gt[0],
            gt[3] - 200.0 * rows as f64,
            gt[0] + 200.0 * cols as f64,
            gt[3]
        ),
    );
    let s = settings(tmp.path(), &text);
    let stack = FeatureStack::prepare(&s).unwrap();
    let w = Window { col: 100, row: 300, cols: 60, rows: 40 };
    let b = stack.compute(&w).unwrap();
    let raw = src.rasterband(1).unwrap().read_as::<f64>((200, 600), (120, 80), (120, 80), None).unwrap();
    let raw = raw.data();
    let mut fractional = 0;
    for i in 0..w.len() {
        let (r, c) = (i / w.cols, i % w.cols);
        let mean = (raw[(2 * r) * 120 + 2 * c]
            + raw[(2 * r) * 120 + 2 * c + 1]
            + raw[(2 * r + 1) * 120 + 2 * c]
            + raw[(2 * r + 1) * 120 + 2 * c + 1])
            / 4.0;
        assert!(b.valid[i]);
        assert!((b.values[[i, 0]] - mean).abs() < 1e-9, "cell {i}: {} vs mean {mean}", b.values[[i, 0]]);
        fractional += usize::from(mean.fract() != 0.0);
    }
    assert!(fractional > 20, "the window should hold fractional means ({fractional})");
}

/// `signed_distance` is the exact distance to the polygons' boundaries (a hole's too),
/// negative at the cells whose centre lies inside: checked at every cell against the
/// distance to two axis-aligned squares computed by hand.
#[test]
fn signed_distance_is_the_exact_boundary_distance_negative_inside_holes_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A 500 m square with a 100 m square hole, relative to the grid's top-left (y down).
    let ring = |a: f64, b: f64| -> String {
        let pts = [(a, a), (b, a), (b, b), (a, b), (a, a)];
        let c: Vec<String> = pts.iter().map(|(x, y)| format!("[{},{}]", X0 + x, Y1 - y)).collect();
        format!("[{}]", c.join(","))
    };
    let polygon = format!(
        r#"{{"type":"Feature","properties":{{"lith":"granite"}},"geometry":{{"type":"Polygon","coordinates":[{},{}]}}}}"#,
        ring(200.0, 700.0),
        ring(400.0, 500.0)
    );
    let other = format!(
        r#"{{"type":"Feature","properties":{{"lith":"schist"}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}}"#,
        ring(800.0, 900.0)
    );
    write(d, "units.geojson", &geojson_collection(&[polygon, other]));
    let ev = "[[evidence]]\nname = \"granite\"\nkind = \"signed_distance\"\npath = \"units.geojson\"\n\
              where = \"lith = 'granite'\"\n";
    let s = small_grid_settings(d, "signed", (40, 40, 25.0), ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    // Distance from (x, y) to the boundary of the square [a, b]², and whether it is inside.
    let square = |x: f64, y: f64, a: f64, b: f64| -> (f64, bool) {
        let inside = x > a && x < b && y > a && y < b;
        let d = if inside {
            (x - a).min(b - x).min(y - a).min(b - y)
        } else {
            (a - x).max(0.0).max(x - b).hypot((a - y).max(0.0).max(y - b))
        };
        (d, inside)
    };
    let values = compute_all(&stack);
    let (mut inside_cells, mut hole_cells) = (0, 0);
    for (g, &(v, valid)) in values[0].iter().enumerate() {
        let (r, c) = (g / 40, g % 40);
        let (x, y) = (12.5 + 25.0 * c as f64, 12.5 + 25.0 * r as f64);
        let (outer, in_outer) = square(x, y, 200.0, 700.0);
        let (hole, in_hole) = square(x, y, 400.0, 500.0);
        let inside = in_outer && !in_hole;
        inside_cells += usize::from(inside);
        hole_cells += usize::from(in_hole);
        let expected = if inside { -outer.min(hole) } else { outer.min(hole) };
        assert!(valid, "cell {g}");
        assert!((v - expected).abs() < 1e-6, "cell ({x}, {y}): {v} vs {expected}");
    }
    // The checks saw every case: inside the ring, in its hole, outside (the schist is not measured to).
    assert_eq!((inside_cells, hole_cells), (20 * 20 - 4 * 4, 4 * 4));
}

/// A `signed_distance` layer of lines has no inside: refused naming the layer.
#[test]
fn signed_distance_refuses_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let line = format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"LineString","coordinates":[[{},{}],[{},{}]]}}}}"#,
        X0 + 10.0,
        Y1 - 10.0,
        X0 + 900.0,
        Y1 - 900.0
    );
    write(d, "faults.geojson", &geojson_collection(&[line]));
    let ev = "[[evidence]]\nname = \"f\"\nkind = \"signed_distance\"\npath = \"faults.geojson\"\n";
    let s = small_grid_settings(d, "signed", (40, 40, 25.0), ev);
    let err = FeatureStack::prepare(&s).unwrap_err().to_string();
    assert!(err.contains("faults.geojson") && err.contains("needs polygons") && err.contains("`f`"), "{err}");
}
