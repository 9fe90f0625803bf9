//! Vector inputs through OGR, in any format GDAL reads (Shapefile, GeoPackage, GeoJSON,
//! FlatGeobuf, ...): checking a layer when the config is validated, reading its
//! features reprojected to the grid CRS as `geo` geometries, and burning polygons onto
//! a window of the grid with GDAL's rasterizer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gdal::spatial_ref::CoordTransform;
use gdal::vector::{FieldValue, LayerAccess, ToGdal};
use gdal::Dataset;
use geo::BoundingRect;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::error::{Error, Result};
use crate::grid::{Grid, Window};
use crate::io::parse_crs;

/// A vector layer named in the config, checked: it opens, has a CRS, the filter parses.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// The file.
    pub path: PathBuf,
    /// Layer name.
    pub layer: String,
    /// OGR SQL attribute filter.
    pub filter: Option<String>,
    /// CRS as WKT.
    pub crs_wkt: String,
    /// Features that pass the filter.
    pub feature_count: u64,
}

/// An attribute value read from a feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// Integer.
    Int(i64),
    /// Floating point.
    Real(f64),
    /// Text.
    Text(String),
    /// Unset or null.
    Null,
}

impl std::fmt::Display for Attr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attr::Int(v) => write!(f, "{v}"),
            Attr::Real(v) => write!(f, "{v}"),
            Attr::Text(v) => write!(f, "{v}"),
            Attr::Null => write!(f, "null"),
        }
    }
}

/// A feature in the grid CRS.
#[derive(Debug, Clone)]
pub struct VFeature {
    /// Geometry, reprojected to the grid CRS.
    pub geometry: geo::Geometry<f64>,
    /// The requested attribute, if any.
    pub value: Attr,
}

impl LayerRef {
    /// Opens and checks a layer; `key` names the config key in errors.
    pub fn open(key: &str, path: &Path, layer: Option<&str>, filter: Option<&str>) -> Result<LayerRef> {
        crate::io::init();
        if !crate::io::exists(path) {
            return Err(Error::MissingFile { key: key.into(), path: path.into() });
        }
        let ds = Dataset::open(path)
            .map_err(|e| Error::input(path, format!("GDAL cannot open it as a vector source: {e}")))?;
        if ds.layer_count() == 0 {
            return Err(Error::input(path, format!("has no vector layer (config key `{key}`)")));
        }
        let mut lyr = match layer {
            Some(name) => ds.layer_by_name(name).map_err(|_| {
                let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
                Error::Layer {
                    path: path.into(),
                    layer: name.into(),
                    message: format!("no such layer; the layers are: {}", names.join(", ")),
                }
            })?,
            None => ds.layer(0).map_err(|e| Error::input(path, e))?,
        };
        let name = lyr.name();
        let Some(srs) = lyr.spatial_ref() else {
            return Err(Error::Layer {
                path: path.into(),
                layer: name,
                message: "has no coordinate reference system (a Shapefile needs its .prj)".into(),
            });
        };
        let crs_wkt = srs.to_wkt().map_err(|e| Error::input(path, e))?;
        if let Some(f) = filter {
            lyr.set_attribute_filter(f).map_err(|e| Error::Layer {
                path: path.into(),
                layer: name.clone(),
                message: format!("the filter `{f}` (config key `where`) is not valid OGR SQL: {e}"),
            })?;
        }
        let feature_count = lyr.feature_count();
        Ok(LayerRef { path: path.into(), layer: name, filter: filter.map(String::from), crs_wkt, feature_count })
    }

    /// Errors unless the layer has a field `name`.
    pub fn check_field(&self, name: &str) -> Result<()> {
        let ds = Dataset::open(&self.path).map_err(|e| Error::input(&self.path, e))?;
        let lyr = ds.layer_by_name(&self.layer).map_err(|e| Error::input(&self.path, e))?;
        let fields: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
        if fields.iter().any(|f| f == name) {
            Ok(())
        } else {
            Err(Error::Layer {
                path: self.path.clone(),
                layer: self.layer.clone(),
                message: format!("has no attribute `{name}`; its attributes are: {}", fields.join(", ")),
            })
        }
    }

    /// Reads every feature that passes the filter, reprojected to `grid`'s CRS, with the
    /// value of `attribute` when one is named. Features without geometry are skipped.
    pub fn read(&self, grid: &Grid, attribute: Option<&str>) -> Result<Vec<VFeature>> {
        let features = self.read_attributes(grid, attribute.as_slice())?;
        Ok(features
            .into_iter()
            .map(|(geometry, values)| VFeature { geometry, value: values.into_iter().next().unwrap_or(Attr::Null) })
            .collect())
    }

    /// Like [`LayerRef::read`] with the values of several attributes, in the order given.
    pub fn read_attributes(&self, grid: &Grid, attributes: &[&str]) -> Result<Vec<(geo::Geometry<f64>, Vec<Attr>)>> {
        let err = |message: String| Error::Layer { path: self.path.clone(), layer: self.layer.clone(), message };
        let ds = Dataset::open(&self.path).map_err(|e| Error::input(&self.path, e))?;
        let mut lyr = ds.layer_by_name(&self.layer).map_err(|e| Error::input(&self.path, e))?;
        if let Some(f) = &self.filter {
            lyr.set_attribute_filter(f).map_err(|e| err(format!("filter `{f}`: {e}")))?;
        }
        let src = parse_crs(&self.crs_wkt).map_err(|e| err(format!("CRS: {e}")))?;
        let dst = parse_crs(&grid.crs_wkt).map_err(|e| err(format!("grid CRS: {e}")))?;
        let transform = if src == dst {
            None
        } else {
            Some(CoordTransform::new(&src, &dst).map_err(|e| err(format!("cannot reproject to the grid CRS: {e}")))?)
        };
        let field_idx = attributes
            .iter()
            .map(|a| lyr.defn().field_index(a).map_err(|_| err(format!("has no attribute `{a}`"))))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for feature in lyr.features() {
            let Some(geom) = feature.geometry() else { continue };
            let geom = match &transform {
                Some(t) => geom.transform(t).map_err(|e| err(format!("feature {:?}: {e}", feature.fid())))?,
                None => geom.clone(),
            };
            let geometry = geom.to_geo().map_err(|e| err(format!("feature {:?}: {e}", feature.fid())))?;
            let values = field_idx
                .iter()
                .map(|&i| {
                    Ok(match feature.field(i).map_err(|e| err(e.to_string()))? {
                        None => Attr::Null,
                        Some(FieldValue::IntegerValue(v)) => Attr::Int(v as i64),
                        Some(FieldValue::Integer64Value(v)) => Attr::Int(v),
                        Some(FieldValue::RealValue(v)) => Attr::Real(v),
                        Some(FieldValue::StringValue(v)) => Attr::Text(v),
                        Some(other) => Attr::Text(format!("{other:?}")),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push((geometry, values));
        }
        Ok(out)
    }
}

type Indexed = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Polygons with a burn value each, indexed for burning any window of the grid.
#[derive(Debug, Clone)]
pub struct Burner {
    shapes: Arc<Vec<(geo::Geometry<f64>, u32)>>,
    index: Arc<RTree<Indexed>>,
    all_touched: bool,
}

impl Burner {
    /// Indexes `(geometry, class)` pairs; a later shape wins where shapes overlap, as in
    /// `gdal_rasterize`.
    pub fn new(shapes: Vec<(geo::Geometry<f64>, u32)>, all_touched: bool) -> Burner {
        let boxes = shapes
            .iter()
            .enumerate()
            .filter_map(|(i, (g, _))| {
                let r = g.bounding_rect()?;
                Some(GeomWithData::new(Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]), i))
            })
            .collect();
        Burner { shapes: Arc::new(shapes), index: Arc::new(RTree::bulk_load(boxes)), all_touched }
    }

    /// The class burnt into each cell of `w` (row-major), `None` where no shape covers it.
    /// GDAL's rasterizer decides coverage (cell centre inside, or touched with `all_touched`).
    pub fn burn(&self, grid: &Grid, w: &Window) -> Result<Vec<Option<u32>>> {
        let gt = grid.window_transform(w);
        let (x0, y1) = (gt[0], gt[3]);
        let (x1, y0) = (x0 + gt[1] * w.cols as f64, y1 + gt[5] * w.rows as f64);
        let envelope = AABB::from_corners([x0, y0], [x1, y1]);
        let mut hits: Vec<usize> = self.index.locate_in_envelope_intersecting(&envelope).map(|g| g.data).collect();
        if hits.is_empty() {
            return Ok(vec![None; w.len()]);
        }
        hits.sort_unstable();
        let fail = |e: gdal::errors::GdalError| Error::Input { path: "<rasterize>".into(), message: e.to_string() };
        let driver = gdal::DriverManager::get_driver_by_name("MEM").map_err(fail)?;
        let mut ds = driver.create_with_band_type::<u32, _>("", w.cols, w.rows, 1).map_err(fail)?;
        ds.set_geo_transform(&gt).map_err(fail)?;
        let mut geoms = Vec::with_capacity(hits.len());
        let mut values = Vec::with_capacity(hits.len());
        for i in hits {
            let (g, class) = &self.shapes[i];
            geoms.push(g.to_gdal().map_err(fail)?);
            values.push(*class as f64 + 1.0);
        }
        let options = gdal::raster::RasterizeOptions { all_touched: self.all_touched, ..Default::default() };
        gdal::raster::rasterize(&mut ds, &[1], &geoms, &values, Some(options)).map_err(fail)?;
        let size = (w.cols, w.rows);
        let burnt = ds.rasterband(1).map_err(fail)?.read_as::<u32>((0, 0), size, size, None).map_err(fail)?;
        Ok(burnt.data().iter().map(|&v| if v == 0 { None } else { Some(v - 1) }).collect())
    }
}

impl crate::grid::Mask {
    /// Opens a study-area mask: a polygon layer, or a raster warped onto `grid`.
    pub fn open(path: &Path, layer: Option<&str>, grid: &Grid) -> Result<crate::grid::Mask> {
        if !crate::io::exists(path) {
            return Err(Error::MissingFile { key: "grid.mask".into(), path: path.into() });
        }
        let ds = Dataset::open(path).map_err(|e| Error::input(path, e))?;
        if ds.layer_count() > 0 {
            let lref = LayerRef::open("grid.mask", path, layer, None)?;
            let shapes: Vec<_> = lref
                .read(grid, None)?
                .into_iter()
                .filter(|f| matches!(f.geometry, geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)))
                .map(|f| (f.geometry, 0))
                .collect();
            if shapes.is_empty() {
                return Err(Error::Layer {
                    path: path.into(),
                    layer: lref.layer,
                    message: "has no polygon to use as the study area".into(),
                });
            }
            Ok(crate::grid::Mask::Polygons(Burner::new(shapes, false)))
        } else {
            if layer.is_some() {
                return Err(Error::key("grid.mask_layer", "is set but the mask is a raster"));
            }
            let band = crate::io::raster::BandRef::open("grid.mask", path, 1)?;
            let gb = crate::io::raster::GridBand::new(&band, grid, crate::config::Resampling::Nearest, true)?;
            Ok(crate::grid::Mask::Raster(gb))
        }
    }
}
