//! Synthetic districts with a known truth (`lode synth`), for tests and benchmarks.
//!
//! A scene is a grid of 100 m cells in WGS 84 / UTM zone 54S (EPSG:32754), or for a scene
//! more than [`UTM_MAX_EXTENT`] across (a nation) in GDA94 / Australian Albers
//! (EPSG:3577, whose area of use is the continent), with:
//! - `granite_dist.tif`: distance (m) to the nearest of a few granite discs (0 inside);
//! - `magnetic.tif`: a smooth field (sum of 8 random plane waves of 4-12 km wavelength,
//!   scaled to unit variance), like a reduced-to-pole magnetic grid;
//! - `alteration.tif`: another smooth field (wavelengths 2-8 km), an alteration index;
//! - `noise_white.tif`: independent standard normal values per cell;
//! - `noise_smooth.tif`, `noise_smooth2.tif`: smooth fields built like `magnetic.tif`,
//!   unrelated to the deposits;
//! - `faults.geojson`: straight faults (two-vertex LineStrings with a `strike` attribute,
//!   degrees clockwise from north in [0, 180), and a `length_m`): one per 40 km², at
//!   least 3, centred anywhere in the scene, 4-15 km long;
//! - `truth.tif`: the true probability of a deposit in each cell,
//!   `p = 1 / (1 + exp(-z))`,
//!   `z = intercept + 2 exp(-granite_dist / 1500) + 1.5 exp(-fault_dist / 500) + magnetic + alteration`
//!   (intercept default -6), `fault_dist` the distance from the cell centre to the
//!   nearest fault (what a `distance` evidence layer on `faults.geojson` computes);
//! - `deposits.geojson`: one point at the centre of each cell where a uniform draw falls
//!   below `p` (the draw is a hash of the seed and the cell);
//! - `scene.toml`: a config using every evidence raster, ready for `lode run`;
//! - `truth.json`: the formula, its coefficients and the counts.
//!
//! Every value is a pure function of `(seed, cell)`, so windows are generated and written
//! one at a time: memory does not grow with the scene (the deposit list aside).

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{Compression, RawGrid};
use crate::error::{Error, Result};
use crate::grid::Cell;
use crate::io;

/// What `lode synth` generates.
#[derive(Debug, Clone)]
pub struct SceneSpec {
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Intercept of the true logit (lower: fewer deposits).
    pub intercept: f64,
}

/// Cell size of synthetic scenes, metres.
pub const CELL: f64 = 100.0;
/// The evidence rasters a scene holds, in config order.
pub const LAYERS: [&str; 6] =
    ["granite_dist", "magnetic", "alteration", "noise_white", "noise_smooth", "noise_smooth2"];

/// A smooth random field: a sum of plane waves.
struct Waves(Vec<(f64, f64, f64)>);

impl Waves {
    fn new(rng: &mut ChaCha8Rng, n: usize, min_wavelength: f64, max_wavelength: f64) -> Waves {
        Waves(
            (0..n)
                .map(|_| {
                    let l = rng.gen_range(min_wavelength..max_wavelength);
                    let a = rng.gen_range(0.0..std::f64::consts::PI);
                    let k = 2.0 * std::f64::consts::PI / l;
                    (k * a.cos(), k * a.sin(), rng.gen_range(0.0..2.0 * std::f64::consts::PI))
                })
                .collect(),
        )
    }

    fn at(&self, x: f64, y: f64) -> f64 {
        let s: f64 = self.0.iter().map(|(kx, ky, ph)| (kx * x + ky * y + ph).cos()).sum();
        s * (2.0 / self.0.len() as f64).sqrt()
    }
}

/// A uniform draw in [0, 1) from the seed, a stream and a cell.
fn hash_uniform(seed: u64, stream: u64, cell: Cell) -> f64 {
    let z = crate::model::forest::derive_seed(
        seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407),
        ((cell.row as u64) << 32) | cell.col as u64,
    );
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Weight of fault proximity in the true logit.
pub const FAULT_WEIGHT: f64 = 1.5;
/// Decay distance (m) of fault proximity in the true logit.
pub const FAULT_DECAY: f64 = 500.0;

/// A straight fault from `a` to `b`.
struct Fault {
    a: [f64; 2],
    b: [f64; 2],
    /// Degrees clockwise from north, in [0, 180).
    strike: f64,
}

impl Fault {
    /// Euclidean distance from `(x, y)` to the segment.
    fn distance(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (self.b[0] - self.a[0], self.b[1] - self.a[1]);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (((x - self.a[0]) * dx + (y - self.a[1]) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        ((x - self.a[0] - t * dx).powi(2) + (y - self.a[1] - t * dy).powi(2)).sqrt()
    }
}

/// Largest granite radius, m (radii are drawn from 1000..3000).
const MAX_GRANITE_RADIUS: f64 = 3000.0;

/// The widest (or tallest) scene placed in UTM zone 54S, in metres: its corners then stay
/// within the zone's area of use (with the margin lode allows, see `io::table`).
pub const UTM_MAX_EXTENT: f64 = 600_000.0;

/// The CRS (EPSG code) of a scene `w` by `h` metres and its top-left corner: Cloncurry's
/// UTM zone up to [`UTM_MAX_EXTENT`], else Australian Albers over the centre of the
/// continent (a 2,000 km square spans about 14° to 33° S).
fn placement(w: f64, h: f64) -> (u32, f64, f64) {
    if w.max(h) <= UTM_MAX_EXTENT {
        (32754, 500_000.0, 7_700_000.0)
    } else {
        (3577, -1_000_000.0, -1_500_000.0)
    }
}

struct Scene {
    /// The granites as discs: centre, with the radius as data. Indexed because their number
    /// grows with the area (one per 100 km²): a scan of all of them per cell made the scene
    /// quadratic in its size.
    granites: rstar::RTree<rstar::primitives::GeomWithData<[f64; 2], f64>>,
    magnetic: Waves,
    alteration: Waves,
    smooth: Waves,
    smooth2: Waves,
    faults: Vec<Fault>,
    /// The faults as segments, to find the nearest one (scenes can hold thousands).
    fault_index: rstar::RTree<rstar::primitives::GeomWithData<rstar::primitives::Line<[f64; 2]>, usize>>,
    seed: u64,
    intercept: f64,
}

impl Scene {
    /// The six layer values and the true probability at a cell.
    fn values(&self, cell: Cell, x: f64, y: f64) -> ([f64; 6], f64) {
        // Distance to the nearest disc edge (0 inside one). The edge of the nearest centre's
        // disc bounds it; another disc can only be as close if its centre lies within that
        // bound + MAX_GRANITE_RADIUS (`reach`), so the minimum over those is the minimum over all.
        let edge = |c: &[f64; 2], r: f64| (((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt() - r).max(0.0);
        let d = match self.granites.nearest_neighbor(&[x, y]) {
            Some(g) => {
                let reach = edge(g.geom(), g.data) + MAX_GRANITE_RADIUS;
                self.granites
                    .locate_within_distance([x, y], reach * reach)
                    .map(|g| edge(g.geom(), g.data))
                    .fold(f64::INFINITY, f64::min)
            }
            None => f64::INFINITY,
        };
        let mag = self.magnetic.at(x, y);
        let alt = self.alteration.at(x, y);
        let (u1, u2) = (hash_uniform(self.seed, 1, cell).max(1e-300), hash_uniform(self.seed, 2, cell));
        let white = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let fd =
            self.fault_index.nearest_neighbor(&[x, y]).map_or(f64::INFINITY, |g| self.faults[g.data].distance(x, y));
        let z = self.intercept + 2.0 * (-d / 1500.0).exp() + FAULT_WEIGHT * (-fd / FAULT_DECAY).exp() + mag + alt;
        let p = 1.0 / (1.0 + (-z).exp());
        ([d, mag, alt, white, self.smooth.at(x, y), self.smooth2.at(x, y)], p)
    }
}

/// Writes a scene into `out` (created if missing). Returns the number of deposits.
pub fn generate(spec: &SceneSpec, out: &Path) -> Result<usize> {
    if spec.cols == 0 || spec.rows == 0 {
        return Err(Error::InvalidArgument {
            name: "scene size".into(),
            value: format!("{} x {}", spec.cols, spec.rows),
            message: "columns and rows must be at least 1".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| Error::output(out, e))?;
    let (w, h) = (spec.cols as f64 * CELL, spec.rows as f64 * CELL);
    let (epsg, x0, y0) = placement(w, h);
    let raw = RawGrid {
        template: None,
        crs: Some(format!("EPSG:{epsg}")),
        bounds: Some([x0, y0 - h, x0 + w, y0]),
        cell_size: Some(CELL),
        mask: None,
        mask_layer: None,
        mask_crs: None,
        block_size: 256,
        min_coverage: 0.0,
    };
    let grid = crate::config::build_grid(&raw)?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let n_granites = ((w * h / 1e6) / 100.0).ceil().max(2.0) as usize;
    let granites = (0..n_granites)
        .map(|_| ([x0 + rng.gen_range(0.0..w), y0 - rng.gen_range(0.0..h)], rng.gen_range(1000.0..MAX_GRANITE_RADIUS)))
        .collect::<Vec<_>>();
    let magnetic = Waves::new(&mut rng, 8, 4000.0, 12000.0);
    let alteration = Waves::new(&mut rng, 8, 2000.0, 8000.0);
    let smooth = Waves::new(&mut rng, 8, 3000.0, 10000.0);
    let smooth2 = Waves::new(&mut rng, 8, 4000.0, 12000.0);
    // Faults are drawn after the other layers, which are therefore those of scenes
    // generated before faults existed.
    let n_faults = ((w * h / 1e6) / 40.0).ceil().max(3.0) as usize;
    let faults: Vec<Fault> = (0..n_faults)
        .map(|_| {
            let c = [x0 + rng.gen_range(0.0..w), y0 - rng.gen_range(0.0..h)];
            let strike: f64 = rng.gen_range(0.0..180.0);
            let half = rng.gen_range(4000.0..15000.0) / 2.0;
            let (sx, sy) = (strike.to_radians().sin() * half, strike.to_radians().cos() * half);
            Fault { a: [c[0] - sx, c[1] - sy], b: [c[0] + sx, c[1] + sy], strike }
        })
        .collect();
    let scene = Scene {
        granites: rstar::RTree::bulk_load(
            granites.into_iter().map(|(c, r)| rstar::primitives::GeomWithData::new(c, r)).collect(),
        ),
        magnetic,
        alteration,
        smooth,
        smooth2,
        fault_index: rstar::RTree::bulk_load(
            faults
                .iter()
                .enumerate()
                .map(|(i, f)| rstar::primitives::GeomWithData::new(rstar::primitives::Line::new(f.a, f.b), i))
                .collect(),
        ),
        faults,
        seed: spec.seed,
        intercept: spec.intercept,
    };
    let tags = vec![("LODE_SYNTH_SEED".to_string(), spec.seed.to_string())];
    let scratch = |name: &str| out.join(format!(".{name}.partial.tif"));
    let mut writers = LAYERS
        .iter()
        .chain(std::iter::once(&"truth"))
        .map(|name| io::cog::MapWriter::create(&scratch(name), &grid, name, &tags))
        .collect::<Result<Vec<_>>>()?;
    let mut deposits: Vec<[f64; 2]> = Vec::new();
    let mut p_sum = 0.0;
    // Windows computed in parallel, a few at a time, then written and summed in window
    // order, cell by cell: the same files and sums as one window after the other.
    let windows = grid.windows();
    for group in windows.chunks(2 * rayon::current_num_threads().max(1)) {
        use rayon::prelude::*;
        let computed: Vec<(Vec<Vec<f32>>, Vec<f64>, Vec<[f64; 2]>)> = group
            .par_iter()
            .map(|win| {
                let mut maps = vec![Vec::with_capacity(win.len()); LAYERS.len() + 1];
                let mut ps = Vec::with_capacity(win.len());
                let mut found = Vec::new();
                for i in 0..win.len() {
                    let cell = win.cell(i);
                    let (x, y) = grid.centre(cell);
                    let (v, p) = scene.values(cell, x, y);
                    for (k, value) in v.iter().enumerate() {
                        maps[k].push(*value as f32);
                    }
                    maps[LAYERS.len()].push(p as f32);
                    ps.push(p);
                    if hash_uniform(spec.seed, 3, cell) < p {
                        found.push([x, y]);
                    }
                }
                (maps, ps, found)
            })
            .collect();
        for (win, (maps, ps, found)) in group.iter().zip(computed) {
            p_sum = ps.iter().fold(p_sum, |s, p| s + p);
            deposits.extend(found);
            let valid = vec![true; win.len()];
            for (wr, m) in writers.iter_mut().zip(&maps) {
                wr.write(win, m, &valid)?;
            }
        }
    }
    for (wr, name) in writers.into_iter().zip(LAYERS.iter().chain(std::iter::once(&"truth"))) {
        wr.finish(&out.join(format!("{name}.tif")), Compression::Deflate)?;
    }
    let features: Vec<String> = deposits
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":{i}}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}"#,
                p[0], p[1]
            )
        })
        .collect();
    let geojson = format!(
        "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{epsg}\"}}}},\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    );
    write(out, "deposits.geojson", &geojson)?;
    let lines: Vec<String> = scene
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let len = ((f.b[0] - f.a[0]).powi(2) + (f.b[1] - f.a[1]).powi(2)).sqrt();
            format!(
                r#"{{"type":"Feature","properties":{{"id":{i},"strike":{},"length_m":{len}}},"geometry":{{"type":"LineString","coordinates":[[{},{}],[{},{}]]}}}}"#,
                f.strike, f.a[0], f.a[1], f.b[0], f.b[1]
            )
        })
        .collect();
    let faults = format!(
        "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{epsg}\"}}}},\"features\":[\n{}\n]}}\n",
        lines.join(",\n")
    );
    write(out, "faults.geojson", &faults)?;
    let mut evidence: String = LAYERS
        .iter()
        .map(|n| format!("[[evidence]]\nname = \"{n}\"\nkind = \"raster\"\npath = \"{n}.tif\"\n\n"))
        .collect();
    evidence += "[[evidence]]\nname = \"fault_dist\"\nkind = \"distance\"\npath = \"faults.geojson\"\n\n";
    let config = format!(
        "# A synthetic district written by `lode synth --cols {} --rows {} --seed {}`.\n\
         [project]\nname = \"synth-{}\"\nseed = {}\n\n\
         [grid]\ncrs = \"EPSG:{epsg}\"\nbounds = [{}, {}, {}, {}]\ncell_size = {CELL}\n\n\
         [labels]\npath = \"deposits.geojson\"\nnegative_buffer = 0\nnegatives_per_positive = 10\n\n\
         {evidence}\
         [model]\nkind = \"random_forest\"\n\n\
         [validation]\nkind = \"spatial_block\"\nfolds = 5\nblock_size = 2000\nbuffer = 300\n\n\
         [output]\ndir = \"out\"\n",
        spec.cols,
        spec.rows,
        spec.seed,
        spec.seed,
        spec.seed,
        x0,
        y0 - h,
        x0 + w,
        y0
    );
    write(out, "scene.toml", &config)?;
    let truth = serde_json::json!({
        "formula": "p = 1 / (1 + exp(-z)), z = intercept + 2 * exp(-granite_dist / 1500) + 1.5 * exp(-fault_dist / 500) + magnetic + alteration",
        "intercept": spec.intercept,
        "true_layers": ["granite_dist", "magnetic", "alteration", "fault_dist"],
        "faults": scene.faults.len(),
        "noise_layers": ["noise_white", "noise_smooth", "noise_smooth2"],
        "cells": spec.cols * spec.rows,
        "deposits": deposits.len(),
        "expected_deposits": p_sum,
        "seed": spec.seed,
    });
    write(out, "truth.json", &(serde_json::to_string_pretty(&truth).unwrap_or_default() + "\n"))?;
    Ok(deposits.len())
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| Error::output(&p, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_distance_is_the_distance_to_the_segment() {
        let f = Fault { a: [0.0, 0.0], b: [300.0, 400.0], strike: 36.87 };
        assert_eq!(f.distance(0.0, 0.0), 0.0);
        // Beyond an end: to the end point; beside the segment: perpendicular (3-4-5).
        assert!((f.distance(-30.0, -40.0) - 50.0).abs() < 1e-9);
        assert!((f.distance(150.0 + 40.0, 200.0 - 30.0) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn smooth_fields_have_unit_variance_and_hash_draws_are_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let f = Waves::new(&mut rng, 8, 4000.0, 12000.0);
        let v: Vec<f64> = (0..200)
            .flat_map(|i| (0..200).map(move |j| (i as f64 * 500.0, j as f64 * 500.0)))
            .map(|(x, y)| f.at(x, y))
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((var - 1.0).abs() < 0.25 && m.abs() < 0.2, "mean {m} var {var}");
        let u: Vec<f64> = (0..10000).map(|i| hash_uniform(1, 3, Cell { row: i / 100, col: i % 100 })).collect();
        let mu = u.iter().sum::<f64>() / u.len() as f64;
        assert!((mu - 0.5).abs() < 0.02 && u.iter().all(|&x| (0.0..1.0).contains(&x)), "{mu}");
    }
}
