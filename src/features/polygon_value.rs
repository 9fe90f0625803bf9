//! `kind = "polygon_value"`: a numeric polygon attribute burnt onto the grid as one
//! continuous column: the age of a map unit in Ma, a magnetic susceptibility or a density
//! measured per unit, a metamorphic grade number. A cell takes the value of the polygon
//! holding its centre (GDAL's rasterizer, as `gdal_rasterize -a ATTRIBUTE`); where
//! polygons overlap the later one in the layer wins, as in `gdal_rasterize`.
//!
//! Study-area cells outside every polygon have no data (a warning gives their count and
//! share of the study area): unmapped ground has no value to give, and lode does not make
//! one up. A polygon without a value, or with text that is not a number, is an error
//! naming the layer and the attribute (filter it out with `where`). The value can be
//! transformed or classified like any continuous layer (`transform`, `classify`).

use crate::error::{Error, Result};
use crate::features::scan::{finish_or_stop, Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::vector::{Attr, Burner};

/// `polygon_value` owns no keys; it needs the vector kinds' `attribute`.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {}

impl Kind for Raw {
    type Params = ();
    const INPUT: Input = Input::Vector;

    fn check(&self, cx: &Check<'_>) -> Result<()> {
        cx.required_attribute("the numeric attribute to burn").map(drop)
    }

    fn prepare(_: &(), settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(PolygonValue::prepare_with(settings, grid, pass)?.boxed())
    }
}

/// A continuous map burnt from polygons.
#[derive(Debug)]
pub struct PolygonValue {
    name: String,
    source: String,
    burner: Burner,
    /// The value of each polygon, in layer order (the burner burns their positions).
    values: Vec<f64>,
    /// Study-area cells outside every polygon, and study-area cells.
    unmapped_cells: (u64, u64),
}

impl PolygonValue {
    /// Reads the polygons and the number each one holds, with the count of unmapped cells
    /// as `pass` gives it.
    pub fn prepare_with(settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<PolygonValue>> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `polygon_value` layer needs a vector file"));
        };
        let attribute = settings.attribute.as_deref().unwrap_or_default();
        let layer_err =
            |message: String| Error::Layer { path: layer.path.clone(), layer: layer.layer.clone(), message };
        let mut shapes = Vec::new();
        let mut values = Vec::new();
        for f in layer.read(grid, Some(attribute))? {
            if !matches!(f.geometry, geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)) {
                return Err(layer_err(format!("evidence `{}`: `polygon_value` burns polygons only", settings.name)));
            }
            let value = match &f.value {
                Attr::Int(v) => *v as f64,
                Attr::Real(v) => *v,
                Attr::Text(t) => t.trim().parse::<f64>().map_err(|_| {
                    layer_err(format!(
                        "evidence `{}`: a polygon's `{attribute}` is `{t}`, not a number; `polygon_value` burns \
                         numbers (`rasterize` burns classes)",
                        settings.name
                    ))
                })?,
                Attr::Null => {
                    return Err(layer_err(format!(
                        "evidence `{}`: a polygon has no value of `{attribute}`; filter it out with `where` \
                         or give it a value (lode does not make one up)",
                        settings.name
                    )))
                }
            };
            if !value.is_finite() {
                return Err(layer_err(format!(
                    "evidence `{}`: a polygon's `{attribute}` is {value}, not a finite number",
                    settings.name
                )));
            }
            shapes.push((f.geometry, values.len() as u32));
            values.push(value);
        }
        if values.is_empty() {
            return Err(layer_err(format!("evidence `{}`: no polygon to burn", settings.name)));
        }
        let burner = Burner::new(shapes, false);
        use crate::features::rasterize::{count_unmapped, unmapped_of};
        let unmapped_cells =
            unmapped_of(&settings.name, finish_or_stop!(pass.kind(grid, |w| count_unmapped(&burner, grid, w))?))?;
        if unmapped_cells.0 > 0 {
            let share = 100.0 * unmapped_cells.0 as f64 / unmapped_cells.1.max(1) as f64;
            tracing::warn!(
                "evidence `{}`: {} study-area cells ({share:.2} % of the study area) lie outside every polygon and \
                 have no data: left out of training and the map",
                settings.name,
                unmapped_cells.0
            );
        }
        Ok(Prepared::Layer(PolygonValue {
            name: settings.name.clone(),
            source: format!("{} layer {} attribute {attribute}", layer.path.display(), layer.layer),
            burner,
            values,
            unmapped_cells,
        }))
    }
}

impl Evidence for PolygonValue {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let burnt = self.burner.burn(grid, w)?;
        let valid: Vec<bool> = burnt.iter().map(Option::is_some).collect();
        let values: Vec<f64> = burnt.iter().map(|k| k.map_or(0.0, |k| self.values[k as usize])).collect();
        let values = ndarray::Array2::from_shape_vec((w.len(), 1), values).expect("one value per cell");
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        let (lo, hi) = self.values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let unmapped = match self.unmapped_cells.0 {
            0 => String::new(),
            n => format!(", {n} unmapped study-area cells without data"),
        };
        format!("polygon_value {}, {} polygons, values {lo} to {hi}{unmapped}", self.source, self.values.len())
    }
}
