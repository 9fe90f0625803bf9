//! `kind = "point_density"`: kernel density of the points of a vector layer (occurrences,
//! alteration observations, dyke intersections...) at each cell centre, per square
//! kilometre on a grid in metres (per 10⁶ square CRS units).
//!
//! With `d` the distance from the cell centre to a point and `r` the `radius`:
//! - `quartic` (default; Silverman 1986, eq. 4.5, the kernel of ArcGIS's Kernel Density
//!   and QGIS's Heatmap): `K(d) = 3 / (π r²) · (1 − d²/r²)²` for `d < r`, else 0;
//! - `uniform`: `K(d) = 1 / (π r²)` for `d ≤ r` (points per area of the circle).
//!
//! The density is `10⁶ · Σ wᵢ K(dᵢ)`, with `wᵢ` the numeric `attribute` of the point when
//! one is named (a population field), else 1. Each kernel integrates to 1, so the density
//! integrates to the number (or total weight) of points. Exact, from an R-tree of points.

use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::vector::Attr;

/// Kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// Quartic (biweight).
    #[default]
    Quartic,
    /// Uniform over the disc.
    Uniform,
}

impl Kernel {
    /// The kernel's value at squared distance `d2` for radius `r` (integrates to 1).
    pub fn value(self, d2: f64, r: f64) -> f64 {
        let r2 = r * r;
        match self {
            Kernel::Quartic if d2 < r2 => {
                let u = 1.0 - d2 / r2;
                3.0 / (std::f64::consts::PI * r2) * u * u
            }
            Kernel::Uniform if d2 <= r2 => 1.0 / (std::f64::consts::PI * r2),
            _ => 0.0,
        }
    }
}

/// The validated keys of a `point_density` layer.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Kernel radius, CRS units.
    pub radius: f64,
    /// The kernel.
    pub kernel: Kernel,
}

/// The keys of a `point_density` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Kernel radius, CRS units.
    pub radius: Option<f64>,
    /// `quartic` or `uniform`. Default `quartic`.
    #[serde(default)]
    pub kernel: Kernel,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Vector;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        let Some(radius) = self.radius else {
            return Err(Error::key(cx.key("radius"), "`point_density` needs the kernel radius (CRS units)"));
        };
        if !(radius.is_finite() && radius > 0.0) {
            return Err(Error::key(cx.key("radius"), format!("{radius} must be a distance > 0")));
        }
        if let Some(attr) = &cx.table.vector.attribute {
            cx.check_field(attr)?;
        }
        Ok(Params { radius, kernel: self.kernel })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(PointDensity::prepare(p, settings, grid)?)))
    }
}

/// Kernel density of one point layer.
#[derive(Debug)]
pub struct PointDensity {
    name: String,
    source: String,
    params: Params,
    points: RTree<GeomWithData<[f64; 2], f64>>,
}

impl PointDensity {
    /// Reads the points (reprojected to the grid) with their weights and indexes them.
    pub fn prepare(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Result<PointDensity> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `point_density` layer needs a vector file"));
        };
        let params = *params;
        let err = |message: String| Error::Layer {
            path: layer.path.clone(),
            layer: layer.layer.clone(),
            message: format!("evidence `{}`: {message}", settings.name),
        };
        let mut points = Vec::new();
        for (k, f) in layer.read(grid, settings.attribute.as_deref())?.into_iter().enumerate() {
            let w = match (&settings.attribute, &f.value) {
                (None, _) => 1.0,
                (Some(_), Attr::Int(v)) => *v as f64,
                (Some(_), Attr::Real(v)) if v.is_finite() => *v,
                (Some(a), v) => return Err(err(format!("feature {k} has `{a}` = `{v}`, not a number"))),
            };
            match f.geometry {
                geo::Geometry::Point(p) => points.push(GeomWithData::new([p.x(), p.y()], w)),
                geo::Geometry::MultiPoint(mp) => points.extend(mp.iter().map(|p| GeomWithData::new([p.x(), p.y()], w))),
                _ => return Err(err(format!("feature {k} is not a point"))),
            }
        }
        if points.is_empty() {
            return Err(err("has no point".into()));
        }
        Ok(PointDensity {
            name: settings.name.clone(),
            source: format!("{} layer {}", layer.path.display(), layer.layer),
            params,
            points: RTree::bulk_load(points),
        })
    }

    /// Density at map point `p`.
    pub fn at(&self, p: [f64; 2]) -> f64 {
        let r = self.params.radius;
        let sum: f64 = self
            .points
            .locate_within_distance(p, r * r)
            .map(|q| {
                let (dx, dy) = (q.geom()[0] - p[0], q.geom()[1] - p[1]);
                q.data * self.params.kernel.value(dx * dx + dy * dy, r)
            })
            .sum();
        1.0e6 * sum
    }
}

impl Evidence for PointDensity {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        Ok(LayerBlock::from_centres(grid, w, |p| self.at(p)))
    }

    fn describe(&self) -> String {
        format!(
            "{:?} kernel density of {} points of {} (radius {})",
            self.params.kernel,
            self.points.size(),
            self.source,
            self.params.radius
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_integrate_to_one() {
        // Midpoint rule over a fine grid of the disc.
        let r = 3.0;
        let h = 0.01;
        for k in [Kernel::Quartic, Kernel::Uniform] {
            let mut sum = 0.0;
            let n = (2.0 * r / h) as i64;
            for i in 0..n {
                for j in 0..n {
                    let (x, y) = (-r + (i as f64 + 0.5) * h, -r + (j as f64 + 0.5) * h);
                    sum += k.value(x * x + y * y, r) * h * h;
                }
            }
            assert!((sum - 1.0).abs() < 1e-3, "{k:?}: {sum}");
        }
        assert_eq!(Kernel::Quartic.value(0.0, 1.0), 3.0 / std::f64::consts::PI);
    }
}
