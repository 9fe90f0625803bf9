//! Calculate Response: posterior probability of one cell from the
//! generalised weights of its evidence layers.
//!
//! ```text
//! prior logit     = ln(P / (1 - P)),  P = ds / s   (= ln(ds / (s - ds)))
//! posterior logit = prior logit + sum of WEIGHT of the cell's class in each layer
//! probability p   = e^logit / (1 + e^logit)
//! std             = sqrt(p^2 * (1/ds + sum of W_STD^2))
//! confidence      = p / std
//! ```
//!
//! with `ds` the training deposits and `s` the study area in unit cells. A
//! layer with missing data at the cell contributes weight 0 and W_STD 0 (the
//! values of the missing-data row of its table); ArcSDM then adds a
//! missing-data variance, see [`missing_data_variance`]. GA's R port reads
//! a missing-data value but never uses it, i.e. it adds no such variance.

use crate::wofe::WofeError;

/// Prior of a Calculate Response run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prior {
    /// `ln(P / (1 - P))` with `P = deposits / unit cells`.
    pub logit: f64,
    /// Variance of the prior logit, `1 / deposits`.
    pub variance: f64,
}

impl Prior {
    /// Prior from the number of training deposits and the study area in unit
    /// cells (GA: the sum of `AREA_UNITS` of the first layer's table over the
    /// classes present in its raster; ArcSDM: the mask area / unit area).
    pub fn new(deposits: u64, study_area_units: f64) -> Result<Self, WofeError> {
        if deposits == 0 {
            return Err(WofeError::NoDeposits);
        }
        if study_area_units.is_nan() || study_area_units <= deposits as f64 {
            return Err(WofeError::StudyAreaTooSmall { unit_cells: study_area_units, deposits });
        }
        let p = deposits as f64 / study_area_units;
        Ok(Self { logit: (p / (1.0 - p)).ln(), variance: 1.0 / deposits as f64 })
    }
}

/// Generalised weight of the class a layer has at a cell (`WEIGHT`, `W_STD`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerWeight {
    /// Generalised weight.
    pub weight: f64,
    /// Its standard deviation.
    pub w_std: f64,
}

/// Posterior of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    /// Posterior probability.
    pub probability: f64,
    /// Standard deviation of the posterior probability due to the weights
    /// (without missing-data variance).
    pub std: f64,
    /// `probability / std` (ArcSDM also divides by `std`, not by the total
    /// standard deviation).
    pub confidence: f64,
}

impl Posterior {
    /// Total standard deviation once the missing-data variances of the
    /// layers missing at this cell (summed) are added: `sqrt(std² + md_var)`.
    pub fn total_std(&self, missing_data_variance: f64) -> f64 {
        (self.std * self.std + missing_data_variance).sqrt()
    }
}

/// Posterior of one cell. `layers` holds, per evidence layer, the weight of
/// the cell's class, or `None` where the layer has missing data (weight 0,
/// W_STD 0).
pub fn posterior(prior: &Prior, layers: &[Option<LayerWeight>]) -> Posterior {
    let present = || layers.iter().flatten();
    let logit = prior.logit + present().map(|l| l.weight).sum::<f64>();
    let variance = prior.variance + present().map(|l| l.w_std * l.w_std).sum::<f64>();
    let probability = 1.0 / (1.0 + (-logit).exp());
    let std = (probability * probability * variance).sqrt();
    Posterior { probability, std, confidence: probability / std }
}

/// A generalised class of a layer and its share of the layer's area.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassShare {
    /// Generalised weight of the class.
    pub weight: f64,
    /// Area of the class / area of the layer (ArcSDM: cells with this weight
    /// over the area of the layer's weight raster).
    pub area_fraction: f64,
}

/// ArcSDM's variance of the posterior probability `p` of a cell due to one
/// layer having missing data there: with posterior odds `O = p / (1 - p)`
/// (computed with weight 0 for the missing layer) and, for each generalised
/// class `k` of the layer, `p_k = O e^{w_k} / (1 + O e^{w_k})`,
/// `var = sum_k (p_k - p)^2 * area_fraction_k`.
/// Sum it over the missing layers and pass it to [`Posterior::total_std`].
pub fn missing_data_variance(probability: f64, classes: &[ClassShare]) -> f64 {
    let odds = probability / (1.0 - probability);
    classes
        .iter()
        .map(|c| {
            let o = odds * c.weight.exp();
            let d = o / (1.0 + o) - probability;
            d * d * c.area_fraction
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_evidence_gives_prior() {
        let prior = Prior::new(10, 1010.0).unwrap();
        assert!((prior.logit - (10.0f64 / 1000.0).ln()).abs() < 1e-15);
        let p = posterior(&prior, &[None, None]);
        assert!((p.probability - 10.0 / 1010.0).abs() < 1e-15);
        assert!((p.confidence - 10f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn missing_data_variance_vanishes_for_zero_weights() {
        let classes = [ClassShare { weight: 0.0, area_fraction: 0.5 }; 2];
        assert_eq!(missing_data_variance(0.3, &classes), 0.0);
        let classes = [ClassShare { weight: 1.0, area_fraction: 0.5 }, ClassShare { weight: -1.0, area_fraction: 0.5 }];
        let v = missing_data_variance(0.5, &classes);
        let p1 = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((v - (p1 - 0.5).powi(2)).abs() < 1e-15);
    }

    #[test]
    fn prior_rejects_degenerate_input() {
        assert_eq!(Prior::new(0, 10.0), Err(WofeError::NoDeposits));
        assert!(Prior::new(10, 10.0).is_err());
        assert!(Prior::new(10, f64::NAN).is_err());
    }
}
