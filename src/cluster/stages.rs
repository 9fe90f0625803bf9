//! The stages of a tiled run that run on their own: `prepare` (one per array task: the
//! partials of the grid-wide passes over its tile's windows), `fit` (once: merges the
//! partials in tile order into the prepared state, then fits) and `tile` (one per array
//! task: the prepared state, then its windows' features and maps), and the mosaic's reader
//! of the finished tiles ([`TileSet`]). The mosaic itself is the single run's pipeline fed
//! from a `TileSet` (`lode::mosaic`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{read_text, write_atomic, Plan, TileSpec};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::features::scan::{windows_scanned, StackScan};
use crate::features::FeatureStack;
use crate::grid::{Grid, Window};
use crate::io::cog::{MapRaster, MapWriter};
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
/// The prepare tasks' folder inside the run folder (one `NNNN.json` per tile).
const PREPARE_DIR: &str = "prepare";
/// The prepared state the fit stage saves in its folder.
const PREPARED_FILE: &str = "prepared.json";

/// The partials of one prepare task, or the merged prepared state of the fit stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct ScanRecord {
    /// The hash of the plan it was computed for.
    plan_hash: String,
    /// The tile whose windows it read (`None`: every tile's, merged).
    spec: Option<TileSpec>,
    /// The partials.
    scan: StackScan,
}

fn prepare_path(run_dir: &Path, index: usize) -> PathBuf {
    run_dir.join(PREPARE_DIR).join(format!("{index:04}.json"))
}

/// Where the fit stage saves the prepared state (the merged partials).
pub fn prepared_path(run_dir: &Path) -> PathBuf {
    run_dir.join(FIT_DIR).join(PREPARED_FILE)
}

fn read_scan(path: &Path) -> Result<ScanRecord> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::input(path, format!("not a lode prepare record: {e}")))
}

fn write_scan(path: &Path, record: &ScanRecord) -> Result<()> {
    super::create_dir(path.parent().unwrap_or(path))?;
    let text = serde_json::to_string(record).map_err(|e| Error::output(path, e))? + "\n";
    write_atomic(path, text.as_bytes())
}

/// The spec of tile `index` of `plan`, or an error naming the plan's tiles.
fn spec_of(plan: &Plan, run_dir: &Path, index: usize) -> Result<TileSpec> {
    plan.tiles.get(index).copied().ok_or_else(|| {
        Error::input(
            run_dir.join(super::PLAN_FILE),
            format!("has {} tiles (0 to {}), not {index}", plan.tiles.len(), plan.tiles.len() - 1),
        )
    })
}

/// The prepare stage: the partials of every grid-wide pass (class scans, burns, moments,
/// counts, a transform's values) over tile `index`'s windows, written atomically to
/// `RUN/prepare/NNNN.json` with the plan's hash. A task already finished for this plan is
/// left as it is.
pub fn prepare(run_dir: &Path, index: usize, threads: Option<usize>) -> Result<PathBuf> {
    let plan = Plan::load(run_dir)?;
    let spec = spec_of(&plan, run_dir, index)?;
    let path = prepare_path(run_dir, index);
    if read_scan(&path).is_ok_and(|r| r.plan_hash == plan.hash && r.spec == Some(spec)) {
        tracing::info!("prepare {index}: already finished for this plan");
        return Ok(path);
    }
    let settings = plan.settings(run_dir)?;
    let before = windows_scanned();
    let scan = pool(threads.unwrap_or(plan.threads))?
        .install(|| FeatureStack::scan(&settings, spec.windows_of(&settings.grid.windows())))?;
    tracing::info!(
        "prepare {index}: grid-wide passes read {} windows (the tile has {})",
        windows_scanned() - before,
        spec.windows
    );
    write_scan(&path, &ScanRecord { plan_hash: plan.hash.clone(), spec: Some(spec), scan })?;
    Ok(path)
}

/// The partials of every prepare task merged in tile order; refuses missing ones and
/// ones of another plan, naming each.
fn merge_prepared(run_dir: &Path, plan: &Plan, settings: &Settings) -> Result<StackScan> {
    let names: Vec<String> = settings.evidence.iter().map(|e| e.name.clone()).collect();
    let scans = one_per_tile(plan, run_dir.join(PREPARE_DIR), "prepare task", "; run them first", |spec| {
        let path = prepare_path(run_dir, spec.index);
        let record = read_scan(&path).ok()?;
        Some(if record.plan_hash == plan.hash && record.spec == Some(*spec) { Ok(record.scan) } else { Err(path) })
    })?;
    let mut merged = StackScan::default();
    for scan in scans {
        merged.merge(scan, &names)?;
    }
    Ok(merged)
}

/// One output of every tile of `plan`, in tile order, read by `read`: `None` when missing
/// or unfinished, `Some(Err(path))` when it belongs to another plan. Refuses another
/// plan's output by its path, and missing ones all at once under `folder`, listing them
/// (`what`: the task's name, `hint`: what to do, appended).
fn one_per_tile<T>(
    plan: &Plan,
    folder: PathBuf,
    what: &str,
    hint: &str,
    read: impl Fn(&TileSpec) -> Option<std::result::Result<T, PathBuf>>,
) -> Result<Vec<T>> {
    let mut found = Vec::with_capacity(plan.tiles.len());
    let mut missing = Vec::new();
    for spec in &plan.tiles {
        match read(spec) {
            Some(Ok(t)) => found.push(t),
            Some(Err(path)) => {
                return Err(Error::input(
                    path,
                    format!("belongs to another plan (its plan hash differs); run this {what} again"),
                ))
            }
            None => missing.push(spec.index.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(Error::input(
            folder,
            format!(
                "{} of {} {what}s are missing or unfinished: {}{hint}",
                missing.len(),
                plan.tiles.len(),
                missing.join(", ")
            ),
        ));
    }
    Ok(found)
}

/// The evidence of a plan from the fit stage's prepared state: no grid-wide pass is read.
pub(crate) fn prepared_stack(run_dir: &Path, plan: &Plan, settings: &Settings) -> Result<FeatureStack> {
    let path = prepared_path(run_dir);
    let record = read_scan(&path)
        .map_err(|e| Error::input(&path, format!("{e}: the fit stage has not finished; run it first")))?;
    if record.plan_hash != plan.hash {
        return Err(Error::input(&path, "belongs to another plan (its plan hash differs); run the fit stage again"));
    }
    let mut scan = record.scan;
    FeatureStack::prepare_merged(settings, &mut scan)
}

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
    /// The coverage counts of its windows, taken from the features it computed.
    coverage: crate::coverage::Partial,
}

/// Where the fit stage saves the model.
pub fn model_path(run_dir: &Path) -> PathBuf {
    run_dir.join(FIT_DIR).join("model.json")
}

/// Where the fit stage saves what fitting reported ([`FitRecord`]).
pub fn report_path(run_dir: &Path) -> PathBuf {
    run_dir.join(FIT_DIR).join("report.json")
}

/// What the fit stage found out besides the model, for the mosaic's `metrics.json` and
/// its fit files (weights tables, `importance.csv`, `cv_folds.csv`): the mosaic reads it
/// instead of fitting again.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FitRecord {
    /// The hash of the plan it was fitted for.
    plan_hash: String,
    /// What fitting reported (`metrics.json` `fit`).
    report: model::FitReport,
    /// The fit's extra output files (name, text).
    files: Vec<(String, String)>,
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

/// The fit stage: merges the prepare tasks' partials in tile order and finishes them
/// (saved as `RUN/fit/prepared.json`, what every tile task prepares from), samples the
/// training set, fits (and cross-validates) the model and saves it as
/// `RUN/fit/model.json`, with its report and files as `RUN/fit/report.json` (written first:
/// a finished `model.json` has its report). `threads` overrides the plan's.
pub fn fit(run_dir: &Path, threads: Option<usize>) -> Result<PathBuf> {
    let plan = Plan::load(run_dir)?;
    let settings = plan.settings(run_dir)?;
    pool(threads.unwrap_or(plan.threads))?.install(|| {
        model::check(&settings)?;
        let mut merged = merge_prepared(run_dir, &plan, &settings)?;
        let before = windows_scanned();
        let stack = FeatureStack::prepare_merged(&settings, &mut merged)?;
        tracing::info!(
            "fit: grid-wide passes read {} windows (what the prepare tasks could not read)",
            windows_scanned() - before
        );
        super::create_dir(&run_dir.join(FIT_DIR))?;
        write_scan(&prepared_path(run_dir), &ScanRecord { plan_hash: plan.hash.clone(), spec: None, scan: merged })?;
        let deposits = Deposits::load(&settings)?;
        let training = match model::needs_training_set(&settings) {
            true => Some(TrainingSet::sample(&settings, &stack, &deposits)?),
            false => None,
        };
        let fit = model::fit(&settings, &stack, &deposits, training.as_ref())?;
        let record = FitRecord { plan_hash: plan.hash.clone(), report: fit.report, files: fit.files };
        let report = report_path(run_dir);
        let text = serde_json::to_string_pretty(&record).map_err(|e| Error::output(&report, e))? + "\n";
        write_atomic(&report, text.as_bytes())?;
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
    let spec = spec_of(&plan, run_dir, index)?;
    let dir = tile_dir(run_dir, index);
    if read_record(&dir).is_ok_and(|r| r.plan_hash == plan.hash && r.spec == spec) {
        tracing::info!("tile {index}: already finished for this plan");
        return Ok(dir);
    }
    let settings = plan.settings(run_dir)?;
    let model = load_model(run_dir)?;
    pool(threads.unwrap_or(plan.threads))?.install(|| {
        let before = windows_scanned();
        let stack = prepared_stack(run_dir, &plan, &settings)?;
        tracing::info!("tile {index}: grid-wide passes read {} windows", windows_scanned() - before);
        compute_tile(&plan, &stack, &model, spec, &dir)
    })?;
    Ok(dir)
}

/// Removes a folder, if it is still there, when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.0) {
                tracing::warn!("could not remove {}: {e}", self.0.display());
            }
        }
    }
}

fn compute_tile(plan: &Plan, stack: &FeatureStack, model: &FittedModel, spec: TileSpec, dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let all = stack.grid.windows();
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
    // Whatever happens below, the partial folder does not outlive this call, except as
    // the finished tile it is renamed to (a failed tile leaves nothing behind, in `TMPDIR`
    // or in the run folder).
    let _cleanup = RemoveOnDrop(partial.clone());
    let grid = tile_grid(&stack.grid, &spec);
    let outputs = model.outputs();
    let mut writers = outputs
        .iter()
        .map(|o| MapWriter::create(&partial.join(o.file), &grid, o.description, &[]))
        .collect::<Result<Vec<_>>>()?;
    let mut summary = PredictSummary::default();
    let mut coverage = crate::coverage::Partial::default();
    let bar = crate::progress::bar(windows.len() as u64, &format!("tile {}", spec.index));
    for group in windows.chunks(2 * rayon::current_num_threads().max(1)) {
        let results: Vec<_> = group
            .par_iter()
            .map(|w| -> Result<_> {
                // The single run's path (`predict::predict_map`): the same values, bit for bit.
                let block = stack.compute_features(w)?;
                let counts = crate::coverage::Partial::of_features(stack, &block);
                Ok((w, model.predict_features(&block), block.in_study, counts))
            })
            .collect::<Result<_>>()?;
        for (w, prediction, in_study, counts) in results {
            coverage.merge(&counts);
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
        coverage,
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
        let records = one_per_tile(&plan, run_dir.join(TILES_DIR), "tile", "", |spec| {
            let dir = tile_dir(run_dir, spec.index);
            let record = read_record(&dir).ok()?;
            Some(if record.plan_hash == plan.hash && record.spec == *spec { Ok(record) } else { Err(dir) })
        })?;
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

    /// The fit stage's fit: the model the tiles were predicted with, its report and its
    /// files. Refuses a missing report and one of another plan, naming the file.
    pub fn fit(&self) -> Result<model::Fit> {
        let path = report_path(&self.run_dir);
        let text = read_text(&path)
            .map_err(|e| Error::input(&path, format!("{e}: the fit stage has not finished; run it first")))?;
        let record: FitRecord = serde_json::from_str(&text)
            .map_err(|e| Error::input(&path, format!("not a lode fit report: {e}; run the fit stage again")))?;
        if record.plan_hash != self.plan.hash {
            return Err(Error::input(
                &path,
                "belongs to another plan (its plan hash differs); run the fit stage and the tiles again",
            ));
        }
        Ok(model::Fit { model: load_model(&self.run_dir)?, report: record.report, files: record.files })
    }

    /// The evidence the tiles were computed with, from the fit stage's prepared state.
    pub fn stack(&self, settings: &Settings) -> Result<FeatureStack> {
        prepared_stack(&self.run_dir, &self.plan, settings)
    }

    /// Each layer's coverage of the study area, from the tiles' counts merged in tile
    /// order (the single run's [`crate::coverage::measure`], without reading a layer).
    pub fn coverage(&self, stack: &FeatureStack) -> Vec<crate::coverage::LayerCoverage> {
        let mut total = crate::coverage::Partial::default();
        for r in &self.records {
            total.merge(&r.coverage);
        }
        total.finish(stack)
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
            let tile_maps: Vec<MapRaster> = files
                .iter()
                .map(|file| MapRaster::open_shaped(&dir.join(file), (grid.cols, r.spec.rows)))
                .collect::<Result<_>>()?;
            for w in r.spec.windows_of(&all) {
                let local = in_tile(w, &r.spec);
                let mut maps = Vec::new();
                for (writer, tile_map) in writers.iter_mut().zip(&tile_maps) {
                    // The tile holds the single run's bytes, nodata included: copied as they are.
                    let (values, _) = tile_map.read_window(&local)?;
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
