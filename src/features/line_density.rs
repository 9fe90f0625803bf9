//! `kind = "line_density"`: length of the lines of a vector layer (faults, dykes,
//! lineaments; polygon boundaries count as lines) inside the circle of `radius` around
//! each cell centre, divided by the circle's area, times 1000: kilometres of line per
//! square kilometre on a grid in metres. Each segment is clipped to the circle exactly
//! (no rasterization), from an R-tree of segments, so any window is computed on its own.
//! `strike` / `strike_tolerance` keep only segments of one strike, as for `distance`.

use rstar::primitives::Line;
use rstar::{RTree, AABB};

use crate::error::{Error, Result};
use crate::features::distance::{collect, Strike};
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};

/// The validated keys of a `line_density` layer.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Radius of the circle, CRS units.
    pub radius: f64,
    /// Strike filter.
    pub strike: Option<Strike>,
}

/// The keys of a `line_density` table.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Radius of the circle, CRS units.
    pub radius: Option<f64>,
    /// Keep only line segments of this strike (degrees from north).
    pub strike: Option<f64>,
    /// Largest difference from `strike` kept, degrees. Default 22.5.
    pub strike_tolerance: Option<f64>,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Vector;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        let Some(radius) = self.radius else {
            return Err(Error::key(cx.key("radius"), "`line_density` needs the radius of its circle (CRS units)"));
        };
        if !(radius.is_finite() && radius > 0.0) {
            return Err(Error::key(cx.key("radius"), format!("{radius} must be a distance > 0")));
        }
        Ok(Params { radius, strike: Strike::from_keys(cx, self.strike, self.strike_tolerance)? })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(LineDensity::prepare(p, settings, grid)?)))
    }
}

/// Length of `l` inside the circle of radius `r` around `c`.
pub fn clipped_length(l: &Line<[f64; 2]>, c: [f64; 2], r: f64) -> f64 {
    let d = [l.to[0] - l.from[0], l.to[1] - l.from[1]];
    let f = [l.from[0] - c[0], l.from[1] - c[1]];
    let a = d[0] * d[0] + d[1] * d[1];
    if a == 0.0 {
        return 0.0;
    }
    let b = d[0] * f[0] + d[1] * f[1];
    let cc = f[0] * f[0] + f[1] * f[1] - r * r;
    let disc = b * b - a * cc;
    if disc <= 0.0 {
        return 0.0;
    }
    let root = disc.sqrt();
    let t0 = ((-b - root) / a).max(0.0);
    let t1 = ((-b + root) / a).min(1.0);
    (t1 - t0).max(0.0) * a.sqrt()
}

/// Line density of one layer.
#[derive(Debug)]
pub struct LineDensity {
    name: String,
    source: String,
    params: Params,
    segments: RTree<Line<[f64; 2]>>,
}

impl LineDensity {
    /// Reads the layer (reprojected to the grid) and indexes its segments.
    pub fn prepare(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Result<LineDensity> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `line_density` layer needs a vector file"));
        };
        let params = *params;
        let mut segments = Vec::new();
        let mut points = Vec::new();
        for f in layer.read(grid, None)? {
            collect(&f.geometry, &mut segments, &mut points);
        }
        segments.retain(|s| params.strike.is_none_or(|st| st.keeps(s)));
        if segments.is_empty() {
            return Err(Error::Layer {
                path: layer.path.clone(),
                layer: layer.layer.clone(),
                message: format!("evidence `{}`: no line segment to measure", settings.name),
            });
        }
        Ok(LineDensity {
            name: settings.name.clone(),
            source: format!("{} layer {}", layer.path.display(), layer.layer),
            params,
            segments: RTree::bulk_load(segments),
        })
    }

    /// Line density around map point `p`.
    pub fn at(&self, p: [f64; 2]) -> f64 {
        let r = self.params.radius;
        let env = AABB::from_corners([p[0] - r, p[1] - r], [p[0] + r, p[1] + r]);
        let length: f64 = self.segments.locate_in_envelope_intersecting(&env).map(|l| clipped_length(l, p, r)).sum();
        1000.0 * length / (std::f64::consts::PI * r * r)
    }
}

impl Evidence for LineDensity {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        Ok(LayerBlock::from_centres(grid, w, |p| self.at(p)))
    }

    fn describe(&self) -> String {
        format!(
            "line density of {} within {} ({} segments{})",
            self.source,
            self.params.radius,
            self.segments.size(),
            self.params.strike.map_or(String::new(), |s| format!(", strike {}±{}", s.strike, s.tolerance))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_length_by_hand() {
        let l = Line::new([-100.0, 3.0], [100.0, 3.0]);
        // Chord at distance 3 of a circle of radius 5: 2 * 4.
        assert!((clipped_length(&l, [0.0, 0.0], 5.0) - 8.0).abs() < 1e-12);
        // Segment ending inside the circle: from x = -4 to x = 0.
        let half = Line::new([-100.0, 3.0], [0.0, 3.0]);
        assert!((clipped_length(&half, [0.0, 0.0], 5.0) - 4.0).abs() < 1e-12);
        // Wholly inside, and wholly outside.
        assert!((clipped_length(&Line::new([1.0, 1.0], [2.0, 2.0]), [0.0, 0.0], 5.0) - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(clipped_length(&Line::new([10.0, 10.0], [20.0, 10.0]), [0.0, 0.0], 5.0), 0.0);
    }
}
