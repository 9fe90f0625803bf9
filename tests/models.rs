//! Tree models on synthetic districts with a known truth (`lode synth`): permutation
//! importance ranks the true evidence above the noise, the spatially cross-validated AUC
//! is close to the oracle's, folds respect the exclusion buffer, saved models reproduce
//! their maps, and outputs do not depend on the thread count. Weights of evidence and
//! fuzzy overlay are cross-validated on the same folds (Cloncurry demo, synthetic scene).
//!
//! The oracle AUC: on the held-out rows of each fold (read from `cv_folds.csv`), the AUC
//! of the TRUE probability (`truth.tif`, read with GDAL's `gdal_translate -of XYZ`, an
//! independent reader) against the labels; averaged over the folds like `cv_auc`. No model
//! can beat it in expectation, and a good one comes close.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;

/// Writes a scene into `dir` and returns its config path, with `[model]` and
/// `[validation]` replaced by `model` and `validation`.
fn scene(dir: &Path, cols: usize, seed: u64, model: &str, validation: &str) -> PathBuf {
    let o = lode(&[
        "-q",
        "synth",
        "--cols",
        &cols.to_string(),
        "--rows",
        &cols.to_string(),
        "--seed",
        &seed.to_string(),
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "synth failed: {}", stderr(&o));
    let text = std::fs::read_to_string(dir.join("scene.toml")).unwrap();
    let start = text.find("[model]").expect("scene.toml has [model]");
    let end = text.find("[output]").expect("scene.toml has [output]");
    let text = format!("{}{model}\n\n{validation}\n\n{}", &text[..start], &text[end..]);
    write(dir, "scene.toml", &text)
}

fn run(config: &Path, threads: &str) {
    let o = lode(&["-q", "run", config.to_str().unwrap(), "--threads", threads]);
    assert!(o.status.success(), "lode run failed: {}", stderr(&o));
}

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/metrics.json")).unwrap()).unwrap()
}

/// `(fold, row, col, x, y, deposit, role)` rows of `cv_folds.csv`.
fn folds(dir: &Path) -> Vec<(usize, usize, usize, f64, f64, bool, String)> {
    let text = std::fs::read_to_string(dir.join("out/cv_folds.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5] == "1",
                f[6].to_string(),
            )
        })
        .collect()
}

/// The true probability per cell centre, read by GDAL.
fn truth(dir: &Path) -> HashMap<(i64, i64), f64> {
    let xyz = dir.join("truth.xyz");
    tool("gdal_translate", &["-q", "-of", "XYZ", dir.join("truth.tif").to_str().unwrap(), xyz.to_str().unwrap()]);
    std::fs::read_to_string(&xyz)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().map(|s| s.parse().unwrap()).collect();
            ((v[0].round() as i64, v[1].round() as i64), v[2])
        })
        .collect()
}

/// AUC by comparing every positive with every negative (ties one half).
fn pairwise_auc(s: &[f64], y: &[bool]) -> f64 {
    let pos: Vec<f64> = s.iter().zip(y).filter(|p| *p.1).map(|p| *p.0).collect();
    let neg: Vec<f64> = s.iter().zip(y).filter(|p| !*p.1).map(|p| *p.0).collect();
    let mut w = 0.0;
    for p in &pos {
        for n in &neg {
            w += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    w / (pos.len() * neg.len()) as f64
}

/// Mean over folds of the true probability's AUC on the held-out rows.
fn oracle_cv_auc(dir: &Path) -> f64 {
    let t = truth(dir);
    let rows = folds(dir);
    let k = rows.iter().map(|r| r.0).max().unwrap() + 1;
    let mut aucs = Vec::new();
    for f in 0..k {
        let test: Vec<_> = rows.iter().filter(|r| r.0 == f && r.6 == "test").collect();
        let s: Vec<f64> = test.iter().map(|r| t[&(r.3.round() as i64, r.4.round() as i64)]).collect();
        let y: Vec<bool> = test.iter().map(|r| r.5).collect();
        if y.iter().any(|&v| v) && y.iter().any(|&v| !v) {
            aucs.push(pairwise_auc(&s, &y));
        }
    }
    aucs.iter().sum::<f64>() / aucs.len() as f64
}

const SPATIAL: &str = "[validation]\nkind = \"spatial_block\"\nfolds = 5\nblock_size = 2000\nbuffer = 300";

fn check_model_recovers_truth(model: &str, has_uncertainty: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(tmp.path(), 150, 11, model, SPATIAL);
    run(&config, "2");
    let m = metrics(tmp.path());
    let v = &m["validation"];
    let importance: HashMap<String, f64> = v["importance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap()))
        .collect();
    for t in ["granite_dist", "magnetic", "alteration", "fault_dist"] {
        for n in ["noise_white", "noise_smooth", "noise_smooth2"] {
            assert!(
                importance[t] > importance[n],
                "{model}: {t} ({}) not above {n} ({}): {importance:?}",
                importance[t],
                importance[n]
            );
        }
    }
    let csv = std::fs::read_to_string(tmp.path().join("out/importance.csv")).unwrap();
    assert_eq!(csv.lines().count(), 8, "{csv}");
    let cv = v["cv_auc"].as_f64().unwrap();
    let oracle = oracle_cv_auc(tmp.path());
    eprintln!("{model}: spatial-CV AUC {cv:.4}, oracle {oracle:.4}, importance {importance:?}");
    assert!((cv - oracle).abs() <= 0.05, "{model}: spatial-CV AUC {cv} vs oracle {oracle}");
    assert!(v["cv_auc_sd"].as_f64().unwrap() > 0.0);
    assert_eq!(v["fold_auc"].as_array().unwrap().len(), 5);
    let curve = v["prediction_rate"].as_array().unwrap();
    assert_eq!(curve.last().unwrap(), &serde_json::json!([1.0, 1.0]));
    // The cross-validation pictures: PNGs with drawing in them, embedded in the report.
    let report = std::fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    for (file, id) in [("prediction_rate.png", "prediction-rate"), ("importance.png", "importance")] {
        let bytes = std::fs::read(tmp.path().join("out").join(file)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{file}");
        assert!(bytes.len() > 2000, "{file} is nearly empty");
        assert!(report.contains(&format!("id=\"{id}\"")), "report lacks {id}");
    }
    // The uncertainty map (ensembles; logistic: its cross-validation fold models): same grid, non-negative.
    if !has_uncertainty {
        assert!(!tmp.path().join("out/uncertainty.tif").exists());
        return;
    }
    let info = gdalinfo(&tmp.path().join("out/uncertainty.tif"), &["-stats"]);
    assert_eq!(info["size"], serde_json::json!([150, 150]));
    assert!(info["bands"][0]["minimum"].as_f64().unwrap() >= 0.0);
    assert!(info["bands"][0]["maximum"].as_f64().unwrap() > 0.0);
}

#[test]
fn random_forest_ranks_true_layers_first_and_its_spatial_cv_auc_is_near_the_oracle() {
    check_model_recovers_truth("[model]\nkind = \"random_forest\"\nmin_samples_leaf = 10", true);
}

#[test]
fn gradient_boosting_ranks_true_layers_first_and_its_spatial_cv_auc_is_near_the_oracle() {
    check_model_recovers_truth("[model]\nkind = \"gradient_boosting\"\nmax_depth = 3", true);
}

#[test]
fn logistic_regression_is_cross_validated_like_the_tree_models() {
    check_model_recovers_truth("[model]\nkind = \"logistic\"", true);
}

#[test]
fn spatial_folds_keep_every_training_row_outside_the_buffer_of_every_test_row() {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(
        tmp.path(),
        100,
        5,
        "[model]\nkind = \"random_forest\"\nn_trees = 10",
        "[validation]\nkind = \"spatial_block\"\nblock_size = 1500\nbuffer = 450",
    );
    run(&config, "2");
    let tested = assert_folds_respect_buffer(tmp.path(), 5, 450.0);
    // Every training row is tested once.
    let m = metrics(tmp.path());
    let t = &m["fit"]["training"];
    assert_eq!(tested as u64, t["positives"].as_u64().unwrap() + t["negatives"].as_u64().unwrap());
}

/// Checks `cv_folds.csv` of the run in `dir`: `k` folds, none empty, no cell tested
/// twice, and no training row of a fold within `buffer` of one of its test rows (brute
/// force). Returns the number of tested rows.
fn assert_folds_respect_buffer(dir: &Path, k: usize, buffer: f64) -> usize {
    let rows = folds(dir);
    assert_eq!(rows.iter().map(|r| r.0).max().unwrap() + 1, k);
    let mut tested = std::collections::HashSet::new();
    for f in 0..k {
        let test: Vec<_> = rows.iter().filter(|r| r.0 == f && r.6 == "test").collect();
        let train: Vec<_> = rows.iter().filter(|r| r.0 == f && r.6 == "train").collect();
        assert!(!test.is_empty() && !train.is_empty());
        for a in &test {
            assert!(tested.insert((a.1, a.2)), "cell {:?} tested twice", (a.1, a.2));
            for b in &train {
                let d = ((a.3 - b.3).powi(2) + (a.4 - b.4).powi(2)).sqrt();
                assert!(
                    d > buffer,
                    "fold {f}: training cell {:?} is {d} m from test cell {:?}",
                    (b.1, b.2),
                    (a.1, a.2)
                );
            }
        }
    }
    tested.len()
}

const CLONCURRY_SPATIAL: &str =
    "[validation]\nkind = \"spatial_block\"\nfolds = 5\nblock_size = 10000\nbuffer = 2000\n";

#[test]
fn weights_of_evidence_is_cross_validated_on_the_cloncurry_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = shipped_config(tmp.path(), "cloncurry-wofe.toml", &out, CLONCURRY_SPATIAL);
    run(&config, "2");
    let tested = assert_folds_respect_buffer(tmp.path(), 5, 2000.0);
    let m = metrics(tmp.path());
    let v = &m["validation"];
    assert_eq!(v, &m["fit"]["validation"]);
    // Held-out rows: all 252 deposit cells and 10 sampled cells per deposit cell.
    assert_eq!(tested, 252 * 11);
    let (cv, on_map) = (v["cv_auc"].as_f64().unwrap(), m["auc"].as_f64().unwrap());
    eprintln!(
        "wofe: on-map AUC {on_map:.4}, spatial-CV AUC {cv:.4} ± {:.4}, jackknife ratio {}",
        v["cv_auc_sd"], v["jackknife_std_ratio"]
    );
    // Weights re-estimated without the held-out deposits do no better than the map that
    // saw them all (up to the spread of a 5-fold estimate), and clearly better than chance.
    assert!(cv < on_map + 0.02, "held-out AUC {cv} vs on-map {on_map}");
    assert!(cv > 0.6, "{cv}");
    let folds_auc: Vec<f64> = v["fold_auc"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
    assert_eq!(folds_auc.len(), 5);
    assert!((folds_auc.iter().sum::<f64>() / 5.0 - cv).abs() < 1e-12);
    assert!(folds_auc.iter().any(|&a| (a - folds_auc[0]).abs() > 1e-6), "fold models should differ: {folds_auc:?}");
    assert!(v["cv_auc_sd"].as_f64().unwrap() > 0.0);
    assert!(v["pooled_auc"].as_f64().unwrap() > 0.6);
    assert_eq!(v["prediction_rate"].as_array().unwrap().last().unwrap(), &serde_json::json!([1.0, 1.0]));
    let importance = v["importance"].as_array().unwrap();
    assert_eq!(importance.len(), 4);
    let ratio = v["jackknife_std_ratio"].as_f64().unwrap();
    assert!(ratio > 0.2 && ratio < 10.0, "{ratio}");
    // Each fold's AUC recomputed independently: the classes of its rows read from GA's
    // binary rasters with GDAL, counted over the fold's TRAINING rows (negative rows
    // standing for (study cells - deposit rows) / negative rows cells each, as
    // documented), weighed by the weights table (verified against GA's in tests/wofe.rs),
    // and the held-out rows ranked by their summed weights (the prior is the same for
    // every row of a fold, so it does not change the AUC).
    let (cols, rows_n) = (1259usize, 2487usize);
    let grids: Vec<Vec<i64>> =
        ["binary/Dist2Breccia.tif", "binary/Dist2Fault.tif", "binary/FaultDensity.tif", "binary/StratNo.tif"]
            .iter()
            .map(|f| {
                let ds = gdal::Dataset::open(cloncurry(f)).unwrap();
                let b = ds.rasterband(1).unwrap().read_as::<i32>((0, 0), (cols, rows_n), (cols, rows_n), None).unwrap();
                b.data().iter().map(|&v| v as i64).collect()
            })
            .collect();
    let rows = folds(tmp.path());
    let npos = rows.iter().filter(|r| r.6 == "test" && r.5).count();
    let nneg = tested - npos;
    let study = (m["fit"]["prior"]["study_area_unit_cells"].as_f64().unwrap() / 0.01).round();
    let scale = (study - npos as f64) / nneg as f64;
    for (f, fold_auc) in folds_auc.iter().enumerate() {
        let class = |g: &Vec<i64>, r: &(usize, usize, usize, f64, f64, bool, String)| g[r.1 * cols + r.2];
        let weights: Vec<HashMap<i64, f64>> = grids
            .iter()
            .map(|g| {
                let mut counts: std::collections::BTreeMap<i64, (u64, u64)> = Default::default();
                for r in rows.iter().filter(|r| r.0 == f && r.6 == "train") {
                    let e = counts.entry(class(g, r)).or_default();
                    if r.5 {
                        e.1 += 1
                    } else {
                        e.0 += 1
                    }
                }
                let counts: Vec<lode::wofe::ClassCount> = counts
                    .iter()
                    .map(|(&class, &(n, p))| lode::wofe::ClassCount {
                        class,
                        cells: (n as f64 * scale).round() as u64 + p,
                        deposits: p,
                    })
                    .collect();
                let params = lode::wofe::WeightsParams::new(lode::wofe::Method::Categorical, 0.01, 1.0, 2.0);
                lode::wofe::weights_table(&counts, &params).unwrap().iter().map(|r| (r.class, r.weight)).collect()
            })
            .collect();
        let test: Vec<_> = rows.iter().filter(|r| r.0 == f && r.6 == "test").collect();
        let s: Vec<f64> = test
            .iter()
            .map(|r| grids.iter().zip(&weights).map(|(g, w)| w.get(&class(g, r)).copied().unwrap_or(0.0)).sum())
            .collect();
        let y: Vec<bool> = test.iter().map(|r| r.5).collect();
        let expected = pairwise_auc(&s, &y);
        assert!((fold_auc - expected).abs() < 1e-9, "fold {f}: lode {fold_auc}, recomputed {expected}");
    }
    // The analytic uncertainty of weights of evidence stays; no fold-spread map is added.
    assert!(out.join("posterior_std.tif").exists() && !out.join("uncertainty.tif").exists());
    assert!(out.join("importance.csv").exists());
}

/// The fuzzy model is not trained, so every fold's held-out scores are the map's values:
/// each `fold_auc` equals the AUC of `prospectivity.tif` (read by GDAL) at the fold's
/// test rows of `cv_folds.csv`.
#[test]
fn fuzzy_overlay_is_cross_validated_on_the_map_values_of_the_held_out_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let model = "[model]\nkind = \"fuzzy\"\noperator = \"gamma\"\ngamma = 0.8";
    let config = scene(tmp.path(), 80, 11, model, SPATIAL);
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text
        .replace(
            "path = \"granite_dist.tif\"\n",
            "path = \"granite_dist.tif\"\nfuzzy = { membership = \"small\", midpoint = 1500.0, spread = 2.0 }\n",
        )
        .replace(
            "path = \"magnetic.tif\"\n",
            "path = \"magnetic.tif\"\nfuzzy = { membership = \"linear\", low = -2.0, high = 2.0 }\n",
        )
        .replace(
            "path = \"alteration.tif\"\n",
            "path = \"alteration.tif\"\nfuzzy = { membership = \"linear\", low = -2.0, high = 2.0 }\n",
        )
        .replace(
            "path = \"faults.geojson\"\n",
            "path = \"faults.geojson\"\nfuzzy = { membership = \"small\", midpoint = 500.0, spread = 2.0 }\n",
        );
    let text = ["noise_white", "noise_smooth2", "noise_smooth"].iter().fold(text, |t, n| {
        t.replace(
            &format!("path = \"{n}.tif\"\n"),
            &format!("path = \"{n}.tif\"\nfuzzy = {{ membership = \"linear\", low = -10.0, high = 10.0 }}\n"),
        )
    });
    let config = write(tmp.path(), "scene.toml", &text);
    run(&config, "2");
    assert_folds_respect_buffer(tmp.path(), 5, 300.0);
    let v = metrics(tmp.path())["validation"].clone();
    let xyz = tmp.path().join("p.xyz");
    tool(
        "gdal_translate",
        &["-q", "-of", "XYZ", tmp.path().join("out/prospectivity.tif").to_str().unwrap(), xyz.to_str().unwrap()],
    );
    let map: HashMap<(i64, i64), f64> = std::fs::read_to_string(&xyz)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().map(|s| s.parse().unwrap()).collect();
            ((v[0].round() as i64, v[1].round() as i64), v[2])
        })
        .collect();
    let rows = folds(tmp.path());
    for (f, a) in v["fold_auc"].as_array().unwrap().iter().enumerate() {
        let test: Vec<_> = rows.iter().filter(|r| r.0 == f && r.6 == "test").collect();
        let s: Vec<f64> = test.iter().map(|r| map[&(r.3.round() as i64, r.4.round() as i64)]).collect();
        let y: Vec<bool> = test.iter().map(|r| r.5).collect();
        let expected = pairwise_auc(&s, &y);
        assert!((a.as_f64().unwrap() - expected).abs() < 1e-9, "fold {f}: {a} vs {expected}");
    }
    // The true layers carry the skill: permuting a noise layer costs less AUC.
    let importance: HashMap<String, f64> = v["importance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap()))
        .collect();
    assert!(importance["granite_dist"] > importance["noise_white"], "{importance:?}");
}

#[test]
fn a_saved_model_predicts_the_same_map_and_rejects_other_features() {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(tmp.path(), 80, 3, "[model]\nkind = \"gradient_boosting\"\n", SPATIAL);
    run(&config, "2");
    let out = tmp.path().join("out");
    let saved = tmp.path().join("model.json");
    std::fs::copy(out.join("model.json"), &saved).unwrap();
    let before = std::fs::read(out.join("prospectivity.tif")).unwrap();
    let before_u = std::fs::read(out.join("uncertainty.tif")).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let o = lode(&["-q", "predict", config.to_str().unwrap(), "--model", saved.to_str().unwrap()]);
    assert!(o.status.success(), "lode predict failed: {}", stderr(&o));
    assert!(std::fs::read(out.join("prospectivity.tif")).unwrap() == before, "reloaded model gives another map");
    assert!(
        std::fs::read(out.join("uncertainty.tif")).unwrap() == before_u,
        "reloaded model gives another uncertainty"
    );

    let text = std::fs::read_to_string(&config).unwrap().replace("name = \"noise_white\"", "name = \"noise_w\"");
    let other = write(tmp.path(), "other.toml", &text);
    let o = lode(&["-q", "predict", other.to_str().unwrap(), "--model", saved.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("column 4") && err.contains("`noise_white`") && err.contains("`noise_w`"), "{err}");
}

#[test]
fn tree_models_give_identical_outputs_across_thread_counts() {
    for (name, model) in [
        ("rf", "[model]\nkind = \"random_forest\"\nn_trees = 30\nnegative_sampling = \"pu_bagging\"\nbags = 3"),
        ("gb", "[model]\nkind = \"gradient_boosting\"\niterations = 30"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let config = scene(tmp.path(), 80, 4, model, SPATIAL);
        run(&config, "1");
        let a: Vec<Vec<u8>> = ["prospectivity.tif", "uncertainty.tif", "model.json", "importance.csv", "cv_folds.csv"]
            .iter()
            .map(|f| std::fs::read(tmp.path().join("out").join(f)).unwrap())
            .collect();
        run(&config, "2");
        for (f, bytes) in
            ["prospectivity.tif", "uncertainty.tif", "model.json", "importance.csv", "cv_folds.csv"].iter().zip(&a)
        {
            assert!(
                &std::fs::read(tmp.path().join("out").join(f)).unwrap() == bytes,
                "{name}: {f} differs between 1 and 2 threads"
            );
        }
    }
}

/// Positive-unlabelled bagging: `bags` boosters (or `bags` x `n_trees` forest trees),
/// each seeing every deposit row, averaged; their spread is the uncertainty map; and the
/// bagged model still ranks deposits (its map AUC is well above chance).
#[test]
fn pu_bagging_averages_one_model_per_bag_and_spreads_over_them() {
    for (model, members, trees) in [
        (
            "[model]\nkind = \"gradient_boosting\"\niterations = 20\nnegative_sampling = \"pu_bagging\"\nbags = 3",
            3,
            None,
        ),
        ("[model]\nkind = \"random_forest\"\nn_trees = 7\nnegative_sampling = \"pu_bagging\"\nbags = 4", 1, Some(28)),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let config = scene(tmp.path(), 80, 4, model, "");
        run(&config, "2");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/model.json")).unwrap()).unwrap();
        let m = saved["kind"]["Trees"]["members"].as_array().unwrap();
        assert_eq!(m.len(), members, "{model}");
        if let Some(t) = trees {
            assert_eq!(m[0]["Forest"]["trees"].as_array().unwrap().len(), t, "{model}");
        }
        let info = gdalinfo(&tmp.path().join("out/uncertainty.tif"), &["-stats"]);
        assert!(info["bands"][0]["maximum"].as_f64().unwrap() > 0.0, "{model}: no spread over the bags");
        let auc = metrics(tmp.path())["auc"].as_f64().unwrap();
        assert!(auc > 0.75, "{model}: map AUC {auc}");
    }
}

#[test]
fn a_positive_buffer_adds_the_cells_around_each_deposit() {
    let tmp = tempfile::tempdir().unwrap();
    let config = scene(tmp.path(), 60, 8, "[model]\nkind = \"random_forest\"\nn_trees = 5", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("negative_buffer = 0", "negative_buffer = 0\npositive_buffer = 150")
        .replace("negatives_per_positive = 10", "negatives_per_positive = 1");
    std::fs::write(&config, text).unwrap();
    run(&config, "2");
    // Deposits sit at cell centres on a 100 m grid: 150 m reaches the 8 neighbours.
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("deposits.geojson")).unwrap()).unwrap();
    let mut cells = std::collections::HashSet::new();
    for f in gj["features"].as_array().unwrap() {
        let c = &f["geometry"]["coordinates"];
        let (col, row) = (
            ((c[0].as_f64().unwrap() - 500_000.0) / 100.0).floor() as i64,
            ((7_700_000.0 - c[1].as_f64().unwrap()) / 100.0).floor() as i64,
        );
        for dr in -1..=1 {
            for dc in -1..=1 {
                let (r, k) = (row + dr, col + dc);
                if (0..60).contains(&r) && (0..60).contains(&k) {
                    cells.insert((r, k));
                }
            }
        }
    }
    let m = metrics(tmp.path());
    assert_eq!(m["fit"]["training"]["positives"].as_u64().unwrap() as usize, cells.len());
}

#[test]
fn cluster_folds_hold_out_exactly_one_single_linkage_cluster_of_deposits_each() {
    let tmp = tempfile::tempdir().unwrap();
    let o = lode(&[
        "-q",
        "synth",
        "--cols",
        "80",
        "--rows",
        "80",
        "--seed",
        "2",
        "--intercept",
        "-8",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(tmp.path().join("scene.toml")).unwrap();
    let start = text.find("[model]").unwrap();
    let end = text.find("[output]").unwrap();
    let text = format!(
        "{}[model]\nkind = \"random_forest\"\nn_trees = 5\n\n[validation]\nkind = \"cluster\"\ncluster_distance = 700\n\n{}",
        &text[..start],
        &text[end..]
    );
    let config = write(tmp.path(), "scene.toml", &text);
    run(&config, "2");
    let rows = folds(tmp.path());
    // Every deposit row is tested once; link deposits closer than 700 m (brute force).
    let pos: Vec<_> = rows.iter().filter(|r| r.5 && r.6 == "test").collect();
    let n = pos.len();
    assert!(n > 10, "{n} deposits");
    let mut comp: Vec<usize> = (0..n).collect();
    fn find(c: &mut Vec<usize>, i: usize) -> usize {
        if c[i] != i {
            let r = find(c, c[i]);
            c[i] = r;
        }
        c[i]
    }
    for i in 0..n {
        for j in 0..i {
            if ((pos[i].3 - pos[j].3).powi(2) + (pos[i].4 - pos[j].4).powi(2)).sqrt() <= 700.0 {
                let (a, b) = (find(&mut comp, i), find(&mut comp, j));
                comp[a] = b;
            }
        }
    }
    let mut cluster_of_fold: HashMap<usize, usize> = HashMap::new();
    let mut fold_of_cluster: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        let c = find(&mut comp, i);
        assert_eq!(*cluster_of_fold.entry(pos[i].0).or_insert(c), c, "fold {} mixes clusters", pos[i].0);
        assert_eq!(*fold_of_cluster.entry(c).or_insert(pos[i].0), pos[i].0, "cluster split over folds");
    }
    let m = metrics(tmp.path());
    assert_eq!(m["validation"]["folds"].as_u64().unwrap() as usize, fold_of_cluster.len());
}

/// `lode predict` takes the model kind from the saved `model.json`, never from the
/// config's `[model]`: a model of each kind, fitted on the Cloncurry binary layers, is
/// reloaded under a config asking for another kind and gives the same map (GDAL's
/// checksum of the band) and the same targets.
#[test]
fn lode_predict_uses_the_saved_models_kind_whatever_the_config_says() {
    let kinds = [
        ("logistic", "[model]\nkind = \"logistic\""),
        ("random_forest", "[model]\nkind = \"random_forest\"\nn_trees = 20"),
        ("gradient_boosting", "[model]\nkind = \"gradient_boosting\"\niterations = 20"),
        ("wofe", "[model]\nkind = \"wofe\"\nunit_cell_km2 = 1.0\nconfidence = 2.0"),
        ("fuzzy", "[model]\nkind = \"fuzzy\"\noperator = \"gamma\"\ngamma = 0.7"),
        ("naive_bayes", "[model]\nkind = \"naive_bayes\""),
        // Shrunk: the binary layers are one-hot pairs, singular for the plain covariance.
        ("lda", "[model]\nkind = \"lda\"\nshrinkage = \"auto\""),
    ];
    let checksum = |path: &Path| gdalinfo(path, &["-checksum"])["bands"][0]["checksum"].as_i64().unwrap();
    for (k, (kind, model)) in kinds.iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        // The wofe demo's four binary layers, each with a fuzzy membership per class.
        let config_for = |name: &str, model: &str| {
            let c = shipped_config(tmp.path(), "cloncurry-wofe.toml", &out, "");
            let text = std::fs::read_to_string(&c).unwrap();
            let start = text.find("[model]").unwrap();
            let end = text.find("[output]").unwrap();
            let text = format!("{}{model}\n\n{}", &text[..start], &text[end..]).replace(
                "wofe = { method = \"categorical\" }",
                "wofe = { method = \"categorical\" }\nfuzzy = { membership = \"classes\", values = { \"1\" = 0.3, \"2\" = 0.8 } }",
            );
            write(tmp.path(), name, &text)
        };
        let fitted = config_for("fit.toml", model);
        run(&fitted, "2");
        let saved = tmp.path().join("model.json");
        std::fs::copy(out.join("model.json"), &saved).unwrap();
        let map = checksum(&out.join("prospectivity.tif"));
        let targets = std::fs::read_to_string(out.join("targets.csv")).unwrap();
        // The typed fit report reads back as it was written (the tiled run's mosaic reads
        // the fit stage's).
        let fit = metrics(tmp.path())["fit"].clone();
        let typed: lode::model::FitReport = serde_json::from_value(fit.clone()).expect("fit report reads back");
        assert_eq!(serde_json::to_value(&typed).unwrap(), fit, "{kind}: the fit report reads back otherwise");
        std::fs::remove_dir_all(&out).unwrap();

        let (other, other_model) = kinds[(k + 1) % kinds.len()];
        let config = config_for("predict.toml", other_model);
        let o = lode(&["-q", "predict", config.to_str().unwrap(), "--model", saved.to_str().unwrap()]);
        assert!(o.status.success(), "saved {kind} under a {other} config: {}", stderr(&o));
        assert_eq!(checksum(&out.join("prospectivity.tif")), map, "saved {kind} under a {other} config: another map");
        assert_eq!(
            std::fs::read_to_string(out.join("targets.csv")).unwrap(),
            targets,
            "saved {kind} under a {other} config: other targets"
        );
        let m = metrics(tmp.path());
        assert_eq!(m["model"]["kind"], *kind, "{m:?}");
        let typed: lode::model::FitReport = serde_json::from_value(m["fit"].clone()).expect("fit report reads back");
        assert!(matches!(typed, lode::model::FitReport::Saved { .. }), "{:?}", m["fit"]);
    }
}

/// A reproducible sequence of numbers in (0, 1) without a random-number crate: a linear
/// congruential generator (Knuth's MMIX constants) from `seed`.
fn uniform_sequence(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// `model.kind = "naive_bayes"` is scikit-learn's `GaussianNB`: on a table of two
/// columns of unequal spread, a skewed one and a 0/1 column, the probabilities of 40 new
/// query rows match `predict_proba` to 1e-9 (tests/peers/naive_bayes_check.py).
#[test]
fn naive_bayes_matches_scikit_learns_gaussian_nb() {
    use lode::model::naive_bayes::NaiveBayes;
    let py = root().join(".venv-test/bin/python");
    assert!(py.exists(), "{} is missing: run `make test-env` (make test does)", py.display());
    let mut uniform = uniform_sequence(12345);
    let (n, cols) = (120, 4);
    let mut x = ndarray::Array2::<f64>::zeros((n, cols));
    let mut y = Vec::new();
    for i in 0..n {
        let deposit = i % 6 == 0;
        let u: Vec<f64> = (0..cols).map(|_| uniform()).collect();
        x[[i, 0]] = if deposit { 3.0 + 2.0 * (u[0] - 0.5) } else { 1.0 + 4.0 * (u[0] - 0.5) };
        x[[i, 1]] = 1000.0 * u[1] + if deposit { 250.0 } else { 0.0 };
        x[[i, 2]] = (3.0 * u[2]).exp();
        x[[i, 3]] = if u[3] < if deposit { 0.7 } else { 0.4 } { 1.0 } else { 0.0 };
        y.push(deposit);
    }
    let t = lode::training::TrainingSet {
        columns: (0..cols).map(|j| format!("c{j}")).collect(),
        x: x.clone(),
        y: y.clone(),
        cells: Vec::new(),
        summary: Default::default(),
    };
    let m = NaiveBayes::fit(&lode::config::RawModel::default(), &t).unwrap();
    // New rows spanning the table's ranges (lode and scikit-learn see the same numbers).
    let query = ndarray::Array2::from_shape_fn((40, cols), |(i, j)| match j {
        0 => -1.0 + 5.0 * (i as f64 / 39.0),
        1 => 1250.0 * uniform(),
        2 => (3.0 * uniform()).exp(),
        _ => (i % 2) as f64,
    });
    let p = m.predict_rows(query.view(), &(0..40).collect::<Vec<_>>());

    let tmp = tempfile::tempdir().unwrap();
    let csv = |rows: &ndarray::Array2<f64>, labels: Option<&[bool]>| {
        let mut s = String::new();
        for (i, r) in rows.outer_iter().enumerate() {
            let mut cells: Vec<String> = r.iter().map(|v| format!("{v:?}")).collect();
            if let Some(l) = labels {
                cells.push((l[i] as u8).to_string());
            }
            s += &(cells.join(",") + "\n");
        }
        s
    };
    let train = write(tmp.path(), "train.csv", &csv(&x, Some(&y)));
    let q = write(tmp.path(), "query.csv", &csv(&query, None));
    let script = root().join("tests/peers/naive_bayes_check.py");
    let out = tool(py.to_str().unwrap(), &[script.to_str().unwrap(), train.to_str().unwrap(), q.to_str().unwrap()]);
    let reference: Vec<f64> = serde_json::from_str(&out).expect("JSON from naive_bayes_check.py");
    assert_eq!(reference.len(), 40);
    // The table is not trivially separable: both classes get probabilities away from 0 and 1.
    let between = p.iter().filter(|&&v| v > 0.01 && v < 0.99).count();
    assert!(between >= 10, "only {between} of 40 probabilities inside (0.01, 0.99): {p:?}");
    for (i, (a, b)) in p.iter().zip(&reference).enumerate() {
        assert!((a - b).abs() <= 1e-9, "row {i}: lode {a}, scikit-learn {b}");
    }
}

/// Naive Bayes on the synthetic district: the true layers rank above the noise and the
/// spatially cross-validated AUC is within 0.05 of the oracle's, like the other kinds; no
/// uncertainty map (it keeps no ensemble).
#[test]
fn naive_bayes_ranks_true_layers_first_and_its_spatial_cv_auc_is_near_the_oracle() {
    check_model_recovers_truth("[model]\nkind = \"naive_bayes\"", false);
}

/// The probability of class 1 of scikit-learn's `LinearDiscriminantAnalysis(solver =
/// "lsqr", shrinkage)` fitted on `(x, y)`, for each row of `query`
/// (tests/peers/lda_check.py).
fn scikit_learn_lda(
    x: &ndarray::Array2<f64>,
    y: &[bool],
    query: &ndarray::Array2<f64>,
    shrinkage: Option<&str>,
) -> Vec<f64> {
    let py = root().join(".venv-test/bin/python");
    assert!(py.exists(), "{} is missing: run `make test-env` (make test does)", py.display());
    let tmp = tempfile::tempdir().unwrap();
    let csv = |rows: &ndarray::Array2<f64>, labels: Option<&[bool]>| {
        let mut s = String::new();
        for (i, r) in rows.outer_iter().enumerate() {
            let mut cells: Vec<String> = r.iter().map(|v| format!("{v:?}")).collect();
            if let Some(l) = labels {
                cells.push((l[i] as u8).to_string());
            }
            s += &(cells.join(",") + "\n");
        }
        s
    };
    let train = write(tmp.path(), "train.csv", &csv(x, Some(y)));
    let q = write(tmp.path(), "query.csv", &csv(query, None));
    let script = root().join("tests/peers/lda_check.py");
    let mut args = vec![script.to_str().unwrap(), train.to_str().unwrap(), q.to_str().unwrap()];
    args.extend(shrinkage);
    let out = tool(py.to_str().unwrap(), &args);
    serde_json::from_str(&out).expect("JSON from lda_check.py")
}

/// `model.kind = "lda"` is scikit-learn's `LinearDiscriminantAnalysis(solver = "lsqr")`:
/// on a table of correlated columns of unequal spread (so the pooled covariance is not
/// diagonal), a skewed one and a 0/1 column, the probabilities of 40 new query rows
/// match `predict_proba` to 1e-9 relative (tests/peers/lda_check.py).
#[test]
fn lda_matches_scikit_learns_linear_discriminant_analysis() {
    use lode::model::lda::Lda;
    let mut uniform = uniform_sequence(6789);
    let (n, cols) = (150, 4);
    let mut x = ndarray::Array2::<f64>::zeros((n, cols));
    let mut y = Vec::new();
    for i in 0..n {
        let deposit = i % 5 == 0;
        let u: Vec<f64> = (0..cols).map(|_| uniform()).collect();
        x[[i, 0]] = 4.0 * (u[0] - 0.5) + if deposit { 1.5 } else { 0.0 };
        // Correlated with column 0, on another scale.
        x[[i, 1]] = 300.0 * x[[i, 0]] + 500.0 * u[1] + if deposit { 100.0 } else { 0.0 };
        x[[i, 2]] = (3.0 * u[2]).exp();
        x[[i, 3]] = if u[3] < if deposit { 0.7 } else { 0.4 } { 1.0 } else { 0.0 };
        y.push(deposit);
    }
    let t = lode::training::TrainingSet {
        columns: (0..cols).map(|j| format!("c{j}")).collect(),
        x: x.clone(),
        y: y.clone(),
        cells: Vec::new(),
        summary: Default::default(),
    };
    let m = Lda::fit(&lode::config::RawModel::default(), &t).unwrap();
    let query = ndarray::Array2::from_shape_fn((40, cols), |(i, j)| match j {
        0 => -2.5 + 5.0 * (i as f64 / 39.0),
        1 => 1500.0 * uniform() - 750.0,
        2 => (3.0 * uniform()).exp(),
        _ => (i % 2) as f64,
    });
    let p = m.predict_rows(query.view(), &(0..40).collect::<Vec<_>>());

    let reference = scikit_learn_lda(&x, &y, &query, None);
    assert_eq!(reference.len(), 40);
    // Not trivially separable: both classes get probabilities away from 0 and 1.
    let between = p.iter().filter(|&&v| v > 0.01 && v < 0.99).count();
    assert!(between >= 10, "only {between} of 40 probabilities inside (0.01, 0.99): {p:?}");
    let worst = p.iter().zip(&reference).map(|(a, b)| (a - b).abs() / b.abs()).fold(0.0, f64::max);
    eprintln!("lda: largest relative difference from scikit-learn {worst:e}");
    for (i, (a, b)) in p.iter().zip(&reference).enumerate() {
        assert!((a - b).abs() <= 1e-9 * b.abs(), "row {i}: lode {a}, scikit-learn {b}");
    }
}

/// Linear discriminant analysis on the synthetic district: the true layers rank above
/// the noise and the spatially cross-validated AUC is within 0.05 of the oracle's, like
/// the other kinds; no uncertainty map (it keeps no ensemble).
#[test]
fn lda_ranks_true_layers_first_and_its_spatial_cv_auc_is_near_the_oracle() {
    check_model_recovers_truth("[model]\nkind = \"lda\"", false);
}

/// `lode predict` with a saved `lda` model under a config asking for another kind gives
/// the same map (GDAL's checksum of the band) and targets, and a saved model of another
/// kind under an `lda` config is that kind's (the synthetic district: continuous layers,
/// which `lda` takes; the binary layers of the kinds' test above are one-hot classes).
#[test]
fn lode_predict_reads_a_saved_lda_model_and_an_lda_config_reads_another_saved_kind() {
    let checksum = |path: &Path| gdalinfo(path, &["-checksum"])["bands"][0]["checksum"].as_i64().unwrap();
    for (saved_kind, config_kind) in [("lda", "logistic"), ("naive_bayes", "lda")] {
        let tmp = tempfile::tempdir().unwrap();
        let config = scene(tmp.path(), 60, 5, &format!("[model]\nkind = \"{saved_kind}\""), "");
        run(&config, "2");
        let out = tmp.path().join("out");
        let m = metrics(tmp.path());
        assert_eq!(m["model"]["kind"], saved_kind, "{:?}", m["model"]);
        assert!(m["model"]["prior_correction"].is_object(), "{saved_kind}: {:?}", m["model"]);
        assert!(!out.join("uncertainty.tif").exists());
        let saved = tmp.path().join("model.json");
        std::fs::copy(out.join("model.json"), &saved).unwrap();
        let map = checksum(&out.join("prospectivity.tif"));
        let targets = std::fs::read_to_string(out.join("targets.csv")).unwrap();
        std::fs::remove_dir_all(&out).unwrap();

        let text = std::fs::read_to_string(&config)
            .unwrap()
            .replace(&format!("kind = \"{saved_kind}\""), &format!("kind = \"{config_kind}\""));
        let other = write(tmp.path(), "predict.toml", &text);
        let o = lode(&["-q", "predict", other.to_str().unwrap(), "--model", saved.to_str().unwrap()]);
        assert!(o.status.success(), "saved {saved_kind} under a {config_kind} config: {}", stderr(&o));
        assert_eq!(
            checksum(&out.join("prospectivity.tif")),
            map,
            "saved {saved_kind} under {config_kind}: another map"
        );
        let again = std::fs::read_to_string(out.join("targets.csv")).unwrap();
        assert_eq!(again, targets, "saved {saved_kind} under a {config_kind} config: other targets");
        let m = metrics(tmp.path());
        assert_eq!(m["model"]["kind"], saved_kind, "{:?}", m["model"]);
        let typed: lode::model::FitReport = serde_json::from_value(m["fit"].clone()).expect("fit report reads back");
        assert!(matches!(typed, lode::model::FitReport::Saved { .. }), "{:?}", m["fit"]);
    }
}

/// `lda` on the wofe demo's binary layers (each a one-hot pair of class columns summing
/// to 1) stops with the singular covariance and the column that makes it so, before any
/// map is written; a `model.shrinkage` out of its range is refused.
#[test]
fn lda_refuses_one_hot_class_columns_naming_the_column() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let c = shipped_config(tmp.path(), "cloncurry-wofe.toml", &out, "");
    let text = std::fs::read_to_string(&c).unwrap().replace("kind = \"wofe\"", "kind = \"lda\"");
    let config = write(tmp.path(), "lda.toml", &text);
    let o = lode(&["-q", "run", config.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("singular") && err.contains("`breccia_5km=2`") && err.contains("one-hot"), "{err}");
    assert!(!out.join("prospectivity.tif").exists());
    // `model.shrinkage` is "auto" or a number in [0, 1], refused otherwise by its key.
    for (value, says) in [("2.0", "outside [0, 1]"), ("\"ledoit\"", "\"auto\" or a number")] {
        let shrunk = text.replace("kind = \"lda\"", &format!("kind = \"lda\"\nshrinkage = {value}"));
        let config = write(tmp.path(), "shrunk.toml", &shrunk);
        let err = stderr(&lode(&["-q", "validate", config.to_str().unwrap()]));
        assert!(err.contains("shrinkage") && err.contains(says), "{value}: {err}");
    }
}

/// `model.shrinkage` is scikit-learn's `shrinkage`: `"auto"` (Ledoit-Wolf on each class's
/// standardised columns) and a fixed 0.25, on a table with a one-hot pair (the columns
/// sum to 1: singular without shrinkage) and a column constant among the deposits, match
/// `predict_proba` to 1e-9 relative.
#[test]
fn lda_shrinkage_matches_scikit_learns_and_makes_one_hot_columns_usable() {
    use lode::config::{RawModel, Shrinkage};
    use lode::model::lda::Lda;
    let mut uniform = uniform_sequence(4242);
    let (n, cols) = (160, 5);
    let mut x = ndarray::Array2::<f64>::zeros((n, cols));
    let mut y = Vec::new();
    for i in 0..n {
        let deposit = i % 4 == 0;
        let u: Vec<f64> = (0..cols).map(|_| uniform()).collect();
        x[[i, 0]] = 2.0 * (u[0] - 0.5) + if deposit { 0.8 } else { 0.0 };
        x[[i, 1]] = 50.0 * x[[i, 0]] + 80.0 * u[1];
        let hot = u[2] < if deposit { 0.75 } else { 0.35 };
        x[[i, 2]] = if hot { 1.0 } else { 0.0 };
        x[[i, 3]] = 1.0 - x[[i, 2]];
        x[[i, 4]] = if deposit { 3.0 } else { 3.0 + u[4] };
        y.push(deposit);
    }
    let t = lode::training::TrainingSet {
        columns: vec!["a".into(), "b".into(), "unit=1".into(), "unit=2".into(), "c".into()],
        x: x.clone(),
        y: y.clone(),
        cells: Vec::new(),
        summary: Default::default(),
    };
    let err = Lda::fit(&RawModel::default(), &t).unwrap_err().to_string();
    assert!(err.contains("`unit=2`") && err.contains("model.shrinkage"), "{err}");
    let query = ndarray::Array2::from_shape_fn((40, cols), |(i, j)| match j {
        0 => -1.5 + 3.0 * (i as f64 / 39.0),
        1 => 200.0 * uniform() - 100.0,
        2 => (i % 2) as f64,
        3 => 1.0 - (i % 2) as f64,
        _ => 3.0 + uniform(),
    });
    for (shrinkage, arg) in [(Shrinkage::Auto, "auto"), (Shrinkage::Fixed(0.25), "0.25")] {
        let m = RawModel { shrinkage: Some(shrinkage), ..RawModel::default() };
        let p = Lda::fit(&m, &t).unwrap().predict_rows(query.view(), &(0..40).collect::<Vec<_>>());
        let reference = scikit_learn_lda(&x, &y, &query, Some(arg));
        let between = p.iter().filter(|&&v| v > 0.01 && v < 0.99).count();
        assert!(between >= 10, "{arg}: only {between} of 40 probabilities inside (0.01, 0.99): {p:?}");
        let worst = p.iter().zip(&reference).map(|(a, b)| (a - b).abs() / b.abs()).fold(0.0, f64::max);
        eprintln!("lda, shrinkage {arg}: largest relative difference from scikit-learn {worst:e}");
        for (i, (a, b)) in p.iter().zip(&reference).enumerate() {
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{arg}, row {i}: lode {a}, scikit-learn {b}");
        }
    }
}
