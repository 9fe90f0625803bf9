//! The known deposits: points from any OGR source, reprojected to the grid, placed in
//! cells. Points outside the grid or the study area are dropped and counted; several
//! deposits in one cell make one positive cell.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::grid::{Cell, Window};

/// Deposits on the grid.
#[derive(Debug, Clone, Serialize)]
pub struct Deposits {
    /// Points inside the grid and the study area, in grid coordinates.
    pub points: Vec<[f64; 2]>,
    /// The cell of each point in `points`.
    pub point_cells: Vec<Cell>,
    /// The name of each point in `points`: its `labels.name_field`, or `#N` (its position
    /// in the layer after the filter, from 1) without one.
    pub names: Vec<String>,
    /// Distinct cells holding at least one deposit, sorted.
    pub cells: Vec<Cell>,
    /// Points read from the layer (after the attribute filter).
    pub read: usize,
    /// Points outside the grid.
    pub outside_grid: usize,
    /// Points inside the grid but outside the study area.
    pub outside_study_area: usize,
}

impl Deposits {
    /// Reads the `[labels]` layer onto the grid.
    /// Without `[labels]` (a knowledge-driven fuzzy map): no deposits.
    pub fn load(settings: &Settings) -> Result<Deposits> {
        let Some(src) = &settings.labels.source else {
            tracing::info!("no [labels]: the map is knowledge-driven and is not evaluated against deposits");
            return Ok(Deposits {
                points: Vec::new(),
                point_cells: Vec::new(),
                cells: Vec::new(),
                read: 0,
                outside_grid: 0,
                outside_study_area: 0,
                names: Vec::new(),
            });
        };
        let grid = &settings.grid;
        let layer_err = |message: String| Error::Layer { path: src.path.clone(), layer: src.layer.clone(), message };
        let name_field = settings.labels.name_field.as_deref();
        let features = src.read(grid, name_field)?;
        let mut all = Vec::new();
        for (n, f) in features.iter().enumerate() {
            let name = match (&f.value, name_field) {
                (crate::io::vector::Attr::Null, _) | (_, None) => format!("#{}", n + 1),
                (v, Some(_)) => v.to_string(),
            };
            match &f.geometry {
                geo::Geometry::Point(p) => all.push(([p.x(), p.y()], name)),
                geo::Geometry::MultiPoint(mp) => all.extend(mp.iter().map(|p| ([p.x(), p.y()], name.clone()))),
                _ => return Err(layer_err("labels must be points (deposits); found a line or polygon".into())),
            }
        }
        let read = all.len();
        let mut points = Vec::new();
        let mut point_cells = Vec::new();
        let mut names = Vec::new();
        let mut outside_grid = 0;
        let mut outside_study_area = 0;
        for (p, name) in all {
            let Some(cell) = grid.cell_at(p[0], p[1]) else {
                outside_grid += 1;
                continue;
            };
            let w = Window { col: cell.col, row: cell.row, cols: 1, rows: 1 };
            if !grid.mask(&w)?[0] {
                outside_study_area += 1;
                continue;
            }
            points.push(p);
            point_cells.push(cell);
            names.push(name);
        }
        if points.is_empty() {
            return Err(layer_err(format!(
                "none of its {read} point(s) lies inside the grid's study area \
                 ({outside_grid} outside the grid, {outside_study_area} outside the mask); \
                 check the layer's CRS and the `where` filter"
            )));
        }
        if outside_grid + outside_study_area > 0 {
            tracing::warn!(
                "labels {}: dropped {outside_grid} point(s) outside the grid and {outside_study_area} outside the study area; {} remain",
                src.path.display(),
                points.len()
            );
        }
        let mut per_cell: BTreeMap<Cell, usize> = BTreeMap::new();
        for c in &point_cells {
            *per_cell.entry(*c).or_default() += 1;
        }
        Ok(Deposits {
            cells: per_cell.keys().copied().collect(),
            points,
            point_cells,
            names,
            read,
            outside_grid,
            outside_study_area,
        })
    }
}
