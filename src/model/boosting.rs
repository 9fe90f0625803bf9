//! Gradient-boosted trees for log loss, histogram-based, written in lode on the same
//! quantile bins as the random forest ([`Binner`]: a split is "bin <= b", stored as the
//! raw threshold "x <= edge\[b\]").
//!
//! The algorithm is scikit-learn's `HistGradientBoostingClassifier` (and LightGBM's):
//! - start from the log-odds of the (weighted) deposit rate; each round computes the
//!   gradient `w (p - y)` and hessian `w p (1 - p)` of every row and grows one tree on them;
//! - trees grow leaf-wise (best first): the leaf whose best split has the largest gain
//!   `G_L²/(H_L+λ) + G_R²/(H_R+λ) - G²/(H+λ)` is split next, until `max_leaves` leaves, or
//!   no leaf has a split with positive gain whose children keep `min_samples_leaf` rows and
//!   a hessian sum of at least `min_leaf_weight`, or (if set) the leaves are at `max_depth`;
//! - a leaf's value is `-learning_rate · G / (H + λ)`;
//! - the histograms (gradient, hessian and row count per bin of every column) of a node
//!   are built for the smaller child only; the larger child's are the parent's minus the
//!   smaller's. Columns are histogrammed in parallel (rayon), each column summed in row
//!   order, so the trees do not depend on the number of threads;
//! - early stopping (when `n_iter_no_change` is set), as scikit-learn's with
//!   `scoring='loss'`: a stratified random `validation_fraction` of the rows (drawn with
//!   the seed) is held out, and fitting stops once none of the last `n_iter_no_change`
//!   rounds improved the held-out log loss by more than 1e-7 on the round before them;
//!   the trees fitted so far are all kept.
//!
//! Prediction walks lode's flat [`Tree`]s on raw values (no binning): log-odds = base
//! score + the leaf values in tree order, probability = logistic of it.
//!
//! Until this version lode used forust-ml 0.8 here; see `benches/README.md` (section
//! `models`) for why it was replaced: its depth-wise trees needed about twice the leaves
//! of scikit-learn's for the same AUC, and its loss-guided growth expands the leaf of
//! largest node score rather than largest split gain.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::forest::{Binner, Compiled, GrowNode, Rows, Tree};

fn default_max_leaves() -> usize {
    31
}
fn default_min_samples_leaf() -> usize {
    1
}
fn default_validation_fraction() -> f64 {
    0.1
}

/// Smallest improvement of the held-out loss that counts (scikit-learn's `tol`).
const EARLY_STOPPING_TOL: f64 = 1e-7;

/// Gradient boosting hyperparameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BoostingParams {
    /// Boosting rounds (trees).
    pub iterations: usize,
    /// Shrinkage of each tree.
    pub learning_rate: f32,
    /// Depth limit of each tree (root at depth 0; `None`: only `max_leaves` limits it).
    pub max_depth: Option<usize>,
    /// Smallest hessian sum of a leaf.
    pub min_leaf_weight: f32,
    /// Bins per column.
    pub max_bins: usize,
    /// Most leaves per tree.
    #[serde(default = "default_max_leaves")]
    pub max_leaves: usize,
    /// Fewest training rows in a leaf.
    #[serde(default = "default_min_samples_leaf")]
    pub min_samples_leaf: usize,
    /// L2 penalty λ on the leaf values.
    #[serde(default)]
    pub l2_regularization: f64,
    /// Early stopping: rounds without improvement of the held-out loss (`None`: off).
    #[serde(default)]
    pub n_iter_no_change: Option<usize>,
    /// Early stopping: fraction of the rows held out.
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
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

/// Sums of one histogram bin.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// Per column, per bin sums.
type Hist = Vec<Vec<Bin>>;

/// Nodes with fewer rows than this are histogrammed on one thread.
const PARALLEL_ROWS: usize = 2048;

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    g_left: f64,
    h_left: f64,
    n_left: u32,
}

/// A leaf of the tree being grown: its rows are `index[start..end]`.
struct Leaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    g: f64,
    h: f64,
    hist: Option<Hist>,
    split: Option<Split>,
}

struct Grower<'a> {
    bins: &'a [Vec<u8>],
    edges: &'a [Vec<f64>],
    nbins: Vec<usize>,
    params: BoostingParams,
    grad: Vec<f32>,
    hess: Vec<f32>,
}

impl Grower<'_> {
    /// Histograms of the rows `rows` (all rows, in order, when `rows` is `None`).
    fn histograms(&self, rows: Option<&[u32]>) -> Hist {
        let n = rows.map_or(self.grad.len(), |r| r.len());
        // Gradients in the order of the rows, read once per column.
        let (og, oh): (Vec<f32>, Vec<f32>) = match rows {
            Some(r) => r.iter().map(|&i| (self.grad[i as usize], self.hess[i as usize])).unzip(),
            None => (Vec::new(), Vec::new()),
        };
        let column = |j: usize| -> Vec<Bin> {
            let mut hist = vec![Bin::default(); self.nbins[j]];
            let col = &self.bins[j];
            match rows {
                Some(r) => {
                    for ((&i, &g), &h) in r.iter().zip(&og).zip(&oh) {
                        let b = &mut hist[col[i as usize] as usize];
                        b.g += g as f64;
                        b.h += h as f64;
                        b.n += 1;
                    }
                }
                None => {
                    for ((&c, &g), &h) in col.iter().zip(&self.grad).zip(&self.hess) {
                        let b = &mut hist[c as usize];
                        b.g += g as f64;
                        b.h += h as f64;
                        b.n += 1;
                    }
                }
            }
            hist
        };
        if n >= PARALLEL_ROWS {
            (0..self.bins.len()).into_par_iter().map(column).collect()
        } else {
            (0..self.bins.len()).map(column).collect()
        }
    }

    /// The best split of a leaf with sums `g`, `h`, `n` and histograms `hist`.
    fn best_split(&self, hist: &Hist, g: f64, h: f64, n: u32) -> Option<Split> {
        let l2 = self.params.l2_regularization;
        let min_n = self.params.min_samples_leaf.max(1) as u32;
        let min_h = self.params.min_leaf_weight as f64;
        let parent = g * g / (h + l2);
        let mut best: Option<Split> = None;
        for (j, hj) in hist.iter().enumerate() {
            let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0u32);
            for (b, bin) in hj[..hj.len().saturating_sub(1)].iter().enumerate() {
                gl += bin.g;
                hl += bin.h;
                nl += bin.n;
                if nl < min_n {
                    continue;
                }
                if n - nl < min_n {
                    break;
                }
                let (gr, hr) = (g - gl, h - hl);
                if hl < min_h || hr < min_h {
                    continue;
                }
                let gain = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent;
                if gain > 0.0 && best.is_none_or(|s| gain > s.gain) {
                    best = Some(Split { gain, feature: j, bin: b, g_left: gl, h_left: hl, n_left: nl });
                }
            }
        }
        best
    }

    /// Whether a leaf at `depth` with `n` rows may be split at all.
    fn splittable(&self, depth: usize, n: usize) -> bool {
        self.params.max_depth.is_none_or(|d| depth < d)
            && n >= 2 * self.params.min_samples_leaf.max(1)
            && self.params.max_leaves > 1
    }

    /// Grows one tree on the current gradients; adds its leaf values to `raw`.
    fn tree(&self, index: &mut [u32], scratch: &mut Vec<u32>, raw: &mut [f64]) -> Tree {
        let rows = index.len();
        let (g, h) =
            self.grad.iter().zip(&self.hess).fold((0.0, 0.0), |(g, h), (&gi, &hi)| (g + gi as f64, h + hi as f64));
        let mut nodes = vec![GrowNode { feature: u32::MAX, threshold: 0.0, left: 0, right: 0, value: 0.0 }];
        let mut root = Leaf { node: 0, start: 0, end: rows, depth: 0, g, h, hist: None, split: None };
        if self.splittable(0, rows) {
            let hist = self.histograms(None);
            root.split = self.best_split(&hist, g, h, rows as u32);
            root.hist = Some(hist);
        }
        let mut leaves = vec![root];
        while leaves.len() < self.params.max_leaves {
            // The leaf of largest gain (the first one on ties).
            let mut pick: Option<(usize, f64)> = None;
            for (k, l) in leaves.iter().enumerate() {
                if let Some(s) = l.split {
                    if pick.is_none_or(|(_, g)| s.gain > g) {
                        pick = Some((k, s.gain));
                    }
                }
            }
            let Some((k, _)) = pick else { break };
            let parent = leaves.remove(k);
            let s = parent.split.expect("picked leaves have a split");
            // Stable partition: bin <= s.bin to the left, rows stay in ascending order.
            let col = &self.bins[s.feature];
            let part = &mut index[parent.start..parent.end];
            scratch.clear();
            scratch.resize(part.len(), 0);
            let (mut nl, mut nr) = (0, 0);
            for r in 0..part.len() {
                let i = part[r];
                let left = (col[i as usize] as usize <= s.bin) as usize;
                part[nl] = i;
                scratch[nr] = i;
                nl += left;
                nr += 1 - left;
            }
            part[nl..].copy_from_slice(&scratch[..nr]);
            debug_assert_eq!(nl as u32, s.n_left);
            let (left_node, right_node) = (nodes.len(), nodes.len() + 1);
            nodes[parent.node] = GrowNode {
                feature: s.feature as u32,
                threshold: self.edges[s.feature][s.bin],
                left: left_node as u32,
                right: right_node as u32,
                value: 0.0,
            };
            nodes.push(GrowNode { feature: u32::MAX, threshold: 0.0, left: 0, right: 0, value: 0.0 });
            nodes.push(GrowNode { feature: u32::MAX, threshold: 0.0, left: 0, right: 0, value: 0.0 });
            let depth = parent.depth + 1;
            let mid = parent.start + nl;
            let mut left = Leaf {
                node: left_node,
                start: parent.start,
                end: mid,
                depth,
                g: s.g_left,
                h: s.h_left,
                hist: None,
                split: None,
            };
            let mut right = Leaf {
                node: right_node,
                start: mid,
                end: parent.end,
                depth,
                g: parent.g - s.g_left,
                h: parent.h - s.h_left,
                hist: None,
                split: None,
            };
            let split_left = self.splittable(depth, left.end - left.start);
            let split_right = self.splittable(depth, right.end - right.start);
            if split_left || split_right {
                // Histogram the smaller child; the larger one's is the parent's minus it.
                let left_small = left.end - left.start <= right.end - right.start;
                let (small, large) = if left_small { (&mut left, &mut right) } else { (&mut right, &mut left) };
                let small_hist = self.histograms(Some(&index[small.start..small.end]));
                let mut large_hist = parent.hist.expect("a split leaf has histograms");
                for (lj, sj) in large_hist.iter_mut().zip(&small_hist) {
                    for (lb, sb) in lj.iter_mut().zip(sj) {
                        lb.g -= sb.g;
                        lb.h -= sb.h;
                        lb.n -= sb.n;
                    }
                }
                small.hist = Some(small_hist);
                large.hist = Some(large_hist);
                for (child, ok) in [(&mut left, split_left), (&mut right, split_right)] {
                    if ok {
                        let hist = child.hist.as_ref().expect("just built");
                        child.split = self.best_split(hist, child.g, child.h, (child.end - child.start) as u32);
                    }
                    if child.split.is_none() {
                        child.hist = None;
                    }
                }
            }
            leaves.push(left);
            leaves.push(right);
        }
        let (lr, l2) = (self.params.learning_rate as f64, self.params.l2_regularization);
        for l in &leaves {
            let value = (-lr * l.g / (l.h + l2)) as f32;
            let value = if value.is_finite() { value } else { 0.0 };
            nodes[l.node].value = value;
            for &i in &index[l.start..l.end] {
                raw[i as usize] += value as f64;
            }
        }
        Tree::from_grown(&nodes)
    }
}

/// The base score and trees fitted on the rows given, with early stopping on the held-out
/// rows `(x, y, weight, patience)` if any.
#[allow(clippy::type_complexity)]
fn fit_rows(
    binner: &Binner,
    x: &[f64],
    cols: usize,
    y: &[bool],
    weight: &[f64],
    params: BoostingParams,
    held_out: Option<(&[f64], &[bool], &[f64], usize)>,
) -> Result<(f64, Vec<Tree>)> {
    let rows = y.len();
    let bins = binner.transform(x, rows, cols);
    let (wp, wt) = y.iter().zip(weight).fold((0.0, 0.0), |(p, t), (&yi, &wi)| (if yi { p + wi } else { p }, t + wi));
    if !(wp > 0.0 && wp < wt) {
        return Err(Error::Model("gradient boosting needs deposit and non-deposit rows of positive weight".into()));
    }
    let base_score = (wp / (wt - wp)).ln();
    let mut grower = Grower {
        bins: &bins,
        edges: &binner.edges,
        nbins: binner.edges.iter().map(|e| e.len() + 1).collect(),
        params,
        grad: vec![0.0; rows],
        hess: vec![0.0; rows],
    };
    let mut raw = vec![base_score; rows];
    let mut index: Vec<u32> = (0..rows as u32).collect();
    let mut scratch = Vec::with_capacity(rows);
    let mut trees = Vec::with_capacity(params.iterations);
    // Early stopping: raw log-odds of the held-out rows and their scores (minus the loss),
    // the first for the base score alone.
    let mut val_raw = held_out.map(|(_, yv, _, _)| vec![base_score; yv.len()]).unwrap_or_default();
    let mut scores: Vec<f64> = held_out.iter().map(|&(_, yv, wv, _)| -log_loss(&val_raw, yv, wv)).collect();
    for _ in 0..params.iterations {
        grower.grad.par_chunks_mut(8192).zip(grower.hess.par_chunks_mut(8192)).enumerate().for_each(|(c, (g, h))| {
            let start = c * 8192;
            for k in 0..g.len() {
                let i = start + k;
                let p = 1.0 / (1.0 + (-raw[i]).exp());
                let yi = if y[i] { 1.0 } else { 0.0 };
                g[k] = (weight[i] * (p - yi)) as f32;
                h[k] = (weight[i] * p * (1.0 - p)) as f32;
            }
        });
        // Rows in ascending order at the root: the partitions keep them sorted.
        for (k, i) in index.iter_mut().enumerate() {
            *i = k as u32;
        }
        let tree = grower.tree(&mut index, &mut scratch, &mut raw);
        if let Some((xv, yv, wv, patience)) = held_out {
            for (i, z) in val_raw.iter_mut().enumerate() {
                *z += tree.predict_row(&xv[i * cols..(i + 1) * cols]) as f64;
            }
            scores.push(-log_loss(&val_raw, yv, wv));
            trees.push(tree);
            // scikit-learn's rule: stop when none of the last `patience` scores beats the
            // one before them by more than the tolerance.
            if scores.len() > patience {
                let reference = scores[scores.len() - patience - 1] + EARLY_STOPPING_TOL;
                if !scores[scores.len() - patience..].iter().any(|&s| s > reference) {
                    break;
                }
            }
        } else {
            trees.push(tree);
        }
    }
    Ok((base_score, trees))
}

/// Mean weighted log loss of raw log-odds `raw` for labels `y`.
fn log_loss(raw: &[f64], y: &[bool], w: &[f64]) -> f64 {
    let (mut loss, mut wt) = (0.0, 0.0);
    for ((&z, &yi), &wi) in raw.iter().zip(y).zip(w) {
        // log(1 + e^z) - y z, computed without overflow.
        let softplus = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
        loss += wi * (softplus - if yi { z } else { 0.0 });
        wt += wi;
    }
    loss / wt
}

/// Row-major copy of the rows `idx`.
fn rows_of(x: &[f64], cols: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter().flat_map(|&i| x[i * cols..(i + 1) * cols].iter().copied()).collect()
}

impl Boosting {
    /// Fits on row-major `(rows, cols)` data, labels and per-row weights. `seed` draws the
    /// held-out rows of early stopping; without it the fit uses no randomness.
    pub fn fit(
        binner: Binner,
        x: &[f64],
        cols: usize,
        y: &[bool],
        weight: &[f64],
        params: BoostingParams,
        seed: u64,
    ) -> Result<Boosting> {
        let rows = y.len();
        if rows == 0 || weight.len() != rows || x.len() != rows * cols {
            return Err(Error::Model(format!(
                "gradient boosting needs rows: {} labels, {} weights, {} values for {cols} columns",
                rows,
                weight.len(),
                x.len()
            )));
        }
        let Some(patience) = params.n_iter_no_change else {
            let (base_score, trees) = fit_rows(&binner, x, cols, y, weight, params, None)?;
            return Ok(Boosting { binner, params, base_score, trees, compiled: Default::default() });
        };
        // Stratified hold-out: the same fraction of each class, at least one row of each
        // class left for training.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut held = vec![false; rows];
        for class in [true, false] {
            let mut idx: Vec<usize> = (0..rows).filter(|&i| y[i] == class).collect();
            idx.shuffle(&mut rng);
            let k = ((idx.len() as f64 * params.validation_fraction).round() as usize).min(idx.len().saturating_sub(1));
            for &i in &idx[..k] {
                held[i] = true;
            }
        }
        let train: Vec<usize> = (0..rows).filter(|&i| !held[i]).collect();
        let val: Vec<usize> = (0..rows).filter(|&i| held[i]).collect();
        let pick = |v: &[usize]| -> (Vec<f64>, Vec<bool>, Vec<f64>) {
            (rows_of(x, cols, v), v.iter().map(|&i| y[i]).collect(), v.iter().map(|&i| weight[i]).collect())
        };
        let (xt, yt, wt) = pick(&train);
        let (xv, yv, wv) = pick(&val);
        let held_out =
            if val.is_empty() { None } else { Some((xv.as_slice(), yv.as_slice(), wv.as_slice(), patience)) };
        let (base_score, trees) = fit_rows(&binner, &xt, cols, &yt, &wt, params, held_out)?;
        Ok(Boosting { binner, params, base_score, trees, compiled: Default::default() })
    }

    /// Probability of a deposit for each row of row-major `(rows, cols)` data.
    /// (On the compiled trees, see [`Compiled`]; identical to [`Boosting::predict_raw`].)
    pub fn predict(&self, x: &[f64], cols: usize) -> Vec<f64> {
        self.predict_rows(&Rows::Dense { x, cols })
    }

    /// [`Boosting::predict`] of `x`.
    pub fn predict_rows(&self, x: &Rows) -> Vec<f64> {
        let Some(c) = Compiled::cached(&self.compiled, &self.trees, x.cols()) else {
            return self.predict_raw(&x.dense(), x.cols());
        };
        let mut z = vec![self.base_score; x.len()];
        c.for_each_leaf(x, |i, v| z[i] += v as f64);
        z.into_iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect()
    }

    /// [`Boosting::predict`] walking the trees on the raw values.
    pub fn predict_raw(&self, x: &[f64], cols: usize) -> Vec<f64> {
        let rows = x.len().checked_div(cols).unwrap_or(0);
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

    fn params(iterations: usize, learning_rate: f32, max_leaves: usize, min_samples_leaf: usize) -> BoostingParams {
        BoostingParams {
            iterations,
            learning_rate,
            max_depth: None,
            min_leaf_weight: 1e-3,
            max_bins: 255,
            max_leaves,
            min_samples_leaf,
            l2_regularization: 0.0,
            n_iter_no_change: None,
            validation_fraction: 0.1,
        }
    }

    #[test]
    fn early_stopping_stops_on_noise_and_not_on_signal() {
        let n = 4000;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x: Vec<f64> = (0..n * 2).map(|_| rand::Rng::gen::<f64>(&mut rng)).collect();
        let noise: Vec<bool> = (0..n).map(|_| rand::Rng::gen_bool(&mut rng, 0.3)).collect();
        let signal: Vec<bool> = (0..n).map(|i| x[i * 2] > 0.5).collect();
        let binner = Binner::fit(&x, n, 2, 255);
        let mut p = params(100, 0.3, 31, 5);
        p.n_iter_no_change = Some(5);
        // Labels independent of x: the held-out loss gets worse from the first trees on.
        let b = Boosting::fit(binner.clone(), &x, 2, &noise, &vec![1.0; n], p, 1).unwrap();
        assert!((5..=20).contains(&b.trees.len()), "{} trees", b.trees.len());
        // A clean threshold with a small learning rate: every round still helps.
        p.iterations = 30;
        p.learning_rate = 0.05;
        let b = Boosting::fit(binner, &x, 2, &signal, &vec![1.0; n], p, 1).unwrap();
        assert_eq!(b.trees.len(), 30);
    }

    #[test]
    fn one_stump_has_the_hand_computed_leaf_values() {
        // Base log-odds ln(3/3) = 0, so p = 0.5, g = p - y = ±0.5, h = 0.25 per row. The
        // best split is x <= 0: left y = 0, 0, 1 gives G = 0.5, H = 0.75, value -G/H = -2/3;
        // the right leaf is +2/3.
        let x = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let y = [false, false, true, true, true, false];
        let b = Boosting::fit(Binner::fit(&x, 6, 1, 255), &x, 1, &y, &[1.0; 6], params(1, 1.0, 2, 1), 0).unwrap();
        assert_eq!(b.base_score, 0.0);
        assert_eq!(b.trees.len(), 1);
        let p = b.predict(&[-5.0, 0.0, 0.5, 7.0], 1);
        let (lo, hi) = (1.0 / (1.0 + (2.0f64 / 3.0).exp()), 1.0 / (1.0 + (-2.0f64 / 3.0).exp()));
        for (got, want) in p.iter().zip([lo, lo, hi, hi]) {
            assert!((got - want).abs() < 1e-6, "{p:?}");
        }
    }

    #[test]
    fn matches_scikit_learn_hist_gradient_boosting_on_integer_features() {
        // With fewer distinct values than bins both bin every value on its own and split
        // between the same values, so the trees are the same. Reference: scikit-learn 1.9.1,
        //   HistGradientBoostingClassifier(max_iter=20, learning_rate=0.1, max_leaf_nodes=31,
        //     min_samples_leaf=20, l2_regularization=0, early_stopping=False).fit(x, y)
        //   .predict_proba(q)[:, 1]
        // on the rows below (i = 0..400).
        let n = 400;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let r = [(i * 7) % 10, (i / 10 * 3 + i % 3) % 10, (i * i + i / 7) % 7];
            x.extend(r.iter().map(|&v| v as f64));
            y.push(r[0] as i64 + 2 * r[1] as i64 + ((i * 31) % 11) as i64 - r[2] as i64 > 15);
        }
        let q = [
            [0., 0., 0.],
            [9., 9., 6.],
            [5., 5., 3.],
            [2., 8., 1.],
            [8., 2., 5.],
            [4., 6., 0.],
            [7., 7., 2.],
            [1., 3., 4.],
        ];
        let sklearn = [
            0.075576375905,
            0.935986883049,
            0.568105908532,
            0.907750420067,
            0.111736640585,
            0.851180476055,
            0.927580640975,
            0.091888134178,
        ];
        let b =
            Boosting::fit(Binner::fit(&x, n, 3, 255), &x, 3, &y, &vec![1.0; n], params(20, 0.1, 31, 20), 0).unwrap();
        let p = b.predict(q.as_flattened(), 3);
        for (got, want) in p.iter().zip(sklearn) {
            assert!((got - want).abs() < 1e-6, "lode {p:?}\nscikit-learn {sklearn:?}");
        }
        // The compiled trees predict exactly what walking the raw thresholds does.
        assert_eq!(p, b.predict_raw(q.as_flattened(), 3));
        assert_eq!(b.predict(&x, 3), b.predict_raw(&x, 3));
        // Leaves respect max_leaves and min_samples_leaf (every leaf is reached by >= 20 rows).
        for t in &b.trees {
            assert!(t.nodes.iter().filter(|n| n.feature == u32::MAX).count() <= 31);
        }
    }

    #[test]
    fn max_leaves_and_max_depth_bound_the_trees() {
        let n = 2000;
        let x: Vec<f64> = (0..n * 2).map(|i| ((i * 7919 + 13) % 1009) as f64 / 101.0).collect();
        let y: Vec<bool> = (0..n).map(|i| (x[i * 2] * 3.0).sin() + x[i * 2 + 1] * 0.3 > 1.0).collect();
        let binner = Binner::fit(&x, n, 2, 255);
        let leaves = |b: &Boosting| {
            b.trees.iter().map(|t| t.nodes.iter().filter(|n| n.feature == u32::MAX).count()).max().unwrap()
        };
        let b = Boosting::fit(binner.clone(), &x, 2, &y, &vec![1.0; n], params(5, 0.1, 7, 1), 0).unwrap();
        assert_eq!(leaves(&b), 7);
        let mut p = params(5, 0.1, 31, 1);
        p.max_depth = Some(2);
        let b = Boosting::fit(binner, &x, 2, &y, &vec![1.0; n], p, 0).unwrap();
        assert_eq!(leaves(&b), 4);
    }
}
