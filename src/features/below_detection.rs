//! Values below the lower limit of detection, as surveys write them, for `interpolate`:
//!
//! - text such as `<0.5`, or a negative number (`-0.5`): below a limit of 0.5;
//! - `detection_limits = { Ta_mgkg_ICPar = 0.005 }`: a number below its column's limit
//!   (a survey that writes half the limit in place of a censored value, as Tellus does);
//! - a separate sheet of uncensored values (`below_detection = "layer"` with
//!   `below_detection_layer = "Data_Below_LLD"` and `join = "Sample_ID"`): a value below
//!   detection is replaced by the value of the same column in that layer, in the row with
//!   the same `join` value. A column that layer does not have takes half the limit.
//!
//! Otherwise `below_detection` says what replaces a value below detection: `half` (half
//! the limit, default), `drop` (the sample is not used), `value` (`below_detection_value`).
//! Counts per column are kept and reported ([`Counts`]).

use std::collections::HashMap;

use crate::features::interpolate::{reading, BelowDetection, Reading};
use crate::io::vector::Attr;

/// What was below detection, per column, and how it was replaced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Per column: (name, values below detection, of which replaced from the separate layer).
    pub columns: Vec<(String, usize, usize)>,
}

impl Counts {
    /// `Li 5, Ta 2744 (2744 from Data_Below_LLD)`; `none` when nothing was below detection.
    pub fn describe(&self, layer: Option<&str>) -> String {
        let parts: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.1 > 0)
            .map(|(n, b, r)| match (r, layer) {
                (0, _) | (_, None) => format!("{n} {b}"),
                (r, Some(l)) => format!("{n} {b} ({r} from {l})"),
            })
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// Values below detection in every column.
    pub fn total(&self) -> usize {
        self.columns.iter().map(|c| c.1).sum()
    }
}

/// The rule for one layer: replacement, per-column limits and the separate layer's values.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What replaces a value below detection.
    pub replace: BelowDetection,
    /// Replacement for `value`.
    pub value: Option<f64>,
    /// Per column (in the order read): its detection limit, if given.
    pub limits: Vec<Option<f64>>,
    /// `layer`: join value -> per column, the separate layer's value (`None`: no such column).
    pub separate: Option<HashMap<String, Vec<Option<Attr>>>>,
}

/// The text of a join key (`Sample_ID`), or `None` when empty.
pub fn join_key(a: &Attr) -> Option<String> {
    match a {
        Attr::Null => None,
        Attr::Text(t) if t.trim().is_empty() => None,
        Attr::Text(t) => Some(t.trim().to_string()),
        other => Some(other.to_string()),
    }
}

/// A value after the rule: `Ok(Some(v))`, `Ok(None)` when the sample is dropped (`drop`),
/// or an error message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The value to use.
    Value(f64),
    /// The value is null or empty: the sample has no value for this column.
    Missing,
    /// Below detection with `drop`: the sample is not used.
    Dropped,
}

impl Rule {
    /// The value of column `c` of a sample whose `join` value is `id`, counting what is
    /// below detection in `counts` (one entry per column).
    pub fn apply(
        &self,
        c: usize,
        a: &Attr,
        id: Option<&str>,
        counts: &mut Counts,
    ) -> std::result::Result<Outcome, String> {
        let r = match reading(a)? {
            None => return Ok(Outcome::Missing),
            Some(Reading::Value(v)) => match self.limits[c] {
                Some(limit) if v < limit => Reading::BelowDetection(limit),
                _ => Reading::Value(v),
            },
            Some(r) => r,
        };
        let Reading::BelowDetection(limit) = r else {
            let Reading::Value(v) = r else { unreachable!() };
            return Ok(Outcome::Value(v));
        };
        counts.columns[c].1 += 1;
        Ok(match self.replace {
            BelowDetection::Half => Outcome::Value(limit / 2.0),
            BelowDetection::Drop => Outcome::Dropped,
            BelowDetection::Value => Outcome::Value(self.value.unwrap_or_default()),
            BelowDetection::Layer => {
                let table = self.separate.as_ref().ok_or("no below-detection layer was read")?;
                let id = id.ok_or("the sample has no `join` value to find it in the below-detection layer")?;
                let row = table.get(id).ok_or_else(|| format!("sample `{id}` is not in the below-detection layer"))?;
                match &row[c] {
                    None => Outcome::Value(limit / 2.0),
                    Some(v) => match reading(v)? {
                        Some(Reading::Value(v)) => {
                            counts.columns[c].2 += 1;
                            Outcome::Value(v)
                        }
                        Some(Reading::BelowDetection(_)) | None => {
                            return Err(format!(
                                "sample `{id}`: the below-detection layer has `{v}`, not a measured value"
                            ))
                        }
                    },
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: usize) -> Counts {
        Counts { columns: (0..n).map(|i| (format!("c{i}"), 0, 0)).collect() }
    }

    #[test]
    fn limits_mark_half_limit_substitutes_and_half_keeps_them() {
        // Tellus writes half the limit (0.0025) for Ta below 0.005: half gives it back.
        let rule = Rule { replace: BelowDetection::Half, value: None, limits: vec![Some(0.005)], separate: None };
        let mut c = counts(1);
        assert_eq!(rule.apply(0, &Attr::Real(0.0025), None, &mut c), Ok(Outcome::Value(0.0025)));
        assert_eq!(rule.apply(0, &Attr::Real(0.012), None, &mut c), Ok(Outcome::Value(0.012)));
        assert_eq!(rule.apply(0, &Attr::Text("<0.5".into()), None, &mut c), Ok(Outcome::Value(0.25)));
        assert_eq!(rule.apply(0, &Attr::Null, None, &mut c), Ok(Outcome::Missing));
        assert_eq!(c.columns[0].1, 2);
    }

    #[test]
    fn the_separate_layer_replaces_by_join_and_half_where_it_has_no_column() {
        let table = HashMap::from([("A1".to_string(), vec![Some(Attr::Real(0.00057)), None])]);
        let rule = Rule {
            replace: BelowDetection::Layer,
            value: None,
            limits: vec![Some(0.005), Some(0.1)],
            separate: Some(table),
        };
        let mut c = counts(2);
        assert_eq!(rule.apply(0, &Attr::Real(0.0025), Some("A1"), &mut c), Ok(Outcome::Value(0.00057)));
        assert_eq!(rule.apply(1, &Attr::Real(0.05), Some("A1"), &mut c), Ok(Outcome::Value(0.05)));
        assert_eq!(rule.apply(0, &Attr::Real(0.02), Some("A1"), &mut c), Ok(Outcome::Value(0.02)));
        assert!(rule.apply(0, &Attr::Real(0.001), Some("B9"), &mut c).unwrap_err().contains("`B9`"));
        assert_eq!(c.columns, vec![("c0".into(), 2, 1), ("c1".into(), 1, 0)]);
        assert_eq!(c.describe(Some("Data_Below_LLD")), "c0 2 (1 from Data_Below_LLD), c1 1");
    }

    #[test]
    fn drop_and_value() {
        let mut c = counts(1);
        let drop = Rule { replace: BelowDetection::Drop, value: None, limits: vec![None], separate: None };
        assert_eq!(drop.apply(0, &Attr::Real(-0.5), None, &mut c), Ok(Outcome::Dropped));
        let value = Rule { replace: BelowDetection::Value, value: Some(0.1), limits: vec![None], separate: None };
        assert_eq!(value.apply(0, &Attr::Text("<2".into()), None, &mut c), Ok(Outcome::Value(0.1)));
        assert_eq!(c.total(), 2);
    }
}
