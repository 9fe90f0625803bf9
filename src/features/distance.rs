//! `kind = "distance"`: distance in CRS units (metres for a projected grid) from each
//! cell centre to the nearest feature of a vector layer.
//!
//! - `method = "exact"` (default): to the geometry itself (points, lines, polygon
//!   boundaries), from an R-tree of segments.
//! - `method = "raster"`: as `gdal_rasterize` + `gdal_proximity.py -distunits GEO`: the
//!   layer is burnt onto the grid by GDAL's rasterizer (cells whose centre is inside a
//!   polygon or on a line's path; every touched cell with `all_touched`), and the
//!   distance is from the cell centre to the nearest burnt cell's centre (0 on burnt
//!   cells). The burnt cells of the whole grid are found once at prepare, in one
//!   streaming pass over the windows, and kept per window (8 bytes a burnt cell); each
//!   window is then an exact distance transform over itself and a halo.
//!
//! Either way any window is computed on its own.

use crate::features::scan::{finish_or_stop, KindScan, Pass, Prepared};
use ndarray::Array2;
use rayon::prelude::*;
use rstar::primitives::Line;
use rstar::{PointDistance, RTree};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::vector::Burner;

/// How distance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// To the geometry.
    #[default]
    Exact,
    /// To the centres of the cells GDAL's rasterizer burns (as `gdal_proximity.py`).
    Raster,
}

/// The validated keys of a `distance` layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Params {
    /// How distance is measured.
    pub method: Method,
    /// Burn every touched cell (`raster` method).
    pub all_touched: bool,
    /// Keep only segments of this strike.
    pub strike: Option<Strike>,
    /// Measure to the points where two features cross, not to the features.
    pub intersections: bool,
}

/// A strike filter on line segments: azimuth (degrees clockwise from grid north, taken
/// modulo 180 since a segment has no direction) within a tolerance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strike {
    /// Strike in [0, 180).
    pub strike: f64,
    /// Largest angular difference kept, in [0, 90].
    pub tolerance: f64,
}

/// Default `strike_tolerance`, degrees.
pub const DEFAULT_STRIKE_TOLERANCE: f64 = 22.5;

impl Strike {
    /// Checks `strike` / `strike_tolerance` of a table.
    pub fn from_keys(cx: &Check<'_>, strike: Option<f64>, tolerance: Option<f64>) -> Result<Option<Strike>> {
        match (strike, tolerance) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Error::key(cx.key("strike_tolerance"), "needs `strike`")),
            (Some(s), t) => {
                if !s.is_finite() {
                    return Err(Error::key(cx.key("strike"), format!("{s} is not an angle")));
                }
                let tolerance = t.unwrap_or(DEFAULT_STRIKE_TOLERANCE);
                if !(0.0..=90.0).contains(&tolerance) {
                    return Err(Error::key(
                        cx.key("strike_tolerance"),
                        format!("{tolerance} is outside [0, 90] degrees"),
                    ));
                }
                Ok(Some(Strike { strike: s.rem_euclid(180.0), tolerance }))
            }
        }
    }

    /// Strike of a segment, degrees in [0, 180).
    pub fn of(l: &Line<[f64; 2]>) -> f64 {
        (l.to[0] - l.from[0]).atan2(l.to[1] - l.from[1]).to_degrees().rem_euclid(180.0)
    }

    /// True when the segment's strike is within the tolerance.
    pub fn keeps(&self, l: &Line<[f64; 2]>) -> bool {
        let d = (Strike::of(l) - self.strike).abs();
        d.min(180.0 - d) <= self.tolerance + 1e-9
    }
}

/// The keys of a `distance` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// `exact` (to the geometry) or `raster` (to burned cells, as `gdal_proximity.py`).
    /// Default `exact`.
    #[serde(default)]
    pub method: Method,
    /// With `method = "raster"`: burn every cell a line touches. Default false.
    pub all_touched: Option<bool>,
    /// Keep only line segments of this strike (degrees from north).
    pub strike: Option<f64>,
    /// Largest difference from `strike` kept, degrees. Default 22.5.
    pub strike_tolerance: Option<f64>,
    /// Measure to the points where two features cross. Default false.
    #[serde(default)]
    pub intersections: bool,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Vector;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        if self.all_touched.is_some() && self.method != Method::Raster {
            return Err(Error::key(cx.key("all_touched"), "only applies with `method = \"raster\"`"));
        }
        Ok(Params {
            method: self.method,
            all_touched: self.all_touched.unwrap_or(false),
            strike: Strike::from_keys(cx, self.strike, self.strike_tolerance)?,
            intersections: self.intersections,
        })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Distance::prepare_with(p, settings, grid, pass)?.boxed())
    }
}

/// Distance to the features of one layer.
#[derive(Debug)]
pub struct Distance {
    name: String,
    source: String,
    segments: RTree<Line<[f64; 2]>>,
    points: RTree<[f64; 2]>,
    /// The burnt cells (`raster` method).
    burnt: Option<Burnt>,
}

impl Distance {
    /// Reads the layer (reprojected to the grid) and indexes its segments and points,
    /// with the burn of the `raster` method as `pass` gives it.
    pub fn prepare_with(
        params: &Params,
        settings: &EvidenceSettings,
        grid: &Grid,
        pass: Pass,
    ) -> Result<Prepared<Distance>> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `distance` layer needs a vector file"));
        };
        let features = layer.read(grid, None)?;
        let params = *params;
        let mut segments = Vec::new();
        let mut points = Vec::new();
        // Segments with the index of their feature (for intersections).
        let mut owned = Vec::new();
        for (k, f) in features.iter().enumerate() {
            let mut segs = Vec::new();
            collect(&f.geometry, &mut segs, &mut points);
            owned.extend(segs.into_iter().filter(|s| params.strike.is_none_or(|st| st.keeps(s))).map(|s| (s, k)));
        }
        if params.strike.is_some() {
            // A point has no strike.
            points.clear();
        }
        if params.intersections {
            points = intersections(&owned);
        } else {
            segments.extend(owned.into_iter().map(|(s, _)| s));
        }
        if segments.is_empty() && points.is_empty() {
            let what = if params.intersections { "no two features cross" } else { "no feature to measure distance to" };
            return Err(Error::Layer {
                path: layer.path.clone(),
                layer: layer.layer.clone(),
                message: format!(
                    "evidence `{}`: {what}{}",
                    settings.name,
                    if params.strike.is_some() { " within the strike filter" } else { "" }
                ),
            });
        }
        let source = format!("{} layer {}", layer.path.display(), layer.layer);
        let burnt = match params.method {
            Method::Exact => None,
            Method::Raster => {
                let shapes = if params.strike.is_some() || params.intersections {
                    // Burn what is measured to: the kept segments, or the intersections.
                    let segs = segments.iter().map(|l| geo::Line::new(l.from, l.to).into());
                    let pts = points.iter().map(|p| geo::Point::new(p[0], p[1]).into());
                    segs.chain(pts).map(|g| (g, 0)).collect()
                } else {
                    features.into_iter().map(|f| (f.geometry, 0)).collect()
                };
                let burner = Burner::new(shapes, params.all_touched);
                let scan = finish_or_stop!(pass.kind(grid, |w| Burnt::scan(&burner, grid, w))?);
                let KindScan::Burnt(cells) = scan else {
                    return Err(Error::key(&settings.name, "the prepared state holds no burnt cells of this layer"));
                };
                let burnt = Burnt::from_scan(grid, cells);
                if burnt.count == 0 {
                    return Err(Error::Layer {
                        path: layer.path.clone(),
                        layer: layer.layer.clone(),
                        message: format!("evidence `{}`: no feature burns a cell of the grid", settings.name),
                    });
                }
                Some(burnt)
            }
        };
        Ok(Prepared::Layer(Distance {
            name: settings.name.clone(),
            source,
            segments: RTree::bulk_load(segments),
            points: RTree::bulk_load(points),
            burnt,
        }))
    }

    /// Exact distance to the given segments (for layers that derive their lines, such as
    /// `contacts`).
    pub(crate) fn from_segments(name: &str, source: String, segments: Vec<Line<[f64; 2]>>) -> Distance {
        Distance {
            name: name.to_string(),
            source,
            segments: RTree::bulk_load(segments),
            points: RTree::new(),
            burnt: None,
        }
    }

    /// Distance from map point `p` to the nearest feature (the geometry, whatever the method).
    pub fn at(&self, p: [f64; 2]) -> f64 {
        let seg = self.segments.nearest_neighbor(&p).map(|s| s.distance_2(&p));
        let pt = self.points.nearest_neighbor(&p).map(|q| q.distance_2(&p));
        let d2 = match (seg, pt) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => f64::INFINITY,
        };
        d2.sqrt()
    }
}

/// Edge, in cells, of the tiles the exact distance gathers candidate features for.
const EXACT_TILE: usize = 32;

/// Most candidate segments and points of a tile compared with each of its cells (beyond,
/// an R-tree search per cell).
const EXACT_CANDIDATES: usize = 512;

impl Distance {
    /// [`Distance::at`] at every cell centre of `w`, tile by tile: with `d0` the distance
    /// from a tile's centre to the nearest feature and `h` the tile's half diagonal, every
    /// cell's nearest feature lies within `d0 + h` of the cell, so the features whose
    /// envelopes meet the tile grown by `d0 + h` hold it; each cell takes the smallest
    /// distance to those (the same distances as the R-tree's). A tile with more than
    /// [`EXACT_CANDIDATES`] is split in four, down to 4 cells, then searched per cell.
    fn exact_window(&self, grid: &Grid, w: &Window) -> Array2<f64> {
        let mut values = Array2::<f64>::zeros((w.len(), 1));
        let mut candidates = Vec::new();
        for tr in (0..w.rows).step_by(EXACT_TILE) {
            for tc in (0..w.cols).step_by(EXACT_TILE) {
                let tile = (tr, tc, EXACT_TILE.min(w.rows - tr), EXACT_TILE.min(w.cols - tc));
                self.exact_tile(grid, w, tile, &mut values, &mut candidates);
            }
        }
        values
    }

    /// [`Distance::exact_window`] over the cells `(row, col, rows, cols)` of `w`.
    fn exact_tile<'a>(
        &'a self,
        grid: &Grid,
        w: &Window,
        (tr, tc, rows, cols): (usize, usize, usize, usize),
        values: &mut Array2<f64>,
        candidates: &mut Vec<Candidate<'a>>,
    ) {
        let [gx0, dx, _, gy0, _, dy] = grid.window_transform(w);
        let (x0, y0) = (gx0 + tc as f64 * dx, gy0 + tr as f64 * dy);
        let (x1, y1) = (x0 + cols as f64 * dx, y0 + rows as f64 * dy);
        let reach = self.at([(x0 + x1) / 2.0, (y0 + y1) / 2.0]) + (x1 - x0).hypot(y1 - y0) / 2.0;
        candidates.clear();
        if reach.is_finite() {
            let env = rstar::AABB::from_corners(
                [x0.min(x1) - reach, y0.min(y1) - reach],
                [x0.max(x1) + reach, y0.max(y1) + reach],
            );
            candidates.extend(
                self.segments.locate_in_envelope_intersecting(&env).take(EXACT_CANDIDATES + 1).map(Candidate::Segment),
            );
            candidates.extend(self.points.locate_in_envelope(&env).take(EXACT_CANDIDATES + 1).map(Candidate::Point));
        }
        if !reach.is_finite() || candidates.len() > EXACT_CANDIDATES {
            if rows.max(cols) > 4 {
                let (r2, c2) = (rows.div_ceil(2), cols.div_ceil(2));
                for (r, c, nr, nc) in
                    [(0, 0, r2, c2), (0, c2, r2, cols - c2), (r2, 0, rows - r2, c2), (r2, c2, rows - r2, cols - c2)]
                {
                    if nr > 0 && nc > 0 {
                        self.exact_tile(grid, w, (tr + r, tc + c, nr, nc), values, candidates);
                    }
                }
                return;
            }
            for i in (tr..tr + rows).flat_map(|r| (tc..tc + cols).map(move |c| r * w.cols + c)) {
                let (x, y) = grid.centre(w.cell(i));
                values[[i, 0]] = self.at([x, y]);
            }
            return;
        }
        for i in (tr..tr + rows).flat_map(|r| (tc..tc + cols).map(move |c| r * w.cols + c)) {
            let (x, y) = grid.centre(w.cell(i));
            let p = [x, y];
            let d2 = candidates
                .iter()
                .map(|c| match c {
                    Candidate::Segment(s) => s.distance_2(&p),
                    Candidate::Point(q) => q.distance_2(&p),
                })
                .fold(f64::INFINITY, f64::min);
            values[[i, 0]] = d2.sqrt();
        }
    }
}

/// A feature near a tile, for [`Distance::exact_tile`].
enum Candidate<'a> {
    Segment(&'a Line<[f64; 2]>),
    Point(&'a [f64; 2]),
}

/// Points where segments of two different features cross (collinear overlaps give
/// their end points).
pub(crate) fn intersections(segments: &[(Line<[f64; 2]>, usize)]) -> Vec<[f64; 2]> {
    use rstar::primitives::GeomWithData;
    use rstar::RTreeObject;
    let tree: RTree<GeomWithData<Line<[f64; 2]>, usize>> =
        RTree::bulk_load(segments.iter().enumerate().map(|(i, (l, _))| GeomWithData::new(*l, i)).collect());
    let mut out = Vec::new();
    for (i, (a, fa)) in segments.iter().enumerate() {
        for b in tree.locate_in_envelope_intersecting(&a.envelope()) {
            let (j, (bl, fb)) = (b.data, &segments[b.data]);
            if j <= i || fa == fb {
                continue;
            }
            let la = geo::Line::new(geo::coord! { x: a.from[0], y: a.from[1] }, geo::coord! { x: a.to[0], y: a.to[1] });
            let lb =
                geo::Line::new(geo::coord! { x: bl.from[0], y: bl.from[1] }, geo::coord! { x: bl.to[0], y: bl.to[1] });
            match geo::line_intersection::line_intersection(la, lb) {
                Some(geo::LineIntersection::SinglePoint { intersection: p, .. }) => out.push([p.x, p.y]),
                Some(geo::LineIntersection::Collinear { intersection: l }) => {
                    out.push([l.start.x, l.start.y]);
                    out.push([l.end.x, l.end.y]);
                }
                None => {}
            }
        }
    }
    out
}

/// The cells GDAL's rasterizer burns, kept per window of the grid as (row, column)
/// within the window, row-major.
#[derive(Debug)]
struct Burnt {
    /// The grid's window size (`block_size`).
    block: usize,
    /// Windows per row of windows.
    per_row: usize,
    /// Burnt cells of each window, in `grid.windows()` order.
    windows: Vec<Vec<(u32, u32)>>,
    /// Burnt cells in all.
    count: usize,
}

impl Burnt {
    /// The partial of the burn over `windows` (in parallel): the burnt cells of each
    /// window that has any, by window index.
    fn scan(burner: &Burner, grid: &Grid, windows: &[Window]) -> Result<KindScan> {
        let b = grid.block_size.max(1);
        let per_row = grid.cols.div_ceil(b);
        let burnt: Vec<(usize, Vec<(u32, u32)>)> = windows
            .par_iter()
            .map(|w| {
                crate::features::scan::count_window();
                let burnt = burner.burn(grid, w)?;
                let cells: Vec<(u32, u32)> = burnt
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_some())
                    .map(|(i, _)| ((i / w.cols) as u32, (i % w.cols) as u32))
                    .collect();
                Ok(((w.row / b) * per_row + w.col / b, cells))
            })
            .collect::<Result<_>>()?;
        Ok(KindScan::Burnt(burnt.into_iter().filter(|(_, c)| !c.is_empty()).collect()))
    }

    /// The burnt cells from the merged partial of every window.
    fn from_scan(grid: &Grid, cells: Vec<(usize, Vec<(u32, u32)>)>) -> Burnt {
        let block = grid.block_size.max(1);
        let per_row = grid.cols.div_ceil(block);
        let mut windows = vec![Vec::new(); per_row * grid.rows.div_ceil(block)];
        for (k, c) in cells {
            if let Some(w) = windows.get_mut(k) {
                *w = c;
            }
        }
        Burnt { block, per_row, count: windows.iter().map(Vec::len).sum(), windows }
    }

    /// Burnt cells (grid row, grid column) within `rows` x `cols` of the grid.
    fn cells_in(&self, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>, out: &mut Vec<(usize, usize)>) {
        let b = self.block;
        for wr in rows.start / b..rows.end.div_ceil(b) {
            for wc in cols.start / b..cols.end.div_ceil(b) {
                let Some(cells) = self.windows.get(wr * self.per_row + wc) else { continue };
                out.extend(
                    cells
                        .iter()
                        .map(|&(r, c)| (wr * b + r as usize, wc * b + c as usize))
                        .filter(|(r, c)| rows.contains(r) && cols.contains(c)),
                );
            }
        }
    }
}

/// Exact distances from the cells of `w` to the nearest burnt cell centre, by a Euclidean
/// distance transform over the window grown by a halo (clipped to the grid, beyond which
/// nothing is burnt). The first halo is half the window's size (at least 16 cells).
///
/// A cell's distance within the grown window is exact when it is no larger than the
/// distance from the cell to the nearest cell outside the grown window (beyond a side not
/// at the grid's edge): no burnt cell outside can be nearer. When a cell fails that check
/// the halo grows to the largest distance found (which holds every cell's nearest burnt
/// cell, so the second pass is exact) or doubles when a cell found none, until it covers
/// the grid.
///
/// The transform (Meijster et al. 2000, Felzenszwalb & Huttenlocher 2012): the vertical
/// distance to the nearest burnt cell of the same column, by one sweep down and one up
/// over the burnt cells (only the window's rows are stored), then per row the lower
/// envelope of parabolas.
fn window_edt(burnt: &Burnt, grid: &Grid, w: &Window) -> Vec<f64> {
    let (dx, dy) = (grid.cell_width(), grid.cell_height());
    let mut halo = (w.rows.max(w.cols) / 2).max(16);
    let mut cells = Vec::new();
    loop {
        let (r0, r1) = (w.row.saturating_sub(halo), (w.row + w.rows + halo).min(grid.rows));
        let (c0, c1) = (w.col.saturating_sub(halo), (w.col + w.cols + halo).min(grid.cols));
        let whole = r0 == 0 && c0 == 0 && r1 == grid.rows && c1 == grid.cols;
        cells.clear();
        burnt.cells_in(r0..r1, c0..c1, &mut cells);
        cells.sort_unstable();
        let values = edt_region(&cells, (r0, r1), (c0, c1), w, dx, dy);
        if whole {
            return values;
        }
        // Distance from each cell to the nearest cell outside the grown window.
        let inf = f64::INFINITY;
        let mut largest: f64 = 0.0;
        let mut exact = true;
        for (i, &d) in values.iter().enumerate() {
            let (r, c) = (w.row + i / w.cols, w.col + i % w.cols);
            let up = if r0 > 0 { (r + 1 - r0) as f64 * dy } else { inf };
            let down = if r1 < grid.rows { (r1 - r) as f64 * dy } else { inf };
            let left = if c0 > 0 { (c + 1 - c0) as f64 * dx } else { inf };
            let right = if c1 < grid.cols { (c1 - c) as f64 * dx } else { inf };
            if d > up.min(down).min(left).min(right) {
                exact = false;
            }
            largest = largest.max(d);
        }
        if exact {
            return values;
        }
        halo = if largest.is_finite() { ((largest / dx.min(dy)).ceil() as usize + 1).max(halo + 1) } else { 2 * halo };
    }
}

/// The distance transform of [`window_edt`] over rows `r0..r1`, columns `c0..c1` of the
/// grid holding the burnt `cells` (grid row, column; sorted), for the cells of `w`.
fn edt_region(
    cells: &[(usize, usize)],
    (r0, r1): (usize, usize),
    (c0, c1): (usize, usize),
    w: &Window,
    dx: f64,
    dy: f64,
) -> Vec<f64> {
    let cols = c1 - c0;
    // Vertical distance (in rows) to the nearest burnt cell at or below, then at or above.
    const NONE: i64 = i64::MAX / 4;
    let mut vertical = vec![NONE; w.rows * cols];
    let mut nearest = vec![NONE; cols];
    let mut k = cells.len();
    for r in (w.row..r1).rev() {
        while k > 0 && cells[k - 1].0 >= r {
            nearest[cells[k - 1].1 - c0] = cells[k - 1].0 as i64;
            k -= 1;
        }
        if r < w.row + w.rows {
            let out = &mut vertical[(r - w.row) * cols..(r - w.row + 1) * cols];
            for (o, &b) in out.iter_mut().zip(&nearest) {
                *o = b - r as i64;
            }
        }
    }
    nearest.fill(-NONE);
    let mut k = 0;
    let mut f = vec![0.0f64; cols];
    let mut scratch = Edt1d::new(cols);
    let mut values = Vec::with_capacity(w.len());
    for r in r0..w.row + w.rows {
        while k < cells.len() && cells[k].0 <= r {
            nearest[cells[k].1 - c0] = cells[k].0 as i64;
            k += 1;
        }
        if r < w.row {
            continue;
        }
        let down = &vertical[(r - w.row) * cols..(r - w.row + 1) * cols];
        for ((fc, &a), &b) in f.iter_mut().zip(&nearest).zip(down) {
            let v = (r as i64 - a).min(b);
            *fc = if v < NONE / 2 { (v as f64 * dy).powi(2) } else { f64::INFINITY };
        }
        let out = scratch.run(&f, dx, w.col - c0..w.col - c0 + w.cols);
        values.extend(out.iter().map(|d2| d2.sqrt()));
    }
    values
}

/// One-dimensional squared Euclidean distance transform (Felzenszwalb & Huttenlocher),
/// with its buffers kept from one line to the next.
struct Edt1d {
    v: Vec<usize>,
    z: Vec<f64>,
    out: Vec<f64>,
}

impl Edt1d {
    fn new(n: usize) -> Edt1d {
        Edt1d { v: vec![0; n], z: vec![0.0; n + 1], out: vec![0.0; n] }
    }

    /// Squared distances from the samples `q` in `range` of `f` (squared distances, `inf`
    /// where nothing; samples `step` apart) to the nearest parabola `f[p] + ((q - p) step)²`.
    fn run(&mut self, f: &[f64], step: f64, range: std::ops::Range<usize>) -> &[f64] {
        let n = f.len();
        if self.v.len() < n {
            *self = Edt1d::new(n);
        }
        let (v, z) = (&mut self.v, &mut self.z);
        let out = &mut self.out[..range.len()];
        let s2 = step * step;
        let mut k: isize = -1;
        for q in 0..n {
            if !f[q].is_finite() {
                continue;
            }
            loop {
                if k < 0 {
                    k = 0;
                    v[0] = q;
                    z[0] = f64::NEG_INFINITY;
                    z[1] = f64::INFINITY;
                    break;
                }
                let p = v[k as usize];
                let s =
                    ((f[q] + s2 * (q * q) as f64) - (f[p] + s2 * (p * p) as f64)) / (2.0 * s2 * (q as f64 - p as f64));
                if s <= z[k as usize] {
                    k -= 1;
                    continue;
                }
                k += 1;
                v[k as usize] = q;
                z[k as usize] = s;
                z[k as usize + 1] = f64::INFINITY;
                break;
            }
        }
        if k < 0 {
            out.fill(f64::INFINITY);
            return out;
        }
        let mut j = 0usize;
        for (q, o) in range.zip(out.iter_mut()) {
            while z[j + 1] < q as f64 {
                j += 1;
            }
            let p = v[j];
            let d = (q as f64 - p as f64) * step;
            *o = d * d + f[p];
        }
        out
    }
}

/// Splits a geometry into segments (lines, rings) and lone points.
pub(crate) fn collect(g: &geo::Geometry<f64>, segments: &mut Vec<Line<[f64; 2]>>, points: &mut Vec<[f64; 2]>) {
    use geo::Geometry as G;
    let mut line_string = |ls: &geo::LineString<f64>, segments: &mut Vec<Line<[f64; 2]>>| {
        if ls.0.len() == 1 {
            points.push([ls.0[0].x, ls.0[0].y]);
        }
        for l in ls.lines() {
            if l.start == l.end {
                continue;
            }
            segments.push(Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]));
        }
    };
    match g {
        G::Point(p) => points.push([p.x(), p.y()]),
        G::MultiPoint(mp) => points.extend(mp.iter().map(|p| [p.x(), p.y()])),
        G::Line(l) => segments.push(Line::new([l.start.x, l.start.y], [l.end.x, l.end.y])),
        G::LineString(ls) => line_string(ls, segments),
        G::MultiLineString(m) => m.iter().for_each(|ls| line_string(ls, segments)),
        G::Polygon(p) => {
            line_string(p.exterior(), segments);
            p.interiors().iter().for_each(|r| line_string(r, segments));
        }
        G::MultiPolygon(mp) => {
            for p in mp {
                line_string(p.exterior(), segments);
                p.interiors().iter().for_each(|r| line_string(r, segments));
            }
        }
        G::Rect(r) => line_string(r.to_polygon().exterior(), segments),
        G::Triangle(t) => line_string(t.to_polygon().exterior(), segments),
        G::GeometryCollection(gc) => {
            for g in gc {
                collect(g, segments, points);
            }
        }
    }
}

impl Evidence for Distance {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        if let Some(burnt) = &self.burnt {
            let values = window_edt(burnt, grid, w);
            let values = Array2::from_shape_vec((w.len(), 1), values).expect("one value per cell");
            return Ok(LayerBlock { values, valid: vec![true; w.len()] });
        }
        Ok(LayerBlock { values: self.exact_window(grid, w), valid: vec![true; w.len()] })
    }

    fn describe(&self) -> String {
        if let Some(burnt) = &self.burnt {
            return format!("distance to the {} burnt cells of {} (as gdal_proximity)", burnt.count, self.source);
        }
        format!("distance to {} ({} segments, {} points)", self.source, self.segments.size(), self.points.size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_distance_transform_equals_brute_force() {
        // Non-square cells; burnt cells dense (halo found at once) or few and far (the
        // halo grows, up to the whole grid); windows at the grid's edges and inside.
        let grid = Grid::unreferenced([1000.0, 30.0, 0.0, 9000.0, 0.0, -20.0], 300, 170, 32);
        let dense: Vec<(usize, usize)> = (0..40usize).map(|k| ((k * 37) % 170, (k * 53 + k * k) % 300)).collect();
        for cells in [dense, vec![(3, 5), (160, 290)], vec![(100, 150)]] {
            let (b, per_row) = (grid.block_size, grid.cols.div_ceil(grid.block_size));
            let mut windows = vec![Vec::new(); per_row * grid.rows.div_ceil(b)];
            let mut sorted = cells.clone();
            sorted.sort_unstable();
            for &(r, c) in &sorted {
                windows[(r / b) * per_row + c / b].push(((r % b) as u32, (c % b) as u32));
            }
            let burnt = Burnt { block: b, per_row, windows, count: sorted.len() };
            let centres: Vec<(f64, f64)> =
                cells.iter().map(|&(row, col)| grid.centre(crate::grid::Cell { row, col })).collect();
            for w in grid.windows() {
                let values = window_edt(&burnt, &grid, &w);
                assert_eq!(values.len(), w.len());
                for (i, v) in values.iter().enumerate() {
                    let (x, y) = grid.centre(w.cell(i));
                    let want = centres.iter().map(|c| (c.0 - x).hypot(c.1 - y)).fold(f64::INFINITY, f64::min);
                    assert!((v - want).abs() < 1e-9 * (1.0 + want), "{w:?} cell {i}: {v} vs {want}");
                }
            }
        }
    }

    #[test]
    fn exact_tiles_equal_a_brute_force_over_every_feature() {
        // Windows larger than a tile, 600 segments clustered in one corner (far tiles reach
        // far; tiles near them have too many candidates and are split, down to the search
        // per cell) and a lone point; non-square cells.
        let grid = Grid::unreferenced([0.0, 30.0, 0.0, 6000.0, 0.0, -20.0], 150, 110, 70);
        let mut segs = Vec::new();
        let mut pts = Vec::new();
        for k in 0..600 {
            let (x, y) = (100.0 + (k * 37 % 400) as f64, 5000.0 + (k * 53 % 300) as f64);
            let line: geo::Geometry<f64> =
                geo::LineString::from(vec![(x, y), (x + 45.0, y - 80.0 + (k % 25) as f64)]).into();
            collect(&line, &mut segs, &mut pts);
        }
        pts.push([4000.0, 900.0]);
        let d = Distance {
            name: "d".into(),
            source: "test".into(),
            segments: RTree::bulk_load(segs.clone()),
            points: RTree::bulk_load(pts.clone()),
            burnt: None,
        };
        for w in grid.windows() {
            let values = d.exact_window(&grid, &w);
            for i in 0..w.len() {
                let (x, y) = grid.centre(w.cell(i));
                let p = [x, y];
                let want = segs
                    .iter()
                    .map(|s| s.distance_2(&p))
                    .chain(pts.iter().map(|q| q.distance_2(&p)))
                    .fold(f64::INFINITY, f64::min)
                    .sqrt();
                assert_eq!(values[[i, 0]], want, "{w:?} cell {i}");
            }
        }
    }

    #[test]
    fn distance_is_to_the_geometry_not_its_vertices() {
        let mut segs = Vec::new();
        let mut pts = Vec::new();
        let line: geo::Geometry<f64> = geo::LineString::from(vec![(0.0, 0.0), (100.0, 0.0)]).into();
        collect(&line, &mut segs, &mut pts);
        collect(&geo::Point::new(500.0, 500.0).into(), &mut segs, &mut pts);
        let d = Distance {
            name: "d".into(),
            source: "test".into(),
            segments: RTree::bulk_load(segs),
            points: RTree::bulk_load(pts),
            burnt: None,
        };
        assert_eq!(d.at([50.0, 30.0]), 30.0);
        assert_eq!(d.at([130.0, 40.0]), 50.0);
        assert_eq!(d.at([500.0, 503.0]), 3.0);
    }
}
