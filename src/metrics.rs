//! What a run reports: `metrics.json` ([`Metrics`]) and lode's version. Stages below
//! `lib.rs` (report, manifest) take these from here, never from the crate root.

use serde::Serialize;

use crate::evaluate::Evaluation;
use crate::labels::Deposits;
use crate::{features, grid, model, predict, targets, validation};

/// lode's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `metrics.json` holds (documented in `docs/outputs.md`).
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// lode's version.
    pub lode_version: String,
    /// GDAL's version.
    pub gdal_version: String,
    /// Project name.
    pub project: String,
    /// The evidence is a generated example (`project.synthetic`), not real data.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
    /// SHA-256 of the config file.
    pub config_sha256: String,
    /// The held-out figures of `[validation]` (absent without it): the honest headline.
    pub held_out: Option<HeldOut>,
    /// ROC AUC of the map: deposits against every scored cell without a deposit. Fitted:
    /// measured on the deposits the model was trained on, so optimistic.
    pub auc: f64,
    /// Deposits in the best 1, 5, 10, 20, 50 % of the scored area, on the map (fitted;
    /// the one definition: see `evaluate`).
    pub capture: Vec<crate::evaluate::Capture>,
    /// Success-rate curve as `[area_fraction, deposit_fraction]` pairs.
    pub success_rate: Vec<[f64; 2]>,
    /// The full evaluation record.
    pub evaluation: Evaluation,
    /// Deposit counts.
    pub deposits: DepositCounts,
    /// What fitting the model reports (per model kind: see docs/outputs.md).
    #[serde(serialize_with = "sorted_keys")]
    pub fit: model::FitReport,
    /// Prediction cell counts.
    pub prediction: predict::PredictSummary,
    /// The grid.
    pub grid: grid::GridInfo,
    /// Feature columns, in model order.
    pub features: Vec<String>,
    /// Each evidence layer: name, columns, and what preparing it found.
    pub evidence: Vec<features::LayerSummary>,
    /// Each evidence layer's coverage of the study area, measured cell by cell.
    pub coverage: Vec<crate::coverage::LayerCoverage>,
    /// The fitted model ([`model::FittedModel::describe`]).
    pub model: serde_json::Value,
    /// Its kind, typed (`model.kind` above is its name): a saved model's own under
    /// `lode predict`, whatever the config says.
    #[serde(skip)]
    pub model_kind: model::ModelKind,
    /// Seconds spent per stage.
    pub timings_s: Vec<(String, f64)>,
    /// How the target areas were drawn (absent when `[targets] enabled = false`).
    pub targets: Option<targets::TargetsSummary>,
    /// What the run must not leave unsaid: an AUC below 0.5 (map or held out), a fitting
    /// option switched off (see [`crate::evaluate::run_warnings`]). Empty when all is well.
    pub warnings: Vec<String>,
    /// Cross-validation of the tree models (`[validation]`): fold AUCs, `cv_auc`,
    /// `cv_auc_sd`, `prediction_rate`, `importance` (see docs/outputs.md).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "sorted_keys")]
    pub validation: Option<validation::CvReport>,
}

/// The held-out figures of cross-validation (`metrics.json` `held_out`).
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    /// `spatial_block`, `cluster`, `random` or `layer`.
    pub kind: String,
    /// Folds.
    pub folds: u64,
    /// Mean AUC of the folds' held-out rows.
    pub auc: f64,
    /// Its standard deviation over the folds.
    pub auc_sd: f64,
}

impl HeldOut {
    /// From what fitting reports, when cross-validated with a finite held-out AUC.
    pub fn from_fit(fit: &model::FitReport) -> Option<HeldOut> {
        let v = fit.validation()?;
        v.cv_auc.is_finite().then(|| HeldOut {
            kind: v.kind.as_str().to_string(),
            folds: v.folds as u64,
            auc: v.cv_auc,
            auc_sd: v.cv_auc_sd,
        })
    }
}

/// Serializes `value` with the keys of every object in alphabetical order, as
/// `metrics.json` has always had them for `fit` and `validation`.
fn sorted_keys<T: Serialize, S: serde::Serializer>(value: &T, s: S) -> std::result::Result<S::Ok, S::Error> {
    serde_json::to_value(value).map_err(serde::ser::Error::custom)?.serialize(s)
}

/// Deposit counts for metrics.
#[derive(Debug, Clone, Serialize)]
pub struct DepositCounts {
    /// Points read (after the filter).
    pub read: usize,
    /// Points inside the grid and study area.
    pub used: usize,
    /// Distinct cells holding them.
    pub cells: usize,
    /// Points outside the grid.
    pub outside_grid: usize,
    /// Points outside the study area.
    pub outside_study_area: usize,
}

impl From<&Deposits> for DepositCounts {
    fn from(d: &Deposits) -> Self {
        DepositCounts {
            read: d.read,
            used: d.points.len(),
            cells: d.cells.len(),
            outside_grid: d.outside_grid,
            outside_study_area: d.outside_study_area,
        }
    }
}
