//! The tree models (`random_forest`, `gradient_boosting`) around a sampled
//! [`TrainingSet`]: class weights, positive-unlabelled bagging, cross-validation
//! ([`crate::validation::cross_validate`], shared by every model kind), and the
//! per-cell uncertainty (standard deviation over the ensemble).
//!
//! Uncertainty: for the forest, the standard deviation of the tree probabilities (all
//! trees of all bags); for boosting, over the bags when `pu_bagging`, else over the
//! cross-validation fold models (at most [`MAX_FOLD_MODELS`]); no uncertainty map for
//! boosting without either.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{ClassWeight, EarlyStopping, NegativeSampling, Settings};
use crate::error::{Error, Result};
use crate::features::{FeatureStack, WindowFeatures};
use crate::labels::Deposits;
use crate::model::boosting::{Boosting, BoostingParams};
use crate::model::forest::{derive_seed, Binner, Forest, ForestParams, Rows};
use crate::model::{split, training_set, BlockPrediction, Built, FitReport, MapOutput, Model, ModelKind};
use crate::training::TrainingSet;
use crate::validation::{cross_validate, CrossValidation};

/// One fitted member of an ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Member {
    /// A random forest.
    Forest(Forest),
    /// A gradient booster.
    Boosting(Boosting),
}

impl Member {
    fn predict(&self, x: &Rows) -> Vec<f64> {
        match self {
            Member::Forest(f) => f.predict_rows(x).0,
            Member::Boosting(b) => b.predict_rows(x),
        }
    }
}

/// A fitted tree model: the members whose mean is the probability, and the fold models
/// of cross-validation (kept for the uncertainty of boosting).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TreeModel {
    /// Final members (one forest holding the trees of every bag, or one booster per bag).
    pub members: Vec<Member>,
    /// Cross-validation fold models (boosting only; empty otherwise).
    pub folds: Vec<Member>,
}

impl TreeModel {
    /// Whether the model has an uncertainty map.
    pub fn has_uncertainty(&self) -> bool {
        match self.members.first() {
            Some(Member::Forest(_)) => true,
            _ => self.members.len() > 1 || self.folds.len() > 1,
        }
    }

    /// Probability and (if any) standard deviation for row-major `(rows, cols)` data.
    pub fn predict(&self, x: &[f64], cols: usize) -> (Vec<f64>, Option<Vec<f64>>) {
        self.predict_rows(&Rows::Dense { x, cols })
    }

    /// [`TreeModel::predict`] of `x`.
    pub fn predict_rows(&self, x: &Rows) -> (Vec<f64>, Option<Vec<f64>>) {
        if let [Member::Forest(f)] = self.members.as_slice() {
            let (m, s) = f.predict_rows(x);
            return (m, Some(s));
        }
        let preds: Vec<Vec<f64>> = self.members.iter().map(|m| m.predict(x)).collect();
        let rows = preds.first().map_or(0, |p| p.len());
        let k = preds.len().max(1) as f64;
        let mean: Vec<f64> = (0..rows).map(|i| preds.iter().map(|p| p[i]).sum::<f64>() / k).collect();
        let spread_of = |ps: &[Vec<f64>], mean: &[f64]| -> Vec<f64> {
            let k = ps.len() as f64;
            (0..rows).map(|i| (ps.iter().map(|p| (p[i] - mean[i]).powi(2)).sum::<f64>() / k).sqrt()).collect()
        };
        let spread = if preds.len() > 1 {
            Some(spread_of(&preds, &mean))
        } else if self.folds.len() > 1 {
            let fp: Vec<Vec<f64>> = self.folds.iter().map(|m| m.predict(x)).collect();
            let fmean: Vec<f64> = (0..rows).map(|i| fp.iter().map(|p| p[i]).sum::<f64>() / fp.len() as f64).collect();
            Some(spread_of(&fp, &fmean))
        } else {
            None
        };
        (mean, spread)
    }
}

/// A [`FeatureBlock`](crate::features::FeatureBlock) of row-major feature rows (all
/// inside the study area, every layer with data: training rows), so that the class-based
/// models (`wofe`, `fuzzy`) predict rows with their block code.
pub fn rows_block(x: &[f64], cols: usize, layers: usize) -> crate::features::FeatureBlock {
    let n = x.len() / cols.max(1);
    crate::features::FeatureBlock {
        window: crate::grid::Window { col: 0, row: 0, cols: n, rows: 1 },
        values: ndarray::Array2::from_shape_vec((n, cols), x[..n * cols].to_vec()).expect("n * cols values"),
        in_study: vec![true; n],
        valid: vec![true; n],
        layer_valid: ndarray::Array2::from_elem((n, layers), true),
    }
}

/// The row weights of `class_weight`: 1 for every row with `none`; with `balanced`,
/// deposit rows weigh `negatives / positives` (so both classes weigh the same in total)
/// and negative rows 1.
pub fn class_weights(y: &[bool], class_weight: ClassWeight) -> Vec<f64> {
    let np = y.iter().filter(|&&v| v).count() as f64;
    let nn = y.len() as f64 - np;
    let wpos = match class_weight {
        ClassWeight::None => 1.0,
        ClassWeight::Balanced => nn / np.max(1.0),
    };
    y.iter().map(|&v| if v { wpos } else { 1.0 }).collect()
}

/// The rows of each positive-unlabelled bag: every deposit row of `pos`, plus as many
/// rows drawn with replacement from the unlabelled rows `neg`; bag `b` draws from its own
/// generator seeded with `(seed, 1_000_000 + b)`.
pub fn pu_bags(pos: &[usize], neg: &[usize], bags: usize, seed: u64) -> Vec<Vec<usize>> {
    (0..bags)
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 1_000_000 + b as u64));
            let mut rows = pos.to_vec();
            rows.extend((0..pos.len()).map(|_| neg[rng.gen_range(0..neg.len())]));
            rows
        })
        .collect()
}

/// Fits the members on the rows `idx` of the training set.
fn fit_members(settings: &Settings, t: &TrainingSet, idx: &[usize], seed: u64) -> Result<Vec<Member>> {
    let m = &settings.model;
    let cols = t.x.ncols();
    let pos: Vec<usize> = idx.iter().copied().filter(|&i| t.y[i]).collect();
    let neg: Vec<usize> = idx.iter().copied().filter(|&i| !t.y[i]).collect();
    if pos.is_empty() || neg.is_empty() {
        return Err(Error::Training("a tree model needs both deposit and non-deposit rows".into()));
    }
    // The row sets of each bag.
    let bags: Vec<Vec<usize>> = match m.negative_sampling {
        NegativeSampling::BufferedRandom => vec![idx.to_vec()],
        NegativeSampling::PuBagging => pu_bags(&pos, &neg, m.bags, seed),
    };
    let mut members = Vec::new();
    let mut forest: Option<Forest> = None;
    for (b, rows) in bags.iter().enumerate() {
        let x = t.rows(rows);
        let y: Vec<bool> = rows.iter().map(|&i| t.y[i]).collect();
        let w = class_weights(&y, m.class_weight);
        let binner = Binner::fit(&x, y.len(), cols, m.max_bins);
        let bseed = derive_seed(seed, b as u64);
        match m.kind {
            ModelKind::RandomForest => {
                let bins = binner.transform(&x, y.len(), cols);
                let params = ForestParams {
                    n_trees: m.n_trees,
                    max_depth: m.max_depth,
                    min_samples_leaf: m.min_samples_leaf.unwrap_or(1),
                    max_features: m.max_features,
                    max_bins: m.max_bins,
                };
                let f = Forest::fit(&binner, &bins, &y, &w, params, bseed);
                match &mut forest {
                    Some(all) => all.trees.extend(f.trees),
                    None => forest = Some(f),
                }
            }
            _ => {
                let params = BoostingParams {
                    iterations: m.iterations,
                    learning_rate: m.learning_rate as f32,
                    max_depth: m.max_depth,
                    min_leaf_weight: 1e-3,
                    max_bins: m.max_bins,
                    max_leaves: m.max_leaves,
                    min_samples_leaf: m.min_samples_leaf.unwrap_or(20),
                    l2_regularization: m.l2_regularization,
                    n_iter_no_change: early_stopping(m, &y).rounds,
                    validation_fraction: m.validation_fraction,
                };
                members.push(Member::Boosting(Boosting::fit(binner, &x, cols, &y, &w, params, bseed)?));
            }
        }
    }
    if let Some(f) = forest {
        members.push(Member::Forest(f));
    }
    Ok(members)
}

/// Fewest deposit rows early stopping must hold out: with fewer, the held-out loss is
/// decided by one or two deposits and stops the boosting at random (13 deposits and the
/// default 10 % held out one deposit, and scored a held-out AUC of 0.30).
pub const MIN_HELD_OUT_DEPOSITS: usize = 10;

/// Whether gradient boosting stops early on rows `y`, and why (for `metrics.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EarlyStoppingUse {
    /// `auto`, `on` or `off`, as configured.
    pub requested: EarlyStopping,
    /// Rounds without improvement before stopping (`None`: every round is fitted).
    pub rounds: Option<usize>,
    /// Deposit rows the held-out split would keep.
    pub held_out_deposits: usize,
    /// Why it is off when it was asked for (`None` when it runs as asked).
    pub note: Option<String>,
}

/// scikit-learn's rule (`auto`: on above 10 000 rows), except that early stopping is
/// switched off when its held-out split would keep fewer than [`MIN_HELD_OUT_DEPOSITS`]
/// deposit rows (rounded like the split in [`Boosting::fit`]).
pub fn early_stopping(m: &crate::config::RawModel, y: &[bool]) -> EarlyStoppingUse {
    let positives = y.iter().filter(|&&v| v).count();
    let held = ((positives as f64 * m.validation_fraction).round() as usize).min(positives.saturating_sub(1));
    let asked = match m.early_stopping {
        EarlyStopping::On => true,
        EarlyStopping::Auto => y.len() > 10_000,
        EarlyStopping::Off => false,
    };
    let (rounds, note) = if !asked {
        (None, None)
    } else if held < MIN_HELD_OUT_DEPOSITS {
        let note = format!(
            "early stopping switched off: model.validation_fraction = {} of {positives} deposit rows holds out \
             {held}, fewer than {MIN_HELD_OUT_DEPOSITS}; every one of the {} rounds is fitted \
             (set model.early_stopping = \"off\" to silence this, or give more deposits)",
            m.validation_fraction, m.iterations
        );
        (None, Some(note))
    } else {
        (Some(m.n_iter_no_change), None)
    };
    EarlyStoppingUse { requested: m.early_stopping, rounds, held_out_deposits: held, note }
}

fn ensemble_predict(members: &[Member], x: &[f64], cols: usize) -> Vec<f64> {
    TreeModel { members: members.to_vec(), folds: Vec::new() }.predict(x, cols).0
}

/// Most cross-validation fold models kept for the uncertainty of boosting (a `cluster`
/// validation can have a fold per deposit cluster: then there is no uncertainty map).
pub const MAX_FOLD_MODELS: usize = 20;

/// Fits a tree model (with cross-validation when `[validation]` asks for it). Returns the
/// model and the cross-validation (report, files `importance.csv`, `cv_folds.csv`).
pub fn fit(
    settings: &Settings,
    stack: &FeatureStack,
    t: &TrainingSet,
) -> Result<(TreeModel, Option<CrossValidation<Vec<Member>>>)> {
    let all: Vec<usize> = (0..t.y.len()).collect();
    let members = fit_members(settings, t, &all, settings.seed)?;
    let cols = t.x.ncols();
    let mut cv = cross_validate(
        &settings.validation,
        settings.seed,
        stack,
        t,
        |rows, seed| fit_members(settings, t, rows, seed),
        |members: &Vec<Member>, x| ensemble_predict(members, x, cols),
    )?;
    let fold_models: Vec<Member> =
        cv.as_mut().map(|cv| std::mem::take(&mut cv.fold_models)).unwrap_or_default().into_iter().flatten().collect();
    // Every kept fold model is evaluated at every cell: keep them only for a few folds.
    let keep_folds = matches!(members.first(), Some(Member::Boosting(_)))
        && members.len() == 1
        && fold_models.len() <= MAX_FOLD_MODELS;
    let model = TreeModel { members, folds: if keep_folds { fold_models } else { Vec::new() } };
    Ok((model, cv))
}

impl Model for TreeModel {
    /// Fits the forest or the booster `model.kind` asks for (with its cross-validation).
    fn build(
        settings: &Settings,
        stack: &FeatureStack,
        _deposits: &Deposits,
        training: Option<&TrainingSet>,
    ) -> Result<Built<TreeModel>> {
        let training = training_set(training)?;
        let (m, cv) = fit(settings, stack, training)?;
        let (validation, files) = split(cv);
        let early_stopping = (settings.model.kind == ModelKind::GradientBoosting).then(|| {
            let es = early_stopping(&settings.model, &training.y);
            if let Some(note) = &es.note {
                tracing::warn!("{note}");
            }
            es
        });
        let report = FitReport::Trained { training: training.summary.clone(), validation, early_stopping };
        Ok(Built { model: m, report, files })
    }

    /// `balanced` weighs both classes the same; a PU bag draws as many unlabelled rows as
    /// deposits: either way the fitted share is one half.
    fn sample_share(settings: &Settings, t: &TrainingSet) -> Option<f64> {
        let m = &settings.model;
        let (pos, neg) = (t.summary.positives as f64, t.summary.negatives as f64);
        if m.class_weight == ClassWeight::Balanced || m.negative_sampling == NegativeSampling::PuBagging {
            Some(0.5)
        } else {
            Some(pos / (pos + neg))
        }
    }

    fn kind(&self) -> ModelKind {
        match self.members.first() {
            Some(Member::Forest(_)) => ModelKind::RandomForest,
            _ => ModelKind::GradientBoosting,
        }
    }

    fn outputs(&self, probability: &'static str) -> Vec<MapOutput> {
        let mut v = vec![MapOutput::prospectivity(probability)];
        if self.has_uncertainty() {
            v.push(MapOutput {
                file: "uncertainty.tif",
                description: "standard deviation of the probability over the ensemble",
            });
        }
        v
    }

    fn window_maps(&self, block: &WindowFeatures) -> BlockPrediction {
        let rows: Vec<usize> = (0..block.valid.len()).filter(|&i| block.valid[i]).collect();
        let (p, sd) = self.predict_rows(&Rows::Window { features: block, cells: &rows });
        let mut maps = vec![vec![0f32; block.valid.len()]];
        for (&i, v) in rows.iter().zip(&p) {
            maps[0][i] = *v as f32;
        }
        if self.has_uncertainty() {
            let mut u = vec![0f32; block.valid.len()];
            for (&i, v) in rows.iter().zip(sd.iter().flatten()) {
                u[i] = *v as f32;
            }
            maps.push(u);
        }
        BlockPrediction { maps, valid: block.valid.clone() }
    }

    /// Members (trees of the forest, or boosters) and kept fold models.
    fn describe(&self, _columns: &[String]) -> serde_json::Value {
        let n = match self.members.first() {
            Some(Member::Forest(f)) => f.trees.len(),
            _ => self.members.len(),
        };
        serde_json::json!({ "members": n, "fold_models": self.folds.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Few positives (40 of 1000), overlapping classes: `x0 + noise > 1.6` on a grid of
    /// values, a second column of pure noise.
    fn rare_positives() -> (Vec<f64>, Vec<bool>) {
        let rows = 1000;
        let u = |i: usize, k: u64| (derive_seed(k, i as u64) >> 11) as f64 / (1u64 << 53) as f64;
        let x: Vec<f64> = (0..rows).flat_map(|i| [u(i, 1) * 2.0, u(i, 2)]).collect();
        let mut y: Vec<bool> = (0..rows).map(|i| x[i * 2] + 0.6 * u(i, 3) > 1.75).collect();
        // Exactly 40 positives: keep the first 40.
        let mut seen = 0;
        for v in y.iter_mut() {
            if *v {
                seen += 1;
                *v = seen <= 40;
            }
        }
        (x, y)
    }

    #[test]
    fn balanced_class_weights_are_the_explicit_ratio_and_raise_the_probability_of_positives() {
        let (x, y) = rare_positives();
        let (np, nn) = (y.iter().filter(|&&v| v).count(), y.iter().filter(|&&v| !v).count());
        assert_eq!((np, nn), (40, 960));
        // `balanced` = negatives / positives = 24 on deposit rows, 1 on the others.
        let w = class_weights(&y, ClassWeight::Balanced);
        let explicit: Vec<f64> = y.iter().map(|&v| if v { 960.0 / 40.0 } else { 1.0 }).collect();
        assert_eq!(w, explicit);
        assert!(class_weights(&y, ClassWeight::None).iter().all(|&v| v == 1.0));
        // Weighting the deposits up raises the mean predicted probability of the deposit
        // rows (the documented direction), for both tree models, and fitting with the
        // explicit weights gives the same model as `balanced`.
        let rows = y.len();
        let binner = Binner::fit(&x, rows, 2, 255);
        let bins = binner.transform(&x, rows, 2);
        let mean_pos = |p: &[f64]| p.iter().zip(&y).filter(|q| *q.1).map(|q| *q.0).sum::<f64>() / np as f64;
        let fp =
            ForestParams { n_trees: 20, max_depth: Some(4), min_samples_leaf: 5, max_features: None, max_bins: 255 };
        let forest = |w: &[f64]| Forest::fit(&binner, &bins, &y, w, fp, 3).predict_with_spread(&x, 2).0;
        let (unweighted, weighted) = (forest(&class_weights(&y, ClassWeight::None)), forest(&w));
        assert_eq!(weighted, forest(&explicit));
        assert!(
            mean_pos(&weighted) > mean_pos(&unweighted) + 0.1,
            "forest: {} vs {}",
            mean_pos(&weighted),
            mean_pos(&unweighted)
        );
        let bp = BoostingParams {
            iterations: 30,
            learning_rate: 0.2,
            max_depth: Some(3),
            min_leaf_weight: 1.0,
            max_bins: 255,
            max_leaves: 31,
            min_samples_leaf: 5,
            l2_regularization: 0.0,
            n_iter_no_change: None,
            validation_fraction: 0.1,
        };
        let boost = |w: &[f64]| Boosting::fit(binner.clone(), &x, 2, &y, w, bp, 3).unwrap().predict(&x, 2);
        let (unweighted, weighted) = (boost(&class_weights(&y, ClassWeight::None)), boost(&w));
        assert!(
            mean_pos(&weighted) > mean_pos(&unweighted) + 0.1,
            "boosting: {} vs {}",
            mean_pos(&weighted),
            mean_pos(&unweighted)
        );
        // The unweighted mean is near the base rate's neighbourhood, the weighted one
        // near the balanced rate: the weights act on the probability scale.
        assert!(mean_pos(&unweighted) < 0.5 && mean_pos(&weighted) > 0.5);
    }

    #[test]
    fn pu_bags_hold_every_deposit_and_as_many_unlabelled_draws() {
        let pos: Vec<usize> = (0..10).collect();
        let neg: Vec<usize> = (10..110).collect();
        let bags = pu_bags(&pos, &neg, 4, 9);
        assert_eq!(bags.len(), 4);
        for b in &bags {
            assert_eq!(b.len(), 20);
            assert_eq!(&b[..10], pos.as_slice());
            assert!(b[10..].iter().all(|i| (10..110).contains(i)));
        }
        // Different draws per bag, the same draws for the same seed.
        assert_ne!(bags[0][10..], bags[1][10..]);
        assert_eq!(bags, pu_bags(&pos, &neg, 4, 9));
        assert_ne!(bags, pu_bags(&pos, &neg, 4, 10));
        // Over many bags the draws cover the unlabelled pool about uniformly.
        let many = pu_bags(&pos, &neg, 2000, 1);
        let mut hits = vec![0usize; 100];
        for b in &many {
            for &i in &b[10..] {
                hits[i - 10] += 1;
            }
        }
        // 20000 draws over 100 rows: 200 each, binomial sd 14.
        assert!(hits.iter().all(|&h| (130..=270).contains(&h)), "{hits:?}");
    }

    #[test]
    fn tree_models_are_send_sync_and_survive_a_json_round_trip() {
        fn check<T: Send + Sync>() {}
        check::<TreeModel>();
        check::<Member>();
        // A small forest and booster: predictions after serde_json equal the originals.
        let rows = 200;
        let x: Vec<f64> = (0..rows * 2).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
        let y: Vec<bool> = (0..rows).map(|i| x[i * 2] + 0.3 * x[i * 2 + 1] > 0.7).collect();
        let w = vec![1.0; rows];
        let binner = Binner::fit(&x, rows, 2, 255);
        let bins = binner.transform(&x, rows, 2);
        let fp =
            ForestParams { n_trees: 5, max_depth: Some(6), min_samples_leaf: 2, max_features: None, max_bins: 255 };
        let bp = BoostingParams {
            iterations: 10,
            learning_rate: 0.3,
            max_depth: Some(3),
            min_leaf_weight: 1e-3,
            max_bins: 255,
            max_leaves: 31,
            min_samples_leaf: 5,
            l2_regularization: 0.0,
            n_iter_no_change: None,
            validation_fraction: 0.1,
        };
        for m in [
            TreeModel { members: vec![Member::Forest(Forest::fit(&binner, &bins, &y, &w, fp, 1))], folds: Vec::new() },
            TreeModel {
                members: vec![Member::Boosting(Boosting::fit(binner.clone(), &x, 2, &y, &w, bp, 1).unwrap())],
                folds: Vec::new(),
            },
        ] {
            let back: TreeModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(m.predict(&x, 2).0, back.predict(&x, 2).0);
            assert!(crate::validation::auc(&m.predict(&x, 2).0, &y) > 0.9);
        }
    }
}
