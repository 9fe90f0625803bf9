//! Writing integer class maps on the grid as Cloud-Optimized GeoTIFFs with their class
//! names: a raster attribute table (`Value`, `Class`) and, for small non-negative codes,
//! GDAL category names. Both live in the `<file>.aux.xml` beside the COG (GeoTIFF holds
//! no attribute table of its own; GDAL, QGIS and ArcGIS read the sidecar).
//!
//! Streamed like [`crate::io::cog::MapWriter`]: windows go into a tiled scratch GeoTIFF
//! flushed every [`crate::io::cog::FLUSH_CELLS`] cells, then GDAL's COG driver copies it
//! (overviews by nearest neighbour: an average of class codes is no class).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::{Dataset, DriverManager};

use crate::error::{Error, Result};
use crate::grid::{Grid, Window};
use crate::io::Compression;

/// The nodata value of class maps.
pub const CLASS_NODATA: i32 = i32::MIN;

/// Largest code for which category names (a list indexed by code) are written too.
const MAX_CATEGORY_CODE: i64 = 1000;

/// An Int32 single-band class map being written window by window.
pub struct ClassWriter {
    ds: Dataset,
    scratch: PathBuf,
    unflushed: usize,
}

impl ClassWriter {
    /// Creates the scratch GeoTIFF `scratch` for `grid`, with a band `description` and
    /// dataset metadata `tags` (copied into the COG).
    pub fn create(scratch: &Path, grid: &Grid, description: &str, tags: &[(String, String)]) -> Result<ClassWriter> {
        let ds = crate::io::cog::create_scratch::<i32>(scratch, grid, description, tags, CLASS_NODATA as f64)?;
        Ok(ClassWriter { ds, scratch: scratch.to_path_buf(), unflushed: 0 })
    }

    /// Writes the codes of window `w` (row-major); `None` cells get nodata.
    pub fn write(&mut self, w: &Window, codes: &[Option<i32>]) -> Result<()> {
        let data: Vec<i32> = codes.iter().map(|c| c.unwrap_or(CLASS_NODATA)).collect();
        let mut buf = Buffer::new((w.cols, w.rows), data);
        let mut band = self.ds.rasterband(1).map_err(|e| Error::output(&self.scratch, e))?;
        band.write((w.col as isize, w.row as isize), (w.cols, w.rows), &mut buf)
            .map_err(|e| Error::output(&self.scratch, e))?;
        self.unflushed += w.len();
        if self.unflushed >= crate::io::cog::FLUSH_CELLS {
            self.ds.flush_cache().map_err(|e| Error::output(&self.scratch, e))?;
            self.unflushed = 0;
        }
        Ok(())
    }

    /// Copies the scratch file to `dest` as a COG and writes the class names `classes`
    /// (code, name) beside it (`dest.aux.xml`). Returns the sidecar's path.
    pub fn finish(self, dest: &Path, compression: Compression, classes: &[(i64, String)]) -> Result<PathBuf> {
        let ClassWriter { ds, scratch, .. } = self;
        ds.close().map_err(|e| Error::output(&scratch, e))?;
        translate(&scratch, dest, compression)?;
        std::fs::remove_file(&scratch).map_err(|e| Error::output(&scratch, e))?;
        write_class_names(dest, classes)?;
        let mut sidecar = dest.as_os_str().to_owned();
        sidecar.push(".aux.xml");
        let sidecar = PathBuf::from(sidecar);
        if !sidecar.exists() {
            return Err(Error::output(&sidecar, "GDAL wrote no attribute table beside the class map"));
        }
        Ok(sidecar)
    }
}

/// The COG copy of a class map: overviews by nearest neighbour.
fn translate(src: &Path, dest: &Path, compression: Compression) -> Result<()> {
    let src_ds = Dataset::open(src).map_err(|e| Error::output(src, e))?;
    let driver = DriverManager::get_driver_by_name("COG").map_err(|e| Error::output(dest, e))?;
    let codec = match compression {
        Compression::Deflate => "DEFLATE",
        Compression::Zstd => "ZSTD",
    };
    let options = RasterCreationOptions::from_iter([
        format!("COMPRESS={codec}"),
        "PREDICTOR=YES".to_string(),
        "BLOCKSIZE=512".to_string(),
        "OVERVIEWS=AUTO".to_string(),
        "OVERVIEW_RESAMPLING=NEAREST".to_string(),
        "BIGTIFF=IF_SAFER".to_string(),
        "NUM_THREADS=ALL_CPUS".to_string(),
    ]);
    let out = src_ds.create_copy(&driver, dest, &options).map_err(|e| Error::output(dest, e))?;
    out.close().map_err(|e| Error::output(dest, e))?;
    Ok(())
}

/// Gives band 1 of the raster at `path` the thematic attribute table `classes` and, when
/// every code is in `0..=MAX_CATEGORY_CODE`, the category names. GDAL keeps them in its
/// PAM sidecar (`path.aux.xml`), written when the dataset closes; the COG is not touched.
fn write_class_names(path: &Path, classes: &[(i64, String)]) -> Result<()> {
    use gdal_sys::{GDALRATFieldType, GDALRATFieldUsage, GDALRATTableType};
    let fail = |what: &str| Error::output(path, format!("could not write the class names ({what})"));
    let texts: Vec<CString> = classes
        .iter()
        .map(|(_, n)| CString::new(n.as_str()).map_err(|_| fail("a class name holds a NUL byte")))
        .collect::<Result<_>>()?;
    let codes: Vec<i32> = classes
        .iter()
        .map(|(c, _)| i32::try_from(*c).map_err(|_| fail("a class code outside the 32-bit range")))
        .collect::<Result<_>>()?;
    let ds = Dataset::open(path).map_err(|e| Error::output(path, e))?;
    let band = ds.rasterband(1).map_err(|e| Error::output(path, e))?;
    let (value, class) = (CString::new("Value").expect("no NUL"), CString::new("Class").expect("no NUL"));
    // SAFETY: the table is created, filled and destroyed here; GDALSetDefaultRAT copies it.
    // The band handle lives as long as `ds`, which outlives every call.
    unsafe {
        let h = band.c_rasterband();
        let rat = gdal_sys::GDALCreateRasterAttributeTable();
        let mut ok = gdal_sys::GDALRATSetTableType(rat, GDALRATTableType::GRTT_THEMATIC) == gdal_sys::CPLErr::CE_None;
        ok &= gdal_sys::GDALRATCreateColumn(
            rat,
            value.as_ptr(),
            GDALRATFieldType::GFT_Integer,
            GDALRATFieldUsage::GFU_MinMax,
        ) == gdal_sys::CPLErr::CE_None;
        ok &= gdal_sys::GDALRATCreateColumn(
            rat,
            class.as_ptr(),
            GDALRATFieldType::GFT_String,
            GDALRATFieldUsage::GFU_Name,
        ) == gdal_sys::CPLErr::CE_None;
        for (row, (code, text)) in codes.iter().zip(&texts).enumerate() {
            gdal_sys::GDALRATSetValueAsInt(rat, row as i32, 0, *code);
            gdal_sys::GDALRATSetValueAsString(rat, row as i32, 1, text.as_ptr());
        }
        ok &= gdal_sys::GDALSetDefaultRAT(h, rat) == gdal_sys::CPLErr::CE_None;
        gdal_sys::GDALDestroyRasterAttributeTable(rat);
        if !ok {
            return Err(fail("GDAL refused the attribute table"));
        }
        if codes.iter().all(|&c| (0..=MAX_CATEGORY_CODE).contains(&(c as i64))) {
            let top = codes.iter().copied().max().unwrap_or(0) as usize;
            let mut names: Vec<&CString> = Vec::new();
            let empty = CString::default();
            names.resize(top + 1, &empty);
            for (c, t) in codes.iter().zip(&texts) {
                names[*c as usize] = t;
            }
            let mut list: Vec<*mut std::ffi::c_char> = names.iter().map(|s| s.as_ptr() as *mut _).collect();
            list.push(std::ptr::null_mut());
            if gdal_sys::GDALSetRasterCategoryNames(h, list.as_mut_ptr()) != gdal_sys::CPLErr::CE_None {
                return Err(fail("GDAL refused the category names"));
            }
        }
    }
    ds.close().map_err(|e| Error::output(path, e))?;
    Ok(())
}
