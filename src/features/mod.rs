//! Evidence layers: each `[[evidence]]` table becomes one [`Evidence`] that turns a
//! window of the grid into one or more feature columns plus a validity mask.
//!
//! One file per kind, registered by one line in the `evidence_kinds!` list below. The
//! file declares the keys the kind owns (`pub struct Raw`, with their docs and serde
//! defaults) and implements [`spec::Kind`] on it: what its `path` is, the check of its
//! keys (into its validated `Params`, once, before any heavy work) and the preparation of
//! its layer. The registry makes the [`EvidenceKind`] variant, the parsing that routes
//! each key of a table to its kind, and the dispatch; docs/config.md gets the kind's rows
//! (`tests/config_docs.rs` fails while a key or default is missing there). The features
//! read only [`spec`]'s validated types and the [`Grid`], never `config` nor the table as
//! written.

pub mod below_detection;
pub mod classes;
pub mod neighbourhood;
pub mod scan;
pub mod spec;
pub mod transform;

/// The registry of evidence kinds: `module => Variant`, the module being the kind's file
/// and its name in config files (`kind = "line_density"`), the module's `Raw` its keys.
macro_rules! evidence_kinds {
    ($($(#[$doc:meta])* $module:ident => $variant:ident,)+) => {
        $(pub mod $module;)+

        /// The kinds of evidence layer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EvidenceKind {
            $($(#[$doc])* $variant,)+
        }

        impl EvidenceKind {
            /// Every kind, in registry order.
            pub const ALL: &[EvidenceKind] = &[$(EvidenceKind::$variant,)+];

            /// The name used in config files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EvidenceKind::$variant => stringify!($module),)+
                }
            }

            /// What its `path` names.
            pub fn input(self) -> spec::Input {
                match self {
                    $(EvidenceKind::$variant => <$module::Raw as spec::Kind>::INPUT,)+
                }
            }

            /// Whether its layer is one-hot classes.
            pub fn classes(self) -> bool {
                match self {
                    $(EvidenceKind::$variant => <$module::Raw as spec::Kind>::CLASSES,)+
                }
            }

            /// The keys it owns (besides the shared ones).
            pub fn keys(self) -> &'static [&'static str] {
                match self {
                    $(EvidenceKind::$variant => spec::fields::<$module::Raw>(),)+
                }
            }

            /// Its keys that have a declared default, at that default (what a table that
            /// sets none of them gets).
            pub fn defaults(self) -> std::result::Result<toml::Table, toml::ser::Error> {
                let empty = toml::Value::Table(toml::Table::new());
                let value = match self {
                    $(EvidenceKind::$variant => toml::Value::try_from(
                        empty.try_into::<$module::Raw>().map_err(|e| <toml::ser::Error as serde::ser::Error>::custom(e.message()))?,
                    )?,)+
                };
                Ok(value.as_table().cloned().unwrap_or_default())
            }
        }

        /// The keys a table's kind owns, as written.
        #[derive(Debug, Clone, serde::Serialize)]
        #[serde(untagged)]
        pub enum KindKeys {
            $(#[doc = concat!("`", stringify!($module), "`.")] $variant($module::Raw),)+
        }

        impl KindKeys {
            /// Parses the keys of a `kind` table that the kind owns.
            pub fn parse(kind: EvidenceKind, table: toml::Table) -> std::result::Result<KindKeys, toml::de::Error> {
                Ok(match kind {
                    $(EvidenceKind::$variant => KindKeys::$variant(toml::Value::Table(table).try_into()?),)+
                })
            }

            /// Checks them into their [`KindParams`].
            pub fn check(&self, cx: &spec::Check<'_>) -> Result<KindParams> {
                Ok(match self {
                    $(KindKeys::$variant(k) => KindParams::$variant(spec::Kind::check(k, cx)?),)+
                })
            }
        }

        /// The validated keys of each kind: what its preparation reads (never the table as written).
        #[derive(Debug, Clone)]
        pub enum KindParams {
            $(#[doc = concat!("`", stringify!($module), "`.")] $variant(<$module::Raw as spec::Kind>::Params),)+
        }

        /// Prepares the layer of one kind, as computed (before any transform or classification).
        fn prepare_kind(settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
            match &settings.params {
                $(KindParams::$variant(p) => <$module::Raw as spec::Kind>::prepare(p, settings, grid, pass),)+
            }
        }
    };
}

evidence_kinds! {
    /// A continuous raster band, used as is.
    raster => Raster,
    /// An integer-class raster band, one-hot encoded.
    categorical => Categorical,
    /// Distance (CRS units) from each cell centre to the nearest vector feature.
    distance => Distance,
    /// A polygon attribute burnt onto the grid as classes, one-hot encoded.
    rasterize => Rasterize,
    /// A terrain derivative (slope, aspect, curvature, TRI, roughness) of a DEM.
    terrain => Terrain,
    /// A statistic of a raster over a moving window (mean, std, min, max, range).
    focal => Focal,
    /// Length of lines per unit area within a radius.
    line_density => LineDensity,
    /// Kernel density of points.
    point_density => PointDensity,
    /// A surface interpolated from point samples (IDW or ordinary kriging).
    interpolate => Interpolate,
    /// A band-math expression or named index of a Landsat 8/9, Sentinel-2 or ASTER scene.
    spectral => Spectral,
    /// Distance to the boundaries between polygons whose `attribute` differs (lithological contacts).
    contacts => Contacts,
    /// A numeric polygon attribute (unit age, susceptibility) burnt onto the grid as one continuous column.
    polygon_value => PolygonValue,
    /// Distance to the boundaries of polygons, negative inside them (into or out from a granite).
    signed_distance => SignedDistance,
}

use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::grid::{Cell, Grid, Window};
use scan::{LayerScan, Pass, Prepared, StackScan};
use spec::EvidenceSettings;

/// The values one evidence layer gives a window.
#[derive(Debug, Clone)]
pub struct LayerBlock {
    /// `(cells, columns)` values; meaningless where `valid` is false.
    pub values: Array2<f64>,
    /// Per cell: the layer has data there.
    pub valid: Vec<bool>,
}

impl LayerBlock {
    /// One column valued by `f` at the centre of every cell of `w`, all cells with data:
    /// for layers defined everywhere by geometry (distances, densities).
    pub fn from_centres(grid: &Grid, w: &Window, f: impl Fn([f64; 2]) -> f64) -> LayerBlock {
        let values: Vec<f64> = (0..w.len())
            .map(|i| {
                let (x, y) = grid.centre(w.cell(i));
                f([x, y])
            })
            .collect();
        let values = Array2::from_shape_vec((w.len(), 1), values).expect("one value per cell");
        LayerBlock { values, valid: vec![true; w.len()] }
    }
}

/// One prepared evidence layer. `compute` is a pure function of the window, so windows
/// can be computed in any order, on any thread, or in separate processes.
pub trait Evidence: Send + Sync + std::fmt::Debug {
    /// The layer's name from the config.
    fn name(&self) -> &str;
    /// Names of the feature columns it produces (one, or one per class). Default: one
    /// column named after the layer.
    fn columns(&self) -> Vec<String> {
        vec![self.name().to_string()]
    }
    /// Computes the columns for the cells of `w`.
    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock>;
    /// One line describing the layer and its source, for `lode validate` and logs.
    fn describe(&self) -> String;
    /// For one-hot layers, the class code of each column (categorical rasters: the raster
    /// value; `rasterize`: the attribute value when it is an integer, else its position
    /// from 1). `None` for continuous layers, whose value is the class for class-based
    /// models such as weights of evidence.
    fn class_codes(&self) -> Option<Vec<i64>> {
        None
    }
    /// For one-hot layers, the class name of each column (the unit's text, or the code),
    /// aligned with [`Evidence::class_codes`]: what reports and tables show. Default: none.
    fn class_names(&self) -> Option<Vec<String>> {
        None
    }
    /// For a continuous layer classified into class numbers (`classify`), each number
    /// and its interval (`[100, 500)`): the category names of its evidence raster.
    fn value_classes(&self) -> Option<Vec<(i64, String)>> {
        None
    }
    /// For one-hot layers, the window as the column that is 1 at each cell, instead of
    /// dense 0/1 columns (equal to [`Evidence::compute`]'s values, without allocating a
    /// value per cell and class). Default: `None` (the layer is read with `compute`).
    fn compute_hot(&self, _grid: &Grid, _w: &Window) -> Result<Option<HotBlock>> {
        Ok(None)
    }
    /// The coverage tally of the layer over the whole study area when its grid-wide pass
    /// counted it (a categorical class scan), so that `coverage` need not read the layer
    /// again: equal to what [`Evidence::compute`] would give. Default: `None` (not counted).
    fn scanned_coverage(&self) -> Option<ScannedCoverage> {
        None
    }
}

/// A layer's coverage of the study area as its grid-wide pass counted it
/// ([`Evidence::scanned_coverage`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScannedCoverage {
    /// Study-area cells where the layer has data.
    pub covered: u64,
    /// The least value of its first column there.
    pub min: f64,
    /// The greatest value of its first column there.
    pub max: f64,
}

/// No column is 1 at the cell: the layer has no data there, or a class it does not encode.
pub const NO_COLUMN: u32 = u32::MAX;

/// A one-hot layer's window by its hot column (see [`Evidence::compute_hot`]).
#[derive(Debug, Clone)]
pub struct HotBlock {
    /// Per cell: the column (counted within the layer's columns) whose value is 1, the
    /// others 0; [`NO_COLUMN`] where every column is 0.
    pub hot: Vec<u32>,
    /// Per cell: the layer has data there.
    pub valid: Vec<bool>,
}

/// Prepares one evidence layer: warps rasters, loads vectors, finds classes.
pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Box<dyn Evidence>> {
    match prepare_pass(settings, grid, Pass::All)? {
        Outcome::Layer(l, _) => Ok(l),
        Outcome::Partial(_) => unreachable!("Pass::All finishes"),
    }
}

/// A layer prepared by a [`Pass`].
enum Outcome {
    /// The finished layer, and its transform's values when this pass read them.
    Layer(Box<dyn Evidence>, Option<Vec<f64>>),
    /// The partial of [`Pass::Windows`].
    Partial(LayerScan),
}

/// Prepares one layer with its grid-wide passes as `pass` gives them. With
/// [`Pass::Merged`] a transform whose values the partials lack (they could not be read
/// before the kind's own pass was merged) reads them over every window.
fn prepare_pass(settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Outcome> {
    let layer = match prepare_kind(settings, grid, pass)? {
        Prepared::Layer(l) => l,
        Prepared::Partial(kind) => return Ok(Outcome::Partial(LayerScan { kind, values: None })),
    };
    let (values, read) = match pass {
        Pass::Windows(w) => {
            let values = transform::scan_values(settings.transform.as_ref(), grid, layer.as_ref(), w)?;
            return Ok(Outcome::Partial(LayerScan { kind: scan::KindScan::None, values }));
        }
        Pass::All => {
            (transform::scan_values(settings.transform.as_ref(), grid, layer.as_ref(), &grid.windows())?, false)
        }
        Pass::Merged(s) => match &s.values {
            Some(v) => (Some(v.clone()), false),
            None => (transform::scan_values(settings.transform.as_ref(), grid, layer.as_ref(), &grid.windows())?, true),
        },
    };
    let kept = if read { values.clone() } else { None };
    let layer = match values {
        Some(v) => transform::finish(settings.transform.as_ref(), layer, v)?,
        None => layer,
    };
    Ok(Outcome::Layer(layer, kept))
}

/// What the stack is prepared from: the grid and the validated evidence tables
/// (`config::Settings` gives both; the features never see the rest of the config).
pub trait Layers {
    /// The grid, with its study area.
    fn grid(&self) -> &Grid;
    /// The evidence tables, in config order.
    fn evidence(&self) -> &[EvidenceSettings];
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
    /// The columns of each layer, in order.
    pub spans: Vec<std::ops::Range<usize>>,
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
    /// `(cells, layers)`: the layer has data at the cell (study area not applied).
    pub layer_valid: Array2<bool>,
}

/// The features of one window with each one-hot layer kept as its hot column per cell
/// ([`FeatureStack::compute_features`]); [`WindowFeatures::into_block`] gives the dense
/// [`FeatureBlock`] of the same values.
#[derive(Debug, Clone)]
pub struct WindowFeatures {
    /// The window.
    pub window: Window,
    /// Per cell: inside the study area.
    pub in_study: Vec<bool>,
    /// Per cell: inside the study area and every layer has data.
    pub valid: Vec<bool>,
    /// `(cells, layers)`: the layer has data at the cell (study area not applied).
    pub layer_valid: Array2<bool>,
    /// Each layer's values, in order.
    pub layers: Vec<LayerValues>,
    /// The feature columns of each layer, in order.
    pub spans: Vec<std::ops::Range<usize>>,
}

/// One layer's values over a window.
#[derive(Debug, Clone)]
pub enum LayerValues {
    /// `(cells, layer columns)` values.
    Dense(Array2<f64>),
    /// A one-hot layer: per cell the column (within the layer) that is 1, or [`NO_COLUMN`].
    Hot(Vec<u32>),
}

impl WindowFeatures {
    /// The number of feature columns.
    pub fn columns(&self) -> usize {
        self.spans.last().map_or(0, |s| s.end)
    }

    /// The value of feature column `c` (of layer `layer`) at cell `i`.
    #[inline]
    pub fn value(&self, i: usize, layer: usize, c: usize) -> f64 {
        let j = c - self.spans[layer].start;
        match &self.layers[layer] {
            LayerValues::Dense(v) => v[[i, j]],
            LayerValues::Hot(h) => f64::from(u8::from(h[i] == j as u32)),
        }
    }

    /// Calls `f(column, value)` for each feature column of cell `i` in order, leaving out
    /// the 0 columns of one-hot layers (a sum of the visited values, started at +0, is
    /// the sum over every column bit for bit): a dense row without a value per class.
    #[inline]
    pub fn for_each_value(&self, i: usize, mut f: impl FnMut(usize, f64)) {
        for (layer, span) in self.layers.iter().zip(&self.spans) {
            match layer {
                LayerValues::Dense(v) => v.row(i).iter().enumerate().for_each(|(j, &x)| f(span.start + j, x)),
                LayerValues::Hot(h) if h[i] != NO_COLUMN => f(span.start + h[i] as usize, 1.0),
                LayerValues::Hot(_) => {}
            }
        }
    }

    /// Row-major copy of the feature rows of `cells`.
    pub fn rows(&self, cells: &[usize]) -> Vec<f64> {
        let mut x = Vec::with_capacity(cells.len() * self.columns());
        for &i in cells {
            for (k, span) in self.spans.iter().enumerate() {
                x.extend(span.clone().map(|c| self.value(i, k, c)));
            }
        }
        x
    }

    /// Gives the window's buffers back to this thread's spares ([`crate::scratch`]) for
    /// the next window computed on it.
    pub fn recycle(self) {
        use crate::scratch::give;
        for layer in self.layers {
            match layer {
                LayerValues::Dense(v) => give(v.into_raw_vec_and_offset().0),
                LayerValues::Hot(h) => give(h),
            }
        }
        give(self.in_study);
        give(self.valid);
        give(self.layer_valid.into_raw_vec_and_offset().0);
    }

    /// The dense block of the same values (one-hot layers as 0/1 columns).
    pub fn into_block(self) -> FeatureBlock {
        let n = self.in_study.len();
        let mut values = Array2::<f64>::zeros((n, self.columns()));
        for (layer, span) in self.layers.into_iter().zip(&self.spans) {
            match layer {
                LayerValues::Dense(v) => values.slice_mut(ndarray::s![.., span.clone()]).assign(&v),
                LayerValues::Hot(h) => {
                    for (i, &j) in h.iter().enumerate().filter(|(_, &j)| j != NO_COLUMN) {
                        values[[i, span.start + j as usize]] = 1.0;
                    }
                }
            }
        }
        FeatureBlock {
            window: self.window,
            values,
            in_study: self.in_study,
            valid: self.valid,
            layer_valid: self.layer_valid,
        }
    }
}

/// What the class-based models read of a window's cells, from a dense [`FeatureBlock`]
/// or a [`WindowFeatures`].
pub trait Cells {
    /// Per cell: inside the study area.
    fn in_study(&self) -> &[bool];
    /// Per cell: inside the study area and every layer has data.
    fn valid(&self) -> &[bool];
    /// Whether layer `layer` has data at cell `i`.
    fn layer_valid(&self, i: usize, layer: usize) -> bool;
    /// The value of feature column `c`, one of layer `layer`'s, at cell `i`.
    fn value(&self, i: usize, layer: usize, c: usize) -> f64;
    /// For a layer kept by its hot column: `Some` of that column (within the layer; `None`
    /// when every column is 0). `None` when the layer's columns are dense.
    fn hot(&self, i: usize, layer: usize) -> Option<Option<usize>>;
}

impl Cells for FeatureBlock {
    fn in_study(&self) -> &[bool] {
        &self.in_study
    }
    fn valid(&self) -> &[bool] {
        &self.valid
    }
    fn layer_valid(&self, i: usize, layer: usize) -> bool {
        self.layer_valid[[i, layer]]
    }
    fn value(&self, i: usize, _layer: usize, c: usize) -> f64 {
        self.values[[i, c]]
    }
    fn hot(&self, _i: usize, _layer: usize) -> Option<Option<usize>> {
        None
    }
}

impl Cells for WindowFeatures {
    fn in_study(&self) -> &[bool] {
        &self.in_study
    }
    fn valid(&self) -> &[bool] {
        &self.valid
    }
    fn layer_valid(&self, i: usize, layer: usize) -> bool {
        self.layer_valid[[i, layer]]
    }
    fn value(&self, i: usize, layer: usize, c: usize) -> f64 {
        WindowFeatures::value(self, i, layer, c)
    }
    fn hot(&self, i: usize, layer: usize) -> Option<Option<usize>> {
        match &self.layers[layer] {
            LayerValues::Hot(h) => Some((h[i] != NO_COLUMN).then_some(h[i] as usize)),
            LayerValues::Dense(_) => None,
        }
    }
}

/// What one evidence layer is, for `metrics.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerSummary {
    /// The layer's name.
    pub name: String,
    /// Its feature columns.
    pub columns: Vec<String>,
    /// What it computes and what preparing it found (fitted parameters, classes...).
    pub description: String,
}

impl FeatureStack {
    /// Prepares every evidence layer of `settings` (in parallel: warps and class scans):
    /// each grid-wide pass over every window, then finished.
    pub fn prepare(settings: &impl Layers) -> Result<FeatureStack> {
        let grid = settings.grid();
        // In parallel, but the error reported is the first in config order, whatever finished first.
        let prepared: Vec<Result<Box<dyn Evidence>>> =
            settings.evidence().par_iter().map(|ev| prepare(ev, grid)).collect();
        FeatureStack::assemble(grid, prepared.into_iter().collect::<Result<_>>()?)
    }

    /// The partials of every layer's grid-wide passes over `windows` (a tiled run's
    /// `prepare` task): nothing is finished, so a tile without a layer's data is no error.
    pub fn scan(settings: &impl Layers, windows: &[Window]) -> Result<StackScan> {
        let grid = settings.grid();
        let scanned: Vec<Result<LayerScan>> = settings
            .evidence()
            .par_iter()
            .map(|ev| match prepare_pass(ev, grid, Pass::Windows(windows))? {
                Outcome::Partial(s) => Ok(s),
                Outcome::Layer(..) => unreachable!("Pass::Windows stops at the partial"),
            })
            .collect();
        Ok(StackScan { layers: scanned.into_iter().collect::<Result<_>>()? })
    }

    /// Prepares every layer from `merged`, the partials of every window merged in window
    /// order: no window is read, except a transform's values that the partials lack
    /// (over a layer whose own pass had to be merged first), which are read over the grid
    /// and put into `merged`, so that the state saved from it is complete.
    pub fn prepare_merged(settings: &impl Layers, merged: &mut StackScan) -> Result<FeatureStack> {
        let grid = settings.grid();
        let evidence = settings.evidence();
        if merged.layers.len() != evidence.len() {
            return Err(Error::key(
                "evidence",
                format!("the prepared state holds {} layers, the config {}", merged.layers.len(), evidence.len()),
            ));
        }
        let prepared: Vec<Result<(Box<dyn Evidence>, Option<Vec<f64>>)>> = evidence
            .par_iter()
            .zip(&merged.layers)
            .map(|(ev, s)| match prepare_pass(ev, grid, Pass::Merged(s))? {
                Outcome::Layer(l, read) => Ok((l, read)),
                Outcome::Partial(_) => unreachable!("Pass::Merged finishes"),
            })
            .collect();
        let mut layers = Vec::new();
        for (p, s) in prepared.into_iter().zip(&mut merged.layers) {
            let (l, read) = p?;
            if read.is_some() {
                s.values = read;
            }
            layers.push(l);
        }
        FeatureStack::assemble(grid, layers)
    }

    fn assemble(grid: &Grid, layers: Vec<Box<dyn Evidence>>) -> Result<FeatureStack> {
        let grid = grid.clone();
        let columns: Vec<String> = layers.iter().flat_map(|l| l.columns()).collect();
        crate::grid::check_window_bytes(grid.block_size, columns.len())?;
        let mut spans = Vec::new();
        let mut start = 0;
        for l in &layers {
            let n = l.columns().len();
            spans.push(start..start + n);
            start += n;
        }
        for l in &layers {
            // What each layer found (fitted variogram, PCA loadings, classes...): logged
            // where the run logs its stages, and kept in metrics.json (`evidence`).
            tracing::info!("evidence `{}`: {}", l.name(), l.describe());
        }
        Ok(FeatureStack { grid, layers, columns, spans })
    }

    /// Each layer's name, columns and [`Evidence::describe`], in order.
    pub fn summaries(&self) -> Vec<LayerSummary> {
        self.layers
            .iter()
            .zip(&self.spans)
            .map(|(l, span)| LayerSummary {
                name: l.name().to_string(),
                columns: self.columns[span.clone()].to_vec(),
                description: l.describe(),
            })
            .collect()
    }

    /// Computes every layer over window `w`, as dense columns.
    pub fn compute(&self, w: &Window) -> Result<FeatureBlock> {
        Ok(self.compute_features(w)?.into_block())
    }

    /// Computes every layer over window `w`, one-hot layers by their hot column
    /// ([`WindowFeatures`]): what prediction reads, without a value per cell and class.
    pub fn compute_features(&self, w: &Window) -> Result<WindowFeatures> {
        let in_study = self.grid.mask(w)?;
        let mut valid = crate::scratch::take(w.len());
        valid.extend_from_slice(&in_study);
        let cells = crate::scratch::filled(w.len() * self.layers.len(), false);
        let mut layer_valid =
            Array2::from_shape_vec((w.len(), self.layers.len()), cells).expect("a flag per cell and layer");
        let mut layers = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let (values, ok) = match layer.compute_hot(&self.grid, w)? {
                Some(h) => (LayerValues::Hot(h.hot), h.valid),
                None => {
                    let b = layer.compute(&self.grid, w)?;
                    (LayerValues::Dense(b.values), b.valid)
                }
            };
            for (i, (v, &ok)) in valid.iter_mut().zip(&ok).enumerate() {
                *v &= ok;
                layer_valid[[i, k]] = ok;
            }
            crate::scratch::give(ok);
            layers.push(values);
        }
        Ok(WindowFeatures { window: *w, in_study, valid, layer_valid, layers, spans: self.spans.clone() })
    }

    /// Feature rows of single cells, in the order given, computed in parallel. `None`
    /// for a cell outside the study area or where some layer has no data.
    pub fn rows_at(&self, cells: &[Cell]) -> Result<Vec<Option<Vec<f64>>>> {
        Ok(self.cells(cells)?.into_iter().map(|b| b.valid[0].then(|| b.values.row(0).to_vec())).collect())
    }
}

/// The class of one layer at one cell, for class-based models (weights of evidence, fuzzy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClassAt {
    /// The layer has no data at the cell (or a one-hot layer has a class it does not encode).
    Missing,
    /// An integer class (a one-hot column's code, or an integer continuous value).
    Class(i64),
    /// A continuous value with a fractional part.
    Value(f64),
}

/// How to read a layer's class from its columns: where they are and, for one-hot
/// layers, the class code of each column.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClassReader {
    /// The layer's columns.
    pub span: std::ops::Range<usize>,
    /// Class code per column (one-hot layers), or `None` (one continuous column).
    pub codes: Option<Vec<i64>>,
}

impl ClassReader {
    /// The class of the layer at cell `i` of `block`, which holds the layer as layer `layer`.
    pub fn class_at<B: Cells + ?Sized>(&self, block: &B, i: usize, layer: usize) -> ClassAt {
        if !block.layer_valid(i, layer) {
            return ClassAt::Missing;
        }
        match &self.codes {
            Some(codes) => match block.hot(i, layer) {
                Some(hot) => hot.and_then(|j| codes.get(j)).map_or(ClassAt::Missing, |&code| ClassAt::Class(code)),
                None => self
                    .span
                    .clone()
                    .zip(codes)
                    .find(|(c, _)| block.value(i, layer, *c) == 1.0)
                    .map_or(ClassAt::Missing, |(_, &code)| ClassAt::Class(code)),
            },
            None => {
                let v = block.value(i, layer, self.span.start);
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    ClassAt::Class(v as i64)
                } else {
                    ClassAt::Value(v)
                }
            }
        }
    }
}

impl FeatureStack {
    /// Class readers of every layer, in order, for the models that read one class per
    /// layer and cell (weights of evidence, fuzzy overlay). A continuous layer with more
    /// than one column (aspect as sine and cosine, kriging with its variance, PCA
    /// components) has no single class per cell: an error naming the layer and its columns.
    pub fn class_readers(&self) -> Result<Vec<ClassReader>> {
        self.layers
            .iter()
            .zip(&self.spans)
            .map(|(l, span)| {
                let codes = l.class_codes();
                if codes.is_none() && span.len() > 1 {
                    return Err(Error::key(
                        format!("evidence `{}`", l.name()),
                        format!(
                            "has {} columns ({}); weights of evidence and fuzzy overlay read one value per cell: \
                             give it one column (e.g. `kriging_variance = false`, `components = 1`), or use another model kind",
                            span.len(),
                            self.columns[span.clone()].join(", ")
                        ),
                    ));
                }
                Ok(ClassReader { span: span.clone(), codes })
            })
            .collect()
    }

    /// Blocks of single cells, in the order given, computed in parallel. Cells are
    /// visited window by window so that GDAL's block cache serves neighbours.
    pub fn cells(&self, cells: &[Cell]) -> Result<Vec<FeatureBlock>> {
        let b = self.grid.block_size.max(1);
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by_key(|&i| (cells[i].row / b, cells[i].col / b, cells[i].row, cells[i].col));
        let computed: Vec<FeatureBlock> = order
            .par_iter()
            .map(|&i| {
                let c = cells[i];
                self.compute(&Window { col: c.col, row: c.row, cols: 1, rows: 1 })
            })
            .collect::<Result<_>>()?;
        crate::io::raster::close_single_cell_reads();
        let mut out: Vec<Option<FeatureBlock>> = vec![None; cells.len()];
        for (i, block) in order.into_iter().zip(computed) {
            out[i] = Some(block);
        }
        Ok(out.into_iter().map(|b| b.expect("every cell computed")).collect())
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

    /// The same classes by their hot column ([`Evidence::compute_hot`]).
    pub fn hot(classes: &[Option<Option<usize>>]) -> HotBlock {
        let hot = classes.iter().map(|c| c.flatten().map_or(NO_COLUMN, |k| k as u32)).collect();
        HotBlock { hot, valid: classes.iter().map(Option::is_some).collect() }
    }
}
