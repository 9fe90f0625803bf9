//! L2-regularised logistic regression (linfa-logistic) on standardised features.

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::config::RawModel;
use crate::error::{Error, Result};
use crate::model::Standardizer;
use crate::training::TrainingSet;

/// A fitted logistic regression with its standardisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logistic {
    scaler: Standardizer,
    fitted: FittedLogisticRegression<f64, bool>,
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
        Ok(Logistic { scaler, fitted })
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

    /// Coefficients per feature (on the standardised scale) and the intercept.
    pub fn describe(&self, columns: &[String]) -> serde_json::Value {
        let sign = if self.fitted.labels().pos.class { 1.0 } else { -1.0 };
        let coefficients: serde_json::Map<String, serde_json::Value> = columns
            .iter()
            .zip(self.fitted.params().iter())
            .map(|(c, w)| (c.clone(), serde_json::json!(sign * w)))
            .collect();
        serde_json::json!({
            "kind": "logistic",
            "intercept": sign * self.fitted.intercept(),
            "coefficients_standardised": coefficients,
            "feature_mean": self.scaler.mean,
            "feature_std": self.scaler.std,
        })
    }
}
