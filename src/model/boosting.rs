//! Gradient-boosted trees (forust-ml, log loss) on the same quantile bins as the random
//! forest: rows are binned with a [`Binner`] learnt on the training rows and forust sees
//! the bin indices, so both tree models split on the same thresholds. forust takes
//! column-major matrices; lode's blocks are row-major, so rows are transposed here.

use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::forest::Binner;

/// Gradient boosting hyperparameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BoostingParams {
    /// Boosting rounds (trees).
    pub iterations: usize,
    /// Shrinkage of each tree.
    pub learning_rate: f32,
    /// Depth of each tree.
    pub max_depth: usize,
    /// Smallest hessian sum of a leaf (forust's `min_leaf_weight`).
    pub min_leaf_weight: f32,
    /// Bins per column.
    pub max_bins: usize,
}

/// A fitted booster with its binning.
#[derive(Serialize, Deserialize)]
pub struct Boosting {
    /// Bin edges learnt on the training rows.
    pub binner: Binner,
    /// The parameters it was fitted with.
    pub params: BoostingParams,
    booster: GradientBooster,
}

impl std::fmt::Debug for Boosting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Boosting").field("params", &self.params).field("trees", &self.booster.trees.len()).finish()
    }
}

impl Clone for Boosting {
    fn clone(&self) -> Self {
        // forust's booster is not `Clone`; a serde round trip copies it exactly.
        let text = serde_json::to_string(&self.booster).unwrap_or_default();
        Boosting { binner: self.binner.clone(), params: self.params, booster: serde_json::from_str(&text).unwrap_or_default() }
    }
}

fn column_major_bins(binner: &Binner, x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * cols);
    for j in 0..cols {
        out.extend((0..rows).map(|i| binner.bin(j, x[i * cols + j]) as f64));
    }
    out
}

impl Boosting {
    /// Fits on row-major `(rows, cols)` data, labels and per-row weights.
    pub fn fit(binner: Binner, x: &[f64], cols: usize, y: &[bool], weight: &[f64], params: BoostingParams, seed: u64) -> Result<Boosting> {
        let rows = y.len();
        let data = column_major_bins(&binner, x, rows, cols);
        let m = Matrix::new(&data, rows, cols);
        let target: Vec<f64> = y.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect();
        let mut booster = GradientBooster::default()
            .set_iterations(params.iterations)
            .set_learning_rate(params.learning_rate)
            .set_max_depth(params.max_depth)
            .set_min_leaf_weight(params.min_leaf_weight)
            .set_nbins(256)
            .set_seed(seed)
            .set_parallel(false);
        booster
            .fit(&m, &target, weight, None)
            .map_err(|e| Error::Model(format!("gradient boosting did not fit: {e}")))?;
        Ok(Boosting { binner, params, booster })
    }

    /// Probability of a deposit for each row of row-major `(rows, cols)` data.
    pub fn predict(&self, x: &[f64], cols: usize) -> Vec<f64> {
        let rows = if cols == 0 { 0 } else { x.len() / cols };
        let data = column_major_bins(&self.binner, x, rows, cols);
        let m = Matrix::new(&data, rows, cols);
        self.booster.predict(&m, false).into_iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect()
    }
}
