//! Atomic outputs: a run writes into a hidden staging folder inside the output folder
//! and moves each finished file to its final name only when the whole run succeeded.
//! A failed or interrupted run leaves no half-written file under a final name.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A staging folder whose files are published together by [`Staging::commit`].
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    staging: PathBuf,
    created_dir: bool,
    files: Vec<String>,
    committed: bool,
}

impl Staging {
    /// Creates `dir` if needed and a fresh staging folder inside it.
    pub fn new(dir: &Path) -> Result<Staging> {
        let created_dir = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let staging = dir.join(format!(".lode-staging-{}-{stamp}", std::process::id()));
        std::fs::create_dir(&staging).map_err(|e| Error::output(&staging, e))?;
        Ok(Staging { dir: dir.to_path_buf(), staging, created_dir, files: Vec::new(), committed: false })
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

    /// A scratch path that is never published.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.staging.join(format!("scratch-{name}"))
    }

    /// Writes `value` as pretty JSON to the output `name`.
    pub fn write_json(&mut self, name: &str, value: &impl serde::Serialize) -> Result<PathBuf> {
        let path = self.path(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| Error::output(&path, e))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::output(&path, e))?;
        Ok(path)
    }

    /// Moves every staged output to its final name and removes the staging folder.
    /// Returns the final paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for name in &self.files {
            let from = self.staging.join(name);
            let to = self.dir.join(name);
            if let Some(parent) = to.parent().filter(|p| !p.exists()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
            }
            std::fs::rename(&from, &to).map_err(|e| Error::output(&to, e))?;
            out.push(to);
        }
        std::fs::remove_dir_all(&self.staging).map_err(|e| Error::output(&self.staging, e))?;
        self.committed = true;
        Ok(out)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
            if self.created_dir {
                let _ = std::fs::remove_dir(&self.dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "the staging folder is gone");
    }
}
