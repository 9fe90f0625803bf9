//! `model.kind = "wofe"`: weights of evidence. Each layer's classes are counted over the
//! whole study area (streamed), a weights table is computed and generalised, and the
//! posterior probability of every cell is the prior odds times the exponent of the summed
//! weights of its classes. A layer with no data at a cell adds weight 0 and ArcSDM's
//! missing-data variance. The conditional-independence tests run on the fitted model.
//! With `[validation]`, the weights and prior are re-estimated per fold from the class
//! counts of the fold's training rows (deposit cells and sampled negative cells, each
//! negative standing for its share of the study area) and scored on its held-out rows.

use std::collections::BTreeMap;

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{EvidenceSettings, Settings};
use crate::error::{Error, Result};
use crate::config::EvidenceKind;
use crate::features::{Cells, ClassAt, ClassReader, FeatureBlock, FeatureStack, WindowFeatures};
use crate::labels::Deposits;
use crate::model::trees::rows_block;
use crate::model::{BlockPrediction, Built, FitReport, MapOutput, Model, ModelKind};
use crate::training::TrainingSet;
use crate::validation::{cross_validate, CvReport};
use crate::wofe::diagnostics::{independence_tests, pair_test, Condition};
use crate::wofe::diagnostics::{IndependenceTests, PairTest};
use crate::wofe::{
    count_classes, missing_data_variance, posterior, table_csv, weights, weights_table, ClassCount, ClassShare, Counts,
    LayerWeight, Method, Prior, WeightsParams, WeightsRow, NOT_CONFIDENT,
};

/// Checks the generalisation keys of layer `ev` (`evidence.wofe`) against each other and
/// against `method` (the layer's method; `None` when it is known only once the layer is
/// prepared: then only what needs no method is checked). `lode validate` calls it through
/// [`crate::model::check`] with the method given in the config; the fit with the method used.
pub fn check_generalisation(ev: &EvidenceSettings, method: Option<Method>) -> Result<()> {
    let key = |k: &str| format!("evidence `{}`.wofe.{k}", ev.name);
    let method = method.or(ev.wofe.method);
    match (&ev.wofe.classes, ev.wofe.threshold) {
        (Some(_), Some(_)) => Err(Error::key(key("classes"), "give `classes` or `threshold`, not both")),
        (Some(_), None) if method.is_some_and(|m| m != Method::Categorical) => {
            Err(Error::key(key("classes"), "applies to the categorical method only"))
        }
        (None, Some(_)) if method == Some(Method::Categorical) => {
            Err(Error::key(key("threshold"), "applies to ascending or descending only"))
        }
        _ => Ok(()),
    }
}

/// What fitting weights of evidence reports (`metrics.json` `fit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WofeReport {
    /// The prior probability.
    pub prior: PriorReport,
    /// The unit cell, km².
    pub unit_cell_km2: f64,
    /// Each generalised layer.
    pub layers: Vec<LayerReport>,
    /// Conditional-independence tests.
    pub conditional_independence: IndependenceReport,
    /// Cross-validation (`[validation]`), absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<CvReport>,
}

/// The prior of a weights-of-evidence model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriorReport {
    /// Deposits per unit cell of the study area.
    pub probability: f64,
    /// Its logit.
    pub logit: f64,
    /// Deposit cells counted.
    pub deposits: u64,
    /// Study area in unit cells.
    pub study_area_unit_cells: f64,
}

/// One generalised layer of a weights-of-evidence model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerReport {
    /// Layer name.
    pub name: String,
    /// `ascending`, `descending` or `categorical`.
    pub method: String,
    /// Classes of the favourable pattern of a binary generalisation.
    pub pattern: Option<Vec<i64>>,
    /// The weights table's file.
    pub table: String,
    /// Distinct generalised weights.
    pub generalised_classes: usize,
    /// Whether some class reaches the confidence threshold.
    pub confident: bool,
}

/// The overall and pairwise conditional-independence tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndependenceReport {
    /// Omnibus and Agterberg-Cheng tests.
    pub overall: IndependenceTests,
    /// Pairwise chi-square tests on the deposits.
    pub pairwise: Vec<PairTest>,
}

/// A fitted weights-of-evidence model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wofe {
    prior: Prior,
    layers: Vec<WofeLayer>,
}

/// One generalised evidence layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WofeLayer {
    name: String,
    reader: ClassReader,
    method: Method,
    /// Class standing for missing data.
    missing: Option<i64>,
    /// Classes forming the favourable pattern of a binary generalisation.
    pattern: Option<Vec<i64>>,
    /// Class -> index into `weights`.
    lookup: BTreeMap<i64, usize>,
    /// Distinct generalised weights `(WEIGHT, W_STD)`.
    weights: Vec<LayerWeight>,
    /// Area share of each entry of `weights`, for the missing-data variance.
    shares: Vec<ClassShare>,
    /// The weights table used.
    table: Vec<WeightsRow>,
}

impl WofeLayer {
    /// Index into `weights` of the layer's class at cell `i`, `None` for missing data.
    fn weight_index<B: Cells + ?Sized>(&self, block: &B, i: usize, k: usize) -> Option<usize> {
        match self.reader.class_at(block, i, k) {
            ClassAt::Class(c) if Some(c) != self.missing => self.lookup.get(&c).copied(),
            _ => None,
        }
    }
}

impl Wofe {
    /// Weighs and generalises every layer from class counts (the whole study area, or the
    /// training rows of a cross-validation fold); returns the model and its weights tables
    /// as CSV files. `warn`: log the layers that are not confident.
    fn from_counts(
        settings: &Settings,
        stack: &FeatureStack,
        counts: &Counts,
        cell_km2: f64,
        warn: bool,
    ) -> Result<(Wofe, Vec<(String, String)>)> {
        let unit = settings.model.unit_cell_km2;
        let readers = stack.class_readers()?;
        let mut layers = Vec::new();
        let mut files = Vec::new();
        for (k, ev) in settings.evidence.iter().enumerate() {
            let reader = readers[k].clone();
            let method =
                ev.wofe.method.unwrap_or(if reader.codes.is_some() { Method::Categorical } else { Method::Ascending });
            let key = |k2: &str| format!("evidence `{}`.wofe.{k2}", ev.name);
            let mut params = WeightsParams::new(method, cell_km2, unit, settings.model.confidence);
            params.missing_data = ev.wofe.missing;
            let class_counts = counts.class_counts(k);
            check_generalisation(ev, Some(method))?;
            let (table, pattern) = match (&ev.wofe.classes, ev.wofe.threshold) {
                (Some(classes), _) => {
                    let codes = crate::features::classes::resolve_codes(stack.layers[k].as_ref(), classes)
                        .map_err(|m| Error::key(key("classes"), m))?;
                    (binary_table(&class_counts, &codes, &params)?, Some(codes))
                }
                (None, threshold) => {
                    let mut table = weights_table(&class_counts, &params)?;
                    if let Some(t) = threshold {
                        let missing = params.missing_data;
                        let inside = |class: i64| match method {
                            Method::Ascending => (class as f64) <= t,
                            Method::Descending => (class as f64) >= t,
                            Method::Categorical => false,
                        };
                        // Rows are in accumulation order: the last favourable row ends the pattern.
                        let k = table
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| Some(r.class) != missing && inside(r.class))
                            .map(|(i, _)| i)
                            .next_back()
                            .ok_or_else(|| {
                                Error::key(key("threshold"), format!("{t} leaves no class in the favourable pattern"))
                            })?;
                        weights::generalise_at(&mut table, method, Some(k), |c| Some(c) == missing);
                    }
                    (table, None)
                }
            };
            if warn && table.iter().any(|r| r.gen_class == NOT_CONFIDENT) {
                tracing::warn!(
                    "weights of evidence: layer `{}` has no class with a studentized contrast of at least {}; it contributes nothing",
                    ev.name,
                    settings.model.confidence
                );
            }
            files.push((format!("weights_{}.csv", ev.name), table_csv(&table)));
            let all_classes: Vec<i64> = class_counts.iter().map(|c| c.class).collect();
            layers.push(generalised_layer(&ev.name, reader, method, ev.wofe.missing, pattern, table, &all_classes));
        }
        let study_units = counts.study_cells as f64 * cell_km2 / unit;
        let prior = Prior::new(counts.deposits, study_units)?;
        Ok((Wofe { prior, layers }, files))
    }

    /// Counts, weighs and generalises every layer; returns the model, the report for
    /// `metrics.json` (with `validation` when `[validation]` asks for it) and the weights
    /// tables as CSV files (and the cross-validation files).
    pub fn fit(
        settings: &Settings,
        stack: &FeatureStack,
        deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<(Wofe, WofeReport, Vec<(String, String)>)> {
        let grid = &stack.grid;
        let cell_km2 = cell_area_km2(grid)?;
        let unit = settings.model.unit_cell_km2;
        let counts = count_classes(stack, deposits)?;
        let (model, mut files) = Wofe::from_counts(settings, stack, &counts, cell_km2, true)?;
        let study_units = counts.study_cells as f64 * cell_km2 / unit;

        // Conditional-independence diagnostics.
        let conditions = model.unique_conditions(stack)?;
        let conditions: Vec<Condition> = conditions
            .into_iter()
            .map(|(key, cells)| {
                let (p, std) = model.cell_posterior(&key);
                Condition { area_units: cells as f64 * cell_km2 / unit, probability: p, std }
            })
            .collect();
        let overall = independence_tests(counts.deposits as f64, &conditions);
        let deposit_index: Vec<Vec<Option<usize>>> = counts
            .deposit_classes
            .iter()
            .map(|classes| {
                model
                    .layers
                    .iter()
                    .zip(classes)
                    .map(|(l, c)| match c {
                        ClassAt::Class(c) if Some(*c) != l.missing => l.lookup.get(c).copied(),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let mut pairs = Vec::new();
        for a in 0..model.layers.len() {
            for b in a + 1..model.layers.len() {
                let labels: Vec<(i64, i64)> =
                    deposit_index.iter().filter_map(|d| Some((d[a]? as i64, d[b]? as i64))).collect();
                if let Some(t) = pair_test(&model.layers[a].name, &model.layers[b].name, &labels) {
                    pairs.push(t);
                }
            }
        }
        if overall.independence_doubtful {
            tracing::warn!(
                "weights of evidence: conditional independence is doubtful (observed/predicted deposits {:.3}, Agterberg-Cheng p = {:.4}); the posterior is likely inflated",
                overall.ratio,
                overall.agterberg_cheng_p
            );
        }
        for p in pairs.iter().filter(|p| p.dependent) {
            tracing::warn!(
                "weights of evidence: layers `{}` and `{}` are not independent on the deposits (chi-square {:.2}, df {}, p = {:.4})",
                p.a,
                p.b,
                p.chi2,
                p.df,
                p.p
            );
        }
        let mut report = WofeReport {
            prior: PriorReport {
                probability: 1.0 / (1.0 + (-model.prior.logit).exp()),
                logit: model.prior.logit,
                deposits: counts.deposits,
                study_area_unit_cells: study_units,
            },
            unit_cell_km2: unit,
            layers: model
                .layers
                .iter()
                .map(|l| LayerReport {
                    name: l.name.clone(),
                    method: l.method.as_str().to_string(),
                    pattern: l.pattern.clone(),
                    table: format!("weights_{}.csv", l.name),
                    generalised_classes: l.weights.len(),
                    confident: !l.table.iter().any(|r| r.gen_class == NOT_CONFIDENT),
                })
                .collect(),
            conditional_independence: IndependenceReport { overall, pairwise: pairs },
            validation: None,
        };
        if let Some(t) = training {
            if let Some((cv, cv_files)) =
                Wofe::cross_validate(settings, stack, t, &model, counts.study_cells, cell_km2)?
            {
                report.validation = Some(cv);
                files.extend(cv_files);
            }
        }
        Ok((model, report, files))
    }

    /// Cross-validation (`[validation]`) with the machinery of the other models
    /// ([`cross_validate`]): the rows are a [`TrainingSet`] sampled as for `logistic`
    /// (deposit cells and random cells at least `labels.negative_buffer` from deposits),
    /// split into the same folds. Each fold's weights (and prior) are re-estimated from
    /// class counts of that fold's training rows only: a class's deposits are its
    /// training deposit rows, its area is its training negative rows times the number of
    /// study-area cells each negative row stands for (`(study cells - deposit rows) /
    /// negative rows`) plus its deposit rows. The fold model scores the held-out rows.
    ///
    /// The report is a [`CvReport`] with its `jackknife_std_ratio`: over all rows, the median
    /// of `sqrt(k - 1) * (standard deviation of the k fold posteriors) / posterior_std`
    /// of the full model. `sqrt(k - 1)` times the spread of delete-a-fold estimates is
    /// the jackknife standard error, so a ratio near 1 means the analytic posterior
    /// standard deviation (`posterior_std.tif`) agrees with the spread under spatial
    /// resampling; well above 1, deposits are spatially dependent and it understates it.
    fn cross_validate(
        settings: &Settings,
        stack: &FeatureStack,
        t: &TrainingSet,
        full: &Wofe,
        study_cells: u64,
        cell_km2: f64,
    ) -> Result<Option<(CvReport, Vec<(String, String)>)>> {
        let readers = stack.class_readers()?;
        let (n, cols, nl) = (t.y.len(), t.x.ncols(), readers.len());
        let all = rows_block(&t.x.iter().copied().collect::<Vec<f64>>(), cols, nl);
        let classes: Vec<Vec<ClassAt>> =
            (0..n).map(|i| readers.iter().enumerate().map(|(k, r)| r.class_at(&all, i, k)).collect()).collect();
        let positives = t.y.iter().filter(|&&v| v).count();
        let scale = (study_cells as f64 - positives as f64).max(0.0) / (n - positives).max(1) as f64;
        let fit = |rows: &[usize], _seed: u64| -> Result<Wofe> {
            // Per layer: class -> (negative rows, deposit rows).
            let mut layers: Vec<BTreeMap<i64, (u64, u64)>> = vec![BTreeMap::new(); nl];
            let (mut neg, mut pos) = (0u64, 0u64);
            for &i in rows {
                if t.y[i] {
                    pos += 1
                } else {
                    neg += 1
                }
                for (k, c) in classes[i].iter().enumerate() {
                    if let ClassAt::Class(c) = c {
                        let e = layers[k].entry(*c).or_insert((0, 0));
                        if t.y[i] {
                            e.1 += 1
                        } else {
                            e.0 += 1
                        }
                    }
                }
            }
            let area = |neg: u64, pos: u64| (neg as f64 * scale).round() as u64 + pos;
            let counts = Counts {
                layers: layers
                    .into_iter()
                    .map(|m| m.into_iter().map(|(c, (n, p))| (c, (area(n, p), p))).collect())
                    .collect(),
                study_cells: area(neg, pos),
                deposits: pos,
                deposit_classes: Vec::new(),
            };
            Ok(Wofe::from_counts(settings, stack, &counts, cell_km2, false)?.0)
        };
        let predict = |m: &Wofe, x: &[f64]| -> Vec<f64> {
            m.predict_block(&rows_block(x, cols, nl)).maps[0].iter().map(|&p| p as f64).collect()
        };
        let Some(cv) = cross_validate(&settings.validation, settings.seed, stack, t, fit, predict)? else {
            return Ok(None);
        };
        let mut report = cv.report;
        report.jackknife_std_ratio = Some(jackknife_std_ratio(full, &cv.fold_models, &all));
        Ok(Some((report, cv.files)))
    }

    /// Counts study-area cells per unique condition (tuple of generalised weights).
    fn unique_conditions(&self, stack: &FeatureStack) -> Result<BTreeMap<Vec<Option<usize>>, u64>> {
        let windows = stack.grid.windows();
        windows
            .par_iter()
            .progress_with(crate::progress::bar(windows.len() as u64, "conditions"))
            .map(|w| -> Result<BTreeMap<Vec<Option<usize>>, u64>> {
                let block = stack.compute(w)?;
                let mut m = BTreeMap::new();
                for i in 0..w.len() {
                    if block.in_study[i] {
                        let key: Vec<Option<usize>> =
                            self.layers.iter().enumerate().map(|(k, l)| l.weight_index(&block, i, k)).collect();
                        *m.entry(key).or_insert(0) += 1;
                    }
                }
                Ok(m)
            })
            .try_reduce(BTreeMap::new, |mut a, b| {
                for (k, v) in b {
                    *a.entry(k).or_insert(0) += v;
                }
                Ok(a)
            })
    }

    /// Posterior probability and total standard deviation of a cell with the given
    /// generalised weight per layer (`None`: missing data).
    fn cell_posterior(&self, key: &[Option<usize>]) -> (f64, f64) {
        let weights: Vec<Option<LayerWeight>> =
            self.layers.iter().zip(key).map(|(l, k)| k.map(|k| l.weights[k])).collect();
        let post = posterior(&self.prior, &weights);
        let md: f64 = self
            .layers
            .iter()
            .zip(key)
            .filter(|(_, k)| k.is_none())
            .map(|(l, _)| missing_data_variance(post.probability, &l.shares))
            .sum();
        (post.probability, post.total_std(md))
    }

    /// Posterior probability, its standard deviation and the confidence of each cell.
    pub fn predict_block<B: Cells + ?Sized>(&self, block: &B) -> BlockPrediction {
        let n = block.in_study().len();
        let mut maps = vec![vec![0f32; n]; 3];
        for i in 0..n {
            if !block.in_study()[i] {
                continue;
            }
            let key: Vec<Option<usize>> =
                self.layers.iter().enumerate().map(|(k, l)| l.weight_index(block, i, k)).collect();
            let (p, std) = self.cell_posterior(&key);
            maps[0][i] = p as f32;
            maps[1][i] = std as f32;
            maps[2][i] = (p / std) as f32;
        }
        BlockPrediction { maps, valid: block.in_study().to_vec() }
    }
}

impl Model for Wofe {
    /// Counts the study area; a training set only for cross-validation.
    fn trained_on_rows() -> bool {
        false
    }

    fn check_layer(ev: &EvidenceSettings) -> Result<()> {
        check_generalisation(ev, None)
    }

    /// Layers whose values are measurements, not classes: weights of evidence needs them
    /// classified (a `raster` may hold classes; it is checked when the model runs).
    fn layer_problem(ev: &EvidenceSettings) -> Option<Error> {
        let computed = !matches!(ev.kind, EvidenceKind::Raster | EvidenceKind::Categorical | EvidenceKind::Rasterize);
        (computed && ev.transform.as_ref().and_then(|t| t.classify.as_ref()).is_none()).then(|| {
            Error::key(
                format!("evidence `{}`", ev.name),
                format!(
                    "model.kind = \"wofe\" needs classes and this `{}` layer is continuous: add e.g. \
                     `classify = {{ method = \"quantile\", classes = 10 }}`",
                    ev.kind.as_str()
                ),
            )
        })
    }

    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<Wofe>> {
        let (model, report, files) = Wofe::fit(settings, stack, deposits, training)?;
        Ok(Built { model, report: FitReport::Wofe(report), files })
    }

    /// Not fitted on sampled rows: no prior correction.
    fn sample_share(_settings: &Settings, _t: &TrainingSet) -> Option<f64> {
        None
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Wofe
    }

    fn outputs(&self, _probability: &'static str) -> Vec<MapOutput> {
        vec![
            MapOutput::prospectivity("posterior probability of a deposit (weights of evidence)"),
            MapOutput { file: "posterior_std.tif", description: "standard deviation of the posterior probability" },
            MapOutput { file: "confidence.tif", description: "posterior probability / its standard deviation" },
        ]
    }

    fn map_values(&self) -> Option<&'static str> {
        Some("posterior probability per cell (weights of evidence over the whole study area)")
    }

    fn window_maps(&self, f: &WindowFeatures) -> BlockPrediction {
        self.predict_block(f)
    }

    fn block_maps(&self, block: &FeatureBlock) -> BlockPrediction {
        self.predict_block(block)
    }

    /// The prior and each layer's generalisation, compactly.
    fn describe(&self, _columns: &[String]) -> serde_json::Value {
        serde_json::json!({
            "prior_logit": self.prior.logit,
            "layers": self.layers.iter().map(|l| serde_json::json!({
                "name": l.name,
                "method": l.method.as_str(),
                "weights": l.weights.iter().map(|w| [w.weight, w.w_std]).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Median over the cells of `block` of `sqrt(k - 1)` times the standard deviation of the
/// `k` fold models' posteriors over the full model's posterior standard deviation (null
/// with fewer than two fold models).
fn jackknife_std_ratio(full: &Wofe, folds: &[Wofe], block: &FeatureBlock) -> Option<f64> {
    if folds.len() < 2 {
        return None;
    }
    let k = folds.len() as f64;
    let f = full.predict_block(block);
    let preds: Vec<Vec<f32>> = folds.iter().map(|m| m.predict_block(block).maps.swap_remove(0)).collect();
    let mut ratios: Vec<f64> = (0..block.valid.len())
        .filter(|&i| f.maps[1][i] > 0.0)
        .map(|i| {
            let mean = preds.iter().map(|p| p[i] as f64).sum::<f64>() / k;
            let sd = (preds.iter().map(|p| (p[i] as f64 - mean).powi(2)).sum::<f64>() / k).sqrt();
            (k - 1.0).sqrt() * sd / f.maps[1][i] as f64
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    Some(ratios[ratios.len() / 2])
}

/// Area of a grid cell in km²; the grid must be in a projected CRS in metres.
fn cell_area_km2(grid: &crate::grid::Grid) -> Result<f64> {
    if !grid.metres_per_unit.is_some_and(|u| (u - 1.0).abs() <= 1e-12) {
        return Err(Error::key(
            "grid",
            format!(
                "weights of evidence measures areas in km²: the grid CRS {} must be projected in metres",
                grid.crs_name
            ),
        ));
    }
    Ok(grid.cell_area() / 1e6)
}

/// A categorical table of the binary pattern `classes` (class 2) against the rest (class 1).
fn binary_table(counts: &[ClassCount], classes: &[i64], params: &WeightsParams) -> Result<Vec<WeightsRow>> {
    let mut two = [ClassCount { class: 1, cells: 0, deposits: 0 }, ClassCount { class: 2, cells: 0, deposits: 0 }];
    let mut missing = None;
    for c in counts {
        if Some(c.class) == params.missing_data {
            missing = Some(*c);
            continue;
        }
        let k = usize::from(classes.contains(&c.class));
        two[k].cells += c.cells;
        two[k].deposits += c.deposits;
    }
    let mut all = two.to_vec();
    all.extend(missing);
    Ok(weights_table(&all, params)?)
}

/// Builds the class lookup of a generalised table.
fn generalised_layer(
    name: &str,
    reader: ClassReader,
    method: Method,
    missing: Option<i64>,
    pattern: Option<Vec<i64>>,
    table: Vec<WeightsRow>,
    all_classes: &[i64],
) -> WofeLayer {
    let mut weights: Vec<LayerWeight> = Vec::new();
    let mut cells: Vec<f64> = Vec::new();
    let mut by_class: BTreeMap<i64, usize> = BTreeMap::new();
    let index_of = |w: LayerWeight, weights: &mut Vec<LayerWeight>, cells: &mut Vec<f64>| {
        weights.iter().position(|x| x.weight == w.weight && x.w_std == w.w_std).unwrap_or_else(|| {
            weights.push(w);
            cells.push(0.0);
            weights.len() - 1
        })
    };
    for r in table.iter().filter(|r| Some(r.class) != missing) {
        let idx = index_of(LayerWeight { weight: r.weight, w_std: r.w_std }, &mut weights, &mut cells);
        cells[idx] += r.class_area;
        by_class.insert(r.class, idx);
    }
    // A binary table's rows are the pattern classes 1 and 2: map the layer's own classes.
    let lookup = match &pattern {
        Some(classes) => {
            let (inside, outside) = (by_class.get(&2).copied(), by_class.get(&1).copied());
            all_classes
                .iter()
                .filter(|&&c| Some(c) != missing)
                .filter_map(|&c| {
                    let idx = if classes.contains(&c) { inside } else { outside };
                    idx.map(|i| (c, i))
                })
                .collect::<BTreeMap<_, _>>()
        }
        None => by_class,
    };
    let total: f64 = cells.iter().sum();
    let shares =
        weights.iter().zip(&cells).map(|(w, c)| ClassShare { weight: w.weight, area_fraction: c / total }).collect();
    WofeLayer { name: name.to_string(), reader, method, missing, pattern, lookup, weights, shares, table }
}
