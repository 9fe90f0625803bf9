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
//!   -> model::fit         -> model::FittedModel, one of:
//!        logistic               training::TrainingSet: deposits + seeded random negatives
//!        random_forest, gradient_boosting   the same rows, binned trees; validation::
//!                               spatial cross-validation, importance, uncertainty
//!        wofe                   weights of evidence (wofe::*): class counts over the study area
//!        fuzzy                  memberships from the config
//!   -> predict            every window in parallel, streamed to COGs (io::cog)
//!   -> evaluate::Evaluation     ROC AUC and success-rate curve, streamed
//!   -> targets            ranked target areas (polygonized), styles (QGIS .qml)
//!   -> report, manifest   pictures and report.html; inputs' checksums, versions, timings
//!   -> output::Staging    every output published atomically at the end
//! ```
//!
//! Side doors: `synth` (synthetic districts with known truth), `presets` (`lode init`).
//!
//! Every per-cell stage is a pure function of `(settings, window)`, so a run can be split
//! into tiles computed by separate processes. `io` is the only module that calls GDAL.

#![warn(missing_docs)]

pub mod checks;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod grid;
pub mod io;
pub mod labels;
pub mod manifest;
pub mod model;
pub mod output;
pub mod predict;
pub mod presets;
pub mod progress;
pub mod report;
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

use evaluate::Evaluation;
use features::FeatureStack;
use labels::Deposits;

/// lode's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `metrics.json` holds (documented in `docs/outputs.md`).
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// lode's version.
    pub lode_version: String,
    /// GDAL's version.
    pub gdal_version: String,
    /// Project name.
    pub project: String,
    /// SHA-256 of the config file.
    pub config_sha256: String,
    /// ROC AUC of the map: deposits against every scored cell without a deposit.
    pub auc: f64,
    /// Success-rate curve as `[area_fraction, deposit_fraction]` pairs.
    pub success_rate: Vec<[f64; 2]>,
    /// The full evaluation record.
    pub evaluation: Evaluation,
    /// Deposit counts.
    pub deposits: DepositCounts,
    /// What fitting the model reports (per model kind: see docs/outputs.md).
    pub fit: serde_json::Value,
    /// Prediction cell counts.
    pub prediction: predict::PredictSummary,
    /// The grid.
    pub grid: grid::GridInfo,
    /// Feature columns, in model order.
    pub features: Vec<String>,
    /// Each evidence layer: name, columns, and what preparing it found.
    pub evidence: Vec<features::LayerSummary>,
    /// The fitted model.
    pub model: serde_json::Value,
    /// Seconds spent per stage.
    pub timings_s: Vec<(String, f64)>,
    /// How the target areas were drawn (absent when `[targets] enabled = false`).
    pub targets: Option<targets::TargetsSummary>,
    /// What the run must not leave unsaid: an AUC below 0.5 (map or held out), a fitting
    /// option switched off (see [`evaluate::run_warnings`]). Empty when all is well.
    pub warnings: Vec<String>,
    /// Cross-validation of the tree models (`[validation]`): fold AUCs, `cv_auc`,
    /// `cv_auc_sd`, `prediction_rate`, `importance` (see docs/outputs.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<serde_json::Value>,
}

/// Deposit counts for metrics.
#[derive(Debug, Clone, Serialize)]
pub struct DepositCounts {
    /// Points read (after the filter).
    pub read: usize,
    /// Points inside the grid and study area.
    pub used: usize,
    /// Distinct cells holding them.
    pub cells: usize,
    /// Points outside the grid.
    pub outside_grid: usize,
    /// Points outside the study area.
    pub outside_study_area: usize,
}

impl From<&Deposits> for DepositCounts {
    fn from(d: &Deposits) -> Self {
        DepositCounts {
            read: d.read,
            used: d.points.len(),
            cells: d.cells.len(),
            outside_grid: d.outside_grid,
            outside_study_area: d.outside_study_area,
        }
    }
}

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
    run_settings_with(settings, None)
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
    pool.install(|| run_settings_with(&settings, Some((saved, model_path.to_path_buf()))))
}

/// The pipeline, fitting the model or using a saved one.
fn run_settings_with(settings: &Settings, saved: Option<(model::FittedModel, PathBuf)>) -> Result<RunReport> {
    let mut clock = Stopwatch::new();
    let stack = FeatureStack::prepare(settings)?;
    clock.lap("prepare evidence");
    let deposits = Deposits::load(settings)?;
    let fit = fit_or_load(settings, &stack, &deposits, saved)?;
    let model = &fit.model;
    clock.lap("fit");

    let mut out = output::Staging::new(&settings.output.dir)?;
    let outputs = model.outputs();
    let prediction = write_maps(settings, &stack, model, &outputs, &mut out)?;
    let map_path = out.path("prospectivity.tif");
    clock.lap("predict");

    let evaluation = evaluate::evaluate_map(&map_path, &settings.grid, &deposits.point_cells)?;
    clock.lap("evaluate");

    let found = if settings.raw.targets.enabled {
        let maps: Vec<PathBuf> = outputs.iter().map(|o| out.path(o.file)).collect();
        let t = write_targets(settings, &stack, model, &deposits, &maps, &mut out)?;
        clock.lap("targets");
        Some(t)
    } else {
        None
    };

    let warnings = evaluate::run_warnings(evaluation.auc, &fit.report);
    let metrics = Metrics {
        lode_version: VERSION.to_string(),
        gdal_version: io::gdal_version(),
        project: settings.name.clone(),
        config_sha256: settings.config_sha256.clone(),
        auc: evaluation.auc,
        success_rate: evaluation.success_rate.clone(),
        evaluation,
        deposits: DepositCounts::from(&deposits),
        fit: fit.report.clone(),
        prediction,
        grid: settings.grid.info(),
        features: stack.columns.clone(),
        evidence: stack.summaries(),
        model: model.describe(),
        timings_s: clock.timings,
        targets: found.as_ref().map(|t| t.summary.clone()),
        validation: fit.report.get("validation").filter(|v| !v.is_null()).cloned(),
        warnings,
    };
    for (name, text) in &fit.files {
        write_file(&out.path(name), text.as_bytes())?;
    }
    out.write_json("metrics.json", &metrics)?;
    out.write_json("model.json", model)?;
    let mut manifest = manifest::build(settings, &out.staged(), &metrics.timings_s)?;
    if settings.raw.output.report {
        write_report(settings, &metrics, &deposits, found.as_ref(), &manifest, &mut out)?;
        manifest.add_outputs(&out.staged())?;
    }
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
    saved: Option<(model::FittedModel, PathBuf)>,
) -> Result<model::Fit> {
    let Some((m, path)) = saved else {
        return model::fit(settings, stack, deposits);
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
    Ok(model::Fit { model: m, report: serde_json::json!({ "saved_model": path }), files: Vec::new() })
}

/// Predicts every window into the model's maps (COGs with provenance tags) and the
/// map's QGIS style.
fn write_maps(
    settings: &Settings,
    stack: &FeatureStack,
    model: &model::FittedModel,
    outputs: &[model::MapOutput],
    out: &mut output::Staging,
) -> Result<predict::PredictSummary> {
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
    let prediction = predict::predict_map(stack, model, &mut writers)?;
    // The COG copies (overviews, compression) of the maps run side by side.
    use rayon::prelude::*;
    let finished: Vec<(PathBuf, io::cog::MapWriter)> = outputs.iter().map(|o| out.path(o.file)).zip(writers).collect();
    finished.into_par_iter().try_for_each(|(path, w)| w.finish(&path, settings.output.compression))?;
    write_file(&out.path("prospectivity.qml"), styles::prospectivity_qml(prediction.max_value).as_bytes())?;
    Ok(prediction)
}

/// Finds the ranked target areas and writes them (GeoPackage, CSV, optional GeoJSON,
/// QGIS style).
fn write_targets(
    settings: &Settings,
    stack: &FeatureStack,
    model: &model::FittedModel,
    deposits: &Deposits,
    maps: &[PathBuf],
    out: &mut output::Staging,
) -> Result<targets::Targets> {
    let map_path = out.path("prospectivity.tif");
    let uncertainty = targets::uncertainty_map(maps);
    let scratch = out.scratch("targets-mask.tif");
    let t = targets::find_targets(settings, stack, model, deposits, &map_path, uncertainty.as_deref(), &scratch)?;
    let geojson = settings.raw.targets.geojson.then(|| out.path("targets.geojson"));
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
    manifest: &manifest::Manifest,
    out: &mut output::Staging,
) -> Result<()> {
    let map_path = out.path("prospectivity.tif");
    let quicklook = out.path("quicklook.png");
    let ql = report::quicklook(&map_path, &settings.grid, &deposits.points, found, 900, &quicklook)?;
    let roc = report::roc_png(&metrics.evaluation, &out.path("roc.png"))?;
    let success = report::success_png(&metrics.evaluation, &out.path("success_rate.png"))?;
    for (name, bytes) in [("quicklook.png", &ql), ("roc.png", &roc), ("success_rate.png", &success)] {
        write_file(&out.path(name), bytes)?;
    }
    // Cross-validated models: the prediction-rate curve and the importance bars.
    let mut validation_pngs: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    if let Some(v) = &metrics.validation {
        let curve: Vec<(f64, f64)> = v["prediction_rate"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?))).collect())
            .unwrap_or_default();
        if !curve.is_empty() {
            let png = report::prediction_rate_png(&curve, &out.path("prediction_rate.png"))?;
            validation_pngs.push(("prediction-rate", "prediction-rate curve on held-out folds", png));
        }
        let importance: Vec<(String, f64)> = v["importance"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_f64()?))).collect())
            .unwrap_or_default();
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
    /// Output folder.
    pub output_dir: PathBuf,
}

/// Parses the config, opens every input and places the deposits; no heavy work.
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
    let deposits = Deposits::load(&settings)?;
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
        grid::Mask::Raster(b) => format!("raster {}", b.source.display()),
        grid::Mask::Polygons(_) => {
            format!("polygons {}", settings.raw.grid.mask.as_deref().unwrap_or(Path::new("")).display())
        }
    };
    Ok(ValidationReport {
        grid: settings.grid.info(),
        mask,
        layers,
        deposits: DepositCounts::from(&deposits),
        output_dir: settings.output.dir.clone(),
    })
}

/// Settings for the one-raster commands (`lode weights`, `lode evaluate`): the grid of
/// `raster`, the raster as one continuous layer, the deposits, an optional mask.
fn single_raster_settings(raster: &Path, deposits: &Path, mask: Option<&Path>) -> Result<Settings> {
    let stem = raster.file_stem().and_then(|s| s.to_str()).unwrap_or("layer");
    let name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let raw = config::RawConfig {
        project: config::RawProject { name: name.clone(), seed: 42, threads: 0 },
        grid: config::RawGrid {
            template: Some(raster.to_path_buf()),
            crs: None,
            bounds: None,
            cell_size: None,
            mask: mask.map(Path::to_path_buf),
            mask_layer: None,
            block_size: 256,
        },
        labels: config::RawLabels {
            path: deposits.to_path_buf(),
            layer: None,
            filter: None,
            negative_buffer: 0.0,
            negatives_per_positive: 1.0,
            negatives: None,
            positive_buffer: 0.0,
        },
        evidence: vec![config::RawEvidence {
            name,
            kind: config::EvidenceKind::Raster,
            path: raster.to_path_buf(),
            band: 1,
            layer: None,
            filter: None,
            attribute: None,
            resampling: config::Resampling::Nearest,
            classes: None,
            class_names: None,
            unmapped: None,
            between: None,
            max_classes: 256,
            wofe: None,
            fuzzy: None,
            derivative: None,
            z_factor: None,
            statistic: None,
            radius: None,
            radius_cells: None,
            shape: None,
            min_valid: None,
            method: None,
            all_touched: None,
            strike: None,
            strike_tolerance: None,
            intersections: None,
            kernel: None,
            power: None,
            search_radius: None,
            max_points: None,
            min_points: None,
            below_detection: None,
            below_detection_value: None,
            transform: None,
            zeros: None,
            back_transform: None,
            classify: None,
            parts: None,
            interpolation: None,
            variogram: None,
            nugget: None,
            sill: None,
            range: None,
            lags: None,
            kriging_variance: None,
            expression: None,
            index: None,
            sensor: None,
            quantification: None,
            offset: None,
            gain: None,
            sun_elevation: None,
            acquisition_date: None,
            pca: None,
            crosta: None,
        }],
        model: config::RawModel::default(),
        validation: config::RawValidation::default(),
        output: config::RawOutput { dir: PathBuf::from("."), compression: config::Compression::Deflate, report: false },
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
    let srs = io::parse_crs(&settings.grid.crs_wkt).map_err(|e| Error::input(&req.evidence, e))?;
    if !srs.is_projected() || (srs.linear_units() - 1.0).abs() > 1e-12 {
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
    evaluate::evaluate_map(map, &settings.grid, &deposits.point_cells)
}
