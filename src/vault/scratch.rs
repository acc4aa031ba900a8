//! The private directory the editor works in: 0700, on a RAM filesystem when
//! there is one, scrubbed and removed when the guard drops (success, error,
//! panic unwinding, or a caught signal that made the caller return).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::VaultError;

const TMPFS_MAGIC: i64 = 0x0102_1994;
const RAMFS_MAGIC: i64 = 0x8584_58f6;

pub struct ScratchDir {
    path: PathBuf,
    /// False when the directory is on a disk-backed filesystem.
    pub in_ram: bool,
}

impl ScratchDir {
    /// `$XDG_RUNTIME_DIR` (per-user, usually tmpfs), else `/dev/shm`, else the
    /// temporary directory (`$TMPDIR`, `/tmp`).
    pub fn create() -> Result<ScratchDir, VaultError> {
        let base = base_dir();
        let mut last = None;
        for _ in 0..8 {
            let path = base.join(format!("condaplay-vault-{:016x}", rand::random::<u64>()));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let in_ram = is_ram_fs(&path);
                    return Ok(ScratchDir { path, in_ram });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(VaultError::io(&base, e)),
            }
        }
        Err(VaultError::io(
            &base,
            last.unwrap_or_else(|| std::io::Error::other("cannot create a private directory")),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` inside the directory, 0600, holding `bytes`.
    pub fn write_new(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, VaultError> {
        let p = self.path.join(name);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .map_err(|e| VaultError::io(&p, e))?;
        f.write_all(bytes).map_err(|e| VaultError::io(&p, e))?;
        Ok(p)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        scrub(&self.path);
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Overwrites regular files with zeros before unlinking, for the case where
/// the directory is on disk; editors' swap and backup files included.
fn scrub(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let p = entry.path();
        if ft.is_dir() {
            scrub(&p);
        } else if ft.is_file() {
            if let Ok(len) = entry.metadata().map(|m| m.len()) {
                if let Ok(mut f) = OpenOptions::new().write(true).open(&p) {
                    let zeros = vec![0u8; 64 * 1024];
                    let mut left = len;
                    while left > 0 {
                        let n = left.min(zeros.len() as u64) as usize;
                        if f.write_all(&zeros[..n]).is_err() {
                            break;
                        }
                        left -= n as u64;
                    }
                    let _ = f.sync_all();
                }
            }
        }
    }
}

fn usable_dir(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: valid NUL-terminated path.
    p.is_dir() && unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0
}

fn base_dir() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    [xdg, Some(PathBuf::from("/dev/shm"))]
        .into_iter()
        .flatten()
        .find(|p| usable_dir(p))
        .unwrap_or_else(std::env::temp_dir)
}

fn is_ram_fs(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: zeroed out-struct and a valid path.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut st) != 0 {
            return false;
        }
        let t = st.f_type as i64;
        t == TMPFS_MAGIC || t == RAMFS_MAGIC
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_and_removed_on_drop() {
        let d = ScratchDir::create().unwrap();
        let dir = d.path().to_path_buf();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let f = d.write_new("x.env", b"A=1\n").unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(dir.join(".x.env.swp"), b"swap").unwrap();
        drop(d);
        assert!(!dir.exists());
    }
}
