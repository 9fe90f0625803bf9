//! Evaluation of a prospectivity map against deposits, streamed window by window with
//! memory that grows with the number of deposits, never with the grid:
//! - ROC AUC: each deposit (the score of its cell; two deposits in one cell count twice)
//!   against every scored cell holding no deposit, exact, ties counted one half. This is
//!   the definition of Geoscience Australia's Calculate AUC (modEvA), whose figure for
//!   its own Cloncurry posterior lode reproduces;
//! - the success-rate curve: fraction of deposits captured against fraction of the
//!   scored area, best-scored ground first;
//! - capture: the deposits in the best X % of the scored area, for X in
//!   [`crate::styles::AREA_PERCENTS`]. The **one** definition every summary uses (console,
//!   `report.html`, `metrics.json` `capture`): the best X % are the cells scoring `>=` the
//!   exact k-th largest score, `k = ceil(scored_cells * X / 100)` (the same cells the
//!   targets' `top_percent` and the map's colour classes take); a deposit is captured when
//!   its cell is one of them. Nothing is interpolated along the curve.

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::grid::{Cell, Grid};
use crate::io::cog::MapRaster;

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

    /// Where score `s` falls: `(j, true)` on `u[j]`, `(j, false)` strictly between
    /// `u[j-1]` and `u[j]`.
    fn place(u: &[f32], s: f32) -> (usize, bool) {
        let j = u.partition_point(|&v| v < s);
        (j, j < u.len() && u[j] == s)
    }

    fn count(&mut self, (j, on): (usize, bool)) {
        if on {
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
    if p == 0 {
        // No deposits (a knowledge-driven map without [labels]): no curve to draw.
        return (auc, Vec::new());
    }

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

/// Evaluates the float map `map` (on `grid`) against deposits, given as the cell of
/// each deposit (a cell appears once per deposit in it).
pub fn evaluate_map(map: &MapRaster, grid: &Grid, cells: &[Cell]) -> Result<Evaluation> {
    let positives = Positives::new(cells, &map.read_cells(cells)?);
    let windows = grid.windows();
    let counts = windows
        .par_iter()
        .progress_with(crate::progress::bar(windows.len() as u64, "evaluating"))
        .map(|w| -> Result<RankCounts> {
            let (values, valid) = map.read_window(w)?;
            let mut c = positives.counts();
            c.add_window(&positives, w, &values, &valid);
            Ok(c)
        })
        .try_reduce(|| positives.counts(), |a, b| Ok(a.merge(b)))?;
    Ok(positives.evaluate(&counts))
}

/// The deposits' scores: what the rank counts of the map are made against.
#[derive(Debug, Clone)]
pub struct Positives {
    /// Sorted distinct scores of the deposits on scored cells.
    u: Vec<f32>,
    /// Deposits per distinct score.
    mult: Vec<u64>,
    scored: usize,
    unscored: usize,
    /// The deposits' cells, sorted (by row, then column) and distinct.
    cells: Vec<Cell>,
}

impl Positives {
    /// From the deposits' cells and the map's value at each (`None`: no score there).
    pub fn new(cells: &[Cell], values: &[Option<f32>]) -> Positives {
        let mut sorted: Vec<f32> = values.iter().flatten().copied().collect();
        let scored = sorted.len();
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
        let mut cells = cells.to_vec();
        cells.sort_unstable();
        cells.dedup();
        Positives { u, mult, scored, unscored: values.len() - scored, cells }
    }

    /// The offsets in window `w` of the deposits' cells inside it, ascending.
    fn offsets_in(&self, w: &crate::grid::Window) -> Vec<usize> {
        let first = self.cells.partition_point(|c| c.row < w.row);
        let end = self.cells.partition_point(|c| c.row < w.row + w.rows);
        // Sorted by row then column, so the offsets ascend.
        self.cells[first..end].iter().filter(|&&c| w.contains(c)).map(|&c| w.offset(c)).collect()
    }

    /// Empty rank counts.
    pub fn counts(&self) -> RankCounts {
        RankCounts { negatives: Ranks::new(self.u.len()), all: Ranks::new(self.u.len()) }
    }

    /// The evaluation from the rank counts of the whole map.
    pub fn evaluate(&self, c: &RankCounts) -> Evaluation {
        let (auc, success_rate) = summarise(&self.u, &self.mult, &c.negatives, &c.all);
        Evaluation {
            auc,
            success_rate,
            deposits_scored: self.scored,
            deposits_unscored: self.unscored,
            scored_cells: c.all.total(),
        }
    }
}

/// Counts of a map's valid cells between and on the deposits' scores (integers: windows
/// and tiles merge exactly, in any order).
#[derive(Debug, Clone)]
pub struct RankCounts {
    negatives: Ranks,
    all: Ranks,
}

impl RankCounts {
    /// Counts the cells of window `w`.
    pub fn add_window(&mut self, p: &Positives, w: &crate::grid::Window, values: &[f32], valid: &[bool]) {
        let deposits = p.offsets_in(w);
        let mut next = deposits.iter().copied().peekable();
        for (i, (&v, &ok)) in values.iter().zip(valid).enumerate() {
            let deposit = next.next_if_eq(&i).is_some();
            if !ok {
                continue;
            }
            let place = Ranks::place(&p.u, v);
            self.all.count(place);
            if !deposit {
                self.negatives.count(place);
            }
        }
    }

    /// Adds another window's counts.
    pub fn merge(self, o: RankCounts) -> RankCounts {
        RankCounts { negatives: self.negatives.merge(o.negatives), all: self.all.merge(o.all) }
    }
}

/// Deposits in the best `top_percent` % of the scored area (see the module docs).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Capture {
    /// The share of the scored area, percent.
    pub top_percent: f64,
    /// Cells scoring `>=` this are in it.
    pub threshold: f64,
    /// Its cells over the scored cells (above `top_percent / 100` only when cells tie).
    pub area_fraction: f64,
    /// Deposits on its cells (two in one cell count twice).
    pub deposits: usize,
    /// `deposits / deposits_scored`.
    pub fraction: f64,
}

/// Capture of the deposits at `cells` by the best areas `areas` of the map at `map`
/// (from [`crate::targets::top_areas`], `scored` cells).
pub fn capture(
    map: &MapRaster,
    cells: &[Cell],
    areas: &[crate::targets::TopArea],
    scored: u64,
) -> Result<Vec<Capture>> {
    Ok(capture_of(&map.read_cells(cells)?, areas, scored))
}

/// [`capture`] from the map's values at the deposits (`None`: no score there).
pub fn capture_of(values: &[Option<f32>], areas: &[crate::targets::TopArea], scored: u64) -> Vec<Capture> {
    let scores: Vec<f32> = values.iter().flatten().copied().collect();
    areas
        .iter()
        .map(|a| {
            let deposits = scores.iter().filter(|&&s| s >= a.threshold).count();
            Capture {
                top_percent: a.top_percent,
                threshold: a.threshold as f64,
                area_fraction: a.cells as f64 / scored.max(1) as f64,
                deposits,
                fraction: if scores.is_empty() { f64::NAN } else { deposits as f64 / scores.len() as f64 },
            }
        })
        .collect()
}

/// What a run must not leave unsaid, for the summary, `metrics.json` (`warnings`) and the
/// report: a map or held-out AUC below 0.5 (worse than random ranking), and what fitting
/// switched off (`fit.early_stopping.note`).
pub fn run_warnings(map_auc: f64, fit: &crate::model::FitReport) -> Vec<String> {
    let note = match fit {
        crate::model::FitReport::Trained { early_stopping: Some(es), .. } => es.note.clone(),
        _ => None,
    };
    let v = fit.validation();
    let out = warnings_of(map_auc, note, v.map(|v| v.pooled_auc), v.map(|v| v.cv_auc));
    for w in &out {
        tracing::warn!("{w}");
    }
    out
}

/// [`run_warnings`] on the figures themselves: a fitting note, the pooled and mean held-out
/// AUCs (with `[validation]`) and the map's AUC.
fn warnings_of(map_auc: f64, note: Option<String>, pooled: Option<f64>, cv: Option<f64>) -> Vec<String> {
    let mut out: Vec<String> = note.into_iter().collect();
    for (what, auc) in [
        ("held-out AUC pooled over the folds", pooled),
        ("mean held-out fold AUC", cv),
        ("AUC of the map on the training deposits", Some(map_auc)),
    ] {
        if let Some(a) = auc.filter(|a| *a < 0.5) {
            out.push(format!(
                "worse than random: {what} is {a:.3} (< 0.5); the map ranks deposits below barren ground"
            ));
        }
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
        let w = warnings_of(0.8, None, Some(0.30), Some(0.62));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("pooled") && w[0].contains("0.300"), "{w:?}");
        assert!(warnings_of(0.8, None, Some(0.7), Some(0.7)).is_empty());
        assert_eq!(warnings_of(0.45, None, None, None).len(), 1);
        assert_eq!(warnings_of(0.8, Some("early stopping off".into()), None, None), vec!["early stopping off"]);
    }

    #[test]
    fn window_counts_leave_out_exactly_the_deposit_cells() {
        // A ragged 3 x 2 grid of windows; deposits inside, on window edges, twice in one
        // cell, on invalid cells; values with ties to the deposits' scores.
        let grid = Grid::unreferenced([0.0, 1.0, 0.0, 0.0, 0.0, -1.0], 10, 7, 4);
        let value = |c: Cell| ((c.row * 7 + c.col * 3) % 11) as f32 / 10.0;
        let ok = |c: Cell| !(c.row + c.col).is_multiple_of(5);
        let cells: Vec<Cell> = [(0, 0), (3, 3), (3, 4), (4, 4), (4, 4), (6, 9), (2, 8), (5, 0)]
            .iter()
            .map(|&(row, col)| Cell { row, col })
            .collect();
        let scores: Vec<Option<f32>> = cells.iter().map(|&c| ok(c).then(|| value(c))).collect();
        let p = Positives::new(&cells, &scores);
        let mut counted = p.counts();
        for w in grid.windows() {
            let values: Vec<f32> = (0..w.len()).map(|i| value(w.cell(i))).collect();
            let valid: Vec<bool> = (0..w.len()).map(|i| ok(w.cell(i))).collect();
            counted.add_window(&p, &w, &values, &valid);
        }
        let mut expected = p.counts();
        for row in 0..grid.rows {
            for col in 0..grid.cols {
                let c = Cell { row, col };
                if ok(c) {
                    expected.all.count(Ranks::place(&p.u, value(c)));
                    if !cells.contains(&c) {
                        expected.negatives.count(Ranks::place(&p.u, value(c)));
                    }
                }
            }
        }
        for (a, b) in [(&counted.all, &expected.all), (&counted.negatives, &expected.negatives)] {
            assert_eq!((&a.gap, &a.eq), (&b.gap, &b.eq));
        }
        assert_eq!(counted.all.total() - counted.negatives.total(), 3, "(3,3), (3,4) and (4,4) are valid");
    }

    #[test]
    fn streamed_auc_equals_pairwise_auc_with_ties() {
        let pos = [0.9f32, 0.5, 0.5, 0.2];
        let neg = [0.1f32, 0.5, 0.3, 0.95, 0.2, 0.2, 0.0];
        let u = [0.2f32, 0.5, 0.9];
        let mult = [1u64, 2, 1];
        let (mut n, mut a) = (Ranks::new(3), Ranks::new(3));
        for &v in &neg {
            n.count(Ranks::place(&u, v));
            a.count(Ranks::place(&u, v));
        }
        for &v in &pos {
            a.count(Ranks::place(&u, v));
        }
        let (auc, curve) = summarise(&u, &mult, &n, &a);
        assert!((auc - brute_auc(&pos, &neg)).abs() < 1e-12, "{auc}");
        // 11 cells; >= 0.9: 2 cells hold 1 deposit; >= 0.5: 5 cells hold 3; >= 0.2: 9 cells hold 4.
        assert_eq!(curve, vec![[0.0, 0.0], [2.0 / 11.0, 0.25], [5.0 / 11.0, 0.75], [9.0 / 11.0, 1.0], [1.0, 1.0]]);
    }
}
