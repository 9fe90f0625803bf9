//! CPU seconds of reading the training rows of a config: each cell read alone (as
//! `TrainingSet::sample` does, through the small-block warped VRT) against the same cells
//! read as 2 x 1 windows (through the VRT windows are read from, which warps a whole
//! window-sized block per read: what a single-cell read cost before the point reads).
//! Used for benches/README.md.
//!   cargo run --release --example training_reads -- CONFIG
use lode::features::FeatureStack;
use lode::grid::Window;

fn cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn main() -> lode::Result<()> {
    let config = std::env::args().nth(1).expect("usage: training_reads CONFIG");
    let settings = lode::Settings::load(std::path::Path::new(&config))?;
    let stack = FeatureStack::prepare(&settings)?;
    let deposits = lode::labels::Deposits::load(&settings)?;
    let (c0, t0) = (cpu_s(), std::time::Instant::now());
    let training = lode::training::TrainingSet::sample(&settings, &stack, &deposits)?;
    let (c1, t1) = (cpu_s(), std::time::Instant::now());
    for c in &training.cells {
        let col = c.col.min(stack.grid.cols - 2);
        stack.compute(&Window { col, row: c.row, cols: 2, rows: 1 })?;
    }
    let (c2, t2) = (cpu_s(), std::time::Instant::now());
    println!(
        "{} cells, {} training rows: single-cell reads {:.2} CPU-s ({:.2} s wall); as 2 x 1 windows {:.2} CPU-s ({:.2} s wall)",
        stack.grid.len(),
        training.cells.len(),
        c1 - c0,
        (t1 - t0).as_secs_f64(),
        c2 - c1,
        (t2 - t1).as_secs_f64()
    );
    Ok(())
}
