//! Coverage: how much of the study area each evidence layer actually has data for,
//! measured cell by cell (never assumed from a file's extent). A cell outside a layer's
//! source is nodata, so a layer's coverage bounds the map's: one covering none of the
//! study area is an error naming it, one below `grid.min_coverage` too, and a layer with
//! one value everywhere is warned about.
//!
//! Where it is counted: a categorical layer's class scan counts its own; the others are
//! counted from the features the prediction computes ([`Partial::of_features`]: by the
//! single run's predict stage, and by each tile of a tiled run), so a run reads no layer
//! for its coverage alone. The check comes before any map is finished, and outputs are
//! published only at the end, so a refused layer leaves nothing written. `lode validate`,
//! and a run whose fit fails, measure it in a pass of its own ([`measure`]).

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{FeatureStack, LayerValues, WindowFeatures};
use crate::grid::Window;

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

/// Per layer: covered cells, and the least and greatest value of its first column there
/// (`None` before the first covered cell that is a number: a NaN is counted, and bounds
/// nothing, as `f64::min` and `f64::max` treat it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    covered: u64,
    range: Option<(f64, f64)>,
}

impl Tally {
    /// The tally of the cells `0..n` where `value` gives one (a covered study-area cell).
    fn over(n: usize, value: impl Fn(usize) -> Option<f64>) -> Tally {
        Tally::of_values((0..n).filter_map(value))
    }

    /// The tally of `values` (those of the covered cells, in order): each covered, and the
    /// least and greatest of the numbers among them. The bounds start at the infinities,
    /// which the first number replaces exactly (`min(inf, v) = v`, -0 included).
    fn of_values(values: impl Iterator<Item = f64>) -> Tally {
        let (mut covered, mut numbers) = (0u64, 0u64);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            covered += 1;
            if !v.is_nan() {
                numbers += 1;
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        Tally { covered, range: (numbers > 0).then_some((lo, hi)) }
    }

    fn merge(&mut self, o: Tally) {
        self.covered += o.covered;
        self.range = match (self.range, o.range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (r, None) | (None, r) => r,
        };
    }
}

/// The coverage counts of some windows: study-area cells, and a tally per layer (empty
/// for a layer whose grid-wide pass counted its coverage already: a categorical class
/// scan, [`crate::features::Evidence::scanned_coverage`]). Counts, least and greatest
/// values merge exactly in any grouping, so the partials of a tiled run's tiles give the
/// single run's coverage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    study: u64,
    layers: Vec<Tally>,
}

impl Partial {
    /// Adds `later`'s counts to these.
    pub fn merge(&mut self, later: &Partial) {
        self.study += later.study;
        self.layers.resize(self.layers.len().max(later.layers.len()), Tally::default());
        for (t, o) in self.layers.iter_mut().zip(&later.layers) {
            t.merge(*o);
        }
    }

    /// The counts of one window whose features were computed for the map: read from what
    /// the prediction computed, no layer computed again.
    pub fn of_features(stack: &FeatureStack, f: &WindowFeatures) -> Partial {
        let layers = stack
            .layers
            .iter()
            .zip(&f.layers)
            .enumerate()
            .map(|(k, (layer, values))| {
                if layer.scanned_coverage().is_some() {
                    return Tally::default();
                }
                let covered = f.in_study.iter().zip(f.layer_valid.column(k)).map(|(&s, &ok)| s && ok);
                match values {
                    LayerValues::Hot(hot) => {
                        Tally::of_values(covered.zip(hot).filter(|(ok, _)| *ok).map(|(_, &h)| hot_first_column(h)))
                    }
                    LayerValues::Dense(v) => {
                        Tally::of_values(covered.zip(v.column(0)).filter(|(ok, _)| *ok).map(|(_, &x)| x))
                    }
                }
            })
            .collect();
        Partial { study: f.in_study.iter().filter(|&&b| b).count() as u64, layers }
    }

    /// The counts of one window, layer by layer (not the assembled feature block: only
    /// validity and the first column are tallied, and no window of every column is
    /// allocated).
    fn of_window(stack: &FeatureStack, w: &Window) -> Result<Partial> {
        let in_study = stack.grid.mask(w)?;
        let mut layers = Vec::with_capacity(stack.layers.len());
        for layer in &stack.layers {
            layers.push(match layer.scanned_coverage() {
                Some(_) => Tally::default(),
                // A one-hot layer by its hot column.
                None => match layer.compute_hot(&stack.grid, w)? {
                    Some(h) => {
                        Tally::over(w.len(), |i| (in_study[i] && h.valid[i]).then(|| hot_first_column(h.hot[i])))
                    }
                    None => {
                        let b = layer.compute(&stack.grid, w)?;
                        Tally::over(w.len(), |i| (in_study[i] && b.valid[i]).then(|| b.values[[i, 0]]))
                    }
                },
            });
        }
        Ok(Partial { study: in_study.iter().filter(|&&b| b).count() as u64, layers })
    }

    /// Each layer's coverage from the counts of every window of the grid.
    pub fn finish(&self, stack: &FeatureStack) -> Vec<LayerCoverage> {
        let study = self.study;
        stack
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let t = match l.scanned_coverage() {
                    Some(c) => Tally { covered: c.covered, range: (c.covered > 0).then_some((c.min, c.max)) },
                    None => self.layers.get(k).copied().unwrap_or_default(),
                };
                LayerCoverage {
                    name: l.name().to_string(),
                    covered_cells: t.covered,
                    study_area_cells: study,
                    fraction: if study > 0 { t.covered as f64 / study as f64 } else { 0.0 },
                    constant: t.range.filter(|(lo, hi)| t.covered > 0 && lo == hi).map(|(lo, _)| lo),
                }
            })
            .collect()
    }
}

/// A one-hot layer's first column at a cell whose hot column is `hot`: 1 where that is
/// column 0.
fn hot_first_column(hot: u32) -> f64 {
    f64::from(u8::from(hot == 0))
}

/// Measures every layer of `stack` over the study area, window by window, in parallel.
/// A layer whose grid-wide pass counted its coverage already (a categorical class scan:
/// [`crate::features::Evidence::scanned_coverage`]) is not read again.
pub fn measure(stack: &FeatureStack) -> Result<Vec<LayerCoverage>> {
    let windows = stack.grid.windows();
    let per_window: Vec<Partial> = windows
        .par_iter()
        .progress_with(crate::progress::bar(windows.len() as u64, "coverage"))
        .map(|w| Partial::of_window(stack, w))
        .collect::<Result<_>>()?;
    let mut total = Partial::default();
    for p in &per_window {
        total.merge(p);
    }
    Ok(total.finish(stack))
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
