//! Exact percentiles of evidence layers over the study area, for memberships drawn from
//! the data's own distribution (`fuzzy = { from = "percentile", low = 50, high = 98 }`).
//!
//! The population is every study-area cell where the layer has data. Percentiles follow
//! numpy's default (`method = "linear"`): with the `n` values sorted, percentile `p` is at
//! position `p / 100 * (n - 1)`, interpolated linearly between its two neighbours.
//!
//! Computed exactly in two streamed passes, never holding the grid:
//! 1. every window adds its values to a histogram of the top 16 bits of each value's
//!    order-preserving bit pattern (65,536 bins; window histograms merge by addition), which
//!    gives `n` and the bin holding each wanted rank;
//! 2. every window gives back only its values in those bins; sorted, they hold the wanted
//!    ranks exactly (a bin's rank offset is the count of the bins below it).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::FeatureStack;
use crate::grid::Window;

const BITS: u32 = 16;
const BINS: usize = 1 << BITS;

/// An order-preserving key of a finite f64: `a < b` iff `key(a) < key(b)` (-0 before +0).
fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

fn bin(v: f64) -> usize {
    (key(v) >> (64 - BITS)) as usize
}

/// numpy's linear interpolation between `a` and `b` at `t` (`numpy.lib._function_base_impl._lerp`).
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The percentiles `wanted[k]` (each in [0, 100]) of layer `layers[k]` of `stack` (its
/// first column), over study-area cells where the layer has data. An error when a layer
/// has no such cell.
pub fn layer_percentiles(stack: &FeatureStack, layers: &[usize], wanted: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let windows = stack.grid.windows();
    // One window's values of each requested layer (study area and layer data only).
    let values = |w: &Window| -> Result<Vec<Vec<f64>>> {
        let in_study = stack.grid.mask(w)?;
        layers
            .iter()
            .map(|&k| {
                let block = stack.layers[k].compute(&stack.grid, w)?;
                Ok((0..w.len()).filter(|&i| in_study[i] && block.valid[i]).map(|i| block.values[[i, 0]]).collect())
            })
            .collect()
    };
    // Pass 1: histograms.
    let empty = || vec![vec![0u64; BINS]; layers.len()];
    let hist = windows
        .par_iter()
        .map(|w| -> Result<Vec<Vec<u64>>> {
            let mut h = empty();
            for (k, vs) in values(w)?.into_iter().enumerate() {
                for v in vs {
                    if !v.is_finite() {
                        return Err(Error::key(
                            format!("evidence `{}`.fuzzy", stack.layers[layers[k]].name()),
                            format!("the layer has a value {v}, which has no percentile"),
                        ));
                    }
                    h[k][bin(v)] += 1;
                }
            }
            Ok(h)
        })
        .try_reduce(empty, |mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                x.iter_mut().zip(y).for_each(|(p, q)| *p += q);
            }
            Ok(a)
        })?;
    // The ranks each percentile needs, and the bins holding them.
    let mut needs: Vec<Vec<(usize, usize, f64)>> = Vec::new(); // (rank lo, rank hi, t)
    let mut bins: Vec<Vec<usize>> = Vec::new();
    for (k, h) in hist.iter().enumerate() {
        let n: u64 = h.iter().sum();
        if n == 0 {
            return Err(Error::key(
                format!("evidence `{}`.fuzzy", stack.layers[layers[k]].name()),
                "the layer has no value in the study area to take percentiles of",
            ));
        }
        let mut ranks = Vec::new();
        for &p in &wanted[k] {
            let pos = p / 100.0 * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n as usize - 1);
            ranks.push((lo, hi, pos - lo as f64));
        }
        let mut b: Vec<usize> = ranks.iter().flat_map(|r| [r.0, r.1]).map(|r| bin_of_rank(h, r)).collect();
        b.sort_unstable();
        b.dedup();
        needs.push(ranks);
        bins.push(b);
    }
    // Pass 2: the values in the needed bins.
    let picked = windows
        .par_iter()
        .map(|w| -> Result<Vec<Vec<f64>>> {
            Ok(values(w)?
                .into_iter()
                .enumerate()
                .map(|(k, vs)| vs.into_iter().filter(|v| bins[k].binary_search(&bin(*v)).is_ok()).collect())
                .collect())
        })
        .try_reduce(
            || vec![Vec::new(); layers.len()],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| x.extend(y));
                Ok(a)
            },
        )?;
    let mut out = Vec::new();
    for (k, mut vs) in picked.into_iter().enumerate() {
        vs.sort_by_key(|v| key(*v));
        // The rank of the first value of each needed bin.
        let h = &hist[k];
        let at = |r: usize| {
            let b = bin_of_rank(h, r);
            let below: u64 = h[..b].iter().sum();
            let start = bins[k].iter().take_while(|&&x| x < b).map(|&x| h[x] as usize).sum::<usize>();
            vs[start + (r - below as usize)]
        };
        out.push(needs[k].iter().map(|&(lo, hi, t)| lerp(at(lo), at(hi), t)).collect());
    }
    Ok(out)
}

/// The bin of the value of rank `r` (0-based) in histogram `h`.
fn bin_of_rank(h: &[u64], r: usize) -> usize {
    let mut seen = 0u64;
    for (b, &c) in h.iter().enumerate() {
        seen += c;
        if seen > r as u64 {
            return b;
        }
    }
    h.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order() {
        let v = [-1e300, -2.5, -1.0, -1e-300, -0.0, 0.0, 1e-300, 1.0, 1.0000001, 2.5, 1e300];
        for w in v.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} {}", w[0], w[1]);
            assert!(bin(w[0]) <= bin(w[1]));
        }
    }

    #[test]
    fn lerp_matches_numpy_at_both_halves() {
        // numpy.percentile([1, 2, 4, 8], [25, 75]) = [1.75, 5.0]
        assert_eq!(lerp(1.0, 2.0, 0.75), 1.75);
        assert_eq!(lerp(4.0, 8.0, 0.25), 5.0);
    }
}
