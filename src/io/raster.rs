//! Raster inputs: checking a band when the config is validated, and reading it on the
//! grid window by window. A band on another grid is warped by GDAL through a lazily
//! evaluated warped VRT, so only the source cells under a window are ever read.
//! Nodata (declared nodata, alpha, cells outside the source, NaN) comes back as a mask.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gdal::spatial_ref::CoordTransform;
use gdal::Dataset;

use crate::error::{Error, Result};
use crate::grid::{Grid, Mask, Window};
use crate::io::{cpl_args, crs_name, last_gdal_error, parse_crs, Resampling};

/// A raster band named in the config, checked: it exists, opens, has a CRS and the band.
#[derive(Debug, Clone)]
pub struct BandRef {
    /// The file.
    pub path: PathBuf,
    /// Band number, from 1.
    pub band: usize,
    /// CRS as WKT.
    pub crs_wkt: String,
    /// CRS short name.
    pub crs_name: String,
    /// Geotransform.
    pub geo_transform: [f64; 6],
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
    /// GDAL data type name, e.g. `Int32`.
    pub data_type: String,
    /// Metres per linear unit of a projected CRS; `None` for a geographic one.
    pub metres_per_unit: Option<f64>,
}

impl BandRef {
    /// Opens and checks `path` band `band`; `key` names the config key in errors.
    pub fn open(key: &str, path: &Path, band: usize) -> Result<BandRef> {
        crate::io::init();
        if !crate::io::exists(path) {
            return Err(Error::MissingFile { key: key.into(), path: path.into() });
        }
        let ds =
            Dataset::open(path).map_err(|e| Error::input(path, format!("GDAL cannot open it as a raster: {e}")))?;
        if ds.raster_count() == 0 {
            return Err(Error::input(path, format!("has no raster band (config key `{key}`)")));
        }
        if band == 0 || band > ds.raster_count() {
            // The band number is the `band` key of the table whose `path` this is.
            let band_key = key.strip_suffix(".path").map_or(key.to_string(), |k| format!("{k}.band"));
            return Err(Error::input(
                path,
                format!("has {} band(s); config key `{band_key}` asks for band {band}", ds.raster_count()),
            ));
        }
        let wkt = ds.projection();
        if wkt.trim().is_empty() {
            return Err(Error::input(
                path,
                "has no coordinate reference system; assign one (for example \
                 `gdal_edit.py -a_srs EPSG:xxxx FILE`) so lode can place it on the grid",
            ));
        }
        let srs = parse_crs(&wkt).map_err(|e| Error::input(path, format!("unreadable CRS: {e}")))?;
        let gt = ds.geo_transform().map_err(|_| Error::input(path, "has no geotransform (georeferencing)"))?;
        if gt[2] != 0.0 || gt[4] != 0.0 {
            return Err(Error::input(path, "is rotated; lode needs a north-up raster (run gdalwarp first)"));
        }
        let rb = ds.rasterband(band).map_err(|e| Error::input(path, e))?;
        // SAFETY: the band handle is valid while `rb` lives.
        let raw_type = unsafe { gdal_sys::GDALGetRasterDataType(rb.c_rasterband()) };
        let data_type =
            unsafe { std::ffi::CStr::from_ptr(gdal_sys::GDALGetDataTypeName(raw_type)) }.to_string_lossy().into_owned();
        if unsafe { gdal_sys::GDALDataTypeIsComplex(raw_type) } != 0 {
            // CInt16, CInt32, CFloat32, CFloat64: reading them as real numbers drops the
            // imaginary part silently.
            return Err(Error::input(
                path,
                format!(
                    "band {band} holds complex values ({data_type}); lode reads real numbers: \
                     take the amplitude or one part first (e.g. `gdal_calc.py --calc \"abs(A)\"`)"
                ),
            ));
        }
        let (cols, rows) = ds.raster_size();
        Ok(BandRef {
            path: path.to_path_buf(),
            band,
            crs_wkt: wkt,
            crs_name: crs_name(&srs),
            geo_transform: gt,
            cols,
            rows,
            data_type,
            metres_per_unit: srs.is_projected().then(|| srs.linear_units()),
        })
    }

    /// The band's own grid (whole grid as study area), windows of `block_size` cells.
    pub fn grid(&self, block_size: usize) -> Grid {
        Grid {
            crs_wkt: self.crs_wkt.clone(),
            crs_name: self.crs_name.clone(),
            metres_per_unit: self.metres_per_unit,
            geo_transform: self.geo_transform,
            cols: self.cols,
            rows: self.rows,
            block_size,
            mask: Mask::All,
        }
    }

    /// True when the band already lies on `grid` cell for cell.
    pub fn on_grid(&self, grid: &Grid) -> bool {
        let same_crs = match (parse_crs(&self.crs_wkt), parse_crs(&grid.crs_wkt)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        let tol = 1e-6 * grid.cell_width().abs();
        same_crs
            && self.cols == grid.cols
            && self.rows == grid.rows
            && self.geo_transform.iter().zip(grid.geo_transform.iter()).all(|(a, b)| (a - b).abs() <= tol)
    }

    /// Approximate cell width and height of the source in grid units (its extent mapped
    /// into the grid CRS, divided by its columns and rows).
    fn cell_size_in(&self, grid: &Grid) -> Option<(f64, f64)> {
        let src = parse_crs(&self.crs_wkt).ok()?;
        let dst = parse_crs(&grid.crs_wkt).ok()?;
        let [x0, dx, _, y0, _, dy] = self.geo_transform;
        let (x1, y1) = (x0 + dx * self.cols as f64, y0 + dy * self.rows as f64);
        if src == dst {
            return Some((dx.abs(), dy.abs()));
        }
        let t = CoordTransform::new(&src, &dst).ok()?;
        let b = t.transform_bounds(&[x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)], 21).ok()?;
        Some(((b[2] - b[0]) / self.cols as f64, (b[3] - b[1]) / self.rows as f64))
    }
}

/// A band as it lies on the grid: the file itself when it is already on the grid, or a
/// warped VRT (kept in GDAL's in-memory file system) that GDAL evaluates per window.
#[derive(Debug, Clone)]
pub struct GridBand {
    /// The user's file (for messages).
    pub source: PathBuf,
    /// What is opened for reading: the file, or the warped VRT.
    read_path: String,
    /// The same warp in small blocks, for reads of single cells (`None`: not warped).
    point_path: Option<String>,
    /// Band to read in `read_path`.
    band: usize,
    /// Resampling actually used (`None` when no warp was needed).
    pub resampling: Option<&'static str>,
    /// A source value that means "no data" although the file does not declare it
    /// (e.g. Landsat's fill DN 0), set by [`GridBand::with_fill`].
    fill: Option<f64>,
    /// The warped VRT's alpha band (0 outside the source's footprint). Read explicitly:
    /// GDAL takes an alpha band as the mask band only when it is Byte or UInt16, and a
    /// Float64 warp's alpha is Float64, so cells off the source would read as valid zeros.
    alpha: Option<usize>,
}

impl crate::grid::StudyArea for GridBand {
    fn flags(&self, grid: &Grid, w: &Window) -> Result<Vec<bool>> {
        let block = self.read(grid, w)?;
        Ok(block.values.iter().zip(&block.valid).map(|(&v, &ok)| ok && v != 0.0).collect())
    }

    fn source(&self) -> &Path {
        &self.source
    }
}

static VRT_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl GridBand {
    /// Puts `band` on `grid`, warping when it is not already on it. `categorical` picks
    /// nearest neighbour for `Resampling::Auto`.
    pub fn new(band: &BandRef, grid: &Grid, resampling: Resampling, categorical: bool) -> Result<GridBand> {
        GridBand::build(band, grid, resampling, categorical, None)
    }

    /// As [`GridBand::new`] for a band whose files use `fill` for "no data" without
    /// declaring it: fill cells are masked before any warping, so they never enter a
    /// resampled value, and resampling is done in Float64 (never rounded to the source's
    /// integer type).
    pub fn with_fill(band: &BandRef, grid: &Grid, resampling: Resampling, fill: f64) -> Result<GridBand> {
        GridBand::build(band, grid, resampling, false, Some(fill))
    }

    fn build(
        band: &BandRef,
        grid: &Grid,
        resampling: Resampling,
        categorical: bool,
        fill: Option<f64>,
    ) -> Result<GridBand> {
        if band.on_grid(grid) {
            return Ok(GridBand {
                source: band.path.clone(),
                read_path: band.path.to_string_lossy().into_owned(),
                point_path: None,
                band: band.band,
                resampling: None,
                fill,
                alpha: None,
            });
        }
        let alg = match resampling {
            Resampling::Auto if categorical => "near",
            Resampling::Auto => match band.cell_size_in(grid) {
                Some((sx, sy)) if sx.max(sy) < 0.999 * grid.cell_width() => "average",
                _ => "bilinear",
            },
            Resampling::Nearest => "near",
            Resampling::Bilinear => "bilinear",
            Resampling::Cubic => "cubic",
            Resampling::Average => "average",
            Resampling::Mode => "mode",
        };
        GridBand::warped(band, grid, alg, fill)
    }

    /// Puts `band` on `grid` through a warped VRT with GDAL resampling `alg`, whether or
    /// not it is already on the grid.
    fn warped(band: &BandRef, grid: &Grid, alg: &'static str, fill: Option<f64>) -> Result<GridBand> {
        let id = VRT_COUNTER.fetch_add(1, Ordering::Relaxed);
        let stem = format!("/vsimem/lode-{}-{id}", std::process::id());
        // Select the one band first so the warper never touches the others.
        let picked = format!("{stem}-band.vrt");
        let band_arg = band.band.to_string();
        let fill_arg = fill.map(|f| f.to_string());
        let mut translate = vec!["-of", "VRT", "-b", band_arg.as_str()];
        if let Some(f) = &fill_arg {
            // Float64 so that resampled values of integer DNs are not rounded back to integers.
            translate.extend(["-a_nodata", f.as_str(), "-ot", "Float64"]);
        }
        gdal_utility(&band.path, &picked, &translate, Utility::Translate)?;
        let warped = format!("{stem}-warped.vrt");
        // One warp block per window of the grid: a window read warps its own cells once.
        warp_vrt(band, grid, alg, &picked, &warped, grid.block_size.max(1))?;
        let point = format!("{stem}{POINT_SUFFIX}");
        warp_vrt(band, grid, alg, &picked, &point, POINT_WARP_BLOCK)?;
        // GDAL 3.6's warper can still return the fill value, with a valid alpha, for a
        // cell whose source pixels are all fill: mask it after warping too.
        Ok(GridBand {
            source: band.path.clone(),
            read_path: warped,
            point_path: Some(point),
            band: 1,
            resampling: Some(alg),
            fill,
            alpha: Some(2),
        })
    }

    /// Values and validity of the cells of `w`, row-major.
    pub fn read(&self, _grid: &Grid, w: &Window) -> Result<BandBlock> {
        // A single cell (training rows, deposit cells) is read from the warped VRT with
        // small blocks: the same warp of the same source pixels, a few cells computed
        // instead of a whole window-sized block (identical values: test below).
        let path = match &self.point_path {
            Some(p) if w.len() == 1 => p,
            _ => &self.read_path,
        };
        with_dataset(path, |ds| {
            let band = ds.rasterband(self.band)?;
            let win = (w.col as isize, w.row as isize);
            let size = (w.cols, w.rows);
            // The values in a spare of this worker's (given back after the window's
            // prediction), the alpha or mask band in a buffer the worker keeps.
            let mut values = crate::scratch::filled(w.len(), 0.0f64);
            band.read_into_slice(win, size, size, &mut values, None)?;
            let mut valid = crate::scratch::take(w.len());
            MASK.with(|m| -> std::result::Result<(), gdal::errors::GdalError> {
                let mut m = m.borrow_mut();
                let (alpha, mask) = &mut *m;
                let ok = |v: &f64, m: bool| m && v.is_finite() && Some(*v) != self.fill;
                match self.alpha {
                    Some(a) => {
                        alpha.resize(w.len(), 0.0);
                        ds.rasterband(a)?.read_into_slice(win, size, size, &mut alpha[..w.len()], None)?;
                        valid.extend(values.iter().zip(&alpha[..w.len()]).map(|(v, &m)| ok(v, m > 0.0)));
                    }
                    None => {
                        mask.resize(w.len(), 0);
                        band.open_mask_band()?.read_into_slice(win, size, size, &mut mask[..w.len()], None)?;
                        valid.extend(values.iter().zip(&mask[..w.len()]).map(|(v, &m)| ok(v, m != 0)));
                    }
                }
                Ok(())
            })?;
            Ok(BandBlock { values, valid })
        })
        .map_err(|e| Error::input(&self.source, format!("reading window {w:?}: {e}")))
    }
}

/// Warp blocks of the VRT that single cells are read from.
const POINT_WARP_BLOCK: usize = 8;
/// How the path of a VRT that single cells are read from ends.
const POINT_SUFFIX: &str = "-point.vrt";

/// Writes at `dst` a warped VRT of `picked` (the band alone) on `grid` with GDAL resampling
/// `alg`, warped in blocks of `block` x `block` cells.
fn warp_vrt(band: &BandRef, grid: &Grid, alg: &str, picked: &str, dst: &str, block: usize) -> Result<()> {
    let [xmin, ymin, xmax, ymax] = grid.bounds();
    let args = [
        "-of".to_string(),
        "VRT".into(),
        "-t_srs".into(),
        grid.crs_wkt.clone(),
        "-te".into(),
        xmin.to_string(),
        ymin.to_string(),
        xmax.to_string(),
        ymax.to_string(),
        "-ts".into(),
        grid.cols.to_string(),
        grid.rows.to_string(),
        "-r".into(),
        alg.into(),
        // Exact transformation and full-resolution sources: nothing is silently coarsened.
        "-et".into(),
        "0".into(),
        "-ovr".into(),
        "NONE".into(),
        "-dstalpha".into(),
    ];
    // When downsampling, GDAL widens the bilinear and cubic kernels by a scale it works out
    // per processing chunk. lode's `bilinear` and `cubic` mean interpolation at the cell
    // centre (a linear field comes back exact); `average` is the choice for aggregation.
    let mut args = args.to_vec();
    if matches!(alg, "bilinear" | "cubic") {
        args.extend(["-wo".into(), "XSCALE=1".into(), "-wo".into(), "YSCALE=1".into()]);
    }
    // Interpolated and averaged values are real numbers: never round them back to an
    // integer source type (a mean of 100 and 200 m distances is 150, not 100 or 200).
    if matches!(alg, "bilinear" | "cubic" | "average") {
        args.extend(["-ot".into(), "Float64".into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let failed = |e: String| Error::input(&band.path, format!("cannot be warped onto the grid: {e}"));
    gdal_utility(Path::new(picked), dst, &args, Utility::Warp).map_err(|e| failed(e.to_string()))?;
    set_warp_block(dst, block).map_err(failed)
}

/// Sets the warp blocks of the warped VRT at `dst` (in `/vsimem/`) to `block` x `block`
/// cells, and checks that GDAL reads them back. GDAL 3.6's `gdalwarp -of VRT` ignores the
/// `BLOCKXSIZE`/`BLOCKYSIZE` creation options and always writes 512 x 128, so a read of
/// one cell warped 65,536 (benches/README.md, "Single-cell reads").
fn set_warp_block(dst: &str, block: usize) -> std::result::Result<(), String> {
    let xml = gdal::vsi::get_vsi_mem_file_bytes_owned(dst).map_err(|e| e.to_string())?;
    let mut xml = String::from_utf8(xml).map_err(|e| e.to_string())?;
    for tag in ["BlockXSize", "BlockYSize"] {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let start = xml.find(&open).ok_or_else(|| format!("the warped VRT has no <{tag}>"))? + open.len();
        let end = start + xml[start..].find(&close).ok_or_else(|| format!("the warped VRT's <{tag}> is not closed"))?;
        xml.replace_range(start..end, &block.to_string());
    }
    gdal::vsi::create_mem_file(dst, xml.into_bytes()).map_err(|e| e.to_string())?;
    let ds = Dataset::open(dst).map_err(|e| e.to_string())?;
    for b in 1..=ds.raster_count() {
        let got = ds.rasterband(b).map_err(|e| e.to_string())?.block_size();
        if got != (block, block) {
            return Err(format!("GDAL warps band {b} in blocks of {got:?}, not {block} x {block}"));
        }
    }
    Ok(())
}

/// Cell values of one window of a band, with their validity.
#[derive(Debug, Clone)]
pub struct BandBlock {
    /// Values, row-major; meaningless where `valid` is false.
    pub values: Vec<f64>,
    /// False where the band has no data.
    pub valid: Vec<bool>,
}

thread_local! {
    /// This thread's buffers for a window's alpha band (or mask band), reused window after window.
    static MASK: RefCell<(Vec<f64>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// Datasets this thread has open, by path: a GDAL dataset may move between threads
    /// but not be shared, so each worker keeps its own handles.
    static OPEN: RefCell<HashMap<String, Dataset>> = RefCell::new(HashMap::new());
}

/// Runs `f` on this thread's handle of the dataset at `path`, opening it on first use.
fn with_dataset<T>(
    path: &str,
    f: impl FnOnce(&Dataset) -> std::result::Result<T, gdal::errors::GdalError>,
) -> std::result::Result<T, gdal::errors::GdalError> {
    OPEN.with(|open| {
        let mut open = open.borrow_mut();
        if !open.contains_key(path) {
            if open.len() >= 64 {
                open.clear();
            }
            open.insert(path.to_string(), Dataset::open(path)?);
        }
        f(&open[path])
    })
}

/// Closes every thread's handles of the VRTs single cells are read from, and with them the
/// blocks of 8 x 8 cells those reads left in GDAL's block cache: thousands of them after a
/// training set, and while they stayed there every later block GDAL cached cost more
/// (`GDALRasterBlock::Internalize` 18-20 % of the samples of a 50 M-cell run, and
/// prediction 1.2-1.4x slower: benches/README.md, "Single-cell reads").
pub fn close_single_cell_reads() {
    let close = || OPEN.with(|open| open.borrow_mut().retain(|path, _| !path.ends_with(POINT_SUFFIX)));
    rayon::broadcast(|_| close());
    close();
}

/// Paths this thread has open that end with `suffix` (for tests).
#[cfg(test)]
fn open_here(suffix: &str) -> usize {
    OPEN.with(|open| open.borrow().keys().filter(|p| p.ends_with(suffix)).count())
}

/// Closes this thread's cached handle of `path` (before the file is replaced or removed).
pub fn forget(path: &str) {
    OPEN.with(|open| {
        open.borrow_mut().remove(path);
    });
}

/// The GDAL utilities lode calls as a library.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Utility {
    /// `gdal_translate`
    Translate,
    /// `gdalwarp`
    Warp,
}

/// Runs a GDAL utility on `src`, writing `dst`.
pub(crate) fn gdal_utility(src: &Path, dst: &str, args: &[&str], which: Utility) -> Result<()> {
    let src_ds = Dataset::open(src).map_err(|e| Error::input(src, e))?;
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let list = cpl_args(&args)?;
    let c_dst = std::ffi::CString::new(dst).map_err(|e| Error::output(dst, e))?;
    unsafe {
        let argv = list.as_ptr();
        let mut usage_error: std::ffi::c_int = 0;
        let out = match which {
            Utility::Translate => {
                let opts = gdal_sys::GDALTranslateOptionsNew(argv, std::ptr::null_mut());
                let out = gdal_sys::GDALTranslate(c_dst.as_ptr(), src_ds.c_dataset(), opts, &mut usage_error);
                gdal_sys::GDALTranslateOptionsFree(opts);
                out
            }
            Utility::Warp => {
                let opts = gdal_sys::GDALWarpAppOptionsNew(argv, std::ptr::null_mut());
                let mut src_h = src_ds.c_dataset();
                let out =
                    gdal_sys::GDALWarp(c_dst.as_ptr(), std::ptr::null_mut(), 1, &mut src_h, opts, &mut usage_error);
                gdal_sys::GDALWarpAppOptionsFree(opts);
                out
            }
        };
        if out.is_null() {
            return Err(Error::input(src, last_gdal_error()));
        }
        gdal_sys::GDALClose(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_on_the_grid_is_read_directly_and_equals_the_warped_read() {
        // Dist2Breccia (Int32) on its own grid, windows of 300 cells so that the last row
        // and column of windows are clipped.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cloncurry/Dist2Breccia.tif");
        let band = BandRef::open("test", &path, 1).unwrap();
        let grid = band.grid(300);
        let direct = GridBand::new(&band, &grid, Resampling::Auto, false).unwrap();
        assert!(direct.resampling.is_none() && direct.read_path == path.to_string_lossy(), "not read directly");
        for alg in ["near", "bilinear"] {
            let warped = GridBand::warped(&band, &grid, alg, None).unwrap();
            let mut cells = 0;
            for w in grid.windows() {
                let (a, b) = (direct.read(&grid, &w).unwrap(), warped.read(&grid, &w).unwrap());
                assert_eq!(a.valid, b.valid, "{alg}: validity differs in {w:?}");
                for i in 0..w.len() {
                    if a.valid[i] {
                        assert_eq!(a.values[i], b.values[i], "{alg}: cell {i} of {w:?}");
                    }
                }
                cells += w.len();
            }
            assert_eq!(cells, 1259 * 2487);
        }
    }

    /// Dist2Breccia (100 m cells) and a grid of 37 m cells shifted by a fraction of one, in
    /// windows of 256: every read is warped.
    fn breccia_on_37m_cells() -> (BandRef, Grid) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cloncurry/Dist2Breccia.tif");
        let band = BandRef::open("test", &path, 1).unwrap();
        let own = band.grid(256);
        let grid =
            Grid { geo_transform: [own.geo_transform[0] + 13.3, 37.0, 0.0, own.geo_transform[3], 0.0, -37.0], ..own };
        (band, grid)
    }

    #[test]
    fn warped_vrts_warp_in_the_blocks_asked_for() {
        // GDAL 3.6 writes 512 x 128 whatever `gdalwarp -co BLOCKXSIZE` says: a single-cell
        // read then warps 65,536 cells, and a 256 x 256 window read spans two block rows.
        let (band, grid) = breccia_on_37m_cells();
        for alg in ["near", "bilinear"] {
            let warped = GridBand::warped(&band, &grid, alg, None).unwrap();
            for (path, block) in
                [(&warped.read_path, grid.block_size), (warped.point_path.as_ref().unwrap(), POINT_WARP_BLOCK)]
            {
                let ds = Dataset::open(path).unwrap();
                assert_eq!(ds.raster_count(), 2, "{alg}: value and alpha bands");
                for b in 1..=2 {
                    assert_eq!(ds.rasterband(b).unwrap().block_size(), (block, block), "{alg}: band {b} of {path}");
                }
            }
        }
    }

    #[test]
    fn single_cell_handles_are_closed_on_every_thread() {
        let (band, grid) = breccia_on_37m_cells();
        let warped = GridBand::warped(&band, &grid, "near", None).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let cell = |i: usize| Window { col: 100 + i, row: 200 + i, cols: 1, rows: 1 };
        let window = Window { col: 0, row: 0, cols: 256, rows: 256 };
        pool.install(|| {
            // Both workers read single cells and a window.
            let open: Vec<usize> = rayon::broadcast(|b| {
                warped.read(&grid, &cell(b.index())).unwrap();
                warped.read(&grid, &window).unwrap();
                open_here(POINT_SUFFIX)
            });
            assert_eq!(open, vec![1, 1], "each worker holds its single-cell handle");
            close_single_cell_reads();
            let open: Vec<(usize, usize)> = rayon::broadcast(|_| (open_here(POINT_SUFFIX), open_here("-warped.vrt")));
            assert_eq!(open, vec![(0, 1), (0, 1)], "single-cell handles closed, window handles kept");
            // A later single-cell read opens the VRT again and reads the same value.
            let again = warped.read(&grid, &cell(0)).unwrap();
            let first = warped.read(&grid, &window).unwrap();
            let i = 200 * 256 + 100;
            assert_eq!((again.values[0], again.valid[0]), (first.values[i], first.valid[i]));
        });
    }

    #[test]
    fn a_single_cell_read_equals_the_same_cell_of_the_window_warp() {
        // Dist2Breccia (Int32, 100 m, EPSG:7845) onto a grid of 37 m cells shifted by a
        // fraction of a cell, and onto a reprojected grid (GDA94 / MGA zone 54): for every
        // resampling, single cells read through the small-block VRT equal the same cells
        // of the window-block VRT that windows are read from, values and validity.
        use rand::{Rng, SeedableRng};
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cloncurry/Dist2Breccia.tif");
        let band = BandRef::open("test", &path, 1).unwrap();
        let own = band.grid(256);
        let shifted = Grid {
            geo_transform: [own.geo_transform[0] + 13.3, 37.0, 0.0, own.geo_transform[3] - 7.9, 0.0, -37.0],
            cols: 3000,
            rows: 6000,
            ..own.clone()
        };
        let mga = parse_crs("EPSG:28354").unwrap();
        let t = CoordTransform::new(&parse_crs(&own.crs_wkt).unwrap(), &mga).unwrap();
        let [x0, y0, x1, y1] = own.bounds();
        let b = t.transform_bounds(&[x0, y0, x1, y1], 21).unwrap();
        let reprojected = Grid {
            crs_wkt: mga.to_wkt().unwrap(),
            crs_name: "EPSG:28354".into(),
            geo_transform: [b[0] - 500.0, 61.0, 0.0, b[3] + 500.0, 0.0, -61.0],
            cols: ((b[2] - b[0] + 1000.0) / 61.0) as usize,
            rows: ((b[3] - b[1] + 1000.0) / 61.0) as usize,
            ..own.clone()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for grid in [&shifted, &reprojected] {
            for (alg, fill) in [
                ("near", None),
                ("bilinear", None),
                ("cubic", None),
                ("average", None),
                ("mode", None),
                ("bilinear", Some(0.0)),
            ] {
                let point = GridBand::warped(&band, grid, alg, fill).unwrap();
                let whole = GridBand { point_path: None, ..point.clone() };
                let (mut valid, mut n) = (0, 0);
                while n < 150 {
                    let w =
                        Window { col: rng.gen_range(0..grid.cols), row: rng.gen_range(0..grid.rows), cols: 1, rows: 1 };
                    let (a, b) = (point.read(grid, &w).unwrap(), whole.read(grid, &w).unwrap());
                    assert_eq!(a.valid, b.valid, "{alg} {fill:?}: validity differs at {w:?}");
                    if a.valid[0] {
                        assert_eq!(a.values[0].to_bits(), b.values[0].to_bits(), "{alg} {fill:?}: value at {w:?}");
                        valid += 1;
                    }
                    n += 1;
                }
                assert!(valid > 40, "{alg}: only {valid} of {n} cells have data: the grids miss the raster");
            }
        }
    }
}
