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
use crate::io::table::{self, XyColumns};

/// A vector layer named in the config, checked: it opens, has a CRS, the filter parses.
/// A point table (`x`/`y` columns) is one too: its points are built from the columns.
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
    /// A point table's coordinate columns (`x`, `y` keys); `None`: the source's geometry.
    pub xy: Option<XyColumns>,
}

/// The keys of a vector input besides its path, layer and filter: coordinate columns of a
/// point table and a CRS that replaces (or supplies) the source's.
#[derive(Debug, Clone, Default)]
pub struct SourceKeys<'a> {
    /// The table's key prefix in errors: `labels`, `evidence[2]`, `grid`.
    pub prefix: String,
    /// `x`: column of the x coordinate.
    pub x: Option<&'a str>,
    /// `y`: column of the y coordinate.
    pub y: Option<&'a str>,
    /// `crs`: the CRS of the coordinates, replacing the source's (or supplying a missing one).
    pub crs: Option<&'a str>,
    /// The full name of the `crs` key in errors (`labels.crs`, `grid.mask_crs`).
    pub crs_key: String,
}

impl SourceKeys<'_> {
    /// Keys of a table prefixed `prefix` whose CRS key is `{prefix}.crs`.
    pub fn new<'a>(prefix: &str, x: Option<&'a str>, y: Option<&'a str>, crs: Option<&'a str>) -> SourceKeys<'a> {
        SourceKeys { prefix: prefix.into(), x, y, crs, crs_key: format!("{prefix}.crs") }
    }
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

impl From<Option<FieldValue>> for Attr {
    /// An OGR field's value: integers, reals and text as they are, an unset or null field
    /// as [`Attr::Null`], any other type (dates, lists) as its text.
    fn from(v: Option<FieldValue>) -> Attr {
        match v {
            None => Attr::Null,
            Some(FieldValue::IntegerValue(v)) => Attr::Int(v as i64),
            Some(FieldValue::Integer64Value(v)) => Attr::Int(v),
            Some(FieldValue::RealValue(v)) => Attr::Real(v),
            Some(FieldValue::StringValue(v)) => Attr::Text(v),
            Some(other) => Attr::Text(format!("{other:?}")),
        }
    }
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
        let prefix = key.strip_suffix(".path").unwrap_or(key);
        LayerRef::open_with(key, path, layer, filter, &SourceKeys::new(prefix, None, None, None))
    }

    /// Opens and checks a layer with its coordinate columns and CRS keys: the columns
    /// exist and hold numbers, the source has a CRS (or `crs` gives one), and the
    /// coordinates lie in that CRS's area of use.
    pub fn open_with(
        key: &str,
        path: &Path,
        layer: Option<&str>,
        filter: Option<&str>,
        keys: &SourceKeys,
    ) -> Result<LayerRef> {
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
        let layer_err = |message: String| Error::Layer { path: path.into(), layer: name.clone(), message };
        let xy = match (keys.x, keys.y) {
            (Some(x), Some(y)) => Some(XyColumns { x: x.into(), y: y.into() }),
            (None, None) => None,
            (Some(_), None) => return Err(Error::key(format!("{}.y", keys.prefix), "`x` is given: give `y` too")),
            (None, Some(_)) => return Err(Error::key(format!("{}.x", keys.prefix), "`y` is given: give `x` too")),
        };
        let srs = match keys.crs {
            Some(def) => parse_crs(def)
                .map_err(|e| Error::key(&keys.crs_key, format!("`{def}` is not a CRS GDAL knows: {e}")))?,
            None => match lyr.spatial_ref() {
                // A point table's own CRS (a GeoPackage table with geometry has one) is
                // not the coordinate columns': they need `crs`.
                Some(srs) if xy.is_none() => srs,
                _ if xy.is_some() => {
                    return Err(Error::key(
                        &keys.crs_key,
                        format!("layer `{name}` of {}: give the CRS of the `x`/`y` columns", path.display()),
                    ))
                }
                _ => {
                    return Err(layer_err(format!(
                        "has no coordinate reference system (a Shapefile needs its .prj); \
                         assign one with `{}`",
                        keys.crs_key
                    )))
                }
            },
        };
        let crs_wkt = srs.to_wkt().map_err(|e| Error::input(path, e))?;
        if let Some(f) = filter {
            lyr.set_attribute_filter(f).map_err(|e| Error::Layer {
                path: path.into(),
                layer: name.clone(),
                message: format!(
                    "the filter `{f}` (config key `where`) is not valid OGR SQL: {} ({e})",
                    crate::io::last_gdal_error()
                ),
            })?;
        }
        let feature_count = lyr.feature_count();
        // The extent of the coordinates, checked against the CRS's area of use.
        let extent = match &xy {
            Some(cols) => {
                let (ix, iy) = table::column_indices(&lyr, cols, &keys.prefix)?;
                let rows = table::row_points(&mut lyr, ix, iy, cols).map_err(layer_err)?;
                let mut e: Option<[f64; 4]> = None;
                for (x, y) in rows.iter().filter_map(|r| r.xy) {
                    let b = e.get_or_insert([x, y, x, y]);
                    *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                }
                e
            }
            None => {
                if lyr.defn().geom_fields().next().is_none() {
                    return Err(layer_err(format!(
                        "has no geometry: for a table of points give its coordinate columns with `{0}.x` and \
                         `{0}.y` (and their CRS with `{0}.crs`)",
                        keys.prefix
                    )));
                }
                (feature_count > 0).then(|| lyr.get_extent().ok()).flatten().map(|e| [e.MinX, e.MinY, e.MaxX, e.MaxY])
            }
        };
        if let Some(extent) = extent {
            let what = format!("{}, layer `{name}`", path.display());
            table::check_area_of_use(&srs, extent, &what, &keys.crs_key)?;
        }
        Ok(LayerRef { path: path.into(), layer: name, filter: filter.map(String::from), crs_wkt, feature_count, xy })
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
        Ok(self.read_counted(grid, attributes)?.0)
    }

    /// Like [`LayerRef::read_attributes`], with the number of features skipped for having
    /// no geometry (a point table: an empty coordinate). Skips are logged as a warning.
    pub fn read_counted(
        &self,
        grid: &Grid,
        attributes: &[&str],
    ) -> Result<(Vec<(geo::Geometry<f64>, Vec<Attr>)>, usize)> {
        let err = |message: String| Error::Layer { path: self.path.clone(), layer: self.layer.clone(), message };
        let ds = Dataset::open(&self.path).map_err(|e| Error::input(&self.path, e))?;
        let mut lyr = ds.layer_by_name(&self.layer).map_err(|e| Error::input(&self.path, e))?;
        if let Some(f) = &self.filter {
            lyr.set_attribute_filter(f)
                .map_err(|e| err(format!("filter `{f}`: {} ({e})", crate::io::last_gdal_error())))?;
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
        let xy_idx = match &self.xy {
            Some(cols) => Some(table::column_indices(&lyr, cols, "")?),
            None => None,
        };
        let mut out = Vec::new();
        let mut skipped = 0;
        let fid = |f: &gdal::vector::Feature| f.fid().map_or("?".to_string(), |v| v.to_string());
        for feature in lyr.features() {
            let geometry = match (&self.xy, xy_idx) {
                (Some(cols), Some((ix, iy))) => {
                    let coord = |i: usize, name: &str| {
                        let v = feature.field(i).map_err(|e| err(format!("feature {}: {e}", fid(&feature))))?;
                        table::coordinate_of(v)
                            .map_err(|m| err(format!("feature {}, column `{name}`: {m}", fid(&feature))))
                    };
                    let (Some(x), Some(y)) = (coord(ix, &cols.x)?, coord(iy, &cols.y)?) else {
                        skipped += 1;
                        continue;
                    };
                    let (mut xs, mut ys, mut zs) = ([x], [y], [0.0]);
                    if let Some(t) = &transform {
                        t.transform_coords(&mut xs, &mut ys, &mut zs).map_err(|e| {
                            err(format!(
                                "feature {}: ({x}, {y}) cannot be reprojected to the grid CRS: {e}",
                                fid(&feature)
                            ))
                        })?;
                    }
                    geo::Geometry::Point(geo::Point::new(xs[0], ys[0]))
                }
                _ => {
                    // A null or empty geometry is a feature without geometry: skipped, counted.
                    let Some(geom) = feature.geometry().filter(|g| !g.is_empty()) else {
                        skipped += 1;
                        continue;
                    };
                    let geom = match &transform {
                        Some(t) => geom.transform(t).map_err(|e| {
                            err(format!("feature {}: cannot be reprojected to the grid CRS: {e}", fid(&feature)))
                        })?,
                        None => geom.clone(),
                    };
                    geom.to_geo().map_err(|e| {
                        err(format!("feature {}: {e} (geometry type {})", fid(&feature), geom.geometry_name()))
                    })?
                }
            };
            let values = field_idx
                .iter()
                .map(|&i| Ok(Attr::from(feature.field(i).map_err(|e| err(e.to_string()))?)))
                .collect::<Result<Vec<_>>>()?;
            out.push((geometry, values));
        }
        if skipped > 0 {
            tracing::warn!(
                "{}, layer `{}`: skipped {skipped} of {} feature(s) without {}",
                self.path.display(),
                self.layer,
                skipped + out.len(),
                if self.xy.is_some() { "both coordinates" } else { "a geometry" }
            );
        }
        Ok((out, skipped))
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

impl crate::grid::StudyArea for MaskPolygons {
    fn flags(&self, grid: &Grid, w: &Window) -> Result<Vec<bool>> {
        Ok(self.burner.burn(grid, w)?.into_iter().map(|class| class.is_some()).collect())
    }

    fn source(&self) -> &Path {
        &self.source
    }
}

/// Study-area polygons: cells whose centre lies inside one.
#[derive(Debug)]
struct MaskPolygons {
    source: PathBuf,
    burner: Burner,
}

/// Opens the study-area mask `grid.mask` (`layer`: `grid.mask_layer`): a polygon layer,
/// or a raster warped onto `grid` whose non-zero cells are the study area. `crs`
/// (`grid.mask_crs`) assigns a vector mask's CRS.
pub fn open_mask(path: &Path, layer: Option<&str>, crs: Option<&str>, grid: &Grid) -> Result<crate::grid::Mask> {
    if !crate::io::exists(path) {
        return Err(Error::MissingFile { key: "grid.mask".into(), path: path.into() });
    }
    let ds = Dataset::open(path).map_err(|e| Error::input(path, e))?;
    if ds.layer_count() > 0 {
        let keys = SourceKeys { prefix: "grid".into(), crs, crs_key: "grid.mask_crs".into(), ..Default::default() };
        let lref = LayerRef::open_with("grid.mask", path, layer, None, &keys)?;
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
        Ok(crate::grid::Mask::Polygons(Arc::new(MaskPolygons {
            source: path.into(),
            burner: Burner::new(shapes, false),
        })))
    } else {
        if layer.is_some() {
            return Err(Error::key("grid.mask_layer", "is set but the mask is a raster"));
        }
        if crs.is_some() {
            return Err(Error::key("grid.mask_crs", "is set but the mask is a raster"));
        }
        let band = crate::io::raster::BandRef::open("grid.mask", path, 1)?;
        let gb = crate::io::raster::GridBand::new(&band, grid, crate::io::Resampling::Nearest, true)?;
        Ok(crate::grid::Mask::Raster(Arc::new(gb)))
    }
}
