//! Writing float32 maps on the grid as Cloud-Optimized GeoTIFFs.
//!
//! Windows are streamed into a tiled scratch GeoTIFF; [`MapWriter::finish`] then has
//! GDAL's COG driver copy it into the final layout (tiles, internal overviews,
//! compression, metadata). Neither step holds the whole grid in memory: the writer
//! flushes its finished tiles out of GDAL's block cache every [`FLUSH_CELLS`] cells, so
//! the cache does not fill with the map up to its cap.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::{Dataset, DriverManager, Metadata};

use crate::error::{Error, Result};
use crate::grid::{Cell, Grid, Window};
use crate::io::Compression;

/// The nodata value of lode's float maps (cells outside the study area or without evidence).
pub const NODATA: f32 = -9999.0;

/// Cells written between two flushes of the scratch file's tiles out of GDAL's block
/// cache (4 MB of float32): GDAL then never holds more than a few MB of the map.
pub const FLUSH_CELLS: usize = 1 << 20;

/// A float32 single-band map being written window by window.
pub struct MapWriter {
    ds: Dataset,
    scratch: PathBuf,
    /// Cells written since the last flush.
    unflushed: usize,
    /// The buffer a window's values are written from, reused window after window.
    buf: Vec<f32>,
}

impl MapWriter {
    /// Creates the scratch GeoTIFF `scratch` for `grid`, with a band `description` and
    /// dataset metadata `tags` (copied into the COG).
    pub fn create(scratch: &Path, grid: &Grid, description: &str, tags: &[(String, String)]) -> Result<MapWriter> {
        let ds = create_scratch::<f32>(scratch, grid, description, tags, NODATA as f64)?;
        Ok(MapWriter { ds, scratch: scratch.to_path_buf(), unflushed: 0, buf: Vec::new() })
    }

    /// Writes the values of window `w` (row-major); cells where `valid` is false get nodata.
    pub fn write(&mut self, w: &Window, values: &[f32], valid: &[bool]) -> Result<()> {
        let mut data = std::mem::take(&mut self.buf);
        data.clear();
        data.extend(values.iter().zip(valid).map(|(&v, &ok)| if ok { v } else { NODATA }));
        let mut buf = Buffer::new((w.cols, w.rows), data);
        let mut band = self.ds.rasterband(1).map_err(|e| Error::output(&self.scratch, e))?;
        let written = band.write((w.col as isize, w.row as isize), (w.cols, w.rows), &mut buf);
        self.buf = buf.into_shape_and_vec().1;
        written.map_err(|e| Error::output(&self.scratch, e))?;
        self.unflushed += w.len();
        if self.unflushed >= FLUSH_CELLS {
            // Writes the dirty tiles and drops them from the block cache.
            self.ds.flush_cache().map_err(|e| Error::output(&self.scratch, e))?;
            self.unflushed = 0;
        }
        Ok(())
    }

    /// Closes the file and keeps it as it is (a tiled GeoTIFF, not a COG): a tile's map.
    pub fn close(self) -> Result<PathBuf> {
        let MapWriter { ds, scratch, .. } = self;
        ds.close().map_err(|e| Error::output(&scratch, e))?;
        Ok(scratch)
    }

    /// Closes the scratch file and copies it to `dest` as a Cloud-Optimized GeoTIFF.
    pub fn finish(self, dest: &Path, compression: Compression) -> Result<()> {
        let scratch = self.finish_keeping_scratch(dest, compression)?;
        std::fs::remove_file(&scratch).map_err(|e| Error::output(&scratch, e))
    }

    /// Like [`MapWriter::finish`], but keeps the scratch file and returns its path: the
    /// same values, cheaper to read back than the COG (ZSTD level 1 in blocks of the
    /// grid's windows against DEFLATE with a predictor in 512 x 512 blocks). The caller
    /// removes it.
    pub fn finish_keeping_scratch(self, dest: &Path, compression: Compression) -> Result<PathBuf> {
        let MapWriter { ds, scratch, .. } = self;
        let started = std::time::Instant::now();
        ds.close().map_err(|e| Error::output(&scratch, e))?;
        translate_to_cog(&scratch, dest, compression)?;
        tracing::debug!("wrote {} in {:.2} s", dest.display(), started.elapsed().as_secs_f64());
        Ok(scratch)
    }
}

/// GeoTIFF tile edges must be multiples of 16.
/// The tiled single-band scratch GeoTIFF of `grid` that a map or class-map writer streams
/// windows into (ZSTD level 1, blocks of the grid's block size rounded up to 16), with
/// the band's `description` and `nodata` and the dataset metadata `tags`.
pub(crate) fn create_scratch<T: gdal::raster::GdalType>(
    scratch: &Path,
    grid: &Grid,
    description: &str,
    tags: &[(String, String)],
    nodata: f64,
) -> Result<Dataset> {
    let fail = |e: gdal::errors::GdalError| Error::output(scratch, e);
    let driver = DriverManager::get_driver_by_name("GTiff").map_err(fail)?;
    let block = block_multiple_of_16(grid.block_size);
    let options = RasterCreationOptions::from_iter([
        "TILED=YES".to_string(),
        format!("BLOCKXSIZE={block}"),
        format!("BLOCKYSIZE={block}"),
        "COMPRESS=ZSTD".to_string(),
        "ZSTD_LEVEL=1".to_string(),
        "BIGTIFF=IF_SAFER".to_string(),
    ]);
    let mut ds =
        driver.create_with_band_type_with_options::<T, _>(scratch, grid.cols, grid.rows, 1, &options).map_err(fail)?;
    ds.set_geo_transform(&grid.geo_transform).map_err(fail)?;
    ds.set_projection(&grid.crs_wkt).map_err(fail)?;
    for (k, v) in tags {
        ds.set_metadata_item(k, v, "").map_err(fail)?;
    }
    {
        let mut band = ds.rasterband(1).map_err(fail)?;
        band.set_no_data_value(Some(nodata)).map_err(fail)?;
        band.set_description(description).map_err(fail)?;
    }
    Ok(ds)
}

fn block_multiple_of_16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// Copies any raster to `dest` as a COG with internal overviews.
pub fn translate_to_cog(src: &Path, dest: &Path, compression: Compression) -> Result<()> {
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
        "OVERVIEW_RESAMPLING=AVERAGE".to_string(),
        "BIGTIFF=IF_SAFER".to_string(),
        "NUM_THREADS=ALL_CPUS".to_string(),
    ]);
    let out = src_ds.create_copy(&driver, dest, &options).map_err(|e| Error::output(dest, e))?;
    out.close().map_err(|e| Error::output(dest, e))?;
    Ok(())
}

/// Reads window `w` of band 1 of a map written by lode: values and validity.
pub fn read_window(path: &Path, w: &Window) -> Result<(Vec<f32>, Vec<bool>)> {
    let ds = Dataset::open(path).map_err(|e| Error::input(path, e))?;
    read_window_from(&ds, path, w)
}

/// A float32 map on the grid, band 1 (a map lode wrote, or any raster given to `lode
/// evaluate`): the handle that evaluation and targets read the map through. It is `Send +
/// Sync`: each rayon worker reads its windows through its own open dataset, kept while the
/// `MapRaster` lives, so GDAL's cache of the 512 x 512 blocks that worker decoded serves
/// its next windows (a 256 x 256 window is a quarter of a block: a dataset opened per
/// window decoded every block four times). Handles close when it is dropped, so a map
/// written again later is read afresh.
#[derive(Debug)]
pub struct MapRaster {
    path: PathBuf,
    /// Open datasets by slot (0 outside a rayon pool, worker index + 1 inside one); a
    /// reader takes its slot's handle and puts it back, so no handle is shared.
    handles: Mutex<Vec<Option<Dataset>>>,
}

impl MapRaster {
    /// The map at `path`, which must have `grid`'s shape.
    pub fn open(path: &Path, grid: &Grid) -> Result<MapRaster> {
        MapRaster::open_shaped(path, (grid.cols, grid.rows))
    }

    /// The map at `path`, which must be `(cols, rows)` cells (a tile of a tiled run).
    pub fn open_shaped(path: &Path, (cols, rows): (usize, usize)) -> Result<MapRaster> {
        let ds = Dataset::open(path).map_err(|e| Error::input(path, e))?;
        if ds.raster_size() != (cols, rows) {
            return Err(Error::input(path, format!("is {:?} cells, the grid is {cols}x{rows}", ds.raster_size())));
        }
        let map = MapRaster { path: path.to_path_buf(), handles: Mutex::new(Vec::new()) };
        map.put_back(ds);
        Ok(map)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Values and validity of window `w`.
    pub fn read_window(&self, w: &Window) -> Result<(Vec<f32>, Vec<bool>)> {
        self.with_dataset(|ds| read_window_from(ds, &self.path, w))
    }

    /// The value of each cell (`None` without data there), read from one open dataset.
    pub fn read_cells(&self, cells: &[Cell]) -> Result<Vec<Option<f32>>> {
        self.with_dataset(|ds| {
            cells
                .iter()
                .map(|c| {
                    let (v, ok) =
                        read_window_from(ds, &self.path, &Window { col: c.col, row: c.row, cols: 1, rows: 1 })?;
                    Ok(ok[0].then_some(v[0]))
                })
                .collect()
        })
    }

    /// This thread's slot: 0 outside a rayon pool, the worker's index + 1 inside one.
    fn slot() -> usize {
        rayon::current_thread_index().map_or(0, |i| i + 1)
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, Vec<Option<Dataset>>> {
        self.handles.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on this thread's slot's dataset (opened when the slot is empty or its
    /// handle is in use by a worker of another pool with the same index), then puts it back.
    fn with_dataset<T>(&self, f: impl FnOnce(&Dataset) -> Result<T>) -> Result<T> {
        let taken = self.handles().get_mut(Self::slot()).and_then(Option::take);
        let ds = match taken {
            Some(ds) => ds,
            None => Dataset::open(&self.path).map_err(|e| Error::input(&self.path, e))?,
        };
        let result = f(&ds);
        self.put_back(ds);
        result
    }

    /// Keeps `ds` in this thread's slot.
    fn put_back(&self, ds: Dataset) {
        let slot = Self::slot();
        let mut h = self.handles();
        if h.len() <= slot {
            h.resize_with(slot + 1, || None);
        }
        h[slot] = Some(ds);
    }
}

/// Like [`read_window`] on an open dataset.
fn read_window_from(ds: &Dataset, path: &Path, w: &Window) -> Result<(Vec<f32>, Vec<bool>)> {
    let fail = |e: gdal::errors::GdalError| Error::input(path, e);
    let band = ds.rasterband(1).map_err(fail)?;
    let win = (w.col as isize, w.row as isize);
    let size = (w.cols, w.rows);
    let values = band.read_as::<f32>(win, size, size, None).map_err(fail)?.into_shape_and_vec().1;
    let mask = band.open_mask_band().map_err(fail)?.read_as::<u8>(win, size, size, None).map_err(fail)?;
    let valid = values.iter().zip(mask.data()).map(|(v, &m)| m != 0 && v.is_finite()).collect();
    Ok((values, valid))
}

/// Band 1 of a map read whole at a reduced size `(cols, rows)` (GDAL averages the cells,
/// using the internal overviews), with the validity at that size. For quicklooks: the
/// memory is that of the reduced image, never of the grid.
pub fn read_reduced(path: &Path, cols: usize, rows: usize) -> Result<(Vec<f32>, Vec<bool>)> {
    let ds = Dataset::open(path).map_err(|e| Error::input(path, e))?;
    let fail = |e: gdal::errors::GdalError| Error::input(path, e);
    let band = ds.rasterband(1).map_err(fail)?;
    let size = ds.raster_size();
    let average = Some(gdal::raster::ResampleAlg::Average);
    let values = band.read_as::<f32>((0, 0), size, (cols, rows), average).map_err(fail)?.into_shape_and_vec().1;
    let mask = band.open_mask_band().map_err(fail)?.read_as::<u8>((0, 0), size, (cols, rows), None).map_err(fail)?;
    let valid = values.iter().zip(mask.data()).map(|(v, &m)| m != 0 && v.is_finite()).collect();
    Ok((values, valid))
}

#[cfg(test)]
mod tests {
    use rayon::prelude::*;

    use super::*;

    /// A writer of `grid` (scratch `dir/name.scratch.tif`) with every window written: cell
    /// `i` holds `f(i)`, nodata where it is `None`.
    fn written(dir: &Path, name: &str, grid: &Grid, f: impl Fn(usize) -> Option<f32>) -> MapWriter {
        let mut w = MapWriter::create(&dir.join(format!("{name}.scratch.tif")), grid, "test", &[]).unwrap();
        for win in grid.windows() {
            let cells: Vec<Option<f32>> = (0..win.len()).map(|i| f(grid.index(win.cell(i)))).collect();
            let values: Vec<f32> = cells.iter().map(|v| v.unwrap_or(0.0)).collect();
            let valid: Vec<bool> = cells.iter().map(Option::is_some).collect();
            w.write(&win, &values, &valid).unwrap();
        }
        w
    }

    /// Writes a COG of `grid` whose cell `i` holds `f(i)` (nodata where it is `None`).
    fn write_map(dir: &Path, name: &str, grid: &Grid, f: impl Fn(usize) -> Option<f32>) -> PathBuf {
        let dest = dir.join(name);
        written(dir, name, grid, f).finish(&dest, Compression::Deflate).unwrap();
        dest
    }

    #[test]
    fn the_kept_scratch_reads_bit_for_bit_what_the_cog_reads() {
        // Evaluation and targets read the scratch copy instead of the COG: every window's
        // values (as bits) and validity must be the same, edges, nodata and odd values included.
        let dir = tempfile::tempdir().unwrap();
        let grid = Grid::unreferenced([0.0, 10.0, 0.0, 0.0, 0.0, -10.0], 1100, 700, 256);
        let odd = [-0.0, f32::MIN_POSITIVE / 8.0, f32::MAX, -1e-30, 1.0 - f32::EPSILON];
        let value = |i: usize| match i % 13 {
            0 => None,
            1 => Some(odd[(i / 13) % odd.len()]),
            _ => Some(((i * 7919) % 10007) as f32 / 10007.0),
        };
        let cog = dir.path().join("map.tif");
        let scratch =
            written(dir.path(), "map.tif", &grid, value).finish_keeping_scratch(&cog, Compression::Deflate).unwrap();
        let (a, b) = (MapRaster::open(&cog, &grid).unwrap(), MapRaster::open(&scratch, &grid).unwrap());
        let bits = |(v, ok): (Vec<f32>, Vec<bool>)| (v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), ok);
        for win in grid.windows() {
            let (from_cog, from_scratch) = (bits(a.read_window(&win).unwrap()), bits(b.read_window(&win).unwrap()));
            assert!(from_cog == from_scratch, "window {win:?}");
            let expected: Vec<bool> = (0..win.len()).map(|i| value(grid.index(win.cell(i))).is_some()).collect();
            assert_eq!(from_cog.1, expected, "window {win:?}");
        }
    }

    #[test]
    fn kept_handles_read_what_a_dataset_opened_per_window_reads() {
        // 256-cell windows over 512-cell COG blocks, a ragged edge, nodata in places.
        let dir = tempfile::tempdir().unwrap();
        let grid = Grid::unreferenced([0.0, 10.0, 0.0, 0.0, 0.0, -10.0], 1100, 700, 256);
        let first = |i: usize| (!i.is_multiple_of(7)).then(|| (i as f32).sin());
        let path = write_map(dir.path(), "map.tif", &grid, first);
        let fresh: Vec<_> = grid.windows().iter().map(|w| read_window(&path, w).unwrap()).collect();
        let map = MapRaster::open(&path, &grid).unwrap();
        // Windows read by the workers of two pools at once (their worker indices collide:
        // a worker finding its slot's handle taken opens its own), twice each, and from
        // outside any pool.
        let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        let read_all = || -> Vec<_> { grid.windows().par_iter().map(|w| map.read_window(w).unwrap()).collect() };
        let (a, b) = rayon::join(|| pool(2).install(read_all), || pool(3).install(read_all));
        assert!(a == fresh && b == fresh);
        assert!(pool(2).install(read_all) == fresh);
        let serial: Vec<_> = grid.windows().iter().map(|w| map.read_window(w).unwrap()).collect();
        assert!(serial == fresh);
        assert!(fresh.iter().any(|(_, valid)| valid.iter().any(|ok| !ok)));
        // A map written again at the same path is read afresh by a new handle.
        drop(map);
        let second = |i: usize| Some(i as f32);
        write_map(dir.path(), "map.tif", &grid, second);
        let map = MapRaster::open(&path, &grid).unwrap();
        let w = grid.windows()[5];
        let (values, _) = map.read_window(&w).unwrap();
        assert_eq!(values, (0..w.len()).map(|i| grid.index(w.cell(i)) as f32).collect::<Vec<_>>());
    }
}
