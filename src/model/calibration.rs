//! Prior correction of a probability fitted on sampled negatives (King & Zeng 2001,
//! "Logistic regression in rare events data", eq. 7), so that `prospectivity.tif` is a
//! probability of a deposit per cell of the study area rather than a number that scales
//! with `labels.negatives_per_positive`.
//!
//! A model fitted on rows whose (weighted) deposit share is `ȳ` predicts odds that are
//! too large by `(ȳ / (1 - ȳ)) / (τ / (1 - τ))`, where `τ` is the deposit share of the
//! population the negatives were drawn from: here the deposit cells over the study-area
//! cells. The corrected log-odds are `logit(p) - ln[(ȳ / (1 - ȳ)) ((1 - τ) / τ)]`: a shift
//! of the log-odds, so the ranking of cells (and every AUC) is unchanged.
//!
//! For a spread (the tree models' `uncertainty.tif`, a standard deviation of the sampled
//! probability) the correction is carried to first order: it is multiplied by
//! `dp_c / dp = p_c (1 - p_c) / (p (1 - p))` at the cell's probability.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grid::Grid;
use crate::training::TrainingSet;

/// The log-odds shift of the prior correction and what it was computed from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct PriorCorrection {
    /// `τ`: deposit (positive) cells over the study-area cells.
    pub population_share: f64,
    /// `ȳ`: the (weighted) deposit share of the rows the model was fitted on.
    pub sample_share: f64,
    /// `ln[(ȳ / (1 - ȳ)) ((1 - τ) / τ)]`, subtracted from every predicted log-odds.
    pub log_odds_shift: f64,
}

impl PriorCorrection {
    /// The correction for shares `tau` (population) and `ybar` (sample), both in (0, 1).
    pub fn new(tau: f64, ybar: f64) -> PriorCorrection {
        let shift = (ybar / (1.0 - ybar)).ln() + ((1.0 - tau) / tau).ln();
        PriorCorrection { population_share: tau, sample_share: ybar, log_odds_shift: shift }
    }

    /// The correction of a model fitted on the sampled training set `t` with (weighted)
    /// deposit share `sample_share` (each kind's
    /// [`Model::sample_share`](crate::model::Model::sample_share)), against the
    /// study area's deposit share; `None` when a share is degenerate.
    pub fn for_training(t: &TrainingSet, sample_share: f64, study_cells: u64) -> Option<PriorCorrection> {
        let ybar = sample_share;
        let tau = t.summary.positives as f64 / study_cells as f64;
        (tau > 0.0 && tau < 1.0 && ybar > 0.0 && ybar < 1.0).then(|| PriorCorrection::new(tau, ybar))
    }

    /// The corrected probability of `p`.
    pub fn apply(&self, p: f64) -> f64 {
        if !(p > 0.0 && p < 1.0) {
            return p;
        }
        let z = (p / (1.0 - p)).ln() - self.log_odds_shift;
        1.0 / (1.0 + (-z).exp())
    }

    /// The first-order factor `dp_c / dp` at `p`, for a spread of `p`.
    pub fn slope(&self, p: f64) -> f64 {
        self.apply_with_slope(p).1
    }

    /// [`PriorCorrection::apply`] and [`PriorCorrection::slope`] of `p` from one
    /// correction (the slope is a function of the corrected value).
    pub fn apply_with_slope(&self, p: f64) -> (f64, f64) {
        if !(p > 0.0 && p < 1.0) {
            return (p, 1.0);
        }
        let c = self.apply(p);
        (c, c * (1.0 - c) / (p * (1.0 - p)))
    }
}

/// Cells inside the study area: every cell of a grid without a mask, else one pass over
/// the mask, window by window.
pub fn study_area_cells(grid: &Grid) -> Result<u64> {
    if matches!(grid.mask, crate::grid::Mask::All) {
        return Ok(grid.len() as u64);
    }
    let counts: Vec<u64> = grid
        .windows()
        .par_iter()
        .map(|w| Ok(grid.mask(w)?.iter().filter(|&&v| v).count() as u64))
        .collect::<Result<_>>()?;
    Ok(counts.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_without_a_mask_counts_the_cells_its_windows_flag() {
        // Ragged edge windows: 1000 x 777 cells in windows of 256.
        let grid = Grid::unreferenced([0.0, 10.0, 0.0, 0.0, 0.0, -10.0], 1000, 777, 256);
        let scanned: usize = grid.windows().iter().map(|w| grid.mask(w).unwrap().iter().filter(|&&v| v).count()).sum();
        assert_eq!(study_area_cells(&grid).unwrap(), scanned as u64);
        assert_eq!(scanned, 777_000);
    }

    #[test]
    fn the_shift_is_king_and_zeng_eq_7_and_recovers_the_population_rate() {
        // 10 deposits of 100 000 cells, fitted with 10 negatives per deposit: a model that
        // predicts the sample share everywhere (1/11) is corrected to the population share.
        let pc = PriorCorrection::new(10.0 / 100_000.0, 1.0 / 11.0);
        let expected = (0.1f64).ln() + (99_990.0f64 / 10.0).ln();
        assert!((pc.log_odds_shift - expected).abs() < 1e-12);
        assert!((pc.apply(1.0 / 11.0) - 1e-4).abs() < 1e-12, "{}", pc.apply(1.0 / 11.0));
        // A log-odds shift keeps the order of cells.
        assert!(pc.apply(0.3) < pc.apply(0.31));
        // The slope is the derivative.
        let (p, h) = (0.2, 1e-6);
        let numeric = (pc.apply(p + h) - pc.apply(p - h)) / (2.0 * h);
        assert!((pc.slope(p) - numeric).abs() < 1e-6 * numeric.abs().max(1e-9), "{} vs {numeric}", pc.slope(p));
        // No correction when the sample share is the population's.
        assert!((PriorCorrection::new(0.2, 0.2).apply(0.37) - 0.37).abs() < 1e-12);
    }
}
