//! Prediction: every window of the grid is computed (features, then the model) in
//! parallel and streamed to the map writers in order. At most a few windows are in
//! memory at once, whatever the size of the grid.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use rayon::prelude::*;
use serde::Serialize;

use crate::coverage;
use crate::error::Result;
use crate::features::FeatureStack;
use crate::grid::Window;
use crate::io::cog::MapWriter;
use crate::mapstats::MapStats;
use crate::model::{BlockPrediction, FittedModel};
use crate::progress;
use crate::targets;

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

/// What the predict stage counts for later stages from the features it computes, so that
/// they need not compute them again.
#[derive(Debug, Default)]
pub struct Counted {
    /// Each layer's coverage counts.
    pub coverage: coverage::Partial,
    /// The targets' reference over the scored area, when asked for
    /// ([`targets::needs_area_reference`]).
    pub reference: Option<targets::AreaReference>,
}

/// Predicts every window into `writers`, one per output map of the model, in order,
/// counting each written window into `stats`; with what it counted from the features
/// (the layers' coverage, and the targets' reference when `reference`).
pub fn predict_map(
    stack: &FeatureStack,
    model: &FittedModel,
    writers: &mut [MapWriter],
    stats: &mut MapStats,
    reference: bool,
) -> Result<(PredictSummary, Counted)> {
    let started = std::time::Instant::now();
    let windows = stack.grid.windows();
    let bar = progress::bar(windows.len() as u64, "predicting");
    let mut summary = PredictSummary::default();
    let mut counted = Counted { reference: reference.then(targets::AreaReference::default), ..Counted::default() };
    let ncols = stack.columns.len();
    // Windows are computed a group at a time on the pool while the writer thread writes
    // the group before: enough windows per group that both workers stay busy to its end.
    let chunk = 8 * rayon::current_num_threads().max(1);
    write_behind(writers, |queue| {
        for group in windows.chunks(chunk) {
            let results: Vec<_> = group
                .par_iter()
                .map(|w| -> Result<_> {
                    let block = stack.compute_features(w)?;
                    let prediction = model.predict_features(&block);
                    let study = block.in_study.iter().filter(|&&b| b).count() as u64;
                    let counts = coverage::Partial::of_features(stack, &block);
                    let area = reference.then(|| targets::AreaReference::of_window(&block, ncols));
                    block.recycle();
                    Ok((*w, prediction, study, counts, area))
                })
                .collect::<Result<_>>()?;
            let mut written = Vec::with_capacity(results.len());
            for (w, prediction, study, counts, area) in results {
                counted.coverage.merge(&counts);
                if let (Some(total), Some(area)) = (counted.reference.as_mut(), area) {
                    total.merge(&area);
                }
                let scored = prediction.valid.iter().filter(|&&b| b).count() as u64;
                summary.study_area_cells += study;
                summary.scored_cells += scored;
                summary.cells_without_evidence += study - scored;
                stats.add_window(&w, &prediction.maps, &prediction.valid);
                written.push((w, prediction));
            }
            queue.push(written)?;
            bar.inc(group.len() as u64);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    tracing::debug!("predicted {} windows in {:.2} s", windows.len(), started.elapsed().as_secs_f64());
    Ok((summary, counted))
}

/// Windows waiting to be written, in order: each of `prediction.maps` goes to its writer.
type Group = Vec<(Window, BlockPrediction)>;

/// The sending end of `write_behind`'s queue.
pub struct WriteQueue {
    tx: SyncSender<Group>,
}

impl WriteQueue {
    /// Queues a group of windows for writing; blocks while the writer is a group behind.
    /// An error when the writer has stopped (its own error is what [`write_behind`] returns).
    fn push(&self, group: Group) -> Result<()> {
        self.tx.send(group).map_err(|_| crate::error::Error::Model("the map writer stopped".into()))
    }
}

/// Runs `produce` with a queue whose groups of windows a thread of its own writes to
/// `writers`, in the order queued, while `produce` computes the next. The queue holds one
/// group, so at most three groups are in memory (being computed, queued, being written).
/// The first error, the writer's before `produce`'s (a full disk stops both), is returned.
fn write_behind<T>(writers: &mut [MapWriter], produce: impl FnOnce(&WriteQueue) -> Result<T>) -> Result<T> {
    let (tx, rx) = sync_channel::<Group>(1);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_groups(writers, rx));
        let produced = produce(&WriteQueue { tx });
        // `produce` dropped its queue with it: the writer ends once it has written what is queued.
        let written = writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written.and(produced)
    })
}

/// The writer thread: every group received, window by window, until the queue closes.
/// Stops at the first error (dropping the receiver, so the producer's next push fails).
fn write_groups(writers: &mut [MapWriter], rx: Receiver<Group>) -> Result<()> {
    for group in rx {
        for (w, prediction) in group {
            for (writer, values) in writers.iter_mut().zip(&prediction.maps) {
                writer.write(&w, values, &prediction.valid)?;
            }
            // Back to the workers, for the predictions of the windows to come.
            prediction.maps.into_iter().for_each(crate::scratch::give_shared);
            crate::scratch::give_shared(prediction.valid);
        }
    }
    Ok(())
}
