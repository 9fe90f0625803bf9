//! Models: fitted on the evidence and the deposits, they turn a window of features into
//! one or more maps (the probability of a deposit first). A [`FittedModel`] is plain
//! data, `Send + Sync`, so windows are predicted on every core.
//!
//! - [`logistic`]: logistic regression on a sampled [`TrainingSet`];
//! - [`naive_bayes`]: Gaussian naive Bayes on the same rows;
//! - [`wofe`](mod@wofe): weights of evidence from class counts over the whole study area;
//! - [`fuzzy`]: fuzzy overlay of memberships given in the config (no training);
//! - [`trees`]: random forest ([`forest`]) and gradient boosting ([`boosting`]) with
//!   cross-validation, permutation importance and an uncertainty map.

pub mod boosting;
pub mod calibration;
pub mod forest;
pub mod fuzzy;
pub mod logistic;
pub mod naive_bayes;
pub mod percentile;
pub mod trees;
pub mod wofe;

use std::path::PathBuf;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::config::{ModelKind, Settings, ValidationKind};
use crate::error::{Error, Result};
use crate::features::{FeatureBlock, FeatureStack, WindowFeatures};
use crate::labels::Deposits;
use crate::training::{TrainingSet, TrainingSummary};
use crate::validation::{cross_validate, CrossValidation, CvReport};

/// A fitted model with the feature columns it expects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedModel {
    /// The feature columns, in order.
    pub columns: Vec<String>,
    /// The model itself.
    pub kind: Fitted,
    /// Prior correction of the probability for the negative sampling (logistic and tree
    /// models; `None` for wofe and fuzzy, whose values are not fitted on sampled rows).
    #[serde(default)]
    pub prior_correction: Option<calibration::PriorCorrection>,
}

/// The fitted model families.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Fitted {
    /// Logistic regression.
    Logistic(logistic::Logistic),
    /// Weights of evidence.
    Wofe(wofe::Wofe),
    /// Fuzzy overlay.
    Fuzzy(fuzzy::Fuzzy),
    /// Random forest or gradient boosting.
    Trees(trees::TreeModel),
    /// Gaussian naive Bayes.
    NaiveBayes(naive_bayes::NaiveBayes),
}

/// One map a model writes.
#[derive(Debug, Clone)]
pub struct MapOutput {
    /// File name, e.g. `prospectivity.tif`.
    pub file: &'static str,
    /// Band description.
    pub description: &'static str,
}

/// The maps of one window: values per output map, one validity mask for all.
#[derive(Debug, Clone)]
pub struct BlockPrediction {
    /// `maps[k][i]`: output `k` at cell `i` (meaningless where `valid[i]` is false).
    pub maps: Vec<Vec<f32>>,
    /// Per cell: the model gave values.
    pub valid: Vec<bool>,
}

/// A fitted model and what fitting found out.
#[derive(Debug)]
pub struct Fit {
    /// The model.
    pub model: FittedModel,
    /// What the fit reports into `metrics.json` under `fit` (documented per model).
    pub report: FitReport,
    /// Extra output files (name, text), e.g. weights tables.
    pub files: Vec<(String, String)>,
}

/// What fitting reports into `metrics.json` under `fit`, per model kind (see
/// docs/outputs.md). Serialized without a tag: each variant's fields are the keys; read
/// back (the tiled run's `mosaic` reads the fit stage's) by the first variant whose
/// required keys are present, so the variants with required keys come first and `Fuzzy`
/// (no required key) last.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FitReport {
    /// `lode predict`: the saved model used.
    Saved {
        /// Path of the `model.json`.
        saved_model: PathBuf,
    },
    /// `logistic`, `random_forest`, `gradient_boosting`: the training rows and the
    /// cross-validation (`null` without `[validation]`).
    Trained {
        /// What the sampling of the training set did.
        training: TrainingSummary,
        /// Cross-validation.
        validation: Option<CvReport>,
        /// `gradient_boosting`: whether early stopping ran, and why not when it was asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        early_stopping: Option<trees::EarlyStoppingUse>,
    },
    /// `wofe`: prior, layers, conditional independence and cross-validation.
    Wofe(wofe::WofeReport),
    /// `fuzzy`: only the cross-validation (no key without `[validation]`).
    Fuzzy {
        /// Cross-validation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validation: Option<CvReport>,
    },
}

impl FitReport {
    /// The cross-validation report, if the model was cross-validated.
    pub fn validation(&self) -> Option<&CvReport> {
        match self {
            FitReport::Trained { validation, .. } | FitReport::Fuzzy { validation } => validation.as_ref(),
            FitReport::Wofe(w) => w.validation.as_ref(),
            FitReport::Saved { .. } => None,
        }
    }

    /// What the training-set sampling did (models fitted on a sampled training set).
    pub fn training(&self) -> Option<&TrainingSummary> {
        match self {
            FitReport::Trained { training, .. } => Some(training),
            _ => None,
        }
    }
}

/// The checks of the model's per-layer keys that need no evidence prepared: every fuzzy
/// membership (`model.kind = "fuzzy"`), the weights-of-evidence generalisation keys
/// (`wofe`). `lode validate` and `lode run` call it before any heavy work.
pub fn check(settings: &Settings) -> Result<()> {
    for ev in &settings.evidence {
        match settings.model.kind {
            ModelKind::Fuzzy => {
                fuzzy::membership(ev, None, None)?;
            }
            ModelKind::Wofe => wofe::check_generalisation(ev, None)?,
            _ => {}
        }
    }
    Ok(())
}

/// Whether fitting the model of `settings` needs a sampled [`TrainingSet`]: the models
/// trained on rows, and every model when it is cross-validated.
pub fn needs_training_set(settings: &Settings) -> bool {
    match settings.model.kind {
        ModelKind::Logistic | ModelKind::RandomForest | ModelKind::GradientBoosting | ModelKind::NaiveBayes => true,
        ModelKind::Wofe | ModelKind::Fuzzy => settings.validation.kind != ValidationKind::None,
    }
}

/// Fits the model `settings` asks for. `training`: the sampled training set, present
/// when [`needs_training_set`].
pub fn fit(
    settings: &Settings,
    stack: &FeatureStack,
    deposits: &Deposits,
    training: Option<&TrainingSet>,
) -> Result<Fit> {
    let columns = stack.columns.clone();
    let training_set = || {
        training.ok_or_else(|| Error::Training("this model is fitted on a sampled training set; none was given".into()))
    };
    match settings.model.kind {
        ModelKind::Logistic => {
            let training = training_set()?;
            let m = logistic::Logistic::fit(&settings.model, training)?;
            // Cross-validation (`[validation]`), as for the tree models: fold models are
            // fitted on the training rows of each fold and scored on its held-out rows.
            let cols = training.x.ncols();
            let cv = cross_validate(
                &settings.validation,
                settings.seed,
                stack,
                training,
                |rows, _seed| logistic::Logistic::fit(&settings.model, &training.subset(rows)),
                |fold: &logistic::Logistic, x| {
                    let n = x.len() / cols.max(1);
                    let view = ndarray::ArrayView2::from_shape((n, cols), x).expect("row-major rows");
                    fold.predict_rows(view, &(0..n).collect::<Vec<_>>())
                },
            )?;
            let (validation, fold_models, files) = match cv {
                Some(cv) => (Some(cv.report), cv.fold_models, cv.files),
                None => (None, Vec::new(), Vec::new()),
            };
            let m = m.with_folds(fold_models);
            let report = FitReport::Trained { training: training.summary.clone(), validation, early_stopping: None };
            let prior_correction = correction(settings, training)?;
            Ok(Fit { model: FittedModel { columns, kind: Fitted::Logistic(m), prior_correction }, report, files })
        }
        ModelKind::NaiveBayes => naive_bayes::fit(settings, stack, training_set()?),
        ModelKind::Wofe => {
            let (m, report, files) = wofe::Wofe::fit(settings, stack, deposits, training)?;
            Ok(Fit {
                model: FittedModel { columns, kind: Fitted::Wofe(m), prior_correction: None },
                report: FitReport::Wofe(report),
                files,
            })
        }
        ModelKind::Fuzzy => {
            let m = fuzzy::Fuzzy::new(settings, stack)?;
            // Cross-validation scores the fixed memberships on the held-out rows.
            let (validation, files) = match training {
                Some(t) => split(m.cross_validate(settings, stack, t)?),
                None => (None, Vec::new()),
            };
            Ok(Fit {
                model: FittedModel { columns, kind: Fitted::Fuzzy(m), prior_correction: None },
                report: FitReport::Fuzzy { validation },
                files,
            })
        }
        ModelKind::RandomForest | ModelKind::GradientBoosting => {
            let training = training_set()?;
            let (m, cv) = trees::fit(settings, stack, training)?;
            let (validation, files) = split(cv);
            let early_stopping = (settings.model.kind == ModelKind::GradientBoosting).then(|| {
                let es = trees::early_stopping(&settings.model, &training.y);
                if let Some(note) = &es.note {
                    tracing::warn!("{note}");
                }
                es
            });
            let report = FitReport::Trained { training: training.summary.clone(), validation, early_stopping };
            let prior_correction = correction(settings, training)?;
            Ok(Fit { model: FittedModel { columns, kind: Fitted::Trees(m), prior_correction }, report, files })
        }
    }
}

/// The report and files of a cross-validation (none without one).
fn split<M>(cv: Option<CrossValidation<M>>) -> (Option<CvReport>, Vec<(String, String)>) {
    match cv {
        Some(cv) => (Some(cv.report), cv.files),
        None => (None, Vec::new()),
    }
}

/// The prior correction of a model fitted on `training` (see [`calibration`]).
fn correction(settings: &Settings, training: &TrainingSet) -> Result<Option<calibration::PriorCorrection>> {
    let cells = calibration::study_area_cells(&settings.grid)?;
    Ok(calibration::PriorCorrection::for_training(settings, training, cells))
}

impl FittedModel {
    /// The maps this model writes; the first is always `prospectivity.tif`.
    pub fn outputs(&self) -> Vec<MapOutput> {
        let prospectivity = |d| MapOutput { file: "prospectivity.tif", description: d };
        let probability = if self.prior_correction.is_some() {
            "probability of a deposit per cell (prior-corrected for the negative sampling)"
        } else {
            "relative prospectivity score (not corrected for the negative sampling)"
        };
        match &self.kind {
            Fitted::Logistic(m) => {
                let mut v = vec![prospectivity(probability)];
                if m.has_uncertainty() {
                    v.push(MapOutput {
                        file: "uncertainty.tif",
                        description: "standard deviation of the probability over the cross-validation fold models",
                    });
                }
                v
            }
            Fitted::Wofe(_) => vec![
                prospectivity("posterior probability of a deposit (weights of evidence)"),
                MapOutput { file: "posterior_std.tif", description: "standard deviation of the posterior probability" },
                MapOutput { file: "confidence.tif", description: "posterior probability / its standard deviation" },
            ],
            Fitted::Fuzzy(_) => vec![prospectivity("fuzzy favourability")],
            Fitted::NaiveBayes(_) => vec![prospectivity(probability)],
            Fitted::Trees(m) => {
                let mut v = vec![prospectivity(probability)];
                if m.has_uncertainty() {
                    v.push(MapOutput {
                        file: "uncertainty.tif",
                        description: "standard deviation of the probability over the ensemble",
                    });
                }
                v
            }
        }
    }

    /// Predicts the maps of one window of features (prior-corrected, see [`calibration`]).
    pub fn predict_block(&self, block: &FeatureBlock) -> BlockPrediction {
        let p = match &self.kind {
            Fitted::Wofe(m) => m.predict_block(block),
            Fitted::Fuzzy(m) => m.predict_block(block),
            // The models that read rows: every column as one dense layer.
            Fitted::Logistic(_) | Fitted::Trees(_) | Fitted::NaiveBayes(_) => self.predict_sampled(&WindowFeatures {
                window: block.window,
                in_study: block.in_study.clone(),
                valid: block.valid.clone(),
                layer_valid: block.layer_valid.clone(),
                layers: vec![crate::features::LayerValues::Dense(block.values.clone())],
                spans: std::iter::once(0..block.values.ncols()).collect(),
            }),
        };
        self.corrected(p)
    }

    /// [`FittedModel::predict_block`] of a window's features as
    /// [`FeatureStack::compute_features`] gives them (one-hot layers by their hot column).
    pub fn predict_features(&self, block: &WindowFeatures) -> BlockPrediction {
        self.corrected(self.predict_sampled(block))
    }

    /// `p` with the prior correction applied (see [`calibration`]).
    fn corrected(&self, mut p: BlockPrediction) -> BlockPrediction {
        if let Some(pc) = &self.prior_correction {
            for i in (0..p.valid.len()).filter(|&i| p.valid[i]) {
                let raw = p.maps[0][i] as f64;
                p.maps[0][i] = pc.apply(raw) as f32;
                if let Some(spread) = p.maps.get_mut(1) {
                    spread[i] = (spread[i] as f64 * pc.slope(raw)) as f32;
                }
            }
        }
        p
    }

    /// The maps as fitted on the sampled rows, before the prior correction.
    fn predict_sampled(&self, block: &WindowFeatures) -> BlockPrediction {
        match &self.kind {
            Fitted::Logistic(m) => {
                // Buffers from this worker's spares ([`crate::scratch`]), given back here or,
                // for the maps, by the writer.
                use crate::scratch::{filled, give, take};
                let mut rows = take(block.valid.len());
                rows.extend((0..block.valid.len()).filter(|&i| block.valid[i]));
                let mut values = filled(block.valid.len(), 0f32);
                let p = m.predict_features(block, &rows);
                for (&i, p) in rows.iter().zip(&p) {
                    values[i] = *p as f32;
                }
                give(p);
                let mut maps = vec![values];
                if m.has_uncertainty() {
                    let mut u = filled(block.valid.len(), 0f32);
                    let s = m.uncertainty_features(block, &rows);
                    for (&i, s) in rows.iter().zip(&s) {
                        u[i] = *s as f32;
                    }
                    give(s);
                    maps.push(u);
                }
                give(rows);
                let mut valid = take(block.valid.len());
                valid.extend_from_slice(&block.valid);
                BlockPrediction { maps, valid }
            }
            Fitted::Wofe(m) => m.predict_block(block),
            Fitted::Fuzzy(m) => m.predict_block(block),
            Fitted::NaiveBayes(m) => m.predict_features(block),
            Fitted::Trees(m) => {
                let rows: Vec<usize> = (0..block.valid.len()).filter(|&i| block.valid[i]).collect();
                let (p, sd) = m.predict_rows(&forest::Rows::Window { features: block, cells: &rows });
                let mut maps = vec![vec![0f32; block.valid.len()]];
                for (&i, v) in rows.iter().zip(&p) {
                    maps[0][i] = *v as f32;
                }
                if m.has_uncertainty() {
                    let mut u = vec![0f32; block.valid.len()];
                    for (&i, v) in rows.iter().zip(sd.iter().flatten()) {
                        u[i] = *v as f32;
                    }
                    maps.push(u);
                }
                BlockPrediction { maps, valid: block.valid.clone() }
            }
        }
    }

    /// A JSON description for metrics and output metadata.
    pub fn describe(&self) -> serde_json::Value {
        let mut d = self.describe_kind();
        if let Some(obj) = d.as_object_mut() {
            obj.insert("map_values".into(), self.map_values().into());
            obj.insert("prior_correction".into(), serde_json::to_value(self.prior_correction).unwrap_or_default());
        }
        d
    }

    /// What the values of `prospectivity.tif` are (`metrics.json` `model.map_values`).
    pub fn map_values(&self) -> &'static str {
        match (&self.kind, &self.prior_correction) {
            (Fitted::Wofe(_), _) => "posterior probability per cell (weights of evidence over the whole study area)",
            (Fitted::Fuzzy(_), _) => "relative favourability in [0, 1], not a probability",
            (_, Some(_)) => {
                "probability of a deposit per cell, prior-corrected for the negative sampling (King & Zeng 2001)"
            }
            (_, None) => {
                "relative score: the probability on the sampled training rows, not corrected to the study area"
            }
        }
    }

    fn describe_kind(&self) -> serde_json::Value {
        match &self.kind {
            Fitted::Logistic(m) => m.describe(&self.columns),
            Fitted::Wofe(m) => m.describe(),
            Fitted::Fuzzy(m) => m.describe(),
            Fitted::NaiveBayes(m) => m.describe(&self.columns),
            Fitted::Trees(m) => {
                let (kind, n) = match m.members.first() {
                    Some(trees::Member::Forest(f)) => ("random_forest", f.trees.len()),
                    _ => ("gradient_boosting", m.members.len()),
                };
                serde_json::json!({ "kind": kind, "members": n, "fold_models": m.folds.len() })
            }
        }
    }
}

/// Per-column centring and scaling to unit variance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 for a constant column).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Learns means and standard deviations of the columns of `x`.
    pub fn fit(x: ArrayView2<f64>) -> Standardizer {
        let mean = x.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
        let std = x.std_axis(Axis(0), 0.0).iter().map(|&s| if s > 0.0 && s.is_finite() { s } else { 1.0 }).collect();
        Standardizer { mean, std }
    }

    /// `(x - mean) / std`, column by column.
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut z = x.to_owned();
        for (j, mut col) in z.axis_iter_mut(Axis(1)).enumerate() {
            let (m, s) = (self.mean[j], self.std[j]);
            col.mapv_inplace(|v| (v - m) / s);
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FittedModel>();
    }

    /// A window of 3000 cells: two continuous columns, a one-hot layer of 4 classes (by
    /// its hot column; some cells with a class it does not encode, some without data),
    /// one more continuous column; and the training rows of the same layout.
    fn window_with_a_one_hot_layer() -> (crate::features::WindowFeatures, TrainingSet) {
        use crate::features::{LayerValues, WindowFeatures, NO_COLUMN};
        let n = 3000;
        let u = |i: usize, k: u64| (crate::training::derive_seed(k, i as u64) >> 11) as f64 / (1u64 << 53) as f64;
        let hot: Vec<u32> = (0..n).map(|i| if i % 17 == 0 { NO_COLUMN } else { (u(i, 3) * 4.0) as u32 }).collect();
        let layer_ok: Vec<bool> = (0..n).map(|i| i % 29 != 0).collect();
        let hot: Vec<u32> = hot.iter().zip(&layer_ok).map(|(&h, &ok)| if ok { h } else { NO_COLUMN }).collect();
        let a = Array2::from_shape_fn((n, 2), |(i, j)| u(i, 1 + j as u64) * 10.0 - 5.0);
        let b = Array2::from_shape_fn((n, 1), |(i, _)| (u(i, 4) * 20.0).round());
        let mut layer_valid = Array2::from_elem((n, 3), true);
        for i in 0..n {
            layer_valid[[i, 1]] = layer_ok[i];
        }
        let f = WindowFeatures {
            window: crate::grid::Window { col: 0, row: 0, cols: n, rows: 1 },
            in_study: vec![true; n],
            valid: layer_ok.clone(),
            layer_valid,
            layers: vec![LayerValues::Dense(a), LayerValues::Hot(hot), LayerValues::Dense(b)],
            spans: vec![0..2, 2..6, 6..7],
        };
        let dense = f.clone().into_block();
        let cells: Vec<usize> = (0..n).filter(|&i| layer_ok[i]).collect();
        let x = Array2::from_shape_vec((cells.len(), 7), f.rows(&cells)).unwrap();
        assert_eq!(x.row(0).to_vec(), dense.values.row(cells[0]).to_vec());
        let y: Vec<bool> =
            cells.iter().map(|&i| dense.values[[i, 0]] + 3.0 * dense.values[[i, 3]] + u(i, 9) * 4.0 > 3.0).collect();
        let columns = (0..7).map(|j| format!("c{j}")).collect();
        (f, TrainingSet { columns, x, y, cells: Vec::new(), summary: Default::default() })
    }

    #[test]
    fn window_features_predict_the_same_bits_as_the_dense_block() {
        use crate::model::forest::{Binner, Forest, ForestParams};
        let (f, t) = window_with_a_one_hot_layer();
        let block = f.clone().into_block();
        let (rows, cols) = (t.y.len(), 7);
        let x: Vec<f64> = t.x.iter().copied().collect();
        let binner = Binner::fit(&x, rows, cols, 255);
        let bins = binner.transform(&x, rows, cols);
        let fp = ForestParams { n_trees: 30, max_depth: None, min_samples_leaf: 1, max_features: None, max_bins: 255 };
        let forest = Forest::fit(&binner, &bins, &t.y, &vec![1.0; rows], fp, 4);
        // The forest splits on the one-hot columns (or the test shows nothing about them).
        assert!(forest.trees.iter().flat_map(|t| &t.nodes).any(|n| (2..6).contains(&n.feature)));
        let bp = boosting::BoostingParams {
            iterations: 20,
            learning_rate: 0.3,
            max_depth: None,
            min_leaf_weight: 1e-3,
            max_bins: 255,
            max_leaves: 31,
            min_samples_leaf: 5,
            l2_regularization: 0.0,
            n_iter_no_change: None,
            validation_fraction: 0.1,
        };
        let booster = boosting::Boosting::fit(binner.clone(), &x, cols, &t.y, &vec![1.0; rows], bp, 4).unwrap();
        let logistic = logistic::Logistic::fit(&crate::config::RawModel::default(), &t).unwrap();
        let columns: Vec<String> = t.columns.clone();
        let model = |kind| FittedModel { columns: columns.clone(), kind, prior_correction: None };
        let models = [
            model(Fitted::Trees(trees::TreeModel {
                members: vec![trees::Member::Forest(forest.clone())],
                folds: vec![],
            })),
            model(Fitted::Trees(trees::TreeModel {
                members: vec![trees::Member::Boosting(booster.clone())],
                folds: vec![],
            })),
            model(Fitted::Logistic(logistic)),
        ];
        let cells: Vec<usize> = (0..block.valid.len()).filter(|&i| block.valid[i]).collect();
        let dense_rows: Vec<f64> = cells.iter().flat_map(|&i| block.values.row(i).to_vec()).collect();
        for m in &models {
            let compact = m.predict_features(&f);
            let dense = m.predict_block(&block);
            assert_eq!(compact.valid, dense.valid);
            assert_eq!(compact.maps.len(), dense.maps.len());
            for (a, b) in compact.maps.iter().zip(&dense.maps) {
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(a), bits(b), "{}", m.describe());
            }
        }
        // And the compiled trees on the window equal walking the trees on the raw values.
        let window = forest::Rows::Window { features: &f, cells: &cells };
        assert!(forest.predict_rows(&window) == forest.predict_with_spread_raw(&dense_rows, cols));
        assert!(booster.predict_rows(&window) == booster.predict_raw(&dense_rows, cols));
    }

    #[test]
    fn standardizer_centres_and_scales_and_survives_constant_columns() {
        let x = ndarray::array![[1.0, 5.0], [3.0, 5.0]];
        let s = Standardizer::fit(x.view());
        assert_eq!(s.mean, vec![2.0, 5.0]);
        assert_eq!(s.std, vec![1.0, 1.0]);
        assert_eq!(s.transform(x.view()), ndarray::array![[-1.0, 0.0], [1.0, 0.0]]);
    }
}
