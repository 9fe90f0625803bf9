//! Cross-validation folds of the training rows and the rank statistics of held-out
//! predictions.
//!
//! - `spatial_block`: the plane is cut into squares of `block_size` (grid CRS units, from
//!   the grid origin); every block holding training rows goes to one of `folds` folds at
//!   random (seeded); a fold's test rows are the rows in its blocks.
//! - `cluster`: deposits are clustered by single linkage at `cluster_distance`; each
//!   cluster is one fold; each negative row joins the fold of its nearest deposit.
//! - `random`: rows go to `folds` folds at random. Neighbouring cells share their evidence,
//!   so this is optimistic: it measures interpolation, not prediction in new ground.
//!
//! - `layer`: the folds of a published design: a polygon layer whose `attribute` is the
//!   fold id of the rows whose cell centre it holds, or a raster of fold ids (`path`,
//!   the value at the row's cell). Fold ids are taken in sorted order; rows in no fold
//!   polygon (or on nodata) are never held out and train every fold (counted in a warning).
//! - `spatial_block` counts its blocks from `origin` when given (e.g. a published
//!   design's block corner), else from the grid origin.
//!
//! In every scheme, rows within `buffer` of any test row of a fold are dropped from that
//! fold's training set (and kept out of its test set: they are simply not used).
//!
//! [`cross_validate`] runs the folds for every model kind: it fits a fold model on each
//! fold's training rows and scores its held-out rows, given how to fit and predict.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rstar::RTree;
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::{RawValidation, ValidationKind};
use crate::error::Result;
use crate::features::FeatureStack;
use crate::training::{derive_seed, TrainingSet};

/// One fold: the rows it tests and the rows its model is trained on.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    /// Held-out rows.
    pub test: Vec<usize>,
    /// Training rows (not in `test`, none within the buffer of a test row).
    pub train: Vec<usize>,
    /// Rows dropped because they lie within the buffer of a test row.
    pub dropped: usize,
}

/// Splits rows at map coordinates `xy`, labels `y`, into folds.
pub fn folds(v: &RawValidation, seed: u64, xy: &[[f64; 2]], y: &[bool], origin: [f64; 2]) -> Vec<Fold> {
    let n = xy.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_F01D);
    let assignment: Vec<usize> = match v.kind {
        // `layer` folds are read from the fold layer: see [`folds_given`].
        ValidationKind::None | ValidationKind::Layer => return Vec::new(),
        ValidationKind::Random => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let mut a = vec![0; n];
            for (k, &i) in order.iter().enumerate() {
                a[i] = k % v.folds;
            }
            a
        }
        ValidationKind::SpatialBlock => {
            let block = |p: &[f64; 2]| {
                (((p[0] - origin[0]) / v.block_size).floor() as i64, ((p[1] - origin[1]) / v.block_size).floor() as i64)
            };
            let mut blocks: BTreeMap<(i64, i64), usize> = BTreeMap::new();
            for p in xy {
                blocks.insert(block(p), 0);
            }
            let mut keys: Vec<(i64, i64)> = blocks.keys().copied().collect();
            keys.shuffle(&mut rng);
            for (k, key) in keys.iter().enumerate() {
                blocks.insert(*key, k % v.folds);
            }
            xy.iter().map(|p| blocks[&block(p)]).collect()
        }
        ValidationKind::Cluster => {
            let pos: Vec<usize> = (0..n).filter(|&i| y[i]).collect();
            let cluster = single_linkage(&pos.iter().map(|&i| xy[i]).collect::<Vec<_>>(), v.cluster_distance);
            let tree: RTree<rstar::primitives::GeomWithData<[f64; 2], usize>> = RTree::bulk_load(
                pos.iter().enumerate().map(|(k, &i)| rstar::primitives::GeomWithData::new(xy[i], cluster[k])).collect(),
            );
            let mut a = vec![0; n];
            for (k, &i) in pos.iter().enumerate() {
                a[i] = cluster[k];
            }
            for i in (0..n).filter(|&i| !y[i]) {
                a[i] = tree.nearest_neighbor(&xy[i]).map_or(0, |g| g.data);
            }
            a
        }
    };
    let assignment: Vec<Option<usize>> = assignment.into_iter().map(Some).collect();
    folds_given(v, xy, &assignment)
}

/// Folds from a fold index per row (`None`: never held out, trains every fold), with the
/// exclusion buffer applied.
pub fn folds_given(v: &RawValidation, xy: &[[f64; 2]], assignment: &[Option<usize>]) -> Vec<Fold> {
    let n = xy.len();
    let k = assignment.iter().flatten().max().map_or(0, |m| m + 1);
    let buffer2 = v.buffer * v.buffer;
    (0..k)
        .map(|f| {
            let test: Vec<usize> = (0..n).filter(|&i| assignment[i] == Some(f)).collect();
            let near: RTree<[f64; 2]> = RTree::bulk_load(test.iter().map(|&i| xy[i]).collect());
            let mut train = Vec::new();
            let mut dropped = 0;
            for i in (0..n).filter(|&i| assignment[i] != Some(f)) {
                let close = v.buffer > 0.0
                    && near
                        .nearest_neighbor(&xy[i])
                        .is_some_and(|p| (p[0] - xy[i][0]).powi(2) + (p[1] - xy[i][1]).powi(2) <= buffer2);
                if close {
                    dropped += 1;
                } else {
                    train.push(i);
                }
            }
            Fold { test, train, dropped }
        })
        .filter(|f| !f.test.is_empty())
        .collect()
}

/// The fold index of each cell for `kind = "layer"` (fold ids in sorted order), and the
/// fold ids.
pub fn fold_ids(
    v: &RawValidation,
    grid: &crate::grid::Grid,
    cells: &[crate::grid::Cell],
) -> crate::error::Result<(Vec<Option<usize>>, Vec<String>)> {
    let path = v.path.clone().unwrap_or_default();
    let ids: Vec<Option<String>> = crate::io::fold_ids(&path, v.layer.as_deref(), v.attribute.as_deref(), grid, cells)?;
    let mut names: Vec<String> = ids.iter().flatten().cloned().collect();
    // Integer ids in numeric order, text ids alphabetically.
    names.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    names.dedup();
    let index: Vec<Option<usize>> =
        ids.iter().map(|id| id.as_ref().and_then(|s| names.iter().position(|n| n == s))).collect();
    Ok((index, names))
}

/// Cluster id of each point: connected components of the graph linking points closer
/// than `distance` (single linkage), numbered in order of first point.
pub fn single_linkage(points: &[[f64; 2]], distance: f64) -> Vec<usize> {
    let tree: RTree<rstar::primitives::GeomWithData<[f64; 2], usize>> =
        RTree::bulk_load(points.iter().enumerate().map(|(i, p)| rstar::primitives::GeomWithData::new(*p, i)).collect());
    let mut id = vec![usize::MAX; points.len()];
    let mut next = 0;
    for start in 0..points.len() {
        if id[start] != usize::MAX {
            continue;
        }
        id[start] = next;
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for g in tree.locate_within_distance(points[i], distance * distance) {
                if id[g.data] == usize::MAX {
                    id[g.data] = next;
                    stack.push(g.data);
                }
            }
        }
        next += 1;
    }
    id
}

/// Exact ROC AUC of scores (positives against negatives, ties one half); NaN without both.
pub fn auc(scores: &[f64], y: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut p) = (0.0, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // mean 1-based rank of the tie group
        for &k in &idx[i..j] {
            if y[k] {
                rank_sum += mid;
                p += 1;
            }
        }
        i = j;
    }
    let n = scores.len() - p;
    if p == 0 || n == 0 {
        return f64::NAN;
    }
    (rank_sum - (p * (p + 1)) as f64 / 2.0) / (p as f64 * n as f64)
}

/// Prediction-rate curve of held-out rows: `[fraction of held-out negative rows,
/// fraction of held-out deposit rows]` scoring at least each threshold, best first.
/// The negative rows are a random sample of the study area, so the first coordinate
/// estimates the fraction of the area.
pub fn prediction_rate(scores: &[f64], y: &[bool]) -> Vec<[f64; 2]> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let p = y.iter().filter(|&&v| v).count().max(1) as f64;
    let n = y.iter().filter(|&&v| !v).count().max(1) as f64;
    let mut curve = vec![[0.0, 0.0]];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            if y[idx[j]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        curve.push([fp / n, tp / p]);
        i = j;
    }
    curve
}

/// What cross-validation found, for `metrics.json` (`validation`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CvReport {
    /// The scheme.
    pub kind: ValidationKind,
    /// Folds evaluated.
    pub folds: usize,
    /// Held-out AUC of each fold (null where a fold lacks deposits or negatives).
    pub fold_auc: Vec<Option<f64>>,
    /// Mean of the defined fold AUCs.
    pub cv_auc: f64,
    /// Standard deviation of the defined fold AUCs.
    pub cv_auc_sd: f64,
    /// AUC of all held-out predictions pooled.
    pub pooled_auc: f64,
    /// Prediction-rate curve of the pooled held-out predictions.
    pub prediction_rate: Vec<[f64; 2]>,
    /// Mean decrease of the fold AUC when a layer's columns are permuted, per layer.
    pub importance: Vec<(String, f64)>,
    /// Test rows, training rows and buffer-dropped rows per fold.
    pub fold_rows: Vec<[usize; 3]>,
    /// Weights of evidence only (absent for the other kinds): the median jackknife ratio
    /// of the fold posteriors' spread to the analytic posterior standard deviation (see
    /// `model::wofe`), `null` when no row has one.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub jackknife_std_ratio: Option<Option<f64>>,
}

/// A key that is present reads as `Some` (its `null` as `Some(None)`), so that
/// [`CvReport::jackknife_std_ratio`] reads back as it was written.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// A cross-validation: the report, the model of each fold that had both classes to
/// train on, and the files it writes (`importance.csv`, `cv_folds.csv`).
#[derive(Debug)]
pub struct CrossValidation<M> {
    /// What `metrics.json` reports under `validation`.
    pub report: CvReport,
    /// The fold models, in fold order.
    pub fold_models: Vec<M>,
    /// Output files (name, text).
    pub files: Vec<(String, String)>,
}

/// Held-out predictions, AUCs and permutation importance of each fold (`[validation]`
/// `v`, random choices from `seed`), for any model kind that `fit`s on training rows
/// (with a seed) and `predict`s row-major feature rows. `None` when `v.kind` is `none`.
pub fn cross_validate<M>(
    v: &RawValidation,
    seed: u64,
    stack: &FeatureStack,
    t: &TrainingSet,
    fit: impl Fn(&[usize], u64) -> Result<M>,
    predict: impl Fn(&M, &[f64]) -> Vec<f64>,
) -> Result<Option<CrossValidation<M>>> {
    if v.kind == ValidationKind::None {
        return Ok(None);
    }
    let grid = &stack.grid;
    let xy: Vec<[f64; 2]> = t
        .cells
        .iter()
        .map(|&c| {
            let (x, y) = grid.centre(c);
            [x, y]
        })
        .collect();
    let origin = v.origin.unwrap_or([grid.geo_transform[0], grid.geo_transform[3]]);
    let folds = if v.kind == ValidationKind::Layer {
        let (ids, names) = fold_ids(v, grid, &t.cells)?;
        let unassigned = ids.iter().filter(|i| i.is_none()).count();
        if unassigned > 0 {
            tracing::warn!("validation: {unassigned} training rows lie in no fold of the fold layer: never held out");
        }
        tracing::info!("validation: {} folds from the fold layer ({})", names.len(), names.join(", "));
        folds_given(v, &xy, &ids)
    } else {
        folds(v, seed, &xy, &t.y, origin)
    };
    let cols = t.x.ncols();
    let mut fold_auc = Vec::new();
    let mut pooled_s = Vec::new();
    let mut pooled_y = Vec::new();
    let mut drops = vec![(0.0, 0usize); stack.layers.len()];
    let mut models = Vec::new();
    let mut fold_rows = Vec::new();
    let mut folds_csv = String::from("fold,row,col,x,y,deposit,role\n");
    for (k, f) in folds.iter().enumerate() {
        fold_rows.push([f.test.len(), f.train.len(), f.dropped]);
        for (rows, role) in [(&f.test, "test"), (&f.train, "train")] {
            for &i in rows.iter() {
                let c = t.cells[i];
                folds_csv += &format!("{k},{},{},{},{},{},{role}\n", c.row, c.col, xy[i][0], xy[i][1], t.y[i] as u8);
            }
        }
        let has_both = |rows: &[usize]| rows.iter().any(|&i| t.y[i]) && rows.iter().any(|&i| !t.y[i]);
        if !has_both(&f.train) {
            fold_auc.push(None);
            continue;
        }
        let members = fit(&f.train, derive_seed(seed, 7_000 + k as u64))?;
        let xt = t.rows(&f.test);
        let yt: Vec<bool> = f.test.iter().map(|&i| t.y[i]).collect();
        let s = predict(&members, &xt);
        pooled_s.extend(&s);
        pooled_y.extend(&yt);
        let a = auc(&s, &yt);
        if a.is_nan() {
            fold_auc.push(None);
        } else {
            fold_auc.push(Some(a));
            // Permutation importance: one permutation of the test rows moves every column
            // of a layer together.
            let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 9_000 + k as u64));
            for (l, span) in stack.spans.iter().enumerate() {
                for _ in 0..v.importance_repeats {
                    let mut perm: Vec<usize> = (0..yt.len()).collect();
                    perm.shuffle(&mut rng);
                    let mut xp = xt.clone();
                    for (r, &src) in perm.iter().enumerate() {
                        for c in span.clone() {
                            xp[r * cols + c] = xt[src * cols + c];
                        }
                    }
                    let ap = auc(&predict(&members, &xp), &yt);
                    drops[l].0 += a - ap;
                    drops[l].1 += 1;
                }
            }
        }
        models.push(members);
    }
    let defined: Vec<f64> = fold_auc.iter().flatten().copied().collect();
    let n = defined.len() as f64;
    let mean = defined.iter().sum::<f64>() / n;
    let sd = if defined.len() > 1 {
        (defined.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let importance: Vec<(String, f64)> = stack
        .layers
        .iter()
        .zip(&drops)
        .map(|(l, (s, c))| (l.name().to_string(), if *c > 0 { s / *c as f64 } else { f64::NAN }))
        .collect();
    let mut csv = String::from("layer,auc_decrease\n");
    for (name, d) in &importance {
        csv += &format!("{name},{d}\n");
    }
    let report = CvReport {
        kind: v.kind,
        folds: folds.len(),
        fold_auc,
        cv_auc: mean,
        cv_auc_sd: sd,
        pooled_auc: auc(&pooled_s, &pooled_y),
        prediction_rate: prediction_rate(&pooled_s, &pooled_y),
        importance,
        fold_rows,
        jackknife_std_ratio: None,
    };
    let files = vec![("importance.csv".into(), csv), ("cv_folds.csv".into(), folds_csv)];
    Ok(Some(CrossValidation { report, fold_models: models, files }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cv_report_reads_back_as_written_the_jackknife_ratio_absent_null_or_given() {
        for ratio in [None, Some(None), Some(Some(0.8125))] {
            let r = CvReport {
                kind: ValidationKind::SpatialBlock,
                folds: 2,
                fold_auc: vec![Some(0.75), None],
                cv_auc: 0.75,
                cv_auc_sd: 0.0,
                pooled_auc: 0.7,
                prediction_rate: vec![[0.0, 0.0], [1.0, 1.0]],
                importance: vec![("a".into(), 0.1)],
                fold_rows: vec![[3, 5, 1], [5, 3, 0]],
                jackknife_std_ratio: ratio,
            };
            let text = serde_json::to_string(&r).unwrap();
            let back: CvReport = serde_json::from_str(&text).unwrap();
            assert_eq!(back.jackknife_std_ratio, ratio, "{text}");
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
    }

    #[test]
    fn auc_matches_pairwise_count_with_ties() {
        let s = [0.9, 0.5, 0.5, 0.2, 0.1, 0.5, 0.3];
        let y = [true, true, false, true, false, false, false];
        // Pairs: pos {0.9, 0.5, 0.2} vs neg {0.5, 0.1, 0.5, 0.3}: 4 + (1 + 0.5 + 0.5 + 1) + (1) = 8 of 12.
        assert!((auc(&s, &y) - 8.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn single_linkage_chains_points() {
        let p = [[0.0, 0.0], [1.5, 0.0], [3.0, 0.0], [10.0, 0.0]];
        assert_eq!(single_linkage(&p, 2.0), vec![0, 0, 0, 1]);
    }
}
