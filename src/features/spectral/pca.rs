//! Principal components of chosen bands of a scene, and Crosta's directed ("feature
//! oriented") principal component: the statistics (count, means, co-moments) are gathered
//! window by window and merged in window order, the small covariance matrix is
//! diagonalised by the cyclic Jacobi method, and cells are projected per window.

use serde::{Deserialize, Serialize};

/// `pca = { ... }` of a `spectral` layer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPca {
    /// The bands (at least two), by the sensor's names.
    pub bands: Vec<String>,
    /// Components output, the first `components` by variance. Default: as many as bands.
    pub components: Option<usize>,
    /// Standardise the bands (correlation matrix) instead of the covariance. Default false.
    pub standardize: Option<bool>,
}

/// `crosta = { ... }` of a `spectral` layer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrosta {
    /// The bands (at least three, typically four), by the sensor's names.
    pub bands: Vec<String>,
    /// The band where the target is bright (e.g. SWIR1 for hydroxyl minerals).
    pub reflective: String,
    /// The band where the target absorbs (e.g. SWIR2 for hydroxyl minerals).
    pub absorbing: String,
    /// Standardise the bands (correlation matrix). Default false.
    pub standardize: Option<bool>,
}

/// Running count, means and co-moments (sums of products of deviations) of vectors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    /// Number of vectors.
    pub n: u64,
    /// Means.
    pub mean: Vec<f64>,
    /// Co-moments, row-major `p x p`.
    pub m2: Vec<f64>,
}

impl Moments {
    /// No vectors of dimension `p`.
    pub fn new(p: usize) -> Moments {
        Moments { n: 0, mean: vec![0.0; p], m2: vec![0.0; p * p] }
    }

    /// Adds one vector (Welford's update).
    #[allow(clippy::needless_range_loop)]
    pub fn add(&mut self, x: &[f64]) {
        let p = self.mean.len();
        self.n += 1;
        let n = self.n as f64;
        let d: Vec<f64> = x.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for (m, di) in self.mean.iter_mut().zip(&d) {
            *m += di / n;
        }
        for i in 0..p {
            let d2i = x[i] - self.mean[i];
            for j in 0..p {
                self.m2[i * p + j] += d[j] * d2i;
            }
        }
    }

    /// Merges `other` into `self` (Chan et al.'s pairwise update).
    #[allow(clippy::needless_range_loop)]
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        let p = self.mean.len();
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let d: Vec<f64> = other.mean.iter().zip(&self.mean).map(|(b, a)| b - a).collect();
        for i in 0..p {
            for j in 0..p {
                self.m2[i * p + j] += other.m2[i * p + j] + d[i] * d[j] * na * nb / n;
            }
        }
        for (m, di) in self.mean.iter_mut().zip(&d) {
            *m += di * nb / n;
        }
        self.n += other.n;
    }

    /// The sample covariance matrix (divisor n − 1).
    pub fn covariance(&self) -> Vec<f64> {
        let k = (self.n as f64 - 1.0).max(1.0);
        self.m2.iter().map(|v| v / k).collect()
    }
}

/// Eigenvalues and eigenvectors of the symmetric `p x p` matrix `a` (row-major), by the
/// cyclic Jacobi method; eigenvalues in decreasing order, `vectors[k]` the unit
/// eigenvector of `values[k]`, its largest-magnitude element positive.
pub fn symmetric_eigen(a: &[f64], p: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; p * p];
    for i in 0..p {
        v[i * p + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..p)
            .flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * p + j].powi(2))
            .sum();
        let scale: f64 = (0..p).map(|i| a[i * p + i].powi(2)).sum::<f64>().max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale {
            break;
        }
        for k in 0..p {
            for l in k + 1..p {
                let akl = a[k * p + l];
                if akl == 0.0 {
                    continue;
                }
                // Rotation that zeroes a[k][l] (Golub & Van Loan, algorithm 8.4.1).
                let tau = (a[l * p + l] - a[k * p + k]) / (2.0 * akl);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for i in 0..p {
                    let (aik, ail) = (a[i * p + k], a[i * p + l]);
                    a[i * p + k] = c * aik - s * ail;
                    a[i * p + l] = s * aik + c * ail;
                }
                for j in 0..p {
                    let (akj, alj) = (a[k * p + j], a[l * p + j]);
                    a[k * p + j] = c * akj - s * alj;
                    a[l * p + j] = s * akj + c * alj;
                }
                for i in 0..p {
                    let (vik, vil) = (v[i * p + k], v[i * p + l]);
                    v[i * p + k] = c * vik - s * vil;
                    v[i * p + l] = s * vik + c * vil;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&x, &y| a[y * p + y].total_cmp(&a[x * p + x]));
    let values = order.iter().map(|&k| a[k * p + k]).collect();
    let vectors = order
        .iter()
        .map(|&k| {
            let mut col: Vec<f64> = (0..p).map(|i| v[i * p + k]).collect();
            let big = col.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if big < 0.0 {
                col.iter_mut().for_each(|x| *x = -*x);
            }
            col
        })
        .collect();
    (values, vectors)
}

/// Fitted components over `p` bands: x -> Σ_j loading_j · (x_j − mean_j) · scale_j.
#[derive(Debug, Clone)]
pub struct Components {
    /// Cells the statistics came from.
    pub cells: u64,
    /// Band means.
    pub mean: Vec<f64>,
    /// Per band: 1, or 1 / standard deviation when standardised.
    pub scale: Vec<f64>,
    /// Eigenvalues of all components, decreasing.
    pub eigenvalues: Vec<f64>,
    /// The output components' loadings (one vector per output column).
    pub loadings: Vec<Vec<f64>>,
    /// The output components' numbers, from 1.
    pub numbers: Vec<usize>,
}

impl Components {
    /// The principal components of `m`: the first `keep` by eigenvalue.
    pub fn pca(m: &Moments, standardize: bool, keep: usize) -> std::result::Result<Components, String> {
        let (scale, values, vectors) = Self::decompose(m, standardize)?;
        Ok(Components {
            cells: m.n,
            mean: m.mean.clone(),
            scale,
            eigenvalues: values,
            loadings: vectors.into_iter().take(keep).collect(),
            numbers: (1..=keep).collect(),
        })
    }

    /// Crosta's directed component: of the components where band `bright` and band `dark`
    /// load with opposite signs, the one whose loading difference is the largest (if none
    /// has opposite signs, the largest difference), signed so that `bright` loads
    /// positively: targets bright in `bright` and absorbing in `dark` come out high.
    /// The flag says whether the signs were opposite.
    pub fn crosta(
        m: &Moments,
        standardize: bool,
        bright: usize,
        dark: usize,
    ) -> std::result::Result<(Components, bool), String> {
        let (scale, values, vectors) = Self::decompose(m, standardize)?;
        let contrast = |v: &Vec<f64>| (v[bright] - v[dark]).abs();
        let opposite: Vec<usize> =
            (0..vectors.len()).filter(|&k| vectors[k][bright] * vectors[k][dark] < 0.0).collect();
        let candidates: Vec<usize> = if opposite.is_empty() { (0..vectors.len()).collect() } else { opposite.clone() };
        let best = candidates
            .iter()
            .copied()
            .fold(None::<usize>, |b, k| match b {
                Some(b) if contrast(&vectors[b]) >= contrast(&vectors[k]) => Some(b),
                _ => Some(k),
            })
            .ok_or("no component")?;
        let mut v = vectors[best].clone();
        if v[bright] < v[dark] {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        Ok((
            Components {
                cells: m.n,
                mean: m.mean.clone(),
                scale,
                eigenvalues: values,
                loadings: vec![v],
                numbers: vec![best + 1],
            },
            !opposite.is_empty(),
        ))
    }

    /// Scales, eigenvalues and eigenvectors of the covariance (or correlation) matrix.
    #[allow(clippy::type_complexity)]
    fn decompose(m: &Moments, standardize: bool) -> std::result::Result<(Vec<f64>, Vec<f64>, Vec<Vec<f64>>), String> {
        let p = m.mean.len();
        if m.n < (p as u64 + 1).max(3) {
            return Err(format!(
                "only {} cells have data in every band inside the study area; principal components need more",
                m.n
            ));
        }
        let mut cov = m.covariance();
        let mut scale = vec![1.0; p];
        for i in 0..p {
            if cov[i * p + i].is_nan() || cov[i * p + i] <= 0.0 {
                return Err(format!("band {} is constant over the study area", i + 1));
            }
        }
        if standardize {
            for (i, s) in scale.iter_mut().enumerate() {
                *s = 1.0 / cov[i * p + i].sqrt();
            }
            for i in 0..p {
                for j in 0..p {
                    cov[i * p + j] *= scale[i] * scale[j];
                }
            }
        }
        let (values, vectors) = symmetric_eigen(&cov, p);
        Ok((scale, values, vectors))
    }

    /// The value of output component `k` at band values `x`.
    pub fn project(&self, k: usize, x: &[f64]) -> f64 {
        self.loadings[k].iter().zip(x).zip(&self.mean).zip(&self.scale).map(|(((l, x), m), s)| l * (x - m) * s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_the_eigenpairs_of_a_known_matrix() {
        // Q diag(6, 3, 1) Qᵀ with Q orthonormal: eigenvalues 6, 3, 1 and Q's columns.
        let q =
            [[2.0 / 3.0, -2.0 / 3.0, 1.0 / 3.0], [2.0 / 3.0, 1.0 / 3.0, -2.0 / 3.0], [1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0]];
        let d = [6.0, 3.0, 1.0];
        let mut a = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                a[i * 3 + j] = (0..3).map(|k| q[i][k] * d[k] * q[j][k]).sum();
            }
        }
        let (values, vectors) = symmetric_eigen(&a, 3);
        for k in 0..3 {
            assert!((values[k] - d[k]).abs() < 1e-12, "{values:?}");
            let col: Vec<f64> = (0..3).map(|i| q[i][k]).collect();
            let dot: f64 = col.iter().zip(&vectors[k]).map(|(a, b)| a * b).sum();
            assert!((dot.abs() - 1.0).abs() < 1e-12, "{k}: {:?} vs {col:?}", vectors[k]);
        }
    }

    #[test]
    fn merged_moments_equal_one_pass_and_the_two_pass_covariance() {
        let xs: Vec<[f64; 2]> = (0..50).map(|i| [i as f64 * 0.3 + 1.0, ((i * 7) % 11) as f64]).collect();
        let mut whole = Moments::new(2);
        xs.iter().for_each(|x| whole.add(x));
        let mut a = Moments::new(2);
        let mut b = Moments::new(2);
        xs[..17].iter().for_each(|x| a.add(x));
        xs[17..].iter().for_each(|x| b.add(x));
        a.merge(&b);
        let mean: Vec<f64> = (0..2).map(|j| xs.iter().map(|x| x[j]).sum::<f64>() / 50.0).collect();
        for i in 0..2 {
            for j in 0..2 {
                let two_pass: f64 = xs.iter().map(|x| (x[i] - mean[i]) * (x[j] - mean[j])).sum::<f64>() / 49.0;
                assert!((whole.covariance()[i * 2 + j] - two_pass).abs() < 1e-12);
                assert!((a.covariance()[i * 2 + j] - two_pass).abs() < 1e-12);
            }
        }
        assert_eq!(a.n, 50);
    }
}
