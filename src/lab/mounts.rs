//! Removing directory trees that may still have things mounted inside
//! (debootstrap's /proc of a killed build, a stray bind mount).

use std::path::Path;

use super::LabError;
use super::cmd;

/// Mount points at or below `dir`, deepest first, as the host sees them.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let prefix = dir.display().to_string();
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(unescape)
        .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.len()));
    found.dedup();
    found
}

/// /proc/mounts writes space, tab, newline and backslash as octal escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lazily unmounts everything at or below `dir`.
pub fn unmount_under(dir: &Path) -> Result<(), LabError> {
    for m in mounts_under(dir) {
        cmd::run("umount", &["-l", &m])?;
    }
    Ok(())
}

/// Unmounts what is mounted inside `dir`, then deletes it without ever
/// crossing into another file system (so a missed mount is never emptied).
pub fn remove_tree(dir: &Path) -> Result<(), LabError> {
    if std::fs::symlink_metadata(dir).is_err() {
        return Ok(());
    }
    unmount_under(dir)?;
    let d = dir.display().to_string();
    cmd::run("rm", &["-rf", "--one-file-system", "--", &d]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_octal_space() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
