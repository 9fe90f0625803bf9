//! The only place that speaks GDAL: opening rasters and vector layers, warping them
//! onto the grid, burning polygons, writing Cloud-Optimized GeoTIFFs.
//!
//! Everything outside `io` works on plain slices plus a [`Grid`] and [`Window`]s.
//!
//! [`Window`]: crate::grid::Window

pub mod cog;
pub mod polygons;
pub mod raster;
pub mod vector;

use std::sync::Once;

use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};

use crate::config::RawGrid;
use crate::error::{Error, Result};
use crate::grid::{Grid, Mask};

/// GDAL block cache lode uses unless `GDAL_CACHEMAX` is set, in MB.
pub const DEFAULT_CACHE_MB: &str = "256";

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
pub fn parse_crs(definition: &str) -> std::result::Result<SpatialRef, gdal::errors::GdalError> {
    let mut srs = SpatialRef::from_definition(definition)?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// A short name of a CRS: `EPSG:7845` when it has an authority, else its name.
pub fn crs_name(srs: &SpatialRef) -> String {
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

/// Builds the grid from `[grid]`: a template raster, or CRS + bounds + cell size.
pub fn build_grid(raw: &RawGrid) -> Result<Grid> {
    let explicit = raw.crs.is_some() || raw.bounds.is_some() || raw.cell_size.is_some();
    let mut grid = match (&raw.template, explicit) {
        (Some(_), true) => {
            return Err(Error::key(
                "grid.template",
                "give either a template raster or crs + bounds + cell_size, not both",
            ))
        }
        (Some(path), false) => raster::BandRef::open("grid.template", path, 1)?.grid(raw.block_size),
        (None, _) => {
            let (Some(crs), Some(bounds), Some(cell)) = (&raw.crs, raw.bounds, raw.cell_size) else {
                return Err(Error::key("grid", "needs `template`, or all three of `crs`, `bounds` and `cell_size`"));
            };
            let srs = parse_crs(crs).map_err(|e| Error::key("grid.crs", format!("`{crs}`: {e}")))?;
            if !(cell > 0.0 && cell.is_finite()) {
                return Err(Error::key("grid.cell_size", format!("{cell} must be > 0")));
            }
            let [xmin, ymin, xmax, ymax] = bounds;
            if !(xmax > xmin && ymax > ymin) {
                return Err(Error::key("grid.bounds", "must be [xmin, ymin, xmax, ymax] with max > min"));
            }
            let whole = |extent: f64, axis: &str| -> Result<usize> {
                let n = (extent / cell).round();
                if (n * cell - extent).abs() > 1e-6 * cell || n < 1.0 {
                    return Err(Error::key(
                        "grid.bounds",
                        format!(
                            "the {axis} extent {extent} is not a whole number of {cell} cells; \
                             lode does not clip or stretch the grid silently"
                        ),
                    ));
                }
                Ok(n as usize)
            };
            let cols = whole(xmax - xmin, "x")?;
            let rows = whole(ymax - ymin, "y")?;
            Grid {
                crs_wkt: srs.to_wkt().map_err(|e| Error::key("grid.crs", e.to_string()))?,
                crs_name: crs_name(&srs),
                geo_transform: [xmin, cell, 0.0, ymax, 0.0, -cell],
                cols,
                rows,
                block_size: raw.block_size,
                mask: Mask::All,
            }
        }
    };
    if let Some(path) = &raw.mask {
        grid.mask = Mask::open(path, raw.mask_layer.as_deref(), &grid)?;
    } else if raw.mask_layer.is_some() {
        return Err(Error::key("grid.mask_layer", "is set but `grid.mask` is not"));
    }
    Ok(grid)
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
    grid: &Grid,
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
    let gb = raster::GridBand::new(&band, grid, crate::config::Resampling::Nearest, true)?;
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
