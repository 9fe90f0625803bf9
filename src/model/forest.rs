//! A histogram-based random forest written in lode.
//!
//! - Features are binned once on the training rows ([`Binner`]: up to `max_bins` quantile
//!   bins per column, the same binning the boosting model uses); trees are grown on the bin
//!   indices, so a split is "bin <= b", stored as the raw threshold "x <= edge\[b\]".
//! - Each tree: a bootstrap sample of the rows (with replacement, as many as rows), at
//!   each node `max_features` columns drawn at random (default `sqrt(columns)`), the split
//!   of largest weighted Gini decrease, nodes split while they are shallower than
//!   `max_depth` and both children keep `min_samples_leaf` rows.
//! - Probability of a deposit = mean over the trees of the (weighted) fraction of deposit
//!   rows in the leaf reached. The standard deviation over the trees is the uncertainty.
//! - Trees are grown in parallel (rayon); tree `t` draws from its own generator seeded
//!   with `(seed, t)`, so results do not depend on the number of threads.
//! - Prediction ([`Forest::predict_with_spread`]) runs on a compiled copy of the trees
//!   ([`Compiled`], built on first use): each row is binned once against the distinct
//!   thresholds of its columns (16-bit bin indices), so a split is an integer comparison on
//!   8-byte nodes, and a block of rows goes through one tree after the other while that
//!   tree stays in cache. The comparisons are exactly those of the raw thresholds, so the
//!   predictions are identical to walking [`Tree`]s on the raw values.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::{LayerValues, WindowFeatures};

/// Quantile bin edges per column, learnt on training rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Binner {
    /// `edges[j]`: ascending thresholds of column `j`; bin `b` holds `edges[b-1] < x <= edges[b]`.
    pub edges: Vec<Vec<f64>>,
}

impl Binner {
    /// Learns at most `max_bins` bins per column of the row-major `(rows, cols)` data.
    pub fn fit(x: &[f64], rows: usize, cols: usize, max_bins: usize) -> Binner {
        let max_bins = max_bins.clamp(2, 256);
        let edges = (0..cols)
            .into_par_iter()
            .map(|j| {
                let mut v: Vec<f64> = (0..rows).map(|i| x[i * cols + j]).collect();
                v.sort_unstable_by(f64::total_cmp);
                v.dedup();
                if v.len() <= max_bins {
                    // Every distinct value but the largest is a threshold.
                    v.pop();
                    v
                } else {
                    let mut e: Vec<f64> = (1..max_bins).map(|k| v[(k * v.len()) / max_bins - 1]).collect();
                    e.dedup();
                    e
                }
            })
            .collect();
        Binner { edges }
    }

    /// The bin of value `x` in column `j`.
    pub fn bin(&self, j: usize, x: f64) -> u8 {
        self.edges[j].partition_point(|&e| e < x) as u8
    }

    /// Column-major bin indices of row-major data.
    pub fn transform(&self, x: &[f64], rows: usize, cols: usize) -> Vec<Vec<u8>> {
        (0..cols).into_par_iter().map(|j| (0..rows).map(|i| self.bin(j, x[i * cols + j])).collect()).collect()
    }
}

/// Random forest hyperparameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees.
    pub n_trees: usize,
    /// Depth limit (`None`: grow until `min_samples_leaf` or purity stops it).
    pub max_depth: Option<usize>,
    /// Fewest bootstrap rows a leaf may hold.
    pub min_samples_leaf: usize,
    /// Columns tried per split (`None`: `sqrt(columns)`, at least 1).
    pub max_features: Option<usize>,
    /// Bins per column.
    pub max_bins: usize,
}

/// A node while a tree is grown (or converted): a split (`feature < u32::MAX`) or a leaf.
#[derive(Debug, Clone)]
pub(crate) struct GrowNode {
    /// Split column, `u32::MAX` for a leaf.
    pub feature: u32,
    /// Rows with `x[feature] <= threshold` go left.
    pub threshold: f64,
    /// Left child.
    pub left: u32,
    /// Right child.
    pub right: u32,
    /// Leaf value.
    pub value: f32,
}

/// One node of a fitted tree, 16 bytes: a split, whose left child is the next node and
/// right child `right`, or a leaf (`feature == u32::MAX`) whose value is `threshold`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// Rows with `x[feature] <= threshold` go to the next node, the others to `right`;
    /// a leaf's value.
    pub threshold: f64,
    /// Split column, `u32::MAX` for a leaf.
    pub feature: u32,
    /// Right child.
    pub right: u32,
}

/// One tree, nodes depth first from the root (a left child follows its parent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The leaf value of one row.
    #[inline]
    pub fn predict_row(&self, row: &[f64]) -> f32 {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.feature == u32::MAX {
                return n.threshold as f32;
            }
            i = if row[n.feature as usize] > n.threshold { n.right as usize } else { i + 1 };
        }
    }

    /// Lays grown nodes (root first, children anywhere) out depth first.
    pub(crate) fn from_grown(grown: &[GrowNode]) -> Tree {
        fn emit(grown: &[GrowNode], g: usize, out: &mut Vec<Node>) -> u32 {
            let o = out.len();
            let n = &grown[g];
            out.push(Node { threshold: n.value as f64, feature: u32::MAX, right: 0 });
            if n.feature != u32::MAX {
                emit(grown, n.left as usize, out);
                let right = emit(grown, n.right as usize, out);
                out[o] = Node { threshold: n.threshold, feature: n.feature, right };
            }
            o as u32
        }
        let mut nodes = Vec::with_capacity(grown.len());
        emit(grown, 0, &mut nodes);
        Tree { nodes }
    }
}

/// The rows a tree model predicts: row-major values, or cells of a window's features
/// (whose one-hot layers are binned from their hot column, with no dense copy).
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Row-major `(rows, cols)` values.
    Dense {
        /// The values.
        x: &'a [f64],
        /// Columns per row.
        cols: usize,
    },
    /// The cells `cells` of `features`.
    Window {
        /// The window's features.
        features: &'a WindowFeatures,
        /// The cells predicted, in order.
        cells: &'a [usize],
    },
}

impl<'a> Rows<'a> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Dense { x, cols } => x.len().checked_div(*cols).unwrap_or(0),
            Rows::Window { cells, .. } => cells.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Columns per row.
    pub fn cols(&self) -> usize {
        match self {
            Rows::Dense { cols, .. } => *cols,
            Rows::Window { features, .. } => features.columns(),
        }
    }

    /// The rows as row-major values (borrowed when they are).
    pub fn dense(&self) -> std::borrow::Cow<'a, [f64]> {
        match *self {
            Rows::Dense { x, .. } => std::borrow::Cow::Borrowed(x),
            Rows::Window { features, cells } => std::borrow::Cow::Owned(features.rows(cells)),
        }
    }

    /// Appends to `out`, for each row of `start..end`, its bin against `thresholds[j]` of
    /// every column `j < thresholds.len()` and then `u16::MAX`: the number of thresholds
    /// below the value (see [`Compiled`]).
    fn bin_into(&self, thresholds: &[Vec<f64>], start: usize, end: usize, out: &mut Vec<u16>) {
        let bin = |t: &[f64], v: f64| t.partition_point(|&e| e < v) as u16;
        match *self {
            Rows::Dense { x, cols } => {
                for row in x[start * cols..end * cols].chunks_exact(cols) {
                    out.extend(thresholds.iter().zip(row).map(|(t, &v)| bin(t, v)));
                    out.push(u16::MAX);
                }
            }
            Rows::Window { features, cells } => {
                let used = thresholds.len();
                // Per one-hot layer: the bins of its columns at 0 and at 1.
                let hot_bins: Vec<Option<(Vec<u16>, Vec<u16>)>> = features
                    .layers
                    .iter()
                    .zip(&features.spans)
                    .map(|(l, span)| match l {
                        LayerValues::Hot(_) => {
                            let cols = span.start.min(used)..span.end.min(used);
                            let at = |v: f64| thresholds[cols.clone()].iter().map(|t| bin(t, v)).collect();
                            Some((at(0.0), at(1.0)))
                        }
                        LayerValues::Dense(_) => None,
                    })
                    .collect();
                for &i in &cells[start..end] {
                    let row = out.len();
                    for ((layer, span), hb) in features.layers.iter().zip(&features.spans).zip(&hot_bins) {
                        if span.start >= used {
                            break;
                        }
                        let t = &thresholds[span.start..span.end.min(used)];
                        match (layer, hb) {
                            (LayerValues::Dense(v), _) => {
                                out.extend(t.iter().zip(v.row(i)).map(|(t, &v)| bin(t, v)));
                            }
                            (LayerValues::Hot(h), Some((zero, one))) => {
                                out.extend_from_slice(zero);
                                if let Some(&b) = one.get(h[i] as usize) {
                                    out[row + span.start + h[i] as usize] = b;
                                }
                            }
                            (LayerValues::Hot(_), None) => unreachable!("bins of every one-hot layer"),
                        }
                    }
                    out.push(u16::MAX);
                }
            }
        }
    }
}

/// Rows predicted together, tree after tree.
pub(crate) const PREDICT_CHUNK: usize = 512;

/// A fitted random forest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    /// The trees.
    pub trees: Vec<Tree>,
    /// The parameters it was grown with.
    pub params: ForestParams,
    /// The trees compiled for prediction, built on first use (not saved; `None` inside
    /// when the trees cannot be compiled, see [`Compiled::new`]).
    #[serde(skip)]
    compiled: OnceLock<Option<Compiled>>,
}

/// Rows binned and predicted together by [`Compiled`]: one window of 256 x 256 cells.
const COMPILED_CHUNK: usize = 1 << 16;

/// One node of a [`Compiled`] forest, 8 bytes: go to `right` when the row's bin of
/// `feature` is greater than `bin`, else to the next node. A leaf points to itself
/// through a sentinel column whose bin is always `u16::MAX`.
#[derive(Debug, Clone, Copy)]
struct FlatNode {
    right: u32,
    feature: u16,
    bin: u16,
}

/// Trees compiled for fast prediction: every split threshold of column `j` is one of the
/// sorted distinct `thresholds[j]`, so `x > t_k` exactly when `bin(x) > k`, with
/// `bin(x)` = the number of thresholds below `x` (also for NaN, which goes left either way).
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Sorted distinct thresholds per column (columns no split uses are empty).
    thresholds: Vec<Vec<f64>>,
    /// All trees' nodes, with absolute child indices.
    nodes: Vec<FlatNode>,
    /// Leaf value per node (0 at splits).
    values: Vec<f32>,
    /// First node of each tree.
    roots: Vec<u32>,
}

impl Compiled {
    /// Compiles `trees`; `None` when they cannot be (a column with more than 65535
    /// distinct thresholds, a NaN threshold, 65535 columns or more, 2^32 nodes or more):
    /// those forests are walked on the raw values.
    pub fn new(trees: &[Tree]) -> Option<Compiled> {
        let splits = || trees.iter().flat_map(|t| t.nodes.iter()).filter(|n| n.feature != u32::MAX);
        let columns = splits().map(|n| n.feature as usize + 1).max().unwrap_or(0);
        let total: usize = trees.iter().map(|t| t.nodes.len()).sum();
        if columns >= u16::MAX as usize || total >= u32::MAX as usize {
            return None;
        }
        let mut thresholds = vec![Vec::new(); columns];
        for n in splits() {
            if n.threshold.is_nan() {
                return None;
            }
            thresholds[n.feature as usize].push(n.threshold);
        }
        for t in &mut thresholds {
            t.sort_by(f64::total_cmp);
            t.dedup();
            if t.len() >= u16::MAX as usize {
                return None;
            }
        }
        let mut nodes = Vec::with_capacity(total);
        let mut values = Vec::with_capacity(total);
        let mut roots = Vec::with_capacity(trees.len());
        for t in trees {
            let base = nodes.len() as u32;
            roots.push(base);
            for (i, n) in t.nodes.iter().enumerate() {
                if n.feature == u32::MAX {
                    nodes.push(FlatNode { right: base + i as u32, feature: columns as u16, bin: 0 });
                    values.push(n.threshold as f32);
                } else {
                    let bin = thresholds[n.feature as usize].partition_point(|&e| e < n.threshold) as u16;
                    nodes.push(FlatNode { right: base + n.right, feature: n.feature as u16, bin });
                    values.push(0.0);
                }
            }
        }
        Some(Compiled { thresholds, nodes, values, roots })
    }

    /// The compiled `trees` cached in `cell` (built on first use; rebuilt, uncached, when
    /// the number of trees changed since), if they can be compiled and `cols` covers
    /// every column they split on.
    pub(crate) fn cached<'a>(
        cell: &'a OnceLock<Option<Compiled>>,
        trees: &[Tree],
        cols: usize,
    ) -> Option<std::borrow::Cow<'a, Compiled>> {
        let c = cell.get_or_init(|| Compiled::new(trees));
        let c = match c {
            Some(k) if k.roots.len() == trees.len() => std::borrow::Cow::Borrowed(k),
            _ => std::borrow::Cow::Owned(Compiled::new(trees)?),
        };
        (cols >= c.thresholds.len()).then_some(c)
    }

    /// Calls `leaf(row, value)` for every tree (in order) and row of the row-major
    /// `(rows, cols)` data, trees in the outer loop within chunks of rows. `cols` must
    /// cover every column the trees split on.
    pub(crate) fn for_each_leaf(&self, x: &Rows, mut leaf: impl FnMut(usize, f32)) {
        let used = self.thresholds.len();
        debug_assert!(x.cols() >= used);
        let stride = used + 1;
        let rows = x.len();
        let mut bins: Vec<u16> = Vec::with_capacity(rows.min(COMPILED_CHUNK) * stride);
        for start in (0..rows).step_by(COMPILED_CHUNK) {
            let end = (start + COMPILED_CHUNK).min(rows);
            bins.clear();
            x.bin_into(&self.thresholds, start, end, &mut bins);
            for &root in &self.roots {
                for (r, row) in bins.chunks_exact(stride).enumerate() {
                    let mut k = root as usize;
                    loop {
                        let n = self.nodes[k];
                        let next = if row[n.feature as usize] > n.bin { n.right as usize } else { k + 1 };
                        if next == k {
                            break;
                        }
                        k = next;
                    }
                    leaf(start + r, self.values[k]);
                }
            }
        }
    }
}

pub use crate::training::derive_seed;

struct Grower<'a> {
    bins: &'a [Vec<u8>],
    edges: &'a [Vec<f64>],
    y: &'a [bool],
    /// Per row: bootstrap count times class weight.
    w: Vec<f64>,
    /// Per row: bootstrap count.
    n: Vec<u32>,
    params: ForestParams,
    mtry: usize,
    nodes: Vec<GrowNode>,
}

impl Grower<'_> {
    fn leaf(&mut self, rows: &[usize]) -> u32 {
        let (mut wt, mut wp) = (0.0, 0.0);
        for &i in rows {
            wt += self.w[i];
            if self.y[i] {
                wp += self.w[i];
            }
        }
        self.nodes.push(GrowNode {
            feature: u32::MAX,
            threshold: 0.0,
            left: 0,
            right: 0,
            value: if wt > 0.0 { (wp / wt) as f32 } else { 0.0 },
        });
        (self.nodes.len() - 1) as u32
    }

    fn grow(&mut self, rows: &mut [usize], depth: usize, rng: &mut ChaCha8Rng) -> u32 {
        let count: u64 = rows.iter().map(|&i| self.n[i] as u64).sum();
        let (mut wt, mut wp) = (0.0, 0.0);
        for &i in rows.iter() {
            wt += self.w[i];
            if self.y[i] {
                wp += self.w[i];
            }
        }
        let min_leaf = self.params.min_samples_leaf.max(1) as u64;
        if self.params.max_depth.is_some_and(|d| depth >= d) || count < 2 * min_leaf || wp <= 0.0 || wp >= wt {
            return self.leaf(rows);
        }
        let parent = wt - wp * wp / wt - (wt - wp) * (wt - wp) / wt; // wt * gini
        let cols = self.bins.len();
        let mut order: Vec<usize> = (0..cols).collect();
        let mut best: Option<(f64, usize, usize)> = None; // (impurity decrease, feature, bin)
        let mut hist_w = [0f64; 256];
        let mut hist_p = [0f64; 256];
        let mut hist_n = [0u64; 256];
        // Draw features without replacement; like scikit-learn, keep drawing past `mtry`
        // while no valid split has been found among the columns tried.
        for k in 0..cols {
            if k >= self.mtry && best.is_some() {
                break;
            }
            let pick = rng.gen_range(k..cols);
            order.swap(k, pick);
            let j = order[k];
            let nb = self.edges[j].len() + 1;
            if nb < 2 {
                continue;
            }
            hist_w[..nb].fill(0.0);
            hist_p[..nb].fill(0.0);
            hist_n[..nb].fill(0);
            let col = &self.bins[j];
            for &i in rows.iter() {
                let b = col[i] as usize;
                hist_w[b] += self.w[i];
                hist_n[b] += self.n[i] as u64;
                if self.y[i] {
                    hist_p[b] += self.w[i];
                }
            }
            let (mut lw, mut lp, mut ln) = (0.0, 0.0, 0u64);
            for b in 0..nb - 1 {
                lw += hist_w[b];
                lp += hist_p[b];
                ln += hist_n[b];
                if ln < min_leaf {
                    continue;
                }
                if count - ln < min_leaf {
                    break;
                }
                let (rw, rp) = (wt - lw, wp - lp);
                if lw <= 0.0 || rw <= 0.0 {
                    continue;
                }
                let child =
                    (lw - lp * lp / lw - (lw - lp) * (lw - lp) / lw) + (rw - rp * rp / rw - (rw - rp) * (rw - rp) / rw);
                let gain = parent - child;
                if gain > 1e-12 * wt && best.is_none_or(|(g, _, _)| gain > g) {
                    best = Some((gain, j, b));
                }
            }
        }
        let Some((_, j, b)) = best else {
            return self.leaf(rows);
        };
        // Partition rows: bin <= b to the left.
        let col = &self.bins[j];
        let mut l = 0;
        for r in 0..rows.len() {
            if col[rows[r]] as usize <= b {
                rows.swap(l, r);
                l += 1;
            }
        }
        let me = self.nodes.len();
        self.nodes.push(GrowNode { feature: j as u32, threshold: self.edges[j][b], left: 0, right: 0, value: 0.0 });
        let (left_rows, right_rows) = rows.split_at_mut(l);
        let left = self.grow(left_rows, depth + 1, rng);
        let right = self.grow(right_rows, depth + 1, rng);
        self.nodes[me].left = left;
        self.nodes[me].right = right;
        me as u32
    }
}

impl Forest {
    /// Grows the forest on binned columns `bins` (column-major, from `binner`), labels
    /// `y` and per-row weights `weight` (class weights), with `seed`.
    pub fn fit(
        binner: &Binner,
        bins: &[Vec<u8>],
        y: &[bool],
        weight: &[f64],
        params: ForestParams,
        seed: u64,
    ) -> Forest {
        let rows = y.len();
        let cols = bins.len();
        let mtry = params.max_features.unwrap_or_else(|| (cols as f64).sqrt().floor() as usize).clamp(1, cols.max(1));
        let trees = (0..params.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, t as u64));
                let mut n = vec![0u32; rows];
                for _ in 0..rows {
                    n[rng.gen_range(0..rows)] += 1;
                }
                let w = n.iter().zip(weight).map(|(&c, &wi)| c as f64 * wi).collect();
                let mut sample: Vec<usize> = (0..rows).filter(|&i| n[i] > 0).collect();
                let mut g = Grower { bins, edges: &binner.edges, y, w, n, params, mtry, nodes: Vec::new() };
                if sample.is_empty() {
                    g.nodes.push(GrowNode { feature: u32::MAX, threshold: 0.0, left: 0, right: 0, value: 0.0 });
                } else {
                    g.grow(&mut sample, 0, &mut rng);
                }
                Tree::from_grown(&g.nodes)
            })
            .collect();
        Forest { trees, params, compiled: OnceLock::new() }
    }

    /// Mean and standard deviation over the trees for each row of the row-major
    /// `(rows, cols)` data.
    pub fn predict_with_spread(&self, x: &[f64], cols: usize) -> (Vec<f64>, Vec<f64>) {
        self.predict_rows(&Rows::Dense { x, cols })
    }

    /// [`Forest::predict_with_spread`] of `x`.
    pub fn predict_rows(&self, x: &Rows) -> (Vec<f64>, Vec<f64>) {
        let Some(c) = Compiled::cached(&self.compiled, &self.trees, x.cols()) else {
            return self.predict_with_spread_raw(&x.dense(), x.cols());
        };
        let rows = x.len();
        let mut sum = vec![0f64; rows];
        let mut sum2 = vec![0f64; rows];
        c.for_each_leaf(x, |i, v| {
            let v = v as f64;
            sum[i] += v;
            sum2[i] += v * v;
        });
        Self::mean_sd(&sum, &sum2, self.trees.len())
    }

    fn mean_sd(sum: &[f64], sum2: &[f64], trees: usize) -> (Vec<f64>, Vec<f64>) {
        let n = trees.max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let sd = sum2.iter().zip(&mean).map(|(s2, m)| (s2 / n - m * m).max(0.0).sqrt()).collect();
        (mean, sd)
    }

    /// [`Forest::predict_with_spread`] walking the trees on the raw values (the reference
    /// the compiled trees must equal, and the path of forests that cannot be compiled).
    pub fn predict_with_spread_raw(&self, x: &[f64], cols: usize) -> (Vec<f64>, Vec<f64>) {
        let rows = x.len().checked_div(cols).unwrap_or(0);
        let mut sum = vec![0f64; rows];
        let mut sum2 = vec![0f64; rows];
        // Chunks of rows that stay in cache while every tree visits them; the sums per
        // row still run over the trees in order, so results do not depend on the chunking.
        for start in (0..rows).step_by(PREDICT_CHUNK) {
            let end = (start + PREDICT_CHUNK).min(rows);
            for t in &self.trees {
                for i in start..end {
                    let v = t.predict_row(&x[i * cols..(i + 1) * cols]) as f64;
                    sum[i] += v;
                    sum2[i] += v * v;
                }
            }
        }
        Self::mean_sd(&sum, &sum2, self.trees.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_split_at_quantiles_and_thresholds_reproduce_bins() {
        let x: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let b = Binner::fit(&x, 1000, 1, 4);
        assert_eq!(b.edges[0], vec![249.0, 499.0, 749.0]);
        assert_eq!(b.bin(0, 249.0), 0);
        assert_eq!(b.bin(0, 249.5), 1);
        assert_eq!(b.bin(0, 2000.0), 3);
        let few = Binner::fit(&[1.0, 2.0, 2.0, 3.0], 4, 1, 255);
        assert_eq!(few.edges[0], vec![1.0, 2.0]);
    }

    #[test]
    fn a_forest_separates_a_threshold_rule_and_is_reproducible() {
        // y = x0 > 0.5, x1 noise: every tree must split on x0 at the root or below.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let rows = 400;
        let x: Vec<f64> = (0..rows * 2).map(|_| rng.gen::<f64>()).collect();
        let y: Vec<bool> = (0..rows).map(|i| x[i * 2] > 0.5).collect();
        let binner = Binner::fit(&x, rows, 2, 255);
        let bins = binner.transform(&x, rows, 2);
        let params =
            ForestParams { n_trees: 20, max_depth: None, min_samples_leaf: 1, max_features: Some(2), max_bins: 255 };
        let f = Forest::fit(&binner, &bins, &y, &vec![1.0; rows], params, 9);
        let (p, _) = f.predict_with_spread(&[0.9, 0.1, 0.1, 0.9], 2);
        assert!(p[0] > 0.95 && p[1] < 0.05, "{p:?}");
        let g = Forest::fit(&binner, &bins, &y, &vec![1.0; rows], params, 9);
        assert_eq!(serde_json::to_string(&f).unwrap(), serde_json::to_string(&g).unwrap());
    }

    #[test]
    fn compiled_trees_predict_exactly_what_walking_the_raw_thresholds_gives() {
        // Two forests grown on differently binned data and merged (as `pu_bagging` does),
        // so a column has thresholds from two binners; column 2 is never split on.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (rows, cols) = (4000, 4);
        let mut x: Vec<f64> = (0..rows * cols).map(|_| rng.gen::<f64>() * 10.0 - 5.0).collect();
        let y: Vec<bool> = (0..rows).map(|i| x[i * cols] + 0.5 * x[i * cols + 1] + rng.gen::<f64>() > 0.3).collect();
        let params =
            ForestParams { n_trees: 40, max_depth: None, min_samples_leaf: 1, max_features: Some(2), max_bins: 255 };
        let mut forest: Option<Forest> = None;
        for (part, seed) in [(0..rows / 2, 1u64), (rows / 2..rows, 2)] {
            let mut xs = Vec::new();
            for i in part.clone() {
                xs.extend_from_slice(&x[i * cols..(i + 1) * cols]);
                let k = xs.len() - 2;
                xs[k] = 0.0; // column 2 constant: no split on it
            }
            let n = part.len();
            let binner = Binner::fit(&xs, n, cols, 255);
            let bins = binner.transform(&xs, n, cols);
            let f = Forest::fit(&binner, &bins, &y[part], &vec![1.0; n], params, seed);
            match &mut forest {
                Some(all) => all.trees.extend(f.trees),
                None => forest = Some(f),
            }
        }
        let forest = forest.unwrap();
        let c = Compiled::new(&forest.trees).unwrap();
        assert!(c.thresholds[0].len() > 255, "thresholds of both binners: {}", c.thresholds[0].len());
        assert!(c.thresholds[2].is_empty());
        // Rows on the thresholds themselves, next to them, signed zeros, infinities, NaN.
        let mut extra = Vec::new();
        for &t in c.thresholds[0].iter().chain(&c.thresholds[1]).step_by(7) {
            let step = t.abs().max(1e-300) * 1e-15;
            for v in [t, t + step, t - step] {
                extra.extend([v, v, 0.0, -v]);
            }
        }
        extra.extend([0.0, -0.0, 0.0, 0.0, -0.0, 0.0, 1.0, f64::NAN, f64::NAN, f64::INFINITY, 2.0, f64::NEG_INFINITY]);
        x.extend(extra);
        let compiled = forest.predict_with_spread(&x, cols);
        let raw = forest.predict_with_spread_raw(&x, cols);
        assert_eq!(compiled.0.len(), x.len() / cols);
        assert!(compiled.0 == raw.0 && compiled.1 == raw.1, "compiled and raw predictions differ");
        // Trees appended after the first prediction are not missed.
        let mut more = forest.clone();
        more.trees.push(Tree { nodes: vec![Node { threshold: 1.0, feature: u32::MAX, right: 0 }] });
        assert!(more.predict_with_spread(&x, cols) == more.predict_with_spread_raw(&x, cols));
        assert!(more.predict_with_spread(&x, cols).0 != compiled.0);
    }

    #[test]
    fn forests_that_cannot_be_compiled_are_walked_on_the_raw_values() {
        // A chain of 70000 splits on column 0 (more distinct thresholds than 16-bit bins
        // hold): node i sends x > n - 1 - i to leaf n + 1 + i (value i / n), else to node
        // i + 1; the chain ends in leaf n (value 0.25).
        let n = 70_000usize;
        let mut nodes: Vec<Node> =
            (0..n).map(|i| Node { threshold: (n - 1 - i) as f64, feature: 0, right: (n + 1 + i) as u32 }).collect();
        nodes.push(Node { threshold: 0.25, feature: u32::MAX, right: 0 });
        nodes.extend((0..n).map(|i| Node { threshold: i as f64 / n as f64, feature: u32::MAX, right: 0 }));
        let tree = Tree { nodes };
        assert!(Compiled::new(std::slice::from_ref(&tree)).is_none());
        let params =
            ForestParams { n_trees: 1, max_depth: None, min_samples_leaf: 1, max_features: None, max_bins: 255 };
        let f = Forest { trees: vec![tree], params, compiled: OnceLock::new() };
        let x = [-1.0, 0.5, 3.5, 1e9];
        let leaf = |v: f64| v as f32 as f64;
        let want = vec![0.25, leaf((n - 1) as f64 / n as f64), leaf((n - 4) as f64 / n as f64), 0.0];
        assert_eq!(f.predict_with_spread(&x, 1).0, want);
    }
}
