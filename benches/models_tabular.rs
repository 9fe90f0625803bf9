//! Fit + predict timing and AUC of lode's random forest and gradient boosting on the
//! data written by `benches/models_data.py` (run by `benches/models.sh`, which compares
//! them with scikit-learn on the same files). Not a test: `cargo bench --bench models_tabular -- DIR`.
//! `BENCH_TABULAR_ONLY=rf` or `gbt` runs one of the two.

use std::time::Instant;

use lode::model::boosting::{Boosting, BoostingParams};
use lode::model::forest::{Binner, Forest, ForestParams};
use lode::validation::auc;

fn read_f64(path: &std::path::Path) -> Vec<f64> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn read_y(path: &std::path::Path) -> Vec<bool> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).iter().map(|&v| v != 0).collect()
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().skip(1).find(|a| !a.starts_with('-')).expect("usage: models_tabular DIR"));
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let cols = meta["cols"].as_u64().unwrap() as usize;
    let (xtr, ytr) = (read_f64(&dir.join("train_x.f64")), read_y(&dir.join("train_y.u8")));
    let (xte, yte) = (read_f64(&dir.join("test_x.f64")), read_y(&dir.join("test_y.u8")));
    let rows = ytr.len();
    let w = vec![1.0; rows];
    let mut out = Vec::new();
    let only = std::env::var("BENCH_TABULAR_ONLY").unwrap_or_default();

    if only.is_empty() || only == "rf" {
        let t0 = Instant::now();
        let binner = Binner::fit(&xtr, rows, cols, 255);
        let bins = binner.transform(&xtr, rows, cols);
        let params = ForestParams { n_trees: 100, max_depth: None, min_samples_leaf: 1, max_features: None, max_bins: 255 };
        let forest = Forest::fit(&binner, &bins, &ytr, &w, params, 42);
        let fit_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let (p, _) = forest.predict_with_spread(&xte, cols);
        let predict_s = t1.elapsed().as_secs_f64();
        out.push(serde_json::json!({ "model": "lode random_forest (100 trees, 255 bins)", "fit_s": fit_s, "predict_s": predict_s, "auc": auc(&p, &yte) }));
        eprintln!("{}", out.last().unwrap());
        drop(forest);
    }
    if only.is_empty() || only == "gbt" {
        let t0 = Instant::now();
        let binner = Binner::fit(&xtr, rows, cols, 255);
        // scikit-learn's HistGradientBoostingClassifier defaults, which are lode's.
        let params = BoostingParams { iterations: 100, learning_rate: 0.1, max_depth: None, min_leaf_weight: 1e-3, max_bins: 255, max_leaves: 31, min_samples_leaf: 20, l2_regularization: 0.0 };
        let gb = Boosting::fit(binner, &xtr, cols, &ytr, &w, params, 42).expect("boosting fits");
        let fit_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let p = gb.predict(&xte, cols);
        let predict_s = t1.elapsed().as_secs_f64();
        out.push(serde_json::json!({ "model": "lode gradient_boosting (100 rounds, 31 leaves, lr 0.1)", "fit_s": fit_s, "predict_s": predict_s, "auc": auc(&p, &yte) }));
        out.last_mut().unwrap()["n_iter"] = serde_json::json!(gb.trees.len());
        eprintln!("{}", out.last().unwrap());
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
