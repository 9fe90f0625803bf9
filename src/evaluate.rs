//! Evaluation of a prospectivity map against deposits, streamed window by window with
//! memory that grows with the number of deposits, never with the grid:
//! - ROC AUC: each deposit (the score of its cell; two deposits in one cell count twice)
//!   against every scored cell holding no deposit, exact, ties counted one half. This is
//!   the definition of Geoscience Australia's Calculate AUC (modEvA), whose figure for
//!   its own Cloncurry posterior lode reproduces;
//! - the success-rate curve: fraction of deposits captured against fraction of the
//!   scored area, best-scored ground first.

use std::path::Path;

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::grid::{Cell, Grid, Window};
use crate::io::cog;

/// Rank statistics of a map against positive cells.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Area under the ROC curve.
    pub auc: f64,
    /// `[area_fraction, deposit_fraction]` pairs from `[0, 0]` to `[1, 1]`.
    pub success_rate: Vec<[f64; 2]>,
    /// Deposits on a scored cell (the positives).
    pub deposits_scored: usize,
    /// Deposits on a cell without a score (no evidence there), left out.
    pub deposits_unscored: usize,
    /// Scored cells (the area the fractions refer to).
    pub scored_cells: u64,
}

/// Counts of scores falling between and on the sorted distinct positive scores.
#[derive(Debug, Clone)]
struct Ranks {
    /// `gap[j]`: scores strictly between `u[j-1]` and `u[j]` (`gap[m]`: above the last).
    gap: Vec<u64>,
    /// `eq[j]`: scores equal to `u[j]`.
    eq: Vec<u64>,
}

impl Ranks {
    fn new(m: usize) -> Ranks {
        Ranks { gap: vec![0; m + 1], eq: vec![0; m] }
    }

    fn add(&mut self, u: &[f32], s: f32) {
        let j = u.partition_point(|&v| v < s);
        if j < u.len() && u[j] == s {
            self.eq[j] += 1;
        } else {
            self.gap[j] += 1;
        }
    }

    fn merge(mut self, o: Ranks) -> Ranks {
        self.gap.iter_mut().zip(&o.gap).for_each(|(a, b)| *a += b);
        self.eq.iter_mut().zip(&o.eq).for_each(|(a, b)| *a += b);
        self
    }

    fn total(&self) -> u64 {
        self.gap.iter().sum::<u64>() + self.eq.iter().sum::<u64>()
    }
}

/// Exact AUC and success-rate curve from positive scores and rank counts.
fn summarise(u: &[f32], mult: &[u64], negatives: &Ranks, all: &Ranks) -> (f64, Vec<[f64; 2]>) {
    let p: u64 = mult.iter().sum();
    let n = negatives.total();
    let mut below = 0u64; // negatives strictly below u[j]
    let mut wins = 0f64;
    for j in 0..u.len() {
        below += negatives.gap[j];
        wins += mult[j] as f64 * (below as f64 + 0.5 * negatives.eq[j] as f64);
        below += negatives.eq[j];
    }
    let auc = if p == 0 || n == 0 { f64::NAN } else { wins / (p as f64 * n as f64) };

    let total = all.total() as f64;
    let mut curve = vec![[0.0, 0.0]];
    let mut area = all.gap[u.len()] as f64;
    let mut captured = 0u64;
    for j in (0..u.len()).rev() {
        area += all.eq[j] as f64;
        captured += mult[j];
        curve.push([area / total, captured as f64 / p as f64]);
        area += all.gap[j] as f64;
    }
    if curve.last() != Some(&[1.0, 1.0]) {
        curve.push([1.0, 1.0]);
    }
    (auc, curve)
}

/// Evaluates the float map at `map` (on `grid`) against deposits, given as the cell of
/// each deposit (a cell appears once per deposit in it).
pub fn evaluate_map(map: &Path, grid: &Grid, cells: &[Cell]) -> Result<Evaluation> {
    let ds = gdal::Dataset::open(map).map_err(|e| Error::input(map, e))?;
    if ds.raster_size() != (grid.cols, grid.rows) {
        return Err(Error::input(
            map,
            format!("is {:?} cells, the grid is {}x{}", ds.raster_size(), grid.cols, grid.rows),
        ));
    }
    let mut scores = Vec::new();
    let mut unscored = 0;
    for &c in cells {
        let (v, ok) = cog::read_window_from(&ds, map, &Window { col: c.col, row: c.row, cols: 1, rows: 1 })?;
        if ok[0] {
            scores.push(v[0]);
        } else {
            unscored += 1;
        }
    }
    drop(ds);
    let mut sorted = scores.clone();
    sorted.sort_by(f32::total_cmp);
    let mut u: Vec<f32> = Vec::new();
    let mut mult: Vec<u64> = Vec::new();
    for s in sorted {
        if u.last() == Some(&s) {
            *mult.last_mut().expect("a value was pushed") += 1;
        } else {
            u.push(s);
            mult.push(1);
        }
    }
    let positive: std::collections::HashSet<Cell> = cells.iter().copied().collect();
    let windows = grid.windows();
    let (negatives, all) = windows
        .par_iter()
        .progress_with(crate::progress::bar(windows.len() as u64, "evaluating"))
        .map(|w| -> Result<(Ranks, Ranks)> {
            let (values, valid) = cog::read_window(map, w)?;
            let mut neg = Ranks::new(u.len());
            let mut all = Ranks::new(u.len());
            for (i, (&v, &ok)) in values.iter().zip(&valid).enumerate() {
                if !ok {
                    continue;
                }
                all.add(&u, v);
                if !positive.contains(&w.cell(i)) {
                    neg.add(&u, v);
                }
            }
            Ok((neg, all))
        })
        .try_reduce(|| (Ranks::new(u.len()), Ranks::new(u.len())), |a, b| Ok((a.0.merge(b.0), a.1.merge(b.1))))?;
    let (auc, success_rate) = summarise(&u, &mult, &negatives, &all);
    Ok(Evaluation {
        auc,
        success_rate,
        deposits_scored: scores.len(),
        deposits_unscored: unscored,
        scored_cells: all.total(),
    })
}

/// What a run must not leave unsaid, for the summary, `metrics.json` (`warnings`) and the
/// report: a map or held-out AUC below 0.5 (worse than random ranking), and what fitting
/// switched off (`fit.early_stopping.note`).
pub fn run_warnings(map_auc: f64, fit: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(note) = fit.pointer("/early_stopping/note").and_then(|n| n.as_str()) {
        out.push(note.to_string());
    }
    let v = fit.get("validation").filter(|v| !v.is_null());
    for (what, auc) in [
        ("held-out AUC pooled over the folds", v.and_then(|v| v["pooled_auc"].as_f64())),
        ("mean held-out fold AUC", v.and_then(|v| v["cv_auc"].as_f64())),
        ("AUC of the map on the training deposits", Some(map_auc)),
    ] {
        if let Some(a) = auc.filter(|a| *a < 0.5) {
            out.push(format!(
                "worse than random: {what} is {a:.3} (< 0.5); the map ranks deposits below barren ground"
            ));
        }
    }
    for w in &out {
        tracing::warn!("{w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AUC by comparing every positive with every negative.
    fn brute_auc(pos: &[f32], neg: &[f32]) -> f64 {
        let mut s = 0.0;
        for &p in pos {
            for &n in neg {
                s += if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (pos.len() * neg.len()) as f64
    }

    #[test]
    fn an_auc_below_one_half_is_flagged_and_one_above_is_not() {
        let fit = serde_json::json!({ "validation": { "pooled_auc": 0.30, "cv_auc": 0.62 } });
        let w = run_warnings(0.8, &fit);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("pooled") && w[0].contains("0.300"), "{w:?}");
        assert!(
            run_warnings(0.8, &serde_json::json!({ "validation": { "pooled_auc": 0.7, "cv_auc": 0.7 } })).is_empty()
        );
        assert_eq!(run_warnings(0.45, &serde_json::json!({})).len(), 1);
    }

    #[test]
    fn streamed_auc_equals_pairwise_auc_with_ties() {
        let pos = [0.9f32, 0.5, 0.5, 0.2];
        let neg = [0.1f32, 0.5, 0.3, 0.95, 0.2, 0.2, 0.0];
        let u = [0.2f32, 0.5, 0.9];
        let mult = [1u64, 2, 1];
        let (mut n, mut a) = (Ranks::new(3), Ranks::new(3));
        for &v in &neg {
            n.add(&u, v);
            a.add(&u, v);
        }
        for &v in &pos {
            a.add(&u, v);
        }
        let (auc, curve) = summarise(&u, &mult, &n, &a);
        assert!((auc - brute_auc(&pos, &neg)).abs() < 1e-12, "{auc}");
        // 11 cells; >= 0.9: 2 cells hold 1 deposit; >= 0.5: 5 cells hold 3; >= 0.2: 9 cells hold 4.
        assert_eq!(curve, vec![[0.0, 0.0], [2.0 / 11.0, 0.25], [5.0 / 11.0, 0.75], [9.0 / 11.0, 1.0], [1.0, 1.0]]);
    }
}
