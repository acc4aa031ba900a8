//! One cgroup per server in every hierarchy, below the cgroup of the
//! process that boots it. systemd-nspawn without a host systemd puts the
//! container under its own cgroup: servers sharing one would trample each
//! other's units. It also gives `down` every process of a server, Docker's
//! included, and `status` its memory.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LabError;
use super::cmd::io;

/// Makes `<hierarchy>/<our cgroup>/cplab-NAME` in each hierarchy.
pub fn create(name: &str) -> Result<Vec<PathBuf>, LabError> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut dirs = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(mount) = mount_of(&mounts, controllers) else {
            continue;
        };
        let dir = Path::new(&mount)
            .join(path.trim_start_matches('/'))
            .join(format!("cplab-{name}"));
        if !dir.exists() {
            std::fs::create_dir(&dir).map_err(|e| io(&dir, e))?;
        }
        // A new cpuset has no CPUs nor memory nodes: nothing could join it.
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let here = dir.join(file);
            if here.exists()
                && std::fs::read_to_string(&here)
                    .unwrap_or_default()
                    .trim()
                    .is_empty()
            {
                let from = dir.parent().map(|p| p.join(file)).unwrap_or_default();
                let value = std::fs::read_to_string(&from).map_err(|e| io(&from, e))?;
                std::fs::write(&here, value.trim()).map_err(|e| io(&here, e))?;
            }
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

/// Where the hierarchy of one /proc/self/cgroup line is mounted.
fn mount_of(mounts: &str, controllers: &str) -> Option<String> {
    let wanted: BTreeSet<&str> = controllers.split(',').filter(|c| !c.is_empty()).collect();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let opts: BTreeSet<&str> = f[3].split(',').collect();
        let hit = if wanted.is_empty() {
            f[2] == "cgroup2"
        } else {
            f[2] == "cgroup" && wanted.is_subset(&opts)
        };
        if hit {
            return Some(f[1].to_string());
        }
    }
    None
}

/// The `cgroup.procs` files a child writes itself into before exec.
pub fn procs_files(dirs: &[PathBuf]) -> Vec<CString> {
    dirs.iter()
        .filter_map(|d| CString::new(d.join("cgroup.procs").display().to_string()).ok())
        .collect()
}

/// In a forked child before exec: joins the cgroups ("0" means the writer).
/// Only async-signal-safe calls.
pub fn join_in_child(files: &[CString]) -> std::io::Result<()> {
    for f in files {
        // SAFETY: plain open/write/close on a NUL-terminated path.
        unsafe {
            let fd = libc::open(f.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let rc = libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            if rc != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Every process in these cgroups and their descendants.
pub fn pids(dirs: &[String]) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for d in dirs {
        walk(Path::new(d), &mut |dir| {
            let text = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
        });
    }
    out
}

/// Calls `f` on `dir` and every cgroup below it, children first.
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), f);
            }
        }
    }
    if dir.is_dir() {
        f(dir);
    }
}

/// Kills every process in the cgroups until none is left (or `limit`).
pub fn kill_all(dirs: &[String], limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        let pids = pids(dirs);
        if pids.is_empty() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        for pid in pids {
            // SAFETY: kill(2) on a pid read from our own cgroup.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Removes the cgroups (deepest first); empty cgroups only, as the kernel wants.
pub fn remove(dirs: &[String]) -> Result<(), LabError> {
    let mut last = None;
    for _ in 0..50 {
        last = None;
        for d in dirs {
            walk(Path::new(d), &mut |dir| {
                if let Err(e) = std::fs::remove_dir(dir)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    last = Some(io(dir, e));
                }
            });
        }
        match last {
            None => return Ok(()),
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    last.map_or(Ok(()), Err)
}

/// Memory in use by a server (usage minus reclaimable inactive file pages).
pub fn memory_bytes(dirs: &[String]) -> Option<u64> {
    let dir = dirs
        .iter()
        .map(Path::new)
        .find(|d| d.join("memory.usage_in_bytes").exists())?;
    let usage: u64 = std::fs::read_to_string(dir.join("memory.usage_in_bytes"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(dir.join("memory.stat")).ok()?;
    let inactive = stat
        .lines()
        .find_map(|l| l.strip_prefix("total_inactive_file "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Some(usage.saturating_sub(inactive))
}
