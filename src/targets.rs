//! Ranked target areas: what a geologist takes to the field. Cells above a threshold
//! (the best `top_percent` % of the scored area, or a probability) are grouped into
//! polygons by GDAL's polygonizer, areas smaller than `min_area_km2` are dropped, and
//! the rest are described and ranked.
//!
//! Four streamed passes over the map, memory independent of the grid size:
//! 1. **threshold** (only for `top_percent`): the exact k-th largest score, found by two
//!    65,536-bucket histogram passes over the order-preserving bits of the float32
//!    values (first the high 16 bits, then the low 16 bits inside the bucket that holds
//!    rank k). With `k = ceil(scored_cells * top_percent / 100)`, target cells are the
//!    cells scoring `>=` that value: at least `k` cells, more only when cells tie with it;
//! 2. **mask**: target cells written window by window to a scratch Byte GeoTIFF;
//! 3. **polygons**: `GDALPolygonize` (4-connected groups of target cells, outlines on the
//!    cell edges), polygons under `min_area_km2` dropped;
//! 4. **statistics**: the kept polygons are burnt back onto each window (cell centre
//!    inside, which for cell-edge outlines is exactly the polygon's cells) and each
//!    polygon accumulates its cells' scores, uncertainty, features and deposits.
//!
//! **Score and rank.** `score = mean_prob * sqrt(area_km2)`: a target is worth more when
//! its cells score higher and when it is larger, but with the square root a large,
//! moderately scoring area does not bury a small, very high one (a 4x larger area counts
//! as much as a 2x higher mean probability). Ranks are 1..N by descending score (ties:
//! higher `max_prob` first, then position in the grid).
//!
//! **Top evidence.** For a model linear in the log-odds (`logistic`: see
//! [`crate::model::Model::linear_terms`]), each layer's contribution to the target's mean
//! logit relative to the average training cell: `sum over the layer's columns of
//! coef_j * (mean_j(target) - mean_j(training)) / std_j(training)` (standardised
//! coefficients); the (up to) three layers with the largest positive contributions are
//! listed, e.g. `stratno=17306 (+1.52); dist2breccia (+0.61)` (a one-hot layer named by
//! the class of its largest term, `layer=class`). For the other kinds (`wofe`, `fuzzy`,
//! the tree models, `naive_bayes`), where no such linear decomposition exists, each layer's standardised mean difference
//! between the target and the whole scored area (`(mean(target) - mean(area)) /
//! std(area)`, the largest in absolute value over the layer's columns) is listed for the
//! three layers with the largest absolute difference, e.g. `dist2breccia (-1.20 sd)`;
//! for a one-hot layer, the class most over-represented in the target, e.g.
//! `near_fault=2 (+1.10 sd)`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use geo::{Area, Centroid};
use rayon::prelude::*;
use serde::Serialize;

use crate::config::{RawTargets, Settings};
use crate::error::{Error, Result};
use crate::features::{FeatureStack, LayerValues, WindowFeatures, NO_COLUMN};
use crate::grid::{Cell, Grid, Window};
use crate::io::cog::MapRaster;
use crate::io::polygons::{self, FieldKind, FieldValue, VectorFormat};
use crate::io::vector::Burner;
use crate::labels::Deposits;
use crate::model::FittedModel;

/// The default share of the scored area that becomes target cells, in percent.
pub const DEFAULT_TOP_PERCENT: f64 = 5.0;

/// How many layers `top_evidence` names.
const TOP_EVIDENCE: usize = 3;

/// One ranked target area.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// 1 = best.
    pub rank: usize,
    /// `mean_prob * sqrt(area_km2)`.
    pub score: f64,
    /// Area in km² (cells x cell area; the grid CRS must be in metres).
    pub area_km2: f64,
    /// Number of grid cells.
    pub cells: u64,
    /// Mean map value over the cells.
    pub mean_prob: f64,
    /// Largest map value.
    pub max_prob: f64,
    /// Mean of the uncertainty map over the cells, when the model writes one.
    pub mean_uncertainty: Option<f64>,
    /// Known deposits (points, after the `[labels]` filter) inside the area.
    pub known_deposits: u64,
    /// No known deposit inside: new ground.
    pub greenfield: bool,
    /// The names (`labels.name_field`, else `#N`) of the known deposits inside, in layer order.
    pub deposits: Vec<String>,
    /// The evidence layers that contribute most (see the module docs).
    pub top_evidence: String,
    /// Centroid in the grid CRS.
    pub centroid: [f64; 2],
    /// Centroid as `[longitude, latitude]` (WGS84).
    pub centroid_lonlat: [f64; 2],
    /// The outline in the grid CRS.
    #[serde(skip)]
    pub polygon: geo::Polygon<f64>,
}

/// What the target stage found, for `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TargetsSummary {
    /// `top_percent` or `probability`.
    pub rule: String,
    /// The value of the rule (percent or probability).
    pub rule_value: f64,
    /// Map value a cell needs to be a target cell (`>=`).
    pub threshold: f64,
    /// Scored cells of the map.
    pub scored_cells: u64,
    /// `top_percent`: the k of the k-th largest score (`ceil(scored_cells * top_percent / 100)`).
    pub requested_cells: Option<u64>,
    /// Cells at or above the threshold.
    pub target_cells: u64,
    /// Polygons made by the polygonizer.
    pub polygons: usize,
    /// Polygons dropped for being smaller than `min_area_km2`.
    pub dropped_small: usize,
    /// `min_area_km2`.
    pub min_area_km2: f64,
    /// The map used for `mean_uncertainty`, if any.
    pub uncertainty_map: Option<String>,
    /// `score` or `greenfield` (`[targets] rank_by`).
    pub rank_by: crate::config::RankBy,
    /// Targets without a known deposit inside.
    pub greenfield: usize,
}

/// Ranked targets and how they were found.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Targets by rank.
    pub targets: Vec<Target>,
    /// The summary.
    pub summary: TargetsSummary,
}

/// Order-preserving unsigned key of a float (larger float, larger key).
fn key(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Inverse of [`key`].
fn unkey(k: u32) -> f32 {
    if k >> 31 == 1 {
        f32::from_bits(k & 0x7fff_ffff)
    } else {
        f32::from_bits(!k)
    }
}

/// Given bucket counts, the bucket holding the k-th largest item (from 1) and how many
/// items lie in higher buckets.
fn bucket_of_rank(hist: &[u64], k: u64) -> (usize, u64) {
    let mut above = 0u64;
    for b in (0..hist.len()).rev() {
        if above + hist[b] >= k {
            return (b, above);
        }
        above += hist[b];
    }
    (0, above)
}

fn histogram(map: &MapRaster, grid: &Grid, f: impl Fn(u32) -> Option<usize> + Sync) -> Result<Vec<u64>> {
    histogram_n(map, grid, 1 << 16, f)
}

/// Counts of the valid cells of the map in `n` bins, `f` giving the bin of a key.
fn histogram_n(map: &MapRaster, grid: &Grid, n: usize, f: impl Fn(u32) -> Option<usize> + Sync) -> Result<Vec<u64>> {
    grid.windows()
        .par_iter()
        .map(|w| -> Result<Vec<u64>> {
            let (values, valid) = map.read_window(w)?;
            let mut h = vec![0u64; n];
            for (&v, &ok) in values.iter().zip(&valid) {
                if ok {
                    if let Some(b) = f(key(v)) {
                        h[b] += 1;
                    }
                }
            }
            Ok(h)
        })
        .try_reduce(
            || vec![0u64; n],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                Ok(a)
            },
        )
}

/// The best `top_percent` % of the scored area of a map: the one definition used by the
/// targets, the colour classes of the map and the capture figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TopArea {
    /// The share asked for, in percent of the scored cells.
    pub top_percent: f64,
    /// `k = ceil(scored_cells * top_percent / 100)` (at least 1).
    pub k: u64,
    /// The exact k-th largest value: cells scoring `>=` it are in the top area.
    pub threshold: f32,
    /// Cells scoring `>=` the threshold (`k`, more when cells tie with it).
    pub cells: u64,
}

/// The exact thresholds of the best `percents` % of the scored area of the map, and the
/// number of scored cells, in two streamed passes whatever the number of percents.
pub fn top_areas(map: &MapRaster, grid: &Grid, percents: &[f64]) -> Result<(Vec<TopArea>, u64)> {
    let high = histogram(map, grid, |k| Some((k >> 16) as usize))?;
    let select = TopSelect::new(&high, percents).ok_or_else(|| no_scored_cell(map))?;
    let low = histogram_n(map, grid, select.low_len(), |key| select.low_bin(key))?;
    Ok((select.finish(&low), select.scored))
}

fn no_scored_cell(map: &MapRaster) -> Error {
    Error::input(map.path(), "has no scored cell (no cell with a value to rank)")
}

/// The 65,536 counts of the high 16 bits of the order-preserving keys of a map's valid
/// cells: the first pass of the exact order statistics, which the prediction counts as
/// it writes the map (integer counts: windows and tiles merge exactly, in any order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HighHistogram(pub Vec<u64>);

impl Default for HighHistogram {
    fn default() -> HighHistogram {
        HighHistogram(vec![0; 1 << 16])
    }
}

impl HighHistogram {
    /// Counts the valid values of a window.
    pub fn add(&mut self, values: &[f32], valid: &[bool]) {
        for (&v, &ok) in values.iter().zip(valid) {
            if ok {
                self.0[(key(v) >> 16) as usize] += 1;
            }
        }
    }

    /// Adds another window's or tile's counts.
    pub fn merge(&mut self, o: &HighHistogram) {
        self.0.iter_mut().zip(&o.0).for_each(|(a, b)| *a += b);
    }

    /// Valid cells counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// The second pass of [`top_areas`] given the first's counts: which high buckets hold the
/// k-th largest values, and how to bin the low 16 bits inside them.
#[derive(Debug, Clone)]
pub struct TopSelect {
    percents: Vec<f64>,
    ks: Vec<u64>,
    buckets: Vec<(usize, u64)>,
    needed: Vec<usize>,
    /// Valid cells of the map.
    pub scored: u64,
}

impl TopSelect {
    /// The selection of the best `percents` % from the high-bit counts; `None` when no
    /// cell is scored.
    pub fn new(high: &[u64], percents: &[f64]) -> Option<TopSelect> {
        let scored: u64 = high.iter().sum();
        if scored == 0 {
            return None;
        }
        let ks: Vec<u64> =
            percents.iter().map(|p| ((scored as f64 * p / 100.0).ceil() as u64).clamp(1, scored)).collect();
        let buckets: Vec<(usize, u64)> = ks.iter().map(|&k| bucket_of_rank(high, k)).collect();
        let mut needed: Vec<usize> = buckets.iter().map(|b| b.0).collect();
        needed.sort_unstable();
        needed.dedup();
        Some(TopSelect { percents: percents.to_vec(), ks, buckets, needed, scored })
    }

    /// Bins of the low-bit histogram.
    pub fn low_len(&self) -> usize {
        self.needed.len() << 16
    }

    fn slot(&self, hb: usize) -> Option<usize> {
        self.needed.binary_search(&hb).ok()
    }

    /// The low-bit bin of an order-preserving key, if its high bucket is needed.
    fn low_bin(&self, key: u32) -> Option<usize> {
        self.slot((key >> 16) as usize).map(|s| (s << 16) | (key & 0xffff) as usize)
    }

    /// Counts the valid values of a window into `low` (of [`TopSelect::low_len`] bins).
    pub fn add(&self, low: &mut [u64], values: &[f32], valid: &[bool]) {
        for (&v, &ok) in values.iter().zip(valid) {
            if ok {
                if let Some(b) = self.low_bin(key(v)) {
                    low[b] += 1;
                }
            }
        }
    }

    /// The top areas from the low-bit counts.
    pub fn finish(&self, low: &[u64]) -> Vec<TopArea> {
        self.percents
            .iter()
            .zip(&self.ks)
            .zip(&self.buckets)
            .map(|((&top_percent, &k), &(hb, above))| {
                let s = self.slot(hb).expect("the bucket was counted");
                let lows = &low[s << 16..(s + 1) << 16];
                let (lb, _) = bucket_of_rank(lows, k - above);
                let cells = above + lows[lb..].iter().sum::<u64>();
                TopArea { top_percent, k, threshold: unkey(((hb as u32) << 16) | lb as u32), cells }
            })
            .collect()
    }
}

/// The exact k-th largest valid value of the map (k from 1), and the number of valid cells.
pub fn kth_largest(map: &MapRaster, grid: &Grid, top_percent: f64) -> Result<(f32, u64, u64)> {
    let (areas, scored) = top_areas(map, grid, &[top_percent])?;
    Ok((areas[0].threshold, scored, areas[0].k))
}

/// Per-target sums gathered over windows.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    cells: u64,
    sum_p: f64,
    max_p: f64,
    sum_u: f64,
    cells_u: u64,
    deposits: u64,
    feature_cells: u64,
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.max_p = if self.cells == 0 {
            o.max_p
        } else if o.cells == 0 {
            self.max_p
        } else {
            self.max_p.max(o.max_p)
        };
        self.cells += o.cells;
        self.sum_p += o.sum_p;
        self.sum_u += o.sum_u;
        self.cells_u += o.cells_u;
        self.deposits += o.deposits;
        self.feature_cells += o.feature_cells;
    }
}

/// Sums of every feature column over the cells with features (the top evidence's
/// reference for non-linear models). Counted window by window, by the single run's
/// predict stage from the features it computed ([`needs_area_reference`]) or else by the
/// targets stage itself, and merged in window order either way, so both give the same
/// sums bit for bit.
#[derive(Debug, Clone, Default)]
pub struct AreaReference {
    cells: u64,
    sum: Vec<f64>,
    sumsq: Vec<f64>,
}

/// Whether the targets of `model` need the [`AreaReference`] of the scored area: when
/// targets are drawn and the model is not linear in the log-odds.
pub fn needs_area_reference(settings: &Settings, model: &FittedModel) -> bool {
    settings.targets.enabled && model.linear_terms().is_none()
}

impl AreaReference {
    /// The sums of one window's features: per column, over its valid cells in order (the
    /// sums [`WindowFeatures::for_each_value`] cell after cell gives, bit for bit: each
    /// column's sum sees the same values in the same order; a one-hot layer adds its 1s).
    pub fn of_window(block: &WindowFeatures, ncols: usize) -> AreaReference {
        let mut r = AreaReference { cells: 0, sum: vec![0.0; ncols], sumsq: vec![0.0; ncols] };
        r.cells = block.valid.iter().filter(|&&ok| ok).count() as u64;
        for (layer, span) in block.layers.iter().zip(&block.spans) {
            match layer {
                LayerValues::Dense(v) => {
                    for (j, column) in span.clone().zip(v.columns()) {
                        let (mut s, mut q) = (r.sum[j], r.sumsq[j]);
                        for (&x, _) in column.iter().zip(&block.valid).filter(|(_, &ok)| ok) {
                            s += x;
                            q += x * x;
                        }
                        (r.sum[j], r.sumsq[j]) = (s, q);
                    }
                }
                LayerValues::Hot(h) => {
                    for (&c, _) in h.iter().zip(&block.valid).filter(|(&c, &ok)| ok && c != NO_COLUMN) {
                        r.sum[span.start + c as usize] += 1.0;
                        r.sumsq[span.start + c as usize] += 1.0;
                    }
                }
            }
        }
        r
    }

    /// Adds the sums of `o` (the windows after these) to these.
    pub fn merge(&mut self, o: &AreaReference) {
        if self.sum.len() < o.sum.len() {
            self.sum.resize(o.sum.len(), 0.0);
            self.sumsq.resize(o.sum.len(), 0.0);
        }
        self.cells += o.cells;
        self.sum.iter_mut().zip(&o.sum).for_each(|(x, y)| *x += y);
        self.sumsq.iter_mut().zip(&o.sumsq).for_each(|(x, y)| *x += y);
    }
}

/// One window's share of the target statistics: the targets it touches, in the order it
/// first meets them, with their sums.
#[derive(Debug, Default)]
struct WindowSums {
    ids: Vec<u32>,
    accs: Vec<Acc>,
    /// `ncols` feature sums per entry of `ids`.
    features: Vec<f64>,
    /// (target, index into `Deposits::points`) of the deposits inside.
    deposits: Vec<(u32, usize)>,
    reference: AreaReference,
}

/// Every kept target's sums, held in a few flat vectors made once before the windows are
/// read. Windows are added in the grid's order, so each sum is the same whatever the
/// threads, and no per-target allocation is made among the windows' buffers (those
/// scattered small allocations kept the heap from reusing freed window buffers: the
/// targets stage of a 400 M-cell map grew to 2.4 GB).
struct Totals {
    ncols: usize,
    accs: Vec<Acc>,
    features: Vec<f64>,
    deposits: Vec<(u32, usize)>,
    reference: AreaReference,
}

impl Totals {
    fn new(targets: usize, ncols: usize) -> Totals {
        Totals {
            ncols,
            accs: vec![Acc::default(); targets],
            features: vec![0.0; targets * ncols],
            deposits: Vec::new(),
            reference: AreaReference::default(),
        }
    }

    fn add(&mut self, w: &WindowSums) {
        let n = self.ncols;
        for (k, &id) in w.ids.iter().enumerate() {
            let id = id as usize;
            self.accs[id].merge(&w.accs[k]);
            let total = &mut self.features[id * n..(id + 1) * n];
            total.iter_mut().zip(&w.features[k * n..(k + 1) * n]).for_each(|(a, b)| *a += b);
        }
        self.deposits.extend(&w.deposits);
        self.reference.merge(&w.reference);
    }
}

/// The target rule of `[targets]` and the map value it comes to.
#[derive(Debug, Clone)]
pub struct TargetThreshold {
    rule: String,
    rule_value: f64,
    threshold: f32,
    scored: u64,
    requested: Option<u64>,
}

impl TargetThreshold {
    /// The threshold of `[targets]` on the map at `map`, in one or two streamed passes.
    pub fn of_map(t: &RawTargets, map: &MapRaster, grid: &Grid) -> Result<TargetThreshold> {
        match t.probability {
            Some(_) => {
                let high = histogram(map, grid, |k| Some((k >> 16) as usize))?;
                Ok(TargetThreshold::new(t, None, high.iter().sum()))
            }
            None => {
                let pct = t.top_percent.unwrap_or(DEFAULT_TOP_PERCENT);
                let (areas, scored) = top_areas(map, grid, &[pct])?;
                Ok(TargetThreshold::new(t, Some(areas[0]), scored))
            }
        }
    }

    /// The threshold of `[targets]` from counts already made: `top` the best
    /// [`TargetThreshold::top_percent`] % of the map (used for `top_percent` only), `scored`
    /// the map's valid cells.
    pub fn new(t: &RawTargets, top: Option<TopArea>, scored: u64) -> TargetThreshold {
        match (t.probability, top) {
            (None, Some(a)) => TargetThreshold {
                rule: "top_percent".to_string(),
                rule_value: a.top_percent,
                threshold: a.threshold,
                scored,
                requested: Some(a.k),
            },
            (p, _) => {
                let p = p.unwrap_or(f64::NAN);
                TargetThreshold {
                    rule: "probability".to_string(),
                    rule_value: p,
                    threshold: p as f32,
                    scored,
                    requested: None,
                }
            }
        }
    }

    /// The share of the area a `top_percent` rule asks for (`None` for `probability`).
    pub fn top_percent(t: &RawTargets) -> Option<f64> {
        match t.probability {
            Some(_) => None,
            None => Some(t.top_percent.unwrap_or(DEFAULT_TOP_PERCENT)),
        }
    }
}

/// Finds, describes and ranks the target areas of the map at `map` (on the grid of
/// `settings`), with an optional uncertainty map. `scratch` is where the mask raster goes.
pub fn find_targets(
    settings: &Settings,
    stack: &FeatureStack,
    model: &FittedModel,
    deposits: &Deposits,
    map: &MapRaster,
    uncertainty: Option<&MapRaster>,
    scratch: &Path,
) -> Result<Targets> {
    let at = TargetThreshold::of_map(&settings.targets, map, &settings.grid)?;
    find_targets_at(settings, stack, model, deposits, map, uncertainty, &at, None, scratch)
}

/// [`find_targets`] with the threshold found beforehand, and the [`AreaReference`] when
/// the predict stage counted it (else, if the model needs it, the features of every
/// window are computed again for it).
#[allow(clippy::too_many_arguments)]
pub fn find_targets_at(
    settings: &Settings,
    stack: &FeatureStack,
    model: &FittedModel,
    deposits: &Deposits,
    map: &MapRaster,
    uncertainty: Option<&MapRaster>,
    at: &TargetThreshold,
    counted: Option<&AreaReference>,
    scratch: &Path,
) -> Result<Targets> {
    let t: &RawTargets = &settings.targets;
    let grid = &settings.grid;
    let TargetThreshold { rule, rule_value, threshold, scored, requested } = at.clone();

    // Mask of target cells, streamed to a scratch GeoTIFF.
    let started = std::time::Instant::now();
    let windows = grid.windows();
    let mut writer = polygons::MaskWriter::create(scratch, grid)?;
    let mut target_cells = 0u64;
    for group in windows.chunks(4 * rayon::current_num_threads().max(1)) {
        let blocks: Vec<_> = group
            .par_iter()
            .map(|w| -> Result<Vec<bool>> {
                let (values, valid) = map.read_window(w)?;
                Ok(values.iter().zip(&valid).map(|(&v, &ok)| ok && v >= threshold).collect())
            })
            .collect::<Result<_>>()?;
        for (w, sel) in group.iter().zip(blocks) {
            target_cells += sel.iter().filter(|&&s| s).count() as u64;
            writer.write(w, &sel)?;
        }
    }
    let mask_path = writer.finish()?;
    if let Some(k) = requested {
        if target_cells as f64 > 1.2 * k as f64 {
            tracing::warn!(
                "targets: {target_cells} cells tie at or above the threshold {threshold} where {k} were asked for \
                 (the map has few distinct values); set `[targets] probability` to choose the threshold"
            );
        }
    }
    let masked = started.elapsed().as_secs_f64();
    let all_polygons = polygons::polygonize(&mask_path)?;
    let polygonized = started.elapsed().as_secs_f64();
    std::fs::remove_file(&mask_path).map_err(|e| Error::output(&mask_path, e))?;
    let n_found = all_polygons.len();
    let km2 = |p: &geo::Polygon<f64>| p.unsigned_area() / 1e6;
    let kept: Vec<geo::Polygon<f64>> = all_polygons.into_iter().filter(|p| km2(p) >= t.min_area_km2).collect();
    let dropped_small = n_found - kept.len();

    // Statistics per kept polygon.
    let ncols = stack.columns.len();
    let linear = model.linear_terms().is_some();
    let burner = Burner::new(
        kept.iter().enumerate().map(|(i, p)| (geo::Geometry::Polygon(p.clone()), i as u32)).collect(),
        false,
    );
    // The deposits of each cell, by cell (row, then column): a window's are a range of rows.
    let mut by_cell: HashMap<Cell, Vec<usize>> = HashMap::new();
    for (i, c) in deposits.point_cells.iter().enumerate() {
        by_cell.entry(*c).or_default().push(i);
    }
    let mut deposits_at: Vec<(Cell, Vec<usize>)> = by_cell.into_iter().collect();
    deposits_at.sort_unstable_by_key(|(c, _)| *c);
    // (offset in `w`, deposits) of the deposits' cells inside window `w`, offsets ascending.
    let deposits_in = |w: &Window| -> Vec<(usize, &[usize])> {
        let first = deposits_at.partition_point(|(c, _)| c.row < w.row);
        let end = deposits_at.partition_point(|(c, _)| c.row < w.row + w.rows);
        deposits_at[first..end].iter().filter(|(c, _)| w.contains(*c)).map(|(c, d)| (w.offset(*c), &d[..])).collect()
    };
    let window_sums = |w: &Window| -> Result<WindowSums> {
        let ids = if kept.is_empty() { vec![None; w.len()] } else { burner.burn(grid, w)? };
        let any = ids.iter().any(Option::is_some);
        let mut sums = WindowSums::default();
        let reference_here = !linear && counted.is_none();
        if !any && !reference_here {
            return Ok(sums);
        }
        // One-hot layers by their hot column: no dense window of every class column.
        let block = stack.compute_features(w)?;
        if reference_here {
            sums.reference = AreaReference::of_window(&block, ncols);
        }
        if !any {
            return Ok(sums);
        }
        let (values, valid) = map.read_window(w)?;
        let unc = match uncertainty {
            Some(u) => Some(u.read_window(w)?),
            None => None,
        };
        let mut slot_of: HashMap<u32, usize> = HashMap::new();
        // Neighbouring cells mostly belong to the same target: its slot is kept at hand.
        let mut last: Option<(u32, usize)> = None;
        let here = deposits_in(w);
        let mut next_deposit = 0;
        for (i, id) in ids.iter().enumerate() {
            let Some(id) = *id else { continue };
            if !valid[i] {
                continue;
            }
            let k = match last {
                Some((l, k)) if l == id => k,
                _ => *slot_of.entry(id).or_insert_with(|| {
                    sums.ids.push(id);
                    sums.accs.push(Acc::default());
                    sums.features.resize(sums.features.len() + ncols, 0.0);
                    sums.ids.len() - 1
                }),
            };
            last = Some((id, k));
            let a = &mut sums.accs[k];
            let p = values[i] as f64;
            a.max_p = if a.cells == 0 { p } else { a.max_p.max(p) };
            a.cells += 1;
            a.sum_p += p;
            if let Some((u, uv)) = &unc {
                if uv[i] {
                    a.sum_u += u[i] as f64;
                    a.cells_u += 1;
                }
            }
            while here.get(next_deposit).is_some_and(|&(at, _)| at < i) {
                next_deposit += 1;
            }
            if let Some(&(_, found)) = here.get(next_deposit).filter(|&&(at, _)| at == i) {
                a.deposits += found.len() as u64;
                sums.deposits.extend(found.iter().map(|&d| (id, d)));
            }
            if block.valid[i] {
                a.feature_cells += 1;
                let f = &mut sums.features[k * ncols..(k + 1) * ncols];
                block.for_each_value(i, |j, v| f[j] += v);
            }
        }
        Ok(sums)
    };
    let mut totals = Totals::new(kept.len(), ncols);
    for group in windows.chunks(4 * rayon::current_num_threads().max(1)) {
        let sums: Vec<WindowSums> = group.par_iter().map(window_sums).collect::<Result<_>>()?;
        sums.iter().for_each(|s| totals.add(s));
    }
    tracing::debug!(
        "targets: mask {masked:.2} s, polygons {:.2} s, statistics {:.2} s",
        polygonized - masked,
        started.elapsed().as_secs_f64() - polygonized
    );
    let mut deposit_ids: Vec<Vec<usize>> = vec![Vec::new(); kept.len()];
    for &(id, d) in &totals.deposits {
        deposit_ids[id as usize].push(d);
    }
    let reference = match counted {
        Some(r) => r.clone(),
        None => totals.reference,
    };

    let layer_names: Vec<&str> = settings.evidence.iter().map(|e| e.name.as_str()).collect();
    let explain = Explainer::new(model, &layer_names, &stack.spans, &reference);
    let cell_km2 = grid.cell_area() / 1e6;
    let mut targets: Vec<(usize, Target)> = kept
        .into_iter()
        .enumerate()
        .filter_map(|(i, polygon)| {
            let a = &totals.accs[i];
            if a.cells == 0 {
                return None;
            }
            let area_km2 = a.cells as f64 * cell_km2;
            let mean_prob = a.sum_p / a.cells as f64;
            let sums = &totals.features[i * ncols..(i + 1) * ncols];
            let means: Vec<f64> = sums.iter().map(|s| s / a.feature_cells.max(1) as f64).collect();
            let centroid = polygon.centroid().map(|c| [c.x(), c.y()]).unwrap_or([f64::NAN, f64::NAN]);
            let ids = &mut deposit_ids[i];
            ids.sort_unstable();
            Some((
                i,
                Target {
                    rank: 0,
                    score: mean_prob * area_km2.sqrt(),
                    area_km2,
                    cells: a.cells,
                    mean_prob,
                    max_prob: a.max_p,
                    mean_uncertainty: (uncertainty.is_some() && a.cells_u > 0).then(|| a.sum_u / a.cells_u as f64),
                    known_deposits: a.deposits,
                    greenfield: a.deposits == 0,
                    deposits: ids.iter().map(|&d| deposits.names[d].clone()).collect(),
                    top_evidence: if a.feature_cells > 0 { explain.top(&means) } else { String::new() },
                    centroid,
                    centroid_lonlat: [f64::NAN, f64::NAN],
                    polygon,
                },
            ))
        })
        .collect();
    let lonlat = crate::io::to_lonlat(&grid.crs_wkt, &targets.iter().map(|(_, t)| t.centroid).collect::<Vec<_>>())?;
    for ((_, t), ll) in targets.iter_mut().zip(lonlat) {
        t.centroid_lonlat = ll;
    }
    let new_ground_first = t.rank_by == crate::config::RankBy::Greenfield;
    targets.sort_by(|(ia, a), (ib, b)| {
        let ground = if new_ground_first { b.greenfield.cmp(&a.greenfield) } else { std::cmp::Ordering::Equal };
        ground.then(b.score.total_cmp(&a.score)).then(b.max_prob.total_cmp(&a.max_prob)).then(ia.cmp(ib))
    });
    let greenfield = targets.iter().filter(|(_, t)| t.greenfield).count();
    let targets: Vec<Target> = targets
        .into_iter()
        .enumerate()
        .map(|(r, (_, mut t))| {
            t.rank = r + 1;
            t
        })
        .collect();
    Ok(Targets {
        targets,
        summary: TargetsSummary {
            rule,
            rule_value,
            threshold: threshold as f64,
            scored_cells: scored,
            requested_cells: requested,
            target_cells,
            polygons: n_found,
            dropped_small,
            min_area_km2: t.min_area_km2,
            uncertainty_map: uncertainty.and_then(|p| p.path().file_name()).map(|n| n.to_string_lossy().into_owned()),
            rank_by: t.rank_by,
            greenfield,
        },
    })
}

/// Turns a target's feature means into the `top_evidence` text.
struct Explainer {
    names: Vec<String>,
    columns: Vec<String>,
    spans: Vec<std::ops::Range<usize>>,
    /// Linear models ([`FittedModel::linear_terms`]): per column (coefficient, centre,
    /// scale) of its log-odds term.
    linear: Option<Vec<(f64, f64, f64)>>,
    /// Otherwise: per column (mean, std) over the scored area.
    area: Vec<(f64, f64)>,
}

impl Explainer {
    /// The explainer of `model`: from the saved model's own kind, never the config's.
    fn new(
        model: &FittedModel,
        names: &[&str],
        spans: &[std::ops::Range<usize>],
        reference: &AreaReference,
    ) -> Explainer {
        let linear = model.linear_terms();
        let n = reference.cells.max(1) as f64;
        let area = reference
            .sum
            .iter()
            .zip(&reference.sumsq)
            .map(|(s, q)| {
                let m = s / n;
                (m, (q / n - m * m).max(0.0).sqrt())
            })
            .collect();
        Explainer {
            names: names.iter().map(|s| s.to_string()).collect(),
            columns: model.columns.clone(),
            spans: spans.to_vec(),
            linear,
            area,
        }
    }

    fn top(&self, means: &[f64]) -> String {
        let mut parts: Vec<(f64, String)> = Vec::new();
        for (name, span) in self.names.iter().zip(&self.spans) {
            match &self.linear {
                Some(cols) => {
                    let term = |j: usize| cols[j].0 * (means[j] - cols[j].1) / cols[j].2;
                    let c: f64 = span.clone().map(term).sum();
                    // A one-hot layer (`layer=class` columns) is named by the class of its
                    // largest term: the unit that makes the area prospective.
                    let label = match span.len() > 1 && self.columns[span.start].contains('=') {
                        true => span.clone().max_by(|&a, &b| term(a).total_cmp(&term(b))).map(|j| &self.columns[j]),
                        false => None,
                    };
                    if c > 0.0 {
                        parts.push((c, format!("{} ({c:+.2})", label.unwrap_or(name))));
                    }
                }
                None => {
                    let diffs = span
                        .clone()
                        .filter(|&j| self.area.get(j).is_some_and(|a| a.1 > 0.0))
                        .map(|j| (j, (means[j] - self.area[j].0) / self.area[j].1));
                    if span.len() == 1 {
                        // A continuous layer: the signed difference.
                        if let Some((_, d)) = diffs.into_iter().next().filter(|(_, d)| *d != 0.0) {
                            parts.push((d.abs(), format!("{name} ({d:+.2} sd)")));
                        }
                    } else if let Some((j, d)) = diffs.max_by(|a, b| a.1.total_cmp(&b.1)).filter(|(_, d)| *d > 0.0) {
                        // One-hot classes: the class most over-represented in the area.
                        parts.push((d, format!("{} ({d:+.2} sd)", self.columns[j])));
                    }
                }
            }
        }
        parts.sort_by(|a, b| b.0.total_cmp(&a.0));
        parts.into_iter().take(TOP_EVIDENCE).map(|p| p.1).collect::<Vec<_>>().join("; ")
    }
}

/// The fields of `targets.gpkg` / `targets.csv`, in order.
pub const FIELDS: [(&str, FieldKind); 15] = [
    ("rank", FieldKind::Int),
    ("score", FieldKind::Real),
    ("area_km2", FieldKind::Real),
    ("cells", FieldKind::Int),
    ("mean_prob", FieldKind::Real),
    ("max_prob", FieldKind::Real),
    ("mean_uncertainty", FieldKind::Real),
    ("known_deposits", FieldKind::Int),
    ("greenfield", FieldKind::Int),
    ("deposits", FieldKind::Text),
    ("top_evidence", FieldKind::Text),
    ("centroid_x", FieldKind::Real),
    ("centroid_y", FieldKind::Real),
    ("centroid_lon", FieldKind::Real),
    ("centroid_lat", FieldKind::Real),
];

/// How the `deposits` field joins the names of a target's deposits.
pub const NAME_SEPARATOR: &str = "; ";

impl Target {
    fn row(&self) -> Vec<FieldValue> {
        vec![
            FieldValue::Int(self.rank as i64),
            FieldValue::Real(self.score),
            FieldValue::Real(self.area_km2),
            FieldValue::Int(self.cells as i64),
            FieldValue::Real(self.mean_prob),
            FieldValue::Real(self.max_prob),
            self.mean_uncertainty.map_or(FieldValue::Null, FieldValue::Real),
            FieldValue::Int(self.known_deposits as i64),
            FieldValue::Int(self.greenfield as i64),
            FieldValue::Text(self.deposits.join(NAME_SEPARATOR)),
            FieldValue::Text(self.top_evidence.clone()),
            FieldValue::Real(self.centroid[0]),
            FieldValue::Real(self.centroid[1]),
            FieldValue::Real(self.centroid_lonlat[0]),
            FieldValue::Real(self.centroid_lonlat[1]),
        ]
    }
}

/// Writes `targets.gpkg` (layer `targets`, grid CRS) and optionally `targets.geojson`
/// (WGS84) to the given paths.
pub fn write_vector(targets: &Targets, grid: &Grid, gpkg: &Path, geojson: Option<&Path>) -> Result<()> {
    let polys: Vec<geo::Polygon<f64>> = targets.targets.iter().map(|t| t.polygon.clone()).collect();
    let rows: Vec<Vec<FieldValue>> = targets.targets.iter().map(Target::row).collect();
    polygons::write_polygons(gpkg, VectorFormat::GeoPackage, "targets", &grid.crs_wkt, &FIELDS, &polys, &rows)?;
    if let Some(p) = geojson {
        polygons::write_polygons(p, VectorFormat::GeoJson, "targets", &grid.crs_wkt, &FIELDS, &polys, &rows)?;
    }
    Ok(())
}

/// The targets as CSV text (one row per target, the fields of [`FIELDS`]).
pub fn to_csv(targets: &Targets) -> String {
    let mut s = FIELDS.iter().map(|f| f.0).collect::<Vec<_>>().join(",") + "\n";
    for t in &targets.targets {
        let cells: Vec<String> = t
            .row()
            .into_iter()
            .map(|v| match v {
                FieldValue::Int(x) => x.to_string(),
                FieldValue::Real(x) => format!("{x}"),
                FieldValue::Text(x) => format!("\"{}\"", x.replace('"', "\"\"")),
                FieldValue::Null => String::new(),
            })
            .collect();
        s += &(cells.join(",") + "\n");
    }
    s
}

/// Where the uncertainty map of a run is, among the files in `dir`: `uncertainty.tif`
/// when a model writes one, else weights of evidence's `posterior_std.tif`.
pub fn uncertainty_map(files: &[PathBuf]) -> Option<PathBuf> {
    ["uncertainty.tif", "posterior_std.tif"]
        .iter()
        .find_map(|name| files.iter().find(|p| p.file_name().is_some_and(|n| n == *name)).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_keys_keep_the_order_and_round_trip() {
        let vals = [-3.5f32, -0.0, 0.0, 1e-30, 0.25, 0.5, 1.0, 7.0];
        for w in vals.windows(2) {
            assert!(key(w[0]) <= key(w[1]), "{w:?}");
        }
        for v in vals {
            assert_eq!(unkey(key(v)).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn bucket_of_rank_counts_from_the_top() {
        // Buckets 0..4 hold 5, 0, 3, 2 items: the 1st and 2nd largest are in bucket 3,
        // the 3rd..5th in bucket 2 with 2 above, the 6th in bucket 0 with 5 above.
        let h = [5u64, 0, 3, 2];
        assert_eq!(bucket_of_rank(&h, 1), (3, 0));
        assert_eq!(bucket_of_rank(&h, 2), (3, 0));
        assert_eq!(bucket_of_rank(&h, 3), (2, 2));
        assert_eq!(bucket_of_rank(&h, 5), (2, 2));
        assert_eq!(bucket_of_rank(&h, 6), (0, 5));
    }
}
