//! `model.kind = "logistic"`: L2-regularised logistic regression (linfa-logistic) on
//! standardised features, cross-validated by
//! [`cross_validate`](crate::validation::cross_validate) like every kind, its fold models
//! kept for `uncertainty.tif`.

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::config::{RawModel, Settings};
use crate::error::{Error, Result};
use crate::features::{FeatureStack, LayerValues, WindowFeatures};
use crate::labels::Deposits;
use crate::model::{training_set, BlockPrediction, Built, FitReport, MapOutput, Model, ModelKind, Standardizer};
use crate::training::TrainingSet;

/// A fitted logistic regression with its standardisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logistic {
    scaler: Standardizer,
    fitted: FittedLogisticRegression<f64, bool>,
    /// The cross-validation fold models, kept to map the spread of their predictions
    /// (`uncertainty.tif`); empty without `[validation]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    folds: Vec<Logistic>,
}

impl Logistic {
    /// Fits on the training rows, standardised with their own means and deviations.
    pub fn fit(settings: &RawModel, training: &TrainingSet) -> Result<Logistic> {
        let y = &training.y;
        if !y.iter().any(|&v| v) || y.iter().all(|&v| v) {
            return Err(Error::Training("logistic regression needs both deposit and non-deposit cells".into()));
        }
        let scaler = Standardizer::fit(training.x.view());
        let z = scaler.transform(training.x.view());
        let data = linfa::Dataset::new(z, Array1::from(y.to_vec()));
        let fitted = LogisticRegression::default()
            .alpha(settings.alpha)
            .max_iterations(settings.max_iterations)
            .fit(&data)
            .map_err(|e| Error::Model(format!("logistic regression did not fit: {e}")))?;
        Ok(Logistic { scaler, fitted, folds: Vec::new() })
    }

    /// Probability of a deposit for each row of raw features.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let z = self.scaler.transform(x);
        let p = self.fitted.predict_probabilities(&z);
        // linfa reports the probability of the class it calls positive, which need not be `true`.
        if self.fitted.labels().pos.class {
            p.to_vec()
        } else {
            p.iter().map(|v| 1.0 - v).collect()
        }
    }

    /// Probability of a deposit for the given rows of raw features `x`, computed row by
    /// row from the fitted coefficients: `sigmoid(b + sum_j w_j (x_j - mean_j) / std_j)`.
    /// Equal to [`Logistic::predict`] without its three copies of the block (measured on
    /// the Cloncurry demo: 91 one-hot columns, peak memory 430 MB with the copies).
    pub fn predict_rows(&self, x: ArrayView2<f64>, rows: &[usize]) -> Vec<f64> {
        self.predict_with(rows, |i, scaled| x.row(i).iter().zip(scaled).map(|(v, w)| v * w).sum::<f64>())
    }

    /// [`Logistic::predict_rows`] for cells of a window's features, reading a one-hot
    /// layer's coefficient at its hot column instead of multiplying every 0/1 column.
    /// The same values: the sum runs over the columns in the same order, and the terms it
    /// leaves out are the zeros `0 * w` (the coefficients are finite), which change a sum
    /// only in the sign of a zero sum, and `1 / (1 + exp(-eta))` not at all.
    pub fn predict_features(&self, f: &WindowFeatures, rows: &[usize]) -> Vec<f64> {
        self.predict_with(rows, |i, scaled| {
            let mut sum = -0.0;
            for (layer, span) in f.layers.iter().zip(&f.spans) {
                let w = &scaled[span.clone()];
                match layer {
                    LayerValues::Dense(v) => {
                        for (v, w) in v.row(i).iter().zip(w) {
                            sum += v * w;
                        }
                    }
                    LayerValues::Hot(h) => {
                        if let Some(w) = w.get(h[i] as usize) {
                            sum += w;
                        }
                    }
                }
            }
            sum
        })
    }

    /// Per row `i`: the probability of `offset + dot(i, scaled coefficients)`.
    fn predict_with(&self, rows: &[usize], dot: impl Fn(usize, &[f64]) -> f64) -> Vec<f64> {
        let (w, b) = (self.fitted.params(), self.fitted.intercept());
        let pos = self.fitted.labels().pos.class;
        let scaled: Vec<f64> = w.iter().zip(&self.scaler.std).map(|(w, s)| w / s).collect();
        let offset = b - scaled.iter().zip(&self.scaler.mean).map(|(w, m)| w * m).sum::<f64>();
        let mut out = crate::scratch::take(rows.len());
        out.extend(rows.iter().map(|&i| {
            let eta = offset + dot(i, &scaled);
            let p = 1.0 / (1.0 + (-eta).exp());
            if pos {
                p
            } else {
                1.0 - p
            }
        }));
        out
    }

    /// Per feature column, in order: its coefficient on the standardised scale (the sign
    /// of a deposit), and the mean and standard deviation of the standardisation.
    pub fn standardised_terms(&self) -> Vec<(f64, f64, f64)> {
        let sign = if self.fitted.labels().pos.class { 1.0 } else { -1.0 };
        self.fitted
            .params()
            .iter()
            .zip(self.scaler.mean.iter().zip(&self.scaler.std))
            .map(|(w, (&m, &s))| (sign * w, m, s))
            .collect()
    }

    /// Keeps the cross-validation fold models (their spread is the uncertainty map).
    pub fn with_folds(mut self, folds: Vec<Logistic>) -> Logistic {
        self.folds = folds.into_iter().map(|f| Logistic { folds: Vec::new(), ..f }).collect();
        self
    }

    /// Whether fold models are kept, so that [`Logistic::uncertainty_rows`] has a spread to give.
    pub fn has_uncertainty(&self) -> bool {
        self.folds.len() >= 2
    }

    /// Per row: the standard deviation (population) of the fold models' probabilities.
    pub fn uncertainty_rows(&self, x: ArrayView2<f64>, rows: &[usize]) -> Vec<f64> {
        Self::spread(self.folds.iter().map(|f| f.predict_rows(x, rows)).collect(), rows)
    }

    /// [`Logistic::uncertainty_rows`] for cells of a window's features.
    pub fn uncertainty_features(&self, f: &WindowFeatures, rows: &[usize]) -> Vec<f64> {
        Self::spread(self.folds.iter().map(|m| m.predict_features(f, rows)).collect(), rows)
    }

    fn spread(per_fold: Vec<Vec<f64>>, rows: &[usize]) -> Vec<f64> {
        let n = per_fold.len().max(1) as f64;
        let mut out = crate::scratch::take(rows.len());
        out.extend((0..rows.len()).map(|i| {
            let mean = per_fold.iter().map(|p| p[i]).sum::<f64>() / n;
            (per_fold.iter().map(|p| (p[i] - mean).powi(2)).sum::<f64>() / n).sqrt()
        }));
        per_fold.into_iter().for_each(crate::scratch::give);
        out
    }
}

impl Model for Logistic {
    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        _deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<Logistic>> {
        let training = training_set(training)?;
        // Cross-validation (`[validation]`), as for the tree models: fold models are
        // fitted on the training rows of each fold and scored on its held-out rows.
        let (m, cv) =
            super::fit_on_rows(settings, stack, training, |t| Logistic::fit(&settings.model, t), Logistic::predict_rows)?;
        let (validation, fold_models, files) = match cv {
            Some(cv) => (Some(cv.report), cv.fold_models, cv.files),
            None => (None, Vec::new(), Vec::new()),
        };
        Ok(Built { model: m.with_folds(fold_models), report: FitReport::trained(training, validation), files })
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Logistic
    }

    fn outputs(&self, probability: &'static str) -> Vec<MapOutput> {
        let mut v = vec![MapOutput::prospectivity(probability)];
        if self.has_uncertainty() {
            v.push(MapOutput {
                file: "uncertainty.tif",
                description: "standard deviation of the probability over the cross-validation fold models",
            });
        }
        v
    }

    fn window_maps(&self, block: &WindowFeatures) -> BlockPrediction {
        // Buffers from this worker's spares ([`crate::scratch`]), given back here or,
        // for the maps, by the writer.
        use crate::scratch::{filled, give, take};
        let mut rows = take(block.valid.len());
        rows.extend((0..block.valid.len()).filter(|&i| block.valid[i]));
        let mut values = filled(block.valid.len(), 0f32);
        let p = self.predict_features(block, &rows);
        for (&i, p) in rows.iter().zip(&p) {
            values[i] = *p as f32;
        }
        give(p);
        let mut maps = vec![values];
        if self.has_uncertainty() {
            let mut u = filled(block.valid.len(), 0f32);
            let s = self.uncertainty_features(block, &rows);
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

    /// Coefficients per feature (on the standardised scale) and the intercept.
    fn describe(&self, columns: &[String]) -> serde_json::Value {
        let sign = if self.fitted.labels().pos.class { 1.0 } else { -1.0 };
        let coefficients: serde_json::Map<String, serde_json::Value> = columns
            .iter()
            .zip(self.fitted.params().iter())
            .map(|(c, w)| (c.clone(), serde_json::json!(sign * w)))
            .collect();
        serde_json::json!({
            "intercept": sign * self.fitted.intercept(),
            "coefficients_standardised": coefficients,
            "feature_mean": self.scaler.mean,
            "feature_std": self.scaler.std,
            "fold_models": self.folds.len(),
        })
    }

    /// The standardised coefficients with the standardisation's means and deviations.
    fn linear_terms(&self) -> Option<Vec<(f64, f64, f64)>> {
        Some(self.standardised_terms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn row_by_row_prediction_equals_linfas() {
        // Two informative columns, one constant: a separable-ish toy problem.
        let n = 200;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => (i as f64 * 0.37).sin() * 10.0 + i as f64 * 0.05,
            1 => (i % 7) as f64,
            _ => 3.0,
        });
        let y: Vec<bool> = (0..n).map(|i| (i as f64 * 0.37).sin() + 0.01 * i as f64 > 0.6).collect();
        let training = TrainingSet {
            columns: vec!["a".into(), "b".into(), "c".into()],
            x: x.clone(),
            y,
            cells: Vec::new(),
            summary: Default::default(),
        };
        let m = Logistic::fit(&RawModel::default(), &training).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        for (a, b) in m.predict(x.view()).iter().zip(m.predict_rows(x.view(), &rows)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
