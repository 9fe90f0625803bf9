//! Conditional-independence diagnostics of a weights-of-evidence model (Bonham-Carter
//! 1994; Agterberg and Cheng 2002): the evidence layers should be independent given the
//! deposits, or the posterior probabilities are inflated.
//!
//! - Overall test: the observed deposits `n` against the predicted number
//!   `T = sum over unique conditions of P_k * A_k` (areas in unit cells); `n / T` below
//!   0.85 signals a problem.
//! - Agterberg-Cheng test: `z = (T - n) / s(T)`, `s(T)^2 = sum_k (A_k s(P_k))^2`;
//!   one-sided, conditional independence is rejected when `P(Z >= z) < 0.05`.
//! - Pairwise chi-square between generalised layers on the deposits' classes.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// A unique condition: its area in unit cells, posterior and standard deviation.
#[derive(Debug, Clone, Copy)]
pub struct Condition {
    /// Area in unit cells.
    pub area_units: f64,
    /// Posterior probability.
    pub probability: f64,
    /// Its standard deviation.
    pub std: f64,
}

/// The overall and Agterberg-Cheng tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndependenceTests {
    /// Observed deposits.
    pub observed: f64,
    /// Predicted deposits `T`.
    pub predicted: f64,
    /// `observed / predicted`; below 0.85 the layers are likely dependent.
    pub ratio: f64,
    /// Standard deviation of `T`.
    pub predicted_std: f64,
    /// `(T - n) / s(T)`.
    pub agterberg_cheng_z: f64,
    /// One-sided p-value `P(Z >= z)`; conditional independence is rejected below 0.05.
    pub agterberg_cheng_p: f64,
    /// Whether either test signals dependence.
    pub independence_doubtful: bool,
}

/// Runs the overall and Agterberg-Cheng tests.
pub fn independence_tests(observed: f64, conditions: &[Condition]) -> IndependenceTests {
    let predicted: f64 = conditions.iter().map(|c| c.probability * c.area_units).sum();
    let var: f64 = conditions.iter().map(|c| (c.area_units * c.std).powi(2)).sum();
    let predicted_std = var.sqrt();
    let z = (predicted - observed) / predicted_std;
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    let p = 1.0 - normal.cdf(z);
    let ratio = observed / predicted;
    IndependenceTests {
        observed,
        predicted,
        ratio,
        predicted_std,
        agterberg_cheng_z: z,
        agterberg_cheng_p: p,
        independence_doubtful: ratio < 0.85 || p < 0.05,
    }
}

/// A pairwise chi-square test of two generalised layers on the deposits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairTest {
    /// First layer.
    pub a: String,
    /// Second layer.
    pub b: String,
    /// Chi-square statistic.
    pub chi2: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// P-value; the pair is dependent below 0.05.
    pub p: f64,
    /// Whether the pair fails the test.
    pub dependent: bool,
}

/// Chi-square test of independence of two class labellings of the same deposits
/// (deposits missing in either layer are left out).
pub fn pair_test(a: &str, b: &str, pairs: &[(i64, i64)]) -> Option<PairTest> {
    use std::collections::BTreeMap;
    let mut table: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    let mut rows: BTreeMap<i64, f64> = BTreeMap::new();
    let mut cols: BTreeMap<i64, f64> = BTreeMap::new();
    for &(x, y) in pairs {
        *table.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    if rows.len() < 2 || cols.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let mut chi2 = 0.0;
    for (&x, &rx) in &rows {
        for (&y, &cy) in &cols {
            let e = rx * cy / n;
            let o = table.get(&(x, y)).copied().unwrap_or(0.0);
            chi2 += (o - e).powi(2) / e;
        }
    }
    let df = (rows.len() - 1) * (cols.len() - 1);
    let p = 1.0 - ChiSquared::new(df as f64).expect("df > 0").cdf(chi2);
    Some(PairTest { a: a.into(), b: b.into(), chi2, df, p, dependent: p < 0.05 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_of_a_known_two_by_two_table() {
        // Deposits: A&B 30, A&!B 10, !A&B 10, !A&!B 50 -> chi2 = 34.0278 (hand computed).
        let mut pairs = vec![(2, 2); 30];
        pairs.extend(vec![(2, 1); 10]);
        pairs.extend(vec![(1, 2); 10]);
        pairs.extend(vec![(1, 1); 50]);
        let t = pair_test("a", "b", &pairs).unwrap();
        // Expected counts: 16, 24, 24, 36.
        let expect =
            (30.0f64 - 16.0).powi(2) / 16.0 + (10.0f64 - 24.0).powi(2) / 24.0 * 2.0 + (50.0f64 - 36.0).powi(2) / 36.0;
        assert!((t.chi2 - expect).abs() < 1e-12);
        assert_eq!(t.df, 1);
        assert!(t.dependent && t.p < 1e-6);
        let independent = pair_test("a", "b", &[(1, 1), (1, 2), (2, 1), (2, 2)]).unwrap();
        assert!(independent.chi2.abs() < 1e-12 && !independent.dependent);
    }

    #[test]
    fn overall_test_compares_predicted_with_observed() {
        let c = [
            Condition { area_units: 100.0, probability: 0.1, std: 0.01 },
            Condition { area_units: 900.0, probability: 0.01, std: 0.002 },
        ];
        let t = independence_tests(19.0, &c);
        assert!((t.predicted - 19.0).abs() < 1e-12);
        assert!((t.ratio - 1.0).abs() < 1e-12);
        assert!((t.predicted_std - (1.0f64 + 3.24).sqrt()).abs() < 1e-12);
        assert!((t.agterberg_cheng_p - 0.5).abs() < 1e-12);
        assert!(!t.independence_doubtful);
    }
}
