//! The training set: feature rows at deposit cells (positives) and at cells drawn at
//! random, with the project's seed, at least `negative_buffer` from every deposit
//! (negatives). Only the sampled cells are computed, never the whole grid.

use std::collections::HashSet;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::RTree;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::features::FeatureStack;
use crate::grid::Cell;
use crate::labels::Deposits;

/// Feature rows with their labels.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    /// Column names.
    pub columns: Vec<String>,
    /// `(rows, columns)` features.
    pub x: Array2<f64>,
    /// Labels: true for a deposit cell.
    pub y: Vec<bool>,
    /// The cell of each row.
    pub cells: Vec<Cell>,
    /// Counts for the report.
    pub summary: TrainingSummary,
}

/// What the sampling did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Positive rows (deposit cells with evidence everywhere).
    pub positives: usize,
    /// Deposit cells dropped because some evidence layer has no data there.
    pub positives_without_evidence: usize,
    /// Negative rows.
    pub negatives: usize,
    /// Random cells drawn to find them.
    pub negative_draws: usize,
}

impl TrainingSet {
    /// The rows `rows` of the set, in that order (for cross-validation folds).
    pub fn subset(&self, rows: &[usize]) -> TrainingSet {
        TrainingSet {
            columns: self.columns.clone(),
            x: self.x.select(ndarray::Axis(0), rows),
            y: rows.iter().map(|&i| self.y[i]).collect(),
            cells: rows.iter().map(|&i| self.cells[i]).collect(),
            summary: self.summary.clone(),
        }
    }

    /// Row-major copy of the feature rows `idx`.
    pub fn rows(&self, idx: &[usize]) -> Vec<f64> {
        let mut out = Vec::with_capacity(idx.len() * self.x.ncols());
        for &i in idx {
            out.extend(self.x.row(i).iter());
        }
        out
    }

    /// Samples the training set for `deposits`.
    pub fn sample(settings: &Settings, stack: &FeatureStack, deposits: &Deposits) -> Result<TrainingSet> {
        let grid = &stack.grid;
        let mut cells = Vec::new();
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut summary = TrainingSummary::default();

        let positive_cells = buffered_cells(grid, deposits, settings.labels.positive_buffer);
        for (cell, row) in positive_cells.iter().zip(stack.rows_at(&positive_cells)?) {
            match row {
                Some(r) => {
                    cells.push(*cell);
                    rows.push(r);
                }
                None => summary.positives_without_evidence += 1,
            }
        }
        summary.positives = rows.len();
        if summary.positives == 0 {
            return Err(Error::Training(format!(
                "none of the {} deposit cells has data in every evidence layer",
                positive_cells.len()
            )));
        }
        if summary.positives_without_evidence > 0 {
            tracing::warn!(
                "{} deposit cell(s) lack data in some evidence layer and are left out of training",
                summary.positives_without_evidence
            );
        }

        let target = settings
            .labels
            .negatives
            .unwrap_or((summary.positives as f64 * settings.labels.negatives_per_positive).ceil() as usize);
        let buffer2 = settings.labels.negative_buffer.powi(2);
        let near: RTree<[f64; 2]> = RTree::bulk_load(deposits.points.clone());
        let deposit_cells: HashSet<Cell> = positive_cells.iter().copied().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        let mut tried: HashSet<Cell> = HashSet::new();
        let mut negatives = 0;
        for _round in 0..64 {
            if negatives >= target {
                break;
            }
            let want = (target - negatives) * 2 + 16;
            let mut candidates = Vec::with_capacity(want);
            for _ in 0..want * 4 {
                if candidates.len() == want || tried.len() == grid.len() {
                    break;
                }
                let c = Cell { row: rng.gen_range(0..grid.rows), col: rng.gen_range(0..grid.cols) };
                summary.negative_draws += 1;
                if !tried.insert(c) || deposit_cells.contains(&c) {
                    continue;
                }
                let (x, y) = grid.centre(c);
                if near.nearest_neighbor(&[x, y]).is_some_and(|p| (p[0] - x).powi(2) + (p[1] - y).powi(2) < buffer2) {
                    continue;
                }
                candidates.push(c);
            }
            for (c, row) in candidates.iter().zip(stack.rows_at(&candidates)?) {
                if negatives == target {
                    break;
                }
                if let Some(r) = row {
                    cells.push(*c);
                    rows.push(r);
                    negatives += 1;
                }
            }
        }
        summary.negatives = negatives;
        if negatives < target {
            return Err(Error::Training(format!(
                "found only {negatives} of {target} negative cells at least {} from every deposit \
                 inside the study area with data in every layer; lower labels.negative_buffer, \
                 labels.negatives_per_positive or labels.negatives",
                settings.labels.negative_buffer
            )));
        }

        let ncols = stack.columns.len();
        let mut x = Array2::<f64>::zeros((rows.len(), ncols));
        for (i, r) in rows.iter().enumerate() {
            x.row_mut(i).assign(&ndarray::ArrayView1::from(r.as_slice()));
        }
        let mut y = vec![false; rows.len()];
        y[..summary.positives].iter_mut().for_each(|v| *v = true);
        Ok(TrainingSet { columns: stack.columns.clone(), x, y, cells, summary })
    }
}

/// The deposit cells, plus (when `buffer > 0`) every cell whose centre lies within
/// `buffer` of a deposit, sorted.
fn buffered_cells(grid: &crate::grid::Grid, deposits: &Deposits, buffer: f64) -> Vec<Cell> {
    if buffer <= 0.0 {
        return deposits.cells.clone();
    }
    let mut set: std::collections::BTreeSet<Cell> = deposits.cells.iter().copied().collect();
    let (dx, dy) = (grid.cell_width(), grid.cell_height());
    let (rc, rr) = ((buffer / dx).ceil() as i64 + 1, (buffer / dy).ceil() as i64 + 1);
    for (p, c) in deposits.points.iter().zip(&deposits.point_cells) {
        for r in c.row as i64 - rr..=c.row as i64 + rr {
            for k in c.col as i64 - rc..=c.col as i64 + rc {
                if r < 0 || k < 0 || r >= grid.rows as i64 || k >= grid.cols as i64 {
                    continue;
                }
                let cell = Cell { row: r as usize, col: k as usize };
                let (x, y) = grid.centre(cell);
                if (x - p[0]).powi(2) + (y - p[1]).powi(2) <= buffer * buffer {
                    set.insert(cell);
                }
            }
        }
    }
    set.into_iter().collect()
}

/// Derives a per-member seed from a base seed and an index (splitmix64): every seeded
/// choice of a fit (bags, folds, permutations) draws from its own generator.
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
