//! `kind = "terrain"`: a derivative of a digital elevation model on the grid, from the
//! 3 x 3 neighbourhood of each cell (the window is read with a one-cell halo).
//!
//! With the neighbourhood
//! ```text
//! a b c
//! d e f
//! g h i
//! ```
//! and cell width `dx`, height `dy` (CRS units), elevations multiplied by `z_factor`:
//! - `slope`: Horn (1981), as `gdaldem slope`: `gx = ((c+2f+i) - (a+2d+g)) / 8dx`,
//!   `gy = ((a+2b+c) - (g+2h+i)) / 8dy`, slope = `atan(sqrt(gx² + gy²))` in degrees.
//! - `aspect`: the azimuth of the downslope direction (clockwise from grid north, as
//!   `gdaldem aspect`), as two columns `NAME_sin` and `NAME_cos` so that 359° and 1° are
//!   neighbours for a model. A flat cell has no direction: both columns are 0 (valid).
//! - `curvature`: Zevenbergen & Thorne (1987) as ArcGIS's Curvature tool,
//!   `-200 (D + E)` with `D = ((d+f)/2 - e) / dx²`, `E = ((b+h)/2 - e) / dy²`
//!   (positive on convex-up surfaces, units 1/100 per z unit).
//! - `tri`: Terrain Ruggedness Index of Riley et al. (1999), as `gdaldem TRI` (GDAL 3.3+
//!   default): `sqrt(sum of (z_k - e)²)` over the 8 neighbours.
//! - `roughness`: largest minus smallest of the 9 cells, as `gdaldem roughness`.
//!
//! Edge rule, as `gdaldem` without `-compute_edges`: a cell whose 3 x 3 neighbourhood has
//! a cell without data, or reaches beyond the grid, has no data.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::neighbourhood::Halo;
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::raster::GridBand;

/// The terrain derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivative {
    /// Slope in degrees (Horn).
    Slope,
    /// Downslope azimuth as sine and cosine columns.
    Aspect,
    /// Zevenbergen & Thorne curvature (ArcGIS convention).
    Curvature,
    /// Terrain Ruggedness Index (Riley).
    Tri,
    /// Largest minus smallest elevation of the 3 x 3 neighbourhood.
    Roughness,
}

impl Derivative {
    fn as_str(self) -> &'static str {
        match self {
            Derivative::Slope => "slope",
            Derivative::Aspect => "aspect",
            Derivative::Curvature => "curvature",
            Derivative::Tri => "tri",
            Derivative::Roughness => "roughness",
        }
    }
}

/// The validated keys of a `terrain` layer.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The derivative.
    pub derivative: Derivative,
    /// Multiplier from elevation units to horizontal CRS units.
    pub z_factor: f64,
}

/// The keys of a `terrain` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// The derivative (`slope`, `aspect`, `curvature`, `tri`, `roughness`).
    pub derivative: Option<Derivative>,
    /// Elevation units per horizontal CRS unit multiplier. Default 1.
    #[serde(default = "one")]
    pub z_factor: f64,
}

fn one() -> f64 {
    1.0
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Raster;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        let Some(derivative) = self.derivative else {
            return Err(Error::key(
                cx.key("derivative"),
                "`terrain` needs one of `slope`, `aspect`, `curvature`, `tri`, `roughness`",
            ));
        };
        let z_factor = self.z_factor;
        if !(z_factor.is_finite() && z_factor > 0.0) {
            return Err(Error::key(cx.key("z_factor"), format!("{z_factor} must be a number > 0")));
        }
        Ok(Params { derivative, z_factor })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(Terrain::prepare(p, settings, grid)?)))
    }
}

/// A terrain derivative of a DEM band.
#[derive(Debug)]
pub struct Terrain {
    name: String,
    band: GridBand,
    params: Params,
}

impl Terrain {
    /// Puts the DEM on the grid (warping when needed).
    pub fn prepare(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Result<Terrain> {
        let EvidenceInput::Raster(band) = &settings.input else {
            return Err(Error::key(&settings.name, "a `terrain` layer needs a raster DEM"));
        };
        let params = *params;
        Ok(Terrain {
            name: settings.name.clone(),
            band: GridBand::new(band, grid, settings.resampling, false)?,
            params,
        })
    }
}

/// The derivative's value(s) from a 3 x 3 neighbourhood `z` (row-major, `z[4]` the centre)
/// on cells `dx` by `dy` (positive). Writes one value, or two for aspect.
pub fn derivative(d: Derivative, z: &[f64; 9], dx: f64, dy: f64, out: &mut [f64]) {
    let [a, b, c, dd, e, f, g, h, i] = *z;
    match d {
        Derivative::Slope | Derivative::Aspect => {
            let gx = ((c + 2.0 * f + i) - (a + 2.0 * dd + g)) / (8.0 * dx);
            let gy = ((a + 2.0 * b + c) - (g + 2.0 * h + i)) / (8.0 * dy);
            let norm = gx.hypot(gy);
            if d == Derivative::Slope {
                out[0] = norm.atan().to_degrees();
            } else if norm == 0.0 {
                out[0] = 0.0;
                out[1] = 0.0;
            } else {
                // Downslope direction (-gx, -gy): east component is the sine of the azimuth.
                out[0] = -gx / norm;
                out[1] = -gy / norm;
            }
        }
        Derivative::Curvature => {
            let dd2 = ((dd + f) / 2.0 - e) / (dx * dx);
            let ee2 = ((b + h) / 2.0 - e) / (dy * dy);
            out[0] = -200.0 * (dd2 + ee2);
        }
        Derivative::Tri => {
            out[0] = z.iter().map(|&v| (v - e) * (v - e)).sum::<f64>().sqrt();
        }
        Derivative::Roughness => {
            let (lo, hi) = z.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            out[0] = hi - lo;
        }
    }
}

impl Evidence for Terrain {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        match self.params.derivative {
            Derivative::Aspect => vec![format!("{}_sin", self.name), format!("{}_cos", self.name)],
            _ => vec![self.name.clone()],
        }
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let halo = Halo::read(&self.band, grid, w, 1)?;
        let ncol = self.columns().len();
        let mut values = Array2::<f64>::zeros((w.len(), ncol));
        let mut valid = vec![false; w.len()];
        let (dx, dy) = (grid.cell_width(), grid.cell_height());
        let mut z = [0.0; 9];
        let mut out = [0.0; 2];
        'cells: for (i, ok) in valid.iter_mut().enumerate() {
            let cell = w.cell(i);
            for (k, zk) in z.iter_mut().enumerate() {
                let r = cell.row as isize + (k / 3) as isize - 1;
                let c = cell.col as isize + (k % 3) as isize - 1;
                match halo.get(r, c) {
                    Some(v) => *zk = v * self.params.z_factor,
                    None => continue 'cells,
                }
            }
            derivative(self.params.derivative, &z, dx, dy, &mut out);
            for (j, v) in out.iter().take(ncol).enumerate() {
                values[[i, j]] = *v;
            }
            *ok = true;
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        format!(
            "terrain {} of {} (z_factor {})",
            self.params.derivative.as_str(),
            self.band.source.display(),
            self.params.z_factor
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A neighbourhood sampled from `f(x, y)` on cells `dx` by `dy`, y pointing north.
    fn sample(f: impl Fn(f64, f64) -> f64, dx: f64, dy: f64) -> [f64; 9] {
        let mut z = [0.0; 9];
        for (k, v) in z.iter_mut().enumerate() {
            let (r, c) = ((k / 3) as f64 - 1.0, (k % 3) as f64 - 1.0);
            *v = f(c * dx, -r * dy);
        }
        z
    }

    #[test]
    fn a_plane_has_its_slope_and_downslope_azimuth() {
        // z = 0.5 x: rising to the east at 0.5, so slope atan(0.5) and downslope due west.
        let z = sample(|x, _| 0.5 * x, 30.0, 20.0);
        let mut out = [0.0; 2];
        derivative(Derivative::Slope, &z, 30.0, 20.0, &mut out);
        assert!((out[0] - 0.5f64.atan().to_degrees()).abs() < 1e-12);
        derivative(Derivative::Aspect, &z, 30.0, 20.0, &mut out);
        assert!((out[0] + 1.0).abs() < 1e-12 && out[1].abs() < 1e-12, "west: sin -1, cos 0: {out:?}");
        // Rising to the north: downslope is south (azimuth 180°).
        let z = sample(|_, y| 2.0 * y, 30.0, 20.0);
        derivative(Derivative::Aspect, &z, 30.0, 20.0, &mut out);
        assert!(out[0].abs() < 1e-12 && (out[1] + 1.0).abs() < 1e-12, "{out:?}");
        let flat = [7.0; 9];
        derivative(Derivative::Aspect, &flat, 30.0, 20.0, &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn curvature_of_a_paraboloid_is_exact() {
        // z = p x² + q y²: D = p, E = q exactly, so curvature = -200 (p + q).
        let (p, q) = (0.003, -0.001);
        let z = sample(|x, y| p * x * x + q * y * y, 25.0, 40.0);
        let mut out = [0.0; 2];
        derivative(Derivative::Curvature, &z, 25.0, 40.0, &mut out);
        assert!((out[0] - -200.0 * (p + q)).abs() < 1e-12, "{}", out[0]);
    }

    #[test]
    fn tri_and_roughness_by_hand() {
        let z = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0];
        let mut out = [0.0; 2];
        derivative(Derivative::Tri, &z, 1.0, 1.0, &mut out);
        let want: f64 = [16.0, 9.0, 4.0, 1.0, 0.0, 1.0, 4.0, 9.0, 25.0].iter().sum::<f64>().sqrt();
        assert!((out[0] - want).abs() < 1e-12);
        derivative(Derivative::Roughness, &z, 1.0, 1.0, &mut out);
        assert_eq!(out[0], 9.0);
    }
}
