//! `kind = "focal"`: a statistic of a raster band over a moving window around each cell
//! (mean, standard deviation, minimum, maximum, range), the window a square or a circle of
//! a radius in CRS units (`radius`) or in cells (`radius_cells`). The band is read with a
//! halo of the radius, so each window of the grid is computed on its own.
//!
//! - The window holds the cells whose centre lies within the radius of the cell's centre
//!   (`circle`, distances in CRS units, so non-square cells are handled), or within the
//!   radius along each axis (`square`).
//! - Cells without data are ignored. Cells beyond the grid's edge count as cells without
//!   data. The cell has a value when at least `min_valid` (a fraction, default 0.5) of
//!   the window's cells have data, else it has no data; the centre cell itself need not.
//! - `std` is the population standard deviation (divisor n).

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::neighbourhood::Halo;
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::raster::GridBand;

/// Statistics over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Mean of the cells with data.
    Mean,
    /// Population standard deviation.
    Std,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Largest minus smallest.
    Range,
}

/// Shapes of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Cells whose centre is within the radius.
    #[default]
    Circle,
    /// Cells within the radius along each axis.
    Square,
}

/// Largest radius, in cells, a focal window may have (a larger one reads a halo bigger
/// than the windows themselves many times over: aggregate the raster first).
pub const MAX_RADIUS_CELLS: usize = 512;

/// The validated keys of a `focal` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// The statistic.
    pub statistic: Statistic,
    /// The window's shape.
    pub shape: Shape,
    /// Radius in CRS units, or `None` when given in cells.
    pub radius: Option<f64>,
    /// Radius in cells, or `None` when given in CRS units.
    pub radius_cells: Option<f64>,
    /// Fraction of the window's cells that must have data.
    pub min_valid: f64,
}

/// The keys of a `focal` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// The statistic (`mean`, `std`, `min`, `max`, `range`).
    pub statistic: Option<Statistic>,
    /// Window radius in CRS units (or give `radius_cells`).
    pub radius: Option<f64>,
    /// Window radius in cells (or give `radius`).
    pub radius_cells: Option<f64>,
    /// `circle` or `square`. Default `circle`.
    #[serde(default)]
    pub shape: Shape,
    /// Smallest fraction of the window's cells that must have data. Default 0.5.
    #[serde(default = "half")]
    pub min_valid: f64,
}

fn half() -> f64 {
    0.5
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Raster;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        let Some(statistic) = self.statistic else {
            return Err(Error::key(cx.key("statistic"), "`focal` needs one of `mean`, `std`, `min`, `max`, `range`"));
        };
        match (self.radius, self.radius_cells) {
            (Some(_), Some(_)) => {
                return Err(Error::key(cx.key("radius"), "give `radius` (CRS units) or `radius_cells`, not both"))
            }
            (None, None) => return Err(Error::key(cx.key("radius"), "`focal` needs `radius` or `radius_cells`")),
            (Some(r), None) | (None, Some(r)) if !(r.is_finite() && r > 0.0) => {
                return Err(Error::key(cx.key("radius"), format!("{r} must be a number > 0")))
            }
            _ => {}
        }
        let min_valid = self.min_valid;
        if !(min_valid > 0.0 && min_valid <= 1.0) {
            return Err(Error::key(cx.key("min_valid"), format!("{min_valid} is outside (0, 1]")));
        }
        Ok(Params { statistic, shape: self.shape, radius: self.radius, radius_cells: self.radius_cells, min_valid })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(Focal::prepare(p, settings, grid)?)))
    }
}

impl Params {
    /// The window as `(row, col)` offsets from the centre cell on `grid`.
    pub fn offsets(&self, name: &str, grid: &Grid) -> Result<Vec<(isize, isize)>> {
        let (dx, dy) = (grid.cell_width(), grid.cell_height());
        // Reach along each axis, in cells, and the test in "cell units" or CRS units.
        let (rx, ry) = match (self.radius, self.radius_cells) {
            (Some(r), _) => (r / dx, r / dy),
            (_, Some(r)) => (r, r),
            _ => unreachable!("validated: one radius is set"),
        };
        let (nx, ny) = (rx.floor() as isize, ry.floor() as isize);
        if nx < 1 || ny < 1 {
            return Err(Error::key(
                format!("{name}.radius"),
                format!("the window ({rx:.3} x {ry:.3} cells) holds no cell but the centre: give at least one cell"),
            ));
        }
        if nx.max(ny) as usize > MAX_RADIUS_CELLS {
            return Err(Error::key(
                format!("{name}.radius"),
                format!("reaches {} cells, more than {MAX_RADIUS_CELLS}: aggregate the raster first", nx.max(ny)),
            ));
        }
        let mut out = Vec::new();
        for r in -ny..=ny {
            for c in -nx..=nx {
                let inside = match self.shape {
                    Shape::Square => true,
                    Shape::Circle => {
                        let (fx, fy) = (c as f64 / rx, r as f64 / ry);
                        fx * fx + fy * fy <= 1.0 + 1e-12
                    }
                };
                if inside {
                    out.push((r, c));
                }
            }
        }
        Ok(out)
    }
}

/// A focal statistic of a band.
#[derive(Debug)]
pub struct Focal {
    name: String,
    band: GridBand,
    params: Params,
    offsets: Vec<(isize, isize)>,
    reach: usize,
}

impl Focal {
    /// Puts the band on the grid and builds the window.
    pub fn prepare(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Result<Focal> {
        let EvidenceInput::Raster(band) = &settings.input else {
            return Err(Error::key(&settings.name, "a `focal` layer needs a raster file"));
        };
        let params = params.clone();
        let offsets = params.offsets(&settings.name, grid)?;
        let reach = offsets.iter().map(|&(r, c)| r.unsigned_abs().max(c.unsigned_abs())).max().unwrap_or(0);
        Ok(Focal {
            name: settings.name.clone(),
            band: GridBand::new(band, grid, settings.resampling, false)?,
            params,
            offsets,
            reach,
        })
    }
}

/// The statistic of `values` (all with data); `None` when empty.
pub fn statistic(s: Statistic, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    Some(match s {
        Statistic::Mean => values.iter().sum::<f64>() / n,
        Statistic::Std => {
            let mean = values.iter().sum::<f64>() / n;
            (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
        }
        Statistic::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Statistic::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Statistic::Range => {
            let (lo, hi) =
                values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            hi - lo
        }
    })
}

impl Evidence for Focal {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let halo = Halo::read(&self.band, grid, w, self.reach)?;
        let need = (self.params.min_valid * self.offsets.len() as f64).ceil() as usize;
        let mut values = Array2::<f64>::zeros((w.len(), 1));
        let mut valid = vec![false; w.len()];
        let mut buf = Vec::with_capacity(self.offsets.len());
        for (i, ok) in valid.iter_mut().enumerate() {
            let cell = w.cell(i);
            buf.clear();
            buf.extend(
                self.offsets.iter().filter_map(|&(r, c)| halo.get(cell.row as isize + r, cell.col as isize + c)),
            );
            if buf.len() >= need.max(1) {
                if let Some(v) = statistic(self.params.statistic, &buf) {
                    values[[i, 0]] = v;
                    *ok = true;
                }
            }
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        format!(
            "focal {:?} of {} over a {:?} of {} cells (min_valid {})",
            self.params.statistic,
            self.band.source.display(),
            self.params.shape,
            self.offsets.len(),
            self.params.min_valid
        )
    }
}
