//! Files through GDAL's virtual file systems (`/vsis3/`, `/vsicurl/`, `/vsigs/`, ... and
//! plain local paths): read, write, copy, hash, list, remove. What lets a run publish its
//! outputs to object storage and hash remote inputs, without a cloud SDK: GDAL already
//! speaks every store it reads rasters from, with its usual environment
//! (`AWS_S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, ...).
//!
//! Object stores have no renames worth the name (a copy, then a delete) and no locks: an
//! object appears whole when its upload completes, so a run publishes object by object,
//! with the object a reader checks for completeness (the manifest, a tile's record) last.

use std::ffi::{CStr, CString};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Bytes per read and write.
const CHUNK: usize = 1 << 20;

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.to_string_lossy().as_bytes()).map_err(|e| Error::input(path, e))
}

/// An open VSI file, closed on drop.
struct VsiFile(*mut gdal_sys::VSILFILE);

impl VsiFile {
    fn open(path: &Path, mode: &str) -> std::result::Result<VsiFile, String> {
        super::init();
        let p = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
        let m = CString::new(mode).expect("no NUL");
        // SAFETY: both strings outlive the call; a NULL handle is checked.
        let f = unsafe { gdal_sys::VSIFOpenExL(p.as_ptr(), m.as_ptr(), 1) };
        if f.is_null() {
            return Err(super::last_gdal_error());
        }
        Ok(VsiFile(f))
    }

    fn read(&mut self, buf: &mut [u8]) -> usize {
        // SAFETY: `buf` is valid for `buf.len()` bytes; the handle is open.
        unsafe { gdal_sys::VSIFReadL(buf.as_mut_ptr().cast(), 1, buf.len(), self.0) }
    }

    fn write(&mut self, buf: &[u8]) -> bool {
        // SAFETY: `buf` is valid for `buf.len()` bytes; the handle is open.
        unsafe { gdal_sys::VSIFWriteL(buf.as_ptr().cast(), 1, buf.len(), self.0) == buf.len() }
    }

    /// Closes the file; for a write to object storage this completes the upload, so its
    /// result says whether the object exists.
    fn close(mut self) -> bool {
        let f = std::mem::replace(&mut self.0, std::ptr::null_mut());
        // SAFETY: the handle is open and closed once (Drop sees NULL after this).
        unsafe { gdal_sys::VSIFCloseL(f) == 0 }
    }
}

impl Drop for VsiFile {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the handle is open and not closed yet.
            unsafe { gdal_sys::VSIFCloseL(self.0) };
        }
    }
}

/// Streams `path` through `each` in chunks; returns its size in bytes.
fn stream(path: &Path, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<u64> {
    let mut f = VsiFile::open(path, "rb").map_err(|e| Error::input(path, e))?;
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf);
        if k == 0 {
            break;
        }
        n += k as u64;
        each(&buf[..k])?;
    }
    Ok(n)
}

/// The bytes of `path`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    stream(path, |b| {
        out.extend_from_slice(b);
        Ok(())
    })?;
    Ok(out)
}

/// The text of `path` (UTF-8).
pub fn read_to_string(path: &Path) -> Result<String> {
    String::from_utf8(read(path)?).map_err(|e| Error::input(path, e))
}

/// Size and SHA-256 (hex) of `path`, streamed.
pub fn sha256(path: &Path) -> Result<(u64, String)> {
    let mut h = Sha256::new();
    let n = stream(path, |b| {
        h.update(b);
        Ok(())
    })?;
    Ok((n, format!("{:x}", h.finalize())))
}

/// Writes `bytes` to `path` (on object storage: one object, complete when this returns Ok).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = VsiFile::open(path, "wb").map_err(|e| Error::output(path, e))?;
    if !bytes.chunks(CHUNK).all(|c| f.write(c)) || !f.close() {
        return Err(Error::output(path, format!("write failed: {}", super::last_gdal_error())));
    }
    Ok(())
}

/// Copies the file `from` to `to`, streamed (either may be local or virtual).
pub fn copy(from: &Path, to: &Path) -> Result<()> {
    let mut dst = VsiFile::open(to, "wb").map_err(|e| Error::output(to, e))?;
    let mut ok = true;
    stream(from, |b| {
        ok = ok && dst.write(b);
        Ok(())
    })?;
    if !ok || !dst.close() {
        return Err(Error::output(to, format!("copy of {} failed: {}", from.display(), super::last_gdal_error())));
    }
    Ok(())
}

/// Whether `path` exists (a file, or a folder / prefix holding objects).
pub fn exists(path: &Path) -> bool {
    let Ok(p) = c_path(path) else { return false };
    super::init();
    stat_c(&p).is_some()
}

/// The names in the folder (or under the prefix) `path`, one level; empty when there is none.
pub fn read_dir(path: &Path) -> Vec<String> {
    let Ok(p) = c_path(path) else { return Vec::new() };
    super::init();
    // SAFETY: GDAL returns a NULL-terminated string list (or NULL) that we own and free.
    unsafe {
        let list = gdal_sys::VSIReadDir(p.as_ptr());
        if list.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut i = 0;
        while !(*list.add(i)).is_null() {
            let name = CStr::from_ptr(*list.add(i)).to_string_lossy().into_owned();
            if name != "." && name != ".." {
                out.push(name);
            }
            i += 1;
        }
        gdal_sys::CSLDestroy(list);
        out
    }
}

/// Every file under `path` (recursively), as paths relative to it, sorted.
pub fn files_under(path: &Path) -> Vec<String> {
    let Ok(p) = c_path(path) else { return Vec::new() };
    super::init();
    // SAFETY: as in `read_dir`.
    let names = unsafe {
        let list = gdal_sys::VSIReadDirRecursive(p.as_ptr());
        if list.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut i = 0;
        while !(*list.add(i)).is_null() {
            out.push(CStr::from_ptr(*list.add(i)).to_string_lossy().into_owned());
            i += 1;
        }
        gdal_sys::CSLDestroy(list);
        out
    };
    // Folders are listed with a trailing slash.
    let mut files: Vec<String> = names.into_iter().filter(|n| !n.ends_with('/')).collect();
    files.retain(|n| !is_folder(&path.join(n)));
    files.sort();
    files
}

fn is_folder(path: &Path) -> bool {
    let Ok(p) = c_path(path) else { return false };
    stat_c(&p).is_some_and(|st| (st.st_mode & libc::S_IFMT) == libc::S_IFDIR)
}

/// `VSIStatL` of `p`: `None` when it does not exist.
fn stat_c(p: &CStr) -> Option<libc::stat64> {
    // gdal-sys declares VSIStatBufL opaque; it is the C library's `struct stat64`, which
    // GDAL fills in: hand it a real one.
    // SAFETY: an all-zero `stat64` is valid plain data, large enough for what GDAL writes;
    // the path outlives the call.
    unsafe {
        let mut st: libc::stat64 = std::mem::zeroed();
        (gdal_sys::VSIStatL(p.as_ptr(), (&mut st as *mut libc::stat64).cast()) == 0).then_some(st)
    }
}

/// Size in bytes and modification time (seconds, nanoseconds since 1970) of the file
/// `path`, local or virtual, without reading it; `None` when it cannot be looked at.
pub fn stat(path: &Path) -> Option<(u64, (i64, i64))> {
    let p = c_path(path).ok()?;
    super::init();
    let st = stat_c(&p)?;
    Some((u64::try_from(st.st_size).ok()?, (st.st_mtime, st.st_mtime_nsec)))
}

/// Removes the file `path`; a missing one is not an error.
pub fn remove(path: &Path) -> Result<()> {
    let p = c_path(path)?;
    super::init();
    // SAFETY: the path outlives the call.
    if unsafe { gdal_sys::VSIUnlink(p.as_ptr()) } != 0 && exists(path) {
        return Err(Error::output(path, format!("cannot remove: {}", super::last_gdal_error())));
    }
    Ok(())
}

/// Drops what GDAL remembers of the objects under `prefix` (sizes, listings, cached
/// blocks), so that a read after a write in the same process sees the new object.
pub fn forget(prefix: &Path) {
    if let Ok(p) = c_path(prefix) {
        // SAFETY: the path outlives the call.
        unsafe { gdal_sys::VSICurlPartialClearCache(p.as_ptr()) };
    }
}
