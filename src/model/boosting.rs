//! Gradient-boosted trees (forust-ml, log loss) on the same quantile bins as the random
//! forest: rows are binned with a [`Binner`] learnt on the training rows and forust sees
//! the bin indices, so both tree models split on the same thresholds. forust takes
//! column-major matrices; lode's blocks are row-major, so rows are transposed here.
//!
//! After fitting, forust's trees are converted to lode's flat [`Tree`]s with raw
//! thresholds (forust's "bin < split" is "x <= edge" of the same binning), so prediction
//! does not transpose: log-odds = base score + the leaf weights, summed in forust's order,
//! probability = logistic of it (equal to forust's own prediction). The trees are walked
//! compiled, as the forest's ([`Compiled`]).

use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::forest::{Binner, Compiled, GrowNode, Tree};

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
    /// Initial log-odds.
    pub base_score: f64,
    /// The boosted trees (leaf values are log-odds increments).
    pub trees: Vec<Tree>,
    /// The trees compiled for prediction, built on first use (not saved).
    #[serde(skip)]
    compiled: std::sync::OnceLock<Option<Compiled>>,
}

impl std::fmt::Debug for Boosting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Boosting").field("params", &self.params).field("trees", &self.trees.len()).finish()
    }
}

impl Clone for Boosting {
    fn clone(&self) -> Self {
        Boosting {
            binner: self.binner.clone(),
            params: self.params,
            base_score: self.base_score,
            trees: self.trees.clone(),
            compiled: self.compiled.clone(),
        }
    }
}

/// forust's tree on bin indices to a raw-threshold tree: `bin < split` is `bin <= k`,
/// `k = ceil(split) - 1`, which is `x <= edges[k]`.
fn convert(t: &forust_ml::tree::Tree, edges: &[Vec<f64>]) -> Tree {
    let nodes: Vec<GrowNode> = t
        .nodes
        .iter()
        .map(|n| {
            if n.is_leaf {
                return GrowNode { feature: u32::MAX, threshold: 0.0, left: 0, right: 0, value: n.weight_value };
            }
            let k = n.split_value.ceil() - 1.0;
            let e = &edges[n.split_feature];
            let threshold = if k < 0.0 {
                f64::NEG_INFINITY
            } else if k as usize >= e.len() {
                f64::INFINITY
            } else {
                e[k as usize]
            };
            GrowNode { feature: n.split_feature as u32, threshold, left: n.left_child as u32, right: n.right_child as u32, value: 0.0 }
        })
        .collect();
    Tree::from_grown(&nodes)
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
            .set_parallel(true);
        booster
            .fit(&m, &target, weight, None)
            .map_err(|e| Error::Model(format!("gradient boosting did not fit: {e}")))?;
        let trees = booster.trees.iter().map(|t| convert(t, &binner.edges)).collect();
        Ok(Boosting { binner, params, base_score: booster.base_score, trees, compiled: Default::default() })
    }

    /// Probability of a deposit for each row of row-major `(rows, cols)` data (on the
    /// compiled trees, see [`Compiled`]; identical to [`Boosting::predict_raw`]).
    pub fn predict(&self, x: &[f64], cols: usize) -> Vec<f64> {
        let Some(c) = Compiled::cached(&self.compiled, &self.trees, cols) else {
            return self.predict_raw(x, cols);
        };
        let rows = if cols == 0 { 0 } else { x.len() / cols };
        let mut z = vec![self.base_score; rows];
        c.for_each_leaf(x, cols, |i, v| z[i] += v as f64);
        z.into_iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect()
    }

    /// [`Boosting::predict`] walking the trees on the raw values.
    pub fn predict_raw(&self, x: &[f64], cols: usize) -> Vec<f64> {
        let rows = if cols == 0 { 0 } else { x.len() / cols };
        let mut z = vec![self.base_score; rows];
        for start in (0..rows).step_by(crate::model::forest::PREDICT_CHUNK) {
            let end = (start + crate::model::forest::PREDICT_CHUNK).min(rows);
            for t in &self.trees {
                for i in start..end {
                    z[i] += t.predict_row(&x[i * cols..(i + 1) * cols]) as f64;
                }
            }
        }
        z.into_iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converted_trees_predict_exactly_what_forust_predicts() {
        let rows = 500;
        let cols = 3;
        let x: Vec<f64> = (0..rows * cols).map(|i| ((i * 7919 + 13) % 1009) as f64 / 101.0).collect();
        let y: Vec<bool> = (0..rows).map(|i| x[i * cols] - x[i * cols + 2] * 0.5 > 3.0).collect();
        let binner = Binner::fit(&x, rows, cols, 16);
        let params = BoostingParams { iterations: 20, learning_rate: 0.3, max_depth: 4, min_leaf_weight: 1.0, max_bins: 16 };
        let data = column_major_bins(&binner, &x, rows, cols);
        let target: Vec<f64> = y.iter().map(|&v| v as u8 as f64).collect();
        let mut booster = GradientBooster::default().set_iterations(20).set_learning_rate(0.3).set_max_depth(4).set_min_leaf_weight(1.0).set_nbins(256).set_seed(5).set_parallel(false);
        booster.fit(&Matrix::new(&data, rows, cols), &target, &vec![1.0; rows], None).unwrap();
        let reference: Vec<f64> = booster.predict(&Matrix::new(&data, rows, cols), false).iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
        let ours = Boosting::fit(binner, &x, cols, &y, &vec![1.0; rows], params, 5).unwrap();
        assert_eq!(ours.predict(&x, cols), reference);
        assert_eq!(ours.predict_raw(&x, cols), reference);
    }
}
