//! Prediction: every window of the grid is computed (features, then the model) in
//! parallel and streamed to the map writers in order. At most a few windows are in
//! memory at once, whatever the size of the grid.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::features::FeatureStack;
use crate::io::cog::MapWriter;
use crate::mapstats::MapStats;
use crate::model::FittedModel;
use crate::progress;

/// Cell counts of a prediction.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PredictSummary {
    /// Cells inside the study area.
    pub study_area_cells: u64,
    /// Cells given a value.
    pub scored_cells: u64,
    /// Study-area cells left as nodata because some evidence layer has no data there.
    pub cells_without_evidence: u64,
}

/// Predicts every window into `writers`, one per output map of the model, in order,
/// counting each written window into `stats`.
pub fn predict_map(
    stack: &FeatureStack,
    model: &FittedModel,
    writers: &mut [MapWriter],
    stats: &mut MapStats,
) -> Result<PredictSummary> {
    let started = std::time::Instant::now();
    let windows = stack.grid.windows();
    let bar = progress::bar(windows.len() as u64, "predicting");
    let mut summary = PredictSummary::default();
    let chunk = 2 * rayon::current_num_threads().max(1);
    for group in windows.chunks(chunk) {
        let results: Vec<_> = group
            .par_iter()
            .map(|w| -> Result<_> {
                let block = stack.compute(w)?;
                Ok((w, model.predict_block(&block), block.in_study))
            })
            .collect::<Result<_>>()?;
        for (w, prediction, in_study) in results {
            for (writer, values) in writers.iter_mut().zip(&prediction.maps) {
                writer.write(w, values, &prediction.valid)?;
            }
            stats.add_window(w, &prediction.maps, &prediction.valid);
            let study = in_study.iter().filter(|&&b| b).count() as u64;
            let scored = prediction.valid.iter().filter(|&&b| b).count() as u64;
            summary.study_area_cells += study;
            summary.scored_cells += scored;
            summary.cells_without_evidence += study - scored;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    tracing::debug!("predicted {} windows in {:.2} s", windows.len(), started.elapsed().as_secs_f64());
    Ok(summary)
}
