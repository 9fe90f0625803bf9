//! Models: fitted on the evidence and the deposits, they turn a window of features into
//! one or more maps (the probability of a deposit first). A [`FittedModel`] is plain
//! data, `Send + Sync`, so windows are predicted on every core.
//!
//! Each model kind is one file here that implements [`Model`], and one line of
//! [`model_kinds!`](crate::model_kinds), the list that names every kind once: the kind's
//! module, the config's [`ModelKind`] (with its `model.kind` name), the saved [`Fitted`]
//! family and the dispatch between them are expanded from it. `random_forest` and
//! `gradient_boosting` are two kinds of one family ([`trees`], on the forest of
//! [`forest`] and the booster of [`boosting`]).

pub mod boosting;
pub mod calibration;
pub mod forest;
pub mod percentile;

use std::path::PathBuf;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

pub use crate::config::ModelKind;
use crate::config::{EvidenceSettings, Settings, ValidationKind};
use crate::error::{Error, Result};
use crate::features::{FeatureBlock, FeatureStack, WindowFeatures};
use crate::labels::Deposits;
use crate::training::{TrainingSet, TrainingSummary};
use crate::validation::{CrossValidation, CvReport};

/// The model kinds, listed once: `model_kinds!(callback)` hands the list to the macro
/// `callback`, which [`crate::config`] (the [`ModelKind`] enum, with its `model.kind`
/// names) and this module (each kind's module, the [`Fitted`] families and the dispatch
/// between them) expand. Each entry is a family: its fitted type (a [`Model`], in the
/// module named on the same line, saved in `model.json` under the family's name) and the
/// config kinds it fits, each with its `model.kind` name and doc line. A new kind is its
/// file here and one line of this list.
///
/// (A list rather than a type, so that the config, below the models, names the kinds
/// without depending on them.)
#[doc(hidden)]
#[macro_export]
macro_rules! model_kinds {
    ($callback:ident) => {
        $callback! {
            Logistic(logistic::Logistic) {
                #[default] Logistic = "logistic": "L2-regularised logistic regression on standardised features.",
            },
            Wofe(wofe::Wofe) { Wofe = "wofe": "Weights of evidence (ArcSDM / Geoscience Australia)." },
            Fuzzy(fuzzy::Fuzzy) { Fuzzy = "fuzzy": "Fuzzy overlay of per-layer memberships (knowledge-driven, no training)." },
            Trees(trees::TreeModel) {
                RandomForest = "random_forest": "Histogram-based random forest (lode's own).",
                GradientBoosting = "gradient_boosting": "Gradient-boosted trees (histogram-based, leaf-wise).",
            },
            NaiveBayes(naive_bayes::NaiveBayes) {
                NaiveBayes = "naive_bayes": "Gaussian naive Bayes on the training rows (scikit-learn's `GaussianNB`).",
            },
            Lda(lda::Lda) { Lda = "lda": "Linear discriminant analysis, pooled covariance (scikit-learn's `lsqr`)." },
        }
    };
}

/// The model side of [`model_kinds!`]: the kinds' modules, the [`Fitted`] families and
/// the dispatch from a [`ModelKind`] to its family's [`Model`].
macro_rules! registry {
    ($(
        $family:ident($module:ident::$model:ident) {
            $( $(#[$attr:meta])* $kind:ident = $name:literal: $doc:literal ),+ $(,)?
        }
    ),+ $(,)?) => {
        $( pub mod $module; )+

        impl ModelKind {
            /// [`Model::trained_on_rows`] of the kind's family.
            fn trained_on_rows(self) -> bool {
                match self {
                    $( $(ModelKind::$kind)|+ => <$module::$model as Model>::trained_on_rows(), )+
                }
            }

            /// [`Model::check_layer`] of the kind's family.
            fn check_layer(self, ev: &EvidenceSettings) -> Result<()> {
                match self {
                    $( $(ModelKind::$kind)|+ => <$module::$model as Model>::check_layer(ev), )+
                }
            }

            /// [`Model::layer_problem`] of the kind's family.
            fn layer_problem(self, ev: &EvidenceSettings) -> Option<Error> {
                match self {
                    $( $(ModelKind::$kind)|+ => <$module::$model as Model>::layer_problem(ev), )+
                }
            }

            /// [`Model::build`] of the kind's family, as a [`Fit`].
            fn fit(
                self,
                settings: &Settings,
                stack: &FeatureStack,
                deposits: &Deposits,
                training: Option<&TrainingSet>,
            ) -> Result<Fit> {
                match self {
                    $( $(ModelKind::$kind)|+ => fit_as(Fitted::$family, settings, stack, deposits, training), )+
                }
            }
        }

        /// The fitted model families, as `model.json` saves them (externally tagged by
        /// the family's name).
        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub enum Fitted {
            $(
                #[doc = concat!("A fitted [`", stringify!($module), "::", stringify!($model), "`].")]
                $family($module::$model),
            )+
        }

        impl Fitted {
            /// The fitted model, whatever its family.
            pub fn model(&self) -> &dyn Model {
                match self {
                    $( Fitted::$family(m) => m, )+
                }
            }
        }
    };
}

crate::model_kinds!(registry);

/// One model family: what its kinds check in the config, how they fit, and what the
/// fitted model predicts and reports. Implemented by the fitted type of each file under
/// `src/model/`, registered once (see the [module](self) doc).
pub trait Model: std::fmt::Debug + Send + Sync {
    /// Whether fitting needs a sampled [`TrainingSet`] without `[validation]` too (the
    /// models fitted on rows). Every model gets one when it is cross-validated.
    fn trained_on_rows() -> bool
    where
        Self: Sized,
    {
        true
    }

    /// The checks of layer `ev`'s keys for this model that need no evidence prepared;
    /// `lode validate` and `lode run` call them (through [`check`]) before any heavy work.
    fn check_layer(_ev: &EvidenceSettings) -> Result<()>
    where
        Self: Sized,
    {
        Ok(())
    }

    /// What `lode validate`'s cheap data checks ([`crate::checks`]) find wrong with
    /// layer `ev` for this model, on a config that loads.
    fn layer_problem(_ev: &EvidenceSettings) -> Option<Error>
    where
        Self: Sized,
    {
        None
    }

    /// Fits the model `settings.model` asks for. `training`: the sampled training set,
    /// present when [`needs_training_set`].
    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<Self>>
    where
        Self: Sized;

    /// The (weighted) deposit share of the rows the model is fitted on, from which the
    /// prior correction is computed ([`calibration`]); `None` for a model whose values
    /// are not fitted on sampled rows (no correction). Default: the deposit share of `t`.
    fn sample_share(_settings: &Settings, t: &TrainingSet) -> Option<f64>
    where
        Self: Sized,
    {
        let (pos, neg) = (t.summary.positives as f64, t.summary.negatives as f64);
        Some(pos / (pos + neg))
    }

    /// The kind of this fitted model (a saved model's own, whatever the config says).
    fn kind(&self) -> ModelKind;

    /// The maps it writes, `prospectivity.tif` first (described `probability` when its
    /// values are the probability of the sampled rows, prior-corrected or not).
    fn outputs(&self, probability: &'static str) -> Vec<MapOutput>;

    /// What the values of `prospectivity.tif` are when they are not the probability of
    /// the sampled rows (`metrics.json` `model.map_values`).
    fn map_values(&self) -> Option<&'static str> {
        None
    }

    /// The maps of a window's features as [`FeatureStack::compute_features`] gives them
    /// (one-hot layers by their hot column), before the prior correction.
    fn window_maps(&self, f: &WindowFeatures) -> BlockPrediction;

    /// The maps of a dense window of features, before the prior correction. Default: the
    /// block as one dense layer, through [`Model::window_maps`].
    fn block_maps(&self, block: &FeatureBlock) -> BlockPrediction {
        self.window_maps(&WindowFeatures {
            window: block.window,
            in_study: block.in_study.clone(),
            valid: block.valid.clone(),
            layer_valid: block.layer_valid.clone(),
            layers: vec![crate::features::LayerValues::Dense(block.values.clone())],
            spans: std::iter::once(0..block.values.ncols()).collect(),
        })
    }

    /// What the model is, as JSON (`metrics.json` `model`, the maps' `LODE_MODEL` tag);
    /// [`FittedModel::describe`] adds `kind`, `map_values` and `prior_correction`.
    fn describe(&self, columns: &[String]) -> serde_json::Value;

    /// A model linear in the log-odds: per feature column, `(coefficient, centre, scale)`
    /// of its term `coefficient * (x - centre) / scale` (the targets' `top_evidence`);
    /// `None` for the others.
    fn linear_terms(&self) -> Option<Vec<(f64, f64, f64)>> {
        None
    }
}

/// What [`Model::build`] gives: the model, its report and files.
#[derive(Debug)]
pub struct Built<M> {
    /// The model.
    pub model: M,
    /// What the fit reports into `metrics.json` under `fit`.
    pub report: FitReport,
    /// Extra output files (name, text), e.g. weights tables.
    pub files: Vec<(String, String)>,
}

/// Fits with the family `M` of the config's kind and names it `family` in the [`Fit`],
/// with the prior correction of a model fitted on sampled rows.
fn fit_as<M: Model>(
    family: fn(M) -> Fitted,
    settings: &Settings,
    stack: &FeatureStack,
    deposits: &Deposits,
    training: Option<&TrainingSet>,
) -> Result<Fit> {
    let built = M::build(settings, stack, deposits, training)?;
    let prior_correction = match training {
        Some(t) => match M::sample_share(settings, t) {
            Some(share) => correction(settings, t, share)?,
            None => None,
        },
        None => None,
    };
    let model = FittedModel { columns: stack.columns.clone(), kind: family(built.model), prior_correction };
    Ok(Fit { model, report: built.report, files: built.files })
}

/// A fitted model with the feature columns it expects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedModel {
    /// The feature columns, in order.
    pub columns: Vec<String>,
    /// The model itself.
    pub kind: Fitted,
    /// Prior correction of the probability for the negative sampling (the models fitted
    /// on sampled rows; `None` for wofe and fuzzy, whose values are not).
    #[serde(default)]
    pub prior_correction: Option<calibration::PriorCorrection>,
}

/// One map a model writes.
#[derive(Debug, Clone)]
pub struct MapOutput {
    /// File name, e.g. `prospectivity.tif`.
    pub file: &'static str,
    /// Band description.
    pub description: &'static str,
}

impl MapOutput {
    /// `prospectivity.tif`, described `description`.
    pub fn prospectivity(description: &'static str) -> MapOutput {
        MapOutput { file: "prospectivity.tif", description }
    }
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
    /// The models fitted on a sampled training set (`logistic`, `random_forest`,
    /// `gradient_boosting`, `naive_bayes`): the training rows and the cross-validation
    /// (`null` without `[validation]`).
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

    /// [`FitReport::Trained`] without early stopping.
    pub fn trained(training: &TrainingSet, validation: Option<CvReport>) -> FitReport {
        FitReport::Trained { training: training.summary.clone(), validation, early_stopping: None }
    }

    /// What the training-set sampling did (models fitted on a sampled training set).
    pub fn training(&self) -> Option<&TrainingSummary> {
        match self {
            FitReport::Trained { training, .. } => Some(training),
            _ => None,
        }
    }
}

/// The checks of the model's per-layer keys that need no evidence prepared (e.g. every
/// fuzzy membership, the weights-of-evidence generalisation keys: [`Model::check_layer`]).
/// `lode validate` and `lode run` call it before any heavy work.
pub fn check(settings: &Settings) -> Result<()> {
    for ev in &settings.evidence {
        settings.model.kind.check_layer(ev)?;
    }
    Ok(())
}

/// What `lode validate`'s data checks find wrong with layer `ev` for the model of
/// `settings` ([`Model::layer_problem`]).
pub fn layer_problem(settings: &Settings, ev: &EvidenceSettings) -> Option<Error> {
    settings.model.kind.layer_problem(ev)
}

/// Whether fitting the model of `settings` needs a sampled [`TrainingSet`]: the models
/// trained on rows, and every model when it is cross-validated.
pub fn needs_training_set(settings: &Settings) -> bool {
    settings.model.kind.trained_on_rows() || settings.validation.kind != ValidationKind::None
}

/// Fits the model `settings` asks for. `training`: the sampled training set, present
/// when [`needs_training_set`].
pub fn fit(
    settings: &Settings,
    stack: &FeatureStack,
    deposits: &Deposits,
    training: Option<&TrainingSet>,
) -> Result<Fit> {
    settings.model.kind.fit(settings, stack, deposits, training)
}

/// The training set of a model fitted on one, or the error that it was not given.
pub fn training_set(training: Option<&TrainingSet>) -> Result<&TrainingSet> {
    training.ok_or_else(|| Error::Training("this model is fitted on a sampled training set; none was given".into()))
}

/// A model fitted on the sampled training rows by `fit`, and cross-validated when
/// `[validation]` asks for it: `fit` again on each fold's training rows, `predict` (the
/// probability of some rows of a matrix) on its held-out rows. What the models fitted on
/// rows alone (logistic, naive Bayes, lda) share.
pub fn fit_on_rows<M>(
    settings: &Settings,
    stack: &FeatureStack,
    training: &TrainingSet,
    fit: impl Fn(&TrainingSet) -> Result<M>,
    predict: impl Fn(&M, ArrayView2<f64>, &[usize]) -> Vec<f64>,
) -> Result<(M, Option<CrossValidation<M>>)> {
    let m = fit(training)?;
    let cols = training.x.ncols();
    let cv = crate::validation::cross_validate(
        &settings.validation,
        settings.seed,
        stack,
        training,
        |rows, _seed| fit(&training.subset(rows)),
        |fold: &M, x| {
            let n = x.len() / cols.max(1);
            let view = ArrayView2::from_shape((n, cols), x).expect("row-major rows");
            predict(fold, view, &(0..n).collect::<Vec<_>>())
        },
    )?;
    Ok((m, cv))
}

/// The report and files of a cross-validation (none without one).
pub fn split<M>(cv: Option<CrossValidation<M>>) -> (Option<CvReport>, Vec<(String, String)>) {
    match cv {
        Some(cv) => (Some(cv.report), cv.files),
        None => (None, Vec::new()),
    }
}

/// The prior correction of a model fitted on `training` whose deposit share is
/// `sample_share` (see [`calibration`]).
fn correction(
    settings: &Settings,
    training: &TrainingSet,
    sample_share: f64,
) -> Result<Option<calibration::PriorCorrection>> {
    let cells = calibration::study_area_cells(&settings.grid)?;
    Ok(calibration::PriorCorrection::for_training(training, sample_share, cells))
}

impl FittedModel {
    /// The kind of the model (the saved model's own, whatever the config says).
    pub fn model_kind(&self) -> ModelKind {
        self.kind.model().kind()
    }

    /// The maps this model writes; the first is always `prospectivity.tif`.
    pub fn outputs(&self) -> Vec<MapOutput> {
        let probability = if self.prior_correction.is_some() {
            "probability of a deposit per cell (prior-corrected for the negative sampling)"
        } else {
            "relative prospectivity score (not corrected for the negative sampling)"
        };
        self.kind.model().outputs(probability)
    }

    /// Predicts the maps of one window of features (prior-corrected, see [`calibration`]).
    pub fn predict_block(&self, block: &FeatureBlock) -> BlockPrediction {
        self.corrected(self.kind.model().block_maps(block))
    }

    /// [`FittedModel::predict_block`] of a window's features as
    /// [`FeatureStack::compute_features`] gives them (one-hot layers by their hot column).
    pub fn predict_features(&self, block: &WindowFeatures) -> BlockPrediction {
        self.corrected(self.kind.model().window_maps(block))
    }

    /// `p` with the prior correction applied (see [`calibration`]).
    fn corrected(&self, mut p: BlockPrediction) -> BlockPrediction {
        if let Some(pc) = &self.prior_correction {
            let (map, mut spread) = match p.maps.as_mut_slice() {
                [map, spread, ..] => (map, Some(spread)),
                [map] => (map, None),
                [] => return p,
            };
            for i in (0..p.valid.len()).filter(|&i| p.valid[i]) {
                let raw = map[i] as f64;
                match spread.as_deref_mut() {
                    Some(spread) => {
                        let (c, slope) = pc.apply_with_slope(raw);
                        map[i] = c as f32;
                        spread[i] = (spread[i] as f64 * slope) as f32;
                    }
                    None => map[i] = pc.apply(raw) as f32,
                }
            }
        }
        p
    }

    /// A JSON description for metrics and output metadata.
    pub fn describe(&self) -> serde_json::Value {
        let mut d = self.kind.model().describe(&self.columns);
        if let Some(obj) = d.as_object_mut() {
            obj.insert("kind".into(), self.model_kind().name().into());
            obj.insert("map_values".into(), self.map_values().into());
            obj.insert("prior_correction".into(), serde_json::to_value(self.prior_correction).unwrap_or_default());
        }
        d
    }

    /// What the values of `prospectivity.tif` are (`metrics.json` `model.map_values`).
    pub fn map_values(&self) -> &'static str {
        match (self.kind.model().map_values(), &self.prior_correction) {
            (Some(v), _) => v,
            (None, Some(_)) => {
                "probability of a deposit per cell, prior-corrected for the negative sampling (King & Zeng 2001)"
            }
            (None, None) => {
                "relative score: the probability on the sampled training rows, not corrected to the study area"
            }
        }
    }

    /// [`Model::linear_terms`] of the model.
    pub fn linear_terms(&self) -> Option<Vec<(f64, f64, f64)>> {
        self.kind.model().linear_terms()
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
