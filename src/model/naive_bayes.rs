//! `model.kind = "naive_bayes"`: Gaussian naive Bayes on the training rows, as
//! scikit-learn's `GaussianNB` (default `priors`, `var_smoothing`).
//!
//! Per class `c` (deposit, background) and feature column `j`: the mean `θ_cj` and the
//! population variance `σ²_cj` of the class's rows, plus `ε = var_smoothing × (largest
//! variance of any column over all rows)` so that a column constant within a class does
//! not divide by zero. The prior `π_c` is the class's share of the rows. The joint
//! log-likelihood of a row `x` is
//! `ln π_c - ½ Σ_j ln(2π σ²_cj) - ½ Σ_j (x_j - θ_cj)² / σ²_cj`, and the probability of a
//! deposit `1 / (1 + exp(jll_background - jll_deposit))`.
//!
//! The columns are taken as independent given the class: strongly correlated layers
//! count their evidence twice (as in weights of evidence), which overstates the
//! probabilities but keeps the ranking informative. The prior is the sampled share of
//! deposits, so the map is prior-corrected like the logistic regression's
//! ([`calibration`](super::calibration)); cross-validated by
//! [`cross_validate`](crate::validation::cross_validate) like every kind.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::config::{RawModel, Settings};
use crate::error::{Error, Result};
use crate::features::{FeatureBlock, FeatureStack, WindowFeatures};
use crate::labels::Deposits;
use crate::model::{training_set, BlockPrediction, Built, FitReport, MapOutput, Model, ModelKind};
use crate::training::TrainingSet;

/// A fitted Gaussian naive Bayes: per class (`[background, deposit]`) the log prior and
/// each column's mean and variance (smoothing included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NaiveBayes {
    /// `ln π_c` of background and deposit rows.
    log_prior: [f64; 2],
    /// `θ_cj`: the column means of background and deposit rows.
    mean: [Vec<f64>; 2],
    /// `σ²_cj + ε`: the column variances of background and deposit rows.
    var: [Vec<f64>; 2],
    /// `ε`, added to every variance.
    epsilon: f64,
}

/// Mean and population variance of column `j` over `rows` of `x`.
fn mean_var(x: ArrayView2<f64>, rows: &[usize], j: usize) -> (f64, f64) {
    let n = rows.len() as f64;
    let mean = rows.iter().map(|&i| x[[i, j]]).sum::<f64>() / n;
    let var = rows.iter().map(|&i| (x[[i, j]] - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

impl NaiveBayes {
    /// Fits on the training rows.
    pub fn fit(m: &RawModel, t: &TrainingSet) -> Result<NaiveBayes> {
        let x = t.x.view();
        let by_class: [Vec<usize>; 2] =
            [(0..t.y.len()).filter(|&i| !t.y[i]).collect(), (0..t.y.len()).filter(|&i| t.y[i]).collect()];
        if by_class.iter().any(Vec::is_empty) {
            return Err(Error::Training("naive Bayes needs both deposit and non-deposit cells".into()));
        }
        let all: Vec<usize> = (0..t.y.len()).collect();
        let widest = (0..x.ncols()).map(|j| mean_var(x, &all, j).1).fold(0.0, f64::max);
        let epsilon = m.var_smoothing * widest;
        if !(epsilon > 0.0 && epsilon.is_finite()) {
            return Err(Error::Training(
                "naive Bayes: every feature column is constant over the training rows (no variance to model)".into(),
            ));
        }
        let n = t.y.len() as f64;
        let fit_class = |rows: &[usize]| -> (Vec<f64>, Vec<f64>) {
            (0..x.ncols())
                .map(|j| {
                    let (mean, var) = mean_var(x, rows, j);
                    (mean, var + epsilon)
                })
                .unzip()
        };
        let (mean0, var0) = fit_class(&by_class[0]);
        let (mean1, var1) = fit_class(&by_class[1]);
        Ok(NaiveBayes {
            log_prior: [(by_class[0].len() as f64 / n).ln(), (by_class[1].len() as f64 / n).ln()],
            mean: [mean0, mean1],
            var: [var0, var1],
            epsilon,
        })
    }

    /// The joint log-likelihood of `row` under class `c`.
    fn joint_log_likelihood(&self, row: impl Iterator<Item = f64>, c: usize) -> f64 {
        let two_pi = 2.0 * std::f64::consts::PI;
        self.log_prior[c]
            + row
                .zip(self.mean[c].iter().zip(&self.var[c]))
                .map(|(v, (m, s2))| -0.5 * (two_pi * s2).ln() - 0.5 * (v - m).powi(2) / s2)
                .sum::<f64>()
    }

    /// Probability of a deposit for the given rows of raw features `x`.
    pub fn predict_rows(&self, x: ArrayView2<f64>, rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .map(|&i| {
                let background = self.joint_log_likelihood(x.row(i).iter().copied(), 0);
                let deposit = self.joint_log_likelihood(x.row(i).iter().copied(), 1);
                1.0 / (1.0 + (background - deposit).exp())
            })
            .collect()
    }

    /// The map of one window: the probability of a deposit where every layer has data.
    pub fn predict_block(&self, block: &FeatureBlock) -> BlockPrediction {
        let rows: Vec<usize> = (0..block.valid.len()).filter(|&i| block.valid[i]).collect();
        let mut values = vec![0f32; block.valid.len()];
        for (&i, p) in rows.iter().zip(self.predict_rows(block.values.view(), &rows)) {
            values[i] = p as f32;
        }
        BlockPrediction { maps: vec![values], valid: block.valid.clone() }
    }

    /// [`NaiveBayes::predict_block`] of a window's features as
    /// [`crate::features::FeatureStack::compute_features`] gives them.
    pub fn predict_features(&self, f: &crate::features::WindowFeatures) -> BlockPrediction {
        let rows: Vec<usize> = (0..f.valid.len()).filter(|&i| f.valid[i]).collect();
        let x = ndarray::Array2::from_shape_vec((rows.len(), f.columns()), f.rows(&rows)).expect("one row per cell");
        let all: Vec<usize> = (0..rows.len()).collect();
        let mut values = vec![0f32; f.valid.len()];
        for (&i, p) in rows.iter().zip(self.predict_rows(x.view(), &all)) {
            values[i] = p as f32;
        }
        BlockPrediction { maps: vec![values], valid: f.valid.clone() }
    }
}

impl Model for NaiveBayes {
    /// Fits on the training set, cross-validated when `[validation]` asks for it.
    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        _deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<NaiveBayes>> {
        let training = training_set(training)?;
        let (m, cv) =
            super::fit_on_rows(settings, stack, training, |t| NaiveBayes::fit(&settings.model, t), NaiveBayes::predict_rows)?;
        let (validation, files) = super::split(cv);
        Ok(Built { model: m, report: FitReport::trained(training, validation), files })
    }

    fn kind(&self) -> ModelKind {
        ModelKind::NaiveBayes
    }

    fn outputs(&self, probability: &'static str) -> Vec<MapOutput> {
        vec![MapOutput::prospectivity(probability)]
    }

    fn window_maps(&self, f: &WindowFeatures) -> BlockPrediction {
        self.predict_features(f)
    }

    /// Class shares, means and standard deviations per feature.
    fn describe(&self, columns: &[String]) -> serde_json::Value {
        let per_column = |v: &[f64], f: fn(f64) -> f64| -> serde_json::Map<String, serde_json::Value> {
            columns.iter().zip(v).map(|(c, &x)| (c.clone(), serde_json::json!(f(x)))).collect()
        };
        serde_json::json!({
            "deposit_share": self.log_prior[1].exp(),
            "mean_deposit": per_column(&self.mean[1], |x| x),
            "mean_background": per_column(&self.mean[0], |x| x),
            "std_deposit": per_column(&self.var[1], f64::sqrt),
            "std_background": per_column(&self.var[0], f64::sqrt),
            "epsilon": self.epsilon,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn table(x: ndarray::Array2<f64>, y: Vec<bool>) -> TrainingSet {
        let columns = (0..x.ncols()).map(|j| format!("c{j}")).collect();
        TrainingSet { columns, x, y, cells: Vec::new(), summary: Default::default() }
    }

    /// Deposits at 1 and 3 (mean 2, variance 1), background at 0, 0, 2, 2 (mean 1,
    /// variance 1), priors 1/3 and 2/3. At x = 2 the deposit term is `ln(1/3)`, the
    /// background's `ln(2/3) - 1/2`: p = 1 / (1 + 2 e^(-1/2)). At x = 1 the two swap
    /// their squared distances: p = 1 / (1 + 2 e^(1/2)).
    #[test]
    fn probabilities_are_the_hand_computed_ones_on_a_tiny_table() {
        let t = table(array![[1.0], [3.0], [0.0], [0.0], [2.0], [2.0]], vec![true, true, false, false, false, false]);
        let m = NaiveBayes::fit(&RawModel::default(), &t).unwrap();
        assert_eq!(m.mean, [vec![1.0], vec![2.0]]);
        let x = array![[2.0], [1.0]];
        let p = m.predict_rows(x.view(), &[0, 1]);
        let expect = [1.0 / (1.0 + 2.0 * (-0.5f64).exp()), 1.0 / (1.0 + 2.0 * 0.5f64.exp())];
        for (got, want) in p.iter().zip(expect) {
            // The smoothing (1e-9 of the largest variance, 11/9 here) moves the 9th digit at most.
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
        assert!((0.4518..0.4519).contains(&p[0]), "{}", p[0]);
    }

    #[test]
    fn a_column_constant_within_a_class_is_smoothed_not_a_division_by_zero() {
        let t = table(array![[1.0, 5.0], [1.0, 6.0], [0.0, 5.0], [2.0, 7.0]], vec![true, true, false, false]);
        let m = NaiveBayes::fit(&RawModel::default(), &t).unwrap();
        let p = m.predict_rows(array![[1.0, 5.5], [3.0, 5.5]].view(), &[0, 1]);
        assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)), "{p:?}");
        assert!(p[0] > 0.99 && p[1] < 0.01, "{p:?}");
    }

    #[test]
    fn one_class_or_no_variance_is_an_error() {
        let one = table(array![[1.0], [2.0]], vec![true, true]);
        assert!(NaiveBayes::fit(&RawModel::default(), &one).unwrap_err().to_string().contains("both deposit"));
        let flat = table(array![[1.0], [1.0]], vec![true, false]);
        assert!(NaiveBayes::fit(&RawModel::default(), &flat).unwrap_err().to_string().contains("constant"));
    }
}
