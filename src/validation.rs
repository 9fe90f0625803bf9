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

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rstar::RTree;
use serde::Serialize;

use crate::config::{RawValidation, ValidationKind};

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

/// Checks the `[validation]` keys of the `layer` scheme and `origin`.
pub fn check_keys(v: &RawValidation) -> crate::error::Result<()> {
    use crate::error::Error;
    let layer = v.kind == ValidationKind::Layer;
    for (k, set) in [("path", v.path.is_some()), ("attribute", v.attribute.is_some()), ("layer", v.layer.is_some())] {
        if set && !layer {
            return Err(Error::key(format!("validation.{k}"), "only applies to `kind = \"layer\"`"));
        }
    }
    if v.origin.is_some() && v.kind != ValidationKind::SpatialBlock {
        return Err(Error::key("validation.origin", "only applies to `kind = \"spatial_block\"`"));
    }
    if let Some(o) = v.origin.filter(|o| !(o[0].is_finite() && o[1].is_finite())) {
        return Err(Error::key("validation.origin", format!("{o:?} is not a point")));
    }
    if layer {
        let Some(path) = &v.path else {
            return Err(Error::key("validation.path", "`kind = \"layer\"` needs the fold polygons or raster"));
        };
        if !crate::io::exists(path) {
            return Err(Error::MissingFile { key: "validation.path".into(), path: path.clone() });
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
