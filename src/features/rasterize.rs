//! `kind = "rasterize"`: a polygon attribute (lithology unit, stratigraphic number, map
//! code, as text or integers) burnt onto the grid by GDAL's rasterizer and one-hot
//! encoded, one column `name=class` per class. A cell takes the class of the polygon
//! holding its centre. Study-area cells outside every polygon are the class `unmapped`
//! (`unmapped = "class"`, the default; a warning gives their count and share of the study
//! area) or have no data (`unmapped = "nodata"`): never a silent drop. `classes = [...]`
//! (names or integers) encodes only those; cells of other classes are valid, all zeros.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::features::classes::{ClassName, Unmapped, UNMAPPED};
use crate::features::scan::{finish_or_stop, KindScan, Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, HotBlock, LayerBlock, OneHot};
use crate::grid::{Grid, Window};
use crate::io::vector::{Attr, Burner};

/// A class map burnt from polygons.
#[derive(Debug)]
pub struct Rasterize {
    name: String,
    source: String,
    burner: Burner,
    /// Every class of the layer, in order (then `unmapped` with `unmapped = "class"`).
    classes: Vec<String>,
    /// The column of each class of `classes` (`None`: not encoded).
    column_of: Vec<Option<usize>>,
    /// The encoded classes, in column order.
    encoded: Vec<String>,
    unmapped: Unmapped,
    /// Study-area cells outside every polygon, and study-area cells.
    unmapped_cells: (u64, u64),
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

/// The keys of a `rasterize` table (it needs the vector kinds' `attribute`: the unit of
/// each polygon).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Classes to encode, integers or names; default every class found in the study area.
    pub classes: Option<Vec<ClassName>>,
    /// Study-area cells outside every polygon are the class `unmapped` (`class`, default)
    /// or have no data (`nodata`).
    #[serde(default)]
    pub unmapped: Unmapped,
    /// Largest number of classes accepted before the layer is declared not categorical. Default 256.
    #[serde(default = "crate::features::classes::default_max_classes")]
    pub max_classes: usize,
}

/// The validated keys of a `rasterize` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// What study-area cells outside every polygon are.
    pub unmapped: Unmapped,
    /// The classes to encode, as written (codes or names); `None`: every class found.
    pub classes: Option<Vec<ClassName>>,
    /// The class-count limit.
    pub max_classes: usize,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Vector;
    const CLASSES: bool = true;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        cx.required_attribute("the attribute that names the unit of each polygon")?;
        crate::features::classes::check_class_keys(cx, self.classes.as_deref(), self.max_classes)?;
        Ok(Params { unmapped: self.unmapped, classes: self.classes.clone(), max_classes: self.max_classes })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Rasterize::prepare_with(p, settings, grid, pass)?.boxed())
    }
}

impl Rasterize {
    /// Reads the polygons and their attribute (the classes are the distinct values), with
    /// the count of unmapped cells as `pass` gives it.
    pub fn prepare_with(
        params: &Params,
        settings: &EvidenceSettings,
        grid: &Grid,
        pass: Pass,
    ) -> Result<Prepared<Rasterize>> {
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
        if classes.len() > params.max_classes {
            return Err(layer_err(format!(
                "evidence `{}`: `{attribute}` has {} distinct values, more than max_classes = {}",
                settings.name,
                classes.len(),
                params.max_classes
            )));
        }
        let index: BTreeMap<(i64, String), u32> =
            classes.keys().enumerate().map(|(i, k)| (k.clone(), i as u32)).collect();
        let shapes = polygons.into_iter().map(|(g, v)| (g, index[&class_key(&v)])).collect();
        let mut classes: Vec<String> = classes.into_values().collect();
        let (unmapped, wanted) = (params.unmapped, &params.classes);
        if classes.iter().any(|c| c == UNMAPPED) && unmapped == Unmapped::Class {
            return Err(layer_err(format!(
                "evidence `{}`: `{attribute}` already has a class named `{UNMAPPED}`; set unmapped = \"nodata\" \
                 or rename it",
                settings.name
            )));
        }
        let burner = Burner::new(shapes, false);
        let unmapped_cells =
            unmapped_of(&settings.name, finish_or_stop!(pass.kind(grid, |w| count_unmapped(&burner, grid, w))?))?;
        if unmapped == Unmapped::Class {
            classes.push(UNMAPPED.to_string());
        }
        if unmapped_cells.0 > 0 {
            let share = 100.0 * unmapped_cells.0 as f64 / unmapped_cells.1.max(1) as f64;
            let what = match unmapped {
                Unmapped::Class => format!("are the class `{UNMAPPED}`"),
                Unmapped::Nodata => "have no data (unmapped = \"nodata\"): left out of training and the map".into(),
            };
            tracing::warn!(
                "evidence `{}`: {} study-area cells ({share:.2} % of the study area) lie outside every polygon and {what}",
                settings.name,
                unmapped_cells.0
            );
        }
        // The encoded classes: those listed in `classes`, else all.
        let encoded: Vec<String> = match wanted {
            None => classes.clone(),
            Some(list) => {
                let mut out = Vec::new();
                for c in list {
                    let name = c.to_string();
                    let found = classes.iter().find(|k| {
                        **k == name || matches!(c, ClassName::Code(v) if k.parse::<f64>().ok() == Some(*v as f64))
                    });
                    match found {
                        Some(k) if !out.contains(k) => out.push(k.clone()),
                        Some(_) => {}
                        None => {
                            return Err(layer_err(format!(
                                "evidence `{}`: classes lists `{name}`, which no polygon's `{attribute}` has \
                                 (its classes: {})",
                                settings.name,
                                classes.join(", ")
                            )))
                        }
                    }
                }
                out
            }
        };
        let column_of = classes.iter().map(|c| encoded.iter().position(|e| e == c)).collect();
        let onehot =
            OneHot { columns: encoded.iter().map(|c| crate::features::classes::column(&settings.name, c)).collect() };
        Ok(Prepared::Layer(Rasterize {
            name: settings.name.clone(),
            source: format!("{} layer {} attribute {attribute}", layer.path.display(), layer.layer),
            burner,
            classes,
            column_of,
            encoded,
            unmapped,
            unmapped_cells,
            onehot,
        }))
    }
}

/// The partial of the count over `windows`: study-area cells no polygon covers, and
/// study-area cells.
pub(crate) fn count_unmapped(burner: &Burner, grid: &Grid, windows: &[Window]) -> Result<KindScan> {
    use rayon::prelude::*;
    let counts: Vec<(u64, u64)> = windows
        .par_iter()
        .map(|w| {
            crate::features::scan::count_window();
            let burnt = burner.burn(grid, w)?;
            let study = grid.mask(w)?;
            let inside = study.iter().filter(|&&s| s).count() as u64;
            let gaps = burnt.iter().zip(&study).filter(|(b, &s)| s && b.is_none()).count() as u64;
            Ok((gaps, inside))
        })
        .collect::<Result<_>>()?;
    let (gaps, inside) = counts.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    Ok(KindScan::Unmapped(gaps, inside))
}

/// The counts of the merged partial of every window ([`count_unmapped`]).
pub(crate) fn unmapped_of(name: &str, scan: KindScan) -> Result<(u64, u64)> {
    match scan {
        KindScan::Unmapped(gaps, inside) => Ok((gaps, inside)),
        _ => Err(Error::key(name, "the prepared state holds no unmapped count of this layer")),
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

impl Rasterize {
    /// Per cell of `w`: `None` without data, else the column of its class (`None`: not encoded).
    fn classes_at(&self, grid: &Grid, w: &Window) -> Result<Vec<Option<Option<usize>>>> {
        let burnt = self.burner.burn(grid, w)?;
        let unmapped = match self.unmapped {
            Unmapped::Class => Some(self.column_of[self.classes.len() - 1]),
            Unmapped::Nodata => None,
        };
        Ok(burnt.into_iter().map(|c| c.map_or(unmapped, |k| Some(self.column_of[k as usize]))).collect())
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
        Ok(self.onehot.encode(&self.classes_at(grid, w)?))
    }

    fn compute_hot(&self, grid: &Grid, w: &Window) -> Result<Option<HotBlock>> {
        Ok(Some(OneHot::hot(&self.classes_at(grid, w)?)))
    }

    fn class_codes(&self) -> Option<Vec<i64>> {
        // Integer classes keep their values (unmapped: one below the smallest, at most -1);
        // text classes are numbered from 1 in class order.
        let mapped: Vec<&String> = self.encoded.iter().filter(|c| *c != UNMAPPED).collect();
        let ints: Option<Vec<i64>> = mapped.iter().map(|c| c.parse().ok()).collect();
        match ints {
            Some(v) => {
                let below = v.iter().copied().min().map_or(-1, |m| (m - 1).min(-1));
                Some(
                    self.encoded
                        .iter()
                        .map(|c| if c == UNMAPPED { below } else { c.parse().unwrap_or(below) })
                        .collect(),
                )
            }
            None => Some((1..=self.encoded.len() as i64).collect()),
        }
    }

    fn class_names(&self) -> Option<Vec<String>> {
        Some(self.encoded.clone())
    }

    fn describe(&self) -> String {
        let unmapped = match (self.unmapped, self.unmapped_cells.0) {
            (_, 0) => String::new(),
            (Unmapped::Class, n) => format!(", {n} unmapped study-area cells as class `{UNMAPPED}`"),
            (Unmapped::Nodata, n) => format!(", {n} unmapped study-area cells without data"),
        };
        format!("rasterize {}, {} classes{unmapped}", self.source, self.encoded.len())
    }
}
