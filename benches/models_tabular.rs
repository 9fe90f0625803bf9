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
    let dir = std::path::PathBuf::from(
        std::env::args().skip(1).find(|a| !a.starts_with('-')).expect("usage: models_tabular DIR"),
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
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
        let params =
            ForestParams { n_trees: 100, max_depth: None, min_samples_leaf: 1, max_features: None, max_bins: 255 };
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
        // scikit-learn's HistGradientBoostingClassifier defaults, which are lode's: once with
        // early stopping off (100 rounds) and once as `early_stopping = "auto"` does it on
        // more than 10 000 rows (10% held out, 10 rounds of patience).
        for (name, patience) in [
            ("lode gradient_boosting (defaults, early_stopping off)", None),
            ("lode gradient_boosting (defaults: early_stopping auto)", Some(10)),
        ] {
            let t0 = Instant::now();
            let binner = Binner::fit(&xtr, rows, cols, 255);
            let params = BoostingParams {
                iterations: 100,
                learning_rate: 0.1,
                max_depth: None,
                min_leaf_weight: 1e-3,
                max_bins: 255,
                max_leaves: 31,
                min_samples_leaf: 20,
                l2_regularization: 0.0,
                n_iter_no_change: patience,
                validation_fraction: 0.1,
            };
            let gb = Boosting::fit(binner, &xtr, cols, &ytr, &w, params, 42).expect("boosting fits");
            let fit_s = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let p = gb.predict(&xte, cols);
            let predict_s = t1.elapsed().as_secs_f64();
            out.push(serde_json::json!({ "model": name, "fit_s": fit_s, "predict_s": predict_s, "auc": auc(&p, &yte), "n_iter": gb.trees.len() }));
            eprintln!("{}", out.last().unwrap());
        }
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
