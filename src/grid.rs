//! The one grid every layer is put on: CRS, geotransform and shape, plus the
//! [`Window`]s that the streaming stages walk over.
//!
//! A [`Grid`] is plain data (no GDAL handle: a raster study-area mask is a path that
//! `io` opens per window), so it is `Send + Sync` and every per-cell stage can be written
//! as a pure function of `(settings, window)`. This module does not import `io`: the
//! mask's sources are [`StudyArea`]s that `io` implements.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};

/// Most columns or rows of a grid: GDAL's raster sizes are C `int`s.
pub const MAX_AXIS: u64 = i32::MAX as u64;
/// Most cells of a grid: 2^36 (a 262,144-cell square; 256 GiB per Float32 map). Per-cell
/// counts and offsets stay far inside 64 bits, and a run over more would take days.
pub const MAX_CELLS: u64 = 1 << 36;
/// Most processing windows: their list (32 bytes each) is held in memory, 128 MiB at most.
pub const MAX_WINDOWS: u64 = 1 << 22;
/// Most bytes of one window's feature block (`block_size`² cells x columns x 8 bytes);
/// a few windows per thread are in memory at once.
pub const MAX_WINDOW_BYTES: u64 = 1 << 30;
/// Most classes of one class-valued layer (`max_classes`): each is a one-hot column.
pub const MAX_CLASSES: usize = 1 << 16;

/// Columns and rows of `extent_x` x `extent_y` in cells of `cell`, checked against what
/// lode can address before anything is allocated (`cell` > 0 and extents > 0 already
/// checked). The error gives the numbers.
pub fn checked_shape(extent_x: f64, extent_y: f64, cell: f64, block_size: usize) -> Result<(u64, u64)> {
    let (cols, rows) = ((extent_x / cell).round(), (extent_y / cell).round());
    let too_big = |what: String| {
        Error::key(
            "grid.cell_size",
            format!(
                "{cell} over a {extent_x} x {extent_y} extent gives {cols} x {rows} cells: {what}; \
                 use a larger cell_size or a smaller grid.bounds"
            ),
        )
    };
    if cols > MAX_AXIS as f64 || rows > MAX_AXIS as f64 {
        return Err(too_big(format!("more than {MAX_AXIS} cells on an axis (GDAL's limit)")));
    }
    let (c, r) = (cols as u64, rows as u64);
    check_counts(c, r, block_size).map_err(too_big)?;
    Ok((c, r))
}

/// Checks a shape's cell and window counts (overflow-checked); the reason when refused.
pub fn check_counts(cols: u64, rows: u64, block_size: usize) -> std::result::Result<(), String> {
    let cells = cols.checked_mul(rows).filter(|&n| n <= MAX_CELLS);
    let Some(cells) = cells else {
        return Err(format!("{} cells, more than lode addresses ({MAX_CELLS})", (cols as u128 * rows as u128)));
    };
    let b = block_size.max(1) as u64;
    let windows = cols.div_ceil(b).saturating_mul(rows.div_ceil(b));
    if windows > MAX_WINDOWS {
        return Err(format!(
            "{cells} cells in {windows} windows of {b} x {b} cells, more than {MAX_WINDOWS} windows \
             (raise grid.block_size)"
        ));
    }
    Ok(())
}

/// Refuses a window whose feature block would exceed [`MAX_WINDOW_BYTES`]: `columns`
/// feature columns of 8 bytes on `block_size`² cells.
pub fn check_window_bytes(block_size: usize, columns: usize) -> Result<()> {
    let bytes =
        (block_size as u64).checked_pow(2).and_then(|c| c.checked_mul(columns as u64)).and_then(|c| c.checked_mul(8));
    match bytes {
        Some(b) if b <= MAX_WINDOW_BYTES => Ok(()),
        _ => Err(Error::key(
            "grid.block_size",
            format!(
                "{columns} feature columns on windows of {block_size} x {block_size} cells take {} bytes per window, \
                 more than {MAX_WINDOW_BYTES}: lower grid.block_size or the number of classes",
                (block_size as u128).pow(2) * columns as u128 * 8
            ),
        )),
    }
}

/// A north-up raster grid: where cell (0, 0) is, how large cells are, how many there
/// are, and which cells form the study area.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Coordinate reference system as WKT (what GDAL writes into outputs).
    pub crs_wkt: String,
    /// Short human name of the CRS, e.g. `EPSG:7845` or the CRS name.
    pub crs_name: String,
    /// Metres per linear unit of a projected CRS; `None` for a geographic CRS or none.
    pub metres_per_unit: Option<f64>,
    /// GDAL geotransform `[x0, dx, 0, y0, 0, dy]` with `dy < 0`.
    pub geo_transform: [f64; 6],
    /// Number of columns.
    pub cols: usize,
    /// Number of rows.
    pub rows: usize,
    /// Edge length of the processing windows, in cells.
    pub block_size: usize,
    /// The study area.
    pub mask: Mask,
}

/// Which cells of the grid form the study area.
#[derive(Debug, Clone)]
pub enum Mask {
    /// Every cell.
    All,
    /// Cells where a raster (warped onto the grid) has data and a non-zero value.
    Raster(Arc<dyn StudyArea>),
    /// Cells whose centre lies inside a polygon.
    Polygons(Arc<dyn StudyArea>),
}

/// A source of study-area flags (a mask raster, mask polygons), implemented in `io`.
pub trait StudyArea: std::fmt::Debug + Send + Sync {
    /// Study-area flags of the cells of `w`, row-major.
    fn flags(&self, grid: &Grid, w: &Window) -> Result<Vec<bool>>;
    /// The file it comes from, for messages.
    fn source(&self) -> &std::path::Path;
}

impl Mask {
    /// Study-area flags of the cells of `w`, row-major.
    pub fn read(&self, grid: &Grid, w: &Window) -> Result<Vec<bool>> {
        match self {
            Mask::All => Ok(crate::scratch::filled(w.len(), true)),
            Mask::Raster(area) | Mask::Polygons(area) => area.flags(grid, w),
        }
    }
}

/// A rectangle of cells: the unit every streaming stage reads, computes and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Window {
    /// First column.
    pub col: usize,
    /// First row.
    pub row: usize,
    /// Width in cells.
    pub cols: usize,
    /// Height in cells.
    pub rows: usize,
}

/// One cell of the grid, by row and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Cell {
    /// Row index, from the top.
    pub row: usize,
    /// Column index, from the left.
    pub col: usize,
}

impl Window {
    /// Number of cells in the window.
    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// True when the window holds no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `cell` lies inside the window.
    pub fn contains(&self, cell: Cell) -> bool {
        cell.row >= self.row
            && cell.row < self.row + self.rows
            && cell.col >= self.col
            && cell.col < self.col + self.cols
    }

    /// Row-major index of `cell` inside the window (the cell must be inside).
    pub fn offset(&self, cell: Cell) -> usize {
        (cell.row - self.row) * self.cols + (cell.col - self.col)
    }

    /// The grid cell at row-major index `i` of the window.
    pub fn cell(&self, i: usize) -> Cell {
        Cell { row: self.row + i / self.cols, col: self.col + i % self.cols }
    }
}

impl Grid {
    /// A grid without a CRS, the whole of it the study area, for unit tests.
    #[cfg(test)]
    pub(crate) fn unreferenced(geo_transform: [f64; 6], cols: usize, rows: usize, block_size: usize) -> Grid {
        Grid {
            crs_wkt: String::new(),
            crs_name: "test".into(),
            metres_per_unit: None,
            geo_transform,
            cols,
            rows,
            block_size,
            mask: Mask::All,
        }
    }

    /// Cell width in CRS units (metres for a projected CRS).
    pub fn cell_width(&self) -> f64 {
        self.geo_transform[1]
    }

    /// Cell height in CRS units, positive.
    pub fn cell_height(&self) -> f64 {
        -self.geo_transform[5]
    }

    /// Area of one cell in square CRS units.
    pub fn cell_area(&self) -> f64 {
        self.cell_width() * self.cell_height()
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// True for a grid without cells (never produced by validation).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[xmin, ymin, xmax, ymax]` of the grid's outer edges.
    pub fn bounds(&self) -> [f64; 4] {
        let [x0, dx, _, y0, _, dy] = self.geo_transform;
        [x0, y0 + dy * self.rows as f64, x0 + dx * self.cols as f64, y0]
    }

    /// The whole grid as one window.
    pub fn full_window(&self) -> Window {
        Window { col: 0, row: 0, cols: self.cols, rows: self.rows }
    }

    /// Processing windows of `block_size` cells, row by row; the last row and column
    /// of windows are clipped to the grid edge.
    pub fn windows(&self) -> Vec<Window> {
        let b = self.block_size.max(1);
        let mut out = Vec::new();
        for row in (0..self.rows).step_by(b) {
            for col in (0..self.cols).step_by(b) {
                out.push(Window { col, row, cols: b.min(self.cols - col), rows: b.min(self.rows - row) });
            }
        }
        out
    }

    /// The window of `block_size` that holds `cell`.
    pub fn window_of(&self, cell: Cell) -> Window {
        let b = self.block_size.max(1);
        let (row, col) = (cell.row / b * b, cell.col / b * b);
        Window { col, row, cols: b.min(self.cols - col), rows: b.min(self.rows - row) }
    }

    /// The cell holding map coordinate `(x, y)`, or `None` outside the grid.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<Cell> {
        let [x0, dx, _, y0, _, dy] = self.geo_transform;
        let c = ((x - x0) / dx).floor();
        let r = ((y - y0) / dy).floor();
        if c < 0.0 || r < 0.0 || c >= self.cols as f64 || r >= self.rows as f64 {
            return None;
        }
        Some(Cell { row: r as usize, col: c as usize })
    }

    /// Map coordinate of the centre of `cell`.
    pub fn centre(&self, cell: Cell) -> (f64, f64) {
        let [x0, dx, _, y0, _, dy] = self.geo_transform;
        (x0 + (cell.col as f64 + 0.5) * dx, y0 + (cell.row as f64 + 0.5) * dy)
    }

    /// Geotransform of a window, for writing or rasterizing just that window.
    pub fn window_transform(&self, w: &Window) -> [f64; 6] {
        let [x0, dx, r1, y0, r2, dy] = self.geo_transform;
        [x0 + w.col as f64 * dx, dx, r1, y0 + w.row as f64 * dy, r2, dy]
    }

    /// Study-area flags of the cells of `w`, row-major.
    pub fn mask(&self, w: &Window) -> Result<Vec<bool>> {
        self.mask.read(self, w)
    }

    /// Facts about the grid for manifests and metrics.
    pub fn info(&self) -> GridInfo {
        GridInfo {
            crs: self.crs_name.clone(),
            geo_transform: self.geo_transform,
            cols: self.cols,
            rows: self.rows,
            cell_size: self.cell_width(),
            bounds: self.bounds(),
        }
    }

    /// Row-major index of a cell in the whole grid.
    pub fn index(&self, cell: Cell) -> usize {
        cell.row * self.cols + cell.col
    }
}

/// What a reader of metrics needs to know about the grid.
#[derive(Debug, Clone, Serialize)]
pub struct GridInfo {
    /// CRS short name.
    pub crs: String,
    /// GDAL geotransform.
    pub geo_transform: [f64; 6],
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
    /// Cell edge length in CRS units.
    pub cell_size: f64,
    /// `[xmin, ymin, xmax, ymax]`.
    pub bounds: [f64; 4],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::unreferenced([1000.0, 100.0, 0.0, 5000.0, 0.0, -100.0], 10, 7, 4)
    }

    #[test]
    fn windows_tile_the_grid_exactly_once() {
        let g = grid();
        let mut seen = vec![0u8; g.len()];
        for w in g.windows() {
            for i in 0..w.len() {
                seen[g.index(w.cell(i))] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert_eq!(g.windows().len(), 3 * 2);
    }

    #[test]
    fn cell_lookup_round_trips_through_the_centre() {
        let g = grid();
        let c = Cell { row: 3, col: 7 };
        let (x, y) = g.centre(c);
        assert_eq!((x, y), (1750.0, 4650.0));
        assert_eq!(g.cell_at(x, y), Some(c));
        assert_eq!(g.cell_at(999.0, 4999.0), None);
        assert_eq!(g.cell_at(2000.0, 4999.0), None, "the right edge is outside");
        assert_eq!(g.window_of(c), Window { col: 4, row: 0, cols: 4, rows: 4 });
        assert_eq!(g.bounds(), [1000.0, 4300.0, 2000.0, 5000.0]);
    }
}
