//! `kind = "distance"`: distance in CRS units (metres for a projected grid) from each
//! cell centre to the nearest feature of a vector layer: points, lines, or polygon
//! boundaries. Exact Euclidean distance to the geometry (not to rasterized cells),
//! from an R-tree of segments, so any window is computed on its own.

use ndarray::Array2;
use rstar::primitives::Line;
use rstar::{PointDistance, RTree};

use crate::config::{EvidenceInput, EvidenceSettings};
use crate::error::{Error, Result};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};

/// Distance to the features of one layer.
#[derive(Debug)]
pub struct Distance {
    name: String,
    source: String,
    segments: RTree<Line<[f64; 2]>>,
    points: RTree<[f64; 2]>,
}

impl Distance {
    /// Reads the layer (reprojected to the grid) and indexes its segments and points.
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Distance> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `distance` layer needs a vector file"));
        };
        let features = layer.read(grid, None)?;
        let mut segments = Vec::new();
        let mut points = Vec::new();
        for f in &features {
            collect(&f.geometry, &mut segments, &mut points);
        }
        if segments.is_empty() && points.is_empty() {
            return Err(Error::Layer {
                path: layer.path.clone(),
                layer: layer.layer.clone(),
                message: format!("evidence `{}`: no feature to measure distance to", settings.name),
            });
        }
        Ok(Distance {
            name: settings.name.clone(),
            source: format!("{} layer {}", layer.path.display(), layer.layer),
            segments: RTree::bulk_load(segments),
            points: RTree::bulk_load(points),
        })
    }

    /// Distance from map point `p` to the nearest feature.
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

/// Splits a geometry into segments (lines, rings) and lone points.
fn collect(g: &geo::Geometry<f64>, segments: &mut Vec<Line<[f64; 2]>>, points: &mut Vec<[f64; 2]>) {
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

    fn columns(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let values: Vec<f64> = (0..w.len())
            .map(|i| {
                let (x, y) = grid.centre(w.cell(i));
                self.at([x, y])
            })
            .collect();
        let values = Array2::from_shape_vec((w.len(), 1), values).expect("one value per cell");
        Ok(LayerBlock { values, valid: vec![true; w.len()] })
    }

    fn describe(&self) -> String {
        format!(
            "distance to {} ({} segments, {} points)",
            self.source,
            self.segments.size(),
            self.points.size()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        assert_eq!(d.at([50.0, 30.0]), 30.0);
        assert_eq!(d.at([130.0, 40.0]), 50.0);
        assert_eq!(d.at([500.0, 503.0]), 3.0);
    }
}
