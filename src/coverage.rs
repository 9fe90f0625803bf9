//! Coverage: how much of the study area each evidence layer actually has data for,
//! measured cell by cell once the layers are prepared (never assumed from a file's
//! extent). A cell outside a layer's source is nodata, so a layer's coverage bounds the
//! map's: one covering none of the study area is an error naming it, one below
//! `grid.min_coverage` too, and a layer with one value everywhere is warned about.

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::features::FeatureStack;

pub use crate::config::DEFAULT_MIN_COVERAGE;

/// One layer's coverage of the study area.
#[derive(Debug, Clone, Serialize)]
pub struct LayerCoverage {
    /// The layer's name.
    pub name: String,
    /// Study-area cells where the layer has data.
    pub covered_cells: u64,
    /// Cells of the study area.
    pub study_area_cells: u64,
    /// `covered_cells / study_area_cells` (0 when the study area is empty).
    pub fraction: f64,
    /// The layer's single value when its first column takes one value on every covered cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constant: Option<f64>,
}

/// Per layer: covered cells, and the least and greatest value of its first column there.
#[derive(Clone, Copy)]
struct Tally {
    covered: u64,
    min: f64,
    max: f64,
}

impl Tally {
    const EMPTY: Tally = Tally { covered: 0, min: f64::INFINITY, max: f64::NEG_INFINITY };

    fn merge(self, o: Tally) -> Tally {
        Tally { covered: self.covered + o.covered, min: self.min.min(o.min), max: self.max.max(o.max) }
    }
}

/// Measures every layer of `stack` over the study area, window by window, in parallel.
/// A layer whose grid-wide pass counted its coverage already (a categorical class scan:
/// [`crate::features::Evidence::scanned_coverage`]) is not read again.
pub fn measure(stack: &FeatureStack) -> Result<Vec<LayerCoverage>> {
    let windows = stack.grid.windows();
    let n = stack.layers.len();
    let scanned: Vec<Option<Tally>> = stack
        .layers
        .iter()
        .map(|l| l.scanned_coverage().map(|c| Tally { covered: c.covered, min: c.min, max: c.max }))
        .collect();
    let per_window: Vec<(u64, Vec<Tally>)> = windows
        .par_iter()
        .progress_with(crate::progress::bar(windows.len() as u64, "coverage"))
        .map(|w| -> Result<_> {
            // Layer by layer, not the assembled feature block: only validity and the first
            // column are tallied, and no window of every column is allocated.
            let in_study = stack.grid.mask(w)?;
            let study = in_study.iter().filter(|&&b| b).count() as u64;
            let mut t = vec![Tally::EMPTY; n];
            for ((layer, t), _) in stack.layers.iter().zip(&mut t).zip(&scanned).filter(|(_, s)| s.is_none()) {
                // A one-hot layer by its hot column (its first column is 1 where that is 0).
                let block = match layer.compute_hot(&stack.grid, w)? {
                    Some(h) => crate::features::LayerBlock {
                        values: ndarray::Array2::from_shape_fn((w.len(), 1), |(i, _)| {
                            f64::from(u8::from(h.hot[i] == 0))
                        }),
                        valid: h.valid,
                    },
                    None => layer.compute(&stack.grid, w)?,
                };
                for (i, _) in in_study.iter().enumerate().filter(|(_, &inside)| inside) {
                    if block.valid[i] {
                        let v = block.values[[i, 0]];
                        *t = t.merge(Tally { covered: 1, min: v, max: v });
                    }
                }
            }
            Ok((study, t))
        })
        .collect::<Result<_>>()?;
    let study: u64 = per_window.iter().map(|(s, _)| s).sum();
    let mut totals: Vec<Tally> = scanned.iter().map(|s| s.unwrap_or(Tally::EMPTY)).collect();
    for (_, t) in &per_window {
        for (total, t) in totals.iter_mut().zip(t) {
            *total = total.merge(*t);
        }
    }
    Ok(stack
        .layers
        .iter()
        .zip(totals)
        .map(|(l, t)| LayerCoverage {
            name: l.name().to_string(),
            covered_cells: t.covered,
            study_area_cells: study,
            fraction: if study > 0 { t.covered as f64 / study as f64 } else { 0.0 },
            constant: (t.covered > 0 && t.min == t.max).then_some(t.min),
        })
        .collect())
}

/// Refuses a layer that covers none of the study area, or less than `min_coverage` of
/// it; warns about a constant layer. Errors name the layer and give the counts.
pub fn check(coverage: &[LayerCoverage], min_coverage: f64) -> Result<()> {
    for c in coverage {
        let key = format!("evidence `{}`", c.name);
        if c.covered_cells == 0 {
            return Err(Error::key(
                key,
                format!(
                    "has no data on any of the {} study-area cells: its source lies off the grid \
                     (another place or CRS?) or is all nodata there",
                    c.study_area_cells
                ),
            ));
        }
        if c.fraction < min_coverage {
            return Err(Error::key(
                key,
                format!(
                    "has data on {} of {} study-area cells ({:.1} %), below grid.min_coverage = {} ({:.1} %); \
                     cells without it are left unscored: check its extent and CRS, or lower grid.min_coverage",
                    c.covered_cells,
                    c.study_area_cells,
                    100.0 * c.fraction,
                    min_coverage,
                    100.0 * min_coverage
                ),
            ));
        }
        if let Some(v) = c.constant {
            tracing::warn!(
                "evidence `{}` has the one value {v} on all its {} study-area cells: it cannot tell deposits \
                 from the rest",
                c.name,
                c.covered_cells
            );
        }
    }
    Ok(())
}

/// One line per layer for `lode validate` and the run summary: `name: 98.2 % (n of m cells)`.
pub fn describe(c: &LayerCoverage) -> String {
    let constant = c.constant.map(|v| format!(", constant {v}")).unwrap_or_default();
    format!(
        "{:.1} % of the study area ({} of {} cells){constant}",
        100.0 * c.fraction,
        c.covered_cells,
        c.study_area_cells
    )
}
