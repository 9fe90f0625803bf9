//! # lode: mineral prospectivity maps from survey layers and satellite rasters
//!
//! One config file in, a Cloud-Optimized GeoTIFF of deposit probability and its
//! evaluation out. The pipeline, one module per stage, a typed artifact between stages:
//!
//! ```text
//! config::Settings        parse the TOML, resolve paths, open every input, build the grid
//!   -> grid::Grid         CRS, geotransform, shape, study-area mask; split into Windows
//!   -> features::FeatureStack   each [[evidence]] layer (one file per kind in features/),
//!                         computed per window, a pure function of the window
//!   -> labels::Deposits   deposit points placed in grid cells
//!   -> training::TrainingSet    deposits + seeded random negatives (the models trained on
//!                         rows, and every model when cross-validated)
//!   -> model::fit         -> model::Fit: a model::FittedModel (knows its own kind, saved
//!                         as model.json) and a typed model::FitReport. Each kind is one
//!                         file of model/ implementing model::Model, listed once in
//!                         model_kinds!, e.g.:
//!        logistic               on the training set
//!        random_forest, gradient_boosting   the same rows, binned trees, uncertainty
//!        wofe                   weights of evidence (wofe::*): class counts over the study area
//!        fuzzy                  memberships from the config
//!      validation::cross_validate   spatial cross-validation of any kind -> CvReport
//!   -> predict            every window in parallel, streamed to scratch GeoTIFFs
//!                         (io::cog::MapWriter), counted as written (mapstats::MapStats:
//!                         exact order-statistic and rank counts, finished in one pass
//!                         over the written map)
//!   -> io::cog::MapRaster the map (its scratch copy), the handle evaluate and targets
//!                         read while the COGs are written from the scratch copies
//!   -> evaluate::Evaluation     ROC AUC and success-rate curve
//!   -> targets            ranked target areas (polygonized), styles (QGIS .qml)
//!   -> metrics::Metrics   metrics.json
//!   -> report, manifest   pictures and report.html; inputs' checksums, versions, timings
//!   -> output::Staging    every output published atomically at the end
//! ```
//!
//! Tiled runs on a batch scheduler (`cluster`: `lode plan`, `prepare`, `fit`, `tile`, `mosaic`) are this
//! pipeline with the maps read from tiles computed on the global grid, so they give the
//! single run's outputs exactly.
//!
//! Side doors: `synth` (synthetic districts with known truth), `presets` (`lode init`),
//! `redraw` (`lode targets`: new targets from a finished run), `stac` (the run's STAC item).
//!
//! Every per-cell stage is a pure function of `(settings, window)`, so a run can be split
//! into tiles computed by separate processes. `io` is the only module that calls GDAL.

#![warn(missing_docs)]

pub mod checks;
pub mod cluster;
pub mod config;
pub mod coverage;
pub mod error;
pub mod evaluate;
pub mod evidence_out;
pub mod features;
pub mod grid;
pub mod io;
pub mod labels;
pub mod manifest;
pub mod mapstats;
pub mod metrics;
pub mod model;
pub mod output;
pub mod predict;
pub mod presets;
pub mod progress;
pub mod redraw;
pub mod report;
pub mod scratch;
pub mod stac;
pub mod styles;
pub mod synth;
pub mod targets;
pub mod training;
pub mod validation;
pub mod wofe;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub use config::Settings;
pub use error::{Error, Result};
pub use metrics::{DepositCounts, Metrics, VERSION};

use evaluate::Evaluation;
use features::FeatureStack;
use labels::Deposits;
use training::TrainingSet;

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Output files, at their final names.
    pub outputs: Vec<PathBuf>,
    /// Everything written to `metrics.json`.
    pub metrics: Metrics,
}

/// Runs the whole pipeline for the config file at `config_path`. `threads` overrides the
/// config's `project.threads` (0: one per core).
pub fn run(config_path: &Path, threads: Option<usize>) -> Result<RunReport> {
    let settings = Settings::load(config_path)?;
    let threads = threads.unwrap_or(settings.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::key("project.threads", e.to_string()))?;
    pool.install(|| run_settings(&settings))
}

/// Runs the pipeline on validated settings, on the current rayon pool.
pub fn run_settings(settings: &Settings) -> Result<RunReport> {
    run_settings_with(settings, None, None)
}

/// Predicts and evaluates with a saved `model.json` instead of fitting (`lode predict`).
/// Its feature columns must be the config's, in order.
pub fn predict(config_path: &Path, model_path: &Path, threads: Option<usize>) -> Result<RunReport> {
    let settings = Settings::load(config_path)?;
    let text = std::fs::read_to_string(model_path).map_err(|e| Error::input(model_path, e))?;
    let saved: model::FittedModel =
        serde_json::from_str(&text).map_err(|e| Error::input(model_path, format!("not a lode model.json: {e}")))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(settings.threads))
        .build()
        .map_err(|e| Error::key("project.threads", e.to_string()))?;
    pool.install(|| run_settings_with(&settings, Some((saved, model_path.to_path_buf())), None))
}

/// The last stage of a tiled run (`lode mosaic RUN`): the single run's pipeline on the
/// plan's config, with the maps read from the finished tiles instead of predicted (see
/// [`cluster`]) and the fit stage's fit (model and report) instead of fitting again.
/// Refuses missing tiles, and tiles or a fit report missing or of another plan.
pub fn mosaic(run_dir: &Path, threads: Option<usize>) -> Result<RunReport> {
    let tiles = cluster::TileSet::open(run_dir)?;
    let settings = tiles.plan().settings(run_dir)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(tiles.plan().threads))
        .build()
        .map_err(|e| Error::key("project.threads", e.to_string()))?;
    pool.install(|| run_settings_with(&settings, None, Some(&tiles)))
}

/// The pipeline, fitting the model or using a saved one; the maps predicted, or read from
/// the tiles of a tiled run.
fn run_settings_with(
    settings: &Settings,
    saved: Option<(model::FittedModel, PathBuf)>,
    tiles: Option<&cluster::TileSet>,
) -> Result<RunReport> {
    if saved.is_none() {
        model::check(settings)?;
    }
    evidence_out::selected(settings)?;
    output::check_dir(settings)?;
    // The inputs as this run reads them, for the manifest. A tiled run's stages compared
    // their sizes and modification times with the plan's; here they must be the plan's
    // byte for byte, before anything is read or written.
    let inputs = manifest::hash_inputs(settings)?;
    if let Some(t) = tiles {
        t.plan().check_hashes(t.run_dir(), &inputs)?;
    }
    let mut clock = Stopwatch::new();
    let mut out = output::Staging::new(&settings.output.dir)?;
    let stack = match tiles {
        Some(t) => t.stack(settings)?,
        None => FeatureStack::prepare(settings)?,
    };
    // A tiled run's tiles counted the coverage of their windows while computing them; the
    // single run counts it while predicting (`write_maps`), not in a pass of its own.
    if let Some(t) = tiles {
        coverage::check(&t.coverage(&stack), settings.min_coverage)?;
    }
    clock.lap("prepare evidence");
    let deposits = Deposits::load(settings)?;
    let fit = match tiles {
        // The tiled run fitted once, in its fit stage: the mosaic reads that fit.
        Some(t) => t.fit()?,
        None => or_coverage_error(settings, &stack, || {
            let training = match saved {
                None if model::needs_training_set(settings) => Some(TrainingSet::sample(settings, &stack, &deposits)?),
                _ => None,
            };
            fit_or_load(settings, &stack, &deposits, training.as_ref(), saved)
        })?,
    };
    let model = &fit.model;
    clock.lap("fit");

    let outputs = model.outputs();
    let mut stats = mapstats::MapStats::new(&settings.grid, outputs.len(), &deposits.point_cells);
    let Predicted { summary: prediction, coverage, reference, scratch: maps } =
        write_maps(settings, &stack, model, &outputs, tiles, &mut stats, &mut out)?;
    clock.lap("predict");

    // Evaluation and targets read the maps' scratch copies (the same values as the COGs
    // under the same file names, several times cheaper to decode) while the COGs are
    // written from them.
    let published: Vec<PathBuf> = outputs.iter().map(|o| out.path(o.file)).collect();
    let (looks, evaluation, capture, found) = publish_maps(&maps, &published, settings.output.compression, || {
        let map = io::cog::MapRaster::open(&maps[0], &settings.grid)?;
        // One pass over the written maps finishes the classes, the target threshold and
        // the evaluation from what the prediction counted (see mapstats).
        let uncertainty = match targets::uncertainty_map(&maps) {
            Some(u) => {
                Some((maps.iter().position(|p| *p == u).unwrap_or(0), io::cog::MapRaster::open(&u, &settings.grid)?))
            }
            None => None,
        };
        let summaries = stats.finish(
            &settings.grid,
            &settings.targets,
            &map,
            uncertainty.as_ref().map(|(k, u)| (*k, u)),
            &deposits.point_cells,
        )?;
        let looks = style_maps(&summaries, uncertainty.as_ref().map(|(k, _)| published[*k].as_path()), &mut out)?;
        let evaluation = summaries.evaluation.clone();
        let capture = summaries.capture.clone();
        clock.lap("evaluate");

        let found = if settings.targets.enabled {
            let at = &summaries.target;
            let t = write_targets(settings, &stack, model, &deposits, &map, &maps, at, reference.as_ref(), &mut out)?;
            clock.lap("targets");
            Some(t)
        } else {
            None
        };
        Ok((looks, evaluation, capture, found))
    })?;
    // What is left of the COG copies once evaluation and targets are done.
    clock.lap("write maps");
    for scratch in &maps {
        std::fs::remove_file(scratch).map_err(|e| Error::output(scratch, e))?;
    }

    evidence_out::write(settings, &stack, &mut out)?;
    let warnings = evaluate::run_warnings(evaluation.auc, &fit.report);
    let metrics = Metrics {
        lode_version: VERSION.to_string(),
        gdal_version: io::gdal_version(),
        project: settings.name.clone(),
        synthetic: settings.synthetic,
        config_sha256: settings.config_sha256.clone(),
        held_out: metrics::HeldOut::from_fit(&fit.report),
        auc: evaluation.auc,
        capture,
        success_rate: evaluation.success_rate.clone(),
        evaluation,
        deposits: DepositCounts::from(&deposits),
        fit: fit.report.clone(),
        prediction,
        grid: settings.grid.info(),
        features: stack.columns.clone(),
        evidence: stack.summaries(),
        coverage,
        model: model.describe(),
        model_kind: model.model_kind(),
        timings_s: clock.timings,
        targets: found.as_ref().map(|t| t.summary.clone()),
        validation: fit.report.validation().cloned(),
        warnings,
    };
    for (name, text) in &fit.files {
        write_file(&out.path(name), text.as_bytes())?;
    }
    out.write_json("metrics.json", &metrics)?;
    out.write_json("model.json", model)?;
    let mut manifest = manifest::build(settings, inputs, &out.staged(), &metrics.timings_s)?;
    if settings.output.report {
        write_report(settings, &metrics, &deposits, found.as_ref(), &looks, &manifest, &mut out)?;
    }
    // The STAC item lists every output written so far (not the manifest, written last).
    // Dated by its data, not by the clock, so that reruns stay byte-identical: the newest
    // modification time of the config and the inputs.
    let dated = settings
        .inputs
        .iter()
        .map(|(_, p)| p.clone())
        .chain([settings.config_path.clone()])
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(std::time::UNIX_EPOCH);
    stac::write(settings, &out.staged(), &stac::rfc3339(dated), &out.path(stac::ITEM_PATH))?;
    manifest.add_outputs(&out.staged())?;
    out.write_json("manifest.json", &manifest)?;
    let outputs = out.commit()?;
    Ok(RunReport { outputs, metrics })
}

/// Seconds per stage, logged as they end.
struct Stopwatch {
    clock: Instant,
    timings: Vec<(String, f64)>,
}

impl Stopwatch {
    fn new() -> Stopwatch {
        Stopwatch { clock: Instant::now(), timings: Vec::new() }
    }

    fn lap(&mut self, name: &str) {
        let s = self.clock.elapsed().as_secs_f64();
        tracing::info!("{name}: {s:.2} s");
        self.timings.push((name.to_string(), s));
        self.clock = Instant::now();
    }
}

/// Writes `bytes` to a staged output.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::output(path, e))
}

/// Fits the model, or takes a saved one whose feature columns must be the stack's.
fn fit_or_load(
    settings: &Settings,
    stack: &FeatureStack,
    deposits: &Deposits,
    training: Option<&TrainingSet>,
    saved: Option<(model::FittedModel, PathBuf)>,
) -> Result<model::Fit> {
    let Some((m, path)) = saved else {
        return model::fit(settings, stack, deposits, training);
    };
    let mismatch = (0..m.columns.len().max(stack.columns.len())).find(|&i| m.columns.get(i) != stack.columns.get(i));
    if let Some(i) = mismatch {
        return Err(Error::Model(format!(
            "{}: feature column {} is `{}` in the saved model but `{}` in the config; the evidence must be the same, in the same order",
            path.display(),
            i + 1,
            m.columns.get(i).map_or("(none)", |s| s.as_str()),
            stack.columns.get(i).map_or("(none)", |s| s.as_str()),
        )));
    }
    Ok(model::Fit { model: m, report: model::FitReport::Saved { saved_model: path }, files: Vec::new() })
}

/// `step`'s result (sampling the training set and fitting). When it fails, a layer that
/// covers none or too little of the study area is the likelier cause (no deposit cell has
/// data in every layer, say): the coverage is measured then, in a pass over the grid that
/// a run which fits never pays for, and its error, naming the layer, is returned instead.
fn or_coverage_error<T>(settings: &Settings, stack: &FeatureStack, step: impl FnOnce() -> Result<T>) -> Result<T> {
    step().or_else(|e| {
        coverage::check(&coverage::measure(stack)?, settings.min_coverage)?;
        Err(e)
    })
}

/// What [`write_maps`] gives besides the maps.
struct Predicted {
    summary: predict::PredictSummary,
    /// Each layer's coverage of the study area.
    coverage: Vec<coverage::LayerCoverage>,
    /// The targets' reference, when the single run's predict stage counted it.
    reference: Option<targets::AreaReference>,
    /// The maps' scratch copies, closed, in the model's order: what evaluation and
    /// targets read, and what [`publish_maps`] copies to the COGs (the caller removes them).
    scratch: Vec<PathBuf>,
}

/// Predicts every window into the model's maps (scratch GeoTIFFs with provenance tags,
/// for [`publish_maps`]), with each layer's coverage of the study area: counted while
/// predicting in the single run (and checked before the maps are closed), from the
/// tiles' counts in a tiled run.
fn write_maps(
    settings: &Settings,
    stack: &FeatureStack,
    model: &model::FittedModel,
    outputs: &[model::MapOutput],
    tiles: Option<&cluster::TileSet>,
    stats: &mut mapstats::MapStats,
    out: &mut output::Staging,
) -> Result<Predicted> {
    let tags = vec![
        ("LODE_VERSION".to_string(), VERSION.to_string()),
        ("LODE_PROJECT".to_string(), settings.name.clone()),
        ("LODE_SETTINGS_SHA256".to_string(), settings.settings_sha256.clone()),
        ("LODE_MODEL".to_string(), model.describe().to_string()),
    ];
    let mut writers = outputs
        .iter()
        .map(|o| io::cog::MapWriter::create(&out.scratch(o.file), &settings.grid, o.description, &tags))
        .collect::<Result<Vec<_>>>()?;
    let (summary, coverage, reference) = match tiles {
        None => {
            let reference = targets::needs_area_reference(settings, model);
            let (summary, counted) = predict::predict_map(stack, model, &mut writers, stats, reference)?;
            let coverage = counted.coverage.finish(stack);
            coverage::check(&coverage, settings.min_coverage)?;
            (summary, coverage, counted.reference)
        }
        Some(t) => {
            let files = outputs.iter().map(|o| o.file).collect::<Vec<_>>();
            (t.copy_into(&settings.grid, &files, &mut writers, stats)?, t.coverage(stack), None)
        }
    };
    let scratch = writers.into_iter().map(io::cog::MapWriter::close).collect::<Result<_>>()?;
    Ok(Predicted { summary, coverage, reference, scratch })
}

/// Runs `rest` (evaluation and targets, reading the scratch maps) while the scratch maps
/// are copied to their COGs `published` (overviews, compression) on threads of their own,
/// one per map; then waits for the copies. A copy's error comes first: a scratch map that
/// could not be written whole (a full disk) fails its copy as a write error naming it, and
/// makes `rest` fail only as a consequence.
fn publish_maps<T>(
    scratch: &[PathBuf],
    published: &[PathBuf],
    compression: io::Compression,
    rest: impl FnOnce() -> Result<T>,
) -> Result<T> {
    std::thread::scope(|s| {
        let copies: Vec<_> = scratch
            .iter()
            .zip(published)
            .map(|(from, to)| {
                s.spawn(move || -> Result<()> {
                    let started = Instant::now();
                    io::cog::translate_to_cog(from, to, compression)?;
                    tracing::debug!("wrote {} in {:.2} s", to.display(), started.elapsed().as_secs_f64());
                    Ok(())
                })
            })
            .collect();
        let done = rest();
        for copy in copies {
            copy.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        }
        done
    })
}

/// How the maps are coloured: the area classes of the map and the top of the
/// uncertainty ramp (the value only 1 % of the cells exceed).
pub struct MapLooks {
    /// Classes by area of `prospectivity.tif`.
    pub classes: styles::AreaClasses,
    /// The uncertainty map and the top of its ramp, when the model writes one.
    pub uncertainty: Option<(PathBuf, f64)>,
}

/// Measures the colour stretches of the maps and writes their QGIS styles
/// (`prospectivity.qml`, and `uncertainty.qml` or `posterior_std.qml`).
fn style_maps(
    summaries: &mapstats::Finished,
    uncertainty: Option<&Path>,
    out: &mut output::Staging,
) -> Result<MapLooks> {
    let classes = summaries.classes.clone();
    write_file(&out.path("prospectivity.qml"), styles::prospectivity_qml(&classes).as_bytes())?;
    let uncertainty = match (uncertainty, summaries.uncertainty_top) {
        (Some(u), Some(max)) => {
            let u = u.to_path_buf();
            let stem = u.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            write_file(&out.path(&format!("{stem}.qml")), styles::uncertainty_qml(max).as_bytes())?;
            Some((u, max))
        }
        _ => None,
    };
    Ok(MapLooks { classes, uncertainty })
}

/// Finds the ranked target areas and writes them (GeoPackage, CSV, optional GeoJSON,
/// QGIS style).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_targets(
    settings: &Settings,
    stack: &FeatureStack,
    model: &model::FittedModel,
    deposits: &Deposits,
    map: &io::cog::MapRaster,
    maps: &[PathBuf],
    at: &targets::TargetThreshold,
    reference: Option<&targets::AreaReference>,
    out: &mut output::Staging,
) -> Result<targets::Targets> {
    let uncertainty = match targets::uncertainty_map(maps) {
        Some(path) => Some(io::cog::MapRaster::open(&path, &settings.grid)?),
        None => None,
    };
    let scratch = out.scratch("targets-mask.tif");
    let t =
        targets::find_targets_at(settings, stack, model, deposits, map, uncertainty.as_ref(), at, reference, &scratch)?;
    let geojson = settings.targets.geojson.then(|| out.path("targets.geojson"));
    targets::write_vector(&t, &settings.grid, &out.path("targets.gpkg"), geojson.as_deref())?;
    write_file(&out.path("targets.csv"), targets::to_csv(&t).as_bytes())?;
    write_file(&out.path("targets.qml"), styles::targets_qml().as_bytes())?;
    Ok(t)
}

/// Pictures (quicklook, ROC, success rate; prediction rate and importance for
/// cross-validated models) and the self-contained `report.html`.
fn write_report(
    settings: &Settings,
    metrics: &Metrics,
    deposits: &Deposits,
    found: Option<&targets::Targets>,
    looks: &MapLooks,
    manifest: &manifest::Manifest,
    out: &mut output::Staging,
) -> Result<()> {
    let map_path = out.path("prospectivity.tif");
    let quicklook = out.path("quicklook.png");
    let ql = report::quicklook(settings, &looks.classes, &map_path, &deposits.points, found, &quicklook)?;
    write_file(&quicklook, &ql)?;
    let crs = settings.grid.info().crs;
    let metres = io::units_are_metres(&settings.grid.crs_wkt);
    let mut uncertainty_png = None;
    if let Some((u, max)) = &looks.uncertainty {
        let path = out.path("uncertainty.png");
        let frame = report::Frame { title: "Uncertainty of the probability", crs: &crs, metres, max_px: 600 };
        let stretch = report::Stretch::Ramp { max: *max, title: "Standard deviation" };
        let png = report::map_png(u, &settings.grid, &frame, &stretch, &deposits.points, None, &path)?;
        write_file(&path, &png)?;
        let name = u.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        uncertainty_png = Some((png, name));
    }
    // Without deposits (no [labels]) there is no ROC or success-rate curve to draw.
    let (mut roc, mut success) = (Vec::new(), Vec::new());
    if metrics.evaluation.deposits_scored > 0 {
        roc = report::roc_png(&metrics.evaluation, &out.path("roc.png"))?;
        success = report::success_png(&metrics.evaluation, &out.path("success_rate.png"))?;
        write_file(&out.path("roc.png"), &roc)?;
        write_file(&out.path("success_rate.png"), &success)?;
    }
    // Cross-validated models: the prediction-rate curve and the importance bars.
    let mut validation_pngs: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    if let Some(v) = &metrics.validation {
        // Points and layers with a non-finite figure (`null` in metrics.json) are left out.
        let curve: Vec<(f64, f64)> =
            v.prediction_rate.iter().filter(|p| p.iter().all(|x| x.is_finite())).map(|p| (p[0], p[1])).collect();
        if !curve.is_empty() {
            let png = report::prediction_rate_png(&curve, &out.path("prediction_rate.png"))?;
            validation_pngs.push(("prediction-rate", "prediction-rate curve on held-out folds", png));
        }
        let importance: Vec<(String, f64)> = v.importance.iter().filter(|(_, d)| d.is_finite()).cloned().collect();
        if !importance.is_empty() {
            let png = report::importance_png(&importance, &out.path("importance.png"))?;
            validation_pngs.push(("importance", "permutation importance per evidence layer", png));
        }
    }
    for (id, _, bytes) in &validation_pngs {
        write_file(&out.path(&format!("{}.png", id.replace('-', "_"))), bytes)?;
    }
    let page = report::html(&report::ReportInput {
        manifest,
        metrics,
        targets: found,
        images: [&ql, &roc, &success],
        uncertainty: uncertainty_png.as_ref().map(|(p, n)| (p.as_slice(), n.as_str())),
        validation_images: validation_pngs.iter().map(|(i, a, b)| (*i, *a, b.as_slice())).collect(),
    });
    write_file(&out.path("report.html"), page.as_bytes())
}

/// What `lode validate` reports: the resolved grid, layers and label counts.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The grid.
    pub grid: grid::GridInfo,
    /// Whether a study-area mask is set.
    pub mask: String,
    /// One line per evidence layer.
    pub layers: Vec<String>,
    /// Deposit counts.
    pub deposits: DepositCounts,
    /// Each layer's coverage of the study area.
    pub coverage: Vec<coverage::LayerCoverage>,
    /// Output folder.
    pub output_dir: PathBuf,
}

/// Parses the config, opens every input, places the deposits, checks the output folder
/// and measures each layer's coverage of the study area (one pass over the grid). Every
/// input file that does not exist is listed in one error.
pub fn validate(config_path: &Path) -> Result<ValidationReport> {
    // Every problem found cheaply, all at once (see `checks`).
    let mut problems = checks::problems(config_path);
    if problems.len() > 1 {
        return Err(Error::Problems(problems));
    }
    if let Some(e) = problems.pop() {
        return Err(e);
    }
    let settings = Settings::load(config_path)?;
    model::check(&settings)?;
    evidence_out::selected(&settings)?;
    output::check_dir(&settings)?;
    let deposits = Deposits::load(&settings)?;
    let stack = FeatureStack::prepare(&settings)?;
    let coverage = coverage::measure(&stack)?;
    coverage::check(&coverage, settings.min_coverage)?;
    let layers = settings
        .evidence
        .iter()
        .map(|ev| {
            let source = match &ev.input {
                config::EvidenceInput::Raster(b) => format!(
                    "{} band {} ({}, {}x{}, {}{})",
                    b.path.display(),
                    b.band,
                    b.data_type,
                    b.cols,
                    b.rows,
                    b.crs_name,
                    if b.on_grid(&settings.grid) { ", on the grid" } else { ", will be warped" }
                ),
                config::EvidenceInput::Vector(l) => {
                    format!("{} layer {} ({} features)", l.path.display(), l.layer, l.feature_count)
                }
                config::EvidenceInput::Scene(p) => format!("scene {}", p.display()),
            };
            format!("{} [{}] {source}", ev.name, ev.kind.as_str())
        })
        .collect();
    let mask = match &settings.grid.mask {
        grid::Mask::All => "whole grid".to_string(),
        grid::Mask::Raster(b) => format!("raster {}", b.source().display()),
        grid::Mask::Polygons(p) => format!("polygons {}", p.source().display()),
    };
    Ok(ValidationReport {
        grid: settings.grid.info(),
        mask,
        layers,
        deposits: DepositCounts::from(&deposits),
        coverage,
        output_dir: settings.output.dir.clone(),
    })
}

/// Settings for the one-raster commands (`lode weights`, `lode evaluate`): the grid of
/// `raster`, the raster as one continuous layer, the deposits, an optional mask.
fn single_raster_settings(raster: &Path, deposits: &Path, mask: Option<&Path>) -> Result<Settings> {
    let stem = raster.file_stem().and_then(|s| s.to_str()).unwrap_or("layer");
    let name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    // The evidence table as a config file would give it: every other key at its declared default.
    let path = raster.to_str().ok_or_else(|| Error::input(raster, "the path is not UTF-8 text"))?;
    let table = toml::Table::from_iter([
        ("name".to_string(), toml::Value::from(name.as_str())),
        ("kind".to_string(), toml::Value::from("raster")),
        ("path".to_string(), toml::Value::from(path)),
        ("resampling".to_string(), toml::Value::from("nearest")),
    ]);
    let evidence: config::RawEvidence =
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| Error::input(raster, e.to_string()))?;
    let raw = config::RawConfig {
        project: config::RawProject { name: name.clone(), seed: 42, threads: 0, synthetic: false },
        grid: config::RawGrid {
            template: Some(raster.to_path_buf()),
            crs: None,
            bounds: None,
            cell_size: None,
            mask: mask.map(Path::to_path_buf),
            mask_layer: None,
            mask_crs: None,
            block_size: 256,
            min_coverage: 0.0,
        },
        labels: Some(config::RawLabels {
            path: deposits.to_path_buf(),
            layer: None,
            filter: None,
            x: None,
            y: None,
            crs: None,
            negative_buffer: 0.0,
            negatives_per_positive: 1.0,
            negatives: None,
            positive_buffer: 0.0,
            name_field: None,
        }),
        evidence: vec![evidence],
        model: config::RawModel::default(),
        validation: config::RawValidation::default(),
        output: config::RawOutput {
            dir: PathBuf::from("."),
            compression: config::Compression::Deflate,
            report: false,
            evidence: Default::default(),
        },
        targets: config::RawTargets::default(),
    };
    let cwd = std::env::current_dir().map_err(|e| Error::key("working directory", e.to_string()))?;
    Settings::from_raw(raw, &cwd, Path::new("<command line>"), String::new())
}

/// What `lode weights` needs.
#[derive(Debug, Clone)]
pub struct WeightsRequest {
    /// The evidence raster (integer classes).
    pub evidence: PathBuf,
    /// The deposit points.
    pub deposits: PathBuf,
    /// Ascending, descending or categorical.
    pub method: wofe::Method,
    /// Unit cell in km².
    pub unit_cell_km2: f64,
    /// Studentized-contrast threshold of the generalisation.
    pub confidence: f64,
    /// Class standing for missing data.
    pub missing: Option<i64>,
    /// Study-area mask (polygons or raster).
    pub mask: Option<PathBuf>,
}

/// Computes the ArcSDM weights table of one raster against deposits (`lode weights`).
pub fn weights(req: &WeightsRequest) -> Result<Vec<wofe::WeightsRow>> {
    let settings = single_raster_settings(&req.evidence, &req.deposits, req.mask.as_deref())?;
    let stack = FeatureStack::prepare(&settings)?;
    let deposits = Deposits::load(&settings)?;
    let counts = wofe::count_classes(&stack, &deposits)?;
    if !settings.grid.metres_per_unit.is_some_and(|u| (u - 1.0).abs() <= 1e-12) {
        return Err(Error::input(&req.evidence, "weights of evidence needs a projected CRS in metres"));
    }
    let mut params =
        wofe::WeightsParams::new(req.method, settings.grid.cell_area() / 1e6, req.unit_cell_km2, req.confidence);
    params.missing_data = req.missing;
    Ok(wofe::weights_table(&counts.class_counts(0), &params)?)
}

/// Evaluates any map on its own grid against deposits (`lode evaluate`).
pub fn evaluate(map: &Path, deposits: &Path, mask: Option<&Path>) -> Result<Evaluation> {
    let settings = single_raster_settings(map, deposits, mask)?;
    let deposits = Deposits::load(&settings)?;
    let map = io::cog::MapRaster::open(map, &settings.grid)?;
    evaluate::evaluate_map(&map, &settings.grid, &deposits.point_cells)
}
