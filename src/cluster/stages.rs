//! The stages of a tiled run that run on their own: `fit` (once) and `tile` (one per
//! array task), and the mosaic's reader of the finished tiles ([`TileSet`]). The mosaic
//! itself is the single run's pipeline fed from a `TileSet` (`lode::mosaic`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{read_text, write_atomic, Plan, TileSpec};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::features::FeatureStack;
use crate::grid::{Grid, Window};
use crate::io::cog::{read_window, MapWriter};
use crate::labels::Deposits;
use crate::mapstats::MapStats;
use crate::model::{self, FittedModel};
use crate::predict::PredictSummary;
use crate::training::TrainingSet;

/// The fit stage's folder inside the run folder.
const FIT_DIR: &str = "fit";
/// The tiles' folder inside the run folder.
const TILES_DIR: &str = "tiles";
/// What a finished tile writes last.
const TILE_FILE: &str = "tile.json";

/// What a finished tile is: its plan, its windows and its cell counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct TileRecord {
    /// The hash of the plan it was computed for.
    plan_hash: String,
    /// Its place in the plan.
    spec: TileSpec,
    /// The maps it holds (file names, one GeoTIFF each).
    maps: Vec<String>,
    /// Study-area cells of its windows.
    study_area_cells: u64,
    /// Cells given a value.
    scored_cells: u64,
    /// Study-area cells without evidence.
    cells_without_evidence: u64,
}

/// Where the fit stage saves the model.
pub fn model_path(run_dir: &Path) -> PathBuf {
    run_dir.join(FIT_DIR).join("model.json")
}

fn tile_dir(run_dir: &Path, index: usize) -> PathBuf {
    run_dir.join(TILES_DIR).join(format!("{index:04}"))
}

/// A rayon pool of `threads` workers (0: one per core).
fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::key("project.threads", e.to_string()))
}

/// The fit stage: prepares the evidence, samples the training set, fits (and
/// cross-validates) the model and saves it as `RUN/fit/model.json`. `threads` overrides the plan's.
pub fn fit(run_dir: &Path, threads: Option<usize>) -> Result<PathBuf> {
    let plan = Plan::load(run_dir)?;
    let settings = plan.settings(run_dir)?;
    pool(threads.unwrap_or(plan.threads))?.install(|| {
        model::check(&settings)?;
        let stack = FeatureStack::prepare(&settings)?;
        let deposits = Deposits::load(&settings)?;
        let training = match model::needs_training_set(&settings) {
            true => Some(TrainingSet::sample(&settings, &stack, &deposits)?),
            false => None,
        };
        let fit = model::fit(&settings, &stack, &deposits, training.as_ref())?;
        super::create_dir(&run_dir.join(FIT_DIR))?;
        let path = model_path(run_dir);
        let text = serde_json::to_string_pretty(&fit.model).map_err(|e| Error::output(&path, e))? + "\n";
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    })
}

/// The saved model of the fit stage.
fn load_model(run_dir: &Path) -> Result<FittedModel> {
    let path = model_path(run_dir);
    let text = read_text(&path)
        .map_err(|e| Error::input(&path, format!("{e}: the fit stage has not finished; run it first")))?;
    serde_json::from_str(&text).map_err(|e| Error::input(&path, format!("not a lode model.json: {e}")))
}

/// The grid of a tile's rasters: the grid's full width, the tile's rows.
fn tile_grid(grid: &Grid, spec: &TileSpec) -> Grid {
    let mut g = grid.clone();
    g.geo_transform[3] += spec.row as f64 * grid.geo_transform[5];
    g.rows = spec.rows;
    g
}

/// A window of the grid in the coordinates of a tile's raster.
fn in_tile(w: &Window, spec: &TileSpec) -> Window {
    Window { row: w.row - spec.row, ..*w }
}

/// The tile stage: computes tile `index`'s windows on the global grid (features with their
/// halos from the sources, then the fit stage's model) and writes its maps and record into
/// `RUN/tiles/NNNN/`, atomically. A tile already finished for this plan is left as it is.
pub fn tile(run_dir: &Path, index: usize, threads: Option<usize>) -> Result<PathBuf> {
    let plan = Plan::load(run_dir)?;
    let spec = *plan.tiles.get(index).ok_or_else(|| {
        Error::input(
            run_dir.join(super::PLAN_FILE),
            format!("has {} tiles (0 to {}), not {index}", plan.tiles.len(), plan.tiles.len() - 1),
        )
    })?;
    let dir = tile_dir(run_dir, index);
    if read_record(&dir).is_ok_and(|r| r.plan_hash == plan.hash && r.spec == spec) {
        tracing::info!("tile {index}: already finished for this plan");
        return Ok(dir);
    }
    let settings = plan.settings(run_dir)?;
    let model = load_model(run_dir)?;
    pool(threads.unwrap_or(plan.threads))?.install(|| compute_tile(&plan, &settings, &model, spec, &dir))?;
    Ok(dir)
}

fn compute_tile(plan: &Plan, settings: &Settings, model: &FittedModel, spec: TileSpec, dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let stack = FeatureStack::prepare(settings)?;
    let all = settings.grid.windows();
    let windows = spec.windows_of(&all);
    let remote = crate::io::is_virtual(dir);
    let parent = dir.parent().unwrap_or(dir);
    super::create_dir(parent)?;
    // On object storage the tile is computed in a local folder, then published.
    let partial = match remote {
        true => std::env::temp_dir().join(format!(".lode-tile-{:04}-{}", spec.index, std::process::id())),
        false => parent.join(format!(".{:04}.partial-{}", spec.index, std::process::id())),
    };
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| Error::output(&partial, e))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| Error::output(&partial, e))?;
    let grid = tile_grid(&settings.grid, &spec);
    let outputs = model.outputs();
    let mut writers = outputs
        .iter()
        .map(|o| MapWriter::create(&partial.join(o.file), &grid, o.description, &[]))
        .collect::<Result<Vec<_>>>()?;
    let mut summary = PredictSummary::default();
    let bar = crate::progress::bar(windows.len() as u64, &format!("tile {}", spec.index));
    for group in windows.chunks(2 * rayon::current_num_threads().max(1)) {
        let results: Vec<_> = group
            .par_iter()
            .map(|w| -> Result<_> {
                let block = stack.compute(w)?;
                Ok((w, model.predict_block(&block), block.in_study))
            })
            .collect::<Result<_>>()?;
        for (w, prediction, in_study) in results {
            for (writer, values) in writers.iter_mut().zip(&prediction.maps) {
                writer.write(&in_tile(w, &spec), values, &prediction.valid)?;
            }
            let study = in_study.iter().filter(|&&b| b).count() as u64;
            let scored = prediction.valid.iter().filter(|&&b| b).count() as u64;
            summary.study_area_cells += study;
            summary.scored_cells += scored;
            summary.cells_without_evidence += study - scored;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    for w in writers {
        w.close()?;
    }
    let record = TileRecord {
        plan_hash: plan.hash.clone(),
        spec,
        maps: outputs.iter().map(|o| o.file.to_string()).collect(),
        study_area_cells: summary.study_area_cells,
        scored_cells: summary.scored_cells,
        cells_without_evidence: summary.cells_without_evidence,
    };
    let path = partial.join(TILE_FILE);
    let text = serde_json::to_string_pretty(&record).map_err(|e| Error::output(&path, e))? + "\n";
    std::fs::write(&path, text).map_err(|e| Error::output(&path, e))?;
    if remote {
        publish_tile(&partial, dir, &record.maps)?;
        tracing::info!("tile {}: {} windows, {} scored cells", spec.index, spec.windows, summary.scored_cells);
        return Ok(());
    }
    // The finished folder replaces any earlier one in two renames; a reader sees either
    // no tile, the old one or the new one, each complete with its record.
    if dir.exists() {
        let old = parent.join(format!(".{:04}.old-{}", spec.index, std::process::id()));
        std::fs::rename(dir, &old).map_err(|e| Error::output(dir, e))?;
        std::fs::rename(&partial, dir).map_err(|e| Error::output(dir, e))?;
        std::fs::remove_dir_all(&old).map_err(|e| Error::output(&old, e))?;
    } else {
        std::fs::rename(&partial, dir).map_err(|e| Error::output(dir, e))?;
    }
    tracing::info!("tile {}: {} windows, {} scored cells", spec.index, spec.windows, summary.scored_cells);
    Ok(())
}

/// Publishes a tile computed in the local folder `local` to `dir` on object storage: an
/// earlier record there removed first, the maps uploaded, the record last, so the mosaic
/// sees no tile or a complete one. The local folder is removed.
fn publish_tile(local: &Path, dir: &Path, maps: &[String]) -> Result<()> {
    use crate::io::vsi;
    vsi::remove(&dir.join(TILE_FILE))?;
    for name in maps.iter().map(String::as_str).chain([TILE_FILE]) {
        vsi::copy(&local.join(name), &dir.join(name))?;
    }
    std::fs::remove_dir_all(local).map_err(|e| Error::output(local, e))
}

fn read_record(dir: &Path) -> Result<TileRecord> {
    let path = dir.join(TILE_FILE);
    let text = read_text(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::input(&path, format!("not a lode tile record: {e}")))
}

/// The finished tiles of a plan, for the mosaic: every tile present, of this plan.
#[derive(Debug, Clone)]
pub struct TileSet {
    run_dir: PathBuf,
    plan: Plan,
    records: Vec<TileRecord>,
}

impl TileSet {
    /// The tiles of the plan in `run_dir`; refuses missing tiles, unfinished ones and
    /// tiles of another plan, naming each.
    pub fn open(run_dir: &Path) -> Result<TileSet> {
        let plan = Plan::load(run_dir)?;
        let mut records = Vec::new();
        let mut missing = Vec::new();
        for spec in &plan.tiles {
            let dir = tile_dir(run_dir, spec.index);
            match read_record(&dir) {
                Ok(r) if r.plan_hash == plan.hash && r.spec == *spec => records.push(r),
                Ok(_) => {
                    return Err(Error::input(
                        &dir,
                        "belongs to another plan (its plan hash differs); run this tile again",
                    ))
                }
                Err(_) => missing.push(spec.index),
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|i| i.to_string()).collect();
            return Err(Error::input(
                run_dir.join(TILES_DIR),
                format!(
                    "{} of {} tiles are missing or unfinished: {}",
                    missing.len(),
                    plan.tiles.len(),
                    list.join(", ")
                ),
            ));
        }
        Ok(TileSet { run_dir: run_dir.to_path_buf(), plan, records })
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The model the tiles were predicted with.
    pub fn model(&self) -> Result<FittedModel> {
        load_model(&self.run_dir)
    }

    /// Streams every window of the grid, in order, from the tiles into `writers` (one per
    /// map, named by `files`), and returns the prediction's cell counts (sums of the tiles').
    pub fn copy_into(
        &self,
        grid: &Grid,
        files: &[&str],
        writers: &mut [MapWriter],
        stats: &mut MapStats,
    ) -> Result<PredictSummary> {
        let all = grid.windows();
        let mut summary = PredictSummary::default();
        let bar = crate::progress::bar(all.len() as u64, "mosaicking");
        for r in &self.records {
            let dir = tile_dir(&self.run_dir, r.spec.index);
            if r.maps.iter().map(String::as_str).ne(files.iter().copied()) {
                return Err(Error::input(
                    dir.join(TILE_FILE),
                    format!("holds maps {:?}, the model writes {files:?}", r.maps),
                ));
            }
            for w in r.spec.windows_of(&all) {
                let local = in_tile(w, &r.spec);
                let mut maps = Vec::new();
                for (writer, file) in writers.iter_mut().zip(files) {
                    // The tile holds the single run's bytes, nodata included: copied as they are.
                    let (values, _) = read_window(&dir.join(file), &local)?;
                    writer.write(w, &values, &vec![true; values.len()])?;
                    maps.push(values);
                }
                // Counted as the single run counts them (nodata is not a value to a reader).
                stats.add_window(w, &maps, &vec![true; w.len()]);
                bar.inc(1);
            }
            summary.study_area_cells += r.study_area_cells;
            summary.scored_cells += r.scored_cells;
            summary.cells_without_evidence += r.cells_without_evidence;
        }
        bar.finish_and_clear();
        Ok(summary)
    }
}
