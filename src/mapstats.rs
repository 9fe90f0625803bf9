//! Statistics of the maps counted while they are written, so that evaluation, colour
//! classes and targets read the finished map once instead of seven times.
//!
//! While each window is written ([`MapStats::add_window`]), for every output map: the
//! 65,536-bucket histogram of the high 16 bits of the order-preserving keys of its valid
//! values (the first pass of the exact order statistics of [`crate::targets::top_areas`]),
//! and the prospectivity map's value at each deposit. All of it is integer counts or exact
//! values: windows (and the tiles of a tiled run) merge exactly, in any order.
//!
//! After writing, [`MapStats::finish`] makes **one** streamed pass over the map (and the
//! uncertainty map, when the model writes one) that counts, per window, the low 16 bits
//! inside the few high buckets holding the thresholds (the best 1, 5, 10, 20, 50 % of the
//! area and `[targets] top_percent`; the uncertainty's top 1 %) and the ROC rank counts of
//! every cell against the deposits' scores. Everything the summaries need follows exactly:
//! the area classes, the target threshold, the uncertainty stretch, AUC, the success-rate
//! curve and capture — the same figures as the separate passes, by construction (the same
//! counts, only gathered in fewer passes).

use std::collections::HashMap;

use rayon::prelude::*;

use crate::config::RawTargets;
use crate::error::{Error, Result};
use crate::evaluate::{Capture, Evaluation, Positives};
use crate::grid::{Cell, Grid, Window};
use crate::io::cog::{MapRaster, NODATA};
use crate::styles::{AreaClasses, AREA_PERCENTS};
use crate::targets::{HighHistogram, TargetThreshold, TopSelect};

/// What is counted while the maps are written.
#[derive(Debug, Clone)]
pub struct MapStats {
    /// Per output map (in the model's order), the high-bit counts of its valid values.
    pub high: Vec<HighHistogram>,
    /// The first map's value at each deposit, in deposit order (`None`: no value there).
    pub at_deposits: Vec<Option<f32>>,
    /// The deposits of each window, by the window's first cell.
    deposits_of: HashMap<(usize, usize), Vec<(usize, Cell)>>,
}

impl MapStats {
    /// Empty counts for `maps` output maps on `grid`, with the deposits at `cells`.
    pub fn new(grid: &Grid, maps: usize, cells: &[Cell]) -> MapStats {
        let mut deposits_of: HashMap<(usize, usize), Vec<(usize, Cell)>> = HashMap::new();
        for (i, &c) in cells.iter().enumerate() {
            let w = grid.window_of(c);
            deposits_of.entry((w.row, w.col)).or_default().push((i, c));
        }
        MapStats { high: vec![HighHistogram::default(); maps], at_deposits: vec![None; cells.len()], deposits_of }
    }

    /// Counts window `w` as written: `maps[k]` the values of map `k`, `valid` the cells
    /// given values. A cell counts where a reader of the written map sees a value (valid,
    /// finite, not the nodata value).
    pub fn add_window(&mut self, w: &Window, maps: &[Vec<f32>], valid: &[bool]) {
        for (k, values) in maps.iter().enumerate() {
            let seen: Vec<bool> = values.iter().zip(valid).map(|(&v, &ok)| ok && readable(v)).collect();
            self.high[k].add(values, &seen);
            if k == 0 {
                for &(i, c) in self.deposits_of.get(&(w.row, w.col)).into_iter().flatten() {
                    let j = w.offset(c);
                    self.at_deposits[i] = seen[j].then_some(values[j]);
                }
            }
        }
    }

    /// The one pass over the written map `map` (and `uncertainty`, the map of index
    /// `uncertainty.0`) that finishes every summary; `cells` are the deposits' cells.
    pub fn finish(
        &self,
        grid: &Grid,
        targets: &RawTargets,
        map: &MapRaster,
        uncertainty: Option<(usize, &MapRaster)>,
        cells: &[Cell],
    ) -> Result<Finished> {
        let no_cell = |m: &MapRaster| Error::input(m.path(), "has no scored cell (no cell with a value to rank)");
        let target_pct = TargetThreshold::top_percent(targets);
        let mut percents = AREA_PERCENTS.to_vec();
        percents.extend(target_pct);
        let select = TopSelect::new(&self.high[0].0, &percents).ok_or_else(|| no_cell(map))?;
        let unc_select = match uncertainty {
            Some((k, u)) => Some(TopSelect::new(&self.high[k].0, &[1.0]).ok_or_else(|| no_cell(u))?),
            None => None,
        };
        let positives = Positives::new(cells, &self.at_deposits);
        let empty = || {
            (
                vec![0u64; select.low_len()],
                positives.counts(),
                vec![0u64; unc_select.as_ref().map_or(0, TopSelect::low_len)],
            )
        };
        let windows = grid.windows();
        let (low, ranks, unc_low) = windows
            .par_iter()
            .map(|w| -> Result<_> {
                let (mut low, mut ranks, mut unc_low) = empty();
                let (values, valid) = map.read_window(w)?;
                select.add(&mut low, &values, &valid);
                ranks.add_window(&positives, w, &values, &valid);
                if let (Some((_, u)), Some(s)) = (uncertainty, &unc_select) {
                    let (values, valid) = u.read_window(w)?;
                    s.add(&mut unc_low, &values, &valid);
                }
                Ok((low, ranks, unc_low))
            })
            .try_reduce(empty, |a, b| {
                let add = |mut x: Vec<u64>, y: Vec<u64>| {
                    x.iter_mut().zip(&y).for_each(|(p, q)| *p += q);
                    x
                };
                Ok((add(a.0, b.0), a.1.merge(b.1), add(a.2, b.2)))
            })?;
        let mut areas = select.finish(&low);
        let target_area = target_pct.map(|_| areas.pop().expect("the target's percent was asked for"));
        let scored = select.scored;
        let classes = AreaClasses { areas, scored_cells: scored };
        let capture = crate::evaluate::capture_of(&self.at_deposits, &classes.areas, scored);
        Ok(Finished {
            target: TargetThreshold::new(targets, target_area, scored),
            uncertainty_top: unc_select.map(|s| s.finish(&unc_low)[0].threshold as f64),
            evaluation: positives.evaluate(&ranks),
            capture,
            classes,
        })
    }
}

/// A value a reader of the written map sees as data.
fn readable(v: f32) -> bool {
    v.is_finite() && v != NODATA
}

/// Every summary of the maps, from [`MapStats::finish`].
#[derive(Debug, Clone)]
pub struct Finished {
    /// The map's classes by area.
    pub classes: AreaClasses,
    /// The target threshold of `[targets]`.
    pub target: TargetThreshold,
    /// The value only 1 % of the uncertainty map's cells exceed.
    pub uncertainty_top: Option<f64>,
    /// AUC and success rate against the deposits.
    pub evaluation: Evaluation,
    /// Deposits in the area classes.
    pub capture: Vec<Capture>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values with ties, negatives and nodata, on a 3 x 2 grid of 4-cell windows.
    fn values(cell: usize) -> f32 {
        match cell % 11 {
            0 => NODATA,
            1 => f32::NAN,
            k => ((cell * 7919) % 97) as f32 / 31.0 - (k as f32) * 0.25,
        }
    }

    #[test]
    fn counts_while_writing_give_the_exact_top_areas_and_deposit_values_in_any_window_order() {
        let grid = Grid::unreferenced([0.0, 1.0, 0.0, 0.0, 0.0, -1.0], 10, 7, 4);
        let cells = [Cell { row: 1, col: 1 }, Cell { row: 6, col: 9 }, Cell { row: 1, col: 1 }];
        let windows = grid.windows();
        let mut forward = MapStats::new(&grid, 1, &cells);
        let mut backward = MapStats::new(&grid, 1, &cells);
        let mut all = Vec::new();
        for (n, w) in windows.iter().enumerate() {
            let v: Vec<f32> = (0..w.len()).map(|i| values(grid.index(w.cell(i)))).collect();
            forward.add_window(w, std::slice::from_ref(&v), &vec![true; w.len()]);
            let u = &windows[windows.len() - 1 - n];
            let vu: Vec<f32> = (0..u.len()).map(|i| values(grid.index(u.cell(i)))).collect();
            backward.add_window(u, &[vu], &vec![true; u.len()]);
            all.extend(v.into_iter().filter(|x| x.is_finite() && *x != NODATA));
        }
        assert_eq!(forward.high, backward.high);
        assert_eq!(forward.at_deposits, backward.at_deposits);
        assert_eq!(forward.high[0].total(), all.len() as u64);
        // Cell (1, 1) holds nodata: no score there; cell (6, 9) a value.
        assert_eq!(forward.at_deposits, vec![None, Some(values(grid.index(cells[1]))), None]);
        assert!(readable(values(grid.index(cells[1]))));
        // The k-th largest by sorting, against the two-level selection.
        all.sort_by(|a, b| b.total_cmp(a));
        let percents = [1.0, 5.0, 10.0, 20.0, 50.0, 100.0];
        let select = TopSelect::new(&forward.high[0].0, &percents).expect("scored cells");
        let mut low = vec![0u64; select.low_len()];
        for w in &windows {
            let v: Vec<f32> = (0..w.len()).map(|i| values(grid.index(w.cell(i)))).collect();
            let ok: Vec<bool> = v.iter().map(|&x| readable(x)).collect();
            select.add(&mut low, &v, &ok);
        }
        for a in select.finish(&low) {
            assert_eq!(a.threshold.to_bits(), all[a.k as usize - 1].to_bits(), "{a:?}");
            assert_eq!(a.cells, all.iter().filter(|&&x| x >= a.threshold).count() as u64, "{a:?}");
        }
    }
}
