//! The launchers of a plan: the scripts a user submits to their scheduler.
//!
//! - `slurm`: `prepare.sbatch` (an array job, one task per tile: the grid-wide passes over
//!   its windows), `fit.sbatch`, `tile.sbatch` (an array job, one task per tile),
//!   `mosaic.sbatch` and `submit.sh`, which submits the four chained with
//!   `--dependency=afterok` (a failed stage cancels the ones after it:
//!   `--kill-on-invalid-dep=yes`);
//! - `pbs`: the same for PBS Pro (`qsub -J 0-N` array jobs, `-W depend=afterok:`);
//! - `list`: `commands.txt`, four groups of plain commands (every prepare task, in any
//!   order or in parallel; fit; every tile, likewise; mosaic) for GNU parallel, a
//!   Kubernetes Indexed Job, AWS Batch arrays.
//!
//! Every script names the lode binary that wrote it (override with `LODE=/path/to/lode`)
//! and the run folder by absolute path, so it runs from any folder of a shared file system.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{write_atomic, Plan};
use crate::error::{Error, Result};

/// Which launcher to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SLURM: sbatch scripts chained with `afterok`.
    Slurm,
    /// PBS Pro: qsub scripts, the tiles as an array job.
    Pbs,
    /// A plain command list.
    List,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Engine, String> {
        match s {
            "slurm" => Ok(Engine::Slurm),
            "pbs" => Ok(Engine::Pbs),
            "list" => Ok(Engine::List),
            other => Err(format!("`{other}`: expected slurm, pbs or list")),
        }
    }
}

/// What every job asks the scheduler for (written into the scripts).
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// SLURM partition or PBS queue.
    pub partition: Option<String>,
    /// Account (project) charged.
    pub account: Option<String>,
    /// Memory per job, e.g. `8G`.
    pub memory: Option<String>,
    /// Wall time per job, e.g. `02:00:00`.
    pub time: Option<String>,
    /// Threads per job (also `--threads` of every stage); default the config's.
    pub threads: Option<usize>,
    /// The lode binary the scripts call; default this one.
    pub lode: Option<PathBuf>,
}

/// Quotes `s` for a POSIX shell.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Writes the launcher of `engine` for `plan` into `run_dir`; returns the files.
pub fn write(plan: &Plan, engine: Engine, r: &Resources, run_dir: &Path) -> Result<Vec<PathBuf>> {
    let lode = match &r.lode {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| Error::output(run_dir, e))?,
    };
    let run = run_dir.to_string_lossy().into_owned();
    let lode = lode.to_string_lossy().into_owned();
    let threads = plan.threads;
    let last = plan.tiles.len() - 1;
    let stage = |cmd: &str| format!("\"$LODE\" {cmd} {} --threads {threads}", sh(&run));
    let header = format!(
        "# lode tiled run: plan {}, {} tiles of {} windows (see plan.json)\nLODE=${{LODE:-{}}}\n",
        &plan.hash[..12],
        plan.tiles.len(),
        plan.windows,
        sh(&lode)
    );
    super::create_dir(&run_dir.join("logs"))?;
    let files: Vec<(&str, String)> = match engine {
        Engine::Slurm => {
            let mut common = String::new();
            let cpus = if threads > 0 { threads.to_string() } else { "1".to_string() };
            writeln!(common, "#SBATCH --cpus-per-task={cpus}").ok();
            for (flag, v) in
                [("partition", &r.partition), ("account", &r.account), ("mem", &r.memory), ("time", &r.time)]
            {
                if let Some(v) = v {
                    writeln!(common, "#SBATCH --{flag}={v}").ok();
                }
            }
            let job = |name: &str, extra: &str, log: &str, cmd: String| {
                format!(
                    "#!/bin/sh\n#SBATCH --job-name=lode-{name}\n{common}{extra}#SBATCH --output={}/logs/{log}\n{header}set -eu\nexec {cmd}\n",
                    run
                )
            };
            let submit = format!(
                "#!/bin/sh\n# Submits the run: the {n} prepare tasks as one array job, then the fit, then the\n\
                 # {n} tiles as one array job, then the mosaic. Prints the four job ids.\n\
                 # Rerun one failed tile: sbatch --array=I {tile} (a failed prepare task likewise\n\
                 # with {prepare}, then the stages after it).\n\
                 set -eu\ncd {dir}\n\
                 prepare=$(sbatch --parsable --array=0-{last} prepare.sbatch)\n\
                 fit=$(sbatch --parsable --dependency=afterok:$prepare --kill-on-invalid-dep=yes fit.sbatch)\n\
                 tiles=$(sbatch --parsable --array=0-{last} --dependency=afterok:$fit --kill-on-invalid-dep=yes tile.sbatch)\n\
                 mosaic=$(sbatch --parsable --dependency=afterok:$tiles --kill-on-invalid-dep=yes mosaic.sbatch)\n\
                 echo \"$prepare $fit $tiles $mosaic\"\n",
                n = plan.tiles.len(),
                tile = sh(&format!("{run}/tile.sbatch")),
                prepare = sh(&format!("{run}/prepare.sbatch")),
                dir = sh(&run),
            );
            vec![
                (
                    "prepare.sbatch",
                    job("prepare", "", "prepare-%a-%A.out", format!("{} \"$SLURM_ARRAY_TASK_ID\"", stage("prepare"))),
                ),
                ("fit.sbatch", job("fit", "", "fit-%j.out", stage("fit"))),
                (
                    "tile.sbatch",
                    job("tile", "", "tile-%a-%A.out", format!("{} \"$SLURM_ARRAY_TASK_ID\"", stage("tile"))),
                ),
                ("mosaic.sbatch", job("mosaic", "", "mosaic-%j.out", stage("mosaic"))),
                ("submit.sh", submit),
            ]
        }
        Engine::Pbs => {
            let mut common = String::new();
            let cpus = if threads > 0 { threads } else { 1 };
            let mut select = format!("select=1:ncpus={cpus}");
            if let Some(m) = &r.memory {
                write!(select, ":mem={}", m.to_lowercase().trim_end_matches('b').to_string() + "b").ok();
            }
            writeln!(common, "#PBS -l {select}").ok();
            if let Some(t) = &r.time {
                writeln!(common, "#PBS -l walltime={t}").ok();
            }
            if let Some(q) = &r.partition {
                writeln!(common, "#PBS -q {q}").ok();
            }
            if let Some(a) = &r.account {
                writeln!(common, "#PBS -A {a}").ok();
            }
            let job = |name: &str, extra: &str, cmd: String| {
                format!(
                    "#!/bin/sh\n#PBS -N lode-{name}\n{common}{extra}#PBS -j oe\n#PBS -o {run}/logs/\n{header}set -eu\nexec {cmd}\n"
                )
            };
            let submit = format!(
                "#!/bin/sh\n# Submits the run: the {n} prepare tasks as one array job, then the fit, then the\n\
                 # {n} tiles as one array job, then the mosaic. Prints the four job ids. Rerun one failed\n\
                 # tile (or prepare task): qsub -J I-I:1 ... or run its line of the list engine directly.\n\
                 set -eu\ncd {dir}\n\
                 prepare=$(qsub prepare.pbs)\n\
                 fit=$(qsub -W depend=afterok:$prepare fit.pbs)\n\
                 tiles=$(qsub -W depend=afterok:$fit tile.pbs)\n\
                 mosaic=$(qsub -W depend=afterok:$tiles mosaic.pbs)\n\
                 echo \"$prepare $fit $tiles $mosaic\"\n",
                n = plan.tiles.len(),
                dir = sh(&run),
            );
            // PBS Pro refuses an array of one subjob: a one-tile plan runs its tile as a plain job.
            let (array, index) =
                if last > 0 { (format!("#PBS -J 0-{last}\n"), "\"$PBS_ARRAY_INDEX\"") } else { (String::new(), "0") };
            vec![
                ("prepare.pbs", job("prepare", &array, format!("{} {index}", stage("prepare")))),
                ("fit.pbs", job("fit", "", stage("fit"))),
                ("tile.pbs", job("tile", &array, format!("{} {index}", stage("tile")))),
                ("mosaic.pbs", job("mosaic", "", stage("mosaic"))),
                ("submit.sh", submit),
            ]
        }
        Engine::List => {
            let mut text = format!(
                "# lode tiled run, plan {}: run the lines of each group; a group starts when the\n\
                 # one before it has finished. The lines of groups 1 and 3 are independent (any\n\
                 # order, in parallel). LODE={lode}\n# group 1: prepare\n",
                &plan.hash[..12]
            );
            let bare = |cmd: &str| format!("{} {cmd} {} --threads {threads}", sh(&lode), sh(&run));
            for t in &plan.tiles {
                writeln!(text, "{} {}", bare("prepare"), t.index).ok();
            }
            writeln!(text, "# group 2: fit\n{}", bare("fit")).ok();
            writeln!(text, "# group 3: tiles").ok();
            for t in &plan.tiles {
                writeln!(text, "{} {}", bare("tile"), t.index).ok();
            }
            writeln!(text, "# group 4: mosaic\n{}", bare("mosaic")).ok();
            vec![("commands.txt", text)]
        }
    };
    let mut written = Vec::new();
    for (name, text) in files {
        let path = run_dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        if !crate::io::is_virtual(&path)
            && (name.ends_with(".sh") || name.ends_with(".sbatch") || name.ends_with(".pbs"))
        {
            make_executable(&path)?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| Error::output(path, e))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}
