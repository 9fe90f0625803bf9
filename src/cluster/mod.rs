//! Tiled runs on a batch scheduler (SLURM, PBS Pro, or any runner of a command list),
//! exact to the single-process run.
//!
//! ```text
//! lode plan CONFIG --tiles N --engine slurm|pbs|list --out RUN/
//!   -> RUN/plan.json      the config, its settings hash, every input's SHA-256, size and
//!                         modification time, the grid, and N tiles: runs of consecutive
//!                         processing windows
//!   -> RUN/submit.sh ...  the launcher (sbatch chain, qsub chain, or commands.txt)
//! lode prepare RUN [I]    tile I's partials of the grid-wide passes: RUN/prepare/NNNN.json
//! lode fit RUN            the partials merged (RUN/fit/prepared.json), training sample, fit,
//!                         cross-validation: RUN/fit/model.json and RUN/fit/report.json
//! lode tile RUN [I]       tile I (default: the scheduler's array index) predicts its windows
//!                         into RUN/tiles/NNNN/ (one float32 GeoTIFF per map, tile.json with
//!                         its cell and coverage counts)
//! lode mosaic RUN         the single run's pipeline with its maps read from the tiles:
//!                         COGs, evaluation, targets, styles, report, manifest
//! ```
//!
//! **Why the result is the single run's, bit for bit.** A tile computes every one of its
//! windows on the *global* grid, exactly as `lode run` does (`FeatureStack::compute` of the
//! same window of the same grid: focal and terrain halos are read from the sources beyond
//! the tile's edge, so nothing changes at the seams), with the model the fit stage saved.
//! Tile rasters hold the float32 values losslessly; the mosaic streams them window by
//! window into the same COG writer the single run uses, then runs the same evaluation,
//! target, style and report code on the mosaicked map: global quantities (AUC ranks,
//! thresholds by exact order statistics, target polygons across seams, the minimum-area
//! filter) are computed once over the whole map, never per tile.
//!
//! **What each stage computes once.** Grid-wide passes (class scans, PCA moments, burns,
//! transform values) are read by the prepare tasks, each over its own tile's windows, and
//! merged in tile order by the fit stage, which finishes them (the prepared state every tile
//! and the mosaic start from, without reading a window), samples the training set and fits
//! once; it saves the model and its report (`RUN/fit/report.json`, with the plan's hash and
//! the fit's files), which the mosaic reads instead of fitting again. Each layer's coverage
//! of the study area is counted by the tiles from the features they compute anyway, and
//! merged by the mosaic.
//!
//! Every stage checks the plan against the config and inputs as they are now (the settings
//! hash, each input's size and modification time; the mosaic also each input's SHA-256),
//! and writes atomically (a temporary name, then a rename): a stage killed half-way leaves
//! nothing that a later stage takes for finished; re-running one tile alone replaces it.

mod launch;
mod stages;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::grid::Window;

pub use launch::{Engine, Resources};
pub use stages::{fit, prepare, tile, TileSet};

/// The file name of a plan inside its run folder.
pub const PLAN_FILE: &str = "plan.json";

/// A tiled run: what every stage checks it is working on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    /// The lode version that wrote the plan.
    pub lode_version: String,
    /// The config file (absolute).
    pub config: PathBuf,
    /// The settings hash (`LODE_SETTINGS_SHA256` of the maps).
    pub settings_sha256: String,
    /// Every input file with its SHA-256, as the manifest lists them.
    pub inputs: Vec<(PathBuf, String)>,
    /// Every input file with its size and modification time: what the prepare, fit and
    /// tile stages compare (hashing every input in every task would read the inputs once
    /// per task); the mosaic compares the SHA-256s too.
    pub stamps: Vec<(PathBuf, Option<crate::manifest::Stamp>)>,
    /// Grid columns.
    pub cols: usize,
    /// Grid rows.
    pub rows: usize,
    /// Processing window edge, in cells.
    pub block_size: usize,
    /// The grid's geotransform.
    pub geo_transform: [f64; 6],
    /// Processing windows of the grid (row by row).
    pub windows: usize,
    /// The tiles, in window order.
    pub tiles: Vec<TileSpec>,
    /// Worker threads of every stage (0: one per core).
    pub threads: usize,
    /// SHA-256 of everything above: the identity of the plan that tiles carry.
    pub hash: String,
}

/// One tile: a run of consecutive windows of the grid.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct TileSpec {
    /// Index, from 0 (the array task index).
    pub index: usize,
    /// First window (index into the grid's windows).
    pub first_window: usize,
    /// Number of windows.
    pub windows: usize,
    /// First grid row the tile's raster covers.
    pub row: usize,
    /// Rows its raster covers (full grid width).
    pub rows: usize,
}

impl TileSpec {
    /// The tile's windows, out of all of the grid's.
    pub fn windows_of<'a>(&self, all: &'a [Window]) -> &'a [Window] {
        &all[self.first_window..self.first_window + self.windows]
    }
}

/// Cuts `windows` (row by row, `cols_of_windows` per row) into `n` runs of whole windows
/// as even as integer division makes them: tile `i` holds windows `i*W/n .. (i+1)*W/n`.
pub fn cut(windows: &[Window], n: usize) -> Result<Vec<TileSpec>> {
    let w = windows.len();
    if n == 0 || n > w {
        return Err(Error::key(
            "tiles",
            format!("{n} tiles asked for; the grid has {w} processing windows (1 to {w})"),
        ));
    }
    Ok((0..n)
        .map(|i| {
            let (a, b) = (i * w / n, (i + 1) * w / n);
            let row = windows[a].row;
            let end = windows[a..b].iter().map(|x| x.row + x.rows).max().unwrap_or(row);
            TileSpec { index: i, first_window: a, windows: b - a, row, rows: end - row }
        })
        .collect())
}

/// Every input of `settings` with its SHA-256 (remote files streamed through GDAL).
fn hashed_inputs(settings: &Settings) -> Result<Vec<(PathBuf, String)>> {
    Ok(crate::manifest::hash_inputs(settings)?.into_iter().map(|f| (f.path, f.sha256)).collect())
}

impl Plan {
    /// The plan of `settings` in `n` tiles with `threads` per stage.
    pub fn new(settings: &Settings, n: usize, threads: usize) -> Result<Plan> {
        let g = &settings.grid;
        let windows = g.windows();
        let mut plan = Plan {
            lode_version: crate::metrics::VERSION.to_string(),
            config: absolute(&settings.config_path),
            settings_sha256: settings.settings_sha256.clone(),
            inputs: hashed_inputs(settings)?,
            stamps: crate::manifest::stamps(settings),
            cols: g.cols,
            rows: g.rows,
            block_size: g.block_size,
            geo_transform: g.geo_transform,
            windows: windows.len(),
            tiles: cut(&windows, n)?,
            threads,
            hash: String::new(),
        };
        plan.hash = plan.identity();
        Ok(plan)
    }

    /// SHA-256 of the plan without its hash.
    fn identity(&self) -> String {
        let mut p = self.clone();
        p.hash = String::new();
        let json = serde_json::to_vec(&p).unwrap_or_default();
        format!("{:x}", Sha256::digest(&json))
    }

    /// Reads `RUN/plan.json`.
    pub fn load(run_dir: &Path) -> Result<Plan> {
        let path = run_dir.join(PLAN_FILE);
        let text = read_text(&path)?;
        let plan: Plan =
            serde_json::from_str(&text).map_err(|e| Error::input(&path, format!("not a lode plan: {e}")))?;
        if plan.identity() != plan.hash {
            return Err(Error::input(&path, "was edited after it was written (its hash does not match its content)"));
        }
        Ok(plan)
    }

    /// The settings of the plan's config, checked against the plan: the same settings,
    /// the same input files with the same sizes and modification times, the same grid and
    /// lode version. (That the inputs are the plan's byte for byte is checked by the
    /// mosaic, which hashes them for its manifest: [`Plan::check_hashes`].)
    pub fn settings(&self, run_dir: &Path) -> Result<Settings> {
        let settings = Settings::load(&self.config)?;
        let path = run_dir.join(PLAN_FILE);
        let refuse = |what: String| Err(Error::input(&path, format!("{what}; make a new plan")));
        if self.lode_version != crate::metrics::VERSION {
            return refuse(format!("was made by lode {}, this is {}", self.lode_version, crate::metrics::VERSION));
        }
        if settings.settings_sha256 != self.settings_sha256 {
            return refuse(format!("{} changed since the plan was made", self.config.display()));
        }
        let g = &settings.grid;
        if (g.cols, g.rows, g.block_size, g.geo_transform)
            != (self.cols, self.rows, self.block_size, self.geo_transform)
        {
            return refuse("the grid of the config is not the plan's".to_string());
        }
        let now = crate::manifest::stamps(&settings);
        if let Some((p, _)) = self.stamps.iter().find(|i| !now.contains(i)) {
            return refuse(format!("input {} changed since the plan was made", p.display()));
        }
        if now.len() != self.stamps.len() {
            return refuse("the config's inputs are not the plan's".to_string());
        }
        Ok(settings)
    }

    /// Refuses inputs (the manifest's, hashed by the mosaic) that are not the plan's byte
    /// for byte: a file rewritten with its size and modification time kept passes the
    /// stages' check but not this one, so no mosaic mixes maps made from other inputs.
    pub fn check_hashes(&self, run_dir: &Path, inputs: &[crate::manifest::InputFile]) -> Result<()> {
        let now: Vec<(PathBuf, String)> = inputs.iter().map(|f| (f.path.clone(), f.sha256.clone())).collect();
        let path = run_dir.join(PLAN_FILE);
        if let Some((p, _)) = self.inputs.iter().find(|i| !now.contains(i)) {
            return Err(Error::input(
                &path,
                format!(
                    "input {} changed since the plan was made (its SHA-256 differs, its size and modification \
                     time do not); make a new plan",
                    p.display()
                ),
            ));
        }
        if now.len() != self.inputs.len() {
            return Err(Error::input(&path, "the config's inputs are not the plan's; make a new plan"));
        }
        Ok(())
    }
}

/// `p` absolute (canonical when it exists).
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename (on
/// object storage one object, which appears whole when its upload completes).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if crate::io::is_virtual(path) {
        return crate::io::vsi::write(path, bytes);
    }
    let tmp = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::output(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

/// The text of a run folder's file, local or on object storage.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    match crate::io::is_virtual(path) {
        true => crate::io::vsi::read_to_string(path),
        false => std::fs::read_to_string(path).map_err(|e| Error::input(path, e)),
    }
}

/// Creates a run folder's subfolder (object storage has none to create).
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    match crate::io::is_virtual(dir) {
        true => Ok(()),
        false => std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e)),
    }
}

/// Makes the plan of the config at `config` in `tiles` tiles and writes it with its
/// launcher into `run_dir`. Returns the plan and the files written.
pub fn plan(
    config: &Path,
    tiles: usize,
    engine: Engine,
    resources: &Resources,
    run_dir: &Path,
) -> Result<(Plan, Vec<PathBuf>)> {
    // Loaded from its absolute path, as every stage loads it (paths resolve the same).
    let settings = Settings::load(&absolute(config))?;
    crate::model::check(&settings)?;
    let threads = resources.threads.unwrap_or(settings.threads);
    if crate::io::is_virtual(run_dir) && engine != Engine::List {
        return Err(Error::key(
            "engine",
            format!(
                "the run folder {} is on object storage: SLURM and PBS job scripts and logs need it on the \
                 cluster's shared file system; use the `list` engine for a run folder on object storage",
                run_dir.display()
            ),
        ));
    }
    let plan = Plan::new(&settings, tiles, threads)?;
    create_dir(run_dir)?;
    let run_dir = absolute(run_dir);
    let path = run_dir.join(PLAN_FILE);
    let text = serde_json::to_string_pretty(&plan).map_err(|e| Error::output(&path, e))? + "\n";
    write_atomic(&path, text.as_bytes())?;
    let mut files = vec![path];
    files.extend(launch::write(&plan, engine, resources, &run_dir)?);
    Ok((plan, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(cols: usize, rows: usize, b: usize) -> Vec<Window> {
        let g = crate::grid::Grid::unreferenced([0.0, 1.0, 0.0, 0.0, 0.0, -1.0], cols, rows, b);
        g.windows()
    }

    #[test]
    fn tiles_cover_every_window_once_in_order_and_unevenly_when_asked() {
        let all = windows(50, 45, 10); // 5 x 5 windows, the last row and column clipped
        for n in [1, 4, 7, 25] {
            let t = cut(&all, n).expect("cut");
            assert_eq!(t.len(), n);
            let mut next = 0;
            for s in &t {
                assert_eq!(s.first_window, next);
                assert!(s.windows >= 1);
                next += s.windows;
                for w in s.windows_of(&all) {
                    assert!(w.row >= s.row && w.row + w.rows <= s.row + s.rows, "{w:?} outside {s:?}");
                }
            }
            assert_eq!(next, all.len());
        }
        let seven: Vec<usize> = cut(&all, 7).expect("cut").iter().map(|s| s.windows).collect();
        assert_eq!(seven, vec![3, 4, 3, 4, 3, 4, 4]);
        assert!(cut(&all, 26).is_err());
        assert!(cut(&all, 0).is_err());
    }
}
