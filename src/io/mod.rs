//! The only place that speaks GDAL: opening rasters and vector layers, warping them
//! onto the grid, burning polygons, writing Cloud-Optimized GeoTIFFs.
//!
//! Everything outside `io` works on plain slices plus a [`Grid`] and [`Window`]s.
//!
//! [`Grid`]: crate::grid::Grid
//! [`Window`]: crate::grid::Window

pub mod class_map;
pub mod cog;
pub mod polygons;
pub mod raster;
pub mod table;
pub mod vector;
pub mod vsi;

use std::sync::Once;

use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// GDAL block cache lode uses unless `GDAL_CACHEMAX` is set, in MB.
pub const DEFAULT_CACHE_MB: &str = "256";

/// The `last_change` stamp of every GeoPackage lode writes (GDAL's `OGR_CURRENT_DATE`).
pub const GPKG_DATE: &str = "2000-01-01T00:00:00.000Z";

/// Registers GDAL's drivers and routes its messages to `tracing`. Idempotent.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Through the gdal crate's own once-only registration (which `Dataset::open` also
        // takes): two threads in GDALAllRegister at once crash (seen in the test binaries).
        gdal::DriverManager::count();
        // GDAL's block cache defaults to 5 % of RAM; lode bounds it (GDAL_CACHEMAX in the
        // environment still wins) so that peak memory does not depend on the grid.
        if std::env::var_os("GDAL_CACHEMAX").is_none() {
            let _ = gdal::config::set_config_option("GDAL_CACHEMAX", DEFAULT_CACHE_MB);
        }
        // GeoPackages stamp the time they were written (gpkg_contents.last_change): a
        // fixed stamp keeps targets.gpkg, and the manifest's checksum of it, byte-identical
        // between identical runs (docs/outputs.md).
        if std::env::var_os("OGR_CURRENT_DATE").is_none() {
            let _ = gdal::config::set_config_option("OGR_CURRENT_DATE", GPKG_DATE);
        }
        gdal::config::set_error_handler(|class, _code, msg| {
            use gdal::errors::CplErrType;
            match class {
                CplErrType::Warning => tracing::warn!(target: "gdal", "{msg}"),
                CplErrType::Debug | CplErrType::None => tracing::trace!(target: "gdal", "{msg}"),
                _ => tracing::debug!(target: "gdal", "{msg}"),
            }
        });
    });
}

/// The GDAL version string, e.g. `3.6.2`.
pub fn gdal_version() -> String {
    gdal::version::version_info("RELEASE_NAME")
}

/// Parses a CRS definition (`EPSG:xxxx`, WKT, PROJ) with GIS axis order (x = easting).
pub(crate) fn parse_crs(definition: &str) -> std::result::Result<SpatialRef, gdal::errors::GdalError> {
    let mut srs = SpatialRef::from_definition(definition)?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// A short name of a CRS: `EPSG:7845` when it has an authority, else its name.
pub(crate) fn crs_name(srs: &SpatialRef) -> String {
    let mut s = srs.clone();
    if let (Some(auth), Ok(code)) = (s.auth_name(), s.auth_code()) {
        return format!("{auth}:{code}");
    }
    if s.auto_identify_epsg().is_ok() {
        if let (Some(auth), Ok(code)) = (s.auth_name(), s.auth_code()) {
            return format!("{auth}:{code}");
        }
    }
    s.name().unwrap_or_else(|| "unnamed CRS".into())
}

/// Resampling used when a raster is warped onto the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    /// Nearest for classes; for continuous values bilinear when the source cells are as
    /// large as the grid's or larger, average when they are smaller.
    #[default]
    Auto,
    /// Nearest neighbour.
    Nearest,
    /// Bilinear.
    Bilinear,
    /// Cubic convolution.
    Cubic,
    /// Mean of the source cells under the grid cell.
    Average,
    /// Most frequent source value under the grid cell.
    Mode,
}

/// Compression of the output GeoTIFFs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// DEFLATE with a floating-point predictor: read everywhere.
    #[default]
    Deflate,
    /// ZSTD: faster and smaller, needs GDAL 2.3+ readers.
    Zstd,
}

/// A CRS definition resolved by GDAL.
#[derive(Debug, Clone)]
pub struct Crs {
    /// As WKT.
    pub wkt: String,
    /// Short name (see `crs_name`).
    pub name: String,
    /// Metres per linear unit of a projected CRS; `None` for a geographic one.
    pub metres_per_unit: Option<f64>,
}

/// Resolves a CRS definition (`EPSG:xxxx`, WKT, PROJ); the error is GDAL's message.
pub fn resolve_crs(definition: &str) -> std::result::Result<Crs, String> {
    let srs = parse_crs(definition).map_err(|e| e.to_string())?;
    Ok(Crs {
        wkt: srs.to_wkt().map_err(|e| e.to_string())?,
        name: crs_name(&srs),
        metres_per_unit: srs.is_projected().then(|| srs.linear_units()),
    })
}

/// Converts a list of arguments into the `char**` that GDAL's utility functions take.
pub(crate) fn cpl_args(args: &[String]) -> Result<gdal::cpl::CslStringList> {
    let mut list = gdal::cpl::CslStringList::new();
    for a in args {
        list.add_string(a).map_err(|e| Error::key("internal", e.to_string()))?;
    }
    Ok(list)
}

/// The message of GDAL's last error, for utilities that only return NULL.
pub(crate) fn last_gdal_error() -> String {
    unsafe {
        let p = gdal_sys::CPLGetLastErrorMsg();
        if p.is_null() {
            return "unknown GDAL error".into();
        }
        let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        if s.is_empty() {
            "unknown GDAL error".into()
        } else {
            s
        }
    }
}

/// Whether the CRS is projected with metres as its linear unit.
pub fn units_are_metres(crs_wkt: &str) -> bool {
    parse_crs(crs_wkt).is_ok_and(|s| s.is_projected() && (s.linear_units() - 1.0).abs() < 1e-12)
}

/// Points in the CRS `crs_wkt` as `[longitude, latitude]` on WGS84 (EPSG:4326).
pub fn to_lonlat(crs_wkt: &str, points: &[[f64; 2]]) -> Result<Vec<[f64; 2]>> {
    let err = |e: gdal::errors::GdalError| Error::key("grid.crs", format!("cannot convert to longitude/latitude: {e}"));
    let src = parse_crs(crs_wkt).map_err(err)?;
    let dst = parse_crs("EPSG:4326").map_err(err)?;
    let t = gdal::spatial_ref::CoordTransform::new(&src, &dst).map_err(err)?;
    let mut xs: Vec<f64> = points.iter().map(|p| p[0]).collect();
    let mut ys: Vec<f64> = points.iter().map(|p| p[1]).collect();
    let mut zs = vec![0.0; points.len()];
    if !points.is_empty() {
        t.transform_coords(&mut xs, &mut ys, &mut zs).map_err(err)?;
    }
    Ok(xs.into_iter().zip(ys).map(|(x, y)| [x, y]).collect())
}

/// Whether `path` is one of GDAL's virtual file systems (`/vsizip/`, `/vsis3/`, ...).
pub fn is_virtual(path: &std::path::Path) -> bool {
    path.to_string_lossy().starts_with("/vsi")
}

/// A config path as GDAL should open it: virtual paths untouched (`//` in
/// `/vsicurl/https://...` kept), a plain `.zip` archive (of a Shapefile, say) read
/// through `/vsizip/`, anything else as given.
pub fn gdal_path(path: &std::path::Path) -> std::path::PathBuf {
    if !is_virtual(path) && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        return std::path::PathBuf::from(format!("/vsizip/{}", path.display()));
    }
    path.to_path_buf()
}

/// The local archive a `/vsizip/`, `/vsitar/` or `/vsigzip/` path reads (for checksums);
/// `None` for remote ones (`/vsicurl/`, `/vsis3/`, ...) and other paths.
pub fn local_archive(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let text = path.to_string_lossy();
    let rest = ["/vsizip/", "/vsitar/", "/vsigzip/"].iter().find_map(|p| text.strip_prefix(p))?;
    let rest = rest.trim_start_matches('{');
    let mut acc = std::path::PathBuf::from(if rest.starts_with('/') { "/" } else { "" });
    for part in rest.split('/').filter(|s| !s.is_empty()) {
        acc.push(part.trim_end_matches('}'));
        if acc.is_file() {
            return Some(acc);
        }
    }
    None
}

/// Whether `path` exists, asked of GDAL for its virtual file systems (`/vsizip/`,
/// `/vsis3/`, ...): a path GDAL can open, or a local file or folder.
pub fn exists(path: &std::path::Path) -> bool {
    let text = path.to_string_lossy();
    if text.starts_with("/vsi") {
        init();
        return gdal::Dataset::open(path).is_ok();
    }
    path.exists()
}

/// The fold id (as text) at each cell for `[validation] kind = "layer"`: of the polygon
/// of `path` (layer `layer`) whose `attribute` holds the cell centre (the later polygon
/// where polygons overlap), or the value of the raster `path` at the cell (nearest
/// neighbour onto the grid). `None` outside every polygon or on nodata.
pub fn fold_ids(
    path: &std::path::Path,
    layer: Option<&str>,
    attribute: Option<&str>,
    grid: &crate::grid::Grid,
    cells: &[crate::grid::Cell],
) -> Result<Vec<Option<String>>> {
    use geo::{BoundingRect, Contains};
    init();
    let ds = gdal::Dataset::open(path).map_err(|e| Error::input(path, e))?;
    if ds.layer_count() > 0 {
        let lref = vector::LayerRef::open("validation.path", path, layer, None)?;
        let Some(attr) = attribute else {
            return Err(Error::key("validation.attribute", "fold polygons need the attribute holding the fold id"));
        };
        lref.check_field(attr)?;
        let polygons: Vec<(geo::Geometry<f64>, String)> = lref
            .read(grid, Some(attr))?
            .into_iter()
            .filter(|f| f.value != vector::Attr::Null)
            .map(|f| (f.geometry, f.value.to_string()))
            .collect();
        let boxes: Vec<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>> = polygons
            .iter()
            .enumerate()
            .filter_map(|(i, (g, _))| {
                let r = g.bounding_rect()?;
                Some(rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        let index = rstar::RTree::bulk_load(boxes);
        return Ok(cells
            .iter()
            .map(|&c| {
                let (x, y) = grid.centre(c);
                let p = geo::Point::new(x, y);
                index
                    .locate_all_at_point(&[x, y])
                    .map(|g| g.data)
                    .filter(|&i| polygons[i].0.contains(&p))
                    .max()
                    .map(|i| polygons[i].1.clone())
            })
            .collect());
    }
    if attribute.is_some() || layer.is_some() {
        return Err(Error::key("validation.attribute", "is set but the fold layer is a raster"));
    }
    let band = raster::BandRef::open("validation.path", path, 1)?;
    let gb = raster::GridBand::new(&band, grid, crate::io::Resampling::Nearest, true)?;
    cells
        .iter()
        .map(|&c| {
            let b = gb.read(grid, &crate::grid::Window { col: c.col, row: c.row, cols: 1, rows: 1 })?;
            Ok(b.valid[0].then(|| {
                let v = b.values[0];
                if v.fract() == 0.0 {
                    format!("{}", v as i64)
                } else {
                    format!("{v}")
                }
            }))
        })
        .collect()
}
