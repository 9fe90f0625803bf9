//! `kind = "interpolate"`: a surface interpolated from point samples (geochemistry:
//! soil, stream sediment, rock chips) at each cell centre, by inverse distance weighting.
//!
//! - The value is the numeric `attribute` of each point. Values below detection are
//!   explicit ([`crate::features::below_detection`]): text such as `<0.5`, negative numbers
//!   (the common `-0.5` convention) and numbers under a column's `detection_limits` are
//!   below detection, replaced as `below_detection` says: `half` (default: half the limit),
//!   `drop` (the sample is not used), `value` (the `below_detection_value`) or `layer` (the
//!   uncensored value from a separate sheet), counted per column. A null value means the
//!   sample is not used (counted and reported); any other text is an error naming the
//!   feature. Points may come from a table's coordinate columns (`x`, `y`, `crs`).
//! - Kriging with `duplicates = "mean"` merges samples at one place into their mean.
//! - `transform = "log"` interpolates natural logarithms and returns `exp` of the
//!   estimate (for IDW, a weighted geometric mean); a value ≤ 0 is then an error.
//! - `transform = "clr"` with `parts = [...]` (the attributes of a composition, the
//!   `attribute` among them) interpolates the centred log-ratio of `attribute`:
//!   `ln(x) - mean(ln(parts))` of each sample, after the below-detection rule is applied
//!   to every part (with `drop`, a sample with any part below detection is not used); a
//!   sample with a null part is not used; a part ≤ 0 is an error. The layer's values are
//!   the interpolated clr coordinates (no back-transform).
//! - IDW: the `max_points` nearest samples (default 12) within `search_radius` (default
//!   unlimited), weights `1 / d^power` (default power 2); a sample at the cell centre
//!   gives its value (the mean of those there). A cell with fewer than `min_points`
//!   (default 1) samples in reach has no data.
//!
//! Samples sit in an R-tree, so any window is computed on its own.

use ndarray::Array2;
use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::transform::Zeros;
use crate::features::{below_detection, Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::vector::Attr;

/// What replaces a value below detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BelowDetection {
    /// Half the detection limit.
    #[default]
    Half,
    /// The sample is not used.
    Drop,
    /// `below_detection_value`.
    Value,
    /// The value in `below_detection_layer` (joined on `join`); half the limit for a
    /// column that layer does not have.
    Layer,
}

/// What kriging does with several samples at one place (its system would be singular).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    /// An error naming the place.
    #[default]
    Error,
    /// One sample with the mean of their (transformed) values; counted and reported.
    Mean,
}

/// Interpolation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Inverse distance weighting.
    #[default]
    Idw,
    /// Ordinary kriging with a variogram (given or fitted).
    OrdinaryKriging,
}

/// Variogram models, with pykrige's conventions (`range` is the effective range for
/// the exponential and gaussian models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VariogramModel {
    /// `p (1.5 h/r - 0.5 (h/r)³) + n` for `h < r`, `p + n` beyond.
    #[default]
    Spherical,
    /// `p (1 - exp(-3 h / r)) + n`.
    Exponential,
    /// `p (1 - exp(-(7 h / 4 r)²)) + n`.
    Gaussian,
}

/// A variogram: model, nugget, total sill, range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variogram {
    /// The model.
    pub model: VariogramModel,
    /// Nugget.
    pub nugget: f64,
    /// Total sill (nugget + partial sill).
    pub sill: f64,
    /// Range (effective range for exponential and gaussian).
    pub range: f64,
}

impl Variogram {
    /// The model's shape (0 at 0, 1 at the sill) at lag `h > 0`.
    fn shape(model: VariogramModel, h: f64, r: f64) -> f64 {
        match model {
            VariogramModel::Spherical if h < r => 1.5 * h / r - 0.5 * (h / r).powi(3),
            VariogramModel::Spherical => 1.0,
            VariogramModel::Exponential => 1.0 - (-3.0 * h / r).exp(),
            VariogramModel::Gaussian => 1.0 - (-(7.0 * h / (4.0 * r)).powi(2)).exp(),
        }
    }

    /// Semivariance at lag `h` (0 at lag 0: the nugget is a jump just after it).
    pub fn at(&self, h: f64) -> f64 {
        if h == 0.0 {
            return 0.0;
        }
        self.nugget + (self.sill - self.nugget) * Variogram::shape(self.model, h, self.range)
    }

    /// Fits nugget, sill and range to an empirical variogram `(lag, semivariance, pairs)`
    /// by least squares weighted by the pairs per lag: for each range on a fine scan
    /// (then refined by golden section) nugget and partial sill are a linear least-squares
    /// problem, solved in closed form with both kept >= 0.
    pub fn fit(model: VariogramModel, empirical: &[(f64, f64, f64)]) -> Option<Variogram> {
        let max_lag = empirical.iter().map(|e| e.0).fold(0.0, f64::max);
        if empirical.len() < 3 || max_lag <= 0.0 {
            return None;
        }
        // Weighted LS of g = n + p s(h) for fixed r; returns (cost, n, p).
        let solve = |r: f64| {
            let (mut sw, mut ss, mut sss, mut sg, mut ssg) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for &(h, g, w) in empirical {
                let s = Variogram::shape(model, h, r);
                sw += w;
                ss += w * s;
                sss += w * s * s;
                sg += w * g;
                ssg += w * s * g;
            }
            let det = sw * sss - ss * ss;
            let (mut n, mut p) = if det.abs() > 1e-12 * sw * sss {
                ((sss * sg - ss * ssg) / det, (sw * ssg - ss * sg) / det)
            } else {
                (0.0, ssg / sss)
            };
            if n < 0.0 {
                n = 0.0;
                p = ssg / sss;
            }
            if p < 0.0 {
                p = 0.0;
                n = sg / sw;
            }
            let cost: f64 =
                empirical.iter().map(|&(h, g, w)| w * (n + p * Variogram::shape(model, h, r) - g).powi(2)).sum();
            (cost, n, p)
        };
        let (lo, hi) = (max_lag * 0.01, max_lag * 2.0);
        let steps = 400;
        let r_at = |k: usize| lo + (hi - lo) * k as f64 / steps as f64;
        let best = (0..=steps).min_by(|&a, &b| solve(r_at(a)).0.total_cmp(&solve(r_at(b)).0))?;
        let (mut a, mut b) = (r_at(best.saturating_sub(1)), r_at((best + 1).min(steps)));
        let phi = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..100 {
            let (c, d) = (b - phi * (b - a), a + phi * (b - a));
            if solve(c).0 < solve(d).0 {
                b = d;
            } else {
                a = c;
            }
        }
        let r = (a + b) / 2.0;
        let (_, n, p) = solve(r);
        Some(Variogram { model, nugget: n, sill: n + p, range: r })
    }
}

/// The empirical semivariogram of `samples` in `lags` equal bins up to half the largest
/// distance between samples: `(mean lag, semivariance, pairs)` of each non-empty bin.
pub fn empirical_variogram(samples: &[([f64; 2], f64)], lags: usize) -> Vec<(f64, f64, f64)> {
    let mut max_d: f64 = 0.0;
    for (i, a) in samples.iter().enumerate() {
        for b in &samples[i + 1..] {
            max_d = max_d.max((a.0[0] - b.0[0]).hypot(a.0[1] - b.0[1]));
        }
    }
    let width = max_d / 2.0 / lags as f64;
    let mut bins = vec![(0.0, 0.0, 0.0); lags];
    for (i, a) in samples.iter().enumerate() {
        for b in &samples[i + 1..] {
            let h = (a.0[0] - b.0[0]).hypot(a.0[1] - b.0[1]);
            let k = (h / width) as usize;
            if width > 0.0 && k < lags {
                bins[k].0 += h;
                bins[k].1 += 0.5 * (a.1 - b.1).powi(2);
                bins[k].2 += 1.0;
            }
        }
    }
    bins.into_iter().filter(|b| b.2 > 0.0).map(|(h, g, n)| (h / n, g / n, n)).collect()
}

/// Ordinary kriging estimate and variance at `p` from samples `(position, value)`.
/// `None` when the system is singular (e.g. two samples at one place).
pub fn ordinary_kriging(v: &Variogram, near: &[([f64; 2], f64)], p: [f64; 2]) -> Option<(f64, f64)> {
    if let Some(s) = near.iter().find(|s| s.0 == p) {
        return Some((s.1, 0.0));
    }
    let n = near.len();
    let m = n + 1;
    let mut a = vec![0.0; m * m];
    let mut b = vec![0.0; m];
    for i in 0..n {
        for j in 0..n {
            let d = (near[i].0[0] - near[j].0[0]).hypot(near[i].0[1] - near[j].0[1]);
            a[i * m + j] = v.at(d);
        }
        a[i * m + n] = 1.0;
        a[n * m + i] = 1.0;
        b[i] = v.at((near[i].0[0] - p[0]).hypot(near[i].0[1] - p[1]));
    }
    b[n] = 1.0;
    let rhs = b.clone();
    let x = solve_dense(a, b, m)?;
    let estimate = (0..n).map(|i| x[i] * near[i].1).sum();
    let variance = (0..m).map(|i| x[i] * rhs[i]).sum();
    Some((estimate, variance))
}

/// Solves `a x = b` (`a` row-major `m x m`) by Gaussian elimination with partial pivoting.
fn solve_dense(mut a: Vec<f64>, mut b: Vec<f64>, m: usize) -> Option<Vec<f64>> {
    let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    for col in 0..m {
        let piv = (col..m).max_by(|&i, &j| a[i * m + col].abs().total_cmp(&a[j * m + col].abs()))?;
        if a[piv * m + col].abs() <= 1e-13 * scale {
            return None;
        }
        if piv != col {
            for k in 0..m {
                a.swap(piv * m + k, col * m + k);
            }
            b.swap(piv, col);
        }
        for row in col + 1..m {
            let f = a[row * m + col] / a[col * m + col];
            if f != 0.0 {
                for k in col..m {
                    a[row * m + k] -= f * a[col * m + k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; m];
    for row in (0..m).rev() {
        let s: f64 = (row + 1..m).map(|k| a[row * m + k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row * m + row];
    }
    Some(x)
}

/// The `transform` key. On `interpolate`, `log` and `clr` act on the samples (the
/// logarithm is undone after unless `back_transform = false`); every other transform, and
/// every transform on other continuous kinds, applies to the computed layer
/// ([`crate::features::transform`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Natural logarithm.
    Log,
    /// Centred log-ratio of the attribute within the composition `parts`.
    Clr,
    /// Base-10 logarithm.
    Log10,
    /// `ln(1 + x)`.
    Log1p,
    /// Square root.
    Sqrt,
    /// Mid-rank percentile among the layer's study-area values.
    Rank,
}

/// The centred log-ratio of part `i` of a composition: `ln(x_i) - mean_j ln(x_j)`.
/// Every part must be > 0.
pub fn clr(parts: &[f64], i: usize) -> f64 {
    let mean = parts.iter().map(|x| x.ln()).sum::<f64>() / parts.len() as f64;
    parts[i].ln() - mean
}

/// The keys that only apply to ordinary kriging, with whether `ev` sets them.
fn kriging_keys(ev: &Raw) -> [(&'static str, bool); 7] {
    [
        ("duplicates", ev.duplicates.is_some()),
        ("variogram", ev.variogram.is_some()),
        ("nugget", ev.nugget.is_some()),
        ("sill", ev.sill.is_some()),
        ("range", ev.range.is_some()),
        ("lags", ev.lags.is_some()),
        ("kriging_variance", ev.kriging_variance.is_some()),
    ]
}

/// The validated keys of an `interpolate` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// IDW power.
    pub power: f64,
    /// Search radius (CRS units); infinite when not given.
    pub search_radius: f64,
    /// Largest number of samples used per cell.
    pub max_points: usize,
    /// Smallest number of samples a cell needs.
    pub min_points: usize,
    /// Below-detection rule.
    pub below_detection: BelowDetection,
    /// Replacement for `below_detection = "value"`.
    pub below_detection_value: Option<f64>,
    /// Transform of the samples (`log`, `clr`; other transforms apply after).
    pub transform: Option<Transform>,
    /// `log`: return `exp` of the estimate (true) or keep the log-space estimate (false).
    pub back_transform: bool,
    /// Added to each sample before `log` (subtracted again after `exp`).
    pub offset: f64,
    /// What a sample with no logarithm becomes.
    pub zeros: crate::features::transform::Zeros,
    /// `clr`: the attributes of the composition (empty otherwise).
    pub parts: Vec<String>,
    /// IDW or ordinary kriging.
    pub interpolation: Interpolation,
    /// Kriging: the variogram model.
    pub variogram: VariogramModel,
    /// Kriging: `(nugget, sill, range)` when given, else fitted.
    pub variogram_parameters: Option<(f64, f64, f64)>,
    /// Kriging: lag bins of the empirical variogram.
    pub lags: usize,
    /// Kriging: add the kriging variance as a second column.
    pub kriging_variance: bool,
    /// Kriging: samples at one place.
    pub duplicates: Duplicates,
    /// `below_detection = "layer"`: the layer (sheet) of uncensored values.
    pub below_detection_layer: Option<String>,
    /// `below_detection = "layer"`: the sample-id column of both layers.
    pub join: Option<String>,
    /// Detection limit per column (empty when not given).
    pub detection_limits: std::collections::BTreeMap<String, f64>,
}

/// The keys of an `interpolate` table (it needs the vector kinds' `attribute`: the
/// values; the shared `transform` acts on the samples when it is `log` or `clr`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// IDW power. Default 2.
    pub power: Option<f64>,
    /// Search radius, CRS units. Default unlimited.
    pub search_radius: Option<f64>,
    /// Most samples used per cell. Default 12.
    pub max_points: Option<usize>,
    /// Fewest samples a cell needs. Default 1.
    pub min_points: Option<usize>,
    /// `half`, `drop`, `value` or `layer`. Default `half`.
    pub below_detection: Option<BelowDetection>,
    /// With `below_detection = "value"`: the replacement.
    pub below_detection_value: Option<f64>,
    /// Detection limit per column; a number below it is below detection.
    pub detection_limits: Option<std::collections::BTreeMap<String, f64>>,
    /// With `below_detection = "layer"`: the layer (sheet) of the same source holding the
    /// uncensored values.
    pub below_detection_layer: Option<String>,
    /// With `below_detection = "layer"`: the sample-id column of both layers.
    pub join: Option<String>,
    /// With `transform = "log"`: `exp` of the estimate (true, default) or the log-space
    /// estimate (false).
    pub back_transform: Option<bool>,
    /// With `transform = "clr"`: the attributes of the composition (the `attribute` among them).
    pub parts: Option<Vec<String>>,
    /// `idw` or `ordinary_kriging`. Default `idw`.
    pub interpolation: Option<Interpolation>,
    /// Kriging: `spherical`, `exponential` or `gaussian`. Default `spherical`.
    pub variogram: Option<VariogramModel>,
    /// Kriging: variogram nugget (with `sill` and `range`; else all three are fitted).
    pub nugget: Option<f64>,
    /// Kriging: variogram total sill.
    pub sill: Option<f64>,
    /// Kriging: variogram range, CRS units.
    pub range: Option<f64>,
    /// Kriging: lag bins of the empirical variogram. Default 12.
    pub lags: Option<usize>,
    /// Kriging: add the kriging variance as a second column. Default false.
    pub kriging_variance: Option<bool>,
    /// Kriging: samples at one place are an `error` (default) or replaced by their `mean`
    /// (field duplicates; counted and reported).
    pub duplicates: Option<Duplicates>,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Vector;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        let shared = &cx.table.transform;
        let attribute = cx.required_attribute("the attribute holding the values")?;
        let attribute = attribute.as_str();
        for part in self.parts.iter().flatten() {
            cx.check_field(part)?;
        }
        if let (Some(sheet), Some(join)) = (&self.below_detection_layer, &self.join) {
            cx.check_field(join)?;
            crate::io::table::check_columns(&cx.table.path, sheet, &[join], &cx.key("below_detection_layer"))?;
        }
        let power = self.power.unwrap_or(2.0);
        if !(power.is_finite() && power > 0.0) {
            return Err(Error::key(cx.key("power"), format!("{power} must be > 0")));
        }
        let search_radius = self.search_radius.unwrap_or(f64::INFINITY);
        if search_radius.is_nan() || search_radius <= 0.0 {
            return Err(Error::key(cx.key("search_radius"), format!("{search_radius} must be a distance > 0")));
        }
        let max_points = self.max_points.unwrap_or(12);
        let min_points = self.min_points.unwrap_or(1);
        if max_points == 0 || min_points == 0 || min_points > max_points {
            return Err(Error::key(
                cx.key("min_points"),
                format!("need 1 <= min_points ({min_points}) <= max_points ({max_points})"),
            ));
        }
        let below_detection = self.below_detection.unwrap_or_default();
        match (below_detection, self.below_detection_value) {
            (BelowDetection::Value, None) => {
                return Err(Error::key(cx.key("below_detection_value"), "`below_detection = \"value\"` needs it"))
            }
            (BelowDetection::Value, Some(v)) if !v.is_finite() => {
                return Err(Error::key(cx.key("below_detection_value"), format!("{v} is not a number")))
            }
            (BelowDetection::Half | BelowDetection::Drop | BelowDetection::Layer, Some(_)) => {
                return Err(Error::key(cx.key("below_detection_value"), "only applies with `below_detection = \"value\"`"))
            }
            _ => {}
        }
        match (below_detection, &self.below_detection_layer, &self.join) {
            (BelowDetection::Layer, None, _) => {
                return Err(Error::key(cx.key("below_detection_layer"), "`below_detection = \"layer\"` needs it"))
            }
            (BelowDetection::Layer, _, None) => {
                return Err(Error::key(cx.key("join"), "`below_detection = \"layer\"` needs the sample-id column"))
            }
            (BelowDetection::Layer, _, _) => {}
            (_, Some(_), _) => {
                return Err(Error::key(cx.key("below_detection_layer"), "only applies with `below_detection = \"layer\"`"))
            }
            (_, _, Some(_)) => return Err(Error::key(cx.key("join"), "only applies with `below_detection = \"layer\"`")),
            _ => {}
        }
        for (column, limit) in self.detection_limits.iter().flatten() {
            if !(limit.is_finite() && *limit > 0.0) {
                return Err(Error::key(cx.key("detection_limits"), format!("`{column}` = {limit}: a limit must be > 0")));
            }
        }
        let interpolation = self.interpolation.unwrap_or_default();
        if interpolation == Interpolation::Idw {
            for (k, set) in kriging_keys(self) {
                if set {
                    return Err(Error::key(cx.key(k), "only applies with `interpolation = \"ordinary_kriging\"`"));
                }
            }
        } else if self.power.is_some() {
            return Err(Error::key(cx.key("power"), "only applies with `interpolation = \"idw\"`"));
        }
        let variogram_parameters = match (self.nugget, self.sill, self.range) {
            (None, None, None) => None,
            (Some(n), Some(s), Some(r)) if n >= 0.0 && s > n && r > 0.0 && s.is_finite() && r.is_finite() => {
                Some((n, s, r))
            }
            (Some(n), Some(s), Some(r)) => {
                return Err(Error::key(cx.key("sill"), format!("need 0 <= nugget ({n}) < sill ({s}) and range ({r}) > 0")))
            }
            _ => return Err(Error::key(cx.key("nugget"), "give all of `nugget`, `sill` and `range`, or none (fitted)")),
        };
        let parts = match (shared.transform, &self.parts) {
            (Some(Transform::Clr), None) => {
                return Err(Error::key(cx.key("parts"), "`transform = \"clr\"` needs the attributes of the composition"))
            }
            (Some(Transform::Clr), Some(parts)) => {
                if !parts.iter().any(|p| p == attribute) {
                    return Err(Error::key(cx.key("parts"), format!("must list the attribute `{attribute}`")));
                }
                if let Some(p) = parts.iter().enumerate().find(|(i, p)| parts[..*i].contains(p)).map(|(_, p)| p) {
                    return Err(Error::key(cx.key("parts"), format!("lists `{p}` twice")));
                }
                if parts.len() < 2 {
                    return Err(Error::key(cx.key("parts"), "a composition needs at least two parts"));
                }
                parts.clone()
            }
            (_, Some(_)) => return Err(Error::key(cx.key("parts"), "only applies with `transform = \"clr\"`")),
            (_, None) => Vec::new(),
        };
        if shared.transform == Some(Transform::Clr) && shared.zeros == Some(Zeros::HalfMin) {
            return Err(Error::key(
                cx.key("zeros"),
                "`half_min` applies with `transform = \"log\"`; use `drop` with `clr`",
            ));
        }
        if self.back_transform.is_some() && shared.transform != Some(Transform::Log) {
            return Err(Error::key(cx.key("back_transform"), "only applies with `transform = \"log\"`"));
        }
        // Limits name the attribute or a part of the composition.
        if let Some(c) = self.detection_limits.iter().flatten().map(|(c, _)| c).find(|c| {
            if parts.is_empty() {
                c.as_str() != attribute
            } else {
                !parts.contains(c)
            }
        }) {
            return Err(Error::key(
                cx.key("detection_limits"),
                format!("`{c}` is not the attribute or a part of this layer"),
            ));
        }
        let lags = self.lags.unwrap_or(12);
        if lags < 3 {
            return Err(Error::key(cx.key("lags"), format!("{lags}: need at least 3 lag bins to fit a variogram")));
        }
        Ok(Params {
            interpolation,
            variogram: self.variogram.unwrap_or_default(),
            variogram_parameters,
            lags,
            kriging_variance: self.kriging_variance.unwrap_or(false),
            duplicates: self.duplicates.unwrap_or_default(),
            power,
            search_radius,
            max_points,
            min_points,
            below_detection,
            below_detection_value: self.below_detection_value,
            transform: shared.transform.filter(|t| matches!(t, Transform::Log | Transform::Clr)),
            parts,
            back_transform: self.back_transform.unwrap_or(true),
            offset: shared.offset.unwrap_or(0.0),
            zeros: shared.zeros.unwrap_or_default(),
            below_detection_layer: self.below_detection_layer.clone(),
            join: self.join.clone(),
            detection_limits: self.detection_limits.clone().unwrap_or_default(),
        })
    }


    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(Interpolate::prepare(p, settings, grid)?)))
    }
}

/// A sample value as read: a number, or below a detection limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// A measured value.
    Value(f64),
    /// Below the detection limit given.
    BelowDetection(f64),
}

/// Reads an attribute value: numbers, negative numbers and `<x` texts are below
/// detection `|x|`; null is `None`; other text is an error message.
pub fn reading(a: &Attr) -> std::result::Result<Option<Reading>, String> {
    let num = |v: f64| if v < 0.0 { Reading::BelowDetection(-v) } else { Reading::Value(v) };
    match a {
        Attr::Null => Ok(None),
        Attr::Int(v) => Ok(Some(num(*v as f64))),
        Attr::Real(v) if v.is_finite() => Ok(Some(num(*v))),
        Attr::Real(v) => Err(format!("{v} is not a number")),
        Attr::Text(t) => {
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            if let Some(rest) = t.strip_prefix('<') {
                return match rest.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(Reading::BelowDetection(v))),
                    _ => Err(format!("`{t}` is not a detection limit such as `<0.5`")),
                };
            }
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(num(v))),
                _ => Err(format!("`{t}` is not a number")),
            }
        }
    }
}

/// An interpolated surface.
#[derive(Debug)]
pub struct Interpolate {
    name: String,
    source: String,
    params: Params,
    samples: RTree<GeomWithData<[f64; 2], f64>>,
    below_detection: crate::features::below_detection::Counts,
    /// Samples not used: (no coordinates, a null value, dropped below detection, merged duplicates).
    unused: [usize; 4],
    /// `below_detection_layer`, for the description.
    rule_layer: Option<String>,
    /// The variogram used by kriging (given or fitted).
    variogram: Option<Variogram>,
}

impl Interpolate {
    /// Reads the samples (reprojected to the grid), applies the below-detection rule and
    /// the transform, and indexes them.
    pub fn prepare(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Result<Interpolate> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "an `interpolate` layer needs a vector file"));
        };
        let params = params.clone();
        let attribute = settings.attribute.as_deref().unwrap_or_default();
        let err = |message: String| Error::Layer {
            path: layer.path.clone(),
            layer: layer.layer.clone(),
            message: format!("evidence `{}`, attribute `{attribute}`: {message}", settings.name),
        };
        // The attribute alone, or every part of the composition (`clr`).
        let names: Vec<&str> =
            if params.parts.is_empty() { vec![attribute] } else { params.parts.iter().map(String::as_str).collect() };
        let at = names.iter().position(|n| *n == attribute).unwrap_or(0);
        let join = params.join.as_deref();
        let mut read_names = names.clone();
        read_names.extend(join);
        // The separate layer of uncensored values, by sample id.
        let separate = match (params.below_detection, params.below_detection_layer.as_deref(), join) {
            (BelowDetection::Layer, Some(sheet), Some(join)) => {
                let mut cols = names.clone();
                cols.push(join);
                let rows = crate::io::table::read_columns(&layer.path, sheet, &cols)?;
                let mut by_id = std::collections::HashMap::new();
                for mut row in rows {
                    let Some(id) = row.pop().flatten() else {
                        return Err(Error::key(
                            format!("evidence `{}`.join", settings.name),
                            format!("layer `{sheet}` of {} has no column `{join}`", layer.path.display()),
                        ));
                    };
                    if let Some(id) = below_detection::join_key(&id) {
                        by_id.insert(id, row);
                    }
                }
                Some(by_id)
            }
            _ => None,
        };
        let rule = below_detection::Rule {
            replace: params.below_detection,
            value: params.below_detection_value,
            limits: names.iter().map(|n| params.detection_limits.get(*n).copied()).collect(),
            separate,
        };
        let mut counts = below_detection::Counts { columns: names.iter().map(|n| (n.to_string(), 0, 0)).collect() };
        let mut samples = Vec::new();
        let mut unused = [0usize; 4];
        let mut zeros = 0;
        let mut half_min_rows: Vec<usize> = Vec::new();
        let mut values = Vec::with_capacity(names.len());
        let (features, no_xy) = layer.read_counted(grid, &read_names)?;
        unused[0] = no_xy;
        'features: for (k, (geometry, attrs)) in features.into_iter().enumerate() {
            let geo::Geometry::Point(p) = geometry else {
                return Err(err(format!("feature {k} is not a point")));
            };
            let id = join.and_then(|_| attrs.last().and_then(below_detection::join_key));
            values.clear();
            for (c, (name, a)) in names.iter().zip(&attrs).enumerate() {
                let part = |m: String| {
                    if names.len() > 1 {
                        format!("feature {k}, part `{name}`: {m}")
                    } else {
                        format!("feature {k}: {m}")
                    }
                };
                let value = match rule.apply(c, a, id.as_deref(), &mut counts).map_err(|m| err(part(m)))? {
                    below_detection::Outcome::Value(v) => v,
                    below_detection::Outcome::Missing => {
                        unused[1] += 1;
                        continue 'features;
                    }
                    below_detection::Outcome::Dropped => {
                        unused[2] += 1;
                        continue 'features;
                    }
                };
                let value = value + if params.transform == Some(Transform::Log) { params.offset } else { 0.0 };
                if params.transform.is_some() && value <= 0.0 {
                    match params.zeros {
                        Zeros::Error => {
                            return Err(err(part(format!(
                                "{value}, which has no logarithm (set `zeros = \"half_min\"` or `\"drop\"`, or an `offset`)"
                            ))))
                        }
                        Zeros::Drop => {
                            zeros += 1;
                            continue 'features;
                        }
                        Zeros::HalfMin => {
                            zeros += 1;
                            half_min_rows.push(samples.len());
                        }
                    }
                }
                values.push(value);
            }
            let value = match params.transform {
                Some(Transform::Log) => values[0].ln(),
                Some(Transform::Clr) => clr(&values, at),
                _ => values[0],
            };
            samples.push(GeomWithData::new([p.x(), p.y()], value));
        }
        if unused[1] > 0 {
            tracing::warn!("evidence `{}`: {} sample(s) with an empty value not used", settings.name, unused[1]);
        }
        if !half_min_rows.is_empty() {
            // `half_min`: half the smallest positive sample (in log space: its log - ln 2).
            let min = samples
                .iter()
                .enumerate()
                .filter(|(k, _)| !half_min_rows.contains(k))
                .map(|(_, s)| s.data)
                .fold(f64::INFINITY, f64::min);
            if !min.is_finite() {
                return Err(err("no positive sample to take half of (zeros = \"half_min\")".into()));
            }
            for &k in &half_min_rows {
                samples[k].data = min - std::f64::consts::LN_2;
            }
        }
        if zeros > 0 {
            tracing::warn!(
                "evidence `{}`: {zeros} samples <= 0 have no logarithm: {}",
                settings.name,
                if params.zeros == Zeros::Drop { "dropped" } else { "set to half the smallest positive sample" }
            );
        }
        if samples.len() < params.min_points {
            return Err(err(format!("{} usable samples, fewer than min_points", samples.len())));
        }
        let variogram = match params.interpolation {
            Interpolation::Idw => None,
            Interpolation::OrdinaryKriging => Some({
                if params.duplicates == Duplicates::Mean {
                    let before = samples.len();
                    samples = mean_of_duplicates(samples);
                    unused[3] = before - samples.len();
                    if unused[3] > 0 {
                        tracing::info!(
                            "evidence `{}`: {} sample(s) at the place of another merged into their mean",
                            settings.name,
                            unused[3]
                        );
                    }
                }
                let mut at: Vec<[f64; 2]> = samples.iter().map(|s| *s.geom()).collect();
                at.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
                if let Some(w) = at.windows(2).find(|w| w[0] == w[1]) {
                    return Err(err(format!(
                        "two samples at ({}, {}): kriging needs one sample per place (`duplicates = \"mean\"` \
                         averages them)",
                        w[0][0], w[0][1]
                    )));
                }
                match params.variogram_parameters {
                    Some((nugget, sill, range)) => Variogram { model: params.variogram, nugget, sill, range },
                    None => {
                        let pairs: Vec<([f64; 2], f64)> = samples.iter().map(|s| (*s.geom(), s.data)).collect();
                        let empirical = empirical_variogram(&pairs, params.lags);
                        let v = Variogram::fit(params.variogram, &empirical)
                            .ok_or_else(|| err("too few distinct sample pairs to fit a variogram".into()))?;
                        tracing::info!(
                            "evidence `{}`: fitted {:?} variogram nugget {:.6} sill {:.6} range {:.3}",
                            settings.name,
                            v.model,
                            v.nugget,
                            v.sill,
                            v.range
                        );
                        v
                    }
                }
            }),
        };
        let rule_layer = params.below_detection_layer.clone();
        Ok(Interpolate {
            variogram,
            name: settings.name.clone(),
            source: format!("{} layer {}", layer.path.display(), layer.layer),
            params,
            samples: RTree::bulk_load(samples),
            below_detection: counts,
            unused,
            rule_layer,
        })
    }

    /// The estimate (and kriging variance, 0 for IDW) at map point `p`, or `None` with too
    /// few samples in reach (or a singular kriging system).
    pub fn at(&self, p: [f64; 2]) -> Option<(f64, f64)> {
        let r2 = self.params.search_radius * self.params.search_radius;
        let near = self
            .samples
            .nearest_neighbor_iter_with_distance_2(&p)
            .take_while(|(_, d2)| *d2 <= r2)
            .take(self.params.max_points);
        let (estimate, variance) = match &self.variogram {
            None => {
                let near: Vec<(f64, f64)> = near.map(|(s, d2)| (d2, s.data)).collect();
                if near.len() < self.params.min_points {
                    return None;
                }
                (idw(&near, self.params.power), 0.0)
            }
            Some(v) => {
                let near: Vec<([f64; 2], f64)> = near.map(|(s, _)| (*s.geom(), s.data)).collect();
                if near.len() < self.params.min_points {
                    return None;
                }
                ordinary_kriging(v, &near, p)?
            }
        };
        Some(match self.params.transform {
            Some(Transform::Log) if self.params.back_transform => (estimate.exp() - self.params.offset, variance),
            _ => (estimate, variance),
        })
    }

    /// IDW over window `w` from the samples within `search_radius` of each tile of the
    /// window, found once per tile: the same estimate as [`Interpolate::at`] at each cell (the `max_points`
    /// nearest within the radius) without an R-tree search per cell. `None` for kriging,
    /// an unlimited radius, or more than [`WINDOW_CANDIDATES`] samples in reach.
    fn idw_window(&self, grid: &Grid, w: &Window) -> Option<LayerBlock> {
        let r = self.params.search_radius;
        if self.variogram.is_some() || !r.is_finite() {
            return None;
        }
        let [gx0, dx, _, gy0, _, dy] = grid.window_transform(w);
        let (r2, k) = (r * r, self.params.max_points);
        let mut values = Array2::<f64>::zeros((w.len(), 1));
        let mut valid = vec![false; w.len()];
        let mut candidates = Vec::new();
        let mut near: Vec<(f64, f64)> = Vec::new();
        // Tiles of the window, each with the samples within `r` of it.
        for tr in (0..w.rows).step_by(IDW_TILE) {
            for tc in (0..w.cols).step_by(IDW_TILE) {
                let (rows, cols) = (IDW_TILE.min(w.rows - tr), IDW_TILE.min(w.cols - tc));
                let (x0, y0) = (gx0 + tc as f64 * dx, gy0 + tr as f64 * dy);
                let (x1, y1) = (x0 + cols as f64 * dx, y0 + rows as f64 * dy);
                let env = rstar::AABB::from_corners([x0.min(x1) - r, y0.min(y1) - r], [x0.max(x1) + r, y0.max(y1) + r]);
                candidates.clear();
                for s in self.samples.locate_in_envelope(&env) {
                    if candidates.len() == WINDOW_CANDIDATES {
                        return None;
                    }
                    candidates.push((*s.geom(), s.data));
                }
                for row in tr..tr + rows {
                    for col in tc..tc + cols {
                        let i = row * w.cols + col;
                        let (x, y) = grid.centre(w.cell(i));
                        near.clear();
                        near.extend(
                            candidates
                                .iter()
                                .map(|(p, v)| ((p[0] - x).powi(2) + (p[1] - y).powi(2), *v))
                                .filter(|n| n.0 <= r2),
                        );
                        if near.len() > k {
                            near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                            near.truncate(k);
                        }
                        if near.len() < self.params.min_points {
                            continue;
                        }
                        let estimate = idw(&near, self.params.power);
                        values[[i, 0]] = match self.params.transform {
                            Some(Transform::Log) if self.params.back_transform => estimate.exp() - self.params.offset,
                            _ => estimate,
                        };
                        valid[i] = true;
                    }
                }
            }
        }
        Some(LayerBlock { values, valid })
    }

    /// The variogram kriging uses (given or fitted); `None` for IDW.
    pub fn variogram(&self) -> Option<Variogram> {
        self.variogram
    }
}

/// Most samples within the search radius of a tile of a window for which IDW compares
/// every cell with each of them (beyond, an R-tree search per cell).
pub const WINDOW_CANDIDATES: usize = 1024;

/// Edge, in cells, of the tiles IDW gathers candidate samples for.
const IDW_TILE: usize = 32;

/// Samples with every place once: samples at one place become one with the mean of
/// their values. The order is by position.
pub fn mean_of_duplicates(mut samples: Vec<GeomWithData<[f64; 2], f64>>) -> Vec<GeomWithData<[f64; 2], f64>> {
    samples.sort_by(|a, b| a.geom()[0].total_cmp(&b.geom()[0]).then(a.geom()[1].total_cmp(&b.geom()[1])));
    let mut out: Vec<(GeomWithData<[f64; 2], f64>, usize)> = Vec::with_capacity(samples.len());
    for s in samples {
        match out.last_mut() {
            Some((last, n)) if last.geom() == s.geom() => {
                last.data += s.data;
                *n += 1;
            }
            _ => out.push((s, 1)),
        }
    }
    out.into_iter().map(|(s, n)| GeomWithData::new(*s.geom(), s.data / n as f64)).collect()
}

/// Inverse distance weighting of `(squared distance, value)` pairs.
pub fn idw(near: &[(f64, f64)], power: f64) -> f64 {
    let at_centre: Vec<f64> = near.iter().filter(|(d2, _)| *d2 == 0.0).map(|&(_, v)| v).collect();
    if !at_centre.is_empty() {
        return at_centre.iter().sum::<f64>() / at_centre.len() as f64;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for &(d2, v) in near {
        // powf is most of the cost of a cell; the usual power 2 needs none.
        let w = if power == 2.0 { 1.0 / d2 } else { d2.powf(-power / 2.0) };
        num += w * v;
        den += w;
    }
    num / den
}

impl Evidence for Interpolate {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        if self.params.kriging_variance {
            vec![self.name.clone(), format!("{}_variance", self.name)]
        } else {
            vec![self.name.clone()]
        }
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        if let Some(block) = self.idw_window(grid, w) {
            return Ok(block);
        }
        let ncol = self.columns().len();
        let mut values = Array2::<f64>::zeros((w.len(), ncol));
        let mut valid = vec![false; w.len()];
        for (i, ok) in valid.iter_mut().enumerate() {
            let (x, y) = grid.centre(w.cell(i));
            if let Some((v, var)) = self.at([x, y]) {
                values[[i, 0]] = v;
                if ncol == 2 {
                    values[[i, 1]] = var;
                }
                *ok = true;
            }
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        let method = match &self.variogram {
            None => format!("IDW (power {}", self.params.power),
            Some(v) => format!(
                "ordinary kriging ({:?} variogram nugget {:.6} sill {:.6} range {:.3}{}",
                v.model,
                v.nugget,
                v.sill,
                v.range,
                if self.params.variogram_parameters.is_some() { " as given" } else { " fitted" }
            ),
        };
        let [no_xy, null, dropped, merged] = self.unused;
        let mut unused = Vec::new();
        for (n, what) in [
            (no_xy, "without coordinates"),
            (null, "with an empty value"),
            (dropped, "dropped below detection"),
            (merged, "merged into the mean of samples at one place"),
        ] {
            if n > 0 {
                unused.push(format!("{n} {what}"));
            }
        }
        let unused = if unused.is_empty() { String::new() } else { format!("; not used: {}", unused.join(", ")) };
        format!(
            "{method}, {} nearest within {}) of {} samples of {} (below detection: {}; rule {:?}{unused}){}",
            self.params.max_points,
            self.params.search_radius,
            self.samples.size(),
            self.source,
            self.below_detection.describe(self.rule_layer.as_deref()),
            self.params.below_detection,
            match self.params.transform {
                Some(Transform::Log) if self.params.back_transform => ", log transform".into(),
                Some(Transform::Log) => ", log transform, log-space estimate kept".into(),
                Some(Transform::Clr) => format!(", centred log-ratio within {}", self.params.parts.join(", ")),
                _ => String::new(),
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_detection_readings() {
        assert_eq!(reading(&Attr::Text("<0.5".into())), Ok(Some(Reading::BelowDetection(0.5))));
        assert_eq!(reading(&Attr::Text(" < 2 ".into())), Ok(Some(Reading::BelowDetection(2.0))));
        assert_eq!(reading(&Attr::Real(-0.05)), Ok(Some(Reading::BelowDetection(0.05))));
        assert_eq!(reading(&Attr::Int(-5)), Ok(Some(Reading::BelowDetection(5.0))));
        assert_eq!(reading(&Attr::Text("12.5".into())), Ok(Some(Reading::Value(12.5))));
        assert_eq!(reading(&Attr::Real(0.0)), Ok(Some(Reading::Value(0.0))));
        assert_eq!(reading(&Attr::Null), Ok(None));
        assert!(reading(&Attr::Text("n.d.".into())).unwrap_err().contains("n.d."));
        assert!(reading(&Attr::Text("<abc".into())).is_err());
    }

    #[test]
    fn variogram_fit_recovers_the_model_it_was_sampled_from() {
        for model in [VariogramModel::Spherical, VariogramModel::Exponential, VariogramModel::Gaussian] {
            let truth = Variogram { model, nugget: 0.7, sill: 5.2, range: 1800.0 };
            let empirical: Vec<(f64, f64, f64)> =
                (1..=15).map(|k| (k as f64 * 200.0, truth.at(k as f64 * 200.0), 10.0 + k as f64)).collect();
            let fit = Variogram::fit(model, &empirical).unwrap();
            assert!((fit.nugget - 0.7).abs() < 1e-4, "{model:?} {fit:?}");
            assert!((fit.sill - 5.2).abs() < 1e-4, "{model:?} {fit:?}");
            assert!((fit.range - 1800.0).abs() < 0.1, "{model:?} {fit:?}");
        }
    }

    #[test]
    fn kriging_honours_samples_and_sums_weights_to_one() {
        let v = Variogram { model: VariogramModel::Spherical, nugget: 0.0, sill: 1.0, range: 10.0 };
        let near = [([0.0, 0.0], 1.0), ([4.0, 0.0], 3.0), ([0.0, 5.0], 2.0)];
        assert_eq!(ordinary_kriging(&v, &near, [4.0, 0.0]), Some((3.0, 0.0)));
        // A constant field is reproduced exactly (weights sum to one).
        let flat = [([0.0, 0.0], 7.0), ([4.0, 0.0], 7.0), ([0.0, 5.0], 7.0)];
        let (e, var) = ordinary_kriging(&v, &flat, [1.0, 1.0]).unwrap();
        assert!((e - 7.0).abs() < 1e-12 && var > 0.0);
        // Two samples at one place make the system singular.
        assert_eq!(ordinary_kriging(&v, &[([0.0, 0.0], 1.0), ([0.0, 0.0], 2.0)], [1.0, 1.0]), None);
    }

    #[test]
    fn clr_by_hand() {
        // Parts 2, 8, 4, 1: the mean logarithm is ln(64) / 4 = 1.5 ln 2.
        let l2 = 2f64.ln();
        let parts = [2.0, 8.0, 4.0, 1.0];
        let want = [-0.5 * l2, 1.5 * l2, 0.5 * l2, -1.5 * l2];
        for (i, w) in want.iter().enumerate() {
            assert!((clr(&parts, i) - w).abs() < 1e-12, "part {i}: {} vs {w}", clr(&parts, i));
        }
        // Scale-invariant: ppm or percent give the same coordinates.
        assert!((clr(&[0.2, 0.8, 0.4, 0.1], 1) - 1.5 * l2).abs() < 1e-12);
    }

    #[test]
    fn idw_by_hand() {
        // Distances 1 and 2, power 2: weights 1 and 1/4.
        let v = idw(&[(1.0, 10.0), (4.0, 20.0)], 2.0);
        assert!((v - (10.0 + 20.0 / 4.0) / 1.25).abs() < 1e-12);
        assert_eq!(idw(&[(0.0, 3.0), (0.0, 5.0), (4.0, 100.0)], 2.0), 4.0);
    }
}
