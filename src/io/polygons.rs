//! Target polygons through GDAL: a byte mask written window by window to a scratch
//! GeoTIFF, turned into polygons by `GDALPolygonize` (cell edges, 4-connected), and
//! the ranked polygons written as a GeoPackage or GeoJSON layer with typed fields.

use std::path::{Path, PathBuf};

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::vector::{Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
use gdal::{Dataset, DriverManager};

use crate::error::{Error, Result};
use crate::grid::{Grid, Window};
use crate::io::parse_crs;

/// A Byte single-band raster on the grid written window by window (0 = not selected,
/// 1 = selected); the input of [`polygonize`].
pub struct MaskWriter {
    ds: Dataset,
    path: PathBuf,
}

impl MaskWriter {
    /// Creates the tiled, compressed GeoTIFF `path` on `grid`.
    pub fn create(path: &Path, grid: &Grid) -> Result<MaskWriter> {
        let fail = |e: gdal::errors::GdalError| Error::output(path, e);
        let driver = DriverManager::get_driver_by_name("GTiff").map_err(fail)?;
        let options = RasterCreationOptions::from_iter([
            "TILED=YES".to_string(),
            "COMPRESS=DEFLATE".to_string(),
            "BIGTIFF=IF_SAFER".to_string(),
        ]);
        let mut ds = driver
            .create_with_band_type_with_options::<u8, _>(path, grid.cols, grid.rows, 1, &options)
            .map_err(fail)?;
        ds.set_geo_transform(&grid.geo_transform).map_err(fail)?;
        ds.set_projection(&grid.crs_wkt).map_err(fail)?;
        Ok(MaskWriter { ds, path: path.to_path_buf() })
    }

    /// Writes the flags of window `w` (row-major).
    pub fn write(&mut self, w: &Window, selected: &[bool]) -> Result<()> {
        let data: Vec<u8> = selected.iter().map(|&s| s as u8).collect();
        let mut buf = Buffer::new((w.cols, w.rows), data);
        let mut band = self.ds.rasterband(1).map_err(|e| Error::output(&self.path, e))?;
        band.write((w.col as isize, w.row as isize), (w.cols, w.rows), &mut buf)
            .map_err(|e| Error::output(&self.path, e))
    }

    /// Flushes and closes the file; returns its path.
    pub fn finish(self) -> Result<PathBuf> {
        let MaskWriter { ds, path } = self;
        ds.close().map_err(|e| Error::output(&path, e))?;
        Ok(path)
    }
}

/// Polygons of the connected (4-neighbour) groups of non-zero cells of the Byte raster
/// at `mask`, in its CRS, by `GDALPolygonize` (the band is its own mask, so zero cells
/// make no polygon). GDAL reads the raster line by line; only the polygons are kept.
pub fn polygonize(mask: &Path) -> Result<Vec<geo::Polygon<f64>>> {
    let fail = |e: gdal::errors::GdalError| Error::input(mask, e);
    let ds = Dataset::open(mask).map_err(fail)?;
    let band = ds.rasterband(1).map_err(fail)?;
    let mem = DriverManager::get_driver_by_name("Memory").map_err(fail)?;
    let mut out = mem.create_vector_only("").map_err(fail)?;
    let layer = out
        .create_layer(LayerOptions { name: "polygons", srs: None, ty: OGRwkbGeometryType::wkbPolygon, options: None })
        .map_err(fail)?;
    FieldDefn::new("DN", OGRFieldType::OFTInteger).and_then(|f| f.add_to_layer(&layer)).map_err(fail)?;
    let rc = unsafe {
        gdal_sys::GDALPolygonize(
            band.c_rasterband(),
            band.c_rasterband(),
            layer.c_layer(),
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
        )
    };
    if rc != gdal_sys::CPLErr::CE_None {
        return Err(Error::input(mask, format!("GDALPolygonize failed: {}", crate::io::last_gdal_error())));
    }
    let mut layer = out.layer(0).map_err(fail)?;
    let mut polygons = Vec::new();
    for feature in layer.features() {
        let Some(g) = feature.geometry() else { continue };
        match g.to_geo().map_err(fail)? {
            geo::Geometry::Polygon(p) => polygons.push(p),
            geo::Geometry::MultiPolygon(mp) => polygons.extend(mp.0),
            other => return Err(Error::input(mask, format!("GDALPolygonize gave a non-polygon: {other:?}"))),
        }
    }
    Ok(polygons)
}

/// A typed attribute value of an output feature.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Integer.
    Int(i64),
    /// Floating point.
    Real(f64),
    /// Text.
    Text(String),
    /// Null (e.g. no uncertainty map).
    Null,
}

/// The type of an output field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// 64-bit integer.
    Int,
    /// Double.
    Real,
    /// Text.
    Text,
}

/// Vector formats lode writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFormat {
    /// OGC GeoPackage, in the grid CRS.
    GeoPackage,
    /// RFC 7946 GeoJSON (GDAL reprojects to WGS84 longitude/latitude).
    GeoJson,
}

/// Writes polygons (in the grid CRS `crs_wkt`) with attributes to a new file `path`,
/// layer `layer_name`. `fields` gives the field names and types; `rows[i]` the values of
/// polygon `i` in field order.
pub fn write_polygons(
    path: &Path,
    format: VectorFormat,
    layer_name: &str,
    crs_wkt: &str,
    fields: &[(&str, FieldKind)],
    polygons: &[geo::Polygon<f64>],
    rows: &[Vec<FieldValue>],
) -> Result<()> {
    let fail = |e: gdal::errors::GdalError| Error::output(path, e);
    let (driver_name, options): (&str, &[&str]) = match format {
        VectorFormat::GeoPackage => ("GPKG", &[]),
        VectorFormat::GeoJson => ("GeoJSON", &["RFC7946=YES", "COORDINATE_PRECISION=7"]),
    };
    let driver = DriverManager::get_driver_by_name(driver_name).map_err(fail)?;
    let mut ds = driver.create_vector_only(path).map_err(fail)?;
    let srs = parse_crs(crs_wkt).map_err(fail)?;
    let layer = ds
        .create_layer(LayerOptions {
            name: layer_name,
            srs: Some(&srs),
            ty: OGRwkbGeometryType::wkbPolygon,
            options: Some(options),
        })
        .map_err(fail)?;
    for (name, kind) in fields {
        let t = match kind {
            FieldKind::Int => OGRFieldType::OFTInteger64,
            FieldKind::Real => OGRFieldType::OFTReal,
            FieldKind::Text => OGRFieldType::OFTString,
        };
        FieldDefn::new(name, t).and_then(|f| f.add_to_layer(&layer)).map_err(fail)?;
    }
    let defn = layer.defn();
    for (poly, row) in polygons.iter().zip(rows) {
        let mut f = Feature::new(defn).map_err(fail)?;
        f.set_geometry(poly.to_gdal().map_err(fail)?).map_err(fail)?;
        for (i, v) in row.iter().enumerate() {
            match v {
                FieldValue::Int(x) => f.set_field_integer64(i, *x),
                FieldValue::Real(x) => f.set_field_double(i, *x),
                FieldValue::Text(s) => f.set_field_string(i, s),
                FieldValue::Null => f.set_field_null(i),
            }
            .map_err(fail)?;
        }
        f.create(&layer).map_err(fail)?;
    }
    ds.close().map_err(fail)?;
    Ok(())
}
