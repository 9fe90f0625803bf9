//! Geochemistry interpolation against independent references: IDW against a
//! brute-force evaluation at every cell (below-detection values, log transform, search
//! radius, neighbour limits). Small windows (block_size 16).

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
    small_grid_settings(dir, "geochemistry", (COLS, ROWS, CELL), evidence)
}

/// A point with a `li_ppm` text attribute (assays as a lab reports them).
fn sample(x: f64, y: f64, value: Option<&str>) -> String {
    let v = value.map_or("null".to_string(), |v| format!("\"{v}\""));
    geojson_point(x, y).replace(r#""properties":{}"#, &format!(r#""properties":{{"li_ppm":{v}}}"#))
}

/// The assays: numbers, `<x` and negative below-detection values, a null, and one
/// sample exactly on a cell centre.
fn assays() -> Vec<(f64, f64, Option<String>)> {
    let mut out: Vec<(f64, f64, Option<String>)> = (0..60)
        .map(|k| {
            let kf = k as f64;
            let (x, y) = (37.0 + (kf * 613.7) % 7900.0, 21.0 + (kf * 397.3) % 5900.0);
            let v = match k % 10 {
                3 => "<5".to_string(),
                7 => "-2".to_string(),
                _ => format!("{}", 10.0 + (kf * 37.0) % 250.0),
            };
            (x, y, Some(v))
        })
        .collect();
    out.push((4050.0, 2950.0, Some("123.5".into())));
    out.push((4321.0, 1234.0, None));
    out
}

#[test]
fn idw_equals_a_brute_force_evaluation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let pts = assays();
    let features: Vec<String> = pts.iter().map(|(x, y, v)| sample(*x, *y, v.as_deref())).collect();
    let path = write(d, "soil.geojson", &geojson_collection(&features));
    let p = path.display();
    let ev = format!(
        r#"
[[evidence]]
name = "li_idw"
kind = "interpolate"
path = "{p}"
attribute = "li_ppm"

[[evidence]]
name = "li_log"
kind = "interpolate"
path = "{p}"
attribute = "li_ppm"
power = 1.5
search_radius = 900.0
max_points = 5
min_points = 2
below_detection = "drop"
transform = "log"

[[evidence]]
name = "li_value"
kind = "interpolate"
path = "{p}"
attribute = "li_ppm"
below_detection = "value"
below_detection_value = 0.1
max_points = 3
"#
    );
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let ours = compute_all(&stack);
    // Samples as each layer sees them: (x, y, value) relative to the top-left corner.
    let parsed = |bdl: &dyn Fn(f64) -> Option<f64>| -> Vec<(f64, f64, f64)> {
        pts.iter()
            .filter_map(|(x, y, v)| {
                let v = v.as_deref()?;
                let value = if let Some(l) = v.strip_prefix('<') {
                    bdl(l.parse().unwrap())?
                } else {
                    let n: f64 = v.parse().unwrap();
                    if n < 0.0 {
                        bdl(-n)?
                    } else {
                        n
                    }
                };
                Some((*x, *y, value))
            })
            .collect()
    };
    let half = parsed(&|l| Some(l / 2.0));
    let dropped = parsed(&|_| None);
    let fixed = parsed(&|_| Some(0.1));
    assert_eq!((half.len(), dropped.len()), (61, 49));
    // IDW by brute force: sort every sample by distance, keep the first `k` within `r`.
    let brute = |samples: &[(f64, f64, f64)], x: f64, y: f64, power: f64, r: f64, k: usize, min: usize, log: bool| {
        let mut near: Vec<(f64, f64)> = samples
            .iter()
            .map(|&(sx, sy, v)| ((sx - x).hypot(sy - y), if log { v.ln() } else { v }))
            .filter(|(dist, _)| *dist <= r)
            .collect();
        near.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        near.truncate(k);
        if near.len() < min {
            return None;
        }
        let est = if near[0].0 == 0.0 {
            near[0].1
        } else {
            let w: Vec<f64> = near.iter().map(|(dist, _)| dist.powf(-power)).collect();
            near.iter().zip(&w).map(|((_, v), w)| v * w).sum::<f64>() / w.iter().sum::<f64>()
        };
        Some(if log { est.exp() } else { est })
    };
    let mut missing = 0;
    for i in 0..COLS * ROWS {
        let (x, y) = ((i % COLS) as f64 * CELL + 50.0, (i / COLS) as f64 * CELL + 50.0);
        let wants = [
            brute(&half, x, y, 2.0, f64::INFINITY, 12, 1, false),
            brute(&dropped, x, y, 1.5, 900.0, 5, 2, true),
            brute(&fixed, x, y, 2.0, f64::INFINITY, 3, 1, false),
        ];
        for (layer, want) in wants.iter().enumerate() {
            let (v, ok) = ours[layer][i];
            match want {
                None => {
                    assert!(!ok, "layer {layer} at ({x}, {y}) should have no data");
                    missing += 1;
                }
                Some(w) => {
                    assert!(ok, "layer {layer} at ({x}, {y}) should have data");
                    assert!((v - w).abs() <= 1e-9 * (1.0 + w.abs()), "layer {layer} at ({x}, {y}): {v} vs {w}");
                }
            }
        }
    }
    assert!(missing > 100 && missing < COLS * ROWS, "{missing} cells beyond the search radius");
    // The sample on a cell centre is honoured exactly.
    let at = (29 * COLS) + 40;
    assert_eq!(ours[0][at].0, 123.5);
    // An assay that is neither a number nor a detection limit is an error naming it.
    let bad: Vec<String> = features.iter().take(3).cloned().chain([sample(10.0, 10.0, Some("n.d."))]).collect();
    write(d, "soil.geojson", &geojson_collection(&bad));
    let err = FeatureStack::prepare(&config(d, &ev)).unwrap_err().to_string();
    assert!(err.contains("li_idw") && err.contains("n.d.") && err.contains("li_ppm"), "{err}");
}

/// A point with the given properties (a JSON object body).
fn assay(x: f64, y: f64, properties: &str) -> String {
    geojson_point(x, y).replace(r#""properties":{}"#, &format!(r#""properties":{{{properties}}}"#))
}

#[test]
fn centred_log_ratio_equals_a_hand_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Samples on cell centres; max_points = 1 so each cell takes its nearest sample's clr.
    let features = [
        assay(550.0, 550.0, r#""li":20,"cs":5,"rb":40"#),
        // Cs below a detection limit of 1: half the limit.
        assay(2050.0, 1050.0, r#""li":"12","cs":"<1","rb":30.0"#),
        // A null part: the sample is not used.
        assay(4050.0, 3050.0, r#""li":7,"cs":null,"rb":9"#),
        // Li below detection as a negative number (limit 3): 1.5.
        assay(6050.0, 4050.0, r#""li":-3,"cs":2,"rb":10"#),
    ];
    let path = write(d, "soil.geojson", &geojson_collection(&features));
    let ev = |extra: &str| {
        format!(
            r#"
[[evidence]]
name = "li_clr"
kind = "interpolate"
path = "{}"
attribute = "li"
max_points = 1
{extra}
"#,
            path.display()
        )
    };
    let stack = FeatureStack::prepare(&config(
        d,
        &ev(r#"transform = "clr"
parts = ["li", "cs", "rb"]"#),
    ))
    .unwrap();
    let ours = compute_all(&stack);
    let cell = |x: f64, y: f64| ((y / CELL) as usize) * COLS + (x / CELL) as usize;
    // ln(li) - (ln(li) + ln(cs) + ln(rb)) / 3, computed by hand (Python's math.log).
    for ((x, y), want) in [
        ((550.0, 550.0), 0.23104906018664817),   // 20, 5, 40
        ((2050.0, 1050.0), 0.7539210328245969),  // 12, 0.5, 30
        ((6050.0, 4050.0), -0.7282673524458874), // 1.5, 2, 10
        // The sample with a null part is not used: its cell takes the nearest other one (li -3).
        ((4050.0, 3050.0), -0.7282673524458874),
    ] {
        let (v, ok) = ours[0][cell(x, y)];
        assert!(ok && (v - want).abs() < 1e-12, "({x}, {y}): {v} vs {want}");
    }
    // The clr of another part of the same composition: Cs of the first sample.
    let cs = FeatureStack::prepare(&config(
        d,
        &ev(r#"transform = "clr"
parts = ["li", "cs", "rb"]"#)
        .replace(r#"attribute = "li""#, r#"attribute = "cs""#),
    ))
    .unwrap();
    let (v, _) = compute_all(&cs)[0][cell(550.0, 550.0)];
    assert!((v - -1.1552453009332424).abs() < 1e-12, "{v}");
    // With below_detection = "drop", the samples with a part below detection are not used.
    let drop = r#"transform = "clr"
parts = ["li", "cs", "rb"]
below_detection = "drop""#;
    let dropped = FeatureStack::prepare(&config(d, &ev(drop))).unwrap();
    let all = compute_all(&dropped);
    assert!(all[0].iter().all(|&(v, ok)| ok && (v - 0.23104906018664817).abs() < 1e-12));
    // Configuration errors name the key.
    for (extra, want) in [
        (r#"transform = "clr""#, "parts"),
        (r#"parts = ["li", "cs"]"#, "only applies with `transform = \"clr\"`"),
        ("transform = \"clr\"\nparts = [\"cs\", \"rb\"]", "must list the attribute `li`"),
        ("transform = \"clr\"\nparts = [\"li\"]", "at least two parts"),
        ("transform = \"clr\"\nparts = [\"li\", \"k\"]", "no attribute `k`"),
    ] {
        // c.toml holds the last configuration loaded (the `drop` one): swap its evidence.
        let text = std::fs::read_to_string(d.join("c.toml")).unwrap().replace(&ev(drop), &ev(extra));
        let path = write(d, "bad.toml", &text);
        let e = match Settings::load(&path) {
            Err(e) => e.to_string(),
            Ok(s) => FeatureStack::prepare(&s).unwrap_err().to_string(),
        };
        assert!(e.contains(want), "{extra}: {e}");
    }
    // A part of 0 has no logarithm: an error naming the feature and the part.
    write(d, "soil.geojson", &geojson_collection(&[assay(550.0, 550.0, r#""li":20,"cs":0,"rb":40"#)]));
    let e = FeatureStack::prepare(&config(
        d,
        &ev(r#"transform = "clr"
parts = ["li", "cs", "rb"]"#),
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("feature 0") && e.contains("part `cs`") && e.contains("logarithm"), "{e}");
}

#[test]
fn ordinary_kriging_equals_pykrige() {
    // tests/fixtures/kriging/make_fixture.py made these with PyKrige 1.7.2.
    let dir = root().join("tests/fixtures/kriging");
    let samples = std::fs::read_to_string(dir.join("samples.csv")).unwrap();
    let features: Vec<String> = samples
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|s| s.parse().unwrap()).collect();
            geojson_point(v[0] - X0, Y1 - v[1])
                .replace(r#""properties":{}"#, &format!(r#""properties":{{"au":{}}}"#, v[2]))
        })
        .collect();
    assert_eq!(features.len(), 70);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let path = write(d, "samples.geojson", &geojson_collection(&features));
    let layer = |name: &str, model: &str, nugget: f64, sill: f64, range: f64, max_points: usize| {
        format!(
            "[[evidence]]\nname = \"{name}\"\nkind = \"interpolate\"\npath = \"{}\"\nattribute = \"au\"\n\
             interpolation = \"ordinary_kriging\"\nvariogram = \"{model}\"\nnugget = {nugget}\nsill = {sill}\n\
             range = {range}\nmax_points = {max_points}\nkriging_variance = true\n",
            path.display()
        )
    };
    let ev = [
        layer("spherical_all", "spherical", 1.0, 12.0, 2500.0, 100),
        layer("exponential_10", "exponential", 0.0, 10.0, 3000.0, 10),
        layer("gaussian_all", "gaussian", 0.8, 11.0, 2000.0, 100),
        // Fitted variogram: checked for being reported and sensible below.
        format!(
            "[[evidence]]\nname = \"fitted\"\nkind = \"interpolate\"\npath = \"{}\"\nattribute = \"au\"\n\
             interpolation = \"ordinary_kriging\"\nvariogram = \"spherical\"\nmax_points = 16\n",
            path.display()
        ),
    ]
    .join("\n");
    let s = config(d, &ev);
    let stack = FeatureStack::prepare(&s).unwrap();
    let cases = ["spherical_all", "exponential_10", "gaussian_all"];
    // Full columns of the grid.
    let grid = &stack.grid;
    let mut cols = vec![vec![f64::NAN; grid.len()]; stack.columns.len()];
    for w in grid.windows() {
        let b = stack.compute(&w).unwrap();
        for i in 0..w.len() {
            assert!(b.valid[i]);
            for (c, col) in cols.iter_mut().enumerate() {
                col[grid.index(w.cell(i))] = b.values[[i, c]];
            }
        }
    }
    let expected = std::fs::read_to_string(dir.join("expected.csv")).unwrap();
    let (mut n, mut worst) = (0, 0.0f64);
    for l in expected.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let k = cases.iter().position(|c| *c == f[0]).unwrap();
        let (row, col): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let (est, var): (f64, f64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
        let i = row * COLS + col;
        let (ours_est, ours_var) = (cols[2 * k][i], cols[2 * k + 1][i]);
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
        assert!(rel(ours_est, est) < 1e-8, "{} at ({row}, {col}): {ours_est} vs pykrige {est}", cases[k]);
        assert!(rel(ours_var, var) < 1e-8, "{} variance at ({row}, {col}): {ours_var} vs pykrige {var}", cases[k]);
        worst = worst.max(rel(ours_est, est)).max(rel(ours_var, var));
        n += 1;
    }
    assert_eq!(n, 3 * (COLS * ROWS).div_ceil(7));
    eprintln!("largest relative difference from pykrige: {worst:.2e}");
    // The fitted variogram is reported, and a sill near the samples' variance.
    let described = stack.layers[3].describe();
    assert!(described.contains("fitted") && described.contains("Spherical"), "{described}");
    let values: Vec<f64> = samples.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    let sill: f64 = described.split("sill ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(sill > 0.3 * variance && sill < 3.0 * variance, "sill {sill}, sample variance {variance}");
}
