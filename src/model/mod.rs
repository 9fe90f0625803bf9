//! Models: fitted on a [`TrainingSet`], they map feature rows to a probability of a
//! deposit. A [`FittedModel`] is `Send + Sync` so prediction runs on every core.
//!
//! [`TrainingSet`]: crate::training::TrainingSet

pub mod logistic;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::config::{ModelKind, RawModel};
use crate::error::Result;
use crate::training::TrainingSet;

/// A fitted model with the feature columns it expects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedModel {
    /// The feature columns, in order.
    pub columns: Vec<String>,
    /// Centring and scaling learnt from the training rows.
    pub scaler: Standardizer,
    /// The model itself.
    pub kind: Fitted,
}

/// The fitted model families.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Fitted {
    /// Logistic regression.
    Logistic(logistic::Logistic),
}

impl FittedModel {
    /// Fits the model `settings` asks for.
    pub fn fit(settings: &RawModel, training: &TrainingSet) -> Result<FittedModel> {
        let scaler = Standardizer::fit(training.x.view());
        let z = scaler.transform(training.x.view());
        let kind = match settings.kind {
            ModelKind::Logistic => Fitted::Logistic(logistic::Logistic::fit(settings, z, &training.y)?),
        };
        Ok(FittedModel { columns: training.columns.clone(), scaler, kind })
    }

    /// Probability of a deposit for each row of `x`.
    pub fn predict(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let z = self.scaler.transform(x);
        match &self.kind {
            Fitted::Logistic(m) => m.predict(z.view()),
        }
    }

    /// A JSON description for metrics and output metadata.
    pub fn describe(&self) -> serde_json::Value {
        match &self.kind {
            Fitted::Logistic(m) => m.describe(&self.columns, &self.scaler),
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
        let std = x
            .std_axis(Axis(0), 0.0)
            .iter()
            .map(|&s| if s > 0.0 && s.is_finite() { s } else { 1.0 })
            .collect();
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

    #[test]
    fn standardizer_centres_and_scales_and_survives_constant_columns() {
        let x = ndarray::array![[1.0, 5.0], [3.0, 5.0]];
        let s = Standardizer::fit(x.view());
        assert_eq!(s.mean, vec![2.0, 5.0]);
        assert_eq!(s.std, vec![1.0, 1.0]);
        assert_eq!(s.transform(x.view()), ndarray::array![[-1.0, 0.0], [1.0, 0.0]]);
    }
}
