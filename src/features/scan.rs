//! The grid-wide passes of the evidence layers (class scans, burnt cells, PCA moments,
//! unmapped counts, the sorted values of transforms), each as a partial over a set of
//! windows with an exact merge in window order and a finish in the layer's `prepare`.
//!
//! The single run scans every window then finishes ([`Pass::All`]); a tiled run's
//! `prepare` tasks scan their own windows and stop ([`Pass::Windows`]), the `fit` stage
//! merges the partials in tile order and every `tile` task finishes from the merged state
//! ([`Pass::Merged`]) without reading a window. Partials hold what is exact to merge in
//! any grouping (sets, integer counts, per-window lists), so the merged state equals the
//! single run's scan bit for bit.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::spectral::pca::Moments;
use crate::grid::{Grid, Window};

/// Windows read by grid-wide passes in this process (one per layer and window).
static WINDOWS_SCANNED: AtomicU64 = AtomicU64::new(0);

/// Windows read by grid-wide passes so far in this process, counted once per layer and
/// window: what the stages log, so that a tile task can be seen to read none.
pub fn windows_scanned() -> u64 {
    WINDOWS_SCANNED.load(Ordering::Relaxed)
}

/// Counts one window read by a grid-wide pass.
pub(crate) fn count_window() {
    WINDOWS_SCANNED.fetch_add(1, Ordering::Relaxed);
}

/// The partial of one layer's own grid-wide pass (its kind's), over some windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum KindScan {
    /// The kind has no grid-wide pass (or the layer's config makes it need none).
    #[default]
    None,
    /// `categorical`: the distinct values inside the study area, and the cells with data
    /// there (the coverage tally read in the same pass).
    Classes {
        /// Distinct values.
        set: BTreeSet<i64>,
        /// Study-area cells with data.
        covered: u64,
    },
    /// `spectral` PCA/Crosta: the moments of each window, in window order.
    Moments(Vec<Moments>),
    /// `distance` (raster method): burnt cells (row, column within the window) of each
    /// window that has any, by window index, ascending.
    Burnt(Vec<(usize, Vec<(u32, u32)>)>),
    /// `rasterize`, `polygon_value`: study-area cells outside every polygon, and study-area cells.
    Unmapped(u64, u64),
}

/// One layer's partial: its kind's pass and, for a transformed or classified layer, the
/// sorted study-area values of the transform's pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerScan {
    /// The kind's pass.
    pub kind: KindScan,
    /// The transform's pass: study-area values with data (offset added), sorted; `None`
    /// when the layer has no transform, or when it could not be read before the kind's
    /// pass was merged (the `fit` stage then reads it over the grid once).
    pub values: Option<Vec<f64>>,
}

/// The partials of every layer, in config order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StackScan {
    /// One per evidence layer.
    pub layers: Vec<LayerScan>,
}

/// Most distinct values a class scan keeps (the most `max_classes` can be).
fn class_cap() -> usize {
    crate::grid::MAX_CLASSES
}

impl KindScan {
    /// Appends `later` (the partial of the windows after this one's) to this one.
    /// `name` names the layer in errors.
    pub fn merge(&mut self, later: KindScan, name: &str) -> Result<()> {
        match (self, later) {
            (_, KindScan::None) => {}
            (me @ KindScan::None, later) => *me = later,
            (KindScan::Classes { set, covered }, KindScan::Classes { set: s, covered: c }) => {
                set.extend(s);
                *covered += c;
                if set.len() > class_cap() {
                    return Err(Error::key(
                        format!("evidence `{name}`"),
                        format!(
                            "has more than {} distinct values, more than max_classes can be; is it continuous \
                             (kind = \"raster\")?",
                            class_cap()
                        ),
                    ));
                }
            }
            (KindScan::Moments(a), KindScan::Moments(b)) => a.extend(b),
            (KindScan::Burnt(a), KindScan::Burnt(b)) => a.extend(b),
            (KindScan::Unmapped(g, n), KindScan::Unmapped(g2, n2)) => {
                *g += g2;
                *n += n2;
            }
            (me, later) => {
                return Err(Error::key(
                    format!("evidence `{name}`"),
                    format!("partials of different passes cannot be merged ({me:?} and {later:?})"),
                ))
            }
        }
        Ok(())
    }
}

impl StackScan {
    /// Appends `later` (the partial of the windows after this one's) to this one; `names`
    /// are the layers' names, in order.
    pub fn merge(&mut self, later: StackScan, names: &[String]) -> Result<()> {
        if self.layers.is_empty() {
            *self = later;
            return Ok(());
        }
        if later.layers.len() != self.layers.len() {
            return Err(Error::key(
                "evidence",
                format!("partials of {} and {} layers cannot be merged", self.layers.len(), later.layers.len()),
            ));
        }
        for ((a, b), name) in self.layers.iter_mut().zip(later.layers).zip(names) {
            a.kind.merge(b.kind, name)?;
            a.values = match (a.values.take(), b.values) {
                (Some(mut x), Some(y)) => {
                    x.extend(y);
                    Some(x)
                }
                _ => None,
            };
        }
        Ok(())
    }
}

/// How a layer's `prepare` gets its grid-wide pass.
#[derive(Debug, Clone, Copy)]
pub enum Pass<'a> {
    /// Reads every window of the grid, then finishes: the single run.
    All,
    /// Reads these windows and stops at the partial: a tiled run's `prepare` task.
    Windows(&'a [Window]),
    /// Reads nothing: finishes from the merged partial of every window.
    Merged(&'a LayerScan),
}

/// What a layer's pass gave: the partial to finish from, or to stop at.
pub enum Step {
    /// Finish the layer from this partial (of every window).
    Finish(KindScan),
    /// Stop: this is the partial of the windows asked for.
    Stop(KindScan),
}

impl Pass<'_> {
    /// The kind's pass: `scan` over the windows asked for, or the merged partial.
    pub fn kind(&self, grid: &Grid, scan: impl FnOnce(&[Window]) -> Result<KindScan>) -> Result<Step> {
        Ok(match self {
            Pass::All => Step::Finish(scan(&grid.windows())?),
            Pass::Windows(w) => Step::Stop(scan(w)?),
            Pass::Merged(s) => Step::Finish(s.kind.clone()),
        })
    }
}

/// A layer from its `prepare`: finished, or the partial its pass stopped at.
pub enum Prepared<T> {
    /// The finished layer.
    Layer(T),
    /// The partial of [`Pass::Windows`].
    Partial(KindScan),
}

impl<T: crate::features::Evidence + 'static> Prepared<T> {
    /// The layer boxed as an [`Evidence`](crate::features::Evidence).
    pub fn boxed(self) -> Prepared<Box<dyn crate::features::Evidence>> {
        match self {
            Prepared::Layer(l) => Prepared::Layer(Box::new(l)),
            Prepared::Partial(s) => Prepared::Partial(s),
        }
    }
}

/// Early return of a kind's `prepare` at the partial (`Step::Stop`), else the partial to finish from.
macro_rules! finish_or_stop {
    ($step:expr) => {
        match $step {
            $crate::features::scan::Step::Finish(s) => s,
            $crate::features::scan::Step::Stop(s) => return Ok($crate::features::scan::Prepared::Partial(s)),
        }
    };
}
pub(crate) use finish_or_stop;
