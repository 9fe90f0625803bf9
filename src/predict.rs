//! Prediction: every window of the grid is computed (features, then the model) in
//! parallel and streamed to the map writer in order. At most a few windows are in
//! memory at once, whatever the size of the grid.

use ndarray::Axis;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::features::{FeatureBlock, FeatureStack};
use crate::io::cog::MapWriter;
use crate::model::FittedModel;
use crate::progress;

/// Cell counts of a prediction.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PredictSummary {
    /// Cells inside the study area.
    pub study_area_cells: u64,
    /// Cells given a probability.
    pub scored_cells: u64,
    /// Study-area cells left as nodata because some evidence layer has no data there.
    pub cells_without_evidence: u64,
}

/// Probabilities of the valid cells of one window of features (0 elsewhere).
pub fn predict_block(model: &FittedModel, block: &FeatureBlock) -> Vec<f32> {
    let w = block.window;
    let rows: Vec<usize> = (0..w.len()).filter(|&i| block.valid[i]).collect();
    let mut values = vec![0f32; w.len()];
    if !rows.is_empty() {
        let x = block.values.select(Axis(0), &rows);
        for (&i, p) in rows.iter().zip(model.predict(x.view())) {
            values[i] = p as f32;
        }
    }
    values
}

/// Predicts every window into `writer`.
pub fn predict_map(stack: &FeatureStack, model: &FittedModel, writer: &mut MapWriter) -> Result<PredictSummary> {
    let windows = stack.grid.windows();
    let bar = progress::bar(windows.len() as u64, "predicting");
    let mut summary = PredictSummary::default();
    let chunk = 2 * rayon::current_num_threads().max(1);
    for group in windows.chunks(chunk) {
        let results: Vec<_> = group
            .par_iter()
            .map(|w| -> Result<_> {
                let block = stack.compute(w)?;
                let values = predict_block(model, &block);
                Ok((w, values, block.valid, block.in_study))
            })
            .collect::<Result<_>>()?;
        for (w, values, valid, in_study) in results {
            writer.write(w, &values, &valid)?;
            let study = in_study.iter().filter(|&&b| b).count() as u64;
            let scored = valid.iter().filter(|&&b| b).count() as u64;
            summary.study_area_cells += study;
            summary.scored_cells += scored;
            summary.cells_without_evidence += study - scored;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(summary)
}
