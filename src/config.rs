//! The run configuration: TOML parsed into [`RawConfig`] (every key declared once,
//! with its default, unknown keys rejected with their line), then validated into
//! [`Settings`] (paths resolved against the config file's folder, CRS parsed, every
//! input opened) before any heavy work starts.
//!
//! `docs/config.md` documents every key; keep it in step with this file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
pub(crate) use crate::features::spec::validate_evidence;
pub use crate::features::spec::{
    EvidenceInput, EvidenceKind, EvidenceSettings, FuzzyFrom, Membership, RawEvidence, RawFuzzy, RawWofeLayer,
};
use crate::grid::Grid;
use crate::io;
pub use crate::io::{Compression, Resampling};

// ---------------------------------------------------------------------------------------
// Raw config: what the TOML file says.
// ---------------------------------------------------------------------------------------

/// The config file as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[project]`
    pub project: RawProject,
    /// `[grid]`
    pub grid: RawGrid,
    /// `[labels]`: optional for a fuzzy model without `[validation]` (knowledge-driven,
    /// nothing to train or evaluate on).
    #[serde(default)]
    pub labels: Option<RawLabels>,
    /// `[[evidence]]`, one table per layer.
    #[serde(deserialize_with = "crate::features::spec::evidence_tables")]
    pub evidence: Vec<RawEvidence>,
    /// `[model]`
    #[serde(default)]
    pub model: RawModel,
    /// `[validation]`: cross-validation of the trainable models.
    #[serde(default)]
    pub validation: RawValidation,
    /// `[output]`
    pub output: RawOutput,
    /// `[targets]`: ranked target areas drawn from the map.
    #[serde(default)]
    pub targets: RawTargets,
}

/// `[targets]`: which cells make target areas, and which areas are kept.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    /// Write targets at all. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Cells in the best `top_percent` % of the scored area are target cells. Default 5
    /// (when `probability` is not set).
    pub top_percent: Option<f64>,
    /// Alternatively: cells with a map value >= `probability` are target cells.
    pub probability: Option<f64>,
    /// Target areas smaller than this (km²) are dropped. Default 1.
    #[serde(default = "default_min_area")]
    pub min_area_km2: f64,
    /// Also write `targets.geojson` (WGS84). Default false.
    #[serde(default)]
    pub geojson: bool,
    /// `score` (default): ranks by score; `greenfield`: every target without a known
    /// deposit first (by score), then the others (by score).
    #[serde(default)]
    pub rank_by: RankBy,
}

/// How targets are ranked (`[targets] rank_by`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// By score.
    #[default]
    Score,
    /// New ground first.
    Greenfield,
}

impl Default for RawTargets {
    fn default() -> Self {
        RawTargets {
            enabled: true,
            top_percent: None,
            probability: None,
            min_area_km2: default_min_area(),
            geojson: false,
            rank_by: RankBy::Score,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_min_area() -> f64 {
    1.0
}

/// `[project]`: name and seed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// Name written into output metadata.
    pub name: String,
    /// Seed of every random choice (negative sampling). Default 42.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Worker threads; 0 means one per core. Default 0.
    #[serde(default)]
    pub threads: usize,
    /// The evidence is a generated example, not real data (`lode init --example` sets
    /// it): the report and the console say so at the top. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
}

/// `[grid]`: the template raster, or CRS + bounds + cell size; optional study-area mask.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    /// Raster whose CRS, geotransform and shape define the grid.
    pub template: Option<PathBuf>,
    /// CRS of the grid (`EPSG:7845`, WKT or PROJ string), when no template.
    pub crs: Option<String>,
    /// `[xmin, ymin, xmax, ymax]` in the grid CRS, when no template.
    pub bounds: Option<[f64; 4]>,
    /// Cell edge length in CRS units, when no template.
    pub cell_size: Option<f64>,
    /// Study area: a polygon layer (cells whose centre is inside) or a raster
    /// (cells with data and a non-zero value). Default: the whole grid.
    pub mask: Option<PathBuf>,
    /// Layer of `mask` when it is a multi-layer vector source.
    pub mask_layer: Option<String>,
    /// CRS of a vector `mask` that has none or declares a wrong one (`EPSG:2157`, WKT or PROJ).
    pub mask_crs: Option<String>,
    /// Edge of the processing windows, in cells. Default 256.
    #[serde(default = "default_block_size")]
    pub block_size: usize,
    /// Fraction of the study area every evidence layer must have data on. Default 0.5
    /// (see [`DEFAULT_MIN_COVERAGE`]).
    #[serde(default = "default_min_coverage")]
    pub min_coverage: f64,
}

/// What `grid.min_coverage` defaults to: every layer must have data on at least half of
/// the study area. A cell needs data in every layer to be scored, so below one half most
/// of the map would be nodata, which is far more often a misplaced or mis-projected
/// layer than intent; a deliberately partial layer can lower it.
pub const DEFAULT_MIN_COVERAGE: f64 = 0.5;

fn default_min_coverage() -> f64 {
    DEFAULT_MIN_COVERAGE
}

/// `[labels]`: the known deposits and how negatives are drawn.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabels {
    /// Any OGR point source (Shapefile, GeoPackage, GeoJSON, FlatGeobuf, CSV with geometry).
    pub path: PathBuf,
    /// Layer name; default the first layer.
    pub layer: Option<String>,
    /// OGR SQL attribute filter, e.g. `commodity LIKE '%Li%'`.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Point table (XLSX, ODS, CSV, ...): column of the x coordinate (with `y` and `crs`).
    pub x: Option<String>,
    /// Point table: column of the y coordinate.
    pub y: Option<String>,
    /// CRS of the coordinates: a point table's, or one that replaces a source's missing or wrong CRS.
    pub crs: Option<String>,
    /// Negatives are drawn from cells at least this far (CRS units) from every deposit. Default 1000.
    #[serde(default = "default_negative_buffer")]
    pub negative_buffer: f64,
    /// Negative cells drawn per positive cell. Default 10.
    #[serde(default = "default_negative_ratio")]
    pub negatives_per_positive: f64,
    /// Negative cells drawn in all, instead of `negatives_per_positive`.
    pub negatives: Option<usize>,
    /// Cells whose centre lies within this distance of a deposit are positives too. Default 0.
    #[serde(default)]
    pub positive_buffer: f64,
    /// Attribute holding each deposit's name or id, listed in the `deposits` field of the
    /// targets holding it. Default none (deposits are listed as `#N`, their position in the
    /// layer after the filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_field: Option<String>,
}

/// The config side of [`crate::model_kinds!`] (the list of model kinds, kept with the
/// models): the [`ModelKind`] enum with its `model.kind` names.
macro_rules! model_kind_enum {
    ($( $family:ident($module:ident::$model:ident) {
        $( $(#[$attr:meta])* $kind:ident = $name:literal: $doc:literal ),+ $(,)?
    } ),+ $(,)?) => {
        /// The model kinds (`model.kind`); each is fitted by a [`crate::model::Model`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
        pub enum ModelKind {
            $($( #[doc = $doc] $(#[$attr])* #[serde(rename = $name)] $kind, )+)+
        }

        impl ModelKind {
            /// Every kind, in the list's order.
            pub const ALL: &'static [ModelKind] = &[$($(ModelKind::$kind,)+)+];

            /// The name used in config files (`model.kind`) and in `metrics.json`.
            pub fn name(self) -> &'static str {
                match self {
                    $($(ModelKind::$kind => $name,)+)+
                }
            }
        }
    };
}
crate::model_kinds!(model_kind_enum);

/// Class weights of the tree models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row weighs 1.
    #[default]
    None,
    /// Deposit rows weigh `negatives / positives`, so both classes weigh the same.
    Balanced,
}

/// Early stopping of gradient boosting (scikit-learn's `early_stopping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EarlyStopping {
    /// On when the training set has more than 10 000 rows.
    #[default]
    Auto,
    /// Always on.
    On,
    /// Never: every round is fitted on every row.
    Off,
}

/// How the tree models use the unlabelled (non-deposit) cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSampling {
    /// The sampled cells away from deposits are negatives (`labels.negative_buffer`).
    #[default]
    BufferedRandom,
    /// Positive-unlabelled bagging: `bags` models, each on the deposits and as many cells
    /// drawn with replacement from the sampled unlabelled cells; probabilities averaged.
    PuBagging,
}

/// Cross-validation schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ValidationKind {
    /// No cross-validation.
    #[default]
    None,
    /// Square blocks of `block_size` metres assigned to `folds` folds at random.
    SpatialBlock,
    /// Leave one deposit cluster out (single linkage at `cluster_distance`).
    Cluster,
    /// Rows assigned to `folds` folds at random: optimistic when evidence is smooth.
    Random,
    /// Folds given by a polygon layer (`attribute` = fold id) or a raster of fold ids (`path`).
    Layer,
}

impl ValidationKind {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationKind::None => "none",
            ValidationKind::SpatialBlock => "spatial_block",
            ValidationKind::Cluster => "cluster",
            ValidationKind::Random => "random",
            ValidationKind::Layer => "layer",
        }
    }
}

/// `[validation]`: cross-validation of every model kind.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawValidation {
    /// `none`, `spatial_block`, `cluster` or `random`. Default `none`.
    #[serde(default)]
    pub kind: ValidationKind,
    /// Folds of `spatial_block` and `random`. Default 5.
    #[serde(default = "default_folds")]
    pub folds: usize,
    /// Edge of the spatial blocks, CRS units (metres). Default 5000.
    #[serde(default = "default_cv_block")]
    pub block_size: f64,
    /// Training rows within this distance of any test row of a fold are dropped from
    /// that fold's training set. Default 0.
    #[serde(default)]
    pub buffer: f64,
    /// `cluster`: deposits closer than this (single linkage) form one cluster. Default 2000.
    #[serde(default = "default_cluster_distance")]
    pub cluster_distance: f64,
    /// Permutations per layer and fold for the permutation importance. Default 3.
    #[serde(default = "default_importance_repeats")]
    pub importance_repeats: usize,
    /// `spatial_block`: `[x, y]` corner the blocks are counted from. Default the grid origin.
    pub origin: Option<[f64; 2]>,
    /// `layer`: polygons (with `attribute`) or a raster of fold ids.
    pub path: Option<PathBuf>,
    /// `layer`, polygons: the attribute holding the fold id.
    pub attribute: Option<String>,
    /// `layer`, polygons: the layer name of a multi-layer source.
    pub layer: Option<String>,
}

impl Default for RawValidation {
    fn default() -> Self {
        RawValidation {
            kind: ValidationKind::None,
            folds: default_folds(),
            block_size: default_cv_block(),
            buffer: 0.0,
            cluster_distance: default_cluster_distance(),
            importance_repeats: default_importance_repeats(),
            origin: None,
            path: None,
            attribute: None,
            layer: None,
        }
    }
}

fn default_folds() -> usize {
    5
}
fn default_cv_block() -> f64 {
    5000.0
}
fn default_cluster_distance() -> f64 {
    2000.0
}
fn default_importance_repeats() -> usize {
    3
}
fn default_n_trees() -> usize {
    100
}
fn default_iterations() -> usize {
    100
}
fn default_learning_rate() -> f64 {
    0.1
}
fn default_max_leaves() -> usize {
    31
}
fn default_validation_fraction() -> f64 {
    0.1
}
fn default_n_iter_no_change() -> usize {
    10
}
fn default_max_bins() -> usize {
    255
}
fn default_bags() -> usize {
    10
}
fn default_var_smoothing() -> f64 {
    1e-9
}
fn is_default_var_smoothing(v: &f64) -> bool {
    *v == default_var_smoothing()
}

/// Fuzzy overlay operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FuzzyOperator {
    /// Minimum of the memberships.
    And,
    /// Maximum of the memberships.
    Or,
    /// Product of the memberships.
    Product,
    /// `1 - product(1 - m)`.
    Sum,
    /// `sum^gamma * product^(1 - gamma)`.
    #[default]
    Gamma,
}

/// `lda`: shrinkage of the pooled covariance towards a multiple of the identity
/// (scikit-learn's `shrinkage`), written `"auto"` or a number in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shrinkage {
    /// `"auto"`: the Ledoit-Wolf intensity, per class on standardised columns.
    Auto,
    /// A fixed intensity in [0, 1] (0: none, 1: the diagonal of equal variances).
    Fixed(f64),
}

impl Serialize for Shrinkage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Shrinkage::Auto => s.serialize_str("auto"),
            Shrinkage::Fixed(x) => s.serialize_f64(*x),
        }
    }
}

impl<'de> Deserialize<'de> for Shrinkage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Shrinkage;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"auto\" or a number in [0, 1]")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Shrinkage, E> {
                match v {
                    "auto" => Ok(Shrinkage::Auto),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Shrinkage, E> {
                Ok(Shrinkage::Fixed(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Shrinkage, E> {
                Ok(Shrinkage::Fixed(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Shrinkage, E> {
                Ok(Shrinkage::Fixed(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[model]`: which model and its settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Model family. Default `logistic`.
    #[serde(default)]
    pub kind: ModelKind,
    /// L2 penalty of the logistic regression. Default 1.0.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Iteration limit of the optimiser. Default 200.
    #[serde(default = "default_max_iterations")]
    pub max_iterations: u64,
    /// Weights of evidence: area of a unit cell in km². Default 1.
    #[serde(default = "default_unit_cell")]
    pub unit_cell_km2: f64,
    /// Weights of evidence: studentized contrast a layer needs to be generalised. Default 2.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Fuzzy overlay: the operator. Default `gamma`.
    #[serde(default)]
    pub operator: FuzzyOperator,
    /// Fuzzy overlay: gamma in [0, 1]. Default 0.9.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Random forest: number of trees. Default 100.
    #[serde(default = "default_n_trees")]
    pub n_trees: usize,
    /// Gradient boosting: boosting rounds. Default 100.
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    /// Gradient boosting: shrinkage. Default 0.1.
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// Tree depth limit. Default none.
    pub max_depth: Option<usize>,
    /// Tree models: fewest rows in a leaf. Default 1 for random_forest, 20 for gradient_boosting.
    pub min_samples_leaf: Option<usize>,
    /// Random forest: columns tried per split. Default sqrt(columns).
    pub max_features: Option<usize>,
    /// Tree models: quantile bins per column (2..=256). Default 255.
    #[serde(default = "default_max_bins")]
    pub max_bins: usize,
    /// Tree models: `none` or `balanced`. Default `none`.
    #[serde(default)]
    pub class_weight: ClassWeight,
    /// Tree models: `buffered_random` or `pu_bagging`. Default `buffered_random`.
    #[serde(default)]
    pub negative_sampling: NegativeSampling,
    /// `pu_bagging`: number of bags. Default 10.
    #[serde(default = "default_bags")]
    pub bags: usize,
    /// Gradient boosting: most leaves per tree. Default 31.
    #[serde(default = "default_max_leaves")]
    pub max_leaves: usize,
    /// Gradient boosting: L2 penalty on the leaf values. Default 0.
    #[serde(default)]
    pub l2_regularization: f64,
    /// Gradient boosting: `auto`, `on` or `off`. Default `auto` (on above 10 000 rows).
    #[serde(default)]
    pub early_stopping: EarlyStopping,
    /// Gradient boosting, early stopping: fraction of the rows held out. Default 0.1.
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Gradient boosting, early stopping: rounds without improvement before stopping. Default 10.
    #[serde(default = "default_n_iter_no_change")]
    pub n_iter_no_change: usize,
    /// Naive Bayes: share of the largest column variance added to every variance.
    /// Default 1e-9 (scikit-learn's). Not serialized at its default, so the settings hash
    /// of configs written before the key existed is unchanged.
    #[serde(default = "default_var_smoothing", skip_serializing_if = "is_default_var_smoothing")]
    pub var_smoothing: f64,
    /// LDA: shrinkage of the pooled covariance, `"auto"` or a number in [0, 1]. Default
    /// none. Not serialized when not set (the settings hash of older configs is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrinkage: Option<Shrinkage>,
}

impl Default for RawModel {
    fn default() -> Self {
        RawModel {
            kind: ModelKind::Logistic,
            alpha: default_alpha(),
            max_iterations: default_max_iterations(),
            unit_cell_km2: default_unit_cell(),
            confidence: default_confidence(),
            operator: FuzzyOperator::Gamma,
            gamma: default_gamma(),
            n_trees: default_n_trees(),
            iterations: default_iterations(),
            learning_rate: default_learning_rate(),
            max_depth: None,
            min_samples_leaf: None,
            max_features: None,
            max_bins: default_max_bins(),
            class_weight: ClassWeight::None,
            negative_sampling: NegativeSampling::BufferedRandom,
            bags: default_bags(),
            max_leaves: default_max_leaves(),
            l2_regularization: 0.0,
            early_stopping: EarlyStopping::Auto,
            validation_fraction: default_validation_fraction(),
            n_iter_no_change: default_n_iter_no_change(),
            var_smoothing: default_var_smoothing(),
            shrinkage: None,
        }
    }
}

/// `[output]`: where results go.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Output folder (created if missing).
    pub dir: PathBuf,
    /// `deflate` or `zstd`. Default `deflate`.
    #[serde(default)]
    pub compression: Compression,
    /// Write the pictures (`quicklook.png`, `roc.png`, `success_rate.png`) and `report.html`. Default true.
    #[serde(default = "default_true")]
    pub report: bool,
    /// Write evidence layers as put on the grid (`evidence/<name>.tif`, see
    /// `evidence_out`): `true` for all, or a list of layer names. Default false (left out
    /// of the settings checksum while off, so older runs keep theirs).
    #[serde(default, skip_serializing_if = "EvidenceSelection::is_off")]
    pub evidence: EvidenceSelection,
}

/// `output.evidence`: which evidence layers are written as rasters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum EvidenceSelection {
    /// All (`true`) or none (`false`).
    All(bool),
    /// The layers named.
    Layers(Vec<String>),
}

impl Default for EvidenceSelection {
    fn default() -> Self {
        EvidenceSelection::All(false)
    }
}

impl EvidenceSelection {
    /// No layer is written.
    pub fn is_off(&self) -> bool {
        matches!(self, EvidenceSelection::All(false))
    }
}

/// Longest `project.name` accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

fn default_seed() -> u64 {
    42
}
fn default_block_size() -> usize {
    256
}
fn default_negative_buffer() -> f64 {
    1000.0
}
fn default_negative_ratio() -> f64 {
    10.0
}
fn default_alpha() -> f64 {
    1.0
}
fn default_max_iterations() -> u64 {
    200
}
fn default_unit_cell() -> f64 {
    1.0
}
fn default_confidence() -> f64 {
    2.0
}
fn default_gamma() -> f64 {
    0.9
}

/// Every input of `raw` with its config key.
fn inputs(raw: &RawConfig) -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    if let Some(t) = &raw.grid.template {
        v.push(("grid.template".to_string(), t.clone()));
    }
    if let Some(m) = &raw.grid.mask {
        v.push(("grid.mask".to_string(), m.clone()));
    }
    if let Some(l) = &raw.labels {
        v.push(("labels.path".to_string(), l.path.clone()));
    }
    for (i, ev) in raw.evidence.iter().enumerate() {
        v.push((format!("evidence[{i}].path"), ev.path.clone()));
    }
    v
}

/// `value` without its null members, at any depth: the canonical form the settings hash
/// is taken over (keys sorted, as `serde_json`'s maps keep them), which depends on what
/// the config sets and not on how the declaration orders or groups its keys.
fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

impl RawConfig {
    /// Parses TOML text; errors carry the line and column and name the key.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::ParseConfig { path: path.to_path_buf(), message: e.to_string() })
    }
}

// ---------------------------------------------------------------------------------------
// Settings: the validated configuration.
// ---------------------------------------------------------------------------------------

/// The validated configuration: every path resolved and opened, the grid built.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file.
    pub config_path: PathBuf,
    /// SHA-256 of the config file's bytes.
    pub config_sha256: String,
    /// SHA-256 of the resolved settings (every key with its value or default, paths
    /// absolute) without the output folder: what computed the maps. Two configs that
    /// resolve to the same settings (e.g. a rerun from a manifest) give the same hash.
    pub settings_sha256: String,
    /// Every input file with the config key that names it (`grid.template`,
    /// `evidence[2].path`, ...), paths resolved: what the manifest hashes and what the
    /// output folder may not hold.
    pub inputs: Vec<(String, PathBuf)>,
    /// The config as parsed with its paths resolved: only what the manifest copies (for a
    /// rerun) and the settings hash are taken from it. No stage reads an option from it;
    /// they read the typed fields above.
    pub(crate) resolved: RawConfig,
    /// Project name.
    pub name: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// The grid, with its study-area mask.
    pub grid: Grid,
    /// Deposits and negative sampling.
    pub labels: LabelSettings,
    /// Evidence layers, checked and opened.
    pub evidence: Vec<EvidenceSettings>,
    /// Model settings.
    pub model: RawModel,
    /// Cross-validation settings.
    pub validation: RawValidation,
    /// Output settings (folder resolved).
    pub output: RawOutput,
    /// Target areas (`[targets]`).
    pub targets: RawTargets,
    /// Fraction of the study area every evidence layer must have data on (`grid.min_coverage`).
    pub min_coverage: f64,
    /// The evidence is a generated example (`project.synthetic`).
    pub synthetic: bool,
}

/// Validated `[labels]`.
#[derive(Debug, Clone)]
pub struct LabelSettings {
    /// The vector source and layer of the deposits; `None` without `[labels]`.
    pub source: Option<io::vector::LayerRef>,
    /// Minimum distance of a negative from every deposit.
    pub negative_buffer: f64,
    /// Negatives per positive.
    pub negatives_per_positive: f64,
    /// Negatives in all (instead of per positive).
    pub negatives: Option<usize>,
    /// Cells within this distance of a deposit are positives too.
    pub positive_buffer: f64,
    /// The attribute naming each deposit (`labels.name_field`).
    pub name_field: Option<String>,
}

impl crate::features::Layers for Settings {
    fn grid(&self) -> &Grid {
        &self.grid
    }
    fn evidence(&self) -> &[EvidenceSettings] {
        &self.evidence
    }
}

impl Settings {
    /// Reads, parses and validates a config file. Opens every input; does no heavy work.
    pub fn load(config_path: &Path) -> Result<Settings> {
        let bytes = std::fs::read(config_path)
            .map_err(|source| Error::ReadConfig { path: config_path.to_path_buf(), source })?;
        let text = String::from_utf8(bytes.clone()).map_err(|e| Error::ParseConfig {
            path: config_path.to_path_buf(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        let raw = RawConfig::parse(&text, config_path)?;
        let base = config_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let sha = format!("{:x}", Sha256::digest(&bytes));
        Settings::from_raw(raw, &base, config_path, sha)
    }

    /// Validates a parsed config whose relative paths are relative to `base`.
    pub fn from_raw(mut raw: RawConfig, base: &Path, config_path: &Path, sha: String) -> Result<Settings> {
        io::init();
        let resolve = |p: &Path| resolve_path(base, p);

        if raw.project.name.trim().is_empty() {
            return Err(Error::key("project.name", "must not be empty"));
        }
        if raw.grid.block_size < 16 || raw.grid.block_size > 4096 {
            return Err(Error::key("grid.block_size", format!("{} is outside 16..=4096 cells", raw.grid.block_size)));
        }
        if !(0.0..=1.0).contains(&raw.grid.min_coverage) {
            return Err(Error::key("grid.min_coverage", format!("{} is outside [0, 1]", raw.grid.min_coverage)));
        }
        if raw.project.name.len() > MAX_NAME_BYTES {
            // The name is copied into every map's tags, the manifest and the report.
            return Err(Error::key(
                "project.name",
                format!("is {} bytes long; at most {MAX_NAME_BYTES}", raw.project.name.len()),
            ));
        }

        // Grid.
        raw.grid.template = raw.grid.template.as_deref().map(resolve);
        raw.grid.mask = raw.grid.mask.as_deref().map(resolve);
        let grid = build_grid(&raw.grid)?;

        // Labels: only a fuzzy overlay without [validation] needs none.
        let labels = match &mut raw.labels {
            Some(l) => {
                l.path = resolve(&l.path);
                let keys = io::vector::SourceKeys::new("labels", l.x.as_deref(), l.y.as_deref(), l.crs.as_deref());
                let source = io::vector::LayerRef::open_with(
                    "labels.path",
                    &l.path,
                    l.layer.as_deref(),
                    l.filter.as_deref(),
                    &keys,
                )?;
                if let Some(f) = &l.name_field {
                    source.check_field(f).map_err(|e| Error::key("labels.name_field", e.to_string()))?;
                }
                if !(l.negative_buffer >= 0.0 && l.negative_buffer.is_finite()) {
                    return Err(Error::key("labels.negative_buffer", "must be a distance >= 0"));
                }
                // No upper limit: the draw stops with an error if the study area has too few cells.
                if !(l.negatives_per_positive > 0.0 && l.negatives_per_positive.is_finite()) {
                    return Err(Error::key("labels.negatives_per_positive", "must be a number > 0"));
                }
                if l.negatives == Some(0) {
                    return Err(Error::key("labels.negatives", "must be at least 1"));
                }
                if !(l.positive_buffer >= 0.0 && l.positive_buffer.is_finite()) {
                    return Err(Error::key("labels.positive_buffer", "must be a distance >= 0"));
                }
                LabelSettings {
                    source: Some(source),
                    name_field: l.name_field.clone(),
                    negative_buffer: l.negative_buffer,
                    negatives_per_positive: l.negatives_per_positive,
                    negatives: l.negatives,
                    positive_buffer: l.positive_buffer,
                }
            }
            None if raw.model.kind == ModelKind::Fuzzy && raw.validation.kind == ValidationKind::None => {
                LabelSettings {
                    source: None,
                    name_field: None,
                    negative_buffer: default_negative_buffer(),
                    negatives_per_positive: default_negative_ratio(),
                    negatives: None,
                    positive_buffer: 0.0,
                }
            }
            None => {
                return Err(Error::key(
                    "labels",
                    "[labels] (the known deposits) is needed to train and to cross-validate; only \
                     model.kind = \"fuzzy\" without [validation] runs without it",
                ))
            }
        };

        // Evidence.
        if raw.evidence.is_empty() {
            return Err(Error::key("evidence", "at least one [[evidence]] layer is needed"));
        }
        let mut evidence = Vec::new();
        for (i, ev) in raw.evidence.iter_mut().enumerate() {
            ev.path = resolve(&ev.path);
            evidence.push(validate_evidence(i, ev, &evidence)?);
        }

        // Model.
        if !(raw.model.alpha >= 0.0 && raw.model.alpha.is_finite()) {
            return Err(Error::key("model.alpha", "must be >= 0"));
        }
        if raw.model.max_iterations == 0 {
            return Err(Error::key("model.max_iterations", "must be at least 1"));
        }
        if !(raw.model.unit_cell_km2 > 0.0 && raw.model.unit_cell_km2.is_finite()) {
            return Err(Error::key("model.unit_cell_km2", "must be > 0"));
        }
        if !(raw.model.var_smoothing > 0.0 && raw.model.var_smoothing.is_finite()) {
            return Err(Error::key("model.var_smoothing", format!("{} is not a number > 0", raw.model.var_smoothing)));
        }
        if let Some(Shrinkage::Fixed(x)) = raw.model.shrinkage {
            if !(0.0..=1.0).contains(&x) {
                return Err(Error::key("model.shrinkage", format!("{x} is outside [0, 1]; or \"auto\" (Ledoit-Wolf)")));
            }
        }
        if !(0.0..=1.0).contains(&raw.model.gamma) {
            return Err(Error::key("model.gamma", format!("{} is outside [0, 1]", raw.model.gamma)));
        }
        if raw.model.kind == ModelKind::Fuzzy {
            for (i, ev) in raw.evidence.iter().enumerate() {
                if ev.common.fuzzy.is_none() {
                    return Err(Error::key(
                        format!("evidence[{i}].fuzzy"),
                        format!("model.kind = \"fuzzy\" needs a membership for layer `{}`", ev.name),
                    ));
                }
            }
        }

        validate_trees(&raw.model, &raw.validation)?;
        raw.validation.path = raw.validation.path.as_deref().map(resolve);
        check_validation_keys(&raw.validation)?;

        if raw.output.dir.as_os_str().is_empty() {
            return Err(Error::key("output.dir", "is empty; name a folder of its own, e.g. \"out\""));
        }
        raw.output.dir = resolve(&raw.output.dir);
        let t = &raw.targets;
        match (t.top_percent, t.probability) {
            (Some(_), Some(_)) => {
                return Err(Error::key("targets.probability", "give either `top_percent` or `probability`, not both"))
            }
            (Some(p), None) if !(p > 0.0 && p <= 100.0) => {
                return Err(Error::key("targets.top_percent", format!("{p} is outside (0, 100]")))
            }
            (None, Some(p)) if !p.is_finite() => return Err(Error::key("targets.probability", "must be a number")),
            _ => {}
        }
        if !(t.min_area_km2 >= 0.0 && t.min_area_km2.is_finite()) {
            return Err(Error::key("targets.min_area_km2", "must be >= 0"));
        }

        let settings_sha256 = {
            let mut r = raw.clone();
            r.output.dir = PathBuf::new();
            let mut value = serde_json::to_value(&r).map_err(|e| Error::key("config", e.to_string()))?;
            drop_nulls(&mut value);
            format!("{:x}", Sha256::digest(value.to_string()))
        };
        Ok(Settings {
            config_path: config_path.to_path_buf(),
            config_sha256: sha,
            settings_sha256,
            name: raw.project.name.clone(),
            seed: raw.project.seed,
            threads: raw.project.threads,
            grid,
            labels,
            evidence,
            model: raw.model.clone(),
            validation: raw.validation.clone(),
            output: raw.output.clone(),
            targets: raw.targets.clone(),
            min_coverage: raw.grid.min_coverage,
            synthetic: raw.project.synthetic,
            inputs: inputs(&raw),
            resolved: raw,
        })
    }
}

/// A config path resolved against the config's folder `base`: GDAL virtual paths
/// (`/vsizip/`, `/vsis3/`, `/vsicurl/https://...`) as written, a plain `.zip` through
/// `/vsizip/`, others joined to `base` and normalised.
pub(crate) fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    if io::is_virtual(p) {
        return p.to_path_buf();
    }
    io::gdal_path(&normalize(&if p.is_absolute() { p.to_path_buf() } else { base.join(p) }))
}

/// Checks the `[validation]` keys of the `layer` scheme and `origin`.
fn check_validation_keys(v: &RawValidation) -> Result<()> {
    let layer = v.kind == ValidationKind::Layer;
    for (k, set) in [("path", v.path.is_some()), ("attribute", v.attribute.is_some()), ("layer", v.layer.is_some())] {
        if set && !layer {
            return Err(Error::key(format!("validation.{k}"), "only applies to `kind = \"layer\"`"));
        }
    }
    if v.origin.is_some() && v.kind != ValidationKind::SpatialBlock {
        return Err(Error::key("validation.origin", "only applies to `kind = \"spatial_block\"`"));
    }
    if let Some(o) = v.origin.filter(|o| !(o[0].is_finite() && o[1].is_finite())) {
        return Err(Error::key("validation.origin", format!("{o:?} is not a point")));
    }
    if layer {
        let Some(path) = &v.path else {
            return Err(Error::key("validation.path", "`kind = \"layer\"` needs the fold polygons or raster"));
        };
        if !crate::io::exists(path) {
            return Err(Error::MissingFile { key: "validation.path".into(), path: path.clone() });
        }
    }
    Ok(())
}

/// Removes `.` and `name/..` pairs without touching the file system, so messages show
/// `out/cloncurry` rather than `data/cloncurry/../../out/cloncurry`.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn validate_trees(m: &RawModel, v: &RawValidation) -> Result<()> {
    if m.n_trees == 0 {
        return Err(Error::key("model.n_trees", "must be at least 1"));
    }
    if m.iterations == 0 {
        return Err(Error::key("model.iterations", "must be at least 1"));
    }
    if !(m.learning_rate > 0.0 && m.learning_rate <= 1.0) {
        return Err(Error::key("model.learning_rate", format!("{} is outside (0, 1]", m.learning_rate)));
    }
    if m.max_depth == Some(0) {
        return Err(Error::key("model.max_depth", "must be at least 1"));
    }
    if m.max_leaves < 2 {
        return Err(Error::key("model.max_leaves", "must be at least 2"));
    }
    if !(m.l2_regularization >= 0.0 && m.l2_regularization.is_finite()) {
        return Err(Error::key("model.l2_regularization", format!("{} is not a number >= 0", m.l2_regularization)));
    }
    if !(m.validation_fraction > 0.0 && m.validation_fraction < 1.0) {
        return Err(Error::key("model.validation_fraction", format!("{} is outside (0, 1)", m.validation_fraction)));
    }
    if m.n_iter_no_change == 0 {
        return Err(Error::key("model.n_iter_no_change", "must be at least 1"));
    }
    if m.min_samples_leaf == Some(0) {
        return Err(Error::key("model.min_samples_leaf", "must be at least 1"));
    }
    if m.max_features == Some(0) {
        return Err(Error::key("model.max_features", "must be at least 1"));
    }
    if !(2..=256).contains(&m.max_bins) {
        return Err(Error::key("model.max_bins", format!("{} is outside 2..=256", m.max_bins)));
    }
    if m.bags == 0 {
        return Err(Error::key("model.bags", "must be at least 1"));
    }
    if v.folds < 2 {
        return Err(Error::key("validation.folds", "must be at least 2"));
    }
    if !(v.block_size > 0.0 && v.block_size.is_finite()) {
        return Err(Error::key("validation.block_size", "must be a distance > 0"));
    }
    if !(v.buffer >= 0.0 && v.buffer.is_finite()) {
        return Err(Error::key("validation.buffer", "must be a distance >= 0"));
    }
    if !(v.cluster_distance > 0.0 && v.cluster_distance.is_finite()) {
        return Err(Error::key("validation.cluster_distance", "must be a distance > 0"));
    }
    if v.importance_repeats == 0 {
        return Err(Error::key("validation.importance_repeats", "must be at least 1"));
    }
    Ok(())
}

/// Builds the grid from `[grid]`: a template raster, or CRS + bounds + cell size.
pub fn build_grid(raw: &RawGrid) -> Result<Grid> {
    use crate::grid::Mask;
    let explicit = raw.crs.is_some() || raw.bounds.is_some() || raw.cell_size.is_some();
    let mut grid = match (&raw.template, explicit) {
        (Some(_), true) => {
            return Err(Error::key(
                "grid.template",
                "give either a template raster or crs + bounds + cell_size, not both",
            ))
        }
        (Some(path), false) => io::raster::BandRef::open("grid.template", path, 1)?.grid(raw.block_size),
        (None, _) => {
            let (Some(crs), Some(bounds), Some(cell)) = (&raw.crs, raw.bounds, raw.cell_size) else {
                return Err(Error::key("grid", "needs `template`, or all three of `crs`, `bounds` and `cell_size`"));
            };
            let srs = io::resolve_crs(crs).map_err(|e| Error::key("grid.crs", format!("`{crs}`: {e}")))?;
            if !(cell > 0.0 && cell.is_finite()) {
                return Err(Error::key("grid.cell_size", format!("{cell} must be > 0")));
            }
            let [xmin, ymin, xmax, ymax] = bounds;
            if !(xmax > xmin && ymax > ymin && (xmax - xmin).is_finite() && (ymax - ymin).is_finite()) {
                return Err(Error::key("grid.bounds", "must be finite [xmin, ymin, xmax, ymax] with max > min"));
            }
            crate::grid::checked_shape(xmax - xmin, ymax - ymin, cell, raw.block_size)?;
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
                crs_wkt: srs.wkt,
                crs_name: srs.name,
                metres_per_unit: srs.metres_per_unit,
                geo_transform: [xmin, cell, 0.0, ymax, 0.0, -cell],
                cols,
                rows,
                block_size: raw.block_size,
                mask: Mask::All,
            }
        }
    };
    crate::grid::check_counts(grid.cols as u64, grid.rows as u64, grid.block_size)
        .map_err(|why| Error::key("grid", format!("{} x {} cells: {why}", grid.cols, grid.rows)))?;
    if let Some(path) = &raw.mask {
        grid.mask = io::vector::open_mask(path, raw.mask_layer.as_deref(), raw.mask_crs.as_deref(), &grid)?;
    } else if raw.mask_layer.is_some() {
        return Err(Error::key("grid.mask_layer", "is set but `grid.mask` is not"));
    } else if raw.mask_crs.is_some() {
        return Err(Error::key("grid.mask_crs", "is set but `grid.mask` is not"));
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[project]
name = "t"

[grid]
template = "a.tif"

[labels]
path = "d.shp"

[[evidence]]
name = "a"
kind = "raster"
path = "a.tif"

[output]
dir = "out"
"#;

    #[test]
    fn minimal_config_takes_documented_defaults() {
        let c = RawConfig::parse(MINIMAL, Path::new("c.toml")).unwrap();
        assert_eq!(c.project.seed, 42);
        assert_eq!(c.grid.block_size, 256);
        let labels = c.labels.as_ref().unwrap();
        assert_eq!(labels.negative_buffer, 1000.0);
        assert_eq!(labels.negatives_per_positive, 10.0);
        assert_eq!(c.evidence[0].raster_keys().band, 1);
        assert_eq!(c.evidence[0].raster_keys().resampling, Resampling::Auto);
        assert_eq!(c.model.kind, ModelKind::Logistic);
        assert_eq!(c.output.compression, Compression::Deflate);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = MINIMAL.replace("kind = \"raster\"", "kind = \"raster\"\nresmapling = \"nearest\"");
        let err = RawConfig::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("resmapling"), "{err}");
        assert!(err.contains("line 14"), "{err}");
        assert!(err.contains("c.toml"), "{err}");
    }

    #[test]
    fn a_key_of_another_kind_is_refused_naming_the_key_and_both_kinds_at_its_line() {
        for (line, owner) in [
            ("derivative = \"slope\"", "`terrain`"),
            ("statistic = \"mean\"", "`focal`"),
            ("method = \"raster\"", "`distance`"),
            ("kernel = \"quartic\"", "`point_density`"),
            ("power = 2.0", "`interpolate`"),
            ("variogram = \"spherical\"", "`interpolate`"),
            ("index = \"ndvi\"", "`spectral`"),
            ("radius = 500.0", "`focal`, `line_density`, `point_density`"),
            ("layer = \"faults\"", "vector kinds (distance, rasterize"),
        ] {
            let text = MINIMAL.replace("kind = \"raster\"", &format!("kind = \"raster\"\n{line}"));
            let err = RawConfig::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
            let key = line.split(' ').next().unwrap_or_default();
            assert!(err.contains(&format!("evidence[0].{key}")), "{line}: {err}");
            assert!(err.contains(&format!("only applies to {owner}")) && err.contains("not `raster`"), "{line}: {err}");
            assert!(err.contains("line 14"), "{line}: {err}");
        }
        // Before `kind` is read the key is refused too, at the table.
        let text =
            MINIMAL.replace("name = \"a\"\nkind = \"raster\"", "name = \"a\"\nstatistic = \"mean\"\nkind = \"raster\"");
        let err = RawConfig::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("evidence[0].statistic: only applies to `focal`, not `raster`"), "{err}");
        assert!(RawConfig::parse(MINIMAL, Path::new("c.toml")).is_ok());
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_table_and_the_key() {
        let text = MINIMAL.replace("kind = \"raster\"", "kind = \"raster\"\nband = \"two\"");
        let err = RawConfig::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("evidence[0] (`a`)") && err.contains("band") && err.contains("two"), "{err}");
    }

    #[test]
    fn every_kind_parses_alone_and_its_serialized_table_parses_back_the_same() {
        for kind in EvidenceKind::ALL {
            let text = format!("name = \"a\"\nkind = \"{}\"\npath = \"p\"\n", kind.as_str());
            let ev: RawEvidence = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
            assert_eq!(ev.raster.is_some(), kind.input() == crate::features::spec::Input::Raster);
            let again: RawEvidence = toml::from_str(&toml::to_string(&ev).unwrap()).unwrap();
            assert_eq!(serde_json::to_value(&ev).unwrap(), serde_json::to_value(&again).unwrap());
            assert_eq!(toml::Value::try_from(kind).unwrap().as_str(), Some(kind.as_str()));
        }
    }

    #[test]
    fn a_manifest_of_the_flat_declaration_reads_back_but_a_users_misplaced_default_is_refused() {
        // What lode wrote before each kind declared its own keys: band, resampling and
        // max_classes on every table.
        let legacy = MINIMAL.replace(
            "kind = \"raster\"\npath = \"a.tif\"",
            "kind = \"distance\"\npath = \"f.shp\"\nband = 1\nresampling = \"auto\"\nmax_classes = 256",
        );
        let err = RawConfig::parse(&legacy, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("evidence[0].band: only applies to raster kinds"), "{err}");
        let mut table: toml::Table = toml::from_str(&legacy).unwrap();
        crate::features::spec::drop_legacy_defaults(&mut table);
        let raw: RawConfig = toml::Value::Table(table).try_into().unwrap();
        assert_eq!(raw.evidence[0].kind, EvidenceKind::Distance);
        // Only the old defaults go: another value is still the parser's to refuse.
        let changed = legacy.replace("band = 1", "band = 2");
        let mut table: toml::Table = toml::from_str(&changed).unwrap();
        crate::features::spec::drop_legacy_defaults(&mut table);
        let err = toml::Value::Table(table).try_into::<RawConfig>().unwrap_err().to_string();
        assert!(err.contains("evidence[0].band: only applies to raster kinds"), "{err}");
    }

    #[test]
    fn relative_paths_are_normalised_lexically() {
        assert_eq!(normalize(Path::new("data/cloncurry/../../out/c")), PathBuf::from("out/c"));
        assert_eq!(normalize(Path::new("/a/./b/../c.tif")), PathBuf::from("/a/c.tif"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let text = MINIMAL.replace("kind = \"raster\"", "kind = \"rastr\"");
        let err = RawConfig::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("rastr") && err.contains("categorical"), "{err}");
    }
}
