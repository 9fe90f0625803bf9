//! Evidence layers: each `[[evidence]]` table becomes one [`Evidence`] that turns a
//! window of the grid into one or more feature columns plus a validity mask.
//!
//! One file per kind; adding a kind is one new file and one line in [`prepare`].

pub mod categorical;
pub mod distance;
pub mod raster;
pub mod rasterize;

use ndarray::Array2;
use rayon::prelude::*;

use crate::config::{EvidenceKind, EvidenceSettings, Settings};
use crate::error::Result;
use crate::grid::{Cell, Grid, Window};

/// The values one evidence layer gives a window.
#[derive(Debug, Clone)]
pub struct LayerBlock {
    /// `(cells, columns)` values; meaningless where `valid` is false.
    pub values: Array2<f64>,
    /// Per cell: the layer has data there.
    pub valid: Vec<bool>,
}

/// One prepared evidence layer. `compute` is a pure function of the window, so windows
/// can be computed in any order, on any thread, or in separate processes.
pub trait Evidence: Send + Sync + std::fmt::Debug {
    /// The layer's name from the config.
    fn name(&self) -> &str;
    /// Names of the feature columns it produces (one, or one per class).
    fn columns(&self) -> Vec<String>;
    /// Computes the columns for the cells of `w`.
    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock>;
    /// One line describing the layer and its source, for `lode validate` and logs.
    fn describe(&self) -> String;
}

/// Prepares one evidence layer: warps rasters, loads vectors, finds classes.
pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Box<dyn Evidence>> {
    Ok(match settings.kind {
        EvidenceKind::Raster => Box::new(raster::Continuous::prepare(settings, grid)?),
        EvidenceKind::Categorical => Box::new(categorical::Categorical::prepare(settings, grid)?),
        EvidenceKind::Distance => Box::new(distance::Distance::prepare(settings, grid)?),
        EvidenceKind::Rasterize => Box::new(rasterize::Rasterize::prepare(settings, grid)?),
    })
}

/// All evidence layers on the grid, computed together window by window.
#[derive(Debug)]
pub struct FeatureStack {
    /// The grid and its study area.
    pub grid: Grid,
    /// The prepared layers, in config order.
    pub layers: Vec<Box<dyn Evidence>>,
    /// Column names of every layer, in order.
    pub columns: Vec<String>,
}

/// The features of one window.
#[derive(Debug, Clone)]
pub struct FeatureBlock {
    /// The window.
    pub window: Window,
    /// `(cells, columns)` feature values, row-major over the window's cells.
    pub values: Array2<f64>,
    /// Per cell: inside the study area.
    pub in_study: Vec<bool>,
    /// Per cell: inside the study area and every layer has data.
    pub valid: Vec<bool>,
}

impl FeatureStack {
    /// Prepares every evidence layer of `settings` (in parallel: warps and class scans).
    pub fn prepare(settings: &Settings) -> Result<FeatureStack> {
        let grid = settings.grid.clone();
        let layers: Vec<Box<dyn Evidence>> =
            settings.evidence.par_iter().map(|ev| prepare(ev, &grid)).collect::<Result<_>>()?;
        let columns = layers.iter().flat_map(|l| l.columns()).collect();
        Ok(FeatureStack { grid, layers, columns })
    }

    /// Computes every layer over window `w`.
    pub fn compute(&self, w: &Window) -> Result<FeatureBlock> {
        let in_study = self.grid.mask(w)?;
        let mut valid = in_study.clone();
        let mut values = Array2::<f64>::zeros((w.len(), self.columns.len()));
        let mut col = 0;
        for layer in &self.layers {
            let block = layer.compute(&self.grid, w)?;
            let n = block.values.ncols();
            values.slice_mut(ndarray::s![.., col..col + n]).assign(&block.values);
            for (v, ok) in valid.iter_mut().zip(&block.valid) {
                *v &= ok;
            }
            col += n;
        }
        Ok(FeatureBlock { window: *w, values, in_study, valid })
    }

    /// Feature rows of single cells, in the order given, computed in parallel. `None`
    /// for a cell outside the study area or where some layer has no data.
    pub fn rows_at(&self, cells: &[Cell]) -> Result<Vec<Option<Vec<f64>>>> {
        cells
            .par_iter()
            .map(|&c| {
                let w = Window { col: c.col, row: c.row, cols: 1, rows: 1 };
                let b = self.compute(&w)?;
                Ok(b.valid[0].then(|| b.values.row(0).to_vec()))
            })
            .collect()
    }
}

/// A one-hot encoder shared by the class-valued kinds: class ids to 0/1 columns.
#[derive(Debug, Clone)]
pub(crate) struct OneHot {
    /// Column names, `layer=class`.
    pub columns: Vec<String>,
}

impl OneHot {
    /// Encodes per-cell class positions (`None`: no data; `Some(None)`: a class that is not
    /// encoded, all zeros but valid).
    pub fn encode(&self, classes: &[Option<Option<usize>>]) -> LayerBlock {
        let mut values = Array2::<f64>::zeros((classes.len(), self.columns.len()));
        let mut valid = Vec::with_capacity(classes.len());
        for (i, c) in classes.iter().enumerate() {
            valid.push(c.is_some());
            if let Some(Some(k)) = c {
                values[[i, *k]] = 1.0;
            }
        }
        LayerBlock { values, valid }
    }
}
