//! `kind = "contacts"`: distance (exact, CRS units) from each cell centre to the nearest
//! lithological contact: a boundary between two polygons whose `attribute` differs.
//!
//! Boundaries between polygons of the same unit, and boundaries with no polygon on the
//! other side (the edge of the map, or of unmapped ground), are not contacts. `between =
//! [["Granite", "*"], ...]` keeps only contacts between those pairs of units (in either
//! order; `"*"` is any unit).
//!
//! How boundaries are matched: every ring segment of every polygon is split at every
//! vertex of any polygon lying on it (so a T-junction on a neighbour's edge splits the
//! edge there), the pieces are keyed by their end points rounded to 1e-6 CRS units, and
//! a piece is a contact when the polygons holding it have different units. This needs a
//! topologically clean map (shared boundaries trace the same line, as from
//! `gdal_polygonize.py` or a GIS topology); a boundary digitised twice with different
//! vertices is not matched. The result equals dissolving the units and intersecting
//! their boundaries (tested against `ogr2ogr -dialect sqlite`).

use std::collections::HashMap;

use rstar::primitives::Line;
use rstar::RTree;

use crate::error::{Error, Result};
use crate::features::distance::{collect, Distance};
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::vector::Attr;

/// Distance to the contacts of a polygon layer.
#[derive(Debug)]
pub struct Contacts {
    distance: Distance,
    pieces: usize,
    source: String,
}

/// A point rounded to 1e-6 CRS units, for matching.
type Key = (i64, i64);

fn key(p: [f64; 2]) -> Key {
    ((p[0] * 1e6).round() as i64, (p[1] * 1e6).round() as i64)
}

/// Whether the pair of units `(a, b)` is kept by `between` (any pair when `None`).
fn kept(between: Option<&[[String; 2]]>, a: &str, b: &str) -> bool {
    let m = |p: &str, u: &str| p == "*" || p == u;
    between.is_none_or(|pairs| pairs.iter().any(|[p, q]| (m(p, a) && m(q, b)) || (m(p, b) && m(q, a))))
}

/// The contact pieces of polygons `(geometry, unit)`: see the module documentation.
pub fn contact_segments(
    polygons: &[(geo::Geometry<f64>, String)],
    between: Option<&[[String; 2]]>,
) -> Vec<Line<[f64; 2]>> {
    // Segments per polygon, and every vertex.
    let mut segs: Vec<(Line<[f64; 2]>, usize)> = Vec::new();
    let mut vertices: Vec<[f64; 2]> = Vec::new();
    for (k, (g, _)) in polygons.iter().enumerate() {
        let mut s = Vec::new();
        let mut pts = Vec::new();
        collect(g, &mut s, &mut pts);
        vertices.extend(s.iter().flat_map(|l| [l.from, l.to]));
        segs.extend(s.into_iter().map(|l| (l, k)));
    }
    let index: RTree<[f64; 2]> = RTree::bulk_load(vertices);
    // Pieces keyed by their (unordered) end points, with the polygons holding them.
    let mut pieces: HashMap<(Key, Key), (Line<[f64; 2]>, Vec<usize>)> = HashMap::new();
    for (l, k) in &segs {
        let (a, b) = (l.from, l.to);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = dx * dx + dy * dy;
        let tol = 1e-9 * len2.sqrt().max(1.0);
        let env = rstar::AABB::from_corners(
            [a[0].min(b[0]) - tol, a[1].min(b[1]) - tol],
            [a[0].max(b[0]) + tol, a[1].max(b[1]) + tol],
        );
        let mut cuts: Vec<f64> = index
            .locate_in_envelope(&env)
            .filter_map(|p| {
                let t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
                let off = ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx).abs() / len2.sqrt();
                (t > 1e-12 && t < 1.0 - 1e-12 && off <= 1e-6).then_some(t)
            })
            .collect();
        cuts.push(0.0);
        cuts.push(1.0);
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        for w in cuts.windows(2) {
            let p = [a[0] + w[0] * dx, a[1] + w[0] * dy];
            let q = [a[0] + w[1] * dx, a[1] + w[1] * dy];
            let (kp, kq) = (key(p), key(q));
            if kp == kq {
                continue;
            }
            let id = if kp < kq { (kp, kq) } else { (kq, kp) };
            let e = pieces.entry(id).or_insert_with(|| (Line::new(p, q), Vec::new()));
            if !e.1.contains(k) {
                e.1.push(*k);
            }
        }
    }
    let mut out: Vec<(Line<[f64; 2]>, (Key, Key))> = pieces
        .into_iter()
        .filter(|(_, (_, owners))| {
            owners.iter().enumerate().any(|(i, &p)| {
                owners[i + 1..].iter().any(|&q| {
                    let (a, b) = (&polygons[p].1, &polygons[q].1);
                    a != b && kept(between, a, b)
                })
            })
        })
        .map(|(id, (l, _))| (l, id))
        .collect();
    // A deterministic order (the hash map's is not).
    out.sort_by_key(|(_, id)| *id);
    out.into_iter().map(|(l, _)| l).collect()
}

/// The keys of a `contacts` table (it needs the vector kinds' `attribute`: the unit of
/// each polygon).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Only contacts between these pairs of classes (`"*"`: any class).
    pub between: Option<Vec<[String; 2]>>,
}

/// The validated keys of a `contacts` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// `between` (`None`: contacts between any two units).
    pub between: Option<Vec<[String; 2]>>,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Vector;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        cx.required_attribute("the attribute that names the unit of each polygon")?;
        Ok(Params { between: self.between.clone() })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(Contacts::prepare(p, settings, grid)?)))
    }
}

impl Contacts {
    /// Reads the polygons and their units, finds the contacts.
    pub fn prepare(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Result<Contacts> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `contacts` layer needs a vector file"));
        };
        let attribute = settings.attribute.as_deref().unwrap_or_default();
        let layer_err =
            |message: String| Error::Layer { path: layer.path.clone(), layer: layer.layer.clone(), message };
        let mut polygons = Vec::new();
        for f in layer.read(grid, Some(attribute))? {
            if !matches!(f.geometry, geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)) {
                return Err(layer_err(format!(
                    "evidence `{}`: `contacts` needs polygons, found another geometry",
                    settings.name
                )));
            }
            if f.value == Attr::Null {
                return Err(layer_err(format!(
                    "evidence `{}`: a polygon has no value of `{attribute}`; filter it out with `where` or give it a value",
                    settings.name
                )));
            }
            polygons.push((f.geometry, f.value.to_string()));
        }
        let between = params.between.as_deref();
        if let Some(pairs) = between {
            for [a, b] in pairs {
                for u in [a, b] {
                    if u != "*" && !polygons.iter().any(|(_, v)| v == u) {
                        return Err(Error::key(
                            format!("evidence `{}`.between", settings.name),
                            format!("`{u}` is not a value of `{attribute}` in {}", layer.path.display()),
                        ));
                    }
                }
            }
        }
        let segments = contact_segments(&polygons, between);
        if segments.is_empty() {
            return Err(layer_err(format!(
                "evidence `{}`: no contact between polygons of different `{attribute}`{}",
                settings.name,
                if between.is_some() { " among the `between` pairs" } else { "" }
            )));
        }
        let source = format!("{} layer {} attribute {attribute}", layer.path.display(), layer.layer);
        let pieces = segments.len();
        Ok(Contacts { distance: Distance::from_segments(&settings.name, source.clone(), segments), pieces, source })
    }
}

impl Evidence for Contacts {
    fn name(&self) -> &str {
        self.distance.name()
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        self.distance.compute(grid, w)
    }

    fn describe(&self) -> String {
        format!("distance to the contacts of {} ({} boundary pieces)", self.source, self.pieces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> geo::Geometry<f64> {
        geo::Polygon::new(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)].into(), vec![]).into()
    }

    #[test]
    fn only_boundaries_between_different_units_are_contacts_and_t_junctions_split_edges() {
        // A (0..2 x 0..2) Granite; to its right B (2..3 x 0..1) Schist and C (2..3 x 1..2)
        // Granite: A's right edge has no vertex at y = 1 (a T-junction).
        let polys = vec![
            (square(0.0, 0.0, 2.0, 2.0), "Granite".to_string()),
            (square(2.0, 0.0, 3.0, 1.0), "Schist".to_string()),
            (square(2.0, 1.0, 3.0, 2.0), "Granite".to_string()),
        ];
        let segs = contact_segments(&polys, None);
        // Contacts: x = 2 for y in 0..1 (A|B), y = 1 for x in 2..3 (B|C). Not A|C, not the edge.
        let total: f64 = segs.iter().map(|l| (l.to[0] - l.from[0]).hypot(l.to[1] - l.from[1])).sum();
        assert!((total - 2.0).abs() < 1e-12, "{segs:?}");
        let between = [["Schist".to_string(), "*".to_string()]];
        assert_eq!(contact_segments(&polys, Some(&between)).len(), segs.len());
        let none = [["Granite".to_string(), "Granite".to_string()]];
        assert!(contact_segments(&polys, Some(&none)).is_empty());
    }
}
