//! `kind = "interpolate"`: a surface interpolated from point samples (geochemistry:
//! soil, stream sediment, rock chips) at each cell centre, by inverse distance weighting.
//!
//! - The value is the numeric `attribute` of each point. Values below detection are
//!   explicit: text such as `<0.5` and negative numbers (the common `-0.5` convention)
//!   mean "below a detection limit of 0.5", replaced as `below_detection` says: `half`
//!   (default: half the limit), `drop` (the sample is not used) or `value` (the
//!   `below_detection_value`). A null value drops the sample; any other text is an error
//!   naming the feature.
//! - `transform = "log"` interpolates natural logarithms and returns `exp` of the
//!   estimate (for IDW, a weighted geometric mean); a value ≤ 0 is then an error.
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

use crate::config::{EvidenceInput, EvidenceKind, EvidenceSettings, RawEvidence};
use crate::error::{Error, Result};
use crate::features::{Evidence, LayerBlock};
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
}

/// Transforms applied before interpolating (and undone after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Natural logarithm.
    Log,
}

/// The validated keys of an `interpolate` layer.
#[derive(Debug, Clone, Copy)]
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
    /// Transform.
    pub transform: Option<Transform>,
}

impl Params {
    /// Checks the keys of `evidence[i]`; the interpolation keys are rejected on other kinds.
    pub fn from_raw(i: usize, ev: &RawEvidence) -> Result<Option<Params>> {
        let key = |k: &str| format!("evidence[{i}].{k}");
        if ev.kind != EvidenceKind::Interpolate {
            for (k, set) in [
                ("power", ev.power.is_some()),
                ("search_radius", ev.search_radius.is_some()),
                ("max_points", ev.max_points.is_some()),
                ("min_points", ev.min_points.is_some()),
                ("below_detection", ev.below_detection.is_some()),
                ("below_detection_value", ev.below_detection_value.is_some()),
                ("transform", ev.transform.is_some()),
            ] {
                if set {
                    return Err(Error::key(key(k), format!("only applies to `interpolate`, not `{}`", ev.kind.as_str())));
                }
            }
            return Ok(None);
        }
        if ev.attribute.is_none() {
            return Err(Error::key(key("attribute"), "`interpolate` needs the attribute holding the values"));
        }
        let power = ev.power.unwrap_or(2.0);
        if !(power.is_finite() && power > 0.0) {
            return Err(Error::key(key("power"), format!("{power} must be > 0")));
        }
        let search_radius = ev.search_radius.unwrap_or(f64::INFINITY);
        if !(search_radius > 0.0) {
            return Err(Error::key(key("search_radius"), format!("{search_radius} must be a distance > 0")));
        }
        let max_points = ev.max_points.unwrap_or(12);
        let min_points = ev.min_points.unwrap_or(1);
        if max_points == 0 || min_points == 0 || min_points > max_points {
            return Err(Error::key(
                key("min_points"),
                format!("need 1 <= min_points ({min_points}) <= max_points ({max_points})"),
            ));
        }
        let below_detection = ev.below_detection.unwrap_or_default();
        match (below_detection, ev.below_detection_value) {
            (BelowDetection::Value, None) => {
                return Err(Error::key(key("below_detection_value"), "`below_detection = \"value\"` needs it"))
            }
            (BelowDetection::Value, Some(v)) if !v.is_finite() => {
                return Err(Error::key(key("below_detection_value"), format!("{v} is not a number")))
            }
            (BelowDetection::Half | BelowDetection::Drop, Some(_)) => {
                return Err(Error::key(key("below_detection_value"), "only applies with `below_detection = \"value\"`"))
            }
            _ => {}
        }
        Ok(Some(Params {
            power,
            search_radius,
            max_points,
            min_points,
            below_detection,
            below_detection_value: ev.below_detection_value,
            transform: ev.transform,
        }))
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
    below_detection: usize,
}

impl Interpolate {
    /// Reads the samples (reprojected to the grid), applies the below-detection rule and
    /// the transform, and indexes them.
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Interpolate> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "an `interpolate` layer needs a vector file"));
        };
        let params = Params::from_raw(0, &settings.raw)?
            .ok_or_else(|| Error::key(&settings.name, "not an `interpolate` layer"))?;
        let attribute = settings.attribute.as_deref().unwrap_or_default();
        let err = |message: String| Error::Layer {
            path: layer.path.clone(),
            layer: layer.layer.clone(),
            message: format!("evidence `{}`, attribute `{attribute}`: {message}", settings.name),
        };
        let mut samples = Vec::new();
        let mut below = 0;
        for (k, f) in layer.read(grid, Some(attribute))?.into_iter().enumerate() {
            let geo::Geometry::Point(p) = f.geometry else {
                return Err(err(format!("feature {k} is not a point")));
            };
            let value = match reading(&f.value).map_err(|m| err(format!("feature {k}: {m}")))? {
                None => continue,
                Some(Reading::Value(v)) => v,
                Some(Reading::BelowDetection(limit)) => {
                    below += 1;
                    match params.below_detection {
                        BelowDetection::Half => limit / 2.0,
                        BelowDetection::Drop => continue,
                        BelowDetection::Value => params.below_detection_value.unwrap_or_default(),
                    }
                }
            };
            let value = match params.transform {
                None => value,
                Some(Transform::Log) if value > 0.0 => value.ln(),
                Some(Transform::Log) => {
                    return Err(err(format!("feature {k} has {value}, which has no logarithm")));
                }
            };
            samples.push(GeomWithData::new([p.x(), p.y()], value));
        }
        if samples.len() < params.min_points {
            return Err(err(format!("{} usable samples, fewer than min_points", samples.len())));
        }
        Ok(Interpolate {
            name: settings.name.clone(),
            source: format!("{} layer {}", layer.path.display(), layer.layer),
            params,
            samples: RTree::bulk_load(samples),
            below_detection: below,
        })
    }

    /// The estimate at map point `p`, or `None` with too few samples in reach.
    pub fn at(&self, p: [f64; 2]) -> Option<f64> {
        let r2 = self.params.search_radius * self.params.search_radius;
        let near: Vec<(f64, f64)> = self
            .samples
            .nearest_neighbor_iter_with_distance_2(&p)
            .take_while(|(_, d2)| *d2 <= r2)
            .take(self.params.max_points)
            .map(|(s, d2)| (d2, s.data))
            .collect();
        if near.len() < self.params.min_points {
            return None;
        }
        let estimate = idw(&near, self.params.power);
        Some(match self.params.transform {
            None => estimate,
            Some(Transform::Log) => estimate.exp(),
        })
    }
}

/// Inverse distance weighting of `(squared distance, value)` pairs.
pub fn idw(near: &[(f64, f64)], power: f64) -> f64 {
    let at_centre: Vec<f64> = near.iter().filter(|(d2, _)| *d2 == 0.0).map(|&(_, v)| v).collect();
    if !at_centre.is_empty() {
        return at_centre.iter().sum::<f64>() / at_centre.len() as f64;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for &(d2, v) in near {
        let w = d2.powf(-power / 2.0);
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
        vec![self.name.clone()]
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let mut values = Array2::<f64>::zeros((w.len(), 1));
        let mut valid = vec![false; w.len()];
        for (i, ok) in valid.iter_mut().enumerate() {
            let (x, y) = grid.centre(w.cell(i));
            if let Some(v) = self.at([x, y]) {
                values[[i, 0]] = v;
                *ok = true;
            }
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        format!(
            "IDW (power {}, {} nearest within {}) of {} samples of {} ({} below detection, {:?}){}",
            self.params.power,
            self.params.max_points,
            self.params.search_radius,
            self.samples.size(),
            self.source,
            self.below_detection,
            self.params.below_detection,
            if self.params.transform.is_some() { ", log transform" } else { "" }
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
    fn idw_by_hand() {
        // Distances 1 and 2, power 2: weights 1 and 1/4.
        let v = idw(&[(1.0, 10.0), (4.0, 20.0)], 2.0);
        assert!((v - (10.0 + 20.0 / 4.0) / 1.25).abs() < 1e-12);
        assert_eq!(idw(&[(0.0, 3.0), (0.0, 5.0), (4.0, 100.0)], 2.0), 4.0);
    }
}
