//! The output folder as one transaction. A run takes a lock on the folder (`.lode-lock`,
//! an flock the kernel releases even when the process is killed), writes every output
//! into a hidden staging folder, and on success replaces the set of files the previous
//! run wrote (listed in `.lode-outputs`) with the new set as a whole. Files lode did not
//! write are never touched. A commit is journalled (`.lode-commit`): one cut short by
//! SIGKILL or power loss is rolled forward by the next run that takes the lock, which also
//! removes staging folders left behind. SIGINT and SIGTERM remove the staging folder and
//! exit with 130 and 143 ([`install_signal_handlers`]).
//!
//! An output folder on object storage (`/vsis3/bucket/prefix`, any GDAL virtual file
//! system that writes) is staged in a local temporary folder (`TMPDIR`) and published
//! object by object through GDAL ([`crate::io::vsi`]): the previous run's `manifest.json`
//! is removed first, then every new output is uploaded, then the record, then the new
//! manifest last, then the previous run's outputs this run did not write again are
//! removed. A reader that takes a folder with a manifest for a finished run never sees a
//! half-published one; a run that fails or is killed before its commit publishes nothing.
//! Object stores have no locks: two runs writing to the same prefix at once are not
//! refused there (give each run a prefix of its own).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::config::Settings;
use crate::error::{Error, Result};

/// The lock file in the output folder; it holds a line naming the run that holds it.
pub const LOCK: &str = ".lode-lock";
/// The names of the files the last committed run wrote, one per line.
pub const RECORD: &str = ".lode-outputs";
/// The journal of a commit in progress.
const JOURNAL: &str = ".lode-commit";
/// Prefix of staging folders.
pub const STAGING_PREFIX: &str = ".lode-staging-";
/// Prefix of the folder the previous set is moved into during a commit.
const OLD_PREFIX: &str = ".lode-old-";
/// The folder inside the staging folder that holds its scratch files.
const SCRATCH: &str = "scratch";

/// Staging folders of this process (with the output folder when the run created it),
/// removed by the signal handler. Its lock is also held through a commit, so a signal
/// never cuts one short.
static LIVE: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM: removes this process's staging folders and exits with 128 +
/// the signal (130, 143). Waits for a commit in progress to finish first. Call once.
pub fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| Error::key("signals", e.to_string()))?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
            for (staging, created) in live.iter() {
                // The other threads are still running and may be creating files in the
                // staging folder (a GDAL writer mid-window): removal can then fail with
                // "directory not empty"; try again until the folder is gone.
                for _ in 0..50 {
                    if std::fs::remove_dir_all(staging).is_ok() || !staging.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                if let Some(dir) = created {
                    let _ = std::fs::remove_file(dir.join(LOCK));
                    let _ = std::fs::remove_dir(dir);
                }
            }
            eprintln!("lode: interrupted ({}); no output written", if sig == SIGINT { "SIGINT" } else { "SIGTERM" });
            // `_exit`, not `exit`: the other threads are still inside GDAL, and the exit
            // handlers (GDAL's driver teardown among them) would pull it from under them
            // (a SIGTERM during fitting crashed with SIGSEGV). The staging folder is gone
            // and nothing else needs flushing: stderr is unbuffered.
            // SAFETY: `_exit` ends the process at once; no Rust state is observed after it.
            unsafe { libc::_exit(128 + sig) }
        }
    });
    Ok(())
}

/// Refuses an output folder that would overwrite or delete an input: `output.dir` must not
/// contain any input file (nor be the config's folder when inputs lie in it), must not
/// climb above the file system root, and its nearest existing ancestor must be a folder.
pub fn check_dir(settings: &Settings) -> Result<()> {
    let dir = &settings.output.dir;
    if crate::io::is_virtual(dir) {
        return check_remote_dir(settings);
    }
    if dir.components().any(|c| c == Component::ParentDir) {
        return Err(Error::key(
            "output.dir",
            format!("`{}` climbs above the file system root", settings.output.dir.display()),
        ));
    }
    let absolute = absolute(dir);
    if let Some(existing) = absolute.ancestors().find(|a| a.exists()) {
        if !existing.is_dir() {
            return Err(Error::key(
                "output.dir",
                format!("`{}` cannot be a folder: {} is a file", dir.display(), existing.display()),
            ));
        }
    }
    for (key, path) in &settings.inputs {
        let input = absolute_existing(path);
        if input.starts_with(&absolute) {
            return Err(Error::key(
                "output.dir",
                format!(
                    "`{}` holds the input {} (`{key}`); a run replaces files in its output folder: \
                     write the outputs to a folder of their own",
                    dir.display(),
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// [`check_dir`] of an output folder on a GDAL virtual file system: no input under it.
fn check_remote_dir(settings: &Settings) -> Result<()> {
    let dir = settings.output.dir.to_string_lossy().trim_end_matches('/').to_string();
    for (key, path) in &settings.inputs {
        let input = path.to_string_lossy();
        if input == dir || input.starts_with(&format!("{dir}/")) {
            return Err(Error::key(
                "output.dir",
                format!(
                    "`{dir}` holds the input {input} (`{key}`); a run replaces objects under its output \
                     prefix: write the outputs to a prefix of their own"
                ),
            ));
        }
    }
    Ok(())
}

/// `p` absolute, symbolic links resolved in its longest existing part.
fn absolute_existing(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| absolute(p))
}

/// `p` absolute with its existing ancestor canonicalized (the rest appended as is).
fn absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    for a in abs.ancestors() {
        if let Ok(c) = std::fs::canonicalize(a) {
            return c.join(abs.strip_prefix(a).unwrap_or(Path::new("")));
        }
    }
    abs
}

/// A staging folder whose files replace the previous run's outputs on [`Staging::commit`].
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    staging: PathBuf,
    created_dir: bool,
    files: Vec<String>,
    committed: bool,
    /// Whether `dir` is on a GDAL virtual file system (published through [`crate::io::vsi`]).
    remote: bool,
    /// Holds the flock while the run lasts (none on object storage).
    _lock: Option<File>,
}

impl Staging {
    /// Creates `dir` if needed, takes its lock (an error naming the holder when another run
    /// has it), cleans up after an interrupted run, and makes a fresh staging folder.
    pub fn new(dir: &Path) -> Result<Staging> {
        if crate::io::is_virtual(dir) {
            return Staging::new_remote(dir);
        }
        let created_dir = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        let lock = take_lock(dir)?;
        recover(dir)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let staging = dir.join(format!("{STAGING_PREFIX}{}-{stamp}", std::process::id()));
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        std::fs::create_dir(&staging).map_err(|e| Error::output(&staging, e))?;
        live.push((staging.clone(), created_dir.then(|| dir.to_path_buf())));
        let scratch = staging.join(SCRATCH);
        std::fs::create_dir(&scratch).map_err(|e| Error::output(&scratch, e))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            staging,
            created_dir,
            files: Vec::new(),
            committed: false,
            remote: false,
            _lock: Some(lock),
        })
    }

    /// A local staging folder in `TMPDIR` for the output folder `dir` on object storage.
    fn new_remote(dir: &Path) -> Result<Staging> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let staging = std::env::temp_dir().join(format!("{STAGING_PREFIX}{}-{stamp}", std::process::id()));
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        std::fs::create_dir_all(&staging).map_err(|e| Error::output(&staging, e))?;
        live.push((staging.clone(), None));
        let scratch = staging.join(SCRATCH);
        std::fs::create_dir(&scratch).map_err(|e| Error::output(&scratch, e))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            staging,
            created_dir: false,
            files: Vec::new(),
            committed: false,
            remote: true,
            _lock: None,
        })
    }
    /// Where to write the output `name` while the run lasts; it is published on commit.
    pub fn path(&mut self, name: &str) -> PathBuf {
        if !self.files.iter().any(|f| f == name) {
            self.files.push(name.to_string());
        }
        self.staging.join(name)
    }

    /// The outputs staged so far: (name, path in the staging folder).
    pub fn staged(&self) -> Vec<(String, PathBuf)> {
        self.files.iter().map(|f| (f.clone(), self.staging.join(f))).collect()
    }

    /// A scratch path that is never published: `name` in a folder of its own inside the
    /// staging folder (so a map's scratch copy has the map's own file name).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.staging.join(SCRATCH).join(name)
    }

    /// Writes `value` as pretty JSON to the output `name`.
    pub fn write_json(&mut self, name: &str, value: &impl serde::Serialize) -> Result<PathBuf> {
        let path = self.path(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| Error::output(&path, e))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::output(&path, e))?;
        Ok(path)
    }

    /// Stages every output of the previous set that this run did not write again (hard
    /// links, or copies across file systems), so that a run that rewrites part of a finished
    /// run (`lode targets`) still commits a complete set. Call it after the last write.
    pub fn carry_over_previous(&mut self) -> Result<()> {
        for name in read_record(&self.dir) {
            if self.files.contains(&name) {
                continue;
            }
            let (from, to) = (self.dir.join(&name), self.staging.join(&name));
            if self.remote {
                if crate::io::vsi::exists(&from) {
                    create_parent(&to)?;
                    crate::io::vsi::copy(&from, &to)?;
                    self.files.push(name);
                }
                continue;
            }
            if !from.exists() {
                continue;
            }
            create_parent(&to)?;
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(|e| Error::output(&to, e))?;
            }
            self.files.push(name);
        }
        Ok(())
    }

    /// Replaces the previous run's outputs with the staged ones as a whole (journalled, see
    /// the module docs) and removes the staging folder. Returns the final paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        if self.remote {
            self.publish()?;
            let _ = std::fs::remove_dir_all(&self.staging);
            live.retain(|(s, _)| s != &self.staging);
            self.committed = true;
            return Ok(self.files.iter().map(|n| self.dir.join(n)).collect());
        }
        let old = read_record(&self.dir);
        let journal = Journal {
            staging: name_of(&self.staging),
            old_dir: format!("{OLD_PREFIX}{}", &name_of(&self.staging)[STAGING_PREFIX.len()..]),
            old: old.into_iter().collect(),
            new: self.files.clone(),
        };
        let old_dir = self.dir.join(&journal.old_dir);
        std::fs::create_dir(&old_dir).map_err(|e| Error::output(&old_dir, e))?;
        write_atomic(&self.dir.join(JOURNAL), &serde_json::to_vec(&journal).expect("plain data"))?;
        let moved = journal.old.iter().try_for_each(|name| {
            let from = self.dir.join(name);
            match from.exists() {
                true => {
                    let to = old_dir.join(name);
                    create_parent(&to)?;
                    std::fs::rename(&from, &to).map_err(|e| Error::output(&from, e))
                }
                false => Ok(()),
            }
        });
        if let Err(e) = moved.and_then(|_| roll_forward(&self.dir, &journal)) {
            // Put back what was moved so the previous set stays whole (the new set is dropped).
            for name in journal.new.iter().filter(|n| !journal.old.contains(n)) {
                let _ = std::fs::remove_file(self.dir.join(name));
            }
            for name in &journal.old {
                let _ = std::fs::rename(old_dir.join(name), self.dir.join(name));
            }
            let _ = std::fs::remove_file(self.dir.join(JOURNAL));
            let _ = std::fs::remove_dir_all(&old_dir);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old_dir);
        std::fs::remove_dir_all(&self.staging).map_err(|e| Error::output(&self.staging, e))?;
        live.retain(|(s, _)| s != &self.staging);
        self.committed = true;
        Ok(self.files.iter().map(|n| self.dir.join(n)).collect())
    }
}

impl Staging {
    /// The commit of an output folder on object storage: the previous manifest removed,
    /// every new output uploaded, the record, the manifest last, then the previous run's
    /// outputs not written again removed (see the module docs).
    fn publish(&self) -> Result<()> {
        use crate::io::vsi;
        let old = read_record(&self.dir);
        vsi::remove(&self.dir.join("manifest.json"))?;
        let manifest = self.files.iter().find(|n| n.as_str() == "manifest.json");
        for name in self.files.iter().filter(|n| n.as_str() != "manifest.json") {
            vsi::copy(&self.staging.join(name), &self.dir.join(name))?;
        }
        let record: String = self.files.iter().map(|n| format!("{n}\n")).collect();
        vsi::write(&self.dir.join(RECORD), record.as_bytes())?;
        if let Some(name) = manifest {
            vsi::copy(&self.staging.join(name), &self.dir.join(name))?;
        }
        for name in old.iter().filter(|n| !self.files.contains(n)) {
            vsi::remove(&self.dir.join(name))?;
        }
        vsi::forget(&self.dir);
        Ok(())
    }
}

/// What a commit in progress does: written before the first file moves.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Journal {
    /// The staging folder holding the complete new set.
    staging: String,
    /// Where the previous set is moved.
    old_dir: String,
    /// The previous set.
    old: Vec<String>,
    /// The new set.
    new: Vec<String>,
}

/// Creates the folder an output in a subfolder (`stac/item.json`) goes into.
fn create_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|p| !p.exists()) {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e)),
        None => Ok(()),
    }
}

/// Finishes a journalled commit: removes what is left of the old set, moves what is left
/// of the new one in, writes the record and removes the journal.
fn roll_forward(dir: &Path, j: &Journal) -> Result<()> {
    for name in &j.old {
        let p = dir.join(name);
        if !j.new.contains(name) && p.exists() {
            std::fs::remove_file(&p).map_err(|e| Error::output(&p, e))?;
        }
    }
    let staging = dir.join(&j.staging);
    for name in &j.new {
        let (from, to) = (staging.join(name), dir.join(name));
        if from.exists() {
            create_parent(&to)?;
            std::fs::rename(&from, &to).map_err(|e| Error::output(&to, e))?;
        }
    }
    let record: String = j.new.iter().map(|n| format!("{n}\n")).collect();
    write_atomic(&dir.join(RECORD), record.as_bytes())?;
    std::fs::remove_file(dir.join(JOURNAL)).map_err(|e| Error::output(dir.join(JOURNAL), e))
}

/// Under the lock: rolls an interrupted commit forward and removes staging and old-set
/// folders that runs killed before they could clean up left behind.
fn recover(dir: &Path) -> Result<()> {
    let journal = dir.join(JOURNAL);
    if journal.exists() {
        let bytes = std::fs::read(&journal).map_err(|e| Error::output(&journal, e))?;
        // A journal is written whole (renamed into place) or not at all.
        let j: Journal = serde_json::from_slice(&bytes).map_err(|e| Error::output(&journal, e))?;
        tracing::warn!("{}: finishing the commit of an interrupted run", dir.display());
        roll_forward(dir, &j)?;
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::output(dir, e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if (name.starts_with(STAGING_PREFIX) || name.starts_with(OLD_PREFIX)) && e.path().is_dir() {
            tracing::info!("removing {} left by an interrupted run", e.path().display());
            std::fs::remove_dir_all(e.path()).map_err(|err| Error::output(e.path(), err))?;
        }
    }
    Ok(())
}

/// The previous run's outputs: `.lode-outputs`, or for a folder written before it existed,
/// the outputs its `manifest.json` lists (and the manifest itself).
fn read_record(dir: &Path) -> BTreeSet<String> {
    // Relative names inside the folder only (`stac/item.json` is one); never `..` or hidden.
    let safe =
        |n: &str| !n.is_empty() && !n.starts_with('/') && n.split('/').all(|c| !c.is_empty() && !c.starts_with('.'));
    let read = |p: PathBuf| match crate::io::is_virtual(&p) {
        true => crate::io::vsi::exists(&p).then(|| crate::io::vsi::read_to_string(&p).ok()).flatten(),
        false => std::fs::read_to_string(p).ok(),
    };
    if let Some(text) = read(dir.join(RECORD)) {
        return text.lines().filter(|n| safe(n)).map(str::to_string).collect();
    }
    let Some(text) = read(dir.join("manifest.json")) else { return BTreeSet::new() };
    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else { return BTreeSet::new() };
    let mut names: BTreeSet<String> = m["outputs"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o[0].as_str()).filter(|n| safe(n)).map(str::to_string).collect())
        .unwrap_or_default();
    names.insert("manifest.json".into());
    names
}

/// Takes the folder's lock without waiting; when another run holds it, an error naming it.
fn take_lock(dir: &Path) -> Result<File> {
    use std::os::fd::AsRawFd;
    let path = dir.join(LOCK);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::output(&path, e))?;
    // SAFETY: flock on a file descriptor this function owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        let holder = holder.trim();
        return Err(Error::output(
            dir,
            format!(
                "another lode run is writing to this folder ({}); wait for it to finish or choose another output.dir",
                if holder.is_empty() { "holder unknown" } else { holder }
            ),
        ));
    }
    let args: Vec<String> = std::env::args().collect();
    let holder = format!("pid {} ({})\n", std::process::id(), args.join(" "));
    f.set_len(0).and_then(|_| f.write_all(holder.as_bytes())).map_err(|e| Error::output(&path, e))?;
    Ok(f)
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| Error::output(&tmp, e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| Error::output(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

fn name_of(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
            let _ = std::fs::remove_dir_all(&self.staging);
            live.retain(|(s, _)| s != &self.staging);
            if self.created_dir {
                let _ = std::fs::remove_file(self.dir.join(LOCK));
                let _ = std::fs::remove_dir(&self.dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn nothing_is_published_without_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        {
            let mut s = Staging::new(&out).unwrap();
            std::fs::write(s.path("map.tif"), b"partial").unwrap();
        }
        assert!(!out.exists(), "a folder made for a failed run is removed");

        let mut s = Staging::new(&out).unwrap();
        std::fs::write(s.path("map.tif"), b"done").unwrap();
        let published = s.commit().unwrap();
        assert_eq!(published, vec![out.join("map.tif")]);
        assert_eq!(std::fs::read(out.join("map.tif")).unwrap(), b"done");
        assert_eq!(names(&out), [LOCK, RECORD, "map.tif"], "the staging folder is gone");
    }

    #[test]
    fn a_commit_replaces_the_previous_set_whole_and_leaves_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let mut s = Staging::new(&out).unwrap();
        for n in ["map.tif", "posterior_std.tif"] {
            std::fs::write(s.path(n), b"first").unwrap();
        }
        s.commit().unwrap();
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        let mut s = Staging::new(&out).unwrap();
        std::fs::write(s.path("map.tif"), b"second").unwrap();
        s.commit().unwrap();
        assert_eq!(names(&out), [LOCK, RECORD, "map.tif", "notes.txt"]);
        assert_eq!(std::fs::read(out.join("map.tif")).unwrap(), b"second");
    }

    #[test]
    fn a_second_run_is_refused_naming_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = Staging::new(tmp.path()).unwrap();
        let e = Staging::new(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("another lode run") && e.contains(&format!("pid {}", std::process::id())), "{e}");
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed_and_its_commit_finished() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        // A run killed mid-commit: journal written, old set half moved, new set not yet in.
        std::fs::create_dir(out.join(".lode-staging-1-1")).unwrap();
        std::fs::write(out.join(".lode-staging-1-1/map.tif"), b"new").unwrap();
        std::fs::write(out.join("confidence.tif"), b"old").unwrap();
        std::fs::create_dir(out.join(".lode-old-1-1")).unwrap();
        std::fs::create_dir(out.join(".lode-staging-2-2")).unwrap();
        let j = Journal {
            staging: ".lode-staging-1-1".into(),
            old_dir: ".lode-old-1-1".into(),
            old: vec!["map.tif".into(), "confidence.tif".into()],
            new: vec!["map.tif".into()],
        };
        std::fs::write(out.join(JOURNAL), serde_json::to_vec(&j).unwrap()).unwrap();
        let s = Staging::new(out).unwrap();
        let staging = name_of(&s.staging);
        assert_eq!(names(out), [LOCK, RECORD, staging.as_str(), "map.tif"]);
        assert_eq!(std::fs::read(out.join("map.tif")).unwrap(), b"new");
    }
}
