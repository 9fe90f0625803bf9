//! Counts the split nodes a saved random forest visits per cell over a config's grid: the
//! work of its map prediction, for the compute floor `benches/models.sh` prints beside
//! lode's predict time (split nodes visited / cores x 1 ns per visit).
//!
//! `cargo run --release --example forest_visits -- CONFIG MODEL_JSON [STRIDE]` walks every
//! `STRIDE`-th valid cell of every window (default 1: every cell) through every tree on its
//! raw values and prints JSON: the cells walked and counted, the split nodes visited on
//! them, the mean per cell and per cell and tree, the grid's valid cells, and the time
//! one core takes to predict the first 8 windows (features computed before) per visit
//! (CPU time of the thread, best of 3).

use std::path::PathBuf;

use lode::model::trees::Member;
use lode::model::{Fitted, FittedModel};
use rayon::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (config, model, stride) = match args.as_slice() {
        [_, c, m] => (c, m, 1),
        [_, c, m, s] => (c, m, s.parse::<usize>()?.max(1)),
        _ => anyhow::bail!("usage: forest_visits CONFIG MODEL_JSON [STRIDE]"),
    };
    let settings = lode::Settings::load(&PathBuf::from(config))?;
    let model: FittedModel = serde_json::from_str(&std::fs::read_to_string(model)?)?;
    let Fitted::Trees(m) = &model.kind else { anyhow::bail!("not a tree model") };
    let [Member::Forest(forest)] = m.members.as_slice() else { anyhow::bail!("not one random forest") };
    let stack = lode::features::FeatureStack::prepare(&settings)?;
    let windows = stack.grid.windows();
    let cols = stack.columns.len();
    // (valid cells, cells walked, split nodes visited)
    let (valid, walked, visits) = windows
        .par_iter()
        .map(|w| -> anyhow::Result<(u64, u64, u64)> {
            let f = stack.compute_features(w)?;
            let cells: Vec<usize> = (0..f.valid.len()).filter(|&i| f.valid[i]).collect();
            let sample: Vec<usize> = cells.iter().copied().step_by(stride).collect();
            let x = f.rows(&sample);
            let visits =
                x.chunks_exact(cols).map(|row| forest.trees.iter().map(|t| visits_of(t, row)).sum::<u64>()).sum();
            Ok((cells.len() as u64, sample.len() as u64, visits))
        })
        .try_reduce(|| (0, 0, 0), |a, b| Ok((a.0 + b.0, a.1 + b.1, a.2 + b.2)))?;
    // One core's cost per visit: the model's prediction of a few whole windows (features
    // computed before, not timed), best of 3, against their split nodes visited.
    let timed: Vec<_> = windows.iter().take(8).map(|w| stack.compute_features(w)).collect::<Result<_, _>>()?;
    let timed_visits: u64 = timed
        .iter()
        .map(|f| {
            let cells: Vec<usize> = (0..f.valid.len()).filter(|&i| f.valid[i]).collect();
            let x = f.rows(&cells);
            x.chunks_exact(cols).map(|row| forest.trees.iter().map(|t| visits_of(t, row)).sum::<u64>()).sum::<u64>()
        })
        .sum();
    // CPU time of this thread (not wall time: the machine may be shared).
    let cpu = || {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into `t`, which outlives the call.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    };
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t0 = cpu();
        for f in &timed {
            std::hint::black_box(model.predict_features(f));
        }
        best = best.min(cpu() - t0);
    }
    let per_cell = visits as f64 / walked.max(1) as f64;
    println!(
        "{}",
        serde_json::json!({
            "valid_cells": valid,
            "cells_walked": walked,
            "stride": stride,
            "split_nodes_visited": visits,
            "visits_per_cell": per_cell,
            "visits_per_cell_per_tree": per_cell / forest.trees.len().max(1) as f64,
            "trees": forest.trees.len(),
            "visits_all_cells": per_cell * valid as f64,
            "timed_windows": timed.len(),
            "timed_visits": timed_visits,
            "predict_cpu_s_one_core": best,
            "predict_ns_per_visit_one_core": best * 1e9 / timed_visits.max(1) as f64,
        })
    );
    Ok(())
}

/// Split nodes `row` visits in `t`, walked on its raw values.
fn visits_of(t: &lode::model::forest::Tree, row: &[f64]) -> u64 {
    let (mut i, mut visits) = (0, 0);
    while t.nodes[i].feature != u32::MAX {
        let n = &t.nodes[i];
        visits += 1;
        i = if row[n.feature as usize] > n.threshold { n.right as usize } else { i + 1 };
    }
    visits
}
