//! The run manifest (`manifest.json`): everything needed to say what produced a set of
//! outputs and to run it again. The resolved config (every path absolute, every
//! default filled in) as JSON and as TOML text, the SHA-256 of every input file (all
//! files of a multi-file set, e.g. a Shapefile's `.shp .shx .dbf .prj .cpg`, and GDAL
//! sidecars such as `.aux.xml`), the grid, the seed, lode's and GDAL's versions, the
//! seconds per stage and the SHA-256 of every output written before it.
//!
//! To rerun: `jq -r .config_toml manifest.json > rerun.toml && lode run rerun.toml`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{RawConfig, Settings};
use crate::error::{Error, Result};
use crate::grid::GridInfo;

/// One input file and its checksum.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// The config key that names it (`labels.path`, `evidence[2].path`, ...).
    pub key: String,
    /// The file (absolute when the config's path was).
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// What `manifest.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// lode's version.
    pub lode_version: String,
    /// GDAL's version.
    pub gdal_version: String,
    /// The config file that was run.
    pub config_path: PathBuf,
    /// SHA-256 of its bytes.
    pub config_sha256: String,
    /// The resolved config (paths absolute, defaults filled in).
    pub config: RawConfig,
    /// The same as TOML text: write it to a file to run again.
    pub config_toml: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// The grid.
    pub grid: GridInfo,
    /// Every input file with its checksum.
    pub inputs: Vec<InputFile>,
    /// Every output written before the manifest (name, SHA-256).
    pub outputs: Vec<(String, String)>,
    /// Seconds per stage.
    pub timings_s: Vec<(String, f64)>,
}

impl Manifest {
    /// Adds the outputs in `staged` not listed yet (written after the manifest was built).
    pub fn add_outputs(&mut self, staged: &[(String, PathBuf)]) -> Result<()> {
        for (name, p) in staged {
            if name != "manifest.json" && !self.outputs.iter().any(|o| &o.0 == name) {
                self.outputs.push((name.clone(), sha256_file(p)?.1));
            }
        }
        Ok(())
    }
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::input(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(|e| Error::input(path, e))?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, format!("{:x}", h.finalize())))
}

/// The files that make up the input `path`: the file itself, the files beside it with
/// the same stem and another extension (a Shapefile set), files named `path.*` (GDAL
/// sidecars such as `.aux.xml`, `.ovr`), or every file under it when it is a folder.
pub fn file_set(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut out = Vec::new();
        let mut stack = vec![path.to_path_buf()];
        while let Some(d) = stack.pop() {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        out.push(p);
                    }
                }
            }
        }
        out.sort();
        return out;
    }
    let mut out = vec![path.to_path_buf()];
    let Some(dir) = path.parent() else { return out };
    if let Ok(rd) = std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) {
        for e in rd.flatten() {
            let other = e.file_name().to_string_lossy().into_owned();
            if e.path().is_file() && in_set(path, &other) {
                out.push(dir.join(other));
            }
        }
    }
    out[1..].sort();
    out
}

/// Whether the file `other` beside `path` belongs to its set: a sidecar `path.*`, or a
/// file of the same Shapefile.
fn in_set(path: &Path, other: &str) -> bool {
    let (Some(name), Some(stem)) = (path.file_name(), path.file_stem()) else { return false };
    let (name, stem) = (name.to_string_lossy(), stem.to_string_lossy());
    if other == name {
        return false;
    }
    let is_shapefile = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp"));
    let sidecar = other.starts_with(&format!("{name}."));
    let same_set = is_shapefile
        && Path::new(other).file_stem().is_some_and(|s| s.to_string_lossy() == stem)
        && !other[stem.len()..].contains(".shp.");
    sidecar || same_set
}

/// [`file_set`] of a remote GDAL path (`/vsis3/`, `/vsicurl/`): every object under it when
/// it is a prefix (a FileGDB folder), else the file and its set beside it, as far as the
/// store lists its folders (`/vsicurl/` of a server without listings: the file alone).
fn remote_file_set(path: &Path) -> Vec<PathBuf> {
    let under = crate::io::vsi::files_under(path);
    if !under.is_empty() {
        return under.iter().map(|n| path.join(n)).collect();
    }
    let mut out = vec![path.to_path_buf()];
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return out };
    let mut listed = crate::io::vsi::read_dir(dir);
    if listed.is_empty() {
        // A server that lists no folders (plain HTTP): the set's usual members, probed.
        let name = name.to_string_lossy();
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let shapefile = ["shx", "dbf", "prj", "cpg", "sbn", "sbx", "qix", "qpj"].map(|e| format!("{stem}.{e}"));
        let sidecars = ["aux.xml", "ovr", "msk"].map(|e| format!("{name}.{e}"));
        listed = shapefile
            .into_iter()
            .chain(sidecars)
            .filter(|o| in_set(path, o) && crate::io::vsi::exists(&dir.join(o)))
            .collect();
    }
    let mut others: Vec<PathBuf> = listed.into_iter().filter(|o| in_set(path, o)).map(|o| dir.join(o)).collect();
    others.sort();
    out.extend(others);
    out
}

/// `p` made absolute (symbolic links and `..` resolved when the file exists).
fn absolute(p: &Path) -> PathBuf {
    if crate::io::is_virtual(p) {
        return p.to_path_buf();
    }
    std::fs::canonicalize(p).unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// The config with every path absolute, so that it runs from any folder.
pub fn absolute_config(raw: &RawConfig) -> RawConfig {
    let mut raw = raw.clone();
    raw.grid.template = raw.grid.template.as_deref().map(absolute);
    raw.grid.mask = raw.grid.mask.as_deref().map(absolute);
    if let Some(l) = &mut raw.labels {
        l.path = absolute(&l.path);
    }
    for ev in &mut raw.evidence {
        ev.path = absolute(&ev.path);
    }
    raw.output.dir = absolute(&raw.output.dir);
    raw
}

/// Every file the inputs of `settings` are made of (paths absolute), once each, with the
/// key that names it: what the manifest hashes.
fn input_files(settings: &Settings) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (key, path) in &settings.inputs {
        let (key, path) = (key.clone(), absolute(path));
        // GDAL virtual paths: the local archive they read, or the remote object's set.
        let set = if crate::io::is_virtual(&path) {
            match crate::io::local_archive(&path) {
                Some(a) => vec![a],
                None => remote_file_set(&path),
            }
        } else {
            file_set(&path)
        };
        files.extend(set.into_iter().filter(|p| seen.insert(p.clone())).map(|p| (key.clone(), p)));
    }
    files
}

/// What a file looks like without reading it: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time: seconds and nanoseconds since 1970 (object storage: its
    /// `Last-Modified`, to the second).
    pub modified: (i64, i64),
}

/// Every input file of `settings` (as the manifest lists them) with its [`Stamp`]: what a
/// tiled run's stages compare with the plan's instead of hashing every input again. A
/// file that cannot be looked at has no stamp (`None`).
pub fn stamps(settings: &Settings) -> Vec<(PathBuf, Option<Stamp>)> {
    input_files(settings)
        .into_iter()
        .map(|(_, p)| {
            let stamp = crate::io::vsi::stat(&p).map(|(bytes, modified)| Stamp { bytes, modified });
            (p, stamp)
        })
        .collect()
}

/// Every input file of `settings` with its size and SHA-256 (read in full: remote ones
/// streamed through GDAL), for the manifest.
pub fn hash_inputs(settings: &Settings) -> Result<Vec<InputFile>> {
    use rayon::prelude::*;
    // One file per worker at a time (in the list's order in the result).
    input_files(settings)
        .into_par_iter()
        .map(|(key, p)| {
            // Remote files (`/vsis3/`, `/vsicurl/`, ...) streamed through GDAL.
            let (bytes, sha256) = match crate::io::is_virtual(&p) {
                true => crate::io::vsi::sha256(&p)?,
                false => sha256_file(&p)?,
            };
            Ok(InputFile { key, path: p, bytes, sha256 })
        })
        .collect()
}

/// Builds the manifest: `inputs` from [`hash_inputs`], `outputs` the files already
/// written (name, path).
pub fn build(
    settings: &Settings,
    inputs: Vec<InputFile>,
    outputs: &[(String, PathBuf)],
    timings: &[(String, f64)],
) -> Result<Manifest> {
    let config = absolute_config(&settings.resolved);
    use rayon::prelude::*;
    let outputs =
        outputs.par_iter().map(|(name, p)| Ok((name.clone(), sha256_file(p)?.1))).collect::<Result<Vec<_>>>()?;
    let config_toml = toml::to_string(&config).map_err(|e| Error::output("manifest.json", e))?;
    Ok(Manifest {
        lode_version: crate::metrics::VERSION.to_string(),
        gdal_version: crate::io::gdal_version(),
        config_path: absolute(&settings.config_path),
        config_sha256: settings.config_sha256.clone(),
        config,
        config_toml,
        seed: settings.seed,
        grid: settings.grid.info(),
        inputs,
        outputs,
        timings_s: timings.to_vec(),
    })
}
