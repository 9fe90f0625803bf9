//! `model.kind = "fuzzy"`: knowledge-driven fuzzy overlay for districts with too few
//! deposits to train on. Each layer becomes a membership in [0, 1] by a function given in
//! the config (linear, large or small sigmoid as ArcGIS's FuzzyLarge / FuzzySmall, or one
//! value per class), and the memberships are combined by fuzzy AND, OR, algebraic
//! product, algebraic sum or gamma (An et al. 1991; Bonham-Carter 1994).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::FuzzyFrom;
use crate::config::{EvidenceSettings, FuzzyOperator, Membership, Settings};
use crate::error::{Error, Result};
use crate::features::{Cells, ClassAt, ClassReader, FeatureBlock, FeatureStack, WindowFeatures};
use crate::labels::Deposits;
use crate::model::{split, BlockPrediction, Built, FitReport, MapOutput, Model, ModelKind};
use crate::training::TrainingSet;
use crate::validation::CrossValidation;

/// A membership function with its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MembershipFn {
    /// 0 at `low`, 1 at `high`, linear between, clamped.
    Linear {
        /// Value of membership 0.
        low: f64,
        /// Value of membership 1.
        high: f64,
    },
    /// `1 / (1 + (x / midpoint)^-spread)`.
    Large {
        /// Value of membership 0.5.
        midpoint: f64,
        /// Steepness.
        spread: f64,
    },
    /// `1 / (1 + (x / midpoint)^spread)`.
    Small {
        /// Value of membership 0.5.
        midpoint: f64,
        /// Steepness.
        spread: f64,
    },
    /// One membership per class.
    Classes {
        /// Class -> membership.
        values: BTreeMap<i64, f64>,
        /// Membership of other classes.
        default: f64,
    },
}

impl MembershipFn {
    /// Membership of a continuous value.
    pub fn of_value(&self, x: f64) -> f64 {
        match *self {
            MembershipFn::Linear { low, high } => ((x - low) / (high - low)).clamp(0.0, 1.0),
            MembershipFn::Large { midpoint, spread } => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 / (1.0 + (x / midpoint).powf(-spread))
                }
            }
            MembershipFn::Small { midpoint, spread } => {
                if x <= 0.0 {
                    1.0
                } else {
                    1.0 / (1.0 + (x / midpoint).powf(spread))
                }
            }
            MembershipFn::Classes { ref values, default } => {
                if x.fract() == 0.0 {
                    values.get(&(x as i64)).copied().unwrap_or(default)
                } else {
                    default
                }
            }
        }
    }
}

/// For every layer with `from = "percentile"`: its `[low, high]` percentiles and the
/// layer's values at them ([`crate::model::percentile::layer_percentiles`], one pass for
/// all such layers); `None` for the others. The percentiles must be in [0, 100], the
/// membership linear and the layer continuous.
pub fn percentile_memberships(settings: &Settings, stack: &FeatureStack) -> Result<Vec<Option<([f64; 2], [f64; 2])>>> {
    let mut layers = Vec::new();
    let mut wanted = Vec::new();
    for (k, ev) in settings.evidence.iter().enumerate() {
        let Some(f) = ev.fuzzy.as_ref().filter(|f| f.from == Some(FuzzyFrom::Percentile)) else { continue };
        let key = |k: &str| format!("evidence `{}`.fuzzy.{k}", ev.name);
        if f.membership != Membership::Linear {
            return Err(Error::key(key("from"), "`from = \"percentile\"` applies to membership = \"linear\""));
        }
        if stack.layers[k].class_codes().is_some() {
            return Err(Error::key(key("from"), "a class layer has no percentiles: use membership = \"classes\""));
        }
        let (Some(low), Some(high)) = (f.low, f.high) else {
            return Err(Error::key(key("low"), "`from = \"percentile\"` needs `low` and `high` (percentiles 0-100)"));
        };
        for (name, p) in [("low", low), ("high", high)] {
            if !(0.0..=100.0).contains(&p) {
                return Err(Error::key(key(name), format!("{p} is not a percentile in [0, 100]")));
            }
        }
        if low == high {
            return Err(Error::key(key("high"), "must differ from `low`"));
        }
        layers.push(k);
        wanted.push(vec![low, high]);
    }
    let mut out = vec![None; settings.evidence.len()];
    if layers.is_empty() {
        return Ok(out);
    }
    let values = crate::model::percentile::layer_percentiles(stack, &layers, &wanted)?;
    for ((k, p), v) in layers.into_iter().zip(wanted).zip(values) {
        tracing::info!(
            "evidence `{}`: membership 0 at percentile {} ({}), 1 at percentile {} ({})",
            settings.evidence[k].name,
            p[0],
            v[0],
            p[1],
            v[1]
        );
        out[k] = Some(([p[0], p[1]], [v[0], v[1]]));
    }
    Ok(out)
}

/// Combines memberships with a fuzzy operator.
pub fn combine(op: FuzzyOperator, gamma: f64, m: &[f64]) -> f64 {
    let product = || m.iter().product::<f64>();
    let sum = || 1.0 - m.iter().map(|v| 1.0 - v).product::<f64>();
    match op {
        FuzzyOperator::And => m.iter().copied().fold(f64::INFINITY, f64::min),
        FuzzyOperator::Or => m.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        FuzzyOperator::Product => product(),
        FuzzyOperator::Sum => sum(),
        FuzzyOperator::Gamma => sum().powf(gamma) * product().powf(1.0 - gamma),
    }
}

/// The membership function of layer `ev` (`evidence.fuzzy`), checked: every key its
/// membership needs given, values in range. Called by `lode validate` (through
/// [`crate::model::check`]) and when the model is built.
/// `resolved`: the `[low, high]` values of a `from = "percentile"` membership, once the
/// layer's percentiles are known (`None` at `lode validate`, which checks the keys only).
/// `names`: the layer's class names and codes, so a class may be named by its text
/// (`None` at `lode validate`, before the layer is prepared: names are then not checked).
pub fn membership(
    ev: &EvidenceSettings,
    resolved: Option<[f64; 2]>,
    names: Option<&[(String, i64)]>,
) -> Result<MembershipFn> {
    let key = |k: &str| format!("evidence `{}`.fuzzy.{k}", ev.name);
    let f = ev.fuzzy.as_ref().ok_or_else(|| Error::key(key("membership"), "is required by model.kind = \"fuzzy\""))?;
    let need = |v: Option<f64>, k: &str| {
        v.ok_or_else(|| Error::key(key(k), format!("is required by membership `{:?}`", f.membership).to_lowercase()))
    };
    let func = match f.membership {
        Membership::Linear if resolved.is_some() => {
            let [low, high] = resolved.expect("resolved percentiles");
            if low == high {
                return Err(Error::key(
                    key("high"),
                    format!(
                        "the layer's percentiles {:?} and {:?} are both {low}: no membership to draw",
                        f.low, f.high
                    ),
                ));
            }
            MembershipFn::Linear { low, high }
        }
        Membership::Linear => {
            let (low, high) = (need(f.low, "low")?, need(f.high, "high")?);
            if low == high {
                return Err(Error::key(key("high"), "must differ from `low`"));
            }
            MembershipFn::Linear { low, high }
        }
        Membership::Large | Membership::Small => {
            let midpoint = need(f.midpoint, "midpoint")?;
            let spread = f.spread.unwrap_or(5.0);
            if midpoint <= 0.0 || spread <= 0.0 {
                return Err(Error::key(key("midpoint"), "midpoint and spread must be > 0"));
            }
            if f.membership == Membership::Large {
                MembershipFn::Large { midpoint, spread }
            } else {
                MembershipFn::Small { midpoint, spread }
            }
        }
        Membership::Classes => {
            let given =
                f.values.as_ref().ok_or_else(|| Error::key(key("values"), "is required by membership `classes`"))?;
            let mut values = BTreeMap::new();
            for (class, &m) in given {
                let named = names.and_then(|n| n.iter().find(|(n, _)| n == class)).map(|(_, c)| *c);
                let c: i64 = match (named, class.parse::<i64>(), names) {
                    (Some(c), _, _) | (None, Ok(c), _) => c,
                    // At `lode validate` a name is checked once the layer's classes are known.
                    (None, Err(_), None) => continue,
                    (None, Err(_), Some(_)) => {
                        return Err(Error::key(
                            key("values"),
                            format!("`{class}` is neither a class name of the layer nor an integer class"),
                        ))
                    }
                };
                if !(0.0..=1.0).contains(&m) {
                    return Err(Error::key(key("values"), format!("membership {m} of class {c} is outside [0, 1]")));
                }
                values.insert(c, m);
            }
            let default = f.default.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&default) {
                return Err(Error::key(key("default"), "must be in [0, 1]"));
            }
            MembershipFn::Classes { values, default }
        }
    };
    Ok(func)
}

/// A fuzzy overlay model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fuzzy {
    operator: FuzzyOperator,
    gamma: f64,
    layers: Vec<(String, ClassReader, MembershipFn)>,
    /// Per layer: the `[low, high]` percentiles its linear membership was drawn from.
    #[serde(default)]
    percentiles: Vec<Option<[f64; 2]>>,
}

impl Fuzzy {
    /// Builds the model from the config's memberships.
    pub fn new(settings: &Settings, stack: &FeatureStack) -> Result<Fuzzy> {
        let readers = stack.class_readers()?;
        let percentiles = percentile_memberships(settings, stack)?;
        let mut layers = Vec::new();
        for (((ev, reader), from), layer) in settings.evidence.iter().zip(readers).zip(&percentiles).zip(&stack.layers)
        {
            // A class named by its text (`"Granite" = 0.9`): its code, for one-hot layers.
            let names: Vec<(String, i64)> = match (layer.class_names(), layer.class_codes()) {
                (Some(n), Some(c)) => n.into_iter().zip(c).collect(),
                _ => Vec::new(),
            };
            let key = |k: &str| format!("evidence `{}`.fuzzy.{k}", ev.name);
            let func = membership(ev, from.map(|f| f.1), Some(&names))?;
            if reader.codes.is_some() && !matches!(func, MembershipFn::Classes { .. }) {
                return Err(Error::key(key("membership"), "a class layer needs membership = \"classes\""));
            }
            layers.push((ev.name.clone(), reader, func));
        }
        let percentiles = percentiles.iter().map(|p| p.map(|(p, _)| p)).collect();
        Ok(Fuzzy { operator: settings.model.operator, gamma: settings.model.gamma, layers, percentiles })
    }

    /// Combined membership of every cell with data in all layers.
    pub fn predict_block<B: Cells + ?Sized>(&self, block: &B) -> BlockPrediction {
        let n = block.valid().len();
        let mut out = vec![0f32; n];
        let mut m = vec![0.0; self.layers.len()];
        for (i, o) in out.iter_mut().enumerate() {
            if !block.valid()[i] {
                continue;
            }
            for (k, (_, reader, f)) in self.layers.iter().enumerate() {
                m[k] = match reader.class_at(block, i, k) {
                    ClassAt::Class(c) => f.of_value(c as f64),
                    ClassAt::Value(v) => f.of_value(v),
                    ClassAt::Missing => match f {
                        // A one-hot layer whose class has no column: the default membership.
                        MembershipFn::Classes { default, .. } => *default,
                        _ => 0.0,
                    },
                };
            }
            *o = combine(self.operator, self.gamma, &m) as f32;
        }
        BlockPrediction { maps: vec![out], valid: block.valid().to_vec() }
    }

    /// Cross-validation (`[validation]`) with the machinery of the other models
    /// ([`crate::validation::cross_validate`]) on the same rows and folds (the
    /// [`TrainingSet`] sampled as for `logistic`). Fuzzy memberships are given in the
    /// config, not learnt from the deposits, so every fold's model is this model: the
    /// held-out AUC measures how well the expert's memberships rank held-out deposits
    /// against held-out background cells, comparable with the trained models' `cv_auc`;
    /// the folds differ only in which rows they score. `None` without `[validation]`.
    pub fn cross_validate<'a>(
        &'a self,
        settings: &Settings,
        stack: &FeatureStack,
        t: &TrainingSet,
    ) -> Result<Option<CrossValidation<&'a Fuzzy>>> {
        let (cols, nl) = (t.x.ncols(), stack.layers.len());
        crate::validation::cross_validate(
            &settings.validation,
            settings.seed,
            stack,
            t,
            |_rows, _seed| Ok(self),
            |m: &&Fuzzy, x| {
                m.predict_block(&crate::model::trees::rows_block(x, cols, nl)).maps[0]
                    .iter()
                    .map(|&p| p as f64)
                    .collect()
            },
        )
    }
}

impl Model for Fuzzy {
    /// Given in the config; a training set only for cross-validation.
    fn trained_on_rows() -> bool {
        false
    }

    /// Every membership is checked against its layer's keys.
    fn check_layer(ev: &EvidenceSettings) -> Result<()> {
        membership(ev, None, None).map(drop)
    }

    /// The memberships set the map; cross-validated on the held-out rows.
    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        _deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<Fuzzy>> {
        let m = Fuzzy::new(settings, stack)?;
        // Cross-validation scores the fixed memberships on the held-out rows.
        let (validation, files) = match training {
            Some(t) => split(m.cross_validate(settings, stack, t)?),
            None => (None, Vec::new()),
        };
        Ok(Built { model: m, report: FitReport::Fuzzy { validation }, files })
    }

    /// A favourability, not fitted on sampled rows: no prior correction.
    fn sample_share(_settings: &Settings, _t: &TrainingSet) -> Option<f64> {
        None
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Fuzzy
    }

    fn outputs(&self, _probability: &'static str) -> Vec<MapOutput> {
        vec![MapOutput::prospectivity("fuzzy favourability")]
    }

    fn map_values(&self) -> Option<&'static str> {
        Some("relative favourability in [0, 1], not a probability")
    }

    fn window_maps(&self, f: &WindowFeatures) -> BlockPrediction {
        self.predict_block(f)
    }

    fn block_maps(&self, block: &FeatureBlock) -> BlockPrediction {
        self.predict_block(block)
    }

    /// The operator and memberships.
    fn describe(&self, _columns: &[String]) -> serde_json::Value {
        serde_json::json!({
            "operator": self.operator,
            "gamma": self.gamma,
            "layers": self.layers.iter().enumerate().map(|(k, (n, _, f))| match self.percentiles.get(k).copied().flatten() {
                Some(p) => serde_json::json!({ "name": n, "membership": f, "from_percentiles": p }),
                None => serde_json::json!({ "name": n, "membership": f }),
            }).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: [f64; 3] = [0.2, 0.5, 0.9];

    #[test]
    fn operators_match_hand_computed_values() {
        assert_eq!(combine(FuzzyOperator::And, 0.0, &M), 0.2);
        assert_eq!(combine(FuzzyOperator::Or, 0.0, &M), 0.9);
        assert!((combine(FuzzyOperator::Product, 0.0, &M) - 0.09).abs() < 1e-15);
        // 1 - 0.8 * 0.5 * 0.1 = 0.96
        assert!((combine(FuzzyOperator::Sum, 0.0, &M) - 0.96).abs() < 1e-15);
        // 0.96^0.9 * 0.09^0.1
        let g = combine(FuzzyOperator::Gamma, 0.9, &M);
        assert!((g - 0.96f64.powf(0.9) * 0.09f64.powf(0.1)).abs() < 1e-15);
        assert!((g - 0.7576).abs() < 1e-4, "{g}");
    }

    #[test]
    fn gamma_zero_is_the_product_and_gamma_one_the_sum() {
        assert_eq!(combine(FuzzyOperator::Gamma, 0.0, &M), combine(FuzzyOperator::Product, 0.0, &M));
        assert_eq!(combine(FuzzyOperator::Gamma, 1.0, &M), combine(FuzzyOperator::Sum, 0.0, &M));
    }

    #[test]
    fn memberships_match_their_definitions() {
        let lin = MembershipFn::Linear { low: 10.0, high: 20.0 };
        assert_eq!((lin.of_value(5.0), lin.of_value(12.5), lin.of_value(30.0)), (0.0, 0.25, 1.0));
        let dec = MembershipFn::Linear { low: 20.0, high: 10.0 };
        assert_eq!(dec.of_value(12.5), 0.75);
        let large = MembershipFn::Large { midpoint: 100.0, spread: 5.0 };
        assert_eq!(large.of_value(100.0), 0.5);
        assert!((large.of_value(200.0) - 1.0 / (1.0 + 0.5f64.powi(5))).abs() < 1e-15);
        let small = MembershipFn::Small { midpoint: 100.0, spread: 2.0 };
        assert!((small.of_value(200.0) - 0.2).abs() < 1e-15);
        let classes = MembershipFn::Classes { values: BTreeMap::from([(3, 0.7)]), default: 0.1 };
        assert_eq!((classes.of_value(3.0), classes.of_value(4.0)), (0.7, 0.1));
    }
}
