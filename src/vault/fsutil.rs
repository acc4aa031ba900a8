//! Atomic file replacement: a reader sees the old file or the new one, never
//! half of either, and a crash leaves no partial plaintext under the real name.

use std::fs::{self, File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::VaultError;

/// Writes `bytes` to `path` through a temporary file in the same directory:
/// write, fsync, chmod `mode`, rename, fsync the directory. The temporary file
/// is created 0600, so plaintext is never readable by others even briefly.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), VaultError> {
    write_via_temp(path, bytes, mode, true)
}

/// Like [`write_atomic`] but fails if `path` exists, so a key is never
/// clobbered by a concurrent `init`.
pub fn create_new_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), VaultError> {
    write_via_temp(path, bytes, mode, false)
}

fn write_via_temp(path: &Path, bytes: &[u8], mode: u32, clobber: bool) -> Result<(), VaultError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".condaplay-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| VaultError::io(&dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| VaultError::io(tmp.path(), e))?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(|e| VaultError::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| VaultError::io(tmp.path(), e))?;
    let persisted = if clobber {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| VaultError::io(path, e.error))?;
    // The rename is durable only once the directory entry is on disk.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The mode an existing file has, so rewriting it keeps its permissions.
pub fn existing_mode(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, VaultError> {
    fs::read(path).map_err(|e| VaultError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"old").unwrap();
        write_atomic(&p, b"new", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(existing_mode(&p), Some(0o600));
        // Only the target remains: no temporary file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
