//! The `lode` command: parses the command line and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Mineral prospectivity maps from geological survey layers and satellite rasters.
///
/// One TOML config names the grid, the deposits and the evidence layers; `lode run`
/// writes a Cloud-Optimized GeoTIFF of deposit probability and its evaluation.
#[derive(Parser)]
#[command(name = "lode", version, about, long_about = None)]
struct Cli {
    /// Only print errors (no progress bars, no summary log lines).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More log output (-v: debug, -vv: trace, including GDAL's messages).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline: evidence, training set, model, map, evaluation.
    Run {
        /// The config file (TOML). See docs/config.md.
        config: PathBuf,
        /// Worker threads (default: project.threads, or one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Write a starting config for a mineral system (lithium, REE) with real USGS
    /// deposit labels: `lode init --preset li-pegmatite DIR`.
    Init {
        /// li-pegmatite, li-brine-clay, ree-carbonatite or ree-ion-adsorption.
        #[arg(long)]
        preset: String,
        /// Folder to write `lode.toml`, `README.md`, `deposits/` and `evidence/` into.
        dir: PathBuf,
        /// Also write a generated example scene (synthetic evidence, labelled so in its
        /// files and in the report) so that `lode run` works at once.
        #[arg(long)]
        example: bool,
    },
    /// Redraw the target areas of a finished run at another threshold, without fitting
    /// again: targets.gpkg/.csv/.qml, the report's targets and quicklook, metrics and manifest.
    Targets {
        /// The run's output folder (holding manifest.json, model.json, prospectivity.tif).
        run_dir: PathBuf,
        /// Target cells: the best X % of the scored area.
        #[arg(long = "top-percent", conflicts_with = "probability", required_unless_present = "probability")]
        top_percent: Option<f64>,
        /// Target cells: cells scoring at least P.
        #[arg(long)]
        probability: Option<f64>,
        /// Drop target areas smaller than this (km²); default: the run's.
        #[arg(long = "min-area-km2")]
        min_area_km2: Option<f64>,
    },
    /// Predict and evaluate with a saved model (a run's `model.json`) instead of fitting.
    Predict {
        /// The config file (TOML); its evidence must give the model's feature columns.
        config: PathBuf,
        /// The saved model (`model.json` of an earlier run).
        #[arg(long)]
        model: PathBuf,
        /// Worker threads (default: project.threads, or one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Plan a tiled run for a batch scheduler: hash the config and inputs, cut the grid
    /// into tiles of whole windows, write RUN/plan.json and the launcher (see docs/cluster.md).
    Plan {
        /// The config file (TOML).
        config: PathBuf,
        /// Number of tiles (array tasks), 1 to the number of processing windows.
        #[arg(long)]
        tiles: usize,
        /// slurm (sbatch scripts), pbs (PBS Pro qsub scripts) or list (commands.txt).
        #[arg(long)]
        engine: lode::cluster::Engine,
        /// The run folder (plan, launcher, logs, fit, tiles).
        #[arg(long)]
        out: PathBuf,
        /// SLURM partition or PBS queue written into the scripts.
        #[arg(long, alias = "queue")]
        partition: Option<String>,
        /// Account (project) charged, written into the scripts.
        #[arg(long)]
        account: Option<String>,
        /// Memory per job written into the scripts, e.g. 8G.
        #[arg(long)]
        mem: Option<String>,
        /// Wall time per job written into the scripts, e.g. 02:00:00.
        #[arg(long)]
        time: Option<String>,
        /// Threads per job (default: project.threads, or one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// The lode binary the scripts call (default: this one).
        #[arg(long)]
        lode: Option<PathBuf>,
    },
    /// Stage 1 of a tiled run: the grid-wide passes (class scans, burns, moments) over one
    /// tile's windows (RUN/prepare/NNNN.json).
    Prepare {
        /// The run folder made by `lode plan`.
        run_dir: PathBuf,
        /// The tile, from 0 (default: $SLURM_ARRAY_TASK_ID or $PBS_ARRAY_INDEX).
        index: Option<usize>,
        /// Worker threads (default: the plan's).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Stage 2 of a tiled run: merge the prepare tasks' passes (RUN/fit/prepared.json), sample,
    /// fit and cross-validate once (RUN/fit/model.json).
    Fit {
        /// The run folder made by `lode plan`.
        run_dir: PathBuf,
        /// Worker threads (default: the plan's).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Stage 3 of a tiled run: predict one tile's windows (RUN/tiles/NNNN/).
    Tile {
        /// The run folder made by `lode plan`.
        run_dir: PathBuf,
        /// The tile, from 0 (default: $SLURM_ARRAY_TASK_ID or $PBS_ARRAY_INDEX).
        index: Option<usize>,
        /// Worker threads (default: the plan's).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Stage 4 of a tiled run: the maps from the tiles, evaluation, targets, report, manifest.
    Mosaic {
        /// The run folder made by `lode plan`.
        run_dir: PathBuf,
        /// Worker threads (default: the plan's).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Write a synthetic district with a known truth (rasters, deposits, scene.toml).
    Synth {
        /// Columns (100 m cells).
        #[arg(long)]
        cols: usize,
        /// Rows (100 m cells).
        #[arg(long)]
        rows: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Intercept of the true logit (lower: fewer deposits).
        #[arg(long, default_value_t = -6.0, allow_hyphen_values = true)]
        intercept: f64,
        /// Output folder.
        out_dir: PathBuf,
    },
    /// Check a config: parse it, open every input, print the grid, layers and deposits.
    Validate {
        /// The config file (TOML).
        config: PathBuf,
    },
    /// Weights-of-evidence table of one integer raster against deposits (ArcSDM's
    /// Calculate Weights; same columns as Geoscience Australia's tables).
    Weights {
        /// Evidence raster with integer classes (its grid is used as is).
        #[arg(long)]
        evidence: PathBuf,
        /// Deposit points (any OGR source).
        #[arg(long)]
        deposits: PathBuf,
        /// `ascending` (low values favourable), `descending` (high values favourable) or
        /// `categorical` (unordered classes).
        #[arg(long, value_parser = parse_method)]
        method: lode::wofe::Method,
        /// Area of a unit cell in km².
        #[arg(long = "unit-cell-km2", default_value_t = 1.0)]
        unit_cell_km2: f64,
        /// Studentized contrast a table needs to be generalised.
        #[arg(long, default_value_t = 2.0)]
        confidence: f64,
        /// A class value that stands for missing data.
        #[arg(long, allow_hyphen_values = true)]
        missing: Option<i64>,
        /// Study-area mask: a polygon layer or a raster.
        #[arg(long)]
        mask: Option<PathBuf>,
        /// Output table (CSV).
        #[arg(long)]
        out: PathBuf,
    },
    /// ROC AUC and success-rate curve of any map against deposits, on the map's own grid.
    Evaluate {
        /// The map (higher is more prospective); nodata cells are left out.
        #[arg(long)]
        map: PathBuf,
        /// Deposit points (any OGR source).
        #[arg(long)]
        deposits: PathBuf,
        /// Study-area mask: a polygon layer or a raster.
        #[arg(long)]
        mask: Option<PathBuf>,
        /// Write the evaluation as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn parse_method(s: &str) -> Result<lode::wofe::Method, String> {
    match s {
        "ascending" => Ok(lode::wofe::Method::Ascending),
        "descending" => Ok(lode::wofe::Method::Descending),
        "categorical" => Ok(lode::wofe::Method::Categorical),
        other => Err(format!("`{other}`: expected ascending, descending or categorical")),
    }
}

fn main() -> ExitCode {
    // A closed pipe (`lode validate x.toml | head -1`) ends lode quietly, as it does any
    // other command-line tool, instead of a panic in println!. A file-size limit
    // (`ulimit -f`) gives a write error naming the file instead of a kill by SIGXFSZ.
    // SAFETY: setting signal dispositions before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    if cli.quiet {
        // -q: nothing on stdout; errors still go to stderr.
        quiet_stdout();
    }
    if let Err(e) = lode::output::install_signal_handlers() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::INFO,
        (false, 1) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    lode::progress::set_quiet(cli.quiet);

    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Points stdout at /dev/null (for `-q`), so no summary or "wrote" line is printed.
fn quiet_stdout() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 onto stdout's descriptor; `null` is closed after, stdout stays open.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    use anyhow::Context;
    match cli.command {
        Command::Run { config, threads } => {
            let report = lode::run(&config, threads).with_context(|| format!("lode run {}", config.display()))?;
            let m = &report.metrics;
            println!("lode {}: {}", lode::VERSION, m.project);
            if m.synthetic {
                println!(
                    "  SYNTHETIC EXAMPLE: the evidence was generated by `lode init --example`; the map means nothing"
                );
            }
            println!(
                "  deposits: {} used in {} cells ({} outside the grid, {} outside the study area)",
                m.deposits.used, m.deposits.cells, m.deposits.outside_grid, m.deposits.outside_study_area
            );
            let model = m.model_kind.name();
            if let Some(t) = m.fit.training() {
                println!(
                    "  model: {model}; trained on {} positive and {} negative cells, {} features",
                    t.positives,
                    t.negatives,
                    m.features.len()
                );
            } else {
                println!("  model: {model}; {} features", m.features.len());
            }
            if let lode::model::FitReport::Wofe(w) = &m.fit {
                let ci = &w.conditional_independence.overall;
                println!(
                    "  conditional independence: observed/predicted deposits {:.3}, Agterberg-Cheng p = {:.4}{}",
                    ci.ratio,
                    ci.agterberg_cheng_p,
                    if ci.independence_doubtful { " (doubtful: see metrics.json)" } else { "" }
                );
            }
            println!(
                "  map: {} cells scored, {} study-area cells without evidence",
                m.prediction.scored_cells, m.prediction.cells_without_evidence
            );
            for c in &m.coverage {
                println!("  coverage: {} {}", c.name, lode::coverage::describe(c));
            }
            // Held-out figures first, the fitted ones labelled: the report prints the same lines.
            for line in lode::report::headline(m) {
                println!("  {line}");
            }
            for w in &m.warnings {
                println!("  WARNING: {w}");
            }
            if let Some(t) = &m.targets {
                println!(
                    "  targets: {} areas of at least {} km² from {} cells scoring >= {} ({} = {})",
                    t.polygons - t.dropped_small,
                    t.min_area_km2,
                    t.target_cells,
                    lode::styles::short(t.threshold),
                    t.rule,
                    t.rule_value
                );
            }
            for p in &report.outputs {
                println!("  wrote {}", p.display());
            }
        }
        Command::Init { preset, dir, example } => {
            let config =
                lode::presets::init(&preset, &dir, example).with_context(|| format!("lode init {}", dir.display()))?;
            let p = lode::presets::find(&preset)?;
            println!("wrote {} ({})", config.display(), p.summary);
            if example {
                println!(
                    "  with a SYNTHETIC example scene under {} (not real data): lode run {}",
                    dir.join("evidence").display(),
                    config.display()
                );
            } else {
                println!(
                    "  put the evidence layers it names under {} (see {}), then: lode validate {}",
                    dir.join("evidence").display(),
                    dir.join("README.md").display(),
                    config.display()
                );
            }
        }
        Command::Targets { run_dir, top_percent, probability, min_area_km2 } => {
            let rule = match (top_percent, probability) {
                (Some(p), _) => lode::redraw::Rule::TopPercent(p),
                (None, Some(p)) => lode::redraw::Rule::Probability(p),
                (None, None) => anyhow::bail!("give --top-percent or --probability"),
            };
            let r = lode::redraw::redraw(&run_dir, rule, min_area_km2)
                .with_context(|| format!("lode targets {}", run_dir.display()))?;
            let t = &r.targets.summary;
            println!(
                "  targets: {} areas of at least {} km² from {} cells scoring >= {} ({} = {}), {} without a known deposit",
                r.targets.targets.len(),
                t.min_area_km2,
                t.target_cells,
                lode::styles::short(t.threshold),
                t.rule,
                t.rule_value,
                t.greenfield
            );
            for p in &r.outputs {
                println!("  wrote {}", p.display());
            }
        }
        Command::Predict { config, model, threads } => {
            let report = lode::predict(&config, &model, threads)
                .with_context(|| format!("lode predict {} --model {}", config.display(), model.display()))?;
            println!("  AUC: {:.4}", report.metrics.auc);
            for p in &report.outputs {
                println!("  wrote {}", p.display());
            }
        }
        Command::Plan { config, tiles, engine, out, partition, account, mem, time, threads, lode: binary } => {
            let resources = lode::cluster::Resources { partition, account, memory: mem, time, threads, lode: binary };
            let (plan, files) = lode::cluster::plan(&config, tiles, engine, &resources, &out)
                .with_context(|| format!("lode plan {}", config.display()))?;
            println!(
                "plan {}: {} tiles of {} windows ({} x {} cells)",
                &plan.hash[..12],
                plan.tiles.len(),
                plan.windows,
                plan.cols,
                plan.rows
            );
            for p in files {
                println!("  wrote {}", p.display());
            }
        }
        Command::Fit { run_dir, threads } => {
            let p = lode::cluster::fit(&run_dir, threads).with_context(|| format!("lode fit {}", run_dir.display()))?;
            println!("  wrote {}", p.display());
        }
        Command::Prepare { run_dir, index, threads } => {
            per_tile_task("prepare", &run_dir, index, threads, lode::cluster::prepare)?
        }
        Command::Tile { run_dir, index, threads } => {
            per_tile_task("tile", &run_dir, index, threads, lode::cluster::tile)?
        }
        Command::Mosaic { run_dir, threads } => {
            let report =
                lode::mosaic(&run_dir, threads).with_context(|| format!("lode mosaic {}", run_dir.display()))?;
            println!("  AUC: {:.4}", report.metrics.auc);
            for p in &report.outputs {
                println!("  wrote {}", p.display());
            }
        }
        Command::Synth { cols, rows, seed, intercept, out_dir } => {
            let spec = lode::synth::SceneSpec { cols, rows, seed, intercept };
            let n =
                lode::synth::generate(&spec, &out_dir).with_context(|| format!("lode synth {}", out_dir.display()))?;
            println!("wrote a {cols} x {rows} scene with {n} deposits to {}", out_dir.display());
        }
        Command::Validate { config } => {
            let r = lode::validate(&config).with_context(|| format!("lode validate {}", config.display()))?;
            let g = &r.grid;
            println!("config {} is valid", config.display());
            println!(
                "  grid: {} x {} cells of {} in {}, bounds [{}, {}, {}, {}]",
                g.cols, g.rows, g.cell_size, g.crs, g.bounds[0], g.bounds[1], g.bounds[2], g.bounds[3]
            );
            println!("  study area: {}", r.mask);
            for (l, c) in r.layers.iter().zip(&r.coverage) {
                println!("  evidence: {l}; covers {}", lode::coverage::describe(c));
            }
            let d = &r.deposits;
            println!(
                "  deposits: {} read, {} inside the study area in {} cells ({} outside the grid, {} outside the study area)",
                d.read, d.used, d.cells, d.outside_grid, d.outside_study_area
            );
            println!("  output: {}", r.output_dir.display());
        }
        Command::Weights { evidence, deposits, method, unit_cell_km2, confidence, missing, mask, out } => {
            let req = lode::WeightsRequest { evidence, deposits, method, unit_cell_km2, confidence, missing, mask };
            let rows = lode::weights(&req).with_context(|| format!("lode weights {}", req.evidence.display()))?;
            lode::wofe::write_table(&out, &rows)?;
            let gen = rows.iter().filter(|r| r.gen_class == 2).count();
            println!(
                "{} classes weighed ({}), {} in the favourable pattern; wrote {}",
                rows.len(),
                method.as_str(),
                gen,
                out.display()
            );
        }
        Command::Evaluate { map, deposits, mask, out } => {
            let e = lode::evaluate(&map, &deposits, mask.as_deref())
                .with_context(|| format!("lode evaluate {}", map.display()))?;
            println!("AUC: {:.6} ({} deposits against {} scored cells)", e.auc, e.deposits_scored, e.scored_cells);
            if let Some(out) = out {
                let tmp = out.with_extension("json.partial");
                std::fs::write(&tmp, serde_json::to_string_pretty(&e)? + "\n")?;
                std::fs::rename(&tmp, &out)?;
            }
        }
    }
    Ok(())
}

/// The array task index the scheduler gives (SLURM, PBS Pro, Torque).
fn array_index() -> Option<usize> {
    ["SLURM_ARRAY_TASK_ID", "PBS_ARRAY_INDEX", "PBS_ARRAYID"]
        .iter()
        .find_map(|k| std::env::var(k).ok().and_then(|v| v.parse().ok()))
}

/// `lode prepare` and `lode tile`: one task of a plan's array, `stage`, for the tile
/// `index` (or the array task's own index); prints the file it wrote.
fn per_tile_task(
    stage: &str,
    run_dir: &std::path::Path,
    index: Option<usize>,
    threads: Option<usize>,
    task: fn(&std::path::Path, usize, Option<usize>) -> lode::Result<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let Some(index) = index.or_else(array_index) else {
        anyhow::bail!("lode {stage}: give the tile index (or run it as an array task)");
    };
    let p = task(run_dir, index, threads).with_context(|| format!("lode {stage} {} {index}", run_dir.display()))?;
    println!("  wrote {}", p.display());
    Ok(())
}
