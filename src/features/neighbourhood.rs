//! Reading a window plus a halo of neighbouring cells, for the kinds whose value at a
//! cell depends on the cells around it (`terrain`, `focal`). The halo is clipped at the
//! grid's edges: cells beyond the grid read as "no data", so every such kind needs (and
//! documents) a rule for cells near the edge. A window with its halo is still a pure
//! function of the window: tiles can be computed anywhere, in any order.

use crate::error::Result;
use crate::grid::{Grid, Window};
use crate::io::raster::GridBand;

/// The cells of a window and `radius` cells around it, as read from a band on the grid.
#[derive(Debug, Clone)]
pub struct Halo {
    /// The window that was read: the asked window grown by the radius, clipped to the grid.
    pub window: Window,
    values: Vec<f64>,
    valid: Vec<bool>,
}

impl Halo {
    /// Reads `w` grown by `radius` cells on every side (clipped to the grid).
    pub fn read(band: &GridBand, grid: &Grid, w: &Window, radius: usize) -> Result<Halo> {
        let col = w.col.saturating_sub(radius);
        let row = w.row.saturating_sub(radius);
        let col_end = (w.col + w.cols + radius).min(grid.cols);
        let row_end = (w.row + w.rows + radius).min(grid.rows);
        let window = Window { col, row, cols: col_end - col, rows: row_end - row };
        let block = band.read(grid, &window)?;
        Ok(Halo { window, values: block.values, valid: block.valid })
    }

    /// The value at grid cell `(row, col)`; `None` outside the grid or the halo, or
    /// where the band has no data.
    pub fn get(&self, row: isize, col: isize) -> Option<f64> {
        let w = &self.window;
        if row < w.row as isize
            || col < w.col as isize
            || row >= (w.row + w.rows) as isize
            || col >= (w.col + w.cols) as isize
        {
            return None;
        }
        let i = (row as usize - w.row) * w.cols + (col as usize - w.col);
        self.valid[i].then_some(self.values[i])
    }
}
