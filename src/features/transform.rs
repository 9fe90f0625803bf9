//! Transforms and classification of any one-column continuous layer, applied after the
//! layer is computed (one wrapper around any kind, [`wrap`]):
//!
//! - `transform = "log" | "log10" | "log1p" | "sqrt" | "rank"` of `value + offset`
//!   (`offset` default 0; on `spectral` layers `offset` is the Sentinel-2 DN offset and
//!   the transform takes none). `rank` is the mid-rank percentile of the value among the
//!   layer's study-area cells with data: `(below + equal / 2) / n`, in (0, 1). On
//!   `interpolate` layers `log` (and `clr`) act on the samples instead (see there).
//! - `zeros = "error" | "half_min" | "drop"`: what a value outside the transform's domain
//!   (`log`, `log10`: <= 0; `sqrt`: < 0; `log1p`: <= -1, after the offset) becomes. `error`
//!   (default): the run stops at prepare naming the layer, the count and the smallest
//!   value; `half_min`: half the smallest in-domain value of the layer (for `log1p`, of
//!   `1 + x`); `drop`: the cell has no data (and is left out of training and the map).
//! - `classify = { method = "quantile" | "equal_interval" | "breaks", classes = N,
//!   breaks = [...] }`: the value becomes its class number `1..=N`, the class of `x`
//!   being `1 + #{breaks <= x}` (`numpy.digitize(x, breaks) + 1`). `quantile` breaks are
//!   exact order statistics of the study-area values (after the transform): break `k`
//!   (1..N) is the value at rank `ceil(k n / N)` of the sorted values (numpy's
//!   `quantile(..., method="inverted_cdf")`), duplicates removed (so fewer classes on
//!   tied data). `equal_interval`: `min + k (max - min) / N`. `breaks`: as given,
//!   strictly increasing, `len + 1` classes.
//!
//! The values needed (smallest in-domain value, the sorted values for `rank` and
//! `quantile`, minimum and maximum) come from one pass over the windows at prepare. Each
//! window contributes its sorted values; windows are merged into one sorted list, so a
//! tiled run can compute the same exact breaks by merging per-tile sorted lists (or
//! value -> count histograms) before any tile is classified: the breaks are order
//! statistics of the merged multiset, which does not depend on how it was split.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::interpolate::Transform;
use crate::features::spec::{EvidenceKind, TransformKeys};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};

/// What a value outside the transform's domain becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Zeros {
    /// Stop with an error naming the layer.
    #[default]
    Error,
    /// Half the smallest in-domain value of the layer.
    HalfMin,
    /// No data at the cell (a sample is dropped, for `interpolate`).
    Drop,
}

/// Classification methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifyMethod {
    /// Equal-count classes (exact order statistics).
    Quantile,
    /// Equal-width classes between the minimum and the maximum.
    EqualInterval,
    /// Breaks given in `breaks`.
    Breaks,
}

/// `classify = { ... }`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawClassify {
    /// The method.
    pub method: ClassifyMethod,
    /// Number of classes (`quantile`, `equal_interval`).
    pub classes: Option<usize>,
    /// The breaks (`breaks`), strictly increasing.
    pub breaks: Option<Vec<f64>>,
}

/// The validated keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The transform applied after the layer is computed (`None`: none).
    pub transform: Option<Transform>,
    /// Added before the transform.
    pub offset: f64,
    /// Values outside the domain.
    pub zeros: Zeros,
    /// Classification after the transform.
    pub classify: Option<RawClassify>,
}

impl Params {
    /// Checks the transform keys of `evidence[i]`, of kind `kind`; `None` when the layer
    /// is used as computed.
    pub fn from_keys(i: usize, kind: EvidenceKind, ev: &TransformKeys) -> Result<Option<Params>> {
        let key = |k: &str| format!("evidence[{i}].{k}");
        let interpolate = kind == EvidenceKind::Interpolate;
        // `interpolate` applies log and clr to its samples; other transforms apply after.
        let transform = match ev.transform {
            Some(Transform::Clr) if !interpolate => {
                return Err(Error::key(
                    key("transform"),
                    "`clr` only applies to `interpolate` (a composition of samples)",
                ))
            }
            Some(Transform::Log | Transform::Clr) if interpolate => None,
            t => t,
        };
        let offset = ev.offset;
        if offset.is_some() && ev.transform.is_none() {
            return Err(Error::key(key("offset"), "only applies with `transform`"));
        }
        if let Some(o) = offset.filter(|o| !o.is_finite()) {
            return Err(Error::key(key("offset"), format!("{o} is not a number")));
        }
        if ev.zeros.is_some() && ev.transform.is_none() {
            return Err(Error::key(key("zeros"), "only applies with `transform`"));
        }
        if let Some(c) = &ev.classify {
            match (c.method, c.classes, &c.breaks) {
                (ClassifyMethod::Breaks, _, None) => {
                    return Err(Error::key(key("classify.breaks"), "`method = \"breaks\"` needs `breaks = [...]`"))
                }
                (ClassifyMethod::Breaks, Some(_), _) => {
                    return Err(Error::key(key("classify.classes"), "with `breaks` the classes are len(breaks) + 1"))
                }
                (ClassifyMethod::Breaks, None, Some(b))
                    if b.is_empty() || b.iter().any(|v| !v.is_finite()) || b.windows(2).any(|w| w[0] >= w[1]) =>
                {
                    return Err(Error::key(
                        key("classify.breaks"),
                        format!("{b:?}: need finite, strictly increasing breaks"),
                    ));
                }
                (ClassifyMethod::Breaks, None, Some(_)) => {}
                (_, _, Some(_)) => {
                    return Err(Error::key(key("classify.breaks"), "only applies with `method = \"breaks\"`"))
                }
                (_, None, None) => return Err(Error::key(key("classify.classes"), "give the number of classes")),
                (_, Some(n), None) if !(2..=1000).contains(&n) => {
                    return Err(Error::key(key("classify.classes"), format!("{n} is outside 2..=1000")))
                }
                _ => {}
            }
        }
        if transform.is_none() && ev.classify.is_none() {
            return Ok(None);
        }
        Ok(Some(Params {
            transform,
            offset: offset.unwrap_or(0.0),
            zeros: ev.zeros.unwrap_or_default(),
            classify: ev.classify.clone(),
        }))
    }
}

/// Whether `x` (after the offset) is in the domain of `t`.
fn in_domain(t: Transform, x: f64) -> bool {
    match t {
        Transform::Log | Transform::Log10 => x > 0.0,
        Transform::Sqrt => x >= 0.0,
        Transform::Log1p => x > -1.0,
        Transform::Rank | Transform::Clr => true,
    }
}

fn apply(t: Transform, x: f64) -> f64 {
    match t {
        Transform::Log => x.ln(),
        Transform::Log10 => x.log10(),
        Transform::Log1p => x.ln_1p(),
        Transform::Sqrt => x.sqrt(),
        Transform::Rank | Transform::Clr => x,
    }
}

/// The class numbers of `x` for `breaks`: `1 + #{b <= x}`.
pub fn class_of(breaks: &[f64], x: f64) -> usize {
    1 + breaks.partition_point(|&b| b <= x)
}

/// Exact quantile breaks of sorted values: the value at rank `ceil(k n / classes)`,
/// `k = 1..classes`, duplicates removed.
pub fn quantile_breaks(sorted: &[f64], classes: usize) -> Vec<f64> {
    let n = sorted.len();
    let mut out: Vec<f64> = (1..classes)
        .map(|k| {
            let rank = (k * n).div_ceil(classes).max(1);
            sorted[rank - 1]
        })
        .collect();
    out.dedup();
    out
}

/// The class numbers of `breaks` (see [`class_of`]) with their intervals: class 1 is
/// `(-inf, b1)`, class `k` is `[b(k-1), b(k))`, the last `[b(n-1), inf)`.
pub fn interval_names(breaks: &[f64]) -> Vec<(i64, String)> {
    let bound = |k: usize| -> String {
        match k {
            0 => "-inf".into(),
            k if k > breaks.len() => "inf".into(),
            k => format!("{}", breaks[k - 1]),
        }
    };
    (1..=breaks.len() + 1)
        .map(|k| {
            let open = if k == 1 { "(" } else { "[" };
            (k as i64, format!("{open}{}, {})", bound(k - 1), bound(k)))
        })
        .collect()
}

/// A layer with its transform and classification applied.
#[derive(Debug)]
pub struct Transformed {
    inner: Box<dyn Evidence>,
    params: Params,
    /// Replacement of out-of-domain values (`half_min`), before the transform.
    replacement: Option<f64>,
    /// The sorted study-area values before the transform (`rank`).
    ranks: Option<Vec<f64>>,
    /// Class breaks after the transform.
    breaks: Option<Vec<f64>>,
    /// Study-area cells outside the domain.
    outside: u64,
}

/// Wraps `inner` when its validated `params` ask for a transform or a classification.
pub fn wrap(params: Option<&Params>, grid: &Grid, inner: Box<dyn Evidence>) -> Result<Box<dyn Evidence>> {
    match scan_values(params, grid, inner.as_ref(), &grid.windows())? {
        None => Ok(inner),
        Some(values) => finish(params, inner, values),
    }
}

/// The transform's pass over `windows` (the partial of [`wrap`]'s): each window's
/// study-area values with data, offset added, sorted, in window order; `None` when `params`
/// ask for no transform or classification.
pub fn scan_values(
    params: Option<&Params>,
    grid: &Grid,
    inner: &dyn Evidence,
    windows: &[Window],
) -> Result<Option<Vec<f64>>> {
    let Some(params) = params else {
        return Ok(None);
    };
    one_column(inner)?;
    let parts: Vec<Vec<f64>> = windows
        .par_iter()
        .map(|w| {
            crate::features::scan::count_window();
            let b = inner.compute(grid, w)?;
            let study = grid.mask(w)?;
            let mut v: Vec<f64> =
                (0..w.len()).filter(|&i| study[i] && b.valid[i]).map(|i| b.values[[i, 0]] + params.offset).collect();
            v.sort_by(f64::total_cmp);
            Ok(v)
        })
        .collect::<Result<_>>()?;
    Ok(Some(parts.into_iter().flatten().collect()))
}

/// Refuses a transform of a layer with more than one column.
fn one_column(inner: &dyn Evidence) -> Result<()> {
    if inner.columns().len() != 1 {
        return Err(Error::key(
            format!("evidence `{}`", inner.name()),
            format!(
                "has {} columns ({}); transform and classify apply to one-column layers",
                inner.columns().len(),
                inner.columns().join(", ")
            ),
        ));
    }
    Ok(())
}

/// Wraps `inner` from the merged pass of every window ([`scan_values`]'s partials, in
/// any order: they are sorted here).
pub fn finish(params: Option<&Params>, inner: Box<dyn Evidence>, mut all: Vec<f64>) -> Result<Box<dyn Evidence>> {
    let Some(params) = params.cloned() else {
        return Ok(inner);
    };
    one_column(inner.as_ref())?;
    all.sort_by(f64::total_cmp);
    let name = inner.name().to_string();
    let mut replacement = None;
    let mut outside = 0;
    if let Some(t) = params.transform {
        outside = all.iter().filter(|&&x| !in_domain(t, x)).count() as u64;
        if outside > 0 {
            let smallest = all[0];
            let what = match t {
                Transform::Sqrt => "negative",
                Transform::Log1p => "<= -1",
                _ => "zero or negative",
            };
            match params.zeros {
                Zeros::Error => {
                    return Err(Error::key(
                        format!("evidence `{name}`.transform"),
                        format!(
                            "{outside} study-area cells are {what} (after offset {}; smallest {smallest}), outside the \
                             domain of `{t:?}`; set `zeros = \"half_min\"` or `\"drop\"`, or an `offset`",
                            params.offset
                        )
                        .to_lowercase(),
                    ))
                }
                Zeros::HalfMin => {
                    let Some(&min) = all.iter().find(|&&x| in_domain(t, x) && (t != Transform::Sqrt || x > 0.0)) else {
                        return Err(Error::key(
                            format!("evidence `{name}`.zeros"),
                            "no value in the domain to take half of",
                        ));
                    };
                    // For log1p the domain starts at -1: half the distance above it.
                    replacement = Some(if t == Transform::Log1p { -1.0 + (min + 1.0) / 2.0 } else { min / 2.0 });
                }
                Zeros::Drop => {}
            }
            tracing::warn!(
                "evidence `{name}`: {outside} study-area cells {what} for `{t:?}` ({})",
                match params.zeros {
                    Zeros::HalfMin => format!("set to {}", replacement.unwrap_or_default()),
                    _ => "dropped: no data there".into(),
                }
            );
        }
    }
    let ranks = (params.transform == Some(Transform::Rank)).then(|| all.clone());
    let breaks = match &params.classify {
        None => None,
        Some(c) => {
            let t = Transformed {
                inner: Box::new(Noop),
                params: params.clone(),
                replacement,
                ranks: ranks.clone(),
                breaks: None,
                outside,
            };
            let mut values: Vec<f64> = all.iter().filter_map(|&x| t.value(x - params.offset)).collect();
            values.sort_by(f64::total_cmp);
            if values.is_empty() {
                return Err(Error::key(format!("evidence `{name}`.classify"), "no study-area value to classify"));
            }
            Some(match c.method {
                ClassifyMethod::Breaks => c.breaks.clone().unwrap_or_default(),
                ClassifyMethod::Quantile => quantile_breaks(&values, c.classes.unwrap_or(2)),
                ClassifyMethod::EqualInterval => {
                    let (lo, hi) = (values[0], values[values.len() - 1]);
                    let n = c.classes.unwrap_or(2);
                    let mut b: Vec<f64> = (1..n).map(|k| lo + k as f64 * (hi - lo) / n as f64).collect();
                    b.dedup();
                    b
                }
            })
        }
    };
    Ok(Box::new(Transformed { inner, params, replacement, ranks, breaks, outside }))
}

/// A placeholder layer (for evaluating a transform before the wrapper exists).
#[derive(Debug)]
struct Noop;

impl Evidence for Noop {
    fn name(&self) -> &str {
        ""
    }
    fn compute(&self, _: &Grid, w: &Window) -> Result<LayerBlock> {
        Ok(LayerBlock { values: ndarray::Array2::zeros((w.len(), 1)), valid: vec![false; w.len()] })
    }
    fn describe(&self) -> String {
        String::new()
    }
}

impl Transformed {
    /// The transformed value of a computed value `v` (`None`: dropped), before classes.
    fn value(&self, v: f64) -> Option<f64> {
        let x = v + self.params.offset;
        let Some(t) = self.params.transform else {
            return Some(x);
        };
        if t == Transform::Rank {
            let r = self.ranks.as_deref().unwrap_or_default();
            let below = r.partition_point(|&a| a < x);
            let equal = r.partition_point(|&a| a <= x) - below;
            return Some((below as f64 + equal as f64 / 2.0) / r.len().max(1) as f64);
        }
        if in_domain(t, x) {
            return Some(apply(t, x));
        }
        // Out of the domain: `error` was refused at prepare for study-area cells; other
        // cells (outside the study area) follow the same rule as `drop`.
        self.replacement.map(|r| apply(t, r))
    }

    /// The class breaks (after the transform), when classified.
    pub fn breaks(&self) -> Option<&[f64]> {
        self.breaks.as_deref()
    }
}

impl Evidence for Transformed {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let mut b = self.inner.compute(grid, w)?;
        for i in 0..w.len() {
            if !b.valid[i] {
                continue;
            }
            match self.value(b.values[[i, 0]]) {
                None => b.valid[i] = false,
                Some(v) => {
                    b.values[[i, 0]] = match &self.breaks {
                        Some(br) => class_of(br, v) as f64,
                        None => v,
                    }
                }
            }
        }
        Ok(b)
    }

    fn value_classes(&self) -> Option<Vec<(i64, String)>> {
        self.breaks.as_deref().map(interval_names)
    }

    fn describe(&self) -> String {
        let mut d = self.inner.describe();
        if let Some(t) = self.params.transform {
            d += &format!(", then {t:?}").to_lowercase();
            if self.params.offset != 0.0 {
                d += &format!(" of value + {}", self.params.offset);
            }
            if self.outside > 0 {
                d += &format!(" ({} cells outside its domain: {:?})", self.outside, self.params.zeros).to_lowercase();
            }
        }
        if let (Some(c), Some(b)) = (&self.params.classify, &self.breaks) {
            d += &format!(", classified ({:?}) into {} classes at breaks {b:?}", c.method, b.len() + 1).to_lowercase();
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_breaks_are_inverted_cdf_order_statistics_and_classes_follow_digitize() {
        let v: Vec<f64> = (1..=10).map(|x| x as f64).collect();
        // numpy.quantile(v, [0.25, 0.5, 0.75], method="inverted_cdf") = [3, 5, 8].
        assert_eq!(quantile_breaks(&v, 4), vec![3.0, 5.0, 8.0]);
        // numpy.digitize(x, [3, 5, 8]) + 1.
        let classes: Vec<usize> =
            [1.0, 3.0, 4.9, 5.0, 8.0, 9.0].iter().map(|&x| class_of(&[3.0, 5.0, 8.0], x)).collect();
        assert_eq!(classes, vec![1, 2, 2, 3, 4, 4]);
        let names: Vec<String> = interval_names(&[3.0, 5.0]).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, vec!["(-inf, 3)", "[3, 5)", "[5, inf)"]);
        // Tied data: fewer breaks, never two equal.
        assert_eq!(quantile_breaks(&[1.0, 1.0, 1.0, 2.0], 4), vec![1.0]);
    }
}
