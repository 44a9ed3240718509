//! Crash-safe, content-addressed file storage.
//!
//! [`write_atomic`]: write to a temp file `.gw-tmp-*` in the same directory, `fsync` it,
//! `rename` over the final name, `fsync` the directory. After a crash either the old or the
//! new content is visible under the final name, never a torn file; stray temp files are
//! removed by [`sweep_temp`] (call it at start-up, before writers run).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::photo::ProcessedPhoto;

/// Prefix of temp files; never use it for real names.
pub const TEMP_PREFIX: &str = ".gw-tmp-";

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// Underlying I/O error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// File name empty, containing a path separator, `.`/`..`, or the temp prefix.
    #[error("invalid file name {0:?}")]
    InvalidName(String),
    /// The original bytes do not hash to `ProcessedPhoto::original_sha256`.
    #[error("original bytes do not match the processed photo's SHA-256")]
    OriginalMismatch,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FsError + '_ {
    move |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Paths of a stored photo (content-addressed, each by its own SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    /// `<original_sha256>.orig.<jpg|png>`
    pub original_path: PathBuf,
    /// `<derived_sha256>.jpg`
    pub derived_path: PathBuf,
    /// `<thumbnail_sha256>.thumb.jpg`
    pub thumbnail_path: PathBuf,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with(TEMP_PREFIX)
}

/// Atomically writes `bytes` to `dir/name` (temp file, fsync, rename, fsync dir).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, FsError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if !valid_name(name) {
        return Err(FsError::InvalidName(name.to_string()));
    }
    let final_path = dir.join(name);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp_path = dir.join(format!("{TEMP_PREFIX}{}-{n}-{name}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .map_err(io_err(&tmp_path))?;
        f.write_all(bytes).map_err(io_err(&tmp_path))?;
        f.sync_all().map_err(io_err(&tmp_path))?;
        drop(f);
        fs::rename(&tmp_path, &final_path).map_err(io_err(&final_path))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result.map(|()| final_path)
}

fn sync_dir(dir: &Path) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// `true` if `path` exists and its content hashes to `sha256_hex`.
fn already_stored(path: &Path, sha256_hex: &str) -> bool {
    fs::read(path)
        .map(|b| crate::sha256_hex(&b) == sha256_hex)
        .unwrap_or(false)
}

fn put(dir: &Path, name: &str, bytes: &[u8], sha: &str) -> Result<PathBuf, FsError> {
    let path = dir.join(name);
    if already_stored(&path, sha) {
        return Ok(path);
    }
    write_atomic(dir, name, bytes)
}

/// Stores original, derived and thumbnail under their SHA-256 names. Idempotent: files already
/// present with the right content are left alone; damaged ones are rewritten.
pub fn store_photo(
    dir: &Path,
    original_bytes: &[u8],
    photo: &ProcessedPhoto,
) -> Result<StoredPhoto, FsError> {
    if crate::sha256_hex(original_bytes) != photo.original_sha256 {
        return Err(FsError::OriginalMismatch);
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let ext = photo.source_format.extension();
    let original_path = put(
        dir,
        &format!("{}.orig.{ext}", photo.original_sha256),
        original_bytes,
        &photo.original_sha256,
    )?;
    let derived_path = put(
        dir,
        &format!("{}.jpg", photo.derived_sha256),
        &photo.derived_jpeg,
        &photo.derived_sha256,
    )?;
    let thumbnail_path = put(
        dir,
        &format!("{}.thumb.jpg", photo.thumbnail_sha256),
        &photo.thumbnail_jpeg,
        &photo.thumbnail_sha256,
    )?;
    Ok(StoredPhoto {
        original_path,
        derived_path,
        thumbnail_path,
    })
}

/// Removes leftover temp files (from crashes) in `dir`; returns how many were removed.
pub fn sweep_temp(dir: &Path) -> Result<usize, FsError> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let is_temp = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX));
        if is_temp && entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            fs::remove_file(entry.path()).map_err(io_err(&entry.path()))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}
