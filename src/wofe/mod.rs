//! Weights of evidence (WofE), as ArcSDM defines it and Geoscience Australia's R port
//! computes it (the published Cloncurry tables are lode's conformance reference).
//!
//! - [`weights`]: Calculate Weights, a table from per-class cell and deposit counts;
//! - [`posterior`](mod@posterior): Calculate Response, the posterior of one cell;
//! - [`diagnostics`]: the conditional-independence tests;
//! - here: counting classes over the grid (streamed) and writing tables as CSV.
//!
//! Where GA's port and ArcSDM differ, lode follows GA (whose numbers it must match) and
//! the item documentation says so.

pub mod diagnostics;
pub mod posterior;
pub mod weights;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

pub use posterior::{missing_data_variance, posterior, ClassShare, LayerWeight, Posterior, Prior};
pub use weights::{weights_table, ClassCount, Method, WeightsParams, WeightsRow, NOT_CONFIDENT};

use crate::error::{Error, Result};
use crate::features::{ClassAt, FeatureStack};
use crate::labels::Deposits;

/// Errors of the weights-of-evidence calculations.
#[derive(Debug, Clone, PartialEq)]
pub enum WofeError {
    /// No class (other than the missing-data class) was given.
    NoClasses,
    /// The same class value appears twice in the counts.
    DuplicateClass(i64),
    /// A parameter is not a finite positive number (its name is given).
    InvalidParameter(&'static str),
    /// There are no deposits in the study area.
    NoDeposits,
    /// The study area (in unit cells) is not larger than the number of deposits.
    StudyAreaTooSmall {
        /// Study area in unit cells.
        unit_cells: f64,
        /// Deposits.
        deposits: u64,
    },
}

impl fmt::Display for WofeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoClasses => write!(f, "no evidence classes in the study area"),
            Self::DuplicateClass(c) => write!(f, "class {c} appears more than once"),
            Self::InvalidParameter(p) => write!(f, "parameter `{p}` must be finite and positive"),
            Self::NoDeposits => write!(f, "no deposits in the study area"),
            Self::StudyAreaTooSmall { unit_cells, deposits } => {
                write!(f, "study area of {unit_cells} unit cells is not larger than the {deposits} deposits")
            }
        }
    }
}

impl std::error::Error for WofeError {}

impl Method {
    /// The name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ascending => "ascending",
            Method::Descending => "descending",
            Method::Categorical => "categorical",
        }
    }
}

/// Per-class cell and deposit counts of every layer of a stack, over the study area.
#[derive(Debug, Clone)]
pub struct Counts {
    /// Per layer: class -> (cells, deposits). Cells where the layer has no data are not counted.
    pub layers: Vec<BTreeMap<i64, (u64, u64)>>,
    /// Study-area cells.
    pub study_cells: u64,
    /// Deposit points inside the study area (each point counts, as in GA's tables).
    pub deposits: u64,
    /// Deposit points that fall on a cell of the given class (per layer), by point.
    pub deposit_classes: Vec<Vec<ClassAt>>,
}

impl Counts {
    /// The counts of layer `k` as [`ClassCount`]s.
    pub fn class_counts(&self, k: usize) -> Vec<ClassCount> {
        self.layers[k].iter().map(|(&class, &(cells, deposits))| ClassCount { class, cells, deposits }).collect()
    }
}

/// Counts classes of every layer of `stack`, streaming the grid window by window, and the
/// class under each deposit point. A non-integer value is an error naming the layer.
pub fn count_classes(stack: &FeatureStack, deposits: &Deposits) -> Result<Counts> {
    let readers = stack.class_readers()?;
    let n = readers.len();
    let not_integer = |k: usize, v: f64| {
        Error::key(
            format!("evidence `{}`", stack.layers[k].name()),
            format!(
                "weights of evidence needs integer classes, found the value {v}; \
                 classify the layer, e.g. `classify = {{ method = \"quantile\", classes = 10 }}` (or use kind = \"categorical\")"
            ),
        )
    };
    let windows = stack.grid.windows();
    let (layers, study_cells) = windows
        .par_iter()
        .progress_with(crate::progress::bar(windows.len() as u64, "counting"))
        .map(|w| -> Result<(Vec<BTreeMap<i64, u64>>, u64)> {
            let block = stack.compute(w)?;
            let mut maps = vec![BTreeMap::new(); n];
            let mut study = 0;
            for i in 0..w.len() {
                if !block.in_study[i] {
                    continue;
                }
                study += 1;
                for (k, r) in readers.iter().enumerate() {
                    match r.class_at(&block, i, k) {
                        ClassAt::Missing => {}
                        ClassAt::Class(c) => *maps[k].entry(c).or_insert(0) += 1,
                        ClassAt::Value(v) => return Err(not_integer(k, v)),
                    }
                }
            }
            Ok((maps, study))
        })
        .try_reduce(
            || (vec![BTreeMap::new(); n], 0),
            |(mut a, sa), (b, sb)| {
                for (ma, mb) in a.iter_mut().zip(b) {
                    for (c, v) in mb {
                        *ma.entry(c).or_insert(0) += v;
                    }
                }
                Ok((a, sa + sb))
            },
        )?;
    let mut layers: Vec<BTreeMap<i64, (u64, u64)>> =
        layers.into_iter().map(|m| m.into_iter().map(|(c, cells)| (c, (cells, 0))).collect()).collect();
    let blocks = stack.cells(&deposits.point_cells)?;
    let mut deposit_classes = Vec::with_capacity(blocks.len());
    for block in &blocks {
        let mut classes = Vec::with_capacity(n);
        for (k, r) in readers.iter().enumerate() {
            let c = r.class_at(block, 0, k);
            match c {
                ClassAt::Class(class) => {
                    if let Some(e) = layers[k].get_mut(&class) {
                        e.1 += 1;
                    }
                }
                ClassAt::Value(v) => return Err(not_integer(k, v)),
                ClassAt::Missing => {}
            }
            classes.push(c);
        }
        deposit_classes.push(classes);
    }
    Ok(Counts { layers, study_cells, deposits: deposits.points.len() as u64, deposit_classes })
}

/// The column names of a weights table, in GA's (and ArcSDM's) order.
pub const TABLE_COLUMNS: [&str; 15] = [
    "CLASS",
    "CLASS_AREA",
    "AREA_SQ_KM",
    "AREA_UNITS",
    "NO_POINTS",
    "WPLUS",
    "S_WPLUS",
    "WMINUS",
    "S_WMINUS",
    "CONTRAST",
    "S_CONTRAST",
    "STUDC",
    "GEN_CLASS",
    "WEIGHT",
    "W_STD",
];

/// A weights table as CSV text (shortest round-trip decimal for every number).
pub fn table_csv(rows: &[WeightsRow]) -> String {
    let mut out = TABLE_COLUMNS.join(",") + "\n";
    for r in rows {
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.class,
            r.class_area,
            r.area_sq_km,
            r.area_units,
            r.no_points,
            r.wplus,
            r.s_wplus,
            r.wminus,
            r.s_wminus,
            r.contrast,
            r.s_contrast,
            r.studc,
            r.gen_class,
            r.weight,
            r.w_std
        );
    }
    out
}

/// Writes a weights table to `path` atomically (a temporary file renamed into place).
pub fn write_table(path: &Path, rows: &[WeightsRow]) -> Result<()> {
    let tmp = path.with_extension("csv.partial");
    std::fs::write(&tmp, table_csv(rows)).map_err(|e| Error::output(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

impl From<WofeError> for Error {
    fn from(e: WofeError) -> Self {
        Error::Model(format!("weights of evidence: {e}"))
    }
}
