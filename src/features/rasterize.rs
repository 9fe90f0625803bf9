//! `kind = "rasterize"`: a polygon attribute (lithology unit, stratigraphic number, map
//! code) burnt onto the grid by GDAL's rasterizer and one-hot encoded. A cell takes the
//! class of the polygon holding its centre; cells outside every polygon have no data.

use std::collections::BTreeMap;

use crate::config::{EvidenceInput, EvidenceSettings};
use crate::error::{Error, Result};
use crate::features::{Evidence, LayerBlock, OneHot};
use crate::grid::{Grid, Window};
use crate::io::vector::{Attr, Burner};

/// A class map burnt from polygons.
#[derive(Debug)]
pub struct Rasterize {
    name: String,
    source: String,
    burner: Burner,
    classes: Vec<String>,
    onehot: OneHot,
}

/// Sort key that orders integer classes numerically and text classes alphabetically.
fn class_key(a: &Attr) -> (i64, String) {
    match a {
        Attr::Int(v) => (*v, String::new()),
        Attr::Real(v) if v.fract() == 0.0 => (*v as i64, String::new()),
        other => (i64::MAX, other.to_string()),
    }
}

impl Rasterize {
    /// Reads the polygons and their attribute; the classes are the distinct values.
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Rasterize> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `rasterize` layer needs a vector file"));
        };
        let attribute = settings.attribute.as_deref().unwrap_or_default();
        let features = layer.read(grid, Some(attribute))?;
        let layer_err =
            |message: String| Error::Layer { path: layer.path.clone(), layer: layer.layer.clone(), message };
        let mut classes: BTreeMap<(i64, String), String> = BTreeMap::new();
        let mut polygons = Vec::new();
        for f in features {
            if !matches!(f.geometry, geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)) {
                return Err(layer_err(format!(
                    "evidence `{}`: `rasterize` burns polygons, found a {}",
                    settings.name,
                    geometry_name(&f.geometry)
                )));
            }
            if f.value == Attr::Null {
                return Err(layer_err(format!(
                    "evidence `{}`: a polygon has no value of `{attribute}`; filter it out with `where` \
                     or give it a value (lode does not guess classes)",
                    settings.name
                )));
            }
            classes.entry(class_key(&f.value)).or_insert_with(|| f.value.to_string());
            polygons.push((f.geometry, f.value));
        }
        if polygons.is_empty() {
            return Err(layer_err(format!("evidence `{}`: no polygon to burn", settings.name)));
        }
        if classes.len() > settings.max_classes {
            return Err(layer_err(format!(
                "evidence `{}`: `{attribute}` has {} distinct values, more than max_classes = {}",
                settings.name,
                classes.len(),
                settings.max_classes
            )));
        }
        let index: BTreeMap<(i64, String), u32> =
            classes.keys().enumerate().map(|(i, k)| (k.clone(), i as u32)).collect();
        let shapes = polygons.into_iter().map(|(g, v)| (g, index[&class_key(&v)])).collect();
        let classes: Vec<String> = classes.into_values().collect();
        let onehot = OneHot { columns: classes.iter().map(|c| format!("{}={c}", settings.name)).collect() };
        Ok(Rasterize {
            name: settings.name.clone(),
            source: format!("{} layer {} attribute {attribute}", layer.path.display(), layer.layer),
            burner: Burner::new(shapes, false),
            classes,
            onehot,
        })
    }
}

fn geometry_name(g: &geo::Geometry<f64>) -> &'static str {
    use geo::Geometry as G;
    match g {
        G::Point(_) | G::MultiPoint(_) => "point",
        G::Line(_) | G::LineString(_) | G::MultiLineString(_) => "line",
        G::GeometryCollection(_) => "geometry collection",
        _ => "polygon",
    }
}

impl Evidence for Rasterize {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        self.onehot.columns.clone()
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let burnt = self.burner.burn(grid, w)?;
        let classes: Vec<Option<Option<usize>>> = burnt.into_iter().map(|c| c.map(|k| Some(k as usize))).collect();
        Ok(self.onehot.encode(&classes))
    }

    fn class_codes(&self) -> Option<Vec<i64>> {
        let ints: Option<Vec<i64>> = self.classes.iter().map(|c| c.parse().ok()).collect();
        Some(ints.unwrap_or_else(|| (1..=self.classes.len() as i64).collect()))
    }

    fn describe(&self) -> String {
        format!("rasterize {}, {} classes", self.source, self.classes.len())
    }
}
