//! `model.kind = "lda"`: Fisher's linear discriminant analysis of the training rows with
//! a pooled (shared) covariance, as scikit-learn's `LinearDiscriminantAnalysis(solver =
//! "lsqr")` with its default priors.
//!
//! Per class `c` (background 0, deposit 1): the share `π_c` of the rows and the column
//! means `μ_c`. The pooled within-class covariance is `Σ = Σ_c π_c S_c`, `S_c` the
//! population (divide by `n_c`) covariance of the class's rows: the within-class scatter
//! divided by `n`, scikit-learn's `_class_cov`. The probability of a deposit is
//! `1 / (1 + exp(-(w·x + b)))` with `w = Σ⁻¹ (μ₁ - μ₀)`, solved by a Cholesky
//! decomposition of `Σ`, and `b = -½ (μ₁ + μ₀)·w + ln(π₁ / π₀)`.
//!
//! `model.shrinkage` shrinks each `S_c` towards a multiple of the identity as
//! scikit-learn's `shrinkage` does: a fixed intensity, or `"auto"` (Ledoit-Wolf on the
//! class's standardised columns). Without it a singular `Σ` is refused with the column
//! that makes it so: a column constant within both classes, or one that is a linear
//! combination of the columns before it (the class columns of a one-hot layer sum to 1). The prior is the sampled share of deposits, so
//! the map is prior-corrected like the logistic regression's
//! ([`calibration`](super::calibration)); cross-validated by
//! [`cross_validate`](crate::validation::cross_validate) like every kind; no uncertainty
//! map.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::config::{RawModel, Settings, Shrinkage};
use crate::error::{Error, Result};
use crate::features::{FeatureStack, LayerValues, WindowFeatures};
use crate::labels::Deposits;
use crate::model::{training_set, BlockPrediction, Built, FitReport, MapOutput, Model, ModelKind};
use crate::training::TrainingSet;

/// A column whose pivot in the Cholesky decomposition of `Σ` falls below this share of
/// its own variance is (numerically) a linear combination of the columns before it: less
/// than 1e-10 of its within-class variance is its own.
const COLLINEAR: f64 = 1e-10;

/// A fitted linear discriminant: the log-odds `w·x + b` of a deposit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lda {
    /// `w = Σ⁻¹ (μ₁ - μ₀)`, per feature column.
    coef: Vec<f64>,
    /// `b = -½ (μ₁ + μ₀)·w + ln(π₁ / π₀)`.
    intercept: f64,
    /// `μ_c`: the column means of background and deposit rows.
    mean: [Vec<f64>; 2],
    /// `π₁`: the deposit share of the rows.
    deposit_share: f64,
    /// `model.shrinkage` as fitted (`None`: the empirical covariances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shrinkage: Option<Shrinkage>,
}

impl Lda {
    /// Fits on the training rows, with the covariance shrinkage of `model.shrinkage`.
    pub fn fit(m: &RawModel, t: &TrainingSet) -> Result<Lda> {
        let x = t.x.view();
        let p = x.ncols();
        let by_class: [Vec<usize>; 2] =
            [(0..t.y.len()).filter(|&i| !t.y[i]).collect(), (0..t.y.len()).filter(|&i| t.y[i]).collect()];
        if by_class.iter().any(Vec::is_empty) {
            return Err(Error::Training("lda needs both deposit and non-deposit cells".into()));
        }
        let n = t.y.len() as f64;
        let mean = by_class.clone().map(|rows| column_means(x, &rows));
        let mut sigma = vec![0.0; p * p];
        for (rows, mu) in by_class.iter().zip(&mean) {
            let prior = rows.len() as f64 / n;
            let s = match m.shrinkage {
                None => covariance(x, rows, mu),
                Some(Shrinkage::Fixed(alpha)) => shrunk(covariance(x, rows, mu), p, alpha),
                Some(Shrinkage::Auto) => ledoit_wolf(x, rows, mu),
            };
            for (a, s) in sigma.iter_mut().zip(s) {
                *a += prior * s;
            }
        }
        let diff: Vec<f64> = mean[1].iter().zip(&mean[0]).map(|(a, b)| a - b).collect();
        let coef =
            cholesky_solve(&sigma, p, &diff).map_err(|j| singular(&t.columns, &sigma, p, j, m.shrinkage.is_some()))?;
        let deposit_share = by_class[1].len() as f64 / n;
        let centre: f64 = mean[1].iter().zip(&mean[0]).zip(&coef).map(|((a, b), w)| (a + b) * w).sum();
        let intercept = -0.5 * centre + (deposit_share / (1.0 - deposit_share)).ln();
        Ok(Lda { coef, intercept, mean, deposit_share, shrinkage: m.shrinkage })
    }

    /// Probability of a deposit for the given rows of raw features `x`.
    pub fn predict_rows(&self, x: ArrayView2<f64>, rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .map(|&i| {
                let dot: f64 = x.row(i).iter().zip(&self.coef).map(|(v, w)| v * w).sum();
                sigmoid(dot + self.intercept)
            })
            .collect()
    }

    /// [`Lda::predict_rows`] for cells of a window's features, reading a one-hot layer's
    /// coefficient at its hot column (the terms left out are the zeros `0 * w`).
    fn predict_features(&self, f: &WindowFeatures, rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .map(|&i| {
                let mut dot = -0.0;
                for (layer, span) in f.layers.iter().zip(&f.spans) {
                    let w = &self.coef[span.clone()];
                    match layer {
                        LayerValues::Dense(v) => {
                            for (v, w) in v.row(i).iter().zip(w) {
                                dot += v * w;
                            }
                        }
                        LayerValues::Hot(h) => {
                            if let Some(w) = w.get(h[i] as usize) {
                                dot += w;
                            }
                        }
                    }
                }
                sigmoid(dot + self.intercept)
            })
            .collect()
    }
}

/// `1 / (1 + exp(-z))`.
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The mean of every column of `x` over `rows`.
fn column_means(x: ArrayView2<f64>, rows: &[usize]) -> Vec<f64> {
    let n = rows.len() as f64;
    (0..x.ncols()).map(|j| rows.iter().map(|&i| x[[i, j]]).sum::<f64>() / n).collect()
}

/// The population covariance (divide by the row count) of `rows` of `x` around `mean`,
/// row-major `p × p`.
fn covariance(x: ArrayView2<f64>, rows: &[usize], mean: &[f64]) -> Vec<f64> {
    let (p, n) = (x.ncols(), rows.len() as f64);
    let mut s = vec![0.0; p * p];
    let mut d = vec![0.0; p];
    for &i in rows {
        for (j, d) in d.iter_mut().enumerate() {
            *d = x[[i, j]] - mean[j];
        }
        for a in 0..p {
            for b in a..p {
                s[a * p + b] += d[a] * d[b];
            }
        }
    }
    for a in 0..p {
        for b in a..p {
            s[a * p + b] /= n;
            s[b * p + a] = s[a * p + b];
        }
    }
    s
}

/// `(1 - alpha) s + alpha (trace(s) / p) I`: scikit-learn's `shrunk_covariance`.
fn shrunk(mut s: Vec<f64>, p: usize, alpha: f64) -> Vec<f64> {
    let mu = (0..p).map(|j| s[j * p + j]).sum::<f64>() / p as f64;
    s.iter_mut().for_each(|v| *v *= 1.0 - alpha);
    for j in 0..p {
        s[j * p + j] += alpha * mu;
    }
    s
}

/// The Ledoit-Wolf shrunk covariance of `rows` of `x` (class mean `mean`), as
/// scikit-learn's `shrinkage = "auto"`: the columns standardised with the class's mean
/// and population standard deviation (1 for a constant column), the Ledoit-Wolf
/// estimate of their covariance (`sklearn.covariance.ledoit_wolf`), scaled back.
fn ledoit_wolf(x: ArrayView2<f64>, rows: &[usize], mean: &[f64]) -> Vec<f64> {
    let (p, n) = (x.ncols(), rows.len() as f64);
    // StandardScaler: a column whose variance is within rounding of zero keeps scale 1.
    let scale: Vec<f64> = (0..p)
        .map(|j| {
            let var = rows.iter().map(|&i| (x[[i, j]] - mean[j]).powi(2)).sum::<f64>() / n;
            let bound = n * f64::EPSILON * var + (n * mean[j] * f64::EPSILON).powi(2);
            if var <= bound {
                1.0
            } else {
                var.sqrt()
            }
        })
        .collect();
    // The standardised rows, centred again (LedoitWolf's own location).
    let sd = &scale;
    let mut z: Vec<f64> = rows.iter().flat_map(|&i| (0..p).map(move |j| (x[[i, j]] - mean[j]) / sd[j])).collect();
    let zmean: Vec<f64> = (0..p).map(|j| (0..rows.len()).map(|r| z[r * p + j]).sum::<f64>() / n).collect();
    for (k, v) in z.iter_mut().enumerate() {
        *v -= zmean[k % p];
    }
    // The empirical covariance of the centred rows, divided by n.
    let mut emp = vec![0.0; p * p];
    for r in z.chunks(p) {
        for a in 0..p {
            for b in a..p {
                emp[a * p + b] += r[a] * r[b];
            }
        }
    }
    for a in 0..p {
        for b in a..p {
            emp[a * p + b] /= n;
            emp[b * p + a] = emp[a * p + b];
        }
    }
    let shrinkage = if p == 1 {
        0.0
    } else {
        // `ledoit_wolf_shrinkage(X, assume_centered=True)`.
        let pf = p as f64;
        let trace: Vec<f64> = (0..p).map(|j| emp[j * p + j]).collect();
        let mu = trace.iter().sum::<f64>() / pf;
        let beta_sum: f64 = z.chunks(p).map(|r| r.iter().map(|v| v * v).sum::<f64>().powi(2)).sum();
        let delta_sum = emp.iter().map(|c| c * c).sum::<f64>();
        let beta = (beta_sum / n - delta_sum) / (pf * n);
        let delta = (delta_sum - 2.0 * mu * trace.iter().sum::<f64>() + pf * mu * mu) / pf;
        let beta = beta.min(delta);
        if beta == 0.0 {
            0.0
        } else {
            beta / delta
        }
    };
    let mut s = shrunk(emp, p, shrinkage);
    for a in 0..p {
        for b in 0..p {
            s[a * p + b] *= scale[a] * scale[b];
        }
    }
    s
}

/// Solves `a z = rhs` for the symmetric row-major `p × p` matrix `a` by its Cholesky
/// decomposition `a = L Lᵀ`. `Err(j)`: column `j` is the first whose pivot is not
/// positive (relative to its diagonal, [`COLLINEAR`]): `a` is singular there.
fn cholesky_solve(a: &[f64], p: usize, rhs: &[f64]) -> std::result::Result<Vec<f64>, usize> {
    let mut l = vec![0.0; p * p];
    for j in 0..p {
        let pivot = a[j * p + j] - (0..j).map(|k| l[j * p + k] * l[j * p + k]).sum::<f64>();
        if !(pivot.is_finite() && pivot > COLLINEAR * a[j * p + j]) {
            return Err(j);
        }
        let d = pivot.sqrt();
        l[j * p + j] = d;
        for i in j + 1..p {
            let s = a[i * p + j] - (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum::<f64>();
            l[i * p + j] = s / d;
        }
    }
    // L y = rhs, then Lᵀ z = y.
    let mut y = vec![0.0; p];
    for i in 0..p {
        y[i] = (rhs[i] - (0..i).map(|k| l[i * p + k] * y[k]).sum::<f64>()) / l[i * p + i];
    }
    let mut z = vec![0.0; p];
    for i in (0..p).rev() {
        z[i] = (y[i] - (i + 1..p).map(|k| l[k * p + i] * z[k]).sum::<f64>()) / l[i * p + i];
    }
    Ok(z)
}

/// The error of a singular pooled covariance at column `j`: what is wrong with the
/// column, and what to do (`shrunk`: `model.shrinkage` was set).
fn singular(columns: &[String], sigma: &[f64], p: usize, j: usize, shrunk: bool) -> Error {
    let name = columns.get(j).map_or("?", String::as_str);
    let why = if sigma[j * p + j] <= 0.0 {
        "is constant within both classes of the training rows (e.g. a class no training row has)"
    } else if name.contains('=') {
        "is a linear combination of the columns before it: the class columns of a one-hot layer sum to 1 in \
         every cell with a class"
    } else {
        "is a linear combination of the columns before it (collinear layers)"
    };
    let fix = if shrunk {
        "drop that layer or shrink more (a larger model.shrinkage)"
    } else {
        "drop that layer, or set model.shrinkage = \"auto\" (Ledoit-Wolf), which keeps the covariance invertible"
    };
    Error::Training(format!("lda: the pooled within-class covariance is singular: feature column `{name}` {why}; {fix}"))
}

impl Model for Lda {
    /// Fits on the training set, cross-validated when `[validation]` asks for it.
    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        _deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<Lda>> {
        let training = training_set(training)?;
        let (m, cv) =
            super::fit_on_rows(settings, stack, training, |t| Lda::fit(&settings.model, t), Lda::predict_rows)?;
        let (validation, files) = super::split(cv);
        Ok(Built { model: m, report: FitReport::trained(training, validation), files })
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Lda
    }

    fn outputs(&self, probability: &'static str) -> Vec<MapOutput> {
        vec![MapOutput::prospectivity(probability)]
    }

    fn window_maps(&self, f: &WindowFeatures) -> BlockPrediction {
        let rows: Vec<usize> = (0..f.valid.len()).filter(|&i| f.valid[i]).collect();
        let mut values = vec![0f32; f.valid.len()];
        for (&i, p) in rows.iter().zip(self.predict_features(f, &rows)) {
            values[i] = p as f32;
        }
        BlockPrediction { maps: vec![values], valid: f.valid.clone() }
    }

    /// The coefficients (on the features' own scale), the intercept and the class means.
    fn describe(&self, columns: &[String]) -> serde_json::Value {
        let per_column = |v: &[f64]| -> serde_json::Map<String, serde_json::Value> {
            columns.iter().zip(v).map(|(c, &x)| (c.clone(), serde_json::json!(x))).collect()
        };
        serde_json::json!({
            "coefficients": per_column(&self.coef),
            "intercept": self.intercept,
            "deposit_share": self.deposit_share,
            "mean_deposit": per_column(&self.mean[1]),
            "mean_background": per_column(&self.mean[0]),
            "shrinkage": self.shrinkage,
        })
    }

    /// Per column: the coefficient around the training rows' mean (both classes).
    fn linear_terms(&self) -> Option<Vec<(f64, f64, f64)>> {
        let share = self.deposit_share;
        let centre = self.mean[1].iter().zip(&self.mean[0]).map(|(d, b)| share * d + (1.0 - share) * b);
        Some(self.coef.iter().zip(centre).map(|(&w, c)| (w, c, 1.0)).collect())
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

    /// One column: deposits at 1 and 3 (mean 2), background at 0, 0, 2, 2 (mean 1); both
    /// classes have population variance 1, so `Σ = 1`, `w = 1`, `b = -1.5 + ln(1/2)`.
    #[test]
    fn coefficients_are_the_hand_computed_ones_on_a_tiny_table() {
        let t = table(array![[1.0], [3.0], [0.0], [0.0], [2.0], [2.0]], vec![true, true, false, false, false, false]);
        let m = Lda::fit(&RawModel::default(), &t).unwrap();
        assert_eq!(m.coef, vec![1.0]);
        assert!((m.intercept - (-1.5 + 0.5f64.ln())).abs() < 1e-15, "{}", m.intercept);
        let p = m.predict_rows(array![[2.0]].view(), &[0]);
        assert!((p[0] - sigmoid(0.5 + 0.5f64.ln())).abs() < 1e-15);
    }

    /// `Σ w = μ₁ - μ₀` holds for the solved `w` on a correlated two-column table.
    #[test]
    fn the_cholesky_solution_solves_the_pooled_system() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let z = cholesky_solve(&a, 2, &[1.0, 2.0]).unwrap();
        assert!((4.0 * z[0] + 2.0 * z[1] - 1.0).abs() < 1e-14 && (2.0 * z[0] + 3.0 * z[1] - 2.0).abs() < 1e-14);
    }

    #[test]
    fn a_constant_or_collinear_column_is_refused_by_name() {
        let y = vec![true, true, false, false, false];
        let constant = table(array![[1.0, 5.0], [2.0, 5.0], [0.0, 5.0], [1.0, 5.0], [3.0, 5.0]], y.clone());
        let err = Lda::fit(&RawModel::default(), &constant).unwrap_err().to_string();
        assert!(err.contains("`c1`") && err.contains("constant"), "{err}");
        let collinear = table(array![[1.0, 2.0], [2.0, 4.0], [0.0, 0.0], [1.0, 2.0], [3.0, 6.0]], y.clone());
        let err = Lda::fit(&RawModel::default(), &collinear).unwrap_err().to_string();
        assert!(err.contains("`c1`") && err.contains("linear combination"), "{err}");
        let mut one_hot = table(array![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], y);
        one_hot.columns = vec!["unit=1".into(), "unit=2".into()];
        let err = Lda::fit(&RawModel::default(), &one_hot).unwrap_err().to_string();
        assert!(err.contains("`unit=2`") && err.contains("one-hot"), "{err}");
        let one = table(array![[1.0], [2.0]], vec![true, true]);
        assert!(Lda::fit(&RawModel::default(), &one).unwrap_err().to_string().contains("both deposit"));
    }
}
