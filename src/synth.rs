//! Synthetic districts with a known truth (`lode synth`), for tests and benchmarks.
//!
//! A scene is a grid of 100 m cells in WGS 84 / UTM zone 54S (EPSG:32754) with:
//! - `granite_dist.tif`: distance (m) to the nearest of a few granite discs (0 inside);
//! - `magnetic.tif`: a smooth field (sum of 8 random plane waves of 4-12 km wavelength,
//!   scaled to unit variance), like a reduced-to-pole magnetic grid;
//! - `alteration.tif`: another smooth field (wavelengths 2-8 km), an alteration index;
//! - `noise_white.tif`: independent standard normal values per cell;
//! - `noise_smooth.tif`, `noise_smooth2.tif`: smooth fields built like `magnetic.tif`,
//!   unrelated to the deposits;
//! - `truth.tif`: the true probability of a deposit in each cell,
//!   `p = 1 / (1 + exp(-z))`, `z = intercept + 2 exp(-granite_dist / 1500) + magnetic + alteration`
//!   (intercept default -6);
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
pub const LAYERS: [&str; 6] = ["granite_dist", "magnetic", "alteration", "noise_white", "noise_smooth", "noise_smooth2"];

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
    let z = crate::model::forest::derive_seed(seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407), ((cell.row as u64) << 32) | cell.col as u64);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

struct Scene {
    granites: Vec<([f64; 2], f64)>,
    magnetic: Waves,
    alteration: Waves,
    smooth: Waves,
    smooth2: Waves,
    seed: u64,
    intercept: f64,
}

impl Scene {
    /// The six layer values and the true probability at a cell.
    fn values(&self, cell: Cell, x: f64, y: f64) -> ([f64; 6], f64) {
        let d = self.granites.iter().map(|(c, r)| (((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt() - r).max(0.0)).fold(f64::INFINITY, f64::min);
        let mag = self.magnetic.at(x, y);
        let alt = self.alteration.at(x, y);
        let (u1, u2) = (hash_uniform(self.seed, 1, cell).max(1e-300), hash_uniform(self.seed, 2, cell));
        let white = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let z = self.intercept + 2.0 * (-d / 1500.0).exp() + mag + alt;
        let p = 1.0 / (1.0 + (-z).exp());
        ([d, mag, alt, white, self.smooth.at(x, y), self.smooth2.at(x, y)], p)
    }
}

/// Writes a scene into `out` (created if missing). Returns the number of deposits.
pub fn generate(spec: &SceneSpec, out: &Path) -> Result<usize> {
    if spec.cols == 0 || spec.rows == 0 {
        return Err(Error::key("synth", "--cols and --rows must be at least 1"));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::output(out, e))?;
    let (x0, y0) = (500_000.0, 7_700_000.0);
    let (w, h) = (spec.cols as f64 * CELL, spec.rows as f64 * CELL);
    let raw = RawGrid {
        template: None,
        crs: Some("EPSG:32754".into()),
        bounds: Some([x0, y0 - h, x0 + w, y0]),
        cell_size: Some(CELL),
        mask: None,
        mask_layer: None,
        block_size: 256,
    };
    let grid = io::build_grid(&raw)?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let n_granites = ((w * h / 1e6) / 100.0).ceil().max(2.0) as usize;
    let granites = (0..n_granites)
        .map(|_| ([x0 + rng.gen_range(0.0..w), y0 - rng.gen_range(0.0..h)], rng.gen_range(1000.0..3000.0)))
        .collect();
    let scene = Scene {
        granites,
        magnetic: Waves::new(&mut rng, 8, 4000.0, 12000.0),
        alteration: Waves::new(&mut rng, 8, 2000.0, 8000.0),
        smooth: Waves::new(&mut rng, 8, 3000.0, 10000.0),
        smooth2: Waves::new(&mut rng, 8, 4000.0, 12000.0),
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
    for win in grid.windows() {
        let mut maps = vec![Vec::with_capacity(win.len()); LAYERS.len() + 1];
        for i in 0..win.len() {
            let cell = win.cell(i);
            let (x, y) = grid.centre(cell);
            let (v, p) = scene.values(cell, x, y);
            for (k, value) in v.iter().enumerate() {
                maps[k].push(*value as f32);
            }
            maps[LAYERS.len()].push(p as f32);
            p_sum += p;
            if hash_uniform(spec.seed, 3, cell) < p {
                deposits.push([x, y]);
            }
        }
        let valid = vec![true; win.len()];
        for (wr, m) in writers.iter_mut().zip(&maps) {
            wr.write(&win, m, &valid)?;
        }
    }
    for (wr, name) in writers.into_iter().zip(LAYERS.iter().chain(std::iter::once(&"truth"))) {
        wr.finish(&out.join(format!("{name}.tif")), Compression::Deflate)?;
    }
    let features: Vec<String> = deposits
        .iter()
        .enumerate()
        .map(|(i, p)| format!(r#"{{"type":"Feature","properties":{{"id":{i}}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}"#, p[0], p[1]))
        .collect();
    let geojson = format!(
        "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::32754\"}}}},\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    );
    write(out, "deposits.geojson", &geojson)?;
    let evidence: String = LAYERS
        .iter()
        .map(|n| format!("[[evidence]]\nname = \"{n}\"\nkind = \"raster\"\npath = \"{n}.tif\"\n\n"))
        .collect();
    let config = format!(
        "# A synthetic district written by `lode synth --cols {} --rows {} --seed {}`.\n\
         [project]\nname = \"synth-{}\"\nseed = {}\n\n\
         [grid]\ncrs = \"EPSG:32754\"\nbounds = [{}, {}, {}, {}]\ncell_size = {CELL}\n\n\
         [labels]\npath = \"deposits.geojson\"\nnegative_buffer = 0\nnegatives_per_positive = 10\n\n\
         {evidence}\
         [model]\nkind = \"random_forest\"\n\n\
         [validation]\nkind = \"spatial_block\"\nfolds = 5\nblock_size = 2000\nbuffer = 300\n\n\
         [output]\ndir = \"out\"\n",
        spec.cols, spec.rows, spec.seed, spec.seed, spec.seed, x0, y0 - h, x0 + w, y0
    );
    write(out, "scene.toml", &config)?;
    let truth = serde_json::json!({
        "formula": "p = 1 / (1 + exp(-z)), z = intercept + 2 * exp(-granite_dist / 1500) + magnetic + alteration",
        "intercept": spec.intercept,
        "true_layers": ["granite_dist", "magnetic", "alteration"],
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
    fn smooth_fields_have_unit_variance_and_hash_draws_are_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let f = Waves::new(&mut rng, 8, 4000.0, 12000.0);
        let v: Vec<f64> = (0..200).flat_map(|i| (0..200).map(move |j| (i as f64 * 500.0, j as f64 * 500.0))).map(|(x, y)| f.at(x, y)).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((var - 1.0).abs() < 0.25 && m.abs() < 0.2, "mean {m} var {var}");
        let u: Vec<f64> = (0..10000).map(|i| hash_uniform(1, 3, Cell { row: i / 100, col: i % 100 })).collect();
        let mu = u.iter().sum::<f64>() / u.len() as f64;
        assert!((mu - 0.5).abs() < 0.02 && u.iter().all(|&x| (0.0..1.0).contains(&x)), "{mu}");
    }
}
